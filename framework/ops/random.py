"""Random ops: dropout variants, bernoulli, multinomial.

Every draw takes ``(seed, offset)`` from the device's generator (or the
``generator`` given) and advances it, so ``manual_seed`` reproduces a run.
``dropout`` is one fused kernel (contract ``dropout``): element ``i`` is kept
when the counter-based uniform draw at ``offset + i`` is >= p, so the mask is
never stored: the backward runs the same kernel with the saved (seed, offset)
on the gradient. The channel-wise and alpha variants compose a drawn noise
tensor with framework ops, as PyTorch does.
"""
from __future__ import annotations

import math

from .. import dtypes
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..random import generator_for
from .._backends.array import Array
from ..tensor import Tensor
from . import compare
from ._util import backend, broadcast_shapes, check_tensor, wrap
from .registry import register

__all__ = ["bernoulli", "multinomial", "normal"]
FUNCTIONAL = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
              "feature_alpha_dropout"]
TENSOR_METHODS = ("bernoulli", "multinomial")  # t.name(...) calls name(t, ...)

_ALPHA = 1.7580993408473766  # SELU's alpha * scale: alpha_dropout's saturation value


def _generator(device, generator):
    return generator if generator is not None else generator_for(device)


def _check_p(op: str, p) -> float:
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}(): dropout probability has to be between 0 and 1, but got {p}")
    return float(p)


