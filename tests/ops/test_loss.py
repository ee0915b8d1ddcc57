"""Losses against PyTorch (float64 oracle) on cpu and cuda (Triton interpreter).

cross_entropy and nll_loss (own kernels) are checked over every reduction,
class weights, ignore_index, label smoothing with index and probability
targets, K-dimensional inputs, unbatched inputs, rows longer than one class
block, half types, non-contiguous and empty inputs; the composite losses over
their reductions and options. Bad input gets PyTorch's error types.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework
from helpers import assert_close, check_device_error, check_op, make_input

F = framework.nn.functional
RNG = np.random.default_rng(0)
REDUCTIONS = ["none", "mean", "sum"]

pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:Using a target size:UserWarning"),
              pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning")]


def _logits(*shape):
    return RNG.standard_normal(shape) * 2.0


def _indices(shape, C, ignore=None):
    t = RNG.integers(0, C, size=shape)
    if ignore is not None and t.size:
        t.reshape(-1)[1] = ignore
    return t


def _weight_pair(C, device, dtype=framework.float32):
    """A class weight as a (framework, torch float64) pair holding the same values."""
    w = RNG.uniform(0.5, 2.0, C)
    fw = make_input(w, dtype, device)
    return fw, torch.tensor(fw.to(framework.float64).cpu().numpy())


def _int_target(t, device):
    """An int64 target as a (framework, torch) pair (targets are not differentiated)."""
    return framework.tensor(t, device=device), torch.tensor(t)


# cross_entropy with class indices -------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
def test_cross_entropy_indices(device, reduction, weighted, smoothing):
    C = 5
    ft, tt = _int_target(_indices((6,), C, ignore=-100), device)
    fw, tw = _weight_pair(C, device) if weighted else (None, None)
    check_op(lambda x: F.cross_entropy(x, ft, weight=fw, reduction=reduction,
                                       label_smoothing=smoothing),
             lambda x: TF.cross_entropy(x, tt, weight=tw, reduction=reduction,
                                        label_smoothing=smoothing),
             [_logits(6, C)], device=device, scale=4)


def test_cross_entropy_custom_ignore_index_float64(device):
    C = 4
    ft, tt = _int_target(np.array([0, 2, 3, 2, 1]), device)
    fw, tw = _weight_pair(C, device, framework.float64)
    check_op(lambda x: F.cross_entropy(x, ft, weight=fw, ignore_index=2, label_smoothing=0.1),
             lambda x: TF.cross_entropy(x, tt, weight=tw, ignore_index=2, label_smoothing=0.1),
             [_logits(5, C)], device=device, dtype=framework.float64)


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_cross_entropy_k_dimensional(device, reduction):
    C = 3
    ft, tt = _int_target(_indices((2, 2, 3), C, ignore=-100), device)
    fw, tw = _weight_pair(C, device)
    check_op(lambda x: F.cross_entropy(x, ft, weight=fw, reduction=reduction,
                                       label_smoothing=0.2),
             lambda x: TF.cross_entropy(x, tt, weight=tw, reduction=reduction,
                                        label_smoothing=0.2),
             [_logits(2, C, 2, 3)], device=device, scale=4)


def test_cross_entropy_non_contiguous(device):
    t = _indices((4,), 6)
    check_op(lambda x, target: F.cross_entropy(x, target, reduction="none"),
             lambda x, target: TF.cross_entropy(x, target, reduction="none"),
             [_logits(4, 6), t], device=device, contiguous=False,
             input_dtypes=[None, framework.int64])


def test_cross_entropy_unbatched_and_long_rows(device):
    # one row of 1500 classes: more than one BLOCK_C chunk (online max / logsumexp)
    C = 1500
    ft, tt = _int_target(np.array(7), device)
    check_op(lambda x: F.cross_entropy(x, ft, label_smoothing=0.25),
             lambda x: TF.cross_entropy(x, tt, label_smoothing=0.25),
             [_logits(C) * 5], device=device, scale=10)


def test_cross_entropy_large_logits_are_stable(device):
    x = np.array([[1000.0, 0.0, -1000.0], [-500.0, -510.0, -520.0]])
    ft, tt = _int_target(np.array([2, 0]), device)
    check_op(lambda a: F.cross_entropy(a, ft, reduction="none"),
             lambda a: TF.cross_entropy(a, tt, reduction="none"), [x], device=device)


@pytest.mark.parametrize("dtype", [framework.float16, framework.bfloat16])
def test_cross_entropy_half_types(device, dtype):
    C = 7
    ft, tt = _int_target(_indices((5,), C, ignore=-100), device)
    fw, tw = _weight_pair(C, device, dtype)
    out = check_op(lambda x: F.cross_entropy(x, ft, weight=fw, label_smoothing=0.1),
                   lambda x: TF.cross_entropy(x, tt, weight=tw, label_smoothing=0.1),
                   [_logits(5, C)], device=device, dtype=dtype, scale=4)
    assert out[0].dtype is dtype


# cross_entropy with class probabilities -------------------------------------------------
def _probabilities(*shape, axis=1):
    p = RNG.uniform(0.0, 1.0, shape)
    return p / p.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities(device, reduction):
    C = 4
    fw, tw = _weight_pair(C, device)
    check_op(lambda x, q: F.cross_entropy(x, q, weight=fw, reduction=reduction,
                                          label_smoothing=0.25),
             lambda x, q: TF.cross_entropy(x, q, weight=tw, reduction=reduction,
                                           label_smoothing=0.25),
             [_logits(3, C), _probabilities(3, C)], device=device, scale=4)


def test_cross_entropy_probabilities_k_dimensional(device):
    check_op(lambda x, q: F.cross_entropy(x, q),
             lambda x, q: TF.cross_entropy(x, q),
             [_logits(2, 3, 2), _probabilities(2, 3, 2)], device=device, contiguous=False)


def test_cross_entropy_empty_batch(device):
    x = framework.zeros((0, 3), device=device, requires_grad=True)
    t = framework.zeros((0,), dtype=framework.int64, device=device)
    assert F.cross_entropy(x, t, reduction="sum").item() == 0.0
    assert np.isnan(F.cross_entropy(x, t).item())
    assert tuple(F.cross_entropy(x, t, reduction="none").shape) == (0,)


@pytest.mark.parametrize("probabilities", [False, True])
def test_cross_entropy_second_derivative(device, probabilities):
    """The fused backward is itself differentiable: grad of <d loss/d x, v> w.r.t. the input,
    the target (probabilities) and the incoming gradient, against PyTorch's double backward."""
    C = 4
    x = _logits(3, C)
    target = _probabilities(3, C) if probabilities else np.array([0, -100, 3])
    w = RNG.uniform(0.5, 2.0, C)
    v = RNG.standard_normal((3, C))
    g = RNG.standard_normal(3)
    results = []
    for lib, make in ((framework, lambda a, **k: framework.tensor(a, device=device, **k)),
                      (torch, lambda a, **k: torch.tensor(a, **k))):
        fn = F if lib is framework else TF
        xt = make(x, requires_grad=True)
        tt = make(target, requires_grad=True) if probabilities else make(target)
        gt = make(g, requires_grad=True)
        loss = fn.cross_entropy(xt, tt, weight=make(w), reduction="none", label_smoothing=0.2)
        (gx,) = lib.autograd.grad([loss], [xt], [gt], create_graph=True)
        inputs = [xt, gt] + ([tt] if probabilities else [])
        results.append(lib.autograd.grad([(gx * make(v)).sum()], inputs))
    for got, want in zip(*results):
        np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(),
                                   rtol=1e-9, atol=1e-12)


