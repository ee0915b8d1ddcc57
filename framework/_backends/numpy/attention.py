"""CPU kernels: scaled dot-product attention, forward and backward.

Vectorized over every batch dim with ``np.matmul``: the score matrix is formed in
full (fine on the CPU). The forward stores it keys-major, as ``(S, ..., L)``: key
``j``'s scores of every (batch, query) pair are one contiguous slab, so the softmax's
max and sum over the keys are elementwise passes over ``S`` slabs and its row
statistics broadcast along contiguous rows (NumPy reduces a short last axis row by
row, several times slower); ``np.matmul`` writes and reads that layout as strided
BLAS matrices. The backward has no row reduction to take and keeps the (..., L, S)
layout, which its four products read fastest. Half types compute in float32, float64
in float64. The backward recomputes the attention weights from the saved row
logsumexp, as the Triton kernels do, and regenerates the dropout mask from (seed,
offset) with NumPy's Philox generator (the CPU stream: it does not match the ``cuda``
one, but it is reproducible for a seed).

Both run on one thread: their products are a BLAS call per (batch, head) matrix,
and OpenBLAS serializes concurrent small calls (two threads each running half the
batch took 2.5x the time of one running all of it, on the 2-core CI VM).
"""
from __future__ import annotations

import math

import numpy as np

from ..array import Array
from ._arrays import compute_dtype, nd, wrap
from .random import _generator

# above this many keys, a causal mask is applied by one masked copy instead of a fill per key
_CAUSAL_FILLS = 64


def _work(a: Array, dtype) -> np.ndarray:
    """``a`` as a NumPy array of the compute type ``dtype`` (a view when it already is)."""
    x = nd(a)
    return x if x.dtype == dtype else x.astype(dtype)


def _keys_major(x: np.ndarray) -> np.ndarray:
    """The (S, ..., L) view of an (..., L, S) array."""
    return np.moveaxis(x, -1, 0)


def _keys_major_scores(q, k, mask, is_causal: bool, scale: float, work) -> np.ndarray:
    """``q k^T * scale`` with the mask applied (-inf where a key takes no part), stored
    keys-major: a fresh (S, ..., L) array of the compute type, written in place."""
    length, source = q.shape[-2], k.shape[-2]
    scores = np.empty((source,) + q.shape[:-2] + (length,), dtype=work)
    np.matmul(k, np.swapaxes(q, -1, -2), out=np.moveaxis(scores, 0, -2))  # k q^T per matrix
    scores *= work.type(scale)
    if is_causal:  # query i sees keys j <= i: key j's slab is blocked for rows i < j
        if source <= _CAUSAL_FILLS:
            for j in range(1, source):
                scores[j, ..., :min(j, length)] = -np.inf
        else:
            blocked = np.arange(source)[:, None] > np.arange(length)[None, :]
            np.copyto(scores, -np.inf, where=blocked.reshape((source,) + (1,) * (q.ndim - 2)
                                                             + (length,)))
    if mask is not None:
        _apply_mask(scores, _keys_major(mask), work)
    return scores


def _dropout(shape: tuple, dropout_p: float, seed: int, offset: int, work):
    """The kept-and-scaled multiplier of each attention weight (None without dropout)."""
    if dropout_p <= 0.0:
        return None
    keep = _generator(seed, offset).random(shape, dtype=np.float64) >= dropout_p
    scale = 0.0 if dropout_p >= 1.0 else 1.0 / (1.0 - dropout_p)
    return np.where(keep, work.type(scale), work.type(0.0))


