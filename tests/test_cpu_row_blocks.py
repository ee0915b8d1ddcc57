"""CPU row kernels split by blocks of rows over threads give the one-thread bits.

``_rows.run_rows`` runs a kernel's independent row blocks on the pool's threads
(docs/perf.md, issue 12). These tests force the split (threshold 0, two and three
threads) and compare every result bit for bit with one thread, on row counts that
are and are not multiples of the block alignment; they also check the runner itself
(every block once, errors re-raised) and the keys-major attention forward and backward
against a direct float64 softmax (the backward both from the weights its forward kept and
recomputing them).
"""
from __future__ import annotations

import weakref

import numpy as np
import pytest

from framework._backends.array import Array
from framework._backends.numpy import _rows, attention as np_attention, norm as np_norm
from framework._backends.numpy._arrays import nd, wrap


def _array(values, dtype):
    return wrap(np.ascontiguousarray(values, dtype=dtype))


def _bits(result):
    """The bytes of every array of a kernel's result (a tuple; None entries kept)."""
    items = result if isinstance(result, tuple) else (result,)
    return [None if a is None else nd(a).tobytes() for a in items]


def _threaded(monkeypatch, threads: str, fn):
    """``fn()`` with ``threads`` CPU threads and every row kernel split."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", threads)
    monkeypatch.setattr(np_norm, "_SPLIT_ROWS", 0)
    return fn()


@pytest.mark.parametrize("rows", [5, 16, 33, 200, 1027])
@pytest.mark.parametrize("rms", [False, True])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norm_rows_blocks_match_one_thread(monkeypatch, rows, rms, affine, dtype):
    rng = np.random.default_rng(rows)
    x = _array(rng.standard_normal((rows, 1, 48)) * 3 + 1, dtype)
    g = _array(rng.standard_normal((rows, 1, 48)), dtype)
    w = _array(rng.standard_normal(48), dtype) if affine else None
    b = _array(rng.standard_normal(48), dtype) if affine else None

    def run():
        y, mean, rstd = np_norm.norm_rows(x, w, b, 1e-5, rms, False)
        back = np_norm.norm_rows_backward(g, x, w, mean, rstd, rms, False)
        return _bits((y, mean, rstd)) + _bits(back)

    one = _threaded(monkeypatch, "1", run)
    for threads in ("2", "3"):
        assert _threaded(monkeypatch, threads, run) == one


def test_norm_rows_blocks_per_channel_weight(monkeypatch):
    """A weight that is not one value per column (broadcast per (a, c) row) takes the
    general broadcast path, split or not."""
    rng = np.random.default_rng(1)
    x = _array(rng.standard_normal((40, 3, 8)), np.float32)
    w = _array(rng.standard_normal((3, 1)), np.float32)
    y = np_norm.norm_rows(x, w, None, 1e-5, False, False)[0]
    v = nd(x).astype(np.float64)
    want = (v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + 1e-5) * nd(w)
    np.testing.assert_allclose(nd(y), want, rtol=1e-5, atol=1e-5)
    assert _threaded(monkeypatch, "2", lambda: _bits(
        np_norm.norm_rows(x, w, None, 1e-5, False, False))) == _bits(
        np_norm.norm_rows(x, w, None, 1e-5, False, False))


def test_norm_rows_non_contiguous_input(monkeypatch):
    rng = np.random.default_rng(2)
    base = _array(rng.standard_normal((64, 1, 20)), np.float32)
    x = Array(base.storage, (32, 1, 10), (40, 20, 2), 0)  # every other row/col
    y, mean, rstd = np_norm.norm_rows(x, None, None, 1e-5, False, False)
    v = nd(x).astype(np.float64)
    np.testing.assert_allclose(nd(mean), v.mean(-1), rtol=1e-5, atol=1e-6)
    assert _threaded(monkeypatch, "2", lambda: _bits(
        np_norm.norm_rows(x, None, None, 1e-5, False, False))) == _bits((y, mean, rstd))


@pytest.mark.parametrize("rows,threads", [(0, 2), (15, 2), (16, 2), (40, 2), (1000, 3), (7, 1)])
def test_row_blocks_cover_rows_once_aligned(monkeypatch, rows, threads):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", str(threads))
    blocks = _rows.row_blocks(rows, rows * 64, 0)
    assert blocks[0][0] == 0 and blocks[-1][1] == rows
    assert all(a[1] == b[0] for a, b in zip(blocks, blocks[1:]))
    assert all(start % _rows.ALIGN == 0 and start < stop for start, stop in blocks[1:])
    assert len(blocks) <= max(1, threads)
    assert _rows.row_blocks(rows, 10, 11) == [(0, rows)]  # below the threshold: one block


def test_run_rows_runs_each_block_once_and_reraises(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    seen = []
    blocks = [(0, 16), (16, 32), (32, 40)]
    _rows.run_rows(lambda a, b: seen.append((a, b)), blocks)
    assert sorted(seen) == blocks

    def fail(a, b):
        if a == 16:
            raise ValueError("bad block")

    with pytest.raises(ValueError, match="bad block"):
        _rows.run_rows(fail, blocks)


def test_run_rows_silences_float_warnings_in_every_block(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    out = np.empty(64)

    def block(a, b):
        with np.errstate(all="raise"):
            pass
        out[a:b] = np.log(np.zeros(b - a))  # -inf, would warn without run_rows' errstate

    with np.errstate(all="raise"):
        _rows.run_rows(block, [(0, 32), (32, 64)])
    assert np.all(out == -np.inf)


def _softmax_weights(q, k, mask, causal, scale):
    """float64 attention weights (L, S) and row logsumexp by the textbook softmax."""
    scores = np.einsum("...le,...se->...ls", q, k) * scale
    length, source = scores.shape[-2:]
    if causal:
        scores = np.where(np.triu(np.ones((length, source), bool), 1), -np.inf, scores)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf) if mask.dtype == np.bool_ else scores + mask
    top = np.max(scores, -1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    e = np.exp(scores - top)
    total = e.sum(-1, keepdims=True)
    weights = np.where(total > 0, e / np.where(total > 0, total, 1.0), 0.0)
    with np.errstate(divide="ignore"):  # a row with no allowed key: lse -inf
        lse = (np.log(total) + top)[..., 0]
    return weights, lse


def _softmax_reference(q, k, v, mask, causal, scale):
    weights, lse = _softmax_weights(q, k, mask, causal, scale)
    return weights @ v, lse


def _attention_grads_reference(q, k, v, mask, causal, scale, grad):
    """float64 gradients of q, k, v and of the scores (= an additive mask's) by the textbook
    formulas: dS = P * (dP - rowsum(P * dP)), dP = grad v^T."""
    weights, _ = _softmax_weights(q, k, mask, causal, scale)
    grad_weights = grad @ np.swapaxes(v, -1, -2)
    grad_scores = weights * (grad_weights - (weights * grad_weights).sum(-1, keepdims=True))
    return (grad_scores @ k * scale, np.swapaxes(grad_scores, -1, -2) @ q * scale,
            np.swapaxes(weights, -1, -2) @ grad, grad_scores)


def _random_mask(rng, kind, length: int, source: int):
    """A (length, source) attention mask of ``kind``: None, "float" (added to the scores),
    "bool" (True = take part) or "empty_row" (bool, its first row masked out entirely)."""
    if kind == "float":
        return rng.standard_normal((length, source))
    if kind not in ("bool", "empty_row"):
        return None
    mask = rng.random((length, source)) > 0.3
    if kind == "empty_row":
        mask[0] = False
    return mask


def _mask_array(mask, batch):
    """A (length, source) mask as a kernel operand broadcast over ``batch`` (stride 0)."""
    if mask is None:
        return None
    m = _array(mask, mask.dtype)
    return Array(m.storage, batch + mask.shape, (0,) * len(batch) + (mask.shape[1], 1), 0)


@pytest.mark.parametrize("mask_kind", [None, "float", "bool", "empty_row"])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (4, 6, 6), (5, 3)])
def test_keys_major_attention_forward_matches_softmax(mask_kind, causal, shape):
    rng = np.random.default_rng(3)
    length, source = shape[-2], shape[-1]
    batch = shape[:-2]
    q = rng.standard_normal(batch + (length, 4))
    k = rng.standard_normal(batch + (source, 4))
    v = rng.standard_normal(batch + (source, 3))
    mask = _random_mask(rng, mask_kind, length, source)
    full_mask = None if mask is None else np.broadcast_to(mask, batch + (length, source))
    arrays = [_array(a, np.float64) for a in (q, k, v)]
    mask_array = _mask_array(mask, batch)
    out, lse = np_attention.attention_forward(*arrays, mask_array, causal, 0.7, 0.0, 0, 0)
    want_out, want_lse = _softmax_reference(q, k, v, full_mask, causal, 0.7)
    np.testing.assert_allclose(nd(out), want_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(np.isinf(nd(lse)), np.isinf(want_lse))
    finite = np.isfinite(want_lse)
    np.testing.assert_allclose(nd(lse)[finite], want_lse[finite], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 2, 0), (0, 2, 5), (1, 1, 1)])
def test_norm_rows_edge_shapes(shape):
    x = _array(np.arange(np.prod(shape)).reshape(shape), np.float32)
    w = _array(np.ones(shape[2]), np.float32)
    y, mean, rstd = np_norm.norm_rows(x, w, w, 1e-5, False, False)
    dx, g_xhat = np_norm.norm_rows_backward(x, x, w, mean, rstd, False, False)
    assert y.shape == dx.shape == g_xhat.shape == shape and mean.shape == rstd.shape == shape[:2]
    if shape[2] == 0:  # no values: mean 0, rstd 1 / sqrt(eps), as for a constant row
        np.testing.assert_allclose(nd(rstd), 1 / np.sqrt(np.float32(1e-5)), rtol=1e-6)
    if shape == (1, 1, 1):
        assert nd(y)[0, 0, 0] == 1.0 and nd(dx)[0, 0, 0] == 0.0


@pytest.mark.parametrize("mask_kind", [None, "float", "bool", "empty_row"])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (4, 6, 6), (5, 3)])
@pytest.mark.parametrize("kept", [True, False])
def test_keys_major_attention_backward_matches_reference(mask_kind, causal, shape, kept):
    """The gradients (and a float mask's) to 1e-12 in float64, from the weights the forward
    kept and, given a copy of its logsumexp, recomputed from it."""
    rng = np.random.default_rng(4)
    length, source = shape[-2], shape[-1]
    batch = shape[:-2]
    q, k = (rng.standard_normal(batch + (n, 4)) for n in (length, source))
    v, g = (rng.standard_normal(batch + (n, 3)) for n in (source, length))
    mask = _random_mask(rng, mask_kind, length, source)
    arrays = [_array(a, np.float64) for a in (q, k, v)]
    mask_array = _mask_array(mask, batch)
    out, lse = np_attention.attention_forward(*arrays, mask_array, causal, 0.7, 0.0, 0, 0)
    assert np_attention._kept_weights(lse, (source,) + batch + (length,), np.float64) \
        is not None
    if not kept:
        lse = _array(nd(lse), np.float64)
        assert np_attention._kept_weights(lse, (source,) + batch + (length,),
                                          np.float64) is None
    grads = np_attention.attention_backward(_array(g, np.float64), *arrays, mask_array, out, lse,
                                            causal, 0.7, 0.0, 0, 0, mask_kind == "float")
    full_mask = None if mask is None else np.broadcast_to(mask, batch + (length, source))
    want = _attention_grads_reference(q, k, v, full_mask, causal, 0.7, g)
    for got, expected in zip(grads, want):
        if got is not None:
            np.testing.assert_allclose(nd(got), expected, rtol=1e-12, atol=1e-12)
    assert (grads[3] is None) == (mask_kind != "float")


def _forward(seed=5, dropout_p=0.0, shape=(2, 3, 6, 4)):
    rng = np.random.default_rng(seed)
    arrays = [_array(rng.standard_normal(shape), np.float32) for _ in range(3)]
    return arrays, np_attention.attention_forward(*arrays, None, True, 0.5, dropout_p, 1, 0)


def test_attention_kept_weights_live_as_long_as_the_logsumexp():
    arrays, (out, lse) = _forward()
    assert lse.storage in np_attention._FORWARD_WEIGHTS
    kept, storage = len(np_attention._FORWARD_WEIGHTS), weakref.ref(lse.storage)
    del lse, out
    assert storage() is None  # dropped with the last reference, and its entry with it
    assert len(np_attention._FORWARD_WEIGHTS) == kept - 1


def test_attention_kept_weights_only_for_that_unchanged_logsumexp(monkeypatch):
    shape = (6, 2, 3, 6)  # keys-major (S, ..., L)
    arrays, (out, lse) = _forward()
    assert np_attention._kept_weights(lse, shape, np.float32) is not None
    assert np_attention._kept_weights(lse, shape, np.float64) is None
    assert np_attention._kept_weights(lse, (6, 3, 2, 6), np.float32) is None
    nd(lse)[0, 0, 0] += 1  # the values changed: the backward recomputes the weights
    assert np_attention._kept_weights(lse, shape, np.float32) is None
    _, (_, lse) = _forward(dropout_p=0.5)  # dropout: nothing kept (weights scaled in place)
    assert np_attention._kept_weights(lse, shape, np.float32) is None
    monkeypatch.setattr(np_attention, "_KEEP_WEIGHTS", 6 * 6 * 6 - 1)
    _, (_, lse) = _forward()  # more weights than kept
    assert np_attention._kept_weights(lse, shape, np.float32) is None
