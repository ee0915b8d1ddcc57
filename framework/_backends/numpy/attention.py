"""CPU kernels: scaled dot-product attention, forward and backward.

Vectorized over every batch dim with ``np.matmul``: the (..., L, S) score
matrix is formed in full (fine on the CPU). Half types compute in float32,
float64 in float64. The backward recomputes the attention weights from the
saved row logsumexp, as the Triton kernels do, and regenerates the dropout
mask from (seed, offset) with NumPy's Philox generator (the CPU stream: it
does not match the ``cuda`` one, but it is reproducible for a seed).
"""
from __future__ import annotations

import numpy as np

from ..array import Array
from ._arrays import compute_dtype, nd, wrap
from .random import _generator


def _work(a: Array, dtype) -> np.ndarray:
    """``a`` as a NumPy array of the compute type ``dtype`` (a view when it already is)."""
    x = nd(a)
    return x if x.dtype == dtype else x.astype(dtype)


def _masked_scores(q, k, mask, is_causal: bool, scale: float, work,
                   keys_outer: bool = False) -> np.ndarray:
    """``q k^T * scale`` with the mask applied: -inf where a key takes no part (a fresh array
    of the compute type, written in place). ``keys_outer``: stored as ``k q^T`` (queries
    contiguous) and returned as its transposed view, so that reductions over the keys run
    across contiguous rows (NumPy reduces a short contiguous last axis row by row, several
    times slower)."""
    if keys_outer:
        scores = np.swapaxes(np.matmul(k, np.swapaxes(q, -1, -2)), -1, -2)
    else:
        scores = np.matmul(q, np.swapaxes(k, -1, -2))
    if scores.dtype != work:
        scores = scores.astype(work)
    scores *= work.type(scale)
    length, source = scores.shape[-2:]
    if is_causal:
        blocked = np.triu(np.ones((length, source), dtype=np.bool_), 1)
        np.copyto(scores, -np.inf, where=blocked)
    if mask is not None:
        m = nd(mask)
        if m.dtype == np.bool_:
            np.copyto(scores, -np.inf, where=~m)
        else:
            scores += m.astype(work, copy=False)
    return scores


def _row_sums(x: np.ndarray) -> np.ndarray:
    """Sums of ``x`` along the last axis, keeping it (as a matrix-vector product: NumPy's
    reduction over a short last axis costs several times more)."""
    return np.matmul(x, np.ones((x.shape[-1], 1), dtype=x.dtype))


def _dropout(shape: tuple, dropout_p: float, seed: int, offset: int, work):
    """The kept-and-scaled multiplier of each attention weight (None without dropout)."""
    if dropout_p <= 0.0:
        return None
    keep = _generator(seed, offset).random(shape, dtype=np.float64) >= dropout_p
    scale = 0.0 if dropout_p >= 1.0 else 1.0 / (1.0 - dropout_p)
    return np.where(keep, work.type(scale), work.type(0.0))


def _weights(scores: np.ndarray, lse: np.ndarray) -> np.ndarray:
    """Softmax weights ``exp(scores - lse)`` (in ``scores``' memory); 0 on rows with no
    allowed key (lse = -inf)."""
    finite = np.isfinite(lse)
    every = bool(finite.all())
    shift = lse if every else np.where(finite, lse, 0.0).astype(lse.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        scores -= shift[..., None]
        np.exp(scores, out=scores)
    if not every:
        scores *= finite[..., None]
    return scores


def attention_forward(q, k, v, mask, is_causal, scale, dropout_p, seed, offset):
    """Softmax-weighted sum of ``v``; returns ``(out, lse)`` (see the contract).

    One exponential per score: the weights are ``exp(scores - max) / sum`` (0 on
    rows with no allowed key), the logsumexp ``log(sum) + max``."""
    work = compute_dtype(q.dtype)
    qw, kw, vw = _work(q, work), _work(k, work), _work(v, work)
    scores = _masked_scores(qw, kw, mask, is_causal, scale, work, keys_outer=True)
    row_max = np.max(scores, axis=-1, keepdims=True, initial=-np.inf)
    shift = np.where(np.isfinite(row_max), row_max, work.type(0.0))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        scores -= shift
        weights = np.exp(scores, out=scores)
        row_sum = _row_sums(weights)
        lse = (np.log(row_sum) + shift)[..., 0].astype(work, copy=False)
        weights *= np.where(row_sum > 0, 1.0 / row_sum, work.type(0.0))
    drop = _dropout(weights.shape, dropout_p, seed, offset, work)
    if drop is not None:
        weights *= drop
    out = np.matmul(weights, vw)
    return wrap(out.astype(q.dtype.numpy, copy=False), q.dtype), wrap(lse, None)


def attention_backward(grad_out, q, k, v, mask, out, lse, is_causal, scale, dropout_p, seed,
                       offset, mask_grad):
    """Gradients of q, k, v (and of a float mask when ``mask_grad``) from the saved logsumexp."""
    work = compute_dtype(q.dtype)
    qw, kw, vw = _work(q, work), _work(k, work), _work(v, work)
    g, o = _work(grad_out, work), _work(out, work)
    weights = _weights(_masked_scores(qw, kw, mask, is_causal, scale, work), nd(lse))
    drop = _dropout(weights.shape, dropout_p, seed, offset, work)
    kept = weights if drop is None else weights * drop
    grad_v = np.matmul(np.swapaxes(kept, -1, -2), g)
    grad_scores = np.matmul(g, np.swapaxes(vw, -1, -2))  # the weights' gradient, then in place
    if drop is not None:
        grad_scores *= drop
    grad_scores -= _row_sums(g * o)  # delta = sum_j P_ij dP_ij, dropout included
    grad_scores *= weights
    grad_q = np.matmul(grad_scores, kw)
    grad_q *= work.type(scale)
    grad_k = np.matmul(np.swapaxes(grad_scores, -1, -2), qw)
    grad_k *= work.type(scale)
    dtype = q.dtype
    results = [wrap(x.astype(dtype.numpy, copy=False), dtype) for x in (grad_q, grad_k, grad_v)]
    grad_mask = wrap(grad_scores.astype(mask.dtype.numpy, copy=False), mask.dtype) \
        if mask_grad else None
    return (*results, grad_mask)


KERNELS = {"attention_forward": attention_forward, "attention_backward": attention_backward}
