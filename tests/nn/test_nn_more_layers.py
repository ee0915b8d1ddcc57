"""Layers added for torch.nn coverage (fold, upsampling, distance, 3-D norms, dropout3d, ...)
against PyTorch: outputs and gradients (float64 oracle) on cpu and cuda."""
import numpy as np
import pytest
import torch
from nn_oracle import check_module, module_pair as _pair, randn as _randn, sync

import framework
from framework import nn


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


# --- ChannelShuffle ----------------------------------------------------------------------
@pytest.mark.parametrize("groups,shape", [(2, (2, 4, 3)), (3, (1, 6, 2, 2)), (1, (1, 2, 1))])
def test_channel_shuffle_matches_torch(device, groups, shape):
    fw, ref = _pair("ChannelShuffle", groups)
    check_module(fw, ref, [_randn(*shape)], device=device)
    assert repr(fw) == repr(ref)


def test_channel_shuffle_bad_input_raises():
    with pytest.raises(RuntimeError, match="divisible by groups"):
        nn.ChannelShuffle(2)(framework.ones(1, 3, 2))
    with pytest.raises(RuntimeError, match="must be positive"):
        nn.ChannelShuffle(0)(framework.ones(1, 3, 2))
    with pytest.raises(RuntimeError, match="> 2 dims"):
        nn.ChannelShuffle(2)(framework.ones(2, 4))


# --- LocalResponseNorm / CrossMapLRN2d --------------------------------------------------
@pytest.mark.parametrize("size,shape", [(3, (2, 5, 3)), (2, (1, 4, 2, 3)), (4, (1, 3, 2, 1, 2)),
                                        (5, (2, 1, 3))])
def test_local_response_norm_matches_torch(device, size, shape):
    fw, ref = _pair("LocalResponseNorm", size, alpha=0.5, beta=0.6, k=1.5)
    check_module(fw, ref, [_randn(*shape)], device=device)
    assert repr(fw) == repr(ref)


@pytest.mark.parametrize("size,channels", [(5, 7), (4, 6), (3, 1), (2, 3)])
def test_cross_map_lrn2d_forward_matches_torch(device, size, channels):
    fw, ref = _pair("CrossMapLRN2d", size, alpha=0.5, beta=0.75, k=1)
    check_module(fw, ref, [_randn(2, channels, 2, 3)], device=device, grad=False)
    assert repr(fw) == repr(ref)


def test_cross_map_lrn2d_gradient_is_the_gradient_of_its_forward():
    """PyTorch's legacy backward fails its own gradcheck (another window); ours passes."""
    x = framework.tensor(_randn(1, 6, 2, 2), dtype=framework.float64, requires_grad=True)
    assert framework.autograd.gradcheck(nn.CrossMapLRN2d(5, alpha=0.5), (x,))


def test_local_response_norm_bad_input_raises():
    with pytest.raises(ValueError, match="Expected 3D or higher"):
        nn.LocalResponseNorm(2)(framework.ones(2, 3))
    with pytest.raises(ValueError, match="Expected input to be 4D"):
        nn.CrossMapLRN2d(2)(framework.ones(2, 3, 4))


# --- RReLU -------------------------------------------------------------------------------
def test_rrelu_eval_matches_torch(device):
    fw, ref = _pair("RReLU", 0.1, 0.3)
    fw.eval()
    ref.eval()
    check_module(fw, ref, [_randn(3, 4)], device=device)
    assert repr(fw) == repr(ref)
    assert repr(nn.RReLU(inplace=True)) == repr(torch.nn.RReLU(inplace=True))


def test_rrelu_training_draws_slopes_and_differentiates_through_them(device):
    x = framework.tensor(_randn(400), dtype=framework.float32, device=device, requires_grad=True)
    y = nn.RReLU(0.1, 0.3)(x)
    y.sum().backward()
    xs, ys = x.detach().cpu().numpy(), y.detach().cpu().numpy()
    neg = xs < 0
    slopes = ys[neg] / xs[neg]
    assert np.all(ys[~neg] == xs[~neg])
    assert slopes.min() >= 0.1 - 1e-6 and slopes.max() <= 0.3 + 1e-6 and slopes.std() > 0.03
    grad = x.grad.cpu().numpy()
    np.testing.assert_allclose(grad[neg], slopes, rtol=1e-5)
    assert np.all(grad[~neg] == 1)


