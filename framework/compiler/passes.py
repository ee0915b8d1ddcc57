"""Graph passes: dead-code elimination, constant folding, common-subexpression elimination.

Each pass takes a ``Graph``, rewrites it in place and returns the number of nodes
it removed. They keep the graph's meaning: replaying the rewritten graph gives
the eager results. Random kernels (``rand``, ``dropout``, ...), effect nodes
(``copy_``, optimizer steps, ``device_assert``) and ``custom_op`` calls are
never folded or merged; a node reading a buffer some ``copy_`` writes is only
merged with a node that reads it between the same writes.
"""
from __future__ import annotations

import numpy as np

from .ir import Const, DType, Graph, Node, Struct, Sym, Value, rebuild, walk

RANDOM_OPS = ("rand", "randn", "randint", "dropout", "multinomial")
# creation kernels with no array inputs whose result depends only on their arguments
SOURCE_OPS = ("full", "arange", "linspace", "eye", "from_numpy")
_OPAQUE = RANDOM_OPS + ("custom_op", "empty", "to_numpy")


def run_passes(graph: Graph) -> dict:
    """Constant folding, CSE, then dead-code elimination; the nodes each removed."""
    return {"constant_fold": constant_fold(graph), "cse": cse(graph), "dce": dce(graph)}


def dce(graph: Graph) -> int:
    """Dead-code elimination (``Graph.eliminate_dead_code``): nodes nothing observable reads."""
    before = len(graph.nodes)
    graph.eliminate_dead_code()
    return before - len(graph.nodes)


def _has_sym(node: Node) -> bool:
    found = []
    walk(node.args, lambda leaf: found.append(leaf) if isinstance(leaf, Sym) else None)
    return bool(found) or any(o is not None and any(isinstance(d, Sym) for d in o.shape)
                              for o in node.outputs)


def _written_roots(graph: Graph) -> tuple:
    """``(root, written)``: each value's memory owner (through views), and the owners some
    effect node writes."""
    root = {v.id: v.id for v in graph.inputs}
    written = set()
    for node in graph.nodes:
        for out in node.outputs:
            if out is not None:
                root[out.id] = root[node.args["input"].id] if node.is_view else out.id
        if node.op == "copy_":  # writes its destination only (its source is read)
            written.add(root[node.args["dst"].id])
        elif node.has_effect:
            for v in node.inputs():
                written.add(root[v.id])
    return root, written


def constant_fold(graph: Graph) -> int:
    """Evaluate nodes whose inputs are all constants once, at compile time.

    Constants are the outputs of creation kernels (``full``, ``arange``, ``eye``,
    ``linspace``, ``from_numpy``) and of pure nodes (kernels or views) reading only
    constants. Each constant a non-constant node (or the output) reads, when it is not
    already a creation node's, becomes one ``from_numpy`` node holding its data; the
    nodes that computed it are dropped. Nodes with symbolic sizes, random kernels and
    buffers written by ``copy_`` are left alone.
    """
    from . import runtime
    root, written = _written_roots(graph)
    constant, producer = set(), {}
    for node in graph.nodes:
        if (node.has_effect or node.op in _OPAQUE or _has_sym(node)
                or any(o is None or o.device == "host" for o in node.outputs)):
            continue
        inputs = node.inputs()
        if node.op not in SOURCE_OPS and not inputs:
            continue
        if all(v.id in constant for v in inputs) and not any(
                root.get(o.id, o.id) in written for o in node.outputs if o is not None):
            for out in node.outputs:
                constant.add(out.id)
                producer[out.id] = node
    if not constant:
        return 0
    # the constants read by the rest of the graph, and whether folding gains anything
    needed: dict = {}
    for node in graph.nodes:
        if node.outputs and all(o is not None and o.id in constant for o in node.outputs):
            continue
        for v in node.inputs():
            if v.id in constant:
                needed[v.id] = v
    for v in graph.output_values():
        if v.id in constant:
            needed[v.id] = v
    to_fold = {i: v for i, v in needed.items() if producer[i].op not in SOURCE_OPS}
    if not to_fold:
        return 0
    # evaluate the constant sub-graph with the ordinary replay
    sub = Graph()
    sub.nodes = [n for n in graph.nodes if n.outputs and all(
        o is not None and o.id in constant for o in n.outputs)]
    sub.output = tuple(to_fold.values())
    arrays = runtime.run(sub, [])
    before = len(graph.nodes)
    folded = [constant_node(value, array, "folded ")
              for value, array in zip(to_fold.values(), arrays)]
    # from_numpy reads nothing: the folded constants go first; the nodes computing them go
    computed = {id(n) for n in sub.nodes}
    graph.nodes = folded + [n for n in graph.nodes if not (id(n) in computed and any(
        o.id in to_fold for o in n.outputs if o is not None))]
    dce(graph)
    return before - len(graph.nodes)


