"""Process-wide settings that training scripts set at the top: the CPU thread count
(``set_num_threads``) and the deterministic-algorithms flag, under torch's names."""
import numpy as np
import pytest
import torch

import framework
from framework._backends.numpy import _parallel


@pytest.fixture
def restore_threads():
    before = framework.get_num_threads()
    yield
    framework.set_num_threads(before)
    _parallel.set_threads(None)  # back to the environment's count


def test_set_num_threads_sets_the_cpu_kernel_thread_count(restore_threads):
    framework.set_num_threads(2)
    assert framework.get_num_threads() == 2 and _parallel.threads() == 2
    framework.set_num_threads(1)
    assert framework.get_num_threads() == 1 and _parallel.threads() == 1
    x = framework.randn(64, 64)
    np.testing.assert_allclose((x @ x).numpy(), x.numpy() @ x.numpy(), rtol=1e-5, atol=1e-5)
    for bad in (0, -1):
        with pytest.raises(RuntimeError):
            torch.set_num_threads(bad)
        with pytest.raises(RuntimeError, match="set_num_threads"):
            framework.set_num_threads(bad)
    assert framework.get_num_interop_threads() >= 1


def test_use_deterministic_algorithms_flag_round_trip():
    assert framework.are_deterministic_algorithms_enabled() is False
    try:
        framework.use_deterministic_algorithms(True, warn_only=True)
        assert framework.are_deterministic_algorithms_enabled() is True
        assert framework.is_deterministic_algorithms_warn_only_enabled() is True
    finally:
        framework.use_deterministic_algorithms(False)
    assert framework.are_deterministic_algorithms_enabled() is False
    assert framework.is_deterministic_algorithms_warn_only_enabled() is False
    with pytest.raises(TypeError):
        framework.use_deterministic_algorithms("yes")
