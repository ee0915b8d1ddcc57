"""The ``ops``, ``matmul`` and ``conv`` suites: op micro-benchmarks and shape sweeps."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .core import Case, Context, Spec, count_label, functional, itemsize, top_level


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
            ref_fn = _library_function(ctx, name)
            ref = lambda: ref_fn(*ref_in)  # noqa: E731
        return Case(lambda: fn(*ours_in), ref, (arity + 1) * n * itemsize(ctx.dtype), "GB/s")
    return build


def _library_function(ctx: Context, name: str) -> Callable:
    """``torch.<name>``, or NumPy's function of that name (``mul``: ``np.multiply``)."""
    if ctx.torch is not None:
        return getattr(ctx.torch, name)
    return getattr(np, {"mul": "multiply"}.get(name, name))


def _dispatch(name: str, requires_grad: bool) -> Callable:
    """A tiny op, so the time is the per-call overhead (validation, dispatch, allocation)."""
    def build(ctx: Context) -> Case:
        fn = top_level(name)
        xs = [ctx.randn(8) for _ in range(2)]
        a, b = (ctx.ours(x, requires_grad) for x in xs)
        ra, rb = (ctx.ref(x, requires_grad) for x in xs)
        ref_fn = _library_function(ctx, name)
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
        return Case(ours, ref, rows * cols * itemsize(ctx.dtype), "GB/s",
                    tolerance=1e-4 * math.sqrt(cols if dim_last else rows * cols))
    return build


def _softmax(rows: int, cols: int) -> Callable:
    def build(ctx: Context) -> Case:
        fn = functional("softmax")
        x = ctx.randn(rows, cols)
        ours_x, ref_x = ctx.ours(x), ctx.ref(x)
        ref = ctx.pick(lambda: ctx.torch.softmax(ref_x, dim=-1), lambda: _np_softmax(ref_x))
        return Case(lambda: fn(ours_x, dim=-1), ref, 2 * rows * cols * itemsize(ctx.dtype), "GB/s")
    return build


