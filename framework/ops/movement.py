"""Data-movement ops: tril/triu, repeat, repeat_interleave, tile, flip, roll, pad.

Each op validates its arguments like PyTorch, calls its backend kernel
(a new contiguous output) and has a backward written in framework ops:
flip/roll/tril are their own adjoints (with negated shifts for roll),
repeat/tile sum the gradient over the copies, repeat_interleave with a
tensor of counts sums consecutive groups (``_SegmentSum``, whose adjoint is
the repeat again), and pad's adjoint crops the gradient and folds the padded
borders back onto the input (reflect, replicate, circular).
"""
from __future__ import annotations

import builtins
import numbers
import operator
from math import prod as math_prod

from .. import dtypes
from ..autograd.function import Function, rename_node
from ..tensor import Size, Tensor
from ._util import backend, check_tensor, normalize_dim, wrap
from .registry import register

__all__ = ["tril", "triu", "repeat_interleave", "tile", "flip", "fliplr", "flipud", "roll",
           "rot90"]
FUNCTIONAL = ["pad"]
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = (
    "tril", "triu", "repeat", "repeat_interleave", "tile", "flip", "fliplr", "flipud", "roll",
    "rot90", "tril_", "triu_", "fill_diagonal_",
)


def _reduce():
    from . import reduce
    return reduce


def _ints(op: str, name: str, values, allow_int: bool = True) -> tuple:
    """``values`` (an int or a sequence of ints, NumPy integers included) as a tuple of ints."""
    if allow_int and _is_int(values):
        return (operator.index(values),)
    if not isinstance(values, (tuple, list, Size)) or not builtins.all(_is_int(v) for v in values):
        raise TypeError(f"{op}(): argument '{name}' must be tuple of ints, not "
                        f"{type(values).__name__}")
    return tuple(operator.index(v) for v in values)


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def _varargs(args: tuple):
    """``f(x, 1, 2)`` and ``f(x, (1, 2))`` both give ``(1, 2)``."""
    if len(args) == 1 and not _is_int(args[0]):
        return args[0]
    return tuple(args)


# tril / triu -----------------------------------------------------------------------------
class _Triangle(Function):
    """tril (``upper`` False) or triu of the last two dims; its own adjoint."""

    @staticmethod
    def forward(ctx, x, diagonal, upper):
        ctx.diagonal, ctx.upper = diagonal, upper
        kernel = backend(x).triu if upper else backend(x).tril
        return wrap(kernel(x._a, diagonal), x.device)

    @staticmethod
    def backward(ctx, grad):
        return _Triangle.apply(grad, ctx.diagonal, ctx.upper), None, None


def _triangle(op: str, input: Tensor, diagonal, upper: bool) -> Tensor:
    check_tensor(op, "input", input)
    if not _is_int(diagonal):
        raise TypeError(f"{op}(): argument 'diagonal' must be int, not {type(diagonal).__name__}")
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions")
    return _Triangle.apply(input, operator.index(diagonal), upper)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """Lower triangle of the last two dims (batched): elements with col - row > ``diagonal``
    become 0."""
    return rename_node(_triangle("tril", input, diagonal, False), "TrilBackward0", source=input)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """Upper triangle of the last two dims (batched): elements with col - row < ``diagonal``
    become 0."""
    return rename_node(_triangle("triu", input, diagonal, True), "TriuBackward0", source=input)


# flip ------------------------------------------------------------------------------------
class _Flip(Function):
    """Reverse ``dims``; its own adjoint."""

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return wrap(backend(x).flip(x._a, dims), x.device)

    @staticmethod
    def backward(ctx, grad):
        return _Flip.apply(grad, ctx.dims), None


def flip(input: Tensor, *dim_args, dims=None) -> Tensor:
    """A copy of ``input`` with the order of the elements along ``dims`` reversed
    (``flip(x, (0, 1))``, ``x.flip(0, 1)`` or ``flip(x, dims=[0, 1])``)."""
    check_tensor("flip", "input", input)
    if dim_args and dims is not None:
        raise TypeError("flip() got multiple values for argument 'dims'")
    if not dim_args and dims is None:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    dims = _ints("flip", "dims", _varargs(dim_args) if dim_args else dims, allow_int=False)
    wrapped = [normalize_dim("flip", d, input.ndim) for d in dims]
    for d in wrapped:
        if wrapped.count(d) > 1:
            raise RuntimeError(f"flip(): dim {d} appears multiple times in the list of dims")
    wrapped = tuple(sorted(d for d in wrapped if input.ndim))
    return _Flip.apply(input, wrapped)


