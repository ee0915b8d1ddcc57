"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``
(``framework.nn.functional``; the latter is ``nn.MultiheadAttention``'s general path,
composed of framework ops at the end of this file).

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
from .._backends import Backend
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..random import generator_for
from ..tensor import Tensor
from ._util import backend, broadcast_shapes, check_tensor, common_device, wrap
from .registry import register

__all__: list = []  # exported as framework.<name>
FUNCTIONAL: list = [  # exported as framework.nn.functional.<name>
    "scaled_dot_product_attention", "multi_head_attention_forward",
]
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


# --- multi-head attention of projected rows (MultiheadAttention's one-node core) ------------
class HeadsSpec:
    """Where ``_HeadsAttention`` finds its heads: ``batch`` sequences of ``length`` queries and
    ``source`` keys, ``heads`` heads of ``head_dim`` columns. Rows are ordered ``n·T + t``
    (``batch_first``) or ``t·N + n``. ``picks`` gives (source index, first column) of the
    query, key and value blocks in the node's row tensors."""

    __slots__ = ("batch", "length", "source", "heads", "head_dim", "batch_first", "picks",
                 "scale")

    def __init__(self, batch, length, source, heads, head_dim, batch_first, picks, scale):
        self.batch, self.length, self.source = batch, length, source
        self.heads, self.head_dim, self.batch_first = heads, head_dim, batch_first
        self.picks, self.scale = picks, scale

    def rows(self, which: int) -> int:
        """Sequence length of the query (0) or key/value (1, 2) blocks."""
        return self.length if which == 0 else self.source

    def head_view(self, a, column: int, length: int):
        """The (N, heads, length, head_dim) strided view of the column block at ``column`` of
        the 2-D rows ``Array`` ``a`` (no copy)."""
        row, col = a.strides
        step = length * row if self.batch_first else row
        seq = row if self.batch_first else self.batch * row
        return a.view((self.batch, self.heads, length, self.head_dim),
                      (step, self.head_dim * col, seq, col), a.offset + column * col)


class _HeadsAttention(Function):
    """``MultiheadAttention``'s attention of in-projected rows as one graph node.

    ``sources`` are 2-D row tensors (the in-projections' outputs: one packed
    (rows, 3E) tensor for self-attention); the query, key and value heads are
    strided views of their column blocks (``HeadsSpec``), so the head split and
    merge record no reshape, transpose or copy. The result is (N·L, E) rows in
    the query's row order, ready for ``out_proj``. ``mask`` is None or a float
    (N, heads, L, S) view added to the scores (no gradient). The forward and
    backward are the fused ``attention_forward``/``attention_backward``
    kernels; under ``create_graph`` the backward is written in framework ops
    (``_heads_attention_grads``), so second derivatives work.
    """

    @staticmethod
    def forward(ctx, spec, mask, *sources):
        q, k, v = (spec.head_view(sources[i]._a, col, spec.rows(w))
                   for w, (i, col) in enumerate(spec.picks))
        kernels = backend(sources[0])
        out4, lse = kernels.attention_forward(q, k, v, _array(mask), False, spec.scale, 0.0, 0, 0)
        rows = kernels.empty((spec.batch * spec.length, spec.heads * spec.head_dim),
                             sources[0].dtype)
        kernels.copy_(spec.head_view(rows, 0, spec.length), out4)
        out = wrap(rows, sources[0].device)
        ctx.spec = spec
        ctx.lse = lse
        ctx.save_for_backward(mask, out, *sources)
        return out

    @staticmethod
    def backward(ctx, grad):
        mask, out, *sources = ctx.saved_tensors
        spec = ctx.spec
        needs = ctx.needs_input_grad[2:]
        if is_grad_enabled():  # create_graph: framework ops, differentiable again
            grads = _heads_attention_grads(spec, mask, sources, grad)
        else:
            grads = _heads_attention_kernel_grads(spec, mask, sources, out, ctx.lse, grad)
        return (None, None) + tuple(g if need else None for g, need in zip(grads, needs))


