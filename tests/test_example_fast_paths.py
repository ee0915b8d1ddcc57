"""Fast paths added for the examples' step times (issue 12) equal the general paths.

- ``linear`` of a plain 2-D call skips the checks (and, recording nothing, the Function):
  the same kernel call, so the same bits and the same recorded node.
- ``multinomial`` checks its probabilities on the backend arrays: it raises exactly where
  the tensor-level predicates (``isfinite & >= 0``, ``sum > 0``, enough positives) fail.
- the NumPy ``multinomial`` kernel draws one sample without replacement by ``argmax``:
  the first column of the stable sort it replaces.
"""
import numpy as np
import pytest
import torch

import framework
import framework.nn.functional as F
from framework._backends.numpy import random as numpy_random
from framework._backends.numpy._arrays import nd
from framework.ops import matmul as matmul_ops
from framework.ops import random as random_ops
from helpers import check_device_error

RNG = np.random.default_rng(0)


def _t(values, device, dtype=framework.float32, grad=False):
    return framework.tensor(values, dtype=dtype, device=device, requires_grad=grad)


def _general_linear(x, w, b):
    """``linear`` by the general path: ``_Linear.apply`` after every check."""
    return matmul_ops._Linear.apply(x, w, b, None, None)


@pytest.mark.parametrize("dtype", [framework.float32, framework.float64])
@pytest.mark.parametrize("case", ["plain", "transposed_input", "one_row", "no_bias"])
def test_plain_linear_has_the_general_bits(device, dtype, case):
    rows = 1 if case == "one_row" else 5
    x = _t(RNG.standard_normal((rows, 3)), device, dtype)
    if case == "transposed_input":
        x = _t(RNG.standard_normal((3, rows)), device, dtype).t()
    w = framework.nn.Parameter(_t(RNG.standard_normal((4, 3)), device, dtype))
    b = None if case == "no_bias" else framework.nn.Parameter(_t(RNG.standard_normal(4), device,
                                                                 dtype))
    with framework.no_grad():
        fast = F.linear(x, w, b)
        general = _general_linear(x, w, b)
    np.testing.assert_array_equal(fast.cpu().numpy(), general.cpu().numpy())
    assert not fast.requires_grad
    # recorded: the same node, and the same gradients as the general path
    fast = F.linear(x, w, b)
    assert type(fast.grad_fn).__name__ == ("MmBackward0" if b is None else "AddmmBackward0")
    grads_fast = framework.autograd.grad(fast.sum(), [w] + ([b] if b is not None else []))
    general = _general_linear(x, w, b)
    grads_general = framework.autograd.grad(general.sum(), [w] + ([b] if b is not None else []))
    for g, h in zip(grads_fast, grads_general):
        np.testing.assert_array_equal(g.cpu().numpy(), h.cpu().numpy())


def test_plain_linear_records_through_a_view_and_an_input_needing_grad(device):
    x = _t(RNG.standard_normal((4, 3)), device, grad=True)
    w = _t(RNG.standard_normal((2, 3)), device)
    out = F.linear(x[1:], w)  # x[1:] is a view of a leaf needing grad
    (gx,) = framework.autograd.grad(out.sum(), x)
    expected = np.zeros((4, 3), dtype=np.float32)
    expected[1:] = w.cpu().numpy().sum(0)
    np.testing.assert_allclose(gx.cpu().numpy(), expected, rtol=1e-6)


def test_linear_checks_still_raise_off_the_plain_path(device):
    x = _t(np.ones((2, 3)), device)
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        F.linear(x, _t(np.ones((4, 2)), device))
    with pytest.raises(RuntimeError, match="bias of shape"):
        F.linear(x, _t(np.ones((4, 3)), device), _t(np.ones(3), device))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.linear(x, _t(np.ones((4, 3)), device, framework.float64))


_ROWS = {
    "valid": [[0.2, 0.8], [1.0, 0.0]],
    "negative": [[0.2, -0.1], [1.0, 1.0]],
    "nan": [[0.2, float("nan")], [1.0, 1.0]],
    "inf": [[0.2, float("inf")], [1.0, 1.0]],
    "minus_inf": [[0.2, float("-inf")], [1.0, 1.0]],
    "zero_row": [[0.0, 0.0], [1.0, 1.0]],
    "one_positive": [[0.0, 3.0], [1.0, 1.0]],
    "negative_zero": [[-0.0, 1.0], [1.0, 1.0]],
}


