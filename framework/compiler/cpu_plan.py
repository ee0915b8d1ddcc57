"""The CPU side of a ``runtime.Plan``: kernels writing into buffers kept between replays.

A compiled graph on ``cpu`` replays the same NumPy math with the same shapes every
call, so its memory can be laid out once. ``runtime.Plan`` asks ``specialize`` for a
plan-internal step per node; the steps found here replace the NumPy backend's kernels
(which allocate fresh arrays per call) with versions writing into an ``Arena``:

- *scratch* buffers (im2col columns, zero-padded images, GEMM results, masks) live in
  the arena and never leave a step (but a training forward's conv columns, which the
  backward's weight grad takes: ``Arena.unheld``);
- *value* buffers hold the step's results. They are numbered by the plan
  (``buffer``): two values whose lifetimes do not overlap share one buffer
  (liveness-based reuse, same dtype and size). A value buffer is reused on a later
  call only when nothing outside the plan still holds it (its ``Storage`` and NumPy
  buffer have no reference but the arena's: ``Arena.out``); else the step takes a
  fresh one. The caller's outputs (a forward's result, the saved values the backward
  reads, gradients handed to ``.grad``) are therefore never overwritten while held,
  and in a training loop, where they die before the next step, no large array is
  allocated again (no page faults from the allocator returning and re-mapping memory).

One arena per concurrent call: a plan keeps a pool and a call takes one out of it.

Every step computes what the backend kernel it replaces computes, in the same order,
so results have the backend's bits (``tests/compiler/test_cpu_plan.py``):

- ``matmul`` / ``matmul_epilogue``: ``np.matmul(..., out=)``, bias, relu (``relu_into``:
  the backend's relu bits) and residual added in place;
- ``conv2d``, its input and weight gradients: the backend's own code
  (``_backends/numpy/conv.py``: by-image GEMMs, the stride-1 "wide rows" input
  gradient) with its arrays in the arena (``ConvBuffers``: padded images with their
  zero borders written once, columns, GEMM results); the forward writes into a value
  buffer, and keeps its columns for the weight grad (in a buffer reused once the weight
  grad let them go) when its input is saved for a backward; a ``conv2d`` read only by a
  fused ``<add, relu>`` of a bias (``conv + bias.reshape(1, C, 1, 1)``) becomes one
  step adding the bias and applying relu in place over the GEMMs' result;
- ``pool_max2d`` over disjoint tiles (values and indices in value buffers; 2 x 2 tiles by
  the backend's own path, contiguous planes of the tile offsets, into those buffers) and
  its backward. The forward records the indices it made, and the pooled values' sign, in
  ``TILED`` (a cache by those indices): their backward is then a zero fill and one
  scatter (no two windows share an input position), and a ReLU's backward fused into it
  (``where(relu <= 0, 0, dx)`` of the pool's own input) takes the pooled values' sign,
  the relu's at each argmax instead of reading the relu; other indices: one strided
  store per tile offset, compared with the indices;
- relu (``relu_into``, also a fused group's): ``np.maximum(0, v)`` where the backend's
  ``_relu_zero`` found it to give the backend's bit-mask relu's bits (x86), else that
  bit mask;
- ``dropout``: the backend's Philox draws, with the keep mask of a ``(seed, offset)``
  kept in ``MASKS`` so the backward's dropout of the same draws reuses the forward's
  mask instead of drawing again;
- fused elementwise groups (``fusion.run_numpy``) write their outputs into value buffers;
- a matmul whose rows go to a fused epilogue (``norms.NormGroup`` of kind "matmul"): one
  step when the epilogue is ``tanh`` (a linear layer and its activation) or float32 ufuncs
  with column sums (tanh's backward through a linear, and the bias gradient); a K = 1
  product there is ``a * b + 0.0`` where ``_outer_is_multiply`` shows the GEMM's bits.

Other nodes call the backend kernel as the generic plan does.
"""
from __future__ import annotations

import collections
import functools
import math
import sys
import threading
import weakref

import numpy as np

from .._backends.array import Array, Storage, contiguous_strides
from .._backends.numpy import conv as np_conv
from .._backends.numpy import pool as np_pool
from .._backends.numpy._arrays import nd as _nd
from .._backends.numpy._arrays import quiet as _quiet
from .fusion import FusedGroup
from .ir import Value

_F32 = np.dtype(np.float32)
_U32 = np.uint32


# -- buffers -------------------------------------------------------------------------------
def _counts(st: Storage) -> tuple:
    """(references to ``st``, to its NumPy buffer), as ``Arena.out`` sees them."""
    return sys.getrefcount(st), sys.getrefcount(st.buffer)


@functools.cache
def _baseline() -> tuple:
    """``_counts`` of a storage held only by a dict and one local, as in ``Arena.out``
    (measured once, on first use: the reference counts of a storage only an arena holds)."""
    store = {0: Storage(np.empty(1, _F32), 1, None)}
    st = store.get(0)
    return _counts(st)


@functools.cache
def _array_baseline() -> int:
    """The reference count of an array held only by a dict and one local, as in
    ``Arena.unheld`` (measured once, on first use)."""
    store = {0: np.empty(1, _F32)}
    buf = store.get(0)
    return sys.getrefcount(buf)


# Reuse needs exact counts: CPython with the GIL up to 3.13 (3.14 may borrow references,
# free-threaded builds count differently: there every value buffer is fresh, as the
# autograd engine then copies every gradient)
_REUSE = (sys.implementation.name == "cpython" and sys.version_info < (3, 14)
          and getattr(sys, "_is_gil_enabled", lambda: True)())


class BufferKey:
    """The number of a value buffer (set by ``runtime._number_buffers`` once the plan's
    steps are known; values sharing a number share the kept storage)."""

    __slots__ = ("n", "numel", "fresh")

    def __init__(self) -> None:
        self.n = None
        self.numel = None  # elements of the storage when more than the value's (a view)
        self.fresh = False  # the caller sees this memory: a new storage every call


