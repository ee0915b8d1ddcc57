"""The CPU dispatch fast paths give exactly what the general paths give.

Each fast path (see docs/perf.md, "CPU overhead") is checked against the path it
short-cuts: the result dtype of common operand pairs against
``dtypes.result_type``, the small-array ``select``/relu against the bitwise
select, the in-place Adam kernel against the copying one, the no-grad kernel
call against ``Function.apply``.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import framework
from framework import dtypes
from framework._backends.numpy import _arrays, elementwise as np_elementwise, optim as np_optim
from framework.ops import _pointwise, _util

SHAPES = [(), (3,), (2, 3)]


def _tensor(dtype, shape, seed=0):
    values = np.random.default_rng(seed).standard_normal(shape) * 3
    return framework.tensor(values, dtype=dtype)


@pytest.mark.parametrize("default", [dtypes.float32, dtypes.float64])
def test_fast_result_type_agrees_with_result_type(default):
    previous = dtypes.get_default_dtype()
    dtypes.set_default_dtype(default)
    try:
        operands = [_tensor(d, s) for d in dtypes.ALL_DTYPES for s in SHAPES]
        operands += [1, -7, 2.5, True, 2 ** 70]
        for a, b in itertools.product(operands, repeat=2):
            if not any(isinstance(x, framework.Tensor) for x in (a, b)):
                continue
            fast = _pointwise._fast_result_type("add", a, b)
            if fast is not None:
                assert fast is dtypes.result_type(a, b), (a, b)
            assert _pointwise.promote("add", a, b)[2] is dtypes.result_type(a, b), (a, b)
    finally:
        dtypes.set_default_dtype(previous)


def test_fast_path_keeps_the_broadcast_error():
    a, b = _tensor(dtypes.float32, (2, 3)), _tensor(dtypes.float32, (4,))
    with pytest.raises(RuntimeError, match=r"add\(\): The size of tensor a \(3\) must match"):
        a + b
    with pytest.raises(RuntimeError, match=r"add\(\): The size of tensor a \(3\) must match"):
        a + b  # the cached broadcast must raise the same error again


def test_broadcast_shapes_cache_matches_direct_computation():
    cases = [((2, 1, 3), (4, 1)), ((), (5,)), ((0, 1), (1, 7)), ((3,), (3,))]
    for shapes in cases:
        assert _util.broadcast_shapes("op", *shapes) == _util._broadcast("op", shapes)
    assert _util.broadcast_shapes("op", [2, 1], (1, 3)) == (2, 3)  # unhashable sizes


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "pow"])
def test_no_grad_kernel_call_matches_recorded_forward(op):
    fn = getattr(framework, op)
    a, b = _tensor(dtypes.float32, (2, 3), seed=1).abs(), _tensor(dtypes.float32, (3,), seed=2)
    plain = fn(a, b)
    recorded = fn(a.detach().requires_grad_(), b)
    assert plain.grad_fn is None and recorded.grad_fn is not None
    assert np.array_equal(plain.numpy(), recorded.detach().numpy())
    with framework.no_grad():
        quiet = fn(a.detach().requires_grad_(), b)
    assert quiet.grad_fn is None and np.array_equal(plain.numpy(), quiet.numpy())


@pytest.mark.parametrize("np_dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (7,), (3, 5), (1, 4, 1)])
def test_small_select_and_relu_have_the_bits_of_the_large_path(np_dtype, shape, monkeypatch):
    rng = np.random.default_rng(0)
    v = rng.standard_normal(shape).astype(np_dtype)
    if v.size >= 3:
        v.flat[:3] = [np.nan, -0.0, -np.inf]
    cond = rng.standard_normal(shape) > 0
    zero = np_dtype(0)

    def run():
        return (_arrays.select(cond, v, np_dtype(-0.0), np_dtype), np_elementwise._relu(v),
                _arrays.select(cond, v, zero, np_dtype), _arrays.select(cond, zero, v, np_dtype))
    small = run()
    monkeypatch.setattr(_arrays, "_SMALL", -1)
    monkeypatch.setattr(np_elementwise, "_SMALL", -1)
    large = run()
    for s, l in zip(small, large):
        s, l = np.asarray(s), np.asarray(l)
        assert s.dtype == l.dtype and s.shape == l.shape and s.tobytes() == l.tobytes()


def test_wrap_keeps_a_view_that_shares_the_storage():
    result = np.arange(6, dtype=np.float32).reshape(2, 1, 3) * 2
    array = _arrays.wrap(result, dtypes.float32)
    view = _arrays.nd(array)
    assert view.strides == tuple(s * 4 for s in array.strides)
    assert np.shares_memory(view, array.storage.buffer)
    array.storage.buffer[0] = 42
    assert view[0, 0, 0] == 42


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("weight_decay,decoupled,amsgrad,maximize",
                         list(itertools.product((0.0, 0.1), (False, True), (False, True),
                                                (False, True))))
def test_in_place_adam_is_bit_identical_to_the_copying_kernel(dtype, weight_decay, decoupled,
                                                               amsgrad, maximize, monkeypatch):
    rng = np.random.default_rng(3)
    start = [rng.standard_normal(50).astype(dtype) for _ in range(5)]
    start[3], start[4] = np.abs(start[3]), np.abs(start[4])

    def run():
        arrays = [_arrays.wrap(a.copy()) for a in start]
        for step in range(1, 4):
            np_optim.adam_step(*arrays, 1e-2, 0.9, 0.999, 1e-8, weight_decay, decoupled, amsgrad,
                               maximize, 1 - 0.9 ** step, math.sqrt(1 - 0.999 ** step))
        return [_arrays.nd(a).copy() for a in arrays]

    in_place = run()
    monkeypatch.setattr(np_optim, "_CHUNK", 16)  # 50 elements: blocks of 16, 16, 16, 2
    in_blocks = run()
    monkeypatch.setattr(np_optim, "_in_place_ok", lambda *args: False)
    copying = run()
    for a, b, c in zip(in_place, in_blocks, copying):
        assert a.tobytes() == c.tobytes() and b.tobytes() == c.tobytes()


# (x shape, weight shape, (top, left) padding, dilation, groups, out size): stride-1 geometries
WIDE_CONV_CASES = [
    ((3, 1, 9, 9), (4, 1, 5, 5), (2, 2), (1, 1), 1, (9, 9)),          # LeNet's first layer
    ((2, 3, 7, 6), (5, 3, 3, 2), (0, 0), (1, 1), 1, (5, 5)),           # valid, rectangular
    ((2, 4, 6, 7), (6, 2, 3, 3), (1, 1), (2, 1), 2, (4, 7)),           # groups, dilation
    ((2, 3, 5, 5), (4, 3, 2, 4), (0, 1), (1, 2), 1, (5, 5)),           # 'same' with even kernels
    ((5, 2, 4, 4), (3, 2, 1, 1), (0, 0), (1, 1), 1, (4, 4)),           # 1x1
    ((1, 3, 1, 12), (2, 3, 1, 3), (0, 1), (1, 1), 1, (1, 12)),         # conv1d as height-1
    ((2, 2, 5, 5), (3, 2, 3, 3), (1, 1), (1, 1), 1, (3, 3)),           # output smaller than 'same'
    ((3, 6, 8, 8), (4, 6, 5, 5), (0, 0), (1, 1), 1, (4, 4)),           # LeNet's second layer
    ((2, 2, 6, 9), (2, 2, 2, 3), (0, 0), (1, 3), 1, (5, 3)),           # dilated taps span the row
]


@pytest.mark.parametrize("case", WIDE_CONV_CASES, ids=str)
@pytest.mark.parametrize("block, threads", [(1 << 17, "1"), (1, "1"), (1 << 17, "2")])
def test_stride_one_conv_path_equals_the_general_path(case, block, threads, monkeypatch):
    """The stride-1 "wide rows" kernels give the general im2col path's results (float64:
    equal up to the summation order inside BLAS): in one block, one image per block, and
    in blocks run on two threads."""
    from framework._backends.numpy import conv as np_conv
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", threads)
    x_shape, w_shape, padding, dilation, groups, out_size = case
    rng = np.random.default_rng(7)
    x = _arrays.wrap(rng.standard_normal(x_shape))
    w = _arrays.wrap(rng.standard_normal(w_shape))
    dy = _arrays.wrap(rng.standard_normal((x_shape[0], w_shape[0]) + out_size))
    args = ((1, 1), padding, dilation, groups)
    assert np_conv._Wide.plan((1, 1), x_shape[2:], w_shape[2:], padding, dilation, out_size,
                              x_shape[0]) is not None

    def run():
        return (np_conv.conv2d(x, w, *args, out_size),
                np_conv.conv2d_input_grad(dy, w, *args, x_shape[2:]),
                np_conv.conv2d_weight_grad(x, dy, *args, w_shape[2:]))
    monkeypatch.setattr(np_conv, "_BATCH_LAST_PIXELS", 0)  # this test's path, not that one
    monkeypatch.setattr(np_conv, "_BLOCK_ELEMENTS", block)
    monkeypatch.setattr(np_conv, "_MIN_BLOCK_COLUMNS", 1)
    wide = run()
    monkeypatch.setattr(np_conv._Wide, "plan", classmethod(lambda cls, *a: None))
    general = run()
    for a, b in zip(wide, general):
        a, b = _arrays.nd(a), _arrays.nd(b)
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13)


# (x shape, weight shape, stride, (top, left) padding, dilation, groups, out size)
BY_IMAGE_CONV_CASES = [
    ((3, 1, 9, 9), (4, 1, 3, 3), (1, 1), (1, 1), (1, 1), 1, (9, 9)),    # mnist_cnn's first layer
    ((2, 4, 6, 6), (8, 4, 3, 3), (1, 1), (1, 1), (1, 1), 1, (6, 6)),    # ... and its second
    ((2, 4, 8, 7), (6, 2, 3, 2), (2, 1), (1, 0), (2, 1), 2, (3, 6)),    # stride, dilation, groups
    ((1, 3, 5, 5), (2, 3, 2, 4), (1, 1), (0, 1), (1, 2), 1, (5, 5)),    # 'same' with even kernels
    ((4, 2, 4, 4), (3, 2, 1, 1), (1, 1), (0, 0), (1, 1), 1, (4, 4)),    # 1x1
    ((2, 6, 5, 5), (6, 1, 3, 3), (2, 2), (1, 1), (1, 1), 6, (3, 3)),    # depthwise, strided
]


@pytest.mark.parametrize("case", BY_IMAGE_CONV_CASES, ids=str)
@pytest.mark.parametrize("block, threads", [(1 << 20, "1"), (1, "1"), (1 << 20, "3")])
@pytest.mark.parametrize("np_dtype", [np.float64, np.float16])
def test_by_image_conv_and_weight_grad_equal_the_general_path(case, block, threads, np_dtype,
                                                               monkeypatch):
    """The forward and the weight grad by image (``_ByImage``) give the general path's
    results (one K-major im2col matrix), with and without the forward's kept columns: in
    one block, one image per block, and in blocks run on three threads."""
    from framework._backends.numpy import conv as np_conv
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", threads)
    x_shape, w_shape, stride, padding, dilation, groups, out_size = case
    rng = np.random.default_rng(23)
    x = _arrays.wrap(rng.standard_normal(x_shape).astype(np_dtype))
    w = _arrays.wrap(rng.standard_normal(w_shape).astype(np_dtype))
    dy = _arrays.wrap(rng.standard_normal((x_shape[0], w_shape[0]) + out_size).astype(np_dtype))
    args = (stride, padding, dilation, groups)
    monkeypatch.setattr(np_conv, "_BATCH_LAST_PIXELS", 0)  # this test's path, not that one
    monkeypatch.setattr(np_conv, "_IMAGE_BLOCK_ELEMENTS", block)

    def run(keep_columns):
        y = np_conv.conv2d(x, w, *args, out_size)
        if not keep_columns:
            np_conv._KEPT_COLUMNS.clear()
        return y, np_conv.conv2d_weight_grad(x, dy, *args, w_shape[2:])
    fast, cold = run(True), run(False)
    monkeypatch.setattr(np_conv, "_BY_IMAGE", False)
    general = run(True)
    tol = 1e-13 if np_dtype == np.float64 else 2e-3
    for a, c, b in zip(fast, cold, general):
        a, c, b = _arrays.nd(a), _arrays.nd(c), _arrays.nd(b)
        assert a.shape == b.shape and a.dtype == b.dtype == np_dtype
        assert a.tobytes() == c.tobytes()  # the kept columns are the columns
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_kept_columns_serve_one_weight_grad_of_the_same_unchanged_input(monkeypatch):
    """The forward's columns are used once, only for its own input view and geometry, and
    not after the input changed in place (its version moved); they go with the input."""
    import gc
    import weakref
    from framework._backends.numpy import conv as np_conv
    rng = np.random.default_rng(24)
    xt = framework.tensor(rng.standard_normal((2, 3, 6, 6)))
    w = _arrays.wrap(rng.standard_normal((4, 3, 3, 3)))
    dy = _arrays.wrap(rng.standard_normal((2, 4, 6, 6)))
    args = ((1, 1), (1, 1), (1, 1), 1)
    monkeypatch.setattr(np_conv, "_BATCH_LAST_PIXELS", 0)
    used = []
    real = np_conv._ByImage.columns
    monkeypatch.setattr(np_conv._ByImage, "columns",
                        lambda self, images: used.append(images) or real(self, images))

    def weight_grad():
        used.clear()
        dw = _arrays.nd(np_conv.conv2d_weight_grad(xt._a, dy, *args, (3, 3)))
        return dw, len(used)
    np_conv.conv2d(xt._a, w, *args, (6, 6))
    first, built = weight_grad()
    assert built == 0  # the forward's columns
    second, built = weight_grad()
    assert built >= 1 and first.tobytes() == second.tobytes()  # taken out: built again
    np_conv.conv2d(xt._a, w, *args, (6, 6))
    np_conv.conv2d(xt._a, w, (1, 1), (0, 0), (1, 1), 1, (4, 4))  # another geometry: its own
    assert len(np_conv._KEPT_COLUMNS[xt._a.storage]) == 2
    with framework.no_grad():
        xt.mul_(2.0)  # in place: a new version
    doubled, built = weight_grad()
    assert built >= 1
    np.testing.assert_allclose(doubled, 2 * first, rtol=1e-13)
    storage = weakref.ref(xt._a.storage)
    del xt
    gc.collect()
    assert storage() is None  # the cache does not keep its input alive
    # bounded: past ``_KEPT_TOTAL_MAX`` elements a forward keeps nothing more
    monkeypatch.setattr(np_conv, "_KEPT_TOTAL_MAX", np_conv._kept_elements() + 2 * 27 * 36)
    kept = [framework.tensor(rng.standard_normal((2, 3, 6, 6))) for _ in range(2)]
    for t in kept:
        np_conv.conv2d(t._a, w, *args, (6, 6))
    assert t._a.storage not in np_conv._KEPT_COLUMNS and kept[0]._a.storage in np_conv._KEPT_COLUMNS


# (x shape, weight shape, stride, (top, left) padding, dilation, groups, out size): n >= 4
# images of at most 64 output pixels each
BATCH_LAST_CONV_CASES = [
    ((32, 16, 4, 4), (32, 16, 3, 3), (1, 1), (1, 1), (1, 1), 1, (4, 4)),  # a CNN on 8x8 digits
    ((5, 1, 7, 7), (4, 1, 3, 3), (1, 1), (1, 1), (1, 1), 1, (7, 7)),      # one input channel
    ((4, 4, 8, 7), (6, 2, 3, 2), (2, 1), (1, 0), (2, 1), 2, (3, 6)),      # stride, dilation, groups
    ((6, 3, 5, 5), (2, 3, 2, 4), (1, 1), (0, 1), (1, 2), 1, (5, 5)),      # 'same' with even kernels
    ((4, 2, 4, 4), (3, 2, 1, 1), (1, 1), (0, 0), (1, 1), 1, (4, 4)),      # 1x1
    ((4, 6, 5, 5), (6, 1, 3, 3), (2, 2), (1, 1), (1, 1), 6, (3, 3)),      # depthwise, strided
    ((4, 2, 7, 7), (3, 2, 3, 3), (2, 2), (0, 0), (1, 1), 1, (3, 3)),      # unpadded, last row unread
]


@pytest.mark.parametrize("case", BATCH_LAST_CONV_CASES, ids=str)
@pytest.mark.parametrize("np_dtype", [np.float64, np.float16])
def test_batch_last_conv_kernels_equal_the_general_path(case, np_dtype, monkeypatch):
    """The images-innermost kernels of small images (``_BatchLast``: forward, input grad,
    weight grad) give the general path's results (one K-major im2col matrix, col2im)."""
    from framework._backends.numpy import conv as np_conv
    x_shape, w_shape, stride, padding, dilation, groups, out_size = case
    assert np_conv._batch_last_applies(x_shape[0], x_shape[1], w_shape[2:], out_size,
                                       input_grad=True)
    rng = np.random.default_rng(29)
    x = _arrays.wrap(rng.standard_normal(x_shape).astype(np_dtype))
    w = _arrays.wrap(rng.standard_normal(w_shape).astype(np_dtype))
    dy = _arrays.wrap(rng.standard_normal((x_shape[0], w_shape[0]) + out_size).astype(np_dtype))
    args = (stride, padding, dilation, groups)

    def run():
        return (np_conv.conv2d(x, w, *args, out_size),
                np_conv.conv2d_input_grad(dy, w, *args, x_shape[2:]),
                np_conv.conv2d_weight_grad(x, dy, *args, w_shape[2:]))
    fast = run()
    monkeypatch.setattr(np_conv, "_BY_IMAGE", False)  # the general path
    general = run()
    tol = 1e-13 if np_dtype == np.float64 else 2e-3
    for a, b in zip(fast, general):
        a, b = _arrays.nd(a), _arrays.nd(b)
        assert a.shape == b.shape and a.dtype == b.dtype == np_dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def test_batch_last_conv_path_is_taken_only_for_small_outputs_of_a_batch(monkeypatch):
    """Small outputs of at least four images go images-innermost; one image, large outputs
    and im2col matrices past ``_BATCH_LAST_ELEMENTS`` keep the by-image paths, and the
    by-image entry points (which a compiled plan calls) decline the batch-last cases."""
    from framework._backends.numpy import conv as np_conv
    applies = np_conv._batch_last_applies
    assert applies(32, 16, (3, 3), (4, 4)) and applies(4, 1, (3, 3), (8, 8))
    assert not applies(3, 16, (3, 3), (4, 4))      # too few images
    assert not applies(32, 16, (3, 3), (9, 8))     # 72 pixels
    assert not applies(4096, 512, (3, 3), (8, 8))  # 1.2e9 im2col elements
    assert applies(64, 6, (5, 5), (8, 8))  # LeNet's second layer: forward and weight grad
    assert not applies(64, 6, (5, 5), (8, 8), input_grad=True)  # ... its input grad: wide rows
    assert applies(32, 16, (3, 3), (7, 7), input_grad=True)
    x = _arrays.wrap(np.ones((4, 2, 4, 4)))
    w = _arrays.wrap(np.ones((3, 2, 3, 3)))
    dy = _arrays.wrap(np.ones((4, 3, 4, 4)))
    args = ((1, 1), (1, 1), (1, 1), 1)
    assert np_conv._conv_by_image(x, w, *args, (4, 4)) is None
    assert np_conv._weight_grad_by_image(x, dy, *args, (3, 3)) is None
    assert np_conv._input_grad_wide(dy, w, *args, (4, 4)) is None
    monkeypatch.setattr(np_conv, "_BATCH_LAST_PIXELS", 0)
    assert np_conv._conv_by_image(x, w, *args, (4, 4)) is not None


