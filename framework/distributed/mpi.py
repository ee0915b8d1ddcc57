"""The ``mpi`` backend: cpu tensors through mpi4py's nonblocking collectives.

Each collective starts one nonblocking MPI call (``Iallreduce``, ``Ibcast``, ...) on the NumPy
view of the tensor's memory and returns ``(test, finish)`` for ``c10d.Work``: ``test`` drives
MPI's progress engine (MPICH advances nonblocking operations inside MPI calls), ``finish`` copies
out of staging buffers. Reductions of float16/bfloat16 are staged through float32 (MPI has no
such types); moves of any dtype go as bytes. Errors come back as exceptions
(``MPI.ERRORS_RETURN``) and turn into ``DistBackendError``.

At exit, a process that dies of an uncaught exception (or whose collective timed out) calls
``MPI_Abort``: the launcher then stops every other rank instead of leaving them waiting.
"""
from __future__ import annotations

import atexit
import sys
import time

import numpy as np

from .c10d import DistBackendError, ReduceOp

_INSTALL_HINT = ("the 'mpi' backend needs mpi4py and an MPI library: "
                 "pip install 'framework[distributed]' (mpi4py and the mpich wheel)")
_EXIT_GUARD: dict = {"installed": False, "groups": []}
# MPI_Abort reaches mpiexec on its own socket, ahead of the stdio the launcher still has to
# forward: wait this long first, or the failing rank's traceback can be cut off mid-line.
_ABORT_GRACE_S = 0.5


