"""A stand-in for libnccl, to test the ``nccl`` backend's calls on a machine without a GPU.

Each function is a ctypes callback built from ``framework.distributed.nccl._SIGNATURES``, so
every call goes through the same argument conversions as a call into the real library. The
ranks are threads of one process sharing host memory: a collective is a rendezvous where each
rank leaves its arguments, then computes its own output from the others' input buffers, as
NCCL's documentation defines it. Grouped sends and receives are matched at ``ncclGroupEnd``.
"""
from __future__ import annotations

import ctypes
import itertools
import threading

import ml_dtypes
import numpy as np

from framework.distributed import nccl

DTYPES = {0: np.int8, 1: np.uint8, 2: np.int32, 4: np.int64, 6: np.float16, 7: np.float32,
          8: np.float64, 9: ml_dtypes.bfloat16}
REDUCE = {0: np.sum, 1: np.prod, 2: np.max, 3: np.min, 4: np.mean}


def view(pointer: int, count: int, dtype: int) -> np.ndarray:
    """``count`` elements of NCCL type ``dtype`` at host address ``pointer``."""
    kind = np.dtype(DTYPES[dtype])
    raw = (ctypes.c_char * (count * kind.itemsize)).from_address(pointer)
    return np.frombuffer(raw, dtype=kind)


class Fabric:
    """The ranks' meeting point: per-call argument slots and a barrier."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.barrier = threading.Barrier(size, timeout=20)
        self.slots: list = [None] * size

    def exchange(self, rank: int, item) -> list:
        self.slots[rank] = item
        self.barrier.wait()
        everyone = list(self.slots)
        self.barrier.wait()  # nobody overwrites a slot before all have read it
        return everyone


class FakeNCCL:
    """The fake library; ``calls`` records (rank, function name) of every call."""

    def __init__(self, size: int) -> None:
        self.fabric = Fabric(size)
        self.calls: list = []
        self.errors: list = []  # exceptions inside the fake (each also fails the call)
        self._handles = itertools.count(0x1000)
        self.comms: dict = {}  # handle -> (rank, size)
        self.pending: dict = {}  # rank -> grouped point-to-point calls
        self._keep = []
        self._lock = threading.Lock()
        for name, argtypes in nccl._SIGNATURES.items():
            prototype = ctypes.CFUNCTYPE(ctypes.c_int, *argtypes)
            callback = prototype(self._recorded(name, getattr(self, "_" + name)))
            self._keep.append(callback)
            setattr(self, name, callback)

    def ncclGetErrorString(self, code: int) -> bytes:  # noqa: N802 - NCCL's name
        return b"fake error"

    def _recorded(self, name, fn):
        def call(*args):
            self.calls.append((threading.current_thread().name, name))
            try:
                return fn(*args) or 0
            except Exception as exc:  # noqa: BLE001 - a callback cannot raise: report, fail
                self.errors.append(f"{name}: {exc!r}")
                return 5  # ncclInvalidUsage
        return call

    def _new_comm(self, rank: int, size: int) -> int:
        with self._lock:
            handle = next(self._handles)
            self.comms[handle] = (rank, size)
        return handle

    # the library's functions ----------------------------------------------------------------
    def _ncclGetVersion(self, out):
        out[0] = 22305

    def _ncclGetUniqueId(self, uid):
        uid[0].internal = b"fake-id"

    def _ncclCommInitRank(self, comm, size, uid, rank):
        assert uid.internal.startswith(b"fake-id")
        comm[0] = self._new_comm(rank, size)

    def _ncclCommSplit(self, comm, color, key, new, config):
        rank, size = self.comms[comm]
        everyone = self.fabric.exchange(rank, (color, key))
        members = sorted((k, r) for r, (c, k) in enumerate(everyone) if c == color and c >= 0)
        new[0] = self._new_comm([r for _, r in members].index(rank), len(members)) if color >= 0 else None

    def _ncclCommDestroy(self, comm):
        self.comms.pop(comm)

    _ncclCommAbort = _ncclCommDestroy

    def _ncclCommGetAsyncError(self, comm, error):
        error[0] = 0

    def _collective(self, comm, item):
        rank, _ = self.comms[comm]
        return rank, self.fabric.exchange(rank, item)

    def _ncclAllReduce(self, send, recv, count, dtype, op, comm, stream):
        rank, everyone = self._collective(comm, send)
        result = REDUCE[op](np.stack([view(p, count, dtype) for p in everyone]), axis=0)
        self.fabric.barrier.wait()  # in place: every rank read every input before anyone writes
        view(recv, count, dtype)[...] = result

    def _ncclBroadcast(self, send, recv, count, dtype, root, comm, stream):
        rank, everyone = self._collective(comm, send)
        data = view(everyone[root], count, dtype).copy()
        self.fabric.barrier.wait()
        view(recv, count, dtype)[...] = data

    def _ncclReduce(self, send, recv, count, dtype, op, root, comm, stream):
        rank, everyone = self._collective(comm, send)
        result = REDUCE[op](np.stack([view(p, count, dtype) for p in everyone]), axis=0)
        self.fabric.barrier.wait()
        if rank == root:
            view(recv, count, dtype)[...] = result

    def _ncclAllGather(self, send, recv, count, dtype, comm, stream):
        rank, everyone = self._collective(comm, send)
        data = np.concatenate([view(p, count, dtype) for p in everyone])
        self.fabric.barrier.wait()
        view(recv, count * len(everyone), dtype)[...] = data

    def _ncclReduceScatter(self, send, recv, count, dtype, op, comm, stream):
        rank, everyone = self._collective(comm, send)
        size = len(everyone)
        inputs = np.stack([view(p, count * size, dtype) for p in everyone])
        result = REDUCE[op](inputs[:, rank * count:(rank + 1) * count], axis=0)
        self.fabric.barrier.wait()
        view(recv, count, dtype)[...] = result

    def _ncclGroupStart(self):
        self.pending[threading.current_thread().name] = []

    def _ncclSend(self, send, count, dtype, peer, comm, stream):
        self.pending[threading.current_thread().name].append(("send", send, count, dtype, peer, comm))

    def _ncclRecv(self, recv, count, dtype, peer, comm, stream):
        self.pending[threading.current_thread().name].append(("recv", recv, count, dtype, peer, comm))

    def _ncclGroupEnd(self):
        calls = self.pending.pop(threading.current_thread().name)
        if not calls:  # e.g. gather on a one-rank group: nothing to send or receive
            return
        comm = calls[0][5]
        rank, everyone = self._collective(comm, calls)
        for kind, pointer, count, dtype, peer, _ in calls:
            if kind == "recv":
                match = [c for c in everyone[peer] if c[0] == "send" and c[4] == rank]
                assert match and match[0][2] == count and match[0][3] == dtype, (calls, everyone)
                view(pointer, count, dtype)[...] = view(match[0][1], count, dtype)
        self.fabric.barrier.wait()
