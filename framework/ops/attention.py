"""Attention: ``scaled_dot_product_attention`` (``framework.nn.functional``).

``softmax(q k^T * scale + mask) @ v`` with PyTorch's semantics: batch dims
broadcast, a bool ``attn_mask`` (True = take part) or a float one (added to
the scores) broadcast to (..., L, S), ``is_causal`` keeping key ``j <= i``
for query ``i`` (top-left aligned when L != S), dropout on the weights, and
``enable_gqa`` repeating the key/value heads. A row where every key is
masked out gives 0, as PyTorch's math path does (its safe softmax) for both
bool and float (-inf) masks, and passes no gradient.

The forward is one fused kernel (flash attention on ``cuda``: no L x S
matrix in memory) that also returns each row's logsumexp; the backward is
one fused kernel pass that recomputes the weights from it and regenerates
the dropout mask from the same (seed, offset). That backward is wrapped as
a ``Function`` of its own whose backward raises: attention has no second
derivative here (``create_graph=True`` works, differentiating its result
raises a clear ``RuntimeError``). Both devices behave the same; their
dropout streams differ (each is reproducible for a seed).
"""
from __future__ import annotations

import math

from .. import dtypes
from ..autograd.function import Function
from ..random import generator_for
from ..tensor import Tensor
from ._util import backend, broadcast_shapes, check_tensor, common_device, wrap
from .registry import register

__all__: list = []  # exported as framework.<name>
FUNCTIONAL: list = ["scaled_dot_product_attention"]  # exported as framework.nn.functional.<name>
TENSOR_METHODS: tuple = ()  # Tensor methods this module adds (framework/__init__.py)

_OP = "scaled_dot_product_attention"
register(_OP, "attention", ("attention_forward", "attention_backward"))

# PyTorch's names for dtypes in its error messages.


# --- autograd -------------------------------------------------------------------------------
class _Attention(Function):
    """Fused attention of q, k, v (common batch shape) with an optional mask of (..., L, S)."""

    @staticmethod
    def forward(ctx, q, k, v, mask, is_causal, scale, dropout_p, seed, offset):
        out, lse = backend(q).attention_forward(q._a, k._a, v._a, _array(mask), is_causal, scale,
                                                dropout_p, seed, offset)
        out, lse = wrap(out, q.device), wrap(lse, q.device)
        ctx.save_for_backward(q, k, v, mask, out, lse)
        ctx.options = (is_causal, scale, dropout_p, seed, offset)
        return out

    @staticmethod
    def backward(ctx, grad):
        q, k, v, mask, out, lse = ctx.saved_tensors
        mask_grad = mask is not None and ctx.needs_input_grad[3]
        grads = _AttentionBackward.apply(grad, q, k, v, mask, out, lse, *ctx.options, mask_grad)
        return (*grads, None, None, None, None, None)


class _AttentionBackward(Function):
    """The fused backward kernel as an op: gradients of q, k, v (and the mask). Not differentiable."""

    @staticmethod
    def forward(ctx, grad, q, k, v, mask, out, lse, is_causal, scale, dropout_p, seed, offset,
                mask_grad):
        ctx.set_materialize_grads(False)  # the mask gradient may be None
        arrays = backend(q).attention_backward(grad._a, q._a, k._a, v._a, _array(mask), out._a,
                                               lse._a, is_causal, scale, dropout_p, seed, offset,
                                               mask_grad)
        return tuple(wrap(a, q.device) if a is not None else None for a in arrays)

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(f"{_OP}(): double backward is not supported: the backward is one fused "
                           "kernel without a derivative of its own (use create_graph=False)")


def _array(t):
    return None if t is None else t._a


# --- validation -----------------------------------------------------------------------------
def _check_arguments(query, key, value, attn_mask, dropout_p, is_causal, scale) -> None:
    for name, t in (("query", query), ("key", key), ("value", value)):
        check_tensor(_OP, name, t)
    if attn_mask is not None:
        check_tensor(_OP, "attn_mask", attn_mask)
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(f"{_OP}(): Expected query, key, and value to all be at least 2 "
                           f"dimensional, but got query.dim: {query.ndim} key.dim: {key.ndim} and "
                           f"value.dim: {value.ndim} instead.")
    if not (query.dtype is key.dtype is value.dtype):
        raise RuntimeError(f"{_OP}(): Expected query, key, and value to have the same dtype, but "
                           f"got query.dtype: {dtypes.scalar_type_name(query.dtype)} key.dtype: "
                           f"{dtypes.scalar_type_name(key.dtype)} and value.dtype: {dtypes.scalar_type_name(value.dtype)} "
                           "instead.")
    if not query.dtype.is_floating_point:
        raise RuntimeError(f"{_OP}(): expected query, key and value of a floating point dtype, "
                           f"but got {dtypes.scalar_type_name(query.dtype)}")
    common_device(_OP, query, key, value, attn_mask)
    _check_mask(query, attn_mask, is_causal)
    if isinstance(dropout_p, bool) or not isinstance(dropout_p, (int, float)):
        raise TypeError(f"{_OP}(): argument 'dropout_p' must be float, not {type(dropout_p).__name__}")
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"{_OP}(): dropout probability has to be between 0 and 1, but got "
                           f"{dropout_p}")
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, (int, float))):
        raise TypeError(f"{_OP}(): argument 'scale' must be float or None, not "
                        f"{type(scale).__name__}")
    _check_shapes(query, key, value)


