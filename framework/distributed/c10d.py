"""Process groups and collectives with ``torch.distributed``'s names, over the MPI or NCCL backend.

This layer checks arguments (tensor types, devices, layouts, list lengths, ranks) and turns the
global ranks a caller names into ranks of the group; the backends (``mpi.py``, ``nccl.py``)
only launch the communication and return a ``Work``. Every blocking call is the asynchronous one
followed by ``Work.wait()``, which gives up with ``DistBackendError`` after the group's timeout,
so a crashed peer turns into an error instead of a hang.

State: the default group and the groups made by ``new_group`` live in ``_STATE`` (one per
process, like PyTorch's ``GroupMember.WORLD``); ``destroy_process_group()`` clears it.
"""
from __future__ import annotations

import enum
import os
import time
from datetime import timedelta
from typing import Callable, Sequence

from .. import dtypes
from ..tensor import Tensor

DEFAULT_TIMEOUT = timedelta(minutes=10)  # PyTorch's default
# Work.wait polls without sleeping this long (each poll drives MPI's progress engine), then sleeps
# between polls (at most 1 ms) so that a long wait leaves the core to the other processes.
SPIN_SECONDS = 0.05


class DistError(RuntimeError):
    """An error of ``framework.distributed`` (PyTorch: ``torch.distributed.DistError``)."""


class DistBackendError(DistError):
    """The communication library failed or a collective timed out (a peer crashed or hung)."""


class ReduceOp(enum.Enum):
    """How ``all_reduce``, ``reduce`` and ``reduce_scatter`` combine the ranks' tensors."""

    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MAX = "max"
    MIN = "min"

    def __repr__(self) -> str:
        return f"ReduceOp.{self.name}"


class Backend(str):
    """Backend names: ``Backend.MPI == "mpi"``, ``Backend.NCCL == "nccl"``."""

    MPI = "mpi"
    NCCL = "nccl"

    def __new__(cls, name: str) -> "Backend":
        lowered = str(name).lower()
        if lowered not in (cls.MPI, cls.NCCL):
            raise ValueError(f"Invalid backend: '{name}'. framework.distributed has 'mpi' (cpu "
                             "tensors) and 'nccl' (cuda tensors); 'gloo' is not available")
        return super().__new__(cls, lowered)


class Work:
    """The handle of an asynchronous operation (``async_op=True``): ``wait()``, ``is_completed()``.

    ``test()`` reports completion without blocking; ``finish()`` runs once after completion
    (copies out of staging buffers, the division of ``AVG``) and returns the result list.
    """

    def __init__(self, test: Callable[[], bool], finish: Callable[[], list] | None,
                 timeout: float, what: str, group: "ProcessGroup") -> None:
        self._test = test
        self._finish = finish
        self._timeout = timeout
        self._what = what
        self._group = group
        self._result: list | None = None
        self._done = False

    def is_completed(self) -> bool:
        """True once the operation finished (runs the completion step then)."""
        if not self._done and self._poll():
            self._complete()
        return self._done

    def wait(self, timeout: timedelta | float | None = None) -> bool:
        """Block until the operation finished; ``DistBackendError`` after ``timeout`` (default:
        the group's). Returns True."""
        if self._done:
            return True
        limit = self._timeout if timeout is None else _seconds(timeout)
        start = time.monotonic()
        while not self._poll():
            waited = time.monotonic() - start
            if waited > SPIN_SECONDS:  # then yield the core, polling less and less often
                time.sleep(min(1e-3, waited / 100))
            if waited > limit:
                self._group._mark_broken()
                raise DistBackendError(
                    f"[rank {get_rank()}] {self._what} timed out after {waited:.1f} s "
                    f"(timeout {limit:g} s): a peer process crashed, exited or stopped calling "
                    "the same collectives in the same order")
        self._complete()
        return True

    def result(self) -> list:
        """The output tensors (after ``wait()``)."""
        self.wait()
        return self._result or []

    def _poll(self) -> bool:
        try:
            return self._test()
        except DistBackendError:
            self._group._mark_broken()
            raise

    def _complete(self) -> None:
        if not self._done:
            self._done = True
            self._result = self._finish() if self._finish is not None else []