def _heads_attention_kernel_grads(spec, mask, sources, out, lse, grad) -> list:
    """The fused backward kernel's q, k, v gradients, written into one gradient per source."""
    kernels = backend(grad)
    views = [spec.head_view(sources[i]._a, col, spec.rows(w))
             for w, (i, col) in enumerate(spec.picks)]
    g4 = spec.head_view(grad._a, 0, spec.length)
    o4 = spec.head_view(out._a, 0, spec.length)
    dq, dk, dv = kernels.attention_backward(g4, *views, _array(mask), o4, lse, False, spec.scale,
                                            0.0, 0, 0, False)[:3]
    results = []
    for index, source in enumerate(sources):
        blocks = [(w, col) for w, (i, col) in enumerate(spec.picks) if i == index]
        shape = tuple(source.shape)
        covered = len(blocks) * spec.heads * spec.head_dim == shape[1]
        target = kernels.empty(shape, source.dtype) if covered else \
            kernels.full(shape, 0, source.dtype)
        for w, col in blocks:
            kernels.copy_(spec.head_view(target, col, spec.rows(w)), (dq, dk, dv)[w])
        results.append(wrap(target, source.device))
    return results


def _heads_of(spec, rows: Tensor, column: int, length: int) -> Tensor:
    """The (N, heads, length, head_dim) heads of a column block, in recorded framework ops."""
    width = spec.heads * spec.head_dim
    block = rows[:, column:column + width]
    if spec.batch_first:
        return block.reshape(spec.batch, length, spec.heads, spec.head_dim).permute(0, 2, 1, 3)
    return block.reshape(length, spec.batch, spec.heads, spec.head_dim).permute(1, 2, 0, 3)


def _rows_of(spec, heads: Tensor) -> Tensor:
    """(N, heads, T, head_dim) back to 2-D rows in the spec's row order."""
    order = (0, 2, 1, 3) if spec.batch_first else (2, 0, 1, 3)
    return heads.permute(*order).reshape(-1, spec.heads * spec.head_dim)


def _heads_attention_grads(spec, mask, sources, grad) -> list:
    """The q, k, v gradients written into one gradient per source, in framework ops (for
    ``create_graph``): the general path's softmax attention differentiated by hand."""
    from .creation import zeros
    from .shape import cat
    from .softmax import softmax
    q, k, v = (_heads_of(spec, sources[i], col, spec.rows(w))
               for w, (i, col) in enumerate(spec.picks))
    g = _heads_of(spec, grad, 0, spec.length)
    scores = (q * spec.scale).matmul(k.transpose(-2, -1))
    if mask is not None:
        scores = scores + mask
    p = softmax(scores, -1)
    dv = p.transpose(-2, -1).matmul(g)
    dp = g.matmul(v.transpose(-2, -1))
    ds = p * (dp - (dp * p).sum(-1, keepdim=True))
    dq = ds.matmul(k) * spec.scale
    dk = ds.transpose(-2, -1).matmul(q) * spec.scale
    found = (dq, dk, dv)
    results = []
    for index, source in enumerate(sources):
        pieces, at = [], 0
        for w, col in sorted(((w, col) for w, (i, col) in enumerate(spec.picks) if i == index),
                             key=lambda pick: pick[1]):
            if col > at:
                pieces.append(zeros((source.shape[0], col - at), dtype=source.dtype,
                                    device=source.device))
            pieces.append(_rows_of(spec, found[w]))
            at = col + spec.heads * spec.head_dim
        if at < source.shape[1]:
            pieces.append(zeros((source.shape[0], source.shape[1] - at), dtype=source.dtype,
                                device=source.device))
        results.append(pieces[0] if len(pieces) == 1 else cat(pieces, 1))
    return results


def eager_cpu(t: Tensor) -> bool:
    """True when ``t`` is on the cpu and its kernels run eagerly (not recorded by a graph
    capture: the compiler fuses and exports the general path's ops on its own)."""
    return t._device.type == "cpu" and type(backend(t)) is Backend


