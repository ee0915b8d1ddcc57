"""PyTorch's NumPy-style numeric helpers: composites of the other families' ops.

``torch.nan_to_num``, ``nansum``/``nanmean``, ``fmax``/``fmin``, ``xlogy``, ``logit``,
``sinc``, ``kron``, ``cross``, ``cov``/``corrcoef``, ``trapezoid``, the stacking and
splitting helpers (``atleast_*d``, ``column_stack``, ``hsplit`` ...), the window functions
and the like. Each is written with framework ops only, so it runs on both backends and
its gradients (of any order) come from theirs; where PyTorch's gradient picks a side
(``fmax`` ties, ``nan_to_num``'s replaced elements) the composite is written to pick
the same one.
"""
from __future__ import annotations

import builtins
import math
import warnings
from collections import namedtuple

from .. import dtypes
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from . import binary, compare, creation, matmul, reduce, scan, shape, sort, unary
from ._util import check_tensor, common_device, normalize_dim
from .registry import register

__all__ = [
    "nan_to_num", "nansum", "nanmean", "deg2rad", "rad2deg", "logit", "sinc", "positive",
    "signbit", "isposinf", "isneginf", "isreal", "fmax", "fmin", "xlogy", "heaviside",
    "float_power", "rsub", "aminmax", "dist", "trapezoid", "trapz", "cumulative_trapezoid",
    "cov", "corrcoef", "ravel", "atleast_1d", "atleast_2d", "atleast_3d", "dstack",
    "column_stack", "row_stack", "hsplit", "vsplit", "dsplit", "block_diag", "diagflat",
    "kron", "take", "msort", "unravel_index", "vdot", "addr", "ger", "addbmm",
    "chain_matmul", "cross", "hann_window", "hamming_window", "blackman_window",
    "bartlett_window", "scalar_tensor", "fix", "arctan2", "is_nonzero", "is_same_size",
    "is_signed", "is_neg", "resolve_neg", "split_with_sizes", "unsafe_chunk", "unsafe_split",
    "unsafe_split_with_sizes", "kaiser_window", "gcd", "lcm", "ldexp", "frexp",
    "histc", "histogram", "vander", "renorm", "select_scatter", "slice_scatter",
    "diagonal_scatter", "asarray", "nextafter", "gradient", "range", "mode", "put",
    "nonzero_static", "as_strided", "as_strided_scatter", "histogramdd",
]
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = (
    "nan_to_num", "nansum", "nanmean", "deg2rad", "rad2deg", "logit", "sinc", "positive",
    "signbit", "isposinf", "isneginf", "isreal", "fmax", "fmin", "xlogy", "heaviside",
    "float_power", "aminmax", "dist", "cov", "corrcoef", "ravel", "hsplit", "vsplit",
    "dsplit", "diagflat", "kron", "take", "msort", "vdot", "addr", "ger", "addbmm", "cross",
    "fix", "arctan2", "is_nonzero", "is_same_size", "is_signed", "is_neg", "resolve_neg",
    "split_with_sizes", "unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes", "gcd",
    "lcm", "ldexp", "frexp", "histc", "histogram", "renorm", "select_scatter",
    "slice_scatter", "diagonal_scatter", "nextafter", "mode", "put", "nonzero_static",
    "as_strided", "as_strided_scatter",
)

FrexpResult = namedtuple("frexp", ("mantissa", "exponent"))  # ``torch.return_types.frexp``
HistogramResult = namedtuple("histogram", ("hist", "bin_edges"))
ModeResult = namedtuple("mode", ("values", "indices"))  # ``torch.return_types.mode``
HistogramddResult = namedtuple("histogramdd", ("hist", "bin_edges"))

AminmaxResult = namedtuple("aminmax", ("min", "max"))  # ``torch.return_types.aminmax``


def _floating(op: str, input: Tensor) -> Tensor:
    """``input`` as a floating tensor (integer and bool tensors in the default dtype)."""
    check_tensor(op, "input", input)
    if input.dtype.is_floating_point:
        return input
    return input.to(dtypes.get_default_dtype())


