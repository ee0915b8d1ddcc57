"""More ``torch.distributions`` families: Exponential, Cauchy, Chi2, StudentT, Geometric,
NegativeBinomial, Multinomial, MixtureSameFamily, ContinuousBernoulli, FisherSnedecor,
VonMises, GeneralizedPareto, LowRankMultivariateNormal, OneHotCategoricalStraightThrough,
Wishart and LKJCholesky, with the same-family KL pairs torch registers among them
(``KL_PAIRS``).

Built from framework ops on the plumbing of ``_distributions_more`` (``_Elementwise``, the
Gamma sampler and its implicit reparameterization, the validation messages), so sampling
draws from framework's RNG (``framework.manual_seed`` reproduces it) and gradients come from
autograd. Names, signatures, defaults and error messages follow torch 2.13.
"""
from __future__ import annotations

import math

from . import _distribution_constraints as constraints
from . import dtypes
from ._distributions_transformed import _Half
from .autograd.grad_mode import no_grad
from .distributions import Categorical, Distribution, ExponentialFamily
from ._distributions_more import (
    Binomial, Gamma, OneHotCategorical, _LOG_2PI, _CategoricalEvents, _Elementwise, _all,
    _as_tensor, _broadcast_shapes, _check_param, _kl_gamma_gamma, _kl_onehot_onehot, _mT,
    _poisson_draw, _positive, _uniform_like, _validate_flag,
)
from .ops import compare, creation
from .ops import shape as shape_ops
from .ops.special import lgamma, digamma
from .tensor import Tensor

_NAN = float("nan")
_INF = float("inf")
_LOC = property(lambda self: self.loc, doc="``loc``.")


def _where(cond: Tensor, value, other) -> Tensor:
    return compare.where(cond, value, other)


def _full_like(x: Tensor, value: float) -> Tensor:
    return creation.full(tuple(x.shape), value, dtype=x.dtype, device=x.device)


def _clamp_probs(probs: Tensor) -> Tensor:
    """torch's ``clamp_probs``: into [eps, 1 - eps]."""
    eps = dtypes.finfo(probs.dtype).eps
    return probs.clamp(eps, 1 - eps)


def _binary_logits(probs: Tensor) -> Tensor:
    """torch's ``probs_to_logits(probs, is_binary=True)``."""
    clamped = _clamp_probs(probs)
    return clamped.log() - (-clamped).log1p()


def _is_count(value: Tensor) -> bool:
    """Every element a non-negative integer."""
    return _all(value >= 0) and _all(value == value.round())


class _Family(_Elementwise):
    """``_Elementwise`` whose ``expand`` passes parameters by name, and which takes
    ``probs`` or ``logits`` (one of them) as a binary-event parameter."""

    def expand(self, batch_shape, _instance=None):
        """The same distribution with its parameters broadcast to ``batch_shape``."""
        full = tuple(batch_shape) + tuple(self.event_shape)
        values = {n: getattr(self, n).expand(full) for n in self._params}
        return type(self)(**values, validate_args=False)

    def _init_binary(self, others: tuple, probs, logits, validate_args) -> str:
        """Set ``others`` (names to values) and ``probs``/``logits`` broadcast together;
        returns the key given. The other of ``probs``/``logits`` is derived as torch does."""
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        key = "probs" if probs is not None else "logits"
        self._params = tuple(name for name, _ in others) + (key,)
        values = tuple(v for _, v in others) + (probs if probs is not None else logits,)
        self._init_params(values, validate_args)
        if key == "probs":
            self.logits = _binary_logits(self.probs)
        else:
            self.probs = self.logits.sigmoid()
        return key

    @property
    def param_shape(self) -> tuple:
        """The shape of the ``probs``/``logits`` parameter given."""
        return tuple(getattr(self, self._params[-1]).shape)

    def entropy(self) -> Tensor:
        """Only where torch has it (not NegativeBinomial, FisherSnedecor, VonMises)."""
        raise NotImplementedError(f"{type(self).__name__}.entropy is not implemented")


# ----------------------------------------------------------------------------- continuous