def load():
    """The ``mpi4py.MPI`` module (initializes MPI on first import), or a clear error."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise RuntimeError(f"{_INSTALL_HINT} ({exc})") from None
    return MPI


def world(rank: int, world_size: int, timeout: float) -> "MPIGroup":
    """The default group: a duplicate of ``MPI_COMM_WORLD``, checked against rank/world_size."""
    MPI = load()
    comm = MPI.COMM_WORLD
    size, me = comm.Get_size(), comm.Get_rank()
    if world_size not in (-1, size):
        raise ValueError(f"init_process_group: world_size is {world_size} but MPI started {size} "
                         f"process(es); launch with `framework run --nproc {world_size} script.py` "
                         f"or `mpiexec -n {world_size} python script.py`")
    if rank not in (-1, me):
        raise ValueError(f"init_process_group: rank is {rank} but MPI says this process is rank "
                         f"{me}; with the mpi backend MPI assigns the ranks")
    dup, request = comm.Idup()
    _wait(request, timeout, "init_process_group (MPI_Comm_idup)")
    dup.Set_errhandler(MPI.ERRORS_RETURN)
    group = MPIGroup(MPI, dup)
    _guard_exit(MPI, group)
    return group


def _wait(request, timeout: float, what: str) -> None:
    start = time.monotonic()
    while not request.Test():
        if time.monotonic() - start > timeout:
            raise DistBackendError(f"{what} timed out after {timeout:g} s: not every rank called it")
        time.sleep(1e-4)


def _guard_exit(MPI, group: "MPIGroup | None") -> None:
    """At exit after an uncaught exception or a failed collective: ``MPI_Abort`` the job."""
    if group is not None:
        _EXIT_GUARD["groups"].append(group)
    if _EXIT_GUARD["installed"]:
        return
    _EXIT_GUARD["installed"] = True

    def abort_if_failed() -> None:
        failed = getattr(sys, "last_value", None) is not None and not isinstance(
            sys.last_value, (KeyboardInterrupt, SystemExit))
        broken = any(g.broken for g in _EXIT_GUARD["groups"])
        if (failed or broken) and MPI.COMM_WORLD.Get_size() > 1 and not MPI.Is_finalized():
            sys.stderr.write(f"framework.distributed: rank {MPI.COMM_WORLD.Get_rank()} failed; "
                             "aborting the other ranks (MPI_Abort)\n")
            sys.stdout.flush()
            sys.stderr.flush()
            time.sleep(_ABORT_GRACE_S)
            MPI.COMM_WORLD.Abort(1)

    atexit.register(abort_if_failed)


class MPIGroup:
    """One MPI communicator; ranks are the communicator's (the group's) ranks."""

    def __init__(self, MPI, comm) -> None:
        self.MPI = MPI
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.broken = False
        self._ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                     ReduceOp.MAX: MPI.MAX, ReduceOp.MIN: MPI.MIN}
        self._bool_ops = {ReduceOp.SUM: MPI.LOR, ReduceOp.AVG: MPI.LOR, ReduceOp.PRODUCT: MPI.LAND,
                          ReduceOp.MAX: MPI.LOR, ReduceOp.MIN: MPI.LAND}

    # each method returns (test, finish) ---------------------------------------------------
    def all_reduce(self, tensor, op: ReduceOp):
        array = _array(tensor)
        work = _staged(array)
        request = self._call(self.comm.Iallreduce, self.MPI.IN_PLACE, work, self._mpi_op(op, array))
        return self._pending([request], lambda: self._reduced(work, array, op) or [tensor])

    def broadcast(self, tensor, root: int):
        request = self._call(self.comm.Ibcast, _bytes(_array(tensor)), root)
        return self._pending([request], lambda: [tensor])

    def reduce(self, tensor, root: int, op: ReduceOp):
        array = _array(tensor)
        work = _staged(array)
        mpi_op = self._mpi_op(op, array)
        if self.rank == root:
            request = self._call(self.comm.Ireduce, self.MPI.IN_PLACE, work, mpi_op, root)
            return self._pending([request], lambda: self._reduced(work, array, op) or [tensor])
        request = self._call(self.comm.Ireduce, work, None, mpi_op, root)
        return self._pending([request], lambda: [tensor])

    def all_gather(self, outputs: list, tensor):
        array = _array(tensor)
        received = np.empty(self.size * array.nbytes, np.uint8)
        request = self._call(self.comm.Iallgather, _bytes(array), received)

        def finish() -> list:
            for index, out in enumerate(outputs):
                _bytes(_array(out))[...] = received[index * array.nbytes:(index + 1) * array.nbytes]
            return outputs
        return self._pending([request], finish)

    def all_gather_into_tensor(self, output, tensor):
        request = self._call(self.comm.Iallgather, _bytes(_array(tensor)), _bytes(_array(output)))
        return self._pending([request], lambda: [output])

    def reduce_scatter(self, output, inputs: list, op: ReduceOp):
        out = _array(output)
        sent = np.concatenate([_staged(_array(t)).reshape(-1) for t in inputs])
        return self._reduce_scatter(output, out, sent, op)

    def reduce_scatter_tensor(self, output, tensor, op: ReduceOp):
        out = _array(output)
        return self._reduce_scatter(output, out, _staged(_array(tensor)).reshape(-1), op)

    def _reduce_scatter(self, output, out: np.ndarray, sent: np.ndarray, op: ReduceOp):
        work = _staged(out)
        request = self._call(self.comm.Ireduce_scatter_block, sent, work, self._mpi_op(op, out))
        return self._pending([request], lambda: self._reduced(work, out, op) or [output])

    def gather(self, tensor, outputs: list | None, root: int):
        array = _array(tensor)
        received = np.empty(self.size * array.nbytes, np.uint8) if self.rank == root else None
        request = self._call(self.comm.Igather, _bytes(array), received, root)

        def finish() -> list:
            for index, out in enumerate(outputs or []):
                _bytes(_array(out))[...] = received[index * array.nbytes:(index + 1) * array.nbytes]
            return list(outputs or [])
        return self._pending([request], finish)

    def scatter(self, tensor, inputs: list | None, root: int):
        array = _array(tensor)
        sent = None
        if self.rank == root:
            sent = np.concatenate([_bytes(_array(t)) for t in inputs]) if inputs else np.empty(0, np.uint8)
        request = self._call(self.comm.Iscatter, sent, _bytes(array), root)
        return self._pending([request], lambda: [tensor])

    def send(self, tensor, peer: int, tag: int):
        request = self._call(self.comm.Isend, _bytes(_array(tensor)), peer, tag)
        return self._pending([request], lambda: [peer])

    def recv(self, tensor, peer: int | None, tag: int):
        source = self.MPI.ANY_SOURCE if peer is None else peer
        request = self._call(self.comm.Irecv, _bytes(_array(tensor)), source, tag)
        status = self.MPI.Status()
        return self._pending([request], lambda: [status.Get_source()], status)

    def barrier(self):
        return self._pending([self._call(self.comm.Ibarrier)], None)

    # groups ---------------------------------------------------------------------------------
    def split(self, ranks: list) -> "MPIGroup | None":
        """The sub-communicator of ``ranks`` (called by every rank; None on non-members)."""
        member = self.rank in ranks
        color = 0 if member else self.MPI.UNDEFINED
        sub = self._call(self.comm.Split, color, ranks.index(self.rank) if member else 0)
        if not member:
            return None
        sub.Set_errhandler(self.MPI.ERRORS_RETURN)
        return MPIGroup(self.MPI, sub)

    def shutdown(self, broken: bool) -> None:
        self.broken = self.broken or broken
        if not self.broken and self.comm != self.MPI.COMM_NULL:
            self.comm.Free()

    # plumbing -------------------------------------------------------------------------------
    def _mpi_op(self, op: ReduceOp, array: np.ndarray):
        return (self._bool_ops if array.dtype == np.bool_ else self._ops)[op]

    def _reduced(self, work: np.ndarray, array: np.ndarray, op: ReduceOp) -> None:
        """After a reduction: AVG's division, and the copy back from a float32 stage."""
        if op is ReduceOp.AVG and array.dtype != np.bool_:
            if np.issubdtype(work.dtype, np.integer):
                np.floor_divide(work, self.size, out=work)
            else:
                np.divide(work, self.size, out=work)
        if work is not array:
            array[...] = work.astype(array.dtype)

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except self.MPI.Exception as exc:
            self.broken = True
            raise DistBackendError(f"MPI error in {fn.__name__}: {exc.Get_error_string()}") from None

    def _pending(self, requests: list, finish, status=None):
        MPI = self.MPI

        def test() -> bool:
            try:
                if status is not None:
                    return requests[0].Test(status)
                return MPI.Request.Testall(requests)
            except MPI.Exception as exc:
                self.broken = True
                raise DistBackendError(f"MPI error: {exc.Get_error_string()}") from None
        return test, finish


def _array(tensor) -> np.ndarray:
    """The NumPy view of a contiguous cpu tensor (writes go to the tensor)."""
    return tensor.detach().numpy()


def _bytes(array: np.ndarray) -> np.ndarray:
    """The bytes of a contiguous array, as a flat uint8 view."""
    return array.reshape(-1).view(np.uint8)


def _staged(array: np.ndarray) -> np.ndarray:
    """``array`` itself, or a float32 copy for the 16-bit floats MPI cannot reduce."""
    if array.dtype.kind == "f" and array.dtype.itemsize == 2 or array.dtype.kind == "V" or \
            str(array.dtype) == "bfloat16":
        return array.astype(np.float32)
    return array
