"""Matrix products: ``matmul`` (and ``@``), ``mm``, ``bmm``, ``mv``, ``dot``, ``outer``.

Every product but ``outer`` runs through one differentiable primitive,
``_Matmul``: ``(..., M, K) @ (..., K, N)`` with broadcast batch dims. Its
forward hands the backend ``matmul`` kernel 3-d views ``(B, M, K)`` and
``(B, K, N)`` that read the operands where they lie (transposes and batch
broadcasts are strides, not copies); only batch dims that cannot be merged
into one strided dim are copied. Vector operands become matrices by
``unsqueeze`` and the result loses that dim again by ``squeeze``, as in
PyTorch. The backward is ``grad @ b^T`` and ``a^T @ grad`` (summed over
broadcast batch dims), written with these same ops, so it is differentiable
again.

Like PyTorch, matrix products do not promote: both operands must have the
same dtype. Integer products are exact (wrapping) on the CPU; ``cuda`` has
floating kernels only.
"""
from __future__ import annotations

import functools
import math

from ..amp import lower_precision
from .. import dtypes
from ..autograd.composite import one_node
from ..autograd.function import _NO_EDGE, Function, _edge, _node_type, rename_node
from ..autograd.function import record_saved_pair
from ..autograd.grad_mode import _state as _grad_state
from ..autograd.grad_mode import is_grad_enabled
from .._backends import Backend
from .._backends.array import Array, broadcast_strides
from .._backends.array import contiguous_strides as _contiguous_strides
from ..tensor import Size, Tensor
from ._util import backend, broadcast_shapes, check_tensor, common_device, normalize_dim, wrap
from .out import supports_out
from .registry import register

_new = object.__new__
# Row-major strides of a result shape: a cache of a pure function (results are built per op).
contiguous_strides = functools.lru_cache(maxsize=1024)(_contiguous_strides)

__all__ = ["matmul", "mm", "bmm", "mv", "dot", "outer"]
FUNCTIONAL = ["linear", "bilinear"]
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = (
    "matmul", "mm", "bmm", "mv", "dot", "outer", "addmm", "baddbmm", "addmv", "inner",
)

# matmul copies a broadcast operand whose batch dims do not merge (empty, copy_); linear copies
# rows that do not fold into one matrix, and its weight gradient is a matmul.
# (2-D products run the 2-D kernel mm, batched ones matmul)
register("matmul", "matmul", ("matmul", "mm", "empty", "copy_", "sum"))
for _name in ("mm", "mv", "dot"):
    register(_name, "matmul", ("mm",))
register("bmm", "matmul", ("matmul",))
register("outer", "matmul", ("mul", "sum"))
register("linear", "matmul", ("matmul_epilogue", "copy_", "sum", "empty", "mm"))
register("bilinear", "matmul", ("mm", "mul", "sum", "add", "copy_", "empty"))
del _name

# PyTorch's C++ type names of dtypes in its error messages (scalar type names: dtypes).
_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
              "bfloat16": "c10::BFloat16", "int32": "int", "int64": "long int", "bool": "bool",
              "int16": "short int", "int8": "signed char", "uint8": "unsigned char"}


# --- the primitive: batched (..., M, K) @ (..., K, N) ------------------------------------
class _Matmul(Function):
    """``a @ b`` for operands of at least 2 dims (batch dims broadcast)."""

    @classmethod
    def apply(cls, a, b):
        """``Function.apply(a, b)``: the product alone when nothing is recorded, the node
        built directly (``_record``) when one is; other arguments take the general path."""
        if not isinstance(a, Tensor) or not isinstance(b, Tensor):
            return Function.apply.__func__(cls, a, b)
        # _needs_input_grad((a, b)), inlined
        need_a = a._requires_grad or (a._grad_fn if a._base is None else a.grad_fn) is not None
        need_b = b._requires_grad or (b._grad_fn if b._base is None else b.grad_fn) is not None
        if not (_grad_state.enabled and (need_a or need_b)):
            return _forward(a, b)  # forward's result; the ctx it would fill is dropped
        return cls._record(a, b, need_a, need_b)

    @classmethod
    def _record(cls, a: Tensor, b: Tensor, need_a: bool, need_b: bool) -> Tensor:
        """``Function.apply(a, b)`` for a call that records a node, built directly: the same
        product and node (class, ``__dict__``, edges, saved tensors) as ``forward`` under
        ``Function.apply`` gives, without the generic ctx (``tests/test_record_fast_path.py``
        holds the two equal)."""
        out = _forward(a, b)
        name = _node_name(a, b)
        return record_saved_pair(_node_type(name), cls, a, b, need_a, need_b, out,
                                 node_name=name)

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor) -> Tensor:
        ctx.save_for_backward(a, b)
        ctx.node_name = _node_name(a, b)
        return _forward(a, b)

    @staticmethod
    def backward(ctx, grad: Tensor):
        a, b = ctx.saved_tensors
        # not is_grad_enabled() and a.ndim == b.ndim == grad.ndim == 2, inlined
        if (_grad_state.enabled is not True and len(a._a.shape) == 2 and len(b._a.shape) == 2
                and len(grad._a.shape) == 2):
            direct = _mm_grads_direct(ctx.needs_input_grad, grad, a, b)
            if direct is not None:
                return direct
        grad_a = _grad_a(grad, a, b) if ctx.needs_input_grad[0] else None
        grad_b = _grad_b(grad, a, b) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


def _node_name(a: Tensor, b: Tensor) -> str:
    """PyTorch's node of ``a @ b``: mm for matrices, bmm for equal batches, else a view of a
    product."""
    ndim_a, ndim_b = len(a._a.shape), len(b._a.shape)
    if ndim_a == ndim_b == 2:
        return "MmBackward0"
    if ndim_a == ndim_b == 3 and a._a.shape[0] == b._a.shape[0]:
        return "BmmBackward0"
    return "UnsafeViewBackward0"


