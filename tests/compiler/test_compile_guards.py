"""framework.compile's fast path: a repeated call skips the full signature while a generated
identity check of the module state holds; every change the signature sees must still be seen
once the fast path is warm (each test warms it first, then changes one thing)."""
from __future__ import annotations

import numpy as np
import pytest

import framework
import framework.nn as nn


def _same(a, b):
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def _warm(compiled, *args):
    """Trace, replay through the full signature, then replay through the fast path."""
    function = getattr(compiled, "_compiled", compiled)
    for _ in range(3):
        compiled(*args)
    assert function._fast and function._guard is not None, "the fast path is not armed"
    before = function.stats["replays"]
    compiled(*args)
    assert function.stats["replays"] == before + 1
    return function


class _ByMode(nn.Module):
    """A layer whose forward branches on ``self.training`` (traced once per mode)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)

    def forward(self, x):
        y = self.linear(x)
        return y * 2.0 if self.training else y * 3.0


def _model():
    framework.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def test_the_fast_path_replays_without_tracing_and_agrees_with_eager():
    model = _model()
    compiled = framework.compile(model)
    x = framework.randn(5, 4)
    with framework.no_grad():
        function = _warm(compiled, x)
        _same(compiled(x), model(x))
    assert function.stats["traces"] == 1


def test_a_parameter_written_in_place_is_read_by_the_fast_path():
    model = _model()
    compiled = framework.compile(model)
    x = framework.randn(5, 4)
    with framework.no_grad():
        function = _warm(compiled, x)
        model[0].weight.mul_(2.0)
        model[2].bias.add_(1.0)
        _same(compiled(x), model(x))
    assert function.stats["traces"] == 1


@pytest.mark.parametrize("how", ["setattr", "register", "dict", "data"])
def test_a_swapped_parameter_is_seen(how):
    model = _model()
    compiled = framework.compile(model)
    x = framework.randn(5, 4)
    with framework.no_grad():
        _warm(compiled, x)
        new = nn.Parameter(framework.randn(3, 8))
        if how == "setattr":
            model[2].weight = new
        elif how == "register":
            model[2].register_parameter("weight", new)
        elif how == "dict":
            model[2]._parameters["weight"] = new
        else:  # the same Parameter object, another array under it
            model[2].weight.data = new.detach().clone()
        _same(compiled(x), model(x))


def test_a_swapped_submodule_and_a_reordered_sequential_are_seen():
    model = _model()
    compiled = framework.compile(model)
    x = framework.randn(5, 4)
    with framework.no_grad():
        _warm(compiled, x)
        model[1] = nn.ReLU()
        _same(compiled(x), model(x))
        _warm(compiled, x)
        children = model._modules
        model._modules = {k: children[k] for k in ("0", "1", "2")}  # a new dict, same order
        _same(compiled(x), model(x))
        first = model[0]
        model[0] = nn.Linear(4, 8)
        _same(compiled(x), model(x))
        model[0] = first
        _same(compiled(x), model(x))


def test_train_and_eval_retrace_after_the_fast_path():
    model = _ByMode()
    compiled = framework.compile(model.eval())
    x = framework.randn(2, 4)
    with framework.no_grad():
        function = _warm(compiled, x)
        model.train()
        _same(compiled(x), model(x))
        model.linear.eval()  # a submodule's flag alone
        _same(compiled(x), model(x))
        model.eval()
        _same(compiled(x), model(x))
    assert function.stats["traces"] == 3


class _Scaled(nn.Module):
    """Plain Python attributes that forward reads (a sampling temperature, a switch)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 4)
        self.temperature = 1.0
        self.use_relu = True

    def forward(self, x):
        y = self.linear(x) / self.temperature
        return y.relu() if self.use_relu else y


