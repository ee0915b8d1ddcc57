"""More probability distributions (``torch.distributions``): MultivariateNormal, Gamma, Beta,
Dirichlet, Laplace, LogNormal, OneHotCategorical, Poisson and Binomial, with the KL pairs
torch has among them.

Built from framework ops only (no new kernels). The linear algebra MultivariateNormal needs
(Cholesky factor, triangular solve) is a composite here, written for the small event sizes of
RL/VAE scripts; the special functions Gamma and Beta need are ``framework.lgamma`` and
``framework.digamma`` (composites too); gradients come from autograd through them. Gamma, Beta and Dirichlet ``rsample``
carry torch's implicit reparameterization gradients (``_StandardGamma``,
``_DirichletSample``), computed exactly from series rather than torch's approximations.
Poisson has no ``rsample`` (as torch); Binomial samples as a sum of Bernoulli trials.
"""
from __future__ import annotations

import math

from . import _distribution_constraints as constraints
from . import dtypes
from .autograd.function import Function
from .autograd.grad_mode import no_grad
from .distributions import Distribution, ExponentialFamily
from .ops import compare, creation
from .ops.special import digamma, lgamma
from .ops import shape as shape_ops
from .tensor import Tensor

_LOG_2PI = math.log(2 * math.pi)


def _as_tensor(value, like: Tensor | None = None) -> Tensor:
    if isinstance(value, Tensor):
        return value
    dtype = like.dtype if like is not None else dtypes.get_default_dtype()
    device = like.device if like is not None else None
    return creation.tensor(value, dtype=dtype, device=device)


def _broadcast_shapes(*shapes) -> tuple:
    import framework
    return tuple(framework.broadcast_shapes(*shapes))


def _check_param(dist_name: str, name: str, value: Tensor, ok: bool, constraint: str) -> None:
    """torch's validate_args message for a parameter outside its constraint."""
    if not ok:
        raise ValueError(f"Expected parameter {name} (Tensor of shape {tuple(value.shape)}) of "
                         f"distribution {dist_name} to satisfy the constraint {constraint}, "
                         f"but found invalid values:\n{value}")


def _all(cond: Tensor) -> bool:
    return bool(cond.all().item())


def _validate_flag(validate_args) -> bool:
    """torch validates by default (``Distribution._validate_args`` is ``__debug__``)."""
    return __debug__ if validate_args is None else bool(validate_args)


# ----------------------------------------------------------------------------- linear algebra

def _cholesky(matrix: Tensor) -> tuple[Tensor, bool]:
    """Lower Cholesky factor of (..., n, n) ``matrix`` by the Cholesky-Banachiewicz loop in
    framework ops (O(n²) small ops: meant for small n), and whether every pivot was > 0."""
    n = matrix.shape[-1]
    rows: list[list[Tensor]] = []
    zero = creation.zeros(matrix.shape[:-2], dtype=matrix.dtype, device=matrix.device)
    positive = True
    for i in range(n):
        row = []
        for j in range(i + 1):
            acc = matrix[..., i, j]
            other = row if j == i else rows[j]
            for k in range(j):
                acc = acc - row[k] * other[k]
            if i == j:
                positive = positive and _all(acc > 0)
                row.append(acc.clamp(min=0).sqrt())
            else:
                row.append(acc / rows[j][j])
        rows.append(row + [zero] * (n - i - 1))
    stacked = [shape_ops.stack(row, -1) for row in rows]
    return shape_ops.stack(stacked, -2), positive


def _solve_lower(tril: Tensor, rhs: Tensor) -> Tensor:
    """x with ``tril @ x = rhs`` for vectors ``rhs`` (..., n), by forward substitution."""
    n = tril.shape[-1]
    xs: list[Tensor] = []
    for i in range(n):
        acc = rhs[..., i]
        for k in range(i):
            acc = acc - tril[..., i, k] * xs[k]
        xs.append(acc / tril[..., i, i])
    return shape_ops.stack(xs, -1)


def _tril_inverse(tril: Tensor) -> Tensor:
    """``tril⁻¹`` (lower triangular), column by column of the identity."""
    import framework
    n = tril.shape[-1]
    eye = framework.eye(n, dtype=tril.dtype, device=tril.device)
    cols = [_solve_lower(tril, eye[j].expand(tuple(tril.shape[:-1]))) for j in range(n)]
    return shape_ops.stack(cols, -1)


def _mT(x: Tensor) -> Tensor:
    return x.transpose(-1, -2)


def _diag(x: Tensor) -> Tensor:
    return x.diagonal(dim1=-2, dim2=-1)


# ----------------------------------------------------------------------------- distributions

