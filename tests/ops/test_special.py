"""Special functions (framework/ops/special.py, ``framework.special``) against PyTorch: values
over their domains (poles, signed zeros, infinities, NaN, large and negative arguments),
first and second gradients, and errors, on cpu and cuda."""
import numpy as np
import pytest
import torch

import framework
import framework.special as fs
from framework.testing import gradgradcheck
from helpers import check_op

RNG = np.random.default_rng(0)
F64 = framework.float64

# arguments over the whole real line: poles, signed zeros, both recurrence/reflection sides
EDGES = np.array([0.0, -0.0, -1.0, -2.5, -np.inf, np.inf, np.nan, 1.0, 2.0, 0.5, 1e-8, 3.7,
                  30.0, 31.0, 1e5, -10.3, -100.7])


def _values_match(fw_fn, torch_fn, x, device, dtype=F64):
    """Values only (special values included: equal NaN positions and infinities)."""
    check_op(fw_fn, torch_fn, [x], device=device, dtype=dtype, grad=False)


@pytest.mark.parametrize("name", ["lgamma", "digamma"])
def test_lgamma_digamma_match_torch_over_the_real_line(device, name):
    _values_match(getattr(framework, name), getattr(torch, name), EDGES, device)
    _values_match(getattr(framework, name), getattr(torch, name), EDGES[np.isfinite(EDGES)],
                  device, framework.float32)


@pytest.mark.parametrize("name", ["lgamma", "digamma"])
def test_lgamma_digamma_gradients_match_torch(device, name):
    x = np.array([0.3, 1.7, 4.2, 12.5, 40.0, -0.4, -3.6])
    check_op(getattr(framework, name), getattr(torch, name), [x], device=device, dtype=F64)
    check_op(lambda t: getattr(t, name)(), lambda t: getattr(t, name)(), [x.reshape(7, 1)],
             device=device, dtype=F64, contiguous=False)


def test_lgamma_has_a_second_derivative():
    x = framework.tensor([0.7, 2.5, -1.5], dtype=F64, requires_grad=True)
    assert gradgradcheck(framework.lgamma, (x,))


@pytest.mark.parametrize("n", [0, 1, 2, 4])
def test_polygamma_matches_torch(device, n):
    x = np.array([0.1, 0.5, 1.0, 2.0, 3.7, 10.0, 100.0, -0.5, -2.3])
    check_op(lambda t: framework.polygamma(n, t), lambda t: torch.polygamma(n, t), [x],
             device=device, dtype=F64)
    check_op(lambda t: t.polygamma(n), lambda t: t.polygamma(n), [x[:4]], device=device,
             dtype=F64)


def test_zeta_matches_torch_with_its_domain():
    s = np.array([2.0, 1.0, 0.5, 3.0, 4.5, 1.5, 2.5, 2.0])
    q = np.array([1.0, 1.0, 1.0, -1.5, 0.3, 2.0, -2.0, 7.0])
    for device in ("cpu", "cuda"):
        check_op(fs.zeta, torch.special.zeta, [s, q], device=device, dtype=F64, grad=False)
        # (torch differentiates zeta in q only)
        check_op(lambda t: fs.zeta(3.0, t), lambda t: torch.special.zeta(3.0, t),
                 [np.array([0.5, 2.0, 7.5])], device=device, dtype=F64)


@pytest.mark.parametrize("name", ["i0", "i0e", "i1", "i1e"])
def test_modified_bessel_functions_match_torch(device, name):
    x = np.array([0.0, 1e-5, 0.3, -1.0, 5.0, 14.9, 15.0, 15.1, -20.0, 40.0, 100.0, 700.0,
                  np.nan])
    fw, th = getattr(fs, name), getattr(torch.special, name)
    _values_match(fw, th, x, device)
    check_op(fw, th, [np.array([0.2, -1.5, 7.0, 16.0, -30.0])], device=device, dtype=F64)


def test_normal_cdf_family_matches_torch(device):
    x = np.array([-40.0, -20.5, -19.5, -10.0, -1.0, 0.0, 0.5, 3.0, 10.0, 40.0])
    for name in ("ndtr", "log_ndtr"):
        _values_match(getattr(fs, name), getattr(torch.special, name), x, device)
        check_op(getattr(fs, name), getattr(torch.special, name), [x[[1, 3, 4, 6, 7]]],
                 device=device, dtype=F64)
    check_op(fs.log_ndtr, torch.special.log_ndtr, [np.array([-12.0, -3.0, 0.0, 2.0])],
             device=device, dtype=framework.float32)
    p = np.array([0.0, 1e-6, 0.01, 0.3, 0.5, 0.9, 1.0 - 1e-6, 1.0, 1.2, -0.1])
    _values_match(fs.ndtri, torch.special.ndtri, p, device)
    check_op(fs.ndtri, torch.special.ndtri, [np.array([0.05, 0.5, 0.8])], device=device,
             dtype=F64)


def test_entropy_and_xlog1py_match_torch(device):
    _values_match(fs.entr, torch.special.entr, np.array([0.0, -1.0, 2.0, np.nan, 1e-300, np.inf]),
                  device)
    check_op(fs.entr, torch.special.entr, [np.array([0.2, 1.5, 3.0])], device=device, dtype=F64)
    check_op(fs.xlog1py, torch.special.xlog1py,
             [np.array([0.0, 0.0, 1.5, 2.0]), np.array([-1.0, np.nan, 2.0, 0.5])],
             device=device, dtype=F64, grad=False)
    check_op(fs.xlog1py, torch.special.xlog1py, [RNG.standard_normal(3), RNG.uniform(0, 2, 3)],
             device=device, dtype=F64)


