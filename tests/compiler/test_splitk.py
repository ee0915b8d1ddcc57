"""merge_split_matmuls (framework/compiler/splitk.py): matmuls over adjacent blocks of the
inner dim, summed, become one matmul; results equal eager's within float32 rounding."""
from __future__ import annotations

import numpy as np
import pytest

import framework
import framework.nn as nn
from framework.compiler import splitk
from framework.compiler.compile import optimize


def _close(a, b, tol=1e-5):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(),
                               rtol=tol, atol=tol)


def _three_blocks(g, w):
    """``g[:, :2] @ w[:2] + g[:, 2:5] @ w[2:5] + g[:, 5:] @ w[5:]``: one ``g @ w``."""
    return g[:, :2] @ w[:2] + g[:, 2:5] @ w[2:5] + g[:, 5:] @ w[5:]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_summed_block_matmuls_become_one(device):
    g, w = framework.randn(5, 7, device=device), framework.randn(7, 4, device=device)
    traced = framework.jit.trace(_three_blocks, (g, w))
    assert splitk.merge_split_matmuls(traced.graph) == 2
    ops = [n.op for n in traced.graph.nodes if not n.is_view]
    assert ops == ["matmul"]
    _close(traced(g, w), _three_blocks(g, w))


def test_blocks_that_are_not_adjacent_or_not_the_same_operands_stay():
    g, w, v = framework.randn(5, 7), framework.randn(7, 4), framework.randn(7, 4)
    for fn in (lambda g, w, v: g[:, :2] @ w[:2] + g[:, 3:] @ w[3:],  # column 2 left out
               lambda g, w, v: g[:, :2] @ w[:2] + g[:, 2:] @ v[2:],  # another weight
               lambda g, w, v: g[:, :2] @ w[2:4] + g[:, 2:4] @ w[:2]):  # ranges differ
        traced = framework.jit.trace(fn, (g, w, v))
        assert splitk.merge_split_matmuls(traced.graph) == 0
        np.testing.assert_array_equal(traced(g, w, v).numpy(), fn(g, w, v).numpy())


def test_a_write_into_the_first_block_between_the_matmuls_stops_the_merge():
    def fn(g, w, h):
        buf = framework.empty(5, 4)
        buf[:, :2] = g
        first = buf[:, :2] @ w[:2]
        buf[:, 2:] = h
        second = buf[:, 2:] @ w[2:]
        buf[:, :2] = h  # rewrites the first block after its matmul
        return first + second, buf
    g, h, w = framework.randn(5, 2), framework.randn(5, 2), framework.randn(4, 3)
    traced = framework.jit.trace(fn, (g, w, h))
    optimize(traced.graph)
    got, want = traced(g, w, h), fn(g, w, h)
    np.testing.assert_allclose(got[0].numpy(), want[0].numpy(), rtol=1e-6)

    def fn_ok(g, w, h):
        buf = framework.empty(5, 4)
        buf[:, :2] = g
        first = buf[:, :2] @ w[:2]
        buf[:, 2:] = h  # the second block, written before its matmul: fine
        return first + buf[:, 2:] @ w[2:]
    traced = framework.jit.trace(fn_ok, (g, w, h))
    assert optimize(traced.graph)["split_matmuls"] == 1
    _close(traced(g, w, h), fn_ok(g, w, h))


class _SelfAttention(nn.Module):
    """A linear layer, then self-attention on its output (q, k, v from one input)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc, self.attn = nn.Linear(8, 8), nn.MultiheadAttention(8, 2)

    def forward(self, x):
        h = self.fc(x)
        return self.attn(h, h, h, need_weights=False)[0]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_attention_input_gradient_is_one_matmul(device):
    """MultiheadAttention's q, k, v input gradients from the in_proj weight's row blocks."""
    framework.manual_seed(0)
    eager, twin = _SelfAttention().to(device), _SelfAttention().to(device)
    twin.load_state_dict(eager.state_dict())
    compiled = framework.compile(twin)
    x = framework.randn(3, 2, 8, device=device)
    for module, run in ((eager, eager), (twin, compiled), (twin, compiled)):
        module.zero_grad()
        out = run(x)
        (out * out).sum().backward()
    for p, q in zip(eager.parameters(), twin.parameters()):
        _close(q.grad, p.grad)
    entry = next(iter(compiled._compiled.cache.values()))
    assert entry.optimize_stats["backward"]["split_matmuls"] == 2
