"""framework.distributions' constraints, transforms, biject_to/transform_to, register_kl,
TransformedDistribution and the distributions built on it, against torch.distributions
(float64 oracle): values, gradients, caching, shapes, moments, sampling and validation."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.distributions as TD
from distribution_oracle import close as _close, f64 as _f64, pair as _pair
import torch.distributions.transforms as TT

import framework
import framework.distributions as D
import framework.distributions.transforms as T
from framework.distributions import constraints as C

RNG = np.random.default_rng(11)


@pytest.fixture(autouse=True)
def _fresh_rng():
    """The same parameter stream for each test, whichever tests ran before it."""
    global RNG
    RNG = np.random.default_rng(11)


def _t64(array):
    return torch.tensor(array, dtype=torch.float64)


# ----------------------------------------------------------------------------- transforms

def _real(shape):
    return RNG.standard_normal(shape)


def _positive(shape):
    return RNG.uniform(0.3, 2.0, shape)


def _make_affine(lib, tensor):
    return lib.AffineTransform(tensor([0.5, -1.0, 2.0]), tensor([1.5, -0.5, 2.0]))


# name -> (build(lib, tensor), input sampler, input shape, whether to check log|det J|)
TRANSFORMS = {
    "exp": (lambda lib, t: lib.ExpTransform(), _real, (2, 3), True),
    "exp_inv": (lambda lib, t: lib.ExpTransform().inv, _positive, (2, 3), True),
    "power": (lambda lib, t: lib.PowerTransform(t(2.5)), _positive, (2, 3), True),
    "sigmoid": (lambda lib, t: lib.SigmoidTransform(), _real, (2, 3), True),
    "tanh": (lambda lib, t: lib.TanhTransform(), _real, (2, 3), True),
    "softplus": (lambda lib, t: lib.SoftplusTransform(), _real, (2, 3), True),
    "abs": (lambda lib, t: lib.AbsTransform(), _real, (2, 3), False),
    "affine": (_make_affine, _real, (2, 3), True),
    "affine_event": (lambda lib, t: lib.AffineTransform(1.0, -3.0, event_dim=1), _real,
                     (2, 3), True),
    "softmax": (lambda lib, t: lib.SoftmaxTransform(), _real, (2, 3), False),
    "stick_breaking": (lambda lib, t: lib.StickBreakingTransform(), _real, (2, 3), True),
    "lower_cholesky": (lambda lib, t: lib.LowerCholeskyTransform(), _real, (2, 3, 3), False),
    "positive_definite": (lambda lib, t: lib.PositiveDefiniteTransform(), _real, (2, 3, 3),
                          False),
    "corr_cholesky": (lambda lib, t: lib.CorrCholeskyTransform(), _real, (2, 6), True),
    "independent": (lambda lib, t: lib.IndependentTransform(lib.ExpTransform(), 1), _real,
                    (2, 3), True),
    "reshape": (lambda lib, t: lib.ReshapeTransform((2, 3), (6,)), _real, (4, 2, 3), True),
    "cat": (lambda lib, t: lib.CatTransform([lib.ExpTransform(), lib.identity_transform], -1,
                                            [2, 1]), _real, (2, 3), True),
    "cat_event": (lambda lib, t: lib.CatTransform(
        [lib.AffineTransform(0.5, 2.0, event_dim=1),
         lib.IndependentTransform(lib.ExpTransform(), 1)], -1,
        [2, 3]), _real, (2, 5), True),
    "stack": (lambda lib, t: lib.StackTransform([lib.ExpTransform(), lib.TanhTransform()], 1),
              _real, (3, 2), True),
    "compose": (lambda lib, t: lib.ComposeTransform([lib.AffineTransform(0.5, 2.0),
                                                     lib.TanhTransform()]), _real, (2, 3), True),
    "compose_event": (lambda lib, t: lib.ComposeTransform([lib.ExpTransform(),
                                                           lib.StickBreakingTransform()]),
                      _real, (2, 3), True),
}


def _build(name, device="cpu"):
    build = TRANSFORMS[name][0]
    ours = build(T, lambda v: framework.tensor(v, dtype=framework.float64, device=device))
    theirs = build(TT, lambda v: torch.tensor(v, dtype=torch.float64))
    return ours, theirs


CUDA_TRANSFORMS = ["affine", "cat", "corr_cholesky", "stick_breaking", "tanh"]


@pytest.mark.parametrize("name,device", [(n, "cpu") for n in sorted(TRANSFORMS)]
                         + [(n, "cuda") for n in CUDA_TRANSFORMS])
def test_transform_forward_inverse_log_det_and_gradients_match_torch(name, device):
    ours, theirs = _build(name, device)
    _, sample, shape, with_ladj = TRANSFORMS[name]
    x, tx = _pair(sample(shape), device)
    y, ty = ours(x), theirs(tx)
    _close(y, ty)
    _close(ours.inv(y.detach()), theirs.inv(ty.detach()), atol=1e-8)
    total, ttotal = (y * y).sum(), (ty * ty).sum()
    if with_ladj:
        ladj, tladj = ours.log_abs_det_jacobian(x, y), theirs.log_abs_det_jacobian(tx, ty)
        _close(ladj, tladj)
        assert tuple(ladj.shape) == tuple(tladj.shape)
        total, ttotal = total + ladj.sum(), ttotal + tladj.sum()
    total.backward()
    ttotal.backward()
    _close(x.grad, tx.grad, atol=1e-8)


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_attributes_match_torch(name):
    ours, theirs = _build(name)
    _, _, shape, _ = TRANSFORMS[name]
    assert ours.bijective == theirs.bijective
    assert ours.domain.event_dim == theirs.domain.event_dim
    assert ours.codomain.event_dim == theirs.codomain.event_dim
    assert repr(ours.domain) == repr(theirs.domain) or name in ("affine", "power")
    assert tuple(ours.forward_shape(shape)) == tuple(theirs.forward_shape(torch.Size(shape)))
    out = tuple(theirs.forward_shape(torch.Size(shape)))
    assert tuple(ours.inverse_shape(out)) == tuple(theirs.inverse_shape(torch.Size(out)))
    assert ours.inv.inv is ours and ours == ours and not ours != ours
    assert ours.inv == ours.inv and ours.inv != ours


def test_transform_signs_equality_and_repr():
    assert T.ExpTransform().sign == 1 and T.TanhTransform().inv.sign == 1
    assert T.AffineTransform(0.0, -2.0).sign == -1
    assert T.AffineTransform(0.0, _f64([2.0, -1.0])).sign.tolist() == [1.0, -1.0]
    assert T.ComposeTransform([T.AffineTransform(0.0, -2.0), T.ExpTransform()]).sign == -1
    assert T.PowerTransform(_f64(-1.0)).sign.item() == -1
    assert T.ExpTransform() == T.ExpTransform() and T.ExpTransform() != T.TanhTransform()
    assert T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, 2.0)
    assert T.AffineTransform(1.0, 2.0) != T.AffineTransform(1.0, 3.0)
    assert T.PowerTransform(_f64(2.0)) == T.PowerTransform(_f64(2.0))
    assert T.ComposeTransform([T.ExpTransform()]) == T.ComposeTransform([T.ExpTransform()])
    assert repr(T.ExpTransform().inv) == repr(TT.ExpTransform().inv)
    assert repr(T.ComposeTransform([T.ExpTransform(), T.TanhTransform()])) == repr(
        TT.ComposeTransform([TT.ExpTransform(), TT.TanhTransform()]))
    assert T.identity_transform(_f64([1.0])).item() == 1.0
    with pytest.raises(NotImplementedError):
        T.AbsTransform().sign
    with pytest.raises(ValueError, match="Please use either"):
        T.CorrCholeskyTransform().event_dim


def test_transform_cache_returns_the_cached_pair():
    x = _f64(_real((3,)))
    cached = T.ExpTransform(cache_size=1)
    y = cached(x)
    assert cached(x) is y and cached.inv(y) is x
    plain = T.ExpTransform()
    assert plain.inv(plain(x)) is not x
    # the inverse direction fills the cache too
    inv_cached = T.TanhTransform(cache_size=1)
    back = inv_cached.inv(y.tanh())
    assert inv_cached(back) is not None and inv_cached.inv(y.tanh()) is not back
    # a saturated tanh sample inverts to its input through the cache only
    big = _f64([30.0, -40.0])
    tanh = T.TanhTransform(cache_size=1)
    assert tanh.inv(tanh(big)) is big
    assert not np.isfinite(T.TanhTransform().inv(T.TanhTransform()(big)).numpy()).all()
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        T.ExpTransform(cache_size=2)
    assert T.ExpTransform().with_cache(1)._cache_size == 1
    compose = T.ComposeTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], cache_size=1)
    assert all(part._cache_size == 1 for part in compose.parts)
    z = compose(x)
    assert compose.inv(z) is x
    assert T.AffineTransform(1.0, 2.0).with_cache(1)._cache_size == 1


def test_transform_shape_errors_match_torch():
    with pytest.raises(ValueError, match="different numbers of elements"):
        T.ReshapeTransform((2, 3), (5,))
    with pytest.raises(ValueError, match="Shape mismatch"):
        T.ReshapeTransform((2, 3), (6,)).forward_shape((4, 3, 2))
    with pytest.raises(ValueError, match="flattened lower-diagonal"):
        T.CorrCholeskyTransform().forward_shape((4,))
    with pytest.raises(ValueError, match="Too few dimensions"):
        T.StickBreakingTransform().forward_shape(())
    with pytest.raises(AssertionError, match="must equal length"):
        T.CatTransform([T.ExpTransform(), T.ExpTransform()], 0, [1, 1])(_f64([1.0, 2.0, 3.0]))


def test_cumulative_distribution_transform_matches_torch():
    loc, tloc = _pair(_real(3))
    ours = T.CumulativeDistributionTransform(D.Normal(loc, 1.5))
    theirs = TT.CumulativeDistributionTransform(TD.Normal(tloc, 1.5))
    x, tx = _pair(_real((2, 3)))
    y, ty = ours(x), theirs(tx)
    _close(y, ty)
    _close(ours.inv(y), theirs.inv(ty), atol=1e-8)
    ladj, tladj = ours.log_abs_det_jacobian(x, y), theirs.log_abs_det_jacobian(tx, ty)
    _close(ladj, tladj)
    (y.sum() + ladj.sum()).backward()
    (ty.sum() + tladj.sum()).backward()
    _close(x.grad, tx.grad)
    _close(loc.grad, tloc.grad)
    assert repr(ours.domain) == "Real()" and ours.sign == 1


def test_tanh_log_det_is_stable_for_large_inputs():
    x = _f64([-50.0, -20.0, 0.0, 20.0, 50.0])
    ladj = T.TanhTransform().log_abs_det_jacobian(x, x.tanh())
    tladj = TT.TanhTransform().log_abs_det_jacobian(_t64(x.numpy()), _t64(x.numpy()).tanh())
    assert np.isfinite(ladj.numpy()).all()
    _close(ladj, tladj)


# ----------------------------------------------------------------------------- constraints

CONSTRAINT_VALUES = [-1.0, 0.0, 0.5, 1.0, 2.0, 3.0, float("nan"), float("inf")]

ELEMENTWISE = {
    "real": lambda c: c.real,
    "positive": lambda c: c.positive,
    "nonnegative": lambda c: c.nonnegative,
    "unit_interval": lambda c: c.unit_interval,
    "boolean": lambda c: c.boolean,
    "nonnegative_integer": lambda c: c.nonnegative_integer,
    "positive_integer": lambda c: c.positive_integer,
    "greater_than": lambda c: c.greater_than(1.0),
    "greater_than_eq": lambda c: c.greater_than_eq(1.0),
    "less_than": lambda c: c.less_than(1.0),
    "interval": lambda c: c.interval(0.0, 2.0),
    "half_open_interval": lambda c: c.half_open_interval(0.0, 2.0),
    "integer_interval": lambda c: c.integer_interval(0, 2),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_constraint_check_matches_torch(name):
    ours, theirs = ELEMENTWISE[name](C), ELEMENTWISE[name](TD.constraints)
    values = np.array(CONSTRAINT_VALUES)
    got = ours.check(_f64(values))
    assert got.dtype == framework.bool
    assert got.numpy().tolist() == theirs.check(_t64(values)).numpy().tolist()
    assert repr(ours) == repr(theirs)
    assert ours.is_discrete == theirs.is_discrete and ours.event_dim == theirs.event_dim


def _matrices():
    good = np.linalg.cholesky(np.array([[2.0, 0.3, 0.1], [0.3, 1.5, 0.2], [0.1, 0.2, 1.0]]))
    corr = good / np.linalg.norm(good, axis=-1, keepdims=True)
    spd = good @ good.T
    upper = good.T.copy()
    negdiag = good.copy()
    negdiag[1, 1] = -negdiag[1, 1]
    asym = spd.copy()
    asym[0, 1] += 0.5
    indefinite = np.diag([1.0, -1.0, 2.0])
    return np.stack([good, corr, spd, upper, negdiag, asym, indefinite, np.zeros((3, 3))])


@pytest.mark.parametrize("name", ["lower_triangular", "lower_cholesky", "corr_cholesky",
                                  "square", "symmetric", "positive_definite",
                                  "positive_semidefinite"])
def test_matrix_constraint_check_matches_torch(name):
    ours, theirs = getattr(C, name), getattr(TD.constraints, name)
    values = _matrices()
    assert ours.check(_f64(values)).numpy().tolist() == theirs.check(_t64(values)).tolist()
    assert ours.event_dim == theirs.event_dim == 2 and repr(ours) == repr(theirs)


def test_vector_constraints_match_torch():
    values = np.array([[0.2, 0.3, 0.5], [0.2, 0.3, 0.6], [-0.1, 0.6, 0.5], [0.0, 1.0, 0.0],
                       [1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    for name in ("simplex", "one_hot", "real_vector"):
        ours, theirs = getattr(C, name), getattr(TD.constraints, name)
        assert ours.check(_f64(values)).numpy().tolist() == theirs.check(_t64(values)).tolist()
        assert ours.event_dim == theirs.event_dim and repr(ours) == repr(theirs)
    counts = np.array([[1.0, 2.0, 0.0], [3.0, 2.0, 0.0], [-1.0, 1.0, 1.0]])
    assert (C.multinomial(4).check(_f64(counts)).numpy().tolist()
            == TD.constraints.multinomial(4).check(_t64(counts)).tolist())
    indep = C.independent(C.positive, 2)
    grid = np.abs(RNG.standard_normal((4, 2, 3)))
    grid[1, 0, 2] = -1.0
    assert indep.check(_f64(grid)).numpy().tolist() == [True, False, True, True]
    assert repr(indep) == repr(TD.constraints.independent(TD.constraints.positive, 2))
    assert indep.event_dim == 2
    with pytest.raises(ValueError, match="Expected value.dim"):
        indep.check(_f64([1.0]))


def test_cat_stack_and_dependent_constraints_match_torch():
    values = np.array([[0.5, -1.0, 2.0], [-0.5, 3.0, 0.0]])
    ours = C.cat([C.positive, C.real], dim=-1, lengths=[1, 2])
    theirs = TD.constraints.cat([TD.constraints.positive, TD.constraints.real], -1, [1, 2])
    assert ours.check(_f64(values)).numpy().tolist() == theirs.check(_t64(values)).tolist()
    ours = C.stack([C.positive, C.real, C.unit_interval], dim=-1)
    theirs = TD.constraints.stack([TD.constraints.positive, TD.constraints.real,
                                   TD.constraints.unit_interval], -1)
    assert ours.check(_f64(values)).numpy().tolist() == theirs.check(_t64(values)).tolist()
    assert ours.event_dim == theirs.event_dim and ours.is_discrete == theirs.is_discrete
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    with pytest.raises(ValueError, match="Cannot determine validity"):
        C.dependent.check(_f64([1.0]))
    with pytest.raises(NotImplementedError, match="event_dim cannot be determined"):
        C.dependent.event_dim
    custom = C.dependent(is_discrete=True, event_dim=1)
    assert custom.is_discrete and custom.event_dim == 1
    assert C.is_dependent(D.Uniform.support) and D.Uniform.support.event_dim == 0
    # tensor bounds, as a Uniform's support has
    bounds = C.interval(_f64([0.0, 1.0]), _f64([1.0, 3.0]))
    assert bounds.check(_f64([0.5, 0.5])).numpy().tolist() == [True, False]


def test_existing_distributions_have_torch_constraints():
    def reprs(dist):
        return {k: repr(v) for k, v in dist.arg_constraints.items()}

    pairs = [
        (D.Normal(0.0, 1.0), TD.Normal(0.0, 1.0)),
        (D.Bernoulli(0.3), TD.Bernoulli(0.3)),
        (D.Categorical(_f64([0.3, 0.7])), TD.Categorical(_t64([0.3, 0.7]))),
        (D.Gamma(2.0, 1.0), TD.Gamma(2.0, 1.0)),
        (D.Beta(2.0, 1.0), TD.Beta(2.0, 1.0)),
        (D.Laplace(0.0, 1.0), TD.Laplace(0.0, 1.0)),
        (D.LogNormal(0.0, 1.0), TD.LogNormal(0.0, 1.0)),
        (D.Poisson(2.0), TD.Poisson(2.0)),
        (D.Dirichlet(_f64([1.0, 2.0])), TD.Dirichlet(_t64([1.0, 2.0]))),
        (D.OneHotCategorical(_f64([0.3, 0.7])), TD.OneHotCategorical(_t64([0.3, 0.7]))),
        (D.MultivariateNormal(_f64([0.0, 0.0]), _f64(np.eye(2))),
         TD.MultivariateNormal(_t64([0.0, 0.0]), _t64(np.eye(2)))),
    ]
    for ours, theirs in pairs:
        assert reprs(ours) == reprs(theirs), type(ours).__name__
        assert repr(ours.support) == repr(theirs.support), type(ours).__name__
    assert repr(D.Uniform(0.0, 2.0).support) == "Interval(lower_bound=0.0, upper_bound=2.0)"
    assert repr(D.Categorical(_f64([0.3, 0.7])).support) == repr(
        TD.Categorical(_t64([0.3, 0.7])).support)


def test_validation_of_existing_distributions():
    with pytest.raises(ValueError, match="Expected parameter scale"):
        D.Normal(0.0, -1.0, validate_args=True)
    D.Normal(0.0, -1.0, validate_args=False)
    with pytest.raises(ValueError, match="Expected parameter probs"):
        D.Bernoulli(1.5, validate_args=True)
    with pytest.raises(ValueError, match="Uniform is not defined when low>= high"):
        D.Uniform(1.0, 0.0)
    with pytest.raises(ValueError, match="Expected value argument"):
        D.Bernoulli(0.3).log_prob(_f64(0.5))
    with pytest.raises(ValueError, match="Expected value argument"):
        D.Categorical(_f64([0.3, 0.7])).log_prob(_f64(2.0))
    with pytest.raises(ValueError, match="must match event_shape"):
        D.LogisticNormal(_f64([0.0, 1.0]), 1.0).log_prob(_f64([0.5, 0.5]))
    with pytest.raises(ValueError, match="not broadcastable"):
        D.Normal(_f64([0.0, 1.0]), 1.0).log_prob(_f64([0.5, 0.5, 0.1]))


# ----------------------------------------------------------------------------- registries

REGISTERED = {
    "real": lambda c: c.real,
    "positive": lambda c: c.positive,
    "nonnegative": lambda c: c.nonnegative,
    "greater_than": lambda c: c.greater_than(1.5),
    "less_than": lambda c: c.less_than(-0.5),
    "unit_interval": lambda c: c.unit_interval,
    "interval": lambda c: c.interval(-1.0, 3.0),
    "half_open_interval": lambda c: c.half_open_interval(-1.0, 3.0),
    "simplex": lambda c: c.simplex,
    "corr_cholesky": lambda c: c.corr_cholesky,
    "real_vector": lambda c: c.real_vector,
    "independent_positive": lambda c: c.independent(c.positive, 1),
    "cat": lambda c: c.cat([c.positive, c.unit_interval], -1, [2, 1]),
    "stack": lambda c: c.stack([c.positive, c.real, c.unit_interval], -1),
}


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("name", sorted(REGISTERED))
def test_biject_to_and_transform_to_match_torch(registry, name):
    ours = getattr(D, registry)(REGISTERED[name](C))
    theirs = getattr(TD, registry)(REGISTERED[name](TD.constraints))
    assert repr(ours) == repr(theirs)
    shape = (2, 3)
    if name in ("corr_cholesky",):
        shape = (2, 6)
    x, tx = _pair(_real(shape))
    y, ty = ours(x), theirs(tx)
    _close(y, ty)
    assert bool(REGISTERED[name](C).check(y).all().item())


def test_registries_reject_unknown_and_accept_new_constraints():
    with pytest.raises(NotImplementedError, match="Cannot transform _LowerTriangular"):
        D.biject_to(C.lower_triangular)
    assert isinstance(D.transform_to(C.lower_cholesky), T.LowerCholeskyTransform)
    assert isinstance(D.transform_to(C.positive_definite), T.PositiveDefiniteTransform)
    with pytest.raises(TypeError, match="Expected constraint"):
        D.biject_to.register(int, lambda c: None)
    registry = D.constraint_registry.ConstraintRegistry()

    @registry.register(C.positive)
    def _factory(constraint):
        return T.SoftplusTransform()

    assert isinstance(registry(C.greater_than(3.0)), T.SoftplusTransform)


# ----------------------------------------------------------------------------- TransformedDistribution

def test_tanh_normal_matches_torch_log_prob_rsample_and_gradients():
    mu, tmu = _pair(_real((4, 2)))
    sd, tsd = _pair(_positive((4, 2)))
    ours = D.TransformedDistribution(D.Normal(mu, sd), [D.TanhTransform(cache_size=1)])
    theirs = TD.TransformedDistribution(TD.Normal(tmu, tsd), [TT.TanhTransform(cache_size=1)])
    assert ours.batch_shape == (4, 2) and ours.event_shape == () and ours.has_rsample
    assert repr(ours.support) == repr(theirs.support)
    value = np.tanh(_real((3, 4, 2)))
    lp, tlp = ours.log_prob(_f64(value)), theirs.log_prob(_t64(value))
    _close(lp, tlp)
    lp.sum().backward()
    tlp.sum().backward()
    _close(mu.grad, tmu.grad)
    _close(sd.grad, tsd.grad)
    mu.grad = sd.grad = None
    a = ours.rsample((5,))
    assert a.shape == (5, 4, 2) and a.requires_grad
    # the cached pre-image: log_prob of a fresh sample needs no atanh
    lp = ours.log_prob(a)
    assert np.isfinite(lp.detach().numpy()).all()
    (a.sum() + lp.sum()).backward()
    assert mu.grad is not None and sd.grad is not None
    sample = ours.sample((2,))
    assert sample.shape == (2, 4, 2) and not sample.requires_grad
    assert (np.abs(sample.numpy()) <= 1).all()


def test_rsample_gradient_matches_torch_for_fixed_noise():
    """With the same base noise, the gradient of E[f(rsample)] matches torch's."""
    mu, tmu = _pair(_real(3))
    sd, tsd = _pair(_positive(3))
    eps = _real((6, 3))
    ours = D.TransformedDistribution(D.Normal(mu, sd), [D.TanhTransform(cache_size=1),
                                                        D.AffineTransform(1.0, 2.0)])
    theirs = TD.TransformedDistribution(TD.Normal(tmu, tsd), [TT.TanhTransform(cache_size=1),
                                                              TT.AffineTransform(1.0, 2.0)])
    x, tx = mu + sd * _f64(eps), tmu + tsd * _t64(eps)
    for t in ours.transforms:
        x = t(x)
    for t in theirs.transforms:
        tx = t(tx)
    (x.sum() + ours.log_prob(x).sum()).backward()
    (tx.sum() + theirs.log_prob(tx).sum()).backward()
    _close(mu.grad, tmu.grad)
    _close(sd.grad, tsd.grad)


