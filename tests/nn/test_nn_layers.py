"""Layers against PyTorch: outputs and gradients (inputs and parameters) after loading torch's
state dict."""
import math

import numpy as np
import pytest
import torch
from nn_oracle import check_module, module_pair as _pair, randn as _randn, sync

import framework
from framework import nn


# --- affine layers (composed from matmul) ---------------------------------------------------
def test_linear_matches_torch(device):
    fw, ref = sync(*_pair("Linear", 3, 2), device=device)
    check_module(fw, ref, [_randn(2, 3)], device=device)


@pytest.mark.parametrize("dtype", [framework.float32, framework.float64])
def test_linear_batched_no_bias_matches_torch(dtype):
    fw, ref = sync(*_pair("Linear", 4, 3, bias=False), dtype=dtype)
    check_module(fw, ref, [_randn(2, 5, 4)], dtype=dtype)


def test_bilinear_matches_torch(device):
    fw, ref = sync(*_pair("Bilinear", 2, 3, 2), device=device)
    check_module(fw, ref, [_randn(2, 2), _randn(2, 3, seed=1)], device=device)


def test_bilinear_batch_dims_matches_torch():
    fw, ref = sync(*_pair("Bilinear", 3, 2, 4, bias=False))
    check_module(fw, ref, [_randn(2, 5, 3), _randn(2, 5, 2, seed=1)])


def test_linear_default_init_bounds():
    layer = nn.Linear(50, 40)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    bound = 1 / math.sqrt(50)  # kaiming_uniform_(a=sqrt(5)) gives the same bound
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound


def test_linear_bad_input_raises():
    with pytest.raises(RuntimeError):
        nn.Linear(3, 2)(framework.ones(2, 4))
    with pytest.raises(RuntimeError, match="bilinear"):
        nn.Bilinear(2, 3, 1)(framework.ones(2, 2), framework.ones(3, 3))


def test_identity_flatten_unflatten():
    x = framework.randn(2, 3, 4)
    assert nn.Identity(5, k=1)(x) is x
    assert tuple(nn.Flatten()(x).shape) == (2, 12)
    assert tuple(nn.Flatten(0, 1)(x).shape) == (6, 4)
    assert tuple(nn.Unflatten(2, (2, 2))(x).shape) == (2, 3, 2, 2)
    with pytest.raises(TypeError):
        nn.Unflatten(1, 3)


def test_cosine_similarity_matches_torch():
    fw, ref = _pair("CosineSimilarity", dim=1)
    check_module(fw, ref, [_randn(3, 4), _randn(3, 4, seed=1)])


# --- activations ---------------------------------------------------------------------------
ACTIVATIONS = [
    ("ReLU", (), {}), ("GELU", (), {"approximate": "tanh"}), ("GELU", (), {}), ("SiLU", (), {}),
    ("Sigmoid", (), {}), ("Tanh", (), {}), ("Softplus", (2.0, 1.0), {}),
    ("LeakyReLU", (0.2,), {}), ("ELU", (0.5,), {}), ("SELU", (), {}), ("CELU", (1.5,), {}),
    ("Hardtanh", (-0.5, 0.7), {}), ("ReLU6", (), {}), ("Hardsigmoid", (), {}),
    ("Hardswish", (), {}), ("Mish", (), {}), ("Softsign", (), {}), ("Tanhshrink", (), {}),
    ("LogSigmoid", (), {}), ("GLU", (-1,), {}), ("PReLU", (3,), {"init": 0.1}),
    ("Softmax", (1,), {}), ("LogSoftmax", (-1,), {}),
]
_ACTIVATION_FN = {"ReLU": "relu", "GELU": "gelu", "SiLU": "silu", "Sigmoid": "sigmoid",
                  "Tanh": "tanh", "Softplus": "softplus", "LeakyReLU": "leaky_relu",
                  "ELU": "elu", "SELU": "selu", "CELU": "celu", "Hardtanh": "hardtanh",
                  "ReLU6": "relu6", "Hardsigmoid": "hardsigmoid", "Hardswish": "hardswish",
                  "Mish": "mish", "Softsign": "softsign", "Tanhshrink": "tanhshrink",
                  "LogSigmoid": "logsigmoid", "GLU": "glu", "PReLU": "prelu",
                  "Softmax": "softmax", "LogSoftmax": "log_softmax"}


