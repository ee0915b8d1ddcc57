"""One rank of the distributed tests; ``tests/distributed/test_distributed.py`` starts 2-3 of them.

``python worker.py MODE [backend]``: every check compares against NumPy computed from the same
seeded per-rank data (each rank can rebuild every other rank's input), raises on a mismatch
and prints ``rank R: MODE ok (N checks)`` at the end.
"""
from __future__ import annotations

import os
import sys
import time
from datetime import timedelta

import numpy as np

import framework
import framework.distributed as dist
from framework import nn

CHECKS = [0]


def check(ok: bool, what: str) -> None:
    CHECKS[0] += 1
    if not ok:
        raise AssertionError(f"rank {dist.get_rank()}: {what}")


def close(mine, expected, what: str, tol: float = 1e-6) -> None:
    mine = np.asarray(mine, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    check(mine.shape == expected.shape and np.allclose(mine, expected, rtol=tol, atol=tol),
          f"{what}: got {mine} expected {expected}")


def data(rank: int, shape=(5, 3), dtype="float32", salt: int = 0) -> np.ndarray:
    """Rank ``rank``'s input: seeded, so every rank can rebuild every other rank's."""
    rng = np.random.default_rng(1000 * salt + rank)
    if dtype.startswith("int"):
        return rng.integers(-5, 6, shape).astype(dtype)
    return (rng.standard_normal(shape) + 0.5).astype(dtype)


NUMPY_OPS = {"SUM": lambda xs: np.sum(xs, axis=0), "PRODUCT": lambda xs: np.prod(xs, axis=0),
             "MAX": lambda xs: np.max(xs, axis=0), "MIN": lambda xs: np.min(xs, axis=0),
             "AVG": lambda xs: np.mean(xs, axis=0)}


def collectives() -> None:
    rank, size = dist.get_rank(), dist.get_world_size()
    check(dist.is_initialized() and dist.get_backend() == "mpi", "initialized with mpi")
    check(rank == int(os.environ.get("RANK", rank)), "RANK matches the MPI rank")
    salt = 0
    for dtype in ("float32", "float64", "int64"):
        for name, reference in NUMPY_OPS.items():
            if name == "AVG" and dtype == "int64":
                continue
            salt += 1
            t = framework.tensor(data(rank, dtype=dtype, salt=salt))
            dist.all_reduce(t, op=getattr(dist.ReduceOp, name))
            expected = reference(np.stack([data(r, dtype=dtype, salt=salt) for r in range(size)]))
            close(t.numpy(), expected, f"all_reduce {name} {dtype}", 1e-5)
            check(t.dtype is getattr(framework, dtype), "all_reduce keeps the dtype")
    # bfloat16 reduces through a float32 stage
    salt += 1
    t = framework.tensor(data(rank, salt=salt)).to(framework.bfloat16)
    dist.all_reduce(t)
    expected = sum(framework.tensor(data(r, salt=salt)).to(framework.bfloat16).float().numpy()
                   for r in range(size))
    close(t.float().numpy(), expected, "all_reduce bfloat16", 2e-2)
    # async handles: start two, wait in reverse order
    a, b = framework.full((4,), float(rank + 1)), framework.full((2, 2), float(rank))
    wa = dist.all_reduce(a, async_op=True)
    wb = dist.all_reduce(b, op=dist.ReduceOp.MAX, async_op=True)
    check(isinstance(wa, dist.Work), "async_op=True returns a Work")
    check(wb.wait() is True and wa.wait() is True and wa.is_completed(), "Work.wait")
    close(a.numpy(), np.full(4, size * (size + 1) / 2), "async all_reduce SUM")
    close(b.numpy(), np.full((2, 2), size - 1), "async all_reduce MAX")
    # broadcast from every source
    for src in range(size):
        t = framework.tensor(data(rank, salt=50 + src))
        dist.broadcast(t, src=src)
        close(t.numpy(), data(src, salt=50 + src), f"broadcast src={src}")
    # reduce to the last rank
    t = framework.tensor(data(rank, salt=60))
    dist.reduce(t, dst=size - 1, op=dist.ReduceOp.SUM)
    if rank == size - 1:
        close(t.numpy(), sum(data(r, salt=60) for r in range(size)), "reduce", 1e-5)
    # all_gather (list and tensor forms)
    t = framework.tensor(data(rank, dtype="int64", salt=70))
    outs = [framework.zeros(5, 3, dtype=framework.int64) for _ in range(size)]
    work = dist.all_gather(outs, t, async_op=True)
    work.wait()
    for r in range(size):
        close(outs[r].numpy(), data(r, dtype="int64", salt=70), f"all_gather [{r}]")
    flat = framework.zeros(size * 5, 3)
    dist.all_gather_into_tensor(flat, framework.tensor(data(rank, salt=71)))
    close(flat.numpy(), np.concatenate([data(r, salt=71) for r in range(size)]),
          "all_gather_into_tensor")
    # reduce_scatter: rank r receives the combination of every rank's inputs[r]
    for name in ("SUM", "MAX", "AVG"):
        inputs = [framework.tensor(data(rank, salt=80 + j)) for j in range(size)]
        out = framework.zeros(5, 3)
        dist.reduce_scatter(out, inputs, op=getattr(dist.ReduceOp, name))
        expected = NUMPY_OPS[name](np.stack([data(r, salt=80 + rank) for r in range(size)]))
        close(out.numpy(), expected, f"reduce_scatter {name}", 1e-5)
    out = framework.zeros(2)
    dist.reduce_scatter_tensor(out, framework.arange(2 * size, dtype=framework.float32) * (rank + 1))
    close(out.numpy(), np.arange(2 * rank, 2 * rank + 2) * size * (size + 1) / 2,
          "reduce_scatter_tensor")
    # gather / scatter with the root in the middle
    root = size // 2
    t = framework.tensor(data(rank, salt=90))
    gathered = [framework.zeros(5, 3) for _ in range(size)] if rank == root else None
    dist.gather(t, gathered, dst=root)
    if rank == root:
        for r in range(size):
            close(gathered[r].numpy(), data(r, salt=90), f"gather [{r}]")
    received = framework.zeros(5, 3)
    pieces = [framework.tensor(data(100 + r, salt=91)) for r in range(size)] if rank == root else None
    dist.scatter(received, pieces, src=root)
    close(received.numpy(), data(100 + rank, salt=91), "scatter")
    # send / recv in a ring, and recv from any source
    right, left = (rank + 1) % size, (rank - 1) % size
    incoming = framework.zeros(3)
    request = dist.irecv(incoming, src=left, tag=7)
    dist.send(framework.full((3,), float(rank)), dst=right, tag=7)
    request.wait()
    close(incoming.numpy(), np.full(3, left), "send/recv ring")
    if rank == 0:
        senders = set()
        for _ in range(size - 1):
            box = framework.zeros(1)
            sender = dist.recv(box)
            close(box.numpy(), [10.0 + sender], "recv from any source")
            senders.add(sender)
        check(senders == set(range(1, size)), f"recv(src=None) returns the senders: {senders}")
    else:
        dist.send(framework.full((1,), 10.0 + rank), dst=0)
    dist.barrier()
    # a group of the even ranks: group ranks, collectives, and refusal on non-members
    evens = dist.new_group([r for r in range(size) if r % 2 == 0])
    if rank % 2 == 0:
        check(dist.get_rank(evens) == rank // 2, "group rank")
        check(dist.get_world_size(evens) == (size + 1) // 2, "group size")
        t = framework.full((2,), float(rank))
        dist.all_reduce(t, group=evens)
        close(t.numpy(), np.full(2, sum(r for r in range(size) if r % 2 == 0)), "group all_reduce")
        t = framework.full((2,), float(rank))
        dist.broadcast(t, src=2 if size > 2 else 0, group=evens)
        close(t.numpy(), np.full(2, 2.0 if size > 2 else 0.0), "group broadcast (global src rank)")
    else:
        check(dist.get_rank(evens) == -1, "non-member rank is -1")
        expect_error(ValueError, lambda: dist.all_reduce(framework.zeros(1), group=evens),
                     "collective on a group this rank is not in")
    # picklable objects
    objects = [{"rank": rank, "text": "x" * (rank * 7)}, None] if rank == size - 1 else [0, 0]
    dist.broadcast_object_list(objects, src=size - 1)
    check(objects == [{"rank": size - 1, "text": "x" * ((size - 1) * 7)}, None],
          f"broadcast_object_list: {objects}")
    gathered = [None] * size
    dist.all_gather_object(gathered, ("r", rank, list(range(rank))))
    check(gathered == [("r", r, list(range(r))) for r in range(size)], f"all_gather_object: {gathered}")
    # bad input: clear errors, raised before any communication
    expect_error(ValueError, lambda: dist.all_reduce(framework.zeros(4, 4).t()), "non-contiguous")
    expect_error(TypeError, lambda: dist.all_reduce(np.zeros(3)), "not a tensor")
    expect_error(ValueError, lambda: dist.all_gather([framework.zeros(1)], framework.zeros(1)),
                 "tensor_list of the wrong length")
    expect_error(ValueError, lambda: dist.broadcast(framework.zeros(1), src=size), "src out of range")
    expect_error(RuntimeError, lambda: dist.all_reduce(framework.zeros(1, device="cuda")),
                 "cuda tensor on the mpi backend")
    expect_error(ValueError, lambda: dist.init_process_group("mpi"), "initialized twice")
    dist.barrier()


def expect_error(kind, fn, what: str) -> None:
    try:
        fn()
    except kind:
        CHECKS[0] += 1
        return
    raise AssertionError(f"rank {dist.get_rank()}: {what}: no {kind.__name__} raised")


class MLP(nn.Module):
    def __init__(self, unused_branch: bool = False) -> None:
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 3)
        self.unused = nn.Linear(6, 3) if unused_branch else None
        self.register_buffer("steps", framework.zeros(1))

    def forward(self, x):
        return self.fc2(framework.tanh(self.fc1(x)))


def union_batches(steps: int, per_rank: int, size: int) -> list:
    rng = np.random.default_rng(7)
    return [(rng.standard_normal((per_rank * size, 6)).astype(np.float32),
             rng.standard_normal((per_rank * size, 3)).astype(np.float32)) for _ in range(steps)]


def ddp() -> None:
    from framework.nn.parallel import DistributedDataParallel as DDP
    rank, size = dist.get_rank(), dist.get_world_size()
    framework.manual_seed(100 + rank)  # different on each rank: DDP must broadcast rank 0's
    model = MLP()
    model.steps.fill_(float(rank + 5))
    ddp_model = DDP(model, bucket_cap_mb=0.0005)  # several buckets (~500 bytes each)
    check(len(ddp_model.reducer.buckets) > 1, "small bucket_cap_mb makes several buckets")
    start = {k: v.clone() for k, v in model.state_dict().items()}
    check(start["steps"].item() == 5.0, "buffers broadcast from rank 0 at construction")
    everyone = [framework.zeros(sum(p.numel() for p in model.parameters())) for _ in range(size)]
    dist.all_gather(everyone, framework.cat([p.detach().reshape(-1) for p in model.parameters()]))
    check(all(np.array_equal(e.numpy(), everyone[0].numpy()) for e in everyone),
          "parameters equal on every rank after construction")

    # overlap: the first bucket (the last layer's gradients) is launched during backward,
    # before the first layer's gradient exists
    launched = []
    real_all_reduce = dist.all_reduce

    def spy(tensor, *args, **kwargs):
        launched.append(model.fc1.weight.grad is None)
        return real_all_reduce(tensor, *args, **kwargs)
    dist.all_reduce = spy
    try:
        ddp_model(framework.ones(2, 6)).sum().backward()
    finally:
        dist.all_reduce = real_all_reduce
    check(len(launched) == len(ddp_model.reducer.buckets) and launched[0],
          f"buckets launched as gradients become ready: {launched}")
    model.zero_grad()

    reference = MLP()
    reference.load_state_dict(start)
    opt = framework.optim.SGD(ddp_model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = framework.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    per_rank = 4
    batches = union_batches(6, per_rank, size)
    for step, (x, y) in enumerate(batches):
        mine = slice(rank * per_rank, (rank + 1) * per_rank)
        if step % 3 == 2:  # gradient accumulation: two half batches, the first under no_sync
            opt.zero_grad()
            half = per_rank // 2
            with ddp_model.no_sync():
                out = ddp_model(framework.tensor(x[mine][:half]))
                (nn.functional.mse_loss(out, framework.tensor(y[mine][:half])) / 2).backward()
            local = model.fc1.weight.grad.clone()
            out = ddp_model(framework.tensor(x[mine][half:]))
            (nn.functional.mse_loss(out, framework.tensor(y[mine][half:])) / 2).backward()
            check(not np.allclose(local.numpy(), model.fc1.weight.grad.numpy()),
                  "the sync backward after no_sync changed the gradient")
        else:
            opt.zero_grad()
            loss = nn.functional.mse_loss(ddp_model(framework.tensor(x[mine])), framework.tensor(y[mine]))
            loss.backward()
        opt.step()
        ref_opt.zero_grad()
        nn.functional.mse_loss(reference(framework.tensor(x)), framework.tensor(y)).backward()
        ref_opt.step()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        close(p.detach().numpy(), q.detach().numpy(), f"DDP {name} equals one process on the "
              "union batch", 1e-5)
        check(not np.allclose(p.detach().numpy(), start[name].numpy()), f"{name} trained")

    # buffers: rank 0's are broadcast at every forward
    model.steps.fill_(float(rank + 20))
    ddp_model(framework.zeros(1, 6)).sum().backward()
    check(model.steps.item() == 20.0, "buffers broadcast at forward")

    # rank-0-only checkpoint, then every rank loads it
    path = os.environ["DIST_TEST_CHECKPOINT"]
    if rank == 0:
        framework.save(ddp_model.module.state_dict(), path)
    dist.barrier()
    loaded = framework.load(path)
    close(loaded["fc2.bias"].numpy(), model.fc2.bias.detach().numpy(), "checkpoint from rank 0")

    # unused parameters: an error at the next forward, unless find_unused_parameters=True
    framework.manual_seed(3)
    strict = DDP(MLP(unused_branch=True))
    strict(framework.ones(2, 6)).sum().backward()
    expect_error(RuntimeError, lambda: strict(framework.ones(2, 6)), "unused parameters")
    tolerant = DDP(MLP(unused_branch=True), find_unused_parameters=True)
    for _ in range(2):
        tolerant(framework.ones(2, 6) * (rank + 1)).sum().backward()
    check(tolerant.module.unused.weight.grad is not None and
          float(tolerant.module.unused.weight.grad.abs().sum().item()) == 0.0,
          "unused parameter gets a zero averaged gradient")
    dist.barrier()


def crash(kind: str) -> None:
    """Rank 1 fails after one collective (``exit``: os._exit, ``kill``: SIGKILL, ``raise``: an
    uncaught exception, ``hang``: stops calling collectives); rank 0 waits in an all_reduce."""
    rank = dist.get_rank()
    t = framework.ones(3)
    dist.all_reduce(t)
    if rank == 1:
        time.sleep(0.3)
        sys.stdout.flush()
        if kind == "exit":
            os._exit(17)
        if kind == "kill":
            os.kill(os.getpid(), 9)
        if kind == "hang":
            time.sleep(120)
        raise ValueError("rank 1 fails on purpose")
    start = time.monotonic()
    try:
        dist.all_reduce(t)
    except dist.DistBackendError as exc:
        print(f"rank 0 caught DistBackendError after {time.monotonic() - start:.1f} s: {exc}",
              flush=True)
        raise
    raise AssertionError("rank 0's all_reduce completed without its peer")


def main() -> None:
    mode = sys.argv[1]
    timeout = float(os.environ.get("DIST_TEST_TIMEOUT", "30"))
    dist.init_process_group("mpi", init_method=os.environ.get("DIST_TEST_INIT", "env://"),
                            timeout=timedelta(seconds=timeout))
    if mode == "collectives":
        collectives()
    elif mode == "ddp":
        ddp()
    else:
        crash(mode)
    print(f"rank {dist.get_rank()}: {mode} ok ({CHECKS[0]} checks)", flush=True)
    dist.destroy_process_group()
    assert not dist.is_initialized()


if __name__ == "__main__":
    main()
