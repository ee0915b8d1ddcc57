"""``framework run --nproc N script.py args``: start N ranks of a script through ``mpiexec``.

MPI's process manager (Hydra for MPICH, e.g. from the ``mpich`` wheel; ``mpiexec``/``prterun``
for Open MPI) starts the processes, wires them together for the ``mpi`` backend and stops every
rank when one dies of a signal; a rank that raises (or whose collective times out) calls
``MPI_Abort`` at exit, which stops the others too. Each rank gets PyTorch's ``env://``
variables: ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``,
``MASTER_PORT``.

The two families take different options, so the launcher asks the ``mpiexec`` it uses which
one it is (``mpiexec --version``, once per path):

- MPICH (Hydra; also Intel MPI and MVAPICH): ``-genv NAME VALUE`` for every rank, one
  ``-n 1 -env RANK r ...`` segment per rank (``:``-separated);
- Open MPI: ``-x NAME=VALUE``; one app context of N ranks, as a plain ``mpiexec -n N`` (not
  every Open MPI/PRRTE release gave each ``:`` context its own ``-x`` values): each rank's
  ``RANK``/``LOCAL_RANK`` come from Open MPI's own ``OMPI_COMM_WORLD_RANK``/
  ``OMPI_COMM_WORLD_LOCAL_RANK`` through ``/bin/sh``, which then ``exec``s the program (same
  process, so signals and exit status are the program's). Every Open MPI job also gets
  ``--oversubscribe`` (Open MPI otherwise refuses more ranks than the cores it counts, which
  in a container can be fewer than ``os.cpu_count()``), ``--bind-to none`` (as Hydra: no
  pinning of a rank and its threads to one core) and, as root, ``--allow-run-as-root``.
"""
from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys

MPICH = "mpich"
OPENMPI = "openmpi"

# Open MPI: each rank's RANK/LOCAL_RANK from Open MPI's variables, then the program itself.
_OPENMPI_RANK_SHELL = ('export RANK="${OMPI_COMM_WORLD_RANK:?not started by Open MPI}" '
                       'LOCAL_RANK="${OMPI_COMM_WORLD_LOCAL_RANK:?not started by Open MPI}"; '
                       'exec "$@"')


def find_mpiexec() -> str:
    """``mpiexec`` next to this Python (the mpich wheel puts it there), else on ``PATH``."""
    local = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.path.exists(local):
        return local
    found = shutil.which("mpiexec")
    if found is None:
        raise RuntimeError("framework run needs mpiexec: pip install 'framework[distributed]' "
                           "(the mpich wheel provides it) or load your cluster's MPI module")
    return found


def implementation_from_version(text: str) -> str:
    """``"openmpi"`` or ``"mpich"`` from the output of ``mpiexec --version``.

    Open MPI says ``mpiexec (Open MPI) 5.0.x`` (``(OpenRTE)`` before 5); Hydra, the launcher
    of MPICH, Intel MPI and MVAPICH, says ``HYDRA build details`` or ``Intel(R) MPI``. Anything
    else is taken for Hydra, the launcher this module used before it knew of Open MPI.
    """
    if any(name in text for name in ("Open MPI", "OpenRTE", "Open RTE", "PMIx Reference RunTime")):
        return OPENMPI
    return MPICH


@functools.lru_cache(maxsize=None)
def implementation(mpiexec: str) -> str:
    """Which family ``mpiexec`` belongs to (``"openmpi"`` or ``"mpich"``); cached per path."""
    try:
        done = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"cannot run {mpiexec} --version: {exc}") from None
    return implementation_from_version(done.stdout + done.stderr)


def job_options(kind: str, as_root: bool | None = None) -> list:
    """The options every job of this ``mpiexec`` family needs (none for MPICH)."""
    if kind != OPENMPI:
        return []
    if as_root is None:
        as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    return ["--oversubscribe", "--bind-to", "none"] + (["--allow-run-as-root"] if as_root else [])


def plain_command(nproc: int, program: list, mpiexec: str | None = None,
                  kind: str | None = None) -> list:
    """``mpiexec -n N program`` with the options this ``mpiexec`` needs, no variables set: what
    a user types by hand (the tests and the benchmark start their jobs this way)."""
    mpiexec = mpiexec or find_mpiexec()
    kind = kind or implementation(mpiexec)
    return [mpiexec, *job_options(kind), "-n", str(nproc), *program]


def free_port() -> int:
    """A TCP port free on this host now (for ``MASTER_PORT``)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(nproc: int, program: list, mpiexec: str | None = None,
            master_port: int | None = None, kind: str | None = None) -> list:
    """The ``mpiexec`` command line that starts ``program`` on ``nproc`` ranks, each with its
    ``env://`` variables; ``kind`` (``"mpich"``/``"openmpi"``) defaults to ``mpiexec``'s."""
    if nproc < 1:
        raise ValueError(f"--nproc must be at least 1, got {nproc}")
    mpiexec = mpiexec or find_mpiexec()
    kind = kind or implementation(mpiexec)
    shared = {"WORLD_SIZE": nproc, "LOCAL_WORLD_SIZE": nproc, "MASTER_ADDR": "127.0.0.1",
              "MASTER_PORT": master_port or free_port()}
    if kind == OPENMPI:
        return _openmpi_command(nproc, program, mpiexec, shared)
    return _mpich_command(nproc, program, mpiexec, shared)


def _mpich_command(nproc: int, program: list, mpiexec: str, shared: dict) -> list:
    """Hydra: ``-genv`` for all, then one ``-n 1 -env RANK r ...`` segment per rank."""
    line = [mpiexec]
    for name, value in shared.items():
        line += ["-genv", name, str(value)]
    for rank in range(nproc):
        if rank:
            line.append(":")
        line += ["-n", "1", "-env", "RANK", str(rank), "-env", "LOCAL_RANK", str(rank)]
        line += program
    return line


def _openmpi_command(nproc: int, program: list, mpiexec: str, shared: dict) -> list:
    """Open MPI: ``-x`` for all, one app context of ``nproc`` ranks, per-rank variables set by
    ``/bin/sh`` from Open MPI's before it ``exec``s the program."""
    line = [mpiexec, *job_options(OPENMPI), "-n", str(nproc)]
    for name, value in shared.items():
        line += ["-x", f"{name}={value}"]
    return line + ["/bin/sh", "-c", _OPENMPI_RANK_SHELL, "sh", *program]


def launch(nproc: int, script: str, args: list, module: bool = False,
           mpiexec: str | None = None) -> int:
    """Run ``script`` (or ``-m module``) on ``nproc`` ranks; returns the job's exit status."""
    if mpiexec is not None and shutil.which(mpiexec) is None:
        raise RuntimeError(f"mpiexec not found: {mpiexec}")
    program = [sys.executable, "-u"] + (["-m", script] if module else [script]) + list(args)
    line = command(nproc, program, mpiexec)
    status = subprocess.call(line)
    if status != 0:
        sys.stderr.write(f"framework run: a rank failed (exit status {status}); the job was "
                         "stopped on every rank (see the messages above)\n")
    return status
