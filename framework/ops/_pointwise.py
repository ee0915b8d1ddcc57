"""Operand handling and the fast path shared by the elementwise op modules.

``framework.ops.unary``, ``binary`` and ``compare`` take tensors or Python
numbers (``_operand``), put them on one device and check broadcasting
(``_operands``), and pick result dtypes with PyTorch's promotion rules. Two
helpers serve the common case of all three without repeating it:
``promote`` (the operands and result dtype of a binary op: two tensors of
one dtype on one device, or a floating tensor and a Python number, need no
conversion) and ``untracked`` (no graph to record: the backend kernel is
called and its array wrapped directly). ``tensor_operator`` and
``reflected_operator`` make ``Tensor``'s ``+ - * /``, which run the
commonest calls (plain untracked tensors of one dtype, device and shape, or
a floating tensor and a Python number) straight to the kernel. The gradient
helpers (``_grad_for``, ``_Saved``) are shared too.
"""
from __future__ import annotations

import numbers

from .. import _backends, dtypes
from .._backends import for_device
from ..autograd.grad_mode import _state as _grad_state
from ..devices import CPU
from ..tensor import Tensor
from ._util import broadcast_shapes, common_device


Operand = "Tensor | bool | int | float"  # a tensor or a Python number


# ---------------------------------------------------------------------------------------
# Operand handling
# ---------------------------------------------------------------------------------------
def _scalar(x):
    """``x`` as a Python bool/int/float, or None when it is not a real number."""
    if isinstance(x, (bool, int, float)):
        return x
    if type(x).__module__ == "numpy" and getattr(x, "shape", None) == () and hasattr(x, "item"):
        value = x.item()  # NumPy scalar (np.bool_ is not a numbers.Number)
        return value if isinstance(value, (bool, int, float)) else None
    if isinstance(x, numbers.Real):
        return float(x)
    return None


def _operand(op: str, name: str, x):
    """A tensor or Python number; ``TypeError`` naming the op and argument otherwise."""
    if isinstance(x, Tensor):
        return x
    value = _scalar(x)
    if value is None:
        raise TypeError(f"{op}(): argument '{name}' must be Tensor or Number, not "
                        f"{type(x).__name__}")
    return value


def _shape(x) -> tuple:
    return x._a.shape if isinstance(x, Tensor) else ()


def _on(x, device):
    """A tensor moved to ``device`` (differentiably), or a scalar unchanged."""
    if isinstance(x, Tensor) and x._device != device:
        return x.to(device)
    return x


def _tracked(t: Tensor) -> bool:
    """``t.requires_grad`` without the property calls (``grad_fn`` only matters on views)."""
    return t._requires_grad or (t._grad_fn if t._base is None else t.grad_fn) is not None


def _arr(x):
    return x._a if isinstance(x, Tensor) else x


def _operands(op: str, names: tuple, values: tuple) -> tuple:
    """Validate, put on one device and check broadcasting; returns ``(operands, device)``."""
    xs = [_operand(op, n, v) for n, v in zip(names, values)]
    if not any(isinstance(x, Tensor) for x in xs):
        from .creation import tensor
        xs[0] = tensor(xs[0])  # torch.add(2, 3) is a 0-d tensor
    device = common_device(op, *xs)
    xs = [_on(x, device) for x in xs]
    broadcast_shapes(op, *(_shape(x) for x in xs))
    return xs, device


def _first_tensor(*xs) -> Tensor:
    return next(x for x in xs if isinstance(x, Tensor))


def _reject_bool(op: str, x: Tensor, message: str = "") -> None:
    if x.dtype is dtypes.bool:
        raise RuntimeError(message or f"{op}(): not supported for bool tensors")


def _require_float(op: str, x: Tensor) -> None:
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating-point tensor, got {x.dtype}")


def _meta(x):
    """``(shape, dtype)`` of a tensor operand (what its gradient must match), None for numbers."""
    return (tuple(x._a.shape), x._a.dtype) if isinstance(x, Tensor) else None


