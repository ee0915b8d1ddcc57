"""framework.distributions' Exponential, Cauchy, Chi2, StudentT, Geometric, NegativeBinomial,
Multinomial, MixtureSameFamily, ContinuousBernoulli, FisherSnedecor, VonMises,
GeneralizedPareto, LowRankMultivariateNormal and OneHotCategoricalStraightThrough against
torch.distributions (float64 oracle): log_prob, cdf/icdf, entropy, moments, KL, gradients,
rsample gradients, shapes, sampling moments and argument validation."""
import numpy as np
import pytest
import torch
import torch.distributions as TD
from distribution_oracle import close as _close, f64 as _t, pair as _pair

import framework
import framework.distributions as D
from framework._distributions_families import KL_PAIRS

RNG = np.random.default_rng(11)
F64 = framework.float64


@pytest.fixture(autouse=True)
def _fresh_rng():
    """The same parameter stream for each test, whichever tests ran before it; torch's
    default dtype float64 (its GeneralizedPareto compares against a default-dtype zero)."""
    global RNG
    RNG = np.random.default_rng(11)
    framework.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _kl(p, q):
    """Through the module's KL_PAIRS (the lead wires them into kl_divergence)."""
    return KL_PAIRS[type(p)](p, q)


def _pos(*shape, low=0.3, high=3.0):
    return RNG.uniform(low, high, shape)


# ----------------------------------------------------------------------------- elementwise

def _cases():
    """name -> (parameter arrays, value array, methods compared besides log_prob)."""
    return {
        "Exponential": ((_pos(3),), _pos(2, 3, low=0.0, high=4.0), ("cdf", "icdf", "entropy")),
        "Cauchy": ((RNG.standard_normal(3), _pos(3)), 3 * RNG.standard_normal((2, 3)),
                   ("cdf", "icdf", "entropy")),
        "Chi2": ((_pos(3, low=0.5, high=6.0),), _pos(2, 3, low=0.1, high=6.0), ("entropy",)),
        "StudentT": ((np.array([0.7, 1.5, 4.0]), RNG.standard_normal(3), _pos(3)),
                     3 * RNG.standard_normal((2, 3)), ("entropy",)),
        "FisherSnedecor": ((np.array([1.5, 3.0, 6.0]), np.array([1.5, 3.0, 9.0])),
                           _pos(2, 3, low=0.1, high=4.0), ()),
        "VonMises": ((RNG.standard_normal(3), np.array([0.3, 2.0, 6.0])),
                     4 * RNG.standard_normal((2, 3)), ()),
        "GeneralizedPareto": ((RNG.standard_normal(3), _pos(3), np.array([0.2, 0.0, 0.7])),
                              None, ("cdf", "icdf", "entropy")),
        "Geometric": ((_pos(3, low=0.1, high=0.9),), np.array([[0.0, 1.0, 3.0], [7.0, 0.0, 2.0]]),
                      ("entropy",)),
        "NegativeBinomial": ((np.array([1.0, 2.5, 7.0]), _pos(3, low=0.1, high=0.9)),
                             np.array([[0.0, 1.0, 3.0], [7.0, 0.0, 12.0]]), ()),
        "ContinuousBernoulli": ((np.array([0.2, 0.4995, 0.8]),), _pos(2, 3, low=0.0, high=1.0),
                                ("cdf", "icdf", "entropy")),
    }


CASES = _cases()


def _value(name, params):
    value = CASES[name][1]
    if value is None:  # GeneralizedPareto: inside its support, loc + positive
        value = params[0] + RNG.uniform(0.0, 3.0, (2, 3))
    return value


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients_match_torch(name):
    params, _, methods = CASES[name]
    pairs = [_pair(p) for p in params]
    ours = getattr(D, name)(*(p for p, _ in pairs))
    theirs = getattr(TD, name)(*(t for _, t in pairs))
    value = _value(name, params)
    u = RNG.uniform(0.02, 0.98, (2, 3))
    outputs = [(ours.log_prob(_t(value)), theirs.log_prob(torch.tensor(value)))]
    if "cdf" in methods:
        outputs.append((ours.cdf(_t(value)), theirs.cdf(torch.tensor(value))))
    if "icdf" in methods:
        outputs.append((ours.icdf(_t(u)), theirs.icdf(torch.tensor(u))))
    if "entropy" in methods:
        outputs.append((ours.entropy(), theirs.entropy()))
    else:
        with pytest.raises(NotImplementedError):
            theirs.entropy()
        with pytest.raises(NotImplementedError):
            ours.entropy()
    for mine, reference in outputs:
        _close(mine, reference)
    for attr in ("mean", "mode", "variance", "stddev"):
        try:
            reference = getattr(theirs, attr)
        except NotImplementedError:  # e.g. ContinuousBernoulli.mode
            with pytest.raises(NotImplementedError):
                getattr(ours, attr)
            continue
        _close(getattr(ours, attr), reference)
    sum(m.sum() for m, _ in outputs).backward()
    sum(r.sum() for _, r in outputs).backward()
    for p, t in pairs:
        _close(p.grad, t.grad, atol=1e-8)
    assert ours.batch_shape == (3,) and ours.event_shape == ()
    assert ours.sample((5, 2)).shape == (5, 2, 3)
    assert ours.has_rsample == theirs.has_rsample
    wide = ours.expand((4, 3))
    assert wide.batch_shape == (4, 3) and wide.sample().shape == (4, 3)
    _close(wide.log_prob(_t(value[0])), theirs.expand((4, 3)).log_prob(torch.tensor(value[0])))


