"""PyTorch's NumPy-style helpers (framework/ops/numeric.py) against PyTorch: values,
gradients, special values (NaN, inf, -0.0), edge shapes and errors, on cpu and cuda."""
import math

import numpy as np
import pytest
import torch

import framework
import framework.nn.functional as F
from helpers import check_op

RNG = np.random.default_rng(0)
F64 = framework.float64


def arr(*shape):
    return RNG.standard_normal(shape)


def _same(got, want):
    """Exact values, shape and dtype (integer, bool and special-value results)."""
    got = got.detach().cpu()
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), want.detach().numpy())


def _pair(values, dtype=torch.float64, device="cpu"):
    """The same data as a framework tensor on ``device`` and a torch tensor."""
    t = torch.tensor(values, dtype=dtype)
    return framework.tensor(t.numpy(), device=device), t


SPECIAL = [1.5, float("nan"), float("inf"), -float("inf"), -0.0, 0.0, -2.0]


# -- elementwise ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["deg2rad", "rad2deg", "sinc", "logit"])
def test_smooth_unary_composites_match_torch(device, name):
    x = RNG.uniform(0.05, 0.95, (3, 4)) if name == "logit" else arr(3, 4)
    check_op(getattr(framework, name), getattr(torch, name), [x], device=device, dtype=F64)
    check_op(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x[:, ::2]],
             device=device, dtype=F64)


def test_sinc_is_one_with_zero_gradient_at_zero(device):
    check_op(framework.sinc, torch.sinc, [np.array([0.0, 0.5, -1.0, 2.5])], device=device,
             dtype=F64)


def test_logit_eps_above_one_half_follows_torchs_order(device):
    """``eps > 0.5`` leaves an empty range: PyTorch takes eps below eps, else 1 - eps above
    1 - eps (a clamp would give 1 - eps everywhere)."""
    x = np.array([0.2, 0.7, -1.0, 2.0, 0.5])
    for eps in (0.6, 1.0):
        check_op(lambda t: framework.logit(t, eps=eps), lambda t: torch.logit(t, eps=eps), [x],
                 device=device, dtype=framework.float64)


def test_logit_eps_clamps_and_zeroes_the_gradient_outside(device):
    x = np.array([0.0, 0.01, 0.3, 0.99, 1.0])
    check_op(lambda t: framework.logit(t, eps=0.05), lambda t: torch.logit(t, eps=0.05), [x],
             device=device, dtype=F64)


def test_integer_inputs_give_the_default_float(device):
    ints = framework.tensor([0, 90, 180], device=device)
    _same(framework.deg2rad(ints), torch.deg2rad(torch.tensor([0, 90, 180])))
    _same(framework.sinc(ints), torch.sinc(torch.tensor([0, 90, 180])))


def test_nan_to_num_matches_torch(device):
    check_op(framework.nan_to_num, torch.nan_to_num, [np.array(SPECIAL)], device=device,
             dtype=F64)
    check_op(lambda t: t.nan_to_num(1.0, 5.0, -5.0), lambda t: t.nan_to_num(1.0, 5.0, -5.0),
             [np.array(SPECIAL)], device=device, dtype=framework.float32)
    ints, ref = _pair([1, -2, 3], torch.int64, device)
    _same(framework.nan_to_num(ints), torch.nan_to_num(ref))


def test_sign_and_infinity_predicates_match_torch(device):
    for dtype in (torch.float32, torch.int64):
        values = SPECIAL if dtype.is_floating_point else [3, -1, 0]
        x, ref = _pair(values, dtype, device)
        for name in ("signbit", "isposinf", "isneginf", "isreal"):
            _same(getattr(framework, name)(x), getattr(torch, name)(ref))
            _same(getattr(x, name)(), getattr(ref, name)())


def test_positive_returns_the_input_and_refuses_bool(device):
    x = framework.ones(2, device=device)
    assert framework.positive(x) is x
    with pytest.raises(TypeError, match="bool tensor is not supported"):
        framework.positive(framework.ones(2, dtype=framework.bool, device=device))


@pytest.mark.parametrize("name", ["fmax", "fmin"])
def test_fmax_fmin_match_torch_with_nan_ties_and_broadcast(device, name):
    a = np.array([[1.0, np.nan, 2.0, np.nan, 3.0], [0.5, -1.0, 2.0, 4.0, -3.0]])
    b = np.array([2.0, 1.0, np.nan, np.nan, 3.0])
    check_op(getattr(framework, name), getattr(torch, name), [a, b], device=device, dtype=F64)
    check_op(lambda x, y: getattr(x, name)(y), lambda x, y: getattr(x, name)(y),
             [arr(2, 3), arr(3)], device=device, dtype=F64)


def test_xlogy_matches_torch_with_zeros_nan_and_numbers(device):
    x = np.array([0.0, 0.0, 1.5, 2.0, 0.0])
    y = np.array([0.0, np.nan, 2.0, 0.5, 3.0])
    check_op(framework.xlogy, torch.xlogy, [x, y], device=device, dtype=F64, grad=False)
    check_op(framework.xlogy, torch.xlogy, [arr(2, 3) ** 2, RNG.uniform(0.5, 2, 3)],
             device=device, dtype=F64)
    check_op(lambda t: framework.xlogy(t, 2.0), lambda t: torch.xlogy(t, 2.0), [arr(3)],
             device=device, dtype=F64)
    check_op(lambda t: framework.xlogy(2, t), lambda t: torch.xlogy(2, t),
             [RNG.uniform(0.5, 2, 3)], device=device, dtype=F64)


