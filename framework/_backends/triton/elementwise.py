"""Launch wrappers: elementwise kernels on ``cuda`` (``triton_kernels.elementwise``).

Every op launches one of three kernels with the op name as a constexpr:
``unary_kernel``, ``binary_kernel`` or ``where_kernel``. Operands that are
contiguous with the output's shape take the flat-index fast path; anything
broadcast or strided takes the 6-d strided path. Outputs are fresh and
contiguous.
"""
from __future__ import annotations

import functools

import numpy as np

from ... import dtypes
from ..array import Array
from ..contract import BINARY, UNARY
from . import runtime
from .launch import all_contiguous_same_shape, grid_1d, pack_strided, pointer
from .memory import empty

_NO_STRIDES = (0,) * 6
_NO_SIZES = (1,) * 5


@functools.lru_cache(maxsize=None)
def _launch_config() -> tuple:
    """``(BLOCK, num_warps, int32 limit)`` from ``triton_kernels.elementwise.ELEMENTWISE_CONFIGS``
    (read at the first launch: importing the kernels fixes the interpreter mode). Below the
    limit, flat indices of the last (partial) block stay below 2**31 (``INDEX32``)."""
    config = runtime.kernels().elementwise.ELEMENTWISE_CONFIGS[0]
    return config["BLOCK"], config["num_warps"], 2 ** 31 - config["BLOCK"]


@functools.lru_cache(maxsize=None)
def _tl_dtype(name: str):
    import triton.language as tl
    return {"bool": tl.int1, "uint8": tl.uint8, "int8": tl.int8, "int16": tl.int16,
            "int32": tl.int32, "int64": tl.int64, "float16": tl.float16,
            "bfloat16": tl.bfloat16, "float32": tl.float32, "float64": tl.float64}[name]


def _compute(dtype):
    """The Triton type kernels compute in: float32 for halves, int32 for bool, else ``dtype``."""
    if dtype is dtypes.float16 or dtype is dtypes.bfloat16:
        return _tl_dtype("float32")
    if dtype is dtypes.bool:
        return _tl_dtype("int32")
    return _tl_dtype(dtype.name)


def _broadcast_shape(*shapes) -> tuple:
    ndim = max(len(s) for s in shapes)
    out = [1] * ndim
    for shape in shapes:
        for i, size in enumerate(shape, ndim - len(shape)):
            if size != 1:
                out[i] = size
    return tuple(out)


_POINTER, _VALUE, _F64_BITS = 0, 1, 2  # triton_kernels.elementwise operand kinds


def _scalar_arg(value) -> tuple:
    """``(kernel argument, kind)`` for a Python scalar operand.

    Triton types a Python float argument float32, so a float travels exactly
    as its int64 bit pattern and the kernel rounds it once to the compute type
    (docs/architecture.md, "Numerics of compiled kernels").
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value), _VALUE
    if isinstance(value, (int, np.integer)):
        return int(value), _VALUE
    return int(np.array(float(value), dtype=np.float64).view(np.int64)), _F64_BITS


def _operand_arg(operand) -> tuple:
    """``(kernel argument, kind)`` for an ``Array`` or a Python scalar."""
    if isinstance(operand, Array):
        return pointer(operand), _POINTER
    return _scalar_arg(operand)


def _launch_args(shape: tuple, operands: list):
    """``(strided, sizes, [strides6 per operand])`` for array operands; scalars get zeros."""
    arrays = [op for op in operands if isinstance(op, Array)]
    if all_contiguous_same_shape(shape, *arrays):
        return False, _NO_SIZES, [_NO_STRIDES] * len(operands)
    sizes, packed = pack_strided(shape, *arrays)
    packed = iter(packed)
    strides = [next(packed) if isinstance(op, Array) else _NO_STRIDES for op in operands]
    return True, sizes, strides


def _quiet():
    """Silence NumPy's floating-point warnings under the interpreter (IEEE inf/NaN are intended)."""
    return np.errstate(all="ignore")


# -- unary --------------------------------------------------------------------
def _unary(op: str, x: Array, out_dtype, compute=None, p0=0.0, p1=0.0, kernel=None) -> Array:
    """Launch ``kernel`` (default ``unary_kernel``; the activation family's
    ``activation_unary_kernel`` takes the same arguments) for ``op``."""
    out = empty(x.shape, out_dtype)
    n = out.numel
    if n == 0:
        return out
    strided, sizes, (strides,) = _launch_args(x.shape, [x])
    compute = compute if compute is not None else _compute(out_dtype)
    block, warps, int32_limit = _launch_config()
    with _quiet():
        kernel = kernel or runtime.kernels().elementwise.unary_kernel
        kernel[grid_1d(n, block)](
            pointer(out), pointer(x), n, *sizes, *strides, p0, p1,
            OP=op, COMPUTE=compute, STRIDED=strided, INDEX32=n < int32_limit, BLOCK=block,
            num_warps=warps)
    return out


def _make_unary(op: str):
    def kernel(x: Array, out_dtype) -> Array:
        return _unary(op, x, out_dtype)
    kernel.__name__ = op
    kernel.__doc__ = f"Elementwise ``{op}`` of ``x`` as ``out_dtype`` (float32 math for halves)."
    return kernel


