"""Row kernels: a norm (or a matmul) with the elementwise ops around it in one generated
kernel that walks rows of at most ``NORM_MAX_COLS`` elements.

``fuse_norms(graph)`` rewrites (docs/compile.md, "Row kernels")

- ``norm_rows(reshape(v), w, b)`` (layer norm and RMS norm over the last dim, ``across``
  false, float32) where ``v`` is computed by a plain fused group or one fusible node (the
  residual ``x + dropout(y)`` before a transformer's norm, an embedding sum): the group's
  ops and the norm in one kernel, which also stores the group's values read elsewhere (the
  residual stream), the mean and rstd; ``y`` is stored transposed when its only reader is
  a ``.transpose(...).contiguous()`` copy;
- ``norm_rows_backward(reshape(g), x, w, mean, rstd)`` with the ops computing ``g`` (or
  none: ``g`` loaded as it is; or a single-batch ``matmul`` computed in the kernel, its rows
  possibly read in a transposed order), the float32 ``sum``s over every dim but the last of
  ``g * xhat`` (the weight gradient) and of ``g`` (the bias gradient), and an epilogue: the
  plain group reading ``dx`` with the like sums of its values;
- a single-batch ``matmul`` (or ``matmul_epilogue`` without residual) whose product only
  a plain group reads: the group (and its sums) on the product's rows (kind "matmul").

Column sums need every row: a kernel with sums is one program walking all rows, made only
when the problem has at most ``NORM_SUM_MAX_ELEMENTS`` elements.

The node is a ``fused_elementwise`` whose group is a ``NormGroup``: on ``cuda`` one
generated Triton kernel (``norm_source``: rows of ``BLOCK_C`` >= the row length,
``BLOCK_R`` rows per step), on ``cpu`` the NumPy backend's own norm, matmul and ``np.sum``
around the NumPy plans of the elementwise parts (``fusion.run_numpy``): the same bits as
the unfused nodes. The generated kernel computes in float32 as the library's
``norm_rows_kernel`` / ``norm_rows_backward_kernel`` do (other summation orders for the
column sums and the matmul: float32 rounding).
"""
from __future__ import annotations

import copy
import re

import numpy as np

from .. import dtypes
from .._backends.array import contiguous_strides
from .._backends.numpy import matmul as np_matmul
from .._backends.numpy import norm as np_norm
from .._backends.numpy._arrays import nd, wrap
from . import launches
from .fusion import FusedGroup, Instr, _build, _fusible, _index, _static, run_numpy
from .ir import Graph, Node, Value

NORM_MAX_COLS = 4096  # a row in one block of the generated kernel
NORM_SUM_MAX_ELEMENTS = 1 << 18  # fused column sums: one program walks all rows
_TILE = 2048  # elements of one BLOCK_R x BLOCK_C step