def test_transformed_distribution_shapes_cdf_icdf_expand():
    loc, tloc = _pair(_real(3))
    transforms = [D.ExpTransform(), D.AffineTransform(_f64(np.ones((2, 1))), 2.0)]
    ttransforms = [TT.ExpTransform(), TT.AffineTransform(_t64(np.ones((2, 1))), 2.0)]
    ours = D.TransformedDistribution(D.Normal(loc, 1.0), transforms)
    theirs = TD.TransformedDistribution(TD.Normal(tloc, 1.0), ttransforms)
    assert ours.batch_shape == tuple(theirs.batch_shape) == (2, 3)
    assert ours.base_dist.batch_shape == (2, 3)
    value = 1 + np.exp(_real((2, 3)))
    _close(ours.log_prob(_f64(value)), theirs.log_prob(_t64(value)))
    _close(ours.cdf(_f64(value)), theirs.cdf(_t64(value)))
    probs = RNG.uniform(0.1, 0.9, (2, 3))
    _close(ours.icdf(_f64(probs)), theirs.icdf(_t64(probs)), atol=1e-8)
    # a decreasing transform flips the cdf
    flip = D.TransformedDistribution(D.Normal(loc, 1.0), [D.AffineTransform(0.0, -1.0)])
    tflip = TD.TransformedDistribution(TD.Normal(tloc, 1.0), [TT.AffineTransform(0.0, -1.0)])
    _close(flip.cdf(_f64(value)), tflip.cdf(_t64(value)))
    wide = ours.expand((4, 2, 3))
    assert wide.batch_shape == (4, 2, 3) and wide.sample().shape == (4, 2, 3)
    _close(wide.log_prob(_f64(value)), theirs.expand((4, 2, 3)).log_prob(_t64(value)))
    # event dims: a stick-breaking transform makes Independent(base, 1)
    vec = D.TransformedDistribution(D.Normal(_f64(np.zeros((2, 3))), 1.0),
                                    D.StickBreakingTransform())
    assert vec.batch_shape == (2,) and vec.event_shape == (4,)
    assert isinstance(vec.base_dist, D.Independent)
    assert vec.rsample((5,)).shape == (5, 2, 4)
    with pytest.raises(ValueError, match="transforms must be a Transform or"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), "exp")
    with pytest.raises(ValueError, match="needs to have shape with size at least"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), D.StickBreakingTransform())
    with pytest.raises(ValueError, match="Expected value argument"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), D.ExpTransform()).log_prob(_f64(-1.0))