# nll_loss ---------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(device, reduction, weighted):
    C = 5
    ft, tt = _int_target(_indices((6,), C, ignore=-100), device)
    fw, tw = _weight_pair(C, device) if weighted else (None, None)
    check_op(lambda x: F.nll_loss(x, ft, weight=fw, reduction=reduction),
             lambda x: TF.nll_loss(x, tt, weight=tw, reduction=reduction),
             [_logits(6, C)], device=device, scale=4, contiguous=False)


def test_nll_loss_k_dimensional_and_ignore_index(device):
    C = 3
    ft, tt = _int_target(_indices((2, 3, 2), C), device)
    check_op(lambda x: F.nll_loss(x, ft, ignore_index=1),
             lambda x: TF.nll_loss(x, tt, ignore_index=1), [_logits(2, C, 3, 2)], device=device)


@pytest.mark.parametrize("dtype", [framework.float16, framework.bfloat16, framework.float64])
def test_nll_loss_dtypes_and_unbatched(device, dtype):
    ft, tt = _int_target(np.array(2), device)
    out = check_op(lambda x: F.nll_loss(x, ft), lambda x: TF.nll_loss(x, tt), [_logits(4)],
                   device=device, dtype=dtype)
    assert out[0].dtype is dtype


def test_nll_loss_second_derivative(device):
    """nll_loss's backward is a differentiable op: d/dg of <grad_x(g), v> = -w[t] * v[t]."""
    x = framework.tensor(_logits(3, 4), device=device, requires_grad=True)
    t = framework.tensor([0, 3, 1], device=device)
    w = framework.tensor([1.0, 2.0, 3.0, 4.0], device=device)
    g = framework.tensor([0.5, -1.0, 2.0], device=device, requires_grad=True)
    loss = F.nll_loss(x, t, weight=w, reduction="none")
    (grad_x,) = framework.autograd.grad([loss], [x], [g], create_graph=True)
    v = framework.tensor(RNG.standard_normal((3, 4)), dtype=framework.float32, device=device)
    (grad_g,) = framework.autograd.grad([(grad_x * v).sum()], [g])
    vn = v.cpu().numpy()
    expected = -np.array([1.0, 4.0, 2.0]) * vn[np.arange(3), [0, 3, 1]]
    np.testing.assert_allclose(grad_g.cpu().numpy(), expected, rtol=1e-6)


# bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["cross_entropy", "nll_loss"])
def test_class_index_losses_reject_bad_input(device, fn):
    op = getattr(F, fn)
    x = framework.zeros((3, 4), device=device)
    if device == "cpu":  # PyTorch's cpu: at the call
        with pytest.raises(IndexError, match="out of bounds"):
            op(x, framework.tensor([0, 4, 1], device=device))
        with pytest.raises(IndexError, match="out of bounds"):
            op(x, framework.tensor([0, -1, 1], device=device))
    else:  # cuda: the kernel flags the target, the next host sync raises
        loss = op(x, framework.tensor([0, 4, 1], device=device))
        with pytest.raises(RuntimeError, match=fr"{fn}\(\): Target 4 is out of bounds"):
            loss.item()
        loss = op(x, framework.tensor([0, -1, 1], device=device), reduction="none")
        with pytest.raises(RuntimeError, match=fr"{fn}\(\): Target -1 is out of bounds"):
            loss.tolist()
        # ignore_index is not out of range, and the flag was cleared by the report: no raise
        op(x, framework.tensor([0, -100, 1], device=device)).item()
    with pytest.raises(ValueError, match="batch_size"):
        op(x, framework.tensor([0, 1], device=device))
    with pytest.raises(RuntimeError, match="Expected target size"):
        op(framework.zeros((2, 4, 3), device=device), framework.zeros((2, 2), dtype=framework.int64,
                                                                     device=device))
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        op(x, framework.tensor([0, 1, 2], device=device), reduction="avg")
    with pytest.raises(RuntimeError, match="weight tensor should be defined"):
        op(x, framework.tensor([0, 1, 2], device=device), weight=framework.ones(3, device=device))
    with pytest.raises(RuntimeError, match="Long"):
        op(x, framework.tensor([0, 1, 2], dtype=framework.int32, device=device))
    if device == "cuda":
        with pytest.raises(RuntimeError, match="same device"):
            op(x, framework.tensor([0, 1, 2]))
    # a 0-d input: PyTorch's nll_loss says ValueError, cross_entropy (same-shape target, so
    # class probabilities) RuntimeError
    error = ValueError if fn == "nll_loss" else RuntimeError
    with pytest.raises(error):
        op(framework.tensor(1.0, device=device), framework.tensor(0, device=device))
    with pytest.raises(error):
        getattr(TF, fn)(torch.tensor(1.0), torch.tensor(0))


def test_cross_entropy_rejects_bad_smoothing_and_probability_shape(device):
    x = framework.zeros((3, 4), device=device)
    with pytest.raises(RuntimeError, match="label_smoothing"):
        F.cross_entropy(x, framework.tensor([0, 1, 2], device=device), label_smoothing=1.5)
    with pytest.raises(RuntimeError, match="cross_entropy"):
        F.cross_entropy(x, framework.zeros((3, 5), device=device))
    with pytest.raises(RuntimeError, match="Long"):
        F.cross_entropy(x, framework.zeros(3, device=device))
    with pytest.raises(RuntimeError, match="probabilities"):
        F.cross_entropy(x, framework.zeros((3, 4), dtype=framework.int64, device=device))


