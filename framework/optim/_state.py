"""Per-parameter state helpers shared by the optimizers."""
from __future__ import annotations

from ..dtypes import bfloat16, float16, float32, float64, get_default_dtype
from ..ops.creation import full, tensor, zeros
from ..ops.shape import _make_view
from ..tensor import Tensor


def step_count(state: dict) -> float:
    """Advance the state's step counter (a CPU float32 scalar tensor, as in PyTorch)."""
    step = state.get("step")
    value = (0.0 if step is None else scalar_value(step)) + 1.0
    state["step"] = scalar_state(value)
    return value


def scalar_state(value: float, device=None) -> Tensor:
    """A 0-d tensor of PyTorch's scalar state dtype (float32; float64 under a float64 default
    dtype) holding ``value``, on ``device`` (the CPU by default). ``scalar_value`` reads it back
    without a device read while its memory is unwritten."""
    dtype = float64 if get_default_dtype() is float64 else float32
    scalar = tensor(value, dtype=dtype, device=device)
    scalar._step_value = (scalar._a.storage.version, float(dtype.numpy.type(value)))
    return scalar


def step_counts(states: list, fused: bool = False) -> list:
    """Advance the step counter of every state in ``states`` (the multi-tensor path).

    The new step tensors are 0-d CPU views of one tensor made with one host copy (not one
    per parameter); each is read back without a device read while unwritten, as
    ``step_count``'s. Float32 under ``fused=True`` (PyTorch's fused step type), else as
    ``step_count``. Returns the new counts.
    """
    values = [(0.0 if s.get("step") is None else scalar_value(s["step"])) + 1.0 for s in states]
    if not values:
        return values
    dtype = float64 if get_default_dtype() is float64 and not fused else float32
    steps = tensor(values, dtype=dtype)
    version = steps._a.storage.version
    for i, (state, value) in enumerate(zip(states, values)):
        step = _make_view(steps, (), (), i, grad_enabled=False)  # steps[i], without the
        step._step_value = (version, value)  # index parsing (10x the cost; this runs per step)
        state["step"] = step
    return values


def scalar_value(step) -> float:
    """``float(step)``, from the value ``scalar_state`` noted on the tensor it made while its
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


def use_multi_tensor(group: dict) -> bool:
    """Whether the group's step takes the multi-tensor path: ``fused=True`` or
    ``foreach=True``; with both None, yes (the default on every device: the numbers are the
    per-parameter path's, to the bit)."""
    if group.get("fused") or group.get("foreach"):
        return True
    return group.get("fused") is None and group.get("foreach") is None


def check_fused_foreach(fused, foreach) -> None:
    """PyTorch's error for asking for both implementations."""
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


MULTI_DTYPES = (float16, bfloat16, float32, float64)  # what the multi-tensor kernels update


def check_fused_param(param: Tensor) -> None:
    """PyTorch's check of a parameter under ``fused=True``: floating point, on cpu or cuda."""
    if param.dtype not in MULTI_DTYPES or param.device.type not in ("cpu", "cuda"):
        raise RuntimeError("`fused=True` requires all the params to be floating point Tensors "
                           f"of supported devices: ['cpu', 'cuda'] but {param.dtype} and "
                           f"{param.device.type}")


def by_device_and_dtype(params: list) -> list:
    """Indices into ``params`` grouped by (device, dtype), in first-seen order: one
    multi-tensor launch each (PyTorch groups its foreach/fused steps the same way)."""
    groups: dict = {}
    for i, param in enumerate(params):
        groups.setdefault((str(param.device), param.dtype.name), []).append(i)
    return list(groups.values())


def params_with_grad(group: dict):
    """The group's parameters that have a gradient."""
    for param in group["params"]:
        if param.grad is not None:
            yield param
