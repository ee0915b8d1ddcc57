"""Reductions: sum, mean, prod, max/min, amax/amin, argmax/argmin, var/std, logsumexp, all/any.

Each op validates its arguments, picks the result dtype like PyTorch, calls
the backend kernel (which drops the reduced dims) and applies ``keepdim`` by
viewing the contiguous result with size-1 dims put back. Backward formulas
use framework ops only, so gradients of gradients work.

``sum`` and its adjoint, broadcasting a reduced gradient back to the input
shape, are a pair of Functions here (``Sum`` / ``Unreduce``): each
one's backward is the other, and the engine's ``sum_to_size`` uses them.
"""
from __future__ import annotations

import builtins
import functools
import math
import operator
from collections import namedtuple

from .. import dtypes
from ..autograd.function import _CLASS_NODE_TYPES, _NO_EDGE, Function, _edge, class_node_type
from ..autograd.function import rename_node
from ..autograd.grad_mode import _state as _grad_state
from ..autograd.grad_mode import is_grad_enabled
from .._backends.array import Array, contiguous_strides
from ..tensor import Size, Tensor
from . import binary, compare, unary
from ._util import backend, check_tensor, normalize_dims, wrap
from .out import supports_out
from .registry import register

__all__ = [
    "sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std",
    "var_mean", "std_mean", "logsumexp", "all", "any", "sum_to_size", "norm", "count_nonzero",
]
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = (
    "sum", "mean", "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std",
    "logsumexp", "all", "any", "sum_to_size", "norm", "count_nonzero",
)

# ``torch.return_types.max`` / ``min``: ``values`` and ``indices`` of a reduction over one dim.
MaxResult = namedtuple("max", ("values", "indices"))
MinResult = namedtuple("min", ("values", "indices"))


# Array views (no copies): dropping or inserting size-1 dims, broadcasting -------------
def _regroup(a: Array, shape: tuple) -> Array:
    """A view of ``a`` as ``shape``, which differs from ``a.shape`` only by size-1 dims."""
    strides = iter(s for size, s in zip(a.shape, a.strides) if size != 1)
    new_strides = tuple(0 if size == 1 else next(strides) for size in shape)
    return a.view(shape, new_strides, a.offset)


def _broadcast(a: Array, shape: tuple) -> Array:
    """A view of ``a`` (same number of dims as ``shape``) with its size-1 dims broadcast."""
    strides = tuple(0 if have != want else s for have, want, s in zip(a.shape, shape, a.strides))
    return a.view(shape, strides, a.offset)


def _kept_shape(shape: tuple, dims: tuple) -> tuple:
    """``shape`` with each reduced dim set to 1 (the ``keepdim=True`` result shape)."""
    return tuple(1 if i in dims else size for i, size in enumerate(shape))


def _reduced_shape(shape: tuple, dims: tuple, keepdim: bool) -> tuple:
    """The result shape of reducing ``dims`` of ``shape``."""
    if keepdim:
        return _kept_shape(shape, dims)
    return tuple(size for i, size in enumerate(shape) if i not in dims)


def _finish(out: Array, shape: tuple, device) -> Tensor:
    """Wrap a kernel's contiguous result, viewed as ``shape`` (same elements)."""
    if tuple(out.shape) != tuple(shape):
        out = out.view(tuple(shape), contiguous_strides(shape), out.offset)
    return wrap(out, device)


# Argument checks -----------------------------------------------------------------
def _check_input(op: str, x) -> None:
    check_tensor(op, "input", x)


def _check_keepdim(op: str, keepdim) -> None:
    if not isinstance(keepdim, bool):
        raise TypeError(f"{op}(): argument 'keepdim' must be bool, not {type(keepdim).__name__}")


def _check_dtype_arg(op: str, dtype) -> None:
    if dtype is not None and not isinstance(dtype, dtypes.dtype):
        raise TypeError(f"{op}(): argument 'dtype' must be a framework dtype, not "
                        f"{type(dtype).__name__}")


def _numpy_aliases(fn):
    """Let ``fn`` take NumPy's ``axis=``/``keepdims=`` for ``dim=``/``keepdim=``, as PyTorch does."""
    @functools.wraps(fn)
    def reduction(*args, **kwargs):
        if not kwargs:  # (no keyword: no alias to rename)
            return fn(*args)
        for alias, name in (("axis", "dim"), ("keepdims", "keepdim")):
            if alias in kwargs:
                if name in kwargs:
                    raise TypeError(f"{fn.__name__}(): got both '{name}' and its alias '{alias}'")
                kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)
    return reduction


