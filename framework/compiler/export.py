"""``framework.export``: a graph whose marked dims (the batch) are symbolic sizes.

The program is traced at the example sizes, then once more per symbolic size
with that size one larger, and once with every symbolic size two larger. The
traces must agree node for node; every int that changes (a value's dim, a
reshape target, an ``arange`` length, a slice end) must be an affine function
of the sizes, and becomes a ``Sym`` such as ``s0`` or ``8*s0``. A program
whose structure or constants depend on a marked size (Python control flow on
a shape, a size baked in as a float, a shape that only fits the example) is
rejected with an error naming the node.
"""
from __future__ import annotations

import inspect

import numpy as np

from .capture import _RANDOM, capture_kind, flatten, trace_graph
from .ir import Const, Graph, Struct, Sym, Value, same_tuple
from .runtime import GraphModule, named_tensors


class Dim:
    """A symbolic size for ``dynamic_shapes`` (``torch.export.Dim``): ``Dim("batch", min=1)``."""

    def __init__(self, name: str, *, min: "int | None" = None, max: "int | None" = None) -> None:  # noqa: A002
        self.name = name
        self.min = min
        self.max = max

    def __repr__(self) -> str:
        return f"Dim({self.name!r}, min={self.min}, max={self.max})"


class _DimHint:
    """``Dim.AUTO`` (symbolic where the program allows, else static), ``Dim.DYNAMIC``
    (symbolic, or an error) and ``Dim.STATIC`` (the example's size), as
    ``torch.export.Dim``'s hints: a dim marked AUTO or DYNAMIC gets a symbol shared by every
    such dim of the same example size (torch infers those equalities; sizes equal only by
    chance are tied here too: name a ``Dim`` to keep them apart). AUTO leaves a size of 0
    or 1 static."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"Dim.{self.kind}"


Dim.AUTO = _DimHint("AUTO")
Dim.DYNAMIC = _DimHint("DYNAMIC")
Dim.STATIC = _DimHint("STATIC")


def dims(*names: str, min: "int | None" = None, max: "int | None" = None) -> tuple:  # noqa: A002
    """``torch.export.dims``: one ``Dim`` per name, with the same bounds."""
    return tuple(Dim(name, min=min, max=max) for name in names)


class ExportError(RuntimeError):
    """The program cannot be exported with the requested symbolic sizes."""


class ExportedProgram(GraphModule):
    """The exported graph and its parameters (``torch.export.ExportedProgram``);
    ``module()`` (or calling it directly) runs it for any size of the symbolic dims.
    As in torch, ``state_dict`` is a dict attribute here, and ``module()`` gives a
    ``GraphModule`` (the same graph and weights) with ``state_dict()``, ``eval()``, ``to()``."""

    @property
    def state_dict(self) -> dict:
        """The weights by ``state_dict`` key (``ExportedProgram.state_dict`` is a dict)."""
        return {name: t.detach() for name, t in self.params.items()}

    def run_decompositions(self, decomp_table=None, decompose_custom_triton_ops: bool = False
                           ) -> "ExportedProgram":
        """The program itself: its graph is already made of framework's backend kernels
        (the counterpart of torch's core ATen ops), so there is nothing to decompose."""
        return self

    @property
    def graph_module(self) -> GraphModule:
        """The callable module over the graph (``module()``; torch gives an fx GraphModule)."""
        return self.module()

    def module(self) -> GraphModule:
        """A callable module over the same graph and weights (made once)."""
        made = self.__dict__.get("_module")
        if made is None or made.graph is not self.graph:
            made = GraphModule(self.graph, self.params, self._spec)
            self._module = made
        return made


@capture_kind("export")
def export(mod, args: tuple, kwargs: "dict | None" = None, *, dynamic_shapes=None,
           strict: bool = False, preserve_module_call_signature: tuple = (),
           prefer_deferred_runtime_asserts_over_guards: bool = False) -> ExportedProgram:
    """Capture ``mod(*args, **kwargs)`` as a graph; ``dynamic_shapes`` marks symbolic dims
    like ``torch.export.export``: per argument (a tuple, or a dict by parameter name) a
    ``{dim: Dim("batch")}`` dict (a string names a Dim too) or None."""
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    kwargs = dict(kwargs or {})
    named = named_tensors(mod)
    leaves, _ = flatten((args, kwargs))
    marks = _parse_dynamic_shapes(mod, args, kwargs, leaves, dynamic_shapes)
    if any(d is Dim.AUTO for _, _, d in marks):  # symbolic where it can be, else static
        try:
            return _export_marked(mod, args, kwargs, named, leaves, _named_hints(marks, leaves))
        except ExportError:
            marks = [mark for mark in marks if mark[2] is not Dim.AUTO]
    return _export_marked(mod, args, kwargs, named, leaves, _named_hints(marks, leaves))


def _named_hints(marks: list, leaves: list) -> list:
    """``marks`` with each ``Dim.AUTO``/``Dim.DYNAMIC`` replaced by a ``Dim`` named by the
    example size (hinted dims of one size share a symbol, as torch infers them equal)."""
    return [(leaf, dim, Dim(f"dim_{leaves[leaf].shape[dim]}") if isinstance(d, _DimHint) else d)
            for leaf, dim, d in marks]


def _export_marked(mod, args: tuple, kwargs: dict, named: dict, leaves: list,
                   marks: list, externals: "list | None" = None) -> ExportedProgram:
    """``export`` of the call with the (leaf, dim, Dim) ``marks`` symbolic; ``externals``
    (a list) gets the first trace's outside tensors (``trace_graph``'s)."""
    base, spec, _ = trace_graph(mod, args, kwargs, named, externals)
    if not marks:
        return ExportedProgram(base, named, spec)
    symbols = {}
    for leaf, dim, d in marks:
        size = leaves[leaf].shape[dim]
        if size < 2:
            raise ExportError(f"export(): the example input has size {size} at dim {dim}, "
                              f"which is marked dynamic ({d.name!r}); sizes 0 and 1 are special "
                              "(broadcasting), so give an example of size >= 2")
        if symbols.setdefault(d.name, (size, d))[0] != size:
            raise ExportError(f"export(): dims marked {d.name!r} have different sizes "
                              f"({symbols[d.name][0]} and {size}) in the example inputs")
    names = {name: f"s{i}" for i, name in enumerate(symbols)}
    # probes step up from the example, or, where that passes the Dim's max, down from one
    # below it (at the max a slice of a table of that size may be the whole table: no node)
    step = {name: -1 if d.max is not None and size + 2 > d.max and size - 3 >= max(2, d.min or 2)
            else 1 for name, (size, d) in symbols.items()}
    origin = {name: size if step[name] > 0 else size - 1 for name, (size, _) in symbols.items()}
    if origin != {name: size for name, (size, _) in symbols.items()}:
        base = _probe(mod, args, kwargs, named, leaves, marks, origin, names)
    example = {names[name]: size for name, size in origin.items()}
    points = {}  # symbol values of each probe, by Dim name
    for name in symbols:
        points[names[name]] = {**origin, name: origin[name] + step[name]}
    points["check"] = {name: size + 2 * step[name] for name, size in origin.items()}
    if len(symbols) == 2:  # a product of the two (batch * seq) is fitted: one more probe
        (first, size0), (second, size1) = origin.items()
        points["extra"] = {first: size0 + step[first], second: size1 + 2 * step[second]}
    graphs = {key: _probe(mod, args, kwargs, named, leaves, marks, sizes, names)
              for key, sizes in points.items()}
    envs = [dict(example)] + [{names[n]: v for n, v in sizes.items()}
                              for sizes in points.values()]
    graph = _symbolize(base, [graphs[k] for k in points], envs)
    graph.symbols = {names[name]: {"min": d.min if d.min is not None else 1, "max": d.max,
                                   "name": name} for name, (_, d) in symbols.items()}
    return ExportedProgram(graph, named, spec)


def _parse_dynamic_shapes(mod, args, kwargs, leaves, dynamic_shapes) -> list:
    """[(leaf index, dim, Dim)] for each marked dim."""
    if dynamic_shapes is None:
        return []
    fn = mod.forward if hasattr(mod, "forward") else mod
    params = [p for p in inspect.signature(fn).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    by_arg = {}
    if isinstance(dynamic_shapes, dict):
        for key, dims in dynamic_shapes.items():
            position = next((i for i, p in enumerate(params) if p.name == key), None)
            if position is not None and position < len(args):
                by_arg[("arg", position)] = dims
            elif key in kwargs:
                by_arg[("kw", key)] = dims
            else:
                raise ExportError(f"export(): dynamic_shapes names {key!r}, which is not an "
                                  "argument of the call")
    else:
        if len(dynamic_shapes) != len(args):
            raise ExportError(f"export(): dynamic_shapes has {len(dynamic_shapes)} entries for "
                              f"{len(args)} positional arguments")
        by_arg = {("arg", i): dims for i, dims in enumerate(dynamic_shapes)}
    ids = {id(t): i for i, t in enumerate(leaves)}
    marks = []
    for (kind, key), dims in by_arg.items():
        if dims is None:
            continue
        arg = args[key] if kind == "arg" else kwargs[key]
        if id(arg) not in ids:
            raise ExportError(f"export(): dynamic_shapes marks argument {key!r}, which is not "
                              "a tensor")
        if isinstance(dims, (tuple, list)):
            dims = {i: d for i, d in enumerate(dims) if d is not None}
        for dim, d in dims.items():
            d = Dim(d) if isinstance(d, str) else d
            if d is None or d is Dim.STATIC:
                continue
            if d is Dim.AUTO and -arg.ndim <= dim < arg.ndim and arg.shape[dim] < 2:
                continue  # AUTO leaves a size of 0 or 1 static
            if not isinstance(d, (Dim, _DimHint)):
                raise ExportError(f"export(): dynamic_shapes entries must be Dim objects, "
                                  f"names or Dim.AUTO/DYNAMIC/STATIC, got {d!r}")
            if not -arg.ndim <= dim < arg.ndim:
                raise ExportError(f"export(): dim {dim} out of range for argument {key!r} of "
                                  f"shape {list(arg.shape)}")
            marks.append((ids[id(arg)], dim % arg.ndim, d))
    return marks


def _probe(mod, args, kwargs, named, leaves, marks, sizes: dict, names: dict) -> Graph:
    """The graph traced with the marked dims of ``sizes`` (Dim name -> size) resized."""
    from ..ops.creation import tensor
    resized = {}
    for leaf, dim, d in marks:
        if d.name not in sizes:
            continue
        source = resized.get(leaf, leaves[leaf])
        host = source._host()
        index = np.arange(sizes[d.name]) % host.shape[dim]
        resized[leaf] = tensor(np.take(host, index, axis=dim), dtype=source.dtype,
                               device=source.device)
    new_leaves = [resized.get(i, t) for i, t in enumerate(leaves)]
    swap = {id(old): new for old, new in zip(leaves, new_leaves)}

    def replace(obj):
        if id(obj) in swap:
            return swap[id(obj)]
        if isinstance(obj, tuple):
            return same_tuple(obj, [replace(o) for o in obj])
        if isinstance(obj, list):
            return [replace(o) for o in obj]
        if isinstance(obj, dict):
            return {k: replace(v) for k, v in obj.items()}
        return obj

    what = ", ".join(f"{names[k]} ({k}) = {v}" for k, v in sizes.items())
    try:
        graph, _, _ = trace_graph(mod, replace(args), replace(kwargs), named)
    except Exception as exc:
        raise ExportError(f"export(): tracing with {what} failed, so the program is "
                          f"specialized on that size: {type(exc).__name__}: {exc}") from exc
    graph.probe = what
    return graph


def _symbolize(base: Graph, probes: list, envs: list) -> Graph:
    """``base`` with each int that varies across the ``probes`` (traced at the symbol values
    ``envs[1:]``; ``envs[0]`` the example's) replaced by its affine ``Sym`` (with two
    symbols, also ``c * s0*s1``)."""
    graphs = [base] + list(probes)
    lengths = {len(g.nodes) for g in graphs}
    if len(lengths) != 1:
        detail = ", ".join(f"{len(g.nodes)} nodes at {getattr(g, 'probe', 'the example size')}"
                           for g in graphs)
        raise ExportError("export(): the program's structure depends on a dynamic size "
                          f"(Python control flow on a shape?): {detail}")
    symbols = list(envs[0])

    def fit(where: str, values: list):
        """The int or ``Sym`` taking ``values`` at the symbol values ``envs``."""
        v0 = values[0]
        if all(isinstance(v, bool) or not isinstance(v, int) for v in values):
            if any(not _equal(v0, v) for v in values[1:]):
                raise ExportError(f"export(): {where} depends on a dynamic size but is not an "
                                  f"int ({v0!r} vs {values[1]!r}): the program is specialized "
                                  "on that size")
            return v0
        if all(v == v0 for v in values):
            return v0
        # one probe per symbol moves it by +-1 alone: the slopes
        coefs = {s: (v - v0) * (envs[1 + k][s] - envs[0][s])
                 for k, (s, v) in enumerate(zip(symbols, values[1:]))}
        affine = Sym(v0 - sum(c * envs[0][s] for s, c in coefs.items()), coefs)
        if all(affine.evaluate(env) == v for env, v in zip(envs, values)):
            return affine
        if len(symbols) == 2:
            found = _bilinear(values, coefs)
            if found is not None and all(found.evaluate(env) == v
                                         for env, v in zip(envs, values)):
                return found
            raise ExportError(f"export(): {where} is not an affine function of the dynamic "
                              f"sizes, nor one with their product ({values})")
        raise ExportError(f"export(): {where} is not an affine function of the dynamic "
                          f"sizes ({values})")

    def _bilinear(values: list, slopes: dict) -> "Sym | None":
        """``c + a*s0 + b*s1 + d*s0*s1`` through the example, the two probes and the check
        (both symbols moved by two steps); the caller checks it at every probe."""
        (s0, slope0), (s1, slope1) = slopes.items()
        e0, e1 = envs[0][s0], envs[0][s1]
        d0, d1 = envs[1][s0] - e0, envs[2][s1] - e1  # the steps, +-1
        product, rest = divmod((values[3] - values[0] - 2 * d0 * slope0 - 2 * d1 * slope1)
                               * d0 * d1, 4)
        if rest:
            return None
        a, b = slope0 - product * e1, slope1 - product * e0
        const = values[0] - a * e0 - b * e1 - product * e0 * e1
        return Sym(const, {s0: a, s1: b, f"{s0}*{s1}": product})

    def merge(where: str, objs):
        first = objs[0]
        if isinstance(first, Value):
            if any(not isinstance(o, Value) or o.id != first.id for o in objs):
                raise ExportError(f"export(): {where} reads a different value at another size")
            return first
        if isinstance(first, (tuple, list)):
            if any(type(o) is not type(first) or len(o) != len(first) for o in objs):
                raise ExportError(f"export(): {where} has a different structure at another "
                                  "dynamic size (the program is specialized on it)")
            items = [merge(where, [o[i] for o in objs]) for i in range(len(first))]
            return same_tuple(first, items) if isinstance(first, tuple) else items
        if isinstance(first, dict):
            if any(not isinstance(o, dict) or list(o) != list(first) for o in objs):
                raise ExportError(f"export(): {where} has a different structure at another "
                                  "dynamic size")
            return {k: merge(f"{where} {k}", [o[k] for o in objs]) for k in first}
        if isinstance(first, Struct):
            if any(not isinstance(o, Struct) or o.type != first.type for o in objs):
                raise ExportError(f"export(): {where} differs at another dynamic size")
            fields = tuple((k, merge(f"{where} {k}", [dict(o.fields)[k] for o in objs]))
                           for k, _ in first.fields)
            return Struct(first.type, fields)
        return fit(where, list(objs))

    def merge_value(where: str, values: list) -> None:
        if any(len(v.shape) != len(values[0].shape) or v.dtype != values[0].dtype
               for v in values):
            raise ExportError(f"export(): {where} changes rank or dtype with a dynamic size")
        sizes = [[v.shape[d] for v in values] for d in range(len(values[0].shape))]
        values[0].shape = tuple(fit(f"{where} dim {d}", s) for d, s in enumerate(sizes))

    for i, group in enumerate(zip(*(g.inputs for g in graphs))):
        merge_value(f"input %{group[0].id}", list(group))
    # each trace starts where the generator was: offsets count from its first draw's
    starts = [next((n.args["offset"] for n in g.nodes if n.op in _RANDOM and "offset" in n.args),
                   0) for g in graphs]
    for index, nodes in enumerate(zip(*(g.nodes for g in graphs))):
        node = nodes[0]
        where = f"node {index} ({node.op})"
        if any(n.op != node.op or list(n.args) != list(node.args) for n in nodes):
            other = next(n for n in nodes if n.op != node.op or list(n.args) != list(node.args))
            raise ExportError(f"export(): the program's structure depends on a dynamic size: "
                              f"node {index} is {node.op} at the example size but {other.op} at "
                              f"{getattr(graphs[[id(n) for n in nodes].index(id(other))], 'probe', '?')}")
        if node.op in _RANDOM and "offset" in node.args:
            node.args = _random_state(where, nodes, starts, merge)
        else:
            node.args = merge(where, [n.args for n in nodes])
        for k, out in enumerate(node.outputs):
            if out is not None:
                merge_value(f"{where} output {k}", [n.outputs[k] for n in nodes])
    base.output = merge("the output", [g.output for g in graphs])
    return base


def _random_state(where: str, nodes: list, starts: list, merge) -> dict:
    """A random node's arguments: its offset from the trace's first draw is fitted as a size
    (the draws of a call at another size do not overlap); where that is no affine function,
    the example's offset (each call draws the same numbers anyway)."""
    relative = [{**n.args, "seed": nodes[0].args.get("seed"),
                 "offset": n.args["offset"] - start + starts[0]}
                for n, start in zip(nodes, starts)]
    try:
        return merge(where, relative)
    except ExportError:
        return merge(where, [{**r, "offset": nodes[0].args["offset"]} for r in relative])


def _equal(a, b) -> bool:
    if isinstance(a, Const) and isinstance(b, Const):
        return a.data.shape == b.data.shape and bool(np.array_equal(a.data, b.data))
    return type(a) is type(b) and a == b
