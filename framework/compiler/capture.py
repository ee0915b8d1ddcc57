"""Capture: run a function once and record its backend kernel calls and views as a ``Graph``.

While tracing, ``framework._backends.for_device`` hands out a recording proxy
of each backend (the op layer reaches kernels only through it), so each
kernel call of the op layer becomes one ``Node`` (calls a kernel makes
internally are not recorded). ``Array.view`` is wrapped too: each view
remembers its parent, and when a kernel or the output reads the view, its
geometry change becomes view nodes (``framework.compiler.views``). Arrays the
trace never produced are graph inputs (the call's tensors, the module's
parameters and buffers) or constants (their data copied into the graph).
Python reads of traced data (``.item()``, ``bool(t)``, ``.tolist()``,
``.numpy()``) issue a ``TracerWarning``: the trace keeps the value seen.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import inspect
import sys
import threading
import warnings

import numpy as np

from .. import _backends
from .._backends.array import Array
from ..dtypes import dtype as _Dtype
from ..devices import device as Device
from . import views
from .ir import (EFFECT_OPS, Const, DType, Graph, Node, Struct, Value, rebuild, same_tuple,
                 walk)
from .proxy import KernelProxy

_LOCK = threading.Lock()  # one trace at a time: tracing swaps process-wide hooks
_THREAD = threading.local()  # .tracing: this thread's trace has its hooks installed


class TracerWarning(Warning):
    """A traced call did something the graph cannot record (a Python read of traced data)."""


class RandomTracerWarning(TracerWarning):
    """A traced call drew random numbers: a replay of its graph would repeat the draws."""


class DataDependentTracerWarning(TracerWarning):
    """A kernel whose output size depends on traced data (``nonzero``: boolean-mask indexing,
    ``masked_select``; ``unique``, ...): the graph records the size seen, and its views and
    buffers may not fit another call's data."""


# kernels whose output size is read from their input's data (argument names to check)
DATA_DEPENDENT = {"nonzero": ("x",), "unique": ("x",), "bincount": ("x",),
                  "repeat_interleave": ("repeats",), "repeat_interleave_index": ("repeats",)}


class TraceError(RuntimeError):
    """The call cannot be captured as a graph (an argument or result the IR cannot hold)."""


class _RecordingBackend(KernelProxy):
    """A backend whose kernel calls are recorded by ``tracer`` (other attributes pass through).

    ``real`` may be a function loading the backend on first use (the Triton backend when the
    traced call is the first to touch ``cuda``)."""

    def __init__(self, real, name: str, device: str, tracer: "Tracer") -> None:
        self._source = real
        self._device = device
        self._tracer = tracer
        self.name = name

    @property
    def _real(self):
        if callable(self._source):
            self._source = self._source()
        return self._source

    def _wrap(self, name: str, fn):
        tracer, device = self._tracer, self._device
        params = list(inspect.signature(fn).parameters)

        def kernel(*args, **kwargs):
            if tracer.depth:
                return fn(*args, **kwargs)
            return tracer.call(name, device, fn, params, args, kwargs)

        return kernel


def _load_triton():
    """The real Triton backend, loaded (and its runtime started) while a trace is recording."""
    from .._backends.triton import runtime
    runtime.require(0)
    proxy = _backends._loaded.pop("triton")
    try:
        return _backends.load("triton")
    finally:
        _backends._loaded["triton"] = proxy


_RANDOM = ("rand", "randn", "randint", "dropout", "multinomial")
OPTIMIZER_STEPS = tuple(op for op in EFFECT_OPS if op.endswith("_step") or "_step_" in op)


