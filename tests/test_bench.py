"""``framework bench``: options, JSON report, skipped/failed/mismatch rows, summaries, targets."""
import json
import math

import numpy as np
import pytest

import framework
import framework.nn.functional as F
from framework import bench, cli
from framework.bench import runner


@pytest.fixture
def fast_bench(monkeypatch):
    """Few repeats, so the benchmark tests stay quick."""
    monkeypatch.setattr(bench.timing, "WARMUP", 1)
    monkeypatch.setattr(bench.timing, "MIN_REPEATS", 2)
    monkeypatch.setattr(bench.timing, "MIN_SECONDS", 0.0)


def _torch_or_skip():
    return pytest.importorskip("torch")


# command line ------------------------------------------------------------------------------

@pytest.mark.parametrize("args, word", [(["--ops", "add,nope"], "nope"),
                                        (["--suite", "ops,gpu"], "gpu"),
                                        (["--suite", ""], "choose from")])
def test_bench_rejects_unknown_suites_and_ops(capsys, args, word):
    assert cli.main(["bench", *args]) == 2
    assert word in capsys.readouterr().out


def test_bench_quick_cpu_writes_the_json_report(tmp_path, fast_bench, capsys):
    _torch_or_skip()
    path = tmp_path / "bench.json"
    status = cli.main(["bench", "--quick", "--device", "cpu", "--suite", "ops",
                       "--ops", "dispatch add,add", "--json", str(path)])
    assert status == 0
    out = capsys.readouterr().out
    assert "ops on cpu vs torch" in out and "geometric-mean ratio" in out and "CPU targets" in out
    data = json.loads(path.read_text())
    assert set(data) == {"environment", "timing", "notes", "summary", "cpu_targets", "results"}
    assert data["environment"]["numpy"] == np.__version__
    assert [(r["suite"], r["op"]) for r in data["results"]] == [("ops", "dispatch add"), ("ops", "add")]
    for row in data["results"]:
        assert row["status"] == "ok" and row["device"] == "cpu", row
        assert row["reference"].startswith("torch") and row["reference"].endswith("(cpu)")
        assert row["ratio"] == pytest.approx(row["ours_ms"] / row["ref_ms"])
    add = data["results"][1]
    assert add["unit"] == "GB/s" and add["rate"] > 0 and add["ref_rate"] > 0
    assert add["peak_fraction"] is None  # no peak on the CPU
    ratios = [r["ratio"] for r in data["results"]]
    assert data["summary"]["cpu"]["geomean_ratio"] == pytest.approx(math.sqrt(ratios[0] * ratios[1]))
    assert data["summary"]["cpu"]["rows"]["ok"] == 2
    targets = {t["op"]: t for t in data["cpu_targets"]}
    assert targets["dispatch add"]["ratio"] == pytest.approx(ratios[0])
    assert targets["mlp step"]["ratio"] is None and targets["mlp step"]["met"] is None


