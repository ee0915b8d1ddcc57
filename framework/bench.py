"""``framework bench``: time a few ops against a reference measured in the same run.

Each case runs our op and a reference doing the same computation on the same
data: NumPy on ``cpu`` (our CPU backend is NumPy, so the ratio shows the
framework's overhead), PyTorch on ``cuda`` when it is importable with a GPU
(else NumPy on the host, named as such). Times are medians of repeats after
warm-up; on a GPU each repeat is wall-clock time up to a device
synchronize (CUDA-event timing with an L2 flush is a later step). Under the
Triton interpreter ``cuda`` is skipped with a note: interpreter times say
nothing about a GPU.

This module lives inside the package so that the ``framework`` console
script finds it after any install; ``bench/`` holds the GPU check script
and measured results.
"""
from __future__ import annotations

import datetime
import json
import math
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

# Sizes: elements for the memory-bound ops, the square matrix side for matmul.
FULL_SIZES = {"add": (1 << 20, 1 << 24), "exp": (1 << 20, 1 << 24),
              "sum": (1 << 20, 1 << 24), "matmul": (256, 1024)}
QUICK_SIZES = {"add": (1 << 20,), "exp": (1 << 20,), "sum": (1 << 20,), "matmul": (256,)}

# Measured device-to-device copy ceilings (bytes read + written), from shared/GPU.md.
COPY_CEILING_GBPS = {"H200": 4300.0, "H100": 3000.0}

WARMUP = 3
MIN_REPEATS = 5
MAX_REPEATS = 200
MIN_SECONDS = 0.25  # keep repeating (up to MAX_REPEATS) until this much time was measured


@dataclass
class Result:
    """One benchmark row: our median time, the reference's, and the achieved rate."""

    op: str
    device: str
    size: str
    dtype: str
    ours_ms: float | None = None
    ref_ms: float | None = None
    reference: str = ""
    ratio: float | None = None  # ours_ms / ref_ms: above 1 means slower than the reference
    rate: float | None = None  # ours, in `unit`
    ref_rate: float | None = None
    unit: str = ""
    peak_fraction: float | None = None
    note: str = ""


@dataclass
class Case:
    """A prepared benchmark: our callable, the reference callable and the work done."""

    ours: Callable
    ref: Callable | None
    reference: str
    sync: Callable
    work: float  # bytes moved (GB/s) or floating-point operations (GFLOP/s)
    unit: str


def median_seconds(fn: Callable, sync: Callable) -> float:
    """Median wall-clock seconds of ``fn()`` (each repeat ends with ``sync()``), after warm-up."""
    for _ in range(WARMUP):
        fn()
    sync()
    times: list = []
    started = time.perf_counter()
    while len(times) < MIN_REPEATS or (len(times) < MAX_REPEATS
                                       and time.perf_counter() - started < MIN_SECONDS):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


# Case builders ----------------------------------------------------------------

def _inputs(shape: tuple, count: int, device: str, torch_ref):
    """``count`` standard-normal float32 tensors, and the same values for the reference."""
    import framework
    xs = [framework.randn(*shape, device=device) for _ in range(count)]
    host = [np.asarray(x) for x in xs]
    refs = host if torch_ref is None else [torch_ref.from_host(h) for h in host]
    return xs, refs


def _build_case(op: str, size: int, device: str, torch_ref) -> Case:
    """Our op and its reference on the same float32 data of ``size``."""
    import framework
    lib = np if torch_ref is None else torch_ref.torch
    sync = _sync_for(device, torch_ref)
    name = "numpy (cpu)" if torch_ref is None else f"torch ({torch_ref.device_name})"
    if op == "matmul":
        (a, b), (ra, rb) = _inputs((size, size), 2, device, torch_ref)
        return Case(lambda: framework.matmul(a, b), lambda: lib.matmul(ra, rb), name, sync,
                    2.0 * size ** 3, "GFLOP/s")
    if op == "add":
        (a, b), (ra, rb) = _inputs((size,), 2, device, torch_ref)
        return Case(lambda: framework.add(a, b), lambda: lib.add(ra, rb), name, sync,
                    3.0 * size * 4, "GB/s")
    if op == "exp":
        (a,), (ra,) = _inputs((size,), 1, device, torch_ref)
        return Case(lambda: framework.exp(a), lambda: lib.exp(ra), name, sync, 2.0 * size * 4, "GB/s")
    if op == "sum":
        (a,), (ra,) = _inputs((size,), 1, device, torch_ref)
        return Case(lambda: framework.sum(a), lambda: lib.sum(ra), name, sync, 1.0 * size * 4, "GB/s")
    raise ValueError(f"unknown benchmark op {op!r}")


def _sync_for(device: str, torch_ref) -> Callable:
    import framework

    def sync() -> None:
        if device == "cuda":
            framework.cuda.synchronize()
            if torch_ref is not None:
                torch_ref.torch.cuda.synchronize()
    return sync


class _TorchReference:
    """PyTorch on the GPU as the ``cuda`` reference (imported only when a GPU is present)."""

    def __init__(self, torch) -> None:
        self.torch = torch
        self.device_name = torch.cuda.get_device_name(0)

    def from_host(self, array: np.ndarray):
        return self.torch.from_numpy(np.ascontiguousarray(array)).to("cuda")


