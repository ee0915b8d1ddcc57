"""Cache keys: kernel name, a hash of the kernel source and its config space, dtypes,
layout and a shape bucket.

Shapes are bucketed so one tuning serves nearby shapes: every size is rounded
up to a power of two, at least 16 (``bucket``). A key is a readable string,
e.g. ``matmul@3f2a9c1d0b7e|bf16|NT|M=4096,N=4096,K=1024``.
"""
from __future__ import annotations

import hashlib
import inspect
import json

MIN_BUCKET = 16


def bucket(size: int) -> int:
    """``size`` rounded up to a power of two (at least ``MIN_BUCKET``)."""
    result = MIN_BUCKET
    while result < size:
        result *= 2
    return result


def source_hash(kernel, configs) -> str:
    """12 hex digits of SHA-256 over the kernel's source and its config space.

    Editing the kernel or its configs changes the hash, so stale entries are
    never used (they stay in the file until ``framework autotune --clear``).
    """
    fn = getattr(kernel, "fn", kernel)
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        text = getattr(fn, "__qualname__", repr(fn))
    digest = hashlib.sha256(text.encode("utf-8"))
    digest.update(json.dumps(configs, sort_keys=True, default=str).encode("utf-8"))
    return digest.hexdigest()[:12]


def make_key(kernel: str, kernel_hash: str, dtype: str, layout: str, shape: dict) -> str:
    """The entry key for ``shape`` (a dict of named sizes, bucketed here)."""
    sizes = ",".join(f"{name}={bucket(size)}" for name, size in shape.items())
    return f"{kernel}@{kernel_hash}|{dtype}|{layout}|{sizes}"


def config_label(config: dict) -> str:
    """A short readable name for a config, e.g. ``128x128x32 g8 w8 s3``."""
    blocks = [str(config[name]) for name in ("BLOCK_M", "BLOCK_N", "BLOCK_K") if name in config]
    parts = ["x".join(blocks)] if blocks else []
    if "GROUP_M" in config:
        parts.append(f"g{config['GROUP_M']}")
    if config.get("SPLIT_K", 1) != 1:
        parts.append(f"splitk{config['SPLIT_K']}")
    known = {"BLOCK_M", "BLOCK_N", "BLOCK_K", "GROUP_M", "SPLIT_K", "num_warps", "num_stages"}
    parts += [f"{name}={value}" for name, value in sorted(config.items()) if name not in known]
    parts.append(f"w{config.get('num_warps', 4)}")
    parts.append(f"s{config.get('num_stages', 1)}")
    return " ".join(parts)
