"""``Function``: a differentiable op with ``forward(ctx, ...)`` and ``backward(ctx, *grads)``.

``Function.apply`` runs ``forward`` without recording, then, when grad mode is
on and an input requires grad, makes a ``Node`` (the outputs' ``grad_fn``)
linking the outputs to the inputs' nodes. The ``Node`` is also the ``ctx``
that ``forward`` and ``backward`` see.
"""
from __future__ import annotations

from types import MappingProxyType

from ..tensor import Size, Tensor
from .grad_mode import _state as _grad_state
from .grad_mode import no_grad

_FREED = ("Trying to backward through the graph a second time (or directly access saved "
          "tensors after they have already been freed). Saved intermediate values of the graph "
          "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if "
          "you need to backward through the graph a second time or if you need to access saved "
          "tensors after calling backward.")


_NO_EDGE = (None, 0)  # the edge of an argument that needs no gradient


class Node:
    """A recorded op in the graph; also the ``ctx`` of its ``Function``.

    Named like PyTorch's node of the same op (``AddmmBackward0``): a Function
    names its node with a ``node_name`` class attribute or by setting
    ``ctx.node_name`` in ``forward`` (default: class name + ``Backward0``);
    after ``forward`` the node's class becomes a ``Node`` subclass of that
    name, so ``type(y.grad_fn).__name__`` reads as in PyTorch.

    ``_edges[i]`` is ``(node, output_nr)`` for ``forward`` argument ``i`` (or
    ``(None, 0)`` when it needs no gradient); the engine walks these.
    ``next_functions`` shows the edges of the tensor arguments only, in
    PyTorch's order (``_public`` lists their argument positions).
    """

    recording = True  # forwards may skip bookkeeping for backward when False (``_InertCtx``)
    # Immutable defaults, shadowed per node when set (``__init__`` makes the mutable ones).
    _edges: tuple = ()
    _public = None
    _node_prehooks = None
    _node_posthooks = None
    node_name = None
    needs_input_grad: tuple = ()
    num_outputs = 1
    materialize_grads = True
    _saved = None
    _saved_versions: tuple = ()
    _freed = False
    output_meta = ()  # per output: (shape, dtype, device), or None for a non-tensor
    non_differentiable = frozenset()  # ids of outputs marked non-differentiable
    pre_hooks = MappingProxyType({})  # output_nr -> tensor hooks (a dict once one is added)

    def __init__(self, fn_cls=None) -> None:
        self.fn_cls = fn_cls
        self.retained: dict = {}

    def name(self) -> str:
        """Name like PyTorch's (``AddBackward0``)."""
        if self.node_name:
            return self.node_name
        cls = self.fn_cls
        if cls is None:
            return "Node"
        if getattr(cls, "node_name", None):
            return cls.node_name
        base = cls.__name__.lstrip("_")
        if not cls.__module__.startswith("framework."):
            return base + "Backward"  # a user's Function: PyTorch names it <Class>Backward
        return base + "0" if base.endswith("Backward") else base + "Backward0"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    @property
    def next_functions(self) -> tuple:
        """``(node, output_nr)`` per tensor input (``(None, 0)`` where none is needed)."""
        if self._public is None:
            return self._edges
        edges = self._edges
        return tuple([edges[i] for i in self._public])

    @next_functions.setter
    def next_functions(self, edges) -> None:
        self._edges = tuple(edges)
        self._public = None

    @property
    def metadata(self) -> dict:
        """A dict for the user's own annotations of this node (as in PyTorch)."""
        meta = self.__dict__.get("_metadata")
        if meta is None:
            meta = self._metadata = {}
        return meta

    # ctx API -----------------------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        """Keep tensors for ``backward``; in-place edits to them are detected."""
        watch = _grad_state.inplace_watch
        if watch is not None and any(t is not None and t._a.storage is watch[0] for t in tensors):
            watch[1].append(self)
        self._saved = tensors
        self._saved_versions = tuple([t._a.storage.version if t is not None else 0
                                      for t in tensors])

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``, checked against in-place edits."""
        if self._freed:
            raise RuntimeError(_FREED)
        saved = self._saved
        if saved is None:
            return ()
        for t, version in zip(saved, self._saved_versions):
            if t is not None and t._a.storage.version != version:  # t._version, inlined
                break
        else:
            return saved
        for i, (t, version) in enumerate(zip(saved, self._saved_versions)):
            if t is not None and t._version != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{t.type()} {list(t.shape)}], which is saved tensor {i} "
                    f"of {self.name()}, is at version {t._version}; expected version {version} "
                    "instead. Hint: clone the tensor before modifying it in place.")
        return self._saved

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs (e.g. indices) that have no gradient."""
        if "non_differentiable" not in self.__dict__:
            self.non_differentiable = set()
        self.non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """When False, ``backward`` receives None instead of zeros for unused outputs."""
        self.materialize_grads = value

    def release(self) -> None:
        """Free saved tensors after a backward without ``retain_graph``.

        A node that saved no tensor (e.g. ``x + 1``) keeps working, like PyTorch's:
        only a backward that needs freed tensors raises.
        """
        saved = self._saved
        if saved is not None and not _all_none(saved):
            self._saved = None
            self._freed = True
        self.__dict__.pop("kept", None)  # what a Function keeps alive with its saved tensors

    # engine API --------------------------------------------------------
    def apply(self, grads: list) -> tuple:
        """Run the Function's backward on the output gradients."""
        if self._freed:
            raise RuntimeError(_FREED)
        # _has_none(grads), with the one-output case first
        if self.materialize_grads and (grads[0] is None if len(grads) == 1
                                       else _has_none(grads)):
            grads = [g if g is not None else _zeros_like_meta(meta)
                     for g, meta in zip(grads, self.output_meta)]
        result = self.fn_cls.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        return result

    def _register_tensor_hook(self, output_nr: int, hook) -> None:
        """Call ``hook(grad)`` on the gradient of output ``output_nr`` before use
        (``Tensor.register_hook`` on a non-leaf)."""
        if "pre_hooks" not in self.__dict__:
            self.pre_hooks = {}
        self.pre_hooks.setdefault(output_nr, []).append(hook)

    def register_prehook(self, hook) -> "_NodeHookHandle":
        """Call ``hook(grad_outputs)`` before this node runs; it may return new grad_outputs."""
        if self._node_prehooks is None:
            self._node_prehooks = []
        self._node_prehooks.append(hook)
        return _NodeHookHandle(self._node_prehooks, hook)

    def register_hook(self, hook) -> "_NodeHookHandle":
        """Call ``hook(grad_inputs, grad_outputs)`` after this node ran; it may return new
        grad_inputs (one per ``next_functions`` entry)."""
        if self._node_posthooks is None:
            self._node_posthooks = []
        self._node_posthooks.append(hook)
        return _NodeHookHandle(self._node_posthooks, hook)

    def _public_positions(self) -> tuple:
        return tuple(range(len(self._edges))) if self._public is None else self._public