class ProcessGroup:
    """A set of ranks that communicate: the default (world) group or one from ``new_group``."""

    def __init__(self, backend: str, impl, ranks: list, timeout: float) -> None:
        self.backend = backend
        self._impl = impl  # None on processes outside the group
        self.ranks = list(ranks)  # global ranks, in group-rank order
        self.timeout = timeout
        self._broken = False

    def rank(self) -> int:
        """This process's rank in the group (-1 outside it)."""
        return self._impl.rank if self._impl is not None else -1

    def size(self) -> int:
        """Number of processes in the group."""
        return len(self.ranks)

    def name(self) -> str:
        return self.backend

    def _mark_broken(self) -> None:
        """After a failure or timeout: refuse further collectives; abort the job at exit."""
        self._broken = True
        if self._impl is not None:
            self._impl.broken = True

    def __repr__(self) -> str:
        return f"ProcessGroup(backend={self.backend!r}, ranks={self.ranks})"


class GroupMember:
    """``WORLD``: the default group (None before ``init_process_group``); ``NON_GROUP_MEMBER``."""

    WORLD = None
    NON_GROUP_MEMBER = object()


class group:  # noqa: N801 - PyTorch's name
    """``group.WORLD``: the default process group."""

    WORLD = None


_GROUP_NAMESPACE = group  # ``group`` is also a parameter name below
_WORDS = dtypes.int64  # object collectives move pickles as int64 words (there is no uint8 dtype)
_STATE: dict = {"world": None, "groups": []}


# setup ---------------------------------------------------------------------------------------

def is_available() -> bool:
    """True: the package is present (each backend loads its library on first use)."""
    return True


def is_mpi_available() -> bool:
    """True when mpi4py can be imported (``pip install 'framework[distributed]'``)."""
    from importlib.util import find_spec
    return find_spec("mpi4py") is not None


def is_nccl_available() -> bool:
    """True when NCCL's library can be found (it is loaded, not initialized)."""
    from . import nccl
    try:
        nccl.library()
    except RuntimeError:
        return False
    return True


def is_initialized() -> bool:
    """True between ``init_process_group`` and ``destroy_process_group``."""
    return _STATE["world"] is not None


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: timedelta | None = None, world_size: int = -1, rank: int = -1,
                       store=None, group_name: str = "", pg_options=None, device_id=None) -> None:
    """Join the default process group.

    ``backend``: ``"mpi"`` (cpu tensors, the default) or ``"nccl"`` (cuda tensors).
    ``init_method``: ``"env://"`` (the default: ``RANK``/``WORLD_SIZE`` from the environment, as
    ``framework run`` and ``mpiexec`` set them) or ``"file:///path"`` (a file the ranks share;
    the nccl backend exchanges its id through it). With ``mpi``, rank and size come from MPI
    and any ``rank``/``world_size`` given must agree. ``timeout`` bounds every collective.
    """
    if is_initialized():
        raise ValueError("trying to initialize the default process group twice!")
    if store is not None:
        raise ValueError("framework.distributed has no Store: use init_method='env://' or 'file://'")
    name = Backend(backend if backend is not None else Backend.MPI)
    method = init_method if init_method is not None else "env://"
    if not (method.startswith("env://") or method.startswith("file://")):
        raise ValueError(f"init_method must be 'env://' or 'file://<path>', got {method!r} "
                         "(tcp:// rendezvous is not implemented)")
    seconds = _seconds(timeout if timeout is not None else DEFAULT_TIMEOUT)
    rank, world_size = _env_rank_and_size(method, rank, world_size)
    if name == Backend.MPI:
        from . import mpi
        impl = mpi.world(rank, world_size, seconds)
    else:
        from . import nccl
        impl = nccl.world(rank, world_size, method, seconds, device_id)
    world = ProcessGroup(name, impl, list(range(impl.size)), seconds)
    _STATE["world"] = world
    _STATE["groups"] = [world]
    GroupMember.WORLD = group.WORLD = world