def _dims(op: str, x: Tensor, dim) -> tuple:
    """Reduced dims, sorted; ``None`` and an empty list mean every dim (as in PyTorch)."""
    if _is_index(dim):
        dim = operator.index(dim)  # a NumPy integer
    if isinstance(dim, (tuple, list, Size)) and builtins.all(_is_index(d) for d in dim):
        dim = tuple(operator.index(d) for d in dim)
    if dim is not None and not isinstance(dim, (int, tuple, list, Size)) or isinstance(dim, bool):
        raise TypeError(f"{op}(): argument 'dim' must be int or tuple of ints, not "
                        f"{type(dim).__name__}")
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    return normalize_dims(op, dim, x.ndim)


def _is_index(x) -> bool:
    """True for an integer other than a bool (Python or NumPy)."""
    return not isinstance(x, (bool, Tensor)) and type(x).__name__ != "bool_" \
        and hasattr(type(x), "__index__")


def _count(shape: tuple, dims: tuple) -> int:
    """Number of elements reduced into each output element."""
    return math.prod(shape[d] for d in dims)


# sum and its adjoint ---------------------------------------------------------------
class Sum(Function):
    """Sum over ``dims``, result viewed as ``out_shape`` (the reduced shape, with or without 1s)."""

    @staticmethod
    def forward(ctx, x, dims, out_shape, out_dtype):
        ctx.in_meta = (tuple(x.shape), x.dtype)
        ctx.dims = dims
        out = backend(x).sum(x._a, dims, out_dtype)
        return _finish(out, out_shape, x.device)

    @staticmethod
    def backward(ctx, grad):
        in_shape, in_dtype = ctx.in_meta
        grad = Unreduce.apply(grad, _kept_shape(in_shape, ctx.dims), in_shape)
        if grad.dtype is not in_dtype:
            grad = grad.to(in_dtype)
        return grad, None, None, None


class Unreduce(Function):
    """View ``g`` as ``kept_shape`` (size-1 dims put back) broadcast to ``shape``."""

    @classmethod
    def apply(cls, g, kept_shape, shape):
        """``Function.apply(g, kept_shape, shape)``, its node (if ``g`` needs a gradient) built
        directly: the same view and node (class, ``__dict__``, edges) as ``forward`` under
        ``Function.apply`` (``tests/test_record_fast_path.py`` holds them equal)."""
        if not isinstance(g, Tensor):
            return Function.apply.__func__(cls, g, kept_shape, shape)
        need = g._requires_grad or (g._grad_fn if g._base is None else g.grad_fn) is not None
        array = g._a
        out = wrap(_broadcast(_regroup(array, tuple(kept_shape)), tuple(shape)), g._device)
        if not (_grad_state.enabled and need):
            return out
        view = out._a
        node = _new(_CLASS_NODE_TYPES.get(cls) or class_node_type(cls))
        # Function.apply's ctx.__dict__ after forward and its own bookkeeping
        node.__dict__ = {
            "fn_cls": cls, "retained": {}, "needs_input_grad": (True, False, False),
            "g_shape": tuple(array.shape),
            "dims": tuple([i for i, (k, s) in enumerate(zip(kept_shape, shape)) if k != s]),
            "_edges": (_edge(g), _NO_EDGE, _NO_EDGE),
            "_public": (0,) if array.dtype.is_floating_point else (), "num_outputs": 1,
            "output_meta": [(Size(view.shape), view.dtype, g._device)],
        }
        if view.dtype.is_floating_point:
            out._grad_fn = node
            out._output_nr = 0
        return out

    @staticmethod
    def forward(ctx, g, kept_shape, shape):
        ctx.g_shape = tuple(g.shape)
        ctx.dims = tuple(i for i, (k, s) in enumerate(zip(kept_shape, shape)) if k != s)
        view = _broadcast(_regroup(g._a, tuple(kept_shape)), tuple(shape))
        return wrap(view, g.device)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.dims and tuple(grad.shape) == ctx.g_shape:
            return grad, None, None
        return Sum.apply(grad, ctx.dims, ctx.g_shape, grad.dtype), None, None


def _expand_reduced(grad: Tensor, in_shape: tuple, dims: tuple) -> Tensor:
    """The gradient of a reduction over ``dims`` (with or without keepdim) broadcast to ``in_shape``."""
    return Unreduce.apply(grad, _kept_shape(in_shape, dims), tuple(in_shape))


def _sum_dtype(x: Tensor, dtype) -> dtypes.dtype:
    """PyTorch's sum/prod result type: ``dtype`` if given, else int64 for integers and bools."""
    if dtype is not None:
        return dtype
    return x.dtype if x.dtype.is_floating_point else dtypes.int64


