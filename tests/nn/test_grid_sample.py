"""``F.affine_grid`` and ``F.grid_sample`` against PyTorch.

Values and gradients (input and grid; theta through affine_grid) in float64, for
align_corners True/False, zeros, border and reflection padding, bilinear, nearest and bicubic modes, with
grids partly outside [-1, 1]; on cpu and cuda (Triton interpreter; tiny shapes:
N=2, C=2, 3x4 input, 2x5 output). Bad inputs raise as PyTorch does.
"""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework
import framework.nn.functional as F

DEVICES = ["cpu", "cuda"]
RNG = np.random.default_rng(0)
INPUT = RNG.standard_normal((2, 2, 3, 4))
GRID = RNG.uniform(-1.3, 1.3, (2, 2, 5, 2))  # partly outside [-1, 1]
THETA = np.array([[[0.9, -0.3, 0.1], [0.2, 1.1, -0.2]],
                  [[1.2, 0.4, 0.3], [-0.5, 0.8, 0.1]]])


@pytest.fixture(autouse=True)
def _quiet_torch():
    """torch warns when align_corners is left at None; the defaults are exercised here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _ours(a, device, grad=True):
    return framework.tensor(a, dtype=framework.float64, device=device, requires_grad=grad)


def _theirs(a, grad=True):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def _np(t):
    return t.detach().cpu().numpy()


def _close(ours, theirs):
    np.testing.assert_allclose(_np(ours), theirs.detach().numpy(), rtol=1e-12, atol=1e-12)


def _sample_both(device, image=INPUT, grid=GRID, **kwargs):
    """Sample ``image`` at ``grid`` with both libraries; backward a random weighting."""
    x, g = _ours(image, device), _ours(grid, device)
    tx, tg = _theirs(image), _theirs(grid)
    out = F.grid_sample(x, g, **kwargs)
    expected = TF.grid_sample(tx, tg, **kwargs)
    weights = RNG.standard_normal(tuple(expected.shape))
    (out * _ours(weights, device, grad=False)).sum().backward()
    (expected * _theirs(weights, grad=False)).sum().backward()
    return (out, x, g), (expected, tx, tg)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_interpolating_modes_values_and_gradients(device, mode, padding_mode, align_corners):
    """Bilinear, and PyTorch's 4 x 4 cubic convolution (A = -0.75) around each position with
    each tap padded (zero outside, clipped, or reflected and clipped): values, and the
    gradients of the input and of the grid (through the weights)."""
    (out, x, g), (expected, tx, tg) = _sample_both(
        device, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    assert tuple(out.shape) == (2, 2, 2, 5)
    _close(out, expected)
    _close(x.grad, tx.grad)
    _close(g.grad, tg.grad)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_nearest_values_and_input_gradient(device, padding_mode, align_corners):
    (out, x, g), (expected, tx, _) = _sample_both(
        device, mode="nearest", padding_mode=padding_mode, align_corners=align_corners)
    _close(out, expected)
    _close(x.grad, tx.grad)
    # torch's grid gradient is all zeros in nearest mode; ours has no path to the grid
    assert g.grad is None or not _np(g.grad).any()


@pytest.mark.parametrize("shape", [(2, 2, 3, 4), (1, 1, 1, 3), (1, 2, 4, 1)])
@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("align_corners", [True, False])
def test_reflection_folds_several_times(shape, mode, align_corners):
    """Grids far outside [-1, 1] (several reflections), and size-1 axes, on cpu."""
    image = RNG.standard_normal(shape)
    grid = RNG.uniform(-3.3, 3.3, (shape[0], 3, 4, 2))
    (out, x, g), (expected, tx, tg) = _sample_both(
        "cpu", image, grid, mode=mode, padding_mode="reflection", align_corners=align_corners)
    _close(out, expected)
    _close(x.grad, tx.grad)
    if mode != "nearest":
        _close(g.grad, tg.grad)


def test_nearest_rounds_half_to_even():
    """Pixel coordinates 0.5 and 1.5 (align_corners=True, W=3) round to 0 and 2."""
    image = np.arange(3.0).reshape(1, 1, 1, 3)
    grid = np.array([[[[-0.5, 0.0], [0.5, 0.0]]]])
    out = F.grid_sample(_ours(image, "cpu"), _ours(grid, "cpu"), mode="nearest",
                        align_corners=True)
    expected = TF.grid_sample(_theirs(image), _theirs(grid), mode="nearest", align_corners=True)
    _close(out, expected)


def test_default_align_corners_is_false():
    x, g = _ours(INPUT, "cpu"), _ours(GRID, "cpu")
    _close(F.grid_sample(x, g), TF.grid_sample(_theirs(INPUT), _theirs(GRID),
                                               align_corners=False))
    theta = _ours(THETA, "cpu")
    _close(F.affine_grid(theta, (2, 1, 3, 4)),
           TF.affine_grid(_theirs(THETA), (2, 1, 3, 4), align_corners=False))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("size", [(2, 1, 3, 4), (2, 3, 1, 5), (2, 1, 4, 1)])
@pytest.mark.parametrize("align_corners", [True, False])
def test_affine_grid(device, size, align_corners):
    theta, expected_theta = _ours(THETA, device), _theirs(THETA)
    grid = F.affine_grid(theta, size, align_corners=align_corners)
    expected = TF.affine_grid(expected_theta, size, align_corners=align_corners)
    _close(grid, expected)
    weights = RNG.standard_normal(tuple(expected.shape))
    (grid * _ours(weights, device, grad=False)).sum().backward()
    (expected * _theirs(weights, grad=False)).sum().backward()
    _close(theta.grad, expected_theta.grad)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
def test_spatial_transformer_composition(device, padding_mode):
    """affine_grid -> grid_sample, as in PyTorch's STN tutorial: gradients reach theta."""
    theta, x = _ours(THETA, device), _ours(INPUT, device)
    expected_theta, tx = _theirs(THETA), _theirs(INPUT)
    out = F.grid_sample(x, F.affine_grid(theta, (2, 2, 2, 5), align_corners=False),
                        padding_mode=padding_mode, align_corners=False)
    expected = TF.grid_sample(tx, TF.affine_grid(expected_theta, (2, 2, 2, 5),
                                                 align_corners=False),
                              padding_mode=padding_mode, align_corners=False)
    _close(out, expected)
    (out ** 2).sum().backward()
    (expected ** 2).sum().backward()
    _close(theta.grad, expected_theta.grad)
    _close(x.grad, tx.grad)


