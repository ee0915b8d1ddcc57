"""framework.jit.trace and framework.export: capture, the printed IR, replay == eager, guards."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from compiler_models import on

import framework
from framework.compiler.runtime import code_globals, run

CPU_MODELS = ["mlp", "cnn", "causal_block", "encoder_block", "gru"]
CUDA_MODELS = ["mlp", "cnn", "causal_block", "gru"]


def _assert_same(traced, eager):
    if isinstance(traced, (tuple, list)):
        assert len(traced) == len(eager)
        for a, b in zip(traced, eager):
            _assert_same(a, b)
        return
    assert traced.shape == eager.shape and traced.dtype == eager.dtype
    assert traced.device == eager.device
    np.testing.assert_allclose(traced.detach().cpu().numpy(), eager.detach().cpu().numpy(),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("device,name", [("cpu", n) for n in CPU_MODELS]
                         + [("cuda", n) for n in CUDA_MODELS])
def test_traced_equals_eager(device, name):
    module, args = on(device, name)
    traced = framework.jit.trace(module, args)
    with framework.no_grad():
        expected = module(*args)
    _assert_same(traced(*args), expected)
    # the parameters are graph inputs named by their state_dict keys
    names = [v.name for v in traced.graph.params]
    assert set(names) == set(module.state_dict())
    # a second call with other data runs the same graph
    other = tuple(framework.randint(0, 7, a.shape, device=device) if a.dtype == framework.int64
                  else framework.randn(*a.shape, device=device) for a in args)
    with framework.no_grad():
        _assert_same(traced(*other), module(*other))


def test_graph_prints_one_node_per_line():
    module, args = on("cpu", "mlp")
    graph = framework.jit.trace(module, args).graph
    text = str(graph)
    lines = text.splitlines()
    assert lines[0].startswith("graph(%0: f32[3, 6] cpu [input0], %1: f32[8, 6] cpu [0.weight]")
    assert lines[-1].strip().startswith("return %")
    assert len(lines) == len(graph.nodes) + 2
    assert any(re.fullmatch(r"  %\d+ = relu\(%\d+, out_dtype=f32\)  # f32\[3, 8\] cpu", line)
               for line in lines), text
    assert "matmul_epilogue" in text and "permute" in text


def test_code_is_equivalent_python():
    def f(x, y):
        z = x.t()[1::2] * 2.0          # view, slice with step, scalar operand
        w = framework.stack([x, y], dim=1)  # empty + copy_ into slices
        u = x.clone()
        u[0] = 1.5                      # a constant written through a select view
        return z.sum(0), w, u, x.unsqueeze(0).expand(3, 4, 6)[-1] + y

    x, y = framework.randn(4, 6), framework.randn(4, 6)
    traced = framework.jit.trace(f, (x, y))
    _assert_same(traced(x, y), f(x, y))
    code = traced.code
    assert code.startswith("def forward(input0, input1):")
    assert "kernels.copy_(" in code and "views.slice(" in code
    namespace = code_globals(traced.graph, "cpu")
    exec(code, namespace)
    out = namespace["forward"](x._a, y._a)
    expected = run(traced.graph, [x._a, y._a])
    for a, b in zip(out, expected):
        np.testing.assert_array_equal(framework.Tensor._make(a, x.device).numpy(),
                                      framework.Tensor._make(b, x.device).numpy())


def test_views_replay_on_other_data():
    def f(x):
        a = x.permute(2, 0, 1)[:, 1:, ::2]
        b = x[..., -1].unsqueeze(-1).expand(*x.shape)
        c = x.view(framework.int32) & 0xFF
        return a.contiguous(), b * x, c

    x = framework.randn(2, 3, 4)
    traced = framework.jit.trace(f, (x,))
    assert "as_strided" in str(traced.graph)  # the dtype view
    x2 = framework.randn(2, 3, 4)
    _assert_same(traced(x2), f(x2))


def test_guards_name_what_differs():
    module, args = on("cpu", "mlp")
    traced = framework.jit.trace(module, args)
    with pytest.raises(RuntimeError, match="input 0: expected rank 2"):
        traced(framework.randn(3, 6, 1))
    with pytest.raises(RuntimeError, match="expected dtype float32 as traced, got float64"):
        traced(framework.randn(3, 6, dtype=framework.float64))
    with pytest.raises(RuntimeError, match="expected device cpu as traced, got cuda"):
        traced(framework.randn(3, 6, device="cuda"))
    with pytest.raises(RuntimeError, match="takes 1 tensor inputs, got 2"):
        traced(framework.randn(3, 6), framework.randn(3, 6))
    assert issubclass(framework.jit.GuardError, RuntimeError)


def test_a_trace_runs_at_other_sizes_by_tracing_again():
    """Like ``torch.jit.trace``'s graph, a traced program runs at another batch size (traced
    again there, its graphs kept); other ranks still raise."""
    module, args = on("cpu", "mlp")
    traced = framework.jit.trace(module, args)
    for batch in (4, 1, 4):
        x = framework.randn(batch, 6)
        _assert_same(traced(x), module(x))
    assert sorted(traced._retrace.graphs) == [((1, 6),), ((4, 6),)]
    assert traced.graph.inputs[0].shape == (3, 6)  # the first trace's graph stays
    with pytest.raises(RuntimeError, match="input 0: expected rank 2"):
        traced(framework.randn(4, 6, 1))


def test_a_saved_trace_runs_at_any_batch_where_export_makes_the_batch_symbolic(tmp_path):
    """``jit.save`` of an eval-mode trace saves a symbolic batch: the loaded graph, which has
    no program to trace again, runs at other batch sizes; a program specialized on its
    batch size is saved static, and its loaded graph names the size that differs."""
    module, args = on("cpu", "mlp")
    framework.jit.save(framework.jit.trace(module, args), tmp_path / "mlp.pt")
    loaded = framework.jit.load(tmp_path / "mlp.pt")
    for batch in (3, 7, 2):
        x = framework.randn(batch, 6)
        _assert_same(loaded(x), module(x))

    def scaled_by_batch(x):
        return x / x.shape[0] ** 0.5  # the size baked in as a float

    x = framework.randn(3, 4)
    framework.jit.save(framework.jit.trace(scaled_by_batch, (x,)), tmp_path / "scaled.pt")
    loaded = framework.jit.load(tmp_path / "scaled.pt")
    _assert_same(loaded(x), scaled_by_batch(x))
    with pytest.raises(framework.jit.GuardError, match="expected size 3 at dim 0.*got 4"):
        loaded(framework.randn(4, 4))


@pytest.mark.parametrize("read", ["item", "bool", "tolist", "numpy", "float"])
def test_python_reads_of_traced_data_warn(read):
    def f(x):
        s = x.sum()
        value = {"item": lambda: s.item(), "bool": lambda: bool(s > 0),
                 "tolist": lambda: x.tolist(), "numpy": lambda: x.numpy().sum() > 0,
                 "float": lambda: float(s)}[read]()
        return x * 2 if value else x * 3

    with pytest.warns(framework.jit.TracerWarning, match="might cause the trace to be incorrect"):
        framework.jit.trace(f, (framework.randn(2, 3),))
    assert issubclass(framework.jit.TracerWarning, Warning)


def test_library_reads_do_not_warn():
    module, args = on("cpu", "gru")  # embedding checks its indices on the host
    with warnings.catch_warnings():
        warnings.simplefilter("error", framework.jit.TracerWarning)
        framework.jit.trace(module, args)


def test_constants_and_outputs_of_non_tensors():
    table = framework.tensor([1.0, 2.0, 3.0])  # made outside: a constant of the graph

    def f(x):
        return {"y": x * table, "n": 3}

    traced = framework.jit.trace(f, (framework.randn(2, 3),))
    assert "from_numpy(array=<const f32[3]>" in str(traced.graph)
    x = framework.randn(2, 3)
    out = traced(x)
    assert out["n"] == 3
    _assert_same(out["y"], x * table)


@pytest.mark.parametrize("device,name", [("cpu", "causal_block"), ("cpu", "encoder_block"),
                                         ("cpu", "gru"), ("cpu", "cnn"), ("cuda", "mlp")])
def test_export_symbolic_batch(device, name):
    module, (x,) = on(device, name)
    batch = framework.export.Dim("batch")
    program = framework.export(module, (x,), dynamic_shapes=({0: batch},))
    assert program.graph.inputs[0].shape[0].terms == {"s0": 1}
    assert re.search(r"\[s0, ", str(program.graph))
    for size in (1, 5):
        index = framework.arange(size, device=device) % x.shape[0]
        xb = x[index]
        with framework.no_grad():
            _assert_same(program.module()(xb), module(xb))
    with pytest.raises(RuntimeError, match="dim 1"):
        program(framework.cat([x, x], dim=1))


def test_export_dict_dynamic_shapes_and_affine_sizes():
    def f(x):
        b, t, c = x.shape
        return x.reshape(b * t, c)[1:], framework.arange(b, device=x.device)

    program = framework.export(f, (framework.randn(3, 2, 4),),
                               dynamic_shapes={"x": {0: "batch"}})
    text = str(program.graph)
    assert "2*s0" in text and "2*s0-1" in text
    out, positions = program(framework.randn(6, 2, 4))
    assert out.shape == (11, 4) and positions.tolist() == list(range(6))


def test_export_with_batch_and_sequence_dynamic(tmp_path):
    """Batch and sequence both symbolic: a transformer layer reshapes to (batch * seq, d),
    a product of the two sizes (it raised 'not an affine function'); export, save/load
    and ONNX at other sizes of both."""
    import io

    import onnxruntime as ort
    _, (x,) = on("cpu", "encoder_block")
    module = on("cpu", "encoder_block")[0]
    program = framework.export(module, (x,), dynamic_shapes=({0: "batch", 1: "seq"},))
    assert "s0*s1" in str(program.graph)
    framework.jit.save(program, str(tmp_path / "layer"))
    loaded = framework.jit.load(str(tmp_path / "layer"))
    buffer = io.BytesIO()
    framework.onnx.export(module, (x,), buffer, input_names=["x"],
                          dynamic_axes={"x": {0: "batch", 1: "seq"}})
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])
    for batch, seq in ((2, 3), (5, 7)):
        xb = framework.randn(batch, seq, x.shape[2])
        with framework.no_grad():
            want = module(xb).numpy()
        for got in (program(xb).numpy(), loaded(xb).numpy(),
                    session.run(None, {"x": xb.numpy()})[0]):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)

    def square(x):  # a size that is neither affine nor a product of the two
        return framework.arange(x.shape[0] ** 2) + x.sum()

    with pytest.raises(framework.export.ExportError, match="nor one with their product"):
        framework.export(square, (framework.randn(3, 4),),
                         dynamic_shapes=({0: "batch", 1: "n"},))


def test_export_probes_within_the_dims_max():
    """A learned position table of 6 rows read for ``seq`` positions, exported at seq = 6
    with ``Dim("seq", max=6)`` (a GPT's block size): the probes go below the example
    instead of above the max, where the model cannot run."""
    framework.manual_seed(0)
    table = framework.randn(6, 4)

    def f(x):
        return x * 2 + table[: x.shape[1]]

    x = framework.randn(3, 6, 4)
    seq = framework.export.Dim("seq", min=2, max=6)
    for shapes in ({1: seq}, {0: "batch", 1: seq}):
        program = framework.export(f, (x,), dynamic_shapes=(shapes,))
        for batch, length in ((3, 2), (3, 5), (3, 6)):
            xb = framework.randn(batch, length, 4)
            np.testing.assert_allclose(program(xb).numpy(), f(xb).numpy())


def test_export_rejects_specialized_programs():
    def loop(x):  # Python control flow on the batch size: one node per row
        return framework.stack([row * i for i, row in enumerate(x)])

    with pytest.raises(framework.export.ExportError, match="structure depends on a dynamic size"):
        framework.export(loop, (framework.randn(3, 4),), dynamic_shapes=({0: "batch"},))

    def fixed(x):  # a size baked in: fails at other batch sizes
        return x + framework.ones(3, 4)

    with pytest.raises(framework.export.ExportError, match="specialized on that size"):
        framework.export(fixed, (framework.randn(3, 4),), dynamic_shapes=({0: "batch"},))

    def scale(x):  # the batch size enters as a float
        return x / x.shape[0] ** 0.5

    with pytest.raises(framework.export.ExportError, match="not an int"):
        framework.export(scale, (framework.randn(3, 4),), dynamic_shapes=({0: "batch"},))


def test_device_moves_are_recorded():
    def f(x):
        return (x.to("cuda") * 2).cpu() + 1

    x = framework.randn(2, 3)
    traced = framework.jit.trace(f, (x,))
    text = str(traced.graph)
    assert "to_numpy(%0)" in text and "mul(" in text and "cuda" in text
    x2 = framework.randn(2, 3)
    _assert_same(traced(x2), f(x2))


def test_random_kernels_warn_that_they_are_frozen():
    model = framework.nn.Sequential(framework.nn.Linear(3, 3), framework.nn.Dropout(0.5))
    with pytest.warns(framework.jit.TracerWarning, match="random kernel dropout"):
        framework.jit.trace(model, (framework.randn(2, 3),))


def test_export_needs_an_example_size_of_two_or_more():
    with pytest.raises(framework.export.ExportError, match="size 1 at dim 0"):
        framework.export(lambda x: x * 2, (framework.randn(1, 3),), dynamic_shapes=({0: "b"},))


def test_check_inputs_catch_a_trace_that_does_not_generalize():
    def f(x):
        return x * 2 if x.sum().item() > 0 else -x  # the branch is frozen

    with pytest.warns(framework.jit.TracerWarning):
        framework.jit.trace(f, (framework.ones(2),))  # the example itself replays correctly
    with pytest.warns(framework.jit.TracerWarning), \
            pytest.raises(framework.jit.TracingCheckError, match="differs from the eager call"):
        framework.jit.trace(f, (framework.ones(2),), check_inputs=[(-framework.ones(2),)])


def test_a_call_that_writes_its_input_replays_the_write():
    def f(x):
        x.mul_(2)
        return x + 1

    x = framework.ones(3)
    traced = framework.jit.trace(f, (x,))
    assert x.tolist() == [2.0, 2.0, 2.0]  # the traced call ran once
    y = framework.ones(3)
    assert traced(y).tolist() == [3.0, 3.0, 3.0] and y.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_custom_ops_are_recorded_as_one_node(device):
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from examples.custom_ops.rms_norm import rms_norm

    weight = framework.randn(8, device=device)

    def f(x):
        return rms_norm(x * 2, weight, 1e-6) + 1

    x = framework.randn(3, 8, device=device)
    traced = framework.jit.trace(f, (x,))
    assert "custom_op(name='examples::rms_norm', inputs=(%" in str(traced.graph)
    x2 = framework.randn(3, 8, device=device)
    _assert_same(traced(x2), f(x2))
    import io
    with pytest.raises(framework.onnx.UnsupportedOperatorError, match="'examples::rms_norm'"):
        framework.onnx.export(f, (x,), io.BytesIO())


def test_export_dim_hints_auto_dynamic_static():
    """``Dim.AUTO`` is symbolic where the program allows and static where not;
    ``Dim.DYNAMIC`` must be symbolic; ``Dim.STATIC`` keeps the example's size; hinted dims
    of one size share a symbol (``x + y`` exports with both batch dims as one)."""
    Dim = framework.export.Dim
    x, y = framework.randn(3, 4), framework.randn(3, 4)
    program = framework.export(lambda a, b: a + b, (x, y),
                               dynamic_shapes=({0: Dim.AUTO}, {0: Dim.AUTO, 1: Dim.STATIC}))
    wider = framework.randn(6, 4)
    _assert_same(program.module()(wider, wider), wider + wider)
    assert program.graph.inputs[0].shape[0] == program.graph.inputs[1].shape[0]

    def fixed(a):  # a size baked in: AUTO falls back to the static size, DYNAMIC refuses
        return a + framework.ones(3, 4)

    static = framework.export(fixed, (x,), dynamic_shapes=({0: Dim.AUTO},))
    assert static.graph.inputs[0].shape == (3, 4)
    _assert_same(static(x), fixed(x))
    with pytest.raises(framework.export.ExportError, match="specialized on that size"):
        framework.export(fixed, (x,), dynamic_shapes=({0: Dim.DYNAMIC},))
    with pytest.raises(framework.export.ExportError, match="Dim.AUTO"):
        framework.export(fixed, (x,), dynamic_shapes=({0: 3},))


def test_exported_program_state_dict_graph_module_and_decompositions():
    module, (x,) = on("cpu", "mlp")
    program = framework.export(module, (x,))
    assert list(program.state_dict) == list(module.state_dict())
    _assert_same(program.state_dict["0.weight"], module[0].weight)
    assert program.run_decompositions() is program
    with framework.no_grad():
        _assert_same(program.graph_module(x), module(x))


def test_data_dependent_sizes_warn_and_replay_other_counts(tmp_path):
    """A trace of ``x[x > 0]`` warns that the size depends on the data; called with data
    that gives another count it runs the program (its replay's views keep the traced count);
    a loaded graph raises a GuardError naming nonzero instead of failing inside a view."""
    def f(x):
        return framework.nn.functional.softmax(x[x > 0] * 2, dim=0)

    x = framework.tensor([1.0, -1.0, 2.0, 3.0])
    with pytest.warns(framework.jit.TracerWarning, match=r"nonzero\(\).*size \[3, 1\]"):
        traced = framework.jit.trace(f, (x,))
    for other in (x, framework.tensor([-1.0, -1.0, 2.0, -3.0]),
                  framework.tensor([1.0, 2.0, -1.0, 3.0, 4.0]),  # another size: traced again
                  framework.tensor([-1.0, 2.0, -1.0, -3.0, 4.0])):  # that graph, other count
        _assert_same(traced(other), f(other))
    path = str(tmp_path / "masked.fjit")
    framework.jit.save(traced, path)
    loaded = framework.jit.load(path)
    _assert_same(loaded(x), f(x))
    with pytest.raises(framework.jit.GuardError, match=r"nonzero\(\) gave size \[3, 1\]"):
        loaded(framework.tensor([-1.0, -1.0, 2.0, -3.0]))


def test_torch_2_export_and_trace_call_forms():
    """``Dim.AUTO``/``Dim.DYNAMIC`` (dims of one example size share a symbol; AUTO leaves a
    size of 1 static), ``Dim.STATIC``, ``dims()``, ``run_decompositions()``,
    ``graph_module``; ``jit.trace``'s ``strict``/``optimize`` are accepted."""
    module, (x,) = on("cpu", "mlp")
    x5 = framework.randn(5, 6)
    with framework.no_grad():
        expected = module(x5)
    Dim = framework.export.Dim
    for hint in (Dim.AUTO, Dim.DYNAMIC):
        program = framework.export(module, (x,), dynamic_shapes=({0: hint},)).run_decompositions()
        _assert_same(program.module()(x5), expected)
        _assert_same(program.graph_module(x5), expected)
    static = framework.export(module, (x,), dynamic_shapes=({0: Dim.STATIC},))
    assert not static.graph.symbols
    assert [d.name for d in framework.export.dims("b", "t", max=9)] == ["b", "t"]

    def add(a, b):
        return a + b

    shared = framework.export(add, (x, x), dynamic_shapes=({0: Dim.AUTO}, {0: Dim.AUTO}))
    _assert_same(shared(x5, x5), x5 + x5)
    one = framework.randn(1, 6)
    assert not framework.export(add, (one, one), dynamic_shapes=({0: Dim.AUTO}, None)).graph.symbols
    traced = framework.jit.trace(module, (x,), strict=False, optimize=None)
    _assert_same(traced(x5), expected)