@pytest.mark.parametrize("name,args,kwargs", [
    pytest.param(*case, id=case[0]) for case in ACTIVATIONS])
def test_activation_modules_match_torch(name, args, kwargs):
    fw, ref = sync(*_pair(name, *args, **kwargs))
    check_module(fw, ref, [_randn(2, 3, 4)])


def test_inplace_relu_module_writes_input():
    x = framework.tensor([-1.0, 2.0])
    out = nn.ReLU(inplace=True)(x)
    assert out is x and x.tolist() == [0.0, 2.0]


# --- embeddings ----------------------------------------------------------------------------
def test_embedding_matches_torch(device):
    fw, ref = sync(*_pair("Embedding", 5, 3, padding_idx=1), device=device)
    idx = np.array([[0, 1, 4], [1, 3, 3]])
    check_module(fw, ref, [idx], device=device)


def test_embedding_init_and_from_pretrained():
    emb = nn.Embedding(6, 4, padding_idx=-2)
    assert emb.padding_idx == 4
    assert not emb.weight.detach().numpy()[4].any()
    assert emb.weight.detach().numpy()[0].any()
    table = framework.randn(3, 2)
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(frozen.weight.detach().numpy(), table.numpy())
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    with pytest.raises(AssertionError, match="Padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(AssertionError, match="2-dimensional"):
        nn.Embedding.from_pretrained(framework.ones(3))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("include_last_offset", [False, True])
def test_embedding_bag_offsets_match_torch(mode, include_last_offset):
    fw, ref = sync(*_pair("EmbeddingBag", 6, 3, mode=mode,
                          include_last_offset=include_last_offset))
    idx = np.array([1, 2, 4, 5, 4, 3, 2])
    offsets = np.array([0, 2, 2, 5, 7] if include_last_offset else [0, 2, 2, 5])
    check_module(fw, ref, [idx, offsets])


def test_embedding_bag_2d_weights_and_padding_match_torch():
    fw, ref = sync(*_pair("EmbeddingBag", 6, 3, mode="sum", padding_idx=0))
    idx = np.array([[1, 0, 4], [0, 5, 5]])
    check_module(fw, ref, [idx, None, _randn(2, 3)],
                 call=lambda m, i, o, w: m(i, o, per_sample_weights=w))
    fw, ref = sync(*_pair("EmbeddingBag", 6, 3, mode="mean", padding_idx=0))
    check_module(fw, ref, [idx])
    with pytest.raises(NotImplementedError, match="per_sample_weights"):
        fw(framework.tensor(idx), per_sample_weights=framework.ones(2, 3))


# --- convolutions, pools, resampling --------------------------------------------------------
def test_conv1d_matches_torch(device):
    fw, ref = sync(*_pair("Conv1d", 2, 4, 3, stride=2, padding=1, groups=2), device=device)
    check_module(fw, ref, [_randn(1, 2, 5)], device=device)


@pytest.mark.parametrize("kwargs", [dict(padding=1), dict(padding="same", dilation=2),
                                    dict(stride=2, bias=False)])
def test_conv2d_matches_torch(kwargs):
    fw, ref = sync(*_pair("Conv2d", 2, 3, 3, **kwargs))
    check_module(fw, ref, [_randn(2, 2, 5, 6)])


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
def test_conv_same_padding_even_kernel_matches_torch():
    fw, ref = sync(*_pair("Conv1d", 2, 2, 4, padding="same"))
    check_module(fw, ref, [_randn(2, 2, 7)])
    fw, ref = sync(*_pair("Conv2d", 2, 2, (2, 3), padding="same", dilation=(1, 2)))
    check_module(fw, ref, [_randn(1, 2, 5, 6)])


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv2d_padding_modes_match_torch(mode):
    fw, ref = sync(*_pair("Conv2d", 1, 2, 3, padding=1, padding_mode=mode))
    check_module(fw, ref, [_randn(1, 1, 4, 5)])


def test_conv_transpose1d_matches_torch():
    fw, ref = sync(*_pair("ConvTranspose1d", 2, 3, 3, stride=2, padding=1, output_padding=1))
    check_module(fw, ref, [_randn(1, 2, 4)])


def test_conv_transpose2d_output_size_matches_torch():
    fw, ref = sync(*_pair("ConvTranspose2d", 2, 2, 3, stride=2, groups=2))
    check_module(fw, ref, [_randn(1, 2, 3, 3)], call=lambda m, x: m(x, output_size=[8, 8]))


def test_conv_bad_arguments_raise():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        nn.Conv1d(2, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")


def test_conv_default_init_bounds():
    conv = nn.Conv2d(4, 6, 3)
    bound = 1 / math.sqrt(4 * 9)
    assert np.abs(conv.weight.detach().numpy()).max() <= bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound


POOLS = [
    ("MaxPool1d", (2,), {}, (1, 2, 6), "max_pool1d"),
    ("MaxPool2d", (3, 2, 1), {}, (1, 2, 5, 5), "max_pool2d"),
    ("AvgPool1d", (3,), {"stride": 1, "padding": 1}, (1, 2, 5), "avg_pool1d"),
    ("AvgPool2d", (2,), {"ceil_mode": True}, (1, 2, 5, 5), "avg_pool2d"),
    ("AdaptiveAvgPool1d", (3,), {}, (1, 2, 7), "adaptive_avg_pool1d"),
    ("AdaptiveAvgPool2d", ((2, 3),), {}, (1, 2, 5, 7), "adaptive_avg_pool2d"),
    ("AdaptiveMaxPool2d", (2,), {}, (1, 2, 5, 5), "adaptive_max_pool2d"),
    ("Upsample", (), {"scale_factor": 2, "mode": "nearest"}, (1, 2, 3, 3), "interpolate"),
    ("Upsample", (), {"size": (5, 4), "mode": "bilinear", "align_corners": True}, (1, 1, 3, 3),
     "interpolate"),
    ("PixelShuffle", (2,), {}, (1, 8, 2, 3), "pixel_shuffle"),
]


@pytest.mark.parametrize("name,args,kwargs,shape,fn", [
    pytest.param(*case, id=f"{case[0]}-{i}") for i, case in enumerate(POOLS)])
def test_pool_and_resample_modules_match_torch(name, args, kwargs, shape, fn):
    fw, ref = _pair(name, *args, **kwargs)
    check_module(fw, ref, [_randn(*shape)])


def test_maxpool_return_indices_matches_torch():
    fw, ref = _pair("MaxPool2d", 2, return_indices=True)
    x = _randn(1, 1, 4, 4)
    out, idx = fw(framework.tensor(x))
    want, want_idx = ref(torch.tensor(x))
    np.testing.assert_array_equal(idx.numpy(), want_idx.numpy())


# --- normalization -------------------------------------------------------------------------
@pytest.mark.parametrize("name,shape,momentum", [("BatchNorm1d", (4, 3), 0.1),
                                                 ("BatchNorm1d", (4, 3, 2), None),
                                                 ("BatchNorm2d", (2, 3, 2, 2), 0.3)])
def test_batchnorm_training_and_running_stats_match_torch(name, shape, momentum):
    fw, ref = sync(*_pair(name, 3, momentum=momentum))
    for step in range(2):
        check_module(fw, ref, [_randn(*shape, seed=step)])
    for key in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(fw, key).numpy(), getattr(ref, key).numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=key)
    fw.eval()
    ref.eval()
    check_module(fw, ref, [_randn(*shape, seed=5)])


def test_batchnorm_without_running_stats_matches_torch():
    fw, ref = sync(*_pair("BatchNorm2d", 2, affine=False, track_running_stats=False))
    fw.eval()
    ref.eval()
    check_module(fw, ref, [_randn(2, 2, 3, 3)])


def test_batchnorm_bad_input_raises():
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(framework.ones(2, 3))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(framework.ones(2, 3, 4, 4))


def test_layernorm_matches_torch(device):
    fw, ref = sync(*_pair("LayerNorm", (2, 3)), device=device)
    check_module(fw, ref, [_randn(2, 2, 3)], device=device)


def test_rmsnorm_matches_torch():
    fw, ref = sync(*_pair("RMSNorm", 4, eps=1e-6))
    check_module(fw, ref, [_randn(3, 4)])


def test_groupnorm_matches_torch():
    fw, ref = sync(*_pair("GroupNorm", 2, 4))
    check_module(fw, ref, [_randn(2, 4, 3)])


@pytest.mark.parametrize("name,shape", [("InstanceNorm1d", (2, 3, 5)), ("InstanceNorm1d", (3, 5)),
                                        ("InstanceNorm2d", (2, 3, 2, 3))])
def test_instancenorm_matches_torch(name, shape):
    fw, ref = sync(*_pair(name, 3, affine=True))
    check_module(fw, ref, [_randn(*shape)])


def test_norm_bad_arguments_raise():
    with pytest.raises(ValueError, match="must be divisible by num_groups"):
        nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.InstanceNorm1d(3)(framework.ones(1, 3, 4, 4))


# --- dropout ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name,fn", [("Dropout", "dropout"), ("Dropout1d", "dropout1d"),
                                     ("Dropout2d", "dropout2d"), ("AlphaDropout", "alpha_dropout")])
