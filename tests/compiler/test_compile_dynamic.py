"""framework.compile's dynamic shapes (torch.compile's): without gradients, the second set
of sizes of a signature makes a graph with the changed dims symbolic, which then replays
at any size (``dynamic=None``); ``dynamic=True`` starts symbolic, ``dynamic=False`` never."""
from __future__ import annotations

import numpy as np
import pytest
from compiler_models import on

import framework
import framework.nn as nn


def _close(a, b):
    a = a[0] if isinstance(a, tuple) else a
    b = b[0] if isinstance(b, tuple) else b
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(),
                               rtol=1e-5, atol=1e-6)


def _batch(x, size: int):
    return x[framework.arange(size, device=x.device) % x.shape[0]]


@pytest.mark.parametrize("device,name", [("cpu", "mlp"), ("cpu", "cnn"), ("cpu", "gru"),
                                         ("cpu", "encoder_block"), ("cuda", "causal_block")])
def test_second_batch_size_makes_a_symbolic_graph(device, name):
    module, (x,) = on(device, name)
    compiled = framework.compile(module)
    with framework.no_grad():
        for size in (2, 3, 5, 1, 6, 9):  # 2 static, 3 symbolic, 1 static (0/1 specialize)
            xb = _batch(x, size)
            _close(compiled(xb), module(xb))
    assert compiled._compiled.stats == {"traces": 3, "replays": 3, "eager": 0}


@pytest.mark.parametrize("dynamic,traces", [(True, 1), (False, 4)])
def test_dynamic_true_starts_symbolic_and_false_never(dynamic, traces):
    module, (x,) = on("cpu", "mlp")
    compiled = framework.compile(module, dynamic=dynamic)
    with framework.no_grad():
        for size in (2, 3, 4, 5):
            xb = _batch(x, size)
            _close(compiled(xb), module(xb))
    assert compiled._compiled.stats["traces"] == traces


def test_symbolic_graph_reads_live_parameters_and_grows_with_new_dims():
    lin = nn.Linear(4, 3)

    @framework.compile
    def f(x, y):
        return lin(x).relu() + y.sum(dim=1, keepdim=True)

    with framework.no_grad():
        for b, n in ((2, 7), (3, 7), (4, 7), (5, 2), (6, 8), (7, 9)):
            x, y = framework.randn(b, 4), framework.randn(b, n)
            _close(f(x, y), lin(x).relu() + y.sum(dim=1, keepdim=True))
            lin.weight.mul_(1.1)  # an in-place update: the graph reads the live weight
    # static (2, 7); symbolic batch at (3, 7); remade with y's dim 1 too at (5, 2)
    assert f.stats == {"traces": 3, "replays": 3, "eager": 0}


def test_a_program_that_depends_on_the_size_stays_static_and_right():
    @framework.compile
    def f(x):
        return x.reshape(2, -1) if x.shape[0] % 2 == 0 else x * 2  # control flow on a size

    for size in (2, 4, 3, 6):
        x = framework.randn(size, 3)
        with framework.no_grad():
            _close(f(x), x.reshape(2, -1) if size % 2 == 0 else x * 2)
    assert f.stats["eager"] == 0 and f.stats["traces"] == 4


def test_mark_dynamic_makes_the_first_graph_symbolic_and_mark_static_keeps_dims():
    module, (x,) = on("cpu", "mlp")
    compiled = framework.compile(module)
    first = _batch(x, 4)
    framework._dynamo.mark_dynamic(first, 0)
    with framework.no_grad():
        for size in (4, 2, 7):
            xb = first if size == 4 else _batch(x, size)
            _close(compiled(xb), module(xb))
    assert compiled._compiled.stats == {"traces": 1, "replays": 2, "eager": 0}

    static = framework.compile(module, dynamic=True)
    pinned = _batch(x, 4)
    framework._dynamo.mark_static(pinned)  # every dim static: no symbolic graph
    with framework.no_grad():
        _close(static(pinned), module(pinned))
        _close(static(_batch(x, 5)), module(_batch(x, 5)))
    assert static._compiled.stats["traces"] == 2
    with pytest.raises(IndexError, match="dim 2 out of range"):
        framework._dynamo.mark_dynamic(x, 2)
    with pytest.raises(TypeError, match="expected a Tensor"):
        framework._dynamo.mark_static([1, 2], 0)


def test_symbolic_graph_sees_a_rebound_plain_tensor_attribute():
    """A plain tensor attribute (not a parameter or buffer) is a constant of the symbolic
    graph, guarded as in a static one: rebinding it remakes the graph (the guards of both
    kinds of graph are built by one function)."""
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(3, 3)
            self.scale = framework.tensor(2.0)

        def forward(self, x):
            return self.linear(x) * self.scale

    module = Scaled()
    compiled = framework.compile(module)
    with framework.no_grad():
        for step, size in enumerate((2, 3, 4, 5, 6)):
            if step == 3:
                module.scale = framework.tensor(5.0)
            x = framework.randn(size, 3)
            _close(compiled(x), module(x))
    assert compiled._compiled.stats == {"traces": 3, "replays": 2, "eager": 0}
