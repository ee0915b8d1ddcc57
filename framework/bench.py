"""``framework bench``: the benchmark report, every row against a reference timed in the same run.

Suites (``--suite``):

- ``ops``: op micro-benchmarks: per-op dispatch overhead on tiny tensors,
  elementwise, reductions, softmax, layer_norm, cross_entropy, attention;
- ``matmul`` and ``conv``: shape sweeps;
- ``train``: whole training steps (forward, backward, Adam) of an MLP, a
  LeNet-style CNN and a small pre-LN transformer, written with framework ops
  and ``framework.nn.functional`` so that they run whatever layers exist.

The reference is PyTorch on the same device when it is importable (on
``cuda``: with a GPU), otherwise NumPy on the host; the report names it.
Times are medians of repeats after warm-up: wall-clock on the CPU, CUDA
events on a GPU (with the L2 cache flushed before each repeat of a kernel
benchmark). Each row gives ours / reference (the ratio: above 1 is slower),
the achieved GFLOP/s or GB/s, and on a GPU the fraction of the card's peak.
An op that is missing from this build gives a *skipped* row naming it,
never an error; a result that disagrees with the reference is flagged.

This module lives inside the package so that the ``framework`` console
script finds it after any install; it imports torch only as the reference
and only when torch is installed.
"""
from __future__ import annotations

import datetime
import json
import math
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

SUITES = ("ops", "matmul", "conv", "train")

# Timing: warm-up calls, then repeats until MIN_SECONDS were measured (between the bounds).
WARMUP = 3
MIN_REPEATS = 5
MAX_REPEATS = 200
MIN_SECONDS = 0.3
L2_FLUSH_BYTES = 256 * 1024 * 1024

# Dense peaks (TFLOP/s) and memory bandwidth (GB/s) from NVIDIA's data sheets. Matched against
# the device name in order, so the more specific names come first.
GPU_PEAKS = (
    ("H200", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9, "GB/s": 4800.0}),
    ("H100 PCIe", {"bf16": 756.0, "fp16": 756.0, "tf32": 378.0, "fp32": 51.2, "GB/s": 2000.0}),
    ("H100 NVL", {"bf16": 835.0, "fp16": 835.0, "tf32": 417.5, "fp32": 60.0, "GB/s": 3900.0}),
    ("H100", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9, "GB/s": 3350.0}),
    ("A100-SXM4-40GB", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5, "GB/s": 1555.0}),
    ("A100-PCIE-40GB", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5, "GB/s": 1555.0}),
    ("A100", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5, "GB/s": 2039.0}),
)

# CPU speed targets: the row (suite, op) whose median ratio to PyTorch CPU must stay at or below.
CPU_TARGETS = (
    ("ops", "dispatch add", 2.0, "dispatch overhead of a small elementwise op"),
    ("train", "mlp step", 1.2, "MLP 784-512-256-10 training step, batch 128, Adam"),
    ("train", "lenet step", 1.5, "LeNet-style CNN training step, batch 64, Adam"),
    ("train", "transformer step", 1.5, "small transformer training step, Adam"),
)


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


# Reference and data ----------------------------------------------------------------------------

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


def _torch_for(device: str):
    """torch as the reference for ``device``, or None (not installed, or no GPU for ``cuda``)."""
    try:
        import torch
    except ImportError:
        return None
    if device == "cuda" and not torch.cuda.is_available():
        return None
    return torch


# NumPy references (used only where torch is not installed) ------------------------------------

def _np_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _np_layer_norm(x, w, b, eps=1e-5) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _np_cross_entropy(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=-1))
    return np.mean(lse - shifted[np.arange(len(target)), target])


def _np_attention(q, k, v) -> np.ndarray:
    scores = q @ np.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    return _np_softmax(scores) @ v


def _np_conv2d(x, w, b, padding: int) -> np.ndarray:
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(2, 3))
    return np.einsum("nchwrs,kcrs->nkhw", windows, w, optimize=True) + b[None, :, None, None]


# Suite: ops ------------------------------------------------------------------------------------

def _elementwise(name: str, n: int) -> Callable:
    arity = 1 if name in ("exp", "relu", "gelu") else 2

    def build(ctx: Context) -> Case:
        xs = [ctx.randn(n) for _ in range(arity)]
        ours_in = [ctx.ours(x) for x in xs]
        ref_in = [ctx.ref(x) for x in xs]
        if name in ("relu", "gelu"):
            fn = functional(name)
            t = ctx.torch
            ref = ctx.pick(lambda: getattr(t.nn.functional, name)(*ref_in),
                           (lambda: np.maximum(ref_in[0], 0)) if name == "relu" else None)
        else:
            fn = top_level(name)
            lib = ctx.torch or np
            np_name = {"mul": "multiply"}.get(name, name)
            ref_fn = getattr(lib, name if ctx.torch is not None else np_name)
            ref = lambda: ref_fn(*ref_in)  # noqa: E731
        itemsize = _itemsize(ctx.dtype)
        return Case(lambda: fn(*ours_in), ref, (arity + 1) * n * itemsize, "GB/s")
    return build


