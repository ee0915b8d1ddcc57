"""PyTorch's ``repr`` of tensors (``torch._tensor_str``), computed on a host NumPy copy.

The element format is chosen from the printed elements only (the summarized
data when the tensor has more than ``threshold`` elements): integers shown as
``1.``, fixed ``precision`` decimals, or scientific notation when the nonzero
finite magnitudes span more than 1000x, exceed 1e8 or go below 1e-4. Every
element is padded to the widest one; rows wrap at ``linewidth``; the
``device=``, ``dtype=``, ``grad_fn=``/``requires_grad=`` suffixes follow the
data, each moved to a new line when it would pass ``linewidth``.
``set_printoptions`` changes these options process-wide, as in PyTorch.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

from . import dtypes

__all__ = ["set_printoptions", "get_printoptions", "printoptions", "format_tensor"]

# The print options (process-wide, like PyTorch's ``PRINT_OPTS``).
_OPTIONS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80,
            "sci_mode": None}
_PROFILES = {
    "default": {"precision": 4, "threshold": 1000, "edgeitems": 3, "linewidth": 80},
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80},
}


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Set how tensors print (``torch.set_printoptions``): digits, summarization threshold,
    items kept at each end when summarizing, line width, a profile ('default', 'short',
    'full') and ``sci_mode`` (True/False forces scientific notation on or off)."""
    if profile is not None:
        _OPTIONS.update(_PROFILES[profile])
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            _OPTIONS[name] = value
    _OPTIONS["sci_mode"] = sci_mode


def get_printoptions() -> dict:
    """The current print options, as keyword arguments of ``set_printoptions``."""
    return dict(_OPTIONS)


@contextlib.contextmanager
def printoptions(**kwargs):
    """Change the print options inside a ``with`` block."""
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**saved)


class _Formatter:
    """One column format for the elements of ``values`` (a host array, already summarized)."""

    def __init__(self, values: np.ndarray, floating: bool) -> None:
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        precision = _OPTIONS["precision"]
        flat = values.reshape(-1)
        if not floating:
            for text in {_plain(v) for v in flat.tolist()}:
                self.width = max(self.width, len(text))
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size == 0:
            return
        magnitude = np.abs(finite)
        smallest, largest = magnitude.min(), magnitude.max()
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        forced = _OPTIONS["sci_mode"]
        self.sci_mode = (largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
                         if forced is None else forced)
        if self.sci_mode:
            texts = (f"{v:.{precision}e}" for v in np.unique(finite).tolist())
        elif self.int_mode:
            texts = (f"{v:.0f}." for v in np.unique(finite).tolist())
        else:
            texts = (f"{v:.{precision}f}" for v in np.unique(finite).tolist())
        self.width = max(self.width, max(len(t) for t in texts))

    def format(self, value) -> str:
        precision = _OPTIONS["precision"]
        if self.floating:
            if self.sci_mode:
                text = f"{value:{self.width}.{precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{value:.{precision}f}"
        else:
            text = _plain(value)
        return (self.width - len(text)) * " " + text


def _plain(value) -> str:
    return str(value)


def _summarized(values: np.ndarray) -> np.ndarray:
    """The elements that will be printed (``torch._tensor_str.get_summarized_data``)."""
    edge = _OPTIONS["edgeitems"]
    if values.ndim == 0:
        return values
    if values.ndim == 1:
        return np.concatenate([values[:edge], values[-edge:]]) if (
            values.shape[0] > 2 * edge) else values
    if not edge:
        return values.reshape((0,) * values.ndim)
    rows = (list(range(edge)) + list(range(values.shape[0] - edge, values.shape[0]))
            if values.shape[0] > 2 * edge else range(values.shape[0]))
    return np.stack([_summarized(values[i]) for i in rows])


def _vector(values: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    edge = _OPTIONS["edgeitems"]
    per_line = max(1, math.floor((_OPTIONS["linewidth"] - indent) / (fmt.width + 2)))
    if summarize and not edge:
        data = ["..."]
    elif summarize and values.shape[0] > 2 * edge:
        data = ([fmt.format(v) for v in values[:edge].tolist()] + [" ..."]
                + [fmt.format(v) for v in values[-edge:].tolist()])
    else:
        data = [fmt.format(v) for v in values.tolist()]
    lines = [", ".join(data[i:i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(values: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if values.ndim == 0:
        return fmt.format(values.item())
    if values.ndim == 1:
        return _vector(values, indent, summarize, fmt)
    edge = _OPTIONS["edgeitems"]
    n = values.shape[0]
    if summarize and n > 2 * edge:
        slices = ([_nested(values[i], indent + 1, summarize, fmt) for i in range(edge)] + ["..."]
                  + [_nested(values[i], indent + 1, summarize, fmt) for i in range(n - edge, n)])
    else:
        slices = [_nested(values[i], indent + 1, summarize, fmt) for i in range(n)]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _host_values(t) -> np.ndarray:
    host = t.detach()._host()
    if t.dtype.is_floating_point and host.dtype not in (np.float32, np.float64):
        host = host.astype(np.float32)  # float16 / bfloat16: exact in float32
    return host


def _data(t, indent: int) -> str:
    if t.numel() == 0:
        return "[]"
    values = _host_values(t)
    summarize = t.numel() > _OPTIONS["threshold"]
    fmt = _Formatter(_summarized(values) if summarize else values, t.dtype.is_floating_point)
    return _nested(values, indent, summarize, fmt)


def _add_suffixes(text: str, suffixes: list, indent: int) -> str:
    parts = [text]
    last_line = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > _OPTIONS["linewidth"]:
            parts.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(parts) + ")"


def format_tensor(t, prefix: str = "tensor(") -> str:
    """``tensor([...], device='cuda:0', dtype=framework.float16, requires_grad=True)``."""
    indent = len(prefix)
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    default = dtypes.get_default_dtype()
    if t.numel() == 0:
        if t.ndim != 1:
            suffixes.append(f"size={tuple(t.shape)}")
        if t.dtype is not default:
            suffixes.append(f"dtype={t.dtype}")
        body = "[]"
    else:
        if not _OPTIONS["edgeitems"]:
            suffixes.append(f"size={tuple(t.shape)}")
        if t.dtype not in (default, dtypes.int64, dtypes.bool):
            suffixes.append(f"dtype={t.dtype}")
        body = _data(t, indent)
    try:
        node = t.grad_fn
        node_name = type(node).__name__ if node is not None else None
    except RuntimeError:  # a view whose graph can't be rebased (PyTorch prints the same)
        node_name = "Invalid"
    if node_name is not None:
        suffixes.append(f"grad_fn=<{node_name}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
