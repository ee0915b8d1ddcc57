"""CPU kernels: scaled dot-product attention, forward and backward.

Vectorized over every batch dim with ``np.matmul``: the score matrix is formed in
full (fine on the CPU), stored keys-major, as ``(S, ..., L)``: key ``j``'s scores of
every (batch, query) pair are one contiguous slab, so the softmax's max and sum over
the keys are elementwise passes over ``S`` slabs and every per-query statistic (max,
logsumexp, the backward's delta) broadcasts along contiguous rows. NumPy reduces or
broadcasts along a short last axis row by row, several times slower, so both the
forward and the backward keep this layout; ``np.matmul`` writes and reads it as
strided BLAS matrices. Every product multiplies contiguous (or transposed-contiguous
left) operands: a transposed right operand (``q k^T`` as ``k`` times the view
``q^T``) sends OpenBLAS to a kernel about twice as slow for these small matrices, so
``q^T`` and ``grad_out^T`` are copied first (a pass over a (..., L, E) operand, a
fraction of the product). Half types compute in float32, float64 in float64. The
backward reads the attention weights its forward kept (``_FORWARD_WEIGHTS``: up to
``_KEEP_WEIGHTS`` of them, without dropout) or recomputes them from the saved row
logsumexp, as the Triton kernels do, and regenerates the dropout mask from (seed,
offset) with NumPy's Philox generator (the CPU stream: it does not match the ``cuda``
one, but it is reproducible for a seed).

Both run on one thread: their products are a BLAS call per (batch, head) matrix,
and OpenBLAS serializes concurrent small calls (two threads each running half the
batch took 2.5x the time of one running all of it, on the 2-core CI VM).
"""
from __future__ import annotations

import weakref

import numpy as np

from ..array import Array
from ._arrays import compute_dtype, nd, wrap
from .random import _generator

# The attention weights of recent forwards, for their backward: keyed weakly by the
# ``Storage`` of the logsumexp each forward returned, so an entry lives exactly as long as
# that lse (autograd saves it for the backward; without autograd it is dropped at once). A
# backward given that lse, with its values unchanged, reads the weights instead of
# recomputing them (the scores' product and four passes over them: ~40% of its time on the
# bench's (8, 4, 64, 32) heads); any other lse recomputes them, as the Triton kernels do.
_FORWARD_WEIGHTS = weakref.WeakKeyDictionary()
# a forward keeps weights of at most this many elements (16 MB in float32): above, the
# backward recomputes them rather than hold the whole score matrix from forward to backward
_KEEP_WEIGHTS = 1 << 22


def _work(a: Array, dtype) -> np.ndarray:
    """``a`` as a NumPy array of the compute type ``dtype`` (a view when it already is)."""
    x = nd(a)
    return x if x.dtype == dtype else x.astype(dtype)


def _keys_major(x: np.ndarray) -> np.ndarray:
    """The (S, ..., L) view of an (..., L, S) array."""
    return np.moveaxis(x, -1, 0)


def _pairs(scores: np.ndarray) -> np.ndarray:
    """The (..., S, L) view of keys-major (S, ..., L) ``scores``: one strided (S, L) BLAS
    matrix per batch index (its transpose is the (L, S) matrix of the queries' rows)."""
    return np.moveaxis(scores, 0, -2)


def _transposed(x: np.ndarray, scale=None) -> np.ndarray:
    """A contiguous copy of ``x``'s (..., E, L) transpose (times ``scale`` when given, in
    the same pass): the right operand of a product."""
    if scale is None:
        return np.ascontiguousarray(np.swapaxes(x, -1, -2))
    out = np.empty(x.shape[:-2] + (x.shape[-1], x.shape[-2]), dtype=x.dtype)
    np.multiply(np.swapaxes(x, -1, -2), scale, out=out)
    return out


def _keys_major_scores(q, k, mask, is_causal: bool, scale: float, work) -> np.ndarray:
    """``k (q * scale)^T`` (the scale folded into the copy of ``q^T`` the product needs) with
    the mask applied (-inf where a key takes no part), stored keys-major: a fresh
    (S, ..., L) array of the compute type, written in place."""
    length, source = q.shape[-2], k.shape[-2]
    scores = np.empty((source,) + q.shape[:-2] + (length,), dtype=work)
    np.matmul(k, _transposed(q, work.type(scale)), out=_pairs(scores))  # k q^T per matrix
    if is_causal:
        _causal_fill(scores)
    if mask is not None:
        _apply_mask(scores, _keys_major(mask), work)
    return scores


def _causal_fill(scores: np.ndarray) -> None:
    """-inf into keys-major (S, ..., L) ``scores`` where key j > query i (causal, top-left
    aligned): key j's slab is blocked for queries i < j, one slice fill per key."""
    source, length = scores.shape[0], scores.shape[-1]
    for j in range(1, source):
        scores[j, ..., :min(j, length)] = -np.inf


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
    keys_major = weights
    weights = np.moveaxis(weights, 0, -1)  # the (..., L, S) view
    drop = _dropout(weights.shape, dropout_p, seed, offset, work)
    if drop is not None:
        weights *= drop
    out = np.matmul(weights, vw)
    lse_array = wrap(lse, None)
    if drop is None and keys_major.size <= _KEEP_WEIGHTS:
        _FORWARD_WEIGHTS[lse_array.storage] = (keys_major, lse.copy())
    return wrap(out.astype(q.dtype.numpy, copy=False), q.dtype), lse_array


