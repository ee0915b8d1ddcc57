"""Tensor printing against PyTorch's ``repr`` for a table of cases (same values both sides)."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import framework

_DTYPES = {name: (getattr(framework, name), getattr(torch, name))
           for name in ("float32", "float64", "float16", "bfloat16", "int64", "int32", "bool")}

_rng = np.random.default_rng(0)

CASES = [
    ("scalar", np.array(3.5), "float32"),
    ("scalar int", np.array(7), "int64"),
    ("scalar tiny", np.array(1.5e-7), "float32"),
    ("vector", np.array([1.0, 2.5, -3.25]), "float32"),
    ("integral floats", np.array([1.0, 2.0, -30.0]), "float32"),
    ("integral big", np.array([1.0, 2.0e9]), "float32"),
    ("zeros", np.zeros(4), "float32"),
    ("negative zero", np.array([-0.0, 1.0]), "float32"),
    ("matrix", _rng.standard_normal((3, 4)), "float32"),
    ("3-d", _rng.standard_normal((2, 3, 4)), "float32"),
    ("4-d", _rng.standard_normal((2, 1, 2, 3)), "float64"),
    ("wide row wraps", _rng.standard_normal(30), "float32"),
    ("wide matrix wraps", _rng.standard_normal((2, 25)), "float32"),
    ("large magnitudes", np.array([1.0e9, 2.0, 3.0]), "float32"),
    ("small magnitudes", np.array([1.0e-5, 0.5]), "float32"),
    ("span over 1000", np.array([0.001, 5.0]), "float32"),
    ("nan and inf", np.array([np.nan, np.inf, -np.inf, 1.5]), "float32"),
    ("only nan", np.array([np.nan, np.nan]), "float32"),
    ("nan in integral", np.array([np.nan, 2.0, 3.0]), "float32"),
    ("inf with sci", np.array([np.inf, 1e-6]), "float32"),
    ("float64", _rng.standard_normal(5), "float64"),
    ("float16", _rng.standard_normal((2, 3)), "float16"),
    ("bfloat16", _rng.standard_normal(4), "bfloat16"),
    ("int64", np.array([[1, -200], [30, 4]]), "int64"),
    ("int32", np.array([5, 6, -7]), "int32"),
    ("bool", np.array([True, False, True]), "bool"),
    ("summarized vector", np.arange(2000, dtype=np.float64) * 0.5, "float32"),
    ("summarized matrix", _rng.standard_normal((40, 40)), "float32"),
    ("summarized 3-d", np.arange(24 * 50, dtype=np.float64).reshape(2, 12, 50), "float32"),
    ("summarized ints", np.arange(1200), "int64"),
    ("summary picks format", np.concatenate([[1.5], np.full(1500, 1e-9), [2.5]]), "float32"),
    ("empty", np.zeros(0), "float32"),
    ("empty 2-d", np.zeros((2, 0)), "float32"),
    ("empty int", np.zeros((0, 3)), "int64"),
    ("large ints", np.array([123456789012, -5]), "int64"),
]


def _pair(values, dtype_name, device="cpu"):
    fw_dtype, torch_dtype = _DTYPES[dtype_name]
    fw = framework.tensor(values, dtype=fw_dtype, device=device)
    host = fw.cpu().to(framework.float64).numpy() if fw_dtype.is_floating_point else \
        fw.cpu().numpy()
    return fw, torch.tensor(host).to(torch_dtype)


def _torch_repr(t) -> str:
    return _normal(repr(t).replace("torch.", "framework."))


def _normal(text: str) -> str:
    """Undo the one wording difference: ``dtype=framework.float64`` is 4 characters longer
    than ``dtype=torch.float64``, so PyTorch's suffix line-break rule may move it to its own
    line in one repr and not the other (and so the suffixes after it)."""
    return re.sub(r",\n *(?=(dtype|grad_fn|requires_grad)=)", ", ", text)


@pytest.mark.parametrize("label,values,dtype", CASES, ids=[c[0] for c in CASES])
def test_repr_matches_torch(label, values, dtype):
    fw, t = _pair(values, dtype)
    assert _normal(repr(fw)) == _torch_repr(t)
    assert _normal(str(fw)) == _torch_repr(t)


@pytest.mark.parametrize("label,values,dtype", CASES[:12], ids=[c[0] for c in CASES[:12]])
def test_repr_on_cuda_adds_device(label, values, dtype):
    """The data part is the CPU one; PyTorch's first suffix is device='cuda:0' (torch here is a
    CPU build, so the oracle is its CPU repr)."""
    fw, t = _pair(values, dtype, device="cuda")
    got = _normal(repr(fw))
    assert "device='cuda:0'" in got
    assert got.replace(", device='cuda:0'", "").replace(",\n       device='cuda:0'", "") == \
        _torch_repr(t)


def test_device_suffix_placement_like_torch():
    """The suffix layout rule (``_add_suffixes``) with PyTorch's own wording for cuda."""
    fw = framework.tensor(np.arange(6.0).reshape(2, 3) / 7, dtype=framework.float32,
                          device="cuda")
    assert repr(fw) == ("tensor([[0.0000, 0.1429, 0.2857],\n        [0.4286, 0.5714, 0.7143]], "
                        "device='cuda:0')")
    wide = framework.tensor(np.arange(10.0) / 7, dtype=framework.float64, device="cuda",
                            requires_grad=True)
    assert repr(wide) == (
        "tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,\n"
        "        1.2857], device='cuda:0', dtype=framework.float64, requires_grad=True)")


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_grad_fn_and_requires_grad_suffixes(device):
    values = np.array([[1.0, 2.0], [3.0, 4.5]])
    fw = framework.tensor(values, dtype=framework.float32, device=device, requires_grad=True)
    t = torch.tensor(values, dtype=torch.float32, requires_grad=True)
    cases = [(fw, t), (fw * 2, t * 2), (fw.sum(), t.sum()),
             (fw.double().mean(0), t.double().mean(0)),
             (framework.nn.functional.mse_loss(fw, fw.detach() * 0),
              torch.nn.functional.mse_loss(t, t.detach() * 0))]
    for got, want in cases:
        text = _normal(repr(got).replace(", device='cuda:0'", ""))
        assert text == _torch_repr(want)
    param = framework.nn.Parameter(framework.ones(2, device=device))
    tparam = torch.nn.Parameter(torch.ones(2))
    assert repr(param).replace(", device='cuda:0'", "") == _torch_repr(tparam)