@supports_out
@_numpy_aliases
def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum of the elements over ``dim`` (an int, a tuple, or ``None`` for every dim).

    Integer and bool inputs give int64 unless ``dtype`` is given; with
    ``dtype`` the input is cast first (as PyTorch does).
    """
    if dim is None and dtype is None and keepdim is False and type(input) is Tensor and (
            input._a.dtype in _ALL_FAST_DTYPES):
        return _reduce_all(Sum, "sum", input)  # the common x.sum(): every check passes
    _check_input("sum", input)
    _check_keepdim("sum", keepdim)
    _check_dtype_arg("sum", dtype)
    dims = _dims("sum", input, dim)
    out_dtype = _sum_dtype(input, dtype)
    if dtype is not None and input.dtype is not dtype:
        input = input.to(dtype)
    out = Sum.apply(input, dims, _reduced_shape(tuple(input.shape), dims, keepdim), out_dtype)
    return out if dim is None else rename_node(out, "SumBackward1")


_ALL_FAST_DTYPES = (dtypes.float32, dtypes.float64)
_new = object.__new__


def _reduce_all(cls, kernel: str, x: Tensor) -> Tensor:
    """``Sum.apply(x, dims, (), x.dtype)`` / ``Mean.apply(x, dims, False)`` over every dim of a
    float32/float64 tensor, its node (if ``x`` needs a gradient) built directly: the same
    kernel call, result and node (class, ``__dict__``, edges) as ``forward`` under
    ``Function.apply`` (``tests/test_record_fast_path.py`` holds them equal)."""
    array = x._a
    shape = array.shape
    dims = tuple(range(len(shape)))
    device = x._device
    out = _finish(getattr(backend(x), kernel)(array, dims, array.dtype), (), device)
    if not (_grad_state.enabled and (x._requires_grad or (
            x._grad_fn if x._base is None else x.grad_fn) is not None)):
        return out
    result = out._a
    node = _new(_CLASS_NODE_TYPES.get(cls) or class_node_type(cls))
    # Function.apply's ctx.__dict__ after forward and its own bookkeeping (one literal: the
    # keys in the order forward and apply set them)
    if cls is Sum:
        node.__dict__ = {"fn_cls": cls, "retained": {},
                         "needs_input_grad": (True, False, False, False),
                         "in_meta": (tuple(shape), array.dtype), "dims": dims,
                         "_edges": (_edge(x), _NO_EDGE, _NO_EDGE, _NO_EDGE), "_public": (0,),
                         "num_outputs": 1,
                         "output_meta": [(Size(result.shape), result.dtype, device)]}
    else:
        node.__dict__ = {"fn_cls": cls, "retained": {}, "needs_input_grad": (True, False, False),
                         "in_shape": tuple(shape), "dims": dims,
                         "_edges": (_edge(x), _NO_EDGE, _NO_EDGE), "_public": (0,),
                         "num_outputs": 1,
                         "output_meta": [(Size(result.shape), result.dtype, device)]}
    out._grad_fn = node
    out._output_nr = 0
    return out


def _size_arg(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, int) or isinstance(s, bool):
            raise TypeError(f"sum_to_size(): size must be a tuple of ints, got {type(s).__name__}")
    return tuple(size)


def sum_to_size(input: Tensor, *size) -> Tensor:
    """Sum ``input`` (a broadcast result) down to ``size``; ``input`` itself when it already fits.

    Leading extra dims are summed away and dims where ``size`` is 1 are summed
    with keepdim, undoing a broadcast from ``size`` to ``input.shape``.
    """
    _check_input("sum_to_size", input)
    size = _size_arg(size)
    shape = tuple(input.shape)
    if shape == size:
        return input
    lead = input.ndim - len(size)
    fits = lead >= 0 and builtins.all(s == have or s == 1
                                      for s, have in zip(size, shape[lead:]))
    if not fits:
        raise RuntimeError(f"sum_to_size(): size {list(size)} is not expandable to size "
                           f"{list(shape)}.")
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(size)
                                      if s == 1 and shape[lead + i] != 1)
    return Sum.apply(input, dims, size, _sum_dtype(input, None))  # integers sum to int64



# Helpers shared by the other reductions ------------------------------------------------
def _kept(t: Tensor, in_shape: tuple, dims: tuple) -> Tensor:
    """A reduced tensor (keepdim or not) viewed with the reduced dims as size 1."""
    return t.reshape(_kept_shape(in_shape, dims))


def _require_float(op: str, x: Tensor, message: str) -> None:
    if not x.dtype.is_floating_point:
        raise RuntimeError(message.format(op=op, got=dtypes.scalar_type_name(x.dtype)))


def _check_nonempty(op: str, x: Tensor, dims: tuple, all_dims: bool) -> None:
    """PyTorch's errors for reductions without an identity over zero elements."""
    if all_dims and x.numel() == 0:
        raise RuntimeError(f"{op}(): Expected reduction dim to be specified for input.numel() == 0. "
                           "Specify the reduction dim with the 'dim' argument.")
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(f"{op}(): Expected reduction dim {d} to have non-zero size.")