def _tensor_predicates(rows, num_samples, replacement):
    """The message expected from the tensor-level checks (the general path), or None."""
    with framework.no_grad():
        if not bool(framework.logical_and(framework.isfinite(rows), rows >= 0).all()):
            return "element < 0"
        if not bool((rows.sum(1) > 0).all()):
            return "sum of probabilities <= 0"
        if not replacement and not bool(((rows > 0).sum(1) >= num_samples).all()):
            return "not enough non-negative category"
    return None


@pytest.mark.parametrize("dtype", [framework.float32, framework.float16])
@pytest.mark.parametrize("name", sorted(_ROWS))
@pytest.mark.parametrize("num_samples,replacement", [(1, False), (2, False), (2, True)])
def test_multinomial_array_checks_fail_where_the_tensor_checks_fail(device, dtype, name,
                                                                    num_samples, replacement):
    rows = _t(_ROWS[name], device, dtype)
    expected = _tensor_predicates(rows, num_samples, replacement)
    call = lambda: framework.multinomial(rows, num_samples, replacement)  # noqa: E731
    if expected is None:
        assert call().shape == (2, num_samples)
    else:
        check_device_error(device, call, expected)


def test_multinomial_checks_a_half_row_whose_sum_overflows_as_before(device):
    # each element finite: the row passes the element check; its float16 sum is inf > 0
    rows = _t([[60000.0, 60000.0]], device, framework.float16)
    assert _tensor_predicates(rows, 1, False) is None
    random_ops._check_rows("multinomial", framework._backends.for_device(rows.device), rows._a,
                           1, False)
    if device == "cuda":
        framework.cuda.synchronize()


def test_numpy_single_draw_without_replacement_is_the_sorts_first_column():
    for rows, categories in ((1, 2), (8, 2), (5, 7), (3, 1)):
        probs = RNG.random((rows, categories))
        probs[RNG.random((rows, categories)) < 0.3] = 0.0
        probs[:, 0] += 0.1  # a positive per row
        p = framework.tensor(probs)._a
        for seed, offset in ((0, 0), (7, 123), (2**40 + 3, 99)):
            one = numpy_random.multinomial(p, 1, False, seed, offset)
            everything = numpy_random.multinomial(p, categories, False, seed, offset)
            np.testing.assert_array_equal(nd(one), nd(everything)[:, :1])


def test_plain_linear_takes_the_fast_path_across_device_objects(device, monkeypatch):
    """Tensors made with a device string and a module moved by ``.to(device)`` hold equal,
    not identical, device objects: still the plain path (no Function under no_grad)."""
    calls = []
    original = matmul_ops._Linear.apply
    monkeypatch.setattr(matmul_ops._Linear, "apply", lambda *a: calls.append(1) or original(*a))
    record = matmul_ops._Linear.record_plain  # the recorded call's node, built directly
    monkeypatch.setattr(matmul_ops._Linear, "record_plain",
                        lambda *a: calls.append(1) or record(*a))
    layer = framework.nn.Linear(3, 2).to(device)
    x = framework.tensor(RNG.standard_normal((4, 3)), dtype=framework.float32, device=device)
    with framework.no_grad():
        fast = layer(x)
    assert calls == []
    np.testing.assert_array_equal(fast.cpu().numpy(), original(x, layer.weight, layer.bias, None,
                                                               None).detach().cpu().numpy())
    layer(x)
    assert calls == [1]  # recorded: _Linear itself


def test_devices_named_alike_are_one_object(device):
    """``as_device`` shares one object per device, so identity fast paths see equal devices."""
    from framework.devices import as_device
    made = framework.tensor([1.0], device=device)
    assert made.device is framework.zeros(2, device=framework.device(device)).device
    assert made.to(device).device is as_device(device) is as_device(as_device(device))
    if device == "cpu":
        assert framework.tensor([1.0]).device is made.device  # the default device
    assert as_device("cuda:1") == framework.device("cuda", 1)
    assert as_device(1) is as_device("cuda:1")
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        as_device("tpu")


