"""Conversions between ``Array`` views and NumPy arrays for the CPU backend."""
from __future__ import annotations

import contextvars
import functools
import math

import numpy as np

from ...dtypes import bfloat16, float16, float32, from_numpy_dtype
from ..array import Array, Storage, contiguous_strides, row_major_strides


def nd(a: Array) -> np.ndarray:
    """The NumPy view of an ``Array`` (shares memory, no copy)."""
    cached = a._cache
    if cached is not None:
        return cached
    dtype = a.dtype
    item = dtype.itemsize
    shape = a.shape
    if 0 in shape:  # no elements
        view = np.empty(shape, dtype=dtype.numpy)
    else:
        buffer = a.storage.buffer
        whole = False
        if a.offset == 0 and type(buffer) is np.ndarray and buffer.dtype is dtype.numpy:
            layout = _FRESH_LAYOUTS[item].get(shape) or _fresh_layout(shape, item)
            whole = layout[2] == buffer.size
        strides = a.strides
        if whole and strides == layout[0]:
            # the whole storage, row-major (e.g. a matmul result viewed without its batch
            # dim): a reshape of the flat buffer (the same strides), not a new buffer view
            view = buffer.reshape(shape)
        elif whole and len(shape) == 2 and strides == (1, shape[0]):
            # the whole storage as the transpose of a row-major matrix (a weight's .T, mT):
            # that matrix's reshape, transposed (the same strides)
            view = buffer.reshape((shape[1], shape[0])).T
        else:
            # (shape, dtype, buffer, offset, strides) by position: half the call's cost of
            # the keyword form
            view = np.ndarray(shape, dtype.numpy, buffer, a.offset * item,
                              _byte_strides(a.strides, item)
                              if type(a.strides) is tuple else [s * item for s in a.strides])
    a._cache = view
    return view


def wrap(result: np.ndarray, dtype=None) -> Array:
    """A new contiguous ``Array`` holding ``result``.

    ``result``'s memory is taken over when it is a fresh, owned, contiguous
    array of the right type (inputs always reach kernels as views, so they
    never qualify); anything else is copied. The array keeps ``result`` as
    its NumPy view when the layouts agree (saves building one in ``nd``).
    """
    fw_dtype = dtype if dtype is not None else from_numpy_dtype(result.dtype)
    if type(result) is np.ndarray and result.base is None and result.dtype is fw_dtype.numpy:
        # The common case (a kernel's fresh C-ordered result of the right type): the same
        # Array as below, with the layout from a per-shape dict and without the flags
        # object, the size-1 check and the constructors' calls (``Storage.__init__`` and
        # ``Array.__init__``, inlined: this runs once per op).
        shape = result.shape
        layout = _FRESH_LAYOUTS[fw_dtype.itemsize].get(shape)
        if layout is None:
            layout = _fresh_layout(shape, fw_dtype.itemsize)
        strides, byte_strides, size, one_dim = layout
        if result.strides == byte_strides and size:
            storage = _new(Storage)
            storage.buffer = result if one_dim else result.ravel()
            storage.numel = size
            storage.dtype = fw_dtype
            storage.version = 0
            array = _new(Array)
            array.storage = storage
            array.shape = shape
            array.strides = strides
            array.offset = 0
            array.dtype = fw_dtype
            array._cache = result
            return array
    return _wrap_copy(result, fw_dtype)


def _wrap_copy(result, fw_dtype) -> Array:
    """``wrap`` of anything but a fresh C-ordered array of ``fw_dtype`` (copied unless owned
    and contiguous)."""
    if type(result) is not np.ndarray:
        result = np.asarray(result)
    np_dtype = fw_dtype.numpy
    if result.base is None and result.dtype == np_dtype and result.flags.c_contiguous:
        flat = result if result.ndim == 1 else result.ravel()  # ravel: a view (contiguous)
        view = result
    else:
        flat = np.array(result, dtype=np_dtype, order="C").ravel()
        view = None
    shape = result.shape
    strides = row_major_strides(shape)
    size = flat.size
    array = Array(Storage(flat, size, fw_dtype), shape, strides, 0)
    # C-contiguous strides are the canonical ones except possibly on size-1 dims
    if view is not None and size and (1 not in shape or view.strides == _byte_strides(
            strides, np_dtype.itemsize)):
        array._cache = view
    return array


_new = object.__new__

# ``wrap``'s layouts of fresh results: one dict per item size (list index), shape ->
# ``(strides, byte strides, numel, ndim == 1)`` of a C-contiguous array. A cache of pure
# functions of the key; each dict is emptied when it reaches ``_FRESH_LAYOUTS_MAX`` entries.
_FRESH_LAYOUTS = [{} for _ in range(17)]
_FRESH_LAYOUTS_MAX = 4096