class Exponential(_Family, ExponentialFamily):
    """Exponential with ``rate`` (density rate·e^(-rate x)); support [0, ∞); reparameterized."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative

    has_rsample = True
    _params = ("rate",)
    _positive_params = ("rate",)
    _support_name = "GreaterThanEq(lower_bound=0.0)"

    def __init__(self, rate, validate_args=None) -> None:
        self._init_params((rate,), validate_args)

    def _in_support(self, value: Tensor) -> bool:
        return _all(value >= 0)

    @property
    def mean(self) -> Tensor:
        """``1 / rate``."""
        return self.rate.reciprocal()

    @property
    def mode(self) -> Tensor:
        """Zero."""
        return _full_like(self.rate, 0.0)

    @property
    def stddev(self) -> Tensor:
        """``1 / rate``."""
        return self.rate.reciprocal()

    @property
    def variance(self) -> Tensor:
        """``rate ** -2``."""
        return self.rate ** -2

    def rsample(self, sample_shape=()) -> Tensor:
        """-log1p(-u) / rate with u uniform in [0, 1)."""
        u = _uniform_like(self.rate, self._extended(sample_shape))
        return -(-u).log1p() / self.rate

    def log_prob(self, value) -> Tensor:
        """log(rate) - rate · value."""
        value = self._value(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value) -> Tensor:
        """1 - exp(-rate · value)."""
        value = self._value(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value) -> Tensor:
        """-log1p(-value) / rate."""
        value = _as_tensor(value, self.rate)
        return -(-value).log1p() / self.rate

    @property
    def _natural_params(self) -> tuple:
        return (-self.rate,)

    def _log_normalizer(self, x) -> Tensor:
        return -(-x).log()

    _mean_carrier_measure = 0

    def entropy(self) -> Tensor:
        """1 - log(rate)."""
        return 1.0 - self.rate.log()


class Cauchy(_Family):
    """Cauchy (Lorentz) with median ``loc`` and half width ``scale``; support the reals;
    reparameterized. Mean NaN and variance ∞, as torch."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    has_rsample = True
    _params = ("loc", "scale")
    _positive_params = ("scale",)

    def __init__(self, loc, scale, validate_args=None) -> None:
        self._init_params((loc, scale), validate_args)

    @property
    def mean(self) -> Tensor:
        """NaN (undefined)."""
        return _full_like(self.loc, _NAN)

    mode = _LOC

    @property
    def variance(self) -> Tensor:
        """∞."""
        return _full_like(self.loc, _INF)

    def rsample(self, sample_shape=()) -> Tensor:
        """loc + scale · tan(π (u - 1/2)): the inverse CDF of a uniform draw."""
        u = _uniform_like(self.loc, self._extended(sample_shape))
        return self.loc + (math.pi * (u - 0.5)).tan() * self.scale

    def log_prob(self, value) -> Tensor:
        """-log π - log(scale) - log1p(((value - loc) / scale)²)."""
        value = self._value(value)
        return (-math.log(math.pi) - self.scale.log()
                - (((value - self.loc) / self.scale) ** 2).log1p())

    def cdf(self, value) -> Tensor:
        """atan((value - loc) / scale) / π + 1/2."""
        value = self._value(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value) -> Tensor:
        """tan(π (value - 1/2)) · scale + loc."""
        value = _as_tensor(value, self.loc)
        return (math.pi * (value - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        """log(4π) + log(scale)."""
        return math.log(4 * math.pi) + self.scale.log()


class HalfCauchy(_Half):
    """|X| for X ~ Cauchy(0, ``scale``); support [0, inf); reparameterized."""

    _base = Cauchy

    @property
    def mean(self) -> Tensor:
        """inf (no finite mean)."""
        return creation.full_like(self.scale, math.inf)

    @property
    def variance(self) -> Tensor:
        """inf."""
        return self.base_dist.variance


class Chi2(Gamma):
    """Chi-squared with ``df`` degrees of freedom: ``Gamma(0.5 df, 0.5)``; support [0, ∞)."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None) -> None:
        df = _as_tensor(df)
        validate = _validate_flag(validate_args)
        if validate:
            _check_param("Chi2()", "df", df, _positive(df), "GreaterThan(lower_bound=0.0)")
        super().__init__(0.5 * df, 0.5, validate_args=False)
        self._validate_args = validate

    @property
    def df(self) -> Tensor:
        """``2 concentration``."""
        return self.concentration * 2

    def expand(self, batch_shape, _instance=None) -> "Chi2":
        """The same distribution with ``df`` broadcast to ``batch_shape``."""
        return Chi2(self.df.expand(tuple(batch_shape)), validate_args=False)


class StudentT(_Family):
    """Student's t with ``df`` degrees of freedom, ``loc`` and ``scale``; support the reals;
    reparameterized through a Chi2 draw (implicit gradient in ``df``)."""

    arg_constraints = {"df": constraints.positive,
                       "loc": constraints.real,
                       "scale": constraints.positive}
    support = constraints.real

    has_rsample = True
    _params = ("df", "loc", "scale")
    _positive_params = ("df", "scale")

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None) -> None:
        self._init_params((df, loc, scale), validate_args)
        self._chi2 = Chi2(self.df, validate_args=False)

    @property
    def mean(self) -> Tensor:
        """``loc`` where df > 1, NaN elsewhere."""
        return _where(self.df <= 1, _NAN, self.loc)

    mode = _LOC

    @property
    def variance(self) -> Tensor:
        """scale² df / (df - 2) where df > 2, ∞ for 1 < df <= 2, NaN for df <= 1."""
        finite = self.df > 2
        safe_df = _where(finite, self.df, 3.0)
        var = self.scale ** 2 * safe_df / (safe_df - 2)
        var = _where(finite, var, _INF)
        return _where(self.df <= 1, _NAN, var)

    def rsample(self, sample_shape=()) -> Tensor:
        """loc + scale · X / sqrt(Z / df) with X standard normal and Z ~ Chi2(df)."""
        x = creation.randn(self._extended(sample_shape), dtype=self.df.dtype,
                           device=self.df.device)
        z = self._chi2.rsample(sample_shape)
        return self.loc + self.scale * (x * (z / self.df).rsqrt())

    def log_prob(self, value) -> Tensor:
        """-(df + 1)/2 · log1p(y²/df) - log(scale √(df π) B(df/2, 1/2)), y = (x - loc)/scale."""
        value = self._value(value)
        df = self.df
        y = (value - self.loc) / self.scale
        norm = (self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi)
                + lgamma(0.5 * df) - lgamma(0.5 * (df + 1.0)))
        return -0.5 * (df + 1.0) * (y ** 2 / df).log1p() - norm

    def entropy(self) -> Tensor:
        """log(scale) + (df+1)/2 (ψ((df+1)/2) - ψ(df/2)) + log(df)/2 + log B(df/2, 1/2)."""
        df = self.df
        lbeta = lgamma(0.5 * df) + math.lgamma(0.5) - lgamma(0.5 * (df + 1))
        return (self.scale.log()
                + 0.5 * (df + 1) * (digamma(0.5 * (df + 1)) - digamma(0.5 * df))
                + 0.5 * df.log() + lbeta)


class FisherSnedecor(_Family):
    """Fisher-Snedecor (F) with ``df1`` and ``df2``; support (0, ∞); reparameterized as a
    ratio of Gamma draws. No entropy (as torch)."""

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive

    has_rsample = True
    _params = ("df1", "df2")
    _positive_params = ("df1", "df2")
    _support_name = "GreaterThan(lower_bound=0.0)"

    def __init__(self, df1, df2, validate_args=None) -> None:
        self._init_params((df1, df2), validate_args)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)

    def _in_support(self, value: Tensor) -> bool:
        return _all(value > 0)

    @property
    def mean(self) -> Tensor:
        """df2 / (df2 - 2) where df2 > 2, NaN elsewhere."""
        valid = self.df2 > 2
        df2 = _where(valid, self.df2, 3.0)
        return _where(valid, df2 / (df2 - 2), _NAN)

    @property
    def mode(self) -> Tensor:
        """(df1 - 2)/df1 · df2/(df2 + 2) where df1 > 2, NaN elsewhere."""
        mode = (self.df1 - 2) / self.df1 * self.df2 / (self.df2 + 2)
        return _where(self.df1 <= 2, _NAN, mode)

    @property
    def variance(self) -> Tensor:
        """2 df2² (df1 + df2 - 2) / (df1 (df2 - 2)² (df2 - 4)) where df2 > 4, NaN elsewhere."""
        valid = self.df2 > 4
        df2 = _where(valid, self.df2, 5.0)
        var = 2 * df2 ** 2 * (self.df1 + df2 - 2) / (self.df1 * (df2 - 2) ** 2 * (df2 - 4))
        return _where(valid, var, _NAN)

    def rsample(self, sample_shape=()) -> Tensor:
        """X1 / X2 with X_i ~ Gamma(df_i / 2, df_i), both clamped to the dtype's ``tiny``."""
        tiny = dtypes.finfo(self.df1.dtype).tiny
        x1 = self._gamma1.rsample(sample_shape)
        x2 = self._gamma2.rsample(sample_shape).clamp(min=tiny)
        return (x1 / x2).clamp(min=tiny)

    def log_prob(self, value) -> Tensor:
        """log of the F density, written as torch does."""
        value = self._value(value)
        ct1, ct2 = self.df1 * 0.5, self.df2 * 0.5
        ct3 = self.df1 / self.df2
        t1 = lgamma(ct1 + ct2) - lgamma(ct1) - lgamma(ct2)
        t2 = ct1 * ct3.log() + (ct1 - 1) * value.log()
        t3 = (ct1 + ct2) * (ct3 * value).log1p()
        return t1 + t2 - t3


# torch's polynomial approximations of I0 and I1 (Abramowitz & Stegun 9.8.1-9.8.4), used by
# its VonMises log_prob and variance; kept so values match torch's to rounding.
_I0_SMALL = (1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.360768e-1, 0.45813e-2)
_I0_LARGE = (0.39894228, 0.1328592e-1, 0.225319e-2, -0.157565e-2, 0.916281e-2,
             -0.2057706e-1, 0.2635537e-1, -0.1647633e-1, 0.392377e-2)
_I1_SMALL = (0.5, 0.87890594, 0.51498869, 0.15084934, 0.2658733e-1, 0.301532e-2, 0.32411e-3)
_I1_LARGE = (0.39894228, -0.3988024e-1, -0.362018e-2, 0.163801e-2, -0.1031555e-1,
             0.2282967e-1, -0.2895312e-1, 0.1787654e-1, -0.420059e-2)


def _polynomial(y: Tensor, coefficients: tuple) -> Tensor:
    """Σ cₖ yᵏ by Horner's rule."""
    result = coefficients[-1]
    for c in reversed(coefficients[:-1]):
        result = c + y * result
    return result


def _log_bessel(x: Tensor, order: int) -> Tensor:
    """log I_order(x) for x > 0 and order 0 or 1, from torch's polynomial approximations:
    a series in (x/3.75)² below 3.75, an asymptotic one in 3.75/x above."""
    small_coef, large_coef = (_I0_SMALL, _I0_LARGE) if order == 0 else (_I1_SMALL, _I1_LARGE)
    below = x < 3.75
    x_small = _where(below, x, 1.0)
    x_large = _where(below, 3.75, x)
    small = _polynomial((x_small / 3.75) ** 2, small_coef)
    if order == 1:
        small = x_small.abs() * small
    large = (x_large - 0.5 * x_large.log()
             + _polynomial(3.75 / x_large, large_coef).log())
    return _where(below, small.log(), large)


def _von_mises_draw(loc: Tensor, kappa: Tensor) -> Tensor:
    """Best & Fisher (1979) rejection sampler, vectorized: redraw where rejected until every
    element is accepted. ``loc`` and ``kappa`` are float64 and of the draw's shape."""
    tau = 1 + (1 + 4 * kappa ** 2).sqrt()
    rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
    proposal_r = _where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho ** 2) / (2 * rho))
    shape = tuple(loc.shape)
    x = creation.zeros(shape, dtype=loc.dtype, device=loc.device)
    done = x > 0
    while not _all(done):
        u1, u2, u3 = (_uniform_like(loc, shape) for _ in range(3))
        z = (math.pi * u1).cos()
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = kappa * (proposal_r - f)
        accept = compare.logical_or(c * (2 - c) - u2 > 0, (c / u2).log() + 1 - c >= 0)
        fresh = compare.logical_and(accept, compare.logical_not(done))
        x = _where(fresh, (u3 - 0.5).sign() * f.acos(), x)
        done = compare.logical_or(done, accept)
    return (x + math.pi + loc) % (2 * math.pi) - math.pi


