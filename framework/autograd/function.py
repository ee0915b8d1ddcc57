"""``Function``: a differentiable op with ``forward(ctx, ...)`` and ``backward(ctx, *grads)``.

``Function.apply`` runs ``forward`` without recording, then, when grad mode is
on and an input requires grad, makes a ``Node`` (the outputs' ``grad_fn``)
linking the outputs to the inputs' nodes. The ``Node`` is also the ``ctx``
that ``forward`` and ``backward`` see.
"""
from __future__ import annotations

from ..tensor import Tensor
from .grad_mode import _state as _grad_state
from .grad_mode import no_grad

_FREED = ("Trying to backward through the graph a second time (or directly access saved "
          "tensors after they have already been freed). Saved intermediate values of the graph "
          "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if "
          "you need to backward through the graph a second time or if you need to access saved "
          "tensors after calling backward.")


class Node:
    """A recorded op in the graph; also the ``ctx`` of its ``Function``.

    ``next_functions[i]`` is ``(node, output_nr)`` for input ``i`` (or
    ``(None, 0)`` when that input needs no gradient).
    """

    recording = True  # forwards may skip bookkeeping for backward when False (``_InertCtx``)
    # Immutable defaults, shadowed per node when set (``__init__`` makes the mutable ones).
    next_functions: tuple = ()
    needs_input_grad: tuple = ()
    num_outputs = 1
    materialize_grads = True
    _saved = None
    _saved_versions: tuple = ()
    _freed = False

    def __init__(self, fn_cls=None) -> None:
        self.fn_cls = fn_cls
        self.output_meta: list = []
        self.non_differentiable: set = set()
        self.retained: dict = {}
        self.pre_hooks: dict = {}

    def name(self) -> str:
        """Name like PyTorch's (``AddBackward0``)."""
        base = self.fn_cls.__name__.lstrip("_") if self.fn_cls else "Node"
        return base + "0" if base.endswith("Backward") else base + "Backward0"

    def __repr__(self) -> str:
        return f"<{self.name()} object>"

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
        if self._saved is None:
            return ()
        for i, (t, version) in enumerate(zip(self._saved, self._saved_versions)):
            if t is not None and t._version != version:
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by "
                    f"an inplace operation: [{t.type()} {list(t.shape)}], which is saved tensor {i} "
                    f"of {self.name()}, is at version {t._version}; expected version {version} "
                    "instead. Hint: clone the tensor before modifying it in place.")
        return self._saved

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs (e.g. indices) that have no gradient."""
        self.non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """When False, ``backward`` receives None instead of zeros for unused outputs."""
        self.materialize_grads = value

    def release(self) -> None:
        """Free saved tensors after a backward without ``retain_graph``.

        A node that saved no tensor (e.g. ``x + 1``) keeps working, like PyTorch's:
        only a backward that needs freed tensors raises.
        """
        if self._saved is not None and any(t is not None for t in self._saved):
            self._saved = None
            self._freed = True

    # engine API --------------------------------------------------------
    def apply(self, grads: list) -> tuple:
        """Run the Function's backward on the output gradients."""
        if self._freed:
            raise RuntimeError(_FREED)
        if self.materialize_grads:
            grads = [g if g is not None else _zeros_like_meta(meta)
                     for g, meta in zip(grads, self.output_meta)]
        result = self.fn_cls.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        return result

    def register_prehook(self, output_nr: int, hook) -> None:
        """Call ``hook(grad)`` on the gradient of output ``output_nr`` before use."""
        self.pre_hooks.setdefault(output_nr, []).append(hook)

    def register_hook(self, hook) -> None:
        """Accepted for API parity; called with (grad_inputs, grad_outputs)."""
        self.pre_hooks.setdefault("post", []).append(hook)


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
        return "AccumulateGrad"

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
        needs = _needs_input_grad(args)
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
        ctx.next_functions = tuple([_edge(a) if n else (None, 0) for a, n in zip(args, needs)])
        ctx.num_outputs = len(outs)
        ctx.output_meta = [(o.shape, o._a.dtype, o._device) if isinstance(o, Tensor) else None
                           for o in outs]
        for i, out in enumerate(outs):
            if not isinstance(out, Tensor) or id(out) in ctx.non_differentiable:
                continue
            if not out._a.dtype.is_floating_point:
                continue
            aliased = out.grad_fn is not None or out._accumulator is not None or out._requires_grad
            if aliased:
                # forward returned an input or an already-recorded tensor: alias it
                out = out._alias()
                outs = outs[:i] + (out,) + outs[i + 1:]
            if cls._user_defined and (aliased or out._base is not None):
                _mark_custom_function_view(out, args)
            out._grad_fn = ctx  # the grad_fn setter, inlined
            out._output_nr = i
        return outs[0] if single else outs


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
    if t.grad_fn is not None:
        return (t.grad_fn, t._output_nr)
    return (t._get_accumulator(), 0)


def once_differentiable(backward):
    """Decorator for ``backward``: it runs without recording, so it has no second derivative."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)
    return wrapper
