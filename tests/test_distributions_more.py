"""framework.distributions' MultivariateNormal, Gamma, Beta, Dirichlet, Laplace and LogNormal
against torch.distributions (float64 oracle): log_prob, entropy, moments, KL, gradients,
shapes, sampling moments and parameter validation."""
import numpy as np
import pytest
import torch
import torch.distributions as TD
from distribution_oracle import close as _close, pair as _pair

import framework
import framework.distributions as D

RNG = np.random.default_rng(7)


@pytest.fixture(autouse=True)
def _fresh_rng():
    """Each test draws its parameters from the same stream, whichever tests ran before it
    in this process (pytest-xdist deals them out differently from run to run)."""
    global RNG
    RNG = np.random.default_rng(7)


def _spd(batch, n):
    a = RNG.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + np.eye(n)


# ----------------------------------------------------------------------------- MultivariateNormal

@pytest.mark.parametrize("key", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_mvn_log_prob_entropy_moments_and_gradients_match_torch(key):
    cov = _spd((2,), 3)
    matrix = np.linalg.cholesky(cov) if key == "scale_tril" else cov
    loc, tloc = _pair(RNG.standard_normal((2, 3)))
    mat, tmat = _pair(matrix)
    ours = D.MultivariateNormal(loc, **{key: mat})
    theirs = TD.MultivariateNormal(tloc, **{key: tmat})
    value = RNG.standard_normal((4, 2, 3))
    lp = ours.log_prob(framework.tensor(value, dtype=framework.float64))
    tlp = theirs.log_prob(torch.tensor(value))
    _close(lp, tlp)
    _close(ours.entropy(), theirs.entropy())
    for name in ("mean", "variance", "covariance_matrix", "precision_matrix", "scale_tril"):
        _close(getattr(ours, name), getattr(theirs, name))
    (lp.sum() + ours.entropy().sum()).backward()
    (tlp.sum() + theirs.entropy().sum()).backward()
    _close(loc.grad, tloc.grad)
    _close(mat.grad, tmat.grad, atol=1e-8)
    assert ours.batch_shape == (2,) and ours.event_shape == (3,)


def test_mvn_batch_broadcast_expand_and_kl():
    loc = framework.tensor(RNG.standard_normal(3), dtype=framework.float64)
    cov = framework.tensor(_spd((4,), 3), dtype=framework.float64)
    ours = D.MultivariateNormal(loc, covariance_matrix=cov)
    assert ours.batch_shape == (4,) and ours.loc.shape == (4, 3)
    assert ours.sample((5,)).shape == (5, 4, 3)
    wide = ours.expand((2, 4))
    assert wide.batch_shape == (2, 4) and wide.sample().shape == (2, 4, 3)
    q_cov = _spd((), 3)
    q_loc = RNG.standard_normal(3)
    q = D.MultivariateNormal(framework.tensor(q_loc, dtype=framework.float64),
                             framework.tensor(q_cov, dtype=framework.float64))
    theirs = TD.MultivariateNormal(torch.tensor(loc.numpy()), torch.tensor(cov.numpy()))
    tq = TD.MultivariateNormal(torch.tensor(q_loc), torch.tensor(q_cov))
    _close(D.kl_divergence(ours, q), TD.kl_divergence(theirs, tq))


def test_mvn_rsample_gradients_match_torch():
    loc, tloc = _pair(RNG.standard_normal(2))
    tril, ttril = _pair(np.linalg.cholesky(_spd((), 2)))
    ours = D.MultivariateNormal(loc, scale_tril=tril)
    sample = ours.rsample((6,))
    eps = torch.linalg.solve_triangular(ttril.detach(), (torch.tensor(sample.detach().numpy())
                                        - tloc.detach()).unsqueeze(-1), upper=False).squeeze(-1)
    theirs = tloc + (ttril @ eps.unsqueeze(-1)).squeeze(-1)
    _close(sample, theirs)
    (sample ** 2).sum().backward()
    (theirs ** 2).sum().backward()
    _close(loc.grad, tloc.grad)
    _close(tril.grad, ttril.grad)


def test_mvn_sample_moments():
    cov = np.array([[2.0, 0.6], [0.6, 0.5]])
    dist = D.MultivariateNormal(framework.tensor([1.0, -2.0], dtype=framework.float64),
                                framework.tensor(cov, dtype=framework.float64))
    draws = dist.sample((20000,)).numpy()
    np.testing.assert_allclose(draws.mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.06)


def test_mvn_invalid_arguments_raise_like_torch():
    loc = framework.zeros(2)
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix"):
        D.MultivariateNormal(loc)
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix"):
        D.MultivariateNormal(loc, framework.eye(2), scale_tril=framework.eye(2))
    with pytest.raises(ValueError, match="loc must be at least one-dimensional"):
        D.MultivariateNormal(framework.tensor(0.0), framework.eye(1))
    with pytest.raises(ValueError, match="covariance_matrix must be at least two-dimensional"):
        D.MultivariateNormal(loc, framework.ones(2))
    with pytest.raises(ValueError, match="scale_tril matrix must be at least two-dimensional"):
        D.MultivariateNormal(loc, scale_tril=framework.ones(2))
    with pytest.raises(ValueError, match="Expected parameter covariance_matrix"):
        D.MultivariateNormal(loc, framework.tensor([[1.0, 0.0], [0.0, -1.0]]))
    with pytest.raises(ValueError, match="Expected parameter scale_tril"):
        D.MultivariateNormal(loc, scale_tril=framework.tensor([[1.0, 1.0], [0.0, 1.0]]))
    D.MultivariateNormal(loc, framework.tensor([[1.0, 0.0], [0.0, -1.0]]), validate_args=False)


def test_mvn_and_beta_on_device(device):
    cov = _spd((), 2)
    ours = D.MultivariateNormal(framework.tensor([0.5, -1.0], dtype=framework.float64,
                                                 device=device),
                                framework.tensor(cov, dtype=framework.float64, device=device))
    theirs = TD.MultivariateNormal(torch.tensor([0.5, -1.0]).double(), torch.tensor(cov))
    value = RNG.standard_normal((3, 2))
    _close(ours.log_prob(framework.tensor(value, dtype=framework.float64, device=device)),
           theirs.log_prob(torch.tensor(value)))
    _close(ours.entropy(), theirs.entropy())
    assert ours.sample((4,)).shape == (4, 2)
    a, ta = _pair([0.7, 2.5], device)
    beta, tbeta = D.Beta(a, 1.5), TD.Beta(ta, torch.tensor(1.5).double())
    x = np.array([0.2, 0.9])
    lp = beta.log_prob(framework.tensor(x, dtype=framework.float64, device=device))
    tlp = tbeta.log_prob(torch.tensor(x))
    _close(lp, tlp)
    _close(beta.entropy(), tbeta.entropy())
    lp.sum().backward()
    tlp.sum().backward()
    _close(a.grad, ta.grad)
    draws = beta.sample((8,))
    assert draws.shape == (8, 2) and bool(((draws > 0) & (draws < 1)).all())


# ----------------------------------------------------------------------------- elementwise families

def _families():
    pos = lambda *s: RNG.uniform(0.3, 3.0, s)  # noqa: E731
    return {
        "Gamma": (lambda a, b: D.Gamma(a, b), lambda a, b: TD.Gamma(a, b),
                  (pos(3), pos(3)), RNG.uniform(0.1, 4.0, (2, 3))),
        "Beta": (lambda a, b: D.Beta(a, b), lambda a, b: TD.Beta(a, b),
                 (pos(3), pos(3)), RNG.uniform(0.05, 0.95, (2, 3))),
        "Laplace": (lambda a, b: D.Laplace(a, b), lambda a, b: TD.Laplace(a, b),
                    (RNG.standard_normal(3), pos(3)), RNG.standard_normal((2, 3))),
        "LogNormal": (lambda a, b: D.LogNormal(a, b), lambda a, b: TD.LogNormal(a, b),
                      (RNG.standard_normal(3), pos(3)), RNG.uniform(0.1, 4.0, (2, 3))),
    }


FAMILIES = _families()


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_log_prob_entropy_moments_kl_and_gradients_match_torch(name):
    ours_ctor, theirs_ctor, params, value = FAMILIES[name]
    pairs = [_pair(p) for p in params]
    ours = ours_ctor(*(p for p, _ in pairs))
    theirs = theirs_ctor(*(t for _, t in pairs))
    lp = ours.log_prob(framework.tensor(value, dtype=framework.float64))
    tlp = theirs.log_prob(torch.tensor(value))
    _close(lp, tlp)
    _close(ours.entropy(), theirs.entropy())
    _close(ours.mean, theirs.mean)
    _close(ours.variance, theirs.variance)
    _close(ours.stddev, theirs.stddev)
    other = [RNG.uniform(0.5, 2.0, 3) for _ in params]
    kl = D.kl_divergence(ours, ours_ctor(*(framework.tensor(o, dtype=framework.float64)
                                           for o in other)))
    tkl = TD.kl_divergence(theirs, theirs_ctor(*(torch.tensor(o) for o in other)))
    _close(kl, tkl)
    (lp.sum() + ours.entropy().sum() + kl.sum()).backward()
    (tlp.sum() + theirs.entropy().sum() + tkl.sum()).backward()
    for (p, t) in pairs:
        _close(p.grad, t.grad, atol=1e-8)
    assert ours.has_rsample
    assert ours.sample((5, 2)).shape == (5, 2, 3)
    wide = ours.expand((4, 3))
    assert wide.batch_shape == (4, 3) and wide.sample().shape == (4, 3)


@pytest.mark.parametrize("name", ["Laplace", "LogNormal"])
def test_rsample_gradients_match_torch_reparameterization(name):
    loc, tloc = _pair(RNG.standard_normal(3))
    scale, tscale = _pair(RNG.uniform(0.5, 1.5, 3))
    ours = getattr(D, name)(loc, scale)
    sample = ours.rsample((7,))
    base = sample.log() if name == "LogNormal" else sample
    noise = (torch.tensor(base.detach().numpy()) - tloc.detach()) / tscale.detach()
    theirs = tloc + tscale * noise
    if name == "LogNormal":
        theirs = theirs.exp()
    _close(sample, theirs)
    sample.sum().backward()
    theirs.sum().backward()
    _close(loc.grad, tloc.grad)
    _close(scale.grad, tscale.grad)


@pytest.mark.parametrize("name,args", [("Gamma", (0.4, 2.0)), ("Gamma", (3.0, 0.5)),
                                       ("Beta", (0.5, 2.0)), ("Beta", (4.0, 3.0)),
                                       ("Laplace", (1.0, 0.7)), ("LogNormal", (0.2, 0.4))])
def test_sample_moments(name, args):
    dist = getattr(D, name)(*(framework.tensor(a, dtype=framework.float64) for a in args))
    draws = dist.sample((20000,)).numpy()
    mean, var = float(dist.mean.numpy()), float(dist.variance.numpy())
    assert abs(draws.mean() - mean) < 4 * np.sqrt(var / 20000)
    assert abs(draws.var() / var - 1) < 0.08


def test_dirichlet_matches_torch_and_samples_on_the_simplex():
    conc, tconc = _pair(RNG.uniform(0.5, 3.0, (2, 4)))
    ours, theirs = D.Dirichlet(conc), TD.Dirichlet(tconc)
    assert ours.batch_shape == (2,) and ours.event_shape == (4,)
    value = RNG.dirichlet(np.ones(4), 2)
    lp = ours.log_prob(framework.tensor(value, dtype=framework.float64))
    tlp = theirs.log_prob(torch.tensor(value))
    _close(lp, tlp)
    _close(ours.entropy(), theirs.entropy())
    _close(ours.mean, theirs.mean)
    _close(ours.variance, theirs.variance)
    other = RNG.uniform(0.5, 2.0, 4)
    kl = D.kl_divergence(ours, D.Dirichlet(framework.tensor(other, dtype=framework.float64)))
    tkl = TD.kl_divergence(theirs, TD.Dirichlet(torch.tensor(other)))
    _close(kl, tkl)
    (lp.sum() + kl.sum()).backward()
    (tlp.sum() + tkl.sum()).backward()
    _close(conc.grad, tconc.grad, atol=1e-8)
    draws = ours.sample((20000,)).numpy()
    assert draws.shape == (20000, 2, 4)
    np.testing.assert_allclose(draws.sum(-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(draws.mean(0), theirs.mean.detach().numpy(), atol=0.01)
    assert ours.expand((3, 2)).batch_shape == (3, 2)


def test_invalid_parameters_and_values_raise_like_torch():
    with pytest.raises(ValueError, match="Expected parameter concentration"):
        D.Gamma(framework.tensor([-1.0]), 1.0)
    with pytest.raises(ValueError, match="Expected parameter rate"):
        D.Gamma(1.0, framework.tensor([0.0]))
    with pytest.raises(ValueError, match="Expected parameter concentration0"):
        D.Beta(1.0, framework.tensor([-2.0]))
    with pytest.raises(ValueError, match="Expected parameter scale"):
        D.Laplace(0.0, framework.tensor([-2.0]))
    with pytest.raises(ValueError, match="Expected parameter scale"):
        D.LogNormal(0.0, framework.tensor([0.0]))
    with pytest.raises(ValueError, match="Expected parameter concentration"):
        D.Dirichlet(framework.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="at least one-dimensional"):
        D.Dirichlet(framework.tensor(1.0))
    with pytest.raises(ValueError, match="Expected value argument"):
        D.Beta(framework.tensor(2.0), framework.tensor(2.0)).log_prob(framework.tensor(1.5))
    with pytest.raises(ValueError, match="Expected value argument"):
        D.Gamma(framework.tensor(2.0), framework.tensor(2.0)).log_prob(framework.tensor(-1.0))
    D.Gamma(framework.tensor([-1.0]), 1.0, validate_args=False)


def test_lgamma_digamma_composites_match_torch():
    from framework._distributions_more import digamma, lgamma
    x = np.array([1e-3, 0.1, 0.5, 1.0, 2.5, 7.0, 30.0, 1e3, 1e5])
    ours = framework.tensor(x, dtype=framework.float64)
    np.testing.assert_allclose(lgamma(ours).numpy(), torch.tensor(x).lgamma().numpy(),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(digamma(ours).numpy(), torch.tensor(x).digamma().numpy(),
                               rtol=1e-12, atol=1e-10)
    single = lgamma(framework.tensor(x, dtype=framework.float32)).numpy()
    np.testing.assert_allclose(single, torch.tensor(x).lgamma().numpy(), rtol=2e-6, atol=2e-6)


# ----------------------------------------------------------------------------- discrete families

@pytest.mark.parametrize("use_logits", [False, True])
def test_one_hot_categorical_matches_torch(use_logits):
    raw = RNG.standard_normal((2, 4)) if use_logits else RNG.uniform(0.1, 1.0, (2, 4))
    ours_p, theirs_p = _pair(raw)
    key = "logits" if use_logits else "probs"
    ours, theirs = D.OneHotCategorical(**{key: ours_p}), TD.OneHotCategorical(**{key: theirs_p})
    value = np.eye(4)[[1, 3]]
    lp = ours.log_prob(framework.tensor(value, dtype=framework.float64))
    tlp = theirs.log_prob(torch.tensor(value))
    _close(lp, tlp)
    _close(ours.entropy(), theirs.entropy())
    for name in ("mean", "variance", "mode"):
        _close(getattr(ours, name), getattr(theirs, name))
    other = RNG.uniform(0.1, 1.0, 4)
    q = D.OneHotCategorical(framework.tensor(other, dtype=framework.float64))
    kl = D.kl_divergence(ours, q)
    tkl = TD.kl_divergence(theirs, TD.OneHotCategorical(torch.tensor(other)))
    _close(kl, tkl)
    (lp.sum() + kl.sum()).backward()
    (tlp.sum() + tkl.sum()).backward()
    _close(ours_p.grad, theirs_p.grad)
    assert ours.batch_shape == (2,) and ours.event_shape == (4,)
    draws = ours.sample((20000,))
    assert draws.shape == (20000, 2, 4) and draws.dtype is framework.float64
    np.testing.assert_allclose(draws.numpy().mean(0), theirs.probs.detach().numpy(), atol=0.015)
    assert ours.expand((3, 2)).sample().shape == (3, 2, 4)
    with pytest.raises(ValueError, match="Expected value argument"):
        ours.log_prob(framework.tensor([[1.0, 1.0, 0.0, 0.0]] * 2))
    with pytest.raises(ValueError, match="Expected parameter probs"):
        D.OneHotCategorical(framework.tensor([0.5, -0.1]))


def test_poisson_matches_torch_and_sample_moments():
    rate, trate = _pair(RNG.uniform(0.5, 20.0, 4))
    ours, theirs = D.Poisson(rate), TD.Poisson(trate)
    value = np.array([[0.0, 1.0, 3.0, 25.0], [2.0, 0.0, 9.0, 4.0]])
    lp = ours.log_prob(framework.tensor(value, dtype=framework.float64))
    tlp = theirs.log_prob(torch.tensor(value))
    _close(lp, tlp)
    _close(ours.mean, theirs.mean)
    _close(ours.variance, theirs.variance)
    _close(ours.mode, theirs.mode)
    other = RNG.uniform(0.5, 5.0, 4)
    kl = D.kl_divergence(ours, D.Poisson(framework.tensor(other, dtype=framework.float64)))
    tkl = TD.kl_divergence(theirs, TD.Poisson(torch.tensor(other)))
    _close(kl, tkl)
    (lp.sum() + kl.sum()).backward()
    (tlp.sum() + tkl.sum()).backward()
    _close(rate.grad, trate.grad)
    assert ours.expand((3, 4)).batch_shape == (3, 4)
    for lam in (0.3, 4.0, 15.0, 300.0):  # Knuth below 10, PTRS above
        draws = D.Poisson(framework.tensor(lam)).sample((20000,)).numpy()
        assert np.all(draws == np.round(draws)) and draws.min() >= 0
        assert abs(draws.mean() - lam) < 4 * np.sqrt(lam / 20000)
        assert abs(draws.var() / lam - 1) < 0.08
    mixed = D.Poisson(framework.tensor([2.0, 40.0, 0.0])).sample((20000,)).numpy()
    np.testing.assert_allclose(mixed.mean(0), [2.0, 40.0, 0.0], atol=0.2)
    assert not ours.has_rsample
    with pytest.raises(NotImplementedError, match="rsample is not implemented"):
        ours.rsample()
    with pytest.raises(ValueError, match="Expected parameter rate"):
        D.Poisson(framework.tensor([-1.0]))
    with pytest.raises(ValueError, match="Expected value argument"):
        ours.log_prob(framework.tensor([0.5, 1.0, 1.0, 1.0]))


@pytest.mark.parametrize("use_logits", [False, True])
def test_binomial_matches_torch_and_sample_moments(use_logits):
    raw = RNG.standard_normal(3) if use_logits else RNG.uniform(0.1, 0.9, 3)
    ours_p, theirs_p = _pair(raw)
    key = "logits" if use_logits else "probs"
    count = np.array([6.0, 6.0, 6.0])
    ours = D.Binomial(framework.tensor(count, dtype=framework.float64), **{key: ours_p})
    theirs = TD.Binomial(torch.tensor(count), **{key: theirs_p})
    value = np.array([[0.0, 3.0, 6.0], [2.0, 1.0, 5.0]])
    lp = ours.log_prob(framework.tensor(value, dtype=framework.float64))
    tlp = theirs.log_prob(torch.tensor(value))
    _close(lp, tlp)
    _close(ours.entropy(), theirs.entropy())
    for name in ("mean", "variance", "mode"):
        _close(getattr(ours, name), getattr(theirs, name))
    other = RNG.uniform(0.1, 0.9, 3)
    kl = D.kl_divergence(ours, D.Binomial(6, framework.tensor(other, dtype=framework.float64)))
    tkl = TD.kl_divergence(theirs, TD.Binomial(6, torch.tensor(other)))
    _close(kl, tkl)
    (lp.sum() + ours.entropy().sum() + kl.sum()).backward()
    (tlp.sum() + theirs.entropy().sum() + tkl.sum()).backward()
    _close(ours_p.grad, theirs_p.grad)
    _close(ours.enumerate_support(), theirs.enumerate_support())
    draws = ours.sample((20000,)).numpy()
    assert draws.shape == (20000, 3)
    np.testing.assert_allclose(draws.mean(0), theirs.mean.detach().numpy(), atol=0.06)
    np.testing.assert_allclose(draws.var(0), theirs.variance.detach().numpy(), rtol=0.08)
    assert ours.expand((2, 3)).sample((4,)).shape == (4, 2, 3)


def test_binomial_invalid_arguments_raise_like_torch():
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        D.Binomial(3)
    with pytest.raises(ValueError, match="Expected parameter probs"):
        D.Binomial(3, framework.tensor([1.5]))
    with pytest.raises(ValueError, match="Expected parameter total_count"):
        D.Binomial(framework.tensor([2.5]), framework.tensor([0.5]))
    with pytest.raises(ValueError, match="Expected value argument"):
        D.Binomial(3, framework.tensor([0.5])).log_prob(framework.tensor([4.0]))
    with pytest.raises(NotImplementedError, match="Inhomogeneous total count"):
        D.Binomial(framework.tensor([2.0, 3.0]), framework.tensor([0.5, 0.5])).entropy()


def test_gamma_rsample_gradient_is_the_implicit_reparameterization():
    from framework._distributions_more import _standard_gamma_grad
    alphas = np.array([0.05, 0.3, 1.0, 3.0, 10.0, 50.0, 200.0])
    x = TD.Gamma(torch.tensor(alphas), torch.tensor(1.0).double()).sample((3,))
    ours = _standard_gamma_grad(framework.tensor(np.broadcast_to(alphas, x.shape).copy()),
                                framework.tensor(x.numpy())).numpy()
    # exact: -dP/dα / p(x), dP/dα by central differences of the regularized gamma function
    h = torch.tensor(1e-6 * np.maximum(alphas, 1.0))
    a = torch.tensor(alphas)
    d_cdf = (torch.special.gammainc(a + h, x) - torch.special.gammainc(a - h, x)) / (2 * h)
    density = TD.Gamma(a, torch.tensor(1.0).double()).log_prob(x).exp()
    np.testing.assert_allclose(ours, (-d_cdf / density).numpy(), rtol=1e-5)
    # torch's own approximation of the same quantity
    theirs = torch._standard_gamma_grad(a.expand(x.shape), x).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-3)


def test_gamma_rsample_gradients_match_torch():
    conc, tconc = _pair([0.7, 2.0, 8.0])
    rate, trate = _pair([1.5, 0.5, 2.0])
    sample = D.Gamma(conc, rate).rsample((5,))
    assert sample.shape == (5, 3) and sample.requires_grad
    (sample * framework.tensor([1.0, -2.0, 3.0], dtype=framework.float64)).sum().backward()
    x = torch.tensor(sample.detach().numpy())
    standard = x * trate.detach()
    weights = torch.tensor([1.0, -2.0, 3.0]).double()
    d_conc = torch._standard_gamma_grad(tconc.detach().expand(x.shape), standard) / trate.detach()
    np.testing.assert_allclose(conc.grad.numpy(), (weights * d_conc).sum(0).numpy(), rtol=1e-3)
    np.testing.assert_allclose(rate.grad.numpy(), (weights * -x / trate.detach()).sum(0).numpy(),
                               rtol=1e-10)


def test_dirichlet_grad_matches_torch():
    from framework._distributions_more import _dirichlet_grad
    rng = np.random.default_rng(0)
    for a, b in [(0.3, 0.5), (1.0, 1.0), (2.0, 5.0), (0.1, 3.0), (20.0, 20.0), (5.0, 0.2),
                 (50.0, 3.0)]:
        x = np.clip(rng.beta(a, b, 6), 1e-6, 1 - 1e-6)
        alpha, total = np.full(6, a), np.full(6, a + b)
        ours = _dirichlet_grad(framework.tensor(x), framework.tensor(alpha),
                               framework.tensor(total)).numpy()
        theirs = torch._dirichlet_grad(torch.tensor(x), torch.tensor(alpha),
                                       torch.tensor(total)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beta_and_dirichlet_rsample_gradients_match_torch(seed):
    """Against torch's own gradient at the same draws. torch's ``_dirichlet_grad`` is an
    approximation (about 1e-3 relative per element), and the weighted sum cancels, so the
    sums are compared to 1e-3 relative plus 5e-4 absolute; the draws are seeded, so the
    test does not depend on which tests ran before it."""
    framework.manual_seed(seed)
    rng = np.random.default_rng(seed)
    conc, tconc = _pair([[0.7, 2.0, 4.0], [1.5, 0.4, 3.0]])
    sample = D.Dirichlet(conc).rsample((4,))
    assert sample.shape == (4, 2, 3) and sample.requires_grad
    weights = rng.standard_normal((4, 2, 3))
    (sample * framework.tensor(weights)).sum().backward()
    x, g = torch.tensor(sample.detach().numpy()), torch.tensor(weights)
    c = tconc.detach().expand(x.shape)
    scale = torch._dirichlet_grad(x, c, c.sum(-1, keepdim=True).expand(x.shape))
    expected = (scale * (g - (x * g).sum(-1, keepdim=True))).sum(0)
    np.testing.assert_allclose(conc.grad.numpy(), expected.numpy(), rtol=1e-3, atol=5e-4)

    a, ta = _pair([0.8, 3.0])
    b, tb = _pair([2.0, 0.5])
    draws = D.Beta(a, b).rsample((5,))
    assert draws.shape == (5, 2) and draws.requires_grad
    draws.sum().backward()
    x1 = torch.tensor(draws.detach().numpy())
    pair = torch.stack([x1, 1 - x1], -1)
    c = torch.stack([ta.detach(), tb.detach()], -1).expand(pair.shape)
    scale = torch._dirichlet_grad(pair, c, c.sum(-1, keepdim=True).expand(pair.shape))
    g = torch.zeros_like(pair)
    g[..., 0] = 1.0
    expected = (scale * (g - (pair * g).sum(-1, keepdim=True))).sum(0)
    np.testing.assert_allclose(a.grad.numpy(), expected[:, 0].numpy(), rtol=1e-3, atol=5e-4)
    np.testing.assert_allclose(b.grad.numpy(), expected[:, 1].numpy(), rtol=1e-3, atol=5e-4)


def test_rsample_gradients_are_unbiased_for_the_mean():
    """E[dx/dθ] = dE[x]/dθ over 20k draws: Beta (α/(α+β)) and Gamma (a/rate)."""
    a = framework.tensor(0.8, dtype=framework.float64, requires_grad=True)
    b = framework.tensor(2.0, dtype=framework.float64, requires_grad=True)
    D.Beta(a, b).rsample((20000,)).mean().backward()
    assert abs(a.grad.item() - 2.0 / 2.8 ** 2) < 0.01
    assert abs(b.grad.item() + 0.8 / 2.8 ** 2) < 0.01
    c = framework.tensor(1.7, dtype=framework.float64, requires_grad=True)
    D.Gamma(c, 2.0).rsample((20000,)).mean().backward()
    assert abs(c.grad.item() - 0.5) < 0.01
