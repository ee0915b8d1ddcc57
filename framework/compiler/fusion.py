"""Elementwise fusion: groups of elementwise contract kernels become one fused node.

Rules (``fuse_elementwise``): a node can join a group when

- it is a supported elementwise kernel (``FUSIBLE_UNARY``, ``FUSIBLE_BINARY``,
  ``where``, ``clamp``, ``softplus``) whose math runs in float32 (float32,
  float16 and bfloat16 data: the contract's compute type) and whose output is
  float32/float16/bfloat16 (or bool for comparisons), with static sizes;
- its output has the group's shape (inputs may be broadcast: they are read
  through their strides), on the group's device;
- no effect node (``copy_``, optimizer steps) between the group's nodes writes
  memory a group node reads, and no node outside the group reads a group value
  before the group's last node (the fused node runs where the group's last
  node stood).

Float32 ``dropout`` joins groups with the unfused kernel's draws. Later passes
add a softmax (or softmax-gradient) tail, a softmax's dropout, transposed
outputs and a sum over leading dims to groups.

A node joins the groups of the values it reads (merging them); groups of one
node stay as they were. Group values read after the group (or returned) are
the fused node's outputs; the others live only in registers (Triton) or
reused buffers (NumPy). Every intermediate rounds to its own dtype as the
unfused kernels store it (half outputs), so results equal the unfused ones.

A ``FusedGroup`` runs on ``cuda`` as one generated Triton kernel
(``framework/compiler/codegen.py``) and on ``cpu`` as a NumPy plan: the NumPy
backend's own functions, ufuncs writing into buffers kept between calls
(``out=``), one fresh array per output.
"""
from __future__ import annotations

import threading

import numpy as np

from .ir import Graph, Node, Sym, Value
from .passes import _written_roots

FUSIBLE_UNARY = ("neg", "abs", "exp", "exp2", "log", "log2", "log1p", "expm1", "sqrt", "rsqrt",
                 "sin", "cos", "tan", "tanh", "sigmoid", "relu", "gelu", "gelu_tanh", "silu",
                 "sign", "floor", "ceil", "round", "trunc", "reciprocal", "square", "asin",
                 "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "erf", "erfc",
                 "erfinv")
FUSIBLE_BINARY = ("add", "sub", "mul", "div", "maximum", "minimum", "pow", "atan2", "eq", "ne",
                  "lt", "le", "gt", "ge", "copysign", "logaddexp", "logaddexp2", "hypot")
FUSIBLE = FUSIBLE_UNARY + FUSIBLE_BINARY + ("where", "clamp", "softplus", "dropout")
_COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
_FLOATS = ("float32", "float16", "bfloat16")
_INPUT_DTYPES = _FLOATS + ("bool", "int8", "int16", "int32", "int64", "uint8")


class Instr:
    """One fused operation: ``kind`` (unary, binary, where, clamp, softplus, dropout), the
    contract ``op``, ``operands`` (("in", k) | ("tmp", i) | ("scalar", j)), the output dtype
    name. A dropout keeps its graph ``node``: the ``seed``/``offset`` it draws with are read
    from that node's arguments at each run (``training._RandomSites`` rewrites them per call)."""

    __slots__ = ("kind", "op", "operands", "dtype", "text", "node")

    def __init__(self, kind: str, op: str, operands: list, dtype: str, text: str,
                 node: "Node | None" = None) -> None:
        self.kind, self.op, self.operands, self.dtype, self.text = kind, op, operands, dtype, text
        self.node = node


class FusedGroup:
    """A fused elementwise group: ``inputs`` (Values read), ``scalars`` (Python numbers),
    ``instrs`` in order, ``outputs`` (instr index per output Value), the shape and the
    original ``nodes`` (run one by one when a launch cannot take the inputs' layout)."""

    def __init__(self, nodes: list, inputs: list, scalars: list, instrs: list, outputs: list,
                 shape: tuple, device: str) -> None:
        self.nodes = nodes
        self.inputs = inputs
        self.scalars = scalars
        self.instrs = instrs
        self.outputs = outputs  # [(Value, instr index)]
        self.shape = shape
        self.device = device
        self._buffers: dict = {}  # NumPy plan: (thread, buffer slot) -> reused float32 buffer
        self._slots = None  # NumPy plan: buffer slot per instr (fusion.buffer_slots)
        self._kernel = None  # codegen.FusedKernel, loaded on the first cuda run
        self.softmax = None  # {"log": bool, "dim": int}: the output is a row softmax of the
        # last op's result (fuse_softmax_prologues); with "dropout": {"node", "p", "scale"}
        # (scalar indices) a second output, the dropout of the softmax (fuse_softmax_dropout)
        self.out_perm: dict = {}  # output position -> dims: stored as permute(value, dims),
        # contiguous (fuse_permuted_copies)
        self.reduce = None  # {"index", "rows", "cols", "shape", "dims", "out_dtype", "value"}:
        # also the sum over the leading rows of instr index's result (fuse_reduction_epilogues)

    def __repr__(self) -> str:
        tail = "" if self.softmax is None else (
            " | log_softmax" if self.softmax["log"] else " | softmax")
        if self.softmax is not None and "backward" in self.softmax:
            tail += "_backward"
        if self.softmax is not None and "dropout" in self.softmax:
            tail += ", dropout"
        tail += "" if self.reduce is None else " | sum"
        return "<" + ", ".join(i.op for i in self.instrs) + tail + ">"

    def describe(self) -> list:
        """One line per fused op (``t2 = mul(in0, s0)``), for docstrings and printing."""
        return [f"t{i} = {ins.text}" for i, ins in enumerate(self.instrs)]

    def run(self, arrays: list, arena=None, keys=None) -> list:
        """The output arrays for input ``arrays`` (backend Arrays in ``inputs`` order). On
        cpu, a ``runtime.Plan`` passes its ``cpu_plan.Arena`` and one ``BufferKey`` per
        output: the outputs are written into the arena's kept value buffers."""
        from . import launches
        if self.device == "cpu":
            launches.record("fused_elementwise")
            if self.softmax is None:
                return run_numpy(self, arrays, arena, keys)
            outs = run_numpy(self, arrays)
            from .cpu_plan import softmax_into, softmax_backward_into
            if "backward" in self.softmax:  # the fused result is the output's gradient
                y = arrays[self.softmax["backward"]]
                return [softmax_backward_into(outs[0], y, self.softmax["dim"],
                                              self.softmax["log"], arena, keys and keys[0])]
            outs = [softmax_into(outs[0], self.softmax["dim"], self.softmax["log"], arena,
                                 keys and keys[0])]
            drop = self.softmax.get("dropout")
            if drop is not None:  # and its dropout: the backend's math, the same draws
                from .. import dtypes
                from .._backends.numpy._arrays import nd, wrap
                if arena is not None and len(keys) > 1:
                    array, view = arena.out(keys[1], self.shape, dtypes.float32)
                else:
                    view = np.empty(self.shape, _F32)
                    array = None
                _dropout_into(self, nd(outs[0]), drop["node"].args, view)
                outs.append(array if array is not None else wrap(view, dtypes.float32))
            return outs
        from . import codegen
        if self._kernel is None:
            self._kernel = codegen.load(self)
        result = self._kernel.launch(self, arrays)
        if result is None:  # a layout the kernel cannot index: run the nodes unfused
            return self._run_unfused(arrays)
        launches.record("fused_elementwise")
        return result

    def _run_unfused(self, arrays: list) -> list:
        from . import runtime
        sub = Graph()
        sub.inputs, sub.user_inputs = list(self.inputs), len(self.inputs)
        sub.nodes = list(self.nodes)
        sub.output = tuple(v for v, _ in self.outputs) + (
            () if self.reduce is None else (self.reduce["value"],)) + tuple(
            v for _, v in (self.reduce or {}).get("extra", ())) + (
            (self.softmax["dropout"]["node"].outputs[0],)
            if self.softmax is not None and "dropout" in self.softmax else ())
        return list(runtime.run(sub, arrays))


