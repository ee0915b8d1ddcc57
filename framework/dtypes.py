"""Tensor element types and PyTorch's type-promotion rules.

Each ``dtype`` is a singleton (Triton caches pointer types by the identity of
the ``dtype`` object it is handed, so there must be exactly one per type). Its
``str()`` ends in the canonical name (``framework.float32``), which is what
Triton reads to type a kernel's pointer argument.
"""
from __future__ import annotations

import builtins
import importlib

import numpy as np

__all__ = [
    "dtype", "float16", "half", "bfloat16", "float32", "float", "float64", "double",
    "uint8", "int8", "int16", "short", "int32", "int", "int64", "long", "bool",
    "get_default_dtype", "set_default_dtype",
    "promote_types", "result_type", "from_numpy_dtype", "can_cast", "as_dtype", "finfo",
    "iinfo",
]

_BOOL, _INT, _FLOAT = 0, 1, 2


class dtype:
    """An element type: its name, size and NumPy equivalent."""

    # is_floating_point: True for float16, bfloat16, float32 and float64 (an attribute, as in
    # PyTorch; set once here: it is read on every recorded op)
    __slots__ = ("name", "itemsize", "numpy", "category", "_rank", "is_floating_point")

    def __init__(self, name: str, np_dtype, category: int, rank: int) -> None:
        self.name = name
        self.numpy = np.dtype(np_dtype)
        self.itemsize = self.numpy.itemsize
        self.category = category
        self._rank = rank
        self.is_floating_point = category == _FLOAT

    @property
    def is_signed(self) -> bool:
        """True for every type but bool and uint8."""
        return self.category != _BOOL and self.numpy.kind != "u"

    @property
    def is_complex(self) -> bool:
        """Always False: complex types are not supported."""
        return False

    def to_real(self) -> "dtype":
        """The type itself (no complex types exist)."""
        return self

    def __repr__(self) -> str:
        return f"framework.{self.name}"

    __str__ = __repr__

    def __reduce__(self):
        return (_lookup, (self.name,))


_NUMPY_SLOT = dtype.__dict__["numpy"]  # the slot that holds a dtype's NumPy type


class _DeferredNumpy(dtype):
    """A dtype whose NumPy type comes from a module imported on the first read of ``numpy``:
    bfloat16's from ``ml_dtypes``, whose import takes ~0.5 s (most of ``import framework``
    otherwise). The type is then kept in the base class's slot."""

    __slots__ = ("_source",)

    def __init__(self, name: str, source: tuple, itemsize: int, category: int,
                 rank: int) -> None:
        self.name = name
        self._source = source  # (module, attribute)
        self.itemsize = itemsize
        self.category = category
        self._rank = rank
        self.is_floating_point = category == _FLOAT

    @property
    def numpy(self) -> np.dtype:
        """The NumPy type, its module imported on first use."""
        try:
            return _NUMPY_SLOT.__get__(self, dtype)
        except AttributeError:
            module, attribute = self._source
            value = np.dtype(getattr(importlib.import_module(module), attribute))
            _NUMPY_SLOT.__set__(self, value)
            return value


bool = dtype("bool", np.bool_, _BOOL, 0)  # noqa: A001 - PyTorch's name
uint8 = dtype("uint8", np.uint8, _INT, 1)
int8 = dtype("int8", np.int8, _INT, 1)  # same rank as uint8: together they promote to int16
int16 = dtype("int16", np.int16, _INT, 2)
int32 = dtype("int32", np.int32, _INT, 3)
int64 = dtype("int64", np.int64, _INT, 4)
float16 = dtype("float16", np.float16, _FLOAT, 5)
bfloat16 = _DeferredNumpy("bfloat16", ("ml_dtypes", "bfloat16"), 2, _FLOAT, 6)
float32 = dtype("float32", np.float32, _FLOAT, 7)
float64 = dtype("float64", np.float64, _FLOAT, 8)

half = float16
float = float32  # noqa: A001 - PyTorch's name
double = float64
int = int32  # noqa: A001 - PyTorch's name
long = int64
short = int16

