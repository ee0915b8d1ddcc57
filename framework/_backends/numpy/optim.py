"""CPU optimizer updates with NumPy, in place, mirroring ``triton_kernels/optim.py``.

Arithmetic runs in float32 for half-precision parameters (float64 for float64
ones); the new values are written back into the parameter and state arrays.
"""
from __future__ import annotations

import numpy as np

from ... import dtypes
from ..array import Array
from ._arrays import nd


def _acc(a: Array) -> np.dtype:
    return np.dtype(np.float64) if a.dtype is dtypes.float64 else np.dtype(np.float32)


def _read(a: Array, acc) -> np.ndarray:
    return nd(a).astype(acc, copy=True)


def _write(a: Array, value: np.ndarray) -> None:
    nd(a)[...] = value.astype(a.dtype.numpy, copy=False)


def _grad(param: np.ndarray, grad: Array, weight_decay: float, maximize: bool,
          coupled: bool) -> np.ndarray:
    g = _read(grad, param.dtype)
    if maximize:
        g = -g
    if coupled and weight_decay != 0:
        g = g + weight_decay * param
    return g


def _adam_moments(exp_avg: Array, exp_avg_sq: Array, g: np.ndarray, beta1: float,
                  beta2: float) -> tuple:
    """Adam's moment updates m = lerp(m, g, 1-β1), v = β2·v + (1-β2)·g², stored and returned."""
    m = _read(exp_avg, g.dtype)
    v = _read(exp_avg_sq, g.dtype)
    m = m + (1 - beta1) * (g - m)
    v = beta2 * v + (1 - beta2) * g * g
    _write(exp_avg, m)
    _write(exp_avg_sq, v)
    return m, v


def sgd_step(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
             maximize, first) -> None:
    """SGD with optional momentum/dampening/Nesterov, in place."""
    p = _read(param, _acc(param))
    g = _grad(p, grad, weight_decay, maximize, True)
    step = g
    if momentum != 0:
        buf = g if first else momentum * _read(momentum_buffer, p.dtype) + (1 - dampening) * g
        _write(momentum_buffer, buf)
        step = g + momentum * buf if nesterov else buf
    _write(param, p - lr * step)


def sgd_step_multi(params, grads, momentum_buffers, lr, momentum, dampening, weight_decay,
                   nesterov, maximize, firsts) -> None:
    """``sgd_step`` on every parameter of the list, in one call (so the same bits)."""
    for t, param in enumerate(params):
        sgd_step(param, grads[t], momentum_buffers[t] if momentum != 0 else None, lr, momentum,
                 dampening, weight_decay, nesterov, maximize, firsts[t])


def _python_numbers(*values) -> bool:
    """True when every value is a Python float/int: NumPy then computes in the array's type
    (a NumPy float64 scalar would lift float32 math to float64)."""
    return all(type(v) is float or type(v) is int for v in values)


def _in_place_ok(param: Array, *others) -> bool:
    """True when ``param`` and ``others`` (None allowed) are float32/float64 arrays of one
    dtype on distinct storages: the update can then run in place, without copies."""
    dtype = param.dtype
    if dtype is not dtypes.float32 and dtype is not dtypes.float64:
        return False
    storages = {id(param.storage)}
    for a in others:
        if a is None:
            continue
        if a.dtype is not dtype or id(a.storage) in storages:
            return False
        storages.add(id(a.storage))
    return True


_CHUNK = 65536  # elements per block of an in-place update (256 KiB of float32 per operand)


