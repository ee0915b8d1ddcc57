"""Compiled training: capture the joint forward + backward graph of a call that needs gradients.

``trace_joint`` runs the call once with grad mode on under the tracer, then,
still recording, runs ``framework.autograd.grad`` of the outputs from seed
gradients (graph inputs, so nothing is folded) with respect to the inputs and
parameters that require grad. The kernels the autograd engine calls are the
backward graph. The recording is split where the backward began:

- the forward graph takes the call's tensors and the module's parameters and
  buffers and returns the outputs plus the *saved* values (every forward value
  the backward reads);
- the backward graph takes the saved values and one gradient per
  differentiable output and returns one gradient per input that requires grad.

Both are optimized like an inference graph (passes and fusion) and replayed
with a ``runtime.Plan``. ``JointEntry.__call__`` returns outputs made by one
autograd node (``CompiledFunctionBackward``) whose backward replays the
backward graph, so ``loss.backward()`` accumulates into ``.grad`` as eager does.

Random draws (dropout) are redrawn per call: the trace records each
``Generator.take``; a replay takes the same amounts from the same generators
and rewrites the ``seed``/``offset`` arguments of the forward nodes, and of the
backward nodes that reuse them, to the new draws.
"""
from __future__ import annotations

from .. import _backends
from .._backends.array import contiguous_strides
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..devices import device as Device
from ..tensor import Tensor
from .capture import _LOCK, Tracer, TensorSlot, _unflatten, flatten
from .ir import Graph, Node, Value, rebuild, walk
from .runtime import contiguous_arrays, plan_for, run


def trace_joint(fn, args: tuple, kwargs: dict, named: dict) -> "JointEntry":
    """Run ``fn(*args, **kwargs)`` and its backward once under the tracer; return the entry."""
    from .. import autograd
    from ..autograd.grad_mode import enable_grad, no_grad
    from ..random import Generator

    leaves, spec = flatten((tuple(args), dict(kwargs)))
    call_leaves = []
    with no_grad():
        for t in leaves:
            c = t.detach() if t.is_contiguous() else t.detach().contiguous()
            call_leaves.append(c.requires_grad_(True) if t.requires_grad and
                               t.dtype.is_floating_point else c)
    for t in leaves:
        if t.is_cuda:
            _backends.for_device(t.device)  # load the Triton backend before the hooks go in
    params = [(name, t) for name, t in named.items() if t is not None]
    inputs = call_leaves + [t for _, t in params]
    grad_positions = [i for i, t in enumerate(inputs) if t.requires_grad]
    call_args, call_kwargs = _unflatten(spec, call_leaves)
    takes = []
    with _LOCK:
        tracer = Tracer()
        tracer.redraws_random = True
        for i, t in enumerate(call_leaves):
            tracer.add_input(t._a, str(t.device), f"input{i}")
        tracer.graph.user_inputs = len(call_leaves)
        for name, t in params:
            tracer.add_input(t._a, str(t.device), name)
        saved_hooks = tracer.install()
        original_take = Generator.take

        def take(gen, n):
            drawn = original_take(gen, n)
            takes.append((gen, n, drawn))
            return drawn

        Generator.take = take
        try:
            tracer.in_user_call = True
            try:
                with enable_grad():
                    result = fn(*call_args, **call_kwargs)
            finally:
                tracer.in_user_call = False
            tracer.check_capturable()
            tracer.depth += 1
            out_tensors, out_spec = flatten(result)
            tracer.depth -= 1
            out_values = [tracer.value_of(t._a, str(t.device)) for t in out_tensors]
            split = len(tracer.graph.nodes)
            diff = [k for k, t in enumerate(out_tensors)
                    if t.requires_grad and t.dtype.is_floating_point]
            tracer.depth += 1
            with no_grad():
                seeds = [out_tensors[k].detach().new_ones(out_tensors[k].shape) for k in diff]
            tracer.depth -= 1
            seed_values = [tracer.add_input(s._a, str(s.device), f"grad_output{j}")
                           for j, s in enumerate(seeds)]
            targets = [inputs[i] for i in grad_positions]
            grads = autograd.grad([out_tensors[k] for k in diff], targets, grad_outputs=seeds,
                                  allow_unused=True) if diff and targets else [None] * len(targets)
            grad_values = [None if g is None else tracer.value_of(g._a, str(g.device))
                           for g in grads]
        finally:
            Generator.take = original_take
            tracer.uninstall(saved_hooks)
    array_of = {v.id: a for a, v in tracer._values.values()}
    entry = JointEntry.build(tracer.graph, split, len(inputs), out_values, out_spec, diff,
                             seed_values, grad_values, grad_positions, spec, named, takes,
                             array_of)
    entry.externals = [(array, version) for array, _, version in tracer.externals]
    return entry


