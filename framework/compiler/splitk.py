"""Sums of matmuls over adjacent blocks of the inner dim become one matmul.

``merge_split_matmuls(graph)``: ``add(V(a1 @ b1), V(a2 @ b2))`` where

- ``a_k`` is (a reshape to ``(1, M, K_k)`` of) ``slice(X, dim=-1, lo_k, hi_k)`` of one 2-d
  ``X`` and ``b_k`` (a reshape to ``(1, K_k, N)`` of) ``slice(W, dim=0, lo_k, hi_k)`` of one
  2-d ``W``, unit steps, the two ranges adjacent (``hi_1 == lo_2`` or ``hi_2 == lo_1``);
- ``V`` is the same chain of views applied to both results, each read only by it (and the
  chain only by the add); both float32, no write into ``X``'s columns of the first matmul
  between the two;

becomes ``V(slice(X, lo, hi) @ slice(W, lo, hi))`` over the union of the ranges, at the
second matmul's place: the block product ``[a1 a2] @ [b1; b2] = a1 @ b1 + a2 @ b2``. Three
pieces (attention's q, k, v input gradients, ``g_q @ W_q + g_k @ W_k + g_v @ W_v`` from the
in_proj weight's row blocks) merge pair by pair into one matmul reading the whole
concatenated gradient buffer and the whole weight: two matmuls and two adds fewer. The
result differs from the unmerged one by float32 rounding (one sum over ``K`` instead of
two sums added).
"""
from __future__ import annotations

from .ir import Graph, Node, Value

_VIEWS_ALONG = ("reshape", "permute", "expand", "slice", "select")


def merge_split_matmuls(graph: Graph) -> int:
    """Merge pairs as the module docstring says; returns the number of matmuls removed."""
    merged = 0
    while _merge_one(graph):
        merged += 1
    if merged:
        graph.eliminate_dead_code()
    return merged


def _index(graph: Graph) -> tuple:
    readers: dict = {}
    for node in graph.nodes:
        for v in node.inputs():
            readers.setdefault(v.id, []).append(node)
    producer = {o.id: n for n in graph.nodes for o in n.outputs if o is not None}
    position = {id(n): i for i, n in enumerate(graph.nodes)}
    returned = {v.id for v in graph.output_values()}
    return readers, producer, position, returned


def _chain_back(v: Value, producer: dict, readers: dict, returned: set) -> tuple:
    """``(source, views)``: the views making ``v`` (each read only by the next) back to the
    first non-view node's output."""
    views = []
    while True:
        node = producer.get(v.id)
        if node is None or not node.is_view:
            return v, views[::-1]
        if len(readers.get(node.args["input"].id, ())) != 1 or \
                node.args["input"].id in returned:
            return v, views[::-1]
        views.append(node)
        v = node.args["input"]


def _block(v: Value, producer: dict, dim_last: bool) -> "tuple | None":
    """``(root, lo, hi)`` when ``v`` is a batch-1 reshape of a unit-step slice of a 2-d
    ``root`` along its last dim (``dim_last``) or its first."""
    node = producer.get(v.id)
    if node is None or node.op != "reshape" or len(v.shape) != 3 or v.shape[0] != 1:
        return None
    s = node.args["input"]
    sl = producer.get(s.id)
    if sl is None or sl.op != "slice" or sl.args.get("step", 1) != 1:
        return None
    root = sl.args["input"]
    if len(root.shape) != 2 or sl.args["dim"] % 2 != (1 if dim_last else 0):
        return None
    if tuple(s.shape) != ((v.shape[1], v.shape[2])):
        return None
    return root, sl.args["start"], sl.args["end"]


