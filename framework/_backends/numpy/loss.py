"""CPU losses: cross-entropy and negative log-likelihood over (M, C) rows, vectorized;
binary cross-entropy (of logits and of probabilities), elementwise.

Mirrors ``triton_kernels/loss.py``: cross-entropy is
``lse * sum_c a - sum_c a * x`` with per-class coefficients ``a`` (smoothed
target times class weight), its gradient ``g * (softmax * sum_c a - a)``.
Half types compute in float32 and give float32 per-row results. NaN/inf as
PyTorch's ``nll_loss(log_softmax(x))`` (see the kernel module's docstring).
"""
from __future__ import annotations

import numpy as np

from ... import dtypes
from ..array import Array
from ._arrays import compute_dtype, nd, quiet, wrap


def _row_dtype(dtype) -> "dtypes.dtype":
    return dtypes.float64 if dtype is dtypes.float64 else dtypes.float32


def _class_weight(weight, C: int, acc) -> np.ndarray:
    return np.ones(C, dtype=acc) if weight is None else nd(weight).astype(acc)


def _row_targets(target: Array, ignore_index: int):
    """(class index with ignored rows set to 0, valid-row mask) of class-index targets."""
    t = nd(target)
    valid = t != ignore_index
    return np.where(valid, t, 0), valid


def _coefficients(target: Array, w: np.ndarray, ignore_index: int, smoothing: float, M: int,
                  C: int, acc):
    """(a, reads, valid, row_weight): the (M, C) coefficients, where the loss reads the
    logit (``a`` before the class weight is nonzero; everywhere for probability targets,
    as PyTorch multiplies even a 0 probability), counted rows and target weights."""
    if target.ndim == 2:
        q = nd(target).astype(acc)
        a = (q * (1.0 - smoothing) + smoothing / C) * w
        return a, np.ones((M, C), dtype=bool), np.ones(M, dtype=acc), np.ones(M, dtype=acc)
    t, valid = _row_targets(target, ignore_index)
    a = np.full((M, C), smoothing / C, dtype=acc)
    a[np.arange(M), t] += 1.0 - smoothing
    a[~valid] = 0.0
    reads = a != 0
    a *= w
    return a, reads, valid, np.where(valid, w[t], 0.0).astype(acc)


def _plain_indices(target: Array, weight, smoothing: float) -> bool:
    """Class-index targets without class weights or smoothing: the coefficients are one-hot
    rows (1 at the target, 0 elsewhere and on ignored rows). Then the loss is
    ``lse - x[t]`` and its gradient ``g * (softmax - one_hot)``: the general formulas'
    values bit for bit (``lse * 1 - (0 + ... + x[t] + ... + 0)``, ``softmax * 1 - a``,
    ignored rows ``0 * softmax``) without the (M, C) coefficient arrays."""
    return target.ndim == 1 and weight is None and smoothing == 0.0


def _logsumexp(x: np.ndarray) -> np.ndarray:
    """``m + log(sum(exp(x - m)))`` with the row maximum ``m`` as it is, like PyTorch's
    log-softmax: NaN for rows with NaN, with a +inf maximum (inf - inf) or all -inf."""
    return quiet(_logsumexp_passes, x)


def _logsumexp_passes(x: np.ndarray) -> np.ndarray:
    """``_logsumexp``'s passes (warnings silenced by the caller): the ufuncs' reductions
    without ``np.max``/``np.sum``'s wrappers, the exponentials in the shifted copy's memory."""
    m = np.maximum.reduce(x, axis=1, initial=-np.inf)
    shifted = x - m[:, None]
    np.exp(shifted, out=shifted)
    total = np.add.reduce(shifted, axis=1)
    np.log(total, out=total)
    total += m
    return total


