"""``Tensor``: metadata, Python protocol methods and thin methods that call ops.

A tensor is an ``Array`` view (storage, shape, strides, offset, dtype) on a
device, plus its autograd state: ``requires_grad`` for leaves, ``grad_fn``
for results of recorded ops, and ``grad``. Views share their storage and its
version counter. All computation lives in ``framework.ops``.
"""
from __future__ import annotations

import sys
import weakref

from . import dtypes
from .devices import device as Device

_TYPE_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
    "bfloat16": "BFloat16Tensor", "int32": "IntTensor", "int64": "LongTensor", "bool": "BoolTensor",
    "uint8": "ByteTensor", "int8": "CharTensor", "int16": "ShortTensor",
}


class Tensor:
    """A multi-dimensional array on ``cpu`` or ``cuda`` that can record gradients."""

    __array_priority__ = 1000  # NumPy scalars defer to Tensor's reflected operators

    # Autograd state defaults, shadowed per tensor once set (``_make`` sets only what varies).
    _grad = None
    _grad_fn = None
    _output_nr = 0
    _accumulator = None
    _base = None  # for views: the tensor owning the memory (never itself a view)
    _seen_version = 0  # for views: the storage version this view's grad_fn reflects
    _view_meta = None  # for views that can't be rebased: see ``framework.autograd.views``
    _hooks = None
    _post_accumulate_hooks = None

    def __new__(cls, *args, device=None) -> "Tensor":
        """Legacy constructor like ``torch.Tensor``: ``Tensor(data)`` copies ``data`` as
        float32, ``Tensor(2, 3)`` is uninitialized float32 of that shape."""
        from .ops import creation
        if len(args) == 1 and not isinstance(args[0], int):
            t = creation.tensor(args[0], dtype=dtypes.float32, device=device)
        elif not args:
            t = creation.empty((0,), dtype=dtypes.float32, device=device)
        else:
            t = creation.empty(args, dtype=dtypes.float32, device=device)
        if cls is not Tensor:
            t.__class__ = cls
        return t

    def __init__(self, *args, **kwargs) -> None:
        """State is set by ``__new__``/``_make``."""

    @classmethod
    def _make(cls, array, device: Device, requires_grad: bool = False) -> "Tensor":
        t = object.__new__(cls)
        t._a = array
        t._device = device
        t._requires_grad = requires_grad
        return t

    # metadata -------------------------------------------------------------
    @property
    def shape(self) -> "Size":
        """The size of each dimension."""
        return Size(self._a.shape)

    def size(self, dim: int | None = None):
        """``shape``, or the size of one dimension."""
        if dim is None:
            return Size(self._a.shape)
        return self._a.shape[_wrap_dim(dim, self.ndim, "size")]

    @property
    def dtype(self) -> dtypes.dtype:
        """Element type."""
        return self._a.dtype

    @property
    def device(self) -> Device:
        """Device the data lives on."""
        return self._device

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self._a.shape)

    def dim(self) -> int:
        """Number of dimensions."""
        return len(self._a.shape)

    ndimension = dim

    def numel(self) -> int:
        """Number of elements."""
        return self._a.numel

    nelement = numel

    def stride(self, dim: int | None = None):
        """Step in elements between neighbours along each dimension."""
        if dim is None:
            return tuple(self._a.strides)
        return self._a.strides[_wrap_dim(dim, self.ndim, "stride")]

    def data_ptr(self) -> int:
        """Address of the first element (host memory on the CPU and under the interpreter)."""
        from ._backends import for_device
        return for_device(self._device).data_ptr(self._a)

    def const_data_ptr(self) -> int:
        """``data_ptr`` (read-only use)."""
        return self.data_ptr()

    def is_set_to(self, tensor: "Tensor") -> bool:
        """Whether ``self`` and ``tensor`` view the same memory the same way (storage,
        offset, shape and strides)."""
        a, b = self._a, tensor._a
        return (a.storage is b.storage and a.offset == b.offset and
                tuple(a.shape) == tuple(b.shape) and tuple(a.strides) == tuple(b.strides))

    @property
    def name(self):
        """None: framework tensors carry no dim names (PyTorch's unnamed tensors)."""
        return None

    def new(self, *args, **kwargs) -> "Tensor":
        """The legacy constructor: ``t.new(sizes...)`` uninitialized, ``t.new(data)`` from
        data, ``t.new()`` empty; this tensor's dtype and device."""
        from .ops import creation
        device = kwargs.pop("device", self.device)
        if kwargs:
            raise TypeError(f"new() got unexpected keyword arguments {sorted(kwargs)}")
        if not args:
            return creation.empty(0, dtype=self.dtype, device=device)
        if len(args) == 1 and not isinstance(args[0], int):
            if isinstance(args[0], (Size, tuple)) and all(isinstance(n, int) for n in args[0]) \
                    and isinstance(args[0], Size):
                return creation.empty(tuple(args[0]), dtype=self.dtype, device=device)
            return creation.tensor(args[0], dtype=self.dtype, device=device)
        return creation.empty(_shape_args(args), dtype=self.dtype, device=device)

    def record_stream(self, stream) -> None:
        """Nothing to record: framework's memory is not reused across streams while a tensor
        lives (its allocator frees a tensor's memory only once it is unreachable)."""

    def set_(self, source=None, *args) -> "Tensor":
        """Make ``self`` view what ``source`` (a tensor) views: the same memory, shape and
        strides (``set_()``: an empty tensor). Storages with explicit geometry are not
        supported (framework has no public Storage type)."""
        from .ops.inplace import set_
        return set_(self, source, *args)

    def resize_as(self, tensor: "Tensor") -> "Tensor":
        """``self`` reshaped to ``tensor``'s shape (the element count must match; PyTorch's
        deprecated non-in-place resize, which warns)."""
        import warnings
        warnings.warn("non-inplace resize_as is deprecated", UserWarning, stacklevel=2)
        if self.numel() != tensor.numel():
            raise RuntimeError(f"Requested size {list(tensor.shape)} doesn't match current "
                               f"size {list(self.shape)}")
        return self.reshape(tuple(tensor.shape))

    def geqrf(self):
        """``framework.geqrf(self)``: ``(a, tau)``, LAPACK's compact QR."""
        from ._aten import geqrf
        return geqrf(self)

    def orgqr(self, input2: "Tensor") -> "Tensor":
        """``linalg.householder_product(self, input2)``."""
        from . import linalg
        return linalg.householder_product(self, input2)

    def ormqr(self, input2: "Tensor", input3: "Tensor", left: bool = True,
              transpose: bool = False) -> "Tensor":
        """The product of ``input3`` with Q of the Householder reflectors in ``self``/``input2``
        (``left``: Q @ input3, else input3 @ Q; ``transpose``: Q^T)."""
        from ._aten import ormqr
        return ormqr(self, input2, input3, left, transpose)

    def storage_offset(self) -> int:
        """Offset of the first element within the storage, in elements."""
        return self._a.offset

    def is_contiguous(self, memory_format=None) -> bool:
        """True for a dense layout in ``memory_format`` (default: row-major, no gaps)."""
        if memory_format is None or memory_format.name == "contiguous_format":
            return self._a.is_contiguous()
        from . import _memory
        if memory_format is _memory.preserve_format:
            raise RuntimeError("is_contiguous(): preserve_format is not a format a tensor can "
                               "be in")
        return _memory.is_in(tuple(self.shape), self.stride(), _memory.check("is_contiguous",
                                                                              memory_format))

    def element_size(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        """Bytes the elements take (``numel * itemsize``)."""
        return self.numel() * self.dtype.itemsize

    @property
    def is_cuda(self) -> bool:
        """True for tensors on a ``cuda`` device."""
        return self._device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        """True for tensors on the CPU."""
        return self._device.type == "cpu"

    def is_floating_point(self) -> bool:
        """True for floating-point dtypes."""
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        """Always False."""
        return False

    def is_conj(self) -> bool:
        """Always False: no lazy conjugation (framework has no complex dtypes)."""
        return False

    def conj(self) -> "Tensor":
        """``self``: a real tensor is its own conjugate."""
        return self

    def resolve_conj(self) -> "Tensor":
        """``self`` (no lazy conjugation to resolve)."""
        return self

    def conj_physical(self) -> "Tensor":
        """A copy of ``self`` (the conjugate of a real tensor)."""
        return self.clone()

    @property
    def real(self) -> "Tensor":
        """``self``: a real tensor's real part."""
        return self

    @property
    def imag(self) -> "Tensor":
        """Refused, as PyTorch refuses it for real tensors."""
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")

    def sgn(self) -> "Tensor":
        """``sign`` (PyTorch's ``sgn`` of a real tensor)."""
        return self.sign()

    def adjoint(self) -> "Tensor":
        """The transpose of the last two dims (the conjugate transpose of real matrices)."""
        from ._aten import adjoint
        return adjoint(self)

    def angle(self) -> "Tensor":
        """0 for x >= 0, pi for x < 0, NaN for NaN."""
        from ._aten import angle
        return angle(self)

    def get_device(self) -> int:
        """The cuda index, or -1 on the CPU."""
        return self._device.index if self.is_cuda else -1

    def type(self, dtype=None):
        """Type name like ``framework.FloatTensor``, or a cast when ``dtype`` is given."""
        if dtype is None:
            prefix = "framework.cuda." if self.is_cuda else "framework."
            return prefix + _TYPE_NAMES[self.dtype.name]
        if isinstance(dtype, str):
            return self._type_from_name(dtype)
        return self.to(dtype)

    def _type_from_name(self, name: str) -> "Tensor":
        """``type('torch.cuda.FloatTensor')``-style casts (``framework.`` prefix also accepted)."""
        parts = name.split(".")
        by_name = {v: k for k, v in _TYPE_NAMES.items()}
        if parts[-1] not in by_name or parts[0] not in ("torch", "framework"):
            raise ValueError(f"invalid type: '{name}'")
        device = "cuda" if "cuda" in parts[1:-1] else "cpu"
        return self.to(device, getattr(dtypes, by_name[parts[-1]]))

    @property
    def _version(self) -> int:
        return self._a.storage.version

    # autograd state -----------------------------------------------------
    @property
    def grad_fn(self):
        """The graph node that produced this tensor (None for leaves).

        A view whose memory was written in place since its ``grad_fn`` was set
        gets it regenerated from its base's current graph first.
        """
        if self._base is not None and self._a.storage.version != self._seen_version:
            from .autograd.views import refresh_view
            refresh_view(self)
        return self._grad_fn

    @grad_fn.setter
    def grad_fn(self, node) -> None:
        self._grad_fn = node

    @property
    def grad(self) -> "Tensor | None":
        """The accumulated gradient (None until a backward reaches this leaf)."""
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got "
                                f"{type(value).__name__}")
            if tuple(value.shape) != tuple(self.shape):
                raise RuntimeError(f"assigned grad has data of a different size: "
                                   f"{list(value.shape)} vs {list(self.shape)}")
            if value.dtype is not self.dtype:
                raise RuntimeError(f"assigned grad has data of a different type: "
                                   f"{value.dtype} vs {self.dtype}")
            if value.device != self.device:
                raise RuntimeError(f"assigned grad has data located on a different device: "
                                   f"{value.device} vs {self.device}")
        self._grad = value

    @property
    def requires_grad(self) -> bool:
        """Whether gradients are recorded for this tensor."""
        try:
            return self._requires_grad or self.grad_fn is not None
        except RuntimeError:  # a view whose graph can't be rebased: it raises when used
            return True

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self.grad_fn is not None:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if value and not self.dtype.is_floating_point:
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place; returns ``self`` (a no-op ``True`` on non-leaves)."""
        if requires_grad and self.grad_fn is not None:
            return self
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors not produced by a recorded op."""
        return self.grad_fn is None

    @property
    def retains_grad(self) -> bool:
        """True when ``retain_grad()`` was called on this non-leaf."""
        node = self.grad_fn
        return node is not None and self._output_nr in node.retained

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
            return
        self.grad_fn.retained[self._output_nr] = weakref.ref(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a new one."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            self.grad_fn._register_tensor_hook(self._output_nr, hook)
        else:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
        return _HookHandle(self, hook)

    def _leaf_hooks(self) -> list:
        return self._hooks or []

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(self)`` after a backward pass accumulated a gradient into this leaf's
        ``.grad`` (``DistributedDataParallel`` starts its all-reduce from here)."""
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = []
        self._post_accumulate_hooks.append(hook)
        return _HookHandle(self, hook, "_post_accumulate_hooks")

    def _get_accumulator(self):
        if self._accumulator is None:
            from .autograd.function import AccumulateGrad
            self._accumulator = AccumulateGrad(self)
        return self._accumulator

    def _alias(self) -> "Tensor":
        """A new tensor object viewing the same memory with the same autograd identity."""
        t = Tensor._make(self._a, self._device, self._requires_grad)
        t.grad_fn = self.grad_fn
        t._output_nr = self._output_nr
        if self._requires_grad and self.grad_fn is None:
            t._accumulator = self._get_accumulator()
        return t

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate the gradient of this tensor into the leaves' ``.grad``."""
        from . import autograd
        autograd.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> "Tensor":
        """A tensor sharing this one's memory, outside the graph."""
        return Tensor._make(self._a, self._device)

    def detach_(self) -> "Tensor":
        """Remove this tensor from the graph in place (views raise, like PyTorch)."""
        if self._base is not None:
            from .autograd.views import DETACH_VIEW
            raise RuntimeError(DETACH_VIEW)
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> "Tensor":
        """The same memory without autograd history."""
        return self.detach()

    @data.setter
    def data(self, other: "Tensor") -> None:
        if not isinstance(other, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(other).__name__}")
        self._a = other._a
        self._device = other._device

    # conversion -----------------------------------------------------------
    def numpy(self, force: bool = False):
        """The data as a NumPy array (shares memory on the CPU)."""
        if self.requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        if self.is_cuda and not force:
            raise TypeError(f"can't convert {self._device} device type tensor to numpy. "
                            "Use Tensor.cpu() to copy the tensor to host memory first.")
        from ._backends import for_device
        return for_device(self._device).as_numpy(self._a)

    def _host(self):
        """A host NumPy copy of the data, from any device."""
        return _backends().for_device(self._device).to_numpy(self._a)

    def item(self):
        """The single value of a one-element tensor as a Python number."""
        if self._a.numel != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return self._host().item()

    def tolist(self):
        """The data as (nested) Python lists of numbers."""
        from ._backends import for_device
        host = for_device(self._device).as_numpy(self._a)  # (a view on cpu: tolist copies)
        if self._a.dtype is dtypes.bfloat16:
            host = host.astype("float32")
        return host.tolist()

    def __array__(self, dtype=None, copy=None):
        host = self.detach()._host()
        return host if dtype is None else host.astype(dtype)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._a.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        if self.numel() != 1:
            amount = "no values" if self.numel() == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
        return bool(self.item())

    def __float__(self) -> float:
        return float(self._scalar())

    def __int__(self) -> int:
        return int(self._scalar())

    def _scalar(self):
        if self.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __index__(self) -> int:
        if self._a.dtype.is_floating_point or self._a.numel != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        from ._format import format_tensor
        return format_tensor(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        if self.ndim == 0:
            return format(self.item(), spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return repr(self)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        copy = self.detach().clone()
        copy._requires_grad = self._requires_grad
        if self.grad is not None:
            copy.grad = self.grad.detach().clone()
        memo[id(self)] = copy
        return copy

    def __reduce_ex__(self, protocol):
        return (_rebuild, (self.detach()._host(), self.dtype.name, str(self._device),
                           self._requires_grad))

    # operators ------------------------------------------------------------
    # + - * / and their reflections: framework.ops.binary.TENSOR_OPERATORS (installed by
    # ``install_methods``; plain untracked tensors go straight to the kernel there)

    def __floordiv__(self, other):
        return _binary().floor_divide(self, other)

    def __rfloordiv__(self, other):
        return _binary().floor_divide(other, self)

    def __mod__(self, other):
        return _binary().remainder(self, other)

    def __rmod__(self, other):
        return _binary().remainder(other, self)

    def __pow__(self, other):
        return _binary().pow(self, other)

    def __rpow__(self, other):
        return _binary().pow(other, self)

    def __matmul__(self, other):
        return _matmul().matmul(self, other)

    def __rmatmul__(self, other):
        return _matmul().matmul(other, self)

    def __neg__(self):
        return _unary().neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _unary().abs(self)

    def __invert__(self):
        return _unary().bitwise_not(self)

    def __and__(self, other):
        return _binary().bitwise_and(self, other)

    def __rand__(self, other):
        return _binary().bitwise_and(other, self)

    def __or__(self, other):
        return _binary().bitwise_or(self, other)

    def __ror__(self, other):
        return _binary().bitwise_or(other, self)

    def __xor__(self, other):
        return _binary().bitwise_xor(self, other)

    def __rxor__(self, other):
        return _binary().bitwise_xor(other, self)

    def __lshift__(self, other):
        return _binary().bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return _binary().bitwise_left_shift(other, self)

    def __rshift__(self, other):
        return _binary().bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return _binary().bitwise_right_shift(other, self)

    def __eq__(self, other):
        if other is None:
            return False
        return _compare().eq(self, other)

    def __ne__(self, other):
        if other is None:
            return True
        return _compare().ne(self, other)

    def __lt__(self, other):
        return _compare().lt(self, other)

    def __le__(self, other):
        return _compare().le(self, other)

    def __gt__(self, other):
        return _compare().gt(self, other)

    def __ge__(self, other):
        return _compare().ge(self, other)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __ifloordiv__(self, other):
        return self.floor_divide_(other)

    def __imod__(self, other):
        return self.remainder_(other)

    def __ipow__(self, other):
        return self.pow_(other)

    def __imatmul__(self, other):
        # PyTorch has no in-place matmul: ``a @= b`` rebinds ``a`` to a new tensor
        return self.matmul(other)

    def __iand__(self, other):
        return self.bitwise_and_(other)

    def __ior__(self, other):
        return self.bitwise_or_(other)

    def __ixor__(self, other):
        return self.bitwise_xor_(other)

    def __ilshift__(self, other):
        return self.bitwise_left_shift_(other)

    def __irshift__(self, other):
        return self.bitwise_right_shift_(other)

    def where(self, condition, y) -> "Tensor":
        """``self`` where ``condition`` else ``y``: ``framework.where(condition, self, y)``."""
        return _compare().where(condition, self, y)

    def __getitem__(self, index):
        from .ops import shape
        return shape.getitem(self, index)

    def __setitem__(self, index, value) -> None:
        from .ops import shape
        shape.setitem(self, index, value)

    # views and conversions with PyTorch's argument forms -------------------------
    @property
    def T(self) -> "Tensor":
        """All dims reversed (the transpose of a matrix)."""
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> "Tensor":
        """The last two dims swapped."""
        if len(self._a.shape) < 2:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                               f"Got {self.ndim}-D tensor.")
        return _shape().transpose(self, -2, -1)  # self.transpose(-2, -1), without the method

    def view(self, *shape, size=None) -> "Tensor":
        """A view with a new shape (raises if the strides do not allow it), or with
        ``view(dtype)`` the same bytes read as another dtype."""
        shape = (size,) if size is not None else shape
        if len(shape) == 1 and isinstance(shape[0], dtypes.dtype):
            return _shape().view_dtype(self, shape[0])
        return _shape().view(self, _shape_args(shape))

    def reshape(self, *shape, **kwargs) -> "Tensor":
        """A view with a new shape when possible, else a copy."""
        if kwargs:
            shape = _keyword_shape("reshape", shape, kwargs, "shape")
        return _shape().reshape(self, _shape_args(shape))

    def unfold(self, dimension: int, size: int, step: int) -> "Tensor":
        """A view of every ``size``-long window of dim ``dimension``, ``step`` apart (windows
        along that dim, the window's elements in a new last dim)."""
        from .ops import shape as shape_ops
        return shape_ops.unfold(self, dimension, size, step)

    def permute(self, *dims, **kwargs) -> "Tensor":
        """A view with dims reordered."""
        if kwargs:
            dims = _keyword_shape("permute", dims, kwargs, "dims")
        return _shape().permute(self, _shape_args(dims))

    def contiguous(self, memory_format=None) -> "Tensor":
        """``self`` when already dense row-major (or in ``memory_format``), else a copy."""
        return _shape().contiguous(self, memory_format)

    def transpose(self, dim0: int, dim1: int) -> "Tensor":
        """A view with ``dim0`` and ``dim1`` swapped."""
        return _shape().transpose(self, dim0, dim1)

    def t(self) -> "Tensor":
        """The transpose of a tensor with at most 2 dims."""
        return _shape().t(self)

    def expand(self, *sizes, **kwargs) -> "Tensor":
        """A view broadcasting size-1 dims to ``sizes`` (-1 keeps a size)."""
        if kwargs:
            sizes = _keyword_shape("expand", sizes, kwargs, "size")
        return _shape().expand(self, _shape_args(sizes))

    @property
    def mH(self) -> "Tensor":
        """The conjugate transpose of the last two dims (``mT`` for real tensors)."""
        return self.mT

    @property
    def H(self) -> "Tensor":
        """The conjugate transpose of a matrix (``T`` for real 2-D tensors)."""
        if self.ndim not in (0, 2):
            raise RuntimeError(f"tensor.H is only supported on matrices (2-D tensors). Got "
                               f"{self.ndim}-D tensor.")
        return self.T

    def split(self, split_size, dim: int = 0) -> tuple:
        """Views of consecutive pieces along ``dim``: of size ``split_size``, or of listed sizes."""
        from .ops import shape as shape_ops
        return shape_ops.split(self, split_size, dim)

    def to(self, *args, **kwargs) -> "Tensor":
        """Move to a device and/or cast to a dtype: ``to(device)``, ``to(dtype)``, ``to(other)``."""
        from .ops import conversion
        return conversion.to(self, *args, **kwargs)

    def cpu(self) -> "Tensor":
        """A copy on the CPU (``self`` when already there)."""
        return self.to("cpu")

    def pin_memory(self, device=None) -> "Tensor":
        """``self`` for a cpu tensor: host memory here is ordinary memory (copies to ``cuda``
        work the same); a cuda tensor raises ``RuntimeError`` as in torch."""
        if self.device.type != "cpu":
            raise RuntimeError(f"cannot pin '{self.type()}' only dense CPU tensors can be pinned")
        return self

    def is_pinned(self, device=None) -> bool:
        """False: framework does not page-lock host memory."""
        return False

    def cuda(self, device=None, non_blocking: bool = False) -> "Tensor":
        """A copy on a ``cuda`` device (``self`` when already there)."""
        from .devices import as_device
        return self.to(as_device("cuda" if device is None else device))

    def float(self) -> "Tensor":
        """Cast to float32."""
        return self.to(dtypes.float32)

    def double(self) -> "Tensor":
        """Cast to float64."""
        return self.to(dtypes.float64)

    def half(self) -> "Tensor":
        """Cast to float16."""
        return self.to(dtypes.float16)

    def bfloat16(self) -> "Tensor":
        """Cast to bfloat16."""
        return self.to(dtypes.bfloat16)

    def int(self) -> "Tensor":
        """Cast to int32."""
        return self.to(dtypes.int32)

    def long(self) -> "Tensor":
        """Cast to int64."""
        return self.to(dtypes.int64)

    def byte(self) -> "Tensor":
        """Cast to uint8."""
        return self.to(dtypes.uint8)

    def char(self) -> "Tensor":
        """Cast to int8."""
        return self.to(dtypes.int8)

    def short(self) -> "Tensor":
        """Cast to int16."""
        return self.to(dtypes.int16)

    def bool(self) -> "Tensor":
        """Cast to bool."""
        return self.to(dtypes.bool)

    def new_tensor(self, data, dtype=None, device=None, requires_grad: bool = False) -> "Tensor":
        """A new tensor from ``data`` with this tensor's dtype and device by default."""
        from .ops import creation
        return creation.tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                               requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: bool = False) -> "Tensor":
        """Zeros with this tensor's dtype and device by default."""
        from .ops import creation
        return creation.zeros(_shape_args(size), dtype=dtype or self.dtype,
                              device=device or self.device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: bool = False) -> "Tensor":
        """Ones with this tensor's dtype and device by default."""
        from .ops import creation
        return creation.ones(_shape_args(size), dtype=dtype or self.dtype,
                             device=device or self.device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad: bool = False):
        """``fill_value`` everywhere, with this tensor's dtype and device by default."""
        from .ops import creation
        return creation.full(size, fill_value, dtype=dtype or self.dtype,
                             device=device or self.device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: bool = False) -> "Tensor":
        """Uninitialized, with this tensor's dtype and device by default."""
        from .ops import creation
        return creation.empty(_shape_args(size), dtype=dtype or self.dtype,
                              device=device or self.device, requires_grad=requires_grad)

    def new_empty_strided(self, size, stride, *, dtype=None, device=None,
                          requires_grad: bool = False) -> "Tensor":
        """``empty_strided`` with this tensor's dtype and device by default."""
        from ._aten import empty_strided
        return empty_strided(size, stride, dtype=dtype or self.dtype,
                             device=device or self.device, requires_grad=requires_grad)

    def dim_order(self) -> tuple:
        """The dims from outermost to innermost in memory (by stride, ties in dim order)."""
        strides = self.stride()
        return tuple(sorted(range(self.ndim), key=lambda d: -strides[d]))

    @property
    def output_nr(self) -> int:
        """Which output of its ``grad_fn`` this tensor is (0 for leaves)."""
        return self._output_nr

    def lu(self, pivot: bool = True, get_infos: bool = False) -> tuple:
        """``(LU, pivots)`` (and ``infos``): ``linalg.lu_factor_ex`` (deprecated in PyTorch,
        which warns)."""
        import warnings
        from . import linalg
        warnings.warn("torch.lu is deprecated in favor of torch.linalg.lu_factor / "
                      "torch.linalg.lu_factor_ex and will be removed in a future PyTorch "
                      "release.", UserWarning, stacklevel=2)
        lu, pivots, infos = linalg.lu_factor_ex(self, pivot=pivot)
        return (lu, pivots, infos) if get_infos else (lu, pivots)

    def resize_(self, *size) -> "Tensor":
        """Give this tensor ``size`` in place: its first elements keep their values (row-major),
        new ones are uninitialized. Refused for a tensor that requires grad, as PyTorch."""
        from .ops.inplace import resize_
        return resize_(self, _shape_args(size))

    def resize_as_(self, other: "Tensor") -> "Tensor":
        """``resize_`` to ``other``'s shape."""
        return self.resize_(tuple(other.shape))


class Size(tuple):
    """The shape of a tensor: a tuple of ints (``torch.Size``)."""

    def numel(self) -> int:
        """Product of the sizes."""
        total = 1
        for s in self:
            total *= s
        return total

    def __repr__(self) -> str:
        return f"framework.Size({list(self)})"

    def __getitem__(self, key):
        result = tuple.__getitem__(self, key)
        return Size(result) if isinstance(key, slice) else result

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))


