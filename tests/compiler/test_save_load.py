"""framework.jit.save / load: one safetensors file (no pickle) that runs without the model's code."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from compiler_models import on

import framework

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run_loader(model_path: str, input_path: str, output_path: str, device: str = "cpu"):
    """Load and run the saved graph in a fresh interpreter that never sees this module."""
    script = textwrap.dedent(f"""
        import sys
        import framework
        m = framework.jit.load({model_path!r}, map_location={device!r})
        x = framework.load({input_path!r}, map_location={device!r})
        out = m(x)
        framework.save([t.cpu() for t in out] if isinstance(out, tuple) else [out.cpu()],
                       {output_path!r})
        assert not any("test_save_load" in name for name in sys.modules)
        """)
    env = dict(os.environ, PYTHONPATH=ROOT)
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=str(ROOT),
                   timeout=120)
    return framework.load(output_path)


def test_save_then_load_in_a_process_without_the_class(tmp_path):
    class Tagger(framework.nn.Module):  # defined here only: the loader cannot import it
        def __init__(self):
            super().__init__()
            self.embed = framework.nn.Embedding(9, 4)
            self.gru = framework.nn.GRU(4, 5, batch_first=True)
            self.norm = framework.nn.LayerNorm(5)
            self.head = framework.nn.Linear(5, 3)
            self.register_buffer("scale", framework.tensor([0.5, 1.0, 2.0]))

        def forward(self, ids):
            out, _ = self.gru(self.embed(ids))
            return self.head(self.norm(out)).softmax(-1) * self.scale

    framework.manual_seed(0)
    model = Tagger().eval()
    ids = framework.randint(0, 9, (2, 4))
    with framework.no_grad():
        expected = model(ids)
    path = str(tmp_path / "tagger.fjit")
    framework.jit.save(framework.jit.trace(model, (ids,)), path)
    del model, Tagger
    with open(path, "rb") as f:  # a safetensors file: 8-byte header length, then JSON
        head = f.read(9)
    assert head[8:9] == b"{"
    framework.save(ids, str(tmp_path / "ids"))
    (out,) = _run_loader(path, str(tmp_path / "ids"), str(tmp_path / "out"))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6, atol=1e-7)


def test_round_trip_keeps_graph_and_symbolic_dims(tmp_path):
    module, (x,) = on("cpu", "causal_block")
    program = framework.export(module, (x,), dynamic_shapes=({0: "batch"},))
    path = str(tmp_path / "block.fjit")
    framework.jit.save(program, path)
    loaded = framework.jit.load(path)
    assert str(loaded.graph) == str(program.graph)
    x5 = framework.randn(5, 4, 8)
    with framework.no_grad():
        np.testing.assert_allclose(loaded(x5).numpy(), module(x5).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="dim 1"):
        loaded(framework.randn(5, 3, 8))


def test_constants_pool_windows_and_map_location(tmp_path):
    module, (x,) = on("cpu", "cnn")
    table = framework.tensor([1.0, -1.0, 2.0, 0.5])

    def f(inp):
        return module(inp) * table  # table: a constant of the graph

    path = str(tmp_path / "cnn.fjit")
    framework.jit.save(framework.jit.trace(f, (x,)), path)
    loaded = framework.jit.load(path, map_location="cuda")
    assert all(v.device == "cuda:0" for v in loaded.graph.inputs)
    with framework.no_grad():
        expected = f(x)
    out = loaded(x.to("cuda"))
    assert out.device.type == "cuda"
    np.testing.assert_allclose(out.cpu().numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_load_rejects_other_files(tmp_path):
    path = str(tmp_path / "weights")
    framework.save({"w": framework.ones(2)}, path)
    with pytest.raises(RuntimeError, match="not a file written by framework.jit.save"):
        framework.jit.load(path)
    with pytest.raises(TypeError, match="expected a traced module"):
        framework.jit.save(framework.nn.Linear(2, 2), path)


def test_docs_compile_example_runs(tmp_path, monkeypatch):
    """docs/compile.md's first example runs as written (in a temp folder)."""
    text = open(os.path.join(ROOT, "docs", "compile.md"), encoding="utf-8").read()
    block = text.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(block, "docs/compile.md", "exec"), namespace)
    np.testing.assert_allclose(namespace["loaded"](namespace["x"]).numpy(),
                               namespace["y"].numpy(), rtol=0, atol=0)
    assert (tmp_path / "mlp.onnx").is_file()


def test_loaded_graph_answers_the_module_methods_users_call(tmp_path):
    """``torch.jit.load(path).eval()``, ``state_dict()``, ``parameters()``, ``to()``: a loaded
    (or traced) graph answers the ``nn.Module`` methods of a torch ScriptModule."""
    module, (x,) = on("cpu", "cnn")
    traced = framework.jit.trace(module, (x,))
    assert traced.eval() is traced and traced.training is False
    path = str(tmp_path / "cnn.fjit")
    framework.jit.save(traced, path)
    loaded = framework.jit.load(path).eval()
    assert loaded.training is False
    assert list(loaded.state_dict()) == list(module.state_dict())
    assert [n for n, _ in loaded.named_parameters()] == [n for n, _ in module.named_parameters()]
    assert sum(p.numel() for p in loaded.parameters()) == sum(p.numel() for p in module.parameters())
    with pytest.warns(UserWarning, match="replays the mode it was traced in"):
        loaded.train()
    with pytest.raises(TypeError, match="dtypes are fixed"):
        loaded.to(framework.float64)
    # load_state_dict writes the weights the graph reads
    loaded.load_state_dict({k: v * 0 for k, v in loaded.state_dict().items()})
    assert float(loaded(x).abs().max()) == 0.0
    with pytest.raises(RuntimeError, match="size mismatch for fc.weight"):
        loaded.load_state_dict({"fc.weight": framework.zeros(1, 1)}, strict=False)
    # to("cuda") moves the graph and its weights (cpu() back)
    moved = framework.jit.load(path).to("cuda")
    with framework.no_grad():
        expected = module(x)
    out = moved(x.to("cuda"))
    assert out.device.type == "cuda"
    np.testing.assert_allclose(out.cpu().numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(moved.cpu()(x).numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_exported_program_state_dict_and_module():
    """As in torch: ``ep.state_dict`` is a dict, ``ep.module()`` a module with ``eval()``."""
    module, (x,) = on("cpu", "mlp")
    program = framework.export(module, (x,), dynamic_shapes=({0: "batch"},))
    assert set(program.state_dict) == set(module.state_dict())
    runner = program.module().eval()
    assert runner is program.module()
    x5 = framework.randn(5, 6)
    with framework.no_grad():
        np.testing.assert_allclose(runner(x5).numpy(), module(x5).numpy(), rtol=1e-5, atol=1e-6)


def test_freeze_wants_eval_mode_and_script_names_the_alternatives():
    """``jit.freeze`` of a trace in training mode raises torch's error (eval mode required);
    ``optimize_for_inference`` sets eval first, as torch; ``jit.script`` raises
    ``NotImplementedError`` naming trace, export and compile."""
    module, (x,) = on("cpu", "mlp")
    traced = framework.jit.trace(module, (x,))
    with pytest.warns(UserWarning):
        traced.train()
    with pytest.raises(RuntimeError, match="eval mode"):
        framework.jit.freeze(traced)
    optimized = framework.jit.optimize_for_inference(traced)
    assert not traced.training and optimized.graph.params == []
    with pytest.raises(NotImplementedError, match="framework.jit.trace"):
        framework.jit.script(module)
