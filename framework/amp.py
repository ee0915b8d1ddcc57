"""Automatic mixed precision: ``autocast`` and ``GradScaler`` (``torch.amp``).

Inside ``with framework.autocast("cuda")`` (bfloat16 by default on ``cpu``,
float16 on ``cuda``) the matrix products and convolutions (``matmul``, ``mm``,
``bmm``, ``linear``, ``conv*``) run in the lower precision: their float32
inputs are cast first. Ops that need the range of float32 (``softmax``,
``log_softmax``, ``layer_norm``, ``cross_entropy``, ``nll_loss``, ``mse_loss``)
cast half-precision inputs up to float32. Backward passes follow the forward's
dtypes. The autocast state is process-wide per device type, like PyTorch's
(it is documented state, like the grad mode).

``GradScaler`` scales the loss so float16 gradients do not underflow, unscales
them before the optimizer step, skips steps whose gradients are not finite and
adapts the scale, with PyTorch's rules and defaults.
"""
from __future__ import annotations

import functools
import math

from . import dtypes

__all__ = ["autocast", "GradScaler", "is_autocast_enabled", "get_autocast_dtype",
           "set_autocast_enabled", "set_autocast_dtype", "is_autocast_cpu_enabled",
           "set_autocast_cpu_enabled", "get_autocast_cpu_dtype", "set_autocast_cpu_dtype",
           "get_autocast_gpu_dtype", "set_autocast_gpu_dtype", "is_autocast_cache_enabled",
           "set_autocast_cache_enabled", "clear_autocast_cache", "autocast_increment_nesting",
           "autocast_decrement_nesting"]

_DEFAULT_DTYPES = {"cpu": dtypes.bfloat16, "cuda": dtypes.float16}
_active: dict = {}  # device type -> the autocast dtype while enabled
_configured: dict = {}  # device type -> the dtype set by set_autocast_dtype
_cache = {"enabled": True, "nesting": 0}  # the cast-cache flag (no cache is kept) and depth


class autocast:  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) running eligible ops in lower precision."""

    def __init__(self, device_type: str = "cuda", dtype=None, enabled: bool = True,
                 cache_enabled=None) -> None:
        if device_type not in _DEFAULT_DTYPES:
            raise RuntimeError(f"User specified an unsupported autocast device_type "
                               f"'{device_type}'")
        dtype = _DEFAULT_DTYPES[device_type] if dtype is None else dtypes.as_dtype(dtype,
                                                                                    "autocast")
        if dtype not in (dtypes.float16, dtypes.bfloat16):
            raise RuntimeError(f"In autocast, but the target dtype {dtype} is not supported: "
                               "use float16 or bfloat16")
        self.device_type = device_type
        self.fast_dtype = dtype
        self.enabled = enabled
        self._previous = []

    def __enter__(self) -> "autocast":
        self._previous.append(_active.get(self.device_type))
        if self.enabled:
            _active[self.device_type] = self.fast_dtype
        else:
            _active.pop(self.device_type, None)
        return self

    def __exit__(self, *exc) -> None:
        previous = self._previous.pop()
        if previous is None:
            _active.pop(self.device_type, None)
        else:
            _active[self.device_type] = previous

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self.enabled):
                return fn(*args, **kwargs)
        return wrapper


def _device_type(device_type: str) -> str:
    if device_type not in _DEFAULT_DTYPES:
        raise RuntimeError(f"unsupported autocast device_type '{device_type}'")
    return device_type


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    """Whether autocast is on for ``device_type``."""
    return _device_type(device_type) in _active


def get_autocast_dtype(device_type: str = "cuda"):
    """The dtype autocast uses for ``device_type``."""
    device_type = _device_type(device_type)
    return _active.get(device_type, _configured.get(device_type, _DEFAULT_DTYPES[device_type]))


def set_autocast_enabled(device_type, enabled=None) -> None:
    """Turn autocast on or off for ``device_type`` (``set_autocast_enabled(enabled)``: for
    cuda), in the dtype ``set_autocast_dtype`` chose (else the default)."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    device_type = _device_type(device_type)
    if enabled:
        _active[device_type] = _configured.get(device_type, _DEFAULT_DTYPES[device_type])
    else:
        _active.pop(device_type, None)


def set_autocast_dtype(device_type: str, dtype) -> None:
    """The dtype autocast uses for ``device_type`` from now on (float16 or bfloat16)."""
    device_type = _device_type(device_type)
    dtype = dtypes.as_dtype(dtype, "set_autocast_dtype")
    if dtype not in (dtypes.float16, dtypes.bfloat16):
        raise RuntimeError(f"In autocast, but the target dtype {dtype} is not supported: "
                           "use float16 or bfloat16")
    _configured[device_type] = dtype
    if device_type in _active:
        _active[device_type] = dtype


def is_autocast_cpu_enabled() -> bool:
    """``is_autocast_enabled("cpu")``."""
    return is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    """``set_autocast_enabled("cpu", enabled)``."""
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype():
    """``get_autocast_dtype("cpu")``."""
    return get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype) -> None:
    """``set_autocast_dtype("cpu", dtype)``."""
    set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype():
    """``get_autocast_dtype("cuda")``."""
    return get_autocast_dtype("cuda")


def set_autocast_gpu_dtype(dtype) -> None:
    """``set_autocast_dtype("cuda", dtype)``."""
    set_autocast_dtype("cuda", dtype)