def test_rrelu_inplace_and_bad_input(device):
    x = framework.tensor(_randn(3, 4), dtype=framework.float32, device=device)
    expected = framework.nn.functional.leaky_relu(x, 0.2).cpu().numpy()
    out = framework.nn.functional.rrelu_(x, 0.1, 0.3)
    assert out is x
    np.testing.assert_allclose(x.cpu().numpy(), expected, rtol=1e-6)
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal"):
        nn.RReLU(0.5, 0.1)(framework.ones(2))


# --- LPPool ------------------------------------------------------------------------------
@pytest.mark.parametrize("name,args,shape", [
    ("LPPool1d", (2, 3), (2, 2, 7)), ("LPPool1d", (3.0, 2, 1), (1, 2, 4)),
    ("LPPool2d", (2, (2, 3)), (1, 2, 4, 5)), ("LPPool2d", (1.5, 2, 1, True), (2, 3, 3)),
    ("LPPool3d", (2, 2), (1, 1, 2, 4, 3)), ("LPPool2d", (float("inf"), 2), (1, 1, 3, 4)),
    ("LPPool1d", (2, 1), (1, 1, 1)),
])
def test_lp_pool_matches_torch(device, name, args, shape):
    fw, ref = _pair(name, *args)
    x = np.abs(_randn(*shape)) + 0.1  # fractional powers of negative sums are NaN in both
    check_module(fw, ref, [x], device=device)
    assert repr(fw) == repr(ref)


def test_lp_pool_bad_input_raises():
    with pytest.raises(RuntimeError):
        nn.LPPool2d(2, 3)(framework.ones(1, 1, 2, 2))  # window larger than the input
    with pytest.raises(RuntimeError, match="lp_pool3d"):
        nn.LPPool3d(2, (2, 2))(framework.ones(1, 1, 2, 2, 2))


# --- 3-D adaptive pooling ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["AdaptiveAvgPool3d", "AdaptiveMaxPool3d"])
@pytest.mark.parametrize("size,shape", [((2, 3, 2), (1, 2, 3, 4, 5)), (1, (2, 3, 2, 2)),
                                        ((None, 2, 1), (1, 1, 2, 3, 3))])
def test_adaptive_pool3d_matches_torch(device, name, size, shape):
    fw, ref = _pair(name, size)
    check_module(fw, ref, [_randn(*shape)], device=device)
    assert repr(fw) == repr(ref)


def test_adaptive_max_pool3d_indices_match_torch(device):
    x = _randn(2, 2, 3, 4, 5)
    values, indices = nn.AdaptiveMaxPool3d((2, 3, 2), return_indices=True)(
        framework.tensor(x, device=device))
    ref_values, ref_indices = torch.nn.AdaptiveMaxPool3d((2, 3, 2), return_indices=True)(
        torch.tensor(x))
    np.testing.assert_array_equal(indices.cpu().numpy(), ref_indices.numpy())
    np.testing.assert_array_equal(values.cpu().numpy(), ref_values.numpy())


def test_adaptive_pool3d_bad_input_raises():
    with pytest.raises(RuntimeError, match="Expected 4D or 5D tensor"):
        nn.AdaptiveAvgPool3d(2)(framework.ones(2, 3, 4))
    with pytest.raises(RuntimeError, match="three ints"):
        nn.AdaptiveMaxPool3d((2, 2))(framework.ones(1, 2, 3, 4, 5))


# --- MaxUnpool1d / MaxUnpool3d -----------------------------------------------------------
@pytest.mark.parametrize("spatial,shape,kwargs", [
    (1, (2, 2, 7), {"kernel_size": 2}), (1, (3, 5), {"kernel_size": 3, "stride": 2, "padding": 1}),
    (3, (1, 2, 4, 4, 6), {"kernel_size": 2}), (3, (1, 2, 3, 4), {"kernel_size": (1, 2, 2)}),
])
def test_max_unpool_matches_torch(device, spatial, shape, kwargs):
    pooled, indices = getattr(torch.nn.functional, f"max_pool{spatial}d")(
        torch.tensor(_randn(*shape)), return_indices=True, **kwargs)
    fw, ref = _pair(f"MaxUnpool{spatial}d", **kwargs)
    size = list(shape[-spatial:])
    check_module(fw, ref, [pooled.numpy(), indices.numpy()], device=device,
                 call=lambda m, v, i: m(v, i, output_size=size))
    assert repr(fw) == repr(ref)