def _split(graph: Graph, split: int, n_inputs: int, out_values: list, seed_values: list,
           grad_values: list) -> tuple:
    """(forward graph, backward graph, saved values of the forward) from the joint recording."""
    fwd_nodes, bwd_nodes = graph.nodes[:split], graph.nodes[split:]
    defined = {v.id for v in graph.inputs[:n_inputs]}
    for node in fwd_nodes:
        defined.update(o.id for o in node.outputs if o is not None)
    saved, seen = [], set()

    def note(leaf):
        if isinstance(leaf, Value) and leaf.id in defined and leaf.id not in seen:
            seen.add(leaf.id)
            saved.append(leaf)

    for node in bwd_nodes:
        walk(list(node.args.values()), note)
    for v in grad_values:
        if v is not None:
            note(v)
    saved, views = _save_view_roots(fwd_nodes, graph.inputs[:n_inputs], saved)
    forward = Graph()
    forward.inputs = list(graph.inputs[:n_inputs])
    forward.user_inputs = graph.user_inputs
    forward.nodes = list(fwd_nodes)
    forward.output = (tuple(out_values), tuple(saved))
    forward.internal_outputs = list(saved)  # only the compiled backward reads them
    forward._next = graph._next
    backward = Graph()
    backward._next = graph._next  # fresh ids above every recorded one
    fresh = {v.id: backward.new_value(v.shape, v.dtype, v.device, v.name) for v in saved}

    def sub(leaf):
        return fresh.get(leaf.id, leaf) if isinstance(leaf, Value) else leaf

    made = []  # the saved views, made again from their roots at the backward's start
    for node in views:
        out = node.outputs[0]
        again = backward.new_value(out.shape, out.dtype, out.device, out.name)
        made.append(Node(node.op, {**node.args, "input": fresh[node.args["input"].id]},
                         [again], node.device))
        fresh[out.id] = again
    for node in bwd_nodes:
        node.args = {k: rebuild(a, sub) for k, a in node.args.items()}
    backward.inputs = [fresh[v.id] for v in saved] + list(seed_values)
    backward.user_inputs = len(backward.inputs)
    backward.nodes = made + list(bwd_nodes)
    backward.output = tuple(None if v is None else sub(v) for v in grad_values)
    return forward, backward, saved


def _save_view_roots(fwd_nodes: list, inputs: list, saved: list) -> tuple:
    """``(saved, views)``: a saved value that is a view (through view nodes only) of a
    forward input (a parameter's slice, a transposed weight) is not saved; its root input
    is, and ``views`` are the view nodes (in order, each once) the backward makes again
    from it. Fewer saved values (one weight for its q, k and v slices), and the backward
    sees which views are of the same input."""
    producer = {o.id: n for n in fwd_nodes for o in n.outputs if o is not None}
    input_ids = {v.id for v in inputs}
    roots, views, listed = [], [], set()
    for v in saved:
        chain, u = [], v
        while u.id in producer and producer[u.id].is_view:
            chain.append(producer[u.id])
            u = producer[u.id].args["input"]
        if not chain or u.id not in input_ids:
            roots.append(v)
            continue
        roots.append(u)
        for node in reversed(chain):
            if id(node) not in listed:
                listed.add(id(node))
                views.append(node)
    unique, seen = [], set()
    for v in roots:
        if v.id not in seen:
            seen.add(v.id)
            unique.append(v)
    return unique, views


def _runner(graph: Graph, cudagraphs: bool = False, label: str = "", fixed_from: int = 0):
    """A function of the graph's input arrays returning its output tree of arrays (with
    ``cudagraphs``, a static plan replayed as a CUDA graph where it can be: inputs before
    ``fixed_from`` copied into the graph's own buffers, the rest read in place)."""
    plan = plan_for(graph)
    if plan is not None:
        if cudagraphs:
            from .cudagraphs import graphed
            return graphed(plan, graph, fixed_from, label)
        return plan
    return lambda arrays: run(graph, arrays)