def _run(op: str, x: Tensor, dims: tuple, keepdim: bool, *args) -> Tensor:
    """Call kernel ``op`` on ``x`` over ``dims`` (no autograd) and apply ``keepdim``."""
    out = getattr(backend(x), op)(x._a, dims, *args)
    return _finish(out, _reduced_shape(tuple(x.shape), dims, keepdim), x.device)


# mean ---------------------------------------------------------------------------------
class Mean(Function):
    """Mean over ``dims``; the gradient is spread evenly over the reduced elements."""

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.in_shape = tuple(x.shape)
        ctx.dims = dims
        return _run("mean", x, dims, keepdim, x.dtype)

    @staticmethod
    def backward(ctx, grad):
        in_shape = ctx.in_shape
        count = _count(in_shape, ctx.dims)
        return _expand_reduced(grad, in_shape, ctx.dims) / builtins.max(count, 1), None, None


@supports_out
@_numpy_aliases
def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean of the elements over ``dim``; floating inputs (or a floating ``dtype``) only."""
    if dim is None and dtype is None and keepdim is False and type(input) is Tensor and (
            input._a.dtype in _ALL_FAST_DTYPES):
        return _reduce_all(Mean, "mean", input)  # the common x.mean(): every check passes
    _check_input("mean", input)
    _check_keepdim("mean", keepdim)
    _check_dtype_arg("mean", dtype)
    dims = _dims("mean", input, dim)
    if dtype is not None and not dtype.is_floating_point:
        raise RuntimeError(f"mean(): could not infer output dtype. Optional dtype must be either a "
                           f"floating point or complex dtype. Got: {dtypes.scalar_type_name(dtype)}")
    if dtype is not None and input.dtype is not dtype:
        input = input.to(dtype)
    _require_float("mean", input, "{op}(): could not infer output dtype. Input dtype must be "
                   "either a floating point or complex dtype. Got: {got}")
    out = Mean.apply(input, dims, keepdim)
    return out if dim is None else rename_node(out, "MeanBackward1")


# prod ---------------------------------------------------------------------------------
class Prod(Function):
    """Product over ``dims``; backward uses the product of the other elements."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, out_dtype):
        ctx.dims = dims
        result = _run("prod", x, dims, keepdim, out_dtype)
        ctx.save_for_backward(x, result)
        return result

    @staticmethod
    def backward(ctx, grad):
        # PyTorch's branches, which decide where NaN/inf end up: no zero anywhere ->
        # result / x; a product of everything with several zeros, outside create_graph
        # -> 0; otherwise the product of the other elements, without division
        x, result = ctx.saved_tensors
        g = _expand_reduced(grad, tuple(x.shape), ctx.dims)
        zeros = int(sum(x == 0).item()) if x.numel() else 0
        if zeros == 0:
            return g * (_kept(result, tuple(x.shape), ctx.dims) / x), None, None, None
        if zeros > 1 and len(ctx.dims) == x.ndim and not is_grad_enabled():
            from .creation import zeros_like
            return zeros_like(x), None, None, None
        return g * _prod_of_others(x, ctx.dims), None, None, None


def _prod_of_others(x: Tensor, dims: tuple) -> Tensor:
    """For each element, the product of the other elements over ``dims``, in framework ops.

    As PyTorch's ``prod_safe_zeros_backward``: the reduced dims are flattened into
    one, and element i gets ``prod(x[:i]) * prod(x[i+1:])`` from two exclusive running
    products (``cumprod``, whose own gradient is zero-safe, so second derivatives
    work). Nothing is divided, so NaN and inf reach only the gradients of the other
    elements: the gradient of a NaN or inf element itself stays finite, as in PyTorch.
    """
    from .creation import ones_like
    from .movement import flip
    from .scan import cumprod
    from .shape import cat, movedim, narrow
    if not dims:
        return ones_like(x)
    ndim = x.ndim
    last = list(range(ndim - len(dims), ndim))
    moved = movedim(x, list(dims), last)
    kept_shape = tuple(moved.shape[:ndim - len(dims)])
    n = math.prod(x.shape[d] for d in dims)
    rows = moved.reshape(kept_shape + (n,))
    end = len(kept_shape)
    one = ones_like(narrow(rows, end, 0, 1))
    before = cumprod(cat([one, narrow(rows, end, 0, n - 1)], end), end)
    after = flip(cumprod(cat([one, flip(narrow(rows, end, 1, n - 1), end)], end), end), end)
    others = (before * after).reshape(tuple(moved.shape))
    return movedim(others, last, list(dims))