def test_tensor_dataset_batches_equal_the_collated_samples(device, monkeypatch):
    """A ``TensorDataset`` batch is gathered per tensor (``index_select``); the general path
    (any other collate_fn) stacks the samples: same batches, dtypes and shapes."""
    from framework.utils.data import DataLoader, TensorDataset, default_collate
    x = framework.tensor(RNG.standard_normal((11, 2, 3)), dtype=framework.float32, device=device)
    y = framework.tensor(RNG.integers(0, 5, 11), device=device)
    mask = framework.tensor(RNG.random(11) < 0.5, device=device)
    data = TensorDataset(x, y, mask)
    batches, samples = {}, []
    original = TensorDataset.__getitem__
    monkeypatch.setattr(TensorDataset, "__getitem__",
                        lambda self, i: samples.append(i) or original(self, i))
    for name, collate in (("fast", None), ("general", lambda b: default_collate(b))):
        loader = DataLoader(data, batch_size=4, shuffle=True, collate_fn=collate,
                            generator=framework.Generator().manual_seed(3))
        batches[name] = list(loader)
        assert len(samples) == (0 if name == "fast" else 11)
    assert len(batches["fast"]) == len(batches["general"]) == 3
    for fast, general in zip(batches["fast"], batches["general"]):
        assert isinstance(fast, tuple) and len(fast) == 3
        for f, g in zip(fast, general):
            assert f.dtype is g.dtype and f.shape == g.shape and f.device == g.device
            np.testing.assert_array_equal(f.cpu().numpy(), g.cpu().numpy())


@pytest.mark.parametrize("dtypes", [("float32",) * 3, ("float64",) * 3,
                                    ("float32", "float64", "float32")])
def test_total_norm_has_the_bits_of_the_norm_of_norms(device, dtypes):
    """``get_total_norm`` (2-norm) takes each norm by kernels and stacks them on the arrays:
    the bits of ``stack([t.norm(2) ...]).norm(2)`` by ops, and ``clip_grad_norm_`` scales
    the gradients as ``g * clamp(max_norm / (total + 1e-6), max=1)`` would."""
    from framework.nn.utils import clip_grad
    shapes = [(7, 5), (0, 3), (4,)]
    tensors = [framework.tensor(RNG.standard_normal(s) * 3, dtype=getattr(framework, d),
                                device=device) for s, d in zip(shapes, dtypes)]
    tensors[0] = tensors[0].t()  # a strided gradient
    with framework.no_grad():
        norms = [t.norm(2) for t in tensors]
        general = framework.stack(norms).norm(2)  # mixed dtypes promote, as before
    fast = clip_grad.get_total_norm(tensors)
    assert fast.dtype is general.dtype and fast.shape == general.shape
    np.testing.assert_array_equal(fast.cpu().numpy(), general.cpu().numpy())
    params = [framework.nn.Parameter(framework.zeros(t.shape, dtype=t.dtype, device=device))
              for t in tensors]
    for p, t in zip(params, tensors):
        p.grad = t.clone()
    returned = framework.nn.utils.clip_grad_norm_(params, 1.5)
    np.testing.assert_array_equal(returned.cpu().numpy(), general.cpu().numpy())
    coef = (1.5 / (general + 1e-6)).clamp(max=1.0)
    for p, t in zip(params, tensors):
        np.testing.assert_array_equal(p.grad.cpu().numpy(),
                                      (t * coef.to(t.dtype)).cpu().numpy())