def heads_attention(spec: HeadsSpec, mask, *sources) -> Tensor:
    """``MultiheadAttention``'s attention of in-projected rows as one node (``_HeadsAttention``):
    (N·L, E) rows in the query's row order. ``mask``: None or a float tensor broadcastable to
    (N, heads, L, S) that takes no gradient."""
    mask4 = None
    if mask is not None:
        mask4 = mask.expand(spec.batch, spec.heads, spec.length, spec.source)
    return _HeadsAttention.apply(spec, mask4, *sources)


# multi_head_attention_forward ---------------------------------------------------------------
def float_mask(mask: Tensor | None, name: str, dtype) -> Tensor | None:
    """A bool mask (True = not allowed) as an additive float mask of ``dtype`` (-inf / 0)."""
    from .compare import where
    if mask is None:
        return None
    if mask.dtype is dtypes.bool:
        return where(mask, float("-inf"), 0.0).to(dtype)
    if not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def _pad_last(mask: Tensor | None) -> Tensor | None:
    """Append one zero column to a float mask (for ``bias_k`` / ``add_zero_attn``)."""
    from .creation import zeros
    from .shape import cat
    if mask is None:
        return None
    return cat([mask, zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype,
                            device=mask.device)], -1)


def _check_mha_attn_mask(attn_mask: Tensor | None, tgt_len: int, src_len: int, bsz: int,
                         heads: int) -> Tensor | None:
    """A 2-D (L, S) mask as (1, L, S); a 3-D one must be (N·heads, L, S)."""
    if attn_mask is None:
        return None
    if attn_mask.dim() == 2:
        if tuple(attn_mask.shape) != (tgt_len, src_len):
            raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but "
                               f"should be {(tgt_len, src_len)}.")
        return attn_mask.unsqueeze(0)
    if attn_mask.dim() == 3:
        expected = (bsz * heads, tgt_len, src_len)
        if tuple(attn_mask.shape) != expected:
            raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but "
                               f"should be {expected}.")
        return attn_mask
    raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")


def _mha_batched(query: Tensor, key: Tensor, value: Tensor, key_padding_mask,
                 attn_mask, heads: int) -> bool:
    """PyTorch's ``_mha_shape_check``: whether the inputs carry a batch dim."""
    if query.dim() not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.dim()}-D query tensor")
    batched = query.dim() == 3
    dims = 3 if batched else 2
    if key.dim() != dims or value.dim() != dims:
        raise AssertionError(f"For {'batched' if batched else 'unbatched'} ({dims}-D) `query`, "
                             f"expected `key` and `value` to be {dims}-D but found "
                             f"{key.dim()}-D and {value.dim()}-D tensors respectively")
    if key_padding_mask is not None and key_padding_mask.dim() != dims - 1:
        raise AssertionError(f"For {'batched' if batched else 'unbatched'} ({dims}-D) `query`, "
                             f"expected `key_padding_mask` to be `None` or {dims - 1}-D but "
                             f"found {key_padding_mask.dim()}-D tensor instead")
    if attn_mask is not None and attn_mask.dim() not in (2, 3):
        raise AssertionError(f"For {'batched' if batched else 'unbatched'} ({dims}-D) `query`, "
                             f"expected `attn_mask` to be `None`, 2-D or 3-D but found "
                             f"{attn_mask.dim()}-D tensor instead")
    if not batched and attn_mask is not None and attn_mask.dim() == 3:
        expected = (heads, query.shape[0], key.shape[0])
        if tuple(attn_mask.shape) != expected:
            raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                 f"{tuple(attn_mask.shape)}")
    return batched


def _mha_projections(query, key, value, embed_dim: int, in_proj_weight, in_proj_bias,
                     use_separate_proj_weight: bool, q_proj_weight, k_proj_weight,
                     v_proj_weight) -> tuple:
    """The q, k, v in-projections, from the packed (3E, E) weight or the three separate
    ones; the bias (3E,) is split in three either way."""
    from .matmul import linear
    e = embed_dim
    b = in_proj_bias
    biases = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
    if use_separate_proj_weight:
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not "
                                 f"match value's {tuple(value.shape[:2])}")
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight "
                                     "is None")
        weights = (q_proj_weight, k_proj_weight, v_proj_weight)
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        w = in_proj_weight
        weights = (w[:e], w[e:2 * e], w[2 * e:])
    return tuple(linear(x, w, bias) for x, w, bias in zip((query, key, value), weights, biases))