def _dispatch(name: str, requires_grad: bool) -> Callable:
    """A tiny op, so the time is the per-call overhead (validation, dispatch, allocation)."""
    def build(ctx: Context) -> Case:
        fn = top_level(name)
        xs = [ctx.randn(8) for _ in range(2)]
        a, b = (ctx.ours(x, requires_grad) for x in xs)
        ra, rb = (ctx.ref(x, requires_grad) for x in xs)
        lib = ctx.torch or np
        ref_fn = getattr(lib, name)
        note = "inputs require grad: records the autograd node" if requires_grad else ""
        return Case(lambda: fn(a, b), lambda: ref_fn(ra, rb), kernel=False, note=note)
    return build


def _reduction(name: str, rows: int, cols: int, dim_last: bool) -> Callable:
    def build(ctx: Context) -> Case:
        fn = top_level(name)
        x = ctx.randn(rows, cols)
        ours_x, ref_x = ctx.ours(x), ctx.ref(x)
        if dim_last:
            ours = lambda: fn(ours_x, dim=-1)  # noqa: E731
            ref = ctx.pick(lambda: getattr(ctx.torch, name)(ref_x, dim=-1),
                           lambda: getattr(np, name)(ref_x, axis=-1))
        else:
            ours = lambda: fn(ours_x)  # noqa: E731
            ref = ctx.pick(lambda: getattr(ctx.torch, name)(ref_x), lambda: getattr(np, name)(ref_x))
        return Case(ours, ref, rows * cols * _itemsize(ctx.dtype), "GB/s",
                    tolerance=1e-4 * math.sqrt(cols if dim_last else rows * cols))
    return build


def _softmax(rows: int, cols: int) -> Callable:
    def build(ctx: Context) -> Case:
        fn = functional("softmax")
        x = ctx.randn(rows, cols)
        ours_x, ref_x = ctx.ours(x), ctx.ref(x)
        ref = ctx.pick(lambda: ctx.torch.softmax(ref_x, dim=-1), lambda: _np_softmax(ref_x))
        return Case(lambda: fn(ours_x, dim=-1), ref, 2 * rows * cols * _itemsize(ctx.dtype), "GB/s")
    return build


def _layer_norm(rows: int, cols: int) -> Callable:
    def build(ctx: Context) -> Case:
        fn = functional("layer_norm")
        x, w, b = ctx.randn(rows, cols), ctx.randn(cols), ctx.randn(cols)
        ox, ow, ob = ctx.ours(x), ctx.ours(w), ctx.ours(b)
        rx, rw, rb = ctx.ref(x), ctx.ref(w), ctx.ref(b)
        ref = ctx.pick(lambda: ctx.torch.nn.functional.layer_norm(rx, (cols,), rw, rb),
                       lambda: _np_layer_norm(rx, rw, rb))
        return Case(lambda: fn(ox, (cols,), ow, ob), ref, 2 * rows * cols * _itemsize(ctx.dtype), "GB/s",
                    tolerance=1e-3)
    return build


def _cross_entropy(rows: int, classes: int) -> Callable:
    def build(ctx: Context) -> Case:
        fn = functional("cross_entropy")
        logits = ctx.randn(rows, classes)
        target = ctx.rng.integers(0, classes, rows).astype(np.int64)
        ol, ot = ctx.ours(logits), ctx.ours(target)
        rl, rt = ctx.ref(logits), ctx.ref(target)
        ref = ctx.pick(lambda: ctx.torch.nn.functional.cross_entropy(rl, rt),
                       lambda: _np_cross_entropy(rl, rt))
        return Case(lambda: fn(ol, ot), ref, rows * classes * _itemsize(ctx.dtype), "GB/s",
                    tolerance=1e-3)
    return build


def _attention(batch: int, heads: int, length: int, dim: int, causal: bool = False) -> Callable:
    def build(ctx: Context) -> Case:
        fn = functional("scaled_dot_product_attention")
        q, k, v = (ctx.randn(batch, heads, length, dim) for _ in range(3))
        oq, ok, ov = ctx.ours(q), ctx.ours(k), ctx.ours(v)
        rq, rk, rv = ctx.ref(q), ctx.ref(k), ctx.ref(v)
        ref = ctx.pick(lambda: ctx.torch.nn.functional.scaled_dot_product_attention(
            rq, rk, rv, is_causal=causal), None if causal else (lambda: _np_attention(rq, rk, rv)))
        flops = 4.0 * batch * heads * length * length * dim * (0.5 if causal else 1.0)
        return Case(lambda: fn(oq, ok, ov, is_causal=causal), ref, flops, "GFLOP/s", tolerance=1e-3)
    return build


