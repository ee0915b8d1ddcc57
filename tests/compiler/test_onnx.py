"""framework.onnx.export: the examples' models pass onnx.checker, run in onnxruntime and match."""
from __future__ import annotations

import importlib.util
import io
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from compiler_models import on

import framework
import framework.nn as nn
import framework.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _example(name: str):
    spec = importlib.util.spec_from_file_location(f"_example_{name}",
                                                  os.path.join(ROOT, "examples", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _example_models() -> dict:
    """The examples' models at small sizes, with a batch of 3 example inputs."""
    framework.manual_seed(0)
    return {
        "pinn_mlp": (_example("pinn").MLP(width=8), framework.rand(3, 1)),
        "mnist_cnn": (_example("mnist_cnn").Net(channels=2, hidden=8), framework.randn(3, 1, 28, 28)),
        "char_transformer": (_example("char_transformer").CharTransformer(
            vocab_size=10, block=6, d_model=8, nhead=2, layers=2, dropout=0.0),
            framework.randint(0, 10, (3, 6))),
        "name_classifier": (_example("name_classifier").NameClassifier(
            vocab_size=10, embed=4, hidden=6, layers=1, dropout=0.0),
            framework.randint(1, 10, (3, 5))),
    }


def _run(model_bytes: bytes, feeds: dict) -> list:
    return ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"]).run(None, feeds)


@pytest.mark.parametrize("name", ["pinn_mlp", "mnist_cnn", "char_transformer", "name_classifier"])
def test_example_models_match_onnxruntime_at_two_batch_sizes(name):
    model, x = _example_models()[name]
    model.eval()
    buffer = io.BytesIO()
    framework.onnx.export(model, (x,), buffer, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17)
    proto = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == 17
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for batch in (3, 7):
        xb = x[framework.arange(batch) % 3]
        (got,) = _run(buffer.getvalue(), {"x": xb.numpy()})
        with framework.no_grad():
            expected = model(xb).numpy()
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["cnn", "causal_block", "encoder_block", "gru"])
def test_more_models_to_a_file(name, tmp_path):
    module, (x,) = on("cpu", name)
    path = str(tmp_path / f"{name}.onnx")
    framework.onnx.export(module, (x,), path)
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    got = _run(proto.SerializeToString(), {"input0": x.numpy()})
    with framework.no_grad():
        expected = module(x)
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kernel,padding", [(1, 0), (3, 0), (2, 1)])
def test_strided_conv_leaving_trailing_rows_unread(kernel, padding):
    """ResNet's downsample (1x1, stride 2, on an even size): the last input row is read by no
    window; ONNX's Conv drops it as PyTorch does, so the bottom/right pad is not negative."""
    framework.manual_seed(0)
    module = nn.Conv2d(2, 3, kernel, stride=2, padding=padding).eval()
    x = framework.randn(2, 2, 6, 7)
    buffer = io.BytesIO()
    framework.onnx.export(module, (x,), buffer)
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()))
    (got,) = _run(buffer.getvalue(), {"input0": x.numpy()})
    with framework.no_grad():
        np.testing.assert_allclose(got, module(x).numpy(), rtol=1e-4, atol=1e-5)


class _Generator(nn.Module):
    """A DCGAN generator's layers (ConvTranspose2d, BatchNorm2d, ReLU, Tanh), an upsampling
    and one_hot, as a new user's model holds them."""

    def __init__(self, mode: str, align_corners) -> None:
        super().__init__()
        self.up1 = nn.ConvTranspose2d(4, 3, 4, 1, 0, bias=False)
        self.bn = nn.BatchNorm2d(3)
        self.up2 = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1)
        self.grouped = nn.ConvTranspose2d(2, 2, 3, stride=2, padding=1, dilation=2, groups=2)
        self.resize = nn.Upsample(scale_factor=2, mode=mode, align_corners=align_corners)
        self.embed = nn.Linear(3, 2)

    def forward(self, z, label):
        y = F.relu(self.bn(self.up1(z)))
        y = self.grouped(self.resize(self.up2(y)))
        y = y + self.embed(F.one_hot(label, 3).float())[:, :, None, None]
        wide = F.interpolate(y.mean(2), size=7, mode="linear", align_corners=False)
        return framework.tanh(y), wide