# -- elementwise ---------------------------------------------------------------------------
def nan_to_num(input: Tensor, nan: float = 0.0, posinf: "float | None" = None,
               neginf: "float | None" = None) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (default: the
    dtype's largest and lowest finite values); integer and bool tensors are copied as
    they are. The replaced elements get no gradient."""
    check_tensor("nan_to_num", "input", input)
    if not input.dtype.is_floating_point:
        return input.clone()
    info = dtypes.finfo(input.dtype)
    high = info.max if posinf is None else posinf
    low = info.min if neginf is None else neginf
    out = compare.where(compare.eq(input, -math.inf), low, input)
    out = compare.where(compare.eq(input, math.inf), high, out)
    return compare.where(compare.isnan(input), nan, out)


def deg2rad(input: Tensor) -> Tensor:
    """Angles in degrees to radians (integer tensors give the default float dtype)."""
    return binary.mul(_floating("deg2rad", input), math.pi / 180.0)


def rad2deg(input: Tensor) -> Tensor:
    """Angles in radians to degrees (integer tensors give the default float dtype)."""
    return binary.mul(_floating("rad2deg", input), 180.0 / math.pi)


def logit(input: Tensor, eps: "float | None" = None) -> Tensor:
    """``log(z / (1 - z))`` of ``z = input`` clamped to ``[eps, 1 - eps]`` when ``eps`` is
    given (its gradient then 0 outside that range, as PyTorch's)."""
    z = _floating("logit", input)
    if eps is not None and eps <= 0.5:
        z = compare.clamp(z, eps, 1.0 - eps)
    elif eps is not None:  # an empty range: PyTorch's order, eps below, else 1 - eps above
        z = compare.where(z < eps, eps, compare.where(z > 1.0 - eps, 1.0 - eps, z))
    return unary.log(binary.div(z, binary.sub(1.0, z)))


def sinc(input: Tensor) -> Tensor:
    """The normalized sinc, ``sin(pi x) / (pi x)``, 1 at 0 (gradient 0 there)."""
    x = _floating("sinc", input)
    zero = compare.eq(x, 0)
    safe = compare.where(zero, 1.0, x)  # no 0/0 on either side of the where
    scaled = binary.mul(safe, math.pi)
    return compare.where(zero, 1.0, binary.div(unary.sin(scaled), scaled))


def positive(input: Tensor) -> Tensor:
    """``input`` itself (``+input``); bool tensors raise, as PyTorch's."""
    check_tensor("positive", "input", input)
    if input.dtype is dtypes.bool:
        raise TypeError("The `+` operator, on a bool tensor is not supported.")
    return input


def signbit(input: Tensor) -> Tensor:
    """Whether each element's sign bit is set (True for -0.0 and negative NaN)."""
    check_tensor("signbit", "input", input)
    if input.dtype.is_floating_point:
        return compare.lt(binary.copysign(1.0, input), 0)
    return compare.lt(input, 0)


def isposinf(input: Tensor) -> Tensor:
    """Whether each element is +inf."""
    check_tensor("isposinf", "input", input)
    return compare.eq(input, math.inf)


def isneginf(input: Tensor) -> Tensor:
    """Whether each element is -inf."""
    check_tensor("isneginf", "input", input)
    return compare.eq(input, -math.inf)


def isreal(input: Tensor) -> Tensor:
    """Whether each element is real: True everywhere (framework has no complex dtypes)."""
    check_tensor("isreal", "input", input)
    return compare.eq(input, input) | compare.isnan(input)


def _two_tensors(op: str, input, other) -> None:
    check_tensor(op, "input", input)
    check_tensor(op, "other", other)


def fmax(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise maximum ignoring NaN (NaN only where both are NaN); on ties the gradient
    goes to ``input``, as PyTorch's."""
    _two_tensors("fmax", input, other)
    take_input = compare.isnan(other) | compare.ge(input, other)
    return compare.where(take_input, input, other)


def fmin(input: Tensor, other: Tensor) -> Tensor:
    """Elementwise minimum ignoring NaN (NaN only where both are NaN); on ties the gradient
    goes to ``input``, as PyTorch's."""
    _two_tensors("fmin", input, other)
    take_input = compare.isnan(other) | compare.le(input, other)
    return compare.where(take_input, input, other)


def _as_float_operands(op: str, input, other) -> tuple:
    """``input`` and ``other`` (tensors or Python numbers, at least one a tensor) in their
    common floating dtype, numbers made tensors on the tensor's device."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"{op}(): expected at least one tensor argument")
    ref = input if isinstance(input, Tensor) else other
    if isinstance(input, Tensor) and isinstance(other, Tensor):
        common_device(op, input, other)
    result = dtypes.result_type(input, other)
    if not result.is_floating_point:
        result = dtypes.get_default_dtype()

    def as_tensor(value):
        if isinstance(value, Tensor):
            return value.to(result)
        return creation.full((), value, dtype=result, device=ref.device)
    return as_tensor(input), as_tensor(other)


def xlogy(input, other) -> Tensor:
    """``input * log(other)``, 0 where ``input`` is 0 (unless ``other`` is NaN)."""
    x, y = _as_float_operands("xlogy", input, other)
    zero = compare.eq(x, 0) & compare.logical_not(compare.isnan(y))
    return compare.where(zero, 0.0, binary.mul(x, unary.log(y)))


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """The Heaviside step: 0 for ``input < 0``, ``values`` where ``input == 0``, 1 above
    (no gradient, as PyTorch's)."""
    _two_tensors("heaviside", input, values)
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different "
                           "dtypes")
    with no_grad():
        step = compare.gt(input, 0).to(input.dtype)
        return compare.where(compare.eq(input, 0), values, step)


def float_power(input, exponent) -> Tensor:
    """``input ** exponent`` computed in float64 (the result is float64)."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        raise TypeError("float_power(): expected at least one tensor argument")
    base = input.to(dtypes.float64) if isinstance(input, Tensor) else float(input)
    power = exponent.to(dtypes.float64) if isinstance(exponent, Tensor) else float(exponent)
    if not isinstance(base, Tensor):
        base = creation.full((), base, dtype=dtypes.float64, device=exponent.device)
    return binary.pow(base, power)


def rsub(input: Tensor, other, alpha=1) -> Tensor:
    """``other - alpha * input``."""
    check_tensor("rsub", "input", input)
    scaled = input if alpha == 1 else binary.mul(input, alpha)
    return binary.sub(other, scaled)


# -- reductions ----------------------------------------------------------------------------
def nansum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The sum treating NaN as 0."""
    check_tensor("nansum", "input", input)
    if input.dtype.is_floating_point:
        input = compare.where(compare.isnan(input), 0.0, input)
    return reduce.sum(input, dim, keepdim, dtype=dtype)


def nanmean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean of the non-NaN elements (NaN where there are none)."""
    check_tensor("nanmean", "input", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex "
                           f"dtype but got {dtypes.scalar_type_name(input.dtype)}")
    count = reduce.sum(compare.logical_not(compare.isnan(input)), dim, keepdim,
                       dtype=dtype or input.dtype)
    return binary.div(nansum(input, dim, keepdim, dtype=dtype), count)


def aminmax(input: Tensor, *, dim: "int | None" = None, keepdim: bool = False):
    """``(min, max)`` of ``input`` (over ``dim`` when given), a named tuple."""
    check_tensor("aminmax", "input", input)
    if input.numel() == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                           "operation has no identity.")
    if dim is None:
        return AminmaxResult(reduce.amin(input), reduce.amax(input))
    return AminmaxResult(reduce.amin(input, dim, keepdim), reduce.amax(input, dim, keepdim))


def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """The ``p``-norm of ``input - other`` (broadcast)."""
    _two_tensors("dist", input, other)
    return reduce.norm(binary.sub(input, other), p)


def _intervals(y: Tensor, d: int) -> tuple:
    """``(y[1:] + y[:-1]) / 2`` along ``d``: the trapezoids' mean heights."""
    n = y.shape[d]
    return binary.mul(binary.add(shape.narrow(y, d, 1, n - 1), shape.narrow(y, d, 0, n - 1)),
                      0.5)


def _spacings(x: Tensor, y: Tensor, d: int) -> Tensor:
    """The intervals of sample points ``x`` (1-D along ``d``, or ``y``'s shape)."""
    if x.ndim == 1:
        if x.shape[0] != y.shape[d]:
            raise RuntimeError(f"trapezoid: There must be one `x` value for each sample point "
                               f"(got {x.shape[0]} sample points and {y.shape[d]} values)")
        view = [1] * y.ndim
        view[d] = x.shape[0]
        x = x.reshape(tuple(view))
        axis = d
    else:
        axis = d - y.ndim + x.ndim
    n = x.shape[axis]
    return binary.sub(shape.narrow(x, axis, 1, n - 1), shape.narrow(x, axis, 0, n - 1))


def _areas(op: str, y: Tensor, x, dx, dim: int) -> tuple:
    """(the trapezoids' areas along ``dim``, that dim) for ``trapezoid`` and its cumulative
    form."""
    check_tensor(op, "y", y)
    if x is not None and dx is not None:
        raise TypeError(f"{op}(): expected x or dx, not both")
    d = normalize_dim(op, dim, y.ndim)
    if y.shape[d] == 0:
        return None, d
    heights = _intervals(y, d)
    if x is None:
        return binary.mul(heights, 1.0 if dx is None else dx), d
    check_tensor(op, "x", x)
    return binary.mul(_spacings(x, y, d), heights), d


def trapezoid(y: Tensor, x: "Tensor | None" = None, *, dx: "float | None" = None,
              dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: sample points ``x`` (1-D or ``y``'s shape) or a
    constant spacing ``dx`` (default 1)."""
    areas, d = _areas("trapezoid", y, x, dx, dim)
    if areas is None:
        return reduce.sum(_floating("trapezoid", y), d)
    return reduce.sum(areas, d)


def trapz(y: Tensor, x: "Tensor | None" = None, *, dx: "float | None" = None,
          dim: int = -1) -> Tensor:
    """``trapezoid`` (PyTorch's older name)."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x: "Tensor | None" = None, *, dx: "float | None" = None,
                         dim: int = -1) -> Tensor:
    """The running trapezoidal integral along ``dim`` (one element fewer than ``y``)."""
    areas, d = _areas("cumulative_trapezoid", y, x, dx, dim)
    if areas is None:
        return _floating("cumulative_trapezoid", y)
    return scan.cumsum(areas, d)


def cov(input: Tensor, *, correction: int = 1, fweights: "Tensor | None" = None,
        aweights: "Tensor | None" = None) -> Tensor:
    """The covariance matrix of the variables in ``input``'s rows (observations in its
    columns; a 1-D input is one variable), with integer frequency weights ``fweights``,
    observation weights ``aweights`` and ``correction`` as PyTorch's."""
    check_tensor("cov", "input", input)
    if input.ndim > 2:
        raise ValueError(f"cov(): expected input to have two or fewer dimensions but got an "
                         f"input with {input.ndim} dimensions")
    x = _floating("cov", input)
    x = x.reshape(1, -1) if x.ndim < 2 else x
    n = x.shape[1]
    weights = _cov_weights(fweights, aweights, n)
    if weights is None:
        total = float(n)
        mean = reduce.mean(x, 1, keepdim=True)
    else:
        weights = weights.to(x.dtype)
        total = reduce.sum(weights)
        mean = binary.div(reduce.sum(binary.mul(x, weights), 1, keepdim=True), total)
    if weights is None:
        factor = total - correction
    elif correction == 0:
        factor = total
    elif aweights is None:
        factor = binary.sub(total, correction)
    else:
        spread = binary.div(reduce.sum(binary.mul(weights, aweights.to(x.dtype))), total)
        factor = binary.sub(total, binary.mul(spread, correction))
    if not isinstance(factor, Tensor) and factor <= 0:
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less "
                      "than the number of observations.", RuntimeWarning, stacklevel=2)
        factor = 0.0
    centered = binary.sub(x, mean)
    scaled = centered if weights is None else binary.mul(centered, weights)
    product = matmul.matmul(scaled, shape.transpose(centered, 0, 1))
    c = binary.div(product, compare.clamp(factor, min=0) if isinstance(factor, Tensor)
                   else factor)
    return c.reshape(()) if input.ndim < 2 else c


def _cov_weights(fweights, aweights, n: int) -> "Tensor | None":
    """The product of the given weight vectors (checked as PyTorch checks them), or None."""
    weights = None
    for name, w in (("fweights", fweights), ("aweights", aweights)):
        if w is None:
            continue
        check_tensor("cov", name, w)
        if w.ndim > 1:
            raise ValueError(f"cov(): expected {name} to have one or fewer dimensions but got "
                             f"{name} with {w.ndim} dimensions")
        if w.numel() != n:
            raise ValueError(f"cov(): expected {name} to have the same numel as there are "
                             f"observations in the input but got {w.numel()} != {n}")
        if name == "fweights" and w.dtype.is_floating_point:
            raise ValueError(f"cov(): expected fweights to have integral dtype but got "
                             f"fweights with {str(w.dtype).split('.')[-1]} dtype")
        if bool(reduce.any(compare.lt(w, 0))):
            raise ValueError(f"cov(): {name} cannot be negative")
        weights = w if weights is None else binary.mul(weights, w)
    return weights


def corrcoef(input: Tensor) -> Tensor:
    """Pearson correlation coefficients of the variables in ``input``'s rows (clipped to
    [-1, 1], as PyTorch's)."""
    c = cov(input)
    if c.ndim == 0:
        return binary.div(c, c)
    std = unary.sqrt(shape.diagonal(c))
    c = binary.div(binary.div(c, std.reshape(-1, 1)), std.reshape(1, -1))
    return compare.clamp(c, -1, 1)


# -- shapes --------------------------------------------------------------------------------
def ravel(input: Tensor) -> Tensor:
    """``input`` flattened to 1-D (a view when its layout allows)."""
    check_tensor("ravel", "input", input)
    return input.reshape(-1)


def _atleast(op: str, tensors: tuple, grow) -> "Tensor | tuple":
    """``grow`` applied to one tensor (returned alone) or to each of several (a tuple)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(_atleast(op, tuple(tensors[0]), grow))
    for t in tensors:
        check_tensor(op, "tensors", t)
    grown = tuple(grow(t) for t in tensors)
    return grown[0] if len(grown) == 1 else grown


def atleast_1d(*tensors) -> "Tensor | tuple":
    """Tensors of at least one dimension (0-d become shape (1,))."""
    return _atleast("atleast_1d", tensors, lambda t: t.reshape(1) if t.ndim == 0 else t)


def _grow_2d(t: Tensor) -> Tensor:
    return t.reshape(1, -1) if t.ndim < 2 else t


def _grow_3d(t: Tensor) -> Tensor:
    if t.ndim == 0:
        return t.reshape(1, 1, 1)
    if t.ndim == 1:
        return t.reshape(1, -1, 1)
    return t.reshape(tuple(t.shape) + (1,)) if t.ndim == 2 else t


def atleast_2d(*tensors) -> "Tensor | tuple":
    """Tensors of at least two dimensions (0-d: (1, 1); 1-d (n,): (1, n))."""
    return _atleast("atleast_2d", tensors, _grow_2d)


def atleast_3d(*tensors) -> "Tensor | tuple":
    """Tensors of at least three dimensions (0-d: (1, 1, 1); (n,): (1, n, 1); (m, n): (m,
    n, 1))."""
    return _atleast("atleast_3d", tensors, _grow_3d)


def _sequence(op: str, tensors) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}(): argument 'tensors' must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise RuntimeError(f"{op} expects a non-empty TensorList")
    for t in tensors:
        check_tensor(op, "tensors", t)
    return list(tensors)


def dstack(tensors) -> Tensor:
    """Concatenate along the third dimension after making each at least 3-D."""
    return shape.cat([_grow_3d(t) for t in _sequence("dstack", tensors)], 2)


def column_stack(tensors) -> Tensor:
    """Tensors as columns side by side: 0-d and 1-d ones become (n, 1) columns."""
    columns = [t.reshape(-1, 1) if t.ndim < 2 else t for t in _sequence("column_stack", tensors)]
    return shape.cat(columns, 1)


def row_stack(tensors) -> Tensor:
    """``vstack`` (PyTorch's other name)."""
    return shape.vstack(_sequence("row_stack", tensors))


def _split_along(op: str, input: Tensor, sections, dim: int, need: int) -> tuple:
    check_tensor(op, "input", input)
    if input.ndim < need:
        raise RuntimeError(f"torch.{op} requires a tensor with at least {need} dimension, but "
                           f"got a tensor with {input.ndim} dimensions!")
    if isinstance(sections, int) and not isinstance(sections, bool):
        size = input.shape[dim]
        if sections == 0 or size % sections:
            raise RuntimeError(f"torch.{op} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {size} is not divisible by the split_size "
                               f"{sections}!")
    return shape.tensor_split(input, sections, dim)


def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """Split along dimension 1 (dimension 0 of a 1-D tensor): ``n`` equal parts or at
    indices."""
    check_tensor("hsplit", "input", input)
    return _split_along("hsplit", input, indices_or_sections, 1 if input.ndim > 1 else 0, 1)


def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """Split along dimension 0 of a tensor of at least 2 dimensions."""
    return _split_along("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """Split along dimension 2 of a tensor of at least 3 dimensions."""
    return _split_along("dsplit", input, indices_or_sections, 2, 3)


def block_diag(*tensors) -> Tensor:
    """The block-diagonal matrix of the given (at most 2-D) tensors, zeros elsewhere (in
    their common dtype)."""
    blocks = []
    for t in tensors:
        check_tensor("block_diag", "tensors", t)
        if t.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer "
                               f"dimensions. Input {len(blocks)} has {t.ndim} dimensions")
        blocks.append(t.reshape(1, -1) if t.ndim < 2 else t)
    if not blocks:
        return creation.empty(1, 0)
    common_device("block_diag", *blocks)
    dtype = blocks[0].dtype
    for b in blocks[1:]:
        dtype = dtypes.promote_types(dtype, b.dtype)
    width = builtins.sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        right = width - left - b.shape[1]
        parts = [creation.zeros(b.shape[0], left, dtype=dtype, device=b.device), b.to(dtype),
                 creation.zeros(b.shape[0], right, dtype=dtype, device=b.device)]
        rows.append(shape.cat(parts, 1))
        left += b.shape[1]
    return shape.cat(rows, 0)


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """A 2-D tensor with the flattened ``input`` on its ``offset``-th diagonal."""
    check_tensor("diagflat", "input", input)
    return shape.diag(input.reshape(-1), offset)


def kron(input: Tensor, other: Tensor) -> Tensor:
    """The Kronecker product (the fewer-dimensional operand padded with leading 1s)."""
    _two_tensors("kron", input, other)
    common_device("kron", input, other)
    ndim = builtins.max(input.ndim, other.ndim)
    a_shape = (1,) * (ndim - input.ndim) + tuple(input.shape)
    b_shape = (1,) * (ndim - other.ndim) + tuple(other.shape)
    a_view, b_view = [], []
    for size_a, size_b in zip(a_shape, b_shape):
        a_view += [size_a, 1]
        b_view += [1, size_b]
    product = binary.mul(input.reshape(tuple(a_view)), other.reshape(tuple(b_view)))
    return product.reshape(tuple(sa * sb for sa, sb in zip(a_shape, b_shape)))


def take(input: Tensor, index: Tensor) -> Tensor:
    """Elements of ``input`` viewed as 1-D at ``index`` (negative indices count from the
    end), in ``index``'s shape."""
    _two_tensors("take", input, index)
    if index.dtype is not dtypes.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got "
                           f"{str(index.dtype).split('.')[-1]}")
    common_device("take", input, index)
    wrapped = _flat_positions(index, input.numel())
    return input.reshape(-1).index_select(0, wrapped).reshape(tuple(index.shape))


def _flat_positions(index: Tensor, n: int) -> Tensor:
    """``index`` flattened, its negative entries counted from the end of ``n`` elements
    (``IndexError`` naming the first out of range, as PyTorch's ``take``/``put``)."""
    flat = index.reshape(-1)
    if flat.numel():
        low, high = int(reduce.amin(flat)), int(reduce.amax(flat))
        bad = high if high >= n else (low if low < -n else None)
        if bad is not None:
            raise IndexError(f"out of range: tried to access index {bad} on a tensor of {n} "
                             f"elements.")
    return compare.where(compare.lt(flat, 0), binary.add(flat, n), flat)


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along its first dimension."""
    check_tensor("msort", "input", input)
    return sort.sort(input, 0).values


def unravel_index(indices: Tensor, shape_) -> tuple:
    """The coordinates in a tensor of ``shape_`` of flat ``indices`` (one int64 tensor per
    dimension, in ``indices``' shape)."""
    check_tensor("unravel_index", "indices", indices)
    if indices.dtype.is_floating_point or indices.dtype is dtypes.bool:
        raise TypeError(f"expected 'indices' to be integer dtype, but got "
                        f"{str(indices.dtype).split('.')[-1]}")
    sizes = (shape_,) if isinstance(shape_, int) else tuple(shape_)
    if any(s < 0 for s in sizes):
        raise ValueError("'shape' cannot have negative values, but got "
                         f"{tuple(sizes)}")
    total = math.prod(sizes)
    if indices.numel():
        low, high = int(reduce.amin(indices)), int(reduce.amax(indices))
        if low < -total or high >= total:
            raise ValueError(f"'indices' must be in range [{-total}, {total - 1}]")
    flat = indices.to(dtypes.int64)
    flat = compare.where(compare.lt(flat, 0), binary.add(flat, total), flat)
    coords, stride = [], total
    for size in sizes:
        stride = stride // size if size else 0
        coords.append(binary.remainder(binary.floor_divide(flat, builtins.max(stride, 1)), size)
                      if size else flat)
    return tuple(coords)


# -- products ------------------------------------------------------------------------------
def vdot(input: Tensor, other: Tensor) -> Tensor:
    """The dot product of two 1-D tensors (``dot``; framework has no complex dtypes to
    conjugate)."""
    _two_tensors("vdot", input, other)
    return matmul.dot(input, other)


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * outer(vec1, vec2)`` (``input`` ignored, NaN included, when
    ``beta`` is 0)."""
    check_tensor("addr", "input", input)
    product = matmul.outer(vec1, vec2)
    if alpha != 1:
        product = binary.mul(product, alpha)
    if beta == 0:
        return binary.add(product, _ignored(input))
    return binary.add(input if beta == 1 else binary.mul(input, beta), product)


def _ignored(input: Tensor) -> Tensor:
    """Zeros of ``input``'s shape that are still a function of it (gradient 0, as PyTorch
    gives an ignored ``beta = 0`` input), NaN and inf included."""
    return nan_to_num(binary.mul(input, 0), nan=0.0)


def ger(input: Tensor, vec2: Tensor) -> Tensor:
    """``outer`` (PyTorch's older name)."""
    return matmul.outer(input, vec2)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])`` (``input`` ignored when
    ``beta`` is 0)."""
    check_tensor("addbmm", "input", input)
    product = reduce.sum(matmul.bmm(batch1, batch2), 0)
    if alpha != 1:
        product = binary.mul(product, alpha)
    if beta == 0:
        return binary.add(product, _ignored(input))
    return binary.add(input if beta == 1 else binary.mul(input, beta), product)


def chain_matmul(*matrices) -> Tensor:
    """The product of 2-D matrices, left to right."""
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
                  "release. Use torch.linalg.multi_dot instead, which accepts a list of two or "
                  "more tensors rather than multiple parameters.", UserWarning, stacklevel=2)
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for k, m in enumerate(matrices):
        check_tensor("chain_matmul", "matrices", m)
        if m.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {m.ndim}, expected 2 instead.")
    out = matrices[0]
    for m in matrices[1:]:
        out = matmul.mm(out, m)
    return out if len(matrices) > 1 else out.clone()


def cross(input: Tensor, other: Tensor, dim: "int | None" = None) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (broadcast; default: the first
    dimension of size 3)."""
    _two_tensors("cross", input, other)
    common_device("cross", input, other)
    from ._util import broadcast_shapes
    full = broadcast_shapes("cross", tuple(input.shape), tuple(other.shape))
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated. Please "
                      "either pass the dim explicitly or simply use torch.linalg.cross.",
                      UserWarning, stacklevel=2)
        dim = next((k for k, s in enumerate(full) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    d = normalize_dim("cross", dim, len(full))
    if input.ndim != other.ndim:
        raise RuntimeError(f"linalg.cross: inputs must have the same number of dimensions.")
    if input.shape[d] != 3 or other.shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                           f"{input.shape[d]} and {other.shape[d]}")
    dtype = dtypes.result_type(input, other)
    a, b = input.to(dtype).expand(full), other.to(dtype).expand(full)
    parts = []
    for i in builtins.range(3):
        j, k = (i + 1) % 3, (i + 2) % 3
        parts.append(binary.sub(binary.mul(shape.select(a, d, j), shape.select(b, d, k)),
                                binary.mul(shape.select(a, d, k), shape.select(b, d, j))))
    return shape.stack(parts, d)


# -- window functions ----------------------------------------------------------------------
def _window_dtype(op: str, window_length, dtype):
    """The window's dtype (default: the default float), after PyTorch's checks of the
    length and dtype."""
    if isinstance(window_length, bool) or not isinstance(window_length, int):
        raise TypeError(f"{op}(): argument 'window_length' must be int, not "
                        f"{type(window_length).__name__}")
    if window_length < 0:
        raise RuntimeError(f"{op} requires non-negative window length, got "
                           f"window_length={window_length}")
    dtype = dtype or dtypes.get_default_dtype()
    if not dtype.is_floating_point:
        raise RuntimeError(f"{op} expects floating point dtypes, got: {dtype}")
    return dtype


def _window(op: str, window_length: int, periodic: bool, dtype, device, requires_grad,
            terms) -> Tensor:
    """``sum_k c_k cos(2 pi k n / (N - 1))`` for n < window_length (N one more when
    ``periodic``): the cosine windows, ``terms = [c_0, c_1, ...]``."""
    dtype = _window_dtype(op, window_length, dtype)
    if window_length <= 1:
        out = creation.ones(window_length, dtype=dtype, device=device)
        return out.requires_grad_(requires_grad)
    span = window_length if periodic else window_length - 1
    n = creation.arange(window_length, dtype=dtypes.float64, device=device)
    out = creation.full((window_length,), terms[0], dtype=dtypes.float64, device=device)
    for k, c in enumerate(terms[1:], 1):
        out = binary.add(out, binary.mul(unary.cos(binary.mul(n, 2 * math.pi * k / span)), c))
    return out.to(dtype).requires_grad_(requires_grad)


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                requires_grad: bool = False) -> Tensor:
    """The Hann window, ``0.5 - 0.5 cos(2 pi n / (N - 1))``."""
    return _window("hann_window", window_length, periodic, dtype, device, requires_grad,
                   [0.5, -0.5])


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, device=None,
                   requires_grad: bool = False) -> Tensor:
    """The Hamming window, ``alpha - beta cos(2 pi n / (N - 1))``."""
    return _window("hamming_window", window_length, periodic, dtype, device, requires_grad,
                   [alpha, -beta])


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                    requires_grad: bool = False) -> Tensor:
    """The Blackman window, ``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N -
    1))``."""
    return _window("blackman_window", window_length, periodic, dtype, device, requires_grad,
                   [0.42, -0.5, 0.08])


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, device=None,
                    requires_grad: bool = False) -> Tensor:
    """The Bartlett (triangular) window, ``1 - |2 n / (N - 1) - 1|``."""
    if isinstance(window_length, int) and not isinstance(window_length, bool) and \
            window_length > 1:
        span = window_length if periodic else window_length - 1
        dtype = _window_dtype("bartlett_window", window_length, dtype)
        n = creation.arange(window_length, dtype=dtypes.float64, device=device)
        out = binary.sub(1.0, unary.abs(binary.sub(binary.mul(n, 2.0 / span), 1.0)))
        return out.to(dtype).requires_grad_(requires_grad)
    return _window("bartlett_window", window_length, periodic, dtype, device, requires_grad,
                   [1.0])


