"""PyTorch's top-level forms of its nn functions (``torch.layer_norm``, ``torch.embedding``,
``torch.kl_div`` with int reductions ...; framework/_aten.py) against torch: values and
gradients with ATen's argument orders, on cpu and cuda."""
import numpy as np
import pytest
import torch

import framework
from helpers import check_op

RNG = np.random.default_rng(0)
F64 = framework.float64


def arr(*shape):
    return RNG.standard_normal(shape)


def _both(name, *args, **kwargs):  # noqa: D401
    """The same call on framework and on torch."""
    return (lambda *t: getattr(framework, name)(*t, *args, **kwargs),
            lambda *t: getattr(torch, name)(*t, *args, **kwargs))


CASES = [  # (name, inputs, the call given the library and the input tensors)
    ("layer_norm", [arr(2, 3, 4), arr(4), arr(4)],
     lambda lib, x, w, b: lib.layer_norm(x, (4,), w, b, 1e-5, True)),
    ("group_norm", [arr(2, 4, 3), arr(4), arr(4)],
     lambda lib, x, w, b: lib.group_norm(x, 2, w, b, 1e-5, True)),
    ("rms_norm", [arr(2, 5), arr(5)], lambda lib, x, w: lib.rms_norm(x, (5,), w)),
    ("bilinear", [arr(2, 3), arr(2, 4), arr(5, 3, 4), arr(5)],
     lambda lib, a, b, w, bias: lib.bilinear(a, b, w, bias)),
    ("max_pool1d", [arr(2, 3, 8)], lambda lib, x: lib.max_pool1d(x, 2)),
    ("max_pool2d", [arr(1, 2, 4, 6)], lambda lib, x: lib.max_pool2d(x, (2, 3), (), 1)),
    ("max_pool3d", [arr(1, 1, 4, 4, 4)], lambda lib, x: lib.max_pool3d(x, 2)),
    ("max_pool1d_with_indices", [arr(2, 3, 8)],
     lambda lib, x: lib.max_pool1d_with_indices(x, 3, 2)),
    ("avg_pool1d", [arr(2, 3, 8)], lambda lib, x: lib.avg_pool1d(x, 3, 2, 1, False, False)),
    ("adaptive_avg_pool1d", [arr(2, 3, 7)], lambda lib, x: lib.adaptive_avg_pool1d(x, 3)),
    ("adaptive_max_pool1d", [arr(2, 3, 7)], lambda lib, x: lib.adaptive_max_pool1d(x, 3)),
    ("threshold", [arr(3, 4)], lambda lib, x: lib.threshold(x, 0.1, -1.0)),
    ("threshold_", [arr(3, 4)], lambda lib, x: lib.threshold_(x * 1, 0.1, -1.0)),
    ("frobenius_norm", [arr(3, 4)], lambda lib, x: lib.frobenius_norm(x, (1,), True)),
    ("norm_except_dim", [arr(3, 4, 2)], lambda lib, x: lib.norm_except_dim(x, 2, 1)),
    ("constant_pad_nd", [arr(2, 3)], lambda lib, x: lib.constant_pad_nd(x, (1, 2, 0, -1), 0.5)),
    ("conv_tbc", [arr(5, 2, 3), arr(3, 3, 4), arr(4)],
     lambda lib, x, w, b: lib.conv_tbc(x, w, b, 1)),
]


@pytest.mark.filterwarnings("ignore:at::frobenius_norm is deprecated")
@pytest.mark.parametrize("name, inputs, call", CASES, ids=[c[0] for c in CASES])
def test_aten_forms_match_torch(device, name, inputs, call):
    check_op(lambda *t: call(framework, *t), lambda *t: call(torch, *t), inputs, device=device,
             dtype=F64)