class Arena:
    """The buffers of one plan for one call at a time (a plan keeps a pool of them)."""

    __slots__ = ("scratch", "storages")

    def __init__(self) -> None:
        self.scratch: dict = {}  # key -> ndarray, private to the step that named it
        self.storages: dict = {}  # value buffer number -> Storage (handed out as Arrays)

    def buffer(self, key, shape: tuple, dtype) -> np.ndarray:
        """Scratch ``key`` of ``shape`` and ``dtype`` (contents left from the last call)."""
        buf = self.scratch.get(key)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self.scratch[key] = np.empty(shape, dtype)
        return buf

    def flat(self, key, size: int, dtype) -> np.ndarray:
        """The first ``size`` elements of 1-D scratch ``key`` (grown to the largest size
        asked: blocks of a step's loop of different lengths share it)."""
        buf = self.scratch.get(key)
        if buf is None or buf.shape[0] < size or buf.dtype != dtype:
            buf = self.scratch[key] = np.empty(size, dtype)
        return buf[:size]

    def zeros(self, key, shape: tuple, dtype) -> np.ndarray:
        """Scratch ``key`` zero-filled when made: the caller writes only the same part of
        it every call, so the rest stays zero (padding borders)."""
        buf = self.scratch.get(key)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self.scratch[key] = np.zeros(shape, dtype)
        return buf

    def unheld(self, key, shape: tuple, dtype) -> np.ndarray:
        """Scratch ``key`` that a step may hand on (to a cache, as views): reused only when
        no view of it is left (its reference count is an arena's alone), else made anew."""
        buf = self.scratch.get(key)
        if buf is None or buf.shape != shape or buf.dtype != dtype or not _REUSE or \
                sys.getrefcount(buf) != _array_baseline():
            buf = self.scratch[key] = np.empty(shape, dtype)
        return buf

    def out(self, ref: BufferKey, shape: tuple, dtype) -> tuple:
        """``(Array, ndarray)``: value buffer ``ref.n`` viewed as a contiguous ``shape`` of
        framework ``dtype``; a fresh storage when the kept one is still held outside the
        arena (a caller's tensor, a NumPy view of it) or has another size."""
        numel, strides = _layout(shape)
        if ref.fresh or not _REUSE:
            st = Storage(np.empty(numel, dtype.numpy), numel, dtype)
        else:
            store = self.storages
            key = ref.n
            st = store.get(key)
            if st is None or st.numel != numel or st.dtype is not dtype or \
                    _counts(st) != _baseline():
                st = store[key] = Storage(np.empty(numel, dtype.numpy), numel, dtype)
            else:  # new contents: what a cache keeps of the old ones (conv columns) is stale
                st.version += 1
        view = st.buffer.reshape(shape)
        array = Array(st, shape, strides, 0)
        array._cache = view
        return array, view


@functools.lru_cache(maxsize=1024)
def _layout(shape: tuple) -> tuple:
    """(numel, row-major strides) of ``shape`` (a cache of a pure function)."""
    return math.prod(shape), contiguous_strides(shape)


class DropoutMasks:
    """Keep masks of recent dropout draws, by ``(seed, offset, numel, p)`` (a cache of a
    pure function: element ``i`` is kept when the Philox uniform draw at ``offset + i`` of
    ``seed`` is >= ``p``, as the NumPy backend's ``dropout``). The backward of a compiled
    training step redraws the forward's ``(seed, offset)``: it finds the mask here. At
    most ``max_bytes`` of masks, oldest dropped first; masks are read-only."""

    def __init__(self, max_bytes: int = 64 << 20) -> None:
        self.max_bytes = max_bytes
        self._masks: collections.OrderedDict = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._draws = threading.local()  # per thread: numel -> float64 scratch

    def get(self, seed: int, offset: int, shape: tuple, p: float) -> np.ndarray:
        """The keep mask (bool, ``shape``) of ``numel(shape)`` draws at ``(seed, offset)``."""
        numel = math.prod(shape)
        key = (seed, offset, numel, float(p))
        with self._lock:
            mask = self._masks.get(key)
            if mask is not None:
                self._masks.move_to_end(key)
        if mask is None:
            mask = self._draw(seed, offset, numel, p)
            with self._lock:
                if key not in self._masks:
                    self._masks[key] = mask
                    self._bytes += mask.nbytes
                    while self._bytes > self.max_bytes and len(self._masks) > 1:
                        _, old = self._masks.popitem(last=False)
                        self._bytes -= old.nbytes
        return mask.reshape(shape)

    def _draw(self, seed: int, offset: int, numel: int, p: float) -> np.ndarray:
        from .._backends.numpy.random import _generator
        cache = getattr(self._draws, "by_size", None)
        if cache is None:
            cache = self._draws.by_size = {}
        draws = cache.get(numel)
        if draws is None:
            if len(cache) >= 8:
                cache.clear()
            draws = cache[numel] = np.empty(numel, np.float64)
        _generator(seed, offset).random(out=draws)  # the backend's stream
        mask = np.greater_equal(draws, p)
        mask.setflags(write=False)
        return mask

    def clear(self) -> None:
        with self._lock:
            self._masks.clear()
            self._bytes = 0


MASKS = DropoutMasks()  # documented cache (see DropoutMasks): shared by every CPU plan


def dropout_into(x: np.ndarray, p: float, seed: int, offset: int, out: np.ndarray) -> None:
    """The NumPy backend's float32 ``dropout`` of ``x`` into ``out``: ``x * (1 / (1 - p))``
    where kept, ``+0.0`` (all-zero bits: the kept value's bits times the 0/1 mask) where
    dropped, the mask from ``MASKS``."""
    keep = MASKS.get(seed, offset, out.shape, p)
    np.multiply(x, 0.0 if p >= 1.0 else 1.0 / (1.0 - p), out=out)
    bits = out.view(_U32)
    np.multiply(bits, keep, out=bits)


def relu_into(v: np.ndarray, out: np.ndarray, keep) -> None:
    """The backend's bit-mask relu of float32 ``v`` into ``out`` (may be ``v``): v's bits
    times ``not v < 0`` (``keep()``: a bool scratch of v's shape); one ``np.maximum(0, v)``
    where the backend's ``_relu_zero`` found that to give the same bits (x86)."""
    zero = _relu_zero()
    if zero is not None:
        np.maximum(zero, v, out=out)
        return
    mask = keep()
    np.less(v, 0, out=mask)
    np.logical_not(mask, out=mask)
    np.multiply(v.view(_U32), mask, out=out.view(_U32))


