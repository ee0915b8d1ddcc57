"""Data-movement ops against PyTorch (float64 oracle) on cpu and cuda (Triton interpreter).

tril/triu, flip, roll, repeat/tile, repeat_interleave and pad: forward and
gradient through ``check_op`` with non-contiguous, size-0/size-1 and
integer/bool inputs, second derivatives, and PyTorch's errors for bad input.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import framework
from framework.autograd import gradgradcheck
from helpers import check_op

RNG = np.random.default_rng(0)


def _normal(*shape):
    return np.asarray(RNG.standard_normal(shape))


def _ints(*shape):
    return RNG.integers(-5, 6, shape)


# tril / triu -------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["tril", "triu"])
@pytest.mark.parametrize("diagonal", [0, 1, -2, 7])
def test_tril_triu(device, op, diagonal):
    check_op(lambda a: getattr(framework, op)(a, diagonal), lambda a: getattr(torch, op)(a, diagonal),
             [_normal(3, 4)], device=device)


@pytest.mark.parametrize("op", ["tril", "triu"])
@pytest.mark.parametrize("shape", [(2, 3, 4, 3), (0, 3), (1, 1), (3, 0, 2)])
def test_tril_triu_batched_and_edge_shapes(device, op, shape):
    for contiguous in (True, False):
        check_op(lambda a: getattr(a, op)(-1), lambda a: getattr(a, op)(-1), [_normal(*shape)],
                 device=device, contiguous=contiguous)


@pytest.mark.parametrize("dtype", [framework.int32, framework.int64, framework.bool,
                                   framework.float16, framework.bfloat16])
def test_tril_triu_dtypes(device, dtype):
    x = _ints(3, 3) > 0 if dtype is framework.bool else _ints(3, 3)
    for op in ("tril", "triu"):
        out = check_op(lambda a: getattr(framework, op)(a, 1), lambda a: getattr(torch, op)(a, 1),
                       [x], device=device, dtype=dtype)
        assert out[0].dtype == dtype


def test_tril_bad_input(device):
    with pytest.raises(RuntimeError, match="tril: input tensor must have at least 2 dimensions"):
        framework.tril(framework.ones(3, device=device))
    with pytest.raises(TypeError, match="triu"):
        framework.triu(framework.ones(3, 3, device=device), 1.5)


# flip ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dims", [(0,), (1, 2), (-1, 0), (0, 1, 2), ()])
def test_flip(device, dims):
    for contiguous in (True, False):
        check_op(lambda a: framework.flip(a, dims), lambda a: torch.flip(a, dims),
                 [_normal(2, 3, 4)], device=device, contiguous=contiguous)
    if dims:
        check_op(lambda a: a.flip(*dims), lambda a: a.flip(*dims), [_normal(2, 3, 4)],
                 device=device)



def test_flip_dims_keyword(device):
    """``torch.flip(x, dims=[...])`` and ``x.flip(dims=(...))``: the keyword spelling scripts use."""
    check_op(lambda a: framework.flip(a, dims=[1]), lambda a: torch.flip(a, dims=[1]),
             [_normal(2, 3, 4)], device=device)
    check_op(lambda a: a.flip(dims=(0, 2)), lambda a: a.flip(dims=(0, 2)), [_normal(2, 3, 4)],
             device=device)
    with pytest.raises(TypeError, match="flip"):
        framework.flip(framework.ones(2, device=device), (0,), dims=(0,))

def test_fliplr_flipud_and_edge_shapes(device):
    check_op(framework.fliplr, torch.fliplr, [_normal(3, 4, 2)], device=device)
    check_op(framework.flipud, torch.flipud, [_normal(3, 4)], device=device, contiguous=False)
    check_op(lambda a: a.flip(0, 1), lambda a: a.flip(0, 1), [_normal(0, 3)], device=device)
    check_op(lambda a: a.flip(0), lambda a: a.flip(0), [_normal()], device=device)
    check_op(lambda a: a.fliplr(), lambda a: a.fliplr(), [_ints(2, 3)], device=device,
             dtype=framework.int64)


def test_flip_bad_input(device):
    x = framework.ones(2, 3, device=device)
    with pytest.raises(IndexError, match="flip"):
        framework.flip(x, (2,))
    with pytest.raises(TypeError, match="flip"):
        x.flip()
    with pytest.raises(RuntimeError, match="flip\\(\\): dim 0 appears multiple times"):
        framework.flip(x, (0, -2))
    with pytest.raises(RuntimeError, match="Input must be >= 2-d"):
        framework.fliplr(framework.ones(3, device=device))
    with pytest.raises(RuntimeError, match="Input must be >= 1-d"):
        framework.flipud(framework.tensor(1.0, device=device))


# roll ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shifts,dims", [(1, 0), (-2, 1), ((1, 7), (0, 2)), (13, None),
                                         ((2, -1), (1, 1)), (0, -1)])
def test_roll(device, shifts, dims):
    for contiguous in (True, False):
        check_op(lambda a: framework.roll(a, shifts, dims), lambda a: torch.roll(a, shifts, dims),
                 [_normal(2, 3, 4)], device=device, contiguous=contiguous)


def test_roll_edge_shapes_and_ints(device):
    check_op(lambda a: a.roll(2, 1), lambda a: a.roll(2, 1), [_normal(3, 0)], device=device)
    check_op(lambda a: a.roll(1), lambda a: a.roll(1), [_normal()], device=device)
    check_op(lambda a: a.roll(-1, 0), lambda a: a.roll(-1, 0), [_ints(5)], device=device,
             dtype=framework.int32)


def test_roll_bad_input(device):
    x = framework.ones(2, 3, device=device)
    with pytest.raises(RuntimeError, match="roll\\(\\): shifts and dimensions must align"):
        framework.roll(x, (1, 2), (0,))
    with pytest.raises(RuntimeError, match="shifts and dimensions must align"):
        framework.roll(x, (1, 2))
    with pytest.raises(IndexError, match="roll"):
        framework.roll(x, 1, 2)


# repeat / tile ---------------------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [(2, 1, 3), (1, 2, 1, 2), (1, 1, 1), (0, 2, 1)])
def test_repeat(device, sizes):
    for contiguous in (True, False):
        check_op(lambda a: a.repeat(*sizes), lambda a: a.repeat(*sizes), [_normal(2, 1, 3)],
                 device=device, contiguous=contiguous)
    check_op(lambda a: a.repeat(sizes), lambda a: a.repeat(sizes), [_normal(2, 1, 3)],
             device=device)


@pytest.mark.parametrize("dims", [(2,), (2, 1, 3), (1, 2, 2, 1)])
def test_tile(device, dims):
    check_op(lambda a: framework.tile(a, dims), lambda a: torch.tile(a, dims), [_normal(2, 1, 3)],
             device=device, contiguous=False)
    check_op(lambda a: a.tile(dims), lambda a: a.tile(dims), [_ints(2, 3) > 0], device=device,
             dtype=framework.bool)


def test_repeat_tile_bad_input(device):
    x = framework.ones(2, 3, device=device)
    with pytest.raises(RuntimeError, match="repeat dims can not be smaller"):
        x.repeat(2)
    with pytest.raises(RuntimeError, match="negative dimension"):
        x.repeat(-1, 2)
    with pytest.raises(RuntimeError, match="tile\\(\\): Trying to create tensor with negative"):
        framework.tile(x, (-1,))


# repeat_interleave ----------------------------------------------------------------------------
@pytest.mark.parametrize("repeats,dim", [(2, 0), (3, -1), (0, 1), (2, None), (1, 1)])
def test_repeat_interleave_int(device, repeats, dim):
    for contiguous in (True, False):
        check_op(lambda a: framework.repeat_interleave(a, repeats, dim),
                 lambda a: torch.repeat_interleave(a, repeats, dim), [_normal(3, 4)],
                 device=device, contiguous=contiguous)


@pytest.mark.parametrize("counts,dim", [([1, 0, 3, 2], 1), ([2, 2, 1], 0), ([3], 0),
                                        ([0, 0, 0, 0], 1), ([1, 2] * 6, None)])
def test_repeat_interleave_tensor(device, counts, dim):
    def fw_fn(a):
        return framework.repeat_interleave(a, framework.tensor(counts, device=device), dim)

    def torch_fn(a):
        return torch.repeat_interleave(a, torch.tensor(counts), dim)

    check_op(fw_fn, torch_fn, [_normal(3, 4)], device=device, contiguous=False)
    check_op(fw_fn, torch_fn, [_ints(3, 4)], device=device, dtype=framework.int64)


def test_repeat_interleave_index_form_and_output_size(device):
    counts = framework.tensor([2, 0, 1, 3], device=device)
    got = framework.repeat_interleave(counts)
    assert got.tolist() == [0, 0, 2, 3, 3, 3] and got.dtype == framework.int64
    x = framework.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    got = x.repeat_interleave(framework.tensor([1, 2], device=device), dim=0, output_size=3)
    assert got.tolist() == [[1.0, 2.0], [3.0, 4.0], [3.0, 4.0]]


def test_repeat_interleave_second_derivative():
    """Backward formulas are framework ops, the same on both devices: checked on cpu."""
    device = "cpu"
    counts = framework.tensor([1, 3, 2], device=device)
    x = framework.tensor(_normal(3, 2), dtype=framework.float64, device=device, requires_grad=True)
    assert gradgradcheck(lambda a: framework.repeat_interleave(a, counts, 0) ** 2, (x,))


def test_repeat_interleave_bad_input(device):
    x = framework.ones(2, 3, device=device)
    with pytest.raises(RuntimeError, match="repeats must have the same size as input along dim"):
        framework.repeat_interleave(x, framework.tensor([1, 2], device=device), 1)
    with pytest.raises(RuntimeError, match="repeats can not be negative"):
        framework.repeat_interleave(x, framework.tensor([1, -2, 1], device=device), 1)
    with pytest.raises(RuntimeError, match="Repeats must be non-negative"):
        framework.repeat_interleave(x, -1)
    with pytest.raises(RuntimeError, match="only accept 1D vector as repeat"):
        framework.repeat_interleave(framework.ones(2, 2, dtype=framework.int64, device=device))
    with pytest.raises(IndexError, match="repeat_interleave"):
        framework.repeat_interleave(x, 2, 2)


# pad ------------------------------------------------------------------------------------------
PAD_CASES = [
    ("constant", (3, 4), (1, 2)), ("constant", (2, 3, 4), (2, -1, 0, 1)),
    ("constant", (2, 3, 4), (-1, -2, 1, 1, 1, 0)), ("reflect", (2, 5), (2, 3)),
    ("reflect", (2, 3, 4), (1, 2, 2, 0)), ("reflect", (1, 2, 3, 4), (3, 1, -1, 1, 1, 1)),
    ("replicate", (2, 4), (3, 1)), ("replicate", (1, 3, 4), (2, 2, 1, 3)),
    ("circular", (2, 4), (4, 1)), ("circular", (2, 3, 4), (2, -1, 3, 1)),
]


@pytest.mark.parametrize("mode,shape,pads", PAD_CASES)
def test_pad(device, mode, shape, pads):
    for contiguous in (True, False):
        check_op(lambda a: framework.nn.functional.pad(a, pads, mode),
                 lambda a: F.pad(a, pads, mode), [_normal(*shape)], device=device,
                 contiguous=contiguous)


def test_pad_value_dtypes_and_edge_shapes(device):
    pad = framework.nn.functional.pad
    check_op(lambda a: pad(a, (1, 1), value=1.5), lambda a: F.pad(a, (1, 1), value=1.5),
             [_normal(2, 3)], device=device)
    check_op(lambda a: pad(a, (0, 2), value=0.1), lambda a: F.pad(a, (0, 2), value=0.1),
             [_normal(2, 3)], device=device, dtype=framework.float64)  # exact float64 fill
    check_op(lambda a: pad(a, (1, 2, 0, 1), value=-3), lambda a: F.pad(a, (1, 2, 0, 1), value=-3),
             [_ints(2, 3)], device=device, dtype=framework.int64)
    check_op(lambda a: pad(a, (2, 1)), lambda a: F.pad(a, (2, 1)), [_normal(3, 0)], device=device)
    check_op(lambda a: pad(a, (1, 1), "replicate"), lambda a: F.pad(a, (1, 1), "replicate"),
             [_normal(0, 1, 1)], device=device)
    for dtype in (framework.float16, framework.bfloat16):
        out = check_op(lambda a: pad(a, (1, 2), "reflect"), lambda a: F.pad(a, (1, 2), "reflect"),
                       [_normal(2, 4)], device=device, dtype=dtype)
        assert out[0].dtype == dtype


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_second_derivative(mode):
    """Backward formulas are framework ops, the same on both devices: checked on cpu."""
    x = framework.tensor(_normal(1, 2, 4), dtype=framework.float64, requires_grad=True)
    assert gradgradcheck(lambda a: framework.nn.functional.pad(a, (2, 1), mode) ** 2, (x,))


def test_pad_second_derivative_cuda():
    x = framework.tensor(_normal(1, 1, 3), dtype=framework.float64, device="cuda",
                         requires_grad=True)
    assert gradgradcheck(lambda a: framework.nn.functional.pad(a, (2, 1), "reflect") ** 2, (x,))


def test_pad_bad_input(device):
    pad = framework.nn.functional.pad
    x = framework.ones(2, 3, device=device)
    with pytest.raises(RuntimeError, match="Padding length must be divisible by 2"):
        pad(x, (1, 2, 3))
    with pytest.raises(RuntimeError, match="Padding size should be less than the corresponding"):
        pad(x, (3, 3), "reflect")
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        pad(x, (4, 0), "circular")
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode foo"):
        pad(x, (1, 1), "foo")
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 1D"):
        pad(framework.ones(3, device=device), (1, 1), "reflect")
    with pytest.raises(RuntimeError, match="doesn't take in value argument"):
        pad(x, (1, 1), "reflect", 2.0)
    with pytest.raises(RuntimeError, match="negative output size"):
        pad(x, (-2, -2))
    with pytest.raises(TypeError, match="pad"):
        pad(x, (1.5, 1))


def test_movement_second_derivatives():
    """Backward formulas are framework ops, the same on both devices: checked on cpu."""
    x = framework.tensor(_normal(2, 3), dtype=framework.float64, requires_grad=True)
    for fn in (lambda a: framework.tril(a) ** 2, lambda a: framework.flip(a, (1,)) ** 2,
               lambda a: framework.roll(a, 1, 1) ** 2, lambda a: a.repeat(2, 1) ** 2,
               lambda a: framework.repeat_interleave(a, 2, 1) ** 2):
        assert gradgradcheck(fn, (x,))


def test_remap_more_than_six_dims(device):
    """Views with more than six non-mergeable dims take one launch per leading index."""
    check_op(lambda a: framework.flip(a, (0, 2, 4, 6)), lambda a: torch.flip(a, (0, 2, 4, 6)),
             [_normal(2, 2, 2, 2, 2, 2, 2, 2)], device=device)
    check_op(lambda a: framework.nn.functional.pad(a, (1, 1, 1, 0), value=2.0),
             lambda a: F.pad(a, (1, 1, 1, 0), value=2.0), [_normal(2, 2, 2, 2, 2, 2, 2, 2)],
             device=device, contiguous=False)


# rot90 / tril_ / triu_ / fill_diagonal_ --------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3, 4, -1, 5])
@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (-1, -2), (0, 2)])
def test_rot90(device, k, dims):
    check_op(lambda a: framework.rot90(a, k, dims), lambda a: torch.rot90(a, k, dims),
             [_normal(2, 3, 4)], device=device)
    check_op(lambda a: a.rot90(k, dims), lambda a: a.rot90(k, dims), [_normal(2, 3, 4)],
             device=device)


def test_rot90_defaults_and_bad_input(device):
    check_op(lambda a: a.rot90(), lambda a: a.rot90(), [_normal(3, 4)], device=device)
    x = framework.ones(2, 3, device=device)
    with pytest.raises(RuntimeError, match="rot90"):
        x.rot90(1, (0,))
    with pytest.raises(RuntimeError, match="rot90"):
        x.rot90(1, (1, 1))
    with pytest.raises(RuntimeError, match="rot90"):
        framework.ones(3, device=device).rot90()


@pytest.mark.parametrize("op", ["tril_", "triu_"])
def test_tril_triu_inplace(device, op):
    check_op(lambda a: getattr(a * 1, op)(1), lambda a: getattr(a * 1, op)(1), [_normal(2, 3, 4)],
             device=device)
    x = framework.ones(3, 3, device=device)
    assert getattr(x, op)() is x and x._version == 1


@pytest.mark.parametrize("shape, wrap", [((3, 3), False), ((4, 3), False), ((7, 3), True),
                                         ((3, 5), False), ((2, 2, 2), False)])
def test_fill_diagonal_(device, shape, wrap):
    check_op(lambda a: (a * 1).fill_diagonal_(-2.0, wrap), lambda a: (a * 1).fill_diagonal_(-2.0, wrap),
             [_normal(*shape)], device=device)
    with pytest.raises(RuntimeError, match="fill_diagonal_"):
        framework.ones(2, 3, 4, device=device).fill_diagonal_(0)
