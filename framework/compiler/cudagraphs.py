"""``mode="reduce-overhead"``: a static compiled plan replayed as one CUDA graph.

A ``runtime.Plan`` with static shapes runs the same kernels on memory of the same sizes
every call; what is left per call is Python: one dispatch per kernel. On a GPU,
``GraphedPlan`` records the plan's launches once into a CUDA graph and then launches
the whole graph with one driver call (PyTorch's ``torch.compile(mode="reduce-overhead")``
does the same with its CUDA graph trees):

- **warm-up**: the first ``WARMUP_CALLS`` calls run the plan as usual, so every kernel is
  compiled and autotuned (neither can happen inside a capture);
- **capture**: on a fresh non-blocking stream (the legacy default stream, the library's
  ``runtime.STREAM``, cannot be captured), made the library's stream for the duration,
  the plan runs between ``cuStreamBeginCapture`` and ``cuStreamEndCapture`` on *static
  inputs*: graph-owned copies of the call's tensor inputs. Parameters (the plan's inputs
  from ``fixed_from`` on) are read where they are: their addresses are part of the
  graph. Every block the caching allocator hands out while capturing is kept by the
  graph for its life (``CachingAllocator.holding``), so no later allocation can be given
  memory the graph writes;
- **replay**: each call copies its inputs into the static inputs, launches the graph on
  ``runtime.STREAM`` (so in order with all other work) and returns copies of the static
  outputs (the next replay overwrites those);
- **check**: the first replay's outputs are compared with a plain run of the plan on
  the same inputs. Where they differ, or the capture fails (a host synchronization or
  an uncapturable copy inside the plan), the plan runs uncaptured from then on and the
  reason is logged once on the ``framework.compile`` logger.

A parameter whose storage changed (``param.data = ...``, ``load_state_dict`` into a new
tensor) makes the next call capture again. In-place updates (an optimizer step) need
nothing: the graph reads the parameters' memory when it runs.

Not captured (the plan runs as usual, the reason logged once): ``cpu`` plans, the Triton
interpreter (it has no CUDA graphs; PyTorch likewise skips CUDA graphs for CPU
tensors), and graphs with random draws (a replay would repeat the captured draws).
"""
from __future__ import annotations

import logging
import threading
import weakref

import numpy as np

from .ir import Graph, rebuild, walk

LOG = logging.getLogger("framework.compile")
WARMUP_CALLS = 1  # plain runs before the capture (kernels compiled and autotuned)
_RANDOM_OPS = ("rand", "randn", "randint", "dropout", "multinomial", "bernoulli")


def capture_blocker(graph: Graph) -> "str | None":
    """Why ``graph``'s plan cannot be replayed as a CUDA graph here, or None if it can."""
    if _has_random(graph):
        return "the graph draws random numbers (a CUDA graph would replay the same draws)"
    return _device_blocker(graph)


def _device_blocker(graph: Graph) -> "str | None":
    """Why ``graph``'s device cannot capture: cpu work, or no GPU (the interpreter)."""
    devices = {str(node.device) for node in graph.nodes} | {str(v.device) for v in graph.inputs}
    if "cpu" in devices:
        return "CUDA graphs replay cuda work only; this graph runs on cpu"
    from .._backends.triton import runtime
    if runtime.mode() != "gpu":
        return "the Triton interpreter has no CUDA graphs"
    return None


def _has_random(graph: Graph) -> bool:
    for node in graph.nodes:
        members = node.args["group"].nodes if node.op == "fused_elementwise" else [node]
        for member in members:
            if member.op in _RANDOM_OPS or "seed" in member.args:
                return True
    return False