def _relu_zero():
    from .._backends.numpy.elementwise import _relu_zero as zero_of
    return zero_of(_F32)


# -- specialization --------------------------------------------------------------------------
class Special:
    """A plan-internal step: ``fn(arena, *args)`` returns the node's result like a backend
    kernel; ``args`` are the node's arguments in order (Values and constants), ``outputs``
    the Values it defines, ``op`` its launch name, ``skip`` nodes it absorbed."""

    __slots__ = ("fn", "args", "outputs", "op", "skip")

    def __init__(self, fn, args: list, outputs: list, op: str, skip=()) -> None:
        self.fn, self.args, self.outputs, self.op, self.skip = fn, args, outputs, op, tuple(skip)


def specialize(graph, buffer) -> dict:
    """``id(node) -> Special`` for the nodes of ``graph`` that run as plan-internal steps.

    ``buffer(value)`` gives the value-buffer number the plan assigned to an output Value
    (liveness-based, see ``runtime.Plan``)."""
    found = {}
    readers = collections.Counter()
    for node in graph.nodes:
        for v in node.inputs():
            readers[v.id] += 1
    visible = {v.id for v in graph.output_values()}
    position = {id(n): i for i, n in enumerate(graph.nodes)}
    producer = {o.id: n for n in graph.nodes for o in n.outputs if o is not None}
    saved = _saved(graph)
    for node in graph.nodes:
        if node.device != "cpu" or node.is_view:
            continue
        if node.op == "fused_elementwise":
            if not isinstance(node.args["group"], FusedGroup):  # a norm's row kernel
                special = _matmul_unary(node, buffer) or _matmul_ufuncs(node, buffer)
                if special is not None:
                    found[id(node)] = special
                continue
            special = _conv_epilogue(node, producer, readers, visible, graph, position, buffer,
                                     saved) or \
                _relu_mask_of_pool_backward(node, producer, readers, visible, graph, position,
                                            buffer)
            if special is not None:
                found[id(node)] = special
            continue
        if node.op == "conv2d":  # keeping its columns for a weight grad when that follows
            special = _conv2d(node, buffer, node.args["x"].id in saved)
        else:
            make = _BUILDERS.get(node.op)
            special = make(node, buffer) if make is not None else None
        if special is not None:
            found[id(node)] = special
    return found


def _float32(*values) -> bool:
    return all(v is not None and v.dtype == "float32" and _static(v.shape) for v in values)


def _static(shape) -> bool:
    return all(type(s) is int for s in shape)


def _fw_dtype(name: str):
    from .. import dtypes
    return getattr(dtypes, name)


# matmul ---------------------------------------------------------------------------------------
def _matmul(node, buffer):
    a, b = node.args["a"], node.args["b"]
    out = node.outputs[0]
    if not _float32(a, b, out) or 0 in out.shape:
        return None
    key, shape, f32 = buffer(out), tuple(out.shape), _fw_dtype("float32")

    def matmul(arena, a, b):
        array, view = arena.out(key, shape, f32)
        np.matmul(_nd(a), _nd(b), out=view)
        return array
    return Special(matmul, list(node.args.values()), [out], "matmul")


def _matmul_epilogue(node, buffer):
    args = node.args
    a, b, bias, residual = args["a"], args["b"], args["bias"], args["residual"]
    out, pre = node.outputs
    if not _float32(a, b, out) or 0 in out.shape or args["activation"] not in (None, "relu"):
        return None
    if (bias is not None and not _float32(bias)) or (residual is not None and
                                                     not _float32(residual)):
        return None
    relu = args["activation"] == "relu"
    keep_pre = bool(args["keep_preact"]) and pre is not None
    if args["keep_preact"] and not keep_pre:
        return None
    shape, f32 = tuple(out.shape), _fw_dtype("float32")
    key = buffer(out)
    key_pre = buffer(pre) if keep_pre else None
    mask_key = ("relu mask", id(node))

    def matmul_epilogue(arena, a, b, bias, activation, residual, keep_preact):
        z_array, z = arena.out(key_pre if keep_pre else key, shape, f32)
        np.matmul(_nd(a), _nd(b), out=z)
        if bias is not None:
            np.add(z, _nd(bias), out=z)
        if keep_pre:
            result, view = arena.out(key, shape, f32)
        else:
            result, view = z_array, z
        if relu:
            relu_into(z, view, lambda: arena.buffer(mask_key, shape, np.bool_))
        elif keep_pre:
            np.copyto(view, z)
        if residual is not None:
            np.add(view, _nd(residual), out=view)
        return result, (z_array if keep_pre else None)
    return Special(matmul_epilogue, list(args.values()), [out, pre], "matmul_epilogue")


# a matmul and its unary epilogue -------------------------------------------------------------
_EPILOGUE_UFUNCS = {"tanh": np.tanh}  # the NumPy backend's kernel is this ufunc (and can't warn)


def _matmul_unary(node, buffer):
    """A ``norms.NormGroup`` of kind "matmul" whose epilogue is one unary op with a ufunc
    kernel (``<matmul_epilogue | tanh>``: a linear layer and its activation): the matmul into
    scratch, its bias and relu in place, the ufunc into the output's value buffer (the
    backend's calls in the same order: the same bits as the group's own run)."""
    group = node.args["group"]
    if getattr(group, "kind", None) != "matmul" or group.device != "cpu" or group.post_sums \
            or group.row_map[0] != group.rows or group.norm_out[0] is not None:
        return None
    post, mm = group.post, group.matmul
    if len(post.instrs) != 1 or post.instrs[0].kind != "unary" or post.n_external != 1 or \
            post.out_perm or group._direct_kernel() is None:
        return None
    ufunc = _EPILOGUE_UFUNCS.get(post.instrs[0].op)
    inputs, outs = list(node.args["inputs"]), node.outputs
    activation = mm.args.get("activation") if mm.op == "matmul_epilogue" else None
    product = mm.outputs[0]
    if ufunc is None or activation not in (None, "relu") or len(inputs) != group.n_lead or \
            len(outs) != 1 or not _float32(*inputs, outs[0], product) or 0 in outs[0].shape \
            or math.prod(product.shape) != math.prod(outs[0].shape):
        return None
    shape, out_shape, tag = tuple(product.shape), tuple(outs[0].shape), id(node)
    key, f32 = buffer(outs[0]), _fw_dtype("float32")
    outer = _outer_product(inputs[0], inputs[1])

    def matmul_unary(arena, a, b, bias=None):
        z = arena.buffer((tag, "z"), shape, _F32)
        _quiet(_product_into, z, a, b, bias, outer)  # the backend's kernels run quietly
        if activation is not None:
            relu_into(z, z, lambda: arena.buffer((tag, "keep"), shape, np.bool_))
        array, view = arena.out(key, out_shape, f32)
        ufunc(z.reshape(out_shape), out=view)
        return array
    return Special(matmul_unary, inputs, list(outs), "fused_elementwise")


