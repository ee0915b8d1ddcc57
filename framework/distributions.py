"""Probability distributions (``torch.distributions``): Categorical, Normal, Bernoulli,
Uniform and Independent here; MultivariateNormal, Gamma, Beta, Dirichlet, Laplace, LogNormal,
OneHotCategorical, Poisson and Binomial in ``_distributions_more``; TransformedDistribution and
Gumbel, HalfNormal, Weibull, Pareto, Kumaraswamy, LogisticNormal, RelaxedBernoulli,
RelaxedOneHotCategorical and InverseGamma in ``_distributions_transformed``.

Each has ``sample`` (no gradient), ``log_prob``, ``batch_shape`` and ``event_shape``, and
torch's moments and ``entropy`` where torch has them; the reparameterized ones have
``rsample`` (gradients flow to the parameters). ``arg_constraints`` and ``support`` are
constraints (``constraints``, torch's module of that name) and drive torch's validation of
parameters and values (on by default; ``validate_args=False`` turns it off).
``transforms`` (torch's Transform classes) and ``biject_to``/``transform_to`` map between
constrained and unconstrained spaces. ``kl_divergence(p, q)`` dispatches on the pair of types
among the functions ``register_kl`` holds (most specific match by MRO, as torch): the
same-family pairs of every family here, Independent and TransformedDistribution pairs.
``_distributions_families`` adds Exponential, Cauchy, HalfCauchy, Chi2, StudentT, Geometric,
NegativeBinomial, Multinomial, MixtureSameFamily, ContinuousBernoulli, FisherSnedecor,
VonMises, GeneralizedPareto, LowRankMultivariateNormal, OneHotCategoricalStraightThrough,
Wishart and LKJCholesky, with their same-family and cross-family KL pairs.
"""
from __future__ import annotations

import functools
import math
import sys
import warnings

from . import _distribution_constraints as constraints
from . import dtypes
from .autograd.grad_mode import no_grad
from .ops import creation
from .ops import compare, unary
from .ops import shape as shape_ops
from .tensor import Tensor

__all__ = ["Distribution", "ExponentialFamily", "Categorical", "Normal", "Bernoulli", "Uniform", "Independent",
           "MultivariateNormal", "Gamma", "Beta", "Dirichlet", "Laplace", "LogNormal",
           "OneHotCategorical", "Poisson", "Binomial", "kl_divergence"]


def _as_tensor(value, like: Tensor | None = None) -> Tensor:
    if isinstance(value, Tensor):
        return value
    dtype = like.dtype if like is not None else dtypes.get_default_dtype()
    device = like.device if like is not None else None
    return creation.tensor(value, dtype=dtype, device=device)


def _one_of(probs, logits) -> None:
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


