"""Tensor basics: creation, dtypes, devices, conversion, repr, randomness, errors."""
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import framework


def test_tensor_infers_dtypes_like_torch():
    assert framework.tensor([1, 2]).dtype == framework.int64
    assert framework.tensor([1.0, 2]).dtype == framework.float32
    assert framework.tensor([True, False]).dtype == framework.bool
    assert framework.tensor(np.zeros(2, dtype=np.float64)).dtype == framework.float64
    assert framework.tensor(3.5).shape == ()
    assert framework.tensor([[1, 2], [3, 4]], dtype=framework.float16).dtype == framework.float16


@pytest.mark.parametrize("dtype", [framework.float16, framework.bfloat16, framework.float32,
                                   framework.float64, framework.int32, framework.int64, framework.bool])
def test_round_trip_through_each_device_and_dtype(device, dtype):
    data = [[0, 1, 2], [3, 4, 5]]
    t = framework.tensor(data, dtype=dtype, device=device)
    assert t.dtype == dtype and t.device == framework.device(device)
    expected = torch.tensor(data).to(getattr(torch, dtype.name)).tolist()
    assert t.tolist() == expected
    assert t.cpu().numpy().dtype == dtype.numpy


@pytest.mark.parametrize("name", ["triu_indices", "tril_indices"])
@pytest.mark.parametrize("row,col,offset", [(3, 4, 0), (3, 4, 1), (4, 3, -1), (5, 5, 2),
                                            (0, 4, 0), (3, 4, 10), (3, 4, -10), (1, 1, 0)])
def test_triangle_indices_match_torch(device, name, row, col, offset):
    ours = getattr(framework, name)(row, col, offset, device=device)
    theirs = getattr(torch, name)(row, col, offset)
    assert ours.shape == tuple(theirs.shape) and ours.dtype is framework.int64
    assert ours.device.type == device
    np.testing.assert_array_equal(ours.cpu().numpy(), theirs.numpy())
    ours32 = getattr(framework, name)(row, col, offset, dtype=framework.int32, device=device)
    assert ours32.dtype is framework.int32
    np.testing.assert_array_equal(ours32.cpu().numpy(), theirs.numpy())


@pytest.mark.parametrize("name", ["triu_indices", "tril_indices"])
def test_triangle_indices_bad_input(name):
    fn = getattr(framework, name)
    with pytest.raises(RuntimeError, match="row must be non-negative, got-1"):
        fn(-1, 4)
    with pytest.raises(RuntimeError, match="col must be non-negative, got-4"):
        fn(3, -4)
    with pytest.raises(NotImplementedError, match=f"\"{name}\" not implemented for 'Float'"):
        fn(3, 4, dtype=framework.float32)
    with pytest.raises(TypeError, match="argument 'row' \\(position 1\\) must be int, not float"):
        fn(3.0, 4)


def test_creation_functions_match_torch(device):
    cases = [
        (framework.zeros(2, 3, device=device), torch.zeros(2, 3)),
        (framework.ones((2, 3), dtype=framework.int32, device=device), torch.ones(2, 3, dtype=torch.int32)),
        (framework.full((2,), 7.5, device=device), torch.full((2,), 7.5)),
        (framework.full((2,), 7, device=device), torch.full((2,), 7)),
        (framework.arange(5, device=device), torch.arange(5)),
        (framework.arange(1, 2, 0.25, device=device), torch.arange(1, 2, 0.25)),
        (framework.arange(10, 0, -3, device=device), torch.arange(10, 0, -3)),
        (framework.linspace(-1, 1, 5, device=device), torch.linspace(-1, 1, 5)),
        (framework.eye(3, 2, device=device), torch.eye(3, 2)),
        (framework.zeros_like(framework.ones(2, 2, device=device)), torch.zeros(2, 2)),
        (framework.full_like(framework.ones(2, device=device), 3), torch.full((2,), 3.0)),
    ]
    for ours, theirs in cases:
        assert ours.shape == tuple(theirs.shape)
        assert ours.dtype.name == str(theirs.dtype).split(".")[-1]
        np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-6)


def test_random_draws_are_reproducible_per_device_and_in_range(device):
    framework.manual_seed(123)
    a = framework.rand(1000, device=device)
    b = framework.randn(1000, device=device)
    c = framework.randint(3, 9, (1000,), device=device)
    framework.manual_seed(123)
    assert framework.rand(1000, device=device).tolist() == a.tolist()
    assert framework.randn(1000, device=device).tolist() == b.tolist()
    assert framework.randint(3, 9, (1000,), device=device).tolist() == c.tolist()
    values = a.numpy() if device == "cpu" else a.cpu().numpy()
    assert values.min() >= 0 and values.max() < 1 and abs(values.mean() - 0.5) < 0.05
    normal = b.cpu().numpy()
    assert abs(normal.mean()) < 0.15 and abs(normal.std() - 1) < 0.1
    ints = c.cpu().numpy()
    assert ints.min() == 3 and ints.max() == 8 and c.dtype == framework.int64
    assert framework.rand(4, device=device).tolist() != a[:4].tolist()


def test_conversions(device):
    t = framework.tensor([[1.5, -2.0]], device=device)
    assert t.long().tolist() == [[1, -2]]
    assert t.half().dtype == framework.float16
    assert t.to(framework.float64).dtype == framework.float64
    assert t.to("cpu").device == framework.device("cpu")
    assert t.cpu().cuda().device == framework.device("cuda:0")
    assert t.to(t) is t
    assert t[0, 0].item() == 1.5
    assert len(t) == 1 and [row.tolist() for row in t] == [[1.5, -2.0]]
    assert float(t[0, 1]) == -2.0 and int(t[0, 0]) == 1
    with pytest.raises(RuntimeError, match="cannot be converted to Scalar"):
        t.item()
    with pytest.raises(TypeError, match="0-d"):
        len(framework.tensor(1.0))


