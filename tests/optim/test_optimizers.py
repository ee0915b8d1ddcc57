"""Optimizers against torch.optim: the same parameters and gradients give the same trajectory.

Each case runs a few steps of our optimizer and of torch's from identical
parameters with identical (pseudo-random, step-dependent) gradients, on cpu
and cuda (Triton interpreter), and compares the parameters and every state
buffer after each step. Also: param groups, zero_grad, closures, state dicts,
bad hyper-parameters.
"""
import numpy as np
import pytest
import torch

import framework
import framework.optim as optim

SHAPES = [(3, 4), (5,)]
STEPS = 4

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1, weight_decay=0.1)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, betas=(0.9, 0.5), decoupled_weight_decay=True)),
]


def _grads(step: int) -> list:
    rng = np.random.default_rng(100 + step)
    return [rng.standard_normal(shape) for shape in SHAPES]


def _pair(device: str, dtype=np.float32):
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]
    ours = [framework.tensor(v, device=device, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    return ours, theirs


def _assert_state_matches(ours, theirs, opt, topt, atol) -> None:
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().cpu().numpy(), tp.detach().numpy(), atol=atol,
                                   rtol=atol)
        state, tstate = opt.state[p], topt.state[tp]
        assert set(state) == set(tstate)
        for key, value in tstate.items():
            if isinstance(value, torch.Tensor):
                np.testing.assert_allclose(np.asarray(state[key].detach().cpu().numpy()),
                                           value.detach().numpy(), atol=atol, rtol=atol,
                                           err_msg=key)


def _run_both(name, kwargs, device, dtype=np.float32, atol=1e-5):
    ours, theirs = _pair(device, dtype)
    opt = getattr(optim, name)(ours, **kwargs)
    topt = getattr(torch.optim, name)(theirs, **kwargs)
    for step in range(STEPS):
        for p, tp, g in zip(ours, theirs, _grads(step)):
            p.grad = framework.tensor(g.astype(dtype), device=device)
            tp.grad = torch.tensor(g.astype(dtype))
        opt.step()
        topt.step()
        _assert_state_matches(ours, theirs, opt, topt, atol)
    return opt, ours


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_optimizer_trajectory_matches_torch(name, kwargs, device):
    _run_both(name, kwargs, device)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_float64_parameters_update_in_float64(name, device):
    _run_both(name, dict(lr=0.01, momentum=0.9) if name == "SGD" else dict(lr=0.01), device,
              dtype=np.float64, atol=1e-12)


def test_half_parameters_update_through_float32(device):
    p = framework.tensor([1.0, -2.0], dtype=framework.bfloat16, device=device, requires_grad=True)
    p.grad = framework.tensor([0.5, 0.5], dtype=framework.bfloat16, device=device)
    optim.SGD([p], lr=0.5).step()
    assert p.dtype is framework.bfloat16
    assert p.tolist() == [0.75, -2.25]


def test_parameters_without_grad_are_skipped(device):
    p = framework.ones(3, device=device, requires_grad=True)
    q = framework.ones(3, device=device, requires_grad=True)
    q.grad = framework.ones(3, device=device)
    opt = optim.Adam([p, q], lr=0.1)
    opt.step()
    assert p.tolist() == [1.0, 1.0, 1.0]
    assert p not in opt.state
    assert q.tolist() != [1.0, 1.0, 1.0]


def test_non_contiguous_parameter_is_updated_in_place(device):
    base = framework.zeros(4, 3, device=device)
    p = base.t().detach().requires_grad_()
    p.grad = framework.ones(3, 4, device=device)
    optim.SGD([p], lr=1.0).step()
    assert p.stride() == (1, 3)
    assert p.tolist() == [[-1.0] * 4] * 3


def test_step_bumps_the_version_counter(device):
    p = framework.ones(2, device=device, requires_grad=True)
    p.grad = framework.ones(2, device=device)
    before = p._version
    optim.SGD([p], lr=0.1).step()
    assert p._version > before


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_step_bumps_the_version_of_every_tensor_it_writes(name, kwargs, device):
    """The fused step (framework/ops/optim.py) bumps the parameter and each state buffer (the
    state tensors of the parameter's shape); host scalars such as ``step`` are replaced by new
    tensors each step, as in PyTorch."""
    params = [framework.ones(2, 3, device=device, requires_grad=True)]
    opt = getattr(optim, name)(params, **kwargs)
    for p in params:
        p.grad = framework.full((2, 3), 0.5, device=device)
    opt.step()  # creates the state
    buffers = {key: value for key, value in opt.state[params[0]].items()
               if isinstance(value, framework.Tensor) and value.shape == params[0].shape}
    assert buffers or name == "SGD" and not kwargs.get("momentum")
    before = {key: value._version for key, value in buffers.items()}
    param_before = params[0]._version
    opt.step()
    assert params[0]._version > param_before
    assert {key: value._version > before[key] for key, value in buffers.items()} == \
        {key: True for key in buffers}


def test_a_tensor_saved_for_backward_and_stepped_raises(device):
    """The version bump is what lets autograd refuse a gradient through an updated weight."""
    w = framework.ones(3, device=device, requires_grad=True)
    loss = (w * w).sum()
    w.grad = framework.ones(3, device=device)
    optim.Adam([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_param_groups_have_their_own_hyperparameters():
    a = framework.ones(2, requires_grad=True)
    b = framework.ones(2, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1, momentum=0.5)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 1.0]
    assert opt.param_groups[1]["momentum"] == 0.5
    a.grad = framework.ones(2)
    b.grad = framework.ones(2)
    opt.step()
    assert a.tolist() == pytest.approx([0.9, 0.9])
    assert b.tolist() == pytest.approx([0.0, 0.0])


def test_add_param_group_rejects_duplicates_and_fills_defaults():
    a = framework.ones(2, requires_grad=True)
    opt = optim.Adam([a], lr=0.1)
    b = framework.ones(2, requires_grad=True)
    opt.add_param_group({"params": b})
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_zero_grad_sets_to_none_or_zeros():
    p = framework.ones(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = framework.ones(2)
    opt.zero_grad(set_to_none=False)
    assert p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None


def test_step_with_closure_returns_the_loss():
    p = framework.tensor([2.0], requires_grad=True)
    opt = optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert float(loss) == 4.0
    assert p.tolist() == [1.0]


def test_state_dict_round_trip_continues_the_trajectory():
    ours, theirs = _pair("cpu")
    opt = optim.Adam(ours, lr=0.01)
    topt = torch.optim.Adam(theirs, lr=0.01)
    for step in range(2):
        for p, tp, g in zip(ours, theirs, _grads(step)):
            p.grad = framework.tensor(g.astype(np.float32))
            tp.grad = torch.tensor(g.astype(np.float32))
        opt.step()
        topt.step()
    saved = opt.state_dict()
    assert saved["param_groups"][0]["params"] == [0, 1]
    fresh = optim.Adam(ours, lr=0.5)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == 0.01
    for p, tp, g in zip(ours, theirs, _grads(2)):
        p.grad = framework.tensor(g.astype(np.float32))
        tp.grad = torch.tensor(g.astype(np.float32))
    fresh.step()
    topt.step()
    _assert_state_matches(ours, theirs, fresh, topt, 1e-5)


def test_load_state_dict_rejects_mismatched_groups():
    a = framework.ones(2, requires_grad=True)
    b = framework.ones(2, requires_grad=True)
    saved = optim.SGD([a, b], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([a], lr=0.1).load_state_dict(saved)


@pytest.mark.parametrize("make,message", [
    (lambda p: optim.SGD(p, lr=-1.0), "Invalid learning rate"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
    (lambda p: optim.Adam(p, eps=-1.0), "Invalid epsilon value"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires"),
    (lambda p: optim.RMSprop(p, momentum=-0.1), "Invalid momentum value"),
    (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
])
def test_bad_hyperparameters_raise_value_error(make, message):
    with pytest.raises(ValueError, match=message):
        make([framework.ones(2, requires_grad=True)])


def test_non_leaf_and_non_tensor_parameters_are_refused():
    p = framework.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([1.0], lr=0.1)


@pytest.mark.parametrize("kwargs", [dict(), dict(lr=0.5, max_iter=5, history_size=3),
                                    dict(lr=0.1, max_iter=3, tolerance_change=1e-3)])
def test_lbfgs_matches_torch(kwargs):
    """LBFGS (no line search: the style-transfer tutorial's form): the closure is called as
    torch calls it and the parameters follow torch's over several steps; state round trip."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((6, 4)), rng.standard_normal(6)
    w0 = rng.standard_normal(4)

    def run(lib, optim_module):
        w = lib.tensor(w0, requires_grad=True)
        A, B = lib.tensor(a), lib.tensor(b)
        opt = optim_module.LBFGS([w], **kwargs)
        calls = []

        def closure():
            opt.zero_grad()
            loss = ((A @ w - B) ** 2).sum() + (w ** 4).sum() * 0.1
            loss.backward()
            calls.append(float(loss))
            return loss
        returned = [float(opt.step(closure)) for _ in range(3)]
        return w.detach().numpy(), calls, returned, opt
    got, got_calls, got_ret, opt = run(framework, optim)
    want, want_calls, want_ret, _ = run(torch, torch.optim)
    assert len(got_calls) == len(want_calls)
    np.testing.assert_allclose(got_calls, want_calls, rtol=1e-9)
    np.testing.assert_allclose(got_ret, want_ret, rtol=1e-9)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
    state = opt.state_dict()
    assert state["state"][0]["n_iter"] > 0 and "d" in state["state"][0]
    with pytest.raises(ValueError, match="per-parameter options"):
        optim.LBFGS([{"params": [framework.ones(1, requires_grad=True)]},
                     {"params": [framework.ones(1, requires_grad=True)]}])
    with pytest.raises(NotImplementedError, match="strong_wolfe"):
        optim.LBFGS([framework.ones(1, requires_grad=True)], line_search_fn="strong_wolfe")
