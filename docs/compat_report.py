"""Generate docs/compat.md: which names of ``torch``, ``torch.nn.functional``, ``Tensor``,
``torch.nn``, ``torch.linalg`` and ``torch.distributions`` framework has, checked against the
names of the torch that framework follows.

    PYTHONPATH=. python docs/compat_report.py > docs/compat.md
    PYTHONPATH=. python docs/compat_report.py --record > docs/compat.md      (or: make docs)

torch's names are recorded in docs/compat_torch_names.json (``--record`` rewrites it from the
installed torch, the Makefile's ``TORCH_PIN``), so the page depends only on the code and the
record, whichever torch is installed. tests/test_compat_page.py regenerates the page and
compares it with the committed file, and compares the record with the installed torch where
that is the recorded version (CI). A name counts as present when framework has an attribute of
that name at the same place. Missing names are either missing by design (the rules below,
each with its reason) or not there yet.
"""
from __future__ import annotations

import inspect
import json
import re
import sys
import textwrap
from pathlib import Path

import framework
import framework.distributions
import framework.nn.functional as framework_functional

RECORD = Path(__file__).resolve().parent / "compat_torch_names.json"

# (pattern on the name, reason): names of these families are left out on purpose.
BY_DESIGN = [
    (r"^(Script|Lite|Static)|^(Graph|GraphExecutorState|Block|Value|Use|Node|Code|"
     r"CompilationUnit|FunctionSchema|Argument|ArgumentSpec|CompleteArgumentSpec|"
     r"ExecutionPlan|Gradient|IODescriptor|ErrorReport|FileCheck|JITException|TracingState|"
     r"ConcreteModuleType\w*|InferredType|AliasDb|CallStack|OperatorInfo|AggregationType|"
     r"LockingLogger|NoopLogger|BenchmarkConfig|BenchmarkExecutionStats|ThroughputBenchmark|"
     r"DeepCopyMemoTable|Capsule|Future|Type|Stream|Event|Tag|ModuleDict|ParameterDict|"
     r"BufferDict)$|Type$|^(parse_ir|parse_schema|"
     r"parse_type_comment|import_ir_module\w*|merge_type_from_type_comment|unify_type_list|fork|"
     r"wait|jit|script|trace|cpp|classes|ops|library|package|fx|export|compile|compiler|vmap|"
     r"func|cond|hub|monitor|profiler|overrides|sym_\w+|Sym\w+)$",
     "TorchScript's scripting and C++ graph types, torch.fx and symbolic-shape internals: "
     "framework captures by tracing into its own graph IR (framework.jit.trace, "
     "framework.compile, framework.export; docs/compile.md)"),
    (r"Storage$|^(TypedStorage|UntypedStorage|PyTorchFile\w+|\w+StorageContext|"
     r"set_default_tensor_type|from_file|is_storage|storage|untyped_storage|share_memory_|"
     r"is_shared|_?new_shared|serialization|(Bool|Byte|Char|Short|Int|Long|Half|Float|Double|"
     r"BFloat16)Tensor|__reduce_ex__|__setstate__)$",
     "pickle and storage-based serialization, legacy typed tensor classes: checkpoints are "
     "safetensors files of tensors and plain data (framework.save refuses modules: save "
     "state_dict())"),
    (r"^(q_\w+|quantize\w*|quantized\w*|qint\w*|quint\w*|qscheme|dequantize|int_repr|"
     r"fake_quantize\w*|fused_moving_avg_obs_fake_quant|choose_qparams\w*|fbgemm\w*|"
     r"empty_quantized|"
     r"quantization|ao|is_quantized|Quant\w*|DeQuant\w*)$",
     "quantization (torch.ao): not part of framework"),
    (r"sparse|spmm|^(smm|dsmm|hsmm|hspmm|saddmm|sspaddmm|ccol_indices\w*|col_indices\w*|"
     r"crow_indices\w*|row_indices\w*|indices(_copy)?|values(_copy)?|coalesce|is_coalesced|"
     r"to_dense|dense_dim|nnz|_nnz|to_mkldnn|layout|is_mkldnn)$",
     "sparse layouts: framework tensors are dense and strided"),
    (r"complex|^(cfloat|cdouble|chalf|conj\w*|resolve_conj|is_conj|real|imag|angle|polar|"
     r"view_as_real\w*|sgn|sgn_|adjoint|H|mH)$",
     "complex dtypes: not supported"),
    (r"^(cudnn_|miopen_|mkldnn_|native_|batch_norm_(backward|elemt|gather|stats|update)|"
     r"is_vulkan_available|has_(lapack|mkl|openmp|spectral)|is_vulkan|is_mps|is_xla|is_ipu|"
     r"is_xpu|is_mtia|is_maia|is_hpu|is_meta|is_nested|is_mkldnn|xpu|mps|mtia|ipu|hpu|"
     r"vulkan|get_autocast_(ipu|xla)_dtype|set_autocast_(ipu|xla)_\w+|"
     r"is_autocast_(ipu|xla)_enabled|windows|cpu)",
     "vendor libraries and other device types (cuDNN, MIOpen, oneDNN, Metal, XPU, ...): "
     "framework's kernels are its own Triton (cuda) and NumPy (cpu) code"),
    (r"_copy$|^(slice_inverse|alias)$",
     "functionalization copies (``view_copy`` ...): views are views here"),
    (r"^(bits\w+|int[1-7]|uint[1-7]|float8_\w+|float4_\w+)$",
     "sub-byte and 8-bit float dtypes"),
    (r"^(DispatchKey\w*|ExcludeDispatchKeyGuard|DisableTorchFunction\w*|"
     r"__torch_function__|__torch_dispatch__|as_subclass|has_names|names|refine_names|"
     r"rename|rename_|align_as|align_to|unflatten_names|distributed|multiprocessing|"
     r"is_distributed|testing|futures|utils\.\w+|return_types|torch_version|version|types|"
     r"functional|storage_type|nested|masked|signal|quasirandom|package|AVG|SUM|"
     r"DataParallel|SyncBatchNorm|handle_torch_function|has_torch_function\w*|"
     r"boolean_dispatch|assert_int_or_pair|BroadcastingList\d)$",
     "dispatcher, named tensors and infrastructure modules (distributed, multiprocessing, "
     "testing): outside framework's scope"),
    (r"^(volatile|reinforce|symeig|eig|lstsq|solve|resize|map_|map2_|apply_)$",
     "deprecated, removed or CPU-only Python-callback methods of PyTorch (they raise or warn "
     "there)"),
]