def cross_entropy_forward(logits: Array, target: Array, weight, ignore_index: int,
                          label_smoothing: float):
    """Per-row loss, logsumexp and target weight of (M, C) ``logits``."""
    acc = compute_dtype(logits.dtype)
    x = nd(logits).astype(acc, copy=False)  # only read
    M, C = x.shape
    row = _row_dtype(logits.dtype)
    if _plain_indices(target, weight, label_smoothing):
        t, valid = _row_targets(target, ignore_index)
        lse = _logsumexp(x)
        loss = np.where(valid, quiet(np.subtract, lse, x[np.arange(M), t]), 0.0)
        return wrap(loss, row), wrap(lse, row), wrap(valid.astype(acc), row)
    a, reads, valid, row_weight = _coefficients(target, _class_weight(weight, C, acc),
                                                ignore_index, label_smoothing, M, C, acc)
    lse = _logsumexp(x)
    with np.errstate(invalid="ignore"):
        ax = np.sum(np.where(reads, a * x, 0.0), axis=1)
        loss = np.where(valid, lse * a.sum(axis=1) - ax, 0.0)
    return wrap(loss, row), wrap(lse, row), wrap(row_weight, row)


def cross_entropy_backward(logits: Array, target: Array, weight, lse: Array, grad: Array,
                           ignore_index: int, label_smoothing: float) -> Array:
    """Gradient of the per-row losses w.r.t. ``logits`` for per-row output gradients ``grad``."""
    acc = compute_dtype(logits.dtype)
    x = nd(logits).astype(acc, copy=False)  # only read
    M, C = x.shape
    if _plain_indices(target, weight, label_smoothing):
        t, valid = _row_targets(target, ignore_index)
        g = np.where(valid, nd(grad).astype(acc, copy=False), 0.0)
        with np.errstate(invalid="ignore"):
            result = np.exp(x - nd(lse).astype(acc, copy=False)[:, None])
            rows = np.flatnonzero(valid)
            result[rows, t[rows]] -= 1.0
            result *= g[:, None]
        return wrap(result, logits.dtype)
    a, _, valid, _ = _coefficients(target, _class_weight(weight, C, acc), ignore_index,
                                   label_smoothing, M, C, acc)
    g = np.where(valid, nd(grad).astype(acc), 0.0)
    with np.errstate(invalid="ignore"):
        softmax = np.exp(x - nd(lse).astype(acc)[:, None])  # NaN across a NaN row, also where g = 0
        return wrap(g[:, None] * (softmax * a.sum(axis=1, keepdims=True) - a), logits.dtype)


def nll_loss_forward(logp: Array, target: Array, weight, ignore_index: int):
    """Per-row ``-w[t] * logp[row, t]`` and ``w[t]`` (0 on ignored rows)."""
    acc = compute_dtype(logp.dtype)
    M, C = logp.shape
    t, valid = _row_targets(target, ignore_index)
    w = np.where(valid, _class_weight(weight, C, acc)[t] if C else 0.0, 0.0).astype(acc)
    picked = nd(logp)[np.arange(M), t].astype(acc) if C else np.zeros(M, acc)
    row = _row_dtype(logp.dtype)
    return wrap(np.where(valid, -w * picked, 0.0), row), wrap(w, row)


def nll_loss_backward(target: Array, weight, grad: Array, ignore_index: int, num_classes: int,
                      dtype) -> Array:
    """The (M, C) gradient of ``nll_loss_forward``: ``-w[t] * grad`` at each row's target."""
    acc = compute_dtype(dtype)
    M = target.shape[0]
    t, valid = _row_targets(target, ignore_index)
    w = np.where(valid, _class_weight(weight, num_classes, acc)[t], 0.0) if num_classes else \
        np.zeros(M, acc)
    out = np.zeros((M, num_classes), dtype=acc)
    if num_classes:
        out[np.arange(M), t] = -w * nd(grad).astype(acc)
    return wrap(out, dtype)


def _bce_operands(x: Array, target: Array, weight, pos_weight):
    """``x``, ``target``, ``weight``, ``pos_weight`` (None stays None) as NumPy views in the
    compute type (broadcasting is NumPy's own)."""
    acc = compute_dtype(x.dtype)
    return tuple(None if a is None else nd(a).astype(acc, copy=False)
                 for a in (x, target, weight, pos_weight))


