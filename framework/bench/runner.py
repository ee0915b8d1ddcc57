"""Running the specs: references, timing, agreement checks, GPU peaks; a row per spec, never a raise."""
from __future__ import annotations

import os
from typing import Callable

import numpy as np

from .core import SUITES, Case, Context, Missing, Result, Spec
from .kernels import conv_specs, matmul_specs, ops_specs
from .timing import EventTimer, interleaved_medians
from .compiled import compile_specs
from .train import train_specs

# Dense peaks (TFLOP/s) and memory bandwidth (GB/s) from NVIDIA's data sheets. Matched against
# the device name in order, so the more specific names come first.
GPU_PEAKS = (
    ("H200", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9, "GB/s": 4800.0}),
    ("H100 PCIe", {"bf16": 756.0, "fp16": 756.0, "tf32": 378.0, "fp32": 51.2, "GB/s": 2000.0}),
    ("H100 NVL", {"bf16": 835.0, "fp16": 835.0, "tf32": 417.5, "fp32": 60.0, "GB/s": 3900.0}),
    ("H100", {"bf16": 989.4, "fp16": 989.4, "tf32": 494.7, "fp32": 66.9, "GB/s": 3350.0}),
    ("A100-SXM4-40GB", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5, "GB/s": 1555.0}),
    ("A100-PCIE-40GB", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5, "GB/s": 1555.0}),
    ("A100 80GB PCIe", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5, "GB/s": 1935.0}),
    ("A100", {"bf16": 312.0, "fp16": 312.0, "tf32": 156.0, "fp32": 19.5, "GB/s": 2039.0}),
)


def _torch_for(device: str):
    """torch as the reference for ``device``, or None (not installed, or no GPU for ``cuda``)."""
    try:
        import torch
    except ImportError:
        return None
    if device == "cuda" and not torch.cuda.is_available():
        return None
    return torch


SPEC_BUILDERS = {"ops": ops_specs, "matmul": matmul_specs, "conv": conv_specs, "train": train_specs,
                 "compile": compile_specs}


def specs(suites=SUITES, device: str = "cpu", quick: bool = False, ops=None) -> list:
    """The benchmark specs of ``suites`` on ``device``, optionally only the ``ops`` named."""
    chosen = [s for suite in suites if suite in SPEC_BUILDERS for s in SPEC_BUILDERS[suite](device, quick)]
    return chosen if ops is None else [s for s in chosen if s.op in ops]


def op_names() -> list:
    """Every op name the suites time on any device (``--ops`` accepts these)."""
    return sorted({s.op for device in ("cpu", "cuda") for s in specs(SUITES, device)})


