"""User-defined ops (``torch.library.custom_op`` + ``triton_op``): ``docs/custom_ops.md``.

A custom op is declared on a Python signature and given one kernel per device::

    @framework.library.custom_op("mylib::scale", mutates_args=())
    def scale(x: Tensor, alpha: float) -> Tensor:
        '''x * alpha'''

    @scale.register_kernel("cpu")          # NumPy arrays in, a NumPy array out
    def _(x, alpha):
        return x * alpha

    @scale.register_kernel("cuda")         # backend Arrays in: launch a Triton kernel
    def _(x, alpha):
        out = framework.library.empty(x.shape, x.dtype)
        scale_kernel[grid](framework.library.pointer(x), ...)
        return out

    @scale.register_fake                   # output metadata; argument checks go here
    def _(x, alpha):
        return framework.library.TensorMeta(x.shape, x.dtype)

    scale.register_autograd(backward, setup_context=setup_context)

Calling ``scale(t, 2.0)`` checks the argument types, picks the kernel of the
tensors' device, runs the fake (it may raise ``ValueError``/``TypeError`` for
bad inputs), runs the kernel, checks the outputs against the fake's shapes and
dtypes, and records the call in the autograd graph. The backward is ordinary
Python over framework tensors, so when it is written in framework ops (or in
custom ops that are themselves differentiable) ``create_graph=True`` gives
exact higher-order gradients.

Kernels for ``cuda`` get the library's ``Array`` views: make Triton kernel
arguments with ``pointer(a)``, outputs with ``empty(shape, dtype)``, and
contiguous operands with ``contiguous(a)``. Decorate user Triton kernels with
``triton_jit`` (``triton.jit`` applied at the first launch, after the runtime
has chosen between the GPU and Triton's interpreter).

``register_autotune`` gives a ``cuda`` kernel a config space: each call gets
``config=`` chosen by ``framework.autotune.choose`` under a cache key built
like matmul's (op name, hash of the kernel module's source and the config
space, dtype, layout, bucketed sizes). Without a tuned entry the heuristic
config (default: the first) is used; ``FRAMEWORK_AUTOTUNE=1`` on a GPU tunes
a missing entry on the spot, timing the configs on the call's own inputs;
``op.tune(*inputs)`` tunes ahead of time. (``framework autotune`` tunes the
library's matmul/conv problems only: it cannot make a custom op's inputs.)

Process-wide state (documented registry): ``framework.ops.registry.CUSTOM_OPS``
holds every op declared in this process.
"""
from __future__ import annotations

import inspect
import re
import types
import typing
from dataclasses import dataclass
from typing import Callable

from .autograd.function import Function
from .ops import registry
from .ops._util import common_device
from .tensor import Tensor

__all__ = ["custom_op", "CustomOp", "TensorMeta", "triton_jit", "pointer", "empty", "contiguous",
           "get_op"]

DEVICE_TYPES = ("cpu", "cuda")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*::[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class TensorMeta:
    """An output's metadata, as returned by a fake (``register_fake``): shape and dtype."""

    shape: tuple
    dtype: object

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))


def custom_op(name: str, fn: Callable | None = None, *, mutates_args=(),
              differentiable: bool = True):
    """Declare the op ``"namespace::name"`` on ``fn``'s signature (usable as a decorator).

    ``mutates_args`` must be empty: custom ops are functional (they return new
    tensors). ``differentiable=False`` declares that outputs never require grad
    (like ``argmax``); otherwise a backward is registered with
    ``register_autograd`` and asking for a gradient without one raises.
    """
    if tuple(mutates_args) != ():
        raise NotImplementedError(
            f"custom_op({name!r}): mutates_args={mutates_args!r} is not supported; custom ops "
            "must be functional (mutates_args=())")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"custom_op(): name must look like 'namespace::op_name', got {name!r}")

    def declare(f: Callable) -> "CustomOp":
        return CustomOp(name, f, differentiable)

    return declare(fn) if fn is not None else declare


def get_op(name: str) -> "CustomOp":
    """The custom op declared as ``name`` in this process (``KeyError`` if none)."""
    return registry.CUSTOM_OPS[name].op


