"""The autotune cache and tuner under the Triton interpreter: keys, buckets, atomic writes,
corrupt and foreign files, lookups at the launch site, the recorder, export/import, and the
``framework autotune --dry-run`` flow (a warm second run tunes nothing)."""
import dataclasses
import json
import multiprocessing
import os
import subprocess
import sys

import numpy as np
import pytest

import framework
from framework import autotune
from framework.autotune import ConfigCache, bucket, make_key, source_hash
from framework._backends.triton import matmul as triton_matmul

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEVICE = {"name": "Test GPU", "capability": "9.0", "sms": 132, "triton": "3.6.0"}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Each test gets its own cache directory and a fresh in-memory cache."""
    monkeypatch.setenv("FRAMEWORK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FRAMEWORK_AUTOTUNE", raising=False)
    autotune.reset()
    yield tmp_path / "cache"
    autotune.reset()


def test_shape_buckets_round_up_to_powers_of_two():
    assert [bucket(n) for n in (1, 16, 17, 100, 4096, 4097)] == [16, 16, 32, 128, 4096, 8192]
    near = make_key("matmul", "h", "bf16", "NN", {"M": 1000, "N": 4000, "K": 33})
    assert near == make_key("matmul", "h", "bf16", "NN", {"M": 1024, "N": 4096, "K": 64})
    assert near == "matmul@h|bf16|NN|M=1024,N=4096,K=64"
    assert near != make_key("matmul", "h", "bf16", "NT", {"M": 1000, "N": 4000, "K": 33})


def test_source_hash_changes_with_the_kernel_or_its_configs():
    def kernel_a(x):
        return x

    def kernel_b(x):
        return x + 1

    assert source_hash(kernel_a, [1]) != source_hash(kernel_b, [1])
    assert source_hash(kernel_a, [1]) != source_hash(kernel_a, [2])
    assert len(source_hash(kernel_a, [1])) == 12


def test_file_is_named_after_the_gpu_and_triton():
    from framework.autotune.cache import file_name
    assert file_name({"name": "NVIDIA H100 80GB HBM3", "capability": "9.0", "sms": 132,
                      "triton": "3.6.0"}) == "NVIDIA-H100-80GB-HBM3_sm90_132sm_triton-3.6.0.json"


def test_entries_round_trip_with_every_timing(tmp_path):
    path = tmp_path / "c.json"
    cache = ConfigCache(path, DEVICE)
    cache.put("k", {"BLOCK_M": 64}, {"64x64": 1.5, "32x32": 2.0}, heuristic_ms=2.0)
    cache.save()
    again = ConfigCache(path, DEVICE)
    entry = again.get("k")
    assert entry["best"] == {"BLOCK_M": 64} and entry["timings"] == {"64x64": 1.5, "32x32": 2.0}
    assert entry["best_ms"] == 1.5 and entry["heuristic_ms"] == 2.0 and entry["date"]
    document = json.loads(path.read_text())
    assert document["device"] == DEVICE and document["format"] == 1


def test_save_merges_what_another_process_wrote(tmp_path):
    path = tmp_path / "c.json"
    first, second = ConfigCache(path, DEVICE), ConfigCache(path, DEVICE)
    first.put("a", {"x": 1}, {"c": 1.0})
    second.put("b", {"x": 2}, {"c": 2.0})
    first.save()
    second.save()
    assert set(ConfigCache(path, DEVICE).entries) == {"a", "b"}


def _writer(path, index):
    cache = ConfigCache(path, DEVICE)
    for j in range(10):
        cache.put(f"p{index}-{j}", {"j": j + 1}, {"c": float(j)})
        cache.save()


def test_concurrent_writers_lose_nothing_and_never_leave_a_torn_file(tmp_path):
    path = tmp_path / "c.json"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(path, i)) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert all(w.exitcode == 0 for w in workers)
    entries = ConfigCache(path, DEVICE).entries
    assert len(entries) == 40
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".tmp-")]


def test_corrupt_file_is_reported_once_and_ignored(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("{not json")
    cache = ConfigCache(path, DEVICE)
    with pytest.warns(RuntimeWarning, match="corrupt"):
        assert cache.get("k") is None
    assert len(cache.problems) == 1
    cache.put("k", {"x": 1}, {"c": 1.0})
    cache.save()
    assert ConfigCache(path, DEVICE).get("k")["best"] == {"x": 1}


def test_file_for_another_gpu_or_format_is_ignored(tmp_path):
    path = tmp_path / "c.json"
    other = dict(DEVICE, name="Other GPU")
    path.write_text(json.dumps({"format": 1, "device": other, "entries": {
        "k": {"best": {"x": 1}, "timings": {"c": 1.0}}}}))
    with pytest.warns(RuntimeWarning, match="written for"):
        assert ConfigCache(path, DEVICE).get("k") is None
    path.write_text(json.dumps({"format": 99, "device": DEVICE, "entries": {}}))
    with pytest.warns(RuntimeWarning, match="format 99"):
        assert len(ConfigCache(path, DEVICE)) == 0


def _problem(m=8, n=8, k=40):
    """The matmul problem a launch of these sizes looks up (dtype per the TF32 setting)."""
    from framework._backends.precision import tf32_enabled
    return {"m": m, "n": n, "k": k, "batch": 1, "dtype": "tf32" if tf32_enabled() else "fp32",
            "layout": "NN"}


def _good(problem=None) -> dict:
    """A split-K config of the matmul kernel's space for ``problem`` on this runtime (the
    interpreter's space and a GPU's differ) that is not the heuristic's: a cached config the
    lookup must use."""
    problem = problem or _problem()
    heuristic = triton_matmul.MATMUL.heuristic(problem)
    return next(c for c in triton_matmul.MATMUL.configs(problem)
                if c["SPLIT_K"] == 2 and c != heuristic)


def test_a_miss_uses_the_heuristic_and_a_hit_the_cached_config(monkeypatch):
    problem = _problem()
    assert autotune.choose(triton_matmul.MATMUL, problem) == triton_matmul.MATMUL.heuristic(problem)
    cached = _good(problem)
    autotune.cache().put(triton_matmul.MATMUL.key(problem), cached, {"x": 1.0})
    used = []
    real_launch = triton_matmul.launch
    monkeypatch.setattr(triton_matmul, "launch", lambda a, b, config: used.append(config) or
                        real_launch(a, b, config))
    a = np.random.default_rng(0).standard_normal((8, 40)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((40, 8)).astype(np.float32)
    out = framework.tensor(a, device="cuda") @ framework.tensor(b, device="cuda")
    assert used == [cached]
    np.testing.assert_allclose(out.cpu().numpy(), a @ b, rtol=1e-5, atol=1e-5)


def _fake_tunable(configs, launched):
    return autotune.Tunable(
        name="fake", kernel_hash=lambda: "h", configs=lambda problem: configs,
        heuristic=lambda problem: configs[0],
        key_fields=lambda problem: ("fp32", "NN", {"M": problem["m"]}),
        runner=lambda problem: launched.append)


def test_tune_times_every_config_and_keeps_the_fastest():
    configs = [{"BLOCK_M": b, "num_warps": 4} for b in (16, 32, 64)]
    launched, fake = [], iter([3.0, 1.0, 2.0])
    result = autotune.tune(_fake_tunable(configs, launched), {"m": 100},
                           lambda fn: (fn(), next(fake))[1])
    assert launched == configs
    assert list(result.timings.values()) == [3.0, 1.0, 2.0]
    assert result.best == configs[1] and result.best_ms == 1.0
    assert result.speedup == pytest.approx(3.0)
    assert result.key == "fake@h|fp32|NN|M=128"


def test_failing_configs_are_skipped_and_the_budget_stops_early():
    configs = [{"BLOCK_M": b, "num_warps": 4} for b in (16, 32, 64)]

    def timer(fn):
        raise RuntimeError("out of resources")

    result = autotune.tune(_fake_tunable(configs, []), {"m": 1}, timer)
    assert all(ms == float("inf") for ms in result.timings.values())
    result = autotune.tune(_fake_tunable(configs, []), {"m": 1}, lambda fn: 1.0, deadline=0.0)
    assert len(result.timings) == 1


def test_a_tuning_cut_by_the_deadline_is_partial_and_resumes_without_retiming():
    configs = [{"BLOCK_M": b, "num_warps": 4} for b in (16, 32, 64)]
    launched = []
    tunable = _fake_tunable(configs, launched)
    cut = autotune.tune(tunable, {"m": 1}, lambda fn: (fn(), 2.0)[1], deadline=0.0)
    assert launched == configs[:1] and not cut.complete and cut.untimed == 2 and cut.space == 3
    assert cut.best == configs[0] and cut.heuristic_timed
    from framework.autotune.tuner import untimed
    assert untimed(tunable, {"m": 1}, cut.timings) == configs[1:]
    again = autotune.tune(tunable, {"m": 1}, lambda fn: (fn(), 3.0)[1], deadline=0.0,
                          done=cut.timings)  # a resumed run cut at once still makes progress
    assert launched == configs[:2] and again.untimed == 1
    done = autotune.tune(tunable, {"m": 1}, lambda fn: (fn(), 1.0)[1], done=again.timings)
    assert launched == configs  # each resumed tuning launched only untimed configs
    assert done.complete and done.timings == {"16 w4 s1": 2.0, "32 w4 s1": 3.0, "64 w4 s1": 1.0}
    assert done.best == configs[2] and done.heuristic_ms == 2.0 and done.speedup == 2.0
    assert untimed(tunable, {"m": 1}, done.timings) == []


def test_a_heuristic_outside_the_space_is_timed_first_and_can_be_left_untimed():
    configs = [{"BLOCK_M": b, "num_warps": 4} for b in (16, 32)]
    tunable = dataclasses.replace(_fake_tunable(configs, []),
                                  heuristic=lambda problem: {"BLOCK_M": 128, "num_warps": 4})
    result = autotune.tune(tunable, {"m": 1}, lambda fn: 1.0, deadline=0.0)
    assert list(result.timings) == ["128 w4 s1"] and result.untimed == 2
    resumed = autotune.tune(tunable, {"m": 1}, lambda fn: 1.0,
                            done={"16 w4 s1": 1.0, "32 w4 s1": 0.5})
    assert resumed.complete and list(resumed.timings)[-1] == "128 w4 s1"
    assert resumed.best == configs[1] and resumed.speedup == 2.0
    inside = dataclasses.replace(tunable, heuristic=lambda problem: configs[1])
    cut = autotune.tune(inside, {"m": 1}, lambda fn: 1.0, deadline=0.0)  # times configs[0] only
    assert not cut.heuristic_timed and cut.heuristic_ms == float("inf") and cut.untimed == 1


def test_quick_space_keeps_one_pipeline_depth_of_every_tile():
    from framework._backends.triton import runtime
    from framework._backends.triton.tuning import quick_space
    kernels = runtime.kernels()
    spaces = [kernels.matmul.config_space(2, 227 * 1024, True),
              kernels.matmul.config_space(4, 227 * 1024, False),
              kernels.conv.config_space("conv2d_kernel", 2, 227 * 1024, True),
              kernels.conv.config_space("conv2d_weight_grad_kernel", 4, 99 * 1024, False)]
    for space in spaces:
        quick = quick_space(space)
        assert all(config in space for config in quick)
        tiles = {tuple(sorted((k, v) for k, v in c.items() if k != "num_stages")) for c in space}
        assert len(quick) == len(tiles) < len(space)  # every tile once, fewer configs
        for config in quick:  # the 3-stage variant of its tile, else the deepest
            depths = {d["num_stages"] for d in space
                      if dict(d, num_stages=0) == dict(config, num_stages=0)}
            assert config["num_stages"] == (3 if 3 in depths else max(depths))
    only_two = [{"BLOCK_M": 64, "num_stages": 2}, {"BLOCK_M": 64, "num_stages": 1},
                {"BLOCK_M": 32, "num_stages": 4}, {"BLOCK_M": 32, "num_stages": 3}]
    assert quick_space(only_two) == [{"BLOCK_M": 64, "num_stages": 2},
                                     {"BLOCK_M": 32, "num_stages": 3}]


def test_tunable_for_quick_thins_only_the_space():
    from framework._backends.triton.tuning import quick_space, tunable_for
    problem = dict(_problem(16, 16, 32), op="matmul")
    full, quick = tunable_for(problem), tunable_for(problem, quick=True)
    assert quick.key(problem) == full.key(problem)
    assert quick.heuristic(problem) == full.heuristic(problem)
    assert quick.configs(problem) == quick_space(full.configs(problem))


def test_precompile_queues_every_compile_in_threads_and_drops_the_launches(monkeypatch):
    """The parallel compile rides on Triton's AsyncCompileMode: where a launch misses its
    kernel cache, Triton hands ``submit(key, compile_fn, finalize_fn[, cleanup_fn])`` to the
    active mode. A fake launch makes that call as Triton 3.6 (three arguments) and 3.9 (four)
    do; compiles run in pool threads, the launches are dropped, each kernel is installed."""
    import threading

    from triton.runtime import _async_compile

    from framework._backends.triton import tuning
    monkeypatch.setattr(tuning, "on_gpu", lambda: True)
    compiled, installed, launched = [], {}, []

    def run(config):
        key = config["BLOCK_M"]

        def compile_fn():
            if key == 64:
                raise RuntimeError("out of resources")
            compiled.append((key, threading.current_thread().name))
            return f"kernel {key}"

        mode = _async_compile.active_mode.get()
        assert mode is not None
        extra = (lambda *_: None,) if key == 32 else ()
        mode.submit(key, compile_fn, lambda kernel: installed.__setitem__(key, kernel), *extra)
        launched.append(key)  # never reached: the launch is dropped

    configs = [{"BLOCK_M": b} for b in (16, 32, 64, 16)]
    tuning.precompile(run, configs)
    assert launched == [] and installed == {16: "kernel 16", 32: "kernel 32"}
    assert sorted(key for key, _ in compiled) == [16, 32]  # the repeated key compiled once
    assert all(name.startswith("framework-compile") for _, name in compiled)
    assert _async_compile.active_mode.get() is None
    from concurrent.futures import ThreadPoolExecutor

    from triton import AsyncCompileMode
    with ThreadPoolExecutor(1) as pool, AsyncCompileMode(pool):
        tuning.precompile(run, configs)  # inside another async-compile region: not used
    assert len(compiled) == 2 and launched == []
    monkeypatch.setattr(tuning, "on_gpu", lambda: False)
    tuning.precompile(run, configs)  # the interpreter: nothing compiles ahead
    assert len(compiled) == 2


def _first_configs(tunable, count=3):
    """``tunable`` with its config space cut to the first ``count`` configs.

    The interpreter's space has 2-3 configs, a GPU's dozens (each a compile): the tests
    launch a few of them on either runtime.
    """
    return dataclasses.replace(tunable, configs=lambda problem: tunable.configs(problem)[:count])


def _tried_labels(tunable, problem):
    """Labels of the configs ``autotune.tune`` launches: the space, plus the heuristic first."""
    configs = tunable.configs(problem)
    heuristic = tunable.heuristic(problem)
    return {autotune.config_label(c) for c in ([] if heuristic in configs else [heuristic]) + configs}


def test_matmul_tuning_times_real_launches_of_every_config():
    tunable, problem = _first_configs(triton_matmul.MATMUL), _problem(16, 16, 32)
    result = autotune.tune(tunable, problem, lambda fn: (fn(), 1.0)[1])
    assert set(result.timings) == _tried_labels(tunable, problem)
    assert 2 <= len(result.timings) <= 4
    assert all(ms == 1.0 for ms in result.timings.values())  # every config launched without error


def test_recorder_logs_the_problems_a_run_uses(tmp_path):
    path = tmp_path / "problems.json"
    x = framework.randn(3, 20, device="cuda")
    w = framework.randn(20, 5, device="cuda")
    with autotune.record(path) as seen:
        x @ w
        x @ w
        framework.randn(2, 3, 20, device="cuda") @ w
    assert len(seen) == 3
    problems = autotune.recorded(path)
    assert [(p["op"], p["m"], p["n"], p["k"]) for p in problems] == [("matmul", 3, 5, 20),
                                                                     ("matmul", 6, 5, 20)]
    (tmp_path / "bad.json").write_text('{"op": 1}')
    with pytest.raises(ValueError, match="recorded problem list"):
        autotune.recorded(tmp_path / "bad.json")


def test_export_and_import_move_entries_between_machines(tmp_path, private_cache):
    autotune.cache().put("k", {"x": 1}, {"c": 1.0})
    autotune.cache().save()
    assert autotune.export_cache(tmp_path / "shared.json") == 1
    autotune.cache().clear()
    autotune.reset()
    assert autotune.cache().get("k") is None
    assert autotune.import_cache(tmp_path / "shared.json") == 1
    assert autotune.cache().get("k")["best"] == {"x": 1}


def _this_runtime() -> str:
    """``FRAMEWORK_TRITON_INTERPRET`` of this test process's runtime (GPU check: "0")."""
    from framework._backends.triton import runtime
    return "1" if runtime.mode() == "interpreter" else "0"


