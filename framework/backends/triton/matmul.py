"""Launch wrapper for the batched matrix multiply kernel on ``cuda``."""
from __future__ import annotations

import triton

from ... import dtypes
from ..array import Array
from . import runtime
from .launch import pointer
from .memory import empty

# CUDA limits grid axes 1 and 2 to 65535 programs; larger batches launch in chunks.
_MAX_GRID_BATCH = 65535


def matmul(a: Array, b: Array) -> Array:
    """``(B, M, K) @ (B, K, N) -> (B, M, N)``: a new contiguous array of ``a``'s dtype.

    Operands may have any strides (0 for a broadcast batch); they reach the
    kernel as they are, without copies.
    """
    batch, m, k = a.shape
    n = b.shape[2]
    dtype = a.dtype
    if not dtype.is_floating_point:
        raise RuntimeError(f"\"matmul_cuda\" not implemented for '{_torch_type_name(dtype)}'")
    out = empty((batch, m, n), dtype)
    if out.numel == 0:
        return out
    kernels = runtime.kernels().matmul
    interpreter = runtime.mode() == "interpreter"
    config = kernels.default_config(m, n, k, dtype.itemsize, interpreter)
    tiles = triton.cdiv(m, config["BLOCK_M"]) * triton.cdiv(n, config["BLOCK_N"])
    acc = triton.language.float64 if dtype is dtypes.float64 else triton.language.float32
    for start in range(0, batch, _MAX_GRID_BATCH):
        count = min(_MAX_GRID_BATCH, batch - start)
        kernels.matmul_kernel[(tiles, count)](
            _batch_pointer(a, start), _batch_pointer(b, start), _batch_pointer(out, start),
            m, n, k, *a.strides, *b.strides, *out.strides,
            ACC_DTYPE=acc, INPUT_PRECISION="ieee",
            INTERPRET_BF16=interpreter and dtype is dtypes.bfloat16, **config)
    return out


def _batch_pointer(a: Array, start: int):
    """Kernel pointer to batch entry ``start`` of a 3-d array."""
    if start == 0:
        return pointer(a)
    return pointer(a.view(a.shape, a.strides, a.offset + start * a.strides[0]))


def _torch_type_name(dtype) -> str:
    return {"int32": "Int", "int64": "Long", "bool": "Bool"}.get(dtype.name, dtype.name)


KERNELS = {"matmul": matmul}
