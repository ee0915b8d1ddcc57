"""Compile check without a GPU (DESIGN.md): every Triton kernel compiles for sm_90 and sm_80.

``triton.compile(ASTSource(fn, signature, constexprs), target=GPUTarget("cuda", cc, 32))``
runs the whole compiler (TTIR -> TTGIR -> LLVM -> PTX -> cubin through the
bundled ``ptxas``) for a GPU the machine does not have. The bundled tools then
read the result: ``ptxas -v`` on the PTX counts register spill stores and
loads, ``cuobjdump -res-usage`` gives registers and STACK/SHARED/LOCAL bytes
(STACK alone is no spill: libdevice's sin/cos slow path keeps a small local
array there), and ``cuobjdump -sass`` the SASS (e.g. ``HGMMA`` for Hopper
tensor-core matmuls).

Kernels must be imported in compile mode, but ``tests/conftest.py`` switches
the interpreter on (``@triton.jit`` picks its mode at import), so the compiles
run in a subprocess: this file run as a script, with ``TRITON_INTERPRET``
unset. The pytest process never imports ``triton_kernels`` here.

Where specs come from
---------------------
A kernel is a ``@triton.jit`` function whose name ends in ``_kernel`` in a
module of ``triton_kernels`` (helpers such as ``unravel6`` are compiled as
part of the kernels that call them). Each kernel needs at least one compile
spec: a module may export ``COMPILE_SPECS``, a list of dicts, which then
replaces this file's ``TABLE`` entries for that module. A spec::

    {"kernel": "strided_copy_kernel",        # name in the module (or the JIT function)
     "signature": {"dst_ptr": "*fp32", ...}, # Triton types; other non-constexpr args take their
                                             # annotation (float scalars: tl.float64), else "i32"
     "constexprs": {"BLOCK": 1024, "ACC": "tl.float32"},  # "tl.<name>" strings become tl objects
     "num_warps": 4, "num_stages": 3,        # optional launch options
     "no_spills": True,                      # optional: ptxas must report 0 bytes of spill stores/loads
     "sass": {90: "HGMMA", 80: "HMMA"},      # optional: text (or list of texts) the SASS must contain
     "divisible": ["M", "N"],                # optional: int args that are multiples of 16 (the
                                             # binder's attribute; ignored for do_not_specialize args)
     "ptx_lacks": ["ex2.approx"],            # optional: text the PTX must not contain
     "fp64_math": "why",                     # optional: float64 arithmetic is intended (below)
     "label": "bf16"}                        # optional, tells specs of one kernel apart

A spec with no float64 operand (no ``*fp64`` pointer, no ``tl.float64`` constexpr) must
compile to PTX without float64 arithmetic: float scalars arrive as ``tl.float64`` and are
converted once to the compute type (docs/architecture.md, "Numerics of compiled
kernels"), so a float32 kernel that uses one unconverted does float64 math, which this
catches. ``fp64_math`` names the reason where float64 math is the point (an
accuracy-critical step). Non-constexpr arguments a spec does not type take their
annotation; a spec may not type a float scalar below float64.

Pointer arguments get Triton's 16-byte-divisibility attribute, as the
allocator's pointers do at a real launch.
"""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCHS = (90, 80)
TIMEOUT_S = 600  # all compiles take ~1-2 min on 2 cores (two processes); this only stops a hang
WORKERS = 2  # compile processes (compilation is CPU-bound and independent per spec)

pytestmark = pytest.mark.xdist_group("compile")
# Weight of this file when the GPU check deals test files to shards (tests/conftest.py): its
# few tests wait on ~290 compiles, about what a shard of ~250 op tests compiles.
SHARD_WEIGHT = 250

_STRIDED_COPY = {"dst_ptr": "*fp32", "src_ptr": "*fp16"}

