"""Memory formats (``torch.memory_format``): the order of a tensor's dims in memory.

``contiguous_format`` is row-major; ``channels_last`` keeps a 4-D (N, C, H, W) tensor's
channels innermost (strides of (N, H, W, C)), ``channels_last_3d`` a 5-D one's;
``preserve_format`` keeps the input's format. Every kernel reads any strides, so a format
changes the layout (what ``stride()`` and ``is_contiguous(memory_format=...)`` report), not
results.
"""
from __future__ import annotations

__all__ = ["memory_format", "contiguous_format", "channels_last", "channels_last_3d",
           "preserve_format"]


class memory_format:  # noqa: N801 - PyTorch's name
    """A memory format (compare with ``is``; the four instances below are the only ones)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"framework.{self.name}"


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")

_ORDERS = {"channels_last": (4, (0, 2, 3, 1)), "channels_last_3d": (5, (0, 2, 3, 4, 1))}


def check(op: str, value) -> "memory_format":
    """``value`` as a memory format (None: contiguous); ``TypeError`` otherwise."""
    if value is None:
        return contiguous_format
    if not isinstance(value, memory_format):
        raise TypeError(f"{op}(): argument 'memory_format' must be torch.memory_format, not "
                        f"{type(value).__name__}")
    return value


def order(fmt: memory_format, ndim: int) -> "tuple | None":
    """The dims from outermost to innermost for a channels-last ``fmt`` (None for the
    contiguous format); ``RuntimeError`` for a tensor of the wrong rank, as PyTorch."""
    if fmt.name not in _ORDERS:
        return None
    rank, dims = _ORDERS[fmt.name]
    if ndim != rank:
        raise RuntimeError(f"required rank {rank} tensor to use {fmt.name} format")
    return dims


def strides_in(shape: tuple, dims: tuple) -> tuple:
    """The strides of a dense tensor of ``shape`` whose memory holds its dims in ``dims``
    order."""
    strides = [0] * len(shape)
    step = 1
    for d in reversed(dims):
        strides[d] = step
        step *= max(shape[d], 1)
    return tuple(strides)


def is_in(shape: tuple, strides: tuple, fmt: memory_format) -> bool:
    """Whether a tensor of ``shape`` and ``strides`` is dense in ``fmt`` (size-1 dims' strides
    ignored, as PyTorch)."""
    dims = _ORDERS.get(fmt.name, (len(shape), None))[1]
    if dims is None or len(shape) != len(dims):
        return False
    want = strides_in(shape, dims)
    return all(s == w for n, s, w in zip(shape, strides, want) if n != 1)


def suggest(shape: tuple, strides: tuple) -> memory_format:
    """The format ``preserve_format`` keeps: channels-last when the tensor is dense in it
    and not row-major, else contiguous."""
    for fmt in (channels_last, channels_last_3d):
        if len(shape) == _ORDERS[fmt.name][0] and is_in(shape, strides, fmt) and \
                not is_in_rows(shape, strides):
            return fmt
    return contiguous_format


def is_in_rows(shape: tuple, strides: tuple) -> bool:
    """Whether the layout is row-major (size-1 dims ignored)."""
    want = strides_in(shape, tuple(range(len(shape))))
    return all(s == w for n, s, w in zip(shape, strides, want) if n != 1)
