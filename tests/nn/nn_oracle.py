"""Compare a framework module with the same PyTorch module (float64 oracle).

``sync(fw_module, torch_module, device, dtype)`` copies torch's state dict
into the framework module (through NumPy) and makes the torch module float64;
``check_module`` then runs both on the same inputs and compares outputs and
the gradients of every input and every parameter. ``module_pair`` builds the same
layer in both libraries and ``randn`` makes seeded inputs.
"""
from __future__ import annotations

import numpy as np
import torch
from helpers import assert_close, tolerance

import framework


def module_pair(name: str, *args, **kwargs) -> tuple:
    """``(framework.nn.<name>(...), torch.nn.<name>(...))``, torch's seeded."""
    torch.manual_seed(0)
    return getattr(framework.nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


def randn(*shape, seed: int = 0) -> np.ndarray:
    """Standard normal float64 values of ``shape`` from ``seed``."""
    return np.random.default_rng(seed).standard_normal(shape)


def sync(fw_module, torch_module, device: str = "cpu", dtype=framework.float32):
    """Load ``torch_module``'s (float32-representable) state into ``fw_module`` on
    ``device``/``dtype``; ``torch_module`` becomes float64. Returns both."""
    torch_module.float()
    state = {k: framework.tensor(v.detach().cpu().numpy(), dtype=dtype if v.is_floating_point()
                                 else None, device=device)
             for k, v in torch_module.state_dict().items()}
    fw_module.to(device, dtype)
    result = fw_module.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys
    torch_module.double()
    return fw_module, torch_module


def _flatten(out) -> list:
    if out is None:
        return []
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in _flatten(item)]
    return [out]


def check_module(fw_module, torch_module, inputs, call=None, device: str = "cpu",
                 dtype=framework.float32, atol: float | None = None, rtol: float | None = None,
                 grad: bool = True, seed: int = 0, no_grad_inputs: tuple = ()):
    """Run ``call(module, *inputs)`` (default ``module(*inputs)``) on both modules; compare
    every output, and the gradients of the float inputs and of every parameter for a random
    output gradient. ``inputs``: NumPy arrays (float ones get requires_grad unless their index
    is in ``no_grad_inputs``) or other values."""
    call = call or (lambda m, *xs: m(*xs))
    default_atol, default_rtol = tolerance(dtype)
    atol = default_atol if atol is None else atol
    rtol = default_rtol if rtol is None else rtol
    fw_in, torch_in = [], []
    for i, x in enumerate(inputs):
        if isinstance(x, np.ndarray):
            floating = x.dtype.kind == "f"
            fw_x = framework.tensor(x, dtype=dtype if floating else None, device=device)
            value = fw_x.cpu().to(framework.float64).numpy() if floating else x
            torch_x = torch.tensor(value)
            if floating and grad and i not in no_grad_inputs:
                fw_x.requires_grad_(True)
                torch_x.requires_grad_(True)
            fw_in.append(fw_x)
            torch_in.append(torch_x)
        else:
            fw_in.append(x)
            torch_in.append(x)
    fw_out = _flatten(call(fw_module, *fw_in))
    torch_out = _flatten(call(torch_module, *torch_in))
    assert len(fw_out) == len(torch_out)
    for k, (a, b) in enumerate(zip(fw_out, torch_out)):
        assert a.device == framework.device(device)
        assert a.dtype == dtype, f"output {k} has dtype {a.dtype}"
        assert_close(a, b, atol, rtol, f"output {k}")
    if grad:
        _check_grads(fw_module, torch_module, fw_in, torch_in, fw_out, torch_out, device, atol,
                     rtol, seed)
    return fw_out


def _check_grads(fw_module, torch_module, fw_in, torch_in, fw_out, torch_out, device, atol,
                 rtol, seed) -> None:
    rng = np.random.default_rng(seed)
    fw_loss, torch_loss = 0, 0
    for a, b in zip(fw_out, torch_out):
        if not b.requires_grad:
            continue
        g = rng.standard_normal(tuple(b.shape))
        fw_g = framework.tensor(g, dtype=a.dtype, device=device)
        fw_loss = fw_loss + (a * fw_g).sum()
        torch_loss = torch_loss + (b * torch.tensor(fw_g.cpu().to(framework.float64).numpy())).sum()
    fw_params = dict(fw_module.named_parameters())
    torch_params = dict(torch_module.named_parameters())
    assert list(fw_params) == list(torch_params)
    fw_leaves = [x for x in fw_in if isinstance(x, framework.Tensor) and x.requires_grad]
    torch_leaves = [x for x in torch_in if isinstance(x, torch.Tensor) and x.requires_grad]
    names = [f"input {i}" for i in range(len(fw_leaves))] + list(fw_params)
    fw_grads = framework.autograd.grad(fw_loss, fw_leaves + list(fw_params.values()),
                                       allow_unused=True)
    torch_grads = torch.autograd.grad(torch_loss, torch_leaves + list(torch_params.values()),
                                      allow_unused=True)
    for name, got, want in zip(names, fw_grads, torch_grads):
        if want is None:
            assert got is None or not got.detach().cpu().to(framework.float64).numpy().any(), name
            continue
        assert got is not None, f"gradient of {name} is missing"
        assert_close(got, want, atol * 4, rtol * 2, f"gradient of {name}")
