"""``framework.save`` / ``framework.load``: checkpoints in the safetensors format, never pickle.

A file holds the saved object's tensor data as named safetensors entries;
the object's structure (dicts, lists, tuples, numbers, strings, None) lives
in the header's ``__metadata__`` as JSON under the key ``framework``, with
each tensor replaced by a reference to its entry. Loading therefore never
runs code. A plain ``{name: tensor}`` dict (a model ``state_dict``) is stored
with its own names as entry names, so the file reads in
``safetensors.torch.load_file``; and a file written by PyTorch's
``safetensors.torch.save_file`` loads as a ``{name: tensor}`` dict.

Tensors that share memory (a view and its base, tied weights) are saved
once, as the span of their storage they cover, and load as views of one
storage, as with ``torch.save``; a tensor is then a ``view`` of another
entry in the structure, and its name has no entry of its own.

The format (https://github.com/huggingface/safetensors): an 8-byte
little-endian header length, a JSON header mapping names to ``dtype``,
``shape`` and ``data_offsets``, then the raw little-endian data. It is read
and written here directly because the ``safetensors`` package's NumPy layer
has no bfloat16. Headers are checked as the safetensors library checks them
(contiguous, non-overlapping data offsets covering the whole data; shapes of
non-negative integers), and any malformed file raises ``RuntimeError`` naming
the file.

Saving to a path writes a temp file next to the target (``.<name>.<host>.
<pid>.<token>.partial``), syncs it and renames it over the target, so a
reader sees the old or the new file, never half of one. A save removes the
temp files that dead processes (killed mid-save) left for the same target.
"""
from __future__ import annotations

import errno
import json
import math
import os
import re
import secrets
import socket
import stat
import struct
import sys
import time
from collections import OrderedDict
from typing import Any, Callable

import numpy as np

from . import dtypes
from ._backends.array import Array, contiguous_strides
from .devices import device as Device
from .ops.creation import from_numpy
from .tensor import Tensor

__all__ = ["save", "load"]

_FORMAT_KEY = "framework"
_FORMAT_VERSION = 1  # files without shared-memory views stay readable by older loaders
_VIEWS_VERSION = 2  # files with ``view`` / ``object`` tensor nodes
_MAX_HEADER = 100_000_000  # as the safetensors library
_METADATA = "__metadata__"
_TEMP_SUFFIX = ".partial"
_STALE_TEMP_SECONDS = 24 * 3600  # a temp this old is removed whichever host wrote it

_TO_SAFETENSORS = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16",
                   "int32": "I32", "int64": "I64", "bool": "BOOL", "uint8": "U8", "int8": "I8",
                   "int16": "I16"}
# Entry types a foreign file may hold: narrower integers are widened to a framework dtype.
_FROM_SAFETENSORS = {"F32": ("float32", None), "F64": ("float64", None),
                     "F16": ("float16", None), "BF16": ("bfloat16", None),
                     "I32": ("int32", None), "I64": ("int64", None), "BOOL": ("bool", None),
                     "I8": ("int8", None), "U8": ("uint8", None),
                     "I16": ("int16", None), "U16": ("int32", np.uint16),
                     "U32": ("int64", np.uint32)}


# == save ========================================================================================
def save(obj: Any, f) -> None:
    """Write ``obj`` (a tensor, or nested dicts/lists/tuples of tensors and plain values) to ``f``.

    ``f`` is a path or a binary file object. A path is written atomically (temp file, fsync,
    rename; symlinks are followed as ``open`` follows them); an existing target that is not
    writable, or has no write permission bit at all, raises ``PermissionError`` and is kept.
    """
    entries, metadata = _plan(obj)
    header = _header_bytes(entries, metadata)
    if hasattr(f, "write"):
        _write(f, header, entries)
        return
    path = os.path.realpath(os.fspath(f))
    mode = _writable_target_mode(path)
    _remove_stale_temps(path)
    temp = _temp_path(path)
    handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0),
                     0o666)
    try:
        with os.fdopen(handle, "wb") as out:
            if mode is not None:
                os.chmod(temp, mode)
            _write(out, header, entries)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.lexists(temp):
            os.unlink(temp)
        raise
    _sync_directory(os.path.dirname(path))


