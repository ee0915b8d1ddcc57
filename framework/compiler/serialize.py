"""``framework.jit.save``/``load``: a graph and its weights in one safetensors file, no pickle.

The file is a ``framework.save`` checkpoint (safetensors; see
``framework/serialization.py``) of ``{"format": "framework.jit", "version":
1, "graph": <JSON text>, "params": {state_dict key: tensor}, "constants":
[tensor, ...]}``. The graph JSON lists the inputs, the nodes (op, device,
arguments by name, typed outputs) and the output tree; nothing in it names
Python code except the dataclass types of kernel arguments (pooling
windows), which are rebuilt from their fields. Loading runs no code from the
file, and needs nothing of the model's source.
"""
from __future__ import annotations

import json
import math

import numpy as np

from .capture import TensorSlot
from .ir import Const, DType, Graph, Node, Struct, Sym, Value
from .module_api import move_graph
from .runtime import GraphModule

FORMAT = "framework.jit"
VERSION = 1


def save(module: GraphModule, f) -> None:
    """Write ``module`` (from ``framework.jit.trace``/``framework.export``) to path ``f``.

    A trace of a program in eval mode is saved with a symbolic batch (dim 0) where
    ``framework.export`` can make one (``Retracer.batch_symbolic``): the loaded graph runs
    at any batch size; else the traced sizes are saved (and guarded when loaded)."""
    from ..ops.creation import tensor
    from ..serialization import save as save_checkpoint
    if not isinstance(module, GraphModule):
        raise TypeError(f"framework.jit.save: expected a traced module (framework.jit.trace), "
                        f"got {type(module).__name__}")
    retrace = getattr(module, "_retrace", None)
    symbolic = retrace.batch_symbolic() if retrace is not None else None
    module = symbolic if symbolic is not None else module
    constants: list = []
    text = json.dumps(graph_to_json(module.graph, module._spec, constants), allow_nan=False)
    params = {v.name: module.params[v.name].detach() for v in module.graph.params}
    parameter_names = [name for name, _ in module.named_parameters() if name in params]
    consts = [tensor(c.data) if c.data.dtype != object else None for c in constants]
    save_checkpoint({"format": FORMAT, "version": VERSION, "graph": text, "params": params,
                     "parameter_names": parameter_names, "training": bool(module.training),
                     "constants": consts}, f)


def load(f, map_location=None) -> GraphModule:
    """Read what ``save`` wrote; ``map_location`` ('cpu', 'cuda') moves the whole graph."""
    from ..serialization import load as load_checkpoint
    document = load_checkpoint(f, map_location=map_location)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise RuntimeError(f"framework.jit.load: {f!r} is not a file written by framework.jit.save")
    if document.get("version") != VERSION:
        raise RuntimeError(f"framework.jit.load: {f!r} has format version "
                           f"{document.get('version')}, this framework reads {VERSION}")
    constants = [t._host() for t in document["constants"]]
    graph, spec = graph_from_json(json.loads(document["graph"]), constants)
    params = dict(document["params"])
    if map_location is not None:
        from ..devices import as_device
        device = str(as_device(map_location))
        move_graph(graph, device)
        params = {k: v.to(device) for k, v in params.items()}
    params = _as_parameters(params, document.get("parameter_names", ()))
    loaded = GraphModule(graph, params, spec)
    loaded.training = bool(document.get("training", False))
    return loaded


def _as_parameters(params: dict, names) -> dict:
    """The saved parameters (not buffers) as ``Parameter``s, for ``loaded.parameters()``
    (a file from before the names were saved: every weight reads as a buffer)."""
    from ..nn.parameter import Parameter
    names = set(names)
    return {k: Parameter(v) if k in names else v for k, v in params.items()}


# JSON --------------------------------------------------------------------------------
def graph_to_json(graph: Graph, spec, constants: list) -> dict:
    """A JSON-able dict of ``graph`` (NumPy constants appended to ``constants``)."""
    def enc(obj):
        if isinstance(obj, Value):
            return {"v": obj.id}
        if isinstance(obj, Sym):
            return {"sym": obj.terms, "const": obj.const}
        if isinstance(obj, DType):
            return {"dtype": obj.name}
        if isinstance(obj, Const):
            constants.append(obj)
            return {"const": len(constants) - 1}
        if isinstance(obj, Struct):
            return {"struct": obj.type, "fields": [[k, enc(v)] for k, v in obj.fields]}
        if isinstance(obj, TensorSlot):
            return {"slot": obj.index}
        if isinstance(obj, tuple):
            return {"tuple": [enc(o) for o in obj]}
        if isinstance(obj, list):
            return {"list": [enc(o) for o in obj]}
        if isinstance(obj, dict):
            return {"dict": [[k, enc(v)] for k, v in obj.items()]}
        if isinstance(obj, float) and not math.isfinite(obj):
            return {"float": repr(obj)}
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        raise TypeError(f"framework.jit.save: cannot store a {type(obj).__name__} in the graph")

    def value(v: Value) -> dict:
        return {"id": v.id, "shape": [enc(d) for d in v.shape], "dtype": v.dtype,
                "device": v.device, "name": v.name}

    return {
        "inputs": [value(v) for v in graph.inputs],
        "user_inputs": graph.user_inputs,
        "symbols": graph.symbols,
        "nodes": [{"op": n.op, "device": n.device, "args": [[k, enc(a)] for k, a in n.args.items()],
                   "outputs": [None if o is None else value(o) for o in n.outputs]}
                  for n in graph.nodes],
        "output": enc(graph.output),
        "spec": enc(spec),
    }


def graph_from_json(doc: dict, constants: list) -> tuple:
    """(Graph, input spec) from ``graph_to_json``'s dict."""
    graph = Graph()
    values: dict = {}

    def dec(obj):
        if isinstance(obj, dict):
            if "v" in obj:
                return values[obj["v"]]
            if "sym" in obj:
                return Sym(obj["const"], obj["sym"])
            if "dtype" in obj:
                return DType(obj["dtype"])
            if "const" in obj:
                return Const(np.asarray(constants[obj["const"]]))
            if "struct" in obj:
                return Struct(obj["struct"], tuple((k, dec(v)) for k, v in obj["fields"]))
            if "slot" in obj:
                return TensorSlot(obj["slot"])
            if "tuple" in obj:
                return tuple(dec(o) for o in obj["tuple"])
            if "list" in obj:
                return [dec(o) for o in obj["list"]]
            if "dict" in obj:
                return {k: dec(v) for k, v in obj["dict"]}
            if "float" in obj:
                return float(obj["float"])
            raise RuntimeError(f"framework.jit.load: unknown graph entry {sorted(obj)}")
        return obj

    def value(d: dict) -> Value:
        v = Value(d["id"], tuple(dec(s) for s in d["shape"]), d["dtype"], d["device"], d["name"])
        values[v.id] = v
        return v

    graph.inputs = [value(d) for d in doc["inputs"]]
    graph.user_inputs = doc["user_inputs"]
    graph.symbols = doc["symbols"]
    for n in doc["nodes"]:
        args = {k: dec(a) for k, a in n["args"]}
        outputs = [None if o is None else value(o) for o in n["outputs"]]
        graph.nodes.append(Node(n["op"], args, outputs, n["device"]))
    graph.output = dec(doc["output"])
    graph._next = max(values, default=-1) + 1
    return graph, dec(doc["spec"])
