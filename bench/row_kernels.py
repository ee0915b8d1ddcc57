"""The attention and layer-norm CPU kernels of two models, timed alone (medians, microseconds).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=$PWD python bench/row_kernels.py

char_transformer: batch 128 x block 12, d_model 64, 4 heads of 16: attention on the
(128, 4, 12, 16) head views of the packed (1536, 192) in-projection rows with the
broadcast (12, 12) float causal mask (as ``MultiheadAttention``'s one-node path calls it),
layer norm on (1536, 1, 64) with weight and bias.

``framework bench``'s transformer step (``framework/bench/train.py``): 8 x 64 tokens,
d 128, 4 heads of 32: causal attention (``is_causal``) on the (8, 4, 64, 32) head views
of (8, 64, 128) projections (``.reshape(8, 64, 4, 32).transpose(1, 2)``), its backward
given the forward's logsumexp (the weights the forward kept) and a copy of it (recomputed
weights), layer norm on (512, 1, 128) with weight and bias.

Calls the NumPy backend's kernels directly (no autograd). To compare two trees, run this
file with ``PYTHONPATH`` set to each tree.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", os.environ["OMP_NUM_THREADS"])

import numpy as np  # noqa: E402

from framework._backends import load  # noqa: E402
from framework._backends.numpy._arrays import wrap  # noqa: E402
from framework.bench.timing import median_seconds  # noqa: E402


def main() -> None:
    kernels = load("numpy").kernels
    rng = np.random.default_rng(0)
    batch, heads, length, head_dim = 128, 4, 12, 16
    rows = wrap(rng.standard_normal((batch * length, 3 * heads * head_dim)).astype(np.float32))
    q, k, v = (rows.view((batch, heads, length, head_dim),
                         (length * 3 * heads * head_dim, head_dim, 3 * heads * head_dim, 1),
                         block * heads * head_dim) for block in range(3))
    causal = np.where(np.triu(np.ones((length, length), bool), 1), -np.inf, 0.0)
    mask = wrap(causal.astype(np.float32)).view((batch, heads, length, length),
                                                (0, 0, length, 1), 0)
    out, lse = kernels["attention_forward"](q, k, v, mask, False, 0.25, 0.0, 0, 0)
    grad = wrap(rng.standard_normal((batch, heads, length, head_dim)).astype(np.float32))
    x = wrap(rng.standard_normal((batch * length, 1, 64)).astype(np.float32))
    g = wrap(rng.standard_normal((batch * length, 1, 64)).astype(np.float32))
    w, b = (wrap(rng.standard_normal(64).astype(np.float32)) for _ in range(2))
    _, mean, rstd = kernels["norm_rows"](x, w, b, 1e-5, False, False)
    cases = {
        "attention_forward (128,4,12,16)":
            lambda: kernels["attention_forward"](q, k, v, mask, False, 0.25, 0.0, 0, 0),
        "attention_backward (128,4,12,16)":
            lambda: kernels["attention_backward"](grad, q, k, v, mask, out, lse, False, 0.25,
                                                  0.0, 0, 0, False),
        "norm_rows (1536,1,64)": lambda: kernels["norm_rows"](x, w, b, 1e-5, False, False),
        "norm_rows_backward (1536,1,64)":
            lambda: kernels["norm_rows_backward"](g, x, w, mean, rstd, False, False),
    }
    cases.update(_step_cases(kernels, rng))
    for name, fn in cases.items():
        print(f"{name:44s} {median_seconds(fn, lambda: None) * 1e6:8.1f} us")


def _step_cases(kernels, rng) -> dict:
    """The transformer step's attention and layer norm (see the module docstring)."""
    batch, heads, length, head_dim = 8, 4, 64, 32
    width = heads * head_dim
    shape = (batch, heads, length, head_dim)
    strides = (length * width, head_dim, width, 1)
    q, k, v, grad = (wrap(rng.standard_normal((batch, length, width)).astype(np.float32))
                     .view(shape, strides, 0) for _ in range(4))
    scale = head_dim ** -0.5
    out, lse = kernels["attention_forward"](q, k, v, None, True, scale, 0.0, 0, 0)
    lse_copy = wrap(np.array(lse.storage.buffer).reshape(lse.shape))
    x, g = (wrap(rng.standard_normal((batch * length, 1, width)).astype(np.float32))
            for _ in range(2))
    w, b = (wrap(rng.standard_normal(width).astype(np.float32)) for _ in range(2))
    _, mean, rstd = kernels["norm_rows"](x, w, b, 1e-5, False, False)

    def backward(saved):
        return kernels["attention_backward"](grad, q, k, v, None, out, saved, True, scale,
                                             0.0, 0, 0, False)

    return {
        "attention_forward (8,4,64,32) causal":
            lambda: kernels["attention_forward"](q, k, v, None, True, scale, 0.0, 0, 0),
        "attention_backward (8,4,64,32) causal": lambda: backward(lse),
        "attention_backward (8,4,64,32), recomputed": lambda: backward(lse_copy),
        "norm_rows (512,1,128)": lambda: kernels["norm_rows"](x, w, b, 1e-5, False, False),
        "norm_rows_backward (512,1,128)":
            lambda: kernels["norm_rows_backward"](g, x, w, mean, rstd, False, False),
    }


if __name__ == "__main__":
    main()