class Distribution:
    """Base class: ``batch_shape``, ``event_shape``, ``sample(sample_shape)``, ``log_prob``,
    ``entropy``; ``arg_constraints`` and ``support`` (constraints) drive torch's argument
    validation (on by default, as ``__debug__``; ``validate_args=False`` turns it off)."""

    batch_shape: tuple = ()
    event_shape: tuple = ()
    arg_constraints: dict = {}
    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None) -> None:
        """torch's constructor for user subclasses: the shapes, then parameter validation."""
        self.batch_shape = tuple(batch_shape)
        self.event_shape = tuple(event_shape)
        self._init_validation(validate_args)

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Turn validation on or off for distributions built without ``validate_args``."""
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def _init_validation(self, validate_args, params=None) -> None:
        """Keep ``validate_args`` and, when validating, check each parameter (``params``, by
        default every non-dependent entry of ``arg_constraints``) against its constraint."""
        if validate_args is not None:
            self._validate_args = validate_args
        if not self._validate_args:
            return
        names = self.arg_constraints if params is None else params
        for name in names:
            constraint = self.arg_constraints[name]
            if constraints.is_dependent(constraint):
                continue
            value = getattr(self, name)
            if not bool(constraint.check(value).all().item()):
                raise ValueError(f"Expected parameter {name} ({type(value).__name__} of shape "
                                 f"{tuple(value.shape)}) of distribution {self!r} to satisfy "
                                 f"the constraint {constraint!r}, but found invalid "
                                 f"values:\n{value}")

    @property
    def support(self):
        """The constraint of the values (none known here)."""
        raise NotImplementedError

    def _validate_sample(self, value) -> None:
        """torch's check of a value scored by log_prob/cdf: shapes, then the support."""
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event = tuple(self.event_shape)
        actual = tuple(value.shape)
        if actual[len(actual) - len(event):] != event:
            raise ValueError(f"The right-most size of value must match event_shape: {actual} "
                             f"vs {event}.")
        expected = tuple(self.batch_shape) + event
        for i, j in zip(reversed(actual), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError("Value is not broadcastable with batch_shape+event_shape: "
                                 f"{actual} vs {expected}.")
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(f"{self.__class__} does not define `support` to enable sample "
                          "validation. Please initialize the distribution with "
                          "`validate_args=False` to turn off validation.", stacklevel=2)
            return
        if not bool(support.check(value).all().item()):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape "
                             f"{actual}) to be within the support ({support!r}) of the "
                             f"distribution {self!r}, but found invalid values:\n{value}")

    def _checked(self, value, like: Tensor) -> Tensor:
        """``value`` as a tensor like ``like``, validated when validation is on."""
        value = _as_tensor(value, like)
        if self._validate_args:
            self._validate_sample(value)
        return value

    def sample(self, sample_shape=()) -> Tensor:
        """Draw ``sample_shape + batch_shape`` values (no gradient)."""
        with no_grad():
            return self.rsample(sample_shape) if self.has_rsample else self._sample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        """A reparameterized draw (only where ``has_rsample``)."""
        self._not_implemented("rsample")

    def expand(self, batch_shape, _instance=None):
        """The same distribution with its parameters broadcast to ``batch_shape``."""
        self._not_implemented("expand")

    def _expanded(self, batch_shape, *names):
        """A new instance built from the parameters ``names`` (positional, in that order)
        broadcast to ``batch_shape``, unvalidated: the common ``expand``."""
        batch_shape = tuple(batch_shape)
        return type(self)(*[getattr(self, n).expand(batch_shape) for n in names],
                          validate_args=False)

    @property
    def stddev(self) -> Tensor:
        """``variance.sqrt()``."""
        return self.variance.sqrt()

    @property
    def mean(self) -> Tensor:
        """The mean (where the family defines one)."""
        raise NotImplementedError(f"{type(self).__name__}.mean is not implemented")

    @property
    def mode(self) -> Tensor:
        """The mode (where the family defines one)."""
        raise NotImplementedError(f"{type(self).__name__}.mode is not implemented")

    @property
    def variance(self) -> Tensor:
        """The variance (where the family defines one)."""
        raise NotImplementedError(f"{type(self).__name__}.variance is not implemented")

    def _not_implemented(self, what: str):
        raise NotImplementedError(f"{type(self).__name__}.{what} is not implemented")

    def log_prob(self, value) -> Tensor:
        """Log density (or mass) at ``value``."""
        self._not_implemented("log_prob")

    def cdf(self, value) -> Tensor:
        """P(X <= value)."""
        self._not_implemented("cdf")

    def icdf(self, value) -> Tensor:
        """The inverse of ``cdf``."""
        self._not_implemented("icdf")

    def entropy(self) -> Tensor:
        """The entropy."""
        self._not_implemented("entropy")

    def _extended(self, sample_shape) -> tuple:
        """``sample_shape + batch_shape + event_shape``: the shape of a draw."""
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        return tuple(sample_shape) + tuple(self.batch_shape) + tuple(self.event_shape)

    _extended_shape = _extended

    def __repr__(self) -> str:
        names = [k for k in self.arg_constraints if k in self.__dict__]
        shapes = ", ".join(f"{k}: {tuple(self.__dict__[k].shape)}" for k in names
                           if isinstance(self.__dict__[k], Tensor))
        return f"{type(self).__name__}({shapes})"


