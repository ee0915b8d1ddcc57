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


def test_deterministic_debug_mode_follows_torch():
    try:
        for mode, want in (("warn", 1), ("error", 2), ("default", 0), (2, 2), (1, 1), (0, 0)):
            framework.set_deterministic_debug_mode(mode)
            torch.set_deterministic_debug_mode(mode)
            assert framework.get_deterministic_debug_mode() == want == \
                torch.get_deterministic_debug_mode()
            assert framework.are_deterministic_algorithms_enabled() == \
                torch.are_deterministic_algorithms_enabled()
        with pytest.raises(RuntimeError, match="invalid value of debug_mode"):
            framework.set_deterministic_debug_mode(3)
        with pytest.raises(RuntimeError, match="invalid value of debug_mode"):
            framework.set_deterministic_debug_mode("loud")
    finally:
        framework.set_deterministic_debug_mode(0)
        torch.set_deterministic_debug_mode(0)


def test_autocast_state_functions_round_trip():
    try:
        assert not framework.is_autocast_enabled() and not framework.is_autocast_cpu_enabled()
        assert framework.get_autocast_gpu_dtype() is framework.float16
        framework.set_autocast_cpu_dtype(framework.float16)
        framework.set_autocast_cpu_enabled(True)
        assert framework.is_autocast_enabled("cpu")
        assert framework.get_autocast_cpu_dtype() is framework.float16
        x = framework.randn(4, 4)
        assert (x @ x).dtype is framework.float16  # the ops see the state
        framework.set_autocast_enabled("cpu", False)
        assert (x @ x).dtype is framework.float32
        framework.set_autocast_enabled(True)  # the legacy one-argument form: cuda
        assert framework.is_autocast_enabled("cuda")
        assert framework.autocast_increment_nesting() == 1
        assert framework.autocast_decrement_nesting() == 0
        framework.set_autocast_cache_enabled(False)
        assert not framework.is_autocast_cache_enabled()
        framework.clear_autocast_cache()
        with pytest.raises(RuntimeError, match="not supported"):
            framework.set_autocast_dtype("cpu", framework.float32)
        with pytest.raises(RuntimeError, match="unsupported autocast device_type"):
            framework.is_autocast_enabled("tpu")
    finally:
        framework.set_autocast_enabled("cuda", False)
        framework.set_autocast_enabled("cpu", False)
        framework.set_autocast_cpu_dtype(framework.bfloat16)
        framework.set_autocast_cache_enabled(True)


def test_inference_mode_anomaly_and_other_state_queries():
    assert not framework.is_inference_mode_enabled()
    with framework.inference_mode():
        assert framework.is_inference_mode_enabled() and not framework.is_grad_enabled()
        with framework.inference_mode(False):
            assert not framework.is_inference_mode_enabled()
    assert not framework.is_inference_mode_enabled()

    @framework.inference_mode()
    def inside():
        return framework.is_inference_mode_enabled()
    assert inside() and not framework.is_inference_mode_enabled()
    try:
        framework.set_anomaly_enabled(True, check_nan=False)
        assert framework.is_anomaly_enabled() and not framework.is_anomaly_check_nan_enabled()
    finally:
        framework.set_anomaly_enabled(False)
    framework.set_warn_always(True)
    assert framework.is_warn_always_enabled()
    framework.set_warn_always(False)
    assert framework.set_flush_denormal(True) is False
    framework.init_num_threads()
    x = framework.ones(2)
    assert framework.typename(x) == "framework.FloatTensor"
    assert framework.typename(3) == torch.typename(3) == "int"
    assert framework.get_device(x) == torch.get_device(torch.ones(2)) == -1
    assert framework.GradScaler is framework.amp.GradScaler


def test_inference_mode_takes_a_mode_and_is_a_bare_decorator():
    with framework.inference_mode(False):  # (this used to be refused as a decorator argument)
        assert framework.is_grad_enabled() and not framework.is_inference_mode_enabled()
    with framework.inference_mode(mode=True):
        assert not framework.is_grad_enabled()

    @framework.inference_mode
    def bare():
        return framework.is_inference_mode_enabled(), framework.is_grad_enabled()
    assert bare() == (True, False)
