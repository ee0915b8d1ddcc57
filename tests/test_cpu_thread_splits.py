"""CPU kernels whose large passes run over several threads, and mnist_cnn's other fast paths
(issue 12, two threads): each gives the one-thread / general path's result bit for bit.

The size thresholds are lowered here so that small arrays take the split paths, and the
thread count is set through ``OPENBLAS_NUM_THREADS`` (what ``_parallel.threads`` reads).
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import framework
import framework.nn.functional as F
from framework import dtypes
from framework._backends.numpy import _arrays, _parallel
from framework._backends.numpy import activation as np_activation
from framework._backends.numpy import conv as np_conv
from framework._backends.numpy import elementwise as np_elementwise
from framework._backends.numpy import pool as np_pool
from framework._backends.numpy import random as np_random

SPECIALS = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-40]


def _with_specials(values: np.ndarray) -> np.ndarray:
    flat = values.reshape(-1)
    flat[:len(SPECIALS)] = SPECIALS
    flat[-len(SPECIALS):] = SPECIALS
    return values


def _per_thread_count(monkeypatch, fn) -> list:
    """``fn()`` with 1, 2 and 3 threads."""
    results = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", threads)
        results.append(fn())
    return results


def _bits(array) -> tuple:
    a = _arrays.nd(array) if isinstance(array, _arrays.Array) else array
    return a.shape, a.dtype, a.tobytes()


# -- elementwise passes --------------------------------------------------------------------
@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
def test_relu_and_its_backward_over_threads_equal_one_thread(np_dtype, monkeypatch):
    """relu and relu's backward split into flat blocks give the one-thread bits (NaN
    payloads, -0.0, subnormals), and no floating-point warning escapes the pool threads."""
    monkeypatch.setattr(_parallel, "SPLIT_ELEMENTS", 1)
    rng = np.random.default_rng(3)
    x = _arrays.wrap(_with_specials(rng.standard_normal((5, 3, 7, 6)).astype(np_dtype)))
    g = _arrays.wrap(_with_specials(rng.standard_normal((5, 3, 7, 6)).astype(np_dtype))[::-1]
                     .copy())
    dtype = x.dtype
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = _per_thread_count(monkeypatch, lambda: (
            _bits(np_elementwise.KERNELS["relu"](x, dtype)),
            _bits(np_activation.activation_backward(g, x, "relu", 0.0, 0.0))))
    assert results[1] == results[0] and results[2] == results[0]
    monkeypatch.setattr(_parallel, "SPLIT_ELEMENTS", 1 << 40)  # the unsplit kernels
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert (_bits(np_elementwise.KERNELS["relu"](x, dtype)),
            _bits(np_activation.activation_backward(g, x, "relu", 0.0, 0.0))) == results[0]


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "maximum", "gt", "eq"])
@pytest.mark.parametrize("other", ["same", "bias", "scalar", "row"])
def test_binary_ufunc_over_threads_equals_one_thread(name, other, monkeypatch):
    """A binary ufunc kernel split along the leading axis (the other operand whole where it
    broadcasts along it) gives the one-call result: values, dtype (bool for comparisons),
    special values; no warning escapes (inf - inf, 0 / 0)."""
    monkeypatch.setattr(_parallel, "SPLIT_ELEMENTS", 1)
    rng = np.random.default_rng(5)
    a = _arrays.wrap(_with_specials(rng.standard_normal((6, 4, 5, 5)).astype(np.float32)))
    b = {"same": lambda: _arrays.wrap(_with_specials(
             rng.standard_normal((6, 4, 5, 5)).astype(np.float32))[::-1].copy()),
         "bias": lambda: _arrays.wrap(rng.standard_normal((1, 4, 1, 1)).astype(np.float32)),
         "scalar": lambda: 0.0,
         "row": lambda: _arrays.wrap(rng.standard_normal((5,)).astype(np.float32))}[other]()
    out_dtype = dtypes.bool if name in ("gt", "eq") else dtypes.float32
    kernel = np_elementwise.KERNELS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = _per_thread_count(
            monkeypatch, lambda: _bits(kernel(a, b, dtypes.float32, out_dtype)))
    assert results[1] == results[0] and results[2] == results[0]
    assert results[0][1] == out_dtype.numpy


def test_binary_ufunc_split_leaves_broadcast_and_short_inputs_alone(monkeypatch):
    """No split where the first operand broadcasts to a larger result or the leading axis is
    shorter than the thread count (the one-call path)."""
    monkeypatch.setattr(_parallel, "SPLIT_ELEMENTS", 1)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    small = np.ones((1, 4), np.float32)
    assert np_elementwise._split_binary(np.add, small, np.ones((3, 4), np.float32)) is None
    assert np_elementwise._split_binary(np.add, small, small) is None
    split = np_elementwise._split_binary(np.add, np.ones((3, 4), np.float32), small)
    assert split is not None and split.dtype == np.float32 and (split == 2).all()


# -- dropout ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(7, 9), (64, 131), (1, 5), (3, 4, 4)])
@pytest.mark.parametrize("offset", [0, 5, 1 << 70])
def test_dropout_draw_over_threads_equals_one_draw(shape, offset, monkeypatch):
    """The dropout mask drawn in blocks (each from its own generator at its first element's
    Philox counter) is the one draw's mask, for sizes that are not multiples of 4 and any
    offset; blocks start at multiples of 4."""
    monkeypatch.setattr(np_random, "_SPLIT_DRAW", 1)
    expected = np_random._generator(11, offset).random(shape) < 0.3
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", threads)
        np.testing.assert_array_equal(np_random._draw_below(shape, 0.3, 11, offset), expected)


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
def test_dropout_kernel_over_threads_equals_mask_then_store(np_dtype, monkeypatch):
    """The dropout kernel (split or not) is ``x * scale`` with +0.0 stored where the draw
    drops (NaN and inf too): the former ``np.copyto(out, 0, where=drop)`` result."""
    rng = np.random.default_rng(13)
    values = _with_specials(rng.standard_normal((9, 37)).astype(np_dtype))
    x = _arrays.wrap(values)
    drop = np_random._generator(2, 40).random(values.shape) < 0.25
    with np.errstate(all="ignore"):
        expected = np.multiply(values, 1.0 / 0.75)
    np.copyto(expected, 0, where=drop)
    for split in (1 << 40, 1):
        monkeypatch.setattr(_parallel, "SPLIT_ELEMENTS", split)
        monkeypatch.setattr(np_random, "_SPLIT_DRAW", split)
        for threads in ("1", "2", "3"):
            monkeypatch.setenv("OPENBLAS_NUM_THREADS", threads)
            out = _arrays.nd(np_random.dropout(x, 0.25, 2, 40))
            assert out.dtype == np_dtype and out.tobytes() == expected.tobytes()


# -- max pool ----------------------------------------------------------------------------
POOL_SHAPES = [(5, 3, 8, 6), (3, 2, 7, 9), (2, 1, 2, 2), (9, 4, 6, 4)]


@pytest.mark.parametrize("shape", POOL_SHAPES, ids=str)
@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.int32, np.int64])
def test_max_pool_2x2_equals_the_tiled_running_max(shape, np_dtype, monkeypatch):
    """The 2x2 tiled max pool by contiguous planes gives the running max's values and
    indices bit for bit: ties (the first in the tile's row-major order, -0.0 against +0.0
    both ways), all -inf tiles, odd sizes (the last row/column outside every tile), in one
    block and in one-image blocks on 1-3 threads."""
    rng = np.random.default_rng(17)
    if np_dtype in (np.int32, np.int64):
        data = rng.integers(-2, 2, shape).astype(np_dtype)
    else:
        data = rng.choice(np.array([-0.0, 0.0, 1.0, -1.0, -np.inf, 2.0], np_dtype), shape)
    ho, wo = shape[2] // 2, shape[3] // 2
    expected = np_pool._pool_max_tiles(data, 2, 2, ho, wo)
    expected = (expected[0].tobytes(), expected[1].tobytes())
    for block, split in ((1 << 19, 1 << 40), (1, 1)):
        monkeypatch.setattr(np_pool, "_BLOCK_2X2", block)
        monkeypatch.setattr(np_pool, "_SPLIT_POOL_ELEMENTS", split)
        for best, where in _per_thread_count(monkeypatch,
                                             lambda: np_pool._pool_max_2x2(data, ho, wo)):
            assert best.dtype == data.dtype and where.dtype == np.int64
            assert (best.tobytes(), where.tobytes()) == expected


def test_max_pool_2x2_leaves_nan_and_unprobed_maximum_to_the_other_paths(monkeypatch):
    """A NaN in any block, or a platform whose ``np.maximum`` does not keep its second
    operand on ties, gives None (the kernel then takes the running max / general path,
    which still returns PyTorch's NaN answer)."""
    monkeypatch.setattr(np_pool, "_BLOCK_2X2", 1)
    monkeypatch.setattr(np_pool, "_SPLIT_POOL_ELEMENTS", 1)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    data = np.zeros((4, 2, 4, 4), np.float32)
    assert np_pool._pool_max_2x2(data, 2, 2) is not None
    assert np_pool._maximum_keeps_second_on_ties(np.dtype(np.float32)) in (True, False)
    data[3, 1, 2, 3] = np.nan
    assert np_pool._pool_max_2x2(data, 2, 2) is None
    x = framework.tensor(data)
    values, indices = F.max_pool2d(x, 2, return_indices=True)
    assert np.isnan(values.numpy()[3, 1, 1, 1]) and indices.numpy()[3, 1, 1, 1] == 11
    data[3, 1, 2, 3] = 0.0
    monkeypatch.setattr(np_pool, "_maximum_keeps_second_on_ties", lambda dtype: False)
    assert np_pool._pool_max_2x2(data, 2, 2) is None
    assert np_pool._pool_max_2x2(data.astype(np.int32), 2, 2) is not None  # ints: no -0.0


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
def test_max_pool_backward_of_the_tiled_forward_skips_the_check_and_equals_the_scatter(
        np_dtype, monkeypatch):
    """The backward of the tiled forward's own indices (unchanged) stores without the
    own-tile check, split by images over threads; its result is the general scatter-add's
    bits (-0.0 grad -> +0.0). Indices changed in place are checked again."""
    monkeypatch.setattr(np_pool, "_SPLIT_SCATTER_ELEMENTS", 1)
    rng = np.random.default_rng(23)
    x = framework.tensor(rng.standard_normal((5, 3, 8, 6)).astype(np_dtype))
    _, indices = F.max_pool2d(x, 2, return_indices=True)
    grad = _with_specials(rng.standard_normal((5, 3, 4, 3)).astype(np_dtype))
    g = _arrays.wrap(grad)
    expected = _bits(np_pool._scatter(grad, _arrays.nd(indices._a), (8, 6),
                                      dtypes.float32 if np_dtype == np.float32
                                      else dtypes.float64))
    checks = []
    monkeypatch.setattr(np_pool, "_in_own_tile", lambda *a: checks.append(a) or True)
    assert np_pool._known_distinct(indices._a, (8, 6))
    assert not np_pool._known_distinct(indices._a, (8, 7))
    results = _per_thread_count(
        monkeypatch, lambda: _bits(np_pool.pool_max2d_backward(g, indices._a, (8, 6))))
    assert results == [expected] * 3 and not checks
    indices.add_(0)  # a new version: checked again
    assert not np_pool._known_distinct(indices._a, (8, 6))
    assert _bits(np_pool.pool_max2d_backward(g, indices._a, (8, 6))) == expected and checks


# -- convolution input grad ----------------------------------------------------------------
@pytest.mark.parametrize("np_dtype", [np.float32, np.float64])
def test_wide_input_grad_into_the_result_equals_the_view(np_dtype, monkeypatch):
    """The stride-1 input grad with each block copying its images into the result (what the
    backend kernel does) equals the cropped view of the image buffer (what compiled plans
    take), in one-image blocks on 1-3 threads, groups and padding included."""
    monkeypatch.setattr(np_conv, "_BATCH_LAST_PIXELS", 0)  # the wide path, not batch-last
    monkeypatch.setattr(np_conv, "_BLOCK_ELEMENTS", 1)
    monkeypatch.setattr(np_conv, "_MIN_BLOCK_COLUMNS", 1)
    rng = np.random.default_rng(29)
    dy = _arrays.wrap(rng.standard_normal((5, 6, 7, 6)).astype(np_dtype))
    w = _arrays.wrap(rng.standard_normal((6, 2, 3, 3)).astype(np_dtype))
    args = ((1, 1), (1, 1), (1, 1), 2)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    view = np_conv._input_grad_wide(dy, w, *args, (7, 6))
    expected = (view.shape, view.dtype, np.ascontiguousarray(view).tobytes())
    results = _per_thread_count(
        monkeypatch, lambda: _bits(np_conv.conv2d_input_grad(dy, w, *args, (7, 6))))
    assert results == [expected] * 3


# -- OpenBLAS's idle workers -----------------------------------------------------------------
def test_importing_framework_first_sets_a_short_openblas_thread_timeout_unless_set():
    """``import framework`` before NumPy sets ``OPENBLAS_THREAD_TIMEOUT`` (OpenBLAS's idle
    workers then sleep instead of spinning on the pool threads' core); a user's value stays."""
    import subprocess
    import sys
    code = "import os, framework; print(os.environ.get('OPENBLAS_THREAD_TIMEOUT'))"
    env = {k: v for k, v in __import__("os").environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "20", out.stderr
    env["OPENBLAS_THREAD_TIMEOUT"] = "6"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "6", out.stderr
