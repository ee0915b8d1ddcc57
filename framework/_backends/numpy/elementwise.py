"""CPU elementwise kernels with NumPy.

Inputs are cast to the compute type first (float32 for float16/bfloat16,
int32 for bool arithmetic, else the given type), the op runs with NumPy's
floating-point warnings silenced (IEEE results: inf, NaN), and the result
is stored as a new contiguous array of the output type.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ... import dtypes
from ..array import Array, Storage
from ..contract import BINARY, UNARY
from ._arrays import (_FRESH_LAYOUTS, _QUIET_RUN, _SMALL, _UNSIGNED, _fresh_layout, _new, in_use,
                      nd, quiet, quiet_here, select, wrap)
from . import _parallel
from ._normal32 import normal_pass
from ._parallel import flat_blocks, run_blocks, split_count

_TWO_OVER_SQRT_PI = 1.12837916709551257390
_erf_scalar = np.frompyfunc(math.erf, 1, 1)
_erfc_scalar = np.frompyfunc(math.erfc, 1, 1)


def _compute_type(dtype) -> np.dtype:
    if dtype is dtypes.float16 or dtype is dtypes.bfloat16:
        return np.dtype(np.float32)
    if dtype is dtypes.bool:
        return np.dtype(np.int32)
    return dtype.numpy


_COMPUTE = {d: _compute_type(d) for d in dtypes.ALL_DTYPES}


def _compute(dtype) -> np.dtype:
    """NumPy type to compute in: float32 for halves, int32 for bool, else ``dtype``."""
    return _COMPUTE[dtype]


def _value(x, np_dtype) -> np.ndarray:
    """An ``Array`` (as a view) or a Python scalar (as a 0-d array) in ``np_dtype``."""
    if type(x) is Array:
        v = x._cache  # nd(x), inlined: this runs twice per binary op
        if v is None:
            v = nd(x)
        return v if v.dtype == np_dtype else v.astype(np_dtype)
    if isinstance(x, Array):
        return nd(x).astype(np_dtype, copy=False)
    if isinstance(x, int) and np.dtype(np_dtype).kind in "iu":
        # out-of-range Python ints wrap around, as in PyTorch's integer arithmetic
        return np.asarray(x & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64).astype(np_dtype)
    return np.asarray(x, dtype=np_dtype)


def _finish(result, out_dtype) -> Array:
    return wrap(np.asarray(result), out_dtype)


def _is_float(v: np.ndarray) -> bool:
    return v.dtype.kind == "f"


# -- unary math -----------------------------------------------------------------------
def _erfc(v: np.ndarray) -> np.ndarray:
    """The complementary error function (relative accuracy where ``1 - erf`` would cancel).

    float64: ``math.erfc`` per element (exact to 1 ulp, slow); float32 (every other float
    type computes in it): Numerical Recipes' erfcc in float32 arithmetic (``_normal32``).
    """
    if v.dtype == np.float64:
        return np.asarray(_erfc_scalar(v), dtype=np.float64)
    return normal_pass("erfc", v.astype(np.float32, copy=False))


def _erf(v: np.ndarray) -> np.ndarray:
    """The error function (NumPy has none).

    float64: ``math.erf`` per element (exact to 1 ulp, slow); float32 (every other float
    type computes in it): ``1 - erfc(|x|)`` by erfcc in float32, the Taylor series below 0.5
    (full relative precision near 0), the sign of ``x`` (``_normal32``).
    """
    if v.dtype == np.float64:
        return np.asarray(_erf_scalar(v), dtype=np.float64)
    return normal_pass("erf", v.astype(np.float32, copy=False))


# Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011): single-precision
# polynomials in w = -log(1 - x^2), relative error 1.3e-7 (measured against torch float64).
_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                   0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _erfinv(v: np.ndarray) -> np.ndarray:
    """Inverse error function: Giles' approximation in float64, refined by two Newton steps
    on ``erf(y) = x`` for float64 inputs; +-inf at +-1, NaN outside [-1, 1]."""
    x = v.astype(np.float64)
    w = -np.log((1.0 - x) * (1.0 + x))
    central, tail = w - 2.5, np.sqrt(w) - 3.0
    p, q = _ERFINV_CENTRAL[0], _ERFINV_TAIL[0]
    for a, b in zip(_ERFINV_CENTRAL[1:], _ERFINV_TAIL[1:]):
        p, q = p * central + a, q * tail + b
    y = np.where(w < 5.0, p, q) * x
    if v.dtype == np.float64:
        for _ in range(2):
            y = y - (_erf(y) - x) / (_TWO_OVER_SQRT_PI * np.exp(-y * y))
    y = np.where(np.abs(x) == 1.0, np.copysign(np.inf, x), y)
    return np.where(np.abs(x) > 1.0, np.nan, y).astype(v.dtype)


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _relu(v):
    """0 where ``v < 0``, else ``v`` (NaN and -0.0 pass through, as in PyTorch)."""
    if v.size <= _SMALL:
        zero = _relu_zero(v.dtype)
        if zero is not None:
            return np.maximum(zero, v)  # the same bits in one call (3x faster here)
        out = v.copy()  # same bits as the large path below, with fewer NumPy calls
        np.putmask(out, v < 0, 0)
        return out
    out = np.empty(v.shape, v.dtype)
    count = split_count(v.size)
    if count > 1 and v.flags.c_contiguous:
        flat_blocks(relu_into, (v, out), count)  # large passes over threads
    else:
        relu_into(v, out)
    return out


def relu_into(v: np.ndarray, out: np.ndarray) -> None:
    """``out[...] = relu(v)`` (``out`` may be ``v``): one ``np.maximum`` where it has the
    masked relu's bits (``_relu_zero``; one pass, 2x the three passes' speed at 32K-1M
    elements), else the masked relu (``_relu_into``: through an unsigned view of ``out``, so
    a fresh float ``out`` is what ``wrap`` takes over, not a copy of an unsigned result)."""
    zero = _relu_zero(v.dtype)
    if zero is None:
        _relu_into(v, out)
    else:
        np.maximum(zero, v, out=out)


def _relu_into(v: np.ndarray, out: np.ndarray) -> None:
    """``out[...] = relu(v)`` on the bit patterns: v's bits times (not v < 0) is v, or
    all-zero bits (+0.0) where v < 0; NaN payloads and -0.0 pass unchanged (one integer
    multiply by the mask)."""
    keep = np.less(v, 0, out=np.empty(v.shape, np.bool_))
    np.logical_not(keep, out=keep)
    unsigned = _UNSIGNED[v.itemsize]
    np.multiply(v.view(unsigned), keep, out=out.view(unsigned))


@functools.cache
def _relu_zero(np_dtype: np.dtype) -> "np.ndarray | None":
    """A read-only 0-d zero of ``np_dtype`` when ``np.maximum(zero, v)`` is ``_relu(v)`` for
    ``v`` of that type (integers; other types where ``_maximum_is_relu``), else None."""
    zero = np.zeros((), np_dtype)
    zero.setflags(write=False)
    if np_dtype.kind not in "iu" and not _maximum_is_relu(zero):  # floats (bfloat16 is "V")
        return None
    return zero


def _maximum_is_relu(zero: np.ndarray) -> bool:
    """Whether ``np.maximum(zero, v)`` gives ``_relu``'s bits for float ``v`` of ``zero``'s
    type (``zero``: the 0-d zero ``_relu_zero`` passes to it).

    It does where NumPy's maximum returns its second operand on ties (-0.0
    passes) and a NaN operand unchanged: x86's ``max`` instructions and
    NumPy's scalar loop both do, ARM's ``fmax`` does not (it orders -0.0
    below +0.0). Checked on contiguous and strided operands of lengths that
    cover NumPy's vector body and tail (once per type: ``_relu_zero`` caches it).
    """
    np_dtype = zero.dtype
    special = np.array([-0.0, 0.0, np.nan, -np.nan, -1.0, 1.0, np.inf, -np.inf, -1e-3, 2.5],
                       dtype=np_dtype)
    for n in (1, 3, 7, 8, 9, 16, 17, 33, 70):
        probe = np.resize(special, 2 * n)
        for v in (probe[:n], probe[::2], probe[1:n + 1]):
            exact = v.copy()
            np.putmask(exact, v < 0, 0)
            with np.errstate(all="ignore"):
                fast = np.maximum(zero, v)
            if fast.dtype != np_dtype or fast.tobytes() != exact.tobytes():
                return False
    return True


def _sign(v):
    return (v > 0).astype(v.dtype) - (v < 0).astype(v.dtype)  # sign(NaN) = 0, like PyTorch


def _float_only(fn):
    """Apply ``fn`` to floating arrays; integer arrays are returned unchanged (floor of an int)."""
    return lambda v: fn(v) if _is_float(v) else v


_UNARY_FNS = {
    "neg": np.negative, "abs": np.abs, "exp": np.exp, "exp2": np.exp2, "log": np.log,
    "log2": np.log2, "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt,
    "rsqrt": lambda v: 1.0 / np.sqrt(v), "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "tanh": np.tanh, "sigmoid": _sigmoid, "relu": _relu, "sign": _sign,
    "floor": _float_only(np.floor), "ceil": _float_only(np.ceil),
    "round": _float_only(np.round), "trunc": _float_only(np.trunc),
    "reciprocal": lambda v: 1.0 / v, "square": lambda v: v * v,
    "logical_not": lambda v: v == 0, "isnan": lambda v: v != v,
    "asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "erf": lambda v: _erf(v).astype(v.dtype), "erfc": lambda v: _erfc(v).astype(v.dtype),
    "erfinv": _erfinv, "bitwise_not": np.invert,
}


def _make_unary(name: str):
    fn = _UNARY_FNS[name]

    def kernel(x: Array, out_dtype) -> Array:
        cd = _COMPUTE[out_dtype]
        v = x._cache if type(x) is Array else None  # _value, inlined for cached views
        if v is None or (v.dtype is not cd and v.dtype != cd):
            v = _value(x, cd)
        if _QUIET_RUN is None:
            return wrap(quiet_here(fn, v), out_dtype)
        try:  # quiet(fn, v), inlined
            result = _QUIET_RUN(fn, v)
        except RuntimeError as exc:
            if not in_use(exc):
                raise
            result = quiet_here(fn, v)
        return wrap(result, out_dtype)
    kernel.__name__ = name
    kernel.__doc__ = f"Elementwise ``{name}`` of ``x`` as ``out_dtype`` (float32 math for halves)."
    return kernel


def _make_predicate(name: str):
    """``logical_not``/``isnan``: computed in the input's own type, bool output."""
    fn = _UNARY_FNS[name]

    def kernel(x: Array, out_dtype) -> Array:
        v = _value(x, _compute(x.dtype))
        return _finish(fn(v), out_dtype)
    kernel.__name__ = name
    kernel.__doc__ = f"Elementwise ``{name}`` of ``x`` (bool output)."
    return kernel