def _torch_reference():
    """A ``_TorchReference`` when torch with CUDA is importable, else None."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    return _TorchReference(torch)


# Running ------------------------------------------------------------------

def _size_label(op: str, size: int) -> str:
    if op == "matmul":
        return f"{size}³"
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20}Mi"
    return str(size)


def _to_numpy(value) -> np.ndarray:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _agrees(ours, ref, reduction_size: int) -> bool:
    """Results match to float32 accuracy (scaled by the reduction length)."""
    mine = _to_numpy(ours).astype(np.float64).reshape(-1)
    theirs = _to_numpy(ref).astype(np.float64).reshape(-1)
    if mine.shape != theirs.shape:
        return False
    scale = max(float(np.linalg.norm(theirs)), math.sqrt(reduction_size), 1.0)
    return float(np.linalg.norm(mine - theirs)) <= 1e-4 * math.sqrt(reduction_size) * scale


def run_case(op: str, size: int, device: str, torch_ref, gpu_name: str) -> Result:
    """Time one (op, size, device) case; a missing op gives a row with a note, not an error."""
    import framework
    row = Result(op=op, device=device, size=_size_label(op, size), dtype="float32")
    if not hasattr(framework, op):
        row.note = f"framework.{op} is not implemented yet"
        return row
    case = _build_case(op, size, device, torch_ref)
    row.reference, row.unit = case.reference, case.unit
    reduction = size if op in ("sum", "matmul") else 1
    if not _agrees(case.ours(), case.ref(), reduction):
        row.note = "MISMATCH: result differs from the reference"
    ours = median_seconds(case.ours, case.sync)
    ref = median_seconds(case.ref, case.sync)
    row.ours_ms, row.ref_ms, row.ratio = ours * 1e3, ref * 1e3, ours / ref
    row.rate, row.ref_rate = case.work / ours / 1e9, case.work / ref / 1e9
    row.peak_fraction = _peak_fraction(row, device, gpu_name)
    return row


def _peak_fraction(row: Result, device: str, gpu_name: str) -> float | None:
    if device != "cuda" or row.unit != "GB/s":
        return None
    for model, ceiling in COPY_CEILING_GBPS.items():
        if model in gpu_name:
            return row.rate / ceiling
    return None


def environment() -> dict:
    """Versions and runtime, recorded with every result file."""
    import framework
    from framework.backends.triton import runtime
    from importlib import metadata
    env = {"framework": framework.__version__, "python": platform.python_version(),
           "numpy": np.__version__, "machine": platform.machine(), "cuda_runtime": runtime.mode(),
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    for dist in ("triton", "torch"):
        try:
            env[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            env[dist] = None
    env["gpu"] = framework.cuda.get_device_name() if runtime.mode() == "gpu" else None
    return env


def run(quick: bool = False, devices=("cpu", "cuda"), ops=None, log=print) -> tuple:
    """Run the benchmark; returns ``(results, notes)``. ``log`` receives progress lines."""
    from framework.backends.triton import runtime
    sizes = QUICK_SIZES if quick else FULL_SIZES
    ops = list(sizes) if ops is None else list(ops)
    results, notes = [], []
    for device in devices:
        if device == "cuda" and runtime.mode() != "gpu":
            notes.append(_cuda_skip_note(runtime.mode()))
            continue
        torch_ref = _torch_reference() if device == "cuda" else None
        if device == "cuda" and torch_ref is None:
            notes.append("cuda: torch with CUDA is not importable; reference is NumPy on the host")
        gpu_name = runtime.device_name(0) if device == "cuda" else ""
        for op in ops:
            for size in sizes[op]:
                log(f"{device}: {op} {_size_label(op, size)}")
                results.append(run_case(op, size, device, torch_ref, gpu_name))
    return results, notes


def _cuda_skip_note(mode: str) -> str:
    if mode == "interpreter":
        return ("cuda skipped: the Triton interpreter is on (FRAMEWORK_TRITON_INTERPRET=1); "
                "its timings say nothing about a GPU")
    return "cuda skipped: no NVIDIA GPU or driver found"


def write_json(path: str, results: list, notes: list) -> None:
    """Write the results, notes and environment as JSON."""
    payload = {"environment": environment(), "notes": notes,
               "timing": "median wall-clock of repeats after warm-up; cuda repeats end in a synchronize",
               "results": [asdict(r) for r in results]}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, indent=2, ensure_ascii=False)
        f.write("\n")


def render(results: list, notes: list, console) -> None:
    """Print the results as a rich table, then the references used and the notes."""
    from rich import box
    from rich.table import Table
    with_ceiling = any(r.peak_fraction is not None for r in results)
    table = Table(title="framework bench: float32, median times, ratio = ours / reference",
                  box=box.SIMPLE_HEAD)
    columns = ["op", "device", "size", "ours ms", "ref ms", "ratio", "ours rate"]
    columns += ["% copy ceiling"] if with_ceiling else []
    for name in columns:
        table.add_column(name, justify="left" if name in ("op", "device", "size") else "right",
                         no_wrap=True)
    for r in results:
        cells = [r.op, r.device, r.size, _fmt(r.ours_ms, 3), _fmt(r.ref_ms, 3), _fmt(r.ratio, 2),
                 _rate(r.rate, r.unit)]
        cells += [_fmt(None if r.peak_fraction is None else 100 * r.peak_fraction, 1)] if with_ceiling else []
        table.add_row(*cells, style="red" if r.note.startswith("MISMATCH") else None)
    if results:
        console.print(table)
    else:
        console.print("framework bench: nothing was timed")
    for device, reference in sorted({(r.device, r.reference) for r in results if r.reference}):
        console.print(f"reference on {device}: {reference}")
    for note in [f"{r.op} {r.device} {r.size}: {r.note}" for r in results if r.note] + list(notes):
        console.print(f"note: {note}")


def _fmt(value, digits: int) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _rate(value, unit: str) -> str:
    return "—" if value is None else f"{value:.1f} {unit}"
