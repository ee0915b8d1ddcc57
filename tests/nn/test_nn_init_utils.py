"""framework.nn.init (gains, fans, distributions) and framework.nn.utils against PyTorch."""
import math

import numpy as np
import pytest
import torch

import framework
from framework import nn
from framework.nn import init
from framework.nn import utils


@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None), ("conv_transpose1d", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == \
        torch.nn.init.calculate_gain(nonlinearity, param)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "x")


@pytest.mark.parametrize("shape", [(3, 4), (5, 2, 3), (6, 4, 3, 2), (2, 3, 1, 1, 2)])
def test_fan_in_and_fan_out_match_torch(shape):
    ours = init._calculate_fan_in_and_fan_out(framework.empty(shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(framework.empty(3))


def _stats(t):
    values = t.detach().cpu().numpy().astype(np.float64)
    return values.mean(), values.std(), np.abs(values).max()


@pytest.mark.parametrize("fn,kwargs,bound,std", [
    (init.uniform_, {"a": -2.0, "b": 1.0}, 2.0, 3 / math.sqrt(12)),
    (init.normal_, {"mean": 0.0, "std": 0.5}, None, 0.5),
    (init.xavier_uniform_, {"gain": 2.0}, 2 * math.sqrt(6 / 300), 2 * math.sqrt(2 / 300)),
    (init.xavier_normal_, {}, None, math.sqrt(2 / 300)),
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, 1 / math.sqrt(100), 1 / math.sqrt(300)),
    (init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}, None, math.sqrt(2 / 200)),
    (init.trunc_normal_, {"std": 0.02, "a": -0.04, "b": 0.04}, 0.04, 0.02 * 0.880),
])
def test_init_distributions(fn, kwargs, bound, std):
    t = framework.empty(200, 100)
    assert fn(t, **kwargs) is t
    mean, got_std, top = _stats(t)
    assert abs(got_std - std) < 0.05 * std
    if bound is not None:
        assert top <= bound + 1e-6 and top > 0.95 * bound
    if fn is init.uniform_:
        assert abs(mean + 0.5) < 0.02


def test_init_on_both_devices(device):
    t = init.kaiming_uniform_(framework.empty(8, 6, device=device), a=1.0)
    assert t.device == framework.device(device)
    assert 0 < np.abs(t.cpu().numpy()).max() <= math.sqrt(3.0) / math.sqrt(6)
    t = init.trunc_normal_(framework.empty(8, 6, device=device), std=1.0, a=-0.5, b=0.5)
    assert np.abs(t.cpu().numpy()).max() <= 0.5


def test_init_is_seeded_and_runs_without_grad():
    p = nn.Parameter(framework.empty(4, 5))
    framework.manual_seed(3)
    init.kaiming_uniform_(p)
    first = p.detach().numpy().copy()
    framework.manual_seed(3)
    init.kaiming_uniform_(p)
    np.testing.assert_array_equal(first, p.detach().numpy())
    assert p.is_leaf and p.grad_fn is None


def test_constant_zeros_ones_eye_dirac():
    t = framework.empty(3, 4)
    assert init.constant_(t, 2.5).numpy().tolist() == [[2.5] * 4] * 3
    assert not init.zeros_(t).numpy().any()
    assert (init.ones_(t).numpy() == 1).all()
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(3, 4))
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions"):
        init.eye_(framework.empty(2, 2, 2))
    w = framework.empty(4, 2, 3, 3)
    ref = torch.empty(4, 2, 3, 3)
    np.testing.assert_array_equal(init.dirac_(w, groups=2).numpy(),
                                  torch.nn.init.dirac_(ref, groups=2).numpy())


@pytest.mark.parametrize("shape", [(6, 3), (3, 6), (4, 2, 3)])
def test_orthogonal(shape):
    t = framework.empty(shape)
    init.orthogonal_(t, gain=2.0)
    m = t.numpy().reshape(shape[0], -1).astype(np.float64)
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(gram, 4 * np.eye(gram.shape[0]), atol=1e-4)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(framework.empty(3))


def test_trunc_normal_stays_in_range():
    t = init.trunc_normal_(framework.empty(1000), mean=1.0, std=2.0, a=0.0, b=1.5)
    values = t.numpy()
    assert values.min() >= 0.0 and values.max() <= 1.5


