"""``framework.compile``: trace once per input signature, cache, replay; eager where it can't.

The first call with a new signature (each tensor's shape, dtype, device and
``requires_grad``; the non-tensor arguments; the type and train/eval mode of each
module in the tree, the parameters' names, shapes, dtypes, devices and
``requires_grad``; grad mode; autocast and the default dtype) traces the function
(``framework.jit.trace``; that call's result is the eager result), and later calls
with that signature replay the graph. A call repeating a recent one (positional
tensors and plain constants) finds its graph by a short key while a generated
identity check says the module state is unchanged (``_StateGuard``): a few
microseconds instead of walking the module tree and building the signature. A call
that needs gradients (grad mode on and an input or parameter requires grad) is
captured with its backward (``training.py``: the joint graph, replayed by one
autograd node). A signature runs eagerly
instead, with the reason logged once on the ``framework.compile`` logger, when:

- the traced call raised (e.g. a whole training step calling ``backward()``)
  or ``options={"training": False}`` and gradients are needed;
- the trace warned (``TracerWarning``: a Python read of traced data) or could not
  record the call (``TraceError``);
- the function already has ``cache_size_limit`` signatures.

With ``fullgraph=True`` those cases raise instead.

A call without gradients whose trace draws random numbers (dropout of a module in
training mode under ``no_grad``) is traced again at its next call as a joint graph
(``_Redraw``), whose replays take fresh draws per call as training calls do; its
backward graph is never run. Where nothing requires grad there is no joint graph to
make, and such a signature runs eagerly.

Each traced graph is optimized before it is cached (``optimize``): constant
folding, common-subexpression elimination, dead-code elimination
(``passes.py``), the buffer passes (``buffers.py``: zero-padded pieces merged,
repeated contiguous copies dropped, concatenated matmul/sum pieces made one),
then activations and residual adds folded into ``matmul_epilogue``,
power-of-two scales moved past matmuls, elementwise fusion (dropout included),
softmax prologues and dropouts, softmax-gradient prologues, transposed copies
and sums over leading dims (``fusion.py``: one generated Triton kernel per
group on ``cuda``, one NumPy plan on ``cpu``).
``options={"passes": False, "fusion": False}`` turns them off.
``mode="reduce-overhead"`` (or ``"max-autotune"``, or ``options={"triton.cudagraphs":
True}``) replays each static cuda plan as one CUDA graph on a GPU (``cudagraphs.py``);
``backend`` is accepted for compatibility and has no effect.

Dynamic shapes (``dynamic``, as ``torch.compile``'s): a call without gradients whose
signature differs from an earlier one only in sizes is replayed by a graph with the
changed dims symbolic (``framework.export``'s probing; dims of one size share a
symbol; 0 and 1 stay static), made once and remade with more dims when another one
changes (``_call_dynamic``). ``dynamic=True`` makes it on the first call (every dim,
else the leading ones), ``dynamic=False`` never. A program that depends on such a
size (control flow, a size baked in) keeps static graphs. Calls that need gradients
(joint graphs) stay static per size.
"""
from __future__ import annotations

import builtins
import functools
import gc
import inspect
import logging
import types
import warnings
import weakref
from operator import is_ as _is

from .. import amp as _amp
from ..autograd.grad_mode import _state as _grad_state
from ..dtypes import _default_dtype
from ..nn import Module
from ..tensor import Tensor
from .capture import (RandomTracerWarning, TraceError, TracerWarning, capture_kind,
                      external_tensors, flatten, trace_graph, tracing)
from . import config
from .control import marked_dims
from .runtime import GraphModule
from .training import JointEntry, trace_joint

logger = logging.getLogger("framework.compile")

STALE_RETRACES = 2  # retraces of one signature for changed outside tensors before eager
_LIVE: "weakref.WeakSet" = weakref.WeakSet()  # every CompiledFunction alive (documented cache)


class CompileError(RuntimeError):
    """``fullgraph=True`` and the call cannot run as one captured graph."""