def _grad_for(grad, meta, needed: bool):
    """``grad`` summed back to an operand's shape and cast to its dtype (None when not needed).

    ``meta`` is the operand's ``_meta`` (or the operand itself).
    """
    if isinstance(meta, Tensor):
        meta = _meta(meta)
    if not needed or meta is None or grad is None:
        return None
    shape, dtype = meta
    if tuple(grad._a.shape) != shape:  # grad.shape without the Size
        from .reduce import sum_to_size
        grad = sum_to_size(grad, shape)
    if grad._a.dtype is not dtype:
        grad = grad.to(dtype)
    return grad


class _Saved:
    """Save a mix of tensors and numbers on ``ctx``; tensors only where ``keep`` says so."""

    @staticmethod
    def save(ctx, values, keep) -> None:
        ctx.save_for_backward(*[v if k and isinstance(v, Tensor) else None
                                for v, k in zip(values, keep)])
        ctx.consts = tuple([None if isinstance(v, Tensor) else v for v in values])

    @staticmethod
    def load(ctx) -> tuple:
        return tuple([t if t is not None else c for t, c in zip(ctx.saved_tensors, ctx.consts)])


def _fast_result_type(op: str, a, b) -> "dtypes.dtype | None":
    """The result dtype of ``a (op) b`` in the common cases that need no conversion, else None.

    The common cases: two tensors of one dtype on one device (broadcasting is
    checked here), or a floating tensor with a Python int/float. Anything else
    (None) goes through ``_operands`` and ``dtypes.result_type``, which give
    the same answer for these cases, more slowly.
    """
    a_is_tensor = isinstance(a, Tensor)
    if a_is_tensor and isinstance(b, Tensor):
        array_a, array_b = a._a, b._a
        dtype = array_a.dtype
        if dtype is not array_b.dtype or not (a._device is b._device or a._device == b._device):
            return None
        if array_a.shape != array_b.shape:
            broadcast_shapes(op, array_a.shape, array_b.shape)
        return dtype
    tensor, number = (a, b) if a_is_tensor else (b, a)
    kind = type(number)
    if (kind is float or kind is int) and isinstance(tensor, Tensor):
        dtype = tensor._a.dtype
        return dtype if dtype.is_floating_point else None
    return None


# ---------------------------------------------------------------------------------------
# The fast path shared by the unary, binary and compare ops
# ---------------------------------------------------------------------------------------
def promote(op: str, input, other) -> tuple:
    """``(input, other, result dtype)`` of a binary elementwise op ``op``.

    Two tensors of one dtype, device and shape return at once; the other
    common cases (``_fast_result_type``) need no conversion either; anything
    else is validated, put on one device and promoted by PyTorch's rules.
    """
    if (type(input) is Tensor and type(other) is Tensor and input._a.dtype is other._a.dtype
            and input._device is other._device and input._a.shape == other._a.shape):
        return input, other, input._a.dtype
    result = _fast_result_type(op, input, other)
    if result is None:
        (input, other), _ = _operands(op, ("input", "other"), (input, other))
        result = dtypes.result_type(input, other)
    return input, other, result


def untracked(kernel: str, device, *args, **params) -> Tensor:
    """Run contract ``kernel`` of ``device`` on ``args`` (``Array``s and numbers) and wrap the
    result: an elementwise op when no graph is recorded (``Tensor._make``, inlined)."""
    out = object.__new__(Tensor)
    out._a = getattr(for_device(device), kernel)(*args, **params)
    out._device = device
    out._requires_grad = False
    return out


def untracked_unary(kernel: str, x: Tensor, out_dtype) -> Tensor:
    """``untracked(kernel, x._device, x._a, out_dtype)`` for a unary kernel, with the NumPy
    backend found without ``for_device``'s call."""
    device = x._device
    backend = _LOADED.get("numpy") if device is CPU else None
    out = _new(Tensor)
    out._a = getattr(backend or for_device(device), kernel)(x._a, out_dtype)
    out._device = device
    out._requires_grad = False
    return out


