"""Per-parameter state helpers shared by the optimizers."""
from __future__ import annotations

from ..dtypes import float32, float64, get_default_dtype
from ..ops.creation import full, tensor, zeros
from ..tensor import Tensor


def step_count(state: dict) -> float:
    """Advance the state's step counter (a CPU float32 scalar tensor, as in PyTorch)."""
    step = state.get("step")
    value = (0.0 if step is None else _step_value(step)) + 1.0
    step = tensor(value, dtype=float64 if get_default_dtype() is float64 else float32)
    step._step_value = (step._a.storage.version, value)
    state["step"] = step
    return value


def _step_value(step) -> float:
    """``float(step)``, from the value ``step_count`` noted on the tensor it made while its
    memory is unwritten since (the storage's version counter is unchanged)."""
    noted = getattr(step, "_step_value", None)
    if noted is not None and isinstance(step, Tensor) and noted[0] == step._a.storage.version:
        return noted[1]
    return float(step)


def zeros_state(param: Tensor) -> Tensor:
    """A contiguous zero buffer with the parameter's shape, dtype and device."""
    return zeros(tuple(param.shape), dtype=param.dtype, device=param.device)


def full_state(param: Tensor, value: float) -> Tensor:
    """A contiguous buffer filled with ``value``, with the parameter's shape, dtype and device."""
    return full(tuple(param.shape), value, dtype=param.dtype, device=param.device)


def check_hyper(name: str, value, low: float = 0.0, strict: bool = False) -> None:
    """PyTorch's hyper-parameter checks: ``Invalid <name>: <value>`` as a ValueError."""
    bad = value <= low if strict else value < low
    if bad:
        raise ValueError(f"Invalid {name}: {value}")


def check_betas(betas) -> None:
    """Both betas in [0, 1)."""
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")


def reject_unsupported(name: str, **flags) -> None:
    """Refuse options this implementation does not provide (e.g. ``differentiable=True``)."""
    for flag, value in flags.items():
        if value:
            raise NotImplementedError(f"{name}: {flag}=True is not supported")


def params_with_grad(group: dict):
    """The group's parameters that have a gradient."""
    for param in group["params"]:
        if param.grad is not None:
            yield param