def test_batch_last_conv_path_keeps_integers_exact(monkeypatch):
    from framework._backends.numpy import conv as np_conv
    rng = np.random.default_rng(9)
    x = _arrays.wrap(rng.integers(-5, 5, (4, 2, 5, 5)))
    w = _arrays.wrap(rng.integers(-3, 3, (3, 2, 3, 3)))
    dy = _arrays.wrap(rng.integers(-4, 4, (4, 3, 5, 5)))
    args = ((1, 1), (1, 1), (1, 1), 1)

    def run():
        return (_arrays.nd(np_conv.conv2d(x, w, *args, (5, 5))),
                _arrays.nd(np_conv.conv2d_input_grad(dy, w, *args, (5, 5))),
                _arrays.nd(np_conv.conv2d_weight_grad(x, dy, *args, (3, 3))))
    fast = run()
    monkeypatch.setattr(np_conv, "_BY_IMAGE", False)
    for a, b in zip(fast, run()):
        assert a.dtype == b.dtype == np.int64
        np.testing.assert_array_equal(a, b)


def test_stride_one_conv_path_keeps_integers_exact(monkeypatch):
    from framework._backends.numpy import conv as np_conv
    rng = np.random.default_rng(8)
    x = _arrays.wrap(rng.integers(-5, 5, (2, 2, 5, 5)))
    w = _arrays.wrap(rng.integers(-3, 3, (3, 2, 3, 3)))
    dy = _arrays.wrap(rng.integers(-4, 4, (2, 3, 5, 5)))
    args = ((1, 1), (1, 1), (1, 1), 1)

    def run():  # the forward, and the input grad (conv_transpose2d's forward on integers)
        return (_arrays.nd(np_conv.conv2d(x, w, *args, (5, 5))),
                _arrays.nd(np_conv.conv2d_input_grad(dy, w, *args, (5, 5))),
                _arrays.nd(np_conv.conv2d_weight_grad(x, dy, *args, (3, 3))))
    wide = run()
    monkeypatch.setattr(np_conv._Wide, "plan", classmethod(lambda cls, *a: None))
    for a, b in zip(wide, run()):
        assert a.dtype == b.dtype == np.int64
        np.testing.assert_array_equal(a, b)