def test_heaviside_and_float_power_match_torch(device):
    x, ref = _pair([-1.5, 0.0, 2.0, -0.0], torch.float32, device)
    v, vref = _pair([0.5, 0.25, 7.0, 3.0], torch.float32, device)
    _same(framework.heaviside(x, v), torch.heaviside(ref, vref))
    check_op(lambda t: framework.float_power(t, 3), lambda t: torch.float_power(t, 3), [arr(4)],
             device=device, dtype=framework.float32)
    check_op(framework.float_power, torch.float_power, [np.abs(arr(3)) + 0.5, arr(3)],
             device=device, dtype=framework.float32)
    with pytest.raises(RuntimeError, match="different dtypes"):
        framework.heaviside(x, v.to(framework.float64))


def test_rsub_matches_torch(device):
    check_op(lambda a, b: framework.rsub(a, b, alpha=2), lambda a, b: torch.rsub(a, b, alpha=2),
             [arr(2, 3), arr(3)], device=device, dtype=F64)


# -- reductions ----------------------------------------------------------------------------
@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, False), ((0, 1), True)])
def test_nansum_nanmean_match_torch(device, dim, keepdim):
    x = arr(3, 4)
    x[0, 1] = x[2, 3] = np.nan
    x[:, 2] = np.nan  # a column of NaN only: nanmean gives NaN there
    kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}
    for name in ("nansum", "nanmean"):
        check_op(lambda t: getattr(framework, name)(t, **kwargs),
                 lambda t: getattr(torch, name)(t, **kwargs), [x], device=device, dtype=F64)
    ints, ref = _pair([[1, 2], [3, 4]], torch.int64, device)
    _same(framework.nansum(ints, 0), torch.nansum(ref, 0))
    with pytest.raises(RuntimeError, match="nanmean\\(\\): expected input to have floating"):
        framework.nanmean(ints)


def test_aminmax_matches_torch(device):
    x, ref = _pair([[3.0, -1.0, 2.0], [0.5, 7.0, -4.0]], torch.float64, device)
    got, want = framework.aminmax(x), torch.aminmax(ref)
    _same(got.min, want.min)
    _same(got.max, want.max)
    got, want = x.aminmax(dim=1, keepdim=True), ref.aminmax(dim=1, keepdim=True)
    _same(got[0], want[0])
    _same(got[1], want[1])
    with pytest.raises(RuntimeError, match="cannot compute aminmax over an empty"):
        framework.aminmax(framework.ones(0, device=device))


@pytest.mark.parametrize("p", [2, 1, 0, math.inf, 3.5])
def test_dist_matches_torch(device, p):
    check_op(lambda a, b: framework.dist(a, b, p), lambda a, b: torch.dist(a, b, p),
             [arr(2, 3), arr(3)], device=device, dtype=F64, grad=p != 0)


def test_trapezoid_family_matches_torch(device):
    y, x = arr(3, 5), np.sort(arr(5))
    for name in ("trapezoid", "cumulative_trapezoid"):
        fw, th = getattr(framework, name), getattr(torch, name)
        check_op(fw, th, [y], device=device, dtype=F64)
        check_op(lambda a, b: fw(a, b), lambda a, b: th(a, b), [y, x], device=device, dtype=F64)
        check_op(lambda a: fw(a, dx=0.5, dim=0), lambda a: th(a, dx=0.5, dim=0), [y],
                 device=device, dtype=F64)
        check_op(lambda a, b: fw(a, b, dim=0), lambda a, b: th(a, b, dim=0),
                 [y, np.sort(arr(3, 5), axis=0)], device=device, dtype=F64)
        check_op(fw, th, [arr(2, 1)], device=device, dtype=F64)  # one sample: zeros
    check_op(lambda a: framework.trapz(a, dx=2.0), lambda a: torch.trapz(a, dx=2.0), [y],
             device=device, dtype=F64)
    with pytest.raises(RuntimeError, match="one `x` value for each sample point"):
        framework.trapezoid(framework.ones(3, 4, device=device), framework.ones(3, device=device))


def test_cov_and_corrcoef_match_torch(device):
    x = arr(3, 6)
    check_op(framework.cov, torch.cov, [x], device=device, dtype=F64)
    check_op(lambda t: framework.cov(t, correction=0), lambda t: torch.cov(t, correction=0),
             [x], device=device, dtype=F64)
    check_op(framework.cov, torch.cov, [arr(5)], device=device, dtype=F64)
    check_op(framework.corrcoef, torch.corrcoef, [x], device=device, dtype=F64)
    fw = framework.tensor([1, 2, 1, 3, 1, 2], device=device)
    aw = RNG.uniform(0.2, 1.0, 6)
    check_op(lambda t, a: framework.cov(t, fweights=fw, aweights=a),
             lambda t, a: torch.cov(t, fweights=torch.tensor([1, 2, 1, 3, 1, 2]), aweights=a),
             [x, aw], device=device, dtype=F64)
    with pytest.raises(ValueError, match="expected fweights to have integral dtype"):
        framework.cov(framework.ones(2, 3, device=device),
                      fweights=framework.ones(3, device=device))
    with pytest.raises(ValueError, match="two or fewer dimensions"):
        framework.cov(framework.ones(2, 2, 2, device=device))


