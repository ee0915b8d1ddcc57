"""Multi-tensor optimizer steps (``foreach=True`` / ``fused=True``, and the default).

Adam, AdamW and SGD update every parameter of a group with one ``*_step_multi``
kernel call per (device, dtype) (framework/ops/optim.py). Checked here: the
trajectory against torch.optim with the same flags (the helper of
test_optimizers.py), bit-for-bit equality with the per-parameter path
(``foreach=False``) over mixed shapes, dtypes, layouts, groups and flags, a
launch count that does not grow with the number of parameters, state dicts and
checkpoints, and the errors PyTorch raises.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import framework
import framework.optim as optim
from framework.compiler.launches import count_launches
from framework.ops import optim as optim_ops
from test_optimizers import _run_both

MULTI_CASES = [
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, maximize=True, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, maximize=True)),
]
FLAGS = [dict(foreach=True), dict(fused=True), dict(foreach=False)]


def _ids(cases):
    return [f"{name}-{i}" for i, (name, _) in enumerate(cases)]


@pytest.mark.parametrize("flags", FLAGS, ids=["foreach", "fused", "for-loop"])
@pytest.mark.parametrize("name,kwargs", MULTI_CASES, ids=_ids(MULTI_CASES))
def test_trajectory_matches_torch_with_the_same_flags(name, kwargs, flags, device):
    _run_both(name, dict(kwargs, **flags), device)


@pytest.mark.parametrize("flags", FLAGS[:2], ids=["foreach", "fused"])
def test_float64_trajectory_matches_torch(flags, device):
    _run_both("AdamW", dict(lr=0.01, amsgrad=True, **flags), device, dtype=np.float64,
              atol=1e-12)


# --- the same bits as the per-parameter path ------------------------------------------------

def _model(device: str, seed: int = 0) -> list:
    """Parameters of mixed shapes, dtypes and layouts, on ``device``."""
    rng = np.random.default_rng(seed)

    def param(shape, dtype=framework.float32, transpose=False):
        value = rng.standard_normal(shape[::-1] if transpose else shape)
        t = framework.tensor(value, dtype=dtype, device=device)
        return (t.t() if transpose else t).detach().requires_grad_()

    return [param((3, 4)), param((5,)), param((1,)), param((2, 3), transpose=True),
            param((4, 2), framework.float64), param((6,), framework.bfloat16), param((2, 2)),
            param((1030,)),  # more than one block of a Triton program
            param((0, 3))]  # no elements: no program


def _set_grads(params: list, step: int) -> None:
    """Step-dependent gradients; the 7th parameter never gets one, the 2nd skips step 1 and
    the 4th gets a non-contiguous one."""
    rng = np.random.default_rng(100 + step)
    for i, p in enumerate(params):
        g = rng.standard_normal(tuple(p.shape))
        if i == 6 or (i == 1 and step == 1):
            p.grad = None
        elif i == 3:
            p.grad = framework.tensor(g.T.copy(), dtype=p.dtype, device=p.device).t()
        else:
            p.grad = framework.tensor(g, dtype=p.dtype, device=p.device)


def _groups(params: list, name: str) -> list:
    """Three groups with their own learning rates (and, for SGD, momentum)."""
    extra = {"momentum": 0.5} if name == "SGD" else {"weight_decay": 0.05}
    return [{"params": params[:3]}, {"params": params[3:6], "lr": 0.05, **extra},
            {"params": params[6:], "lr": 0.2}]


def _bits(t) -> bytes:
    return np.ascontiguousarray(t.detach().cpu().numpy()).tobytes()


def _assert_same_bits(opt_a, params_a, opt_b, params_b) -> None:
    for p, q in zip(params_a, params_b):
        assert _bits(p) == _bits(q)
        state, other = opt_a.state.get(p, {}), opt_b.state.get(q, {})
        assert set(state) == set(other)
        for key, value in state.items():
            if key == "step":
                assert float(value) == float(other[key])
                assert value.dtype is other[key].dtype and value.device.type == "cpu"
            else:
                assert _bits(value) == _bits(other[key]), key


MIXED_CASES = [
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, maximize=True, amsgrad=True)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, maximize=True)),
]


@pytest.mark.parametrize("flag", ["foreach", "fused", "default"])
@pytest.mark.parametrize("name,kwargs", MIXED_CASES, ids=_ids(MIXED_CASES))
def test_multi_tensor_step_equals_the_per_parameter_step_bit_for_bit(name, kwargs, flag, device):
    loop_params, multi_params = _model(device), _model(device)
    loop = getattr(optim, name)(_groups(loop_params, name), foreach=False, **kwargs)
    flags = {} if flag == "default" else {flag: True}
    multi = getattr(optim, name)(_groups(multi_params, name), **flags, **kwargs)
    for step in range(3):
        _set_grads(loop_params, step)
        _set_grads(multi_params, step)
        loop.step()
        multi.step()
        _assert_same_bits(loop, loop_params, multi, multi_params)
    assert multi_params[3].stride() == (1, 2)  # the transposed parameter stays a view
    assert multi_params[6] not in multi.state  # never had a gradient


def test_parameters_on_two_devices_in_one_group_are_grouped_per_device():
    """PyTorch's foreach/fused steps group tensors by device and dtype; so do ours."""
    def params():
        rng = np.random.default_rng(0)
        return [framework.tensor(rng.standard_normal(3), dtype=framework.float32, device=d,
                                 requires_grad=True)
                for d in ("cpu", "cuda", "cpu")]
    loop_params, multi_params = params(), params()
    loop = optim.Adam(loop_params, lr=0.1, foreach=False)
    multi = optim.Adam(multi_params, lr=0.1, foreach=True)
    for step in range(2):
        for ps in (loop_params, multi_params):
            for i, p in enumerate(ps):
                p.grad = framework.full((3,), 0.5 + i + step, device=p.device)
        loop.step()
        with count_launches() as counter:
            multi.step()
        assert counter.by_op["adam_step_multi"] == 2  # one per device
        _assert_same_bits(loop, loop_params, multi, multi_params)


