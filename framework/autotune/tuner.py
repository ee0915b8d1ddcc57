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
    heuristic_ms: float  # inf when the heuristic config failed or was not timed
    untimed: int = 0  # configs of the space a deadline left untimed (0: the tuning is complete)
    space: int = 0  # configs in the space
    heuristic_timed: bool = True  # False when a deadline came before the heuristic config

    @property
    def best_ms(self) -> float:
        """Time of the best config."""
        return min(self.timings.values())

    @property
    def complete(self) -> bool:
        """True when every config of the space was timed."""
        return self.untimed == 0

    @property
    def speedup(self) -> float:
        """Heuristic time / best time (>= 1 when tuning helped)."""
        return self.heuristic_ms / self.best_ms if self.best_ms > 0 else math.nan


def candidates(tunable: Tunable, problem: dict) -> list:
    """The configs tuning ``problem`` times, in order: the space, with the heuristic config
    first when the space does not hold it."""
    heuristic = tunable.heuristic(problem)
    configs = tunable.configs(problem)
    return configs if heuristic in configs else [heuristic] + configs


def untimed(tunable: Tunable, problem: dict, timings: dict) -> list:
    """The configs of ``tunable``'s space for ``problem`` that have no time in ``timings``.

    A cache entry is complete when there are none; one a ``--budget`` cut short is resumed
    by timing only these (``tune(..., done=entry_timings)``).
    """
    return [config for config in tunable.configs(problem) if config_label(config) not in timings]


def tune(tunable: Tunable, problem: dict, time_ms: Callable, deadline: float | None = None,
         on_config: Callable | None = None, done: dict | None = None,
         precompile: Callable | None = None) -> TuneResult:
    """Time each config of ``tunable`` on ``problem``; stop early at ``deadline`` (time.monotonic).

    ``time_ms(fn)`` measures one launch; ``on_config(label, ms, best_ms)`` reports progress.
    Configs the compiler or the GPU refuses (e.g. out of shared memory) are skipped (inf).
    ``done`` (label -> ms, e.g. an entry a deadline cut short) resumes a tuning: those
    configs are not timed again. ``precompile(run, configs)``, when given, compiles the
    configs about to be timed ahead (the platform's parallel compile). The result's
    ``untimed`` counts the configs of the space the deadline left without a time.
    """
    timings: dict = dict(done or {})
    configs = candidates(tunable, problem)
    todo = [config for config in configs if config_label(config) not in timings]
    run = tunable.runner(problem)
    if precompile is not None and len(todo) > 1:
        precompile(run, todo)
    for count, config in enumerate(todo):  # at least one is timed, whatever the deadline
        if deadline is not None and count and time.monotonic() > deadline:
            break
        label = config_label(config)
        try:
            ms = time_ms(lambda: run(config))
        except Exception:  # noqa: BLE001 - a config that does not compile/launch is skipped
            ms = math.inf
        timings[label] = ms
        if on_config is not None:
            on_config(label, ms, min(timings.values()))
    heuristic = tunable.heuristic(problem)
    best, best_ms = heuristic, math.inf
    for config in configs:  # the fastest config timed (now or before); ties: the first in order
        ms = timings.get(config_label(config), math.inf)
        if ms < best_ms:
            best, best_ms = config, ms
    label = config_label(heuristic)
    return TuneResult(tunable.key(problem), dict(best), timings, timings.get(label, math.inf),
                      untimed=len(untimed(tunable, problem, timings)),
                      space=len(tunable.configs(problem)), heuristic_timed=label in timings)