def _input_compute(x: Array):
    """Compute type for ops whose output type says nothing about the math (bool outputs)."""
    if x.dtype is dtypes.bool:
        return _tl_dtype("int32")
    return _compute(x.dtype)


def logical_not(x: Array, out_dtype) -> Array:
    """``x == 0`` (bool output)."""
    return _unary("logical_not", x, out_dtype, compute=_input_compute(x))


def isnan(x: Array, out_dtype) -> Array:
    """``x != x`` (bool output)."""
    return _unary("isnan", x, out_dtype, compute=_input_compute(x))


def _bound(value, out_dtype):
    if value is None:
        return 0
    if out_dtype.is_floating_point:
        return float(value)
    return int(value)


def _exact_in_kernel_arg(value) -> bool:
    """Whether ``unary_kernel``'s float64 parameters hold the clamp bound exactly."""
    return value is None or isinstance(value, (float, np.floating)) or abs(int(value)) <= 2 ** 53


def clamp(x: Array, lo, hi, out_dtype) -> Array:
    """``min(max(x, lo), hi)`` with scalar bounds (either may be None); NaN passes through."""
    if not (_exact_in_kernel_arg(lo) and _exact_in_kernel_arg(hi)):
        # integer bounds a float64 kernel parameter would round: go through maximum/minimum
        if lo is not None:
            x = binary("maximum", x, lo, out_dtype, out_dtype)
        if hi is not None:
            x = binary("minimum", x, hi, out_dtype, out_dtype)
        return x
    op = "clamp" if (lo is not None and hi is not None) else ("clamp_min" if lo is not None
                                                              else "clamp_max")
    return _unary(op, x, out_dtype, p0=_bound(lo, out_dtype), p1=_bound(hi, out_dtype))


# -- binary ---------------------------------------------------------------------
def binary(op: str, a, b, compute_dtype, out_dtype) -> Array:
    """Launch the binary kernel for ``op``: ``a``/``b`` are Arrays or Python scalars."""
    shape = _broadcast_shape(*(v.shape for v in (a, b) if isinstance(v, Array)))
    out = empty(shape, out_dtype)
    n = out.numel
    if n == 0:
        return out
    strided, sizes, (sa, sb) = _launch_args(shape, [a, b])
    a_arg, a_kind = _operand_arg(a)
    b_arg, b_kind = _operand_arg(b)
    block, warps, int32_limit = _launch_config()
    with _quiet():
        runtime.kernels().elementwise.binary_kernel[grid_1d(n, block)](
            pointer(out), a_arg, b_arg, n, *sizes, *sa, *sb,
            OP=op, COMPUTE=_compute(compute_dtype), A_KIND=a_kind, B_KIND=b_kind,
            STRIDED=strided, INDEX32=n < int32_limit, BLOCK=block, num_warps=warps)
    return out


def _make_binary(op: str):
    def kernel(a, b, compute_dtype, out_dtype) -> Array:
        return binary(op, a, b, compute_dtype, out_dtype)
    kernel.__name__ = op
    kernel.__doc__ = f"Elementwise ``{op}`` of ``a`` and ``b`` (broadcast; either may be a scalar)."
    return kernel


def pow(a, b, compute_dtype, out_dtype) -> Array:  # noqa: A001 - contract name
    """``a ** b``; a float ``x ** 0.5`` uses the IEEE square root."""
    if isinstance(a, Array) and not isinstance(b, Array) and compute_dtype.is_floating_point \
            and b == 0.5:
        return _unary("sqrt", a, out_dtype, compute=_compute(compute_dtype))
    return binary("pow", a, b, compute_dtype, out_dtype)


# -- where --------------------------------------------------------------------------
def where(cond: Array, a, b, out_dtype) -> Array:
    """``a`` where ``cond`` else ``b``, broadcast; ``a``/``b`` may be Python scalars."""
    shape = _broadcast_shape(cond.shape, *(v.shape for v in (a, b) if isinstance(v, Array)))
    out = empty(shape, out_dtype)
    n = out.numel
    if n == 0:
        return out
    strided, sizes, (sc, sa, sb) = _launch_args(shape, [cond, a, b])
    a_arg, a_kind = _operand_arg(a)
    b_arg, b_kind = _operand_arg(b)
    block, warps, int32_limit = _launch_config()
    runtime.kernels().elementwise.where_kernel[grid_1d(n, block)](
        pointer(out), pointer(cond), a_arg, b_arg, n, *sizes, *sc, *sa, *sb,
        COMPUTE=_tl_dtype(out_dtype.name), A_KIND=a_kind, B_KIND=b_kind, STRIDED=strided,
        INDEX32=n < int32_limit, BLOCK=block, num_warps=warps)
    return out


KERNELS = {name: _make_unary(name) for name in UNARY}
KERNELS.update({name: _make_binary(name) for name in BINARY})
KERNELS.update({"logical_not": logical_not, "isnan": isnan, "pow": pow,
                "where": where, "clamp": clamp})