def _cli(*args, cache_dir, interpret="1"):
    """``framework autotune ARGS`` in a subprocess: under the interpreter by default (a dry
    run on a GPU would compile the GPU's whole config space per problem); ``interpret=
    _this_runtime()`` where it must see the same device as this process."""
    env = dict(os.environ, FRAMEWORK_TRITON_INTERPRET=interpret, COLUMNS="150",
               FRAMEWORK_CACHE_DIR=str(cache_dir))
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "framework", "autotune", *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


def _entries(cache_dir) -> dict:
    files = [f for f in os.listdir(cache_dir) if f.endswith(".json")]
    assert len(files) == 1
    return json.loads((cache_dir / files[0]).read_text())["entries"]


def test_dry_run_tunes_then_a_warm_second_run_tunes_nothing(private_cache, tmp_path):
    """A --budget cut keeps a partial entry; the next run tunes exactly what was left (the
    cut problem's untimed configs, the untouched problem), the one after tunes nothing."""
    args = ("--dry-run", "--ops", "matmul", "--dtypes", "bf16")
    first = _cli(*args, "--budget", "0.001", cache_dir=private_cache)
    assert first.returncode == 0, first.stdout + first.stderr
    text = " ".join(first.stdout.split())
    assert "Tuning 2 of 2 problems" in text
    assert "framework autotune" in text and "speedup" in text
    assert "budget ran out: 1 problems left untuned, 1 partly tuned" in text
    assert "partly tuned (1 of 3 configs): matmul bf16 16x16x32 NN" in first.stdout
    assert "untuned: matmul bf16 32x16x64 NN" in first.stdout
    (key, cut), = _entries(private_cache).items()
    assert len(cut["timings"]) == 1
    second = _cli(*args, cache_dir=private_cache)
    assert second.returncode == 0, second.stdout + second.stderr
    text = " ".join(second.stdout.split())
    assert "Tuning 2 of 2 problems" in text and "1 partly tuned before" in text
    assert "  - matmul bf16 16x16x32 NN\n" in second.stdout and "budget ran out" not in text
    entries = _entries(private_cache)
    assert len(entries) == 2 and all(len(entry["timings"]) >= 3 for entry in entries.values())
    assert entries[key]["timings"].items() >= cut["timings"].items()  # resumed, not retimed
    third = _cli(*args, cache_dir=private_cache)
    assert third.returncode == 0
    assert "Nothing to tune" in " ".join(third.stdout.split())
    recorded = tmp_path / "rec.json"
    recorded.write_text(json.dumps([{"op": "matmul", "m": 20, "n": 16, "k": 16, "batch": 1,
                                     "dtype": "bf16", "layout": "NT"}]))
    fourth = _cli("--dry-run", "--from", str(recorded), cache_dir=private_cache)
    assert "Tuning 1 of 1 problems" in " ".join(fourth.stdout.split())