class ExponentialFamily(Distribution):
    """Base of the exponential families, ``p(x; theta) = exp(<t(x), theta> - F(theta) + k(x))``
    (``torch.distributions.ExponentialFamily``): a family gives ``_natural_params`` (theta),
    ``_log_normalizer(*theta)`` (F) and ``_mean_carrier_measure`` (E[k(x)]); ``entropy`` is
    then torch's Bregman-divergence form, F(theta) - <theta, grad F(theta)> - E[k(x)]."""

    @property
    def _natural_params(self) -> tuple:
        raise NotImplementedError(f"{type(self).__name__} does not give its natural parameters")

    def _log_normalizer(self, *natural_params) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} does not give its log normalizer")

    @property
    def _mean_carrier_measure(self):
        raise NotImplementedError(f"{type(self).__name__} does not give its mean carrier "
                                  "measure")

    def entropy(self) -> Tensor:
        """F(theta) - <theta, grad F(theta)> - E[k(x)], by autograd of the log normalizer
        (differentiable: the gradient graph is kept)."""
        from .autograd import grad
        from .autograd.grad_mode import enable_grad
        with enable_grad():
            params = [p.detach().requires_grad_() for p in self._natural_params]
            log_normalizer = self._log_normalizer(*params)
            gradients = grad(log_normalizer.sum(), params, create_graph=True)
        result = log_normalizer - self._mean_carrier_measure
        for param, gradient in zip(params, gradients):
            result = result - (param * gradient).reshape(tuple(self.batch_shape) + (-1,)).sum(-1)
        return result


class Categorical(Distribution):
    """Categories 0..K-1 with ``probs`` (normalized here) or ``logits`` over the last dim."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None) -> None:
        _one_of(probs, logits)
        if probs is not None:
            probs = _as_tensor(probs)
            if probs.ndim < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            tiny = dtypes.finfo(self.probs.dtype).tiny
            self.logits = self.probs.clamp(min=tiny).log()
        else:
            logits = _as_tensor(logits)
            if logits.ndim < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - logits.logsumexp(-1, keepdim=True)
            self.probs = self.logits.exp()
        self.batch_shape = tuple(self.probs.shape[:-1])
        self._num_events = self.probs.shape[-1]
        self._init_validation(validate_args, ("probs",) if probs is not None else ("logits",))

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        """``integer_interval(0, K - 1)``."""
        return constraints.integer_interval(0, self._num_events - 1)

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """The K categories along a new first dim: (K, 1, ..) or, with ``expand``,
        (K,) + batch_shape."""
        values = creation.arange(self._num_events, device=self.probs.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        return values.expand((-1,) + tuple(self.batch_shape)) if expand else values

    def expand(self, batch_shape, _instance=None) -> "Categorical":
        """The same distribution with ``logits`` broadcast to ``batch_shape``."""
        shape = tuple(batch_shape) + (self._num_events,)
        return Categorical(logits=self.logits.expand(shape), validate_args=False)

    @property
    def param_shape(self) -> tuple:
        """Shape of ``probs``."""
        return tuple(self.probs.shape)

    def _sample(self, sample_shape) -> Tensor:
        shape = self._extended(sample_shape)
        count = math.prod(shape) // max(math.prod(self.batch_shape), 1)
        rows = self.probs.reshape(-1, self._num_events)
        from .ops.random import multinomial
        drawn = multinomial(rows, count, replacement=True)  # (batch, count)
        return drawn.t().reshape(shape)

    def log_prob(self, value: Tensor) -> Tensor:
        """log P(value) for integer ``value`` broadcast against the batch."""
        value = _as_tensor(value)
        if self._validate_args:
            self._validate_sample(value)
        value = value.long()
        shape = shape_ops.broadcast_tensors(value.unsqueeze(-1), self.logits)
        value, logits = shape[0][..., :1], shape[1]
        return logits.gather(-1, value).squeeze(-1)

    def entropy(self) -> Tensor:
        """-sum p log p over the categories."""
        min_real = dtypes.finfo(self.logits.dtype).min
        return -(self.probs * self.logits.clamp(min=min_real)).sum(-1)

    @property
    def mean(self) -> Tensor:
        """Undefined for categories (NaN), as in PyTorch."""
        return creation.full(self.batch_shape, float("nan"), dtype=self.probs.dtype,
                             device=self.probs.device)


class Normal(ExponentialFamily):
    """Gaussian with mean ``loc`` and standard deviation ``scale`` (broadcast together)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None) -> None:
        loc = _as_tensor(loc, scale if isinstance(scale, Tensor) else None)
        scale = _as_tensor(scale, loc)
        self.loc, self.scale = shape_ops.broadcast_tensors(loc, scale)
        self.batch_shape = tuple(self.loc.shape)
        self._init_validation(validate_args)

    def expand(self, batch_shape, _instance=None) -> "Normal":
        """The same distribution with its parameters broadcast to ``batch_shape``."""
        return self._expanded(batch_shape, "loc", "scale")

    @property
    def mode(self) -> Tensor:
        """``loc``."""
        return self.loc

    @property
    def mean(self) -> Tensor:
        """``loc``."""
        return self.loc

    @property
    def stddev(self) -> Tensor:
        """``scale``."""
        return self.scale

    @property
    def variance(self) -> Tensor:
        """``scale ** 2``."""
        return self.scale ** 2

    def rsample(self, sample_shape=()) -> Tensor:
        """``loc + scale * eps`` with standard normal ``eps``: differentiable in the parameters."""
        eps = creation.randn(self._extended(sample_shape), dtype=self.loc.dtype,
                             device=self.loc.device)
        return self.loc + eps * self.scale

    def log_prob(self, value) -> Tensor:
        """Log density at ``value``."""
        value = self._checked(value, self.loc)
        return (-((value - self.loc) ** 2) / (2 * self.variance) - self.scale.log()
                - math.log(math.sqrt(2 * math.pi)))

    def entropy(self) -> Tensor:
        """0.5 + 0.5 log(2π) + log(scale)."""
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()

    @property
    def _natural_params(self) -> tuple:
        return self.loc / self.scale ** 2, -0.5 / self.scale ** 2

    def _log_normalizer(self, x, y) -> Tensor:
        return -0.25 * x ** 2 / y + 0.5 * (-math.pi / y).log()

    _mean_carrier_measure = 0

    def cdf(self, value) -> Tensor:
        """P(X <= value) = (1 + erf((value - loc) / (scale √2))) / 2."""
        value = self._checked(value, self.loc)
        return 0.5 * (1 + unary.erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value) -> Tensor:
        """The inverse of ``cdf``: loc + scale √2 erfinv(2 value - 1)."""
        value = _as_tensor(value, self.loc)
        return self.loc + self.scale * unary.erfinv(2 * value - 1) * math.sqrt(2)