def clamp(x: Array, lo, hi, out_dtype) -> Array:
    """``min(max(x, lo), hi)`` with scalar bounds (either may be None); NaN passes through."""
    cd = _compute(out_dtype)
    v = _value(x, cd)
    if lo is not None:
        lo = np.asarray(lo, dtype=cd)
        v = select(v < lo, lo, v, cd)
    if hi is not None:
        hi = np.asarray(hi, dtype=cd)
        v = select(v > hi, hi, v, cd)
    return _finish(v, out_dtype)


# -- binary math ------------------------------------------------------------------------
def _div_trunc(a, b):
    if _is_float(a):
        return np.trunc(a / b)
    q = a // b
    return np.where((a % b != 0) & ((a < 0) != (b < 0)), q + 1, q)


def _div_floor(a, b):
    """Floor division; floats use PyTorch's fmod-based algorithm (exact at integer quotients)."""
    if not _is_float(a):
        return np.floor_divide(a, b)
    mod = np.fmod(a, b)
    div = (a - mod) / b
    div = np.where((mod != 0) & ((b < 0) != (mod < 0)), div - 1, div)
    floor = np.floor(div)
    floor = np.where(div - floor > 0.5, floor + 1, floor)
    quotient = a / b
    result = np.where(div != 0, floor, np.copysign(np.zeros_like(div), quotient))
    return np.where(b == 0, quotient, result)