@pytest.mark.parametrize("mode,align_corners", [("nearest", None), ("bilinear", False),
                                                ("bilinear", True)])
def test_transposed_convs_upsampling_and_one_hot_export(mode, align_corners):
    framework.manual_seed(0)
    model = _Generator(mode, align_corners).eval()
    z, label = framework.randn(2, 4, 1, 1), framework.tensor([0, 2])
    buffer = io.BytesIO()
    framework.onnx.export(model, (z, label), buffer, input_names=["z", "label"],
                          dynamic_axes={"z": {0: "batch"}, "label": {0: "batch"}})
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()), full_check=True)
    z, label = framework.randn(3, 4, 1, 1), framework.tensor([1, 0, 2])
    got = _run(buffer.getvalue(), {"z": z.numpy(), "label": label.numpy()})
    with framework.no_grad():
        want = model(z, label)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=1e-5)


def test_scatter_and_scatter_add_export():
    def f(x, index):
        src = x * 2  # larger than index: its leading block is written
        return x.scatter(1, index, src), framework.zeros_like(x).scatter_add(0, index, src)

    x, index = framework.randn(3, 4), framework.tensor([[0, 1], [2, 0]])
    buffer = io.BytesIO()
    framework.onnx.export(f, (x, index), buffer)
    got = _run(buffer.getvalue(), {"input0": x.numpy(), "input1": index.numpy()})
    for g, w in zip(got, f(x, index)):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-6, atol=1e-6)


def test_ops_beyond_opset_17_at_opset_17():
    """``mask & mask`` (bool: And/Or/Xor), Mish (composed) pass the checker at opset 17;
    integer ``&`` needs BitwiseAnd (opset 18): a clear error at 17, exported at 18."""
    def masks(x):
        return (((x > 0) & (x < 1)) | (x > 2)) ^ (x < -1), F.mish(x)

    x = framework.randn(3, 4) * 2
    buffer = io.BytesIO()
    framework.onnx.export(masks, (x,), buffer, opset_version=17)
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()), full_check=True)
    got = _run(buffer.getvalue(), {"input0": x.numpy()})
    for g, w in zip(got, masks(x)):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-6)

    def bits(x):
        return (x.long() & 3) ^ 1

    with pytest.raises(framework.onnx.UnsupportedOperatorError, match="opset_version >= 18"):
        framework.onnx.export(bits, (x,), io.BytesIO(), opset_version=17)
    buffer = io.BytesIO()
    framework.onnx.export(bits, (x,), buffer, opset_version=18)
    (got,) = _run(buffer.getvalue(), {"input0": x.numpy()})
    np.testing.assert_array_equal(got, bits(x).numpy())


def _shape_ops(x):
    """What users write inside forward: a hand-written layer norm (var), padding, flips,
    rolls, repeats, cumulative sums (position ids), any/all."""
    normed = (x - x.mean(-1, keepdim=True)) / (x.var(-1, keepdim=True) + 1e-5).sqrt()
    spread = x.std(0, unbiased=False)  # over the dynamic batch dim
    padded = F.pad(x, (1, 2)) + F.pad(x[:, None], (2, 0), mode="reflect")[:, 0][:, 1:-1].sum()
    padded = padded + F.pad(x[:, None, None], (1, 2, 0, 0), mode="replicate")[:, 0, 0]
    positions = (x > 0).long().cumsum(1) + x.flip(0, 1).roll(2, 1).long()
    flags = (x > 1).any(1).float() + (x > -3).all(0).float().sum() + (x > 0).all().float()
    return normed, spread, padded, positions, flags, x.repeat(2, 3), x.cumsum(0)


def test_reductions_pads_flips_rolls_repeats_export():
    x = framework.randn(3, 5) * 2
    buffer = io.BytesIO()
    framework.onnx.export(_shape_ops, (x,), buffer, input_names=["x"],
                          dynamic_axes={"x": {0: "batch"}})
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()), full_check=True)
    for batch in (3, 6):
        xb = framework.randn(batch, 5) * 2
        got = _run(buffer.getvalue(), {"x": xb.numpy()})
        for g, w in zip(got, _shape_ops(xb)):
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-5, atol=1e-5)
    with pytest.raises(framework.onnx.UnsupportedOperatorError, match="circular.*>= 19"):
        framework.onnx.export(lambda x: F.pad(x[None], (1, 1), mode="circular"), (x,),
                              io.BytesIO())


