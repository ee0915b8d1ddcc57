"""Optimizers against torch.optim: the same parameters and gradients give the same trajectory.

Each case runs a few steps of our optimizer and of torch's from identical
parameters with identical (pseudo-random, step-dependent) gradients, on cpu
and cuda (Triton interpreter), and compares the parameters and every state
buffer after each step. Also: param groups, zero_grad, closures, state dicts,
bad hyper-parameters.
"""
import inspect

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
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.06), maximize=True)),
    ("ASGD", dict(lr=0.05, maximize=True)),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=2, weight_decay=0.1)),
    ("Adafactor", dict()),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-3, 1e-2), d=1.5, weight_decay=0.1,
                       maximize=True)),
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


def _state_value(value) -> np.ndarray:
    """A state entry (a tensor of either library, or a Python number) as a NumPy array."""
    if isinstance(value, (framework.Tensor, torch.Tensor)):
        return np.asarray(value.detach().cpu().numpy())
    return np.asarray(value)


def _assert_state_matches(ours, theirs, opt, topt, atol) -> None:
    for p, tp in zip(ours, theirs):
        np.testing.assert_allclose(p.detach().cpu().numpy(), tp.detach().numpy(), atol=atol,
                                   rtol=atol)
        state, tstate = opt.state[p], topt.state[tp]
        assert set(state) == set(tstate)
        for key, value in tstate.items():
            np.testing.assert_allclose(_state_value(state[key]), _state_value(value), atol=atol,
                                       rtol=atol, err_msg=key)


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
    state tensors of the parameter's shape; Adafactor's row and column factors); 0-d scalars
    such as ``step`` are replaced by new tensors each step."""
    params = [framework.ones(2, 3, device=device, requires_grad=True)]
    opt = getattr(optim, name)(params, **kwargs)
    for p in params:
        p.grad = framework.full((2, 3), 0.5, device=device)
    opt.step()  # creates the state
    buffers = {key: value for key, value in opt.state[params[0]].items()
               if isinstance(value, framework.Tensor) and value.ndim > 0}
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


# Rprop, ASGD, SparseAdam and Adafactor, beyond the shared trajectory cases above: float64
# trajectories (to rounding), SparseAdam on torch's sparse gradients, parameters without a
# gradient, state dicts with torch's keys, torch's ValueError messages for bad
# hyper-parameters.
MORE_SHAPES = [(3, 4), (5,), (2, 2, 3)]

MORE_CASES = [
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.06))),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=1, weight_decay=0.1, maximize=True)),
    ("Adafactor", dict(lr=0.05, weight_decay=0.1)),
    ("SparseAdam", dict(lr=0.01, betas=(0.8, 0.9))),
    ("SparseAdam", dict(lr=0.01, maximize=True)),
]
MORE_IDS = [f"{name}-{i}" for i, (name, _) in enumerate(MORE_CASES)]


def _grad(step: int, shape: tuple, sparse: bool) -> np.ndarray:
    """A step-dependent gradient; for SparseAdam some rows (elements of a vector) are zero."""
    rng = np.random.default_rng(100 + step + 10 * len(shape))
    g = rng.standard_normal(shape)
    if sparse:
        g[rng.random(shape[0]) < 0.4] = 0.0
    return g


def _torch_grad(g: np.ndarray, sparse: bool) -> torch.Tensor:
    """torch's gradient: SparseAdam takes the sparse form with the nonzero rows."""
    return torch.tensor(g).to_sparse(1) if sparse else torch.tensor(g)