_PROBE = np.array([0.0, -0.0, 1e-30, -1e-30, 3e-39, -3e-39, 1e-45, 1.5, -2.25, 7.0, np.inf,
                   -np.inf, np.nan, 1e20, -1e-20, 3.4e38, -0.5], dtype=np.float32)


@functools.lru_cache(maxsize=64)
def _outer_is_multiply(m: int, n: int) -> bool:
    """Whether ``np.matmul`` of float32 ``(1, m, 1) @ (1, 1, n)`` (the backend's GEMM with
    K = 1) gives the bits of ``np.multiply(a, b) + 0.0`` here, probed once per shape on
    signed zeros, underflowing and subnormal products, infinities, NaN and overflow at
    several positions (a GEMM adds each product to +0.0 or scales a +0-initialised sum:
    -0.0 becomes +0.0; a BLAS that stores the product as it is would differ, and keeps the
    GEMM). Shapes below 16 x 16 are not probed (False): not every pair would be seen."""
    if m < 16 or n < 16:
        return False
    for shift in range(3):
        a = np.resize(np.roll(_PROBE, shift), m).reshape(1, m, 1)
        b = np.resize(np.roll(_PROBE[::-1], 2 * shift), n).reshape(1, 1, n)
        with np.errstate(all="ignore"):
            gemm = np.matmul(a, b)
            product = np.multiply(a, b)
            np.add(product, 0.0, out=product)
        if not np.array_equal(gemm.view(_U32), product.view(_U32)):
            return False
    return True


def _outer_product(a_value, b_value) -> bool:
    """True when the matmul of these float32 Values is a single-batch K = 1 outer product
    that ``_outer_is_multiply`` says the backend computes as a multiply."""
    sa, sb = tuple(a_value.shape), tuple(b_value.shape)
    return (len(sa) == 3 and len(sb) == 3 and sa[0] == sb[0] == 1 and sa[2] == sb[1] == 1
            and _outer_is_multiply(sa[1], sb[2]))


def _product_into(z, a, b, bias, outer: bool) -> None:
    """``z = a @ b (+ bias)`` as the backend's ``matmul`` (and its in-place bias add): the
    GEMM, or for an ``outer`` product ``a * b`` (+ ``bias + 0.0``, or + 0.0): the same bits
    (``((a*b) + 0) + bias`` and ``(a*b) + (bias + 0)`` differ in no case, zeros included),
    at a third of the GEMM's cost."""
    if not outer:
        np.matmul(_nd(a), _nd(b), out=z)
        if bias is not None:
            np.add(z, _nd(bias), out=z)
        return
    np.multiply(_nd(a), _nd(b), out=z)
    if bias is None:
        np.add(z, 0.0, out=z)
    else:
        np.add(z, np.add(_nd(bias), 0.0), out=z)


def _epilogue_program(post) -> "list | None":
    """``[(ufunc, operands, instr index)]`` of a fused epilogue made only of float32 ufunc
    instrs (``fusion.run_numpy``'s ufunc table, and ``square`` as ``v * v``), operands
    ``("in", k)``, ``("tmp", i)`` or a 0-d float32 scalar: what ``run_numpy`` computes, the
    same ufunc calls in the same order; None for anything else."""
    from .fusion import _UFUNCS
    if post.reduce is not None or post.softmax is not None or post.out_perm:
        return None
    program = []
    for index, ins in enumerate(post.instrs):
        if ins.dtype != "float32" or ins.kind not in ("unary", "binary"):
            return None
        if ins.op == "square":
            fn, refs = np.multiply, [ins.operands[0], ins.operands[0]]
        elif ins.op in _UFUNCS:
            fn, refs = _UFUNCS[ins.op], list(ins.operands)
        else:
            return None
        operands = [("scalar", np.asarray(post.scalars[k], dtype=_F32)) if kind == "scalar"
                    else (kind, k) for kind, k in refs]
        program.append((fn, operands, index))
    return program