# -- building groups ---------------------------------------------------------------------
def _static(shape) -> bool:
    return not any(isinstance(d, Sym) for d in shape)


def _fusible(node: Node) -> bool:
    """True when ``node`` is an elementwise kernel the fused kernels compute exactly."""
    if node.is_view or node.has_effect or len(node.outputs) != 1 or node.outputs[0] is None:
        return False
    out = node.outputs[0]
    if not _static(out.shape) or out.device == "host":
        return False
    args = node.args
    if node.op in FUSIBLE_UNARY or node.op in ("clamp", "softplus"):
        ok = out.dtype in _FLOATS and args.get("out_dtype") is not None
    elif node.op in FUSIBLE_BINARY:
        compute = args.get("compute_dtype")
        ok = compute is not None and compute.name in _FLOATS and (
            out.dtype in _FLOATS or (node.op in _COMPARISONS and out.dtype == "bool"))
    elif node.op == "where":
        ok = out.dtype in _FLOATS
    elif node.op == "dropout":  # float32 only: the mask is the unfused kernel's (same draws)
        x, p = args.get("x"), args.get("p")
        ok = (out.dtype == "float32" and isinstance(x, Value) and x.dtype == "float32"
              and isinstance(p, float) and 0.0 < p < 1.0
              and all(isinstance(args.get(k), int) for k in ("seed", "offset")))
    else:
        return False
    if not ok:
        return False
    for name, a in args.items():
        if isinstance(a, Value):
            if a.dtype not in _INPUT_DTYPES or not _static(a.shape) or a.device != out.device:
                return False
        elif name in ("lo", "hi", "a", "b", "beta", "threshold") and not (
                a is None or isinstance(a, (bool, int, float))):
            return False
    return True


def fuse_elementwise(graph: Graph) -> int:
    """Replace groups of two or more fusible nodes by ``fused_elementwise`` nodes (see the
    module docstring for the rules); returns the number of groups made."""
    nodes = graph.nodes
    readers: dict = {}  # value id -> positions of the nodes reading it
    for i, node in enumerate(nodes):
        for v in node.inputs():
            readers.setdefault(v.id, []).append(i)
    returned = {v.id for v in graph.output_values()}
    root, _ = _written_roots(graph)
    writes = []  # (position, roots written) of each effect node
    group_of: dict = {}  # value id -> group (a dict)
    groups = []
    for i, node in enumerate(nodes):
        if node.has_effect:
            writes.append((i, _roots_written(node, root)))
        if not _fusible(node):
            continue
        out = node.outputs[0]
        reads = {root[v.id] for v in node.inputs()}
        candidates = []
        for v in node.inputs():
            g = group_of.get(v.id)
            if (g is not None and g not in candidates and g["shape"] == out.shape
                    and g["device"] == node.device
                    and not _written_since(g, reads, writes)
                    and not _read_outside_before(g, i, readers)):
                candidates.append(g)
        if candidates:
            group = candidates[0]
            for other in candidates[1:]:
                group["members"] = sorted(group["members"] + other["members"])
                group["values"] |= other["values"]
                group["reads"] |= other["reads"]
                for vid in other["values"]:
                    group_of[vid] = group
                groups.remove(other)
        else:
            group = {"members": [], "values": set(), "shape": out.shape,
                     "device": node.device, "reads": set()}
            groups.append(group)
        group["members"].append(i)
        group["values"].add(out.id)
        group["reads"] |= reads
        group_of[out.id] = group
    fused = [g for g in groups if len(g["members"]) >= 2]
    if not fused:
        return 0
    replace: dict = {}  # position of a group's last node -> fused node; others dropped
    dropped = set()
    for g in fused:
        members = [nodes[i] for i in g["members"]]
        last = g["members"][-1]
        member_set = set(g["members"])
        outside = [vid for vid in g["values"] if vid in returned or any(
            p not in member_set for p in readers.get(vid, ()))]
        group = _build(members, set(outside), g["shape"], g["device"])
        outs = [v for v, _ in group.outputs]
        replace[last] = Node("fused_elementwise", {"inputs": tuple(group.inputs),
                                                   "group": group}, outs, g["device"])
        dropped |= member_set - {last}
    graph.nodes = [replace.get(i, n) for i, n in enumerate(nodes) if i not in dropped]
    return len(fused)


def _roots_written(node: Node, root: dict) -> set:
    """The memory (root value ids) effect ``node`` writes: a ``copy_`` its destination's,
    other effects (optimizer steps) every input's."""
    if node.op == "copy_":
        return {root[node.args["dst"].id]}
    return {root[v.id] for v in node.inputs()}


def _written_since(group: dict, reads: set, writes: list) -> bool:
    """True when an effect node after the group's first member writes memory the group or
    the joining node (reading ``reads``) reads: the fused node, run where the group's last
    node stood, would read the written data."""
    first, touched = group["members"][0], group["reads"] | reads
    return any(position > first and written & touched for position, written in writes)


def _read_outside_before(group: dict, position: int, readers: dict) -> bool:
    members = set(group["members"])
    return any(p < position and p not in members
               for vid in group["values"] for p in readers.get(vid, ()))


def _operand_order(node: Node) -> list:
    """The operand argument names of an elementwise node, in the kernel's order."""
    if node.op == "where":
        return ["cond", "a", "b"]
    if node.op in FUSIBLE_BINARY:
        return ["a", "b"]
    return [next(iter(node.args))]


