"""Custom ops (``framework.library``) and the two examples under examples/custom_ops/.

The examples are checked like library ops: against PyTorch in float64 with
``framework.testing.check_op`` on both devices (forward and backward), second
derivatives by finite differences, bad input raising clear errors; the
library's machinery (dispatch, fake checks, autograd errors, autotune keys and
cache entries, the registry) with small ops declared here.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import framework
from framework import autotune, library
from framework.ops import registry
from framework.testing import DEVICES, check_op, gradgradcheck, make_input, make_tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from examples.custom_ops import rms_norm as rms  # noqa: E402
from examples.custom_ops import swiglu as sw  # noqa: E402

RNG = np.random.default_rng(0)


@pytest.fixture
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEWORK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FRAMEWORK_AUTOTUNE", raising=False)
    autotune.reset()
    yield
    autotune.reset()


def torch_rms_norm(x, w, eps=1e-6):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def torch_swiglu(gate, up):
    return torch.nn.functional.silu(gate) * up


# The examples against PyTorch ------------------------------------------------------------------
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [framework.float32, framework.float64])
@pytest.mark.parametrize("shape", [(3, 8), (2, 3, 5), (1, 1)])
def test_rms_norm_matches_torch(device, dtype, shape):
    x, w = RNG.standard_normal(shape), RNG.standard_normal(shape[-1:])
    check_op(rms.rms_norm, torch_rms_norm, [x, w], device=device, dtype=dtype)


@pytest.mark.parametrize("device", DEVICES)
def test_rms_norm_non_contiguous_and_half_precision(device):
    x, w = RNG.standard_normal((4, 6)), RNG.standard_normal(6)
    check_op(rms.rms_norm, torch_rms_norm, [x, w], device=device, contiguous=False)
    check_op(rms.rms_norm, torch_rms_norm, [x, w], device=device, dtype=framework.bfloat16)


@pytest.mark.parametrize("device", DEVICES)
def test_rms_norm_second_derivatives(device):
    x = make_tensor(2, 3, dtype=framework.float64, device=device, requires_grad=True, seed=1)
    w = make_tensor(3, dtype=framework.float64, device=device, requires_grad=True, seed=2)
    assert gradgradcheck(lambda a, b: rms.rms_norm(a, b), (x, w))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [framework.float32, framework.float64, framework.float16])
def test_swiglu_matches_torch(device, dtype):
    gate, up = RNG.standard_normal((3, 7)) * 3, RNG.standard_normal((3, 7))
    check_op(sw.swiglu, torch_swiglu, [gate, up], device=device, dtype=dtype)
    check_op(sw.swiglu, torch_swiglu, [gate, up], device=device, dtype=dtype, contiguous=False)


@pytest.mark.parametrize("device", DEVICES)
def test_swiglu_second_derivatives_and_empty_input(device):
    gate = make_tensor(5, dtype=framework.float64, device=device, requires_grad=True, seed=3)
    up = make_tensor(5, dtype=framework.float64, device=device, requires_grad=True, seed=4)
    assert gradgradcheck(sw.swiglu, (gate, up))
    check_op(sw.swiglu, torch_swiglu, [np.zeros((0, 3)), np.zeros((0, 3))], device=device)


@pytest.mark.parametrize("device", DEVICES)
def test_fused_and_composite_backwards_agree(device):
    """The fused backward kernel (no graph) and the framework-ops backward (create_graph)."""
    x = make_tensor(3, 6, device=device, requires_grad=True, seed=5)
    w = make_tensor(6, device=device, requires_grad=True, seed=6)
    g = make_tensor(3, 6, device=device, seed=7)
    fused = framework.autograd.grad(rms.rms_norm(x, w), [x, w], g)
    composite = framework.autograd.grad(rms.rms_norm(x, w), [x, w], g, create_graph=True)
    assert composite[0].grad_fn is not None
    for a, b in zip(fused, composite):
        np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(), atol=1e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_bad_inputs_raise_clear_errors(device):
    x = make_tensor(2, 4, device=device)
    with pytest.raises(ValueError, match=r"rms_norm\(\): weight of shape \(4,\)"):
        rms.rms_norm(x, make_tensor(3, device=device))
    with pytest.raises(TypeError, match=r"weight dtype"):
        rms.rms_norm(x, make_tensor(4, dtype=framework.float64, device=device))
    with pytest.raises(TypeError, match=r"floating-point"):
        rms.rms_norm(make_tensor(2, 4, dtype=framework.int64, device=device, low=0, high=5),
                     make_tensor(4, dtype=framework.int64, device=device, low=0, high=5))
    with pytest.raises(TypeError, match=r"examples::rms_norm\(\): argument 'weight' must be Tensor"):
        rms.rms_norm(x, 1.0)
    with pytest.raises(ValueError, match="same shape"):
        sw.swiglu(x, make_tensor(4, device=device))
    other = "cuda" if device == "cpu" else "cpu"
    with pytest.raises(RuntimeError, match="same device"):
        sw.swiglu(x, make_tensor(2, 4, device=other))


# The machinery, on small ops declared here ---------------------------------------------------------
def _declare(name, **options):
    @library.custom_op(f"testlib::{name}", mutates_args=(), **options)
    def op(x: framework.Tensor, k: float = 2.0) -> framework.Tensor:
        """x * k"""

    return op


def test_dispatch_defaults_and_a_missing_device_kernel():
    op = _declare("scale_cpu_only")
    op.register_kernel("cpu", lambda x, k: x * k)
    assert op(framework.tensor([1.0, 2.0])).tolist() == [2.0, 4.0]
    assert op(framework.tensor([1.0]), k=3.0).tolist() == [3.0]
    with pytest.raises(NotImplementedError, match=r"testlib::scale_cpu_only: no kernel for device 'cuda'"):
        op(framework.tensor([1.0], device="cuda"))
    with pytest.raises(ValueError, match="device_type"):
        op.register_kernel("tpu", lambda x, k: x)


def test_outputs_are_checked_against_the_fake():
    op = _declare("bad_shape")
    op.register_kernel("cpu", lambda x, k: np.zeros(3, dtype=x.dtype))
    op.register_fake(lambda x, k: library.TensorMeta(x.shape, x.dtype))
    with pytest.raises(RuntimeError, match=r"output 0 is framework.float32 \(3,\), the fake says "
                                           r"framework.float32 \(2,\)"):
        op(framework.zeros(2))
    op.register_kernel("cpu", lambda x, k: np.zeros(2, dtype=np.float64))
    with pytest.raises(RuntimeError, match="has dtype float64, the fake says framework.float32"):
        op(framework.zeros(2))


def test_backward_without_a_formula_raises_and_non_differentiable_ops_record_nothing():
    op = _declare("no_grad_formula")
    op.register_kernel("cpu", lambda x, k: x * k)
    x = framework.ones(2, requires_grad=True)
    y = op(x)
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="no autograd formula registered"):
        y.sum().backward()
    frozen = _declare("frozen", differentiable=False)
    frozen.register_kernel("cpu", lambda x, k: x * k)
    assert not frozen(x).requires_grad
    with pytest.raises(RuntimeError, match="differentiable=False"):
        frozen.register_autograd(lambda ctx, g: (g, None))


def test_declaration_errors():
    with pytest.raises(NotImplementedError, match="functional"):
        library.custom_op("testlib::inplace", mutates_args=("x",))
    with pytest.raises(ValueError, match="namespace::op_name"):
        library.custom_op("no_namespace", mutates_args=())
    _declare("twice")
    _declare("twice")  # the same function again (a re-import) replaces it

    with pytest.raises(RuntimeError, match="already declared"):
        @library.custom_op("testlib::twice", mutates_args=())
        def other(x: framework.Tensor) -> framework.Tensor:
            """another function under the same name"""


def test_registry_lists_custom_ops_apart_from_the_library_table():
    assert library.get_op("examples::rms_norm") is rms.rms_norm_op
    table = registry.custom_ops_table()
    assert "| `examples::rms_norm` | ✓ | ✓ | ✓ | ✓ |" in table
    assert "| `examples::rms_norm_backward` | ✓ | ✓ | — | ✗ |" in table
    assert "examples::" not in registry.coverage_table()  # docs/ops.md: the library's ops only


# Autotuning -----------------------------------------------------------------------------------------
def test_autotune_key_is_shaped_like_matmuls():
    key = rms.rms_norm_op.tunable.key({"dtype": "float32", "layout": "rows", "N": 100})
    assert re.fullmatch(r"examples::rms_norm@[0-9a-f]{12}\|float32\|rows\|N=128", key), key


def test_cuda_launch_uses_the_cached_config(private_cache, monkeypatch):
    op = sw.swiglu_op
    problem = {"dtype": "float32", "layout": "flat", "n": 6}
    assert autotune.choose(op.tunable, problem) == {"BLOCK": 1024, "num_warps": 4}
    cached = {"BLOCK": 256, "num_warps": 8}
    autotune.reset()
    autotune.cache().put(op.tunable.key(problem), cached, {"x": 1.0})
    used = []
    launcher = op._kernels["cuda"]
    monkeypatch.setitem(op._kernels, "cuda",
                        lambda gate, up, config: used.append(config) or launcher(gate, up, config))
    gate, up = make_tensor(2, 3, device="cuda", seed=1), make_tensor(2, 3, device="cuda", seed=2)
    out = sw.swiglu(gate, up)
    assert used == [cached]
    np.testing.assert_allclose(out.cpu().numpy(), sw.swiglu_composite(gate, up).cpu().numpy(),
                               rtol=1e-6, atol=1e-6)


def _fake_gpu_platform(monkeypatch, median_ms) -> None:
    """The installed autotune platform, claiming a GPU and timing with ``median_ms``."""
    import dataclasses
    fake = dataclasses.replace(autotune.platform(), on_gpu=lambda: True, median_ms=median_ms)
    monkeypatch.setitem(autotune._process, "platform", fake)


def test_tuning_on_first_use_times_every_config_on_the_calls_inputs(private_cache, monkeypatch):
    """FRAMEWORK_AUTOTUNE=1 on a GPU (faked here) tunes a miss and stores the entry."""
    monkeypatch.setenv("FRAMEWORK_AUTOTUNE", "1")
    timings = iter(range(100, 0, -1))  # each later config "faster": the last one wins
    _fake_gpu_platform(monkeypatch, lambda fn: (fn(), next(timings))[1])
    x = make_tensor(2, 5, device="cuda", seed=1)
    w = make_tensor(5, device="cuda", seed=2)
    out = rms.rms_norm(x, w)
    key = rms.rms_norm_op.tunable.key({"dtype": "float32", "layout": "rows", "N": 5})
    assert autotune.cache().get(key)["best"] == {"num_warps": 8}
    np.testing.assert_allclose(out.cpu().numpy(), rms.rms_norm_composite(x, w).cpu().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_make_input_and_make_tensor_are_the_library_helpers():
    import helpers
    assert helpers.check_op is check_op and helpers.make_input is make_input
    t = make_tensor((2, 3), dtype=framework.float64, low=2.0, high=3.0)
    assert t.shape == (2, 3) and (t.numpy() >= 2.0).all() and (t.numpy() < 3.0).all()


@pytest.mark.parametrize("device", DEVICES)
def test_bench_rows_time_fused_and_composite(device):
    """The bench script runs on both devices (tiny shapes; timings are not asserted)."""
    from examples.custom_ops import bench
    rows = bench.rows_for(device, rows=2, cols=8)
    assert [(r["op"], r["pass"]) for r in rows] == [
        ("rms_norm", "forward"), ("rms_norm", "fwd+bwd"), ("swiglu", "forward"), ("swiglu", "fwd+bwd")]
    assert all(r["fused_ms"] > 0 and r["composite_ms"] > 0 for r in rows)


def test_tune_ahead_of_time_stores_the_best_config(private_cache, monkeypatch):
    """On a GPU ``op.tune`` times the whole space and stores the fastest; under the
    interpreter (whose timings say nothing) it refuses. Which config wins is then checked
    with a fake timer on both runtimes."""
    gate, up = make_tensor(2, 3, device="cuda", seed=1), make_tensor(2, 3, device="cuda", seed=2)
    problem = {"dtype": "float32", "layout": "flat", "n": 6}
    if autotune.platform().on_gpu():
        measured = sw.swiglu_op.tune(gate, up)
        space = sw.swiglu_op.tunable.configs(problem)
        assert set(measured.timings) == {autotune.config_label(c) for c in space}
        assert all(0 < ms < float("inf") for ms in measured.timings.values())
        assert measured.best in space and measured.best_ms == min(measured.timings.values())
        assert measured.timings[autotune.config_label(measured.best)] == measured.best_ms
        assert autotune.cache().get(measured.key)["best"] == measured.best
        assert autotune.choose(sw.swiglu_op.tunable, problem) == measured.best
    else:
        with pytest.raises(RuntimeError, match="tuning needs a GPU"):
            sw.swiglu_op.tune(gate, up)
    timings = iter([5.0, 1.0, 3.0, 4.0, 6.0, 7.0])  # the space in order: the second is fastest
    _fake_gpu_platform(monkeypatch, lambda fn: (fn(), next(timings))[1])
    result = sw.swiglu_op.tune(gate, up)
    assert result.best == {"BLOCK": 256, "num_warps": 8}
    assert autotune.choose(sw.swiglu_op.tunable, problem) == result.best


def test_registry_command_appends_the_custom_ops_of_named_modules():
    import os
    import subprocess
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-W", "ignore::RuntimeWarning", "-m", "framework.ops.registry",
                          "--custom", "examples.custom_ops.swiglu"], capture_output=True, text=True,
                         cwd=root, timeout=120, env={**os.environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr
    library_table = (root / "docs" / "ops.md").read_text(encoding="utf-8")
    assert out.stdout.startswith(library_table)
    assert "| `examples::swiglu` | ✓ | ✓ | ✓ | ✓ |" in out.stdout[len(library_table):]
    assert "rms_norm" not in out.stdout[len(library_table):]


def test_optional_tensor_arguments_may_be_none():
    @library.custom_op("testlib::maybe_scale", mutates_args=())
    def op(x: framework.Tensor, scale: "framework.Tensor | None" = None) -> framework.Tensor:
        """x * scale, or x"""

    op.register_kernel("cpu", lambda x, scale: x * scale if scale is not None else x.copy())
    x = framework.tensor([1.0, 2.0])
    assert op(x).tolist() == [1.0, 2.0]
    assert op(x, framework.tensor([3.0, 3.0])).tolist() == [3.0, 6.0]
    with pytest.raises(TypeError, match="argument 'scale' must be Tensor, not float"):
        op(x, 2.0)
    with pytest.raises(TypeError, match="argument 'x' must be Tensor, not NoneType"):
        op(None)
