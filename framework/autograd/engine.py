"""The backward engine: walk the graph from the roots in topological order.

Gradients flowing into each node are summed per output; a node runs its
``backward`` once all its consumers have contributed. Leaves receive their
gradient in ``.grad`` (``backward``) or it is captured and returned
(``grad``). Without ``retain_graph`` every node's saved tensors are freed.
"""
from __future__ import annotations

import math
import sys
import weakref

from .. import dtypes
from .._backends import for_device
from ..tensor import Tensor
from .anomaly_mode import _state as _anomaly_state
from .anomaly_mode import check_gradients
from .function import AccumulateGrad
from .grad_mode import set_grad_enabled

_new = object.__new__


def _collect(roots) -> dict:
    """Number of graph edges pointing at each node reachable from ``roots``."""
    dependencies: dict = {}
    get = dependencies.get
    seen = {node for node in roots if node is not None}
    stack = list(seen)
    while stack:
        for child, _ in stack.pop()._edges:
            if child is not None:
                dependencies[child] = get(child, 0) + 1
                if child not in seen:  # expand each node once
                    seen.add(child)
                    stack.append(child)
    return dependencies


def _collect_needed(roots, capture: dict) -> tuple:
    """For ``autograd.grad``: the graph pruned to the nodes on a path to a captured input.

    Returns ``(dependencies, masks)``: ``dependencies`` counts the edges between kept nodes
    only; ``masks`` maps each kept node to a tuple saying, per edge, whether its child is
    kept (the inputs whose gradients are needed), like PyTorch's ``exec_info``. A node kept
    only because a gradient is captured at it has an all-False mask (it is not run).
    """
    wanted = {key[0] for key in capture}
    masks: dict = {}
    dependencies: dict = {}
    get = dependencies.get
    entered = set()
    # Iterative depth-first post-order, each node entered once: a node's mask is made when all
    # its children are done (the graph is acyclic, so a child entered is finished by then).
    for root in roots:
        if root is None or root in entered:
            continue
        entered.add(root)
        nodes = [root]
        children = [iter(root._edges)]
        while children:
            for child, _ in children[-1]:
                if child is not None and child not in entered:
                    entered.add(child)
                    if not child._edges and id(child) not in wanted:
                        continue  # a leaf's node nobody captures: never kept, nothing below
                    nodes.append(child)
                    children.append(iter(child._edges))
                    break
            else:
                children.pop()
                node = nodes.pop()
                edges = node._edges
                for child, _ in edges:
                    if child in masks:  # a kept child (None is never a key)
                        break
                else:
                    if id(node) in wanted:
                        masks[node] = (False,) * len(edges)
                    continue
                masks[node] = tuple([child in masks for child, _ in edges])
                for child, _ in edges:
                    if child in masks:
                        dependencies[child] = get(child, 0) + 1
    return dependencies, masks


def _apply_masked(node, slots: list, mask: tuple) -> tuple:
    """Run ``node``'s backward asking only for the gradients ``mask`` keeps: a framework op's
    backward skips the others (their ``needs_input_grad`` is False for this call), as
    PyTorch's built-in nodes do under ``autograd.grad``. A user's ``Function`` sees its
    forward's ``needs_input_grad``, as in PyTorch; the engine drops the unwanted results."""
    needs = node.needs_input_grad
    if False not in mask:  # every input's gradient is wanted: nothing to narrow
        return node.apply(slots)
    narrowed = tuple([need and kept for need, kept in zip(needs, mask)]) + tuple(needs[len(mask):])
    if narrowed == needs or node.fn_cls is None or node.fn_cls._user_defined:
        return node.apply(slots)
    node.needs_input_grad = narrowed
    try:
        return node.apply(slots)
    finally:
        node.needs_input_grad = needs


def _accumulate(buffers: dict, node, index: int, grad) -> None:
    slots = buffers.setdefault(node, [None] * max(node.num_outputs, 1))
    if slots[index] is None:
        slots[index] = grad
    else:
        slots[index] = slots[index] + grad


def _run_prehooks(node, slots: list) -> list:
    for index, hooks in node.pre_hooks.items():
        if slots[index] is None:
            continue
        for hook in hooks:
            result = hook(slots[index])
            if result is not None:
                slots[index] = result
    if node._node_prehooks:
        for hook in list(node._node_prehooks):
            result = hook(tuple(slots))
            if result is not None:
                slots = _hook_result(node, "prehook", result, len(slots))
    return slots


