"""PyTorch-style ``repr`` of tensors."""
from __future__ import annotations

import numpy as np

from . import dtypes

_DEFAULT_SHOWN = ("float32", "int64", "bool")


def _format_values(host: np.ndarray, dtype) -> str:
    if dtype.is_floating_point:
        values = host.astype(np.float64)
        finite = values[np.isfinite(values)]
        integral = finite.size == 0 or np.all(finite == np.round(finite))
        big = finite.size and (np.max(np.abs(finite)) >= 1e8 or
                               (np.min(np.abs(finite[finite != 0])) < 1e-4 if np.any(finite) else False))
        if big:
            formatter = {"float_kind": lambda v: f"{v:.4e}"}
        elif integral:
            formatter = {"float_kind": lambda v: f"{v:.0f}."}
        else:
            formatter = {"float_kind": lambda v: f"{v:.4f}"}
        return np.array2string(values, separator=", ", formatter=formatter, threshold=1000,
                               edgeitems=3, max_line_width=80, prefix="tensor(")
    if dtype is dtypes.bool:
        return np.array2string(host, separator=", ", threshold=1000, prefix="tensor(",
                               formatter={"bool": lambda v: "True" if v else "False"})
    return np.array2string(host, separator=", ", threshold=1000, prefix="tensor(")


def format_tensor(t) -> str:
    """``tensor([...], device='cuda:0', dtype=framework.float16, requires_grad=True)``."""
    host = t.detach()._host()
    body = _format_values(host, t.dtype)
    if t.numel() == 0:
        body = "[]" if t.ndim == 1 else f"[], size={tuple(t.shape)}"
    extras = []
    if t.is_cuda:
        extras.append(f"device='{t.device}'")
    if t.dtype.name not in _DEFAULT_SHOWN or (t.dtype.name == "float32" and
                                                dtypes.get_default_dtype() is not dtypes.float32):
        extras.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + ", ".join([body] + extras) + ")"