def test_unknown_ops_and_dtypes_are_refused(private_cache):
    result = _cli("--dry-run", "--ops", "matmul,fft", cache_dir=private_cache)
    assert result.returncode == 2 and "fft" in result.stdout


def test_tf32_is_on_by_default_and_selectable_like_pytorch():
    default = subprocess.run([sys.executable, "-c", "import framework; "
                              "print(framework.get_float32_matmul_precision(), "
                              "framework.backends.cuda.matmul.allow_tf32)"],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert default.stdout.split() == ["high", "True"]
    framework.backends.cuda.matmul.allow_tf32 = True
    assert framework.get_float32_matmul_precision() == "high" and _problem()["dtype"] == "tf32"
    framework.backends.cuda.matmul.allow_tf32 = False
    assert framework.get_float32_matmul_precision() == "highest"
    assert _problem()["dtype"] == "fp32"
    with pytest.raises(RuntimeError, match="Invalid precision"):
        framework.set_float32_matmul_precision("low")


def test_conv_launches_look_up_their_gemm_configs(monkeypatch):
    from framework._backends.triton import conv as triton_conv
    x = framework.randn(1, 2, 5, 5, device="cuda")
    w = framework.randn(3, 2, 3, 3, device="cuda")
    with autotune.record() as seen:
        framework.nn.functional.conv2d(x, w, padding=1)
    assert [p["kernel"] for p in seen] == ["conv2d_kernel"]
    problem = {k: v for k, v in seen[0].items() if k != "op"}
    tunable = triton_conv.CONV_TUNABLES["conv2d_kernel"]
    assert tunable.key(problem).startswith("conv2d@")
    tunable = _first_configs(tunable, 2)
    result = autotune.tune(tunable, problem, lambda fn: (fn(), 1.0)[1])
    assert set(result.timings) == _tried_labels(tunable, problem)
    assert all(ms == 1.0 for ms in result.timings.values())
    heuristic = tunable.heuristic(problem)
    cached = next(c for c in triton_conv.CONV_TUNABLES["conv2d_kernel"].configs(problem)
                  if c != heuristic)  # any config of this runtime's space but the heuristic's
    autotune.cache().put(result.key, cached, result.timings)
    used = []
    real = triton_conv._launch_conv2d
    monkeypatch.setattr(triton_conv, "_launch_conv2d",
                        lambda *args: used.append({k: args[-1][k] for k in cached}) or real(*args))
    out = framework.nn.functional.conv2d(x, w, padding=1)
    assert used == [cached]
    expected = framework.nn.functional.conv2d(x.cpu(), w.cpu(), padding=1)
    np.testing.assert_allclose(out.cpu().numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_problems_recorded_under_the_old_conv_kernel_names_still_load(tmp_path):
    """Files written by ``autotune.record`` before the conv kernels took the contract's names
    (conv2d_fwd/dgrad/wgrad) still drive ``framework autotune --from``."""
    from framework._backends.triton.tuning import tunable_for
    old = {"op": "conv2d", "x": [1, 2, 5, 5], "w": [3, 2, 3, 3], "stride": [1, 1],
           "padding": [1, 1], "dilation": [1, 1], "groups": 1, "dtype": "fp32"}
    path = tmp_path / "old.json"
    path.write_text(json.dumps([dict(old, kernel=f"conv2d_{kind}_kernel")
                                for kind in ("fwd", "dgrad", "wgrad")]))
    problems = autotune.recorded(path)
    assert [p["kernel"] for p in problems] == ["conv2d_kernel", "conv2d_input_grad_kernel",
                                               "conv2d_weight_grad_kernel"]
    assert [tunable_for(p).name for p in problems] == ["conv2d", "conv2d_input_grad",
                                                       "conv2d_weight_grad"]


def test_pointwise_conv_runs_on_the_matmul_kernel():
    x = framework.randn(2, 3, 4, 5, device="cuda")
    w = framework.randn(6, 3, 1, 1, device="cuda")
    with autotune.record() as seen:
        out = framework.nn.functional.conv2d(x, w)
    assert [p["op"] for p in seen] == ["matmul"]
    expected = framework.nn.functional.conv2d(x.cpu(), w.cpu())
    np.testing.assert_allclose(out.cpu().numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)
    assert out.shape == (2, 6, 4, 5)


def test_dry_run_tunes_conv_problems(private_cache):
    result = _cli("--dry-run", "--ops", "conv2d", "--dtypes", "fp32", cache_dir=private_cache)
    assert result.returncode == 0, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    assert "Tuning 3 of 3 problems" in text and "conv2d weight_grad" in text


# -- bad files and entries never break a launch (issue 9, item 5) ---------------------------------
def _operands(seed=0, m=8, k=40, n=8):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((m, k)).astype(np.float32),
            rng.standard_normal((k, n)).astype(np.float32))


def _cuda_matmul(a, b):
    return (framework.tensor(a, device="cuda") @ framework.tensor(b, device="cuda")).cpu().numpy()


def _write_cache(entries: dict, raw: bytes | None = None):
    path = autotune.cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"format": 1, "device": autotune.cache().device, "entries": entries}
    path.write_bytes(raw if raw is not None else json.dumps(document).encode())
    autotune.reset()
    return path