def fliplr(input: Tensor) -> Tensor:
    """Reverse dim 1 (left/right); ``input`` must be at least 2-D."""
    check_tensor("fliplr", "input", input)
    if input.ndim < 2:
        raise RuntimeError("fliplr(): Input must be >= 2-d.")
    return _Flip.apply(input, (1,))


def flipud(input: Tensor) -> Tensor:
    """Reverse dim 0 (up/down); ``input`` must be at least 1-D."""
    check_tensor("flipud", "input", input)
    if input.ndim < 1:
        raise RuntimeError("flipud(): Input must be >= 1-d.")
    return _Flip.apply(input, (0,))



def rot90(input: Tensor, k: int = 1, dims=(0, 1)) -> Tensor:
    """``input`` rotated by 90 degrees ``k`` times in the plane of ``dims``, from the first
    dim towards the second (a copy: flips and a transpose)."""
    check_tensor("rot90", "input", input)
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"rot90(): expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90(): expected total dims >= 2, but got total dims = {input.ndim}")
    first, second = (normalize_dim("rot90", d, input.ndim) for d in dims)
    if first == second:
        raise RuntimeError(f"rot90(): expected rotation dims to be different, but got dim0 = "
                           f"{first} and dim1 = {second}")
    k = operator.index(k) % 4
    if k == 1:
        return flip(input, second).transpose(first, second)
    if k == 2:
        return flip(input, first, second)
    if k == 3:
        return flip(input, first).transpose(first, second)
    return input.clone()


def _apply_inplace(op: str, self: Tensor, compute) -> Tensor:
    from .inplace import apply_inplace
    return apply_inplace(op, self, compute)


def tril_(self: Tensor, diagonal: int = 0) -> Tensor:
    """In-place ``tril``."""
    return _apply_inplace("tril_", self, lambda old: tril(old, diagonal))


def triu_(self: Tensor, diagonal: int = 0) -> Tensor:
    """In-place ``triu``."""
    return _apply_inplace("triu_", self, lambda old: triu(old, diagonal))


def _diagonal_mask(shape: tuple, wrap: bool, device) -> Tensor:
    """True on the main diagonal of ``shape`` (2-D, or n-D with equal sizes); a tall matrix
    with ``wrap`` starts the diagonal again every ``cols + 1`` rows, as in torch."""
    from .creation import arange
    step = sum(builtins.int(math_prod(shape[k + 1:])) for k in range(len(shape)))
    numel = math_prod(shape)
    limit = numel if wrap or len(shape) > 2 else min(shape[0], shape[1]) * shape[1]
    flat = arange(numel, device=device)
    return ((flat % step == 0) & (flat < limit)).reshape(shape)


