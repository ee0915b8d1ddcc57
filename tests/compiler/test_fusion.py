"""Elementwise fusion: fused replay equals eager on both devices; generated Triton is readable
and cached; launches are counted."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import framework
import framework.nn as nn
import framework.nn.functional as F
from framework.compiler import codegen, fusion
from framework.compiler.launches import count_launches


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEWORK_CACHE_DIR", str(tmp_path))
    yield tmp_path


def _close(a, b, tol=1e-6):
    np.testing.assert_allclose(a.detach().cpu().numpy().astype(np.float64),
                               b.detach().cpu().numpy().astype(np.float64), rtol=tol, atol=tol)


def _fused_nodes(traced) -> list:
    return [n for n in traced.graph.nodes if n.op == "fused_elementwise"]


def _traced_and_fused(fn, *inputs):
    traced = framework.jit.trace(fn, inputs)
    fusion.fuse_elementwise(traced.graph)
    return traced


def chain(x, y):
    return ((x * 2 + 1).exp() * y).sigmoid()


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_chain_becomes_one_kernel(device):
    x, y = framework.randn(3, 5, device=device), framework.randn(3, 5, device=device)
    traced = _traced_and_fused(chain, x, y)
    assert [n.op for n in traced.graph.nodes] == ["fused_elementwise"]
    group = traced.graph.nodes[0].args["group"]  # the NumPy plan reuses one buffer in place
    assert fusion.buffer_slots(group) == [0, 0, 0, 0, None]
    _close(traced(x, y), chain(x, y))
    x2 = framework.randn(3, 5, device=device)
    _close(traced(x2, y), chain(x2, y))  # reused buffers hold nothing stale


def mixed(x, b, t):
    """Broadcast (b: a row), a transposed input, scalars of every position, where/clamp,
    an intermediate that is also returned."""
    h = (x * b + 0.5).tanh()
    g = F.gelu(x) - F.silu(t.t()) / 3
    w = framework.where(x > 0.1, h, -0.25).clamp(min=-0.2)
    return h, (2.0 - w * g).relu() + framework.maximum(x, b) ** 2 + framework.minimum(b, h)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_broadcast_scalars_where_and_side_outputs(device):
    x = framework.randn(4, 6, device=device)
    b = framework.randn(6, device=device)
    t = framework.randn(6, 4, device=device)
    traced = _traced_and_fused(mixed, x, b, t)
    fused = _fused_nodes(traced)
    assert len(fused) == 1 and len(fused[0].outputs) == 2  # h is read outside the group
    ops = {n.op for n in fused[0].args["group"].nodes}
    assert {"mul", "add", "tanh", "gelu", "silu", "div", "where", "clamp", "relu", "maximum",
            "minimum", "sub"} <= ops
    for got, want in zip(traced(x, b, t), mixed(x, b, t)):
        _close(got, want)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_half_intermediates_round_as_unfused(device):
    x = framework.randn(2, 8, device=device).to(framework.float16)
    fn = lambda x: (x * 1.3 + 0.1).exp().sigmoid() * x  # noqa: E731
    traced = _traced_and_fused(fn, x)
    assert len(_fused_nodes(traced)) == 1
    want = fn(x)
    got = traced(x)
    assert got.dtype == framework.float16
    np.testing.assert_array_equal(got.cpu().numpy(), want.cpu().numpy())


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_compiled_mlp_with_gelu_matches_eager(device):
    model = nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 8), nn.Tanh(),
                          nn.Linear(8, 3)).to(device).eval()
    x = framework.randn(4, 6, device=device)
    compiled = framework.compile(model)
    with framework.no_grad():
        compiled(x)
        _close(compiled(x), model(x))
        fn = framework.compile(lambda x: F.gelu(model(x)) * 0.5 + x[:, :3].sigmoid())
        fn(x)
        _close(fn(x), F.gelu(model(x)) * 0.5 + x[:, :3].sigmoid())
        graph = next(iter(fn.cache.values())).graph
        assert any(n.op == "fused_elementwise" for n in graph.nodes)


def test_readers_between_group_nodes_keep_the_order():
    """exp's result is read by a matmul before add reads it: add cannot join exp's group."""
    w = framework.randn(4, 4)

    def fn(x):
        a = x.exp()
        m = a @ w
        b = a + 1
        return b * m, a.neg()
    x = framework.randn(4, 4)
    traced = _traced_and_fused(fn, x)
    order = [n.op for n in traced.graph.nodes]
    assert order.index("matmul") < order.index("fused_elementwise")
    for got, want in zip(traced(x), fn(x)):
        _close(got, want)


def test_generated_source_is_readable_and_cached(_cache_dir):
    x, y = framework.randn(3, 5, device="cuda"), framework.randn(3, 5, device="cuda")
    compiled = framework.compile(chain)
    compiled(x, y)
    _close(compiled(x, y), chain(x, y))
    files = list((_cache_dir / "generated").glob("fused_*.py"))
    assert len(files) == 1
    text = files[0].read_text()
    assert '"""Each program computes BLOCK consecutive flat output indices' in text
    assert "# the last block is partial" in text and '_unary(t1, 0.0, 0.0, "exp")' in text
    stamp = files[0].stat().st_mtime_ns
    codegen._LOADED.clear()  # a new process: the file is found, not rewritten
    again = framework.compile(chain)
    again(x, y)
    _close(again(x, y), chain(x, y))
    assert list((_cache_dir / "generated").glob("fused_*.py")) == files
    assert files[0].stat().st_mtime_ns == stamp


