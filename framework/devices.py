"""The ``device`` type: ``cpu`` (NumPy) or ``cuda`` (Triton, on a GPU or the interpreter)."""
from __future__ import annotations

__all__ = ["device", "get_default_device", "set_default_device"]


class device:
    """A device a tensor lives on, like ``torch.device``: ``device('cuda:0')``."""

    __slots__ = ("type", "index")

    def __init__(self, type: "str | device", index: "int | None" = None) -> None:  # noqa: A002
        if isinstance(type, device):
            self.type, self.index = type.type, type.index
            return
        if not isinstance(type, str):
            raise TypeError(f"device(): expected a string or device, got {type!r}")
        name = type.strip()
        if ":" in name:
            name, _, idx = name.partition(":")
            if index is not None:
                raise RuntimeError(f"device(): index given twice in {type!r}")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(idx)
        if name not in ("cpu", "cuda"):
            raise RuntimeError(
                f"Expected one of cpu, cuda device type at start of device string: {type}")
        if name == "cuda" and index is None:
            index = 0
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        self.type = name
        self.index = index if name == "cuda" else None

    def __eq__(self, other) -> bool:
        if other is self:
            return True
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __enter__(self) -> "device":
        """``with framework.device('cuda'):`` makes factory functions default to this device."""
        _default["entered"].append(self)
        return self

    def __exit__(self, *exc) -> None:
        _default["entered"].pop()


CPU = device("cpu")

# The device factory functions use when given none (process-wide, like PyTorch's):
# ``set_default_device``'s choice, overridden inside ``with device(...)`` blocks.
_default: dict = {"device": None, "entered": []}


def get_default_device() -> device:
    """The device tensors are created on when no ``device`` is given (``cpu`` unless set)."""
    entered = _default["entered"]
    if entered:
        return entered[-1]
    return _default["device"] or CPU


def set_default_device(d) -> None:
    """Create tensors on ``d`` by default (``None`` restores ``cpu``), as
    ``torch.set_default_device``."""
    _default["device"] = None if d is None else as_device(d)


def as_device(d) -> device:
    """Normalize a string, int (a cuda index) or device to a ``device``: one shared instance
    per device (``_INTERNED``), so tensors made with ``device='cpu'`` or moved by
    ``.to('cpu')`` hold the very object the default device is, and the ops' same-device
    fast paths (identity tests) take them."""
    key = d if type(d) in (str, int, device) else None
    if key is not None:
        found = _INTERNED.get(key)
        if found is not None:
            return found
    if isinstance(d, device):
        made = d
    elif isinstance(d, int):
        made = device("cuda", d)
    else:
        made = device(d)
    canonical = _INTERNED.setdefault(made, made)  # keyed by (type, index): equal devices
    if key is not None and len(_INTERNED) < 64:
        _INTERNED[key] = canonical
    return canonical


# The shared device objects (a cache): each device, and the strings and ints naming it.
_INTERNED: dict = {CPU: CPU}
