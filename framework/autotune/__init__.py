"""The autotuner: a persistent per-GPU cache of the best kernel configs (``docs/autotune.md``).

At a launch site, ``choose(tunable, problem)`` returns the config to use:
the cached best for the problem's key when there is one (an in-memory dict
hit), otherwise the kernel's documented heuristic config; with
``FRAMEWORK_AUTOTUNE=1`` a miss on a GPU is tuned on the spot and stored.
``framework autotune`` warms the cache ahead of time. ``record(path)`` logs
the (op, shape, dtype) problems a model run uses, for ``framework autotune
--from PATH``.

The tuner does not query the device or time anything itself: the backend
that owns the device installs a ``Platform`` (device description, timer,
whether tuning is possible, parallel compile) with ``set_platform``;
``framework._backends.triton`` does so when it is imported. ``framework.autotune`` never imports a backend.

Process-wide state (documented caches): the loaded cache file, the active
recorder and the installed platform.
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

from .cache import ConfigCache, cache_dir, file_name
from .keys import bucket, config_label, make_key, source_hash
from .hardware import Platform
from .tuner import Tunable, TuneResult, tune

__all__ = ["cache", "cache_dir", "cache_path", "choose", "record", "recorded", "reset",
           "tuning_enabled", "export_cache", "import_cache", "Tunable", "TuneResult", "tune",
           "bucket", "make_key", "source_hash", "config_label", "ConfigCache", "Platform",
           "platform", "set_platform"]

_process = {"cache": None, "recorder": None, "platform": None}


def set_platform(new: Platform) -> Platform | None:
    """Install the device description and timer the tuner uses; returns the previous platform.

    A cache already loaded stays loaded (``reset()`` reloads it for the new device).
    """
    previous = _process["platform"]
    _process["platform"] = new
    return previous


def platform() -> Platform:
    """The installed platform (``RuntimeError`` when no backend installed one)."""
    current = _process["platform"]
    if current is None:
        raise RuntimeError("framework.autotune: no platform is installed (the cuda backend, "
                           "framework._backends.triton, installs one when it is imported)")
    return current


def cache() -> ConfigCache:
    """The cache of the current GPU (loaded on first use)."""
    if _process["cache"] is None:
        device = platform().describe()
        _process["cache"] = ConfigCache(cache_dir() / file_name(device), device)
    return _process["cache"]


def cache_path() -> Path:
    """Path of the current GPU's cache file."""
    return cache().path


def reset() -> None:
    """Forget the loaded cache (re-read ``FRAMEWORK_CACHE_DIR`` on next use) and the recorder.

    The installed platform stays."""
    _process["cache"] = None
    _process["recorder"] = None


def tuning_enabled() -> bool:
    """``FRAMEWORK_AUTOTUNE=1``: tune cache misses on first use (on a GPU)."""
    return os.environ.get("FRAMEWORK_AUTOTUNE", "0").strip().lower() in ("1", "true", "yes", "on")


def choose(tunable: Tunable, problem: dict) -> dict:
    """The config for ``problem``: cached best, else (tuned on first use if enabled) heuristic.

    The answer is remembered per problem until the cache changes, so a repeated launch
    costs one dict lookup (``FRAMEWORK_AUTOTUNE`` is read at a problem's first launch).
    """
    recorder = _process["recorder"]
    if recorder is not None:
        recorder.append({"op": tunable.name, **problem})
    current = cache()
    marker = (tunable.name, _frozen(problem))
    config = current.chosen.get(marker)
    if config is None:
        config = _resolve(current, tunable, problem)
        current.chosen[marker] = config
    return config


def _frozen(problem: dict) -> tuple:
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in problem.items())


def _resolve(current: ConfigCache, tunable: Tunable, problem: dict) -> dict:
    key = tunable.key(problem)
    entry = current.get(key)
    if entry is not None:
        if tunable.accepts(entry["best"], problem):
            return entry["best"]
        current._report(f"ignoring autotune cache entry {key} of {current.path}: {entry['best']} "
                        f"is not a config of the {tunable.name} kernel (unknown parameter or "
                        "value); using the heuristic config")
    hardware = platform()
    if tuning_enabled() and hardware.on_gpu():
        result = tune(tunable, problem, hardware.median_ms, precompile=hardware.precompile)
        current.put(result.key, result.best, result.timings, result.heuristic_ms)
        try:
            current.save()
        except OSError as exc:  # the tuned config still serves this process
            current._report(f"could not save the autotune cache {current.path}: {exc}")
        return result.best
    return tunable.heuristic(problem)


class _Recorder(list):
    """The problems seen while recording."""


@contextmanager
def record(path=None):
    """Log the tunable problems (op, shapes, dtype) launched inside the block.

    Yields the list of problems; with ``path`` they are also written there as
    JSON (deduplicated), ready for ``framework autotune --from PATH``.
    """
    previous = _process["recorder"]
    recorder = _Recorder()
    _process["recorder"] = recorder
    try:
        yield recorder
    finally:
        _process["recorder"] = previous
        if path is not None:
            Path(path).write_text(json.dumps(unique_problems(recorder), indent=1),
                                  encoding="utf-8")


def recorded(path) -> list:
    """Problems written by ``record(path)`` (``ValueError`` for anything else)."""
    try:
        problems = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8 or not JSON
        problems = None
    if not isinstance(problems, list) or not all(isinstance(p, dict) and "op" in p
                                                 for p in problems):
        raise ValueError(f"{path} is not a recorded problem list (a JSON list of objects with "
                         "an 'op' field)")
    return [_current_names(p) for p in problems]


def _current_names(problem: dict) -> dict:
    """``problem`` with a conv kernel recorded under its old name renamed."""
    from .shapes import RENAMED_CONV_KERNELS
    kernel = problem.get("kernel")
    if isinstance(kernel, str) and kernel in RENAMED_CONV_KERNELS:
        return dict(problem, kernel=RENAMED_CONV_KERNELS[kernel])
    return problem


def unique_problems(problems: list) -> list:
    """``problems`` without repeats, in first-seen order."""
    seen, unique = set(), []
    for problem in problems:
        marker = json.dumps(problem, sort_keys=True)
        if marker not in seen:
            seen.add(marker)
            unique.append(problem)
    return unique


def export_cache(path) -> int:
    """Copy the current GPU's cache to ``path``; returns the number of entries."""
    current = cache()
    target = ConfigCache(Path(path), current.device)
    target._entries = dict(current.entries)
    target.save()
    return len(current.entries)


def import_cache(path) -> int:
    """Merge entries from a cache file written for this GPU; returns how many were imported.

    Malformed entries are skipped (one warning); a file that is not a cache for this GPU
    raises ``ValueError``, one that cannot be read ``OSError``. Imported configs are checked
    against their kernel's config space at first use, like every cached config.
    """
    current = cache()
    count = current.merge_file(Path(path))
    current.save()
    return count