# (torch namespace, framework's namesake, framework's object)
NAMESPACES = [
    ("torch", "framework", framework),
    ("torch.nn.functional", "framework.nn.functional", framework_functional),
    ("torch.Tensor", "framework.Tensor", framework.Tensor),
    ("torch.nn", "framework.nn", framework.nn),
    ("torch.linalg", "framework.linalg", framework.linalg),
    ("torch.distributions", "framework.distributions", framework.distributions),
]
# Namespaces with rules of their own instead of BY_DESIGN's, which are written for torch's
# other namespaces (``torch.linalg.cond``, ``eig``, ``lstsq`` are no deprecated or TorchScript
# names).
NAMESPACE_BY_DESIGN = {
    "torch.linalg": [(r"^(eig|eigvals)$", "eigendecomposition of a general matrix: its results "
                      "are complex, and complex dtypes are not supported (eigh, eigvalsh serve "
                      "symmetric matrices)")],
}


def installed_names() -> dict:
    """The installed torch's version and public names per namespace (what ``--record`` keeps)."""
    import torch
    import torch.nn.functional as torch_functional

    def functions(module):
        return sorted(n for n in dir(module) if not n.startswith("_")
                      and callable(getattr(module, n)) and not inspect.isclass(getattr(module, n))
                      and getattr(getattr(module, n), "__module__", "") != "typing")

    return {"torch": torch.__version__.split("+")[0], "names": {
        "torch": sorted(set(torch.__all__)),
        "torch.nn.functional": functions(torch_functional),
        "torch.Tensor": sorted(n for n in dir(torch.Tensor) if not n.startswith("_")),
        "torch.nn": sorted(n for n in dir(torch.nn) if not n.startswith("_")
                           and inspect.isclass(getattr(torch.nn, n))),
        "torch.linalg": sorted(n for n in dir(torch.linalg) if not n.startswith("_")
                               and callable(getattr(torch.linalg, n))),
        "torch.distributions": sorted(set(torch.distributions.__all__)),
    }}


def recorded_names() -> dict:
    """The record the page is generated from (docs/compat_torch_names.json)."""
    return json.loads(RECORD.read_text())


def write_record() -> None:
    """Record the installed torch's names in docs/compat_torch_names.json."""
    RECORD.write_text(json.dumps(installed_names(), indent=1) + "\n")