class MultivariateNormal(Distribution):
    """Gaussian over vectors: ``loc`` (..., n) with exactly one of ``covariance_matrix``,
    ``precision_matrix`` or ``scale_tril`` (..., n, n); torch's API and shapes."""

    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None) -> None:
        loc = _as_tensor(loc)
        if loc.ndim < 1:
            raise ValueError("loc must be at least one-dimensional.")
        given = [m is not None for m in (covariance_matrix, precision_matrix, scale_tril)]
        if sum(given) != 1:
            raise ValueError("Exactly one of covariance_matrix or precision_matrix or "
                             "scale_tril may be specified.")
        validate = _validate_flag(validate_args)
        if scale_tril is not None:
            scale_tril = _as_tensor(scale_tril, loc)
            self._check_matrix("scale_tril", scale_tril)
            if validate:
                diag = _diag(scale_tril)
                _check_param(self._name(), "scale_tril", scale_tril,
                             _all(diag > 0) and _all(scale_tril.triu(1) == 0),
                             "LowerCholesky()")
            matrix = scale_tril
        elif covariance_matrix is not None:
            matrix = _as_tensor(covariance_matrix, loc)
            self._check_matrix("covariance_matrix", matrix)
        else:
            matrix = _as_tensor(precision_matrix, loc)
            self._check_matrix("precision_matrix", matrix)
        batch = _broadcast_shapes(tuple(matrix.shape[:-2]), tuple(loc.shape[:-1]))
        n = loc.shape[-1]
        if matrix.shape[-1] != n:
            raise ValueError(f"loc and the matrix disagree on the event size: {n} vs "
                             f"{matrix.shape[-1]}")
        self.batch_shape = batch
        self.event_shape = (n,)
        self.loc = loc.expand(batch + (n,))
        matrix = matrix.expand(batch + (n, n))
        if scale_tril is not None:
            self.scale_tril = matrix
        elif covariance_matrix is not None:
            self.scale_tril = self._factor("covariance_matrix", matrix, validate)
        else:
            factor = self._factor("precision_matrix", matrix, validate)
            inverse = _tril_inverse(factor)
            self.scale_tril, _ = _cholesky(_mT(inverse) @ inverse)

    def _name(self) -> str:
        return "MultivariateNormal()"

    @staticmethod
    def _check_matrix(name: str, matrix: Tensor) -> None:
        if matrix.ndim < 2:
            label = "scale_tril matrix" if name == "scale_tril" else name
            raise ValueError(f"{label} must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if matrix.shape[-1] != matrix.shape[-2]:
            raise ValueError(f"{name} matrix must be square, got {tuple(matrix.shape)}")

    def _factor(self, name: str, matrix: Tensor, validate: bool) -> Tensor:
        # torch's Cholesky gradient is symmetric: read both triangles, as (A + Aᵀ) / 2
        factor, positive = _cholesky((matrix + _mT(matrix)) * 0.5)
        if validate:
            # torch.isclose(matrix, matrix.mT, atol=1e-6) with its default rtol
            symmetric = _all((matrix - _mT(matrix)).abs() <= 1e-6 + 1e-5 * matrix.abs())
            _check_param(self._name(), name, matrix, symmetric and positive,
                         "PositiveDefinite()")
        return factor

    @property
    def mean(self) -> Tensor:
        """``loc``."""
        return self.loc

    @property
    def mode(self) -> Tensor:
        """``loc``."""
        return self.loc

    @property
    def covariance_matrix(self) -> Tensor:
        """``scale_tril @ scale_tril.mT``."""
        return self.scale_tril @ _mT(self.scale_tril)

    @property
    def precision_matrix(self) -> Tensor:
        """The inverse of the covariance, ``L⁻ᵀ L⁻¹``."""
        inverse = _tril_inverse(self.scale_tril)
        return _mT(inverse) @ inverse

    @property
    def variance(self) -> Tensor:
        """The covariance's diagonal: row sums of ``scale_tril ** 2``."""
        return (self.scale_tril ** 2).sum(-1)

    @property
    def stddev(self) -> Tensor:
        """``variance.sqrt()``."""
        return self.variance.sqrt()

    def rsample(self, sample_shape=()) -> Tensor:
        """``loc + scale_tril @ eps``: differentiable in the parameters."""
        eps = creation.randn(self._extended(sample_shape), dtype=self.loc.dtype,
                             device=self.loc.device)
        return self.loc + (self.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def sample(self, sample_shape=()) -> Tensor:
        """``rsample`` without gradient."""
        with no_grad():
            return self.rsample(sample_shape)

    def _half_log_det(self) -> Tensor:
        return _diag(self.scale_tril).log().sum(-1)

    def log_prob(self, value) -> Tensor:
        """Log density: -(n log 2π + Mahalanobis²)/2 - log det L."""
        value = _as_tensor(value, self.loc)
        diff = value - self.loc
        tril = self.scale_tril.expand(tuple(diff.shape[:-1]) + tuple(self.scale_tril.shape[-2:]))
        m = (_solve_lower(tril, diff) ** 2).sum(-1)
        n = self.event_shape[0]
        return -0.5 * (n * _LOG_2PI + m) - self._half_log_det()

    def entropy(self) -> Tensor:
        """n (1 + log 2π) / 2 + log det L."""
        n = self.event_shape[0]
        return 0.5 * n * (1.0 + _LOG_2PI) + self._half_log_det()

    def expand(self, batch_shape, _instance=None) -> "MultivariateNormal":
        """The same distribution broadcast to ``batch_shape``."""
        batch_shape = tuple(batch_shape)
        n = self.event_shape[0]
        return MultivariateNormal(self.loc.expand(batch_shape + (n,)),
                                  scale_tril=self.scale_tril.expand(batch_shape + (n, n)),
                                  validate_args=False)


def _kl_mvn_mvn(p: MultivariateNormal, q: MultivariateNormal) -> Tensor:
    if p.event_shape != q.event_shape:
        raise ValueError("KL-divergence between two Multivariate Normals with different event "
                         "shapes cannot be computed")
    batch = _broadcast_shapes(p.batch_shape, q.batch_shape)
    n = p.event_shape[0]
    q_tril = q.scale_tril.expand(batch + (n, n))
    p_tril = p.scale_tril.expand(batch + (n, n))
    q_inv = _tril_inverse(q_tril)
    trace = ((q_inv @ p_tril) ** 2).sum((-2, -1))
    maha = (_solve_lower(q_tril, (q.loc - p.loc).expand(batch + (n,))) ** 2).sum(-1)
    return q._half_log_det() - p._half_log_det() + 0.5 * (trace + maha - n)


# ----------------------------------------------------------------------------- elementwise families

def _positive(x: Tensor) -> bool:
    return _all(x > 0)


class _Elementwise(Distribution):
    """Shared plumbing of distributions whose parameters broadcast elementwise: ``_params``
    names the parameters, ``_positive_params`` those that must be > 0, ``_support`` the
    support check of ``value`` (or None)."""

    _params: tuple = ()
    _positive_params: tuple = ()
    has_rsample = False
    event_shape: tuple = ()

    def _init_params(self, values, validate_args) -> None:
        like = next((v for v in values if isinstance(v, Tensor)), None)
        tensors = [_as_tensor(v, like) for v in values]
        tensors = shape_ops.broadcast_tensors(*tensors)
        for name, tensor in zip(self._params, tensors):
            setattr(self, name, tensor)
        self.batch_shape = tuple(tensors[0].shape)
        self._validate_args = _validate_flag(validate_args)
        if self._validate_args:
            for name in self._positive_params:
                _check_param(self._name(), name, getattr(self, name),
                             _positive(getattr(self, name)), "GreaterThan(lower_bound=0.0)")

    def _name(self) -> str:
        shapes = ", ".join(f"{n}: {tuple(getattr(self, n).shape)}" for n in self._params
                           if hasattr(self, n))
        return f"{type(self).__name__}({shapes})"

    def _first(self) -> Tensor:
        return getattr(self, self._params[0])

    def _value(self, value) -> Tensor:
        value = _as_tensor(value, self._first())
        if self._validate_args and not self._in_support(value):
            raise ValueError(f"Expected value argument (Tensor of shape {tuple(value.shape)}) "
                             f"to be within the support ({self._support_name}) of the "
                             f"distribution {self._name()}, but found invalid values:\n{value}")
        return value

    _support_name = "Real()"

    def _in_support(self, value: Tensor) -> bool:
        return True

    def sample(self, sample_shape=()) -> Tensor:
        """Draw ``sample_shape + batch_shape + event_shape`` values (no gradient)."""
        with no_grad():
            if self.has_rsample:
                return self.rsample(sample_shape)
            return self._sample(sample_shape)

    @property
    def stddev(self) -> Tensor:
        """``variance.sqrt()``."""
        return self.variance.sqrt()

    def rsample(self, sample_shape=()) -> Tensor:
        """Only the families with ``has_rsample`` have it (torch's Poisson has none)."""
        raise NotImplementedError(f"{type(self).__name__}.rsample is not implemented")

    def expand(self, batch_shape, _instance=None):
        """The same distribution with its parameters broadcast to ``batch_shape``."""
        full = tuple(batch_shape) + tuple(self.event_shape)
        values = [getattr(self, n).expand(full) for n in self._params]
        return type(self)(*values, validate_args=False)


def _uniform_like(param: Tensor, shape: tuple) -> Tensor:
    return creation.rand(shape, dtype=param.dtype, device=param.device)


def _standard_gamma(alpha: Tensor) -> Tensor:
    """Gamma(alpha, 1) draws of ``alpha``'s shape: Marsaglia-Tsang's squeeze-and-reject,
    vectorized (redraw where rejected until every element is accepted); alpha < 1 is boosted
    by Gamma(alpha + 1) · U^(1/alpha). Draws are clamped to the dtype's ``tiny`` as torch
    does."""
    shape = tuple(alpha.shape)
    small = alpha < 1
    boosted = compare.where(small, alpha + 1, alpha)
    d = boosted - 1.0 / 3.0
    c = 1.0 / (9.0 * d).sqrt()
    tiny = dtypes.finfo(alpha.dtype).tiny
    result = creation.zeros(shape, dtype=alpha.dtype, device=alpha.device)
    done = result > 0
    while not _all(done):
        x = creation.randn(shape, dtype=alpha.dtype, device=alpha.device)
        v = (1 + c * x) ** 3
        u = _uniform_like(alpha, shape)
        safe_v = v.clamp(min=tiny)
        bound = 0.5 * x * x + d - d * safe_v + d * safe_v.log()
        accept = compare.logical_and(v > 0, u.clamp(min=tiny).log() < bound)
        fresh = compare.logical_and(accept, compare.logical_not(done))
        result = compare.where(fresh, d * v, result)
        done = compare.logical_or(done, accept)
    u = _uniform_like(alpha, shape).clamp(min=tiny)
    boost = compare.where(small, u ** (1.0 / alpha), 1.0)
    return (result * boost).clamp(min=tiny)


def _standard_gamma_grad(alpha: Tensor, x: Tensor) -> Tensor:
    """dx/dα of a Gamma(α, 1) draw x with the CDF P(α, x) held fixed (implicit
    reparameterization): -(∂P/∂α) / p(x). ∂P/∂α comes from the series
    P = Σₙ xᵅ⁺ⁿ e⁻ˣ / Γ(α+n+1), differentiated term by term (each term times
    log x - ψ(α+n+1)), summed in float64 until n passes x + 10√x + 30; the terms and ψ
    follow their recurrences, so lgamma and digamma run once."""
    a = alpha.to(dtypes.float64)
    x64 = x.to(dtypes.float64)
    log_x = x64.log()
    term = (a * log_x - x64 - lgamma(a + 1)).exp()
    psi = digamma(a + 1)
    d_cdf = term * (log_x - psi)
    largest = float(x64.max().item()) if x64.numel() else 0.0
    for n in range(1, int(largest + 10 * math.sqrt(largest) + 30)):
        term = term * x64 / (a + n)
        psi = psi + 1.0 / (a + n)
        d_cdf = d_cdf + term * (log_x - psi)
    density = ((a - 1) * log_x - x64 - lgamma(a)).exp()
    return (-d_cdf / density).to(alpha.dtype)


class _StandardGamma(Function):
    """Gamma(α, 1) draws whose gradient in α is the implicit reparameterization one (as
    torch's ``_standard_gamma``; not twice differentiable, as in torch)."""

    @staticmethod
    def forward(ctx, alpha):
        x = _standard_gamma(alpha)
        ctx.save_for_backward(alpha, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        alpha, x = ctx.saved_tensors
        return grad * _standard_gamma_grad(alpha, x)


class Gamma(_Elementwise, ExponentialFamily):
    """Gamma with shape ``concentration`` and ``rate`` (density ∝ x^(a-1) e^(-rate x)).
    ``rsample`` is reparameterized as torch's: implicit in the concentration, x / rate in
    the rate."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _params = ("concentration", "rate")
    _positive_params = ("concentration", "rate")
    _support_name = "GreaterThanEq(lower_bound=0.0)"

    def __init__(self, concentration, rate, validate_args=None) -> None:
        self._init_params((concentration, rate), validate_args)

    def _in_support(self, value: Tensor) -> bool:
        return _all(value >= 0)

    @property
    def mean(self) -> Tensor:
        """``concentration / rate``."""
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        """``(concentration - 1) / rate`` clamped at 0."""
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        """``concentration / rate²``."""
        return self.concentration / self.rate ** 2

    def rsample(self, sample_shape=()) -> Tensor:
        """Gamma(concentration, 1) draws / rate, differentiable in both parameters."""
        alpha = self.concentration.expand(self._extended(sample_shape))
        return _StandardGamma.apply(alpha) / self.rate.expand(alpha.shape)

    def log_prob(self, value) -> Tensor:
        """a log(rate) + (a-1) log(x) - rate x - lgamma(a)."""
        value = self._value(value)
        a, rate = self.concentration, self.rate
        return a * rate.log() + (a - 1) * value.log() - rate * value - lgamma(a)

    @property
    def _natural_params(self) -> tuple:
        return self.concentration - 1, -self.rate

    def _log_normalizer(self, x, y) -> Tensor:
        return lgamma(x + 1) + (x + 1) * (-y.reciprocal()).log()

    _mean_carrier_measure = 0

    def entropy(self) -> Tensor:
        """a - log(rate) + lgamma(a) + (1 - a) digamma(a)."""
        a = self.concentration
        return a - self.rate.log() + lgamma(a) + (1.0 - a) * digamma(a)


_SERIES_BLOCK = 32
_SERIES_LIMIT = 20000


def _ibeta_series(x: Tensor, a: Tensor, b: Tensor, step_weight, weight: Tensor) -> Tensor:
    """Σₙ tₙ wₙ over the hypergeometric series of the regularized incomplete beta
    I_x(a, b) = Σₙ tₙ, tₙ = xᵃ (1-x)ᵇ / (a B(a, b)) · (a+b)ₙ / (a+1)ₙ · xⁿ, where ``weight``
    is w₀ and ``step_weight(n)`` the change wₙ - wₙ₋₁ (so Σ tₙ wₙ is a derivative of I in a
    parameter). Runs in blocks until the last terms fall below 1e-17 of the sum."""
    term = (a * x.log() + b * (-x).log1p() - a.log() - lgamma(a) - lgamma(b)
            + lgamma(a + b)).exp()
    total = term * weight
    n = 0
    while n < _SERIES_LIMIT:
        for _ in range(_SERIES_BLOCK):
            n += 1
            weight = weight + step_weight(n)
            term = term * x * (a + b + n - 1) / (a + n)
            total = total + term * weight
        tail = float((term * (weight.abs() + 1)).max().item())
        if tail < 1e-17 * float(total.abs().max().item() + 1e-300):
            break
    return total


def _dirichlet_grad(x: Tensor, alpha: Tensor, total: Tensor) -> Tensor:
    """torch's ``_dirichlet_grad``: -(∂/∂α I_x(α, β)) / (pdf(x; α, β) (1 - x)) with
    β = total - α held fixed, computed from the series (in float64) where it converges fast
    (x < (α+1)/(α+β+2)) and through I_x(α, β) = 1 - I_{1-x}(β, α) elsewhere."""
    x64 = x.to(dtypes.float64)
    a = alpha.to(dtypes.float64)
    b = total.to(dtypes.float64) - a
    direct = x64 < (a + 1) / (a + b + 2)
    near = compare.where(direct, x64, 0.5)
    d_first = _ibeta_series(near, a, b, lambda n: 1.0 / (a + b + n - 1) - 1.0 / (a + n),
                            near.log() - 1.0 / a - digamma(a) + digamma(a + b))
    far = compare.where(direct, 0.5, 1 - x64)
    d_second = _ibeta_series(far, b, a, lambda n: 1.0 / (a + b + n - 1),
                             (-far).log1p() + digamma(a + b) - digamma(a))
    d_cdf = compare.where(direct, d_first, -d_second)
    pdf = ((a - 1) * x64.log() + (b - 1) * (-x64).log1p() - lgamma(a) - lgamma(b)
           + lgamma(a + b)).exp()
    grad = compare.where(pdf > 0, -d_cdf / (pdf * (1 - x64)), 0.0)
    return grad.to(x.dtype)


def _dirichlet_draw(concentration: Tensor) -> Tensor:
    draws = _standard_gamma(concentration)
    tiny = dtypes.finfo(draws.dtype).tiny
    eps = dtypes.finfo(draws.dtype).eps
    return (draws / draws.sum(-1, keepdim=True)).clamp(tiny, 1 - eps)


class _DirichletSample(Function):
    """Dirichlet draws (normalized Gamma draws) with torch's implicit reparameterization
    gradient: dirichlet_grad(x, c, Σc) · (g - Σ x g)."""

    @staticmethod
    def forward(ctx, concentration):
        x = _dirichlet_draw(concentration)
        ctx.save_for_backward(concentration, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        concentration, x = ctx.saved_tensors
        total = concentration.sum(-1, keepdim=True).expand(tuple(concentration.shape))
        scale = _dirichlet_grad(x, concentration, total)
        return scale * (grad - (x * grad).sum(-1, keepdim=True))


def _dirichlet_entropy(c: Tensor) -> Tensor:
    k = c.shape[-1]
    total = c.sum(-1)
    return (lgamma(c).sum(-1) - lgamma(total) - (k - total) * digamma(total)
            - ((c - 1.0) * digamma(c)).sum(-1))


class Beta(_Elementwise, ExponentialFamily):
    """Beta on (0, 1) with ``concentration1`` (α) and ``concentration0`` (β); sampled and
    reparameterized through a two-category Dirichlet, as torch."""

    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    _params = ("concentration1", "concentration0")
    _positive_params = ("concentration1", "concentration0")
    _support_name = "Interval(lower_bound=0.0, upper_bound=1.0)"

    def __init__(self, concentration1, concentration0, validate_args=None) -> None:
        self._init_params((concentration1, concentration0), validate_args)

    def _in_support(self, value: Tensor) -> bool:
        return _all(compare.logical_and(value >= 0, value <= 1))

    @property
    def mean(self) -> Tensor:
        """α / (α + β)."""
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def variance(self) -> Tensor:
        """αβ / ((α + β)² (α + β + 1))."""
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total ** 2 * (total + 1))

    def rsample(self, sample_shape=()) -> Tensor:
        """The first coordinate of a Dirichlet((α, β)) rsample, as torch does."""
        shape = self._extended(sample_shape)
        pair = shape_ops.stack([self.concentration1.expand(shape),
                                self.concentration0.expand(shape)], -1)
        return _DirichletSample.apply(pair)[..., 0]

    def log_prob(self, value) -> Tensor:
        """(α-1) log x + (β-1) log(1-x) - log B(α, β)."""
        value = self._value(value)
        a, b = self.concentration1, self.concentration0
        return ((a - 1) * value.log() + (b - 1) * (1 - value).log()
                + lgamma(a + b) - lgamma(a) - lgamma(b))

    @property
    def _natural_params(self) -> tuple:
        return self.concentration1, self.concentration0

    def _log_normalizer(self, x, y) -> Tensor:
        return lgamma(x) + lgamma(y) - lgamma(x + y)

    def entropy(self) -> Tensor:
        """The two-category Dirichlet entropy."""
        c = shape_ops.stack([self.concentration1, self.concentration0], -1)
        return _dirichlet_entropy(c)


class Dirichlet(_Elementwise, ExponentialFamily):
    """Dirichlet over the simplex with ``concentration`` (..., K); event shape (K,).
    Sampled as normalized Gamma draws, with torch's implicit reparameterization gradient."""

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    _params = ("concentration",)
    _support_name = "Simplex()"

    def __init__(self, concentration, validate_args=None) -> None:
        concentration = _as_tensor(concentration)
        if concentration.ndim < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        self.batch_shape = tuple(concentration.shape[:-1])
        self.event_shape = tuple(concentration.shape[-1:])
        self._validate_args = _validate_flag(validate_args)
        if self._validate_args:
            _check_param(self._name(), "concentration", concentration, _positive(concentration),
                         "IndependentConstraint(GreaterThan(lower_bound=0.0), 1)")

    def _in_support(self, value: Tensor) -> bool:
        return _all(value >= 0) and _all(((value.sum(-1) - 1).abs() < 1e-6))

    @property
    def mean(self) -> Tensor:
        """``concentration / concentration.sum(-1)``."""
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def variance(self) -> Tensor:
        """c (c0 - c) / (c0² (c0 + 1)) with c0 the total concentration."""
        c = self.concentration
        total = c.sum(-1, keepdim=True)
        return c * (total - c) / (total ** 2 * (total + 1))

    def rsample(self, sample_shape=()) -> Tensor:
        """Normalized Gamma draws, differentiable by torch's implicit reparameterization."""
        return _DirichletSample.apply(self.concentration.expand(self._extended(sample_shape)))

    def log_prob(self, value) -> Tensor:
        """Σ (c-1) log x + lgamma(Σ c) - Σ lgamma(c)."""
        value = self._value(value)
        c = self.concentration
        return (((c - 1) * value.log()).sum(-1) + lgamma(c.sum(-1)) - lgamma(c).sum(-1))

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration,)

    def _log_normalizer(self, x) -> Tensor:
        return lgamma(x).sum(-1) - lgamma(x.sum(-1))

    def entropy(self) -> Tensor:
        """log B(c) + (c0 - K) ψ(c0) - Σ (c - 1) ψ(c)."""
        return _dirichlet_entropy(self.concentration)


class Laplace(_Elementwise):
    """Laplace with ``loc`` and ``scale``; reparameterized like torch."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    _params = ("loc", "scale")
    _positive_params = ("scale",)
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None) -> None:
        self._init_params((loc, scale), validate_args)

    @property
    def mean(self) -> Tensor:
        """``loc``."""
        return self.loc

    @property
    def mode(self) -> Tensor:
        """``loc``."""
        return self.loc

    @property
    def variance(self) -> Tensor:
        """``2 scale²``."""
        return 2 * self.scale ** 2

    def rsample(self, sample_shape=()) -> Tensor:
        """loc - scale sign(u) log1p(-|u|) with u uniform in (eps - 1, 1)."""
        shape = self._extended(sample_shape)
        eps = dtypes.finfo(self.loc.dtype).eps
        u = _uniform_like(self.loc, shape) * (2 - eps) + (eps - 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value) -> Tensor:
        """-log(2 scale) - |x - loc| / scale."""
        value = self._value(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value) -> Tensor:
        """0.5 - 0.5 sign(x - loc) expm1(-|x - loc| / scale)."""
        value = self._value(value)
        z = value - self.loc
        return 0.5 - 0.5 * z.sign() * (-z.abs() / self.scale).expm1()

    def entropy(self) -> Tensor:
        """1 + log(2 scale)."""
        return 1 + (2 * self.scale).log()


class LogNormal(_Elementwise):
    """exp of a Normal(``loc``, ``scale``); reparameterized."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    _params = ("loc", "scale")
    _positive_params = ("scale",)
    has_rsample = True
    _support_name = "GreaterThan(lower_bound=0.0)"

    def __init__(self, loc, scale, validate_args=None) -> None:
        self._init_params((loc, scale), validate_args)

    def _in_support(self, value: Tensor) -> bool:
        return _all(value > 0)

    @property
    def mean(self) -> Tensor:
        """exp(loc + scale² / 2)."""
        return (self.loc + self.scale ** 2 / 2).exp()

    @property
    def mode(self) -> Tensor:
        """exp(loc - scale²)."""
        return (self.loc - self.scale ** 2).exp()

    @property
    def variance(self) -> Tensor:
        """(exp(scale²) - 1) exp(2 loc + scale²)."""
        s2 = self.scale ** 2
        return s2.expm1() * (2 * self.loc + s2).exp()

    def rsample(self, sample_shape=()) -> Tensor:
        """exp(loc + scale · eps)."""
        eps = creation.randn(self._extended(sample_shape), dtype=self.loc.dtype,
                             device=self.loc.device)
        return (self.loc + eps * self.scale).exp()

    def log_prob(self, value) -> Tensor:
        """Normal log density of log(x), minus log(x)."""
        value = self._value(value)
        y = value.log()
        return (-((y - self.loc) ** 2) / (2 * self.scale ** 2) - self.scale.log()
                - 0.5 * _LOG_2PI - y)

    def entropy(self) -> Tensor:
        """The Normal entropy plus ``loc``."""
        return 0.5 + 0.5 * _LOG_2PI + self.scale.log() + self.loc


class _CategoricalEvents(Distribution):
    """Shared plumbing of the distributions built on a Categorical over the last dim of
    ``probs`` (normalized here) or ``logits`` (OneHotCategorical, Multinomial): event shape
    (K,), the normalized ``probs``/``logits``, torch's Simplex check of ``probs``."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def _init_categorical(self, probs, logits, validate_args) -> None:
        from .distributions import Categorical
        self._validate_args = _validate_flag(validate_args)
        if probs is not None and self._validate_args:
            probs = _as_tensor(probs)
            if probs.ndim >= 1:
                _check_param(f"{type(self).__name__}()", "probs", probs, _all(probs >= 0),
                             "Simplex()")
        self._categorical = Categorical(probs=probs, logits=logits)
        self.batch_shape = tuple(self._categorical.batch_shape)
        self.event_shape = (self._categorical._num_events,)

    @property
    def probs(self) -> Tensor:
        """The normalized probabilities."""
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        """The normalized log-probabilities."""
        return self._categorical.logits

    @property
    def param_shape(self) -> tuple:
        """Shape of ``probs``."""
        return tuple(self.probs.shape)


class OneHotCategorical(_CategoricalEvents):
    """A Categorical whose values are one-hot vectors over the last dim (event shape (K,));
    ``probs`` (normalized here) or ``logits``."""

    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None) -> None:
        self._init_categorical(probs, logits, validate_args)

    @property
    def mean(self) -> Tensor:
        """``probs``."""
        return self.probs

    @property
    def mode(self) -> Tensor:
        """One-hot of the most probable category."""
        from .ops.indexing import one_hot
        index = self.probs.argmax(-1)
        return one_hot(index, self.event_shape[0]).to(self.probs.dtype)

    @property
    def variance(self) -> Tensor:
        """``probs (1 - probs)``."""
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        """One-hot vectors of Categorical draws, in ``probs``' dtype."""
        from .ops.indexing import one_hot
        with no_grad():
            index = self._categorical.sample(sample_shape)
            return one_hot(index, self.event_shape[0]).to(self.probs.dtype)

    def log_prob(self, value) -> Tensor:
        """The Categorical log_prob of ``value.argmax(-1)``."""
        value = _as_tensor(value, self.probs)
        if self._validate_args:
            ok = _all(compare.logical_or(value == 0, value == 1)) and _all(value.sum(-1) == 1)
            if not ok:
                raise ValueError(f"Expected value argument (Tensor of shape "
                                 f"{tuple(value.shape)}) to be within the support (OneHot()) "
                                 f"of the distribution {type(self).__name__}(), but found "
                                 f"invalid values:\n{value}")
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self) -> Tensor:
        """The Categorical entropy."""
        return self._categorical.entropy()

    def enumerate_support(self, expand=True) -> Tensor:
        """The K one-hot vectors along a new first dim: (K, 1.., K), or (K,) + batch + (K,)
        with ``expand``."""
        import framework
        n = self.event_shape[0]
        values = framework.eye(n, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((n,) + (1,) * len(self.batch_shape) + (n,))
        if expand:
            values = values.expand((n,) + tuple(self.batch_shape) + (n,))
        return values

    def expand(self, batch_shape, _instance=None) -> "OneHotCategorical":
        """The same distribution with ``logits`` broadcast to ``batch_shape``."""
        shape = tuple(batch_shape) + self.event_shape
        return OneHotCategorical(logits=self.logits.expand(shape), validate_args=False)


def _poisson_knuth(rate: Tensor) -> Tensor:
    """Knuth's product-of-uniforms draw (for small rates): count uniforms until their
    product drops below exp(-rate)."""
    limit = (-rate).exp()
    count = creation.zeros(tuple(rate.shape), dtype=rate.dtype, device=rate.device)
    product = _uniform_like(rate, tuple(rate.shape))
    running = product > limit
    while bool(running.any().item()):
        count = count + running.to(rate.dtype)
        product = product * compare.where(running, _uniform_like(rate, tuple(rate.shape)), 1.0)
        running = compare.logical_and(running, product > limit)
    return count


def _poisson_ptrs(rate: Tensor) -> Tensor:
    """Hörmann's transformed rejection (PTRS) draw, as NumPy does it for rates >= 10,
    vectorized: redraw where rejected until every element is accepted."""
    from .ops.unary import floor
    shape = tuple(rate.shape)
    slam = rate.sqrt()
    loglam = rate.log()
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    invalpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    result = creation.zeros(shape, dtype=rate.dtype, device=rate.device)
    done = result > 0
    while not _all(done):
        u = _uniform_like(rate, shape) - 0.5
        v = _uniform_like(rate, shape)
        us = 0.5 - u.abs()
        k = floor((2 * a / us + b) * u + rate + 0.43)
        quick = compare.logical_and(us >= 0.07, v <= vr)
        bad = compare.logical_or(k < 0, compare.logical_and(us < 0.013, v > us))
        kk = k.clamp(min=0)
        lhs = v.clamp(min=1e-300).log() + invalpha.log() - (a / (us * us) + b).log()
        slow = lhs <= -rate + kk * loglam - lgamma(kk + 1)
        accept = compare.logical_or(quick, compare.logical_and(compare.logical_not(bad), slow))
        fresh = compare.logical_and(accept, compare.logical_not(done))
        result = compare.where(fresh, k, result)
        done = compare.logical_or(done, accept)
    return result


def _poisson_draw(rate: Tensor) -> Tensor:
    """Poisson draws of ``rate``'s shape (computed in float64): Knuth below rate 10, PTRS
    above, as NumPy does."""
    rate64 = rate.to(dtypes.float64)
    small = rate64 < 10
    if _all(small):
        return _poisson_knuth(rate64).to(rate.dtype)
    if not bool(small.any().item()):
        return _poisson_ptrs(rate64).to(rate.dtype)
    knuth = _poisson_knuth(compare.where(small, rate64, 0.0))
    ptrs = _poisson_ptrs(compare.where(small, 10.0, rate64))
    return compare.where(small, knuth, ptrs).to(rate.dtype)


class Poisson(_Elementwise, ExponentialFamily):
    """Poisson counts with ``rate``; no entropy (as torch)."""

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer
    _params = ("rate",)
    _support_name = "IntegerGreaterThan(lower_bound=0)"

    def __init__(self, rate, validate_args=None) -> None:
        self._init_params((rate,), validate_args)
        if self._validate_args:
            _check_param(self._name(), "rate", self.rate, _all(self.rate >= 0),
                         "GreaterThanEq(lower_bound=0.0)")

    @property
    def _natural_params(self) -> tuple:
        return (self.rate.log(),)

    def _log_normalizer(self, x) -> Tensor:
        return x.exp()

    def _in_support(self, value: Tensor) -> bool:
        return _all(value >= 0) and _all(value == value.round())

    @property
    def mean(self) -> Tensor:
        """``rate``."""
        return self.rate

    @property
    def mode(self) -> Tensor:
        """``floor(rate)``."""
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        """``rate``."""
        return self.rate

    def _sample(self, sample_shape) -> Tensor:
        return _poisson_draw(self.rate.expand(self._extended(sample_shape)))

    def log_prob(self, value) -> Tensor:
        """xlogy(value, rate) - rate - lgamma(value + 1)."""
        value = self._value(value)
        value, rate = shape_ops.broadcast_tensors(value, self.rate)
        xlogy = compare.where(value == 0, 0.0, value * rate.log())
        return xlogy - rate - lgamma(value + 1)


def _clamp_by_zero(x: Tensor) -> Tensor:
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


class Binomial(Distribution):
    """Number of successes in ``total_count`` trials with ``probs`` (or ``logits``).
    Sampled as a sum of Bernoulli draws (cost grows with ``total_count``)."""

    has_enumerate_support = True

    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}

    @constraints.dependent_property(is_discrete=True, event_dim=0)
    def support(self):
        """``integer_interval(0, total_count)``."""
        return constraints.integer_interval(0, self.total_count)

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        self._validate_args = _validate_flag(validate_args)
        param = _as_tensor(probs if probs is not None else logits)
        count = _as_tensor(total_count, param)
        count, param = shape_ops.broadcast_tensors(count.to(param.dtype), param)
        self.total_count = count
        if probs is not None:
            eps = dtypes.finfo(param.dtype).eps
            clamped = param.clamp(eps, 1 - eps)
            self.probs, self.logits = param, clamped.log() - (-clamped).log1p()
        else:
            self.logits, self.probs = param, param.sigmoid()
        self._from_probs = probs is not None
        self.batch_shape = tuple(param.shape)
        if self._validate_args:
            name = f"Binomial(total_count: {tuple(count.shape)})"
            _check_param(name, "total_count", count,
                         _all(count >= 0) and _all(count == count.round()),
                         "IntegerGreaterThan(lower_bound=0)")
            if probs is not None:
                _check_param(name, "probs", param,
                             _all(compare.logical_and(param >= 0, param <= 1)),
                             "Interval(lower_bound=0.0, upper_bound=1.0)")

    @property
    def param_shape(self) -> tuple:
        """The parameter's shape."""
        return self.batch_shape

    @property
    def mean(self) -> Tensor:
        """``total_count probs``."""
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        """floor((n + 1) p) clamped to n."""
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        """``n p (1 - p)``."""
        return self.total_count * self.probs * (1 - self.probs)

    @property
    def stddev(self) -> Tensor:
        """``variance.sqrt()``."""
        return self.variance.sqrt()

    def sample(self, sample_shape=()) -> Tensor:
        """Sum over ``max(total_count)`` Bernoulli trials, trial i counted where i < n."""
        with no_grad():
            shape = self._extended(sample_shape)
            most = int(self.total_count.max().item())
            probs = self.probs.expand(shape).unsqueeze(-1)
            trials = _uniform_like(probs, shape + (most,)) < probs
            index = creation.arange(most, dtype=probs.dtype, device=probs.device)
            counted = compare.logical_and(trials, index < self.total_count.expand(shape)
                                          .unsqueeze(-1))
            return counted.to(probs.dtype).sum(-1)

    def log_prob(self, value) -> Tensor:
        """log C(n, k) + k logit - n softplus(logit), written as torch does."""
        value = _as_tensor(value, self.probs)
        if self._validate_args:
            ok = (_all(value >= 0) and _all(value == value.round())
                  and _all(value <= self.total_count))
            if not ok:
                raise ValueError(f"Expected value argument (Tensor of shape "
                                 f"{tuple(value.shape)}) to be within the support "
                                 f"(IntegerInterval(lower_bound=0, upper_bound=total_count)) "
                                 f"of the distribution Binomial(), but found invalid "
                                 f"values:\n{value}")
        n, logits = self.total_count, self.logits
        normalize = (n * _clamp_by_zero(logits) + n * (-logits.abs()).exp().log1p()
                     - lgamma(n + 1))
        return value * logits - lgamma(value + 1) - lgamma(n - value + 1) - normalize

    def enumerate_support(self, expand=True) -> Tensor:
        """0..n along a new first dim (``total_count`` must be the same everywhere)."""
        most = self._homogeneous_count("enumerate_support")
        values = creation.arange(most + 1, dtype=self.probs.dtype, device=self.probs.device)
        values = values.reshape((-1,) + (1,) * len(self.batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self.batch_shape))
        return values

    def _homogeneous_count(self, what: str) -> int:
        most = int(self.total_count.max().item())
        if int(self.total_count.min().item()) != most:
            raise NotImplementedError(f"Inhomogeneous total count not supported by `{what}`.")
        return most

    def entropy(self) -> Tensor:
        """-Σ p log p over the support (``total_count`` must be the same everywhere)."""
        self._homogeneous_count("entropy")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)

    def expand(self, batch_shape, _instance=None) -> "Binomial":
        """The same distribution broadcast to ``batch_shape``."""
        batch_shape = tuple(batch_shape)
        key = "probs" if self._from_probs else "logits"
        return Binomial(self.total_count.expand(batch_shape),
                        **{key: getattr(self, key).expand(batch_shape)}, validate_args=False)