class CustomOp:
    """A declared custom op: call it like a function (see the module docstring)."""

    def __init__(self, name: str, fn: Callable, differentiable: bool = True) -> None:
        previous = registry.CUSTOM_OPS.get(name)
        if previous is not None and _origin(previous.op.__wrapped__) != _origin(fn):
            raise RuntimeError(f"custom_op(): an op named {name!r} is already declared "
                               f"(by {_origin(previous.op.__wrapped__)})")
        self.name = name
        self.signature = inspect.signature(fn)
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.__wrapped__ = fn
        self.differentiable = differentiable
        self._kernels: dict = {}
        self._fake = None
        self._backward = None
        self._setup_context = None
        self._tunable = None
        self._tune_key = None
        self._tune_state = {"run": None}  # the launch being tuned (set only while tuning)
        self._cuda_source = fn
        self._hash = None
        self._function = _function_class(self)
        self._tensor_params = _tensor_params(fn, self.signature)  # name -> may be None
        registry.register_custom(self)

    def __repr__(self) -> str:
        return f"<CustomOp {self.name}{self.signature}>"

    # Registration ------------------------------------------------------------------------------
    def register_kernel(self, device_type: str, fn: Callable | None = None):
        """Register the kernel of ``device_type`` ('cpu': NumPy arrays; 'cuda': Triton launcher)."""
        if device_type not in DEVICE_TYPES:
            raise ValueError(f"{self.name}.register_kernel(): device_type must be one of "
                             f"{DEVICE_TYPES}, got {device_type!r}")

        def register(f: Callable) -> Callable:
            self._kernels[device_type] = f
            if device_type == "cuda":  # what the autotune key hashes: the launcher's module
                self._cuda_source = inspect.getmodule(f) or f
                self._hash = None
            return f

        return register(fn) if fn is not None else register

    def register_fake(self, fn: Callable) -> Callable:
        """Register the output-metadata function: takes the op's arguments (tensors as
        tensors), validates them, returns a ``TensorMeta`` (or a tuple of them) per output."""
        self._fake = fn
        return fn

    def register_autograd(self, backward: Callable, *, setup_context: Callable | None = None) -> None:
        """``backward(ctx, *grads)`` returns one gradient per op argument (None for non-tensors);
        ``setup_context(ctx, inputs, output)`` saves what it needs (``ctx.save_for_backward``)."""
        if not self.differentiable:
            raise RuntimeError(f"{self.name} was declared with differentiable=False")
        self._backward = backward
        self._setup_context = setup_context

    def register_autotune(self, configs, *, key: Callable, heuristic: Callable | None = None) -> None:
        """Give the ``cuda`` kernel a config space (it is then called with ``config=``).

        ``configs``: a list of dicts (or ``problem -> list``); ``key(*args)``: with the
        kernel's arguments (Arrays), returns ``(dtype_name, layout, {size_name: size})``;
        ``heuristic(problem)``: the config used on a cache miss (default: the first); a
        problem is ``{"dtype": ..., "layout": ..., size_name: size, ...}``.
        """
        from .autotune import Tunable
        space = configs if callable(configs) else (lambda problem, _c=list(configs): list(_c))
        pick = heuristic if heuristic is not None else (lambda problem: space(problem)[0])
        state = self._tune_state

        def kernel_hash() -> str:
            if self._hash is None:  # source of the cuda launcher's module (its Triton kernels)
                from .autotune.keys import source_hash
                self._hash = source_hash(self._cuda_source, space({}))
            return self._hash

        def key_fields(problem: dict) -> tuple:
            shape = {k: v for k, v in problem.items() if k not in ("dtype", "layout")}
            return problem["dtype"], problem["layout"], shape

        def runner(problem: dict):
            run = state["run"]
            if run is None:
                raise RuntimeError(f"{self.name}: tuning runs on a call's own inputs "
                                   "(FRAMEWORK_AUTOTUNE=1); there is no input generator")
            return run

        self._hash = None
        self._tunable = Tunable(name=self.name, kernel_hash=kernel_hash, configs=space,
                                heuristic=pick, key_fields=key_fields, runner=runner)
        self._tune_key = key

    def tune(self, *args, **kwargs):
        """Tune the ``cuda`` kernel's config space on these inputs (on a GPU) and save the best
        config in the autotune cache; returns the ``framework.autotune.TuneResult``."""
        from . import autotune
        if self._tunable is None:
            raise RuntimeError(f"{self.name}.tune(): no config space (register_autotune)")
        if not autotune.platform().on_gpu():
            raise RuntimeError(f"{self.name}.tune(): tuning needs a GPU (the interpreter's "
                               "timings say nothing about one)")
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = tuple(bound.arguments.values())
        self._check_types(bound.arguments)
        device = common_device(self.name, *values)
        if device is None or device.type != "cuda":
            raise ValueError(f"{self.name}.tune(): expected cuda tensors")
        arrays = [v._a if isinstance(v, Tensor) else v for v in values]
        kernel = self._kernels["cuda"]
        dtype, layout, shape = self._tune_key(*arrays)
        problem = {"dtype": dtype, "layout": layout, **shape}
        self._tune_state["run"] = lambda config: kernel(*arrays, config=config)
        try:
            result = autotune.tune(self._tunable, problem, autotune.platform().median_ms)
        finally:
            self._tune_state["run"] = None
        current = autotune.cache()
        current.put(result.key, result.best, result.timings, result.heuristic_ms)
        current.save()
        return result

    @property
    def tunable(self):
        """The ``framework.autotune.Tunable`` of the ``cuda`` kernel (None without a space)."""
        return self._tunable

    @property
    def devices(self) -> tuple:
        """Device types with a registered kernel."""
        return tuple(d for d in DEVICE_TYPES if d in self._kernels)

    # Calling ----------------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = tuple(bound.arguments.values())
        self._check_types(bound.arguments)
        return self._function.apply(*values)

    def _check_types(self, arguments: dict) -> None:
        for name, optional in self._tensor_params.items():
            value = arguments[name]
            if not isinstance(value, Tensor) and not (value is None and optional):
                raise TypeError(f"{self.name}(): argument '{name}' must be Tensor, not "
                                f"{type(value).__name__}")

    def _call_kernel(self, values: tuple):
        """Run the fake checks and the device's kernel; returns the output tensor(s)."""
        device = common_device(self.name, *values)
        if device is None:
            raise TypeError(f"{self.name}(): expected at least one Tensor argument")
        kernel = self._kernels.get(device.type)
        if kernel is None:
            raise NotImplementedError(
                f"{self.name}: no kernel for device '{device.type}' (registered: "
                f"{list(self.devices) or 'none'}); add one with @op.register_kernel('{device.type}')")
        metas = self._fake(*values) if self._fake is not None else None
        if device.type == "cpu":
            from ._backends.numpy._arrays import nd
            arrays = [nd(v._a) if isinstance(v, Tensor) else v for v in values]
            result = kernel(*arrays)
        else:
            arrays = [v._a if isinstance(v, Tensor) else v for v in values]
            result = self._launch(kernel, arrays)
        return self._wrap_outputs(result, metas, device)

    def _launch(self, kernel: Callable, arrays: list):
        if self._tunable is None:
            return kernel(*arrays)
        from . import autotune
        dtype, layout, shape = self._tune_key(*arrays)
        problem = {"dtype": dtype, "layout": layout, **shape}
        self._tune_state["run"] = lambda config: kernel(*arrays, config=config)
        try:
            config = autotune.choose(self._tunable, problem)
        finally:
            self._tune_state["run"] = None
        return kernel(*arrays, config=config)

    def _wrap_outputs(self, result, metas, device):
        single = not isinstance(result, tuple)
        results = (result,) if single else result
        if metas is not None:
            metas_t = (metas,) if not isinstance(metas, tuple) else metas
            if len(metas_t) != len(results):
                raise RuntimeError(f"{self.name}: the {device.type} kernel returned {len(results)} "
                                   f"outputs, the fake {len(metas_t)}")
        else:
            metas_t = (None,) * len(results)
        outs = tuple(self._wrap_one(r, m, device, k) for k, (r, m) in enumerate(zip(results, metas_t)))
        return outs[0] if single else outs

    def _wrap_one(self, result, meta, device, k: int) -> Tensor:
        from ._backends.array import Array
        from .ops._util import wrap
        if device.type == "cpu" and not isinstance(result, Array):
            import numpy as np
            from ._backends.numpy._arrays import wrap as wrap_numpy
            want = meta.dtype if meta is not None else None
            if want is not None and np.asarray(result).dtype != want.numpy:
                raise RuntimeError(f"{self.name}: the cpu kernel's output {k} has dtype "
                                   f"{np.asarray(result).dtype}, the fake says {want}")
            result = wrap_numpy(np.ascontiguousarray(result), want)
        if not isinstance(result, Array):
            raise RuntimeError(f"{self.name}: the {device.type} kernel must return "
                               f"{'NumPy arrays' if device.type == 'cpu' else 'Arrays'}, "
                               f"got {type(result).__name__}")
        if meta is not None and (tuple(result.shape) != meta.shape or result.dtype != meta.dtype):
            raise RuntimeError(f"{self.name}: the {device.type} kernel's output {k} is "
                               f"{result.dtype} {tuple(result.shape)}, the fake says "
                               f"{meta.dtype} {meta.shape}")
        return wrap(result, device)