class Uniform(Distribution):
    """Uniform on ``[low, high)`` (broadcast together)."""

    arg_constraints = {"low": constraints.dependent(is_discrete=False, event_dim=0),
                       "high": constraints.dependent(is_discrete=False, event_dim=0)}
    has_rsample = True

    def __init__(self, low, high, validate_args=None) -> None:
        low = _as_tensor(low, high if isinstance(high, Tensor) else None)
        high = _as_tensor(high, low)
        self.low, self.high = shape_ops.broadcast_tensors(low, high)
        self.batch_shape = tuple(self.low.shape)
        self._init_validation(validate_args)
        if self._validate_args and not bool((self.low < self.high).all().item()):
            raise ValueError("Uniform is not defined when low>= high")

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        """``interval(low, high)``."""
        return constraints.interval(self.low, self.high)

    def expand(self, batch_shape, _instance=None) -> "Uniform":
        """The same distribution with its parameters broadcast to ``batch_shape``."""
        return self._expanded(batch_shape, "low", "high")

    @property
    def mode(self) -> Tensor:
        """NaN (every point is a mode), as torch."""
        return creation.full_like(self.low, float("nan"))

    @property
    def mean(self) -> Tensor:
        """``(low + high) / 2``."""
        return (self.low + self.high) / 2

    @property
    def stddev(self) -> Tensor:
        """``(high - low) / √12``."""
        return (self.high - self.low) / math.sqrt(12)

    @property
    def variance(self) -> Tensor:
        """``(high - low) ** 2 / 12``."""
        return (self.high - self.low) ** 2 / 12

    def rsample(self, sample_shape=()) -> Tensor:
        """``low + u (high - low)`` with ``u`` uniform in [0, 1): differentiable in both."""
        u = creation.rand(self._extended(sample_shape), dtype=self.low.dtype,
                          device=self.low.device)
        return self.low + u * (self.high - self.low)

    def log_prob(self, value) -> Tensor:
        """-log(high - low) inside ``[low, high)``, -inf outside."""
        value = self._checked(value, self.low)
        inside = compare.logical_and(self.low <= value, value < self.high)
        return compare.where(inside, -(self.high - self.low).log(), float("-inf"))

    def cdf(self, value) -> Tensor:
        """``(value - low) / (high - low)`` clamped to [0, 1]."""
        value = self._checked(value, self.low)
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def icdf(self, value) -> Tensor:
        """``low + value (high - low)``."""
        value = _as_tensor(value, self.low)
        return value * (self.high - self.low) + self.low

    def entropy(self) -> Tensor:
        """``log(high - low)``."""
        return (self.high - self.low).log()


