"""Passes on the buffers ``copy_`` fills: zero-padded pieces, repeated copies, concatenations.

The autograd engine and the op layer build some results by writing into a
fresh buffer: ``full(0)`` then ``copy_`` of a piece into a slice of it (the
backward of ``split``/``chunk``/slicing: each piece's gradient padded with
zeros, the pieces then summed), or ``empty`` then one ``copy_`` of a strided
view (``.contiguous()``, ``reshape`` of a transposed view). The passes here
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
- ``merge_concatenated_pieces``: a buffer filled block by block with ``T_k.T @ Y``
  or ``sum(T_k, dims=(0,))`` pieces of fresh column blocks ``T_k`` becomes one
  matmul or sum of the buffer the blocks are written into side by side.

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


# -- pieces of a concatenation computed from column blocks --------------------------------
def merge_concatenated_pieces(graph: Graph) -> int:
    """One matmul or sum for a buffer filled with pieces computed per column block.

    A buffer ``C`` (``empty``) filled block by block along dim 0 with ``copy_`` of

    - ``T_k.T @ Y`` (``matmul`` of a transposed 2-D ``T_k`` and the same ``Y`` for every
      piece): the weight gradient of a linear layer applied to column blocks of one
      output (``MultiheadAttention``'s packed q, k, v projection), or
    - ``sum(T_k, dims=(0,))``: the bias gradient of the same,

    where ``T_k`` (R x n_k, the k-th piece's rows of C) is a fresh buffer (``empty`` then
    one ``copy_``, read through reshapes) or a column block of a shared one, becomes one
    ``G.T @ Y`` (one ``sum(G, dims=(0,))``) of G, the R x sum(n_k) buffer the ``T_k``
    blocks are written into side by side. The pieces' ``copy_`` into ``C`` go; the
    ``T_k`` readers read G's column blocks (strided views; kernels take any strides).
    Same sums of products (BLAS may order a longer matmul differently: float32 rounding).
    Returns the number of buffers replaced."""
    done = 0
    while _merge_one_concatenation(graph):
        done += 1
    if done:
        graph.eliminate_dead_code()
    return done


def _column_block(graph: Graph, t: Value, uses: _Uses):
    """``("fresh", empty node, copy_ node, chain)`` when 2-D ``t`` is a fresh buffer read
    only through the reshape ``chain`` ending at ``t``; ``("slice", G, start)`` when it is
    ``slice(G, dim=1, start, ...)`` of a 2-D value G; else None."""
    node = uses.producer.get(t.id)
    if node is None:
        return None
    if node.op == "slice" and node.args["dim"] == 1 and node.args["step"] == 1:
        g = node.args["input"]
        if len(g.shape) == 2 and uses.producer.get(g.id) is not None and \
                uses.producer[g.id].op == "empty":
            return ("slice", g, node.args["start"])
        return None
    chain, v = [], t
    while node is not None and node.op == "reshape":
        chain.append(node)
        v = node.args["input"]
        node = uses.producer.get(v.id)
    if node is None or node.op != "empty" or v.id in uses.returned:
        return None
    writes = uses.writes.get(v.id, [])
    if len(writes) != 1 or writes[0].args["dst"] is not v:
        return None
    # every value from the buffer up to t (t excluded) is read only by the next reshape
    between = [v] + [view.outputs[0] for view in chain[1:]]
    if chain and any(u.id in uses.returned or uses.readers.get(u.id) or
                     len(uses.children.get(u.id, ())) != 1 for u in between):
        return None
    return ("fresh", node, writes[0], chain)


def _piece(src: Value, uses: _Uses):
    """``(kind, T, key)`` for a piece ``src`` of a concatenation: ``("matmul", T, Y)`` for
    ``reshape(matmul(reshape(permute(T, (1, 0))), Y))``, ``("sum", T, out dtype)`` for
    ``sum(T, dims=(0,))``; None otherwise."""
    node = uses.producer.get(src.id)
    if node is not None and node.op == "sum" and tuple(node.args["dims"]) == (0,):
        t = node.args["x"]
        return ("sum", t, node.args["out_dtype"]) if len(t.shape) == 2 else None
    if node is not None and node.op == "reshape":
        node = uses.producer.get(node.args["input"].id)
    if node is None or node.op != "matmul":
        return None
    a = node.args["a"]
    left = uses.producer.get(a.id)
    if left is not None and left.op == "reshape" and len(a.shape) == 3 and a.shape[0] == 1:
        a = left.args["input"]
        left = uses.producer.get(a.id)
    if left is None or left.op != "permute" or tuple(left.args["dims"]) != (1, 0):
        return None
    t, y = left.args["input"], node.args["b"]
    if len(t.shape) != 2 or len(y.shape) != 3 or y.shape[0] != 1 or y.shape[1] != t.shape[0]:
        return None
    return ("matmul", t, y)


def _merge_one_concatenation(graph: Graph) -> bool:
    uses = _Uses(graph)
    for buffer in graph.nodes:
        if buffer.op != "empty" or len(buffer.outputs[0].shape) not in (1, 2):
            continue
        c = buffer.outputs[0]
        plan = _concatenation(graph, c, uses)
        if plan is not None:
            _rewrite_concatenation(graph, c, buffer, plan, uses)
            return True
    return False


def _concatenation(graph: Graph, c: Value, uses: _Uses):
    """``(kind, key, pieces)`` when buffer ``c`` is a concatenation this pass replaces:
    pieces ``(start, end, T, block, copy_ node)`` cover dim 0 in order."""
    writes = uses.writes.get(c.id, [])
    if len(writes) < 2:
        return None
    pieces = []
    for w in writes:
        dst = w.args["dst"]
        view = uses.producer.get(dst.id)
        if (view is None or view.op != "slice" or view.args["input"] is not c
                or view.args["dim"] != 0 or view.args["step"] != 1
                or uses.readers.get(dst.id) or uses.children.get(dst.id)):
            return None
        found = _piece(w.args["src"], uses)
        if found is None:
            return None
        kind, t, key = found
        start, end = view.args["start"], min(view.args["end"], c.shape[0])
        if t.shape[1] != end - start or len(c.shape) != (1 if kind == "sum" else 2) or \
                t.dtype != c.dtype:
            return None
        block = _column_block(graph, t, uses)
        if block is None:
            return None
        if block[0] == "fresh":  # its copy_ must fill it from a same-shaped source
            fresh, source = block[1].outputs[0], block[2].args["src"]
            if not isinstance(source, Value) or source.shape != fresh.shape or \
                    _common_split(tuple(fresh.shape), tuple(t.shape)) is None:
                return None
        pieces.append((start, end, t, block, w, kind, key))
    pieces.sort(key=lambda p: p[0])
    if pieces[0][0] != 0 or pieces[-1][1] != c.shape[0] or any(
            a[1] != b[0] for a, b in zip(pieces, pieces[1:])):
        return None
    kinds = {(p[5], id(p[6]) if p[5] == "matmul" else p[6].name) for p in pieces}
    rows = {p[2].shape[0] for p in pieces}
    if len(kinds) != 1 or len(rows) != 1:
        return None
    kind = pieces[0][5]
    if kind == "matmul" and c.shape != (c.shape[0], pieces[0][6].shape[2]):
        return None
    blocks = [p[3] for p in pieces]
    if all(b[0] == "slice" for b in blocks):
        g = blocks[0][1]
        if any(b[1] is not g or b[2] != p[0] for b, p in zip(blocks, pieces)) or \
                g.shape[1] != c.shape[0]:
            return None
    elif not all(b[0] == "fresh" for b in blocks):
        return None
    last_read = min((uses.position[id(r)] for v in uses.tree(c)
                     for r in uses.readers.get(v.id, ())), default=len(graph.nodes))
    if any(uses.position[id(w)] > last_read for w in uses.writes.get(c.id, [])):
        return None
    return kind, pieces[0][6], pieces


def _rewrite_concatenation(graph: Graph, c: Value, buffer: Node, plan, uses: _Uses) -> None:
    kind, key, pieces = plan
    nodes = graph.nodes
    device = buffer.device
    rows = pieces[0][2].shape[0]
    if pieces[0][3][0] == "fresh":  # G: the blocks side by side, each written by its copy_
        g = graph.new_value((rows, c.shape[0]), pieces[0][2].dtype, device)
        first = min(uses.position[id(p[3][1])] for p in pieces)
        made = [Node("empty", {"shape": g.shape, "dtype": pieces[0][3][1].args["dtype"]}, [g],
                     device)]
        for start, end, t, (_, empty, copy, chain), *_ in pieces:
            block = graph.new_value((rows, end - start), g.dtype, device)
            made.append(Node("slice", {"input": g, "dim": 1, "start": start, "end": end,
                                       "step": 1}, [block], device))
            _retarget_copy(graph, copy, block, empty.outputs[0].shape)
            _replace(graph, t, block)
        graph.nodes = nodes = nodes[:first] + made + nodes[first:]
    else:
        g = pieces[0][3][1]
    last = max(graph.nodes.index(p[4]) for p in pieces)
    if kind == "matmul":
        y = key
        gt = graph.new_value((g.shape[1], rows), g.dtype, device)
        gt3 = graph.new_value((1, g.shape[1], rows), g.dtype, device)
        prod = graph.new_value((1, g.shape[1], y.shape[2]), c.dtype, device)
        result = graph.new_value(c.shape, c.dtype, device)
        made = [Node("permute", {"input": g, "dims": (1, 0)}, [gt], device),
                Node("reshape", {"input": gt, "shape": gt3.shape}, [gt3], device),
                Node("matmul", {"a": gt3, "b": y}, [prod], device),
                Node("reshape", {"input": prod, "shape": c.shape}, [result], device)]
    else:
        result = graph.new_value(c.shape, c.dtype, device)
        made = [Node("sum", {"x": g, "dims": (0,), "out_dtype": key}, [result], device)]
    graph.nodes = graph.nodes[:last + 1] + made + graph.nodes[last + 1:]
    gone = {id(p[4]) for p in pieces} | {id(buffer)}
    gone |= {id(uses.producer[p[4].args["dst"].id]) for p in pieces}  # the slices of c
    graph.nodes = [n for n in graph.nodes if id(n) not in gone]
    _replace(graph, c, result)


def _retarget_copy(graph: Graph, copy: Node, block: Value, shape: tuple) -> None:
    """Make ``copy`` (which filled a fresh buffer of ``shape``) write ``block`` instead: both
    sides viewed at the finest shape both ``shape`` and ``block.shape`` split into."""
    fine = _common_split(tuple(shape), tuple(block.shape))
    if fine is None:
        raise AssertionError("checked by _concatenation")
    at = graph.nodes.index(copy)
    made, args = [], {}
    for name, v in (("dst", block), ("src", copy.args["src"])):
        if tuple(v.shape) == fine:
            args[name] = v
            continue
        view = graph.new_value(fine, v.dtype, v.device)
        made.append(Node("reshape", {"input": v, "shape": fine}, [view], copy.device))
        args[name] = view
    copy.args = args
    graph.nodes[at:at] = made


def _common_split(a: tuple, b: tuple) -> "tuple | None":
    """The coarsest shape both ``a`` and ``b`` are merges of (each dim of ``a`` and of ``b``
    a product of consecutive dims of it), or None (e.g. (4, 6) and (6, 4))."""
    def cuts(shape):
        out, p = set(), 1
        for d in shape:
            p *= d
            out.add(p)
        return out
    if int(np.prod(a)) != int(np.prod(b)) or 0 in a or 0 in b:
        return None
    points = sorted(cuts(a) | cuts(b))
    fine, prev = [], 1
    for p in points:
        if p % prev:
            return None
        fine.append(p // prev)
        prev = p
    # size-1 dims: keep the shape as it is when it already is the common split
    return tuple(fine) if fine else ()


def _replace(graph: Graph, old: Value, new: Value) -> None:
    swap = lambda leaf: new if leaf is old else leaf  # noqa: E731
    for node in graph.nodes:
        node.args = rebuild(node.args, swap)
    graph.output = rebuild(graph.output, swap)


__all__ = ["dedupe_copies", "merge_concatenated_pieces", "merge_zero_buffers"]
