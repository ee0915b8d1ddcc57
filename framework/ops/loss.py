"""Losses: cross_entropy, nll_loss, mse_loss, binary_cross_entropy, kl_div, ... (``nn.functional``).

``cross_entropy`` and ``nll_loss`` run their own kernels (contract family
``LOSS``) over an (M, C) row matrix: the class dim of an (N, C, d1, ...)
input is moved last and the other dims flattened into rows (framework views,
so autograd handles the reshaping). ``cross_entropy`` is one fused pass per
row (online logsumexp; the softmax is never stored); its backward kernel
recomputes the softmax from the saved per-row logsumexp, and is itself an op
whose derivative is written in framework ops (second derivatives work). The
weighted mean
divides by the summed weights of the counted targets, as in PyTorch.

``binary_cross_entropy`` and ``binary_cross_entropy_with_logits`` are one node
each on elementwise kernels (``bce``, ``bce_with_logits`` and their backwards,
PyTorch's formulas), with their composition kept for graph captures, mixed dtypes
and weights that need a gradient. The other losses are compositions of framework
ops (autograd gives their backward), written the way PyTorch defines them.
"""
from __future__ import annotations

import math
import warnings

from ..amp import full_precision
from .. import dtypes
from ..autograd.function import Function
from ..autograd.composite import one_node
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..tensor import Tensor
from . import binary, compare, unary
from ._util import backend, broadcast_shapes, check_tensor, wrap
from .registry import register

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]  # exported as framework.<name>
FUNCTIONAL = [
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div", "cosine_similarity",
    "cosine_embedding_loss", "margin_ranking_loss", "triplet_margin_loss", "pairwise_distance",
    "gaussian_nll_loss", "poisson_nll_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
    "hinge_embedding_loss", "multi_margin_loss", "multilabel_margin_loss",
    "triplet_margin_with_distance_loss", "pdist", "ctc_loss", "linear_cross_entropy",
]
TENSOR_METHODS: tuple = ()  # Tensor methods this module adds (framework/__init__.py)

_REDUCTIONS = ("none", "mean", "sum")


# Reduction arguments ----------------------------------------------------------------
def _reduction(size_average, reduce, reduction: str, allowed=_REDUCTIONS) -> str:
    """PyTorch's reduction string, including the deprecated ``size_average``/``reduce``."""
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      "reduction='sum' instead.", UserWarning, stacklevel=3)
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        return ("mean" if size_average else "sum") if reduce else "none"
    if reduction not in allowed:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _apply_reduction(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_tensors(op: str, **tensors) -> None:
    for name, value in tensors.items():
        check_tensor(op, name, value)


def _float_input(op: str, x: Tensor) -> None:
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating-point input, got {x.dtype}")


# Class-index losses: shapes, targets, weights ------------------------------------------
def _rows(op: str, input: Tensor, target: Tensor, probabilities: bool):
    """(x (M, C), t (M,) or (M, C), out_shape): the class dim moved last and flattened."""
    if input.ndim == 0:
        raise ValueError(f"{op}(): Expected 1 or more dimensions (got 0)")
    if target.device != input.device:
        raise RuntimeError(f"{op}(): Expected all tensors to be on the same device, but found "
                           f"at least two devices, {input.device} and {target.device}!")
    if not probabilities:
        _check_index_target_shape(op, input, target)
    if input.ndim == 1:
        x = input.reshape(1, -1)
        t = target.reshape(1, -1) if probabilities else target.reshape(1)
        return x, t, ()
    C = input.shape[1]
    out_shape = (input.shape[0],) + tuple(input.shape[2:])
    x = input.movedim(1, -1).reshape(-1, C) if input.ndim > 2 else input
    if probabilities:
        t = target.movedim(1, -1).reshape(-1, C) if target.ndim > 2 else target
    else:
        t = target.reshape(-1)
    return x, t, out_shape


def _check_index_target_shape(op: str, input: Tensor, target: Tensor) -> None:
    if input.ndim == 1:
        if target.ndim != 0:
            raise RuntimeError(f"{op}(): 0D or 1D target tensor expected for 1D input, got "
                               f"{target.ndim}D target")
        return
    if target.ndim == 0 or target.shape[0] != input.shape[0]:
        got = target.shape[0] if target.ndim else 1
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({got}).")
    if tuple(target.shape[1:]) != tuple(input.shape[2:]):
        expected = [input.shape[0]] + list(input.shape[2:])
        raise RuntimeError(f"{op}(): Expected target size {expected}, got {list(target.shape)}")


def _check_index_target(op: str, target: Tensor, C: int, ignore_index: int) -> None:
    """Class indices must be int64 and in [0, C) (``ignore_index`` excepted): ``IndexError`` on
    cpu. On cuda the loss kernel checks the range instead (no host read) and a bad target
    raises at the next host synchronization (``framework/_backends/triton/device_errors.py``)."""
    if target.dtype is not dtypes.int64:
        raise RuntimeError(f"{op}(): expected target dtype to be Long, but got "
                           f"{dtypes.scalar_type_name(target.dtype)}")
    if target.numel() == 0 or target.device.type != "cpu":
        return
    from .indexing import _index_range
    low, high = _index_range(target)
    if 0 <= low and high < C:
        return  # all in range (two reductions, not the eight ops below)
    bad = compare.logical_and(compare.logical_or(target < 0, target >= C), target != ignore_index)
    if bad.any().item():
        value = compare.where(bad, target, ignore_index).amax().item()
        if value == ignore_index:
            value = compare.where(bad, target, ignore_index).amin().item()
        raise IndexError(f"{op}(): Target {value} is out of bounds.")


def _check_class_weight(op: str, weight, input: Tensor, C: int):
    """``weight`` as a (C,) tensor of the input's dtype and device (``None`` stays ``None``)."""
    if weight is None:
        return None
    check_tensor(op, "weight", weight)
    if weight.ndim != 1 or weight.shape[0] != C:
        raise RuntimeError(f"{op}(): weight tensor should be defined either for all {C} classes "
                           f"or no classes but got weight tensor of shape: {list(weight.shape)}")
    if weight.device != input.device:
        raise RuntimeError(f"{op}(): Expected all tensors to be on the same device, but found "
                           f"weight on {weight.device} and input on {input.device}")
    return weight.detach().to(input.dtype)


def _weighted_reduction(loss: Tensor, row_weight: Tensor, reduction: str, out_shape: tuple,
                        dtype) -> Tensor:
    """Reduce per-row losses; 'mean' divides by the summed weights of the counted rows."""
    if reduction == "none":
        return loss.reshape(out_shape).to(dtype)
    total = loss.sum()
    if reduction == "mean":
        total = total / row_weight.sum()
    return total.to(dtype)


# cross_entropy -------------------------------------------------------------------------
class _CrossEntropy(Function):
    """Per-row cross-entropy of (M, C) logits; outputs (loss, row_weight), the latter constant."""

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, smoothing):
        kernels = backend(x)
        w = weight._a if weight is not None else None
        loss, lse, row_weight = kernels.cross_entropy_forward(x._a, target._a, w, ignore_index,
                                                              smoothing)
        loss, lse, row_weight = (wrap(a, x.device) for a in (loss, lse, row_weight))
        ctx.save_for_backward(x, target, weight, lse)
        ctx.options = (ignore_index, smoothing)
        ctx.mark_non_differentiable(row_weight)
        return loss, row_weight

    @staticmethod
    def backward(ctx, grad, _grad_row_weight):
        x, target, weight, lse = ctx.saved_tensors
        ignore_index, smoothing = ctx.options
        grad_x = grad_target = None
        if ctx.needs_input_grad[0]:
            grad_x = _CrossEntropyGrad.apply(x, target, weight, lse, grad, ignore_index, smoothing)
        if ctx.needs_input_grad[1]:
            grad_target = _probability_target_grad(x, target, weight, lse, grad, smoothing)
        return grad_x, grad_target, None, None, None


