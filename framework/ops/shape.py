"""Views and shape ops: reshape/view, permute, expand, squeeze, slicing, cat/stack/split.

Views share the input's storage (no copy) wherever PyTorch makes a view.
Each view op is a ``Function`` whose backward maps the gradient back to the
input's shape, written in framework ops so it is differentiable again.
"""
from __future__ import annotations

import math

from .. import dtypes
from ..autograd.function import (_NO_EDGE, Function, _edge, _node_type, class_node_type,
                                 rename_node)
from ..autograd.grad_mode import _state as _grad_state
from ..autograd.views import NO_GRAD_META, child_meta, mark_multi_output
from .._backends.array import contiguous_strides, row_major_strides
from ..tensor import Size, Tensor, _shape_args
from ._util import backend, check_tensor, common_device, normalize_dim, wrap
from .out import supports_out
from .registry import register

__all__ = [
    "reshape", "permute", "transpose", "swapaxes", "swapdims", "t", "squeeze", "unsqueeze",
    "flatten", "unflatten", "narrow", "select", "cat", "concat", "concatenate", "stack", "split",
    "chunk", "unbind", "movedim", "moveaxis", "broadcast_to", "broadcast_tensors",
    "broadcast_shapes", "hstack", "vstack", "tensor_split",
]
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = (
    "transpose", "swapaxes", "swapdims", "t", "expand_as", "squeeze", "unsqueeze", "flatten",
    "unflatten", "narrow", "contiguous", "split", "chunk", "unbind", "movedim", "moveaxis",
    "tensor_split",
    "view_as", "reshape_as", "broadcast_to", "select", "diagonal", "diag",
    "diag_embed", "trace", "diff", "type_as",
)

for _name in (
    "view", "reshape", "permute", "transpose", "t", "squeeze", "unsqueeze", "flatten", "unflatten",
    "movedim", "broadcast_shapes",
):
    register(_name, "shape", ())
for _name in ("expand", "broadcast_to", "broadcast_tensors"):
    register(_name, "shape", ("sum",))
for _name in ("narrow", "select", "getitem"):
    register(_name, "shape", ("copy_", "full"))
for _name in ("split", "chunk", "unbind", "tensor_split"):
    register(_name, "shape", ("add", "copy_", "full"))
for _name in ("contiguous", "cat", "stack", "hstack", "vstack"):
    register(_name, "shape", ("empty", "copy_"))
register("setitem", "shape", ("copy_", "full", "add", "empty", "from_numpy", "mul", "sum"))
register("Tensor.unfold", "shape", (
    "arange", "add", "mul", "scatter_add", "amax", "amin", "full", "to_numpy",
))
del _name


# --- the view primitive ---------------------------------------------------------------
def _make_view(x: Tensor, shape, strides, offset, grad_enabled: bool = True) -> Tensor:
    """A tensor viewing ``x``'s storage with new metadata (no autograd).

    It remembers its base and the version it was made at (``framework.autograd.views``);
    ``grad_enabled`` is the grad state it was made in (False: the user's no_grad; None:
    inside a Function's forward).
    """
    array = x._a
    t = object.__new__(Tensor)  # wrap(array.view(...), x._device), inlined: views are hot
    t._a = array.view(tuple(shape), tuple(strides), offset)
    t._device = x._device
    t._requires_grad = False
    t._seen_version = array.storage.version
    base = x._base
    if base is None:
        t._base = x
    else:
        t._base = base
        if x._view_meta is not None:
            t._view_meta = child_meta(x, grad_enabled)
    if grad_enabled is False:
        t._view_meta = NO_GRAD_META
    return t


class _View(Function):
    """A view given by (shape, strides, offset); backward scatters into the input's shape."""

    @classmethod
    def apply(cls, x, shape, strides, offset, backward_fn, name: str | None = None):
        """``Function.apply`` of a view of a float tensor that needs a gradient, with grad mode
        on (``_view_op``'s call), its node built directly: the class, ``__dict__``, edge and
        output ``Function.apply`` gives (``tests/test_record_fast_path.py`` holds the two
        equal); anything else takes ``Function.apply``. ``name``: PyTorch's name of the op's
        node (``TransposeBackward0``), as ``rename_node`` gives it."""
        if type(x) is not Tensor or not _grad_state.enabled or \
                not x._a.dtype.is_floating_point or not x.requires_grad:
            out = Function.apply.__func__(cls, x, shape, strides, offset, backward_fn)
            return out if name is None else rename_node(out, name)
        edge = _edge(x)  # before the view exists (as Function.apply reads its arguments)
        out = _make_view(x, shape, strides, offset)
        array = out._a
        node = object.__new__(class_node_type(cls) if name is None else _node_type(name))
        node.__dict__ = {
            "fn_cls": cls, "retained": {},
            "needs_input_grad": (True, False, False, False, False),
            "backward_fn": backward_fn,
            "_edges": (edge, _NO_EDGE, _NO_EDGE, _NO_EDGE, _NO_EDGE),
            "_public": (0,), "num_outputs": 1,
            "output_meta": [(Size(array.shape), array.dtype, out._device)],
        }
        out._grad_fn = node
        out._output_nr = 0
        return out

    @staticmethod
    def forward(ctx, x, shape, strides, offset, backward_fn):
        ctx.backward_fn = backward_fn
        return _make_view(x, shape, strides, offset)

    @staticmethod
    def backward(ctx, grad):
        return ctx.backward_fn(grad), None, None, None, None


def _view_op(x: Tensor, shape, strides, offset, backward_fn, name: str | None = None) -> Tensor:
    """The view, recorded as a ``_View`` node (named ``name``) when ``x`` needs a gradient."""
    enabled = _grad_state.enabled
    if not (enabled and x.requires_grad):
        return _make_view(x, shape, strides, offset, enabled)
    return _View.apply(x, tuple(shape), tuple(strides), offset, backward_fn, name)