def _check_mask(query, attn_mask, is_causal) -> None:
    if attn_mask is None:
        return
    if is_causal:
        raise RuntimeError(f"{_OP}(): Explicit attn_mask should not be set when is_causal=True")
    if attn_mask.dtype is not dtypes.bool and not attn_mask.dtype.is_floating_point:
        raise RuntimeError(f"{_OP}(): Expected attn_mask dtype to be bool or float or to match "
                           f"query dtype, but got attn_mask.dtype: {dtypes.scalar_type_name(attn_mask.dtype)} "
                           f"and  query.dtype: {dtypes.scalar_type_name(query.dtype)} instead.")


def _check_shapes(query, key, value) -> None:
    if key.shape[-1] != query.shape[-1]:
        raise RuntimeError(f"{_OP}(): Expected key's last dim ({key.shape[-1]}) to match query's "
                           f"last dim ({query.shape[-1]})")
    if value.shape[-2] != key.shape[-2]:
        raise RuntimeError(f"{_OP}(): Expected key and value to have the same sequence length, "
                           f"but got key: {key.shape[-2]} and value: {value.shape[-2]}")


def _check_mask_fits(attn_mask: Tensor, length: int, source: int) -> None:
    """``RuntimeError`` unless the mask's last two dims broadcast to (L, S)."""
    trailing = tuple(attn_mask.shape[-2:])
    if broadcast_shapes(_OP, trailing, (length, source))[-2:] != (length, source):
        raise RuntimeError(f"{_OP}(): attn_mask of shape {list(attn_mask.shape)} does not "
                           f"broadcast to the attention weights' shape (..., {length}, {source})")


def _repeat_kv_heads(query: Tensor, key: Tensor, value: Tensor) -> tuple:
    """``enable_gqa``: repeat each key/value head so the head counts (dim -3) match the query's."""
    if query.ndim < 3 or key.ndim < 3 or value.ndim < 3:
        return key, value
    heads = query.shape[-3]
    if heads % key.shape[-3] or heads % value.shape[-3]:
        raise RuntimeError(f"{_OP}(): Number of heads in key and value must divide the number of "
                           f"heads in query, but got query heads: {heads}, key heads: "
                           f"{key.shape[-3]}, value heads: {value.shape[-3]}")
    return _repeat_heads(key, heads), _repeat_heads(value, heads)


def _repeat_heads(x: Tensor, heads: int) -> Tensor:
    """``x.repeat_interleave(heads // x.shape[-3], dim=-3)`` as expand + reshape."""
    groups = heads // x.shape[-3]
    if groups == 1:
        return x
    shape = tuple(x.shape)
    wide = x.unsqueeze(-3).expand(shape[:-2] + (groups,) + shape[-2:])
    return wide.reshape(shape[:-3] + (heads,) + shape[-2:])


# --- the op -----------------------------------------------------------------------------------
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """``softmax(query @ key^T * scale + mask) @ value`` (PyTorch's ``scaled_dot_product_attention``).

    ``query`` (..., L, E), ``key`` (..., S, E), ``value`` (..., S, Ev) with
    broadcast batch dims; ``attn_mask`` bool (True = take part) or float
    (added to the scores), broadcastable to (..., L, S); ``is_causal`` lets
    query ``i`` see keys ``j <= i`` (and may not be combined with a mask);
    ``scale`` defaults to ``1 / sqrt(E)``; ``dropout_p`` drops attention
    weights (kept ones scaled by ``1 / (1 - dropout_p)``), drawing from the
    device's generator; ``enable_gqa`` repeats key/value heads (dim -3) to
    the query's head count. Fully masked rows give 0. Result (..., L, Ev).
    """
    _check_arguments(query, key, value, attn_mask, dropout_p, is_causal, scale)
    if enable_gqa:
        key, value = _repeat_kv_heads(query, key, value)
    length, source = query.shape[-2], key.shape[-2]
    shapes = [tuple(t.shape[:-2]) for t in (query, key, value)]
    if attn_mask is not None:
        shapes.append(tuple(attn_mask.shape[:-2]))
        _check_mask_fits(attn_mask, length, source)
    batch = broadcast_shapes(_OP, *shapes)
    query, key, value = (_expand(t, batch + tuple(t.shape[-2:])) for t in (query, key, value))
    if attn_mask is not None:
        if attn_mask.dtype is not dtypes.bool and attn_mask.dtype is not query.dtype:
            attn_mask = attn_mask.to(query.dtype)
        attn_mask = _expand(attn_mask, batch + (length, source))
    if scale is None:  # E = 0: every score is 0 whatever the scale (PyTorch gives the mean of v)
        scale = 1.0 / math.sqrt(query.shape[-1]) if query.shape[-1] else 1.0
    seed, offset = 0, 0
    if dropout_p > 0.0:
        seed, offset = generator_for(query.device).take(math.prod(batch) * length * source)
    return _Attention.apply(query, key, value, attn_mask, bool(is_causal), float(scale),
                            float(dropout_p), seed, offset)


def _expand(t: Tensor, shape: tuple) -> Tensor:
    return t if tuple(t.shape) == shape else t.expand(shape)