def _matmul_ufuncs(node, buffer):
    """A ``norms.NormGroup`` of kind "matmul" whose epilogue is float32 ufuncs with column
    sums (``<matmul | square, sub, mul | sum>``: tanh's backward through a linear layer,
    and its bias gradient): the matmul into scratch, each ufunc into scratch or (an output)
    its value buffer, the sums as the group's run (``np.sum`` of the same arrays)."""
    group = node.args["group"]
    if getattr(group, "kind", None) != "matmul" or group.device != "cpu" or \
            group.row_map[0] != group.rows or group.norm_out[0] is not None:
        return None
    post, mm = group.post, group.matmul
    program = _epilogue_program(post)
    inputs, outs = list(node.args["inputs"]), list(node.outputs)
    activation = mm.args.get("activation") if mm.op == "matmul_epilogue" else None
    product = mm.outputs[0]
    n_lead, n_ext = group.n_lead, post.n_external
    if program is None or activation not in (None, "relu") or \
            len(outs) != n_ext + len(group.post_sums) or None in outs or \
            not _float32(*inputs, *outs, product) or 0 in product.shape:
        return None
    external = [index for _, index in post.outputs[:n_ext]]
    if len(set(external)) != n_ext or any(o.shape != tuple(post.shape) for o in outs[:n_ext]):
        return None
    has_bias = mm.op == "matmul_epilogue" and n_lead > 2
    outer = _outer_product(inputs[0], inputs[1])
    shape, tag, dx, dx_shape = tuple(product.shape), id(node), group.post_dx, group._dx_shape
    post_shape, f32 = tuple(post.shape), _fw_dtype("float32")
    keys = {index: buffer(v) for index, v in zip(external, outs)}
    sums = [(post.outputs[j][1], tuple(sum_shape), dims)
            for j, _, sum_shape, dims in group.post_sums]
    if any(j >= len(post.outputs) for j, _, _, _ in group.post_sums):
        return None
    from .._backends.numpy._arrays import wrap

    def run(arena, arrays, results: list, made: dict) -> None:
        z = arena.buffer((tag, "z"), shape, _F32)
        _product_into(z, arrays[0], arrays[1], arrays[2] if has_bias else None, outer)
        if activation is not None:
            relu_into(z, z, lambda: arena.buffer((tag, "keep"), shape, np.bool_))
        raw = [_nd(a) for a in arrays[n_lead:]]
        raw.insert(dx, z.reshape(dx_shape))
        for fn, operands, index in program:
            key = keys.get(index)
            if key is not None:
                made[index], buf = arena.out(key, post_shape, f32)
            else:
                buf = arena.buffer((tag, index), post_shape, _F32)
            fn(*[results[k] if kind == "tmp" else (raw[k] if kind == "in" else k)
                 for kind, k in operands], out=buf)
            results.append(buf)

    def matmul_epilogue_sums(arena, *arrays):
        results, made = [], {}
        _quiet(run, arena, arrays, results, made)  # quietly, as run_numpy and the backend
        found = [made[index] for index in external]
        for index, sum_shape, dims in sums:
            # np.sum's own reduction (np.add.reduce, what np.sum calls): the same bits
            found.append(wrap(np.add.reduce(results[index].reshape(sum_shape), axis=dims), f32))
        return tuple(found) if len(found) > 1 else found[0]
    return Special(matmul_epilogue_sums, inputs, outs, "fused_elementwise")


# dropout ------------------------------------------------------------------------------------
def _dropout(node, buffer):
    x, out = node.args["x"], node.outputs[0]
    if not _float32(x, out) or tuple(x.shape) != tuple(out.shape) or 0 in out.shape:
        return None
    key, shape, f32 = buffer(out), tuple(out.shape), _fw_dtype("float32")

    def dropout(arena, x, p, seed, offset):
        array, view = arena.out(key, shape, f32)
        with np.errstate(all="ignore"):
            dropout_into(_nd(x), p, seed, offset, view)
        return array
    return Special(dropout, list(node.args.values()), [out], "dropout")


# pooling ------------------------------------------------------------------------------------
def _tile(windows, size: int):
    from .._backends.numpy.pool import _tiles
    return _tiles(windows, size)


class TiledPools:
    """The indices that the plan's tiled max pools made (a cache of what the forward knows,
    by those indices): each lies in its own disjoint tile, so their backward is one store
    per window (no two windows share an input position: the backend's ``_DISTINCT``), and
    the pooled values' sign (``> 0``), which is the pool input's sign at each argmax, so
    a ReLU's backward fused into the pool's reads it instead of that input.

    An entry is keyed by the indices' ``Storage`` (weakly: it goes with them) and valid
    only while they are unchanged (their version, shape, strides and offset as made: an
    arena's reuse of the storage bumps its version); the input is kept by a weak
    reference and its version and layout as the forward read it. The signs are arena
    scratch (``Arena.unheld``: reused only once no entry holds them)."""

    def __init__(self) -> None:
        self._entries: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def forget(self, storage: Storage) -> None:
        """Drop the entry of ``storage`` (its indices are about to be overwritten)."""
        with self._lock:
            self._entries.pop(storage, None)

    def put(self, indices: Array, tiles: tuple, x: Array, positive: np.ndarray) -> None:
        """Record ``indices``, of disjoint ``tiles = (kh, kw)`` of input ``x``, with
        ``positive`` (the pooled values > 0)."""
        entry = (_array_key(indices), tiles, weakref.ref(x.storage), _array_key(x), positive)
        with self._lock:
            self._entries[indices.storage] = entry

    def get(self, indices: Array, tiles: tuple) -> "tuple | None":
        """The entry of ``indices`` when the forward's, unchanged, for ``tiles``."""
        with self._lock:
            entry = self._entries.get(indices.storage)
        if entry is None or entry[0] != _array_key(indices) or entry[1] != tiles:
            return None
        return entry

    @staticmethod
    def positive(entry: tuple, x: Array) -> "np.ndarray | None":
        """The pooled values' ``> 0`` when ``x`` is the pool's input, unchanged (then it
        is ``not x <= 0`` at each argmax: the pooled value is x's element there)."""
        source = entry[2]()
        if source is None or source is not x.storage or entry[3] != _array_key(x):
            return None
        return entry[4]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _array_key(a: Array) -> tuple:
    return a.storage.version, tuple(a.shape), tuple(a.strides), a.offset


TILED = TiledPools()  # documented cache (see TiledPools): shared by every CPU plan


