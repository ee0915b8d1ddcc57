"""ONNX export from the graph IR (``framework.onnx.export``).

The model is captured with ``framework.jit.trace`` (or ``framework.export``
when ``dynamic_axes`` marks dims), then each node becomes a few ONNX
operators (opset 11 and later; 17 by default). Views map to ``Reshape``/``Transpose``/``Expand``/
``Slice``/``Gather``. ONNX tensors are immutable, so ``copy_`` (how
``cat``, ``stack`` and ``contiguous`` fill a buffer) is made functional: the
written buffer gets a new version, built with ``Concat`` around the written
slice, and views of it are re-read from the newest version. Symbolic sizes
become ``Shape`` reads of the input that carries them. A kernel without an
ONNX translation raises ``UnsupportedOperatorError`` naming it.

The ``onnx`` package is needed only here (imported on first use).
"""
from __future__ import annotations

import enum
import math

import numpy as np

from .capture import capture_kind
from .ir import Graph, Struct, Sym, Value, walk
from .runtime import GraphModule

INT64_MAX = 2 ** 63 - 1


class UnsupportedOperatorError(RuntimeError):
    """A graph node that the ONNX exporter cannot translate."""


class TrainingMode(enum.Enum):
    """``torch.onnx.TrainingMode``: the mode a module is exported in (``EVAL`` only here)."""

    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


class ONNXProgram:
    """What ``export`` returns (``torch.onnx.ONNXProgram``): ``model_proto``, ``save(path)``,
    and a call running the model in ONNX Runtime (framework tensors in, out)."""

    def __init__(self, model_proto, exported_program=None) -> None:
        self.model_proto = model_proto
        self.exported_program = exported_program
        self._session = None

    def save(self, destination, *, include_initializers: bool = True,
             keep_initializers_as_inputs: bool = False, external_data=None) -> None:
        """Write the model to ``destination`` (a path or a binary file)."""
        import onnx
        if hasattr(destination, "write"):
            destination.write(self.model_proto.SerializeToString())
        else:
            onnx.save(self.model_proto, destination)

    def optimize(self) -> None:
        """``ONNXProgram.optimize``: the graph is written as translated (nothing to do)."""

    def initialize_inference_session(self, initializer=None) -> None:
        import onnxruntime
        self._session = (initializer or (lambda data: onnxruntime.InferenceSession(
            data, providers=["CPUExecutionProvider"])))(self.model_proto.SerializeToString())

    def release(self) -> None:
        self._session = None

    def __call__(self, *args, **kwargs) -> list:
        """Run the model in ONNX Runtime on framework tensors; returns framework tensors."""
        from ..ops.creation import from_numpy
        from .capture import flatten
        if self._session is None:
            self.initialize_inference_session()
        tensors, _ = flatten((tuple(args), dict(kwargs)))
        names = [i.name for i in self._session.get_inputs()]
        feeds = {name: t.detach().cpu().numpy() for name, t in zip(names, tensors)}
        return [from_numpy(out) for out in self._session.run(None, feeds)]

    def __repr__(self) -> str:
        import onnx
        return f"ONNXProgram(\n{onnx.helper.printable_graph(self.model_proto.graph)}\n)"


@capture_kind("onnx")
def export(model, args=(), f=None, *, kwargs=None, verbose=None, input_names=None,
           output_names=None, opset_version: "int | None" = None, dynamo: bool = True,
           external_data: bool = True, dynamic_shapes=None, custom_translation_table=None,
           report: bool = False, optimize: bool = True, verify: bool = False,
           profile: bool = False, dump_exported_program: bool = False, artifacts_dir=".",
           export_params: bool = True, keep_initializers_as_inputs: bool = False,
           dynamic_axes=None, training=TrainingMode.EVAL, operator_export_type=None,
           do_constant_folding: bool = True, custom_opsets=None,
           export_modules_as_functions=False, autograd_inlining: bool = True):
    """Trace ``model(*args)`` (a module in eval mode, a function, or an already traced or
    exported graph) and translate it to ONNX (``torch.onnx.export``, default opset 17).

    ``dynamic_axes`` (``{"input": {0: "batch"}}`` or ``{"input": [0]}``, by input/output
    name) or ``dynamic_shapes`` (as ``framework.export``'s) make dims symbolic. ``f`` (a path
    or a binary file) is written when given. Returns an ``ONNXProgram`` (``dynamo=True``, the
    default, as torch) or None (``dynamo=False``). ``verify=True`` runs the model in ONNX
    Runtime on ``args`` and compares with framework's outputs. Both of torch's exporters
    map to the one translation here; options that only steer theirs (``report``,
    ``optimize``, ``external_data``, ``do_constant_folding``, ...) are accepted and change
    nothing; ``custom_opsets``, ``custom_translation_table``, ``export_modules_as_functions``
    and a training-mode export raise ``NotImplementedError``."""
    from .export import ExportedProgram
    from .export import export as capture
    try:
        import onnx
    except ImportError as exc:
        raise ImportError("framework.onnx.export needs the onnx package: pip install onnx") from exc
    _refuse_unsupported(training, operator_export_type, custom_opsets,
                        custom_translation_table, export_modules_as_functions)
    opset = 17 if opset_version is None else int(opset_version)
    if opset < MIN_OPSET:
        raise ValueError(f"framework.onnx.export supports opset_version >= {MIN_OPSET}, got {opset}")
    if f is None and not dynamo:
        raise ValueError("framework.onnx.export: f (a path or a file) is required with dynamo=False")
    args, kwargs = _split_kwargs(args, kwargs)
    input_names = list(input_names or [])
    dynamic_axes = dict(dynamic_axes or {})
    if dynamic_axes and dynamic_shapes is not None:
        raise ValueError("framework.onnx.export: give dynamic_axes or dynamic_shapes, not both")
    if dynamic_shapes is None:
        dynamic_shapes = _dynamic_shapes(model, args, kwargs, input_names, dynamic_axes)
    if isinstance(model, GraphModule) and getattr(model, "_retrace", None) is not None:
        model = model._retrace.source  # a trace of a live program: capture it (dynamic dims)
    if isinstance(model, GraphModule):  # exported or loaded: its graph as it is
        program = model
    else:
        program = _capture_eval(capture, model, args, kwargs, dynamic_shapes)
    proto = to_onnx(program.graph, program.params, opset, input_names, list(output_names or []),
                    dynamic_axes, export_params, keep_initializers_as_inputs)
    onnx.checker.check_model(proto)
    if verbose:
        print(onnx.helper.printable_graph(proto.graph))
    result = ONNXProgram(proto, program if isinstance(program, ExportedProgram) else None)
    if verify:
        _verify(result, program, args, kwargs)
    if f is not None:
        result.save(f)
    return result if dynamo else None


def _refuse_unsupported(training, operator_export_type, custom_opsets,
                        custom_translation_table, export_modules_as_functions) -> None:
    """``NotImplementedError`` for the ``torch.onnx.export`` options this exporter lacks."""
    if training not in (TrainingMode.EVAL, TrainingMode.PRESERVE, None) and \
            getattr(training, "name", training) != "EVAL":
        raise NotImplementedError("framework.onnx.export: training=TrainingMode.TRAINING is not "
                                  "supported; the inference graph (eval mode) is exported")
    if operator_export_type not in (None, 0) and \
            getattr(operator_export_type, "name", "ONNX") != "ONNX":
        raise NotImplementedError(f"framework.onnx.export: operator_export_type="
                                  f"{operator_export_type} is not supported (ONNX operators only)")
    for name, value in (("custom_opsets", custom_opsets),
                        ("custom_translation_table", custom_translation_table),
                        ("export_modules_as_functions", export_modules_as_functions)):
        if value:
            raise NotImplementedError(f"framework.onnx.export: {name} is not supported")


def _capture_eval(capture, model, args, kwargs, dynamic_shapes):
    """``framework.export`` of ``model`` in eval mode (torch's default), its mode restored."""
    training = getattr(model, "training", None)
    if training:
        model.eval()  # torch.onnx.export's default: export the inference graph
    try:
        return capture(model, args, kwargs, dynamic_shapes=dynamic_shapes)
    finally:
        if training:
            model.train()


def _verify(onnx_program: ONNXProgram, program, args: tuple, kwargs: dict) -> None:
    """``verify=True``: ONNX Runtime's outputs on ``args`` against the graph's own replay."""
    from ..autograd.grad_mode import no_grad
    from .capture import flatten
    with no_grad():
        expected = flatten(program(*args, **kwargs))[0]
    got = onnx_program(*args, **kwargs)
    for i, (a, e) in enumerate(zip(got, expected)):
        a, e = a.numpy(), e.detach().cpu().numpy()
        if a.shape != e.shape:
            raise RuntimeError(f"framework.onnx.export(verify=True): output {i} of ONNX Runtime "
                               f"has shape {list(a.shape)}, framework's {list(e.shape)}")
        if not np.allclose(a, e, rtol=1e-3, atol=1e-5, equal_nan=True):
            worst = np.abs(a.astype(np.float64) - e).max()
            raise RuntimeError(f"framework.onnx.export(verify=True): output {i} of ONNX Runtime "
                               f"differs from framework's (max abs difference {worst:.3g})")


MIN_OPSET = 11  # Range, CumSum, ScatterElements, Pad with input amounts


def _split_kwargs(args, kwargs) -> tuple:
    """(positional args, keyword args): as ``torch.onnx.export``, a dict ending ``args`` holds
    keyword arguments (``args=(x, {"mask": m})``; end with ``{}`` to pass a dict positionally)."""
    args = tuple(args) if isinstance(args, (tuple, list)) else (args,)
    kwargs = dict(kwargs or {})
    if args and isinstance(args[-1], dict):
        kwargs = {**args[-1], **kwargs}
        args = args[:-1]
    return args, kwargs