def _build(members: list, outside: set, shape: tuple, device: str) -> FusedGroup:
    inputs, scalars, instrs = [], [], []
    index_of_input: dict = {}
    tmp_of: dict = {}  # value id -> instr index

    def operand(a):
        if isinstance(a, Value):
            if a.id in tmp_of:
                return ("tmp", tmp_of[a.id])
            if a.id not in index_of_input:
                index_of_input[a.id] = len(inputs)
                inputs.append(a)
            return ("in", index_of_input[a.id])
        scalars.append(float(a))
        return ("scalar", len(scalars) - 1)

    def name(ref):
        return {"in": "in", "tmp": "t", "scalar": "s"}[ref[0]] + str(ref[1])

    outputs = []
    for node in members:
        out = node.outputs[0]
        if node.op == "clamp":
            x = operand(node.args["x"])
            lo, hi = node.args["lo"], node.args["hi"]
            op = "clamp" if lo is not None and hi is not None else (
                "clamp_min" if lo is not None else "clamp_max")
            ops = [x, operand(lo if lo is not None else 0.0),
                   operand(hi if hi is not None else 0.0)]
            kind = "clamp"
        elif node.op == "softplus":
            ops = [operand(node.args["x"]), operand(node.args.get("beta", 1.0)),
                   operand(node.args.get("threshold", 20.0))]
            kind, op = "softplus", "softplus"
        elif node.op == "dropout":  # x, p, 1 / (1 - p); seed and offset stay on the node
            p = node.args["p"]
            ops = [operand(node.args["x"]), operand(p), operand(1.0 / (1.0 - p))]
            kind, op = "dropout", "dropout"
        else:
            ops = [operand(node.args[k]) for k in _operand_order(node)]
            kind = ("where" if node.op == "where" else
                    "binary" if node.op in FUSIBLE_BINARY else "unary")
            op = node.op
        text = f"{node.op}(" + ", ".join(name(r) for r in ops) + f")  # {out.dtype}"
        if kind == "dropout":
            i = len(instrs)
            text = (f"dropout({name(ops[0])}, p={name(ops[1])}, scale={name(ops[2])}, "
                    f"seed{i}, offset{i})  # {out.dtype}")
        instrs.append(Instr(kind, op, ops, out.dtype, text, node if kind == "dropout" else None))
        tmp_of[out.id] = len(instrs) - 1
        if out.id in outside:
            outputs.append((out, len(instrs) - 1))
    return FusedGroup(members, inputs, scalars, instrs, outputs, shape, device)


# -- the NumPy plan ----------------------------------------------------------------------
_UFUNCS = {"neg": np.negative, "abs": np.abs, "exp": np.exp, "exp2": np.exp2, "log": np.log,
           "log2": np.log2, "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt,
           "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh, "asin": np.arcsin,
           "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
           "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "add": np.add,
           "sub": np.subtract, "mul": np.multiply, "div": np.true_divide, "pow": np.power,
           "maximum": np.maximum, "minimum": np.minimum, "atan2": np.arctan2,
           "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
           "gt": np.greater, "ge": np.greater_equal, "copysign": np.copysign,
           "logaddexp": np.logaddexp, "logaddexp2": np.logaddexp2, "hypot": np.hypot}
# the NumPy backend computes these with the ufunc above (same loop, same dtype: same bits)
_F32 = np.dtype(np.float32)


_IN_PLACE_OK = set(_UFUNCS) | {"sigmoid", "relu"}  # may write over one of their operands
_BUFFERED = set(_UFUNCS) | {"sigmoid", "silu", "relu"}  # write into a buffer; others return arrays


def _buffered(ins: Instr) -> bool:
    """True when ``ins`` writes a buffer: float32 ufuncs, sigmoid, silu and relu, and the
    comparisons' bool masks."""
    if ins.kind == "dropout":
        return ins.dtype == "float32"
    if ins.kind not in ("unary", "binary") or ins.op not in _BUFFERED:
        return False
    return ins.dtype == "float32" or (ins.dtype == "bool" and ins.op in _COMPARISONS)


def buffer_slots(group: FusedGroup) -> list:
    """For each instr, the reused buffer it writes (None: a fresh output array).

    Only ufuncs, sigmoid, silu and relu (float32) and comparisons (bool masks) write into
    buffers (the other ops return new arrays); a slot holds one dtype. A buffer is free
    again after its value's last reader; a ufunc, sigmoid or relu may write over the
    operand it reads last (in place), and a ``where`` may invert its dying mask in place."""
    last: dict = {}
    for i, ins in enumerate(group.instrs):
        for kind, k in ins.operands:
            if kind == "tmp":
                last[k] = i
    outputs = {index for _, index in group.outputs}
    if group.reduce is not None:  # read after every instr: never a reused buffer
        outputs.add(group.reduce["index"])
        outputs.update(index for index, _ in group.reduce.get("extra", ()))
    slots, n_slots = [], 0
    free: dict = {"float32": [], "bool": []}  # free slots by dtype

    def release(dying):
        for dtype, s in dying:
            if s not in free[dtype]:
                free[dtype].append(s)

    for i, ins in enumerate(group.instrs):
        dying = [(group.instrs[k].dtype, slots[k]) for kind, k in ins.operands
                 if kind == "tmp" and last.get(k) == i and slots[k] is not None]
        if ins.op in _IN_PLACE_OK and ins.kind in ("unary", "binary"):
            release(dying)
            dying = []
        if i in outputs or not _buffered(ins):
            slots.append(None)
        elif free[ins.dtype]:
            slots.append(free[ins.dtype].pop())
        else:
            slots.append(n_slots)
            n_slots += 1
        release(dying)
    return slots


def _buffer(group: FusedGroup, index: int, dtype, made: "dict | None" = None) -> np.ndarray:
    """The buffer instr ``index`` writes: a reused slot, an output's value buffer in the
    plan's arena (``made``: index -> (arena, key, Array, ndarray) to fill), or a fresh
    array."""
    slots = group._slots
    if slots is None:
        slots = group._slots = buffer_slots(group)
    slot = slots[index]
    if slot is None:
        if made is not None and index in made:
            entry = made[index]
            if entry[2] is None:
                from .. import dtypes
                name = "bool" if dtype == np.bool_ else np.dtype(dtype).name
                entry[2], entry[3] = entry[0].out(entry[1], group.shape, getattr(dtypes, name))
            return entry[3]
        if made is not None:  # an intermediate no slot holds: kept per thread
            return _kept(group, ("tmp", index), dtype)
        return np.empty(group.shape, dtype)
    return _kept(group, slot, dtype)


