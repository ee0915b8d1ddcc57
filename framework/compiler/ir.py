"""The graph IR: a small typed SSA program of backend-contract kernel calls and views.

A ``Graph`` holds ``inputs`` (the call's tensors, then parameters and buffers
named by their ``state_dict`` key), ``nodes`` in execution order and an
``output`` tree. Each ``Node`` is one kernel of the backend contract
(``framework/_backends/contract.py``: ``add``, ``matmul``, ``softmax`` ...) or
one view op (``reshape``, ``permute``, ``expand``, ``slice``, ``select``,
``as_strided``), with its arguments by parameter name: ``Value`` references
for arrays, plain Python data (ints, floats, tuples, dtype names, ``Struct``
for dataclass arguments such as pooling windows, ``Const`` for NumPy data)
for the rest. A ``Value`` carries shape, dtype and device; a dim of a shape
(and any int argument) may be a ``Sym``, an affine expression of symbolic
sizes (``s0``, ``8*s0``) made by ``framework.export``.

Kernels never modify their inputs except ``copy_`` (and ``device_assert``,
which only checks): those are *effect* nodes, kept in order; everything else
is pure.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

VIEW_OPS = ("reshape", "permute", "expand", "slice", "select", "as_strided")
EFFECT_OPS = ("copy_", "device_assert", "sgd_step", "adam_step", "adamax_step", "adadelta_step", "rmsprop_step",
              "adagrad_step", "nadam_step", "radam_step", "rprop_step", "asgd_step",
              "sparse_adam_step", "adam_step_multi", "sgd_step_multi")

_SHORT = {"float32": "f32", "float64": "f64", "float16": "f16", "bfloat16": "bf16",
          "int64": "i64", "int32": "i32", "int16": "i16", "int8": "i8", "uint8": "u8",
          "bool": "b8"}


class Sym:
    """An affine size ``const + sum(coef * symbol)`` over named symbolic sizes (``s0``); a
    term may be a product of two (``"s0*s1"``: ``batch * seq`` rows of a reshape)."""

    __slots__ = ("const", "terms")

    def __init__(self, const: int = 0, terms: "dict | None" = None) -> None:
        self.const = int(const)
        self.terms = {k: int(v) for k, v in (terms or {}).items() if v}

    @classmethod
    def symbol(cls, name: str) -> "Sym":
        """The size named ``name`` itself."""
        return cls(0, {name: 1})

    def evaluate(self, env: dict) -> int:
        """The size for the symbol values in ``env``."""
        return self.const + sum(c * _product(k, env) for k, c in self.terms.items())

    def __add__(self, other: int) -> "Sym":
        if not isinstance(other, int):
            return NotImplemented
        return Sym(self.const + other, self.terms)

    __radd__ = __add__

    def __eq__(self, other) -> bool:
        return isinstance(other, Sym) and self.const == other.const and self.terms == other.terms

    def __hash__(self) -> int:
        return hash((self.const, tuple(sorted(self.terms.items()))))

    def __repr__(self) -> str:
        parts = [(name if c == 1 else f"{c}*{name}") for name, c in sorted(self.terms.items())]
        if self.const or not parts:
            parts.append(str(self.const))
        return "+".join(parts).replace("+-", "-")

    def to_json(self) -> dict:
        return {"sym": self.terms, "const": self.const}


def _product(term: str, env: dict) -> int:
    """The value of a term of a ``Sym``: a symbol, or a product ``"s0*s1"``."""
    value = 1
    for name in term.split("*"):
        value *= env[name]
    return value


@dataclasses.dataclass(frozen=True)
class Struct:
    """A dataclass argument (e.g. pooling ``Windows``) kept as its type name and fields."""

    type: str  # "module:QualName"
    fields: tuple  # ((name, value), ...)

    def build(self, env=None):
        """The dataclass instance (ints evaluated for symbolic sizes in ``env``)."""
        import importlib
        module, name = self.type.split(":")
        cls = getattr(importlib.import_module(module), name)
        return cls(**{k: evaluate(v, env) for k, v in self.fields})


class Const:
    """Host data recorded into the graph (a NumPy array), e.g. ``from_numpy``'s argument."""

    __slots__ = ("data", "name")

    def __init__(self, data: np.ndarray, name: str = "") -> None:
        self.data = data
        self.name = name

    def __repr__(self) -> str:
        return f"<const {self.name or ''}{dtype_short(str(self.data.dtype))}{list(self.data.shape)}>"


class Value:
    """One SSA value: an array of ``shape``/``dtype`` on ``device`` (or a host ndarray)."""

    __slots__ = ("id", "shape", "dtype", "device", "name")

    def __init__(self, id: int, shape: tuple, dtype: str, device: str, name: str = "") -> None:  # noqa: A002
        self.id = id
        self.shape = tuple(shape)
        self.dtype = dtype
        self.device = device
        self.name = name

    def __repr__(self) -> str:
        return f"%{self.id}"

    def type_str(self) -> str:
        """``f32[4, 8] cpu``."""
        device = self.device[:-2] if self.device.endswith(":0") else self.device
        return f"{dtype_short(self.dtype)}[{', '.join(map(str, self.shape))}] {device}"