class _Entry:
    """One safetensors entry to write: dtype, shape and a function giving its host data."""

    __slots__ = ("dtype", "shape", "data")

    def __init__(self, dtype: dtypes.dtype, shape: tuple, data: Callable[[], np.ndarray]):
        self.dtype, self.shape, self.data = dtype, tuple(shape), data

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


class _Occurrence:
    """A distinct tensor object met while encoding: its tree node and reserved entry name."""

    __slots__ = ("tensor", "node", "name", "uses")

    def __init__(self, tensor: Tensor, node: dict, name: str) -> None:
        self.tensor, self.node, self.name, self.uses = tensor, node, name, 1


def _plan(obj) -> tuple:
    """(entries by name, header metadata) for ``obj``: tensors sharing a storage share an entry."""
    occurrences: "OrderedDict[int, _Occurrence]" = OrderedDict()
    names = {_METADATA}
    try:
        tree = _encode(obj, occurrences, names, prefix="")
    except RecursionError:
        raise RuntimeError("framework.save: the object is nested too deeply to save") from None
    entries: "OrderedDict[str, _Entry]" = OrderedDict()
    uses_views = False
    for group in _storage_groups(occurrences.values()):
        uses_views |= _plan_group(group, entries, names)
    for number, occurrence in enumerate(o for o in occurrences.values() if o.uses > 1):
        occurrence.node["object"] = number
        uses_views = True
    version = _VIEWS_VERSION if uses_views else _FORMAT_VERSION
    try:
        document = json.dumps({"version": version, "tree": tree})
    except RecursionError:
        raise RuntimeError("framework.save: the object is nested too deeply to save") from None
    return entries, {_FORMAT_KEY: document}


def _encode(obj, occurrences: dict, names: set, prefix: str):
    """JSON-able description of ``obj``; tensors become nodes completed by ``_plan_group``."""
    if isinstance(obj, Tensor):
        occurrence = occurrences.get(id(obj))
        if occurrence is None:
            node = {"tensor": None, "device": str(obj.device), "requires_grad": obj.requires_grad}
            name = _unique_name(prefix or "tensor", names)
            occurrences[id(obj)] = occurrence = _Occurrence(obj, node, name)
        else:
            occurrence.uses += 1
        return occurrence.node
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)):
        return _number(obj)
    if isinstance(obj, dtypes.dtype):
        return {"dtype": obj.name}
    if isinstance(obj, dict):
        items = []
        for key, value in obj.items():
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise TypeError(f"framework.save: dict keys must be str, int, float, bool or "
                                f"None, got {type(key).__name__}")
            child = f"{prefix}.{key}" if prefix else str(key)
            items.append([_number(key) if isinstance(key, (int, float)) and
                          not isinstance(key, bool) else key,
                          _encode(value, occurrences, names, child)])
        kind = "odict" if isinstance(obj, OrderedDict) else "dict"
        return {kind: items}
    if isinstance(obj, (list, tuple)):
        children = [_encode(v, occurrences, names, f"{prefix}.{i}" if prefix else str(i))
                    for i, v in enumerate(obj)]
        return {"tuple" if isinstance(obj, tuple) else "list": children}
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return _encode(obj.item(), occurrences, names, prefix)
    hint = ""
    if callable(getattr(obj, "state_dict", None)):
        # Modules and optimizers: checkpoints hold data, never pickled code (by design)
        hint = (f"; save its state_dict() instead: framework.save(obj.state_dict(), f), then "
                f"obj.load_state_dict(framework.load(f)) on a new {type(obj).__name__}")
    raise TypeError(f"framework.save: cannot save an object of type {type(obj).__name__} "
                    "(supported: tensors, dicts, lists, tuples, numbers, strings, None, dtypes)"
                    + hint)


def _number(value):
    """Numbers in JSON; non-finite floats, which JSON lacks, as tagged strings."""
    if isinstance(value, float) and not np.isfinite(value):
        return {"float": repr(value)}
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return {"float": repr(float(value))} if isinstance(value, float) else value


def _unique_name(name: str, names: set) -> str:
    """``name``, or ``name#1``, ``name#2``... : never a name taken (nor ``__metadata__``)."""
    candidate, i = name, 1
    while candidate in names:
        candidate = f"{name}#{i}"
        i += 1
    names.add(candidate)
    return candidate