def _kept(group: FusedGroup, slot, dtype) -> np.ndarray:
    """The group's buffer ``slot`` (kept between calls, one per thread: concurrent calls
    never share a buffer)."""
    key = (threading.get_ident(), slot)
    buf = group._buffers.get(key)
    if buf is None:
        buf = group._buffers[key] = np.empty(group.shape, dtype)
    return buf


def _relu_into(group: FusedGroup, v: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``cpu_plan.relu_into`` of float32 ``v`` into ``out`` (may be ``v``), its mask (where it
    needs one) in a kept scratch buffer."""
    from .cpu_plan import relu_into
    relu_into(v, out, lambda: _kept(group, "relu mask", np.bool_))
    return out


def _dropout_into(group: FusedGroup, v: np.ndarray, args: dict, out: np.ndarray):
    """The NumPy backend's ``dropout`` of float32 ``v`` written into ``out``: ``v * (1 / (1 -
    p))`` where the Philox uniform draw of ``(seed, offset)`` for row-major element ``i`` is
    >= ``p``, else ``+0.0``; the keep mask from ``cpu_plan.MASKS`` (drawn once per ``(seed,
    offset)``: the backward's dropout reuses the forward's)."""
    from .cpu_plan import dropout_into
    dropout_into(v, args["p"], args["seed"], args["offset"], out)
    return out


def _zero_bits(ref, group: FusedGroup) -> bool:
    """True when operand ``ref`` is the scalar +0.0 (all-zero float32 bits)."""
    return ref[0] == "scalar" and not np.float32(group.scalars[ref[1]]).view(np.uint32)


def _where_zero(group: FusedGroup, index: int, ins: Instr, mask: np.ndarray, value,
                made=None):
    """``where(mask, 0, b)`` / ``where(mask, a, 0)`` (relu's backward: ``where(out <= 0, 0,
    g)``) as the backend's ``select`` computes it, the kept bit mask times the other operand's
    bits, inverting a dying mask buffer in place; None when the operands do not fit."""
    c, a, b = ins.operands
    if _zero_bits(b, group):  # a's bits where the mask holds
        other, keep = value(a), mask
    elif _zero_bits(a, group) and c[0] == "tmp" and group._slots[c[1]] is not None \
            and _last_reader(group).get(c[1]) == index:  # b's bits where it does not
        other = value(b)  # read before the mask is inverted (b may be the mask itself)
        keep = np.logical_not(mask, out=mask)
    else:
        return None
    buf = _buffer(group, index, _F32, made)
    np.multiply(other.view(np.uint32), keep, out=buf.view(np.uint32))
    return buf


def _last_reader(group: FusedGroup) -> dict:
    """tmp index -> the index of the last instr reading it (cached on the group)."""
    last = group.__dict__.get("_last")
    if last is None:
        last = {}
        for i, ins in enumerate(group.instrs):
            for kind, k in ins.operands:
                if kind == "tmp":
                    last[k] = i
        group._last = last
    return last


def _numpy_unary(op: str):
    """The NumPy backend's math of unary kernel ``op`` (elementwise or activation family)."""
    from .._backends.numpy import activation, elementwise
    if op in activation.UNARY_FNS:
        return activation.UNARY_FNS[op]
    return elementwise._UNARY_FNS[op]


def run_numpy(group: FusedGroup, arrays: list, arena=None, keys=None) -> list:
    """Run ``group`` on cpu Arrays: the NumPy backend's math, op by op, into reused buffers
    (with a plan's ``arena`` and output ``keys``: the outputs into its value buffers)."""
    from .. import dtypes
    from .._backends.numpy import elementwise as npe
    from .._backends.numpy._arrays import nd, select, wrap
    raw = [nd(a) for a in arrays]
    made = None
    if arena is not None and keys:
        made = {index: [arena, keys[j], None, None] for j, (_, index) in
                enumerate(group.outputs) if j not in group.out_perm}
    as_f32: dict = {}
    results: list = []

    def value(ref):
        kind, k = ref
        if kind == "tmp":
            v = results[k]
            return v if v.dtype == _F32 else v.astype(_F32)
        if kind == "scalar":
            return np.asarray(group.scalars[k], dtype=_F32)
        v = as_f32.get(k)
        if v is None:
            v = as_f32[k] = raw[k] if raw[k].dtype == _F32 else raw[k].astype(_F32)
        return v

    def cond(ref):
        kind, k = ref
        v = results[k] if kind == "tmp" else raw[k]
        return v if v.dtype == np.bool_ else v != 0  # a comparison's mask is used as it is

    with np.errstate(all="ignore"):
        for index, ins in enumerate(group.instrs):
            if ins.kind == "where":  # select: branch-free, as the NumPy backend's where
                mask = cond(ins.operands[0])
                if group._slots is None:
                    group._slots = buffer_slots(group)
                buf = _where_zero(group, index, ins, mask, value, made)
                if buf is None:
                    buf = select(mask, value(ins.operands[1]), value(ins.operands[2]), _F32)
            elif ins.kind == "clamp":
                buf = value(ins.operands[0])
                if ins.op in ("clamp", "clamp_min"):
                    lo = value(ins.operands[1])
                    buf = select(buf < lo, lo, buf, _F32)
                if ins.op in ("clamp", "clamp_max"):
                    hi = value(ins.operands[2])
                    buf = select(buf > hi, hi, buf, _F32)
            elif ins.kind == "load":  # an input as it is (summed by fuse_sibling_sums)
                buf = value(ins.operands[0])
            elif ins.kind == "dropout":  # the backend's math and draws, into kept buffers
                buf = _dropout_into(group, value(ins.operands[0]), ins.node.args,
                                    _buffer(group, index, _F32, made))
            elif ins.kind == "softplus":
                v = value(ins.operands[0])
                beta, threshold = value(ins.operands[1]), value(ins.operands[2])
                scaled = v * beta
                soft = np.log1p(np.exp(scaled)) / beta
                buf = select(scaled > threshold, v, soft, soft.dtype)
            elif ins.op in ("sigmoid", "silu"):  # 1 / (1 + exp(-v)) (times v), in place
                v = value(ins.operands[0])
                buf = _buffer(group, index, _F32, made)
                np.negative(v, out=buf)
                np.exp(buf, out=buf)
                np.add(buf, 1.0, out=buf)
                np.divide(1.0, buf, out=buf)
                if ins.op == "silu":
                    np.multiply(v, buf, out=buf)
            elif ins.op == "relu":  # the backend's bit-mask relu, into a buffer
                buf = _relu_into(group, value(ins.operands[0]), _buffer(group, index, _F32, made))
            elif ins.op in _UFUNCS:
                buf = _buffer(group, index, np.dtype(bool) if ins.dtype == "bool" else _F32,
                              made)
                _UFUNCS[ins.op](*(value(r) for r in ins.operands), out=buf)
            elif ins.kind == "unary":  # the backend's own function (relu, gelu, erf, ...)
                buf = np.asarray(_numpy_unary(ins.op)(value(ins.operands[0])))
            else:
                buf = np.asarray(npe._BINARY_FNS[ins.op](*(value(r) for r in ins.operands)))
            if ins.dtype in ("float16", "bfloat16"):  # stored rounded, as the unfused kernel
                buf = buf.astype(getattr(dtypes, ins.dtype).numpy)
            results.append(buf)
    outs = []
    for j, (out, index) in enumerate(group.outputs):
        value = results[index]
        entry = made.get(index) if made is not None else None
        if entry is not None and entry[3] is value:  # written into the arena's buffer
            outs.append(entry[2])
            continue
        fw_dtype = getattr(dtypes, out.dtype)
        if j in group.out_perm:  # stored transposed, contiguous: what the copy_ made
            perm = group.out_perm[j]
            if arena is not None and keys:
                array, view = arena.out(keys[j], tuple(value.shape[d] for d in perm), fw_dtype)
                np.copyto(view, value.transpose(perm))
                outs.append(array)
                continue
            value = np.ascontiguousarray(value.transpose(perm))
        outs.append(wrap(value, fw_dtype))
    red = group.reduce
    if red is not None:  # the NumPy backend's float32 sum of the value as the sum node read it
        summed = results[red["index"]]
        if "output" in red:  # a transposed output: sum it as stored
            at = next(j for j, (out, _) in enumerate(group.outputs) if out is red["output"])
            summed = nd(outs[at])
        total = np.sum(summed.reshape(red["shape"]), axis=red["dims"])
        outs.append(wrap(total, dtypes.float32))
        for index, _ in red.get("extra", ()):  # sibling sums (fuse_sibling_sums)
            total = np.sum(results[index].reshape(red["shape"]), axis=red["dims"])
            outs.append(wrap(total, dtypes.float32))
    return outs