class _RandomSites:
    """The ``seed``/``offset`` arguments of a graph's nodes, rewritten to a call's new draws."""

    def __init__(self, graph: Graph, runner, pairs: set) -> None:
        self.sites = []  # (node, plan step or None, seed position, offset position, old pair)
        steps = getattr(runner, "steps", None)
        found = []  # (node, its plan step or None)
        for i, node in enumerate(graph.nodes):
            if node.op == "fused_elementwise":  # a fused dropout reads its node's arguments
                found += [(member, None) for member in node.args["group"].nodes]
            else:
                found.append((node, steps[i] if steps is not None else None))
        for node, step in found:
            args = node.args
            if "seed" not in args or "offset" not in args:
                continue
            pair = (args["seed"], args["offset"])
            if pair not in pairs:
                continue
            keys = list(args)
            self.sites.append((node, step, keys.index("seed"), keys.index("offset"), pair))
        self.current = {}

    def apply(self, mapping: dict) -> None:
        for node, step, i_seed, i_offset, pair in self.sites:
            seed, offset = mapping.get(pair, pair)
            node.args["seed"], node.args["offset"] = seed, offset
            if step is not None:
                step[3][i_seed] = (False, seed)
                step[3][i_offset] = (False, offset)


def _merge_shared_saved(forward: Graph, backward: Graph) -> int:
    """Saved values the optimized forward returns twice (the same value: e.g. the one
    contiguous copy ``dedupe_copies`` kept for q, k and v) are one value in the backward:
    its readers of the later input read the first (so CSE merges what they compute).
    Returns the number of inputs merged."""
    saved = forward.output[1]
    first: dict = {}
    swap: dict = {}
    for j, v in enumerate(saved):
        i = first.setdefault(v.id, j)
        if i != j:
            swap[backward.inputs[j].id] = backward.inputs[i]
    if swap:
        def sub(leaf):
            return swap.get(leaf.id, leaf) if isinstance(leaf, Value) else leaf
        for node in backward.nodes:
            node.args = {k: rebuild(a, sub) for k, a in node.args.items()}
        backward.output = rebuild(backward.output, sub)
    return len(swap)


class JointEntry:
    """A cache entry of ``framework.compile`` for a signature that needs gradients."""

    @classmethod
    def build(cls, graph, split, n_inputs, out_values, out_spec, diff, seed_values, grad_values,
              grad_positions, spec, named, takes, array_of) -> "JointEntry":
        self = cls()
        forward, backward, saved = _split(graph, split, n_inputs, out_values, seed_values,
                                          grad_values)
        first = [array_of.get(v.id) for v in list(out_values) + saved]
        self.first = None if any(a is None for a in first) else (
            first[:len(out_values)], first[len(out_values):])
        self.forward_graph, self.backward_graph = forward, backward
        self.out_spec, self.diff, self.spec = out_spec, diff, spec
        self.grad_positions = grad_positions
        self.params = named
        self.param_names = [v.name for v in forward.params]
        self.takes = [(gen, n, pair) for gen, n, pair in takes]
        self.out_devices = [Device(v.device) for v in out_values]
        self.fixed = [k for k in range(len(out_values)) if k not in set(diff)]  # no gradient
        self.saved_devices = [Device(v.device) for v in saved]
        self.grad_devices = [None if v is None else Device(v.device) for v in grad_values]
        self.optimize_stats = {}
        self.fn = None  # the traced function (set by framework.compile), for double backward
        self.input_strides = None  # contiguous strides of the forward's inputs (first replay)
        return self

    def optimize(self, passes: bool, fusion: bool, cudagraphs: bool = False) -> None:
        from .compile import optimize
        for part, graph in (("forward", self.forward_graph), ("backward", self.backward_graph)):
            graph.eliminate_dead_code()
            if part == "backward" and passes:
                shared = _merge_shared_saved(self.forward_graph, graph)
            done = optimize(graph, passes=passes, fusion=fusion)
            if part == "backward" and passes:
                done["shared_saved"] = shared
            graph.renumber()
            self.optimize_stats[part] = done
        self.run_forward = _runner(self.forward_graph, cudagraphs, "training forward",
                                   self.forward_graph.user_inputs)
        self.run_backward = _runner(self.backward_graph, cudagraphs, "training backward",
                                    len(self.backward_graph.inputs))
        pairs = {pair for _, _, pair in self.takes}
        self.forward_random = _RandomSites(self.forward_graph, self.run_forward, pairs)
        self.backward_random = _RandomSites(self.backward_graph, self.run_backward, pairs)

    @property
    def graph(self) -> Graph:
        """The forward graph (what ``framework.compile``'s inference entries expose)."""
        return self.forward_graph

    def redraw(self) -> dict:
        """Take this call's random numbers: old (seed, offset) -> new, per recorded draw."""
        return {pair: gen.take(n) for gen, n, pair in self.takes}

    def __call__(self, tensors: list, first: bool = False):
        params = self.params
        inputs = list(tensors) + [params[name] for name in self.param_names]
        preset = self.first if first else None
        self.first = None  # the trace's arrays serve its own call only
        outs = _CompiledFunction.apply(self, preset, *inputs)
        spec = self.out_spec
        if type(spec) is TensorSlot:  # one tensor out
            return outs[spec.index]
        return rebuild(spec, lambda leaf: outs[leaf.index] if type(leaf) is TensorSlot else leaf)


