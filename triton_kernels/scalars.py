"""Float scalar kernel arguments: passed as float64, converted once to the compute type.

Triton types a Python ``float`` argument ``fp32`` unless the kernel's parameter
is annotated, so a float64 computation would work with a rounded learning rate,
eps or scale on a GPU (the interpreter passes the Python float through and
cannot show it). The rule of this package (docs/architecture.md, "Float
scalars"): every float scalar parameter is annotated ``tl.float64`` and the
kernel converts it once, at its top, to its compute type with ``compute_scalar``
(a float32 kernel then does no float64 math, and gets the value a host-side
round to float32 would give). ``tests/float_scalars.py`` refuses, at every
launch under the interpreter, a float scalar a GPU would type ``fp32``.
"""
import triton
import triton.language as tl


@triton.jit
def compute_scalar(value, DTYPE: tl.constexpr):
    """``value`` (a ``tl.float64`` argument; a Python float under the interpreter) as a ``DTYPE`` scalar."""
    return tl.full([], value, DTYPE)