class _HookHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, tensor: Tensor, hook, leaf_list: str = "_hooks") -> None:
        self._tensor = weakref.ref(tensor)
        self._hook = hook
        self._leaf_list = leaf_list  # the leaf's attribute holding the hook

    def remove(self) -> None:
        tensor = self._tensor()
        if tensor is None:
            return
        hooks = getattr(tensor, self._leaf_list)
        if self._leaf_list != "_hooks":
            if hooks and self._hook in hooks:
                hooks.remove(self._hook)
        elif tensor.grad_fn is not None:
            for hooks in tensor.grad_fn.pre_hooks.values():
                if self._hook in hooks:
                    hooks.remove(self._hook)
        elif hooks and self._hook in hooks:
            hooks.remove(self._hook)


def _rebuild(host, dtype_name, device_str, requires_grad):
    from .ops import creation
    t = creation.tensor(host, dtype=getattr(dtypes, dtype_name), device=device_str)
    t._requires_grad = requires_grad
    return t


def _wrap_dim(dim: int, ndim: int, op: str) -> int:
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(f"{op}(): Dimension out of range (expected to be in range of "
                         f"[{-size}, {size - 1}], but got {dim})")
    return dim % size


def _keyword_shape(op: str, args: tuple, kwargs: dict, name: str) -> tuple:
    """Positional sizes, or PyTorch's keyword form (``reshape(shape=...)``, ``permute(dims=...)``)."""
    if not kwargs:
        return args
    if args or set(kwargs) != {name}:
        raise TypeError(f"{op}() got unexpected arguments {sorted(kwargs)}")
    return (kwargs[name],)