class VonMises(_Family):
    """Circular von Mises with angle ``loc`` and ``concentration``; support the reals
    (angles modulo 2π). No rsample and no entropy (as torch); sampled in float64."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real

    _params = ("loc", "concentration")
    _positive_params = ("concentration",)

    def __init__(self, loc, concentration, validate_args=None) -> None:
        self._init_params((loc, concentration), validate_args)

    def log_prob(self, value) -> Tensor:
        """κ cos(value - loc) - log(2π) - log I0(κ)."""
        value = self._value(value)
        return (self.concentration * (value - self.loc).cos() - _LOG_2PI
                - _log_bessel(self.concentration, 0))

    def _sample(self, sample_shape) -> Tensor:
        shape = self._extended(sample_shape)
        loc = self.loc.to(dtypes.float64).expand(shape)
        kappa = self.concentration.to(dtypes.float64).expand(shape)
        return _von_mises_draw(loc, kappa).to(self.loc.dtype)

    mean = _LOC  # the circular mean

    mode = _LOC

    @property
    def variance(self) -> Tensor:
        """The circular variance 1 - I1(κ)/I0(κ)."""
        kappa = self.concentration
        return 1 - (_log_bessel(kappa, 1) - _log_bessel(kappa, 0)).exp()


class GeneralizedPareto(_Family):
    """Generalized Pareto with ``loc``, ``scale`` and ``concentration`` (ξ); support
    [loc, loc - scale/ξ] for ξ < 0, [loc, ∞) otherwise; reparameterized through ``icdf``."""

    arg_constraints = {"loc": constraints.real,
                       "scale": constraints.positive,
                       "concentration": constraints.real}

    has_rsample = True
    _params = ("loc", "scale", "concentration")

    @property
    def support(self):
        """``interval(loc, loc - scale / concentration)`` where concentration < 0, else
        ``[loc, inf)`` (torch's dependent support)."""
        upper = compare.where(self.concentration < 0, self.loc - self.scale / self.concentration,
                              math.inf)
        return constraints.interval(self.loc, upper)
    _positive_params = ("scale",)

    def __init__(self, loc, scale, concentration, validate_args=None) -> None:
        self._init_params((loc, scale, concentration), validate_args)

    def _upper(self) -> Tensor:
        negative = self.concentration < 0
        safe = _where(negative, self.concentration, -1.0)
        return _where(negative, self.loc - self.scale / safe, _INF)

    @property
    def _support_name(self) -> str:
        return f"Interval(lower_bound={self.loc}, upper_bound={self._upper()})"

    def _in_support(self, value: Tensor) -> bool:
        return _all(compare.logical_and(value >= self.loc, value <= self._upper()))

    def _safe_concentration(self) -> tuple[Tensor, Tensor]:
        """(ξ ≈ 0 by torch.isclose's defaults, ξ with those entries set to 1)."""
        zero = self.concentration.abs() <= 1e-8
        return zero, _where(zero, 1.0, self.concentration)

    def _z(self, value: Tensor) -> Tensor:
        return (value - self.loc) / self.scale

    def rsample(self, sample_shape=()) -> Tensor:
        """``icdf`` of a uniform draw."""
        return self.icdf(_uniform_like(self.loc, self._extended(sample_shape)))

    def log_prob(self, value) -> Tensor:
        """-log(scale) - (1/ξ + 1) log1p(ξ z) (-log(scale) - z for ξ = 0)."""
        value = self._value(value)
        z = self._z(value)
        zero, xi = self._safe_concentration()
        y = 1 / xi + 1
        nonzero = _where(y == 0, y, y * (xi * z).log1p())
        return -self.scale.log() - _where(zero, z, nonzero)

    def log_survival_function(self, value) -> Tensor:
        """-log1p(ξ z) / ξ (-z for ξ = 0)."""
        value = self._value(value)
        z = self._z(value)
        zero, xi = self._safe_concentration()
        return _where(zero, -z, -(xi * z).log1p() / xi)

    def log_cdf(self, value) -> Tensor:
        """log1p(-exp(log_survival_function))."""
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value) -> Tensor:
        """exp(log_cdf)."""
        return self.log_cdf(value).exp()

    def icdf(self, value) -> Tensor:
        """loc + scale/ξ · expm1(-ξ log1p(-value)) (loc - scale log1p(-value) for ξ = 0)."""
        value = _as_tensor(value, self.loc)
        zero, xi = self._safe_concentration()
        log_u = (-value).log1p()
        nonzero = self.loc + self.scale / xi * (-xi * log_u).expm1()
        return _where(zero, self.loc - self.scale * log_u, nonzero)

    @property
    def mean(self) -> Tensor:
        """loc + scale / (1 - ξ) for ξ < 1, NaN elsewhere."""
        valid = self.concentration < 1
        xi = _where(valid, self.concentration, 0.5)
        return _where(valid, self.loc + self.scale / (1 - xi), _NAN)

    @property
    def variance(self) -> Tensor:
        """scale² / ((1 - ξ)² (1 - 2ξ)) for ξ < 1/2, NaN elsewhere."""
        valid = self.concentration < 0.5
        xi = _where(valid, self.concentration, 0.25)
        return _where(valid, self.scale ** 2 / ((1 - xi) ** 2 * (1 - 2 * xi)), _NAN)

    mode = _LOC

    def entropy(self) -> Tensor:
        """log(scale) + ξ + 1."""
        return self.scale.log() + self.concentration + 1


class ContinuousBernoulli(_Family, ExponentialFamily):
    """Continuous Bernoulli on [0, 1] with ``probs`` (clamped into (0, 1)) or ``logits``;
    ``lims`` bounds the region around 1/2 where Taylor expansions replace the closed
    forms. Reparameterized through ``icdf``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval

    has_rsample = True
    _support_name = "Interval(lower_bound=0.0, upper_bound=1.0)"

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501),
                 validate_args=None) -> None:
        if probs is not None and validate_args is not None:
            probs = _as_tensor(probs)
            if not _all(compare.logical_and(probs >= 0, probs <= 1)):
                raise ValueError("The parameter probs has invalid values")
        key = self._init_binary((), probs, logits, validate_args)
        if key == "probs":
            self.probs = _clamp_probs(self.probs)
            self.logits = _binary_logits(self.probs)
        else:
            self.probs = _clamp_probs(self.probs)
        self._lims = lims

    def expand(self, batch_shape, _instance=None) -> "ContinuousBernoulli":
        """The same distribution with its parameter broadcast to ``batch_shape``."""
        key = self._params[-1]
        return ContinuousBernoulli(**{key: getattr(self, key).expand(tuple(batch_shape))},
                                   lims=self._lims, validate_args=False)

    def _in_support(self, value: Tensor) -> bool:
        return _all(compare.logical_and(value >= 0, value <= 1))

    @property
    def mode(self) -> Tensor:
        """Not implemented (as torch)."""
        raise NotImplementedError("ContinuousBernoulli.mode is not implemented")

    def _outside_unstable_region(self) -> Tensor:
        return compare.logical_or(self.probs <= self._lims[0], self.probs > self._lims[1])

    def _cut_probs(self) -> Tensor:
        return _where(self._outside_unstable_region(), self.probs, self._lims[0])

    def _cont_bern_log_norm(self) -> Tensor:
        """log C(probs), the log normalizer, with a Taylor expansion near 1/2."""
        cut = self._cut_probs()
        below = cut <= 0.5
        cut_below = _where(below, cut, 0.0)
        cut_above = _where(cut >= 0.5, cut, 1.0)
        log_norm = ((-cut).log1p() - cut.log()).abs().log() - _where(
            below, (-2.0 * cut_below).log1p(), (2.0 * cut_above - 1.0).log())
        x = (self.probs - 0.5) ** 2
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return _where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self) -> Tensor:
        """p/(2p - 1) + 1/(log1p(-p) - log p), Taylor-expanded near 1/2."""
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / ((-cut).log1p() - cut.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x ** 2) * x
        return _where(self._outside_unstable_region(), mus, taylor)

    @property
    def variance(self) -> Tensor:
        """p(p - 1)/(1 - 2p)² + 1/(log1p(-p) - log p)², Taylor-expanded near 1/2."""
        cut = self._cut_probs()
        var = (cut * (cut - 1.0) / (1.0 - 2.0 * cut) ** 2
               + 1.0 / ((-cut).log1p() - cut.log()) ** 2)
        x = (self.probs - 0.5) ** 2
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return _where(self._outside_unstable_region(), var, taylor)

    def rsample(self, sample_shape=()) -> Tensor:
        """``icdf`` of a uniform draw: differentiable in the parameter."""
        return self.icdf(_uniform_like(self.probs, self._extended(sample_shape)))

    def log_prob(self, value) -> Tensor:
        """-BCE-with-logits(logits, value) + log C(probs)."""
        from .ops.loss import binary_cross_entropy_with_logits
        value = self._value(value)
        logits, value = shape_ops.broadcast_tensors(self.logits, value)
        return (-binary_cross_entropy_with_logits(logits, value, reduction="none")
                + self._cont_bern_log_norm())

    def cdf(self, value) -> Tensor:
        """(p^x (1-p)^(1-x) + p - 1) / (2p - 1), x near 1/2; 0 below 0, 1 above 1."""
        value = self._value(value)
        cut = self._cut_probs()
        cdfs = (cut ** value * (1.0 - cut) ** (1.0 - value) + cut - 1.0) / (2.0 * cut - 1.0)
        unbounded = _where(self._outside_unstable_region(), cdfs, value)
        return _where(value <= 0.0, 0.0, _where(value >= 1.0, 1.0, unbounded))

    def icdf(self, value) -> Tensor:
        """(log1p(-p + x (2p - 1)) - log1p(-p)) / (log p - log1p(-p)), x near 1/2."""
        value = _as_tensor(value, self.probs)
        cut = self._cut_probs()
        inverse = (((-cut + value * (2.0 * cut - 1.0)).log1p() - (-cut).log1p())
                   / (cut.log() - (-cut).log1p()))
        return _where(self._outside_unstable_region(), inverse, value)

    def entropy(self) -> Tensor:
        """mean · (log(1-p) - log p) - log C(p) - log(1-p)."""
        log_q = (-self.probs).log1p()
        log_p = self.probs.log()
        return self.mean * (log_q - log_p) - self._cont_bern_log_norm() - log_q


# ----------------------------------------------------------------------------- discrete


class Geometric(_Family):
    """Number of failures before the first success, success probability ``probs`` (in
    (0, 1]) or ``logits``; support {0, 1, ...}."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer

    _support_name = "IntegerGreaterThan(lower_bound=0)"

    def __init__(self, probs=None, logits=None, validate_args=None) -> None:
        key = self._init_binary((), probs, logits, validate_args)
        if key == "probs" and self._validate_args:
            probs = self.probs
            _check_param(self._name(), "probs", probs,
                         _all(compare.logical_and(probs >= 0, probs <= 1)),
                         "Interval(lower_bound=0.0, upper_bound=1.0)")
            if not _all(probs > 0):
                raise ValueError(f"Expected parameter probs (Tensor of shape "
                                 f"{tuple(probs.shape)}) of distribution {self._name()} to be "
                                 f"positive but found invalid values:\n{probs}")

    def _in_support(self, value: Tensor) -> bool:
        return _is_count(value)

    @property
    def mean(self) -> Tensor:
        """1/p - 1."""
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        """Zero."""
        return _full_like(self.probs, 0.0)

    @property
    def variance(self) -> Tensor:
        """(1/p - 1) / p."""
        return (1.0 / self.probs - 1.0) / self.probs

    def _sample(self, sample_shape) -> Tensor:
        tiny = dtypes.finfo(self.probs.dtype).tiny
        u = _uniform_like(self.probs, self._extended(sample_shape)).clamp(min=tiny)
        return (u.log() / (-self.probs).log1p()).floor()

    def log_prob(self, value) -> Tensor:
        """value · log1p(-p) + log p (0 · log 0 read as 0 where p = 1)."""
        value = self._value(value)
        value, probs = shape_ops.broadcast_tensors(value, self.probs)
        probs = _where(compare.logical_and(probs == 1, value == 0), 0.0, probs)
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        """BCE-with-logits(logits, p) / p."""
        from .ops.loss import binary_cross_entropy_with_logits
        bce = binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")
        return bce / self.probs


