"""Muon (``torch.optim.Muon``): momentum, then a Newton-Schulz orthogonalization of each 2-D
update.

The update follows ``torch/optim/_muon.py`` (``_single_tensor_muon``) op for op, with plain
framework ops (as ``Adafactor``'s and ``LBFGS``'s): the momentum buffer is an exponential
average (``buf.lerp_(grad, 1 - momentum)``), the Nesterov update ``grad.lerp(buf, momentum)``,
then ``ns_steps`` quintic Newton-Schulz iterations in bfloat16, decoupled weight decay
``param *= 1 - lr * weight_decay`` and ``param -= adjusted_lr * update``.

Dtypes are torch's: the Newton-Schulz iteration always runs on a bfloat16 copy of the update,
whatever the parameter's dtype (float64 included), and the bfloat16 result is added to the
parameter in the parameter's dtype; the momentum buffer keeps the gradient's dtype. Torch's
side effect for bfloat16 parameters with ``nesterov=False`` is kept too (trajectories match):
the update is then the momentum buffer itself, its "bfloat16 copy" is the buffer, and the
in-place normalization by its Frobenius norm rescales the buffer. Where framework's ops
round otherwise than torch's, and what differs:

- torch's bfloat16 ``addmm`` accumulates in float32, adds ``beta * input`` with a fused
  multiply-add and rounds to bfloat16 once; framework's bfloat16 ``addmm`` rounds the product
  to bfloat16 before scaling and adding. ``_addmm_bf16`` computes it as torch's CPU kernel
  does; only the float32 summation order of the product can differ from torch's gemm (on
  200 random matrices up to 32 x 8 the Newton-Schulz results are equal to the bit).
- framework's bfloat16 ``norm`` rounds the sum of squares to bfloat16 before the square
  root; torch's rounds only the norm. ``_norm_bf16`` computes it as torch does.
- framework's ``add_(other, alpha=...)`` scales ``other`` in its own dtype; torch scales it in
  the result's. The bfloat16 update is therefore upcast to the parameter's dtype (exactly)
  before ``param.add_(update, alpha=-adjusted_lr)``.
- framework's ``lerp`` can differ from torch's vectorized CPU ``lerp`` (a fused
  multiply-add) in the last bit, so the momentum buffer may differ from torch's by one unit
  in the last place, which can now and then move a bfloat16 rounding of the update.
- A tensor ``lr`` is read as a Python float (torch keeps a 0-d tensor and computes
  ``1 - lr * weight_decay`` and the adjusted step in the tensor's dtype).
- framework has no sparse tensors, so torch's "does not support sparse gradients" check has
  nothing to refuse.
"""
from __future__ import annotations

import math

from ..dtypes import bfloat16, float32, float64
from ..ops.pool import _float32
from ..tensor import Tensor
from ._state import params_with_grad
from .optimizer import Optimizer

__all__ = ["Muon"]

# torch's constants (from Keller Jordan's Muon post, https://kellerjordan.github.io/posts/muon/)
EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.7750
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5

_ADJUST_LR_FNS = ("original", "match_rms_adamw")


class Muon(Optimizer):
    """Muon for 2-D parameters (the matrices of hidden layers); optimize biases, embeddings
    and other parameters with a standard method such as ``AdamW``.

    ``adjust_lr_fn``: ``None`` or ``"original"`` scales ``lr`` by ``sqrt(max(1, A / B))``
    (Keller Jordan's), ``"match_rms_adamw"`` by ``0.2 * sqrt(max(A, B))`` (Moonshot's: reuse
    AdamW's lr and weight decay), for an ``A x B`` parameter. Torch's signature, defaults,
    state keys (``momentum_buffer``) and error messages; the differences from torch are
    listed in the module docstring."""

    def __init__(self, params, lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple = (DEFAULT_A, DEFAULT_B, DEFAULT_C), eps: float = EPS,
                 ns_steps: int = DEFAULT_NS_STEPS, adjust_lr_fn: str | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in _ADJUST_LR_FNS:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                        adjust_lr_fn=adjust_lr_fn)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                if param.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {param.size()}")

    def _init_group(self, group: dict) -> tuple:
        """The group's parameters with a gradient and their momentum buffers (made on first
        use: zeros like the gradient); complex parameters are refused before any update."""
        params, buffers = [], []
        for param in params_with_grad(group):
            if param.is_complex():
                raise RuntimeError("Muon does not support complex parameters")
            state = self.state[param]
            if "momentum_buffer" not in state:
                grad = param.grad
                state["momentum_buffer"] = grad.new_zeros(tuple(grad.shape))
            params.append(param)
            buffers.append(state["momentum_buffer"])
        return params, buffers

    def _update_group(self, group: dict) -> None:
        params, buffers = self._init_group(group)
        lr = float(group["lr"]) if isinstance(group["lr"], Tensor) else group["lr"]
        for param, buf in zip(params, buffers):
            _muon_update(param, buf, group, lr)