def _make_both(name, kwargs, device, dtype, shapes=MORE_SHAPES):
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    ours = [framework.tensor(v, device=device, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    return ours, theirs, getattr(optim, name)(ours, **kwargs), getattr(torch.optim, name)(
        theirs, **kwargs)


def _step_both(name, ours, theirs, opt, topt, step, dtype, with_grad=None) -> None:
    sparse = name == "SparseAdam"
    for i, (p, tp) in enumerate(zip(ours, theirs)):
        if with_grad is not None and not with_grad[i]:
            continue
        g = _grad(step, tuple(p.shape), sparse).astype(dtype)
        p.grad = framework.tensor(g, device=p.device.type)
        tp.grad = _torch_grad(g, sparse)
    opt.step()
    topt.step()


@pytest.mark.parametrize("name,kwargs", MORE_CASES, ids=MORE_IDS)
def test_float64_trajectory_matches_torch(name, kwargs, device):
    """Five steps in float64: parameters and every state entry to rounding."""
    ours, theirs, opt, topt = _make_both(name, kwargs, device, np.float64)
    for step in range(5):
        _step_both(name, ours, theirs, opt, topt, step, np.float64)
        _assert_state_matches(ours, theirs, opt, topt, 1e-12)


@pytest.mark.parametrize("kwargs", [dict(lr=0.01, betas=(0.8, 0.9)), dict(maximize=True)])
def test_sparse_adam_float32_matches_torch(kwargs, device):
    """SparseAdam in float32 (the other optimizers' float32 runs are CASES above)."""
    ours, theirs, opt, topt = _make_both("SparseAdam", kwargs, device, np.float32,
                                         shapes=MORE_SHAPES[:2])
    for step in range(3):
        _step_both("SparseAdam", ours, theirs, opt, topt, step, np.float32)
        _assert_state_matches(ours, theirs, opt, topt, 1e-5)


def test_sparse_adam_leaves_zero_rows_untouched(device):
    """A row with an all-zero gradient keeps its parameter and moments bit for bit; a row
    with a nonzero element is updated whole (its zero elements' moments decay)."""
    p = framework.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], device=device,
                         requires_grad=True)
    opt = optim.SparseAdam([p], lr=0.1)
    p.grad = framework.tensor([[0.5, 0.0], [0.0, 0.0], [-1.0, 2.0]], device=device)
    opt.step()
    assert p.tolist()[1] == [3.0, 4.0]
    before = [p.tolist(), opt.state[p]["exp_avg"].tolist(), opt.state[p]["exp_avg_sq"].tolist()]
    p.grad = framework.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]], device=device)
    opt.step()
    after = [p.tolist(), opt.state[p]["exp_avg"].tolist(), opt.state[p]["exp_avg_sq"].tolist()]
    assert opt.state[p]["step"] == 2
    for old, new in zip(before, after):
        assert (new[0], new[2]) == (old[0], old[2])
    assert after[0][1][0] < 3.0 and after[0][1][1] == 4.0
    assert after[1][1] == pytest.approx([0.1, 0.0])


_NONFINITE = [np.array([[1.0, -2.0], [0.0, np.nan], [np.inf, 0.0], [0.0, -0.0]]),
              np.array([[-1.0, -2.0], [5.0, 1.0], [-np.inf, 2.0], [0.0, 3.0]]),
              np.array([[2.0, np.nan], [0.0, 0.0], [1.0, 1.0], [-1.0, 4.0]])]


@pytest.mark.parametrize("name,kwargs", [
    ("Rprop", dict(lr=0.1, step_sizes=(0.01, 0.3))),
    ("ASGD", dict(lr=0.1, t0=1, weight_decay=0.1)),
    ("SparseAdam", dict(lr=0.1)),
    ("Adafactor", dict(lr=0.1)),
])
def test_nonfinite_gradients_match_torch(name, kwargs, device):
    """NaN, ±inf and ±0 gradients in float32: Rprop's sign logic to the bit (torch's sign(NaN)
    is 0; a NaN product keeps the step size), the others to 2e-6 relative (no absolute
    slack: small moments keep their digits, e.g. SparseAdam's 1 − β2)."""
    p = framework.ones(4, 2, device=device, requires_grad=True)
    tp = torch.ones(4, 2, requires_grad=True)
    opt, topt = getattr(optim, name)([p], **kwargs), getattr(torch.optim, name)([tp], **kwargs)
    rtol = 0.0 if name == "Rprop" else 2e-6
    for g in _NONFINITE:
        p.grad = framework.tensor(g.astype(np.float32), device=device)
        tp.grad = _torch_grad(g.astype(np.float32), name == "SparseAdam")
        opt.step()
        topt.step()
        np.testing.assert_allclose(p.detach().cpu().numpy(), tp.detach().numpy(), rtol=rtol,
                                   atol=0)
        for key, value in topt.state[tp].items():
            np.testing.assert_allclose(_state_value(opt.state[p][key]), _state_value(value),
                                       rtol=rtol, atol=0, err_msg=key)