class NegativeBinomial(_Family):
    """Number of successes before ``total_count`` failures, success probability ``probs``
    (in [0, 1)) or ``logits``; support {0, 1, ...}. Sampled as a Gamma-Poisson mixture.
    No entropy (as torch)."""

    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0),
                       "logits": constraints.real}
    support = constraints.nonnegative_integer

    _support_name = "IntegerGreaterThan(lower_bound=0)"

    def __init__(self, total_count, probs=None, logits=None, validate_args=None) -> None:
        like = next((v for v in (probs, logits) if isinstance(v, Tensor)), None)
        total_count = _as_tensor(total_count, like)
        if like is not None:
            total_count = total_count.to(like.dtype)
        key = self._init_binary((("total_count", total_count),), probs, logits, validate_args)
        if self._validate_args:
            _check_param(self._name(), "total_count", self.total_count,
                         _all(self.total_count >= 0), "GreaterThanEq(lower_bound=0.0)")
            if key == "probs":
                probs = self.probs
                _check_param(self._name(), "probs", probs,
                             _all(compare.logical_and(probs >= 0, probs < 1)),
                             "HalfOpenInterval(lower_bound=0.0, upper_bound=1.0)")

    def _in_support(self, value: Tensor) -> bool:
        return _is_count(value)

    @property
    def mean(self) -> Tensor:
        """total_count · exp(logits)."""
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        """floor((total_count - 1) exp(logits)) clamped at 0."""
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        """mean / sigmoid(-logits)."""
        return self.mean / (-self.logits).sigmoid()

    def _sample(self, sample_shape) -> Tensor:
        gamma = Gamma(self.total_count, (-self.logits).exp(), validate_args=False)
        rate = gamma.sample(sample_shape)
        return _poisson_draw(rate)

    def log_prob(self, value) -> Tensor:
        """log Γ(n + k) - log Γ(k + 1) - log Γ(n) + n logσ(-logits) + k logσ(logits)."""
        from .ops.activation import logsigmoid
        value = self._value(value)
        n = self.total_count
        unnormalized = n * logsigmoid(-self.logits) + value * logsigmoid(self.logits)
        normalization = -lgamma(n + value) + lgamma(1.0 + value) + lgamma(n)
        normalization = _where(n + value == 0.0, 0.0, normalization)
        return unnormalized - normalization


class Multinomial(_CategoricalEvents):
    """Counts of ``total_count`` (an int) Categorical draws over the last dim of ``probs``
    (normalized here) or ``logits``; event shape (K,). ``log_prob`` accepts any total."""

    arg_constraints = {"probs": constraints.simplex,
                       "logits": constraints.independent(constraints.real, 1)}

    @property
    def support(self):
        """Counts summing to ``total_count``."""
        return constraints.multinomial(self.total_count)

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._init_categorical(probs, logits, validate_args)

    @property
    def mean(self) -> Tensor:
        """``total_count · probs``."""
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        """``total_count · probs (1 - probs)``."""
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        """Sum of ``total_count`` one-hot Categorical draws, in ``probs``' dtype."""
        from .ops.indexing import one_hot
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        with no_grad():
            draws = self._categorical.sample((self.total_count,) + tuple(sample_shape))
            counts = one_hot(draws, self.event_shape[0]).sum(0)
            return counts.to(self.probs.dtype).reshape(self._extended(sample_shape))

    def log_prob(self, value) -> Tensor:
        """log(n!) - Σ log(xᵢ!) + Σ xᵢ log pᵢ (0 · log 0 read as 0)."""
        value = _as_tensor(value, self.probs)
        if self._validate_args:
            # torch's multinomial constraint: non-negative, summing to at most total_count
            ok = _all(value >= 0) and _all(value.sum(-1) <= self.total_count)
            if not ok:
                raise ValueError(f"Expected value argument (Tensor of shape "
                                 f"{tuple(value.shape)}) to be within the support "
                                 f"(Multinomial()) of the distribution Multinomial(), but "
                                 f"found invalid values:\n{value}")
        logits, value = shape_ops.broadcast_tensors(self.logits, value)
        logits = _where(compare.logical_and(value == 0, logits == -_INF), 0.0, logits)
        return (lgamma(value.sum(-1) + 1) - lgamma(value + 1).sum(-1)
                + (logits * value).sum(-1))

    def entropy(self) -> Tensor:
        """n H(Categorical) - log n! + Σᵢ E[log xᵢ!] with xᵢ ~ Binomial(n, pᵢ)."""
        n = self.total_count
        binomial = Binomial(n, probs=self.probs, validate_args=False)
        support = binomial.enumerate_support(expand=False)[1:]
        binomial_probs = binomial.log_prob(support).exp()
        weights = lgamma(support + 1)
        term2 = (binomial_probs * weights).sum(0).sum(-1)
        return n * self._categorical.entropy() - math.lgamma(n + 1) + term2

    def expand(self, batch_shape, _instance=None) -> "Multinomial":
        """The same distribution with ``logits`` broadcast to ``batch_shape``."""
        logits = self.logits.expand(tuple(batch_shape) + self.event_shape)
        return Multinomial(self.total_count, logits=logits, validate_args=False)


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """OneHotCategorical whose ``rsample`` is the straight-through estimator: the one-hot
    draw in the forward pass, the gradient of ``probs`` in the backward pass."""

    has_rsample = True

    def rsample(self, sample_shape=()) -> Tensor:
        """``sample + (probs - probs.detach())``."""
        probs = self._categorical.probs
        return self.sample(sample_shape) + (probs - probs.detach())

    def expand(self, batch_shape, _instance=None) -> "OneHotCategoricalStraightThrough":
        """The same distribution with ``logits`` broadcast to ``batch_shape``."""
        shape = tuple(batch_shape) + self.event_shape
        return OneHotCategoricalStraightThrough(logits=self.logits.expand(shape),
                                                validate_args=False)


# ----------------------------------------------------------------------------- mixtures