@pytest.mark.filterwarnings("error:reduction. 'mean' divides")  # torch.kl_div does not warn
@pytest.mark.parametrize("reduction", [0, 1, 2])
def test_int_reductions_match_torch(device, reduction):
    p = RNG.uniform(0.1, 0.9, (3, 4))
    y = np.sign(arr(3))
    losses = [
        ("kl_div", [np.log(p), p], (reduction,)),
        ("binary_cross_entropy_with_logits", [arr(3, 4), p], (None, None, reduction)),
        ("cosine_embedding_loss", [arr(3, 4), arr(3, 4), y], (0.1, reduction)),
        ("margin_ranking_loss", [arr(3), arr(3), y], (0.2, reduction)),
        ("hinge_embedding_loss", [arr(3, 4), np.sign(arr(3, 4))], (1.0, reduction)),
        ("poisson_nll_loss", [arr(3, 4), p], (True, False, 1e-8, reduction)),
        ("triplet_margin_loss", [arr(3, 4), arr(3, 4), arr(3, 4)],
         (1.0, 2.0, 1e-6, False, reduction)),
    ]
    for name, inputs, extra in losses:
        fw, th = _both(name, *extra)
        check_op(fw, th, inputs, device=device, dtype=F64)
    logits = arr(6, 2, 4)
    check_op(lambda t: framework.ctc_loss(t.log_softmax(2), framework.tensor([[1, 2], [3, 0]],
                                          device=device), [6, 5], [2, 1], 0, reduction),
             lambda t: torch.ctc_loss(t.log_softmax(2), torch.tensor([[1, 2], [3, 0]]), [6, 5],
                                      [2, 1], 0, reduction), [logits], device=device, dtype=F64)


def test_norms_with_aten_argument_orders(device):
    x = arr(4, 3, 2)
    mean, var = RNG.standard_normal(3), RNG.uniform(0.5, 1.5, 3)
    for training in (False, True):
        check_op(lambda t, w, b: framework.batch_norm(
                     t, w, b, framework.tensor(mean, device=device),
                     framework.tensor(var, device=device), training, 0.1, 1e-5, False),
                 lambda t, w, b: torch.batch_norm(t, w, b, torch.tensor(mean), torch.tensor(var),
                                                  training, 0.1, 1e-5, False),
                 [x, arr(3), arr(3)], device=device, dtype=F64)
    check_op(lambda t: framework.instance_norm(t, None, None, None, None, True, 0.1, 1e-5, False),
             lambda t: torch.instance_norm(t, None, None, None, None, True, 0.1, 1e-5, False),
             [x], device=device, dtype=F64)


def test_embedding_weight_first_and_padding(device):
    index = np.array([[0, 2], [3, 2]])
    check_op(lambda w: framework.embedding(w, framework.tensor(index, device=device)),
             lambda w: torch.embedding(w, torch.tensor(index)), [arr(4, 3)], device=device,
             dtype=F64)
    check_op(lambda w: framework.embedding(w, framework.tensor(index, device=device), 2),
             lambda w: torch.embedding(w, torch.tensor(index), 2), [arr(4, 3)], device=device,
             dtype=F64)
    weight = arr(5, 3) * 3
    got = framework.tensor(weight, device=device)
    want = torch.tensor(weight)
    framework.embedding_renorm_(got, framework.tensor([0, 3, 3], device=device), 1.0, 2.0)
    torch.embedding_renorm_(want, torch.tensor([0, 3, 3]), 1.0, 2.0)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-12)


@pytest.mark.parametrize("transposed", [False, True])
def test_convolution_dispatches_like_torch(device, transposed):
    x, w = arr(1, 2, 5, 5), arr(2, 3, 3, 3) if transposed else arr(3, 2, 3, 3)
    check_op(lambda t, k, b: framework.convolution(t, k, b, (1, 2), (1, 0), (1, 1), transposed,
                                                   (0, 1) if transposed else (0, 0), 1),
             lambda t, k, b: torch.convolution(t, k, b, (1, 2), (1, 0), (1, 1), transposed,
                                               (0, 1) if transposed else (0, 0), 1),
             [x, w, arr(3)], device=device, dtype=F64)


@pytest.mark.parametrize("name, gates", [("rnn_tanh_cell", 1), ("rnn_relu_cell", 1),
                                         ("gru_cell", 3), ("lstm_cell", 4)])