def _merge_one(graph: Graph) -> bool:
    readers, producer, position, returned = _index(graph)
    for add in graph.nodes:
        if add.op != "add" or add.outputs[0] is None or add.outputs[0].dtype != "float32":
            continue
        a, b = add.args.get("a"), add.args.get("b")
        if not isinstance(a, Value) or not isinstance(b, Value) or a is b \
                or add.args["compute_dtype"].name != "float32":
            continue
        found = []
        for operand in (a, b):
            if len(readers.get(operand.id, ())) != 1 or operand.id in returned:
                break
            source, views = _chain_back(operand, producer, readers, returned)
            mm = producer.get(source.id)
            if mm is None or mm.op != "matmul" or len(readers.get(source.id, ())) != 1 \
                    or source.id in returned or source.dtype != "float32":
                break
            left = _block(mm.args["a"], producer, True)
            right = _block(mm.args["b"], producer, False)
            if left is None or right is None or left[1:] != right[1:]:
                break
            found.append((mm, views, left, right))
        if len(found) != 2:
            continue
        (m1, v1, l1, r1), (m2, v2, l2, r2) = found
        if l1[0] is not l2[0] or r1[0] is not r2[0] or m1.outputs[0].shape != \
                m2.outputs[0].shape or not _same_views(v1, v2):
            continue
        if l1[2] == l2[1]:
            lo, hi = l1[1], l2[2]
        elif l2[2] == l1[1]:
            lo, hi = l2[1], l1[2]
        else:
            continue
        first, second = sorted((m1, m2), key=lambda n: position[id(n)])
        first_range = l1[1:] if first is m1 else l2[1:]
        if _written_between(graph, l1[0], first, second, first_range, producer, position):
            continue
        _rewrite(graph, add, first, second, v1, l1[0], r1[0], lo, hi)
        return True
    return False


def _same_views(v1: list, v2: list) -> bool:
    return len(v1) == len(v2) and all(
        p.op == q.op and {k: x for k, x in p.args.items() if k != "input"}
        == {k: x for k, x in q.args.items() if k != "input"} for p, q in zip(v1, v2))


def _written_between(graph: Graph, x: Value, first: Node, second: Node, columns: tuple,
                     producer: dict, position: dict) -> bool:
    """True when an effect node between ``first`` and ``second`` may write ``x``'s
    ``columns`` (a ``copy_`` into other columns of ``x`` is fine)."""
    for node in graph.nodes[position[id(first)] + 1:position[id(second)]]:
        if not node.has_effect:
            continue
        if node.op != "copy_":
            return True
        dst = node.args["dst"]
        while producer.get(dst.id) is not None and producer[dst.id].op == "reshape":
            dst = producer[dst.id].args["input"]
        sl = producer.get(dst.id)
        if sl is None or sl.op != "slice":
            if _root(dst, producer) is _root(x, producer):
                return True
            continue
        if _root(sl.args["input"], producer) is not _root(x, producer):
            continue
        if sl.args["input"] is not x or sl.args["dim"] % 2 != 1 or not (
                sl.args["end"] <= columns[0] or sl.args["start"] >= columns[1]):
            return True
    return False


def _root(v: Value, producer: dict) -> Value:
    node = producer.get(v.id)
    while node is not None and node.is_view:
        v = node.args["input"]
        node = producer.get(v.id)
    return v


def _rewrite(graph: Graph, add: Node, first: Node, second: Node, views: list, x: Value,
             w: Value, lo: int, hi: int) -> None:
    """One matmul over columns/rows ``lo:hi`` of ``x``/``w`` at ``second``'s place, the
    views again on its result, the add's readers reading them."""
    device = second.device
    m, n = second.outputs[0].shape[1], second.outputs[0].shape[2]
    new = []

    def node(op, args, shape, dtype="float32"):
        out = graph.new_value(tuple(shape), dtype, device)
        new.append(Node(op, args, [out], device))
        return out

    whole = lo == 0 and hi == x.shape[1] == w.shape[0]  # every column: no slices
    xs = x if whole else node("slice", {"input": x, "dim": 1, "start": lo, "end": hi,
                                        "step": 1}, (x.shape[0], hi - lo))
    a = node("reshape", {"input": xs, "shape": (1, m, hi - lo)}, (1, m, hi - lo))
    ws = w if whole else node("slice", {"input": w, "dim": 0, "start": lo, "end": hi,
                                        "step": 1}, (hi - lo, w.shape[1]))
    b = node("reshape", {"input": ws, "shape": (1, hi - lo, n)}, (1, hi - lo, n))
    out = node("matmul", {"a": a, "b": b}, (1, m, n))
    for view in views:
        args = dict(view.args)
        args["input"] = out
        out = node(view.op, args, view.outputs[0].shape)
    at = graph.nodes.index(second) + 1
    graph.nodes[at:at] = new
    old = add.outputs[0]
    graph.nodes.remove(add)
    from .ir import rebuild
    swap = lambda leaf: out if leaf is old else leaf  # noqa: E731
    for node_ in graph.nodes:
        node_.args = rebuild(node_.args, swap)
    graph.output = rebuild(graph.output, swap)
