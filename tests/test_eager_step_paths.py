"""The per-op shortcuts of the CPU eager steps (docs/perf.md, "pinn and reinforce_cartpole
dispatch") give exactly what the paths they shorten give.

Each test runs the shortcut and the general path (the previous code, kept here as the
reference, or the op with an argument that the shortcut does not take) and compares
results bit for bit, with graph state, node names and errors.
"""
from __future__ import annotations

import numpy as np
import pytest

import framework
import framework.nn.functional as F
from framework import dtypes
from framework._backends.numpy import random as np_random
from framework._backends.numpy import softmax as np_softmax
from framework._backends.numpy._arrays import nd, wrap
from framework.ops import shape as shape_ops


def _bits(t) -> tuple:
    return (t.dtype, tuple(t.shape), t.stride(), t.requires_grad, type(t.grad_fn).__name__,
            t.detach().cpu().numpy().tobytes())


# softmax -------------------------------------------------------------------------------------
def _softmax_reference(x, dim: int, log: bool):
    """The NumPy softmax kernel before it called the ufuncs' reductions directly."""
    v = np_softmax._values(x)
    with np.errstate(all="ignore"):
        peak = np.max(v, axis=dim, keepdims=True, initial=-np.inf)
        shifted = v - peak
        e = np.exp(shifted)
        total = np.sum(e, axis=dim, keepdims=True)
        result = shifted - np.log(total) if log else e / total
    return wrap(result, x.dtype)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (4, 1, 6), (0, 3), (2, 300)])
def test_softmax_kernel_bits_equal_the_reference(np_dtype, shape):
    rng = np.random.default_rng(len(shape))
    values = (rng.standard_normal(shape) * 30).astype(np_dtype)
    if values.size > 4:
        values.flat[0], values.flat[1], values.flat[2] = np.nan, np.inf, -np.inf
    for layout in (values, values.T if values.ndim > 1 else values[::-1]):
        x = wrap(np.ascontiguousarray(layout), dtypes.from_numpy_dtype(layout.dtype))
        for dim in range(layout.ndim):
            for log in (False, True):
                got = nd(np_softmax.softmax(x, dim, log))
                want = nd(_softmax_reference(x, dim, log))
                assert got.dtype == want.dtype and got.shape == want.shape
                assert got.tobytes() == want.tobytes()


def test_softmax_kernel_rows_of_minus_inf_are_nan_without_warnings():
    x = framework.tensor([[-np.inf, -np.inf], [0.0, 1.0]])
    with np.errstate(all="raise"):
        out = F.softmax(x, dim=1)
    assert np.isnan(out.numpy()[0]).all()


@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.float64, dtypes.bfloat16])
def test_softmax_int_dim_shortcut_equals_the_checked_path(log, dtype):
    """An ``int`` dim takes the shortcut; a NumPy integer dim runs every check first."""
    fn = F.log_softmax if log else F.softmax
    x = framework.tensor(np.random.default_rng(1).standard_normal((3, 4, 5)), dtype=dtype)
    for view in (x, x.transpose(0, 2), x[:, 1:]):
        for dim in range(-3, 3):
            assert _bits(fn(view, dim)) == _bits(fn(view, np.int64(dim)))
    leaf = framework.tensor(np.ones((2, 3)), requires_grad=True)
    out = fn(leaf, 1)
    assert type(out.grad_fn).__name__ == ("LogSoftmaxBackward0" if log else "SoftmaxBackward0")
    with framework.no_grad():
        assert fn(leaf, 1).grad_fn is None
    assert fn(framework.tensor(2.0), 0).shape == ()


def test_softmax_shortcut_keeps_the_errors():
    x = framework.ones(2, 3)
    with pytest.raises(IndexError):
        F.softmax(x, 2)
    with pytest.raises(IndexError):
        F.softmax(x, -3)
    with pytest.raises(RuntimeError, match="floating point"):
        F.softmax(framework.ones(2, 3, dtype=framework.int64), 1)
    with pytest.raises(TypeError):
        F.softmax(x, True)
    assert F.softmax(framework.ones(2, 3, dtype=framework.int64), 1, dtype=framework.float32) \
        .dtype is framework.float32