def _env_rank_and_size(method: str, rank: int, world_size: int) -> tuple:
    """``rank`` and ``world_size`` from the arguments or, with env://, ``RANK``/``WORLD_SIZE``."""
    if method.startswith("env://"):
        for var, value in (("RANK", rank), ("WORLD_SIZE", world_size)):
            env = os.environ.get(var)
            if env is not None and value != -1 and int(env) != value:
                raise ValueError(f"{var.lower()}={value} disagrees with ${var}={env}")
        rank = int(os.environ.get("RANK", rank))
        world_size = int(os.environ.get("WORLD_SIZE", world_size))
    return rank, world_size


def destroy_process_group(group: ProcessGroup | None = None) -> None:
    """Leave ``group`` (default: every group, and the default one)."""
    world = _world()
    targets = list(_STATE["groups"]) if group is None or group is world else [group]
    for pg in reversed(targets):
        if pg._impl is not None:
            pg._impl.shutdown(broken=pg._broken or world._broken)
        if pg in _STATE["groups"]:
            _STATE["groups"].remove(pg)
    if group is None or group is world:
        _STATE["world"] = None
        _STATE["groups"] = []
        GroupMember.WORLD = _GROUP_NAMESPACE.WORLD = None


def get_rank(group: ProcessGroup | None = None) -> int:
    """This process's rank in ``group`` (default: the world); -1 outside ``group``."""
    return _group(group).rank()


def get_world_size(group: ProcessGroup | None = None) -> int:
    """Number of processes in ``group`` (default: the world)."""
    return _group(group).size()


def get_backend(group: ProcessGroup | None = None) -> str:
    """The backend name of ``group``."""
    return _group(group).backend


def new_group(ranks: Sequence[int] | None = None, timeout: timedelta | None = None,
              backend: str | None = None, pg_options=None, use_local_synchronization: bool = False,
              group_desc: str | None = None) -> ProcessGroup:
    """A group of the global ``ranks`` (sorted; default: all). Every process of the world must
    call it, members or not; on non-members the group answers rank -1 and refuses collectives."""
    world = _world()
    chosen = sorted(range(world.size()) if ranks is None else {int(r) for r in ranks})
    if not chosen or chosen[0] < 0 or chosen[-1] >= world.size():
        raise ValueError(f"new_group: ranks {list(ranks or [])} must name ranks in "
                         f"[0, {world.size()})")
    if backend is not None and Backend(backend) != world.backend:
        raise ValueError(f"new_group: backend {backend!r} differs from the world's "
                         f"{world.backend!r}")
    seconds = world.timeout if timeout is None else _seconds(timeout)
    impl = world._impl.split(chosen)
    pg = ProcessGroup(world.backend, impl, chosen, seconds)
    _STATE["groups"].append(pg)
    return pg


# collectives ---------------------------------------------------------------------------------

def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: ProcessGroup | None = None,
               async_op: bool = False):
    """Combine ``tensor`` across the group with ``op``; every rank receives the result in place."""
    pg = _member(group, "all_reduce")
    _check_tensor(tensor, pg, "all_reduce")
    return _run(pg, pg._impl.all_reduce(tensor, _op(op)), "all_reduce", async_op)


def broadcast(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None,
              async_op: bool = False, group_src: int | None = None):
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank of the group."""
    pg = _member(group, "broadcast")
    _check_tensor(tensor, pg, "broadcast")
    root = _root(pg, src, group_src, "broadcast", "src")
    return _run(pg, pg._impl.broadcast(tensor, root), "broadcast", async_op)


def reduce(tensor: Tensor, dst: int | None = None, op: ReduceOp = ReduceOp.SUM,
           group: ProcessGroup | None = None, async_op: bool = False, group_dst: int | None = None):
    """Combine ``tensor`` across the group; only rank ``dst`` receives the result."""
    pg = _member(group, "reduce")
    _check_tensor(tensor, pg, "reduce")
    root = _root(pg, dst, group_dst, "reduce", "dst")
    return _run(pg, pg._impl.reduce(tensor, root, _op(op)), "reduce", async_op)


def all_gather(tensor_list: list, tensor: Tensor, group: ProcessGroup | None = None,
               async_op: bool = False):
    """Every rank's ``tensor`` into ``tensor_list[rank]``, on every rank."""
    pg = _member(group, "all_gather")
    _check_tensor(tensor, pg, "all_gather")
    _check_list(tensor_list, tensor, pg, "all_gather", "tensor_list")
    return _run(pg, pg._impl.all_gather(list(tensor_list), tensor), "all_gather", async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor,
                           group: ProcessGroup | None = None, async_op: bool = False):
    """Every rank's ``input_tensor`` concatenated along dim 0 into ``output_tensor``."""
    pg = _member(group, "all_gather_into_tensor")
    for t in (output_tensor, input_tensor):
        _check_tensor(t, pg, "all_gather_into_tensor")
    _check_sizes(output_tensor, input_tensor, pg.size(), "all_gather_into_tensor")
    return _run(pg, pg._impl.all_gather_into_tensor(output_tensor, input_tensor),
                "all_gather_into_tensor", async_op)


