"""Passes on the buffers ``copy_`` fills: zero-padded gradients and repeated contiguous copies.

The autograd engine and the op layer build some results by writing into a
fresh buffer: ``full(0)`` then ``copy_`` of a piece into a slice of it (the
backward of ``split``/``chunk``/slicing: each piece's gradient padded with
zeros, the pieces then summed), or ``empty`` then one ``copy_`` of a strided
view (``.contiguous()``, ``reshape`` of a transposed view). Both passes here
rewrite such buffers without changing what any reader sees:

- ``merge_zero_buffers``: ``add(Z1, Z2)`` of two zero buffers written in
  disjoint regions becomes one buffer holding both writes (the add and one
  ``full`` go), and a zero buffer whose writes cover every element is made
  with ``empty`` instead of ``full`` (the fill goes). The in_proj weight and
  bias gradients of ``MultiheadAttention`` (q, k, v pieces) take three
  ``copy_`` instead of three fills, three copies and two adds.
- ``dedupe_copies``: a second ``empty`` + ``copy_`` of the same source (no
  write to the source's memory in between, neither buffer written again)
  is dropped and its readers read the first buffer (``MultiheadAttention``
  makes its input contiguous once per projection: q, k and v).

Results equal the unfused graph's except that a ``-0.0`` written into a zero
buffer stays ``-0.0`` (``0.0 + -0.0`` is ``+0.0``): equal as numbers.
"""
from __future__ import annotations

import numpy as np

from .ir import Graph, Node, Sym, Value, rebuild, walk

_FLOATS = ("float32", "float64", "float16", "bfloat16")


def _static(shape) -> bool:
    return not any(isinstance(d, Sym) for d in shape)


class _Uses:
    """Who reads and writes each value of ``graph``: view children, ``copy_`` writes (by the
    root they write), other readers, each node's position, the returned ids."""

    def __init__(self, graph: Graph) -> None:
        self.position = {id(n): i for i, n in enumerate(graph.nodes)}
        self.producer = {o.id: n for n in graph.nodes for o in n.outputs if o is not None}
        self.root = {v.id: v.id for v in graph.inputs}
        self.children: dict = {}  # value id -> view nodes reading it
        self.readers: dict = {}  # value id -> non-view nodes reading it (copy_ dst excluded)
        self.writes: dict = {}  # root id -> copy_ / effect nodes writing it
        for node in graph.nodes:
            for out in node.outputs:
                if out is not None:
                    self.root[out.id] = (self.root[node.args["input"].id] if node.is_view
                                         else out.id)
            if node.is_view:
                self.children.setdefault(node.args["input"].id, []).append(node)
                continue
            for name, v in _named_inputs(node):
                if node.op == "copy_" and name == "dst":
                    self.writes.setdefault(self.root[v.id], []).append(node)
                else:
                    self.readers.setdefault(v.id, []).append(node)
                    if node.has_effect and node.op != "copy_":  # optimizer steps write inputs
                        self.writes.setdefault(self.root[v.id], []).append(node)
        self.returned = {v.id for v in graph.output_values()}

    def tree(self, value: Value) -> list:
        """``value`` and every view of it (transitively)."""
        found, stack = [], [value]
        while stack:
            v = stack.pop()
            found.append(v)
            stack.extend(n.outputs[0] for n in self.children.get(v.id, ()))
        return found


def _named_inputs(node: Node) -> list:
    found = []
    for name, a in node.args.items():
        if isinstance(a, Value):
            found.append((name, a))
        else:
            inner = []
            walk(a, lambda leaf: inner.append(leaf) if isinstance(leaf, Value) else None)
            found.extend((name, v) for v in inner)
    return found


def _region(dst: Value, buffer: Value, uses: _Uses) -> "np.ndarray | None":
    """The flat element indices of ``buffer`` that view ``dst`` covers, or None when the view
    chain is not made of slices, selects, reshapes and permutes."""
    chain = []
    v = dst
    while v.id != buffer.id:
        node = uses.producer.get(v.id)
        if node is None or not node.is_view:
            return None
        chain.append(node)
        v = node.args["input"]
    index = np.arange(int(np.prod(buffer.shape, dtype=np.int64))).reshape(buffer.shape)
    for node in reversed(chain):
        a = node.args
        if node.op == "slice":
            d = a["dim"]
            index = index[(slice(None),) * d + (slice(a["start"], a["end"], a["step"]),)]
        elif node.op == "select":
            index = np.take(index, a["index"], axis=a["dim"])
        elif node.op == "reshape":
            index = index.reshape(a["shape"])
        elif node.op == "permute":
            index = index.transpose(a["dims"])
        else:  # expand (a broadcast write) or as_strided
            return None
    return index.ravel()


class _ZeroBuffer:
    """A ``full(shape, +0.0)`` buffer: its writes (``copy_`` nodes), their regions, the other
    nodes reading it (directly or through views)."""

    def __init__(self, node: Node, writes: list, regions: list, readers: list) -> None:
        self.node, self.writes, self.regions, self.readers = node, writes, regions, readers
        self.value = node.outputs[0]


