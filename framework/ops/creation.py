"""Tensor creation: from data, constant fills, ranges and random draws."""
from __future__ import annotations

import math
import numbers

from .. import dtypes
from ..autograd.grad_mode import no_grad
from .._backends import for_device, host
from ..devices import CPU, as_device, get_default_device
from ..random import generator_for
from ..tensor import Size, Tensor
from ._util import wrap
from .registry import register

__all__ = ["tensor", "as_tensor", "from_numpy", "full", "zeros", "ones", "empty", "zeros_like",
           "ones_like", "full_like", "empty_like", "rand_like", "randn_like", "randint_like",
           "arange", "linspace", "logspace", "eye", "rand", "randn", "randint",
           "randperm", "triu_indices", "tril_indices"]  # exported as framework.<name>
TENSOR_METHODS: tuple = ()  # Tensor methods this module adds (framework/__init__.py)

# The kernels each creation op calls (tests/test_registry_kernels.py records them): a copy of
# host data in (``from_numpy``; ``to_numpy`` reads a tensor given as data), a fill, or a draw.
register("tensor", "creation", ("from_numpy", "to_numpy"), differentiable=False)
register("as_tensor", "creation", ("from_numpy", "empty", "copy_"), differentiable=False)
register("from_numpy", "creation", (), differentiable=False)  # shares the array's memory
for _name in ("full", "zeros", "ones", "full_like", "zeros_like", "ones_like"):
    register(_name, "creation", ("full",), differentiable=False)
for _name in ("empty", "empty_like"):
    register(_name, "creation", ("empty",), differentiable=False)
for _name in ("rand", "randn", "randint", "arange", "linspace", "eye"):
    register(_name, "creation", (_name,), differentiable=False)
for _name in ("rand", "randn", "randint"):
    register(f"{_name}_like", "creation", (_name,), differentiable=False)
register("logspace", "creation", ("linspace", "pow", "empty", "copy_"), differentiable=False)
register("randperm", "creation", ("rand", "sort", "to_numpy", "from_numpy"), differentiable=False)
del _name


def _device(device) -> "object":
    return get_default_device() if device is None else as_device(device)


