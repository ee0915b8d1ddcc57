"""Gradient mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled`` (thread-local)."""
from __future__ import annotations

import functools
import threading

class _GradState(threading.local):
    """Per-thread grad mode; a new thread starts with recording on.

    ``inplace_watch``: while an in-place op computes its result, ``(storage,
    nodes)``; recorded nodes saving a tensor of that storage are listed in
    ``nodes`` (the op then saves a copy of the value it overwrites).
    """

    enabled = True  # False under no_grad; None while a Function's forward runs
    inplace_watch = None
    inference = False  # inside an enabled inference_mode block


_state = _GradState()


def is_grad_enabled() -> bool:
    """True when ops record the graph for backward."""
    return _state.enabled is True


def _set(enabled: bool) -> None:
    _state.enabled = enabled


class _GradMode:
    """Base of the grad-mode switches: a context manager and a function decorator."""

    _target = True

    def __enter__(self) -> None:
        self._previous = _state.enabled
        _set(self._target)

    def __exit__(self, *exc) -> None:
        _set(self._previous)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class _NoParamGradMode(_GradMode):
    """A grad mode that is also usable as a bare decorator: ``@no_grad`` as well as ``@no_grad()``."""

    def __new__(cls, fn=None):
        self = super().__new__(cls)
        if fn is None:
            return self
        if not callable(fn):
            raise TypeError(f"{cls.__name__}() takes no arguments (got {fn!r})")
        return self(fn)

    def __init__(self, fn=None) -> None:
        """No arguments: ``fn`` is only there for the bare-decorator form."""


class no_grad(_NoParamGradMode):
    """Context manager / decorator that disables graph recording."""

    _target = False


class enable_grad(_NoParamGradMode):
    """Context manager / decorator that enables graph recording."""

    _target = True


class set_grad_enabled(_GradMode):
    """Set grad mode on (``True``) or off; works as a call, context manager or decorator."""

    def __init__(self, mode: bool) -> None:
        self._previous = _state.enabled
        self._target = bool(mode)
        _set(self._target)

    def __enter__(self) -> None:
        pass

    def __call__(self, fn):
        _set(self._previous)
        target = self._target

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(target):
                return fn(*args, **kwargs)
        return wrapper


class inference_mode(no_grad):
    """Like ``no_grad`` (accepted for PyTorch compatibility); ``is_inference_mode_enabled``
    reports it."""

    def __new__(cls, mode=True):
        if callable(mode):  # the bare decorator: @inference_mode
            return cls(True)(mode)
        return object.__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self._target = not mode

    def __enter__(self) -> None:
        super().__enter__()
        self._previous_inference = _state.inference
        _state.inference = not self._target

    def __exit__(self, *exc) -> None:
        _state.inference = self._previous_inference
        super().__exit__(*exc)

    def __call__(self, fn):
        mode = not self._target

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)
        return wrapper


def is_inference_mode_enabled() -> bool:
    """True inside an enabled ``inference_mode`` block."""
    return _state.inference