def _tile_windows(out: int, k: int, stride: int = 0):
    from framework.ops.pool import _pool_windows
    return _pool_windows(out, k, stride or k, 0, 1)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.float16, np.int64])
@pytest.mark.parametrize("shape,k", [((2, 3, 8, 6), (2, 2)), ((1, 2, 7, 9), (3, 2)),
                                     ((2, 1, 4, 4), (1, 1)), ((1, 1, 5, 5), (2, 3))])
def test_tiled_max_pool_equals_the_general_path(np_dtype, shape, k, monkeypatch):
    """Disjoint tiles (kernel == stride, no padding) take one argmax per tile; values,
    indices and the scatter backward have the general path's bits, ties and -inf included
    (windows with NaN go to the general path)."""
    from framework._backends.numpy import pool as np_pool
    rng = np.random.default_rng(5)
    if np_dtype == np.int64:
        v = rng.integers(-3, 3, shape)  # many ties
    else:
        v = rng.integers(-3, 3, shape).astype(np_dtype)
        v.flat[:4] = [-np.inf, -np.inf, -0.0, 0.0]
        v[..., -1, :] = -np.inf
    rows, cols = _tile_windows(shape[2] // k[0], k[0]), _tile_windows(shape[3] // k[1], k[1])
    x = _arrays.wrap(v)
    grad = _arrays.wrap(rng.standard_normal((shape[0], shape[1], shape[2] // k[0],
                                             shape[3] // k[1])).astype(np.float32))
    values, index = np_pool.pool_max2d(x, rows, cols)
    back = np_pool.pool_max2d_backward(grad, index, shape[2:])
    assert np_pool._tiles(rows, shape[2]) == k[0]
    monkeypatch.setattr(np_pool, "_tiles", lambda *a: None)
    monkeypatch.setattr(np_pool, "_in_own_tile", lambda *a: False)
    g_values, g_index = np_pool.pool_max2d(x, rows, cols)
    g_back = np_pool.pool_max2d_backward(grad, g_index, shape[2:])
    for a, b in ((values, g_values), (index, g_index), (back, g_back)):
        a, b = _arrays.nd(a), _arrays.nd(b)
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.float16, np.int8])
def test_tiled_max_pool_keeps_the_first_of_equal_values_bit_for_bit(np_dtype, monkeypatch):
    """The tiled path selects by bit pattern: of +0.0 and -0.0 (equal) the first stays, as in
    the general path's strict ``>``; one-byte items too."""
    from framework._backends.numpy import pool as np_pool
    zeros = [[0.0, -0.0, -0.0, 0.0], [-0.0, 0.0, 0.0, -0.0], [0.0, -0.0, -0.0, -0.0],
             [-0.0, -0.0, 0.0, 5.0]]
    v = np.array(zeros, np.float64)[None, None].astype(np_dtype)
    x, rows, cols = _arrays.wrap(v), _tile_windows(2, 2), _tile_windows(2, 2)
    values, index = np_pool.pool_max2d(x, rows, cols)
    monkeypatch.setattr(np_pool, "_tiles", lambda *a: None)
    g_values, g_index = np_pool.pool_max2d(x, rows, cols)
    assert _arrays.nd(values).tobytes() == _arrays.nd(g_values).tobytes()
    assert _arrays.nd(index).tolist() == _arrays.nd(g_index).tolist()
    if np_dtype != np.int8:
        assert np.signbit(_arrays.nd(values)).tolist() == [[[[False, True], [False, False]]]]


def _in_own_tile_by_division(flat, in_size) -> bool:
    """The own-tile test spelled out: row // kh and column // kw name the output's tile."""
    ho, wo = flat.shape[2:]
    (h, w) = in_size
    kh, kw = h // ho, w // wo
    r, c = np.divmod(flat, w)
    return bool(np.array_equal(r // kh, np.broadcast_to(np.arange(ho)[:, None], flat.shape))
                and np.array_equal(c // kw, np.broadcast_to(np.arange(wo), flat.shape))
                and (r < ho * kh).all() and (c < wo * kw).all() and (flat >= 0).all())


@pytest.mark.parametrize("in_size, out_size", [((4, 6), (2, 3)), ((5, 7), (2, 3)), ((3, 3), (3, 1))])
def test_own_tile_check_agrees_with_row_and_column_division(in_size, out_size):
    """``_in_own_tile`` (the max-pool backward's store-instead-of-add test) by table look-up
    equals the division-based definition, for indices in their tiles and moved out of them."""
    from framework._backends.numpy import pool as np_pool
    rng = np.random.default_rng(16)
    (h, w), (ho, wo) = in_size, out_size
    kh, kw = h // ho, w // wo
    rows = np.arange(ho)[:, None] * kh + rng.integers(0, kh, (2, 3, ho, wo))
    cols = np.arange(wo) * kw + rng.integers(0, kw, (2, 3, ho, wo))
    own = rows * w + cols
    assert np_pool._in_own_tile(own, in_size) and _in_own_tile_by_division(own, in_size)
    for delta in (1, -1, w, -w, kw, h * w):
        for k in range(own.size):
            moved = own.copy()
            moved.flat[k] += delta
            assert np_pool._in_own_tile(moved, in_size) == _in_own_tile_by_division(moved, in_size)


def test_tiled_max_pool_leaves_nan_windows_to_the_general_path():
    from framework._backends.numpy import pool as np_pool
    v = np.zeros((1, 1, 2, 4), np.float32)
    v[0, 0, 0, 0] = v[0, 0, 1, 1] = np.nan  # two NaNs in one tile: PyTorch keeps the last
    values, index = np_pool.pool_max2d(_arrays.wrap(v), _tile_windows(1, 2), _tile_windows(2, 2))
    assert np.isnan(_arrays.nd(values)[0, 0, 0, 0]) and _arrays.nd(index)[0, 0, 0].tolist() == [5, 2]


def test_max_pool_backward_scatter_adds_overlapping_indices():
    # overlapping windows (kernel 3, stride 1) share positions: the tile store must not apply
    from framework._backends.numpy import pool as np_pool
    v = np.zeros((1, 1, 4, 4), np.float32)
    v[0, 0, 1, 1] = 5.0
    rows = cols = _tile_windows(2, 3, stride=1)
    _, index = np_pool.pool_max2d(_arrays.wrap(v), rows, cols)
    assert not np_pool._in_own_tile(_arrays.nd(index), (4, 4))
    back = np_pool.pool_max2d_backward(_arrays.wrap(np.ones((1, 1, 2, 2), np.float32)), index,
                                       (4, 4))
    assert _arrays.nd(back)[0, 0, 1, 1] == 4.0


def test_normalize_reuses_its_constants_only_for_the_same_dtype_and_values():
    from framework.datasets import transforms
    normalize = transforms.Normalize((0.5, -1.0), (2.0, 0.25))
    rng = np.random.default_rng(9)
    for dtype in (np.float32, np.float64, np.float32):
        values = rng.standard_normal((2, 3, 4)).astype(dtype)
        out = normalize(framework.tensor(values))
        want = (values - np.array([0.5, -1.0], dtype)[:, None, None]) \
            / np.array([2.0, 0.25], dtype)[:, None, None]
        assert out.numpy().dtype == dtype and np.array_equal(out.numpy(), want)
    normalize.mean = [0.0, 0.0]  # a changed attribute is honoured, not the cached tensors
    out = normalize(framework.tensor(values))
    assert np.array_equal(out.numpy(), values / np.array([2.0, 0.25], np.float32)[:, None, None])


def _cell_inputs(gates: int, bias: bool, seed: int = 11):
    rng = np.random.default_rng(seed)
    shapes = [(3, gates * 4), (3, 4), (3, 4), (gates * 4, 4)] + ([(gates * 4,)] if bias else [])
    return [framework.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


def _grads_of(run, inputs, create_graph=False):
    outs = run(*inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    loss = sum((o * (k + 1.5)).sum() for k, o in enumerate(outs))
    grads = framework.autograd.grad(loss, [t for t in inputs if t.requires_grad],
                                    create_graph=create_graph)
    return outs, grads


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", ["gru", "lstm", "lstm_h_only"])
def test_fused_rnn_cells_equal_the_general_path(kind, bias):
    """One-node GRU/LSTM steps: the general path's outputs (same bits) and gradients (float64,
    equal up to rounding), also for second derivatives (create_graph)."""
    from framework.nn.modules import rnn
    gates = 3 if kind == "gru" else 4
    x_proj, h, c, w_hh, *b = _cell_inputs(gates, bias)
    b_hh = b[0] if b else None
    if kind == "gru":
        inputs = [x_proj, h, w_hh] + b
        fused = lambda x, h, w, *b: rnn._gru_cell(x, h, w, b[0] if b else None)  # noqa: E731
        general = lambda x, h, w, *b: rnn._gru_cell_ops(x, h, w, b[0] if b else None)  # noqa: E731
    else:
        inputs = [x_proj, h, c, w_hh] + b
        pick = (lambda out: out[0]) if kind == "lstm_h_only" else (lambda out: out)

        def fused(x, h, c, w, *b):
            return pick(rnn._lstm_cell(x, (h, c), w, b[0] if b else None))

        def general(x, h, c, w, *b):
            return pick(rnn._lstm_cell_ops(x, (h, c), w, b[0] if b else None))
    fused_out, _ = _grads_of(fused, inputs)
    assert "CellBackward" in repr(fused_out[0].grad_fn)  # one node: the fused path ran
    for create_graph in (False, True):
        f_out, f_grads = _grads_of(fused, inputs, create_graph)
        g_out, g_grads = _grads_of(general, inputs, create_graph)
        for a, b_ in zip(f_out, g_out):
            assert a.detach().numpy().tobytes() == b_.detach().numpy().tobytes()
        for a, b_ in zip(f_grads, g_grads):
            np.testing.assert_allclose(a.detach().numpy(), b_.detach().numpy(), rtol=1e-12,
                                       atol=1e-12)
        if create_graph:  # second derivatives: d/d(inputs) of sum(grad * grad)
            f2 = framework.autograd.grad(sum((g * g).sum() for g in f_grads), inputs)
            g2 = framework.autograd.grad(sum((g * g).sum() for g in g_grads), inputs)
            for a, b_ in zip(f2, g2):
                np.testing.assert_allclose(a.numpy(), b_.numpy(), rtol=1e-10, atol=1e-10)



def _per_step(cell, x_proj, state, reverse):
    """The general path: one recorded ``cell`` per step, outputs stacked by time index."""
    outputs = [None] * x_proj.shape[0]
    for t in (range(x_proj.shape[0] - 1, -1, -1) if reverse else range(x_proj.shape[0])):
        state = cell(x_proj[t], state)
        outputs[t] = state[0] if isinstance(state, tuple) else state
    return (framework.stack(outputs, 0),) + (state if isinstance(state, tuple) else (state,))


@pytest.mark.parametrize("on_kernels", [True, False])
@pytest.mark.parametrize("reverse, state_grad", [(False, True), (True, True), (False, False)])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("kind", ["gru", "lstm", "lstm_last_only"])
def test_rnn_sequence_node_equals_the_per_step_general_path(kind, bias, reverse, state_grad,
                                                            on_kernels, monkeypatch):
    """One node for all T steps of a GRU/LSTM layer direction, its steps on the kernels
    (``_Steps``) or in framework ops: the per-step general path's outputs (same bits) and
    gradients (float64, equal up to rounding: the weight gradient is one GEMM over all steps,
    not a sum of T), also for second derivatives (create_graph)."""
    from framework.nn.modules import rnn
    if not on_kernels:
        monkeypatch.setattr(rnn, "_on_kernels", lambda x_proj: False)
    gates = 3 if kind == "gru" else 4
    rng = np.random.default_rng(14)
    shapes = [(5, 3, gates * 4), (3, 4), (3, 4), (gates * 4, 4)] + ([(gates * 4,)] if bias else [])
    inputs = [framework.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]
    if not state_grad:  # h0 and c0 constants (an RNN module's zero state)
        inputs[1:3] = [t.detach() for t in inputs[1:3]]
    if kind == "gru":
        del inputs[2]

        def fused(x, h, w, *b):
            return rnn._GRUSequence.apply(x, h, w, b[0] if b else None, reverse)

        def general(x, h, w, *b):
            return _per_step(lambda xt, s: rnn._gru_cell_ops(xt, s, w, b[0] if b else None),
                             x, h, reverse)
    else:
        pick = (lambda out: out[1]) if kind == "lstm_last_only" else (lambda out: out)

        def fused(x, h, c, w, *b):
            return pick(rnn._LSTMSequence.apply(x, h, c, w, b[0] if b else None, reverse))

        def general(x, h, c, w, *b):
            return pick(_per_step(lambda xt, s: rnn._lstm_cell_ops(xt, s, w, b[0] if b else None),
                                  x, (h, c), reverse))
    fused_out, _ = _grads_of(fused, inputs)
    assert "SequenceBackward" in repr(fused_out[0].grad_fn)  # one node: the fused path ran
    for create_graph in (False, True):
        f_out, f_grads = _grads_of(fused, inputs, create_graph)
        g_out, g_grads = _grads_of(general, inputs, create_graph)
        for a, b_ in zip(f_out, g_out):
            assert a.detach().numpy().tobytes() == b_.detach().numpy().tobytes()
        for a, b_ in zip(f_grads, g_grads):
            np.testing.assert_allclose(a.detach().numpy(), b_.detach().numpy(), rtol=1e-12,
                                       atol=1e-12)
        if create_graph:  # second derivatives: d/d(inputs) of sum(grad * grad)
            wrt = [t for t in inputs if t.requires_grad]
            f2 = framework.autograd.grad(sum((g * g).sum() for g in f_grads), wrt)
            g2 = framework.autograd.grad(sum((g * g).sum() for g in g_grads), wrt)
            for a, b_ in zip(f2, g2):
                np.testing.assert_allclose(a.numpy(), b_.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_rnn_modules_take_the_sequence_node_where_it_applies(kind):
    """A plain GRU/LSTM runs one node per layer direction; an LSTM with proj_size keeps the
    per-step cells."""
    rnn = getattr(framework.nn, kind)(3, 4, num_layers=2, bidirectional=True)
    out, _ = rnn(framework.randn(5, 2, 3))
    assert sum("SequenceBackward" in name for name in _node_names(out.grad_fn)) == 4  # 2 x 2
    if kind == "LSTM":
        projected = framework.nn.LSTM(3, 4, proj_size=2)
        out, _ = projected(framework.randn(5, 2, 3))
        assert not any("Sequence" in name for name in _node_names(out.grad_fn))


def _node_names(root) -> list:
    """The class names of the graph's nodes, each node once."""
    names, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        names.append(type(node).__name__)
        stack.extend(child for child, _ in node.next_functions)
    return names

def test_rnn_time_steps_node_equals_slicing():
    from framework.nn.modules import rnn
    values = np.random.default_rng(12).standard_normal((4, 2, 3))
    grads = []
    for split in (lambda x: rnn._TimeSteps.apply(x), lambda x: [x[t] for t in range(4)]):
        x = framework.tensor(values, requires_grad=True)
        steps = split(x * 1.0)
        loss = (steps[0] * 2).sum() + (steps[3] ** 2).sum()  # steps 1, 2 unused
        assert [s.shape for s in steps] == [(2, 3)] * 4
        assert all(np.array_equal(s.detach().numpy(), values[t]) for t, s in enumerate(steps))
        loss.backward()
        grads.append(x.grad.numpy())
    assert grads[0].tobytes() == grads[1].tobytes()


@pytest.mark.parametrize("np_dtype", [np.float16, np.float32, np.float64, np.int32, np.int64])
def test_large_relu_and_zero_select_have_the_bits_of_the_bitwise_select(np_dtype):
    """relu above _SMALL (maximum, then -0.0 put back) and select with a +0 ``y`` (and of the
    mask only) equal the general bitwise select, NaN payloads and signed zeros included."""
    rng = np.random.default_rng(13)
    v = (rng.standard_normal(10_000) * 5).astype(np_dtype)
    g = (rng.standard_normal(10_000) * 5).astype(np_dtype)
    if np.dtype(np_dtype).kind == "f":
        specials = np.array([np.nan, -np.nan, -0.0, 0.0, -np.inf, np.inf], np_dtype)
        v[:6] = g[6:12] = specials
        v[6:12] = g[:6] = specials
        bits = v.view(_arrays._UNSIGNED[v.itemsize])
        bits[12] = bits[0] | 1  # a NaN with a payload
    zero = np.dtype(np_dtype).type(0)

    def general(cond, x, y):  # the bitwise formula of _arrays.select, written out
        unsigned = _arrays._UNSIGNED[np.dtype(np_dtype).itemsize]
        x, y = np.asarray(x, np_dtype).view(unsigned), np.asarray(y, np_dtype).view(unsigned)
        mask = np.negative(cond.view(np.uint8).astype(unsigned))
        return ((x & mask) | (y & ~mask)).view(np_dtype)
    assert np_elementwise._relu(v).tobytes() == general(v < 0, zero, v).tobytes()
    got = _arrays.select(v > 0, g, zero, np_dtype)
    assert got.dtype == np_dtype and got.tobytes() == general(v > 0, g, zero).tobytes()
    got = _arrays.select(v <= 0, zero, g, np_dtype)  # relu's backward: +0 as x
    assert got.dtype == np_dtype and got.tobytes() == general(v <= 0, zero, g).tobytes()
    if np.dtype(np_dtype).kind == "f":  # -0.0 is not the zero shortcut: the general formula
        neg = _arrays.select(v > 0, g, np_dtype(-0.0), np_dtype)
        assert neg.tobytes() == general(v > 0, g, np_dtype(-0.0)).tobytes()


def test_stride_one_conv_backward_with_non_finite_values_matches_the_general_path(monkeypatch):
    """The wide layout's extra columns multiply x (or w) by zero: with an inf there the
    backward must not turn 0 * inf into NaNs the general path does not have."""
    from framework._backends.numpy import conv as np_conv
    rng = np.random.default_rng(14)
    x, w = rng.standard_normal((2, 1, 6, 6)), rng.standard_normal((2, 1, 3, 3))
    dy = rng.standard_normal((2, 2, 4, 4))
    x[0, 0, 1, 0] = np.inf  # a left-border pixel: read by the extra columns of the row above
    w[0, 0, 2, 2] = np.inf
    args = ((1, 1), (0, 0), (1, 1), 1)

    def run():
        return (np_conv.conv2d_weight_grad(_arrays.wrap(x), _arrays.wrap(dy), *args, (3, 3)),
                np_conv.conv2d_input_grad(_arrays.wrap(dy), _arrays.wrap(w), *args, (6, 6)))
    fast = run()
    monkeypatch.setattr(np_conv._Wide, "plan", classmethod(lambda cls, *a: None))
    for a, b in zip(fast, run()):
        np.testing.assert_array_equal(_arrays.nd(a), _arrays.nd(b))


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", [None, "relu", "gelu"])
@pytest.mark.parametrize("bias, residual, keep", [(True, True, True), (True, False, False),
                                                  (False, True, False), (False, False, True)])
def test_in_place_matmul_epilogue_has_the_bits_of_the_allocating_one(np_dtype, activation, bias,
                                                                       residual, keep,
                                                                       monkeypatch):
    """The NumPy ``matmul_epilogue`` adds bias and residual into its own fresh product
    (float32/float64): the same bits as the separate add kernels, overflow to inf quietly."""
    from framework._backends.numpy import matmul as np_matmul
    rng = np.random.default_rng(15)
    dtype = dtypes.from_numpy_dtype(np.dtype(np_dtype))
    values = [rng.standard_normal(s) for s in ((2, 5, 7), (1, 7, 6), (6,), (2, 5, 6))]
    values[2][0] = values[3][:, :, 0] = np.finfo(np_dtype).max  # the adds overflow to inf
    arrays = [_arrays.wrap(v.astype(np_dtype)) for v in values]
    args = (arrays[0], arrays[1], arrays[2] if bias else None, activation,
            arrays[3] if residual else None, keep)
    fast = np_matmul.matmul_epilogue(*args)
    monkeypatch.setattr(np_matmul, "_IN_PLACE", ())
    general = np_matmul.matmul_epilogue(*args)
    for a, b in zip(fast, general):
        if a is None or b is None:
            assert a is None and b is None
            continue
        assert a.dtype is dtype and _arrays.nd(a).tobytes() == _arrays.nd(b).tobytes()


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_rnn_module_sequence_node_has_the_per_step_bits_in_float32(kind, monkeypatch):
    """At a benchmark-like width in float32 (BLAS blocking, strided gate views), the module's
    sequence-node forward has the per-step path's bits; gradients agree to float32 rounding."""
    framework.manual_seed(17)
    module = getattr(framework.nn, kind)(16, 64, batch_first=True)
    x = framework.randn(32, 5, 16)
    runs = []
    for per_step in (False, True):
        if per_step:
            monkeypatch.setattr(type(module), "_sequence", lambda *args: None)
        module.zero_grad()
        out, _ = module(x)
        (out * out).sum().backward()
        runs.append((out.detach().numpy(), [p.grad.numpy() for p in module.parameters()]))
    (fused, fused_grads), (general, general_grads) = runs
    assert fused.tobytes() == general.tobytes()
    for a, b in zip(fused_grads, general_grads):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.float16, np.int64, np.uint8,
                                      np.bool_])
@pytest.mark.parametrize("shape", [(), (1,), (5,), (2, 3), (2, 1, 3), (3, 1), (0, 3)])
def test_wrap_fast_path_builds_the_array_of_the_general_path(np_dtype, shape):
    values = (np.arange(math.prod(shape)) % 3 - 1).reshape(shape)
    fresh = np.array(values, dtype=np_dtype)  # owned, C-ordered: the fast path's case
    assert fresh.base is None
    dtype = dtypes.from_numpy_dtype(np.dtype(np_dtype))
    fast = _arrays.wrap(fresh, dtype)
    general = _arrays.wrap(fresh[...], dtype)  # a view: the general path (a copy)
    for name in ("shape", "strides", "offset", "dtype"):
        assert getattr(fast, name) == getattr(general, name), name
    assert fast.storage.numel == general.storage.numel and fast.storage.dtype is dtype
    assert fast.storage.buffer.ndim == 1 and fast.storage.buffer.dtype == np_dtype
    assert fast.storage.buffer.tobytes() == general.storage.buffer.tobytes()
    view = _arrays.nd(fast)  # the kept view has the layout ``nd`` builds from the Array
    fast._cache = None
    rebuilt = _arrays.nd(fast)
    assert view.shape == rebuilt.shape and view.dtype == rebuilt.dtype
    assert view.tobytes() == rebuilt.tobytes()
    if fresh.size:
        assert view.strides == rebuilt.strides and np.shares_memory(view, fast.storage.buffer)


@pytest.mark.parametrize("result", [
    np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),  # owned, not C-ordered
    np.arange(6.0),  # float64 wrapped as float32: a cast
])
def test_wrap_leaves_other_owned_arrays_to_the_general_path(result):
    array = _arrays.wrap(result, dtypes.float32)
    assert array.strides == _arrays._contiguous_strides(result.shape)
    assert not np.shares_memory(array.storage.buffer, result)
    view = _arrays.nd(array)
    assert view.flags.c_contiguous and np.shares_memory(view, array.storage.buffer)
    assert np.array_equal(view, result.astype(np.float32))


_SAME_OPS = ["add", "sub", "mul", "div"]
_SAME_DTYPES = [dtypes.float32, dtypes.float64, dtypes.float16, dtypes.bfloat16, dtypes.int64,
                dtypes.int32, dtypes.uint8, dtypes.bool]


def _same_pair(dtype, shape, layout):
    a, b = _tensor(dtype, shape, seed=3), _tensor(dtype, shape, seed=4)
    if dtype is not dtypes.bool and dtype.is_floating_point is False:
        b = framework.where(b == 0, framework.ones_like(b), b)  # no integer division by zero
    if layout == "transposed":
        a, b = a.t(), b.t()
    return a, b


@pytest.mark.parametrize("op", _SAME_OPS)
@pytest.mark.parametrize("dtype", _SAME_DTYPES)
@pytest.mark.parametrize("shape,layout", [((), "plain"), ((5,), "plain"), ((2, 3), "plain"),
                                          ((3, 2), "transposed"), ((0, 3), "plain")])
def test_same_operand_fast_path_equals_the_general_path(op, dtype, shape, layout, monkeypatch):
    """The public ``framework.<op>`` (its own inlined fast path) and the op itself (with and
    without ``same_untracked``) give the same result."""
    from framework.ops import binary
    a, b = _same_pair(dtype, shape, layout)

    def run(fn):
        try:
            out = fn(a, b)
        except RuntimeError as exc:  # sub of bool tensors: the same error on both paths
            return str(exc)
        return out.dtype, tuple(out.shape), out.requires_grad, out.grad_fn, out.numpy().tobytes()

    fast = run(getattr(framework, op))
    assert run(getattr(binary, op)) == fast
    monkeypatch.setattr(binary, "same_untracked", lambda kernel, x, y: None)
    assert run(getattr(binary, op)) == fast


def test_same_operand_fast_path_applies_only_to_its_case():
    a, b = _tensor(dtypes.float32, (2, 3), seed=1), _tensor(dtypes.float32, (2, 3), seed=2)
    assert _pointwise.same_untracked("add", a, b) is not None
    assert _pointwise.same_untracked("add", a, b[:1]) is None  # broadcast
    assert _pointwise.same_untracked("add", a, b.double()) is None  # promotion
    assert _pointwise.same_untracked("add", a, 1.0) is None  # a number
    tracked = a.detach().requires_grad_()
    assert _pointwise.same_untracked("add", b, tracked) is None
    assert _pointwise.same_untracked("add", tracked * 1, b) is None  # a non-leaf
    assert (tracked + b).grad_fn is not None and (b - tracked).grad_fn is not None
    view = (tracked * 1)[0:2]  # a view of a graph result: tracked through its base
    assert _pointwise.same_untracked("mul", view, b) is None and (view * b).grad_fn is not None
    with framework.no_grad():
        quiet = _pointwise.same_untracked("div", tracked, b)
        assert quiet is not None and quiet.grad_fn is None and not quiet.requires_grad
        assert np.array_equal(quiet.numpy(), (tracked / b).numpy())


@pytest.mark.parametrize("shape,numel", [((), 1), ((1,), 1), ((6,), 6), ((2, 3), 6),
                                         ((2, 1, 3), 6), ((4, 0), 0), ((0,), 0)])
def test_reshape_shape_fast_path_equals_the_inferring_path(shape, numel):
    from framework.ops import shape as shape_ops
    given = shape_ops._infer_shape("reshape", shape, numel)  # every size given: fast path
    assert given == shape and type(given) is tuple
    for i in range(len(shape)):
        if math.prod(shape[:i] + shape[i + 1:]):  # a -1: the general path infers the size
            inferred = shape[:i] + (-1,) + shape[i + 1:]
            assert shape_ops._infer_shape("reshape", inferred, numel) == shape
    for bad in (shape + (2,), shape + (-2,)):
        if math.prod(bad) != numel or -2 in bad:
            with pytest.raises(RuntimeError, match="reshape"):
                shape_ops._infer_shape("reshape", bad, numel)


@pytest.mark.parametrize("old,new", [((), (1, 1)), ((1,), ()), ((6,), (2, 3)), ((2, 3), (6,)),
                                     ((2, 1, 3), (3, 1, 2)), ((4, 1), (1, 4, 1)), ((4, 0), (0, 2)),
                                     ((2, 3, 4), (6, 1, 4)), ((1, 1), (1,))])
@pytest.mark.parametrize("op", ["reshape", "view"])
def test_row_major_reshape_strides_equal_computed_strides(old, new, op):
    """``reshape``/``view`` of a row-major tensor take the new shape's row-major strides: the
    strides ATen's computeStride (``_view_strides``) gives it, size-1 and empty dims included."""
    from framework.ops import shape as shape_ops
    x = framework.tensor(np.arange(math.prod(old), dtype=np.float32).reshape(old))
    out = getattr(x, op)(new)
    assert out.stride() == shape_ops._view_strides(old, x.stride(), new)
    assert out._a.strides == shape_ops._view_strides(old, x._a.strides, new)
    np.testing.assert_array_equal(out.numpy(), x.numpy().reshape(new))


# (x shape, weight shape, stride, padding, dilation, groups, bias): batched conv2d calls
ONE_NODE_CONV_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 2), 1, 1, 1, 1, True),
    ((2, 4, 8, 8), (6, 2, 3, 3), 2, (1, 0), (2, 1), 2, True),
    ((1, 2, 5, 5), (3, 2, 1, 1), 1, 0, 1, 1, False),
    ((3, 1, 9, 9), (4, 1, 5, 5), 1, 2, 1, 1, True),
]


@pytest.mark.parametrize("case", ONE_NODE_CONV_CASES, ids=str)
def test_conv2d_one_node_equals_the_replayed_composition(case):
    """A batched conv2d records one ``_ConvBias2d`` node (no ``one_node`` replay): the same
    forward bits, first-derivative bits and (float64) second derivatives as the composition
    ``_Conv2d`` + bias ``add`` replayed as one node, with the same graph node and edges."""
    from framework.autograd.composite import one_node
    from framework.ops import conv as conv_ops
    x_shape, w_shape, stride, padding, dilation, groups, has_bias = case
    rng = np.random.default_rng(21)

    def leaf(shape):
        return framework.tensor(rng.standard_normal(shape), requires_grad=True)
    x, w = leaf(x_shape), leaf(w_shape)
    b = leaf((w_shape[0],)) if has_bias else None
    fast = framework.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups)
    geo = conv_ops.Geometry(*(conv_ops._int_tuple("conv2d", "", v, 2)
                              for v in (stride, padding, dilation)), groups)

    @one_node("ConvolutionBackward0")
    def composition(x, w, b):
        out = conv_ops._Conv2d.apply(x, w, geo, tuple(fast.shape[2:]))
        return conv_ops._add_bias(out, b)
    general = composition(x, w, b)
    assert fast.grad_fn.name() == general.grad_fn.name() == "ConvolutionBackward0"
    assert type(fast.grad_fn).__name__ == "ConvolutionBackward0"
    assert fast.grad_fn.fn_cls is conv_ops._ConvBias2d  # the op's own node, not a replay
    assert len(fast.grad_fn.next_functions) == len(general.grad_fn.next_functions) == \
        (3 if has_bias else 2)
    assert fast.detach().numpy().tobytes() == general.detach().numpy().tobytes()
    inputs = [t for t in (x, w, b) if t is not None]
    dy = framework.tensor(rng.standard_normal(tuple(fast.shape)), requires_grad=True)
    firsts = [framework.autograd.grad(out, inputs, dy, create_graph=True)
              for out in (fast, general)]
    for a, g in zip(*firsts):
        assert a.detach().numpy().tobytes() == g.detach().numpy().tobytes()
    # second derivatives: of <grads, v> w.r.t. the inputs and dy
    vs = [framework.tensor(rng.standard_normal(tuple(t.shape))) for t in inputs]
    seconds = []
    for grads in firsts:
        total = sum((g * v).sum() for g, v in zip(grads, vs))
        seconds.append(framework.autograd.grad(total, inputs + [dy], allow_unused=True))
    for a, g in zip(*seconds):
        assert (a is None) == (g is None)
        if a is not None:
            np.testing.assert_allclose(a.numpy(), g.numpy(), rtol=1e-12, atol=1e-12)


