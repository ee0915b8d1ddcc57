"""Layers added for torch.nn coverage (fold, upsampling, distance, 3-D norms, dropout3d, ...)
against PyTorch: outputs and gradients (float64 oracle) on cpu and cuda."""
import numpy as np
import pytest
import torch
from nn_oracle import check_module, sync

import framework
from framework import nn


def _pair(name, *args, **kwargs):
    torch.manual_seed(0)
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


def _randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# --- Unfold / Fold -----------------------------------------------------------------------
def test_unfold_matches_torch(device):
    fw, ref = _pair("Unfold", (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))
    check_module(fw, ref, [_randn(2, 2, 3, 4)], device=device)
    assert repr(fw) == repr(ref)


def test_fold_matches_torch(device):
    fw, ref = _pair("Fold", (3, 4), 2, padding=(0, 1), stride=1)
    check_module(fw, ref, [_randn(2, 2 * 4, 2 * 5)], device=device)
    assert repr(fw) == repr(ref)


def test_fold_unbatched_and_unit_kernel(device):
    fw, ref = _pair("Fold", (1, 3), 1)
    check_module(fw, ref, [_randn(2, 3)], device=device)
    fw, ref = _pair("Unfold", 1)
    check_module(fw, ref, [_randn(1, 1, 1, 3)], device=device)


def test_fold_unfold_bad_input_raises():
    with pytest.raises(RuntimeError, match="fold"):
        nn.Fold((3, 3), 2)(framework.ones(1, 5, 4))  # 5 is not divisible by 2*2
    with pytest.raises(RuntimeError, match="unfold"):
        nn.Unfold(2)(framework.ones(2, 3))


# --- upsampling layers -------------------------------------------------------------------
@pytest.mark.parametrize("name,kwargs", [("UpsamplingNearest2d", {"scale_factor": 2}),
                                         ("UpsamplingBilinear2d", {"scale_factor": 2}),
                                         ("UpsamplingBilinear2d", {"size": (1, 3)}),
                                         ("UpsamplingNearest2d", {"size": 3})])
def test_upsampling_layers_match_torch(device, name, kwargs):
    fw, ref = _pair(name, **kwargs)
    check_module(fw, ref, [_randn(1, 2, 2, 3)], device=device)
    assert repr(fw) == repr(ref)


def test_upsampling_bad_input_raises():
    with pytest.raises(ValueError):
        nn.UpsamplingBilinear2d()(framework.ones(1, 1, 2, 2))  # neither size nor scale


# --- PairwiseDistance --------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"p": 1.0, "keepdim": True}, {"p": 3.0, "eps": 0.1}])
def test_pairwise_distance_matches_torch(device, kwargs):
    fw, ref = _pair("PairwiseDistance", **kwargs)
    check_module(fw, ref, [_randn(3, 4), _randn(3, 4, seed=1)], device=device)


def test_pairwise_distance_broadcast_and_bad_input():
    fw, ref = _pair("PairwiseDistance")
    check_module(fw, ref, [_randn(3, 4), _randn(1, 4, seed=1)])
    with pytest.raises(RuntimeError):
        fw(framework.ones(3, 4), framework.ones(2, 4))


# --- 3-D normalization -------------------------------------------------------------------
def test_batch_norm3d_matches_torch(device):
    fw, ref = sync(*_pair("BatchNorm3d", 2), device=device)
    check_module(fw, ref, [_randn(2, 2, 2, 1, 3)], device=device)
    np.testing.assert_allclose(fw.running_var.cpu().numpy(), ref.running_var.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    fw.eval()
    ref.eval()
    check_module(fw, ref, [_randn(1, 2, 1, 2, 2, seed=2)], device=device)


def test_instance_norm3d_matches_torch(device):
    fw, ref = sync(*_pair("InstanceNorm3d", 2, affine=True), device=device)
    check_module(fw, ref, [_randn(2, 2, 2, 1, 3)], device=device)
    check_module(fw, ref, [_randn(2, 1, 2, 2, seed=1)], device=device)  # unbatched


def test_norm3d_bad_input_raises():
    with pytest.raises(ValueError, match="expected 5D input"):
        nn.BatchNorm3d(2)(framework.ones(2, 2, 3, 3))
    with pytest.raises(ValueError, match="expected 4D or 5D input"):
        nn.InstanceNorm3d(2)(framework.ones(2, 2, 3))


# --- Dropout3d / FeatureAlphaDropout ------------------------------------------------------
@pytest.mark.parametrize("name", ["Dropout3d", "FeatureAlphaDropout"])
def test_channel_dropout_layers(device, name):
    layer = getattr(nn, name)(0.5)
    x = framework.ones(2, 4, 2, 2, 2, device=device)
    y = layer(x).cpu().numpy()
    per_channel = y.reshape(8, 8)
    assert np.all(per_channel == per_channel[:, :1])  # one draw per (n, c) feature map
    assert len(np.unique(per_channel[:, 0])) == 2
    layer.eval()
    assert np.array_equal(layer(x).cpu().numpy(), x.cpu().numpy())
    assert repr(layer) == repr(getattr(torch.nn, name)(0.5))


def test_channel_dropout_bad_probability_raises():
    with pytest.raises(ValueError, match="dropout probability"):
        nn.Dropout3d(1.5)
    with pytest.raises(ValueError, match="dropout probability"):
        nn.FeatureAlphaDropout(-0.1)