class _NodeHookHandle:
    """Returned by ``Node.register_hook`` / ``register_prehook``; ``remove()`` unregisters."""

    def __init__(self, hooks: list, hook) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def _all_none(values) -> bool:
    for v in values:
        if v is not None:
            return False
    return True


def _has_none(grads) -> bool:
    for g in grads:
        if g is None:
            return True
    return False


def _zeros_like_meta(meta):
    from .. import ops
    shape, dtype, device = meta
    return ops.creation.zeros(shape, dtype=dtype, device=device)


class AccumulateGrad(Node):
    """Graph node of a leaf that requires grad: gradients flow into ``leaf.grad``."""

    def __init__(self, leaf) -> None:
        super().__init__(None)
        self.variable = leaf
        self.output_meta = [(leaf.shape, leaf.dtype, leaf.device)]

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def release(self) -> None:
        pass


class Function:
    """Base class of differentiable ops (``torch.autograd.Function``).

    Subclass it with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``
    and call ``MyFn.apply(*args)``. ``backward`` returns one gradient per
    ``forward`` argument (None for non-tensors or inputs needing none).
    """

    _user_defined = False  # a subclass outside ``framework`` (its views can't be rebased)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._user_defined = not cls.__module__.startswith("framework.")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("Function subclasses must implement forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("Function subclasses must implement backward(ctx, *grads)")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` and record the op in the graph when a gradient is needed."""
        needs = tuple([isinstance(a, Tensor) and (  # _needs_input_grad(args), inlined
            a._requires_grad or (a._grad_fn if a._base is None else a.grad_fn) is not None)
            for a in args])
        state = _grad_state
        enabled = state.enabled
        record = enabled and True in needs
        ctx = Node(cls) if record else _InertCtx(cls)
        ctx.needs_input_grad = needs
        state.enabled = None  # off, and marks "inside a forward" (``framework.autograd.views``)
        try:
            outputs = cls.forward(ctx, *args, **kwargs)
        finally:
            state.enabled = enabled
        if not record:
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        ctx._edges = tuple([_edge(a) if n else _NO_EDGE for a, n in zip(args, needs)])
        ctx._public = _public_positions(cls, ctx, args)
        # _class_node_type(cls, ctx), its cache read inlined
        ctx.__class__ = ("node_name" not in ctx.__dict__ and _CLASS_NODE_TYPES.get(cls)
                         or _class_node_type(cls, ctx))
        ctx.num_outputs = len(outs)
        ctx.output_meta = [(Size(o._a.shape), o._a.dtype, o._device) if isinstance(o, Tensor)
                           else None for o in outs]
        for i, out in enumerate(outs):
            if not isinstance(out, Tensor) or id(out) in ctx.non_differentiable:
                continue
            if not out._a.dtype.is_floating_point:
                continue
            aliased = ((out._grad_fn if out._base is None else out.grad_fn) is not None
                       or out._accumulator is not None or out._requires_grad)
            if aliased:
                # forward returned an input or an already-recorded tensor: alias it
                out = out._alias()
                outs = outs[:i] + (out,) + outs[i + 1:]
            if cls._user_defined and (aliased or out._base is not None):
                _mark_custom_function_view(out, args)
            out._grad_fn = ctx  # the grad_fn setter, inlined
            out._output_nr = i
        return outs[0] if single else outs


