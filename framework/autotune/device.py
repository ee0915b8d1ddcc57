"""What the cache file is keyed by: the GPU model, compute capability, SM count, Triton version."""
from __future__ import annotations

import functools
from importlib import metadata

# Shared memory per block (opt-in maximum) assumed where the device cannot be asked.
INTERPRETER_SHARED_MEMORY = 227 * 1024


def triton_version() -> str:
    """The installed Triton's version."""
    try:
        return metadata.version("triton")
    except metadata.PackageNotFoundError:
        return "none"


@functools.lru_cache(maxsize=None)
def describe(index: int = 0) -> dict:
    """``{"name", "capability", "sms", "triton"}`` of ``cuda:index`` (the interpreter is one device)."""
    from .._backends.triton import runtime
    if runtime.mode() != "gpu":
        return {"name": "Triton interpreter", "capability": "0.0", "sms": 1,
                "triton": triton_version()}
    major, minor = runtime.capability(index)
    return {"name": runtime.device_name(index), "capability": f"{major}.{minor}",
            "sms": _attribute("CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT", index),
            "triton": triton_version()}


@functools.lru_cache(maxsize=None)
def shared_memory_per_block(index: int = 0) -> int:
    """The most shared memory one program may use (bytes): prunes config spaces."""
    from .._backends.triton import runtime
    if runtime.mode() != "gpu":
        return INTERPRETER_SHARED_MEMORY
    return _attribute("CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN", index)


def _attribute(name: str, index: int) -> int:
    from .._backends.triton import runtime
    driver = runtime._driver()
    dev = runtime.check(driver.cuDeviceGet(index))
    return int(runtime.check(driver.cuDeviceGetAttribute(getattr(driver.CUdevice_attribute, name),
                                                          dev)))