# multinomial ---------------------------------------------------------------------------------
def _multinomial_reference(probs, num_samples, replacement, seed, offset):
    """The kernel's no-replacement path before its Gumbel keys ran in the quiet context."""
    p = nd(probs).astype(np.float64)
    rows, C = p.shape
    u = np_random._generator(seed, offset).random((rows, C))
    with np.errstate(divide="ignore"):
        keys = np.where(p > 0, np.log(p) - np.log(-np.log(u)), -np.inf)
    if num_samples == 1:
        return wrap(np.argmax(keys, axis=1).astype(np.int64).reshape(rows, 1))
    return wrap(np.argsort(-keys, axis=1, kind="stable")[:, :num_samples].astype(np.int64))


@pytest.mark.parametrize("num_samples", [1, 2])
def test_multinomial_kernel_draws_equal_the_reference(num_samples):
    probs = np.random.default_rng(0).random((6, 4)).astype(np.float32)
    probs[1, 2] = 0.0
    probs[3, :3] = 0.0
    x = wrap(probs, dtypes.float32)
    for offset in range(0, 40, 8):
        got = nd(np_random.multinomial(x, num_samples, False, 7, offset))
        want = nd(_multinomial_reference(x, num_samples, False, 7, offset))
        assert got.dtype == want.dtype == np.int64 and got.shape == want.shape
        assert (got == want).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf, -1.0])
def test_multinomial_rejects_nan_inf_and_negative(bad):
    probs = framework.tensor([[0.5, 0.5], [0.2, bad]])
    with pytest.raises(RuntimeError, match="`inf`, `nan` or element < 0"):
        framework.multinomial(probs, 1)
    with pytest.raises(RuntimeError, match="sum of probabilities <= 0"):
        framework.multinomial(framework.tensor([[0.5, 0.5], [0.0, 0.0]]), 1)


# squeeze -------------------------------------------------------------------------------------
def _squeeze_reference(x, dim=None):
    """``squeeze`` before it read the array's tuples (``x.shape`` / ``x.stride()`` lists)."""
    if dim is None:
        dims = [i for i, s in enumerate(x.shape) if s == 1]
    else:
        dims = [shape_ops.normalize_dim("squeeze", d, x.ndim)
                for d in (dim if isinstance(dim, (tuple, list)) else (dim,))]
        dims = [d for d in dims if x.ndim and x.shape[d] == 1]
    keep = [i for i in range(x.ndim) if i not in dims]
    shape = tuple(x.shape[i] for i in keep)
    strides = tuple(x.stride()[i] for i in keep)
    name = "SqueezeBackward0" if dim is None else (
        "SqueezeBackward2" if isinstance(dim, (tuple, list)) else "SqueezeBackward1")
    return shape_ops.rename_node(shape_ops._view_op(
        x, shape, strides, x._a.offset, shape_ops._reshape_backward(tuple(x.shape))), name)


@pytest.mark.parametrize("requires_grad", [False, True])
def test_squeeze_equals_the_reference(requires_grad):
    base = framework.tensor(np.arange(12.0).reshape(1, 3, 1, 4), requires_grad=requires_grad)
    cases = [(base, d) for d in (None, 0, 1, 2, -1, -2, -4, (0, 2), [0, 1], (), (2, 2))]
    cases += [(base.transpose(1, 3), 2), (base[:, 1:], None), (framework.tensor(3.0), 0),
              (framework.tensor(3.0), None), (framework.ones(1), -1)]
    for x, dim in cases:
        got, want = x.squeeze(dim) if dim is not None else x.squeeze(), _squeeze_reference(x, dim)
        assert _bits(got) == _bits(want)
        assert got._base is want._base and got._a.offset == want._a.offset
        if got.requires_grad:
            (grad,) = framework.autograd.grad((got * 2).sum(), base)
            (want_grad,) = framework.autograd.grad((want * 2).sum(), base)
            assert grad.numpy().tobytes() == want_grad.numpy().tobytes()
    with pytest.raises(IndexError):
        base.squeeze(4)


# 2-D products: the mm kernel, and the ops that call it ----------------------------------------
def _array(values):
    return wrap(np.ascontiguousarray(values), dtypes.from_numpy_dtype(values.dtype))


def _transposed(a):
    return a.view((a.shape[1], a.shape[0]), (a.strides[1], a.strides[0]), a.offset)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.float16, np.int64])
