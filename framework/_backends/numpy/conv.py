"""CPU kernels: convolutions as im2col + batched BLAS products, and im2col/col2im.

Every sliding window of the (zero-padded) input is a strided view
(``sliding_window_view``, no copy); a convolution regroups those windows
into one (groups, pixels, taps) matrix and multiplies it with the weight by
``np.matmul`` (BLAS per group). col2im (the input gradient and ``fold``) adds
the columns back into the image with one strided slice-add per kernel tap
(KH*KW iterations, each over every pixel at once).

Padding is given as (top, left); the bottom/right padding follows from the
output size (PyTorch's 'same' pads one more on the bottom/right for even
kernels). Half types are computed in float32.

Stride-1 convolutions (the common case) take the "wide rows" path instead
(``_Wide``): every output row is computed over the full padded width, so a
kernel tap's window over one image is a single contiguous run of the
flattened padded image. The im2col copy then moves long runs (HO*Wp
elements, not WO); the input gradient sums each kernel row's KW taps inside
its GEMM (columns = dy's rows at the KW shifts) and adds KH row sums into the
image; the GEMMs see contiguous 2-D operands in the layouts OpenBLAS is
fastest with. The extra Wp - WO columns
per row are computed and dropped (forward) or multiplied by zero gradients
(backward; so the backward takes it only for finite x or w, where x * 0 is 0). ``tests/test_cpu_fast_paths.py`` checks it against the general path.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from ..array import Array
from ._arrays import compute_dtype, nd, wrap


def _windows(x: np.ndarray, kernel_size, stride, padding, dilation, out_size) -> np.ndarray:
    """The (N, C, HO, WO, KH, KW) view of every window of ``x`` (zero-padded as needed)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = kernel_size, stride, padding, dilation, out_size
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    need_h = max((ho - 1) * sh + span_h, span_h)
    need_w = max((wo - 1) * sw + span_w, span_w)
    h, w = x.shape[2:]
    bottom, right = max(0, need_h - ph - h), max(0, need_w - pw - w)
    if ph or pw or bottom or right:
        x = np.pad(x, ((0, 0), (0, 0), (ph, bottom), (pw, right)))
    windows = sliding_window_view(x, (span_h, span_w), axis=(2, 3))
    return windows[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :ho, :wo]


def _col2im(cols: np.ndarray, size, stride, padding, dilation) -> np.ndarray:
    """Sum (N, C, KH, KW, HO, WO) columns back into an (N, C, H, W) image (adjoint of _windows)."""
    n, c, kh, kw, ho, wo = cols.shape
    (h, w), (sh, sw), (ph, pw), (dh, dw) = size, stride, padding, dilation
    full_h = max(ph + h, (ho - 1) * sh + dh * (kh - 1) + 1)
    full_w = max(pw + w, (wo - 1) * sw + dw * (kw - 1) + 1)
    image = np.zeros((n, c, full_h, full_w), dtype=cols.dtype)
    if ho and wo:
        for ki in range(kh):  # one strided add per kernel tap
            for kj in range(kw):
                top, left = ki * dh, kj * dw
                image[:, :, top:top + (ho - 1) * sh + 1:sh, left:left + (wo - 1) * sw + 1:sw] += \
                    cols[:, :, ki, kj]
    return image[:, :, ph:ph + h, pw:pw + w]


_BLOCK_ELEMENTS = 1 << 17  # column-block size of the stride-1 path (elements)
_MIN_BLOCK_COLUMNS = 2048  # ... but at least this many GEMM columns (short GEMMs run slower)