def _function_class(op: CustomOp) -> type:
    """The autograd ``Function`` recording calls of ``op``."""
    words = op.name.split("::")[-1].split("_")
    node_name = "".join(w[:1].upper() + w[1:] for w in words) + "Backward0"

    def forward(ctx, *values):
        outputs = op._call_kernel(values)
        if not op.differentiable:
            outs = outputs if isinstance(outputs, tuple) else (outputs,)
            ctx.mark_non_differentiable(*outs)
        elif op._setup_context is not None:
            op._setup_context(ctx, values, outputs)
        return outputs

    def backward(ctx, *grads):
        if op._backward is None:
            raise RuntimeError(f"{op.name}: no autograd formula registered; add one with "
                               f"{op.__name__}.register_autograd(backward, setup_context=...) "
                               "or declare the op with differentiable=False")
        result = op._backward(ctx, *grads)
        result = result if isinstance(result, tuple) else (result,)
        count = len(op.signature.parameters)
        if len(result) != count:
            raise RuntimeError(f"{op.name}: backward returned {len(result)} gradients, expected "
                               f"{count} (one per argument, None for non-tensors)")
        return result

    return type(node_name, (Function,), {"forward": staticmethod(forward),
                                         "backward": staticmethod(backward),
                                         "node_name": node_name, "__module__": __name__})


