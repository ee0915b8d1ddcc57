"""``framework.special``: PyTorch's ``torch.special`` names for ops defined in ``framework.ops``."""
from __future__ import annotations

from .ops.numeric import logit, sinc, xlogy
from .ops.reduce import logsumexp
from .ops.special import (digamma, entr, gammainc, gammaincc, gammaln, i0, i0e, i1, i1e,
                          log_ndtr, multigammaln, ndtr, ndtri, polygamma, psi, xlog1py, zeta)
from .ops.unary import erf, erfc, erfinv, exp2, expm1, log1p, round
from .ops.unary import sigmoid as expit
from .tensor import Tensor

__all__ = ["erf", "erfc", "erfinv", "exp2", "expm1", "expit", "log1p", "logit", "sinc",
           "xlogy", "xlog1py", "logsumexp", "round", "digamma", "psi", "gammaln",
           "polygamma", "multigammaln", "zeta", "i0", "i0e", "i1", "i1e", "entr", "ndtr",
           "log_ndtr", "ndtri", "softmax", "log_softmax", "gammainc", "gammaincc"]


def softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """``softmax`` along ``dim`` (``torch.special.softmax``: ``dim`` required)."""
    from .ops.softmax import softmax as softmax_
    return softmax_(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """``log_softmax`` along ``dim`` (``torch.special.log_softmax``: ``dim`` required)."""
    from .ops.softmax import log_softmax as log_softmax_
    return log_softmax_(input, dim, dtype=dtype)