class _Wide:
    """Geometry of the stride-1 "wide rows" layout: the input zero-padded to (Hp + 1, Wp)
    planes (one spare zero row that the last taps' runs may read past the end), output
    positions ``l = ho * Wp + wo'`` for ``wo' < Wp`` of which ``wo' < WO`` are real."""

    def __init__(self, in_size, kernel_size, padding, dilation, out_size):
        (h, w), (kh, kw), (ph, pw), (dh, dw), (ho, wo) = \
            in_size, kernel_size, padding, dilation, out_size
        self.h, self.w, self.kh, self.kw, self.ph, self.pw, self.ho, self.wo = \
            h, w, kh, kw, ph, pw, ho, wo
        span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
        self.hp = max(ph + h, ho + span_h - 1)
        self.wp = max(pw + w, wo + span_w - 1)
        self.plane = (self.hp + 1) * self.wp
        self.run = ho * self.wp  # one tap's contiguous run per image
        self.offsets = [ki * dh * self.wp + kj * dw for ki in range(kh) for kj in range(kw)]
        self.tap_strides = (dh * self.wp, dw)

    @classmethod
    def plan(cls, stride, in_size, kernel_size, padding, dilation, out_size, n: int):
        """The layout for a stride-1 convolution with something to compute and at most
        about 3x wasted columns per row; None otherwise (take the general path)."""
        if tuple(stride) != (1, 1) or n == 0 or 0 in tuple(in_size) + tuple(out_size):
            return None
        wide = cls(in_size, kernel_size, padding, dilation, out_size)
        return wide if wide.wp <= 3 * wide.wo + 8 else None

    def padded(self, x: np.ndarray) -> np.ndarray:
        """(N, C, (Hp+1)*Wp): ``x`` at (ph, pw) of zero planes."""
        n, c = x.shape[:2]
        out = np.zeros((n, c, self.hp + 1, self.wp), dtype=x.dtype)
        out[:, :, self.ph:self.ph + self.h, self.pw:self.pw + self.w] = x
        return out.reshape(n, c, self.plane)

    def blocks(self, n: int, rows: int, elements: int = 0):
        """Slices of images whose (rows, images*HO*Wp) column block has about ``elements``
        elements (default ``_BLOCK_ELEMENTS``, 512 KiB of float32: built and multiplied in
        cache), and at least ``_MIN_BLOCK_COLUMNS`` columns (LeNet's 6->16 layer: 150 rows
        of 140 columns per image; blocks of 6 images ran about 10 % slower than of 15)."""
        elements = elements or _BLOCK_ELEMENTS
        step = max(1, elements // max(1, rows * self.run), -(-_MIN_BLOCK_COLUMNS // self.run))
        return [slice(start, min(n, start + step)) for start in range(0, n, step)]

    def columns(self, flat: np.ndarray, groups: int) -> np.ndarray:
        """im2col of padded images ``flat`` (from ``padded``) as a contiguous
        (groups, C/groups*KH*KW, N*HO*Wp) matrix: one contiguous run per (row, image)."""
        n, c = flat.shape[:2]
        item = flat.itemsize
        view = as_strided(flat, (c, self.kh, self.kw, n, self.run),
                          (self.plane * item, self.tap_strides[0] * item,
                           self.tap_strides[1] * item, c * self.plane * item, item),
                          writeable=False)
        return np.ascontiguousarray(view).reshape(groups, -1, n * self.run)

    def widen(self, dy: np.ndarray, groups: int) -> np.ndarray:
        """(N, CO, HO, WO) -> (groups, CO/groups, N*HO*Wp), zero in the extra columns."""
        n, co = dy.shape[:2]
        out = np.zeros((groups, co // groups, n, self.ho, self.wp), dtype=dy.dtype)
        out[..., :self.wo] = dy.reshape(n, groups, co // groups, self.ho, self.wo) \
            .transpose(1, 2, 0, 3, 4)
        return out.reshape(groups, co // groups, n * self.run)

    def narrow(self, out: np.ndarray, n: int, dtype) -> np.ndarray:
        """(groups, CO/groups, N*HO*Wp) -> a fresh (N, CO, HO, WO) array of ``dtype``."""
        groups, co_g = out.shape[:2]
        wide = out.reshape(groups, co_g, n, self.ho, self.wp)[..., :self.wo]
        result = np.empty((n, groups, co_g, self.ho, self.wo), dtype=dtype)
        result[...] = wide.transpose(2, 0, 1, 3, 4)
        return result.reshape(n, groups * co_g, self.ho, self.wo)

    def conv(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """(groups, CO/g, N*HO*Wp) = w (groups, CO/g, C/g*KH*KW) @ im2col(x), block by block."""
        flat = self.padded(x)
        n, groups = x.shape[0], w.shape[0]
        out = np.empty((groups, w.shape[1], n * self.run), dtype=np.result_type(x, w))
        for images in self.blocks(n, w.shape[0] * w.shape[2]):
            np.matmul(w, self.columns(flat[images], groups),
                      out=out[:, :, images.start * self.run:images.stop * self.run])
        return out

    def weight_grad(self, x: np.ndarray, dy: np.ndarray, groups: int) -> np.ndarray:
        """(groups, C/g*KH*KW, CO/g): the sum over image blocks of im2col(x) @ dy^T."""
        flat, dyw = self.padded(x), self.widen(dy, groups)
        total = None
        for images in self.blocks(x.shape[0], x.shape[1] * self.kh * self.kw):
            cols = self.columns(flat[images], groups)
            # (C/g*KH*KW, L) @ (L, CO/g): the long operand row-major on the left (GEMM speed)
            part = np.matmul(cols, dyw[:, :, images.start * self.run:images.stop * self.run]
                             .transpose(0, 2, 1))
            total = part if total is None else np.add(total, part, out=total)
        return total

    def input_grad(self, dy: np.ndarray, w: np.ndarray, groups: int) -> np.ndarray:
        """(N, C, H, W) from dy (N, CO, HO, WO) and w (CO, C/g, KH, KW), block by block.

        The KW taps of a kernel row are summed inside the GEMM: its columns are dy's wide
        rows at the KW shifts kj*dw, ``(CO/g*KW, images*HO*Wp)`` (a shift keeps every real
        value inside its own output row; what it reads across a row's start is the zeros
        of the previous row's extra columns, or of ``lead`` zeros before the first image),
        so the product is one (C/g*KH, images*HO*Wp) row sum per channel and kernel row.
        Each of the KH row sums is then added into the planes at its row offset: KH
        strided adds, no (C*KH*KW, L) column matrix. The extra columns of dy are zero, so
        everything they touch adds zeros (w must be finite)."""
        n = dy.shape[0]
        co, c_g = w.shape[:2]
        co_g, kh, kw = co // groups, self.kh, self.kw
        c = groups * c_g
        row_step, col_step = self.tap_strides
        lead = (kw - 1) * col_step
        dtype = np.result_type(dy, w)
        shifted = np.zeros((groups, co_g, lead + n * self.run), dtype=dtype)
        shifted[:, :, lead:].reshape(groups, co_g, n, self.ho, self.wp)[..., :self.wo] = \
            dy.reshape(n, groups, co_g, self.ho, self.wo).transpose(1, 2, 0, 3, 4)
        # (groups, C/g*KH, CO/g*KW): column j of each output channel holds tap kj = KW-1-j
        taps = w.reshape(groups, co_g, c_g, kh, kw)[..., ::-1].transpose(0, 2, 3, 1, 4) \
            .reshape(groups, c_g * kh, co_g * kw)
        image = np.zeros((n, c, self.plane), dtype=dtype)
        item = shifted.itemsize
        for images in self.blocks(n, groups * co_g * kw):
            count = images.stop - images.start
            span = count * self.run
            # columns[g, o, j, l] = dy_wide[g, o, start + l - (KW-1-j)*dw]
            view = as_strided(shifted[:, :, images.start * self.run:],
                              (groups, co_g, kw, span),
                              (shifted.strides[0], shifted.strides[1], col_step * item, item),
                              writeable=False)
            columns = np.ascontiguousarray(view).reshape(groups, co_g * kw, span)
            rows = np.matmul(taps, columns).reshape(c, kh, count, self.run)
            target = image[images]
            for ki in range(kh):
                top = ki * row_step
                target[:, :, top:top + self.run] += rows[:, ki].transpose(1, 0, 2)
        image = image.reshape(n, c, self.hp + 1, self.wp)
        return image[:, :, self.ph:self.ph + self.h, self.pw:self.pw + self.w]


def _as_compute(a: Array) -> np.ndarray:
    x = nd(a)
    work = compute_dtype(a.dtype)
    return x if x.dtype == work else x.astype(work)


def _window_columns(x: np.ndarray, groups: int, kernel_size, stride, padding, dilation,
                    out_size) -> np.ndarray:
    """im2col of ``x`` as a contiguous (groups, C/groups*KH*KW, N*HO*WO) matrix.

    Taps outermost, pixels innermost: the copy out of the window view then
    runs along image rows (about twice as fast as pixels-outermost).
    """
    n, c = x.shape[:2]
    win = _windows(x, kernel_size, stride, padding, dilation, out_size)
    ho, wo, kh, kw = win.shape[2:]
    win = win.reshape(n, groups, c // groups, ho, wo, kh, kw).transpose(1, 2, 5, 6, 0, 3, 4)
    return np.ascontiguousarray(win).reshape(groups, (c // groups) * kh * kw, n * ho * wo)


def conv2d(x: Array, weight: Array, stride, padding, dilation, groups: int, out_size) -> Array:
    """(N, C, H, W) * (CO, C/groups, KH, KW) -> (N, CO, HO, WO); padding = (top, left)."""
    n = x.shape[0]
    co, _, kh, kw = weight.shape
    ho, wo = out_size
    wide = _Wide.plan(stride, x.shape[2:], (kh, kw), padding, dilation, out_size, n)
    if wide is not None:
        out = wide.conv(_as_compute(x), _as_compute(weight).reshape(groups, co // groups, -1))
        return wrap(wide.narrow(out, n, x.dtype.numpy), x.dtype)
    cols = _window_columns(_as_compute(x), groups, (kh, kw), stride, padding, dilation, out_size)
    w = _as_compute(weight).reshape(groups, co // groups, -1)
    out = np.matmul(w, cols)  # (groups, CO/groups, N*HO*WO)
    out = out.reshape(groups, co // groups, n, ho, wo).transpose(2, 0, 1, 3, 4)
    return wrap(np.ascontiguousarray(out).reshape(n, co, ho, wo).astype(x.dtype.numpy, copy=False),
                x.dtype)


def conv2d_input_grad(grad_out: Array, weight: Array, stride, padding, dilation, groups: int,
                      in_size) -> Array:
    """dx (N, C, H, W) of conv2d from dy (N, CO, HO, WO); the forward of conv_transpose2d."""
    n, co, ho, wo = grad_out.shape
    _, c_g, kh, kw = weight.shape
    wide = _Wide.plan(stride, in_size, (kh, kw), padding, dilation, (ho, wo), n)
    w = _as_compute(weight)
    if wide is not None and np.isfinite(w).all():  # extra columns: 0 * w must be 0
        dx = wide.input_grad(_as_compute(grad_out), w, groups)
        return wrap(dx.astype(grad_out.dtype.numpy), grad_out.dtype)
    dy = _as_compute(grad_out).reshape(n, groups, co // groups, ho * wo)
    dy = dy.transpose(1, 2, 0, 3).reshape(groups, co // groups, n * ho * wo)
    w = _as_compute(weight).reshape(groups, co // groups, c_g * kh * kw).transpose(0, 2, 1)
    cols = np.matmul(w, dy)  # (groups, C/groups*KH*KW, N*HO*WO)
    cols = cols.reshape(groups, c_g, kh, kw, n, ho, wo).transpose(4, 0, 1, 2, 3, 5, 6)
    cols = cols.reshape(n, groups * c_g, kh, kw, ho, wo)
    dx = _col2im(cols, in_size, stride, padding, dilation)
    return wrap(dx.astype(grad_out.dtype.numpy), grad_out.dtype)


def conv2d_weight_grad(x: Array, grad_out: Array, stride, padding, dilation, groups: int,
                       kernel_size) -> Array:
    """dw (CO, C/groups, KH, KW) of conv2d from x (N, C, H, W) and dy (N, CO, HO, WO)."""
    n, c = x.shape[:2]
    _, co, ho, wo = grad_out.shape
    wide = _Wide.plan(stride, x.shape[2:], kernel_size, padding, dilation, (ho, wo), n)
    xc = _as_compute(x)
    if wide is not None and np.isfinite(xc).all():  # extra columns: x * 0 must be 0
        dw = wide.weight_grad(xc, _as_compute(grad_out), groups).transpose(0, 2, 1)
        return wrap(dw.reshape(co, c // groups, *kernel_size).astype(x.dtype.numpy), x.dtype)
    cols = _window_columns(_as_compute(x), groups, kernel_size, stride, padding, dilation,
                           (ho, wo))
    dy = _as_compute(grad_out).reshape(n, groups, co // groups, ho * wo)
    dy = dy.transpose(1, 2, 0, 3).reshape(groups, co // groups, n * ho * wo)
    # (C/g*KH*KW, L) @ (L, CO/g): the long operand row-major on the left runs at GEMM speed
    dw = np.matmul(cols, dy.transpose(0, 2, 1)).transpose(0, 2, 1)  # (groups, CO/g, C/g*KH*KW)
    dw = dw.reshape(co, c // groups, *kernel_size)
    return wrap(dw.astype(x.dtype.numpy), x.dtype)


def im2col(x: Array, kernel_size, dilation, padding, stride, out_size) -> Array:
    """(N, C, H, W) -> (N, C*KH*KW, HO*WO): every sliding window as a column (0 in the padding)."""
    n, c = x.shape[:2]
    kh, kw = kernel_size
    ho, wo = out_size
    win = _windows(nd(x), kernel_size, stride, padding, dilation, out_size)
    cols = win.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)
    return wrap(np.ascontiguousarray(cols), x.dtype)


def col2im(cols: Array, output_size, kernel_size, dilation, padding, stride, blocks) -> Array:
    """(N, C*KH*KW, HO*WO) -> (N, C, H, W) summing overlapping windows; blocks = (HO, WO)."""
    n, rows, _ = cols.shape
    kh, kw = kernel_size
    c6 = _as_compute(cols).reshape(n, rows // (kh * kw), kh, kw, *blocks)
    image = _col2im(c6, output_size, stride, padding, dilation)
    return wrap(image.astype(cols.dtype.numpy), cols.dtype)


KERNELS = {
    "conv2d": conv2d,
    "conv2d_input_grad": conv2d_input_grad,
    "conv2d_weight_grad": conv2d_weight_grad,
    "im2col": im2col,
    "col2im": col2im,
}
