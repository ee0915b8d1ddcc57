"""char_transformer's attention and layer-norm CPU kernels, timed alone (medians, microseconds).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=$PWD python bench/row_kernels.py

Shapes: batch 128 x block 12, d_model 64, 4 heads of 16: attention on the (128, 4, 12, 16)
head views of the packed (1536, 192) in-projection rows with the broadcast (12, 12) float
causal mask (as ``MultiheadAttention``'s one-node path calls it), layer norm on
(1536, 1, 64) with weight and bias. Calls the NumPy backend's kernels directly (no
autograd). To compare two trees, run this file with ``PYTHONPATH`` set to each tree.
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
    for name, fn in cases.items():
        print(f"{name:34s} {median_seconds(fn, lambda: None) * 1e6:8.1f} us")


if __name__ == "__main__":
    main()