# -- matmul epilogues ----------------------------------------------------------------------
EPILOGUE_ACTIVATIONS = ("relu", "gelu", "gelu_tanh", "silu")


def fuse_matmul_epilogues(graph: Graph) -> int:
    """Fold an activation, then a residual add, into the ``matmul_epilogue`` they follow.

    ``act(reshape(matmul_epilogue(a, b, bias)))`` becomes ``matmul_epilogue(..., activation=act)``
    and ``x + reshape(matmul_epilogue(...))`` (same shape, float32) becomes
    ``matmul_epilogue(..., residual=reshape(x))``, the contract kernel's own epilogue: one
    launch instead of two, the same arithmetic (the NumPy backend runs the same kernels, the
    Triton kernel adds in float32 as the unfused ones do). Only when the matmul's result
    reaches nothing else and no effect node stands between. Returns the number folded."""
    folded = 0
    while True:
        done = _fold_one_epilogue(graph)
        if not done:
            return folded
        folded += 1


def _index(graph: Graph) -> tuple:
    """``(readers, returned, producer, position)`` of ``graph``: the nodes reading each value
    id, the ids the graph returns, the node producing each value id, each node's position."""
    readers: dict = {}
    for node in graph.nodes:
        for v in node.inputs():
            readers.setdefault(v.id, []).append(node)
    returned = {v.id for v in graph.output_values()}
    producer = {o.id: n for n in graph.nodes for o in n.outputs if o is not None}
    position = {id(n): i for i, n in enumerate(graph.nodes)}
    return readers, returned, producer, position


def _fold_one_epilogue(graph: Graph) -> bool:
    nodes = graph.nodes
    readers, returned, producer, position = _index(graph)
    for n in nodes:
        if n.op != "matmul_epilogue" or n.args.get("residual") is not None \
                or n.args.get("keep_preact") or n.outputs[0] is None:
            continue
        value, chain = n.outputs[0], []
        if value.dtype != "float32":
            continue
        while value.id not in returned and len(readers.get(value.id, ())) == 1 \
                and readers[value.id][0].op == "reshape":
            chain.append(readers[value.id][0])
            value = chain[-1].outputs[0]
        users = readers.get(value.id, ())
        if value.id in returned or len(users) != 1:
            continue
        e = users[0]
        start, end = position[id(n)], position[id(e)]
        if any(m.has_effect for m in nodes[start:end]) or len(e.outputs) != 1:
            continue
        out = e.outputs[0]
        if out is None or out.dtype != "float32" or out.shape != value.shape:
            continue
        if e.op in EPILOGUE_ACTIVATIONS and n.args.get("activation") is None:
            n.args["activation"] = e.op
        elif e.op == "add" and e.args["compute_dtype"].name == "float32":
            other = e.args["b"] if e.args["a"] is value else e.args["a"]
            if not isinstance(other, Value) or other is value or other.shape != value.shape:
                continue
            source = producer.get(other.id)
            if source is not None and position[id(source)] > start:
                continue  # not computed yet where the matmul runs
            while source is not None and source.op == "reshape":
                source = producer.get(source.args["input"].id)
            if source is not None and source.is_view:
                continue  # only reshapes of fresh (contiguous) arrays surely reshape as views
            mm = n.outputs[0]
            residual = graph.new_value(mm.shape, other.dtype, other.device)
            view = Node("reshape", {"input": other, "shape": tuple(mm.shape)}, [residual],
                        n.device)
            n.args["residual"] = residual
            nodes.insert(start, view)
        else:
            continue
        _replace_value(graph, out, value)
        graph.nodes = [m for m in graph.nodes if m is not e]
        return True
    return False


def _replace_value(graph: Graph, old: Value, new: Value) -> None:
    from .ir import rebuild
    swap = lambda leaf: new if leaf is old else leaf  # noqa: E731
    for node in graph.nodes:
        node.args = rebuild(node.args, swap)
    graph.output = rebuild(graph.output, swap)


# -- softmax prologues ---------------------------------------------------------------------
SOFTMAX_MAX_COLS = 4096  # longer rows keep the library's looping softmax kernel