def _check_input(op: str, input) -> None:
    check_tensor(op, "input", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating-point input, got {input.dtype}")


# dropout ---------------------------------------------------------------------------------
class _Dropout(Function):
    """``x * keep / (1 - p)`` with the mask drawn at (seed, offset); linear in ``x``, so the
    backward is the same op (mask regenerated) on the gradient."""

    @staticmethod
    def forward(ctx, x, p, seed, offset):
        ctx.draw = (p, seed, offset)
        # PyTorch: a mask multiply on the CPU, its fused dropout kernel on cuda
        ctx.node_name = "MulBackward0" if x.device.type == "cpu" else "NativeDropoutBackward0"
        return wrap(backend(x).dropout(x._a, p, seed, offset), x.device)

    @staticmethod
    def backward(ctx, grad):
        p, seed, offset = ctx.draw
        return _Dropout.apply(grad, p, seed, offset), None, None, None


def _fused_dropout(x: Tensor, p: float) -> Tensor:
    seed, offset = generator_for(x.device).take(x.numel())
    return _Dropout.apply(x, p, seed, offset)


def _maybe_inplace(op: str, input: Tensor, inplace: bool, compute) -> Tensor:
    if not inplace:
        return compute(input)
    from .inplace import apply_inplace
    return apply_inplace(op, input, compute)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` (training
    only; the input itself is returned in eval mode or for ``p=0``)."""
    op = "dropout"
    p = _check_p(op, p)
    _check_input(op, input)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        return _maybe_inplace(op, input, inplace, lambda x: x * 0.0)
    return _maybe_inplace(op, input, inplace, lambda x: _fused_dropout(x, p))


def _feature_noise(x: Tensor, p: float, lead: int, alpha: bool):
    """Noise shared over the dims after the first ``lead`` ones (the batch and channel dims)."""
    from .creation import rand
    shape = tuple(x.shape[:lead]) + (1,) * (x.ndim - lead)
    return _noise(x, p, rand(shape, dtype=x.dtype, device=x.device), alpha)


def _noise(x: Tensor, p: float, uniform: Tensor, alpha: bool):
    keep = (uniform >= p).to(x.dtype)
    if not alpha:
        return keep / (1.0 - p), None
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1.0) * (1.0 - p))
    return keep * a, (keep - 1.0) * (_ALPHA * a) + _ALPHA * a * p


def _apply_noise(x: Tensor, noise) -> Tensor:
    multiplier, shift = noise
    out = x * multiplier
    return out if shift is None else out + shift


def _composite_dropout(op: str, input: Tensor, p: float, training: bool, inplace: bool,
                       lead: int | None, alpha: bool) -> Tensor:
    """PyTorch's ``_dropout_impl``: elementwise noise (``lead`` None) or noise per index of
    the first ``lead`` dims (channel-wise), multiplied in (alpha dropout: and shifted)."""
    p = _check_p(op, p)
    _check_input(op, input)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        return _maybe_inplace(op, input, inplace, lambda x: x * 0.0)

    def compute(x):
        with no_grad():
            if lead is None:
                from .creation import rand_like
                noise = _noise(x, p, rand_like(x), alpha)
            else:
                noise = _feature_noise(x, p, lead, alpha)
        return _apply_noise(x, noise)
    return _maybe_inplace(op, input, inplace, compute)


def _warn_rank(op: str, input: Tensor, spatial: int) -> None:
    """PyTorch's deprecation warning for a dropout2d/3d input of an unexpected rank."""
    import warnings
    if input.ndim not in (spatial + 1, spatial + 2):
        warnings.warn(f"{op}: Received a {input.ndim}-D input to {op}, which is deprecated and "
                      "will result in an error in a future release. To retain the behavior and "
                      f"silence this warning, please use dropout instead. Note that {op} exists "
                      f"to provide channel-wise dropout on inputs with {spatial} spatial "
                      "dimensions, a channel dimension, and an optional batch dimension.",
                      UserWarning, stacklevel=3)


def _check_feature_input(op: str, input: Tensor, p) -> None:
    _check_p(op, p)
    check_tensor(op, "input", input)
    if input.ndim < 2:
        raise RuntimeError(f"{op}(): Feature dropout requires at least 2 dimensions in the input")


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an (N, C, L) or (C, L) input with probability ``p``."""
    _check_p("dropout1d", p)
    check_tensor("dropout1d", "input", input)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D "
                           "input. Note that dropout1d exists to provide channel-wise dropout on "
                           "inputs with 1 spatial dimension, a channel dimension, and an optional "
                           "batch dimension (i.e. 2D or 3D inputs).")
    lead = 2 if input.ndim == 3 else 1
    return _composite_dropout("dropout1d", input, p, training, inplace, lead, alpha=False)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels (dims 0 and 1 index them) of an (N, C, H, W) input with probability
    ``p``; like PyTorch, a 3-D input is taken as (N, C, L) (with a warning), other ranks warn."""
    _check_feature_input("dropout2d", input, p)
    _warn_rank("dropout2d", input, 2)
    if input.ndim == 3:
        import warnings
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
                      "1D dropout behavior is desired - input is interpreted as shape (N, C, L), "
                      "where C is the channel dim. This behavior will change in a future release "
                      "to interpret the input as one without a batch dimension, i.e. shape "
                      "(C, H, W). To maintain the 1D channel-wise dropout behavior, please switch "
                      "to using dropout1d instead.", UserWarning, stacklevel=2)
    return _composite_dropout("dropout2d", input, p, training, inplace, 2, alpha=False)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of an (N, C, D, H, W) or (C, D, H, W) input with probability ``p``
    (other ranks warn, as in PyTorch; without the batch dim, dim 0 indexes the channels)."""
    _check_p("dropout3d", p)
    check_tensor("dropout3d", "input", input)
    _warn_rank("dropout3d", input, 3)
    lead = 2 if input.ndim == 5 else 1
    return _composite_dropout("dropout3d", input, p, training, inplace, lead, alpha=False)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped elements take SELU's saturation value and the result
    is affinely rescaled to keep zero mean and unit variance."""
    return _composite_dropout("alpha_dropout", input, p, training, inplace, None, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """``alpha_dropout`` of whole channels (dims after the first two share the noise)."""
    _check_feature_input("feature_alpha_dropout", input, p)
    return _composite_dropout("feature_alpha_dropout", input, p, training, inplace, 2, alpha=True)


# bernoulli and multinomial ----------------------------------------------------------------
def _bernoulli_draw(probs: Tensor, shape: tuple, dtype, device, generator) -> Tensor:
    """1 where a uniform draw is below the probability, else 0, as ``dtype``."""
    from .creation import rand
    with no_grad():
        exact = isinstance(probs, Tensor) and probs.dtype is dtypes.float64
        uniform = rand(shape, dtype=dtypes.float64 if exact else dtypes.float32, device=device,
                       generator=generator)
        return (uniform < probs).to(dtype)


def _device_assert(op: str, cond: Tensor, message: str) -> None:
    """``RuntimeError`` unless ``cond`` is all True: at once on cpu, at the next host sync on
    cuda (checked by a kernel: no host read here)."""
    backend(cond).device_assert(cond._a, op, message)


def _check_probabilities(op: str, p: Tensor) -> None:
    with no_grad():
        _device_assert(op, compare.logical_and(p >= 0, p <= 1),  # NaN fails both
                       "Expected p_in >= 0 && p_in <= 1 to be true, but got false.")


def bernoulli(input: Tensor, p: float | None = None, *, generator=None) -> Tensor:
    """0/1 samples: element i is 1 with probability ``input[i]`` (or ``p`` when given),
    in the input's dtype and shape. Not differentiable."""
    op = "bernoulli"
    check_tensor(op, "input", input)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating-point input, got {input.dtype}")
    if p is not None:
        if not 0.0 <= p <= 1.0:
            raise RuntimeError(f"{op}(): bernoulli_ expects p to be in [0, 1], but got p={p}")
        probs = p
    else:
        _check_probabilities(op, input)
        probs = input.detach()
    gen = _generator(input.device, generator)
    return _bernoulli_draw(probs, tuple(input.shape), input.dtype, input.device, gen)


def _check_multinomial(op: str, input: Tensor, num_samples: int, replacement: bool) -> Array:
    """Check ``multinomial``'s arguments and values; return the (R, C) rows of ``input`` (its
    array, or a (1, C) view of a 1-D one)."""
    check_tensor(op, "input", input)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{op}(): prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): multinomial only supports floating-point dtypes for input, "
                           f"got: {input.dtype}")
    if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
        raise RuntimeError(f"{op}(): cannot sample n_sample <= 0 samples")
    C = input.shape[-1]
    if not replacement and num_samples > C:
        raise RuntimeError(f"{op}(): cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if C == 0 or input.numel() == 0:
        raise RuntimeError(f"{op}(): number of categories cannot be zero")
    a = input._a
    rows = a if len(a.shape) == 2 else a.view((1, C), (C * a.strides[0], a.strides[0]), a.offset)
    _check_rows(op, backend(input), rows, num_samples, replacement)
    return rows


def _check_rows(op: str, kernels, a: Array, num_samples: int, replacement: bool) -> None:
    """The value checks of ``multinomial``'s (R, C) ``rows``, by the backend kernels on its
    array (no op layer: a sampling loop calls this once per step): every element finite and
    >= 0 (as ``0 <= x < inf``: NaN fails both), each row's sum > 0 (summed in the rows'
    dtype, as ``rows.sum(1)``) and, without replacement, ``num_samples`` positive elements
    per row (implied by the sum for one sample). The same tests as
    ``isfinite(rows) & (rows >= 0)``, ``rows.sum(1) > 0`` and
    ``(rows > 0).sum(1) >= num_samples`` on tensors (``tests/ops/test_random.py``)."""
    dtype, flag = a.dtype, dtypes.bool
    for finite_nonnegative in (kernels.ge(a, 0, dtype, flag), kernels.lt(a, math.inf, dtype, flag)):
        kernels.device_assert(finite_nonnegative, op,  # (both tests, one message: their and)
                              "probability tensor contains either `inf`, `nan` or element < 0")
    kernels.device_assert(kernels.gt(kernels.sum(a, (1,), dtype), 0, dtype, flag), op,
                          "invalid multinomial distribution (sum of probabilities <= 0)")
    if not replacement and num_samples > 1:
        # (one sample: a row of non-negative numbers with a positive sum has a positive one)
        positive = kernels.sum(kernels.gt(a, 0, dtype, flag), (1,), dtypes.int64)
        kernels.device_assert(kernels.ge(positive, num_samples, dtypes.int64, flag), op,
                              "invalid multinomial distribution (with replacement=False, not "
                              "enough non-negative category to sample)")


def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *,
                generator=None) -> Tensor:
    """``num_samples`` category indices (int64) drawn from each row of the (unnormalized)
    probabilities ``input`` (C,) or (R, C), with or without replacement."""
    op = "multinomial"
    rows = _check_multinomial(op, input, num_samples, replacement)
    draws = rows.shape[0] * (num_samples if replacement else rows.shape[1])
    seed, offset = _generator(input.device, generator).take(draws)
    out = backend(input).multinomial(rows, num_samples, bool(replacement), seed, offset)
    if len(input._a.shape) == 1:  # (1, num_samples) -> (num_samples,)
        out = out.view((num_samples,), (out.strides[1],), out.offset)
    return wrap(out, input.device)


register("dropout", "random", ("dropout",))
for _name in ("dropout1d", "dropout2d", "dropout3d"):
    register(_name, "random", ("rand", "ge", "mul", "copy_", "div", "empty"))
for _name in ("alpha_dropout", "feature_alpha_dropout"):
    register(_name, "random", ("rand", "ge", "mul", "add", "copy_", "empty", "sub"))
register("bernoulli", "random", (
    "rand", "lt", "device_assert", "copy_", "empty", "ge", "le", "logical_and",
), differentiable=False)
register("multinomial", "random", (
    "multinomial", "device_assert", "ge", "gt", "lt", "sum",
), differentiable=False)
del _name


# normal ------------------------------------------------------------------------------------
def _check_std(std) -> None:
    if isinstance(std, Tensor):
        with no_grad():
            _device_assert("normal", std >= 0, "normal expects all elements of std >= 0.0")
    elif not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Normal samples of ``mean`` and ``std`` (``torch.normal``). Either is a tensor (the
    result has their broadcast shape, dtype and device; one draw per element), or both are
    numbers and ``size`` gives the shape. Not differentiable (a sample, as in torch)."""
    from .creation import randn
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal(): with a number mean and a number std, give size= (or "
                            "pass a tensor mean or std)")
        _check_std(std)
        with no_grad():
            sample = randn(size, dtype=dtype, device=device, generator=generator) * std + mean
        return sample.requires_grad_(requires_grad)
    if size is not None:
        raise TypeError("normal(): size= is only taken with a number mean and a number std")
    like = mean if isinstance(mean, Tensor) else std
    _check_std(std)
    with no_grad():
        mean = mean.detach() if isinstance(mean, Tensor) else mean
        std = std.detach() if isinstance(std, Tensor) else std
        shape = broadcast_shapes("normal", *(tuple(t.shape) for t in (mean, std)
                                                if isinstance(t, Tensor)))
        noise = randn(shape, dtype=like.dtype, device=like.device,
                      generator=_generator(like.device, generator))
        return noise * std + mean
register("normal", "random", ("randn", "mul", "add", "ge", "device_assert"), differentiable=False)