def _grads(seed, device="cpu"):
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (5,), (2, 2, 2)]
    values = [rng.standard_normal(s) * 3 for s in shapes]
    ours = []
    for v in values:
        p = nn.Parameter(framework.tensor(v, dtype=framework.float64, device=device))
        p.grad = framework.tensor(v * 2, dtype=framework.float64, device=device)
        ours.append(p)
    theirs = []
    for v in values:
        p = torch.nn.Parameter(torch.tensor(v))
        p.grad = torch.tensor(v * 2)
        theirs.append(p)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e4])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, device):
    ours, theirs = _grads(0, device)
    total = utils.clip_grad_norm_(ours, max_norm, norm_type)
    want = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    np.testing.assert_allclose(total.item(), want.item(), rtol=1e-10)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.numpy(), rtol=1e-10)


def test_clip_grad_norm_single_tensor_empty_and_nonfinite():
    p = nn.Parameter(framework.ones(4))
    p.grad = framework.full((4,), 2.0)
    total = utils.clip_grad_norm_(p, 1.0)
    assert abs(total.item() - 4.0) < 1e-6
    np.testing.assert_allclose(p.grad.numpy(), np.full(4, 0.5), rtol=1e-5)
    assert utils.clip_grad_norm_([nn.Parameter(framework.ones(2))], 1.0).item() == 0.0
    p.grad = framework.tensor([1.0, float("inf"), 0.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_clip_grad_value_matches_torch():
    ours, theirs = _grads(1)
    utils.clip_grad_value_(ours, 1.5)
    torch.nn.utils.clip_grad_value_(theirs, 1.5)
    for p, q in zip(ours, theirs):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_parameters_to_vector_and_back():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    vec = utils.parameters_to_vector(model.parameters())
    assert tuple(vec.shape) == (11,)
    expected = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    np.testing.assert_array_equal(vec.detach().numpy(), expected)
    utils.vector_to_parameters(framework.arange(11, dtype=framework.float32),
                               model.parameters())
    assert model[0].weight.detach().numpy().tolist() == [[0, 1, 2], [3, 4, 5]]
    assert model[1].bias.detach().numpy().tolist() == [10]
    assert isinstance(model[0].weight, nn.Parameter)
    with pytest.raises(TypeError, match="expected torch.Tensor"):
        utils.vector_to_parameters([1.0], model.parameters())


def test_get_total_norm_and_clip_grads_with_norm_match_torch():
    ours, theirs = _grads(2)
    total = utils.get_total_norm([p.grad for p in ours], 3.0)
    want = torch.nn.utils.get_total_norm([p.grad for p in theirs], 3.0)
    np.testing.assert_allclose(total.item(), want.item(), rtol=1e-12)
    utils.clip_grads_with_norm_(ours, 1.0, total)
    torch.nn.utils.clip_grads_with_norm_(theirs, 1.0, want)
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_torch(batch_first, side):
    from framework.nn.utils.rnn import pad_sequence, unpad_sequence
    arrays = [np.random.default_rng(i).standard_normal((n, 3)) for i, n in enumerate((2, 5, 1))]
    ours = pad_sequence([framework.tensor(a) for a in arrays], batch_first, -1.0, side)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(a) for a in arrays], batch_first,
                                             -1.0, side)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    if side == "right":
        back = unpad_sequence(ours, framework.tensor([2, 5, 1]), batch_first)
        assert [b.shape[0] for b in back] == [2, 5, 1]
        np.testing.assert_array_equal(back[1].numpy(), arrays[1])
    with pytest.raises(ValueError, match="padding_side"):
        pad_sequence([framework.ones(2)], padding_side="middle")


def test_pad_sequence_gradient_reaches_every_sequence():
    from framework.nn.utils.rnn import pad_sequence
    parts = [framework.ones(n, 2, requires_grad=True) for n in (1, 3)]
    pad_sequence(parts, batch_first=True).sum().backward()
    assert [p.grad.tolist() for p in parts] == [[[1.0, 1.0]], [[1.0, 1.0]] * 3]


