"""PyTorch spellings: ``out=``, ``randint`` forms, default device, ``accelerator``, backend
flags, in-place operators, error types, unseeded runs; checked against torch where it runs."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import framework
from framework import backends as _backend_flags
from helpers import assert_close


def _pair(shape, device, seed=0, dtype=framework.float32):
    values = np.random.default_rng(seed).standard_normal(shape)
    fw = framework.tensor(values, dtype=dtype, device=device)
    return fw, torch.tensor(fw.cpu().numpy())


# out= -------------------------------------------------------------------------------------
OUT_CASES = [
    ("add", lambda m, a, b: (a, b), {}),
    ("sub", lambda m, a, b: (a, b), {"alpha": 2}),
    ("mul", lambda m, a, b: (a, b), {}),
    ("div", lambda m, a, b: (a, b.abs() + 1), {}),
    ("matmul", lambda m, a, b: (a, b.t()), {}),
    ("mm", lambda m, a, b: (a, b.t()), {}),
    ("bmm", lambda m, a, b: (a.unsqueeze(0), b.t().unsqueeze(0)), {}),
    ("cat", lambda m, a, b: ([a, b],), {"dim": 1}),
    ("stack", lambda m, a, b: ([a, b],), {}),
    ("sum", lambda m, a, b: (a, 1), {}),
    ("mean", lambda m, a, b: (a, 0), {}),
    ("clamp", lambda m, a, b: (a, -0.5, 0.5), {}),
    ("where", lambda m, a, b: (a > 0, a, b), {}),
    ("exp", lambda m, a, b: (a,), {}),
    ("log", lambda m, a, b: (a.abs() + 1,), {}),
    ("pow", lambda m, a, b: (a, 2), {}),
    ("maximum", lambda m, a, b: (a, b), {}),
    # the math functions of issue 11 item 2
    ("asin", lambda m, a, b: (a.tanh(),), {}),
    ("acos", lambda m, a, b: (a.tanh(),), {}),
    ("atan", lambda m, a, b: (a,), {}),
    ("sinh", lambda m, a, b: (a,), {}),
    ("cosh", lambda m, a, b: (a,), {}),
    ("asinh", lambda m, a, b: (a,), {}),
    ("acosh", lambda m, a, b: (a.abs() + 1,), {}),
    ("atanh", lambda m, a, b: (a.tanh() * 0.9,), {}),
    ("erf", lambda m, a, b: (a,), {}),
    ("erfc", lambda m, a, b: (a,), {}),
    ("erfinv", lambda m, a, b: (a.tanh() * 0.9,), {}),
    ("copysign", lambda m, a, b: (a, b), {}),
    ("logaddexp", lambda m, a, b: (a, b), {}),
    ("logaddexp2", lambda m, a, b: (a, b), {}),
    ("hypot", lambda m, a, b: (a, b), {}),
]


@pytest.mark.parametrize("name,args,kwargs", OUT_CASES, ids=[c[0] for c in OUT_CASES])
def test_out_matches_torch_and_returns_out(name, args, kwargs, device):
    (a, ta), (b, tb) = _pair((2, 3), device), _pair((2, 3), device, seed=1)
    out = framework.empty(0, device=device)
    tout = torch.empty(0)
    got = getattr(framework, name)(*args(framework, a, b), out=out, **kwargs)
    want = getattr(torch, name)(*args(torch, ta, tb), out=tout, **kwargs)
    assert got is out
    assert_close(out, want, 1e-6, 1e-5)


def test_out_tuple_for_max_min(device):
    a, ta = _pair((2, 3), device)
    values = framework.empty(0, device=device)
    indices = framework.empty(0, dtype=framework.int64, device=device)
    result = framework.max(a, 1, out=(values, indices))
    want = torch.max(ta, 1)
    assert result.values is values and result.indices is indices
    assert_close(values, want.values, 0, 0)
    assert_close(indices, want.indices, 0, 0)
    low = framework.min(a, 0, out=(framework.empty(0, device=device),
                                   framework.empty(0, dtype=framework.int64, device=device)))
    assert_close(low.values, torch.min(ta, 0).values, 0, 0)


def test_out_resizes_with_warning_and_casts(device):
    a, ta = _pair((2, 3), device)
    out = framework.empty(5, device=device)
    with pytest.warns(UserWarning, match="was resized since it had shape \\[5\\]"):
        framework.add(a, a, out=out)
    assert tuple(out.shape) == (2, 3)
    wide = framework.empty(2, 3, dtype=framework.float64, device=device)
    framework.mul(a, 2, out=wide)
    assert wide.dtype is framework.float64
    assert_close(wide, ta.double() * 2, 1e-6, 1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        framework.add(a, a, out=framework.empty(0, device=device))  # empty: no warning


def test_out_writes_through_a_view(device):
    a, ta = _pair((2, 3), device)
    buffer = framework.zeros(4, 3, device=device)
    framework.add(a, a, out=buffer[:2])
    assert_close(buffer[:2], ta * 2, 1e-6, 1e-6)
    assert_close(buffer[2:], torch.zeros(2, 3), 0, 0)


def test_out_errors_like_torch(device):
    a, _ = _pair((2, 3), device)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        framework.add(a, a, out=framework.empty(2, 3, dtype=framework.int64, device=device))
    with pytest.raises(TypeError, match="argument 'out' must be Tensor, not list"):
        framework.add(a, a, out=[1])
    x = framework.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        framework.add(x, x, out=framework.empty(2, device=device))
    with framework.no_grad():
        assert framework.add(x, x, out=framework.empty(2, device=device)).tolist() == [2, 2]
    other = "cpu" if device == "cuda" else "cuda"
    with pytest.raises(RuntimeError, match="Expected out tensor to have device"):
        framework.add(a, a, out=framework.empty(2, 3, device=other))


def test_out_is_a_declaration():
    """Any op marked ``@supports_out`` gets ``out=`` on its public name."""
    from framework.ops.out import supports_out, with_out

    @supports_out
    def twice(x):
        return x * 2
    public = with_out(twice)
    out = framework.empty(0)
    assert public(framework.ones(2), out=out) is out and out.tolist() == [2, 2]
    assert framework.add.supports_out and framework.exp.supports_out


# randint ----------------------------------------------------------------------------------
@pytest.mark.parametrize("args,kwargs,low", [
    ((10, (3,)), {}, 0), ((10,), {"size": (3,)}, 0), ((), {"high": 10, "size": (3,)}, 0),
    ((2, 10, (3,)), {}, 2), ((), {"low": 2, "high": 10, "size": (3,)}, 2),
    ((2,), {"high": 10, "size": (3,)}, 2),
])
def test_randint_forms(args, kwargs, low, device):
    want = torch.randint(*args, **kwargs)
    got = framework.randint(*args, **kwargs, device=device)
    assert tuple(got.shape) == tuple(want.shape) and got.dtype is framework.int64
    values = got.cpu().numpy()
    assert values.min() >= low and values.max() < 10
    many = framework.randint(*args[:-1] if len(args) in (2, 3) else args,
                             **{**kwargs, "size": (2000,)}, device=device).cpu().numpy()
    assert set(np.unique(many)) == set(range(low, 10))


def test_randint_missing_bound_is_a_type_error():
    with pytest.raises(TypeError):
        torch.randint(size=(3,))
    with pytest.raises(TypeError):
        framework.randint(size=(3,))


# default device ---------------------------------------------------------------------------
def test_default_device_set_and_context(device):
    assert framework.get_default_device() == framework.device("cpu")
    assert str(torch.get_default_device()) == "cpu"
    try:
        framework.set_default_device(device)
        assert framework.zeros(2).device == framework.device(device)
        assert framework.tensor([1.0]).device == framework.device(device)
        assert framework.nn.Linear(2, 3).weight.device == framework.device(device)
        assert framework.get_default_device() == framework.device(device)
    finally:
        framework.set_default_device(None)
    assert framework.ones(1).device == framework.device("cpu")
    with framework.device(device) as d:
        assert d == framework.device(device)
        assert framework.randn(2).device == framework.device(device)
        assert framework.arange(3).device == framework.device(device)
        assert framework.as_tensor(np.ones(2)).device == framework.device(device)
        with framework.device("cpu"):
            assert framework.rand(1).device == framework.device("cpu")
        assert framework.get_default_device() == framework.device(device)
    assert framework.get_default_device() == framework.device("cpu")
    # an explicit device still wins
    with framework.device(device):
        assert framework.zeros(1, device="cpu").device == framework.device("cpu")


# accelerator and backend flags ---------------------------------------------------------------
def test_accelerator():
    assert framework.accelerator.is_available() is framework.cuda.is_available()
    assert framework.accelerator.current_accelerator() == framework.device("cuda")
    assert framework.accelerator.current_accelerator(check_available=True) == (
        framework.device("cuda") if framework.cuda.is_available() else None)
    assert framework.accelerator.device_count() == (
        framework.cuda.device_count() if framework.cuda.is_available() else 0)


def test_framework_backends_shows_only_the_public_flags():
    """``framework.backends`` is PyTorch's flags namespace; the compute backends are private."""
    import framework.backends.cudnn as cudnn_module
    public = {name for name in dir(framework.backends) if not name.startswith("_")}
    assert public == {"cudnn", "mps", "cuda"}
    assert cudnn_module is framework.backends.cudnn
    assert hasattr(framework._backends, "for_device")