def _dynamic_shapes(model, args, kwargs, input_names, dynamic_axes):
    """``dynamic_axes`` by input name as ``framework.export``'s ``dynamic_shapes``: names go
    to the positional arguments, then to the keyword arguments, in order."""
    if not dynamic_axes:
        return None
    count = len(args) + len(kwargs)
    names = input_names + [f"input{i}" for i in range(len(input_names), count)]
    shapes = []
    for name in names[:count]:
        axes = dynamic_axes.get(name)
        if axes is None:
            shapes.append(None)
        elif isinstance(axes, dict):
            shapes.append({int(d): str(n) for d, n in axes.items()})
        else:
            shapes.append({int(d): f"{name}_dynamic_axes_{int(d) + 1}" for d in axes})
    if not kwargs:
        return tuple(shapes)
    import inspect
    fn = model.forward if hasattr(model, "forward") else model
    positional = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keys = positional[:len(args)] + list(kwargs)
    return {key: dims for key, dims in zip(keys, shapes) if dims is not None}


_ONNX_TYPES = {"float32": 1, "uint8": 2, "int8": 3, "int16": 5, "int32": 6, "int64": 7,
               "bool": 9, "float16": 10, "float64": 11, "bfloat16": 16}

_UNARY = {"neg": "Neg", "abs": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt", "sin": "Sin",
          "cos": "Cos", "tan": "Tan", "tanh": "Tanh", "sigmoid": "Sigmoid", "relu": "Relu",
          "sign": "Sign", "floor": "Floor", "ceil": "Ceil", "round": "Round",
          "reciprocal": "Reciprocal", "logical_not": "Not", "isnan": "IsNaN", "asin": "Asin",
          "acos": "Acos", "atan": "Atan", "sinh": "Sinh", "cosh": "Cosh", "asinh": "Asinh",
          "acosh": "Acosh", "atanh": "Atanh", "erf": "Erf", "softplus": None}
_BINARY = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "pow": "Pow",
           "maximum": "Max", "minimum": "Min", "eq": "Equal", "lt": "Less", "le": "LessOrEqual",
           "gt": "Greater", "ge": "GreaterOrEqual", "logical_and": "And", "logical_or": "Or",
           "logical_xor": "Xor", "bitwise_and": "BitwiseAnd", "bitwise_or": "BitwiseOr",
           "bitwise_xor": "BitwiseXor"}
_REDUCE = {"sum": "ReduceSum", "mean": "ReduceMean", "amax": "ReduceMax", "amin": "ReduceMin",
           "prod": "ReduceProd", "logsumexp": "ReduceLogSumExp"}


class _Builder:
    """Accumulates ONNX nodes and initializers for one graph."""

    def __init__(self, graph: Graph, opset: int) -> None:
        import onnx
        self.onnx = onnx
        self.helper = onnx.helper
        self.graph = graph
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self._count = 0
        self._consts: dict = {}
        self._symbols: dict = {}
        self._const_values: dict = {}  # initializer name -> its NumPy data

    def fresh(self, hint: str = "t") -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def add(self, op: str, inputs: list, n_out: int = 1, name_hint: str = "", **attrs) -> list:
        if self.opset < 13 and op in ("Unsqueeze", "Squeeze", "Split") and len(inputs) == 2:
            # before opset 13 the axes / split sizes were attributes (always constants here)
            attrs["split" if op == "Split" else "axes"] = [
                int(v) for v in self._const_values[inputs[1]].reshape(-1)]
            inputs = inputs[:1]
        if self.opset < 12 and op in ("LessOrEqual", "GreaterOrEqual"):  # both came in 12
            flipped = self.one("Greater" if op == "LessOrEqual" else "Less", inputs)
            return self.add("Not", [flipped], n_out, name_hint)
        outs = [self.fresh(name_hint or op.lower()) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op, inputs, outs, **attrs))
        return outs

    def one(self, op: str, inputs: list, **attrs) -> str:
        return self.add(op, inputs, **attrs)[0]

    def const(self, array: np.ndarray, dtype: "str | None" = None) -> str:
        """An initializer holding ``array`` (cast to ``dtype``; bool/bfloat16 handled)."""
        array = np.asarray(array)
        if dtype is not None and dtype != "bfloat16":
            array = array.astype(_numpy_dtype(dtype))
        key = (array.dtype.str, array.shape, array.tobytes(), dtype)
        if key in self._consts:
            return self._consts[key]
        name = self.fresh("const")
        self.initializers.append(self.tensor_proto(name, array, dtype))
        self._consts[key] = name
        self._const_values[name] = array
        return name

    def tensor_proto(self, name: str, array: np.ndarray, dtype: "str | None" = None):
        if dtype == "bfloat16" or str(array.dtype) == "bfloat16":
            bits = np.asarray(array, dtype=np.float32).view(np.uint32) >> 16
            proto = self.onnx.TensorProto()
            proto.name = name
            proto.data_type = self.onnx.TensorProto.BFLOAT16
            proto.dims.extend(array.shape)
            proto.raw_data = bits.astype(np.uint16).tobytes()
            return proto
        return self.onnx.numpy_helper.from_array(np.array(array, order="C", copy=True), name)

    def scalar(self, value, dtype: str) -> str:
        return self.const(np.array(value), dtype)

    # symbolic sizes ---------------------------------------------------------------
    def symbol(self, name: str) -> str:
        """A 1-element int64 tensor holding the size of symbol ``name`` (read from an input)."""
        if name not in self._symbols:
            for i, value in enumerate(self.graph.inputs[:self.graph.user_inputs]):
                for d, size in enumerate(value.shape):
                    if size == Sym.symbol(name):
                        self._symbols[name] = self.dim_size(f"__input{i}", d)
                        break
                if name in self._symbols:
                    break
            else:
                raise UnsupportedOperatorError(f"onnx export: symbolic size {name} is not the "
                                               "size of an input dim")
        return self._symbols[name]

    def dim_size(self, x: str, d: int) -> str:
        """A 1-element int64 tensor: the size of dim ``d`` of ``x`` (``Shape`` takes
        ``start``/``end`` from opset 15; before, the whole shape is sliced)."""
        if self.opset >= 15:
            return self.one("Shape", [x], start=d, end=d + 1)
        shape = self.one("Shape", [x])
        return self.one("Slice", [shape, self.const(np.array([d], np.int64)),
                                  self.const(np.array([d + 1], np.int64))])

    def ints(self, values) -> str:
        """A 1-D int64 tensor of ``values`` (ints or ``Sym``s)."""
        values = list(values)
        if not any(isinstance(v, Sym) for v in values):
            return self.const(np.array(values, dtype=np.int64))
        pieces = []
        for v in values:
            if not isinstance(v, Sym):
                pieces.append(self.const(np.array([v], dtype=np.int64)))
                continue
            total = None
            for name, coef in sorted(v.terms.items()):
                factors = [self.symbol(part) for part in name.split("*")]
                term = factors[0] if len(factors) == 1 else self.one("Mul", factors)
                if coef != 1:
                    term = self.one("Mul", [term, self.const(np.array([coef], dtype=np.int64))])
                total = term if total is None else self.one("Add", [total, term])
            if v.const:
                total = self.one("Add", [total, self.const(np.array([v.const], dtype=np.int64))])
            pieces.append(total)
        return self.one("Concat", pieces, axis=0)

    def int_scalar(self, value) -> str:
        """A 0-d int64 tensor (``Range`` bounds)."""
        if not isinstance(value, Sym):
            return self.const(np.array(value, dtype=np.int64))
        return self.one("Reshape", [self.ints([value]), self.const(np.array([], dtype=np.int64))])

    def extreme(self, op: str, x: str, y: str, dtype: str) -> str:
        """``Max``/``Min`` of two tensors; before opset 12 they took floats only, so integers
        pick with ``Where`` of a comparison."""
        if self.opset >= 12 or dtype.startswith(("float", "bfloat")):
            return self.one(op, [x, y])
        pick_x = self.one("Greater" if op == "Max" else "Less", [x, y])
        return self.one("Where", [pick_x, x, y])

    def cast(self, name: str, to: str) -> str:
        return self.one("Cast", [name], to=_ONNX_TYPES[to])

    def reduce(self, op: str, x: str, axes, keepdims: int) -> str:
        axes = list(axes)
        if (op == "ReduceSum" and self.opset >= 13) or self.opset >= 18:
            return self.one(op, [x, self.const(np.array(axes, dtype=np.int64))], keepdims=keepdims)
        return self.one(op, [x], axes=axes, keepdims=keepdims)


def _numpy_dtype(name: str):
    from .. import dtypes
    return getattr(dtypes, name).numpy