def test_recurrent_cells_match_torch(device, name, gates):
    x, h, c = arr(2, 3), arr(2, 4), arr(2, 4)
    weights = [arr(gates * 4, 3), arr(gates * 4, 4), arr(gates * 4), arr(gates * 4)]
    if name == "lstm_cell":
        check_op(lambda a, b, cc, *w: framework.lstm_cell(a, (b, cc), *w),
                 lambda a, b, cc, *w: torch.lstm_cell(a, (b, cc), *w), [x, h, c] + weights,
                 device=device, dtype=F64)
    else:
        check_op(getattr(framework, name), getattr(torch, name), [x, h] + weights,
                 device=device, dtype=F64)


def test_dropout_forms_and_grids(device):
    x = framework.ones(4, 6, 5, device=device)
    assert framework.dropout(x, 0.5, False) is x or (framework.dropout(x, 0.5, False) == x).all()
    framework.manual_seed(0)
    dropped = framework.dropout(x, 0.5, True)
    values = set(np.unique(dropped.cpu().numpy()).tolist())
    assert values <= {0.0, 2.0}
    channels = framework.feature_dropout(x, 0.5, True).cpu().numpy()
    assert all(len(set(channels[i, j].ravel().tolist())) == 1 for i in range(4) for j in range(6))
    assert (framework.alpha_dropout(x, 0.3, False) == x).all()
    theta = arr(1, 2, 3)
    check_op(lambda t: framework.affine_grid_generator(t, (1, 1, 3, 4), False),
             lambda t: torch.affine_grid_generator(t, (1, 1, 3, 4), False), [theta],
             device=device, dtype=F64)
    grid = RNG.uniform(-1, 1, (1, 2, 3, 2))
    for mode, padding in ((0, 0), (1, 1), (0, 2)):
        check_op(lambda t, g: framework.grid_sampler(t, g, mode, padding, False),
                 lambda t, g: torch.grid_sampler(t, g, mode, padding, False),
                 [arr(1, 2, 4, 4), grid], device=device, dtype=F64, grad=mode == 0)
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        framework.kl_div(framework.ones(2, device=device), framework.ones(2, device=device), 3)


# -- top-level in-place functions, copying views, real forms of the complex helpers -------------
@pytest.mark.parametrize("name", ["abs_", "exp_", "sigmoid_", "sqrt_", "clamp_", "fill_",
                                  "zero_", "nan_to_num_", "logit_", "deg2rad_", "trunc_",
                                  "as_strided_"])
def test_top_level_in_place_functions_write_like_torch(device, name):
    args = {"clamp_": (-0.2, 0.3), "fill_": (1.5,), "as_strided_": ((3, 2), (1, 3))}.get(name, ())
    values = RNG.uniform(0.1, 0.9, (2, 3))
    ours = framework.tensor(values, device=device)
    theirs = torch.tensor(values)
    assert getattr(framework, name)(ours, *args) is ours
    getattr(torch, name)(theirs, *args)
    np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name, args", [
    ("permute_copy", ((1, 0),)), ("transpose_copy", (0, 1)), ("t_copy", ()),
    ("diagonal_copy", ()), ("expand_copy", ((2, 2, 3),)), ("narrow_copy", (1, 1, 2)),
    ("select_copy", (0, 1)), ("slice_copy", (1, 0, 3, 2)), ("squeeze_copy", ()),
    ("unsqueeze_copy", (1,)), ("view_copy", ((3, 2),)), ("alias_copy", ()),
    ("detach_copy", ()), ("unfold_copy", (1, 2, 1)), ("split_copy", (1,)),
    ("split_with_sizes_copy", ([1, 1],)), ("unbind_copy", ())])
def test_copying_views_match_torch(device, name, args):
    check_op(lambda t: getattr(framework, name)(t, *args), lambda t: getattr(torch, name)(t, *args),
             [arr(2, 3)], device=device, dtype=F64)
    source = framework.ones(2, 3, device=device)
    out = getattr(framework, name)(source, *args)
    first = out[0] if isinstance(out, tuple) else out
    first.fill_(7.0)
    assert source.sum().item() == 6.0  # a copy, not a view


