"""CPU kernels: convolutions as im2col + batched BLAS products, and im2col/col2im.

Every sliding window of the (zero-padded) input is a strided view
(``_sliding_windows``, no copy). The forward and the weight gradient copy
each image's windows into its own (groups, C/groups*KH*KW, HO*WO) matrix
(``_ByImage``, images in blocks) and run one small GEMM per image and group
(``np.matmul`` over the stack): operands in cache, products already in NCHW
order. The forward keeps its matrices for the weight gradient of the same
input (a cache, ``_KEPT_COLUMNS``), which then costs its GEMMs only. col2im
(the general input gradient and ``fold``) adds the columns back into the image
with one strided slice-add per kernel tap (KH*KW iterations, each over every
pixel at once).

Padding is given as (top, left); the bottom/right padding follows from the
output size (PyTorch's 'same' pads one more on the bottom/right for even
kernels). Half types are computed in float32.

The input gradient of a stride-1 convolution (the common case) takes the "wide
rows" path (``_Wide``): every output row is taken over the full padded width,
so a kernel tap's window over one image is a single contiguous run of the
flattened padded image; the GEMM sums each kernel row's KW taps (columns = dy's
rows at the KW shifts) and KH row sums are added into the image. The extra
Wp - WO columns per row hold zero gradients (so the path is taken only for a
finite w, where 0 * w is 0). ``tests/test_cpu_fast_paths.py`` checks both fast
paths against the general one (one K-major im2col matrix for all images,
``_window_columns``).

The fast paths take their arrays from a ``Buffers`` (fresh arrays here); a compiled
CPU plan (``compiler.cpu_plan``) runs the same code with buffers kept between its
calls, so its results have these kernels' bits.
"""
from __future__ import annotations

import weakref

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..array import Array
from ._arrays import compute_dtype, nd, wrap
from ._parallel import run_pieces, threads


