"""F.ctc_loss / nn.CTCLoss against PyTorch: values for every reduction, padded and
concatenated targets, unbatched input, another blank, impossible alignments, gradients
through log_softmax (PyTorch's own gradient w.r.t. log_probs folds in log_softmax's), and
errors, on cpu and cuda."""
import numpy as np
import pytest
import torch

import framework
import framework.nn as nn
import framework.nn.functional as F
from helpers import check_op

RNG = np.random.default_rng(0)
F64 = framework.float64
T, N, C = 6, 3, 5
TARGETS = np.array([[1, 2, 2], [3, 0, 0], [4, 1, 0]])  # repeated label: needs a blank between
TARGET_LENGTHS = [3, 1, 2]
INPUT_LENGTHS = [6, 4, 5]


def _ctc(module, targets, input_lengths, target_lengths, **kwargs):
    """``logits -> ctc_loss(log_softmax(logits), ...)`` for framework or torch."""
    def loss(logits):
        functional = module.nn.functional
        as_tensor = framework.tensor if module is framework else torch.tensor
        t = as_tensor(targets)
        if module is framework:
            t = t.to(logits.device)
        return functional.ctc_loss(functional.log_softmax(logits, -1), t, input_lengths,
                                   target_lengths, **kwargs)
    return loss


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_ctc_loss_matches_torch(device, reduction):
    args = (TARGETS, INPUT_LENGTHS, TARGET_LENGTHS)
    check_op(_ctc(framework, *args, reduction=reduction), _ctc(torch, *args, reduction=reduction),
             [RNG.standard_normal((T, N, C))], device=device, dtype=F64)


def test_ctc_loss_with_concatenated_targets_and_another_blank(device):
    flat = np.array([1, 2, 2, 3, 4, 1])
    args = (flat, INPUT_LENGTHS, TARGET_LENGTHS)
    check_op(_ctc(framework, *args, blank=0), _ctc(torch, *args, blank=0),
             [RNG.standard_normal((T, N, C))], device=device, dtype=F64)
    targets = np.array([[0, 2, 2], [3, 1, 1], [4, 0, 1]])
    args = (targets, INPUT_LENGTHS, TARGET_LENGTHS)
    check_op(_ctc(framework, *args, blank=1, reduction="none"),
             _ctc(torch, *args, blank=1, reduction="none"), [RNG.standard_normal((T, N, C))],
             device=device, dtype=F64)


def test_ctc_loss_unbatched_and_empty_targets(device):
    check_op(_ctc(framework, np.array([1, 3]), [T], [2], reduction="sum"),
             _ctc(torch, np.array([1, 3]), [T], [2], reduction="sum"),
             [RNG.standard_normal((T, C))], device=device, dtype=F64)
    args = (np.zeros((2, 2), dtype=np.int64), [4, 3], [0, 2])
    check_op(_ctc(framework, *args, reduction="none"), _ctc(torch, *args, reduction="none"),
             [RNG.standard_normal((4, 2, C))], device=device, dtype=F64)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_impossible_alignments_are_infinite_or_zero(device, zero_infinity):
    targets = np.array([[1, 1, 1, 1], [2, 3, 0, 0]])  # four repeats need seven frames
    args = (targets, [3, 5], [4, 2])
    kwargs = {"reduction": "none", "zero_infinity": zero_infinity}
    check_op(_ctc(framework, *args, **kwargs), _ctc(torch, *args, **kwargs),
             [RNG.standard_normal((5, 2, C))], device=device, dtype=F64, grad=zero_infinity)


def test_ctc_loss_module_and_float32(device):
    logits = framework.tensor(RNG.standard_normal((T, N, C)), dtype=framework.float32,
                              device=device)
    got = nn.CTCLoss(zero_infinity=True)(logits.log_softmax(2),
                                          framework.tensor(TARGETS, device=device),
                                          framework.tensor(INPUT_LENGTHS),
                                          framework.tensor(TARGET_LENGTHS))
    want = torch.nn.CTCLoss(zero_infinity=True)(torch.tensor(logits.cpu().numpy()).log_softmax(2),
                                               torch.tensor(TARGETS),
                                               torch.tensor(INPUT_LENGTHS),
                                               torch.tensor(TARGET_LENGTHS))
    np.testing.assert_allclose(got.item(), want.item(), rtol=1e-5)


def test_ctc_loss_refuses_bad_input(device):
    lp = framework.zeros(T, N, C, device=device)
    targets = framework.tensor(TARGETS, device=device)
    with pytest.raises(RuntimeError, match="Expected input_lengths to have value at most 6"):
        F.ctc_loss(lp, targets, [7, 4, 5], TARGET_LENGTHS)
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        F.ctc_loss(lp, targets, INPUT_LENGTHS, TARGET_LENGTHS, blank=C)
    with pytest.raises(RuntimeError, match="input_lengths must be of size batch_size"):
        F.ctc_loss(lp, targets, [6, 4], TARGET_LENGTHS)
    with pytest.raises(RuntimeError, match="size at least 4 at dimension 1"):
        F.ctc_loss(lp, targets, INPUT_LENGTHS, [4, 1, 2])
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.ctc_loss(lp, targets, INPUT_LENGTHS, TARGET_LENGTHS, reduction="max")
