"""framework.compile: one trace per input signature, cached replays, eager fallback with a reason."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from compiler_models import on

import framework
import framework.nn as nn


def _close(a, b):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(),
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_traces_once_per_signature_and_replays(device):
    module, (x,) = on(device, "mlp")
    compiled = framework.compile(module, dynamic=False)  # static: a graph per shape
    assert isinstance(compiled, nn.Module) and compiled._orig_mod is module
    stats = compiled._compiled.stats
    with framework.no_grad():
        for _ in range(3):
            x = framework.randn(3, 6, device=device)
            _close(compiled(x), module(x))
        assert stats == {"traces": 1, "replays": 2, "eager": 0}
        x4 = framework.randn(4, 6, device=device)  # a new shape: a second graph
        _close(compiled(x4), module(x4))
    assert stats["traces"] == 2 and len(compiled._compiled.cache) == 2


def test_sees_parameter_updates_and_mode_changes():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    compiled = framework.compile(model.eval())
    x = framework.randn(2, 4)
    with framework.no_grad():
        compiled(x)
        model[0].weight.mul_(2.0)  # in place, as an optimizer step does
        _close(compiled(x), model(x))
    assert compiled._compiled.stats["replays"] == 1
    model.train()  # another mode: another signature (dropout: a joint graph that redraws)
    with framework.no_grad():
        compiled(x)
    assert compiled._compiled.stats["traces"] == 2


def test_falls_back_to_eager_with_a_logged_reason(caplog):
    def f(x):
        return x * 2 if x.sum().item() > 0 else x * 3  # data-dependent control flow

    compiled = framework.compile(f)
    with caplog.at_level(logging.WARNING, logger="framework.compile"):
        positive = framework.ones(2, 3)
        _close(compiled(positive), positive * 2)
        negative = -framework.ones(2, 3)
        _close(compiled(negative), negative * 3)  # same signature, eager: the right branch
    assert compiled.stats == {"traces": 1, "replays": 0, "eager": 1}
    assert len(caplog.records) == 1
    assert "<locals>.f eagerly" in caplog.text and "Converting a tensor to a Python number" in caplog.text


def test_training_can_be_turned_off_and_runs_eagerly(caplog):
    module, (x,) = on("cpu", "mlp")
    compiled = framework.compile(module, options={"training": False})
    with caplog.at_level(logging.WARNING, logger="framework.compile"):
        compiled(x).sum().backward()
    assert "gradients are needed and options={'training': False}" in caplog.text
    grads = [p.grad.clone() for p in module.parameters()]
    module.zero_grad()
    module(x).sum().backward()
    for g, p in zip(grads, module.parameters()):
        _close(g, p.grad)


def test_fullgraph_raises_instead_of_falling_back():
    @framework.compile(fullgraph=True)
    def f(x):
        return x + bool(x.sum() > 0)

    with pytest.raises(RuntimeError, match="fullgraph=True.*Python boolean"):
        f(framework.randn(3))


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_compiled_modules_inside_a_trace_run_inline(device):
    """A compiled submodule of a compiled model, and jit.trace / export / onnx.export of a
    compiled module: the inner compiled call runs its module inside the outer trace (it used
    to wait forever on the lock of the trace already running)."""
    import io
    framework.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    x = framework.randn(3, 4, device=device)
    want = model(x)
    model[0] = framework.compile(model[0])
    compiled = framework.compile(model)
    _close(compiled(x), want)
    _close(compiled(x), want)
    assert compiled._compiled.stats == {"traces": 1, "replays": 1, "eager": 0}
    assert model[0]._compiled.stats == {"traces": 0, "replays": 0, "eager": 0}
    model.eval()
    _close(framework.jit.trace(compiled, (x,))(x), want)
    _close(framework.export(compiled, (x,))(x), want)
    if device == "cpu":
        framework.onnx.export(compiled, (x,), io.BytesIO())


def test_decorator_forms_and_cache_limit(caplog):
    @framework.compile
    def g(x, scale):
        return x * scale

    for n in range(1, 4):
        _close(g(framework.ones(n), 2.0), framework.full((n,), 2.0))
    assert g.stats["traces"] == 2  # size 1, then a symbolic size (automatic dynamic shapes)
    assert framework.compile(g, disable=True) is g
    h = framework.compile(mode="reduce-overhead")(lambda x: x + 1)
    h.cache_size_limit = 1
    with caplog.at_level(logging.WARNING, logger="framework.compile"):
        h(framework.ones(1))
        _close(h(framework.ones(2)), framework.full((2,), 2.0))
    assert "cache_size_limit (1) reached" in caplog.text


def test_autocast_and_the_default_dtype_are_part_of_the_signature():
    module = nn.Linear(4, 4)
    compiled = framework.compile(module)
    make = framework.compile(lambda x: x + framework.ones(4))
    x = framework.randn(2, 4)
    with framework.no_grad():
        assert compiled(x).dtype == framework.float32
        with framework.autocast("cpu", dtype=framework.bfloat16):
            out = compiled(x)
            assert out.dtype == module(x).dtype == framework.bfloat16
            _close(out.float(), module(x).float())
        assert compiled(x).dtype == framework.float32
        assert make(x).dtype == framework.float32
        previous = framework.get_default_dtype()
        framework.set_default_dtype(framework.float64)
        try:
            assert make(x).dtype == (x + framework.ones(4)).dtype == framework.float64
        finally:
            framework.set_default_dtype(previous)
    assert compiled._compiled.stats["traces"] == 2 and make.stats["traces"] == 2


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_module_compile_compiles_calls_in_place(device):
    """``module.compile()`` (torch's ``nn.Module.compile``): the module itself now traces once
    and replays, with eager's outputs and gradients; its type and state_dict keys stay."""
    module, (x,) = on(device, "mlp")
    twin, _ = on(device, "mlp")
    twin.load_state_dict(module.state_dict())
    keys = list(module.state_dict())
    assert module.compile() is None
    assert type(module) is type(twin) and list(module.state_dict()) == keys
    stats = module._compiled_call_impl.stats
    for _ in range(2):
        x = framework.randn(3, 6, device=device)
        module(x).square().sum().backward()
        twin(x).square().sum().backward()
    assert stats["traces"] == 1 and stats["replays"] == 1
    _close(module(x), twin(x))
    for mine, theirs in zip(module.parameters(), twin.parameters()):
        _close(mine.grad, theirs.grad)


def test_module_compile_takes_compiles_arguments():
    model = nn.Linear(3, 2)
    model.compile(disable=True)  # stays eager
    assert model._compiled_call_impl is None
    model.compile(mode="max-autotune", fullgraph=True)
    x = framework.randn(2, 3)
    _close(model(x), x @ model.weight.t() + model.bias)
    with pytest.raises(RuntimeError, match="mode"):
        nn.Linear(3, 2).compile(mode="fastest")
    with pytest.raises(RuntimeError, match="backend"):
        nn.Linear(3, 2).compile(backend="tensorrt")


def test_a_compiled_module_pickles_and_copies_as_an_eager_one():
    import copy
    import pickle
    model = nn.Sequential(nn.Linear(3, 2))
    model.compile()
    x = framework.randn(2, 3)
    expected = model(x)
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        assert clone._compiled_call_impl is None
        _close(clone(x), expected)
    assert model._compiled_call_impl is not None


def test_boolean_mask_indexing_runs_eagerly_instead_of_replaying_a_fixed_size(caplog):
    """``logits[valid]`` (nonzero underneath) has a size read from the data: a replay at
    the traced size broke (a view of the traced count, buffers of that size). The trace warns
    (``DataDependentTracerWarning``) and the signature runs eagerly, gradients included."""
    framework.manual_seed(0)
    linear = nn.Linear(3, 2)

    def loss_fn(x, y, valid):
        return nn.functional.cross_entropy(linear(x)[valid], y[valid])

    compiled = framework.compile(loss_fn)
    x, y = framework.randn(6, 3), framework.randint(0, 2, (6,))
    with caplog.at_level(logging.WARNING, logger="framework.compile"):
        for count in (3, 4, 1):
            valid = framework.arange(6) < count
            linear.weight.grad = None
            loss_fn(x, y, valid).backward()
            expected = linear.weight.grad
            linear.weight.grad = None
            loss = compiled(x, y, valid)
            loss.backward()
            _close(loss, loss_fn(x, y, valid))
            _close(linear.weight.grad, expected)
    assert compiled.stats["replays"] == 0
    assert "nonzero() (boolean-mask indexing x[mask]" in caplog.text
    # a function of constants only (a fixed mask) is not data-dependent: it replays
    fixed = framework.compile(lambda x: x[framework.tensor([True, False, True])] * 2)
    for _ in range(2):
        _close(fixed(framework.ones(3)), framework.full((2,), 2.0))
    assert fixed.stats == {"traces": 1, "replays": 1, "eager": 0}


def test_recompile_limit_is_the_functions_cache_size_limit(caplog):
    """``compile(recompile_limit=n)`` (torch 2.x): n signatures, then eager with a reason."""
    compiled = framework.compile(lambda x: x * 2, recompile_limit=1, name="double")
    with caplog.at_level(logging.WARNING, logger="framework.compile"):
        for n in (2, 3):
            _close(compiled(framework.ones(n)), framework.full((n,), 2.0))
    assert compiled.stats["traces"] == 1 and compiled.stats["eager"] == 1


def test_an_error_of_the_call_itself_raises_as_in_eager_without_a_fallback_log(caplog):
    """A call that fails in eager too (wrong in-features) raises its own error, with no
    "running eagerly" log and no eager entry cached: a later good call still compiles."""
    module, _ = on("cpu", "mlp")
    compiled = framework.compile(module)
    with caplog.at_level(logging.WARNING, logger="framework.compile"):
        with pytest.raises(RuntimeError, match="cannot be multiplied"):
            compiled(framework.randn(3, 5))
    assert "eagerly" not in caplog.text and compiled._compiled.stats["eager"] == 0
    with framework.no_grad():
        for _ in range(2):
            compiled(framework.randn(3, 6))
    assert compiled._compiled.stats == {"traces": 1, "replays": 1, "eager": 0}


def test_namedtuple_outputs_and_inputs_keep_their_class(tmp_path):
    """A model returning ``Output(logits, hidden)`` (a namedtuple, as many model libraries
    do): compiled replays, with and without grad, a trace and an export return it with its
    class, so ``out.logits`` works past the first call (replays gave plain tuples); a
    loaded graph, without the class, returns a tuple. A namedtuple argument reaches the
    function as one."""
    import collections
    Output = collections.namedtuple("Output", ["logits", "hidden"])

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            y = self.fc(x)
            return Output(y, y.relu())

    model = Model().eval()
    compiled = framework.compile(model)
    x = framework.randn(2, 4)
    for grad in (False, True):
        with framework.set_grad_enabled(grad):
            for _ in range(3):
                out = compiled(x)
                assert type(out) is Output
                _close(out.logits, model(x).logits)
    traced = framework.jit.trace(model, (x,))
    assert type(traced(x)) is Output
    assert type(framework.export(model, (x,), dynamic_shapes=({0: "b"},))(x)) is Output
    framework.jit.save(traced, str(tmp_path / "m.fjit"))
    assert type(framework.jit.load(str(tmp_path / "m.fjit"))(x)) is tuple

    Batch = collections.namedtuple("Batch", ["x", "y"])
    loss = framework.compile(lambda batch: ((model.fc(batch.x) - batch.y) ** 2).mean())
    for _ in range(2):
        loss(Batch(x, framework.zeros(2, 3))).backward()
    assert loss.stats == {"traces": 1, "replays": 1, "eager": 0}