def _mm_grads_direct(needs: tuple, grad: Tensor, a: Tensor, b: Tensor):
    """``(grad @ bᵀ, aᵀ @ grad)`` (the needed ones) of a 2-D product by the backend kernel on
    the views ``_forward`` would give it for ``_Matmul.apply(grad, b.mT)`` and
    ``_Matmul.apply(a.mT, grad)`` (so the same bits), without their op layer and views.
    Only for a backward that records nothing; None under a graph capture."""
    kernels = backend(grad)
    if type(kernels) is not Backend:
        return None  # a graph capture: it records the general backward's ops
    g = grad._a
    grad_a = grad_b = None
    if needs[0]:  # (M, N) @ bᵀ (N, K): the matrices _forward would give the kernel
        grad_a = wrap(kernels.mm(_rows_2d(g), _transposed(b._a), None), grad._device)
    if needs[1]:  # aᵀ (K, M) @ (M, N)
        grad_b = wrap(kernels.mm(_rows_2d(_transposed(a._a)), g, None), grad._device)
    return grad_a, grad_b


def _transposed(x: Array) -> Array:
    """The 2-D ``x`` transposed (``x.mT``'s array: strides swapped, same memory)."""
    return x.view((x.shape[1], x.shape[0]), (x.strides[1], x.strides[0]), x.offset)


def _rows_2d(x: Array) -> Array:
    """The 2-D ``x`` with the strides ``_fold_rows`` gives its rows (the row stride of a
    single row is 0): ``x`` itself unless it has one row. The 2-D kernel ``mm`` then sees the
    matrices (shapes and strides) the batched ``matmul`` saw in the (1, M, K) views."""
    if x.shape[0] != 1:
        return x
    return x.view(x.shape, (0, x.strides[1]), x.offset)