def test_plain_module_attributes_are_seen_after_the_fast_path():
    """A trace freezes a module's plain attributes, so they are part of the signature (as
    torch.compile guards them): a new value traces again, an old one replays its graph."""
    model = _Scaled()
    compiled = framework.compile(model)
    x = framework.randn(2, 4)
    with framework.no_grad():
        function = _warm(compiled, x)
        model.temperature = 0.5
        _same(compiled(x), model(x))
        model.use_relu = False
        _same(compiled(x), model(x))
        model.linear.out_features = 4  # an equal value: the same graph
        _same(compiled(x), model(x))
        model.temperature, model.use_relu = 1.0, True
        _same(compiled(x), model(x))
        model.drop = nn.Dropout(0.5).eval()  # a new submodule, then its attribute
        compiled(x)
        model.drop.p = 0.25
        _same(compiled(x), model(x))
    # the first, temperature, use_relu, the new submodule, its p (guarded though unread)
    assert function.stats["traces"] == 5


@pytest.mark.parametrize("change", ["shape", "dtype", "requires_grad", "non_contiguous"])
def test_an_input_that_differs_takes_another_entry(change):
    model = _model()
    compiled = framework.compile(model)
    x = framework.randn(6, 4)
    function = _warm(compiled, x)  # grad mode on, input without grad: parameters need grads
    if change == "shape":
        y = framework.randn(2, 4)
    elif change == "dtype":
        model.double()
        y = x.double()
    elif change == "requires_grad":
        y = x.detach().clone().requires_grad_(True)
    else:
        y = framework.randn(4, 6).t()
    out, want = compiled(y), model(y)
    _same(out, want)
    assert out.dtype == want.dtype and out.requires_grad
    if change == "requires_grad":
        out.sum().backward()
        assert y.grad is not None
    expected = 1 if change == "non_contiguous" else 2
    assert function.stats["traces"] == expected


def test_grad_mode_and_requires_grad_of_parameters_are_seen():
    model = _model()
    compiled = framework.compile(model)
    x = framework.randn(5, 4)
    function = _warm(compiled, x)
    assert compiled(x).requires_grad
    with framework.no_grad():
        out = compiled(x)
        assert not out.requires_grad
        _same(out, model(x))
    model.requires_grad_(False)
    out = compiled(x)
    assert not out.requires_grad and out.grad_fn is None
    _same(out, model(x))
    model.requires_grad_(True)
    assert compiled(x).requires_grad
    assert function.stats["traces"] == 3  # with gradients, under no_grad, without any


def test_autocast_and_the_default_dtype_are_seen_after_the_fast_path():
    module = nn.Linear(4, 4)
    compiled = framework.compile(module)
    x = framework.randn(2, 4)
    with framework.no_grad():
        _warm(compiled, x)
        with framework.autocast("cpu", dtype=framework.bfloat16):
            assert compiled(x).dtype == module(x).dtype == framework.bfloat16
        assert compiled(x).dtype == framework.float32
    make = framework.compile(lambda y: y + framework.ones(4))
    _warm(make, x)
    previous = framework.get_default_dtype()
    framework.set_default_dtype(framework.float64)
    try:
        assert make(x).dtype == framework.float64
    finally:
        framework.set_default_dtype(previous)
    assert make(x).dtype == framework.float32


_NET = nn.Linear(3, 2)


def _through_global(x):
    return _NET(x) * 2.0


def test_a_rebound_global_module_and_its_changes_are_seen():
    global _NET
    compiled = framework.compile(_through_global)
    x = framework.randn(4, 3)
    original = _NET
    try:
        with framework.no_grad():
            _warm(compiled, x)
            _NET.weight.mul_(3.0)
            _same(compiled(x), _through_global(x))
            _NET.bias = nn.Parameter(framework.ones(2))
            _same(compiled(x), _through_global(x))
            _warm(compiled, x)
            _NET = nn.Linear(3, 2)
            _same(compiled(x), _through_global(x))
    finally:
        _NET = original


def test_plain_arguments_are_part_of_the_fast_key():
    compiled = framework.compile(lambda x, k, flag: x * k if flag else x - k)
    x = framework.arange(4.0)
    _warm(compiled, x, 2.0, True)
    _same(compiled(x, 3.0, True), x * 3.0)
    _same(compiled(x, 3.0, False), x - 3.0)
    _same(compiled(x, 2, True), x * 2)


