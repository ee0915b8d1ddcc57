"""The standard problem set ``framework autotune`` warms, per op.

Conv2d: the ResNet-50 layer shapes (forward, input-gradient and
weight-gradient GEMMs each). Matmul: transformer shapes (BERT-base/large, GPT-2, Llama-7B projections
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

# ResNet-50 convolutions at batch 32 (N, C, H, W, CO, K, stride, padding): the 3x3 and
# strided layers of each stage and the stem (1x1 convs run on the matmul kernel).
CONV_SHAPES = [
    (32, 3, 224, 224, 64, 7, 2, 3),
    (32, 64, 56, 56, 64, 3, 1, 1),
    (32, 128, 56, 56, 128, 3, 2, 1), (32, 128, 28, 28, 128, 3, 1, 1),
    (32, 256, 28, 28, 256, 3, 2, 1), (32, 256, 14, 14, 256, 3, 1, 1),
    (32, 512, 14, 14, 512, 3, 2, 1), (32, 512, 7, 7, 512, 3, 1, 1),
]
DRY_RUN_CONV_SHAPES = [(1, 2, 5, 5, 3, 3, 1, 1)]
CONV_KERNELS = ("conv2d_kernel", "conv2d_input_grad_kernel", "conv2d_weight_grad_kernel")
# Names of the conv GEMM kernels in problem files recorded before they took the backend
# contract's vocabulary (``autotune.recorded`` reads them as the new names).
RENAMED_CONV_KERNELS = {"conv2d_fwd_kernel": "conv2d_kernel",
                        "conv2d_dgrad_kernel": "conv2d_input_grad_kernel",
                        "conv2d_wgrad_kernel": "conv2d_weight_grad_kernel"}
# How ``framework autotune`` names each conv GEMM in its progress and summary.
CONV_KERNEL_LABELS = {"conv2d_kernel": "forward", "conv2d_input_grad_kernel": "input_grad",
                      "conv2d_weight_grad_kernel": "weight_grad"}

DTYPES = ("fp32", "fp16", "bf16")


# ``--quick``: the square benchmark shape, one split-K shape, one ResNet 3x3 layer.
QUICK_MATMUL_SHAPES = [(4096, 4096, 4096), (128, 128, 65536)]
QUICK_CONV_SHAPES = [(32, 64, 56, 56, 64, 3, 1, 1)]


def standard_problems(ops: list, dtypes: list, dry_run: bool, quick: bool = False) -> list:
    """Problems (dicts with ``op``) for ``ops`` and ``dtypes`` (a short set when ``quick``)."""
    problems = []
    if "matmul" in ops:
        shapes = DRY_RUN_MATMUL_SHAPES if dry_run else (QUICK_MATMUL_SHAPES if quick else
                                                        MATMUL_SHAPES)
        for dtype in dtypes:
            for m, n, k in shapes:
                problems.append({"op": "matmul", "m": m, "n": n, "k": k, "batch": 1,
                                 "dtype": "tf32" if dtype == "fp32" else dtype,
                                 "layout": "NN"})
    if "conv2d" in ops:
        shapes = DRY_RUN_CONV_SHAPES if dry_run else (QUICK_CONV_SHAPES if quick else
                                                      CONV_SHAPES)
        for dtype in dtypes:
            for n, c, h, w, co, k, stride, padding in shapes:
                for kernel in CONV_KERNELS:
                    problems.append({"op": "conv2d", "kernel": kernel, "x": [n, c, h, w],
                                     "w": [co, c, k, k], "stride": [stride, stride],
                                     "padding": [padding, padding], "dilation": [1, 1],
                                     "groups": 1, "dtype": dtype})
    return problems