def _chunks(views: list, scratch: int = 0):
    """``views`` (None allowed) cut into matching flat blocks of ``_CHUNK`` elements, each
    followed by ``scratch`` work arrays of the block's shape (reused from block to block).

    A long elementwise update runs its dozen NumPy passes block by block, so each block's
    operands stay in cache between passes (same operations per element, so the same bits).
    Views that are not all C-contiguous and of one size are yielded whole.
    """
    present = [v for v in views if v is not None]
    size = present[0].size
    if size <= _CHUNK or not all(v.size == size and v.flags.c_contiguous for v in present):
        yield views + [np.empty(present[0].shape, present[0].dtype) for _ in range(scratch)]
        return
    flat = [None if v is None else v.reshape(-1) for v in views]  # views: writes go through
    work = [np.empty(_CHUNK, present[0].dtype) for _ in range(scratch)]
    for start in range(0, size, _CHUNK):
        block = slice(start, start + _CHUNK)
        n = min(_CHUNK, size - start)
        yield [None if v is None else v[block] for v in flat] + [w[:n] for w in work]


def _adam_in_place(p, g, m, v, vmax, step, denom, lr, beta1, beta2, eps, weight_decay,
                   decoupled, amsgrad, maximize, bias_correction1,
                   bias_correction2_sqrt) -> None:
    """``adam_step`` on NumPy views, updating ``p``, ``m``, ``v`` (``vmax``) in place, with
    ``step`` and ``denom`` as work arrays of their shape.

    The same operations in the same order as the copying version, so the
    results are identical bit for bit; twelve passes, none allocating (unless
    ``maximize`` or coupled weight decay make a new gradient).
    """
    if maximize:
        g = -g
    if not decoupled and weight_decay != 0:
        g = g + weight_decay * p
    if decoupled:
        p *= 1 - lr * weight_decay
    np.subtract(g, m, out=step)  # m = lerp(m, g, 1 - beta1)
    step *= 1 - beta1
    m += step
    v *= beta2  # v = beta2 v + (1 - beta2) g²
    np.multiply(g, 1 - beta2, out=step)
    step *= g
    v += step
    second = v
    if amsgrad:
        np.maximum(vmax, v, out=vmax)
        second = vmax
    scale, floor = _adam_scalars(lr, eps, bias_correction1, bias_correction2_sqrt)
    np.sqrt(second, out=denom)
    denom += floor
    np.multiply(m, scale, out=step)
    step /= denom
    p -= step


def _adam_scalars(lr, eps, bias_correction1, bias_correction2_sqrt) -> tuple:
    """Adam's update ``lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps)`` is computed as
    ``(scale · m) / (sqrt(v) + floor)`` with ``scale = lr·sqrt(bc2)/bc1`` and
    ``floor = eps·sqrt(bc2)``: the same value (to rounding) in one pass fewer."""
    return lr * bias_correction2_sqrt / bias_correction1, eps * bias_correction2_sqrt


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
              weight_decay, decoupled, amsgrad, maximize, bias_correction1,
              bias_correction2_sqrt) -> None:
    """Adam (coupled L2) / AdamW (decoupled decay), optionally AMSGrad, in place."""
    if (_python_numbers(lr, beta1, beta2, eps, weight_decay, bias_correction1,
                        bias_correction2_sqrt)
            and _in_place_ok(param, grad, exp_avg, exp_avg_sq,
                             max_exp_avg_sq if amsgrad else None)):
        views = [nd(param), nd(grad), nd(exp_avg), nd(exp_avg_sq),
                 nd(max_exp_avg_sq) if amsgrad else None]
        scalars = (lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad, maximize,
                   bias_correction1, bias_correction2_sqrt)
        for chunk in _chunks(views, 2):
            _adam_in_place(*chunk, *scalars)
        return
    p = _read(param, _acc(param))
    g = _grad(p, grad, weight_decay, maximize, not decoupled)
    if decoupled:
        p = p * (1 - lr * weight_decay)
    m, v = _adam_moments(exp_avg, exp_avg_sq, g, beta1, beta2)
    second = v
    if amsgrad:
        second = np.maximum(_read(max_exp_avg_sq, p.dtype), v)
        _write(max_exp_avg_sq, second)
    scale, floor = _adam_scalars(lr, eps, bias_correction1, bias_correction2_sqrt)
    _write(param, p - scale * m / (np.sqrt(second) + floor))