def test_bench_exits_1_when_a_row_fails(monkeypatch, fast_bench, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("kernel exploded")
    monkeypatch.setattr(framework, "exp", broken)
    assert cli.main(["bench", "--quick", "--device", "cpu", "--suite", "ops", "--ops", "exp"]) == 1
    assert "kernel exploded" in " ".join(capsys.readouterr().out.split())


def test_cuda_is_skipped_with_a_note_without_a_gpu(fast_bench):
    from framework._backends.triton import runtime
    if runtime.mode() == "gpu":
        pytest.skip("a GPU is present: the cuda rows run (checked by bench/gpu_check.sh)")
    results, notes = bench.run(suites=("matmul",), quick=True, devices=("cuda",))
    assert results == []
    assert any("cuda skipped" in note for note in notes)


# rows ----------------------------------------------------------------------------------------

def test_a_missing_op_gives_a_skipped_row_naming_it(monkeypatch, fast_bench):
    monkeypatch.delattr(F, "layer_norm", raising=False)
    (spec,) = bench.specs(("ops",), "cpu", quick=True, ops=["layer_norm"])
    row = bench.run_spec(spec, "cpu", None)
    assert row.status == "skipped" and row.ours_ms is None and row.ratio is None
    assert "framework.nn.functional.layer_norm" in row.note
    monkeypatch.delattr(F, "scaled_dot_product_attention", raising=False)
    results, _ = bench.run(suites=("train",), quick=True, devices=("cpu",), ops=["transformer step"])
    assert results[0].status == "skipped" and "scaled_dot_product_attention" in results[0].note


def test_an_op_raising_gives_a_failed_row(monkeypatch, fast_bench):
    spec = bench.Spec("ops", "boom", "1", "float32", lambda ctx: bench.Case(lambda: 1 / 0, None))
    row = bench.run_spec(spec, "cpu", None)
    assert row.status == "failed" and "ZeroDivisionError" in row.note


def test_a_wrong_result_is_flagged_as_a_mismatch(fast_bench):
    x = np.arange(4.0, dtype=np.float32)
    spec = bench.Spec("ops", "wrong", "4", "float32",
                      lambda ctx: bench.Case(lambda: x + 1, lambda: x, work=16, unit="GB/s"))
    row = bench.run_spec(spec, "cpu", None)
    assert row.status == "mismatch" and "MISMATCH" in row.note
    assert row.ratio == pytest.approx(row.ours_ms / row.ref_ms) and row.rate > 0


def test_numpy_is_the_reference_without_torch(monkeypatch, fast_bench):
    monkeypatch.setattr(runner, "_torch_for", lambda device: None)
    saved = []
    results, notes = bench.run(suites=("ops", "train"), quick=True, devices=("cpu",),
                               ops=["dispatch mul", "exp", "sum", "mlp step"],
                               checkpoint=lambda rows, _: saved.append(len(rows)))
    assert saved == [1, 2, 3, 4]  # called after every row
    by_op = {r.op: r for r in results}
    assert by_op["sum"].status == "ok" and by_op["sum"].reference == "numpy (host)"
    assert by_op["sum"].ratio > 0
    assert by_op["dispatch mul"].status == by_op["exp"].status == "ok"
    assert by_op["mlp step"].ours_ms > 0 and by_op["mlp step"].ratio is None
    assert "no NumPy reference" in by_op["mlp step"].note
    assert any("PyTorch is not installed" in note for note in notes)


@pytest.fixture
def one_torch_thread():
    """OpenMP threads on a shared 2-core machine make each torch step slow."""
    torch = _torch_or_skip()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("missing", [(), ("linear", "cross_entropy")])
def test_mlp_training_step_matches_torch_with_or_without_fallbacks(monkeypatch, fast_bench,
                                                                   one_torch_thread, missing):
    for name in missing:
        monkeypatch.delattr(F, name, raising=False)
    results, _ = bench.run(suites=("train",), quick=True, devices=("cpu",), ops=["mlp step"])
    (row,) = results
    assert row.status == "ok", row.note  # the first step's loss agrees with torch's
    assert row.unit == "GFLOP/s" and row.rate > 0 and row.ref_ms > 0
    for name in missing:
        assert f"F.{name} missing" in row.note


# timing, summaries, peaks ---------------------------------------------------------------------

def test_interleaved_medians_warm_up_and_alternate(fast_bench):
    calls = []
    medians = bench.interleaved_medians([lambda: calls.append("a"), lambda: calls.append("b")],
                                        lambda: None)
    assert len(medians) == 2 and all(m >= 0 for m in medians)
    assert calls[:2] == ["a", "b"]  # one warm-up each
    assert calls[2:6] == ["a", "b", "a", "b"]  # then in turn
    assert calls.count("a") == calls.count("b") >= bench.timing.WARMUP + bench.timing.MIN_REPEATS


def test_geometric_mean_and_summary_per_suite():
    assert bench.geometric_mean([1.0, 4.0]) == pytest.approx(2.0)
    assert bench.geometric_mean([2.0, None, 8.0]) == pytest.approx(4.0)
    assert bench.geometric_mean([]) is None
    rows = [bench.Result("ops", "a", "1", "float32", "cpu", ratio=0.5),
            bench.Result("ops", "b", "1", "float32", "cpu", ratio=2.0),
            bench.Result("train", "c", "1", "float32", "cpu", ratio=8.0),
            bench.Result("conv", "d", "1", "float32", "cpu", status="skipped")]
    info = bench.summary(rows)["cpu"]
    assert info["geomean_ratio"] == pytest.approx(2.0)
    assert info["geomean_ratio_by_suite"] == {"ops": pytest.approx(1.0), "conv": None,
                                              "train": pytest.approx(8.0)}
    assert info["rows"] == {"ok": 3, "skipped": 1, "failed": 0, "mismatch": 0}


def test_cpu_targets_met_missed_and_not_measured():
    rows = [bench.Result("ops", "dispatch add", "8", "float32", "cpu", ratio=1.5, reference="torch 2 (cpu)"),
            bench.Result("train", "mlp step", "", "float32", "cpu", ratio=1.3, reference="torch 2 (cpu)"),
            bench.Result("train", "lenet step", "", "float32", "cpu", ratio=1.0, reference="numpy (host)")]
    status = {t["op"]: t for t in bench.cpu_target_status(rows)}
    assert status["dispatch add"]["met"] is True
    assert status["mlp step"]["met"] is False
    assert status["lenet step"]["met"] is None  # only a ratio to PyTorch counts
    assert status["transformer step"]["ratio"] is None


@pytest.mark.parametrize("name, model, bandwidth", [
    ("NVIDIA H100 80GB HBM3", "H100", 3350.0), ("NVIDIA H100 PCIe", "H100 PCIe", 2000.0),
    ("NVIDIA H200", "H200", 4800.0), ("NVIDIA A100-SXM4-80GB", "A100", 2039.0),
    ("NVIDIA A100 80GB PCIe", "A100 80GB PCIe", 1935.0)])
def test_gpu_peak_table_matches_device_names(name, model, bandwidth):
    peaks = bench.gpu_peaks(name)
    assert peaks["model"] == model and peaks["GB/s"] == bandwidth
    assert peaks["bf16"] > peaks["tf32"] > peaks["fp32"]


def test_peak_fraction_uses_the_unit_and_dtype():
    peaks = dict(bench.gpu_peaks("NVIDIA H200"), **{"fp32 matmul": 494.7})
    memory = bench.Result("ops", "add", "", "float32", "cuda", rate=2400.0, unit="GB/s")
    assert runner._peak_fraction(memory, peaks) == pytest.approx(0.5)
    bf16 = bench.Result("matmul", "matmul", "", "bfloat16", "cuda", rate=494700.0, unit="GFLOP/s")
    assert runner._peak_fraction(bf16, peaks) == pytest.approx(0.5)
    tf32 = bench.Result("matmul", "matmul", "", "float32", "cuda", rate=494700.0, unit="GFLOP/s")
    assert runner._peak_fraction(tf32, peaks) == pytest.approx(1.0)
    assert bench.gpu_peaks("Some Other GPU") is None
    assert runner._peak_fraction(memory, None) is None


def test_agreement_check_and_time_format():
    x = np.linspace(-1, 1, 100)
    assert bench.agrees(x, x + 1e-9, 1e-4)
    assert not bench.agrees(x, x + 0.1, 1e-4)
    assert not bench.agrees(x, x[:50], 1e-4)
    assert bench.format_time(0.0123) == "12.3 µs"
    assert bench.format_time(12.345) == "12.35 ms"
    assert bench.format_time(2500.0) == "2.50 s"
    assert bench.format_time(None) == "—"


def test_every_suite_has_specs_and_sizes_grow_without_quick():
    for suite in bench.SUITES:
        quick = bench.specs((suite,), "cpu", quick=True)
        full = bench.specs((suite,), "cpu", quick=False)
        assert quick and len(full) >= len(quick)
        assert all(s.suite == suite for s in full)
    names = set(bench.op_names())
    assert {"dispatch add", "softmax", "layer_norm", "cross_entropy", "attention", "sum"} <= names
    assert "attention causal" in names  # a cuda-only row is a valid --ops name too


def test_cpu_notes_warn_about_same_process_threads_only_with_several(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert runner._shared_process_note(1) == []
    note = runner._shared_process_note(2)
    assert len(note) == 1 and "dispatch_profile" in note[0]
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert runner._shared_process_note(1) == note