# ----------------------------------------------------------------------------- distributions

def _params(lo, hi, shape=(2, 3)):
    return _pair(RNG.uniform(lo, hi, shape))


def _compare_dist(ours, theirs, value, params, moments=("mean", "variance"), entropy=True,
                  atol=1e-9):
    lp, tlp = ours.log_prob(_f64(value)), theirs.log_prob(_t64(value))
    _close(lp, tlp, atol=atol)
    total, ttotal = lp.sum(), tlp.sum()
    if entropy:
        _close(ours.entropy(), theirs.entropy(), atol=atol)
        total, ttotal = total + ours.entropy().sum(), ttotal + theirs.entropy().sum()
    for name in moments:
        _close(getattr(ours, name), getattr(theirs, name), atol=atol)
    assert ours.batch_shape == tuple(theirs.batch_shape)
    assert ours.event_shape == tuple(theirs.event_shape)
    assert repr(ours.support) == repr(theirs.support) or isinstance(ours, D.Pareto)
    total.backward()
    ttotal.backward()
    for ours_p, theirs_p in params:
        _close(ours_p.grad, theirs_p.grad, atol=max(atol, 1e-8))


def _rsample_flows(dist, params, shape=(4,)):
    draw = dist.rsample(shape)
    assert draw.shape == shape + tuple(dist.batch_shape) + tuple(dist.event_shape)
    draw.sum().backward()
    for p, _ in params:
        assert p.grad is not None and np.isfinite(p.grad.numpy()).all()


