"""framework.distributed, DistributedDataParallel and DistributedSampler.

The multi-process tests start 2-3 ranks of ``worker.py`` with ``framework run`` or the
``mpiexec`` of the mpich wheel (found next to ``sys.executable``), each under a hard timeout;
the worker compares every collective with NumPy and DDP with one process on the union batch.
The NCCL backend needs a GPU: here only its library loading and error paths are tested.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

import framework
import framework.distributed as dist
from framework.distributed import nccl, run
from framework.utils.data import DistributedSampler

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORKER = os.path.join(HERE, "worker.py")
LAUNCH_TIMEOUT = 90  # seconds: a hung job fails the test instead of the suite

pytestmark = pytest.mark.xdist_group("distributed")  # one mpiexec job at a time
needs_mpi = pytest.mark.skipif(not dist.is_mpi_available(),
                               reason="mpi4py not installed (pip install 'framework[distributed]')")


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _launch(argv: list, **env) -> tuple:
    """Run ``argv`` with a hard timeout; ``(exit status, stdout+stderr, seconds)``."""
    start = time.monotonic()
    done = subprocess.run(argv, env=_env(**env), cwd=ROOT, capture_output=True, text=True,
                          timeout=LAUNCH_TIMEOUT)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - start


def _framework_run(nproc: int, *args, **env) -> tuple:
    return _launch([sys.executable, "-m", "framework", "run", "--nproc", str(nproc), WORKER,
                    *args], **env)


def _mpiexec(nproc: int, *args, **env) -> tuple:
    """``mpiexec -n N python worker.py ...`` as by hand (plus what Open MPI needs: as root,
    more ranks than cores)."""
    return _launch(run.plain_command(nproc, [sys.executable, WORKER, *args]), **env)


def _killed_message() -> str:
    """What this mpiexec prints when a rank dies of SIGKILL (whitespace collapsed)."""
    if run.implementation(run.find_mpiexec()) == run.OPENMPI:
        return "exited on signal 9 (Killed)"  # "mpiexec noticed that process rank 1 ... exited on"
    return "Killed (signal 9)"  # Hydra: "BAD TERMINATION ... EXIT STRING: Killed (signal 9)"


# multi-process ------------------------------------------------------------------------------

@needs_mpi
def test_every_collective_matches_numpy_on_3_ranks(tmp_path):
    status, output, _ = _framework_run(3, "collectives", DIST_TEST_INIT=f"file://{tmp_path}/init")
    assert status == 0, output
    for rank in range(3):
        assert f"rank {rank}: collectives ok" in output, output


@needs_mpi
def test_ddp_on_2_ranks_trains_like_one_process_on_the_union_batch(tmp_path):
    status, output, _ = _mpiexec(2, "ddp", DIST_TEST_CHECKPOINT=tmp_path / "model.pt")
    assert status == 0, output
    assert "rank 0: ddp ok" in output and "rank 1: ddp ok" in output, output


@needs_mpi
def test_hung_rank_gives_a_timeout_error_on_the_others():
    status, output, seconds = _mpiexec(2, "hang", DIST_TEST_TIMEOUT=2)
    assert status != 0
    assert "rank 0 caught DistBackendError after" in output, output
    assert "all_reduce timed out after" in output
    assert "aborting the other ranks" in output  # the hung rank 1 (asleep 120 s) is stopped
    assert seconds < 60, output


@needs_mpi
@pytest.mark.parametrize("kind", ["kill", "raise"])
def test_crashed_rank_stops_the_job_long_before_the_timeout(kind):
    launch = _framework_run if kind == "kill" else _mpiexec
    status, output, seconds = launch(2, kind, DIST_TEST_TIMEOUT=120)
    assert status != 0
    if kind == "kill":
        assert "framework run: a rank failed" in output, output
        assert _killed_message() in " ".join(output.split()), output
    else:
        assert "rank 1 failed; aborting the other ranks" in output, output
        assert "ValueError: rank 1 fails on purpose" in output, output  # its traceback came through
    assert f"rank 0: {kind} ok" not in output  # rank 0 never completed its all_reduce
    assert seconds < 60, output


# one process --------------------------------------------------------------------------------

def test_calls_before_init_process_group_raise():
    assert not dist.is_initialized()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.get_rank()
    with pytest.raises(ValueError, match="has not been initialized"):
        dist.all_reduce(framework.ones(2))


def test_unknown_backend_and_init_method_are_refused():
    with pytest.raises(ValueError, match="Invalid backend: 'gloo'"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match="init_method"):
        dist.init_process_group("mpi", init_method="tcp://127.0.0.1:1234")
    with pytest.raises(ValueError, match="disagrees"):
        os.environ["WORLD_SIZE"] = "2"
        try:
            dist.init_process_group("mpi", world_size=3)
        finally:
            del os.environ["WORLD_SIZE"]
    assert not dist.is_initialized()


def test_launcher_command_gives_each_rank_its_env_variables_on_mpich():
    line = run.command(2, ["python", "train.py", "--lr", "0.1"], mpiexec="mpiexec",
                       master_port=29500, kind=run.MPICH)
    text = " ".join(line)
    assert line[0] == "mpiexec"
    assert "-genv WORLD_SIZE 2" in text and "-genv MASTER_PORT 29500" in text
    assert "-genv MASTER_ADDR 127.0.0.1" in text
    segments = text.split(" : ")
    assert len(segments) == 2
    for rank, segment in enumerate(segments):
        assert f"-env RANK {rank} -env LOCAL_RANK {rank}" in segment
        assert segment.endswith("python train.py --lr 0.1")
    assert "-x" not in line and "--oversubscribe" not in line
    assert run.plain_command(3, ["python", "x.py"], "mpiexec", kind=run.MPICH) == \
        ["mpiexec", "-n", "3", "python", "x.py"]  # unchanged: Hydra needs no options
    for kind in (run.MPICH, run.OPENMPI):
        with pytest.raises(ValueError, match="nproc"):
            run.command(0, ["python", "x.py"], mpiexec="mpiexec", kind=kind)


def test_launcher_command_gives_each_rank_its_env_variables_on_open_mpi():
    """One app context, ``-x NAME=VALUE`` for the shared variables, ``RANK``/``LOCAL_RANK`` set
    per rank by ``/bin/sh`` from Open MPI's."""
    program = ["python", "train.py", "--lr", "0.1"]
    line = run.command(3, program, mpiexec="/opt/ompi/bin/mpiexec", master_port=29500,
                       kind=run.OPENMPI)
    assert line[0] == "/opt/ompi/bin/mpiexec" and ":" not in line and "-genv" not in line
    options = line[1:line.index("-n")]
    assert options == run.job_options(run.OPENMPI)
    assert line[line.index("-n") + 1] == "3"
    exported = [line[i + 1] for i, word in enumerate(line) if word == "-x"]
    assert exported == ["WORLD_SIZE=3", "LOCAL_WORLD_SIZE=3", "MASTER_ADDR=127.0.0.1",
                        "MASTER_PORT=29500"]
    shell = line.index("/bin/sh")
    assert line[shell + 1] == "-c" and line[shell + 3] == "sh" and line[shell + 4:] == program
    assert run.plain_command(3, ["python", "x.py"], "mpiexec", kind=run.OPENMPI) == \
        ["mpiexec", *run.job_options(run.OPENMPI), "-n", "3", "python", "x.py"]