def _size(op: str, size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list, Size)):
        size = tuple(size[0])
    shape = []
    for s in size:
        if isinstance(s, Tensor):
            s = int(s.item())
        # ``type(s) is int`` first: an ABC isinstance costs ~10x more, and zeros/full/empty
        # with int sizes are on every backward's hot path
        if type(s) is not int and (not isinstance(s, numbers.Integral) or isinstance(s, bool)):
            raise TypeError(f"{op}(): size must be a sequence of ints, got {type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"{op}(): Trying to create tensor with negative dimension {s}: {list(size)}")
        shape.append(int(s))
    return tuple(shape)


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_dtype(data) -> dtypes.dtype:
    """Element type ``tensor()`` picks: from an array's dtype, else from Python values."""
    array_dtype = host.array_dtype(data)
    if array_dtype is not None:
        return array_dtype
    flat = _flatten(data)
    if any(isinstance(v, Tensor) for v in flat):
        return _promote_all([v.dtype if isinstance(v, Tensor) else dtypes._scalar_dtype(v)
                             for v in flat])
    if not flat:
        return dtypes.get_default_dtype()
    kinds = [dtypes._scalar_dtype(v) for v in flat]
    return _promote_all(kinds)


def _promote_all(kinds) -> dtypes.dtype:
    result = kinds[0]
    for k in kinds[1:]:
        result = dtypes.promote_types(result, k)
    return result


def _flatten(data) -> list:
    if isinstance(data, (list, tuple)):
        out = []
        for item in data:
            out.extend(_flatten(item))
        return out
    return [data]


def _host_array(data, dtype: dtypes.dtype):
    """``data`` as a host array of ``dtype`` (``framework._backends.host`` does the NumPy part)."""
    if isinstance(data, Tensor):
        return host.cast(data.detach()._host(), dtype)
    if isinstance(data, (list, tuple)) and any(isinstance(v, Tensor) for v in _flatten(data)):
        data = _replace_tensors(data)
    return host.to_host_array(data, dtype)


def _replace_tensors(data):
    if isinstance(data, (list, tuple)):
        return [_replace_tensors(v) for v in data]
    if isinstance(data, Tensor):
        return data.detach()._host().tolist()
    return data


def tensor(data, dtype: dtypes.dtype | None = None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor copying ``data`` (nested lists, numbers, NumPy arrays or tensors)."""
    if isinstance(data, (str, bytes)) or data is None:
        raise TypeError(f"tensor(): could not infer dtype of {type(data).__name__}")
    dtype = dtypes.as_dtype(dtype, "tensor")
    if isinstance(data, range):
        data = list(data)
    if dtype is None:
        dtype = data.dtype if isinstance(data, Tensor) else _infer_dtype(data)
    if device is None and isinstance(data, Tensor):
        device = data.device
    dev = _device(device)
    t = wrap(for_device(dev).from_numpy(_host_array(data, dtype), dtype), dev)
    return _finish(t, requires_grad)


def as_tensor(data, dtype: dtypes.dtype | None = None, device=None) -> Tensor:
    """``data`` itself when it already is a tensor of that dtype/device, else a new tensor."""
    if isinstance(data, Tensor):
        target = data
        if dtype is not None and dtype is not data.dtype:
            target = target.to(dtype)
        if device is not None and as_device(device) != data.device:
            target = target.to(as_device(device))
        return target
    if host.is_array(data) and _device(device) == CPU and (
            dtype is None or host.has_dtype(data, dtype)):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: "numpy.ndarray") -> Tensor:
    """A CPU tensor sharing memory with a NumPy array."""
    if not host.is_array(array):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtype = host.array_dtype(array)
    if not host.has_dtype(array, dtype):
        return tensor(array, dtype=dtype)
    host.check_shareable(array)
    if array.size == 0:
        return tensor(array, dtype=dtype)
    return wrap(host.share(array), CPU)


def _dtype_or_default(dtype) -> dtypes.dtype:
    return dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)


def full(size, fill_value, dtype: dtypes.dtype | None = None, device=None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``."""
    if not isinstance(size, (tuple, list, Size)):
        raise TypeError(f"full(): argument 'size' must be tuple of ints, not {type(size).__name__}")
    shape = _size("full", (size,))
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    dtype = dtypes.as_dtype(dtype, "full")
    if dtype is None:
        dtype = dtypes._scalar_dtype(fill_value)
    dev = _device(device)
    return _finish(wrap(for_device(dev).full(shape, fill_value, dtype), dev), requires_grad)


def zeros(*size, dtype: dtypes.dtype | None = None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros."""
    dev = _device(device)
    shape = _size("zeros", size)
    return _finish(wrap(for_device(dev).full(shape, 0, _dtype_or_default(dtype)), dev), requires_grad)


def ones(*size, dtype: dtypes.dtype | None = None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones."""
    dev = _device(device)
    shape = _size("ones", size)
    return _finish(wrap(for_device(dev).full(shape, 1, _dtype_or_default(dtype)), dev), requires_grad)


def empty(*size, dtype: dtypes.dtype | None = None, device=None, requires_grad: bool = False,
          memory_format=None) -> Tensor:
    """An uninitialized tensor (laid out in ``memory_format``: default row-major)."""
    dev = _device(device)
    shape = _size("empty", size)
    out = wrap(for_device(dev).empty(shape, _dtype_or_default(dtype)), dev)
    if memory_format is not None:
        from .. import _memory
        fmt = _memory.check("empty", memory_format)
        if fmt is _memory.preserve_format:
            raise RuntimeError("empty(): preserve_format needs a tensor to preserve; use "
                               "empty_like")
        if _memory.order(fmt, out.ndim) is not None:
            from .shape import contiguous
            out = contiguous(out, fmt)
    return _finish(out, requires_grad)


def _laid_out(op: str, out: Tensor, input: Tensor, memory_format, requires_grad: bool) -> Tensor:
    """``out`` (a fresh tensor of ``input``'s shape) in ``memory_format`` (default
    ``preserve_format``: channels-last where ``input`` is dense channels-last)."""
    if memory_format is None and (out.ndim not in (4, 5) or input._a.is_contiguous()):
        return _finish(out, requires_grad)  # (the common case, kept cheap)
    from .. import _memory
    fmt = _memory.preserve_format if memory_format is None else _memory.check(op, memory_format)
    if fmt is _memory.preserve_format:
        fmt = _memory.suggest(tuple(input.shape), input.stride())
    if _memory.order(fmt, out.ndim) is not None:
        from .shape import contiguous
        with no_grad():
            out = contiguous(out, fmt)
    return _finish(out, requires_grad)


def _like(op: str, x: Tensor, dtype, device):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return (dtypes.as_dtype(dtype, op) or x.dtype), (x.device if device is None else device)


def zeros_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False, *,
               memory_format=None) -> Tensor:
    """Zeros with ``input``'s shape (and dtype/device by default)."""
    dtype, device = _like("zeros_like", input, dtype, device)
    return _laid_out("zeros_like", zeros(tuple(input.shape), dtype=dtype, device=device),
                     input, memory_format, requires_grad)


def ones_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False, *,
              memory_format=None) -> Tensor:
    """Ones with ``input``'s shape (and dtype/device by default)."""
    dtype, device = _like("ones_like", input, dtype, device)
    return _laid_out("ones_like", ones(tuple(input.shape), dtype=dtype, device=device),
                     input, memory_format, requires_grad)


def full_like(input: Tensor, fill_value, dtype=None, device=None, requires_grad: bool = False,
              *, memory_format=None) -> Tensor:
    """``fill_value`` everywhere, with ``input``'s shape."""
    dtype, device = _like("full_like", input, dtype, device)
    return _laid_out("full_like", full(tuple(input.shape), fill_value, dtype=dtype,
                                        device=device), input, memory_format, requires_grad)


def empty_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False, *,
               memory_format=None) -> Tensor:
    """Uninitialized, with ``input``'s shape."""
    dtype, device = _like("empty_like", input, dtype, device)
    return _laid_out("empty_like", empty(tuple(input.shape), dtype=dtype, device=device),
                     input, memory_format, requires_grad)


