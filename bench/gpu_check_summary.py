"""Summary of a ``bench/gpu_check.sh`` run: ``$OUT/summary.txt`` and ``$OUT/summary.json``.

Reads what the phases left under ``$OUT`` (any of it may be missing: a phase
that failed, timed out or never ran is reported as such):

- ``phases.tsv``: name, exit status, seconds and limit of each finished phase;
- ``versions.log``, ``smoke.log``;
- ``test-stats-<i>.json.results.jsonl`` (each test's outcome, appended as it ends) or
  else ``tests-<i>.xml`` (pytest's JUnit reports per shard; merged into ``tests.xml``),
  ``test-stats-<i>.json`` (tests/run_stats.py: compiles, memory) and, under the
  interpreter, ``specializations-<i>.json`` (tests/specializations.py);
- ``gpu-memory.csv`` (nvidia-smi samples during the tests);
- ``autotune-cache/*.json``, ``autotune-2.log``; ``bench.json``.

It answers, per test family (test file): passed/failed and the first failure
with its error; then compile counts and time, peak memory, the autotune
result and the bench rows against torch. ``--quiet`` only rewrites the files
(the script calls it after every phase); ``--merge-junit OUT N`` merges the
shards' reports.
"""
from __future__ import annotations

import glob
import json
import math
import os
import re
import sys
import xml.etree.ElementTree as ET

TIMEOUT_CODES = (124, 137)


# -- inputs -------------------------------------------------------------------------------
def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def _json(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def phases(out: str) -> list:
    """``[{"name", "rc", "seconds", "limit", "status"}]`` in the order they finished."""
    rows = []
    for line in _read(os.path.join(out, "phases.tsv")).splitlines():
        parts = line.split("\t")
        if len(parts) != 4:
            continue
        name, rc, seconds, limit = parts[0], int(parts[1]), int(parts[2]), int(parts[3])
        if rc in TIMEOUT_CODES:
            status = f"TIMED OUT after {seconds} s (limit {limit} s)"
        elif rc == 0 or (name == "tests" and rc == 5):
            status = "ok"
        elif name.startswith("autotune") and rc == 3:
            status = "no GPU (exit 3)"
        else:
            status = f"FAILED (exit {rc})"
        rows.append({"name": name, "rc": rc, "seconds": seconds, "limit": limit, "status": status})
    return rows


def versions(out: str) -> dict:
    """GPU line and package versions from ``versions.log``."""
    text = _read(os.path.join(out, "versions.log"))
    found = {}
    for name in ("python", "triton", "torch", "numpy", "cuda-bindings"):
        match = re.search(rf"^{re.escape(name)} (\S+)", text, re.MULTILINE)
        found[name] = match.group(1) if match else None
    gpu = re.search(r"^name, driver_version.*\n(.+)$", text, re.MULTILINE)
    found["gpu"] = gpu.group(1).strip() if gpu else ("no nvidia-smi" if "nvidia-smi: not found" in text
                                                      else None)
    return found


def _junit_roots(out: str) -> list:
    """The shard reports (or the merged one when the shards' are gone)."""
    paths = sorted(glob.glob(os.path.join(out, "tests-*.xml")))
    if not paths and os.path.exists(os.path.join(out, "tests.xml")):
        paths = [os.path.join(out, "tests.xml")]
    roots = []
    for path in paths:
        try:
            roots.append(ET.parse(path).getroot())
        except (ET.ParseError, OSError):
            continue
    return roots


def _outcomes_from_jsonl(out: str) -> list:
    """``(test id, outcome, seconds, message)`` from the shards' ``*.results.jsonl`` (written
    as each test ends by tests/run_stats.py, so they survive a killed shard)."""
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "test-stats-*.json.results.jsonl"))):
        for line in _read(path).splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue  # a line cut short by a kill
            rows.append((r["nodeid"], r["outcome"], r.get("seconds", 0.0), r.get("message", "")))
    return rows


def _outcomes_from_junit(out: str) -> list:
    rows = []
    for root in _junit_roots(out):
        for case in root.iter("testcase"):
            if not case.get("name"):
                continue  # the placeholder pytest writes for an interrupted session
            test_id = case.get("classname", "").replace(".", "/") + ".py::" + case.get("name")
            problem = case.find("failure")
            if problem is None:
                problem = case.find("error")
            if problem is not None:
                message = problem.get("message") or (problem.text or "").strip()
                rows.append((test_id, "failed", float(case.get("time", 0) or 0), message))
            else:
                outcome = "skipped" if case.find("skipped") is not None else "passed"
                rows.append((test_id, outcome, float(case.get("time", 0) or 0), ""))
    return rows


