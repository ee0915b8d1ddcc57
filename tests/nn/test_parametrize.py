"""``framework.nn.utils.parametrize`` / ``parametrizations`` and the other ``nn.utils`` helpers
(fusion, skip_init, clip_grad_norm) against torch (float64 oracle, cpu and cuda): layout and
state_dict keys as torch's (torch's state dicts load), forward and parameter gradients, caching,
removal, and torch's errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from nn_oracle import check_module, sync

import framework
import framework.nn as fnn
from framework.nn.utils import parametrizations as FP
from framework.nn.utils import parametrize as FZ
from helpers import assert_close

F64 = framework.float64
TOL = dict(atol=1e-10, rtol=1e-9)


def _symmetric(nn):
    """torch's tutorial parametrization, for either library."""
    class Symmetric(nn.Module):
        def forward(self, x):
            return x.triu() + x.triu(1).transpose(-1, -2)

        def right_inverse(self, a):
            return a.triu()
    return Symmetric()


def _scale(nn, factor):
    class Scale(nn.Module):
        def forward(self, x):
            return x * factor

        def right_inverse(self, a):
            return a / factor
    return Scale()


def _x(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape)


def test_register_parametrization_layout_forward_and_grads(device):
    module, tmodule = fnn.Linear(3, 3), torch.nn.Linear(3, 3)
    FZ.register_parametrization(module, "weight", _symmetric(fnn))
    FZ.register_parametrization(module, "weight", _scale(fnn, 2.0))
    torch.nn.utils.parametrize.register_parametrization(tmodule, "weight", _symmetric(torch.nn))
    torch.nn.utils.parametrize.register_parametrization(tmodule, "weight", _scale(torch.nn, 2.0))
    assert type(module).__name__ == "ParametrizedLinear"
    assert FZ.type_before_parametrizations(module) is fnn.Linear
    assert FZ.is_parametrized(module) and FZ.is_parametrized(module, "weight")
    assert not FZ.is_parametrized(module, "bias")
    assert list(module.state_dict()) == list(tmodule.state_dict())
    sync(module, tmodule, device, F64)
    check_module(module, tmodule, [_x((2, 3))], device=device, dtype=F64)
    weight = module.weight
    assert_close(weight, tmodule.weight, **TOL)
    assert_close(weight, weight.t(), 0, 0)


def test_assignment_right_inverse_cached_and_remove(device):
    module = fnn.Linear(3, 3).double().to(device)
    FZ.register_parametrization(module, "weight", _symmetric(fnn))
    target = framework.tensor(_x((3, 3)), dtype=F64, device=device)
    module.weight = target + target.t()  # stored through right_inverse
    assert_close(module.weight, torch.tensor((target + target.t()).cpu().numpy()), **TOL)
    assert module.weight is not module.weight
    with FZ.cached():
        assert module.weight is module.weight
    value = module.weight
    FZ.remove_parametrizations(module, "weight")
    assert type(module) is fnn.Linear and not hasattr(module, "parametrizations")
    assert isinstance(module.weight, fnn.Parameter)
    assert_close(module.weight, torch.tensor(value.detach().cpu().numpy()), 0, 0)
    FZ.register_parametrization(module, "weight", _symmetric(fnn))
    original = module.parametrizations.weight.original.detach().clone()
    FZ.remove_parametrizations(module, "weight", leave_parametrized=False)
    assert_close(module.weight, torch.tensor(original.cpu().numpy()), 0, 0)