ALL_DTYPES = (bool, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
INTEGER_DTYPES = (uint8, int8, int16, int32, int64)
FLOATING_DTYPES = (float16, bfloat16, float32, float64)
_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NUMPY = {d.numpy: d for d in ALL_DTYPES if d is not bfloat16}  # bfloat16: by name
_NUMPY_ALIASES = {np.dtype(np.uint16): int32, np.dtype(np.uint32): int64}

_default_dtype = [float32]


def _lookup(name: str) -> dtype:
    return _BY_NAME[name]


def get_default_dtype() -> dtype:
    """The floating type that Python floats and ``rand``-style factories use."""
    return _default_dtype[0]


def set_default_dtype(d: dtype) -> None:
    """Set the default floating type (float32 or float64, like PyTorch)."""
    if not isinstance(d, dtype) or not d.is_floating_point:
        raise TypeError(f"set_default_dtype(): only floating-point types are supported, got {d}")
    _default_dtype[0] = d


def from_numpy_dtype(np_dtype) -> dtype:
    """The framework dtype that holds NumPy's ``np_dtype``."""
    key = np.dtype(np_dtype)
    if key in _BY_NUMPY:
        return _BY_NUMPY[key]
    if key in _NUMPY_ALIASES:
        return _NUMPY_ALIASES[key]
    if key.name == "bfloat16" and key == bfloat16.numpy:  # ml_dtypes made the array
        return bfloat16
    raise TypeError(f"can't convert NumPy arrays of type {key}; supported: "
                    + ", ".join(d.name for d in ALL_DTYPES))


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest type both ``a`` and ``b`` convert to (``torch.promote_types``)."""
    if a is b:
        return a
    if {a, b} == {float16, bfloat16}:
        return float32
    if {a, b} == {uint8, int8}:
        return int16
    return a if a._rank > b._rank else b


def _scalar_dtype(value) -> dtype:
    if isinstance(value, builtins.bool) or isinstance(value, np.bool_):
        return bool
    if isinstance(value, (builtins.int, np.integer)):
        return int64
    if isinstance(value, (builtins.float, np.floating)):
        return get_default_dtype()
    raise TypeError(f"unsupported scalar type {type(value).__name__}")


def _combine_categories(higher, lower):
    """PyTorch's rule: a higher tier wins unless a lower tier has a higher category."""
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.is_floating_point:
        return higher
    if higher is bool or lower.is_floating_point:
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> dtype:
    """Result type of an op on tensors and Python scalars, as ``torch.result_type``.

    Dimensioned tensors take precedence over zero-dim tensors, which take
    precedence over Python scalars, unless a lower tier is of a higher
    category (bool < integer < floating).
    """
    dims = zeros = scalars = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype) and hasattr(x, "ndim"):
            if x.ndim > 0:
                dims = d if dims is None else promote_types(dims, d)
            else:
                zeros = d if zeros is None else promote_types(zeros, d)
        else:
            s = _scalar_dtype(x)
            scalars = s if scalars is None else promote_types(scalars, s)
    return _combine_categories(dims, _combine_categories(zeros, scalars))


def can_cast(src: dtype, dst: dtype) -> "builtins.bool":
    """True when ``src`` may be cast to ``dst`` by an in-place op (no category drop)."""
    return src.category <= dst.category



# PyTorch's ScalarType names, as its error messages print them
_SCALAR_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half",
                      "bfloat16": "BFloat16", "int64": "Long", "int32": "Int", "int16": "Short",
                      "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def scalar_type_name(d: dtype) -> str:
    """PyTorch's name of ``d`` in its error messages (``Float``, ``Long``, ``Byte``, ...)."""
    return _SCALAR_TYPE_NAMES.get(d.name, d.name)


def as_dtype(value, op: str = "dtype") -> "dtype | None":
    """A framework dtype from a dtype, a Python type (``float`` -> float64, ``int`` -> int64,
    ``bool``) or None; ``TypeError`` naming ``op`` otherwise."""
    if value is None or isinstance(value, dtype):
        return value
    python_types = {builtins.float: float64, builtins.int: int64, builtins.bool: bool}
    if value in python_types:
        return python_types[value]
    raise TypeError(f"{op}(): dtype must be a framework dtype, got {value!r}")


class finfo:
    """Machine limits of a floating-point dtype (``torch.finfo``)."""

    def __init__(self, type: "dtype | None" = None) -> None:  # noqa: A002
        type = get_default_dtype() if type is None else as_dtype(type, "finfo")
        if not type.is_floating_point:
            raise TypeError(f"finfo(): {type} is not a floating point dtype")
        if type is bfloat16:
            info = importlib.import_module("ml_dtypes").finfo(type.numpy)
        else:
            info = np.finfo(type.numpy)
        self.dtype = type.name
        self.bits = info.bits
        self.eps = builtins.float(info.eps)
        self.max = builtins.float(info.max)
        self.min = builtins.float(info.min)
        self.tiny = builtins.float(info.tiny)
        self.smallest_normal = self.tiny
        self.resolution = 10.0 ** -info.precision

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution}, min={self.min}, max={self.max}, "
                f"eps={self.eps}, smallest_normal={self.tiny}, tiny={self.tiny}, "
                f"dtype={self.dtype})")


class iinfo:
    """Limits of an integer dtype (``torch.iinfo``)."""

    def __init__(self, type: dtype) -> None:  # noqa: A002
        type = as_dtype(type, "iinfo")
        if type.is_floating_point:
            raise TypeError(f"iinfo(): {type} is not an integer dtype")
        info = np.iinfo(type.numpy) if type is not bool else None
        self.dtype = type.name
        self.bits = type.itemsize * 8
        self.max = builtins.int(info.max) if info is not None else 1
        self.min = builtins.int(info.min) if info is not None else 0

    def __repr__(self) -> str:
        return f"iinfo(min={self.min}, max={self.max}, dtype={self.dtype})"