def test_backend_flags_names_and_defaults_match_torch():
    cudnn, mps, cuda = _backend_flags.cudnn, _backend_flags.mps, _backend_flags.cuda
    for name in ("enabled", "benchmark", "deterministic", "allow_tf32"):
        assert getattr(cudnn, name) == getattr(torch.backends.cudnn, name), name
    assert mps.is_available() is False and mps.is_built() is False
    assert cuda.is_built() is True and cudnn.is_available() is False
    assert cuda.matmul.allow_bf16_reduced_precision_reduction is True
    with cudnn.flags(enabled=False, benchmark=True):
        assert cudnn.enabled is False and cudnn.benchmark is True
    assert cudnn.enabled is True and cudnn.benchmark is False


def test_cuda_matmul_allow_tf32_is_the_matmul_precision():
    flags = _backend_flags.cuda.matmul
    try:
        flags.allow_tf32 = True
        assert framework.get_float32_matmul_precision() == "high"
        torch.backends.cuda.matmul.allow_tf32 = True
        assert torch.get_float32_matmul_precision() == "high"
        flags.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        assert framework.get_float32_matmul_precision() == torch.get_float32_matmul_precision()
        framework.set_float32_matmul_precision("medium")
        assert flags.allow_tf32 is True
    finally:
        framework.set_float32_matmul_precision("highest")
        torch.set_float32_matmul_precision("highest")


