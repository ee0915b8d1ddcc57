"""Reductions against PyTorch (float64 oracle) on cpu and cuda (Triton interpreter)."""
import numpy as np
import pytest
import torch

import framework
from helpers import check_op

RNG = np.random.default_rng(0)


def _data(*shape):
    return RNG.standard_normal(shape)


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 2), False),
                                         ((-1, 0), True), (-2, False)])
def test_sum(device, dim, keepdim):
    x = _data(3, 4, 5)
    if dim is None:
        check_op(lambda a: framework.sum(a), lambda a: torch.sum(a), [x], device=device, scale=60)
        return
    check_op(lambda a: framework.sum(a, dim, keepdim), lambda a: torch.sum(a, dim, keepdim), [x],
             device=device, scale=20)


@pytest.mark.parametrize("size", [(1, 5), (5,), (3, 1), (1, 1), (3, 5)])
def test_sum_to_size(device, size):
    x = _data(2, 3, 5)
    if len(size) == 2 and size[0] == 3:
        x = _data(3, 5)
    check_op(lambda a: framework.ops.reduce.sum_to_size(a, size), lambda a: a.sum_to_size(size),
             [x], device=device, scale=10)