def _run_posthooks(node, grads_in, grad_outputs) -> tuple:
    """``Node.register_hook`` hooks: ``hook(grad_inputs, grad_outputs)`` on the gradients of
    the inputs ``next_functions`` lists; a returned tuple replaces them."""
    positions = node._public_positions()
    grads_in = list(grads_in) + [None] * (len(node._edges) - len(grads_in))
    for hook in list(node._node_posthooks):
        result = hook(tuple([grads_in[i] for i in positions]), tuple(grad_outputs))
        if result is not None:
            for i, grad in zip(positions, _hook_result(node, "hook", result, len(positions))):
                grads_in[i] = grad
    return tuple(grads_in)


def _hook_result(node, kind: str, result, expected: int) -> list:
    result = list(result) if isinstance(result, (tuple, list)) else [result]
    if len(result) != expected:
        raise RuntimeError(f"{node.name()} {kind} returned {len(result)} gradients, "
                           f"expected {expected}")
    return result


def run_backward(roots, root_grads, retain_graph: bool, create_graph: bool,
                 capture: dict | None = None, accumulate: bool = True) -> None:
    """Propagate ``root_grads`` from the nodes of ``roots`` through the graph.

    ``roots`` are ``(node, output_nr)`` pairs. ``capture`` maps ``(node,
    output_nr)`` to a list that receives the gradient reaching it (used by
    ``autograd.grad``); leaves' ``.grad`` is updated only when ``accumulate``.
    """
    buffers: dict = {}
    for (node, index), grad in zip(roots, root_grads):
        _accumulate(buffers, node, index, grad)
    if capture is None:
        dependencies = _collect([node for node, _ in roots])
        masks = None
    else:
        dependencies, masks = _collect_needed([node for node, _ in roots], capture)
    ready = [node for node in {id(n): n for n, _ in roots}.values()
             if dependencies.get(node, 0) == 0 and (masks is None or node in masks)]
    captured = {key[0] for key in capture} if capture else ()  # ids of nodes captured at
    anomaly = _anomaly_state
    with set_grad_enabled(create_graph):
        while ready:
            node = ready.pop()
            slots = buffers.pop(node, None)
            if slots is None:
                slots = [None] * (node.num_outputs or 1)
            if node.pre_hooks or node._node_prehooks:
                slots = _run_prehooks(node, slots)
            if id(node) in captured:
                _capture(capture, node, slots)
            if node.retained:
                _set_retained(node, slots, create_graph)
            if isinstance(node, AccumulateGrad):
                if accumulate and slots[0] is not None:
                    _accumulate_into_leaf(node.variable, slots, create_graph)
                continue
            edges = node._edges
            if masks is None:
                mask = None
            else:
                mask = masks[node]
                if True not in mask:
                    continue  # captured here, and nothing further down is wanted
            # _any_grad(slots), with the one-output case first
            if slots[0] is None and (len(slots) == 1 or not _any_grad(slots)):
                grads_in = (None,) * len(edges)
            elif mask is None:
                grads_in = node.apply(slots)
            else:
                grads_in = _apply_masked(node, slots, mask)
            if node._node_posthooks:
                grads_in = _run_posthooks(node, grads_in, slots)
            if not retain_graph and node._saved is not None:
                node.release()
            if len(grads_in) < len(edges):
                _check_count(node, grads_in)
            if anomaly["enabled"]:
                check_gradients(node, grads_in)
            for (child, index), grad in zip(edges, grads_in):
                if child is None or (masks is not None and child not in masks):
                    continue
                if grad is not None:
                    meta = child.output_meta
                    if index >= len(meta) or meta[index] is None or grad._a.shape != meta[index][0]:
                        grad = _match_shape(grad, child, index)
                    child_slots = buffers.get(child)
                    if child_slots is None:
                        child_slots = buffers[child] = [None] * (child.num_outputs or 1)
                    if child_slots[index] is None:
                        child_slots[index] = grad
                    else:
                        child_slots[index] = _sum(child_slots[index], grad, create_graph)
                    child_slots = None
                count = dependencies[child] - 1
                dependencies[child] = count
                if count == 0:
                    ready.append(child)
            # Drop this frame's references to the gradients handed on: a leaf's gradient that
            # nothing else references is taken into ``.grad`` without a copy (``_unshared``).
            grads_in = grad = None


