"""Muon against torch.optim.Muon: the same parameters and gradients give the same trajectory.

Tolerances. torch runs the Newton-Schulz iteration in bfloat16 whatever the parameter dtype,
and so does framework (``framework/optim/muon.py`` rounds each step as torch's CPU kernels
do). On this VM the bfloat16 results are then equal to torch's bit for bit
(``test_newton_schulz_matches_torch_to_a_bfloat16_ulp``), but the float32 summation order of a
matrix product belongs to the BLAS (or, on a GPU, the Triton kernel), and the momentum
buffer may differ from torch's in its last bit (``lerp``), either of which can move one
bfloat16 rounding by one unit (2**-8 relative); the Newton-Schulz polynomial (slope up to
a = 3.4445 per iteration) spreads that over the matrix. The trajectory tests therefore
allow ``2**-5`` of the step size ``adjusted_lr`` per step on each parameter element: a few
bfloat16 units of the update (whose elements are of order 0.1 to 1), far below what a wrong
coefficient, a missing Nesterov term or a wrong learning-rate adjustment changes. The
momentum buffers are plain float32/float64 arithmetic and are compared at that precision.
"""
import inspect
import math

import numpy as np
import pytest
import torch

import framework
import framework.optim as optim
from framework.optim.muon import _zeropower_via_newtonschulz as newton_schulz

if not hasattr(torch.optim, "Muon"):
    pytest.skip("the oracle torch has no torch.optim.Muon", allow_module_level=True)
from torch.optim._muon import _zeropower_via_newtonschulz as torch_newton_schulz  # noqa: E402

SHAPES = [(4, 6), (6, 4), (5, 5)]  # wide, tall (iterated transposed), square
STEPS = 4
BUFFER_RTOL = {np.float32: 1e-6, np.float64: 1e-13}

CASES = [
    dict(lr=0.02),
    dict(lr=0.02, nesterov=False),
    dict(lr=0.05, weight_decay=0.0, momentum=0.9),
    dict(lr=0.02, weight_decay=0.2, adjust_lr_fn="original"),
    dict(lr=0.01, adjust_lr_fn="match_rms_adamw"),
    dict(lr=0.01, nesterov=False, weight_decay=0.0, adjust_lr_fn="match_rms_adamw"),
    dict(lr=0.03, ns_steps=3, ns_coefficients=(2.0, -1.5, 0.5), eps=1e-5),
]
CASE_IDS = [",".join(f"{k}={v}" for k, v in case.items()) for case in CASES]


def _grad(step: int, shape: tuple, dtype) -> np.ndarray:
    rng = np.random.default_rng(100 + step + 7 * shape[0])
    return rng.standard_normal(shape).astype(dtype)


def _make_both(kwargs, device="cpu", dtype=np.float32, shapes=SHAPES):
    rng = np.random.default_rng(0)
    values = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    ours = [framework.tensor(v, device=device, requires_grad=True) for v in values]
    theirs = [torch.tensor(v, requires_grad=True) for v in values]
    return ours, theirs, optim.Muon(ours, **kwargs), torch.optim.Muon(theirs, **kwargs)


def _step_both(ours, theirs, opt, topt, step: int, dtype) -> None:
    for p, tp in zip(ours, theirs):
        g = _grad(step, tuple(p.shape), dtype)
        p.grad = framework.tensor(g, device=p.device.type)
        tp.grad = torch.tensor(g)
    opt.step()
    topt.step()


def _step_size(group: dict, shape: tuple) -> float:
    """torch's adjusted learning rate (``_adjust_lr``) for a parameter of ``shape``."""
    rows, cols = shape
    if group["adjust_lr_fn"] == "match_rms_adamw":
        return group["lr"] * 0.2 * math.sqrt(max(rows, cols))
    return group["lr"] * math.sqrt(max(1, rows / cols))