def _grad_a(grad: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """``grad @ b^T``, summed over the batch dims ``a`` was broadcast along.

    For matrices (a backward that records, ``create_graph``) it is ``linear(grad, b)``: one
    node reading ``b`` transposed where it lies, instead of a transpose node and a product
    (the same kernel on the same views: ``linear``'s epilogue adds nothing)."""
    if (_grad_state.enabled and len(grad._a.shape) == 2 and _plain_linear(grad, b, None)
            and type(backend(grad)) is Backend):
        return _Linear.record_plain(grad, b, None)
    result = _Matmul.apply(grad, b.mT)
    if tuple(result.shape) != tuple(a.shape):
        result = result.sum_to_size(tuple(a.shape))
    return result


def _grad_b(grad: Tensor, a: Tensor, b: Tensor) -> Tensor:
    """``a^T @ grad``, summed over the batch dims ``b`` was broadcast along.

    When ``b`` has no batch (a weight matrix applied to a batch of inputs),
    the batch is folded into the rows instead: one ``(K, B*M) @ (B*M, N)``
    product rather than B products and a sum.
    """
    if a.ndim > 2 and all(s == 1 for s in b.shape[:-2]):
        rows = math.prod(a.shape[:-1])
        rows_a = a.reshape((rows, a.shape[-1]))
        rows_grad = grad.reshape((rows, grad.shape[-1]))
        return _Matmul.apply(rows_a.mT, rows_grad).reshape(tuple(b.shape))
    result = _Matmul.apply(a.mT, grad)
    if tuple(result.shape) != tuple(b.shape):
        result = result.sum_to_size(tuple(b.shape))
    return result


def _forward(a: Tensor, b: Tensor) -> Tensor:
    """Run the backend kernel on 3-d views of ``a`` and ``b``; result (batch..., M, N)."""
    kernels = backend(a)
    a_shape, b_shape = a._a.shape, b._a.shape  # tuples (a.shape makes a Size)
    if len(a_shape) == len(b_shape) == 2 and type(kernels) is Backend:
        # matrices (not under a graph capture, which records the batched kernel): the 2-D
        # kernel on the matrices the views below hold
        return wrap(kernels.mm(_rows_2d(a._a), b._a, None), a._device)
    m, k = a_shape[-2:]
    n = b_shape[-1]
    if len(a_shape) == len(b_shape) == 2:  # matrices: no batch (broadcast_shapes of ())
        batch = ()
        folded = _fold_rows(a._a)
    else:
        batch = broadcast_shapes("matmul", a_shape[:-2], b_shape[:-2])
        folded = _fold_rows(a._a) if all(s == 1 for s in b_shape[:-2]) else None
    if folded is not None:
        a3 = folded
        b3 = b._a.view((1, k, n), (k * n,) + tuple(b._a.strides[-2:]), b._a.offset)
    else:
        a3 = _batched_view(kernels, a._a, batch, m, k)
        b3 = _batched_view(kernels, b._a, batch, k, n)
    out = kernels.matmul(a3, b3)
    shape = batch + (m, n)
    return wrap(out.view(shape, contiguous_strides(shape), out.offset), a._device)


def _merged_stride(sizes: tuple, strides: tuple):
    """The stride of ``sizes`` merged into one dim (row-major), or None if they don't merge."""
    if 0 in sizes:
        return 0
    dims = [(size, stride) for size, stride in zip(sizes, strides) if size != 1]
    for (_, outer), (size, inner) in zip(dims, dims[1:]):
        if outer != inner * size:
            return None
    return dims[-1][1] if dims else 0


def _fold_rows(a: Array):
    """``a`` (batch..., M, K) as one (1, batch*M, K) matrix when its rows merge, else None.

    Used when the other operand has no batch (or only size-1 batch dims):
    one large product instead of a batch of small ones, with the same
    contiguous (batch..., M, N) result. (A size-1 batch dim's stride reads nothing; the
    (1, M, K) views here give it the row-major one, so that a whole contiguous matrix is a
    contiguous batch, which the CPU backend views without a new buffer view.)
    """
    shape, strides = a.shape, a.strides
    if len(shape) == 2:  # _merged_stride of the one row dim, inlined (the common case)
        rows = shape[0]
        return a.view((1, rows, shape[1]), (rows * shape[1], strides[0] if rows > 1 else 0,
                                            strides[1]), a.offset)
    row_stride = _merged_stride(shape[:-1], strides[:-1])
    if row_stride is None:
        return None
    rows = math.prod(shape[:-1])
    return a.view((1, rows, shape[-1]), (0, row_stride, strides[-1]), a.offset)


def _batched_view(kernels, a: Array, batch: tuple, rows: int, cols: int) -> Array:
    """``a`` broadcast to (batch..., rows, cols) and viewed as (prod(batch), rows, cols).

    The batch dims merge into one strided dim when their strides allow it
    (broadcast dims have stride 0); otherwise the broadcast operand is copied
    to contiguous memory first.
    """
    full = batch + (rows, cols)
    strides = broadcast_strides(a.shape, a.strides, full)
    batch_stride = _merged_stride(batch, strides[:len(batch)])
    if batch_stride is None:
        copy = kernels.empty(full, a.dtype)
        kernels.copy_(copy, a.view(full, strides, a.offset))
        a, strides = copy, copy.strides
        batch_stride = rows * cols
    return a.view((math.prod(batch), rows, cols), (batch_stride,) + tuple(strides[-2:]), a.offset)


# --- linear: the matmul with a fused epilogue --------------------------------------------------
_ACTIVATIONS = (None, "relu", "gelu", "gelu_tanh", "silu")


class _Linear(Function):
    """``act(x @ w^T + b) + residual`` for x (..., K), w (N, K): one kernel launch forward.

    The pre-activation ``z = x @ w^T + b`` is kept (written by the same launch)
    when an activation needs it for the backward. The backward is written in
    framework ops (matmuls and elementwise), so it is differentiable again.
    """

    @classmethod
    def record_plain(cls, x: Tensor, w: Tensor, b) -> Tensor:
        """``Function.apply(x, w, b, None, None)`` of a 2-D plain linear (``_plain_linear``)
        in grad mode, its node (if an input needs a gradient) built directly: the same kernel
        call and node (class, ``__dict__``, edges, saved tensors) as ``forward`` under
        ``Function.apply`` (``tests/test_record_fast_path.py`` holds the two equal)."""
        # _needs_input_grad((x, w, b, None, None)), inlined
        need_x = x._requires_grad or (x._grad_fn if x._base is None else x.grad_fn) is not None
        need_w = w._requires_grad or (w._grad_fn if w._base is None else w.grad_fn) is not None
        need_b = b is not None and (b._requires_grad or (
            b._grad_fn if b._base is None else b.grad_fn) is not None)
        out = _linear_untracked(x, w, b)  # forward's kernel call (no activation: z not kept)
        if not (need_x or need_w or need_b):
            return out
        array = out._a
        has_bias = b is not None
        name = "AddmmBackward0" if has_bias else "MmBackward0"
        public = (2, 0, 1) if has_bias else (0, 1)
        node = _new(_node_type(name))
        # Function.apply's ctx.__dict__ after forward and its own bookkeeping
        node.__dict__ = {
            "fn_cls": cls, "retained": {},
            "needs_input_grad": (need_x, need_w, need_b, False, False),
            "activation": None, "residual_shape": None,
            "_saved": (x, w, b, None),
            "_saved_versions": (x._a.storage.version, w._a.storage.version,
                                b._a.storage.version if has_bias else 0, 0),
            "has_bias": has_bias, "node_name": name, "public_inputs": public,
            "_edges": (_edge(x) if need_x else _NO_EDGE, _edge(w) if need_w else _NO_EDGE,
                       _edge(b) if need_b else _NO_EDGE, _NO_EDGE, _NO_EDGE),
            "_public": public, "num_outputs": 1,
            "output_meta": [(Size(array.shape), array.dtype, out._device)],
        }
        watch = _grad_state.inplace_watch
        if watch is not None and any(t is not None and t._a.storage is watch[0]
                                     for t in (x, w, b)):
            watch[1].append(node)  # Node.save_for_backward's check
        out._grad_fn = node  # float32/float64 (``_plain_linear``)
        out._output_nr = 0
        return out

    @staticmethod
    def forward(ctx, x: Tensor, w: Tensor, b, residual, activation):
        rows = math.prod(x.shape[:-1])
        n, k = w.shape
        out_shape = tuple(x.shape[:-1]) + (n,)
        keep = activation is not None and ctx.needs_input_grad[0:3] != (False, False, False)
        x3 = _rows_view(backend(x), x._a, rows, k)
        w3 = w._a.view((1, k, n), (0, w._a.strides[1], w._a.strides[0]), w._a.offset)
        r3 = None
        if residual is not None:
            r = residual.expand(out_shape)
            r3 = _rows_view(backend(x), r._a, rows, n)
        out, z = backend(x).matmul_epilogue(x3, w3, None if b is None else b._a, activation,
                                            r3, keep)
        ctx.activation = activation
        ctx.residual_shape = None if residual is None else tuple(residual.shape)
        z_t = None if z is None else wrap(z.view(out_shape, contiguous_strides(out_shape),
                                                 z.offset), x._device)
        ctx.save_for_backward(x, w, b, z_t)
        ctx.has_bias = b is not None
        # PyTorch's addmm(bias, x, w.t()) / mm(x, w.t()), and its order of next_functions
        ctx.node_name = "AddmmBackward0" if b is not None else "MmBackward0"
        ctx.public_inputs = (2, 0, 1) if b is not None else (0, 1)
        return wrap(out.view(out_shape, contiguous_strides(out_shape), out.offset), x._device)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, w, b, z = ctx.saved_tensors
        if ctx.activation is not None:
            if is_grad_enabled():
                # create_graph: the saved pre-activation has no graph; recompute it with one
                z = _Linear.apply(x, w, b, None, None)
            if z.dtype in (dtypes.float16, dtypes.bfloat16):
                # one rounding at the end, like a fused backward kernel, not one per op
                grad_z = _ACTIVATION_GRADS[ctx.activation](grad.float(), z.float(), z.float(),
                                                           None).to(z.dtype)
            else:
                grad_z = _ACTIVATION_GRADS[ctx.activation](grad, z, z, None)
        else:
            grad_z = grad
        # not is_grad_enabled(), x.ndim >= 2 and grad_z.dtype, inlined
        if (_grad_state.enabled is not True and len(x._a.shape) >= 2
                and grad_z._a.dtype in _DIRECT_GRAD_DTYPES):
            direct = _linear_grads_direct(ctx, grad_z, x, w)
            if direct is not None:
                grad_x, grad_w, grad_b = direct
                grad_res = None
                if ctx.residual_shape is not None and ctx.needs_input_grad[3]:
                    grad_res = grad.sum_to_size(ctx.residual_shape)
                return grad_x, grad_w, grad_b, grad_res, None
        needs = ctx.needs_input_grad
        grad_x = grad_w = grad_b = grad_res = None
        if needs[0]:
            grad_x = _Matmul.apply(grad_z, w) if x.ndim >= 2 else \
                _Matmul.apply(grad_z.unsqueeze(0), w).squeeze(0)
        if needs[1] or ctx.has_bias and needs[2]:  # (not made when only grad_x is wanted)
            rows = math.prod(x.shape[:-1])
            flat_grad = grad_z.reshape((rows, grad_z.shape[-1]))
            if needs[1]:
                grad_w = _Matmul.apply(flat_grad.mT, x.reshape((rows, x.shape[-1])))
            if ctx.has_bias and needs[2]:
                grad_b = flat_grad.sum(0)
        if ctx.residual_shape is not None and ctx.needs_input_grad[3]:
            grad_res = grad.sum_to_size(ctx.residual_shape)
        return grad_x, grad_w, grad_b, grad_res, None


_DIRECT_GRAD_DTYPES = (dtypes.float32, dtypes.float64)


def _linear_grads_direct(ctx, grad_z: Tensor, x: Tensor, w: Tensor):
    """``(grad_z @ w, grad_zᵀ @ x, grad_z.sum(0))`` (the needed ones) by the backend kernels on
    (1, rows, ·) views, without recording: the operands, views and kernels the general
    backward's ``_Matmul`` and ``sum`` ops would use, so the same bits, without their op
    layer. None when the gradient's rows do not fold into one matrix (the general path copies
    them) and under a graph capture. Only for a backward that records nothing (not
    ``create_graph``)."""
    kernels = backend(x)
    if type(kernels) is not Backend:
        return None  # a graph capture: it records the general backward's ops
    if len(grad_z._a.shape) == 2 and len(x._a.shape) == 2:
        return _linear_grads_2d(ctx, kernels, grad_z, x, w)
    n, k = w._a.shape
    g = _fold_rows(grad_z._a)
    if g is None:
        return None
    rows = g.shape[1]
    grad_x = grad_w = grad_b = None
    if ctx.needs_input_grad[0]:
        w3 = w._a.view((1, n, k), (n * k,) + tuple(w._a.strides), w._a.offset)
        out = kernels.matmul(g, w3)
        shape = x._a.shape
        grad_x = wrap(out.view(shape, contiguous_strides(shape), out.offset), x._device)
    if ctx.needs_input_grad[1]:
        g_t = g.view((1, n, rows), (0, g.strides[2], g.strides[1]), g.offset)
        out = kernels.matmul(g_t, _rows_view(kernels, x._a, rows, k))
        grad_w = wrap(out.view((n, k), (k, 1), out.offset), x._device)
    if ctx.has_bias and ctx.needs_input_grad[2]:
        g2 = g.view((rows, n), tuple(g.strides[1:]), g.offset)
        grad_b = wrap(kernels.sum(g2, (0,), grad_z._a.dtype), x._device)
    return grad_x, grad_w, grad_b


def _linear_grads_2d(ctx, kernels, grad_z: Tensor, x: Tensor, w: Tensor) -> tuple:
    """``_linear_grads_direct`` of a 2-D ``x`` and gradient: the same kernels on the matrices
    of its (1, rows, ·) views (``_rows_2d``), by the 2-D ``mm`` (no batch views)."""
    g = _rows_2d(grad_z._a)
    needs = ctx.needs_input_grad
    grad_x = grad_w = grad_b = None
    if needs[0]:  # (rows, N) @ w (N, K)
        grad_x = wrap(kernels.mm(g, w._a, None), x._device)
    if needs[1]:  # gᵀ (N, rows) @ x (rows, K)
        grad_w = wrap(kernels.mm(_transposed(g), _rows_2d(x._a), None), x._device)
    if ctx.has_bias and needs[2]:
        grad_b = wrap(kernels.sum(g, (0,), grad_z._a.dtype), x._device)
    return grad_x, grad_w, grad_b


def _activation_grads() -> dict:
    from .activation import _d_gelu, _d_gelu_tanh, _d_silu
    from .unary import _d_relu
    return {"relu": _d_relu, "gelu": _d_gelu, "gelu_tanh": _d_gelu_tanh, "silu": _d_silu}


class _LazyGrads(dict):
    def __missing__(self, key):
        self.update(_activation_grads())
        return dict.__getitem__(self, key)


_ACTIVATION_GRADS = _LazyGrads()


def _rows_view(kernels, a: Array, rows: int, cols: int) -> Array:
    """``a`` (..., cols) as a (1, rows, cols) matrix; copied when its rows do not merge."""
    folded = _fold_rows(a) if a.ndim >= 2 else a.view((1, 1, cols), (0, 0, a.strides[-1]),
                                                       a.offset)
    if folded is not None:
        return folded
    copy = kernels.empty(tuple(a.shape), a.dtype)
    kernels.copy_(copy, a)
    return copy.view((1, rows, cols), (rows * cols, cols, 1), copy.offset)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None, *,
           activation: str | None = None, residual: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias`` (``torch.nn.functional.linear``), as one fused kernel.

    framework extensions (keyword-only): ``activation`` ('relu', 'gelu',
    'gelu_tanh', 'silu') applied after the bias and ``residual`` added last,
    in the same launch: ``act(input @ weight.T + bias) + residual``.
    """
    if activation is None and residual is None and _plain_linear(input, weight, bias):
        if len(input._a.shape) > 2:  # the end of the checked path below, without the checks
            return _checked_linear(input, weight, bias, None, None)
        if _grad_state.enabled and (input._requires_grad or weight._requires_grad
                                    or input._grad_fn is not None or weight._grad_fn is not None
                                    or input._base is not None or weight._base is not None
                                    or bias is not None and (bias._requires_grad
                                                             or bias._grad_fn is not None
                                                             or bias._base is not None)):
            return _Linear.record_plain(input, weight, bias)
        return _linear_untracked(input, weight, bias)
    _check_args("linear", input, weight, ("input", "weight"))
    common_device("linear", input, weight, *(t for t in (bias, residual) if t is not None))
    if weight.ndim != 2:
        raise RuntimeError(f"linear(): weight must be 2-D (out_features, in_features), got "
                           f"{weight.ndim}-D")
    if input.ndim == 0:
        raise RuntimeError("linear(): input must be at least 1-D")
    if input.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({_rows_text(input)} and {weight.shape[1]}x{weight.shape[0]})")
    _check_same_dtype("linear", input, weight)
    _check_supported("linear", input, "addmm")
    if bias is not None:
        check_tensor("linear", "bias", bias)
        if tuple(bias.shape) not in ((weight.shape[0],), ()) or bias.dtype is not input.dtype:
            if bias.dtype is not input.dtype:
                raise RuntimeError(f"linear(): bias has dtype {bias.dtype}, expected "
                                   f"{input.dtype}")
            raise RuntimeError(f"linear(): bias of shape {tuple(bias.shape)} does not match "
                               f"out_features {weight.shape[0]}")
        if tuple(bias.shape) != (weight.shape[0],):
            bias = bias.expand((weight.shape[0],)).contiguous()
    if activation not in _ACTIVATIONS:
        raise ValueError(f"linear(): activation must be one of {_ACTIVATIONS}, got "
                         f"{activation!r}")
    if residual is not None:
        check_tensor("linear", "residual", residual)
        out_shape = tuple(input.shape[:-1]) + (weight.shape[0],)
        if broadcast_shapes("linear", tuple(residual.shape), out_shape) != out_shape:
            raise RuntimeError(f"linear(): residual of shape {tuple(residual.shape)} does not "
                               f"broadcast to the output shape {out_shape}")
        residual = residual.to(input.dtype)
    if input.ndim == 1:
        out = _Linear.apply(input.unsqueeze(0), weight, bias,
                            None if residual is None else residual.expand(
                                (weight.shape[0],)).unsqueeze(0), activation)
        return rename_node(out.squeeze(0),
                           "ViewBackward0" if bias is not None else "SqueezeBackward4")
    return _checked_linear(input, weight, bias, residual, activation)


def _checked_linear(input: Tensor, weight: Tensor, bias, residual, activation) -> Tensor:
    """``linear`` of checked arguments: a batched input that records as rows
    (``_linear_rows``), anything else through ``_Linear``."""
    if input.ndim > 2 and is_grad_enabled() and (input.requires_grad or weight.requires_grad or (
            bias is not None and bias.requires_grad)):
        return _linear_rows(input, weight, bias, residual, activation)
    return _Linear.apply(input, weight, bias, residual, activation)


def _plain_linear(input, weight, bias) -> bool:
    """Whether ``linear(input, weight, bias)`` is the common case that passes every check of
    ``linear`` as it is: float32/float64 ``input`` of at least 2 dims and 2-D ``weight`` (and
    (N,) ``bias``) of one dtype and device, the inner sizes agreeing. Such a call goes
    straight to ``_Linear`` (or, recording nothing for a matrix, to its kernel): the same
    kernel call, without the checks."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        return False
    x, w = input._a, weight._a
    dtype = x.dtype
    if (dtype is not w.dtype or dtype not in _DIRECT_GRAD_DTYPES or len(x.shape) < 2
            or len(w.shape) != 2 or x.shape[-1] != w.shape[1]):
        return False
    device = input._device
    if weight._device is not device and weight._device != device:
        return False
    if bias is None:
        return True
    return (isinstance(bias, Tensor) and bias._a.dtype is dtype and bias._a.shape == (w.shape[0],)
            and (bias._device is device or bias._device == device))


def _linear_untracked(input: Tensor, weight: Tensor, bias) -> Tensor:
    """``_Linear.forward`` of a 2-D plain linear (``_plain_linear``) when nothing is recorded:
    the same ``matmul_epilogue`` call on the same views, without the Function's context."""
    kernels = backend(input)
    x, w = input._a, weight._a
    if type(kernels) is Backend:  # not a graph capture: the 2-D kernel on the views' matrices
        return wrap(kernels.mm(_rows_2d(x), _transposed(w), None if bias is None else bias._a),
                    input._device)
    n, k = w.shape
    x3 = _rows_view(kernels, x, x.shape[0], k)
    w3 = w.view((1, k, n), (0, w.strides[1], w.strides[0]), w.offset)
    out, _ = kernels.matmul_epilogue(x3, w3, None if bias is None else bias._a, None, None, False)
    shape = (x.shape[0], n)
    return wrap(out.view(shape, contiguous_strides(shape), out.offset), input._device)


def _linear_rows(input: Tensor, weight: Tensor, bias, residual, activation) -> Tensor:
    """Recorded ``linear`` of a batched input as PyTorch records it: rows (a view), one
    addmm, the result viewed back (the same single kernel launch)."""
    lead = tuple(input.shape[:-1])
    out_shape = lead + (weight.shape[0],)
    rows = input.reshape(-1, input.shape[-1])
    if residual is not None:
        residual = residual.expand(out_shape).reshape(-1, weight.shape[0])
    if residual is None and activation is None and _plain_linear(rows, weight, bias):
        out = _Linear.record_plain(rows, weight, bias)  # Function.apply's node, built directly
    else:
        out = _Linear.apply(rows, weight, bias, residual, activation)
    out = out.view(out_shape)
    return rename_node(out, "ViewBackward0" if bias is not None else "UnsafeViewBackward0")


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = sum_ij input1[..., i] weight[o, i, j] input2[..., j] + bias[o]``
    (``torch.nn.functional.bilinear``)."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError("bilinear(): input1 and input2 must have the same size except the "
                           f"last dimension, got {list(input1.shape)} and {list(input2.shape)}")
    out_features, in1, in2 = weight.shape
    if input1.shape[-1] != in1 or input2.shape[-1] != in2:
        raise RuntimeError(f"bilinear(): input1 size {input1.shape[-1]} and input2 size "
                           f"{input2.shape[-1]} do not match weight {list(weight.shape)}")
    # (..., in1) @ (in1, out * in2) -> (..., out, in2), then contract in2 with input2.
    mixed = input1.matmul(weight.permute(1, 0, 2).reshape(in1, out_features * in2))
    mixed = mixed.reshape(tuple(input1.shape[:-1]) + (out_features, in2))
    out = (mixed * input2.unsqueeze(-2)).sum(-1)
    return out if bias is None else out + bias