def to_onnx(graph: Graph, params: dict, opset: int, input_names: list, output_names: list,
            dynamic_axes: dict, export_params: bool = True,
            keep_initializers_as_inputs: bool = False):
    """The ``onnx.ModelProto`` of ``graph`` (parameters as initializers; also listed as graph
    inputs with ``keep_initializers_as_inputs``, so a runtime may feed other weights)."""
    b = _Builder(graph, opset)
    helper = b.helper
    user = graph.inputs[:graph.user_inputs]
    names = input_names + [f"input{i}" for i in range(len(input_names), len(user))]
    symbol_names = {s: info.get("name", s) for s, info in graph.symbols.items()}
    graph_inputs = []
    state = _State(b)
    for i, value in enumerate(user):
        graph_inputs.append(helper.make_tensor_value_info(
            names[i], _ONNX_TYPES[value.dtype], _dims(value.shape, symbol_names)))
        state.define(value, names[i])
        b.nodes.append(helper.make_node("Identity", [names[i]], [f"__input{i}"]))
    used = {v.id for node in graph.nodes for v in node.inputs()}
    used.update(v.id for v in graph.output_values())
    for value in graph.params:
        if value.id not in used:  # num_batches_tracked in eval: no unused initializer
            continue
        data = params[value.name].detach()._host()
        if export_params:
            b.initializers.append(b.tensor_proto(value.name, data, value.dtype))
        if not export_params or keep_initializers_as_inputs:
            graph_inputs.append(helper.make_tensor_value_info(
                value.name, _ONNX_TYPES[value.dtype], list(value.shape)))
        state.define(value, value.name)
    for node in graph.nodes:
        state.node(node, used)
    outputs = graph.output_values()
    out_names = output_names + [f"output{i}" for i in range(len(output_names), len(outputs))]
    graph_outputs = []
    for i, value in enumerate(outputs):
        b.nodes.append(helper.make_node("Identity", [state.get(value)], [out_names[i]]))
        dims = _dims(value.shape, symbol_names)
        for d, label in _axes_spec(dynamic_axes.get(out_names[i]), out_names[i]).items():
            if d < len(dims) and not isinstance(value.shape[d], Sym):
                raise UnsupportedOperatorError(
                    f"onnx export: dynamic_axes marks dim {d} of output {out_names[i]!r}, but "
                    f"the traced program gives it the fixed size {value.shape[d]}")
            dims[d] = label
        graph_outputs.append(helper.make_tensor_value_info(out_names[i],
                                                           _ONNX_TYPES[value.dtype], dims))
    onnx_graph = helper.make_graph(b.nodes, "framework", graph_inputs, graph_outputs,
                                   b.initializers)
    model = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="framework")
    model.ir_version = min(model.ir_version, 9)
    return model


def _view_positions(node, positions: np.ndarray) -> np.ndarray:
    """``positions`` (a root's element positions, viewed so far) through view ``node``."""
    a = node.args
    if node.op == "reshape":
        return positions.reshape(a["shape"])
    if node.op == "permute":
        return positions.transpose(a["dims"])
    if node.op == "expand":
        return np.broadcast_to(positions, a["size"])
    if node.op == "slice":
        key = [slice(None)] * positions.ndim
        key[a["dim"]] = slice(a["start"], a["end"], a["step"])
        return positions[tuple(key)]
    if node.op == "select":
        return np.take(positions, a["index"], axis=a["dim"])
    raise UnsupportedOperatorError(f"onnx export: unsupported operator '{node.op}' (a view of "
                                   "a view that is not a reshape, permute, expand, slice or "
                                   "select)")


def _axes_spec(axes, name) -> dict:
    if axes is None:
        return {}
    if isinstance(axes, dict):
        return {int(d): str(n) for d, n in axes.items()}
    return {int(d): f"{name}_dynamic_axes_{int(d) + 1}" for d in axes}


def _dims(shape, symbol_names: dict) -> list:
    dims = []
    for size in shape:
        if isinstance(size, Sym):
            text = repr(size)
            for s, name in symbol_names.items():
                text = text.replace(s, name)
            dims.append(text)
        else:
            dims.append(int(size))
    return dims


class _State:
    """Values -> ONNX names, with ``copy_`` made functional (buffers get new versions)."""

    def __init__(self, b: _Builder) -> None:
        self.b = b
        self.names: dict = {}  # value id -> ONNX name, for values that are their own root
        self.root: dict = {}  # value id -> root value id
        self.view: dict = {}  # view value id -> (node, parent Value)
        self.values: dict = {}  # id -> Value
        self.version: dict = {}  # root id -> int
        self.cache: dict = {}  # (view id, version) -> name

    def define(self, value: Value, name: str) -> None:
        self.names[value.id] = name
        self.root[value.id] = value.id
        self.values[value.id] = value
        self.version[value.id] = 0

    def get(self, value: Value) -> str:
        if value.id in self.names:
            return self.names[value.id]
        node, parent = self.view[value.id]
        key = (value.id, self.version[self.root[value.id]])
        if key not in self.cache:
            self.cache[key] = self._apply_view(node, self.get(parent))
        return self.cache[key]

    def _apply_view(self, node, x: str) -> str:
        b, a = self.b, node.args
        if node.op == "reshape":
            return b.one("Reshape", [x, b.ints(a["shape"])])
        if node.op == "permute":
            return b.one("Transpose", [x], perm=list(a["dims"]))
        if node.op == "expand":
            return b.one("Expand", [x, b.ints(a["size"])])
        if node.op == "slice":
            return b.one("Slice", [x, b.ints([a["start"]]), b.ints([a["end"]]),
                                   b.ints([a["dim"]]), b.ints([a["step"]])])
        if node.op == "select":
            return b.one("Gather", [x, b.int_scalar(a["index"])], axis=a["dim"])
        if node.op == "as_strided" and self._strided_gather_ok(node):
            return self._strided_gather(node, x)
        raise UnsupportedOperatorError(
            f"onnx export: unsupported operator '{node.op}' (a view that is not a reshape, "
            "permute, expand, slice or select of its base, nor a static strided view of a "
            "whole computed tensor)")

    def _strided_gather_ok(self, node) -> bool:
        """An ``as_strided`` view (``diagonal``, ``unfold``, a 3-d convolution's windows) that
        ``_strided_gather`` can express: static sizes from its root (a computed value or an
        input, row-major: its storage order is its ONNX element order) on, same dtype."""
        root = self.values.get(self.root.get(node.args["input"].id))
        if root is None or node.args.get("dtype") is not None:
            return False
        found = []
        chain = [n.args for n in self._view_chain(node.args["input"])] + [node.args]
        walk((list(root.shape), chain),
             lambda leaf: found.append(leaf) if isinstance(leaf, Sym) else None)
        if not found:
            return math.prod(root.shape) <= 1 << 24
        return self._batched_strided(node) is not None

    def _batched_strided(self, node):
        """``(rows, row_size)`` for an ``as_strided`` view of a root (no view between) whose
        only symbolic size is dim 0, shared with the root and stepped by one root row (a 3-d
        convolution's windows at a dynamic batch): each row is viewed alike. Else None."""
        a = node.args
        root = self.values.get(self.root.get(a["input"].id))
        if root is None or a["input"].id in self.view or not root.shape:
            return None
        rows, rest = root.shape[0], list(root.shape[1:])
        row_size = math.prod(rest) if all(isinstance(n, int) for n in rest) else None
        static = [a["storage_offset"], *a["size"][1:], *a["stride"]]
        if (row_size is None or any(isinstance(v, Sym) for v in static)
                or a["size"][0] != rows or a["stride"][0] != row_size
                or a["storage_offset"] < 0):
            return None
        last = a["storage_offset"] + sum((n - 1) * st
                                         for n, st in zip(a["size"][1:], a["stride"][1:]))
        return (rows, row_size) if last < row_size else None

    def _view_chain(self, value: Value) -> list:
        """The view nodes from ``value``'s root to ``value``, in order."""
        chain = []
        while value.id in self.view:
            node, value = self.view[value.id]
            chain.append(node)
        return chain[::-1]

    def _strided_gather(self, node, x: str) -> str:
        """The view's elements gathered from the flattened root by their storage positions:
        the parent's offset (its first element's position, found by running its view chain
        on the root's positions) + ``storage_offset + sum(i_k * stride_k)``."""
        b, a = self.b, node.args
        parent = a["input"]
        root = self.values[self.root[parent.id]]
        batched = self._batched_strided(node)
        if batched is not None:  # one row's positions, gathered from every row
            index = np.full((), a["storage_offset"], dtype=np.int64)
            for size, stride in zip(a["size"][1:], a["stride"][1:]):
                index = index[..., None] + np.arange(size, dtype=np.int64) * stride
            rows = b.one("Reshape", [self.get(root), b.ints([batched[0], batched[1]])])
            return b.one("Gather", [rows, b.const(index)], axis=1)
        positions = np.arange(math.prod(root.shape), dtype=np.int64).reshape(root.shape)
        for view in self._view_chain(parent):
            positions = _view_positions(view, positions)
        start = int(positions.reshape(-1)[0]) if positions.size else 0
        index = np.full((), start + a["storage_offset"], dtype=np.int64)
        for size, stride in zip(a["size"], a["stride"]):
            index = index[..., None] + np.arange(size, dtype=np.int64) * stride
        flat = b.one("Reshape", [self.get(root), b.const(np.array([-1], np.int64))])
        return b.one("Gather", [flat, b.const(index)], axis=0)

    def node(self, node, used: set) -> None:
        if node.is_view:
            out = node.outputs[0]
            parent = node.args["input"]
            self.view[out.id] = (node, parent)
            self.root[out.id] = self.root[parent.id]
            self.values[out.id] = out
            if node.op == "as_strided" and not self._strided_gather_ok(node):
                self._apply_view(node, "")  # raises the clear error now
            return
        if node.op == "copy_":
            self._copy(node.args["dst"], node.args["src"])
            return
        if node.op == "device_assert":
            return
        if node.op == "custom_op":
            raise UnsupportedOperatorError(
                f"onnx export: unsupported operator 'custom_op' {node.args['name']!r} (a "
                "framework.library op has no ONNX translation)")
        translate = _TRANSLATIONS.get(node.op)
        if translate is None and _reads_nothing(node):
            translate = _constant_node
        if translate is None:
            raise UnsupportedOperatorError(
                f"onnx export: unsupported operator '{node.op}' (no ONNX translation of this "
                "backend kernel yet)")
        results = translate(self, node, used)
        if isinstance(results, str):
            results = [results]
        for out, name in zip(node.outputs, results):
            if out is not None:
                if name is None and out.id in used:
                    raise UnsupportedOperatorError(
                        f"onnx export: unsupported operator '{node.op}' output {out} (only its "
                        "first output has an ONNX translation)")
                self.define(out, name)

    def arg(self, value, dtype: str) -> str:
        """An ONNX input for an argument that is a Value or a Python scalar (as ``dtype``)."""
        if isinstance(value, Value):
            name = self.get(value)
            return name if value.dtype == dtype else self.b.cast(name, dtype)
        return self.b.scalar(value, dtype)

    # copy_ ------------------------------------------------------------------------
    def _copy(self, dst: Value, src) -> None:
        b = self.b
        chain = []
        v = dst
        while v.id in self.view:
            node, parent = self.view[v.id]
            chain.append(node)
            v = parent
        root = v
        chain.reverse()
        value = self.arg(src, dst.dtype) if isinstance(src, Value) else b.scalar(src, dst.dtype)
        value = b.one("Expand", [value, b.ints(dst.shape)])
        new = self._scatter(self.get(root), root, chain, value)
        self.names[root.id] = new
        self.version[root.id] += 1

    def _scatter(self, base: str, base_value: Value, chain: list, src: str) -> str:
        """``base`` with the view ``chain`` of it replaced by ``src`` (functional copy_)."""
        b = self.b
        if not chain:
            return src
        node, rest = chain[0], chain[1:]
        a = node.args
        out = node.outputs[0]
        inner = self._apply_view(node, base)
        if node.op == "reshape":
            new_inner = self._scatter(inner, out, rest, src)
            return b.one("Reshape", [new_inner, b.ints(base_value.shape)])
        if node.op == "permute":
            new_inner = self._scatter(inner, out, rest, src)
            inverse = [0] * len(a["dims"])
            for i, d in enumerate(a["dims"]):
                inverse[d] = i
            return b.one("Transpose", [new_inner], perm=inverse)
        if node.op in ("slice", "select") and (node.op == "select" or a["step"] == 1):
            dim = a["dim"]
            new_inner = self._scatter(inner, out, rest, src)
            if node.op == "select":
                start = a["index"]
                end = start + 1
                new_inner = b.one("Unsqueeze", [new_inner, b.const(np.array([dim], np.int64))])
            else:
                start, end = a["start"], a["end"]
            pieces = []
            if not (isinstance(start, int) and start == 0):
                pieces.append(b.one("Slice", [base, b.ints([0]), b.ints([start]), b.ints([dim])]))
            pieces.append(new_inner)
            size = base_value.shape[dim]
            if not (isinstance(end, int) and isinstance(size, int) and end >= size) and end != size:
                pieces.append(b.one("Slice", [base, b.ints([end]), b.ints([INT64_MAX]),
                                              b.ints([dim])]))
            return pieces[0] if len(pieces) == 1 else b.one("Concat", pieces, axis=dim)
        raise UnsupportedOperatorError(
            f"onnx export: unsupported operator 'copy_' into a {node.op} view (only writes "
            "through reshape, permute, select and unit-step slices are exported)")


