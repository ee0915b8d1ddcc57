"""Every public collective, the object collectives, a subgroup and a DDP step on a one-rank
``nccl`` group of cuda tensors. Run on a GPU by the GPU check
(``test_nccl_one_rank_group_on_the_gpu``, in a subprocess) and, on machines without one, against
the fake libnccl (``test_nccl_one_rank_group_through_the_public_api_on_a_fake_library``)."""
from __future__ import annotations

import numpy as np

import framework
import framework.distributed as dist
from framework import nn
from framework.nn.parallel import DistributedDataParallel


def one_rank_checks(folder: str) -> str:
    """Raise on any mismatch; returns ``"nccl ok"``."""
    dist.init_process_group("nccl", init_method=f"file://{folder}/nccl-id", world_size=1, rank=0)
    try:
        _collectives()
        _ddp_step()
    finally:
        dist.destroy_process_group()
    return "nccl ok"


def _same(tensor, expected) -> None:
    got = tensor.cpu().numpy()
    assert np.allclose(got, expected), (got, expected)


def _collectives() -> None:
    cuda = "cuda"
    expected = np.arange(6, dtype=np.float32)
    x = framework.arange(6, dtype=framework.float32, device=cuda)
    assert x.data_ptr() != 0
    for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.MAX, dist.ReduceOp.MIN,
               dist.ReduceOp.PRODUCT):
        dist.all_reduce(x, op=op)
    _same(x, expected)
    work = dist.all_reduce(x, async_op=True)
    assert work.wait() and work.is_completed()
    dist.broadcast(x, src=0)
    dist.reduce(x, dst=0)
    _same(x, expected)
    outs = [framework.zeros(6, device=cuda)]
    dist.all_gather(outs, x)
    _same(outs[0], expected)
    flat = framework.zeros(6, device=cuda)
    dist.all_gather_into_tensor(flat, x)
    _same(flat, expected)
    out = framework.zeros(6, device=cuda)
    dist.reduce_scatter(out, [x])
    _same(out, expected)
    out = framework.zeros(6, device=cuda)
    dist.reduce_scatter_tensor(out, x)
    _same(out, expected)
    got = [framework.zeros(6, device=cuda)]
    dist.gather(x, got, dst=0)
    _same(got[0], expected)
    out = framework.zeros(6, device=cuda)
    dist.scatter(out, [x], src=0)
    _same(out, expected)
    whole = framework.full((3,), 2.0, dtype=framework.bfloat16, device=cuda)
    dist.all_reduce(whole)
    _same(whole.float(), [2.0, 2.0, 2.0])
    objects = [{"epoch": 3}, "text"]
    dist.broadcast_object_list(objects, src=0)
    assert objects == [{"epoch": 3}, "text"]
    gathered = [None]
    dist.all_gather_object(gathered, (1, 2))
    assert gathered == [(1, 2)]
    dist.barrier()
    sub = dist.new_group([0])
    y = framework.ones(2, device=cuda)
    dist.all_reduce(y, group=sub)
    _same(y, [1.0, 1.0])
    try:
        dist.all_reduce(framework.ones(2))
    except RuntimeError as exc:
        assert "communicates cuda tensors" in str(exc)
    else:
        raise AssertionError("a cpu tensor on the nccl backend must be refused")


def _ddp_step() -> None:
    framework.manual_seed(0)
    model = nn.Linear(3, 2).to("cuda")
    plain = nn.Linear(3, 2).to("cuda")
    plain.load_state_dict(model.state_dict())
    ddp = DistributedDataParallel(model)
    x = framework.ones(4, 3, device="cuda")
    ddp(x).sum().backward()
    plain(x).sum().backward()
    _same(model.weight.grad, plain.weight.grad.cpu().numpy())
    _same(model.bias.grad, plain.bias.grad.cpu().numpy())