def test_mm_kernel_equals_the_batched_kernels(np_dtype):
    """``mm`` on matrices gives ``matmul``'s (and, with a bias, ``matmul_epilogue``'s) bits on
    their one-matrix batch views, transposed operands and single rows/columns included."""
    from framework._backends.numpy import matmul as np_matmul
    rng = np.random.default_rng(3)
    for m, k, n in [(1, 1, 1), (1, 5, 3), (4, 1, 6), (3, 7, 1), (17, 32, 9), (64, 32, 32)]:
        for a_t, b_t in [(False, False), (True, False), (False, True), (True, True)]:
            a = _array((rng.standard_normal((k, m) if a_t else (m, k)) * 3).astype(np_dtype))
            b = _array((rng.standard_normal((n, k) if b_t else (k, n)) * 3).astype(np_dtype))
            a, b = (_transposed(a) if a_t else a), (_transposed(b) if b_t else b)
            a3 = a.view((1, m, k), (m * k, a.strides[0] if m > 1 else 0, a.strides[1]), a.offset)
            b3 = b.view((1, k, n), (0,) + tuple(b.strides), b.offset)
            want = nd(np_matmul.matmul(a3, b3))[0]
            got = nd(np_matmul.mm(a, b, None))
            assert got.shape == (m, n) and got.tobytes() == want.tobytes()
            if np_dtype in (np.float32, np.float64):
                bias = _array(rng.standard_normal(n).astype(np_dtype))
                want, _ = np_matmul.matmul_epilogue(a3, b3, bias, None, None, False)
                assert nd(np_matmul.mm(a, b, bias)).tobytes() == nd(want)[0].tobytes()


class _KernelsProxy:
    """The NumPy kernels behind another object: the ops then take their general (batched,
    capture-safe) paths, as under a graph capture."""

    def __init__(self, kernels):
        self._kernels = kernels

    def __getattr__(self, name):
        return getattr(self._kernels, name)


def _products(np_dtype, m, k, n):
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    a = framework.tensor(rng.standard_normal((m, k)).astype(np_dtype), requires_grad=True)
    b = framework.tensor(rng.standard_normal((n, k)).astype(np_dtype), requires_grad=True)
    w = framework.tensor(rng.standard_normal((n, k)).astype(np_dtype), requires_grad=True)
    bias = framework.tensor(rng.standard_normal(n).astype(np_dtype), requires_grad=True)
    r = framework.tensor(rng.standard_normal((m, n)).astype(np_dtype))
    leaves = (a, b, w, bias)
    outs = [a @ b.mT, F.linear(a, w, bias), F.linear(a, w), a.mT.mT @ b.t()]
    loss = sum(((o * r).sum() for o in outs), framework.tensor(0.0, dtype=a.dtype))
    grads = framework.autograd.grad(loss, leaves, create_graph=True)
    second = framework.autograd.grad(sum(g.pow(2).sum() for g in grads), leaves,
                                     allow_unused=True)
    with framework.no_grad():
        plain = [a @ b.mT, F.linear(a, w, bias)]
    return [None if t is None else t.detach().numpy().tobytes()
            for t in outs + list(grads) + list(second) + plain]


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 3, 4), (5, 1, 3), (4, 6, 1), (16, 8, 12)])
def test_2d_products_equal_the_batched_paths(monkeypatch, np_dtype, shape):
    """Forward, first and second derivatives of products and linears through ``mm`` equal
    the batched kernels' paths (the ops' code for a graph capture), bit for bit."""
    from framework import _backends
    fast = _products(np_dtype, *shape)
    monkeypatch.setitem(_backends._loaded, "numpy", _KernelsProxy(_backends.load("numpy")))
    general = _products(np_dtype, *shape)
    assert fast == general


def test_transpose_shortcut_equals_permute():
    x = framework.tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    for d0, d1 in [(0, 1), (-1, -2), (2, 0), (1, 1)]:
        got = x.transpose(d0, d1)
        order = list(range(3))
        order[d0 % 3], order[d1 % 3] = order[d1 % 3], order[d0 % 3]
        want = x.permute(*order)
        assert _bits(got)[1:-2] == _bits(want)[1:-2] and got.stride() == want.stride()
        assert type(got.grad_fn).__name__ == "TransposeBackward0"
        (g,) = framework.autograd.grad((got * 3).sum(), x)
        assert (g.numpy() == 3).all()
    assert type(x[0].t().grad_fn).__name__ == "TBackward0"
    assert type(x.mT.grad_fn).__name__ == "TransposeBackward0"
    with framework.no_grad():
        assert x.mT.grad_fn is None and x.mT._base is x
    scalar = framework.tensor(2.0)
    assert scalar.transpose(0, -1) is scalar
    with pytest.raises(IndexError):
        x.transpose(0, 3)
    with pytest.raises(RuntimeError, match="mT"):
        framework.ones(3).mT