# ----------------------------------------------------------------------------- KL pairs

def _kl_gamma_gamma(p: Gamma, q: Gamma) -> Tensor:
    t1 = q.concentration * (p.rate / q.rate).log()
    t2 = lgamma(q.concentration) - lgamma(p.concentration)
    t3 = (p.concentration - q.concentration) * digamma(p.concentration)
    t4 = (q.rate - p.rate) * (p.concentration / p.rate)
    return t1 + t2 + t3 + t4


def _kl_beta_beta(p: Beta, q: Beta) -> Tensor:
    sum_p = p.concentration1 + p.concentration0
    sum_q = q.concentration1 + q.concentration0
    t1 = lgamma(q.concentration1) + lgamma(q.concentration0) + lgamma(sum_p)
    t2 = lgamma(p.concentration1) + lgamma(p.concentration0) + lgamma(sum_q)
    t3 = (p.concentration1 - q.concentration1) * digamma(p.concentration1)
    t4 = (p.concentration0 - q.concentration0) * digamma(p.concentration0)
    t5 = (sum_q - sum_p) * digamma(sum_p)
    return t1 - t2 + t3 + t4 + t5


def _kl_dirichlet_dirichlet(p: Dirichlet, q: Dirichlet) -> Tensor:
    sum_p = p.concentration.sum(-1)
    sum_q = q.concentration.sum(-1)
    t1 = lgamma(sum_p) - lgamma(sum_q)
    t2 = (lgamma(p.concentration) - lgamma(q.concentration)).sum(-1)
    t3 = p.concentration - q.concentration
    t4 = digamma(p.concentration) - digamma(sum_p).unsqueeze(-1)
    return t1 - t2 + (t3 * t4).sum(-1)