class Independent(Distribution):
    """``base_distribution`` with its last ``reinterpreted_batch_ndims`` batch dims read as
    event dims: ``log_prob`` and ``entropy`` sum over them (e.g. a diagonal Gaussian from a
    batch of Normals)."""

    def __init__(self, base_distribution: Distribution, reinterpreted_batch_ndims: int,
                 validate_args=None) -> None:
        batch = tuple(base_distribution.batch_shape)
        if not 0 <= reinterpreted_batch_ndims <= len(batch):
            raise ValueError("Expected reinterpreted_batch_ndims <= len(base_distribution."
                             f"batch_shape), actual {reinterpreted_batch_ndims} vs {len(batch)}")
        self.base_dist = base_distribution
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        split = len(batch) - reinterpreted_batch_ndims
        self.batch_shape = batch[:split]
        self.event_shape = batch[split:] + tuple(base_distribution.event_shape)
        self.has_rsample = base_distribution.has_rsample
        if validate_args is not None:
            self._validate_args = validate_args

    @constraints.dependent_property
    def support(self):
        """The base support with the reinterpreted dims as event dims."""
        support = self.base_dist.support
        if self.reinterpreted_batch_ndims:
            support = constraints.independent(support, self.reinterpreted_batch_ndims)
        return support

    @property
    def has_enumerate_support(self) -> bool:
        """The base's, when no batch dim is reinterpreted (as torch)."""
        return self.reinterpreted_batch_ndims == 0 and self.base_dist.has_enumerate_support

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """The base's support, when no batch dim is reinterpreted."""
        if self.reinterpreted_batch_ndims > 0:
            raise NotImplementedError("Enumeration over cartesian product is not implemented")
        return self.base_dist.enumerate_support(expand=expand)

    def expand(self, batch_shape, _instance=None) -> "Independent":
        """The same distribution with its batch broadcast to ``batch_shape``."""
        batch_shape = tuple(batch_shape)
        dims = self.reinterpreted_batch_ndims
        base_batch = batch_shape + tuple(self.event_shape[:dims])
        return Independent(self.base_dist.expand(base_batch), dims, validate_args=False)

    @property
    def mode(self) -> Tensor:
        """The base distribution's mode."""
        return self.base_dist.mode

    @property
    def mean(self) -> Tensor:
        """The base distribution's mean."""
        return self.base_dist.mean

    @property
    def stddev(self) -> Tensor:
        """The base distribution's standard deviation."""
        return self.base_dist.stddev

    @property
    def variance(self) -> Tensor:
        """The base distribution's variance."""
        return self.base_dist.variance

    def sample(self, sample_shape=()) -> Tensor:
        """The base distribution's sample (no gradient)."""
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()) -> Tensor:
        """The base distribution's reparameterized sample."""
        return self.base_dist.rsample(sample_shape)

    def _sum_event(self, value: Tensor) -> Tensor:
        dims = self.reinterpreted_batch_ndims
        if dims == 0:
            return value
        return value.sum(tuple(range(-dims, 0)))

    def log_prob(self, value) -> Tensor:
        """The base log_prob summed over the reinterpreted dims."""
        return self._sum_event(self.base_dist.log_prob(value))

    def entropy(self) -> Tensor:
        """The base entropy summed over the reinterpreted dims."""
        return self._sum_event(self.base_dist.entropy())


