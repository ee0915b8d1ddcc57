"""``framework.special``: PyTorch's ``torch.special`` names for ops defined in ``framework.ops``."""
from __future__ import annotations

from .ops.unary import erf, erfc, erfinv, exp2, expm1, log1p
from .ops.unary import sigmoid as expit

__all__ = ["erf", "erfc", "erfinv", "exp2", "expm1", "expit", "log1p"]