def _muon_update(param: Tensor, buf: Tensor, group: dict, lr: float) -> None:
    """One Muon step of ``param`` (``_single_tensor_muon``'s loop body)."""
    grad = param.grad
    if grad.ndim != 2:
        raise ValueError("Param gradient must be a 2D matrix")
    momentum = group["momentum"]
    buf.lerp_(grad, 1 - momentum)
    update = grad.lerp(buf, momentum) if group["nesterov"] else buf
    update = _zeropower_via_newtonschulz(update, group["ns_coefficients"], group["ns_steps"],
                                         group["eps"])
    adjusted_lr = _adjust_lr(lr, group["adjust_lr_fn"], tuple(param.shape))
    param.mul_(1 - lr * group["weight_decay"])
    # torch scales the bfloat16 update in the parameter's dtype; framework's add_ would
    # scale it in bfloat16 first, so it is upcast (exactly) before.
    param.add_(update.to(param.dtype), alpha=-adjusted_lr)


def _zeropower_via_newtonschulz(grad: Tensor, ns_coefficients: tuple, ns_steps: int,
                                eps: float) -> Tensor:
    """The quintic Newton-Schulz iteration towards ``U V^T`` (``G = U S V^T``), in bfloat16.

    The coefficients maximize the slope at zero rather than converge: the result is about
    ``U S' V^T`` with ``S'`` in roughly (0.5, 1.5), which does not hurt training (torch's
    docstring). A tall matrix is iterated transposed, so the Gram matrix is the small one.
    Returns a bfloat16 matrix of ``grad``'s shape.
    """
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    tall = grad.size(0) > grad.size(1)
    ortho = grad.to(bfloat16)
    if tall:
        ortho = ortho.T
    # Spectral norm at most 1. In place, as torch: for a bfloat16 ``grad`` the copy is
    # ``grad`` itself, so a bfloat16 parameter's momentum buffer (nesterov=False) is scaled too.
    ortho.div_(_norm_bf16(ortho).clamp(min=eps))
    for _ in range(ns_steps):
        gram = _addmm_bf16(None, ortho, ortho.T)
        gram_update = _addmm_bf16(gram, gram, gram, beta=b, alpha=c)
        ortho = _addmm_bf16(ortho, gram_update, ortho, beta=a)
    return ortho.T if tall else ortho


def _addmm_bf16(input: Tensor | None, mat1: Tensor, mat2: Tensor, beta: float = 1.0,
                alpha: float = 1.0) -> Tensor:
    """torch's bfloat16 ``addmm`` (``mm`` when ``input`` is None) on the CPU: the product
    accumulated in float32 and scaled by ``alpha`` there, ``beta * input`` added to it with one
    rounding (a fused multiply-add, ``beta`` rounded to float32), the sum rounded to bfloat16.

    The float32 copies of bfloat16 operands are exact, and so are their products. The fused
    multiply-add runs in float64, where ``beta * input`` (8 by 24 significant bits) is exact."""
    product = mat1.to(float32) @ mat2.to(float32)
    if alpha != 1:
        product = product * alpha
    if input is None:
        return product.to(bfloat16)
    fused = input.to(float64) * _float32(beta) + product.to(float64)
    return fused.to(float32).to(bfloat16)


def _norm_bf16(matrix: Tensor) -> Tensor:
    """torch's bfloat16 Frobenius norm: summed and square-rooted in float32, rounded to
    bfloat16 once (framework's bfloat16 ``norm`` rounds the sum of squares first)."""
    return matrix.to(float32).norm().to(bfloat16)


def _adjust_lr(lr: float, adjust_lr_fn: str | None, param_shape: tuple) -> float:
    """``lr`` scaled for an ``A x B`` matrix so that updates have a consistent RMS across
    shapes: ``"original"`` (and None) ``sqrt(max(1, A / B))``, ``"match_rms_adamw"``
    ``0.2 * sqrt(max(A, B))``."""
    rows, cols = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        ratio = 0.2 * math.sqrt(max(rows, cols))
    else:
        ratio = 1.0
    return lr * ratio