# translations: (state, node, used) -> name | [names] ----------------------------------------
def _unary(s: _State, node, used):
    b, a = s.b, node.args
    out = node.outputs[0]
    x = s.arg(a["x"], out.dtype if node.op not in ("logical_not", "isnan") else a["x"].dtype)
    op = node.op
    if op == "rsqrt":
        return b.one("Reciprocal", [b.one("Sqrt", [x])])
    if op == "square":
        return b.one("Mul", [x, x])
    if op == "silu":
        return b.one("Mul", [x, b.one("Sigmoid", [x])])
    if op in ("gelu", "gelu_tanh"):
        return _gelu(b, x, out.dtype, op == "gelu_tanh")
    if op == "exp2":
        return b.one("Pow", [b.scalar(2.0, out.dtype), x])
    if op == "log2":
        return b.one("Div", [b.one("Log", [x]), b.scalar(math.log(2.0), out.dtype)])
    if op == "log1p":
        return b.one("Log", [b.one("Add", [x, b.scalar(1.0, out.dtype)])])
    if op == "expm1":
        return b.one("Sub", [b.one("Exp", [x]), b.scalar(1.0, out.dtype)])
    if op == "erfc":
        return b.one("Sub", [b.scalar(1.0, out.dtype), b.one("Erf", [x])])
    if op == "trunc":
        return b.one("Mul", [b.one("Sign", [x]), b.one("Floor", [b.one("Abs", [x])])])
    if op == "softplus":
        beta, threshold = a.get("beta", 1.0), a.get("threshold", 20.0)
        bx = b.one("Mul", [x, b.scalar(beta, out.dtype)])
        soft = b.one("Div", [b.one("Softplus", [bx]), b.scalar(beta, out.dtype)])
        return b.one("Where", [b.one("Greater", [bx, b.scalar(threshold, out.dtype)]), x, soft])
    onnx_op = _UNARY.get(op)
    if onnx_op is None:
        raise UnsupportedOperatorError(f"onnx export: unsupported operator '{op}'")
    return b.one(onnx_op, [x])


def _gelu(b: _Builder, x: str, dtype: str, tanh: bool) -> str:
    half = b.one("Mul", [x, b.scalar(0.5, dtype)])
    if tanh:
        cube = b.one("Mul", [b.one("Mul", [x, x]), x])
        inner = b.one("Add", [x, b.one("Mul", [cube, b.scalar(0.044715, dtype)])])
        t = b.one("Tanh", [b.one("Mul", [inner, b.scalar(math.sqrt(2.0 / math.pi), dtype)])])
    else:
        t = b.one("Erf", [b.one("Mul", [x, b.scalar(1.0 / math.sqrt(2.0), dtype)])])
    return b.one("Mul", [half, b.one("Add", [t, b.scalar(1.0, dtype)])])


def _binary(s: _State, node, used):
    b, a = s.b, node.args
    compute = a["compute_dtype"].name
    out_dtype = a["out_dtype"].name
    x, y = s.arg(a["a"], compute), s.arg(a["b"], compute)
    op = node.op
    if op == "ne":
        result = b.one("Not", [b.one("Equal", [x, y])])
    elif op == "div_floor":
        result = b.one("Floor", [b.one("Div", [x, y])]) if compute.startswith(("float", "bfloat")) \
            else _int_floor_div(b, x, y, compute)
    elif op in ("remainder", "fmod") and compute.startswith(("float", "bfloat")):
        result = b.one("Mod", [x, y], fmod=1)
        if op == "remainder":  # sign of the divisor: add y where the signs differ
            fix = b.one("And", [b.one("Not", [b.one("Equal", [result, b.scalar(0, compute)])]),
                                b.one("Not", [b.one("Equal", [b.one("Less", [result, b.scalar(0, compute)]),
                                                              b.one("Less", [y, b.scalar(0, compute)])])])])
            result = b.one("Where", [fix, b.one("Add", [result, y]), result])
    elif op in ("remainder", "fmod"):
        result = b.one("Mod", [x, y], fmod=0 if op == "remainder" else 1)
    elif op == "atan2" and compute.startswith(("float", "bfloat")):
        result = _atan2(b, x, y, compute)
    elif op.startswith("bitwise_") and compute == "bool":  # ``mask & mask``: And, Or, Xor
        result = b.one(_BINARY["logical_" + op[len("bitwise_"):]], [x, y])
    elif op.startswith("bitwise_") and b.opset < 18:
        raise UnsupportedOperatorError(f"onnx export: operator '{op}' of integers needs "
                                       f"opset_version >= 18 (BitwiseAnd/Or/Xor), got {b.opset}")
    elif op in ("maximum", "minimum"):
        result = b.extreme(_BINARY[op], x, y, compute)
    elif op in _BINARY:
        result = b.one(_BINARY[op], [x, y])
    else:
        raise UnsupportedOperatorError(f"onnx export: unsupported operator '{op}'")
    produced = "bool" if op in ("eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or",
                                "logical_xor") else compute
    return result if produced == out_dtype else b.cast(result, out_dtype)


def _atan2(b, y: str, x: str, dtype: str) -> str:
    """``atan2(y, x)`` from ``Atan(y / x)``: + pi (y >= 0) or - pi (y < 0) where x < 0; where
    x is 0, +-pi/2 by the sign of y, and 0 where both are 0 (a zero's sign is not seen)."""
    zero = b.scalar(0.0, dtype)
    pi, half_pi = b.scalar(math.pi, dtype), b.scalar(math.pi / 2, dtype)
    y_negative = b.one("Less", [y, zero])
    x_zero = b.one("Equal", [x, zero])
    safe_x = b.one("Where", [x_zero, b.scalar(1.0, dtype), x])
    base = b.one("Atan", [b.one("Div", [y, safe_x])])
    turned = b.one("Add", [base, b.one("Where", [y_negative, b.one("Neg", [pi]), pi])])
    result = b.one("Where", [b.one("Less", [x, zero]), turned, base])
    on_axis = b.one("Mul", [b.one("Sign", [y]), half_pi])
    return b.one("Where", [x_zero, on_axis, result])


def _repeat_interleave(s, node, used):
    """``repeat_interleave`` by an int (grouped-query attention's ``k.repeat_interleave(n,
    dim=1)``): a new dim after ``dim``, expanded to ``repeats``, merged into ``dim``."""
    b, a = s.b, node.args
    x = a["x"]
    dim = a["dim"] % len(x.shape)
    repeats = a["repeats"]
    if not isinstance(repeats, int):
        raise UnsupportedOperatorError("onnx export: unsupported operator 'repeat_interleave' "
                                       "with tensor repeats (a size read from the data)")
    shape = list(x.shape)
    spread = b.one("Unsqueeze", [s.get(x), b.const(np.array([dim + 1], np.int64))])
    spread = b.one("Expand", [spread, b.ints(shape[:dim + 1] + [repeats] + shape[dim + 1:])])
    return b.one("Reshape", [spread, b.ints(node.outputs[0].shape)])


