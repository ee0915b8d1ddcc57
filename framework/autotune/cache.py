"""The persistent per-GPU config cache: one JSON file per GPU model and software stack.

Location: ``$FRAMEWORK_CACHE_DIR`` or ``$XDG_CACHE_HOME/framework/autotune``
(``~/.cache/framework/autotune``). The file name says which GPU and stack it
serves, e.g. ``NVIDIA-H100-80GB-HBM3_sm90_132sm_triton-3.6.0.json``.

File layout (readable by a person)::

    {"format": 1, "device": {"name": ..., "capability": "9.0", "sms": 132,
     "triton": "3.6.0"},
     "entries": {key: {"best": {config}, "best_ms": 0.41,
                       "timings": {"128x128x32 g8 w8 s3": 0.41, ...},
                       "heuristic_ms": 0.52, "date": "2026-11-27T15:20:00Z"}}}

Lookups are in-memory dict hits (the file is read once per process). Writes
take an exclusive lock on ``<file>.lock``, merge with what other processes
wrote meanwhile, write a temp file and rename it over the old one, so several
processes can tune at once and a reader never sees half a file. A corrupt or
foreign file is reported once (a warning) and ignored, never a crash.
"""
from __future__ import annotations

import datetime
import json
import os
import re
import tempfile
import warnings
from pathlib import Path

FORMAT = 1


def cache_dir() -> Path:
    """Directory holding the cache files."""
    explicit = os.environ.get("FRAMEWORK_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "framework" / "autotune"


def file_name(device: dict) -> str:
    """``<gpu-name>_sm<cc>_<sms>sm_triton-<version>.json`` with unsafe characters replaced."""
    name = re.sub(r"[^A-Za-z0-9.]+", "-", device["name"]).strip("-")
    capability = device["capability"].replace(".", "")
    return f"{name}_sm{capability}_{device['sms']}sm_triton-{device['triton']}.json"


class ConfigCache:
    """The entries of one cache file, loaded lazily, saved atomically."""

    def __init__(self, path: Path, device: dict) -> None:
        self.path = Path(path)
        self.device = dict(device)
        self._entries: dict | None = None
        self.problems: list = []  # what was reported about the file (corrupt, foreign)
        self.chosen: dict = {}  # autotune.choose's answers per problem; cleared on any change

    # -- reading ------------------------------------------------------------------------------
    @property
    def entries(self) -> dict:
        """``{key: entry}``, read from the file on first use."""
        if self._entries is None:
            self._entries = self._read()
        return self._entries

    def get(self, key: str) -> dict | None:
        """The entry for ``key``, or None."""
        return self.entries.get(key)

    def __len__(self) -> int:
        return len(self.entries)

    def _read(self) -> dict:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self._report(f"cannot read {self.path}: {exc}")
            return {}
        return self._parse(text, str(self.path))

    def _parse(self, text: str, origin: str) -> dict:
        try:
            document = json.loads(text)
        except ValueError as exc:
            self._report(f"ignoring corrupt autotune cache {origin}: {exc}")
            return {}
        if not isinstance(document, dict) or not isinstance(document.get("entries"), dict):
            self._report(f"ignoring autotune cache {origin}: not a framework cache file")
            return {}
        if document.get("format") != FORMAT:
            self._report(f"ignoring autotune cache {origin}: format {document.get('format')!r}, "
                         f"expected {FORMAT}")
            return {}
        if document.get("device") != self.device:
            self._report(f"ignoring autotune cache {origin}: it was written for "
                         f"{document.get('device')}, not {self.device}")
            return {}
        return {key: entry for key, entry in document["entries"].items() if _valid(entry)}

    def _report(self, message: str) -> None:
        if message not in self.problems:
            self.problems.append(message)
            warnings.warn(message, RuntimeWarning, stacklevel=4)

    # -- writing ------------------------------------------------------------------------------
    def put(self, key: str, best: dict, timings: dict, heuristic_ms: float | None = None) -> dict:
        """Record a tuning result in memory (``save()`` writes it)."""
        self.chosen.clear()
        entry = {"best": best, "best_ms": min(timings.values()), "timings": timings,
                 "heuristic_ms": heuristic_ms,
                 "date": datetime.datetime.now(datetime.timezone.utc).strftime(
                     "%Y-%m-%dT%H:%M:%SZ")}
        self.entries[key] = entry
        return entry

    def save(self) -> None:
        """Merge with the file's current content under a lock and replace it atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.chosen.clear()
        with _locked(self.path.with_suffix(self.path.suffix + ".lock")):
            on_disk = self._read_quietly()
            on_disk.update(self.entries)
            self._entries = on_disk
            document = {"format": FORMAT, "device": self.device, "entries": on_disk}
            handle, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".tmp-",
                                            suffix=".json")
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    json.dump(document, out, indent=1, sort_keys=True)
                os.replace(temp, self.path)
            except BaseException:
                if os.path.exists(temp):
                    os.unlink(temp)
                raise

    def _read_quietly(self) -> dict:
        """The file's entries now (another process may have added some); {} if unusable."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._parse(text, str(self.path))

    def merge_file(self, path: Path) -> int:
        """Import entries from another cache file for the same device; returns how many."""
        text = Path(path).read_text(encoding="utf-8")
        imported = self._parse(text, str(path))
        self.chosen.clear()
        self.entries.update(imported)
        return len(imported)

    def clear(self) -> None:
        """Delete the file and forget every entry."""
        self._entries = {}
        self.chosen.clear()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


def _valid(entry) -> bool:
    return (isinstance(entry, dict) and isinstance(entry.get("best"), dict)
            and isinstance(entry.get("timings"), dict))


class _locked:
    """An exclusive advisory lock on ``path`` (``fcntl.flock``; a no-op where unavailable)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = None

    def __enter__(self):
        self.handle = open(self.path, "a+")
        try:
            import fcntl
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX)
        except ImportError:  # not POSIX: rename is still atomic, merges may race
            pass
        return self

    def __exit__(self, *exc) -> None:
        try:
            import fcntl
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
        except ImportError:
            pass
        self.handle.close()