def test_numpy_shares_memory_on_cpu_and_refuses_grad_tensors():
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = framework.from_numpy(arr)
    arr[0, 0] = 42
    assert t[0, 0].item() == 42
    t.numpy()[1, 2] = -1
    assert arr[1, 2] == -1
    with pytest.raises(RuntimeError, match="detach"):
        framework.ones(2, requires_grad=True).numpy()
    with pytest.raises(TypeError, match="cpu"):
        framework.ones(2, device="cuda").numpy()


def test_repr_looks_like_torch(device):
    t = framework.tensor([1.0, 2.5], device=device, requires_grad=True)
    text = repr(t)
    assert text.startswith("tensor([1.0000, 2.5000]")
    assert "requires_grad=True" in text
    assert ("device='cuda:0'" in text) == (device == "cuda")
    assert "dtype=framework.float64" in repr(framework.zeros(1, dtype=framework.float64))
    assert repr(framework.tensor([1, 2])) == "tensor([1, 2])"


def test_requires_grad_only_for_floats():
    with pytest.raises(RuntimeError, match="floating point"):
        framework.tensor([1, 2], requires_grad=True)


def test_bad_creation_arguments_raise_clearly():
    with pytest.raises(RuntimeError, match="negative dimension"):
        framework.zeros(-1)
    with pytest.raises(TypeError, match="zeros"):
        framework.zeros(2.5)
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
        framework.zeros(2, device="tpu")
    with pytest.raises(RuntimeError, match="arange"):
        framework.arange(0, 5, -1)
    with pytest.raises(TypeError, match="tensor"):
        framework.tensor("abc")


def test_cuda_without_gpu_or_interpreter_raises_clear_error():
    code = ("import framework\n"
            "print(framework.cuda.is_available())\n"
            "try:\n    framework.zeros(1, device='cuda')\n"
            "except RuntimeError as e:\n    print('ERR', e)\n")
    env = dict(os.environ, FRAMEWORK_TRITON_INTERPRET="0", CUDA_VISIBLE_DEVICES="")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "False"
    assert "ERR CUDA is not available" in out.stdout


def test_cuda_module_reports_the_runtime():
    assert framework.cuda.is_available()
    framework.cuda.synchronize()
    name = framework.cuda.get_device_name()
    if framework.cuda.is_interpreter():
        assert framework.cuda.device_count() == 1
        assert "interpreter" in name.lower()
    else:  # the GPU check script runs the suite on a real GPU
        assert framework.cuda.device_count() >= 1
        assert name and framework.cuda.get_device_capability()[0] >= 7


def test_legacy_tensor_constructor(device):
    t = framework.Tensor([1, 2, 3], device=device)
    assert t.dtype == framework.float32 and t.tolist() == [1.0, 2.0, 3.0]
    assert framework.Tensor(2, 3).shape == (2, 3)
    assert framework.Tensor().shape == (0,)
    assert isinstance(t, framework.Tensor)


@pytest.mark.parametrize("make", [
    lambda lib: lib.tensor([float("nan"), 1.0, float("-inf")]),
    lambda lib: lib.tensor([0.0, -0.0]),
    lambda lib: lib.tensor([float("nan"), 1.5, -2.25]),
    lambda lib: lib.arange(2000),
    lambda lib: lib.arange(2000.0).reshape(40, 50),
    lambda lib: lib.tensor([[1.5, -200.25], [3.0, 4.0]]),
])
def test_repr_matches_torch_widths_modes_and_summaries(make):
    assert repr(make(framework)) == repr(make(torch))


def test_dtype_info_python_types_and_scalar_conversions(device):
    for name in ("float16", "bfloat16", "float32", "float64"):
        ours, theirs = framework.finfo(getattr(framework, name)), torch.finfo(getattr(torch, name))
        assert (ours.eps, ours.max, ours.min, ours.tiny, ours.resolution) == \
            (theirs.eps, theirs.max, theirs.min, theirs.tiny, theirs.resolution)
    assert framework.iinfo(framework.int32).max == 2 ** 31 - 1
    assert framework.zeros(2, dtype=float, device=device).dtype is framework.float64
    assert framework.tensor([1, 2], dtype=int).dtype is framework.int64
    assert framework.ones(2).to(float).dtype is framework.float64
    assert framework.arange(end=3).tolist() == [0, 1, 2]
    assert framework.tensor(range(3)).tolist() == [0, 1, 2]
    assert framework.tensor([1.5]).type("torch.DoubleTensor").dtype is framework.float64
    with pytest.raises(TypeError, match="tuple of ints"):
        framework.full(2, 1.0)
    with pytest.raises(ValueError, match="only one element"):
        int(framework.tensor([1, 2], device=device))
    with pytest.raises(TypeError, match="format string"):
        f"{framework.tensor([1.5]):.2f}"
    shape = framework.ones(2, 3).shape
    assert isinstance(shape + (1,), framework.Size) and isinstance((1,) + shape, framework.Size)


def test_pin_memory_keeps_cpu_tensors_and_refuses_cuda_ones():
    """``x.pin_memory()`` (custom prefetchers call it): framework's host memory is ordinary
    memory, so a cpu tensor comes back as it is (``is_pinned()`` False); a cuda tensor is
    refused as torch refuses it."""
    x = framework.arange(4.0)
    assert x.pin_memory() is x and x.pin_memory().cuda().tolist() == [0.0, 1.0, 2.0, 3.0]
    assert x.is_pinned() is False
    with pytest.raises(RuntimeError, match="only dense CPU tensors can be pinned"):
        x.cuda().pin_memory()