class _Eager:
    """A cache entry: this signature runs eagerly, for ``reason``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Redraw:
    """A cache entry: this no-grad signature's trace drew random numbers; the next call
    traces it as a joint graph, whose replays redraw (``JointEntry.redraw``)."""


class CompiledFunction:
    """A callable that traces ``fn`` per input signature and replays the cached graphs."""

    def __init__(self, fn, module=None, *, fullgraph: bool = False,
                 cache_size_limit: "int | None" = None, options: "dict | None" = None,
                 dynamic: "bool | None" = None) -> None:
        self.fn = fn
        self.options = dict(options or {})
        self.module = module
        self.fullgraph = fullgraph
        self.dynamic = dynamic  # torch.compile's: None automatic, True from the start, False never
        # automatic dynamic shapes (``_call_dynamic``), by shape-free signature: the sizes of
        # its first static trace, and its symbolic graph (``_Dynamic``) or False (none can be)
        self._sizes: dict = {}
        self._dynamic: dict = {}
        self._cache_size_limit = cache_size_limit  # None: ``config.cache_size_limit``
        self.cache: dict = _Cache()  # signature -> GraphModule | _Eager
        self.stats = {"traces": 0, "replays": 0, "eager": 0}
        self._reached = None  # (modules, tensors) the function reaches; found on first call
        self._stale: dict = {}  # signature -> retraces for changed outside tensors
        self._rebinds = 0  # times a name the function reads was found rebound
        self._always_eager = None  # the reason, once rebinding made every call eager
        # the fast path: ``_StateGuard`` of the state the last signatures were computed from,
        # and call key (``_call_key``) -> (signature, entry) while it holds
        self._guard = None
        self._fast: dict = {}
        self._fast_version = -1  # ``cache.version`` the fast table was filled at
        self._rebuilt = 0  # guards built since the fast path last hit
        self._skip = 0  # full-signature calls left before a guard is built again
        self._backoff = _GUARD_BACKOFF  # the next skip (doubles while no guard is used)
        functools.update_wrapper(self, fn)
        _LIVE.add(self)

    @property
    def cache_size_limit(self) -> int:
        """Signatures traced before new ones run eagerly: this function's own limit, else
        ``framework.compiler.config.cache_size_limit`` (read at each call)."""
        if self._cache_size_limit is not None:
            return self._cache_size_limit
        return config.cache_size_limit

    @cache_size_limit.setter
    def cache_size_limit(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"cache_size_limit must be a non-negative int, got {value!r}")
        self._cache_size_limit = value

    def reset(self) -> None:
        """Forget every cached graph and what was learnt about the function's state; the
        next call traces again (``framework.compiler.reset`` calls this on every one)."""
        self.cache.clear()
        self._fast.clear()
        self._guard = None
        self._reached = None
        self._stale.clear()
        self._rebinds = 0
        self._always_eager = None
        self._sizes.clear()
        self._dynamic.clear()

    def __call__(self, *args, **kwargs):
        if tracing():  # inside jit.trace, export or an outer compile: inlined there
            return self.fn(*args, **kwargs)
        if not kwargs and self._fast:  # a call like a recent one, in the same state
            found = self._fast.get(_call_key(args))
            if found is not None and self._fast_version == self.cache.version and \
                    self._guard.holds():
                entry = found[1]
                if not entry.guards or _guards_hold(entry.guards):
                    self.stats["replays"] += 1
                    self._rebuilt, self._backoff = 0, _GUARD_BACKOFF
                    if isinstance(entry, JointEntry):
                        return entry(list(args))
                    return entry._replay(args)
        return self._call(args, kwargs)

    def _call(self, args: tuple, kwargs: dict):
        """A call through the full signature (the fast path missed)."""
        from ..autograd.grad_mode import is_grad_enabled
        tensors, spec = flatten((args, kwargs))
        modules: list = []
        named, modes = self._state(modules)
        key = _signature(tensors, spec, named, modes, is_grad_enabled())
        entry = self.cache.get(key)
        if entry is None and self._always_eager is not None:
            return self._run_eager(key, self._always_eager, args, kwargs)
        if entry is not None and getattr(entry, "guards", None) and not _guards_hold(entry.guards):
            entry = self._retire(key)
            if entry is not None:
                return self._run_eager(key, entry.reason, args, kwargs)
        if entry is None:
            reason = self._eager_reason(tensors, named)
            if reason is None and not self._needs_grad(tensors, named):
                result = self._call_dynamic(key, tensors, named, args, kwargs)
                if result is not _MISS:
                    return result
            compiled = self._compiled_count()
            if reason is None and compiled >= self.cache_size_limit:
                reason = (f"cache_size_limit ({self.cache_size_limit}) reached: "
                          f"{compiled} signatures already compiled")
            if reason is not None:
                return self._run_eager(key, reason, args, kwargs)
            return self._trace(key, named, args, kwargs)
        if isinstance(entry, _Eager):
            self.stats["eager"] += 1
            return self.fn(*args, **kwargs)
        if isinstance(entry, _Redraw):
            del self.cache[key]
            return self._trace(key, named, args, kwargs, joint=True)
        self.stats["replays"] += 1
        entry.params = named
        if isinstance(entry, JointEntry):
            self._remember(args, kwargs, key, entry, modules, named)
            return entry(tensors)
        if not entry.graph.symbols:  # the cache key holds every guard of a static graph
            self._remember(args, kwargs, key, entry, modules, named)
            return entry._replay(tensors)
        return entry(*args, **kwargs)

    def _remember(self, args: tuple, kwargs: dict, key, entry, modules: list,
                  named: dict) -> None:
        """Let later calls with the same call key reach ``entry`` through the fast path
        while the state this signature was computed from is unchanged (``_StateGuard``)."""
        if kwargs:
            return
        call_key = _call_key(args)
        if call_key is None:
            return
        guard = self._guard
        if self._fast_version != self.cache.version or guard is None or not guard.holds():
            if self._skip:  # the state kept changing: no guard for a while
                self._skip -= 1
                return
            if self._rebuilt >= _GUARD_REBUILDS:  # never used since: back off
                self._rebuilt, self._skip = 0, self._backoff
                self._backoff = min(2 * self._backoff, _GUARD_BACKOFF_MAX)
                self._fast, self._guard = {}, None
                return
            self._rebuilt += 1
            self._fast = {}
            self._guard = guard = _StateGuard(modules, named, self._reached)
            self._fast_version = self.cache.version
        if len(self._fast) >= self.cache_size_limit:
            self._fast.clear()
        self._fast[call_key] = (key, entry)

    def _state(self, walked: "list | None" = None) -> tuple:
        """``(named tensors, (type, training flag) per module)``: the compiled module's
        parameters and buffers,
        then those of the modules and the tensors the function reaches (its closure, the
        globals its code names, a bound method's ``self``), which the graphs take as inputs
        by reference, as ``torch.compile`` lifts them. ``walked`` gets every module read."""
        if self.module is not None:
            return _module_state(self.module, walked)
        if (self._reached is not None and self._always_eager is None
                and not bindings_hold(self._reached[2])):
            self._rebound()
        if self._reached is None:
            self._reached = referenced_state(self.fn)
        modules, tensors, _ = self._reached
        named, modes, seen = {}, (), set()
        for prefix, module in modules.items():
            sub_named, sub_modes = _module_state(module, walked)
            modes += sub_modes
            for name, t in sub_named.items():
                if id(t) not in seen:
                    seen.add(id(t))
                    named[f"{prefix}.{name}"] = t
        for name, t in tensors.items():
            if id(t) not in seen:
                seen.add(id(t))
                named[name] = t
        return named, modes

    def _rebound(self) -> None:
        """A name the function reads was rebound (a global or closure variable, an item or
        attribute on the way to a module or tensor): find the state again and drop the
        graphs, which may hold the old objects or Python values; after ``cache_size_limit``
        rebinds, run eagerly (the function reads state that changes at every call)."""
        self._reached = None
        self.cache.clear()
        self._rebinds += 1
        if self._rebinds > self.cache_size_limit:
            self._always_eager = ("a global or closure variable the function reads keeps being "
                                  "rebound between calls")

    def _retire(self, key) -> "_Eager | None":
        """A cached graph whose outside constants changed: None to retrace it, or (after
        ``STALE_RETRACES`` retraces of this signature) an ``_Eager`` entry."""
        del self.cache[key]
        self._stale[key] = self._stale.get(key, 0) + 1
        if self._stale[key] <= STALE_RETRACES:
            return None
        return _Eager("a tensor the function reads from outside its arguments (not a "
                      "parameter or buffer of a module it reaches) keeps changing between "
                      "calls; pass it as an argument")

    def _eager_reason(self, tensors, named) -> "str | None":
        if self._needs_grad(tensors, named) and not self.options.get("training", True):
            return "gradients are needed and options={'training': False}"
        return None

    @staticmethod
    def _needs_grad(tensors, named) -> bool:
        from ..autograd.grad_mode import is_grad_enabled
        return is_grad_enabled() and (any(t.requires_grad for t in tensors)
                                      or any(p is not None and p.requires_grad
                                             for p in named.values()))

    def _run_eager(self, key, reason: str, args, kwargs):
        if self.fullgraph:
            raise CompileError(f"framework.compile(fullgraph=True): {self._name()}: {reason}")
        logger.warning("framework.compile: running %s eagerly for this input signature: %s",
                       self._name(), reason)
        self.cache[key] = _Eager(reason)
        self.stats["eager"] += 1
        if args is None:  # the caller has the call's result already
            return None
        return self.fn(*args, **kwargs)

    def _eager_after_failed_trace(self, key, failure: Exception, args, kwargs):
        """The call run eagerly after its trace raised ``failure``: a real error of the call
        (a shape mismatch) raises from it as in eager, with nothing logged or cached; a call
        that runs (one that differentiates inside) runs eagerly from now on, with the reason
        logged (``fullgraph=True``: ``CompileError`` before any eager run)."""
        reason = (f"the traced call raised {type(failure).__name__}: {failure} (a function that "
                  "calls backward() or optimizer.step() inside is not captured)")
        if self.fullgraph:
            raise CompileError(f"framework.compile(fullgraph=True): {self._name()}: "
                               f"{reason}") from failure
        result = self.fn(*args, **kwargs)
        self._run_eager(key, reason, None, None)
        return result

    @capture_kind("compile")
    def _trace(self, key, named, args, kwargs, joint: bool = False):
        from ..autograd.grad_mode import is_grad_enabled
        joint = joint or self._needs_grad(flatten((args, kwargs))[0], named)
        externals = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TracerWarning)
            try:
                if joint:
                    entry = trace_joint(self.fn, args, kwargs, named)
                    externals = entry.externals
                else:
                    graph, spec, result = trace_graph(self.fn, args, kwargs, named, externals)
            except TraceError as exc:
                reason = f"the call cannot be captured: {exc}"
                if hasattr(exc, "result"):  # the traced call ran to its end: not again
                    self._run_eager(key, reason, None, None)
                    return exc.result
                return self._run_eager(key, reason, args, kwargs)
            except Exception as exc:  # noqa: BLE001 - e.g. backward() inside a whole step
                # The trace runs the call under no_grad (or without the closure's parameters as
                # inputs): a call that differentiates inside fails there. Eager decides below.
                failure = exc
            else:
                failure = None
        if failure is not None:
            return self._eager_after_failed_trace(key, failure, args, kwargs)
        self.stats["traces"] += 1
        tracer_warnings = [w for w in caught if issubclass(w.category, TracerWarning)]
        for w in caught:
            if not issubclass(w.category, TracerWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if tracer_warnings and not joint and self._redraws(tracer_warnings, args, kwargs, named):
            self.cache[key] = _Redraw()
            return result  # the traced call ran the real function: its result is right
        if tracer_warnings:
            reason = f"the trace is not reusable: {tracer_warnings[0].message}"
            if self.fullgraph:
                raise CompileError(f"framework.compile(fullgraph=True): {self._name()}: {reason}")
            logger.warning("framework.compile: running %s eagerly for this input signature: %s",
                           self._name(), reason)
            self.cache[key] = _Eager(reason)
            if joint:  # the joint trace ran the backward too: run the call again, eagerly
                return self.fn(*args, **kwargs)
            return result  # the traced call ran the real function: its result is right
        outside = external_tensors(externals)
        if is_grad_enabled() and any(t.requires_grad for t, _, _ in outside):
            reason = ("the call reads a tensor that requires grad but is neither an argument "
                      "nor reachable as a parameter of a module (the compiled module, or one in "
                      "the function's closure or globals); pass it as an argument")
            self.cache.pop(key, None)
            return self._run_eager(key, reason, args, kwargs)
        guards = _guards_of(outside)
        if joint:
            entry.externals = None
            entry.optimize(passes=self.options.get("passes", True),
                           fusion=self.options.get("fusion", True),
                           cudagraphs=self.options.get("triton.cudagraphs", False))
            entry.fn = self.fn
            entry.guards = guards
            self.cache[key] = entry
            return entry(flatten((args, kwargs))[0], first=True)
        done = optimize(graph, passes=self.options.get("passes", True),
                        fusion=self.options.get("fusion", True))
        module = self.cache[key] = GraphModule(graph, named, spec)
        module.cudagraphs = self.options.get("triton.cudagraphs", False)
        module.optimize_stats = done
        module.guards = guards
        return result

    def _call_dynamic(self, key, tensors: list, named: dict, args, kwargs):
        """A call without gradients whose signature is new (``_MISS`` to trace it statically):
        replayed by this shape-free signature's symbolic graph, made (``framework.export``'s
        probing) on the second set of sizes seen, with the dims that changed symbolic
        (``dynamic=True``: on the first call, every dim, else the leading ones), and remade
        with more dims when another one changes. Symbolic dims are at least 2 (torch
        specializes 0 and 1): a size-1 batch gets its own static trace."""
        from .runtime import GuardError, bind_inputs
        if self.dynamic is False:
            return _MISS
        free = _shape_free(key)
        known = self._dynamic.get(free)
        if known is False:
            return _MISS
        shapes = [tuple(t.shape) for t in tensors]
        if known is not None:
            if _guards_hold(known.program.guards):
                try:
                    env = bind_inputs(known.program.graph, tensors)
                except GuardError:
                    pass
                else:
                    self.stats["replays"] += 1
                    known.program.params = named
                    return known.program._replay(tensors, env)
            if known.remade >= _DYNAMIC_REMAKES:
                self._dynamic[free] = False
                return _MISS
            candidates = [known.marked | _differing_dims(known.shapes, shapes)]
        elif self._compiled_count() >= self.cache_size_limit:
            return _MISS  # a new graph would pass the limit: the static path says so
        elif free in self._sizes:
            candidates = [_differing_dims(self._sizes[free], shapes)]
        elif marked_dims(tensors, "_dynamo_dynamic_indices"):  # mark_dynamic
            candidates = [marked_dims(tensors, "_dynamo_dynamic_indices")]
        elif self.dynamic:
            candidates = [_all_dims(shapes), _leading_dims(shapes)]
        else:
            self._sizes[free] = shapes
            return _MISS
        static = marked_dims(tensors, "_dynamo_static_indices")  # mark_static
        candidates = [dims - static for dims in candidates]
        if any(shapes[leaf][dim] < 2 for leaf, dim in candidates[0]):
            return _MISS  # 0 and 1 are special: this size is traced statically
        for marked in candidates:
            program = self._export_dynamic(args, kwargs, named, tensors, marked)
            if program is not None:
                self._dynamic[free] = _Dynamic(program, marked, shapes,
                                               0 if known is None else known.remade + 1)
                program.params = named
                return program._replay(tensors, bind_inputs(program.graph, tensors))
        self._dynamic[free] = False
        return _MISS

    def _compiled_count(self) -> int:
        """Graphs made so far (static and symbolic), which ``cache_size_limit`` bounds."""
        static = sum(not isinstance(e, _Eager) for e in self.cache.values())
        return static + sum(isinstance(d, _Dynamic) for d in self._dynamic.values())

    @capture_kind("compile")
    def _export_dynamic(self, args, kwargs, named: dict, tensors: list,
                        marked: frozenset) -> "GraphModule | None":
        """The call exported with the (leaf, dim) ``marked`` symbolic (dims of one size
        share a symbol, as torch's duck sizing), optimized; None where that fails (the
        program depends on such a size, warns, or reads an outside tensor that requires
        grad)."""
        from .export import Dim, _export_marked
        if not marked:
            return None
        marks = [(leaf, dim, Dim(f"d{tensors[leaf].shape[dim]}", min=2))
                 for leaf, dim in sorted(marked)]
        externals: list = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TracerWarning)
            try:
                program = _export_marked(self.fn, args, kwargs, named, tensors, marks,
                                         externals)
            except Exception:  # noqa: BLE001 -- any failure: static traces instead
                return None
        if any(issubclass(w.category, TracerWarning) for w in caught):
            return None
        outside = external_tensors(externals)
        if any(t.requires_grad for t, _, _ in outside):
            return None
        self.stats["traces"] += 1
        module = GraphModule(program.graph, named, program._spec)
        module.optimize_stats = optimize(module.graph, passes=self.options.get("passes", True),
                                         fusion=self.options.get("fusion", True))
        module.guards = _guards_of(outside)
        return module

    @staticmethod
    def _redraws(tracer_warnings: list, args, kwargs, named) -> bool:
        """Whether a no-grad trace that warned can be traced again as a joint graph that
        redraws: every warning is of random draws, and something requires grad (a joint
        graph differentiates with respect to it)."""
        if not all(issubclass(w.category, RandomTracerWarning) for w in tracer_warnings):
            return False
        tensors = flatten((args, kwargs))[0]
        return any(t.requires_grad for t in tensors) or any(
            p is not None and p.requires_grad for p in named.values())

    def _name(self) -> str:
        target = self.module if self.module is not None else self.fn
        return getattr(target, "__qualname__", type(target).__name__)


_MISS = object()  # ``_call_dynamic``: no symbolic graph for this call
_DYNAMIC_REMAKES = 2  # symbolic graphs remade (more dims) per signature before static traces


class _Dynamic:
    """A shape-free signature's symbolic graph: ``program``, its symbolic (leaf, dim)s
    ``marked``, the sizes it was exported at, and how many times it was remade."""

    __slots__ = ("program", "marked", "shapes", "remade")

    def __init__(self, program: GraphModule, marked: frozenset, shapes: list,
                 remade: int) -> None:
        self.program = program
        self.marked = marked
        self.shapes = shapes
        self.remade = remade


def _shape_free(key: tuple) -> tuple:
    """A signature (``_signature``) with each tensor's shape replaced by its rank."""
    tensor_key = tuple((len(entry[0]),) + entry[1:] for entry in key[0])
    return (tensor_key,) + key[1:]