# -- shapes --------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 2)])
def test_atleast_and_ravel_match_torch(device, shape):
    x = arr(*shape)
    for name in ("atleast_1d", "atleast_2d", "atleast_3d", "ravel"):
        check_op(getattr(framework, name), getattr(torch, name), [x], device=device, dtype=F64)
    got = framework.atleast_2d(framework.ones(2, device=device), framework.ones((), device=device))
    assert [tuple(t.shape) for t in got] == [(1, 2), (1, 1)]


def test_stacks_match_torch(device):
    for name in ("dstack", "column_stack", "row_stack"):
        check_op(lambda a, b: getattr(framework, name)([a, b]),
                 lambda a, b: getattr(torch, name)([a, b]), [arr(3), arr(3)], device=device,
                 dtype=F64)
        check_op(lambda a, b: getattr(framework, name)((a, b)),
                 lambda a, b: getattr(torch, name)((a, b)), [arr(3, 2), arr(3, 2)],
                 device=device, dtype=F64)
        with pytest.raises(TypeError, match="must be tuple of Tensors"):
            getattr(framework, name)(framework.ones(2, device=device))


@pytest.mark.parametrize("name, shape, spec", [
    ("hsplit", (4,), 2), ("hsplit", (2, 6), [1, 4]), ("vsplit", (4, 3), 2),
    ("dsplit", (2, 2, 6), 3), ("vsplit", (5, 2), [2])])
def test_splits_match_torch(device, name, shape, spec):
    check_op(lambda t: getattr(framework, name)(t, spec), lambda t: getattr(torch, name)(t, spec),
             [arr(*shape)], device=device, dtype=F64)


def test_splits_refuse_bad_input_like_torch(device):
    with pytest.raises(RuntimeError, match="not divisible by the split_size 4"):
        framework.hsplit(framework.ones(2, 6, device=device), 4)
    with pytest.raises(RuntimeError, match="requires a tensor with at least 2 dimension"):
        framework.vsplit(framework.ones(4, device=device), 2)
    with pytest.raises(RuntimeError, match="requires a tensor with at least 3 dimension"):
        framework.dsplit(framework.ones(2, 2, device=device), 2)


def test_block_diag_diagflat_kron_match_torch(device):
    check_op(lambda a, b, c: framework.block_diag(a, b, c),
             lambda a, b, c: torch.block_diag(a, b, c), [arr(2, 3), arr(), arr(2)],
             device=device, dtype=F64)
    check_op(lambda t: framework.diagflat(t, -1), lambda t: torch.diagflat(t, -1), [arr(2, 2)],
             device=device, dtype=F64)
    check_op(framework.kron, torch.kron, [arr(2, 3), arr(3, 1, 2)], device=device, dtype=F64)
    check_op(lambda a, b: a.kron(b), lambda a, b: a.kron(b), [arr(2), arr(3)], device=device,
             dtype=F64)
    ints = [framework.tensor([[1, 2]], device=device), framework.tensor([3.5], device=device)]
    _same(framework.block_diag(*ints), torch.block_diag(torch.tensor([[1, 2]]),
                                                        torch.tensor([3.5])))
    with pytest.raises(RuntimeError, match="must have 2 or fewer dimensions"):
        framework.block_diag(framework.ones(1, 1, 1, device=device))


def test_take_msort_unravel_index_match_torch(device):
    index = np.array([[0, -1], [5, 2]])
    check_op(lambda t: framework.take(t, framework.tensor(index, device=device)),
             lambda t: torch.take(t, torch.tensor(index)), [arr(2, 3)], device=device, dtype=F64)
    check_op(framework.msort, torch.msort, [arr(4, 3)], device=device, dtype=F64)
    flat, ref = _pair([0, 5, -1, 11], torch.int64, device)
    for got, want in zip(framework.unravel_index(flat, (3, 4)), torch.unravel_index(ref, (3, 4))):
        _same(got, want)
    with pytest.raises(IndexError, match="tried to access index 6 on a tensor of 6 elements"):
        framework.take(framework.ones(2, 3, device=device), framework.tensor([6], device=device))
    with pytest.raises(ValueError, match="must be in range"):
        framework.unravel_index(framework.tensor([12], device=device), (3, 4))


# -- products ------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:torch.chain_matmul is deprecated")
def test_products_match_torch(device):
    check_op(framework.vdot, torch.vdot, [arr(4), arr(4)], device=device, dtype=F64)
    check_op(lambda i, a, b: framework.addr(i, a, b, beta=0.5, alpha=2),
             lambda i, a, b: torch.addr(i, a, b, beta=0.5, alpha=2), [arr(3, 2), arr(3), arr(2)],
             device=device, dtype=F64)
    check_op(framework.ger, torch.ger, [arr(3), arr(2)], device=device, dtype=F64)
    check_op(lambda i, a, b: framework.addbmm(i, a, b, alpha=0.5),
             lambda i, a, b: torch.addbmm(i, a, b, alpha=0.5), [arr(2, 4), arr(3, 2, 5),
                                                                   arr(3, 5, 4)],
             device=device, dtype=F64)
    check_op(lambda a, b, c: framework.chain_matmul(a, b, c),
             lambda a, b, c: torch.chain_matmul(a, b, c), [arr(2, 3), arr(3, 4), arr(4, 2)],
             device=device, dtype=F64)


