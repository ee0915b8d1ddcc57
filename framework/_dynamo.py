"""``torch._dynamo``'s names that training scripts call: ``reset``, ``disable``,
``is_compiling``, ``allow_in_graph``, ``list_backends``, ``OptimizedModule``,
``mark_dynamic``/``maybe_mark_dynamic``/``mark_static`` and ``config.cache_size_limit``. They are ``framework.compiler``'s (one tracer serves
``compile``, ``export`` and ``jit.trace``); see docs/compile.md."""
from __future__ import annotations

from .compiler import config
from .compiler.compile import OptimizedModule
from .compiler.control import (allow_in_graph, assume_constant_result, disable, is_compiling,
                               list_backends, mark_dynamic, mark_static, maybe_mark_dynamic,
                               reset)

__all__ = ["OptimizedModule", "allow_in_graph", "assume_constant_result", "config", "disable",
           "is_compiling", "list_backends", "mark_dynamic", "mark_static", "maybe_mark_dynamic",
           "reset"]
