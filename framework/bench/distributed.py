"""The ``distributed`` suite: all_reduce bus bandwidth and DDP step scaling, on 2 cpu ranks.

``framework bench --suite distributed`` (not part of ``--suite all``: it starts ``mpiexec``).
This process times the single-process training step, then starts 2 ranks of
``python -m framework.bench.distributed`` under ``mpiexec`` with a hard timeout; rank 0
prints its measurements as one JSON line. Rows:

- ``all_reduce`` of float32 messages from 4 KiB to 16 MiB (``--quick``: to 4 MiB): ours
  (``framework.distributed.all_reduce``) against mpi4py's ``Allreduce`` on a NumPy array of the
  same size (the MPI call ours wraps); the rate is the bus bandwidth of NCCL's tests,
  ``2 (n - 1) / n * bytes / time``.
- ``ddp_step``: one training step (forward, backward with DDP's bucketed all-reduce, SGD) of an
  MLP with 64 samples per rank on 2 ranks, against the same step in one process without DDP
  (weak scaling: twice the samples per step on 2 ranks; ideal ratio 1.0, throughput x2).

Every timed call starts after a barrier, with the same fixed number of repeats on each rank
(collectives must match); the times are rank 0's medians.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

from .core import Result, count_label

RANKS = 2
SIZES = [1 << 10, 1 << 14, 1 << 18, 1 << 20, 1 << 22]  # float32 elements (4 KiB .. 16 MiB)
QUICK_SIZES = [1 << 10, 1 << 16, 1 << 20]
MLP = (256, 512, 512, 10)
BATCH = 64  # samples per rank
TIMEOUT = 600


def run_suite(quick: bool = False, progress=None) -> tuple:
    """The suite's rows and notes (a skipped row when mpi4py or mpiexec is missing)."""
    from ..distributed import is_mpi_available, run
    label = f"cpu x{RANKS} ranks"
    if not is_mpi_available():
        why = "mpi4py is not installed: pip install 'framework[distributed]'"
        return [Result("distributed", "all_reduce", "-", "float32", label, status="skipped",
                       note=why)], []
    if progress is not None:
        progress(0, 2, "distributed: one-process training step")
    single = _step_seconds(ddp=False, repeats=10 if quick else 30)
    if progress is not None:
        progress(1, 2, f"distributed: mpiexec -n {RANKS} (all_reduce sweep, DDP step)")
    program = [sys.executable, "-m", "framework.bench.distributed"] + (["--quick"] if quick else [])
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    try:
        line = run.plain_command(RANKS, program)
    except RuntimeError as exc:  # no mpiexec, or one that does not run
        return [Result("distributed", "all_reduce", "-", "float32", label, status="skipped",
                       note=str(exc))], []
    try:
        done = subprocess.run(line, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return [Result("distributed", "all_reduce", "-", "float32", label, status="failed",
                       note=f"mpiexec did not finish within {TIMEOUT} s")], []
    found = [text for text in done.stdout.splitlines() if text.startswith("BENCH ")]
    if done.returncode != 0 or not found:
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        return [Result("distributed", "all_reduce", "-", "float32", label, status="failed",
                       note=f"mpiexec exited with {done.returncode}: {' | '.join(tail)}")], []
    measured = json.loads(found[-1][len("BENCH "):])
    return _rows(measured, single, label), _notes(measured)


def _rows(measured: dict, single: float, label: str) -> list:
    rows = []
    for n, ours, ref in measured["all_reduce"]:
        size = 4 * n
        bus = 2 * (RANKS - 1) / RANKS * size / 1e9
        rows.append(Result("distributed", "all_reduce", count_label(n), "float32", label,
                           ours_ms=ours * 1e3, ref_ms=ref * 1e3, ratio=ours / ref,
                           reference=f"mpi4py Allreduce ({_library_name(measured['mpi'])})",
                           rate=bus / ours,
                           ref_rate=bus / ref, unit="GB/s (bus)"))
    step = measured["ddp_step"]
    rows.append(Result("distributed", "ddp_step", f"mlp {'-'.join(map(str, MLP))} b{BATCH}/rank",
                       "float32", label, ours_ms=step * 1e3, ref_ms=single * 1e3,
                       ratio=step / single, reference="1 process, no DDP",
                       rate=RANKS * BATCH / step, ref_rate=BATCH / single, unit="samples/s",
                       note=f"throughput x{RANKS * single / step:.2f} on {RANKS} ranks (ideal "
                            f"x{RANKS}.00); {measured['buckets']} gradient buckets"))
    return rows


def _library_name(version: str) -> str:
    """``"MPICH"``, ``"Open MPI"``, ... : the name at the start of ``MPI_Get_library_version``."""
    for name in ("Open MPI", "MPICH", "Intel(R) MPI", "MVAPICH"):
        if version.startswith(name):
            return name
    return version.split(",")[0].strip() or "MPI"


def _notes(measured: dict) -> list:
    return [f"distributed: {RANKS} ranks on this machine ({os.cpu_count()} CPUs) through "
            f"{measured['mpi']}; the one-process step was timed in the calling process just before the 2-rank job"]


# the ranks --------------------------------------------------------------------------------

def _model():
    import framework
    from framework import nn
    framework.manual_seed(0)
    layers = []
    for fan_in, fan_out in zip(MLP[:-1], MLP[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def _step_seconds(ddp: bool, repeats: int) -> float:
    """Median seconds of one training step (rank 0's when ``ddp``)."""
    import framework
    import framework.nn.functional as F
    model = _model()
    if ddp:
        import framework.distributed as dist
        from framework.nn.parallel import DistributedDataParallel
        model = DistributedDataParallel(model)
    optimizer = framework.optim.SGD(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(1)
    x = framework.tensor(rng.standard_normal((BATCH, MLP[0])).astype(np.float32))
    y = framework.tensor(rng.integers(0, MLP[-1], BATCH))

    def step() -> None:
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    times = []
    for index in range(3 + repeats):
        if ddp:
            dist.barrier()
        start = time.perf_counter()
        step()
        if index >= 3:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def _all_reduce_seconds(n: int, repeats: int) -> tuple:
    """Rank 0's median seconds of ours and of mpi4py's Allreduce on ``n`` float32, interleaved."""
    import framework
    import framework.distributed as dist
    from mpi4py import MPI
    ours = framework.ones(n)
    theirs = np.ones(n, np.float32)
    comm = MPI.COMM_WORLD
    samples: tuple = ([], [])
    for index in range(2 + repeats):
        for which, call in enumerate((lambda: dist.all_reduce(ours),
                                      lambda: comm.Allreduce(MPI.IN_PLACE, theirs, op=MPI.SUM))):
            comm.Barrier()
            start = time.perf_counter()
            call()
            if index >= 2:
                samples[which].append(time.perf_counter() - start)
    return statistics.median(samples[0]), statistics.median(samples[1])


def worker(quick: bool) -> None:
    """One rank: the all_reduce sweep and the DDP step; rank 0 prints the ``BENCH`` line."""
    import framework.distributed as dist
    from mpi4py import MPI
    dist.init_process_group("mpi")
    sweep = []
    for n in QUICK_SIZES if quick else SIZES:
        repeats = 10 if n >= 1 << 20 else 50
        sweep.append((n, *_all_reduce_seconds(n, repeats // (2 if quick else 1))))
    from framework.nn.parallel import DistributedDataParallel
    buckets = len(DistributedDataParallel(_model()).reducer.buckets)
    step = _step_seconds(ddp=True, repeats=10 if quick else 30)
    if dist.get_rank() == 0:
        version = MPI.Get_library_version().splitlines()[0].strip()
        print("BENCH " + json.dumps({"all_reduce": sweep, "ddp_step": step, "buckets": buckets,
                                     "mpi": version}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    worker("--quick" in sys.argv[1:])