def graphed(plan, graph: Graph, fixed_from: int, label: str):
    """``plan`` wrapped as a ``GraphedPlan`` (captured with ``CudaGraph``), or ``plan``
    itself where ``graph`` cannot be captured (the reason logged)."""
    reason = capture_blocker(graph)
    if reason is not None:
        LOG.info("framework.compile(mode='reduce-overhead'): %s: not using CUDA graphs (%s)",
                 label, reason)
        return plan
    from .. import _backends
    from ..devices import device as Device
    devices = sorted({str(node.device) for node in graph.nodes if not node.is_view})
    backend = _backends.for_device(Device(devices[0] if devices else "cuda"))
    return GraphedPlan(plan, fixed_from, label, CudaGraph, backend)


class GraphedPlan:
    """A plan (``arrays -> output tree``) replayed from a captured graph (module docstring).

    ``fixed_from``: the first input read in place (parameters); inputs before it are copied
    into graph-owned buffers every call. ``capture``: a factory of objects with
    ``capture(fn) -> fn()``, ``launch()`` and ``release()`` (``CudaGraph``)."""

    def __init__(self, plan, fixed_from: int, label: str, capture, backend) -> None:
        self.plan = plan
        self.backend = backend
        self.fixed_from = fixed_from
        self.label = label
        self._make_capture = capture
        self.calls = 0
        self.captures = 0
        self.disabled = None  # the reason the plan runs uncaptured, once it does
        self._graph = None
        self._static_inputs = None
        self._static_outputs = None
        self._fixed = None  # ``_place`` of each in-place input at capture
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        """The plan's other attributes (``device_of``, ``steps``)."""
        if name == "plan":
            raise AttributeError(name)
        return getattr(self.plan, name)

    def __call__(self, arrays: list):
        self.calls += 1
        if self.disabled is not None or self.calls <= WARMUP_CALLS:
            return self.plan(arrays)
        with self._lock:  # one graph, one set of static buffers: calls from threads take turns
            if self._graph is not None and not self._same_fixed(arrays):
                self._drop()  # a parameter moved: capture again
            if self._graph is None:
                return self._capture_and_check(arrays)
            return self._replay(arrays)

    # -- capture --------------------------------------------------------------------------
    def _capture_and_check(self, arrays: list):
        """Capture the plan, then check its first replay against a plain run."""
        try:
            self._capture(arrays)
            replayed = self._replay(arrays)
        except Exception as exc:  # noqa: BLE001 -- any failure: run uncaptured, say why
            self._disable(f"capture failed: {type(exc).__name__}: {exc}")
            return self.plan(arrays)
        plain = self.plan(arrays)
        mismatch = _first_mismatch(self.backend, replayed, plain)
        if mismatch is not None:
            self._disable(f"the captured graph's output {mismatch} differs from the plan's")
            return plain
        return replayed

    def _capture(self, arrays: list) -> None:
        backend = self.backend
        copied, fixed = arrays[:self.fixed_from], arrays[self.fixed_from:]
        static = [_static_copy(backend, a) for a in copied]
        graph = self._make_capture()
        try:
            outputs = graph.capture(lambda: self.plan(static + list(fixed)))
        except BaseException:
            graph.release()
            raise
        self._graph, self._static_inputs, self._static_outputs = graph, static, outputs
        self._fixed = [_place(a) for a in fixed]  # holds their storages: ids stay unique
        self.captures += 1
        weakref.finalize(self, graph.release)

    def _same_fixed(self, arrays: list) -> bool:
        fixed = arrays[self.fixed_from:]
        return len(fixed) == len(self._fixed) and all(
            _same_place(a, place) for a, place in zip(fixed, self._fixed))

    def _drop(self) -> None:
        graph, self._graph = self._graph, None
        self._static_inputs = self._static_outputs = self._fixed = None
        if graph is not None:
            graph.release()

    def _disable(self, reason: str) -> None:
        self._drop()
        self.disabled = reason
        LOG.warning("framework.compile(mode='reduce-overhead'): %s: running without CUDA "
                    "graphs (%s)", self.label, reason)

    # -- replay ---------------------------------------------------------------------------
    def _replay(self, arrays: list):
        backend = self.backend
        for static, a in zip(self._static_inputs, arrays[:self.fixed_from]):
            if a.shape != static.shape or a.dtype is not static.dtype:
                raise RuntimeError(f"{self.label}: input {a.shape} {a.dtype.name} does not match "
                                   f"the captured {static.shape} {static.dtype.name}")
            backend.copy_(static, a)
        self._graph.launch()
        return rebuild(self._static_outputs,
                       lambda a: None if a is None else _static_copy(backend, a))