class MixtureSameFamily(Distribution):
    """Mixture of the components along the rightmost batch dim of
    ``component_distribution``, weighted by the Categorical ``mixture_distribution``; the
    support is the components'. No rsample (as torch)."""

    arg_constraints = {}

    has_rsample = False

    @property
    def support(self):
        """The components' support."""
        return self._component_distribution.support

    def __init__(self, mixture_distribution, component_distribution,
                 validate_args=None) -> None:
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an "
                             " instance of torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution needs to be an "
                             "instance of torch.distributions.Distribution")
        mdbs = tuple(mixture_distribution.batch_shape)
        cdbs = tuple(component_distribution.batch_shape[:-1])
        for size1, size2 in zip(reversed(mdbs), reversed(cdbs)):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(f"`mixture_distribution.batch_shape` ({mdbs}) is not "
                                 f"compatible with `component_distribution.batch_shape`({cdbs})")
        km = mixture_distribution.logits.shape[-1]
        kc = component_distribution.batch_shape[-1]
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._num_component = km
        self.batch_shape = cdbs
        self.event_shape = tuple(component_distribution.event_shape)
        self._event_ndims = len(self.event_shape)
        self._validate_args = _validate_flag(validate_args)

    @property
    def mixture_distribution(self) -> Categorical:
        """The Categorical over components."""
        return self._mixture_distribution

    @property
    def component_distribution(self) -> Distribution:
        """The batch of components (rightmost batch dim)."""
        return self._component_distribution

    def _pad(self, x: Tensor) -> Tensor:
        return x.unsqueeze(-1 - self._event_ndims)

    def _mixture_probs(self) -> Tensor:
        """Mixture probabilities (..., k) with trailing ones for the event dims."""
        probs = self.mixture_distribution.probs
        return probs.reshape(tuple(probs.shape) + (1,) * self._event_ndims)

    @property
    def mean(self) -> Tensor:
        """Σₖ πₖ meanₖ."""
        probs = self._mixture_probs()
        return (probs * self.component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self) -> Tensor:
        """Law of total variance: Σₖ πₖ varₖ + Σₖ πₖ (meanₖ - mean)²."""
        probs = self._mixture_probs()
        dim = -1 - self._event_ndims
        comp = self.component_distribution
        mean_cond_var = (probs * comp.variance).sum(dim)
        var_cond_mean = (probs * (comp.mean - self._pad(self.mean)) ** 2).sum(dim)
        return mean_cond_var + var_cond_mean

    @property
    def stddev(self) -> Tensor:
        """``variance.sqrt()``."""
        return self.variance.sqrt()

    def cdf(self, x) -> Tensor:
        """Σₖ πₖ cdfₖ(x)."""
        x = self._pad(_as_tensor(x, self.mixture_distribution.probs))
        cdf_x = self.component_distribution.cdf(x)
        return (cdf_x * self.mixture_distribution.probs).sum(-1)

    def log_prob(self, x) -> Tensor:
        """logsumexp over components of log πₖ + log pₖ(x)."""
        x = self._pad(_as_tensor(x, self.mixture_distribution.probs))
        log_prob_x = self.component_distribution.log_prob(x)
        log_mix_prob = self.mixture_distribution.logits.log_softmax(-1)
        return (log_prob_x + log_mix_prob).logsumexp(-1)

    def sample(self, sample_shape=()) -> Tensor:
        """A component draw picked by a mixture draw (no gradient)."""
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        sample_shape = tuple(sample_shape)
        with no_grad():
            gather_dim = len(sample_shape) + len(self.batch_shape)
            mix_sample = self.mixture_distribution.sample(sample_shape)
            comp_samples = self.component_distribution.sample(sample_shape)
            mix_batch = tuple(self.mixture_distribution.batch_shape)
            pad = (1,) * (len(self.batch_shape) - len(mix_batch))
            index = mix_sample.reshape(sample_shape + pad + mix_batch
                                       + (1,) * (1 + self._event_ndims))
            index = index.expand(sample_shape + tuple(self.batch_shape) + (1,)
                                 + self.event_shape)
            return comp_samples.gather(gather_dim, index).squeeze(gather_dim)

    def expand(self, batch_shape, _instance=None) -> "MixtureSameFamily":
        """Components and mixture broadcast to ``batch_shape``."""
        batch_shape = tuple(batch_shape)
        comp = self.component_distribution
        if not hasattr(comp, "expand"):
            raise NotImplementedError(f"MixtureSameFamily.expand: the component distribution "
                                      f"{type(comp).__name__} has no expand")
        component = comp.expand(batch_shape + (self._num_component,))
        logits = self.mixture_distribution.logits.expand(batch_shape + (self._num_component,))
        return MixtureSameFamily(Categorical(logits=logits), component, validate_args=False)


# ----------------------------------------------------------------------------- low-rank normal


def _solve_tril(tril: Tensor, rhs: Tensor) -> Tensor:
    """x with ``tril @ x = rhs`` for matrices ``rhs``, batch dims broadcast."""
    import framework
    batch = _broadcast_shapes(tuple(tril.shape[:-2]), tuple(rhs.shape[:-2]))
    tril = tril.expand(batch + tuple(tril.shape[-2:]))
    rhs = rhs.expand(batch + tuple(rhs.shape[-2:]))
    return framework.linalg.solve_triangular(tril, rhs, upper=False)


def _batch_mv(matrix: Tensor, vector: Tensor) -> Tensor:
    return (matrix @ vector.unsqueeze(-1)).squeeze(-1)


def _batch_mahalanobis(tril: Tensor, x: Tensor) -> Tensor:
    """xᵀ (L Lᵀ)⁻¹ x for vectors ``x``."""
    return (_solve_tril(tril, x.unsqueeze(-1)).squeeze(-1) ** 2).sum(-1)


def _add_identity(matrix: Tensor) -> Tensor:
    import framework
    n = matrix.shape[-1]
    return matrix + framework.eye(n, dtype=matrix.dtype, device=matrix.device)


def _capacitance_tril(factor: Tensor, diag: Tensor) -> Tensor:
    """Cholesky factor of the capacitance I + Wᵀ D⁻¹ W (rank × rank)."""
    import framework
    wt_dinv = _mT(factor) / diag.unsqueeze(-2)
    return framework.linalg.cholesky(_add_identity(wt_dinv @ factor))


def _lowrank_logdet(diag: Tensor, capacitance: Tensor) -> Tensor:
    """log|W Wᵀ + D| = log|C| + log|D| (matrix determinant lemma)."""
    return 2 * capacitance.diagonal(dim1=-2, dim2=-1).log().sum(-1) + diag.log().sum(-1)


def _lowrank_mahalanobis(factor: Tensor, diag: Tensor, x: Tensor,
                         capacitance: Tensor) -> Tensor:
    """xᵀ (W Wᵀ + D)⁻¹ x by the Woodbury identity."""
    wt_dinv = _mT(factor) / diag.unsqueeze(-2)
    term1 = (x ** 2 / diag).sum(-1)
    return term1 - _batch_mahalanobis(capacitance, _batch_mv(wt_dinv, x))


def _trace_xxt(x: Tensor) -> Tensor:
    return (x ** 2).sum((-2, -1))


