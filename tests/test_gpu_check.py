"""The GPU check's parts that run anywhere: test sharding, the stats and specialization
plugins, the interpreter shim for Triton 3.6, and the summary of a run's output folder."""
import importlib.util
import json
import os
import sys

import pytest

import framework
from conftest import measured_weights, shard_by_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_summary():
    spec = importlib.util.spec_from_file_location(
        "gpu_check_summary", os.path.join(ROOT, "bench", "gpu_check_summary.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# sharding --------------------------------------------------------------------------------

def test_measured_shard_weights_name_existing_test_files():
    """tests/shard_weights.json (bench/count_specializations.py --write-weights) weighs the
    kernel-heavy files by their specializations; a renamed file must be recounted."""
    weights = measured_weights()
    assert len(weights) >= 20
    for name, specializations in weights.items():
        assert os.path.isfile(os.path.join(ROOT, name)), name
        assert isinstance(specializations, int) and specializations > 0, name


def test_shards_keep_files_together_and_balance_the_load():
    ids = ([f"a.py::t{i}" for i in range(4)] + [f"b.py::t{i}" for i in range(4)]
           + [f"c.py::t{i}" for i in range(3)] + ["d.py::t0", "e.py::t0"])  # fair share: 13/3
    shards = shard_by_file(ids, 3)
    assert len(shards) == len(ids) and set(shards) == {0, 1, 2}
    by_file = {}
    for nodeid, shard in zip(ids, shards):
        by_file.setdefault(nodeid.split("::")[0], set()).add(shard)
    assert all(len(s) == 1 for s in by_file.values())  # no file is spread over shards
    loads = [shards.count(s) for s in range(3)]
    assert max(loads) - min(loads) <= 2


def test_a_file_heavier_than_a_fair_share_is_cut_into_runs_of_neighbours():
    ids = [f"big.py::t{i}" for i in range(12)] + ["x.py::t0", "y.py::t0"]
    shards = shard_by_file(ids, 3)
    big = shards[:12]
    assert len(set(big)) == 3
    assert big == sorted(big) or all(big[i] == big[i + 1] for i in range(3))  # contiguous runs
    runs = [big[i:i + 4] for i in range(0, 12, 4)]
    assert all(len(set(run)) == 1 for run in runs)


def test_a_declared_weight_overrides_the_test_count():
    ids = ["heavy.py::t0", "a.py::t0", "a.py::t1", "b.py::t0", "b.py::t1"]
    shards = shard_by_file(ids, 2, {"heavy.py": 100})
    assert shards[0] not in shards[1:] and len(set(shards[1:])) == 1


# plugins ---------------------------------------------------------------------------------

def test_run_stats_times_every_compile_even_a_failing_one(monkeypatch, tmp_path):
    import triton.compiler
    from run_stats import RunStats

    def refused(src, *args, **kwargs):
        raise RuntimeError("out of resources")

    monkeypatch.setattr(triton.compiler, "compile", refused)
    monkeypatch.setattr(sys.modules["triton"], "compile", refused, raising=False)
    try:
        from triton.backends.nvidia import driver
    except Exception:  # noqa: BLE001 - no NVIDIA backend here
        driver = None
    launcher_builds = driver is not None and hasattr(driver, "compile_module_from_src")
    if launcher_builds:  # Triton 3.6: C launchers are built through this function
        monkeypatch.setattr(driver, "compile_module_from_src", lambda src, name, **kw: name)
    stats = RunStats(str(tmp_path / "stats.json"))
    stats.install()
    with pytest.raises(RuntimeError, match="out of resources"):
        triton.compiler.compile(type("Src", (), {"name": "my_kernel"})())
    if launcher_builds:
        assert driver.compile_module_from_src("int main;", "__triton_launcher") == "__triton_launcher"
    stats.pytest_sessionfinish(None)
    report = json.loads((tmp_path / "stats.json").read_text())
    assert report["compiles"] == 1 and report["slowest_compiles"][0][0] == "my_kernel"
    assert report["launchers"] == (1 if launcher_builds else 0)
    assert report["peak_rss_bytes"] > 0 and report["wall_s"] >= 0


def test_specialization_counter_keys_launches_like_triton_does(monkeypatch, tmp_path):
    if not framework.cuda.is_interpreter():
        pytest.skip("counts interpreter launches; a GPU compiles them for real (tests/run_stats.py)")
    from triton.runtime.interpreter import InterpretedFunction
    from specializations import SpecializationCounter
    monkeypatch.setattr(InterpretedFunction, "run", InterpretedFunction.run)  # restored after
    counter = SpecializationCounter(str(tmp_path / "specs.json"))
    counter.install()
    counter.current = "t"
    (framework.ones(32, device="cuda") + 1).cpu()
    once = set(counter.tests["t"])
    assert once  # every kernel launched got a key
    for n in (48, 32):  # sizes divisible by 16 again: Triton reuses the same binaries
        (framework.ones(n, device="cuda") + 1).cpu()
    assert counter.tests["t"] == once
    (framework.ones(33, device="cuda") + 1).cpu()  # n % 16 != 0: new specializations
    new = set(counter.tests["t"]) - once
    assert new
    names = {json.loads(key)[0] for key, index in counter.keys.items() if index in new}
    assert all(name.startswith("triton_kernels.") for name in names)
    counter.pytest_collection_finish(type("Session", (), {"items": []})())
    counter.pytest_sessionfinish(None)
    report = json.loads((tmp_path / "specs.json").read_text())
    assert sorted(report["tests"]["t"]) == sorted(once | new) and len(report["keys"]) == len(once | new)


# the interpreter shim --------------------------------------------------------------------

def test_interpreter_scalar_index_shim_squeezes_one_element_arrays():
    import numpy as np
    from triton.runtime import interpreter

    from framework._backends.triton import runtime
    if runtime.mode() != "interpreter":
        pytest.skip("the shim is installed under the interpreter only")
    runtime.kernels()
    assert getattr(interpreter._patch_lang_tensor, "_framework_index_fix", False)

    class Scope:
        def __init__(self):
            self.values = {}

        def set_attr(self, obj, name, value):
            self.values[name] = value

    scope = Scope()
    interpreter._patch_lang_tensor(type("T", (), {}), scope)
    handle = type("Handle", (), {"data": np.array([7], dtype=np.int32)})()
    assert scope.values["__index__"](type("Tensor", (), {"handle": handle})()) == 7


# the summary -----------------------------------------------------------------------------

def _write_run(out):
    (out / "phases.tsv").write_text("versions\t0\t3\t30\nsmoke\t0\t2\t60\ntests\t124\t240\t240\n"
                                    "autotune-1\t0\t20\t60\nautotune-2\t0\t2\t60\nbench\t1\t50\t80\n")
    (out / "versions.log").write_text("name, driver_version, memory.total [MiB], compute_cap\n"
                                      "NVIDIA H200, 570.1, 143771 MiB, 9.0\npython 3.12.3\n"
                                      "triton 3.6.0\ntorch 2.11.0\nnumpy 2.5.2\n")
    (out / "smoke.log").write_text("smoke ok on NVIDIA H200: [16.0, 48.0, 80.0]\n")
    (out / "tests-0.xml").write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.ops.test_matmul" name="test_a[cuda]" time="1.5"/>'
        '<testcase classname="tests.ops.test_matmul" name="test_b[cuda]" time="0.5">'
        '<failure message="AssertionError: Not equal to tolerance">trace</failure></testcase>'
        '<testcase classname="tests.ops.test_matmul" name="test_c[cuda]" time="0.5">'
        '<failure message="second failure">trace</failure></testcase>'
        '<testcase classname="tests.test_cli" name="test_info" time="2.0"><skipped/></testcase>'
        '<testcase time="0.001"/></testsuite></testsuites>')
    (out / "tests-0.log").write_text("!!! KeyboardInterrupt !!!\n")
    (out / "test-stats-0.json").write_text(json.dumps({
        "compiles": 40, "compile_s": 12.5, "slowest_compiles": [["matmul_kernel", 2.0]],
        "compiles_by_file": {"tests/ops/test_matmul.py": [30, 10.0], "tests/test_cli.py": [10, 2.5]},
        "launchers": 12, "launcher_s": 30.5,
        "allocator_peak_bytes": 3 * 2**20, "peak_rss_bytes": 500 * 2**20, "wall_s": 230.0,
        "tests": 4}))
    (out / "gpu-memory.csv").write_text("1200, 5\n2400, 80\n")
    cache = out / "autotune-cache"
    cache.mkdir()
    (cache / "gpu.json").write_text(json.dumps({"entries": {
        "a": {"best_ms": 1.0, "heuristic_ms": 2.0}, "b": {"best_ms": 1.0, "heuristic_ms": 0.5}}}))
    (out / "autotune-1.log").write_text("Tuning 2 of 3 problems into x\nThe --budget ran out: 1 "
                                        "problems left untuned.\n")
    (out / "autotune-2.log").write_text("The cache is warm: all 3 problems are already tuned.\n"
                                        "Nothing to tune (--force retunes).\n")
    (out / "bench.json").write_text(json.dumps({"environment": {"gpu": "NVIDIA H200"}, "results": [
        {"suite": "matmul", "op": "matmul", "size": "4096³", "dtype": "bfloat16", "ours_ms": 0.3,
         "ref_ms": 0.2, "ratio": 0.67, "rate": 458000.0, "unit": "GFLOP/s",
         "peak_fraction": 0.58, "status": "ok", "reference": "torch 2.11.0 (cuda)"}]}))


def test_summary_answers_per_family_with_the_first_failure(tmp_path, monkeypatch):
    summary_module = _load_summary()
    _write_run(tmp_path)
    monkeypatch.setenv("OUT", str(tmp_path))
    summary_module.main(["--quiet"])
    text = (tmp_path / "summary.txt").read_text()
    summary = json.loads((tmp_path / "summary.json").read_text())
    matmul = summary["tests"]["ops/matmul"]
    assert (matmul["passed"], matmul["failed"]) == (1, 2)
    assert matmul["first_failure"] == "tests/ops/test_matmul.py::test_b[cuda]"
    assert "Not equal to tolerance" in matmul["error"]
    assert summary["tests"]["cli"]["skipped"] == 1 and "?" not in summary["tests"]
    assert (matmul["compiles"], matmul["compile_s"]) == (30, 10.0)
    assert "C launchers: 12 built or loaded in 30.5 s" in text
    assert "tests TIMED OUT after 240 s" in text and "shards [0] were stopped" in text
    assert "bench FAILED (exit 1)" in text
    assert summary["stats"]["compiles"] == 40 and summary["stats"]["gpu_memory_used_peak_mib"] == 2400
    assert summary["autotune"] == {"entries": 2, "planned": "Tuning 2 of 3 problems",
                                   "left_by_budget": 1, "geomean_speedup": 1.0,
                                   "second_run_warm": True, "second_run_tuned": 0,
                                   "second_run": "warm", "second_run_retuned": []}
    assert "second run warm" in text
    assert "NVIDIA H200" in text and "triton 3.6.0" in text and "4096³" in text
    assert text.index("ops/matmul") < text.index("compiles:") < text.index("autotune:") < text.index("4096³")


_FIRST_RUN = """Tuning 5 of 5 problems into /x/gpu.json
| table |
The --budget ran out: 1 problems left untuned, 1 partly tuned (their best config so far is
used). The next run tunes them, timing only the configs not timed yet:
  partly tuned (12 of 14 configs): conv2d forward bf16 32x64x56x56 -> 64 k3x3 s1
  untuned: conv2d input_grad bf16 32x64x56x56 -> 64 k3x3 s1
"""


@pytest.mark.parametrize("second, verdict, retuned", [
    ("Tuning 2 of 5 problems into /x/gpu.json (1 partly tuned before: only their untimed\n"
     "configs are timed)\n  - conv2d forward bf16 32x64x56x56 -> 64 k3x3 s1\n"
     "  - conv2d input_grad bf16 32x64x56x56 -> 64 k3x3 s1\n",
     "tuned what the budget left", []),
    ("Tuning 2 of 5 problems into /x/gpu.json\n  - matmul bf16 4096x4096x4096 NN\n"
     "  - conv2d input_grad bf16 32x64x56x56 -> 64 k3x3 s1\n",
     "re-tuned finished problems", ["matmul bf16 4096x4096x4096 NN"]),
    ("The cache is warm: all 5 problems are already tuned in /x/gpu.json. Nothing to tune "
     "(--force retunes).\n", "warm", []),
], ids=["budget leftovers", "retuned", "warm"])
def test_summary_tells_budget_leftovers_from_retuned_problems(tmp_path, monkeypatch, second,
                                                             verdict, retuned):
    """A second run that tunes what the first run's --budget left is not a cache bug; one that
    tunes a problem the first run finished is, and the summary names it."""
    summary_module = _load_summary()
    (tmp_path / "autotune-1.log").write_text(_FIRST_RUN)
    (tmp_path / "autotune-2.log").write_text(second)
    monkeypatch.setenv("OUT", str(tmp_path))
    summary_module.main(["--quiet"])
    result = json.loads((tmp_path / "summary.json").read_text())["autotune"]
    assert result["left_by_budget"] == 2
    assert (result["second_run"], result["second_run_retuned"]) == (verdict, retuned)
    text = (tmp_path / "summary.txt").read_text()
    line = next(line for line in text.splitlines() if line.startswith("autotune:"))
    assert ("NOT warm" in line) == (verdict == "re-tuned finished problems")
    assert ("matmul bf16 4096x4096x4096 NN" in line) == bool(retuned)


def test_the_summary_reads_the_problems_framework_autotune_names():
    """What the command prints (a narrow console wraps its prose, never the problem lines)
    is what the summary parses."""
    from io import StringIO

    from rich.console import Console

    from framework.autotune import command
    from framework.autotune.tuner import TuneResult
    problem = {"op": "conv2d", "kernel": "conv2d_kernel", "x": [32, 64, 56, 56],
               "w": [64, 64, 3, 3], "stride": [1, 1], "padding": [1, 1], "dilation": [1, 1],
               "groups": 1, "dtype": "bf16"}
    other = dict(problem, kernel="conv2d_weight_grad_kernel")
    buffer = StringIO()
    partial = TuneResult("k", {"BLOCK_M": 64}, {"a": 1.0}, 1.0, untimed=2, space=3)
    command._report_left([(problem, None, None), (other, None, None)], [(problem, partial)],
                         Console(file=buffer, width=40))
    text = buffer.getvalue()
    summary_module = _load_summary()
    assert summary_module._left_by_budget(text) == {command._describe(problem),
                                                     command._describe(other)}
    assert "partly tuned (1 of 3 configs)" in text
    assert "budget ran out: 1 problems left untuned, 1 partly tuned" in " ".join(text.split())


def test_summary_compares_counts_for_logs_that_do_not_name_problems(tmp_path, monkeypatch):
    """The first H200 run's logs (Triton 3.6, before problems were named): the second run
    tuned the 2 problems the first left, which is not a re-tune."""
    summary_module = _load_summary()
    (tmp_path / "autotune-1.log").write_text("Tuning 5 of 5 problems into\n/x/gpu.json\n"
                                             "The --budget ran out: 2 problems left untuned.\n")
    (tmp_path / "autotune-2.log").write_text("Tuning 2 of 5 problems into\n/x/gpu.json\n")
    monkeypatch.setenv("OUT", str(tmp_path))
    summary_module.main(["--quiet"])
    result = json.loads((tmp_path / "summary.json").read_text())["autotune"]
    assert result["second_run"] == "tuned what the budget left"
    (tmp_path / "autotune-2.log").write_text("Tuning 3 of 5 problems into\n/x/gpu.json\n")
    summary_module.main(["--quiet"])
    result = json.loads((tmp_path / "summary.json").read_text())["autotune"]
    assert (result["second_run"], result["second_run_retuned"]) == ("re-tuned finished problems",
                                                                    ["1 problems"])


def test_summary_of_an_empty_folder_says_nothing_ran(tmp_path, monkeypatch):
    summary_module = _load_summary()
    monkeypatch.setenv("OUT", str(tmp_path))
    summary_module.main(["--quiet"])
    text = (tmp_path / "summary.txt").read_text()
    assert "phases: none finished" in text and "the test phase did not finish" in text
    assert "bench: not run" in text


# torch and Triton's launcher -------------------------------------------------------------

def test_launchers_up_to_triton_3_7_need_torch():
    from framework._backends.triton.runtime import launcher_needs_torch
    assert [launcher_needs_torch(v) for v in ("3.6.0", "3.7.1", "3.8.0", "3.9.0", "3.10.0",
                                               "4.0.0", "3.8.0+git1234")] == [
        True, True, False, False, False, False, False]


def test_gpu_without_torch_on_an_old_triton_is_a_clear_error(monkeypatch):
    import importlib.util

    import triton

    from framework._backends.triton import runtime
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(triton, "__version__", "3.6.0")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch"
                        else real_find_spec(name, *a))
    runtime.check_launcher.cache_clear()
    try:
        with pytest.raises(runtime.CudaUnavailableError, match="Triton 3.6.0 launches GPU kernels "
                                                               "through torch"):
            runtime.check_launcher()
        monkeypatch.setattr(triton, "__version__", "3.9.0")
        runtime.check_launcher.cache_clear()
        runtime.check_launcher()  # a torch-free launcher: fine without torch
    finally:
        runtime.check_launcher.cache_clear()


