"""The ``nccl`` backend: cuda tensors through NVIDIA's NCCL, called with ctypes on device pointers.

Why ctypes over ``libnccl.so.2`` rather than the ``nccl4py`` bindings: the backend needs 16 C
functions with stable signatures (NCCL's API has kept them since 2.x), ctypes needs no build step
and no extra package, and the library itself comes from the ``nvidia-nccl-cu12``/``-cu13`` wheels
that a CUDA PyTorch install already carries. The library is loaded on first use only
(``library()``, a documented cache), so ``import framework.distributed`` never touches it.

Every operation is enqueued on the CUDA default stream, the one the framework's Triton kernels
run on, so it is ordered after the kernels that produced its inputs, and reads and writes the
tensors' device memory directly (``Tensor.data_ptr()``): no host copies. Completion is an event
recorded after the operation; ``c10d.Work.wait`` polls it (and NCCL's asynchronous error state)
until the group's timeout, then aborts the communicator.

Rendezvous (the 128-byte ``ncclUniqueId`` made by rank 0): through ``MPI_Bcast`` when the ranks
were started by ``mpiexec``/``framework run`` (NCCL's own examples bootstrap this way), or
through the shared file of ``init_method="file:///path"``; a one-rank group needs none.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import glob
import os
import sys
import time

from .c10d import DistBackendError, ReduceOp

LIBRARY_ENV = "FRAMEWORK_NCCL_LIBRARY"  # an explicit path to libnccl.so.2
_INSTALL_HINT = ("the 'nccl' backend needs NVIDIA's NCCL library: pip install nvidia-nccl-cu12 "
                 "(CUDA 12) or nvidia-nccl-cu13 (CUDA 13), or set FRAMEWORK_NCCL_LIBRARY to "
                 "libnccl.so.2")
_SUCCESS, _IN_PROGRESS = 0, 7
_LAUNCHER_RANK_VARIABLES = frozenset({"PMI_RANK", "OMPI_COMM_WORLD_RANK"})  # set by mpiexec
_OPS = {ReduceOp.SUM: 0, ReduceOp.PRODUCT: 1, ReduceOp.MAX: 2, ReduceOp.MIN: 3, ReduceOp.AVG: 4}
_DTYPES = {"int8": 0, "uint8": 1, "bool": 1, "int32": 2, "int64": 4, "float16": 6,
           "float32": 7, "float64": 8, "bfloat16": 9}


class UniqueId(ctypes.Structure):
    """``ncclUniqueId``: 128 opaque bytes that rank 0 makes and every rank passes to init."""

    _fields_ = [("internal", ctypes.c_char * 128)]


_VOID_P, _INT, _SIZE = ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t
_SIGNATURES = {  # name: (argument types); every function returns ncclResult_t (int)
    "ncclGetVersion": [ctypes.POINTER(_INT)],
    "ncclGetUniqueId": [ctypes.POINTER(UniqueId)],
    "ncclCommInitRank": [ctypes.POINTER(_VOID_P), _INT, UniqueId, _INT],
    "ncclCommSplit": [_VOID_P, _INT, _INT, ctypes.POINTER(_VOID_P), _VOID_P],
    "ncclCommDestroy": [_VOID_P],
    "ncclCommAbort": [_VOID_P],
    "ncclCommGetAsyncError": [_VOID_P, ctypes.POINTER(_INT)],
    "ncclAllReduce": [_VOID_P, _VOID_P, _SIZE, _INT, _INT, _VOID_P, _VOID_P],
    "ncclBroadcast": [_VOID_P, _VOID_P, _SIZE, _INT, _INT, _VOID_P, _VOID_P],
    "ncclReduce": [_VOID_P, _VOID_P, _SIZE, _INT, _INT, _INT, _VOID_P, _VOID_P],
    "ncclAllGather": [_VOID_P, _VOID_P, _SIZE, _INT, _VOID_P, _VOID_P],
    "ncclReduceScatter": [_VOID_P, _VOID_P, _SIZE, _INT, _INT, _VOID_P, _VOID_P],
    "ncclSend": [_VOID_P, _SIZE, _INT, _INT, _VOID_P, _VOID_P],
    "ncclRecv": [_VOID_P, _SIZE, _INT, _INT, _VOID_P, _VOID_P],
    "ncclGroupStart": [],
    "ncclGroupEnd": [],
}


def candidate_paths() -> list:
    """Where ``libnccl.so.2`` is looked for, in order: $FRAMEWORK_NCCL_LIBRARY, the nvidia wheels
    on ``sys.path`` (``nvidia/nccl/lib``, ``nvidia/cu13/lib``), then the system loader's."""
    explicit = os.environ.get(LIBRARY_ENV)
    if explicit:
        return [explicit]
    paths = []
    for entry in sys.path:
        for pattern in ("nvidia/nccl/lib/libnccl.so*", "nvidia/cu1*/lib/libnccl.so*"):
            paths += sorted(glob.glob(os.path.join(entry or ".", pattern)))
    system = ctypes.util.find_library("nccl")
    return paths + [system or "libnccl.so.2"]


