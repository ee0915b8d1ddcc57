"""The op registry: every public op, its family and the contract kernels it uses.

An op's kernels are those its forward and (first-order) backward call;
``tests/test_registry_kernels.py`` records the calls and fails when a list
differs. ``docs/ops.md`` (the coverage table) is generated from this registry
and the backends' kernel lists (``python -m framework.ops.registry > docs/ops.md``);
``tests/test_registry.py`` fails when either is stale or incomplete.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpInfo:
    """One public op: name, family, the kernels it calls, and whether it has a backward."""

    name: str
    family: str
    kernels: tuple
    differentiable: bool = True


OPS: dict = {}
# Ops declared with ``framework.library.custom_op`` in this process (name -> CustomOpInfo): kept
# apart from ``OPS`` so the library's own table (docs/ops.md) does not depend on what a user
# imported; ``custom_ops_table()`` lists them.
CUSTOM_OPS: dict = {}


@dataclass(frozen=True)
class CustomOpInfo:
    """A user-declared custom op (``framework.library``); devices are read from the op itself."""

    name: str
    op: object

    @property
    def family(self) -> str:
        return "custom:" + self.name.split("::")[0]

    @property
    def devices(self) -> tuple:
        return self.op.devices

    @property
    def differentiable(self) -> bool:
        return self.op.differentiable and self.op._backward is not None


def register(name: str, family: str, kernels=(), differentiable: bool = True) -> None:
    """Record a public op (called once per op, at module definition)."""
    OPS[name] = OpInfo(name, family, tuple(kernels), differentiable)


def register_custom(op) -> None:
    """Record a custom op (called by ``framework.library.CustomOp``)."""
    CUSTOM_OPS[op.name] = CustomOpInfo(op.name, op)


def custom_ops_table() -> str:
    """A Markdown table of the custom ops declared in this process ('' when there are none)."""
    if not CUSTOM_OPS:
        return ""
    lines = ["", "## Custom ops (`framework.library`)", "",
             "| op | cpu (NumPy) | cuda (Triton) | backward | autotuned |", "|---|---|---|---|---|"]
    for info in sorted(CUSTOM_OPS.values(), key=lambda i: i.name):
        devices = info.devices
        lines.append(f"| `{info.name}` | {_mark('cpu' in devices)} | {_mark('cuda' in devices)} | "
                     f"{_mark(info.differentiable) if info.op.differentiable else '—'} | "
                     f"{_mark(info.op.tunable is not None)} |")
    return "\n".join(lines) + "\n"


def coverage_table() -> str:
    """The Markdown op coverage table of ``docs/ops.md``."""
    import framework  # noqa: F401 - registers every op
    from .._backends import load
    from ..compiler.fusion import FUSIBLE
    from ..compiler.onnx import SUPPORTED
    numpy_kernels = load("numpy").kernels
    triton_kernels = _triton_kernel_names()
    lines = [
        "# Op coverage",
        "",
        "Generated from the op registry (`framework/ops/registry.py`) by",
        "`python -m framework.ops.registry > docs/ops.md`; `tests/test_registry.py` fails when it is stale.",
        "",
        "*ONNX* and *fused* read the op's first kernel (its forward's, listed first), from",
        "`framework.compiler.onnx.SUPPORTED` (kernels `framework.onnx.export` translates) and",
        "`framework.compiler.fusion.FUSIBLE` (kernels `framework.compile` fuses into generated",
        "elementwise kernels); see docs/compile.md.",
        "",
        "| op | family | kernels | cpu (NumPy) | cuda (Triton) | backward | ONNX | fused |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for info in sorted(OPS.values(), key=lambda i: (i.family, i.name)):
        cpu = all(k in numpy_kernels for k in info.kernels)
        gpu = all(k in triton_kernels for k in info.kernels)
        kernels = ", ".join(f"`{k}`" for k in info.kernels) or "(views only)"
        first = info.kernels[0] if info.kernels else None
        lines.append(f"| `{info.name}` | {info.family} | {kernels} | {_mark(cpu)} | {_mark(gpu)} | "
                     f"{_mark(info.differentiable) if info.differentiable else '—'} | "
                     f"{_mark(first is None or first in SUPPORTED)} | "
                     f"{_mark(first in FUSIBLE) if first else '—'} |")
    return "\n".join(lines) + "\n"


def _mark(flag: bool) -> str:
    return "✓" if flag else "✗"


def _triton_kernel_names() -> set:
    """Kernel names the Triton backend implements, read without starting a GPU runtime."""
    import importlib
    from .._backends import FAMILIES
    names = set()
    for family in FAMILIES:
        try:
            names.update(importlib.import_module(f"framework._backends.triton.{family}").KERNELS)
        except ModuleNotFoundError:
            continue
    return names


if __name__ == "__main__":
    # Run as a script this module is ``__main__``; ops register into the imported module.
    # ``python -m framework.ops.registry --custom MODULE...`` imports the modules that declare
    # custom ops and appends their table (docs/ops.md itself lists the library's ops only).
    import importlib
    import sys
    from framework.ops import registry as _registry
    table = _registry.coverage_table()
    if sys.argv[1:2] == ["--custom"]:
        for module_name in sys.argv[2:]:
            importlib.import_module(module_name)
        table += _registry.custom_ops_table()
    print(table, end="")