def _full_shape(result: np.ndarray, shape: tuple) -> np.ndarray:
    """``result`` broadcast to ``shape`` (a view only where it is smaller: ``wrap`` copies it)."""
    return result if result.shape == shape else np.broadcast_to(result, shape)


def bce_with_logits(x: Array, target: Array, weight, pos_weight) -> Array:
    """``(1 - y) x + (1 + (pw - 1) y) * softplus(-x)`` times ``weight``, elementwise, with
    ``softplus(-x) = max(-x, 0) + log1p(exp(-|x|))`` (PyTorch's ``-log_sigmoid``)."""
    xs, y, w, pw = _bce_operands(x, target, weight, pos_weight)
    with np.errstate(all="ignore"):  # inf/NaN as PyTorch's formula gives them
        softplus_neg = np.maximum(-xs, 0.0) + np.log1p(np.exp(-np.abs(xs)))
        if pw is not None:
            softplus_neg = softplus_neg * ((pw - 1.0) * y + 1.0)
        loss = (1.0 - y) * xs + softplus_neg
        if w is not None:
            loss = loss * w
    return wrap(_full_shape(loss, x.shape), x.dtype)


def bce_with_logits_backward(grad: Array, x: Array, target: Array, weight, pos_weight,
                             scale: float) -> Array:
    """``x``'s gradient of ``bce_with_logits``: ``((1 + (pw - 1) y) sigmoid(x) - pw y) * grad
    * weight * scale`` (PyTorch's order of products)."""
    xs, y, w, pw = _bce_operands(x, target, weight, pos_weight)
    g = nd(grad).astype(xs.dtype, copy=False)
    with np.errstate(all="ignore"):
        sigmoid = 1.0 / (1.0 + np.exp(-xs))
        if pw is not None:
            t = pw * y
            d = (t + 1.0 - y) * sigmoid - t
        else:
            d = sigmoid - y
        d = d * g
        if w is not None:
            d = d * w
        if scale != 1.0:
            d = d * scale
    return wrap(_full_shape(d, x.shape), x.dtype)


def bce(x: Array, target: Array, weight) -> Array:
    """``-w * (y * max(log(x), -100) + (1 - y) * max(log1p(-x), -100))``, elementwise."""
    xs, y, w, _ = _bce_operands(x, target, weight, None)
    with np.errstate(all="ignore"):
        log_x = np.maximum(np.log(xs), -100.0)  # NaN stays NaN
        log_1mx = np.maximum(np.log1p(-xs), -100.0)
        loss = (y - 1.0) * log_1mx - y * log_x  # PyTorch's order
        if w is not None:
            loss = loss * w
    return wrap(_full_shape(loss, x.shape), x.dtype)


def bce_backward(grad: Array, x: Array, target: Array, weight, scale: float) -> Array:
    """``x``'s gradient of ``bce``: ``(x - y) / max((1 - x) x, 1e-12) * grad * weight * scale``
    (PyTorch's ``binary_cross_entropy_backward``)."""
    xs, y, w, _ = _bce_operands(x, target, weight, None)
    g = nd(grad).astype(xs.dtype, copy=False)
    with np.errstate(all="ignore"):
        d = (xs - y) / np.maximum((1.0 - xs) * xs, xs.dtype.type(1e-12)) * g
        if w is not None:
            d = d * w
        if scale != 1.0:
            d = d * scale
    return wrap(_full_shape(d, x.shape), x.dtype)


KERNELS = {
    "cross_entropy_forward": cross_entropy_forward,
    "cross_entropy_backward": cross_entropy_backward,
    "nll_loss_forward": nll_loss_forward,
    "nll_loss_backward": nll_loss_backward,
    "bce_with_logits": bce_with_logits,
    "bce_with_logits_backward": bce_with_logits_backward,
    "bce": bce,
    "bce_backward": bce_backward,
}