def test_parametrize_errors():
    module = fnn.Linear(3, 2)

    class Shrink(fnn.Module):
        def forward(self, x):
            return x[:1]

    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized"):
        FZ.register_parametrization(module, "nope", _symmetric(fnn))
    with pytest.raises(ValueError, match="may not change the shape of the tensor, unless `unsafe`"):
        FZ.register_parametrization(module, "weight", Shrink())
    FZ.register_parametrization(module, "weight", Shrink(), unsafe=True)
    assert tuple(module.weight.shape) == (1, 3)
    with pytest.raises(ValueError, match="does not have a parametrization on bias"):
        FZ.remove_parametrizations(module, "bias")
    FP.weight_norm(module, "bias")
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        FZ.remove_parametrizations(module, "bias", leave_parametrized=False)


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_loads_torchs_state_and_matches(device, dim):
    module, tmodule = fnn.Conv1d(2, 3, 2), torch.nn.Conv1d(2, 3, 2)
    FP.weight_norm(module, dim=dim)
    torch.nn.utils.parametrizations.weight_norm(tmodule, dim=dim)
    assert list(module.state_dict()) == list(tmodule.state_dict())
    sync(module, tmodule, device, F64)
    check_module(module, tmodule, [_x((1, 2, 4))], device=device, dtype=F64)


def test_weight_norm_loads_the_old_layout(device):
    old = torch.nn.Linear(3, 2).double()
    with pytest.warns(FutureWarning):
        torch.nn.utils.weight_norm(old)
    state = {k: framework.tensor(v.detach().numpy(), device=device)
             for k, v in old.state_dict().items()}
    assert "weight_g" in state
    module = FP.weight_norm(fnn.Linear(3, 2).double().to(device))
    module.load_state_dict(state)
    assert_close(module.weight, old.weight, **TOL)
    FZ.remove_parametrizations(module, "weight")
    assert list(module.state_dict()) == ["bias", "weight"]  # as torch's


@pytest.mark.parametrize("cls, dim", [("Linear", None), ("ConvTranspose1d", None),
                                      ("Conv1d", 1)])
def test_spectral_norm_power_iteration_matches(device, cls, dim):
    args = (3, 2) if cls == "Linear" else (2, 3, 2)
    module, tmodule = getattr(fnn, cls)(*args), getattr(torch.nn, cls)(*args)
    FP.spectral_norm(module, n_power_iterations=2, dim=dim)
    torch.nn.utils.parametrizations.spectral_norm(tmodule, n_power_iterations=2, dim=dim)
    assert list(module.state_dict()) == list(tmodule.state_dict())
    sync(module, tmodule, device, F64)
    x = _x((1, 3) if cls == "Linear" else (1, 2, 4))
    for _ in range(2):  # training mode: each forward refines u and v in place
        check_module(module, tmodule, [x], device=device, dtype=F64)
    assert_close(module.parametrizations.weight[0]._u,
                 tmodule.parametrizations.weight[0]._u, **TOL)
    module.eval()
    tmodule.eval()
    check_module(module, tmodule, [x], device=device, dtype=F64)