# in-place operators --------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["**=", "//=", "%=", "@="])
def test_inplace_operators_like_torch(op, device):
    fw_values, t_values = [], []
    for lib, dev in ((framework, device), (torch, "cpu")):
        x = lib.tensor([[5.0, 7.5], [-3.0, 2.0]], device=dev)
        alias = x
        other = lib.tensor([[2.0, 1.0], [2.0, 3.0]], device=dev)
        scope = {"x": x, "other": other}
        exec(f"x {op} other", scope)
        result = scope["x"]
        (fw_values if lib is framework else t_values).append(
            (result is alias, result.tolist(), alias.tolist()))
    assert fw_values == t_values


def test_grad_through_inplace_pow(device):
    x = framework.tensor([1.5, 2.0], device=device, requires_grad=True)
    tx = torch.tensor([1.5, 2.0], requires_grad=True)
    for v in (x, tx):
        y = v * 1
        y **= 3
        y.sum().backward()
    assert_close(x.grad, tx.grad, 1e-6, 1e-6)
    assert type(y.grad_fn).__name__ == "PowBackward0"


# torch.save(module) -----------------------------------------------------------------------
def test_save_module_refused_with_state_dict_hint(tmp_path, device):
    model = framework.nn.Linear(2, 3).to(device)
    with pytest.raises(TypeError, match=r"save its state_dict\(\) instead"):
        framework.save(model, tmp_path / "m.pt")
    optimizer = framework.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"state_dict\(\)"):
        framework.save({"opt": optimizer}, tmp_path / "o.pt")
    framework.save(model.state_dict(), tmp_path / "sd.pt")
    restored = framework.nn.Linear(2, 3).to(device)
    restored.load_state_dict(framework.load(tmp_path / "sd.pt"))
    assert restored.weight.tolist() == model.weight.tolist()


# error types ------------------------------------------------------------------------------
def _error(fn):
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return type(exc), str(exc)
    return None, ""


def test_meshgrid_bad_indexing_raises_like_torch(device):
    got = _error(lambda: framework.meshgrid(framework.ones(2, device=device), indexing="bad"))
    want = _error(lambda: torch.meshgrid(torch.ones(2), indexing="bad"))
    assert got[0] is want[0] is RuntimeError
    assert got[1] == want[1]


@pytest.mark.parametrize("op", ["linspace", "logspace"])
def test_bool_linspace_raises_like_torch(op, device):
    got = _error(lambda: getattr(framework, op)(0, 1, 5, dtype=framework.bool, device=device))
    want = _error(lambda: getattr(torch, op)(0, 1, 5, dtype=torch.bool))
    assert got[0] is want[0] is NotImplementedError
    assert got[1] == want[1].replace("_cpu", f"_{device}")


# unseeded runs ----------------------------------------------------------------------------
def _unseeded_draw(device: str) -> str:
    code = ("import framework; print(framework.initial_seed(), "
            f"framework.rand(4, device='{device}').tolist())")
    env = dict(os.environ, FRAMEWORK_TRITON_INTERPRET="1")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True).stdout


def test_unseeded_processes_draw_fresh_seeds(device):
    first, second = _unseeded_draw(device), _unseeded_draw(device)
    assert first != second
    assert framework.Generator().initial_seed() == torch.Generator().initial_seed()
    framework.manual_seed(3)
    a = framework.rand(3, device=device).tolist()
    framework.manual_seed(3)
    assert framework.rand(3, device=device).tolist() == a
