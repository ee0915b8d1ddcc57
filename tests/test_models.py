"""Whole models written with ``nn.functional`` match PyTorch's outputs and every gradient.

A LeNet-style CNN (conv, relu, max/avg pooling, linear, cross_entropy) and a
pre-norm transformer block (layer_norm, linear, causal scaled-dot-product
attention, gelu, residuals, softmax-based loss) are each written once against
an ``F`` namespace and run with ``framework.nn.functional`` and with
``torch.nn.functional`` (float64 oracle) on cpu and cuda (the interpreter).
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework
import framework.nn.functional as FF
from helpers import check_op

RNG = np.random.default_rng(7)


def _randn(*shape, scale=0.5):
    return RNG.standard_normal(shape) * scale


def lenet(F, x, w1, b1, w2, b2, w3, b3, target):
    """conv3x3 → relu → maxpool2 → conv3x3 → relu → avgpool(1 → global) → linear → CE."""
    h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
    h = F.relu(F.conv2d(h, w2, b2))
    h = F.adaptive_avg_pool2d(h, (2, 2)).flatten(1)
    logits = F.linear(h, w3, b3)
    return F.cross_entropy(logits, target)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_lenet_forward_and_gradients_match_torch(device):
    inputs = [_randn(2, 1, 8, 8, scale=1.0), _randn(3, 1, 3, 3), _randn(3), _randn(4, 3, 3, 3),
              _randn(4), _randn(5, 16), _randn(5), np.array([1, 4])]
    dtypes = [None] * 7 + [framework.int64]
    check_op(lambda *a: lenet(FF, *a), lambda *a: lenet(TF, *a), inputs, device=device,
             input_dtypes=dtypes, atol=1e-5, rtol=1e-4)


def transformer_block(F, x, ln1_w, ln1_b, w_qkv, b_qkv, w_o, b_o, ln2_w, ln2_b, w_1, b_1, w_2,
                      b_2, heads=2):
    """Pre-norm block: x + attn(ln(x)); then + mlp(ln(.)); loss = mean softmax entropy-ish."""
    batch, length, width = x.shape
    h = F.layer_norm(x, (width,), ln1_w, ln1_b)
    q, k, v = F.linear(h, w_qkv, b_qkv).chunk(3, dim=-1)

    def split(t):
        return t.reshape(batch, length, heads, width // heads).transpose(1, 2)

    attended = F.scaled_dot_product_attention(split(q), split(k), split(v), is_causal=True)
    attended = attended.transpose(1, 2).reshape(batch, length, width)
    x = x + F.linear(attended, w_o, b_o)
    h = F.layer_norm(x, (width,), ln2_w, ln2_b)
    x = x + F.linear(F.gelu(F.linear(h, w_1, b_1)), w_2, b_2)
    return (F.log_softmax(x, dim=-1) * F.softmax(x, dim=-1)).sum(-1).mean()


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_transformer_block_forward_and_gradients_match_torch(device):
    width, hidden = 8, 16
    inputs = [_randn(2, 5, width, scale=1.0), 1 + _randn(width, scale=0.1), _randn(width),
              _randn(3 * width, width), _randn(3 * width), _randn(width, width), _randn(width),
              1 + _randn(width, scale=0.1), _randn(width), _randn(hidden, width), _randn(hidden),
              _randn(width, hidden), _randn(width)]
    check_op(lambda *a: transformer_block(FF, *a), lambda *a: transformer_block(TF, *a), inputs,
             device=device, atol=1e-5, rtol=1e-4)