# rand, full sums ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [dtypes.float32, dtypes.float64, dtypes.float16, dtypes.bfloat16])
def test_rand_kernel_equals_the_reference(dtype):
    """Draws rounded to the dtype, those rounding to 1 lowered in place: the bits of the
    previous kernel (wrap's copy of the float64 draws, then the minimum over its buffer)."""
    for shape, offset in [((64, 1), 0), ((5, 3), 12), ((0,), 4), ((1000,), 8)]:
        got = np_random.rand(shape, dtype, 7, offset)
        values = np_random._generator(7, offset).random(shape, dtype=np.float64)
        want = wrap(values, dtype)
        buf = want.storage.buffer
        if dtype.itemsize < 8 and buf.size:
            below_one = np.nextafter(np.array(1.0, dtype=dtype.numpy),
                                     np.array(0.0, dtype=dtype.numpy))
            np.minimum(buf, below_one, out=buf)
        assert (got.shape, got.strides, got.dtype) == (want.shape, want.strides, want.dtype)
        assert nd(got).tobytes() == nd(want).tobytes()
    ones = np.ones(8) - 1e-12  # float64 draws that round to 1 in float32 and below
    x = wrap(ones.astype(np.float32), dtypes.float32)
    assert (nd(x) == 1).all()  # (the case the minimum exists for)
    assert (nd(np_random.rand((4096,), dtypes.float16, 1, 0)) < 1).all()


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.float16, np.int32, np.bool_])
def test_full_sum_into_a_zero_d_array_equals_the_scalar_path(np_dtype):
    from framework._backends.numpy import reduce as np_reduce
    rng = np.random.default_rng(5)
    for shape in [(), (1,), (7,), (3, 5), (2, 3, 4), (0,), (0, 3)]:
        x = _array((rng.standard_normal(shape) * 100).astype(np_dtype))
        out_dtype = x.dtype if x.dtype.is_floating_point else dtypes.int64
        dims = tuple(range(len(shape)))
        got = np_reduce.sum(x, dims, out_dtype)
        want = wrap(np.add.reduce(np_reduce._values(x, out_dtype), axis=dims), out_dtype)
        assert (got.shape, got.strides, got.dtype) == (want.shape, want.strides, want.dtype)
        assert nd(got).tobytes() == nd(want).tobytes()


def test_nd_of_whole_storage_views_equals_the_buffer_view():
    """``nd``'s reshapes of a whole storage (row-major, or the transpose of a row-major
    matrix) give the strided view ``np.ndarray`` builds over the buffer, strides included."""
    from framework._backends.numpy._arrays import _byte_strides
    rng = np.random.default_rng(2)
    for np_dtype in (np.float32, np.float64, np.float16, np.int64, np.bool_):
        item = np.dtype(np_dtype).itemsize
        for rows, cols in [(1, 1), (1, 3), (5, 1), (2, 32), (32, 32)]:
            base = _array(rng.standard_normal((rows, cols)).astype(np_dtype))
            views = [((cols, rows), (1, cols), 0), ((rows, cols), (cols, 1), 0),
                     ((1, rows * cols), (rows * cols, 1), 0), ((rows * cols, 1), (1, 1), 0)]
            if rows > 1:
                views.append(((cols, rows - 1), (1, cols), 1))  # not the whole storage
            for shape, strides, offset in views:
                got = nd(base.view(shape, strides, offset))
                want = np.ndarray(shape, np.dtype(np_dtype), base.storage.buffer, offset * item,
                                  _byte_strides(strides, item))
                assert (got.shape, got.strides, got.dtype) == (want.shape, want.strides,
                                                               want.dtype)
                assert np.array_equal(got, want)
                assert np.shares_memory(got, base.storage.buffer)