def test_spectral_norm_errors():
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive"):
        FP.spectral_norm(fnn.Linear(2, 2), n_power_iterations=0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        FP.spectral_norm(fnn.Linear(2, 2), dim=2)
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'w'"):
        FP.spectral_norm(fnn.Linear(2, 2), name="w")


# fusion, skip_init, clip_grad_norm -----------------------------------------------------------

def _eval_pair(fw_module, torch_module, device):
    fw_module, torch_module = sync(fw_module, torch_module, device, F64)
    return fw_module.eval(), torch_module.eval()


@pytest.mark.parametrize("transpose", [False, True])
def test_fuse_conv_bn_eval(device, transpose):
    conv_cls = "ConvTranspose2d" if transpose else "Conv2d"
    conv, tconv = _eval_pair(getattr(fnn, conv_cls)(2, 3, 2), getattr(torch.nn, conv_cls)(2, 3, 2),
                             device)
    bn, tbn = fnn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    tbn.running_mean.uniform_(-1, 1)
    tbn.running_var.uniform_(0.5, 2)
    tbn.weight.data.uniform_(-1, 1)
    bn, tbn = _eval_pair(bn, tbn, device)
    fused = fnn.utils.fuse_conv_bn_eval(conv, bn, transpose=transpose)
    tfused = torch.nn.utils.fuse_conv_bn_eval(tconv, tbn, transpose=transpose)
    assert fused is not conv and isinstance(fused.weight, fnn.Parameter)
    check_module(fused, tfused, [_x((1, 2, 3, 3))], device=device, dtype=F64)
    x = framework.tensor(_x((1, 2, 3, 3)), dtype=F64, device=device)
    assert_close(fused(x), torch.tensor(bn(conv(x)).detach().cpu().numpy()), **TOL)
    with pytest.raises(AssertionError, match="Fusion only for eval!"):
        fnn.utils.fuse_conv_bn_eval(conv.train(), bn)


def test_fuse_linear_bn_eval(device):
    linear, tlinear = _eval_pair(fnn.Linear(3, 2), torch.nn.Linear(3, 2), device)
    tbn = torch.nn.BatchNorm1d(2)
    tbn.running_mean.uniform_(-1, 1)
    tbn.running_var.uniform_(0.5, 2)
    bn, tbn = _eval_pair(fnn.BatchNorm1d(2), tbn, device)
    fused = fnn.utils.fuse_linear_bn_eval(linear, bn)
    check_module(fused, torch.nn.utils.fuse_linear_bn_eval(tlinear, tbn), [_x((4, 3))],
                 device=device, dtype=F64)
    with pytest.raises(AssertionError, match="linear.out_features == bn.num_features"):
        fnn.utils.fuse_linear_bn_eval(linear, fnn.BatchNorm1d(3).eval())


def test_fuse_weights_without_bias_or_affine():
    w = framework.tensor(_x((2, 3)), dtype=F64)
    rm, rv = framework.tensor([0.5, -1.0], dtype=F64), framework.tensor([2.0, 0.5], dtype=F64)
    tw, trm, trv = (torch.tensor(t.numpy()) for t in (w, rm, rv))
    got = fnn.utils.fuse_conv_bn_weights(w, None, rm, rv, 1e-5, None, None)
    want = torch.nn.utils.fuse_conv_bn_weights(tw, None, trm, trv, 1e-5, None, None)
    for g, t in zip(got, want):
        assert_close(g, t, **TOL)
        assert isinstance(g, fnn.Parameter) and g.requires_grad == t.requires_grad


def test_skip_init_and_clip_grad_norm(device):
    module = fnn.utils.skip_init(fnn.Linear, 3, 2, device=device)
    assert tuple(module.weight.shape) == (2, 3) and module.weight.device.type == device
    with pytest.raises(RuntimeError, match="Expected a Module"):
        fnn.utils.skip_init(int)
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg"):
        fnn.utils.skip_init(fnn.ReLU)
    p = fnn.Parameter(framework.ones(3, device=device))
    p.grad = framework.full((3,), 4.0, device=device)
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
        norm = fnn.utils.clip_grad_norm([p], 1.0)
    assert abs(norm.item() - 48 ** 0.5) < 1e-5 and abs(p.grad.norm().item() - 1) < 1e-5


def test_transfer_parametrizations_and_params():
    source = FP.weight_norm(fnn.Linear(3, 2).double())
    target = FZ.transfer_parametrizations_and_params(source, fnn.Linear(3, 2).double())
    assert type(target).__name__ == "ParametrizedLinear"
    assert target.parametrizations.weight.original1 is source.parametrizations.weight.original1
    assert_close(target.weight, torch.tensor(source.weight.detach().numpy()), 0, 0)
    assert FZ.transfer_parametrizations_and_params(fnn.ReLU(), target) is target


def test_parametrized_module_deep_copies_but_does_not_pickle():
    import copy
    import pickle
    module = FP.weight_norm(fnn.Linear(3, 2).double())
    replica = copy.deepcopy(module)
    assert type(replica) is type(module)
    original1 = replica.parametrizations.weight.original1
    assert original1 is not module.parametrizations.weight.original1
    assert_close(replica.weight, torch.tensor(module.weight.detach().numpy()), 0, 0)
    with framework.no_grad():
        original1.mul_(2)
    assert_close(replica.weight, torch.tensor(module.weight.detach().numpy()), 0, 0)  # same g
    replica.parametrizations.weight.original0.data = module.parametrizations.weight.original0 * 3
    assert not np.allclose(replica.weight.detach().numpy(), module.weight.detach().numpy())
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        pickle.dumps(module)
