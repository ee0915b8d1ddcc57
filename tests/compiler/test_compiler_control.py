"""torch.compiler / torch._dynamo / torch.jit / torch.onnx query and control functions:
is_compiling and friends report which capture runs, reset drops every cached graph,
disable keeps a function eager, config.cache_size_limit applies, export.save/load
round-trips an exported program."""
from __future__ import annotations

import logging

import numpy as np
import pytest

import framework
import framework.nn as nn
from framework.export import Dim

pytest.importorskip("onnx")

QUERIES = {
    "is_compiling": lambda: framework.compiler.is_compiling(),
    "is_exporting": lambda: framework.compiler.is_exporting(),
    "is_tracing": lambda: framework.jit.is_tracing(),
    "in_onnx_export": lambda: framework.onnx.is_in_onnx_export(),
    "dynamo_is_compiling": lambda: framework._dynamo.is_compiling(),
}


class _Recorder(nn.Module):
    """A linear layer whose forward records what each query answers while it runs."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.seen: list = []

    def forward(self, x):
        self.seen.append({name: query() for name, query in QUERIES.items()})
        return self.linear(x).relu()


def _answers(run) -> dict:
    """What each query answered in every forward call ``run`` made (all calls must agree)."""
    model = _Recorder().eval()
    run(model, framework.randn(2, 4))
    assert model.seen, "the forward never ran"
    first = model.seen[0]
    assert all(seen == first for seen in model.seen)
    return first


def _onnx_export(model, x, tmp_path):
    framework.onnx.export(model, (x,), str(tmp_path / "m.onnx"))


@pytest.mark.parametrize("capture, expected", [
    ("eager", set()),
    ("compile", {"is_compiling", "dynamo_is_compiling"}),
    ("jit_trace", {"is_tracing"}),
    ("export", {"is_compiling", "dynamo_is_compiling", "is_exporting"}),
    ("onnx", {"is_compiling", "dynamo_is_compiling", "is_exporting", "is_tracing",
              "in_onnx_export"}),
])
def test_queries_report_which_capture_runs_the_forward(capture, expected, tmp_path):
    runs = {
        "eager": lambda m, x: m(x),
        "compile": lambda m, x: framework.compile(m)(x),
        "jit_trace": lambda m, x: framework.jit.trace(m, x, check_trace=False),
        "export": lambda m, x: framework.export.export(m, (x,)),
        "onnx": lambda m, x: _onnx_export(m, x, tmp_path),
    }
    answers = _answers(runs[capture])
    assert {name for name, value in answers.items() if value} == expected
    assert framework.compiler.is_compiling() is False  # and off again afterwards


def test_queries_are_false_in_replays_of_a_compiled_module():
    model = _Recorder().eval()
    compiled = framework.compile(model)
    x = framework.randn(2, 4)
    with framework.no_grad():
        compiled(x)
        calls = len(model.seen)
        compiled(x)
    assert compiled._compiled.stats["replays"] == 1 and len(model.seen) == calls


def test_is_scripting_is_false_and_script_markers_leave_functions_as_they_are():
    class Model(nn.Module):
        @framework.jit.ignore
        def helper(self, x):
            return x + 1

        @framework.jit.unused
        def spare(self, x):
            return x * 3

        @framework.jit.export
        def other(self, x):
            return x * 2

        @framework.jit.ignore(drop=True)
        def dropped(self, x):
            return x - 1

    m, x = Model(), framework.ones(2)
    assert framework.jit.is_scripting() is False
    np.testing.assert_array_equal(m.helper(x).numpy(), [2, 2])
    np.testing.assert_array_equal(m.spare(x).numpy(), [3, 3])
    np.testing.assert_array_equal(m.other(x).numpy(), [2, 2])
    np.testing.assert_array_equal(m.dropped(x).numpy(), [0, 0])
    assert framework.jit.annotate(list, [1]) == [1]
    with pytest.raises(TypeError, match="expected a function"):
        framework.jit.unused(3)


@pytest.mark.parametrize("reset", [lambda: framework.compiler.reset(),
                                   lambda: framework._dynamo.reset()],
                         ids=["compiler.reset", "_dynamo.reset"])
def test_reset_makes_every_compiled_function_trace_again(reset):
    module = framework.compile(nn.Linear(3, 2).eval())
    function = framework.compile(lambda a: a * 2 + 1)
    x = framework.randn(4, 3)
    with framework.no_grad():
        module(x)
        function(x)
        reset()
        assert len(module._compiled.cache) == 0 and len(function.cache) == 0
        np.testing.assert_allclose(function(x).numpy(), (x * 2 + 1).numpy())
        module(x)
    assert module._compiled.stats["traces"] == 2 and function.stats["traces"] == 2


def test_disable_keeps_a_function_eager_under_compile():
    @framework.compiler.disable
    def double(a):
        return a * 2

    marked = framework.compiler.disable(lambda a: a - 1)
    assert framework.compile(double) is double
    assert framework.compile(marked) is marked
    np.testing.assert_array_equal(double(framework.ones(2)).numpy(), [2, 2])
    inner = framework._dynamo.disable(recursive=True)(lambda a: a + 5)
    np.testing.assert_array_equal(inner(framework.zeros(1)).numpy(), [5])

    outer = framework.compile(lambda a: double(a) + 1)  # captured with its caller: same values
    np.testing.assert_array_equal(outer(framework.ones(3)).numpy(), [3, 3, 3])
    with pytest.raises(TypeError, match="expected a callable"):
        framework.compiler.disable(5)


def test_config_cache_size_limit_applies_to_compiled_functions(caplog, monkeypatch):
    monkeypatch.setattr(framework._dynamo.config, "cache_size_limit", 2)
    function = framework.compile(lambda a: a + 1, dynamic=False)  # static: a graph per size
    with caplog.at_level(logging.INFO, logger="framework.compile"):
        for n in range(1, 5):
            np.testing.assert_array_equal(function(framework.zeros(n)).numpy(), np.ones(n))
    assert function.stats == {"traces": 2, "replays": 0, "eager": 2}
    assert "cache_size_limit (2) reached: 2 signatures already compiled" in caplog.text
    with pytest.raises(ValueError, match="non-negative int"):
        function.cache_size_limit = -1


def test_backends_listed_are_accepted_and_others_refused():
    model = nn.Linear(2, 2)
    for backend in framework.compiler.list_backends():
        framework.compile(model, backend=backend)
    with pytest.raises(RuntimeError, match="invalid backend 'tvm'"):
        framework.compile(model, backend="tvm")
    with pytest.raises(TypeError, match="custom backend functions"):
        framework.compile(model, backend=lambda gm, example_inputs: gm)


def test_pass_through_markers_return_the_function_and_refuse_non_callables():
    def f(a):
        return a

    assert framework.compiler.allow_in_graph(f) is f
    assert framework.compiler.assume_constant_result(f) is f
    assert framework.jit.script_if_tracing(f) is f
    assert framework.compiler.cudagraph_mark_step_begin() is None
    with pytest.raises(TypeError, match="expected a callable"):
        framework.compiler.allow_in_graph("f")


def test_export_save_and_load_keep_the_symbolic_batch(tmp_path):
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).eval()
    x = framework.randn(3, 4)
    program = framework.export.export(model, (x,), dynamic_shapes=({0: Dim("batch")},))
    framework.export.save(program, str(tmp_path / "program"))
    loaded = framework.export.load(str(tmp_path / "program"))
    assert isinstance(loaded, framework.export.ExportedProgram)
    for batch in (3, 6):
        x = framework.randn(batch, 4)
        np.testing.assert_allclose(loaded.module()(x).detach().numpy(),
                                   model(x).detach().numpy(), rtol=1e-6, atol=1e-7)
    with pytest.raises(TypeError, match="expected an ExportedProgram"):
        framework.export.save(model, str(tmp_path / "other"))