def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Fill the main diagonal with ``fill_value`` in place (``self`` 2-D, or n-D with all
    sizes equal)."""
    check_tensor("fill_diagonal_", "input", self)
    shape = tuple(self.shape)
    if len(shape) < 2:
        raise RuntimeError("fill_diagonal_(): dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) != 1:
        raise RuntimeError("fill_diagonal_(): all dimensions of input must be of equal length")
    mask = _diagonal_mask(shape, wrap, self.device)
    return _apply_inplace("fill_diagonal_", self, lambda old: old.masked_fill(mask, fill_value))

# roll ------------------------------------------------------------------------------------
class _Roll(Function):
    """Roll by ``shifts`` along ``dims``; the adjoint rolls back."""

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return wrap(backend(x).roll(x._a, shifts, dims), x.device)

    @staticmethod
    def backward(ctx, grad):
        return _Roll.apply(grad, tuple(-s for s in ctx.shifts), ctx.dims), None, None


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """Roll ``input`` by ``shifts`` along ``dims`` (ints or tuples of equal length); elements
    leaving one end come back at the other. ``dims=None`` rolls the flattened tensor."""
    check_tensor("roll", "input", input)
    shifts = _ints("roll", "shifts", shifts)
    dims = () if dims is None else _ints("roll", "dims", dims)
    if not dims:
        if len(shifts) != 1:
            raise RuntimeError(f"roll(): shifts and dimensions must align. shifts: {len(shifts)}, "
                               "dims:0")
        flat = input.reshape(-1)
        return _Roll.apply(flat, shifts, (0,)).reshape(tuple(input.shape))
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll(): shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    dims = tuple(normalize_dim("roll", d, input.ndim) for d in dims)
    if input.ndim == 0:
        return _Roll.apply(input.reshape(1), shifts, (0,) * len(dims)).reshape(())
    return _Roll.apply(input, shifts, dims)


# repeat / tile -----------------------------------------------------------------------------
class _Tile(Function):
    """``x`` repeated ``reps[d]`` times along each dim; backward sums over the copies."""

    node_name = "RepeatBackward0"

    @staticmethod
    def forward(ctx, x, reps):
        ctx.reps, ctx.shape = reps, tuple(x.shape)
        return wrap(backend(x).tile(x._a, reps), x.device)

    @staticmethod
    def backward(ctx, grad):
        split = []
        for r, s in zip(ctx.reps, ctx.shape):
            split += [r, s]
        copies = tuple(range(0, 2 * len(ctx.reps), 2))
        return _reduce().sum(grad.reshape(tuple(split)), copies), None


def _check_sizes(op: str, sizes: tuple) -> None:
    negative = [s for s in sizes if s < 0]
    if negative:
        raise RuntimeError(f"{op}(): Trying to create tensor with negative dimension "
                           f"{negative[0]}: {list(sizes)}")


def repeat(input: Tensor, *sizes) -> Tensor:
    """``Tensor.repeat``: ``input`` repeated ``sizes[d]`` times along each dim; extra leading
    sizes add new dims (``len(sizes) >= input.ndim``)."""
    check_tensor("repeat", "input", input)
    reps = _ints("repeat", "sizes", _varargs(sizes), allow_int=False)
    if len(reps) < input.ndim:
        raise RuntimeError("repeat(): Number of dimensions of repeat dims can not be smaller than "
                           "number of dimensions of tensor")
    shape = (1,) * (len(reps) - input.ndim) + tuple(input.shape)
    _check_sizes("repeat", tuple(s * r for s, r in zip(shape, reps)))
    return _Tile.apply(input.reshape(shape), reps)


def tile(input: Tensor, dims) -> Tensor:
    """``input`` repeated ``dims[d]`` times along each dim; a shorter ``dims`` is padded with 1s
    in front, a longer one adds leading dims to ``input``."""
    check_tensor("tile", "input", input)
    reps = _ints("tile", "dims", dims, allow_int=False)
    reps = (1,) * (input.ndim - len(reps)) + reps
    shape = (1,) * (len(reps) - input.ndim) + tuple(input.shape)
    _check_sizes("tile", tuple(s * r for s, r in zip(shape, reps)))
    return _Tile.apply(input.reshape(shape), reps)


# repeat_interleave -------------------------------------------------------------------------
class _RepeatEach(Function):
    """Each slice along ``dim`` repeated ``repeats`` (an int) times; backward sums the groups."""

    @staticmethod
    def forward(ctx, x, repeats, dim):
        ctx.repeats, ctx.dim, ctx.shape = repeats, dim, tuple(x.shape)
        return wrap(backend(x).repeat_interleave(x._a, repeats, dim), x.device)

    @staticmethod
    def backward(ctx, grad):
        shape, d = ctx.shape, ctx.dim
        grouped = grad.reshape(shape[:d] + (shape[d], ctx.repeats) + shape[d + 1:])
        return _reduce().sum(grouped, d + 1), None, None


class _RepeatSlices(Function):
    """Slice k along ``dim`` repeated ``repeats[k]`` times (``index`` = the repeated ks);
    backward sums each group (``_SegmentSum``)."""

    @staticmethod
    def forward(ctx, x, repeats, index, dim):
        ctx.saved = (repeats, index, dim)
        return wrap(backend(x).gather_slices(x._a, index._a, dim), x.device)

    @staticmethod
    def backward(ctx, grad):
        return _SegmentSum.apply(grad, *ctx.saved), None, None, None


class _SegmentSum(Function):
    """Sum of consecutive groups of ``repeats[k]`` slices along ``dim`` (the adjoint of
    ``_RepeatSlices``): differences of the inclusive cumulative sum at the group ends,
    accumulated in float64 for float64 and float32 otherwise."""

    @staticmethod
    def forward(ctx, g, repeats, index, dim):
        ctx.saved = (repeats, index, dim)
        from . import binary
        from .scan import cumsum
        wide = dtypes.float64 if g.dtype is dtypes.float64 else dtypes.float32
        totals = cumsum(g, dim, dtype=wide)
        totals = _pad_dims(totals, {dim: (1, 0)}, "constant", 0)  # totals[k] = sum of g[:k]
        ends = cumsum(repeats, 0)
        kernels = backend(g)
        upper = wrap(kernels.gather_slices(totals._a, ends._a, dim), g.device)
        lower = wrap(kernels.gather_slices(totals._a, (ends - repeats)._a, dim), g.device)
        return binary.sub(upper, lower).to(g.dtype)

    @staticmethod
    def backward(ctx, grad):
        return _RepeatSlices.apply(grad, *ctx.saved), None, None, None


def _repeat_index(repeats: Tensor, output_size) -> Tensor:
    """``repeat_interleave(repeats)``: k repeated ``repeats[k]`` times (int64)."""
    if repeats.ndim > 1:
        raise RuntimeError("repeat_interleave(): repeat_interleave only accept 1D vector as repeat")
    if repeats.dtype not in (dtypes.int32, dtypes.int64):
        raise RuntimeError(f"repeat_interleave(): repeats has to be Long or Int tensor, got "
                           f"{repeats.dtype}")
    repeats = repeats.reshape(-1)
    if repeats.numel() and bool(_reduce().amin(repeats) < 0):
        raise RuntimeError("repeat_interleave(): repeats can not be negative")
    total = int(_reduce().sum(repeats).item()) if output_size is None else output_size
    return wrap(backend(repeats).repeat_interleave_index(repeats._a, total), repeats.device)


def repeat_interleave(input: Tensor, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Repeat each element (each slice along ``dim``) ``repeats`` times in place; ``repeats`` is
    an int or a 1-D tensor with one count per slice; ``dim=None`` flattens ``input`` first.
    ``repeat_interleave(counts)`` alone gives the indices ``k`` repeated ``counts[k]`` times."""
    check_tensor("repeat_interleave", "input", input)
    if repeats is None:
        return _repeat_index(input, output_size)
    if dim is None:
        input, dim = input.reshape(-1), 0
    d = normalize_dim("repeat_interleave", dim, input.ndim)
    if input.ndim == 0:
        input = input.reshape(1)
    if isinstance(repeats, Tensor) and repeats.numel() == 1 and repeats.ndim <= 1:
        repeats = int(repeats.item())
    if _is_int(repeats):
        if repeats < 0:
            raise RuntimeError("repeat_interleave(): Repeats must be non-negative")
        return _RepeatEach.apply(input, operator.index(repeats), d)
    check_tensor("repeat_interleave", "repeats", repeats)
    if repeats.ndim == 1 and repeats.shape[0] != input.shape[d]:
        raise RuntimeError("repeat_interleave(): repeats must have the same size as input along "
                           f"dim, but got repeats.size(0) = {repeats.shape[0]} and "
                           f"input.size({d}) = {input.shape[d]}")
    index = _repeat_index(repeats, output_size)
    return _RepeatSlices.apply(input, repeats.to(dtypes.int64), index, d)