def test_real_forms_of_complex_helpers_match_torch(device):
    x = np.array([-1.5, 0.0, 2.0, np.nan, -0.0])
    for name in ("sgn", "angle", "conj", "conj_physical", "resolve_conj", "real"):
        check_op(getattr(framework, name), getattr(torch, name), [x], device=device, dtype=F64,
                 grad=name not in ("angle", "sgn"))  # (torch: ZeroTensor gradients)
    check_op(framework.adjoint, torch.adjoint, [arr(2, 3, 4)], device=device, dtype=F64)
    check_op(lambda t: framework.fill(t, 2.5), lambda t: torch.fill(t, 2.5), [arr(2, 3)],
             device=device, dtype=F64, grad=False)
    t = framework.tensor(x, device=device)
    assert not framework.is_complex(t) and not framework.is_conj(t) and t.real is t
    with pytest.raises(RuntimeError, match="imag is not implemented"):
        framework.imag(t)
    with pytest.raises(RuntimeError, match="imag is not implemented"):
        t.imag  # noqa: B018
    assert framework.vmap is framework.func.vmap
    assert framework.default_generator is framework.random.default_generator


# -- sampling, memory layout, devices, errors ----------------------------------------------------
def test_poisson_and_binomial_draw_from_their_distributions(device):
    """(The draws' statistics on cpu; on cuda, which runs the Triton interpreter in the tests,
    a small draw of the same code checks the values' kind only.)"""
    framework.manual_seed(0)
    if device == "cuda":
        small = framework.poisson(framework.tensor([0.5, 12.0], dtype=F64, device=device))
        values = small.cpu().numpy()
        assert small.device == framework.device(device)
        assert np.all(values == np.round(values)) and values.min() >= 0
        hits = framework.binomial(framework.tensor([4.0], dtype=F64, device=device),
                                  framework.tensor([0.5], dtype=F64, device=device))
        assert 0 <= hits.item() <= 4
        return
    rates = framework.tensor([0.5, 4.0, 30.0], dtype=F64, device=device).expand(3000, 3)
    draws = framework.poisson(rates).cpu().numpy()
    assert np.all(draws == np.round(draws)) and draws.min() >= 0
    np.testing.assert_allclose(draws.mean(0), [0.5, 4.0, 30.0], rtol=0.06)
    np.testing.assert_allclose(draws.var(0), [0.5, 4.0, 30.0], rtol=0.15)
    count = framework.tensor([10.0, 3.0], dtype=F64, device=device).expand(3000, 2)
    prob = framework.tensor([0.3, 0.9], dtype=F64, device=device).expand(3000, 2)
    hits = framework.binomial(count, prob).cpu().numpy()
    assert hits.min() >= 0 and np.all(hits <= [10, 3])
    np.testing.assert_allclose(hits.mean(0), [3.0, 2.7], rtol=0.05)
    with pytest.raises(NotImplementedError, match="only the default generator"):
        framework.poisson(rates, generator=framework.Generator())


def test_frombuffer_shares_writable_buffers_like_torch():
    data = bytearray(np.arange(6, dtype=np.float32).tobytes())
    ours = framework.frombuffer(data, dtype=framework.float32, count=3, offset=8)
    theirs = torch.frombuffer(bytearray(data), dtype=torch.float32, count=3, offset=8)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    data[8:12] = np.float32(-1.0).tobytes()
    assert ours[0].item() == -1.0  # shares the bytearray's memory
    copied = framework.frombuffer(bytes(data), dtype=framework.int16)
    assert copied.shape == (12,)
    with pytest.raises(ValueError, match="must not be greater than actual buffer length"):
        framework.frombuffer(data, dtype=framework.float32, count=9)


def test_empty_strided_and_permuted_have_torchs_layout(device):
    for size, stride in (((2, 3), (1, 2)), ((2, 3, 4), (12, 1, 3)), ((0, 3), (3, 1))):
        t = framework.empty_strided(size, stride, device=device)
        assert t.shape == size and t.stride() == torch.empty_strided(size, stride).stride()
    t = framework.empty_permuted((2, 3, 4, 5), (0, 2, 3, 1), device=device)
    assert t.stride() == torch.empty_permuted((2, 3, 4, 5), (0, 2, 3, 1)).stride()
    t.fill_(2.0)
    assert t.sum().item() == 240.0
    with pytest.raises(RuntimeError, match="physical_layout"):
        framework.empty_permuted((2, 3), (0, 0))