def _prologue(x: Value, s: Node, nodes: list, index: tuple, dropped: set) -> tuple:
    """``(producer, members)``: the nodes computing ``x`` that can run in ``s``'s kernel
    before it (a plain fused group's nodes with one output, or one fusible node), when
    ``x`` has ``s``'s shape, is read by ``s`` alone, is not returned and no effect node runs
    between them; else ``(None, None)``. ``index`` is ``_index(graph)``."""
    readers, returned, producer, position = index
    p = producer.get(x.id)
    if p is None or id(p) in dropped or x.id in returned or len(readers.get(x.id, ())) != 1:
        return None, None
    if p.op == "fused_elementwise":
        group = p.args["group"]
        if (not isinstance(group, FusedGroup) or group.softmax is not None
                or group.reduce is not None or group.out_perm or len(p.outputs) != 1):
            return None, None
        members = list(group.nodes)
    elif _fusible(p):
        members = [p]
    else:
        return None, None
    if members[-1].outputs[0].shape != s.outputs[0].shape or any(
            m.has_effect for m in nodes[position[id(p)]:position[id(s)]]):
        return None, None
    return p, members


def fuse_softmax_prologues(graph: Graph) -> int:
    """Fold the elementwise ops computing a softmax's input into one kernel with the softmax.

    A float32 ``softmax`` (or log-softmax) over the last dim of at most ``SOFTMAX_MAX_COLS``
    elements whose input is a fused group's only output (or one fusible node's), read by
    nothing else, with no effect node between, becomes one ``fused_elementwise`` node whose
    group ends in a row softmax: on ``cuda`` one generated kernel per row block (the
    transformer's ``scores * scale + mask``), on ``cpu`` the NumPy plan then the backend's
    softmax. Returns the number folded."""
    nodes = graph.nodes
    readers, returned, producer, position = _index(graph)
    replace, dropped = {}, set()
    for s in nodes:
        if s.op != "softmax" or s.outputs[0] is None:
            continue
        out, x = s.outputs[0], s.args.get("x")
        ndim = len(out.shape)
        if (not isinstance(x, Value) or out.dtype != "float32" or not _static(out.shape)
                or ndim == 0 or s.args.get("dim") not in (ndim - 1, -1)
                or not 1 <= out.shape[-1] <= SOFTMAX_MAX_COLS):
            continue
        p, members = _prologue(x, s, nodes, (readers, returned, producer, position), dropped)
        if p is None:
            continue
        fused = _build(members, {x.id}, out.shape, s.device)
        fused.softmax = {"log": bool(s.args.get("log")), "dim": ndim - 1}
        fused.outputs = [(out, fused.outputs[0][1])]
        fused.nodes = members + [s]
        replace[id(s)] = Node("fused_elementwise", {"inputs": tuple(fused.inputs),
                                                    "group": fused}, [out], s.device)
        dropped.add(id(p))
    graph.nodes = [replace.get(id(n), n) for n in nodes if id(n) not in dropped]
    return len(replace)


def fuse_softmax_backward_prologues(graph: Graph) -> int:
    """Fold the elementwise ops computing a softmax gradient's incoming gradient into one
    kernel with the ``softmax_backward``.

    As ``fuse_softmax_prologues`` for the backward: a float32 ``softmax_backward(g, y)``
    over the last dim (at most ``SOFTMAX_MAX_COLS``) whose ``g`` is a fused group's only
    output or one fusible node's (attention's dropout backward), read by nothing else,
    becomes one node: on ``cuda`` a generated kernel per row computes ``g`` and then
    ``y * (g - sum(g * y))`` (log: ``g - exp(y) * sum(g)``) in float32 as the library's
    kernel does; on ``cpu`` the plan then the backend's ``softmax_backward``. The node
    prints as ``group=<... | softmax_backward>``. Returns the number folded."""
    nodes = graph.nodes
    readers, returned, producer, position = _index(graph)
    replace, dropped = {}, set()
    for s in nodes:
        if s.op != "softmax_backward" or s.outputs[0] is None:
            continue
        out, g, y = s.outputs[0], s.args.get("grad"), s.args.get("out")
        ndim = len(out.shape)
        if (not isinstance(g, Value) or not isinstance(y, Value) or out.dtype != "float32"
                or y.dtype != "float32" or y.shape != out.shape or not _static(out.shape)
                or ndim == 0 or s.args.get("dim") not in (ndim - 1, -1)
                or not 1 <= out.shape[-1] <= SOFTMAX_MAX_COLS or y.device != s.device):
            continue
        p, members = _prologue(g, s, nodes, (readers, returned, producer, position), dropped)
        if p is None:
            continue
        fused = _build(members, {g.id}, out.shape, s.device)
        fused.inputs.append(y)  # read by the softmax gradient only
        fused.softmax = {"log": bool(s.args.get("log")), "dim": ndim - 1,
                         "backward": len(fused.inputs) - 1}
        fused.outputs = [(out, fused.outputs[0][1])]
        fused.nodes = members + [s]
        replace[id(s)] = Node("fused_elementwise", {"inputs": tuple(fused.inputs),
                                                    "group": fused}, [out], s.device)
        dropped.add(id(p))
    graph.nodes = [replace.get(id(n), n) for n in nodes if id(n) not in dropped]
    return len(replace)


def fuse_softmax_dropout(graph: Graph) -> int:
    """A float32 ``dropout`` of a fused softmax's output becomes the kernel's second output.

    Attention's ``dropout(softmax(scores))``: the generated kernel stores the softmax row
    (still read by the backward) and then its dropout, drawn as the library's dropout kernel
    draws it (``tl.rand(seed, offset + i)``, ``i`` the row-major index); the NumPy plan
    calls the backend's dropout on the softmax. One launch instead of two, the same bits.
    Returns the number folded."""
    readers, returned, producer, position = _index(graph)
    folded = 0
    for d in list(graph.nodes):
        if d.op != "dropout" or not _fusible(d):
            continue
        f = producer.get(d.args["x"].id)
        if f is None or f.op != "fused_elementwise" or f.device != d.device:
            continue
        group = f.args["group"]
        soft = group.softmax if isinstance(group, FusedGroup) else None  # not a norm's
        if soft is None or "dropout" in soft or len(f.outputs) != 1 or \
                f.outputs[0] is not d.args["x"]:
            continue
        p = d.args["p"]
        group.scalars += [float(p), 1.0 / (1.0 - p)]
        soft["dropout"] = {"node": d, "p": len(group.scalars) - 2,
                           "scale": len(group.scalars) - 1}
        group.nodes = list(group.nodes) + [d]
        f.outputs = [f.outputs[0], d.outputs[0]]
        graph.nodes.remove(d)  # made where the softmax runs (it reads only the softmax)
        folded += 1
    return folded


