"""F.pad with negative padding (crops) in every mode, against PyTorch on cpu and cuda.

Reflect and replicate read output ``j`` at input ``j - before`` mirrored / clamped about the
whole input, so a crop on one side leaves the other side's reflection where PyTorch has it.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import check_op

import framework
import framework.nn.functional as FF

RNG = np.random.default_rng(5)

CASES = [  # (input shape, pad)
    ((2, 3, 5), (-1, 2)),
    ((2, 3, 5), (3, -4)),
    ((2, 3, 5), (-2, -1)),
    ((2, 3, 5), (-4, 0)),
    ((1, 2, 5, 4), (1, -1, -2, 3)),
    ((1, 2, 5, 4), (-3, 2, 0, -4)),
    ((2, 5, 4), (2, -3, -1, -1)),
    ((1, 2, 3, 4, 5), (-2, 2, 2, -3, 1, -2)),
    ((1, 2, 3, 4, 5), (2, -3, -1, 3, -2, 2)),
]


def _wraps_once(shape, pad) -> bool:
    """Circular padding of the cropped dims wraps at most once (else PyTorch reads garbage)."""
    return all(max(pad[2 * k], 0) <= shape[-1 - k] + min(pad[2 * k + 1], 0)
               and max(pad[2 * k + 1], 0) <= shape[-1 - k] + min(pad[2 * k], 0)
               for k in range(len(pad) // 2))


PARAMS = [(mode, shape, pad) for mode in ("constant", "reflect", "replicate", "circular")
          for shape, pad in CASES if mode != "circular" or _wraps_once(shape, pad)]


@pytest.mark.parametrize("mode,shape,pad", PARAMS)
def test_pad_negative(device, mode, shape, pad):
    check_op(lambda x: FF.pad(x, pad, mode=mode), lambda x: F.pad(x, pad, mode=mode),
             [RNG.standard_normal(shape)], device=device)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_pad_negative_non_contiguous_and_mixed_dims(device, mode):
    # One dim cropped on one side and padded on the other, another dim only padded.
    check_op(lambda x: FF.pad(x, (2, 1, -2, 3), mode=mode),
             lambda x: F.pad(x, (2, 1, -2, 3), mode=mode),
             [RNG.standard_normal((2, 5, 4))], device=device, contiguous=False)


def test_pad_negative_errors(device):
    x = framework.randn(2, 3, 5, device=device)
    for mode in ("reflect", "replicate"):
        with pytest.raises(RuntimeError, match="is too small"):
            FF.pad(x, (-3, -2), mode=mode)
    with pytest.raises(RuntimeError, match="negative output size"):
        FF.pad(x, (-4, -2), mode="constant")
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        FF.pad(x, (-1, 5), mode="reflect")


def test_circular_wrap_error(device):
    # Padding more than the cropped dim wraps it more than once: PyTorch raises or reads
    # uninitialized memory; framework raises.
    x = framework.randn(1, 1, 4, device=device)
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        FF.pad(x, (3, -2), mode="circular")
    with pytest.raises(RuntimeError):
        F.pad(torch.randn(1, 1, 4), (3, -2), mode="circular")