def test_max_unpool_bad_input_raises():
    values = framework.ones(1, 1, 2)
    with pytest.raises(RuntimeError, match="int64"):
        nn.MaxUnpool1d(2)(values, framework.zeros(1, 1, 2, dtype=framework.int32))
    with pytest.raises(RuntimeError, match="Expected 4D or 5D input"):
        nn.MaxUnpool3d(2)(values, framework.zeros(1, 1, 2, dtype=framework.int64))
    with pytest.raises(ValueError, match="invalid output_size"):
        nn.MaxUnpool1d(2)(values, framework.zeros(1, 1, 2, dtype=framework.int64),
                          output_size=[9])


# --- margin losses -----------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"p": 2, "margin": 0.5}, {"reduction": "none"},
                                    {"reduction": "sum", "weight": True}])
def test_multi_margin_loss_matches_torch(device, kwargs):
    kwargs = dict(kwargs)
    if kwargs.pop("weight", False):
        kwargs["weight"] = torch.tensor([0.5, 2.0, 1.0, 0.25])
    torch.manual_seed(0)
    ref = torch.nn.MultiMarginLoss(**kwargs)
    fw_kwargs = {k: (framework.tensor(v.numpy()) if k == "weight" else v)
                 for k, v in kwargs.items()}
    fw, ref = sync(nn.MultiMarginLoss(**fw_kwargs), ref, device=device)
    check_module(fw, ref, [_randn(3, 4), np.array([0, 3, 1])], device=device)


def test_multi_margin_loss_single_sample(device):
    fw, ref = _pair("MultiMarginLoss", reduction="none")
    check_module(fw, ref, [_randn(4), np.array(2)], device=device)


@pytest.mark.parametrize("target", [[[3, 0, -1, 1], [0, 1, 2, 3], [-1, 0, 0, 0]],
                                    [[3, 3, -1, 1], [2, 1, -1, 3], [1, 0, 2, -1]]])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_multilabel_margin_loss_matches_torch(device, target, reduction):
    fw, ref = _pair("MultiLabelMarginLoss", reduction=reduction)
    check_module(fw, ref, [_randn(3, 4), np.array(target)], device=device)


def test_multilabel_margin_loss_single_sample(device):
    fw, ref = _pair("MultiLabelMarginLoss")
    check_module(fw, ref, [_randn(3), np.array([2, -1, 0])], device=device)


def test_margin_losses_bad_input_raises():
    x = framework.ones(3, 4)
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(RuntimeError, match="target out of range"):
        nn.MultiMarginLoss()(x, framework.tensor([0, 4, 1]))
    with pytest.raises(RuntimeError, match="Expected target size"):
        nn.MultiMarginLoss()(x, framework.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="inconsistent weight size"):
        nn.MultiMarginLoss(weight=framework.ones(3))(x, framework.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match="Long"):
        nn.MultiLabelMarginLoss()(x, framework.zeros(3, 4))
    with pytest.raises(RuntimeError, match="inconsistent target size"):
        nn.MultiLabelMarginLoss()(x, framework.zeros(2, 4, dtype=framework.int64))
    with pytest.raises(RuntimeError, match="out of range"):
        nn.MultiLabelMarginLoss()(x, framework.full((3, 4), 4, dtype=framework.int64))


# --- TripletMarginWithDistanceLoss -------------------------------------------------------
def _l1_distance(a, b):
    return (a - b).abs().sum(-1)


@pytest.mark.parametrize("kwargs", [{}, {"swap": True, "margin": 2.0},
                                    {"distance_function": _l1_distance, "reduction": "none"}])
def test_triplet_margin_with_distance_loss_matches_torch(device, kwargs):
    fw, ref = _pair("TripletMarginWithDistanceLoss", **kwargs)
    check_module(fw, ref, [_randn(4, 3), _randn(4, 3, seed=1), _randn(4, 3, seed=2)],
                 device=device)
    assert repr(fw) == repr(ref) or "distance_function" in kwargs


def test_triplet_margin_with_distance_loss_bad_input_raises():
    with pytest.raises(ValueError, match="margin to be greater than 0"):
        nn.TripletMarginWithDistanceLoss(margin=0.0)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        nn.TripletMarginWithDistanceLoss()(framework.ones(2, 3), framework.ones(2, 3),
                                           framework.ones(3))


