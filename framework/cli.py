"""The ``framework`` command line: ``framework info | bench | autotune | run``.

- ``info``: versions, the runtime serving ``cuda`` (GPU, Triton interpreter,
  or none: CPU only), the GPU's name, compute capability and driver.
- ``bench``: op timings against a reference measured in the same run
  (``framework.bench``), as a table; ``--json PATH`` also writes the results.
- ``autotune``: tunes matmul (and conv) configs for this GPU into the
  persistent cache (``framework.autotune``, ``docs/autotune.md``).
- ``run``: ``framework run --nproc N script.py args`` starts N ranks of a data-parallel script
  through ``mpiexec`` (``framework.distributed.run``, ``docs/distributed.md``).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from importlib import metadata

# Exit status of ``framework autotune`` where there is no GPU to tune.
EXIT_NO_GPU = 3


def main(argv: list | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the subcommand, return its exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="framework", description=(
        "A PyTorch-style deep-learning library: Triton kernels on CUDA, NumPy on the CPU."))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    info = commands.add_parser("info", help="versions, devices and the runtime serving 'cuda'")
    info.set_defaults(run=cmd_info)

    bench = commands.add_parser("bench", help="benchmark report against a reference (PyTorch / NumPy)")
    _add_bench_arguments(bench)
    bench.set_defaults(run=cmd_bench)

    tune = commands.add_parser("autotune", help="tune kernel configs for this GPU into the cache")
    tune.add_argument("--ops", metavar="LIST", default="matmul,conv2d",
                      help="comma-separated ops to tune (default: matmul,conv2d)")
    tune.add_argument("--dtypes", metavar="LIST", default="fp32,fp16,bf16",
                      help="comma-separated dtypes: fp32 (as TF32), fp16, bf16 (default: all)")
    tune.add_argument("--from", dest="from_path", metavar="FILE",
                      help="tune the problems recorded by framework.autotune.record(FILE)")
    tune.add_argument("--budget", type=float, metavar="SECONDS",
                      help="stop timing configs after this many seconds (a problem cut short "
                           "keeps its best so far; the next run times the rest)")
    tune.add_argument("--force", action="store_true", help="retune problems already cached")
    tune.add_argument("--quick", action="store_true",
                      help="a short problem set (4096^3, one split-K shape, one ResNet layer) "
                           "and one pipeline depth per tile (about half the configs)")
    tune.add_argument("--dry-run", action="store_true",
                      help="under the Triton interpreter: run the whole flow on tiny problems")
    tune.add_argument("--export", metavar="PATH", help="copy this GPU's cache file to PATH")
    tune.add_argument("--import", dest="import_path", metavar="PATH",
                      help="merge a cache file written for this GPU into the cache")
    tune.add_argument("--clear", action="store_true", help="delete this GPU's cache file")
    tune.set_defaults(run=cmd_autotune)

    _add_run_command(commands)
    return parser


# info ---------------------------------------------------------------------

def info_rows() -> list:
    """``(name, value)`` pairs that ``framework info`` prints."""
    import framework
    from framework._backends.triton import runtime
    mode = runtime.mode()
    rows = [("framework", framework.__version__),
            ("python", f"{platform.python_version()} ({platform.machine()}, {platform.system()})"),
            ("numpy", _version("numpy")), ("triton", _version("triton")),
            ("cuda-bindings", _version("cuda-bindings")),
            ("torch (tests only)", _version("torch")),
            ("FRAMEWORK_TRITON_INTERPRET", os.environ.get("FRAMEWORK_TRITON_INTERPRET", "(unset)")),
            ("runtime", _RUNTIME_LABELS[mode]),
            ("CUDA driver", _driver_version())]
    rows += [("device", "cpu — NumPy")]
    rows += [("device", label) for label in _cuda_devices(mode)]
    rows += _cache_rows(mode)
    return rows


def _cache_rows(mode: str) -> list:
    """The autotune cache's file and entry count (for the GPU, or the interpreter's)."""
    if mode == "none":
        return [("autotune cache", "no GPU: nothing to cache")]
    from framework import autotune
    import warnings
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        cache = autotune.cache()
        count = len(cache)
    state = f"{count} entries" if cache.path.exists() else "not written yet"
    rows = [("autotune cache", f"{cache.path} ({state})")]
    rows += [("autotune cache problem", problem) for problem in cache.problems]
    return rows


_RUNTIME_LABELS = {
    "gpu": "GPU: cuda tensors run compiled Triton kernels",
    "interpreter": "Triton interpreter: cuda tensors live in host memory",
    "none": "CPU only: no NVIDIA GPU found (set FRAMEWORK_TRITON_INTERPRET=1 for the interpreter)",
}


def _cuda_devices(mode: str) -> list:
    import framework
    if mode == "interpreter":
        return [f"cuda:0 — {framework.cuda.get_device_name()}"]
    labels = []
    for index in range(framework.cuda.device_count()):
        from framework._backends.triton import runtime
        major, minor = runtime.capability(index)
        labels.append(f"cuda:{index} — {runtime.device_name(index)}, compute capability {major}.{minor}")
    return labels


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _driver_version() -> str:
    """The CUDA driver's version (e.g. ``12.4``), or why it is unknown."""
    try:
        from cuda.bindings import driver
        err, version = driver.cuDriverGetVersion()
    except Exception as exc:  # no package or no driver library
        return f"not found ({type(exc).__name__})"
    if err != driver.CUresult.CUDA_SUCCESS:
        return "not found"
    return f"{version // 1000}.{version % 1000 // 10}"


