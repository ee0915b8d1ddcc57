"""The float32 matmul precision setting (``torch.set_float32_matmul_precision``).

``'highest'``: exact fp32 products (FMA). ``'high'`` and ``'medium'``: fp32
matmuls on ``cuda`` may use TF32 tensor cores (10-bit mantissa inputs, fp32
accumulation). framework defaults to ``'high'`` (TF32 on), as its speed
targets assume; PyTorch's own default for matmuls is ``'highest'``. Set
``framework.set_float32_matmul_precision('highest')`` (or
``framework.backends.cuda.matmul.allow_tf32 = False``) for exact fp32. The
CPU path always computes exact fp32. This is process-wide state, like
PyTorch's.
"""
from __future__ import annotations

_PRECISIONS = ("highest", "high", "medium")
_setting = {"float32_matmul_precision": "high"}


def set_float32_matmul_precision(precision: str) -> None:
    """Set the internal precision of float32 matrix multiplications on ``cuda``."""
    if precision not in _PRECISIONS:
        raise RuntimeError(f"Invalid precision {precision!r}: expected one of "
                           f"{', '.join(_PRECISIONS)}")
    _setting["float32_matmul_precision"] = precision


def get_float32_matmul_precision() -> str:
    """The current float32 matmul precision (``'high'`` by default)."""
    return _setting["float32_matmul_precision"]


def tf32_enabled() -> bool:
    """Whether float32 matmuls on ``cuda`` may use TF32."""
    return _setting["float32_matmul_precision"] != "highest"


class _MatmulFlags:
    """``framework.backends.cuda.matmul``: ``allow_tf32`` as in PyTorch."""

    @property
    def allow_tf32(self) -> bool:
        return tf32_enabled()

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        set_float32_matmul_precision("high" if value else "highest")