def test_indexing_that_selects_and_slices_at_once_exports():
    """``y[:, 0, 1:-1]``, ``y[:, -1, 2]``, ``y[:, 1, ::2]``: one view that drops dims and
    narrows others is recorded as selects then slices (it was an ``as_strided``, which ONNX
    export refuses), at any batch size."""
    def f(x):
        y = x * 2
        return y[:, 0, 1:-1], y[:, -1, 2], y[:, 1, ::2] + 1

    x = framework.randn(3, 2, 5)
    traced = framework.jit.trace(f, (x,))
    assert "as_strided" not in [n.op for n in traced.graph.nodes]
    buffer = io.BytesIO()
    framework.onnx.export(f, (x,), buffer, input_names=["x"], dynamic_axes={"x": {0: "b"}})
    for batch in (3, 5):
        xb = framework.randn(batch, 2, 5)
        for g, w in zip(_run(buffer.getvalue(), {"x": xb.numpy()}), f(xb)):
            np.testing.assert_allclose(g, w.numpy(), rtol=1e-6, atol=1e-6)


def test_a_permuted_expand_exports():
    """A learned memory expanded over the batch, then transposed (a decoder's memory in a
    sequence-first layer): expand then permute, not ``as_strided``."""
    memory = framework.randn(1, 3, 4)

    def f(x):
        return x.transpose(0, 1) + memory.expand(x.shape[0], -1, -1).transpose(0, 1)

    x = framework.randn(2, 3, 4)
    traced = framework.jit.trace(f, (x,))
    assert "as_strided" not in [n.op for n in traced.graph.nodes]
    buffer = io.BytesIO()
    framework.onnx.export(f, (x,), buffer, input_names=["x"], dynamic_axes={"x": {0: "b"}})
    for batch in (2, 5):
        xb = framework.randn(batch, 3, 4)
        (got,) = _run(buffer.getvalue(), {"x": xb.numpy()})
        np.testing.assert_allclose(got, f(xb).numpy(), rtol=1e-6, atol=1e-6)


def test_dynamic_sequence_length_convs_and_recurrent_layers():
    """A text CNN (embedding, Conv1d, max over time) with batch and length dynamic exports
    (its conv's pads no longer do arithmetic on symbolic sizes, a TypeError); a GRU with a
    dynamic length exports as ONNX's own GRU (it raised; it was a TypeError before that)."""
    framework.manual_seed(0)
    model = nn.Sequential(nn.Embedding(7, 4), nn.Linear(4, 4)).eval()
    conv = nn.Conv1d(4, 3, 2, padding=1).eval()

    def text_cnn(ids):
        return conv(model(ids).transpose(1, 2)).amax(2)

    ids = framework.randint(0, 7, (2, 5))
    buffer = io.BytesIO()
    framework.onnx.export(text_cnn, (ids,), buffer, input_names=["ids"],
                          dynamic_axes={"ids": {0: "batch", 1: "length"}})
    for batch, length in ((3, 4), (2, 9)):
        xb = framework.randint(0, 7, (batch, length))
        (got,) = _run(buffer.getvalue(), {"ids": xb.numpy()})
        with framework.no_grad():
            np.testing.assert_allclose(got, text_cnn(xb).numpy(), rtol=1e-5, atol=1e-6)
    gru = nn.GRU(4, 3, batch_first=True).eval()
    buffer = io.BytesIO()
    framework.onnx.export(gru, (framework.randn(2, 5, 4),), buffer, input_names=["x"],
                          dynamic_axes={"x": {1: "length"}})
    xb = framework.randn(2, 8, 4)
    with framework.no_grad():
        expected = gru(xb)
    for got, want in zip(_run(buffer.getvalue(), {"x": xb.numpy()}), expected):
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-6)


def test_cuda_model_exports_the_same_graph():
    module, (x,) = on("cuda", "mlp")
    buffer = io.BytesIO()
    framework.onnx.export(module, (x,), buffer)
    (got,) = _run(buffer.getvalue(), {"input0": x.cpu().numpy()})
    with framework.no_grad():
        np.testing.assert_allclose(got, module(x).cpu().numpy(), rtol=1e-4, atol=1e-5)