@pytest.mark.parametrize("options", [
    {"precision": 2}, {"threshold": 5}, {"edgeitems": 1, "threshold": 5}, {"linewidth": 40},
    {"sci_mode": True}, {"sci_mode": False}, {"profile": "short"}, {"profile": "full"},
])
def test_set_printoptions_like_torch(options):
    values = [np.array([1.123456, 2000.5, -3.0, 1e-3, 5.0, 6.0, 7.25, 8.0]),
              _rng.standard_normal((4, 12)), np.arange(3000, dtype=np.float64)]
    try:
        framework.set_printoptions(**options)
        torch.set_printoptions(**options)
        assert framework.get_printoptions()["sci_mode"] == options.get("sci_mode")
        for v in values:
            fw, t = _pair(v, "float32")
            assert _normal(repr(fw)) == _torch_repr(t), options
    finally:
        framework.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


def test_printoptions_context_restores():
    fw, t = _pair(np.array([1.123456]), "float32")
    with framework.printoptions(precision=1):
        assert repr(fw) == "tensor([1.1])"
    assert repr(fw) == "tensor([1.1235])"


def test_default_dtype_changes_dtype_suffix():
    fw, t = _pair(np.array([1.5, 2.0]), "float32")
    try:
        framework.set_default_dtype(framework.float64)
        torch.set_default_dtype(torch.float64)
        assert _normal(repr(fw)) == _torch_repr(t)
        assert _normal(repr(fw.double())) == _torch_repr(t.double())
    finally:
        framework.set_default_dtype(framework.float32)
        torch.set_default_dtype(torch.float32)