def test_a_non_utf8_cache_file_is_reported_once_and_matmul_works():
    _write_cache({}, raw=b'{"format": 1, "entries": {"\xff\xfe": 1}}')
    a, b = _operands()
    with pytest.warns(RuntimeWarning, match="not UTF-8") as caught:
        np.testing.assert_allclose(_cuda_matmul(a, b), a @ b, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(_cuda_matmul(b.T, a.T), b.T @ a.T, rtol=1e-5, atol=1e-5)
    assert len([w for w in caught if "autotune" in str(w.message)]) == 1
    autotune.cache().put("k", {"x": 1}, {"c": 1.0})
    autotune.cache().save()  # the corrupt file is replaced by a good one
    assert ConfigCache(autotune.cache_path(), autotune.cache().device).get("k")["best"] == {"x": 1}


def test_a_deeply_nested_cache_file_is_reported_and_ignored(tmp_path):
    path = tmp_path / "c.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.warns(RuntimeWarning, match="nested too deeply"):
        assert ConfigCache(path, DEVICE).get("k") is None


@pytest.mark.parametrize("change", [{"SPLIT_K": 0}, {"SPLIT_K": -1}, {"SPLIT_K": 3},
                                    {"BLOCK_M": 0}, {"BLOCK_K": 64.0}, {"SPLIT_K": True},
                                    {"SPLIT_K": "2"}, {"BLOCK_Q": 16}, {"num_warps": None}],
                         ids=repr)
def test_a_cached_config_outside_the_kernels_space_is_ignored_with_one_warning(change):
    """SPLIT_K 0 or -1 used to make matmul return zeros; any value or key the kernel's config
    space does not have is refused at lookup (or when the file is read) with one warning."""
    problem = _problem()
    good = _good(problem)
    assert triton_matmul.MATMUL.accepts(good, problem)
    assert not triton_matmul.MATMUL.accepts(dict(good, **change), problem)
    _write_cache({triton_matmul.MATMUL.key(problem): {"best": dict(good, **change),
                                                      "timings": {"x": 1.0}}})
    a, b = _operands()
    with pytest.warns(RuntimeWarning, match="autotune cache") as caught:
        for seed in range(3):  # the same entry serves 8x40x8 and 9x33x7: one warning
            a, b = _operands(seed, m=8 + seed % 2, k=40 - 7 * (seed % 2), n=8 - seed % 2)
            np.testing.assert_allclose(_cuda_matmul(a, b), a @ b, rtol=1e-5, atol=1e-5)
    assert len([w for w in caught if "autotune" in str(w.message)]) == 1


def test_a_bad_conv_entry_is_ignored_and_the_conv_is_right():
    from framework._backends.triton import conv as triton_conv
    x = framework.randn(1, 2, 5, 5, device="cuda")
    w = framework.randn(3, 2, 3, 3, device="cuda")
    with autotune.record() as seen:
        framework.nn.functional.conv2d(x, w, padding=1)
    problem = {k: v for k, v in seen[0].items() if k != "op"}
    key = triton_conv.CONV_TUNABLES["conv2d_kernel"].key(problem)
    heuristic = triton_conv.CONV_TUNABLES["conv2d_kernel"].heuristic(problem)
    _write_cache({key: {"best": dict(heuristic, SPLIT_K=2), "timings": {"x": 1.0}}})
    with pytest.warns(RuntimeWarning, match="not a config of the conv2d kernel"):
        out = framework.nn.functional.conv2d(x, w, padding=1)
    expected = framework.nn.functional.conv2d(x.cpu(), w.cpu(), padding=1)
    np.testing.assert_allclose(out.cpu().numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_malformed_entries_are_dropped_with_one_warning_and_good_ones_kept(tmp_path):
    path = tmp_path / "c.json"
    entries = {"good": {"best": {"x": 1}, "timings": {"c": 1.0}},
               "no best": {"timings": {}}, "list": [1], "zero": {"best": {"x": 0}, "timings": {}},
               "bad timings": {"best": {"x": 1}, "timings": {"c": "fast"}}}
    path.write_text(json.dumps({"format": 1, "device": DEVICE, "entries": entries}))
    cache = ConfigCache(path, DEVICE)
    with pytest.warns(RuntimeWarning, match="ignoring 4 malformed entries") as caught:
        assert list(cache.entries) == ["good"]
    assert len(caught) == 1


def test_launching_matmul_with_split_k_below_one_raises():
    a = framework.ones(1, 4, 4, device="cuda")
    for split in (0, -1):
        with pytest.raises(ValueError, match="SPLIT_K must be a positive integer"):
            triton_matmul.launch(a._a, a._a, dict(_good(), SPLIT_K=split))


def test_the_lock_file_is_never_a_followed_symlink(tmp_path):
    path = tmp_path / "c.json"
    victim = tmp_path / "elsewhere" / "victim"
    victim.parent.mkdir()
    (tmp_path / "c.json.lock").symlink_to(victim)
    cache = ConfigCache(path, DEVICE)
    cache.put("k", {"x": 1}, {"c": 1.0})
    with pytest.raises(OSError, match="symbolic link"):
        cache.save()
    assert not victim.exists() and not path.exists()
    victim.write_text("precious")
    with pytest.raises(OSError, match="symbolic link"):
        cache.save()
    assert victim.read_text() == "precious"


def test_a_recorded_problem_file_that_is_not_text_is_refused(tmp_path):
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe[]")
    with pytest.raises(ValueError, match="recorded problem list"):
        autotune.recorded(tmp_path / "bin.json")


def test_import_validates_like_a_read(tmp_path, private_cache):
    device = autotune.cache().device
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe not a cache")
    with pytest.raises(ValueError, match="not UTF-8"):
        autotune.import_cache(bad)
    bad.write_text(json.dumps({"format": 1, "device": dict(device, name="x"), "entries": {}}))
    with pytest.raises(ValueError, match="written for"):
        autotune.import_cache(bad)
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({"format": 1, "device": device, "entries": {
        "ok": {"best": _good(), "timings": {"c": 1.0}},
        "zero split": {"best": dict(_good(), SPLIT_K=0), "timings": {"c": 1.0}}}}))
    with pytest.warns(RuntimeWarning, match="ignoring 1 malformed entry .*zero split"):
        assert autotune.import_cache(mixed) == 1
    assert set(autotune.cache().entries) == {"ok"}


def test_cli_import_refuses_a_bad_file_and_skips_bad_entries(tmp_path, private_cache):
    """The subprocess runs on this process's runtime (interpreter or GPU), so a file written
    for ``autotune.cache().device`` here is a file for its device; one for another device
    is refused."""
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe not a cache")
    result = _cli("--dry-run", "--import", str(bad), cache_dir=private_cache,
                  interpret=_this_runtime())
    text = " ".join(result.stdout.split())
    assert result.returncode == 1 and "nothing was imported" in text, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    device = autotune.cache().device
    entries = {"ok": {"best": _good(), "timings": {"c": 1.0}},
               "neg": {"best": dict(_good(), SPLIT_K=-1), "timings": {"c": 1.0}}}
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"format": 1, "device": dict(device, name="Other GPU"),
                                   "entries": entries}))
    result = _cli("--dry-run", "--import", str(foreign), cache_dir=private_cache,
                  interpret=_this_runtime())
    text = " ".join(result.stdout.split())
    assert result.returncode == 1 and "written for" in text and "nothing was imported" in text
    mixed = tmp_path / "mixed.json"
    mixed.write_text(json.dumps({"format": 1, "device": device, "entries": entries}))
    result = _cli("--dry-run", "--import", str(mixed), cache_dir=private_cache,
                  interpret=_this_runtime())
    text = " ".join(result.stdout.split())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imported 1 entries" in text and "ignoring 1 malformed entry" in text
    assert set(ConfigCache(autotune.cache_path(), device).entries) == {"ok"}