def test_a_graph_of_the_2d_product_kernel_exports(monkeypatch):
    """A capture records the batched ``matmul`` for 2-D products; with the 2-D path taken
    under the capture too, the graph holds ``mm`` nodes (with and without a bias), which
    export as MatMul (+ Add) and match."""
    from framework.compiler import capture
    from framework.ops import matmul as matmul_ops
    monkeypatch.setattr(matmul_ops, "Backend", capture._RecordingBackend)
    framework.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    weight = framework.randn(3, 5)

    def f(x):
        return framework.mm(model(x), weight)

    x = framework.randn(2, 4)
    with framework.no_grad():
        traced = framework.jit.trace(f, (x,))
        want = f(x).numpy()
    assert [n.args["bias"] is None for n in traced.graph.nodes if n.op == "mm"] == [False, True]
    buffer = io.BytesIO()
    with framework.no_grad():
        framework.onnx.export(f, (x,), buffer)
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()))
    (got,) = _run(buffer.getvalue(), {"input0": x.numpy()})
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_unsupported_op_names_the_op():
    def f(x):
        return framework.cumprod(x, dim=1)

    with pytest.raises(framework.onnx.UnsupportedOperatorError, match="'cumprod'"):
        framework.onnx.export(f, (framework.randn(2, 3),), io.BytesIO())

    def g(x):
        return x.view(framework.int32) & 7

    with pytest.raises(framework.onnx.UnsupportedOperatorError, match="'as_strided'"):
        framework.onnx.export(g, (framework.randn(2, 3),), io.BytesIO())


def test_dynamic_axes_on_a_static_output_dim_is_an_error():
    def f(x):
        return x.sum(0)

    with pytest.raises(RuntimeError, match="dim 0 of output 'y'.*fixed size 4"):
        framework.onnx.export(f, (framework.randn(3, 4),), io.BytesIO(), input_names=["x"],
                              output_names=["y"], dynamic_axes={"x": [0], "y": [0]})


def test_opset_18_and_training_mode_module():
    module, (x,) = on("cpu", "causal_block")
    module.train()
    buffer = io.BytesIO()
    framework.onnx.export(module, (x,), buffer, opset_version=18)
    assert module.training  # restored after the export (which traced in eval mode)
    proto = onnx.load_from_string(buffer.getvalue())
    assert proto.opset_import[0].version == 18
    (got,) = _run(buffer.getvalue(), {"input0": x.numpy()})
    module.eval()
    with framework.no_grad():
        np.testing.assert_allclose(got, module(x).numpy(), rtol=1e-4, atol=1e-5)


def test_writes_into_a_select_on_the_dynamic_dim():
    def f(x):
        y = x * 2
        y[-1] = 0.0  # a copy_ through select(dim 0, index s0-1)
        return y

    buffer = io.BytesIO()
    framework.onnx.export(f, (framework.randn(3, 2),), buffer, input_names=["x"],
                          dynamic_axes={"x": [0]})
    x = framework.randn(5, 2)
    (got,) = _run(buffer.getvalue(), {"x": x.numpy()})
    np.testing.assert_allclose(got, f(x).numpy(), rtol=1e-6)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_bidirectional_recurrent_layers_export_both_directions(kind):
    """``lstm_sequence``/``gru_sequence`` unrolled in both time orders (the reverse direction
    reads its state from the slot after each step's), without and with biases."""
    framework.manual_seed(1)
    for bias in (True, False):
        module = getattr(nn, kind)(3, 4, bidirectional=True, bias=bias, batch_first=True).eval()
        x = framework.randn(2, 5, 3)
        buffer = io.BytesIO()
        framework.onnx.export(module, (x,), buffer)
        got = _run(buffer.getvalue(), {"input0": x.numpy()})
        with framework.no_grad():
            out, state = module(x)
        expected = (out, *state) if kind == "LSTM" else (out, state)
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e.numpy(), rtol=1e-5, atol=1e-6)


