"""``MultiheadAttention`` with PyTorch's parameters (``in_proj_weight``, ``out_proj``) and masks."""
from __future__ import annotations

import math

from ... import dtypes, ops
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ._factory import empty_parameter
from .linear import Linear, linear
from .module import Module

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear"]


class NonDynamicallyQuantizableLinear(Linear):
    """``Linear`` under the name PyTorch gives ``MultiheadAttention.out_proj`` (same repr)."""


def _float_mask(mask: Tensor | None, name: str, dtype) -> Tensor | None:
    """A bool mask (True = not allowed) as an additive float mask of ``dtype`` (-inf / 0)."""
    if mask is None:
        return None
    if mask.dtype is dtypes.bool:
        return ops.compare.where(mask, float("-inf"), 0.0).to(dtype)
    if not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


def _pad_last(mask: Tensor | None) -> Tensor | None:
    """Append one zero column to a float mask (for ``add_bias_kv`` / ``add_zero_attn``)."""
    if mask is None:
        return None
    zeros = ops.creation.zeros(tuple(mask.shape[:-1]) + (1,), dtype=mask.dtype,
                               device=mask.device)
    return ops.shape.cat([mask, zeros], -1)


class MultiheadAttention(Module):
    """Attention of ``num_heads`` heads over projected queries, keys and values
    (``torch.nn.MultiheadAttention``)."""

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False,
                 kdim: int | None = None, vdim: int | None = None, batch_first: bool = False,
                 device=None, dtype=None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if not self._qkv_same_embed_dim:
            self.q_proj_weight = empty_parameter((embed_dim, embed_dim), device, dtype)
            self.k_proj_weight = empty_parameter((embed_dim, self.kdim), device, dtype)
            self.v_proj_weight = empty_parameter((embed_dim, self.vdim), device, dtype)
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = empty_parameter((3 * embed_dim, embed_dim), device, dtype)
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = empty_parameter((3 * embed_dim,), device, dtype)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        device=device, dtype=dtype)
        if add_bias_kv:
            self.bias_k = empty_parameter((1, 1, embed_dim), device, dtype)
            self.bias_v = empty_parameter((1, 1, embed_dim), device, dtype)
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def _in_projection(self, query: Tensor, key: Tensor, value: Tensor) -> tuple:
        e = self.embed_dim
        b = self.in_proj_bias
        b_q, b_k, b_v = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            w_q, w_k, w_v = w[:e], w[e:2 * e], w[2 * e:]
        else:
            w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        return linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple:
        """``(attn_output, attn_weights)``.

        Shapes (batch_first=False): query (L, N, E), key/value (S, N, kdim/vdim) or
        unbatched (L, E)/(S, ·); key_padding_mask (N, S), True = ignore that key;
        attn_mask (L, S) or (N·heads, L, S), bool (True = not allowed) or added
        to the scores. Weights are (N, L, S) averaged over heads, or
        (N, heads, L, S), or None without ``need_weights``.
        """
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_mask` "
                               "to create this mask.")
        batched = query.dim() == 3
        if self.batch_first and batched:
            query, key, value = (x.transpose(1, 0) for x in (query, key, value))
        if not batched:
            query, key, value = (x.unsqueeze(1) for x in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        output, weights = self._attention(query, key, value, key_padding_mask, need_weights,
                                          attn_mask, average_attn_weights)
        if not batched:
            output = output.squeeze(1)
            weights = weights.squeeze(0) if weights is not None else None
        elif self.batch_first:
            output = output.transpose(1, 0)
        return output, weights

    def _attention(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask,
                   need_weights: bool, attn_mask, average_attn_weights: bool) -> tuple:
        """The attention on (L, N, E) inputs."""
        tgt_len, bsz, embed_dim = query.shape
        if embed_dim != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but "
                                 f"got {embed_dim}")
        if key.shape[:2] != value.shape[:2]:
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        heads, head_dim = self.num_heads, self.head_dim
        key_padding_mask = _float_mask(key_padding_mask, "key_padding_mask", query.dtype)
        attn_mask = self._check_attn_mask(_float_mask(attn_mask, "attn_mask", query.dtype),
                                          tgt_len, key.size(0), bsz)
        q, k, v = self._in_projection(query, key, value)
        if self.bias_k is not None:
            k = ops.shape.cat([k, self.bias_k.expand(1, bsz, embed_dim)])
            v = ops.shape.cat([v, self.bias_v.expand(1, bsz, embed_dim)])
            attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
        # (L, N, E) -> (N·heads, L, head_dim)
        q = q.reshape(tgt_len, bsz * heads, head_dim).transpose(0, 1)
        k = k.reshape(k.size(0), bsz * heads, head_dim).transpose(0, 1)
        v = v.reshape(v.size(0), bsz * heads, head_dim).transpose(0, 1)
        if self.add_zero_attn:
            zeros = ops.creation.zeros((bsz * heads, 1, head_dim), dtype=q.dtype,
                                       device=q.device)
            k, v = ops.shape.cat([k, zeros], 1), ops.shape.cat([v, zeros], 1)
            attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
        src_len = k.size(1)
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (bsz, src_len):
                raise AssertionError(f"expecting key_padding_mask shape of {(bsz, src_len)}, "
                                     f"but got {tuple(key_padding_mask.shape)}")
            key_padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(
                bsz, heads, 1, src_len).reshape(bsz * heads, 1, src_len)
            attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
        scores = (q * (1.0 / math.sqrt(head_dim))).matmul(k.transpose(-2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = F.softmax(scores, dim=-1)
        if self.training and self.dropout > 0.0:
            weights = F.dropout(weights, p=self.dropout)
        output = weights.matmul(v)  # (N·heads, L, head_dim)
        output = output.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        output = self.out_proj(output).reshape(tgt_len, bsz, embed_dim)
        if not need_weights:
            return output, None
        weights = weights.reshape(bsz, heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        return output, weights

    def _check_attn_mask(self, attn_mask: Tensor | None, tgt_len: int, src_len: int,
                         bsz: int) -> Tensor | None:
        if attn_mask is None:
            return None
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(tgt_len, src_len)}.")
            return attn_mask.unsqueeze(0)
        if attn_mask.dim() == 3:
            expected = (bsz * self.num_heads, tgt_len, src_len)
            if tuple(attn_mask.shape) != expected:
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {expected}.")
            return attn_mask
        raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