def test_gumbel_matches_torch():
    loc, tloc = _params(-1, 1)
    scale, tscale = _params(0.5, 2)
    ours, theirs = D.Gumbel(loc, scale), TD.Gumbel(tloc, tscale)
    value = _real((4, 2, 3))
    _compare_dist(ours, theirs, value, [(loc, tloc), (scale, tscale)],
                  ("mean", "mode", "stddev", "variance"))
    _close(ours.cdf(_f64(value)), theirs.cdf(_t64(value)))
    loc.grad = scale.grad = None
    _rsample_flows(ours, [(loc, tloc), (scale, tscale)])
    draws = D.Gumbel(1.0, 2.0).sample((4000,)).numpy()
    assert abs(draws.mean() - (1 + 2 * 0.5772)) < 0.2
    with pytest.raises(ValueError, match="Expected parameter scale"):
        D.Gumbel(0.0, -1.0, validate_args=True)


def test_half_normal_matches_torch():
    scale, tscale = _params(0.5, 2)
    ours, theirs = D.HalfNormal(scale), TD.HalfNormal(tscale)
    value = np.abs(_real((4, 2, 3)))
    _compare_dist(ours, theirs, value, [(scale, tscale)], ("mean", "mode", "variance"))
    _close(ours.cdf(_f64(value)), theirs.cdf(_t64(value)))
    probs = RNG.uniform(0.1, 0.9, (2, 3))
    _close(ours.icdf(_f64(probs)), theirs.icdf(_t64(probs)))
    scale.grad = None
    _rsample_flows(ours, [(scale, tscale)])
    draws = D.HalfNormal(2.0).sample((4000,)).numpy()
    assert (draws >= 0).all() and abs(draws.mean() - 2 * math.sqrt(2 / math.pi)) < 0.15
    with pytest.raises(ValueError, match="Expected parameter scale"):
        D.HalfNormal(-1.0)
    with pytest.raises(ValueError, match="Expected value argument"):
        D.HalfNormal(1.0).log_prob(_f64(-1.0))