def test_lstm_exports_its_fused_cell(tmp_path):
    framework.manual_seed(0)
    module = nn.LSTM(4, 5, num_layers=2, batch_first=True).eval()
    x = framework.randn(2, 3, 4)
    path = str(tmp_path / "lstm.onnx")
    framework.onnx.export(module, (x,), path)
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    got = _run(proto.SerializeToString(), {"input0": x.numpy()})
    with framework.no_grad():
        out, (h, c) = module(x)
    for g, e in zip(got, (out, h, c)):
        np.testing.assert_allclose(g, e.numpy(), rtol=1e-4, atol=1e-5)


def test_causal_attention_with_a_dynamic_length_exports():
    """``scaled_dot_product_attention(is_causal=True)`` (a GPT block) with batch and length
    dynamic: the causal mask is built from Range at run time (it raised 'causal with a
    symbolic length')."""
    module, (x,) = on("cpu", "causal_block")
    buffer = io.BytesIO()
    framework.onnx.export(module, (x,), buffer, input_names=["x"],
                          dynamic_axes={"x": {0: "batch", 1: "length"}})
    for batch, length in ((2, 3), (4, 6)):
        xb = framework.randn(batch, length, x.shape[2])
        (got,) = _run(buffer.getvalue(), {"x": xb.numpy()})
        with framework.no_grad():
            np.testing.assert_allclose(got, module(xb).numpy(), rtol=1e-5, atol=1e-5)


def test_random_draws_export_as_onnx_random_ops():
    """A VAE's reparameterization (``mu + randn_like(std) * std``) exports (it raised
    'unsupported operator randn'): RandomNormalLike / RandomUniformLike draw anew per run."""
    def sample(mu):
        return mu + framework.randn_like(mu), framework.rand_like(mu)

    buffer = io.BytesIO()
    with pytest.warns(framework.jit.TracerWarning):
        framework.onnx.export(sample, (framework.zeros(2, 3),), buffer, input_names=["mu"],
                              dynamic_axes={"mu": {0: "batch"}})
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()), full_check=True)
    normal, uniform = _run(buffer.getvalue(), {"mu": np.full((800, 3), 3.0, np.float32)})
    assert normal.shape == uniform.shape == (800, 3)
    assert abs(normal.mean() - 3.0) < 0.1 and abs(normal.std() - 1.0) < 0.1
    assert 0.0 <= uniform.min() and uniform.max() < 1.0 and abs(uniform.mean() - 0.5) < 0.05


def test_export_returns_an_onnx_program_to_save_and_run(tmp_path):
    """torch 2.9's ``onnx_program = torch.onnx.export(model, args, dynamo=True)`` flow:
    nothing written without ``f``; ``save`` writes a valid file; calling it runs onnxruntime;
    ``dynamic_shapes`` (framework.export's) makes the batch symbolic."""
    model, (x,) = on("cpu", "mlp")
    batch = framework.export.Dim("batch")
    program = framework.onnx.export(model, (x,), dynamo=True, dynamic_shapes=({0: batch},))
    assert isinstance(program, framework.onnx.ONNXProgram)
    program.save(tmp_path / "m.onnx")
    onnx.checker.check_model(onnx.load(tmp_path / "m.onnx"))
    wider = framework.randn(7, 6)
    (out,) = program(wider)
    np.testing.assert_allclose(out.numpy(), model(wider).detach().numpy(), rtol=1e-5, atol=1e-6)
    assert framework.onnx.export(model, (x,), io.BytesIO(), dynamo=False) is None
    with pytest.raises(ValueError, match="f .* is required"):
        framework.onnx.export(model, (x,), dynamo=False)
    with pytest.raises(ValueError, match="not both"):
        framework.onnx.export(model, (x,), dynamic_axes={"input0": [0]},
                              dynamic_shapes=({0: batch},))


def test_export_options_initializers_as_inputs_verify_and_training_mode():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    x = framework.randn(3, 4)
    program = framework.onnx.export(model, (x,), keep_initializers_as_inputs=True, verify=True)
    graph = program.model_proto.graph
    assert {"0.weight", "0.bias"} <= {i.name for i in graph.input}
    assert model.training  # exported in eval mode (TrainingMode.EVAL), then restored
    with pytest.raises(NotImplementedError, match="TRAINING"):
        framework.onnx.export(model, (x,), training=framework.onnx.TrainingMode.TRAINING)
    with pytest.raises(NotImplementedError, match="custom_opsets"):
        framework.onnx.export(model, (x,), custom_opsets={"my": 1})