def test_addr_with_beta_zero_ignores_nan_input(device):
    nan = np.full((2, 2), np.nan)
    check_op(lambda i, a, b: framework.addr(i, a, b, beta=0),
             lambda i, a, b: torch.addr(i, a, b, beta=0), [nan, arr(2), arr(2)], device=device,
             dtype=F64)


@pytest.mark.parametrize("shapes, dim", [(((3,), (3,)), None), (((2, 3), (2, 3)), 1),
                                         (((3, 4), (3, 1)), 0), (((4, 3), (1, 3)), -1)])
@pytest.mark.filterwarnings("ignore:Using torch.cross without specifying the dim")
def test_cross_matches_torch(device, shapes, dim):
    kwargs = {} if dim is None else {"dim": dim}
    check_op(lambda a, b: framework.cross(a, b, **kwargs),
             lambda a, b: torch.cross(a, b, **kwargs), [arr(*s) for s in shapes], device=device,
             dtype=F64)


def test_cross_and_vdot_refuse_bad_input(device):
    with pytest.raises(RuntimeError, match="must have length 3. Got 2 and 2"):
        framework.cross(framework.ones(2, device=device), framework.ones(2, device=device), 0)
    with pytest.raises(RuntimeError):
        framework.vdot(framework.ones(2, device=device), framework.ones(3, device=device))
    with pytest.raises(RuntimeError, match="expected 2 instead"), \
            pytest.warns(UserWarning, match="chain_matmul is deprecated"):
        framework.chain_matmul(framework.ones(2, device=device))


# -- windows and constants -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["hann_window", "hamming_window", "blackman_window",
                                  "bartlett_window"])
@pytest.mark.parametrize("length", [0, 1, 2, 7])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows_match_torch(device, name, length, periodic):
    got = getattr(framework, name)(length, periodic, dtype=F64, device=device)
    want = getattr(torch, name)(length, periodic, dtype=torch.float64)
    assert got.device == framework.device(device)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), atol=1e-12)
    assert getattr(framework, name)(3).dtype is framework.float32


def test_windows_refuse_bad_input(device):
    with pytest.raises(RuntimeError, match="non-negative window length"):
        framework.hann_window(-1, device=device)
    with pytest.raises(RuntimeError, match="expects floating point dtypes"):
        framework.hamming_window(4, dtype=framework.int64, device=device)
    with pytest.raises(TypeError, match="must be int"):
        framework.blackman_window(2.5)


def test_constants_and_tensor_predicates_match_torch():
    for name in ("pi", "e", "inf", "newaxis"):
        assert getattr(framework, name) == getattr(torch, name)
    assert math.isnan(framework.nan)
    x = framework.ones(3, 1)
    assert x[:, framework.newaxis].shape == (3, 1, 1)
    assert framework.is_same_size(x, framework.zeros(3, 1))
    assert not framework.is_same_size(x, framework.zeros(1, 3))
    assert framework.is_signed(x) and not framework.is_signed(x.to(framework.uint8))
    assert framework.is_nonzero(framework.tensor([2])) and not framework.is_nonzero(
        framework.tensor(0.0))
    for bad in (framework.ones(0), framework.ones(2)):
        with pytest.raises(RuntimeError, match="ambiguous"):
            framework.is_nonzero(bad)
    y = framework.ones(2, requires_grad=True) * 2
    assert not framework.detach(y).requires_grad
    s = framework.scalar_tensor(3)
    assert s.shape == () and s.dtype is framework.float32 and s.item() == 3.0


# -- in-place forms and other names --------------------------------------------------------
def _inplace_matches(device, name, base, *args, **kwargs):
    """``base.clone().<name>_(*args)`` (on a non-leaf, so the write is recorded) against
    torch: values and the gradient that flows back through the write."""
    def run(t, *rest):
        return getattr(t * 1, name + "_")(*rest, **kwargs)

    def run_torch(t, *rest):
        return getattr(t * 1, name + "_")(*rest, **kwargs)
    check_op(run, run_torch, [base] + list(args), device=device, dtype=F64)


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "greater",
                                  "greater_equal", "less", "less_equal", "not_equal",
                                  "logical_and", "logical_or", "logical_xor"])
def test_inplace_comparisons_write_zeros_and_ones_like_torch(device, name):
    a, b = np.array([[1.0, 0.0, -2.0], [3.0, 3.0, 0.5]]), np.array([1.0, 2.0, 0.5])
    check_op(lambda x, y: getattr(x.clone(), name + "_")(y),
             lambda x, y: getattr(x.clone(), name + "_")(y), [a, b], device=device, dtype=F64,
             grad=False)