def _rows_text(x: Tensor) -> str:
    rows = math.prod(x.shape[:-1]) if x.ndim > 1 else 1
    return f"{rows}x{x.shape[-1]}"


# --- validation -----------------------------------------------------------------------------
def _torch_name(dtype, scalar: bool = False) -> str:
    """PyTorch's name of ``dtype`` in a message: its scalar type, or else its C++ type."""
    return dtypes.scalar_type_name(dtype) if scalar else _CPP_NAMES[dtype.name]


def _check_supported(op: str, x: Tensor, kernel: str) -> None:
    """Bool has no matmul; ``cuda`` only multiplies floating types."""
    unsupported = x.dtype is dtypes.bool or (x.is_cuda and not x.dtype.is_floating_point)
    if unsupported:
        where = f"{kernel}_cuda" if x.is_cuda else f"{kernel}_cpu"
        raise NotImplementedError(
            f"{op}(): \"{where}\" not implemented for '{_torch_name(x.dtype, scalar=True)}'")


def _check_same_dtype(op: str, a: Tensor, b: Tensor) -> None:
    if a.dtype is not b.dtype:
        raise RuntimeError(f"{op}(): expected m1 and m2 to have the same dtype, but got: "
                           f"{_torch_name(a.dtype)} != {_torch_name(b.dtype)}")