def test_generated_kernel_compiles_for_sm90(_cache_dir):
    """The generated source goes through Triton's real compiler (PTX for sm_90), not only the
    interpreter: run in a subprocess without TRITON_INTERPRET."""
    x, b, t = framework.randn(4, 6, device="cuda"), framework.randn(6, device="cuda"), \
        framework.randn(6, 4, device="cuda")
    traced = _traced_and_fused(mixed, x, b, t)
    traced(x, b, t)
    path = codegen.path_of(_fused_nodes(traced)[0].args["group"])
    soft = framework.jit.trace(scores_softmax, (x, b))
    fusion.fuse_elementwise(soft.graph)
    assert fusion.fuse_softmax_prologues(soft.graph) == 2
    soft(x, b)
    soft_paths = [str(codegen.path_of(n.args["group"])) for n in _fused_nodes(soft)]
    script = os.path.join(os.path.dirname(__file__), "compile_generated.py")
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_INTERPRET",
                                                              "FRAMEWORK_TRITON_INTERPRET")}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = root
    done = subprocess.run([sys.executable, script, str(path), *soft_paths], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("ptx ok") == 6


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_launch_counts(device):
    x, y = framework.randn(3, 5, device=device), framework.randn(3, 5, device=device)
    compiled = framework.compile(chain)
    compiled(x, y)
    with count_launches() as eager:
        chain(x, y)
    with count_launches() as replay:
        compiled(x, y)
    assert eager.total == 5 and eager.by_op["mul"] == 2
    assert replay.total == 1 and replay.by_op["fused_elementwise"] == 1
    with count_launches() as alloc:
        framework.empty(3, device=device)
        framework.zeros(3, device=device)
    assert alloc.by_op["empty"] == 1 and alloc.total == alloc.by_op["full"] == 1


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_activation_and_residual_fold_into_matmul_epilogue(device):
    lin1, lin2 = nn.Linear(8, 16).to(device), nn.Linear(16, 8).to(device)

    def block(x):
        return x + lin2(F.relu(lin1(x)))
    x = framework.randn(2, 3, 8, device=device)
    with framework.no_grad():
        traced = framework.jit.trace(block, (x,))
        assert fusion.fuse_matmul_epilogues(traced.graph) == 2
        ops = [n.op for n in traced.graph.nodes if not n.is_view and n.op != "from_numpy"]
        assert ops == ["matmul_epilogue", "matmul_epilogue"]
        first, second = [n for n in traced.graph.nodes if n.op == "matmul_epilogue"]
        assert first.args["activation"] == "relu" and second.args["residual"] is not None
        _close(traced(x), block(x), tol=1e-5)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_pow_int_and_bool_operands(device):
    x = framework.rand(3, 4, device=device) + 0.5
    idx = framework.arange(4, device=device)
    mask = x > 1.0

    def fn(x):
        return (x ** 0.5 + x ** 2) * idx - mask * x.log()
    traced = _traced_and_fused(fn, x)
    assert len(_fused_nodes(traced)) == 1
    group = _fused_nodes(traced)[0].args["group"]
    assert [n.op for n in group.nodes].count("pow") == 2
    assert {v.dtype for v in group.inputs} == {"float32", "int64", "bool"}
    _close(traced(x), fn(x))
    if device == "cuda":
        assert '_unary(x0, 0.0, 0.0, "sqrt")' in codegen.path_of(group).read_text()


def test_unsupported_math_stays_unfused():
    x = framework.randn(3, 4, dtype=framework.float64)
    traced = _traced_and_fused(lambda x: (x * 2 + 1).exp(), x)  # float64 math
    assert not _fused_nodes(traced)
    n = framework.arange(12).reshape(3, 4)
    traced = _traced_and_fused(lambda n: (n * 3) // 2 + (n & 5), n)  # integer math
    assert not _fused_nodes(traced)
    _close(traced(n), (n * 3) // 2 + (n & 5))


def test_in_place_writes_split_groups():
    """A copy_ (in-place add, setitem) between elementwise ops: values read before and after it
    stay where they were."""
    def fn(x):
        h = x * 2
        h.add_(1)
        y = h.exp() + h
        y[0] = -1.0
        return y.sigmoid(), h
    x = framework.randn(3, 4)
    traced = _traced_and_fused(fn, x)
    assert _fused_nodes(traced)
    for got, want in zip(traced(x), fn(x)):
        _close(got, want)


def test_fused_graph_prints_and_shows_code():
    x, y = framework.randn(3, 5), framework.randn(3, 5)
    traced = _traced_and_fused(chain, x, y)
    assert "fused_elementwise(inputs=(%0, %1), group=<mul, add, exp, mul, sigmoid>)" in \
        str(traced.graph)
    assert "fused_elementwise(input0, input1)  # t0 = mul(in0, s0)" in traced.code


def scores_softmax(s, m):
    return F.softmax(s * 0.5 + m, dim=-1), F.log_softmax((s - 1).tanh(), dim=1)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_softmax_prologue_is_one_kernel(device):
    s = framework.randn(3, 6, device=device)
    m = framework.randn(6, device=device)
    m[2:] = float("-inf")  # masked columns; the last row below is all -inf: NaN, as eager
    traced = framework.jit.trace(scores_softmax, (s, m))
    fusion.fuse_elementwise(traced.graph)
    assert fusion.fuse_softmax_prologues(traced.graph) == 2
    assert [n.op for n in traced.graph.nodes] == ["fused_elementwise"] * 2
    for got, want in zip(traced(s, m), scores_softmax(s, m)):
        _close(got, want)
    s_inf = s.clone()
    s_inf[2] = float("-inf")
    for got, want in zip(traced(s_inf, m), scores_softmax(s_inf, m)):
        np.testing.assert_allclose(got.cpu().numpy(), want.cpu().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_power_of_two_scale_moves_past_matmul_into_the_softmax(device):
    q, k = framework.randn(2, 4, 8, device=device), framework.randn(2, 4, 8, device=device)
    mask = framework.randn(4, 4, device=device)

    def attention_scores(q, k, scale):
        return F.softmax((q * scale) @ k.transpose(1, 2) + mask, dim=-1)
    for scale, moved in ((0.25, 1), (0.3, 0)):
        traced = framework.jit.trace(lambda q, k: attention_scores(q, k, scale), (q, k))
        assert fusion.move_scales_past_matmuls(traced.graph) == moved
        fusion.fuse_elementwise(traced.graph)
        assert fusion.fuse_softmax_prologues(traced.graph) == 1
        kernels = [n.op for n in traced.graph.nodes if not n.is_view and n.op != "from_numpy"]
        assert kernels == (["matmul", "fused_elementwise"] if moved else
                           ["mul", "matmul", "fused_elementwise"])
        got, want = traced(q, k), attention_scores(q, k, scale)
        if device == "cpu":  # same NumPy kernels: the same bits (a GPU may contract FMAs)
            np.testing.assert_array_equal(got.numpy(), want.numpy())
        _close(got, want)


def _special(shape, seed=0):
    """Random float32 values with zeros of both signs and NaNs scattered in."""
    data = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    flat = data.reshape(-1)
    flat[::7], flat[1::11], flat[2::13] = 0.0, -0.0, np.nan
    return data


def _same_bits(got, want):
    a, b = got.detach().cpu().numpy(), want.detach().cpu().numpy()
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


@pytest.mark.parametrize("shape", [(3, 5), (4, 8, 30, 30)])  # below and above select's _SMALL
def test_relu_backward_group_is_a_bit_mask_with_eager_bits(shape):
    """``where(out <= 0, 0, g)`` (relu's backward) and ``where(m, x, 0)`` run as a bit-mask
    multiply with the comparison's mask in a kept bool buffer: the unfused bits (NaN, -0.0),
    for full, broadcast and transposed ``g``, and on a second call (no stale buffers)."""
    o = framework.tensor(_special(shape))
    g = framework.tensor(_special(shape, 1))
    row = framework.tensor(_special(shape[-1:], 2))
    gt = framework.tensor(_special(shape[::-1], 3)).permute(*range(len(shape))[::-1])
    fns = [lambda o, g: framework.where(o <= 0, 0, g),
           lambda o, g: framework.where(o > 0, g, 0.0),
           lambda o, g: framework.where(o <= 0, 0, g * 2)]
    for fn in fns:
        for other in (g, row, gt):
            traced = _traced_and_fused(fn, o, other)
            fused = _fused_nodes(traced)
            assert len(fused) == 1
            group = fused[0].args["group"]
            assert fusion.buffer_slots(group)[0] is not None  # the mask: a kept bool buffer
            _same_bits(traced(o, other), fn(o, other))
            o2 = framework.tensor(_special(shape, 4))
            _same_bits(traced(o2, other), fn(o2, other))


def test_where_with_a_mask_read_again_keeps_the_mask():
    """The mask is also read after the where: it is not inverted in place (select runs)."""
    def fn(o, g):
        m = o <= 0
        return framework.where(m, 0, g), framework.where(m, g, 1.5)
    o, g = framework.tensor(_special((6, 7))), framework.tensor(_special((6, 7), 1))
    traced = _traced_and_fused(fn, o, g)
    assert len(_fused_nodes(traced)) == 1
    for got, want in zip(traced(o, g), fn(o, g)):
        _same_bits(got, want)


@pytest.mark.parametrize("shape", [(3, 5), (4, 8, 30, 30)])
def test_relu_in_a_group_has_eager_bits_and_runs_in_place(shape):
    x = framework.tensor(_special(shape))
    b = framework.tensor(_special(shape[-1:], 1))
    y = framework.tensor(_special(shape, 2))
    fn = lambda x, b, y: (x + b).relu() * y  # noqa: E731
    traced = _traced_and_fused(fn, x, b, y)
    group = _fused_nodes(traced)[0].args["group"]
    assert fusion.buffer_slots(group) == [0, 0, None]  # relu overwrites add's buffer
    _same_bits(traced(x, b, y), fn(x, b, y))
    bias_relu = lambda x, b: (x + b).relu()  # noqa: E731  (the conv's bias + relu)
    traced = _traced_and_fused(bias_relu, x, b)
    _same_bits(traced(x, b), bias_relu(x, b))
    xt = framework.tensor(_special(shape[::-1], 3)).permute(*range(len(shape))[::-1])
    strided = lambda xt, y: xt.relu() - y  # noqa: E731  (relu of a transposed input)
    traced = _traced_and_fused(strided, xt, y)
    assert len(_fused_nodes(traced)) == 1
    _same_bits(traced(xt, y), strided(xt, y))
    half = x.to(framework.float16)  # relu rounded to float16 as the unfused kernel stores it
    fn16 = lambda x: (x * 2).relu() + 1  # noqa: E731
    traced = _traced_and_fused(fn16, half)
    np.testing.assert_array_equal(traced(half).numpy().view(np.uint16),
                                  fn16(half).numpy().view(np.uint16))


class _DropoutResidual(nn.Module):
    """``x + dropout(linear(x))`` then ReLU: the transformer's residual branch."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        return F.relu(x + self.drop(self.fc(x.transpose(0, 1)).transpose(0, 1)))


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_dropout_fuses_with_the_eager_mask(device):
    """The dropout (read strided) and the residual add are one kernel in the forward, the
    backward's dropout joins the ReLU gradient; each call's masks are eager's, bit for bit."""
    framework.manual_seed(0)
    eager, twin = _DropoutResidual().to(device), _DropoutResidual().to(device)
    twin.load_state_dict(eager.state_dict())
    compiled = framework.compile(twin)
    x = framework.randn(6, 5, device=device)
    for seed in range(3):
        outs = []
        for module, run in ((eager, eager), (twin, compiled)):
            framework.manual_seed(seed)
            module.zero_grad()
            out = run(x)
            (out * out).sum().backward()
            outs.append(out.detach().cpu().numpy())
        np.testing.assert_array_equal(outs[1], outs[0])  # the same kept elements
        for p, q in zip(eager.parameters(), twin.parameters()):
            _close(q.grad, p.grad, 1e-5)
    entry = next(iter(compiled._compiled.cache.values()))
    for graph in (entry.forward_graph, entry.backward_graph):
        ops = [n.op for n in graph.nodes]
        assert "dropout" not in ops and "fused_elementwise" in ops
    groups = [n.args["group"] for n in entry.forward_graph.nodes if n.op == "fused_elementwise"]
    assert [i.op for i in groups[0].instrs][:2] == ["dropout", "add"]
    with count_launches() as replay:
        compiled(x)
    assert replay.by_op["dropout"] == 0 and replay.by_op["fused_elementwise"] == 1
    if device.startswith("cuda"):  # the generated kernel also compiles for sm_90
        path = codegen.path_of(groups[0])
        assert "tl.rand(seed0, (offset0 + idx).to(tl.uint32))" in path.read_text()
        _compiles_for_sm90(path)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_bias_gradient_sum_joins_the_group_computing_the_gradient(device, monkeypatch):
    """The MLP's tanh gradient group also sums its rows (the previous layer's bias gradient):
    one launch; gradients equal eager's (cpu: the backend's sum, the same bits)."""
    from framework.compiler import norms  # the group alone (not in its matmul's kernel)
    monkeypatch.setattr(norms, "_fuse_matmul_epilogue", lambda graph, mm: 0)
    framework.manual_seed(0)
    eager = nn.Sequential(nn.Linear(3, 70), nn.Tanh(), nn.Linear(70, 2)).to(device)
    twin = nn.Sequential(nn.Linear(3, 70), nn.Tanh(), nn.Linear(70, 2)).to(device)
    twin.load_state_dict(eager.state_dict())
    compiled = framework.compile(twin)
    x = framework.randn(37, 3, device=device)  # 37 rows, 70 columns: partial blocks
    for module, run in ((eager, eager), (twin, compiled), (twin, compiled)):
        module.zero_grad()
        (run(x) ** 2).sum().backward()
    for p, q in zip(eager.parameters(), twin.parameters()):
        if device == "cpu":
            np.testing.assert_array_equal(q.grad.numpy(), p.grad.numpy())
        else:
            _close(q.grad, p.grad, 1e-5)
    entry = next(iter(compiled._compiled.cache.values()))
    assert entry.optimize_stats["backward"]["reduction_epilogues"] == 1
    fused = [n for n in entry.backward_graph.nodes if n.op == "fused_elementwise"]
    group = fused[0].args["group"]
    assert group.reduce is not None and repr(group).endswith("| sum>")
    assert [n.op for n in entry.backward_graph.nodes].count("sum") == 1  # the last bias's
    if device.startswith("cuda"):  # the generated kernel also compiles for sm_90
        path = codegen.path_of(group)
        assert "for r0 in range(0, n_rows, BLOCK_R):" in path.read_text()
        _compiles_for_sm90(path)


def test_a_sum_keeping_dims_apart_stays_a_sum_and_a_trailing_sum_joins():
    def apart(x, y):  # keeps dims 0 and 2: not one block
        return ((x * y).exp()).sum(dim=1)
    x, y = framework.randn(3, 4, 5), framework.randn(3, 4, 5)
    traced = _traced_and_fused(apart, x, y)
    assert fusion.fuse_reduction_epilogues(traced.graph) == 0
    _close(traced(x, y), apart(x, y))

    def trailing(x, y):  # keeps dims 0 and 1 (inner = 5)
        return ((x * y).exp()).sum(dim=2)
    traced = _traced_and_fused(trailing, x, y)
    assert fusion.fuse_reduction_epilogues(traced.graph) == 1
    np.testing.assert_array_equal(traced(x, y).numpy(), trailing(x, y).numpy())


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_a_transposed_contiguous_copy_of_a_group_is_stored_transposed(device):
    """``(x * 2 + y).transpose(0, 1).contiguous()``: the group stores its result transposed
    (no copy_), the same values; its readers see a contiguous array."""
    def fn(x, y):
        t = (x * 2 + y).transpose(0, 1).contiguous()
        return t.view(-1) * 3  # a view only a contiguous result allows
    x, y = framework.randn(3, 4, 5, device=device), framework.randn(3, 4, 5, device=device)
    compiled = framework.compile(fn)
    with framework.no_grad():
        compiled(x, y)
        with count_launches() as n:
            got = compiled(x, y)
    _close(got, fn(x, y))
    entry = next(iter(compiled.cache.values()))
    assert "copy_" not in [node.op for node in entry.graph.nodes]
    group = _fused_nodes(entry)[0].args["group"]
    assert group.out_perm == {0: (1, 0, 2)}
    assert n.by_op["copy_"] == 0
    if device.startswith("cuda"):
        assert "ooff0 = offset6(" in codegen.path_of(group).read_text()
        _compiles_for_sm90(codegen.path_of(group))


def _compiles_for_sm90(path) -> None:
    """Triton's real compiler turns the generated kernel at ``path`` into PTX for sm_90 (both
    layouts), in a subprocess without the interpreter."""
    script = os.path.join(os.path.dirname(__file__), "compile_generated.py")
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_INTERPRET",
                                                              "FRAMEWORK_TRITON_INTERPRET")}
    env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, script, str(path)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("ptx ok") == 2


class _SoftmaxDropout(nn.Module):
    """Attention probabilities with dropout: ``dropout(softmax(q k^T * 0.5 + mask)) @ v``."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(4, 12)
        self.drop = nn.Dropout(0.25)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        mask = framework.full((x.shape[1], x.shape[1]), float("-inf")).triu(1).to(x.device)
        probs = F.softmax(q @ k.transpose(1, 2) * 0.5 + mask, dim=-1)
        return self.drop(probs) @ v


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_softmax_dropout_is_the_softmax_kernels_second_output(device):
    framework.manual_seed(0)
    eager, twin = _SoftmaxDropout().to(device), _SoftmaxDropout().to(device)
    twin.load_state_dict(eager.state_dict())
    compiled = framework.compile(twin)
    x = framework.randn(2, 5, 4, device=device)
    for seed in range(3):
        outs = []
        for module, run in ((eager, eager), (twin, compiled)):
            framework.manual_seed(seed)
            module.zero_grad()
            out = run(x)
            (out * out).sum().backward()
            outs.append(out.detach().cpu().numpy())
        _close(framework.tensor(outs[1]), framework.tensor(outs[0]), 1e-6)
        for p, q in zip(eager.parameters(), twin.parameters()):
            _close(q.grad, p.grad, 1e-5)
    entry = next(iter(compiled._compiled.cache.values()))
    assert entry.optimize_stats["forward"]["softmax_dropouts"] == 1
    assert "dropout" not in [n.op for n in entry.forward_graph.nodes]
    group = [n for n in entry.forward_graph.nodes if n.op == "fused_elementwise"
             and n.args["group"].softmax is not None][0].args["group"]
    assert repr(group).endswith("| softmax, dropout>")
    backward_ops = [n.op for n in entry.backward_graph.nodes]
    assert "softmax_backward" not in backward_ops and "dropout" not in backward_ops
    if device.startswith("cuda"):
        path = codegen.path_of(group)
        assert "keep = tl.rand(seed_drop, (offset_drop + idx).to(tl.uint32))" in path.read_text()
        _compiles_for_sm90(path)


class _LogSoftmaxExp(nn.Module):
    """``exp(log_softmax(fc(x)) * 0.5)``: the log-softmax gradient is computed elementwise."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 7)

    def forward(self, x):
        return (F.log_softmax(self.fc(x), dim=-1) * 0.5).exp()


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_log_softmax_backward_with_its_prologue_is_one_kernel(device):
    framework.manual_seed(0)
    eager, twin = _LogSoftmaxExp().to(device), _LogSoftmaxExp().to(device)
    twin.load_state_dict(eager.state_dict())
    compiled = framework.compile(twin)
    x = framework.randn(5, 4, device=device)
    for module, run in ((eager, eager), (twin, compiled), (twin, compiled)):
        module.zero_grad()
        (run(x) * framework.arange(7, device=device)).sum().backward()
    for p, q in zip(eager.parameters(), twin.parameters()):
        if device == "cpu":  # the backend's softmax_backward on the plan's result
            np.testing.assert_array_equal(q.grad.numpy(), p.grad.numpy())
        else:
            _close(q.grad, p.grad, 1e-5)
    entry = next(iter(compiled._compiled.cache.values()))
    assert entry.optimize_stats["backward"]["softmax_backward_prologues"] == 1
    group = [n.args["group"] for n in entry.backward_graph.nodes
             if n.op == "fused_elementwise" and n.args["group"].softmax][0]
    assert repr(group).endswith("| log_softmax_backward>")
    if device.startswith("cuda"):
        path = codegen.path_of(group)
        assert "dx = g - tl.exp(y) * tl.sum(g, axis=0)" in path.read_text()
        _compiles_for_sm90(path)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_a_sum_over_the_transposed_rows_of_a_transposed_output_joins_the_group(device):
    """``t = (x * 2 + y).transpose(0, 1).contiguous()`` and ``t.sum((0, 1))``: the transpose
    only permutes the summed dims, so the group sums in its own order; one launch."""
    def fn(x, y):
        t = (x * 2 + y).transpose(0, 1).contiguous()
        return t.view(-1) * 3, t.sum(dim=(0, 1))
    x, y = framework.randn(3, 4, 5, device=device), framework.randn(3, 4, 5, device=device)
    compiled = framework.compile(fn)
    with framework.no_grad():
        compiled(x, y)
        got = compiled(x, y)
    want = fn(x, y)
    _close(got[0], want[0])
    if device == "cpu":  # the plan sums the transposed output as eager does: the same bits
        np.testing.assert_array_equal(got[1].numpy(), want[1].numpy())
    else:
        _close(got[1], want[1], 1e-5)
    entry = next(iter(compiled.cache.values()))
    assert "sum" not in [n.op for n in entry.graph.nodes]
    group = _fused_nodes(entry)[0].args["group"]
    assert group.out_perm == {0: (1, 0, 2)} and group.reduce is not None


class _TwoNorms(nn.Module):
    """Two LayerNorms: their weight and bias gradients are four sums over the same rows."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.LayerNorm(6), nn.LayerNorm(6)
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        return self.b(self.fc(self.a(x)))


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_sibling_sums_of_norm_gradients_are_one_kernel(device, monkeypatch):
    from framework.compiler import norms
    monkeypatch.setattr(norms, "NORM_SUM_MAX_ELEMENTS", 0)  # sums too big for the norm kernel
    framework.manual_seed(0)
    eager, twin = _TwoNorms().to(device), _TwoNorms().to(device)
    twin.load_state_dict(eager.state_dict())
    compiled = framework.compile(twin)
    x = framework.randn(3, 5, 6, device=device)
    w = framework.randn(3, 5, 6, device=device)
    for module, run in ((eager, eager), (twin, compiled), (twin, compiled)):
        module.zero_grad()
        (run(x) * w).sum().backward()
    for (name, p), q in zip(eager.named_parameters(), twin.parameters()):
        if device == "cpu":  # np.sum of each input, as the backend's sum
            np.testing.assert_array_equal(q.grad.numpy(), p.grad.numpy(), err_msg=name)
        else:
            _close(q.grad, p.grad, 1e-5)
    entry = next(iter(compiled._compiled.cache.values()))
    assert entry.optimize_stats["backward"]["sibling_sums"] == 2  # one per norm
    loads = [n.args["group"] for n in entry.backward_graph.nodes if n.op == "fused_elementwise"
             and n.args["group"].instrs[0].kind == "load"]
    assert len(loads) == 2 and all(len(g.reduce["extra"]) == 1 for g in loads)
    if device.startswith("cuda"):
        path = codegen.path_of(loads[0])
        assert "acc1 += tl.where(mask, t1, 0.0)" in path.read_text()
        _compiles_for_sm90(path)


def _effect_graph(write_read_buffer: bool):
    """``a = exp(t); copy_(dst, y); b = a * t`` with ``t`` a buffer filled from ``x``; the
    middle copy writes ``t`` itself (``write_read_buffer``) or a fresh buffer."""
    from framework.compiler.ir import DType, Graph, Node
    f32 = DType("float32")
    g = Graph()
    x, y = g.new_value((4,), "float32", "cpu", "input0"), g.new_value((4,), "float32", "cpu",
                                                                         "input1")
    g.inputs, g.user_inputs = [x, y], 2
    t, other, a, b = (g.new_value((4,), "float32", "cpu") for _ in range(4))
    g.nodes = [Node("empty", {"shape": (4,), "dtype": f32}, [t]),
               Node("copy_", {"dst": t, "src": x}, [None]),
               Node("empty", {"shape": (4,), "dtype": f32}, [other]),
               Node("exp", {"x": t, "out_dtype": f32}, [a]),
               Node("copy_", {"dst": t if write_read_buffer else other, "src": y}, [None]),
               Node("mul", {"a": a, "b": t, "compute_dtype": f32, "out_dtype": f32}, [b])]
    g.output = (b, other)
    return g


@pytest.mark.parametrize("write_read_buffer", [False, True])
def test_a_copy_stops_a_group_only_when_it_writes_what_the_group_reads(write_read_buffer):
    from framework.compiler.runtime import GraphModule
    g = _effect_graph(write_read_buffer)
    assert fusion.fuse_elementwise(g) == (0 if write_read_buffer else 1)
    x, y = framework.randn(4), framework.randn(4)
    got = GraphModule(g, {}, None)(x, y)[0]
    t = y if write_read_buffer else x  # what mul reads as t
    _close(got, x.exp() * t)


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_conv_bias_gradient_sum_over_batch_and_space_joins_the_relu_gradient(device):
    """``sum(g, dims=(0, 2, 3))`` (kept dim 1, inner = H * W): into the ReLU-gradient group."""
    from compiler_models import on
    eager, (x,) = on(device, "cnn")
    twin, _ = on(device, "cnn")
    twin.load_state_dict(eager.state_dict())
    compiled = framework.compile(twin)
    for module, run in ((eager, eager), (twin, compiled), (twin, compiled)):
        module.zero_grad()
        (run(x) ** 2).sum().backward()
    for (name, p), q in zip(eager.named_parameters(), twin.parameters()):
        if device == "cpu":
            np.testing.assert_array_equal(q.grad.numpy(), p.grad.numpy(), err_msg=name)
        else:
            _close(q.grad, p.grad, 1e-5)
    entry = next(iter(compiled._compiled.cache.values()))
    groups = [n.args["group"] for n in entry.backward_graph.nodes
              if n.op == "fused_elementwise" and n.args["group"].reduce is not None
              and n.args["group"].reduce["inner"] > 1]
    assert groups and groups[0].reduce["dims"] == (0, 2, 3)
    if device.startswith("cuda"):
        _compiles_for_sm90(codegen.path_of(groups[0]))