def _origin(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"


def _tensor_params(fn: Callable, signature: inspect.Signature) -> dict:
    """``{name: optional}`` for the parameters annotated ``Tensor`` or ``Tensor | None``."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable annotations: match their text instead
        hints = {name: p.annotation for name, p in signature.parameters.items()}
    found = {}
    for name in signature.parameters:
        hint = hints.get(name, inspect.Parameter.empty)
        union = typing.get_origin(hint) in (typing.Union, types.UnionType)
        args = typing.get_args(hint) if union else ()
        if hint is Tensor or hint in ("Tensor", "framework.Tensor"):
            found[name] = False
        elif Tensor in args:
            found[name] = type(None) in args
        elif isinstance(hint, str) and hint.replace(" ", "") in ("Tensor|None", "Optional[Tensor]"):
            found[name] = True
    return found


# Helpers for cuda kernels (Triton imported on first use) -------------------------------------
def pointer(a):
    """The Triton kernel argument for an ``Array`` (``framework._backends.triton.launch.pointer``)."""
    from ._backends.triton.launch import pointer as _pointer
    return _pointer(a)


def empty(shape, dtype):
    """A new contiguous ``cuda`` ``Array`` (uninitialized)."""
    from ._backends.triton.memory import empty as _empty
    return _empty(tuple(shape), dtype)


def contiguous(a):
    """``a`` if contiguous, else a contiguous ``cuda`` copy."""
    from ._backends.triton.memory import contiguous as _contiguous
    return _contiguous(a)


class triton_jit:
    """``triton.jit`` applied at the first launch, once the runtime (GPU or interpreter) is fixed.

    Use it for the Triton kernels of custom ops defined in modules imported before
    the first ``cuda`` tensor: ``kernel[grid](...)`` works as with ``triton.jit``.
    The kernel must not call other lazily-jitted functions (``triton.jit`` helpers
    defined in a module imported after the runtime started are fine).
    """

    def __init__(self, fn: Callable | None = None, **options) -> None:
        self.fn = fn
        self.options = options
        self._jitted = None

    def __call__(self, fn: Callable) -> "triton_jit":  # @triton_jit(**options)
        return triton_jit(fn, **self.options)

    def jitted(self):
        """The ``triton.jit`` kernel (made on first use)."""
        if self._jitted is None:
            from ._backends.triton import runtime
            runtime.kernels()  # fixes the mode and applies the interpreter patches
            import triton
            self._jitted = triton.jit(self.fn, **self.options)
        return self._jitted

    def __getitem__(self, grid):
        return self.jitted()[grid]