class LowRankMultivariateNormal(Distribution):
    """Gaussian over vectors with covariance ``cov_factor @ cov_factor.mT +
    diag(cov_diag)``: ``loc`` (..., n), ``cov_factor`` (..., n, rank), ``cov_diag``
    (..., n); the determinant and inverse go through the rank × rank capacitance matrix.
    Support the real vectors; reparameterized."""

    arg_constraints = {"loc": constraints.real_vector,
                       "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector

    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None) -> None:
        loc = _as_tensor(loc)
        cov_factor = _as_tensor(cov_factor, loc)
        cov_diag = _as_tensor(cov_diag, loc)
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        event_shape = tuple(loc.shape[-1:])
        if cov_factor.ndim < 2:
            raise ValueError("cov_factor must be at least two-dimensional, "
                             "with optional leading batch dimensions")
        if tuple(cov_factor.shape[-2:-1]) != event_shape:
            raise ValueError(f"cov_factor must be a batch of matrices with shape "
                             f"{event_shape[0]} x m")
        if tuple(cov_diag.shape[-1:]) != event_shape:
            raise ValueError(f"cov_diag must be a batch of vectors with shape {event_shape}")
        try:
            loc_, self.cov_factor, diag_ = shape_ops.broadcast_tensors(
                loc.unsqueeze(-1), cov_factor, cov_diag.unsqueeze(-1))
        except (RuntimeError, ValueError) as e:
            raise ValueError(f"Incompatible batch shapes: loc {tuple(loc.shape)}, cov_factor "
                             f"{tuple(cov_factor.shape)}, cov_diag {tuple(cov_diag.shape)}") from e
        self.loc = loc_[..., 0]
        self.cov_diag = diag_[..., 0]
        self.batch_shape = tuple(self.loc.shape[:-1])
        self.event_shape = event_shape
        self._validate_args = _validate_flag(validate_args)
        if self._validate_args:
            name = (f"LowRankMultivariateNormal(loc: {tuple(loc.shape)}, cov_factor: "
                    f"{tuple(cov_factor.shape)}, cov_diag: {tuple(cov_diag.shape)})")
            _check_param(name, "cov_diag", cov_diag, _positive(cov_diag),
                         "IndependentConstraint(GreaterThan(lower_bound=0.0), 1)")
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._capacitance_tril = _capacitance_tril(cov_factor, cov_diag)

    def _full(self, *tail) -> tuple:
        return tuple(self.batch_shape) + tuple(self.event_shape) + tail

    mean = _LOC

    mode = _LOC

    @property
    def variance(self) -> Tensor:
        """The covariance's diagonal: Σⱼ W²ᵢⱼ + Dᵢ."""
        var = (self._unbroadcasted_cov_factor ** 2).sum(-1) + self._unbroadcasted_cov_diag
        return var.expand(self._full())

    @property
    def stddev(self) -> Tensor:
        """``variance.sqrt()``."""
        return self.variance.sqrt()

    @property
    def scale_tril(self) -> Tensor:
        """Cholesky factor of the covariance, √D · chol(I + D^-½ W Wᵀ D^-½)."""
        import framework
        diag_sqrt = self._unbroadcasted_cov_diag.sqrt().unsqueeze(-1)
        scaled = self._unbroadcasted_cov_factor / diag_sqrt
        tril = diag_sqrt * framework.linalg.cholesky(_add_identity(scaled @ _mT(scaled)))
        return tril.expand(self._full(self.event_shape[0]))

    @property
    def covariance_matrix(self) -> Tensor:
        """``W Wᵀ + diag(D)``."""
        w = self._unbroadcasted_cov_factor
        cov = w @ _mT(w) + self._unbroadcasted_cov_diag.diag_embed()
        return cov.expand(self._full(self.event_shape[0]))

    @property
    def precision_matrix(self) -> Tensor:
        """D⁻¹ - Aᵀ A with A = C⁻¹ Wᵀ D⁻¹ (Woodbury)."""
        diag = self._unbroadcasted_cov_diag
        wt_dinv = _mT(self._unbroadcasted_cov_factor) / diag.unsqueeze(-2)
        a = _solve_tril(self._capacitance_tril, wt_dinv)
        precision = diag.reciprocal().diag_embed() - _mT(a) @ a
        return precision.expand(self._full(self.event_shape[0]))

    def rsample(self, sample_shape=()) -> Tensor:
        """loc + W ε_W + √D ε_D with standard normal ε: differentiable in the parameters."""
        shape = self._extended(sample_shape)
        rank = self.cov_factor.shape[-1]
        eps_w = creation.randn(shape[:-1] + (rank,), dtype=self.loc.dtype,
                               device=self.loc.device)
        eps_d = creation.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return (self.loc + _batch_mv(self._unbroadcasted_cov_factor, eps_w)
                + self._unbroadcasted_cov_diag.sqrt() * eps_d)

    def sample(self, sample_shape=()) -> Tensor:
        """``rsample`` without gradient."""
        with no_grad():
            return self.rsample(sample_shape)

    def _logdet(self) -> Tensor:
        return _lowrank_logdet(self._unbroadcasted_cov_diag, self._capacitance_tril)

    def log_prob(self, value) -> Tensor:
        """-(n log 2π + log|Σ| + Mahalanobis²) / 2."""
        value = _as_tensor(value, self.loc)
        diff = value - self.loc
        m = _lowrank_mahalanobis(self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag,
                                 diff, self._capacitance_tril)
        return -0.5 * (self.event_shape[0] * _LOG_2PI + self._logdet() + m)

    def entropy(self) -> Tensor:
        """(n (1 + log 2π) + log|Σ|) / 2."""
        h = 0.5 * (self.event_shape[0] * (1.0 + _LOG_2PI) + self._logdet())
        return h.expand(tuple(self.batch_shape))

    def expand(self, batch_shape, _instance=None) -> "LowRankMultivariateNormal":
        """The same distribution broadcast to ``batch_shape``."""
        shape = tuple(batch_shape) + tuple(self.event_shape)
        rank = self.cov_factor.shape[-1]
        return LowRankMultivariateNormal(self.loc.expand(shape),
                                         self.cov_factor.expand(shape + (rank,)),
                                         self.cov_diag.expand(shape), validate_args=False)


# ----------------------------------------------------------------------------- matrix families

_LOG_2 = math.log(2)


def _mvdigamma(x: Tensor, p: int) -> Tensor:
    """Σᵢ ψ(x - i/2) over i < p (the multivariate digamma)."""
    halves = creation.arange(p, dtype=x.dtype, device=x.device) / 2
    return digamma(x.unsqueeze(-1) - halves).sum(-1)


def _precision_to_scale_tril(precision: Tensor) -> Tensor:
    """Lower Cholesky factor of P⁻¹ without inverting P: L⁻¹ is the transposed flip of the
    Cholesky factor of the flipped P (torch's recipe)."""
    import framework
    flipped = framework.linalg.cholesky(precision.flip((-2, -1)))
    tril_inverse = _mT(flipped.flip((-2, -1)))
    eye = framework.eye(precision.shape[-1], dtype=precision.dtype, device=precision.device)
    return _solve_tril(tril_inverse, eye)


def _is_positive_definite(matrix: Tensor) -> Tensor:
    """Per matrix: symmetric (to torch's isclose) and its Cholesky factorization succeeds."""
    import framework
    _, info = framework.linalg.cholesky_ex(matrix)
    close = (matrix - _mT(matrix)).abs() <= 1e-8 + 1e-5 * _mT(matrix).abs()
    return compare.logical_and(close.all(-1).all(-1), info == 0)


