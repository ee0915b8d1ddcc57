"""PyTorch-style ``repr`` of tensors: aligned columns, 4 decimals or scientific notation."""
from __future__ import annotations

import numpy as np

from . import dtypes

_DEFAULT_SHOWN = ("float32", "int64", "bool")
_THRESHOLD = 1000  # elements shown before the middle is summarized with '...'


def _float_format(values: np.ndarray):
    """The element formatter PyTorch would pick for these float values."""
    finite = np.abs(values[np.isfinite(values)])
    if finite.size == 0:
        return lambda v: f"{v:.4f}"
    nonzero = finite[finite != 0]
    if np.all(finite == np.round(finite)):
        if finite.max() >= 1e8:
            return lambda v: f"{v:.4e}"
        return lambda v: f"{v:.0f}." if np.isfinite(v) else f"{v}"
    if nonzero.size and (nonzero.max() / nonzero.min() > 1000 or nonzero.max() >= 1e8
                         or nonzero.min() < 1e-4):
        return lambda v: f"{v:.4e}"
    return lambda v: f"{v:.4f}"


def _element_format(host: np.ndarray, dtype):
    if dtype.is_floating_point:
        values = host.astype(np.float64)
        return values, _float_format(values)
    if dtype is dtypes.bool:
        return host, lambda v: "True" if v else "False"
    return host, lambda v: str(int(v))


def _format_values(host: np.ndarray, dtype) -> str:
    values, fmt = _element_format(host, dtype)
    flat = values.reshape(-1)
    sample = flat if flat.size <= _THRESHOLD else np.concatenate([flat[:3], flat[-3:]])
    width = max((len(fmt(v)) for v in sample), default=1)
    kind = "bool" if values.dtype == np.bool_ else ("float_kind" if dtype.is_floating_point else "int")
    return np.array2string(values, separator=", ", threshold=_THRESHOLD, edgeitems=3,
                           max_line_width=80, prefix="tensor(",
                           formatter={kind: lambda v: fmt(v).rjust(width)})


def format_tensor(t) -> str:
    """``tensor([...], device='cuda:0', dtype=framework.float16, requires_grad=True)``."""
    host = t.detach()._host()
    body = _format_values(host, t.dtype)
    if t.numel() == 0:
        body = "[]" if t.ndim == 1 else f"[], size={tuple(t.shape)}"
    extras = []
    if t.is_cuda:
        extras.append(f"device='{t.device}'")
    default_float = dtypes.get_default_dtype()
    shown = t.dtype.name in _DEFAULT_SHOWN and not (t.dtype.name == "float32" and default_float is not dtypes.float32)
    if not shown and t.dtype is not default_float:
        extras.append(f"dtype={t.dtype}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + ", ".join([body] + extras) + ")"