def _probability_target_grad(x, target, weight, lse, grad, smoothing) -> Tensor:
    """d loss / d q = -(1 - eps) * w * log_softmax(x) * g (class-probability targets)."""
    log_softmax = x.to(lse.dtype) - lse.reshape(-1, 1)
    coefficient = -(1.0 - smoothing) * grad.reshape(-1, 1)
    if weight is not None:
        coefficient = coefficient * weight.to(lse.dtype)
    return (coefficient * log_softmax).to(target.dtype)


class _CrossEntropyGrad(Function):
    """The fused backward kernel as an op: ``g * (softmax * A - a)`` per row. Its own
    backward (second derivatives) is written in framework ops, softmax included."""

    @staticmethod
    def forward(ctx, x, target, weight, lse, grad, ignore_index, smoothing):
        w = weight._a if weight is not None else None
        out = backend(x).cross_entropy_backward(x._a, target._a, w, lse._a, grad._a,
                                                ignore_index, smoothing)
        ctx.save_for_backward(x, target, weight, grad)
        ctx.options = (ignore_index, smoothing, lse.dtype)
        return wrap(out, x.device)

    @staticmethod
    def backward(ctx, gg):
        x, target, weight, grad = ctx.saved_tensors
        ignore_index, smoothing, acc = ctx.options
        needs_x, needs_target, _, _, needs_grad = ctx.needs_input_grad[:5]
        xa, gg = x.to(acc), gg.to(acc)
        softmax = unary.exp(xa - xa.logsumexp(1, keepdim=True))
        a = _coefficients(target, weight, ignore_index, smoothing, x.shape[1], acc)
        a_sum = a.sum(1, keepdim=True)
        g = _counted_rows(grad.to(acc), target, ignore_index).reshape(-1, 1)
        gg_dot_p = (gg * softmax).sum(1, keepdim=True)
        grad_x = grad_target = grad_grad = None
        if needs_x:
            grad_x = (g * a_sum * softmax * (gg - gg_dot_p)).to(x.dtype)
        if needs_target:
            w = weight.to(acc) if weight is not None else 1.0
            grad_target = ((1.0 - smoothing) * g * w * (gg_dot_p - gg)).to(target.dtype)
        if needs_grad:
            grad_grad = _counted_rows((gg * (softmax * a_sum - a)).sum(1), target,
                                      ignore_index).to(grad.dtype)
        return grad_x, grad_target, None, None, grad_grad, None, None


def _counted_rows(values: Tensor, target: Tensor, ignore_index: int) -> Tensor:
    """``values`` (M,) with the rows of ignored class-index targets set to 0."""
    if target.dtype.is_floating_point:
        return values
    return compare.where(target != ignore_index, values, 0.0)


def _coefficients(target: Tensor, weight, ignore_index: int, smoothing: float, C: int,
                  acc) -> Tensor:
    """The (M, C) coefficients ``a = w * ((1 - eps) * target + eps / C)`` in framework ops
    (class indices become one-hot rows; ignored rows are all 0)."""
    if target.dtype.is_floating_point:
        q = target.to(acc)
    else:
        from .creation import arange
        classes = arange(C, device=target.device).reshape(1, -1)
        q = (classes == target.reshape(-1, 1)).to(acc)
    a = q * (1.0 - smoothing) + smoothing / C
    if weight is not None:
        a = a * weight.to(acc)
    if not target.dtype.is_floating_point:
        a = compare.where((target != ignore_index).reshape(-1, 1), a, 0.0)
    return a


class _CrossEntropyNode(Function):
    """``cross_entropy`` of (M, C) logits and class indices, reduced, as one node
    (``NllLossBackward0``, PyTorch's): the loss kernel and the reduction forward; backward the
    per-row gradients the reduction hands back (``grad / sum of row weights`` for 'mean',
    ``grad`` for 'sum', broadcast) and the fused gradient kernel. The general path records
    the same ops as an inner graph and differentiates it with a nested ``autograd.grad``; this
    node runs the same kernels on the same operands without that graph (the same bits).
    Under ``create_graph`` the backward is recorded framework ops (``_CrossEntropyGrad``
    has its own backward), so higher derivatives work as before."""

    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, smoothing, reduction, dtype):
        w = weight._a if weight is not None else None
        loss, lse, row_weight = backend(x).cross_entropy_forward(x._a, target._a, w,
                                                                 ignore_index, smoothing)
        loss, lse, row_weight = (wrap(a, x.device) for a in (loss, lse, row_weight))
        ctx.options = (ignore_index, smoothing, reduction)
        ctx.node_name = "NllLossBackward0"
        result, denominator = _reduce_rows(loss, row_weight, reduction, dtype)
        ctx.save_for_backward(x, target, weight, lse, denominator)
        return result

    @staticmethod
    def backward(ctx, grad):
        x, target, weight, lse, denominator = ctx.saved_tensors
        ignore_index, smoothing, reduction = ctx.options
        grad = _row_grads(grad, lse, denominator, reduction)
        grad_x = _CrossEntropyGrad.apply(x, target, weight, lse, grad, ignore_index, smoothing)
        return grad_x, None, None, None, None, None, None


def _reduce_rows(loss: Tensor, row_weight: Tensor, reduction: str, dtype) -> tuple:
    """(``_weighted_reduction`` of (M,) per-row losses, the 'mean' divisor or None)."""
    if reduction == "none":
        return loss.to(dtype), None
    total = loss.sum()
    denominator = None
    if reduction == "mean":
        denominator = row_weight.sum()
        total = total / denominator
    return total.to(dtype), denominator


def _row_grads(grad: Tensor, loss: Tensor, denominator, reduction: str) -> Tensor:
    """The per-row gradients the general path's reduction ops (``to``, ``div``, ``sum``) hand
    back to (M,) losses like ``loss`` (its dtype and shape)."""
    grad = grad.to(loss.dtype)
    if denominator is not None:
        grad = grad / denominator
    if reduction != "none":
        grad = grad.expand(tuple(loss.shape))
    return grad


def _cross_entropy_node_applies(input: Tensor, target: Tensor, weight) -> bool:
    """Whether ``cross_entropy`` (``nll_loss``) runs as ``_CrossEntropyNode``
    (``_NLLLossNode``): a gradient is recorded, the input is (N, C) with class-index targets,
    and the kernels run eagerly (a graph capture traces and exports the general path's ops)."""
    from .._backends import Backend
    return (input.ndim == 2 and not target.dtype.is_floating_point and input.requires_grad
            and is_grad_enabled() and type(backend(input)) is Backend)


