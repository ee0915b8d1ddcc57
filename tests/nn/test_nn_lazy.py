"""Lazy modules (``LazyLinear``, ``LazyConv*``, ``LazyBatchNorm*``, ``LazyInstanceNorm*``) and
``UninitializedParameter``/``UninitializedBuffer`` against PyTorch's behaviour."""
import copy

import numpy as np
import pytest
import torch
from nn_oracle import check_module, randn as _randn, sync

import framework
from framework import nn

LAZY_CASES = [
    ("LazyLinear", (3,), (2, 4)),
    ("LazyLinear", (2,), (4,)),  # unbatched
    ("LazyConv1d", (2, 3), (2, 3, 5)),
    ("LazyConv2d", (2, 2), (1, 2, 3, 3)),
    ("LazyConv2d", (4, 1), (2, 3, 3)),  # unbatched
    ("LazyConv3d", (2, 2), (1, 1, 2, 3, 3)),
    ("LazyConvTranspose1d", (2, 2), (1, 3, 3)),
    ("LazyConvTranspose2d", (2, 2), (1, 2, 2, 2)),
    ("LazyConvTranspose3d", (2, 2), (1, 1, 2, 2, 2)),
    ("LazyBatchNorm1d", (), (4, 3)),
    ("LazyBatchNorm2d", (), (2, 3, 2, 2)),
    ("LazyBatchNorm3d", (), (2, 2, 2, 1, 2)),
    ("LazyInstanceNorm1d", (), (2, 3, 4)),
    ("LazyInstanceNorm2d", (), (2, 3, 2, 2)),
    ("LazyInstanceNorm3d", (), (1, 2, 2, 2, 2)),
]