def _int_floor_div(b, x, y, dtype):
    q = b.one("Div", [x, y])
    wrong = b.one("And", [b.one("Not", [b.one("Equal", [b.one("Mul", [q, y]), x])]),
                          b.one("Xor", [b.one("Less", [x, b.scalar(0, dtype)]),
                                        b.one("Less", [y, b.scalar(0, dtype)])])])
    return b.one("Where", [wrong, b.one("Sub", [q, b.scalar(1, dtype)]), q])


def _where(s, node, used):
    out = node.outputs[0].dtype
    a = node.args
    return s.b.one("Where", [s.arg(a["cond"], "bool"), s.arg(a["a"], out), s.arg(a["b"], out)])


def _clamp(s, node, used):
    b, a = s.b, node.args
    out = node.outputs[0].dtype
    x = s.arg(a["x"], out)
    if a["lo"] is not None:
        x = b.extreme("Max", x, b.scalar(a["lo"], out), out)
    if a["hi"] is not None:
        x = b.extreme("Min", x, b.scalar(a["hi"], out), out)
    return x


def _reduce(s, node, used):
    b, a = s.b, node.args
    out = node.outputs[0].dtype
    x = s.arg(a["x"], out if "out_dtype" in a else a["x"].dtype)
    dims = list(a["dims"])
    if not dims:
        return b.one("Identity", [x])
    return b.reduce(_REDUCE[node.op], x, dims, 0)


def _count(b, shape, dims, dtype: str) -> str:
    """The number of elements over ``dims`` of ``shape`` (sizes may be symbolic), as ``dtype``."""
    sizes = b.ints([shape[d] for d in dims])
    return b.cast(b.one("ReduceProd", [sizes], keepdims=0), dtype)


def _var(s, node, used):
    """``var``: the mean of squared deviations over ``dims``, times n / (n - correction)."""
    b, a = s.b, node.args
    dtype = node.outputs[0].dtype
    x = s.arg(a["x"], dtype)
    dims = list(a["dims"])
    centered = b.one("Sub", [x, b.reduce("ReduceMean", x, dims, 1)])
    squares = b.reduce("ReduceSum", b.one("Mul", [centered, centered]), dims, 0)
    n = _count(b, a["x"].shape, dims, dtype)
    return b.one("Div", [squares, b.one("Sub", [n, b.scalar(a["correction"], dtype)])])


def _any_all(s, node, used):
    """``any``/``all`` over ``dims``: the nonzero mask as int32, ReduceMax/ReduceMin, as bool
    (opset 17's reductions take no bool)."""
    b, a = s.b, node.args
    x = s.get(a["x"])
    if a["x"].dtype != "bool":
        x = b.one("Not", [b.one("Equal", [x, b.scalar(0, a["x"].dtype)])])
    if not a["dims"]:
        return x
    reduced = b.reduce("ReduceMax" if node.op == "any" else "ReduceMin", b.cast(x, "int32"),
                       a["dims"], 0)
    return b.cast(reduced, "bool")


def _cumsum(s, node, used):
    b, a = s.b, node.args
    x = s.arg(a["x"], node.outputs[0].dtype)
    return b.one("CumSum", [x, b.int_scalar(a["dim"])])


def _flip(s, node, used):
    """Each of ``dims`` read backwards: one Slice with step -1."""
    b, a = s.b, node.args
    dims = list(a["dims"])
    return b.one("Slice", [s.get(a["x"]), b.ints([-1] * len(dims)),
                           b.ints([-INT64_MAX] * len(dims)), b.ints(dims),
                           b.ints([-1] * len(dims))])


def _tile(s, node, used):
    b, a = s.b, node.args
    return b.one("Tile", [s.get(a["x"]), b.ints(a["reps"])])


def _roll(s, node, used):
    """Per rolled dim of (static) size n: the last ``shift % n`` entries, then the rest."""
    b, a = s.b, node.args
    y = s.get(a["x"])
    if not a["dims"]:
        raise UnsupportedOperatorError("onnx export: unsupported operator 'roll' without dims")
    for shift, dim in zip(a["shifts"], a["dims"]):
        size = a["x"].shape[dim]
        if isinstance(size, Sym):
            raise UnsupportedOperatorError("onnx export: unsupported operator 'roll' along a "
                                           "symbolic dim")
        cut = size - shift % size
        if cut == size:
            continue
        tail = b.one("Slice", [y, b.ints([cut]), b.ints([size]), b.ints([dim])])
        head = b.one("Slice", [y, b.ints([0]), b.ints([cut]), b.ints([dim])])
        y = b.one("Concat", [tail, head], axis=dim)
    return y


_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge",
              "circular": "wrap"}


def _pad(s, node, used):
    """Pad with the before/after amounts of every dim; ``circular`` is ``wrap`` (opset 19)."""
    b, a = s.b, node.args
    mode = _PAD_MODES[a["mode"]]
    if mode == "wrap" and b.opset < 19:
        raise UnsupportedOperatorError("onnx export: operator 'pad' in circular mode needs "
                                       f"opset_version >= 19, got {b.opset}")
    pads = [before for before, _ in a["pads"]] + [after for _, after in a["pads"]]
    inputs = [s.get(a["x"]), b.ints(pads)]
    if mode == "constant":
        inputs.append(b.scalar(a["value"], a["x"].dtype))
    return b.one("Pad", inputs, mode=mode)


def _arg_reduce(s, node, used):
    a = node.args
    return s.b.one("ArgMax" if node.op == "argmax" else "ArgMin", [s.get(a["x"])],
                   axis=a["dim"], keepdims=0)


def _matmul(s, node, used):
    a = node.args
    return s.b.one("MatMul", [s.get(a["a"]), s.get(a["b"])])


def _mm(s, node, used):
    """The 2-D product kernel (eager's path for matrices; a capture records ``matmul``, but
    a graph holding ``mm`` exports the same): MatMul, then the bias."""
    b, a = s.b, node.args
    y = b.one("MatMul", [s.get(a["a"]), s.get(a["b"])])
    return y if a["bias"] is None else b.one("Add", [y, s.get(a["bias"])])


def _matmul_epilogue(s, node, used):
    b, a = s.b, node.args
    y = b.one("MatMul", [s.get(a["a"]), s.get(a["b"])])
    if a["bias"] is not None:
        y = b.one("Add", [y, s.get(a["bias"])])
    pre = y
    act = a["activation"]
    dtype = node.outputs[0].dtype
    if act == "relu":
        y = b.one("Relu", [y])
    elif act in ("gelu", "gelu_tanh"):
        y = _gelu(b, y, dtype, act == "gelu_tanh")
    elif act == "silu":
        y = b.one("Mul", [y, b.one("Sigmoid", [y])])
    elif act is not None:
        raise UnsupportedOperatorError(f"onnx export: unsupported matmul_epilogue activation {act!r}")
    if a["residual"] is not None:
        y = b.one("Add", [y, s.get(a["residual"])])
    return [y, pre if a["keep_preact"] else None]


def _softmax(s, node, used):
    b, a = s.b, node.args
    op = "LogSoftmax" if a["log"] else "Softmax"
    rank = len(a["x"].shape)
    dim = a["dim"] % rank if rank else 0
    if b.opset >= 13 or dim == rank - 1:
        return b.one(op, [s.get(a["x"])], axis=a["dim"])
    # before opset 13 Softmax normalized over all dims from ``axis`` on: move dim last
    perm = [d for d in range(rank) if d != dim] + [dim]
    inverse = [perm.index(d) for d in range(rank)]
    moved = b.one(op, [b.one("Transpose", [s.get(a["x"])], perm=perm)], axis=rank - 1)
    return b.one("Transpose", [moved], perm=inverse)


def _norm_rows(s, node, used):
    b, a = s.b, node.args
    y_value, mean_value, rstd_value = node.outputs
    dtype = a["x"].dtype
    x = s.get(a["x"])
    axes = [0, 2] if a["across"] else [2]
    if a["rms"]:
        centered = x
        mean = None
    else:
        mean = b.reduce("ReduceMean", x, axes, 1)
        centered = b.one("Sub", [x, mean])
    var = b.reduce("ReduceMean", b.one("Mul", [centered, centered]), axes, 1)
    rstd = b.one("Reciprocal", [b.one("Sqrt", [b.one("Add", [var, b.scalar(a["eps"], dtype)])])])
    y = b.one("Mul", [centered, rstd])
    if a["weight"] is not None:
        y = b.one("Mul", [y, s.get(a["weight"])])
    if a["bias"] is not None:
        y = b.one("Add", [y, s.get(a["bias"])])
    stats = []
    for value, stat in ((mean_value, mean), (rstd_value, rstd)):
        if value is None or value.id not in used:
            stats.append(None)
            continue
        stat = stat if stat is not None else b.one("Mul", [rstd, b.scalar(0, dtype)])
        stat = b.one("Reshape", [stat, b.ints(value.shape)])
        stats.append(stat if value.dtype == dtype else b.cast(stat, value.dtype))
    return [y] + stats


def _gather(s, node, used):
    a = node.args
    return s.b.one("GatherElements", [s.get(a["x"]), s.get(a["index"])], axis=a["dim"])


def _gather_slices(s, node, used):
    a = node.args
    return s.b.one("Gather", [s.get(a["x"]), s.get(a["index"])], axis=a["dim"])