# pad ----------------------------------------------------------------------------------------
_PAD_MODES = ("constant", "reflect", "replicate", "circular")


class _Pad(Function):
    """Pad dims by ``pads = {dim: (before, after)}`` (non-negative) in ``mode``; backward
    crops the gradient and folds the borders back, one dim at a time."""

    @staticmethod
    def forward(ctx, x, pads, mode, value):
        ctx.pads, ctx.mode, ctx.shape = pads, mode, tuple(x.shape)
        per_dim = tuple(pads.get(d, (0, 0)) for d in range(x.ndim))
        return wrap(backend(x).pad(x._a, per_dim, mode, value), x.device)

    @staticmethod
    def backward(ctx, grad):
        for d, (before, after) in ctx.pads.items():
            grad = _unpad_dim(grad, d, before, after, ctx.shape[d], ctx.mode)
        return grad, None, None, None


def _pad_dims(x: Tensor, pads: dict, mode: str, value) -> Tensor:
    pads = {d: p for d, p in pads.items() if p != (0, 0)}
    return _Pad.apply(x, pads, mode, value) if pads else x


def _unpad_dim(g: Tensor, d: int, before: int, after: int, n: int, mode: str) -> Tensor:
    """The adjoint of padding dim ``d`` (size ``n``) by ``(before, after)`` in ``mode``."""
    center = g.narrow(d, before, n)
    if mode == "constant":
        return center
    left = g.narrow(d, 0, before)
    right = g.narrow(d, before + n, after)
    if mode == "reflect":  # out[before - k] = x[k], out[before + n - 1 + k] = x[n - 1 - k]
        left = _pad_dims(_Flip.apply(left, (d,)), {d: (1, n - 1 - before)}, "constant", 0)
        right = _pad_dims(_Flip.apply(right, (d,)), {d: (n - 1 - after, 1)}, "constant", 0)
    elif mode == "replicate":  # every left/right border element is a copy of x[0] / x[n - 1]
        left = _pad_dims(_reduce().sum(left, d, keepdim=True), {d: (0, n - 1)}, "constant", 0)
        right = _pad_dims(_reduce().sum(right, d, keepdim=True), {d: (n - 1, 0)}, "constant", 0)
    else:  # circular: the left border copies x[n - before:], the right one x[:after]
        left = _pad_dims(left, {d: (n - before, 0)}, "constant", 0)
        right = _pad_dims(right, {d: (0, n - after)}, "constant", 0)
    return center + left + right