def _layer_norm(rows: int, cols: int) -> Callable:
    def build(ctx: Context) -> Case:
        fn = functional("layer_norm")
        x, w, b = ctx.randn(rows, cols), ctx.randn(cols), ctx.randn(cols)
        ox, ow, ob = ctx.ours(x), ctx.ours(w), ctx.ours(b)
        rx, rw, rb = ctx.ref(x), ctx.ref(w), ctx.ref(b)
        ref = ctx.pick(lambda: ctx.torch.nn.functional.layer_norm(rx, (cols,), rw, rb),
                       lambda: _np_layer_norm(rx, rw, rb))
        return Case(lambda: fn(ox, (cols,), ow, ob), ref, 2 * rows * cols * itemsize(ctx.dtype), "GB/s",
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
        return Case(lambda: fn(ol, ot), ref, rows * classes * itemsize(ctx.dtype), "GB/s",
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


# Sizes per device as (the --quick sizes, the sizes only the full run adds).
ELEMENTS = {"cpu": ([1 << 20], [1 << 22]), "cuda": ([1 << 24], [1 << 26])}
ROWS = {"cpu": ([(1024, 1024)], [(4096, 1024)]), "cuda": ([(8192, 4096)], [])}
CLASSES = {"cpu": ([(1024, 1000)], [(4096, 1000)]), "cuda": ([(8192, 8192)], [])}
ATTENTION = {"cpu": ([(2, 4, 256, 64)], [(4, 8, 512, 64)]),
             "cuda": ([(8, 16, 1024, 64)], [(4, 16, 4096, 64)])}
MATMULS = {  # (m, k, n, batch); batch 0: a plain matmul
    "cpu": ([(256, 256, 256, 0), (1024, 1024, 1024, 0), (128, 784, 512, 0)],
            [(64, 64, 64, 0), (2048, 2048, 2048, 0), (4096, 512, 512, 0), (128, 128, 64, 32)]),
    "cuda": ([(4096, 4096, 4096, 0)],
             [(8192, 8192, 8192, 0), (1024, 1024, 1024, 0), (8192, 1024, 8192, 0), (32, 1024, 64, 512)])}
CONVS = {  # (batch, in channels, height = width, out channels, kernel size, padding)
    "cpu": ([(64, 1, 28, 6, 5, 2), (32, 16, 32, 32, 3, 1)],
            [(64, 6, 14, 16, 5, 0), (16, 64, 16, 64, 3, 1), (8, 3, 64, 32, 7, 3)]),
    "cuda": ([(64, 64, 56, 64, 3, 1)], [(64, 128, 28, 128, 3, 1), (64, 256, 14, 256, 3, 1),
                                        (64, 3, 224, 64, 7, 3)])}
# Dtypes of the shape sweeps (the CPU backend's matmul and conv are float32 BLAS).
SWEEP_DTYPES = {"cpu": ("float32",), "cuda": ("float32", "bfloat16")}


def _sizes(table: dict, device: str, quick: bool) -> list:
    quick_sizes, more = table[device]
    return list(quick_sizes) if quick else list(quick_sizes) + list(more)


def ops_specs(device: str, quick: bool) -> list:
    """The ``ops`` suite: dispatch overhead, then the memory-bound ops and attention."""
    specs = [Spec("ops", "dispatch add", "8", "float32", _dispatch("add", False)),
             Spec("ops", "dispatch add (grad)", "8", "float32", _dispatch("add", True)),
             Spec("ops", "dispatch mul", "8", "float32", _dispatch("mul", False))]
    elementwise = ("add", "exp", "relu") if quick else ("add", "mul", "exp", "relu", "gelu")
    for n in _sizes(ELEMENTS, device, quick):
        specs += [Spec("ops", name, count_label(n), "float32", _elementwise(name, n)) for name in elementwise]
        specs.append(Spec("ops", "sum", count_label(n), "float32", _reduction("sum", 1, n, False)))
    for rows, cols in _sizes(ROWS, device, quick):
        size = f"{rows}×{cols}"
        specs += [Spec("ops", "sum(dim=-1)", size, "float32", _reduction("sum", rows, cols, True)),
                  Spec("ops", "amax(dim=-1)", size, "float32", _reduction("amax", rows, cols, True)),
                  Spec("ops", "softmax", size, "float32", _softmax(rows, cols)),
                  Spec("ops", "layer_norm", size, "float32", _layer_norm(rows, cols))]
    for rows, classes in _sizes(CLASSES, device, quick):
        specs.append(Spec("ops", "cross_entropy", f"{rows}×{classes}", "float32", _cross_entropy(rows, classes)))
    for b, h, length, d in _sizes(ATTENTION, device, quick):
        size = f"{b}×{h}×{length}×{d}"
        specs.append(Spec("ops", "attention", size, "float32", _attention(b, h, length, d)))
        if device == "cuda":
            specs.append(Spec("ops", "attention causal", size, "bfloat16",
                              _attention(b, h, length, d, causal=True)))
    return specs


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


def matmul_specs(device: str, quick: bool) -> list:
    """The ``matmul`` suite: a shape sweep in each sweep dtype."""
    return [Spec("matmul", "bmm" if batch else "matmul", f"{batch}×{m}×{k}×{n}" if batch else f"{m}×{k}×{n}",
                 dtype, _matmul(m, k, n, batch))
            for dtype in SWEEP_DTYPES[device] for m, k, n, batch in _sizes(MATMULS, device, quick)]


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


def conv_specs(device: str, quick: bool) -> list:
    """The ``conv`` suite: conv2d shapes (LeNet's, ResNet-like) in each sweep dtype."""
    return [Spec("conv", f"conv2d {r}×{r} pad {p}", f"{n}×{c}×{hw}×{hw}→{k}", dtype,
                 _conv(n, c, hw, k, r, p))
            for dtype in SWEEP_DTYPES[device] for n, c, hw, k, r, p in _sizes(CONVS, device, quick)]
