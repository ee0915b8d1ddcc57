"""Run Triton's compiler on every kernel specialization a test run launched, without a GPU.

``tests/specializations.py`` records, under the interpreter, the key Triton's
binder would build at each launch on an sm_90 GPU (argument types, the ints
equal to 1 that become constexprs, 16-byte divisibility, constexpr values,
launch options). This tool rebuilds each key as an ``ASTSource`` and runs
Triton's front end (AST -> TTIR, where type errors such as calling ``.to()``
on a constexpr int show up), or with ``--full`` the whole compiler down to
cubin, for a GPU the machine does not have::

    FRAMEWORK_TEST_DEVICE=cuda FRAMEWORK_COUNT_SPECIALIZATIONS=spec.json pytest tests
    python bench/frontend_check.py spec.json [more.json ...] [--full] [--workers 2]

It prints one line per failing specialization and a count; exit status 1 when
any failed. Kernels generated at run time (the compiler's fused kernels) are
skipped and counted. Run it with the Triton version of the GPU machines
(3.6.0) on the path to check what they will compile.
"""
from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_keys(paths: list) -> list:
    """The distinct specialization keys of the given reports, in first-seen order."""
    seen: dict = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for key in json.load(f)["keys"]:
                seen.setdefault(key, None)
    return list(seen)


def _value(text: str):
    """A constexpr value from its repr (ints, bools, strings, None, ``triton.language.*``)."""
    import triton
    return eval(text, {"triton": triton, "__builtins__": {}})  # reprs written by our own recorder


def source_for(key: str):
    """``(fn, signature, constexprs, attrs, options)`` of one recorded key, or None when the
    kernel cannot be imported (a generated kernel)."""
    name, specialization, options = json.loads(key)
    module_name, _, fn_name = name.rpartition(".")
    try:
        fn = getattr(importlib.import_module(module_name), fn_name)
    except (ImportError, AttributeError):
        return None
    signature, constexprs, attrs = {}, {}, {}
    for index, (arg, (kind, spec)) in enumerate(zip(fn.arg_names, specialization)):
        kind = _value(kind)
        if kind == "constexpr":
            signature[arg] = "constexpr"
            constexprs[arg] = _value(spec)
            continue
        signature[arg] = kind
        if _value(spec) == "D":
            attrs[(index,)] = [["tt.divisibility", 16]]
    launch = {k: _value(v) for k, v in options if k in ("num_warps", "num_stages")}
    return fn, signature, constexprs, attrs, launch


def front_end(fn, signature: dict, constexprs: dict, attrs: dict, options: dict, arch: int = 90) -> None:
    """Triton's front end (AST -> TTIR) for one specialization on ``sm_<arch>``."""
    from triton._C.libtriton import ir
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    from triton.compiler.compiler import make_backend
    target = GPUTarget("cuda", arch, 32)
    backend = make_backend(target)
    parsed = backend.parse_options(options)
    context = ir.context()
    ir.load_dialects(context)
    backend.load_dialects(context)
    ASTSource(fn, signature, constexprs, attrs).make_ir(
        target, parsed, backend.get_codegen_implementation(parsed), backend.get_module_map(), context)


def full_compile(fn, signature: dict, constexprs: dict, attrs: dict, options: dict, arch: int = 90) -> None:
    """The whole compiler (down to cubin) for one specialization on ``sm_<arch>``."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    triton.compile(ASTSource(fn, signature, constexprs, attrs), target=GPUTarget("cuda", arch, 32),
                   options=options)


def check(key: str, full: bool) -> tuple:
    """``(status, key, error)`` with status ``ok``, ``failed`` or ``skipped``."""
    built = source_for(key)
    if built is None:
        return "skipped", key, ""
    try:
        (full_compile if full else front_end)(*built)
    except Exception as exc:  # report every failure, not only the first
        root = exc
        while root.__cause__ is not None:  # Triton chains the error of each inlined helper
            root = root.__cause__
        where = [line.strip() for line in str(exc).strip().splitlines() if line.strip()][:1]
        return "failed", key, f"{type(root).__name__}: {str(root).strip().splitlines()[-1][:300]} ({where})"
    return "ok", key, ""


def _describe(key: str) -> str:
    name, specialization, _ = json.loads(key)
    ones = sum(1 for kind, spec in specialization if kind == "'constexpr'" and spec == "1")
    return f"{name} ({len(specialization)} args, {ones} constexpr 1s)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", help="JSON files written by tests/specializations.py")
    parser.add_argument("--full", action="store_true", help="compile down to cubin, not only the front end")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if os.environ.get("TRITON_INTERPRET") or os.environ.get("FRAMEWORK_TRITON_INTERPRET") not in (None, "", "0"):
        parser.error("run without TRITON_INTERPRET / FRAMEWORK_TRITON_INTERPRET: kernels must be compiled")
    os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")
    sys.path.append(ROOT)  # after PYTHONPATH: a checkout named there is the one checked
    import triton
    keys = load_keys(args.reports)
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        results = pool.starmap(check, [(key, args.full) for key in keys])
    counts = {"ok": 0, "failed": 0, "skipped": 0}
    for status, key, error in results:
        counts[status] += 1
        if status == "failed":
            print(f"FAILED {_describe(key)}: {error}")
    print(f"triton {triton.__version__}, {'full compile' if args.full else 'front end'} for sm_90: "
          f"{len(keys)} specializations, {counts['ok']} ok, {counts['failed']} failed, "
          f"{counts['skipped']} skipped (not importable: generated kernels)")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