def _ops_specs(device: str, quick: bool) -> list:
    gpu = device == "cuda"
    big = [1 << 24] if gpu and quick else [1 << 24, 1 << 26] if gpu else [1 << 20] if quick else [1 << 20, 1 << 22]
    rows_cols = [(8192, 4096)] if gpu else [(1024, 1024)] if quick else [(1024, 1024), (4096, 1024)]
    ce = [(8192, 8192)] if gpu else [(1024, 1000)] if quick else [(1024, 1000), (4096, 1000)]
    attn = ([(8, 16, 1024, 64)] if quick else [(8, 16, 1024, 64), (4, 16, 4096, 64)]) if gpu else (
        [(2, 4, 256, 64)] if quick else [(2, 4, 256, 64), (4, 8, 512, 64)])
    specs = [Spec("ops", "dispatch add", "8", "float32", _dispatch("add", False)),
             Spec("ops", "dispatch add (grad)", "8", "float32", _dispatch("add", True)),
             Spec("ops", "dispatch mul", "8", "float32", _dispatch("mul", False))]
    for n in big:
        for name in ("add", "mul", "exp", "relu", "gelu"):
            if quick and name in ("mul", "gelu"):
                continue
            specs.append(Spec("ops", name, _count(n), "float32", _elementwise(name, n)))
    for n in big:
        specs.append(Spec("ops", "sum", _count(n), "float32", _reduction("sum", 1, n, False)))
    for rows, cols in rows_cols:
        size = f"{rows}×{cols}"
        specs += [Spec("ops", "sum(dim=-1)", size, "float32", _reduction("sum", rows, cols, True)),
                  Spec("ops", "amax(dim=-1)", size, "float32", _reduction("amax", rows, cols, True)),
                  Spec("ops", "softmax", size, "float32", _softmax(rows, cols)),
                  Spec("ops", "layer_norm", size, "float32", _layer_norm(rows, cols))]
    for rows, classes in ce:
        specs.append(Spec("ops", "cross_entropy", f"{rows}×{classes}", "float32", _cross_entropy(rows, classes)))
    for b, h, length, d in attn:
        specs.append(Spec("ops", "attention", f"{b}×{h}×{length}×{d}", "float32", _attention(b, h, length, d)))
        if gpu:
            specs.append(Spec("ops", "attention causal", f"{b}×{h}×{length}×{d}", "bfloat16",
                              _attention(b, h, length, d, causal=True)))
    return specs


# Suites: matmul and conv ----------------------------------------------------------------------

def _matmul(m: int, k: int, n: int, batch: int = 0) -> Callable:
    def build(ctx: Context) -> Case:
        fn = top_level("matmul")
        lead = (batch,) if batch else ()
        a, b = ctx.randn(*lead, m, k, scale=k ** -0.5), ctx.randn(*lead, k, n)
        oa, ob, ra, rb = ctx.ours(a), ctx.ours(b), ctx.ref(a), ctx.ref(b)
        lib = ctx.torch or np
        flops = 2.0 * max(batch, 1) * m * k * n
        return Case(lambda: fn(oa, ob), lambda: lib.matmul(ra, rb), flops, "GFLOP/s",
                    tolerance=1e-4 * math.sqrt(k))
    return build


def _matmul_specs(device: str, quick: bool) -> list:
    if device == "cuda":
        shapes = [(4096, 4096, 4096, 0), (8192, 8192, 8192, 0)] if not quick else [(4096, 4096, 4096, 0)]
        shapes += [] if quick else [(1024, 1024, 1024, 0), (8192, 1024, 8192, 0), (32, 1024, 64, 512)]
        dtypes_ = ("float32", "bfloat16")
    else:
        shapes = [(256, 256, 256, 0), (1024, 1024, 1024, 0), (128, 784, 512, 0)]
        shapes += [] if quick else [(64, 64, 64, 0), (2048, 2048, 2048, 0), (4096, 512, 512, 0),
                                    (128, 128, 64, 32)]
        dtypes_ = ("float32",)
    specs = []
    for dtype in dtypes_:
        for m, k, n, batch in shapes:
            size = f"{batch}×" if batch else ""
            specs.append(Spec("matmul", "bmm" if batch else "matmul", f"{size}{m}×{k}×{n}", dtype,
                              _matmul(m, k, n, batch)))
    return specs


def _conv(n: int, c: int, hw: int, k: int, r: int, padding: int) -> Callable:
    def build(ctx: Context) -> Case:
        fn = functional("conv2d")
        x, w, b = ctx.randn(n, c, hw, hw), ctx.randn(k, c, r, r, scale=(c * r * r) ** -0.5), ctx.randn(k)
        ox, ow, ob = ctx.ours(x), ctx.ours(w), ctx.ours(b)
        rx, rw, rb = ctx.ref(x), ctx.ref(w), ctx.ref(b)
        ref = ctx.pick(lambda: ctx.torch.nn.functional.conv2d(rx, rw, rb, padding=padding),
                       lambda: _np_conv2d(rx, rw, rb, padding))
        out = hw + 2 * padding - r + 1
        flops = 2.0 * n * k * out * out * c * r * r
        return Case(lambda: fn(ox, ow, ob, padding=padding), ref, flops, "GFLOP/s",
                    tolerance=1e-4 * math.sqrt(c * r * r))
    return build


def _conv_specs(device: str, quick: bool) -> list:
    if device == "cuda":
        shapes = [(64, 64, 56, 64, 3, 1)] + ([] if quick else [(64, 128, 28, 128, 3, 1),
                                                               (64, 256, 14, 256, 3, 1),
                                                               (64, 3, 224, 64, 7, 3)])
        dtypes_ = ("float32", "bfloat16")
    else:
        shapes = [(64, 1, 28, 6, 5, 2), (32, 16, 32, 32, 3, 1)]
        shapes += [] if quick else [(64, 6, 14, 16, 5, 0), (16, 64, 16, 64, 3, 1), (8, 3, 64, 32, 7, 3)]
        dtypes_ = ("float32",)
    return [Spec("conv", f"conv2d {r}×{r} pad {p}", f"{n}×{c}×{hw}×{hw}→{k}", dtype, _conv(n, c, hw, k, r, p))
            for dtype in dtypes_ for n, c, hw, k, r, p in shapes]


# Suite: train ---------------------------------------------------------------------------------