class CudaGraph:
    """One CUDA graph captured from the library's kernels, and the memory it holds."""

    def __init__(self) -> None:
        self.graph = None
        self.exec = None
        self.held: list = []  # DeviceBuffers allocated during the capture

    def capture(self, fn):
        """Run ``fn()`` with its GPU work recorded into this graph (not executed); return its
        result, whose arrays live in memory the graph writes when launched."""
        from .._backends.triton import runtime
        from .._backends.triton.allocator import allocator
        driver, check = runtime._driver(), runtime.check
        check(driver.cuStreamSynchronize(runtime.STREAM))  # the inputs are written
        stream = check(driver.cuStreamCreate(driver.CUstream_flags.CU_STREAM_NON_BLOCKING.value))
        library_stream = runtime.STREAM
        runtime.STREAM = int(stream)
        try:
            with allocator().holding(self.held):
                check(driver.cuStreamBeginCapture(
                    stream, driver.CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED))
                try:
                    result = fn()
                except BaseException:
                    driver.cuStreamEndCapture(stream)  # end the (invalid) capture, then raise
                    raise
                self.graph = check(driver.cuStreamEndCapture(stream))
        finally:
            runtime.STREAM = library_stream
            check(driver.cuStreamDestroy(stream))
        self.exec = check(driver.cuGraphInstantiate(self.graph, 0))
        return result

    def launch(self) -> None:
        """Run the captured work on the library's stream."""
        from .._backends.triton import runtime
        runtime.check(runtime._driver().cuGraphLaunch(self.exec, runtime.STREAM))

    def release(self) -> None:
        """Destroy the graph (after the work queued so far) and let its memory go."""
        if self.exec is None and self.graph is None:
            self.held = []
            return
        from .._backends.triton import runtime
        driver = runtime._driver()
        try:
            driver.cuStreamSynchronize(runtime.STREAM)
            if self.exec is not None:
                driver.cuGraphExecDestroy(self.exec)
            if self.graph is not None:
                driver.cuGraphDestroy(self.graph)
        finally:
            self.exec = self.graph = None
            self.held = []


def _static_copy(backend, a):
    """A new contiguous array holding ``a``'s values (a copy kernel on ``a``'s device)."""
    out = backend.empty(a.shape, a.dtype)
    if a.numel:
        backend.copy_(out, a)
    return out


def _place(a) -> tuple:
    """Where an in-place input lives: its storage (kept alive with the graph, which reads
    its memory) and the view of it."""
    return (a.storage, a.offset, a.strides, a.shape)


def _same_place(a, place: tuple) -> bool:
    return a.storage is place[0] and (a.offset, a.strides, a.shape) == place[1:]


def _leaves(tree) -> list:
    """The arrays of an output tree (nested tuples/lists/dicts; None leaves left out)."""
    found: list = []
    walk(tree, found.append)
    return [a for a in found if a is not None]


def _first_mismatch(backend, replayed, plain) -> "int | None":
    """The index of the first output where the replay and the plain run differ beyond
    float32 rounding (NaN equal to NaN), or None."""
    for i, (a, b) in enumerate(zip(_leaves(replayed), _leaves(plain))):
        x, y = _host(backend, a), _host(backend, b)
        if x.shape != y.shape or not np.allclose(x, y, rtol=1e-5, atol=1e-6, equal_nan=True):
            return i
    return None


def _host(backend, a) -> np.ndarray:
    """``a``'s values on the host, floats as float64 (half types included)."""
    values = np.asarray(backend.to_numpy(a))
    return values if values.dtype.kind in "biu" else values.astype(np.float64)