class NormGroup:
    """A norm and its prologue: ``pre`` (a ``FusedGroup`` whose instr ``operand`` is the
    norm's input or incoming gradient; its first ``n_external`` outputs are the values read
    elsewhere, a last one the operand for the NumPy plan when only the norm reads it),
    ``kind`` ("forward" or "backward"), the norm's other inputs ``extra`` (forward: weight,
    bias; backward: x, weight, mean, rstd; None when absent; read flat, and viewed with
    ``extra_shapes``, the shapes the norm node read, by the NumPy plan), ``rms``, ``eps``,
    the row count and length, the norm's outputs ``norm_out`` (forward: y, mean, rstd;
    backward: dx, g * xhat; None when not read) and ``sums`` (backward: ``(what, Value)``,
    what "gx" or "g": a column sum of ``g * xhat`` or of ``g``, of the shape and dims in
    ``sum_shape[k]`` for sum k). ``nodes`` are the nodes it replaces, in order (run unfused
    when a launch cannot take the layout)."""

    def __init__(self, kind: str, pre: FusedGroup, operand: int, extra: list, rms: bool,
                 eps: float, rows: int, cols: int, norm_out: list, sums: list, nodes: list,
                 device: str, n_external: int, sum_shape: dict,
                 extra_shapes: "list | None" = None) -> None:
        self.kind, self.pre, self.operand, self.extra = kind, pre, operand, extra
        self.extra_shapes = extra_shapes or [None if v is None else tuple(v.shape)
                                             for v in extra]
        self.rms, self.eps, self.rows, self.cols = rms, eps, rows, cols
        self.norm_out, self.sums, self.nodes, self.device = norm_out, sums, nodes, device
        self.n_external, self.sum_shape = n_external, sum_shape
        self.inputs = list(pre.inputs) + [v for v in extra if v is not None]
        self.post, self.post_dx, self.post_sums = None, None, []
        self.y_perm = None  # (shape, dims): y stored as permute(reshape(y, shape), dims)
        self.matmul = self.row_map = None  # the matmul computing the gradient (set_matmul)
        self._kernel = None

    def set_matmul(self, node: Node, row_map: tuple) -> None:
        """The (lone, loaded) incoming gradient is ``a @ b`` of matmul ``node``: computed
        in the kernel (``a``, ``b`` become the leading inputs); its row ``r`` is row
        ``(r // D) * S0 + (r % D) * S1`` of the product, ``row_map = (D, S0, S1)`` (the
        gradient may be a transposed view of the product: batch-first rows of a
        sequence-first matmul)."""
        self.matmul, self.row_map = node, row_map[:3]
        self.nodes[0:0] = [node, *row_map[3]]  # the product, the views making the gradient
        lead = [node.args["a"], node.args["b"]]
        if node.op == "matmul_epilogue" and node.args.get("bias") is not None:
            lead.append(node.args["bias"])  # matmul_epilogue's bias, then its activation
        self.inputs = lead + self.inputs[len(self.pre.inputs):]

    @property
    def n_lead(self) -> int:
        """How many leading inputs make the prologue's (the matmul's two, or its own)."""
        if self.matmul is None:
            return len(self.pre.inputs)
        return 3 if self.matmul.args.get("bias") is not None else 2

    def add_epilogue(self, post: FusedGroup, dx_input: int, post_sums: list,
                     dx_read: bool) -> None:
        """Run ``post`` (a plain group reading dx as its input ``dx_input``, its first
        ``post.n_external`` outputs read elsewhere) after the norm gradient, and the column
        sums ``post_sums`` (``(output index, Value, shape, dims)``) of its outputs; dx is
        stored only when ``dx_read``."""
        self.post, self.post_dx, self.post_sums = post, dx_input, post_sums
        if not dx_read:
            self.norm_out = [None] + self.norm_out[1:]
        self.inputs += [v for k, v in enumerate(post.inputs) if k != dx_input]

    @property
    def outputs(self) -> list:
        """The fused node's output Values, in the order ``run`` returns them."""
        outs = ([v for v, _ in self.pre.outputs[:self.n_external]]
                + [v for v in self.norm_out if v is not None] + [v for _, v in self.sums])
        if self.post is not None:
            outs += [v for v, _ in self.post.outputs[:self.post.n_external]]
            outs += [value for _, value, _, _ in self.post_sums]
        return outs

    @property
    def instrs(self) -> list:
        """The prologue's ops."""
        return self.pre.instrs

    @property
    def scalars(self) -> list:
        return self.pre.scalars

    def __repr__(self) -> str:
        name = ("rms_norm" if self.rms else "layer_norm") + (
            "_backward" if self.kind == "backward" else "")
        ops = ", ".join(i.op for i in self.pre.instrs)
        if self.kind == "matmul":
            name, ops = "", self.matmul.op
            return f"<{ops} | " + ", ".join(i.op for i in self.post.instrs) + (
                " | sum" if self.post_sums else "") + ">"
        tail = "" if self.post is None else " | " + ", ".join(i.op for i in self.post.instrs)
        sums = " | sum" if self.sums or self.post_sums else ""
        return f"<{ops} | {name}{tail}{sums}>"

    def describe(self) -> list:
        return self.pre.describe()

    def run(self, arrays: list) -> list:
        """The output arrays for input ``arrays`` (backend Arrays in ``inputs`` order)."""
        if self.device == "cpu":
            launches.record("fused_elementwise")
            return self._run_numpy(arrays)
        from . import codegen
        if self._kernel is None:
            self._kernel = codegen.load_text(norm_source(self))
        result = _launch(self, self._kernel, arrays)
        if result is None:  # a layout the kernel cannot index: run the nodes unfused
            return self._run_unfused(arrays)
        launches.record("fused_elementwise")
        return result

    def _run_numpy(self, arrays: list) -> list:
        """The prologue's NumPy plan, then the NumPy backend's norm kernel and ``np.sum``
        (what the unfused nodes run: the same bits). Reshapes are views, not copies."""
        f32 = dtypes.float32
        if self.kind == "matmul" and self.row_map[0] == self.rows and \
                self.norm_out[0] is None:
            return self._run_numpy_matmul(arrays)
        n_pre = self.n_lead
        lead = arrays[:n_pre]
        pre_outs: list = []
        if self.matmul is not None:  # the backend's matmul, as the unfused node ran it
            if self.matmul.op == "matmul":
                product = np_matmul.matmul(lead[0], lead[1])
            else:
                bias = lead[2] if len(lead) > 2 else None
                product = np_matmul.matmul_epilogue(lead[0], lead[1], bias,
                                                    self.matmul.args.get("activation"), None,
                                                    False)[0]
            operand = self._product_rows(product)
        elif self.pre.instrs[0].kind == "load" and not self.n_external:  # loaded as it is
            operand = lead[0]
        else:
            pre_outs = run_numpy(self.pre, lead)
            at = next(j for j, (_, i) in enumerate(self.pre.outputs) if i == self.operand)
            operand = pre_outs[at]
        shape = (self.rows, 1, self.cols)
        operand = _reshaped(operand, shape)
        extra = iter(arrays[n_pre:])
        given = [_reshaped(next(extra), read) if v is not None else None
                 for v, read in zip(self.extra, self.extra_shapes)]
        rest = arrays[n_pre + sum(v is not None for v in self.extra):]
        if self.kind == "matmul":  # no norm: the product's rows go to the epilogue
            parts = [operand]
        elif self.kind == "forward":
            weight, bias = given
            parts = list(np_norm.norm_rows(operand, weight, bias, self.eps, self.rms, False))
        else:
            x, weight, mean, rstd = given
            parts = list(np_norm.norm_rows_backward(
                operand, _reshaped(x, shape), weight, _reshaped(mean, (self.rows, 1)),
                _reshaped(rstd, (self.rows, 1)), self.rms, False))
        outs = list(pre_outs[:self.n_external])
        if self.y_perm is not None:  # what the copy_ of the transposed rows made
            view, dims = self.y_perm
            parts[0] = wrap(np.ascontiguousarray(nd(parts[0]).reshape(view).transpose(dims)),
                            f32)
        outs += [_reshaped(part, tuple(v.shape)) for part, v in zip(parts, self.norm_out)
                 if v is not None]
        for k, (what, _) in enumerate(self.sums):  # the backend's float32 sum, as the node
            summed = nd(parts[1]) if what == "gx" else nd(operand)
            sum_shape, dims = self.sum_shape[k]
            outs.append(wrap(np.sum(summed.reshape(sum_shape), axis=dims), f32))
        post = self.post
        if post is not None:  # the epilogue's plan on dx, then the sums of its outputs
            others = iter(rest)
            post_arrays = [_reshaped(parts[0], tuple(v.shape)) if k == self.post_dx
                           else next(others) for k, v in enumerate(post.inputs)]
            post_outs = run_numpy(post, post_arrays)
            outs += post_outs[:post.n_external]
            for j, _, sum_shape, dims in self.post_sums:
                outs.append(wrap(np.sum(nd(post_outs[j]).reshape(sum_shape), axis=dims), f32))
        return outs

    def _run_numpy_matmul(self, arrays: list) -> list:
        """The common case of kind "matmul" (the product read only by the epilogue): the
        backend's matmul, then the epilogue's plan on a view of the product, its sums."""
        mm, post = self.matmul, self.post
        n_lead = self.n_lead
        if mm.op == "matmul":
            product = np_matmul.matmul(arrays[0], arrays[1])
        else:
            product = np_matmul.matmul_epilogue(arrays[0], arrays[1],
                                                arrays[2] if n_lead > 2 else None,
                                                mm.args.get("activation"), None, False)[0]
        post_arrays = list(arrays[n_lead:])
        post_arrays.insert(self.post_dx, _reshaped(product, self._dx_shape))
        direct = self._direct_kernel() if not self.post_sums else None
        if direct is not None:  # one elementwise node: its own kernel, as it ran unfused
            fn, spec = direct
            return [fn(*[post_arrays[x] if ref else x for ref, x in spec])]
        post_outs = run_numpy(post, post_arrays)
        outs = post_outs[:post.n_external]
        for j, _, sum_shape, dims in self.post_sums:  # the backend's float32 sum
            outs.append(wrap(np.sum(nd(post_outs[j]).reshape(sum_shape), axis=dims),
                             dtypes.float32))
        return outs

    def _direct_kernel(self) -> "tuple | None":
        """``(backend function, [(is input, input index or constant)])`` of an epilogue that
        is one unary or binary node whose value is stored (the NumPy plan's per-call cost is
        larger than the kernel's for one op); else None. Cached."""
        found = self.__dict__.get("_direct")
        if found is None:
            found = False
            post = self.post
            if (len(post.nodes) == 1 and len(post.instrs) == 1 and post.n_external == 1
                    and post.instrs[0].kind in ("unary", "binary") and not post.out_perm):
                from .. import _backends
                from .runtime import _resolve, _static_arg
                node = post.nodes[0]
                spec = [(True, post.inputs.index(a)) if isinstance(a, Value)
                        else (False, _resolve(a, _static_arg)) for a in node.args.values()]
                backend = _backends.load("numpy")  # (not counted: the group counts once)
                backend = getattr(backend, "_real", backend)
                found = (backend.kernels[node.op], spec)
            self._direct = found
        return found or None

    @property
    def _dx_shape(self) -> tuple:
        return tuple(self.post.inputs[self.post_dx].shape)

    def _product_rows(self, product):
        """The matmul's product (a fresh (1, M, cols) Array) as the gradient's rows, in the
        gradient's order: the product itself, or its rows ``(r // D) * S0 + (r % D) * S1``
        made contiguous (a transposed view, copied as the unfused reshape copies it)."""
        d, s0, s1 = self.row_map
        if d == self.rows and s1 == 1:  # row r is the product's row r
            return product
        rows = nd(product).reshape(self.rows, self.cols)
        step, item = rows.strides
        view = np.lib.stride_tricks.as_strided(rows, (self.rows // d, d, self.cols),
                                               (s0 * step, s1 * step, item), writeable=False)
        return wrap(np.ascontiguousarray(view), dtypes.float32)

    def _run_unfused(self, arrays: list) -> list:
        from . import runtime
        sub = Graph()
        sub.inputs, sub.user_inputs = list(self.inputs), len(self.inputs)
        sub.nodes = list(self.nodes)
        sub.output = tuple(self.outputs)
        return list(runtime.run(sub, arrays))


def _reshaped(array, shape: tuple):
    """A NumPy-backend ``Array`` viewed with ``shape`` (a view when it is contiguous, else a
    contiguous copy)."""
    if tuple(array.shape) == shape:
        return array
    if not array.is_contiguous():
        return wrap(np.ascontiguousarray(nd(array)), array.dtype).view(
            shape, contiguous_strides(shape), 0)
    return array.view(shape, contiguous_strides(shape), array.offset)


# -- the pass ------------------------------------------------------------------------------
def fuse_norms(graph: Graph) -> int:
    """Fold prologues (and backward weight/bias sums) into ``norm_rows`` and
    ``norm_rows_backward`` nodes (see the module docstring). Returns the nodes removed."""
    removed = 0
    for op in ("norm_rows", "norm_rows_backward"):
        for n in [m for m in graph.nodes if m.op == op]:
            removed += _fuse_one(graph, n)
    for mm in [m for m in graph.nodes if m.op in ("matmul", "matmul_epilogue")]:
        removed += _fuse_matmul_epilogue(graph, mm)
    if removed:
        graph.eliminate_dead_code()
        removed += _store_outputs_transposed(graph)
    return removed


def _fuse_matmul_epilogue(graph: Graph, mm: Node) -> int:
    """A single-batch float32 ``matmul`` (or ``matmul_epilogue`` with no residual) whose
    product only a plain fused group (or one fusible node) reads, through reshapes: the
    group runs on the product's rows in the same generated kernel (``NormGroup`` of kind
    "matmul": the rows kernel without a norm), with the group's column sums. Returns the
    nodes removed."""
    out = mm.outputs[0]
    if out is None or len(out.shape) != 3 or not _static(out.shape) or (
            mm.op == "matmul_epilogue" and (mm.args.get("residual") is not None
                                            or mm.args.get("keep_preact"))):
        return 0
    rows, cols = out.shape[1], out.shape[2]
    if not 1 <= cols <= NORM_MAX_COLS or not _matmul_ok(mm, rows, cols, epilogue=True):
        return 0
    index = _index(graph)
    readers, returned, producer, position = index
    start = position[id(mm)]
    post = _epilogue(graph, mm, out, start, index)
    if post is None:
        return 0
    q, post_group, dx_input, post_sums, post_nodes, moved = post
    if post_sums and rows * cols > NORM_SUM_MAX_ELEMENTS:
        return 0
    stored = _read_elsewhere(out, [q], returned, readers)  # a relu output saved: kept
    pre = FusedGroup([], [out], [], [Instr("load", "load", [("in", 0)], "float32",
                                           "load(in0)  # float32")],
                     [(graph.new_value(out.shape, "float32", mm.device), 0)], tuple(out.shape),
                     mm.device)
    group = NormGroup("matmul", pre, 0, [], False, 0.0, rows, cols, [out], [], [], mm.device,
                      0, [])
    group.set_matmul(mm, (rows, 0, 1, ()))
    group.add_epilogue(post_group, dx_input, post_sums, stored)
    group.nodes += post_nodes
    fused = Node("fused_elementwise", {"inputs": tuple(group.inputs), "group": group},
                 group.outputs, mm.device)
    gone = {id(m) for m in group.nodes if not m.is_view} | {id(q)} | {id(m) for m in moved}
    before = len(graph.nodes)
    at = sum(1 for m in graph.nodes[:start] if id(m) not in gone)
    graph.nodes = [m for m in graph.nodes if id(m) not in gone]
    graph.nodes[at:at] = moved + [fused]
    _drop_dangling_views(graph)
    return before - len(graph.nodes)


def _store_outputs_transposed(graph: Graph) -> int:
    """A fused forward norm's ``y`` copied transposed into a fresh buffer
    (``copy_(E, permute(reshape(y), dims))``, ``.transpose(...).contiguous()`` of the
    normalized rows, read by nothing else) is stored transposed instead: the kernel writes
    element ``i`` of ``y`` at its place in ``E``. Returns the nodes removed."""
    from .fusion import _views_written
    removed = 0
    readers, returned, producer, position = _index(graph)
    for f in list(graph.nodes):
        group = f.args.get("group") if f.op == "fused_elementwise" else None
        if not isinstance(group, NormGroup) or group.kind != "forward" or group.y_perm:
            continue
        y = group.norm_out[0]
        chain, v = [], y
        while v.id not in returned and len(readers.get(v.id, ())) == 1 and \
                readers[v.id][0].op == "reshape":
            chain.append(readers[v.id][0])
            v = chain[-1].outputs[0]
        users = readers.get(v.id, ())
        if v.id in returned or len(users) != 1 or users[0].op != "permute":
            continue
        view = users[0]
        src = view.outputs[0]
        copy = (readers.get(src.id) or [None])[0]
        if (copy is None or copy.op != "copy_" or readers.get(src.id) != [copy]
                or copy.args["src"] is not src or src.id in returned):
            continue
        dst = copy.args["dst"]
        maker = producer.get(dst.id)
        if (maker is None or maker.op != "empty" or dst.shape != src.shape
                or dst.dtype != "float32" or _views_written(graph, dst, copy)):
            continue
        group.y_perm = (tuple(v.shape), tuple(view.args["dims"]))
        group.norm_out[0] = dst
        group.nodes += chain + [view, maker, copy]
        f.outputs = group.outputs
        gone = {id(maker), id(view), id(copy)} | {id(m) for m in chain}
        graph.nodes = [m for m in graph.nodes if id(m) not in gone]
        removed += len(gone)
        readers, returned, producer, position = _index(graph)
    return removed


def _norm_ok(n: Node) -> "tuple | None":
    """``(rows, cols)`` of a norm node the generated kernel computes, else None."""
    a = n.args
    x = a.get("grad") if n.op == "norm_rows_backward" else a.get("x")
    if not isinstance(x, Value) or a.get("across") or x.dtype != "float32" \
            or not _static(x.shape) or len(x.shape) != 3 or x.device != n.device:
        return None
    rows, cols = x.shape[0] * x.shape[1], x.shape[2]
    if not 1 <= cols <= NORM_MAX_COLS or rows < 1:
        return None
    names = ("weight", "bias") if n.op == "norm_rows" else ("x", "weight", "mean", "rstd")
    for name in names:
        v = a.get(name)
        if v is not None and (not isinstance(v, Value) or v.dtype != "float32"
                              or not _static(v.shape) or v.device != n.device):
            return None
    if any(o is not None and o.dtype != "float32" for o in n.outputs):
        return None
    return rows, cols


def _source_of(x: Value, producer: dict) -> tuple:
    """``(v, chain)``: ``x`` followed back through the reshapes making it."""
    v, chain = x, []
    while producer.get(v.id) is not None and producer[v.id].op == "reshape":
        chain.append(producer[v.id])
        v = chain[-1].args["input"]
    return v, chain


def _fuse_one(graph: Graph, n: Node) -> int:
    geometry = _norm_ok(n)
    if geometry is None:
        return 0
    rows, cols = geometry
    index = _index(graph)
    readers, returned, producer, position = index
    backward = n.op == "norm_rows_backward"
    x = n.args["grad"] if backward else n.args["x"]
    v, chain = _source_of(x, producer)
    p = _prologue_node(graph, v, n, index)
    matmul = None
    if p is None and not backward:
        return 0  # a lone forward norm gains nothing
    start = position[id(p if p is not None else n)]
    names = ("x", "weight", "mean", "rstd") if backward else ("weight", "bias")
    extra, views = [], []  # the norm's other inputs, through reshapes (read flat)
    extra_shapes = [None if n.args.get(name) is None else tuple(n.args[name].shape)
                    for name in names]  # as the node read them: LayerNorm([4, 6])'s (24,)
    for name in names:
        a = n.args.get(name)
        if a is not None:
            a, between = _source_of(a, producer)
            views += between[::-1]
            maker = producer.get(a.id)
            if maker is not None and (position[id(maker)] > start or maker.is_view
                                      or int(np.prod(a.shape)) != int(np.prod(
                                          n.args[name].shape))):
                return 0  # made after the prologue, or a strided view
        extra.append(a)
    sums, sum_nodes, shapes = [], [], []
    if backward:
        gx = n.outputs[1] if len(n.outputs) > 1 else None
        sums, sum_nodes, shapes = _column_sums(graph, n, gx, x, v, rows, cols, index)
    if p is not None:
        if p.op == "fused_elementwise":
            g = p.args["group"]
            pre = FusedGroup(list(g.nodes), list(g.inputs), list(g.scalars), list(g.instrs),
                             list(g.outputs), g.shape, g.device)
            operand = next(i for o, i in g.outputs if o is v)
        else:
            pre = _build([p], {v.id}, v.shape, p.device)
            operand = 0
        if int(np.prod(pre.shape)) != rows * cols:
            return 0
        outside = [(o, i) for o, i in pre.outputs if o is not v or _read_elsewhere(
            v, [n] + sum_nodes, returned, readers)]
    else:  # no prologue: the incoming gradient loaded as it is
        if v.dtype != "float32" or not _static(v.shape) or \
                int(np.prod(v.shape)) != rows * cols:
            return 0
        pre = FusedGroup([], [v], [], [Instr("load", "load", [("in", 0)], "float32",
                                             "load(in0)  # float32")], [], tuple(v.shape),
                         n.device)
        operand, outside = 0, []
        mm, row_map = _matmul_rows(v, rows, cols, index) if backward else (None, None)
        if (mm is not None and not _read_elsewhere(v, [n] + sum_nodes, returned, readers)
                and not any(m.has_effect for m in graph.nodes[position[id(mm)]:position[id(n)]])
                and not any(producer.get(a.id) is not None
                            and position[id(producer[a.id])] > position[id(mm)]
                            for a in extra if a is not None)):
            matmul, start = mm, position[id(mm)]  # computed in the kernel, row block by block
    if backward:
        dx = n.outputs[0]
        gx = n.outputs[1] if len(n.outputs) > 1 else None
        gx_read = gx is not None and _read_elsewhere(gx, sum_nodes, returned, readers)
        norm_out = [dx, gx if gx_read else None]
        if p is None and not sums and matmul is None:
            return 0  # nothing folded
    else:
        norm_out = [o if o is not None and (o.id in returned or readers.get(o.id)) else None
                    for o in n.outputs]
    if norm_out[0] is None:
        return 0
    post = _epilogue(graph, n, norm_out[0], start, index) if backward else None
    if post is not None:
        q, post_group, dx_input, post_sums, post_nodes, moved = post
        if sums or post_sums:
            if rows * cols > NORM_SUM_MAX_ELEMENTS:
                post = None
    if not any(i == operand for _, i in outside):  # for the NumPy plan only
        pre.outputs = outside + [(graph.new_value(pre.shape, "float32", n.device), operand)]
    else:
        pre.outputs = list(outside)
    group = NormGroup("backward" if backward else "forward", pre, operand, extra,
                      bool(n.args.get("rms")), float(n.args.get("eps") or 0.0), rows, cols,
                      norm_out, sums, list(pre.nodes) + chain[::-1] + views + [n] + sum_nodes,
                      n.device, len(outside), shapes, extra_shapes)
    if matmul is not None:
        group.set_matmul(matmul, row_map)
    if post is not None:
        group.add_epilogue(post_group, dx_input, post_sums, _read_elsewhere(
            norm_out[0], [q], returned, readers))
        group.nodes += post_nodes
    fused = Node("fused_elementwise", {"inputs": tuple(group.inputs), "group": group},
                 group.outputs, n.device)
    gone = {id(m) for m in group.nodes if not m.is_view} | ({id(p)} if p is not None else set())
    if matmul is not None:
        gone.add(id(matmul))
    if post is not None:
        gone.add(id(q))
    before = len(graph.nodes)
    moved = moved if post is not None else []  # views the epilogue reads: made before it
    gone |= {id(m) for m in moved}
    at = sum(1 for m in graph.nodes[:start] if id(m) not in gone)
    graph.nodes = [m for m in graph.nodes if id(m) not in gone]
    graph.nodes[at:at] = moved + [fused]
    _drop_dangling_views(graph)
    return before - len(graph.nodes)


def _matmul_rows(v: Value, rows: int, cols: int, index: tuple) -> tuple:
    """``(matmul node, (D, S0, S1))`` when ``v`` is a matmul's (1, M, cols) product seen
    through reshapes and permutes (each read only by the next) that keep whole rows: row
    ``r`` of ``v`` viewed as rows x cols is the product's row ``(r // D) * S0 + (r % D) *
    S1``; else ``(None, None)``."""
    readers, returned, producer, position = index
    chain, u = [], v
    while producer.get(u.id) is not None and producer[u.id].op in ("reshape", "permute"):
        chain.append(producer[u.id])
        u = producer[u.id].args["input"]
        if u.id in returned or len(readers.get(u.id, ())) != 1:
            return None, None
    mm = producer.get(u.id)
    if mm is None or not _matmul_ok(mm, rows, cols):
        return None, None
    index_of = np.arange(rows * cols).reshape(tuple(u.shape))
    for node in reversed(chain):  # the product's flat index of each element of v
        index_of = (index_of.reshape(node.args["shape"]) if node.op == "reshape"
                    else index_of.transpose(node.args["dims"]))
    flat = index_of.reshape(rows, cols)
    if not (flat - flat[:, :1] == np.arange(cols)).all() or (flat[:, 0] % cols).any():
        return None, None  # the view does not keep the product's rows whole
    row_of = flat[:, 0] // cols
    s1 = int(row_of[1] - row_of[0]) if rows > 1 else 1
    bad = np.nonzero(row_of != row_of[0] + np.arange(rows) * s1)[0]
    d = int(bad[0]) if len(bad) else rows
    s0 = int(row_of[d]) if d < rows else 0
    r = np.arange(rows)
    if row_of[0] != 0 or rows % d or not ((r // d) * s0 + (r % d) * s1 == row_of).all():
        return None, None
    return mm, (d, s0, s1, tuple(chain[::-1]))


def _matmul_ok(mm: Node, rows: int, cols: int, epilogue: bool = False) -> bool:
    """True for a float32 single-batch ``matmul`` of (1, rows, K) by (1, K, cols) (or, with
    ``epilogue``, a ``matmul_epilogue`` with a float32 (cols,) bias or none)."""
    if mm.outputs[0] is None or mm.outputs[0].dtype != "float32":
        return False
    if mm.op == "matmul_epilogue" and epilogue:
        bias = mm.args.get("bias")
        if bias is not None and (not isinstance(bias, Value) or bias.dtype != "float32"
                                 or tuple(bias.shape) != (cols,)):
            return False
        if mm.args.get("activation") not in (None, "relu", "gelu", "gelu_tanh", "silu"):
            return False
    elif mm.op != "matmul":
        return False
    a, b = mm.args.get("a"), mm.args.get("b")
    return (isinstance(a, Value) and isinstance(b, Value) and a.dtype == b.dtype == "float32"
            and _static(a.shape) and _static(b.shape) and len(a.shape) == len(b.shape) == 3
            and a.shape[0] == b.shape[0] == 1 and a.shape[1] == rows and b.shape[2] == cols
            and a.shape[2] == b.shape[1] >= 1)


def _epilogue(graph: Graph, n: Node, dx: Value, start: int, index: tuple) -> "tuple | None":
    """``(node, group, dx input index, sums, nodes)``: the plain fused group (or fusible
    float32 node) reading the norm gradient ``dx`` through reshapes, with the float32 column
    sums of its values, that can run in the norm's kernel; else None."""
    readers, returned, producer, position = index
    found = [(r, between) for r, between in _readers_through_reshapes(dx, readers)]
    cols = dx.shape[-1]
    for q, between in found:
        read = between[-1].outputs[0] if between else dx
        if q.op == "fused_elementwise":
            g = q.args["group"]
            if not isinstance(g, FusedGroup) or g.softmax is not None or g.reduce is not None:
                continue
            group = FusedGroup(list(g.nodes), list(g.inputs), list(g.scalars),
                               list(g.instrs), list(g.outputs), g.shape, g.device)
            group.out_perm = dict(g.out_perm)
        elif _fusible(q) and q.outputs[0].dtype == "float32":
            group = _build([q], {q.outputs[0].id}, q.outputs[0].shape, q.device)
        else:
            continue
        if [v for v in group.inputs if v is read] != [read] or read.dtype != "float32" or \
                int(np.prod(group.shape)) != int(np.prod(dx.shape)) or \
                tuple(read.shape) != tuple(group.shape):
            continue
        if any(m.has_effect for m in graph.nodes[position[id(n)]:position[id(q)]]):
            continue
        others = [v for v in group.inputs if v is not read]
        views, late = [], False
        for v in others:  # computed before the fused kernel's place, views aside (moved)
            while producer.get(v.id) is not None and producer[v.id].is_view:
                views.append(producer[v.id])
                v = producer[v.id].args["input"]
            late = late or v is dx or (producer.get(v.id) is not None
                                       and position[id(producer[v.id])] >= start)
        if late:
            continue
        sums, nodes, kept_sum = [], [], False
        for j, (value, instr) in enumerate(group.outputs):
            perm = group.out_perm.get(j)
            for r, chain in _readers_through_reshapes(value, readers):
                if r.op != "sum":
                    continue
                dims, shape = tuple(r.args.get("dims") or ()), tuple(r.args["x"].shape)
                if (r.outputs[0] is None or r.outputs[0].dtype != "float32"
                        or r.args["out_dtype"].name != "float32" or shape[-1] != cols
                        or sorted(dims) != list(range(len(shape) - 1))
                        or (perm is not None and perm[-1] != len(perm) - 1)
                        or any(m.has_effect for m in
                               graph.nodes[position[id(n)]:position[id(r)]])):
                    kept_sum = True  # the group keeps it (fuse_reduction_epilogues)
                    continue
                sums.append((j, r.outputs[0], shape, dims))
                nodes += chain + [r]
        if kept_sum:
            continue
        external = [(v, i) for v, i in group.outputs
                    if _read_elsewhere(v, nodes, returned, readers)]
        internal = [(v, i) for v, i in group.outputs if (v, i) not in external]
        # the sums read outputs by position: external ones first, then the summed internal
        order = external + [o for o in internal if any(group.outputs.index(o) == j
                                                       for j, *_ in sums)]
        remap = {group.outputs.index(o): k for k, o in enumerate(order)}
        if any(j not in remap for j, *_ in sums):
            continue
        perm = {remap[j]: d for j, d in group.out_perm.items() if j in remap}
        group.outputs, group.out_perm = order, perm
        group.n_external = len(external)
        sums = [(remap[j], value, shape, dims) for j, value, shape, dims in sums]
        members = list(g.nodes) if q.op == "fused_elementwise" else [q]
        # views made after the fused kernel's place move before it; those made before it
        # stay (moving one later would leave its other readers before their input)
        views = sorted({m for m in views if position[id(m)] >= start},
                       key=lambda m: position[id(m)])
        return q, group, group.inputs.index(read), sums, between + members + nodes, views
    return None


def _read_elsewhere(value: Value, by: list, returned: set, readers: dict) -> bool:
    """True when ``value`` (or a reshape of it) is returned or read by a node not in ``by``."""
    stack = [value]
    while stack:
        val = stack.pop()
        if val.id in returned:
            return True
        for r in readers.get(val.id, ()):
            if r.op == "reshape":
                stack.append(r.outputs[0])
            elif r not in by:
                return True
    return False


def _drop_dangling_views(graph: Graph) -> None:
    """Remove the views of values no node makes any more (a folded reshape chain)."""
    made = {v.id for v in graph.inputs}
    kept = []
    for m in graph.nodes:
        if m.is_view and m.args["input"].id not in made:
            continue
        made.update(o.id for o in m.outputs if o is not None)
        kept.append(m)
    graph.nodes = kept


def _prologue_node(graph: Graph, v: Value, n: Node, index: tuple) -> "Node | None":
    """The plain fused group (or fusible float32 node) computing ``v`` that can run where
    it stands with the norm, else None."""
    readers, returned, producer, position = index
    p = producer.get(v.id)
    if p is None:
        return None
    if p.op == "fused_elementwise":
        g = p.args["group"]
        if (not isinstance(g, FusedGroup) or g.softmax is not None or g.reduce is not None
                or g.out_perm or not any(o is v for o, _ in g.outputs)):
            return None
    elif not (_fusible(p) and p.outputs[0].dtype == "float32"):
        return None
    if any(m.has_effect for m in graph.nodes[position[id(p)]:position[id(n)]]):
        return None  # an effect between: the group cannot run where the norm runs
    return p


def _column_sums(graph, n, gx, x, v, rows, cols, index) -> tuple:
    """The float32 ``sum`` nodes over every dim but the last of (reshapes of) ``gx`` and of
    the incoming gradient, when the problem is small enough for one program."""
    readers, returned, producer, position = index
    if rows * cols > NORM_SUM_MAX_ELEMENTS:
        return [], [], {}
    found, nodes, shapes = [], [], []
    for what, value in (("gx", gx), ("g", x), ("g", v)):
        if value is None:
            continue
        for r, chain_nodes in _readers_through_reshapes(value, readers):
            if r.op != "sum" or r in nodes or r.outputs[0] is None:
                continue
            s = r.outputs[0]
            dims, shape = tuple(r.args.get("dims") or ()), tuple(r.args["x"].shape)
            if (s.dtype != "float32" or r.args["out_dtype"].name != "float32" or not dims
                    or shape[-1] != cols or sorted(dims) != list(range(len(shape) - 1))
                    or s.id in {t.id for _, t in found}):
                continue
            if any(m.has_effect for m in graph.nodes[position[id(n)]:position[id(r)]]):
                continue
            found.append((what, s))
            nodes += chain_nodes + [r]
            shapes.append((shape, dims))
    return found, nodes, shapes


def _readers_through_reshapes(value: Value, readers: dict) -> list:
    """``(node, reshapes between)`` for each non-reshape reader of ``value`` through reshapes."""
    out, stack = [], [(value, [])]
    while stack:
        val, between = stack.pop()
        for r in readers.get(val.id, ()):
            if r.op == "reshape":
                stack.append((r.outputs[0], between + [r]))
            else:
                out.append((r, between))
    return out


# -- the generated kernel ------------------------------------------------------------------
def norm_source(group: NormGroup) -> str:
    """The readable Triton source of ``group``'s kernel."""
    from .codegen import _body, dropouts, kernel_imports
    pre = group.pre
    n_in, n_sc = len(pre.inputs), len(pre.scalars)
    mm = group.matmul is not None
    if mm:  # the gradient is a @ b, computed here: no prologue inputs
        n_in = 0
    has_bias = mm and group.matmul.op == "matmul_epilogue" and \
        group.matmul.args.get("bias") is not None
    activation = mm and group.matmul.op == "matmul_epilogue" and \
        group.matmul.args.get("activation")
    outs = [i for _, i in pre.outputs[:group.n_external]]
    used_as_value = {k for ins in pre.instrs for pos, (kind, k) in enumerate(ins.operands)
                     if kind == "in" and not (ins.kind == "where" and pos == 0)}
    drops = dropouts(pre)
    backward = group.kind == "backward"
    has = dict(zip(("x", "w", "mean", "rstd") if backward else ("w", "b"),
                   (v is not None for v in group.extra)))
    norm_names = (("dx",) if group.kind == "matmul" else ("dx", "gx") if backward
                  else ("y", "mean", "rstd"))
    norm_ptrs = [f"{name}_ptr" for name, v in zip(norm_names, group.norm_out) if v is not None]
    params = [f"out{j}_ptr" for j in range(len(outs))] + norm_ptrs
    post = group.post
    ep = _epilogue_parts(group) if post is not None else None
    params += [f"sum{k}_ptr" for k in range(len(group.sums))]
    params += ep["out_params"] if ep else []
    params += [f"in{k}_ptr" for k in range(n_in)] + (["a_ptr", "b_ptr"] if mm else [])
    params += ["bias_ptr"] if has_bias else []
    params += [f"{name}n_ptr" if name in ("x", "mean", "rstd") else f"{name}_ptr"
               for name, present in has.items() if present]
    params += ep["in_params"] if ep else []
    params += [f"s{j}: tl.float64" for j in range(n_sc)]
    params += [f"{name}{i}" for i in drops for name in ("seed", "offset")]
    params += ep["scalar_params"] if ep else []
    params += ["n_rows", "n_cols", "rows_per_program"]
    params += ["eps: tl.float64"] if group.kind != "matmul" else []
    params += ["n_inner", "sam", "sak", "sbk", "sbn", "row_d", "row_s0", "row_s1"] if mm else []
    params += ["size1", "size2", "size3", "size4", "size5"] if not mm else []
    params += [f"st{k}_{d}" for k in range(n_in) for d in range(6)]
    params += ep["stride_params"] if ep else []
    y_params = [f"ysize{d}" for d in range(1, 6)] + [f"yst{d}" for d in range(6)]
    params += y_params if group.y_perm is not None else []
    params += (["STRIDED: tl.constexpr"] if not mm else []) + (
        ["E_STRIDED: tl.constexpr"] if ep else [])
    params += ["INDEX32: tl.constexpr", "BLOCK_R: tl.constexpr", "BLOCK_C: tl.constexpr"]
    params += ["BLOCK_K: tl.constexpr", "INPUT_PRECISION: tl.constexpr"] if mm else []
    params += ["ACTIVATION: tl.constexpr"] if activation else []
    norm = "rms_norm" if group.rms else "layer_norm"
    outs_doc = ", ".join(f"out{j} = t{i}" for j, i in enumerate(outs))
    if group.kind == "matmul":
        what = ["    then dx = t0 (no norm: the product's rows)" + (
            ", stored at i (read by other nodes)." if group.norm_out[0] is not None else ".")]
    elif backward:
        what = [f"    then the {norm} input gradient of g = t{group.operand} for the saved "
                "input xn, its row mean and rstd",
                "    (float32, as the library's norm_rows_backward_kernel): with xhat = (xn - "
                "mean) * rstd and",
                "    gw = g" + (" * w" if has["w"] else "") + ", dx = rstd * (gw - xhat * "
                "mean(gw * xhat)" + ("" if group.rms else " - mean(gw)") + ") (row means),",
                "    stored at i" + (", and g * xhat at i" if group.norm_out[1] is not None
                                     else "") + "."]
        for k, (kind, _) in enumerate(group.sums):
            what.append(f"    sum{k}[c] is the sum over every row of "
                        + ("g * xhat" if kind == "gx" else "g") + " in column c (float32).")
    else:
        what = [f"    then the {norm} of each row of t{group.operand}: mean"
                + (" 0" if group.rms else "") + ", rstd = 1 / sqrt(mean of squares of the "
                "centered row + eps),",
                "    y = (t - mean) * rstd" + (" * w" if has["w"] else "")
                + (" + b" if has["b"] else "") + " stored at i, mean and rstd at the row."]
        if group.y_perm is not None:
            what.append(f"    y is stored transposed: element i of y viewed as {group.y_perm[0]} "
                        f"at the strides yst* of permute(y, {group.y_perm[1]}) (contiguous).")
    if ep:
        what += ep["doc"]
    grid_doc = ("    One program walks every row (the column sums need all of them), BLOCK_R "
                "rows at a time." if group.sums or group.post_sums else
                "    Each program computes rows_per_program rows, BLOCK_R at a time.")
    lines = [
        '"""Fused norm kernel generated by framework.compiler.norms (do not edit).',
        "",
        "Fused ops: " + (("a matmul" + (" with bias" if has_bias else "")
                          + (f" and {activation}" if activation else ""))
                         if group.kind == "matmul" else
                         ", ".join(ins.op for ins in pre.instrs) + f", then a row {norm}"
                         + ("_backward" if backward else "")
                         + (" and its column sums" if group.sums else ""))
        + (", then " + ", ".join(ins.op for ins in post.instrs) if post is not None else "")
        + (" and column sums" if group.post_sums else "") + ".",
        '"""',
        *kernel_imports(matmul_activation=bool(activation)),
        "@triton.jit(do_not_specialize=" + repr(tuple(
            (["size1", "size2", "size3", "size4", "size5"] if not mm else [])
            + [f"st{k}_{d}" for k in range(n_in) for d in range(6)]
            + [f"{name}{i}" for i in drops for name in ("seed", "offset")]
            + (ep["unspecialized"] if ep else [])
            + (y_params if group.y_perm is not None else []))) + ")",
        "def fused_kernel(" + ", ".join(params) + "):",
        '    """Rows of n_cols (<= BLOCK_C) elements, element (row, c) at flat index '
        "i = row * n_cols + c",
        "    of every operand" + (" (the prologue's inputs at their strides stK_* when "
                                  "STRIDED)." if not mm else "."),
        grid_doc,
        *(["    Per row block, the prologue:", ""]
          + [f"        {line}" for line in pre.describe()] + [""] if not mm else
          ["    Per row block, " + ("the incoming gradient " if backward else "")
           + "t0 = a @ b (a: n_rows x n_inner at strides sam, sak;", "    b: n_inner x n_cols at sbk, sbn; float32 tl.dot, "
           "INPUT_PRECISION as the library's matmul),", "    row r being the product's row "
           "(r // row_d) * row_s0 + (r % row_d) * row_s1 (r itself when row_d = n_rows),"]),
        *([f"    stores {outs_doc} at i (read by other nodes),"] if outs else []),
        *what,
        "    inK is input K, sJ scalar argument J, tI a value kept in registers (float32).",
        *(["    A dropout tI keeps element i when tl.rand(seedI, offsetI + i) >= p, the "
           "library's draw."] if drops else []),
        '    """',
    ]
    for j in range(n_sc):
        lines.append(f"    s{j} = compute_scalar(s{j}, tl.float32)  # a float64 argument, "
                     "rounded once")
    lines += ep["setup"] if ep else []
    if group.kind != "matmul":
        lines.append("    eps = compute_scalar(eps, tl.float32)  # a float64 argument, "
                     "rounded once")
    lines += [
        "    col = tl.arange(0, BLOCK_C).to(tl.int64)",
        "    cmask = col < n_cols  # BLOCK_C is n_cols rounded up to a power of 2",
    ]
    if has.get("w"):
        lines.append("    w = tl.load(w_ptr + col, mask=cmask, other=0.0).to(tl.float32)")
    if has.get("b"):
        lines.append("    b = tl.load(b_ptr + col, mask=cmask, other=0.0).to(tl.float32)")
    for k in range(len(group.sums)):
        lines.append(f"    acc{k} = tl.zeros((BLOCK_R, BLOCK_C), tl.float32)  "
                     "# per-lane partial column sums")
    lines += [
        "    first = tl.program_id(0).to(tl.int64) * rows_per_program",
        "    for r0 in range(0, rows_per_program, BLOCK_R):",
        "        row = first + r0 + tl.arange(0, BLOCK_R).to(tl.int64)",
        "        rmask = row < n_rows  # the last row block is partial",
        "        # lanes past the row's end or in rows past the last neither load nor store",
        "        mask = rmask[:, None] & cmask[None, :]",
        "        idx = row[:, None] * n_cols + col[None, :]",
    ]
    if mm:  # the incoming gradient's rows: a @ b, BLOCK_K inner elements at a time
        body = [
            "t0 = tl.zeros((BLOCK_R, BLOCK_C), tl.float32)",
            "arow = (row // row_d) * row_s0 + (row % row_d) * row_s1  # the product's row",
            "for k0 in range(0, n_inner, BLOCK_K):",
            "    kk = k0 + tl.arange(0, BLOCK_K).to(tl.int64)",
            "    kmask = kk < n_inner  # the last inner block is partial: those lanes add 0",
            "    a = tl.load(a_ptr + arow[:, None] * sam + kk[None, :] * sak,",
            "                mask=rmask[:, None] & kmask[None, :], other=0.0)",
            "    b = tl.load(b_ptr + kk[:, None] * sbk + col[None, :] * sbn,",
            "                mask=kmask[:, None] & cmask[None, :], other=0.0)",
            "    t0 = tl.dot(a, b, t0, input_precision=INPUT_PRECISION, out_dtype=tl.float32)",
        ]
        if has_bias:
            body.append("t0 = t0 + tl.load(bias_ptr + col, mask=cmask, other=0.0)[None, :]"
                        "  # matmul_epilogue's bias")
        if activation:
            body.append("t0 = _activation(t0, ACTIVATION)  # its activation (library math)")
    else:
        body = _body(pre, outs, used_as_value, "(BLOCK_R, BLOCK_C)")
    op = group.operand
    if group.kind == "matmul":
        body += ["dx = t0  # the product's rows"]
        if group.norm_out[0] is not None:  # read by other nodes too
            body.append("tl.store(dx_ptr + idx, dx.to(dx_ptr.dtype.element_ty), mask=mask)")
        body += ep["body"]
    elif backward:
        body += [
            f"g = tl.where(mask, t{op}, 0.0)  # the incoming gradient",
            "xv = tl.load(xn_ptr + idx, mask=mask, other=0.0).to(tl.float32)",
            "mean = tl.load(meann_ptr + row, mask=rmask, other=0.0).to(tl.float32)",
            "rstd = tl.load(rstdn_ptr + row, mask=rmask, other=0.0).to(tl.float32)",
            "xhat = tl.where(mask, (xv - mean[:, None]) * rstd[:, None], 0.0)",
            "gw = g * w[None, :]" if has["w"] else "gw = g",
            "mean_gwx = tl.sum(gw * xhat, axis=1) / n_cols",
            "dx = gw - xhat * mean_gwx[:, None]",
        ]
        if not group.rms:
            body.append("dx = dx - (tl.sum(gw, axis=1) / n_cols)[:, None]")
        body.append("dx = dx * rstd[:, None]")
        if group.norm_out[0] is not None:
            body.append("tl.store(dx_ptr + idx, dx.to(dx_ptr.dtype.element_ty), mask=mask)")
        if group.norm_out[1] is not None:
            body.append("tl.store(gx_ptr + idx, (g * xhat).to(gx_ptr.dtype.element_ty), "
                        "mask=mask)")
        for k, (kind, _) in enumerate(group.sums):
            body.append(f"acc{k} += " + ("g * xhat" if kind == "gx" else "g")
                        + "  # masked lanes add 0")
        body += ep["body"] if ep else []
    else:
        body += [f"x = tl.where(mask, t{op}, 0.0)  # padding lanes take no part"]
        if group.rms:
            body += ["mean = tl.zeros((BLOCK_R,), tl.float32)", "centered = x"]
        else:
            body += ["mean = tl.sum(x, axis=1) / n_cols",
                     "centered = tl.where(mask, x - mean[:, None], 0.0)"]
        body += ["rstd = 1.0 / tl.sqrt(tl.sum(centered * centered, axis=1) / n_cols + eps)",
                 "y = centered * rstd[:, None]"]
        if has["w"]:
            body.append("y = y * w[None, :]")
        if has["b"]:
            body.append("y = y + b[None, :]")
        if group.y_perm is not None:  # stored transposed: element i at the strides yst*
            body += ["yi0, yi1, yi2, yi3, yi4, yi5 = _coords(idx, ysize1, ysize2, ysize3, "
                     "ysize4, ysize5, INDEX32)",
                     "yoff = offset6(yi0, yi1, yi2, yi3, yi4, yi5, yst0, yst1, yst2, yst3, "
                     "yst4, yst5)",
                     "tl.store(y_ptr + yoff, y.to(y_ptr.dtype.element_ty), mask=mask)"]
        else:
            body.append("tl.store(y_ptr + idx, y.to(y_ptr.dtype.element_ty), mask=mask)")
        if group.norm_out[1] is not None:
            body.append("tl.store(mean_ptr + row, mean.to(mean_ptr.dtype.element_ty), "
                        "mask=rmask)")
        if group.norm_out[2] is not None:
            body.append("tl.store(rstd_ptr + row, rstd.to(rstd_ptr.dtype.element_ty), "
                        "mask=rmask)")
    lines += ["        " + line for line in body]
    for k in range(len(group.sums)):
        lines.append(f"    tl.store(sum{k}_ptr + col, tl.sum(acc{k}, axis=0).to(sum{k}_ptr.dtype"
                     ".element_ty), mask=cmask)")
    lines += ep["final"] if ep else []
    return "\n".join(lines) + "\n"


_PREFIXED = re.compile(r"\b(in|x|t|off|ooff|c|keep|seed|offset|out|s|st|ost|i|size)(\d+)"
                       r"(?!\()")


def _epilogue_parts(group: NormGroup) -> dict:
    """The pieces of the kernel that run the epilogue group on dx: its parameters (every name
    of ``codegen._body`` prefixed with ``e``: ``ein1_ptr``, ``et0``, ``esize1``...), its
    body with input ``post_dx`` taken from dx in registers, its column sums."""
    from .codegen import _body, dropouts
    post, k_dx = group.post, group.post_dx
    n_in, n_sc = len(post.inputs), len(post.scalars)
    outs = [i for _, i in post.outputs[:post.n_external]]
    used = {k for ins in post.instrs for pos, (kind, k) in enumerate(ins.operands)
            if kind == "in" and not (ins.kind == "where" and pos == 0)}
    drops = dropouts(post)
    perm = sorted(j for j in post.out_perm if j < post.n_external)
    shown = copy.copy(post)  # the stored outputs' layouts (summed ones stay in registers)
    shown.out_perm = {j: d for j, d in post.out_perm.items() if j < post.n_external}
    raw = _body(shown, outs, used, "(BLOCK_R, BLOCK_C)")
    rename = lambda line: _PREFIXED.sub(r"e\1\2", line).replace(  # noqa: E731
        "if STRIDED:", "if E_STRIDED:")
    body = ["# the epilogue, on dx (its input ein%d):" % k_dx]
    for line in raw:
        line = rename(line)
        if line.startswith(f"ein{k_dx} = tl.load("):
            line = f"ein{k_dx} = dx  # in registers" + (
                " (the norm's input gradient)" if group.kind == "backward" else "")
        body.append(line)
    for k, (j, _, _, _) in enumerate(group.post_sums):
        body.append(f"eacc{k} += tl.where(mask, et{post.outputs[j][1]}, 0.0)")
    unspecialized = ["esize1", "esize2", "esize3", "esize4", "esize5"]
    unspecialized += [f"est{k}_{d}" for k in range(n_in) for d in range(6)]
    unspecialized += [f"eost{j}_{d}" for j in perm for d in range(6)]
    unspecialized += [f"e{name}{i}" for i in drops for name in ("seed", "offset")]
    doc = ["    Then the epilogue on dx (its input ein%d), names prefixed with e:" % k_dx, ""]
    doc += [f"        {rename(line)}" for line in post.describe()]
    doc += [""]
    if outs:
        doc.append("    stores " + ", ".join(f"eout{j} = et{i}" for j, i in enumerate(outs))
                   + " at i" + (" (eoutJ for J in %s transposed, at the strides eostJ_*)" % perm
                                if perm else "") + ",")
    for k, (j, _, _, _) in enumerate(group.post_sums):
        doc.append(f"    esum{k}[c] is the sum over every row of et{post.outputs[j][1]} in "
                   "column c (float32).")
    return {
        "out_params": [f"eout{j}_ptr" for j in range(len(outs))]
        + [f"esum{k}_ptr" for k in range(len(group.post_sums))],
        "in_params": [f"ein{k}_ptr" for k in range(n_in) if k != k_dx],
        "scalar_params": [f"es{j}: tl.float64" for j in range(n_sc)]
        + [f"e{name}{i}" for i in drops for name in ("seed", "offset")],
        "stride_params": unspecialized[:5 + 6 * n_in + 6 * len(perm)],
        "unspecialized": unspecialized,
        "setup": [f"    es{j} = compute_scalar(es{j}, tl.float32)  # a float64 argument, "
                  "rounded once" for j in range(n_sc)]
        + [f"    eacc{k} = tl.zeros((BLOCK_R, BLOCK_C), tl.float32)  # per-lane partial "
           "column sums" for k in range(len(group.post_sums))],
        "body": body,
        "final": [f"    tl.store(esum{k}_ptr + col, tl.sum(eacc{k}, axis=0).to(esum{k}_ptr"
                  ".dtype.element_ty), mask=cmask)" for k in range(len(group.post_sums))],
        "doc": doc,
    }


def _launch(group: NormGroup, kernel, arrays: list) -> "list | None":
    """Fresh outputs computed by one launch; None when an input's layout does not fit (the
    norm's own inputs must be contiguous; the prologue's at most 6 strided dims)."""
    import triton

    from .. import dtypes
    from .._backends.triton.launch import all_contiguous_same_shape, pack_strided, pointer
    from .._backends.triton.memory import empty
    from .codegen import _INT32_LIMIT, dropouts
    pre = group.pre
    n_pre = len(pre.inputs)
    n_extra = sum(v is not None for v in group.extra)
    n_lead = group.n_lead
    pre_arrays, extra = arrays[:n_lead], arrays[n_lead:n_lead + n_extra]
    if not all(a.is_contiguous() for a in extra):  # the norm's own inputs are read flat
        return None
    values = group.outputs
    outs = [empty(v.shape, getattr(dtypes, v.dtype)) for v in values]
    shape = pre.shape
    if group.matmul is not None:  # a @ b: read at their strides, no prologue inputs
        strided, sizes, strides = False, (1,) * 5, []
    elif all_contiguous_same_shape(shape, *pre_arrays):
        strided, sizes, strides = False, (1,) * 5, [(0,) * 6] * n_pre
    else:
        try:
            sizes, strides = pack_strided(shape, *pre_arrays)
        except NotImplementedError:
            return None
        strided = True
    args = [pointer(o) for o in outs] + [pointer(a) for a in arrays] + list(pre.scalars)
    for i in dropouts(pre):  # this call's draws (training._RandomSites sets them)
        node_args = pre.instrs[i].node.args
        args += [node_args["seed"] & 0x7FFFFFFF, node_args["offset"]]
    post = group.post
    if post is not None:
        args += list(post.scalars)
        for i in dropouts(post):
            node_args = post.instrs[i].node.args
            args += [node_args["seed"] & 0x7FFFFFFF, node_args["offset"]]
        layout = _post_layout(group, outs, arrays[len(arrays) - len(post.inputs) + 1:])
        if layout is None:
            return None
        post_strided, post_sizes, post_strides = layout
    rows, cols = group.rows, group.cols
    block_c = triton.next_power_of_2(cols)
    block_r = max(1, min(_TILE // block_c, triton.next_power_of_2(rows)))
    if group.matmul is not None:  # tl.dot takes tiles of at least 16 x 16
        block_c, block_r = max(block_c, 16), max(block_r, 16)
    if group.sums or group.post_sums:  # one program: the column sums need every row
        per_program, grid = triton.cdiv(rows, block_r) * block_r, (1,)
    else:
        per_program, grid = block_r, (triton.cdiv(rows, block_r),)
    args += [rows, cols, per_program] + ([group.eps] if group.kind != "matmul" else [])
    if group.matmul is not None:
        from .._backends.precision import tf32_enabled
        a, b = pre_arrays[:2]
        args += [a.shape[2], a.strides[1], a.strides[2], b.strides[1], b.strides[2],
                 *group.row_map]
        flags_mm = {"BLOCK_K": max(16, min(32, triton.next_power_of_2(a.shape[2]))),
                    "INPUT_PRECISION": "tf32" if tf32_enabled() else "ieee"}
        if group.matmul.args.get("activation"):
            flags_mm["ACTIVATION"] = group.matmul.args["activation"]
    else:
        flags_mm = {}
    args += list(sizes) if group.matmul is None else []
    for st in strides:
        args += list(st)
    if group.y_perm is not None:  # y's coordinates in the viewed shape, E's strides
        from .codegen import _permuted_strides
        shape, dims = group.y_perm
        try:
            y_sizes, (y_strides,) = pack_strided(shape, _permuted_strides(
                outs[group.n_external], dims))
        except NotImplementedError:
            return None
        args += list(y_sizes) + list(y_strides)
    flags = dict(flags_mm) if group.matmul is not None else {"STRIDED": strided}
    if post is not None:
        args += list(post_sizes)
        for st in post_strides:
            args += list(st)
        flags["E_STRIDED"] = post_strided
    with np.errstate(all="ignore"):
        kernel.fn[grid](*args, INDEX32=rows * cols < _INT32_LIMIT,
                        BLOCK_R=block_r, BLOCK_C=block_c, num_warps=4, **flags)
    return outs


def _post_layout(group: NormGroup, outs: list, others: list) -> "tuple | None":
    """``(strided, sizes, strides)`` of the epilogue's operands (dx: contiguous) and of its
    transposed stored outputs; None beyond 6 strided dims."""
    from .._backends.triton.launch import all_contiguous_same_shape, pack_strided
    from .codegen import _permuted_strides
    post = group.post
    shape = tuple(post.shape)
    contiguous, step = [], 1
    for size in reversed(shape):
        contiguous.insert(0, step)
        step *= size
    operands = list(others)
    operands.insert(group.post_dx, tuple(contiguous))
    first = len(outs) - len(group.post_sums) - post.n_external  # eout0's place in outs
    perm = [_permuted_strides(outs[first + j], post.out_perm[j])
            for j in sorted(post.out_perm) if j < post.n_external]
    if not perm and all_contiguous_same_shape(shape, *others):
        return False, (1,) * 5, [(0,) * 6] * len(post.inputs)
    try:
        sizes, strides = pack_strided(shape, *operands, *perm)
    except NotImplementedError:
        return None
    return True, sizes, strides
