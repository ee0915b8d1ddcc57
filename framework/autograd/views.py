"""Views and in-place writes: PyTorch's rules, so a view never carries a stale gradient.

A view (``unsqueeze``, slicing, ``transpose``, ``view``, ``select``, ``diagonal``,
``expand`` ...) shares its base's storage, and with it the version counter
that every in-place write bumps. It records its base (``_base``: the tensor
owning the memory, also for a view of a view), the storage version its
``grad_fn`` reflects (``_seen_version``), and its geometry (shape, strides and
storage offset), which replays it on the base (``as_strided``).

* In-place write into a view, while recording: the base's ``grad_fn``
  becomes ``CopySlices`` (the old base graph outside the view's region, the
  new value inside it); the view's becomes ``AsStrided`` of the base.
* Any in-place write (into the base, the view, or another view of the base):
  the next access of a stale view's ``grad_fn`` regenerates it as
  ``AsStrided`` of the base's current graph.
* Views whose graph can't be rebased raise PyTorch's errors instead of
  giving a wrong gradient: views made in no_grad mode (``NO_GRAD``), the
  outputs of multi-output view ops ``split``/``chunk``/``unbind``
  (``MULTI_OUTPUT``) and views (or inputs) returned by a user's ``Function``
  (``CUSTOM_FUNCTION``), modified in place directly (at the write) or through
  their base (at their next use in grad mode); and views of leaves that
  require grad.

While a ``Function``'s forward runs, the grad state is ``None`` (off, like
``False``): views made there are the op's own business, not no_grad views.
Views that need none of this (no gradient anywhere) pay one integer compare
per ``grad_fn`` access.
"""
from __future__ import annotations

from ..tensor import Tensor
from .function import Function
from .grad_mode import _state as _grad_state

# ``Tensor._view_meta`` kinds (None: an ordinary view that can be rebased)
NO_GRAD = "no_grad"
MULTI_OUTPUT = "multi_output"
CUSTOM_FUNCTION = "custom_function"
NO_GRAD_META = (NO_GRAD, None)  # ``_view_meta`` of a view made in no_grad mode

DETACH_VIEW = ("Can't detach views in-place. Use detach() instead. If you are using "
               "DistributedDataParallel (DDP) for training, and gradient_as_bucket_view is set "
               "as True, gradients are views of DDP buckets, and hence detach_() cannot be called "
               "on these gradients. To fix this error, please refer to the Optimizer.zero_grad() "
               "function in torch/optim/optimizer.py as the solution.")

_LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
_VIEW_OF_LEAF = ("a view of a leaf Variable that requires grad is being used in an in-place "
                 "operation.")
_NO_GRAD_HINT = (" Given that this use case is ambiguous and error-prone, it is forbidden. You can "
                 "clarify your code by moving both the view and the inplace either both inside the "
                 "no_grad block (if you don't want the inplace to be tracked) or both outside (if "
                 "you want the inplace to be tracked).")
_CUSTOM_FUNCTION_HINT = (" This view was created inside a custom Function (or because an input "
                         "was returned as-is) and the autograd logic to handle view+inplace would "
                         "override the custom backward associated with the custom Function, "
                         "leading to incorrect gradients. This behavior is forbidden. You can fix "
                         "this by cloning the output of the custom Function.")
_MULTI_OUTPUT_HINT = (" This view is the output of a function that returns multiple views. Such "
                      "functions do not allow the output views to be modified inplace. You should "
                      "replace the inplace operation by an out-of-place one.")


# --- view creation metadata ---------------------------------------------------------------
def child_meta(parent: Tensor, grad_enabled):
    """``_view_meta`` of a view of ``parent`` made with grad mode ``grad_enabled``.

    ``grad_enabled`` is the grad state: False under the user's no_grad, None
    inside a Function's forward (a view made there is the op's business, not a
    no_grad view). A view of a view that can't be rebased can't be either
    (PyTorch propagates the creation mode the same way).
    """
    if grad_enabled is False:
        return NO_GRAD_META
    meta = parent._view_meta if parent._base is not None else None
    return None if meta is None else (meta[0], None)


def mark_multi_output(pieces: tuple, op: str) -> tuple:
    """Mark the views returned together by ``split``/``chunk``/``unbind``."""
    if _grad_state.enabled is True:
        for i, piece in enumerate(pieces):
            label = f"Output {i} of {op}" if piece._grad_fn is not None else None
            piece._view_meta = (MULTI_OUTPUT, label)
    return pieces