def attention_forward(q, k, v, mask, is_causal, scale, dropout_p, seed, offset):
    """Softmax-weighted sum of ``v``; returns ``(out, lse)`` (see the contract).

    One exponential per score: the weights are ``exp(scores - max) / sum`` (0 on
    rows with no allowed key), the logsumexp ``log(sum) + max``. The scores are
    stored keys-major, so the max and the sum over the keys are elementwise passes
    over S slabs and the row statistics broadcast along contiguous rows."""
    work = compute_dtype(q.dtype)
    qw, kw, vw = _work(q, work), _work(k, work), _work(v, work)
    scores = _keys_major_scores(qw, kw, None if mask is None else nd(mask), is_causal, scale, work)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        row_max = np.max(scores, axis=0, initial=-np.inf)
        shift = np.where(np.isfinite(row_max), row_max, work.type(0.0))
        scores -= shift
        weights = np.exp(scores, out=scores)
        row_sum = np.add.reduce(weights, axis=0)
        lse = np.log(row_sum)
        lse += shift
        weights *= np.where(row_sum > 0, 1.0 / row_sum, work.type(0.0))
    weights = np.moveaxis(weights, 0, -1)  # the (..., L, S) view
    drop = _dropout(weights.shape, dropout_p, seed, offset, work)
    if drop is not None:
        weights *= drop
    out = np.matmul(weights, vw)
    return wrap(out.astype(q.dtype.numpy, copy=False), q.dtype), wrap(lse, None)


def _row_scores(q, k, mask, is_causal: bool, scale: float, work) -> np.ndarray:
    """``q k^T * scale`` with the mask applied, in the (..., L, S) layout (a fresh array of
    the compute type, written in place; a broadcast (L, S) mask adds along whole matrices)."""
    scores = np.matmul(q, np.swapaxes(k, -1, -2))
    if scores.dtype != work:
        scores = scores.astype(work)
    scores *= work.type(scale)
    length, source = scores.shape[-2:]
    if is_causal:
        blocked = np.triu(np.ones((length, source), dtype=np.bool_), 1)
        np.copyto(scores, -np.inf, where=blocked)
    if mask is not None:
        _apply_mask(scores, nd(mask), work)
    return scores


def _apply_mask(scores: np.ndarray, m: np.ndarray, work) -> None:
    """A boolean mask (False: blocked, -inf) or an additive float mask, into ``scores``."""
    if m.dtype == np.bool_:
        np.copyto(scores, -np.inf, where=~m)
    else:
        scores += m.astype(work, copy=False)


def _row_weights(scores: np.ndarray, lse: np.ndarray) -> np.ndarray:
    """Softmax weights ``exp(scores - lse)`` of (..., L, S) ``scores`` (in their memory); 0
    on rows with no allowed key (lse = -inf)."""
    finite = np.isfinite(lse)
    every = bool(finite.all())
    shift = lse if every else np.where(finite, lse, 0.0).astype(lse.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        scores -= shift[..., None]
        np.exp(scores, out=scores)
    if not every:
        scores *= finite[..., None]
    return scores


def _row_sums(x: np.ndarray) -> np.ndarray:
    """Sums of the contiguous ``x`` along its last axis, kept: one matrix-vector product over
    all its rows (NumPy's reduction over a short last axis costs several times more, and a
    batched product a BLAS call per matrix)."""
    rows, width = math.prod(x.shape[:-1]), x.shape[-1]
    sums = np.matmul(x.reshape(rows, width), np.ones((width, 1), dtype=x.dtype))
    return sums.reshape(x.shape[:-1] + (1,))


def attention_backward(grad_out, q, k, v, mask, out, lse, is_causal, scale, dropout_p, seed,
                       offset, mask_grad):
    """Gradients of q, k, v (and of a float mask when ``mask_grad``) from the saved logsumexp.

    Its matrices stay in the (..., L, S) layout: every product but the scores' reads
    them as they are, and keys-major outputs would cost the GEMMs more than the
    row-broadcast passes they save here (there is no row max to take)."""
    work = compute_dtype(q.dtype)
    qw, kw, vw = _work(q, work), _work(k, work), _work(v, work)
    g = _work(grad_out, work)  # ``out`` is not needed: delta is summed from the weights
    weights = _row_weights(_row_scores(qw, kw, mask, is_causal, scale, work), nd(lse))
    drop = _dropout(weights.shape, dropout_p, seed, offset, work)
    kept = weights if drop is None else weights * drop
    grad_v = np.matmul(np.swapaxes(kept, -1, -2), g)
    grad_scores = np.matmul(g, np.swapaxes(vw, -1, -2))  # the weights' gradient, then in place
    if drop is not None:
        grad_scores *= drop
    # delta = sum_j P_ij dP_ij (dropout included), from the products the gradient needs anyway
    # (the flash form sum(grad_out * out) is the same sum, over the value dim)
    grad_scores -= _row_sums(weights * grad_scores)
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
