"""Testing helpers (``torch.testing``-style): the float64 oracle check every library test uses.

``check_op(fw_fn, torch_fn, inputs, device=..., dtype=...)`` builds framework
tensors of ``dtype`` on ``device`` and float64 PyTorch tensors holding the
same (rounded) values, runs both functions, and compares the forward outputs
and the gradient of every floating input for a random output gradient.
PyTorch is the oracle: it is imported when a check runs, never by
``import framework``. Also: ``assert_close``, ``make_tensor``, ``make_input``,
``gradcheck``/``gradgradcheck`` (finite differences) and ``tolerance``.
The library's own tests use these (``tests/helpers.py`` re-exports them).
"""
from __future__ import annotations

import numpy as np

import framework
from . import dtypes
from .autograd.gradcheck import gradcheck, gradgradcheck

__all__ = ["check_op", "assert_close", "make_tensor", "make_input", "gradcheck", "gradgradcheck",
           "tolerance", "check_device_error", "DEVICES", "TOLERANCES"]

DEVICES = ["cpu", "cuda"]

# (atol, rtol) per dtype, for results compared against a float64 oracle
TOLERANCES = {
    dtypes.float64: (1e-9, 1e-7),
    dtypes.float32: (2e-5, 2e-4),
    dtypes.float16: (2e-3, 1e-2),
    dtypes.bfloat16: (2e-2, 5e-2),
}


def tolerance(dtype, scale: float = 1.0) -> tuple:
    """``(atol, rtol)`` for ``dtype``; ``scale`` widens atol (e.g. with a reduction's size)."""
    atol, rtol = TOLERANCES.get(dtype, (0, 0))
    return atol * scale, rtol


def make_input(array, dtype, device, requires_grad: bool = False, contiguous: bool = True):
    """A framework tensor with ``array``'s values; optionally a non-contiguous strided view."""
    array = np.asarray(array)
    if contiguous or array.ndim == 0:
        t = framework.tensor(array, dtype=dtype, device=device)
    else:
        # Put the values at every other position of a wider, transposed buffer.
        wide = np.zeros(array.shape[::-1] + (2,), dtype=array.dtype)
        wide[..., 0] = array.transpose()
        base = framework.tensor(wide, dtype=dtype, device=device)
        t = base[..., 0].permute(*reversed(range(array.ndim)))
        assert not t.is_contiguous() or array.size <= 1
    if requires_grad:
        t.requires_grad_(True)
    return t