def _differing_dims(before: list, after: list) -> frozenset:
    """The (leaf, dim)s whose size differs between two lists of shapes of equal ranks."""
    return frozenset((leaf, dim) for leaf, (old, new) in enumerate(zip(before, after))
                     for dim, (a, b) in enumerate(zip(old, new)) if a != b)


def _all_dims(shapes: list) -> frozenset:
    """Every (leaf, dim) of size at least 2 (``dynamic=True``'s first try)."""
    return frozenset((leaf, dim) for leaf, shape in enumerate(shapes)
                     for dim, size in enumerate(shape) if size >= 2)


def _leading_dims(shapes: list) -> frozenset:
    """Dim 0 of every tensor of size at least 2 there (``dynamic=True``'s second try)."""
    return frozenset((leaf, 0) for leaf, shape in enumerate(shapes)
                     if shape and shape[0] >= 2)


class _Cache(dict):
    """``CompiledFunction.cache``: a dict whose ``version`` counts its changes (the fast
    path's table is valid only at the version it was filled at)."""

    __slots__ = ("version",)

    def __init__(self) -> None:
        super().__init__()
        self.version = 0

    def __setitem__(self, key, value) -> None:
        self.version += 1
        super().__setitem__(key, value)

    def __delitem__(self, key) -> None:
        self.version += 1
        super().__delitem__(key)

    def pop(self, *args):
        self.version += 1
        return super().pop(*args)

    def popitem(self):
        self.version += 1
        return super().popitem()

    def setdefault(self, key, default=None):
        self.version += 1
        return super().setdefault(key, default)

    def update(self, *args, **kwargs) -> None:
        self.version += 1
        super().update(*args, **kwargs)

    def clear(self) -> None:
        self.version += 1
        super().clear()