def _check_args(op: str, a, b, names=("input", "other")) -> None:
    check_tensor(op, names[0], a)
    check_tensor(op, names[1], b)


def _shape_text(shape) -> str:
    return "x".join(str(s) for s in shape)


# --- public ops -------------------------------------------------------------------------------
@supports_out
def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with PyTorch's rules for 1-D, 2-D and batched (broadcast) operands.

    1-D @ 1-D is a dot product (0-d result); a 1-D operand is otherwise
    treated as a row (left) or column (right) vector whose dim is removed
    from the result; batch dims (all but the last two) broadcast.
    """
    _check_args("matmul", input, other)
    if input.ndim == 0 or other.ndim == 0:
        raise RuntimeError(f"matmul(): both arguments to matmul need to be at least 1D, but they "
                           f"are {input.ndim}D and {other.ndim}D")
    if input.ndim == 1 and other.ndim == 1:
        return _dot("matmul", input, other)
    if other.ndim == 1:
        return _matrix_vector("matmul", input, other)
    common_device("matmul", input, other)
    if input.ndim == 1:
        _check_inner("matmul", (1,) + tuple(input.shape), tuple(other.shape))
        _check_same_dtype("matmul", input, other)
        _check_supported("matmul", input, "addmm")
        return rename_node(_Matmul.apply(input.unsqueeze(0), other).squeeze(-2),
                           "SqueezeBackward4" if other.ndim == 2 else "UnsafeViewBackward0")
    _check_inner("matmul", tuple(input.shape), tuple(other.shape))
    _check_same_dtype("matmul", input, other)
    _check_supported("matmul", input, "addmm")
    out = _Matmul.apply(input, other)
    return out if input.ndim == other.ndim == 2 else rename_node(out, "UnsafeViewBackward0")


def _check_inner(op: str, a_shape: tuple, b_shape: tuple) -> None:
    """``RuntimeError`` unless a's last dim equals b's second-to-last (batch dims broadcast)."""
    batch = broadcast_shapes(op, a_shape[:-2], b_shape[:-2])
    if a_shape[-1] == b_shape[-2]:
        return
    if len(b_shape) == 2:
        rows = math.prod(a_shape[:-1])
        raise RuntimeError(f"{op}(): mat1 and mat2 shapes cannot be multiplied "
                           f"({rows}x{a_shape[-1]} and {_shape_text(b_shape)})")
    count = math.prod(batch)
    raise RuntimeError(f"{op}(): Expected size for first two dimensions of batch2 tensor to be: "
                       f"[{count}, {a_shape[-1]}] but got: [{count}, {b_shape[-2]}].")


def _matrix_vector(op: str, mat: Tensor, vec: Tensor) -> Tensor:
    """(..., M, K) @ (K,) -> (..., M), as a product with a K x 1 matrix."""
    common_device(op, mat, vec)
    if mat.shape[-1] != vec.shape[0]:
        rows = math.prod(mat.shape[:-1])
        raise RuntimeError(f"{op}(): size mismatch, got input ({rows}), mat ({rows}x{mat.shape[-1]}), "
                           f"vec ({vec.shape[0]})")
    if mat.dtype is not vec.dtype:
        raise RuntimeError(f"{op}(): addmv input tensors must have the same dtype, but got "
                           f"{_torch_name(mat.dtype, True)} and {_torch_name(vec.dtype, True)}")
    _check_supported(op, mat, "addmv")
    return rename_node(_Matmul.apply(mat, vec.unsqueeze(-1)).squeeze(-1),
                       "MvBackward0" if mat.ndim == 2 else "UnsafeViewBackward0")


def _dot(op: str, a: Tensor, b: Tensor) -> Tensor:
    """(K,) . (K,) -> 0-d, as a (1, K) @ (K, 1) product."""
    common_device(op, a, b)
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"{op}(): inconsistent tensor size, expected tensor [{a.shape[0]}] and "
                           f"src [{b.shape[0]}] to have the same number of elements, but got "
                           f"{a.shape[0]} and {b.shape[0]} elements respectively")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"{op}(): dot : expected both vectors to have same dtype, but found "
                           f"{_torch_name(a.dtype, True)} and {_torch_name(b.dtype, True)}")
    _check_supported(op, a, "dot")
    return rename_node(_Matmul.apply(a.unsqueeze(0), b.unsqueeze(1)).reshape(()), "DotBackward0")


@supports_out
def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices: (n, m) @ (m, p) -> (n, p)."""
    _check_args("mm", input, mat2, ("input", "mat2"))
    if input.ndim != 2:
        raise RuntimeError(f"mm(): self must be a matrix, got a {input.ndim}-D tensor")
    if mat2.ndim != 2:
        raise RuntimeError(f"mm(): mat2 must be a matrix, got a {mat2.ndim}-D tensor")
    common_device("mm", input, mat2)
    _check_inner("mm", tuple(input.shape), tuple(mat2.shape))
    _check_same_dtype("mm", input, mat2)
    _check_supported("mm", input, "addmm")
    return _Matmul.apply(input, mat2)


