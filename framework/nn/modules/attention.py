"""``MultiheadAttention`` with PyTorch's parameters (``in_proj_weight``, ``out_proj``) and masks."""
from __future__ import annotations

import math

from ...autograd.grad_mode import no_grad
from ...ops.attention import HeadsSpec, eager_cpu, heads_attention
from ...ops.attention import float_mask as _float_mask
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ._factory import empty_parameter
from .linear import Linear, linear
from .module import Module

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear"]


class NonDynamicallyQuantizableLinear(Linear):
    """``Linear`` under the name PyTorch gives ``MultiheadAttention.out_proj`` (same repr)."""


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
        if not need_weights:
            rows = self._rows_attention(query, key, value, key_padding_mask, attn_mask)
            if rows is not None:
                return rows, None
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

    def _rows_attention(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask,
                        attn_mask) -> Tensor | None:
        """The CPU fast path without attention weights: the in-projection as one GEMM per
        distinct input (one (rows, 3E) GEMM for self-attention), the attention as one node
        over strided head views (``ops.attention.heads_attention``), ``out_proj``: no
        reshape, transpose or copy recorded between them. None where it does not apply
        (the general path ``_attention`` then runs, raising its errors):
        ``tests/test_cpu_attention_fast_paths.py`` checks both agree."""
        if not self._rows_path_applies(query, key, value):
            return None
        layout = self._rows_layout(query, key)
        mask = self._rows_mask(key_padding_mask, attn_mask, query, layout)
        if mask is False:
            return None
        e = self.embed_dim
        q_rows = query.reshape(-1, e)
        k_rows = q_rows if key is query else key.reshape(-1, e)
        v_rows = k_rows if value is key else value.reshape(-1, e)
        output = self.out_proj(self._rows_heads(q_rows, k_rows, v_rows, layout, mask))
        return output.reshape(tuple(query.shape)) if query.dim() == 3 else output

    def _rows_layout(self, query: Tensor, key: Tensor) -> tuple:
        """``(batch, length, source, batch_first)`` of inputs the rows path takes: the rows
        of (N, L, E) are ordered n·L + l (``batch_first``), of (L, N, E) and (L, E) l·N + n."""
        if query.dim() == 2:
            return 1, query.shape[0], key.shape[0], False
        if self.batch_first:
            return query.shape[0], query.shape[1], key.shape[1], True
        return query.shape[1], query.shape[0], key.shape[0], False

    def _rows_heads(self, q_rows: Tensor, k_rows: Tensor, v_rows: Tensor, layout: tuple,
                    mask) -> Tensor:
        """The heads' attention output (rows, E) of 2-D query/key/value rows (``layout`` from
        ``_rows_layout``, ``mask`` from ``_rows_mask``), before ``out_proj``."""
        batch, length, source, batch_first = layout
        sources, picks = self._in_projection_rows(q_rows, k_rows, v_rows)
        spec = HeadsSpec(batch, length, source, self.num_heads, self.head_dim, batch_first,
                         picks, 1.0 / math.sqrt(self.head_dim))
        return heads_attention(spec, mask, *sources)

    def _rows_path_applies(self, query: Tensor, key: Tensor, value: Tensor) -> bool:
        """Eager cpu (not under graph capture), packed in-projection, no bias_kv/zero_attn/
        active dropout, inputs of matching ranks, sizes and dtypes (anything else, errors
        included, is the general path's)."""
        if not eager_cpu(query) or not self._qkv_same_embed_dim \
                or self.bias_k is not None or self.add_zero_attn \
                or (self.training and self.dropout > 0.0):
            return False
        dtype, e = self.in_proj_weight.dtype, self.embed_dim
        if not (query.dtype is key.dtype is value.dtype is dtype) or query.dim() not in (2, 3):
            return False
        if not query.dim() == key.dim() == value.dim():
            return False
        if query.shape[-1] != e or key.shape[-1] != e or value.shape[-1] != e \
                or key.shape[:-1] != value.shape[:-1] or query.numel() == 0 or key.numel() == 0:
            return False
        batch_dim = 0 if self.batch_first else 1
        return query.dim() == 2 or query.shape[batch_dim] == key.shape[batch_dim]

    def _rows_mask(self, key_padding_mask, attn_mask, query: Tensor, layout: tuple):
        """The float mask (broadcastable to (N, heads, L, S)) of the fast path, None without
        masks, False where the general path must run: a mask that requires grad or is
        mis-shaped, or a query row with every key masked (the general path's softmax gives
        NaN there, the fused kernel 0)."""
        if key_padding_mask is None and attn_mask is None:
            return None
        heads, dtype = self.num_heads, query.dtype
        batch, length, source, _ = layout
        if key_padding_mask is not None and query.dim() == 2:
            key_padding_mask = key_padding_mask.unsqueeze(0)
        padding = _float_mask(key_padding_mask, "key_padding_mask", dtype)
        attn = _float_mask(attn_mask, "attn_mask", dtype)
        if any(m is not None and (m.requires_grad or m.dtype is not dtype or
                                  m.device != self.in_proj_weight.device)
               for m in (padding, attn)):
            return False
        if padding is not None and tuple(padding.shape) != (batch, source):
            return False
        if attn is not None:
            if attn.dim() == 2 and tuple(attn.shape) == (length, source):
                attn = attn.reshape(1, 1, length, source)
            elif attn.dim() == 3 and tuple(attn.shape) == (batch * heads, length, source):
                attn = attn.reshape(batch, heads, length, source)
            else:
                return False
        padding = None if padding is None else padding.reshape(batch, 1, 1, source)
        mask = padding if attn is None else attn if padding is None else attn + padding
        with no_grad():
            if bool((mask == float("-inf")).all(-1).any()):
                return False
        return mask

    def _in_projection_rows(self, query: Tensor, key: Tensor, value: Tensor) -> tuple:
        """``(sources, picks)`` for ``HeadsSpec``: the in-projections of 2-D input rows, one
        GEMM per distinct input (self-attention: one packed (rows, 3E) GEMM)."""
        e = self.embed_dim
        w, b = self.in_proj_weight, self.in_proj_bias

        def project(rows, lo, hi):
            if lo == 0 and hi == 3 * e:
                return linear(rows, w, b)
            return linear(rows, w[lo:hi], None if b is None else b[lo:hi])
        if query is key and key is value:
            return (project(query, 0, 3 * e),), ((0, 0), (0, e), (0, 2 * e))
        if key is value:
            return (project(query, 0, e), project(key, e, 3 * e)), ((0, 0), (1, 0), (1, e))
        return (project(query, 0, e), project(key, e, 2 * e), project(value, 2 * e, 3 * e)), \
            ((0, 0), (1, 0), (2, 0))

    def _attention(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask,
                   need_weights: bool, attn_mask, average_attn_weights: bool) -> tuple:
        """The attention on (L, N, E) inputs: ``F.multi_head_attention_forward`` with this
        module's weights."""
        return F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight,
            self.in_proj_bias, self.bias_k, self.bias_v, self.add_zero_attn, self.dropout,
            self.out_proj.weight, self.out_proj.bias, training=self.training,
            key_padding_mask=key_padding_mask, need_weights=need_weights, attn_mask=attn_mask,
            use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight,
            v_proj_weight=self.v_proj_weight, average_attn_weights=average_attn_weights)
