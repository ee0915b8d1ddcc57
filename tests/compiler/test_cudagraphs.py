"""``framework.compile(mode="reduce-overhead")``: static cuda plans replayed as CUDA graphs.

Where no GPU is present (CI: cpu and the Triton interpreter) the mode must compile and run
exactly as the default mode, saying why it does not capture. The replay logic itself
(static inputs, outputs copied out, parameters read in place, capture again when one
moves, a failed or wrong capture falling back) is checked on both devices with
``ReplayingCapture`` standing in for the driver's graph: it runs the captured plan again
on the same static arrays and copies the results into the captured outputs, which is
what launching a CUDA graph does to memory. The last test runs the real CUDA graphs and
is skipped except on a GPU (bench/gpu_check.sh runs it there).
"""
from __future__ import annotations

import functools
import logging
import time

import numpy as np
import pytest

import framework
import framework.nn as nn
from framework.compiler import cudagraphs


def _same(a, b, tol=0.0):
    np.testing.assert_allclose(a.detach().cpu().numpy(), b.detach().cpu().numpy(), rtol=tol,
                               atol=tol)


def _model(device):
    framework.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).to(device)


class ReplayingCapture:
    """A stand-in for ``cudagraphs.CudaGraph`` on any device (module docstring)."""

    made: list = []

    def __init__(self, backend, broken: str = "") -> None:
        self.backend, self.broken = backend, broken
        self.fn = self.outputs = None
        self.launches = 0
        self.released = False
        ReplayingCapture.made.append(self)

    def capture(self, fn):
        if self.broken == "capture":
            raise RuntimeError("operation not permitted when stream is capturing")
        self.fn, self.outputs = fn, fn()
        return self.outputs

    def launch(self) -> None:
        self.launches += 1
        if self.broken == "slow":  # a long graph: another thread's call could overlap it
            time.sleep(0.002)
        fresh = self.fn()
        for kept, new in zip(cudagraphs._leaves(self.outputs), cudagraphs._leaves(fresh)):
            if self.broken == "launch":  # a graph that wrote something else
                self.backend.copy_(kept, self.backend.full(new.shape, 7.0, new.dtype))
            else:
                self.backend.copy_(kept, new)

    def release(self) -> None:
        self.released = True


@pytest.fixture
def replaying(monkeypatch, device):
    """Capture with ``ReplayingCapture`` on ``device`` (which has no CUDA graphs here)."""
    backend = framework._backends.for_device(framework.device(device))
    monkeypatch.setattr(cudagraphs, "_device_blocker", lambda graph: None)
    ReplayingCapture.made = []

    def use(broken: str = ""):
        monkeypatch.setattr(cudagraphs, "CudaGraph", lambda: ReplayingCapture(backend, broken))
        return ReplayingCapture.made
    return use


def _graphed_plan(compiled):
    function = compiled._compiled
    entries = [e for e in function.cache.values() if hasattr(e, "_plan")]
    assert len(entries) == 1
    return entries[0]._plan


def test_an_unknown_mode_or_a_mode_with_options_raises():
    with pytest.raises(RuntimeError, match="Unrecognized mode='fastest', should be one of: "
                                           "default, reduce-overhead"):
        framework.compile(mode="fastest")
    with pytest.raises(RuntimeError, match="Either mode or options"):
        framework.compile(nn.Linear(2, 2), mode="reduce-overhead", options={"fusion": False})


def test_reduce_overhead_runs_as_the_default_mode_where_there_is_no_gpu(device, caplog):
    model = _model(device)
    compiled = framework.compile(model, mode="reduce-overhead")
    with framework.no_grad(), caplog.at_level(logging.INFO, logger="framework.compile"):
        for k in range(3):
            x = framework.randn(5, 4, device=device) + k
            _same(compiled(x), model(x))
    plan = _graphed_plan(compiled)
    assert not isinstance(plan, cudagraphs.GraphedPlan)
    expected = "runs on cpu" if device == "cpu" else "interpreter has no CUDA graphs"
    assert "not using CUDA graphs" in caplog.text and expected in caplog.text


def test_a_graph_with_random_draws_is_not_captured(replaying, device, caplog):
    replaying()
    framework.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2)).to(device)
    compiled = framework.compile(model, mode="reduce-overhead")
    x = framework.randn(6, 4, device=device)
    with caplog.at_level(logging.INFO, logger="framework.compile"):
        for _ in range(3):
            compiled(x).sum().backward()
    assert "draws random numbers" in caplog.text
    assert ReplayingCapture.made == []


def test_replays_copy_each_call_inputs_in_and_their_outputs_out(replaying, device):
    made = replaying()
    model = _model(device)
    compiled = framework.compile(model, mode="reduce-overhead")
    with framework.no_grad():
        xs = [framework.randn(5, 4, device=device) * (k + 1) for k in range(4)]
        results = [compiled(x) for x in xs]  # trace, warm-up, capture (+ checked replay), replay
        for x, y in zip(xs, results):  # no later replay overwrote an earlier result
            _same(y, model(x))
    plan = _graphed_plan(compiled)
    assert isinstance(plan, cudagraphs.GraphedPlan) and plan.disabled is None
    assert plan.captures == 1 and len(made) == 1 and made[0].launches == 2