def test_conv2d_one_node_keeps_the_replay_for_unbatched_input():
    x = framework.tensor(np.ones((2, 5, 5)), requires_grad=True)
    w = framework.tensor(np.ones((3, 2, 3, 3)), requires_grad=True)
    out = framework.nn.functional.conv2d(x, w)
    assert out.shape == (3, 3, 3) and out.grad_fn.name() == "ConvolutionBackward0"
    out.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 2, 3, 3), 9.0))


@pytest.mark.parametrize("shape, kernel, stride, padding, return_indices", [
    ((2, 3, 8, 8), 2, None, 0, False),
    ((1, 2, 7, 9), 3, 2, 1, True),
    ((3, 1, 6, 6), (2, 3), (2, 1), 0, True),
])
def test_max_pool2d_one_node_equals_the_replayed_composition(shape, kernel, stride, padding,
                                                              return_indices):
    """A batched max_pool2d records its one ``MaxPool`` node under PyTorch's name (no
    ``one_node`` replay): same values, indices, gradient bits and second derivative as the
    replayed composition, with the same node name."""
    from framework.autograd.composite import one_node
    from framework.ops import pool as pool_ops
    rng = np.random.default_rng(22)
    x = framework.tensor(rng.standard_normal(shape), requires_grad=True)
    args = (kernel, stride, padding, 1, False, return_indices)
    fast = framework.nn.functional.max_pool2d(x, *args)

    @one_node("MaxPool2DWithIndicesBackward0")
    def composition(x):
        return pool_ops._max_pool("max_pool1d", 2, x, *args)  # any op name but max_pool2d's
    general = composition(x)
    fast_v, general_v = (fast[0], general[0]) if return_indices else (fast, general)
    if return_indices:
        assert fast[1].numpy().tobytes() == general[1].numpy().tobytes()
    assert fast_v.grad_fn.name() == general_v.grad_fn.name() == "MaxPool2DWithIndicesBackward0"
    assert fast_v.grad_fn.fn_cls is pool_ops.MaxPool  # the op's own node, not a replay
    assert len(fast_v.grad_fn.next_functions) == len(general_v.grad_fn.next_functions) == 1
    assert fast_v.detach().numpy().tobytes() == general_v.detach().numpy().tobytes()
    dy = framework.tensor(rng.standard_normal(tuple(fast_v.shape)), requires_grad=True)
    firsts = [framework.autograd.grad(v, x, dy, create_graph=True)[0] for v in (fast_v, general_v)]
    assert firsts[0].detach().numpy().tobytes() == firsts[1].detach().numpy().tobytes()
    v = framework.tensor(rng.standard_normal(shape))
    seconds = [framework.autograd.grad((g * v).sum(), dy)[0] for g in firsts]
    assert seconds[0].numpy().tobytes() == seconds[1].numpy().tobytes()