def _index_target_name(args, kwargs):
    """PyTorch's one node for class-index targets; probability targets stay a composition."""
    target = args[1] if len(args) > 1 else kwargs.get("target")
    return "NllLossBackward0" if not target.dtype.is_floating_point else None


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits ``input`` (N, C, d1, ...) or (C,) and ``target``.

    ``target`` holds class indices (int64, shape (N, d1, ...)) or class
    probabilities (the input's shape and dtype). ``weight`` rescales each
    class, ``ignore_index`` rows count for nothing (index targets),
    ``label_smoothing`` mixes the target with the uniform distribution.
    """
    if (isinstance(input, Tensor) and isinstance(target, Tensor)
            and _cross_entropy_node_applies(input, target, weight)):
        return _cross_entropy(input, target, weight, size_average, ignore_index, reduce,
                              reduction, label_smoothing, node=True)
    return _cross_entropy_general(input, target, weight, size_average, ignore_index, reduce,
                                  reduction, label_smoothing)


@one_node(_index_target_name)
def _cross_entropy_general(input: Tensor, target: Tensor, weight: Tensor | None = None,
                           size_average=None, ignore_index: int = -100, reduce=None,
                           reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """``cross_entropy`` as a composition (one replayed node when a gradient is recorded)."""
    return _cross_entropy(input, target, weight, size_average, ignore_index, reduce, reduction,
                          label_smoothing)


def _cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                   size_average=None, ignore_index: int = -100, reduce=None,
                   reduction: str = "mean", label_smoothing: float = 0.0,
                   node: bool = False) -> Tensor:
    op = "cross_entropy"
    reduction = _reduction(size_average, reduce, reduction)
    _check_tensors(op, input=input, target=target)
    _float_input(op, input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"{op}(): label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    # PyTorch's rule: a target of the input's shape holds class probabilities
    probabilities = tuple(target.shape) == tuple(input.shape)
    if probabilities and not target.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): Expected floating point type for target with class "
                           f"probabilities, got {dtypes.scalar_type_name(target.dtype)}")
    x, t, out_shape = _rows(op, input, target, probabilities)
    C = x.shape[1]
    w = _check_class_weight(op, weight, input, C)
    if probabilities:
        t = t.to(input.dtype)
    else:
        _check_index_target(op, t, C, ignore_index)
    if node:
        return _CrossEntropyNode.apply(x, t, w, int(ignore_index), float(label_smoothing),
                                       reduction, input.dtype)
    loss, row_weight = _CrossEntropy.apply(x, t, w, int(ignore_index), float(label_smoothing))
    if probabilities and reduction == "mean":
        return loss.mean().to(input.dtype)
    return _weighted_reduction(loss, row_weight, reduction, out_shape, input.dtype)


# nll_loss ------------------------------------------------------------------------------
class _NLLLoss(Function):
    """Per-row ``-w[t] * logp[row, t]``; outputs (loss, row_weight), the latter constant."""

    @staticmethod
    def forward(ctx, logp, target, weight, ignore_index):
        w = weight._a if weight is not None else None
        loss, row_weight = backend(logp).nll_loss_forward(logp._a, target._a, w, ignore_index)
        loss, row_weight = wrap(loss, logp.device), wrap(row_weight, logp.device)
        ctx.save_for_backward(target, weight)
        ctx.meta = (ignore_index, logp.shape[1], logp.dtype)
        ctx.mark_non_differentiable(row_weight)
        return loss, row_weight

    @staticmethod
    def backward(ctx, grad, _grad_row_weight):
        target, weight = ctx.saved_tensors
        ignore_index, C, dtype = ctx.meta
        return _NLLLossGrad.apply(grad, target, weight, ignore_index, C, dtype), None, None, None


class _NLLLossGrad(Function):
    """The (M, C) gradient of ``_NLLLoss``; linear in ``grad``, so its own backward is the
    forward kernel applied to the incoming gradient (higher derivatives work)."""

    @staticmethod
    def forward(ctx, grad, target, weight, ignore_index, C, dtype):
        w = weight._a if weight is not None else None
        out = backend(grad).nll_loss_backward(target._a, w, grad._a, ignore_index, C, dtype)
        ctx.save_for_backward(target, weight)
        ctx.meta = (ignore_index, grad.dtype)
        return wrap(out, grad.device)

    @staticmethod
    def backward(ctx, grad_grad):
        target, weight = ctx.saved_tensors
        ignore_index, grad_dtype = ctx.meta
        loss, _ = _NLLLoss.apply(grad_grad, target, weight, ignore_index)
        return loss.to(grad_dtype), None, None, None, None, None


class _NLLLossNode(Function):
    """``nll_loss`` of (M, C) log-probabilities, reduced, as one node (``NllLossBackward0``):
    what ``_CrossEntropyNode`` is to ``cross_entropy``. The backward is ``_NLLLossGrad``
    of the per-row gradients (recorded ops under ``create_graph``)."""

    @staticmethod
    def forward(ctx, logp, target, weight, ignore_index, reduction, dtype):
        w = weight._a if weight is not None else None
        loss, row_weight = backend(logp).nll_loss_forward(logp._a, target._a, w, ignore_index)
        loss, row_weight = wrap(loss, logp.device), wrap(row_weight, logp.device)
        ctx.meta = (ignore_index, logp.shape[1], logp.dtype, reduction)
        ctx.node_name = "NllLossBackward0"
        result, denominator = _reduce_rows(loss, row_weight, reduction, dtype)
        # the per-row losses' shape and dtype, for the backward (not their values)
        ctx.save_for_backward(target, weight, denominator, row_weight)
        return result

    @staticmethod
    def backward(ctx, grad):
        target, weight, denominator, row_weight = ctx.saved_tensors
        ignore_index, C, dtype, reduction = ctx.meta
        grad = _row_grads(grad, row_weight, denominator, reduction)
        return (_NLLLossGrad.apply(grad, target, weight, ignore_index, C, dtype), None, None,
                None, None, None)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C, d1, ...) or (C,) at the
    class indices ``target`` (N, d1, ...); ``weight`` and ``ignore_index`` as in ``cross_entropy``."""
    if (isinstance(input, Tensor) and isinstance(target, Tensor)
            and _cross_entropy_node_applies(input, target, weight)):
        return _nll_loss(input, target, weight, size_average, ignore_index, reduce, reduction,
                         node=True)
    return _nll_loss_general(input, target, weight, size_average, ignore_index, reduce,
                             reduction)


@one_node("NllLossBackward0")
def _nll_loss_general(input: Tensor, target: Tensor, weight: Tensor | None = None,
                      size_average=None, ignore_index: int = -100, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """``nll_loss`` as a composition (one replayed node when a gradient is recorded)."""
    return _nll_loss(input, target, weight, size_average, ignore_index, reduce, reduction)


def _nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
              ignore_index: int = -100, reduce=None, reduction: str = "mean",
              node: bool = False) -> Tensor:
    op = "nll_loss"
    reduction = _reduction(size_average, reduce, reduction)
    _check_tensors(op, input=input, target=target)
    _float_input(op, input)
    x, t, out_shape = _rows(op, input, target, probabilities=False)
    C = x.shape[1]
    w = _check_class_weight(op, weight, input, C)
    _check_index_target(op, t, C, ignore_index)
    if node:
        return _NLLLossNode.apply(x, t, w, int(ignore_index), reduction, input.dtype)
    loss, row_weight = _NLLLoss.apply(x, t, w, int(ignore_index))
    return _weighted_reduction(loss, row_weight, reduction, out_shape, input.dtype)


# Regression losses ---------------------------------------------------------------------
def _pointwise_operands(op: str, input, target, warn: bool = True):
    _check_tensors(op, input=input, target=target)
    if warn and tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({list(target.shape)}) that is different to the input "
                      f"size ({list(input.shape)}). This will likely lead to incorrect results "
                      "due to broadcasting. Please ensure they have the same size.",
                      UserWarning, stacklevel=3)
    shape = broadcast_shapes(op, tuple(input.shape), tuple(target.shape))
    return input.expand(shape), target.expand(shape)


def _elementwise_weight(op: str, loss: Tensor, weight, input: Tensor, reduction: str,
                        weighted_mean: bool = True) -> Tensor:
    """PyTorch's optional ``weight`` of mse/l1/huber: same size as the input."""
    if weight is None:
        return _apply_reduction(loss, reduction)
    check_tensor(op, "weight", weight)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and weighted_mean:
        return loss.sum() / weight.sum()
    return _apply_reduction(loss, reduction)