class Node:
    """``outputs = op(**args)``: a contract kernel or a view op."""

    __slots__ = ("op", "args", "outputs", "device")

    def __init__(self, op: str, args: dict, outputs: list, device: str = "cpu") -> None:
        self.op = op
        self.device = device  # the backend that runs it: "cpu" or "cuda:0"
        self.args = args  # parameter name -> Value | python data (nested)
        self.outputs = outputs  # list of Value | None (for kernels returning None parts)

    @property
    def is_view(self) -> bool:
        return self.op in VIEW_OPS

    @property
    def has_effect(self) -> bool:
        return self.op in EFFECT_OPS

    def inputs(self) -> list:
        """The ``Value``s this node reads."""
        found = []
        walk(self.args, lambda v: found.append(v) if isinstance(v, Value) else None)
        return found

    def __repr__(self) -> str:
        outs = [o for o in self.outputs if o is not None]
        parts, positional = [], True
        for name, a in self.args.items():
            positional = positional and isinstance(a, Value)
            parts.append(repr(a) if positional else f"{name}={fmt(a)}")
        args = ", ".join(parts)
        call = f"{self.op}({args})"
        if not outs:
            return call
        lhs = ", ".join(("_" if o is None else repr(o)) for o in self.outputs)
        return f"{lhs} = {call}  # " + ", ".join(o.type_str() for o in outs)


