"""Activation layers; each calls its ``framework.nn.functional`` op."""
from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from ._factory import empty_parameter
from .. import init
from .module import Module

__all__ = ["ReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "Softplus", "LeakyReLU", "ELU", "SELU",
           "CELU", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Mish", "Softsign",
           "Tanhshrink", "LogSigmoid", "GLU", "PReLU", "Softmax", "LogSoftmax", "Softmin",
           "Threshold", "Hardshrink", "Softshrink", "RReLU"]


def _inplace_suffix(inplace: bool) -> str:
    return ", inplace=True" if inplace else ""


class _InplaceActivation(Module):
    """An activation whose only argument is ``inplace``."""

    _fn = ""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        """The functional op of this activation."""
        return getattr(F, self._fn)(input, inplace=self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceActivation):
    """max(0, x)."""

    _fn = "relu"


class SiLU(_InplaceActivation):
    """x · sigmoid(x)."""

    _fn = "silu"


class SELU(_InplaceActivation):
    """scale · (max(0, x) + min(0, α(exp(x) − 1)))."""

    _fn = "selu"


class ReLU6(_InplaceActivation):
    """min(max(0, x), 6)."""

    _fn = "relu6"


class Hardsigmoid(_InplaceActivation):
    """relu6(x + 3) / 6."""

    _fn = "hardsigmoid"

    def extra_repr(self) -> str:
        return ""


class Hardswish(_InplaceActivation):
    """x · relu6(x + 3) / 6."""

    _fn = "hardswish"

    def extra_repr(self) -> str:
        return ""


class Mish(_InplaceActivation):
    """x · tanh(softplus(x))."""

    _fn = "mish"

    def extra_repr(self) -> str:
        return ""


class _Stateless(Module):
    """An activation without arguments."""

    _fn = ""

    def forward(self, input: Tensor) -> Tensor:
        """The functional op of this activation."""
        return getattr(F, self._fn)(input)


class Sigmoid(_Stateless):
    """1 / (1 + exp(−x))."""

    _fn = "sigmoid"


class Tanh(_Stateless):
    """tanh(x)."""

    _fn = "tanh"


class Softsign(_Stateless):
    """x / (1 + |x|)."""

    _fn = "softsign"


class Tanhshrink(_Stateless):
    """x − tanh(x)."""

    _fn = "tanhshrink"


class LogSigmoid(_Stateless):
    """log(sigmoid(x))."""

    _fn = "logsigmoid"


class GELU(Module):
    """x · Φ(x) (``approximate='tanh'`` for the tanh approximation)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        """``F.gelu``."""
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    """log(1 + exp(βx)) / β, linear above ``threshold``."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input: Tensor) -> Tensor:
        """``F.softplus``."""
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class LeakyReLU(Module):
    """max(0, x) + negative_slope · min(0, x)."""

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        """``F.leaky_relu``."""
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}{_inplace_suffix(self.inplace)}"


class ELU(Module):
    """x for x > 0, α(exp(x) − 1) otherwise."""

    _fn = "elu"

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        """The functional op with ``alpha``."""
        return getattr(F, self._fn)(input, self.alpha, self.inplace)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}{_inplace_suffix(self.inplace)}"


class CELU(ELU):
    """max(0, x) + min(0, α(exp(x/α) − 1))."""

    _fn = "celu"


class Hardtanh(Module):
    """x clamped to [min_val, max_val]."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        if max_val <= min_val:
            raise AssertionError(f"max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        """``F.hardtanh``."""
        return F.hardtanh(input, self.min_val, self.max_val, self.inplace)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}{_inplace_suffix(self.inplace)}"


class GLU(Module):
    """a · sigmoid(b) for the halves a, b of ``input`` along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        """``F.glu``."""
        return F.glu(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """max(0, x) + a · min(0, x) with a learned slope ``a`` (one, or one per channel)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device=None,
                 dtype=None) -> None:
        super().__init__()
        self.num_parameters = num_parameters
        self.init = init
        self.weight = empty_parameter((num_parameters,), device, dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every slope equal to ``init``."""
        init.constant_(self.weight, self.init)

    def forward(self, input: Tensor) -> Tensor:
        """``F.prelu``."""
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class _SoftmaxBase(Module):
    _fn = ""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        """The functional op along ``dim``."""
        return getattr(F, self._fn)(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    """exp(x) normalized to sum 1 along ``dim``."""

    _fn = "softmax"


class Softmax2d(Module):
    """Softmax over the channels of each location: dim -3 of a (N, C, H, W) or (C, H, W)
    input."""

    def forward(self, input: Tensor) -> Tensor:
        """``softmax(input, -3)``."""
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected input to be 3D or 4D, got {input.ndim}D "
                             "instead")
        return F.softmax(input, -3)


class LogSoftmax(_SoftmaxBase):
    """log(softmax(x)) along ``dim``."""

    _fn = "log_softmax"


class Softmin(_SoftmaxBase):
    """softmax(-x) along ``dim``."""

    _fn = "softmin"


class Threshold(Module):
    """``x`` where ``x > threshold``, else ``value``."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        """``F.threshold``."""
        return F.threshold(input, self.threshold, self.value, self.inplace)

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, value={self.value}{_inplace_suffix(self.inplace)}"


class _Shrink(Module):
    _fn = ""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = lambd

    def forward(self, input: Tensor) -> Tensor:
        """The functional op with ``lambd``."""
        return getattr(F, self._fn)(input, self.lambd)

    def extra_repr(self) -> str:
        return f"{self.lambd}"


class Hardshrink(_Shrink):
    """``x`` where ``|x| > lambd``, else 0."""

    _fn = "hardshrink"


class Softshrink(_Shrink):
    """``x ∓ lambd`` outside ``[-lambd, lambd]``, else 0."""

    _fn = "softshrink"



class RReLU(Module):
    """Randomized leaky ReLU: random negative slopes in U(lower, upper) in training, their
    mean in eval (``F.rrelu``)."""

    def __init__(self, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
                 inplace: bool = False) -> None:
        super().__init__()
        self.lower = lower
        self.upper = upper
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        """``F.rrelu`` with ``training`` from the module's mode."""
        return F.rrelu(input, self.lower, self.upper, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"lower={self.lower}, upper={self.upper}" + _inplace_suffix(self.inplace)