SUBMODULES = ["autograd", "func", "nn", "nn.functional", "nn.init", "nn.utils", "optim",
              "optim.lr_scheduler", "utils.data", "cuda", "amp", "backends", "accelerator",
              "distributions", "random", "linalg", "fft", "special", "jit", "sparse",
              "distributed", "quantization", "onnx", "export", "compiler"]


def by_design(name: str, namespace: str = "torch"):
    """The reason ``name`` (of torch ``namespace``) is left out on purpose, or None."""
    for pattern, reason in NAMESPACE_BY_DESIGN.get(namespace, BY_DESIGN):
        if re.search(pattern, name):
            return reason
    return None


def _has_module(path: str) -> bool:
    """``framework.<path>`` is a module of this checkout (looked up as files, so an installed
    copy of another checkout cannot answer instead)."""
    from pathlib import Path
    base = Path(framework.__file__).parent.joinpath(*path.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _names(names) -> str:
    text = ", ".join(f"`{n}`" for n in names) if names else "(none)"
    return "\n".join(textwrap.wrap(text, 96, break_long_words=False, break_on_hyphens=False))


def report() -> str:
    """The text of docs/compat.md."""
    record = recorded_names()
    lines = [
        "# PyTorch compatibility",
        "",
        f"Generated by `docs/compat_report.py` from the code, against torch {record['torch']}'s "
        "names (recorded from that torch in `docs/compat_torch_names.json`); regenerate with "
        "`make docs`. tests/test_compat_page.py fails when this page and the code disagree, "
        f"and, where torch {record['torch']} is installed (CI), when the record and torch "
        "disagree.",
        "",
        "A name is present when framework has it at the same place (`framework.X` for "
        "`torch.X`). Missing names are missing by design (grouped by reason) or not there yet.",
        "",
        "| namespace | torch names | present | missing by design | not yet |",
        "|---|---:|---:|---:|---:|",
    ]
    sections = []
    for torch_name, ours, target in NAMESPACES:
        names = record["names"][torch_name]
        present = [n for n in names if hasattr(target, n)]
        missing = [n for n in names if not hasattr(target, n)]
        designed: dict = {}
        for n in missing:
            reason = by_design(n, torch_name)
            if reason is not None:
                designed.setdefault(reason, []).append(n)
        not_yet = [n for n in missing if by_design(n, torch_name) is None]
        designed_count = sum(len(v) for v in designed.values())
        lines.append(f"| `{torch_name}` | {len(names)} | {len(present)} | {designed_count} | "
                     f"{len(not_yet)} |")
        sections += [f"## `{torch_name}` (as `{ours}`)", "",
                     f"### Present ({len(present)})", "", _names(present), "",
                     f"### Missing by design ({designed_count})", ""]
        for reason, group in designed.items():
            sections += [f"- {reason}:", "", textwrap.indent(_names(group), "  "), ""]
        sections += [f"### Not yet ({len(not_yet)})", "", _names(not_yet), ""]
    modules = [(m, _has_module(m)) for m in SUBMODULES]
    lines += ["", "Submodules: " + ", ".join(
        f"`torch.{m}` {'yes' if ok else 'no'}" for m, ok in modules) + ".", ""]
    lines += [
        "Behaviour differences by design:",
        "",
        "- `framework.save` writes safetensors (tensors plus plain data, no pickle); "
        "whole modules and optimizers are refused with a hint to save `state_dict()`.",
        "- `cuda` tensors run Triton kernels (or Triton's interpreter); there is no cuDNN: "
        "the `backends.cudnn` flags are kept but change no kernel.",
        "- float32 matmuls on `cuda` default to TF32 (`set_float32_matmul_precision('high')`).",
        "- `use_deterministic_algorithms` is recorded (`are_deterministic_algorithms_enabled`) "
        "but changes and refuses no kernel; `set_num_interop_threads` is recorded only (no "
        "inter-op pool); `set_num_threads` sets the CPU kernels' and OpenBLAS's thread count.",
        "- Memory formats (`channels_last` ...) set strides only (every kernel reads any "
        "strides, so results are the same); `clone()` defaults to row-major where torch "
        "preserves a dense channels-last layout.",
        "- No complex dtypes: `conj`, `real`, `resolve_conj` ... return real tensors as they are, "
        "`imag` raises, `angle`/`sgn` follow torch's real-tensor values.",
        "",
    ]
    return "\n".join(lines + sections).rstrip("\n") + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--record"]:
        write_record()
    elif sys.argv[1:]:
        sys.exit("usage: compat_report.py [--record] > docs/compat.md")
    sys.stdout.write(report())
