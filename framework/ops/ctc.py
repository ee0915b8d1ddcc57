"""Connectionist temporal classification loss (``F.ctc_loss``), a composite of framework ops.

The forward (alpha) recursion of Graves et al. runs in log space over the extended label
sequence ``blank, l1, blank, l2, ..., blank`` (length 2S + 1), for every sequence of the
batch at once, one time step per iteration:

    alpha_t(s) = logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), [alpha_{t-1}(s-2)]) + lp_t(l'_s)

(the s-2 term where l'_s is a label differing from l'_{s-2}). A sequence past its input
length keeps its alphas. The loss is -logsumexp of the last two states at the sequence's
own length. Autograd differentiates the recursion (the backward pass is the beta
recursion in effect), so gradients of any order come from the ops.

Unreachable states hold a large negative finite log-probability (``_NEVER``) rather than
-inf, so no 0 * inf appears in the gradients; a loss that stays that low is an impossible
alignment, reported as +inf (or 0 with ``zero_infinity``), as PyTorch's.

PyTorch's own gradient with respect to ``log_probs`` is known to differ from the true one
by ``exp(log_probs)`` (it folds in a log_softmax's backward); this one is the true
gradient: both give the same gradient through ``log_softmax`` of logits, the usual setup.
"""
from __future__ import annotations

from .. import dtypes
from ..tensor import Tensor
from . import binary, compare, reduce, shape, unary
from ._util import check_tensor

_NEVER = -1e30  # the log-probability of an unreachable state (finite: exp() gives 0)
_IMPOSSIBLE = -1e29  # a final log-likelihood below this is an impossible alignment


def _lengths(op: str, name: str, value, count: int) -> list:
    """``value`` (a 1-D integer tensor, list or tuple) as ``count`` Python ints."""
    if isinstance(value, Tensor):
        if value.dtype.is_floating_point:
            raise RuntimeError(f"{op}(): {name} must be integers, got {value.dtype}")
        value = value.reshape(-1).tolist()
    values = [int(v) for v in value]
    if len(values) != count:
        raise RuntimeError(f"{op}(): Expected {name} to have {count} elements (one per "
                           f"sequence) but got {len(values)}")
    return values


def _padded_targets(op: str, targets: Tensor, target_lengths: list, batch: int) -> Tensor:
    """The (N, S_max) int64 targets, from padded (N, S) or concatenated 1-D form."""
    if targets.ndim == 2:
        if targets.shape[0] != batch:
            raise RuntimeError(f"{op}(): Expected targets to have {batch} rows (the batch), "
                               f"got {targets.shape[0]}")
        longest = max(target_lengths, default=0)
        if longest > targets.shape[1]:
            raise RuntimeError(f"{op}(): Expected tensor to have size at least {longest} at "
                               f"dimension 1, but got size {targets.shape[1]} for argument "
                               f"#2 'targets'")
        return targets.to(dtypes.int64)
    if targets.ndim != 1:
        raise RuntimeError(f"{op}(): targets must be 1-D (concatenated) or 2-D (padded), got "
                           f"{targets.ndim} dimensions")
    total = sum(target_lengths)
    if targets.shape[0] < total:
        raise RuntimeError(f"{op}(): the concatenated targets hold {targets.shape[0]} labels "
                           f"but target_lengths add up to {total}")
    longest = max(target_lengths, default=0)
    rows, start = [], 0
    from .creation import zeros
    for length in target_lengths:
        row = targets[start:start + length].to(dtypes.int64)
        pad = zeros(longest - length, dtype=dtypes.int64, device=targets.device)
        rows.append(shape.cat([row, pad], 0))
        start += length
    return shape.stack(rows, 0)


def _extended(labels: Tensor, blank: int) -> Tensor:
    """(N, 2S + 1) extended label sequences: blanks around and between the labels."""
    from .creation import full
    n, s = labels.shape
    blanks = full((n, s), blank, dtype=dtypes.int64, device=labels.device)
    interleaved = shape.stack([blanks, labels], 2).reshape(n, 2 * s)
    edge = full((n, 1), blank, dtype=dtypes.int64, device=labels.device)
    return shape.cat([interleaved, edge], 1)


def _shifted(alpha: Tensor, by: int) -> Tensor:
    """``alpha`` moved ``by`` states up along the last dim, ``_NEVER`` coming in."""
    from .creation import full
    n, width = alpha.shape
    fill = full((n, min(by, width)), _NEVER, dtype=alpha.dtype, device=alpha.device)
    return shape.cat([fill, shape.narrow(alpha, 1, 0, max(width - by, 0))], 1)