_NODE_TYPES: dict = {}  # node name -> its Node subclass (a cache: one class per name)
_CLASS_NODE_TYPES: dict = {}  # Function class -> its node's Node subclass (a cache)


def _class_node_type(cls, ctx) -> type:
    """The ``Node`` subclass of ``ctx.name()``: per Function class from a cache, unless the
    forward named this node itself (``ctx.node_name``)."""
    if "node_name" in ctx.__dict__:
        return _node_type(ctx.name())
    node_type = _CLASS_NODE_TYPES.get(cls)
    if node_type is None:
        node_type = _CLASS_NODE_TYPES[cls] = _node_type(ctx.name())
    return node_type


def class_node_type(cls) -> type:
    """The ``Node`` subclass that ``Function.apply`` gives the nodes of Function ``cls`` whose
    forward does not name them itself (cached): for ops that build their nodes directly."""
    node_type = _CLASS_NODE_TYPES.get(cls)
    if node_type is None:
        node_type = _CLASS_NODE_TYPES[cls] = _node_type(Node(cls).name())
    return node_type


def _node_type(name: str) -> type:
    """The ``Node`` subclass named ``name`` (``AddBackward0``), made once per name."""
    node_type = _NODE_TYPES.get(name)
    if node_type is None:
        node_type = _NODE_TYPES[name] = type(name, (Node,), {"node_name": name,
                                                              "__module__": __name__})
    return node_type


def rename_node(out, name: str, source=None, public=None):
    """Give the node that made ``out`` PyTorch's name for the op (``TBackward0``); returns
    ``out``. Nothing changes when ``out`` is ``source`` (the op returned its input) or has no
    node. ``public`` optionally sets the argument positions ``next_functions`` shows."""
    node = out._grad_fn if isinstance(out, Tensor) else None
    if node is None or out is source:
        return out
    node.__dict__.pop("node_name", None)
    node.__class__ = _node_type(name)
    if public is not None:
        node._public = tuple(public)
    return out