class Bernoulli(ExponentialFamily):
    """0/1 outcomes with success probability ``probs`` (or ``logits``)."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """0 and 1 along a new first dim, in ``probs``' dtype: (2, 1, ..) or, with
        ``expand``, (2,) + batch_shape."""
        values = creation.arange(2, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        return values.expand((-1,) + tuple(self.batch_shape)) if expand else values

    def __init__(self, probs=None, logits=None, validate_args=None) -> None:
        _one_of(probs, logits)
        if probs is not None:
            self.probs = _as_tensor(probs)
            eps = dtypes.finfo(self.probs.dtype).eps
            clamped = self.probs.clamp(eps, 1 - eps)
            self.logits = clamped.log() - (-clamped).log1p()
        else:
            self.logits = _as_tensor(logits)
            self.probs = self.logits.sigmoid()
        self.batch_shape = tuple(self.probs.shape)
        self._init_validation(validate_args, ("probs",) if probs is not None else ("logits",))
        self._from_probs = probs is not None

    def expand(self, batch_shape, _instance=None) -> "Bernoulli":
        """The same distribution with its parameter broadcast to ``batch_shape``."""
        key = "probs" if self._from_probs else "logits"
        return Bernoulli(**{key: getattr(self, key).expand(tuple(batch_shape))},
                         validate_args=False)

    @property
    def mean(self) -> Tensor:
        """``probs``."""
        return self.probs

    def _sample(self, sample_shape) -> Tensor:
        from .ops.random import bernoulli
        return bernoulli(self.probs.expand(self._extended(sample_shape)))

    def log_prob(self, value) -> Tensor:
        """-BCE-with-logits of ``value``."""
        from .ops.loss import binary_cross_entropy_with_logits
        value = self._checked(value, self.logits)
        logits, value = shape_ops.broadcast_tensors(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    @property
    def _natural_params(self) -> tuple:
        return (self.logits,)

    def _log_normalizer(self, x) -> Tensor:
        return x.exp().log1p()

    _mean_carrier_measure = 0

    def entropy(self) -> Tensor:
        """-p log p - (1-p) log(1-p)."""
        from .ops.loss import binary_cross_entropy_with_logits
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")


_KL_REGISTRY: dict = {}  # (type_p, type_q) -> function, filled by register_kl
_KL_MEMOIZE: dict = {}  # (type(p), type(q)) -> the chosen function; cleared on register_kl


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as KL(p || q) for ``p`` an instance of ``type_p``
    and ``q`` of ``type_q`` (subclasses included; the most specific match wins)."""
    if not isinstance(type_p, type) or not issubclass(type_p, Distribution):
        raise TypeError(f"Expected type_p to be a Distribution subclass but got {type_p}")
    if not isinstance(type_q, type) or not issubclass(type_q, Distribution):
        raise TypeError(f"Expected type_q to be a Distribution subclass but got {type_q}")

    def decorator(fun):
        _KL_REGISTRY[type_p, type_q] = fun
        _KL_MEMOIZE.clear()
        return fun

    return decorator


@functools.total_ordering
class _Match:
    """A registered (type_p, type_q) pair ordered by specificity (subclass first)."""

    def __init__(self, *types) -> None:
        self.types = types

    def __eq__(self, other) -> bool:
        return self.types == other.types

    def __le__(self, other) -> bool:
        for x, y in zip(self.types, other.types):
            if not issubclass(x, y):
                return False
            if x is not y:
                break
        return True