def _storage_groups(occurrences) -> list:
    """Occurrences grouped by the storage they view (empty tensors stay alone), in order."""
    groups: "OrderedDict[int, list]" = OrderedDict()
    for occurrence in occurrences:
        t = occurrence.tensor
        key = id(t._a.storage) if t.numel() else ("empty", id(occurrence))
        groups.setdefault(key, []).append(occurrence)
    return list(groups.values())


def _span(t: Tensor) -> tuple:
    """[first, last + 1) elements of its storage that ``t`` reads (numel > 0)."""
    start = t._a.offset
    return start, start + 1 + sum((n - 1) * s for n, s in zip(t._a.shape, t._a.strides))


def _plan_group(group: list, entries: dict, names: set) -> bool:
    """Complete the nodes of tensors sharing one storage; True when views were needed."""
    if len(group) == 1:
        occurrence = group[0]
        t = occurrence.tensor
        entries[occurrence.name] = _Entry(t.dtype, tuple(t.shape), lambda t=t: _host_array(t))
        occurrence.node["tensor"] = occurrence.name
        return False
    spans = [_span(o.tensor) for o in group]
    lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
    owner = next((o for o, span in zip(group, spans) if span == (lo, hi)
                  and o.tensor._a.is_contiguous() and o.tensor.numel() == hi - lo), None)
    first = group[0].tensor
    flat = Tensor._make(Array(first._a.storage, (hi - lo,), (1,), lo), first.device)
    name = owner.name if owner is not None else _unique_name(group[0].name + "#storage", names)
    shape = tuple(owner.tensor.shape) if owner is not None else (hi - lo,)
    entries[name] = _Entry(first.dtype, shape, lambda flat=flat: _host_array(flat))
    for occurrence in group:
        occurrence.node["tensor"] = name
        if occurrence is not owner:
            t = occurrence.tensor
            occurrence.node["view"] = [list(t._a.shape), list(t._a.strides), t._a.offset - lo]
    return True


def _host_array(t: Tensor) -> np.ndarray:
    """``t``'s data as a C-contiguous host array (no copy for a contiguous CPU tensor)."""
    return np.ascontiguousarray(t.detach()._host())