# --- functional spellings ----------------------------------------------------------------
def test_with_indices_and_deprecated_spellings_match_torch(device):
    import torch.nn.functional as TF
    F = framework.nn.functional
    x = _randn(1, 2, 4, 4)
    fx, tx = framework.tensor(x, device=device), torch.tensor(x)
    for name, args in [("max_pool2d_with_indices", (2,)), ("max_pool1d_with_indices", (2,)),
                       ("adaptive_max_pool2d_with_indices", (3,)),
                       ("adaptive_max_pool1d_with_indices", (3,))]:
        a = fx[0] if "1d" in name else fx
        b = tx[0] if "1d" in name else tx
        (v, i), (rv, ri) = getattr(F, name)(a, *args), getattr(TF, name)(b, *args)
        np.testing.assert_array_equal(i.cpu().numpy(), ri.numpy())
        np.testing.assert_allclose(v.cpu().numpy(), rv.numpy())
    x5 = _randn(1, 1, 3, 4, 4)
    for name in ("max_pool3d_with_indices", "adaptive_max_pool3d_with_indices"):
        (v, i), (rv, ri) = (getattr(F, name)(framework.tensor(x5, device=device), 2),
                            getattr(TF, name)(torch.tensor(x5), 2))
        np.testing.assert_array_equal(i.cpu().numpy(), ri.numpy())
    for name, kwargs in [("upsample", {"scale_factor": 2, "mode": "bilinear"}),
                         ("upsample_nearest", {"size": 3}), ("upsample_bilinear", {"size": 5})]:
        with pytest.warns(UserWarning, match="deprecated"):
            got = getattr(F, name)(fx, **kwargs)
        with pytest.warns(UserWarning):
            want = getattr(TF, name)(tx, **kwargs)
        np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-12, atol=1e-12)
    y = framework.tensor(x, device=device)
    assert F.threshold_(y, 0.1, 2.0) is y
    np.testing.assert_array_equal(y.cpu().numpy(), TF.threshold(tx, 0.1, 2.0).numpy())


# --- legacy names ------------------------------------------------------------------------
def test_legacy_names(device):
    container = nn.Container(fc=nn.Linear(2, 3))
    assert list(dict(container.named_children())) == ["fc"]
    assert issubclass(nn.GRUCell, nn.RNNCellBase) and issubclass(nn.NLLLoss2d, nn.NLLLoss)
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        fw, ref = _pair("NLLLoss2d")
    logp = np.log(np.random.default_rng(0).dirichlet(np.ones(3), size=(2, 2, 2))).transpose(0, 3, 1, 2)
    check_module(fw, ref, [logp, np.array([[[0, 2], [1, 1]], [[2, 0], [0, 1]]])], device=device)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.0, float("inf")])
def test_pdist_matches_torch(device, p):
    x = _randn(4, 3)
    x[2] = x[1]  # a zero distance: gradient 0, as in torch
    check_module(nn.Identity(), nn.Identity(), [x], device=device,
                 call=lambda m, t: (framework.pdist if isinstance(t, framework.Tensor)
                                    else torch.pdist)(m(t), p))


def test_pdist_edge_and_bad_input(device):
    assert tuple(framework.pdist(framework.ones(1, 3, device=device)).shape) == (0,)
    with pytest.raises(RuntimeError, match="2D tensors"):
        framework.nn.functional.pdist(framework.ones(3))
    with pytest.raises(RuntimeError, match="non-negative p"):
        framework.pdist(framework.ones(2, 3), -1.0)


