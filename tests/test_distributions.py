"""framework.distributions against torch.distributions: log_prob, entropy, KL, sampling."""
import numpy as np
import pytest
import torch
import torch.distributions as TD

import framework
import framework.distributions as D

RNG = np.random.default_rng(3)


def _pair(array):
    return (framework.tensor(array, dtype=framework.float64, requires_grad=True),
            torch.tensor(array, dtype=torch.float64, requires_grad=True))


def _close(ours, theirs, atol=1e-10):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=atol)


@pytest.mark.parametrize("use_logits", [False, True])
def test_categorical_log_prob_entropy_and_gradients_match_torch(use_logits):
    raw = RNG.standard_normal((3, 4)) if use_logits else RNG.uniform(0.1, 1.0, (3, 4))
    ours_p, theirs_p = _pair(raw)
    key = "logits" if use_logits else "probs"
    ours = D.Categorical(**{key: ours_p})
    theirs = TD.Categorical(**{key: theirs_p})
    value = np.array([0, 3, 1])
    lp = ours.log_prob(framework.tensor(value))
    tlp = theirs.log_prob(torch.tensor(value))
    _close(lp, tlp)
    _close(ours.entropy(), theirs.entropy())
    (lp.sum() + ours.entropy().sum()).backward()
    (tlp.sum() + theirs.entropy().sum()).backward()
    _close(ours_p.grad, theirs_p.grad)


def test_categorical_sampling_shapes_and_frequencies():
    framework.manual_seed(0)
    dist = D.Categorical(probs=framework.tensor([[0.2, 0.8], [0.9, 0.1]]))
    samples = dist.sample((2000,))
    assert samples.shape == (2000, 2) and samples.dtype is framework.int64
    freq = samples.float().mean(0).numpy()
    np.testing.assert_allclose(freq, [0.8, 0.1], atol=0.04)
    assert D.Categorical(logits=framework.zeros(5)).sample().shape == ()


def test_normal_log_prob_entropy_rsample_and_kl_match_torch():
    loc, tloc = _pair(RNG.standard_normal(4))
    scale, tscale = _pair(RNG.uniform(0.5, 2.0, 4))
    ours, theirs = D.Normal(loc, scale), TD.Normal(tloc, tscale)
    value = RNG.standard_normal(4)
    _close(ours.log_prob(framework.tensor(value)), theirs.log_prob(torch.tensor(value)))
    _close(ours.entropy(), theirs.entropy())
    other, tother = D.Normal(0.0, 1.5), TD.Normal(0.0, 1.5)
    _close(D.kl_divergence(ours, other), TD.kl_divergence(theirs, tother))
    sample = ours.rsample((3,))
    assert sample.shape == (3, 4) and sample.requires_grad
    sample.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [3.0] * 4)
    assert not ours.sample((2,)).requires_grad


def test_bernoulli_log_prob_entropy_kl_and_sampling_match_torch():
    probs, tprobs = _pair(RNG.uniform(0.1, 0.9, 5))
    ours, theirs = D.Bernoulli(probs=probs), TD.Bernoulli(probs=tprobs)
    value = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    _close(ours.log_prob(framework.tensor(value, dtype=framework.float64)),
           theirs.log_prob(torch.tensor(value)), atol=1e-7)
    _close(ours.entropy(), theirs.entropy(), atol=1e-7)
    other = D.Bernoulli(logits=framework.zeros(5, dtype=framework.float64))
    _close(D.kl_divergence(ours, other),
           TD.kl_divergence(theirs, TD.Bernoulli(logits=torch.zeros(5, dtype=torch.float64))),
           atol=1e-7)
    framework.manual_seed(1)
    draws = D.Bernoulli(probs=framework.full((4000,), 0.3)).sample()
    assert abs(draws.mean().item() - 0.3) < 0.03


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        D.Categorical(probs=framework.ones(2), logits=framework.ones(2))
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        D.Bernoulli()
    with pytest.raises(NotImplementedError, match="kl_divergence"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Bernoulli(probs=framework.tensor(0.5)))


def test_normal_cdf_icdf_match_torch():
    loc, tloc = _pair(RNG.standard_normal(4))
    scale, tscale = _pair(RNG.uniform(0.5, 2.0, 4))
    ours, theirs = D.Normal(loc, scale), TD.Normal(tloc, tscale)
    value = RNG.standard_normal(4)
    _close(ours.cdf(framework.tensor(value)), theirs.cdf(torch.tensor(value)))
    probs = RNG.uniform(0.05, 0.95, 4)
    _close(ours.icdf(framework.tensor(probs)), theirs.icdf(torch.tensor(probs)), atol=1e-8)
    ours.cdf(framework.tensor(value)).sum().backward()
    theirs.cdf(torch.tensor(value)).sum().backward()
    _close(loc.grad, tloc.grad)
    assert ours.event_shape == () and ours.batch_shape == (4,)