def test_kernel_threads_follow_the_blas_setting_and_survive_a_fork(monkeypatch):
    """``run_pieces`` runs the pieces in order on ``threads()`` threads (the BLAS library's
    count); a forked child (a DataLoader worker) makes its own pool instead of waiting on
    the parent's threads, which it does not have."""
    import multiprocessing
    from framework._backends.numpy import _parallel
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert _parallel.threads() == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "x")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert _parallel.threads() == 2
    assert _parallel.run_pieces(lambda p: p * p, range(7), 3) == [p * p for p in range(7)]
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=lambda: results.put(_parallel.run_pieces(abs, [-1, -2, -3],
                                                                            2)))
    child.start()
    assert results.get(timeout=30) == [1, 2, 3]
    child.join(timeout=30)
    assert child.exitcode == 0


def test_pieces_on_threads_run_blas_on_one_thread_each_and_restore_it(monkeypatch):
    """While ``run_pieces`` runs pieces on several threads, OpenBLAS (NumPy's) is told to use
    one thread per call, and its count is given back afterwards, also after a failing
    piece; on one thread the count is left alone."""
    from framework._backends.numpy import _parallel
    control = _parallel._blas_threads_control()
    if control is None:
        pytest.skip("NumPy's BLAS is not an OpenBLAS with thread-count symbols")
    setter, getter = control
    before = getter()
    try:
        setter(2)
        assert _parallel.run_pieces(lambda p: getter(), range(4), 2) == [1, 1, 1, 1]
        assert getter() == 2
        assert _parallel.run_pieces(lambda p: getter(), range(4), 1) == [2, 2, 2, 2]

        def failing(p):
            raise ValueError(p)
        with pytest.raises(ValueError):
            _parallel.run_pieces(failing, range(4), 2)
        assert getter() == 2
    finally:
        setter(before)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