@supports_out
@_numpy_aliases
def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of the elements over ``dim``; integer and bool inputs give int64."""
    _check_input("prod", input)
    _check_keepdim("prod", keepdim)
    _check_dtype_arg("prod", dtype)
    dims = _dims("prod", input, dim)
    out_dtype = _sum_dtype(input, dtype)
    if dtype is not None and input.dtype is not dtype:
        input = input.to(dtype)
    return Prod.apply(input, dims, keepdim, out_dtype)


# amax / amin and max / min over all dims ------------------------------------------
class Extreme(Function):
    """amax (``is_max``) or amin over ``dims``; the gradient is shared evenly among ties.

    With ``nan_ties`` (``max(x)``/``min(x)`` over everything, as in PyTorch) NaN
    elements tie with a NaN result; otherwise a NaN result gets a NaN gradient.
    """

    @staticmethod
    def forward(ctx, x, dims, keepdim, is_max, nan_ties):
        ctx.dims = dims
        ctx.nan_ties = nan_ties
        result = _run("amax" if is_max else "amin", x, dims, keepdim)
        ctx.save_for_backward(x, result)
        return result

    @staticmethod
    def backward(ctx, grad):
        x, result = ctx.saved_tensors
        shape = tuple(x.shape)
        kept = _kept(result, shape, ctx.dims)
        hits = x == kept
        if ctx.nan_ties:
            hits = hits | (compare.isnan(x) & compare.isnan(kept))
        count = sum(hits, ctx.dims, keepdim=True)
        return _expand_reduced(grad, shape, ctx.dims) / count * hits, None, None, None, None


def _extreme(op: str, input: Tensor, dim, keepdim: bool, is_max: bool,
             nan_ties: bool = False) -> Tensor:
    _check_input(op, input)
    _check_keepdim(op, keepdim)
    dims = _dims(op, input, dim)
    all_dims = dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0)
    _check_nonempty(op, input, dims, all_dims)
    name = {"amax": "AmaxBackward0", "amin": "AminBackward0", "max": "MaxBackward1",
            "min": "MinBackward1"}.get(op, "AmaxBackward0" if is_max else "AminBackward0")
    return rename_node(Extreme.apply(input, dims, keepdim, is_max, nan_ties), name)


@supports_out
@_numpy_aliases
def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Maximum over ``dim`` (an int or tuple; ``()`` means every dim). NaN propagates."""
    return _extreme("amax", input, dim, keepdim, True)


@supports_out
@_numpy_aliases
def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Minimum over ``dim`` (an int or tuple; ``()`` means every dim). NaN propagates."""
    return _extreme("amin", input, dim, keepdim, False)


# max / min over one dim: values and indices --------------------------------------------
class ExtremeDim(Function):
    """(values, indices) of the max (``is_max``) or min along ``dim``; the gradient
    goes to the returned index."""

    @staticmethod
    def forward(ctx, x, dim, keepdim, is_max):
        dims = (dim,) if x.ndim else ()
        values = _run("amax" if is_max else "amin", x, dims, keepdim)
        indices = _arg_index(x, dim, keepdim, is_max)
        ctx.dims = dims
        ctx.in_shape = tuple(x.shape)
        ctx.save_for_backward(indices)
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, grad, grad_indices):
        (indices,) = ctx.saved_tensors
        shape = ctx.in_shape
        if not ctx.dims:
            return grad, None, None, None
        dim = ctx.dims[0]
        positions = _positions(shape, dim, indices.device)
        hit = positions == _kept(indices, shape, ctx.dims)
        g = _expand_reduced(grad, shape, ctx.dims)
        return compare.where(hit, g, 0.0), None, None, None


def _positions(shape: tuple, dim: int, device) -> Tensor:
    """``arange(shape[dim])`` shaped to broadcast along ``dim`` of ``shape``."""
    from .creation import arange
    view = [1] * len(shape)
    view[dim] = shape[dim]
    return arange(shape[dim], device=device).reshape(view)


def _arg_index(x: Tensor, dim: int, keepdim: bool, is_max: bool) -> Tensor:
    """argmax/argmin kernel along ``dim`` (0-d inputs are viewed as 1-d)."""
    op = "argmax" if is_max else "argmin"
    if x.ndim == 0:
        out = getattr(backend(x), op)(x.reshape(1)._a, 0)
        return _finish(out, (), x.device)
    out = getattr(backend(x), op)(x._a, dim)
    return _finish(out, _reduced_shape(tuple(x.shape), (dim,), keepdim), x.device)


def _max_min(op: str, input: Tensor, dim, keepdim, is_max: bool):
    _check_input(op, input)
    if isinstance(dim, Tensor):
        return binary.maximum(input, dim) if is_max else binary.minimum(input, dim)
    if dim is None:
        if keepdim is not False:
            raise TypeError(f"{op}(): keepdim needs dim to be given")
        return _extreme(op, input, None, False, is_max, nan_ties=True)
    if _is_index(dim):
        dim = operator.index(dim)  # a NumPy integer
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"{op}(): argument 'dim' must be int or a Tensor (other), not "
                        f"{type(dim).__name__}")
    _check_keepdim(op, keepdim)
    (d,) = normalize_dims(op, dim, input.ndim) or (0,)
    _check_nonempty(op, input, (d,) if input.ndim else (), False)
    values, indices = ExtremeDim.apply(input, d, keepdim, is_max)
    rename_node(values, "MaxBackward0" if is_max else "MinBackward0")
    return (MaxResult if is_max else MinResult)(values, indices)


@supports_out
@_numpy_aliases
def max(input: Tensor, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """``max(x)``: the largest element; ``max(x, dim, keepdim=False)``: ``(values, indices)``
    along ``dim``; ``max(x, other)``: elementwise maximum."""
    return _max_min("max", input, dim, keepdim, True)


@supports_out
@_numpy_aliases
def min(input: Tensor, dim=None, keepdim: bool = False):  # noqa: A001 - PyTorch's name
    """``min(x)``: the smallest element; ``min(x, dim, keepdim=False)``: ``(values, indices)``
    along ``dim``; ``min(x, other)``: elementwise minimum."""
    return _max_min("min", input, dim, keepdim, False)


# argmax / argmin -------------------------------------------------------------------
def _argextreme(op: str, input: Tensor, dim, keepdim: bool, is_max: bool) -> Tensor:
    _check_input(op, input)
    _check_keepdim(op, keepdim)
    if input.dtype is dtypes.bool:
        raise RuntimeError(f"{op}(): does not support bool input")
    if dim is None:
        if input.numel() == 0:
            raise IndexError(f"{op}(): Expected reduction dim to be specified for "
                             "input.numel() == 0.")
        flat = input.detach().reshape(-1)
        out = _arg_index(flat, 0, False, is_max)
        return out.reshape((1,) * input.ndim) if keepdim else out
    if _is_index(dim):
        dim = operator.index(dim)  # a NumPy integer
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
    (d,) = normalize_dims(op, dim, input.ndim) or (0,)
    _check_nonempty(op, input, (d,) if input.ndim else (), False)
    return _arg_index(input.detach(), d, keepdim, is_max)


@_numpy_aliases
def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the first maximum along ``dim``, or in the flattened input."""
    return _argextreme("argmax", input, dim, keepdim, True)