def _pool_max2d(node, buffer):
    x = node.args["x"]
    out, index = node.outputs
    if not _float32(x, out) or index is None or len(x.shape) != 4 or 0 in out.shape:
        return None
    rows, cols = node.args["rows"], node.args["cols"]
    from .ir import Struct
    if isinstance(rows, Struct) or isinstance(cols, Struct):
        rows, cols = rows.build(None), cols.build(None)
    n, c, h, w = x.shape
    kh, kw = _tile(rows, h), _tile(cols, w)
    if not kh or not kw or kh * kw >= 256:
        return None
    ho, wo = len(rows.start), len(cols.start)
    shape, f32, i64 = (n, c, ho, wo), _fw_dtype("float32"), _fw_dtype("int64")
    offsets = [(i, j) for i in range(kh) for j in range(kw)]
    table = np.array([i * w + j for i, j in offsets], dtype=np.int64)
    base = ((np.arange(ho) * (kh * w))[:, None] + np.arange(wo) * kw).astype(np.int64)
    key_out, key_index, tag = buffer(out), buffer(index), id(node)
    pairs = kh == 2 and kw == 2 and _maximum_keeps_second() and \
        w <= np.iinfo(np.uint16).max - 1  # (the backend's 2x2 path's own limit)

    def pool_max2d(arena, x, rows_arg, cols_arg):
        from .._backends.numpy.pool import pool_max2d as backend
        data = _nd(x)
        if not pairs and np.isnan(data.min()):  # NaN: the backend's general path
            return backend(x, rows, cols)  # (PyTorch's NaN rule)
        best_array, best = arena.out(key_out, shape, f32)
        where_array, where = arena.out(key_index, shape, i64)
        TILED.forget(where_array.storage)  # (its signs may then be reused here)
        if pairs:  # the backend's own 2x2 path, into the value buffers
            if np_pool._pool_max_2x2(data, ho, wo, best, where) is None:
                return backend(x, rows, cols)  # a NaN in a tile
        else:
            code = arena.buffer((tag, "code"), shape, np.uint8)
            _pool_max_tiles(arena, tag, data, offsets, kh, kw, best, code)
            np.take(table, code, out=where)
            np.add(where, base, out=where)
        positive = arena.unheld((tag, "positive"), shape, np.bool_)
        np.greater(best, 0, out=positive)
        TILED.put(where_array, (kh, kw), x, positive)
        return best_array, where_array
    return Special(pool_max2d, list(node.args.values()), [out, index], "pool_max2d")


def _pool_max_tiles(arena, tag, data, offsets: list, kh: int, kw: int, best, code) -> None:
    """The backend's running max over the tile offsets (no NaN in ``data``), in its order
    and with its strict ``>``; ``code`` gets the winning offset's number."""
    shape, ho, wo = best.shape, best.shape[2], best.shape[3]
    np.copyto(best, data[:, :, 0:ho * kh:kh, 0:wo * kw:kw])
    code.fill(0)
    step = arena.buffer((tag, "step"), shape, np.uint8)
    take = arena.buffer((tag, "take"), shape, np.bool_)
    diff = arena.buffer((tag, "diff"), shape, _U32)
    bits = best.view(_U32)
    for k, (i, j) in enumerate(offsets[1:], 1):  # the backend's order and strict ">"
        values = data[:, :, i:ho * kh:kh, j:wo * kw:kw]
        np.greater(values, best, out=take)
        np.maximum(code, np.multiply(take, np.uint8(k), out=step), out=code)
        np.subtract(values.view(_U32), bits, out=diff)  # b + take * (v - b), wrapping
        np.multiply(diff, take, out=diff)
        np.add(bits, diff, out=bits)


def _maximum_keeps_second() -> bool:
    """Whether ``np.maximum(v, best)`` returns ``best`` on ties and a NaN-free max exactly
    (x86's max instructions; the backend's ``_relu_zero`` check of the same property)."""
    return _relu_zero() is not None


def _pool_backward_core(node, out_key):
    """``scatter(arena, grad, indices, relu)``: the backend's own-tile ``pool_max2d_backward``
    into the value buffer ``out_key``, or None when the geometry does not fit (then, or
    when an index lies outside its own tile at run time, the caller uses the backend).

    Each tile offset's (N, C, HO, WO) slab of dx is ``grad + 0.0`` where the argmax is that
    offset, else +0.0 (the backend's store into zeros). With ``relu`` (the forward's ReLU
    output) the slab is also +0.0 where ``relu <= 0`` at that offset: ``where(relu <= 0, 0,
    dx)``, ReLU's backward, computed on the argmax positions only (dx is +0.0 elsewhere).
    Where the plan's forward made the indices (``TILED``: each in its own tile) dx is
    instead zero-filled and ``grad + 0.0`` stored at the indices (one scatter, as the
    backend's), masked by the pooled values' sign where ``relu`` is the pool's input (its
    sign at each argmax); else the indices are compared with each offset."""
    grad, out = node.args["grad"], node.outputs[0]
    if not _float32(grad, out) or len(out.shape) != 4 or 0 in out.shape:
        return None
    n, c, h, w = out.shape
    ho, wo = grad.shape[2:]
    if ho == 0 or wo == 0 or h % ho or w % wo:
        return None
    kh, kw = h // ho, w // wo
    offsets = [(i, j) for i in range(kh) for j in range(kw)]
    base = ((np.arange(ho) * (kh * w))[:, None] + np.arange(wo) * kw).astype(np.int64)
    shape, small, f32, tag = (n, c, h, w), (n, c, ho, wo), _fw_dtype("float32"), id(node)
    planes = (np.arange(n * c, dtype=np.intp) * (h * w))[:, None]  # each plane's start

    def scatter(arena, grad, indices, relu=None):
        g0 = arena.buffer((tag, "g0"), small, _F32)
        np.add(_nd(grad), 0.0, out=g0)  # -0.0 -> +0.0, as the backend's store of g + 0.0
        g_bits = g0.view(_U32)
        entry = TILED.get(indices, (kh, kw))
        positive = TILED.positive(entry, relu) if entry is not None and relu is not None \
            else None
        if entry is not None and (relu is None or positive is not None):
            if positive is not None:  # +0.0 where the argmax's relu <= 0
                np.multiply(g_bits, positive, out=g_bits)
            at = arena.buffer((tag, "at"), (n * c, ho * wo), np.intp)
            np.add(_nd(indices).reshape(n * c, ho * wo), planes, out=at)
            array, dx = arena.out(out_key, shape, f32)
            flat = dx.reshape(-1).view(_U32)
            flat.fill(0)
            flat[at.reshape(-1)] = g_bits.reshape(-1)
            return array
        sel = arena.buffer((tag, "sel"), small, np.bool_)
        offset = arena.buffer((tag, "offset"), small, np.int64)
        np.subtract(_nd(indices), base, out=offset)
        below = arena.buffer((tag, "below"), small, np.bool_) if relu is not None else None
        r = _nd(relu) if relu is not None else None
        array, dx = arena.out(out_key, shape, f32)
        matched = 0
        for i, j in offsets:
            np.equal(offset, i * w + j, out=sel)
            matched += np.count_nonzero(sel)
            if r is not None:  # and not relu <= 0 there (NaN passes, as the select's mask)
                np.less_equal(r[:, :, i::kh, j::kw], 0, out=below)
                np.greater(sel, below, out=sel)
            np.multiply(g_bits, sel, out=dx[:, :, i::kh, j::kw].view(_U32))
        return array if matched == offset.size else None
    return scatter