class Tracer:
    """The state of one trace: the graph so far and what each live array is in it."""

    def __init__(self) -> None:
        self.graph = Graph()
        self.depth = 0  # > 0 inside a kernel or the tracer itself: nothing is recorded
        self.redraws_random = False  # True: the caller redraws random kernels' seeds per call
        self._values: dict = {}  # id(Array) -> (Array, Value)
        self._roots: dict = {}  # id(Storage) -> (Array, Value): the array that owns the memory
        self._parents: dict = {}  # id(child Array) -> (child, parent): views not yet read
        self._host: dict = {}  # id(ndarray) -> (ndarray, Value): to_numpy results
        # arrays the trace did not make, held as constants: (Array, Value, storage version)
        self.externals: list = []
        self.in_user_call = False  # True while the traced function itself runs
        self._dependent: set = set()  # ids of values computed from the graph's inputs
        self._scanned = 0  # graph.nodes[:_scanned] are in _dependent

    # arrays -> values ----------------------------------------------------------------
    def add_input(self, array: Array, device: str, name: str) -> Value:
        value = self.graph.new_value(array.shape, array.dtype.name, device, name)
        self.graph.inputs.append(value)
        self._bind(array, value)
        self._roots.setdefault(id(array.storage), (array, value))
        return value

    def _bind(self, array: Array, value: Value) -> None:
        self._values[id(array)] = (array, value)

    def knows(self, array: Array) -> bool:
        """True when ``array`` is (a view of) data the trace computed or took as input."""
        return id(array.storage) in self._roots

    def value_of(self, array: Array, device: str) -> Value:
        """The graph value holding ``array`` (view nodes or a constant emitted on first use)."""
        entry = self._values.get(id(array))
        if entry is not None and entry[0] is array:
            return entry[1]
        lineage = self._parents.get(id(array))
        if lineage is not None and lineage[0] is array:
            parent = lineage[1]
            value = self._views(self.value_of(parent, device), parent, array, device)
        elif id(array.storage) in self._roots:
            root, root_value = self._roots[id(array.storage)]
            value = self._views(root_value, root, array, device)
        else:
            value = self._constant(array, device)
        self._bind(array, value)
        return value

    def _views(self, value: Value, parent: Array, child: Array, device: str) -> Value:
        self.depth += 1
        try:
            current = parent
            for op, attrs in views.classify(parent, child):
                current = views.apply(op, current, attrs)
                out = self.graph.new_value(current.shape, current.dtype.name, device)
                self.graph.nodes.append(Node(op, {"input": value, **attrs}, [out], device))
                value = out
        finally:
            self.depth -= 1
        return value

    def _constant(self, array: Array, device: str) -> Value:
        """A ``from_numpy`` node holding a copy of ``array``'s data (a tensor made outside)."""
        self.depth += 1
        try:
            data = np.array(_backends.for_device(Device(device)).to_numpy(array), copy=True)
        finally:
            self.depth -= 1
        out = self.graph.new_value(array.shape, array.dtype.name, device)
        args = {"array": Const(data), "dtype": DType(array.dtype.name)}
        self.graph.nodes.append(Node("from_numpy", args, [out], device))
        self.externals.append((array, out, array.storage.version))
        return out

    def check_capturable(self) -> None:
        """Raise ``TraceError`` for a call whose graph could not replay it: one that steps an
        optimizer (its step counts and learning rates are Python values the graph would keep
        fixed) or writes into a tensor it holds as a constant (a replay would write a copy)."""
        constants = {value.id for _, value, _ in self.externals}
        for node in self.graph.nodes:
            if node.op in OPTIMIZER_STEPS:
                raise TraceError(f"the call steps an optimizer ({node.op}): optimizer.step() "
                                 "reads Python-side step counts and learning rates, which a "
                                 "graph would keep fixed; call it outside the compiled function")
            if node.is_view and node.args.get("input") is not None:
                if node.args["input"].id in constants:
                    constants.update(v.id for v in node.outputs if v is not None)
            elif node.has_effect and any(v.id in constants for v in node.inputs()[:1]):
                raise TraceError(f"the call writes ({node.op}) into a tensor that is neither an "
                                 "argument nor a parameter or buffer of the compiled module; "
                                 "pass it as an argument")

    # kernel calls -----------------------------------------------------------------
    def call(self, name: str, device: str, fn, params: list, args: tuple, kwargs: dict):
        if name in _RANDOM and not self.redraws_random:
            warnings.warn(f"the trace records random kernel {name}() with its current seed and "
                          "offset: every call of the traced graph draws the same numbers (call "
                          "module.eval() before tracing to leave out dropout)",
                          RandomTracerWarning, stacklevel=4)
        bound = dict(zip(params, args))
        bound.update(kwargs)
        recorded = {key: self._arg(name, device, bound[key]) for key in params if key in bound}
        self.depth += 1
        try:
            result = fn(*args, **kwargs)
        finally:
            self.depth -= 1
        outputs = self._outputs(name, device, result)
        self.graph.nodes.append(Node(name, recorded, outputs, device))
        if name in DATA_DEPENDENT and self._reads_inputs(
                [recorded.get(key) for key in DATA_DEPENDENT[name]]):
            what = ("nonzero() (boolean-mask indexing x[mask], masked_select, nonzero)"
                    if name == "nonzero" else f"{name}()")
            sizes = [list(v.shape) for v in outputs if v is not None]
            warnings.warn(f"{what} gave an output of size {sizes[0] if sizes else '?'} that "
                          "depends on the traced data: the graph records that size, so it might "
                          "not generalize to other inputs", DataDependentTracerWarning,
                          stacklevel=4)
        return result

    def _reads_inputs(self, args: list) -> bool:
        """True when one of ``args`` (recorded arguments) is computed from the graph's inputs
        (the call's tensors, parameters, buffers), not from constants only."""
        nodes = self.graph.nodes
        dependent = self._dependent
        dependent.update(v.id for v in self.graph.inputs)
        for node in nodes[self._scanned:]:
            if any(v.id in dependent for v in node.inputs()):
                dependent.update(v.id for v in node.outputs if v is not None)
        self._scanned = len(nodes)
        found = []
        for arg in args:
            walk(arg, lambda v: found.append(v) if isinstance(v, Value) else None)
        return any(v.id in dependent for v in found)

    def _arg(self, kernel: str, device: str, arg):
        if isinstance(arg, Array):
            return self.value_of(arg, device)
        if isinstance(arg, np.ndarray):
            entry = self._host.get(id(arg))
            if entry is not None and entry[0] is arg:
                return entry[1]
            return Const(np.array(arg, copy=True))
        if isinstance(arg, (bool, int, float, str)) or arg is None:
            return arg
        if isinstance(arg, np.generic):
            return arg.item()
        if isinstance(arg, (tuple, list)):
            items = [self._arg(kernel, device, a) for a in arg]
            return tuple(items) if isinstance(arg, tuple) else items
        if isinstance(arg, _Dtype):
            return DType(arg.name)
        if dataclasses.is_dataclass(arg) and not isinstance(arg, type):
            cls = type(arg)
            return Struct(f"{cls.__module__}:{cls.__qualname__}", tuple(
                (f.name, self._arg(kernel, device, getattr(arg, f.name)))
                for f in dataclasses.fields(arg)))
        raise TraceError(f"trace: kernel {kernel}() got an argument of type "
                         f"{type(arg).__name__} that the graph cannot record")

    def _outputs(self, kernel: str, device: str, result) -> list:
        parts = result if isinstance(result, tuple) else ([] if result is None else [result])
        outputs = []
        for part in parts:
            if part is None:
                outputs.append(None)
            elif isinstance(part, Array):
                value = self.graph.new_value(part.shape, part.dtype.name, device)
                self._bind(part, value)
                self._roots.setdefault(id(part.storage), (part, value))
                outputs.append(value)
            elif isinstance(part, np.ndarray):
                value = self.graph.new_value(part.shape, str(part.dtype), "host")
                self._host[id(part)] = (part, value)
                outputs.append(value)
            else:
                raise TraceError(f"trace: kernel {kernel}() returned a {type(part).__name__}, "
                                 "which the graph cannot record")
        return outputs

    # hooks ------------------------------------------------------------------------
    def install(self):
        """Swap in the recording backends and the ``Array.view``/Tensor-read hooks."""
        saved = {"loaded": dict(_backends._loaded), "view": Array.view}
        numpy = _backends._loaded.get("numpy") or _backends.load("numpy")
        triton = _backends._loaded.get("triton") or _load_triton
        _backends._loaded["numpy"] = _RecordingBackend(numpy, "numpy", "cpu", self)
        _backends._loaded["triton"] = _RecordingBackend(triton, "triton", str(Device("cuda")),
                                                        self)
        original_view = Array.view
        tracer = self

        def view(array, shape, strides, offset, dtype=None):
            out = original_view(array, shape, strides, offset, dtype)
            if not tracer.depth:
                tracer._parents[id(out)] = (out, array)
            return out

        Array.view = view
        saved["tensor"] = _patch_tensor_reads(self)
        saved["run_backward"] = _patch_backward(self)
        saved["custom_op"] = _patch_custom_ops(self)
        _THREAD.tracing = True
        return saved

    def uninstall(self, saved) -> None:
        _THREAD.tracing = False
        triton = _backends._loaded.get("triton")
        _backends._loaded.clear()
        _backends._loaded.update(saved["loaded"])
        if "triton" not in saved["loaded"] and not callable(triton._source):
            _backends._loaded["triton"] = triton._source  # loaded during the trace: keep it
        Array.view = saved["view"]
        from ..tensor import Tensor
        for name, fn in saved["tensor"].items():
            setattr(Tensor, name, fn)
        from ..library import CustomOp
        CustomOp._call_kernel = saved["custom_op"]
        from .. import autograd
        autograd.run_backward = saved["run_backward"]