def reduce_scatter(output: Tensor, input_list: list, op: ReduceOp = ReduceOp.SUM,
                   group: ProcessGroup | None = None, async_op: bool = False):
    """``output`` on rank r = the ``op``-combination over ranks of their ``input_list[r]``."""
    pg = _member(group, "reduce_scatter")
    _check_tensor(output, pg, "reduce_scatter")
    _check_list(input_list, output, pg, "reduce_scatter", "input_list")
    return _run(pg, pg._impl.reduce_scatter(output, list(input_list), _op(op)), "reduce_scatter",
                async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM,
                          group: ProcessGroup | None = None, async_op: bool = False):
    """``reduce_scatter`` with the inputs concatenated along dim 0 in one tensor."""
    pg = _member(group, "reduce_scatter_tensor")
    for t in (output, input):
        _check_tensor(t, pg, "reduce_scatter_tensor")
    _check_sizes(input, output, pg.size(), "reduce_scatter_tensor")
    return _run(pg, pg._impl.reduce_scatter_tensor(output, input, _op(op)),
                "reduce_scatter_tensor", async_op)


def gather(tensor: Tensor, gather_list: list | None = None, dst: int | None = None,
           group: ProcessGroup | None = None, async_op: bool = False, group_dst: int | None = None):
    """Every rank's ``tensor`` into ``gather_list`` on rank ``dst`` (others pass None)."""
    pg = _member(group, "gather")
    _check_tensor(tensor, pg, "gather")
    root = _root(pg, dst if dst is not None or group_dst is not None else 0, group_dst,
                 "gather", "dst")
    if pg.rank() == root:
        _check_list(gather_list, tensor, pg, "gather", "gather_list")
    elif gather_list:
        raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
    return _run(pg, pg._impl.gather(tensor, gather_list if pg.rank() == root else None, root),
                "gather", async_op)


def scatter(tensor: Tensor, scatter_list: list | None = None, src: int | None = None,
            group: ProcessGroup | None = None, async_op: bool = False, group_src: int | None = None):
    """``scatter_list[r]`` of rank ``src`` into ``tensor`` on rank r (others pass None)."""
    pg = _member(group, "scatter")
    _check_tensor(tensor, pg, "scatter")
    root = _root(pg, src if src is not None or group_src is not None else 0, group_src,
                 "scatter", "src")
    if pg.rank() == root:
        _check_list(scatter_list, tensor, pg, "scatter", "scatter_list")
    elif scatter_list:
        raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
    return _run(pg, pg._impl.scatter(tensor, scatter_list if pg.rank() == root else None, root),
                "scatter", async_op)


def isend(tensor: Tensor, dst: int, group: ProcessGroup | None = None, tag: int = 0) -> Work:
    """Send ``tensor`` to rank ``dst`` without blocking; returns the ``Work``."""
    pg = _member(group, "isend")
    _check_tensor(tensor, pg, "isend")
    peer = _peer(pg, dst, "isend")
    return _run(pg, pg._impl.send(tensor, peer, tag), f"send to rank {dst}", True)