def test_inplace_scans_products_and_numeric_forms_match_torch(device):
    _inplace_matches(device, "cumsum", arr(3, 4), 1)
    _inplace_matches(device, "cumprod", arr(3, 4), 0)
    _inplace_matches(device, "addmm", arr(2, 4), arr(2, 3), arr(3, 4), alpha=0.5)
    _inplace_matches(device, "addmv", arr(2), arr(2, 3), arr(3), beta=2)
    _inplace_matches(device, "baddbmm", arr(2, 2, 4), arr(2, 2, 3), arr(2, 3, 4))
    _inplace_matches(device, "addbmm", arr(2, 4), arr(3, 2, 5), arr(3, 5, 4))
    _inplace_matches(device, "addr", arr(3, 2), arr(3), arr(2))
    for name in ("deg2rad", "rad2deg", "sinc", "fix"):
        _inplace_matches(device, name, arr(3, 4))
    _inplace_matches(device, "logit", RNG.uniform(0.1, 0.9, (3, 4)))
    _inplace_matches(device, "nan_to_num", np.array(SPECIAL), posinf=9.0)
    _inplace_matches(device, "xlogy", np.abs(arr(3, 4)), RNG.uniform(0.5, 2, 4))
    _inplace_matches(device, "arctan2", arr(3, 4), arr(4))
    _inplace_matches(device, "float_power", arr(3, 4), 2)
    x, ref = _pair([-1.0, 0.0, 2.0], torch.float64, device)
    v, vref = _pair([0.5, 0.5, 0.5], torch.float64, device)
    _same(x.clone().heaviside_(v), ref.clone().heaviside_(vref))


def test_inplace_forms_refuse_what_torch_refuses(device):
    with pytest.raises(RuntimeError, match="float_power_ has dtype Float"):
        framework.ones(2, device=device).float_power_(2)
    with pytest.raises(RuntimeError, match="can't be cast"):
        framework.ones(2, dtype=framework.int64, device=device).deg2rad_()


def test_swapaxes_in_place_and_other_names_match_torch(device):
    x = framework.ones(2, 3, device=device)
    assert x.swapaxes_(0, 1) is x and x.shape == (3, 2)
    assert x.swapdims_(1, 0).shape == (2, 3)
    check_op(framework.fix, torch.fix, [arr(3) * 3], device=device, dtype=F64)
    check_op(lambda a, b: a.arctan2(b), lambda a, b: a.arctan2(b), [arr(3), arr(3)],
             device=device, dtype=F64)
    t = framework.ones(5, 2, device=device)
    assert [p.shape[0] for p in framework.split_with_sizes(t, [2, 3])] == [2, 3]
    assert [p.shape[0] for p in t.unsafe_split(2)] == [2, 2, 1]
    assert [p.shape[0] for p in t.unsafe_chunk(2)] == [3, 2]
    assert [p.shape[1] for p in t.unsafe_split_with_sizes([1, 1], 1)] == [1, 1]
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum"):
        t.split_with_sizes([2, 2])
    assert not t.is_neg() and t.resolve_neg() is t
    assert t.is_signed() and t.is_same_size(framework.zeros(5, 2))
    assert framework.tensor([3], device=device).is_nonzero()


# -- pdist and nn.functional aliases ---------------------------------------------------------
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, math.inf, 0.0])
def test_pdist_matches_torch(device, p):
    check_op(lambda t: framework.pdist(t, p), lambda t: torch.pdist(t, p), [arr(4, 3)],
             device=device, dtype=F64, grad=p not in (0.0,))
    check_op(lambda t: F.pdist(t, p), lambda t: torch.nn.functional.pdist(t, p), [arr(1, 3)],
             device=device, dtype=F64, grad=False)
    with pytest.raises(RuntimeError, match="pdist only supports 2D tensors, got: 1D"):
        framework.pdist(framework.ones(3, device=device))


def test_functional_aliases_match_torch(device):
    x = arr(1, 2, 4, 4)
    for name in ("max_pool2d_with_indices",):
        check_op(lambda t: getattr(F, name)(t, 2), lambda t: getattr(torch.nn.functional, name)(t, 2),
                 [x], device=device, dtype=F64)
    check_op(lambda t: F.max_pool1d_with_indices(t, 2),
             lambda t: torch.nn.functional.max_pool1d_with_indices(t, 2), [arr(1, 2, 6)],
             device=device, dtype=F64)
    check_op(lambda t: F.max_pool3d_with_indices(t, 2),
             lambda t: torch.nn.functional.max_pool3d_with_indices(t, 2), [arr(1, 1, 2, 4, 4)],
             device=device, dtype=F64)
    check_op(lambda t: F.adaptive_max_pool1d_with_indices(t, 3),
             lambda t: torch.nn.functional.adaptive_max_pool1d_with_indices(t, 3),
             [arr(1, 2, 6)], device=device, dtype=F64)
    check_op(lambda t: F.adaptive_max_pool2d_with_indices(t, (2, 3)),
             lambda t: torch.nn.functional.adaptive_max_pool2d_with_indices(t, (2, 3)), [x],
             device=device, dtype=F64)
    for name, kwargs in (("upsample", {"scale_factor": 2, "mode": "bilinear"}),
                         ("upsample_nearest", {"scale_factor": 2}),
                         ("upsample_bilinear", {"size": (5, 7)})):
        with pytest.warns(UserWarning, match=f"nn.functional.{name}` is deprecated"):
            got = getattr(F, name)(framework.tensor(x, device=device), **kwargs)
        with pytest.warns(UserWarning):
            want = getattr(torch.nn.functional, name)(torch.tensor(x), **kwargs)
        np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), atol=1e-12)
    check_op(lambda t: F.threshold_(t * 1, 0.1, -2.0),
             lambda t: torch.nn.functional.threshold_(t * 1, 0.1, -2.0), [arr(3, 4)],
             device=device, dtype=F64)


# -- kaiser window, integer and float helpers, histograms, scatters, gradient -----------------
@pytest.mark.parametrize("length, periodic, beta", [(0, True, 12.0), (1, False, 12.0),
                                                    (6, True, 12.0), (7, False, 5.0)])
