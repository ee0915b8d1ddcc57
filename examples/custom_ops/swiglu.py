"""SwiGLU as a custom op: ``swiglu(gate, up) = silu(gate) * up`` in one elementwise kernel.

``examples::swiglu`` is the fused forward (its block size is autotuned),
``examples::swiglu_backward`` the fused backward ``(dgate, dup)``; with
``create_graph=True`` the backward is evaluated in framework ops instead, so
second derivatives are exact. The composite it replaces, ``silu(gate) * up``,
runs two kernels forward and several backward.
"""
from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

import framework
from framework import Tensor
from framework.library import TensorMeta, contiguous, custom_op, empty, pointer, triton_jit

FLOATS = (framework.float16, framework.bfloat16, framework.float32, framework.float64)


@triton_jit
def swiglu_fwd_kernel(gate_ptr, up_ptr, out_ptr, n, BLOCK: tl.constexpr, ACC: tl.constexpr):
    """One program computes ``silu(gate) * up`` for ``BLOCK`` consecutive elements
    (the last block is masked at ``n``)."""
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    a = tl.load(gate_ptr + offs, mask=mask, other=0.0).to(ACC)
    b = tl.load(up_ptr + offs, mask=mask, other=0.0).to(ACC)
    sig = 1.0 / (1.0 + tl.exp(-a))
    tl.store(out_ptr + offs, (a * sig * b).to(out_ptr.dtype.element_ty), mask=mask)


@triton_jit
def swiglu_bwd_kernel(grad_ptr, gate_ptr, up_ptr, dgate_ptr, dup_ptr, n, BLOCK: tl.constexpr,
                      ACC: tl.constexpr):
    """One program computes, for ``BLOCK`` elements, ``dup = g * silu(a)`` and
    ``dgate = g * b * sig(a) * (1 + a * (1 - sig(a)))``; masked at ``n``."""
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    g = tl.load(grad_ptr + offs, mask=mask, other=0.0).to(ACC)
    a = tl.load(gate_ptr + offs, mask=mask, other=0.0).to(ACC)
    b = tl.load(up_ptr + offs, mask=mask, other=0.0).to(ACC)
    sig = 1.0 / (1.0 + tl.exp(-a))
    dgate = g * b * sig * (1.0 + a * (1.0 - sig))
    tl.store(dgate_ptr + offs, dgate.to(dgate_ptr.dtype.element_ty), mask=mask)
    tl.store(dup_ptr + offs, (g * a * sig).to(dup_ptr.dtype.element_ty), mask=mask)


def _acc(dtype):
    return tl.float64 if dtype == framework.float64 else tl.float32


def _np_acc(array: np.ndarray):
    return np.float64 if array.dtype == np.float64 else np.float32


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-a))`` in one buffer (exp overflows to inf for very negative ``a``: 0)."""
    with np.errstate(over="ignore"):
        out = np.exp(-a)
        out += 1
        return np.reciprocal(out, out=out)


# Forward ----------------------------------------------------------------------------------------
@custom_op("examples::swiglu", mutates_args=())
def swiglu_op(gate: Tensor, up: Tensor) -> Tensor:
    """``silu(gate) * up`` (same shapes and dtypes, no broadcasting)."""


@swiglu_op.register_fake
def _(gate, up):
    if gate.dtype not in FLOATS or up.dtype != gate.dtype:
        raise TypeError(f"swiglu(): expected two tensors of one floating dtype, got {gate.dtype} "
                        f"and {up.dtype}")
    if tuple(gate.shape) != tuple(up.shape):
        raise ValueError(f"swiglu(): gate and up must have the same shape, got "
                         f"{tuple(gate.shape)} and {tuple(up.shape)}")
    return TensorMeta(gate.shape, gate.dtype)


@swiglu_op.register_kernel("cpu")
def _(gate, up):
    acc = _np_acc(gate)
    a = gate.astype(acc, copy=False)
    out = _sigmoid(a)
    out *= a
    out *= up.astype(acc, copy=False)
    return out.astype(gate.dtype, copy=False)


@swiglu_op.register_kernel("cuda")
def _(gate, up, config):
    out = empty(gate.shape, gate.dtype)
    n = gate.numel
    if n:
        block = config["BLOCK"]
        swiglu_fwd_kernel[(triton.cdiv(n, block),)](
            pointer(contiguous(gate)), pointer(contiguous(up)), pointer(out), n, BLOCK=block,
            ACC=_acc(gate.dtype), num_warps=config["num_warps"])
    return out


swiglu_op.register_autotune(
    [{"BLOCK": b, "num_warps": w} for b in (256, 1024, 4096) for w in (4, 8)],
    key=lambda gate, up: (gate.dtype.name, "flat", {"n": gate.numel}),
    heuristic=lambda problem: {"BLOCK": 1024, "num_warps": 4})


# Backward ---------------------------------------------------------------------------------------
@custom_op("examples::swiglu_backward", mutates_args=(), differentiable=False)
def swiglu_backward_op(grad: Tensor, gate: Tensor, up: Tensor) -> tuple:
    """``(dgate, dup)`` of ``examples::swiglu`` (not itself differentiable)."""


@swiglu_backward_op.register_fake
def _(grad, gate, up):
    return TensorMeta(gate.shape, gate.dtype), TensorMeta(up.shape, up.dtype)


@swiglu_backward_op.register_kernel("cpu")
def _(grad, gate, up):
    acc = _np_acc(gate)
    g, a, b = (t.astype(acc, copy=False) for t in (grad, gate, up))
    sig = _sigmoid(a)
    dup = g * a
    dup *= sig                       # g * silu(a)
    dgate = 1 - sig
    dgate *= a
    dgate += 1
    dgate *= sig
    dgate *= b
    dgate *= g                       # g * b * sig * (1 + a * (1 - sig))
    return dgate.astype(gate.dtype, copy=False), dup.astype(up.dtype, copy=False)


@swiglu_backward_op.register_kernel("cuda")
def _(grad, gate, up):
    dgate, dup = empty(gate.shape, gate.dtype), empty(up.shape, up.dtype)
    n = gate.numel
    if n:
        swiglu_bwd_kernel[(triton.cdiv(n, 1024),)](
            pointer(contiguous(grad)), pointer(contiguous(gate)), pointer(contiguous(up)),
            pointer(dgate), pointer(dup), n, BLOCK=1024, ACC=_acc(gate.dtype))
    return dgate, dup


def _setup_context(ctx, inputs, output):
    ctx.save_for_backward(*inputs)


def _backward(ctx, grad):
    gate, up = ctx.saved_tensors
    if framework.is_grad_enabled():  # create_graph=True: differentiable framework ops
        sig = framework.sigmoid(gate)
        dgate, dup = grad * up * sig * (1 + gate * (1 - sig)), grad * gate * sig
    else:
        dgate, dup = swiglu_backward_op(grad, gate, up)
    needs = ctx.needs_input_grad
    return (dgate if needs[0] else None), (dup if needs[1] else None)


swiglu_op.register_autograd(_backward, setup_context=_setup_context)


def swiglu(gate: Tensor, up: Tensor) -> Tensor:
    """``silu(gate) * up`` in one fused kernel (forward and backward)."""
    return swiglu_op(gate, up)


def swiglu_composite(gate: Tensor, up: Tensor) -> Tensor:
    """The same function in framework ops: the bench baseline."""
    return framework.nn.functional.silu(gate) * up