def is_autocast_cache_enabled() -> bool:
    """The cast-cache flag (recorded: autocast here keeps no cache of casts)."""
    return _cache["enabled"]


def set_autocast_cache_enabled(enabled: bool) -> None:
    """Record the cast-cache flag (autocast here keeps no cache of casts)."""
    _cache["enabled"] = bool(enabled)


def clear_autocast_cache() -> None:
    """Nothing to clear: autocast here keeps no cache of casts."""


def autocast_increment_nesting() -> int:
    """One level deeper of (manually entered) autocast; returns the new depth."""
    _cache["nesting"] += 1
    return _cache["nesting"]


def autocast_decrement_nesting() -> int:
    """One level shallower; returns the new depth."""
    _cache["nesting"] = max(0, _cache["nesting"] - 1)
    return _cache["nesting"]


def _first_tensor(args, kwargs):
    from .tensor import Tensor
    for value in list(args) + list(kwargs.values()):
        if isinstance(value, Tensor):
            return value
    return None


def _cast_args(args, kwargs, should_cast, target):
    from .tensor import Tensor

    def cast(value):
        if isinstance(value, Tensor) and should_cast(value.dtype):
            return value.to(target)
        return value

    return [cast(a) for a in args], {k: cast(v) for k, v in kwargs.items()}


def lower_precision(fn):
    """Decorate an op that autocast runs in the autocast dtype (float32 inputs cast down)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not _active:
            return fn(*args, **kwargs)
        first = _first_tensor(args, kwargs)
        target = _active.get(first.device.type) if first is not None else None
        if target is None:
            return fn(*args, **kwargs)
        args, kwargs = _cast_args(args, kwargs, lambda d: d is dtypes.float32, target)
        return fn(*args, **kwargs)
    return wrapper


def full_precision(fn):
    """Decorate an op that autocast runs in float32 (half-precision inputs cast up)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not _active:
            return fn(*args, **kwargs)
        first = _first_tensor(args, kwargs)
        if first is None or first.device.type not in _active:
            return fn(*args, **kwargs)
        args, kwargs = _cast_args(args, kwargs,
                                  lambda d: d in (dtypes.float16, dtypes.bfloat16),
                                  dtypes.float32)
        return fn(*args, **kwargs)
    return wrapper


class GradScaler:
    """Loss scaling for float16 training (``torch.amp.GradScaler``)."""

    def __init__(self, device: str = "cuda", init_scale: float = 2.0 ** 16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        if growth_factor <= 1.0:
            raise ValueError("The growth factor must be > 1.0.")
        if backoff_factor >= 1.0:
            raise ValueError("The backoff factor must be < 1.0.")
        self.device = device
        self._scale = float(init_scale)
        self._growth_factor = growth_factor
        self._backoff_factor = backoff_factor
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._enabled = enabled
        self._per_optimizer: dict = {}

    def is_enabled(self) -> bool:
        """Whether scaling is on."""
        return self._enabled

    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def scale(self, outputs):
        """``outputs`` (a tensor, or nested lists/tuples of them) times the scale."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        return outputs * self._scale

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by the scale (once per step), noting infs/NaNs."""
        if not self._enabled:
            return
        state = self._per_optimizer.setdefault(id(optimizer), {"unscaled": False,
                                                               "found_inf": False})
        if state["unscaled"]:
            raise RuntimeError("unscale_() has already been called on this optimizer since the "
                               "last update().")
        from .autograd.grad_mode import no_grad
        inverse = 1.0 / self._scale
        all_finite = None  # a bool tensor on the gradients' device: no host read here
        with no_grad():
            for group in optimizer.param_groups:
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    param.grad.mul_(inverse)
                    finite = param.grad.isfinite().all()
                    all_finite = finite if all_finite is None else \
                        all_finite.logical_and(finite.to(all_finite.device))
        state.update(unscaled=True, found_inf=all_finite)

    @staticmethod
    def _found_inf(state: dict) -> bool:
        """Whether ``unscale_`` saw a non-finite gradient: the one host read of a step (as in
        PyTorch), done at most once per optimizer and step."""
        found = state["found_inf"]
        if not isinstance(found, bool):
            found = state["found_inf"] = found is not None and not bool(found)
        return found

    def step(self, optimizer, *args, **kwargs):
        """Unscale if needed, then ``optimizer.step()`` unless a gradient was not finite."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        state = self._per_optimizer.get(id(optimizer))
        if state is None or not state["unscaled"]:
            self.unscale_(optimizer)
            state = self._per_optimizer[id(optimizer)]
        if self._found_inf(state):
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale: float | None = None) -> None:
        """Back off after a skipped step, grow after ``growth_interval`` good ones."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale)
        else:
            found_inf = any(self._found_inf(s) for s in self._per_optimizer.values())
            if found_inf:
                self._scale *= self._backoff_factor
                self._growth_tracker = 0
            else:
                self._growth_tracker += 1
                if self._growth_tracker == self._growth_interval:
                    grown = self._scale * self._growth_factor
                    if math.isfinite(grown):
                        self._scale = grown
                    self._growth_tracker = 0
        self._per_optimizer = {}

    def state_dict(self) -> dict:
        """Scale, factors, interval and growth tracker."""
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore ``state_dict()``."""
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("The source state dict is empty, possibly because it was saved "
                               "from a disabled instance of GradScaler.")
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