def _to_numpy(value) -> np.ndarray:
    """A framework or torch tensor (any dtype, any device) or an array as a NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach()
        if str(value.dtype).endswith(("bfloat16", "float16")):
            value = value.float()
        return np.asarray(value.cpu().numpy())
    return np.asarray(value)


def agrees(ours, ref, tolerance: float) -> bool:
    """Same shape and relative error (2-norm) within ``tolerance``."""
    mine = _to_numpy(ours).astype(np.float64).reshape(-1)
    theirs = _to_numpy(ref).astype(np.float64).reshape(-1)
    if mine.shape != theirs.shape or not np.all(np.isfinite(mine) == np.isfinite(theirs)):
        return False
    finite = np.isfinite(theirs)
    error = float(np.linalg.norm(mine[finite] - theirs[finite]))
    return error <= tolerance * max(float(np.linalg.norm(theirs[finite])), 1.0)


def _tolerance(case: Case, dtype: str) -> float:
    return max(case.tolerance, 2e-2) if dtype in ("bfloat16", "float16") else case.tolerance


def run_spec(spec: Spec, device: str, torch, timer=None, peaks: dict | None = None) -> Result:
    """Time one spec; a missing op gives a skipped row and an error a failed row, never a raise."""
    row = Result(spec.suite, spec.op, spec.size, spec.dtype, device)
    try:
        ctx = Context(device, torch, spec.dtype)
        row.reference = ctx.reference
        case = spec.build(ctx)
        row.unit, row.note = case.unit if case.work else "", case.note
        row.reference = case.reference or row.reference
        first = case.ours()
    except (Missing, NotImplementedError) as exc:
        reason = str(exc) if isinstance(exc, Missing) else f"{type(exc).__name__}: {exc}"
        row.status, row.note = "skipped", reason
        return row
    except Exception as exc:  # a bug in an op or a model: report it in the row
        row.status, row.note = "failed", f"{type(exc).__name__}: {exc}"
        return row
    ref = _checked_reference(row, case, first)
    try:
        times = _time([case.ours] + ([ref] if ref else []), device, timer, case.kernel)
    except Exception as exc:
        row.status, row.note = "failed", f"while timing: {type(exc).__name__}: {exc}"
        return row
    _fill_times(row, case, times)
    row.peak_fraction = _peak_fraction(row, peaks)
    return row


def _checked_reference(row: Result, case: Case, first) -> Callable | None:
    """The reference callable after one call whose result is compared with ours (None: no reference)."""
    if case.ref is None:
        row.note = row.note or "no NumPy reference for this op (torch not installed)"
        return None
    try:
        expected = case.ref()
    except Exception as exc:
        row.status, row.note = "failed", f"reference failed: {type(exc).__name__}: {exc}"
        return None
    if not agrees(first, expected, _tolerance(case, row.dtype)):
        row.status = "mismatch"
        row.note = "; ".join(filter(None, ["MISMATCH: result differs from the reference", row.note]))
    return case.ref


def _fill_times(row: Result, case: Case, times: list) -> None:
    row.ours_ms = times[0] * 1e3
    if case.work:
        row.rate = case.work / times[0] / 1e9
    if len(times) > 1:
        row.ref_ms, row.ratio = times[1] * 1e3, times[0] / times[1]
        if case.work:
            row.ref_rate = case.work / times[1] / 1e9


def _time(fns: list, device: str, timer, kernel: bool) -> list:
    if device == "cuda" and timer is not None:
        return timer.interleaved_medians(fns, flush_l2=kernel)
    return interleaved_medians(fns, lambda: None)


def _peak_fraction(row: Result, peaks: dict | None) -> float | None:
    if not peaks or row.rate is None:
        return None
    if row.unit == "GB/s":
        peak = peaks["GB/s"]
    elif row.suite == "matmul" and row.dtype == "float32":
        peak = peaks["fp32 matmul"] * 1e3
    else:
        peak = peaks[{"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}.get(row.dtype, "fp32")] * 1e3
    return row.rate / peak


def gpu_peaks(name: str) -> dict | None:
    """The peak table entry whose key is in the device ``name``, or None."""
    for key, peaks in GPU_PEAKS:
        if key.lower() in name.lower():
            return dict(peaks, model=key)
    return None


def run(suites=SUITES, quick: bool = False, devices=("cpu", "cuda"), ops=None,
        progress: Callable | None = None, checkpoint: Callable | None = None) -> tuple:
    """Run the suites; returns ``(results, notes)``.

    ``progress(done, total, label)`` is called before each row and once at the end;
    ``checkpoint(results, notes)`` after each row (e.g. to keep a JSON file current).
    """
    from .._backends.triton import runtime
    plan, notes = [], []
    for device in devices:
        if device == "cuda" and runtime.mode() != "gpu":
            notes.append(_cuda_skip_note(runtime.mode()))
            continue
        plan += [(device, spec) for spec in specs(suites, device, quick, ops)]
    results = []
    timers, torches, peaks = {}, {}, {}
    try:
        for index, (device, spec) in enumerate(plan):
            if device not in torches:
                torches[device], notes_for = _setup_device(device, timers, peaks)
                notes += notes_for
            if progress is not None:
                progress(index, len(plan), f"{device} {spec.suite}: {spec.op} {spec.size}")
            results.append(run_spec(spec, device, torches[device], timers.get(device), peaks.get(device)))
            if checkpoint is not None:
                checkpoint(results, notes)
    finally:
        for timer in timers.values():
            timer.close()
    if "distributed" in suites and "cpu" in devices:
        from .distributed import run_suite
        rows, more_notes = run_suite(quick, progress)
        results += rows
        notes += more_notes
    if progress is not None:
        progress(len(plan), len(plan), "done")
    return results, notes


def _setup_device(device: str, timers: dict, peaks: dict) -> tuple:
    """torch for ``device`` (or None), and notes; on a GPU also the event timer and peak table."""
    torch = _torch_for(device)
    notes = []
    if torch is None:
        notes.append(f"{device}: PyTorch is not installed{' with CUDA' if device == 'cuda' else ''}; "
                     "the reference is NumPy on the host")
    elif device == "cpu":
        notes += _busy_note()
        notes.append(f"cpu: torch threads {torch.get_num_threads()}, OMP_NUM_THREADS="
                     f"{os.environ.get('OMP_NUM_THREADS', '(unset)')}, {os.cpu_count()} CPUs")
        notes += _shared_process_note(torch.get_num_threads())
    if device == "cuda":
        import framework
        name = framework.cuda.get_device_name()
        timers[device] = EventTimer()
        peaks[device] = gpu_peaks(name)
        notes.append(_match_matmul_precision(torch, peaks[device]))
        if peaks[device] is None:
            notes.append(f"cuda: no peak table for {name}; fraction of peak not reported")
        else:
            notes.append(f"cuda: peaks of {peaks[device]['model']} (dense, data sheet): "
                         f"fp32 {peaks[device]['fp32']} TFLOP/s, bf16 {peaks[device]['bf16']} TFLOP/s, "
                         f"memory {peaks[device]['GB/s']:.0f} GB/s")
    return torch, notes


def _shared_process_note(torch_threads: int) -> list:
    """A warning that several threads per library bias a same-process comparison."""
    from .._backends.numpy._parallel import threads
    if max(torch_threads, threads()) <= 1:
        return []
    return ["cpu: both libraries run in this one process with several threads: each one's idle "
            "workers spin for a while after their work (PyTorch's OpenMP team, OpenBLAS's "
            "threads) on the cores the other needs, so the cpu ratios include that "
            "interference; bench/dispatch_profile.py times each side in its own processes"]


def _busy_note() -> list:
    """A warning when other processes keep the CPUs busy (times are then noisy)."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return []
    cpus = os.cpu_count() or 1
    if load <= cpus:
        return []
    return [f"cpu: the machine is busy (load average {load:.1f} on {cpus} CPUs): times are noisy; "
            "OMP_NUM_THREADS=1 keeps PyTorch's threads from waiting on each other"]


def _match_matmul_precision(torch, peaks: dict | None) -> str:
    """Give torch framework's float32 matmul precision (TF32 or not); returns a note saying which."""
    import framework
    precision = framework.get_float32_matmul_precision()
    tf32 = precision != "highest"
    if torch is not None:
        torch.set_float32_matmul_precision(precision)
    if peaks is not None:
        peaks["fp32 matmul"] = peaks["tf32" if tf32 else "fp32"]
    return (f"cuda: float32 matmul precision {precision!r} ({'TF32' if tf32 else 'exact fp32'}) for ours"
            f"{' and torch' if torch is not None else ''}; float32 matmul % peak is of the "
            f"{'TF32' if tf32 else 'fp32'} peak")


def _cuda_skip_note(mode: str) -> str:
    if mode == "interpreter":
        return ("cuda skipped: the Triton interpreter is on (FRAMEWORK_TRITON_INTERPRET=1); "
                "its timings say nothing about a GPU")
    return "cuda skipped: no NVIDIA GPU or driver found"