def _check_pad_args(input: Tensor, pad: tuple, mode: str, value) -> None:
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"pad(): Unrecognised padding mode {mode}")
    if len(pad) % 2:
        raise RuntimeError("pad(): Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise RuntimeError("pad(): Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {input.ndim}")
    if mode == "constant":
        return
    if value is not None and value != 0:
        raise RuntimeError(f'pad(): Padding mode "{mode}" doesn\'t take in value argument')
    dims = len(pad) // 2
    if not 1 <= dims <= 3 or input.ndim not in (dims + 1, dims + 2):
        raise NotImplementedError(
            f"pad(): Padding size {len(pad)} is not supported for {input.ndim}D input tensor. "
            "Supported combinations for non-constant padding: 2D or 3D input with padding size "
            "2, 3D or 4D input with padding size 4, 4D or 5D input with padding size 6")
    if builtins.any(input.shape[d] == 0 for d in range(1, input.ndim)):
        raise RuntimeError(f"pad(): Expected {input.ndim - 1}D or {input.ndim}D (batch mode) "
                           "tensor with possibly 0 batch size and other non-zero dimensions for "
                           f"input, but got: {list(input.shape)}")


_DIM_NAMES = ("W", "H", "D")


def _check_not_all_empty(input: Tensor, pad: tuple, mode: str) -> None:
    """PyTorch's reflect/replicate kernels refuse to crop every padded dim down to nothing."""
    dims = len(pad) // 2
    sizes = [input.shape[-1 - k] for k in range(dims)]
    outs = [n + pad[2 * k] + pad[2 * k + 1] for k, n in enumerate(sizes)]
    if mode in ("reflect", "replicate") and all(o == 0 for o in outs):
        names = _DIM_NAMES[:dims]
        raise RuntimeError("pad(): input (" + ", ".join(f"{a}: {n}" for a, n in zip(names, sizes))
                           + ") is too small. Calculated output "
                           + ", ".join(f"{a}: {o}" for a, o in zip(names, outs)))


def _check_padded_size(input: Tensor, d: int, before: int, after: int, mode: str) -> None:
    n = input.shape[d]
    if n + before + after < 0 or (mode != "constant" and n + min(before, 0) + min(after, 0) < 0):
        raise RuntimeError(f"pad(): The input size {n}, plus negative padding {before} and "
                           f"{after} resulted in a negative output size")
    if mode == "reflect" and (before >= n or after >= n):
        raise RuntimeError("pad(): Argument #4: Padding size should be less than the "
                           f"corresponding input dimension, but got: padding ({before}, {after}) "
                           f"at dimension {d} of input {list(input.shape)}")
    if mode == "circular" and (before > n or after > n):
        raise RuntimeError("pad(): Padding value causes wrapping around more than once.")


def pad(input: Tensor, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad the last ``len(pad) // 2`` dims: ``pad = (left_last, right_last, left_2nd_last, ...)``.

    Modes: 'constant' (``value``, default 0), 'reflect' (mirror without repeating the edge;
    padding must be smaller than the dim), 'replicate' (repeat the edge), 'circular' (wrap
    around). Negative padding crops.
    """
    check_tensor("pad", "input", input)
    pad = _ints("pad", "pad", pad, allow_int=False)
    _check_pad_args(input, pad, mode, value)
    _check_not_all_empty(input, pad, mode)
    crops, pads = {}, {}
    for k in range(len(pad) // 2):
        d = input.ndim - 1 - k
        before, after = pad[2 * k], pad[2 * k + 1]
        _check_padded_size(input, d, before, after, mode)
        if mode in ("reflect", "replicate") and min(before, after) < 0:
            # PyTorch reads output j at input j - before, mirrored / clamped about the whole
            # input: a crop on one side does not move the other side's reflection.
            input = _index_select().index_select(
                input, d, _mapped_positions(input, d, before, after, mode))
            continue
        crops[d] = (max(-before, 0), max(-after, 0))
        pads[d] = (max(before, 0), max(after, 0))
    for d, (cut_before, cut_after) in crops.items():
        if cut_before or cut_after:
            input = input.narrow(d, cut_before, input.shape[d] - cut_before - cut_after)
    for d, (before, after) in pads.items():
        if mode == "circular" and (before > input.shape[d] or after > input.shape[d]):
            # The cropped dim is what wraps (PyTorch reads uninitialized memory here).
            raise RuntimeError("pad(): Padding value causes wrapping around more than once.")
    fill = 0 if value is None else value
    if input.dtype.is_floating_point:
        fill = float(fill)
    elif input.dtype is dtypes.bool:
        fill = bool(fill)
    else:
        fill = int(fill)
    out = _pad_dims(input, pads, mode, fill)
    return rename_node(out, "ConstantPadNdBackward0", source=input) if mode == "constant" else out


def _index_select():
    from . import indexing
    return indexing


def _mapped_positions(input: Tensor, d: int, before: int, after: int, mode: str) -> Tensor:
    """Input positions of the ``n + before + after`` outputs of reflect/replicate padding of
    dim ``d`` (size ``n``): ``j - before``, mirrored or clamped into ``[0, n)``."""
    n = input.shape[d]
    positions = []
    for j in range(n + before + after):
        i = j - before
        if mode == "replicate":
            i = min(max(i, 0), n - 1)
        else:
            i = abs(i)
            i = 2 * (n - 1) - i if i >= n else i
        positions.append(i)
    from . import creation
    return creation.tensor(positions, dtype=dtypes.int64, device=input.device)


register("tril", "movement", ("tril",))
register("triu", "movement", ("triu",))
register("flip", "movement", ("flip",))
register("rot90", "movement", ("flip", "copy_", "empty"))
register("tril_", "movement", ("tril", "copy_"))
register("triu_", "movement", ("triu", "copy_"))
register("fill_diagonal_", "movement", ("arange", "remainder", "eq", "lt", "bitwise_and", "where",
                                        "full", "copy_"))
register("fliplr", "movement", ("flip",))
register("flipud", "movement", ("flip",))
register("roll", "movement", ("roll",))
register("repeat", "movement", ("tile", "sum"))
register("tile", "movement", ("tile", "sum"))
register("repeat_interleave", "movement", ("repeat_interleave", "repeat_interleave_index",
                                           "gather_slices", "cumsum", "amin", "lt", "pad", "sub",
                                           "sum", "to_numpy"))
register("pad", "movement", ("pad", "add", "flip", "sum"))
