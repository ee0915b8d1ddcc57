"""The CPU plan (``framework/compiler/cpu_plan.py``): kernels writing into kept buffers.

Compiled results must have eager's bits (the plan's steps compute the NumPy backend's math
in the same order), buffers must be reused across replays only when nothing outside the
plan holds them, and concurrent calls must not share buffers.
"""
from __future__ import annotations

import threading
import weakref

import numpy as np
import pytest

import framework
import framework.nn as nn
import framework.nn.functional as F
from framework._backends import load
from framework._backends.numpy._arrays import nd, wrap
from framework.compiler import cpu_plan, runtime, splitk
from framework.compiler.launches import count_launches


def lenet(c: int = 4) -> nn.Module:
    """The bench's LeNet at a small size: conv/relu/pool twice, dropout, two linears."""
    return nn.Sequential(
        nn.Conv2d(1, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(2 * c * 2 * 2, 16), nn.ReLU(),
        nn.Dropout(0.25), nn.Linear(16, 3))


class Attention(nn.Module):
    """Embedding + a pre-norm encoder layer with dropout (softmax, its dropout, layer norm)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(11, 8)
        self.layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.1,
                                                activation="relu", batch_first=True,
                                                norm_first=True)
        self.head = nn.Linear(8, 5)

    def forward(self, ids):
        mask = nn.Transformer.generate_square_subsequent_mask(ids.shape[1])
        return self.head(self.layer(self.embed(ids), src_mask=mask, is_causal=True))


def _bits(t) -> np.ndarray:
    a = t.detach().numpy()
    return a.view(np.uint32) if a.dtype == np.float32 else a


def _twins(build, seed: int = 0):
    framework.manual_seed(seed)
    model = build().train()
    twin = build().train()
    twin.load_state_dict(model.state_dict())
    return model, twin


def _train_steps(model, run, x, steps: int):
    """Per step: (loss, gradients); each step draws new dropout masks (seed = step)."""
    optimizer = framework.optim.Adam(model.parameters(), lr=1e-2)
    found = []
    for step in range(steps):
        framework.manual_seed(100 + step)
        optimizer.zero_grad()
        out = run(x)
        loss = F.mse_loss(out, framework.zeros(out.shape))
        loss.backward()
        found.append((loss.detach().clone(), [p.grad.clone() for p in model.parameters()]))
        optimizer.step()
    return found


def _assert_same_bits(eager, compiled):
    """The losses and gradients of ``_train_steps`` runs are equal bit for bit."""
    for (loss_e, grads_e), (loss_c, grads_c) in zip(eager, compiled):
        assert np.array_equal(_bits(loss_e), _bits(loss_c))
        for ge, gc in zip(grads_e, grads_c):
            assert np.array_equal(_bits(ge), _bits(gc))


@pytest.mark.parametrize("build, make_input", [
    (lenet, lambda: framework.randn(5, 1, 8, 8)),
    (Attention, lambda: framework.randint(0, 11, (3, 6))),
])
def test_compiled_training_has_eager_bits(build, make_input, monkeypatch):
    # merging split matmuls (attention's q/k/v input gradients) sums in another order:
    # float32 rounding, not the CPU plan's; off here, it is tested in test_splitk.py
    monkeypatch.setattr(splitk, "merge_split_matmuls", lambda graph: 0)
    model, twin = _twins(build)
    x = make_input()
    eager = _train_steps(model, model, x, 4)
    compiled = _train_steps(twin, framework.compile(twin), x, 4)
    _assert_same_bits(eager, compiled)


def test_compiled_lenet_on_three_threads_has_eager_bits(monkeypatch):
    # the conv kernels run blocks of images on the BLAS thread count (the plan's scratch per
    # thread); the weight grad sums the blocks' parts: the same blocks, the same bits
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    model, twin = _twins(lenet)
    x = framework.randn(7, 1, 8, 8)
    eager = _train_steps(model, model, x, 2)
    compiled = _train_steps(twin, framework.compile(twin), x, 2)
    _assert_same_bits(eager, compiled)


def _cpu_plan_of(compiled):
    entry = next(iter(compiled._compiled.cache.values()))
    return entry


def test_the_lenet_plan_runs_its_hot_kernels_as_plan_steps():
    model, twin = _twins(lenet)
    compiled = framework.compile(twin)
    x = framework.randn(5, 1, 8, 8)
    F.mse_loss(compiled(x), framework.zeros(5, 3)).backward()
    entry = _cpu_plan_of(compiled)
    ops = {part: [step[2] for step, _ in plan.program if step[0] == runtime.Plan._SPECIAL]
           for part, plan in (("forward", entry.run_forward), ("backward", entry.run_backward))}
    # conv + bias + relu as one step (no separate fused group), pooling, dropout, linears
    assert ops["forward"].count("conv2d") == 2
    assert "fused_elementwise" not in [s[2] for s, _ in entry.run_forward.program if s[0] == 1]
    assert {"pool_max2d", "dropout", "matmul_epilogue"} <= set(ops["forward"])
    assert {"conv2d_input_grad", "conv2d_weight_grad", "pool_max2d_backward",
            "matmul"} <= set(ops["backward"])
    with count_launches() as n:
        F.mse_loss(compiled(x), framework.zeros(5, 3)).backward()
    assert n.by_op["conv2d"] == 2 and n.by_op["pool_max2d_backward"] == 2


@pytest.mark.skipif(not cpu_plan._REUSE, reason="value buffers are reused only where "
                    "CPython's reference counts are exact (GIL, before 3.14)")
def test_buffers_are_reused_across_training_steps():
    model, twin = _twins(lenet)
    compiled = framework.compile(twin)
    x = framework.randn(5, 1, 8, 8)
    _train_steps(twin, compiled, x, 2)
    entry = _cpu_plan_of(compiled)
    arenas = [plan._arenas[0] for plan in (entry.run_forward, entry.run_backward)]
    before = [{k: weakref.ref(st) for k, st in a.storages.items()} for a in arenas]
    _train_steps(twin, compiled, x, 2)
    for arena, old in zip(arenas, before):
        same = [k for k, st in arena.storages.items() if k in old and old[k]() is st]
        assert len(same) == len(arena.storages) > 0  # every kept value buffer reused
    kept = {id(st) for a in arenas for st in a.storages.values()}
    for p in twin.parameters():  # gradients are the caller's own memory, taken as .grad
        assert id(p.grad._a.storage) not in kept


def test_outputs_the_caller_holds_are_not_overwritten():
    framework.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(12, 4), nn.ReLU()).eval()
    traced = framework.jit.trace(model, (framework.randn(2, 1, 4, 4),))
    compiled = framework.compile(model)
    inputs = [framework.randn(2, 1, 4, 4) for _ in range(3)]
    with framework.no_grad():
        for run in (traced, compiled):
            held = [run(x) for x in inputs]  # each result kept while the next call runs
            numpy_held = run(inputs[0]).numpy()  # only a NumPy view of the result kept
            run(inputs[1])
            for x, y in zip(inputs, held):
                assert np.array_equal(_bits(y), _bits(model(x)))
            assert np.array_equal(numpy_held, model(inputs[0]).numpy())


def test_two_forwards_before_one_backward_keep_their_saved_values():
    model, twin = _twins(lenet)
    compiled = framework.compile(twin)
    x1, x2 = framework.randn(5, 1, 8, 8), framework.randn(5, 1, 8, 8)
    compiled(x1)  # traced: later calls replay
    grads = []
    for net, run in ((model, model), (twin, compiled)):
        framework.manual_seed(7)
        for p in net.parameters():
            p.grad = None
        loss = F.mse_loss(run(x1), framework.zeros(5, 3)) + run(x2).square().mean()
        loss.backward()
        grads.append([p.grad for p in net.parameters()])
    for ge, gc in zip(*grads):
        assert np.array_equal(_bits(ge), _bits(gc))


def test_concurrent_calls_use_separate_buffers():
    framework.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(64, 8)).eval()
    compiled = framework.compile(model)
    inputs = [framework.randn(3, 1, 8, 8) for _ in range(4)]
    with framework.no_grad():
        expected = [model(x).numpy() for x in inputs]
        compiled(inputs[0])
    errors = []

    def worker(k):
        with framework.no_grad():
            for _ in range(20):
                if not np.array_equal(compiled(inputs[k]).numpy(), expected[k]):
                    errors.append(k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_max_pool_ties_signed_zeros_and_nan_match_the_backend():
    backend = load("numpy").kernels
    data = np.zeros((2, 3, 4, 6), np.float32)
    data[0, 0, :2, :2] = [[-0.0, 0.0], [0.0, -0.0]]  # ties of signed zeros: the first wins
    data[0, 1, :2, :2] = [[1.0, 3.0], [3.0, 3.0]]
    data[1] = np.random.default_rng(0).integers(-2, 3, (3, 4, 6))  # many ties
    with_nan = np.where(data == 1.0, np.nan, data).astype(np.float32)
    for values in (data, with_nan):
        graph = framework.jit.trace(lambda t: F.max_pool2d(t, 2, return_indices=True),
                                    (framework.tensor(values),), check_trace=False).graph
        plan = runtime.Plan(graph)
        assert [s[2] for s, _ in plan.program if s[0] == runtime.Plan._SPECIAL] == ["pool_max2d"]
        x = wrap(values.copy())
        got = plan([x])
        node = next(n for n in graph.nodes if n.op == "pool_max2d")
        ref = backend["pool_max2d"](x, *[runtime._resolve(a, runtime._static_arg)
                                          for k, a in node.args.items() if k != "x"])
        assert np.array_equal(nd(got[0]).view(np.uint32), nd(ref[0]).view(np.uint32))
        assert np.array_equal(nd(got[1]), nd(ref[1]))


def test_pool_backward_outside_its_own_tile_falls_back_to_the_scatter():
    # kernel 3, stride 2, padding 1 on 8x8: a 4x4 output whose argmax may lie in a
    # neighbour's 2x2 tile (and two outputs may share one): the backend's scatter
    model, twin = _twins(lambda: nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1),
        nn.Flatten(), nn.Linear(32, 2)))
    x = framework.randn(3, 1, 8, 8)
    eager = _train_steps(model, model, x, 2)
    compiled = _train_steps(twin, framework.compile(twin), x, 2)
    for (_, ge), (_, gc) in zip(eager, compiled):
        for a, b in zip(ge, gc):
            assert np.array_equal(_bits(a), _bits(b))


def test_dropout_masks_are_drawn_once_per_seed_and_offset():
    masks = cpu_plan.DropoutMasks(max_bytes=1 << 20)
    first = masks.get(3, 10, (4, 5), 0.25)
    again = masks.get(3, 10, (4, 5), 0.25)
    assert again.base is first.base or again is first or np.shares_memory(again, first)
    draws = np.random.Generator(np.random.Philox(key=3))
    draws.bit_generator.advance(10)
    assert np.array_equal(first.ravel(), draws.random(20) >= 0.25)
    assert not masks.get(3, 11, (4, 5), 0.25).base is first.base  # another offset
    x = framework.randn(64, 33)
    out = np.empty((64, 33), np.float32)
    cpu_plan.dropout_into(x.numpy(), 0.3, 5, 7, out)
    ref = load("numpy").kernels["dropout"](x._a, 0.3, 5, 7)
    assert np.array_equal(out.view(np.uint32), nd(ref).view(np.uint32))
    small = cpu_plan.DropoutMasks(max_bytes=100)  # over budget: the oldest dropped
    small.get(1, 0, (80,), 0.5)
    small.get(2, 0, (80,), 0.5)
    assert len(small._masks) == 1


def test_float64_and_strided_cases_still_run_through_the_backend():
    framework.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.ReLU(), nn.Flatten(),
                          nn.Linear(18, 3)).double().eval()
    x = framework.randn(2, 1, 7, 7, dtype=framework.float64)
    traced = framework.jit.trace(model, (x,))
    plan = runtime.Plan(traced.graph)
    assert not [s for s, _ in plan.program if s[0] == runtime.Plan._SPECIAL]
    with framework.no_grad():
        assert np.array_equal(traced(x).numpy(), model(x).numpy())


class ConvVariants(nn.Module):
    """A grouped conv with bias and relu, a conv without bias, and a conv output returned."""

    def __init__(self) -> None:
        super().__init__()
        self.grouped = nn.Conv2d(2, 4, 3, padding=1, groups=2)
        self.plain = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.last = nn.Conv2d(4, 2, 3, padding=1)

    def forward(self, x):
        y = F.max_pool2d(F.relu(self.grouped(x)), 2)
        z = F.relu(self.plain(y))
        out = self.last(z)
        return out, F.relu(out).sum(dim=(2, 3))


def test_grouped_biasless_and_returned_convolutions_have_eager_bits():
    model, twin = _twins(ConvVariants)
    x = framework.randn(3, 2, 8, 8)
    compiled = framework.compile(twin)
    found = []
    for net, run in ((model, model), (twin, compiled)):
        for _ in range(2):  # the second call replays
            for p in net.parameters():
                p.grad = None
            out, pooled = run(x)
            (out.square().mean() + pooled.sum()).backward()
        found.append([out, pooled] + [p.grad for p in net.parameters()])
    for a, b in zip(*found):
        assert np.array_equal(_bits(a), _bits(b))
    entry = _cpu_plan_of(compiled)
    assert sum(s[2] == "conv2d" for s, _ in entry.run_forward.program
               if s[0] == runtime.Plan._SPECIAL) == 3


def test_a_training_forward_keeps_conv_columns_for_its_backward_and_inference_does_not():
    # the plan's conv runs the backend's code: a training forward keeps its im2col columns
    # for the weight grad (which takes them); an inference plan keeps none
    from framework._backends.numpy import conv as np_conv
    framework.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(48, 2))
    compiled = framework.compile(model)
    compiled(framework.randn(2, 1, 4, 4)).sum().backward()  # traced: later calls replay
    x = framework.randn(2, 1, 4, 4)
    out = compiled(x)
    assert np_conv._KEPT_COLUMNS.get(x._a.storage)
    out.sum().backward()
    assert not np_conv._KEPT_COLUMNS.get(x._a.storage)
    with framework.no_grad():
        compiled(framework.randn(2, 1, 4, 4))
        x = framework.randn(2, 1, 4, 4)
        compiled(x)
    assert not np_conv._KEPT_COLUMNS.get(x._a.storage)


@pytest.mark.skipif(not cpu_plan._REUSE, reason="value buffers are reused only where "
                    "CPython's reference counts are exact (GIL, before 3.14)")
def test_a_reused_value_buffer_is_not_read_through_stale_kept_columns():
    # the backend's conv keeps its columns by the input's storage and version: a value
    # buffer the arena reuses holds new contents, so it is a new version
    arena, key = cpu_plan.Arena(), cpu_plan.BufferKey()
    key.n = 0
    rng = np.random.default_rng(3)
    w = wrap(rng.standard_normal((2, 1, 3, 3)).astype(np.float32))
    dy = wrap(rng.standard_normal((2, 2, 4, 4)).astype(np.float32))
    args = ((1, 1), (1, 1), (1, 1), 1)
    kernels = load("numpy").kernels
    x, view = arena.out(key, (2, 1, 4, 4), framework.float32)
    view[...] = rng.standard_normal(view.shape)
    kernels["conv2d"](x, w, *args, (4, 4))  # keeps its columns of x
    storage = weakref.ref(x.storage)
    del x, view
    x, view = arena.out(key, (2, 1, 4, 4), framework.float32)
    assert x.storage is storage()  # reused, with new contents
    view[...] = rng.standard_normal(view.shape)
    got = kernels["conv2d_weight_grad"](x, dy, *args, (3, 3))
    fresh = kernels["conv2d_weight_grad"](wrap(view.copy()), dy, *args, (3, 3))
    assert np.array_equal(nd(got), nd(fresh))


def tanh_mlp() -> nn.Module:
    """The compile bench's PINN MLP at a small size (a one-feature input: a K=1 matmul, an
    outer product the plan computes as a multiply where the probe allows)."""
    return nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(),
                         nn.Linear(16, 1))


def test_a_tanh_mlp_runs_its_layers_as_plan_steps_with_eager_bits():
    model, twin = _twins(tanh_mlp)
    compiled = framework.compile(twin)
    x = framework.randn(20, 1)
    eager = _train_steps(model, model, x, 3)
    found = _train_steps(twin, compiled, x, 3)
    _assert_same_bits(eager, found)
    entry = _cpu_plan_of(compiled)
    names = {part: [step[1].__name__ for step, _ in plan.program
                    if step[0] == runtime.Plan._SPECIAL]
             for part, plan in (("forward", entry.run_forward), ("backward", entry.run_backward))}
    # linear + tanh as one step; tanh's backward through the next linear, with the bias grad
    assert names["forward"].count("matmul_unary") == 2
    assert names["backward"].count("matmul_epilogue_sums") == 2
    with framework.no_grad():  # inference: the same steps, eager's bits
        traced_eval = framework.compile(twin.eval())
        for _ in range(2):
            assert np.array_equal(_bits(traced_eval(x)), _bits(twin(x)))


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # eager's inf * 0
def test_the_epilogue_steps_keep_signed_zeros_nan_and_inf_as_the_backend():
    framework.manual_seed(1)
    model = tanh_mlp().eval()
    x = framework.tensor([[0.0], [-0.0], [float("nan")], [float("inf")], [-float("inf")],
                          [1e-30], [-1e-30], [3e-39], [-3.0], [1e20]] * 2)
    with framework.no_grad():
        model[0].weight[:4] = framework.tensor([[0.0], [-0.0], [-1e-20], [float("inf")]])
        model[0].bias[:3] = framework.tensor([0.0, -0.0, 0.0])  # zero products plus zeros
        compiled = framework.compile(model)
        for _ in range(2):
            assert np.array_equal(_bits(compiled(x)), _bits(model(x)))
    mlp, twin = _twins(tanh_mlp)
    with framework.no_grad():
        for m in (mlp, twin):
            m[4].weight[0, :3] = framework.tensor([0.0, -0.0, 1e-30])
    x = framework.randn(20, 1)
    x[:2] = 0.0
    _assert_same_bits(_train_steps(mlp, mlp, x, 2),  # the backward's outer product too
                      _train_steps(twin, framework.compile(twin), x, 2))


def test_the_outer_product_probe_agrees_with_the_gemm():
    rng = np.random.default_rng(0)
    for m, n in ((16, 16), (256, 32), (33, 17)):
        if not cpu_plan._outer_is_multiply(m, n):
            continue  # this BLAS keeps the GEMM: nothing to check
        a = (rng.standard_normal((1, m, 1)) * 1e-20).astype(np.float32)
        b = (rng.standard_normal((1, 1, n)) * 1e-20).astype(np.float32)
        a[0, :3, 0] = [0.0, -0.0, np.inf]
        gemm = np.matmul(a, b)
        z = np.empty_like(gemm)
        with np.errstate(all="ignore"):
            cpu_plan._product_into(z, wrap(a), wrap(b), None, True)
        assert np.array_equal(gemm.view(np.uint32), z.view(np.uint32))
    assert not cpu_plan._outer_is_multiply(8, 32)  # too small to see every pair


def test_the_generated_plan_function_matches_the_interpreter():
    _, twin = _twins(lenet)
    _, other = _twins(lenet)
    x = framework.randn(5, 1, 8, 8)
    generated, interpreted = framework.compile(twin), framework.compile(other)
    for compiled in (generated, interpreted):
        F.mse_loss(compiled(x), framework.zeros(5, 3)).backward()
    plans = [(entry.run_forward, entry.run_backward)
             for entry in (_cpu_plan_of(generated), _cpu_plan_of(interpreted))]
    for plan in plans[0]:
        assert plan._straight is not None and "def run" in plan._straight.source
    for plan in plans[1]:
        plan._straight = None  # Plan._interpret runs the same program step by step
    _assert_same_bits(_train_steps(twin, generated, x, 3),
                      _train_steps(other, interpreted, x, 3))


class ReluPool(nn.Module):
    """``max_pool2d(relu(x))`` (or without the relu) of a parameter ``x`` (so its gradient is
    the pool's and relu's backward), scaled by the input (gradients of both signs, zeros)."""

    def __init__(self, data: np.ndarray, kernel: int, relu: bool = True) -> None:
        super().__init__()
        self.x = nn.Parameter(framework.tensor(data))
        self.kernel, self.relu = kernel, relu

    def forward(self, w):
        x = self.x * 1.0  # an op before the relu (exact): the relu is a fused group
        return F.max_pool2d(F.relu(x) if self.relu else x, self.kernel) * w


def _pool_cases() -> list:
    """Inputs with ties (small integers), signed zeros, negative-only tiles, NaN."""
    rng = np.random.default_rng(5)
    ties = rng.integers(-2, 3, (3, 4, 8, 6)).astype(np.float32)
    ties[0, 0, :2, :2] = [[-0.0, 0.0], [0.0, -0.0]]
    ties[0, 1] = -np.abs(ties[0, 1]) - 1.0  # negative-only tiles: relu's zeros tie
    ties[1, 2, :2, :2] = [[1.0, 3.0], [3.0, 3.0]]
    with_nan = ties.copy()
    with_nan[2, 3, 4, 1] = np.nan
    return [ties, with_nan, rng.standard_normal((3, 4, 8, 6)).astype(np.float32)]


@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("shape, kernel", [((3, 4, 8, 6), 2),  # whole tiles: by pairs
                                           ((3, 4, 9, 7), 2),  # a spare row and column
                                           ((3, 4, 9, 6), 3)])  # 3x3 tiles
def test_pool_forward_and_backward_steps_have_eager_bits(shape, kernel, relu):
    cpu_plan.TILED.clear()
    for data in _pool_cases():
        data = np.ascontiguousarray(np.resize(data, shape))
        eager, twin = ReluPool(data, kernel, relu), ReluPool(data, kernel, relu)
        compiled = framework.compile(twin)
        rng = np.random.default_rng(1)
        for step in range(3):  # traced, then replayed: the same buffers, new gradients
            w = rng.integers(-1, 2, (shape[0], shape[1], shape[2] // kernel,
                                     shape[3] // kernel)).astype(np.float32)
            w[0, 0, 0, 0] = -0.0
            w = framework.tensor(w)
            found = []
            for model, run in ((eager, eager), (twin, compiled)):
                model.x.grad = None
                out = run(w)
                out.sum().backward()
                found.append((out, model.x.grad))
            (out_e, grad_e), (out_c, grad_c) = found
            assert np.array_equal(_bits(out_e), _bits(out_c))
            assert np.array_equal(_bits(grad_e), _bits(grad_c))
    entry = _cpu_plan_of(compiled)
    steps = {part: [s[2] for s, _ in plan.program if s[0] == runtime.Plan._SPECIAL]
             for part, plan in (("forward", entry.run_forward), ("backward", entry.run_backward))}
    assert "pool_max2d" in steps["forward"]
    whole = shape[2] % kernel == 0 and shape[3] % kernel == 0  # else the backend's scatter
    assert ("pool_max2d_backward" in steps["backward"]) == whole


def test_pool_backward_scatters_the_forwards_indices_and_else_compares_them():
    # the same step with and without the forward's record: the backend's bits either way
    backend = load("numpy").kernels
    rng = np.random.default_rng(2)
    values = rng.integers(-2, 3, (2, 3, 6, 4)).astype(np.float32)
    graph = framework.jit.trace(lambda t: F.max_pool2d(t, 2, return_indices=True),
                                (framework.tensor(values),), check_trace=False).graph
    forward = runtime.Plan(graph)
    x = wrap(values.copy())
    best, indices = forward([x])
    entry = cpu_plan.TILED.get(indices, (2, 2))
    assert entry is not None
    assert cpu_plan.TILED.positive(entry, x) is not None
    assert cpu_plan.TILED.positive(entry, wrap(values.copy())) is None  # another array
    grad = wrap(rng.standard_normal(nd(best).shape).astype(np.float32))
    ref = backend["pool_max2d_backward"](grad, indices, (6, 4))
    copied = wrap(nd(indices).copy())  # the same indices, not the forward's: no codes
    assert cpu_plan.TILED.get(copied, (2, 2)) is None
    assert cpu_plan.TILED.get(indices, (3, 3)) is None
    for idx in (indices, copied):
        got = _run_pool_backward(grad, idx, (2, 3, 6, 4))
        assert np.array_equal(nd(got).view(np.uint32), nd(ref).view(np.uint32))
    indices.storage.version += 1  # changed in place: the codes no longer apply
    assert cpu_plan.TILED.get(indices, (2, 2)) is None


def _run_pool_backward(grad, indices, shape):
    """``pool_max2d_backward`` through the plan's step (a traced graph of one node)."""
    from framework.compiler import ir
    g = ir.Value(0, tuple(nd(grad).shape), "float32", "cpu")
    i = ir.Value(1, tuple(nd(indices).shape), "int64", "cpu")
    out = ir.Value(2, shape, "float32", "cpu")
    node = ir.Node("pool_max2d_backward", {"grad": g, "indices": i, "in_size": shape[2:]},
                   [out])
    key = cpu_plan.BufferKey()
    key.n = 0
    special = cpu_plan._pool_max2d_backward(node, lambda value: key)
    return special.fn(cpu_plan.Arena(), grad, indices, shape[2:])


def test_relu_into_has_the_backends_bits_by_maximum_and_by_mask(monkeypatch):
    values = np.array([-0.0, 0.0, np.nan, -np.nan, -1.0, 1.0, np.inf, -np.inf, -1e-40, 2.5] * 7,
                      np.float32)
    from framework._backends.numpy.elementwise import _relu_into
    ref = np.empty_like(values)
    _relu_into(values, ref)  # the backend's bit-mask relu (its large inputs' path)
    for zero in (cpu_plan._relu_zero(), None):  # np.maximum(0, v) where it applies; the mask
        monkeypatch.setattr(cpu_plan, "_relu_zero", lambda: zero)
        out = np.empty_like(values)
        cpu_plan.relu_into(values, out, lambda: np.empty(values.shape, np.bool_))
        assert np.array_equal(out.view(np.uint32), ref.view(np.uint32))