def test_continuous_bernoulli_from_logits_and_generalized_pareto_negative_concentration():
    logits, tlogits = _pair([-2.0, 0.001, 1.5])
    ours, theirs = D.ContinuousBernoulli(logits=logits), TD.ContinuousBernoulli(logits=tlogits)
    x = RNG.uniform(0, 1, (4, 3))
    lp, tlp = ours.log_prob(_t(x)), theirs.log_prob(torch.tensor(x))
    _close(lp, tlp)
    for attr in ("mean", "variance", "probs"):
        _close(getattr(ours, attr), getattr(theirs, attr))
    (lp.sum() + ours.entropy().sum()).backward()
    (tlp.sum() + theirs.entropy().sum()).backward()
    _close(logits.grad, tlogits.grad, atol=1e-8)
    conc, tconc = _pair([-0.4, -0.1])
    ours = D.GeneralizedPareto(_t([0.5, -1.0]), _t([2.0, 1.0]), conc)
    theirs = TD.GeneralizedPareto(torch.tensor([0.5, -1.0]).double(),
                                  torch.tensor([2.0, 1.0]).double(), tconc)
    x = np.array([[0.6, -0.5], [4.0, 5.0]])  # upper bounds 5.5 and 9
    lp, tlp = ours.log_prob(_t(x)), theirs.log_prob(torch.tensor(x))
    _close(lp, tlp)
    _close(ours.cdf(_t(x)), theirs.cdf(torch.tensor(x)))
    _close(ours.log_survival_function(_t(x)), theirs.log_survival_function(torch.tensor(x)))
    lp.sum().backward()
    tlp.sum().backward()
    _close(conc.grad, tconc.grad)
    with pytest.raises(ValueError, match="Expected value argument"):
        ours.log_prob(_t([6.0, 0.0]))


# ----------------------------------------------------------------------------- rsample gradients

