"""Graph passes: DCE, constant folding, CSE shrink the graph and keep replay equal to eager."""
from __future__ import annotations

import numpy as np
import pytest

import framework
from framework.compiler import passes
from framework.compiler.ir import DType, Graph, Node
from framework.compiler.runtime import GraphModule


def _trace(fn, *inputs):
    return framework.jit.trace(fn, inputs)


def _ops(graph) -> list:
    return [n.op for n in graph.nodes]


def _same(a, b):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_cse_merges_repeated_pure_nodes(device):
    def fn(x):
        return x.exp() * x.exp() + (x * 2) + (x * 2)
    x = framework.randn(2, 3, device=device)
    traced = _trace(fn, x)
    assert _ops(traced.graph).count("exp") == 2
    removed = passes.cse(traced.graph)
    assert removed == 2 and _ops(traced.graph).count("exp") == 1
    assert _ops(traced.graph).count("mul") == 2  # exp*exp and x*2 differ
    _same(traced(x), fn(x))


def test_cse_keeps_random_and_distinguishes_scalars():
    g = Graph()
    outs = []
    for _ in range(2):
        v = g.new_value((3,), "float32", "cpu")
        g.nodes.append(Node("rand", {"shape": (3,), "dtype": DType("float32"), "seed": 1,
                                     "offset": 0}, [v]))
        outs.append(v)
    x = g.new_value((3,), "float32", "cpu", "input0")
    g.inputs, g.user_inputs = [x], 1
    for scalar in (0.0, -0.0):
        v = g.new_value((3,), "float32", "cpu")
        g.nodes.append(Node("mul", {"a": x, "b": scalar, "compute_dtype": DType("float32"),
                                    "out_dtype": DType("float32")}, [v]))
        outs.append(v)
    g.output = tuple(outs)
    assert passes.cse(g) == 0


def test_cse_does_not_merge_reads_across_a_copy():
    """buf <- x; exp(buf); buf <- y; exp(buf): the two exps read different data."""
    g = Graph()
    x = g.new_value((3,), "float32", "cpu", "input0")
    y = g.new_value((3,), "float32", "cpu", "input1")
    g.inputs, g.user_inputs = [x, y], 2
    buf = g.new_value((3,), "float32", "cpu")
    e1, e2 = g.new_value((3,), "float32", "cpu"), g.new_value((3,), "float32", "cpu")
    f32 = DType("float32")
    g.nodes = [Node("empty", {"shape": (3,), "dtype": f32}, [buf]),
               Node("copy_", {"dst": buf, "src": x}, [None]),
               Node("exp", {"x": buf, "out_dtype": f32}, [e1]),
               Node("copy_", {"dst": buf, "src": y}, [None]),
               Node("exp", {"x": buf, "out_dtype": f32}, [e2])]
    g.output = (e1, e2)
    assert passes.cse(g) == 0
    a, b = framework.randn(3), framework.randn(3)
    got = GraphModule(g, {}, None)(a, b)
    _same(got[0], a.exp())
    _same(got[1], b.exp())


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_constant_fold_replaces_constant_chains(device):
    def fn(x):
        c = (framework.ones(2, 3, device=device) * 2 + 1).exp()
        mask = framework.arange(3, device=device) > 0
        return framework.where(mask, x * c, x)
    x = framework.randn(2, 3, device=device)
    traced = _trace(fn, x)
    before = len(traced.graph.nodes)
    removed = passes.constant_fold(traced.graph)
    assert removed > 0 and len(traced.graph.nodes) == before - removed
    assert "exp" not in _ops(traced.graph) and "arange" not in _ops(traced.graph)
    _same(traced(x), fn(x))


def test_dce_drops_unused_nodes():
    g = Graph()
    x = g.new_value((3,), "float32", "cpu", "input0")
    g.inputs, g.user_inputs = [x], 1
    used, dead = g.new_value((3,), "float32", "cpu"), g.new_value((3,), "float32", "cpu")
    f32 = DType("float32")
    g.nodes = [Node("exp", {"x": x, "out_dtype": f32}, [dead]),
               Node("neg", {"x": x, "out_dtype": f32}, [used])]
    g.output = used
    assert passes.dce(g) == 1 and _ops(g) == ["neg"]
    a = framework.randn(3)
    _same(GraphModule(g, {}, None)(a), -a)


def test_run_passes_on_a_traced_model():
    import framework.nn as nn
    model = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 2)).eval()
    x = framework.randn(3, 4)
    traced = _trace(lambda x: model(x) + model(x), x)
    before = len(traced.graph.nodes)
    removed = passes.run_passes(traced.graph)
    assert removed["cse"] > 0 and len(traced.graph.nodes) < before
    _same(traced(x), model(x) + model(x))