def test_multi_tensor_kernels_match_the_single_tensor_kernels_directly(device):
    """The op over lists equals the single-parameter op on each, every flag of Adam."""
    rng = np.random.default_rng(1)
    shapes = [(3, 4), (5,), (1030,)]
    for decoupled, amsgrad, maximize in [(False, False, False), (True, True, True)]:
        def fresh(positive=False):
            values = [rng.standard_normal(s) for s in shapes]
            return [framework.tensor(np.abs(v) if positive else v, device=device) for v in values]
        params, grads, m, v, vmax = fresh(), fresh(), fresh(), fresh(True), fresh(True)
        copies = [[t.clone() for t in ts] for ts in (params, m, v, vmax)]
        bc1, bc2 = [0.1, 0.5, 0.9], [0.2, 0.6, 0.99]
        for i in range(len(shapes)):
            optim_ops.adam_step_(params[i], grads[i], m[i], v[i], vmax[i], 0.01, 0.9, 0.999, 1e-8,
                                 0.1, decoupled, amsgrad, maximize, bc1[i], bc2[i])
        optim_ops.adam_step_multi_(copies[0], grads, copies[1], copies[2], copies[3], 0.01, 0.9,
                                   0.999, 1e-8, 0.1, decoupled, amsgrad, maximize, bc1, bc2)
        for ours, theirs in zip(params + m + v + vmax, sum(copies, [])):
            assert _bits(ours) == _bits(theirs)


# --- launches -------------------------------------------------------------------------------

def _launches(name: str, n: int, device: str, **flags) -> int:
    params = [framework.ones(2, 3, device=device, requires_grad=True) for _ in range(n)]
    kwargs = dict(momentum=0.9) if name == "SGD" else {}
    opt = getattr(optim, name)(params, lr=0.1, **kwargs, **flags)
    for step in range(2):  # the second step: state exists
        for p in params:
            p.grad = framework.full((2, 3), 0.5, device=device)
        with count_launches() as counter:
            opt.step()
    return counter.total


@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD"])
def test_a_multi_tensor_step_is_a_constant_number_of_launches(name, device):
    """Adam: the step tensors' one host copy and one kernel; SGD: one kernel; however many
    parameters. The per-parameter path grows with them."""
    constant = {"Adam": 2, "AdamW": 2, "SGD": 1}[name]
    for flags in (dict(foreach=True), dict(fused=True), {}):
        assert [_launches(name, n, device, **flags) for n in (1, 3, 9)] == [constant] * 3
    per_param = constant  # per parameter: a step tensor and a kernel (Adam), a kernel (SGD)
    assert [_launches(name, n, device, foreach=False) for n in (1, 3, 9)] == \
        [per_param * n for n in (1, 3, 9)]


# --- state: step tensors, state dicts, checkpoints -------------------------------------------

def test_step_is_a_cpu_tensor_with_the_count_and_torch_dtype(device):
    p = framework.ones(3, device=device, requires_grad=True)
    tp = torch.ones(3, requires_grad=True)
    opt, topt = optim.Adam([p], foreach=True), torch.optim.Adam([tp], foreach=True)
    for _ in range(3):
        p.grad = framework.ones(3, device=device)
        tp.grad = torch.ones(3)
        opt.step()
        topt.step()
    step = opt.state[p]["step"]
    assert isinstance(step, framework.Tensor) and step.ndim == 0 and step.device.type == "cpu"
    assert float(step) == float(topt.state[tp]["step"]) == 3.0
    assert str(step.dtype).split(".")[-1] == str(topt.state[tp]["step"].dtype).split(".")[-1]


