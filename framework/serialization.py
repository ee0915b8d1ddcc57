"""``framework.save`` / ``framework.load``: checkpoints in the safetensors format, never pickle.

A file holds every tensor of the saved object as a named safetensors entry;
the object's structure (dicts, lists, tuples, numbers, strings, None) lives
in the header's ``__metadata__`` as JSON under the key ``framework``, with
each tensor replaced by a reference to its entry. Loading therefore never
runs code. A plain ``{name: tensor}`` dict (a model ``state_dict``) is stored
with its own names as entry names, so the file reads in
``safetensors.torch.load_file``; and a file written by PyTorch's
``safetensors.torch.save_file`` loads as a ``{name: tensor}`` dict.

The format (https://github.com/huggingface/safetensors): an 8-byte
little-endian header length, a JSON header mapping names to ``dtype``,
``shape`` and ``data_offsets``, then the raw little-endian data. It is read
and written here directly because the ``safetensors`` package's NumPy layer
has no bfloat16.
"""
from __future__ import annotations

import json
import os
import struct
import tempfile
from collections import OrderedDict
from typing import Any

import numpy as np

from . import dtypes
from .devices import device as Device
from .ops.creation import from_numpy
from .tensor import Tensor

__all__ = ["save", "load"]

_FORMAT_KEY = "framework"
_FORMAT_VERSION = 1
_MAX_HEADER = 100 * 1024 * 1024

_TO_SAFETENSORS = {"float32": "F32", "float64": "F64", "float16": "F16", "bfloat16": "BF16",
                   "int32": "I32", "int64": "I64", "bool": "BOOL"}
# Entry types a foreign file may hold: narrower integers are widened to a framework dtype.
_FROM_SAFETENSORS = {"F32": ("float32", None), "F64": ("float64", None),
                     "F16": ("float16", None), "BF16": ("bfloat16", None),
                     "I32": ("int32", None), "I64": ("int64", None), "BOOL": ("bool", None),
                     "I8": ("int32", np.int8), "U8": ("int32", np.uint8),
                     "I16": ("int32", np.int16), "U16": ("int32", np.uint16),
                     "U32": ("int64", np.uint32)}


def save(obj: Any, f) -> None:
    """Write ``obj`` (a tensor, or nested dicts/lists/tuples of tensors and plain values) to ``f``.

    ``f`` is a path (written atomically: temp file, then rename) or a binary file object.
    """
    entries: "OrderedDict[str, np.ndarray]" = OrderedDict()
    tree = _encode(obj, entries, {}, prefix="")
    metadata = {_FORMAT_KEY: json.dumps({"version": _FORMAT_VERSION, "tree": tree})}
    blob = _serialize(entries, metadata)
    if hasattr(f, "write"):
        f.write(blob)
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    handle, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".safetensors")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(blob)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def load(f, map_location=None, weights_only: bool = True, mmap=None) -> Any:
    """Read an object written by ``save`` (or any safetensors file) from a path or file object.

    ``map_location``: a device (``'cpu'``, ``'cuda'``, ``framework.device``) for every tensor, or a
    ``{saved_device: device}`` dict. Tensors are restored on the device they were saved from
    otherwise (``cpu`` when the file does not say).
    """
    name = getattr(f, "name", None) if hasattr(f, "read") else os.fspath(f)
    if hasattr(f, "read"):
        data = f.read()
    else:
        with open(name, "rb") as handle:
            data = handle.read()
    header, payload = _parse(data, name)
    metadata = header.pop("__metadata__", None) or {}
    arrays = {key: _entry_array(key, spec, payload, name) for key, spec in header.items()}
    if _FORMAT_KEY not in metadata:
        return {key: _to_tensor(array, None, map_location) for key, array in arrays.items()}
    try:
        document = json.loads(metadata[_FORMAT_KEY])
        tree = document["tree"]
    except (ValueError, KeyError, TypeError) as exc:
        raise RuntimeError(f"framework.load: {name}: the '{_FORMAT_KEY}' metadata is corrupt "
                           f"({exc})") from None
    if document.get("version", 0) > _FORMAT_VERSION:
        raise RuntimeError(f"framework.load: {name} was written by a newer framework (format "
                           f"version {document.get('version')})")
    return _decode(tree, arrays, map_location, name)


# -- structure ----------------------------------------------------------------------------------
def _encode(obj, entries: dict, seen: dict, prefix: str):
    """JSON-able description of ``obj``; tensors are added to ``entries`` and referenced by name."""
    if isinstance(obj, Tensor):
        key = seen.get(id(obj))
        if key is None:
            key = _unique_name(prefix or "tensor", entries)
            entries[key] = _host_array(obj)
            seen[id(obj)] = key
        return {"tensor": key, "device": str(obj.device), "requires_grad": obj.requires_grad}
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
                          _encode(value, entries, seen, child)])
        kind = "odict" if isinstance(obj, OrderedDict) else "dict"
        return {kind: items}
    if isinstance(obj, (list, tuple)):
        children = [_encode(v, entries, seen, f"{prefix}.{i}" if prefix else str(i))
                    for i, v in enumerate(obj)]
        return {"tuple" if isinstance(obj, tuple) else "list": children}
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return _encode(obj.item(), entries, seen, prefix)
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


def _unique_name(name: str, entries: dict) -> str:
    candidate, i = name, 1
    while candidate in entries:
        candidate = f"{name}#{i}"
        i += 1
    return candidate