def _logsumexp3(a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """log(e^a + e^b + e^c) elementwise (finite inputs)."""
    top = binary.maximum(binary.maximum(a, b), c)
    total = binary.add(binary.add(unary.exp(binary.sub(a, top)), unary.exp(binary.sub(b, top))),
                       unary.exp(binary.sub(c, top)))
    return binary.add(top, unary.log(total))


def _log_likelihoods(log_probs: Tensor, ext: Tensor, skip: Tensor, input_lengths: list,
                     target_lengths: list) -> Tensor:
    """(N,) log p(target | input) by the alpha recursion (``_NEVER``-ish when impossible)."""
    from .creation import full, tensor
    steps, batch, _ = log_probs.shape
    width = ext.shape[1]
    index = ext.unsqueeze(0).expand(steps, batch, width)
    emissions = log_probs.gather(2, index)  # (T, N, 2S + 1): lp_t(l'_s)
    emissions = binary.maximum(emissions, _NEVER)
    start = full((batch, width), _NEVER, dtype=log_probs.dtype, device=log_probs.device)
    first = shape.narrow(emissions[0], 1, 0, min(2, width))
    alpha = shape.cat([first, shape.narrow(start, 1, 0, width - first.shape[1])], 1)
    never = full((batch, width), _NEVER, dtype=log_probs.dtype, device=log_probs.device)
    lengths = tensor(input_lengths, dtype=dtypes.int64, device=log_probs.device).unsqueeze(1)
    for t in range(1, max(input_lengths, default=0)):
        two_back = compare.where(skip, _shifted(alpha, 2), never)
        moved = binary.add(_logsumexp3(alpha, _shifted(alpha, 1), two_back), emissions[t])
        alpha = compare.where(compare.gt(lengths, t), moved, alpha)
    last = tensor([2 * s for s in target_lengths], dtype=dtypes.int64,
                  device=log_probs.device).unsqueeze(1)
    end = alpha.gather(1, last).squeeze(1)
    before = alpha.gather(1, compare.clamp(binary.sub(last, 1), min=0)).squeeze(1)
    has_label = tensor([s > 0 for s in target_lengths], device=log_probs.device)
    before = compare.where(has_label, before, _NEVER)
    top = binary.maximum(end, before)
    pair = binary.add(unary.exp(binary.sub(end, top)), unary.exp(binary.sub(before, top)))
    likelihood = binary.add(top, unary.log(pair))
    empty = tensor([t == 0 for t in input_lengths], device=log_probs.device)  # no frames:
    nothing = compare.where(has_label, _NEVER, 0.0)  # only an empty target, with certainty
    return compare.where(empty, nothing, likelihood)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """The CTC loss of ``log_probs`` (T, N, C) (or (T, C) unbatched) against ``targets``
    (padded (N, S) or concatenated 1-D), PyTorch's semantics: ``'mean'`` divides each
    sequence's loss by its target length (at least 1), then averages over the batch;
    impossible alignments give +inf, or 0 with ``zero_infinity``."""
    op = "ctc_loss"
    check_tensor(op, "log_probs", log_probs)
    check_tensor(op, "targets", targets)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if not log_probs.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating-point log_probs, got {log_probs.dtype}")
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0) if targets.ndim == 1 else targets
    if log_probs.ndim != 3:
        raise RuntimeError(f"{op}(): log_probs must be (T, N, C) or (T, C), got "
                           f"{log_probs.ndim} dimensions")
    steps, batch, classes = log_probs.shape
    if not 0 <= blank < classes:
        raise RuntimeError(f"{op}(): blank must be in label range, got blank={blank} for "
                           f"{classes} classes")
    inputs = _lengths(op, "input_lengths", input_lengths, batch)
    labels = _lengths(op, "target_lengths", target_lengths, batch)
    for length in inputs:
        if not 0 <= length <= steps:
            raise RuntimeError(f"{op}(): Expected input_lengths to have value at most {steps}, "
                               f"but got value {length}")
    if any(length < 0 for length in labels):
        raise RuntimeError(f"{op}(): target_lengths must be non-negative")
    padded = _padded_targets(op, targets, labels, batch)
    if padded.shape[1] == 0:
        from .creation import zeros
        padded = zeros(batch, 0, dtype=dtypes.int64, device=padded.device)
    ext = _extended(padded, blank)
    skip = _skips(ext, blank)
    likelihood = _log_likelihoods(log_probs, ext, skip, inputs, labels)
    impossible = compare.lt(likelihood, _IMPOSSIBLE)
    loss = compare.where(impossible, 0.0 if zero_infinity else float("inf"),
                         unary.neg(likelihood))
    if reduction == "none":
        return loss.squeeze(0) if unbatched else loss
    if reduction == "sum":
        return reduce.sum(loss)
    from .creation import tensor
    divisor = tensor([max(s, 1) for s in labels], dtype=loss.dtype, device=loss.device)
    return reduce.mean(binary.div(loss, divisor))


def _skips(ext: Tensor, blank: int) -> Tensor:
    """(N, 2S + 1) bool: the states that may also be entered from two states back (a label
    differing from the label before it)."""
    from .creation import full
    n, width = ext.shape
    earlier = shape.cat([full((n, min(2, width)), blank, dtype=dtypes.int64, device=ext.device),
                         shape.narrow(ext, 1, 0, max(width - 2, 0))], 1)
    return compare.ne(ext, blank) & compare.ne(ext, earlier)
