"""The standard problem set ``framework autotune`` warms, per op.

Matmul: transformer shapes (BERT-base/large, GPT-2, Llama-7B projections
and MLPs, an LM head over 8192 tokens), the square 4096³ benchmark shape, and
split-K shapes (few output tiles, long K). Each is tuned for every requested
dtype. Tunables of other ops (conv) register their own sets here.
"""
from __future__ import annotations

MATMUL_SHAPES = [
    (4096, 4096, 4096),
    (8192, 2304, 768), (8192, 768, 768), (8192, 3072, 768), (8192, 768, 3072),
    (8192, 3072, 1024), (8192, 1024, 4096),
    (4096, 12288, 4096), (4096, 4096, 4096), (4096, 11008, 4096), (4096, 4096, 11008),
    (8192, 50304, 768),
    (128, 128, 65536), (256, 512, 16384),
]

# Tiny problems for ``--dry-run`` under the interpreter (one program per launch).
DRY_RUN_MATMUL_SHAPES = [(16, 16, 32), (32, 16, 64)]

DTYPES = ("fp32", "fp16", "bf16")


def standard_problems(ops: list, dtypes: list, dry_run: bool) -> list:
    """Problems (dicts with ``op``) for ``ops`` and ``dtypes``."""
    problems = []
    if "matmul" in ops:
        shapes = DRY_RUN_MATMUL_SHAPES if dry_run else MATMUL_SHAPES
        for dtype in dtypes:
            for m, n, k in shapes:
                problems.append({"op": "matmul", "m": m, "n": n, "k": k, "batch": 1,
                                 "dtype": "tf32" if dtype == "fp32" else dtype,
                                 "layout": "NN"})
    return problems