def _dispatch_kl(type_p, type_q):
    """The most specific registered function for (type_p, type_q), None if there is none;
    warns when the most specific match in p and the one in q disagree."""
    matches = [(sp, sq) for sp, sq in _KL_REGISTRY
               if issubclass(type_p, sp) and issubclass(type_q, sq)]
    if not matches:
        return None
    left_p, left_q = min(_Match(*m) for m in matches).types
    right_q, right_p = min(_Match(*reversed(m)) for m in matches).types
    left_fun = _KL_REGISTRY[left_p, left_q]
    if left_fun is not _KL_REGISTRY[right_p, right_q]:
        warnings.warn(f"Ambiguous kl_divergence({type_p.__name__}, {type_q.__name__}). "
                      f"Please register_kl({left_p.__name__}, {right_q.__name__})",
                      RuntimeWarning)
    return left_fun


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q), by the function ``register_kl`` holds for the two types."""
    key = (type(p), type(q))
    if key not in _KL_MEMOIZE:
        _KL_MEMOIZE[key] = _dispatch_kl(*key)
    fun = _KL_MEMOIZE[key]
    if fun is None:
        raise NotImplementedError(f"No KL(p || q) is implemented: kl_divergence is not "
                                  f"implemented for {type(p).__name__} and {type(q).__name__}")
    return fun(p, q)


def _register_same_family(pairs: dict) -> None:
    """Register each ``{cls: fn}`` of a same-family KL dict as ``register_kl(cls, cls)``."""
    for cls, fun in pairs.items():
        register_kl(cls, cls)(fun)


@register_kl(Normal, Normal)
def _kl_normal_normal(p: Normal, q: Normal) -> Tensor:
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p: Categorical, q: Categorical) -> Tensor:
    t = p.probs * (p.logits - q.logits)
    return compare.where(p.probs == 0, 0.0, t).sum(-1)


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p: Bernoulli, q: Bernoulli) -> Tensor:
    return (p.probs * (unary.sigmoid(p.logits).log() - unary.sigmoid(q.logits).log())
            + (1 - p.probs) * (unary.sigmoid(-p.logits).log() - unary.sigmoid(-q.logits).log()))


@register_kl(Independent, Independent)
def _kl_independent_independent(p: Independent, q: Independent) -> Tensor:
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("kl_divergence of Independent distributions with different "
                                  "reinterpreted_batch_ndims")
    return p._sum_event(kl_divergence(p.base_dist, q.base_dist))


# Defined after ``Distribution``, which they subclass (the module imports it from here).
from . import _distributions_more as _more  # noqa: E402
from ._distributions_more import (  # noqa: E402
    Beta, Binomial, Dirichlet, Gamma, Laplace, LogNormal, MultivariateNormal, OneHotCategorical,
    Poisson,
)

# Constraints, transforms, biject_to/transform_to, register_kl and TransformedDistribution
# with the distributions torch builds on it.
_register_same_family(_more.KL_PAIRS)
from . import _distribution_constraint_registry as constraint_registry  # noqa: E402
from . import _distribution_transforms as transforms  # noqa: E402
from ._distribution_constraint_registry import biject_to, transform_to  # noqa: E402
from ._distribution_transforms import (  # noqa: E402
    AbsTransform, AffineTransform, CatTransform, ComposeTransform, CorrCholeskyTransform,
    CumulativeDistributionTransform, ExpTransform, IndependentTransform, LowerCholeskyTransform,
    PositiveDefiniteTransform, PowerTransform, ReshapeTransform, SigmoidTransform,
    SoftmaxTransform, SoftplusTransform, StackTransform, StickBreakingTransform, TanhTransform,
    Transform, identity_transform,
)
from ._distributions_transformed import (  # noqa: E402
    ExpRelaxedCategorical, Gumbel, HalfNormal, InverseGamma, Kumaraswamy, LogisticNormal,
    LogitRelaxedBernoulli, Pareto, RelaxedBernoulli, RelaxedOneHotCategorical,
    TransformedDistribution, Weibull,
)
for _name, _module in (("constraints", constraints), ("transforms", transforms),
                       ("constraint_registry", constraint_registry)):
    sys.modules[f"{__name__}.{_name}"] = _module  # ``import framework.distributions.transforms``
__all__ += [
    "constraints", "transforms", "constraint_registry", "biject_to", "transform_to",
    "register_kl", "TransformedDistribution", "Gumbel", "HalfNormal", "Weibull", "Pareto",
    "Kumaraswamy", "LogisticNormal", "RelaxedBernoulli", "LogitRelaxedBernoulli",
    "RelaxedOneHotCategorical", "ExpRelaxedCategorical", "InverseGamma",
] + list(transforms.__all__)
from . import _distributions_families as _families  # noqa: E402
from ._distributions_families import (  # noqa: E402
    Cauchy, Chi2, ContinuousBernoulli, Exponential, FisherSnedecor, GeneralizedPareto,
    Geometric, HalfCauchy, LowRankMultivariateNormal, MixtureSameFamily, Multinomial, NegativeBinomial,
    LKJCholesky, OneHotCategoricalStraightThrough, StudentT, VonMises, Wishart,
)
__all__ += ["Exponential", "Cauchy", "HalfCauchy", "Chi2", "StudentT", "Geometric", "NegativeBinomial",
            "Multinomial", "MixtureSameFamily", "ContinuousBernoulli", "FisherSnedecor",
            "VonMises", "GeneralizedPareto", "LowRankMultivariateNormal",
            "OneHotCategoricalStraightThrough", "Wishart", "LKJCholesky"]
_register_same_family(_families.KL_PAIRS)
for (_p, _q), _fun in _families.KL_CROSS_PAIRS.items():
    register_kl(_p, _q)(_fun)
del _name, _module, _p, _q, _fun