def untracked_call(kernel: str, general=None, floating_only: bool = False):
    """``call(input, other, *, out=None, **kwargs)``: ``kernel(input, other)`` straight
    through the backend when both are plain tensors (``floating_only``: of a floating dtype)
    of one dtype, device and shape, no graph is recorded and no keyword is given (the
    commonest call of ``+ - * /``); else ``general(input, other, out=out, **kwargs)`` (None
    without ``general``).

    The same kernel call and result as ``promote`` then ``untracked`` give for these
    operands (result dtype = compute dtype = the operands' dtype), in one Python call: the
    public ``framework.add``/``sub``/``mul``/``div`` are such calls with their ``out=`` form
    as ``general`` (``bench/cpu_targets.py``'s dispatch row times ``framework.add``), and
    ``same_untracked`` asks one without."""
    def call(input, other, *, out=None, **kwargs):
        if out is None and not kwargs and type(input) is Tensor and type(other) is Tensor:
            x, y = input._a, other._a
            dtype = x.dtype
            device = input._device
            if dtype is y.dtype and device is other._device and x.shape == y.shape and (
                    dtype.is_floating_point or not floating_only) and not (
                        _grad_state.enabled and (
                            # _tracked(input) or _tracked(other), inlined
                            (input._requires_grad or (input._grad_fn if input._base is None
                                                      else input.grad_fn) is not None)
                            or (other._requires_grad or (other._grad_fn if other._base is None
                                                         else other.grad_fn) is not None))):
                backend = _LOADED.get("numpy") if device is CPU else None
                result = _new(Tensor)
                result._a = getattr(backend or for_device(device), kernel)(x, y, dtype, dtype)
                result._device = device
                result._requires_grad = False
                return result
        return None if general is None else general(input, other, out=out, **kwargs)
    return call


_SAME_UNTRACKED = {kernel: untracked_call(kernel) for kernel in ("add", "sub", "mul", "div")}


def same_untracked(kernel: str, a, b) -> "Tensor | None":
    """``kernel(a, b)`` (``add``, ``sub``, ``mul`` or ``div``) when ``a`` and ``b`` are plain
    tensors of one dtype, device and shape and no graph is recorded, else None
    (``untracked_call``)."""
    return _SAME_UNTRACKED[kernel](a, b)


_INT64 = dtypes.int64
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _ints_ok(kernel: str, dtypes_ok: frozenset) -> bool:
    """Whether an operator's int64 tensor and Python int (in int64's range) go straight to
    ``kernel``: for ``+ - *``, whose result is then int64, computed in int64 (PyTorch's
    promotion: a Python int does not widen an integer tensor)."""
    return kernel in ("add", "sub", "mul") and _INT64 in dtypes_ok


def _int64_with_int(kernel: str, a, b, device) -> Tensor:
    """``kernel(a, b)`` of an int64 ``Array`` and a Python int (either order) as a plain
    int64 tensor: the call the general path makes for them (an index computation such as
    ``i + T`` of a 0-d tensor; integer tensors never record a graph)."""
    backend = _LOADED.get("numpy") if device is CPU else None
    out = _new(Tensor)
    out._a = getattr(backend or for_device(device), kernel)(a, b, _INT64, _INT64)
    out._device = device
    out._requires_grad = False
    return out


