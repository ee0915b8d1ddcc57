"""Backends: one implementation of the kernel contract per runtime.

``for_device(device)`` returns the kernel namespace serving a device:
``framework._backends.numpy`` for ``cpu``, ``framework._backends.triton`` for
``cuda``. Both are imported lazily (Triton only when a ``cuda`` tensor is
first made).
"""
from __future__ import annotations

import importlib

from . import contract

# One module per family in each backend (a backend may not have every family yet).
FAMILIES = ("memory", "random", "elementwise", "reduce", "matmul", "indexing", "movement", "scan",
            "sort", "conv", "pool", "softmax", "norm", "activation", "loss", "attention", "optim",
            "rnn", "linalg")
_loaded: dict = {}


class Backend:
    """A flat namespace of kernel functions, one per contract name."""

    def __init__(self, name: str, kernels: dict) -> None:
        self.name = name
        self.kernels = kernels
        for key, fn in kernels.items():
            setattr(self, key, fn)

    def missing(self) -> list:
        """Contract kernels this backend does not implement."""
        return [name for name in contract.kernel_names() if name not in self.kernels]


def _family_module(backend: str, family: str):
    return importlib.import_module(f"framework._backends.{backend}.{family}")


def load(name: str) -> Backend:
    """Import backend ``name`` ('numpy' or 'triton') and collect its kernels."""
    if name not in _loaded:
        kernels = {}
        for family in FAMILIES:
            try:
                module = _family_module(name, family)
            except ModuleNotFoundError as exc:
                if exc.name and exc.name.startswith(f"framework._backends.{name}."):
                    continue
                raise
            kernels.update(module.KERNELS)
        if name == "numpy":
            from .numpy import _malloc
            _malloc.keep_freed_memory()
        _loaded[name] = Backend(name, kernels)
    return _loaded[name]


def for_device(device) -> Backend:
    """Kernels for a ``device`` (``cpu`` → NumPy, ``cuda`` → Triton)."""
    if device.type == "cpu":
        return _loaded.get("numpy") or load("numpy")
    backend = _loaded.get("triton")
    if backend is None:
        from .triton import runtime
        runtime.require(device.index or 0)
        backend = load("triton")
    return backend