def test_conv_with_threaded_blas_on_two_threads_equals_one_thread(np_dtype, monkeypatch):
    """mnist_cnn's second layer (one image's GEMM, 32 x 144 x 196, is large enough for
    OpenBLAS to thread): the forward, input grad and weight grad on two pool threads (BLAS
    on one thread each) are bit-identical to one thread (BLAS on two threads)."""
    from framework._backends.numpy import _parallel
    from framework._backends.numpy import conv as np_conv
    control = _parallel._blas_threads_control()
    rng = np.random.default_rng(31)
    x = _arrays.wrap(rng.standard_normal((4, 16, 14, 14)).astype(np_dtype))
    w = _arrays.wrap(rng.standard_normal((32, 16, 3, 3)).astype(np_dtype))
    dy = _arrays.wrap(rng.standard_normal((4, 32, 14, 14)).astype(np_dtype))
    args = ((1, 1), (1, 1), (1, 1), 1)
    monkeypatch.setattr(np_conv, "_IMAGE_BLOCK_ELEMENTS", 1)
    monkeypatch.setattr(np_conv, "_BLOCK_ELEMENTS", 1)
    monkeypatch.setattr(np_conv, "_MIN_BLOCK_COLUMNS", 1)

    def run(threads):
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", threads)
        return [_arrays.nd(a).tobytes() for a in (
            np_conv.conv2d(x, w, *args, (14, 14)),
            np_conv.conv2d_input_grad(dy, w, *args, (14, 14)),
            np_conv.conv2d_weight_grad(x, dy, *args, (3, 3)))]
    before = control[1]() if control is not None else None
    try:
        if control is not None:
            control[0](2)
        assert run("2") == run("1")
    finally:
        if control is not None:
            control[0](before)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.int32])
