"""The CPU speed targets: where each stands against PyTorch CPU in the same run.

    python bench/cpu_targets.py [--threads N] [--seconds S] [--json PATH]
    make bench-targets

Targets (ratio ours / PyTorch CPU, medians of interleaved repeats):

- dispatch overhead of a small elementwise op (``add`` of 8 floats) ≤ 1.5×;
- MLP 784-512-256-10 training step (batch 128, Adam) ≤ 1.2×;
- LeNet-style CNN training step (batch 64, Adam) ≤ 1.3×;
- small transformer training step (Adam) ≤ 1.5×;
- GRU and LSTM (64 → 128, batch 32 × 32 steps) sequence-classifier training steps (Adam) ≤ 1.5×.

The cases are the rows of ``framework bench`` (``framework/bench/report.py``: ``CPU_TARGETS``),
timed longer. Exit status: 0 when every target is met, 1 when one is missed or could
not be measured (an op missing from this build), 2 when PyTorch is not installed.

``--threads N`` sets ``OMP_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` before NumPy and
torch load, for both sides alike: on a machine shared with other jobs, PyTorch's
OpenMP threads wait on each other and its times become noise (see docs/benchmarks.md).
"""
from __future__ import annotations

import argparse
import os
import sys


def _arguments(argv: list | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="CPU speed targets against PyTorch CPU")
    parser.add_argument("--threads", type=int, metavar="N",
                        help="threads for NumPy's BLAS and PyTorch (default: their own defaults)")
    parser.add_argument("--seconds", type=float, default=2.0, metavar="S",
                        help="seconds of interleaved repeats per side and target (default 2)")
    parser.add_argument("--json", metavar="PATH", help="also write the rows and verdicts as JSON")
    return parser.parse_args(argv)


def main(argv: list | None = None) -> int:
    """Measure the targets, print target vs measured, return the exit status."""
    args = _arguments(argv)
    if args.threads:
        for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[name] = str(args.threads)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from rich.console import Console
    from framework import bench
    console = Console()
    try:
        import torch  # noqa: F401 - the reference
    except ImportError:
        console.print("cpu_targets: PyTorch is not installed; the targets are ratios to PyTorch CPU",
                      style="red")
        return 2
    bench.timing.MIN_SECONDS = args.seconds
    bench.timing.MAX_REPEATS = 2000
    ops = [op for _, op, _, _ in bench.CPU_TARGETS]
    with console.status("measuring the CPU targets") as status:
        results, notes = bench.run(suites=("ops", "train"), devices=("cpu",), ops=ops,
                                   progress=lambda done, total, label: status.update(label))
    targets = bench.cpu_target_status(results)
    _print(console, results, targets, notes)
    if args.json:
        bench.write_json(args.json, results, notes)
    return 0 if all(t["met"] for t in targets) else 1


def _print(console, results: list, targets: list, notes: list) -> None:
    from rich import box
    from rich.table import Table
    from framework.bench import format_time
    rows = {r.op: r for r in results}
    table = Table(title="CPU speed targets: ours / PyTorch CPU, same run, medians",
                  box=box.SIMPLE_HEAD, title_justify="left")
    for name in ("target", "≤", "measured", "ours", "torch", "verdict"):
        table.add_column(name, justify="left" if name in ("target", "verdict") else "right", no_wrap=True)
    for t in targets:
        row = rows.get(t["op"])
        verdict = "not measured" if t["met"] is None else "met" if t["met"] else "MISSED"
        measured = "—" if t["ratio"] is None else f"{t['ratio']:.2f}×"
        table.add_row(t["op"], f"{t['target']}×", measured, format_time(row.ours_ms if row else None),
                      format_time(row.ref_ms if row else None), verdict,
                      style=None if t["met"] is None else "green" if t["met"] else "red")
    console.print(table)
    for t in targets:
        row = rows.get(t["op"])
        reason = f": {row.note}" if row is not None and row.note else ""
        console.print(f"  {t['op']}: {t['description']}{reason}", highlight=False)
    for note in notes:
        console.print(f"note: {note}", highlight=False)


if __name__ == "__main__":
    sys.exit(main())
