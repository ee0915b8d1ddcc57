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


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    """Every device: the NumPy backend and the Triton backend."""
    return request.param