# Specs for modules that do not export COMPILE_SPECS (matmul and reduce do).
TABLE = {
    "memory": [
        {"kernel": "strided_copy_kernel", "signature": _STRIDED_COPY, "constexprs": {"BLOCK": 1024},
         "num_warps": 4, "no_spills": True},
        {"kernel": "contiguous_copy_kernel", "signature": {"dst_ptr": "*bf16", "src_ptr": "*fp32"},
         "constexprs": {"BLOCK": 1024}, "no_spills": True},
        {"kernel": "fill_kernel", "signature": {"dst_ptr": "*i64", "value": "i64"},
         "constexprs": {"BLOCK": 1024}, "no_spills": True},
        {"kernel": "fill_float_kernel", "signature": {"dst_ptr": "*fp32"},
         "constexprs": {"BLOCK": 1024}, "no_spills": True},
        {"kernel": "arange_kernel", "signature": {"dst_ptr": "*fp32"},
         "constexprs": {"BLOCK": 1024}, "no_spills": True,
         "fp64_math": "start + i * step in float64, PyTorch's accumulate type"},
        {"kernel": "arange_int_kernel", "signature": {"dst_ptr": "*i64", "start": "i64", "step": "i64"},
         "constexprs": {"BLOCK": 1024}, "no_spills": True},
        {"kernel": "linspace_int_kernel", "signature": {"dst_ptr": "*i8", "start": "i64", "end": "i64",
                                                        "step_bits": "i64", "halfway": "i64"},
         "constexprs": {"BLOCK": 1024}, "no_spills": True,
         "fp64_math": "PyTorch's integer linspace formula, in float64"},
        {"kernel": "eye_kernel", "signature": {"dst_ptr": "*fp32"}, "constexprs": {"BLOCK": 1024},
         "no_spills": True},
    ],
    "random": [
        {"kernel": "rand_kernel", "signature": {"out_ptr": "*fp32", "n": "i32", "seed": "i64", "offset": "i64"},
         "constexprs": {"BLOCK": 1024}, "no_spills": True},
        {"kernel": "randn_kernel", "signature": {"out_ptr": "*bf16", "n": "i32", "seed": "i64", "offset": "i64"},
         "constexprs": {"BLOCK": 1024}, "no_spills": True},
        {"kernel": "randint_kernel", "signature": {"out_ptr": "*i64", "seed": "i64", "offset": "i64",
                                                   "low": "i64", "span": "i64"},
         "constexprs": {"BLOCK": 1024}, "no_spills": True},
    ],
}