def test_gpu_launches_import_torch_only_where_triton_needs_it():
    """On a GPU: framework never asks for torch itself; Triton <= 3.7's launcher does (so
    torch is loaded there), Triton >= 3.8 does not (tests/torch_import_probe.py)."""
    import triton
    import torch_import_probe

    from framework._backends.triton import runtime
    if runtime._gpu_count() == 0:
        pytest.skip("needs a GPU (the interpreter: test_autograd.py::"
                    "test_framework_never_imports_torch)")
    result = torch_import_probe.run("watch", interpret=False, timeout=300)
    assert torch_import_probe.own_importers(result, "control") == result["control"] != []
    assert torch_import_probe.own_importers(result) == [], result["importers"]
    assert result["torch_loaded"] == runtime.launcher_needs_torch(triton.__version__)


def test_outcomes_written_as_tests_end_survive_a_killed_shard(tmp_path, monkeypatch):
    """A shard killed before pytest writes its JUnit report: its per-test lines still count."""
    from run_stats import RunStats
    stats = RunStats(str(tmp_path / "test-stats-3.json"))

    def report(nodeid, when, outcome, message=None):
        crash = type("Crash", (), {"message": message})() if message else None
        return type("Report", (), {
            "nodeid": nodeid, "when": when, "outcome": outcome, "duration": 0.25,
            "failed": outcome == "failed", "passed": outcome == "passed",
            "skipped": outcome == "skipped",
            "longrepr": type("Repr", (), {"reprcrash": crash})() if message else None})()

    stats.pytest_runtest_logreport(report("tests/ops/test_sort.py::test_a[cuda]", "setup", "passed"))
    stats.pytest_runtest_logreport(report("tests/ops/test_sort.py::test_a[cuda]", "call", "passed"))
    stats.pytest_runtest_logreport(report("tests/ops/test_sort.py::test_b[cuda]", "call", "failed",
                                          "CUDA driver error: CUDA_ERROR_ILLEGAL_ADDRESS"))
    stats.pytest_runtest_logreport(report("tests/test_cli.py::test_c", "setup", "skipped"))
    with open(tmp_path / "test-stats-3.json.results.jsonl", "a") as f:
        f.write('{"nodeid": "tests/ops/test_sort.py::test_d[cu')  # the line a kill cut short
    summary_module = _load_summary()
    families = summary_module.test_families(str(tmp_path))
    assert families["ops/sort"]["passed"] == 1 and families["ops/sort"]["failed"] == 1
    assert families["ops/sort"]["first_failure"] == "tests/ops/test_sort.py::test_b[cuda]"
    assert "ILLEGAL_ADDRESS" in families["ops/sort"]["error"]
    assert families["cli"]["skipped"] == 1