def test_dropout_modules(name, fn):
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
        getattr(nn, name)(1.5)
    layer = getattr(nn, name)(0.5).eval()
    x = framework.randn(2, 3, 4)
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    layer.train()
    out = layer(framework.ones(8, 16, 16)).numpy()
    assert 0.3 < (out == 0).mean() < 0.7 or name == "AlphaDropout"


# --- losses ------------------------------------------------------------------------------------
def _probs(*shape, seed=0):
    return 1 / (1 + np.exp(-_randn(*shape, seed=seed)))


LOSSES = [
    ("MSELoss", {}, lambda: [_randn(3, 4), _randn(3, 4, seed=1)], "mse_loss"),
    ("L1Loss", {"reduction": "sum"}, lambda: [_randn(3, 4), _randn(3, 4, seed=1)], "l1_loss"),
    ("SmoothL1Loss", {"beta": 0.5}, lambda: [_randn(3, 4), _randn(3, 4, seed=1)],
     "smooth_l1_loss"),
    ("HuberLoss", {"delta": 0.5, "reduction": "none"},
     lambda: [_randn(3, 4), _randn(3, 4, seed=1)], "huber_loss"),
    ("CrossEntropyLoss", {"label_smoothing": 0.1}, lambda: [_randn(4, 3), np.array([0, 2, 1, 2])],
     "cross_entropy"),
    ("CrossEntropyLoss", {"ignore_index": 1, "reduction": "sum"},
     lambda: [_randn(4, 3, 2), np.array([[0, 1], [2, 1], [1, 1], [0, 2]])], "cross_entropy"),
    ("NLLLoss", {}, lambda: [_randn(4, 3), np.array([0, 2, 1, 2])], "nll_loss"),
    ("BCELoss", {}, lambda: [_probs(3, 2), _probs(3, 2, seed=1)], "binary_cross_entropy"),
    ("BCEWithLogitsLoss", {}, lambda: [_randn(3, 2), _probs(3, 2, seed=1)],
     "binary_cross_entropy_with_logits"),
    ("KLDivLoss", {"reduction": "batchmean"},
     lambda: [np.log(_probs(3, 2)), _probs(3, 2, seed=1)], "kl_div"),
    ("CosineEmbeddingLoss", {"margin": 0.1},
     lambda: [_randn(3, 4), _randn(3, 4, seed=1), np.array([1, -1, 1])], "cosine_embedding_loss"),
    ("MarginRankingLoss", {"margin": 0.2},
     lambda: [_randn(4), _randn(4, seed=1), np.array([1.0, -1.0, 1.0, -1.0])],
     "margin_ranking_loss"),
    ("TripletMarginLoss", {"margin": 0.5},
     lambda: [_randn(3, 4), _randn(3, 4, seed=1), _randn(3, 4, seed=2)], "triplet_margin_loss"),
]


