"""``TransformedDistribution`` and the distributions torch builds on it: Gumbel, HalfNormal,
Weibull, Pareto, Kumaraswamy, LogisticNormal, RelaxedBernoulli (on LogitRelaxedBernoulli),
RelaxedOneHotCategorical (on ExpRelaxedCategorical) and InverseGamma, with torch's
parameters, shapes, moments, entropies, validation and KL pairs.

``TransformedDistribution(base, transforms)`` samples ``base`` and pushes the draw through the
transforms; ``log_prob`` pulls a value back through the inverses, subtracting each
``log_abs_det_jacobian``. Everything is written on framework ops, so gradients reach the
parameters through ``rsample`` and ``log_prob`` on every device.
"""
from __future__ import annotations

import math

from . import _distribution_constraints as constraints
from . import dtypes
from ._distribution_transforms import (
    AbsTransform, AffineTransform, ComposeTransform, ExpTransform, PowerTransform,
    SigmoidTransform, StickBreakingTransform, Transform, _sum_rightmost,
)
from .autograd.grad_mode import no_grad
from .distributions import (
    Categorical, Distribution, Independent, Normal, Uniform, _as_tensor, _kl_normal_normal,
    _one_of, kl_divergence, register_kl,
)
from ._distributions_more import Gamma
from .ops import compare, creation
from .ops import shape as shape_ops
from .ops.special import digamma, lgamma
from .tensor import Tensor

_EULER = 0.57721566490153286060


def _broadcast_all(*values) -> list:
    """The values as tensors (numbers take the dtype and device of the first tensor),
    broadcast together."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    return shape_ops.broadcast_tensors(*[_as_tensor(v, like) for v in values])


def _clamp_probs(probs: Tensor) -> Tensor:
    eps = dtypes.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


class TransformedDistribution(Distribution):
    """``base_distribution`` pushed through ``transforms`` (a Transform or a list): samples are
    ``transforms[-1](...transforms[0](base.sample()))``; ``log_prob`` is the base log_prob of
    the pulled-back value minus the log |det J| of each transform."""

    arg_constraints: dict = {}

    def __init__(self, base_distribution, transforms, validate_args=None) -> None:
        if isinstance(transforms, Transform):
            self.transforms = [transforms]
        elif isinstance(transforms, list):
            if not all(isinstance(t, Transform) for t in transforms):
                raise ValueError("transforms must be a Transform or a list of Transforms")
            self.transforms = transforms
        else:
            raise ValueError(f"transforms must be a Transform or list, but was {transforms}")
        base_shape = tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape)
        base_event_dim = len(base_distribution.event_shape)
        transform = ComposeTransform(self.transforms)
        if len(base_shape) < transform.domain.event_dim:
            raise ValueError("base_distribution needs to have shape with size at least "
                             f"{transform.domain.event_dim}, but got {base_shape}.")
        forward_shape = tuple(transform.forward_shape(base_shape))
        expanded_base_shape = tuple(transform.inverse_shape(forward_shape))
        if base_shape != expanded_base_shape:
            base_batch = expanded_base_shape[:len(expanded_base_shape) - base_event_dim]
            base_distribution = base_distribution.expand(base_batch)
        reinterpreted = transform.domain.event_dim - base_event_dim
        if reinterpreted > 0:
            base_distribution = Independent(base_distribution, reinterpreted)
        self.base_dist = base_distribution
        change = transform.codomain.event_dim - transform.domain.event_dim
        event_dim = max(transform.codomain.event_dim, base_event_dim + change)
        cut = len(forward_shape) - event_dim
        self.batch_shape = forward_shape[:cut]
        self.event_shape = forward_shape[cut:]
        self._init_validation(validate_args, self._given_params())

    def _given_params(self):
        """The parameters ``_init_validation`` checks (all of ``arg_constraints``)."""
        return None

    def expand(self, batch_shape, _instance=None):
        """The same distribution with the base expanded so its batch is ``batch_shape``."""
        batch_shape = tuple(batch_shape)
        shape = batch_shape + tuple(self.event_shape)
        for t in reversed(self.transforms):
            shape = tuple(t.inverse_shape(shape))
        base_batch = shape[:len(shape) - len(self.base_dist.event_shape)]
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.base_dist = self.base_dist.expand(base_batch)
        new.batch_shape = batch_shape
        return new

    @constraints.dependent_property(is_discrete=False)
    def support(self):
        """The last transform's codomain, with any extra event dims made independent."""
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        if len(self.event_shape) > support.event_dim:
            support = constraints.independent(support,
                                              len(self.event_shape) - support.event_dim)
        return support

    @property
    def has_rsample(self) -> bool:
        """Whether the base distribution has ``rsample``."""
        return self.base_dist.has_rsample

    def sample(self, sample_shape=()) -> Tensor:
        """A base sample pushed through the transforms (no gradient)."""
        with no_grad():
            x = self.base_dist.sample(sample_shape)
            for transform in self.transforms:
                x = transform(x)
            return x

    def rsample(self, sample_shape=()) -> Tensor:
        """A reparameterized base sample pushed through the transforms."""
        x = self.base_dist.rsample(sample_shape)
        for transform in self.transforms:
            x = transform(x)
        return x

    def log_prob(self, value) -> Tensor:
        """Base log_prob of the pulled-back value minus each transform's log |det J|."""
        value = self._value(value)
        event_dim = len(self.event_shape)
        log_prob = 0.0
        y = value
        for transform in reversed(self.transforms):
            x = transform.inv(y)
            event_dim += transform.domain.event_dim - transform.codomain.event_dim
            log_prob = log_prob - _sum_rightmost(transform.log_abs_det_jacobian(x, y),
                                                 event_dim - transform.domain.event_dim)
            y = x
        base = self.base_dist.log_prob(y)
        return log_prob + _sum_rightmost(base, event_dim - len(self.base_dist.event_shape))

    def _value(self, value) -> Tensor:
        like = next(iter(self._tensors()), None)
        return self._checked(value, like)

    def _tensors(self):
        """Tensors of the distribution (for the dtype/device of Python-number values)."""
        dist = self.base_dist
        while isinstance(dist, Independent):
            dist = dist.base_dist
        return [v for v in vars(dist).values() if isinstance(v, Tensor)]

    def _monotonize_cdf(self, value):
        sign = 1
        for transform in self.transforms:
            sign = sign * transform.sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value) -> Tensor:
        """The base cdf of the pulled-back value (flipped for decreasing transforms)."""
        value = _as_tensor(value, next(iter(self._tensors()), None))
        for transform in self.transforms[::-1]:
            value = transform.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value) -> Tensor:
        """The base icdf pushed through the transforms."""
        value = _as_tensor(value, next(iter(self._tensors()), None))
        value = self.base_dist.icdf(self._monotonize_cdf(value))
        for transform in self.transforms:
            value = transform(value)
        return value