def _conv2d(s, node, used):
    b, a = s.b, node.args
    x, w = a["x"], a["weight"]
    h, wd = x.shape[2], x.shape[3]
    kh, kw = w.shape[2], w.shape[3]
    (sh, sw), (ph, pw), (dh, dw) = a["stride"], a["padding"], a["dilation"]
    oh, ow = a["out_size"]
    # the pad after the last window; where the stride leaves trailing rows unread (below
    # one stride), 0 does, as Conv's output size rounds down as PyTorch's does. A symbolic
    # size takes the pad before: Conv's output size is then PyTorch's formula
    bottom, right = ph, pw
    if not any(isinstance(n, Sym) for n in (h, oh)):
        bottom = max(0, (oh - 1) * sh + dh * (kh - 1) + 1 - h - ph)
    if not any(isinstance(n, Sym) for n in (wd, ow)):
        right = max(0, (ow - 1) * sw + dw * (kw - 1) + 1 - wd - pw)
    if min(ph, pw) < 0:
        raise UnsupportedOperatorError("onnx export: unsupported operator 'conv2d' with negative "
                                       "padding")
    return b.one("Conv", [s.get(x), s.get(w)], strides=[sh, sw], pads=[ph, pw, bottom, right],
                 dilations=[dh, dw], group=a["groups"], kernel_shape=[kh, kw])


def _conv2d_input_grad(s, node, used):
    """``conv_transpose2d`` (conv2d's input gradient): ConvTranspose with the output size's
    leftover rows and columns as ``output_padding``."""
    b, a = s.b, node.args
    x, w = a["grad_out"], a["weight"]
    kh, kw = w.shape[2], w.shape[3]
    (sh, sw), (ph, pw), (dh, dw) = a["stride"], a["padding"], a["dilation"]
    out_h, out_w = a["in_size"]
    if any(isinstance(n, Sym) for n in (out_h, out_w, *x.shape[2:])):
        raise UnsupportedOperatorError("onnx export: unsupported operator 'conv2d_input_grad' "
                                       "with a dynamic spatial size")
    extra_h = out_h - ((x.shape[2] - 1) * sh + dh * (kh - 1) + 1 - 2 * ph)
    extra_w = out_w - ((x.shape[3] - 1) * sw + dw * (kw - 1) + 1 - 2 * pw)
    if min(ph, pw, extra_h, extra_w) < 0:
        raise UnsupportedOperatorError("onnx export: unsupported operator 'conv2d_input_grad' "
                                       "with negative padding")
    return b.one("ConvTranspose", [s.get(x), s.get(w)], strides=[sh, sw],
                 pads=[ph, pw, ph, pw], dilations=[dh, dw], group=a["groups"],
                 kernel_shape=[kh, kw], output_padding=[extra_h, extra_w])


def _interp2d(s, node, used):
    """Nearest: the sampled rows and columns gathered; otherwise each axis blended from its
    two neighbours, ``(1 - weight) * x[lo] + weight * x[hi]``, columns first (as the
    backend computes it)."""
    b, a = s.b, node.args
    dtype = node.outputs[0].dtype
    y = s.get(a["x"])
    for axis, samples in ((3, a["cols"]), (2, a["rows"])):
        f = dict(samples.fields)
        lo = b.one("Gather", [y, b.const(np.asarray(f["lo"], np.int64))], axis=axis)
        if a["nearest"]:
            y = lo
            continue
        hi = b.one("Gather", [y, b.const(np.asarray(f["hi"], np.int64))], axis=axis)
        weight = np.asarray(f["weight"], np.float64).reshape((-1,) + (1,) * (3 - axis))
        y = b.one("Add", [b.one("Mul", [lo, b.const(1 - weight, dtype)]),
                          b.one("Mul", [hi, b.const(weight, dtype)])])
    return y


def _scatter_elements(s, node, used):
    """``scatter`` / ``scatter_add``: ScatterElements, with ``src`` cut to ``index``'s shape."""
    b, a = s.b, node.args
    index, src = a["index"], a["src"]
    updates = s.arg(src, node.outputs[0].dtype)
    if isinstance(src, Value) and tuple(src.shape) != tuple(index.shape):
        zeros = [0] * len(index.shape)
        updates = b.one("Slice", [updates, b.ints(zeros), b.ints(index.shape),
                                  b.ints(range(len(index.shape)))])
    elif not isinstance(src, Value):
        updates = b.one("Expand", [updates, b.ints(index.shape)])
    inputs = [s.get(a["x"]), s.get(index), updates]
    if b.opset < 16:  # the reduction attribute came in opset 16
        if node.op == "scatter_add":
            raise UnsupportedOperatorError("onnx export: operator 'scatter_add' needs "
                                           f"opset_version >= 16 (ScatterElements reduction), "
                                           f"got {b.opset}")
        return b.one("ScatterElements", inputs, axis=a["dim"])
    reduction = "add" if node.op == "scatter_add" else "none"
    return b.one("ScatterElements", inputs, axis=a["dim"], reduction=reduction)


def _windows(rows: Struct, size: int) -> tuple:
    """(kernel, stride, pad_before, pad_after, dilation) of pooling windows along one axis."""
    f = dict(rows.fields)
    starts, kernel, dilation = f["start"], f["size"], f["step"]
    stride = starts[1] - starts[0] if len(starts) > 1 else 1
    if any(b - a != stride for a, b in zip(starts, starts[1:])):
        raise UnsupportedOperatorError("onnx export: unsupported operator 'pool' with uneven "
                                       "windows")
    before = -starts[0]
    after = max(0, starts[-1] + (kernel - 1) * dilation - (size - 1))
    return kernel, stride, before, after, dilation


def _pool_max2d(s, node, used):
    b, a = s.b, node.args
    x = a["x"]
    kh, sh, top, bottom, dh = _windows(a["rows"], x.shape[2])
    kw, sw, left, right, dw = _windows(a["cols"], x.shape[3])
    y = b.one("MaxPool", [s.get(x)], kernel_shape=[kh, kw], strides=[sh, sw],
              pads=[top, left, bottom, right], dilations=[dh, dw])
    return [y, None]


def _pool_avg2d(s, node, used):
    b, a = s.b, node.args
    x = a["x"]
    if a["divisor_override"] is not None:
        raise UnsupportedOperatorError("onnx export: unsupported operator 'pool_avg2d' with "
                                       "divisor_override")
    kh, sh, top, bottom, dh = _windows(a["rows"], x.shape[2])
    kw, sw, left, right, dw = _windows(a["cols"], x.shape[3])
    divisors = set(dict(a["rows"].fields)["divisor"]) | set(dict(a["cols"].fields)["divisor"])
    include_pad = 1 if divisors <= {float(kh), float(kw)} and kh == kw else 0
    return b.one("AveragePool", [s.get(x)], kernel_shape=[kh, kw], strides=[sh, sw],
                 pads=[top, left, bottom, right], count_include_pad=include_pad)


def _attention(s, node, used):
    b, a = s.b, node.args
    if a["dropout_p"]:
        raise UnsupportedOperatorError("onnx export: unsupported operator 'attention_forward' "
                                       "with dropout")
    q, k, v = a["q"], a["k"], a["v"]
    dtype = q.dtype
    nd = len(k.shape)
    perm = list(range(nd - 2)) + [nd - 1, nd - 2]
    scores = b.one("MatMul", [s.get(q), b.one("Transpose", [s.get(k)], perm=perm)])
    scores = b.one("Mul", [scores, b.scalar(a["scale"], dtype)])
    mask = a["mask"]
    if mask is not None:
        if mask.dtype == "bool":
            scores = b.one("Where", [s.get(mask), scores, b.scalar(-np.inf, dtype)])
        else:
            scores = b.one("Add", [scores, s.arg(mask, dtype)])
    if a["is_causal"]:
        length, source = q.shape[-2], k.shape[-2]
        if isinstance(length, Sym) or isinstance(source, Sym):  # tril of ones: col <= row
            rows = b.one("Range", [b.int_scalar(0), b.int_scalar(length), b.int_scalar(1)])
            rows = b.one("Unsqueeze", [rows, b.const(np.array([1], np.int64))])
            cols = b.one("Range", [b.int_scalar(0), b.int_scalar(source), b.int_scalar(1)])
            allowed = b.one("LessOrEqual", [cols, rows])
        else:
            allowed = b.const(np.tril(np.ones((length, source), dtype=bool)))
        scores = b.one("Where", [allowed, scores, b.scalar(-np.inf, dtype)])
    weights = b.one("Softmax", [scores], axis=-1)
    out = b.one("MatMul", [weights, s.get(v)])
    lse = None
    if node.outputs[1] is not None and node.outputs[1].id in used:
        lse = b.reduce("ReduceLogSumExp", scores, [nd - 1], 0)
    return [out, lse]


def _random(s, node, used):
    """``randn``/``rand`` (a VAE's ``randn_like``): RandomNormalLike/RandomUniformLike of
    zeros of the shape, so each run draws new numbers (as a torch.onnx.export'ed model does;
    framework's generator stream is not reproduced)."""
    b, a = s.b, node.args
    dtype = node.outputs[0].dtype
    zeros = b.one("Expand", [b.scalar(0, dtype), b.ints(a["shape"])])
    op = "RandomNormalLike" if node.op == "randn" else "RandomUniformLike"
    return b.one(op, [zeros], dtype=_ONNX_TYPES[dtype])


def _arange(s, node, used):
    b, a = s.b, node.args
    dtype = a["dtype"].name
    work = "int64" if not dtype.startswith(("float", "bfloat")) else "float32"
    start, step, n = a["start"], a["step"], a["n"]
    if isinstance(n, Sym) or work == "int64":
        idx = b.one("Range", [b.int_scalar(0), b.int_scalar(n), b.int_scalar(1)])
        idx = b.cast(idx, work) if work != "int64" else idx
        y = b.one("Add", [b.one("Mul", [idx, b.scalar(step, work)]), b.scalar(start, work)])
    else:
        y = b.const(start + step * np.arange(n, dtype=np.float64), work)
    return y if work == dtype else b.cast(y, dtype)