def test_weibull_matches_torch():
    scale, tscale = _params(0.5, 2)
    conc, tconc = _params(1.2, 3)
    ours, theirs = D.Weibull(scale, conc), TD.Weibull(tscale, tconc)
    value = _positive((4, 2, 3))
    _compare_dist(ours, theirs, value, [(scale, tscale), (conc, tconc)],
                  ("mean", "mode", "variance"))
    _close(ours.cdf(_f64(value)), theirs.cdf(_t64(value)))
    scale.grad = conc.grad = None
    _rsample_flows(D.Weibull(scale, conc), [(scale, tscale), (conc, tconc)])
    draws = D.Weibull(1.5, 2.0).sample((4000,)).numpy()
    assert abs(draws.mean() - 1.5 * math.gamma(1.5)) < 0.1
    with pytest.raises(ValueError, match="Expected parameter concentration"):
        D.Weibull(1.0, -2.0)


def test_pareto_matches_torch():
    scale, tscale = _params(0.5, 1.0)
    alpha, talpha = _params(2.5, 4)
    ours, theirs = D.Pareto(scale, alpha), TD.Pareto(tscale, talpha)
    value = 1.0 + _positive((4, 2, 3))
    _compare_dist(ours, theirs, value, [(scale, tscale), (alpha, talpha)],
                  ("mean", "mode", "variance"))
    assert isinstance(ours.support, type(C.greater_than_eq(0.0)))
    assert ours.support.lower_bound is ours.scale
    _close(D.Pareto(1.0, 0.5).mean, TD.Pareto(1.0, 0.5).mean)
    scale.grad = alpha.grad = None
    _rsample_flows(ours, [(scale, tscale), (alpha, talpha)])
    with pytest.raises(ValueError, match="Expected value argument"):
        D.Pareto(1.0, 2.0).log_prob(_f64(0.5))
    with pytest.raises(ValueError, match="Expected parameter rate"):  # the base's, as torch
        D.Pareto(1.0, 0.0)