_SUM_DTYPES = frozenset((dtypes.float32, dtypes.float64))


def _sum(total, grad, create_graph: bool):
    """``total + grad``: two gradients reaching one output. Outside ``create_graph``, two plain
    tensors of one float32/float64 dtype, device and shape are added by the backend's ``add``
    kernel directly (the call ``Tensor.__add__`` ends in for them, without its dispatch);
    anything else is ``total + grad``."""
    if (not create_graph and type(total) is Tensor and type(grad) is Tensor):
        a, b = total._a, grad._a
        dtype = a.dtype
        device = total._device
        if (dtype is b.dtype and dtype in _SUM_DTYPES and a.shape == b.shape
                and device is grad._device and total._grad_fn is None
                and grad._grad_fn is None):
            out = _new(Tensor)  # Tensor._make, inlined
            out._a = for_device(device).add(a, b, dtype, dtype)
            out._device = device
            out._requires_grad = False
            return out
    return total + grad


def _any_grad(slots: list) -> bool:
    """Whether any output of the node received a gradient."""
    for g in slots:
        if g is not None:
            return True
    return False


def _check_count(node, grads_in) -> None:
    if len(grads_in) < len(node._edges):
        raise RuntimeError(
            f"function {node.name()} returned an incorrect number of gradients "
            f"(expected {len(node._edges)}, got {len(grads_in)})")


def _match_shape(grad, child, index):
    meta = child.output_meta[index] if index < len(child.output_meta) else None
    if meta is not None and tuple(grad.shape) != tuple(meta[0]):
        from .. import ops
        try:
            return ops.reduce.sum_to_size(grad, meta[0])
        except Exception:
            raise RuntimeError(
                f"Function {child.name()} got a gradient of shape {tuple(grad.shape)} for an "
                f"output of shape {tuple(meta[0])}") from None
    return grad


def _capture(capture, node, slots) -> None:
    if not capture:
        return
    for index, grad in enumerate(slots):
        key = (id(node), index)
        if key in capture and grad is not None:
            capture[key].append(grad)


def _set_retained(node, slots, create_graph: bool) -> None:
    for index, ref in node.retained.items():
        tensor = ref()
        if tensor is None or slots[index] is None:
            continue
        grad = slots[index] if create_graph else slots[index].detach()
        tensor.grad = grad if tensor.grad is None else tensor.grad + grad


def _accumulate_into_leaf(leaf, slots: list, create_graph: bool) -> None:
    """Add the gradient in ``slots[0]`` (taken out of the list) into ``leaf.grad``."""
    grad, slots[0] = slots[0], None
    if leaf._hooks:
        for hook in leaf._leaf_hooks():
            result = hook(grad)
            if result is not None:
                grad = result
            result = None
    if not create_graph and (grad._grad_fn is not None or grad._requires_grad):
        grad = grad.detach()
    if grad._a.dtype is not leaf._a.dtype or not (grad._device is leaf._device
                                                  or grad._device == leaf._device):
        grad = grad.to(leaf.device, leaf.dtype)
    current = leaf._grad
    if current is None:
        # Like PyTorch's AccumulateGrad: outside create_graph, a gradient nothing else can see
        # becomes .grad as it is; any other is copied (under create_graph, a recorded clone),
        # so that later in-place accumulation into .grad cannot write into memory that
        # someone else reads (a retained .grad, a hook's copy, the caller's grad_tensors).
        grad = grad if not create_graph and _unshared(grad) else grad.clone()
        if isinstance(grad, Tensor) and grad._a.shape == leaf._a.shape:
            leaf._grad = grad  # the ``grad`` setter's checks hold: same dtype, device, shape
        else:
            leaf.grad = grad
    elif create_graph or current.requires_grad or not _writable(current):
        leaf.grad = current + grad
    elif not _add_into_plain(current, grad):
        # Like PyTorch: accumulate into the existing .grad tensor (references stay valid).
        current.add_(grad)
    for hook in leaf._post_accumulate_hooks or ():
        hook(leaf)