def _full(s, node, used):
    b, a = s.b, node.args
    dtype = a["dtype"].name
    value = a.get("value", 0)
    shape = node.outputs[0].shape
    fill = b.tensor_proto("value", np.array([value if value is not None else 0],
                                            dtype=_numpy_dtype(dtype)), dtype)
    return b.one("ConstantOfShape", [b.ints(shape)], value=fill)


def _from_numpy(s, node, used):
    a = node.args
    data = a["array"]
    if isinstance(data, Value):  # a device move (to_numpy, then from_numpy): one ONNX tensor
        return s.arg(data, a["dtype"].name)
    return s.b.const(data.data.reshape(node.outputs[0].shape), a["dtype"].name)


def _reads_nothing(node) -> bool:
    """True for a kernel whose result is fixed at export: it reads no graph value, has no
    symbolic size and draws no random numbers (``eye``, ``linspace``, ...)."""
    from .capture import _RANDOM
    from .ir import EFFECT_OPS
    if node.op in _RANDOM or node.op in EFFECT_OPS:
        return False
    found = []
    walk(node.args, lambda leaf: found.append(leaf) if isinstance(leaf, (Value, Sym)) else None)
    return not found


def _constant_node(s, node, used):
    """A kernel reading nothing (``_reads_nothing``) without its own translation: run once
    by the CPU backend now, its outputs stored as initializers."""
    from .. import _backends
    from ..devices import device as Device
    from .runtime import _resolve, _static_arg

    backend = _backends.for_device(Device("cpu"))
    result = getattr(backend, node.op)(*[_resolve(a, _static_arg) for a in node.args.values()])
    parts = result if isinstance(result, tuple) else (result,)
    return [None if part is None or out is None else
            s.b.const(np.asarray(backend.to_numpy(part)).reshape(out.shape), out.dtype)
            for out, part in zip(node.outputs, parts)]


def _sort(s, node, used):
    """``sort`` (under ``topk``, ``argsort``, ``median``): ``TopK`` of the whole dim, largest
    first when descending (ties: ONNX Runtime keeps the lower index first, as a stable
    sort does)."""
    b, a = s.b, node.args
    x = a["x"]
    dim = a["dim"] % len(x.shape)
    k = b.ints([x.shape[dim]])
    values, indices = b.add("TopK", [s.get(x), k], n_out=2, axis=dim,
                            largest=int(bool(a["descending"])), sorted=1)
    return [values, indices]


def _to_numpy(s, node, used):
    return s.b.one("Identity", [s.get(node.args["a"])])


def _tri(s, node, used):
    b, a = s.b, node.args
    if b.opset < 14:
        return _tri_by_mask(s, node)
    return b.one("Trilu", [s.get(a["x"]), b.const(np.array(a["diagonal"], np.int64))],
                 upper=int(node.op == "triu"))


def _tri_by_mask(s, node) -> str:
    """``tril``/``triu`` before opset 14 (no ``Trilu``): keep the elements whose column minus
    row is at least (``triu``) or at most (``tril``) ``diagonal``, zeros elsewhere."""
    b, a = s.b, node.args
    x = a["x"]
    rows = b.one("Range", [b.int_scalar(0), b.int_scalar(x.shape[-2]), b.int_scalar(1)])
    cols = b.one("Range", [b.int_scalar(0), b.int_scalar(x.shape[-1]), b.int_scalar(1)])
    offset = b.one("Sub", [b.one("Unsqueeze", [cols, b.const(np.array([0], np.int64))]),
                           b.one("Unsqueeze", [rows, b.const(np.array([1], np.int64))])])
    diagonal = b.const(np.array(a["diagonal"], np.int64))
    keep = b.one("Not", [b.one("Less" if node.op == "triu" else "Greater", [offset, diagonal])])
    return b.one("Where", [keep, s.get(x), b.scalar(0, x.dtype)])