def test_kaiser_window_matches_torch(device, length, periodic, beta):
    got = framework.kaiser_window(length, periodic, beta, dtype=F64, device=device)
    want = torch.kaiser_window(length, periodic, beta, dtype=torch.float64)
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=1e-12, atol=1e-15)


def test_gcd_lcm_match_torch(device):
    a, ra = _pair([[-4, 0, 12, 0, 7], [9, -15, 1, 48, -21]], torch.int64, device)
    b, rb = _pair([6, 5, -18, 0, 14], torch.int64, device)
    _same(framework.gcd(a, b), torch.gcd(ra, rb))
    _same(framework.lcm(a, b), torch.lcm(ra, rb))
    _same(a.gcd(b), ra.gcd(rb))
    small, rsmall = _pair([4, 6], torch.int32, device)
    _same(framework.lcm(small, small), torch.lcm(rsmall, rsmall))
    with pytest.raises(RuntimeError, match="not implemented for 'Float'"):
        framework.gcd(framework.ones(2, device=device), framework.ones(2, device=device))


def test_ldexp_frexp_nextafter_match_torch(device):
    check_op(lambda x, e: framework.ldexp(x, e), lambda x, e: torch.ldexp(x, e),
             [arr(2, 3), np.array([1, 0, 3])], device=device, dtype=F64,
             input_dtypes=[F64, framework.int64])
    # (torch's gradient is 0 where an integer exponent is negative: it takes 2 ** e in
    # integers; this one is 2 ** e, so only the values are compared there)
    check_op(lambda x, e: framework.ldexp(x, e), lambda x, e: torch.ldexp(x, e),
             [arr(2, 3), np.array([-1, -2, 3])], device=device, dtype=F64,
             input_dtypes=[F64, framework.int64], grad=False)
    values = [0.0, -0.0, 1.0, -3.5, 0.75, 2.0 ** -1030, 1e300, np.inf, -np.inf, np.nan]
    for dtype in (torch.float64, torch.float32):
        x, ref = _pair(values[:5] + values[7:] if dtype is torch.float32 else values, dtype, device)
        got, want = framework.frexp(x), torch.frexp(ref)
        _same(got.mantissa, want.mantissa)
        _same(got.exponent, want.exponent)
    x, rx = _pair([1.0, 0.0, -1.0, 2.0, 0.0, np.nan, 5.0], torch.float32, device)
    y, ry = _pair([2.0, -1.0, -1.0, 1.0, 1.0, 1.0, 5.0], torch.float32, device)
    _same(framework.nextafter(x, y), torch.nextafter(rx, ry))
    x, rx = _pair([1.0, -2.0], torch.float64, device)
    _same(x.nextafter(framework.tensor([0.0, 0.0], dtype=F64, device=device)),
          rx.nextafter(torch.tensor([0.0, 0.0], dtype=torch.float64)))


def test_histc_and_histogram_match_torch(device):
    x, ref = _pair([1.0, 2.0, 2.0, 3.0, 3.0, 5.0, -1.0, 7.5], torch.float32, device)
    _same(framework.histc(x, bins=4), torch.histc(ref, bins=4))
    _same(x.histc(bins=3, min=0, max=4), ref.histc(bins=3, min=0, max=4))
    for kwargs in ({"bins": 3}, {"bins": 4, "range": (0.0, 6.0), "density": True}):
        got, want = framework.histogram(x, **kwargs), torch.histogram(ref, **kwargs)
        np.testing.assert_allclose(got.hist.cpu().numpy(), want.hist.numpy(), rtol=1e-6)
        np.testing.assert_allclose(got.bin_edges.cpu().numpy(), want.bin_edges.numpy(), rtol=1e-6)
    edges, redges = _pair([0.0, 2.0, 2.5, 6.0], torch.float32, device)
    w, rw = _pair([0.5] * 8, torch.float32, device)
    got, want = framework.histogram(x, edges, weight=w), torch.histogram(ref, redges, weight=rw)
    np.testing.assert_allclose(got.hist.cpu().numpy(), want.hist.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="max must be larger than min"):
        framework.histc(x, bins=2, min=3, max=1)


def test_vander_renorm_and_scatters_match_torch(device):
    # (torch.vander's own backward fails in torch 2.13 (an in-place write into a saved
    # tensor): values against it, gradients against the columns x ** p)
    check_op(lambda t: framework.vander(t, 4), lambda t: torch.vander(t, 4), [arr(3)],
             device=device, dtype=F64, grad=False)
    check_op(lambda t: framework.vander(t, increasing=True),
             lambda t: torch.stack([t ** 0, t, t ** 2], 1), [arr(3)], device=device, dtype=F64)
    check_op(lambda t: framework.renorm(t, 2, 0, 1.0), lambda t: torch.renorm(t, 2, 0, 1.0),
             [arr(3, 4)], device=device, dtype=F64)
    check_op(lambda t: t.renorm(1, 1, 0.5), lambda t: t.renorm(1, 1, 0.5), [arr(2, 3, 2)],
             device=device, dtype=F64)
    check_op(lambda a, b: framework.select_scatter(a, b, 1, 2),
             lambda a, b: torch.select_scatter(a, b, 1, 2), [arr(3, 4), arr(3)], device=device,
             dtype=F64)
    check_op(lambda a, b: framework.slice_scatter(a, b, 1, 0, 4, 2),
             lambda a, b: torch.slice_scatter(a, b, 1, 0, 4, 2), [arr(3, 4), arr(3, 2)],
             device=device, dtype=F64)
    check_op(lambda a, b: framework.diagonal_scatter(a, b, 1),
             lambda a, b: torch.diagonal_scatter(a, b, 1), [arr(3, 4), arr(3)], device=device,
             dtype=F64)
    with pytest.raises(RuntimeError, match="expected src to have a size equal to the slice"):
        framework.select_scatter(framework.ones(3, 4, device=device),
                                 framework.ones(4, device=device), 1, 0)