# ---------------------------------------------------------------------------------------
# The tests (pytest process): run this file as a compile-mode subprocess once, then check.
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def report() -> dict:
    """The subprocess's JSON report: every kernel found and every (spec, arch) compile result."""
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_INTERPRET", "FRAMEWORK_TRITON_INTERPRET")}
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # Triton 3.9's default, stated to silence its warning
    proc = subprocess.run([sys.executable, os.path.abspath(__file__)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=TIMEOUT_S)
    assert proc.returncode == 0, f"compile subprocess failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_kernels_are_compiled_not_interpreted(report):
    assert report["interpreted"] == [], "kernels were imported in interpreter mode"
    assert report["kernels"], "no @triton.jit *_kernel functions found in triton_kernels"


def test_every_kernel_has_a_compile_spec(report):
    covered = {r["kernel"] for r in report["results"]}
    missing = sorted(set(report["kernels"]) - covered)
    assert not missing, (f"kernels without a compile spec: {missing}; export COMPILE_SPECS from "
                         "their module (format: tests/test_compile.py docstring)")


def test_every_spec_compiles_to_ptx_and_cubin(report):
    failed = [f"{r['id']}: {r['error']}" for r in report["results"] if not r["ok"]]
    assert not failed, "\n".join(failed)
    for r in report["results"]:
        assert r["ptx_target"] == f"sm_{r['arch']}" + ("a" if r["arch"] == 90 else ""), r["id"]
        assert r["cubin_bytes"] > 0, r["id"]
    assert {r["arch"] for r in report["results"]} == set(ARCHS)


def test_every_kernel_compiles_with_int_arguments_equal_to_1(report):
    """On a GPU an int argument equal to 1 reaches the kernel as a constexpr (a Python int):
    calling a tensor method on it (``n.to(tl.int64)``) breaks only that specialization."""
    assert any(r["ones"] for r in report["ones"]), "no spec has an int argument to specialize"
    failed = [f"{r['id']} (int arguments = 1: {r['ones']}): {r['error']}" for r in report["ones"] if not r["ok"]]
    assert not failed, "\n".join(failed)


def test_no_register_spills_where_required(report):
    if report["ptxas"] is None:
        pytest.skip("Triton's bundled ptxas is not available")  # skip: no tool to count spills
    checked = [r for r in report["results"] if r["ok"] and r["no_spills"]]
    assert any(r["kernel"] == "memory.strided_copy_kernel" for r in checked)
    spills = [f"{r['id']}: {r['spills']} ({r['resources']})" for r in checked
              if r["spills"] is None or r["spills"]["stores"] or r["spills"]["loads"]]
    assert not spills, "register spills (or no ptxas report):\n" + "\n".join(spills)


def test_sass_has_the_expected_instructions(report):
    if report["cuobjdump"] is None:
        pytest.skip("Triton's bundled cuobjdump is not available")  # skip: no tool to read SASS
    wrong = [f"{r['id']}: SASS lacks {r['sass_expected']}" for r in report["results"]
             if r["ok"] and r["sass_expected"] and not r["sass_found"]]
    assert not wrong, "\n".join(wrong)


def test_ptx_lacks_what_specs_forbid(report):
    """E.g. float32 erfc: no ``ex2.approx`` (a compiled float32 ``tl.exp``, 1.3e-6 relative error
    at erfc(6) on an H200), its exponential is float64."""
    checked = [r for r in report["results"] if r["ok"] and r.get("ptx_lacks")]
    assert any(r["kernel"] == "elementwise.unary_kernel" for r in checked)
    found = [f"{r['id']}: PTX contains {r['ptx_forbidden']}" for r in checked if r["ptx_forbidden"]]
    assert not found, "\n".join(found)


def test_no_float64_math_without_float64_operands(report):
    """Float scalars are tl.float64 arguments converted once to the compute type: a float32 or
    half kernel doing float64 arithmetic forgot the conversion (or says why in ``fp64_math``)."""
    found = [f"{r['id']}: {r['f64_math']}" for r in report["results"] if r["ok"] and r["f64_math"]]
    assert not found, "float64 arithmetic in kernels without float64 operands:\n" + "\n".join(found)


# ---------------------------------------------------------------------------------------
# The subprocess (compile mode): python tests/test_compile.py prints one JSON line.
# ---------------------------------------------------------------------------------------

def _kernel_modules() -> dict:
    """``{family: module}`` for every module of ``triton_kernels``."""
    import importlib
    import pkgutil
    import triton_kernels
    return {info.name: importlib.import_module(f"triton_kernels.{info.name}")
            for info in pkgutil.iter_modules(triton_kernels.__path__)}


def _jit_kernels(module) -> dict:
    """``{name: fn}`` for the module's own ``@triton.jit`` functions named ``*_kernel``."""
    from triton.runtime.jit import JITFunction
    found = {}
    for name, value in vars(module).items():
        fn = getattr(value, "fn", None)
        is_jit = isinstance(value, JITFunction) or type(value).__name__ == "InterpretedFunction"
        if is_jit and name.endswith("_kernel") and getattr(fn, "__module__", None) == module.__name__:
            found[name] = value
    return found


def _resolve_constexpr(value):
    import triton.language as tl
    if isinstance(value, str) and value.startswith("tl."):
        return getattr(tl, value[3:])
    return value


def _compile(fn, spec: dict, arch: int):
    """Compile one spec for ``sm_<arch>``; returns the compiled kernel."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    constexprs = {k: _resolve_constexpr(v) for k, v in spec.get("constexprs", {}).items()}
    annotated = {p.name: p.annotation_type for p in fn.params if p.annotation_type and not p.is_constexpr}
    signature, attrs = {}, {}
    divisible = _divisible_arguments(fn, spec)
    for index, name in enumerate(fn.arg_names):
        if name in constexprs:
            signature[name] = "constexpr"
            continue
        signature[name] = spec.get("signature", {}).get(name) or annotated.get(name, "i32")
        if name in annotated and signature[name] != annotated[name]:  # a launch binds the annotation
            raise TypeError(f"spec types {name} as {signature[name]}, the kernel annotates {annotated[name]}")
        if signature[name] in ("fp32", "fp16", "bf16"):  # docs/architecture.md, numerics
            raise TypeError(f"float scalar {name} typed {signature[name]}: annotate it tl.float64 "
                            "(triton_kernels/scalars.py)")
        if signature[name].startswith("*") or name in divisible:
            attrs[(index,)] = [["tt.divisibility", 16]]
    unknown = set(spec.get("signature", {})) - set(fn.arg_names)
    if unknown:
        raise TypeError(f"spec names arguments the kernel does not have: {sorted(unknown)}")
    options = {k: spec[k] for k in ("num_warps", "num_stages") if k in spec}
    source = ASTSource(fn, signature, constexprs, attrs)
    return triton.compile(source, target=GPUTarget("cuda", arch, 32), options=options)


def _divisible_arguments(fn, spec: dict) -> set:
    """The int arguments the spec says are multiples of 16 that Triton's binder would mark so
    (it marks none of a kernel's ``do_not_specialize`` arguments)."""
    no_specialization = {fn.arg_names[i] if isinstance(i, int) else i for i in fn.do_not_specialize}
    return set(spec.get("divisible", ())) - no_specialization


def _tool(name: str) -> str | None:
    """Path of a CUDA tool bundled with Triton (``ptxas``, ``cuobjdump``), if present."""
    import triton
    path = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", name)
    return path if os.access(path, os.X_OK) else None


def _ptxas_for(arch: int) -> str | None:
    """The ``ptxas`` Triton itself uses for ``arch`` (3.9 takes its newer one for sm_90+)."""
    try:
        from triton.backends.nvidia.compiler import get_ptxas
        return get_ptxas(arch).path
    except Exception:  # another Triton layout: the bundled default
        return _tool("ptxas")


def _ptxas_spills(ptx: str, arch: int, arch_name: str) -> dict | None:
    """``{"stores": bytes, "loads": bytes}`` of register spills, from ``ptxas -v`` on the PTX."""
    import re
    import tempfile
    tool = _ptxas_for(arch)
    if tool is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "kernel.ptx")
        with open(source, "w", encoding="utf-8") as f:
            f.write(ptx)
        proc = subprocess.run([tool, "-v", f"--gpu-name={arch_name}", source, "-o",
                               os.path.join(tmp, "kernel.cubin")], capture_output=True, text=True)
    found = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", proc.stdout + proc.stderr)
    return {"stores": int(found.group(1)), "loads": int(found.group(2))} if found else None


def _inspect_cubin(cubin: bytes, tool: str | None, want_sass: bool) -> tuple:
    """``(resources, sass)`` from cuobjdump: REG/STACK/SHARED/LOCAL counts and the SASS text."""
    import re
    import tempfile
    if tool is None:
        return None, ""
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(cubin)
        f.flush()
        usage = subprocess.run([tool, "-res-usage", f.name], capture_output=True, text=True).stdout
        sass = subprocess.run([tool, "-sass", f.name], capture_output=True, text=True).stdout if want_sass else ""
    counts = dict(re.findall(r"\b(REG|STACK|SHARED|LOCAL):(\d+)", usage))
    resources = {k: int(v) for k, v in counts.items()} if counts else None
    return resources, sass


def _run_spec(family: str, fn, spec: dict, arch: int, tools: dict) -> dict:
    import re
    import time
    label = spec.get("label")
    kernel = f"{family}.{fn.__name__}"
    sass_expected = spec.get("sass", {}).get(arch) or spec.get("sass", {}).get(str(arch))
    result = {"id": f"{kernel}[{label}]@sm_{arch}" if label else f"{kernel}@sm_{arch}", "kernel": kernel,
              "arch": arch, "ok": False, "error": "", "no_spills": bool(spec.get("no_spills")),
              "sass_expected": sass_expected, "sass_found": False, "resources": None, "spills": None}
    started = time.perf_counter()
    try:
        compiled = _compile(fn, spec, arch)
    except Exception as exc:  # report every failure, not only the first
        result["error"] = f"{type(exc).__name__}: {str(exc)[-1500:]}"
        return result
    target = re.search(r"^\.target\s+(\S+)", compiled.asm["ptx"], re.MULTILINE)
    result.update(ok=True, seconds=round(time.perf_counter() - started, 2),
                  ptx_target=target.group(1) if target else None, cubin_bytes=len(compiled.asm["cubin"]))
    resources, sass = _inspect_cubin(compiled.asm["cubin"], tools["cuobjdump"], bool(sass_expected))
    result["resources"] = resources
    if result["no_spills"]:
        result["spills"] = _ptxas_spills(compiled.asm["ptx"], arch, result["ptx_target"])
    wanted = [sass_expected] if isinstance(sass_expected, str) else list(sass_expected or ())
    result["sass_found"] = bool(wanted) and all(text in sass for text in wanted)
    ptx = compiled.asm["ptx"]
    result["ptx_forbidden"] = [text for text in spec.get("ptx_lacks", ()) if text in ptx]
    result["ptx_lacks"] = list(spec.get("ptx_lacks", ()))
    float64_operands = any(v == "*fp64" for v in spec.get("signature", {}).values()) or \
        any(v == "tl.float64" for v in spec.get("constexprs", {}).values())
    result["f64_math"] = [] if float64_operands or spec.get("fp64_math") else \
        sorted(set(re.findall(r"^\s*((?:add|sub|mul|fma|div|sqrt|rcp|min|max|abs|neg)\.[\w.]*f64)\b",
                              ptx, re.MULTILINE)))
    return result


def _specs_for(family: str, module) -> list:
    specs = getattr(module, "COMPILE_SPECS", None)
    return list(specs) if specs is not None else TABLE.get(family, [])


def _worker() -> dict:
    """Compile every spec for every arch; the JSON-able report the tests read.

    The (spec, arch) compiles run in ``WORKERS`` forked processes; each
    reports its result dict.
    """
    assert not os.environ.get("TRITON_INTERPRET"), "the compile check must not run in interpreter mode"
    tools = {"cuobjdump": _tool("cuobjdump"), "ptxas": _ptxas_for(ARCHS[0])}
    report = {"kernels": [], "interpreted": [], "results": [], **tools}
    jobs, ones_jobs = [], []
    for family, module in sorted(_kernel_modules().items()):
        kernels = _jit_kernels(module)
        report["kernels"] += [f"{family}.{name}" for name in kernels]
        report["interpreted"] += [f"{family}.{name}" for name, fn in kernels.items()
                                  if type(fn).__name__ == "InterpretedFunction"]
        for index, spec in enumerate(_specs_for(family, module)):
            fn = spec["kernel"] if not isinstance(spec["kernel"], str) else getattr(module, spec["kernel"], None)
            if fn is None:
                report["results"].append({"id": f"{family}.{spec['kernel']}", "kernel": f"{family}.{spec['kernel']}",
                                          "arch": ARCHS[0], "ok": False, "error": "no such kernel in the module",
                                          "no_spills": False, "sass_expected": None, "sass_found": False,
                                          "resources": None, "spills": None})
                continue
            jobs += [(family, index, arch) for arch in ARCHS]
            ones_jobs.append((family, index, "ones"))
    import multiprocessing
    with multiprocessing.get_context("fork").Pool(WORKERS) as pool:
        report["results"] += pool.starmap(_run_job, [(job, tools) for job in jobs])
        report["ones"] = pool.starmap(_run_job, [(job, tools) for job in ones_jobs])
    return report


def _argument_type(fn, spec: dict, name: str) -> str:
    """A non-constexpr argument's Triton type: the spec's, else the kernel's annotation
    (float scalars are annotated ``tl.float64``), else ``i32``."""
    annotated = {p.name: p.annotation_type for p in fn.params if p.annotation_type and not p.is_constexpr}
    return spec.get("signature", {}).get(name) or annotated.get(name, "i32")


def _int_arguments(fn, spec: dict) -> list:
    """The spec's integer scalar arguments that Triton's binder specializes on their value."""
    constexprs = spec.get("constexprs", {})
    no_specialization = {fn.arg_names[i] if isinstance(i, int) else i for i in fn.do_not_specialize}
    names = []
    for name in fn.arg_names:
        kind = _argument_type(fn, spec, name)
        if name in constexprs or name in no_specialization or kind.startswith("*") or kind == "u1":
            continue
        if kind[0] in "iu":
            names.append(name)
    return names


def _front_end_with_ones(fn, spec: dict, arch: int) -> None:
    """Run Triton's front end (AST -> TTIR) with every integer scalar argument equal to 1.

    Triton's binder turns an int argument equal to 1 into a *constexpr* (a plain Python
    int in the kernel), so code such as ``n.to(tl.int64)`` that compiles for other values
    fails for 1 (``'int' object has no attribute 'to'``). The interpreter never shows it.
    """
    from triton._C.libtriton import ir
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    from triton.compiler.compiler import make_backend
    ones = _int_arguments(fn, spec)
    constexprs = {k: _resolve_constexpr(v) for k, v in spec.get("constexprs", {}).items()}
    constexprs.update({name: 1 for name in ones})
    signature, attrs = {}, {}
    for index, name in enumerate(fn.arg_names):
        signature[name] = "constexpr" if name in constexprs else _argument_type(fn, spec, name)
        if signature[name].startswith("*"):
            attrs[(index,)] = [["tt.divisibility", 16]]
    target = GPUTarget("cuda", arch, 32)
    backend = make_backend(target)
    source = ASTSource(fn, signature, constexprs, attrs)
    options = backend.parse_options({k: spec[k] for k in ("num_warps", "num_stages") if k in spec})
    context = ir.context()
    ir.load_dialects(context)
    backend.load_dialects(context)
    source.make_ir(target, options, backend.get_codegen_implementation(options), backend.get_module_map(),
                   context)


def _run_ones_job(family: str, index: int) -> dict:
    """Front end of spec number ``index`` of ``family`` with its int arguments equal to 1."""
    module = _kernel_modules()[family]
    spec = _specs_for(family, module)[index]
    fn = spec["kernel"] if not isinstance(spec["kernel"], str) else getattr(module, spec["kernel"])
    label = spec.get("label")
    result = {"id": f"{family}.{fn.__name__}" + (f"[{label}]" if label else ""), "ok": True, "error": "",
              "ones": _int_arguments(fn, spec)}
    try:
        _front_end_with_ones(fn, spec, ARCHS[0])
    except Exception as exc:  # report every failure, not only the first
        result.update(ok=False, error=f"{type(exc).__name__}: {str(exc)[-1500:]}")
    return result


def _run_job(job: tuple, tools: dict) -> dict:
    """Compile spec number ``index`` of ``family`` for ``arch`` (in a pool process)."""
    family, index, arch = job
    if arch == "ones":
        return _run_ones_job(family, index)
    module = _kernel_modules()[family]
    spec = _specs_for(family, module)[index]
    fn = spec["kernel"] if not isinstance(spec["kernel"], str) else getattr(module, spec["kernel"])
    return _run_spec(family, fn, spec, arch, tools)


if __name__ == "__main__":
    print(json.dumps(_worker()))
