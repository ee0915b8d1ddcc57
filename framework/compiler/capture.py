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

import dataclasses
import inspect
import sys
import threading
import warnings

import numpy as np

from .. import _backends
from .._backends.array import Array
from ..devices import device as Device
from . import views
from .ir import Const, DType, Graph, Node, Struct, Value, rebuild
from .proxy import KernelProxy

_LOCK = threading.Lock()  # one trace at a time: tracing swaps process-wide hooks


class TracerWarning(Warning):
    """A traced call did something the graph cannot record (a Python read of traced data)."""


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
        return out

    # kernel calls -----------------------------------------------------------------
    def call(self, name: str, device: str, fn, params: list, args: tuple, kwargs: dict):
        if name in _RANDOM and not self.redraws_random:
            warnings.warn(f"the trace records random kernel {name}() with its current seed and "
                          "offset: every call of the traced graph draws the same numbers (call "
                          "module.eval() before tracing to leave out dropout)", TracerWarning,
                          stacklevel=4)
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
        return result

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
        if type(arg).__name__ == "dtype" and hasattr(arg, "is_floating_point"):
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
        saved["custom_op"] = _patch_custom_ops(self)
        return saved

    def uninstall(self, saved) -> None:
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
            return tuple(visit(o) for o in obj)
        if isinstance(obj, list):
            return [visit(o) for o in obj]
        if isinstance(obj, dict):
            return {k: visit(v) for k, v in obj.items()}
        return obj

    return leaves, visit(tree)


@dataclasses.dataclass(frozen=True)
class TensorSlot:
    """Position of a tensor among a call's flattened arguments."""

    index: int

    def __repr__(self) -> str:
        return "Tensor"


def trace_graph(fn, args: tuple, kwargs: dict, named_tensors: dict) -> tuple:
    """Run ``fn(*args, **kwargs)`` once under the tracer; return (graph, input spec)."""
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
            with no_grad():
                result = fn(*call_args, **call_kwargs)
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
    return graph, spec, result


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
        return tuple(_rebuild_spec(s, fn) for s in spec)
    if isinstance(spec, list):
        return [_rebuild_spec(s, fn) for s in spec]
    if isinstance(spec, dict):
        return {k: _rebuild_spec(v, fn) for k, v in spec.items()}
    return fn(spec)
