"""``DistributedDataParallel``: one model replica per process, gradients averaged across ranks.

At construction the parameters and buffers of rank 0 are broadcast, so every replica starts
equal. The parameters are split into buckets (in reverse registration order, the order in which
backward usually produces their gradients; the first bucket is capped at 1 MiB and the others at
``bucket_cap_mb``). A hook on each parameter fires when backward has accumulated its gradient;
when every gradient of a bucket is in, the bucket is flattened and its ``all_reduce`` (AVG) is
started asynchronously while backward goes on. Buckets are launched in index order on every rank
(collectives must match across ranks). Once the last bucket is launched, the hook waits for all
of them and copies the averaged gradients back into ``.grad``; the optimizer then sees the same
gradients on every rank, the mean over the union of the ranks' batches.
"""
from __future__ import annotations

import contextlib

from ... import distributed as dist
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...tensor import Tensor
from ..modules.module import Module

_FIRST_BUCKET_BYTES = 1 << 20
_UNFINISHED = ("Expected to have finished reduction in the prior iteration before starting a new "
               "one. This error indicates that your module has parameters that were not used in "
               "producing loss. You can enable unused parameter detection by passing the keyword "
               "argument `find_unused_parameters=True` to "
               "`framework.nn.parallel.DistributedDataParallel`, and by making sure all `forward` "
               "function outputs participate in calculating loss.")


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward`` averages its gradients over the process group."""

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, init_sync: bool = True) -> None:
        super().__init__()
        group = process_group if process_group is not None else dist.group.WORLD
        if group is None:
            raise ValueError("Default process group has not been initialized, please make sure "
                             "to call init_process_group.")
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have "
                               "any parameter that requires a gradient.")
        devices = {p.device for p in params}
        if len(devices) > 1:
            raise ValueError(f"DistributedDataParallel's parameters must be on one device, got "
                             f"{sorted(str(d) for d in devices)}")
        self.module = module
        self.process_group = group
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * (1 << 20))
        self.device_ids = device_ids
        self.dim = dim
        if init_sync:
            _broadcast_coalesced(list(module.parameters()) + list(module.buffers()), group)
        self.reducer = _Reducer(params, group, self.bucket_bytes_cap)

    def forward(self, *inputs, **kwargs):
        """Sync buffers from rank 0, run the module, arm the gradient reduction for backward."""
        armed = is_grad_enabled() and self.require_backward_grad_sync
        if armed:
            self.reducer.prepare()
        if self.broadcast_buffers and self.require_forward_param_sync:
            buffers = list(self.module.buffers())
            if buffers:
                _broadcast_coalesced(buffers, self.process_group)
        output = self.module(*inputs, **kwargs)
        if armed and self.find_unused_parameters:
            self.reducer.mark_unused(_reachable_leaves(output))
        return output

    @contextlib.contextmanager
    def no_sync(self):
        """Inside this context backward only accumulates local gradients; the first backward
        after it averages the accumulated ones."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous


class _Bucket:
    """Parameters whose gradients travel in one flat tensor and one ``all_reduce``."""

    def __init__(self, params: list) -> None:
        from ...ops.creation import zeros
        self.params = params
        self.offsets = []
        total = 0
        for p in params:
            self.offsets.append(total)
            total += p.numel()
        self.flat = zeros((total,), dtype=params[0].dtype, device=params[0].device)
        self.pending: set = set()
        self.work = None

    def flatten_grads(self) -> None:
        for p, offset in zip(self.params, self.offsets):
            piece = self.flat[offset:offset + p.numel()]
            if p.grad is None:
                piece.zero_()
            else:
                piece.copy_(p.grad.detach().reshape(-1))

    def unflatten_grads(self) -> None:
        for p, offset in zip(self.params, self.offsets):
            piece = self.flat[offset:offset + p.numel()].view(p.shape)
            if p.grad is None:
                p.grad = piece.clone()
            else:
                p.grad.detach().copy_(piece)


class _Reducer:
    """Bucketed, overlapped gradient averaging driven by post-accumulate-grad hooks."""

    def __init__(self, params: list, group, cap: int) -> None:
        self.group = group
        self.buckets = _make_buckets(params, cap)
        self.where = {}
        for index, bucket in enumerate(self.buckets):
            for slot, p in enumerate(bucket.params):
                self.where[id(p)] = (index, slot)
                p.register_post_accumulate_grad_hook(self._ready)
        self.armed = False
        self.next_bucket = 0

    def prepare(self) -> None:
        if self.armed:
            raise RuntimeError(_UNFINISHED)
        self.armed = True
        self.next_bucket = 0
        for bucket in self.buckets:
            bucket.pending = set(range(len(bucket.params)))
            bucket.work = None

    def mark_unused(self, reachable: set) -> None:
        """Count the parameters the output does not depend on as ready (their gradient: zero)."""
        for index, bucket in enumerate(self.buckets):
            for slot, p in enumerate(bucket.params):
                if id(p) not in reachable:
                    self._mark(index, slot)

    def _ready(self, param: Tensor) -> None:
        if self.armed:
            self._mark(*self.where[id(param)])

    def _mark(self, index: int, slot: int) -> None:
        self.buckets[index].pending.discard(slot)
        with no_grad():
            while self.next_bucket < len(self.buckets) and not self.buckets[self.next_bucket].pending:
                bucket = self.buckets[self.next_bucket]
                bucket.flatten_grads()
                bucket.work = dist.all_reduce(bucket.flat, op=dist.ReduceOp.AVG, group=self.group,
                                              async_op=True)
                self.next_bucket += 1
            for bucket in self.buckets[:self.next_bucket]:
                bucket.work.is_completed()  # drives the communication library's progress
            if self.next_bucket == len(self.buckets):
                self._finish()

    def _finish(self) -> None:
        for bucket in self.buckets:
            bucket.work.wait()
            bucket.unflatten_grads()
        self.armed = False


def _make_buckets(params: list, cap: int) -> list:
    """Buckets in reverse parameter order, one dtype each, the first up to 1 MiB."""
    buckets, current, size = [], [], 0
    limit = min(cap, _FIRST_BUCKET_BYTES)
    for p in reversed(params):
        nbytes = p.numel() * p.element_size()
        if current and (size + nbytes > limit or p.dtype is not current[0].dtype):
            buckets.append(_Bucket(current))
            current, size, limit = [], 0, cap
        current.append(p)
        size += nbytes
    if current:
        buckets.append(_Bucket(current))
    return buckets


def _broadcast_coalesced(tensors: list, group) -> None:
    """Broadcast ``tensors`` from the group's first rank, one flat message per dtype."""
    from ...ops.shape import cat
    if dist.get_world_size(group) == 1:
        return
    by_dtype: dict = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    with no_grad():
        for same in by_dtype.values():
            flat = cat([t.detach().reshape(-1) for t in same])
            dist.broadcast(flat, src=group.ranks[0], group=group)
            offset = 0
            for t in same:
                t.detach().copy_(flat[offset:offset + t.numel()].view(t.shape))
                offset += t.numel()


def _reachable_leaves(output) -> set:
    """``id`` of every leaf tensor the graph of ``output`` reaches."""
    from ...autograd.function import AccumulateGrad
    stack, seen, leaves = [t.grad_fn for t in _tensors(output) if t.grad_fn is not None], set(), set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            leaves.add(id(node.variable))
        stack.extend(child for child, _ in node.next_functions)
    return leaves


def _tensors(value) -> list:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []
