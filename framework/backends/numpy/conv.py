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
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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


def _as_compute(a: Array) -> np.ndarray:
    x = nd(a)
    work = compute_dtype(a.dtype)
    return x if x.dtype == work else x.astype(work)


def _window_matrix(x: np.ndarray, groups: int, kernel_size, stride, padding, dilation,
                   out_size) -> np.ndarray:
    """im2col of ``x`` as a (groups, N*HO*WO, C/groups*KH*KW) matrix."""
    n, c = x.shape[:2]
    win = _windows(x, kernel_size, stride, padding, dilation, out_size)
    ho, wo, kh, kw = win.shape[2:]
    win = win.reshape(n, groups, c // groups, ho, wo, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6)
    return win.reshape(groups, n * ho * wo, (c // groups) * kh * kw)


def conv2d(x: Array, weight: Array, stride, padding, dilation, groups: int, out_size) -> Array:
    """(N, C, H, W) * (CO, C/groups, KH, KW) -> (N, CO, HO, WO); padding = (top, left)."""
    n = x.shape[0]
    co, _, kh, kw = weight.shape
    ho, wo = out_size
    cols = _window_matrix(_as_compute(x), groups, (kh, kw), stride, padding, dilation, out_size)
    w = _as_compute(weight).reshape(groups, co // groups, -1).transpose(0, 2, 1)
    out = np.matmul(cols, w)  # (groups, N*HO*WO, CO/groups)
    out = out.reshape(groups, n, ho, wo, co // groups).transpose(1, 0, 4, 2, 3)
    return wrap(out.reshape(n, co, ho, wo).astype(x.dtype.numpy, copy=False), x.dtype)


def conv2d_input_grad(grad_out: Array, weight: Array, stride, padding, dilation, groups: int,
                      in_size) -> Array:
    """dx (N, C, H, W) of conv2d from dy (N, CO, HO, WO); the forward of conv_transpose2d."""
    n, co, ho, wo = grad_out.shape
    _, c_g, kh, kw = weight.shape
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
    cols = _window_matrix(_as_compute(x), groups, kernel_size, stride, padding, dilation, (ho, wo))
    dy = _as_compute(grad_out).reshape(n, groups, co // groups, ho * wo)
    dy = dy.transpose(1, 2, 0, 3).reshape(groups, co // groups, n * ho * wo)
    dw = np.matmul(dy, cols)  # (groups, CO/groups, C/groups*KH*KW)
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