def test_kumaraswamy_matches_torch():
    a, ta = _params(0.5, 3)
    b, tb = _params(0.5, 3)
    ours, theirs = D.Kumaraswamy(a, b), TD.Kumaraswamy(ta, tb)
    value = RNG.uniform(0.05, 0.95, (4, 2, 3))
    _compare_dist(ours, theirs, value, [(a, ta), (b, tb)], ("mean", "variance"), atol=1e-8)
    np.testing.assert_allclose(ours.mode.detach().numpy(), theirs.mode.detach().numpy(),
                               rtol=1e-9)
    a.grad = b.grad = None
    _rsample_flows(D.Kumaraswamy(a, b), [(a, ta), (b, tb)])
    draws = D.Kumaraswamy(2.0, 3.0).sample((4000,)).numpy()
    assert ((draws > 0) & (draws < 1)).all()
    assert abs(draws.mean() - TD.Kumaraswamy(2.0, 3.0).mean.item()) < 0.03


def test_logistic_normal_matches_torch():
    loc, tloc = _params(-1, 1)
    scale, tscale = _params(0.5, 2)
    ours, theirs = D.LogisticNormal(loc, scale), TD.LogisticNormal(tloc, tscale)
    value = np.exp(_real((4, 2, 4)))
    value = value / value.sum(-1, keepdims=True)
    _compare_dist(ours, theirs, value, [(loc, tloc), (scale, tscale)], (), entropy=False)
    assert ours.batch_shape == (2,) and ours.event_shape == (4,)
    loc.grad = scale.grad = None
    _rsample_flows(ours, [(loc, tloc), (scale, tscale)])
    single = D.LogisticNormal(_f64([0.0, 1.0]), 1.0)
    assert single.batch_shape == () and single.event_shape == (3,)
    assert single.sample((2,)).shape == (2, 3)
    _close(single.loc, [0.0, 1.0])