@pytest.mark.parametrize("name,kwargs,make_inputs,fn", [
    pytest.param(*case, id=f"{case[0]}-{i}") for i, case in enumerate(LOSSES)])
def test_loss_modules_match_torch(name, kwargs, make_inputs, fn):
    fw, ref = _pair(name, **kwargs)
    inputs = make_inputs()
    targets = tuple(range(1, len(inputs)))
    check_module(fw, ref, inputs, no_grad_inputs=targets if name != "TripletMarginLoss" else ())


def test_weighted_cross_entropy_matches_torch():
    weight = np.array([0.2, 1.0, 3.0])
    fw = nn.CrossEntropyLoss(weight=framework.tensor(weight, dtype=framework.float32))
    ref = torch.nn.CrossEntropyLoss(weight=torch.tensor(weight))
    check_module(fw, ref, [_randn(4, 3), np.array([0, 2, 1, 2])], no_grad_inputs=(1,))


def test_loss_legacy_reduction_flags():
    assert nn.MSELoss(size_average=False).reduction == "sum"
    assert nn.L1Loss(reduce=False).reduction == "none"
    assert nn.NLLLoss().reduction == "mean"
    assert "weight" in dict(nn.CrossEntropyLoss(weight=framework.ones(3)).named_buffers())
    with pytest.raises(ValueError, match="margin to be greater than 0"):
        nn.TripletMarginLoss(margin=0.0)