def test_parameters_are_read_in_place_and_a_moved_one_is_captured_again(replaying, device):
    made = replaying()
    model = _model(device)
    compiled = framework.compile(model, mode="reduce-overhead")
    x = framework.randn(5, 4, device=device)
    with framework.no_grad():
        for _ in range(3):
            compiled(x)
        model[0].weight.mul_(2.0)  # in place: the captured graph reads it
        _same(compiled(x), model(x))
        assert _graphed_plan(compiled).captures == 1
        model[2].weight.data = framework.randn(3, 8, device=device)  # new memory
        _same(compiled(x), model(x))
    plan = _graphed_plan(compiled)
    assert plan.captures == 2 and made[0].released and not made[1].released


def _train_side_by_side(device: str, optimizer, steps: int, rows: int, tol: float):
    """Train a model eagerly and its twin through ``compile(mode="reduce-overhead")`` on the
    same batches; check the parameters agree after every step; return the twin's training
    runners (forward and backward plans)."""
    model, twin = _model(device), _model(device)
    compiled = framework.compile(twin, mode="reduce-overhead")
    pairs = ((model, optimizer(model.parameters())), (compiled, optimizer(twin.parameters())))
    for step in range(steps):
        x = framework.randn(rows, 4, device=device) * (step + 1)
        for net, opt in pairs:
            opt.zero_grad()
            net(x).pow(2).mean().backward()
            opt.step()
        for p, q in zip(model.parameters(), twin.parameters()):
            _same(p, q, tol)
    entry = next(iter(compiled._compiled.cache.values()))
    return entry.run_forward, entry.run_backward


def test_training_forward_and_backward_replay_match_eager(replaying, device):
    made = replaying()
    sgd = functools.partial(framework.optim.SGD, lr=0.1)
    for runner in _train_side_by_side(device, sgd, steps=4, rows=5, tol=1e-6):
        assert isinstance(runner, cudagraphs.GraphedPlan) and runner.disabled is None
        assert runner.captures == 1
    assert len(made) == 2


# cpu only: the lock is device-independent, and Triton's interpreter is not made for
# launches from two threads at once
@pytest.mark.parametrize("device", ["cpu"])
def test_calls_from_two_threads_take_turns_on_the_graph(replaying, device):
    """Two threads replaying one graph (whose launch is slow) each get their own results."""
    import threading
    replaying("slow")
    model = _model(device)
    compiled = framework.compile(model, mode="reduce-overhead")
    failures = []
    with framework.no_grad():
        for _ in range(3):  # trace, warm up, capture
            compiled(framework.randn(5, 4, device=device))

        def calls(seed: int) -> None:
            try:
                with framework.no_grad():
                    for k in range(10):  # small inputs: tanh does not saturate
                        x = framework.full((5, 4), (seed * 10 + k) * 0.01, device=device)
                        if not np.allclose(compiled(x).cpu().numpy(), model(x).cpu().numpy(),
                                           rtol=1e-6, atol=1e-6):
                            failures.append((seed, k))
            except Exception as exc:  # noqa: BLE001 -- reported by the assertion below
                failures.append(repr(exc))
        threads = [threading.Thread(target=calls, args=(seed,)) for seed in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == [] and _graphed_plan(compiled).captures == 1


@pytest.mark.parametrize("broken", ["capture", "launch"])
def test_a_failed_or_wrong_capture_falls_back_to_the_plan(replaying, device, broken, caplog):
    replaying(broken)
    model = _model(device)
    compiled = framework.compile(model, mode="reduce-overhead")
    with framework.no_grad(), caplog.at_level(logging.WARNING, logger="framework.compile"):
        for k in range(4):
            x = framework.randn(5, 4, device=device) - k
            _same(compiled(x), model(x))
    plan = _graphed_plan(compiled)
    assert plan.disabled is not None and plan.captures <= 1
    assert "running without CUDA graphs" in caplog.text
    assert ("capture failed" if broken == "capture" else "differs from the plan's") in caplog.text


@pytest.mark.skipif(framework.cuda.is_interpreter() or not framework.cuda.is_available(),
                    reason="CUDA graphs need a GPU")
def test_reduce_overhead_replays_real_cuda_graphs_on_a_gpu():
    adam = functools.partial(framework.optim.Adam, lr=1e-2)
    for runner in _train_side_by_side("cuda", adam, steps=5, rows=16, tol=1e-5):
        assert isinstance(runner, cudagraphs.GraphedPlan)
        assert runner.disabled is None, runner.disabled
        assert runner.captures == 1
    model = _model("cuda")
    with framework.no_grad():
        inference = framework.compile(model, mode="reduce-overhead")
        xs = [framework.randn(16, 4, device="cuda") + k for k in range(4)]
        results = [inference(x) for x in xs]
        for x, y in zip(xs, results):
            _same(y, model(x), 1e-6)
    plan = _graphed_plan(inference)
    assert plan.disabled is None, plan.disabled
    assert plan.captures == 1


def test_the_allocator_holds_what_is_allocated_inside_a_holding_block(monkeypatch):
    from framework._backends.triton.allocator import CachingAllocator
    allocator = CachingAllocator()
    addresses = iter(range(4096, 1 << 20, 4096))
    monkeypatch.setattr(allocator, "_cu_alloc", lambda size: next(addresses))
    outer, inner = [], []
    before = allocator.allocate(100)
    with allocator.holding(outer):
        first = allocator.allocate(100)
        with allocator.holding(inner):
            second = allocator.allocate(2000)
        third = allocator.allocate(100)
    after = allocator.allocate(100)
    assert outer == [first, second, third] and inner == [second]
    assert before not in outer and after not in outer
    ptr = second.ptr
    del second
    assert allocator.cached_bytes == 0  # held: not returned to the cache
    inner.clear()
    outer.clear()
    assert allocator.cached_bytes == 2048 and ptr in allocator._free[2048]