def cmd_info(args) -> int:
    """Print ``info_rows()`` as a table."""
    from rich.console import Console
    from rich.table import Table
    table = Table(title="framework info", show_header=False)
    table.add_column("name", style="bold")
    table.add_column("value")
    for name, value in info_rows():
        table.add_row(name, str(value))
    Console().print(table)
    return 0


# bench --------------------------------------------------------------------

def _add_bench_arguments(bench: argparse.ArgumentParser) -> None:
    from framework.bench import EXTRA_SUITES, SUITES
    bench.add_argument("--suite", metavar="LIST", default="all",
                       help=f"comma-separated suites: {','.join(SUITES + EXTRA_SUITES)} (default: "
                       f"all = {','.join(SUITES)}; {','.join(EXTRA_SUITES)} starts mpiexec)")
    bench.add_argument("--quick", action="store_true", help="fewer and smaller shapes per suite")
    bench.add_argument("--json", metavar="PATH", help="also write the rows and summary as JSON to PATH")
    bench.add_argument("--device", choices=("all", "cpu", "cuda"), default="all",
                       help="which devices to time (default: all)")
    bench.add_argument("--ops", metavar="LIST", help="comma-separated op names to keep (default: every op)")


def cmd_bench(args) -> int:
    """Run ``framework.bench`` with a progress bar, print the report (and write JSON when asked).

    Exit status: 0; 1 when a row failed or disagreed with the reference; 2 for bad arguments.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from framework import bench
    console = Console()
    suites = _bench_choices(args.suite, bench.SUITES + bench.EXTRA_SUITES, "suite", console)
    if args.suite.strip() == "all":
        suites = bench.SUITES
    devices = ("cpu", "cuda") if args.device == "all" else (args.device,)
    ops = None if not args.ops else [op.strip() for op in args.ops.split(",") if op.strip()]
    if ops is not None and _bench_choices(args.ops, bench.op_names(), "op", console) is None:
        return 2
    if suites is None:
        return 2
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("benchmarking", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)
        checkpoint = None if not args.json else (lambda rows, notes: bench.write_json(args.json, rows, notes))
        results, notes = bench.run(suites=suites, quick=args.quick, devices=devices, ops=ops,
                                   progress=progress, checkpoint=checkpoint)
    bench.render(results, notes, console)
    if args.json:
        bench.write_json(args.json, results, notes)
        console.print(f"wrote {args.json}")
    return 1 if any(r.status in ("failed", "mismatch") for r in results) else 0


def _bench_choices(text: str, known, what: str, console) -> tuple | None:
    """The comma-separated names in ``text`` (``all``: every known one), or None after an error."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if names == ["all"]:
        return tuple(known)
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        console.print(f"framework bench: unknown {what}(s) {', '.join(unknown) or repr(text)}; "
                      f"choose from {', '.join(known)}", style="red")
        return None
    return tuple(names)


# autotune -----------------------------------------------------------------

def cmd_autotune(args) -> int:
    """Tune the requested problems into the cache, with progress and a summary table."""
    from rich.console import Console
    from framework._backends.triton import runtime
    console = Console()
    mode = runtime.mode()
    if mode == "none":
        console.print("framework autotune needs an NVIDIA GPU, and none was found (no driver or "
                      "device). Nothing was tuned.", style="red")
        return EXIT_NO_GPU
    if mode == "interpreter" and not args.dry_run:
        console.print("framework autotune: cuda runs on the Triton interpreter here, whose "
                      "timings say nothing about a GPU. Use --dry-run to exercise the tuning "
                      "flow; nothing was tuned.", style="red")
        return EXIT_NO_GPU
    from framework._backends.triton.tuning import tunable_for
    from framework.autotune import command
    return command.run(args, console, tunable_for)


# run ----------------------------------------------------------------------

def _add_run_command(commands) -> None:
    run = commands.add_parser("run", help="start N ranks of a data-parallel script (mpiexec)")
    run.add_argument("--nproc", "--nproc-per-node", dest="nproc", type=int, default=1,
                     metavar="N", help="number of processes (ranks) to start (default: 1)")
    run.add_argument("-m", dest="module", action="store_true",
                     help="run the script argument as a module (like python -m)")
    run.add_argument("--mpiexec", metavar="PATH", help="the mpiexec to use (default: the one "
                     "next to this Python, then PATH)")
    run.add_argument("script", help="the Python script (or module with -m) each rank runs")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    run.set_defaults(run=cmd_run)


def cmd_run(args) -> int:
    """Start ``args.nproc`` ranks of the script through mpiexec; the job's exit status."""
    from framework.distributed import run
    try:
        return run.launch(args.nproc, args.script, args.args, module=args.module,
                          mpiexec=args.mpiexec)
    except (RuntimeError, ValueError) as exc:
        print(f"framework run: {exc}", file=sys.stderr)
        return 2