def _special_values(shape, dtype):
    values = RNG.standard_normal(shape).astype(dtype)
    flat = values.reshape(-1)
    flat[:6] = [np.nan, -0.0, 0.0, np.inf, -np.inf, -1.0]
    return values


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64])
@pytest.mark.parametrize("zero_side", ["x", "y"])
def test_where_with_a_zero_branch_has_the_bits_of_select(dtype, zero_side):
    """The NumPy ``where`` kernel's masked multiply into a fresh array (relu's backward) gives
    ``select``'s bits, and an array ``wrap`` takes over (no copy: it is the result's memory)."""
    from framework._backends.numpy import elementwise
    from framework._backends.numpy._arrays import select
    fw_dtype = framework.tensor(np.zeros(1, dtype)).dtype
    g = _special_values((80, 70), dtype) if dtype != np.int64 else \
        RNG.integers(-5, 5, (80, 70)).astype(dtype)
    cond = framework.tensor(RNG.random((80, 1)) < 0.5)._a  # broadcast along columns
    other = framework.tensor(g)._a
    x, y = (0, other) if zero_side == "x" else (other, 0)
    got = elementwise.where(cond, x, y, fw_dtype)
    xs = np.asarray(0, dtype) if zero_side == "x" else nd(other)
    ys = nd(other) if zero_side == "x" else np.asarray(0, dtype)
    expected = select(nd(cond), xs, ys, np.dtype(dtype))
    assert nd(got).dtype == expected.dtype and nd(got).shape == expected.shape
    np.testing.assert_array_equal(nd(got).view(np.uint8), expected.view(np.uint8))
    assert got.storage.buffer.base is None or got.storage.buffer.base is nd(got)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_relu_large_has_the_bits_of_the_small_path(dtype):
    from framework._backends.numpy import elementwise
    v = _special_values((100, 50), dtype)  # above the small-size threshold
    got = elementwise._relu(v)
    expected = v.copy()
    np.putmask(expected, v < 0, 0)
    assert got.dtype == v.dtype and got.base is None
    np.testing.assert_array_equal(got.view(np.uint8), expected.view(np.uint8))