def test_reset_and_a_cleared_cache_retrace():
    model = _model()
    compiled = framework.compile(model)
    x = framework.randn(5, 4)
    with framework.no_grad():
        function = _warm(compiled, x)
        function.reset()
        _same(compiled(x), model(x))
        assert function.stats["traces"] == 2
        _warm(compiled, x)
        function.cache.clear()
        _same(compiled(x), model(x))
        assert function.stats["traces"] == 3


def test_an_outside_constant_written_in_place_is_still_guarded():
    scale = framework.full((3,), 2.0)
    table = {"scale": scale}

    def f(x):
        return x * table["scale"]

    compiled = framework.compile(f)
    x = framework.arange(3.0)
    _warm(compiled, x)
    scale.mul_(5.0)  # a tensor the graph reads by reference: the next call sees it
    _same(compiled(x), x * scale)


def test_training_steps_through_the_fast_path_match_eager():
    framework.manual_seed(0)
    model = _model()
    twin = _model()
    twin.load_state_dict(model.state_dict())
    compiled = framework.compile(twin)
    x = framework.randn(16, 4)
    opt_a = framework.optim.SGD(model.parameters(), lr=0.1)
    opt_b = framework.optim.SGD(twin.parameters(), lr=0.1)
    for _ in range(5):
        for run, opt in ((model, opt_a), (compiled, opt_b)):
            opt.zero_grad()
            run(x).square().mean().backward()
            opt.step()
    for p, q in zip(model.parameters(), twin.parameters()):
        _same(p, q)
    assert compiled._compiled._fast and compiled._compiled.stats["traces"] == 1


def test_buffers_written_in_place_or_swapped_are_seen():
    framework.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Tanh()).eval()
    compiled = framework.compile(model)
    x = framework.randn(5, 4)
    bn = model[1]
    with framework.no_grad():
        _warm(compiled, x)
        bn.running_mean.add_(0.5)  # in place: read by reference
        _same(compiled(x), model(x))
        bn.running_var = framework.full((6,), 4.0)  # a new buffer object
        _same(compiled(x), model(x))
        _warm(compiled, x)
        bn.register_buffer("running_mean", framework.full((6,), -1.0))
        _same(compiled(x), model(x))


def test_one_parameter_s_requires_grad_is_seen():
    model = _model()
    compiled = framework.compile(model)
    x = framework.randn(5, 4)
    _warm(compiled, x)
    model[0].weight.requires_grad_(False)
    out = compiled(x)
    out.sum().backward()
    assert model[0].weight.grad is None and model[2].weight.grad is not None
    _same(out, model(x))


def test_a_state_changing_at_every_call_backs_off_from_building_guards(monkeypatch):
    from framework.compiler import compile as compile_module
    built = []
    init = compile_module._StateGuard.__init__

    def counting(self, *args):
        built.append(1)
        init(self, *args)
    monkeypatch.setattr(compile_module._StateGuard, "__init__", counting)
    model = _model()
    compiled = framework.compile(model)
    x = framework.randn(5, 4)
    with framework.no_grad():
        for _ in range(40):  # a new parameter object at every call: always the full signature
            model[2].weight = nn.Parameter(framework.randn(3, 8))
            _same(compiled(x), model(x))
        assert len(built) <= 4
        for _ in range(200):  # the state settles: the fast path comes back
            compiled(x)
        function = compiled._compiled
        assert function._fast and function._guard is not None and function._guard.holds()
        _same(compiled(x), model(x))


def test_a_replaced_plain_tensor_attribute_is_seen():
    """``model.scale = new_tensor`` (a plain tensor attribute, not a buffer) replaced after
    the graph held the old one as a constant: the next call traces again instead of
    replaying the old value (an in-place write was seen already), with and without grad."""
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)
            self.scale = framework.ones(3)

        def forward(self, x):
            return self.fc(x) * self.scale

    for grad in (False, True):
        model = Scaled()
        compiled = framework.compile(model)
        x = framework.randn(2, 3)
        with framework.set_grad_enabled(grad):
            for value in (1.0, 1.0, 2.0, 3.0):
                if value != 1.0:
                    model.scale = framework.full((3,), value)
                np.testing.assert_allclose(compiled(x).detach().numpy(),
                                           model(x).detach().numpy(), rtol=1e-6, atol=1e-7)
        assert compiled._compiled.stats["replays"] >= 1