def _decode(node, arrays: dict, map_location, name: str):
    if node is None or isinstance(node, (bool, str, int, float)):
        return node
    if isinstance(node, list):
        raise RuntimeError(f"framework.load: {name}: unexpected list in the structure metadata")
    if "tensor" in node:
        if node["tensor"] not in arrays:
            raise RuntimeError(f"framework.load: {name}: entry '{node['tensor']}' is missing")
        t = _to_tensor(arrays[node["tensor"]], node.get("device"), map_location)
        return t.requires_grad_() if node.get("requires_grad") else t
    if "float" in node:
        return float(node["float"])
    if "dtype" in node:
        return _dtype_named(node["dtype"], name)
    if "dict" in node or "odict" in node:
        items = node.get("dict", node.get("odict"))
        pairs = [(_decode(k, arrays, map_location, name), _decode(v, arrays, map_location, name))
                 for k, v in items]
        return OrderedDict(pairs) if "odict" in node else dict(pairs)
    if "list" in node:
        return [_decode(v, arrays, map_location, name) for v in node["list"]]
    if "tuple" in node:
        return tuple(_decode(v, arrays, map_location, name) for v in node["tuple"])
    raise RuntimeError(f"framework.load: {name}: unknown node in the structure metadata")


# -- tensors ------------------------------------------------------------------------------------
def _host_array(t: Tensor) -> np.ndarray:
    return np.array(t.detach().cpu().numpy(), order="C", copy=True)


def _to_tensor(array: np.ndarray, saved_device, map_location) -> Tensor:
    target = _target_device(saved_device or "cpu", map_location)
    return from_numpy(array).to(target)


def _target_device(saved: str, map_location):
    if map_location is None:
        return Device(saved)
    if isinstance(map_location, dict):
        return Device(map_location.get(saved, saved))
    if callable(map_location):
        raise TypeError("framework.load: map_location must be a device or a dict of devices "
                        "(functions are not supported)")
    return Device(map_location)


# -- the safetensors container -----------------------------------------------------------------
def _serialize(entries: dict, metadata: dict) -> bytes:
    header: dict = {"__metadata__": metadata}
    chunks, offset = [], 0
    for key, array in entries.items():
        raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[key] = {"dtype": _TO_SAFETENSORS[_dtype_name(array)], "shape": list(array.shape),
                       "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def _dtype_name(array: np.ndarray) -> str:
    for dt in (dtypes.float32, dtypes.float64, dtypes.float16, dtypes.bfloat16, dtypes.int32,
               dtypes.int64, dtypes.bool):
        if array.dtype == dt.numpy:
            return dt.name
    raise TypeError(f"framework.save: unsupported array dtype {array.dtype}")


def _parse(data: bytes, name) -> tuple:
    """(header dict, payload bytes) of a safetensors file, with clear errors for bad files."""
    if data[:2] == b"PK" or data[:1] == b"\x80":
        raise RuntimeError(f"framework.load: {name} is not a safetensors file (it looks like a "
                           "pickle/zip checkpoint, e.g. from torch.save); framework reads only "
                           "safetensors, which never runs code")
    if len(data) < 8:
        raise RuntimeError(f"framework.load: {name} is not a safetensors file (too short: "
                           f"{len(data)} bytes)")
    (length,) = struct.unpack("<Q", data[:8])
    if length > _MAX_HEADER or 8 + length > len(data):
        raise RuntimeError(f"framework.load: {name} is truncated or not a safetensors file "
                           f"(header of {length} bytes, file of {len(data)})")
    try:
        header = json.loads(data[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise RuntimeError(f"framework.load: {name} is not a safetensors file (its header is not "
                           "JSON)") from None
    if not isinstance(header, dict):
        raise RuntimeError(f"framework.load: {name} is not a safetensors file (bad header)")
    return header, memoryview(data)[8 + length:]


def _entry_array(key: str, spec, payload, name) -> np.ndarray:
    try:
        dtype_code, shape, (start, end) = spec["dtype"], spec["shape"], spec["data_offsets"]
    except (TypeError, KeyError, ValueError):
        raise RuntimeError(f"framework.load: {name}: malformed header entry '{key}'") from None
    if dtype_code not in _FROM_SAFETENSORS:
        raise RuntimeError(f"framework.load: {name}: entry '{key}' has dtype {dtype_code}, which "
                           "framework does not support")
    dtype_name, raw_type = _FROM_SAFETENSORS[dtype_code]
    target = _dtype_named(dtype_name, name).numpy
    raw_type = np.dtype(raw_type) if raw_type is not None else target
    count = int(np.prod(shape, dtype=np.int64))
    if end > len(payload) or end - start != count * raw_type.itemsize or start < 0:
        raise RuntimeError(f"framework.load: {name} is truncated or corrupt (entry '{key}' needs "
                           f"bytes {start}..{end} of {len(payload)})")
    array = np.frombuffer(payload[start:end], dtype=raw_type.newbyteorder("<")).reshape(shape)
    return array.astype(target, copy=True)


def _dtype_named(dtype_name: str, name) -> dtypes.dtype:
    value = getattr(dtypes, dtype_name, None)
    if not isinstance(value, dtypes.dtype):
        raise RuntimeError(f"framework.load: {name}: unknown dtype {dtype_name!r}")
    return value
