"""Running a graph: guards on the call's tensors, then each node's kernel through the backend."""
from __future__ import annotations

import builtins
import collections
import math

from .. import _backends
from ..devices import device as Device
from ..tensor import Tensor
from . import launches, views
from .capture import TensorSlot, _rebuild_spec, capture_kind, flatten, trace_graph
from .ir import (VIEW_OPS, Const, DType, Graph, Struct, Sym, Value, evaluate, rebuild,
                 same_tuple)
from .module_api import ModuleAPI


class GuardError(RuntimeError):
    """A call whose tensors do not match what the graph was traced for."""


class SizeGuardError(GuardError):
    """A call whose tensors differ from the trace only in a static size."""


def bind_inputs(graph: Graph, tensors: list) -> dict:
    """Check the call's tensors against the graph's user inputs; return the symbol values.

    Raises ``GuardError`` naming the input and what differs (count, rank, dtype, device,
    a static size, or a symbolic size outside its range)."""
    from ..tensor import Tensor
    expected = graph.inputs[:graph.user_inputs]
    if len(tensors) != len(expected):
        raise GuardError(f"the graph takes {len(expected)} tensor inputs, got {len(tensors)}")
    env: dict = {}
    for i, (value, t) in enumerate(zip(expected, tensors)):
        if not isinstance(t, Tensor):
            raise GuardError(f"input {i}: expected a Tensor, got {type(t).__name__}")
        where = f"input {i}"
        if t.ndim != len(value.shape):
            raise GuardError(f"{where}: expected rank {len(value.shape)} (traced with shape "
                             f"{_shape(value.shape)}), got rank {t.ndim} (shape {list(t.shape)})")
        if t.dtype.name != value.dtype:
            raise GuardError(f"{where}: expected dtype {value.dtype} as traced, got {t.dtype.name}")
        if str(t.device) != value.device:
            raise GuardError(f"{where}: expected device {value.device} as traced, got {t.device}")
        for d, (size, actual) in enumerate(zip(value.shape, t.shape)):
            if isinstance(size, Sym):
                if size.const == 0 and len(size.terms) == 1 and list(size.terms.values()) == [1]:
                    name = next(iter(size.terms))
                    if env.setdefault(name, actual) != actual:
                        raise GuardError(f"{where}: size {actual} of dim {d} should equal the "
                                         f"symbolic size {name} = {env[name]} of another input")
            elif size != actual:
                raise SizeGuardError(
                    f"{where}: expected size {size} at dim {d} (traced shape {_shape(value.shape)}),"
                    f" got {actual} (shape {list(t.shape)}); trace again for this shape, or use "
                    "framework.export with dynamic_shapes for a symbolic dim")
    for name, bounds in graph.symbols.items():
        if name not in env:
            raise GuardError(f"symbolic size {name} is not the size of any input dim")
        low, high = bounds.get("min"), bounds.get("max")
        if (low is not None and env[name] < low) or (high is not None and env[name] > high):
            raise GuardError(f"symbolic size {name} = {env[name]} is outside its range "
                             f"[{low}, {high}]")
    for i, (value, t) in enumerate(zip(expected, tensors)):
        for d, (size, actual) in enumerate(zip(value.shape, t.shape)):
            if isinstance(size, Sym) and size.evaluate(env) != actual:
                raise GuardError(f"input {i}: size {actual} of dim {d} should be {size} = "
                                 f"{size.evaluate(env)}")
    return env