def _kept_weights(lse: Array, shape: tuple, work):
    """The keys-major weights the forward that returned ``lse`` kept (None when it kept
    none, or ``lse`` is not that whole array with its values unchanged)."""
    entry = _FORWARD_WEIGHTS.get(lse.storage)
    if entry is None:
        return None
    weights, values = entry
    if weights.shape != shape or weights.dtype != work or lse.offset != 0:
        return None
    return weights if np.array_equal(nd(lse), values) else None


def _apply_mask(scores: np.ndarray, m: np.ndarray, work) -> None:
    """A boolean mask (False: blocked, -inf) or an additive float mask, into ``scores``."""
    if m.dtype == np.bool_:
        np.copyto(scores, -np.inf, where=~m)
    else:
        scores += m.astype(work, copy=False)


def _keys_major_weights(scores: np.ndarray, lse: np.ndarray) -> np.ndarray:
    """Softmax weights ``exp(scores - lse)`` of keys-major (S, ..., L) ``scores`` (in their
    memory; ``lse`` (..., L) broadcasts along contiguous rows); 0 on rows with no allowed
    key (lse = -inf)."""
    finite = np.isfinite(lse)
    every = bool(finite.all())
    shift = lse if every else np.where(finite, lse, 0.0).astype(lse.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        scores -= shift
        np.exp(scores, out=scores)
    if not every:
        scores *= finite
    return scores


def _delta(g, out, weights, grad_weights, work) -> np.ndarray:
    """``delta = sum_j P_ij dP_ij`` per query (dropout included in ``dP``), (..., L).

    The flash form ``sum_e grad_out_ie out_ie`` is the same sum (``out`` is the kept
    weights times ``v``), over the value dim: one pass over (..., L, Ev) without a
    temporary. A half-type ``out`` was rounded, so half types sum the float32 products
    of the keys-major weights and their gradient instead."""
    o = nd(out)
    if o.dtype == work:
        return np.vecdot(g, o)
    return np.add.reduce(weights * grad_weights, axis=0)


def attention_backward(grad_out, q, k, v, mask, out, lse, is_causal, scale, dropout_p, seed,
                       offset, mask_grad):
    """Gradients of q, k, v (and of a float mask when ``mask_grad``) from the saved logsumexp.

    The weights ``P``, their gradient ``dP`` and the scores' gradient
    ``dS = P * (dP - delta)`` are keys-major, as the forward's scores: ``delta``
    (``sum_j P_ij dP_ij`` per query) is a sum over S slabs and broadcasts along
    contiguous rows. Per matrix the products read them as (S, L) (``P^T``, ``dS^T``)
    or as their transposes. ``P`` is the forward's when it kept it (``_FORWARD_WEIGHTS``),
    else recomputed from the logsumexp."""
    work = compute_dtype(q.dtype)
    qw, kw, vw = _work(q, work), _work(k, work), _work(v, work)
    g = _work(grad_out, work)
    weights = _kept_weights(lse, (k.shape[-2],) + q.shape[:-1], work)  # P, keys-major
    if weights is None:
        scores = _keys_major_scores(qw, kw, None if mask is None else nd(mask), is_causal,
                                    scale, work)
        weights = _keys_major_weights(scores, nd(lse))
    drop = _dropout(q.shape[:-1] + (k.shape[-2],), dropout_p, seed, offset, work)
    drop_t = None if drop is None else np.swapaxes(drop, -1, -2)  # (..., S, L), as _pairs
    kept_t = _pairs(weights) if drop is None else _pairs(weights) * drop_t
    grad_v = np.matmul(kept_t, g)
    grad_weights = np.empty_like(weights)  # dP, keys-major; then dS in place
    np.matmul(vw, _transposed(g), out=_pairs(grad_weights))  # v grad_out^T per matrix
    if drop is not None:
        _pairs(grad_weights)[...] *= drop_t
    delta = _delta(g, out, weights, grad_weights, work)
    grad_weights -= delta
    grad_weights *= weights
    grad_scores_t = _pairs(grad_weights)  # dS^T per matrix
    grad_q = np.matmul(np.swapaxes(grad_scores_t, -1, -2), kw)
    grad_q *= work.type(scale)
    grad_k = np.matmul(grad_scores_t, qw)
    grad_k *= work.type(scale)
    dtype = q.dtype
    results = [wrap(x.astype(dtype.numpy, copy=False), dtype) for x in (grad_q, grad_k, grad_v)]
    grad_mask = None
    if mask_grad:  # dS in the (..., L, S) layout of the mask
        rows = np.moveaxis(grad_weights, 0, -1)
        grad_mask = wrap(np.array(rows, dtype=mask.dtype.numpy, order="C"), mask.dtype)
    return (*results, grad_mask)


KERNELS = {"attention_forward": attention_forward, "attention_backward": attention_backward}
