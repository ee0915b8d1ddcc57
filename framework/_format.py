"""PyTorch-style ``repr`` of tensors: aligned columns, 4 decimals or scientific notation."""
from __future__ import annotations

import re

import numpy as np

from . import dtypes

_DEFAULT_SHOWN = ("float32", "int64", "bool")
_THRESHOLD = 1000  # elements shown before the middle is summarized with '...'


def _float_format(values: np.ndarray):
    """PyTorch's element formatter and column width for float values.

    Like ``torch._tensor_str._Formatter``: the mode (integers, fixed 4 decimals or
    scientific) and the width come from the nonzero finite values only.
    """
    nonzero = values[np.isfinite(values) & (values != 0)]
    if nonzero.size == 0:
        return _integral_float, 1
    magnitude = np.abs(nonzero)
    smallest, largest = magnitude.min(), magnitude.max()
    # candidates for the longest string: extremes of value and of magnitude
    extremes = [nonzero.min(), nonzero.max(), smallest, largest]
    if largest / smallest > 1000 or largest > 1e8 or smallest < 1e-4:
        fmt = _scientific
        return fmt, max(len(fmt(v)) for v in extremes)
    if np.all(nonzero == np.ceil(nonzero)):
        return _integral_float, max(len(_integral_float(v)) for v in extremes)
    fmt = _fixed
    return fmt, max(len(fmt(v)) for v in extremes)


def _integral_float(v) -> str:
    return f"{v:.0f}." if np.isfinite(v) else f"{v}"


def _scientific(v) -> str:
    return f"{v:.4e}" if np.isfinite(v) else f"{v}"


def _fixed(v) -> str:
    return f"{v:.4f}" if np.isfinite(v) else f"{v}"


def _element_format(host: np.ndarray, dtype):
    """Values to print, their formatter and PyTorch's column width."""
    if dtype.is_floating_point:
        values = host.astype(np.float64)
        fmt, width = _float_format(values)
        return values, fmt, width
    if dtype is dtypes.bool:
        fmt = lambda v: "True" if v else "False"  # noqa: E731
        return host, fmt, max((len(fmt(v)) for v in np.unique(host)), default=1)
    fmt = lambda v: str(int(v))  # noqa: E731
    extremes = [host.min(), host.max()] if host.size else []
    return host, fmt, max((len(fmt(v)) for v in extremes), default=1)


def _format_values(host: np.ndarray, dtype) -> str:
    values, fmt, width = _element_format(host, dtype)
    kind = "bool" if values.dtype == np.bool_ else ("float_kind" if dtype.is_floating_point else "int")
    text = np.array2string(values, separator=", ", threshold=_THRESHOLD, edgeitems=3,
                           max_line_width=80, prefix="tensor(",
                           formatter={kind: lambda v: fmt(v).rjust(width)})
    # PyTorch summarizes within a row as " ..." (one space wider than NumPy's "...")
    return re.sub(r"(?<=, )\.\.\.(?=,)", " ...", text)


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
    try:
        node_name = t.grad_fn.name() if t.grad_fn is not None else None
    except RuntimeError:  # a view whose graph can't be rebased (PyTorch prints the same)
        node_name = "Invalid"
    if node_name is not None:
        extras.append(f"grad_fn=<{node_name}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return "tensor(" + ", ".join([body] + extras) + ")"
