"""framework.jit.freeze / optimize_for_inference / trace_module / script, and a traced
module's train/eval, as torch.jit's."""
from __future__ import annotations

import numpy as np
import pytest
from compiler_models import on

import framework
import framework.nn as nn


def _close(a, b):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["mlp", "cnn", "causal_block"])
@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_freeze_inlines_parameters_and_keeps_the_outputs(device, name):
    module, args = on(device, name)
    traced = framework.jit.trace(module, args)
    frozen = framework.jit.freeze(traced)
    assert frozen.graph.params == [] and frozen.params == {}
    _close(frozen(*args), module(*args))
    # what read only parameters (a weight's transpose) was computed once, at freeze time
    constants = {o.id for n in frozen.graph.nodes if n.op == "from_numpy" for o in n.outputs}
    assert constants and not any(
        n.inputs() and all(v.id in constants for v in n.inputs()) for n in frozen.graph.nodes)
    assert traced.graph.params  # the traced module is unchanged
    batch = tuple(framework.cat([a, a]) for a in args)  # another batch size
    _close(frozen(*batch), module(*batch))


def test_frozen_module_ignores_later_parameter_changes_and_round_trips(tmp_path):
    module, (x,) = on("cpu", "mlp")
    frozen = framework.jit.freeze(framework.jit.trace(module, (x,)))
    before = module(x)
    with framework.no_grad():
        module[0].weight.mul_(3.0)
    _close(frozen(x), before)
    framework.jit.save(frozen, tmp_path / "frozen")
    _close(framework.jit.load(tmp_path / "frozen")(x), before)


def test_optimize_for_inference_freezes_and_fuses():
    module, (x,) = on("cpu", "causal_block")
    traced = framework.jit.trace(module, (x,))
    optimized = framework.jit.optimize_for_inference(traced)
    assert optimized.graph.params == []
    assert len(optimized.graph.nodes) < len(framework.jit.freeze(traced).graph.nodes)
    _close(optimized(x), module(x))
    again = framework.jit.optimize_for_inference(framework.jit.freeze(traced))
    _close(again(x), module(x))


def test_freeze_refuses_a_graph_that_updates_buffers():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))  # training: running stats
    traced = framework.jit.trace(model, (framework.randn(5, 3),), check_trace=False)
    with pytest.raises(RuntimeError, match="eval"):
        framework.jit.freeze(traced)
    with pytest.raises(TypeError, match="traced module"):
        framework.jit.freeze(model)


def test_trace_module_traces_each_named_method():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(3, 4)

        def forward(self, x):
            return self.body(x).relu()

        def score(self, x):
            return self.body(x).sum(dim=1)

    model = TwoHeads()
    x = framework.randn(2, 3)
    traced = framework.jit.trace_module(model, {"forward": (x,), "score": (x,)})
    _close(traced(x), model(x))
    _close(traced.score(x), model.score(x))
    with pytest.raises(AttributeError, match="no method 'predict'"):
        framework.jit.trace_module(model, {"predict": (x,)})


def test_script_says_what_to_use_instead():
    with pytest.raises(NotImplementedError, match="framework.jit.trace"):
        framework.jit.script(nn.Linear(2, 2))


def test_traced_module_train_and_eval_set_training():
    module, (x,) = on("cpu", "mlp")
    traced = framework.jit.trace(module, (x,))
    assert traced.training is False  # traced in eval mode
    with pytest.warns(UserWarning, match="replays the mode it was traced in"):
        assert traced.train() is traced and traced.training is True
    assert traced.eval() is traced and traced.training is False
    _close(traced(x), module(x))