# --- FractionalMaxPool2d / 3d ------------------------------------------------------------
@pytest.mark.parametrize("name,kwargs,shape", [
    ("FractionalMaxPool2d", {"kernel_size": 2, "output_size": (3, 4)}, (2, 2, 5, 7)),
    ("FractionalMaxPool2d", {"kernel_size": (3, 1), "output_ratio": 0.5}, (1, 3, 6, 4)),
    ("FractionalMaxPool2d", {"kernel_size": 2, "output_size": 1}, (2, 3, 3)),  # unbatched
    ("FractionalMaxPool3d", {"kernel_size": 2, "output_size": (2, 3, 2)}, (1, 2, 4, 5, 4)),
    ("FractionalMaxPool3d", {"kernel_size": (1, 2, 1), "output_ratio": (0.5, 0.5, 0.75)},
     (2, 2, 4, 4)),
])
def test_fractional_max_pool_matches_torch(device, name, kwargs, shape):
    spatial = int(name[-2])
    batch = shape[0] if len(shape) == spatial + 2 else 1
    samples = np.random.default_rng(3).random((batch, shape[-spatial - 1], spatial))
    fw = getattr(nn, name)(**kwargs, _random_samples=framework.tensor(samples))
    ref = getattr(torch.nn, name)(**kwargs, _random_samples=torch.tensor(samples))
    fw, ref = sync(fw, ref, device=device)
    check_module(fw, ref, [_randn(*shape)], device=device)
    fw.return_indices = ref.return_indices = True
    x = _randn(*shape)
    indices = fw(framework.tensor(x, dtype=framework.float32, device=device))[1]
    ref_indices = ref.float()(torch.tensor(x, dtype=torch.float32))[1]
    np.testing.assert_array_equal(indices.cpu().numpy(), ref_indices.numpy())


def test_fractional_max_pool_draws_its_own_samples(device):
    x = framework.tensor(_randn(2, 3, 6, 6), dtype=framework.float32, device=device)
    values, indices = nn.FractionalMaxPool2d(2, output_ratio=0.5, return_indices=True)(x)
    assert tuple(values.shape) == (2, 3, 3, 3)
    flat = x.reshape(2, 3, -1).gather(2, indices.reshape(2, 3, -1)).reshape(values.shape)
    np.testing.assert_array_equal(flat.cpu().numpy(), values.cpu().numpy())


def test_fractional_max_pool_bad_input_raises():
    with pytest.raises(ValueError, match="either an output size, or a pooling ratio"):
        nn.FractionalMaxPool2d(2)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
        nn.FractionalMaxPool3d(2, output_size=2, output_ratio=0.5)
    with pytest.raises(ValueError, match="output_ratio must be between 0 and 1"):
        nn.FractionalMaxPool2d(2, output_ratio=1.5)
    with pytest.raises(ValueError, match="kernel_size must be greater than 0"):
        nn.FractionalMaxPool2d(0, output_size=2)
    with pytest.raises(RuntimeError, match="too large relative to input height"):
        nn.FractionalMaxPool2d(4, output_size=(3, 3))(framework.ones(1, 1, 5, 7))
    with pytest.raises(RuntimeError, match="pool time 2 too large relative to input time 3"):
        nn.FractionalMaxPool3d(2, output_size=2)(framework.ones(1, 1, 3, 4, 4))
    with pytest.raises(RuntimeError, match="_random_samples of shape"):
        framework.nn.functional.fractional_max_pool2d(framework.ones(1, 1, 5, 5), 2, 2,
                                                      _random_samples=framework.rand(2, 1, 2))


# --- AdaptiveLogSoftmaxWithLoss ----------------------------------------------------------
def _adaptive_pair(device, cluster_bias: float = 0.0):
    fw, ref = _pair("AdaptiveLogSoftmaxWithLoss", 6, 9, [3, 5], div_value=2.0, head_bias=True)
    with torch.no_grad():
        ref.head.bias[3] += cluster_bias  # the head then picks the first cluster for some rows
    return sync(fw, ref, device=device)


@pytest.mark.parametrize("target", [[0, 4, 8, 2, 5, 3], [1, 2, 0, 1, 2, 0], [7, 8, 5, 6, 7, 8]])
def test_adaptive_log_softmax_matches_torch(device, target):
    fw, ref = _adaptive_pair(device)
    check_module(fw, ref, [_randn(6, 6), np.array(target)], device=device)
    check_module(fw, ref, [_randn(6), np.array(target[0])], device=device)  # unbatched


@pytest.mark.parametrize("cluster_bias", [0.0, 1.0, 50.0])  # none, some, all rows in a cluster
def test_adaptive_log_softmax_log_prob_and_predict_match_torch(device, cluster_bias):
    fw, ref = _adaptive_pair(device, cluster_bias)
    check_module(fw, ref, [_randn(5, 6)], device=device, call=lambda m, x: m.log_prob(x))
    x = _randn(5, 6)
    got = fw.predict(framework.tensor(x, dtype=framework.float32, device=device))
    np.testing.assert_array_equal(got.cpu().numpy(), ref.predict(torch.tensor(x)).numpy())


