"""Per-shard counts of the kernel specializations a GPU test run compiles.

Reads the JSON the ``tests/specializations.py`` plugin writes
(``FRAMEWORK_COUNT_SPECIALIZATIONS=spec.json pytest ...``, under the
interpreter) and prints, for ``--shards`` pytest processes, how many distinct
specializations (compiles) and C launchers each shard needs when tests are
dealt out by index (every n-th test) and by file (``tests/conftest.py``'s
``shard_by_file``)::

    python bench/count_specializations.py spec.json --shards 8
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))


def launcher_of(key: str) -> str:
    """The C launcher a specialization needs: Triton builds one per kernel argument type list."""
    _, specialization, _ = json.loads(key)
    return json.dumps([s[0] for s in specialization])


def shard_counts(report: dict, shards: list, count: int) -> list:
    """``[(tests, specializations, launchers), ...]`` per shard."""
    keys = report["keys"]
    rows = []
    for shard in range(count):
        tests = [t for t, s in zip(report["collected"], shards) if s == shard]
        used = set()
        for test in tests:
            used.update(report["tests"].get(test, ()))
        rows.append((len(tests), len(used), len({launcher_of(keys[i]) for i in used})))
    return rows


def file_specializations(report: dict) -> dict:
    """``{test file: distinct specializations its tests launch}``, files that launch any."""
    per_file: dict = {}
    for test in report["collected"]:
        per_file.setdefault(test.split("::")[0], set()).update(report["tests"].get(test, ()))
    return {name: len(keys) for name, keys in sorted(per_file.items()) if keys}


def write_weights(report: dict, path: str) -> None:
    """Write the per-file specialization counts as the sharding weights (JSON)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(file_specializations(report), f, indent=0, sort_keys=True)
        f.write("\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--write-weights", metavar="JSON",
                        help="write each test file's distinct specializations there (the "
                             "file weights tests/conftest.py shards by: tests/shard_weights.json)")
    args = parser.parse_args(argv)
    with open(args.report, encoding="utf-8") as f:
        report = json.load(f)
    from conftest import measured_weights, shard_by_file
    if args.write_weights:
        write_weights(report, args.write_weights)
    weights = measured_weights()
    weights.update(report.get("file_weights") or {})
    collected = report["collected"]
    all_keys = set().union(*map(set, report["tests"].values())) if report["tests"] else set()
    print(f"{len(collected)} tests, {len(all_keys)} distinct specializations, "
          f"{len({launcher_of(report['keys'][i]) for i in all_keys})} launchers in all")
    schemes = {
        "index": [i % args.shards for i in range(len(collected))],
        "file": shard_by_file(collected, args.shards, weights),
    }
    print(f"{'shard':>5} | {'by index: tests':>15} {'specs':>6} {'launchers':>9} | "
          f"{'by file: tests':>14} {'specs':>6} {'launchers':>9}")
    rows = {name: shard_counts(report, shards, args.shards) for name, shards in schemes.items()}
    for shard in range(args.shards):
        (ti, si, li), (tf, sf, lf) = rows["index"][shard], rows["file"][shard]
        print(f"{shard:>5} | {ti:>15} {si:>6} {li:>9} | {tf:>14} {sf:>6} {lf:>9}")
    for name in schemes:
        specs = [r[1] for r in rows[name]]
        print(f"by {name}: max {max(specs)} specializations in one shard, {sum(specs)} compiles "
              f"summed over shards")
    return 0


if __name__ == "__main__":
    sys.exit(main())