@supports_out
def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched matrix product of 3-d tensors with equal batch sizes (no broadcasting)."""
    _check_args("bmm", input, mat2, ("input", "mat2"))
    if input.ndim != 3:
        raise RuntimeError(f"bmm(): batch1 must be a 3D tensor, got a {input.ndim}-D tensor")
    if mat2.ndim != 3:
        raise RuntimeError(f"bmm(): batch2 must be a 3D tensor, got a {mat2.ndim}-D tensor")
    common_device("bmm", input, mat2)
    expected = [input.shape[0], input.shape[2]]
    if [mat2.shape[0], mat2.shape[1]] != expected:
        raise RuntimeError(f"bmm(): Expected size for first two dimensions of batch2 tensor to be: "
                           f"{expected} but got: {[mat2.shape[0], mat2.shape[1]]}.")
    if input.dtype is not mat2.dtype:
        raise RuntimeError(f"bmm(): expected scalar type {_torch_name(input.dtype, True)} but found "
                           f"{_torch_name(mat2.dtype, True)}")
    _check_supported("bmm", input, "bmm")
    return _Matmul.apply(input, mat2)


def mv(input: Tensor, vec: Tensor) -> Tensor:
    """Matrix-vector product: (n, m) @ (m,) -> (n,)."""
    _check_args("mv", input, vec, ("input", "vec"))
    if input.ndim != 2 or vec.ndim != 1:
        raise RuntimeError(f"mv(): vector + matrix @ vector expected, got 1, {input.ndim}, {vec.ndim}")
    return _matrix_vector("mv", input, vec)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same size and dtype (0-d result)."""
    _check_args("dot", input, tensor, ("input", "tensor"))
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(f"dot(): 1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors")
    return _dot("dot", input, tensor)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """Outer product of two 1-D tensors: ``out[i, j] = input[i] * vec2[j]``.

    As in PyTorch this is an elementwise product of a column and a row, so
    dtypes promote (unlike the other matrix products).
    """
    _check_args("outer", input, vec2, ("input", "vec2"))
    if input.ndim != 1:
        raise RuntimeError(f"outer(): Expected 1-D argument self, but got {input.ndim}-D")
    if vec2.ndim != 1:
        raise RuntimeError(f"outer(): Expected 1-D argument vec2, but got {vec2.ndim}-D")
    common_device("outer", input, vec2)
    from .binary import mul
    return mul(input.unsqueeze(1), vec2.unsqueeze(0))