def _remainder(a, b):
    """Python-style remainder (sign of the divisor), as PyTorch computes it."""
    if not _is_float(a):
        return np.remainder(a, b)
    mod = np.fmod(a, b)
    return np.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod)


def _pow(a, b):
    if _is_float(a):
        return np.power(a, b)
    a, b = np.broadcast_arrays(a, b)
    result = np.power(a, np.where(b < 0, 0, b))
    negative = np.where(a == 1, 1, np.where(a == -1, np.where(b % 2 != 0, -1, 1), 0))
    return np.where(b < 0, negative.astype(result.dtype), result)


def _shift_in_range(a, b):
    """``(count_ok, safe_count)``: counts in [0, bits of a's type), and b with others as 0."""
    ok = (b >= 0) & (b < a.dtype.itemsize * 8)
    return ok, np.where(ok, b, 0).astype(a.dtype)


def _shift_left(a, b):
    """``a << b`` wrapping in a's type; 0 for counts outside [0, bits)."""
    ok, count = _shift_in_range(a, b)
    return np.where(ok, np.left_shift(a, count), 0).astype(a.dtype)


def _shift_right(a, b):
    """Arithmetic ``a >> b``; the sign fill (0 or -1) for counts outside [0, bits)."""
    ok, count = _shift_in_range(a, b)
    return np.where(ok, np.right_shift(a, count), np.where(a < 0, -1, 0)).astype(a.dtype)