class _StateGuard:
    """The state a signature's module part (``_state``: parameter and buffer names, shapes,
    dtypes, devices, ``requires_grad``; the modules' training flags and plain attributes)
    was computed from, checked by identity: ``holds()`` is True only while every walked
    module has the same training flag and plain attribute objects, the same dicts of
    children, parameters and buffers holding the same
    objects under the same keys in the same order, every named tensor the same array (so
    shape and dtype), device and ``requires_grad``, and (a compiled function) every name
    read on the way to them still binds the same object. A False sends the call through
    the full signature.

    ``holds`` is generated straight-line Python (one ``is`` per object, no loops, the
    objects bound as its arguments' defaults): 2-3 us for the bench's 3-layer MLP, where
    walking the module tree and building the signature take about 19."""

    def __init__(self, modules: list, named: dict, reached) -> None:
        env: dict = {}
        checks: list = []

        def bind(obj) -> str:
            name = f"_{len(env)}"
            env[name] = obj
            return name

        for m in {id(m): m for m in modules}.values():
            mod = bind(m)
            checks.append(f"{mod}.training is {bind(m.training)}")
            for k, v in _plain_attributes(m):  # the same object: a new value fails
                read = f"{mod}.{k}" if k.isidentifier() else f"{mod}.__dict__.get({bind(k)})"
                checks.append(f"{read} is {bind(v)}")
            for attr in ("_modules", "_parameters", "_buffers"):
                d = getattr(m, attr)
                name = bind(d)
                checks.append(f"{mod}.{attr} is {name}")
                if not d:
                    checks.append(f"not {name}")
                    continue
                checks.append(f"len({name}) == {len(d)}")
                checks.append(f"tuple({name}) == {bind(tuple(d))}")
                checks += [f"{name}[{bind(k)}] is {bind(v)}" for k, v in d.items()]
        for t in named.values():
            name = bind(t)
            checks.append(f"{name}._a is {bind(t._a)}")
            checks.append(f"{name}._device is {bind(t._device)}")
            if t._base is None:  # requires_grad: _requires_grad or grad_fn is not None
                checks.append(f"{name}._base is None")
                checks.append(f"{name}._requires_grad is {bind(t._requires_grad)}")
                checks.append(f"{name}._grad_fn is {bind(t._grad_fn)}")
            else:
                checks.append(f"{name}.requires_grad is {bind(t.requires_grad)}")
        if reached is not None:
            env["bindings_hold"] = bindings_hold
            checks.append(f"bindings_hold({bind(reached[2])})")
        names = ", ".join(f"{k}={k}" for k in env)  # locals, not globals: faster reads
        source = (f"def holds({names}):\n    return ("
                  + "\n            and ".join(checks or ["True"]) + ")\n")
        exec(builtins.compile(source, "<framework.compile state guard>", "exec"), env)  # noqa: S102
        self.holds = env["holds"]
        self.source = source