# -- permuted outputs ----------------------------------------------------------------------
def fuse_permuted_copies(graph: Graph) -> int:
    """A group output copied transposed into a fresh buffer is stored transposed instead.

    ``copy_(E, permute(v, dims))`` where ``E`` is an ``empty`` buffer written only there
    and ``v`` a fused group's value (or one fusible node's) read only by that permute
    (``.transpose(...).contiguous()`` of a computed result, the attention output
    gradient) becomes the group's output ``E``: the kernel stores element ``i`` of ``v`` at
    its place in ``E`` (Triton: through ``E``'s permuted strides; NumPy: a transposed
    contiguous copy of the result). One launch fewer, the same values. Returns the number
    of copies removed."""
    readers, returned, producer, position = _index(graph)
    done = 0
    for copy in list(graph.nodes):
        if copy.op != "copy_":
            continue
        dst, src = copy.args["dst"], copy.args["src"]
        maker, view = producer.get(dst.id), producer.get(getattr(src, "id", None))
        if (maker is None or maker.op != "empty" or view is None or view.op != "permute"
                or src.shape != dst.shape or src.dtype != dst.dtype
                or readers.get(src.id) != [copy] or src.id in returned
                or _views_written(graph, dst, copy)):
            continue
        value = view.args["input"]
        f = producer.get(value.id)
        if (f is None or readers.get(value.id) != [view] or value.id in returned
                or value.dtype not in _FLOATS or not _static(value.shape)):
            continue
        if f.op != "fused_elementwise":
            if not _fusible(f):
                continue
            group = _build([f], {value.id}, value.shape, f.device)
            single = Node("fused_elementwise", {"inputs": tuple(group.inputs), "group": group},
                          [value], f.device)
            graph.nodes[graph.nodes.index(f)] = single
            f = single
        group = f.args["group"]
        if not isinstance(group, FusedGroup) or group.softmax is not None \
                or group.reduce is not None:
            continue
        j = next((k for k, (v, _) in enumerate(group.outputs) if v is value), None)
        if j is None or j in group.out_perm:
            continue
        group.outputs[j] = (dst, group.outputs[j][1])
        group.out_perm[j] = tuple(view.args["dims"])
        group.nodes = list(group.nodes) + [maker, view, copy]
        f.outputs = [v for v, _ in group.outputs]
        gone = {id(maker), id(view), id(copy)}
        graph.nodes = [n for n in graph.nodes if id(n) not in gone]
        done += 1
        readers, returned, producer, position = _index(graph)
    return done


def _root_of(v: Value, producer: dict) -> Value:
    node = producer.get(v.id)
    while node is not None and node.is_view:
        v = node.args["input"]
        node = producer.get(v.id)
    return v


def _views_written(graph: Graph, buffer: Value, copy: Node) -> bool:
    """True when a node other than ``copy`` writes ``buffer`` (through a view)."""
    producer = {o.id: n for n in graph.nodes for o in n.outputs if o is not None}
    for n in graph.nodes:
        if n.has_effect and n is not copy:
            targets = [n.args["dst"]] if n.op == "copy_" else n.inputs()
            if any(_root_of(t, producer) is buffer for t in targets):
                return True
    return False


# -- reduction epilogues -------------------------------------------------------------------
REDUCE_MAX_COLS = 4096  # kept columns of a fused sum (one block of columns per program)


def _reduce_geometry(shape: tuple, dims: tuple) -> "tuple | None":
    """``(rows, cols, inner)`` of a sum of ``shape`` over ``dims`` whose kept dims are one
    block: element ``(r, c)`` of the rows x cols view is flat index ``(r // inner) * cols *
    inner + c * inner + r % inner`` (inner: the size of the summed dims after the block;
    1 for a sum over leading dims). None when the kept dims are not one block."""
    kept = [d for d in range(len(shape)) if d not in dims]
    if kept and kept != list(range(kept[0], kept[-1] + 1)):
        return None
    cols = int(np.prod([shape[d] for d in kept], dtype=np.int64))
    inner = int(np.prod(shape[kept[-1] + 1:], dtype=np.int64)) if kept else 1
    total = int(np.prod(shape, dtype=np.int64))
    if cols < 1 or total == 0:
        return None
    return total // cols, cols, inner


def _rows_permuted_only(dims: tuple, shape: tuple, rows: int) -> bool:
    """True when a transposed output (``permute(v, dims)`` of ``shape``) summed over its
    leading ``rows`` elements is the sum over the same elements of ``v`` taken in ``v``'s
    order: ``dims`` only permutes the leading (summed) dims among themselves."""
    m, size = 0, 1
    while m < len(shape) and size < rows:
        size *= shape[m]
        m += 1
    return size == rows and sorted(dims[:m]) == list(range(m)) and \
        list(dims[m:]) == list(range(m, len(dims)))


def fuse_reduction_epilogues(graph: Graph) -> int:
    """Fold a ``sum`` of a fused group's value into the group.

    A float32 ``sum(x, dims)`` whose kept dims are one block (``dims=(0, ..., k-1)``, a
    linear layer's bias gradient, or ``(0, 2, 3)``, a convolution's) and whose ``x`` is a
    float32 value of a fused group or of one fusible node (or a reshape of it: the
    row-major order is the same), summing R rows of C = the kept size (at most
    ``REDUCE_MAX_COLS``; ``_reduce_geometry``), becomes an extra output of the group
    (the bias gradient from the group computing the gradient). The group's value stays an output
    when something else reads it. On ``cpu`` the plan then calls ``np.sum`` on the value
    as the backend's ``sum`` does (the same bits); on ``cuda`` the
    generated kernel walks the R x C view column block by column block and sums each
    column in float32 as it stores the group's outputs (another summation order than the
    library's sum kernel: float32 rounding). Returns the number folded."""
    readers, returned, producer, position = _index(graph)
    folded = 0
    for s in list(graph.nodes):
        if s.op != "sum" or s.outputs[0] is None or s.outputs[0].dtype != "float32":
            continue
        x, dims = s.args.get("x"), tuple(s.args.get("dims") or ())
        if (not isinstance(x, Value) or x.dtype != "float32" or not dims
                or not _static(x.shape) or s.args["out_dtype"].name != "float32"):
            continue
        geometry = _reduce_geometry(tuple(x.shape), dims)
        if geometry is None or geometry[1] > REDUCE_MAX_COLS:
            continue
        rows, cols, inner = geometry
        value, chain = x, []
        while producer.get(value.id) is not None and producer[value.id].op == "reshape":
            chain.append(producer[value.id])
            value = chain[-1].args["input"]
        f = producer.get(value.id)
        if f is not None and f.op != "fused_elementwise" and _fusible(f) and \
                f.outputs[0].dtype == "float32":  # one elementwise node: a group of one
            group = _build([f], {value.id}, value.shape, f.device)
            single = Node("fused_elementwise", {"inputs": tuple(group.inputs), "group": group},
                          [value], f.device)
            graph.nodes[graph.nodes.index(f)] = single
            f = single
        if f is None or f.op != "fused_elementwise":
            continue
        group = f.args["group"]
        if (not isinstance(group, FusedGroup) or group.softmax is not None
                or group.reduce is not None or group.device != s.device):
            continue
        j = next((k for k, (v, _) in enumerate(group.outputs) if v is value), None)
        if j is None or (j in group.out_perm and (inner != 1 or not _rows_permuted_only(
                group.out_perm[j], value.shape, rows))):
            continue
        index = group.outputs[j][1]
        if group.instrs[index].dtype != "float32":
            continue
        group.reduce = {"index": index, "rows": rows, "cols": cols, "inner": inner,
                        "shape": tuple(x.shape), "dims": dims,
                        "out_dtype": s.args["out_dtype"], "value": s.outputs[0]}
        group.nodes = list(group.nodes) + chain[::-1] + [s]
        users = [n for n in readers.get(value.id, ()) if n not in chain and n is not s]
        if j in group.out_perm:  # the plan sums the transposed output, as eager does
            group.reduce["output"] = value
        elif not users and value.id not in returned and all(
                len(readers.get(n.outputs[0].id, ())) == 1 for n in chain):
            group.outputs = [(v, i) for v, i in group.outputs if v is not value]
        f.outputs = [v for v, _ in group.outputs] + [s.outputs[0]]
        graph.nodes.remove(s)  # its result is made where the group runs, before
        folded += 1
        readers, returned, producer, position = _index(graph)
    if folded:
        graph.eliminate_dead_code()
    return folded