def _maximum(a, b):
    return np.maximum(a, b)  # NaN propagates


def _minimum(a, b):
    return np.minimum(a, b)


_BINARY_FNS = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
    "div_floor": _div_floor, "div_trunc": _div_trunc, "remainder": _remainder, "fmod": np.fmod,
    "pow": _pow, "maximum": _maximum, "minimum": _minimum, "atan2": np.arctan2,
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
    "gt": np.greater, "ge": np.greater_equal, "logical_and": np.logical_and,
    "logical_or": np.logical_or, "logical_xor": np.logical_xor,
    "copysign": np.copysign, "logaddexp": np.logaddexp, "logaddexp2": np.logaddexp2,
    "hypot": np.hypot, "bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or,
    "bitwise_xor": np.bitwise_xor, "shift_left": _shift_left, "shift_right": _shift_right,
}


# Integer division by zero raises on the CPU, as in PyTorch (its GPU kernels give garbage).
_INTEGER_DIVISIONS = ("div_floor", "div_trunc", "remainder", "fmod")


def _make_binary(name: str):
    fn = _BINARY_FNS[name]

    integer_division = name in _INTEGER_DIVISIONS
    ufunc = isinstance(fn, np.ufunc)  # its result is a new array (or a NumPy scalar)

    def kernel(a, b, compute_dtype, out_dtype) -> Array:
        cd = _COMPUTE[compute_dtype]
        x = a._cache if type(a) is Array else None  # _value, inlined for cached views
        if x is None or (x.dtype is not cd and x.dtype != cd):
            x = _value(a, cd)
        y = b._cache if type(b) is Array else None
        if y is None or (y.dtype is not cd and y.dtype != cd):
            y = _value(b, cd)
        if integer_division and not _is_float(x) and np.any(y == 0):
            raise RuntimeError("ZeroDivisionError")  # PyTorch's CPU message, word for word
        result = _split_binary(fn, x, y) if ufunc and x.size >= _parallel.SPLIT_ELEMENTS else None
        if result is not None:
            pass  # a large pass, run over threads
        elif _QUIET_RUN is None:
            return wrap(quiet_here(fn, x, y), out_dtype)
        else:
            try:  # quiet(fn, x, y), inlined: the hottest kernel path
                result = _QUIET_RUN(fn, x, y)
            except RuntimeError as exc:
                if not in_use(exc):
                    raise
                result = quiet_here(fn, x, y)
        if type(result) is np.ndarray and (ufunc or result.base is None) and (
                result.dtype is out_dtype.numpy):
            # wrap(result, out_dtype) of a fresh result (a ufunc's always is), inlined
            # (tests/test_dispatch_fast_paths.py checks that it builds wrap's Array)
            shape = result.shape
            layout = _FRESH_LAYOUTS[out_dtype.itemsize].get(shape)
            if layout is None:
                layout = _fresh_layout(shape, out_dtype.itemsize)
            strides, byte_strides, size, one_dim = layout
            if result.strides == byte_strides and size:
                storage = _new(Storage)
                storage.buffer = result if one_dim else result.ravel()
                storage.numel = size
                storage.dtype = out_dtype
                storage.version = 0
                array = _new(Array)
                array.storage = storage
                array.shape = shape
                array.strides = strides
                array.offset = 0
                array.dtype = out_dtype
                array._cache = result
                return array
        return wrap(result, out_dtype)
    kernel.__name__ = name
    kernel.__doc__ = f"Elementwise ``{name}`` of ``a`` and ``b`` (broadcast; either may be a number)."
    return kernel


def _split_binary(ufunc: np.ufunc, x: np.ndarray, y: np.ndarray) -> "np.ndarray | None":
    """``ufunc(x, y)`` (warnings silenced) into a fresh array, in blocks of the leading axis
    on ``threads()`` threads, where ``x`` has the result's shape and that axis (``y`` has it
    too, or broadcasts along it); None where it does not apply (one thread, a broadcast
    ``x``, a short leading axis). Bit for bit the one-call result: each element alone."""
    count = split_count(x.size)
    shape = x.shape
    if count <= 1 or not shape or shape[0] < count or ufunc.nout != 1 or \
            np.broadcast_shapes(shape, y.shape) != shape:
        return None
    whole_y = y.ndim < len(shape) or y.shape[0] == 1  # broadcast along the leading axis
    out = np.empty(shape, ufunc.resolve_dtypes((x.dtype, y.dtype, None))[-1])

    def block(start: int, stop: int) -> None:
        quiet_here(ufunc, x[start:stop], y if whole_y else y[start:stop], out[start:stop])
    run_blocks(block, shape[0], count)
    return out