@pytest.mark.parametrize("kwargs", [{}, {"edge_order": 2}, {"spacing": 0.5, "dim": 1},
                                    {"spacing": [2.0, 0.5]}])
def test_gradient_matches_torch(device, kwargs):
    check_op(lambda t: framework.gradient(t, **kwargs), lambda t: torch.gradient(t, **kwargs),
             [arr(4, 5)], device=device, dtype=F64)


@pytest.mark.parametrize("edge_order", [1, 2])
def test_gradient_with_coordinates_matches_torch(device, edge_order):
    coords = np.array([0.0, 0.7, 1.5, 3.0, 3.2])
    check_op(lambda t, c: framework.gradient(t, spacing=(c,), dim=0, edge_order=edge_order),
             lambda t, c: torch.gradient(t, spacing=(c,), dim=0, edge_order=edge_order),
             [arr(5, 2), coords], device=device, dtype=F64, grad=False)


def test_asarray_shares_memory_like_torch(device):
    t = framework.ones(3, device=device)
    assert framework.asarray(t) is t
    copied = framework.asarray(t, copy=True)
    assert copied is not t and copied.device == t.device
    array = np.arange(3.0)
    shared = framework.asarray(array)
    array[0] = 7.0
    assert shared[0].item() == 7.0  # the NumPy buffer, as torch.asarray on the CPU
    assert framework.asarray([1, 2], dtype=framework.float64, device=device).dtype is F64
    with pytest.raises(ValueError, match="copy=False"):
        framework.asarray([1.0, 2.0], copy=False)


def test_range_is_inclusive_and_warns_like_torch():
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        got = framework.range(1, 2, 0.25)
    with pytest.warns(UserWarning):
        want = torch.range(1, 2, 0.25)
    _same(got, want)
    with pytest.raises(RuntimeError, match="step must be nonzero"), pytest.warns(UserWarning):
        framework.range(0, 3, 0)


# -- mode, put, nonzero_static, random fills -----------------------------------------------
def test_mode_matches_torch(device):
    x = np.array([[1.0, 3.0, 3.0, 1.0, 2.0], [5.0, 5.0, 4.0, 4.0, 0.0], [7.0, 7.0, 7.0, 1.0, 1.0]])
    check_op(lambda t: framework.mode(t, 1), lambda t: torch.mode(t, 1), [x], device=device,
             dtype=F64)
    check_op(lambda t: t.mode(0, keepdim=True), lambda t: t.mode(0, keepdim=True), [x],
             device=device, dtype=F64)
    ints, ref = _pair([2, 1, 2, 1, 3], torch.int64, device)
    got, want = framework.mode(ints), torch.mode(ref)
    _same(got.values, want.values)
    _same(got.indices, want.indices)
    with pytest.raises(IndexError, match="Expected reduction dim 1 to have non-zero size"):
        framework.mode(framework.ones(2, 0, device=device), 1)


@pytest.mark.parametrize("accumulate", [False, True])
def test_put_matches_torch(device, accumulate):
    index = np.array([[0, -1], [5, 2]])
    check_op(lambda t, s: framework.put(t, framework.tensor(index, device=device), s, accumulate),
             lambda t, s: torch.put(t, torch.tensor(index), s, accumulate),
             [arr(2, 3), arr(2, 2)], device=device, dtype=F64)
    check_op(lambda t, s: (t * 1).put_(framework.tensor(index, device=device), s, accumulate),
             lambda t, s: (t * 1).put_(torch.tensor(index), s, accumulate),
             [arr(2, 3), arr(2, 2)], device=device, dtype=F64)
    with pytest.raises(IndexError, match="tried to access index 6"):
        framework.put(framework.ones(2, 3, device=device), framework.tensor([6], device=device),
                      framework.ones(1, device=device))


def test_nonzero_static_and_hardshrink_match_torch(device):
    x, ref = _pair([[0, 3], [0, 4], [5, 0]], torch.int64, device)
    for size in (0, 2, 5):
        _same(framework.nonzero_static(x, size=size),
              torch.nonzero_static(ref, size=size, fill_value=-1))
    _same(x.nonzero_static(size=4, fill_value=9), ref.nonzero_static(size=4, fill_value=9))
    check_op(lambda t: framework.hardshrink(t, 0.3), lambda t: torch.hardshrink(t, 0.3),
             [arr(3, 4)], device=device, dtype=F64)
    check_op(lambda t: t.hardshrink(), lambda t: t.hardshrink(), [arr(3, 4)], device=device,
             dtype=F64)