def _rebase_error(view: Tensor, indirect: bool) -> str:
    kind, label = view._view_meta
    modified = "its base or another view of its base has been" if indirect else "is being"
    node = view._grad_fn
    if label is None and node is not None:
        label = f"Output {view._output_nr} of {node.name().removesuffix('Backward0')}"
    if label is None:
        head = (f"A view was created in no_grad mode and {modified} modified inplace with grad "
                "mode enabled.")
    else:
        head = f"{label} is a view and {modified} modified inplace."
    return head + {MULTI_OUTPUT: _MULTI_OUTPUT_HINT,
                   CUSTOM_FUNCTION: _CUSTOM_FUNCTION_HINT}.get(kind, _NO_GRAD_HINT)


# --- the rules --------------------------------------------------------------------------
def refresh_view(view: Tensor) -> None:
    """Bring a view's ``grad_fn`` up to date after an in-place write to its memory.

    Called by ``Tensor.grad_fn`` when the storage version moved on. A view that
    can't be rebased raises (in grad mode; in no_grad mode nothing records, and
    the error waits for the next use in grad mode).
    """
    base = view._base
    if not base.requires_grad:
        if view._grad_fn is not None:  # the base left the graph (``detach_``): so does the view
            set_grad_fn(view, None, 0)
        view._seen_version = view._a.storage.version
        return
    if view._view_meta is not None:
        if _grad_state.enabled:
            raise RuntimeError(_rebase_error(view, indirect=True))
        return
    regenerate(view)


def check_stale_view_write(view: Tensor) -> None:
    """A write in grad mode into a view that can't be rebased and whose memory changed since:
    PyTorch's error for the write itself (before the stale ``grad_fn`` is looked at)."""
    if view._a.storage.version != view._seen_version and view._base.requires_grad:
        raise RuntimeError(_rebase_error(view, indirect=False))


def regenerate(view: Tensor) -> None:
    """Make ``view.grad_fn`` ``AsStrided`` of its base's current graph."""
    base = view._base
    geometry = view_geometry("view", base, view)
    enabled = _grad_state.enabled
    _grad_state.enabled = True
    try:
        replay = _AsStrided.apply(base, geometry)
    finally:
        _grad_state.enabled = enabled
    set_grad_fn(view, replay._grad_fn, 0)
    view._seen_version = view._a.storage.version


def check_inplace(op: str, x: Tensor, out: Tensor) -> None:
    """Raise PyTorch's errors for an in-place write of ``out`` into ``x`` that would record.

    Called in grad mode, after ``out`` was computed and before it is written.
    """
    base = x._base
    if out.grad_fn is None and not (base is not None and base.requires_grad) \
            and not x.requires_grad:
        return
    if base is not None:
        if x._view_meta is not None:
            raise RuntimeError(_rebase_error(x, indirect=False))
        if base._requires_grad and base.is_leaf:
            raise RuntimeError(f"{op}(): {_VIEW_OF_LEAF}")
    if x._requires_grad and x.is_leaf:
        raise RuntimeError(f"{op}(): {_LEAF}")


def rebase_view(op: str, x: Tensor, out: Tensor) -> None:
    """After the recorded write of ``out`` into view ``x``: ``CopySlices`` on the base,
    ``AsStrided`` of the base on ``x``."""
    base = x._base
    geometry = view_geometry(op, base, x)
    new_base = _CopySlices.apply(base._alias(), out, geometry)
    set_grad_fn(base, new_base._grad_fn, 0)
    regenerate(x)


def set_grad_fn(t: Tensor, node, output_nr: int) -> None:
    """Re-record ``t`` (after an in-place write) as output ``output_nr`` of ``node``.

    ``retain_grad()`` follows the tensor, as in PyTorch: its ``.grad`` is the
    gradient of its current value. (Hooks stay where they were registered.)
    """
    old, old_nr = t._grad_fn, t._output_nr
    t._grad_fn = node
    t._output_nr = output_nr
    if old is not None and old.retained:
        ref = old.retained.get(old_nr)
        if ref is not None and ref() is t:
            del old.retained[old_nr]
            if node is not None:
                node.retained[output_nr] = ref


# --- geometry -----------------------------------------------------------------------------
def view_geometry(op: str, base: Tensor, view: Tensor) -> tuple:
    """``(base shape, base strides, view shape, view strides, view offset)`` with the offset
    counted from the base's first element: what ``AsStrided`` needs to replay ``view`` on
    any tensor shaped like ``base``. Raises where that is not well defined."""
    b, v = base._a, view._a
    if v.storage is not b.storage:
        raise RuntimeError(f"{op}(): the view no longer shares memory with its base (was the "
                           "base's .data replaced?); its gradient can't be rebased")
    if _overlaps(b.shape, b.strides):
        raise RuntimeError(f"{op}(): in-place modification of a view whose base has elements "
                           "sharing memory (e.g. an expanded tensor) is not supported with "
                           "autograd; clone() the base first")
    offset = v.offset - b.offset
    if v.numel and (offset < 0 or offset + _span(v.shape, v.strides) > _span(b.shape, b.strides)):
        raise RuntimeError(f"{op}(): the view reaches outside its base; its gradient can't be "
                           "rebased")
    return tuple(b.shape), tuple(b.strides), tuple(v.shape), tuple(v.strides), offset