def fuse_sibling_sums(graph: Graph) -> int:
    """Sums of the same shape over the same leading dims, one after the other, in one kernel.

    Float32 ``sum(x_k, dims=(0, ..., k-1))`` nodes with equal ``x`` shapes and dims that
    follow one another (only views between: a norm's weight and bias gradients) become one
    fused node
    that reads every ``x_k`` and sums each over its rows (the kernel of
    ``fuse_reduction_epilogues``, its group only loading the inputs): one launch instead
    of several. The NumPy plan calls ``np.sum`` on each input as the backend does (the
    same bits). Returns the number of sums removed."""
    readers, returned, producer, position = _index(graph)
    removed = 0
    nodes = graph.nodes
    taken: set = set()
    replace: dict = {}
    for i, s in enumerate(nodes):
        key = _sum_key(s)
        if key is None or id(s) in taken:
            continue
        siblings = [s]
        for t in nodes[i + 1:]:  # the sums that follow, views aside (no value lives longer)
            if t.is_view:
                continue
            if id(t) in taken or _sum_key(t) != key or not all(
                    position[id(r)] > position[id(t)] for u in siblings
                    for r in readers.get(u.outputs[0].id, ())):
                break
            siblings.append(t)
        if len(siblings) < 2:
            continue
        x0 = siblings[0].args["x"]
        members = []
        group = FusedGroup(siblings, [], [], [], [], tuple(x0.shape), s.device)
        for k, t in enumerate(siblings):
            x = t.args["x"]
            if x not in group.inputs:
                group.inputs.append(x)
            group.instrs.append(Instr("load", "load", [("in", group.inputs.index(x))],
                                      "float32", f"load(in{group.inputs.index(x)})  # float32"))
            members.append(t)
        rows, cols, inner = _reduce_geometry(tuple(x0.shape), key[1])
        group.reduce = {"index": 0, "rows": rows, "cols": cols, "inner": inner,
                        "shape": tuple(x0.shape), "dims": key[1],
                        "out_dtype": s.args["out_dtype"], "value": s.outputs[0],
                        "extra": [(k, t.outputs[0]) for k, t in enumerate(siblings) if k]}
        fused = Node("fused_elementwise", {"inputs": tuple(group.inputs), "group": group},
                     [t.outputs[0] for t in siblings], s.device)
        taken.update(id(t) for t in siblings)
        replace[id(siblings[-1])] = fused
        removed += len(siblings) - 1
    graph.nodes = [replace.get(id(n), n) for n in nodes
                   if id(n) not in taken or id(n) in replace]
    return removed


def _sum_key(node: Node) -> "tuple | None":
    """``(x shape, dims, device)`` of a float32 sum over leading dims a fused kernel can do."""
    if node.op != "sum" or node.outputs[0] is None or node.outputs[0].dtype != "float32":
        return None
    x, dims = node.args.get("x"), tuple(node.args.get("dims") or ())
    if (not isinstance(x, Value) or x.dtype != "float32" or not dims or not _static(x.shape)
            or node.args["out_dtype"].name != "float32"):
        return None
    geometry = _reduce_geometry(tuple(x.shape), dims)
    if geometry is None or geometry[1] > REDUCE_MAX_COLS:
        return None
    return tuple(x.shape), dims, node.device


# -- scales through matmuls ----------------------------------------------------------------
def move_scales_past_matmuls(graph: Graph) -> int:
    """``matmul(x * c, w)`` becomes ``matmul(x, w) * c`` when ``c`` is a power of two.

    Scaling by a power of two is exact in floating point (away from overflow and the
    subnormal range), so both orders give the same bits; after the matmul the multiply can
    fuse with what follows (attention's ``q * scale`` then ``+ mask`` then softmax become one
    kernel). Only float32 ``mul`` by a scalar whose result only a ``matmul`` reads. Returns
    the number moved."""
    import math
    nodes = graph.nodes
    readers, returned, _, _ = _index(graph)
    moved = 0
    for m in list(nodes):
        if m.op != "mul" or not _fusible(m):
            continue
        a, b = m.args["a"], m.args["b"]
        value, scale = (a, b) if isinstance(a, Value) else (b, a)
        out = m.outputs[0]
        if (not isinstance(value, Value) or isinstance(scale, Value) or out.dtype != "float32"
                or value.dtype != "float32" or m.args["compute_dtype"].name != "float32"):
            continue
        scale = float(scale)
        if scale == 0 or not math.isfinite(scale) or math.frexp(scale)[0] != 0.5:
            continue
        users = readers.get(out.id, ())
        if out.id in returned or len(users) != 1 or users[0].op != "matmul":
            continue
        mm = users[0]
        result = mm.outputs[0]
        if result is None or result.dtype != "float32" or any(
                n.has_effect for n in nodes[nodes.index(m):nodes.index(mm)]):
            continue
        raw = graph.new_value(result.shape, result.dtype, result.device)
        mm.args = {k: (value if v is out else v) for k, v in mm.args.items()}
        mm.outputs = [raw]
        scaled = Node("mul", {"a": raw, "b": scale, "compute_dtype": m.args["compute_dtype"],
                              "out_dtype": m.args["out_dtype"]}, [result], mm.device)
        nodes.insert(nodes.index(mm) + 1, scaled)
        nodes.remove(m)
        moved += 1
    return moved