class _Ops:
    """The few ops a model needs, from framework (with fallbacks) or from torch."""

    def __init__(self, ctx: Context, use_torch: bool) -> None:
        self.ctx = ctx
        self.torch = use_torch
        if use_torch:
            self.F = ctx.torch.nn.functional
        else:
            import framework.nn.functional as F
            self.F = F
        self.fallbacks: list = []

    def linear(self, x, w, b):
        if self.torch or hasattr(self.F, "linear"):
            return self.F.linear(x, w, b)
        return x @ w.t() + b

    def relu(self, x):
        return self.F.relu(x)

    def cross_entropy(self, logits, target, onehot):
        if self.torch or hasattr(self.F, "cross_entropy"):
            return self.F.cross_entropy(logits, target)
        if "cross_entropy" not in self.fallbacks:
            self.fallbacks.append("cross_entropy")
        logp = logits - self.ctx.fw.logsumexp(logits, dim=-1, keepdim=True)
        return -(logp * onehot).sum() / logits.shape[0]

    def need(self, *names: str) -> None:
        if not self.torch:
            for name in names:
                functional(name)


def _params(ctx: Context, shapes: list) -> list:
    """Seeded weights (fan-in scaled) for ``shapes``: the same values for ours and the reference."""
    arrays = []
    for shape in shapes:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        arrays.append(ctx.randn(*shape, scale=fan_in ** -0.5))
    return arrays


def _mlp_forward(ops: _Ops, p: list, x, y, onehot):
    h = ops.relu(ops.linear(x, p[0], p[1]))
    h = ops.relu(ops.linear(h, p[2], p[3]))
    return ops.cross_entropy(ops.linear(h, p[4], p[5]), y, onehot)


def _lenet_forward(ops: _Ops, p: list, x, y, onehot):
    F = ops.F
    h = F.max_pool2d(ops.relu(F.conv2d(x, p[0], p[1], padding=2)), 2)
    h = F.max_pool2d(ops.relu(F.conv2d(h, p[2], p[3])), 2)
    h = h.reshape(h.shape[0], -1)
    h = ops.relu(ops.linear(h, p[4], p[5]))
    h = ops.relu(ops.linear(h, p[6], p[7]))
    return ops.cross_entropy(ops.linear(h, p[8], p[9]), y, onehot)


TRANSFORMER = {"batch": 8, "length": 64, "dim": 128, "heads": 4, "ffn": 512, "layers": 2, "classes": 256}


