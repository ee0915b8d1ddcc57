"""Random number state: one counter-based generator per device (the documented RNG state).

A draw of ``n`` numbers uses ``(seed, offset)`` and then advances ``offset``
by ``n``, so a seed reproduces a run on each device.
"""
from __future__ import annotations

import os
import time

__all__ = ["Generator", "manual_seed", "seed", "initial_seed", "default_generator",
           "get_rng_state", "set_rng_state", "thread_safe_generator"]


class Generator:
    """A seed and a counter offset (``torch.Generator``-like)."""

    def __init__(self, device="cpu") -> None:
        from .devices import as_device
        self.device = as_device(device)
        self._seed = 67280421310721
        self._offset = 0

    def manual_seed(self, seed: int) -> "Generator":
        """Restart the stream at ``seed``."""
        if not isinstance(seed, int):
            raise TypeError(f"manual_seed expected an int, got {type(seed).__name__}")
        self._seed = seed & 0xFFFFFFFFFFFFFFFF
        self._offset = 0
        return self

    def seed(self) -> int:
        """Seed from the clock; returns the seed."""
        value = time.time_ns() & 0xFFFFFFFFFFFF
        self.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        """The seed in use."""
        return self._seed

    def take(self, n: int) -> tuple:
        """Reserve ``n`` numbers: returns ``(seed, offset)`` to draw them from."""
        start = self._offset
        self._offset += -(-max(n, 1) // 4) * 4
        return self._seed, start

    def get_state(self) -> tuple:
        """``(seed, offset)``."""
        return (self._seed, self._offset)

    def set_state(self, state) -> None:
        """Restore a state from ``get_state``."""
        self._seed, self._offset = int(state[0]), int(state[1])


def _fresh_seed() -> int:
    """A non-deterministic 64-bit seed (the OS's entropy source)."""
    return int.from_bytes(os.urandom(8), "little")


# Like PyTorch, a process that never calls ``manual_seed`` draws a fresh seed: the default
# generators start from one seed from the OS (a new ``Generator()`` starts from PyTorch's
# fixed default seed instead).
_generators = {"cpu": Generator("cpu"), "cuda": Generator("cuda")}
_initial_seed = _fresh_seed()
for _g in _generators.values():
    _g.manual_seed(_initial_seed)
del _g, _initial_seed
default_generator = _generators["cpu"]


def generator_for(device) -> Generator:
    """The default generator of a device's type."""
    return _generators[device.type]


def manual_seed(seed: int) -> Generator:
    """Seed every device's generator."""
    for g in _generators.values():
        g.manual_seed(int(seed))
    return default_generator


def seed() -> int:
    """Seed every generator from the clock; returns the seed."""
    value = default_generator.seed()
    manual_seed(value)
    return value


def initial_seed() -> int:
    """The CPU generator's seed."""
    return default_generator.initial_seed()


def get_rng_state() -> tuple:
    """The CPU generator's state."""
    return default_generator.get_state()


def set_rng_state(state) -> None:
    """Restore the CPU generator's state."""
    default_generator.set_state(state)


def thread_safe_generator() -> "Generator | None":
    """``torch.random.thread_safe_generator``: the generator a DataLoader *thread* worker
    owns, None elsewhere (the main process and process workers, where ops use the default
    generator). framework's DataLoader workers are processes, each seeded on its own
    (``get_worker_info().seed``), so this is always None: ``generator=None`` draws from
    that worker's default generator."""
    return None