def _kl_laplace_laplace(p: Laplace, q: Laplace) -> Tensor:
    ratio = p.scale / q.scale
    gap = (p.loc - q.loc).abs()
    return -ratio.log() + gap / q.scale + ratio * (-gap / p.scale).exp() - 1


def _kl_lognormal_lognormal(p: LogNormal, q: LogNormal) -> Tensor:
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


def _kl_onehot_onehot(p: OneHotCategorical, q: OneHotCategorical) -> Tensor:
    from .distributions import kl_divergence
    return kl_divergence(p._categorical, q._categorical)


def _kl_poisson_poisson(p: Poisson, q: Poisson) -> Tensor:
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


def _kl_binomial_binomial(p: Binomial, q: Binomial) -> Tensor:
    if not _all(p.total_count >= q.total_count):
        raise NotImplementedError("KL between Binomials where q.total_count > p.total_count "
                                  "is not implemented")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + (-p.probs).log1p()
                          - (-q.probs).log1p())
    return compare.where(p.total_count > q.total_count, float("inf"), kl)


KL_PAIRS = {
    OneHotCategorical: _kl_onehot_onehot,
    Poisson: _kl_poisson_poisson,
    Binomial: _kl_binomial_binomial,
    MultivariateNormal: _kl_mvn_mvn,
    Gamma: _kl_gamma_gamma,
    Beta: _kl_beta_beta,
    Dirichlet: _kl_dirichlet_dirichlet,
    Laplace: _kl_laplace_laplace,
    LogNormal: _kl_lognormal_lognormal,
}