def _transformer_forward(ops: _Ops, p: list, x, y, onehot):
    """Pre-LN encoder layers with causal attention, then a per-token classifier."""
    F, cfg = ops.F, TRANSFORMER
    b, length, d, heads = cfg["batch"], cfg["length"], cfg["dim"], cfg["heads"]
    per_layer = 13
    for layer in range(cfg["layers"]):
        (ln1w, ln1b, wq, wk, wv, wo, bo, ln2w, ln2b, w1, b1, w2, b2) = p[layer * per_layer:(layer + 1) * per_layer]
        h = F.layer_norm(x, (d,), ln1w, ln1b)
        q, k, v = ((h @ w.t()).reshape(b, length, heads, d // heads).transpose(1, 2) for w in (wq, wk, wv))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + ops.linear(a.transpose(1, 2).reshape(b, length, d), wo, bo)
        h = F.layer_norm(x, (d,), ln2w, ln2b)
        x = x + ops.linear(F.gelu(ops.linear(h, w1, b1)), w2, b2)
    lnw, lnb, head_w, head_b = p[-4:]
    logits = ops.linear(F.layer_norm(x, (d,), lnw, lnb), head_w, head_b)
    return ops.cross_entropy(logits.reshape(b * length, -1), y, onehot)


def _transformer_shapes() -> list:
    cfg = TRANSFORMER
    d, f = cfg["dim"], cfg["ffn"]
    layer = [(d,), (d,), (d, d), (d, d), (d, d), (d, d), (d,), (d,), (d,), (f, d), (f,), (d, f), (d,)]
    return layer * cfg["layers"] + [(d,), (d,), (cfg["classes"], d), (cfg["classes"],)]


def _transformer_flops() -> float:
    cfg = TRANSFORMER
    tokens, d = cfg["batch"] * cfg["length"], cfg["dim"]
    per_layer = 2 * tokens * (4 * d * d + 2 * d * cfg["ffn"]) + 2 * tokens * cfg["length"] * d  # causal
    return 3.0 * (cfg["layers"] * per_layer + 2 * tokens * d * cfg["classes"])


def _lenet_flops(batch: int) -> float:
    conv = 2 * batch * (6 * 28 * 28 * 25 + 16 * 10 * 10 * 25 * 6)
    dense = 2 * batch * (400 * 120 + 120 * 84 + 84 * 10)
    return 3.0 * (conv + dense)


def _train_step(forward: Callable, shapes: list, x_shape: tuple, classes: int, flops: float,
                needs: tuple) -> Callable:
    """A training step (zero_grad, forward, loss, backward, Adam step) for ours and the reference."""
    def build(ctx: Context) -> Case:
        ours_ops = _Ops(ctx, use_torch=False)
        ours_ops.need(*needs)
        import framework.optim
        params = _params(ctx, shapes)
        x = ctx.randn(*x_shape)
        target = ctx.rng.integers(0, classes, _target_count(x_shape, forward)).astype(np.int64)
        onehot = np.eye(classes, dtype=np.float32)[target]
        ours_p = [ctx.ours(a, requires_grad=True) for a in params]
        ours_data = (ctx.ours(x), ctx.ours(target), ctx.ours(onehot))
        ours_opt = framework.optim.Adam(ours_p, lr=1e-3)

        def ours():
            ours_opt.zero_grad()
            loss = forward(ours_ops, ours_p, *ours_data)
            loss.backward()
            ours_opt.step()
            return loss.detach()
        ref = None
        if ctx.torch is not None:
            ref_ops = _Ops(ctx, use_torch=True)
            ref_p = [ctx.ref(a, requires_grad=True) for a in params]
            ref_data = (ctx.ref(x), ctx.ref(target), ctx.ref(onehot))
            ref_opt = ctx.torch.optim.Adam(ref_p, lr=1e-3)

            def ref():
                ref_opt.zero_grad()
                loss = forward(ref_ops, ref_p, *ref_data)
                loss.backward()
                ref_opt.step()
                return loss.detach()
        note = "" if ctx.torch is not None else "no NumPy reference for a training step (torch not installed)"
        if ours_ops.fallbacks or not hasattr(ours_ops.F, "cross_entropy"):
            note = "; ".join(filter(None, [note, "loss via logsumexp (F.cross_entropy missing)"]))
        return Case(ours, ref, flops, "GFLOP/s", tolerance=1e-3, kernel=False, note=note)
    return build


def _target_count(x_shape: tuple, forward: Callable) -> int:
    if forward is _transformer_forward:
        return TRANSFORMER["batch"] * TRANSFORMER["length"]
    return x_shape[0]


def _train_specs(device: str, quick: bool) -> list:
    mlp_shapes = [(512, 784), (512,), (256, 512), (256,), (10, 256), (10,)]
    mlp_flops = 6.0 * 128 * (784 * 512 + 512 * 256 + 256 * 10)
    lenet_shapes = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,),
                    (10, 84), (10,)]
    cfg = TRANSFORMER
    return [
        Spec("train", "mlp step", "784-512-256-10, batch 128", "float32",
             _train_step(_mlp_forward, mlp_shapes, (128, 784), 10, mlp_flops, ("relu",))),
        Spec("train", "lenet step", "1×28×28, batch 64", "float32",
             _train_step(_lenet_forward, lenet_shapes, (64, 1, 28, 28), 10, _lenet_flops(64),
                         ("relu", "conv2d", "max_pool2d"))),
        Spec("train", "transformer step",
             f"{cfg['layers']} layers d{cfg['dim']} h{cfg['heads']}, {cfg['batch']}×{cfg['length']} tokens",
             "float32",
             _train_step(_transformer_forward, _transformer_shapes(),
                         (cfg["batch"], cfg["length"], cfg["dim"]), cfg["classes"], _transformer_flops(),
                         ("layer_norm", "scaled_dot_product_attention", "gelu"))),
    ]


SPEC_BUILDERS = {"ops": _ops_specs, "matmul": _matmul_specs, "conv": _conv_specs, "train": _train_specs}


def specs(suites=SUITES, device: str = "cpu", quick: bool = False, ops=None) -> list:
    """The benchmark specs of ``suites`` on ``device``, optionally only the ``ops`` named."""
    chosen = [s for suite in suites for s in SPEC_BUILDERS[suite](device, quick)]
    return chosen if ops is None else [s for s in chosen if s.op in ops]


def op_names(device: str = "cpu") -> list:
    """Every op name the suites time (``--ops`` accepts these)."""
    return sorted({s.op for s in specs(SUITES, device)})


# Timing ---------------------------------------------------------------------------------------

def median_seconds(fn: Callable, sync: Callable) -> float:
    """Median wall-clock seconds of ``fn()`` (each repeat ends with ``sync()``), after warm-up."""
    return interleaved_medians([fn], sync)[0]


def interleaved_medians(fns: list, sync: Callable) -> list:
    """Median wall-clock seconds of each of ``fns``, timed in turn (a, b, a, b, ...) after warm-up.

    Interleaving gives every function the same share of a busy machine's noise, so their
    ratio stays meaningful when other processes come and go.
    """
    for fn in fns:
        for _ in range(WARMUP):
            fn()
    sync()
    times: list = [[] for _ in fns]
    started = time.perf_counter()
    while len(times[0]) < MIN_REPEATS or (len(times[0]) < MAX_REPEATS
                                          and time.perf_counter() - started < MIN_SECONDS * len(fns)):
        for fn, samples in zip(fns, times):
            t0 = time.perf_counter()
            fn()
            sync()
            samples.append(time.perf_counter() - t0)
    return [statistics.median(samples) for samples in times]


