"""``framework bench --suite compile``: rows against our eager mode, launches in the note."""
from __future__ import annotations

import numpy as np

from framework import bench
from framework.bench.core import Context


def test_compile_suite_rows(monkeypatch):
    monkeypatch.setattr(bench.timing, "MIN_SECONDS", 0.01)  # a few repeats: nothing is asserted
    results, _ = bench.run(suites=("compile",), quick=True, devices=("cpu",),
                           ops=["mlp inference", "mlp training"])
    rows = {r.op: r for r in results}
    inference, training = rows["mlp inference"], rows["mlp training"]
    assert inference.status == "ok", inference.note  # compiled output agrees with eager
    assert inference.reference == "framework eager" and inference.ratio is not None
    # 3: each tanh runs in its matmul's kernel (norms.py, a matmul's elementwise epilogue)
    assert "launches/call: eager 5, compiled 3" in inference.note
    assert training.status == "ok", training.note  # the compiled step's loss agrees with eager
    # 29: 6 parameters' gradients taken into .grad without a copy (issue 12's fifth round;
    # 57 before), and Adam's multi-tensor step: 2 launches for the 6 parameters (was 12)
    assert training.ratio is not None and "launches/step: eager 29, compiled" in training.note
    assert "compile" not in bench.summary(results)["cpu"]["geomean_ratio_by_suite"] or \
        bench.summary(results)["cpu"]["geomean_ratio"] is None


def test_the_reduce_overhead_rows_are_cuda_only_and_say_what_the_mode_did():
    cpu_rows = [s.op for s in bench.compiled.compile_specs("cpu", quick=True)]
    assert cpu_rows and not any("reduce-overhead" in op for op in cpu_rows)
    specs = {s.op: s for s in bench.compiled.compile_specs("cuda", quick=True)}
    case = specs["mlp inference, reduce-overhead"].build(Context("cuda", None))
    # no GPU here (the interpreter, which the bench itself skips): the plan runs uncaptured
    assert "launches/call: eager 5, compiled 3" in case.note and "no CUDA graph" in case.note
    np.testing.assert_allclose(case.ours().cpu().numpy(), case.ref().cpu().numpy(), rtol=1e-5,
                               atol=1e-6)