def test_torch_raises_the_same_error_types():
    """The errors above are PyTorch's own types for the same mistakes."""
    x = torch.zeros(3, 4)
    with pytest.raises(IndexError):
        TF.cross_entropy(x, torch.tensor([0, 4, 1]))
    with pytest.raises(ValueError):
        TF.cross_entropy(x, torch.tensor([0, 1]))
    with pytest.raises(ValueError):
        TF.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError):
        TF.binary_cross_entropy(x, torch.zeros(3))
    with pytest.raises(RuntimeError):
        TF.cross_entropy(x, torch.tensor([0, 1, 2]), label_smoothing=1.5)
    with pytest.raises(RuntimeError):
        TF.cross_entropy(x, torch.zeros(3, 5))
    with pytest.raises(RuntimeError):
        TF.cross_entropy(x, torch.zeros(3))
    with pytest.raises(RuntimeError):
        TF.nll_loss(torch.zeros(2, 4, 3), torch.zeros(2, 2, dtype=torch.long))


# composite losses ------------------------------------------------------------------------
def _pair(*shape):
    return [RNG.standard_normal(shape), RNG.standard_normal(shape)]


def _in_unit(*shape):
    return RNG.uniform(0.05, 0.95, shape)


POINTWISE = {
    "mse_loss": ({}, _pair),
    "l1_loss": ({}, _pair),
    "smooth_l1_loss": ({"beta": 0.5}, _pair),
    "huber_loss": ({"delta": 0.7}, _pair),
    "binary_cross_entropy": ({}, lambda *s: [_in_unit(*s), RNG.uniform(0, 1, s)]),
    "binary_cross_entropy_with_logits": ({}, lambda *s: [RNG.standard_normal(s) * 3,
                                                          RNG.uniform(0, 1, s)]),
    "kl_div": ({}, lambda *s: [np.log(_in_unit(*s)), _in_unit(*s)]),
}


@pytest.mark.parametrize("name", sorted(POINTWISE))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_pointwise_losses(device, name, reduction):
    kwargs, make = POINTWISE[name]
    check_op(lambda a, b: getattr(F, name)(a, b, reduction=reduction, **kwargs),
             lambda a, b: getattr(TF, name)(a, b, reduction=reduction, **kwargs),
             make(3, 4), device=device, scale=4)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_losses_broadcast_non_contiguous_and_edge_shapes(device, name):
    for shape_a, shape_b in [((3, 1), (1, 4)), ((0, 2), (0, 2)), ((1,), (1,))]:
        check_op(lambda a, b: getattr(F, name)(a, b, reduction="sum"),
                 lambda a, b: getattr(TF, name)(a, b, reduction="sum"),
                 [RNG.standard_normal(shape_a), RNG.standard_normal(shape_b)], device=device,
                 contiguous=False)


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_elementwise_weight(device, name, reduction):
    w = RNG.uniform(0.5, 2.0, (3, 4))
    check_op(lambda a, b: getattr(F, name)(a, b, reduction=reduction,
                                           weight=framework.tensor(w, device=device)),
             lambda a, b: getattr(TF, name)(a, b, reduction=reduction, weight=torch.tensor(w)),
             _pair(3, 4), device=device, dtype=framework.float64)


def test_smooth_l1_with_zero_beta_is_l1(device):
    check_op(lambda a, b: F.smooth_l1_loss(a, b, beta=0.0),
             lambda a, b: TF.smooth_l1_loss(a, b, beta=0.0), _pair(5), device=device)


def test_binary_cross_entropy_weight_and_log_clamp(device):
    x = np.array([[0.0, 1.0, 0.3], [1e-30, 0.5, 1.0]])
    y = np.array([[1.0, 0.0, 1.0], [1.0, 0.5, 1.0]])
    w = np.array([0.5, 2.0, 1.0])
    check_op(lambda a, b: F.binary_cross_entropy(a, b, weight=framework.tensor(w, device=device),
                                                 reduction="none"),
             lambda a, b: TF.binary_cross_entropy(a, b, weight=torch.tensor(w), reduction="none"),
             [x, y], device=device, dtype=framework.float64, grad=False)