def adam_step_multi(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, lr, beta1, beta2,
                    eps, weight_decay, decoupled, amsgrad, maximize, bias_corrections1,
                    bias_corrections2_sqrt) -> None:
    """``adam_step`` on every parameter of the list (its own bias corrections), in one call
    (so the same bits)."""
    for t, param in enumerate(params):
        adam_step(param, grads[t], exp_avgs[t], exp_avg_sqs[t],
                  max_exp_avg_sqs[t] if amsgrad else None, lr, beta1, beta2, eps, weight_decay,
                  decoupled, amsgrad, maximize, bias_corrections1[t], bias_corrections2_sqrt[t])


def adamax_step(param, grad, exp_avg, exp_inf, lr, beta1, beta2, eps, weight_decay, maximize,
                bias_correction1) -> None:
    """Adamax (infinity-norm Adam), in place."""
    p = _read(param, _acc(param))
    g = _grad(p, grad, weight_decay, maximize, True)
    m = _read(exp_avg, p.dtype)
    m = m + (1 - beta1) * (g - m)
    u = np.maximum(beta2 * _read(exp_inf, p.dtype), np.abs(g) + eps)
    _write(exp_avg, m)
    _write(exp_inf, u)
    _write(param, p - (lr / bias_correction1) * m / u)


def adadelta_step(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay,
                  maximize) -> None:
    """Adadelta, in place: v = ρ·v + (1−ρ)·g²; Δ = √(u + eps) / √(v + eps) · g;
    u = ρ·u + (1−ρ)·Δ²; p −= lr·Δ."""
    p = _read(param, _acc(param))
    g = _grad(p, grad, weight_decay, maximize, True)
    v = rho * _read(square_avg, p.dtype) + (1 - rho) * g * g
    u = _read(acc_delta, p.dtype)
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
    _write(square_avg, v)
    _write(acc_delta, rho * u + (1 - rho) * delta * delta)
    _write(param, p - lr * delta)


def rmsprop_step(param, grad, square_avg, momentum_buffer, grad_avg, lr, alpha, eps, weight_decay,
                 momentum, centered, maximize) -> None:
    """RMSprop, optionally centered and with momentum, in place."""
    p = _read(param, _acc(param))
    g = _grad(p, grad, weight_decay, maximize, True)
    v = alpha * _read(square_avg, p.dtype) + (1 - alpha) * g * g
    _write(square_avg, v)
    if centered:
        mean = _read(grad_avg, p.dtype)
        mean = mean + (1 - alpha) * (g - mean)
        _write(grad_avg, mean)
        avg = np.sqrt(v - mean * mean) + eps
    else:
        avg = np.sqrt(v) + eps
    if momentum > 0:
        buf = momentum * _read(momentum_buffer, p.dtype) + g / avg
        _write(momentum_buffer, buf)
        _write(param, p - lr * buf)
    else:
        _write(param, p - lr * g / avg)


def adagrad_step(param, grad, state_sum, clr, eps, weight_decay, maximize) -> None:
    """Adagrad with the decayed learning rate ``clr``, in place."""
    p = _read(param, _acc(param))
    g = _grad(p, grad, weight_decay, maximize, True)
    total = _read(state_sum, p.dtype) + g * g
    _write(state_sum, total)
    _write(param, p - clr * g / (np.sqrt(total) + eps))


def nadam_step(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, decoupled,
               maximize, bias_correction2, grad_coef, avg_coef) -> None:
    """NAdam (Nesterov momentum Adam), in place."""
    p = _read(param, _acc(param))
    g = _grad(p, grad, weight_decay, maximize, not decoupled)
    if decoupled:
        p = p * (1 - lr * weight_decay)
    m, v = _adam_moments(exp_avg, exp_avg_sq, g, beta1, beta2)
    denom = np.sqrt(v / bias_correction2) + eps
    _write(param, p + grad_coef * g / denom + avg_coef * m / denom)


