"""The report: geometric means, CPU target verdicts, JSON and the rich tables."""
from __future__ import annotations

import datetime
import json
import math
import os
import platform
from dataclasses import asdict

import numpy as np

from .core import EXTRA_SUITES, SUITES, Result

# CPU speed targets: the row (suite, op) whose median ratio to PyTorch CPU must stay at or below.
CPU_TARGETS = (
    ("ops", "dispatch add", 1.5, "dispatch overhead of a small elementwise op"),
    ("train", "mlp step", 1.2, "MLP 784-512-256-10 training step, batch 128, Adam"),
    ("train", "lenet step", 1.3, "LeNet-style CNN training step, batch 64, Adam"),
    ("train", "transformer step", 1.5, "small transformer training step, Adam"),
    ("train", "gru step", 1.5, "GRU(64, 128) sequence classifier step, batch 32 x 32 steps, Adam"),
    ("train", "lstm step", 1.5, "LSTM(64, 128) sequence classifier step, batch 32 x 32 steps, Adam"),
)


def geometric_mean(values) -> float | None:
    """Geometric mean of the positive ``values`` (None when there are none)."""
    logs = [math.log(v) for v in values if v is not None and v > 0]
    return math.exp(sum(logs) / len(logs)) if logs else None


def summary(results: list) -> dict:
    """Geometric-mean ratio per (device, suite) and per device over all timed rows, and row counts."""
    out = {}
    for device in sorted({r.device for r in results}):
        rows = [r for r in results if r.device == device]
        per_suite = {suite: geometric_mean(r.ratio for r in rows if r.suite == suite)
                     for suite in SUITES + EXTRA_SUITES if any(r.suite == suite for r in rows)}
        # the compile suite's ratios are compiled / our eager: kept out of the overall figure
        out[device] = {"geomean_ratio": geometric_mean(r.ratio for r in rows if r.suite != "compile"),
                       "geomean_ratio_by_suite": per_suite,
                       "rows": {status: sum(r.status == status for r in rows)
                                for status in ("ok", "skipped", "failed", "mismatch")}}
    return out


def cpu_target_status(results: list) -> list:
    """For each CPU target: its op, description, target, measured ratio and ``met``.

    Only a row timed against PyTorch without errors counts; otherwise ratio and met are None.
    """
    rows = {(r.suite, r.op): r for r in results if r.device == "cpu"}
    status = []
    for suite, op, target, description in CPU_TARGETS:
        row = rows.get((suite, op))
        ratio = None if row is None or row.status != "ok" or "torch" not in row.reference else row.ratio
        status.append({"op": op, "description": description, "target": target, "ratio": ratio,
                       "met": None if ratio is None else ratio <= target})
    return status


def environment() -> dict:
    """Versions, machine and runtime, recorded with every result file."""
    import framework
    from importlib import metadata
    from .._backends.triton import runtime
    env = {"framework": framework.__version__, "python": platform.python_version(),
           "numpy": np.__version__, "machine": platform.machine(), "processor": platform.processor(),
           "cpu_count": os.cpu_count(), "cuda_runtime": runtime.mode(),
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    for dist in ("triton", "torch"):
        try:
            env[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            env[dist] = None
    env["gpu"] = framework.cuda.get_device_name() if runtime.mode() == "gpu" else None
    return env


TIMING_TEXT = ("medians of interleaved repeats (ours, reference, ours, ...) after warm-up; cpu: wall "
               "clock; cuda: CUDA events on the default stream, L2 flushed before each kernel repeat; "
               "ratio = ours / reference")


def write_json(path: str, results: list, notes: list) -> None:
    """Write the rows, the summary, the CPU target status, notes and environment as JSON."""
    payload = {"environment": environment(), "timing": TIMING_TEXT, "notes": notes,
               "summary": summary(results), "cpu_targets": cpu_target_status(results),
               "results": [asdict(r) for r in results]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2, ensure_ascii=False)
        f.write("\n")


def render(results: list, notes: list, console) -> None:
    """Print one rich table per device and suite (notes under it), the summary and the notes."""
    if not results:
        console.print("framework bench: nothing was timed")
    for device in sorted({r.device for r in results}):
        for suite in SUITES + EXTRA_SUITES:
            rows = [r for r in results if r.device == device and r.suite == suite]
            if rows:
                console.print(_suite_table(rows, f"{suite} on {device} vs {rows[0].reference or 'no reference'}"))
                for r in rows:
                    if r.note:
                        console.print(f"  {r.op} {r.size}: {r.note}", style=_row_style(r), highlight=False)
                console.print()
    _render_summary(results, console)
    for note in notes:
        console.print(f"note: {note}", highlight=False)


def _suite_table(rows: list, title: str):
    from rich import box
    from rich.table import Table
    with_dtype = len({r.dtype for r in rows}) > 1
    with_peak = any(r.peak_fraction is not None for r in rows)
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    columns = ["op", "size"] + (["dtype"] if with_dtype else []) + ["ours", "ref", "ratio", "ours rate"]
    columns += ["% peak"] if with_peak else []
    for name in columns:
        table.add_column(name, justify="left" if name in ("op", "size", "dtype") else "right",
                         overflow="fold")
    for r in rows:
        cells = [r.op, r.size] + ([r.dtype] if with_dtype else [])
        ratio = _ratio_text(r.ratio) if r.status in ("ok", "mismatch") else r.status
        cells += [format_time(r.ours_ms), format_time(r.ref_ms), ratio, _rate(r.rate, r.unit)]
        cells += [_fmt(None if r.peak_fraction is None else 100 * r.peak_fraction, 1)] if with_peak else []
        table.add_row(*cells, style=_row_style(r))
    return table


def _render_summary(results: list, console) -> None:
    for device, info in summary(results).items():
        parts = [f"{suite} {_ratio_text(mean)}" for suite, mean in info["geomean_ratio_by_suite"].items()]
        counts = ", ".join(f"{n} {status}" for status, n in info["rows"].items() if n)
        console.print(f"[bold]{device}: geometric-mean ratio (ours / reference) "
                      f"{_ratio_text(info['geomean_ratio'])}[/bold]  ({'; '.join(parts)})  rows: {counts}")
    target_ops = {(suite, op) for suite, op, _, _ in CPU_TARGETS}
    if any(r.device == "cpu" and (r.suite, r.op) in target_ops for r in results):
        console.print("CPU targets (ratio to PyTorch CPU in this run, medians):")
        for t in cpu_target_status(results):
            verdict = "not measured" if t["met"] is None else "met" if t["met"] else "MISSED"
            style = "" if t["met"] is None else "green" if t["met"] else "red"
            console.print(f"  {t['description']}: ≤ {t['target']}×, measured {_ratio_text(t['ratio'])} "
                          f"→ {verdict}", style=style or None)


def _row_style(r: Result) -> str | None:
    return {"mismatch": "red", "failed": "red", "skipped": "dim"}.get(r.status)


def format_time(ms: float | None) -> str:
    """``ms`` with a readable unit (µs, ms or s)."""
    if ms is None:
        return "—"
    if ms < 1:
        return f"{ms * 1e3:.1f} µs"
    if ms < 1000:
        return f"{ms:.2f} ms"
    return f"{ms / 1e3:.2f} s"


def _ratio_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _fmt(value, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _rate(value, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.1f} {unit}" if value >= 1 else f"{value:.2g} {unit}"