def test_keyword_arguments_as_a_trailing_dict_or_kwargs():
    """``torch.onnx.export(model, (x, {"mask": m}), ...)``: a dict ending ``args`` holds keyword
    arguments; they are graph inputs named after the positional ones, with dynamic axes too."""
    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x, mask=None, scale=1.0):
            return self.fc(x).masked_fill(mask, 0.0) * scale

    model = Masked().eval()
    x = framework.randn(3, 4)
    x5 = framework.randn(5, 4)
    for args, kwargs in (((x, {"mask": x > 0}), None), ((x,), {"mask": x > 0})):
        buffer = io.BytesIO()
        framework.onnx.export(model, args, buffer, kwargs=kwargs, input_names=["x", "mask"],
                              dynamic_axes={"x": {0: "batch"}, "mask": {0: "batch"}})
        (got,) = _run(buffer.getvalue(), {"x": x5.numpy(), "mask": (x5 > 0.3).numpy()})
        with framework.no_grad():
            expected = model(x5, mask=x5 > 0.3)
        np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opset", [11, 12, 13, 14, 15, 16])
@pytest.mark.parametrize("name", ["mnist_cnn", "char_transformer", "name_classifier"])
def test_example_models_at_older_opsets(name, opset):
    """Tutorials pass ``opset_version=11``..16: the examples export, check and run there too
    (``Shape`` without start/end before 15, ``tril``/``triu`` without ``Trilu`` before 14,
    ``Unsqueeze``/``Split``/``ReduceSum`` axes as attributes before 13)."""
    model, x = _example_models()[name]
    model.eval()
    buffer = io.BytesIO()
    framework.onnx.export(model, (x,), buffer, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=opset)
    proto = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == opset
    xb = x[framework.arange(5) % 3]
    (got,) = _run(buffer.getvalue(), {"x": xb.numpy()})
    with framework.no_grad():
        np.testing.assert_allclose(got, model(xb).numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("opset", [11, 13])
def test_ops_newer_than_the_opset_are_composed(opset):
    """At opset 11 and 13: ``tril``/``triu`` of a symbolic size and HardSwish (opset 14) are
    composed; at 11 also CELU and ``<=`` (opset 12), integer ``minimum``/``clamp`` (Min/Max of
    floats only), a softmax over a dim that is not the last (Softmax flattened the trailing
    dims before 13) and ``stack`` (Unsqueeze with an axes attribute). ``scatter_add``
    (ScatterElements reduction, opset 16) is a clear error; below 11 is refused."""
    def f(x):
        ints = (x * 4).long()
        return (x.tril(-1) + x.triu(1) * 2, F.hardswish(x), F.celu(x, 0.5), x <= 0.1,
                framework.minimum(ints, ints.flip(0)), ints.clamp(-2, 2),
                framework.softmax(x, dim=0), framework.stack([x, -x], dim=1),
                x.scatter(1, x.argmax(1, keepdim=True), 0.0))

    x = framework.randn(3, 4)
    buffer = io.BytesIO()
    framework.onnx.export(f, (x,), buffer, input_names=["x"], dynamic_axes={"x": {0: "b"}},
                          opset_version=opset)
    proto = onnx.load_from_string(buffer.getvalue())
    onnx.checker.check_model(proto, full_check=True)
    ops = {n.op_type for n in proto.graph.node}
    assert not ops & {"Trilu", "HardSwish"}
    if opset < 12:
        assert not ops & {"Celu", "LessOrEqual"}
    x5 = framework.randn(5, 4)
    for got, expected in zip(_run(buffer.getvalue(), {"x": x5.numpy()}), f(x5)):
        np.testing.assert_allclose(got, expected.numpy(), rtol=1e-6, atol=1e-6)

    def g(x):
        return framework.zeros(3, 4).scatter_add(1, framework.tensor([[0], [1], [0]]), x)

    with pytest.raises(framework.onnx.UnsupportedOperatorError, match="opset_version >= 16"):
        framework.onnx.export(g, (x,), io.BytesIO(), opset_version=opset)
    with pytest.raises(ValueError, match="opset_version >= 11"):
        framework.onnx.export(f, (x,), io.BytesIO(), opset_version=10)


def test_sort_topk_and_constant_creation_kernels():
    """``topk``/``sort``/``argsort`` (the ``sort`` kernel) export as ``TopK`` over the whole
    dim, ties in index order as the stable sort; a kernel reading nothing (``eye``,
    ``linspace``) without a translation of its own is computed at export as a constant."""
    def f(x):
        values, indices = x.topk(2, dim=-1)
        ranked = x.sort(dim=0, descending=False)
        return values, indices, ranked.values, ranked.indices, x.argsort(dim=1, descending=True), \
            x @ framework.eye(4) + framework.linspace(0, 1, 4)

    x = framework.tensor([[1.0, 3.0, 3.0, 0.5], [2.0, 2.0, -1.0, 2.0], [0.0, 1.0, 0.0, 1.0]])
    buffer = io.BytesIO()
    framework.onnx.export(f, (x,), buffer, input_names=["x"], dynamic_axes={"x": {0: "b"}})
    ops = {n.op_type for n in onnx.load_from_string(buffer.getvalue()).graph.node}
    assert "TopK" in ops
    for xb in (x, x[framework.tensor([2, 0, 1, 1, 0])]):
        for got, expected in zip(_run(buffer.getvalue(), {"x": xb.numpy()}), f(xb)):
            np.testing.assert_allclose(got, expected.numpy(), rtol=1e-6, atol=1e-6)


def test_strided_views_export_as_gathers():
    """``as_strided`` views (``diagonal`` of a slice, ``unfold``, ``trace``; a 3-d
    convolution's windows, whose batch dim is dynamic) export as Gathers of their root's
    elements by storage position."""
    def f(x):
        return x[:, 1:].diagonal(), x.unfold(1, 2, 1), x[:, :3].trace()

    x = framework.randn(3, 4)
    buffer = io.BytesIO()
    framework.onnx.export(f, (x,), buffer, input_names=["x"])
    for got, expected in zip(_run(buffer.getvalue(), {"x": x.numpy()}), f(x)):
        np.testing.assert_allclose(got, expected.numpy(), rtol=1e-6, atol=1e-6)

    model = nn.Sequential(nn.Conv3d(2, 2, 3, padding=1), nn.ReLU()).eval()
    x = framework.randn(2, 2, 3, 4, 4)
    buffer = io.BytesIO()
    framework.onnx.export(model, (x,), buffer, input_names=["x"], dynamic_axes={"x": {0: "b"}})
    onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()), full_check=True)
    for xb in (x, framework.randn(3, 2, 3, 4, 4)):
        (got,) = _run(buffer.getvalue(), {"x": xb.numpy()})
        with framework.no_grad():
            np.testing.assert_allclose(got, model(xb).numpy(), rtol=1e-4, atol=1e-5)