@one_node("MseLossBackward0")
def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error ``(input - target) ** 2``."""
    reduction = _reduction(size_average, reduce, reduction)
    x, y = _pointwise_operands("mse_loss", input, target)
    return _elementwise_weight("mse_loss", unary.square(x - y), weight, input, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error ``|input - target|``."""
    reduction = _reduction(size_average, reduce, reduction)
    x, y = _pointwise_operands("l1_loss", input, target)
    return _elementwise_weight("l1_loss", unary.abs(x - y), weight, input, reduction)


def _huber(diff: Tensor, delta: float, scale_by_delta: bool) -> Tensor:
    """``0.5 d**2 / delta`` inside ``|d| < delta``, else ``|d| - 0.5 delta`` (smooth L1);
    times ``delta`` for Huber."""
    magnitude = unary.abs(diff)
    is_inside = compare.logical_not(magnitude >= delta)  # NaN is inside, as in PyTorch's kernels
    small = compare.where(is_inside, diff, 0.0)  # the square never sees an inf: no 0 * inf gradient
    if scale_by_delta:
        inside, outside = 0.5 * unary.square(small), delta * (magnitude - 0.5 * delta)
    else:
        inside, outside = 0.5 * unary.square(small) / delta, magnitude - 0.5 * delta
    return compare.where(is_inside, inside, outside)


@one_node("SmoothL1LossBackward0")
def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1: quadratic below ``beta``, linear above (``beta=0`` is the L1 loss)."""
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss(): smooth_l1_loss does not support negative values "
                           "for beta.")
    x, y = _pointwise_operands("smooth_l1_loss", input, target)
    loss = unary.abs(x - y) if beta == 0.0 else _huber(x - y, beta, scale_by_delta=False)
    return _apply_reduction(loss, reduction)


@one_node("HuberLossBackward0")
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """Huber loss: ``0.5 d**2`` below ``delta``, ``delta * (|d| - 0.5 delta)`` above."""
    reduction = _reduction(None, None, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss(): huber_loss does not support non-positive values for "
                           "delta.")
    x, y = _pointwise_operands("huber_loss", input, target)
    loss = _huber(x - y, delta, scale_by_delta=True)
    return _elementwise_weight("huber_loss", loss, weight, input, reduction, weighted_mean=False)


# Binary classification -----------------------------------------------------------------
def _same_size_target(op: str, input: Tensor, target: Tensor, message: str) -> None:
    _check_tensors(op, input=input, target=target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(message.format(target=list(target.shape), input=list(input.shape)))


class _BCENode(Function):
    """``binary_cross_entropy`` of probabilities, reduced, as one node: the ``bce`` kernel
    and the reduction forward; backward the ``bce_backward`` kernel for the input (PyTorch's
    ``(x - y) / max((1 - x) x, 1e-12)``, the 'mean' 1/numel folded in) and PyTorch's target
    formula ``-logit(x)`` in framework ops. Under ``create_graph`` both are framework ops."""

    @staticmethod
    def forward(ctx, x, target, weight, reduction):
        w = weight._a if weight is not None else None
        loss = wrap(backend(x).bce(x._a, target._a, w), x.device)
        ctx.node_name = "BinaryCrossEntropyBackward0"
        ctx.reduction = reduction
        ctx.save_for_backward(x, target, weight)
        return _apply_reduction(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, target, weight = ctx.saved_tensors
        needs_x, needs_target = ctx.needs_input_grad[:2]
        scale = 1.0 / x.numel() if ctx.reduction == "mean" and x.numel() else 1.0
        grad_x = grad_target = None
        if needs_x and not is_grad_enabled():
            w = weight._a if weight is not None else None
            grad_x = wrap(backend(x).bce_backward(grad._a, x._a, target._a, w, scale), x.device)
        elif needs_x:  # create_graph: PyTorch's formula in framework ops
            g = _bce_grad_factor(grad, x, weight, scale)
            denominator = compare.clamp_min((1.0 - x) * x, 1e-12)
            grad_x = ((x - target) / denominator * g).to(x.dtype)
        if needs_target:
            g = _bce_grad_factor(grad, x, weight, scale)
            grad_target = ((unary.log1p(-x) - unary.log(x)) * g).to(target.dtype)
        return grad_x, grad_target, None, None


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``-w * (y * log(x) + (1 - y) * log(1 - x))`` with each log clamped at -100 (PyTorch)."""
    op = "binary_cross_entropy"
    reduction = _reduction(size_average, reduce, reduction)
    _same_size_target(op, input, target,
                      "Using a target size ({target}) that is different to the input size "
                      "({input}) is deprecated. Please ensure they have the same size.")
    _float_input(op, input)
    with no_grad():  # cpu: raises now; cuda: flagged on the device, raised at the next sync
        inside = compare.logical_not(compare.logical_or(input < 0, input > 1))
        backend(input).device_assert(inside._a, op, "all elements of input should be between 0 "
                                                    "and 1")
    if weight is not None:
        check_tensor(op, "weight", weight)
        shape = broadcast_shapes(op, tuple(target.shape), tuple(weight.shape))
        if shape == tuple(input.shape) and _bce_node_applies(input, target, weight, None):
            return _BCENode.apply(input, target, weight, reduction)
    elif _bce_node_applies(input, target, None, None):
        return _BCENode.apply(input, target, None, reduction)
    return _binary_cross_entropy_general(input, target, weight, reduction)


@one_node("BinaryCrossEntropyBackward0")
def _binary_cross_entropy_general(input: Tensor, target: Tensor, weight,
                                  reduction: str) -> Tensor:
    """``binary_cross_entropy`` as a composition (mixed dtypes, a weight that needs a
    gradient or is larger than the input, graph capture); one replayed node."""
    log_x = compare.clamp_min(unary.log(input), -100.0)
    log_1mx = compare.clamp_min(unary.log(1.0 - input), -100.0)
    loss = -(target * log_x + (1.0 - target) * log_1mx)
    if weight is not None:
        loss = loss * weight.expand(broadcast_shapes("binary_cross_entropy", tuple(target.shape),
                                                     tuple(weight.shape)))
    return _apply_reduction(loss, reduction)


def _bce_weight(op: str, name: str, value, input: Tensor):
    """Check that ``weight``/``pos_weight`` broadcasts to the input's shape, as PyTorch's
    in-place products need (a larger broadcast shape is an error there too)."""
    if value is None:
        return None
    check_tensor(op, name, value)
    shape = tuple(input.shape)
    if broadcast_shapes(op, shape, tuple(value.shape)) != shape:
        raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast shape "
                           f"{list(broadcast_shapes(op, shape, tuple(value.shape)))}")
    return value


