"""Softmax and log-softmax against PyTorch (float64 oracle) on cpu and cuda (Triton interpreter).

Every op runs through ``check_op`` (forward and every input gradient) over
float dtypes, non-contiguous inputs and size-0/1 dims; the Triton kernels'
multi-block path (rows longer than one block) has its own few tests, as do
-inf rows, the ``dtype``/implicit-dim forms, second derivatives and bad input.
"""
import numpy as np
import pytest
import torch

import framework
import framework.nn.functional as F
from framework.autograd import gradgradcheck
from helpers import check_op, make_input

RNG = np.random.default_rng(0)
FLOATS = [framework.float32, framework.float64, framework.float16, framework.bfloat16]
LONG = 5000  # longer than triton_kernels.softmax.MAX_BLOCK_N: the looping kernels

pytestmark = [pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")]


def _normal(*shape):
    return np.asarray(RNG.standard_normal(shape))


def _tensor(array, device, dtype=framework.float64):
    return framework.tensor(np.asarray(array), dtype=dtype, device=device)


# softmax / log_softmax -----------------------------------------------------------------------
SOFTMAX = {"softmax": (F.softmax, torch.softmax), "log_softmax": (F.log_softmax, torch.log_softmax)}


@pytest.mark.parametrize("op", sorted(SOFTMAX))
@pytest.mark.parametrize("dtype", FLOATS)
def test_softmax_dtypes(device, op, dtype):
    fw, tf = SOFTMAX[op]
    check_op(lambda x: fw(x, -1), lambda x: tf(x, -1), [_normal(3, 7)], device=device,
             dtype=dtype)


@pytest.mark.parametrize("op", sorted(SOFTMAX))
@pytest.mark.parametrize("shape,dim,contiguous", [
    ((2, 3, 4), 1, False), ((2, 3, 4), 0, True), ((5,), 0, False), ((), 0, True),
    ((3, 1), -1, False), ((0, 4), -1, True), ((3, 0), 1, False), ((4, 1), 0, True)])
def test_softmax_shapes(device, op, shape, dim, contiguous):
    fw, tf = SOFTMAX[op]
    check_op(lambda x: fw(x, dim), lambda x: tf(x, dim), [_normal(*shape)], device=device,
             dtype=framework.float64, contiguous=contiguous)


@pytest.mark.parametrize("op", sorted(SOFTMAX))
@pytest.mark.parametrize("shape,dim", [((2, LONG), 1), ((LONG, 2), 0)])
def test_softmax_long_rows(device, op, shape, dim):
    """Rows longer than one block, contiguous (last dim) and strided (dim 0)."""
    fw, tf = SOFTMAX[op]
    x = _normal(*shape) * 4
    out = check_op(lambda t: fw(t, dim), lambda t: tf(t, dim), [x], device=device,
                   dtype=framework.float32)
    assert out[0].is_contiguous()


@pytest.mark.parametrize("op", sorted(SOFTMAX))
@pytest.mark.parametrize("n", [6, LONG])
def test_softmax_minus_inf(device, op, n):
    """-inf entries get 0 (log: -inf); a row of only -inf gives NaN, as in PyTorch."""
    fw, tf = SOFTMAX[op]
    x = _normal(3, n)
    x[0, :n // 2] = -np.inf  # the first block of a long row is all -inf
    x[1, :] = -np.inf
    check_op(lambda t: fw(t, -1), lambda t: tf(t, -1), [x], device=device,
             dtype=framework.float32)


def test_softmax_dtype_argument_and_top_level_forms(device):
    x = _normal(3, 4)
    check_op(lambda t: framework.softmax(t, 0, dtype=framework.float64),
             lambda t: torch.softmax(t, 0, dtype=torch.float64), [x], device=device,
             dtype=framework.float32, grad=False)
    out = make_input(x, framework.float16, device).log_softmax(1, dtype=framework.float32)
    assert out.dtype == framework.float32
    assert framework.softmax(make_input(x, framework.float16, device), 1,
                             framework.float64).dtype == framework.float64
    check_op(lambda t: t.softmax(-1), lambda t: t.softmax(-1), [x], device=device)
    check_op(lambda t: framework.log_softmax(t, 1), lambda t: torch.log_softmax(t, 1), [x],
             device=device)


def test_softmax_implicit_dim_warns_and_picks_torch_default():
    x = _normal(2, 3)
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = F.softmax(_tensor(x, "cpu"))
    np.testing.assert_allclose(out.numpy(), torch.softmax(torch.tensor(x), 1).numpy())


# second derivatives -------------------------------------------------------------------------------
SECOND_ORDER = {
    "softmax": lambda x: F.softmax(x, 1), "log_softmax": lambda x: F.log_softmax(x, 0),
}


@pytest.mark.parametrize("op", sorted(SECOND_ORDER))
def test_gradgradcheck(device, op):
    """The fused forward kernels under a differentiable backward (cuda: interpreter, tiny input)."""
    x = make_input(_normal(2, 2), framework.float64, device, requires_grad=True)
    assert gradgradcheck(SECOND_ORDER[op], (x,))


# bad input ----------------------------------------------------------------------------------------
def test_bad_input_raises_like_torch(device):
    x = _tensor(_normal(2, 4, 3), device)
    with pytest.raises(RuntimeError, match="softmax"):
        F.softmax(framework.tensor([1, 2], device=device), 0)
    with pytest.raises(IndexError, match="log_softmax.*out of range"):
        F.log_softmax(x, 3)
    # the same inputs make PyTorch raise the same error types
    with pytest.raises(RuntimeError):
        torch.softmax(torch.tensor([1, 2]), 0)
    with pytest.raises(IndexError):
        torch.log_softmax(torch.zeros(2, 4, 3), 3)


def test_gumbel_softmax_soft_and_hard(device):
    """Soft samples are softmaxes of (logits + Gumbel noise) / tau (rows sum to 1, the
    gradient of a row sum is 0); hard samples are one-hot with the straight-through gradient
    of the soft sample; the argmax frequencies follow softmax(logits)."""
    logits = framework.tensor([[2.0, 0.0, -1.0]] * 2000, device=device, requires_grad=True)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.sum(-1).detach().cpu().numpy(), 1.0, rtol=1e-5)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    values = hard.detach().cpu().numpy()
    assert set(np.unique(values)) == {0.0, 1.0} and (values.sum(-1) == 1).all()
    freq = values.mean(0)
    expected = torch.softmax(torch.tensor([2.0, 0.0, -1.0]), 0).numpy()
    np.testing.assert_allclose(freq, expected, atol=0.05)
    (hard * framework.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    assert logits.grad is not None and np.abs(logits.grad.cpu().numpy()).sum() > 0
    assert tuple(F.gumbel_softmax(logits[:3].detach(), dim=0).shape) == (3, 3)