class _Exponential(Distribution):
    """Exponential(``rate``), the base of Weibull and Pareto (as in torch)."""

    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    def __init__(self, rate, validate_args=None) -> None:
        self.rate = _as_tensor(rate)
        self.batch_shape = tuple(self.rate.shape)
        self._init_validation(validate_args)

    def expand(self, batch_shape, _instance=None) -> "_Exponential":
        """The same distribution with ``rate`` broadcast to ``batch_shape``."""
        return self._expanded(batch_shape, "rate")

    def rsample(self, sample_shape=()) -> Tensor:
        """-log(1 - u) / rate for u uniform in [0, 1)."""
        shape = self._extended(sample_shape)
        u = creation.rand(shape, dtype=self.rate.dtype, device=self.rate.device)
        return -(-u).log1p() / self.rate

    def log_prob(self, value) -> Tensor:
        value = self._checked(value, self.rate)
        return self.rate.log() - self.rate * value

    def cdf(self, value) -> Tensor:
        value = self._checked(value, self.rate)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value) -> Tensor:
        return -(-_as_tensor(value, self.rate)).log1p() / self.rate


class Gumbel(TransformedDistribution):
    """Gumbel(``loc``, ``scale``): ``loc - scale log(-log U)``, as torch builds it from a
    Uniform with four transforms."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real

    def __init__(self, loc, scale, validate_args=None) -> None:
        self.loc, self.scale = _broadcast_all(loc, scale)
        finfo = dtypes.finfo(self.loc.dtype)
        base = Uniform(creation.full_like(self.loc, finfo.tiny),
                       creation.full_like(self.loc, 1 - finfo.eps), validate_args=validate_args)
        transforms = [ExpTransform().inv,
                      AffineTransform(loc=0, scale=-creation.ones_like(self.scale)),
                      ExpTransform().inv,
                      AffineTransform(loc=self.loc, scale=-self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "Gumbel":
        """The same distribution with its parameters broadcast to ``batch_shape``."""
        return self._expanded(batch_shape, "loc", "scale")

    def log_prob(self, value) -> Tensor:
        """(y - exp(y)) - log(scale) with y = (loc - value) / scale."""
        value = self._checked(value, self.loc)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    @property
    def mean(self) -> Tensor:
        """loc + scale γ."""
        return self.loc + self.scale * _EULER

    @property
    def mode(self) -> Tensor:
        """``loc``."""
        return self.loc

    @property
    def stddev(self) -> Tensor:
        """π scale / √6."""
        return (math.pi / math.sqrt(6)) * self.scale

    @property
    def variance(self) -> Tensor:
        """``stddev ** 2``."""
        return self.stddev ** 2

    def entropy(self) -> Tensor:
        """log(scale) + 1 + γ."""
        return self.scale.log() + (1 + _EULER)


class _Half(TransformedDistribution):
    """|X| for X ~ ``_base(0, scale)``, a family symmetric about 0 (HalfNormal, HalfCauchy):
    the base density doubled on [0, inf)."""

    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _base: type = Distribution  # the symmetric family, built as ``_base(0, scale)``

    def __init__(self, scale, validate_args=None) -> None:
        base = self._base(0, scale, validate_args=False)
        super().__init__(base, AbsTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "_Half":
        """The same distribution with ``scale`` broadcast to ``batch_shape``."""
        return self._expanded(batch_shape, "scale")

    @property
    def scale(self) -> Tensor:
        """The base distribution's scale."""
        return self.base_dist.scale

    @property
    def mode(self) -> Tensor:
        """0."""
        return creation.zeros_like(self.scale)

    def log_prob(self, value) -> Tensor:
        """The base log density + log 2 for value >= 0, -inf below."""
        value = self._checked(value, self.scale)
        log_prob = self.base_dist.log_prob(value) + math.log(2)
        return compare.where(value >= 0, log_prob, float("-inf"))

    def cdf(self, value) -> Tensor:
        """2 F(value) - 1 with F the base cdf."""
        value = self._checked(value, self.scale)
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob) -> Tensor:
        """The base icdf of (prob + 1) / 2."""
        return self.base_dist.icdf((_as_tensor(prob, self.scale) + 1) / 2)

    def entropy(self) -> Tensor:
        """The base entropy - log 2."""
        return self.base_dist.entropy() - math.log(2)


