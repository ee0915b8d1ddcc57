"""Benchmark rows, cases and specs, and the context a case builder gets (data, reference, missing ops)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

SUITES = ("ops", "matmul", "conv", "train", "compile")
# Suites run only when named (``--suite distributed``), never by ``--suite all``: they start mpiexec.
EXTRA_SUITES = ("distributed",)


@dataclass
class Result:
    """One report row: our median time, the reference's, their ratio and the achieved rate."""

    suite: str
    op: str
    size: str
    dtype: str
    device: str
    status: str = "ok"  # ok | skipped | failed | mismatch
    ours_ms: float | None = None
    ref_ms: float | None = None
    reference: str = ""
    ratio: float | None = None  # ours_ms / ref_ms: above 1 means slower than the reference
    rate: float | None = None  # ours, in `unit`
    ref_rate: float | None = None
    unit: str = ""
    peak_fraction: float | None = None  # of the GPU's peak for this unit and dtype
    note: str = ""


@dataclass
class Case:
    """A prepared benchmark: our callable, the reference's, and the work one call does."""

    ours: Callable
    ref: Callable | None
    work: float = 0.0  # bytes moved (GB/s) or floating-point operations (GFLOP/s); 0: no rate
    unit: str = ""
    tolerance: float = 1e-4
    kernel: bool = True  # flush the L2 cache between GPU repeats
    note: str = ""
    reference: str = ""  # names the reference when it is not the context's (compile: our eager)


@dataclass
class Spec:
    """A benchmark before it runs: its row labels and the function that builds its ``Case``."""

    suite: str
    op: str
    size: str
    dtype: str
    build: Callable = field(repr=False)  # build(ctx) -> Case; raises Missing when an op is absent


class Missing(Exception):
    """An op the benchmark needs is not in this build: the row is skipped with this reason."""


class Context:
    """What a case builder needs: the device, the reference library and seeded input data."""

    def __init__(self, device: str, torch, dtype: str = "float32") -> None:
        import framework
        self.fw = framework
        self.device = device
        self.torch = torch  # None: the reference is NumPy on the host
        self.dtype = dtype
        self.rng = np.random.default_rng(0)

    @property
    def reference(self) -> str:
        if self.torch is None:
            return "numpy (host)"
        where = self.torch.cuda.get_device_name(0) if self.device == "cuda" else "cpu"
        return f"torch {self.torch.__version__.split('+')[0]} ({where})"

    def randn(self, *shape, scale: float = 1.0) -> np.ndarray:
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def ours(self, array: np.ndarray, requires_grad: bool = False):
        """``array`` as a framework tensor on the device, in the case's dtype when floating."""
        fw = self.fw
        t = fw.tensor(array, device=self.device)
        if array.dtype.kind == "f" and self.dtype != "float32":
            t = t.to(getattr(fw, self.dtype))
        return t.requires_grad_() if requires_grad else t

    def ref(self, array: np.ndarray, requires_grad: bool = False):
        """``array`` for the reference: a torch tensor on the device, or the array itself."""
        if self.torch is None:
            return array
        t = self.torch.from_numpy(np.ascontiguousarray(array)).to(self.device)
        if array.dtype.kind == "f" and self.dtype != "float32":
            t = t.to(getattr(self.torch, self.dtype))
        return t.requires_grad_() if requires_grad else t

    def pick(self, torch_fn: Callable, numpy_fn: Callable | None) -> Callable | None:
        """The reference callable: ``torch_fn`` when torch is the reference, else ``numpy_fn``."""
        return torch_fn if self.torch is not None else numpy_fn


def functional(name: str):
    """``framework.nn.functional.<name>``, or ``Missing`` when this build lacks it."""
    import framework.nn.functional as F
    fn = getattr(F, name, None)
    if fn is None:
        raise Missing(f"framework.nn.functional.{name} is not implemented yet")
    return fn


def top_level(name: str):
    """``framework.<name>``, or ``Missing`` when this build lacks it."""
    import framework
    fn = getattr(framework, name, None)
    if fn is None:
        raise Missing(f"framework.{name} is not implemented yet")
    return fn


def itemsize(dtype: str) -> int:
    """Bytes per element of a float ``dtype`` name."""
    return {"float32": 4, "bfloat16": 2, "float16": 2}[dtype]


def count_label(n: int) -> str:
    """An element count as a label: ``1Mi`` for 2**20."""
    return f"{n >> 20}Mi" if n >= 1 << 20 and n % (1 << 20) == 0 else str(n)