_READS = {
    "item": "Converting a tensor to a Python number",
    "tolist": "Converting a tensor to a Python list",
    "numpy": "Converting a tensor to a NumPy array",
    "__array__": "Converting a tensor to a NumPy array",
    "__bool__": "Converting a tensor to a Python boolean",
    "__int__": "Converting a tensor to a Python integer",
    "__float__": "Converting a tensor to a Python float",
    "__index__": "Converting a tensor to a Python index",
}


def _patch_tensor_reads(tracer: Tracer) -> dict:
    """Wrap the Tensor methods that read data into Python: warn when user code reads traced
    data (the library's own checks, made from inside ``framework``, do not warn)."""
    from ..tensor import Tensor
    saved = {}
    for name, what in _READS.items():
        original = Tensor.__dict__[name]
        saved[name] = original

        def read(self, *args, _original=original, _what=what, **kwargs):
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if (not tracer.depth and tracer.knows(self._a) and caller != "framework"
                    and not caller.startswith("framework.")):
                warnings.warn(
                    f"{_what} might cause the trace to be incorrect. We can't record the data "
                    "flow of Python values, so this value will be treated as a constant in the "
                    "future. This means that the trace might not generalize to other inputs!",
                    TracerWarning, stacklevel=2)
            tracer.depth += 1
            try:
                return _original(self, *args, **kwargs)
            finally:
                tracer.depth -= 1

        setattr(Tensor, name, read)
    return saved