def _pool_max2d_backward(node, buffer):
    scatter = _pool_backward_core(node, buffer(node.outputs[0]))
    if scatter is None:
        return None

    def pool_max2d_backward(arena, grad, indices, in_size):
        result = scatter(arena, grad, indices)
        if result is None:  # an index outside its own tile: the backend's scatter
            from .._backends.numpy.pool import pool_max2d_backward as backend
            return backend(grad, indices, in_size)
        return result
    return Special(pool_max2d_backward, list(node.args.values()), [node.outputs[0]],
                   "pool_max2d_backward")


def _relu_mask_of_pool_backward(group_node, producer, readers, visible, graph, position,
                                buffer):
    """A fused ``<le, where>`` group computing ``where(relu <= 0, 0, dx)`` (ReLU's backward;
    ``| sum``: also its sum over leading dims, a conv bias gradient) of a
    ``pool_max2d_backward`` result ``dx`` read nowhere else: one step (None when not that)."""
    group = group_node.args["group"]
    if group.softmax is not None or group.out_perm or len(group.outputs) != 1 or \
            group.outputs[0][1] != 1 or group.instrs[0].dtype != "bool":
        return None
    red = group.reduce
    if red is not None and (red["index"] != 1 or "extra" in red or "output" in red):
        return None
    if [(i.kind, i.op) for i in group.instrs] != [("binary", "le"), ("where", "where")]:
        return None
    (k0, r), (k1, s0) = group.instrs[0].operands
    c, zero, (k2, p) = group.instrs[1].operands
    if (k0, k1, k2) != ("in", "scalar", "in") or c != ("tmp", 0) or \
            group.scalars[s0] != 0 or not _zero_bits(zero, group):
        return None
    inputs = group_node.args["inputs"]
    relu, dx = inputs[r], inputs[p]
    pool = producer.get(dx.id)
    if pool is None or pool.op != "pool_max2d_backward" or readers[dx.id] != 1 or \
            dx.id in visible or not _float32(relu) or tuple(relu.shape) != tuple(dx.shape):
        return None
    if any(not n.is_view for n in graph.nodes[position[id(pool)] + 1:position[id(group_node)]]):
        return None
    outs = group_node.outputs
    scatter = _pool_backward_core(pool, buffer(outs[0]))
    if scatter is None:
        return None
    from .._backends.numpy._arrays import wrap
    from .fusion import run_numpy
    f32 = _fw_dtype("float32")

    def pool_backward_relu(arena, grad, indices, in_size, relu_array):
        result = scatter(arena, grad, indices, relu_array)
        if result is None:  # an index outside its own tile: the backend, then the group
            from .._backends.numpy.pool import pool_max2d_backward as backend
            args = [None, None]
            args[r], args[p] = relu_array, backend(grad, indices, in_size)
            return tuple(run_numpy(group, args))
        if red is None:
            return result
        total = np.sum(result._cache.reshape(red["shape"]), axis=red["dims"])
        return result, wrap(total, f32)  # the group's np.sum of the same array: same bits
    return Special(pool_backward_relu, list(pool.args.values()) + [relu], list(outs),
                   "pool_max2d_backward", skip=[pool])


def _zero_bits(ref, group) -> bool:
    return ref[0] == "scalar" and not np.float32(group.scalars[ref[1]]).view(np.uint32)


# convolutions -------------------------------------------------------------------------------
class ConvBuffers(np_conv.Buffers):
    """The NumPy backend's convolution arrays (``conv.Buffers``, by name) as scratch of
    ``arena`` for step ``tag``, kept between calls: per thread where a block of images
    uses them; the forward's kept columns reused only when no view of them is left."""

    def __init__(self, arena: "Arena", tag: int) -> None:
        self.arena, self.tag = arena, tag

    def scratch(self, name: str, shape: tuple, dtype) -> np.ndarray:
        key = (self.tag, name, threading.get_ident())
        return self.arena.flat(key, math.prod(shape), dtype).reshape(shape)

    def bordered(self, name: str, shape: tuple, dtype) -> np.ndarray:
        return self.arena.zeros((self.tag, name), shape, dtype)

    def cleared(self, name: str, shape: tuple, dtype) -> np.ndarray:
        buf = self.arena.buffer((self.tag, name), shape, dtype)
        buf.fill(0)
        return buf

    def kept(self, name: str, shape: tuple, dtype) -> np.ndarray:
        return self.arena.unheld((self.tag, name), shape, dtype)


def _conv_args(node) -> tuple:
    a = node.args
    return (tuple(a["stride"]), tuple(a["padding"]), tuple(a["dilation"]), int(a["groups"]))


def _conv2d_step(node, buffer, out_value, keep: bool, bias=None, relu: bool = False):
    """``fn(arena, x, weight, bias)``: the backend's ``conv2d`` (by image: the same GEMMs)
    into a value buffer, then ``relu(conv + bias)`` in place when ``bias`` is given; with
    ``keep`` (the input is saved for the backward) the columns are kept for its weight
    grad, as the backend keeps them."""
    x, weight = node.args["x"], node.args["weight"]
    if not _float32(x, weight, out_value) or len(x.shape) != 4 or 0 in out_value.shape:
        return None
    stride, padding, dilation, groups = _conv_args(node)
    out_size = tuple(node.args["out_size"])
    co = weight.shape[0]
    shape, f32, key, tag = (x.shape[0], co) + out_size, _fw_dtype("float32"), \
        buffer(out_value), id(node)

    def conv(arena, x, weight, bias_array=None):
        array, view = arena.out(key, shape, f32)
        if np_conv._conv_by_image(x, weight, stride, padding, dilation, groups, out_size,
                                  view, ConvBuffers(arena, tag), keep) is None:
            np.copyto(view, _nd(np_conv.conv2d(x, weight, stride, padding, dilation, groups,
                                               out_size)))  # the general path
        if bias_array is not None:
            np.add(view, _nd(bias_array).reshape(1, co, 1, 1), out=view)
        if relu:
            relu_into(view, view, lambda: arena.buffer((tag, "keep"), shape, np.bool_))
        return array
    return conv