def _public_positions(cls, ctx, args) -> tuple:
    """Argument positions shown by ``next_functions``: the Function's ``PUBLIC_INPUTS``
    (class or ctx attribute) or else every floating-point tensor argument (as in PyTorch,
    index and mask tensors have no edge)."""
    public = ctx.__dict__.get("public_inputs") or getattr(cls, "PUBLIC_INPUTS", None)
    if public is not None:
        return public if type(public) is tuple else tuple(public)
    return tuple([i for i, a in enumerate(args)
                  if isinstance(a, Tensor) and a._a.dtype.is_floating_point])


def _mark_custom_function_view(out: Tensor, args: tuple) -> None:
    """A user Function's output sharing memory with an input is a view that in-place writes
    can't rebase without bypassing the custom backward: they raise, as in PyTorch."""
    from .views import CUSTOM_FUNCTION
    storage = out._a.storage
    for a in args:
        if isinstance(a, Tensor) and a._a.storage is storage:
            out._base = a if a._base is None else a._base
            out._seen_version = storage.version
            out._view_meta = (CUSTOM_FUNCTION, None)
            return


def _needs_input_grad(args) -> tuple:
    """Per argument: is it a tensor that requires grad (``Tensor.requires_grad``, inlined)."""
    return tuple([isinstance(a, Tensor) and (
        a._requires_grad or (a._grad_fn if a._base is None else a.grad_fn) is not None)
        for a in args])


class _InertCtx:
    """The ``ctx`` of a call that records nothing: saving is a no-op (no backward will run)."""

    recording = False

    def __init__(self, fn_cls) -> None:
        self.fn_cls = fn_cls

    def save_for_backward(self, *tensors) -> None:
        """Nothing to keep: no backward will run."""

    @property
    def saved_tensors(self) -> tuple:
        return ()

    def mark_non_differentiable(self, *tensors) -> None:
        """Nothing to mark: outputs are not recorded."""

    def set_materialize_grads(self, value: bool) -> None:
        """Nothing to set: no backward will run."""


def _edge(t):
    """The graph edge for input tensor ``t``: its node and output number."""
    node = t._grad_fn if t._base is None else t.grad_fn  # the property only acts on views
    if node is not None:
        return (node, t._output_nr)
    return (t._get_accumulator(), 0)


def record_saved_pair(node_type: type, fn_cls: type, a: Tensor, b: Tensor, need_a: bool,
                      need_b: bool, out: Tensor, **fields) -> Tensor:
    """Record ``out = fn_cls.apply(a, b)`` for a function whose forward saves both inputs
    (``ctx.save_for_backward(a, b)``): the node ``Function.apply`` would make (class,
    ``__dict__`` plus ``fields``, edges, saved versions), built directly for hot paths
    (``tests/test_record_fast_path.py`` holds the two equal). Returns ``out``."""
    array = out._a
    node = object.__new__(node_type)
    # Function.apply's ctx.__dict__ after forward (Node.__init__, save_for_backward) and
    # its own bookkeeping (edges, positions, outputs)
    node.__dict__ = {
        "fn_cls": fn_cls, "retained": {}, "needs_input_grad": (need_a, need_b),
        "_saved": (a, b), "_saved_versions": (a._a.storage.version, b._a.storage.version),
        "_edges": (_edge(a) if need_a else _NO_EDGE, _edge(b) if need_b else _NO_EDGE),
        "_public": tuple([i for i, t in enumerate((a, b)) if t._a.dtype.is_floating_point]),
        "num_outputs": 1,
        "output_meta": [(Size(array.shape), array.dtype, out._device)],
        **fields,
    }
    watch = _grad_state.inplace_watch
    if watch is not None and (a._a.storage is watch[0] or b._a.storage is watch[0]):
        watch[1].append(node)  # Node.save_for_backward's check
    if array.dtype.is_floating_point:
        out._grad_fn = node
        out._output_nr = 0
    return out


def once_differentiable(backward):
    """Decorator for ``backward``: it runs without recording, so it has no second derivative."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)
    return wrapper