def _assert_matches(ours, theirs, opt, topt, steps: int, dtype) -> None:
    """Parameters within ``steps`` times 2**-5 of the step size (module docstring); momentum
    buffers to the dtype's rounding."""
    for p, tp in zip(ours, theirs):
        atol = steps * 2 ** -5 * _step_size(opt.param_groups[0], tuple(p.shape))
        np.testing.assert_allclose(p.detach().cpu().numpy(), tp.detach().numpy(), rtol=0,
                                   atol=atol)
        assert set(opt.state[p]) == set(topt.state[tp]) == {"momentum_buffer"}
        buf, tbuf = opt.state[p]["momentum_buffer"], topt.state[tp]["momentum_buffer"]
        assert buf.dtype.name == str(tbuf.dtype).replace("torch.", "")
        np.testing.assert_allclose(buf.cpu().numpy(), tbuf.numpy(), rtol=BUFFER_RTOL[dtype],
                                   atol=BUFFER_RTOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kwargs", CASES, ids=CASE_IDS)
def test_trajectory_matches_torch(kwargs, dtype):
    """Several steps on wide, tall and square matrices, with and without Nesterov and weight
    decay, each ``adjust_lr_fn``, other Newton-Schulz settings; float32 and float64 (torch
    supports both: the iteration is bfloat16 either way, the update is added in the
    parameter's dtype)."""
    ours, theirs, opt, topt = _make_both(kwargs, dtype=dtype)
    for step in range(STEPS):
        _step_both(ours, theirs, opt, topt, step, dtype)
        _assert_matches(ours, theirs, opt, topt, step + 1, dtype)
        assert all(p.dtype.name == np.dtype(dtype).name for p in ours)


def test_trajectory_matches_torch_on_cuda():
    """The Triton backend (the interpreter on a machine without a GPU): tiny shapes."""
    ours, theirs, opt, topt = _make_both(dict(lr=0.02), "cuda", shapes=[(2, 3), (3, 2)])
    for step in range(2):
        _step_both(ours, theirs, opt, topt, step, np.float32)
        _assert_matches(ours, theirs, opt, topt, step + 1, np.float32)
    assert all(p.device.type == "cuda" for p in ours)
    assert opt.state[ours[0]]["momentum_buffer"].device.type == "cuda"


@pytest.mark.parametrize("shape", [(3, 5), (6, 4), (8, 8), (16, 16), (32, 8)])
def test_newton_schulz_matches_torch_to_a_bfloat16_ulp(shape):
    """The bfloat16 iteration equals torch's to within one bfloat16 unit (on this VM: bit
    for bit, over 200 matrices): the norm, every matrix product and every ``addmm`` rounded
    as torch's kernels round them (the module docstring says where framework's own ops would
    round otherwise). One unit of slack, not zero: another CPU's float32 summation order in
    the BLAS (or torch's bfloat16 GEMM) can move a last bit."""
    coefficients = (3.4445, -4.7750, 2.0315)
    for seed in range(8):
        g = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
        ours = newton_schulz(framework.tensor(g), coefficients, 5, 1e-7)
        theirs = torch_newton_schulz(torch.tensor(g), coefficients, 5, 1e-7)
        assert ours.dtype is framework.bfloat16 and tuple(ours.shape) == shape
        np.testing.assert_allclose(ours.float().numpy(), theirs.float().numpy(),
                                   rtol=2.0 ** -7, atol=1e-6)


def test_bfloat16_parameters_follow_torch():
    """bfloat16 parameters; with ``nesterov=False`` torch's in-place normalization scales the
    momentum buffer itself (its "bfloat16 copy" is the buffer), and so does ours. Compared to
    two bfloat16 units (2**-6 relative; the buffer, of norm about 1 over 24 elements, also
    2**-10 absolute, half a unit of its typical element): the bfloat16 ``lerp`` of the
    buffer and the bfloat16 parameter update each round once, and may round a last bit
    otherwise than torch's fused kernels."""
    rng = np.random.default_rng(0)
    value = rng.standard_normal((4, 6)).astype(np.float32)
    p = framework.tensor(value).bfloat16().requires_grad_()
    tp = torch.tensor(value).bfloat16().requires_grad_()
    opt = optim.Muon([p], lr=0.02, nesterov=False)
    topt = torch.optim.Muon([tp], lr=0.02, nesterov=False)
    for step in range(3):
        g = _grad(step, (4, 6), np.float32)
        p.grad = framework.tensor(g).bfloat16()
        tp.grad = torch.tensor(g).bfloat16()
        opt.step()
        topt.step()
        buf, tbuf = opt.state[p]["momentum_buffer"], topt.state[tp]["momentum_buffer"]
        assert buf.dtype is framework.bfloat16 and p.dtype is framework.bfloat16
        np.testing.assert_allclose(buf.float().numpy(), tbuf.float().numpy(), rtol=2 ** -6,
                                   atol=2 ** -10)
        np.testing.assert_allclose(p.detach().float().numpy(), tp.detach().float().numpy(),
                                   rtol=2 ** -6, atol=2 ** -7)
    assert abs(float(buf.float().norm()) - 1.0) < 0.01  # the normalized buffer


def test_zero_gradient_is_clamped_by_eps():
    """A zero update divides by ``eps`` (not by zero): only the weight decay moves the
    parameter, as torch's."""
    ours, theirs, opt, topt = _make_both(dict(lr=0.1, weight_decay=0.5), shapes=[(3, 4)])
    ours[0].grad = framework.zeros(3, 4)
    theirs[0].grad = torch.zeros(3, 4)
    opt.step()
    topt.step()
    np.testing.assert_allclose(ours[0].detach().numpy(), theirs[0].detach().numpy(), rtol=1e-7)


def test_tensor_lr_is_accepted():
    """A 1-element tensor ``lr`` (read as a float here; torch keeps a float32 tensor, hence
    float32 rounding of the step size on top of the usual tolerance)."""
    rng = np.random.default_rng(0)
    value = rng.standard_normal((4, 6)).astype(np.float32)
    ours = [framework.tensor(value, requires_grad=True)]
    theirs = [torch.tensor(value, requires_grad=True)]
    opt = optim.Muon(ours, lr=framework.tensor([0.02]))
    topt = torch.optim.Muon(theirs, lr=torch.tensor([0.02]))
    for step in range(2):
        _step_both(ours, theirs, opt, topt, step, np.float32)
    np.testing.assert_allclose(ours[0].detach().numpy(), theirs[0].detach().numpy(), rtol=0,
                               atol=2 * 2 ** -5 * 0.02)


def test_parameter_without_grad_is_skipped():
    ours, theirs, opt, topt = _make_both(dict(lr=0.02))
    before = ours[1].detach().numpy().copy()
    ours[0].grad = framework.ones(4, 6)
    opt.step()
    assert ours[1] not in opt.state and ours[0] in opt.state
    np.testing.assert_array_equal(ours[1].detach().numpy(), before)


def test_state_dict_has_torch_keys_and_round_trips():
    """The saved layout is torch's; loading it into a fresh optimizer continues torch's
    trajectory."""
    ours, theirs, opt, topt = _make_both(dict(lr=0.02, adjust_lr_fn="match_rms_adamw"),
                                         dtype=np.float64)
    for step in range(2):
        _step_both(ours, theirs, opt, topt, step, np.float64)
    saved, tsaved = opt.state_dict(), topt.state_dict()
    assert sorted(saved["state"]) == sorted(tsaved["state"])
    for index, entry in tsaved["state"].items():
        assert set(saved["state"][index]) == set(entry) == {"momentum_buffer"}
    assert saved["param_groups"] == [dict(g) for g in tsaved["param_groups"]]
    fresh = optim.Muon(ours, lr=0.5)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == 0.02
    assert fresh.param_groups[0]["adjust_lr_fn"] == "match_rms_adamw"
    for step in range(2, 4):
        _step_both(ours, theirs, fresh, topt, step, np.float64)
        _assert_matches(ours, theirs, fresh, topt, step + 1, np.float64)


def test_signature_and_defaults_are_torchs():
    ours, theirs = optim.Muon, torch.optim.Muon
    assert [(p.name, p.kind, p.default) for p in inspect.signature(ours).parameters.values()] \
        == [(p.name, p.kind, p.default) for p in inspect.signature(theirs).parameters.values()]
    assert ours([framework.ones(2, 3, requires_grad=True)]).defaults == \
        theirs([torch.ones(2, 3, requires_grad=True)]).defaults


BAD = [
    ((3,), dict()),
    ((2, 3, 4), dict()),
    ((2, 3), dict(lr=-0.1)),
    ((2, 3), dict(momentum=-0.5)),
    ((2, 3), dict(weight_decay=-0.1)),
    ((2, 3), dict(adjust_lr_fn="spectral")),
]


@pytest.mark.parametrize("shape,kwargs", BAD, ids=[f"{s}-{k}" for s, k in BAD])
def test_bad_input_raises_torchs_value_error(shape, kwargs):
    """Parameters that are not matrices and bad hyper-parameters: torch's ValueError and
    message (torch.Size is framework.Size here)."""
    with pytest.raises(ValueError) as theirs:
        torch.optim.Muon([torch.ones(shape, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError) as ours:
        optim.Muon([framework.ones(shape, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value).replace("torch.Size", "framework.Size")


def test_tensor_lr_with_several_elements_is_refused():
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        optim.Muon([framework.ones(2, 3, requires_grad=True)], lr=framework.tensor([0.1, 0.2]))


@pytest.mark.parametrize("kwargs", [dict(ns_steps=100), dict(ns_coefficients=(1.0, 2.0))])
def test_bad_newton_schulz_settings_raise_at_step(kwargs):
    """torch checks ``ns_steps`` and ``ns_coefficients`` when it steps: so does Muon."""
    def fail(lib, opt_class):
        p = lib.ones(2, 3, requires_grad=True)
        opt = opt_class([p], **kwargs)
        p.grad = lib.ones(2, 3)
        with pytest.raises(ValueError) as error:
            opt.step()
        return str(error.value)
    assert fail(framework, optim.Muon) == fail(torch, torch.optim.Muon)


def test_mlp_with_muon_matrices_and_adamw_biases_learns():
    """The recommended split: Muon for the 2-D weights, AdamW for the biases. A 2-layer MLP
    fitting a smooth regression target lowers its loss severalfold."""
    framework.manual_seed(0)
    rng = np.random.default_rng(0)
    x = framework.tensor(rng.standard_normal((64, 8)).astype(np.float32))
    y = framework.tensor(np.sin(x.numpy() @ rng.standard_normal((8, 1))).astype(np.float32))
    model = framework.nn.Sequential(framework.nn.Linear(8, 32), framework.nn.Tanh(),
                                    framework.nn.Linear(32, 1))
    matrices = [p for p in model.parameters() if p.ndim == 2]
    others = [p for p in model.parameters() if p.ndim != 2]
    muon = optim.Muon(matrices, lr=0.05, momentum=0.95)
    adamw = optim.AdamW(others, lr=3e-3, weight_decay=0.01)
    losses = []
    for _ in range(60):
        muon.zero_grad()
        adamw.zero_grad()
        loss = framework.nn.functional.mse_loss(model(x), y)
        loss.backward()
        muon.step()
        adamw.step()
        losses.append(float(loss))
    assert losses[-1] < 0.3 * losses[0], losses[::10]
