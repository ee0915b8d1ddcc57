"""Summary table printed last by ``bench/gpu_check.sh``; also writes ``$OUT/summary.json``.

Reads ``$OUT/tests.xml`` (pytest's JUnit report), ``$OUT/bench.json``
(``framework bench --json``) and ``$OUT/versions.log``, plus the exit
statuses the shell script passes in the environment.
"""
from __future__ import annotations

import json
import os
import sys
import xml.etree.ElementTree as ET

MAX_FAILURES_LISTED = 25


def test_summary(path: str) -> dict:
    """Counts and failing test ids from a JUnit XML report (empty when it is missing)."""
    if not os.path.exists(path):
        return {"report": "missing (pytest killed or not run)"}
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    counts = {key: sum(int(s.get(key, 0)) for s in suites)
              for key in ("tests", "failures", "errors", "skipped")}
    counts["seconds"] = round(sum(float(s.get("time", 0)) for s in suites), 1)
    failed = []
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{case.get('classname')}::{case.get('name')}")
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    counts["failed_ids"] = failed
    return counts


def bench_rows(path: str) -> tuple:
    """``(environment, results)`` from the bench JSON (empty when it is missing)."""
    if not os.path.exists(path):
        return {}, []
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return data.get("environment", {}), data.get("results", [])


def _fmt(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _print_bench(results: list) -> None:
    header = (f"{'suite':<6} {'op':<18} {'size':<22} {'dtype':<8} {'ours ms':>9} {'ref ms':>9} "
              f"{'ratio':>6} {'ours rate':>17} {'%peak':>6}")
    print(header)
    print("-" * len(header))
    for r in results:
        rate = "-" if r.get("rate") is None else f"{r['rate']:.1f} {r['unit']}"
        peak = None if r.get("peak_fraction") is None else 100 * r["peak_fraction"]
        ratio = _fmt(r.get("ratio"), 2) if r.get("status", "ok") in ("ok", "mismatch") else r["status"]
        print(f"{r.get('suite', ''):<6} {r['op']:<18} {r['size']:<22} {r.get('dtype', ''):<8} "
              f"{_fmt(r.get('ours_ms'), 3):>9} {_fmt(r.get('ref_ms'), 3):>9} {ratio:>6} {rate:>17} "
              f"{_fmt(peak, 1):>6}{'  ' + r['note'] if r.get('note') else ''}")
    references = sorted({r.get("reference", "") for r in results} - {""})
    if references:
        print(f"reference: {', '.join(references)}")


def merge_junit(out: str, shards: int) -> None:
    """Merge the shards' ``tests-<i>.xml`` into one ``tests.xml`` (missing shards are skipped)."""
    merged = ET.Element("testsuites")
    for shard in range(shards):
        path = os.path.join(out, f"tests-{shard}.xml")
        if os.path.exists(path):
            root = ET.parse(path).getroot()
            merged.extend([root] if root.tag == "testsuite" else list(root))
    ET.ElementTree(merged).write(os.path.join(out, "tests.xml"))


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--merge-junit":
        merge_junit(sys.argv[2], int(sys.argv[3]))
        return
    out = os.environ.get("OUT", ".")
    tests = test_summary(os.path.join(out, "tests.xml"))
    env, results = bench_rows(os.path.join(out, "bench.json"))
    summary = {"tests": tests, "pytest_exit": int(os.environ.get("TEST_RC", -1)),
               "autotune": os.environ.get("AUTOTUNE_STATUS", "not run"),
               "bench_exit": int(os.environ.get("BENCH_RC", -1)), "environment": env,
               "bench": results}
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2, ensure_ascii=False)
        f.write("\n")

    print("GPU check summary")
    print("=================")
    print(f"gpu: {env.get('gpu')}  runtime: {env.get('cuda_runtime')}  triton {env.get('triton')}  "
          f"torch {env.get('torch')}  numpy {env.get('numpy')}")
    if "tests" in tests:
        print(f"tests: {tests['passed']} passed, {tests['failures']} failed, {tests['errors']} errors, "
              f"{tests['skipped']} skipped in {tests['seconds']} s (pytest exit {summary['pytest_exit']})")
        if summary["pytest_exit"] in (124, 137):
            print("  TIMED OUT: pytest was stopped, the counts above are partial (see tests.log)")
        for test_id in tests["failed_ids"][:MAX_FAILURES_LISTED]:
            print(f"  FAILED {test_id}")
        hidden = len(tests["failed_ids"]) - MAX_FAILURES_LISTED
        if hidden > 0:
            print(f"  ... and {hidden} more (see tests.log)")
    else:
        print(f"tests: report {tests['report']} (pytest exit {summary['pytest_exit']})")
    print(f"autotune: {summary['autotune']}")
    print(f"bench (exit {summary['bench_exit']}):")
    _print_bench(results)


if __name__ == "__main__":
    main()
