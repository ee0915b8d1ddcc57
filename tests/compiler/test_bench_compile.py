"""``framework bench --suite compile``: rows against our eager mode, launches in the note."""
from __future__ import annotations

from framework import bench


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