def test_binary_cross_entropy_with_logits_weights(device):
    w, pw = RNG.uniform(0.5, 2, (1, 4)), RNG.uniform(0.5, 3, (4,))
    check_op(lambda a, b: F.binary_cross_entropy_with_logits(
                 a, b, weight=framework.tensor(w, device=device),
                 pos_weight=framework.tensor(pw, device=device)),
             lambda a, b: TF.binary_cross_entropy_with_logits(
                 a, b, weight=torch.tensor(w), pos_weight=torch.tensor(pw)),
             [RNG.standard_normal((3, 4)) * 40, RNG.uniform(0, 1, (3, 4))], device=device,
             dtype=framework.float64)


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "none"])
def test_kl_div_log_target(device, reduction):
    check_op(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=True),
             lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=True),
             [np.log(_in_unit(3, 4)), np.log(_in_unit(3, 4))], device=device, scale=4)


def test_kl_div_zero_target(device):
    # the target's own gradient is nan where it is 0 (log 0): only the input is differentiated
    y = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]])
    check_op(lambda a: F.kl_div(a, framework.tensor(y, dtype=framework.float32, device=device),
                                reduction="batchmean"),
             lambda a: TF.kl_div(a, torch.tensor(y), reduction="batchmean"),
             [np.log(_in_unit(2, 3))], device=device)


@pytest.mark.parametrize("dim", [-1, 0])
def test_cosine_similarity(device, dim):
    check_op(lambda a, b: F.cosine_similarity(a, b, dim=dim),
             lambda a, b: TF.cosine_similarity(a, b, dim=dim),
             [RNG.standard_normal((3, 4)), RNG.standard_normal((1, 4))], device=device,
             contiguous=False)
    assert framework.cosine_similarity is F.cosine_similarity