def _shape(shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def run(graph: Graph, arrays: list, env: "dict | None" = None):
    """Run ``graph`` on backend ``Array``s (user inputs then parameters); return the output
    tree with arrays at its Value leaves. ``env`` binds symbolic sizes."""
    values = {v.id: a for v, a in zip(graph.inputs, arrays)}

    def arg(leaf):
        if isinstance(leaf, Value):
            return values[leaf.id]
        if isinstance(leaf, Sym):
            return leaf.evaluate(env)
        if isinstance(leaf, DType):
            return leaf.get()
        if isinstance(leaf, Const):
            return leaf.data
        if isinstance(leaf, Struct):
            return leaf.build(env)
        return leaf

    backends: dict = {}
    for node in graph.nodes:
        if node.is_view:
            attrs = dict(node.args)
            source = values[attrs.pop("input").id]
            values[node.outputs[0].id] = views.apply(node.op, source, attrs, env)
            continue
        if node.op == "custom_op":
            _run_custom_op(node, values, arg)
            continue
        if node.op == "fused_elementwise":  # framework.compiler.fusion: one generated kernel
            parts = node.args["group"].run([values[v.id] for v in node.args["inputs"]])
            for out, part in zip(node.outputs, parts):
                values[out.id] = part
            continue
        backend = backends.get(node.device)
        if backend is None:
            backend = backends[node.device] = _backends.for_device(Device(node.device))
        kernel = getattr(backend, node.op)
        args = [_resolve(a, arg) for a in node.args.values()]
        result = kernel(*args)
        outs = node.outputs
        if len(outs) == 1 and not isinstance(result, tuple):
            result = (result,)
        for out, part in zip(outs, result or ()):
            if out is not None:
                values[out.id] = part
    return rebuild(graph.output, lambda leaf: values[leaf.id] if isinstance(leaf, Value) else
                   evaluate(leaf, env))


class Plan:
    """A static graph prepared for fast replay: one step per node, values in numbered slots.

    Built once per graph (no symbolic sizes, no ``custom_op``): constant arguments are
    resolved ahead (dtypes, NumPy constants, dataclass arguments), view attributes bound,
    and each slot is released after its last reader, so a call does little more than call
    the kernels. The backend of each device is looked up once per call.

    On ``cpu`` the hot kernels run as plan-internal steps (``cpu_plan.specialize``) that
    write into buffers kept between calls in an ``Arena`` (one per concurrent call): each
    value they make gets a buffer number, shared by values whose lifetimes do not overlap
    (same dtype and size; ``_number_buffers``); the caller's outputs get their own, handed
    over (reused only once nothing outside the plan holds them)."""

    _VIEW, _KERNEL, _FUSED, _CONSTANT, _SPECIAL = 0, 1, 2, 3, 4
    # _CONSTANT: a creation kernel with constant arguments (``from_numpy`` of a folded
    # constant, ``full``, ``arange``...) whose result no node writes and the caller never
    # sees (``_constant_nodes``): run on the first call, its array reused by later calls.
    # _SPECIAL: ``[4, fn, op, spec, outs]``, ``fn(arena, *args)`` a cpu_plan step (``spec``
    # as a kernel step's, in the node's argument order: training._RandomSites rewrites it).

    def __init__(self, graph: Graph) -> None:
        from . import cpu_plan
        self.graph = graph
        self.nodes = graph.nodes  # the node list this plan was built from
        slot = {v.id: i for i, v in enumerate(graph.inputs)}
        steps, reads, program = [], [], []
        kept_constants = _constant_nodes(graph)
        # slots holding a parameter or a view of one (``_memo_view``)
        pinned = set(range(graph.user_inputs, len(graph.inputs)))
        keys: dict = {}  # value id -> cpu_plan.BufferKey (numbered below)

        def buffer(value, numel=None):
            key = keys.setdefault(value.id, cpu_plan.BufferKey())
            key.numel = numel
            return key

        specials = cpu_plan.specialize(graph, buffer)
        skipped = {id(n) for s in specials.values() for n in s.skip}
        self.fused_keys: dict = {}  # fused step -> its outputs' BufferKeys (cpu)
        for node in graph.nodes:
            special = specials.get(id(node))
            if id(node) in skipped:  # computed by a later special step
                step, read = [None], None
            elif special is not None:
                spec, read = self._spec(special.args, slot)
                step = [self._SPECIAL, special.fn, special.op, spec]
            elif id(node) in kept_constants:  # made on the first call, then reused
                args = [_resolve(a, _static_arg) for a in node.args.values()]
                step, read = [self._CONSTANT, node.device, node.op, args, [None]], []
            elif node.is_view:
                attrs = dict(node.args)
                source = attrs.pop("input")
                fn = _bind_view(node.op, attrs)
                if slot[source.id] in pinned:  # a view of a parameter: the same each call
                    fn = _memo_view(fn)
                step = [self._VIEW, fn, slot[source.id]]
                read = [slot[source.id]]
            elif node.op == "fused_elementwise":
                ins = [slot[v.id] for v in node.args["inputs"]]
                step, read = [self._FUSED, node.args["group"], ins], ins
                if node.device == "cpu" and isinstance(node.args["group"], cpu_plan.FusedGroup):
                    step.append([buffer(v) for v in node.outputs])  # a norm's row kernel: fresh
            else:
                spec, read = self._spec(list(node.args.values()), slot)
                step = [self._KERNEL, node.device, node.op, spec]
            if read is not None:
                outs = []
                for out in (special.outputs if special is not None else node.outputs):
                    if out is None:
                        outs.append(None)
                    else:
                        slot[out.id] = len(slot)
                        outs.append(slot[out.id])
                step.append(outs)
                program.append((step, len(reads)))
                reads.append(read)
                if step[0] == self._VIEW and step[2] in pinned:
                    pinned.add(outs[0])
            steps.append(step)
        self.size = len(slot)
        self.output = graph.output
        self.out_slots = {v.id: slot[v.id] for v in graph.output_values()}
        kept = set(self.out_slots.values())
        last = {}
        made = {}  # slot -> the program position that makes it
        for i, read in enumerate(reads):
            for r in read:
                last[r] = i
        for (step, i) in program:
            for o in step[-1] if step[0] != self._CONSTANT else step[5]:
                if o is not None:
                    made[o] = i
        for o, i in made.items():  # an output nobody reads dies where it is made
            last.setdefault(o, i)
        self.release = [[] for _ in reads]
        for r, i in last.items():
            if r not in kept and r >= len(graph.inputs):
                self.release[i].append(r)
        self.steps = steps  # one per graph node (training._RandomSites indexes them)
        self.program = [(step, self.release[i]) for step, i in program]
        if keys:
            _number_buffers(program, self.release, keys, slot, kept, graph)
        self._arenas: list = []  # cpu_plan.Arena pool: one taken per call
        self._new_arena = cpu_plan.Arena
        self.devices = [(d, Device(d)) for d in sorted({n.device for n in graph.nodes
                                                         if not n.is_view
                                                         and n.op != "fused_elementwise"})]
        self.device_of = {v.id: Device(v.device) for v in graph.output_values()}
        self.build_output = _output_builder(self.output, self.out_slots)
        self._straight = _straight_line(self, len(graph.inputs))

    @staticmethod
    def _spec(args: list, slot: dict) -> tuple:
        """(argument spec, slots read) of a kernel call's arguments."""
        spec, read = [], []
        for a in args:
            if isinstance(a, Value):
                spec.append((True, slot[a.id]))
                read.append(slot[a.id])
            else:
                found = []
                _walk_values(a, found)
                if found:  # a nested argument holding arrays: resolve per call
                    ids = {v.id: slot[v.id] for v in found}
                    read += list(ids.values())
                    spec.append((None, (a, ids)))
                else:
                    spec.append((False, _resolve(a, _static_arg)))
        return spec, read

    def __call__(self, arrays: list):
        run = self._straight
        if run is not None:
            backends = [_backends.for_device(device) for _, device in self.devices]
            arenas = self._arenas
            arena = arenas.pop() if arenas else self._new_arena()
            try:
                return run(arrays, arena, backends)
            finally:
                arenas.append(arena)
        return self._interpret(arrays)

    def _interpret(self, arrays: list):
        """Run the program step by step (``_straight`` is the same program as one function)."""
        backends = {d: _backends.for_device(device) for d, device in self.devices}
        vals = list(arrays) + [None] * (self.size - len(arrays))
        arenas = self._arenas
        arena = arenas.pop() if arenas else self._new_arena()
        try:
            for step, release in self.program:
                kind = step[0]
                if kind == 0:
                    vals[step[3][0]] = step[1](vals[step[2]])
                elif kind == 1 or kind == 4:
                    args = [vals[x] if s else (x if s is False else _nested(x, vals))
                            for s, x in step[3]]
                    if kind == 1:
                        result = getattr(backends[step[1]], step[2])(*args)
                    else:
                        launches.record(step[2])
                        result = step[1](arena, *args)
                    outs = step[4]
                    if len(outs) == 1 and not isinstance(result, tuple):
                        if outs[0] is not None:
                            vals[outs[0]] = result
                    else:
                        for o, part in zip(outs, result or ()):
                            if o is not None:
                                vals[o] = part
                    # no local keeps a value past its release (an arena buffer is reused
                    # only when nothing holds it)
                    args = result = part = None
                elif kind == 2:
                    ins = [vals[k] for k in step[2]]
                    parts = step[1].run(ins, arena, step[3]) if len(step) == 5 else \
                        step[1].run(ins)
                    for o, part in zip(step[-1], parts):
                        vals[o] = part
                    ins = parts = part = None
                else:  # a constant nobody writes or sees: its array is kept between calls
                    if step[4][0] is None:
                        step[4][0] = getattr(backends[step[1]], step[2])(*step[3])
                    vals[step[5][0]] = step[4][0]
                for r in release:
                    vals[r] = None
        finally:
            arenas.append(arena)
        return self.build_output(vals)


def _straight_line(plan: Plan, n_inputs: int):
    """``run(arrays, arena, backends)``: the plan's program as one generated Python function
    (each slot a local variable, each step one statement, the slots released where the
    interpreter releases them), or None when a step takes a nested argument or the output
    tree holds other leaves (then ``Plan._interpret`` runs it). What it calls, and when,
    is what the interpreter calls: the same kernels, arena buffers and launch counts; the
    constant arguments are read from the steps at each call (``training._RandomSites``
    rewrites a dropout's ``seed`` and ``offset`` there)."""
    env = {"launches": launches}  # launches.record looked up per call, as the interpreter
    device_index = {d: i for i, (d, _) in enumerate(plan.devices)}
    lines = []
    if n_inputs:
        lines.append(", ".join(f"s{i}" for i in range(n_inputs)) + ", = arrays")
    for k, (step, release) in enumerate(plan.program):
        env[f"S{k}"] = step
        kind = step[0]
        if kind in (1, 4):
            args = []
            for j, (is_slot, x) in enumerate(step[3]):
                if is_slot is None:  # a nested argument: resolved per call by the interpreter
                    return None
                args.append(f"s{x}" if is_slot else f"S{k}[3][{j}][1]")
            outs = step[4]
            if kind == 1:
                call = f"B{device_index[step[1]]}.{step[2]}({', '.join(args)})"
            else:
                env[f"F{k}"] = step[1]
                lines.append(f"launches.record({step[2]!r})")
                call = f"F{k}(arena{''.join(', ' + a for a in args)})"
            lines.append(f"r = {call}")
            if len(outs) == 1 and outs[0] is not None:  # the result, or a tuple's first
                lines.append(f"s{outs[0]} = r if not isinstance(r, tuple) else "
                             "(r[0] if r else None)")
            elif len(outs) > 1:
                lines += _unpack(outs)
            lines.append("r = None")
        elif kind == 0:
            env[f"F{k}"] = step[1]
            lines.append(f"s{step[3][0]} = F{k}(s{step[2]})")
        elif kind == 2:
            ins = ", ".join(f"s{x}" for x in step[2])
            extra = f", arena, S{k}[3]" if len(step) == 5 else ""
            lines.append(f"r = S{k}[1].run([{ins}]{extra})")
            lines += _unpack(step[-1])
            lines.append("r = None")
        else:  # a constant: made on the first call, kept in the step
            device = device_index[step[1]]
            lines.append(f"if S{k}[4][0] is None: S{k}[4][0] = B{device}.{step[2]}(*S{k}[3])")
            lines.append(f"s{step[5][0]} = S{k}[4][0]")
        if release:
            lines.append(", ".join(f"s{r}" for r in release) + " = " +
                         ", ".join("None" for _ in release))
    result = _output_expression(plan.output, plan.out_slots, env)
    if result is None:
        return None
    lines.append(f"return {result}")
    heads = "".join(f"    B{i} = backends[{i}]\n" for i in range(len(plan.devices)))
    source = ("def run(arrays, arena, backends):\n" + heads
              + "".join(f"    {line}\n" for line in lines))
    exec(builtins.compile(source, "<framework.compiler plan>", "exec"), env)  # noqa: S102
    run = env["run"]
    run.source = source
    return run


def _unpack(outs: list) -> list:
    """Lines storing result ``r``'s parts in the slots ``outs`` as the interpreter's ``zip``
    does (a part missing or a slot of None: nothing stored)."""
    lines = [f"r = (*(r or ()), {', '.join(['None'] * len(outs))})"]
    return lines + [f"s{o} = r[{j}]" for j, o in enumerate(outs) if o is not None]


def _output_expression(output, slots: dict, env: dict) -> "str | None":
    """Python source building the output tree from the slot locals (None: a leaf the
    generated function does not build)."""
    if isinstance(output, Value):
        return f"s{slots[output.id]}"
    if output is None or type(output) in (int, float, bool, str):
        return repr(output)
    if type(output) in (tuple, list):
        parts = [_output_expression(o, slots, env) for o in output]
        if None in parts:
            return None
        inner = ", ".join(parts) + ("," if type(output) is tuple and parts else "")
        return f"({inner})" if type(output) is tuple else f"[{inner}]"
    if type(output) is dict:
        parts = []
        for key, value in output.items():
            part = _output_expression(value, slots, env)
            if part is None or type(key) is not str:
                return None
            parts.append(f"{key!r}: {part}")
        return "{" + ", ".join(parts) + "}"
    return None


def _output_builder(output, slots: dict):
    """``build(vals)``: the plan's output tree from its value slots (a tensor, a tuple of
    tensors and tuples of them read directly; other trees through ``rebuild``)."""
    if isinstance(output, Value):
        slot = slots[output.id]
        return lambda vals: vals[slot]
    if type(output) is tuple and all(isinstance(o, Value) for o in output):
        flat = [slots[o.id] for o in output]
        return lambda vals: tuple([vals[s] for s in flat])
    if type(output) is tuple and all(type(o) is tuple or isinstance(o, Value) for o in output):
        parts = [_output_builder(o, slots) for o in output]
        return lambda vals: tuple([part(vals) for part in parts])
    return lambda vals: rebuild(output, lambda leaf: vals[slots[leaf.id]]
                                if isinstance(leaf, Value) else leaf)


def _number_buffers(program: list, release: list, keys: dict, slot: dict, kept: set,
                    graph: Graph) -> None:
    """Give each ``cpu_plan.BufferKey`` its buffer number: values whose memory is dead
    (every slot viewing it released) before another value of the same dtype and size is
    made share a number; graph outputs (or views of them) get their own. The memory of a
    value the caller sees (``Graph.user_visible``: not a training forward's saved values)
    is fresh every call (``BufferKey.fresh``): the caller owns it (the autograd engine
    makes an unshared gradient ``.grad`` without a copy). A number only says which kept
    storage to try first: ``Arena.out`` takes a fresh one whenever the kept one is still
    referenced, so a wrong guess costs memory, never a value."""
    value_of = {}  # slot -> Value made by a keyed step
    by_id = {}
    for node in graph.nodes:
        for o in node.outputs:
            if o is not None:
                by_id[o.id] = o
    for vid, s in slot.items():
        if vid in keys:
            value_of[s] = by_id[vid]
    root = {}  # slot -> its memory's root slot (views share their source's)
    for step, _ in program:
        outs = step[-1] if step[0] != Plan._CONSTANT else step[5]
        for o in outs:
            if o is not None:
                root[o] = root.get(step[2], step[2]) if step[0] == Plan._VIEW else o
    dies: dict = {}  # root slot -> program position after which nothing reads it
    forever = set()
    for i, rel in enumerate(release):
        for r in rel:
            base = root.get(r, r)
            dies[base] = max(dies.get(base, i), i)
    for s in kept:
        forever.add(root.get(s, s))
    seen = {root.get(slot[i], slot[i]) for i in graph.user_visible() if i in slot}
    free: dict = {}  # (dtype, numel) -> free numbers
    pending: list = []  # (dies at, number, size key)
    count = 0
    for i, (step, _) in enumerate(program):
        still = []
        for at, number, size in pending:
            if at < i:
                free.setdefault(size, []).append(number)
            else:
                still.append((at, number, size))
        pending = still
        outs = step[-1] if step[0] != Plan._CONSTANT else step[5]
        for o in outs:
            value = value_of.get(o) if o is not None else None
            if value is None:
                continue
            size = (value.dtype, keys[value.id].numel or math.prod(value.shape))
            if o in seen:  # memory the caller sees: a fresh array each call, its own
                keys[value.id].fresh = True
            if o in forever or o not in dies:
                number, count = count, count + 1
            else:
                pool = free.get(size)
                if pool:
                    number = pool.pop()
                else:
                    number, count = count, count + 1
                pending.append((dies[o], number, size))
            keys[value.id].n = number


def _constant_nodes(graph: Graph) -> set:
    """``id``s of the creation nodes whose arrays a ``Plan`` may keep between calls: a
    ``passes.SOURCE_OPS`` kernel with static arguments (no arrays, no symbolic sizes), whose
    memory no effect node writes (through any view) and no output the caller sees holds."""
    from .passes import SOURCE_OPS, _has_sym, _written_roots
    root, written = _written_roots(graph)
    visible = {root[i] for i in graph.user_visible()}
    found = set()
    for node in graph.nodes:
        out = node.outputs[0] if len(node.outputs) == 1 else None
        if (node.op in SOURCE_OPS and out is not None and not node.inputs()
                and not _has_sym(node) and out.id not in written and out.id not in visible):
            found.add(id(node))
    return found


def _bind_view(op: str, attrs: dict):
    """``views.apply(op, ., attrs)``; a reshape remembers its last input geometry's strides."""
    if op != "reshape":
        return lambda a: views.apply(op, a, attrs)
    shape, last = tuple(attrs["shape"]), [((), None)]

    def reshape(a):
        key = (a.shape, a.strides)
        seen, strides = last[0]  # one tuple: another thread never sees half an update
        if key != seen:
            strides = views.reshape_strides(a.shape, a.strides, shape)
            if strides is None:
                return views.apply(op, a, attrs)  # raises, naming the geometry
            last[0] = (key, strides)
        return a.view(shape, strides, a.offset)
    return reshape


def _memo_view(fn):
    """``fn`` (a view of a parameter's array) returning its last result while the array is
    the same object: a parameter keeps its ``Array`` across calls (in-place updates write
    its storage, which the view shares), so the view, and the NumPy view a kernel builds
    of it (``Array._cache``), are made once, not per call (about 1.5 us each). A new array
    (``p.data = ...``, another parameter) makes the view again."""
    last = [(None, None)]

    def view(a):
        source, result = last[0]  # one tuple: another thread never sees half an update
        if source is not a:
            result = fn(a)
            last[0] = (a, result)
        return result
    return view


def _static_arg(leaf):
    if isinstance(leaf, DType):
        return leaf.get()
    if isinstance(leaf, Const):
        return leaf.data
    if isinstance(leaf, Struct):
        return leaf.build(None)
    return leaf


def _walk_values(obj, found: list) -> None:
    if isinstance(obj, Value):
        found.append(obj)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _walk_values(o, found)
    elif isinstance(obj, dict):
        for o in obj.values():
            _walk_values(o, found)


def _nested(spec, vals: list):
    template, ids = spec
    return _resolve(template, lambda leaf: vals[ids[leaf.id]] if isinstance(leaf, Value)
                    else _static_arg(leaf))


def plan_for(graph: Graph) -> "Plan | None":
    """A ``Plan`` for ``graph`` when it is static and has no ``custom_op``, else None."""
    if graph.symbols or any(n.op == "custom_op" or _struct_holds_values(n.args)
                            for n in graph.nodes):
        return None
    return Plan(graph)


def _struct_holds_values(args: dict) -> bool:
    """True when a dataclass argument carries arrays (the plan resolves Structs once)."""
    from .ir import walk
    found = []

    def visit(leaf):
        if isinstance(leaf, Struct):
            walk(leaf, lambda x: found.append(x) if isinstance(x, Value) else None)
    _walk_structs(list(args.values()), visit)
    return bool(found)


def _run_custom_op(node, values: dict, arg) -> None:
    """A ``framework.library`` custom op: its kernel, looked up by name in this process."""
    from ..library import get_op
    from ..tensor import Tensor
    name = node.args["name"]
    try:
        op = get_op(name)
    except KeyError:
        raise RuntimeError(f"the graph calls custom op {name!r}, which is not declared in this "
                           "process: import the module that declares it first") from None
    device = Device(node.device)
    inputs = [Tensor._make(values[a.id], device) if isinstance(a, Value) else _resolve(a, arg)
              for a in node.args["inputs"]]
    result = op._call_kernel(tuple(inputs))
    parts = result if isinstance(result, tuple) else (result,)
    for out, part in zip(node.outputs, parts):
        values[out.id] = part._a


def _resolve(obj, fn):
    if isinstance(obj, Struct):
        return fn(obj)
    if isinstance(obj, tuple):
        return same_tuple(obj, [_resolve(o, fn) for o in obj])
    if isinstance(obj, list):
        return [_resolve(o, fn) for o in obj]
    return fn(obj)


class _ViewOps:
    """``views.reshape(array, shape=...)`` and friends, for ``Graph.code``."""

    def __getattr__(self, op: str):
        if op not in VIEW_OPS:
            raise AttributeError(op)
        return lambda input, **attrs: views.apply(op, input, attrs)


def code_globals(graph: Graph, device: str = "cpu") -> dict:
    """Globals under which ``graph.code()`` runs (on Arrays, on ``device``'s backend)."""
    import importlib

    from .. import dtypes
    constants, structs = [], {}

    def visit(leaf):
        if isinstance(leaf, Const):
            constants.append(leaf.data)
        if isinstance(leaf, Struct):
            module, name = leaf.type.split(":")
            structs[name] = getattr(importlib.import_module(module), name)

    for node in graph.nodes:
        for a in node.args.values():
            _walk_structs(a, visit)
    namespace = {"kernels": _backends.for_device(Device(device)), "views": _ViewOps(),
                 "constants": constants, "framework": dtypes, **structs}
    return namespace


def _walk_structs(obj, fn) -> None:
    if isinstance(obj, Struct):
        fn(obj)
        for _, v in obj.fields:
            _walk_structs(v, fn)
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            _walk_structs(o, fn)
    else:
        fn(obj)


class GraphModule(ModuleAPI):
    """A captured graph with its parameters: call it like the function it was traced from.

    ``graph`` prints the IR, ``code`` shows equivalent Python. Calls are checked against
    the traced signature (``GuardError``, a ``RuntimeError``, naming what differs) and run
    the recorded kernels; no autograd graph is recorded for the outputs. ``eval()``,
    ``state_dict()``, ``parameters()``, ``to(device)`` and the other ``nn.Module`` methods
    a loaded ``torch.jit`` module answers come from ``ModuleAPI``.
    """

    def __init__(self, graph: Graph, params: dict, spec) -> None:
        self.graph = graph
        self.params = params  # state_dict key -> Tensor (the module's own, or loaded)
        self._spec = spec  # flattened (args, kwargs) structure of the traced call
        self._plan = None  # Plan for the current graph.nodes (rebuilt when a pass replaces them)
        self._plan_key = None
        self.cudagraphs = False  # replay the plan as a CUDA graph (mode="reduce-overhead")
        self._retrace = None  # ``Retracer`` of a ``trace()``d program (None: sizes are guarded)
        self._source = None  # the ``trace()``d program, run when a data-dependent replay fails

    @property
    def code(self) -> str:
        """The graph as equivalent Python (backend kernel calls and views)."""
        return self.graph.code()

    def __call__(self, *args, **kwargs):
        tensors, spec = flatten((tuple(args), dict(kwargs)))
        try:
            env = bind_inputs(self.graph, tensors)
        except SizeGuardError:
            if getattr(self, "_retrace", None) is None:
                raise
            if self._spec is not None:
                _check_spec(self._spec, spec)
            return self._retrace(args, kwargs, tensors)
        if self._spec is not None:
            _check_spec(self._spec, spec)
        try:
            return self._replay(tensors, env)
        except (RuntimeError, ValueError) as exc:
            return self._data_dependent_failure(exc, args, kwargs)

    def _data_dependent_failure(self, exc: Exception, args: tuple, kwargs: dict):
        """A replay that failed where the graph holds a kernel whose output size depends on
        the data (the trace warned, ``DataDependentTracerWarning``): another call's data gave
        another size, which the recorded views and buffers do not take. A trace of a program
        runs the program (under ``no_grad``, as a replay would); a loaded or exported graph
        raises ``GuardError`` naming the kernel."""
        from .capture import DATA_DEPENDENT
        node = next((n for n in self.graph.nodes if n.op in DATA_DEPENDENT), None)
        if node is None:
            raise exc
        source = getattr(self, "_source", None)  # the traced program (None: loaded)
        if source is not None:
            from ..autograd.grad_mode import no_grad
            with no_grad():
                return source(*args, **kwargs)
        shape = list(node.outputs[0].shape) if node.outputs and node.outputs[0] else "?"
        raise GuardError(f"the graph was traced where {node.op}() gave size {shape}, which "
                         "depends on the data (boolean-mask indexing, masked_select, unique, "
                         f"...); this call's data gives another size that the graph cannot "
                         f"replay ({type(exc).__name__}: {exc}). Keep such indexing outside "
                         "the traced model, or use a fixed-size form (torch.where, "
                         "masked_fill, a weighted sum with the mask)") from exc

    def _replay(self, tensors, env: "dict | None" = None):
        """Run the graph on the call's flattened tensors (already checked against the guards)."""
        key = getattr(self, "_plan_key", None)
        if key is None or key[0] is not self.graph or key[1] is not self.graph.nodes:
            self._plan = plan_for(self.graph)
            if self._plan is not None and getattr(self, "cudagraphs", False):
                from .cudagraphs import graphed
                self._plan = graphed(self._plan, self.graph, self.graph.user_inputs,
                                     "inference graph")
            self._plan_key = (self.graph, self.graph.nodes)
            self._layout = _input_layout(self.graph)
        plan = self._plan
        if plan and not env:  # static shapes: the contiguous strides are known
            strides, names, single = self._layout
            arrays = contiguous_arrays(tensors, strides)
            params = self.params
            arrays += [params[name]._a for name in names]
            result = plan(arrays)
            if single is not None:  # one tensor out
                return Tensor._make(result, single)
            return _wrap_outputs(self.graph.output, result, plan.device_of)
        arrays = [(t if t.is_contiguous() else t.contiguous())._a for t in tensors]
        for value in self.graph.params:
            arrays.append(self.params[value.name]._a)
        result = run(self.graph, arrays, env or None)
        device_of = {v.id: Device(v.device) for v in self.graph.output_values()}
        return _wrap_outputs(self.graph.output, result, device_of)

    forward = __call__

    def save(self, f) -> None:
        """``framework.jit.save(self, f)``."""
        from .serialize import save
        save(self, f)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(\n{self.graph}\n)"


def contiguous_arrays(tensors, strides) -> list:
    """Each tensor's array, made contiguous where it is not (a plan's steps read inputs as
    contiguous); ``strides`` are the contiguous strides expected (a cheap first check)."""
    arrays = []
    for t, expected in zip(tensors, strides):
        a = t._a
        if a.strides != expected and not a.is_contiguous():
            a = t.contiguous()._a
        arrays.append(a)
    return arrays


def _input_layout(graph: Graph) -> tuple:
    """``(contiguous strides of each user input (None: symbolic), parameter names, the
    output's device when the output is one tensor)`` for ``GraphModule._replay``."""
    from .._backends.array import contiguous_strides
    strides = [contiguous_strides(v.shape) if all(type(s) is int for s in v.shape) else None
               for v in graph.inputs[:graph.user_inputs]]
    single = Device(graph.output.device) if isinstance(graph.output, Value) else None
    return strides, [v.name for v in graph.params], single


def _wrap_outputs(spec, result, device_of):
    from ..tensor import Tensor
    if isinstance(spec, Value):
        return Tensor._make(result, device_of[spec.id])
    if isinstance(spec, tuple):
        return same_tuple(spec, [_wrap_outputs(s, r, device_of) for s, r in zip(spec, result)])
    if isinstance(spec, list):
        return [_wrap_outputs(s, r, device_of) for s, r in zip(spec, result)]
    if isinstance(spec, dict):
        return {k: _wrap_outputs(spec[k], result[k], device_of) for k in spec}
    return result


def _check_spec(traced, called) -> None:
    """The non-tensor arguments are baked into the trace: they must be equal."""
    if isinstance(traced, TensorSlot) or isinstance(called, TensorSlot):
        if not (isinstance(traced, TensorSlot) and isinstance(called, TensorSlot)):
            raise GuardError(f"argument structure differs from the traced call: expected "
                             f"{_describe(traced)}, got {_describe(called)}")
        return
    if type(traced) is not type(called) or (
            isinstance(traced, (tuple, list, dict)) and len(traced) != len(called)):
        raise GuardError(f"argument structure differs from the traced call: expected "
                         f"{_describe(traced)}, got {_describe(called)}")
    if isinstance(traced, dict):
        if set(traced) != set(called):
            raise GuardError(f"keyword arguments {sorted(called)} differ from the traced call's "
                             f"{sorted(traced)}")
        for k in traced:
            _check_spec(traced[k], called[k])
    elif isinstance(traced, (tuple, list)):
        for a, b in zip(traced, called):
            _check_spec(a, b)
    elif traced != called:
        raise GuardError(f"non-tensor argument {called!r} differs from the traced value "
                         f"{traced!r} (it is a constant of the graph)")


def _describe(obj) -> str:
    return "a Tensor" if isinstance(obj, TensorSlot) else repr(obj)


class TracingCheckError(RuntimeError):
    """The replayed graph disagrees with the eager call (``trace(check_trace=True)``)."""


@capture_kind("jit")
def trace(module_or_fn, example_inputs=None, optimize=None, check_trace: bool = True,
          check_inputs=None, check_tolerance: float = 1e-5, strict: bool = True,
          _force_outplace: bool = False, _module_class=None, _compilation_unit=None,
          example_kwarg_inputs=None, _store_inputs: bool = True) -> GraphModule:
    """Run ``module_or_fn`` once on ``example_inputs`` and record it as a graph
    (``torch.jit.trace``): returns a callable ``GraphModule`` with ``.graph`` and ``.code``.

    ``check_trace`` replays the graph on the example (and on each tuple of
    ``check_inputs``, against an eager call) and raises ``TracingCheckError`` when an
    output differs by more than ``check_tolerance`` (relative). A call at other sizes
    (same ranks, dtypes, devices and non-tensor arguments) traces the program again there
    (``Retracer``, which keeps the example inputs for ``framework.jit.save``). ``optimize``,
    ``strict`` (dicts and lists are outputs here either way) and torch's private arguments
    are accepted and change nothing."""
    args = _as_args(example_inputs)
    kwargs = dict(example_kwarg_inputs or {})
    named = named_tensors(module_or_fn)
    if check_trace:  # copies: the call may write into its inputs
        leaves, spec = flatten((args, kwargs))
        copies = _rebuild_spec(spec, lambda leaf: leaves[leaf.index].detach().clone()
                               if isinstance(leaf, TensorSlot) else leaf)
    graph, spec, result = trace_graph(module_or_fn, args, kwargs, named)
    traced = GraphModule(graph, named, spec)
    traced._retrace = Retracer(module_or_fn, named, (args, kwargs))
    traced._source = module_or_fn
    traced.training = bool(getattr(module_or_fn, "training", False))
    if check_trace:
        from ..autograd.grad_mode import no_grad
        with no_grad():
            _check("the example inputs", traced(*copies[0], **copies[1]), result,
                   check_tolerance)
            for inputs in check_inputs or ():
                inputs = _as_args(inputs)
                _check(f"check input {inputs!r:.60}", traced(*inputs),
                       module_or_fn(*inputs), check_tolerance)
    return traced


class Retracer:
    """Calls of a ``trace()``d program at other sizes (same ranks, dtypes, devices and
    non-tensor arguments): ``torch.jit.trace``'s graph runs at any size its ops allow; ours
    records static sizes, so the program is traced again at each new set of sizes (the
    graphs of the last ``KEEP`` kept, like ``framework.compile``'s retrace). A graph loaded
    by ``framework.jit.load`` has no program to trace: it raises ``GuardError`` instead
    (``framework.export`` with ``dynamic_shapes`` makes a graph with symbolic sizes)."""

    KEEP = 8

    def __init__(self, module_or_fn, named: dict, example: tuple) -> None:
        self.source = module_or_fn
        self.named = named
        self.example = example  # the traced call's (args, kwargs), for ``batch_symbolic``
        self.graphs: "collections.OrderedDict" = collections.OrderedDict()

    @capture_kind("jit")
    def __call__(self, args: tuple, kwargs: dict, tensors: list):
        key = tuple(tuple(t.shape) for t in tensors)
        traced = self.graphs.pop(key, None)
        if traced is None:
            graph, spec, _ = trace_graph(self.source, tuple(args), dict(kwargs), self.named)
            traced = GraphModule(graph, self.named, spec)
            traced._source = self.source
        self.graphs[key] = traced
        while len(self.graphs) > self.KEEP:
            self.graphs.popitem(last=False)
        return traced(*args, **kwargs)

    def batch_symbolic(self) -> "GraphModule | None":
        """The program exported with dim 0 of its tensor arguments symbolic (arguments of one
        dim-0 size share a symbol), for ``framework.jit.save``: a loaded graph then runs at
        any batch size, as a saved ``torch.jit.trace`` does. None where that fails (the
        program's structure depends on the size, a size below 2) or could change state (a
        module in training mode: tracing again would update batch-norm statistics)."""
        from ..nn import Module
        from .export import Dim, export
        if isinstance(self.source, Module) and self.source.training:
            return None
        args, kwargs = self.example
        sizes = sorted({a.shape[0] for a in args if isinstance(a, Tensor) and a.ndim >= 1})
        names = {size: "batch" if len(sizes) == 1 else f"batch{i}" for i, size in enumerate(sizes)}
        marks = tuple({0: Dim(names[a.shape[0]])} if isinstance(a, Tensor) and a.ndim >= 1
                      else None for a in args)
        if not any(marks) or min(sizes) < 2:
            return None
        try:
            return export(self.source, args, kwargs, dynamic_shapes=marks)
        except Exception:  # noqa: BLE001 -- any failure: the static graph is saved instead
            return None


def _as_args(inputs) -> tuple:
    return inputs if isinstance(inputs, tuple) else (() if inputs is None else (inputs,))


def _check(what: str, replayed, eager, tolerance: float) -> None:
    import numpy as np
    got, _ = flatten(replayed)
    want, _ = flatten(eager)
    for i, (a, b) in enumerate(zip(got, want)):
        x, y = a.detach()._host(), b.detach()._host()
        if x.shape != y.shape or x.dtype != y.dtype or not np.allclose(
                x.astype(np.float64), y.astype(np.float64), rtol=tolerance, atol=tolerance,
                equal_nan=True):
            raise TracingCheckError(
                f"trace check: output {i} of the traced graph differs from the eager call on "
                f"{what} (shapes {list(x.shape)} vs {list(y.shape)}); the trace did not capture "
                "the computation (see docs/compile.md, 'What breaks a trace')")
    if len(got) != len(want):
        raise TracingCheckError(f"trace check: the graph returns {len(got)} tensors, the eager "
                                f"call {len(want)}, on {what}")


def named_tensors(module_or_fn) -> dict:
    """Parameters then buffers of a module by ``state_dict`` key ({} for a function)."""
    from ..nn import Module
    if not isinstance(module_or_fn, Module):
        return {}
    named = dict(module_or_fn.named_parameters())
    for name, buf in module_or_fn.named_buffers():
        if buf is not None and name not in named:
            named[name] = buf
    return named
