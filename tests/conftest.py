"""Test configuration: the ``cuda`` device runs on Triton's interpreter unless a GPU is used.

``FRAMEWORK_TRITON_INTERPRET`` defaults to 1 here, so CI machines without a
GPU run every Triton kernel; the GPU check script sets it to 0.
"""
import os
import sys

os.environ.setdefault("FRAMEWORK_TRITON_INTERPRET", "1")
sys.path.insert(0, os.path.dirname(__file__))

import pytest  # noqa: E402

import framework  # noqa: E402


@pytest.fixture(autouse=True)
def _seed():
    framework.manual_seed(0)
    yield


@pytest.fixture(autouse=True)
def _exact_float32_matmuls():
    """Oracle tests compare float32 matmuls at float32 tolerances: no TF32 on a real GPU."""
    framework.set_float32_matmul_precision("highest")
    yield
    framework.set_float32_matmul_precision("highest")


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """Every device: the NumPy backend and the Triton backend."""
    return request.param


def pytest_collection_modifyitems(config, items):
    """Keep one shard of the tests when ``FRAMEWORK_TEST_SHARD=i/n`` is set.

    ``bench/gpu_check.sh`` runs n pytest processes side by side on a GPU
    machine (no pytest-xdist there) so kernel compilation uses several cores.
    """
    shard = os.environ.get("FRAMEWORK_TEST_SHARD")
    if not shard:
        return
    index, count = (int(part) for part in shard.split("/"))
    kept = [item for i, item in enumerate(items) if i % count == index]
    deselected = [item for i, item in enumerate(items) if i % count != index]
    config.hook.pytest_deselected(items=deselected)
    items[:] = kept