class Wishart(ExponentialFamily):
    """Wishart over positive definite (p, p) matrices with ``df`` (> p - 1) and exactly one of
    ``covariance_matrix``, ``precision_matrix`` or ``scale_tril``; reparameterized by the
    Bartlett decomposition (Chi2 diagonal, implicit gradient in ``df``)."""

    arg_constraints = {"covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky,
                       "df": constraints.greater_than(0)}
    support = constraints.positive_definite

    has_rsample = True

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None) -> None:
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or "
                                 "scale_tril may be specified.")
        param = _as_tensor(given[0])
        if param.ndim < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        batch = _broadcast_shapes(tuple(param.shape[:-2]),
                                  tuple(df.shape) if isinstance(df, Tensor) else ())
        self.df = _as_tensor(df, param).expand(batch)
        p = param.shape[-1]
        if not _all(self.df > p - 1):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        if not _all(self.df >= p):
            import warnings
            warnings.warn("Low df values detected. Singular samples are highly likely to occur "
                          "for ndim - 1 < df < ndim.", stacklevel=2)
        self.batch_shape, self.event_shape = batch, (p, p)
        self._validate_args = _validate_flag(validate_args)
        key = ("scale_tril" if scale_tril is not None else
               "covariance_matrix" if covariance_matrix is not None else "precision_matrix")
        if self._validate_args:
            self._check(key, param)
        if key == "scale_tril":
            self._unbroadcasted_scale_tril = param
        elif key == "covariance_matrix":
            import framework
            self._unbroadcasted_scale_tril = framework.linalg.cholesky(param)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(param)
        offsets = creation.arange(p, dtype=param.dtype, device=param.device)
        self._dist_chi2 = Chi2(self.df.unsqueeze(-1) - offsets, validate_args=False)

    def _check(self, key: str, param: Tensor) -> None:
        name = f"Wishart(df: {tuple(self.df.shape)}, {key}: {tuple(param.shape)})"
        if key == "scale_tril":
            ok = _all(param.diagonal(dim1=-2, dim2=-1) > 0) and _all(param.triu(1) == 0)
            _check_param(name, key, param, ok, "LowerCholesky()")
        else:
            _check_param(name, key, param, _all(_is_positive_definite(param)),
                         "PositiveDefinite()")

    def _matrix_shape(self) -> tuple:
        return tuple(self.batch_shape) + tuple(self.event_shape)

    def _batch_scalar(self, x: Tensor) -> Tensor:
        return x.reshape(tuple(self.batch_shape) + (1, 1))

    @property
    def scale_tril(self) -> Tensor:
        """Lower Cholesky factor of the scale (covariance) matrix."""
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @property
    def covariance_matrix(self) -> Tensor:
        """``scale_tril @ scale_tril.mT``."""
        tril = self._unbroadcasted_scale_tril
        return (tril @ _mT(tril)).expand(self._matrix_shape())

    @property
    def precision_matrix(self) -> Tensor:
        """The inverse of the covariance, L⁻ᵀ L⁻¹."""
        import framework
        tril = self._unbroadcasted_scale_tril
        eye = framework.eye(tril.shape[-1], dtype=tril.dtype, device=tril.device)
        inverse = _solve_tril(tril, eye)
        return (_mT(inverse) @ inverse).expand(self._matrix_shape())

    @property
    def mean(self) -> Tensor:
        """``df · covariance_matrix``."""
        return self._batch_scalar(self.df) * self.covariance_matrix

    @property
    def mode(self) -> Tensor:
        """``(df - p - 1) · covariance_matrix`` where df > p + 1, NaN elsewhere."""
        factor = self.df - self.event_shape[-1] - 1
        factor = _where(factor <= 0, _NAN, factor)
        return self._batch_scalar(factor) * self.covariance_matrix

    @property
    def variance(self) -> Tensor:
        """df (Vᵢⱼ² + Vᵢᵢ Vⱼⱼ)."""
        v = self.covariance_matrix
        diag = v.diagonal(dim1=-2, dim2=-1)
        return self._batch_scalar(self.df) * (v ** 2 + diag.unsqueeze(-1) * diag.unsqueeze(-2))

    def _bartlett(self, sample_shape: tuple) -> Tensor:
        """L A Aᵀ Lᵀ with A lower triangular: √Chi2(df - i) on the diagonal, standard
        normals below it."""
        p = self.event_shape[-1]
        eps = dtypes.finfo(self.df.dtype).eps
        diag = self._dist_chi2.rsample(sample_shape).sqrt().clamp(min=eps)
        normal = creation.randn(tuple(sample_shape) + self._matrix_shape(),
                                dtype=diag.dtype, device=diag.device)
        noise = diag.diag_embed() + normal.tril(-1)
        chol = self._unbroadcasted_scale_tril @ noise
        return chol @ _mT(chol)

    def _singular(self, sample: Tensor) -> Tensor:
        """Per draw (over the batch too): whether any matrix is not positive definite."""
        bad = compare.logical_not(_is_positive_definite(sample))
        for _ in self.batch_shape:
            bad = bad.any(-1)
        return bad

    def rsample(self, sample_shape=(), max_try_correction=None) -> Tensor:
        """Bartlett draws; draws with a singular matrix are redrawn up to
        ``max_try_correction`` (10) times, with a warning, as torch does."""
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        sample_shape = tuple(sample_shape)
        tries = 10 if max_try_correction is None else max_try_correction
        sample = self._bartlett(sample_shape)
        singular = self._singular(sample)
        if bool(singular.any().item()):
            import warnings
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(tries):
                fresh = self._bartlett(sample_shape)
                pad = (1,) * (len(self.batch_shape) + 2)
                sample = _where(singular.reshape(tuple(singular.shape) + pad), fresh, sample)
                singular = self._singular(sample)
                if not bool(singular.any().item()):
                    break
        return sample

    def _half_log_det(self) -> Tensor:
        return self._unbroadcasted_scale_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)

    def log_prob(self, value) -> Tensor:
        """-ν (p log 2 / 2 + log|L|) - log Γ_p(ν/2) + (ν - p - 1)/2 log|X| - tr(Σ⁻¹X)/2."""
        import framework
        value = _as_tensor(value, self.df)
        if self._validate_args and not _all(_is_positive_definite(value)):
            raise ValueError(f"Expected value argument (Tensor of shape {tuple(value.shape)}) "
                             f"to be within the support (PositiveDefinite()) of the "
                             f"distribution Wishart(), but found invalid values:\n{value}")
        nu, p = self.df, self.event_shape[-1]
        tril = self._unbroadcasted_scale_tril
        eye = framework.eye(p, dtype=tril.dtype, device=tril.device)
        inverse = _solve_tril(tril, eye)
        trace = (inverse * (inverse @ value)).sum((-2, -1))
        logdet = framework.linalg.slogdet(value).logabsdet
        return (-nu * (p * _LOG_2 / 2 + self._half_log_det())
                - framework.special.multigammaln(nu / 2, p) + (nu - p - 1) / 2 * logdet
                - trace / 2)

    def entropy(self) -> Tensor:
        """(p+1)(p log 2 / 2 + log|L|) + log Γ_p(ν/2) - (ν-p-1)/2 ψ_p(ν/2) + ν p / 2."""
        import framework
        nu, p = self.df, self.event_shape[-1]
        return ((p + 1) * (p * _LOG_2 / 2 + self._half_log_det())
                + framework.special.multigammaln(nu / 2, p)
                - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p) + nu * p / 2)

    def expand(self, batch_shape, _instance=None) -> "Wishart":
        """The same distribution broadcast to ``batch_shape``."""
        batch_shape = tuple(batch_shape)
        tril = self._unbroadcasted_scale_tril.expand(batch_shape + tuple(self.event_shape))
        return Wishart(self.df.expand(batch_shape), scale_tril=tril, validate_args=False)


class LKJCholesky(Distribution):
    """LKJ distribution over the lower Cholesky factors of (dim, dim) correlation matrices
    with ``concentration`` η (> 0), sampled by the onion method (Beta radii, uniform
    directions). No rsample (as torch)."""

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration=1.0, validate_args=None) -> None:
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. "
                             f"Found dim={dim}.")
        self.dim = dim
        self.concentration = _as_tensor(concentration)
        self.batch_shape = tuple(self.concentration.shape)
        self.event_shape = (dim, dim)
        self._validate_args = _validate_flag(validate_args)
        if self._validate_args:
            _check_param(f"LKJCholesky(concentration: {self.batch_shape})", "concentration",
                         self.concentration, _positive(self.concentration),
                         "GreaterThan(lower_bound=0.0)")
        marginal = self.concentration + 0.5 * (dim - 2)
        offset = creation.arange(dim - 1, dtype=marginal.dtype, device=marginal.device)
        offset = shape_ops.cat([creation.zeros((1,), dtype=marginal.dtype,
                                               device=marginal.device), offset])
        from ._distributions_more import Beta
        self._beta = Beta(offset + 0.5, marginal.unsqueeze(-1) - 0.5 * offset,
                          validate_args=False)

    def sample(self, sample_shape=()) -> Tensor:
        """Rows √y · u with y ~ Beta and u uniform on the sphere of the row's first entries;
        the diagonal completes each row to unit norm."""
        with no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            normal = creation.randn(self._extended(sample_shape), dtype=y.dtype,
                                    device=y.device).tril(-1)
            norms = normal.norm(dim=-1, keepdim=True)
            sphere = normal / _where(norms == 0, 1.0, norms)  # row 0 is all zeros
            w = y.sqrt() * sphere
            tiny = dtypes.finfo(w.dtype).tiny
            diag = (1 - (w ** 2).sum(-1)).clamp(min=tiny).sqrt()
            return w + diag.diag_embed()

    def log_prob(self, value) -> Tensor:
        """Σᵢ (2(η - 1) + dim - i) log Lᵢᵢ (i = 2..dim) minus the log normalizer."""
        import framework
        value = _as_tensor(value, self.concentration)
        if self._validate_args:
            self._check_value(value)
        diag = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = creation.arange(2, self.dim + 1, dtype=diag.dtype, device=diag.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized = (order * diag.log()).sum(-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = lgamma(alpha) * dm1
        numerator = framework.special.multigammaln(alpha - 0.5, dm1)
        return unnormalized - (0.5 * dm1 * math.log(math.pi) + numerator - denominator)

    def _check_value(self, value: Tensor) -> None:
        """torch's CorrCholesky: lower triangular, positive diagonal, unit-norm rows."""
        tol = dtypes.finfo(value.dtype).eps * value.shape[-1] * 10
        rows = value.norm(dim=-1)
        ok = (_all(value.triu(1) == 0) and _all(value.diagonal(dim1=-2, dim2=-1) > 0)
              and _all((rows - 1).abs() <= tol))
        if not ok:
            raise ValueError(f"Expected value argument (Tensor of shape {tuple(value.shape)}) "
                             f"to be within the support (CorrCholesky()) of the distribution "
                             f"LKJCholesky(), but found invalid values:\n{value}")

    def expand(self, batch_shape, _instance=None) -> "LKJCholesky":
        """The same distribution with ``concentration`` broadcast to ``batch_shape``."""
        return LKJCholesky(self.dim, self.concentration.expand(tuple(batch_shape)),
                           validate_args=False)


# ----------------------------------------------------------------------------- KL pairs


def _kl_exponential_exponential(p: Exponential, q: Exponential) -> Tensor:
    ratio = q.rate / p.rate
    return -ratio.log() + ratio - 1


def _kl_cauchy_cauchy(p: Cauchy, q: Cauchy) -> Tensor:
    # Chyzak & Nielsen (arXiv:1905.10965)
    t1 = ((p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2).log()
    return t1 - (4 * p.scale * q.scale).log()


def _kl_geometric_geometric(p: Geometric, q: Geometric) -> Tensor:
    return -p.entropy() - (-q.probs).log1p() / p.probs - q.logits


def _kl_continuous_bernoulli(p: ContinuousBernoulli, q: ContinuousBernoulli) -> Tensor:
    t1 = p.mean * (p.logits - q.logits)
    t2 = p._cont_bern_log_norm() + (-p.probs).log1p()
    t3 = -q._cont_bern_log_norm() - (-q.probs).log1p()
    return t1 + t2 + t3


def _kl_lowrank_lowrank(p: LowRankMultivariateNormal,
                        q: LowRankMultivariateNormal) -> Tensor:
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Low Rank Multivariate Normals with "
                         "different event shapes cannot be computed")
    p_w, p_d = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag
    q_w, q_d = q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag
    term1 = (_lowrank_logdet(q_d, q._capacitance_tril)
             - _lowrank_logdet(p_d, p._capacitance_tril))
    term3 = _lowrank_mahalanobis(q_w, q_d, q.loc - p.loc, q._capacitance_tril)
    # inv(qΣ) pΣ = (qD⁻¹ - Aᵀ A)(pD + pW pWᵀ) with A = qC⁻¹ qWᵀ qD⁻¹
    a = _solve_tril(q._capacitance_tril, _mT(q_w) / q_d.unsqueeze(-2))
    term21 = (p_d / q_d).sum(-1)
    term22 = _trace_xxt(p_w * q_d.rsqrt().unsqueeze(-1))
    term23 = _trace_xxt(a * p_d.sqrt().unsqueeze(-2))
    term24 = _trace_xxt(a @ p_w)
    term2 = term21 + term22 - term23 - term24
    return 0.5 * (term1 + term2 + term3 - p.event_shape[0])


KL_PAIRS = {
    Exponential: _kl_exponential_exponential,
    Cauchy: _kl_cauchy_cauchy,
    Geometric: _kl_geometric_geometric,
    ContinuousBernoulli: _kl_continuous_bernoulli,
    LowRankMultivariateNormal: _kl_lowrank_lowrank,
    Chi2: _kl_gamma_gamma,
    OneHotCategoricalStraightThrough: _kl_onehot_onehot,
}


# ----------------------------------------------------------------------------- cross-family KL

_EULER_GAMMA = 0.57721566490153286060


def _kl_infinite(p, q) -> Tensor:
    """p puts mass where q has none."""
    first = getattr(p, p._params[0]) if hasattr(p, "_params") else p.loc
    return _full_like(first, _INF)


def _kl_mvn_lowrank(p, q: LowRankMultivariateNormal) -> Tensor:
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two (Low Rank) Multivariate Normals with "
                         "different event shapes cannot be computed")
    q_w, q_d = q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag
    p_tril = p.scale_tril
    term1 = (_lowrank_logdet(q_d, q._capacitance_tril)
             - 2 * p_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1))
    term3 = _lowrank_mahalanobis(q_w, q_d, q.loc - p.loc, q._capacitance_tril)
    a = _solve_tril(q._capacitance_tril, _mT(q_w) / q_d.unsqueeze(-2))
    term2 = _trace_xxt(p_tril * q_d.rsqrt().unsqueeze(-1)) - _trace_xxt(a @ p_tril)
    return 0.5 * (term1 + term2 + term3 - p.event_shape[0])


