"""Data makers and dtype names shared by the pointwise op tests (test_unary.py,
test_binary.py, test_compare.py: the op modules framework/ops/unary.py, binary.py, compare.py).

Each maker draws from one seeded generator an array of the given shape in the range its name
says (``positive``, ``inside_unit``, ...), as float64 values the tests round to the dtype
under test.
"""
import contextlib

import numpy as np

import framework

F16, BF16, F32, F64 = framework.float16, framework.bfloat16, framework.float32, framework.float64
I32, I64, BOOL = framework.int32, framework.int64, framework.bool

RNG = np.random.default_rng(0)


def normal(*shape):
    return RNG.standard_normal(shape)


def positive(*shape):
    return RNG.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    return RNG.uniform(0.5, 2.0, shape) * RNG.choice([-1.0, 1.0], shape)


def above_minus_one(*shape):
    return RNG.uniform(-0.6, 2.0, shape)


def small(*shape):
    return RNG.uniform(-1.2, 1.2, shape)


def inside_unit(*shape):
    """Inside (-1, 1), away from the ends (asin, atanh, erfinv)."""
    return RNG.uniform(-0.9, 0.9, shape)


def above_one(*shape):
    return RNG.uniform(1.1, 3.0, shape)


def halves(*shape):
    """Multiples of 0.5 (ties for round) plus noise-free integers."""
    return RNG.integers(-8, 9, shape) * 0.5


def integers(*shape, low=-9, high=10):
    return RNG.integers(low, high, shape)


def nonzero_integers(*shape):
    return RNG.integers(1, 7, shape) * RNG.choice([-1, 1], shape)


INTEGER_DTYPES = [framework.uint8, framework.int8, framework.int16, I32, I64]


def integer_values(dtype, *shape):
    """Values spanning ``dtype``'s range, its extremes included (int64: within +-2**53, which
    check_op's float64 oracle inputs hold exactly)."""
    info = framework.iinfo(dtype)
    low, high = max(info.min, -2 ** 53), min(info.max, 2 ** 53)
    values = RNG.integers(low, high, shape, endpoint=True)
    flat = values.reshape(-1)
    flat[:2] = [low, high][:flat.size]
    return values



@contextlib.contextmanager
def float_minus_as_triton_3_6():
    """Run the interpreter's kernels with Triton 3.6's float unary minus, ``0 - x``: what the GPU
    machines' compiled kernels do (-(+0.0) is then +0.0; Triton 3.9 and the interpreter negate)."""
    from triton.language.semantic import TritonSemantic
    original = TritonSemantic.minus

    def minus(self, input):
        scalar = input.type.scalar
        if not scalar.is_floating():
            return original(self, input)
        zero = self.make_tensor(self.builder.get_null_value(scalar.to_ir(self.builder)), scalar)
        return self.sub(zero, input, True)

    TritonSemantic.minus = minus
    try:
        yield
    finally:
        TritonSemantic.minus = original