def _patch_backward(tracer: Tracer):
    """Refuse ``backward()``/``autograd.grad()`` called by the traced function itself: the
    gradients it would write into ``.grad`` are not kernel outputs the graph can replay."""
    from .. import autograd
    original = autograd.run_backward

    def run_backward(*args, **kwargs):
        if tracer.in_user_call:
            raise TraceError("the call differentiates inside (backward() or autograd.grad()): "
                             "a graph cannot replay the gradients it writes into .grad")
        return original(*args, **kwargs)

    autograd.run_backward = run_backward
    return original


def _patch_custom_ops(tracer: Tracer):
    """Record each ``framework.library`` custom op call as one ``custom_op`` node (its kernel
    launches its own Triton kernels, which the backend proxy does not see)."""
    from ..library import CustomOp
    from ..tensor import Tensor
    original = CustomOp._call_kernel

    def call_kernel(op, values):
        if tracer.depth:
            return original(op, values)
        device = next(str(v.device) for v in values if isinstance(v, Tensor))
        inputs = tuple(tracer.value_of(v._a, str(v.device)) if isinstance(v, Tensor)
                       else tracer._arg(op.name, device, v) for v in values)
        tracer.depth += 1
        try:
            result = original(op, values)
        finally:
            tracer.depth -= 1
        parts = result if isinstance(result, tuple) else (result,)
        outputs = tracer._outputs(op.name, device, tuple(t._a for t in parts))
        tracer.graph.nodes.append(Node("custom_op", {"name": op.name, "inputs": inputs},
                                       outputs, device))
        return result

    CustomOp._call_kernel = call_kernel
    return original


# the call's arguments ----------------------------------------------------------------
def flatten(tree) -> tuple:
    """(leaves, spec): the tensors and other leaves of nested tuples/lists/dicts, and the
    structure with each tensor replaced by ``TensorSlot(i)``."""
    from ..tensor import Tensor
    leaves = []

    def visit(obj):
        if isinstance(obj, Tensor):
            leaves.append(obj)
            return TensorSlot(len(leaves) - 1)
        if isinstance(obj, tuple):
            return same_tuple(obj, [visit(o) for o in obj])
        if isinstance(obj, list):
            return [visit(o) for o in obj]
        if isinstance(obj, dict):
            return {k: visit(v) for k, v in obj.items()}
        return obj

    return leaves, visit(tree)


def tracing() -> bool:
    """Whether this thread is running a trace's call: a compiled function called inside one
    runs as it is, and the trace records its kernels."""
    return getattr(_THREAD, "tracing", False)


@contextlib.contextmanager
def capture_kind(kind: str):
    """Mark the traces this thread runs inside the block as made for ``kind`` (``"jit"``,
    ``"compile"``, ``"export"`` or ``"onnx"``), for the query functions (``capturing``).
    Nested blocks add their kind: an ONNX export's inner export capture is both."""
    previous = getattr(_THREAD, "kinds", frozenset())
    _THREAD.kinds = previous | {kind}
    try:
        yield
    finally:
        _THREAD.kinds = previous


def capturing(*kinds: str) -> bool:
    """Whether this thread is running the call of a trace made for one of ``kinds``
    (``framework.compiler.is_compiling``, ``jit.is_tracing``, ``onnx.is_in_onnx_export``)."""
    return tracing() and not getattr(_THREAD, "kinds", frozenset()).isdisjoint(kinds)