_PLAIN = frozenset((int, float, bool, str, type(None)))
# A state that changes at every call (a parameter replaced per step) would build a guard
# (a generated function, ~0.5 ms) per call: after this many guards built without a fast
# hit between them, the next _GUARD_BACKOFF full-signature calls build none (doubling at
# each back-off up to _GUARD_BACKOFF_MAX; a fast hit starts over).
_GUARD_REBUILDS = 3
_GUARD_BACKOFF = 64
_GUARD_BACKOFF_MAX = 4096


def _call_key(args: tuple) -> "tuple | None":
    """The fast path's key of a call with positional arguments only: grad mode, the ambient
    state (autocast, default dtype), and per argument a tensor's shape, dtype, device and
    ``requires_grad`` or a plain constant's type and value (None for any other argument:
    the full signature decides)."""
    active = _amp._active
    key = [_grad_state.enabled is True, _default_dtype[0],
           tuple(sorted((d, t.name) for d, t in active.items())) if active else ()]
    for a in args:
        if isinstance(a, Tensor):
            array, device = a._a, a._device
            key.append((array.shape, array.dtype, device.type, device.index, a.requires_grad))
        elif type(a) in _PLAIN:
            key.append((type(a), a))
        else:
            return None
    return tuple(key)


def _guards_of(outside: list) -> list:
    """The guards (``_guards_hold``) of a graph's outside tensors: (tensor, array, storage
    version) of each, as ``external_tensors`` gives them."""
    return [(weakref.ref(t), array, version, _attribute_owner(t)) for t, array, version in outside]