def rand_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False, *,
              memory_format=None) -> Tensor:
    """Uniform [0, 1) samples with ``input``'s shape."""
    dtype, device = _like("rand_like", input, dtype, device)
    return _laid_out("rand_like", rand(tuple(input.shape), dtype=dtype, device=device),
                     input, memory_format, requires_grad)


def randn_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False, *,
               memory_format=None) -> Tensor:
    """Standard normal samples with ``input``'s shape."""
    dtype, device = _like("randn_like", input, dtype, device)
    return _laid_out("randn_like", randn(tuple(input.shape), dtype=dtype, device=device),
                     input, memory_format, requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, dtype=None, device=None) -> Tensor:
    """Random integers with ``input``'s shape: ``randint_like(x, high)`` or ``(x, low, high)``."""
    if high is None:
        low, high = 0, low
    dtype, device = _like("randint_like", input, dtype, device)
    return randint(low, high, tuple(input.shape), dtype=dtype, device=device)


def _number(op: str, name: str, value):
    if isinstance(value, Tensor):
        value = value.item()
    if not isinstance(value, numbers.Number) or isinstance(value, complex):
        raise TypeError(f"{op}(): argument '{name}' must be a number, got {type(value).__name__}")
    return value


def arange(start=None, end=None, step=1, dtype: dtypes.dtype | None = None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` up to (not including) ``end`` by ``step``."""
    dtype = dtypes.as_dtype(dtype, "arange")
    if start is None and end is None:
        raise TypeError("arange() missing required argument 'end'")
    if end is None:
        start, end = 0, start
    elif start is None:
        start = 0
    start, end, step = (_number("arange", n, v) for n, v in
                        (("start", start), ("end", end), ("step", step)))
    if step == 0:
        raise RuntimeError("arange(): step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange(): upper bound and lower bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    if dtype is None:
        all_int = all(type(v) is int or (isinstance(v, numbers.Integral) and not isinstance(v, bool))
                      for v in (start, end, step))
        dtype = dtypes.int64 if all_int else dtypes.get_default_dtype()
    n = math.ceil((end - start) / step)
    dev = _device(device)
    return _finish(wrap(for_device(dev).arange(start, step, max(n, 0), dtype), dev), requires_grad)


def _check_not_bool(op: str, dtype, dev) -> None:
    """PyTorch has no bool ``linspace``/``logspace`` kernel: ``NotImplementedError``."""
    if dtype is dtypes.bool:
        raise NotImplementedError(f'"{op}_{dev.type}" not implemented for \'Bool\'')


def linspace(start, end, steps: int, dtype: dtypes.dtype | None = None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    start, end = _number("linspace", "start", start), _number("linspace", "end", end)
    if not isinstance(steps, int) or steps < 0:
        raise RuntimeError(f"linspace(): number of steps must be a non-negative int, got {steps!r}")
    dev = _device(device)
    _check_not_bool("linspace", dtype, dev)
    dtype = _dtype_or_default(dtype)
    if not dtype.is_floating_point and dtype is not dtypes.bool:
        info = dtypes.iinfo(dtype)
        low = -info.max - 1 if info.min == 0 else info.min  # uint8 takes -1 as 255, as torch
        if any(not low <= v <= info.max for v in (start, end)):
            raise RuntimeError(f"linspace(): value cannot be converted to type {dtype.name} "
                               "without overflow")
    array = for_device(dev).linspace(start, end, steps, dtype)
    return _finish(wrap(array, dev), requires_grad)


def logspace(start, end, steps: int, base: float = 10.0, dtype: dtypes.dtype | None = None,
             device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` values ``base ** x`` for ``x`` evenly spaced from ``start`` to ``end``."""
    _check_not_bool("logspace", dtype, _device(device))
    exponents = linspace(start, end, steps, dtype=dtypes.float64, device=device)
    from .binary import pow as power
    values = power(float(base), exponents).to(_dtype_or_default(dtype))
    return _finish(values, requires_grad)


def eye(n: int, m: int | None = None, dtype: dtypes.dtype | None = None, device=None,
        requires_grad: bool = False) -> Tensor:
    """An ``n`` x ``m`` identity matrix."""
    m = n if m is None else m
    for name, v in (("n", n), ("m", m)):
        if not isinstance(v, int) or v < 0:
            raise RuntimeError(f"eye(): {name} must be a non-negative int, got {v!r}")
    dev = _device(device)
    return _finish(wrap(for_device(dev).eye(n, m, _dtype_or_default(dtype)), dev), requires_grad)


def _draw(op: str, size, device, generator, draw):
    shape = _size(op, size)
    dev = _device(device)
    gen = generator if generator is not None else generator_for(dev)
    numel = math.prod(shape)
    seed, offset = gen.take(numel)
    return wrap(draw(for_device(dev), shape, seed, offset), dev)


def rand(*size, dtype: dtypes.dtype | None = None, device=None, requires_grad: bool = False,
         generator=None) -> Tensor:
    """Uniform samples in [0, 1)."""
    dtype = _dtype_or_default(dtype)
    _check_float("rand", dtype)
    t = _draw("rand", size, device, generator,
              lambda b, shape, seed, off: b.rand(shape, dtype, seed, off))
    return _finish(t, requires_grad)


def randn(*size, dtype: dtypes.dtype | None = None, device=None, requires_grad: bool = False,
          generator=None) -> Tensor:
    """Standard normal samples."""
    dtype = _dtype_or_default(dtype)
    _check_float("randn", dtype)
    t = _draw("randn", size, device, generator,
              lambda b, shape, seed, off: b.randn(shape, dtype, seed, off))
    return _finish(t, requires_grad)


def _check_float(op: str, dtype) -> None:
    if not dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating-point dtype, got {dtype}")


def randint(low=None, high=None, size=None, dtype: dtypes.dtype | None = None, device=None,
            generator=None, requires_grad: bool = False) -> Tensor:
    """Integers uniform in [low, high): ``randint(high, size)`` or ``randint(low, high, size)``
    (positional or keyword: ``randint(10, size=(3,))``, ``randint(low=2, high=5, size=(3,))``)."""
    if size is None and high is not None and low is not None:
        low, high, size = 0, low, high  # randint(high, size)
    elif high is None and low is not None:
        low, high = 0, low  # randint(high, size=...)
    elif low is None:
        low = 0  # randint(high=..., size=...)
    if high is None or size is None:
        raise TypeError("randint() received an invalid combination of arguments: expected "
                        "(int high, tuple of ints size) or (int low, int high, tuple of ints "
                        "size)")
    if not isinstance(size, (tuple, list, Size)):
        raise TypeError(f"randint(): size must be a tuple of ints, got {type(size).__name__}")
    if high <= low:
        raise RuntimeError(f"randint(): random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    dtype = dtypes.int64 if dtype is None else dtypes.as_dtype(dtype, "randint")
    t = _draw("randint", (tuple(size),), device, generator,
              lambda b, shape, seed, off: b.randint(shape, int(low), int(high), dtype, seed, off))
    return _finish(t, requires_grad)


def randperm(n: int, dtype: dtypes.dtype = dtypes.int64, device=None, generator=None) -> Tensor:
    """A random permutation of ``0..n-1`` (stable argsort of uniform draws)."""
    from .sort import argsort
    with no_grad():
        keys = rand(n, dtype=dtypes.float64, generator=generator)
        order = argsort(keys, stable=True)
    return tensor(order, dtype=dtype, device=device)


# triu_indices / tril_indices ---------------------------------------------------------------------
def _triangle_indices(op: str, row, col, offset, dtype, device, upper: bool) -> Tensor:
    """The ``(2, N)`` row and column indices of the upper/lower triangle of a ``row x col``
    matrix (``offset`` moves the diagonal), row by row: the ``nonzero`` of a comparison of
    ``arange`` grids."""
    for position, (name, value) in enumerate((("row", row), ("col", col), ("offset", offset)), 1):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{op}(): argument '{name}' (position {position}) must be int, not "
                            f"{type(value).__name__}")
    if row < 0:
        raise RuntimeError(f"row must be non-negative, got{row}")
    if col < 0:
        raise RuntimeError(f"col must be non-negative, got{col}")
    dtype = dtypes.int64 if dtype is None else dtypes.as_dtype(dtype, op)
    if dtype not in (dtypes.int64, dtypes.int32):
        raise NotImplementedError(f'"{op}" not implemented for \'{dtypes.scalar_type_name(dtype)}\'')
    dev = _device(device)
    rows = arange(row, device=dev).reshape(row, 1)
    cols = arange(col, device=dev).reshape(1, col)
    above = cols - rows
    mask = above >= offset if upper else above <= offset
    return mask.nonzero().t().contiguous().to(dtype)


def triu_indices(row: int, col: int, offset: int = 0, *, dtype=dtypes.int64,
                 device=None) -> Tensor:
    """Indices ``(2, N)`` of the upper triangle of a ``row x col`` matrix: the elements on and
    above the diagonal ``offset`` (``offset > 0`` above the main diagonal)."""
    return _triangle_indices("triu_indices", row, col, offset, dtype, device, True)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype=dtypes.int64,
                 device=None) -> Tensor:
    """Indices ``(2, N)`` of the lower triangle of a ``row x col`` matrix: the elements on and
    below the diagonal ``offset``."""
    return _triangle_indices("tril_indices", row, col, offset, dtype, device, False)


register("triu_indices", "creation", ("arange", "copy_", "empty", "ge", "nonzero", "sub"),
         differentiable=False)
register("tril_indices", "creation", ("arange", "copy_", "empty", "le", "nonzero", "sub"),
         differentiable=False)