def radam_step(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay, decoupled,
               maximize, bias_correction1, bias_correction2_sqrt, rect) -> None:
    """RAdam (rectified Adam), in place."""
    p = _read(param, _acc(param))
    g = _grad(p, grad, weight_decay, maximize, not decoupled)
    if decoupled:
        p = p * (1 - lr * weight_decay)
    m, v = _adam_moments(exp_avg, exp_avg_sq, g, beta1, beta2)
    update = m / bias_correction1 * lr
    if rect > 0:
        update = update * rect * bias_correction2_sqrt / (np.sqrt(v) + eps)
    _write(param, p - update)


def rprop_step(param, grad, prev, step_size, etaminus, etaplus, step_size_min, step_size_max,
               maximize) -> None:
    """Rprop, in place, in one pass: the step size is scaled by etaplus where g·prev > 0, by
    etaminus where g·prev < 0 (and the gradient counts as 0 there), else (0 or NaN) kept,
    then clamped to [min, max]; p −= sign(g)·step_size; prev = g. sign is PyTorch's:
    sign(NaN) = 0."""
    p = _read(param, _acc(param))
    g = _grad(p, grad, 0.0, maximize, False)
    product = g * _read(prev, p.dtype)
    one = p.dtype.type(1)
    factor = np.where(product > 0, p.dtype.type(etaplus),
                      np.where(product < 0, p.dtype.type(etaminus), one))
    size = _read(step_size, p.dtype) * factor
    size = np.minimum(np.maximum(size, p.dtype.type(step_size_min)),
                      p.dtype.type(step_size_max))
    g = np.where(product < 0, p.dtype.type(0), g)
    sign = np.where(g > 0, one, np.where(g < 0, -one, p.dtype.type(0)))
    _write(step_size, size)
    _write(prev, g)
    _write(param, p - sign * size)


def asgd_step(param, grad, ax, eta, decay, mu, weight_decay, maximize) -> None:
    """ASGD, in place, in one pass: p = p·decay − eta·g (``decay`` = 1 − λ·eta); the average
    ax += (p − ax)·mu, or ax = p when ``mu`` is 1."""
    p = _read(param, _acc(param))
    g = _grad(p, grad, weight_decay, maximize, True)
    p = p * decay
    p = p - eta * g
    if mu != 1:
        average = _read(ax, p.dtype)
        p_avg = average + (p - average) * mu
    else:
        p_avg = p
    _write(param, p)
    _write(ax, p_avg)


def sparse_adam_step(param, grad, exp_avg, exp_avg_sq, rows, one_minus_beta1, one_minus_beta2,
                     eps, maximize, step_size) -> None:
    """SparseAdam, in place, on the elements where ``rows`` (a bool array of the parameter's
    shape) is True, as torch's ``sparse_adam`` on those values: m += (g − m)(1−β1);
    v += (g² − v)(1−β2); p += −step_size · m / (√v + eps). Elsewhere nothing changes."""
    p = _read(param, _acc(param))
    g = _grad(p, grad, 0.0, maximize, False)
    m = _read(exp_avg, p.dtype)
    v = _read(exp_avg_sq, p.dtype)
    m_new = m + (g - m) * one_minus_beta1
    v_new = v + (g * g - v) * one_minus_beta2
    update = -step_size * (m_new / (np.sqrt(v_new) + eps))
    on = nd(rows).astype(bool)
    _write(exp_avg, np.where(on, m_new, m))
    _write(exp_avg_sq, np.where(on, v_new, v))
    _write(param, np.where(on, p + update, p))


KERNELS = {
    "sgd_step": sgd_step,
    "sgd_step_multi": sgd_step_multi,
    "adam_step": adam_step,
    "adam_step_multi": adam_step_multi,
    "adamax_step": adamax_step,
    "adadelta_step": adadelta_step,
    "rmsprop_step": rmsprop_step,
    "adagrad_step": adagrad_step,
    "nadam_step": nadam_step,
    "radam_step": radam_step,
    "rprop_step": rprop_step,
    "asgd_step": asgd_step,
    "sparse_adam_step": sparse_adam_step,
}