def test_device_module_grid_samplers_and_errors(device):
    assert framework.get_device_module("cuda") is framework.cuda
    assert framework.cuda.OutOfMemoryError is framework.OutOfMemoryError
    assert issubclass(framework.OutOfMemoryError, RuntimeError)
    assert issubclass(framework.AcceleratorError, RuntimeError)
    with pytest.raises(RuntimeError, match="does not have a corresponding module"):
        framework.get_device_module("xpu")
    grid = RNG.uniform(-1, 1, (1, 2, 3, 2))
    check_op(lambda t, g: framework.grid_sampler_2d(t, g, 0, 0, False),
             lambda t, g: torch.grid_sampler_2d(t, g, 0, 0, False), [arr(1, 2, 4, 4), grid],
             device=device, dtype=F64)
    with pytest.raises(RuntimeError, match="expected 5D input"):
        framework.grid_sampler_3d(framework.ones(1, 1, 2, 2, device=device),
                                  framework.zeros(1, 1, 1, 2, device=device), 0, 0, False)


# -- torch's top-level linear algebra over framework.linalg -------------------------------------
def _spd(n, batch=()):
    a = RNG.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


@pytest.mark.parametrize("name, inputs, call", [
    ("det", [arr(2, 3, 3)], lambda lib, a: lib.det(a)),
    ("logdet", [_spd(3)], lambda lib, a: lib.logdet(a)),
    ("slogdet", [arr(3, 3)], lambda lib, a: tuple(lib.slogdet(a))),
    ("inverse", [_spd(3, (2,))], lambda lib, a: lib.inverse(a)),
    ("matrix_power", [arr(3, 3)], lambda lib, a: lib.matrix_power(a, 3)),
    ("matrix_exp", [arr(3, 3) * 0.3], lambda lib, a: lib.matrix_exp(a)),
    ("pinverse", [arr(3, 2)], lambda lib, a: lib.pinverse(a)),
    # (the factors pass through tril/triu: torch's gradient also flows to the other triangle,
    # which its forward does not read)
    ("cholesky_solve", [arr(3, 2), np.linalg.cholesky(_spd(3))],
     lambda lib, b, l: lib.cholesky_solve(b, l.tril())),
    ("cholesky_solve_upper", [arr(3, 2), np.linalg.cholesky(_spd(3)).T],
     lambda lib, b, u: lib.cholesky_solve(b, u.triu(), True)),
    ("cholesky_inverse", [np.linalg.cholesky(_spd(3))],
     lambda lib, l: lib.cholesky_inverse(l.tril())),
    ("triangular_solve", [arr(3, 2), np.triu(arr(3, 3)) + 3 * np.eye(3)],
     lambda lib, b, a: tuple(lib.triangular_solve(b, a))),
    ("triangular_solve_t", [arr(3, 2), np.tril(arr(3, 3)) + 3 * np.eye(3)],
     lambda lib, b, a: lib.triangular_solve(b, a, False, True)[0]),
    ("nuclear_norm", [arr(3, 4)], lambda lib, a: lib.nuclear_norm(a)),
    ("det_method", [arr(3, 3)], lambda lib, a: a.det()),
    ("inverse_method", [_spd(3)], lambda lib, a: a.inverse()),
], ids=lambda v: v if isinstance(v, str) else "")
def test_top_level_linalg_matches_torch(device, name, inputs, call):
    check_op(lambda *t: call(framework, *t), lambda *t: call(torch, *t), inputs, device=device,
             dtype=F64)


def test_qr_svd_cholesky_lu_solve_forms(device):
    a = arr(4, 3)
    q, r = framework.qr(framework.tensor(a, device=device))
    np.testing.assert_allclose((q @ r).cpu().numpy(), a, atol=1e-12)
    assert framework.qr(framework.tensor(a, device=device), some=False).Q.shape == (4, 4)
    u, s, v = framework.svd(framework.tensor(a, device=device))
    np.testing.assert_allclose((u * s @ v.mT).cpu().numpy(), a, atol=1e-12)
    np.testing.assert_allclose(s.cpu().numpy(), torch.svd(torch.tensor(a)).S.numpy(), atol=1e-12)
    zeros = framework.svd(framework.tensor(a, device=device), compute_uv=False)
    assert float(zeros.U.abs().sum()) == 0.0 and float(zeros.V.abs().sum()) == 0.0
    spd = _spd(3)
    with pytest.warns(UserWarning, match="torch.cholesky is deprecated"):
        low = framework.cholesky(framework.tensor(spd, device=device))
    np.testing.assert_allclose(low.cpu().numpy(), np.linalg.cholesky(spd), atol=1e-12)
    lu, pivots = framework.linalg.lu_factor(framework.tensor(spd, device=device))
    b = arr(3, 2)
    got = framework.lu_solve(framework.tensor(b, device=device), lu, pivots)
    np.testing.assert_allclose(got.cpu().numpy(), np.linalg.solve(spd, b), atol=1e-10)
    assert float(framework.logdet(framework.tensor(-np.eye(3), device=device)).isnan()) == 1.0


