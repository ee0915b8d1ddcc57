"""Neural-network building blocks (``torch.nn``): ``Module``, ``Parameter``, layers, losses,
containers; ``functional`` holds the stateless ops, ``init`` the initializations and
``utils`` gradient clipping."""
from __future__ import annotations

from . import functional  # noqa: F401
from . import init, parallel, utils  # noqa: F401
from .modules import *  # noqa: F401,F403 - every layer (framework.nn.modules.__all__)
from .modules import __all__ as _layer_names
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter

__all__ = ["functional", "init", "parallel", "utils", "Parameter", "Buffer",
           "UninitializedParameter", "UninitializedBuffer", *_layer_names]