# --- reshape and view -----------------------------------------------------------------
def _infer_shape(op: str, shape, numel: int) -> tuple:
    for size in shape:
        if type(size) is not int:
            shape = tuple([int(s) for s in shape])
            break
    else:
        shape = tuple(shape)
    if -1 not in shape and math.prod(shape) == numel and min(shape, default=0) >= 0:
        return shape  # the common case: every size given, no -1 (same result as below)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise RuntimeError(f"{op}(): only one dimension can be inferred")
    if any(s < -1 for s in shape):
        raise RuntimeError(f"{op}(): invalid shape dimension {min(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if unknown:
        if known == 0:
            raise RuntimeError(f"{op}(): cannot reshape tensor of 0 elements into shape "
                               f"{list(shape)} because the unspecified dimension size -1 can be "
                               "any value and is ambiguous")
        if numel % known:
            raise RuntimeError(f"{op}(): shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[:unknown[0]] + (numel // known,) + shape[unknown[0] + 1:]
    elif known != numel:
        raise RuntimeError(f"{op}(): shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def _view_strides(old_shape, old_strides, new_shape):
    """Strides viewing ``old`` as ``new_shape`` without a copy, or None (ATen's computeStride)."""
    if 0 in old_shape:
        return contiguous_strides(new_shape)
    if not old_shape:
        old_shape, old_strides = (1,), (1,)
    new_strides = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = old_strides[-1]
    tensor_numel = 1
    view_numel = 1
    for d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[d]
        if d == 0 or (old_shape[d - 1] != 1 and old_strides[d - 1] != tensor_numel * chunk_base):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new_strides[view_d] = view_numel * chunk_base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                chunk_base = old_strides[d - 1]
                tensor_numel = 1
                view_numel = 1
    if view_d != -1:
        return None
    return tuple(new_strides)


def _reshape_backward(shape):
    return lambda grad: grad.reshape(shape)


def view(x: Tensor, shape) -> Tensor:
    """A view of ``x`` with ``shape``; raises when ``x``'s strides don't allow one."""
    array = x._a
    shape = _infer_shape("view", _shape_args(shape) if not isinstance(shape, tuple) else shape,
                         array.numel)
    old = array.shape
    if array.strides == row_major_strides(old):
        strides = row_major_strides(shape)  # row-major input: as in reshape
    else:
        strides = _view_strides(old, array.strides, shape)
    if strides is None:
        raise RuntimeError("view size is not compatible with input tensor's size and stride (at "
                           "least one dimension spans across two contiguous subspaces). Use "
                           ".reshape(...) instead.")
    return _view_op(x, shape, strides, array.offset, _reshape_backward(old))


def view_dtype(x: Tensor, dtype: dtypes.dtype) -> Tensor:
    """``x``'s bytes read as ``dtype`` (``Tensor.view(dtype)``): no copy, no gradient.

    Same-size types keep shape and strides. Otherwise, as in PyTorch, the last
    dim must be contiguous and its size, the storage offset and the other
    strides (in bytes) divisible by the new element size; the last dim then
    grows or shrinks by the size ratio.
    """
    dtype = dtypes.as_dtype(dtype, "view")
    old, new = x.dtype.itemsize, dtype.itemsize
    shape, strides, offset = list(x.shape), list(x.stride()), x._a.offset
    if old != new:
        what = (f"to view {dtypes.scalar_type_name(x.dtype)} as {dtypes.scalar_type_name(dtype)} (different element "
                "sizes)")
        if x.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {what}")
        if strides[-1] != 1:
            raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {strides[-1]}")
        if new > old:
            ratio = new // old
            checks = [("self.size(-1)", shape[-1]), ("self.storage_offset()", offset)]
            checks += [(f"self.stride({d})", strides[d]) for d in range(x.ndim - 1)]
            for name, value in checks:
                if value % ratio:
                    raise RuntimeError(f"{name} must be divisible by {ratio} {what}, but got "
                                       f"{value}")
            shape[-1] //= ratio
            strides = [s // ratio for s in strides[:-1]] + [1]
            offset //= ratio
        else:
            ratio = old // new
            shape[-1] *= ratio
            strides = [s * ratio for s in strides[:-1]] + [1]
            offset *= ratio
    # not a view for autograd (as in PyTorch: no ``_base``, no gradient, never rebased)
    return wrap(x._a.view(tuple(shape), tuple(strides), offset, dtype), x._device)


def reshape(x: Tensor, shape) -> Tensor:
    """``x`` with a new shape: a view when the strides allow it, else a copy."""
    array = x._a
    shape = _infer_shape("reshape", tuple(shape), array.numel)
    old = array.shape
    if array.strides == row_major_strides(old):
        # row-major input: the new shape's row-major strides (what _view_strides gives it)
        strides = row_major_strides(shape)
    else:
        strides = _view_strides(old, array.strides, shape)
        if strides is None:
            return view(contiguous(x), shape)
    return _view_op(x, shape, strides, array.offset, _reshape_backward(old))


def view_as(x: Tensor, other: Tensor) -> Tensor:
    """``x.view(other.shape)``."""
    return view(x, tuple(other.shape))


def reshape_as(x: Tensor, other: Tensor) -> Tensor:
    """``x.reshape(other.shape)``."""
    return reshape(x, tuple(other.shape))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one."""
    if x.ndim == 0:
        return reshape(x, (1,))
    start = normalize_dim("flatten", start_dim, x.ndim)
    end = normalize_dim("flatten", end_dim, x.ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    shape = tuple(x.shape)
    merged = 1
    for s in shape[start:end + 1]:
        merged *= s
    return reshape(x, shape[:start] + (merged,) + shape[end + 1:])


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    """Split dim ``dim`` into ``sizes`` (one entry may be -1)."""
    d = normalize_dim("unflatten", dim, x.ndim)
    sizes = _infer_shape("unflatten", tuple(sizes), x.shape[d])
    return view(x, tuple(x.shape[:d]) + sizes + tuple(x.shape[d + 1:])) if x.is_contiguous() else \
        reshape(x, tuple(x.shape[:d]) + sizes + tuple(x.shape[d + 1:]))


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Remove size-1 dims (all, or those in ``dim``)."""
    a = x._a
    shape, strides = a.shape, a.strides
    ndim = len(shape)
    if dim is None:
        keep = [i for i, s in enumerate(shape) if s != 1]
    else:
        dims = [normalize_dim("squeeze", d, ndim) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
        keep = [i for i in range(ndim) if i not in dims or shape[i] != 1]
    new_shape = tuple([shape[i] for i in keep])
    new_strides = tuple([strides[i] for i in keep])
    enabled = _grad_state.enabled
    if not (enabled and x.requires_grad):  # _view_op's untracked view: no node to rename
        return _make_view(x, new_shape, new_strides, a.offset, enabled)
    name = "SqueezeBackward0" if dim is None else (
        "SqueezeBackward2" if isinstance(dim, (tuple, list)) else "SqueezeBackward1")
    return rename_node(_View.apply(x, new_shape, new_strides, a.offset, _reshape_backward(shape)),
                       name)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim``."""
    d = normalize_dim("unsqueeze", dim, x.ndim + 1)
    shape = list(x.shape)
    strides = list(x.stride())
    inner = strides[d] * shape[d] if d < x.ndim else 1
    shape.insert(d, 1)
    strides.insert(d, inner)
    return rename_node(_view_op(x, shape, strides, x._a.offset,
                                _reshape_backward(tuple(x.shape))), "UnsqueezeBackward0")


# --- permutations ---------------------------------------------------------------------
def permute(x: Tensor, dims) -> Tensor:
    """A view with dims in the order ``dims``."""
    dims = tuple(dims)
    if len(dims) != x.ndim:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does "
                           f"not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {x.ndim} is not equal to len(dims) = {len(dims)}")
    array = x._a
    ndim = len(array.shape)
    if all(type(d) is int for d in dims) and sorted(dims) == list(range(ndim)):
        wrapped = dims  # a permutation of 0..ndim-1 as given (the checks below pass)
    else:
        wrapped = [normalize_dim("permute", d, x.ndim) for d in dims]
        if len(set(wrapped)) != len(wrapped):
            raise RuntimeError("permute(): duplicate dims are not allowed.")
    shape = tuple([array.shape[d] for d in wrapped])
    strides = tuple([array.strides[d] for d in wrapped])
    inverse = [0] * len(wrapped)
    for i, d in enumerate(wrapped):
        inverse[d] = i
    return _view_op(x, shape, strides, array.offset, lambda grad: grad.permute(*inverse),
                    "PermuteBackward0")


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with ``dim0`` and ``dim1`` swapped: ``permute(x, order)`` with ``order`` the
    swap, its view made here (the swap passes permute's checks and is its own inverse)."""
    return _swap(x, dim0, dim1, "TransposeBackward0")


def _swap(x: Tensor, dim0: int, dim1: int, name: str) -> Tensor:
    """``transpose``, its node named ``name``."""
    array = x._a
    ndim = len(array.shape)
    if ndim == 0:
        return x if (dim0 in (0, -1) and dim1 in (0, -1)) else permute(x, ())
    a = normalize_dim("transpose", dim0, ndim)
    b = normalize_dim("transpose", dim1, ndim)
    order = list(range(ndim))
    order[a], order[b] = order[b], order[a]
    shape = tuple([array.shape[d] for d in order])
    strides = tuple([array.strides[d] for d in order])
    enabled = _grad_state.enabled
    if not (enabled and x.requires_grad):  # _view_op's untracked view: no node to rename
        return _make_view(x, shape, strides, array.offset, enabled)
    return _View.apply(x, shape, strides, array.offset, lambda grad: grad.permute(*order), name)


swapaxes = transpose
swapdims = transpose


def t(x: Tensor) -> Tensor:
    """Transpose of a tensor with at most 2 dims."""
    ndim = len(x._a.shape)
    if ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {ndim}D")
    return x if ndim < 2 else _swap(x, 0, 1, "TBackward0")


def movedim(x: Tensor, source, destination) -> Tensor:
    """Move dims ``source`` to positions ``destination``."""
    src = [normalize_dim("movedim", d, x.ndim) for d in (source if isinstance(source, (tuple, list)) else (source,))]
    dst = [normalize_dim("movedim", d, x.ndim) for d in (destination if isinstance(destination, (tuple, list)) else (destination,))]
    if len(src) != len(dst):
        raise RuntimeError("movedim: Invalid source or destination dims: source and destination "
                           "must have the same number of dims")
    order = [None] * x.ndim
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(i for i in range(x.ndim) if i not in src)
    order = [o if o is not None else next(rest) for o in order]
    return permute(x, order)


moveaxis = movedim


# --- broadcasting views ---------------------------------------------------------------
def expand(x: Tensor, sizes) -> Tensor:
    """A view repeating size-1 dims to ``sizes`` without copying (-1 keeps a size)."""
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(f"expand(): the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({x.ndim})")
    pad = len(sizes) - x.ndim
    shape, strides = [], []
    for i, size in enumerate(sizes):
        if i < pad:
            if size < 0:
                raise RuntimeError(f"expand(): -1 is not allowed in a leading, non-existing dimension {i}")
            shape.append(size)
            strides.append(0)
            continue
        current = x.shape[i - pad]
        stride = x.stride()[i - pad]
        if size == -1:
            size = current
        if current == size:
            shape.append(size)
            strides.append(stride)
        elif current == 1:
            shape.append(size)
            strides.append(0)
        else:
            raise RuntimeError(f"expand(): The expanded size of the tensor ({size}) must match the "
                               f"existing size ({current}) at non-singleton dimension {i}. "
                               f"Target sizes: {list(sizes)}. Tensor sizes: {list(x.shape)}")
    input_shape = tuple(x.shape)
    return rename_node(_view_op(x, shape, strides, x._a.offset,
                                lambda grad: grad.sum_to_size(input_shape)), "ExpandBackward0")


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    """``x.expand(other.shape)``."""
    return expand(x, tuple(other.shape))


def broadcast_to(x: Tensor, shape) -> Tensor:
    """``x`` expanded to ``shape`` (a view)."""
    return expand(x, tuple(shape))


def broadcast_shapes(*shapes) -> Size:
    """The broadcast of several shapes."""
    from ._util import broadcast_shapes as _broadcast
    return Size(_broadcast("broadcast_shapes", *[tuple(s) if not isinstance(s, int) else (s,) for s in shapes]))


def broadcast_tensors(*tensors) -> tuple:
    """Views of the tensors expanded to their common shape."""
    shape = broadcast_shapes(*[t.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


# --- slicing ---------------------------------------------------------------------------
def _normalize_index(x: Tensor, index) -> tuple:
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for item in index:
        if isinstance(item, Tensor):
            if item.ndim == 0 and not item.dtype.is_floating_point and item.dtype.name != "bool":
                item = int(item.item())
            else:
                raise NotImplementedError(
                    "indexing with tensors (advanced indexing) is not supported yet; use ints, "
                    "slices, None and ...")
        elif isinstance(item, (list,)) or (hasattr(item, "dtype") and hasattr(item, "shape")):
            raise NotImplementedError("indexing with lists or arrays (advanced indexing) is not supported yet")
        elif isinstance(item, bool):
            raise NotImplementedError("indexing with bools is not supported yet")
        elif hasattr(item, "__index__") and not isinstance(item, (slice, type(None), type(Ellipsis))):
            item = item.__index__()
        elif not isinstance(item, (int, slice, type(None), type(Ellipsis))):
            raise TypeError(f"getitem(): invalid index of type {type(item).__name__}; only "
                            "integers, slices (`:`), ellipsis (`...`) and None are valid")
        out.append(item)
    if sum(1 for i in out if i is Ellipsis) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(1 for i in out if i is not None and i is not Ellipsis)
    if consumed > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    if Ellipsis in out:
        pos = out.index(Ellipsis)
        out = out[:pos] + [slice(None)] * (x.ndim - consumed) + out[pos + 1:]
    else:
        out = out + [slice(None)] * (x.ndim - consumed)
    return tuple(out)


def _slice_geometry(x: Tensor, index: tuple):
    """Shape, strides and offset of ``x[index]`` for a normalized basic index."""
    shape, strides = [], []
    array = x._a
    offset = array.offset
    sizes, steps = array.shape, array.strides
    dim = 0
    for item in index:
        if item is None:
            shape.append(1)
            strides.append(0)
            continue
        size, stride = sizes[dim], steps[dim]
        if isinstance(item, int):
            if not -size <= item < size:
                raise IndexError(f"index {item} is out of bounds for dimension {dim} with size {size}")
            offset += (item % size) * stride
        else:
            start, stop, step = item.indices(size)
            if item.step is not None and item.step <= 0:
                raise ValueError("step must be greater than zero")
            length = max(0, -(-(stop - start) // step))
            if length:
                offset += start * stride
            shape.append(length)
            strides.append(stride * step)
        dim += 1
    return tuple(shape), tuple(strides), offset


class _Slice(Function):
    """``x[index]`` for a basic index: a view; backward scatters the gradient into zeros."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.input_shape = tuple(x.shape)
        ctx.index = index
        shape, strides, offset = _slice_geometry(x, index)
        return _make_view(x, shape, strides, offset)

    @staticmethod
    def backward(ctx, grad):
        return _SliceScatter.apply(grad, ctx.input_shape, ctx.index), None


class _SliceScatter(Function):
    """Zeros of ``shape`` with ``grad`` written at ``index`` (the transpose of slicing)."""

    @staticmethod
    def forward(ctx, grad, shape, index):
        from .creation import zeros
        ctx.index = index
        out = zeros(shape, dtype=grad.dtype, device=grad.device)
        target = _make_view(out, *_slice_geometry(out, index))
        backend(out).copy_(target._a, grad._a)
        return out

    @staticmethod
    def backward(ctx, grad):
        return _Slice.apply(grad, ctx.index), None, None


def getitem(x: Tensor, index) -> Tensor:
    """``x[index]``: a view for ints, slices (positive steps), ``None`` and ``...``; a copy
    for advanced indices (tensors, sequences, bools: ``framework.ops.indexing``)."""
    kind = type(index)
    if (kind is int or kind is slice) and type(x) is Tensor and x._a.shape and not (
            _grad_state.enabled and x.requires_grad):
        return _first_dim_view(x, index)
    basic = _ints_and_slices(x, index) if kind is tuple else None
    if basic is None:
        from .indexing import advanced_getitem, is_advanced_index
        if is_advanced_index(index):
            return advanced_getitem(x, index)
        basic = _normalize_index(x, index)
    index = basic
    enabled = _grad_state.enabled
    if enabled and x.requires_grad:
        return rename_node(_Slice.apply(x, index), _slice_node_name(index))
    return _make_view(x, *_slice_geometry(x, index), enabled)


def _ints_and_slices(x: Tensor, index: tuple) -> "tuple | None":
    """``_normalize_index(x, index)`` for a tuple of plain ints and slices (``x[:, 0]``,
    ``x[i, j]``) no longer than ``x``'s dims: the index padded with full slices; None for
    anything else (tensors, None, ``...``, bools, other types: the general path)."""
    ndim = len(x._a.shape)
    if len(index) > ndim:
        return None
    for item in index:
        kind = type(item)
        if kind is not int and kind is not slice:
            return None
    return index + (_FULL,) * (ndim - len(index)) if len(index) < ndim else index


_FULL = slice(None)


def _first_dim_view(x: Tensor, index) -> Tensor:
    """``x[index]`` for one int or slice (dim 0) of an untracked tensor (or grad mode off):
    the view ``getitem``'s general path makes (``_normalize_index``, ``_slice_geometry``),
    with its errors, in one call: the commonest key (``x[i]``, ``x[a:b]``, a loop over rows)."""
    array = x._a
    shape, strides = array.shape, array.strides
    size = shape[0]
    if type(index) is int:
        if not -size <= index < size:
            raise IndexError(f"index {index} is out of bounds for dimension 0 with size {size}")
        offset = array.offset + (index % size) * strides[0]
        return _make_view(x, shape[1:], strides[1:], offset, _grad_state.enabled)
    start, stop, step = index.indices(size)
    if index.step is not None and index.step <= 0:
        raise ValueError("step must be greater than zero")
    length = max(0, -(-(stop - start) // step))
    offset = array.offset + (start * strides[0] if length else 0)
    return _make_view(x, (length,) + shape[1:], (strides[0] * step,) + strides[1:], offset,
                      _grad_state.enabled)


def _slice_node_name(index: tuple) -> str:
    """PyTorch's node for a basic index: that of its last int / slice / None item."""
    name = "SliceBackward0"
    for item in index:
        if item is None:
            name = "UnsqueezeBackward0"
        elif isinstance(item, slice):
            if item != slice(None) or name == "SliceBackward0":
                name = "SliceBackward0"
        elif item is not Ellipsis:
            name = "SelectBackward0"
    return name


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """A view of ``length`` entries of dim ``dim`` from ``start``."""
    d = normalize_dim("narrow", dim, x.ndim)
    size = x.shape[d]
    if isinstance(start, Tensor):
        start = int(start.item())
    if not -size <= start <= size:
        raise IndexError(f"narrow(): start ({start}) is out of bounds for dimension {d} of size {size}")
    start %= max(size, 1) if start < 0 else size + 1
    if length < 0 or start + length > size:
        raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({size}).")
    index = [slice(None)] * x.ndim
    index[d] = slice(start, start + length)
    return getitem(x, tuple(index))


def select(x: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim`` (that dim removed)."""
    d = normalize_dim("select", dim, x.ndim)
    full = [slice(None)] * x.ndim
    full[d] = index
    return getitem(x, tuple(full))


def _value_tensor(x: Tensor, value) -> Tensor:
    from .creation import tensor
    if isinstance(value, Tensor):
        if value.device != x.device and not (value.ndim == 0 and value.device.type == "cpu"):
            raise RuntimeError(f"setitem(): value is on {value.device} but the tensor is on {x.device}")
        return value if value.device == x.device else value.to(x.device)
    return tensor(value, dtype=x.dtype, device=x.device)


def setitem(x: Tensor, index, value) -> None:
    """``x[index] = value`` for a basic index (value broadcast and cast to ``x``'s dtype).

    Like PyTorch, this is ``x[index].copy_(value)``: the write goes through the
    in-place machinery, which re-records ``x`` when a gradient is involved.
    """
    from .indexing import advanced_setitem, is_advanced_index
    from .inplace import check_writable, copy_
    if is_advanced_index(index):
        advanced_setitem(x, index, value)
        return
    norm = _normalize_index(x, index)
    check_writable("setitem", _make_view(x, *_slice_geometry(x, norm)))
    value = _value_tensor(x, value)
    target_shape, _, _ = _slice_geometry(x, norm)
    from ._util import broadcast_shapes as _broadcast
    if _broadcast("setitem", tuple(value.shape), target_shape) != target_shape:
        raise RuntimeError(f"setitem(): shape mismatch: value tensor of shape {list(value.shape)} "
                           f"cannot be broadcast to indexing result of shape {list(target_shape)}")
    copy_(getitem(x, norm), value)


# --- copies -------------------------------------------------------------------------------
def contiguous(x: Tensor, memory_format=None) -> Tensor:
    """``x`` if already dense in ``memory_format`` (default row-major), else a copy laid out
    so (differentiable)."""
    if memory_format is None:  # (the common call, kept as cheap as before)
        return x if x._a.is_contiguous() else _clone(x)
    from .. import _memory
    fmt = _memory.check("contiguous", memory_format)
    if fmt is _memory.preserve_format:
        raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
    dims = _memory.order(fmt, x.ndim)
    if dims is None:
        return x if x.is_contiguous() else _clone(x)
    if _memory.is_in(tuple(x.shape), x.stride(), fmt):
        return x
    inverse = tuple(dims.index(d) for d in range(x.ndim))
    return _clone(x.permute(*dims)).permute(*inverse)


def _clone(x: Tensor) -> Tensor:
    """``conversion.clone(x)`` (imported at the call: conversion imports this module)."""
    from .conversion import clone
    return clone(x)


# --- joining and splitting -----------------------------------------------------------------
class _Cat(Function):
    """Concatenation along ``dim``; backward slices the gradient per input."""

    @staticmethod
    def forward(ctx, dim, *tensors):
        ctx.dim = dim
        ctx.sizes = [t._a.shape[dim] for t in tensors]
        shape = list(tensors[0]._a.shape)
        shape[dim] = sum(ctx.sizes)
        dtype = tensors[0].dtype
        for t in tensors[1:]:
            if t.dtype is not dtype:
                dtype = dtypes.promote_types(dtype, t.dtype)
        return _joined(tensors, dim, tuple(shape), dtype, ctx.sizes)

    @staticmethod
    def backward(ctx, grad):
        grads = []
        start = 0
        for size in ctx.sizes:
            grads.append(narrow(grad, ctx.dim, start, size))
            start += size
        return (None, *grads)


def _joined(tensors, dim: int, shape: tuple, dtype, sizes=None) -> Tensor:
    """A fresh ``shape`` tensor of ``dtype`` holding ``tensors`` one after another along
    ``dim``: ``sizes[i]`` positions each (``cat``), or one each with that dim absent from the
    tensors (``sizes`` None: ``stack``). One ``copy_`` kernel call per tensor, into a view of
    the output."""
    kernels = backend(tensors[0])
    out = kernels.empty(shape, dtype)
    strides = out.strides
    step = strides[dim]
    start = 0
    if sizes is None:  # stack: each tensor into one slice of the new dim
        inner_shape = shape[:dim] + shape[dim + 1:]
        inner_strides = strides[:dim] + strides[dim + 1:]
        copy, view, offset = kernels.copy_, out.view, out.offset
        for t in tensors:
            copy(view(inner_shape, inner_strides, offset + start * step), t._a)
            start += 1
        return wrap(out, tensors[0].device)
    for t in tensors:
        size = t._a.shape[dim]
        if size:
            kernels.copy_(out.view(shape[:dim] + (size,) + shape[dim + 1:], strides,
                                   out.offset + start * step), t._a)
        start += size
    return wrap(out, tensors[0].device)


def _is_legacy_empty(t: Tensor) -> bool:
    return t.ndim == 1 and t.shape[0] == 0


def _tensor_sequence(op: str, tensors) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (tuple, list)):
        raise TypeError(f"{op}(): argument 'tensors' must be tuple of Tensors, not "
                        f"{type(tensors).__name__}")
    return list(tensors)


@supports_out
def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim (1-D empty tensors are skipped, like PyTorch)."""
    tensors = _tensor_sequence("cat", tensors)
    if not tensors:
        raise ValueError("cat(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"cat(): expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    common_device("cat", *tensors)
    kept = [t for t in tensors if not _is_legacy_empty(t)] or tensors[:1]
    ref = kept[0]
    d = normalize_dim("cat", dim, ref.ndim)
    if ref.ndim == 0:
        raise RuntimeError("cat(): zero-dimensional tensor (at position 0) cannot be concatenated")
    expected = ref._a.shape
    for i, t in enumerate(kept):
        got = t._a.shape
        if len(got) != len(expected):
            raise RuntimeError(f"cat(): Tensors must have same number of dimensions: got "
                               f"{len(expected)} and {len(got)}")
        if got[:d] != expected[:d] or got[d + 1:] != expected[d + 1:]:
            k = next(k for k in range(len(got)) if k != d and got[k] != expected[k])
            raise RuntimeError(f"cat(): Sizes of tensors must match except in dimension {d}. "
                               f"Expected size {expected[k]} but got size {got[k]} for "
                               f"tensor number {i} in the list.")
    if len(kept) != len(tensors) and len(kept) == 1 and kept[0] is tensors[0] and _is_legacy_empty(tensors[0]):
        return tensors[0]
    return _Cat.apply(d, *kept)


concat = cat
concatenate = cat


@supports_out
def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors of equal shape along a new dim."""
    tensors = _tensor_sequence("stack", tensors)
    if not tensors:
        raise RuntimeError("stack(): expects a non-empty TensorList")
    shape = None
    tracked = False
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"stack(): expected Tensor as element {i}, got {type(t).__name__}")
        if shape is None:
            shape = t._a.shape
        elif t._a.shape != shape:
            raise RuntimeError(f"stack(): stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(t.shape)} at entry {i}")
        tracked = tracked or t.requires_grad
    d = normalize_dim("stack", dim, len(shape) + 1)
    if not (tracked and _grad_state.enabled):
        # no graph: the tensors copied straight into the result, no unsqueezed views
        common_device("stack", *tensors)
        dtype = tensors[0].dtype
        for t in tensors[1:]:
            if t.dtype is not dtype:
                dtype = dtypes.promote_types(dtype, t.dtype)
        return _joined(tensors, d, shape[:d] + (len(tensors),) + shape[d:], dtype)
    return rename_node(cat([unsqueeze(t, d) for t in tensors], d), "StackBackward0")


def hstack(tensors) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-D tensors); 0-d tensors count as 1-D."""
    tensors = [t.reshape(1) if isinstance(t, Tensor) and t.ndim == 0 else t
               for t in _tensor_sequence("hstack", tensors)]
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate along dim 0 after making tensors at least 2-D."""
    return cat([t.reshape(1, -1) if isinstance(t, Tensor) and t.ndim < 2 else t
                for t in _tensor_sequence("vstack", tensors)], 0)


def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Views of ``input`` along ``dim``: ``n`` nearly equal parts (the first ``size % n`` one
    longer), or the parts between the given indices (clamped to the size, so parts may be
    empty)."""
    check_tensor("tensor_split", "input", input)
    d = normalize_dim("tensor_split", dim, input.ndim)
    size = input.shape[d]
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0:
            raise RuntimeError(f"tensor_split(): number of sections must be larger than 0, got {n}")
        bounds = [k * (size // n) + min(k, size % n) for k in range(n + 1)]
    else:
        cuts = [min(max(int(i), 0), size) for i in indices_or_sections]
        bounds = [0] + cuts + [size]
    pieces = []
    for start, end in zip(bounds[:-1], bounds[1:]):
        start = min(start, size)
        pieces.append(narrow(input, d, start, max(end - start, 0)))
    return tuple(pieces)


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Views of consecutive pieces along ``dim``: of a given size, or of listed sizes."""
    d = normalize_dim("split", dim, x.ndim)
    size = x.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step < 0 or (step == 0 and size > 0):
            raise RuntimeError(f"split(): split_size can only be 0 if dimension size is 0, but "
                               f"got split_size={step} and dimension size {size}")
        sizes = [min(step, size - s) for s in range(0, size, step)] if size else [0]
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != size:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got split_sizes={sizes}")
    pieces = []
    start = 0
    name = "SplitBackward0" if isinstance(split_size_or_sections, int) else \
        "SplitWithSizesBackward0"
    for s in sizes:
        pieces.append(rename_node(narrow(x, d, start, s), name, source=x))
        start += s
    return mark_multi_output(tuple(pieces), "Split" if isinstance(split_size_or_sections, int)
                             else "SplitWithSizes")


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` pieces of equal size (the last may be smaller)."""
    if not isinstance(chunks, int) or chunks <= 0:
        raise RuntimeError(f"chunk(): chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = normalize_dim("chunk", dim, x.ndim)
    size = x.shape[d]
    if size == 0:
        return split(x, [0] * chunks, d)  # PyTorch: `chunks` empty pieces
    step = -(-size // chunks)
    return split(x, step, d)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim`` (that dim removed)."""
    d = normalize_dim("unbind", dim, x.ndim)
    enabled = _grad_state.enabled
    if type(x) is Tensor and not (enabled and x.requires_grad):
        # no graph: the views ``select`` makes, without its call per slice
        array = x._a
        shape = array.shape[:d] + array.shape[d + 1:]
        strides = array.strides[:d] + array.strides[d + 1:]
        step, offset = array.strides[d], array.offset
        pieces = tuple([_make_view(x, shape, strides, offset + i * step, enabled)
                        for i in range(array.shape[d])])
        return mark_multi_output(pieces, "Unbind")
    return mark_multi_output(tuple(rename_node(select(x, d, i), "UnbindBackward0")
                                   for i in range(x.shape[d])), "Unbind")




# --- Tensor.unfold: sliding windows as a view ---------------------------------------------------
def _window_positions(x: Tensor, size: int, step: int, windows: int) -> Tensor:
    """Positions of every window element along the unfolded dim, window-major: ``w * step + k``
    (on ``x``'s device)."""
    from .. import dtypes
    from .creation import arange
    starts = arange(windows, dtype=dtypes.int64, device=x.device) * step
    offsets = arange(size, dtype=dtypes.int64, device=x.device)
    return (starts.reshape((windows, 1)) + offsets.reshape((1, size))).reshape((windows * size,))


def _unfold_backward(x_shape: tuple, dim: int, size: int, step: int):
    """The adjoint of ``unfold``: each window element's gradient added back at its position
    (overlapping windows sum), by an ``index_add`` along ``dim``."""
    def backward(grad: Tensor) -> Tensor:
        from .creation import zeros
        from .indexing import index_add
        windows = grad.shape[dim]
        rows = movedim(grad, grad.ndim - 1, dim + 1)
        rows = rows.reshape(rows.shape[:dim] + (windows * size,) + rows.shape[dim + 2:])
        base = zeros(x_shape, dtype=grad.dtype, device=grad.device)
        return index_add(base, dim, _window_positions(grad, size, step, windows), rows)
    return backward


def unfold(x: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: every ``size``-long slice of dim ``dimension``, ``step`` apart, as a
    view: that dim becomes the window count ``(n - size) // step + 1`` and a new last dim of
    ``size`` runs inside each window. Overlapping windows share storage."""
    if x.ndim == 0:
        out = unfold(x.reshape((1,)), 0, size, step)
        return out.reshape((size,))
    d = normalize_dim("unfold", dimension, x.ndim)
    n = x.shape[d]
    if size > n:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {n} but size is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    strides = x.stride()
    shape = tuple(x.shape[:d]) + ((n - size) // step + 1,) + tuple(x.shape[d + 1:]) + (size,)
    view_strides = strides[:d] + (strides[d] * step,) + strides[d + 1:] + (strides[d],)
    return rename_node(_view_op(x, shape, view_strides, x.storage_offset(),
                                _unfold_backward(tuple(x.shape), d, size, step)),
                       "UnfoldBackward0", source=x)


# --- diagonals, meshgrid, diff ------------------------------------------------------------------
def _diagonal_geometry(shape: tuple, strides: tuple, offset: int, dim1: int, dim2: int,
                       base: int) -> tuple:
    """(shape, strides, storage offset) of the ``offset`` diagonal of dims ``dim1``, ``dim2``."""
    n1, n2 = shape[dim1], shape[dim2]
    size = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    start = base
    if size:
        start += offset * strides[dim2] if offset >= 0 else -offset * strides[dim1]
    keep = [d for d in range(len(shape)) if d not in (dim1, dim2)]
    return (tuple(shape[d] for d in keep) + (size,),
            tuple(strides[d] for d in keep) + (strides[dim1] + strides[dim2],), start)


class _Diagonal(Function):
    """A diagonal view; backward writes the gradient onto the diagonal of zeros."""

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.input_shape = tuple(x.shape)
        ctx.args = (offset, dim1, dim2)
        return _make_view(x, *_diagonal_geometry(tuple(x.shape), x.stride(), offset, dim1, dim2,
                                                 x.storage_offset()))

    @staticmethod
    def backward(ctx, grad):
        return _DiagonalScatter.apply(grad, ctx.input_shape, *ctx.args), None, None, None


class _DiagonalScatter(Function):
    """Zeros of ``shape`` with ``src`` written on a diagonal (the transpose of ``diagonal``)."""

    @staticmethod
    def forward(ctx, src, shape, offset, dim1, dim2):
        from .creation import zeros
        ctx.args = (offset, dim1, dim2)
        out = zeros(shape, dtype=src.dtype, device=src.device)
        target = _make_view(out, *_diagonal_geometry(shape, out.stride(), offset, dim1, dim2,
                                                     out.storage_offset()))
        backend(out).copy_(target._a, src._a)
        return out

    @staticmethod
    def backward(ctx, grad):
        return _Diagonal.apply(grad, *ctx.args), None, None, None, None


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal (``offset`` above the main one) of dims ``dim1``/``dim2``, as a view whose
    last dim runs along it."""
    if input.ndim < 2:
        raise RuntimeError(f"diagonal(): input must have at least 2 dimensions, got "
                           f"{input.ndim}")
    d1 = normalize_dim("diagonal", dim1, input.ndim)
    d2 = normalize_dim("diagonal", dim2, input.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    enabled = _grad_state.enabled
    if not (enabled and input.requires_grad):
        return _make_view(input, *_diagonal_geometry(tuple(input.shape), input.stride(), offset,
                                                     d1, d2, input.storage_offset()), enabled)
    return _Diagonal.apply(input, offset, d1, d2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """A tensor whose ``offset`` diagonals (of dims ``dim1``, ``dim2``) hold ``input``'s last dim."""
    n = input.shape[-1] + abs(offset)
    ndim = input.ndim + 1
    d1, d2 = normalize_dim("diag_embed", dim1, ndim), normalize_dim("diag_embed", dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    batch = list(input.shape[:-1])
    shape = []
    for d in range(ndim):
        shape.append(n if d in (d1, d2) else batch.pop(0))
    return _DiagonalScatter.apply(input, tuple(shape), offset, d1, d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """1-D input: a square matrix with it on the ``diagonal``; 2-D: a copy of that diagonal."""
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return globals()["diagonal"](input, diagonal, 0, 1).clone()
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a 2-D tensor."""
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return diagonal(input).sum()


def meshgrid(*tensors, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors (``indexing='ij'`` matrix or ``'xy'`` Cartesian)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                         f"received: {indexing}")
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but "
                               f"got: {t.ndim}D")
    flat = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    if swap:
        flat[0], flat[1] = flat[1], flat[0]
    sizes = tuple(t.shape[0] for t in flat)
    grids = []
    for i, t in enumerate(flat):
        view = [1] * len(flat)
        view[i] = sizes[i]
        grids.append(t.reshape(tuple(view)).expand(sizes))
    if swap:  # 'xy': the grids of (y, x, ...) in 'ij', the first two handed back swapped
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (after optional ``prepend``/``append``;
    for bool tensors the exclusive or of neighbours, as PyTorch)."""
    d = normalize_dim("diff", dim, input.ndim)
    if n < 0:
        raise RuntimeError(f"diff expects n to be non-negative, got {n}")
    parts = [t for t in (prepend, input, append) if t is not None]
    out = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        length = out.shape[d]
        if length == 0:
            break
        later, earlier = narrow(out, d, 1, length - 1), narrow(out, d, 0, length - 1)
        # bool: PyTorch's difference is "changed" (exclusive or), as bools do not subtract
        out = later != earlier if out.dtype is dtypes.bool else later - earlier
    return out


def _check_vector(input: Tensor) -> None:
    if input.ndim != 1:
        raise RuntimeError(f"Expect a 1D vector, but got shape {list(input.shape)}")


def cartesian_prod(*tensors) -> Tensor:
    """The Cartesian product of 1-D tensors: one row per combination, in ``itertools.product``
    order (a single tensor is returned as it is)."""
    for t in tensors:
        check_tensor("cartesian_prod", "tensors", t)
        _check_vector(t)
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if len(tensors) == 1:
        return tensors[0]
    if any(t.dtype is not tensors[0].dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    common_device("cartesian_prod", *tensors)
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape(-1) for g in grids], dim=1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of the elements of the 1-D ``input`` (with repeats when
    ``with_replacement``), one per row in ``itertools.combinations`` order; ``r=0`` gives an
    empty 1-D tensor. Differentiable (an ``index_select`` of ``input``)."""
    import itertools
    check_tensor("combinations", "input", input)
    _check_vector(input)
    if isinstance(r, bool) or not isinstance(r, int):
        raise TypeError(f"combinations(): argument 'r' must be int, not {type(r).__name__}")
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    if r == 0:
        return narrow(input, 0, 0, 0)
    pick = itertools.combinations_with_replacement if with_replacement else \
        itertools.combinations
    flat = [i for combo in pick(range(input.shape[0]), r) for i in combo]
    from .creation import tensor
    index = tensor(flat, dtype=dtypes.int64, device=input.device)
    return input.index_select(0, index).reshape(len(flat) // r, r)


def type_as(input: Tensor, other: Tensor) -> Tensor:
    """``input`` cast to ``other``'s dtype."""
    return input.to(other.dtype)


__all__ += ["diagonal", "diag", "diag_embed", "trace", "meshgrid", "diff", "cartesian_prod",
            "combinations"]
for _name in ("diagonal", "diag_embed"):
    register(_name, "shape", ("full", "copy_"))
register("diag", "shape", ("full", "copy_", "empty"))
register("meshgrid", "shape", ("sum",))
register("trace", "shape", ("sum", "copy_", "full"))
register("diff", "shape", ("sub", "copy_", "add", "full", "neg", "ne"))
register("type_as", "shape", ("copy_", "empty", "full"))
register("cartesian_prod", "shape", ("copy_", "empty", "sum"))
register("combinations", "shape", ("amax", "amin", "from_numpy", "full", "gather", "scatter_add",
                                   "to_numpy"))
del _name