# -- lu_unpack, Tensor.lu, resize_, dim_order, output_nr ------------------------------------------
@pytest.mark.parametrize("shape", [(3, 3), (2, 4, 4), (4, 3), (3, 5)])
def test_lu_unpack_and_tensor_lu_match_torch(device, shape):
    a = arr(*shape)
    lu, pivots = framework.linalg.lu_factor(framework.tensor(a, device=device))
    got = framework.lu_unpack(lu, pivots)
    want = torch.lu_unpack(*torch.linalg.lu_factor(torch.tensor(a)))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.cpu().numpy(), w.numpy(), atol=1e-12)
    check_op(lambda t: framework.lu_unpack(t, pivots)[1], lambda t: torch.lu_unpack(
        t, torch.linalg.lu_factor(torch.tensor(a)).pivots)[1], [lu.cpu().numpy()],
        device=device, dtype=F64)
    with pytest.warns(UserWarning, match="torch.lu is deprecated"):
        lu2, pivots2, infos = framework.tensor(a, device=device).lu(get_infos=True)
    np.testing.assert_allclose(lu2.cpu().numpy(), lu.cpu().numpy())
    assert infos.shape == tuple(shape[:-2])


def test_resize_keeps_leading_elements_like_torch(device):
    ours, theirs = framework.arange(6.0, device=device), torch.arange(6.0)
    for size in ((2, 2), (3, 3), (2, 3), (0,)):
        ours.resize_(*size)
        theirs.resize_(*size)
        assert ours.shape == theirs.shape
        keep = min(ours.numel(), 4)
        np.testing.assert_array_equal(ours.reshape(-1)[:keep].cpu().numpy(),
                                      theirs.reshape(-1)[:keep].clone().numpy())
    template = framework.ones(2, 5)
    assert framework.resize_as_(framework.zeros(3, device=device), template).shape == (2, 5)
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        framework.ones(2, requires_grad=True).resize_(4)


def test_layout_queries_match_torch():
    for make in (lambda lib: lib.ones(2, 3, 4), lambda lib: lib.ones(2, 3, 4).permute(2, 0, 1),
                 lambda lib: lib.ones(2, 3).t()):
        assert make(framework).dim_order() == make(torch).dim_order()
    strided = framework.ones(2).new_empty_strided((2, 3), (1, 2), dtype=F64)
    assert strided.stride() == (1, 2) and strided.dtype is F64
    x = framework.ones(3, requires_grad=True)
    assert x.output_nr == 0 and (x * 2).output_nr == 0
    framework.manual_seed(0)
    y = framework.feature_alpha_dropout(framework.ones(2, 3, 4), 0.5, True)
    assert y.shape == (2, 3, 4)


# -- Householder products, legacy constructors, set_ --------------------------------------------
@pytest.mark.parametrize("left, transpose, shape", [(True, False, (3, 2)), (True, True, (3, 2)),
                                                    (False, False, (2, 3)), (False, True, (2, 3))])
def test_orgqr_ormqr_match_torch(device, left, transpose, shape):
    a = arr(3, 2)
    reflectors, tau = torch.geqrf(torch.tensor(a))
    ours = [framework.tensor(t.numpy(), device=device) for t in (reflectors, tau)]
    check_op(lambda c: framework.ormqr(*ours, c, left, transpose),
             lambda c: torch.ormqr(reflectors, tau, c, left, transpose), [arr(*shape)],
             device=device, dtype=F64)
    np.testing.assert_allclose(framework.orgqr(*ours).cpu().numpy(),
                               torch.orgqr(reflectors, tau).numpy(), atol=1e-12)
    np.testing.assert_allclose(ours[0].orgqr(ours[1]).cpu().numpy(),
                               reflectors.orgqr(tau).numpy(), atol=1e-12)