@_numpy_aliases
def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the first minimum along ``dim``, or in the flattened input."""
    return _argextreme("argmin", input, dim, keepdim, False)


# var / std ---------------------------------------------------------------------------
def _var_backward(grad: Tensor, x: Tensor, dims: tuple, correction) -> Tensor:
    """``grad * 2 (x - mean) / (N - correction)``, broadcast back to ``x``'s shape."""
    dof = _count(tuple(x.shape), dims) - correction
    factor = 2.0 / dof if dof != 0 else math.inf
    centered = x - mean(x, dims, keepdim=True)
    return _expand_reduced(grad, tuple(x.shape), dims) * centered * factor


class Var(Function):
    """Variance over ``dims`` with ``correction``."""

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        ctx.dims = dims
        ctx.correction = correction
        ctx.save_for_backward(x)
        return _run("var", x, dims, keepdim, correction, x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return _var_backward(grad, x, ctx.dims, ctx.correction), None, None, None


class Std(Function):
    """Standard deviation: the square root of the variance (computed in fp32 for halves)."""

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        ctx.dims = dims
        ctx.correction = correction
        kernels = backend(x)
        wide = dtypes.float32 if x.dtype in (dtypes.float16, dtypes.bfloat16) else x.dtype
        variance = kernels.var(x._a, dims, correction, wide)
        result = _finish(kernels.sqrt(variance, x.dtype),
                         _reduced_shape(tuple(x.shape), dims, keepdim), x.device)
        ctx.save_for_backward(x, result)
        return result

    @staticmethod
    def backward(ctx, grad):
        x, result = ctx.saved_tensors
        grad_var = compare.where(result == 0, 0.0, grad / (result * 2))
        return _var_backward(grad_var, x, ctx.dims, ctx.correction), None, None, None


def _var_args(op: str, input: Tensor, dim, unbiased, keepdim, correction) -> tuple:
    """Validate var/std arguments; returns ``(dims, correction)``."""
    _check_input(op, input)
    if isinstance(dim, bool):  # var(x, unbiased)
        dim, unbiased = None, dim
    _check_keepdim(op, keepdim)
    if unbiased is not None and correction is not None:
        raise TypeError(f"{op}(): pass either 'unbiased' or 'correction', not both")
    if unbiased is not None and not isinstance(unbiased, bool):
        raise TypeError(f"{op}(): argument 'unbiased' must be bool, not {type(unbiased).__name__}")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if not isinstance(correction, (int, float)) or isinstance(correction, bool):
        raise TypeError(f"{op}(): argument 'correction' must be a number, not "
                        f"{type(correction).__name__}")
    _require_float(op, input, "{op}(): std and var only support floating point and complex "
                   "dtypes, got {got}")
    return _dims(op, input, dim), correction


@_numpy_aliases
def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance over ``dim``: squared deviations summed / (N - correction); correction=1 by default
    (``unbiased=False`` means correction=0)."""
    dims, correction = _var_args("var", input, dim, unbiased, keepdim, correction)
    return Var.apply(input, dims, correction, keepdim)


@_numpy_aliases
def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Standard deviation over ``dim`` (the square root of ``var``, same arguments)."""
    dims, correction = _var_args("std", input, dim, unbiased, keepdim, correction)
    return Std.apply(input, dims, correction, keepdim)


@_numpy_aliases
def var_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """``(var, mean)`` over ``dim``."""
    dims, correction = _var_args("var_mean", input, dim, unbiased, keepdim, correction)
    return Var.apply(input, dims, correction, keepdim), Mean.apply(input, dims, keepdim)


@_numpy_aliases
def std_mean(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
             correction=None) -> tuple:
    """``(std, mean)`` over ``dim``."""
    dims, correction = _var_args("std_mean", input, dim, unbiased, keepdim, correction)
    return Std.apply(input, dims, correction, keepdim), Mean.apply(input, dims, keepdim)


# logsumexp ---------------------------------------------------------------------------
class LogSumExp(Function):
    """``log(sum(exp(x)))`` over ``dims``; the gradient is ``grad * softmax(x)``."""

    node_name = "LogsumexpBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.dims = dims
        result = _run("logsumexp", x, dims, keepdim, x.dtype)
        ctx.save_for_backward(x, result)
        return result

    @staticmethod
    def backward(ctx, grad):
        x, result = ctx.saved_tensors
        shape = tuple(x.shape)
        weights = unary.exp(x - _kept(result, shape, ctx.dims))
        return _expand_reduced(grad, shape, ctx.dims) * weights, None, None


@_numpy_aliases
def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input)))`` over ``dim``, stable for large values; integers become floats."""
    _check_input("logsumexp", input)
    _check_keepdim("logsumexp", keepdim)
    dims = _dims("logsumexp", input, dim)
    if not input.dtype.is_floating_point:
        input = input.to(dtypes.get_default_dtype())
    return LogSumExp.apply(input, dims, keepdim)


# all / any ----------------------------------------------------------------------------
def _logical(op: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    _check_input(op, input)
    _check_keepdim(op, keepdim)
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dims = ()  # PyTorch: an empty dim list reduces nothing here
    else:
        dims = _dims(op, input, dim)
    out = _run(op, input, dims, keepdim)  # a bool result: nothing to record
    # PyTorch keeps uint8 for uint8 input (its legacy mask type)
    return out.to(dtypes.uint8) if input.dtype is dtypes.uint8 else out


@_numpy_aliases
def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where every element over ``dim`` is nonzero (bool result; uint8 for uint8 input,
    as PyTorch)."""
    return _logical("all", input, dim, keepdim)