@pytest.mark.parametrize("name,kwargs", MORE_CASES[:4], ids=MORE_IDS[:4])
def test_parameter_without_grad_is_skipped(name, kwargs, device):
    ours, theirs, opt, topt = _make_both(name, kwargs, device, np.float64)
    before = ours[1].detach().cpu().numpy().copy()
    for step in range(2):
        _step_both(name, ours, theirs, opt, topt, step, np.float64,
                   with_grad=[True, False, True])
    assert ours[1] not in opt.state
    np.testing.assert_array_equal(ours[1].detach().cpu().numpy(), before)
    _assert_state_matches(ours, theirs, opt, topt, 1e-12)


@pytest.mark.parametrize("name,kwargs", MORE_CASES[:4], ids=MORE_IDS[:4])
def test_state_dict_has_torch_keys_and_round_trips(name, kwargs):
    """The saved layout is torch's (state keys, group keys, parameter indices); loading it
    into a fresh optimizer continues torch's trajectory."""
    ours, theirs, opt, topt = _make_both(name, kwargs, "cpu", np.float64)
    for step in range(2):
        _step_both(name, ours, theirs, opt, topt, step, np.float64)
    saved, tsaved = opt.state_dict(), topt.state_dict()
    assert sorted(saved["state"]) == sorted(tsaved["state"])
    for index, entry in tsaved["state"].items():
        assert set(saved["state"][index]) == set(entry)
    assert [set(g) for g in saved["param_groups"]] == [set(g) for g in tsaved["param_groups"]]
    assert [g["params"] for g in saved["param_groups"]] == \
        [g["params"] for g in tsaved["param_groups"]]
    fresh = getattr(optim, name)(ours, lr=0.5)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == kwargs["lr"]
    _step_both(name, ours, theirs, fresh, topt, 2, np.float64)
    _assert_state_matches(ours, theirs, fresh, topt, 1e-12)


BAD = [
    ("Rprop", dict(lr=-0.1)),
    ("Rprop", dict(etas=(1.0, 1.2))),
    ("Rprop", dict(etas=(0.5, 0.9))),
    ("ASGD", dict(lr=-1.0)),
    ("ASGD", dict(weight_decay=-0.1)),
    ("SparseAdam", dict(lr=0.0)),
    ("SparseAdam", dict(eps=0.0)),
    ("SparseAdam", dict(betas=(0.9, 1.0))),
    ("SparseAdam", dict(betas=(-0.1, 0.9))),
    ("Adafactor", dict(lr=-1.0)),
    ("Adafactor", dict(beta2_decay=0.5)),
    ("Adafactor", dict(eps=(-1.0, 1e-3))),
    ("Adafactor", dict(eps=(None, -1.0))),
    ("Adafactor", dict(d=0.5)),
    ("Adafactor", dict(weight_decay=-0.1)),
]


@pytest.mark.parametrize("name,kwargs", BAD, ids=[f"{n}-{i}" for i, (n, _) in enumerate(BAD)])
def test_bad_hyperparameters_raise_torchs_value_error(name, kwargs):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([framework.ones(2, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


def test_signatures_and_defaults_are_torchs():
    for name in ("Rprop", "ASGD", "SparseAdam", "Adafactor"):
        ours, theirs = getattr(optim, name), getattr(torch.optim, name)
        assert [(p.name, p.kind, p.default) for p in inspect.signature(ours).parameters.values()] \
            == [(p.name, p.kind, p.default) for p in inspect.signature(theirs).parameters.values()]
        assert ours([framework.ones(2, requires_grad=True)]).defaults == \
            theirs([torch.ones(2, requires_grad=True)]).defaults, name


@pytest.mark.parametrize("name", ["Rprop", "ASGD"])
def test_unsupported_flags_are_refused(name):
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        getattr(optim, name)([framework.ones(2, requires_grad=True)], differentiable=True)