def _conv2d(node, buffer, keep: bool):
    conv = _conv2d_step(node, buffer, node.outputs[0], keep)
    if conv is None:
        return None

    def conv2d(arena, x, weight, stride, padding, dilation, groups, out_size):
        return conv(arena, x, weight)
    return Special(conv2d, list(node.args.values()), [node.outputs[0]], "conv2d")


def _conv_epilogue(group_node, producer, readers, visible, graph, position, buffer, saved):
    """A fused ``<add, relu>`` group adding a bias ``(1, C, 1, 1)`` view to a ``conv2d``
    read nowhere else: one step computing ``relu(conv + bias)`` (None when not that)."""
    group = group_node.args["group"]
    if group.reduce is not None or group.softmax is not None or group.out_perm:
        return None
    if [(i.kind, i.op) for i in group.instrs] != [("binary", "add"), ("unary", "relu")]:
        return None
    if group.instrs[0].operands != [("in", 0), ("in", 1)] or \
            group.instrs[1].operands != [("tmp", 0)] or len(group.outputs) != 1 or \
            group.outputs[0][1] != 1:
        return None
    conv_value, bias = group_node.args["inputs"]
    conv = producer.get(conv_value.id)
    if conv is None or conv.op != "conv2d" or readers[conv_value.id] != 1 or \
            conv_value.id in visible:
        return None
    co = conv_value.shape[1] if len(conv_value.shape) == 4 else None
    if co is None or tuple(bias.shape) != (1, co, 1, 1) or not _float32(bias):
        return None
    start, end = position[id(conv)], position[id(group_node)]
    if any(not n.is_view for n in graph.nodes[start + 1:end]):
        return None  # something runs between the two: keep them apart
    out = group_node.outputs[0]
    fn = _conv2d_step(conv, buffer, out, conv.args["x"].id in saved, bias=bias, relu=True)
    if fn is None:
        return None
    conv_args = list(conv.args.values())

    def conv2d_bias_relu(arena, x, weight, stride, padding, dilation, groups, out_size, bias):
        return fn(arena, x, weight, bias)
    return Special(conv2d_bias_relu, conv_args + [bias], [out], "conv2d", skip=[conv])


def _saved(graph) -> set:
    """Ids of the values a training forward saves for its backward, and of views of them."""
    saved = {v.id for v in graph.internal_outputs}
    for node in graph.nodes:
        if node.is_view and node.args["input"].id in saved:
            saved.update(o.id for o in node.outputs if o is not None)
    return saved


def _conv_grad_step(node, buffer, kernel, backend):
    """A conv gradient step: ``kernel`` (the backend's path for the case, into
    ``ConvBuffers``, giving a view or None where the general path is needed) copied into a
    value buffer; None means the ``backend`` kernel."""
    out = node.outputs[0]
    if not _float32(out, *[v for v in node.args.values() if isinstance(v, Value)]) or \
            len(out.shape) != 4 or 0 in out.shape:
        return None
    shape, f32, key, tag = tuple(out.shape), _fw_dtype("float32"), buffer(out), id(node)

    def step(arena, *args):
        result = kernel(*args, ConvBuffers(arena, tag))
        if result is None:
            return backend(*args)
        array, view = arena.out(key, shape, f32)
        np.copyto(view.reshape(result.shape), result)
        return array
    return Special(step, list(node.args.values()), [out], node.op)


def _conv2d_weight_grad(node, buffer):
    return _conv_grad_step(node, buffer, np_conv._weight_grad_by_image,
                           np_conv.conv2d_weight_grad)


def _conv2d_input_grad(node, buffer):
    return _conv_grad_step(node, buffer, np_conv._input_grad_wide,
                           np_conv.conv2d_input_grad)


_BUILDERS = {
    "matmul": _matmul,
    "matmul_epilogue": _matmul_epilogue,
    "dropout": _dropout,
    "pool_max2d": _pool_max2d,
    "pool_max2d_backward": _pool_max2d_backward,
    "conv2d_weight_grad": _conv2d_weight_grad,
    "conv2d_input_grad": _conv2d_input_grad,
}


# softmax (the tail of a fused group) -----------------------------------------------------
def softmax_into(x, dim: int, log: bool, arena, key):
    """The NumPy backend's ``softmax`` of float32 Array ``x`` (``log``: log-softmax), the
    result in the arena's value buffer ``key`` (no arena: the backend's kernel)."""
    from .._backends.numpy.softmax import softmax
    if arena is None or key is None or x.dtype.name != "float32" or log:
        return softmax(x, dim, log)
    v = _nd(x)
    array, out = arena.out(key, tuple(v.shape), x.dtype)
    with np.errstate(all="ignore"):
        peak = np.max(v, axis=dim, keepdims=True, initial=-np.inf)
        np.subtract(v, peak, out=out)
        np.exp(out, out=out)
        total = np.sum(out, axis=dim, keepdims=True)
        np.divide(out, total, out=out)
    return array


def softmax_backward_into(grad, y, dim: int, log: bool, arena, key):
    """The NumPy backend's ``softmax_backward`` (``y * (g - sum(g * y))``) of float32 Arrays
    into the arena's value buffer ``key`` (no arena, or log: the backend's kernel)."""
    from .._backends.numpy.softmax import softmax_backward
    if arena is None or key is None or grad.dtype.name != "float32" or \
            y.dtype.name != "float32" or log:
        return softmax_backward(grad, y, dim, log)
    g, yv = _nd(grad), _nd(y)
    array, out = arena.out(key, tuple(g.shape), grad.dtype)
    with np.errstate(all="ignore"):
        np.multiply(g, yv, out=out)
        total = np.sum(out, axis=dim, keepdims=True)
        np.subtract(g, total, out=out)
        np.multiply(yv, out, out=out)
    return array