class _BCEWithLogitsNode(Function):
    """``binary_cross_entropy_with_logits``, reduced, as one node: the ``bce_with_logits``
    kernel and the reduction forward; backward the ``bce_with_logits_backward`` kernel for
    the input (the 'mean' 1/numel folded in) and PyTorch's target formula in framework
    ops. Under ``create_graph`` both gradients are framework ops (differentiable again)."""

    @staticmethod
    def forward(ctx, x, target, weight, pos_weight, reduction):
        w = weight._a if weight is not None else None
        pw = pos_weight._a if pos_weight is not None else None
        loss = wrap(backend(x).bce_with_logits(x._a, target._a, w, pw), x.device)
        ctx.node_name = "BinaryCrossEntropyWithLogitsBackward0"
        ctx.reduction = reduction
        ctx.save_for_backward(x, target, weight, pos_weight)
        return _apply_reduction(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, target, weight, pos_weight = ctx.saved_tensors
        needs_x, needs_target = ctx.needs_input_grad[:2]
        scale = 1.0 / x.numel() if ctx.reduction == "mean" and x.numel() else 1.0
        grad_x = grad_target = None
        if needs_x and not is_grad_enabled():
            w = weight._a if weight is not None else None
            pw = pos_weight._a if pos_weight is not None else None
            grad_x = wrap(backend(x).bce_with_logits_backward(
                grad._a, x._a, target._a, w, pw, scale), x.device)
        elif needs_x:  # create_graph: PyTorch's formula in framework ops
            g = _bce_grad_factor(grad, x, weight, scale)
            if pos_weight is not None:
                t = pos_weight * target
                grad_x = ((t + 1.0 - target) * unary.sigmoid(x) - t) * g
            else:
                grad_x = (unary.sigmoid(x) - target) * g
            grad_x = grad_x.to(x.dtype)
        if needs_target:
            from .activation import logsigmoid
            g = _bce_grad_factor(grad, x, weight, scale)
            if pos_weight is not None:
                grad_target = (logsigmoid(-x) - logsigmoid(x) * pos_weight) * g
            else:
                grad_target = -x * g
            grad_target = grad_target.to(target.dtype)
        return grad_x, grad_target, None, None, None


def _bce_grad_factor(grad: Tensor, x: Tensor, weight, scale: float) -> Tensor:
    """``grad * weight * scale`` broadcast to the input's shape, in framework ops."""
    g = grad * weight if weight is not None else grad
    if scale != 1.0:
        g = g * scale
    return g.expand(tuple(x.shape))


def _bce_node_applies(input: Tensor, target: Tensor, weight, pos_weight) -> bool:
    """Whether ``binary_cross_entropy[_with_logits]`` runs as its node (``_BCENode``,
    ``_BCEWithLogitsNode``): input and target of one floating dtype, weights that need no
    gradient (PyTorch refuses one; the composition gives it), one device, and kernels run
    eagerly (a graph capture traces the composition's ops)."""
    from .._backends import Backend
    if not (input.dtype.is_floating_point and target.dtype is input.dtype
            and target.device == input.device and type(backend(input)) is Backend):
        return False
    return all(v is None or (v.dtype.is_floating_point and not v.requires_grad
                             and v.device == input.device) for v in (weight, pos_weight))


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + binary cross-entropy in one stable formula:
    ``(1 - y) x + (1 + (pw - 1) y) * (log1p(exp(-|x|)) + max(-x, 0))``, times ``weight``
    (``weight`` and ``pos_weight`` broadcast to the input's shape)."""
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(size_average, reduce, reduction)
    _same_size_target(op, input, target, "Target size ({target}) must be the same as input "
                                         "size ({input})")
    _float_input(op, input)
    weight = _bce_weight(op, "weight", weight, input)
    pos_weight = _bce_weight(op, "pos_weight", pos_weight, input)
    if _bce_node_applies(input, target, weight, pos_weight):
        return _BCEWithLogitsNode.apply(input, target, weight, pos_weight, reduction)
    return _bce_with_logits_general(input, target, weight, reduction, pos_weight)


@one_node("BinaryCrossEntropyWithLogitsBackward0")
def _bce_with_logits_general(input: Tensor, target: Tensor, weight, reduction: str,
                             pos_weight) -> Tensor:
    """``binary_cross_entropy_with_logits`` as a composition (mixed dtypes, weights that
    need a gradient, graph capture); one replayed node when a gradient is recorded."""
    # softplus(-x) as -logsigmoid(x): the same stable formula, and its derivative is
    # sigmoid(x) - 1 everywhere (the composite's abs/clamp kinks gave 0 - 1 at x = 0)
    from .activation import logsigmoid
    softplus_neg = -logsigmoid(input)
    if pos_weight is not None:
        log_weight = (pos_weight - 1.0) * target + 1.0
        loss = (1.0 - target) * input + log_weight * softplus_neg
    else:
        loss = (1.0 - target) * input + softplus_neg
    if weight is not None:
        loss = loss * weight
    return _apply_reduction(loss, reduction)


# Divergences and similarities ----------------------------------------------------------
def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """KL divergence with ``input`` in log space: ``target * (log(target) - input)``
    (``target * log(target)`` is 0 where target is 0, NaN where it is negative), or
    ``exp(t) * (t - input)`` when ``log_target``.
    ``reduction='batchmean'`` divides the sum by the batch size."""
    op = "kl_div"
    if size_average is None and reduce is None and reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=2)
    reduction = _reduction(size_average, reduce, reduction, _REDUCTIONS + ("batchmean",))
    _check_tensors(op, input=input, target=target)
    if log_target:
        loss = unary.exp(target) * (target - input)
    else:
        # PyTorch's xlogy(target, target): 0 at 0, NaN for a NaN or negative target
        zero = target == 0
        log_t = unary.log(compare.where(zero, 1.0, target))
        loss = compare.where(zero, 0.0, target * log_t) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _apply_reduction(loss, reduction)


def _clamped_norm(x: Tensor, dim: int, eps: float) -> Tensor:
    """``max(||x||, eps)`` whose gradient is the norm's own (PyTorch clamps in place, untracked)."""
    norm = x.norm(2, dim, keepdim=True)
    return norm + (compare.clamp_min(norm, eps) - norm).detach()


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1/max(||x1||, eps) * x2/max(||x2||, eps))`` along ``dim`` (broadcast inputs)."""
    op = "cosine_similarity"
    _check_tensors(op, x1=x1, x2=x2)
    shape = broadcast_shapes(op, tuple(x1.shape), tuple(x2.shape))
    a, b = x1.expand(shape), x2.expand(shape)
    if not a.dtype.is_floating_point:
        a = a.to(dtypes.get_default_dtype())
    if not b.dtype.is_floating_point:
        b = b.to(dtypes.get_default_dtype())
    return ((a / _clamped_norm(a, dim, eps)) * (b / _clamped_norm(b, dim, eps))).sum(dim)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``1 - cos(x1, x2)`` where target is 1, ``max(0, cos - margin)`` where it is -1."""
    op = "cosine_embedding_loss"
    reduction = _reduction(size_average, reduce, reduction)
    _check_tensors(op, input1=input1, input2=input2, target=target)
    if input1.ndim not in (1, 2) or tuple(input1.shape) != tuple(input2.shape):
        raise RuntimeError(f"{op}(): expected 1D or 2D inputs of the same shape, got "
                           f"{list(input1.shape)} and {list(input2.shape)}")
    if target.ndim != input1.ndim - 1:
        raise RuntimeError(f"{op}(): {input1.ndim}D target tensor expects {input1.ndim - 1}D "
                           f"target tensor, got {target.ndim}D")
    dim = input1.ndim - 1
    eps = 1e-12
    dot = (input1 * input2).sum(dim)
    denominator = unary.sqrt(((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps))
    cos = dot / denominator
    zeros = cos * 0.0
    loss = compare.where(target == 1, 1.0 - cos, zeros) + \
        compare.where(target == -1, compare.clamp_min(cos - margin, 0.0), zeros)
    return _apply_reduction(loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``."""
    op = "margin_ranking_loss"
    reduction = _reduction(size_average, reduce, reduction)
    _check_tensors(op, input1=input1, input2=input2, target=target)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"{op}(): All input tensors should have same dimension but got sizes: "
                           f"input1: {list(input1.shape)}, input2: {list(input2.shape)}, target: "
                           f"{list(target.shape)} ")
    loss = compare.clamp_min(-target * (input1 - input2) + margin, 0.0)
    return _apply_reduction(loss, reduction)


def _gaussian_var(input: Tensor, var: Tensor) -> Tensor:
    """``var`` shaped against ``input`` as torch allows: the same shape, the shape without
    the last dim (one variance per row), or a last dim of 1."""
    if tuple(var.shape) == tuple(input.shape):
        return var
    if tuple(input.shape[:-1]) == tuple(var.shape):
        return var.unsqueeze(-1)
    if tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1:
        return var
    raise ValueError("var is of incorrect size")


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Gaussian negative log likelihood: ``0.5 (log(var) + (input - target)² / var)`` (plus
    ``0.5 log(2π)`` when ``full``); ``var`` is clamped to ``eps`` with its gradient passed
    through unchanged, as in torch."""
    op = "gaussian_nll_loss"
    if not isinstance(var, Tensor):
        from .creation import full_like
        var = full_like(input, var)
    _check_tensors(op, input=input, target=target, var=var)
    var = _gaussian_var(input, var)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    var = var + (var.detach().clamp(min=eps) - var.detach())
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _apply_reduction(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Poisson negative log likelihood: ``exp(input) - target · input`` (``log_input``) or
    ``input - target · log(input + eps)``; ``full`` adds Stirling's term where target > 1."""
    op = "poisson_nll_loss"
    reduction = _reduction(size_average, reduce, reduction)
    _check_tensors(op, input=input, target=target)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0.0)
    return _apply_reduction(loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """``log(1 + exp(-target · input))`` (targets ±1)."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_tensors("soft_margin_loss", input=input, target=target)
    return _apply_reduction((-target * input).exp().log1p(), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight=None, size_average=None,
                                reduce=None, reduction: str = "mean") -> Tensor:
    """One-versus-all logistic loss over the classes (last dim) averaged per sample:
    ``-mean_c(w_c (y log σ(x) + (1 - y) log σ(-x)))``."""
    from .activation import logsigmoid
    reduction = _reduction(size_average, reduce, reduction)
    _check_tensors("multilabel_soft_margin_loss", input=input, target=target)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    classes = input.shape[-1] if input.ndim else 1
    return _apply_reduction(loss.sum(-1) / classes if input.ndim else loss, reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """``input`` where target is 1, ``max(0, margin - input)`` where it is -1."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_tensors("hinge_embedding_loss", input=input, target=target)
    below_margin = compare.clamp_min(margin - input, 0.0)
    loss = (compare.where(target != 1, below_margin, 0.0)
            + compare.where(target != -1, input, 0.0))
    return _apply_reduction(loss, reduction)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """``||x1 - x2 + eps||_p`` over the last dim."""
    _check_tensors("pairwise_distance", x1=x1, x2=x2)
    dim = 0 if x1.ndim == 1 and x2.ndim == 1 else -1
    return (x1 - x2 + eps).norm(p, dim, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distance of every pair of rows ``i < j`` of an (N, M) ``input``, in
    row-major order: N·(N-1)/2 values."""
    from .creation import tensor
    from .indexing import index_select
    op = "pdist"
    check_tensor(op, "input", input)
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    _float_input(op, input)
    n = input.shape[0]
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    firsts = tensor([i for i, _ in pairs], dtype=dtypes.int64, device=input.device)
    seconds = tensor([j for _, j in pairs], dtype=dtypes.int64, device=input.device)
    diff = index_select(input, 0, firsts) - index_select(input, 0, seconds)
    return diff.norm(p, 1)


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *,
                         linear_bias: Tensor | None = None, weight: Tensor | None = None,
                         reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0, options=None) -> Tensor:
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)`` for (N, in) or
    (in,) ``input`` and (C, *out_features, in) ``linear_weight`` (a K-dimensional loss when
    ``out_features``). ``options`` (``LinearCrossEntropyOptions``) select PyTorch's chunked
    path, equal to this reference one; they are accepted and not needed here."""
    from .matmul import linear
    op = "linear_cross_entropy"
    _check_tensors(op, input=input, linear_weight=linear_weight, target=target)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    if linear_weight.ndim < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got "
                           f"{linear_weight.ndim}")
    batches, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError(f"expected equal input and linear_weight last dimensions "
                           f"(in_features), got {in_features} and {linear_weight.shape[-1]}, "
                           "respectively")
    classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(classes, *out_features)}, got "
                           f"{tuple(linear_bias.shape)}")
    if out_features and not batches:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape "
                           f"{tuple(linear_weight.shape)} requires batched input, (N, "
                           f"{in_features}), got unbatched input with shape {tuple(input.shape)}")
    logits_shape = (*batches, classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    rows = math.prod(logits_shape[len(batches):])
    flat_bias = None if linear_bias is None else linear_bias.reshape(rows)
    logits = linear(input, linear_weight.reshape(rows, in_features), flat_bias)
    return cross_entropy(logits.reshape(logits_shape), target, weight=weight,
                         reduction=reduction,
                         ignore_index=-100 if ignore_index is None else ignore_index,
                         label_smoothing=label_smoothing)


# CTC loss ------------------------------------------------------------------------------
def _host_lengths(op: str, name: str, lengths, batch: int) -> list:
    """``lengths`` (a tensor, an int or a sequence of ints) as a list of ``batch`` ints."""
    if isinstance(lengths, Tensor):
        if lengths.dtype.is_floating_point:
            raise RuntimeError(f"{op}(): {name} must be integers, got {lengths.dtype}")
        values = lengths.reshape(-1).tolist()
    elif isinstance(lengths, int) and not isinstance(lengths, bool):
        values = [lengths]
    else:
        values = [int(v) for v in lengths]
    if len(values) != batch:
        raise RuntimeError(f"{name} must be of size batch_size")
    return values


def _check_ctc_lengths(input_lengths: list, target_lengths: list, steps: int) -> None:
    for name, values, high in (("input_lengths", input_lengths, steps),
                               ("target_lengths", target_lengths, None)):
        for value in values:
            if value < 0:
                raise RuntimeError(f"Expected {name} to have value at least 0, but got value "
                                   f"{value} (while checking arguments for ctc_loss)")
            if high is not None and value > high:
                raise RuntimeError(f"Expected {name} to have value at most {high}, but got "
                                   f"value {value} (while checking arguments for ctc_loss)")


def _ctc_labels(targets: Tensor, target_lengths: list, batched: bool) -> Tensor:
    """(N, max target length) int64 labels from padded (N, S) or concatenated 1-D targets."""
    from .creation import tensor
    longest = max(target_lengths, default=0)
    if not batched or targets.ndim == 2:
        rows = targets.reshape(1, -1) if not batched else targets
        if rows.shape[1] < longest:
            raise RuntimeError(f"Expected tensor to have size at least {longest} at dimension 1, "
                               f"but got size {rows.shape[1]} for argument #2 'targets' (while "
                               "checking arguments for ctc_loss)")
        return rows[:, :longest].to(dtypes.int64)
    if targets.numel() < sum(target_lengths):
        raise RuntimeError(f"Expected tensor to have size at least {sum(target_lengths)} at "
                           f"dimension 0, but got size {targets.numel()} for argument #2 "
                           "'targets' (while checking arguments for ctc_loss)")
    offsets = [sum(target_lengths[:b]) for b in range(len(target_lengths))]
    index = [[offset + min(j, max(length - 1, 0)) for j in range(longest)]
             for offset, length in zip(offsets, target_lengths)]
    flat = targets.reshape(-1).to(dtypes.int64)
    picked = tensor(index, dtype=dtypes.int64, device=targets.device).reshape(-1)
    return flat.gather(0, picked).reshape(len(target_lengths), longest)


def _ctc_extended(labels: Tensor, blank: int) -> tuple:
    """(N, 2L+1) blank-interleaved labels and the mask of states that may skip the one before
    (a label differing from the label two states back)."""
    from .creation import full, tensor
    from .shape import cat
    n, longest = labels.shape
    states = 2 * longest + 1
    if longest == 0:
        return full((n, 1), blank, dtype=dtypes.int64, device=labels.device), \
            full((n, 1), False, dtype=dtypes.bool, device=labels.device)
    source = tensor([max(s - 1, 0) // 2 for s in range(states)], dtype=dtypes.int64,
                    device=labels.device)
    odd = tensor([s % 2 == 1 for s in range(states)], dtype=dtypes.bool, device=labels.device)
    extended = compare.where(odd, labels.gather(1, source.expand(n, states)), blank)
    differs = extended[:, 2:] != extended[:, :-2]
    skip = cat([full((n, 2), False, dtype=dtypes.bool, device=labels.device), differs], 1)
    return extended, compare.logical_and(skip, odd)


def _safe_logsumexp(parts: list) -> Tensor:
    """log Σ exp over ``parts`` (same shapes), -inf where all are -inf, with finite (zero)
    gradients there: the sum is replaced before its log wherever it is 0."""
    from .reduce import amax
    from .shape import stack
    x = stack(parts, 0)
    with no_grad():
        top = amax(x, 0)
        top = compare.where(top == -math.inf, 0.0, top)
    total = unary.exp(x - top).sum(0)
    reached = total > 0
    return compare.where(reached, top + unary.log(compare.where(reached, total, 1.0)), -math.inf)


def _shift_states(alpha: Tensor, by: int) -> Tensor:
    """``alpha`` moved ``by`` states to the right along dim 1, -inf coming in."""
    from .creation import full
    from .shape import cat
    n, states = alpha.shape
    fill = full((n, min(by, states)), -math.inf, dtype=alpha.dtype, device=alpha.device)
    return cat([fill, alpha[:, :max(states - by, 0)]], 1)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Connectionist temporal classification loss: -log Σ over alignments of (T, N, C)
    ``log_probs`` (``(T, C)`` unbatched) with each target (padded (N, S) or concatenated),
    by the forward (alpha) recursion in log space. 'mean' divides each loss by its target
    length first. Its gradient with respect to ``log_probs`` is the true one (PyTorch's
    differs by ``exp(log_probs)``, which cancels when ``log_probs`` come from ``log_softmax``,
    the documented use)."""
    from .creation import tensor
    op = "ctc_loss"
    reduction = _reduction(None, None, reduction)
    _check_tensors(op, log_probs=log_probs, targets=targets)
    _float_input(op, log_probs)
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(f"{op}(): Expected 2D or 3D log_probs, got {list(log_probs.shape)}")
    if targets.dtype.is_floating_point or targets.dtype is dtypes.bool:
        raise RuntimeError(f"{op}(): expected integer targets, got {targets.dtype}")
    batched = log_probs.ndim == 3
    lp = log_probs if batched else log_probs.unsqueeze(1)
    steps, n, classes = lp.shape
    if not 0 <= blank < classes:
        raise RuntimeError("blank must be in label range")
    in_lengths = _host_lengths(op, "input_lengths", input_lengths, n)
    tg_lengths = _host_lengths(op, "target_lengths", target_lengths, n)
    _check_ctc_lengths(in_lengths, tg_lengths, steps)
    labels = _ctc_labels(targets, tg_lengths, batched).to(lp.device)  # cpu targets are usual
    extended, skip = _ctc_extended(labels, blank)
    states = extended.shape[1]
    emit = lp.gather(2, extended.unsqueeze(0).expand(steps, n, states))  # (T, N, 2L+1)
    device = lp.device
    start = tensor([[s < 2 and (length > 0 or s == 0) for s in range(states)]
                    for length in in_lengths], dtype=dtypes.bool, device=device)
    empty = tensor([[length == 0] for length in in_lengths], dtype=dtypes.bool, device=device)
    alpha = compare.where(start, compare.where(empty, 0.0, emit[0]), -math.inf)
    for t in range(1, steps):
        active = tensor([[t < length] for length in in_lengths], dtype=dtypes.bool,
                        device=device)
        skipped = compare.where(skip, _shift_states(alpha, 2), -math.inf)
        step = _safe_logsumexp([alpha, _shift_states(alpha, 1), skipped]) + emit[t]
        alpha = compare.where(active, step, alpha)
    last = tensor([[2 * length] for length in tg_lengths], dtype=dtypes.int64, device=device)
    before = tensor([[max(2 * length - 1, 0)] for length in tg_lengths], dtype=dtypes.int64,
                    device=device)
    has_label = tensor([[length > 0] for length in tg_lengths], dtype=dtypes.bool,
                       device=device)
    ends = [alpha.gather(1, last),
            compare.where(has_label, alpha.gather(1, before), -math.inf)]
    loss = -_safe_logsumexp(ends).reshape(n)
    if zero_infinity:
        loss = compare.where(loss == math.inf, 0.0, loss)
    if reduction == "mean":
        divisor = tensor([max(length, 1) for length in tg_lengths], dtype=loss.dtype,
                         device=device)
        return (loss / divisor).mean()
    if reduction == "sum":
        return loss.sum()
    return loss if batched else loss.reshape(())


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """``max(d(a, p) - d(a, n) + margin, 0)`` with ``d`` the pairwise p-distance; ``swap``
    uses ``min(d(a, n), d(p, n))`` as the negative distance."""
    reduction = _reduction(size_average, reduce, reduction)
    return _triplet("triplet_margin_loss", anchor, positive, negative,
                    lambda x1, x2: pairwise_distance(x1, x2, p, eps), margin, swap, reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function=None, margin: float = 1.0,
                                      swap: bool = False, reduction: str = "mean") -> Tensor:
    """``triplet_margin_loss`` with any ``distance_function(x1, x2)`` (default
    ``pairwise_distance``)."""
    reduction = _reduction(None, None, reduction)
    return _triplet("triplet_margin_with_distance_loss", anchor, positive, negative,
                    distance_function or pairwise_distance, margin, swap, reduction)


def _triplet(op: str, anchor: Tensor, positive: Tensor, negative: Tensor, distance,
             margin: float, swap: bool, reduction: str) -> Tensor:
    """The triplet loss with distance function ``distance``, after PyTorch's checks."""
    _check_tensors(op, anchor=anchor, positive=positive, negative=negative)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"{op}(): The anchor, positive, and negative tensors are expected to "
                           f"have the same number of dimensions, but got: anchor {anchor.ndim}D, "
                           f"positive {positive.ndim}D, and negative {negative.ndim}D inputs")
    if margin <= 0:
        raise ValueError(f"{op}(): margin must be greater than 0, got {margin}")
    d_pos = distance(anchor, positive)
    d_neg = distance(anchor, negative)
    if swap:
        d_neg = binary.minimum(d_neg, distance(positive, negative))
    loss = compare.clamp_min(margin + d_pos - d_neg, 0.0)
    return _apply_reduction(loss, reduction)


def _margin_rows(op: str, input: Tensor, target: Tensor) -> Tensor:
    """``input`` as (N, C) rows (a vector is one row), after the checks of the multi-class
    margin losses: a non-empty vector or matrix, int64 targets."""
    _check_tensors(op, input=input, target=target)
    if input.ndim > 2 or input.numel() == 0 and input.ndim < 2:
        raise RuntimeError(f"{op}(): Expected non-empty vector or matrix with optional 0-dim "
                           f"batch size, but got: {list(input.shape)}")
    _float_input(op, input)
    if target.dtype is not dtypes.int64:
        raise RuntimeError(f"expected scalar type Long but found "
                           f"{dtypes.scalar_type_name(target.dtype)}")
    return input.reshape(1, -1) if input.ndim < 2 else input


def _out_of_range(target: Tensor, low: int, high: int) -> bool:
    """Whether a (cpu) ``target`` has a value outside ``[low, high)``; cuda targets are not
    read back (gather checks its indices)."""
    if target.numel() == 0 or target.device.type != "cpu":
        return False
    from .indexing import _index_range
    smallest, largest = _index_range(target)
    return smallest < low or largest >= high


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average=None, reduce=None,
                      reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss: per sample, ``Σ_{j≠y} max(0, margin - x[y] + x[j])^p · w[y] / C``
    (p 1 or 2) for class-index targets ``y``."""
    from .creation import arange
    op = "multi_margin_loss"
    reduction = _reduction(size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    x = _margin_rows(op, input, target)
    n, c = x.shape
    if target.numel() != n or target.ndim > 1:
        raise RuntimeError(f"{op}: target tensor should be 1-D with size equal to the number of "
                           f"input samples (batch size). Expected target size [{n}], but got "
                           f"{list(target.shape)}. Input has shape {list(input.shape)}.")
    if _out_of_range(target, 0, c):
        raise RuntimeError("target out of range")
    t = target.reshape(n, 1)
    z = compare.clamp_min(margin - x.gather(1, t) + x, 0.0)
    if p == 2:
        z = z * z
    if weight is not None:
        check_tensor(op, "weight", weight)
        if tuple(weight.shape) != (c,):
            raise RuntimeError(f"inconsistent weight size, expected {c} but got "
                               f"{list(weight.shape)}")
        z = z * weight.gather(0, target.reshape(n)).reshape(n, 1)
    others = arange(c, device=x.device) != t
    loss = compare.where(others, z, 0.0).sum(1) / c
    return _apply_reduction(loss.reshape(()) if input.ndim < 2 else loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: per sample, ``Σ_{j target, k not target} max(0, 1 - (x[j] -
    x[k])) / C``; each target row lists class indices and ends at its first -1."""
    from .creation import arange
    from .scan import cumsum
    op = "multilabel_margin_loss"
    reduction = _reduction(size_average, reduce, reduction)
    x = _margin_rows(op, input, target)
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    if _out_of_range(target, -1, x.shape[1]):
        raise RuntimeError("argument #2 'target' is out of range")
    t = target.reshape(x.shape)
    listed = cumsum(t == -1, 1) == 0  # the entries before the first -1
    labels = compare.clamp_min(t, 0)
    hits = compare.logical_and(labels.unsqueeze(2) == arange(x.shape[1], device=x.device),
                               listed.unsqueeze(2))
    is_target = hits.any(1)  # (N, C): class k is listed
    hinge = compare.clamp_min(1.0 - x.gather(1, labels).unsqueeze(2) + x.unsqueeze(1), 0.0)
    pairs = compare.logical_and(listed.unsqueeze(2), compare.logical_not(is_target).unsqueeze(1))
    loss = compare.where(pairs, hinge, 0.0).sum((1, 2)) / x.shape[1]
    return _apply_reduction(loss.reshape(()) if input.ndim < 2 else loss, reduction)


register("cross_entropy", "loss", (
    "cross_entropy_forward", "cross_entropy_backward", "sum", "any", "div", "full", "ge",
    "logical_and", "logical_or", "lt", "mean", "ne", "to_numpy", "amin", "amax", "copy_",
    "empty",
))
register("nll_loss", "loss", (
    "nll_loss_forward", "nll_loss_backward", "sum", "any", "div", "full", "ge", "logical_and",
    "logical_or", "lt", "ne", "to_numpy", "amin", "amax", "copy_", "empty",
))
register("mse_loss", "loss", ("sub", "square", "mean", "div", "mul", "neg"))
register("l1_loss", "loss", ("sub", "abs", "mean", "div", "mul", "neg", "sign"))
for _name in ("smooth_l1_loss", "huber_loss"):
    register(_name, "loss", (
        "sub", "abs", "ge", "logical_not", "square", "where", "mean", "add", "div", "mul", "neg",
        "sign",
    ))
register("binary_cross_entropy", "loss", (
    "log", "bce", "bce_backward", "clamp", "mul", "mean", "device_assert", "add", "div", "ge",
    "gt", "logical_not", "logical_or", "lt", "neg", "sub", "where", "log1p", "sum",
))
# the composition's kernel first: a graph capture (compile, ONNX export) records it
register("binary_cross_entropy_with_logits", "loss", (
    "activation", "bce_with_logits", "bce_with_logits_backward", "activation_backward", "mul",
    "mean", "sum", "add", "div", "neg", "sub",
))
register("kl_div", "loss", ("log", "where", "mul", "add", "div", "eq", "mean", "neg", "sub", "exp"))
register("cosine_similarity", "loss", (
    "mul", "div", "sum", "clamp", "add", "eq", "neg", "sqrt", "sub", "where",
))
register("cosine_embedding_loss", "loss", (
    "mul", "sum", "sqrt", "where", "clamp", "add", "div", "eq", "ge", "mean", "neg", "sub",
))
register("margin_ranking_loss", "loss", (
    "sub", "mul", "clamp", "add", "div", "ge", "mean", "neg", "where",
))
register("gaussian_nll_loss", "loss", (
    "add", "any", "clamp", "div", "full", "log", "lt", "mean", "mul", "neg", "pow", "sub",
    "to_numpy",
))
register("poisson_nll_loss", "loss", (
    "add", "div", "exp", "full", "le", "log", "mean", "mul", "neg", "sub", "where",
))
register("soft_margin_loss", "loss", ("add", "div", "exp", "log1p", "mean", "mul", "neg"))
register("multilabel_soft_margin_loss", "loss", (
    "activation", "activation_backward", "add", "div", "mean", "mul", "neg", "sub", "sum",
))
register("hinge_embedding_loss", "loss", (
    "add", "clamp", "div", "ge", "mean", "ne", "neg", "sub", "where",
))
register("pairwise_distance", "loss", (
    "sub", "add", "sum", "div", "eq", "mul", "neg", "sqrt", "where", "abs", "sign",
))
for _name in ("triplet_margin_loss", "triplet_margin_with_distance_loss"):
    register(_name, "loss", (
        "sub", "add", "sum", "clamp", "div", "eq", "ge", "mean", "mul", "neg", "sqrt", "where",
        "gt", "lt", "minimum",
    ))
register("linear_cross_entropy", "loss", (
    "mm", "matmul_epilogue", "cross_entropy_forward", "cross_entropy_backward", "sum", "div",
    "mean", "full", "copy_", "empty", "amax", "amin", "to_numpy",
))
register("ctc_loss", "loss", (
    "from_numpy", "gather", "ne", "logical_and", "full", "copy_", "empty", "where", "amax", "eq",
    "sub", "exp", "sum", "gt", "log", "add", "neg", "div", "mean", "mul", "scatter_add",
    "amin", "to_numpy",
))
register("pdist", "loss", (
    "from_numpy", "gather", "sub", "abs", "pow", "sum", "sqrt", "div", "eq", "mul", "sign", "where",
    "add", "neg", "full", "scatter_add", "amax", "amin", "to_numpy",
))
register("multi_margin_loss", "loss", (
    "gather", "sub", "add", "clamp", "mul", "arange", "ne", "where", "sum", "div", "mean", "amax",
    "amin", "to_numpy", "full", "ge", "neg", "scatter_add",
))
register("multilabel_margin_loss", "loss", (
    "eq", "cumsum", "clamp", "arange", "logical_and", "any", "gather", "sub", "add",
    "logical_not", "where", "sum", "div", "mean", "amax", "amin", "to_numpy", "full", "ge", "neg",
    "scatter_add",
))
del _name


# Under framework.autocast these run in float32 (half-precision inputs cast up).
cross_entropy = full_precision(cross_entropy)
nll_loss = full_precision(nll_loss)
mse_loss = full_precision(mse_loss)