def _raises(exc, match, fn):
    with pytest.raises(exc, match=match):
        fn()


def test_affine_grid_errors():
    theta = _ours(THETA, "cpu")
    _raises(ValueError, "Nx2x3", lambda: F.affine_grid(_ours(np.zeros((2, 3, 3)), "cpu"),
                                                        (2, 1, 3, 4)))
    _raises(ValueError, "floating point", lambda: F.affine_grid(
        framework.zeros(2, 2, 3, dtype=framework.int64), (2, 1, 3, 4)))
    _raises(NotImplementedError, "only supports 4D and 5D", lambda: F.affine_grid(theta,
                                                                                  (2, 1, 3)))
    _raises(ValueError, "positive output size", lambda: F.affine_grid(theta, (2, 1, 0, 4)))
    _raises(NotImplementedError, "5-D", lambda: F.affine_grid(theta, (2, 1, 2, 3, 4)))
    _raises(RuntimeError, "batch", lambda: F.affine_grid(theta, (3, 1, 3, 4)))


def test_grid_sample_errors():
    x, g = _ours(INPUT, "cpu", grad=False), _ours(GRID, "cpu", grad=False)
    _raises(ValueError, "expected mode", lambda: F.grid_sample(x, g, mode="cubic"))
    _raises(ValueError, "expected padding_mode", lambda: F.grid_sample(x, g, padding_mode="wrap"))
    _raises(RuntimeError, "same dtype", lambda: F.grid_sample(x, g.to(framework.float32)))
    _raises(RuntimeError, "size 2 in last dimension", lambda: F.grid_sample(x, g[..., :1]))
    _raises(RuntimeError, "same batch size", lambda: F.grid_sample(x, g[:1]))
    _raises(RuntimeError, "4D or 5D", lambda: F.grid_sample(x[0], g))
    _raises(NotImplementedError, "5-D", lambda: F.grid_sample(x.unsqueeze(2), g.unsqueeze(1)))