@dataclasses.dataclass(frozen=True)
class TensorSlot:
    """Position of a tensor among a call's flattened arguments."""

    index: int

    def __repr__(self) -> str:
        return "Tensor"


def trace_graph(fn, args: tuple, kwargs: dict, named_tensors: dict,
                externals: "list | None" = None) -> tuple:
    """Run ``fn(*args, **kwargs)`` once under the tracer; return (graph, input spec, result).

    ``externals``, when given, receives ``(Array, storage version)`` of each array made
    outside the call that the optimized graph holds as a constant."""
    from ..autograd.grad_mode import no_grad
    leaves, spec = flatten((tuple(args), dict(kwargs)))
    leaves = [t.contiguous() if not t.is_contiguous() else t for t in leaves]
    for t in leaves:
        if t.is_cuda:
            _backends.for_device(t.device)  # load the Triton backend before the hooks go in
    call_args, call_kwargs = _unflatten(spec, leaves)
    with _LOCK:
        tracer = Tracer()
        for i, t in enumerate(leaves):
            tracer.add_input(t._a, str(t.device), f"input{i}")
        tracer.graph.user_inputs = len(leaves)
        for name, t in named_tensors.items():
            if t is not None:
                tracer.add_input(t._a, str(t.device), name)
        saved = tracer.install()
        try:
            tracer.in_user_call = True
            try:
                with no_grad():
                    result = fn(*call_args, **call_kwargs)
            finally:
                tracer.in_user_call = False
            try:
                tracer.check_capturable()
            except TraceError as exc:
                exc.result = result  # the call ran to its end: its result stands, run once
                raise
            tracer.depth += 1  # no more recording while the output is read
            out_tensors, out_spec = flatten(result)
            tracer.depth -= 1
            values = []
            for t in out_tensors:
                values.append(tracer.value_of(t._a, str(t.device)))
        finally:
            tracer.uninstall(saved)
    graph = tracer.graph
    graph.output = rebuild(out_spec, lambda leaf: values[leaf.index]
                           if isinstance(leaf, TensorSlot) else _output_leaf(leaf))
    graph.eliminate_dead_code()
    graph.renumber()
    if externals is not None:
        externals.extend(_live_externals(tracer, graph))
    return graph, spec, result


def _live_externals(tracer: Tracer, graph: Graph) -> list:
    """``(Array, storage version)`` of the outside arrays the optimized graph still holds as
    constants (``framework.compile`` guards on them; see ``external_tensors``)."""
    kept = {id(v) for node in graph.nodes for v in node.outputs if v is not None}
    return [(array, version) for array, value, version in tracer.externals if id(value) in kept]


def external_tensors(externals: list) -> list:
    """``(tensor, Array, version)`` for each outside array that a live tensor holds.

    A trace keeps such arrays as constants; ``framework.compile`` checks before
    each replay that the tensor still holds the array at that version (else
    the graph is stale) and refuses ones that require grad. Tensors are found
    by ``gc.get_referrers``, once per trace and only when there are externals."""
    from ..tensor import Tensor
    if not externals:
        return []
    arrays = {id(array): (array, version) for array, version in externals}
    found = []
    for obj in gc.get_referrers(*[array for array, _ in arrays.values()]):
        owners = [obj] if isinstance(obj, Tensor) else []
        if type(obj) is dict and id(obj.get("_a")) in arrays:  # a tensor's materialized __dict__
            owners = [o for o in gc.get_referrers(obj) if isinstance(o, Tensor)]
        for owner in owners:
            if id(owner._a) in arrays:
                array, version = arrays.pop(id(owner._a))
                found.append((owner, array, version))
    return found


def _output_leaf(leaf):
    if isinstance(leaf, (bool, int, float, str)) or leaf is None:
        return leaf
    raise TraceError(f"trace: the traced function returned a {type(leaf).__name__}; only "
                     "tensors, Python numbers and strings (in tuples, lists, dicts) are supported")


def _unflatten(spec, leaves):
    def fill(leaf):
        return leaves[leaf.index] if isinstance(leaf, TensorSlot) else leaf
    args, kwargs = _rebuild_spec(spec, fill)
    return args, kwargs


def _rebuild_spec(spec, fn):
    if isinstance(spec, tuple):
        return same_tuple(spec, [_rebuild_spec(s, fn) for s in spec])
    if isinstance(spec, list):
        return [_rebuild_spec(s, fn) for s in spec]
    if isinstance(spec, dict):
        return {k: _rebuild_spec(v, fn) for k, v in spec.items()}
    return fn(spec)