def _activation(s, node, used):
    b, a = s.b, node.args
    dtype = node.outputs[0].dtype
    x = s.get(a["x"])
    op, p0, p1 = a["op"], a["p0"], a["p1"]
    if op == "leaky_relu":
        return b.one("LeakyRelu", [x], alpha=float(p0))
    if op == "elu":
        y = b.one("Elu", [x], alpha=float(p0))
        return y if p1 in (None, 1.0) else b.one("Mul", [y, b.scalar(p1, dtype)])
    if op == "celu":
        if b.opset < 12:  # max(0, x) + min(0, alpha * (exp(x / alpha) - 1)): Celu came in 12
            alpha = b.scalar(float(p0), dtype)
            curve = b.one("Mul", [alpha, b.one("Sub", [b.one("Exp", [b.one("Div", [x, alpha])]),
                                                      b.scalar(1.0, dtype)])])
            zero = b.scalar(0.0, dtype)
            return b.one("Add", [b.one("Max", [x, zero]), b.one("Min", [curve, zero])])
        return b.one("Celu", [x], alpha=float(p0))
    if op == "hardtanh":
        return b.one("Min", [b.one("Max", [x, b.scalar(p0, dtype)]), b.scalar(p1, dtype)])
    if op == "hardsigmoid":
        return b.one("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)
    if op == "hardswish":  # the HardSwish operator came in opset 14
        if b.opset < 14:
            return b.one("Mul", [x, b.one("HardSigmoid", [x], alpha=1.0 / 6.0, beta=0.5)])
        return b.one("HardSwish", [x])
    if op == "softsign":
        return b.one("Softsign", [x])
    if op == "logsigmoid":
        return b.one("Log", [b.one("Sigmoid", [x])])
    if op == "mish":  # x * tanh(softplus(x)): the Mish operator came in opset 18
        return b.one("Mul", [x, b.one("Tanh", [b.one("Softplus", [x])])])
    if op == "tanhshrink":
        return b.one("Sub", [x, b.one("Tanh", [x])])
    raise UnsupportedOperatorError(f"onnx export: unsupported operator 'activation' ({op})")


def _gate_parts(b, x: str, hidden: int, count: int) -> list:
    """``x`` (N, count*H) split into ``count`` (N, H) column blocks."""
    return b.add("Split", [x, b.ints([hidden] * count)], n_out=count, axis=1)


def _gru_step(b, x_gates: str, h_gates: str, h_prev: str, hidden: int, dtype: str) -> tuple:
    """(h, [r, z, n, h_n]) of one GRU step from its input and hidden gate projections."""
    x_r, x_z, x_n = _gate_parts(b, x_gates, hidden, 3)
    h_r, h_z, h_n = _gate_parts(b, h_gates, hidden, 3)
    r = b.one("Sigmoid", [b.one("Add", [x_r, h_r])])
    z = b.one("Sigmoid", [b.one("Add", [x_z, h_z])])
    n = b.one("Tanh", [b.one("Add", [x_n, b.one("Mul", [r, h_n])])])
    h = b.one("Add", [b.one("Mul", [b.one("Sub", [b.scalar(1.0, dtype), z]), n]),
                      b.one("Mul", [z, h_prev])])
    return h, (r, z, n, h_n)


def _gru_cell(s, node, used):
    """One GRU step (PyTorch's r, z, n order); ``saved`` = [r, z, n, h_n] when read."""
    b, a = s.b, node.args
    dtype = node.outputs[0].dtype
    hidden = node.outputs[0].shape[1]
    h, parts = _gru_step(b, s.arg(a["x_gates"], dtype), s.arg(a["h_gates"], dtype),
                         s.arg(a["h_prev"], dtype), hidden, dtype)
    saved = node.outputs[1]
    packed = (b.one("Concat", list(parts), axis=1)
              if saved is not None and saved.id in used else None)
    return [h, packed]


def _lstm_step(b, gates: str, c_prev: str, hidden: int) -> tuple:
    """(h, c, [σ(i), σ(f), tanh(g), σ(o)]) of one LSTM step from its gate pre-activations."""
    i, f, g, o = _gate_parts(b, gates, hidden, 4)
    i, f, o = (b.one("Sigmoid", [t]) for t in (i, f, o))
    g = b.one("Tanh", [g])
    c = b.one("Add", [b.one("Mul", [f, c_prev]), b.one("Mul", [i, g])])
    return b.one("Mul", [o, b.one("Tanh", [c])]), c, (i, f, g, o)


def _lstm_cell(s, node, used):
    """One LSTM step (PyTorch's i, f, g, o order); ``saved`` = [σ(i), σ(f), tanh(g), σ(o)]."""
    b, a = s.b, node.args
    dtype = node.outputs[0].dtype
    hidden = node.outputs[0].shape[1]
    h, c, acts = _lstm_step(b, s.arg(a["gates"], dtype), s.arg(a["c_prev"], dtype), hidden)
    saved = node.outputs[2]
    packed = (b.one("Concat", list(acts), axis=1)
              if saved is not None and saved.id in used else None)
    return [h, c, packed]


def _steps(node) -> int:
    """A recurrent layer's number of steps, which its unrolled translation needs fixed."""
    length = node.args["x_proj"].shape[0]
    if isinstance(length, Sym):
        raise UnsupportedOperatorError(
            f"onnx export: unsupported operator '{node.op}' with a dynamic sequence length "
            f"({length}): the layer is unrolled over a fixed number of steps (leave the "
            "sequence dim out of dynamic_axes)")
    return length


# ONNX's gate order from PyTorch's, per block of H rows: LSTM i, o, f, c from i, f, g, o;
# GRU z, r, h from r, z, n
_ONNX_GATES = {"lstm_sequence": (0, 3, 1, 2), "gru_sequence": (1, 0, 2)}


def _native_sequence(s, node, used):
    """A GRU/LSTM layer direction of a dynamic length as ONNX's own ``GRU``/``LSTM`` operator
    (it loops over the steps itself). Its input is the kernel's ``x_proj`` (the input
    projection with ``b_ih``, PyTorch's gate order), so ``W`` is the permutation matrix
    into ONNX's gate order, ``R`` and ``Rb`` are ``w_hh``/``b_hh`` with their gate blocks
    reordered, ``Wb`` is 0; a GRU resets after its hidden product (``linear_before_reset``,
    as PyTorch). The states (T + 1, N, H) are ``h0`` and ``Y`` in the kernel's slot order.
    ONNX gives the last cell only (``Y_c``): the cells are ``c0`` and ``Y_c`` in every step's
    slot, right where read (``c_n``, the last step's slot); a node reading another slot
    raises."""
    b, a = s.b, node.args
    lstm = node.op == "lstm_sequence"
    dtype = node.outputs[0].dtype
    hidden = a["h0"].shape[1]
    cells = node.outputs[1] if lstm else None
    if cells is not None and cells.id in used and not _reads_last_slot_only(s.b.graph, node):
        raise UnsupportedOperatorError(
            "onnx export: unsupported operator 'lstm_sequence' with a dynamic sequence length "
            f"({a['x_proj'].shape[0]}) whose cell states other than the last are read: "
            "ONNX's LSTM gives the last cell only; leave the sequence dim out of dynamic_axes")
    blocks = _ONNX_GATES[node.op]
    rows = np.concatenate([np.arange(k * hidden, (k + 1) * hidden) for k in blocks])
    order = b.const(rows.astype(np.int64))
    gates = len(blocks) * hidden
    first = b.const(np.array([0], np.int64))
    w = b.const(np.eye(gates)[rows][None], dtype)
    r = b.one("Unsqueeze", [b.one("Gather", [s.arg(a["w_hh"], dtype), order], axis=0), first])
    hidden_bias = (b.one("Gather", [s.arg(a["b_hh"], dtype), order], axis=0)
                   if a["b_hh"] is not None else b.const(np.zeros(gates), dtype))
    bias = b.one("Unsqueeze", [b.one("Concat", [b.const(np.zeros(gates), dtype), hidden_bias],
                                     axis=0), first])
    h0 = b.one("Unsqueeze", [s.arg(a["h0"], dtype), first])
    inputs = [s.arg(a["x_proj"], dtype), w, r, bias, "", h0]
    attrs = {"hidden_size": hidden, "direction": "reverse" if a["reverse"] else "forward"}
    if lstm:
        inputs.append(b.one("Unsqueeze", [s.arg(a["c0"], dtype), first]))
    else:
        attrs["linear_before_reset"] = 1
    outs = b.add("LSTM" if lstm else "GRU", inputs, n_out=3 if lstm else 1, **attrs)
    y = b.one("Squeeze", [outs[0], b.const(np.array([1], np.int64))])  # (T, 1, N, H) -> (T, N, H)
    slots = [y, h0] if a["reverse"] else [h0, y]
    states = b.one("Concat", slots, axis=0)
    if not lstm:
        return [states, None]
    c_last = b.one("Expand", [outs[2], b.one("Shape", [y])])  # Y_c in each step's slot
    c0 = b.one("Unsqueeze", [s.arg(a["c0"], dtype), first])
    return [states, b.one("Concat", [c_last, c0] if a["reverse"] else [c0, c_last], axis=0),
            None]


def _reads_last_slot_only(graph, node) -> bool:
    """True when every node reading ``node``'s cells (T + 1, N, H) selects the last step's
    slot: T (its size minus one), or 0 for a reverse direction."""
    cells = node.outputs[1]
    last = 0 if node.args["reverse"] else node.args["x_proj"].shape[0]
    for reader in graph.nodes:
        if any(v.id == cells.id for v in reader.inputs()):
            if reader.op != "select" or reader.args["dim"] != 0:
                return False
            index = reader.args["index"]
            if not (index == last or (isinstance(index, int) and index == -1)):
                return False
    return True


def _sequence_steps(length: int, reverse: bool) -> list:
    """(t, slot read, slot written) of each step of a sequence kernel, in running order."""
    if reverse:
        return [(t, t + 1, t) for t in range(length - 1, -1, -1)]
    return [(t, t, t + 1) for t in range(length)]


def _stacked(b, values: list) -> str:
    """The (N, H) values stacked into one (len, N, H) tensor."""
    axis = b.const(np.array([0], np.int64))
    return b.one("Concat", [b.one("Unsqueeze", [v, axis]) for v in values], axis=0)


def _gru_sequence(s, node, used):
    """All T steps of a GRU layer direction, unrolled (T is fixed at export): per step the
    hidden MatMul (+ b_hh), then ``_gru_step``; the states (T + 1, N, H) in the kernel's slot
    order. ``saved`` (the backward's record) has no translation."""
    b, a = s.b, node.args
    if isinstance(a["x_proj"].shape[0], Sym):
        return _native_sequence(s, node, used)
    dtype = node.outputs[0].dtype
    length, hidden = _steps(node), a["h0"].shape[1]
    x = s.arg(a["x_proj"], dtype)
    w_t = b.one("Transpose", [s.arg(a["w_hh"], dtype)], perm=[1, 0])
    h = [None] * (length + 1)
    h[length if a["reverse"] else 0] = s.arg(a["h0"], dtype)
    for t, src, dst in _sequence_steps(length, a["reverse"]):
        h_gates = b.one("MatMul", [h[src], w_t])
        if a["b_hh"] is not None:
            h_gates = b.one("Add", [h_gates, s.arg(a["b_hh"], dtype)])
        x_gates = b.one("Gather", [x, b.int_scalar(t)], axis=0)
        h[dst], _ = _gru_step(b, x_gates, h_gates, h[src], hidden, dtype)
    return [_stacked(b, h), None]


def _lstm_sequence(s, node, used):
    """All T steps of an LSTM layer direction, unrolled (T is fixed at export): per step the
    hidden MatMul, + b_hh, + the step's input projection, then ``_lstm_step``; the states and
    cells (T + 1, N, H) in the kernel's slot order. ``saved`` (the backward's record) has no
    translation."""
    b, a = s.b, node.args
    if isinstance(a["x_proj"].shape[0], Sym):
        return _native_sequence(s, node, used)
    dtype = node.outputs[0].dtype
    length, hidden = _steps(node), a["h0"].shape[1]
    x = s.arg(a["x_proj"], dtype)
    w_t = b.one("Transpose", [s.arg(a["w_hh"], dtype)], perm=[1, 0])
    h, c = [None] * (length + 1), [None] * (length + 1)
    first = length if a["reverse"] else 0
    h[first], c[first] = s.arg(a["h0"], dtype), s.arg(a["c0"], dtype)
    for t, src, dst in _sequence_steps(length, a["reverse"]):
        gates = b.one("MatMul", [h[src], w_t])
        if a["b_hh"] is not None:
            gates = b.one("Add", [gates, s.arg(a["b_hh"], dtype)])
        gates = b.one("Add", [gates, b.one("Gather", [x, b.int_scalar(t)], axis=0)])
        h[dst], c[dst], _ = _lstm_step(b, gates, c[src], hidden)
    return [_stacked(b, h), _stacked(b, c), None]


_TRANSLATIONS = {
    **{op: _unary for op in ("neg", "abs", "exp", "exp2", "log", "log2", "log1p", "expm1",
                             "sqrt", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu",
                             "gelu", "gelu_tanh", "silu", "softplus", "sign", "floor", "ceil",
                             "round", "trunc", "reciprocal", "square", "logical_not", "isnan",
                             "asin", "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh",
                             "erf", "erfc")},
    **{op: _binary for op in ("add", "sub", "mul", "div", "div_floor", "remainder", "fmod", "pow",
                              "maximum", "minimum", "eq", "ne", "lt", "le", "gt", "ge", "atan2",
                              "logical_and", "logical_or", "logical_xor", "bitwise_and",
                              "bitwise_or", "bitwise_xor")},
    **{op: _reduce for op in _REDUCE},
    "argmax": _arg_reduce, "argmin": _arg_reduce, "var": _var, "any": _any_all,
    "all": _any_all, "cumsum": _cumsum, "flip": _flip, "tile": _tile, "roll": _roll,
    "pad": _pad,
    "where": _where, "clamp": _clamp,
    "matmul": _matmul, "matmul_epilogue": _matmul_epilogue, "mm": _mm,
    "softmax": _softmax, "norm_rows": _norm_rows,
    "gather": _gather, "gather_slices": _gather_slices,
    "conv2d": _conv2d, "conv2d_input_grad": _conv2d_input_grad, "interp2d": _interp2d,
    "scatter": _scatter_elements, "scatter_add": _scatter_elements,
    "pool_max2d": _pool_max2d, "pool_avg2d": _pool_avg2d,
    "attention_forward": _attention,
    "randn": _random, "rand": _random, "arange": _arange, "full": _full, "empty": _full, "from_numpy": _from_numpy, "to_numpy": _to_numpy,
    "tril": _tri, "triu": _tri, "activation": _activation, "sort": _sort,
    "repeat_interleave": _repeat_interleave,
    "gru_cell": _gru_cell, "lstm_cell": _lstm_cell, "lstm_sequence": _lstm_sequence,
    "gru_sequence": _gru_sequence,
}

SUPPORTED = tuple(sorted(set(_TRANSLATIONS) | {"copy_", "device_assert"}))