def test_integer_and_float_in_place_forms_match_torch(device):
    a, ra = _pair([12, -8, 7], torch.int64, device)
    b, rb = _pair([18, 6, 0], torch.int64, device)
    _same(a.clone().gcd_(b), ra.clone().gcd_(rb))
    _same(a.clone().lcm_(b), ra.clone().lcm_(rb))
    x, rx = _pair([1.5, -2.0, 3.0], torch.float64, device)
    e, re_ = _pair([1, 2, 0], torch.int64, device)
    _same(x.clone().ldexp_(e), rx.clone().ldexp_(re_))
    _same(x.clone().nextafter_(x * 2), rx.clone().nextafter_(rx * 2))
    _inplace_matches(device, "renorm", arr(3, 4), 2, 0, 1.0)


@pytest.mark.parametrize("name, args, check", [
    ("cauchy_", (1.0, 0.5), lambda v: abs(np.median(v) - 1.0) < 0.1),
    ("geometric_", (0.25,), lambda v: v.min() >= 1 and np.all(v == np.round(v))
     and abs(v.mean() - 4.0) < 0.4),
    ("log_normal_", (0.5, 0.25), lambda v: v.min() > 0 and abs(np.log(v).mean() - 0.5) < 0.03
     and abs(np.log(v).std() - 0.25) < 0.03)])
def test_random_fills_follow_their_distributions(device, name, args, check):
    framework.manual_seed(0)
    t = framework.empty(4000, dtype=F64, device=device)
    assert getattr(t, name)(*args) is t
    assert check(t.cpu().numpy())
    framework.manual_seed(0)
    again = getattr(framework.empty(4000, dtype=F64, device=device), name)(*args)
    np.testing.assert_array_equal(again.cpu().numpy(), t.cpu().numpy())  # seeded


def test_random_fills_refuse_bad_parameters(device):
    with pytest.raises(RuntimeError, match="geometric_ expects p to be in \\(0, 1\\)"):
        framework.empty(2, device=device).geometric_(1.5)
    with pytest.raises(RuntimeError, match="log_normal_ expects std > 0.0"):
        framework.empty(2, device=device).log_normal_(0.0, -1.0)


# -- as_strided ---------------------------------------------------------------------------------
@pytest.mark.parametrize("size, stride, offset", [((3, 4), (2, 1), 1), ((2, 2), (1, 2), None),
                                                  ((4, 3), (1, 1), 0), ((2, 3), (0, 1), 2)])
def test_as_strided_views_and_gradients_match_torch(device, size, stride, offset):
    check_op(lambda t: framework.as_strided(t, size, stride, offset) * 1,
             lambda t: torch.as_strided(t, size, stride, offset) * 1, [arr(12)], device=device,
             dtype=F64)
    base = framework.arange(12.0, device=device)
    view = base.as_strided(size, stride, offset)
    base.add_(1.0)  # a view: shares the storage
    np.testing.assert_array_equal(view.cpu().numpy(),
                                  torch.arange(12.0).add_(1.0).as_strided(size, stride,
                                                                          offset).numpy())


def test_as_strided_scatter_and_in_place_match_torch(device):
    check_op(lambda a, b: framework.as_strided_scatter(a, b, (2, 2), (1, 2)),
             lambda a, b: torch.as_strided_scatter(a, b, (2, 2), (1, 2)), [arr(6), arr(2, 2)],
             device=device, dtype=F64, grad=False)

    def written(a, b):  # (torch.as_strided_scatter's own input gradient is wrong in 2.13: the
        out = a.clone()  # written positions get it; its definition, a copy into the view, is
        out.as_strided((2, 2), (1, 2)).copy_(b)  # the oracle for the gradients)
        return out
    check_op(lambda a, b: framework.as_strided_scatter(a, b, (2, 2), (1, 2)), written,
             [arr(6), arr(2, 2)], device=device, dtype=F64)
    ours, theirs = framework.arange(6.0, device=device), torch.arange(6.0)
    assert ours.as_strided_((2, 2), (1, 2)) is ours
    theirs.as_strided_((2, 2), (1, 2))
    _same(ours, theirs)
    with pytest.raises(RuntimeError, match="out of bounds for storage"):
        framework.ones(4, device=device).as_strided((3, 3), (1, 1), 2)


def test_histogramdd_matches_torch(device):
    x, ref = _pair([[0.0, 1.0], [1.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.5, 1.5]], torch.float32,
                   device)
    w, rw = _pair([1.0, 2.0, 4.0, 8.0, 0.5], torch.float32, device)
    cases = [({"bins": [3, 3]}, {"bins": [3, 3]}),
             ({"bins": [3, 3], "weight": w}, {"bins": [3, 3], "weight": rw}),
             ({"bins": 2, "range": [0.0, 1.0, 0.0, 1.0], "density": True},
              {"bins": 2, "range": [0.0, 1.0, 0.0, 1.0], "density": True}),
             ({"bins": [framework.tensor([0.0, 1.0, 2.0], device=device),
                        framework.tensor([0.0, 3.0], device=device)]},
              {"bins": [torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0.0, 3.0])]})]
    for ours_kwargs, torch_kwargs in cases:
        got, want = framework.histogramdd(x, **ours_kwargs), torch.histogramdd(ref, **torch_kwargs)
        np.testing.assert_allclose(got.hist.cpu().numpy(), want.hist.numpy(), rtol=1e-6)
        for g, e in zip(got.bin_edges, want.bin_edges):
            np.testing.assert_allclose(g.cpu().numpy(), e.numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError, match="expected 2 sequences of bin edges"):
        framework.histogramdd(x, bins=[2, 2, 2])