@pytest.mark.parametrize("name,args,shape", LAZY_CASES)
def test_lazy_module_becomes_its_class_and_matches_torch(device, name, args, shape):
    fw = getattr(nn, name)(*args, device=device)
    torch.manual_seed(0)
    ref = getattr(torch.nn, name)(*args)
    assert repr(fw) == repr(ref)
    assert list(fw.state_dict()) == list(ref.state_dict())
    x = _randn(*shape)
    fw(framework.tensor(x, dtype=framework.float32, device=device))
    ref(torch.tensor(x, dtype=torch.float32))
    assert type(fw).__name__ == type(ref).__name__ == name.removeprefix("Lazy")
    assert repr(fw) == repr(ref)
    assert all(p.device == framework.device(device) for p in fw.parameters())
    assert {k: tuple(v.shape) for k, v in fw.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    fw, ref = sync(fw, ref, device=device)
    check_module(fw, ref, [_randn(*shape, seed=1)], device=device)


def test_lazy_module_takes_device_and_dtype_before_the_dry_run(device):
    layer = nn.LazyLinear(2).to(device).double()
    norm = nn.LazyBatchNorm1d().to(device).double()
    assert isinstance(layer.weight, nn.UninitializedParameter)
    assert isinstance(norm.running_mean, nn.UninitializedBuffer)
    y = norm(layer(framework.ones(3, 4, device=device, dtype=framework.float64)))
    assert y.dtype == framework.float64 and y.device == framework.device(device)
    for t in [*layer.parameters(), *norm.parameters(), norm.running_mean, norm.running_var]:
        assert t.dtype == framework.float64 and t.device == framework.device(device)
    assert type(norm.running_mean) is framework.Tensor


def test_lazy_linear_init_bounds_and_keeps_parameter_objects():
    layer = nn.LazyLinear(40)
    weight, bias = layer.weight, layer.bias
    layer(framework.ones(2, 50))
    assert layer.weight is weight and layer.bias is bias
    assert type(weight) is nn.Parameter and weight.requires_grad
    bound = 1 / np.sqrt(50)
    w = weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_optimizer_built_before_the_first_forward_updates_the_materialized_params(optimizer):
    layer = nn.LazyLinear(2)
    opt = getattr(framework.optim, optimizer)(layer.parameters(), lr=0.1)
    x = framework.ones(3, 4)
    layer(x)  # dry run
    before = layer.weight.detach().clone()
    layer(x).sum().backward()
    opt.step()
    assert not np.allclose(layer.weight.detach().numpy(), before.numpy())
    # torch accepts the same order of calls
    ref = torch.nn.LazyLinear(2)
    ref_opt = getattr(torch.optim, optimizer)(ref.parameters(), lr=0.1)
    ref(torch.ones(3, 4)).sum().backward()
    ref_opt.step()


def test_lazy_state_dict_round_trips():
    full = nn.LazyLinear(3)
    full(framework.ones(2, 4))
    lazy = nn.LazyLinear(3)
    assert repr(lazy.state_dict()["weight"]) == "<UninitializedParameter>"
    lazy.load_state_dict(full.state_dict())  # materializes to the loaded shapes
    assert type(lazy).__name__ == "LazyLinear" and tuple(lazy.weight.shape) == (3, 4)
    lazy(framework.ones(1, 4))  # the dry run keeps the loaded values
    assert type(lazy) is nn.Linear and lazy.in_features == 4
    np.testing.assert_array_equal(lazy.weight.detach().numpy(), full.weight.detach().numpy())
    other = nn.LazyLinear(3)
    other.load_state_dict(nn.LazyLinear(3).state_dict())  # uninitialized into uninitialized
    assert other.has_uninitialized_params()
    with pytest.raises(RuntimeError, match="uninitialized parameter"):
        full.load_state_dict(nn.LazyLinear(3).state_dict())


def test_lazy_batch_norm_state_dict_materializes_buffers():
    full = nn.LazyBatchNorm1d()
    full(framework.randn(4, 3))
    lazy = nn.LazyBatchNorm1d()
    lazy.load_state_dict(full.state_dict())
    np.testing.assert_array_equal(lazy.running_mean.numpy(), full.running_mean.numpy())
    assert int(lazy.num_batches_tracked.item()) == 1


def test_deepcopy_of_a_lazy_module_initializes_separately():
    layer = nn.LazyConv1d(2, 1)
    twin = copy.deepcopy(layer)
    twin(framework.ones(1, 3, 4))
    assert type(twin) is nn.Conv1d and tuple(twin.weight.shape) == (2, 3, 1)
    assert type(layer) is nn.LazyConv1d and layer.has_uninitialized_params()


def test_uninitialized_tensors():
    p = nn.UninitializedParameter(dtype=framework.float64)
    b = nn.UninitializedBuffer()
    assert repr(p) == "<UninitializedParameter>" and repr(b) == "<UninitializedBuffer>"
    assert p.requires_grad and not b.requires_grad and b.persistent
    assert tuple(p.size()) == tuple(torch.nn.UninitializedParameter().size()) == (0,)
    assert isinstance(p, nn.Parameter) and p.dtype == framework.float64
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and tuple(p.shape) == (2, 3) and p.dtype == framework.float64
    b.materialize((4,), dtype=framework.float64)
    assert type(b) is framework.Tensor and b.dtype == framework.float64


def test_uninitialized_tensors_refuse_use():
    p = nn.UninitializedParameter()
    with pytest.raises(RuntimeError, match="Can't access the shape"):
        p.shape
    with pytest.raises(ValueError, match="uninitialized parameter"):
        p + 1
    with pytest.raises(ValueError, match="uninitialized parameter"):
        framework.nn.functional.linear(framework.ones(2, 3), p)


def test_lazy_modules_bad_input_raises():
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input"):
        nn.LazyConv2d(2, 1)(framework.ones(2, 3))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv1d(4, 1, groups=2)(framework.ones(1, 3, 4))
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.LazyBatchNorm2d()(framework.ones(2, 3))

    class Custom(nn.LazyModuleMixin, nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(NotImplementedError, match="initialize_parameters"):
        Custom()(framework.ones(1))


def test_a_custom_lazy_module_materializes_its_own_parameters(device):
    class LazyScale(nn.modules.lazy.LazyModuleMixin, nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.UninitializedParameter(device=device)

        def initialize_parameters(self, x):
            if self.has_uninitialized_params():
                self.scale.materialize((x.shape[-1],))
                with framework.no_grad():
                    self.scale.fill_(2.0)

        def forward(self, x):
            return x * self.scale

    layer = LazyScale()
    y = layer(framework.ones(2, 3, device=device))
    np.testing.assert_array_equal(y.detach().cpu().numpy(), np.full((2, 3), 2.0))
    assert type(layer) is LazyScale and not layer.has_uninitialized_params()
    assert not hasattr(layer, "_initialize_hook")