def test_every_gpu_heuristic_config_is_a_valid_cached_config_for_its_dtype():
    """A tuned entry may hold the heuristic config of its problem; every problem of the same
    bucket must accept it, so the GPU heuristic's every answer is in the accepted set."""
    from framework._backends.triton import runtime
    kernels = runtime.kernels().matmul
    sizes = (1, 16, 200, 256, 257, 1000, 1024, 4096, 20000)
    for itemsize, tensor_cores in ((2, True), (4, True), (4, False), (8, False)):
        accepted = (kernels.config_space(itemsize, 227 * 1024, tensor_cores)
                    + kernels.heuristic_configs(itemsize, tensor_cores))
        for m in sizes:
            for n in sizes:
                for k in sizes:
                    config = kernels.default_config(m, n, k, itemsize, False, tensor_cores,
                                                    batch=1, sms=132)
                    assert config in accepted, (m, n, k, itemsize, tensor_cores, config)


def test_accepts_takes_the_tuned_space_heuristics_and_declared_extras():
    configs = [{"BLOCK_M": 16}, {"BLOCK_M": 32}]
    fake = autotune.Tunable(name="fake", kernel_hash=lambda: "h",
                            configs=lambda problem: configs,
                            heuristic=lambda problem: {"BLOCK_M": 64},
                            key_fields=lambda problem: ("fp32", "NN", {"M": 1}),
                            runner=lambda problem: None,
                            also_valid=lambda problem: [{"BLOCK_M": 128}])
    for m in (16, 32, 64, 128):
        assert fake.accepts({"BLOCK_M": m}, {})
    for bad in ({"BLOCK_M": 8}, {"BLOCK_M": 32.0}, {"BLOCK_M": 16, "SPLIT_K": 1}, {}):
        assert not fake.accepts(bad, {})