def test_multigammaln_matches_torch_and_checks_its_domain(device):
    x = np.array([1.5, 2.5, 10.0])
    check_op(lambda t: framework.mvlgamma(t, 3), lambda t: torch.mvlgamma(t, 3), [x],
             device=device, dtype=F64)
    check_op(lambda t: fs.multigammaln(t, 1), lambda t: torch.special.multigammaln(t, 1), [x],
             device=device, dtype=F64)
    with pytest.raises(RuntimeError, match="All elements must be greater than \\(p-1\\)/2"):
        framework.mvlgamma(framework.tensor([0.9], device=device), 3)
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        framework.mvlgamma(framework.tensor([2.0], device=device), 0)


def test_special_namespace_aliases_match_torch(device):
    x = RNG.uniform(0.1, 0.9, (2, 3))
    for name in ("gammaln", "psi", "logit", "sinc", "expit", "round", "exp2", "erfinv"):
        check_op(getattr(fs, name), getattr(torch.special, name), [x], device=device, dtype=F64)
    check_op(lambda t: fs.softmax(t, 1), lambda t: torch.special.softmax(t, 1), [x],
             device=device, dtype=F64)
    check_op(lambda t: fs.log_softmax(t, 0), lambda t: torch.special.log_softmax(t, 0), [x],
             device=device, dtype=F64)
    check_op(lambda t: fs.logsumexp(t, 1), lambda t: torch.special.logsumexp(t, 1), [x],
             device=device, dtype=F64)
    check_op(fs.xlogy, torch.special.xlogy, [x, x[::-1].copy()], device=device, dtype=F64)


def test_in_place_forms_and_integer_inputs_match_torch(device):
    x = np.array([0.7, 2.5, 4.0])
    for name in ("lgamma", "digamma", "i0"):
        check_op(lambda t: getattr(t * 1, name + "_")(), lambda t: getattr(t * 1, name + "_")(),
                 [x], device=device, dtype=F64)
    check_op(lambda t: (t * 1).mvlgamma_(2), lambda t: (t * 1).mvlgamma_(2), [x + 1],
             device=device, dtype=F64)
    check_op(lambda t: (t * 1).polygamma_(1), lambda t: (t * 1).polygamma_(1), [x],
             device=device, dtype=F64)
    ints = framework.tensor([1, 2, 5], device=device)
    got = framework.lgamma(ints)
    assert got.dtype is framework.float32
    np.testing.assert_allclose(got.cpu().numpy(), torch.lgamma(torch.tensor([1, 2, 5])).numpy(),
                               atol=1e-6)


def test_polygamma_refuses_bad_orders(device):
    x = framework.ones(2, device=device)
    with pytest.raises(RuntimeError, match="does not support negative n"):
        framework.polygamma(-1, x)
    with pytest.raises(TypeError, match="must be int"):
        framework.polygamma(1.5, x)
    with pytest.raises(TypeError):
        framework.lgamma([1.0, 2.0])


# -- regularized incomplete gamma -----------------------------------------------------------------
A_VALUES = np.array([0.5, 1.0, 2.0, 5.0, 50.0, 0.0, -1.0, 3.0, 2.0, 300.0, 300.0, 0.01, np.nan])
X_VALUES = np.array([0.3, 1.0, 5.0, 2.0, 45.0, 1.0, 1.0, 0.0, np.inf, 290.0, 320.0, 30.0, 1.0])


@pytest.mark.parametrize("name, ours", [("igamma", framework.igamma),
                                        ("igammac", framework.igammac)])
def test_incomplete_gamma_matches_torch(device, name, ours):
    theirs = getattr(torch, name)
    # (each term is a few kernel launches: on the interpreter, one of each case only)
    keep = slice(None) if device == "cpu" else [0, 2, 5, 6, 7]
    check_op(ours, theirs, [A_VALUES[keep], X_VALUES[keep]], device=device, dtype=F64,
             grad=False)
    a_values = [0.7, 2.0, 6.5] if device == "cpu" else [2.0]
    x_values = [0.4, 3.5, 6.0] if device == "cpu" else [3.5]
    a = framework.tensor(a_values, dtype=F64, device=device)  # (torch: x-gradient only)
    check_op(lambda x: ours(a, x), lambda x: theirs(torch.tensor(a_values, dtype=torch.float64),
                                                    x),
             [np.array(x_values)], device=device, dtype=F64)


def test_incomplete_gamma_methods_and_in_place(device):
    a, x = framework.tensor([1.5, 4.0], device=device), framework.tensor([2.0, 1.0], device=device)
    ta, tx = torch.tensor([1.5, 4.0]), torch.tensor([2.0, 1.0])
    np.testing.assert_allclose(a.igamma(x).cpu().numpy(), ta.igamma(tx).numpy(), rtol=1e-5)
    np.testing.assert_allclose(a.clone().igammac_(x).cpu().numpy(), ta.clone().igammac_(tx).numpy(),
                               rtol=1e-5)


def test_special_gammainc_names_are_igamma_and_igammac():
    for ours, theirs in ((fs.gammainc, torch.special.gammainc),
                         (fs.gammaincc, torch.special.gammaincc)):
        check_op(ours, theirs, [A_VALUES, X_VALUES], dtype=F64, grad=False)
