"""``torch.compiler``'s query and control functions (and the ``torch._dynamo`` ones scripts
call): clear the compile caches, mark functions to run eagerly, ask whether a trace is
running.

framework captures a call by running it once under the tracer (``capture``), so "is
compiling" means: this thread is running the Python of a ``framework.compile`` (or
``framework.export``) trace. There are no graph breaks: a function marked with ``disable``
and called from inside a compiled function is captured with its caller (its results are
the same either way); compiling it directly gives it back unchanged.
"""
from __future__ import annotations

import functools
from typing import Callable

from .capture import capturing

__all__ = ["allow_in_graph", "assume_constant_result", "cudagraph_mark_step_begin", "disable",
           "is_compiling", "is_dynamo_compiling", "is_exporting", "list_backends",
           "mark_dynamic", "mark_static", "maybe_mark_dynamic", "reset"]

BACKENDS = ("inductor", "eager", "aot_eager", "cudagraphs")  # what ``compile(backend=)`` takes


def reset() -> None:
    """Forget every graph that ``framework.compile`` has cached, in every compiled function
    and module alive (``torch.compiler.reset``); the next call of each traces again."""
    from .compile import live_compiled_functions
    for compiled in live_compiled_functions():
        compiled.reset()


def disable(fn: "Callable | None" = None, recursive: bool = True, *, reason: "str | None" = None):
    """Mark ``fn`` to run eagerly (``torch.compiler.disable``): ``framework.compile(fn)`` then
    returns ``fn`` itself. Usable as ``@disable`` or ``disable(fn)``. Called from inside a
    compiled function, ``fn`` is captured with its caller (framework has no graph breaks;
    the results are the same)."""
    if not isinstance(recursive, bool):
        raise TypeError(f"disable(): recursive must be a bool, got {type(recursive).__name__}")

    def mark(target):
        if not callable(target):
            raise TypeError(f"disable(): expected a callable, got {type(target).__name__}")

        @functools.wraps(target)
        def eager(*args, **kwargs):
            return target(*args, **kwargs)

        eager._compile_disabled = reason or "marked with framework.compiler.disable"
        return eager

    return mark if fn is None else mark(fn)


def is_disabled(fn) -> bool:
    """Whether ``fn`` was marked with ``disable``."""
    return getattr(fn, "_compile_disabled", None) is not None


def is_compiling() -> bool:
    """True while this thread runs a call that ``framework.compile`` or ``framework.export`` is
    capturing (``torch.compiler.is_compiling``); False in eager code and in replays."""
    return capturing("compile", "export")


def is_dynamo_compiling() -> bool:
    """``torch.compiler.is_dynamo_compiling``: the same as ``is_compiling`` here (one tracer)."""
    return is_compiling()


def is_exporting() -> bool:
    """True while this thread runs a call that ``framework.export`` (or an ONNX export, which
    captures through it) is capturing."""
    return capturing("export")


def list_backends(exclude_tags=("debug", "experimental")) -> list:
    """The ``backend=`` names ``framework.compile`` accepts. Each runs framework's own
    compiler (fused Triton kernels on cuda, the NumPy plan on cpu)."""
    if exclude_tags is not None and not isinstance(exclude_tags, (tuple, list, set)):
        raise TypeError("list_backends(): exclude_tags must be a tuple of strings or None")
    return sorted(BACKENDS)


def allow_in_graph(fn: Callable) -> Callable:
    """``torch.compiler.allow_in_graph``: ``fn`` itself. framework's tracer records the kernels
    every function runs, so each is already in the graph."""
    if not callable(fn):
        raise TypeError(f"allow_in_graph(): expected a callable, got {type(fn).__name__}")
    return fn


def assume_constant_result(fn: Callable) -> Callable:
    """``torch.compiler.assume_constant_result``: ``fn`` itself. A function returning Python
    values is run by the trace; its result is part of the traced call's signature."""
    if not callable(fn):
        raise TypeError(f"assume_constant_result(): expected a callable, got "
                        f"{type(fn).__name__}")
    return fn


def cudagraph_mark_step_begin() -> None:
    """``torch.compiler.cudagraph_mark_step_begin``: nothing to do. framework's CUDA-graph
    replays (``mode="reduce-overhead"``) copy their outputs out of the graph's buffers, so a
    later replay never overwrites a tensor an earlier step returned."""


def mark_dynamic(t, index, *, min: "int | None" = None, max: "int | None" = None) -> None:  # noqa: A002
    """``torch._dynamo.mark_dynamic``: dims ``index`` (an int or a list) of tensor ``t`` are
    symbolic in the graph of the first ``framework.compile`` call (without gradients) that
    receives it, as ``dynamic=True`` makes them. ``min``/``max`` are accepted and not
    enforced (the graph's symbolic sizes start at 2)."""
    _marked_indices(t, "_dynamo_dynamic_indices", index, "mark_dynamic")


def maybe_mark_dynamic(t, index) -> None:
    """``torch._dynamo.maybe_mark_dynamic``: ``mark_dynamic``, where the program allows it
    (it always falls back to static graphs here)."""
    _marked_indices(t, "_dynamo_dynamic_indices", index, "maybe_mark_dynamic")


def mark_static(t, index=None) -> None:
    """``torch._dynamo.mark_static``: dims ``index`` (all dims when None) of tensor ``t``
    stay static: a change of their size makes a new static graph, never a symbolic one."""
    if index is None:
        index = list(range(_check_tensor(t, "mark_static").ndim))
    _marked_indices(t, "_dynamo_static_indices", index, "mark_static")


def _check_tensor(t, name: str):
    from ..tensor import Tensor
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}(): expected a Tensor, got {type(t).__name__}")
    return t


def _marked_indices(t, attribute: str, index, name: str) -> None:
    """Add the dims ``index`` (an int or a list) to the set ``t.<attribute>``."""
    _check_tensor(t, name)
    dims = [index] if isinstance(index, int) else list(index)
    for dim in dims:
        if not isinstance(dim, int) or not -t.ndim <= dim < max(t.ndim, 1):
            raise IndexError(f"{name}(): dim {dim!r} out of range for a tensor of "
                             f"{t.ndim} dims")
    marked = t.__dict__.setdefault(attribute, set())
    marked.update(dim % t.ndim for dim in dims)


def marked_dims(tensors: list, attribute: str) -> frozenset:
    """The (leaf, dim)s that ``mark_dynamic`` (``_dynamo_dynamic_indices``) or ``mark_static``
    (``_dynamo_static_indices``) marked on ``tensors``."""
    return frozenset((leaf, dim) for leaf, t in enumerate(tensors)
                     for dim in t.__dict__.get(attribute, ()))