@pytest.mark.parametrize("flag", ["foreach", "fused"])
def test_step_dtype_under_a_float64_default_is_torch_s(flag):
    """float64 steps under a float64 default, except fused steps: float32, as PyTorch's."""
    from framework import dtypes
    previous, torch_previous = dtypes.get_default_dtype(), torch.get_default_dtype()
    dtypes.set_default_dtype(framework.float64)
    torch.set_default_dtype(torch.float64)
    try:
        p, tp = framework.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
        p.grad, tp.grad = framework.ones(2), torch.ones(2)
        opt, topt = optim.Adam([p], **{flag: True}), torch.optim.Adam([tp], **{flag: True})
        opt.step()
        topt.step()
        assert str(opt.state[p]["step"].dtype).split(".")[-1] == \
            str(topt.state[tp]["step"].dtype).split(".")[-1]
    finally:
        dtypes.set_default_dtype(previous)
        torch.set_default_dtype(torch_previous)


def test_a_step_tensor_written_in_place_is_read_back():
    """The step tensors of a group share one storage; a write to one (the notes of all go
    stale) makes the next step read every count from its tensor."""
    params = [framework.ones(2, requires_grad=True) for _ in range(3)]
    opt = optim.Adam(params, lr=0.1, foreach=True)
    for _ in range(2):
        for p in params:
            p.grad = framework.ones(2)
        opt.step()
    opt.state[params[1]]["step"].fill_(10.0)
    for p in params:
        p.grad = framework.ones(2)
    opt.step()
    assert [float(opt.state[p]["step"]) for p in params] == [3.0, 11.0, 3.0]


def _train(opt, params, steps, first_step=0):
    for step in range(first_step, first_step + steps):
        _set_grads(params, step)
        opt.step()


@pytest.mark.parametrize("saved_with,loaded_with", [(True, True), (False, True), (True, False)])
@pytest.mark.parametrize("name", ["AdamW", "SGD"])
def test_checkpoint_round_trip_continues_like_uninterrupted_training(name, saved_with,
                                                                     loaded_with, device):
    kwargs = dict(lr=0.01, amsgrad=True) if name == "AdamW" else dict(lr=0.1, momentum=0.9)
    straight_params = _model(device)
    straight = getattr(optim, name)(_groups(straight_params, name), foreach=True, **kwargs)
    _train(straight, straight_params, 4)

    params = _model(device)
    opt = getattr(optim, name)(_groups(params, name), foreach=saved_with, **kwargs)
    _train(opt, params, 2)
    buffer = io.BytesIO()
    framework.save({"params": [p.detach() for p in params], "optim": opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = framework.load(buffer)

    resumed_params = _model(device, seed=1)  # other values, overwritten from the checkpoint
    with framework.no_grad():
        for p, value in zip(resumed_params, saved["params"]):
            p.copy_(value)
    resumed = getattr(optim, name)(_groups(resumed_params, name), foreach=loaded_with, **kwargs)
    resumed.load_state_dict(saved["optim"])
    assert resumed.param_groups[0]["foreach"] is saved_with  # groups come from the checkpoint
    for group in resumed.param_groups:
        group["foreach"] = loaded_with
    _train(resumed, resumed_params, 2, first_step=2)
    _assert_same_bits(straight, straight_params, resumed, resumed_params)


# --- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD"])
def test_fused_and_foreach_together_raise_like_torch(name):
    message = "`fused` and `foreach` cannot be `True` together."
    with pytest.raises(RuntimeError, match=message):
        getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], lr=0.1, fused=True,
                                   foreach=True)
    with pytest.raises(RuntimeError, match=message):
        getattr(optim, name)([framework.ones(2, requires_grad=True)], lr=0.1, fused=True,
                             foreach=True)


@pytest.mark.parametrize("name", ["Adam", "SGD"])
def test_fused_with_integer_parameters_raises_like_torch(name):
    p = framework.ones(2, dtype=framework.int64)
    p.grad = framework.ones(2, dtype=framework.int64)
    tp = torch.ones(2, dtype=torch.int64)
    tp.grad = torch.ones(2, dtype=torch.int64)
    with pytest.raises(RuntimeError, match="`fused=True` requires all the params to be floating"):
        getattr(torch.optim, name)([tp], lr=0.1, fused=True).step()
    with pytest.raises(RuntimeError, match="`fused=True` requires all the params to be floating"):
        getattr(optim, name)([p], lr=0.1, fused=True).step()


def test_the_multi_tensor_op_refuses_mixed_dtypes_and_mismatched_lists(device):
    a = framework.ones(2, device=device)
    b = framework.ones(2, dtype=framework.float64, device=device)
    with pytest.raises(RuntimeError, match="one device and dtype"):
        optim_ops.sgd_step_multi_([a, b], [a, b], None, 0.1, 0.0, 0.0, 0.0, False, False,
                                  [True, True])
    with pytest.raises(ValueError, match="must match the parameters"):
        optim_ops.sgd_step_multi_([a, a.clone()], [a], None, 0.1, 0.0, 0.0, 0.0, False, False,
                                  [True, True])