def test_uniform_matches_torch():
    low, tlow = _pair(RNG.uniform(-2.0, 0.0, 3))
    high, thigh = _pair(RNG.uniform(0.5, 2.0, 3))
    ours, theirs = D.Uniform(low, high, validate_args=False), TD.Uniform(tlow, thigh, validate_args=False)
    value = np.array([-0.1, 0.3, 5.0])  # the last one outside the support
    _close(ours.log_prob(framework.tensor(value)), theirs.log_prob(torch.tensor(value)))
    _close(ours.entropy(), theirs.entropy())
    _close(ours.mean, theirs.mean)
    _close(ours.variance, theirs.variance)
    _close(ours.cdf(framework.tensor(value)), theirs.cdf(torch.tensor(value)))
    sample = ours.rsample((500,))
    assert sample.shape == (500, 3) and sample.requires_grad
    data = sample.detach().numpy()
    assert (data >= low.detach().numpy()).all() and (data < high.detach().numpy()).all()
    sample.sum().backward()
    assert low.grad is not None and high.grad is not None
    scalar = D.Uniform(0.0, 2.0)
    assert scalar.log_prob(framework.tensor(1.0)).item() == pytest.approx(np.log(0.5))


def test_independent_matches_torch():
    loc, tloc = _pair(RNG.standard_normal((2, 3)))
    scale, tscale = _pair(RNG.uniform(0.5, 2.0, (2, 3)))
    ours = D.Independent(D.Normal(loc, scale), 1)
    theirs = TD.Independent(TD.Normal(tloc, tscale), 1)
    assert ours.batch_shape == (2,) and ours.event_shape == (3,)
    value = RNG.standard_normal((2, 3))
    _close(ours.log_prob(framework.tensor(value)), theirs.log_prob(torch.tensor(value)))
    _close(ours.entropy(), theirs.entropy())
    _close(ours.mean, theirs.mean)
    other = D.Independent(D.Normal(framework.zeros(2, 3, dtype=framework.float64), 1.0), 1)
    tother = TD.Independent(TD.Normal(torch.zeros(2, 3, dtype=torch.float64), 1.0), 1)
    _close(D.kl_divergence(ours, other), TD.kl_divergence(theirs, tother))
    assert ours.rsample((4,)).shape == (4, 2, 3) and ours.sample().shape == (2, 3)
    whole = D.Independent(D.Normal(loc, scale), 2)
    assert whole.batch_shape == () and whole.event_shape == (2, 3)
    _close(whole.log_prob(framework.tensor(value)),
           TD.Independent(TD.Normal(tloc, tscale), 2).log_prob(torch.tensor(value)))
    with pytest.raises(ValueError):
        D.Independent(D.Normal(loc, scale), 3)


def test_enumerate_support_and_its_flag_match_torch():
    """``has_enumerate_support`` is torch's for every family (Independent: only without
    reinterpreted dims), and ``enumerate_support`` gives torch's values and shapes."""
    import torch.distributions as TD
    for name in D.__all__:
        ours, theirs = getattr(D, name), getattr(TD, name, None)
        if isinstance(ours, type) and issubclass(ours, D.Distribution) and \
                isinstance(theirs, type) and name != "Independent":
            assert ours.has_enumerate_support == theirs.has_enumerate_support, name
    probs = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    pairs = [
        (D.Categorical(probs=framework.tensor(probs)), TD.Categorical(probs=torch.tensor(probs))),
        (D.Bernoulli(probs=framework.tensor(probs)), TD.Bernoulli(probs=torch.tensor(probs))),
        (D.Binomial(3, framework.tensor(probs)), TD.Binomial(3, torch.tensor(probs))),
        (D.OneHotCategorical(framework.tensor(probs)), TD.OneHotCategorical(torch.tensor(probs))),
        (D.Independent(D.Bernoulli(framework.tensor(probs)), 0),
         TD.Independent(TD.Bernoulli(torch.tensor(probs)), 0)),
    ]
    for ours, theirs in pairs:
        assert ours.has_enumerate_support and theirs.has_enumerate_support
        for expand in (True, False):
            got, want = ours.enumerate_support(expand), theirs.enumerate_support(expand)
            assert tuple(got.shape) == tuple(want.shape), type(ours).__name__
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    folded = D.Independent(D.Bernoulli(framework.tensor(probs)), 1)
    assert not folded.has_enumerate_support
    with pytest.raises(NotImplementedError, match="cartesian product"):
        folded.enumerate_support()