def test_tiled_max_pool_split_over_threads_equals_one_thread(np_dtype, monkeypatch):
    """The tiled max pool by blocks of images on two and three threads gives the one-thread
    values and indices bit for bit (ties and -inf included); a NaN in any block sends the
    whole input to the general path."""
    from framework._backends.numpy import pool as np_pool
    rng = np.random.default_rng(41)
    data = rng.integers(-3, 3, (5, 3, 8, 6)).astype(np_dtype)  # many ties
    if np_dtype != np.int32:
        data[1, 2, :2, :2] = -np.inf
    monkeypatch.setattr(np_pool, "_SPLIT_POOL_ELEMENTS", 1)
    results = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", threads)
        best, where = np_pool._pool_max_tiles_split(data, 2, 2, 4, 3)
        results.append((best.shape, best.tobytes(), where.shape, where.tobytes()))
    assert results[1] == results[0] and results[2] == results[0]
    if np_dtype != np.int32:
        data[4, 0, 3, 3] = np.nan
        assert np_pool._pool_max_tiles_split(data, 2, 2, 4, 3) is None


def _reference_nd(a):
    """``nd``'s general NumPy view of an ``Array``: a new view of the storage's buffer."""
    item = a.dtype.itemsize
    return np.ndarray(a.shape, dtype=a.dtype.numpy, buffer=a.storage.buffer,
                      offset=a.offset * item, strides=tuple(s * item for s in a.strides))


@pytest.mark.parametrize("case", ["whole", "whole of a flat view", "one batch", "column",
                                  "scalar", "offset", "transposed", "stride-0 batch",
                                  "reinterpreted dtype"])
def test_nd_of_a_whole_storage_view_equals_the_buffer_view(case):
    """``nd`` of a row-major view of a whole storage reshapes the flat buffer instead of making
    a new buffer view: the same values, shape, strides and memory; any other view takes the
    general path."""
    rng = np.random.default_rng(0)
    owner = _arrays.wrap(rng.standard_normal(12).astype(np.float32))  # buffer owns its memory
    flat_view = _arrays.wrap(rng.standard_normal((3, 4)).astype(np.float32))  # buffer: a ravel
    source = flat_view if case == "whole of a flat view" else owner
    views = {
        "whole": lambda a: a.view((3, 4), (4, 1), 0),
        "whole of a flat view": lambda a: a.view((2, 6), (6, 1), 0),
        "one batch": lambda a: a.view((1, 3, 4), (12, 4, 1), 0),
        "column": lambda a: a.view((12, 1), (1, 1), 0),
        "scalar": lambda a: a.view((1,), (1,), 0),
        "offset": lambda a: a.view((2, 4), (4, 1), 4),
        "transposed": lambda a: a.view((4, 3), (1, 4), 0),
        "stride-0 batch": lambda a: a.view((1, 3, 4), (0, 4, 1), 0),
        "reinterpreted dtype": lambda a: a.view((12,), (1,), 0, dtypes.int32),
    }
    view = views[case](source)
    got, want = _arrays.nd(view), _reference_nd(view)
    assert got.shape == want.shape and got.strides == want.strides and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    assert np.shares_memory(got, _arrays.nd(source))
    got[(0,) * got.ndim] = 7  # writes reach the storage
    assert want[(0,) * want.ndim] == 7
    assert _arrays.nd(view) is got  # cached


@pytest.mark.parametrize("p", [0.0, 1e-12, 0.1, 1 / 3, 0.5, 0.9, 0.999999, 1.0])
@pytest.mark.parametrize("size", [7, 1 << 16])  # one draw, and blocks over threads
def test_dropout_mask_from_raw_words_equals_the_uniform_draw(p, size, monkeypatch):
    """The dropout mask compares Philox's raw words with a threshold: exactly where the
    uniform draw of the same words is below ``p`` (one thread and two)."""
    from framework._backends.numpy import random as np_random
    expected = np_random._generator(11, 40).random((size,)) < p
    for threads in ("1", "2"):
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", threads)
        np_random._DROP_MASKS.clear()
        got = np_random._draw_below((size,), p, 11, 40)
        assert got.dtype == np.bool_ and np.array_equal(got, expected)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.int64])
def test_add_rows_without_duplicates_equals_the_grouped_sum(np_dtype):
    """``_add_rows`` with distinct rows (a permutation's scatter, pack/pad's backward) adds
    each source to its row directly: the grouped reduction's values bit for bit."""
    from framework._backends.numpy import indexing as np_indexing
    rng = np.random.default_rng(3)
    block = (rng.standard_normal((6, 4)) * 10).astype(np_dtype)
    values = (rng.standard_normal((4, 4)) * 10).astype(np_dtype)
    rows = np.array([4, -6, 2, 5])  # distinct, one negative
    fast = block.copy()
    np_indexing._add_rows(fast, rows, values)
    expected = block.copy()
    for r, v in zip(rows, values):
        expected[r] = np.add.reduce(np.stack([expected[r], v]), axis=0)
    assert fast.tobytes() == expected.tobytes()
    repeated = block.copy()
    np_indexing._add_rows(repeated, np.array([1, 1, 3, 1]), values)
    np.testing.assert_allclose(repeated[1], block[1] + values[0] + values[1] + values[3],
                               rtol=1e-6 if np_dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("shape, spans, axes", [((2, 3, 5, 6), (3, 2), (2, 3)),
                                                ((3, 5, 6, 2), (2, 3), (1, 2)),
                                                ((1, 1, 3, 3), (3, 3), (2, 3))])
def test_sliding_windows_equal_numpys_sliding_window_view(shape, spans, axes):
    from numpy.lib.stride_tricks import sliding_window_view
    from framework._backends.numpy import conv as np_conv
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)[..., ::-1]  # strided too
    for source in (x, np.ascontiguousarray(x)):
        ours = np_conv._sliding_windows(source, spans, axes)
        theirs = sliding_window_view(source, spans, axis=axes)
        assert ours.shape == theirs.shape and ours.strides == theirs.strides
        assert not ours.flags.writeable and np.array_equal(ours, theirs)