# --- padding layers (F.pad with a fixed padding) ----------------------------------------------
@pytest.mark.parametrize("name, args, shape", [
    ("ZeroPad1d", ((1, 2),), (2, 3, 4)),
    ("ZeroPad2d", ((1, 2, 0, 1),), (2, 3, 4, 5)),
    ("ZeroPad2d", (2,), (3, 4, 5)),
    ("ZeroPad3d", (1,), (1, 2, 3, 3, 3)),
    ("ConstantPad1d", (2, 3.5), (2, 3, 4)),
    ("ConstantPad2d", ((1, 0, 2, 1), -1.0), (2, 3, 4, 5)),
    ("ConstantPad3d", ((1, 0, 0, 1, 1, 1), 0.5), (1, 2, 3, 3, 3)),
    ("ReflectionPad1d", (2,), (2, 3, 4)),
    ("ReflectionPad2d", ((1, 2, 3, 0),), (2, 3, 4, 5)),
    ("ReflectionPad2d", (1,), (3, 4, 5)),
    ("ReflectionPad3d", (1,), (1, 2, 3, 3, 3)),
    ("ReplicationPad1d", ((0, 3),), (2, 3, 4)),
    ("ReplicationPad2d", (2,), (2, 3, 4, 5)),
    ("ReplicationPad3d", ((1, 0, 2, 1, 0, 1),), (1, 2, 3, 3, 3)),
    ("CircularPad1d", (1,), (2, 3, 4)),
    ("CircularPad2d", ((1, 2, 0, 1),), (2, 3, 4, 5)),
])
def test_padding_layers_match_torch(device, name, args, shape):
    fw, ref = sync(*_pair(name, *args), device=device)
    assert fw.padding == ref.padding and repr(fw) == repr(ref)
    check_module(fw, ref, [_randn(*shape)], device=device)


def test_padding_layer_bad_input_raises():
    with pytest.raises(RuntimeError, match="pad"):
        nn.ReflectionPad1d(5)(framework.ones(1, 2, 3))


def test_softmax2d_matches_torch(device):
    fw, ref = sync(*_pair("Softmax2d"), device=device)
    check_module(fw, ref, [_randn(2, 3, 4, 5)], device=device)
    check_module(fw, ref, [_randn(3, 4, 5)], device=device)
    with pytest.raises(ValueError, match="Softmax2d"):
        fw(framework.ones(2, 3))