def test_legacy_tensor_methods_match_torch(device):
    t, r = framework.ones(2, device=device), torch.ones(2)
    assert t.name is r.name is None
    for args in ((3,), (2, 3), ()):
        assert t.new(*args).shape == r.new(*args).shape and t.new(*args).dtype is t.dtype
    _ = t.new([1, 2])
    assert t.new([1, 2]).tolist() == r.new([1, 2]).tolist()
    assert t.is_set_to(t) and t.is_set_to(t.view(2)) and not t.is_set_to(t.clone())
    assert t.const_data_ptr() == t.data_ptr()
    t.record_stream(None)
    target, source = framework.zeros(3, device=device), framework.ones(2, 2, device=device)
    assert target.set_(source) is target and target.shape == (2, 2)
    source.fill_(5.0)
    assert target.sum().item() == 20.0  # shares the memory
    assert target.set_().shape == (0,)
    with pytest.warns(UserWarning, match="non-inplace resize_as is deprecated"):
        assert framework.ones(4, device=device).resize_as(framework.ones(2, 2)).shape == (2, 2)
    with pytest.raises(RuntimeError, match="Could not set tensor of type"):
        framework.zeros(2, device=device).set_(framework.zeros(2, dtype=framework.int64,
                                                               device=device))


@pytest.mark.parametrize("shape", [(3, 2), (2, 3), (4, 4), (2, 3, 3), (3, 1)])
def test_geqrf_matches_lapack_through_torch(device, shape):
    a = arr(*shape)
    ours = framework.geqrf(framework.tensor(a, device=device))
    theirs = torch.geqrf(torch.tensor(a))
    np.testing.assert_allclose(ours.a.cpu().numpy(), theirs.a.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.tau.cpu().numpy(), theirs.tau.numpy(), atol=1e-12)
    assert framework.tensor(a, device=device).geqrf()[1].shape == theirs.tau.shape
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        framework.geqrf(framework.ones(3, device=device))


def test_thread_safe_generator_is_none_outside_thread_workers():
    """torch's answer in the main process and in process workers (framework's DataLoader
    workers are processes): None, so ops draw from the default generator."""
    assert framework.thread_safe_generator() is None
    assert framework.random.thread_safe_generator() is None
    assert torch.random.thread_safe_generator() is None


def test_aten_losses_default_to_torchs_unreduced_result():
    """torch's bindings of the ATen losses read ``reduction``'s default as 0 ('none'), not
    the schema's Mean: called with their tensors only, the results are elementwise there,
    and so here."""
    a, b, c = arr(3, 4), RNG.uniform(0.1, 0.9, (3, 4)), arr(3, 4)
    y = np.sign(arr(3)) + (np.sign(arr(3)) == 0)
    cases = [("kl_div", [a, b]), ("binary_cross_entropy_with_logits", [a, b]),
             ("hinge_embedding_loss", [a, np.sign(c)]), ("cosine_embedding_loss", [a, c, y]),
             ("margin_ranking_loss", [a[:, 0], c[:, 0], y]), ("triplet_margin_loss", [a, b, c])]
    for name, arrays in cases:
        ours = getattr(framework, name)(*[framework.tensor(x) for x in arrays])
        theirs = getattr(torch, name)(*[torch.tensor(x) for x in arrays])
        assert tuple(ours.shape) == tuple(theirs.shape), name
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)
    log_probs = torch.randn(5, 2, 4, dtype=torch.float64).log_softmax(2)
    targets = [[1, 2], [3, 1]]
    theirs = torch.ctc_loss(log_probs, torch.tensor(targets), [5, 5], [2, 2])
    ours = framework.ctc_loss(framework.tensor(log_probs.numpy()), framework.tensor(targets),
                              [5, 5], [2, 2])
    assert tuple(ours.shape) == tuple(theirs.shape) == (2,)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-9)