def test_cosine_similarity_tiny_norm_uses_eps(device):
    check_op(lambda a, b: F.cosine_similarity(a, b, eps=0.5),
             lambda a, b: TF.cosine_similarity(a, b, eps=0.5),
             [RNG.standard_normal((2, 3)) * 0.01, RNG.standard_normal((2, 3))], device=device)


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_cosine_embedding_loss(device, reduction):
    y = np.array([1.0, -1.0, 1.0, -1.0])
    check_op(lambda a, b: F.cosine_embedding_loss(a, b, framework.tensor(y, device=device),
                                                  margin=-0.5, reduction=reduction),
             lambda a, b: TF.cosine_embedding_loss(a, b, torch.tensor(y), margin=-0.5,
                                                   reduction=reduction),
             _pair(4, 3), device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_loss(device, reduction):
    check_op(lambda a, b, y: F.margin_ranking_loss(a, b, y, margin=0.3, reduction=reduction),
             lambda a, b, y: TF.margin_ranking_loss(a, b, y, margin=0.3, reduction=reduction),
             _pair(6) + [np.sign(RNG.standard_normal(6))], device=device)


@pytest.mark.parametrize("p,swap", [(2, False), (3, True)])
def test_triplet_margin_loss(device, p, swap):
    check_op(lambda a, b, c: F.triplet_margin_loss(a, b, c, margin=2.0, p=p, swap=swap),
             lambda a, b, c: TF.triplet_margin_loss(a, b, c, margin=2.0, p=p, swap=swap),
             [RNG.standard_normal((4, 3)) for _ in range(3)], device=device)


def test_triplet_margin_loss_none_and_unbatched(device):
    check_op(lambda a, b, c: F.triplet_margin_loss(a, b, c, reduction="none"),
             lambda a, b, c: TF.triplet_margin_loss(a, b, c, reduction="none"),
             [RNG.standard_normal(5) for _ in range(3)], device=device)


def test_composite_losses_reject_bad_input(device):
    x = framework.zeros((2, 3), device=device)
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(x, x, reduction="avg")
    with pytest.raises(ValueError, match="target size"):
        F.binary_cross_entropy(x, framework.zeros(3, device=device))
    with pytest.raises(ValueError, match="Target size"):
        F.binary_cross_entropy_with_logits(x, framework.zeros(3, device=device))
    check_device_error(device, lambda: F.binary_cross_entropy(x + 2.0, x),
                       "binary_cross_entropy\\(\\): all elements of input should be between 0 "
                       "and 1")
    with pytest.raises(RuntimeError, match="broadcast|size of tensor"):
        F.mse_loss(x, framework.zeros((4,), device=device))
    with pytest.raises(ValueError, match="same size"):
        F.mse_loss(x, x, weight=framework.ones(3, device=device))
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.triplet_margin_loss(x, x, framework.zeros(3, device=device))
    with pytest.raises(TypeError, match="input"):
        F.l1_loss([1.0], x)


def test_legacy_size_average_and_reduce(device):
    x = framework.tensor([1.0, 2.0, 4.0], device=device)
    y = framework.zeros(3, device=device)
    with pytest.warns(UserWarning):
        assert F.mse_loss(x, y, size_average=False).item() == 21.0
    with pytest.warns(UserWarning):
        assert tuple(F.l1_loss(x, y, reduce=False).shape) == (3,)


@pytest.mark.parametrize("name", ["mse_loss", "smooth_l1_loss", "binary_cross_entropy_with_logits",
                                  "kl_div"])
@pytest.mark.parametrize("dtype", [framework.float16, framework.bfloat16])
def test_composite_losses_half_types(device, name, dtype):
    kwargs, make = POINTWISE[name]
    out = check_op(lambda a, b: getattr(F, name)(a, b, reduction="sum", **kwargs),
                   lambda a, b: getattr(TF, name)(a, b, reduction="sum", **kwargs),
                   make(2, 3), device=device, dtype=dtype, scale=6)
    assert out[0].dtype is dtype


# binary_cross_entropy_with_logits: one node on its own kernels ------------------------------
def _bce_weights(device, w_shape, pw_shape, strided=False):
    """(framework, torch float64) pairs of weight and pos_weight (None where the shape is);
    ``strided``: framework views with a step of 2 along their last dim."""
    pairs = []
    for shape, low, high in ((w_shape, 0.5, 2.0), (pw_shape, 0.5, 3.0)):
        if shape is None:
            pairs.append((None, None))
            continue
        value = RNG.uniform(low, high, shape).astype(np.float32).astype(np.float64)
        source = np.repeat(value, 2, axis=-1) if strided else value
        fw = framework.tensor(source, dtype=framework.float32, device=device)
        pairs.append((fw[..., ::2] if strided else fw, torch.tensor(value)))
    return pairs


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("w_shape,pw_shape", [((1, 4), (4,)), ((3, 1), None), (None, (3, 4)),
                                              ((4,), (1, 1))])
def test_bce_with_logits_broadcast_weights_non_contiguous(device, reduction, w_shape, pw_shape):
    (w, tw), (pw, tpw) = _bce_weights(device, w_shape, pw_shape, strided=True)
    out = check_op(lambda a, b: F.binary_cross_entropy_with_logits(
                       a, b, weight=w, pos_weight=pw, reduction=reduction),
                   lambda a, b: TF.binary_cross_entropy_with_logits(
                       a, b, weight=tw, pos_weight=tpw, reduction=reduction),
                   [RNG.standard_normal((3, 4)) * 30, RNG.uniform(0, 1, (3, 4))], device=device,
                   contiguous=False, scale=4)
    assert type(out[0].grad_fn).__name__ == "BinaryCrossEntropyWithLogitsBackward0"


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_float64_and_one_element(device, reduction):
    (w, tw), (pw, tpw) = _bce_weights(device, (1,), (1,))
    check_op(lambda a, b: F.binary_cross_entropy_with_logits(
                 a, b, weight=w.double(), pos_weight=pw.double(), reduction=reduction),
             lambda a, b: TF.binary_cross_entropy_with_logits(
                 a, b, weight=tw, pos_weight=tpw, reduction=reduction),
             [RNG.standard_normal((1,)) * 3, RNG.uniform(0, 1, (1,))], device=device,
             dtype=framework.float64)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_empty(device, reduction):
    # 'mean' of nothing is NaN, 'sum' 0, as in PyTorch
    (w, tw), (pw, tpw) = _bce_weights(device, (3,), (3,))
    out = check_op(lambda a, b: F.binary_cross_entropy_with_logits(
                       a, b, weight=w, pos_weight=pw, reduction=reduction),
                   lambda a, b: TF.binary_cross_entropy_with_logits(
                       a, b, weight=tw, pos_weight=tpw, reduction=reduction),
                   [np.zeros((0, 3)), np.zeros((0, 3))], device=device)
    if reduction == "mean":
        assert np.isnan(out[0].item())


@pytest.mark.parametrize("pw_shape", [None, (4,)])
def test_bce_with_logits_second_derivatives(device, pw_shape):
    """create_graph: the backward is framework ops, differentiable in input and target."""
    (w, tw), (pw, tpw) = _bce_weights(device, (1, 4), pw_shape)
    x, y = RNG.standard_normal((3, 4)) * 2, RNG.uniform(0, 1, (3, 4))
    v = RNG.standard_normal((3, 4))
    results = []
    for lib, f, weight, pos_weight, dtype in ((framework, F, w, pw, framework.float64),
                                              (torch, TF, tw, tpw, torch.float64)):
        kw = {"device": device} if lib is framework else {}
        a = lib.tensor(x, dtype=dtype, requires_grad=True, **kw)
        b = lib.tensor(y, dtype=dtype, requires_grad=True, **kw)
        vec = lib.tensor(v, dtype=dtype, **kw)
        weight = weight.to(dtype) if weight is not None else None
        pos_weight = pos_weight.to(dtype) if pos_weight is not None else None
        loss = f.binary_cross_entropy_with_logits(a, b, weight=weight, pos_weight=pos_weight)
        ga, gb = lib.autograd.grad(loss, (a, b), create_graph=True)
        results.append((ga, gb) + lib.autograd.grad((ga * vec).sum() + (gb * vec).sum(), (a, b)))
    for got, want in zip(*results):
        assert_close(got, want, 1e-9, 1e-7, "bce_with_logits second derivatives")


def test_bce_with_logits_rejects_bad_weights(device):
    x = framework.zeros((3, 4), device=device, requires_grad=True)
    for name in ("weight", "pos_weight"):
        with pytest.raises(RuntimeError, match=r"output with shape \[3, 4\] doesn't match the "
                                               r"broadcast shape \[2, 3, 4\]"):
            F.binary_cross_entropy_with_logits(x, x.detach(), **{name: framework.ones(
                (2, 3, 4), device=device)})
        with pytest.raises(RuntimeError, match="size of tensor"):
            F.binary_cross_entropy_with_logits(x, x.detach(), **{name: framework.ones(
                5, device=device)})
        with pytest.raises(TypeError, match=name):
            F.binary_cross_entropy_with_logits(x, x.detach(), **{name: [1.0] * 4})
    with pytest.raises(RuntimeError, match="output with shape"):
        TF.binary_cross_entropy_with_logits(torch.zeros(3, 4), torch.zeros(3, 4),
                                            weight=torch.ones(2, 3, 4))


# binary_cross_entropy (probabilities): one node on its own kernels --------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("w_shape", [None, (1, 4), (3, 1), (4,)])
def test_binary_cross_entropy_broadcast_weight_non_contiguous(device, reduction, w_shape):
    (w, tw), _ = _bce_weights(device, w_shape, None, strided=True)
    out = check_op(lambda a, b: F.binary_cross_entropy(a, b, weight=w, reduction=reduction),
                   lambda a, b: TF.binary_cross_entropy(a, b, weight=tw, reduction=reduction),
                   [_in_unit(3, 4), RNG.uniform(0, 1, (3, 4))], device=device, contiguous=False,
                   scale=4)
    assert type(out[0].grad_fn).__name__ == "BinaryCrossEntropyBackward0"


def test_binary_cross_entropy_gradient_at_the_clamps(device):
    """At x = 0 and 1 the logs clamp at -100 and the gradient divides by max(x(1-x), 1e-12),
    PyTorch's formulas (finite where the target agrees with the input)."""
    x = np.array([[0.0, 1.0, 1e-30, 0.5], [1.0, 0.0, 0.3, 1.0 - 1e-15]])
    y = np.array([[0.0, 1.0, 0.0, 0.5], [0.7, 1.0, 1.0, 1.0]])
    (w, tw), _ = _bce_weights(device, (4,), None)
    for reduction in REDUCTIONS:
        check_op(lambda a, b: F.binary_cross_entropy(a, b, weight=w.double(),
                                                     reduction=reduction),
                 lambda a, b: TF.binary_cross_entropy(a, b, weight=tw, reduction=reduction),
                 [x, y], device=device, dtype=framework.float64, input_dtypes=[None, None])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_empty(device, reduction):
    out = check_op(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
                   lambda a, b: TF.binary_cross_entropy(a, b, reduction=reduction),
                   [np.zeros((0, 3)), np.zeros((0, 3))], device=device)
    if reduction == "mean":
        assert np.isnan(out[0].item())


# gaussian_nll / poisson_nll / soft_margin / multilabel_soft_margin / hinge_embedding ----------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1)])
def test_gaussian_nll_loss(device, reduction, full, var_shape):
    var = RNG.uniform(0.1, 2.0, var_shape)
    var.flat[0] = 1e-8  # below eps: clamped, the gradient passes unchanged
    check_op(lambda a, b, v: F.gaussian_nll_loss(a, b, v, full=full, reduction=reduction),
             lambda a, b, v: TF.gaussian_nll_loss(a, b, v, full=full, reduction=reduction),
             _pair(4, 3) + [var], device=device)


def test_gaussian_nll_loss_bad_var(device):
    x = framework.ones(4, 3, device=device)
    with pytest.raises(ValueError, match="var"):
        F.gaussian_nll_loss(x, x, framework.ones(2, device=device))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, -framework.ones(4, 3, device=device))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input, full", [(True, False), (False, False), (True, True),
                                             (False, True)])
