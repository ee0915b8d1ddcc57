"""``LinearCrossEntropyOptions``: PyTorch's options of the chunked ``linear_cross_entropy``.

framework accepts and validates them like PyTorch, and always computes the reference
path (``cross_entropy(linear(input, weight, bias), target)``), which PyTorch documents
the chunked path to equal; the options only trade memory for speed there.
"""
from __future__ import annotations

import dataclasses

from ... import dtypes

__all__ = ["LinearCrossEntropyOptions"]

_ACC_POLICIES = {"auto", "accurate", "balanced", "compact"}


@dataclasses.dataclass(frozen=True)
class LinearCrossEntropyOptions:
    """Chunking options of ``linear_cross_entropy`` (validated, see the module docstring):
    ``allow_retain_graph``, ``batch_chunk_size`` (positive int or None),
    ``chunking_method`` ('auto', 'aspect_ratio', 'aspect_ratio:N' or None), ``acc_policy``
    ('auto', 'accurate', 'balanced', 'compact') and ``acc_dtype`` (a floating dtype or None)."""

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None

    def __post_init__(self) -> None:
        if self.acc_policy not in _ACC_POLICIES:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = self.chunking_method.partition(":")
            factor = factor if sep else "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        if not (self.batch_chunk_size is None or (isinstance(self.batch_chunk_size, int)
                                                  and self.batch_chunk_size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got "
                             f"{self.batch_chunk_size!r}")
        allowed = (dtypes.float16, dtypes.bfloat16, dtypes.float32, dtypes.float64)
        if self.acc_dtype is not None and self.acc_dtype not in allowed:
            raise ValueError(f"acc_dtype must be one of {{None, float16, bfloat16, float32, "
                             f"float64}}, got {self.acc_dtype!r}. Pass acc_dtype=None to let "
                             "the op pick automatically.")