@_numpy_aliases
def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where some element over ``dim`` is nonzero (bool result; uint8 for uint8 input,
    as PyTorch)."""
    return _logical("any", input, dim, keepdim)


# norm ----------------------------------------------------------------------------------
class EuclideanNorm(Function):
    """``sqrt(sum(x * x))`` over ``dims``; the gradient ``x / norm`` is 0 where the norm is 0."""

    node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.dims = dims
        if x.dtype is dtypes.float16 or x.dtype is dtypes.bfloat16:
            # in float32, rounded once (as torch): squares, sum and root in the half type
            # would round three times
            wide = x.float()
            result = unary.sqrt(sum(wide * wide, dims, keepdim)).to(x.dtype)
        else:
            result = unary.sqrt(sum(x * x, dims, keepdim))
        ctx.save_for_backward(x, result)
        return result

    @staticmethod
    def backward(ctx, grad):
        x, result = ctx.saved_tensors
        shape = tuple(x.shape)
        norm = _kept(result, shape, ctx.dims)
        safe = compare.where(norm == 0, 1.0, norm)
        scale = compare.where(norm == 0, 0.0, _expand_reduced(grad, shape, ctx.dims) / safe)
        return scale * x, None, None


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default): p = 2/'fro', 1, inf, -inf, 0 or any number."""
    _check_input("norm", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"norm(): input dtype should be a floating point type, got {input.dtype}")
    if dtype is not None:
        input = input.to(dtype)
    dims = _dims("norm", input, dim)
    if p in ("fro", 2, 2.0):
        return EuclideanNorm.apply(input, dims, keepdim)
    if isinstance(p, str):
        raise RuntimeError(f"norm(): unsupported norm type {p!r} (use a number or 'fro')")
    magnitude = unary.abs(input)
    if p in (math.inf, -math.inf):
        # as PyTorch: a NaN norm's gradient goes to the NaN elements, not NaN to all
        _check_nonempty("amax" if p > 0 else "amin", magnitude, dims, not dims)
        return Extreme.apply(magnitude, dims, keepdim, p > 0, True)
    if p == 1:
        return sum(magnitude, dims, keepdim)
    return PNorm.apply(input, p, dims, keepdim)