class Buffers:
    """Where a convolution kernel's arrays go, by ``name`` (one per array of a kernel): here
    fresh arrays (the backend's kernels, ``FRESH``); ``compiler.cpu_plan`` passes buffers
    kept between the calls of a compiled plan instead (the same math into other memory)."""

    def scratch(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """Any contents; used inside one block of images (the caller's thread's own)."""
        return np.empty(shape, dtype)

    def bordered(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """Zero wherever the kernel does not write (it writes the same part every call)."""
        return np.zeros(shape, dtype)

    def cleared(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """All zeros."""
        return np.zeros(shape, dtype)

    def kept(self, name: str, shape: tuple, dtype) -> np.ndarray:
        """Any contents; may outlive the call (``_KEPT_COLUMNS`` holds views of it)."""
        return np.empty(shape, dtype)


FRESH = Buffers()


def _windows(x: np.ndarray, kernel_size, stride, padding, dilation, out_size,
             buffers: Buffers = FRESH) -> np.ndarray:
    """The (N, C, HO, WO, KH, KW) view of every window of ``x`` (zero-padded as needed, in
    ``buffers``' "padded")."""
    (sh, sw), (ph, pw), (dh, dw), (ho, wo) = stride, padding, dilation, out_size
    h, w = x.shape[2:]
    span_h, span_w, bottom, right = _extents((h, w), kernel_size, stride, padding, dilation,
                                             out_size)
    if ph or pw or bottom or right:
        padded = buffers.bordered("padded", x.shape[:2] + (ph + h + bottom, pw + w + right),
                                  x.dtype)
        padded[:, :, ph:ph + h, pw:pw + w] = x
        x = padded
    windows = _sliding_windows(x, (span_h, span_w), (2, 3))
    return windows[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :ho, :wo]


def _sliding_windows(x: np.ndarray, spans: tuple, axes: tuple) -> np.ndarray:
    """NumPy's ``sliding_window_view(x, spans, axis=axes)`` (read-only, no copy) for two
    axes whose spans fit: the same view, built by ``as_strided`` without that function's
    argument handling (three quarters of a small convolution kernel's fixed cost)."""
    shape, strides = list(x.shape), list(x.strides)
    for axis, span in zip(axes, spans):
        shape[axis] -= span - 1
    return as_strided(x, tuple(shape) + tuple(spans),
                      tuple(strides) + tuple(strides[axis] for axis in axes), writeable=False)


def _extents(in_size, kernel_size, stride, padding, dilation, out_size) -> tuple:
    """``(span_h, span_w, bottom, right)``: a window's extent and the zero padding below and
    right of the (H, W) input that the output size needs."""
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = \
        in_size, kernel_size, stride, padding, dilation, out_size
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    need_h = max((ho - 1) * sh + span_h, span_h)
    need_w = max((wo - 1) * sw + span_w, span_w)
    return span_h, span_w, max(0, need_h - ph - h), max(0, need_w - pw - w)


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
        self.tap_strides = (dh * self.wp, dw)

    @classmethod
    def plan(cls, stride, in_size, kernel_size, padding, dilation, out_size, n: int):
        """The layout for a stride-1 convolution with something to compute and at most
        about 3x wasted columns per row; None otherwise (take the general path)."""
        if tuple(stride) != (1, 1) or n == 0 or 0 in tuple(in_size) + tuple(out_size):
            return None
        wide = cls(in_size, kernel_size, padding, dilation, out_size)
        return wide if wide.wp <= 3 * wide.wo + 8 else None

    def blocks(self, n: int, rows: int, workers: int = 1, elements: int = 0):
        """Slices of images whose (rows, images*HO*Wp) column block has about ``elements``
        elements (default ``_BLOCK_ELEMENTS``, 512 KiB of float32: built and multiplied in
        cache), and at least ``_MIN_BLOCK_COLUMNS`` columns (LeNet's 6->16 layer: 150 rows
        of 140 columns per image; blocks of 6 images ran about 10 % slower than of 15); with
        several ``workers`` (threads), at least one block each."""
        elements = elements or _BLOCK_ELEMENTS
        step = max(1, elements // max(1, rows * self.run), -(-_MIN_BLOCK_COLUMNS // self.run))
        step = min(step, max(1, -(-n // workers)))  # at least one block per thread
        return [slice(start, min(n, start + step)) for start in range(0, n, step)]

    def input_grad(self, dy: np.ndarray, w: np.ndarray, groups: int,
                   buffers: Buffers = FRESH, out: np.ndarray = None) -> np.ndarray:
        """(N, C, H, W) from dy (N, CO, HO, WO) and w (CO, C/g, KH, KW), block by block (a
        view of ``buffers``' "image", or ``out``, a contiguous (N, C, H, W) array of the
        compute dtype that each block copies its images into).

        The KW taps of a kernel row are summed inside the GEMM: its columns are dy's wide
        rows at the KW shifts kj*dw, ``(CO/g*KW, HO*Wp)`` per image (a shift keeps every
        real value inside its own output row; what it reads across a row's start is the
        zeros of the previous row's extra columns, or of ``lead`` zeros before the first
        image), so the product is one (C/g*KH, HO*Wp) row sum per image, channel and
        kernel row (one small GEMM per image and group, in cache, image-major: no
        transposes).
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
        # image-major wide rows: (N, CO, HO*Wp) after ``lead`` zeros (a channel's first row
        # shifted left reads the zeros of the previous channel's extra columns)
        shifted = buffers.bordered("shifted", (lead + n * co * self.run,), dtype)
        wide_dy = shifted[lead:].reshape(n, co, self.ho, self.wp)  # filled by each block
        # (groups, C/g*KH, CO/g*KW): column j of each output channel holds tap kj = KW-1-j
        taps = w.reshape(groups, co_g, c_g, kh, kw)[..., ::-1].transpose(0, 2, 3, 1, 4) \
            .reshape(groups, c_g * kh, co_g * kw)
        image = buffers.cleared("image", (n, c, self.plane), dtype)
        item = shifted.itemsize

        def block(images):
            count = images.stop - images.start
            # this block's images of dy (the runs below read only these and the zeros
            # of the previous image's extra columns: no other block's values)
            wide_dy[images, :, :, :self.wo] = dy[images]
            # columns[i, g, o, j, l] = dy_wide[start + i, g, o, l - (KW-1-j)*dw]
            view = as_strided(shifted[images.start * co * self.run:],
                              (count, groups, co_g, kw, self.run),
                              (co * self.run * item, co_g * self.run * item, self.run * item,
                               col_step * item, item), writeable=False)
            columns = buffers.scratch("columns", view.shape, dtype)
            np.copyto(columns, view)
            columns = columns.reshape(count, groups, co_g * kw, self.run)
            rows = buffers.scratch("rows", (count, groups, c_g * kh, self.run), dtype)
            np.matmul(taps, columns, out=rows)
            rows = rows.reshape(count, c, kh, self.run)
            target = image[images]
            for ki in range(kh):
                top = ki * row_step
                target[:, :, top:top + self.run] += rows[:, :, ki]
            if out is not None:
                np.copyto(out[images], crop(target))
        image = image.reshape(n, c, self.plane)

        def crop(planes):
            return planes.reshape(planes.shape[:2] + (self.hp + 1, self.wp))[
                :, :, self.ph:self.ph + self.h, self.pw:self.pw + self.w]
        workers = threads()
        run_pieces(block, self.blocks(n, groups * co_g * kw, workers), workers)
        return out if out is not None else crop(image)


_BY_IMAGE = True  # conv2d and its weight grad by image (``_ByImage``); False: one K-major
# im2col matrix for all images (``_window_columns``), the general path the tests compare with
_IMAGE_BLOCK_ELEMENTS = 1 << 20  # im2col elements per block of images (4 MiB of float32)
_KEPT_COLUMNS_MAX = 1 << 23  # the most im2col elements a forward keeps for its weight grad
_KEPT_TOTAL_MAX = 1 << 24  # ... and all kept columns together (64 MiB of float32): a deep
# network's later layers then compute theirs again instead of holding more memory

# The forward's im2col columns kept for the weight gradient (which needs the same matrix),
# a cache: the input's Storage (weakly: an entry goes with its input) -> {key: (version,
# columns)}, the key naming the view of the storage and the convolution's geometry. The
# weight grad takes its entry out (a second call computes the columns again); an entry of
# an older storage version (the input changed in place) is not used.
_KEPT_COLUMNS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _kept_elements() -> int:
    """How many im2col elements ``_KEPT_COLUMNS`` holds now."""
    return sum(block.size for entries in list(_KEPT_COLUMNS.values())
               for entry in entries.values() for block in entry[2])


def _image_blocks(n: int, per_image: int, workers: int = 1) -> list:
    """Slices of images whose im2col block holds about ``_IMAGE_BLOCK_ELEMENTS`` elements,
    and at least ``workers`` blocks (one per thread) where there are enough images."""
    step = max(1, min(_IMAGE_BLOCK_ELEMENTS // max(1, per_image), -(-n // workers)))
    return [slice(start, min(n, start + step)) for start in range(0, n, step)]


class _ByImage:
    """im2col per image: every image's (groups, C/groups*KH*KW, HO*WO) window matrix, so a
    convolution is one small GEMM per image and group (``np.matmul`` over the stack) whose
    operands stay in cache and whose products land in NCHW order: no transpose of the
    output, no columns beyond the real ones. Images go in blocks of about
    ``_IMAGE_BLOCK_ELEMENTS`` im2col elements (bounded memory). The forward keeps its
    columns (up to ``_KEPT_COLUMNS_MAX`` elements) for the weight gradient of the same
    input (``_KEPT_COLUMNS``). Arrays are made by ``buffers`` (``Buffers``)."""

    def __init__(self, x: Array, groups: int, kernel_size, stride, padding, dilation,
                 out_size, buffers: Buffers = FRESH):
        n, c = x.shape[:2]
        self.x, self.n, self.groups, self.buffers = x, n, groups, buffers
        self.rows = (c // groups) * kernel_size[0] * kernel_size[1]
        self.pixels = out_size[0] * out_size[1]
        self.geometry = (tuple(kernel_size), tuple(stride), tuple(padding), tuple(dilation),
                         tuple(out_size))
        self.workers = threads()
        self.blocks = _image_blocks(n, groups * self.rows * self.pixels, self.workers)
        self._windows = None  # made on first use (a weight grad with kept columns has none)
        self._into = None  # the forward's columns of all images when it keeps them

    def _key(self) -> tuple:
        x = self.x
        return (x.shape, x.strides, x.offset, x.dtype, self.groups) + self.geometry

    def windows(self) -> np.ndarray:
        """The (N, C, KH, KW, HO, WO) view of the windows."""
        if self._windows is None:
            self._windows = _windows(_as_compute(self.x), *self.geometry, self.buffers) \
                .transpose(0, 1, 4, 5, 2, 3)
        return self._windows

    def columns(self, images: slice) -> np.ndarray:
        """(images, groups, C/g*KH*KW, HO*WO), contiguous: in the forward's kept columns, or
        in ``buffers``' "columns"."""
        view = self.windows()[images]
        if self._into is not None:
            per_image = self.groups * self.rows * self.pixels
            block = self._into[images.start * per_image:images.stop * per_image] \
                .reshape(view.shape)
        else:
            block = self.buffers.scratch("columns", view.shape, view.dtype)
        np.copyto(block, view)
        return block.reshape(-1, self.groups, self.rows, self.pixels)

    def conv(self, w: np.ndarray, dtype, out: np.ndarray = None, keep: bool = True) -> np.ndarray:
        """(N, CO, HO, WO) = w (groups, CO/g, rows) @ columns, image by image, into ``out``
        (contiguous; default a fresh array: ``wrap`` takes it over without a copy). With
        ``keep``, the columns are kept for the weight grad (if ``_KEPT_COLUMNS`` has room)."""
        if out is None:
            out = np.empty((self.n, self.groups * w.shape[1]) + self.geometry[-1], dtype=dtype)
        products = out.reshape(self.n, self.groups, w.shape[1], self.pixels)
        size = self.n * self.groups * self.rows * self.pixels
        keep = keep and size <= _KEPT_COLUMNS_MAX and size + _kept_elements() <= _KEPT_TOTAL_MAX
        if keep:
            self._into = self.buffers.kept("columns", (size,), self.windows().dtype)

        def block(images):
            columns = self.columns(images)
            np.matmul(w, columns, out=products[images])
            return columns if keep else None
        kept = run_pieces(block, self.blocks, self.workers)
        self._into = None
        if keep:
            _KEPT_COLUMNS.setdefault(self.x.storage, {})[self._key()] = \
                (self.x.storage.version, self.blocks, kept)
        return out

    def weight_grad(self, dy: np.ndarray) -> np.ndarray:
        """(groups, rows, CO/g) = the sum over images of columns @ dy^T (a fresh array)."""
        entries = _KEPT_COLUMNS.get(self.x.storage)
        kept = entries.pop(self._key(), None) if entries is not None else None
        if kept is not None and (kept[0] != self.x.storage.version or kept[1] != self.blocks):
            kept = None
        transpose = self.rows >= 2 * dy.shape[2]
        buffers = self.buffers

        def block(number_images):
            number, images = number_images
            columns = kept[2][number] if kept is not None else self.columns(images)
            # (rows, HO*WO) @ (HO*WO, CO/g) per image and group, summed over the images; with
            # many rows per output channel dy^T is made contiguous first (BLAS then runs
            # ~1.3-1.6x faster: mnist_cnn's and LeNet's second layers), else used as a view
            dyt = dy[images].swapaxes(-1, -2)
            if transpose:
                contiguous = buffers.scratch("dy^T", dyt.shape, dy.dtype)
                np.copyto(contiguous, dyt)
                dyt = contiguous
            products = buffers.scratch("products", columns.shape[:3] + dyt.shape[-1:],
                                       np.result_type(columns, dyt))
            np.matmul(columns, dyt, out=products)
            return products.sum(axis=0)
        parts = run_pieces(block, list(enumerate(self.blocks)), self.workers)
        total = parts[0]
        for part in parts[1:]:
            total += part
        return total


# outputs of at most this many pixels per image, of at least ``_BATCH_LAST_IMAGES`` images
# and at most ``_BATCH_LAST_ELEMENTS`` im2col elements, take the images-innermost path
_BATCH_LAST_PIXELS = 64
_BATCH_LAST_IMAGES = 4
_BATCH_LAST_ELEMENTS = 1 << 22  # 16 MiB of float32


# ... and the input gradient only where pixels * KH * KW is at most this: its col2im adds
# once per tap (the wide-rows path once per kernel row), so LeNet's 5x5 taps on 8x8 outputs
# (1600) ran 770 us against the wide path's 560-620 us, 3x3 on 7x7 (441) 602 against 734
_BATCH_LAST_GRAD_TAPS = 441


def _batch_last_applies(n: int, c: int, kernel_size, out_size, input_grad: bool = False) -> bool:
    """Whether a convolution of ``n`` images of ``c`` channels takes the images-innermost
    path (``_BatchLast``): small outputs of a batch, whose by-image GEMMs and window copies
    run on a few pixels each (``input_grad``: the condition of the input gradient)."""
    pixels = out_size[0] * out_size[1]
    taps = kernel_size[0] * kernel_size[1]
    if input_grad and pixels * taps > _BATCH_LAST_GRAD_TAPS:
        return False
    return (0 < pixels <= _BATCH_LAST_PIXELS and n >= _BATCH_LAST_IMAGES
            and c * taps * pixels * n <= _BATCH_LAST_ELEMENTS)


class _BatchLast:
    """Convolutions of small images with the images innermost: the input as (C, H, W, N),
    its windows as one (groups, C/g*KH*KW, HO*WO*N) im2col matrix whose copy runs along
    (WO, N) rows, and each kernel one GEMM over every image (by image, a 4x4 output makes
    32 GEMMs of 16 columns and window copies of 4-element runs). The output and dy are
    transposed between (N, CO, HO, WO) and (CO, HO, WO, N) around the GEMMs."""

    def __init__(self, in_shape, groups: int, kernel_size, stride, padding, dilation,
                 out_size):
        self.n, self.c, self.h, self.w = in_shape
        self.groups = groups
        self.geometry = (tuple(kernel_size), tuple(stride), tuple(padding), tuple(dilation),
                         tuple(out_size))
        self.rows = (self.c // groups) * kernel_size[0] * kernel_size[1]
        self.columns_count = out_size[0] * out_size[1] * self.n

    def columns(self, x: np.ndarray) -> np.ndarray:
        """im2col of ``x`` (N, C, H, W): (groups, C/g*KH*KW, HO*WO*N), contiguous."""
        (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = self.geometry
        span_h, span_w, bottom, right = _extents((self.h, self.w), *self.geometry)
        padded = np.zeros((self.c, ph + self.h + bottom, pw + self.w + right, self.n), x.dtype)
        padded[:, ph:ph + self.h, pw:pw + self.w] = x.transpose(1, 2, 3, 0)
        windows = _sliding_windows(padded, (span_h, span_w), (1, 2))
        windows = windows[:, ::sh, ::sw, :, ::dh, ::dw][:, :ho, :wo]  # (C, HO, WO, N, KH, KW)
        columns = np.empty((self.c, kh, kw, ho, wo, self.n), x.dtype)
        np.copyto(columns, windows.transpose(0, 4, 5, 1, 2, 3))
        return columns.reshape(self.groups, self.rows, self.columns_count)

    def images_last(self, a: np.ndarray) -> np.ndarray:
        """(N, CO, HO, WO) -> (groups, CO/g, HO*WO*N), contiguous."""
        moved = np.ascontiguousarray(a.transpose(1, 2, 3, 0))
        return moved.reshape(self.groups, a.shape[1] // self.groups, self.columns_count)

    def images_first(self, a: np.ndarray, channels: int) -> np.ndarray:
        """(groups, channels/g, HO*WO*N) -> (N, channels, HO, WO), contiguous."""
        ho, wo = self.geometry[-1]
        moved = a.reshape(channels, ho, wo, self.n).transpose(3, 0, 1, 2)
        return np.ascontiguousarray(moved)

    def conv(self, x: np.ndarray, w: np.ndarray) -> np.ndarray:
        """(N, CO, HO, WO) = w (groups, CO/g, rows) @ columns."""
        products = np.matmul(w, self.columns(x))
        return self.images_first(products, w.shape[0] * w.shape[1])

    def weight_grad(self, x: np.ndarray, dy: np.ndarray) -> np.ndarray:
        """(groups, CO/g, rows) = dy (groups, CO/g, L) @ columns^T."""
        return np.matmul(self.images_last(dy), self.columns(x).transpose(0, 2, 1))

    def input_grad(self, dy: np.ndarray, w: np.ndarray) -> np.ndarray:
        """(N, C, H, W): the columns w^T @ dy added back into the padded (C, H, W, N)
        image, one strided add per kernel tap (runs along (WO, N))."""
        (kh, kw), (sh, sw), (ph, pw), (dh, dw), (ho, wo) = self.geometry
        columns = np.matmul(w.transpose(0, 2, 1), self.images_last(dy))
        columns = columns.reshape(self.c, kh, kw, ho, wo, self.n)
        _, _, bottom, right = _extents((self.h, self.w), *self.geometry)
        image = np.zeros((self.c, ph + self.h + bottom, pw + self.w + right, self.n),
                         columns.dtype)
        for ki in range(kh):
            for kj in range(kw):
                top, left = ki * dh, kj * dw
                image[:, top:top + (ho - 1) * sh + 1:sh, left:left + (wo - 1) * sw + 1:sw] += \
                    columns[:, ki, kj]
        cropped = image[:, ph:ph + self.h, pw:pw + self.w].transpose(3, 0, 1, 2)
        return np.ascontiguousarray(cropped)


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


def _conv_by_image(x: Array, weight: Array, stride, padding, dilation, groups: int, out_size,
                   out: np.ndarray = None, buffers: Buffers = FRESH,
                   keep: bool = True) -> np.ndarray:
    """conv2d by image (``_ByImage.conv``) in the compute dtype, into ``out`` (default fresh);
    None where that path does not apply (an empty output, or ``_BY_IMAGE`` off)."""
    n, (ho, wo) = x.shape[0], out_size
    if not (_BY_IMAGE and n and ho and wo):
        return None
    co, _, kh, kw = weight.shape
    if _batch_last_applies(n, x.shape[1], (kh, kw), out_size):
        return None  # ``conv2d``'s batch-last path
    w = _as_compute(weight).reshape(groups, co // groups, -1)
    plan = _ByImage(x, groups, (kh, kw), stride, padding, dilation, out_size, buffers)
    return plan.conv(w, np.result_type(compute_dtype(x.dtype), w), out, keep)


def _weight_grad_by_image(x: Array, grad_out: Array, stride, padding, dilation, groups: int,
                          kernel_size, buffers: Buffers = FRESH) -> np.ndarray:
    """dw of conv2d by image (``_ByImage.weight_grad``) as a (groups, CO/g, C/g*KH*KW)
    view in the compute dtype; None where that path does not apply."""
    n, co, ho, wo = grad_out.shape
    if not (_BY_IMAGE and n and ho and wo):
        return None
    if _batch_last_applies(n, x.shape[1], kernel_size, (ho, wo)):
        return None  # ``conv2d_weight_grad``'s batch-last path
    plan = _ByImage(x, groups, kernel_size, stride, padding, dilation, (ho, wo), buffers)
    dy = _as_compute(grad_out).reshape(n, groups, co // groups, ho * wo)
    return plan.weight_grad(dy).transpose(0, 2, 1)


def _input_grad_wide(grad_out: Array, weight: Array, stride, padding, dilation, groups: int,
                     in_size, buffers: Buffers = FRESH, out: np.ndarray = None) -> np.ndarray:
    """dx of a stride-1 conv2d by the wide-rows path (``_Wide.input_grad``: a view in the
    compute dtype, or ``out`` filled); None where that path does not apply (see
    ``_Wide.plan``; a weight with inf or NaN, as the extra columns need 0 * w = 0)."""
    n, co, ho, wo = grad_out.shape
    _, c_g, kh, kw = weight.shape
    if _batch_last_applies(n, c_g * groups, (kh, kw), (ho, wo), input_grad=True):
        return None  # ``conv2d_input_grad``'s batch-last path
    wide = _Wide.plan(stride, in_size, (kh, kw), padding, dilation, (ho, wo), n)
    if wide is None:
        return None
    w = _as_compute(weight)
    if not np.isfinite(w).all():
        return None
    return wide.input_grad(_as_compute(grad_out), w, groups, buffers, out)


def conv2d(x: Array, weight: Array, stride, padding, dilation, groups: int, out_size) -> Array:
    """(N, C, H, W) * (CO, C/groups, KH, KW) -> (N, CO, HO, WO); padding = (top, left)."""
    if _BY_IMAGE and _batch_last_applies(x.shape[0], x.shape[1], weight.shape[2:], out_size):
        plan = _BatchLast(x.shape, groups, weight.shape[2:], stride, padding, dilation,
                          out_size)
        w = _as_compute(weight).reshape(groups, weight.shape[0] // groups, -1)
        return wrap(plan.conv(_as_compute(x), w).astype(x.dtype.numpy, copy=False), x.dtype)
    out = _conv_by_image(x, weight, stride, padding, dilation, groups, out_size)
    if out is not None:
        return wrap(out.astype(x.dtype.numpy, copy=False), x.dtype)
    n = x.shape[0]
    co, _, kh, kw = weight.shape
    ho, wo = out_size
    cols = _window_columns(_as_compute(x), groups, (kh, kw), stride, padding, dilation, out_size)
    w = _as_compute(weight).reshape(groups, co // groups, -1)
    out = np.matmul(w, cols)  # (groups, CO/groups, N*HO*WO)
    out = out.reshape(groups, co // groups, n, ho, wo).transpose(2, 0, 1, 3, 4)
    return wrap(np.ascontiguousarray(out).reshape(n, co, ho, wo).astype(x.dtype.numpy, copy=False),
                x.dtype)


def conv2d_input_grad(grad_out: Array, weight: Array, stride, padding, dilation, groups: int,
                      in_size) -> Array:
    """dx (N, C, H, W) of conv2d from dy (N, CO, HO, WO); the forward of conv_transpose2d."""
    dtype = grad_out.dtype.numpy
    n, co, ho, wo = grad_out.shape
    _, c_g, kh, kw = weight.shape
    if _BY_IMAGE and _batch_last_applies(n, c_g * groups, (kh, kw), (ho, wo), input_grad=True):
        plan = _BatchLast((n, c_g * groups) + tuple(in_size), groups, (kh, kw), stride,
                          padding, dilation, (ho, wo))
        w = _as_compute(weight).reshape(groups, co // groups, -1)
        dx = plan.input_grad(_as_compute(grad_out), w)
        return wrap(dx.astype(dtype, copy=False), grad_out.dtype)
    # the crop of each block's images written straight into the result (on the block's
    # thread) where the compute dtype is the result's
    out = np.empty((grad_out.shape[0], weight.shape[1] * groups) + tuple(in_size), dtype) \
        if compute_dtype(grad_out.dtype) == dtype == compute_dtype(weight.dtype) else None
    dx = _input_grad_wide(grad_out, weight, stride, padding, dilation, groups, in_size,
                          out=out)
    if dx is not None:
        return wrap(dx if dx is out else dx.astype(dtype), grad_out.dtype)
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
    if _BY_IMAGE and _batch_last_applies(n, c, kernel_size, (ho, wo)):
        plan = _BatchLast(x.shape, groups, kernel_size, stride, padding, dilation, (ho, wo))
        dw = plan.weight_grad(_as_compute(x), _as_compute(grad_out))
        return wrap(dw.reshape(co, c // groups, *kernel_size).astype(x.dtype.numpy), x.dtype)
    dw = _weight_grad_by_image(x, grad_out, stride, padding, dilation, groups, kernel_size)
    if dw is not None:
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