def test_torch_2_exporter_call_forms(tmp_path):
    """As torch 2.x: ``export(model, (x,), dynamic_shapes=...)`` without ``f`` returns an
    ``ONNXProgram`` (``save``, a call through ONNX Runtime, ``model_proto``); ``verify=True``
    compares with framework; ``dynamo=False`` returns None; ``keep_initializers_as_inputs``
    lists the weights as inputs; a trace or an exported program exports too; options this
    exporter lacks raise ``NotImplementedError``."""
    module, (x,) = on("cpu", "mlp")
    x5 = framework.randn(5, 6)
    with framework.no_grad():
        expected = module(x5).numpy()
    program = framework.onnx.export(module, (x,), dynamic_shapes={"input": {0: "batch"}},
                                    verify=True)
    assert isinstance(program, framework.onnx.ONNXProgram)
    dims = program.model_proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch"
    np.testing.assert_allclose(program(x5)[0].numpy(), expected, rtol=1e-5, atol=1e-6)
    program.save(str(tmp_path / "mlp.onnx"))
    session = ort.InferenceSession(str(tmp_path / "mlp.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input0": x5.numpy()})
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert framework.onnx.export(module, (x,), io.BytesIO(), dynamo=False) is None
    kept = framework.onnx.export(module, (x,), keep_initializers_as_inputs=True).model_proto
    assert {i.name for i in kept.graph.input} == {"input0", *module.state_dict()}
    traced = framework.jit.trace(module, (x,))
    exported = framework.export(module, (x,), dynamic_shapes=({0: "batch"},))
    for source in (traced, exported):
        out = framework.onnx.export(source, (x,), dynamic_axes={"input0": {0: "batch"}})(x5)
        np.testing.assert_allclose(out[0].numpy(), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(NotImplementedError, match="TrainingMode.TRAINING"):
        framework.onnx.export(module, (x,), training=framework.onnx.TrainingMode.TRAINING)
    with pytest.raises(NotImplementedError, match="custom_opsets"):
        framework.onnx.export(module, (x,), custom_opsets={"my": 1})


def test_weights_the_graph_does_not_read_are_left_out():
    """Batch norm's ``num_batches_tracked`` (unused in eval) is no initializer: ONNX Runtime
    warned on every session that it removed it."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).eval()
    proto = framework.onnx.export(model, (framework.randn(2, 1, 5, 5),)).model_proto
    names = {init.name for init in proto.graph.initializer}
    assert "1.running_mean" in names and "1.num_batches_tracked" not in names


@pytest.mark.parametrize("opset", [11, 17])
def test_recurrent_layers_with_a_dynamic_length_use_onnx_gru_and_lstm(opset):
    """GRU/LSTM layers (stacked, bidirectional, batch first or not) with batch and length
    dynamic export as ONNX's own GRU/LSTM operators (gates reordered, PyTorch's reset after
    the hidden product), outputs, h_n and c_n, checked at other lengths and batch 1."""
    class Tagger(nn.Module):
        def __init__(self, cls, **options):
            super().__init__()
            self.rnn = cls(4, 5, **options)

        def forward(self, x):
            out, state = self.rnn(x)
            return (out, *state) if isinstance(state, tuple) else (out, state)

    framework.manual_seed(0)
    for cls, options in ((nn.GRU, {"batch_first": True, "num_layers": 2}),
                         (nn.LSTM, {"batch_first": True, "bidirectional": True}),
                         (nn.GRU, {"bidirectional": True, "bias": False})):
        model = Tagger(cls, **options).eval()
        first = options.get("batch_first", False)
        axes = {0: "batch", 1: "length"} if first else {0: "length", 1: "batch"}
        buffer = io.BytesIO()
        framework.onnx.export(model, (framework.randn(2, 6, 4) if first else
                                      framework.randn(6, 2, 4),), buffer, input_names=["x"],
                              dynamic_axes={"x": axes}, opset_version=opset)
        onnx.checker.check_model(onnx.load_from_string(buffer.getvalue()), full_check=True)
        ops = {n.op_type for n in onnx.load_from_string(buffer.getvalue()).graph.node}
        assert ops & {"GRU", "LSTM"}
        for batch, length in ((3, 9), (1, 2)):
            xb = framework.randn(batch, length, 4) if first else framework.randn(length, batch, 4)
            with framework.no_grad():
                expected = model(xb)
            got = _run(buffer.getvalue(), {"x": xb.numpy()})
            assert len(got) == len(expected)
            for g, e in zip(got, expected):
                np.testing.assert_allclose(g, e.numpy(), rtol=1e-4, atol=1e-5)


def test_atan2_and_repeat_interleave():
    """``atan2`` (every quadrant, the axes and the origin) composed from Atan; an int
    ``repeat_interleave`` (grouped-query attention's key/value heads) as Expand + Reshape,
    with a dynamic batch."""
    def f(y, x):
        heads = y.reshape(-1, 2, 2).repeat_interleave(3, dim=1)
        return framework.atan2(y, x), heads, x.repeat_interleave(2, dim=0)

    y = framework.tensor([[1.0, -1.0, 1.0, -1.0], [0.0, 2.0, -2.0, 0.0]])
    x = framework.tensor([[1.0, 1.0, -1.0, -1.0], [0.0, 0.0, 0.0, -3.0]])
    buffer = io.BytesIO()
    framework.onnx.export(f, (y, x), buffer, input_names=["y", "x"],
                          dynamic_axes={"y": {0: "b"}, "x": {0: "b"}})
    for yb, xb in ((y, x), (framework.randn(5, 4), framework.randn(5, 4))):
        for got, expected in zip(_run(buffer.getvalue(), {"y": yb.numpy(), "x": xb.numpy()}),
                                 f(yb, xb)):
            np.testing.assert_allclose(got, expected.numpy(), rtol=1e-6, atol=1e-6)
