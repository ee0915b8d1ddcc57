"""``framework run --nproc N script.py args``: start N ranks of a script through ``mpiexec``.

MPI's process manager (Hydra, from the ``mpich`` wheel) starts the processes, wires them
together for the ``mpi`` backend and stops every rank when one dies of a signal; a rank that
raises (or whose collective times out) calls ``MPI_Abort`` at exit, which stops the others too.
Each rank gets PyTorch's ``env://`` variables: ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys


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


def free_port() -> int:
    """A TCP port free on this host now (for ``MASTER_PORT``)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command(nproc: int, program: list, mpiexec: str | None = None,
            master_port: int | None = None) -> list:
    """The ``mpiexec`` command line: one segment per rank, each with its ``RANK``/``LOCAL_RANK``."""
    if nproc < 1:
        raise ValueError(f"--nproc must be at least 1, got {nproc}")
    line = [mpiexec or find_mpiexec()]
    shared = {"WORLD_SIZE": nproc, "LOCAL_WORLD_SIZE": nproc, "MASTER_ADDR": "127.0.0.1",
              "MASTER_PORT": master_port or free_port()}
    for name, value in shared.items():
        line += ["-genv", name, str(value)]
    for rank in range(nproc):
        if rank:
            line.append(":")
        line += ["-n", "1", "-env", "RANK", str(rank), "-env", "LOCAL_RANK", str(rank)]
        line += program
    return line


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