def _guards_hold(guards: list) -> bool:
    """True while every outside tensor a graph holds as a constant still holds the same
    array, unwritten since the trace (its storage's version counter is unchanged), and
    the module attribute it was read from (``self.scale``, not a parameter or buffer) still
    holds that tensor (``model.scale = new_tensor`` makes the graph stale)."""
    for ref, array, version, owner in guards:
        tensor = ref()
        if array.storage.version != version or (tensor is not None and tensor._a is not array):
            return False
        if owner is not None:
            module = owner[0]()
            if module is not None and module.__dict__.get(owner[1]) is not tensor:
                return False
    return True


def _attribute_owner(tensor) -> "tuple | None":
    """``(weakref to module, attribute name)`` of a module whose plain attribute holds
    ``tensor`` (found once per trace, for tensors the graph holds as constants), else None."""
    for holder in gc.get_referrers(tensor):
        if type(holder) is not dict:
            continue
        for module in gc.get_referrers(holder):
            if isinstance(module, Module) and getattr(module, "__dict__", None) is holder:
                name = next((k for k, v in holder.items() if v is tensor), None)
                if name is not None:
                    return weakref.ref(module), name
    return None


def referenced_state(fn) -> tuple:
    """``(modules, tensors, bindings)`` that ``fn`` reaches by name: a bound method's
    ``self``, its closure cells, the globals its code (and nested code) names, through
    lists, tuples, dicts and plain objects' attributes and, a few levels deep, the
    functions it names (the library's own excluded). Keys are the names they are reached
    by (``model``, ``self``, ``layers.0``). ``bindings`` lists ``(container, key, value)``
    for each name, item or attribute read on the way (a cell's key is None), for
    ``bindings_hold``: a rebound name means the graphs may read stale objects or values."""
    from ..tensor import Tensor
    modules, tensors, bindings, seen = {}, {}, [], set()

    def add(name: str, obj, depth: int, container=None, key=None) -> None:
        if container is not None and isinstance(obj, _BOUND_TYPES):
            bindings.append((container, key, obj))
        if id(obj) in seen:
            return
        if isinstance(obj, Module):
            seen.add(id(obj))
            modules[_unique(name, modules)] = obj
        elif isinstance(obj, Tensor):
            seen.add(id(obj))
            tensors[_unique(name, tensors)] = obj
        elif isinstance(obj, (list, tuple)) and len(obj) <= _SCAN_ITEMS:
            seen.add(id(obj))
            for i, item in enumerate(obj):
                add(f"{name}.{i}", item, depth, obj if isinstance(obj, list) else None, i)
        elif isinstance(obj, dict) and len(obj) <= _SCAN_ITEMS:
            seen.add(id(obj))
            for k, item in obj.items():
                if isinstance(k, str):
                    add(f"{name}.{k}", item, depth, obj, k)
        elif depth > 0 and _is_user_object(obj):
            seen.add(id(obj))
            attributes = vars(obj)
            for attr, item in list(attributes.items()):
                add(f"{name}.{attr}", item, depth - 1, attributes, attr)
        elif depth > 0:
            visit(name, obj, depth - 1)

    def visit(name: str, obj, depth: int) -> None:
        if isinstance(obj, functools.partial):
            for i, a in enumerate(obj.args):
                add(f"{name}.arg{i}", a, depth)
            for k, a in obj.keywords.items():
                add(f"{name}.{k}", a, depth)
            obj = obj.func
        if inspect.ismethod(obj):
            add("self" if name == "fn" else f"{name}.self", obj.__self__, depth)
            obj = obj.__func__
        if not isinstance(obj, types.FunctionType) or id(obj) in seen or _is_library(obj):
            return
        seen.add(id(obj))
        for var, cell in zip(obj.__code__.co_freevars, obj.__closure__ or ()):
            try:
                value = cell.cell_contents
            except ValueError:  # an empty cell
                continue
            add(var, value, depth, cell, None)
        names = obj.__globals__
        for var in _global_names(obj.__code__):
            if var in names:
                add(var, names[var], depth, names, var)

    visit("fn", fn, _SCAN_DEPTH)
    return modules, tensors, bindings