# --- compositions of the matrix product ----------------------------------------------------------
def _scaled_sum(op: str, input: Tensor, product: Tensor, beta, alpha) -> Tensor:
    """``beta * input + alpha * product`` (``input`` ignored, NaN included, when beta == 0)."""
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    term = input if beta == 1 else input * beta
    out = term + product
    if tuple(out.shape) != tuple(product.shape):
        raise RuntimeError(f"{op}(): input of shape {list(input.shape)} does not broadcast to "
                           f"the product's shape {list(product.shape)}")
    return out


def _scaled_product(op: str, input: Tensor, product, a: Tensor, b: Tensor, beta,
                    alpha) -> Tensor:
    """``beta * input + alpha * product(a, b)``. On half tensors (all three of one half
    dtype) it is computed in float32 and rounded once, as torch's addmm and baddbmm do:
    rounding the product, then each term, moves about a third of the results by a unit.
    (torch's half addmv rounds otherwise, in a way no simple form reproduces: it keeps the
    plain composition.)"""
    half = a.dtype
    if half not in _HALVES or b.dtype is not half or input.dtype is not half:
        return _scaled_sum(op, input, product(a, b), beta, alpha)
    wide = _scaled_sum(op, input.float(), product(a.float(), b.float()), beta, alpha)
    return wide.to(half)


_HALVES = (dtypes.float16, dtypes.bfloat16)


@one_node("AddmmBackward0")
def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)`` for 2-D ``mat1``, ``mat2``."""
    if mat1.ndim != 2 or mat2.ndim != 2:
        raise RuntimeError(f"addmm(): mat1 and mat2 must be matrices, got {mat1.ndim}-D and "
                           f"{mat2.ndim}-D")
    return _scaled_product("addmm", input, mm, mat1, mat2, beta, alpha)


@one_node("BaddbmmBackward0")
def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)`` for 3-D batches."""
    return _scaled_product("baddbmm", input, bmm, batch1, batch2, beta, alpha)