class PNorm(Function):
    """``sum(|x| ** p) ** (1 / p)`` over ``dims`` for p other than 1, 2 and +-inf.

    p = 0 counts the nonzero elements (zero gradient). The gradient follows
    PyTorch's masking: 0 where the norm is 0 and, for p < 1, where x is 0.
    """

    node_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        ctx.p, ctx.dims = p, dims
        magnitude = unary.abs(x)
        if p == 0:
            result = sum((magnitude != 0).to(x.dtype), dims, keepdim)
        else:
            result = binary.pow(sum(binary.pow(magnitude, p), dims, keepdim), 1.0 / p)
        ctx.save_for_backward(x, result)
        return result

    @staticmethod
    def backward(ctx, grad):
        x, result = ctx.saved_tensors
        p, shape = ctx.p, tuple(x.shape)
        if p == 0:
            from .creation import zeros_like
            return zeros_like(x), None, None, None
        norm = _kept(result, shape, ctx.dims)
        grad = _expand_reduced(grad, shape, ctx.dims)
        magnitude = unary.abs(x)
        if p < 1:
            # sign(x) |x|^(p-1), 0 at x = 0 (where |x|^(p-1) is inf)
            safe = compare.where(x == 0, 1.0, magnitude)
            scaled = compare.where(x == 0, 0.0, unary.sign(x) * binary.pow(safe, p - 1))
            return scaled * grad * binary.pow(norm, 1 - p), None, None, None
        scaled = unary.sign(x) * binary.pow(magnitude, p - 1)
        safe_norm = compare.where(norm == 0, 1.0, norm)
        scale = compare.where(norm == 0, 0.0, grad / binary.pow(safe_norm, p - 1))
        return scaled * scale, None, None, None


register("sum", "reduce", ("sum",))
register("sum_to_size", "reduce", ("sum",))
register("mean", "reduce", ("mean", "div"))
register("prod", "reduce", ("prod", "div", "eq", "mul", "sum", "to_numpy"))
register("max", "reduce", ("amax", "argmax", "arange", "bitwise_and", "bitwise_or", "div", "eq",
                           "full", "gt", "isnan", "lt", "maximum", "mul", "sum", "where"))
register("min", "reduce", ("amin", "argmin", "arange", "bitwise_and", "bitwise_or", "div", "eq",
                           "full", "gt", "isnan", "lt", "minimum", "mul", "sum", "where"))
register("amax", "reduce", ("amax", "div", "eq", "mul", "sum"))
register("amin", "reduce", ("amin", "div", "eq", "mul", "sum"))
register("argmax", "reduce", ("argmax",), differentiable=False)
register("argmin", "reduce", ("argmin",), differentiable=False)
register("var", "reduce", ("var", "mean", "mul", "sub"))
register("std", "reduce", ("var", "sqrt", "div", "eq", "mean", "mul", "sub", "where"))
register("var_mean", "reduce", ("var", "mean", "add", "div", "mul", "sub"))
register("std_mean", "reduce", ("var", "sqrt", "mean", "add", "div", "eq", "mul", "sub", "where"))
register("logsumexp", "reduce", ("logsumexp", "exp", "mul", "sub"))
register("norm", "reduce", ("sum", "mul", "sqrt", "abs", "amax", "pow", "bitwise_and",
                            "bitwise_or", "div", "eq", "isnan", "sign", "where", "copy_", "empty"))
# copy_/empty: a uint8 input's result cast to uint8
register("all", "reduce", ("all", "copy_", "empty"), differentiable=False)
register("any", "reduce", ("any", "copy_", "empty"), differentiable=False)
register("count_nonzero", "reduce", ("ne", "sum", "copy_", "empty"), differentiable=False)


def count_nonzero(input: Tensor, dim=None) -> Tensor:
    """The number of non-zero elements (NaN counts) over ``dim`` (an int, a tuple, or all),
    as int64."""
    check_tensor("count_nonzero", "input", input)
    nonzero = input != 0
    if dim is None:
        return sum(nonzero, dtype=dtypes.int64)
    return sum(nonzero, dim, dtype=dtypes.int64)
