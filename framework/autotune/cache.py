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
take an exclusive lock on ``<file>.lock`` (opened without following a
symlink), merge with what other processes wrote meanwhile, write a temp file
and rename it over the old one, so several processes can tune at once and a
reader never sees half a file. A corrupt (not UTF-8, not JSON) or foreign
file is reported once (a warning) and ignored, never a crash; so are
malformed entries (one warning per file). ``autotune.choose`` further checks
each config against its kernel's config space before using it.
"""
from __future__ import annotations

import datetime
import errno
import json
import os
import re
import stat
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
            return self._parse(self.path.read_bytes(), str(self.path))
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self._report(f"cannot read {self.path}: {exc}")
            return {}
        except UnusableCacheFile as exc:
            self._report(str(exc))
            return {}

    def _parse(self, data: bytes, origin: str) -> dict:
        """The valid entries of a cache file's bytes, reporting malformed ones (one warning).

        Raises ``UnusableCacheFile`` for a file that is not a cache for this device.
        """
        try:
            document = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise UnusableCacheFile(f"ignoring corrupt autotune cache {origin}: not UTF-8 text "
                                    f"({exc.reason} at byte {exc.start})") from None
        except RecursionError:
            raise UnusableCacheFile(f"ignoring corrupt autotune cache {origin}: JSON nested "
                                    "too deeply") from None
        except ValueError as exc:
            raise UnusableCacheFile(f"ignoring corrupt autotune cache {origin}: {exc}") from None
        if not isinstance(document, dict) or not isinstance(document.get("entries"), dict):
            raise UnusableCacheFile(f"ignoring autotune cache {origin}: not a framework cache "
                                    "file")
        if document.get("format") != FORMAT:
            raise UnusableCacheFile(f"ignoring autotune cache {origin}: format "
                                    f"{document.get('format')!r}, expected {FORMAT}")
        if document.get("device") != self.device:
            raise UnusableCacheFile(f"ignoring autotune cache {origin}: it was written for "
                                    f"{document.get('device')}, not {self.device}")
        entries, bad = {}, []
        for key, entry in document["entries"].items():
            problem = entry_problem(entry)
            if problem is None:
                entries[key] = entry
            else:
                bad.append(f"{key}: {problem}")
        if bad:
            self._report(f"ignoring {len(bad)} malformed entr{'y' if len(bad) == 1 else 'ies'} "
                         f"of autotune cache {origin} ({bad[0]}{', ...' if len(bad) > 1 else ''})")
        return entries

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
        with _locked(self.path.with_suffix(self.path.suffix + ".lock")):
            on_disk = self._read_quietly()
            on_disk.update(self.entries)
            self._entries = on_disk
            self.chosen.clear()
            document = {"format": FORMAT, "device": self.device, "entries": on_disk}
            import tempfile  # imported on first save: the cuda backend imports this package early
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
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return self._parse(self.path.read_bytes(), str(self.path))
            except (OSError, UnusableCacheFile):
                return {}

    def merge_file(self, path: Path) -> int:
        """Import the well-formed entries of another cache file for the same device.

        Returns how many were imported (malformed entries are skipped with one warning);
        raises ``UnusableCacheFile`` (a ``ValueError``) for a file that is not a cache for
        this device, and ``OSError`` when it cannot be read.
        """
        imported = self._parse(Path(path).read_bytes(), str(path))
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


class UnusableCacheFile(ValueError):
    """A file that is not an autotune cache for this device (corrupt, foreign, other format)."""


def entry_problem(entry) -> str | None:
    """What is wrong with a cache entry's structure, or None when it is well-formed.

    Well-formed: ``best`` is a non-empty object of integer parameters >= 1 (every kernel
    parameter is a block size, split, group size, warp or stage count), ``timings`` an object
    of numbers. Whether ``best`` is a config of its kernel is checked at lookup
    (``autotune.choose``), where the kernel is known.
    """
    if not isinstance(entry, dict):
        return "not an object"
    best, timings = entry.get("best"), entry.get("timings")
    if not isinstance(best, dict) or not best:
        return "'best' is not a config"
    for name, value in best.items():
        if type(value) is not int or value < 1:
            return f"config value {name}={value!r} is not a positive integer"
    if not isinstance(timings, dict) or not all(
            isinstance(ms, (int, float)) and not isinstance(ms, bool) for ms in timings.values()):
        return "'timings' is not an object of times"
    return None


class _locked:
    """An exclusive advisory lock on ``path`` (``fcntl.flock``; a no-op where unavailable).

    The lock file is opened without following a symlink (``O_NOFOLLOW``) and must be a
    regular file, so a link planted in a shared cache directory cannot make a save create or
    lock another file; ``OSError`` otherwise.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = None

    def __enter__(self):
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o666)
        except OSError as exc:
            if os.path.islink(self.path):
                raise OSError(exc.errno, f"refusing to use the autotune cache lock {self.path}: "
                              "it is a symbolic link") from None
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, f"refusing to use the autotune cache lock {self.path}: "
                          "it is not a regular file")
        self.handle = os.fdopen(fd, "r+")
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
