"""Random ops on cpu and cuda (Triton interpreter): dropout variants, bernoulli, multinomial,
the in-place samplers.

Statistics use sample sizes where the tolerances are several standard errors
wide, with a fixed seed (deterministic). Dropout's mask is checked to be
reproducible for a seed, independent of the launch's block size, regenerated
(not stored) for the backward, and keyed by the logical element index.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import framework
from helpers import check_device_error

F = framework.nn.functional

pytestmark = [pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning"),
              pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")]


def _np(t):
    return t.detach().cpu().to(framework.float64).numpy()


# dropout ----------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.2, 0.7])
def test_dropout_keep_rate_and_scaling(device, p):
    n = 16384
    x = framework.ones(n, device=device)
    y = _np(F.dropout(x, p))
    kept = y != 0
    # keep rate within 5 standard errors of 1 - p
    assert abs(kept.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)


def test_dropout_backward_is_mask_times_grad_over_keep(device):
    p = 0.4
    x = framework.tensor(np.random.default_rng(0).standard_normal((6, 50)),
                         dtype=framework.float32, device=device, requires_grad=True)
    y = F.dropout(x, p)
    g = framework.tensor(np.random.default_rng(1).standard_normal((6, 50)),
                         dtype=framework.float32, device=device)
    y.backward(g)
    mask = _np(y) != 0
    np.testing.assert_allclose(_np(x.grad), mask * _np(g) / (1 - p), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(_np(y), mask * _np(x) / (1 - p), rtol=1e-6, atol=1e-7)


def test_dropout_backward_regenerates_the_mask_and_is_differentiable(device):
    """The graph saves no mask (the backward reruns the kernel at the saved seed/offset), and
    the gradient's own gradient is the same masked scaling."""
    x = framework.ones(64, device=device, requires_grad=True)
    y = F.dropout(x, 0.5)
    assert not any(t is not None for t in y.grad_fn.saved_tensors)
    g = framework.ones(64, device=device, requires_grad=True)
    (gx,) = framework.autograd.grad([y], [x], [g], create_graph=True)
    (gg,) = framework.autograd.grad([gx.sum()], [g])
    np.testing.assert_array_equal(_np(gg), _np(y))


def test_dropout_reproducible_with_manual_seed(device):
    x = framework.ones(1000, device=device)
    framework.manual_seed(123)
    a = _np(F.dropout(x, 0.5))
    b = _np(F.dropout(x, 0.5))
    framework.manual_seed(123)
    c = _np(F.dropout(x, 0.5))
    np.testing.assert_array_equal(a, c)
    assert (a != b).any()  # the generator advanced between the first two draws


def test_dropout_mask_does_not_depend_on_block_size():
    from framework._backends.triton.memory import from_numpy, to_numpy
    from framework._backends.triton.random import launch_dropout
    x = from_numpy(np.ones(3000, dtype=np.float32), framework.float32)
    small = to_numpy(launch_dropout(x, 0.5, 7, 12, 128))
    large = to_numpy(launch_dropout(x, 0.5, 7, 12, 2048))
    np.testing.assert_array_equal(small, large)
    shifted = to_numpy(launch_dropout(x, 0.5, 7, 16, 128))
    np.testing.assert_array_equal(small[4:], shifted[:-4])  # keyed by offset + element index


def test_dropout_mask_follows_the_logical_element_order(device):
    base = framework.tensor(np.arange(24.0).reshape(4, 6) + 1, dtype=framework.float32,
                            device=device)
    view = base.t()
    framework.manual_seed(5)
    a = _np(F.dropout(view, 0.5))
    framework.manual_seed(5)
    b = _np(F.dropout(view.contiguous(), 0.5))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype", [framework.float16, framework.bfloat16, framework.float64])
def test_dropout_dtypes(device, dtype):
    x = framework.full((300,), 1.5, dtype=dtype, device=device)
    y = F.dropout(x, 0.5)
    assert y.dtype is dtype
    values = np.unique(_np(y))
    np.testing.assert_allclose(values, [0.0, 3.0])


def test_dropout_edge_cases(device):
    x = framework.ones((3, 4), device=device, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    y = F.dropout(x, 1.0)
    assert not _np(y).any()
    y.sum().backward()
    assert not _np(x.grad).any()
    assert not _np(F.alpha_dropout(x, 1.0, True)).any()  # p=1 zeroes, like PyTorch
    empty = framework.ones((0, 3), device=device)
    assert tuple(F.dropout(empty, 0.5).shape) == (0, 3)


def test_dropout_inplace_bumps_the_version(device):
    x = framework.ones(100, device=device)
    version = x._version
    out = F.dropout(x, 0.5, inplace=True)
    assert out is x and x._version > version
    assert set(np.unique(_np(x))) <= {0.0, 2.0}


@pytest.mark.parametrize("fn", ["dropout", "dropout1d", "dropout2d", "alpha_dropout"])
def test_bad_probability_raises_value_error_like_torch(device, fn):
    x = framework.ones((2, 3, 4), device=device)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            getattr(F, fn)(x, p, True)
        with pytest.raises(ValueError):
            getattr(TF, fn)(torch.ones(2, 3, 4), p, True)


# channel-wise and alpha dropout -------------------------------------------------------------
@pytest.mark.parametrize("fn,shape", [("dropout1d", (4, 8, 5)), ("dropout2d", (4, 8, 2, 3)),
                                      ("dropout2d", (8, 2, 3)), ("dropout3d", (2, 8, 2, 2, 2))])
def test_feature_dropout_zeroes_whole_channels(device, fn, shape):
    x = framework.ones(shape, device=device, requires_grad=True)
    if shape == (8, 2, 3):
        with pytest.warns(UserWarning, match="dropout2d"):
            y = F.dropout2d(x, 0.5)
    else:
        y = getattr(F, fn)(x, 0.5)
    values = _np(y).reshape(shape[0], shape[1], -1)
    assert set(np.unique(values)) <= {0.0, 2.0}
    assert (values.min(axis=2) == values.max(axis=2)).all()  # one draw per channel
    assert 0 < (values[..., 0] == 0).sum() < values[..., 0].size
    y.backward(framework.ones(shape, device=device))
    np.testing.assert_array_equal(_np(x.grad), _np(y))


def test_feature_dropout_ranks_follow_torch(device):
    with pytest.raises(RuntimeError, match="dropout1d"):
        F.dropout1d(framework.ones(2, device=device))
    with pytest.raises(RuntimeError, match="at least 2 dimensions"):
        F.dropout2d(framework.ones(4, device=device))
    with pytest.warns(UserWarning, match="deprecated"):
        y = F.dropout2d(framework.ones(6, 5, device=device))  # (N, C): one draw per element
    assert set(np.unique(_np(y))) == {0.0, 2.0}
    with pytest.warns(UserWarning, match="deprecated"):
        F.dropout3d(framework.ones(2, 3, 4, device=device))
    with pytest.warns(UserWarning):
        TF.dropout2d(torch.ones(6, 5))
    unbatched = _np(F.dropout1d(framework.ones(8, 5, device=device), 0.5))
    assert (unbatched.min(axis=1) == unbatched.max(axis=1)).all()


def test_alpha_dropout_keeps_mean_and_variance(device):
    n = 16384
    x = framework.tensor(np.random.default_rng(0).standard_normal(n), dtype=framework.float32,
                         device=device)
    y = _np(F.alpha_dropout(x, 0.3, training=True))
    assert abs(y.mean()) < 0.05 and abs(y.std() - 1.0) < 0.05
    assert F.alpha_dropout(x, 0.3) is x  # training defaults to False


def test_alpha_dropout_backward_matches_its_affine_map(device):
    p = 0.3
    x = framework.ones((4, 5), device=device, requires_grad=True)
    y = F.alpha_dropout(x, p, training=True)
    y.sum().backward()
    alpha = 1.7580993408473766
    a = 1.0 / np.sqrt((alpha ** 2 * p + 1) * (1 - p))
    dropped = np.isclose(_np(y), -alpha * a + alpha * a * p)
    np.testing.assert_allclose(_np(x.grad), np.where(dropped, 0.0, a), rtol=1e-6)


def test_feature_alpha_dropout_shares_noise_per_channel(device):
    x = framework.ones((3, 6, 4), device=device)
    y = _np(F.feature_alpha_dropout(x, 0.5, training=True))
    assert (y.min(axis=2) == y.max(axis=2)).all()


# bernoulli --------------------------------------------------------------------------------
def test_bernoulli_frequencies(device):
    rows = 2000 if device == "cpu" else 500
    probs = np.repeat(np.array([[0.0, 0.1, 0.5, 0.9, 1.0]]), rows, axis=0)
    x = framework.tensor(probs, dtype=framework.float32, device=device)
    y = framework.bernoulli(x)
    assert y.dtype is framework.float32 and tuple(y.shape) == probs.shape
    freq = _np(y).mean(axis=0)
    np.testing.assert_array_equal(freq[[0, 4]], [0.0, 1.0])
    assert np.all(np.abs(freq - probs[0]) < 4 * np.sqrt(0.25 / rows))
    p_arg = _np(framework.bernoulli(x, 0.25)).mean()
    assert abs(p_arg - 0.25) < 4 * np.sqrt(0.25 / (5 * rows))
    assert not framework.bernoulli(x.requires_grad_(True)).requires_grad


def test_bernoulli_generator_and_inplace(device):
    gen = framework.Generator(device).manual_seed(9)
    x = framework.full((500,), 0.5, device=device)
    a = _np(framework.bernoulli(x, generator=gen))
    gen.manual_seed(9)
    np.testing.assert_array_equal(a, _np(framework.bernoulli(x, generator=gen)))
    z = framework.zeros(2000, device=device)
    version = z._version
    assert z.bernoulli_(0.3) is z and z._version > version
    assert abs(_np(z).mean() - 0.3) < 0.05
    z.bernoulli_(framework.full((2000,), 1.0, device=device))
    assert _np(z).all()


def test_bernoulli_rejects_bad_probabilities(device):
    # cpu at the call; cuda at the next sync (no host read in bernoulli)
    check_device_error(device, lambda: framework.bernoulli(
        framework.tensor([0.5, 1.5], device=device)), "bernoulli\\(\\): Expected p_in >= 0")
    check_device_error(device, lambda: framework.bernoulli(
        framework.tensor([float("nan")], device=device)), "bernoulli")
    with pytest.raises(RuntimeError, match="bernoulli"):
        framework.zeros(3, device=device).bernoulli_(-0.5)
    with pytest.raises(RuntimeError):
        torch.bernoulli(torch.tensor([0.5, 1.5]))


# multinomial ------------------------------------------------------------------------------
def test_multinomial_with_replacement_frequencies(device):
    probs = np.array([0.1, 0.0, 0.3, 0.6]) * 5  # unnormalized weights are fine
    x = framework.tensor(probs, dtype=framework.float32, device=device)
    n = 1000
    s = x.multinomial(n, replacement=True)
    assert s.dtype is framework.int64 and tuple(s.shape) == (n,)
    counts = np.bincount(s.cpu().numpy(), minlength=4) / n
    assert counts[1] == 0
    assert np.all(np.abs(counts - probs / probs.sum()) < 4 * np.sqrt(0.25 / n))


def test_multinomial_without_replacement(device):
    probs = np.array([[0.5, 0.0, 0.2, 0.3, 0.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
    x = framework.tensor(probs, dtype=framework.float32, device=device)
    s = framework.multinomial(x, 3).cpu().numpy()
    assert s.shape == (2, 3)
    assert sorted(s[0]) == [0, 2, 3]  # every nonzero category once
    assert len(set(s[1])) == 3


def test_multinomial_without_replacement_first_draw_frequencies(device):
    if device == "cpu":
        rows, probs = 400, [0.2, 0.5, 0.3]
    else:  # the interpreter runs one program per row: fewer rows, a lopsided distribution
        rows, probs = 24, [0.05, 0.9, 0.05]
    s = framework.multinomial(framework.tensor(np.tile(probs, (rows, 1)), device=device),
                              2).cpu().numpy()
    freq = np.bincount(s[:, 0], minlength=3) / rows
    if device == "cpu":
        assert np.all(np.abs(freq - probs) < 4 * np.sqrt(0.25 / rows))
    else:
        assert freq[1] >= 0.65  # expected 0.9, standard error 0.06
    assert (s[:, 0] != s[:, 1]).all()


def test_multinomial_reproducible(device):
    x = framework.tensor([0.2, 0.3, 0.5], device=device)
    framework.manual_seed(3)
    a = framework.multinomial(x, 10, True).cpu().numpy()
    framework.manual_seed(3)
    np.testing.assert_array_equal(a, framework.multinomial(x, 10, True).cpu().numpy())


def test_multinomial_rejects_bad_input(device):
    # value checks: cpu at the call, cuda at the next sync (no host read in multinomial)
    check_device_error(device, lambda: framework.multinomial(
        framework.tensor([0.5, -0.1], device=device), 1), "multinomial\\(\\): .*element < 0")
    check_device_error(device, lambda: framework.multinomial(framework.zeros(3, device=device), 1),
                       "sum of probabilities")
    check_device_error(device, lambda: framework.multinomial(
        framework.tensor([1.0, 0.0, 0.0], device=device), 2), "not enough")
    with pytest.raises(RuntimeError, match="without replacement"):
        framework.multinomial(framework.ones(3, device=device), 4)
    with pytest.raises(RuntimeError, match="1 or 2 dim"):
        framework.multinomial(framework.ones((2, 2, 2), device=device), 1)
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.ones(3), 4)


# in-place samplers ------------------------------------------------------------------------
def test_exponential_and_random_(device):
    x = framework.zeros(4000, device=device)
    version = x._version
    x.exponential_(2.0)
    assert x._version > version
    values = _np(x)
    assert (values >= 0).all() and abs(values.mean() - 0.5) < 0.05
    x.random_(3, 7)
    assert set(np.unique(_np(x))) == {3.0, 4.0, 5.0, 6.0}
    x.random_(5)
    assert set(np.unique(_np(x))) == {0.0, 1.0, 2.0, 3.0, 4.0}
    ints = framework.zeros(100, dtype=framework.int64, device=device).random_(0, 2)
    assert set(np.unique(ints.cpu().numpy())) == {0, 1}
    with pytest.raises(RuntimeError, match="exponential_"):
        x.exponential_(-1.0)
    with pytest.raises(RuntimeError, match="random_"):
        x.random_(4, 2)


def test_uniform_and_normal_exist(device):
    x = framework.zeros(4000, device=device)
    assert abs(_np(x.uniform_(-1.0, 1.0)).mean()) < 0.05
    assert abs(_np(x.normal_(2.0, 0.5)).std() - 0.5) < 0.05
    assert framework.randperm(5, device=device).cpu().numpy().tolist() != [] and \
        sorted(framework.randperm(5, device=device).cpu().numpy().tolist()) == [0, 1, 2, 3, 4]


def test_multinomial_rows_longer_than_one_block(device):
    """1500 categories: the kernel walks the row in chunks (running CDF / per-chunk argmax)."""
    probs = np.zeros(1500)
    probs[[5, 1100, 1400]] = [0.5, 1.0, 3.0]
    x = framework.tensor(probs, dtype=framework.float32, device=device)
    s = framework.multinomial(x, 80, replacement=True).cpu().numpy()
    counts = {k: (s == k).mean() for k in (5, 1100, 1400)}
    assert sum(counts.values()) == 1.0
    assert abs(counts[1400] - 3 / 4.5) < 4 * np.sqrt(0.25 / 80)
    assert sorted(framework.multinomial(x, 3).cpu().numpy()) == [5, 1100, 1400]


# the CPU generator's fast set-up ----------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 123, 2 ** 64 + 7, -5])
def test_cpu_generator_at_an_offset_is_a_fresh_philox_advanced_there(seed):
    """``_generator`` sets the cached Philox's counter instead of calling ``advance``: the
    same stream as a fresh ``Philox(key=seed)`` advanced by ``offset``, whatever was drawn
    from the cached one before (its buffers are emptied too)."""
    from framework._backends.numpy import random as np_random
    for offset in (0, 4, 12345, 2 ** 64 + 3, 2 ** 200, 2 ** 256 + 9, 7):
        fresh = np.random.Philox(key=seed & (2 ** 64 - 1))
        fresh.advance(offset)
        want = np.random.Generator(fresh)
        want = (want.random(3), want.integers(0, 7, 5), want.standard_normal(2))
        np_random._generator(seed, offset).integers(0, 5)  # leaves a half-used 64-bit word
        got = np_random._generator(seed, offset)
        got = (got.random(3), got.integers(0, 7, 5), got.standard_normal(2))
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("low, high", [(0, 5), (-3, 4), (0, 2 ** 31), (0, 2 ** 40), (7, 8)])
def test_cpu_randint_of_one_number_equals_the_array_draw(low, high):
    """One number is drawn as a scalar: the first number of the array draw."""
    from framework._backends.numpy import random as np_random
    from framework._backends.numpy._arrays import nd
    for offset in range(0, 400, 4):
        one = nd(np_random.randint((1,), low, high, framework.int64, 99, offset))
        many = nd(np_random.randint((3,), low, high, framework.int64, 99, offset))
        assert one.shape == (1,) and one.dtype == np.int64 and one[0] == many[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_cpu_dropout_mask_cache_gives_the_drawn_mask(dtype):
    """The CPU dropout kernel remembers a draw's mask for its second use (the backward):
    with or without the remembered mask, the result is the formula on the drawn uniforms."""
    from framework._backends.numpy import random as np_random
    from framework._backends.numpy._arrays import nd, wrap
    x = np.random.default_rng(3).standard_normal((5, 7)).astype(dtype)
    x[0, :3] = [np.inf, np.nan, -0.0]
    p, seed, offset = 0.3, 17, 40
    uniform = np_random._generator(seed, offset).random(x.shape)
    compute = np.float32 if dtype == np.float16 else dtype
    want = np.where(uniform >= p, x.astype(compute) * (1.0 / (1.0 - p)), 0.0).astype(dtype)
    np_random._DROP_MASKS.clear()
    first = nd(np_random.dropout(wrap(x), p, seed, offset))  # draws and keeps the mask
    assert len(np_random._DROP_MASKS) == 1
    second = nd(np_random.dropout(wrap(x), p, seed, offset))  # takes it out
    assert len(np_random._DROP_MASKS) == 0
    for got in (first, second):
        assert got.dtype == dtype and got.tobytes() == want.tobytes()
    for k in range(np_random._DROP_MASKS_MAX + 3):  # bounded: the oldest go first
        np_random.dropout(wrap(x), p, seed, offset + 4 * k)
    assert len(np_random._DROP_MASKS) == np_random._DROP_MASKS_MAX


def test_torch_normal_forms(device):
    """``torch.normal``: tensor mean and/or std (broadcast; one draw per element), or two numbers
    with ``size=``; moments, shapes, dtypes, generator reproducibility and errors as torch."""
    mean = framework.tensor([[-5.0], [0.0], [10.0]], device=device)
    std = framework.tensor([0.5, 2.0], device=device)
    x = framework.normal(mean, std)
    assert tuple(x.shape) == (3, 2) and x.dtype is framework.float32 and x.device == mean.device
    assert not x.requires_grad
    big = framework.normal(framework.full((4000,), 3.0, device=device), 2.0)
    assert abs(big.mean().item() - 3.0) < 0.15 and abs(big.std().item() - 2.0) < 0.15
    small = framework.normal(1.0, framework.full((4000,), 0.5, device=device))
    assert abs(small.mean().item() - 1.0) < 0.05 and abs(small.std().item() - 0.5) < 0.05
    sized = framework.normal(2.0, 3.0, size=(2000,), device=device, dtype=framework.float64)
    assert sized.dtype is framework.float64 and tuple(sized.shape) == (2000,)
    assert abs(sized.mean().item() - 2.0) < 0.3
    assert tuple(framework.normal(0.0, 1.0, (2, 3), device=device).shape) == (2, 3)
    g1 = framework.Generator(device=device).manual_seed(5)
    g2 = framework.Generator(device=device).manual_seed(5)
    np.testing.assert_array_equal(framework.normal(mean, 1.0, generator=g1).cpu().numpy(),
                                  framework.normal(mean, 1.0, generator=g2).cpu().numpy())
    for fw_call, th_call in [
            (lambda: framework.normal(0.0, 1.0), lambda: torch.normal(0.0, 1.0)),
            (lambda: framework.normal(mean, -1.0), lambda: torch.normal(torch.zeros(3, 1), -1.0))]:
        with pytest.raises(Exception) as expected:
            th_call()
        with pytest.raises(expected.type):
            fw_call()
