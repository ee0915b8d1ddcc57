"""``torch.nn.utils.skip_init``."""
from __future__ import annotations

import inspect

__all__ = ["skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` whose parameters the caller means to overwrite (torch
    builds it on the meta device and leaves them uninitialized). framework has no meta
    device: the module is built directly on ``device`` (default cpu), so its parameters hold
    the constructor's initialization, which is one allowed value of "uninitialized"."""
    from ..modules.module import Module
    if not (inspect.isclass(module_cls) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    kwargs.setdefault("device", "cpu")
    return module_cls(*args, **kwargs)