@one_node("AddmvBackward0")
def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * input + alpha * (mat @ vec)``."""
    return _scaled_sum("addmv", input, mv(mat, vec), beta, alpha)


def tensordot(a: Tensor, b: Tensor, dims=2) -> Tensor:
    """Contract the last ``dims`` dims of ``a`` with the first ``dims`` of ``b`` (or the listed
    dim pairs ``dims = (dims_a, dims_b)``) as one matrix product."""
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    dims_a = [normalize_dim("tensordot", d, a.ndim) for d in dims_a]
    dims_b = [normalize_dim("tensordot", d, b.ndim) for d in dims_b]
    if len(dims_a) != len(dims_b):
        raise RuntimeError("both dimension lists should have same length")
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[da]} in dim {da} and second has size {b.shape[db]} "
                               f"in dim {db}")
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    k = math.prod(a.shape[d] for d in dims_a)
    left = a.permute(free_a + dims_a).reshape(math.prod(a.shape[d] for d in free_a), k)
    right = b.permute(dims_b + free_b).reshape(k, math.prod(b.shape[d] for d in free_b))
    out_shape = tuple(a.shape[d] for d in free_a) + tuple(b.shape[d] for d in free_b)
    return mm(left, right).reshape(out_shape)


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Sum over the last dims of both (scalars multiply)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    return tensordot(input, other, ([-1], [-1]))


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation (``torch.einsum``), including ``...`` and repeated (diagonal) indices.

    Operands are contracted left to right; each pairwise contraction is one batched matrix
    product over the shared summed indices (indices no later term needs are summed first).
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    inputs, output = _parse_einsum(equation, operands)
    terms = [_einsum_prepare(t, spec) for t, spec in zip(operands, inputs)]
    current, spec = terms[0]
    for i in range(1, len(terms)):
        other, other_spec = terms[i]
        later = set(output).union(*(s for _, s in terms[i + 1:]))
        current, spec = _contract(current, spec, other, other_spec, later)
    current, spec = _sum_out(current, spec, set(output))
    return current.permute([spec.index(c) for c in output]) if output else current


def _parse_einsum(equation: str, operands) -> tuple:
    """Per-operand index strings and the output's, with ``...`` spelled as upper-case letters."""
    equation = equation.replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    specs = lhs.split(",")
    if len(specs) != len(operands):
        raise ValueError(f"einsum(): {len(specs)} operand subscripts but {len(operands)} "
                         f"operands")
    ellipsis_dims = 0
    for spec, t in zip(specs, operands):
        if "..." in spec:
            ellipsis_dims = max(ellipsis_dims, t.ndim - (len(spec) - 3))
        elif len(spec) != t.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                               f"({len(spec)}) does not match the number of dimensions "
                               f"({t.ndim}) for operand {specs.index(spec)} and no ellipsis "
                               "was given")
    fill = "".join(chr(ord("Z") - i) for i in range(ellipsis_dims))[::-1]
    inputs = []
    for spec, t in zip(specs, operands):
        if "..." in spec:
            here = t.ndim - (len(spec) - 3)
            spec = spec.replace("...", fill[len(fill) - here:])
        if not spec.isalpha() and spec:
            raise ValueError(f"einsum(): invalid subscript in {equation!r}")
        inputs.append(spec)
    if arrow:
        output = rhs.replace("...", fill)
    else:
        counts = {}
        for spec in inputs:
            for c in spec:
                counts[c] = counts.get(c, 0) + 1
        output = fill + "".join(sorted(c for c, k in counts.items() if k == 1 and c not in fill))
    for c in output:
        if not any(c in spec for spec in inputs):
            raise ValueError(f"einsum(): output subscript {c} does not appear in the input")
    return inputs, output


def _einsum_prepare(t: Tensor, spec: str) -> tuple:
    """Take diagonals for repeated indices; returns (tensor, index string)."""
    while len(set(spec)) != len(spec):
        c = next(c for c in spec if spec.count(c) > 1)
        first = spec.index(c)
        second = spec.index(c, first + 1)
        from .shape import diagonal
        t = diagonal(t, 0, first, second)
        spec = "".join(x for i, x in enumerate(spec) if i not in (first, second)) + c
    return t, spec


def _sum_out(t: Tensor, spec: str, keep: set) -> tuple:
    """Sum the dims whose index is not in ``keep``."""
    dims = [i for i, c in enumerate(spec) if c not in keep]
    if not dims:
        return t, spec
    return t.sum(dims), "".join(c for c in spec if c in keep)


def _contract(a: Tensor, sa: str, b: Tensor, sb: str, later: set) -> tuple:
    """One pairwise step: indices in both and kept are batch, in both and not kept summed."""
    a, sa = _sum_out(a, sa, later | set(sb))
    b, sb = _sum_out(b, sb, later | set(sa))
    batch = [c for c in sa if c in sb and c in later]
    summed = [c for c in sa if c in sb and c not in later]
    left = [c for c in sa if c not in sb]
    right = [c for c in sb if c not in sa]
    sizes = {c: a.shape[sa.index(c)] for c in sa}
    for c in sb:
        size = b.shape[sb.index(c)]
        if c in sizes and sizes[c] != size and 1 not in (sizes[c], size):
            raise RuntimeError(f"einsum(): operands do not broadcast with remapped shapes for "
                               f"subscript {c}: {sizes[c]} and {size}")
        sizes[c] = max(sizes.get(c, 1), size)
    a3 = a.permute([sa.index(c) for c in batch + left + summed])
    b3 = b.permute([sb.index(c) for c in batch + summed + right])
    a3 = a3.expand(tuple(sizes[c] for c in batch) + tuple(a3.shape[len(batch):]))
    b3 = b3.expand(tuple(sizes[c] for c in batch) + tuple(b3.shape[len(batch):]))
    nb = math.prod(sizes[c] for c in batch)
    nl = math.prod(sizes[c] for c in left)
    nk = math.prod(sizes[c] for c in summed)
    nr = math.prod(sizes[c] for c in right)
    out = matmul(a3.reshape(nb, nl, nk), b3.reshape(nb, nk, nr))
    out = out.reshape(tuple(sizes[c] for c in batch + left + right))
    return out, "".join(batch + left + right)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    """p-norm distances between the rows of ``x1`` (..., P, M) and of ``x2`` (..., R, M)."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    difference = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return difference.norm(p, dim=-1)


__all__ += ["addmm", "baddbmm", "addmv", "tensordot", "inner", "einsum", "cdist"]
register("addmv", "matmul", ("mm", "mul", "add"))
# copy_/empty: half tensors computed in float32 and rounded once (``_scaled_product``)
register("addmm", "matmul", ("mm", "mul", "add", "copy_", "empty"))
register("baddbmm", "matmul", ("matmul", "mul", "add", "copy_", "empty"))
for _name in ("tensordot", "inner"):
    register(_name, "matmul", ("mm",))
register("einsum", "matmul", ("matmul", "mm", "sum", "copy_", "full"))
register("cdist", "matmul", ("sub", "sum", "sqrt", "abs", "pow", "div", "eq", "mul", "neg",
                             "sign", "where"))
del _name


# Under framework.autocast these run in the autocast dtype (float32 inputs cast down).
matmul = lower_precision(matmul)
mm = lower_precision(mm)
bmm = lower_precision(bmm)
mv = lower_precision(mv)
linear = lower_precision(linear)
