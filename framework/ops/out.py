"""``out=``: PyTorch's output-argument form of an op, one mechanism for every op that has it.

An op declares it with ``@supports_out`` (which only marks the function: the
op's own calls pay nothing). The public ``framework.<name>`` is the wrapped
form, made when ``framework`` re-exports the op families: ``add(a, b, out=t)``
computes the result, then writes it into ``t`` as PyTorch does:

* ``out`` must be a tensor (a tuple of tensors for ops returning several) on the
  result's device; the result must be castable to its dtype (no float -> int);
* an ``out`` of another shape is resized (a warning when it had elements);
* with grad mode on, no argument (``out`` included) may require grad;
* ``out`` itself is returned (for several outputs, the op's result type of them).
"""
from __future__ import annotations

import functools
import warnings

from .. import dtypes
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..tensor import Tensor

__all__ = ["supports_out", "with_out"]


def supports_out(fn):
    """Mark ``fn`` as having PyTorch's ``out=`` argument (the public name gets it)."""
    fn.supports_out = True
    return fn


def with_out(fn):
    """``fn`` with an ``out=`` keyword argument (see the module docstring)."""
    op = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        _check_no_grad(op, args, kwargs, out)
        result = fn(*args, **kwargs)
        if isinstance(result, tuple):
            return _write_all(op, result, out)
        return _write(op, result, out)
    wrapper.supports_out = True
    kernel = getattr(fn, "same_operand_kernel", None)
    return wrapper if kernel is None else _same_operands_first(fn, wrapper, kernel)


def _same_operands_first(fn, general, kernel: str):
    """The public form of ``add``/``sub``/``mul``/``div`` (ops marked with the kernel name as
    ``same_operand_kernel``): floating tensors of one dtype, shape and device with nothing to
    record, no ``out=`` and no other keyword, go straight to the backend's kernel (the op's
    own first step, ``same_untracked``); anything else to ``general``, the ``out=`` wrapper."""
    from ._pointwise import untracked_call

    public = functools.wraps(fn)(untracked_call(kernel, general, floating_only=True))
    public.supports_out = True
    return public


def _tensors(values):
    for value in values:
        if isinstance(value, Tensor):
            yield value
        elif isinstance(value, (tuple, list)):
            yield from _tensors(value)


def _check_no_grad(op: str, args, kwargs, out) -> None:
    if not is_grad_enabled():
        return
    outs = out if isinstance(out, (tuple, list)) else (out,)
    if any(t.requires_grad for t in _tensors(list(args) + list(kwargs.values()) + list(outs))):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")


def _write_all(op: str, results: tuple, out) -> tuple:
    if not isinstance(out, (tuple, list)) or len(out) != len(results):
        raise TypeError(f"{op}(): argument 'out' must be tuple of {len(results)} Tensors, not "
                        f"{type(out).__name__}")
    written = [_write(op, r, o) for r, o in zip(results, out)]
    kind = type(results)
    return kind(*written) if hasattr(kind, "_fields") else tuple(written)


def _write(op: str, result: Tensor, out) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if out.device != result.device:
        raise RuntimeError(f"Expected out tensor to have device {result.device}, but got "
                           f"{out.device} instead")
    if not dtypes.can_cast(result.dtype, out.dtype):
        raise RuntimeError(f"result type {dtypes.scalar_type_name(result.dtype)} can't be cast to the "
                           f"desired output type {dtypes.scalar_type_name(out.dtype)}")
    if tuple(out.shape) != tuple(result.shape):
        _resize(out, tuple(result.shape))
    with no_grad():
        out.copy_(result)
    return out


def _resize(out: Tensor, shape: tuple) -> None:
    """Give ``out`` new contiguous memory of ``shape`` (PyTorch resizes ``out`` likewise)."""
    if out.numel() != 0:
        warnings.warn(
            f"An output with one or more elements was resized since it had shape "
            f"{list(out.shape)}, which does not match the required output shape {list(shape)}. "
            "This behavior is deprecated, and in a future PyTorch release outputs will not be "
            "resized unless they have zero elements. You can explicitly reuse an out tensor t "
            "by resizing it, inplace, to zero elements with t.resize_(0).", UserWarning,
            stacklevel=4)
    from .creation import empty
    fresh = empty(shape, dtype=out.dtype, device=out.device)
    out._a = fresh._a
    out._base = None