def family_of_test(test_id: str) -> str:
    """``tests/ops/test_matmul.py::test_x[cuda]`` -> ``ops/matmul``."""
    path = test_id.split("::")[0]
    parts = [p for p in path[:-3].split("/") if p != "tests"] if path.endswith(".py") else [path]
    if parts and parts[-1].startswith("test_"):
        parts[-1] = parts[-1][len("test_"):]
    return "/".join(parts) or "?"


def test_families(out: str) -> dict:
    """``{family: {"passed", "failed", "skipped", "seconds", "first_failure", "error"}}``.

    From the per-test lines the shards append as they go (complete even for a
    killed shard), else from the JUnit reports.
    """
    rows = _outcomes_from_jsonl(out) or _outcomes_from_junit(out)
    families: dict = {}
    for test_id, outcome, seconds, message in rows:
        family = families.setdefault(family_of_test(test_id), {
            "passed": 0, "failed": 0, "skipped": 0, "seconds": 0.0, "first_failure": None,
            "error": None})
        family["seconds"] += seconds
        family[outcome if outcome in ("passed", "failed", "skipped") else "failed"] += 1
        if outcome == "failed" and family["first_failure"] is None:
            family["first_failure"] = test_id
            family["error"] = " ".join(message.split())[:300]
    for name, (count, seconds) in _compiles_by_family(out).items():
        family = families.get(name)
        if family is not None:
            family["compiles"] = count
            family["compile_s"] = None if seconds is None else round(seconds, 1)
    for family in families.values():
        family["seconds"] = round(family["seconds"], 1)
    return dict(sorted(families.items()))


def _compiles_by_family(out: str) -> dict:
    """``{family: (compiles, seconds)}``: GPU compiles from the stats files, else (under the
    interpreter) the distinct specializations each family's tests would compile."""
    found: dict = {}
    for path in glob.glob(os.path.join(out, "test-stats-*.json")):
        for test_file, (count, seconds) in ((_json(path) or {}).get("compiles_by_file") or {}).items():
            old = found.get(family_of_test(test_file), (0, 0.0))
            found[family_of_test(test_file)] = (old[0] + count, old[1] + seconds)
    if found:
        return found
    keys: dict = {}
    for path in glob.glob(os.path.join(out, "specializations-*.json")):
        report = _json(path) or {"tests": {}, "keys": []}
        for test_id, indices in report["tests"].items():
            keys.setdefault(family_of_test(test_id), set()).update(report["keys"][i] for i in indices)
    return {family: (len(k), None) for family, k in keys.items()}


def shard_stats(out: str) -> dict:
    """Compiles, memory and wall time summed or maxed over the shards' stats files."""
    stats = [s for s in (_json(p) for p in sorted(glob.glob(os.path.join(out, "test-stats-*.json")))) if s]
    specs = [s for s in (_json(p) for p in sorted(glob.glob(os.path.join(out, "specializations-*.json"))))
             if s]
    slowest = sorted((c for s in stats for c in s.get("slowest_compiles", [])), key=lambda c: -c[1])
    per_shard_specs = [len({k for keys in s["tests"].values() for k in keys}) for s in specs]
    all_specs = {key for s in specs for keys in s["tests"].values() for key in
                 (s["keys"][i] for i in keys)}
    interrupted = [int(re.search(r"tests-(\d+)\.log$", path).group(1))
                   for path in sorted(glob.glob(os.path.join(out, "tests-*.log")))
                   if "KeyboardInterrupt" in _read(path)]
    gpu_mib = []
    for line in _read(os.path.join(out, "gpu-memory.csv")).splitlines():
        try:
            gpu_mib.append(int(line.split(",")[0]))
        except ValueError:
            continue
    return {
        "shards_reporting": len(stats),
        "shards_interrupted": sorted(interrupted),
        "compiles": sum(s["compiles"] for s in stats),
        "compiles_per_shard": [s["compiles"] for s in stats],
        "shard_wall_s": [s["wall_s"] for s in stats],
        "compile_s": round(sum(s["compile_s"] for s in stats), 1),
        "fast_compiles": sum(s.get("fast_compiles", 0) for s in stats),
        "launchers": sum(s.get("launchers", 0) for s in stats),
        "launcher_s": round(sum(s.get("launcher_s", 0.0) for s in stats), 1),
        "slowest_compiles": slowest[:5],
        "estimated_specializations_per_shard": per_shard_specs,
        "estimated_specializations": len(all_specs),
        "allocator_peak_mib": round(max((s["allocator_peak_bytes"] for s in stats), default=0) / 2**20, 1),
        "peak_rss_mib": round(max((s["peak_rss_bytes"] for s in stats), default=0) / 2**20, 1),
        "gpu_memory_used_peak_mib": max(gpu_mib) if gpu_mib else None,
        "triton_cache": _read(os.path.join(out, "triton-cache-size.txt")).split("\t")[0].strip() or None,
    }