class _CompiledFunction(Function):
    """One autograd node for a compiled call: forward and backward replay captured graphs."""

    node_name = "CompiledFunctionBackward"

    @staticmethod
    def forward(ctx, entry: JointEntry, preset, *tensors):
        if preset is None:
            mapping = entry.redraw() if entry.takes else None
            if mapping:
                entry.forward_random.apply(mapping)
            strides = entry.input_strides
            if strides is None:
                strides = entry.input_strides = [
                    contiguous_strides(v.shape) if all(type(s) is int for s in v.shape) else
                    None for v in entry.forward_graph.inputs]
            outs, saved = entry.run_forward(contiguous_arrays(tensors, strides))
        else:
            mapping = None
            outs, saved = preset
        ctx.entry, ctx.mapping = entry, mapping
        ctx.inputs = tensors  # for a double backward, which recomputes eagerly
        ctx.save_for_backward(*[Tensor._make(a, d) for a, d in zip(saved, entry.saved_devices)])
        results = tuple([Tensor._make(a, d) for a, d in zip(outs, entry.out_devices)])
        if entry.fixed:
            ctx.mark_non_differentiable(*[results[k] for k in entry.fixed])
        return results

    @staticmethod
    def backward(ctx, *grads):
        entry = ctx.entry
        saved = ctx.saved_tensors
        if is_grad_enabled():  # create_graph=True: the captured backward is not differentiable
            return (None, None, *_eager_backward(entry, ctx.inputs, grads))
        if ctx.mapping:
            entry.backward_random.apply(ctx.mapping)
        seeds = []
        for k in entry.diff:
            g = grads[k]
            seeds.append((g if g.is_contiguous() else g.contiguous())._a)
        result = entry.run_backward([t._a for t in saved] + seeds)
        n_inputs = len(ctx.needs_input_grad) - 2
        out = [None] * n_inputs
        for pos, g, d in zip(entry.grad_positions, result, entry.grad_devices):
            if g is not None:
                out[pos] = Tensor._make(g, d)
        return (None, None, *out)


def _eager_backward(entry: JointEntry, inputs: tuple, grads: tuple) -> list:
    """Gradients with a graph (``create_graph=True``): run the function again eagerly on the
    same inputs and differentiate that (random draws are not replayed)."""
    from .. import autograd
    from ..autograd.grad_mode import enable_grad
    n_user = len(inputs) - len(entry.param_names)
    args, kwargs = _unflatten(entry.spec, list(inputs[:n_user]))
    with enable_grad():
        result = entry.fn(*args, **kwargs)
    outs, _ = flatten(result)
    targets = [inputs[i] for i in entry.grad_positions]
    found = autograd.grad([outs[k] for k in entry.diff], targets,
                          grad_outputs=[grads[k] for k in entry.diff], create_graph=True,
                          allow_unused=True)
    out = [None] * len(inputs)
    for pos, g in zip(entry.grad_positions, found):
        out[pos] = g
    return out
