"""``framework autotune``: pick problems, tune the missing ones with a progress bar, summarize."""
from __future__ import annotations

import math
import time

from . import cache, platform, recorded, unique_problems
from .keys import config_label
from .shapes import CONV_KERNEL_LABELS, DTYPES, standard_problems
from .tuner import tune

KNOWN_OPS = ("matmul", "conv2d")


def run(args, console, tunable_for) -> int:
    """Run the subcommand (the caller has checked that a GPU or ``--dry-run`` is there).

    ``tunable_for(problem)`` is the backend's ``Tunable`` for a problem (``op`` in KNOWN_OPS).
    """
    try:
        return _run(args, console, tunable_for)
    except OSError as exc:  # e.g. an unwritable cache directory or a refused lock file
        console.print(f"framework autotune: {exc}", style="red")
        return 1


def _run(args, console, tunable_for) -> int:
    current = cache()
    if args.clear:
        current.clear()
        console.print(f"cleared {current.path}")
        return 0
    if args.export:
        count = _export(args.export)
        console.print(f"exported {count} entries to {args.export}")
        return 0
    if args.import_path:
        return _import(args.import_path, console)
    problems = _problems(args, console)
    if problems is None:
        return 2
    todo = [p for p in problems if args.force or current.get(tunable_for(p).key(p)) is None]
    if not todo:
        console.print(f"The cache is warm: all {len(problems)} problems are already tuned in "
                      f"{current.path}. Nothing to tune (--force retunes).")
        return 0
    console.print(f"Tuning {len(todo)} of {len(problems)} problems into {current.path}")
    results = _tune_all(todo, args, console, tunable_for)
    _summary(results, console)
    skipped = len(todo) - len(results)
    if skipped:
        console.print(f"The --budget ran out: {skipped} problems left untuned.")
    return 0


def _import(path, console) -> int:
    """Merge a cache file; a file that is not a cache for this GPU is refused (status 1)."""
    import warnings

    from . import import_cache
    current = cache()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            count = import_cache(path)
        except (OSError, ValueError) as exc:
            console.print(f"framework autotune --import: {exc}; nothing was imported",
                          style="red")
            return 1
    for warning in caught:
        console.print(f"warning: {warning.message}", style="yellow")
    console.print(f"imported {count} entries into {current.path}")
    return 0


def _export(path) -> int:
    from . import export_cache
    return export_cache(path)


def _problems(args, console) -> list | None:
    if args.from_path:
        problems = [p for p in recorded(args.from_path) if p["op"] in KNOWN_OPS]
        return unique_problems(problems)
    ops = [op.strip() for op in args.ops.split(",") if op.strip()]
    dtypes = [d.strip() for d in args.dtypes.split(",") if d.strip()]
    bad_ops = [op for op in ops if op not in KNOWN_OPS]
    bad_dtypes = [d for d in dtypes if d not in DTYPES]
    if bad_ops or bad_dtypes:
        console.print(f"framework autotune: unknown op(s) {bad_ops or ''} dtype(s) "
                      f"{bad_dtypes or ''}; ops: {', '.join(KNOWN_OPS)}; dtypes: "
                      f"{', '.join(DTYPES)}", style="red")
        return None
    return standard_problems(ops, dtypes, args.dry_run, args.quick)


def _describe(problem: dict) -> str:
    if problem["op"] == "conv2d":
        n, c, h, w = problem["x"]
        co, _, kh, kw = problem["w"]
        kind = CONV_KERNEL_LABELS[problem["kernel"]]
        return (f"conv2d {kind} {problem['dtype']} {n}x{c}x{h}x{w} -> {co} k{kh}x{kw} "
                f"s{problem['stride'][0]}")
    shape = f"{problem['m']}x{problem['n']}x{problem['k']}"
    if problem.get("batch", 1) > 1:
        shape = f"{problem['batch']}x" + shape
    return f"{problem['op']} {problem['dtype']} {shape} {problem.get('layout', '')}".strip()


def _tune_all(todo: list, args, console, tunable_for) -> list:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    current = cache()
    deadline = time.monotonic() + args.budget if args.budget else None
    median_ms = platform().median_ms
    timer = (lambda fn: median_ms(fn, repeats=2, warmup=1)) if args.dry_run else median_ms
    results = []
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}")]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("autotune", total=len(todo), status="")
        for problem in todo:
            if deadline is not None and time.monotonic() > deadline:
                break
            name = _describe(problem)
            progress.update(task, description=name, status="compiling")

            def report(label, ms, best, name=name):
                progress.update(task, status=f"{label}: {_ms(ms)} (best {_ms(best)})")

            result = tune(tunable_for(problem), problem, timer, deadline, report)
            current.put(result.key, result.best, result.timings, result.heuristic_ms)
            current.save()
            results.append((problem, result))
            progress.advance(task)
    return results


def _ms(value: float) -> str:
    return "failed" if math.isinf(value) else f"{value:.3f} ms"


def _summary(results: list, console) -> None:
    from rich.table import Table
    table = Table(title="framework autotune")
    for column in ("problem", "best config", "best", "heuristic", "speedup"):
        table.add_column(column, justify="right" if column != "problem" else "left")
    speedups = []
    for problem, result in results:
        speedup = result.speedup
        if math.isfinite(speedup):
            speedups.append(speedup)
        table.add_row(_describe(problem), config_label(result.best), _ms(result.best_ms),
                      _ms(result.heuristic_ms), f"{speedup:.2f}x" if math.isfinite(speedup)
                      else "—")
    console.print(table)
    if speedups:
        geomean = math.exp(sum(math.log(s) for s in speedups) / len(speedups))
        console.print(f"tuned vs heuristic configs, geometric mean: {geomean:.2f}x over "
                      f"{len(speedups)} problems")
