"""Probability distributions (``torch.distributions``): Categorical, Normal, Bernoulli.

Each has ``sample`` (no gradient), ``log_prob``, ``entropy``, ``mean`` and
``batch_shape``; ``Normal`` also has ``rsample`` (reparameterized, so
gradients flow to ``loc`` and ``scale``). ``kl_divergence`` covers
Normal-Normal, Categorical-Categorical and Bernoulli-Bernoulli.
"""
from __future__ import annotations

import math

from . import dtypes
from .autograd.grad_mode import no_grad
from .ops import creation
from .ops import compare, unary
from .ops import shape as shape_ops
from .tensor import Tensor

__all__ = ["Distribution", "Categorical", "Normal", "Bernoulli", "kl_divergence"]


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

    def sample(self, sample_shape=()) -> Tensor:
        """Draw ``sample_shape + batch_shape`` values (no gradient)."""
        with no_grad():
            return self.rsample(sample_shape) if self.has_rsample else self._sample(sample_shape)

    has_rsample = False

    def _extended(self, sample_shape) -> tuple:
        if isinstance(sample_shape, int):
            sample_shape = (sample_shape,)
        return tuple(sample_shape) + tuple(self.batch_shape)


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
    raise NotImplementedError(f"kl_divergence is not implemented for {type(p).__name__} and "
                              f"{type(q).__name__}")