def bindings_hold(bindings: list) -> bool:
    """True while every name, item and attribute ``referenced_state`` read still holds the
    same object (a cell: its contents; a dict: the key; a list: the index)."""
    for container, key, value in bindings:
        try:
            current = container.cell_contents if key is None else container[key]
        except (ValueError, KeyError, IndexError):
            return False
        if current is not value:
            return False
    return True


_SCAN_DEPTH = 3  # levels of named functions ``referenced_state`` follows
_SCAN_ITEMS = 64  # longer containers are not searched
# values whose rebinding ``bindings_hold`` notices: what a graph reads or freezes
_BOUND_TYPES = (Tensor, Module, list, tuple, dict, int, float, bool, str, complex, type(None))


def _unique(name: str, taken: dict) -> str:
    candidate, n = name, 1
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    return candidate


def _is_library(fn) -> bool:
    module = getattr(fn, "__module__", None) or ""
    return module == "framework" or module.startswith("framework.")


def _is_user_object(obj) -> bool:
    """An instance of a user-defined class with attributes (an agent, a trainer): its
    ``__dict__`` may hold modules and tensors."""
    cls = type(obj)
    return (hasattr(obj, "__dict__") and not isinstance(obj, (type, types.ModuleType,
                                                              types.FunctionType))
            and cls.__module__ not in ("builtins", "functools")
            and not _is_library(cls) and not callable(getattr(obj, "__func__", None)))


def _global_names(code) -> list:
    """The names ``code`` and the code objects nested in it (lambdas, comprehensions) load."""
    names = list(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names += _global_names(const)
    return names


def optimize(graph, *, passes: bool = True, fusion: bool = True) -> dict:
    """Rewrite ``graph`` in place for replay: the passes, then elementwise fusion.

    Returns what each step did: nodes removed per pass, fused groups made."""
    from . import buffers
    from . import fusion as fusion_module
    from . import norms, splitk
    from . import passes as passes_module
    done = passes_module.run_passes(graph) if passes else {}
    if passes:
        done["zero_buffers"] = buffers.merge_zero_buffers(graph)
        done["copies"] = buffers.dedupe_copies(graph)
        done["concatenations"] = buffers.merge_concatenated_pieces(graph)
        done["split_matmuls"] = splitk.merge_split_matmuls(graph)
        if done["copies"] or done["concatenations"]:  # readers now read one buffer: merge
            done["cse"] += passes_module.cse(graph)
            done["dce"] += passes_module.dce(graph)
    if fusion:
        done["matmul_epilogues"] = fusion_module.fuse_matmul_epilogues(graph)
        done["scales_moved"] = fusion_module.move_scales_past_matmuls(graph)
        done["fused_groups"] = fusion_module.fuse_elementwise(graph)
        done["softmax_prologues"] = fusion_module.fuse_softmax_prologues(graph)
        done["softmax_dropouts"] = fusion_module.fuse_softmax_dropout(graph)
        done["softmax_backward_prologues"] = fusion_module.fuse_softmax_backward_prologues(graph)
        done["permuted_copies"] = fusion_module.fuse_permuted_copies(graph)
        done["row_kernels"] = norms.fuse_norms(graph)
        done["reduction_epilogues"] = fusion_module.fuse_reduction_epilogues(graph)
        done["sibling_sums"] = fusion_module.fuse_sibling_sums(graph)
    return done


def _module_state(module, walked: "list | None" = None) -> tuple:
    """``(named_tensors(module), (type, training flag) of each module)`` in one walk of the tree
    (the same names and order as ``named_parameters`` then ``named_buffers``); ``walked``
    gets the modules of the tree."""
    modules, seen = [], set()

    def visit(prefix: str, m) -> None:
        if id(m) in seen:
            return
        seen.add(id(m))
        modules.append((prefix, m))
        for name, child in m._modules.items():
            if child is not None:
                visit(prefix + ("." if prefix else "") + name, child)

    visit("", module)
    if walked is not None:
        walked += [m for _, m in modules]
    named, memo = {}, set()
    for prefix, m in modules:
        for name, p in m._parameters.items():
            if p is not None and id(p) not in memo:
                memo.add(id(p))
                named[prefix + ("." if prefix else "") + name] = p
    memo = set()
    for prefix, m in modules:
        for name, b in m._buffers.items():
            if b is not None and id(b) not in memo:
                memo.add(id(b))
                named.setdefault(prefix + ("." if prefix else "") + name, b)
    return named, tuple((type(m), m.training, _plain_attributes(m)) for _, m in modules)


def _plain_attributes(module) -> tuple:
    """``(name, value)`` of a module's plain Python attributes (``Dropout.p``, a user's
    ``self.temperature``): a trace freezes them, so they are part of the signature (as
    torch.compile guards them); its ``training`` flag is apart."""
    return tuple([(k, v) for k, v in module.__dict__.items()
                  if type(v) in _PLAIN and k != "training"])


def _signature(tensors, spec, named, modes: tuple, grad_enabled: bool) -> tuple:
    from .. import amp
    from ..dtypes import get_default_dtype
    tensor_key = tuple((tuple(t.shape), t.dtype.name, str(t.device), t.requires_grad)
                       for t in tensors)
    param_key = tuple((name, tuple(t.shape), t.dtype.name, str(t.device), t.requires_grad)
                      for name, t in named.items())
    # the ambient state a trace freezes: autocast per device type, the default dtype
    ambient = (tuple(sorted((device, d.name) for device, d in amp._active.items())),
               get_default_dtype().name)
    return tensor_key, _hashable(spec), param_key, modes, grad_enabled, ambient


def _hashable(obj):
    if isinstance(obj, (tuple, list)):
        return (type(obj).__name__,) + tuple(_hashable(o) for o in obj)
    if isinstance(obj, dict):
        return ("dict",) + tuple((k, _hashable(v)) for k, v in obj.items())
    try:
        hash(obj)
    except TypeError:
        return ("id", id(obj))
    return obj


def live_compiled_functions() -> list:
    """Every ``CompiledFunction`` still alive (those of compiled modules included)."""
    return list(_LIVE)


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend="inductor",  # noqa: A001
            mode=None, options=None, name=None, disable: bool = False,
            recompile_limit: "int | None" = None, isolate_recompiles: bool = False,
            shapes_spec=None):
    """``torch.compile``: a module or function that traces per input signature and replays
    the cached graph, optimized and with elementwise ops fused; usable as ``@framework.compile`` or
    ``framework.compile(mode=...)(fn)``. ``backend`` is one of
    ``framework.compiler.list_backends()``, each framework's own compiler. A function marked
    with ``framework.compiler.disable`` is returned as it is. ``recompile_limit`` is this
    function's ``cache_size_limit`` (each compiled function keeps its own graphs, so
    ``isolate_recompiles`` holds already); ``name`` and ``shapes_spec`` change nothing.
    See docs/compile.md."""
    from .control import is_disabled
    options = _mode_options(mode, options)
    _check_backend(backend)

    def wrap(target):
        if disable or is_disabled(target):
            return target
        if isinstance(target, Module):
            return OptimizedModule(target, fullgraph=fullgraph, options=options,
                                   dynamic=dynamic, cache_size_limit=recompile_limit)
        if not callable(target):
            raise TypeError(f"framework.compile: expected a Module or a callable, got "
                            f"{type(target).__name__}")
        return CompiledFunction(target, fullgraph=fullgraph, options=options, dynamic=dynamic,
                                cache_size_limit=recompile_limit)

    return wrap if model is None else wrap(model)


