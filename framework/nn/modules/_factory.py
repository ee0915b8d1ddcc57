"""Helpers shared by the layer modules: parameter creation and argument normalization."""
from __future__ import annotations

import collections.abc
from itertools import repeat

from ... import ops
from ..parameter import Parameter


def empty_parameter(shape: tuple, device=None, dtype=None, requires_grad: bool = True) -> Parameter:
    """An uninitialized parameter of ``shape`` (filled by the module's ``reset_parameters``)."""
    return Parameter(ops.creation.empty(tuple(shape), device=device, dtype=dtype), requires_grad)


def _ntuple(n: int, name: str):
    def parse(x) -> tuple:
        if isinstance(x, collections.abc.Iterable) and not isinstance(x, str):
            return tuple(x)
        return tuple(repeat(x, n))
    parse.__name__ = name
    return parse


single = _ntuple(1, "_single")
pair = _ntuple(2, "_pair")
triple = _ntuple(3, "_triple")