def _recover_uniform_and_compare(ours, theirs, params, pairs, sample):
    """Distributions reparameterized through icdf: push our draw's CDF back through torch's
    icdf and compare the draw and its parameter gradients."""
    u = theirs.cdf(torch.tensor(sample.detach().numpy())).detach()
    redrawn = theirs.icdf(u)
    _close(sample, redrawn, atol=1e-8)
    sample.sum().backward()
    redrawn.sum().backward()
    for p, t in pairs:
        _close(p.grad, t.grad, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("name", ["Exponential", "Cauchy", "GeneralizedPareto",
                                  "ContinuousBernoulli"])
def test_icdf_reparameterized_rsample_gradients_match_torch(name):
    params = {"Exponential": ([0.5, 2.0],), "Cauchy": ([0.3, -1.0], [0.7, 2.0]),
              "GeneralizedPareto": ([0.3, -1.0], [0.7, 2.0], [0.25, -0.2]),
              "ContinuousBernoulli": ([0.2, 0.7],)}[name]
    pairs = [_pair(p) for p in params]
    ours = getattr(D, name)(*(p for p, _ in pairs))
    theirs = getattr(TD, name)(*(t for _, t in pairs))
    sample = ours.rsample((6,))
    assert sample.shape == (6, 2) and sample.requires_grad
    _recover_uniform_and_compare(ours, theirs, params, pairs, sample)


class _TorchGamma(torch.autograd.Function):
    """A fixed standard Gamma draw ``x`` with torch's implicit gradient in ``alpha``."""

    @staticmethod
    def forward(ctx, alpha, x):
        ctx.save_for_backward(alpha, x)
        return x.clone()

    @staticmethod
    def backward(ctx, grad):
        alpha, x = ctx.saved_tensors
        return grad * torch._standard_gamma_grad(alpha, x), None


def _studentt_rsample_vs_torch(device):
    from framework._distributions_more import _standard_gamma
    df, tdf = _pair([2.5, 6.0], device)
    loc, tloc = _pair([0.5, -1.0], device)
    scale, tscale = _pair([1.5, 0.7], device)
    framework.manual_seed(3)
    sample = D.StudentT(df, loc, scale).rsample((4,))
    framework.manual_seed(3)  # replay the noise: the normal draw, then the Chi2 (Gamma) draw
    x = framework.randn((4, 2), dtype=F64, device=device)
    g = _standard_gamma(df.detach().mul(0.5).expand((4, 2)))
    alpha = (0.5 * tdf).expand(4, 2)
    chi2 = _TorchGamma.apply(alpha, torch.tensor(g.cpu().numpy())) / 0.5
    theirs = tloc + tscale * torch.tensor(x.cpu().numpy()) * torch.rsqrt(chi2 / tdf)
    _close(sample, theirs)
    weights = np.array([1.0, -2.0])
    (sample * _t(weights, device)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    _close(loc.grad, tloc.grad)
    _close(scale.grad, tscale.grad)
    _close(df.grad, tdf.grad, atol=1e-4, rtol=1e-3)  # torch's gamma gradient approximates


def test_studentt_rsample_gradients_match_torch():
    _studentt_rsample_vs_torch("cpu")


def test_chi2_and_fisher_snedecor_rsample_gradients_are_unbiased():
    """E[dx/dθ] = dE[x]/dθ over 20k draws: Chi2 (mean df) and F (mean df2/(df2-2))."""
    df = framework.tensor(3.0, dtype=F64, requires_grad=True)
    D.Chi2(df).rsample((20000,)).mean().backward()
    assert abs(df.grad.item() - 1.0) < 0.03
    df1 = framework.tensor(4.0, dtype=F64, requires_grad=True)
    df2 = framework.tensor(12.0, dtype=F64, requires_grad=True)
    D.FisherSnedecor(df1, df2).rsample((20000,)).mean().backward()
    assert abs(df1.grad.item()) < 0.01
    assert abs(df2.grad.item() + 2.0 / 100.0) < 0.01


def test_one_hot_straight_through_rsample():
    logits, tlogits = _pair(RNG.standard_normal((2, 4)))
    ours = D.OneHotCategoricalStraightThrough(logits=logits)
    theirs = TD.OneHotCategoricalStraightThrough(logits=tlogits)
    assert ours.has_rsample and ours.batch_shape == (2,) and ours.event_shape == (4,)
    draw = ours.rsample((3,))
    assert draw.shape == (3, 2, 4)
    np.testing.assert_array_equal(draw.detach().numpy().sum(-1), 1.0)
    weights = RNG.standard_normal((3, 2, 4))
    (draw * _t(weights)).sum().backward()
    probs = theirs.probs
    (torch.tensor(draw.detach().numpy()) + probs - probs.detach()).mul(
        torch.tensor(weights)).sum().backward()
    _close(logits.grad, tlogits.grad)
    q = D.OneHotCategoricalStraightThrough(logits=_t(RNG.standard_normal(4)))
    tq = TD.OneHotCategoricalStraightThrough(logits=torch.tensor(q.logits.numpy()))
    _close(_kl(ours, q), TD.kl_divergence(theirs, tq))
    assert type(ours.expand((3, 2))) is D.OneHotCategoricalStraightThrough
    for expand in (False, True):
        _close(ours.enumerate_support(expand), theirs.enumerate_support(expand))
        _close(ours.log_prob(ours.enumerate_support(expand)),
               theirs.log_prob(theirs.enumerate_support(expand)))


# ----------------------------------------------------------------------------- KL

def _kl_cases():
    return {
        "Exponential": ((_pos(3),), (_pos(3),)),
        "Cauchy": ((RNG.standard_normal(3), _pos(3)), (RNG.standard_normal(3), _pos(3))),
        "Geometric": ((_pos(3, low=0.1, high=0.9),), (_pos(3, low=0.1, high=0.9),)),
        "ContinuousBernoulli": ((np.array([0.2, 0.4999, 0.9]),), (_pos(3, low=0.1, high=0.9),)),
        "Chi2": ((_pos(3),), (_pos(3),)),
    }


@pytest.mark.parametrize("name", list(_kl_cases()))
def test_kl_matches_torch(name):
    p_params, q_params = _kl_cases()[name]
    pairs = [_pair(p) for p in p_params]
    qpairs = [_pair(q) for q in q_params]
    kl = _kl(getattr(D, name)(*(p for p, _ in pairs)), getattr(D, name)(*(q for q, _ in qpairs)))
    tkl = TD.kl_divergence(getattr(TD, name)(*(t for _, t in pairs)),
                           getattr(TD, name)(*(t for _, t in qpairs)))
    _close(kl, tkl)
    kl.sum().backward()
    tkl.sum().backward()
    for p, t in pairs + qpairs:
        _close(p.grad, t.grad, atol=1e-8)


# ----------------------------------------------------------------------------- discrete

@pytest.mark.parametrize("use_logits", [False, True])
def test_multinomial_matches_torch(use_logits):
    raw = RNG.standard_normal((2, 3)) if use_logits else RNG.uniform(0.1, 1.0, (2, 3))
    ours_p, theirs_p = _pair(raw)
    key = "logits" if use_logits else "probs"
    ours, theirs = D.Multinomial(5, **{key: ours_p}), TD.Multinomial(5, **{key: theirs_p})
    value = np.array([[[2.0, 0.0, 3.0], [1.0, 1.0, 3.0]], [[5.0, 0.0, 0.0], [0.0, 4.0, 1.0]]])
    lp, tlp = ours.log_prob(_t(value)), theirs.log_prob(torch.tensor(value))
    _close(lp, tlp)
    _close(ours.entropy(), theirs.entropy())
    for attr in ("mean", "variance", "probs", "logits"):
        _close(getattr(ours, attr), getattr(theirs, attr))
    (lp.sum() + ours.entropy().sum()).backward()
    (tlp.sum() + theirs.entropy().sum()).backward()
    _close(ours_p.grad, theirs_p.grad)
    assert ours.batch_shape == (2,) and ours.event_shape == (3,)
    draws = ours.sample((4000,))
    assert draws.shape == (4000, 2, 3) and draws.dtype is F64
    np.testing.assert_array_equal(draws.numpy().sum(-1), 5.0)
    np.testing.assert_allclose(draws.numpy().mean(0), theirs.mean.detach().numpy(), atol=0.1)
    assert ours.expand((3, 2)).sample().shape == (3, 2, 3)


def test_discrete_sample_moments():
    for dist in (D.Geometric(_t(0.3)), D.NegativeBinomial(_t(3.0), _t(0.4)),
                 D.NegativeBinomial(_t(2.0), logits=_t(-0.5))):
        draws = dist.sample((20000,)).numpy()
        mean, var = float(dist.mean.numpy()), float(dist.variance.numpy())
        np.testing.assert_array_equal(draws, np.round(draws))
        assert abs(draws.mean() - mean) < 4 * np.sqrt(var / 20000)
        assert abs(draws.var() / var - 1) < 0.1
    logits = _t(-0.5)
    theirs = TD.NegativeBinomial(torch.tensor(2.0).double(), logits=torch.tensor(-0.5).double())
    ours = D.NegativeBinomial(_t(2.0), logits=logits)
    for attr in ("mean", "variance", "mode", "probs"):
        _close(getattr(ours, attr), getattr(theirs, attr))
    _close(D.Geometric(logits=_t([0.3, -1.0])).entropy(),
           TD.Geometric(logits=torch.tensor([0.3, -1.0]).double()).entropy())
    certain = np.array([[0.0, 0.0], [0.0, 3.0]])  # probs 1: log P(0) = 0, log P(3) = -inf
    _close(D.Geometric(_t([1.0, 1.0])).log_prob(_t(certain)),
           TD.Geometric(torch.tensor([1.0, 1.0])).log_prob(torch.tensor(certain)))


@pytest.mark.parametrize("name,args", [("Exponential", (1.5,)), ("Chi2", (3.0,)),
                                       ("StudentT", (6.0, 1.0, 2.0)),
                                       ("FisherSnedecor", (5.0, 12.0)),
                                       ("GeneralizedPareto", (0.5, 1.5, 0.1)),
                                       ("ContinuousBernoulli", (0.8,))])
def test_sample_moments(name, args):
    dist = getattr(D, name)(*(_t(a) for a in args))
    draws = dist.sample((20000,)).numpy()
    mean, var = float(dist.mean.numpy()), float(dist.variance.numpy())
    assert abs(draws.mean() - mean) < 5 * np.sqrt(var / 20000)
    assert abs(draws.var() / var - 1) < 0.15


def test_cauchy_and_von_mises_samples():
    draws = D.Cauchy(_t(1.0), _t(2.0)).sample((20000,)).numpy()
    np.testing.assert_allclose(np.quantile(draws, [0.25, 0.5, 0.75]), [-1.0, 1.0, 3.0],
                               atol=0.1)
    vm = D.VonMises(_t([0.5, 3.0]), _t([4.0, 1e-6]))
    draws = vm.sample((20000,)).numpy()
    assert draws.shape == (20000, 2) and np.all(np.abs(draws) <= np.pi)
    mean_angle = np.angle(np.exp(1j * draws[:, 0]).mean())
    assert abs(mean_angle - 0.5) < 0.02
    circular_var = 1 - np.abs(np.exp(1j * draws).mean(0))
    np.testing.assert_allclose(circular_var, vm.variance.numpy(), atol=0.02)


def test_sampling_is_reproducible_with_manual_seed():
    dists = [D.Exponential(_t([1.0, 2.0])), D.StudentT(_t([3.0])), D.Geometric(_t([0.4])),
             D.VonMises(_t([0.0]), _t([2.0])), D.NegativeBinomial(_t([3.0]), _t([0.5]))]
    for dist in dists:
        framework.manual_seed(5)
        first = dist.sample((6,)).numpy()
        framework.manual_seed(5)
        np.testing.assert_array_equal(first, dist.sample((6,)).numpy())


# ----------------------------------------------------------------------------- mixtures

def test_mixture_same_family_matches_torch():
    logits, tlogits = _pair(RNG.standard_normal((2, 3)))
    loc, tloc = _pair(RNG.standard_normal((2, 3, 4)))
    scale, tscale = _pair(_pos(2, 3, 4))
    ours = D.MixtureSameFamily(D.Categorical(logits=logits),
                               D.Independent(D.Normal(loc, scale), 1))
    theirs = TD.MixtureSameFamily(TD.Categorical(logits=tlogits),
                                  TD.Independent(TD.Normal(tloc, tscale), 1))
    assert ours.batch_shape == (2,) and ours.event_shape == (4,)
    x = RNG.standard_normal((5, 2, 4))
    lp, tlp = ours.log_prob(_t(x)), theirs.log_prob(torch.tensor(x))
    _close(lp, tlp)
    _close(ours.mean, theirs.mean)
    _close(ours.variance, theirs.variance)
    lp.sum().backward()
    tlp.sum().backward()
    for p, t in ((logits, tlogits), (loc, tloc), (scale, tscale)):
        _close(p.grad, t.grad)
    assert ours.sample((7,)).shape == (7, 2, 4)
    wide, twide = ours.expand((3, 2)), theirs.expand((3, 2))
    assert wide.batch_shape == (3, 2) and wide.sample((2,)).shape == (2, 3, 2, 4)
    _close(wide.log_prob(_t(x[:3])), twide.log_prob(torch.tensor(x[:3])))
    # scalar components, a mixture shared across the batch, cdf and expand
    mix = D.MixtureSameFamily(D.Categorical(probs=_t([0.2, 0.8])),
                              D.Laplace(_t([[-3.0, 3.0]] * 3), _t([[0.5, 1.0]] * 3)))
    tmix = TD.MixtureSameFamily(TD.Categorical(probs=torch.tensor([0.2, 0.8])),
                                TD.Laplace(torch.tensor([[-3.0, 3.0]] * 3),
                                           torch.tensor([[0.5, 1.0]] * 3)))
    wide = mix.expand((2, 3))
    assert wide.batch_shape == (2, 3) and wide.sample((4,)).shape == (4, 2, 3)
    x = np.array([-3.0, 0.0, 2.5])
    _close(mix.cdf(_t(x)), tmix.cdf(torch.tensor(x)))
    _close(mix.log_prob(_t(x)), tmix.log_prob(torch.tensor(x)))
    draws = mix.sample((20000,)).numpy()
    assert draws.shape == (20000, 3)
    np.testing.assert_allclose(draws.mean(0), mix.mean.numpy(), atol=0.1)
    np.testing.assert_allclose(draws.var(0), mix.variance.numpy(), rtol=0.05)


def test_mixture_same_family_bad_arguments():
    comp = D.Normal(_t([[0.0, 1.0]]), _t([[1.0, 1.0]]))
    with pytest.raises(ValueError, match="needs to be an  instance"):
        D.MixtureSameFamily(comp, comp)
    with pytest.raises(ValueError, match="Component distribution needs"):
        D.MixtureSameFamily(D.Categorical(logits=_t([0.0, 0.0])), "normal")
    with pytest.raises(ValueError, match="does not equal"):
        D.MixtureSameFamily(D.Categorical(logits=_t([0.0, 0.0, 0.0])), comp)
    with pytest.raises(ValueError, match="is not compatible"):
        D.MixtureSameFamily(D.Categorical(logits=_t([[0.0, 0.0]] * 3)),
                            D.Normal(_t([[0.0, 1.0]] * 2), 1.0))


# ----------------------------------------------------------------------------- low rank MVN

def _lowrank_params(batch=(2,), n=3, rank=2):
    return (RNG.standard_normal(batch + (n,)), RNG.standard_normal(batch + (n, rank)),
            _pos(*(batch + (n,)), low=0.5, high=2.0))


def test_lowrank_mvn_matches_torch():
    pairs = [_pair(p) for p in _lowrank_params()]
    ours = D.LowRankMultivariateNormal(*(p for p, _ in pairs))
    theirs = TD.LowRankMultivariateNormal(*(t for _, t in pairs))
    assert ours.batch_shape == (2,) and ours.event_shape == (3,)
    x = RNG.standard_normal((4, 2, 3))
    lp, tlp = ours.log_prob(_t(x)), theirs.log_prob(torch.tensor(x))
    _close(lp, tlp)
    _close(ours.entropy(), theirs.entropy())
    for attr in ("mean", "mode", "variance", "stddev", "scale_tril", "covariance_matrix",
                 "precision_matrix"):
        _close(getattr(ours, attr), getattr(theirs, attr))
    q_params = _lowrank_params(batch=(), rank=1)
    q = D.LowRankMultivariateNormal(*(_t(a) for a in q_params))
    tq = TD.LowRankMultivariateNormal(*(torch.tensor(a) for a in q_params))
    kl, tkl = _kl(ours, q), TD.kl_divergence(theirs, tq)
    _close(kl, tkl)
    (lp.sum() + ours.entropy().sum() + kl.sum() + ours.precision_matrix.sum()).backward()
    (tlp.sum() + theirs.entropy().sum() + tkl.sum() + theirs.precision_matrix.sum()).backward()
    for p, t in pairs:
        _close(p.grad, t.grad, atol=1e-8)
    assert ours.sample((5,)).shape == (5, 2, 3)
    wide = ours.expand((4, 2))
    assert wide.batch_shape == (4, 2) and wide.rsample().shape == (4, 2, 3)


def test_lowrank_mvn_rsample_gradients_and_moments():
    loc, tloc = _pair([1.0, -2.0])
    factor, tfactor = _pair([[1.0], [0.5]])
    diag, tdiag = _pair([0.5, 0.2])
    dist = D.LowRankMultivariateNormal(loc, factor, diag)
    framework.manual_seed(4)
    sample = dist.rsample((3,))
    framework.manual_seed(4)  # replay the noise: the rank draw, then the diagonal draw
    eps_w = torch.tensor(framework.randn((3, 1), dtype=F64).numpy())
    eps_d = torch.tensor(framework.randn((3, 2), dtype=F64).numpy())
    theirs = tloc + (tfactor @ eps_w.unsqueeze(-1)).squeeze(-1) + tdiag.sqrt() * eps_d
    _close(sample, theirs)
    sample.sum().backward()
    theirs.sum().backward()
    for p, t in ((loc, tloc), (factor, tfactor), (diag, tdiag)):
        _close(p.grad, t.grad)
    draws = dist.sample((20000,)).numpy()
    np.testing.assert_allclose(draws.mean(0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(np.cov(draws.T), dist.covariance_matrix.detach().numpy(),
                               atol=0.06)


def test_lowrank_mvn_bad_arguments():
    with pytest.raises(ValueError, match="loc must be at least one-dimensional"):
        D.LowRankMultivariateNormal(_t(0.0), _t([[1.0]]), _t([1.0]))
    with pytest.raises(ValueError, match="cov_factor must be at least two-dimensional"):
        D.LowRankMultivariateNormal(_t([0.0, 0.0]), _t([1.0, 1.0]), _t([1.0, 1.0]))
    with pytest.raises(ValueError, match="cov_factor must be a batch of matrices with shape 2"):
        D.LowRankMultivariateNormal(_t([0.0, 0.0]), _t([[1.0]] * 3), _t([1.0, 1.0]))
    with pytest.raises(ValueError, match="cov_diag must be a batch of vectors"):
        D.LowRankMultivariateNormal(_t([0.0, 0.0]), _t([[1.0]] * 2), _t([1.0] * 3))
    with pytest.raises(ValueError, match="Incompatible batch shapes"):
        D.LowRankMultivariateNormal(_t([[0.0, 0.0]] * 2), _t([[[1.0]] * 2] * 3), _t([1.0, 1.0]))
    with pytest.raises(ValueError, match="Expected parameter cov_diag"):
        D.LowRankMultivariateNormal(_t([0.0, 0.0]), _t([[1.0]] * 2), _t([1.0, -1.0]))


# ----------------------------------------------------------------------------- validation

def test_bad_parameters_and_values_raise_like_torch():
    bad = {
        "Expected parameter rate": lambda: D.Exponential(_t([-1.0])),
        "Expected parameter scale": lambda: D.Cauchy(0.0, _t([0.0])),
        "Expected parameter df": lambda: D.Chi2(_t([-1.0])),
        "Expected parameter df2": lambda: D.FisherSnedecor(1.0, _t([-1.0])),
        "Expected parameter concentration": lambda: D.VonMises(0.0, _t([0.0])),
        "Expected parameter scale ": lambda: D.GeneralizedPareto(0.0, _t([-1.0]), 0.1),
        "to be positive": lambda: D.Geometric(_t([0.0, 0.5])),
        "Interval": lambda: D.Geometric(_t([1.5])),
        "Expected parameter total_count": lambda: D.NegativeBinomial(_t([-1.0]), _t([0.5])),
        "HalfOpenInterval": lambda: D.NegativeBinomial(_t([1.0]), _t([1.0])),
        "The parameter probs has invalid values":
            lambda: D.ContinuousBernoulli(_t([1.5]), validate_args=True),
        "Simplex": lambda: D.Multinomial(3, _t([0.5, -0.1])),
        "Either `probs` or `logits`": lambda: D.Geometric(),
    }
    for message, build in bad.items():
        with pytest.raises(ValueError, match=message):
            build()
    with pytest.raises(NotImplementedError, match="inhomogeneous total_count"):
        D.Multinomial(_t(3.0), _t([0.5, 0.5]))
    with pytest.raises(ValueError, match="Expected parameter df"):
        D.StudentT(_t([0.0]))
    bad_values = [(D.Exponential(_t(1.0)), -1.0), (D.Chi2(_t(2.0)), -0.5),
                  (D.FisherSnedecor(_t(2.0), _t(3.0)), 0.0), (D.Geometric(_t(0.5)), 1.5),
                  (D.NegativeBinomial(_t(2.0), _t(0.5)), -1.0),
                  (D.ContinuousBernoulli(_t(0.3)), 1.2),
                  (D.Multinomial(2, _t([0.5, 0.5])), [2.0, 1.0])]
    for dist, value in bad_values:
        with pytest.raises(ValueError, match="Expected value argument"):
            dist.log_prob(_t(value))
    # validate_args=False turns the checks off, as in torch
    D.Exponential(_t([-1.0]), validate_args=False)
    D.Geometric(_t([0.0]), validate_args=False)
    # ContinuousBernoulli clamps out-of-range probs unless validate_args is given, as torch
    _close(D.ContinuousBernoulli(_t([1.5])).probs,
           TD.ContinuousBernoulli(torch.tensor([1.5]).double()).probs)


# ----------------------------------------------------------------------------- devices

def test_exponential_and_studentt_on_device(device):
    rate, trate = _pair([0.5, 2.0], device)
    ours, theirs = D.Exponential(rate), TD.Exponential(trate)
    x = np.array([0.3, 1.7])
    lp, tlp = ours.log_prob(_t(x, device)), theirs.log_prob(torch.tensor(x))
    _close(lp, tlp)
    _close(ours.cdf(_t(x, device)), theirs.cdf(torch.tensor(x)))
    _close(ours.entropy(), theirs.entropy())
    sample = ours.rsample((3,))
    assert sample.device.type == device and sample.shape == (3, 2)
    (lp.sum() + sample.sum()).backward()
    draws = torch.tensor(sample.detach().cpu().numpy())
    (tlp.sum() + (draws * trate.detach() / trate).sum()).backward()
    _close(rate.grad, trate.grad)
    df, tdf = _pair([3.0, 0.8], device)
    ours, theirs = D.StudentT(df, 0.5, 2.0), TD.StudentT(tdf, 0.5, 2.0)
    lp, tlp = ours.log_prob(_t(x, device)), theirs.log_prob(torch.tensor(x))
    _close(lp, tlp)
    lp.sum().backward()
    tlp.sum().backward()
    _close(df.grad, tdf.grad)
    _studentt_rsample_vs_torch(device)


# ----------------------------------------------------------------------------- matrix families

def _spd(batch, n):
    """A low-rank-plus-diagonal covariance, W Wᵀ + diag(D), of full rank."""
    _, factor, diag = _lowrank_params(batch, n, n)
    return factor @ np.swapaxes(factor, -1, -2) + diag[..., None] * np.eye(n)


@pytest.mark.parametrize("key", ["covariance_matrix", "precision_matrix", "scale_tril"])
def test_wishart_matches_torch(key):
    cov = _spd((2,), 3)
    matrix = np.linalg.cholesky(cov) if key == "scale_tril" else cov
    df, tdf = _pair([3.5, 6.0])
    mat, tmat = _pair(matrix)
    ours, theirs = D.Wishart(df, **{key: mat}), TD.Wishart(tdf, **{key: tmat})
    assert ours.batch_shape == (2,) and ours.event_shape == (3, 3)
    value = np.stack([_spd((2,), 3) for _ in range(4)])
    lp, tlp = ours.log_prob(_t(value)), theirs.log_prob(torch.tensor(value))
    _close(lp, tlp, atol=1e-8)
    _close(ours.entropy(), theirs.entropy(), atol=1e-8)
    for attr in ("mean", "mode", "variance", "scale_tril", "covariance_matrix",
                 "precision_matrix"):
        _close(getattr(ours, attr), getattr(theirs, attr), atol=1e-8)
    (lp.sum() + ours.entropy().sum()).backward()
    (tlp.sum() + theirs.entropy().sum()).backward()
    _close(df.grad, tdf.grad, atol=1e-7)
    expected = tmat.grad
    if key == "scale_tril":  # torch's cholesky_solve also sends gradient to the zero triangle
        expected = expected.tril()
    _close(mat.grad, expected, atol=1e-7, rtol=1e-7)
    draws = ours.rsample((3,))
    assert draws.shape == (3, 2, 3, 3) and draws.requires_grad
    assert ours.expand((4, 2)).sample().shape == (4, 2, 3, 3)


def test_wishart_sample_moments_and_bad_arguments():
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    dist = D.Wishart(_t(5.0), _t(cov))
    draws = dist.sample((20000,)).numpy()
    np.testing.assert_allclose(draws.mean(0), 5.0 * cov, rtol=0.03)
    np.testing.assert_allclose(draws.var(0), dist.variance.numpy(), rtol=0.1)
    # rsample gradients are unbiased: d E[Σᵢⱼ Xᵢⱼ] / d df = Σᵢⱼ covᵢⱼ, / d L = 2 df 1 1ᵀ L
    df = framework.tensor(5.0, dtype=F64, requires_grad=True)
    tril = framework.tensor(np.linalg.cholesky(cov), dtype=F64, requires_grad=True)
    D.Wishart(df, scale_tril=tril).rsample((20000,)).sum((-2, -1)).mean().backward()
    assert abs(df.grad.item() - cov.sum()) < 0.05 * cov.sum()
    expected = 2 * 5.0 * np.ones((2, 2)) @ np.linalg.cholesky(cov)  # E[A Aᵀ] = df I
    np.testing.assert_allclose(tril.grad.numpy(), expected, rtol=0.05, atol=0.05)
    with pytest.raises(AssertionError, match="Exactly one of covariance_matrix"):
        D.Wishart(_t(3.0))
    with pytest.raises(ValueError, match="at least two-dimensional"):
        D.Wishart(_t(3.0), _t([1.0, 2.0]))
    with pytest.raises(ValueError, match="expected to be greater than ndim - 1 = 1"):
        D.Wishart(_t(0.5), _t(cov))
    with pytest.raises(ValueError, match="Expected parameter covariance_matrix"):
        D.Wishart(_t(3.0), _t([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="Expected parameter scale_tril"):
        D.Wishart(_t(3.0), scale_tril=_t([[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="Expected value argument"):
        dist.log_prob(_t([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.warns(UserWarning, match="Low df values"):
        D.Wishart(_t(1.5), _t(cov))


def test_lkj_cholesky_matches_torch():
    conc, tconc = _pair([0.5, 1.0, 3.0])
    ours, theirs = D.LKJCholesky(3, conc), TD.LKJCholesky(3, tconc)
    assert ours.batch_shape == (3,) and ours.event_shape == (3, 3)
    value = theirs.sample((4,))
    lp, tlp = ours.log_prob(_t(value.numpy())), theirs.log_prob(value)
    _close(lp, tlp)
    lp.sum().backward()
    tlp.sum().backward()
    _close(conc.grad, tconc.grad)
    draws = ours.sample((4000,))
    assert draws.shape == (4000, 3, 3, 3)
    rows = np.linalg.norm(draws.numpy(), axis=-1)
    np.testing.assert_allclose(rows, 1.0, atol=1e-12)
    assert np.all(np.triu(draws.numpy(), 1) == 0)
    # the correlation L Lᵀ has E[r₁₂] = 0 and Var(r₁₂) = 1 / (2η + dim - 1) for η, dim = 3
    corr = draws.numpy() @ np.swapaxes(draws.numpy(), -1, -2)
    r = corr[:, :, 0, 1]
    np.testing.assert_allclose(r.mean(0), 0.0, atol=0.05)
    np.testing.assert_allclose(r.var(0), 1.0 / (2 * np.array([0.5, 1.0, 3.0]) + 2), rtol=0.1)
    assert ours.expand((2, 3)).sample().shape == (2, 3, 3, 3)
    with pytest.raises(ValueError, match="Expected dim to be an integer greater than or equal"):
        D.LKJCholesky(1)
    with pytest.raises(ValueError, match="Expected parameter concentration"):
        D.LKJCholesky(2, _t([0.0]))
    with pytest.raises(ValueError, match="Expected value argument"):
        ours.log_prob(_t(np.eye(3) * 2))


# ----------------------------------------------------------------------------- cross-family KL

def _builders():
    """family -> (parameter arrays, for the support pairs below)."""
    cov = _spd((), 3)
    lowrank = _lowrank_params((), 3, 2)
    return {
        "MultivariateNormal": (RNG.standard_normal(3), cov),
        "LowRankMultivariateNormal": lowrank,
        "Beta": (_pos(2), _pos(2)),
        "ContinuousBernoulli": (np.array([0.3, 0.8]),),
        "Exponential": (_pos(2),),
        "Gamma": (_pos(2), _pos(2)),
        "Normal": (RNG.standard_normal(2), _pos(2)),
        "Laplace": (RNG.standard_normal(2), _pos(2)),
        "Uniform": (np.array([0.1, -0.5]), np.array([0.7, 2.0])),
    }


def _cross_cases():
    from framework._distributions_families import KL_CROSS_PAIRS
    return sorted((p.__name__, q.__name__) for p, q in KL_CROSS_PAIRS)


@pytest.mark.parametrize("p_name,q_name", _cross_cases())
def test_cross_family_kl_matches_torch(p_name, q_name):
    from framework._distributions_families import KL_CROSS_PAIRS
    params = _builders()
    p_pairs = [_pair(a) for a in params[p_name]]
    q_params = params[q_name]
    if (p_name, q_name) == ("ContinuousBernoulli", "Uniform"):
        q_params = (np.array([-0.5, 0.2]), np.array([1.5, 2.0]))  # finite, then infinite
    q_pairs = [_pair(a) for a in q_params]
    ours_p = getattr(D, p_name)(*(o for o, _ in p_pairs))
    ours_q = getattr(D, q_name)(*(o for o, _ in q_pairs))
    theirs_p = getattr(TD, p_name)(*(t for _, t in p_pairs))
    theirs_q = getattr(TD, q_name)(*(t for _, t in q_pairs))
    kl = KL_CROSS_PAIRS[(type(ours_p), type(ours_q))](ours_p, ours_q)
    tkl = TD.kl_divergence(theirs_p, theirs_q)
    _close(kl, tkl)
    finite = torch.isfinite(tkl)
    if bool(finite.any()):
        mask = framework.tensor(finite.numpy())
        compare = framework.where(mask, kl, 0.0)
        compare.sum().backward()
        tkl[finite].sum().backward()
        for o, t in p_pairs + q_pairs:
            if t.grad is not None:
                _close(o.grad, t.grad, atol=1e-8)


def test_python_float_parameters_use_the_default_dtype():
    x = np.array([0.5, 2.0], dtype=np.float32)
    for name, args in (("Exponential", (1.5,)), ("Cauchy", (0.0, 2.0)),
                       ("StudentT", (3.0, 0.5, 2.0)), ("Geometric", (0.3,)),
                       ("GeneralizedPareto", (0.0, 1.0, 0.2)), ("VonMises", (0.5, 2.0))):
        ours = getattr(D, name)(*args)
        theirs = getattr(TD, name)(*(torch.tensor(a) for a in args))  # float64 oracle
        assert ours.batch_shape == () and ours.sample().shape == ()
        value = np.round(x) if name == "Geometric" else x
        lp = ours.log_prob(framework.tensor(value))
        assert lp.dtype is framework.float32
        reference = theirs.log_prob(torch.tensor(value, dtype=torch.float64)).numpy()
        np.testing.assert_allclose(lp.numpy(), reference, rtol=1e-5, atol=1e-6)


def _instances():
    """(ours, torch's, values to check) for each family, float64 parameters."""
    t = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    return [
        (D.Exponential(_t([1.5])), TD.Exponential(t([1.5])), [-1.0, 0.0, 2.0]),
        (D.Cauchy(_t([0.0]), _t([1.0])), TD.Cauchy(t([0.0]), t([1.0])), [-1.0, 3.0]),
        (D.Chi2(_t([3.0])), TD.Chi2(t([3.0])), [-1.0, 0.0, 2.0]),
        (D.StudentT(_t([3.0])), TD.StudentT(t([3.0])), [-2.0, 2.0]),
        (D.FisherSnedecor(_t([3.0]), _t([4.0])), TD.FisherSnedecor(t([3.0]), t([4.0])),
         [-1.0, 0.0, 2.0]),
        (D.VonMises(_t([0.0]), _t([2.0])), TD.VonMises(t([0.0]), t([2.0])), [-1.0, 3.0]),
        (D.GeneralizedPareto(_t([0.5, 0.5]), _t([1.0, 1.0]), _t([-0.5, 0.5])),
         TD.GeneralizedPareto(t([0.5, 0.5]), t([1.0, 1.0]), t([-0.5, 0.5])),
         [[0.0, 0.0], [1.0, 1.0], [3.0, 3.0]]),
        (D.ContinuousBernoulli(_t([0.3])), TD.ContinuousBernoulli(t([0.3])), [-0.5, 0.5, 1.5]),
        (D.Geometric(_t([0.3])), TD.Geometric(t([0.3])), [-1.0, 0.5, 2.0]),
        (D.NegativeBinomial(_t([3.0]), _t([0.4])), TD.NegativeBinomial(t([3.0]), t([0.4])),
         [-1.0, 0.5, 2.0]),
        (D.Multinomial(3, _t([0.2, 0.8])), TD.Multinomial(3, t([0.2, 0.8])),
         [[1.0, 2.0], [1.0, 1.0]]),
        (D.LowRankMultivariateNormal(_t([0.0, 0.0]), _t([[1.0], [0.5]]), _t([1.0, 2.0])),
         TD.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0], [0.5]]), t([1.0, 2.0])),
         [[0.1, -3.0]]),
        (D.Wishart(_t(3.0), covariance_matrix=_t(cov)),
         TD.Wishart(t(3.0), covariance_matrix=t(cov)), [cov, -cov]),
        (D.LKJCholesky(2, _t(1.5)), TD.LKJCholesky(2, t(1.5)),
         [[[1.0, 0.0], [0.6, 0.8]], [[1.0, 0.0], [0.6, 0.9]]]),
    ]


def test_families_carry_torchs_constraints_and_support():
    """``arg_constraints`` names torch's parameters and ``support.check`` agrees with torch's
    on values inside and outside the support (dependent supports included)."""
    for ours, theirs, values in _instances():
        name = type(ours).__name__
        assert set(ours.arg_constraints) == set(theirs.arg_constraints), name
        for value in values:
            got = ours.support.check(_t(value)).numpy()
            want = theirs.support.check(torch.tensor(value, dtype=torch.float64)).numpy()
            np.testing.assert_array_equal(got, want, err_msg=f"{name} at {value}")
    mixture = D.MixtureSameFamily(D.Categorical(probs=_t([0.5, 0.5])),
                                  D.Exponential(_t([1.0, 2.0])))
    assert mixture.support is mixture.component_distribution.support


def test_half_cauchy_matches_torch():
    scale, tscale = _pair(_pos(3))
    ours, theirs = D.HalfCauchy(scale), TD.HalfCauchy(tscale)
    x = np.abs(RNG.standard_normal(3)) * 2
    lp, tlp = ours.log_prob(_t(x)), theirs.log_prob(torch.tensor(x))
    _close(lp, tlp)
    lp.sum().backward()
    tlp.sum().backward()
    _close(scale.grad, tscale.grad)
    _close(ours.cdf(_t(x)), theirs.cdf(torch.tensor(x)))
    _close(ours.icdf(_t([0.1, 0.5, 0.9])), theirs.icdf(torch.tensor([0.1, 0.5, 0.9])))
    _close(ours.entropy(), theirs.entropy())
    assert np.isinf(ours.mean.numpy()).all() and ours.expand((2, 3)).batch_shape == (2, 3)
    sample = ours.rsample((4,))
    assert sample.shape == (4, 3) and (sample.detach().numpy() >= 0).all()
    scale.grad = None
    sample.sum().backward()
    assert scale.grad is not None and (scale.grad.numpy() > 0).all()  # |X| grows with scale
    with pytest.raises(ValueError, match="scale"):
        D.HalfCauchy(_t([-1.0]))
    with pytest.raises(ValueError, match="support"):
        D.HalfCauchy(_t([1.0]), validate_args=True).log_prob(_t([-1.0]))


@pytest.mark.parametrize("name", ["Normal", "Bernoulli", "Gamma", "Exponential"])
def test_exponential_family_entropy_is_torchs_bregman_form(name):
    """The families torch derives from ExponentialFamily are instances of ours, and the
    generic entropy (autograd of the log normalizer) equals each family's own entropy and
    torch's, with gradients to the parameters."""
    a, ta = _pair(_pos(3))
    b, tb = _pair(_pos(3, low=0.2, high=0.8))
    build = {
        "Normal": lambda lib, a, b: lib.Normal(a, b),
        "Bernoulli": lambda lib, a, b: lib.Bernoulli(probs=b),
        "Gamma": lambda lib, a, b: lib.Gamma(a, b),
        "Exponential": lambda lib, a, b: lib.Exponential(a),
    }[name]
    ours, theirs = build(D, a, b), build(TD, ta, tb)
    assert isinstance(ours, D.ExponentialFamily) and isinstance(theirs, TD.ExponentialFamily)
    generic = D.ExponentialFamily.entropy(ours)
    _close(generic, theirs.entropy())
    _close(generic, ours.entropy())
    generic.sum().backward()
    TD.ExponentialFamily.entropy(theirs).sum().backward()
    for ours_p, theirs_p in ((a, ta), (b, tb)):
        if theirs_p.grad is not None:
            _close(ours_p.grad, theirs_p.grad)


def test_exponential_families_without_a_carrier_measure_raise_like_torch():
    """Beta, Dirichlet and Poisson are exponential families in torch too, whose generic
    entropy raises NotImplementedError there (no mean carrier measure): the same here."""
    for ours, theirs in ((D.Beta(_t([2.0]), _t([3.0])), TD.Beta(torch.tensor([2.0]),
                                                                  torch.tensor([3.0]))),
                         (D.Dirichlet(_t([2.0, 3.0])), TD.Dirichlet(torch.tensor([2.0, 3.0]))),
                         (D.Poisson(_t([2.0])), TD.Poisson(torch.tensor([2.0])))):
        assert isinstance(ours, D.ExponentialFamily)
        with pytest.raises(NotImplementedError):
            TD.ExponentialFamily.entropy(theirs)
        with pytest.raises(NotImplementedError):
            D.ExponentialFamily.entropy(ours)