def test_relaxed_bernoulli_matches_torch():
    logits, tlogits = _params(-2, 2, (3,))
    temp = 0.7
    ours = D.RelaxedBernoulli(_f64(temp), logits=logits)
    theirs = TD.RelaxedBernoulli(_t64(temp), logits=tlogits)
    value = RNG.uniform(0.05, 0.95, (4, 3))
    _compare_dist(ours, theirs, value, [(logits, tlogits)], (), entropy=False)
    _close(ours.probs, theirs.probs)
    probs, tprobs = _params(0.1, 0.9, (3,))
    ours = D.LogitRelaxedBernoulli(_f64(temp), probs=probs)
    theirs = TD.relaxed_bernoulli.LogitRelaxedBernoulli(_t64(temp), probs=tprobs)
    _compare_dist(ours, theirs, _real((4, 3)), [(probs, tprobs)], (), entropy=False)
    probs.grad = None
    _rsample_flows(ours, [(probs, tprobs)])
    draws = D.RelaxedBernoulli(_f64(0.5), probs=_f64([0.8])).sample((2000,)).numpy()
    assert ((draws > 0) & (draws < 1)).all() and draws.mean() > 0.6
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        D.RelaxedBernoulli(_f64(0.5))
    with pytest.raises(ValueError, match="Expected parameter probs"):
        D.RelaxedBernoulli(_f64(0.5), probs=_f64([1.5]))
    assert D.RelaxedBernoulli(_f64(0.5), probs=_f64([0.3])).expand((2, 1)).batch_shape == (2, 1)


def test_relaxed_one_hot_categorical_matches_torch():
    logits, tlogits = _params(-2, 2, (2, 4))
    temp = 0.6
    ours = D.RelaxedOneHotCategorical(_f64(temp), logits=logits)
    theirs = TD.RelaxedOneHotCategorical(_t64(temp), logits=tlogits)
    value = np.exp(_real((3, 2, 4)))
    value = value / value.sum(-1, keepdims=True)
    _compare_dist(ours, theirs, value, [(logits, tlogits)], (), entropy=False)
    assert ours.batch_shape == (2,) and ours.event_shape == (4,)
    logits.grad = None
    _rsample_flows(D.RelaxedOneHotCategorical(_f64(temp), logits=logits), [(logits, tlogits)])
    base, tbase = _pair(RNG.uniform(0.1, 1.0, (2, 4)))
    ours = D.ExpRelaxedCategorical(_f64(temp), probs=base)
    theirs = TD.relaxed_categorical.ExpRelaxedCategorical(_t64(temp), probs=tbase)
    _compare_dist(ours, theirs, np.log(value), [(base, tbase)], (), entropy=False)
    draws = D.RelaxedOneHotCategorical(_f64(0.3), probs=_f64([0.7, 0.2, 0.1])).sample((2000,))
    draws = draws.numpy()
    np.testing.assert_allclose(draws.sum(-1), 1.0, atol=1e-6)
    assert draws.argmax(-1).tolist().count(0) > 1200
    assert D.RelaxedOneHotCategorical(_f64(0.5), logits=_f64([0.0, 1.0])).expand(
        (3,)).sample().shape == (3, 2)


def test_inverse_gamma_matches_torch():
    conc, tconc = _params(2.5, 4)
    rate, trate = _params(0.5, 2)
    ours, theirs = D.InverseGamma(conc, rate), TD.InverseGamma(tconc, trate)
    value = _positive((4, 2, 3))
    _compare_dist(ours, theirs, value, [(conc, tconc), (rate, trate)],
                  ("mean", "mode", "variance"))
    _close(D.InverseGamma(1.5, 1.0).variance, TD.InverseGamma(1.5, 1.0).variance)
    _close(D.InverseGamma(0.5, 1.0).mean, TD.InverseGamma(0.5, 1.0).mean)
    conc.grad = rate.grad = None
    _rsample_flows(ours, [(conc, tconc), (rate, trate)])
    draws = D.InverseGamma(5.0, 2.0).sample((3000,)).numpy()
    assert abs(draws.mean() - 0.5) < 0.05
    with pytest.raises(ValueError, match="Expected parameter rate"):
        D.InverseGamma(1.0, -1.0)


@pytest.mark.parametrize("name", ["Gumbel", "HalfNormal", "Weibull", "Pareto", "Kumaraswamy",
                                  "InverseGamma"])
def test_expand_and_sample_shapes(name):
    args = {"HalfNormal": (_f64([1.0, 2.0]),)}.get(name, (_f64([1.0, 2.0]), _f64([2.5, 3.0])))
    dist = getattr(D, name)(*args)
    wide = dist.expand((3, 2))
    assert wide.batch_shape == (3, 2)
    assert wide.sample((4,)).shape == (4, 3, 2)
    assert wide.log_prob(wide.sample()).shape == (3, 2)
    assert wide.rsample().shape == (3, 2)


# ----------------------------------------------------------------------------- kl_divergence

def test_new_kl_pairs_match_torch():
    a = [RNG.uniform(0.5, 2, 3) for _ in range(4)]
    cases = [
        (D.Gumbel, TD.Gumbel, (a[0] - 1, a[1]), (a[2] - 1, a[3])),
        (D.HalfNormal, TD.HalfNormal, (a[0],), (a[1],)),
        (D.Pareto, TD.Pareto, (a[0], a[1] + 1), (a[0] * 0.5, a[3] + 1)),
        (D.Pareto, TD.Pareto, (a[0], a[1] + 1), (a[0] * 2, a[3] + 1)),
    ]
    for ours_cls, theirs_cls, p_args, q_args in cases:
        ours = D.kl_divergence(ours_cls(*map(_f64, p_args)), ours_cls(*map(_f64, q_args)))
        theirs = TD.kl_divergence(theirs_cls(*map(_t64, p_args)),
                                  theirs_cls(*map(_t64, q_args)))
        _close(ours, theirs)
    p = D.TransformedDistribution(D.Normal(_f64(a[0]), _f64(a[1])), [D.ExpTransform()])
    q = D.TransformedDistribution(D.Normal(_f64(a[2]), _f64(a[3])), [D.ExpTransform()])
    tp = TD.TransformedDistribution(TD.Normal(_t64(a[0]), _t64(a[1])), [TT.ExpTransform()])
    tq = TD.TransformedDistribution(TD.Normal(_t64(a[2]), _t64(a[3])), [TT.ExpTransform()])
    _close(D.kl_divergence(p, q), TD.kl_divergence(tp, tq))
    other = D.TransformedDistribution(D.Normal(_f64(a[2]), 1.0), [D.TanhTransform()])
    with pytest.raises(NotImplementedError):
        D.kl_divergence(p, other)


