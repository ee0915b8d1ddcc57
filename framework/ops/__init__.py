"""The op layer: validation, result metadata, autograd Functions, backend dispatch.

One module per op family; no NumPy or Triton here (both live in backends).
"""
from . import creation, conversion, elementwise, inplace, matmul, reduce, shape  # noqa: F401
