"""Anomaly detection (``torch.autograd.detect_anomaly`` / ``set_detect_anomaly``).

While it is on, the backward pass checks every gradient a node returns and
raises ``RuntimeError`` naming the node when one contains NaN, e.g.
"Function 'DivBackward0' returned nan values in its 0th output." It costs one
reduction per gradient, so it is off by default. Process-wide state, like
PyTorch's.
"""
from __future__ import annotations

_state = {"enabled": False, "check_nan": True}


def is_anomaly_enabled() -> bool:
    """Whether backward checks gradients for NaN."""
    return _state["enabled"]


def is_anomaly_check_nan_enabled() -> bool:
    """Whether the NaN check is part of anomaly mode."""
    return _state["check_nan"]


class set_detect_anomaly:  # noqa: N801 - PyTorch's name
    """Turn anomaly detection on or off (now, and as a context manager until exit)."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self._previous = dict(_state)
        _state.update(enabled=bool(mode), check_nan=bool(check_nan))

    def __enter__(self) -> "set_detect_anomaly":
        return self

    def __exit__(self, *exc) -> None:
        _state.update(self._previous)


class detect_anomaly:  # noqa: N801 - PyTorch's name
    """Context manager (and decorator) running its block with anomaly detection on."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self._previous = None

    def __enter__(self) -> "detect_anomaly":
        self._previous = dict(_state)
        _state.update(enabled=True, check_nan=self.check_nan)
        return self

    def __exit__(self, *exc) -> None:
        _state.update(self._previous)

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


def check_gradients(node, grads_in) -> None:
    """Raise if anomaly mode is on and a gradient ``node`` returned contains NaN."""
    if not (_state["enabled"] and _state["check_nan"]):
        return
    from ..tensor import Tensor
    for index, grad in enumerate(grads_in):
        if isinstance(grad, Tensor) and grad.dtype.is_floating_point and bool(grad.isnan().any()):
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {index}th "
                               "output.")