def autotune_result(out: str) -> dict:
    """Entries tuned into the run's cache, their speedup over the heuristic configs, and what
    the second run did: found the cache warm, tuned only what the first run's ``--budget``
    left (untuned or partly tuned problems: the budget is short, the cache is fine), or
    re-tuned problems the first run finished (a cache bug)."""
    entries = {}
    for path in glob.glob(os.path.join(out, "autotune-cache", "*.json")):
        document = _json(path) or {}
        entries.update(document.get("entries", {}))
    speedups = [e["heuristic_ms"] / e["best_ms"] for e in entries.values()
                if e.get("heuristic_ms") and e.get("best_ms") and math.isfinite(e["heuristic_ms"])
                and math.isfinite(e["best_ms"]) and e["best_ms"] > 0]
    first_log = _read(os.path.join(out, "autotune-1.log"))
    first = " ".join(first_log.split())
    planned = re.search(r"Tuning (\d+) of (\d+) problems", first)
    untuned = re.search(r"budget ran out: (\d+) problems left untuned(?:, (\d+) partly tuned)?",
                        first)
    left_names = _left_by_budget(first_log)
    left = (int(untuned.group(1)) + int(untuned.group(2) or 0)) if untuned else 0
    second_log = _read(os.path.join(out, "autotune-2.log"))
    second = " ".join(second_log.split())
    warm = None if not second_log else ("Nothing to tune" in second)
    tuned_again = re.search(r"Tuning (\d+) of (\d+) problems", second)
    count = int(tuned_again.group(1)) if tuned_again else 0
    names = re.findall(r"^  - (.+?)\s*$", second_log, re.MULTILINE)
    if not second_log or warm or not tuned_again:
        verdict, retuned = ("warm" if warm else None), []
    elif left_names is not None and len(names) == count:  # this format names the problems
        retuned = [name for name in names if name not in left_names]
        verdict = "re-tuned finished problems" if retuned else "tuned what the budget left"
    else:  # logs that do not name the problems: compare counts
        retuned = [f"{count - left} problems"] if count > left else []
        verdict = "re-tuned finished problems" if retuned else "tuned what the budget left"
    return {"entries": len(entries), "planned": planned.group(0) if planned else None,
            "left_by_budget": left,
            "geomean_speedup": round(math.exp(sum(map(math.log, speedups)) / len(speedups)), 3)
            if speedups else None,
            "second_run_warm": warm, "second_run_tuned": count if second_log else None,
            "second_run": verdict, "second_run_retuned": retuned}


def _left_by_budget(log: str) -> set | None:
    """Problems a ``framework autotune`` log names as left by its ``--budget`` (None for logs
    of versions that did not name them)."""
    if "budget ran out" not in log:
        return set()
    names = re.findall(r"^  (?:untuned|partly tuned \(\d+ of \d+ configs\)): (.+?)\s*$", log,
                       re.MULTILINE)
    return set(names) if names else None


def _second_run_line(a: dict) -> str:
    verdict = a.get("second_run")
    if verdict == "warm":
        return "second run warm"
    if verdict == "tuned what the budget left":
        return (f"second run tuned only the {a['second_run_tuned']} problems the first run's "
                "--budget left (the cache kept every finished problem; a cold cache needs "
                "more --budget to be warm in one run)")
    if verdict == "re-tuned finished problems":
        return ("second run NOT warm: it re-tuned problems the first run finished (a cache "
                f"bug): {', '.join(a['second_run_retuned'])}")
    return "second run -"