def constant_node(value: Value, array, label: str) -> Node:
    """A ``from_numpy`` node making ``value`` from a host copy of backend ``array`` (on
    ``value``'s device): a folded constant, or a frozen weight (``label`` names which)."""
    from .. import _backends
    from ..devices import device as Device
    data = np.array(_backends.for_device(Device(value.device)).to_numpy(array), copy=True)
    return Node("from_numpy", {"array": Const(data, label), "dtype": DType(value.dtype)},
                [value], value.device)


def _key(node: Node, rep: dict, root: dict, written: set, epoch: int):
    """A hashable description of what ``node`` computes, or None when it must not merge."""
    if node.has_effect or node.op in _OPAQUE or not node.outputs:
        return None
    if any(o is None or root.get(o.id, o.id) in written for o in node.outputs) \
            and not node.is_view:
        return None
    reads_written = False

    def canon(leaf):
        nonlocal reads_written
        if isinstance(leaf, Value):
            if root.get(leaf.id, leaf.id) in written:
                reads_written = True
            return ("value", rep.get(leaf.id, leaf.id))
        if isinstance(leaf, Const):  # equal data merges (two folded causal masks)
            return ("const", _digest(leaf.data))
        if isinstance(leaf, DType):
            return ("dtype", leaf.name)
        if isinstance(leaf, float):
            return ("float", leaf, np.signbit(leaf))  # 0.0 and -0.0 differ
        return (type(leaf).__name__, leaf)

    args = rebuild(node.args, canon)
    key = (node.op, node.device, _freeze(args))
    if reads_written:  # the same read before and after a copy_ sees different data
        key += (("epoch", epoch),)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def _digest(data: np.ndarray) -> tuple:
    """Dtype, shape and a SHA-256 of the bytes of ``data``: equal keys, equal arrays."""
    import hashlib
    data = np.ascontiguousarray(data)
    return (data.dtype.str, data.shape, hashlib.sha256(data.tobytes()).hexdigest())


def _freeze(obj):
    if isinstance(obj, dict):
        return tuple((k, _freeze(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__,) + tuple(_freeze(o) for o in obj)
    if isinstance(obj, Struct):
        return ("struct", obj.type, _freeze(dict(obj.fields)))
    return obj


def cse(graph: Graph) -> int:
    """Common-subexpression elimination: a node computing what an earlier node computed (same
    op, same inputs, same attributes) is dropped and its outputs read the earlier ones."""
    root, written = _written_roots(graph)
    rep: dict = {}  # value id -> the Value that replaces it
    seen: dict = {}
    kept, epoch = [], 0
    for node in graph.nodes:
        if rep:
            node.args = rebuild(node.args, lambda leaf: rep.get(leaf.id, leaf)
                                if isinstance(leaf, Value) else leaf)
        if node.has_effect:
            epoch += 1
        key = _key(node, {}, root, written, epoch)
        earlier = seen.get(key) if key is not None else None
        if earlier is not None:
            for out, prev in zip(node.outputs, earlier.outputs):
                rep[out.id] = prev
            continue
        if key is not None:
            seen[key] = node
        kept.append(node)
    removed = len(graph.nodes) - len(kept)
    graph.nodes = kept
    if rep:
        graph.output = rebuild(graph.output, lambda leaf: rep.get(leaf.id, leaf)
                               if isinstance(leaf, Value) else leaf)
    return removed


__all__ = ["cse", "constant_fold", "dce", "run_passes"]