def _kl_lowrank_mvn(p: LowRankMultivariateNormal, q) -> Tensor:
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two (Low Rank) Multivariate Normals with "
                         "different event shapes cannot be computed")
    q_tril = q.scale_tril
    term1 = (2 * q_tril.diagonal(dim1=-2, dim2=-1).log().sum(-1)
             - _lowrank_logdet(p._unbroadcasted_cov_diag, p._capacitance_tril))
    term3 = _batch_mahalanobis(q_tril, q.loc - p.loc)
    term21 = _trace_xxt(_solve_tril(q_tril, p._unbroadcasted_cov_factor))
    term22 = _trace_xxt(_solve_tril(q_tril, p._unbroadcasted_cov_diag.sqrt().diag_embed()))
    return 0.5 * (term1 + term21 + term22 + term3 - p.event_shape[0])


def _kl_beta_continuous_bernoulli(p, q: ContinuousBernoulli) -> Tensor:
    return -p.entropy() - p.mean * q.logits - (-q.probs).log1p() - q._cont_bern_log_norm()


def _kl_beta_exponential(p, q: Exponential) -> Tensor:
    mean = p.concentration1 / (p.concentration1 + p.concentration0)
    return -p.entropy() - q.rate.log() + q.rate * mean


def _kl_continuous_bernoulli_exponential(p: ContinuousBernoulli, q: Exponential) -> Tensor:
    return -p.entropy() - q.rate.log() + q.rate * p.mean


def _kl_continuous_bernoulli_normal(p: ContinuousBernoulli, q) -> Tensor:
    t1 = -p.entropy()
    t2 = 0.5 * (_LOG_2PI + (q.loc / q.scale) ** 2) + q.scale.log()
    t3 = (p.variance + p.mean ** 2 - 2.0 * q.loc * p.mean) / (2.0 * q.scale ** 2)
    return t1 + t2 + t3


def _kl_continuous_bernoulli_uniform(p: ContinuousBernoulli, q) -> Tensor:
    # torch's condition, kept as it is: infinite unless q.low < 0 and q.high > 1
    result = -p.entropy() + (q.high - q.low).log()
    return _where(compare.logical_or(q.low >= 0.0, q.high <= 1.0), _INF, result)


def _kl_exponential_gamma(p: Exponential, q) -> Tensor:
    ratio = q.rate / p.rate
    return (-q.concentration * ratio.log() + ratio + lgamma(q.concentration)
            + q.concentration * _EULER_GAMMA - (1 + _EULER_GAMMA))


def _kl_exponential_normal(p: Exponential, q) -> Tensor:
    var_normal = q.scale ** 2
    rate_sqr = p.rate ** 2
    t1 = 0.5 * (rate_sqr * var_normal * 2 * math.pi).log()
    return t1 - 1 + (rate_sqr.reciprocal() - q.loc / p.rate + q.loc ** 2 * 0.5) / var_normal


def _kl_gamma_exponential(p, q: Exponential) -> Tensor:
    return -p.entropy() - q.rate.log() + q.rate * p.concentration / p.rate


def _kl_uniform_continuous_bernoulli(p, q: ContinuousBernoulli) -> Tensor:
    result = -p.entropy() - p.mean * q.logits - (-q.probs).log1p() - q._cont_bern_log_norm()
    return _where(compare.logical_or(p.high >= 1.0, p.low <= 0.0), _INF, result)


def _kl_uniform_exponential(p, q: Exponential) -> Tensor:
    result = q.rate * (p.high + p.low) / 2 - ((p.high - p.low) * q.rate).log()
    return _where(p.low < 0, _INF, result)


def _cross_pairs() -> dict:
    """The cross-family pairs torch registers that involve the families of this module."""
    from .distributions import Normal, Uniform
    from ._distributions_more import Beta, Laplace, MultivariateNormal
    pairs = {
        (MultivariateNormal, LowRankMultivariateNormal): _kl_mvn_lowrank,
        (LowRankMultivariateNormal, MultivariateNormal): _kl_lowrank_mvn,
        (Beta, ContinuousBernoulli): _kl_beta_continuous_bernoulli,
        (Beta, Exponential): _kl_beta_exponential,
        (ContinuousBernoulli, Exponential): _kl_continuous_bernoulli_exponential,
        (ContinuousBernoulli, Normal): _kl_continuous_bernoulli_normal,
        (ContinuousBernoulli, Uniform): _kl_continuous_bernoulli_uniform,
        (Exponential, Gamma): _kl_exponential_gamma,
        (Exponential, Normal): _kl_exponential_normal,
        (Gamma, Exponential): _kl_gamma_exponential,
        (Uniform, ContinuousBernoulli): _kl_uniform_continuous_bernoulli,
        (Uniform, Exponential): _kl_uniform_exponential,
    }
    for p, q in ((Exponential, Beta), (Exponential, ContinuousBernoulli), (Exponential, Uniform),
                 (Gamma, ContinuousBernoulli), (Laplace, ContinuousBernoulli),
                 (Laplace, Exponential), (Normal, ContinuousBernoulli), (Normal, Exponential)):
        pairs[(p, q)] = _kl_infinite
    return pairs


# (type(p), type(q)) -> KL(p || q) for pairs of different families (subclasses such as Chi2
# are meant to be found through their bases, as torch's registry does).
KL_CROSS_PAIRS = _cross_pairs()