def test_adaptive_log_softmax_bad_input_raises():
    with pytest.raises(ValueError, match="cutoffs should be a sequence of unique"):
        nn.AdaptiveLogSoftmaxWithLoss(4, 5, [3, 2])
    with pytest.raises(ValueError, match="length larger than 0"):
        nn.AdaptiveLogSoftmaxWithLoss(4, 5, [])
    layer = nn.AdaptiveLogSoftmaxWithLoss(4, 5, [2])
    with pytest.raises(RuntimeError, match=r"Target values should be in \[0, 4\]"):
        layer(framework.ones(2, 4), framework.tensor([0, 5]))
    with pytest.raises(RuntimeError, match="same size in the batch dimension"):
        layer(framework.ones(3, 4), framework.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="multi-target not supported"):
        layer(framework.ones(2, 4), framework.zeros(2, 1, dtype=framework.int64))


# --- CTCLoss -----------------------------------------------------------------------------
def _ctc_call(input_lengths, target_lengths):
    """log_softmax first, as CTC is used (PyTorch's raw log_probs gradient differs by
    exp(log_probs), which log_softmax's backward cancels)."""
    return lambda m, x, t: m(x.log_softmax(-1), t, input_lengths, target_lengths)


@pytest.mark.parametrize("kwargs,lengths,targets", [
    ({}, ([5, 4], [3, 2]), [[1, 2, 2], [3, 1, 0]]),
    ({"reduction": "none", "blank": 3}, ([5, 5], [2, 0]), [[1, 1], [0, 0]]),
    ({"reduction": "sum"}, ([5, 3], [2, 1]), [1, 2, 3]),  # concatenated targets
    ({"reduction": "none", "zero_infinity": True}, ([2, 5], [3, 1]), [[1, 2, 3], [2, 0, 0]]),
])
def test_ctc_loss_matches_torch(device, kwargs, lengths, targets):
    fw, ref = _pair("CTCLoss", **kwargs)
    check_module(fw, ref, [_randn(5, 2, 4), np.array(targets)], device=device,
                 call=_ctc_call(*lengths))


def test_ctc_loss_unbatched_and_tensor_lengths(device):
    fw, ref = _pair("CTCLoss")
    check_module(fw, ref, [_randn(4, 3), np.array([1, 2])], device=device,
                 call=lambda m, x, t: m(x.log_softmax(-1), t, [4], [2]))
    lengths = framework.tensor([4, 3], device=device), framework.tensor([2, 1], device=device)
    x = framework.tensor(_randn(4, 2, 3), device=device).log_softmax(-1)
    got = fw(x, framework.tensor([[1, 2], [2, 0]], device=device), *lengths)
    want = ref(torch.tensor(_randn(4, 2, 3)).log_softmax(-1), torch.tensor([[1, 2], [2, 0]]),
               torch.tensor([4, 3]), torch.tensor([2, 1]))
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-6)


def test_ctc_loss_impossible_alignment_has_finite_gradients(device):
    x = framework.tensor(_randn(2, 1, 4), device=device, requires_grad=True)
    loss = nn.CTCLoss(reduction="sum")(x.log_softmax(-1), framework.tensor([[1, 2, 3]]), [2], [3])
    assert loss.item() == float("inf")
    loss.backward()
    assert np.all(np.isfinite(x.grad.cpu().numpy()))


def test_ctc_loss_bad_input_raises():
    lp = framework.randn(5, 2, 4).log_softmax(2)
    t = framework.tensor([[1, 2], [3, 3]])
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        nn.CTCLoss(blank=4)(lp, t, [5, 4], [2, 2])
    with pytest.raises(RuntimeError, match="input_lengths to have value at most 5"):
        nn.CTCLoss()(lp, t, [6, 4], [2, 2])
    with pytest.raises(RuntimeError, match="size at least 3 at dimension 1"):
        nn.CTCLoss()(lp, t, [5, 4], [3, 2])
    with pytest.raises(RuntimeError, match="input_lengths must be of size batch_size"):
        nn.CTCLoss()(lp, t, [5], [2, 2])
    with pytest.raises(RuntimeError, match="target_lengths to have value at least 0"):
        nn.CTCLoss()(lp, t, [5, 4], [2, -1])
    with pytest.raises(RuntimeError, match="integer targets"):
        nn.CTCLoss()(lp, t.float(), [5, 4], [2, 2])