def test_poisson_nll_loss(device, reduction, log_input, full):
    x = RNG.standard_normal((4, 3)) if log_input else RNG.uniform(0.1, 3.0, (4, 3))
    target = RNG.uniform(0.0, 4.0, (4, 3))
    check_op(lambda a, t: F.poisson_nll_loss(a, t, log_input=log_input, full=full,
                                             reduction=reduction),
             lambda a, t: TF.poisson_nll_loss(a, t, log_input=log_input, full=full,
                                              reduction=reduction),
             [x, target], device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_and_hinge_embedding_loss(device, reduction):
    y = np.sign(RNG.standard_normal((4, 3))).astype(np.int64)  # (torch: no target gradient)
    check_op(lambda a, t: F.soft_margin_loss(a, t, reduction=reduction),
             lambda a, t: TF.soft_margin_loss(a, t, reduction=reduction),
             [RNG.standard_normal((4, 3)), y], device=device, input_dtypes=[None, framework.int64])
    check_op(lambda a, t: F.hinge_embedding_loss(a, t, margin=0.7, reduction=reduction),
             lambda a, t: TF.hinge_embedding_loss(a, t, margin=0.7, reduction=reduction),
             [RNG.standard_normal((4, 3)), y], device=device, input_dtypes=[None, framework.int64])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_soft_margin_loss(device, reduction):
    y = (RNG.random((4, 3)) > 0.5).astype(np.float64)
    check_op(lambda a, t: F.multilabel_soft_margin_loss(a, t, reduction=reduction),
             lambda a, t: TF.multilabel_soft_margin_loss(a, t, reduction=reduction),
             [RNG.standard_normal((4, 3)), y], device=device)
    w = RNG.uniform(0.5, 2.0, 3)
    check_op(lambda a, t, w: F.multilabel_soft_margin_loss(a, t, weight=w, reduction=reduction),
             lambda a, t, w: TF.multilabel_soft_margin_loss(a, t, weight=w, reduction=reduction),
             [RNG.standard_normal((4, 3)), y, w], device=device)


def test_new_loss_modules_match_torch():
    x, t = torch.randn(4, 3, dtype=torch.float64), torch.rand(4, 3, dtype=torch.float64)
    fx, ft = framework.tensor(x.numpy()), framework.tensor(t.numpy())
    y = torch.sign(torch.randn(4, 3, dtype=torch.float64))
    fy = framework.tensor(y.numpy())
    pairs = [("GaussianNLLLoss", dict(full=True), (fx, ft, ft + 0.5), (x, t, t + 0.5)),
             ("PoissonNLLLoss", dict(log_input=True), (fx, ft), (x, t)),
             ("SoftMarginLoss", {}, (fx, fy), (x, y)),
             ("HingeEmbeddingLoss", dict(margin=0.5), (fx, fy), (x, y)),
             ("MultiLabelSoftMarginLoss", dict(reduction="sum"), (fx, (ft > 0.5).double()),
              (x, (t > 0.5).double()))]
    for name, kwargs, ours, theirs in pairs:
        got = getattr(framework.nn, name)(**kwargs)(*ours)
        want = getattr(torch.nn, name)(**kwargs)(*theirs)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-10, err_msg=name)
