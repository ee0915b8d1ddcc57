"""Softmax and log-softmax along one dim.

One fused kernel pair serves the family (``framework/_backends/contract.py``,
``SOFTMAX``): ``softmax`` / ``softmax_backward``, one row (the elements along
``dim``) per program; the result is contiguous, like PyTorch's. The backward
kernel runs when no graph is being built; with ``create_graph=True`` the same
gradient is evaluated in framework ops, so gradients of gradients (e.g.
gradient penalties through softmax) are exact.
"""
from __future__ import annotations

import numbers
import warnings

from ..amp import full_precision
from .. import dtypes
from ..autograd.function import Function
from ..autograd.grad_mode import _state as _grad_state
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..tensor import Tensor
from . import unary
from . import reduce as red
from ._pointwise import _tracked
from ._util import backend, check_tensor, normalize_dim, wrap
from .registry import register

__all__ = ["softmax", "log_softmax"]
FUNCTIONAL = ["softmax", "log_softmax", "gumbel_softmax"]
TENSOR_METHODS = ("softmax", "log_softmax")  # t.name(...) calls name(t, ...)


# softmax / log_softmax --------------------------------------------------------------------
class _Softmax(Function):
    """Softmax (``log``: log-softmax) of ``x`` along ``dim``; saves its output."""

    @staticmethod
    def forward(ctx, x, dim, log):
        ctx.dim, ctx.log = dim, log
        ctx.node_name = "LogSoftmaxBackward0" if log else "SoftmaxBackward0"
        out = wrap(backend(x).softmax(x._a, dim, log), x._device)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        dim = ctx.dim
        if is_grad_enabled():  # create_graph: differentiable formula in framework ops
            if ctx.log:
                return grad - unary.exp(out) * red.sum(grad, dim, keepdim=True), None, None
            return out * (grad - red.sum(grad * out, dim, keepdim=True)), None, None
        dx = backend(grad).softmax_backward(grad._a, out._a, dim, ctx.log)
        return wrap(dx, grad._device), None, None


def _legacy_softmax_dim(op: str, ndim: int) -> int:
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call to "
                  "include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _softmax(op: str, input: Tensor, dim, stacklevel, dtype, log: bool) -> Tensor:
    if type(input) is Tensor and type(dim) is int and dtype is None and type(stacklevel) is int:
        # the common call (an int dim of a floating tensor with dims, nothing to record):
        # the kernel call the checks below end in for it
        a = input._a
        ndim = len(a.shape)
        if (ndim and -ndim <= dim < ndim and a.dtype.is_floating_point
                and not (_grad_state.enabled and _tracked(input))):
            return wrap(backend(input).softmax(a, dim % ndim, log), input._device)
    check_tensor(op, "input", input)
    if isinstance(stacklevel, dtypes.dtype) and dtype is None:
        dtype = stacklevel  # torch.softmax(input, dim, dtype): dtype given by position
    if dim is None:
        dim = _legacy_softmax_dim(op, input.ndim)
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"{op}(): argument 'dim' must be int, not {type(dim).__name__}")
    dim = normalize_dim(op, int(dim), input.ndim)
    if dtype is not None:
        if not isinstance(dtype, dtypes.dtype):
            raise TypeError(f"{op}(): argument 'dtype' must be a framework dtype, not "
                            f"{type(dtype).__name__}")
        input = input.to(dtype)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating point input (or dtype=), got "
                           f"{input.dtype}")
    if input.ndim == 0:
        return _Softmax.apply(input.reshape(1), 0, log).reshape(())
    if not (_grad_state.enabled and _tracked(input)):
        # nothing to record: _Softmax.forward's kernel call, without the Function
        return wrap(backend(input).softmax(input._a, dim, log), input._device)
    return _Softmax.apply(input, dim, log)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (computed stably; a row of -inf gives NaN).

    ``dtype`` casts the input first (as the third positional argument too, the
    ``torch.softmax(input, dim, dtype)`` form). ``dim=None`` picks PyTorch's legacy
    default (0 for 0-, 1- and 3-d inputs, else 1) with a deprecation warning.
    """
    return _softmax("softmax", input, dim, _stacklevel, dtype, False)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim`` (same arguments as ``softmax``)."""
    return _softmax("log_softmax", input, dim, _stacklevel, dtype, True)


register("softmax", "softmax", ("softmax", "softmax_backward"))
register("log_softmax", "softmax", ("softmax", "softmax_backward"))

# Under framework.autocast these run in float32 (half-precision inputs cast up).
softmax = full_precision(softmax)
log_softmax = full_precision(log_softmax)


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """A sample of the Gumbel-softmax (concrete) distribution: ``softmax((logits + g) / tau)``
    with Gumbel noise ``g``; with ``hard`` the one-hot of its argmax, whose gradient is the
    soft sample's (straight-through)."""
    from .creation import empty_like, zeros_like
    check_tensor("gumbel_softmax", "logits", logits)
    with no_grad():
        gumbels = -empty_like(logits).exponential_().log()
    soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return soft
    index = soft.detach().argmax(dim, keepdim=True)
    one_hot = zeros_like(logits).scatter_(dim, index, 1.0)
    return one_hot - soft.detach() + soft


register("gumbel_softmax", "softmax", (
    "rand", "log1p", "mul", "neg", "log", "add", "div", "softmax", "softmax_backward", "argmax",
    "scatter", "sub", "amax", "amin", "copy_", "empty", "full", "to_numpy",
))