def bench_rows(out: str) -> tuple:
    """``(environment, results)`` from the bench JSON (empty when it is missing)."""
    data = _json(os.path.join(out, "bench.json")) or {}
    return data.get("environment", {}), data.get("results", [])


def merge_junit(out: str, shards: int) -> None:
    """Merge the shards' ``tests-<i>.xml`` into one ``tests.xml`` (missing shards are skipped)."""
    merged = ET.Element("testsuites")
    for shard in range(shards):
        path = os.path.join(out, f"tests-{shard}.xml")
        try:
            root = ET.parse(path).getroot()
        except (ET.ParseError, OSError):
            continue
        merged.extend([root] if root.tag == "testsuite" else list(root))
    ET.ElementTree(merged).write(os.path.join(out, "tests.xml"))


# -- the report ----------------------------------------------------------------------------
def _fmt(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _bench_lines(results: list) -> list:
    header = (f"{'suite':<6} {'op':<18} {'size':<22} {'dtype':<8} {'ours ms':>9} {'ref ms':>9} "
              f"{'ratio':>6} {'ours rate':>17} {'%peak':>6}")
    lines = [header, "-" * len(header)]
    for r in results:
        rate = "-" if r.get("rate") is None else f"{r['rate']:.1f} {r['unit']}"
        peak = None if r.get("peak_fraction") is None else 100 * r["peak_fraction"]
        ratio = _fmt(r.get("ratio"), 2) if r.get("status", "ok") in ("ok", "mismatch") else r["status"]
        lines.append(f"{r.get('suite', ''):<6} {r['op']:<18} {r['size']:<22} {r.get('dtype', ''):<8} "
                     f"{_fmt(r.get('ours_ms'), 3):>9} {_fmt(r.get('ref_ms'), 3):>9} {ratio:>6} "
                     f"{rate:>17} {_fmt(peak, 1):>6}{'  ' + r['note'] if r.get('note') else ''}")
    references = sorted({r.get("reference", "") for r in results} - {""})
    if references:
        lines.append(f"reference: {', '.join(references)}")
    return lines


def report(summary: dict) -> list:
    """The summary table as lines of text."""
    v, lines = summary["versions"], ["GPU check summary", "================="]
    lines.append(f"gpu: {v.get('gpu')}")
    lines.append(f"python {v.get('python')}  triton {v.get('triton')}  torch {v.get('torch')}  "
                 f"numpy {v.get('numpy')}  cuda-bindings {v.get('cuda-bindings')}")
    lines.append("phases: " + ("; ".join(f"{p['name']} {p['status']} ({p['seconds']} s)"
                                         for p in summary["phases"]) or "none finished"))
    smoke = summary["smoke"]
    if smoke:
        lines.append(f"smoke: {smoke}")
    for check in summary.get("reliability") or []:
        lines.append(f"reliability: {check}")
    if summary.get("dispatch"):
        lines.append("dispatch (us per call): " + "; ".join(" ".join(row.split()) for row in summary["dispatch"]))
    families = summary["tests"]
    totals = {k: sum(f[k] for f in families.values()) for k in ("passed", "failed", "skipped")}
    lines.append("")
    lines.append(f"tests: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} "
                 f"skipped in {len(families)} families")
    test_phase = next((p for p in summary["phases"] if p["name"] == "tests"), None)
    if test_phase is None:
        lines.append("  the test phase did not finish: counts are from the reports written so far")
    elif test_phase["rc"] in TIMEOUT_CODES and summary["stats"]["shards_interrupted"]:
        lines.append(f"  TIMED OUT: shards {summary['stats']['shards_interrupted']} were stopped "
                     "mid-run; their counts are partial (see tests-<i>.log)")
    elif test_phase["rc"] in TIMEOUT_CODES:
        lines.append("  TIMED OUT while the shards were finishing up: every test that ran is counted")
    if families:
        lines.append(f"  {'family':<26} {'pass':>5} {'fail':>5} {'skip':>5} {'test s':>7} "
                     f"{'compiles':>8} {'comp. s':>7}  first failure")
        for name, f in families.items():
            first = f"{f['first_failure']}: {f['error']}" if f["first_failure"] else ""
            compiles = "-" if f.get("compiles") is None else str(f["compiles"])
            lines.append(f"  {name:<26} {f['passed']:>5} {f['failed']:>5} {f['skipped']:>5} "
                         f"{f['seconds']:>7.1f} {compiles:>8} {_fmt(f.get('compile_s'), 1):>7}  "
                         f"{first[:200]}")
        if not summary["stats"]["compiles"] and summary["stats"]["estimated_specializations_per_shard"]:
            lines.append("  (compiles: the specializations a GPU would compile, counted under the "
                         "interpreter)")
    s = summary["stats"]
    lines.append("")
    if s["compiles"]:
        slow = ", ".join(f"{name} {sec:.1f} s" for name, sec in s["slowest_compiles"])
        lines.append(f"compiles: {s['compiles']} triton.compile calls in {s['compile_s']} s summed "
                     f"over shards ({s['fast_compiles']} under 50 ms: loads from the shared cache); "
                     f"per shard {s['compiles_per_shard']}; slowest: {slow}")
        lines.append(f"C launchers: {s['launchers']} built or loaded in {s['launcher_s']} s summed "
                     "over shards")
    else:
        lines.append(f"compiles: none ({s['shards_reporting']} shards reporting)")
    lines.append(f"shard wall times (s): {s['shard_wall_s'] or '-'}")
    if s["estimated_specializations_per_shard"]:
        lines.append(f"specializations a GPU would compile (interpreter estimate): "
                     f"{s['estimated_specializations']} distinct, per shard "
                     f"{s['estimated_specializations_per_shard']}")
    lines.append(f"memory: framework allocator peak {s['allocator_peak_mib']} MiB, GPU memory used "
                 f"peak {s['gpu_memory_used_peak_mib'] if s['gpu_memory_used_peak_mib'] is not None else '-'}"
                 f" MiB (nvidia-smi), host RSS peak {s['peak_rss_mib']} MiB per shard; Triton cache "
                 f"{s['triton_cache'] or '-'}")
    a = summary["autotune"]
    tuned = [p for p in summary["phases"] if p["name"].startswith("autotune")]
    lines.append(f"autotune: {'; '.join(p['name'] + ' ' + p['status'] for p in tuned) or 'not run'}; "
                 f"{a['planned'] or 'nothing planned'}, {a['left_by_budget']} left by the budget; "
                 f"{a['entries']} entries, tuned/heuristic geomean speedup {a['geomean_speedup'] or '-'}; "
                 f"{_second_run_line(a)}")
    lines.append("")
    bench_phase = next((p for p in summary["phases"] if p["name"] == "bench"), None)
    lines.append(f"bench: {bench_phase['status'] if bench_phase else 'not run'}, "
                 f"{len(summary['bench'])} rows")
    if summary["bench"]:
        lines += _bench_lines(summary["bench"])
    return lines


def summarize(out: str) -> dict:
    env, results = bench_rows(out)
    smoke = _read(os.path.join(out, "smoke.log")).strip().splitlines()
    # bench/gpu_reliability_check.py prints "check: PASS" / "check: FAIL (...)" lines
    reliability = [line[:300] for line in _read(os.path.join(out, "reliability.log")).splitlines()
                   if line.strip()][-8:]
    # bench/gpu_dispatch_profile.py prints its per-call table first: "  name   us"
    table = _read(os.path.join(out, "dispatch.log")).split("cProfile")[0].splitlines()
    dispatch = [line.strip() for line in table if line.startswith("  ") and line.strip()][:4]
    return {"versions": versions(out), "phases": phases(out),
            "smoke": smoke[-1][:300] if smoke else None, "reliability": reliability,
            "dispatch": dispatch, "tests": test_families(out),
            "stats": shard_stats(out), "autotune": autotune_result(out), "environment": env,
            "bench": results}


def main(argv: list) -> None:
    if len(argv) == 3 and argv[0] == "--merge-junit":
        merge_junit(argv[1], int(argv[2]))
        return
    out = os.environ.get("OUT", ".")
    summary = summarize(out)
    text = "\n".join(report(summary)) + "\n"
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(out, "summary.txt"), "w", encoding="utf-8") as f:
        f.write(text)
    if "--quiet" not in argv:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