@functools.lru_cache(maxsize=None)
def library() -> ctypes.CDLL:
    """libnccl, loaded once with its function signatures declared; a clear error when missing."""
    errors = []
    for path in candidate_paths():
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            errors.append(f"{path}: {exc}")
            continue
        for name, argtypes in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = argtypes, _INT
        lib.ncclGetErrorString.argtypes, lib.ncclGetErrorString.restype = [_INT], ctypes.c_char_p
        return lib
    raise RuntimeError(f"{_INSTALL_HINT}; tried {'; '.join(errors)}")


def version() -> tuple:
    """NCCL's version as ``(major, minor, patch)``."""
    code = _INT()
    _check(library(), library().ncclGetVersion(ctypes.byref(code)), "ncclGetVersion")
    value = code.value
    return (value // 10000, value // 100 % 100, value % 100) if value >= 10000 else \
        (value // 1000, value // 100 % 10, value % 100)


def _check(lib, result: int, what: str) -> None:
    if result not in (_SUCCESS, _IN_PROGRESS):
        message = lib.ncclGetErrorString(result).decode()
        raise DistBackendError(f"NCCL error in {what}: {message} (ncclResult_t {result})")


def dtype_code(dtype) -> int:
    """NCCL's ``ncclDataType_t`` for a framework dtype (bool travels as uint8)."""
    name = str(dtype).replace("framework.", "")
    if name not in _DTYPES:
        raise TypeError(f"the nccl backend cannot communicate {dtype} tensors")
    return _DTYPES[name]


def _require_gpu(index: int) -> None:
    from .._backends.triton import runtime
    mode = runtime.mode()
    if mode != "gpu":
        why = ("cuda tensors run on the Triton interpreter here (host memory)" if mode ==
               "interpreter" else "no NVIDIA GPU or driver was found")
        raise RuntimeError(f"the 'nccl' backend needs an NVIDIA GPU: {why}; use backend='mpi' "
                           "for cpu tensors")
    runtime.require(index)


def world(rank: int, world_size: int, method: str, timeout: float, device_id=None) -> "NCCLGroup":
    """The default group: one NCCL communicator over ``world_size`` ranks."""
    lib = library()
    rank, world_size = _launcher_rank_and_size(rank, world_size)
    from .. import cuda
    index = device_id.index if device_id is not None and getattr(device_id, "index", None) is not None \
        else _local_rank() % max(cuda.device_count(), 1)
    _require_gpu(index)
    uid = _unique_id(lib, rank, world_size, method, timeout)
    comm = _VOID_P()
    _check(lib, lib.ncclCommInitRank(ctypes.byref(comm), world_size, uid, rank), "ncclCommInitRank")
    group = NCCLGroup(lib, comm, rank, world_size, index)
    _guard_exit_under_mpiexec(group)
    return group


def _guard_exit_under_mpiexec(group: "NCCLGroup") -> None:
    """Started by mpiexec (Hydra sets ``PMI_RANK``, Open MPI ``OMPI_COMM_WORLD_RANK``): abort
    the whole job if this rank fails."""
    if "mpi4py.MPI" not in sys.modules and not _LAUNCHER_RANK_VARIABLES & set(os.environ):
        return
    from . import mpi
    try:
        MPI = mpi.load()
    except RuntimeError:  # no mpi4py: mpiexec still stops the job when a rank is killed
        return
    mpi._guard_exit(MPI, group)


def _local_rank() -> int:
    """This process's index on its machine: ``LOCAL_RANK`` (framework run, torchrun), else
    MPICH's ``MPI_LOCALRANKID``, Open MPI's or Slurm's; the GPU it uses by default."""
    for name in ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"):
        if name in os.environ:
            return int(os.environ[name])
    return 0


def _launcher_rank_and_size(rank: int, world_size: int) -> tuple:
    if world_size == -1:
        world_size = int(os.environ.get("PMI_SIZE", os.environ.get("OMPI_COMM_WORLD_SIZE", 1)))
    if rank == -1:
        rank = int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", 0)))
    if not 0 <= rank < world_size:
        raise ValueError(f"init_process_group: rank {rank} is outside [0, {world_size})")
    return rank, world_size


def _unique_id(lib, rank: int, world_size: int, method: str, timeout: float) -> UniqueId:
    """Rank 0's ``ncclUniqueId``, shared with the others through MPI or the init file."""
    uid = UniqueId()
    if rank == 0:
        _check(lib, lib.ncclGetUniqueId(ctypes.byref(uid)), "ncclGetUniqueId")
    if world_size == 1:
        return uid
    if method.startswith("file://"):
        data = _share_by_file(method[len("file://"):], bytes(uid), rank, timeout)
    else:
        data = _share_by_mpi(bytes(uid), rank, world_size)
    ctypes.memmove(ctypes.byref(uid), data, 128)
    return uid


def _share_by_file(path: str, data: bytes, rank: int, timeout: float) -> bytes:
    if rank == 0:
        with open(path + ".tmp", "wb") as handle:
            handle.write(data)
        os.replace(path + ".tmp", path)
        return data
    start = time.monotonic()
    while True:
        try:
            with open(path, "rb") as handle:
                found = handle.read()
            if len(found) == 128:
                return found
        except FileNotFoundError:
            pass
        if time.monotonic() - start > timeout:
            raise DistBackendError(f"init_process_group: rank 0 did not write {path} within "
                                   f"{timeout:g} s")
        time.sleep(0.01)


def _share_by_mpi(data: bytes, rank: int, world_size: int) -> bytes:
    from . import mpi
    try:
        MPI = mpi.load()
    except RuntimeError:
        raise RuntimeError("init_process_group('nccl') with several ranks and env:// shares "
                           "NCCL's id through MPI: launch with `framework run` or mpiexec and "
                           "install mpi4py, or use init_method='file:///shared/path'") from None
    if MPI.COMM_WORLD.Get_size() != world_size:
        raise ValueError(f"init_process_group: world_size {world_size} but MPI started "
                         f"{MPI.COMM_WORLD.Get_size()} process(es)")
    return MPI.COMM_WORLD.bcast(data if rank == 0 else None, root=0)


class NCCLGroup:
    """One NCCL communicator on one GPU; ranks are the communicator's (the group's) ranks."""

    def __init__(self, lib, comm, rank: int, size: int, device_index: int) -> None:
        self.lib = lib
        self.comm = comm
        self.rank = rank
        self.size = size
        self.device_index = device_index
        self.broken = False
        self.stream = None  # the default stream, shared with the Triton kernels

    def all_reduce(self, tensor, op: ReduceOp):
        self._call("ncclAllReduce", tensor.data_ptr(), tensor.data_ptr(), tensor.numel(),
                   dtype_code(tensor.dtype), _OPS[op], self.comm, self.stream)
        return self._pending(lambda: [tensor])

    def broadcast(self, tensor, root: int):
        self._call("ncclBroadcast", tensor.data_ptr(), tensor.data_ptr(), tensor.numel(),
                   dtype_code(tensor.dtype), root, self.comm, self.stream)
        return self._pending(lambda: [tensor])

    def reduce(self, tensor, root: int, op: ReduceOp):
        self._call("ncclReduce", tensor.data_ptr(), tensor.data_ptr(), tensor.numel(),
                   dtype_code(tensor.dtype), _OPS[op], root, self.comm, self.stream)
        return self._pending(lambda: [tensor])

    def all_gather_into_tensor(self, output, tensor):
        self._call("ncclAllGather", tensor.data_ptr(), output.data_ptr(), tensor.numel(),
                   dtype_code(tensor.dtype), self.comm, self.stream)
        return self._pending(lambda: [output])

    def all_gather(self, outputs: list, tensor):
        from ..ops.creation import empty
        flat = empty((self.size * tensor.numel(),), dtype=tensor.dtype, device=tensor.device)
        self.all_gather_into_tensor(flat, tensor)
        for index, out in enumerate(outputs):  # device-to-device copies, same stream
            out.detach().copy_(flat[index * tensor.numel():(index + 1) * tensor.numel()].view(out.shape))
        return self._pending(lambda: outputs)

    def reduce_scatter_tensor(self, output, tensor, op: ReduceOp):
        self._call("ncclReduceScatter", tensor.data_ptr(), output.data_ptr(), output.numel(),
                   dtype_code(output.dtype), _OPS[op], self.comm, self.stream)
        return self._pending(lambda: [output])

    def reduce_scatter(self, output, inputs: list, op: ReduceOp):
        from ..ops.shape import cat
        flat = cat([t.detach().reshape(-1) for t in inputs])
        return self.reduce_scatter_tensor(output, flat, op)

    def gather(self, tensor, outputs: list | None, root: int):
        self._grouped([("ncclRecv", outputs[r], r) for r in range(self.size) if r != root]
                      if self.rank == root else [("ncclSend", tensor, root)])
        if self.rank == root:
            outputs[root].detach().copy_(tensor.detach())
        return self._pending(lambda: list(outputs or []))

    def scatter(self, tensor, inputs: list | None, root: int):
        self._grouped([("ncclSend", inputs[r], r) for r in range(self.size) if r != root]
                      if self.rank == root else [("ncclRecv", tensor, root)])
        if self.rank == root:
            tensor.detach().copy_(inputs[root].detach())
        return self._pending(lambda: [tensor])

    def send(self, tensor, peer: int, tag: int):
        self._grouped([("ncclSend", tensor, peer)])
        return self._pending(lambda: [peer])

    def recv(self, tensor, peer: int | None, tag: int):
        if peer is None:
            raise ValueError("the nccl backend cannot receive from any source: name src")
        self._grouped([("ncclRecv", tensor, peer)])
        return self._pending(lambda: [peer])

    def barrier(self):
        from ..ops.creation import zeros
        token = zeros((1,), device=f"cuda:{self.device_index}")
        return self.all_reduce(token, ReduceOp.SUM)

    def split(self, ranks: list) -> "NCCLGroup | None":
        """``ncclCommSplit`` of this communicator (every rank calls it; None on non-members)."""
        member = self.rank in ranks
        new = _VOID_P()
        self._call("ncclCommSplit", self.comm, 0 if member else -1,
                   ranks.index(self.rank) if member else 0, ctypes.byref(new), None)
        return NCCLGroup(self.lib, new, ranks.index(self.rank), len(ranks),
                         self.device_index) if member else None

    def shutdown(self, broken: bool) -> None:
        self.broken = self.broken or broken
        if self.comm:
            release = self.lib.ncclCommAbort if self.broken else self.lib.ncclCommDestroy
            release(self.comm)
            self.comm = _VOID_P()

    # plumbing -------------------------------------------------------------------------------
    def _call(self, name: str, *args) -> None:
        _check(self.lib, getattr(self.lib, name)(*args), name)

    def _grouped(self, calls: list) -> None:
        """Point-to-point calls fused by ``ncclGroupStart/End`` (gather, scatter, send, recv)."""
        self._call("ncclGroupStart")
        for name, tensor, peer in calls:
            self._call(name, tensor.data_ptr(), tensor.numel(), dtype_code(tensor.dtype), peer,
                       self.comm, self.stream)
        self._call("ncclGroupEnd")

    def _pending(self, finish):
        """``(test, finish)``: ``test`` checks NCCL's error state and an event recorded after
        the enqueued work."""
        done = completion_probe()

        def test() -> bool:
            error = _INT()
            self._call("ncclCommGetAsyncError", self.comm, ctypes.byref(error))
            _check(self.lib, error.value, "an asynchronous NCCL operation")
            return done()
        return test, finish


def completion_probe():
    """Record a CUDA event on the default stream now; returns ``done()``: has it completed?"""
    from .._backends.triton.runtime import _driver, check
    driver = _driver()
    event = check(driver.cuEventCreate(driver.CUevent_flags.CU_EVENT_DISABLE_TIMING))
    check(driver.cuEventRecord(event, 0))
    state = {"done": False}

    def done() -> bool:
        if not state["done"]:
            err, = driver.cuEventQuery(event)
            if err == driver.CUresult.CUDA_ERROR_NOT_READY:
                return False
            check((err,))
            check(driver.cuEventDestroy(event))
            state["done"] = True
        return True
    return done