def _static_heads(static: Tensor, name: str, heads_total: int, head_dim: int) -> Tensor:
    if static.size(0) != heads_total:
        raise AssertionError(f"expecting {name}.size(0) of {heads_total}, but got "
                             f"{static.size(0)}")
    if static.size(2) != head_dim:
        raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.size(2)}")
    return static


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor,
                                 embed_dim_to_check: int, num_heads: int, in_proj_weight,
                                 in_proj_bias, bias_k, bias_v, add_zero_attn: bool,
                                 dropout_p: float, out_proj_weight: Tensor, out_proj_bias,
                                 training: bool = True, key_padding_mask=None,
                                 need_weights: bool = True, attn_mask=None,
                                 use_separate_proj_weight: bool = False, q_proj_weight=None,
                                 k_proj_weight=None, v_proj_weight=None, static_k=None,
                                 static_v=None, average_attn_weights: bool = True,
                                 is_causal: bool = False) -> tuple:
    """Multi-head attention of (L, N, E) ``query`` over (S, N, ·) ``key``/``value`` (or
    unbatched (L, E)/(S, ·)) with explicit weights: ``(attn_output, attn_weights)``, the
    weights (N, L, S) averaged over heads, (N, heads, L, S), or None without
    ``need_weights``. Masks: ``key_padding_mask`` (N, S), ``attn_mask`` (L, S) or
    (N·heads, L, S), bool (True = not allowed) or added to the scores. ``is_causal`` is a
    hint that ``attn_mask`` is causal (the mask itself is applied)."""
    from .creation import zeros
    from .matmul import linear
    from .random import dropout
    from .shape import cat
    from .softmax import softmax
    batched = _mha_batched(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    tgt_len, bsz, embed_dim = query.shape
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    key_padding_mask = float_mask(key_padding_mask, "key_padding_mask", query.dtype)
    attn_mask = _check_mha_attn_mask(float_mask(attn_mask, "attn_mask", query.dtype),
                                     tgt_len, key.size(0), bsz, num_heads)
    q, k, v = _mha_projections(query, key, value, embed_dim, in_proj_weight, in_proj_bias,
                               use_separate_proj_weight, q_proj_weight, k_proj_weight,
                               v_proj_weight)
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        k = cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = cat([v, bias_v.expand(1, bsz, embed_dim)])
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must be given together")
    heads_total = bsz * num_heads
    # (L, N, E) -> (N·heads, L, head_dim)
    q = q.reshape(tgt_len, heads_total, head_dim).transpose(0, 1)
    k = (k.reshape(k.size(0), heads_total, head_dim).transpose(0, 1) if static_k is None
         else _static_heads(static_k, "static_k", heads_total, head_dim))
    v = (v.reshape(v.size(0), heads_total, head_dim).transpose(0, 1) if static_v is None
         else _static_heads(static_v, "static_v", heads_total, head_dim))
    if add_zero_attn:
        zero = zeros((heads_total, 1, head_dim), dtype=q.dtype, device=q.device)
        k, v = cat([k, zero], 1), cat([v, zero], 1)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    src_len = k.size(1)
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, but "
                                 f"got {tuple(key_padding_mask.shape)}")
        key_padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(
            bsz, num_heads, 1, src_len).reshape(heads_total, 1, src_len)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    scores = (q * (1.0 / math.sqrt(head_dim))).matmul(k.transpose(-2, -1))
    if attn_mask is not None:
        scores = scores + attn_mask
    weights = softmax(scores, dim=-1)
    if training and dropout_p > 0.0:
        weights = dropout(weights, p=dropout_p)
    output = weights.matmul(v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    output = linear(output, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if need_weights:
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
    else:
        weights = None
    if not batched:
        output = output.squeeze(1)
        weights = None if weights is None else weights.squeeze(0)
    return output, weights


register("multi_head_attention_forward", "attention", (
    "mm", "matmul", "add", "sum", "copy_", "empty", "full", "where", "mul",
    "softmax", "softmax_backward", "mean", "div",
))