def _float64_normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) by ``math.erfc`` per element, in float64 (the float64 kernels' own formula)."""
    return np.array([0.5 * math.erfc(-float(v) / math.sqrt(2)) for v in x.reshape(-1)],
                    dtype=np.float64).reshape(x.shape)


def test_float32_normal_cdf_is_within_its_stated_error_of_float64(monkeypatch):
    """gelu's float32 CDF (branch-free, in blocks) against math.erfc: within 1.2e-6
    relative above -5 and 6e-6 down to -13, across block bounds, with Phi(+-0) = 0.5,
    Phi(-inf) = 0, Phi(inf) = 1 and NaN kept; the block size does not change the bits."""
    from framework._backends.numpy import _normal32
    monkeypatch.setattr(_normal32, "GELU_BLOCK", 64)  # many blocks in a small array
    x = (np.random.default_rng(7).standard_normal(1000) * 4).astype(np.float32)
    x[:7] = [0.0, -0.0, 1e-30, -13.0, 40.0, -np.inf, np.inf]
    got = _normal32.normal_pass("cdf", x)
    want = _float64_normal_cdf(x)
    finite = np.isfinite(x)
    error = np.abs(got - want)[finite] / want[finite]
    assert error[x[finite] > -5].max() < 1.2e-6 and error[x[finite] > -13.5].max() < 6e-6
    assert got[:3].tolist() == [0.5, 0.5, 0.5] and got[5] == 0.0 and got[6] == 1.0
    assert np.isnan(_normal32.normal_pass("cdf", np.float32([np.nan]))).all()
    monkeypatch.setattr(_normal32, "GELU_BLOCK", 1 << 16)
    assert _normal32.normal_pass("cdf", x).tobytes() == got.tobytes()


def test_float32_gelu_and_its_derivative_are_within_their_stated_error_of_float64(monkeypatch):
    """gelu = x Phi(x) and its derivative D = Phi(x) + x phi(x) from one float32 pass (as the
    forward keeps D for the backward) against float64: gelu within 1.2e-6 relative above -5
    and 6e-6 to -13, D within 4e-7 absolute; the kinds agree bit for bit with each other
    (gelu alone, D alone, grad D), and special values are torch's: gelu(inf) = inf,
    gelu(-inf) = NaN, gelu(+-0) = +-0, D(+-0) = 0.5, NaN kept."""
    from framework._backends.numpy import _normal32
    monkeypatch.setattr(_normal32, "GELU_BLOCK", 128)
    rng = np.random.default_rng(13)
    x = np.concatenate([np.linspace(-13, 13, 2601), rng.standard_normal(1000) * 3])
    x = x.astype(np.float32)
    gelu, derivative = _normal32.normal_pass("gelu_and_derivative", x)
    wide = x.astype(np.float64)
    cdf = _float64_normal_cdf(wide)
    want_gelu = wide * cdf
    want_derivative = cdf + wide * np.exp(-0.5 * wide * wide) / math.sqrt(2 * math.pi)
    nonzero = x != 0
    error = np.abs(gelu - want_gelu)[nonzero] / np.abs(want_gelu[nonzero])
    assert error[x[nonzero] > -5].max() < 1.2e-6 and error.max() < 6e-6
    assert np.abs(derivative - want_derivative).max() < 4e-7
    assert _normal32.normal_pass("gelu", x).tobytes() == gelu.tobytes()
    assert _normal32.normal_pass("gelu_derivative", x).tobytes() == derivative.tobytes()
    grad = rng.standard_normal(x.shape).astype(np.float32)
    backward = _normal32.normal_pass("gelu_backward", x, grad)
    assert backward.tobytes() == (derivative * grad).tobytes()

    special = np.float32([np.inf, -np.inf, np.nan, 0.0, -0.0])
    gelu, derivative = _normal32.normal_pass("gelu_and_derivative", special)
    assert gelu[0] == np.inf and np.isnan(gelu[1:3]).all()
    assert gelu[3:].tolist() == [0.0, 0.0] and np.signbit(gelu[4]) and not np.signbit(gelu[3])
    assert derivative[3:].tolist() == [0.5, 0.5] and np.isnan(derivative[2])
    # past the fitted range (exp(-x^2 / 2) = 0 in float32 below -14.4): Phi stays 0, not NaN
    tail = _normal32.normal_pass("cdf", np.linspace(-60, -12.5, 4001).astype(np.float32))
    assert (tail >= 0).all() and (np.diff(tail) >= 0).all() and tail[0] == 0.0


def test_float32_erf_and_erfc_are_within_their_stated_error_of_float64(monkeypatch):
    """The float32 erf (erfcc tail blended with the Taylor series below 0.5, sign copied on)
    and erfc against math.erf / math.erfc: erf within 5e-7 relative everywhere (tiny
    arguments included), erfc within 1e-6 down to erfc(9) (its exponent in float64); signed zeros,
    infinities and NaN as math's; blocks do not change the bits."""
    from framework._backends.numpy import _normal32
    monkeypatch.setattr(_normal32, "BLOCK", 128)
    rng = np.random.default_rng(12)
    z = np.concatenate([rng.standard_normal(1500) * 2,
                        10.0 ** rng.uniform(-30, 0, 500) * rng.choice([-1, 1], 500)])
    z = z.astype(np.float32)
    erf, erfc = _normal32.normal_pass("erf", z), _normal32.normal_pass("erfc", z)
    want_erf = np.array([math.erf(float(v)) for v in z])
    want_erfc = np.array([math.erfc(float(v)) for v in z])
    assert (np.abs(erf - want_erf) / np.abs(want_erf)).max() < 5e-7
    erfc_error = np.abs(erfc - want_erfc) / want_erfc
    assert erfc_error[z < 9].max() < 1e-6
    special = np.float32([0.0, -0.0, np.inf, -np.inf, np.nan])
    got = _normal32.normal_pass("erf", special)
    assert got[:4].tolist() == [0.0, 0.0, 1.0, -1.0] and np.isnan(got[4])
    assert np.signbit(got[1]) and not np.signbit(got[0])
    got = _normal32.normal_pass("erfc", special)
    assert got[:4].tolist() == [1.0, 1.0, 0.0, 2.0] and np.isnan(got[4])
    monkeypatch.setattr(_normal32, "BLOCK", 1 << 15)
    assert _normal32.normal_pass("erf", z).tobytes() == erf.tobytes()
    with pytest.raises(ValueError, match="unknown kind"):
        _normal32.normal_pass("erfinv", z)


@pytest.mark.parametrize("shape, layout", [((), "contiguous"), ((5, 7), "contiguous"),
                                           ((5, 7), "transposed")])
def test_float32_gelu_and_its_derivative_agree_with_the_float64_path(shape, layout):
    """The float32 gelu forward and backward kernels (the CDF above) against the float64
    kernels on the same values, rounded to float32: equal within float32 tolerance, on a
    scalar, a matrix and a transposed view."""
    from framework._backends.numpy import activation as np_activation
    values = np.random.default_rng(8).standard_normal(shape) * 3
    values = values.T if layout == "transposed" else values
    for fn in (np_activation._gelu,
               lambda v: np_activation._derivative("gelu", v, v.dtype.type(0), v.dtype.type(0))):
        got = fn(values.astype(np.float32))
        want = fn(values.astype(np.float32).astype(np.float64))
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=3e-6, atol=1e-7)


def _gelu_kernels():
    from framework._backends.numpy import activation as np_activation
    return np_activation


def test_gelu_backward_with_the_kept_derivative_has_the_bits_of_computing_it():
    """The float32 gelu forward keeps its derivative D(x) for the backward of the same input:
    that backward gives the bits of one that computes D again, takes the entry out (a second
    backward computes it), and an input changed in place since (a newer storage version),
    or another view of its storage, is not served the stale D."""
    np_activation = _gelu_kernels()
    values = (np.random.default_rng(9).standard_normal((40, 30)) * 3).astype(np.float32)
    grad = _arrays.wrap(np.random.default_rng(10).standard_normal((40, 30)).astype(np.float32))
    x = _arrays.wrap(values.copy())
    np_activation._KEPT_DERIVATIVE.clear()
    np_activation.gelu(x, dtypes.float32)
    assert np_activation._take_derivative(x) is not None  # kept, and taken out
    assert np_activation._take_derivative(x) is None
    np_activation.gelu(x, dtypes.float32)
    with_kept = np_activation.activation_backward(grad, x, "gelu", 0.0, 0.0)
    assert np_activation._take_derivative(x) is None  # the backward took it
    computed = np_activation.activation_backward(grad, x, "gelu", 0.0, 0.0)
    assert _arrays.nd(with_kept).tobytes() == _arrays.nd(computed).tobytes()

    np_activation.gelu(x, dtypes.float32)
    transposed = x.view((30, 40), (1, 30), 0)  # another view of the same storage
    assert np_activation._take_derivative(transposed) is None
    assert np_activation._take_derivative(x) is not None

    np_activation.gelu(x, dtypes.float32)
    _arrays.nd(x)[...] = values * 2  # an in-place write bumps the version
    x.storage.version += 1
    stale_free = np_activation.activation_backward(grad, x, "gelu", 0.0, 0.0)
    x2 = _arrays.wrap(values * 2)
    want = np_activation.activation_backward(grad, x2, "gelu", 0.0, 0.0)
    assert _arrays.nd(stale_free).tobytes() == _arrays.nd(want).tobytes()


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_gelu_backward_with_the_kept_derivative_has_the_bits_of_computing_it(dtype):
    """Half inputs compute in float32 and keep their float32 D: the backward with it gives
    the bits of one that computes D from the half input again."""
    np_activation = _gelu_kernels()
    half = getattr(dtypes, dtype)
    rng = np.random.default_rng(14)
    x = _arrays.wrap((rng.standard_normal((6, 7)) * 3).astype(np.float32), half)
    grad = _arrays.wrap(rng.standard_normal((6, 7)).astype(np.float32), half)
    np_activation._KEPT_DERIVATIVE.clear()
    np_activation.gelu(x, half)
    assert np_activation._KEPT_DERIVATIVE.get(x.storage)  # kept, in float32
    with_kept = np_activation.activation_backward(grad, x, "gelu", 0.0, 0.0)
    assert not np_activation._KEPT_DERIVATIVE.get(x.storage)  # taken out
    computed = np_activation.activation_backward(grad, x, "gelu", 0.0, 0.0)
    assert with_kept.dtype == half
    assert _arrays.nd(with_kept).tobytes() == _arrays.nd(computed).tobytes()


def test_gelu_keeps_no_more_derivatives_than_its_limit(monkeypatch):
    np_activation = _gelu_kernels()
    np_activation._KEPT_DERIVATIVE.clear()
    monkeypatch.setattr(np_activation, "_KEPT_DERIVATIVE_MAX", 1000)
    inputs = [_arrays.wrap(np.ones(600, np.float32) * i) for i in range(3)]
    for x in inputs:
        np_activation.gelu(x, dtypes.float32)
    kept = [np_activation._take_derivative(x) is not None for x in inputs]
    assert kept == [True, False, False]


def test_gelu_training_step_gradients_match_torch_with_the_kept_derivative():
    """Through autograd (the kept D in use), gelu's input gradient equals torch's float64
    gradient within float32 tolerance."""
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(11).standard_normal((6, 50)) * 3
    x = framework.tensor(values, dtype=dtypes.float32, requires_grad=True)
    framework.nn.functional.gelu(x * 1.0).sum().backward()
    tx = torch.tensor(values, requires_grad=True)
    torch.nn.functional.gelu(tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=2e-6, atol=1e-7)
