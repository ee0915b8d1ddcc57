"""Probability distributions (``torch.distributions``): Categorical, Normal, Bernoulli,
Uniform and Independent.

Each has ``sample`` (no gradient), ``log_prob``, ``entropy``, ``mean``,
``batch_shape`` and ``event_shape``; ``Normal`` and ``Uniform`` also have
``rsample`` (reparameterized, so gradients flow to their parameters) and
``cdf``. ``Independent`` turns batch dims of a distribution into event dims
(its ``log_prob`` and ``entropy`` sum over them). ``kl_divergence`` covers
Normal-Normal, Categorical-Categorical, Bernoulli-Bernoulli and
Independent-Independent, and (from ``_distributions_more``) the same-family pairs of
MultivariateNormal, Gamma, Beta, Dirichlet, Laplace, LogNormal, OneHotCategorical,
Poisson and Binomial, which live there. ``_distributions_families`` adds Exponential,
Cauchy, Chi2, StudentT, Geometric, NegativeBinomial, Multinomial, MixtureSameFamily,
ContinuousBernoulli, FisherSnedecor, VonMises, GeneralizedPareto, LowRankMultivariateNormal,
OneHotCategoricalStraightThrough, Wishart and LKJCholesky, with their same-family KL pairs in
its ``KL_PAIRS``.
"""
from __future__ import annotations

import math

from . import dtypes
from .autograd.grad_mode import no_grad
from .ops import creation
from .ops import compare, unary
from .ops import shape as shape_ops
from .tensor import Tensor

__all__ = ["Distribution", "Categorical", "Normal", "Bernoulli", "Uniform", "Independent",
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
    """Base class: ``batch_shape``, ``sample(sample_shape)``, ``log_prob``, ``entropy``."""

    batch_shape: tuple = ()
    event_shape: tuple = ()

    def sample(self, sample_shape=()) -> Tensor:
        """Draw ``sample_shape + batch_shape`` values (no gradient)."""
        with no_grad():
            return self.rsample(sample_shape) if self.has_rsample else self._sample(sample_shape)

    has_rsample = False

    def _extended(self, sample_shape) -> tuple:
        """``sample_shape + batch_shape + event_shape``: the shape of a draw."""
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        return tuple(sample_shape) + tuple(self.batch_shape) + tuple(self.event_shape)


class Categorical(Distribution):
    """Categories 0..K-1 with ``probs`` (normalized here) or ``logits`` over the last dim."""

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
        value = _as_tensor(value).long()
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


class Normal(Distribution):
    """Gaussian with mean ``loc`` and standard deviation ``scale`` (broadcast together)."""

    has_rsample = True

    def __init__(self, loc, scale, validate_args=None) -> None:
        loc = _as_tensor(loc, scale if isinstance(scale, Tensor) else None)
        scale = _as_tensor(scale, loc)
        self.loc, self.scale = shape_ops.broadcast_tensors(loc, scale)
        self.batch_shape = tuple(self.loc.shape)

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
        value = _as_tensor(value, self.loc)
        return (-((value - self.loc) ** 2) / (2 * self.variance) - self.scale.log()
                - math.log(math.sqrt(2 * math.pi)))

    def entropy(self) -> Tensor:
        """0.5 + 0.5 log(2π) + log(scale)."""
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()

    def cdf(self, value) -> Tensor:
        """P(X <= value) = (1 + erf((value - loc) / (scale √2))) / 2."""
        value = _as_tensor(value, self.loc)
        return 0.5 * (1 + unary.erf((value - self.loc) / (self.scale * math.sqrt(2))))

    def icdf(self, value) -> Tensor:
        """The inverse of ``cdf``: loc + scale √2 erfinv(2 value - 1)."""
        value = _as_tensor(value, self.loc)
        return self.loc + self.scale * unary.erfinv(2 * value - 1) * math.sqrt(2)


class Uniform(Distribution):
    """Uniform on ``[low, high)`` (broadcast together)."""

    has_rsample = True

    def __init__(self, low, high, validate_args=None) -> None:
        low = _as_tensor(low, high if isinstance(high, Tensor) else None)
        high = _as_tensor(high, low)
        self.low, self.high = shape_ops.broadcast_tensors(low, high)
        self.batch_shape = tuple(self.low.shape)

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
        value = _as_tensor(value, self.low)
        inside = compare.logical_and(self.low <= value, value < self.high)
        return compare.where(inside, -(self.high - self.low).log(), float("-inf"))

    def cdf(self, value) -> Tensor:
        """``(value - low) / (high - low)`` clamped to [0, 1]."""
        value = _as_tensor(value, self.low)
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

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


class Bernoulli(Distribution):
    """0/1 outcomes with success probability ``probs`` (or ``logits``)."""

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
        value = _as_tensor(value, self.logits)
        logits, value = shape_ops.broadcast_tensors(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self) -> Tensor:
        """-p log p - (1-p) log(1-p)."""
        from .ops.loss import binary_cross_entropy_with_logits
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q) for two distributions of the same family."""
    if isinstance(p, Normal) and isinstance(q, Normal):
        var_ratio = (p.scale / q.scale) ** 2
        t1 = ((p.loc - q.loc) / q.scale) ** 2
        return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())
    if isinstance(p, Categorical) and isinstance(q, Categorical):
        t = p.probs * (p.logits - q.logits)
        return compare.where(p.probs == 0, 0.0, t).sum(-1)
    if isinstance(p, Bernoulli) and isinstance(q, Bernoulli):
        return (p.probs * (unary.sigmoid(p.logits).log() - unary.sigmoid(q.logits).log())
                + (1 - p.probs) * (unary.sigmoid(-p.logits).log() - unary.sigmoid(-q.logits).log()))
    if isinstance(p, Independent) and isinstance(q, Independent):
        if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
            raise NotImplementedError("kl_divergence of Independent distributions with different "
                                      "reinterpreted_batch_ndims")
        return p._sum_event(kl_divergence(p.base_dist, q.base_dist))
    pair = _more.KL_PAIRS.get(type(p))
    if pair is not None and type(q) is type(p):
        return pair(p, q)
    raise NotImplementedError(f"kl_divergence is not implemented for {type(p).__name__} and "
                              f"{type(q).__name__}")


# Defined after ``Distribution``, which they subclass (the module imports it from here).
from . import _distributions_more as _more  # noqa: E402
from ._distributions_more import (  # noqa: E402
    Beta, Binomial, Dirichlet, Gamma, Laplace, LogNormal, MultivariateNormal, OneHotCategorical,
    Poisson,
)
from ._distributions_families import (  # noqa: E402
    Cauchy, Chi2, ContinuousBernoulli, Exponential, FisherSnedecor, GeneralizedPareto,
    Geometric, LowRankMultivariateNormal, MixtureSameFamily, Multinomial, NegativeBinomial,
    LKJCholesky, OneHotCategoricalStraightThrough, StudentT, VonMises, Wishart,
)
__all__ += ["Exponential", "Cauchy", "Chi2", "StudentT", "Geometric", "NegativeBinomial",
            "Multinomial", "MixtureSameFamily", "ContinuousBernoulli", "FisherSnedecor",
            "VonMises", "GeneralizedPareto", "LowRankMultivariateNormal",
            "OneHotCategoricalStraightThrough", "Wishart", "LKJCholesky"]
