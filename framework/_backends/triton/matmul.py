"""Launch wrapper for the batched matrix multiply kernel on ``cuda``, with autotuned configs.

``matmul(a, b)`` asks ``framework.autotune.choose`` for the config of the
problem (M, N, K, batch, dtype, operand layouts): the cached best for this GPU,
else ``triton_kernels.matmul.default_config``. A config with ``SPLIT_K > 1``
writes fp32 partial tiles to a workspace that the reduction kernel then sums.
float32 inputs use TF32 tensor cores unless
``framework.set_float32_matmul_precision('highest')``.
"""
from __future__ import annotations

import functools

import triton

from ... import autotune, dtypes
from ...autotune import Tunable, source_hash
from ..array import Array
from ..precision import tf32_enabled
from . import runtime
from .launch import pointer
from .memory import empty

# CUDA limits grid axes 1 and 2 to 65535 programs; larger batches launch in chunks.
_MAX_GRID_BATCH = 65535
_DTYPE_NAMES = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32", "float64": "fp64"}


def matmul(a: Array, b: Array) -> Array:
    """``(B, M, K) @ (B, K, N) -> (B, M, N)``: a new contiguous array of ``a``'s dtype.

    Operands may have any strides (0 for a broadcast batch); they reach the
    kernel as they are, without copies.
    """
    dtype = a.dtype
    if not dtype.is_floating_point:
        raise RuntimeError(f"\"matmul_cuda\" not implemented for '{dtypes.scalar_type_name(dtype)}'")
    batch, m, k = a.shape
    n = b.shape[2]
    if batch * m * n == 0:
        return empty((batch, m, n), dtype)
    config = autotune.choose(MATMUL, _problem(a, b))
    return launch(a, b, config)


def matmul_epilogue(a: Array, b: Array, bias, activation, residual, keep_preact: bool) -> tuple:
    """``act(a @ b + bias) + residual`` in one launch; also ``a @ b + bias`` if ``keep_preact``.

    ``bias`` is an (N,) array or None; ``residual`` a (B, M, N) view (any strides) or None;
    ``activation`` one of None, 'relu', 'gelu', 'gelu_tanh', 'silu'. Returns ``(out, preact)``.
    """
    dtype = a.dtype
    if not dtype.is_floating_point:
        raise RuntimeError(f"\"addmm_cuda\" not implemented for '{dtypes.scalar_type_name(dtype)}'")
    batch, m, _ = a.shape
    n = b.shape[2]
    if batch * m * n == 0:
        empty_out = empty((batch, m, n), dtype)
        return empty_out, (empty((batch, m, n), dtype) if keep_preact else None)
    config = autotune.choose(MATMUL, _problem(a, b))
    if config.get("SPLIT_K", 1) > 1:
        return _unfused_epilogue(launch(a, b, config), bias, activation, residual, keep_preact)
    if activation is not None and runtime.mode() == "gpu":
        config = runtime.kernels().matmul.epilogue_config(config)
    preact = empty((batch, m, n), dtype) if keep_preact and activation is not None else None
    out = launch(a, b, config, bias=bias, activation=activation, residual=residual,
                 preact=preact)
    if keep_preact and preact is None:
        preact = out
    return out, preact


def _unfused_epilogue(z: Array, bias, activation, residual, keep_preact: bool) -> tuple:
    """The epilogue as separate elementwise launches (after a split-K product)."""
    from .. import load
    from . import elementwise
    if bias is not None:
        z = elementwise.KERNELS["add"](z, bias, _compute(z.dtype), z.dtype)
    out = z if activation is None else load("triton").kernels[activation](z, z.dtype)
    if residual is not None:
        out = elementwise.KERNELS["add"](out, residual, _compute(z.dtype), z.dtype)
    return out, (z if keep_preact else None)


def _compute(dtype):
    return dtypes.float32 if dtype in (dtypes.float16, dtypes.bfloat16) else dtype