def _shape_args(args) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(args) == 1 and isinstance(args[0], (tuple, list, Size)):
        return tuple(args[0])
    return tuple(args)


def _op_module(family: str):
    """An accessor of ``framework.ops.<family>`` for the operators: a dict lookup per use
    (the module is imported on the first call, after ``framework.ops`` exists)."""
    return _lazy_module(__name__.rpartition(".")[0] + ".ops." + family)


def _lazy_module(name: str):
    """An accessor of the module ``name``: a dict lookup per use, the import on first use."""
    def module():
        found = sys.modules.get(name)
        if found is None:
            import importlib
            found = importlib.import_module(name)
        return found
    return module


_unary = _op_module("unary")
_backends = _lazy_module(__name__.rpartition(".")[0] + "._backends")
_binary = _op_module("binary")
_shape = _op_module("shape")
_compare = _op_module("compare")


def _matmul():
    from .ops import matmul
    return matmul


def _forward_method(module_name: str, name: str):
    """A Tensor method ``t.name(...)`` that calls ``<module_name>.name(t, ...)``."""
    import importlib

    def method(self, *args, **kwargs):
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        return getattr(module, name)(self, *args, **kwargs)

    method.__name__ = name
    method.__qualname__ = f"Tensor.{name}"
    method.__doc__ = f"See ``framework.{name}``."
    return method


def install_methods(module) -> None:
    """Add the Tensor methods an op module declares in ``TENSOR_METHODS``.

    Each ``t.name(*args)`` calls ``module.name(t, *args)``, looked up at call
    time; names ``Tensor`` defines itself (``where``, ``split``, ...) are
    left alone. Operators a module declares in ``TENSOR_OPERATORS`` (name ->
    function) are set as they are. ``framework/__init__.py`` calls this for
    every public family.
    """
    for name in module.TENSOR_METHODS:
        if not hasattr(Tensor, name):
            setattr(Tensor, name, _forward_method(module.__name__, name))
    for name, operator in getattr(module, "TENSOR_OPERATORS", {}).items():
        setattr(Tensor, name, operator)
