"""The op layer: validation, result metadata, autograd Functions, backend dispatch.

One module per op family; no NumPy or Triton here (both live in backends).
Each family module lists its public ops in ``__all__`` (exported as
``framework.<name>``) and, where PyTorch has them there, in ``FUNCTIONAL``
(exported as ``framework.nn.functional.<name>``).
"""
from __future__ import annotations

import importlib

from . import (binary, compare, conversion, creation, inplace, matmul, reduce,  # noqa: F401
               shape, unary)

# Op families whose ``__all__`` names become ``framework.<name>``, in export order.
PUBLIC_FAMILIES = ("unary", "binary", "compare", "reduce", "matmul", "shape", "inplace",
                   "indexing", "movement", "scan", "sort", "conv", "pool", "softmax", "norm",
                   "activation", "loss", "random", "attention", "conversion", "creation",
                   "numeric", "special")


def public_families() -> list:
    """The family modules of ``PUBLIC_FAMILIES``, imported."""
    return [importlib.import_module(f"framework.ops.{name}") for name in PUBLIC_FAMILIES]
