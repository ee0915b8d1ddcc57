"""Normalizations against PyTorch (float64 oracle) on cpu and cuda (Triton interpreter).

Every op runs through ``check_op`` (forward and every input gradient) over
float dtypes, non-contiguous inputs and size-0/1 dims; the Triton kernels'
multi-block path (rows longer than one block) has its own few tests, as do
running-statistics updates, second derivatives and bad input (softmax: test_softmax.py).
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework
import framework.nn.functional as F
from framework.autograd import gradgradcheck
from helpers import check_op, make_input, tolerance

RNG = np.random.default_rng(0)
FLOATS = [framework.float32, framework.float64, framework.float16, framework.bfloat16]
LONG = 5000  # longer than triton_kernels.norm.MAX_BLOCK_N: the looping kernels

pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")]


def _normal(*shape):
    return np.asarray(RNG.standard_normal(shape))


def _tensor(array, device, dtype=framework.float64):
    return framework.tensor(np.asarray(array), dtype=dtype, device=device)


# layer_norm / rms_norm --------------------------------------------------------------------------
def _layer_case(affine):
    def fw(x, *wb):
        return F.layer_norm(x, (4,), *wb, eps=1e-5)

    def tf(x, *wb):
        return TF.layer_norm(x, (4,), *wb, eps=1e-5)
    return fw, tf, [_normal(4) for _ in range(affine)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("affine", [0, 1, 2])
def test_layer_norm(device, dtype, affine):
    fw, tf, params = _layer_case(affine)
    check_op(fw, tf, [_normal(3, 4)] + params, device=device, dtype=dtype, scale=4)


@pytest.mark.parametrize("shape,normalized", [((2, 3, 4), (3, 4)), ((5,), (5,)), ((0, 3), (3,)),
                                              ((3, 1), (1,)), ((2, 3), 3)])
@pytest.mark.parametrize("contiguous", [True, False])
def test_layer_norm_shapes(device, shape, normalized, contiguous):
    size = normalized if isinstance(normalized, tuple) else (normalized,)
    w, b = RNG.standard_normal(size), RNG.standard_normal(size)
    check_op(lambda x, w, b: F.layer_norm(x, normalized, w, b),
             lambda x, w, b: TF.layer_norm(x, size, w, b), [_normal(*shape), w, b],
             device=device, dtype=framework.float64, contiguous=contiguous)


def test_layer_norm_long_rows(device):
    w, b = _normal(LONG), _normal(LONG)
    x = _normal(2, LONG) * 3 + 5
    check_op(lambda x, w, b: F.layer_norm(x, (LONG,), w, b),
             lambda x, w, b: TF.layer_norm(x, (LONG,), w, b), [x, w, b], device=device,
             dtype=framework.float32, scale=10)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("eps", [None, 1e-3])
def test_rms_norm(device, dtype, eps):
    check_op(lambda x, w: F.rms_norm(x, (2, 3), w, eps),
             lambda x, w: TF.rms_norm(x, (2, 3), w, eps),
             [_normal(2, 2, 3), _normal(2, 3)], device=device, dtype=dtype, scale=4)


@pytest.mark.parametrize("contiguous", [True, False])
def test_rms_norm_without_weight_and_long_rows(device, contiguous):
    check_op(lambda x: F.rms_norm(x, [3]), lambda x: TF.rms_norm(x, [3]), [_normal(4, 3)],
             device=device, dtype=framework.float64, contiguous=contiguous)
    check_op(lambda x: F.rms_norm(x, LONG), lambda x: TF.rms_norm(x, [LONG]), [_normal(1, LONG)],
             device=device, dtype=framework.float32, scale=10)


@pytest.mark.parametrize("op", ["layer_norm", "rms_norm"])
def test_rows_with_inf_give_nan_like_torch(device, op):
    x = _normal(2, 3)
    x[0, 1] = np.inf
    check_op(lambda t: getattr(F, op)(t, (3,)), lambda t: getattr(TF, op)(t, (3,)), [x],
             device=device, dtype=framework.float32, grad=False)


# group_norm -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_group_norm(device, dtype):
    check_op(lambda x, w, b: F.group_norm(x, 2, w, b), lambda x, w, b: TF.group_norm(x, 2, w, b),
             [_normal(2, 4, 3), _normal(4), _normal(4)], device=device, dtype=dtype, scale=4)


@pytest.mark.parametrize("shape,groups", [((2, 6), 3), ((1, 4, 2, 3), 4), ((3, 2, 1), 1),
                                          ((0, 4, 2), 2)])
@pytest.mark.parametrize("contiguous", [True, False])
def test_group_norm_shapes(device, shape, groups, contiguous):
    check_op(lambda x: F.group_norm(x, groups, eps=1e-3),
             lambda x: TF.group_norm(x, groups, eps=1e-3),
             [_normal(*shape)], device=device, dtype=framework.float64, contiguous=contiguous)


# batch_norm ---------------------------------------------------------------------------------------
def _stats_tolerance(dtype) -> tuple:
    """Running statistics are float32 here: the wider of float32's and the input's tolerance."""
    if dtype is framework.float64:
        dtype = framework.float32
    return tolerance(dtype, 4)


def _running(device, channels, dtype=framework.float64):
    mean, var = RNG.standard_normal(channels), RNG.uniform(0.5, 2, channels)
    return ((_tensor(mean, device, dtype), _tensor(var, device, dtype)),
            (torch.tensor(mean), torch.tensor(var)))


@pytest.mark.parametrize("dtype", FLOATS)
def test_batch_norm_training_updates_running_stats(device, dtype):
    (fm, fv), (tm, tv) = _running(device, 3, framework.float32)
    check_op(lambda x, w, b: F.batch_norm(x, fm, fv, w, b, training=True, momentum=0.2),
             lambda x, w, b: TF.batch_norm(x, tm, tv, w, b, training=True, momentum=0.2),
             [_normal(4, 3, 2), _normal(3), _normal(3)], device=device, dtype=dtype, scale=4)
    atol, rtol = _stats_tolerance(dtype)
    np.testing.assert_allclose(fm.cpu().numpy(), tm.numpy(), atol=atol, rtol=rtol)
    np.testing.assert_allclose(fv.cpu().numpy(), tv.numpy(), atol=atol, rtol=rtol)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 2), (2, 1, 3)])
@pytest.mark.parametrize("contiguous", [True, False])
def test_batch_norm_training_shapes(device, shape, contiguous):
    check_op(lambda x: F.batch_norm(x, None, None, training=True),
             lambda x: TF.batch_norm(x, None, None, training=True), [_normal(*shape)],
             device=device, dtype=framework.float64, contiguous=contiguous)


def test_batch_norm_long_channels(device):
    """Each channel gathers 2 * 2600 values: the multi-block gather path (one program a row)."""
    (fm, fv), (tm, tv) = _running(device, 2)
    check_op(lambda x: F.batch_norm(x, fm, fv, training=True),
             lambda x: TF.batch_norm(x, tm, tv, training=True), [_normal(2, 2, 2600) + 3],
             device=device, dtype=framework.float32, scale=10)
    np.testing.assert_allclose(fv.cpu().numpy(), tv.numpy(), rtol=1e-5)


def test_batch_norm_split_rows(device):
    """2 channels of 2 * 8200 values: on cuda each channel is split over 2 programs."""
    (fm, fv), (tm, tv) = _running(device, 2)
    check_op(lambda x: F.batch_norm(x, fm, fv, training=True, momentum=0.5),
             lambda x: TF.batch_norm(x, tm, tv, training=True, momentum=0.5),
             [_normal(2, 2, 8200) * 2 - 1], device=device, dtype=framework.float32, scale=10)
    np.testing.assert_allclose(fm.cpu().numpy(), tm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fv.cpu().numpy(), tv.numpy(), rtol=1e-5)


@pytest.mark.parametrize("contiguous", [True, False])
def test_batch_norm_eval_uses_running_stats(device, contiguous):
    (fm, fv), (tm, tv) = _running(device, 3)
    check_op(lambda x, w, b: F.batch_norm(x, fm, fv, w, b, eps=1e-3),
             lambda x, w, b: TF.batch_norm(x, tm, tv, w, b, eps=1e-3),
             [_normal(2, 3, 2), _normal(3), _normal(3)], device=device, dtype=framework.float64,
             contiguous=contiguous)
    np.testing.assert_array_equal(fm.cpu().numpy(), tm.numpy())


# instance_norm ------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_instance_norm_updates_running_stats(device, dtype):
    (fm, fv), (tm, tv) = _running(device, 2, framework.float32)
    check_op(lambda x, w, b: F.instance_norm(x, fm, fv, w, b, momentum=0.3),
             lambda x, w, b: TF.instance_norm(x, tm, tv, w, b, momentum=0.3),
             [_normal(3, 2, 4), _normal(2), _normal(2)], device=device, dtype=dtype, scale=4)
    atol, rtol = _stats_tolerance(dtype)
    np.testing.assert_allclose(fm.cpu().numpy(), tm.numpy(), atol=atol, rtol=rtol)
    np.testing.assert_allclose(fv.cpu().numpy(), tv.numpy(), atol=atol, rtol=rtol)


@pytest.mark.parametrize("contiguous", [True, False])
def test_instance_norm_shapes_and_running_stats_mode(device, contiguous):
    check_op(lambda x: F.instance_norm(x), lambda x: TF.instance_norm(x), [_normal(2, 3, 2, 2)],
             device=device, dtype=framework.float64, contiguous=contiguous)
    (fm, fv), (tm, tv) = _running(device, 3)
    check_op(lambda x: F.instance_norm(x, fm, fv, use_input_stats=False),
             lambda x: TF.instance_norm(x, tm, tv, use_input_stats=False), [_normal(2, 3, 2)],
             device=device, dtype=framework.float64, contiguous=contiguous)


# normalize ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("p,dim", [(2.0, 1), (1, 0), (3, -1)])
@pytest.mark.parametrize("contiguous", [True, False])
def test_normalize(device, p, dim, contiguous):
    check_op(lambda x: F.normalize(x, p, dim), lambda x: TF.normalize(x, p, dim),
             [_normal(3, 4)], device=device, dtype=framework.float64, contiguous=contiguous)


@pytest.mark.parametrize("dtype", [framework.float32, framework.float16, framework.bfloat16])
def test_normalize_dtypes_and_zero_rows(device, dtype):
    """A zero row stays 0 (eps = 1e-12 rounds to 0 in float16, where PyTorch gives NaN too)."""
    x = _normal(2, 3)
    if dtype is not framework.float16:
        x[0] = 0
    check_op(lambda t: F.normalize(t), lambda t: TF.normalize(t), [x], device=device, dtype=dtype)


# second derivatives -------------------------------------------------------------------------------
SECOND_ORDER = {
    "layer_norm": lambda x: F.layer_norm(x, (2,)), "rms_norm": lambda x: F.rms_norm(x, (2,)),
    "group_norm": lambda x: F.group_norm(x, 1),
    "batch_norm": lambda x: F.batch_norm(x, None, None, training=True),
}


@pytest.mark.parametrize("op", sorted(SECOND_ORDER))
def test_gradgradcheck_cpu(op):
    x = make_input(_normal(2, 2), framework.float64, "cpu", requires_grad=True)
    assert gradgradcheck(SECOND_ORDER[op], (x,))


@pytest.mark.parametrize("op", ["layer_norm"])
def test_gradgradcheck_cuda(op):
    """The fused forward kernels under a differentiable backward (interpreter: tiny input)."""
    x = make_input(_normal(2, 2), framework.float64, "cuda", requires_grad=True)
    assert gradgradcheck(SECOND_ORDER[op], (x,))


def test_gradgradcheck_layer_norm_affine():
    args = [make_input(a, framework.float64, "cpu", requires_grad=True)
            for a in (_normal(2, 2), _normal(2), _normal(2))]
    assert gradgradcheck(lambda x, w, b: F.layer_norm(x, (2,), w, b), tuple(args))


def test_gradient_penalty_matches_torch(device):
    """d/dx of |d softmax-layer_norm / dx|^2: the double backward people use."""
    x, w = _normal(2, 4), _normal(4)
    fx = make_input(x, framework.float64, device, requires_grad=True)
    fw_ = make_input(w, framework.float64, device, requires_grad=True)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    results = []
    for lib, fn, a, b in ((framework, F, fx, fw_), (torch, TF, tx, tw)):
        y = (fn.log_softmax(fn.layer_norm(a, (4,), b), 1) * fn.softmax(a, 0)).sum()
        (g,) = lib.autograd.grad(y, [a], create_graph=True)
        results.append(lib.autograd.grad((g * g).sum(), [a, b]))
    for got, want in zip(*results):
        np.testing.assert_allclose(got.detach().cpu().numpy(), want.numpy(), atol=1e-9, rtol=1e-7)


# bad input ----------------------------------------------------------------------------------------
def test_bad_input_raises_like_torch(device):
    x = _tensor(_normal(2, 4, 3), device)
    with pytest.raises(RuntimeError, match="layer_norm.*normalized_shape"):
        F.layer_norm(x, (4,))
    with pytest.raises(RuntimeError, match="layer_norm.*weight"):
        F.layer_norm(x, (3,), _tensor(_normal(4), device))
    with pytest.raises(RuntimeError, match="rms_norm.*normalized_shape"):
        F.rms_norm(x, (2, 3))
    with pytest.raises(RuntimeError, match="group_norm.*divisible by num_groups"):
        F.group_norm(x, 3)
    with pytest.raises(RuntimeError, match="group_norm.*weight"):
        F.group_norm(x, 2, _tensor(_normal(3), device))
    with pytest.raises(RuntimeError, match="batch_norm.*running_mean should contain 4"):
        F.batch_norm(x, _tensor(_normal(3), device), _tensor(_normal(4), device), training=True)
    with pytest.raises(RuntimeError, match="batch_norm.*bias should contain 4 elements not 2"):
        F.batch_norm(x, None, None, None, _tensor(_normal(2), device), training=True)
    with pytest.raises(ValueError, match="batch_norm.*more than 1 value per channel"):
        F.batch_norm(_tensor(_normal(1, 4), device), None, None, training=True)
    with pytest.raises(ValueError, match="instance_norm.*more than 1 spatial element"):
        F.instance_norm(_tensor(_normal(2, 4, 1), device))
    with pytest.raises(TypeError, match="layer_norm"):
        F.layer_norm(np.ones(3), (3,))
    # the same inputs make PyTorch raise the same error types
    with pytest.raises(RuntimeError):
        TF.layer_norm(torch.zeros(2, 4, 3), (4,))
    with pytest.raises(RuntimeError):
        TF.group_norm(torch.zeros(2, 4, 3), 3)
    with pytest.raises(ValueError):
        TF.batch_norm(torch.zeros(1, 4), None, None, training=True)