def make_tensor(*shape, dtype=dtypes.float32, device: str = "cpu", low: float = -1.0,
                high: float = 1.0, requires_grad: bool = False, seed: int = 0):
    """A tensor of ``shape`` with uniform values in ``[low, high)`` from a seeded NumPy generator
    (``torch.testing.make_tensor``; integer dtypes get integers in the range)."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    rng = np.random.default_rng(seed)
    if dtype.is_floating_point:
        values = rng.uniform(low, high, size=shape)
    elif dtype is dtypes.bool:
        values = rng.integers(0, 2, size=shape).astype(bool)
    else:
        values = rng.integers(int(low), max(int(high), int(low) + 1), size=shape)
    return make_input(values, dtype, device, requires_grad)


def _oracle_input(array, dtype, requires_grad: bool):
    import torch
    rounded = framework.tensor(np.asarray(array), dtype=dtype).to(framework.float64).numpy()
    return torch.tensor(rounded, dtype=torch.float64 if dtype.is_floating_point else
                        _torch_int_dtype(dtype), requires_grad=requires_grad)


def _torch_int_dtype(dtype):
    import torch
    return {"int32": torch.int32, "int64": torch.int64, "bool": torch.bool, "uint8": torch.uint8,
            "int8": torch.int8, "int16": torch.int16}[dtype.name]


def _as_tuple(x) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def assert_close(actual, expected, atol: float, rtol: float, what: str = "output") -> None:
    """Compare a framework tensor with a torch tensor (values, shape, and NaN positions)."""
    got = actual.detach().cpu().to(framework.float64).numpy() if actual.dtype.is_floating_point \
        else actual.detach().cpu().numpy()
    want = expected.detach().cpu().numpy()
    assert tuple(got.shape) == tuple(want.shape), f"{what}: shape {got.shape} != {want.shape}"
    if want.dtype == np.bool_ or got.dtype == np.bool_:
        np.testing.assert_array_equal(got, want, err_msg=what)
        return
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), atol=atol,
                               rtol=rtol, equal_nan=True, err_msg=what)


def check_op(fw_fn, torch_fn, inputs, device: str = "cpu", dtype=dtypes.float32,
             grad: bool = True, contiguous: bool = True, atol: float | None = None,
             rtol: float | None = None, scale: float = 1.0, input_dtypes=None, seed: int = 0):
    """Run ``fw_fn`` and ``torch_fn`` on the same inputs; compare outputs and input gradients.

    ``inputs`` holds NumPy arrays (become tensors) and other values (passed
    as they are). Floating inputs get ``requires_grad`` when ``grad``. Returns
    the framework outputs.
    """
    default_atol, default_rtol = tolerance(dtype, scale)
    atol = default_atol if atol is None else atol
    rtol = default_rtol if rtol is None else rtol
    fw_args, torch_args, grad_pairs = [], [], []
    for i, value in enumerate(inputs):
        if not isinstance(value, np.ndarray):
            fw_args.append(value)
            torch_args.append(value)
            continue
        in_dtype = input_dtypes[i] if input_dtypes and input_dtypes[i] is not None else dtype
        wants_grad = grad and in_dtype.is_floating_point
        fw_t = make_input(value, in_dtype, device, wants_grad, contiguous)
        torch_t = _oracle_input(value, in_dtype, wants_grad)
        fw_args.append(fw_t)
        torch_args.append(torch_t)
        if wants_grad:
            grad_pairs.append((fw_t, torch_t))
    fw_out = _as_tuple(fw_fn(*fw_args))
    torch_out = _as_tuple(torch_fn(*torch_args))
    assert len(fw_out) == len(torch_out), "number of outputs differs"
    for k, (a, b) in enumerate(zip(fw_out, torch_out)):
        assert a.device == framework.device(device), f"output {k} on {a.device}, expected {device}"
        assert_close(a, b, atol, rtol, f"forward output {k}")
    if not grad_pairs:
        return fw_out
    _check_gradients(fw_out, torch_out, grad_pairs, device, atol, rtol, seed)
    return fw_out


def _check_gradients(fw_out, torch_out, grad_pairs, device, atol, rtol, seed) -> None:
    import torch
    rng = np.random.default_rng(seed)
    fw_diff, torch_diff, fw_seeds, torch_seeds = [], [], [], []
    for a, b in zip(fw_out, torch_out):
        if not (a.requires_grad and b.requires_grad):
            continue
        g = rng.standard_normal(tuple(b.shape))
        fw_seeds.append(framework.tensor(g, dtype=a.dtype, device=device))
        torch_seeds.append(torch.tensor(fw_seeds[-1].to(framework.float64).cpu().numpy()))
        fw_diff.append(a)
        torch_diff.append(b)
    if not fw_diff:
        return
    fw_grads = framework.autograd.grad(fw_diff, [p[0] for p in grad_pairs], fw_seeds,
                                       allow_unused=True)
    torch_grads = torch.autograd.grad(torch_diff, [p[1] for p in grad_pairs], torch_seeds,
                                      allow_unused=True)
    for k, (got, want) in enumerate(zip(fw_grads, torch_grads)):
        if want is None:
            assert got is None or not got.detach().cpu().to(framework.float64).numpy().any()
            continue
        assert got is not None, f"gradient of input {k} is missing"
        assert got.dtype == grad_pairs[k][0].dtype, f"gradient {k} has dtype {got.dtype}"
        assert_close(got, want, atol * 4, rtol * 2, f"gradient of input {k}")


def check_device_error(device: str, fn, match: str) -> None:
    """``fn()`` raises ``RuntimeError`` matching ``match``: on cpu at the call (PyTorch's cpu);
    on cuda not at the call but at the next host synchronization (the kernel flags the error
    on the device, like PyTorch's device-side asserts), once."""
    import pytest
    if device == "cpu":
        with pytest.raises(RuntimeError, match=match):
            fn()
        return
    fn()
    with pytest.raises(RuntimeError, match=f"device-side assert triggered: .*{match}"):
        framework.cuda.synchronize()
    framework.cuda.synchronize()  # reported once: the flag is clear again