def irecv(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None,
          tag: int = 0) -> Work:
    """Receive into ``tensor`` from rank ``src`` (None: any rank) without blocking."""
    pg = _member(group, "irecv")
    _check_tensor(tensor, pg, "irecv")
    peer = None if src is None else _peer(pg, src, "irecv")
    return _run(pg, pg._impl.recv(tensor, peer, tag), f"recv from rank {src}", True)


def send(tensor: Tensor, dst: int, group: ProcessGroup | None = None, tag: int = 0) -> None:
    """Send ``tensor`` to rank ``dst`` (blocks until the message is handed over)."""
    isend(tensor, dst, group, tag).wait()


def recv(tensor: Tensor, src: int | None = None, group: ProcessGroup | None = None,
         tag: int = 0) -> int:
    """Receive into ``tensor`` from rank ``src`` (None: any); returns the sender's global rank."""
    pg = _group(group)
    work = irecv(tensor, src, group, tag)
    source = work.result()[0]
    return pg.ranks[source]


def barrier(group: ProcessGroup | None = None, async_op: bool = False, device_ids=None):
    """Wait until every rank of the group reaches the barrier."""
    pg = _member(group, "barrier")
    return _run(pg, pg._impl.barrier(), "barrier", async_op)


# objects -------------------------------------------------------------------------------------

def broadcast_object_list(object_list: list, src: int | None = None,
                          group: ProcessGroup | None = None, device=None,
                          group_src: int | None = None) -> None:
    """Replace ``object_list``'s items on every rank by rank ``src``'s (picklable objects)."""
    pg = _member(group, "broadcast_object_list")
    root = _root(pg, src, group_src, "broadcast_object_list", "src")
    where = _object_device(pg, device)
    payload = _to_words(object_list, where) if pg.rank() == root else None
    length = _int_tensor([payload.numel() if payload is not None else 0], where)
    broadcast(length, group=pg, group_src=root)
    if payload is None:
        from ..ops.creation import zeros
        payload = zeros((int(length.item()),), dtype=_WORDS, device=where)
    broadcast(payload, group=pg, group_src=root)
    if pg.rank() != root:
        object_list[:] = _from_words(payload)


def all_gather_object(object_list: list, obj, group: ProcessGroup | None = None) -> None:
    """``object_list[r]`` = rank r's ``obj`` on every rank (picklable objects)."""
    pg = _member(group, "all_gather_object")
    if not isinstance(object_list, list) or len(object_list) != pg.size():
        raise ValueError(f"all_gather_object: object_list must be a list of {pg.size()} items")
    from ..ops.creation import zeros
    where = _object_device(pg, None)
    payload = _to_words(obj, where)
    lengths = [_int_tensor([0], where) for _ in range(pg.size())]
    all_gather(lengths, _int_tensor([payload.numel()], where), group=pg)
    longest = max(int(t.item()) for t in lengths)
    padded = zeros((longest,), dtype=_WORDS, device=where)
    padded[:payload.numel()] = payload
    gathered = [zeros((longest,), dtype=_WORDS, device=where) for _ in range(pg.size())]
    all_gather(gathered, padded, group=pg)
    for index, (words, count) in enumerate(zip(gathered, lengths)):
        object_list[index] = _from_words(words[:int(count.item())])


def _object_device(pg: ProcessGroup, device) -> str:
    if device is not None:
        return str(device)
    return "cpu" if pg.backend == Backend.MPI else f"cuda:{pg._impl.device_index}"


def _int_tensor(values: list, device: str) -> Tensor:
    from ..ops.creation import tensor
    return tensor(values, dtype=_WORDS, device=device)


def _to_words(obj, device: str) -> Tensor:
    """``obj`` pickled: its length and bytes packed into int64 words (no 8-bit dtype here)."""
    import pickle

    import numpy as np
    from ..ops.creation import tensor
    data = pickle.dumps(obj)
    framed = len(data).to_bytes(8, "little") + data + b"\0" * (-len(data) % 8)
    return tensor(np.frombuffer(framed, dtype=np.int64).copy(), device=device)


def _from_words(words: Tensor):
    import pickle

    import numpy as np
    raw = np.ascontiguousarray(words.cpu().numpy(), dtype=np.int64).tobytes()
    size = int.from_bytes(raw[:8], "little")
    return pickle.loads(raw[8:8 + size])