def compile_module_call(module: Module, call, *, fullgraph: bool = False, dynamic=None,
                        backend="inductor", mode=None, options=None, name=None,
                        disable: bool = False, recompile_limit: "int | None" = None,
                        isolate_recompiles: bool = False, shapes_spec=None):
    """``Module.compile``'s compiled call: ``call`` (``module``'s eager call) compiled as
    ``framework.compile(module, ...)`` compiles the module, or None with ``disable`` (the
    module then stays eager). The arguments are ``framework.compile``'s."""
    options = _mode_options(mode, options)
    _check_backend(backend)
    if disable:
        return None
    return CompiledFunction(call, module=module, fullgraph=fullgraph, options=options,
                            dynamic=dynamic, cache_size_limit=recompile_limit)


_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


def _check_backend(backend) -> None:
    """Refuse a backend framework cannot run: an unknown name, or a custom backend function
    (it would expect a torch.fx graph)."""
    from .control import BACKENDS
    if isinstance(backend, str):
        if backend not in BACKENDS:
            raise RuntimeError(f"framework.compile: invalid backend {backend!r}; the backends "
                               f"are {', '.join(BACKENDS)} (framework.compiler.list_backends())")
        return
    raise TypeError(f"framework.compile: backend must be a backend name "
                    f"({', '.join(BACKENDS)}), got {type(backend).__name__}: custom backend "
                    "functions take torch.fx graphs, which framework does not make")


def _mode_options(mode, options: "dict | None") -> "dict | None":
    """``options`` with what ``mode`` implies, as ``torch.compile``: ``"reduce-overhead"``
    and ``"max-autotune"`` replay static cuda plans as CUDA graphs (``"triton.cudagraphs"``);
    a mode and options together, or an unknown mode, raise."""
    if mode is None:
        return options
    if mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode!r}, should be one of: {', '.join(_MODES)}")
    if options:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    return {"triton.cudagraphs": mode in ("reduce-overhead", "max-autotune")}


class OptimizedModule(Module):
    """A compiled module (``torch._dynamo.OptimizedModule``): ``_orig_mod`` holds the
    original, whose parameters it shares; calls go through a ``CompiledFunction``."""

    def __init__(self, mod, *, fullgraph: bool = False, options: "dict | None" = None,
                 dynamic: "bool | None" = None, cache_size_limit: "int | None" = None) -> None:
        super().__init__()
        self._orig_mod = mod
        object.__setattr__(self, "_compiled", CompiledFunction(
            mod, module=mod, fullgraph=fullgraph, options=options, dynamic=dynamic,
            cache_size_limit=cache_size_limit))

    def forward(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["_orig_mod"], name)