class EventTimer:
    """GPU time from CUDA events on the default stream (cuda-bindings, no torch)."""

    def __init__(self) -> None:
        from . import dtypes
        from .backends.triton import memory, runtime
        self.driver, self.check = runtime._driver(), runtime.check
        # framework's allocator makes the primary context current (as framework.autotune.timing)
        self._scratch = memory.empty((L2_FLUSH_BYTES // 4,), dtypes.int32)
        self.scratch = memory.buffer_address(self._scratch.storage.buffer)
        self.start = self.check(self.driver.cuEventCreate(0))
        self.end = self.check(self.driver.cuEventCreate(0))

    def interleaved_medians(self, fns: list, flush_l2: bool) -> list:
        """Median seconds of each of ``fns`` timed in turn after warm-up; L2 flushed when asked."""
        d, check = self.driver, self.check
        for fn in fns:
            for _ in range(WARMUP):
                fn()
        check(d.cuCtxSynchronize())
        times: list = [[] for _ in fns]
        started = time.perf_counter()
        while len(times[0]) < MIN_REPEATS or (len(times[0]) < MAX_REPEATS
                                              and time.perf_counter() - started < MIN_SECONDS * len(fns)):
            for fn, samples in zip(fns, times):
                samples.append(self._one(fn, flush_l2))
        return [statistics.median(samples) for samples in times]

    def _one(self, fn: Callable, flush_l2: bool) -> float:
        d, check = self.driver, self.check
        if flush_l2:
            check(d.cuMemsetD32Async(self.scratch, 0, L2_FLUSH_BYTES // 4, 0))
        check(d.cuEventRecord(self.start, 0))
        fn()
        check(d.cuEventRecord(self.end, 0))
        check(d.cuEventSynchronize(self.end))
        return check(d.cuEventElapsedTime(self.start, self.end)) / 1e3

    def close(self) -> None:
        for event in (self.start, self.end):
            self.check(self.driver.cuEventDestroy(event))
        self._scratch = None


# Running --------------------------------------------------------------------------------------

def _to_numpy(value) -> np.ndarray:
    """A framework or torch tensor (any dtype, any device) or an array as a NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach()
        if str(value.dtype).endswith(("bfloat16", "float16")):
            value = value.float()
        return np.asarray(value.cpu().numpy())
    return np.asarray(value)


def agrees(ours, ref, tolerance: float) -> bool:
    """Same shape and relative error (2-norm) within ``tolerance``."""
    mine = _to_numpy(ours).astype(np.float64).reshape(-1)
    theirs = _to_numpy(ref).astype(np.float64).reshape(-1)
    if mine.shape != theirs.shape or not np.all(np.isfinite(mine) == np.isfinite(theirs)):
        return False
    finite = np.isfinite(theirs)
    error = float(np.linalg.norm(mine[finite] - theirs[finite]))
    return error <= tolerance * max(float(np.linalg.norm(theirs[finite])), 1.0)


def _tolerance(case: Case, dtype: str) -> float:
    return max(case.tolerance, 2e-2) if dtype in ("bfloat16", "float16") else case.tolerance


def run_spec(spec: Spec, device: str, torch, timer=None, peaks: dict | None = None) -> Result:
    """Time one spec; a missing op gives a skipped row and an error a failed row, never a raise."""
    row = Result(spec.suite, spec.op, spec.size, spec.dtype, device)
    try:
        ctx = Context(device, torch, spec.dtype)
        row.reference = ctx.reference
        case = spec.build(ctx)
        row.unit, row.note = case.unit if case.work else "", case.note
        first = case.ours()
    except (Missing, NotImplementedError) as exc:
        row.status, row.note = "skipped", f"{type(exc).__name__}: {exc}" if not isinstance(exc, Missing) else str(exc)
        return row
    except Exception as exc:  # a bug in an op or a model: report it in the row
        row.status, row.note = "failed", f"{type(exc).__name__}: {exc}"
        return row
    ref = _checked_reference(row, case, first)
    try:
        times = _time([case.ours] + ([ref] if ref else []), device, timer, case.kernel)
    except Exception as exc:
        row.status, row.note = "failed", f"while timing: {type(exc).__name__}: {exc}"
        return row
    _fill_times(row, case, times)
    row.peak_fraction = _peak_fraction(row, peaks)
    return row


def _checked_reference(row: Result, case: Case, first) -> Callable | None:
    """The reference callable after one call whose result is compared with ours (None: no reference)."""
    if case.ref is None:
        row.note = row.note or "no NumPy reference for this op (torch not installed)"
        return None
    try:
        expected = case.ref()
    except Exception as exc:
        row.status, row.note = "failed", f"reference failed: {type(exc).__name__}: {exc}"
        return None
    if not agrees(first, expected, _tolerance(case, row.dtype)):
        row.status = "mismatch"
        row.note = "; ".join(filter(None, ["MISMATCH: result differs from the reference", row.note]))
    return case.ref


def _fill_times(row: Result, case: Case, times: list) -> None:
    row.ours_ms = times[0] * 1e3
    if case.work:
        row.rate = case.work / times[0] / 1e9
    if len(times) > 1:
        row.ref_ms, row.ratio = times[1] * 1e3, times[0] / times[1]
        if case.work:
            row.ref_rate = case.work / times[1] / 1e9


def _time(fns: list, device: str, timer, kernel: bool) -> list:
    if device == "cuda" and timer is not None:
        return timer.interleaved_medians(fns, flush_l2=kernel)
    return interleaved_medians(fns, lambda: None)


def _peak_fraction(row: Result, peaks: dict | None) -> float | None:
    if not peaks or row.rate is None:
        return None
    if row.unit == "GB/s":
        peak = peaks["GB/s"]
    elif row.suite == "matmul" and row.dtype == "float32":
        peak = peaks["fp32 matmul"] * 1e3
    else:
        peak = peaks[{"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}.get(row.dtype, "fp32")] * 1e3
    return row.rate / peak


def gpu_peaks(name: str) -> dict | None:
    """The peak table entry whose key is in the device ``name``, or None."""
    for key, peaks in GPU_PEAKS:
        if key.lower() in name.lower():
            return dict(peaks, model=key)
    return None


def _itemsize(dtype: str) -> int:
    return {"float32": 4, "bfloat16": 2, "float16": 2}[dtype]


def _count(n: int) -> str:
    return f"{n >> 20}Mi" if n >= 1 << 20 and n % (1 << 20) == 0 else str(n)


def run(suites=SUITES, quick: bool = False, devices=("cpu", "cuda"), ops=None,
        progress: Callable | None = None, checkpoint: Callable | None = None) -> tuple:
    """Run the suites; returns ``(results, notes)``.

    ``progress(done, total, label)`` is called before each row and once at the end;
    ``checkpoint(results, notes)`` after each row (e.g. to keep a JSON file current).
    """
    from .backends.triton import runtime
    plan, notes = [], []
    for device in devices:
        if device == "cuda" and runtime.mode() != "gpu":
            notes.append(_cuda_skip_note(runtime.mode()))
            continue
        plan += [(device, spec) for spec in specs(suites, device, quick, ops)]
    results = []
    timers, torches, peaks = {}, {}, {}
    try:
        for index, (device, spec) in enumerate(plan):
            if device not in torches:
                torches[device], notes_for = _setup_device(device, timers, peaks)
                notes += notes_for
            if progress is not None:
                progress(index, len(plan), f"{device} {spec.suite}: {spec.op} {spec.size}")
            results.append(run_spec(spec, device, torches[device], timers.get(device), peaks.get(device)))
            if checkpoint is not None:
                checkpoint(results, notes)
    finally:
        for timer in timers.values():
            timer.close()
    if progress is not None:
        progress(len(plan), len(plan), "done")
    return results, notes


def _setup_device(device: str, timers: dict, peaks: dict) -> tuple:
    """torch for ``device`` (or None), and notes; on a GPU also the event timer and peak table."""
    torch = _torch_for(device)
    notes = []
    if torch is None:
        notes.append(f"{device}: PyTorch is not installed{' with CUDA' if device == 'cuda' else ''}; "
                     "the reference is NumPy on the host")
    elif device == "cpu":
        notes += _busy_note()
        notes.append(f"cpu: torch threads {torch.get_num_threads()}, OMP_NUM_THREADS="
                     f"{os.environ.get('OMP_NUM_THREADS', '(unset)')}, {os.cpu_count()} CPUs")
    if device == "cuda":
        import framework
        name = framework.cuda.get_device_name()
        timers[device] = EventTimer()
        peaks[device] = gpu_peaks(name)
        notes.append(_match_matmul_precision(torch, peaks[device]))
        if peaks[device] is None:
            notes.append(f"cuda: no peak table for {name}; fraction of peak not reported")
        else:
            notes.append(f"cuda: peaks of {peaks[device]['model']} (dense, data sheet): "
                         f"fp32 {peaks[device]['fp32']} TFLOP/s, bf16 {peaks[device]['bf16']} TFLOP/s, "
                         f"memory {peaks[device]['GB/s']:.0f} GB/s")
    return torch, notes


def _busy_note() -> list:
    """A warning when other processes keep the CPUs busy (times are then noisy)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return []
    cpus = os.cpu_count() or 1
    if load <= cpus:
        return []
    return [f"cpu: the machine is busy (load average {load:.1f} on {cpus} CPUs): times are noisy; "
            "OMP_NUM_THREADS=1 keeps PyTorch's threads from waiting on each other"]


def _match_matmul_precision(torch, peaks: dict | None) -> str:
    """Give torch framework's float32 matmul precision (TF32 or not); returns a note saying which."""
    import framework
    precision = framework.get_float32_matmul_precision()
    tf32 = precision != "highest"
    if torch is not None:
        torch.set_float32_matmul_precision(precision)
    if peaks is not None:
        peaks["fp32 matmul"] = peaks["tf32" if tf32 else "fp32"]
    return (f"cuda: float32 matmul precision {precision!r} ({'TF32' if tf32 else 'exact fp32'}) for ours"
            f"{' and torch' if torch is not None else ''}; float32 matmul % peak is of the "
            f"{'TF32' if tf32 else 'fp32'} peak")


def _cuda_skip_note(mode: str) -> str:
    if mode == "interpreter":
        return ("cuda skipped: the Triton interpreter is on (FRAMEWORK_TRITON_INTERPRET=1); "
                "its timings say nothing about a GPU")
    return "cuda skipped: no NVIDIA GPU or driver found"


# Summaries and output -------------------------------------------------------------------------

def geometric_mean(values) -> float | None:
    """Geometric mean of the positive ``values`` (None when there are none)."""
    logs = [math.log(v) for v in values if v is not None and v > 0]
    return math.exp(sum(logs) / len(logs)) if logs else None


def summary(results: list) -> dict:
    """Geometric-mean ratio per (device, suite) and per device over all timed rows, and row counts."""
    out = {}
    for device in sorted({r.device for r in results}):
        rows = [r for r in results if r.device == device]
        per_suite = {suite: geometric_mean(r.ratio for r in rows if r.suite == suite)
                     for suite in SUITES if any(r.suite == suite for r in rows)}
        out[device] = {"geomean_ratio": geometric_mean(r.ratio for r in rows),
                       "geomean_ratio_by_suite": per_suite,
                       "rows": {status: sum(r.status == status for r in rows)
                                for status in ("ok", "skipped", "failed", "mismatch")}}
    return out


def cpu_target_status(results: list) -> list:
    """``(description, target, measured ratio or None, met or None)`` for each CPU target."""
    rows = {(r.suite, r.op): r for r in results if r.device == "cpu"}
    status = []
    for suite, op, target, description in CPU_TARGETS:
        row = rows.get((suite, op))
        ratio = None if row is None or row.status != "ok" or "torch" not in row.reference else row.ratio
        status.append({"op": op, "description": description, "target": target, "ratio": ratio,
                       "met": None if ratio is None else ratio <= target})
    return status


def environment() -> dict:
    """Versions, machine and runtime, recorded with every result file."""
    import framework
    from importlib import metadata
    from .backends.triton import runtime
    env = {"framework": framework.__version__, "python": platform.python_version(),
           "numpy": np.__version__, "machine": platform.machine(), "processor": platform.processor(),
           "cpu_count": os.cpu_count(), "cuda_runtime": runtime.mode(),
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    for dist in ("triton", "torch"):
        try:
            env[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            env[dist] = None
    env["gpu"] = framework.cuda.get_device_name() if runtime.mode() == "gpu" else None
    return env


TIMING_TEXT = ("median of repeats after warm-up; cpu: wall clock; cuda: CUDA events on the default "
               "stream, L2 flushed before each kernel repeat; ratio = ours / reference")


def write_json(path: str, results: list, notes: list) -> None:
    """Write the rows, the summary, the CPU target status, notes and environment as JSON."""
    payload = {"environment": environment(), "timing": TIMING_TEXT, "notes": notes,
               "summary": summary(results), "cpu_targets": cpu_target_status(results),
               "results": [asdict(r) for r in results]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2, ensure_ascii=False)
        f.write("\n")


def render(results: list, notes: list, console) -> None:
    """Print one rich table per device and suite (notes under it), the summary and the notes."""
    if not results:
        console.print("framework bench: nothing was timed")
    for device in sorted({r.device for r in results}):
        for suite in SUITES:
            rows = [r for r in results if r.device == device and r.suite == suite]
            if rows:
                console.print(_suite_table(rows, f"{suite} on {device} vs {rows[0].reference or 'no reference'}"))
                for r in rows:
                    if r.note:
                        console.print(f"  {r.op} {r.size}: {r.note}", style=_row_style(r), highlight=False)
                console.print()
    _render_summary(results, console)
    for note in notes:
        console.print(f"note: {note}", highlight=False)


def _suite_table(rows: list, title: str):
    from rich import box
    from rich.table import Table
    with_dtype = len({r.dtype for r in rows}) > 1
    with_peak = any(r.peak_fraction is not None for r in rows)
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    columns = ["op", "size"] + (["dtype"] if with_dtype else []) + ["ours", "ref", "ratio", "ours rate"]
    columns += ["% peak"] if with_peak else []
    for name in columns:
        table.add_column(name, justify="left" if name in ("op", "size", "dtype") else "right",
                         overflow="fold")
    for r in rows:
        cells = [r.op, r.size] + ([r.dtype] if with_dtype else [])
        ratio = _ratio_text(r.ratio) if r.status in ("ok", "mismatch") else r.status
        cells += [format_time(r.ours_ms), format_time(r.ref_ms), ratio, _rate(r.rate, r.unit)]
        cells += [_fmt(None if r.peak_fraction is None else 100 * r.peak_fraction, 1)] if with_peak else []
        table.add_row(*cells, style=_row_style(r))
    return table


def _render_summary(results: list, console) -> None:
    for device, info in summary(results).items():
        parts = [f"{suite} {_ratio_text(mean)}" for suite, mean in info["geomean_ratio_by_suite"].items()]
        counts = ", ".join(f"{n} {status}" for status, n in info["rows"].items() if n)
        console.print(f"[bold]{device}: geometric-mean ratio (ours / reference) "
                      f"{_ratio_text(info['geomean_ratio'])}[/bold]  ({'; '.join(parts)})  rows: {counts}")
    if any(r.device == "cpu" for r in results):
        console.print("CPU targets (ratio to PyTorch CPU in this run, medians):")
        for t in cpu_target_status(results):
            verdict = "not measured" if t["met"] is None else "met" if t["met"] else "MISSED"
            style = "" if t["met"] is None else "green" if t["met"] else "red"
            console.print(f"  {t['description']}: ≤ {t['target']}×, measured {_ratio_text(t['ratio'])} "
                          f"→ {verdict}", style=style or None)


def _row_style(r: Result) -> str | None:
    return {"mismatch": "red", "failed": "red", "skipped": "dim"}.get(r.status)


def format_time(ms: float | None) -> str:
    """``ms`` with a readable unit (µs, ms or s)."""
    if ms is None:
        return "—"
    if ms < 1:
        return f"{ms * 1e3:.1f} µs"
    if ms < 1000:
        return f"{ms:.2f} ms"
    return f"{ms / 1e3:.2f} s"


def _ratio_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _fmt(value, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _rate(value, unit: str) -> str:
    return "—" if value is None else f"{value:.1f} {unit}"