def _fresh_layout(shape: tuple, itemsize: int) -> tuple:
    layouts = _FRESH_LAYOUTS[itemsize]
    if len(layouts) >= _FRESH_LAYOUTS_MAX:
        layouts.clear()
    strides = contiguous_strides(shape)
    layout = layouts[shape] = (strides, tuple(s * itemsize for s in strides), math.prod(shape),
                               len(shape) == 1)
    return layout


_contiguous_strides = row_major_strides  # array.py's shared per-shape cache


@functools.lru_cache(maxsize=1024)
def _byte_strides(strides: tuple, itemsize: int) -> tuple:
    return tuple(s * itemsize for s in strides)


def _quiet_contextvar():
    """NumPy's error-state context variable and an all-ignore value for it, or None.

    Setting the variable directly does what ``np.errstate(all='ignore')``
    does for one call at a fraction of its cost (which exceeds a small op's).
    """
    try:
        from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj
        return _extobj_contextvar, _make_extobj(all="ignore")
    except (ImportError, AttributeError, TypeError):
        return None


_QUIET = _quiet_contextvar()


def _quiet_context():
    """``run`` of a context holding only NumPy's all-ignore error state, or None.

    ``run(fn, *args)`` is ``fn(*args)`` with NumPy's floating-point warnings
    silenced, for less than setting and resetting the variable costs. A context
    runs in one thread at a time: ``run`` raises ``RuntimeError`` when it is
    already running (another thread, or a nested call), and ``quiet`` then
    sets the variable instead.
    """
    if _QUIET is None:
        return None
    context = contextvars.Context()
    context.run(_QUIET[0].set, _QUIET[1])
    return context.run


_QUIET_RUN = _quiet_context()


def in_use(exc: RuntimeError) -> bool:
    """True when ``exc`` is ``_QUIET_RUN``'s refusal to enter its context (already entered)."""
    return str(exc).startswith("cannot enter context")


def quiet(fn, *args):
    """``fn(*args)`` with NumPy's floating-point warnings silenced (IEEE results: inf, NaN)."""
    if _QUIET_RUN is not None:
        try:
            return _QUIET_RUN(fn, *args)
        except RuntimeError as exc:
            if not in_use(exc):
                raise
    return quiet_here(fn, *args)


def quiet_here(fn, *args):
    """``quiet`` in the caller's own context (sets NumPy's error-state variable around ``fn``)."""
    if _QUIET is None:
        with np.errstate(all="ignore"):
            return fn(*args)
    var, ignore = _QUIET
    token = var.set(ignore)
    try:
        return fn(*args)
    finally:
        var.reset(token)


def compute_dtype(dtype) -> np.dtype:
    """NumPy type to compute in: float32 for the half types (like PyTorch's opmath)."""
    if dtype is float16 or dtype is bfloat16:
        return float32.numpy
    return dtype.numpy


def operand(a) -> np.ndarray:
    """An ``Array`` as a NumPy view; a Python scalar unchanged."""
    return nd(a) if isinstance(a, Array) else a


_UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def select(cond: np.ndarray, x, y, np_dtype) -> np.ndarray:
    """``np.where(cond, x, y)`` in ``np_dtype``, computed branch-free on the bit patterns.

    ``np.where`` costs a branch misprediction per element on random masks
    (about 5x slower here); masking the raw bits is exact for every value
    (NaN, infinities, signed zeros) and broadcasts the same way.
    """
    cond = np.asarray(cond, dtype=np.bool_)
    x = np.asarray(x, dtype=np_dtype)
    y = np.asarray(y, dtype=np_dtype)
    if cond.size <= _SMALL and x.size <= _SMALL and y.size <= _SMALL:
        return np.where(cond, x, y)  # same bits; cheaper for few elements (fewer NumPy calls)
    unsigned = _UNSIGNED[np.dtype(np_dtype).itemsize]
    x_bits = x.view(unsigned)
    y_bits = y.view(unsigned)
    if y_bits.ndim == 0 and not y_bits:  # y is +0: x's bits times the 0/1 mask
        shape = np.broadcast_shapes(cond.shape, x_bits.shape)
        return np.multiply(x_bits, cond, out=np.empty(shape, unsigned)).view(np_dtype)
    if x_bits.ndim == 0 and not x_bits:  # x is +0 (relu's backward, where(out <= 0, 0, g))
        shape = np.broadcast_shapes(cond.shape, y_bits.shape)
        return np.multiply(y_bits, np.logical_not(cond), out=np.empty(shape, unsigned)) \
            .view(np_dtype)
    mask = np.negative(cond.view(np.uint8).astype(unsigned))
    return ((x_bits & mask) | (y_bits & ~mask)).view(np_dtype)


_SMALL = 4096  # elements: below this ``select`` uses ``np.where`` (call overhead dominates)