def _span(shape, strides) -> int:
    """Elements from the first to one past the last element of a layout (0 when empty)."""
    if 0 in shape:
        return 0
    return 1 + sum((size - 1) * stride for size, stride in zip(shape, strides))


def _overlaps(shape, strides) -> bool:
    """True unless the layout provably gives each element its own memory location."""
    reach = 0
    for stride, size in sorted((st, s) for s, st in zip(shape, strides) if s > 1):
        if stride <= reach:
            return True
        reach += (size - 1) * stride
    return False


def _mirror(kernels, like, geometry, fill):
    """A 1-D buffer laid out like the base's memory (``fill`` or uninitialized)."""
    bshape, bstrides = geometry[0], geometry[1]
    size = _span(bshape, bstrides)
    return kernels.empty((size,), like.dtype) if fill is None else \
        kernels.full((size,), fill, like.dtype)


def _as_strided(t: Tensor, geometry: tuple):
    """The view geometry applied to ``t`` (shaped like the base): an ``Array``."""
    from ..ops._util import backend
    bshape, bstrides, vshape, vstrides, offset = geometry
    a = t._a
    if tuple(a.strides) == bstrides or a.numel == 0:
        return a.view(vshape, vstrides, a.offset + offset)
    kernels = backend(t)
    buf = _mirror(kernels, a, geometry, None)
    kernels.copy_(buf.view(bshape, bstrides, 0), a)
    return buf.view(vshape, vstrides, offset)


def _as_strided_scatter(grad: Tensor, geometry: tuple):
    """Zeros shaped like the base holding ``grad`` at the view geometry: an ``Array``."""
    from ..ops._util import backend
    bshape, bstrides, vshape, vstrides, offset = geometry
    broadcast = tuple(i for i, (s, st) in enumerate(zip(vshape, vstrides)) if st == 0 and s > 1)
    if broadcast:  # an expanded view: its elements' gradients add up in the shared location
        grad = grad.sum(broadcast, keepdim=True)
        vshape = tuple(1 if i in broadcast else s for i, s in enumerate(vshape))
    if _overlaps(vshape, vstrides):
        raise RuntimeError("as_strided backward: views whose elements overlap in memory are not "
                           "supported")
    kernels = backend(grad)
    buf = _mirror(kernels, grad._a, geometry, 0)
    if grad.numel():
        kernels.copy_(buf.view(vshape, vstrides, offset), grad._a)
    return buf.view(bshape, bstrides, 0)


class _AsStrided(Function):
    """A view replayed on (a tensor shaped like) its base; backward scatters into zeros."""

    @staticmethod
    def forward(ctx, t, geometry):
        from ..ops._util import wrap
        ctx.geometry = geometry
        return wrap(_as_strided(t, geometry), t.device)

    @staticmethod
    def backward(ctx, grad):
        return _AsStridedScatter.apply(grad, ctx.geometry), None


class _AsStridedScatter(Function):
    """The transpose of ``_AsStrided``: zeros shaped like the base, ``grad`` in the view."""

    @staticmethod
    def forward(ctx, grad, geometry):
        from ..ops._util import wrap
        ctx.geometry = geometry
        return wrap(_as_strided_scatter(grad, geometry), grad.device)

    @staticmethod
    def backward(ctx, grad):
        return _AsStrided.apply(grad, ctx.geometry), None


class _CopySlices(Function):
    """The base after ``value`` was written into a view of it (already in memory).

    Backward: the base's old graph gets the gradient outside the view's region,
    ``value`` the gradient inside it.
    """

    @staticmethod
    def forward(ctx, base, value, geometry):
        from ..ops._util import wrap
        ctx.geometry = geometry
        return wrap(base._a, base.device)

    @staticmethod
    def backward(ctx, grad):
        grad_base = grad_value = None
        if ctx.needs_input_grad[0]:
            grad_base = grad * _outside_view(grad, ctx.geometry)
        if ctx.needs_input_grad[1]:
            grad_value = _AsStrided.apply(grad, ctx.geometry)
        return grad_base, grad_value, None


def _outside_view(like: Tensor, geometry: tuple) -> Tensor:
    """1 outside the view's region of the base, 0 inside it (shaped like the base)."""
    from ..ops._util import backend, wrap
    bshape, bstrides, vshape, vstrides, offset = geometry
    kernels = backend(like)
    buf = _mirror(kernels, like._a, geometry, 1)
    if 0 not in vshape:
        kernels.copy_(buf.view(vshape, vstrides, offset), kernels.full((), 0, like.dtype))
    return wrap(buf.view(bshape, bstrides, 0), like.device)