def _header_bytes(entries: dict, metadata: dict) -> bytes:
    """The length prefix and JSON header; data is laid out widest dtype first (aligned)."""
    header: dict = {_METADATA: metadata}
    offset = 0
    for name in _data_order(entries):
        entry = entries[name]
        header[name] = {"dtype": _TO_SAFETENSORS[entry.dtype.name], "shape": list(entry.shape),
                        "data_offsets": [offset, offset + entry.nbytes]}
        offset += entry.nbytes
    ordered = {_METADATA: metadata, **{name: header[name] for name in entries}}
    text = json.dumps(ordered, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    if len(text) > _MAX_HEADER:  # no reader (this one or safetensors) would open the file
        raise RuntimeError(f"framework.save: the object's structure needs a header of "
                           f"{len(text)} bytes, over the safetensors limit of {_MAX_HEADER}")
    return struct.pack("<Q", len(text)) + text


def _data_order(entries: dict) -> list:
    """Entry names in the order their data is written: by element size, widest first.

    With the data starting 8-byte aligned, every entry then starts at a multiple of its
    element size (as the safetensors library lays files out), so loads can view it in place.
    """
    return sorted(entries, key=lambda name: -entries[name].dtype.itemsize)


def _write(out, header: bytes, entries: dict) -> None:
    out.write(header)
    for name in _data_order(entries):
        array = entries[name].data().reshape(-1)
        if sys.byteorder != "little":
            array = array.astype(array.dtype.newbyteorder("<"))
        if array.size:
            out.write(memoryview(array.view(np.uint8)))


# -- writing a path safely ----------------------------------------------------------------------
def _writable_target_mode(path: str):
    """Permission bits of an existing target to keep (None when there is none yet).

    Raises as ``open(path, 'wb')`` would for a directory or an unwritable file, and also for a
    file with no write bit at all (which root could otherwise overwrite).
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if not os.access(path, os.W_OK) or not info.st_mode & 0o222:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    return stat.S_IMODE(info.st_mode)


def _host_tag() -> str:
    return re.sub(r"[^A-Za-z0-9-]", "_", socket.gethostname()) or "host"


def _temp_path(path: str) -> str:
    directory, base = os.path.split(path)
    token = secrets.token_hex(4)
    return os.path.join(directory, f".{base}.{_host_tag()}.{os.getpid()}.{token}{_TEMP_SUFFIX}")


def _remove_stale_temps(path: str) -> None:
    """Delete temp files of earlier saves to ``path`` whose process is gone (SIGKILL, crash).

    A temp names its host and process id: one from this host whose process no longer exists,
    or one older than a day from any host, is stale.
    """
    directory, base = os.path.split(path)
    prefix = f".{base}."
    try:
        names = os.listdir(directory)
    except OSError:
        return
    host = _host_tag()
    for name in names:
        if not (name.startswith(prefix) and name.endswith(_TEMP_SUFFIX)):
            continue
        parts = name[len(prefix):-len(_TEMP_SUFFIX)].split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        temp = os.path.join(directory, name)
        try:
            age = time.time() - os.lstat(temp).st_mtime
        except OSError:
            continue
        if (parts[0] == host and not _process_alive(int(parts[1]))) or age > _STALE_TEMP_SECONDS:
            try:
                os.unlink(temp)
            except OSError:
                pass


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _sync_directory(directory: str) -> None:
    """Make the rename durable (best effort: not every platform can open a directory)."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


# == load ========================================================================================
def load(f, map_location=None, weights_only: bool = True, mmap: bool | None = None) -> Any:
    """Read an object written by ``save`` (or any safetensors file) from a path or file object.

    ``map_location``: a device (``'cpu'``, ``'cuda'``, ``framework.device``) for every tensor, a
    ``{saved_device: device}`` dict, or a function ``(storage, location)`` as in torch (it gets
    the tensor's data on cpu and the saved device name; the tensor goes to the device of the
    tensor it returns, e.g. ``lambda storage, loc: storage`` keeps everything on cpu). Tensors are restored on the device they were saved from
    otherwise (``cpu`` when the file does not say). ``mmap=True`` (paths only) maps the file
    instead of reading it: CPU tensors are copy-on-write views of the mapped file, so loading
    takes no memory for tensor data until it is touched. Tensors saved sharing memory load
    as views of one storage. A malformed file raises ``RuntimeError`` naming it.
    """
    is_stream = hasattr(f, "read")
    if mmap and is_stream:
        raise ValueError("f must be a file path in order to use the mmap argument")
    name = str(getattr(f, "name", "<file object>")) if is_stream else os.fspath(f)
    if is_stream:
        source = _StreamSource(f, name)
    else:
        with open(name, "rb") as handle:
            source = _MappedSource(handle, name) if mmap else _FileSource(handle, name)
            return _load(source, name, map_location)
    return _load(source, name, map_location)


def _load(source, name: str, map_location):
    header, data_start = _read_header(source, name)
    metadata = header.pop(_METADATA, None) or {}
    _check_metadata(metadata, name)
    specs = _check_entries(header, source.size - data_start, name)
    store = _Store(source, data_start, specs, map_location, name)
    if _FORMAT_KEY not in metadata:
        return {key: store.tensor({"tensor": key}) for key in specs}
    try:
        document = json.loads(metadata[_FORMAT_KEY])
    except (ValueError, RecursionError) as exc:
        raise _corrupt(name, f"the '{_FORMAT_KEY}' metadata is not JSON ({_brief(exc)})") from None
    if not isinstance(document, dict) or "tree" not in document:
        raise _corrupt(name, f"the '{_FORMAT_KEY}' metadata has no structure tree")
    version = document.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        raise _corrupt(name, f"bad format version {version!r}")
    if version > _VIEWS_VERSION:
        raise RuntimeError(f"framework.load: {name} was written by a newer framework (format "
                           f"version {version})")
    try:
        return _decode(document["tree"], store)
    except RecursionError:
        raise _corrupt(name, "the structure metadata is nested too deeply") from None


def _corrupt(name: str, what: str) -> RuntimeError:
    return RuntimeError(f"framework.load: {name} is corrupt: {what}")


def _brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]


