"""``framework autotune``: pick problems, tune the missing ones with a progress bar, summarize.

A problem is done when its cache entry has a time for every config of the space being
tuned (``--quick`` tunes a thinner space than a full run). An entry a ``--budget`` cut
short is kept (its best config so far serves launches) and the next run resumes it,
timing only the configs it lacks; so a second run tunes exactly what the first one
left, and a problem the first run finished is never tuned again (``--force`` retunes).
"""
from __future__ import annotations

import math
import time

from . import cache, platform, recorded, unique_problems
from .keys import config_label
from .shapes import CONV_KERNEL_LABELS, DTYPES, standard_problems
from .tuner import tune, untimed

KNOWN_OPS = ("matmul", "conv2d")


def run(args, console, tunable_for) -> int:
    """Run the subcommand (the caller has checked that a GPU or ``--dry-run`` is there).

    ``tunable_for(problem, quick=False)`` is the backend's ``Tunable`` for a problem (``op``
    in KNOWN_OPS), with the thinner ``--quick`` config space when ``quick``.
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
    todo = _todo(problems, args, tunable_for)
    if not todo:
        console.print(f"The cache is warm: all {len(problems)} problems are already tuned in "
                      f"{current.path}. Nothing to tune (--force retunes).")
        return 0
    resumed = sum(1 for _, _, done in todo if done)
    console.print(f"Tuning {len(todo)} of {len(problems)} problems into {current.path}"
                  + (f" ({resumed} partly tuned before: only their untimed configs are timed)"
                     if resumed else ""))
    if resumed or len(todo) < len(problems):  # name them: what a previous run left
        for problem, _, _ in todo:
            _line(console, f"  - {_describe(problem)}")
    results = _tune_all(todo, args, console)
    _summary(results, console)
    _report_left(todo, results, console)
    return 0


def _todo(problems: list, args, tunable_for) -> list:
    """``[(problem, tunable, done timings or None)]``: each problem whose entry is missing or
    lacks a time for some config of the space (a repeated cache key is tuned once)."""
    current = cache()
    todo, keys = [], set()
    for problem in problems:
        tunable = tunable_for(problem, quick=args.quick)
        key = tunable.key(problem)
        if key in keys:
            continue
        keys.add(key)
        entry = None if args.force else current.get(key)
        if entry is None:
            todo.append((problem, tunable, None))
        elif untimed(tunable, problem, entry["timings"]):
            todo.append((problem, tunable, dict(entry["timings"])))
    return todo


def _line(console, text: str) -> None:
    """One plain line, never wrapped (the GPU check's summary reads these)."""
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def _report_left(todo: list, results: list, console) -> None:
    """Name the problems the --budget left untuned or partly tuned (a next run tunes them)."""
    partial = [(problem, result) for problem, result in results if not result.complete]
    untuned = [problem for problem, _, _ in todo[len(results):]]
    if not partial and not untuned:
        return
    console.print(f"The --budget ran out: {len(untuned)} problems left untuned, {len(partial)} "
                  "partly tuned (their best config so far is used). The next run tunes them, "
                  "timing only the configs not timed yet:")
    for problem, result in partial:
        _line(console, f"  partly tuned ({result.space - result.untimed} of {result.space} "
                       f"configs): {_describe(problem)}")
    for problem in untuned:
        _line(console, f"  untuned: {_describe(problem)}")


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
    return unique_problems(standard_problems(ops, dtypes, args.dry_run, args.quick))


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


def _tune_all(todo: list, args, console) -> list:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    current = cache()
    deadline = time.monotonic() + args.budget if args.budget else None
    median_ms, precompile = platform().median_ms, platform().precompile
    timer = (lambda fn: median_ms(fn, repeats=2, warmup=1)) if args.dry_run else median_ms
    results = []
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}")]
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("autotune", total=len(todo), status="")
        for problem, tunable, done in todo:  # each run times at least one config: progress
            if deadline is not None and results and time.monotonic() > deadline:
                break
            name = _describe(problem)
            progress.update(task, description=name, status="compiling")

            def report(label, ms, best, name=name):
                progress.update(task, status=f"{label}: {_ms(ms)} (best {_ms(best)})")

            result = tune(tunable, problem, timer, deadline, report, done=done,
                          precompile=precompile)
            current.put(result.key, result.best, result.timings, result.heuristic_ms)
            current.save()
            results.append((problem, result))
            progress.advance(task)
    return results


def _ms(value: float) -> str:
    return "failed" if math.isinf(value) else f"{value:.3f} ms"


def _heuristic_ms(result) -> str:
    """The heuristic config's time: 'failed', or 'not timed' where the deadline came first."""
    return _ms(result.heuristic_ms) if result.heuristic_timed else "not timed"


def _summary(results: list, console) -> None:
    from rich.table import Table
    table = Table(title="framework autotune")
    for column in ("problem", "best config", "best", "heuristic", "speedup", "configs"):
        table.add_column(column, justify="right" if column != "problem" else "left")
    speedups = []
    for problem, result in results:
        speedup = result.speedup
        if math.isfinite(speedup):
            speedups.append(speedup)
        table.add_row(_describe(problem), config_label(result.best), _ms(result.best_ms),
                      _heuristic_ms(result), f"{speedup:.2f}x" if math.isfinite(speedup)
                      else "—", f"{result.space - result.untimed}/{result.space}")
    console.print(table)
    if speedups:
        geomean = math.exp(sum(math.log(s) for s in speedups) / len(speedups))
        console.print(f"tuned vs heuristic configs, geometric mean: {geomean:.2f}x over "
                      f"{len(speedups)} problems")