def _add_into_plain(target, grad) -> bool:
    """``target.add_(grad)`` for a plain (no graph, no view) ``.grad`` and a gradient of its
    dtype, shape and device, by the backend's ``add`` and ``copy_`` (what ``add_`` runs,
    without the in-place op's layer), bumping the version as ``add_`` does. False, doing
    nothing, for any other pair."""
    from ..tensor import Tensor
    if (type(target) is not Tensor or type(grad) is not Tensor or target._base is not None
            or target._grad_fn is not None):
        return False
    a, b = target._a, grad._a
    if a.dtype is not b.dtype or a.shape != b.shape or not (
            target._device is grad._device or target._device == grad._device):
        return False
    kernels = for_device(target._device)
    kernels.copy_(a, kernels.add(a, b, a.dtype, a.dtype))
    a.storage.version += 1
    return True


def _writable(t) -> bool:
    return not any(size > 1 and stride == 0 for size, stride in zip(t.shape, t.stride()))


_PLAIN = frozenset(("_a", "_device", "_requires_grad"))

# ``_unshared`` counts references with ``sys.getrefcount``, whose counts of a frame's own
# references are exact on CPython with the GIL up to 3.13. From 3.14 the interpreter may
# borrow references it loads (smaller counts), and free-threaded builds count differently:
# there every gradient is copied, as before.
_REFCOUNTS_EXACT = (sys.implementation.name == "cpython" and sys.version_info < (3, 14)
                    and getattr(sys, "_is_gil_enabled", lambda: True)())


def _unshared(grad) -> bool:
    """Whether only the caller references ``grad`` and its memory, so it may become a leaf's
    ``.grad`` without a copy.

    The test is on CPython's reference counts, at each level that can share memory: the
    ``Tensor`` (held by the caller's one variable), its ``Array`` (by this tensor only: no
    other tensor, e.g. a ``detach()`` or a retained ``.grad``, shares it), the ``Storage`` (by
    this array only: no view) and the buffer under it (``_memory_unshared``: no other NumPy
    view). One gradient handed to two leaves (``add``'s backward) is referenced twice while
    the first leaf takes it: that one copies, the last one may take it. The tensor must be
    plain (no graph, hooks or view state), C-contiguous and cover its whole storage, as
    ``clone`` would return it.
    """
    from ..tensor import Tensor
    if (not _REFCOUNTS_EXACT or type(grad) is not Tensor or grad.__dict__.keys() != _PLAIN
            or grad._requires_grad):
        return False
    # 3 = the caller's variable, this function's argument and getrefcount's own argument
    if sys.getrefcount(grad) > 3 or weakref.getweakrefcount(grad):
        return False
    array = grad._a
    if sys.getrefcount(array) > 3:  # grad._a, the local and getrefcount's argument
        return False
    storage = array.storage
    if sys.getrefcount(storage) > 3 or weakref.getweakrefcount(storage):
        return False
    shape = array.shape
    if array.offset != 0 or storage.numel != _numel(shape) or not array.is_contiguous():
        return False
    return _memory_unshared(storage, array)


_numel = math.prod


def _memory_unshared(storage, array) -> bool:
    """Whether ``storage.buffer`` is referenced only by ``storage`` and by ``array``'s cached
    view. A NumPy buffer owns its memory (``base`` None) or is a flat view of the array a
    kernel returned (its ``base``, often the cache too); NumPy views hold their base, so any
    other view of the memory shows as one more reference to the buffer or to its base."""
    buffer = storage.buffer
    cache = array._cache
    base = getattr(buffer, "base", None)
    cache_base = getattr(cache, "base", None)
    # References expected to ``buffer``: storage.buffer, the local, getrefcount's argument
    on_buffer = 3 + 2 * (cache is buffer) + 2 * (cache_base is buffer)
    if base is None:
        if cache is not None and cache is not buffer and cache_base is not buffer:
            return False
        return sys.getrefcount(buffer) <= on_buffer
    if getattr(base, "base", None) is not None:
        return False
    if (cache is not None and cache is not base and cache_base is not base
            and cache_base is not buffer):
        return False
    # ... and to ``base``: buffer.base, the local, getrefcount's argument
    on_base = 3 + 2 * (cache is base) + 2 * (cache_base is base)
    return sys.getrefcount(buffer) <= on_buffer and sys.getrefcount(base) <= on_base