# -- where the bytes come from ------------------------------------------------------------------
class _FileSource:
    """A seekable binary file: each entry is read into its own buffer (peak memory ~1x data)."""

    def __init__(self, handle, name: str) -> None:
        self.handle, self.name = handle, name
        self.start = handle.tell()
        handle.seek(0, os.SEEK_END)
        self.size = handle.tell() - self.start

    def read(self, offset: int, nbytes: int) -> np.ndarray:
        """``nbytes`` bytes at ``offset`` as a fresh (aligned) uint8 array."""
        buffer = np.empty(nbytes, dtype=np.uint8)
        self.handle.seek(self.start + offset)
        view, done = memoryview(buffer), 0
        while done < nbytes:
            got = self.handle.readinto(view[done:])
            if not got:
                raise _corrupt(self.name, "the file is truncated")
            done += got
        return buffer


class _StreamSource(_FileSource):
    """A file object; one that cannot seek is read whole first."""

    def __init__(self, handle, name: str) -> None:
        seekable = getattr(handle, "seekable", lambda: False)()
        if seekable and hasattr(handle, "readinto"):
            super().__init__(handle, name)
            return
        import io
        data = handle.read()
        super().__init__(io.BytesIO(data), name)


class _MappedSource:
    """The file mapped copy-on-write (``np.memmap`` mode 'c'): reads are views, not copies."""

    def __init__(self, handle, name: str) -> None:
        self.name = name
        self.size = os.fstat(handle.fileno()).st_size
        self.map = np.memmap(handle, dtype=np.uint8, mode="c") if self.size else None

    def read(self, offset: int, nbytes: int) -> np.ndarray:
        if nbytes == 0:
            return np.empty(0, dtype=np.uint8)
        return self.map[offset:offset + nbytes]