@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_matches_torch(dim):
    """``nn.utils.weight_norm``: weight = g · v / ||v|| (norm over every dim but ``dim``;
    ``None``: the whole tensor), recomputed before each forward; parameter names, values,
    outputs and gradients of g and v as torch; ``remove_weight_norm`` folds it back."""
    import warnings
    torch.manual_seed(0)
    ref = torch.nn.Conv2d(2, 3, 3)
    ours = nn.Conv2d(2, 3, 3)
    ours.load_state_dict({k: framework.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.nn.utils.weight_norm(ref, dim=dim)
    with pytest.warns(FutureWarning, match="weight_norm"):
        nn.utils.weight_norm(ours, dim=dim)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6, err_msg=name)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5)).astype(np.float32)
    with torch.no_grad():
        ref.weight_g.mul_(2.0)
    with framework.no_grad():
        ours.weight_g.mul_(2.0)
    out, tout = ours(framework.tensor(x)), ref(torch.tensor(x))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    (out ** 2).sum().backward()
    (tout ** 2).sum().backward()
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)
    assert sorted(ours.state_dict()) == sorted(ref.state_dict())
    nn.utils.remove_weight_norm(ours)
    torch.nn.utils.remove_weight_norm(ref)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    np.testing.assert_allclose(ours.weight.detach().numpy(), ref.weight.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="weight_norm"):
        nn.utils.remove_weight_norm(ours)


@pytest.mark.parametrize("layer, dim", [("Linear", None), ("Conv2d", None), ("ConvTranspose2d", None),
                                        ("Linear", 1)])
def test_spectral_norm_matches_torch(layer, dim):
    """``nn.utils.spectral_norm``: weight = weight_orig / sigma, sigma from power iteration on
    the u, v buffers (updated in training mode only); names, outputs, gradients and the
    updated u, v as torch (u and v start from torch's)."""
    torch.manual_seed(0)
    args = (3, 4) if layer == "Linear" else (2, 3, 3)
    ref = getattr(torch.nn, layer)(*args)
    ours = getattr(nn, layer)(*args)
    ours.load_state_dict({k: framework.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    kwargs = {} if dim is None else {"dim": dim}
    torch.nn.utils.spectral_norm(ref, n_power_iterations=2, **kwargs)
    nn.utils.spectral_norm(ours, n_power_iterations=2, **kwargs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in ref.named_parameters()]
    assert sorted(ours.state_dict()) == sorted(ref.state_dict())
    with framework.no_grad():
        ours.weight_u.copy_(framework.tensor(ref.weight_u.numpy()))
        ours.weight_v.copy_(framework.tensor(ref.weight_v.numpy()))
    shape = (2, 3) if layer == "Linear" else (1, 2, 5, 5)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    for training in (True, True, False):
        ours.train(training)
        ref.train(training)
        out, tout = ours(framework.tensor(x)), ref(torch.tensor(x))
        np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(ours.weight_u.numpy(), ref.weight_u.numpy(), rtol=1e-4, atol=1e-5)
    (out ** 2).sum().backward()
    (tout ** 2).sum().backward()
    np.testing.assert_allclose(ours.weight_orig.grad.numpy(), ref.weight_orig.grad.numpy(),
                               rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("shape,sparsity", [((20, 6), 0.3), ((7, 3), 0.0), ((5, 4), 1.0),
                                            ((1, 2), 0.5)])
def test_sparse_zeros_per_column_as_torch(device, shape, sparsity):
    t = framework.empty(shape, device=device)
    assert init.sparse_(t, sparsity, std=2.0) is t
    want = torch.nn.init.sparse_(torch.empty(shape), sparsity, std=2.0)
    ours = t.cpu().numpy()
    np.testing.assert_array_equal((ours == 0).sum(0), (want == 0).sum(0).numpy())
    assert (ours == 0).sum(0).tolist() == [math.ceil(sparsity * shape[0])] * shape[1]


def test_sparse_values_std_generator_and_errors():
    t = init.sparse_(framework.empty(400, 50), sparsity=0.25, std=0.5)
    kept = t.numpy()[t.numpy() != 0]
    assert kept.size == 300 * 50 and abs(kept.std() - 0.5) < 0.02 and abs(kept.mean()) < 0.02
    draws = [init.sparse_(framework.empty(6, 5), 0.5,
                          generator=framework.Generator().manual_seed(3)) for _ in range(2)]
    np.testing.assert_array_equal(draws[0].numpy(), draws[1].numpy())
    w = nn.Parameter(framework.ones(3, 2))
    init.sparse_(w, 0.5)
    assert w.grad_fn is None and w.requires_grad
    for bad in (framework.empty(3), framework.empty(2, 3, 4)):
        with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
            init.sparse_(bad, 0.1)