def test_tanh_double_backward_is_one_node_with_the_first_order_bits(device):
    """Under create_graph tanh's gradient is one ``TanhBackwardBackward0`` node (PyTorch's
    name) computing the plain backward's bits; its derivatives match PyTorch's to 3rd order."""
    xs = np.array([-2.5, -0.3, 0.0, 0.7, 1.9, 4.0])
    x = framework.tensor(xs, dtype=framework.float64, device=device, requires_grad=True)
    weights = framework.tensor(np.linspace(0.5, 2.0, 6), dtype=framework.float64, device=device)
    (plain,) = framework.autograd.grad((framework.tanh(x) * weights).sum(), x)
    (first,) = framework.autograd.grad((framework.tanh(x) * weights).sum(), x, create_graph=True)
    assert type(first.grad_fn).__name__ == "TanhBackwardBackward0"
    np.testing.assert_array_equal(first.detach().cpu().numpy(), plain.cpu().numpy())
    (second,) = framework.autograd.grad((first * first).sum(), x, create_graph=True)
    (third,) = framework.autograd.grad(second.sum(), x)
    tx = torch.tensor(xs, requires_grad=True)
    tw = torch.tensor(np.linspace(0.5, 2.0, 6))
    (tfirst,) = torch.autograd.grad((torch.tanh(tx) * tw).sum(), tx, create_graph=True)
    assert type(tfirst.grad_fn).__name__ == "TanhBackwardBackward0"
    (tsecond,) = torch.autograd.grad((tfirst * tfirst).sum(), tx, create_graph=True)
    (tthird,) = torch.autograd.grad(tsecond.sum(), tx)
    np.testing.assert_allclose(second.detach().cpu().numpy(), tsecond.detach().numpy(),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(third.cpu().numpy(), tthird.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("case", ["plain", "transposed", "k_one", "m_one"])
@pytest.mark.parametrize("dtype", [framework.float32, framework.float64])
def test_mm_backward_direct_has_the_bits_of_the_recorded_products(device, case, dtype):
    """A 2-D product's backward without create_graph runs the kernels on the views; the
    general path (``_grad_a``/``_grad_b``: products of ``mT`` views) gives the same bits."""
    m, k, n = {"plain": (5, 4, 3), "transposed": (5, 4, 3), "k_one": (6, 1, 3),
               "m_one": (1, 4, 3)}[case]
    if case == "transposed":
        a = framework.tensor(RNG.standard_normal((k, m)), dtype=dtype, device=device).t()
        b = framework.tensor(RNG.standard_normal((n, k)), dtype=dtype, device=device).t()
    else:
        a = framework.tensor(RNG.standard_normal((m, k)), dtype=dtype, device=device)
        b = framework.tensor(RNG.standard_normal((k, n)), dtype=dtype, device=device)
    a.requires_grad_(True) if a.is_leaf else None
    b.requires_grad_(True) if b.is_leaf else None
    grad = framework.tensor(RNG.standard_normal((m, n)), dtype=dtype, device=device)
    with framework.no_grad():
        general = (matmul_ops._grad_a(grad, a.detach(), b.detach()),
                   matmul_ops._grad_b(grad, a.detach(), b.detach()))
        direct = matmul_ops._mm_grads_direct((True, True), grad, a.detach(), b.detach())
    for d, g in zip(direct, general):
        assert d.shape == g.shape and d.dtype is g.dtype
        np.testing.assert_array_equal(d.cpu().numpy(), g.cpu().numpy())
    # through the engine: the product's node takes the direct path
    leaves = [t for t in (a, b) if t.is_leaf]
    found = framework.autograd.grad(framework.matmul(a, b), leaves, grad)
    for leaf, g in zip(leaves, found):
        expected = general[0] if leaf is a else general[1]
        np.testing.assert_array_equal(g.cpu().numpy(), expected.cpu().numpy())


def test_numpy_generator_cache_gives_the_fresh_philox_streams():
    """``_generator`` reuses one Philox per seed (reset, then advanced): the draws of a fresh
    ``Philox(key=seed)`` advanced by ``offset``, in any order of seeds and offsets, and past
    the cache's size."""
    def fresh(seed, offset, n):
        bits = np.random.Philox(key=seed & 0xFFFFFFFFFFFFFFFF)
        bits.advance(offset)
        return np.random.Generator(bits).random(n)

    calls = [(0, 0), (0, 5), (7, 3), (0, 5), (2**64 + 7, 3), (-1, 2**40)]
    calls += [(seed, seed * 3) for seed in range(40)] + [(0, 1), (7, 0)]
    for seed, offset in calls:
        got = numpy_random._generator(seed, offset).random(9)
        np.testing.assert_array_equal(got, fresh(seed, offset, 9))
    normal = numpy_random._generator(3, 11).standard_normal(5)
    bits = np.random.Philox(key=3)
    bits.advance(11)
    np.testing.assert_array_equal(normal, np.random.Generator(bits).standard_normal(5))


@pytest.mark.parametrize("log", [False, True])
def test_untracked_softmax_has_the_functions_bits(device, log):
    """Softmax that records nothing calls the kernel directly: ``_Softmax``'s result."""
    from framework.ops import softmax as softmax_ops
    x = framework.tensor(RNG.standard_normal((4, 5)) * 3, dtype=framework.float32,
                         device=device).t()
    fn = F.log_softmax if log else F.softmax
    with framework.no_grad():
        direct = fn(x, dim=1)
        general = softmax_ops._Softmax.apply(x, 1, log)
    np.testing.assert_array_equal(direct.cpu().numpy(), general.cpu().numpy())
    assert fn(x.requires_grad_(), dim=0).grad_fn is not None  # recorded when needed


def test_grad_accumulation_into_a_plain_grad_is_add_in_place(device):
    """A second backward adds into the existing ``.grad`` by the kernels: the bits of
    ``grad.add_(new)``, the same tensor object, its version bumped; a view ``.grad`` takes
    the general ``add_``."""
    w = framework.tensor(RNG.standard_normal((3, 4)), dtype=framework.float32, device=device,
                         requires_grad=True)
    x = framework.tensor(RNG.standard_normal((5, 3)), dtype=framework.float32, device=device)
    (x @ w).tanh().sum().backward()
    first = w.grad
    expected = first.clone()
    version = first._version
    (x @ w).sin().sum().backward()
    assert w.grad is first and first._version == version + 1
    (again,) = framework.autograd.grad((x @ w).sin().sum(), w)
    np.testing.assert_array_equal(first.cpu().numpy(), expected.add_(again).cpu().numpy())
    big = framework.zeros((2, 3, 4), device=device)
    w.grad = big[1]  # a view: the general path writes through it into big
    (x @ w).sin().sum().backward()
    np.testing.assert_array_equal(big[1].cpu().numpy(), again.cpu().numpy())