def _zero_buffers(graph: Graph, uses: _Uses) -> dict:
    """Value id -> ``_ZeroBuffer`` for each float ``full`` of +0.0 whose writes are ``copy_``
    nodes through view chains ``_region`` understands, all before any other read."""
    found = {}
    for node in graph.nodes:
        if node.op != "full" or node.outputs[0] is None:
            continue
        value, fill = node.outputs[0], node.args.get("value")
        if (value.dtype not in _FLOATS or not _static(value.shape) or
                not isinstance(fill, (int, float)) or fill != 0 or np.signbit(fill)):
            continue
        writes = uses.writes.get(value.id, [])
        if any(w.op != "copy_" for w in writes):
            continue
        regions = [_region(w.args["dst"], value, uses) for w in writes]
        if any(r is None for r in regions):
            continue
        readers = [r for v in uses.tree(value) for r in uses.readers.get(v.id, ())]
        first_read = min((uses.position[id(r)] for r in readers), default=len(graph.nodes))
        if any(uses.position[id(w)] > first_read for w in writes):
            continue
        found[value.id] = _ZeroBuffer(node, writes, regions, readers)
    return found


def merge_zero_buffers(graph: Graph) -> int:
    """Merge ``add``s of zero-padded buffers written in disjoint regions into one buffer, and
    make a zero buffer whose writes cover it with ``empty``; returns the nodes removed
    (adds and fills; a fill made ``empty`` counts one)."""
    removed = 0
    while _merge_one_add(graph):
        removed += 2  # the add and the other buffer's full
    uses = _Uses(graph)
    for buf in _zero_buffers(graph, uses).values():
        if not buf.writes:
            continue
        covered = np.zeros(int(np.prod(buf.value.shape, dtype=np.int64)), bool)
        for region in buf.regions:
            covered[region] = True
        if covered.all():
            node = buf.node
            node.op = "empty"
            node.args = {"shape": node.args["shape"], "dtype": node.args["dtype"]}
            removed += 1
    return removed


def _merge_one_add(graph: Graph) -> bool:
    uses = _Uses(graph)
    zeros = _zero_buffers(graph, uses)
    for node in graph.nodes:
        if node.op != "add" or node.outputs[0] is None:
            continue
        a, b, out = node.args.get("a"), node.args.get("b"), node.outputs[0]
        if not (isinstance(a, Value) and isinstance(b, Value)) or a.id == b.id:
            continue
        za, zb = zeros.get(a.id), zeros.get(b.id)
        if za is None or zb is None:
            continue
        if (a.shape != out.shape or b.shape != out.shape or a.dtype != out.dtype
                or b.dtype != out.dtype or node.args["compute_dtype"].name != out.dtype):
            continue
        if any(z.readers != [node] or z.value.id in uses.returned for z in (za, zb)):
            continue
        if any(uses.returned & {v.id for v in uses.tree(z.value)} for z in (za, zb)):
            continue
        target, other = sorted((za, zb), key=lambda z: uses.position[id(z.node)])
        if target.regions and other.regions and np.intersect1d(
                np.concatenate(target.regions), np.concatenate(other.regions)).size:
            continue
        # other's view chains now start from target (created earlier, read by no one else)
        for view in uses.children.get(other.value.id, ()):
            view.args["input"] = target.value
        for write in other.writes:
            if write.args["dst"] is other.value:
                write.args["dst"] = target.value
        _replace(graph, out, target.value)
        graph.nodes = [n for n in graph.nodes if n is not node and n is not other.node]
        return True
    return False


def dedupe_copies(graph: Graph) -> int:
    """Drop an ``empty`` + ``copy_`` that copies what an earlier one copied; returns the
    nodes removed (two per copy).

    Both buffers must be ``empty`` outputs written once, by that ``copy_`` of the whole
    buffer, with the same source value, dtype and shape, and no write to the source's memory
    between the two copies; the second buffer's readers all come after its copy. The
    second buffer's readers then read the first. When the second buffer (or a view of it)
    is returned where the caller sees it, the two would alias: only returned values the
    caller never sees (``Graph.internal_outputs``, a training forward's saved values) may."""
    uses = _Uses(graph)
    visible = graph.user_visible()
    first: dict = {}  # (source id, dtype, shape) -> (buffer, its copy_)
    dropped: list = []
    for node in graph.nodes:
        if node.op != "copy_":
            continue
        dst, src = node.args["dst"], node.args["src"]
        maker = uses.producer.get(dst.id)
        if (not isinstance(src, Value) or maker is None or maker.op != "empty"
                or uses.writes.get(dst.id) != [node]):
            continue
        key = (src.id, dst.dtype, dst.shape)
        earlier = first.get(key)
        if earlier is None or not _same_copy(earlier, dst, node, src, uses, visible):
            first.setdefault(key, (dst, node))
            continue
        _replace(graph, dst, earlier[0])
        dropped += [maker, node]
    if dropped:
        gone = {id(n) for n in dropped}
        graph.nodes = [n for n in graph.nodes if id(n) not in gone]
    return len(dropped)


def _same_copy(earlier: tuple, dst: Value, copy: Node, src: Value, uses: _Uses,
               visible: set) -> bool:
    """True when buffer ``dst`` (filled by ``copy``) may be replaced by ``earlier``'s."""
    buffer, first_copy = earlier
    start, end = uses.position[id(first_copy)], uses.position[id(copy)]
    if any(start < uses.position[id(w)] < end for w in uses.writes.get(uses.root[src.id], ())):
        return False
    tree = uses.tree(dst)
    if any(uses.position[id(r)] < end for v in tree for r in uses.readers.get(v.id, ())):
        return False
    if any(v.id in visible for v in tree):
        return False  # the caller could write into the shared buffer
    returned = any(v.id in uses.returned for v in tree)
    return not (returned and any(v.id in visible for v in uses.tree(buffer)))


def _replace(graph: Graph, old: Value, new: Value) -> None:
    swap = lambda leaf: new if leaf is old else leaf  # noqa: E731
    for node in graph.nodes:
        node.args = rebuild(node.args, swap)
    graph.output = rebuild(graph.output, swap)


__all__ = ["dedupe_copies", "merge_zero_buffers"]