class HalfNormal(_Half):
    """|X| for X ~ Normal(0, ``scale``)."""

    _base = Normal

    @property
    def mean(self) -> Tensor:
        """scale √(2/π)."""
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self) -> Tensor:
        """scale² (1 - 2/π)."""
        return self.scale ** 2 * (1 - 2 / math.pi)


class Weibull(TransformedDistribution):
    """Weibull(``scale``, ``concentration``): scale · E^(1/concentration), E ~ Exp(1)."""

    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive

    def __init__(self, scale, concentration, validate_args=None) -> None:
        self.scale, self.concentration = _broadcast_all(scale, concentration)
        self.concentration_reciprocal = self.concentration.reciprocal()
        base = _Exponential(creation.ones_like(self.scale), validate_args=validate_args)
        transforms = [PowerTransform(exponent=self.concentration_reciprocal),
                      AffineTransform(loc=0, scale=self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "Weibull":
        """The same distribution with its parameters broadcast to ``batch_shape``."""
        return self._expanded(batch_shape, "scale", "concentration")

    @property
    def mean(self) -> Tensor:
        """scale Γ(1 + 1/k)."""
        return self.scale * lgamma(1 + self.concentration_reciprocal).exp()

    @property
    def mode(self) -> Tensor:
        """scale ((k - 1) / k)^(1/k)."""
        k = self.concentration
        return self.scale * ((k - 1) / k) ** k.reciprocal()

    @property
    def variance(self) -> Tensor:
        """scale² (Γ(1 + 2/k) - Γ(1 + 1/k)²)."""
        r = self.concentration_reciprocal
        return self.scale ** 2 * (lgamma(1 + 2 * r).exp() - (2 * lgamma(1 + r)).exp())

    def entropy(self) -> Tensor:
        """γ (1 - 1/k) + log(scale / k) + 1."""
        r = self.concentration_reciprocal
        return _EULER * (1 - r) + (self.scale * r).log() + 1


class Pareto(TransformedDistribution):
    """Pareto(``scale``, ``alpha``): scale · exp(E), E ~ Exp(alpha); support [scale, ∞)."""

    arg_constraints = {"alpha": constraints.positive, "scale": constraints.positive}

    def __init__(self, scale, alpha, validate_args=None) -> None:
        self.scale, self.alpha = _broadcast_all(scale, alpha)
        base = _Exponential(self.alpha, validate_args=validate_args)
        transforms = [ExpTransform(), AffineTransform(loc=0, scale=self.scale)]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "Pareto":
        """The same distribution with its parameters broadcast to ``batch_shape``."""
        return self._expanded(batch_shape, "scale", "alpha")

    @property
    def mean(self) -> Tensor:
        """alpha scale / (alpha - 1) (inf for alpha <= 1)."""
        a = self.alpha.clamp(min=1)
        return a * self.scale / (a - 1)

    @property
    def mode(self) -> Tensor:
        """``scale``."""
        return self.scale

    @property
    def variance(self) -> Tensor:
        """scale² alpha / ((alpha - 1)² (alpha - 2)) (inf for alpha <= 2)."""
        a = self.alpha.clamp(min=2)
        return self.scale ** 2 * a / ((a - 1) ** 2 * (a - 2))

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        """``greater_than_eq(scale)``."""
        return constraints.greater_than_eq(self.scale)

    def entropy(self) -> Tensor:
        """log(scale / alpha) + 1 + 1/alpha."""
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


def _kumaraswamy_moment(a: Tensor, b: Tensor, n: int) -> Tensor:
    """E[Xⁿ] = b B(1 + n/a, b)."""
    arg = 1 + n / a
    return b * (lgamma(arg) + lgamma(b) - lgamma(arg + b)).exp()


class Kumaraswamy(TransformedDistribution):
    """Kumaraswamy(``concentration1`` a, ``concentration0`` b) on (0, 1):
    (1 - U^(1/b))^(1/a)."""

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None) -> None:
        self.concentration1, self.concentration0 = _broadcast_all(concentration1,
                                                                  concentration0)
        base = Uniform(creation.full_like(self.concentration0, 0),
                       creation.full_like(self.concentration0, 1), validate_args=validate_args)
        transforms = [PowerTransform(exponent=self.concentration0.reciprocal()),
                      AffineTransform(loc=1.0, scale=-1.0),
                      PowerTransform(exponent=self.concentration1.reciprocal())]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "Kumaraswamy":
        """The same distribution with its parameters broadcast to ``batch_shape``."""
        return self._expanded(batch_shape, "concentration1", "concentration0")

    @property
    def mean(self) -> Tensor:
        """b B(1 + 1/a, b)."""
        return _kumaraswamy_moment(self.concentration1, self.concentration0, 1)

    @property
    def mode(self) -> Tensor:
        """((a - 1) / (ab - 1))^(1/a), NaN where a < 1 or b < 1 (computed in log space)."""
        a, b = self.concentration1, self.concentration0
        log_mode = a.reciprocal() * (-a).log1p() - (-a * b).log1p()
        undefined = (b < 1) | (a < 1)
        return compare.where(undefined, float("nan"), log_mode).exp()

    @property
    def variance(self) -> Tensor:
        """E[X²] - E[X]²."""
        second = _kumaraswamy_moment(self.concentration1, self.concentration0, 2)
        return second - self.mean ** 2

    def entropy(self) -> Tensor:
        """(1 - 1/b) + (1 - 1/a) (ψ(b + 1) + γ) - log a - log b."""
        t1 = 1 - self.concentration1.reciprocal()
        t0 = 1 - self.concentration0.reciprocal()
        h0 = digamma(self.concentration0 + 1) + _EULER
        return t0 + t1 * h0 - self.concentration1.log() - self.concentration0.log()


class LogisticNormal(TransformedDistribution):
    """The stick-breaking image of Normal(``loc``, ``scale``) over the last dim: a K-vector
    becomes a point of the (K+1)-simplex."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None) -> None:
        base = Normal(loc, scale, validate_args=validate_args)
        if not base.batch_shape:
            base = base.expand((1,))
        super().__init__(base, StickBreakingTransform(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "LogisticNormal":
        """The same distribution with the base Normal broadcast to ``batch_shape``."""
        shape = tuple(batch_shape) + (self.loc.shape[-1],)
        return LogisticNormal(self.loc.expand(shape), self.scale.expand(shape),
                              validate_args=False)

    @property
    def loc(self) -> Tensor:
        """The base Normal's loc."""
        return self.base_dist.base_dist.loc

    @property
    def scale(self) -> Tensor:
        """The base Normal's scale."""
        return self.base_dist.base_dist.scale


class _ProbsOrLogits:
    """``probs``/``logits`` of a binary or categorical parameter, one given, the other
    computed as torch's ``probs_to_logits``/``logits_to_probs``."""

    def _set_param(self, probs, logits, binary: bool) -> None:
        _one_of(probs, logits)
        self._from_probs = probs is not None
        self._param = _as_tensor(probs if probs is not None else logits)
        if not binary:
            return
        if self._from_probs:
            self.probs = self._param
            clamped = _clamp_probs(self.probs)
            self.logits = clamped.log() - (-clamped).log1p()
        else:
            self.logits = self._param
            self.probs = self.logits.sigmoid()

    def _given(self) -> tuple:
        return ("probs",) if self._from_probs else ("logits",)


class LogitRelaxedBernoulli(_ProbsOrLogits, Distribution):
    """The logit of a RelaxedBernoulli: (logit(U) + logits) / ``temperature``, U uniform."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        self._set_param(probs, logits, binary=True)
        self.temperature = _as_tensor(temperature, self._param)
        self.batch_shape = tuple(self._param.shape)
        self._init_validation(validate_args, self._given())

    def expand(self, batch_shape, _instance=None) -> "LogitRelaxedBernoulli":
        """The same distribution with its parameter broadcast to ``batch_shape``."""
        key = self._given()[0]
        return LogitRelaxedBernoulli(self.temperature,
                                     **{key: getattr(self, key).expand(tuple(batch_shape))},
                                     validate_args=False)

    @property
    def param_shape(self) -> tuple:
        """The parameter's shape."""
        return tuple(self._param.shape)

    def rsample(self, sample_shape=()) -> Tensor:
        """(logit(u) + logit(probs)) / temperature, u and probs clamped into (0, 1)."""
        shape = self._extended(sample_shape)
        probs = _clamp_probs(self.probs.expand(shape))
        u = _clamp_probs(creation.rand(shape, dtype=probs.dtype, device=probs.device))
        return (u.log() - (-u).log1p() + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value) -> Tensor:
        """log t + (logits - t v) - 2 log(1 + exp(logits - t v))."""
        value = self._checked(value, self.logits)
        logits, value = shape_ops.broadcast_tensors(self.logits, value)
        diff = logits - value * self.temperature
        return self.temperature.log() + diff - 2 * diff.exp().log1p()


class _TemperatureView:
    """``temperature``, ``probs`` and ``logits`` read from the base distribution."""

    @property
    def temperature(self) -> Tensor:
        """The relaxation temperature."""
        return self.base_dist.temperature

    @property
    def logits(self) -> Tensor:
        """The base logits."""
        return self.base_dist.logits

    @property
    def probs(self) -> Tensor:
        """The base probabilities."""
        return self.base_dist.probs

    def _given_params(self):
        return self.base_dist._given()

    def expand(self, batch_shape, _instance=None):
        """The same distribution with the base expanded to ``batch_shape``."""
        key = self.base_dist._given()[0]
        value = getattr(self.base_dist, key).expand(tuple(batch_shape)
                                                    + tuple(self.event_shape))
        return type(self)(self.temperature, **{key: value}, validate_args=False)


class RelaxedBernoulli(_TemperatureView, TransformedDistribution):
    """A continuous relaxation of Bernoulli on (0, 1): sigmoid of a LogitRelaxedBernoulli
    at ``temperature``."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        base = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(base, SigmoidTransform(), validate_args=validate_args)


class ExpRelaxedCategorical(_ProbsOrLogits, Distribution):
    """The log of a RelaxedOneHotCategorical: log-softmax((logits + Gumbel) / temperature)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        self._set_param(probs, logits, binary=False)
        self._categorical = Categorical(probs, logits, validate_args=False)
        self.temperature = _as_tensor(temperature, self._categorical.probs)
        self.batch_shape = tuple(self._categorical.batch_shape)
        self.event_shape = tuple(self._categorical.param_shape[-1:])
        self._init_validation(validate_args, self._given())

    def expand(self, batch_shape, _instance=None) -> "ExpRelaxedCategorical":
        """The same distribution with ``logits`` broadcast to ``batch_shape``."""
        shape = tuple(batch_shape) + self.event_shape
        return ExpRelaxedCategorical(self.temperature, logits=self.logits.expand(shape),
                                     validate_args=False)

    @property
    def param_shape(self) -> tuple:
        """The parameter's shape."""
        return self._categorical.param_shape

    @property
    def logits(self) -> Tensor:
        """The normalized logits."""
        return self._categorical.logits

    @property
    def probs(self) -> Tensor:
        """The normalized probabilities."""
        return self._categorical.probs

    def rsample(self, sample_shape=()) -> Tensor:
        """log-softmax((logits + g) / temperature) with Gumbel noise g."""
        shape = self._extended(sample_shape)
        u = _clamp_probs(creation.rand(shape, dtype=self.logits.dtype,
                                       device=self.logits.device))
        gumbels = -((-(u.log())).log())
        scores = (self.logits + gumbels) / self.temperature
        return scores - scores.logsumexp(-1, keepdim=True)

    def log_prob(self, value) -> Tensor:
        """torch's density of the log-simplex value."""
        k = self._categorical._num_events
        value = self._checked(value, self.logits)
        logits, value = shape_ops.broadcast_tensors(self.logits, value)
        log_scale = (math.lgamma(k) - self.temperature.log() * (-(k - 1)))
        score = logits - value * self.temperature
        score = (score - score.logsumexp(-1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(_TemperatureView, TransformedDistribution):
    """A continuous relaxation of OneHotCategorical on the simplex (Gumbel-softmax): exp of
    an ExpRelaxedCategorical at ``temperature``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base, ExpTransform(), validate_args=validate_args)


class InverseGamma(TransformedDistribution):
    """1 / X for X ~ Gamma(``concentration``, ``rate``)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None) -> None:
        base = Gamma(concentration, rate, validate_args=validate_args)
        neg_one = -creation.ones((), dtype=base.rate.dtype, device=base.rate.device)
        super().__init__(base, PowerTransform(neg_one), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "InverseGamma":
        """The same distribution with its parameters broadcast to ``batch_shape``."""
        return self._expanded(batch_shape, "concentration", "rate")

    @property
    def concentration(self) -> Tensor:
        """The base Gamma's concentration."""
        return self.base_dist.concentration

    @property
    def rate(self) -> Tensor:
        """The base Gamma's rate."""
        return self.base_dist.rate

    @property
    def mean(self) -> Tensor:
        """rate / (concentration - 1), inf for concentration <= 1."""
        result = self.rate / (self.concentration - 1)
        return compare.where(self.concentration > 1, result, float("inf"))

    @property
    def mode(self) -> Tensor:
        """rate / (concentration + 1)."""
        return self.rate / (self.concentration + 1)

    @property
    def variance(self) -> Tensor:
        """rate² / ((a - 1)² (a - 2)), inf for a <= 2."""
        a = self.concentration
        result = self.rate ** 2 / ((a - 1) ** 2 * (a - 2))
        return compare.where(a > 2, result, float("inf"))

    def entropy(self) -> Tensor:
        """a + log(rate) + lgamma(a) - (1 + a) ψ(a)."""
        a = self.concentration
        return a + self.rate.log() + lgamma(a) - (1 + a) * digamma(a)


# ----------------------------------------------------------------------------- KL pairs

@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q) -> Tensor:
    if p.transforms != q.transforms:
        raise NotImplementedError
    if p.event_shape != q.event_shape:
        raise NotImplementedError
    return kl_divergence(p.base_dist, q.base_dist)


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p: Gumbel, q: Gumbel) -> Tensor:
    ct1 = p.scale / q.scale
    ct2 = q.loc / q.scale
    ct3 = p.loc / q.scale
    t1 = -ct1.log() - ct2 + ct3
    t2 = ct1 * _EULER
    t3 = (ct2 + lgamma(1 + ct1) - ct3).exp()
    return t1 + t2 + t3 - (1 + _EULER)


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p: HalfNormal, q: HalfNormal) -> Tensor:
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p: Pareto, q: Pareto) -> Tensor:
    scale_ratio = p.scale / q.scale
    alpha_ratio = q.alpha / p.alpha
    result = q.alpha * scale_ratio.log() - alpha_ratio.log() + alpha_ratio - 1
    return compare.where(p.scale < q.scale, float("inf"), result)