# --- conv_tbc ----------------------------------------------------------------------------
@pytest.mark.parametrize("pad,shape", [(0, (5, 2, 3)), (1, (4, 1, 3)), (2, (1, 2, 3))])
def test_conv_tbc_matches_torch(device, pad, shape):
    weight, bias = _randn(2, 3, 4, seed=1), _randn(4, seed=2)
    check_module(nn.Identity(), nn.Identity(), [_randn(*shape), weight, bias], device=device,
                 call=lambda m, x, w, b: (framework.conv_tbc if isinstance(x, framework.Tensor)
                                          else torch.conv_tbc)(m(x), w, b, pad))


def test_conv_tbc_bad_input_raises():
    x, w, b = framework.ones(5, 2, 3), framework.ones(2, 3, 4), framework.ones(4)
    with pytest.raises(RuntimeError, match="Input must have 3 dims"):
        framework.nn.functional.conv_tbc(x[0], w, b)
    with pytest.raises(RuntimeError, match="Bias size must equal dim 2"):
        framework.conv_tbc(x, w, b[:2])
    with pytest.raises(RuntimeError, match="input channels"):
        framework.conv_tbc(x, w[:, :2], b)


# --- F.multi_head_attention_forward ------------------------------------------------------
def _mha(x, *args, **kwargs):
    """The library's multi_head_attention_forward, picked by the tensor type of ``x``."""
    lib = framework.nn.functional if isinstance(x, framework.Tensor) else torch.nn.functional
    return lib.multi_head_attention_forward(x, *args, **kwargs)


E, HEADS = 4, 2


@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
def test_multi_head_attention_forward_packed_matches_torch(device, need_weights, average):
    inputs = [_randn(3, 2, E), _randn(5, 2, E, seed=1), _randn(5, 2, E, seed=2),
              _randn(3 * E, E, seed=3), _randn(3 * E, seed=4), _randn(E, E, seed=5),
              _randn(E, seed=6), _randn(2 * HEADS, 3, 5, seed=7)]

    def call(m, q, k, v, w_in, b_in, w_out, b_out, mask):
        return _mha(q, k, v, E, HEADS, w_in, b_in, None, None, False, 0.5, w_out, b_out,
                    training=False, need_weights=need_weights, attn_mask=mask,
                    average_attn_weights=average)
    out = check_module(nn.Identity(), nn.Identity(), inputs, device=device, call=call)
    assert len(out) == (2 if need_weights else 1)


def test_multi_head_attention_forward_separate_weights_bias_kv_zero_attn(device):
    kpm = np.array([[False, True, False, False], [False, False, False, True]])
    inputs = [_randn(3, 2, E), _randn(4, 2, 3, seed=1), _randn(4, 2, 5, seed=2),
              _randn(E, E, seed=3), _randn(E, 3, seed=4), _randn(E, 5, seed=5),
              _randn(1, 1, E, seed=6), _randn(1, 1, E, seed=7), _randn(E, E, seed=8), kpm]

    def call(m, q, k, v, wq, wk, wv, bk, bv, w_out, mask):
        return _mha(q, k, v, E, HEADS, None, None, bk, bv, True, 0.0, w_out, None,
                    key_padding_mask=mask, use_separate_proj_weight=True, q_proj_weight=wq,
                    k_proj_weight=wk, v_proj_weight=wv)
    check_module(nn.Identity(), nn.Identity(), inputs, device=device, call=call)


