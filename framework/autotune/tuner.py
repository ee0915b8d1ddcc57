"""Tuning: time every config of a kernel's (pruned) space on one problem, keep the best.

A ``Tunable`` describes one tunable kernel: its config space for a problem,
the heuristic config used on a cache miss, the cache key fields, and a
``runner(problem)`` that allocates inputs once and returns ``run(config)``
launching the kernel with that config.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

from .keys import config_label, make_key


@dataclass(frozen=True)
class Tunable:
    """One tunable kernel (see the module docstring)."""

    name: str
    kernel_hash: Callable[[], str]
    configs: Callable[[dict], list]
    heuristic: Callable[[dict], dict]
    key_fields: Callable[[dict], tuple]  # problem -> (dtype, layout, {size name: size})
    runner: Callable[[dict], Callable[[dict], None]]
    # problem -> further configs a cached entry may hold (heuristic configs of other problems
    # in the same shape bucket); none by default
    also_valid: Callable[[dict], list] | None = None

    def key(self, problem: dict) -> str:
        """The cache key of ``problem``."""
        dtype, layout, shape = self.key_fields(problem)
        return make_key(self.name, self.kernel_hash(), dtype, layout, shape)

    def accepts(self, config: dict, problem: dict) -> bool:
        """True when ``config`` is one tuning ``problem``'s shape bucket could pick: a config
        of the kernel's space for the problem, or a heuristic config (same keys and values)."""
        candidates = [self.heuristic(problem), *self.configs(problem)]
        if self.also_valid is not None:
            candidates += self.also_valid(problem)
        return any(_same_config(config, candidate) for candidate in candidates)


def _same_config(config: dict, candidate: dict) -> bool:
    """Equal keys and equal integer values (a cached ``64.0`` or ``True`` is not ``64``/``1``)."""
    return config == candidate and all(type(config[k]) is type(candidate[k]) for k in config)


@dataclass
class TuneResult:
    """What tuning one problem found."""

    key: str
    best: dict
    timings: dict  # config label -> ms (inf for configs that failed)
    heuristic_ms: float

    @property
    def best_ms(self) -> float:
        """Time of the best config."""
        return min(self.timings.values())

    @property
    def speedup(self) -> float:
        """Heuristic time / best time (>= 1 when tuning helped)."""
        return self.heuristic_ms / self.best_ms if self.best_ms > 0 else math.nan


def tune(tunable: Tunable, problem: dict, time_ms: Callable, deadline: float | None = None,
         on_config: Callable | None = None) -> TuneResult:
    """Time each config of ``tunable`` on ``problem``; stop early at ``deadline`` (time.monotonic).

    ``time_ms(fn)`` measures one launch; ``on_config(label, ms, best_ms)`` reports progress.
    Configs the compiler or the GPU refuses (e.g. out of shared memory) are skipped (inf).
    """
    run = tunable.runner(problem)
    heuristic = tunable.heuristic(problem)
    configs = tunable.configs(problem)
    if heuristic not in configs:
        configs = [heuristic] + configs
    timings: dict = {}
    best, best_ms = heuristic, math.inf
    for config in configs:
        if deadline is not None and timings and time.monotonic() > deadline:
            break
        label = config_label(config)
        try:
            ms = time_ms(lambda: run(config))
        except Exception:  # noqa: BLE001 - a config that does not compile/launch is skipped
            ms = math.inf
        timings[label] = ms
        if ms < best_ms:
            best, best_ms = config, ms
        if on_config is not None:
            on_config(label, ms, best_ms)
    heuristic_ms = timings.get(config_label(heuristic), math.inf)
    return TuneResult(tunable.key(problem), dict(best), timings, heuristic_ms)
