"""Index arithmetic shared by kernels that read or write strided N-d views.

Host code collapses an operand set to at most ``MAX_DIMS`` dims (see
``framework._backends.triton.launch``), padding at the front with size-1
dims, and passes the sizes of dims 1..5 plus each operand's six strides.
"""
import triton
import triton.language as tl  # noqa: F401 - the interpreter needs it in these kernels' globals

MAX_DIMS = 6


@triton.jit
def unravel6(idx, size1, size2, size3, size4, size5):
    """Split a row-major linear index over a 6-d shape into its six coordinates."""
    i5 = idx % size5
    idx = idx // size5
    i4 = idx % size4
    idx = idx // size4
    i3 = idx % size3
    idx = idx // size3
    i2 = idx % size2
    idx = idx // size2
    i1 = idx % size1
    i0 = idx // size1
    return i0, i1, i2, i3, i4, i5


@triton.jit
def offset6(i0, i1, i2, i3, i4, i5, st0, st1, st2, st3, st4, st5):
    """Element offset of coordinates (i0..i5) in a view with strides st0..st5."""
    return i0 * st0 + i1 * st1 + i2 * st2 + i3 * st3 + i4 * st4 + i5 * st5