def launch(a: Array, b: Array, config: dict, bias=None, activation=None, residual=None,
           preact=None) -> Array:
    """Run the matmul kernel with an explicit ``config`` (the tuner and tests call this).

    The epilogue arguments are for ``SPLIT_K == 1`` configs only.
    """
    batch, m, k = a.shape
    n = b.shape[2]
    dtype = a.dtype
    out = empty((batch, m, n), dtype)
    if out.numel == 0:
        return out
    epilogue = _epilogue_args(bias, activation, residual, preact)
    split = config.get("SPLIT_K", 1)
    if type(split) is not int or split < 1:  # SPLIT_K 0 would launch no program: all zeros
        raise ValueError(f"matmul: config SPLIT_K must be a positive integer, got {split!r}")
    target = out if split == 1 else empty((split, batch, m, n), dtypes.float32)
    split_stride = 0 if split == 1 else target.strides[0]
    kernel_strides = out.strides if split == 1 else target.strides[1:]
    kernels = runtime.kernels().matmul
    interpreter = runtime.mode() == "interpreter"
    tiles = triton.cdiv(m, config["BLOCK_M"]) * triton.cdiv(n, config["BLOCK_N"])
    acc = triton.language.float64 if dtype is dtypes.float64 else triton.language.float32
    precision = "tf32" if dtype is dtypes.float32 and tf32_enabled() else "ieee"
    for start in range(0, batch, _MAX_GRID_BATCH):
        count = min(_MAX_GRID_BATCH, batch - start)
        kernels.matmul_kernel[(tiles, count, split)](
            _batch_pointer(a, start), _batch_pointer(b, start),
            _batch_pointer(target if split == 1 else _split_view(target), start),
            m, n, k, *a.strides, *b.strides, *kernel_strides, split_stride,
            ACC_DTYPE=acc, INPUT_PRECISION=precision,
            INTERPRET_BF16=interpreter and dtype is dtypes.bfloat16, **config,
            **_batch_epilogue(epilogue, start))
    if split == 1:
        return out
    from .reduce import sum as reduce_sum
    return reduce_sum(target, (0,), dtype)


def _epilogue_args(bias, activation, residual, preact) -> dict:
    """Kernel keyword arguments of the fused epilogue (empty when there is none)."""
    args = {}
    if bias is not None:
        args.update(bias_ptr=bias, HAS_BIAS=True)
    if activation is not None:
        args["ACTIVATION"] = activation
    if residual is not None:
        args.update(res_ptr=residual, HAS_RESIDUAL=True, stride_rb=residual.strides[0],
                    stride_rm=residual.strides[1], stride_rn=residual.strides[2])
    if preact is not None:
        args.update(z_ptr=preact, STORE_PREACT=True)
    return args


def _batch_epilogue(epilogue: dict, start: int) -> dict:
    """The epilogue's array arguments as kernel pointers at batch entry ``start``."""
    args = dict(epilogue)
    for name in ("res_ptr", "z_ptr"):
        if name in args:
            args[name] = _batch_pointer(args[name], start)
    if "bias_ptr" in args:
        args["bias_ptr"] = pointer(args["bias_ptr"])
    return args


def _split_view(workspace: Array) -> Array:
    """The workspace's first split as a (B, M, N) array (the kernel adds s * stride_cs)."""
    return workspace.view(workspace.shape[1:], workspace.strides[1:], workspace.offset)


def _batch_pointer(a: Array, start: int):
    """Kernel pointer to batch entry ``start`` of a 3-d array."""
    if start == 0:
        return pointer(a)
    return pointer(a.view(a.shape, a.strides, a.offset + start * a.strides[0]))


# -- autotuning -------------------------------------------------------------------------------
def _layout(a: Array, b: Array) -> str:
    """``N`` for a row-major operand (unit stride along the contracted/last dim), else ``T``."""
    a_kind = "N" if a.strides[2] == 1 else "T"
    b_kind = "N" if b.strides[2] == 1 else "T"
    return a_kind + b_kind


def _problem(a: Array, b: Array) -> dict:
    batch, m, k = a.shape
    dtype = _DTYPE_NAMES[a.dtype.name]
    if dtype == "fp32" and tf32_enabled():
        dtype = "tf32"
    return {"m": m, "n": b.shape[2], "k": k, "batch": batch, "dtype": dtype,
            "layout": _layout(a, b)}


def _itemsize(dtype: str) -> int:
    return {"fp16": 2, "bf16": 2, "fp32": 4, "tf32": 4, "fp64": 8}[dtype]