# -- header checks ------------------------------------------------------------------------------
def _read_header(source, name: str) -> tuple:
    """(header dict, offset of the data): a safetensors header, else a clear error."""
    head = bytes(source.read(0, min(source.size, 8)))
    if len(head) < 8:
        raise _not_safetensors(name, head, f"too short: {source.size} bytes")
    (length,) = struct.unpack("<Q", head)
    if length > _MAX_HEADER or 8 + length > source.size:
        raise _not_safetensors(name, head, f"it would have a header of {length} bytes in a file "
                               f"of {source.size}; truncated?")
    text = bytes(source.read(8, length))
    try:
        header = json.loads(text.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError:
        raise _not_safetensors(name, head, "its header is not UTF-8 text") from None
    except RecursionError:
        raise _not_safetensors(name, head, "its header JSON is nested too deeply") from None
    except ValueError as exc:
        raise _not_safetensors(name, head, f"its header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise _not_safetensors(name, head, "its header is not a JSON object")
    return header, 8 + length


def _no_duplicates(pairs: list) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _not_safetensors(name: str, head: bytes, why: str) -> RuntimeError:
    """The error for a file whose header does not parse; names pickle/zip files as such."""
    hint = ""
    if head[:4] == b"PK\x03\x04" or (head[:1] == b"\x80" and head[1:2] in b"\x02\x03\x04\x05"):
        hint = (" It looks like a pickle/zip checkpoint, e.g. from torch.save; framework reads "
                "only safetensors, which never runs code.")
    return RuntimeError(f"framework.load: {name} is not a safetensors file ({why}).{hint}")


def _check_metadata(metadata, name: str) -> None:
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _corrupt(name, "'__metadata__' must map names to strings")


def _is_count(value) -> bool:
    """A JSON non-negative integer (not a bool, not a float)."""
    return type(value) is int and value >= 0


def _check_entries(header: dict, data_size: int, name: str) -> "OrderedDict":
    """``{entry: (dtype code, shape, start, end)}``, checked as the safetensors library checks.

    Every entry has a known dtype, a shape of non-negative integers and two integer data
    offsets spanning exactly its bytes; sorted by offset, the entries tile the data from 0 to
    its end with no gap and no overlap.
    """
    specs: "OrderedDict[str, tuple]" = OrderedDict()
    for key, spec in header.items():
        if not isinstance(spec, dict):
            raise _corrupt(name, f"entry '{key}' is not an object")
        code, shape, offsets = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
        if not isinstance(code, str):
            raise _corrupt(name, f"entry '{key}' has dtype {code!r}")
        if code not in _FROM_SAFETENSORS:
            raise RuntimeError(f"framework.load: {name}: entry '{key}' has dtype {code}, which "
                               "framework does not support")
        if not isinstance(shape, list) or not all(_is_count(n) for n in shape):
            raise _corrupt(name, f"entry '{key}' has shape {shape!r} (expected a list of "
                           "non-negative integers)")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(_is_count(n) for n in offsets) or offsets[1] < offsets[0]):
            raise _corrupt(name, f"entry '{key}' has data_offsets {offsets!r} (expected "
                           "[begin, end] integers with 0 <= begin <= end)")
        raw = _raw_dtype(code)
        nbytes = math.prod(shape) * raw.itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise _corrupt(name, f"entry '{key}' of shape {shape} and dtype {code} needs "
                           f"{nbytes} bytes but its data_offsets {offsets} span "
                           f"{offsets[1] - offsets[0]}")
        specs[key] = (code, tuple(shape), offsets[0], offsets[1])
    end = 0
    for key, (_, _, start, stop) in sorted(specs.items(), key=lambda item: item[1][2:]):
        if start != end:
            raise _corrupt(name, f"entry '{key}' starts at byte {start} of the data, expected "
                           f"{end} (entries must be contiguous, without gaps or overlaps)")
        end = stop
    if end != data_size:
        what = "truncated" if end > data_size else "has trailing bytes"
        raise RuntimeError(f"framework.load: {name} is truncated or corrupt (its entries cover "
                           f"{end} bytes of data, the file holds {data_size}: {what})")
    return specs


def _raw_dtype(code: str) -> np.dtype:
    dtype_name, raw_type = _FROM_SAFETENSORS[code]
    return np.dtype(raw_type) if raw_type is not None else getattr(dtypes, dtype_name).numpy


# -- building tensors ---------------------------------------------------------------------------
class _Store:
    """Entries of one file turned into tensors: one storage per entry and device, shared by
    every tensor node that refers to the entry."""

    def __init__(self, source, data_start: int, specs: dict, map_location, name: str) -> None:
        self.source, self.data_start, self.specs = source, data_start, specs
        self.map_location, self.name = map_location, name
        self.bases: dict = {}
        self.objects: dict = {}

    def tensor(self, node: dict) -> Tensor:
        key = node["tensor"]
        if not isinstance(key, str) or key not in self.specs:
            raise _corrupt(self.name, f"the structure refers to entry {key!r}, which the file "
                           "does not have")
        saved_device = node.get("device") or "cpu"
        if not isinstance(saved_device, str):
            raise _corrupt(self.name, f"bad device {saved_device!r}")
        obj = node.get("object")
        if obj is not None and not _is_count(obj):
            raise _corrupt(self.name, f"bad object number {obj!r}")
        if obj in self.objects:
            return self.objects[obj]
        if callable(self.map_location):
            device = self._device_from_function(key, saved_device)
        else:
            device = _target_device(saved_device, self.map_location)
        base = self._base(key, device)
        shape, strides, offset = self._geometry(key, node.get("view"), base.numel())
        t = Tensor._make(Array(base._a.storage, shape, strides, base._a.offset + offset),
                         base.device)
        if node.get("requires_grad") is True:
            t.requires_grad_()
        if obj is not None:
            self.objects[obj] = t
        return t

    def _device_from_function(self, key: str, saved_device: str) -> Device:
        """``map_location(storage, location)`` as torch calls it: the entry's data on cpu and
        the saved device name; the tensor goes where the returned tensor is (the saved device
        when it returns None), so ``lambda s, loc: s`` keeps cpu and ``s.cuda()`` moves."""
        placed = self.map_location(self._base(key, Device("cpu")), saved_device)
        if placed is None:
            return Device(saved_device)
        if not isinstance(placed, Tensor):
            raise TypeError("framework.load: a map_location function must return a tensor (the "
                            f"storage it was given, maybe moved) or None, got {type(placed).__name__}")
        return placed.device

    def _base(self, key: str, device) -> Tensor:
        """The whole of entry ``key``, flat, on ``device`` (made once per entry and device)."""
        base = self.bases.get((key, str(device)))
        if base is None:
            base = _flat_tensor(self._array(key)).to(device)
            self.bases[(key, str(device))] = base
        return base

    def _array(self, key: str) -> np.ndarray:
        code, shape, start, end = self.specs[key]
        dtype_name, raw_type = _FROM_SAFETENSORS[code]
        target = getattr(dtypes, dtype_name).numpy
        raw = self.source.read(self.data_start + start, end - start)
        source_type = np.dtype(raw_type or target).newbyteorder("<")
        if raw.size and raw.ctypes.data % source_type.itemsize:
            raw = raw.copy()  # a foreign file with unaligned data: viewing it would be unaligned
        array = raw.view(source_type)
        if array.dtype != target:
            array = array.astype(target)  # widened integers, or a big-endian host
        return array

    def _geometry(self, key: str, view, size: int) -> tuple:
        """(shape, strides, offset) of a tensor node within entry ``key`` of ``size`` elements."""
        if view is None:
            shape = self.specs[key][1]
            return shape, contiguous_strides(shape), 0
        if (not isinstance(view, list) or len(view) != 3 or not isinstance(view[0], list)
                or not isinstance(view[1], list) or len(view[0]) != len(view[1])
                or not all(_is_count(n) for n in view[0] + view[1]) or not _is_count(view[2])):
            raise _corrupt(self.name, f"bad view {view!r} of entry '{key}'")
        shape, strides, offset = tuple(view[0]), tuple(view[1]), view[2]
        if math.prod(shape) and offset + sum((n - 1) * s for n, s in zip(shape, strides)) >= size:
            raise _corrupt(self.name, f"view {view!r} reaches past the {size} elements of entry "
                           f"'{key}'")
        return shape, strides, offset


def _flat_tensor(array: np.ndarray) -> Tensor:
    """A CPU tensor over ``array``'s memory (no copy), flattened."""
    flat = array.reshape(-1)
    if flat.size == 0:
        return from_numpy(np.empty(0, dtype=array.dtype))
    return from_numpy(flat)


def _decode(node, store: _Store):
    if node is None or isinstance(node, (bool, str, int, float)):
        return node
    if not isinstance(node, dict):
        raise _corrupt(store.name, f"unexpected {type(node).__name__} in the structure metadata")
    if "tensor" in node:
        return store.tensor(node)
    if "float" in node:
        try:
            return float(node["float"])
        except (TypeError, ValueError):
            raise _corrupt(store.name, f"bad number {node['float']!r}") from None
    if "dtype" in node:
        return _dtype_named(node["dtype"], store.name)
    for kind in ("dict", "odict"):
        if kind in node:
            items = node[kind]
            if not isinstance(items, list) or not all(isinstance(i, list) and len(i) == 2
                                                      for i in items):
                raise _corrupt(store.name, "bad dict in the structure metadata")
            pairs = []
            for key, value in items:
                key = _decode(key, store)
                if not (key is None or isinstance(key, (str, int, float, bool))):
                    raise _corrupt(store.name, "bad dict key in the structure metadata")
                pairs.append((key, _decode(value, store)))
            return OrderedDict(pairs) if kind == "odict" else dict(pairs)
    for kind, build in (("list", list), ("tuple", tuple)):
        if kind in node:
            if not isinstance(node[kind], list):
                raise _corrupt(store.name, f"bad {kind} in the structure metadata")
            return build(_decode(v, store) for v in node[kind])
    raise _corrupt(store.name, "unknown node in the structure metadata")


def _target_device(saved: str, map_location):
    if map_location is None:
        return Device(saved)
    if isinstance(map_location, dict):
        return Device(map_location.get(saved, saved))
    return Device(map_location)


def _dtype_named(dtype_name, name) -> dtypes.dtype:
    value = getattr(dtypes, dtype_name, None) if isinstance(dtype_name, str) else None
    if not isinstance(value, dtypes.dtype):
        raise RuntimeError(f"framework.load: {name}: unknown dtype {dtype_name!r}")
    return value