_relu_any_size = _make_unary("relu")


def relu(x: Array, out_dtype) -> Array:
    """Elementwise ``relu`` of ``x`` as ``out_dtype``: the unary kernel, with small inputs
    run as one ``np.maximum`` (no NumPy error state to set: maximum raises no warnings)."""
    v = x._cache
    if v is not None:
        fast = _RELU_BY_DTYPE.get(out_dtype)
        if fast is None:
            fast = _relu_by_dtype(out_dtype)
        zero = fast[1]
        if v.dtype is fast[0] and zero is not None and v.size <= _SMALL:
            result = np.maximum(zero, v)
            if type(result) is np.ndarray:
                # wrap(result, out_dtype), inlined as in the binary kernel: a ufunc's fresh
                # result, of the compute type, which is out_dtype's (halves never get here)
                shape = result.shape
                layout = _FRESH_LAYOUTS[out_dtype.itemsize].get(shape)
                if layout is None:
                    layout = _fresh_layout(shape, out_dtype.itemsize)
                strides, byte_strides, size, one_dim = layout
                if result.strides == byte_strides and size:
                    storage = _new(Storage)
                    storage.buffer = result if one_dim else result.ravel()
                    storage.numel = size
                    storage.dtype = out_dtype
                    storage.version = 0
                    array = _new(Array)
                    array.storage = storage
                    array.shape = shape
                    array.strides = strides
                    array.offset = 0
                    array.dtype = out_dtype
                    array._cache = result
                    return array
            return wrap(result, out_dtype)
    return _relu_any_size(x, out_dtype)


# a cache: framework dtype -> (its compute NumPy dtype, ``_relu_zero`` of it): the small-input
# relu's two look-ups in one dict read by the framework dtype (a NumPy dtype hashes slower)
_RELU_BY_DTYPE: dict = {}


def _relu_by_dtype(out_dtype) -> tuple:
    """``(compute type, zero)``; the zero is None (no small path) unless the compute type is
    ``out_dtype``'s own (the small path returns maximum's result as it is)."""
    compute = _COMPUTE[out_dtype]
    zero = _relu_zero(compute) if compute == out_dtype.numpy else None
    fast = _RELU_BY_DTYPE[out_dtype] = (compute, zero)
    return fast


def where(cond: Array, a, b, out_dtype) -> Array:
    """``a`` where ``cond`` else ``b``, broadcast; ``a``/``b`` may be Python scalars."""
    x, y = _value(a, out_dtype.numpy), _value(b, out_dtype.numpy)
    c = nd(cond)
    masked = _select_zero(c, x, y)
    if masked is not None:
        return wrap(masked, out_dtype)
    return _finish(select(c, x, y, x.dtype), out_dtype)


def _select_zero(cond: np.ndarray, x: np.ndarray, y: np.ndarray):
    """``select(cond, x, y)``'s bits when one branch is the scalar +0 (relu's backward,
    ``where(out <= 0, 0, g)``) on a large bool ``cond``: the other branch's bits times the
    0/1 mask, written into a fresh array of the result type (``wrap`` takes it over without
    the copy a view of an unsigned result costs). None otherwise."""
    if cond.dtype != np.bool_ or x.dtype != y.dtype or (cond.size <= _SMALL
                                                        and x.size <= _SMALL and y.size <= _SMALL):
        return None
    unsigned = _UNSIGNED.get(x.dtype.itemsize)
    if unsigned is None or x.dtype.kind not in "fiu":
        return None
    if y.ndim == 0 and not y.view(unsigned):
        bits, mask = x.view(unsigned), cond
    elif x.ndim == 0 and not x.view(unsigned):
        bits, mask = y.view(unsigned), np.logical_not(cond)
    else:
        return None
    out = np.empty(np.broadcast_shapes(cond.shape, bits.shape), x.dtype)
    count = split_count(out.size)
    if count > 1 and mask.shape == bits.shape == out.shape and mask.flags.c_contiguous \
            and bits.flags.c_contiguous:  # large passes over threads
        flat_blocks(np.multiply, (bits, mask, out.view(unsigned)), count)
    else:
        np.multiply(bits, mask, out=out.view(unsigned))
    return out


KERNELS = {name: _make_unary(name) for name in UNARY if name in _UNARY_FNS}
KERNELS.update({name: _make_predicate(name) for name in ("logical_not", "isnan")})
KERNELS.update({name: _make_binary(name) for name in BINARY})
KERNELS.update({"clamp": clamp, "where": where, "relu": relu})