def test_register_kl_dispatch_most_specific_and_ambiguity_warning():
    class MyNormal(D.Normal):
        """A subclass to register a KL for."""

    class OtherNormal(D.Normal):
        """Another subclass."""

    p, q = MyNormal(0.0, 1.0), MyNormal(1.0, 2.0)
    # inherits Normal-Normal
    _close(D.kl_divergence(p, q), TD.kl_divergence(TD.Normal(0.0, 1.0), TD.Normal(1.0, 2.0)))

    @D.register_kl(MyNormal, D.Normal)
    def _kl_mine(p, q):
        return framework.tensor(-1.0)

    assert D.kl_divergence(p, q).item() == -1.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), q).item() != -1.0

    @D.register_kl(D.Normal, OtherNormal)
    def _kl_other(p, q):
        return framework.tensor(-2.0)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        D.kl_divergence(MyNormal(0.0, 1.0), OtherNormal(0.0, 1.0))
    assert any("Ambiguous kl_divergence" in str(w.message) for w in caught)
    with pytest.raises(TypeError, match="Distribution subclass"):
        D.register_kl(int, D.Normal)
    # the pairs of _distributions_more are found through the registry
    _close(D.kl_divergence(D.Gamma(2.0, 1.0), D.Gamma(3.0, 2.0)),
           TD.kl_divergence(TD.Gamma(2.0, 1.0), TD.Gamma(3.0, 2.0)), atol=1e-6)
    with pytest.raises(NotImplementedError, match="No KL"):
        D.kl_divergence(D.Gamma(2.0, 1.0), D.Normal(0.0, 1.0))


# ----------------------------------------------------------------------------- SAC / cuda

@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_sac_tanh_normal_policy_gradients(device):
    """The SAC policy head: a = tanh(Normal(mu, std).rsample()), log π(a) with the cached
    pre-image; gradients reach mu and std, equal to torch's for the same noise."""
    mu_np, std_np = _real((2, 2)), _positive((2, 2))
    eps = _real((2, 2))
    mu, tmu = _pair(mu_np, device)
    std, tstd = _pair(std_np, device)
    ours = D.TransformedDistribution(D.Normal(mu, std), [D.TanhTransform(cache_size=1)])
    theirs = TD.TransformedDistribution(TD.Normal(tmu, tstd), [TT.TanhTransform(cache_size=1)])
    pre = mu + std * _f64(eps, device)
    tpre = tmu + tstd * _t64(eps)
    action = ours.transforms[0](pre)
    taction = theirs.transforms[0](tpre)
    log_pi = ours.log_prob(action).sum(-1)
    tlog_pi = theirs.log_prob(taction).sum(-1)
    _close(log_pi, tlog_pi)
    (log_pi.sum() - action.sum()).backward()
    (tlog_pi.sum() - taction.sum()).backward()
    _close(mu.grad, tmu.grad)
    _close(std.grad, tstd.grad)
    draw = ours.rsample()
    assert draw.device.type == device and draw.shape == (2, 2)
    ours.log_prob(draw).sum().backward()


# ----------------------------------------------------------------------------- base class

def test_user_subclass_validation_repr_and_defaults():
    class Shifted(D.Distribution):
        """A user distribution written as for torch."""

        arg_constraints = {"rate": C.positive}
        support = C.positive

        def __init__(self, rate, validate_args=None):
            self.rate = rate
            super().__init__(tuple(rate.shape), validate_args=validate_args)

        def log_prob(self, value):
            self._validate_sample(value)
            return self.rate.log() - self.rate * value

    dist = Shifted(_f64([1.0, 2.0]))
    assert dist.batch_shape == (2,) and repr(dist) == "Shifted(rate: (2,))"
    with pytest.raises(ValueError, match=r"Expected parameter rate \(Tensor of shape \(2,\)\) "
                                         r"of distribution Shifted\(rate: \(2,\)\) to satisfy "
                                         r"the constraint GreaterThan\(lower_bound=0.0\)"):
        Shifted(_f64([1.0, -2.0]))
    with pytest.raises(ValueError, match="must be a Tensor"):
        dist.log_prob(1.0)
    for name in ("mean", "variance", "mode"):
        with pytest.raises(NotImplementedError, match=name):
            getattr(dist, name)
    with pytest.raises(NotImplementedError, match="entropy"):
        dist.entropy()
    with pytest.raises(NotImplementedError, match="rsample"):
        dist.rsample()
    with pytest.raises(NotImplementedError, match="mean"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), D.ExpTransform()).mean
    bare = D.Distribution((2,))
    with pytest.warns(UserWarning, match="does not define `support`"):
        bare._validate_sample(_f64([1.0, 2.0]))
    D.Distribution.set_default_validate_args(False)
    try:
        Shifted(_f64([-1.0]))
        D.Normal(0.0, -1.0)
    finally:
        D.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError, match="Expected parameter scale"):
        D.Normal(0.0, -1.0)


def test_submodule_aliases_import():
    import framework.distributions.constraint_registry as registry
    import framework.distributions.constraints as constraints
    assert constraints is D.constraints and registry.biject_to is D.biject_to
    assert T is D.transforms and T.TanhTransform is D.TanhTransform
    for name in ("TransformedDistribution", "Gumbel", "register_kl", "biject_to",
                 "TanhTransform", "constraints"):
        assert name in D.__all__