def test_multi_head_attention_forward_unbatched_static_kv(device):
    causal = np.triu(np.ones((3, 3), dtype=bool), 1)
    inputs = [_randn(3, E), _randn(3, E, seed=1), _randn(3, E, seed=2),
              _randn(3 * E, E, seed=3), _randn(E, E, seed=5), causal]

    def call(m, q, k, v, w_in, w_out, mask):
        return _mha(q, k, v, E, HEADS, w_in, None, None, None, False, 0.0, w_out, None,
                    attn_mask=mask, is_causal=True)
    check_module(nn.Identity(), nn.Identity(), inputs, device=device, call=call)
    static = [_randn(2 * HEADS, 6, E // HEADS, seed=9), _randn(2 * HEADS, 6, E // HEADS, seed=10)]
    inputs = [_randn(3, 2, E), _randn(5, 2, E, seed=1), _randn(5, 2, E, seed=2),
              _randn(3 * E, E, seed=3), _randn(E, E, seed=5)] + static

    def call_static(m, q, k, v, w_in, w_out, sk, sv):
        return _mha(q, k, v, E, HEADS, w_in, None, None, None, False, 0.0, w_out, None,
                    static_k=sk, static_v=sv)
    check_module(nn.Identity(), nn.Identity(), inputs, device=device, call=call_static)


def test_multi_head_attention_forward_bad_input_raises():
    F = framework.nn.functional
    q, w_in, w_out = framework.ones(3, 2, E), framework.ones(3 * E, E), framework.ones(E, E)
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8"):
        F.multi_head_attention_forward(q, q, q, 8, HEADS, w_in, None, None, None, False, 0.0,
                                       w_out, None)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        F.multi_head_attention_forward(q, q, q, E, HEADS, w_in, None, None, None, False, 0.0,
                                       w_out, None, is_causal=True)
    with pytest.raises(RuntimeError, match="The shape of the 2D attn_mask"):
        F.multi_head_attention_forward(q, q, q, E, HEADS, w_in, None, None, None, False, 0.0,
                                       w_out, None, attn_mask=framework.zeros(2, 2))
    with pytest.raises(AssertionError, match="expected `key` and `value` to be 3-D"):
        F.multi_head_attention_forward(q, q[0], q, E, HEADS, w_in, None, None, None, False,
                                       0.0, w_out, None)


# --- LinearCrossEntropyLoss --------------------------------------------------------------
# The interpreter evaluates the cross-entropy kernel on masked lanes too (as tests/ops/test_loss.py)
def _masked_lanes(test):
    test = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")(test)
    return pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")(test)


@_masked_lanes
@pytest.mark.parametrize("kwargs,target", [
    ({}, [0, 3, 2]),
    ({"bias": True, "label_smoothing": 0.2, "reduction": "sum", "ignore_index": 1}, [0, 1, 2]),
    ({"out_features": (2,), "bias": True, "reduction": "none"}, [[0, 3], [2, 2], [1, 0]]),
])
def test_linear_cross_entropy_loss_matches_torch(device, kwargs, target):
    fw, ref = sync(*_pair("LinearCrossEntropyLoss", 3, 4, **kwargs), device=device)
    check_module(fw, ref, [_randn(3, 3), np.array(target)], device=device)
    assert repr(fw) == repr(ref)


@_masked_lanes
def test_linear_cross_entropy_probability_targets_and_options(device):
    probabilities = np.random.default_rng(1).dirichlet(np.ones(4), size=3)
    fw, ref = sync(*_pair("LinearCrossEntropyLoss", 3, 4), device=device)
    check_module(fw, ref, [_randn(3, 3), probabilities], device=device, no_grad_inputs=(1,))
    options = {"batch_chunk_size": 2, "acc_policy": "accurate"}
    fw.options = nn.LinearCrossEntropyOptions(**options)
    ref.options = torch.nn.LinearCrossEntropyOptions(**options)
    check_module(fw, ref, [_randn(3, 3), np.array([1, 0, 3])], device=device)  # same values


def test_linear_cross_entropy_bad_input_raises():
    F = framework.nn.functional
    with pytest.raises(RuntimeError, match="dimensionality 1 or 2"):
        F.linear_cross_entropy(framework.ones(2, 2, 3), framework.ones(4, 3),
                               framework.zeros(2, dtype=framework.int64))
    with pytest.raises(RuntimeError, match="in_features"):
        F.linear_cross_entropy(framework.ones(2, 3), framework.ones(4, 2),
                               framework.zeros(2, dtype=framework.int64))
    with pytest.raises(RuntimeError, match="requires batched input"):
        F.linear_cross_entropy(framework.ones(3), framework.ones(4, 2, 3),
                               framework.zeros(2, dtype=framework.int64))
    with pytest.raises(RuntimeError, match="expected weight shape"):
        nn.LinearCrossEntropyLoss(3, 4, weight=framework.ones(3))
    with pytest.raises(ValueError, match="invalid acc_policy"):
        nn.LinearCrossEntropyOptions(acc_policy="fast")
    with pytest.raises(ValueError, match="invalid chunking_method"):
        nn.LinearCrossEntropyOptions(chunking_method="aspect_ratio:0")
    with pytest.raises(ValueError, match="batch_chunk_size must be positive"):
        nn.LinearCrossEntropyOptions(batch_chunk_size=0)