def scalar_tensor(s, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A 0-d tensor holding the number ``s`` (default dtype: the default float)."""
    return creation.tensor(s, dtype=dtype or dtypes.get_default_dtype(), device=device,
                           requires_grad=requires_grad)


# -- other names ---------------------------------------------------------------------------
def fix(input: Tensor) -> Tensor:
    """``trunc`` (NumPy's name): round toward zero."""
    return unary.trunc(input)


def arctan2(input, other) -> Tensor:
    """``atan2`` (NumPy's name)."""
    return binary.atan2(input, other)


def is_nonzero(input: Tensor) -> bool:
    """Whether the one element of ``input`` is nonzero (other sizes raise, as PyTorch's)."""
    check_tensor("is_nonzero", "input", input)
    count = input.numel()
    if count == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if count > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return input.item() != 0


def is_same_size(input: Tensor, other: Tensor) -> bool:
    """Whether ``input`` and ``other`` have the same shape."""
    _two_tensors("is_same_size", input, other)
    return tuple(input.shape) == tuple(other.shape)


def is_signed(input: Tensor) -> bool:
    """Whether ``input``'s dtype is signed (floating types and signed integers)."""
    check_tensor("is_signed", "input", input)
    return input.dtype.is_signed


def is_neg(input: Tensor) -> bool:
    """False: framework tensors carry no lazy negation bit."""
    check_tensor("is_neg", "input", input)
    return False


def resolve_neg(input: Tensor) -> Tensor:
    """``input`` itself (no lazy negation to resolve)."""
    check_tensor("resolve_neg", "input", input)
    return input


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """Views of ``input`` along ``dim`` of the given sizes (which must add up to its
    size)."""
    check_tensor("split_with_sizes", "input", input)
    sizes = list(split_sizes)
    d = normalize_dim("split_with_sizes", dim, input.ndim)
    if builtins.sum(sizes) != input.shape[d] or any(size < 0 for size in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                           f"{input.shape[d]} (input tensor's size at dimension {dim}), but "
                           f"got split_sizes={sizes}")
    return shape.split(input, sizes, d)


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``chunk`` (framework's views are always safe to write)."""
    return shape.chunk(input, chunks, dim)


def unsafe_split(input: Tensor, split_size: int, dim: int = 0) -> tuple:
    """``split`` (framework's views are always safe to write)."""
    return shape.split(input, split_size, dim)


def unsafe_split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """``split_with_sizes`` (framework's views are always safe to write)."""
    return split_with_sizes(input, split_sizes, dim)


# -- more of torch's top-level functions ---------------------------------------------------
def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *,
                  dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """The Kaiser window, ``i0(beta sqrt(1 - ((n - a) / a)^2)) / i0(beta)``, a = (N - 1) /
    2 (N one more when ``periodic``, the last point dropped)."""
    from .special import i0
    dtype = _window_dtype("kaiser_window", window_length, dtype)
    if window_length <= 1:
        return creation.ones(window_length, dtype=dtype, device=device).requires_grad_(
            requires_grad)
    length = window_length + 1 if periodic else window_length
    half = (length - 1) / 2.0
    n = creation.arange(length, dtype=dtypes.float64, device=device)
    ratio = binary.div(binary.sub(n, half), half)
    inside = compare.clamp(binary.sub(1.0, binary.mul(ratio, ratio)), min=0.0)
    beta_value = creation.full((), beta, dtype=dtypes.float64, device=device)
    w = binary.div(i0(binary.mul(unary.sqrt(inside), beta)), i0(beta_value))
    w = shape.narrow(w, 0, 0, window_length)
    return w.to(dtype).requires_grad_(requires_grad)


def _integer_pair(op: str, input, other) -> tuple:
    _two_tensors(op, input, other)
    if input.dtype.is_floating_point or other.dtype.is_floating_point or \
            input.dtype is dtypes.bool or other.dtype is dtypes.bool:
        raise RuntimeError(f"\"{op}_cpu\" not implemented for "
                           f"'{dtypes.scalar_type_name(dtypes.result_type(input, other))}'")
    common_device(op, input, other)
    dtype = dtypes.result_type(input, other)
    from ._util import broadcast_shapes
    full = broadcast_shapes(op, tuple(input.shape), tuple(other.shape))
    return input.to(dtype).expand(full), other.to(dtype).expand(full)


def gcd(input: Tensor, other: Tensor) -> Tensor:
    """The greatest common divisor of integer tensors (non-negative; gcd(0, 0) = 0), by
    Euclid's algorithm on every element until all remainders are 0."""
    a, b = _integer_pair("gcd", input, other)
    a, b = unary.abs(a), unary.abs(b)
    while b.numel() and bool(reduce.any(compare.ne(b, 0))):
        safe = compare.where(compare.eq(b, 0), 1, b)
        a, b = compare.where(compare.eq(b, 0), a, b), \
            compare.where(compare.eq(b, 0), 0, binary.remainder(a, safe))
    return a.clone()


def lcm(input: Tensor, other: Tensor) -> Tensor:
    """The least common multiple of integer tensors (non-negative; 0 when either is 0)."""
    a, b = _integer_pair("lcm", input, other)
    divisor = gcd(a, b)
    safe = compare.where(compare.eq(divisor, 0), 1, divisor)
    return unary.abs(binary.mul(binary.floor_divide(a, safe), b))


def ldexp(input: Tensor, other: Tensor) -> Tensor:
    """``input * 2 ** other`` (a floating result)."""
    _two_tensors("ldexp", input, other)
    x = _floating("ldexp", input)
    return binary.mul(x, binary.pow(2.0, other.to(x.dtype)))


def frexp(input: Tensor):
    """``(mantissa, exponent)`` with ``input = mantissa * 2 ** exponent``, ``|mantissa|`` in
    [0.5, 1) (0, inf and NaN: themselves and exponent 0); exponent int32."""
    check_tensor("frexp", "input", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"torch.frexp() only supports floating-point dtypes, got "
                           f"{dtypes.scalar_type_name(input.dtype)}")
    with no_grad():
        x64 = input.to(dtypes.float64)
        finite = compare.isfinite(x64) & compare.ne(x64, 0)
        magnitude = compare.where(finite, unary.abs(x64), 1.0)
        exponent = binary.add(unary.floor(unary.log2(magnitude)), 1.0)
        mantissa = binary.div(magnitude, binary.pow(2.0, exponent))
        # log2 can round across a power of two: move the mantissa back into [0.5, 1)
        high = compare.ge(mantissa, 1.0)
        exponent = compare.where(high, binary.add(exponent, 1.0), exponent)
        low = compare.lt(compare.where(high, binary.mul(mantissa, 0.5), mantissa), 0.5)
        exponent = compare.where(low, binary.sub(exponent, 1.0), exponent)
        exponent = compare.where(finite, exponent, 0.0)
        scaled = binary.div(x64, binary.pow(2.0, exponent))
        mantissa = compare.where(finite, scaled, x64).to(input.dtype)
        return FrexpResult(mantissa, exponent.to(dtypes.int32))


def _histogram_range(op: str, input: Tensor, low: float, high: float) -> tuple:
    """``(low, high)``, the data's own range when both are equal (widened by 1 when the
    data is constant), as PyTorch's."""
    if low > high:
        raise RuntimeError(f"{op}(): max must be larger than min")
    if low == high and input.numel():
        low, high = float(reduce.amin(input)), float(reduce.amax(input))
    if low == high:
        low, high = low - 1.0, high + 1.0
    if not (math.isfinite(low) and math.isfinite(high)):
        raise RuntimeError(f"{op}(): range of [{low}, {high}] is not finite")
    return low, high


def _bin_counts(x: Tensor, low: float, high: float, bins: int, weight=None) -> Tensor:
    """Counts (or summed weights) of ``x`` in ``bins`` equal bins of [low, high] (the last
    bin closed), values outside ignored."""
    inside = compare.ge(x, low) & compare.le(x, high)
    position = unary.floor(binary.mul(binary.sub(x, low), bins / (high - low)))
    index = compare.clamp(position, 0, bins - 1).to(dtypes.int64)
    values = creation.ones_like(x) if weight is None else weight.reshape(-1).to(x.dtype)
    values = compare.where(inside, values, 0.0)
    counts = creation.zeros(bins, dtype=x.dtype, device=x.device)
    return counts.scatter_add(0, compare.where(inside, index, 0), values)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:
    """Counts of ``input`` in ``bins`` equal-width bins of [min, max] (the data's range
    when min == max); values outside are ignored. Not differentiable."""
    check_tensor("histc", "input", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"histogram_cpu\" not implemented for "
                           f"'{dtypes.scalar_type_name(input.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histc(): bins must be > 0, but got {bins} for dim 0")
    with no_grad():
        low, high = _histogram_range("torch.histc", input, float(min), float(max))
        return _bin_counts(input.reshape(-1), low, high, bins)


def histogram(input: Tensor, bins=100, *, range=None, weight=None, density: bool = False):
    """``(hist, bin_edges)``: counts (or summed ``weight``) of ``input`` in ``bins``
    equal bins of ``range`` (default: the data's), or in the bins between the given
    increasing edges; ``density`` normalizes to a probability density."""
    check_tensor("histogram", "input", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"torch.histogram: input tensor and bins tensors should have the "
                           f"same dtype, but got input {dtypes.scalar_type_name(input.dtype)}")
    with no_grad():
        x = input.reshape(-1)
        if isinstance(bins, Tensor):
            edges = bins.to(input.dtype)
            count = edges.numel() - 1
            positions = compare.clamp(binary.sub(sort.searchsorted(edges, x, right=True), 1),
                                      0, count - 1)
            inside = compare.ge(x, edges[0]) & compare.le(x, edges[-1])
            values = creation.ones_like(x) if weight is None else weight.reshape(-1).to(x.dtype)
            values = compare.where(inside, values, 0.0)
            hist = creation.zeros(count, dtype=x.dtype, device=x.device).scatter_add(
                0, positions, values)
        else:
            low, high = (0.0, 0.0) if range is None else (float(range[0]), float(range[1]))
            low, high = _histogram_range("torch.histogram", input, low, high)
            edges = creation.linspace(low, high, bins + 1, dtype=input.dtype,
                                      device=input.device)
            hist = _bin_counts(x, low, high, bins, weight)
        if density:
            widths = binary.sub(shape.narrow(edges, 0, 1, edges.numel() - 1),
                                shape.narrow(edges, 0, 0, edges.numel() - 1))
            hist = binary.div(hist, binary.mul(widths, reduce.sum(hist)))
        return HistogramResult(hist, edges)


def histogramdd(input: Tensor, bins=10, *, range=None, weight=None,  # noqa: A002
                density: bool = False):
    """``(hist, bin_edges)``: counts (or summed ``weight``) of the points in ``input``'s
    last dim over a grid of bins, ``bins`` per dim (an int, one int per dim, or each dim's
    increasing edges), over ``range`` (``[min0, max0, min1, max1, ...]``; default: the data's),
    the last bin of each dim closed; ``density`` normalizes by count and bin volume."""
    check_tensor("histogramdd", "input", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"torch.histogramdd: input tensor should have a floating point "
                           f"dtype, got {dtypes.scalar_type_name(input.dtype)}")
    dims = input.shape[-1] if input.ndim else 1
    points = input.reshape(-1, dims)
    spec = list(bins) if isinstance(bins, (list, tuple)) else [bins] * dims
    if len(spec) != dims:
        raise RuntimeError(f"histogramdd: expected {dims} sequences of bin edges (or counts) "
                           f"for input of dimension {dims}, got {len(spec)}")
    if range is not None and len(range) != 2 * dims:
        raise RuntimeError(f"histogramdd: expected a range of length {2 * dims} "
                           f"(min and max per dim), got {len(range)}")
    with no_grad():
        edges, index, inside = [], None, None
        for d, entry in enumerate(spec):
            column = points[:, d]
            if isinstance(entry, Tensor):
                edge = entry.to(input.dtype)
            else:
                low, high = (0.0, 0.0) if range is None else (float(range[2 * d]),
                                                              float(range[2 * d + 1]))
                low, high = _histogram_range("torch.histogramdd", column, low, high)
                edge = creation.linspace(low, high, int(entry) + 1, dtype=input.dtype,
                                         device=input.device)
            count = edge.numel() - 1
            position = compare.clamp(binary.sub(sort.searchsorted(edge, column.contiguous(),
                                                                  right=True), 1), 0, count - 1)
            ok = compare.ge(column, edge[0]) & compare.le(column, edge[-1])
            index = position if index is None else binary.add(binary.mul(index, count), position)
            inside = ok if inside is None else inside & ok
            edges.append(edge)
        sizes = tuple(e.numel() - 1 for e in edges)
        values = creation.ones(points.shape[0], dtype=input.dtype, device=input.device) \
            if weight is None else weight.reshape(-1).to(input.dtype)
        values = compare.where(inside, values, 0.0)
        flat = creation.zeros(math.prod(sizes), dtype=input.dtype, device=input.device)
        hist = flat.scatter_add(0, compare.where(inside, index, 0), values).reshape(sizes)
        if density:
            volume = None
            for d, edge in enumerate(edges):
                width = binary.sub(shape.narrow(edge, 0, 1, sizes[d]),
                                   shape.narrow(edge, 0, 0, sizes[d]))
                view = [1] * dims
                view[d] = sizes[d]
                width = width.reshape(tuple(view))
                volume = width if volume is None else binary.mul(volume, width)
            hist = binary.div(hist, binary.mul(volume, reduce.sum(hist)))
        return HistogramddResult(hist, tuple(edges))


def vander(x: Tensor, N: "int | None" = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix of the 1-D ``x``: columns ``x ** (N-1) ... x ** 0`` (the other
    way with ``increasing``)."""
    check_tensor("vander", "x", x)
    if x.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x.shape[0] if N is None else N
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    powers = list(builtins.range(n)) if increasing else list(builtins.range(n - 1, -1, -1))
    if not powers:
        return creation.empty(x.shape[0], 0, dtype=x.dtype, device=x.device)
    dtype = x.dtype if x.dtype is not dtypes.bool else dtypes.int64
    columns = [binary.pow(x.to(dtype), p) if p else creation.ones_like(x, dtype=dtype)
               for p in powers]
    return shape.stack(columns, 1)


def renorm(input: Tensor, p: float, dim: int, maxnorm: float) -> Tensor:
    """Each slice along ``dim`` whose ``p``-norm exceeds ``maxnorm`` scaled down to norm
    ``maxnorm`` (PyTorch's ``maxnorm / (norm + 1e-7)``)."""
    check_tensor("renorm", "input", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"renorm: expected a floating point input, got {input.dtype}")
    if p <= 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if input.ndim < 2:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input.ndim} "
                           f"dimensions")
    d = normalize_dim("renorm", dim, input.ndim)
    others = tuple(k for k in builtins.range(input.ndim) if k != d)
    norms = reduce.norm(input, p, dim=others, keepdim=True)
    factor = compare.where(compare.gt(norms, maxnorm),
                           binary.div(maxnorm, binary.add(norms, 1e-7)), 1.0)
    return binary.mul(input, factor)


def _scatter_into(op: str, input: Tensor, src: Tensor, view) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``view(copy)`` (differentiable in both:
    the written part's gradient goes to ``src``, the rest to ``input``)."""
    _two_tensors(op, input, src)
    out = input.clone()
    target = view(out)
    if tuple(target.shape) != tuple(src.shape):
        raise RuntimeError(f"{op}(): expected src to have a size equal to the slice of self. "
                           f"src size = {list(src.shape)}, slice size = {list(target.shape)}")
    target.copy_(src)
    return out


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """``input`` with ``input.select(dim, index)`` replaced by ``src``."""
    return _scatter_into("select_scatter", input, src, lambda t: t.select(dim, index))


def _slice_along(input: Tensor, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    """The view ``input[..., start:end:step, ...]`` with the slice at ``dim``."""
    d = normalize_dim("slice", dim, input.ndim)
    index = [slice(None)] * input.ndim
    index[d] = slice(start, end, step)
    return input[tuple(index)]


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start=None, end=None,
                  step: int = 1) -> Tensor:
    """``input`` with the slice ``start:end:step`` along ``dim`` replaced by ``src``."""
    return _scatter_into("slice_scatter", input, src,
                         lambda t: _slice_along(t, dim, start, end, step))


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """``input`` with its ``offset`` diagonal over (dim1, dim2) replaced by ``src``."""
    return _scatter_into("diagonal_scatter", input, src,
                         lambda t: shape.diagonal(t, offset, dim1, dim2))


def asarray(obj, *, dtype=None, device=None, copy: "bool | None" = None,
            requires_grad: bool = False) -> Tensor:
    """``obj`` as a tensor, sharing memory where it can: a tensor of the asked dtype and
    device is returned as it is (``copy=True``: a copy), a NumPy array on the CPU shares
    its buffer (``from_numpy``) when no conversion is needed; otherwise a new tensor."""
    from .._backends import host
    from ..devices import device as as_device
    if isinstance(obj, Tensor):
        same = (dtype is None or obj.dtype is dtype) and \
            (device is None or obj.device == as_device(device))
        if same and copy is not True:
            return obj
        if copy is False:
            raise ValueError("can't alias the tensor: it needs a conversion (copy=False)")
        out = obj.to(dtype=dtype or obj.dtype, device=device or obj.device, copy=True)
        return out.requires_grad_(requires_grad) if requires_grad else out
    if host.is_array(obj) and copy is not True and \
            (device is None or as_device(device).type == "cpu") and \
            (dtype is None or dtype is host.array_dtype(obj)):
        out = creation.from_numpy(obj)
        return out.requires_grad_(requires_grad) if requires_grad else out
    if copy is False:
        raise ValueError("can't alias the object: it needs a copy (copy=False)")
    return creation.tensor(obj, dtype=dtype, device=device, requires_grad=requires_grad)


def nextafter(input: Tensor, other: Tensor) -> Tensor:
    """The next float after ``input`` toward ``other`` (``other`` where they are equal;
    NaN where either is NaN), by stepping the bit pattern. Not differentiable."""
    _two_tensors("nextafter", input, other)
    if input.dtype not in (dtypes.float32, dtypes.float64) or other.dtype is not input.dtype:
        raise RuntimeError(f"\"nextafter_cpu\" not implemented for "
                           f"'{dtypes.scalar_type_name(dtypes.result_type(input, other))}'")
    from ._util import broadcast_shapes
    full = broadcast_shapes("nextafter", tuple(input.shape), tuple(other.shape))
    integer = dtypes.int32 if input.dtype is dtypes.float32 else dtypes.int64
    with no_grad():
        x, y = input.expand(full).contiguous(), other.expand(full).contiguous()
        bits = x.view(integer)
        up = compare.gt(y, x)
        away = compare.eq(up, compare.ge(x, 0))  # moving away from zero: the bits grow
        stepped = compare.where(away, binary.add(bits, 1), binary.sub(bits, 1)).view(x.dtype)
        tiny = creation.tensor(1, dtype=integer, device=x.device).view(x.dtype)
        from_zero = compare.where(up, tiny, unary.neg(tiny))
        out = compare.where(compare.eq(x, 0), from_zero, stepped)
        out = compare.where(compare.eq(x, y), y, out)
        return compare.where(compare.isnan(x) | compare.isnan(y), math.nan, out)


def gradient(input: Tensor, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """Central differences in the interior and one-sided ones (first or second order:
    ``edge_order``) at the ends, along each of ``dim`` (default all), with a uniform
    ``spacing`` (a number, or one per dim) or sample coordinates (1-D tensors, one per
    dim), as NumPy's ``gradient``."""
    check_tensor("gradient", "input", input)
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = list(builtins.range(input.ndim)) if dim is None else \
        [dim] if isinstance(dim, int) else list(dim)
    dims = [normalize_dim("gradient", d, input.ndim) for d in dims]
    if isinstance(spacing, (int, float)) or (isinstance(spacing, Tensor) and spacing.ndim == 0):
        spacing = [spacing] * len(dims)
    spacing = list(spacing)
    if len(spacing) != len(dims):
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or "
                           f"its length to match the number of dimensions ({len(dims)}), "
                           f"but got {len(spacing)}")
    x = _floating("gradient", input)
    return tuple(_gradient_along(x, d, h, edge_order) for d, h in zip(dims, spacing))


def _gradient_along(x: Tensor, d: int, h, edge_order: int) -> Tensor:
    n = x.shape[d]
    if n < edge_order + 1:
        raise RuntimeError(f"torch.gradient expected each dimension size to be at least "
                           f"edge_order+1")

    def part(start, length):
        return shape.narrow(x, d, start, length)
    if not isinstance(h, Tensor) or h.ndim == 0:
        step = float(h)
        interior = binary.div(binary.sub(part(2, n - 2), part(0, n - 2)), 2.0 * step)
        if edge_order == 1:
            first = binary.div(binary.sub(part(1, 1), part(0, 1)), step)
            last = binary.div(binary.sub(part(n - 1, 1), part(n - 2, 1)), step)
        else:
            first = binary.div(binary.sub(binary.sub(binary.mul(part(1, 1), 4.0),
                                                     binary.mul(part(0, 1), 3.0)),
                                          part(2, 1)), 2.0 * step)
            last = binary.div(binary.add(binary.sub(binary.mul(part(n - 1, 1), 3.0),
                                                    binary.mul(part(n - 2, 1), 4.0)),
                                         part(n - 3, 1)), 2.0 * step)
        return shape.cat([first, interior, last], d)
    return _gradient_coordinates(x, d, h.to(x.dtype), edge_order, part)


def _gradient_coordinates(x: Tensor, d: int, coords: Tensor, edge_order: int, part) -> Tensor:
    """NumPy's second-order-accurate differences for sample coordinates ``coords``."""
    n = x.shape[d]
    if coords.ndim != 1 or coords.shape[0] != n:
        raise RuntimeError(f"torch.gradient expected each tensor to be on the same device and "
                           f"of size {n} along dim {d}")
    view = [1] * x.ndim
    view[d] = n - 1
    dx = binary.sub(shape.narrow(coords, 0, 1, n - 1), shape.narrow(coords, 0, 0, n - 1))
    h1 = shape.narrow(dx, 0, 0, n - 2).reshape(tuple(view[:d] + [n - 2] + view[d + 1:]))
    h2 = shape.narrow(dx, 0, 1, n - 2).reshape(tuple(view[:d] + [n - 2] + view[d + 1:]))
    a = binary.div(unary.neg(h2), binary.mul(h1, binary.add(h1, h2)))
    b = binary.div(binary.sub(h2, h1), binary.mul(h1, h2))
    c = binary.div(h1, binary.mul(h2, binary.add(h1, h2)))
    interior = binary.add(binary.add(binary.mul(a, part(0, n - 2)), binary.mul(b, part(1, n - 2))),
                          binary.mul(c, part(2, n - 2)))
    first_h = float(dx[0])
    last_h = float(dx[-1])
    if edge_order == 1:
        first = binary.div(binary.sub(part(1, 1), part(0, 1)), first_h)
        last = binary.div(binary.sub(part(n - 1, 1), part(n - 2, 1)), last_h)
    else:
        h1, h2 = float(dx[0]), float(dx[1])
        first = binary.add(binary.add(
            binary.mul(part(0, 1), -(2.0 * h1 + h2) / (h1 * (h1 + h2))),
            binary.mul(part(1, 1), (h1 + h2) / (h1 * h2))),
            binary.mul(part(2, 1), -h1 / (h2 * (h1 + h2))))
        h1, h2 = float(dx[-2]), float(dx[-1])
        last = binary.add(binary.add(
            binary.mul(part(n - 3, 1), h2 / (h1 * (h1 + h2))),
            binary.mul(part(n - 2, 1), -(h2 + h1) / (h1 * h2))),
            binary.mul(part(n - 1, 1), (2.0 * h2 + h1) / (h2 * (h1 + h2))))
    return shape.cat([first, interior, last], d)


def range(start=0, end=None, step=1, *, dtype=None, device=None,  # noqa: A001 - torch's name
          requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` inclusive by ``step`` (deprecated in PyTorch, which
    warns: use ``arange``); default dtype the default float."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because "
                  "its behavior is inconsistent with Python's range builtin. Instead, use "
                  "torch.arange, which produces values in [start, end).", UserWarning,
                  stacklevel=2)
    if end is None:
        start, end = 0, start
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) / step < 0:
        raise RuntimeError("upper bound and larger bound inconsistent with step sign")
    count = int(math.floor((end - start) / step)) + 1
    values = binary.add(binary.mul(creation.arange(count, dtype=dtypes.float64, device=device),
                                   float(step)), float(start))
    out = values.to(dtype or dtypes.get_default_dtype())
    return out.requires_grad_(requires_grad) if requires_grad else out


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """``(values, indices)``: the most frequent value along ``dim`` (the smallest of equally
    frequent ones) and the position of its last occurrence, as PyTorch's; the values'
    gradient goes to that position."""
    check_tensor("mode", "input", input)
    if input.ndim == 0:
        return ModeResult(input.clone(), creation.zeros((), dtype=dtypes.int64,
                                                        device=input.device))
    d = normalize_dim("mode", dim, input.ndim)
    n = input.shape[d]
    if n == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    from .movement import flip
    x = input.movedim(d, -1)
    with no_grad():
        ordered = sort.sort(x, -1).values
        starts = shape.cat([compare.eq(shape.narrow(ordered, -1, 0, 1),
                                       shape.narrow(ordered, -1, 0, 1)),
                            compare.ne(shape.narrow(ordered, -1, 1, n - 1),
                                       shape.narrow(ordered, -1, 0, n - 1))], -1)
        run = binary.sub(scan.cumsum(starts.to(dtypes.int64), -1), 1)
        counts = creation.zeros(tuple(ordered.shape), dtype=dtypes.int64,
                                device=input.device).scatter_add(-1, run,
                                                                 creation.ones_like(run))
        best = reduce.argmax(counts, -1, keepdim=True)  # the first: the smallest value
        first = reduce.argmax(compare.eq(run, best).to(dtypes.int64), -1, keepdim=True)
        value = ordered.gather(-1, first)
        last = reduce.argmax(flip(compare.eq(x, value), -1).to(dtypes.int64), -1,
                             keepdim=True)
        index = binary.sub(n - 1, last)
    values = x.gather(-1, index)
    if keepdim:
        return ModeResult(values.movedim(-1, d), index.movedim(-1, d))
    return ModeResult(values.squeeze(-1), index.squeeze(-1))


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``source`` written (or added, ``accumulate``) at the flat
    positions ``index`` (negative ones count from the end)."""
    _two_tensors("put", input, index)
    check_tensor("put", "source", source)
    if index.dtype is not dtypes.int64:
        raise RuntimeError(f"put_(): Expected a long tensor for index, but got "
                           f"{dtypes.scalar_type_name(index.dtype)}")
    if index.numel() != source.numel():
        raise RuntimeError(f"put_(): Expected source and index to have the same number of "
                           f"elements, but got source.numel() = {source.numel()}, "
                           f"index.numel() = {index.numel()}")
    wrapped = _flat_positions(index, input.numel())
    values = source.reshape(-1).to(input.dtype)
    from .indexing import index_add, index_copy
    base = input.reshape(-1)
    out = index_add(base, 0, wrapped, values) if accumulate else \
        index_copy(base, 0, wrapped, values)
    return out.reshape(tuple(input.shape))


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """``nonzero(input)`` cut or padded with ``fill_value`` rows to exactly ``size`` rows."""
    check_tensor("nonzero_static", "input", input)
    if size < 0:
        raise RuntimeError(f"nonzero_static: 'size' must be an non-negative integer, got {size}")
    found = input.nonzero()
    count = found.shape[0]
    if count >= size:
        return shape.narrow(found, 0, 0, size)
    pad = creation.full((size - count, found.shape[1]), fill_value, dtype=dtypes.int64,
                        device=input.device)
    return shape.cat([found, pad], 0)


def _storage_positions(shape: tuple, strides: tuple, offset: int, device) -> Tensor:
    """The storage position (in elements) of every element of a view, row-major, int64."""
    positions = creation.full((), offset, dtype=dtypes.int64, device=device)
    for d, (size, stride) in enumerate(zip(shape, strides)):
        view = [1] * len(shape)
        view[d] = size
        step = binary.mul(creation.arange(size, dtype=dtypes.int64, device=device), stride)
        positions = binary.add(positions, step.reshape(tuple(view)))
    return positions.expand(tuple(shape)).reshape(-1)


def _as_strided_backward(x_shape: tuple, x_strides: tuple, x_offset: int, shape: tuple,
                         strides: tuple, offset: int):
    """The adjoint of ``as_strided``: the gradient added up per storage position (views
    that overlap sum), then read back at the input's own positions."""
    def backward(grad: Tensor) -> Tensor:
        from .indexing import index_add
        written = _storage_positions(shape, strides, offset, grad.device)
        read = _storage_positions(x_shape, x_strides, x_offset, grad.device)
        extent = 1 + max(int(reduce.amax(written)) if written.numel() else 0,
                         int(reduce.amax(read)) if read.numel() else 0)
        storage = creation.zeros(extent, dtype=grad.dtype, device=grad.device)
        storage = index_add(storage, 0, written, grad.reshape(-1))
        return storage.index_select(0, read).reshape(x_shape)
    return backward


def as_strided(input: Tensor, size, stride, storage_offset: "int | None" = None) -> Tensor:
    """A view of ``input``'s storage with the given sizes, element strides and offset
    (elements may overlap; the gradient sums over them, as PyTorch's)."""
    from .shape import _view_op
    check_tensor("as_strided", "input", input)
    size, stride = tuple(int(n) for n in size), tuple(int(n) for n in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape")
    if any(n < 0 for n in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, "
                           f"got strides: {list(stride)}")
    offset = input.storage_offset() if storage_offset is None else int(storage_offset)
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    needed = offset + 1 + sum((n - 1) * st for n, st in zip(size, stride)) if all(size) else 0
    available = input._a.storage.numel
    if needed > available:
        raise RuntimeError(f"setStorage: sizes {list(size)}, strides {list(stride)}, storage "
                           f"offset {offset}, and itemsize {input.dtype.itemsize} requiring a "
                           f"storage size of {needed * input.dtype.itemsize} are out of bounds "
                           f"for storage of size {available * input.dtype.itemsize}")
    backward = _as_strided_backward(tuple(input.shape), input.stride(), input.storage_offset(),
                                    size, stride, offset)
    return _view_op(input, size, stride, offset, backward)


def as_strided_scatter(input: Tensor, src: Tensor, size, stride,
                       storage_offset: "int | None" = None) -> Tensor:
    """A copy of ``input`` (row-major) with ``src`` written into its ``as_strided`` view
    (differentiable in both)."""
    out = input.contiguous().clone()
    return _scatter_into("as_strided_scatter", out, src,
                         lambda t: as_strided(t, size, stride, storage_offset))


def _register() -> None:
    register("nan_to_num", "numeric", ('eq', 'isnan', 'where'))
    register("nansum", "numeric", ('isnan', 'sum', 'where'))
    register("nanmean", "numeric", (
        'copy_', 'div', 'empty', 'isnan', 'logical_not', 'sum', 'where'))
    register("deg2rad", "numeric", ('mul',))
    register("rad2deg", "numeric", ('mul',))
    register("logit", "numeric", (
        'add', 'clamp', 'div', 'ge', 'gt', 'le', 'log', 'logical_and', 'lt', 'mul', 'neg', 'sub',
        'where'))
    register("sinc", "numeric", ('add', 'cos', 'div', 'eq', 'mul', 'neg', 'sin', 'where'))
    register("positive", "numeric", ())
    register("signbit", "numeric", ('copysign', 'lt'), differentiable=False)
    register("isposinf", "numeric", ('eq',), differentiable=False)
    register("isneginf", "numeric", ('eq',), differentiable=False)
    register("isreal", "numeric", ('bitwise_or', 'eq', 'isnan'), differentiable=False)
    register("fmax", "numeric", ('bitwise_or', 'ge', 'isnan', 'sum', 'where'))
    register("fmin", "numeric", ('bitwise_or', 'isnan', 'le', 'sum', 'where'))
    register("xlogy", "numeric", (
        'bitwise_and', 'div', 'eq', 'isnan', 'log', 'logical_not', 'mul', 'sum', 'where'))
    register("heaviside", "numeric", ('copy_', 'empty', 'eq', 'gt', 'where'), differentiable=False)
    register("float_power", "numeric", ('mul', 'pow'))
    register("rsub", "numeric", ('mul', 'neg', 'sub', 'sum'))
    register("aminmax", "numeric", ('add', 'amax', 'amin', 'div', 'eq', 'mul', 'sum'))
    register("dist", "numeric", ('div', 'eq', 'mul', 'neg', 'sqrt', 'sub', 'sum', 'where'))
    register("trapezoid", "numeric", ('add', 'copy_', 'full', 'mul', 'neg', 'sub', 'sum'))
    register("trapz", "numeric", ('add', 'copy_', 'full', 'mul', 'neg', 'sub', 'sum'))
    register("cumulative_trapezoid", "numeric", (
        'add', 'copy_', 'cumsum', 'flip', 'full', 'mul', 'neg', 'sub', 'sum'))
    register("cov", "numeric", (
        'add', 'any', 'clamp', 'div', 'lt', 'mean', 'mm', 'mul', 'neg', 'sub', 'sum', 'to_numpy'))
    register("corrcoef", "numeric", (
        'add', 'clamp', 'copy_', 'div', 'full', 'ge', 'le', 'logical_and', 'mean', 'mm', 'mul',
        'neg', 'sqrt', 'sub', 'sum', 'where'))
    register("ravel", "numeric", ())
    register("atleast_1d", "numeric", ())
    register("atleast_2d", "numeric", ())
    register("atleast_3d", "numeric", ())
    register("dstack", "numeric", ('copy_', 'empty'))
    register("column_stack", "numeric", ('copy_', 'empty'))
    register("row_stack", "numeric", ('copy_', 'empty'))
    register("hsplit", "numeric", ('add', 'copy_', 'full'))
    register("vsplit", "numeric", ('add', 'copy_', 'full'))
    register("dsplit", "numeric", ('add', 'copy_', 'full'))
    register("block_diag", "numeric", ('copy_', 'empty', 'full'))
    register("diagflat", "numeric", ('copy_', 'full'))
    register("kron", "numeric", ('mul', 'sum'))
    register("take", "numeric", (
        'add', 'amax', 'amin', 'full', 'gather', 'lt', 'scatter_add', 'to_numpy', 'where'))
    register("msort", "numeric", ('amax', 'amin', 'full', 'scatter_add', 'sort', 'to_numpy'))
    register("unravel_index", "numeric", (
        'add', 'amax', 'amin', 'div_floor', 'lt', 'remainder', 'to_numpy', 'where'),
        differentiable=False)
    register("vdot", "numeric", ('mm',))
    register("addr", "numeric", ('add', 'eq', 'isnan', 'mul', 'sum', 'where'))
    register("ger", "numeric", ('mul', 'sum'))
    register("addbmm", "numeric", ('add', 'matmul', 'mul', 'sum'))
    register("chain_matmul", "numeric", ('mm',))
    register("cross", "numeric", ('add', 'copy_', 'empty', 'full', 'mul', 'neg', 'sub'))
    register("hann_window", "numeric", (
        'add', 'arange', 'copy_', 'cos', 'empty', 'full', 'mul'), differentiable=False)
    register("hamming_window", "numeric", (
        'add', 'arange', 'copy_', 'cos', 'empty', 'full', 'mul'), differentiable=False)
    register("blackman_window", "numeric", (
        'add', 'arange', 'copy_', 'cos', 'empty', 'full', 'mul'), differentiable=False)
    register("bartlett_window", "numeric", (
        'abs', 'arange', 'copy_', 'empty', 'mul', 'sub'), differentiable=False)
    register("scalar_tensor", "numeric", ('from_numpy',), differentiable=False)
    register("fix", "numeric", ("full", "trunc"))
    register("arctan2", "numeric", (
        "add", "atan2", "eq", "mul", "neg", "reciprocal", "sum", "where"))
    register("is_nonzero", "numeric", ("to_numpy",), differentiable=False)
    for name in ("is_same_size", "is_signed", "is_neg"):
        register(name, "numeric", (), differentiable=False)
    register("resolve_neg", "numeric", ())
    for name in ("split_with_sizes", "unsafe_chunk", "unsafe_split", "unsafe_split_with_sizes"):
        register(name, "numeric", ("add", "copy_", "full"))
    register("kaiser_window", "numeric", (
        "abs", "add", "arange", "clamp", "copy_", "div", "empty", "exp", "full",
        "ge", "isnan", "logical_not", "mul", "reciprocal", "sqrt", "sub", "where"),
        differentiable=False)
    register("gcd", "numeric", (
        "abs", "any", "copy_", "empty", "eq", "ne", "remainder", "to_numpy", "where"),
        differentiable=False)
    register("lcm", "numeric", (
        "abs", "any", "copy_", "div_floor", "empty", "eq", "mul", "ne", "remainder",
        "to_numpy", "where"), differentiable=False)
    register("ldexp", "numeric", ("copy_", "empty", "mul", "pow"))
    register("frexp", "numeric", (
        "abs", "add", "bitwise_and", "copy_", "div", "empty", "eq", "floor", "ge",
        "log2", "lt", "mul", "ne", "pow", "sub", "where"), differentiable=False)
    register("histc", "numeric", (
        "amax", "amin", "bitwise_and", "clamp", "copy_", "empty", "floor", "full",
        "ge", "le", "mul", "scatter_add", "sub", "to_numpy", "where"), differentiable=False)
    register("histogram", "numeric", (
        "amax", "amin", "bitwise_and", "clamp", "copy_", "empty", "floor", "full",
        "ge", "le", "linspace", "mul", "scatter_add", "searchsorted", "sub",
        "to_numpy", "where"), differentiable=False)
    register("vander", "numeric", ("add", "copy_", "empty", "full", "mul", "pow"))
    register("renorm", "numeric", (
        "add", "div", "eq", "gt", "mul", "neg", "sqrt", "sum", "where"))
    register("select_scatter", "numeric", ("add", "copy_", "empty", "full", "mul"))
    register("slice_scatter", "numeric", ("add", "copy_", "empty", "full", "mul"))
    register("diagonal_scatter", "numeric", ("add", "copy_", "empty", "full", "mul"))
    register("asarray", "numeric", ("from_numpy",), differentiable=False)
    register("nextafter", "numeric", (
        "add", "bitwise_or", "copy_", "empty", "eq", "from_numpy", "ge", "gt",
        "isnan", "neg", "sub", "where"), differentiable=False)
    register("gradient", "numeric", (
        "add", "copy_", "div", "empty", "full", "mul", "neg", "sub", "to_numpy"))
    register("range", "numeric", (
        "add", "arange", "copy_", "empty", "mul"), differentiable=False)
    register("mode", "numeric", (
        "amax", "amin", "argmax", "copy_", "cumsum", "empty", "eq", "flip", "full", "gather",
        "ne", "scatter_add", "sort", "sub", "to_numpy"))
    register("put", "numeric", (
        "add", "amax", "amin", "full", "gather", "lt", "scatter", "scatter_add", "to_numpy",
        "where"))
    register("nonzero_static", "numeric", ("copy_", "empty", "full", "nonzero"),
             differentiable=False)
    register("histogramdd", "numeric", (
        "add", "amax", "amin", "bitwise_and", "clamp", "copy_", "div", "empty", "full", "ge",
        "le", "linspace", "mul", "scatter_add", "searchsorted", "sub", "sum", "to_numpy",
        "where"), differentiable=False)
    register("as_strided", "numeric", (
        "add", "amax", "amin", "arange", "full", "gather", "mul", "scatter_add", "to_numpy"))
    register("as_strided_scatter", "numeric", (
        "add", "amax", "amin", "arange", "copy_", "empty", "full", "gather", "mul",
        "scatter_add", "to_numpy"))


_register()