def fmt(value) -> str:
    """Readable form of an argument (tuples of more than 8 items abbreviated)."""
    if isinstance(value, tuple) and len(value) > 8:
        return f"({fmt(value[0])}, {fmt(value[1])}, ..., {fmt(value[-1])}; {len(value)} items)"
    if isinstance(value, tuple):
        inner = ", ".join(fmt(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if isinstance(value, Struct):
        name = value.type.split(":")[1]
        return f"{name}(" + ", ".join(f"{k}={fmt(v)}" for k, v in value.fields) + ")"
    if isinstance(value, DType):
        return dtype_short(value.name)
    return repr(value)


class DType:
    """A dtype argument, by name (``float32``); printed short (``f32``)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __eq__(self, other) -> bool:
        return isinstance(other, DType) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return dtype_short(self.name)

    def get(self):
        """The ``framework.dtype`` object."""
        from .. import dtypes
        return getattr(dtypes, self.name)


def dtype_short(name: str) -> str:
    """``f32`` for ``float32``."""
    return _SHORT.get(name, name)


def walk(obj, fn) -> None:
    """Call ``fn`` on every leaf of nested tuples/lists/dicts/Structs."""
    if isinstance(obj, (tuple, list)):
        for item in obj:
            walk(item, fn)
    elif isinstance(obj, dict):
        for item in obj.values():
            walk(item, fn)
    elif isinstance(obj, Struct):
        for _, item in obj.fields:
            walk(item, fn)
    else:
        fn(obj)


def same_tuple(template: tuple, items) -> tuple:
    """``items`` as a tuple of ``template``'s kind: a namedtuple (a model's ``Output(logits,
    hidden)``) keeps its class, any other tuple is a plain tuple."""
    cls = type(template)
    if cls is not tuple and hasattr(cls, "_fields"):
        return cls(*items)
    return tuple(items)


def rebuild(obj, fn):
    """Nested ``obj`` with every leaf replaced by ``fn(leaf)`` (containers rebuilt)."""
    if isinstance(obj, tuple):
        return same_tuple(obj, [rebuild(item, fn) for item in obj])
    if isinstance(obj, list):
        return [rebuild(item, fn) for item in obj]
    if isinstance(obj, dict):
        return {k: rebuild(v, fn) for k, v in obj.items()}
    if isinstance(obj, Struct):
        return Struct(obj.type, tuple((k, rebuild(v, fn)) for k, v in obj.fields))
    return fn(obj)


def evaluate(obj, env):
    """``obj`` with each ``Sym`` replaced by its value in ``env`` (symbol -> int)."""
    if env is None:
        return obj
    return rebuild(obj, lambda leaf: leaf.evaluate(env) if isinstance(leaf, Sym) else leaf)


class Graph:
    """Inputs, nodes in execution order, and the output tree (of Values and constants)."""

    def __init__(self) -> None:
        self.inputs: list = []  # Values; .name is "input0", ... or a state_dict key
        self.nodes: list = []
        self.output = None  # nested tuples/lists/dicts of Value | python data
        self.symbols: dict = {}  # symbol name -> {"min": int, "max": int}
        self.user_inputs: int = 0  # the first this-many inputs are the call's tensors
        # returned Values that only the library reads (a training forward's saved values):
        # they may share memory with each other (buffers.dedupe_copies, cached constants)
        self.internal_outputs: list = []
        self._next = 0

    def new_value(self, shape, dtype: str, device: str, name: str = "") -> Value:
        value = Value(self._next, shape, dtype, device, name)
        self._next += 1
        return value

    @property
    def params(self) -> list:
        """The parameter and buffer inputs."""
        return self.inputs[self.user_inputs:]

    def output_values(self) -> list:
        found = []
        walk(self.output, lambda v: found.append(v) if isinstance(v, Value) else None)
        return found

    def user_visible(self) -> set:
        """Ids of the returned values the caller may see (and modify): every output value
        except ``internal_outputs`` returned only there."""
        internal = {v.id for v in self.internal_outputs}
        counts: dict = {}
        for v in self.output_values():
            counts[v.id] = counts.get(v.id, 0) + 1
        shared = {}
        for v in self.internal_outputs:
            shared[v.id] = shared.get(v.id, 0) + 1
        return {i for i, n in counts.items() if i not in internal or n > shared[i]}

    def eliminate_dead_code(self) -> None:
        """Drop nodes nothing observable depends on.

        A pure node is live when a live node or the output reads one of its outputs. A
        ``copy_`` is live when its destination's memory is read later by a live node or is
        a graph input's (a mutation the caller sees); other effect nodes always stay.
        """
        root = {v.id: v.id for v in self.inputs}
        for node in self.nodes:
            for out in node.outputs:
                if out is not None:
                    root[out.id] = root[node.args["input"].id] if node.is_view else out.id
        input_roots = {v.id for v in self.inputs}
        live = {v.id for v in self.output_values()}
        live_roots = {root[i] for i in live}
        kept = []
        for node in reversed(self.nodes):
            if node.op == "copy_":
                keep = root[node.args["dst"].id] in live_roots | input_roots
            else:
                keep = node.has_effect or any(o is not None and o.id in live for o in node.outputs)
            if keep:
                kept.append(node)
                for v in node.inputs():
                    live.add(v.id)
                    live_roots.add(root[v.id])
        self.nodes = kept[::-1]

    def renumber(self) -> None:
        """Number values 0, 1, ... in definition order (readable printing)."""
        counter = 0
        for value in self.inputs:
            value.id = counter
            counter += 1
        for node in self.nodes:
            for out in node.outputs:
                if out is not None:
                    out.id = counter
                    counter += 1
        self._next = counter

    def __str__(self) -> str:
        lines = ["graph(" + ", ".join(
            f"%{v.id}: {v.type_str()}" + (f" [{v.name}]" if v.name else "") for v in self.inputs)
            + "):"]
        lines += ["  " + repr(node) for node in self.nodes]
        lines.append("  return " + fmt(self.output))
        return "\n".join(lines)

    __repr__ = __str__

    def code(self) -> str:
        """Equivalent Python: one backend kernel call (or view) per line.

        It runs with ``framework.compiler.runtime.code_globals(graph, device)`` as globals
        (``kernels``: the device's backend, ``views``: the view ops, ``constants``: the
        graph's NumPy constants in order of appearance). A fused node (in
        ``framework.compile``'s graphs) shows its ops in a comment: that code is for reading."""
        names = {}
        for i, value in enumerate(self.inputs):
            names[value.id] = value.name if i < self.user_inputs else _identifier(value.name)
        args = ", ".join(names[v.id] for v in self.inputs[:self.user_inputs])
        params = self.inputs[self.user_inputs:]
        lines = [f"def forward({args}{', *, params' if params else ''}):"]
        for value in params:
            lines.append(f"    {names[value.id]} = params[{value.name!r}]")

        constants = []

        def ref(leaf):
            if isinstance(leaf, Const):
                constants.append(leaf)
                return _Code(f"constants[{len(constants) - 1}]")
            return _Code(names[leaf.id]) if isinstance(leaf, Value) else leaf

        for node in self.nodes:
            for out in node.outputs:
                if out is not None:
                    names[out.id] = f"v{out.id}"
            if node.op == "fused_elementwise":  # framework.compiler.fusion: no kernel name
                group = node.args["group"]
                call = (f"fused_elementwise({', '.join(names[v.id] for v in group.inputs)})  # "
                        + "; ".join(group.describe()))
            else:
                call_args = ", ".join(
                    (names[a.id] if isinstance(a, Value) else f"{k}={_py(rebuild(a, ref))}")
                    for k, a in node.args.items())
                target = "kernels" if not node.is_view else "views"
                call = f"{target}.{node.op}({call_args})"
            outs = [("_" if o is None else names[o.id]) for o in node.outputs]
            lines.append(f"    {', '.join(outs)} = {call}" if any(o is not None for o in node.outputs)
                         else f"    {call}")
        lines.append(f"    return {_py(rebuild(self.output, ref))}")
        return "\n".join(lines)


class _Code(str):
    def __repr__(self) -> str:
        return str(self)


def _identifier(name: str) -> str:
    return "p_" + "".join(c if c.isalnum() else "_" for c in name)


def _py(value) -> str:
    if isinstance(value, Struct):
        name = value.type.split(":")[1]
        return f"{name}(" + ", ".join(f"{k}={_py(v)}" for k, v in value.fields) + ")"
    if isinstance(value, tuple):
        inner = ", ".join(_py(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_py(v)}" for k, v in value.items()) + "}"
    if isinstance(value, DType):
        return f"framework.{value.name}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"float('{value}')"
    return repr(value)