def test_open_mpi_job_options():
    assert run.job_options(run.MPICH, as_root=True) == []
    assert run.job_options(run.OPENMPI, as_root=False) == ["--oversubscribe", "--bind-to", "none"]
    assert run.job_options(run.OPENMPI, as_root=True) == \
        ["--oversubscribe", "--bind-to", "none", "--allow-run-as-root"]
    as_root = os.geteuid() == 0
    assert ("--allow-run-as-root" in run.job_options(run.OPENMPI)) == as_root


def test_open_mpi_rank_shell_sets_rank_variables_and_runs_the_program_itself(tmp_path):
    """The ``/bin/sh`` part of an Open MPI command line, run with the variables Open MPI gives
    rank 2: the program (arguments with spaces and quotes intact) sees RANK/LOCAL_RANK and
    runs in the shell's process (``exec``: signals reach it, its status is the rank's)."""
    code = ("import os, sys; print(os.environ['RANK'], os.environ['LOCAL_RANK'], os.getpid(), "
            "sys.argv[1:]); sys.exit(3)")
    program = [sys.executable, "-c", code, "a b", "it's", "$HOME"]
    line = run.command(4, program, mpiexec="mpiexec", master_port=1, kind=run.OPENMPI)
    shell = line[line.index("/bin/sh"):]
    env = dict(os.environ, OMPI_COMM_WORLD_RANK="2", OMPI_COMM_WORLD_LOCAL_RANK="1")
    done = subprocess.Popen(shell, env=env, stdout=subprocess.PIPE, text=True)
    out, _ = done.communicate(timeout=60)
    assert done.returncode == 3
    rank, local_rank, pid, argv = out.split(" ", 3)
    assert (rank, local_rank, int(pid)) == ("2", "1", done.pid)
    assert argv.strip() == repr(["a b", "it's", "$HOME"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMPI_")}
    missing = subprocess.run(shell, env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "not started by Open MPI" in missing.stderr


@pytest.mark.parametrize("text, kind", [
    ("mpiexec (Open MPI) 5.0.11\n\nReport bugs to https://www.open-mpi.org/community/help/\n",
     run.OPENMPI),
    ("mpiexec (OpenRTE) 4.1.6\n\nReport bugs to http://www.open-mpi.org/community/help/\n",
     run.OPENMPI),
    ("mpirun (Open MPI) 4.1.2\n\nReport bugs to http://www.open-mpi.org/community/help/\n",
     run.OPENMPI),
    ("prterun (PMIx Reference RunTime Environment) 3.0.6\n", run.OPENMPI),
    ("HYDRA build details:\n    Version:                                 5.0.2\n"
     "    Release Date:                            Fri Sep 25 20:45:26 UTC 2026\n", run.MPICH),
    ("Intel(R) MPI Library for Linux* OS, Version 2021.10 Build 20230619\n", run.MPICH),
    ("", run.MPICH),
])
def test_mpiexec_family_from_its_version_text(text, kind):
    assert run.implementation_from_version(text) == kind


def test_mpiexec_family_is_asked_once_per_path(tmp_path):
    """``implementation`` runs ``mpiexec --version`` (here a script that counts its calls)."""
    calls = tmp_path / "calls"
    fake = tmp_path / "mpiexec"
    fake.write_text(f"#!/bin/sh\necho x >> {calls}\necho 'mpiexec (OpenRTE) 4.1.6'\n")
    fake.chmod(0o755)
    assert run.implementation(str(fake)) == run.OPENMPI
    assert run.implementation(str(fake)) == run.OPENMPI
    assert calls.read_text().count("x") == 1
    with pytest.raises(RuntimeError, match="cannot run"):
        run.implementation(str(tmp_path / "missing-mpiexec"))


def test_framework_run_reports_bad_arguments(capsys):
    from framework import cli
    assert cli.main(["run", "--nproc", "2", "--mpiexec", "/nonexistent/mpiexec", "x.py"]) == 2
    assert "mpiexec not found: /nonexistent/mpiexec" in capsys.readouterr().err
    assert cli.main(["run", "--nproc", "0", "--mpiexec", sys.executable, "x.py"]) == 2
    assert "--nproc must be at least 1" in capsys.readouterr().err


def _executable(path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def test_mpiexec_is_looked_up_next_to_the_python_then_on_path(tmp_path, monkeypatch):
    """The lookup rule on a made-up layout: the venv's bin (the mpich wheel's mpiexec) wins over
    ``PATH`` (a system-wide MPI); without either, a clear error."""
    venv_python = _executable(tmp_path / "venv" / "bin" / "python")
    system = _executable(tmp_path / "usr" / "bin" / "mpiexec")
    monkeypatch.setattr(sys, "executable", venv_python)
    monkeypatch.setenv("PATH", str(tmp_path / "usr" / "bin"))
    assert run.find_mpiexec() == system
    local = _executable(tmp_path / "venv" / "bin" / "mpiexec")
    assert run.find_mpiexec() == local
    os.remove(local)
    os.remove(system)
    with pytest.raises(RuntimeError, match="needs mpiexec"):
        run.find_mpiexec()


@needs_mpi
def test_the_mpiexec_found_belongs_to_mpi4pys_mpi_library():
    """On this machine: the launcher's mpiexec and mpi4py's library are one MPI family (else
    every rank would start as a 1-process world)."""
    code = ("import mpi4py; mpi4py.rc.initialize = False; from mpi4py import MPI; "
            "print(MPI.Get_library_version())")
    library = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=LAUNCH_TIMEOUT, env=_env()).stdout
    assert library, "mpi4py did not report its MPI library"
    expected = run.OPENMPI if library.startswith("Open MPI") else run.MPICH
    assert run.implementation(run.find_mpiexec()) == expected, (run.find_mpiexec(), library)


def test_nccl_missing_library_gives_a_clear_error(monkeypatch):
    monkeypatch.setenv(nccl.LIBRARY_ENV, "/nonexistent/libnccl.so.2")
    nccl.library.cache_clear()
    try:
        with pytest.raises(RuntimeError, match="pip install nvidia-nccl-cu12"):
            nccl.library()
        assert not dist.is_nccl_available()
        with pytest.raises(RuntimeError, match="NCCL"):
            dist.init_process_group("nccl", world_size=1, rank=0)
        assert not dist.is_initialized()
    finally:
        monkeypatch.delenv(nccl.LIBRARY_ENV)
        nccl.library.cache_clear()


def test_nccl_without_a_gpu_says_so(monkeypatch):
    from framework._backends.triton import runtime
    if runtime.mode() == "gpu":
        pytest.skip("a GPU is present: the GPU check runs the NCCL backend itself")
    monkeypatch.setattr(nccl, "library", lambda: object())  # as if libnccl were installed
    with pytest.raises(RuntimeError, match="'nccl' backend needs an NVIDIA GPU"):
        dist.init_process_group("nccl", world_size=1, rank=0)
    assert not dist.is_initialized()


def test_nccl_dtype_codes():
    assert nccl.dtype_code(framework.float32) == 7
    assert nccl.dtype_code(framework.bfloat16) == 9
    assert nccl.dtype_code(framework.int64) == 4
    assert nccl.dtype_code(framework.bool) == 1
    with pytest.raises(TypeError, match="cannot communicate"):
        nccl.dtype_code("complex64")


@pytest.mark.skipif(not (dist.is_nccl_available() and framework.cuda.is_available()
                         and not framework.cuda.is_interpreter()),
                    reason="needs NCCL and a GPU (runs in the GPU check)")
def test_nccl_one_rank_group_on_the_gpu(tmp_path):
    """One GPU: a 1-rank NCCL group runs every collective and a DDP step on device memory."""
    code = (f"import sys; sys.path.insert(0, {HERE!r}); import nccl_checks; "
            f"print(nccl_checks.one_rank_checks({str(tmp_path)!r}))")
    done = subprocess.run([sys.executable, "-c", code], env=_env(FRAMEWORK_TRITON_INTERPRET=0),
                          capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)
    assert "nccl ok" in done.stdout, done.stdout + done.stderr


# DistributedSampler -------------------------------------------------------------------------

@pytest.mark.parametrize("n, replicas", [(10, 3), (12, 4), (5, 2), (2, 3)])
@pytest.mark.parametrize("shuffle", [False, True])
def test_distributed_sampler_partitions_are_disjoint_and_cover(n, replicas, shuffle):
    shares = [list(DistributedSampler(range(n), replicas, r, shuffle=shuffle, seed=3))
              for r in range(replicas)]
    assert len({len(s) for s in shares}) == 1
    assert all(len(s) == len(DistributedSampler(range(n), replicas, 0)) for s in shares)
    everything = [i for s in shares for i in s]
    assert set(everything) == set(range(n))  # cover
    assert len(everything) - len(set(everything)) == (-n) % replicas  # only the padding repeats
    dropped = [list(DistributedSampler(range(n), replicas, r, shuffle=shuffle, drop_last=True))
               for r in range(replicas)]
    flat = [i for s in dropped for i in s]
    assert len(flat) == len(set(flat)) == n // replicas * replicas  # disjoint, tail dropped


def test_distributed_sampler_matches_torch_without_shuffle():
    torch = pytest.importorskip("torch")
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    for n, replicas, drop_last in [(10, 3, False), (10, 3, True), (7, 4, False), (2, 3, False)]:
        for rank in range(replicas):
            ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
            theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)
    del torch


def test_distributed_sampler_shuffle_seed_and_set_epoch():
    sampler = DistributedSampler(range(50), 2, 0, shuffle=True, seed=5)
    other_rank = DistributedSampler(range(50), 2, 1, shuffle=True, seed=5)
    first = list(sampler)
    assert first == list(sampler)  # same epoch: same order
    assert not set(first) & set(other_rank)  # same permutation on both ranks: disjoint shares
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert list(DistributedSampler(range(50), 2, 0, shuffle=True, seed=6)) != first
    assert first != list(range(0, 50, 2))


def test_distributed_sampler_bad_rank_and_missing_group():
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(RuntimeError, match="distributed"):
        DistributedSampler(range(4))


def test_ddp_needs_a_process_group():
    from framework.nn.parallel import DistributedDataParallel
    with pytest.raises(ValueError, match="has not been initialized"):
        DistributedDataParallel(framework.nn.Linear(2, 2))


# the bench suite ----------------------------------------------------------------------------

def test_distributed_bench_rows_from_measurements():
    from framework.bench import distributed as suite
    measured = {"all_reduce": [(1 << 20, 2e-3, 1e-3)], "ddp_step": 0.03, "buckets": 2, "mpi": "MPICH"}
    rows = suite._rows(measured, 0.02, "cpu x2 ranks")
    reduce_row, step_row = rows
    assert reduce_row.ratio == pytest.approx(2.0) and reduce_row.ours_ms == pytest.approx(2.0)
    assert reduce_row.rate == pytest.approx(2 * (2 - 1) / 2 * 4 * 2 ** 20 / 1e9 / 2e-3)  # bus GB/s
    assert step_row.op == "ddp_step" and step_row.ratio == pytest.approx(1.5)
    assert step_row.rate == pytest.approx(2 * 64 / 0.03) and "throughput x1.33" in step_row.note
    assert reduce_row.reference == "mpi4py Allreduce (MPICH)"
    measured["mpi"] = "Open MPI v4.1.6, package: Debian OpenMPI, ident: 4.1.6, repo rev: v4.1.6"
    assert suite._rows(measured, 0.02, "cpu x2 ranks")[0].reference == "mpi4py Allreduce (Open MPI)"


def test_distributed_suite_only_runs_when_named():
    from framework import bench
    assert "distributed" not in bench.SUITES and "distributed" in bench.EXTRA_SUITES
    assert bench.specs(("distributed",), "cpu") == []  # its rows come from mpiexec, not specs


@needs_mpi
def test_distributed_bench_suite_runs_on_2_ranks():
    from framework.bench import distributed as suite
    rows, notes = suite.run_suite(quick=True)
    assert [r.op for r in rows] == ["all_reduce"] * len(suite.QUICK_SIZES) + ["ddp_step"]
    assert all(r.status == "ok" and r.ours_ms > 0 and r.ref_ms > 0 for r in rows), rows
    name = {run.MPICH: "MPICH", run.OPENMPI: "Open MPI"}[run.implementation(run.find_mpiexec())]
    assert name in notes[0] and all(name in r.reference for r in rows[:-1]), (notes, rows)


# the nccl backend's calls, against a fake libnccl (two ranks as two threads) -----------------

def _fake_nccl_ranks(monkeypatch, tmp_path, body, size: int = 2):
    """Run ``body(rank, group, fake)`` on ``size`` threads, each with an ``NCCLGroup`` made by
    ``nccl.world`` (file:// rendezvous) over the fake library; re-raise the first failure."""
    import threading
    from fake_nccl import FakeNCCL
    fake = FakeNCCL(size)
    monkeypatch.setattr(nccl, "library", lambda: fake)
    monkeypatch.setattr(nccl, "_require_gpu", lambda index: None)
    monkeypatch.setattr(nccl, "completion_probe", lambda: (lambda: True))
    errors = []

    def run_rank(rank: int) -> None:
        try:
            group = nccl.world(rank, size, f"file://{tmp_path}/nccl-id", 20.0)
            body(rank, group, fake)
            group.shutdown(broken=False)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
            fake.fabric.barrier.abort()
    threads = [threading.Thread(target=run_rank, args=(r,), name=f"rank{r}") for r in range(size)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if errors:
        raise errors[0]
    assert not fake.errors, fake.errors
    return fake


def _done(launched) -> list:
    test, finish = launched
    assert test()
    return finish() if finish is not None else []


def test_nccl_backend_calls_on_a_fake_library(monkeypatch, tmp_path):
    seen = {}

    def body(rank: int, group, fake) -> None:
        t = framework.tensor([1.0, 2.0, 3.0]) * (rank + 1)
        _done(group.all_reduce(t, dist.ReduceOp.SUM))
        assert t.tolist() == [3.0, 6.0, 9.0]
        t = framework.tensor([2.0, 4.0]) * (rank + 1)
        _done(group.all_reduce(t, dist.ReduceOp.AVG))
        assert t.tolist() == [3.0, 6.0]
        b = framework.full((4,), float(rank), dtype=framework.int64)
        _done(group.broadcast(b, 1))
        assert b.tolist() == [1, 1, 1, 1]
        r = framework.full((2,), float(rank + 1))
        _done(group.reduce(r, 0, dist.ReduceOp.MAX))
        assert r.tolist() == ([2.0, 2.0] if rank == 0 else [2.0, 2.0])
        outs = [framework.zeros(3) for _ in range(2)]
        _done(group.all_gather(outs, framework.full((3,), 10.0 + rank)))
        assert [o.tolist() for o in outs] == [[10.0] * 3, [11.0] * 3]
        flat = framework.zeros(6)
        _done(group.all_gather_into_tensor(flat, framework.full((3,), 10.0 + rank)))
        assert flat.tolist() == [10.0] * 3 + [11.0] * 3
        out = framework.zeros(2)
        inputs = [framework.full((2,), 1.0 + rank), framework.full((2,), 5.0 + rank)]
        _done(group.reduce_scatter(out, inputs, dist.ReduceOp.SUM))
        assert out.tolist() == ([3.0, 3.0] if rank == 0 else [11.0, 11.0])
        got = [framework.zeros(2) for _ in range(2)] if rank == 1 else None
        result = _done(group.gather(framework.full((2,), 7.0 + rank), got, 1))
        if rank == 1:
            assert [g.tolist() for g in result] == [[7.0, 7.0], [8.0, 8.0]]
        mine = framework.zeros(2)
        pieces = [framework.full((2,), 20.0), framework.full((2,), 21.0)] if rank == 0 else None
        _done(group.scatter(mine, pieces, 0))
        assert mine.tolist() == [20.0 + rank] * 2
        box = framework.full((3,), float(rank))
        if rank == 0:
            _done(group.send(box, 1, 0))
        else:
            assert _done(group.recv(box, 0, 0)) == [0]
            assert box.tolist() == [0.0, 0.0, 0.0]
        with pytest.raises(ValueError, match="any source"):
            group.recv(box, None, 0)
        sub = group.split([1])
        assert (sub is None) == (rank == 0)
        if sub is not None:
            assert (sub.rank, sub.size) == (0, 1)
            sub.shutdown(broken=False)
        seen[rank] = True

    fake = _fake_nccl_ranks(monkeypatch, tmp_path, body)
    assert seen == {0: True, 1: True}
    names = {name for _, name in fake.calls}
    assert {"ncclCommInitRank", "ncclAllReduce", "ncclBroadcast", "ncclReduce", "ncclAllGather",
            "ncclReduceScatter", "ncclSend", "ncclRecv", "ncclGroupStart", "ncclGroupEnd",
            "ncclCommSplit", "ncclCommDestroy", "ncclCommGetAsyncError"} <= names
    assert ("rank0", "ncclGetUniqueId") in fake.calls and ("rank1", "ncclGetUniqueId") not in fake.calls
    assert (tmp_path / "nccl-id").stat().st_size == 128  # the file:// rendezvous


def test_nccl_async_error_and_abort_on_a_fake_library(monkeypatch, tmp_path):
    def body(rank: int, group, fake) -> None:
        monkeypatch.setattr(fake, "ncclCommGetAsyncError", _failing_async_error(fake))
        test, _ = group.all_reduce(framework.ones(2), dist.ReduceOp.SUM)
        with pytest.raises(dist.DistBackendError, match="NCCL error in an asynchronous NCCL operation"):
            test()
    fake = _fake_nccl_ranks(monkeypatch, tmp_path, body)
    assert ("rank0", "ncclCommDestroy") in fake.calls


def _failing_async_error(fake):
    def report(comm, error):
        error._obj.value = 6  # ncclRemoteError
        return 0
    return report


def test_nccl_one_rank_group_through_the_public_api_on_a_fake_library(monkeypatch, tmp_path):
    """The GPU check's script, with the fake libnccl and cuda tensors of the Triton interpreter
    (host memory): every public call reaches the right NCCL function with the right buffers."""
    from fake_nccl import FakeNCCL
    from nccl_checks import one_rank_checks
    if not framework.cuda.is_interpreter():
        pytest.skip("the fake library reads cuda tensors as host memory (Triton interpreter)")
    fake = FakeNCCL(1)
    monkeypatch.setattr(nccl, "library", lambda: fake)
    monkeypatch.setattr(nccl, "_require_gpu", lambda index: None)
    monkeypatch.setattr(nccl, "completion_probe", lambda: (lambda: True))
    assert one_rank_checks(str(tmp_path)) == "nccl ok"
    assert not dist.is_initialized()
    assert not fake.errors, fake.errors
    assert fake.comms == {}  # every communicator (world, subgroup) destroyed
