"""The float-scalar rule (docs/architecture.md, "Numerics of compiled kernels"): a GPU binder
types a Python float argument fp32 unless the parameter is annotated, so every launch of the
library's kernels under the interpreter is checked (tests/float_scalars.py)."""
import numpy as np
import pytest
import triton
import triton.language as tl
from float_scalars import FloatScalarGuard

import framework


@triton.jit
def _unannotated_kernel(out_ptr, value, BLOCK: tl.constexpr):
    tl.store(out_ptr + tl.arange(0, BLOCK), tl.full((BLOCK,), value, tl.float64))


@triton.jit
def _annotated_kernel(out_ptr, value: tl.float64, n, BLOCK: tl.constexpr):
    tl.store(out_ptr + tl.arange(0, BLOCK), tl.full((BLOCK,), value, tl.float64))


def _out():
    from framework._backends.triton.launch import pointer
    from framework._backends.triton.memory import empty
    return pointer(empty((4,), framework.float64))


@pytest.mark.skipif(not framework.cuda.is_interpreter(), reason="checks interpreter launches")
def test_the_guard_names_float_arguments_a_gpu_would_type_fp32():
    guard = FloatScalarGuard()
    assert guard.rounded_scalars(_unannotated_kernel, (_out(), 0.1), {"BLOCK": 4}) == ["value=fp32"]
    assert guard.rounded_scalars(_annotated_kernel, (_out(), 0.1, 3), {"BLOCK": 4}) == []


@pytest.mark.skipif(not framework.cuda.is_interpreter(), reason="checks interpreter launches")
def test_the_suite_refuses_a_library_kernel_launched_with_an_fp32_scalar(monkeypatch):
    monkeypatch.setattr(_unannotated_kernel.fn, "__module__", "triton_kernels._example")
    with pytest.raises(TypeError, match="value=fp32"):
        _unannotated_kernel[(1,)](_out(), 0.1, BLOCK=4)


@pytest.mark.parametrize("dtype", [framework.float64, framework.float32])
def test_float_fill_is_exact_in_the_output_type(dtype):
    """full() of a value float32 does not hold: float64 keeps it, float32 rounds it once."""
    out = framework.full((3,), 0.1, dtype=dtype, device="cuda").cpu().numpy()
    np.testing.assert_array_equal(out, np.full(3, 0.1, dtype=dtype.numpy))