def tensor_operator(kernel: str, general, dtypes_ok: frozenset, name: str, fn_cls=None):
    """``Tensor.__add__`` and its siblings: ``general(self, other)`` (the op), with the
    commonest calls run straight through the backend's ``kernel``.

    Those calls record no graph (grad mode off, or operands that neither require grad
    nor have a node nor are views) and are two ``Tensor``s (not subclasses) of one
    dtype in ``dtypes_ok``, one device and one shape, or such a tensor of a floating
    dtype in ``dtypes_ok`` with a Python int or float: the kernel call ``general``
    makes for them (result dtype = compute dtype = the tensor's dtype) without the op's
    calls. Everything else (broadcasting, promotion, subclasses, views and tracked
    operands while grad mode is on, errors) is ``general``'s, except that the same
    operands with one that requires grad (or has a node) go straight to the recorded path
    of ``fn_cls`` (the op's ``_Binary``), where ``general`` ends for them.
    """
    numbers_ok = dtypes_ok & _FLOATING
    ints_ok = _ints_ok(kernel, dtypes_ok)

    def operator(self, other):
        kind = type(other)
        if type(self) is Tensor:
            x = self._a
            dtype = x.dtype
            if kind is Tensor:
                y = other._a
                device = self._device
                if (dtype is y.dtype and device is other._device and x.shape == y.shape
                        and dtype in dtypes_ok):
                    # plain (no grad, no node, not a view), or grad mode off; the
                    # thread-local grad mode is the dearer read, so it comes second
                    if not (self._requires_grad or other._requires_grad
                            or self._grad_fn is not None or other._grad_fn is not None
                            or self._base is not None or other._base is not None) or not (
                            _grad_state.enabled):
                        backend = _LOADED.get("numpy") if device is CPU else None
                        out = _new(Tensor)  # Tensor._make, inlined
                        out._a = getattr(backend or for_device(device), kernel)(
                            x, y, dtype, dtype)
                        out._device = device
                        out._requires_grad = False
                        return out
                    if fn_cls is not None:
                        # _tracked(self), _tracked(other), inlined (grad mode is on here)
                        need_a = self._requires_grad or (
                            self._grad_fn if self._base is None else self.grad_fn) is not None
                        need_b = other._requires_grad or (
                            other._grad_fn if other._base is None else other.grad_fn) is not None
                        if need_a or need_b:
                            return fn_cls._record(self, other, dtype, dtype, True, True,
                                                  need_a, need_b)
            elif (kind is float or kind is int) and dtype in numbers_ok:
                if not (self._requires_grad or self._grad_fn is not None
                        or self._base is not None) or not _grad_state.enabled:
                    device = self._device
                    backend = _LOADED.get("numpy") if device is CPU else None
                    out = _new(Tensor)
                    out._a = getattr(backend or for_device(device), kernel)(
                        x, other, dtype, dtype)
                    out._device = device
                    out._requires_grad = False
                    return out
                if fn_cls is not None and (self._requires_grad or (
                        self._grad_fn if self._base is None else self.grad_fn) is not None):
                    return fn_cls._record(self, other, dtype, dtype, True, False, True, False)
            elif kind is int and ints_ok and dtype is _INT64 and \
                    _INT64_MIN <= other <= _INT64_MAX:
                return _int64_with_int(kernel, x, other, self._device)
        return general(self, other)
    operator.__name__ = name
    operator.__qualname__ = f"Tensor.{name}"
    operator.__doc__ = f"``{general.__name__}(self, other)``."
    return operator


def reflected_operator(kernel: str, general, dtypes_ok: frozenset, name: str, fn_cls=None):
    """``Tensor.__radd__`` and its siblings: ``general(other, self)`` (``other`` is not a
    tensor, or a tensor subclass), with a Python int or float and an untracked plain tensor
    of a floating dtype in ``dtypes_ok`` run straight through the backend's ``kernel``
    (and, given ``fn_cls``, such a tensor that requires grad straight to its recorded
    path, where ``general`` ends for it)."""
    numbers_ok = dtypes_ok & _FLOATING
    ints_ok = _ints_ok(kernel, dtypes_ok)

    def operator(self, other):
        kind = type(other)
        if (kind is float or kind is int) and type(self) is Tensor:
            x = self._a
            dtype = x.dtype
            if dtype in numbers_ok:
                if not (self._requires_grad or self._grad_fn is not None
                        or self._base is not None) or not _grad_state.enabled:
                    device = self._device
                    backend = _LOADED.get("numpy") if device is CPU else None
                    out = _new(Tensor)
                    out._a = getattr(backend or for_device(device), kernel)(
                        other, x, dtype, dtype)
                    out._device = device
                    out._requires_grad = False
                    return out
                if fn_cls is not None and (self._requires_grad or (
                        self._grad_fn if self._base is None else self.grad_fn) is not None):
                    return fn_cls._record(other, self, dtype, dtype, False, True, False, True)
            elif kind is int and ints_ok and dtype is _INT64 and \
                    _INT64_MIN <= other <= _INT64_MAX:
                return _int64_with_int(kernel, other, x, self._device)
        return general(other, self)
    operator.__name__ = name
    operator.__qualname__ = f"Tensor.{name}"
    operator.__doc__ = f"``{general.__name__}(other, self)``."
    return operator


_new = object.__new__
# the loaded backends by name (``_backends._loaded``, the dict itself: the compiler's tracer
# puts its recording backend there), read for CPU tensors instead of calling ``for_device``
_LOADED = _backends._loaded
_FLOATING = frozenset(d for d in dtypes.ALL_DTYPES if d.is_floating_point)