def _heuristic(problem: dict) -> dict:
    from .tuning import describe
    kernels = runtime.kernels().matmul
    return kernels.default_config(problem["m"], problem["n"], problem["k"],
                                  _itemsize(problem["dtype"]),
                                  runtime.mode() == "interpreter",
                                  tensor_cores=problem["dtype"] != "fp32",
                                  batch=problem.get("batch", 1), sms=describe()["sms"])


def _configs(problem: dict) -> list:
    from .tuning import shared_memory_per_block
    kernels = runtime.kernels().matmul
    if runtime.mode() == "interpreter":
        # dry runs: a few small tiles, each one program per problem at test shapes
        return [dict(_heuristic(problem), BLOCK_K=bk, SPLIT_K=split)
                for bk, split in ((16, 1), (32, 1), (16, 2))]
    return kernels.config_space(_itemsize(problem["dtype"]), shared_memory_per_block(),
                                problem["dtype"] not in ("fp32", "fp64"))


def _heuristic_configs(problem: dict) -> list:
    """GPU heuristic configs for the problem's dtype (entries tuned on a neighbour problem)."""
    if runtime.mode() == "interpreter":
        return []
    return runtime.kernels().matmul.heuristic_configs(_itemsize(problem["dtype"]),
                                                      problem["dtype"] != "fp32")


def _key_fields(problem: dict) -> tuple:
    shape = {"M": problem["m"], "N": problem["n"], "K": problem["k"]}
    if problem.get("batch", 1) > 1:
        shape["B"] = problem["batch"]
    return problem["dtype"], problem["layout"], shape


def _runner(problem: dict):
    """Allocate operands for ``problem`` once; return ``run(config)``."""
    from . import random as triton_random
    dtype = {"fp16": dtypes.float16, "bf16": dtypes.bfloat16, "fp32": dtypes.float32,
             "tf32": dtypes.float32, "fp64": dtypes.float64}[problem["dtype"]]
    batch, m, n, k = problem.get("batch", 1), problem["m"], problem["n"], problem["k"]
    a_shape = (batch, m, k) if problem["layout"][0] == "N" else (batch, k, m)
    b_shape = (batch, k, n) if problem["layout"][1] == "N" else (batch, n, k)
    a = triton_random.randn(a_shape, dtype, 1, 0)
    b = triton_random.randn(b_shape, dtype, 2, 0)
    if problem["layout"][0] == "T":
        a = a.view((batch, m, k), (a.strides[0], 1, m), a.offset)
    if problem["layout"][1] == "T":
        b = b.view((batch, k, n), (b.strides[0], 1, k), b.offset)

    def run(config: dict) -> None:
        launch(a, b, config)

    return run


@functools.lru_cache(maxsize=None)
def _kernel_hash() -> str:
    from .tuning import REFERENCE_SHARED_MEMORY
    kernels = runtime.kernels().matmul
    return source_hash(kernels.matmul_kernel, [kernels.MATMUL_CONFIGS, kernels.config_space(
        2, REFERENCE_SHARED_MEMORY, True)])


MATMUL = Tunable(name="matmul", kernel_hash=_kernel_hash, configs=_configs,
                  heuristic=_heuristic, key_fields=_key_fields, runner=_runner,
                  also_valid=_heuristic_configs)

def mm(a: Array, b: Array, bias) -> Array:
    """``a @ b`` (+ ``bias``) of 2-D arrays: ``matmul`` (``matmul_epilogue`` with the bias) on
    their one-matrix batch views, the (1, M, N) result viewed as (M, N)."""
    a3 = a.view((1,) + tuple(a.shape), (0,) + tuple(a.strides), a.offset)
    b3 = b.view((1,) + tuple(b.shape), (0,) + tuple(b.strides), b.offset)
    if bias is None:
        out = matmul(a3, b3)
    else:
        out, _ = matmul_epilogue(a3, b3, bias, None, None, False)
    return out.view(tuple(out.shape[1:]), tuple(out.strides[1:]), out.offset)


KERNELS = {"matmul": matmul, "matmul_epilogue": matmul_epilogue, "mm": mm}