# helpers -------------------------------------------------------------------------------------

def _seconds(timeout) -> float:
    return timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)


def _world() -> ProcessGroup:
    world = _STATE["world"]
    if world is None:
        raise ValueError("Default process group has not been initialized, please make sure to "
                         "call init_process_group.")
    return world


def _group(group: ProcessGroup | None) -> ProcessGroup:
    world = _world()
    if group is None or group is GroupMember.WORLD:
        return world
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup from new_group, got {type(group).__name__}")
    if group not in _STATE["groups"]:
        raise ValueError("Invalid process group specified (destroyed, or from another session)")
    return group


def _member(group: ProcessGroup | None, what: str) -> ProcessGroup:
    pg = _group(group)
    if pg._impl is None:
        raise ValueError(f"{what}: rank {get_rank()} is not a member of {pg}")
    if pg._broken:
        raise DistBackendError(f"{what}: an earlier collective of this group failed or timed out; "
                               "the group cannot be used any more")
    return pg


def _run(pg: ProcessGroup, launched: tuple, what: str, async_op: bool):
    test, finish = launched
    work = Work(test, finish, pg.timeout, what, pg)
    if async_op:
        return work
    work.wait()
    return None


def _op(op) -> ReduceOp:
    if isinstance(op, ReduceOp):
        return op
    raise TypeError(f"op must be a framework.distributed.ReduceOp, got {op!r}")


def _check_tensor(t, pg: ProcessGroup, what: str) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: expected a Tensor, got {type(t).__name__}")
    if not t.is_contiguous():
        raise ValueError("Tensors must be contiguous")
    wanted = "cpu" if pg.backend == Backend.MPI else "cuda"
    if t.device.type != wanted:
        other = "nccl" if wanted == "cpu" else "mpi"
        raise RuntimeError(f"{what}: the {pg.backend} backend communicates {wanted} tensors, got "
                           f"one on {t.device} (use backend='{other}' for {t.device.type} tensors)")


def _check_list(tensors, like: Tensor, pg: ProcessGroup, what: str, name: str) -> None:
    if not isinstance(tensors, (list, tuple)) or len(tensors) != pg.size():
        raise ValueError(f"{what}: {name} must be a list of {pg.size()} tensors (the group's "
                         f"size), got {tensors!r:.60}")
    for t in tensors:
        _check_tensor(t, pg, what)
        if tuple(t.shape) != tuple(like.shape) or t.dtype is not like.dtype:
            raise ValueError(f"{what}: every tensor of {name} must have shape "
                             f"{tuple(like.shape)} and dtype {like.dtype}, got "
                             f"{tuple(t.shape)} {t.dtype}")


def _check_sizes(big: Tensor, small: Tensor, size: int, what: str) -> None:
    if big.dtype is not small.dtype:
        raise ValueError(f"{what}: dtypes differ ({big.dtype} vs {small.dtype})")
    if big.numel() != size * small.numel():
        raise ValueError(f"{what}: the concatenated tensor must have world_size ({size}) times "
                         f"the elements of the other, got {big.numel()} and {small.numel()}")


def _root(pg: ProcessGroup, rank: int | None, group_rank: int | None, what: str, name: str) -> int:
    """The group rank of the root, from a global ``rank`` or a ``group_rank``."""
    if group_rank is not None:
        if rank is not None:
            raise ValueError(f"{what}: give {name} or group_{name}, not both")
        if not 0 <= group_rank < pg.size():
            raise ValueError(f"{what}: group_{name}={group_rank} is outside [0, {pg.size()})")
        return group_rank
    if rank is None:
        raise ValueError(f"{what}: {name} is required")
    if rank not in pg.ranks:
        raise ValueError(f"{what}: {name}={rank} is not a rank of {pg}")
    return pg.ranks.index(rank)


def _peer(pg: ProcessGroup, rank: int, what: str) -> int:
    peer = _root(pg, rank, None, what, "peer rank")
    if peer == pg.rank():
        raise ValueError(f"{what}: a rank cannot send to or receive from itself (rank {rank})")
    return peer
