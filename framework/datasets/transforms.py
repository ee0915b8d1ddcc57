"""Image transforms (a small part of ``torchvision.transforms``).

ToTensor, Normalize, Compose, Lambda, and RandomCrop (data augmentation; its
offsets come from ``framework.randint``, so ``framework.manual_seed`` fixes them).

A dataset that holds its images as one array (``MNIST``) applies a pipeline of
these to a whole batch at once (``batched``): each transform's ``_batched``
takes the stack of the images it would get one by one and returns the stack of
its results, with the same values and the same random draws in the same order
(``tests/datasets/test_mnist.py`` checks it against the one-by-one path).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..ops.creation import from_numpy, full, randint, tensor
from ..ops.shape import stack
from ..tensor import Tensor

__all__ = ["Compose", "ToTensor", "Normalize", "Lambda", "RandomCrop"]


def batchable(transform: Callable | None) -> bool:
    """Whether ``transform`` is None, one of ToTensor, Normalize, RandomCrop, or a Compose
    of those (exactly these classes: a subclass may call differently), so that its
    ``_batched`` gives what calling it on each image and stacking the results gives."""
    kind = type(transform)
    if kind is Compose:
        return all(batchable(t) for t in transform.transforms)
    return transform is None or kind in (ToTensor, Normalize, RandomCrop)


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for transform in self.transforms:
            img = transform(img)
        return img

    def _batched(self, images: Any) -> Any:
        for transform in self.transforms:
            images = transform._batched(images)
        return images

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class ToTensor:
    """An image array (H, W) or (H, W, C) -> float32 tensor (C, H, W).

    ``uint8`` images are scaled from 0-255 to [0, 1]; other dtypes keep their
    values and dtype (as torchvision does). Accepts
    NumPy arrays and anything ``numpy.asarray`` turns into one (a PIL image,
    say), not tensors.
    """

    def __call__(self, pic: Any) -> Tensor:
        if isinstance(pic, Tensor):
            raise TypeError("ToTensor: pic should be PIL Image or ndarray. Got Tensor")
        return self._convert(np.asarray(pic), 0)

    def _batched(self, pics: Any) -> Tensor:
        if isinstance(pics, Tensor):
            raise TypeError("ToTensor: pic should be PIL Image or ndarray. Got Tensor")
        return self._convert(np.asarray(pics), 1)

    @staticmethod
    def _convert(array: np.ndarray, lead: int) -> Tensor:
        """(..., H, W[, C]) -> (..., C, H, W) float tensor, ``lead`` leading (batch) axes."""
        ndim = array.ndim - lead
        if ndim == 2:
            array = array[..., None]
        if ndim not in (2, 3):
            raise ValueError(f"ToTensor: pic should be 2 or 3 dimensional. Got {ndim} "
                             f"dimensions.")
        chw = array.transpose(*range(lead), lead + 2, lead, lead + 1)
        if chw.dtype == np.uint8:
            return from_numpy(chw.astype(np.float32, order="C") / np.float32(255.0))
        return from_numpy(np.ascontiguousarray(chw))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Normalize:
    """``(tensor - mean) / std`` per channel of a float tensor (..., C, H, W).

    ``mean`` and ``std`` are sequences with one value per channel (or one value
    for all). ``inplace=True`` writes the result into ``tensor``.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False) -> None:
        self.mean = list(mean) if isinstance(mean, Sequence) else [float(mean)]
        self.std = list(std) if isinstance(std, Sequence) else [float(std)]
        if any(float(s) == 0.0 for s in self.std):
            raise ValueError(f"Normalize: std evaluated to zero, leading to division by zero "
                             f"(std={self.std}).")
        self.inplace = inplace
        self._constants = None  # cache: (key, mean, std) tensors of the last dtype/device used

    def _mean_std(self, input: Tensor) -> tuple:
        """``mean`` and ``std`` as (C, 1, 1) tensors of ``input``'s dtype and device, made
        once per dtype/device (and per value of ``mean``/``std``) instead of once per image."""
        key = (input.dtype, input.device, tuple(self.mean), tuple(self.std))
        if self._constants is None or self._constants[0] != key:
            mean = tensor(self.mean, dtype=input.dtype, device=input.device).view(-1, 1, 1)
            std = tensor(self.std, dtype=input.dtype, device=input.device).view(-1, 1, 1)
            self._constants = (key, mean, std)
        return self._constants[1], self._constants[2]

    def __call__(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"Normalize: input should be a Tensor. Got {type(input).__name__}")
        if not input.dtype.is_floating_point:
            raise TypeError(f"Normalize: input should be a float tensor. Got {input.dtype}.")
        if input.dim() < 3:
            raise ValueError(f"Normalize: expected tensor to be a tensor image of size "
                             f"(..., C, H, W). Got tensor.size() = {tuple(input.shape)}.")
        mean, std = self._mean_std(input)
        if self.inplace:
            return input.sub_(mean).div_(std)
        return (input - mean) / std

    def _batched(self, input: Tensor) -> Tensor:
        if isinstance(input, Tensor) and input.dim() == 3:  # a stack of (H, W) tensors
            raise ValueError(f"Normalize: expected tensor to be a tensor image of size "
                             f"(..., C, H, W). Got tensor.size() = {tuple(input.shape[1:])}.")
        return self(input)  # (mean, std) broadcast over the leading (batch) axis

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


class Lambda:
    """Apply a user function as a transform."""

    def __init__(self, lambd: Callable) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {repr(type(lambd).__name__)}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _padding_sides(padding: int | Sequence[int] | None) -> tuple[int, int, int, int]:
    """torchvision's padding forms -> (left, top, right, bottom)."""
    if padding is None:
        return 0, 0, 0, 0
    if isinstance(padding, int):
        return padding, padding, padding, padding
    padding = tuple(padding)
    if len(padding) == 2:
        return padding[0], padding[1], padding[0], padding[1]
    if len(padding) == 4:
        return padding
    raise ValueError(f"RandomCrop: padding must be an int or a sequence of 2 or 4 ints, "
                     f"got {len(padding)} values")


class RandomCrop:
    """Crop a random ``size`` window, after padding the borders with ``fill``.

    ``size``: an int (square) or (height, width); ``padding``: an int, (left/right,
    top/bottom) or (left, top, right, bottom). Images are NumPy arrays (H, W) or
    (H, W, C), as ``MNIST`` hands them to its transform, or tensors (..., H, W).
    Only constant padding (torchvision's default ``padding_mode``) is provided.
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 fill: float = 0) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding = _padding_sides(padding)
        if any(p < 0 for p in self.padding):
            raise ValueError(f"RandomCrop: padding must be non-negative, got {padding}")
        self.fill = fill

    def __call__(self, img: Any) -> Any:
        is_tensor = isinstance(img, Tensor)
        height_axis = img.dim() - 2 if is_tensor else 0
        padded = self._pad_tensor(img) if is_tensor else self._pad_array(np.asarray(img))
        height, width = padded.shape[height_axis], padded.shape[height_axis + 1]
        top, left = self._offsets(height, width, 1)
        crop_height, crop_width = self.size
        if is_tensor:
            return padded[..., top[0]:top[0] + crop_height, left[0]:left[0] + crop_width]
        return padded[top[0]:top[0] + crop_height, left[0]:left[0] + crop_width]

    def _batched(self, images: Any) -> Any:
        """A stack of images: tensors (B, ..., H, W), as one by one; arrays (B, H, W[, C]),
        each cropped at its own offsets by one gather."""
        if isinstance(images, Tensor):
            return stack([self(image) for image in images.unbind(0)])
        padded = self._pad_array(np.asarray(images), lead=1)
        count, height, width = padded.shape[:3]
        top, left = self._offsets(height, width, count)
        crop_height, crop_width = self.size
        rows = np.asarray(top, np.int64)[:, None] + np.arange(crop_height)  # (B, crop_height)
        cols = np.asarray(left, np.int64)[:, None] + np.arange(crop_width)  # (B, crop_width)
        return padded[np.arange(count)[:, None, None], rows[:, :, None], cols[:, None, :]]

    def _offsets(self, height: int, width: int, count: int) -> tuple:
        """(tops, lefts) of ``count`` crops of a padded (height, width) image: one draw per
        crop of its place among the (height - crop + 1) x (width - crop + 1) offsets, the
        draws in the order of ``count`` one-image calls."""
        crop_height, crop_width = self.size
        if crop_height > height or crop_width > width:
            raise ValueError(f"RandomCrop: required crop size {self.size} is larger than the "
                             f"padded input image size {(height, width)}")
        rows, cols = height - crop_height + 1, width - crop_width + 1
        places = [int(randint(0, rows * cols, (1,)).item()) for _ in range(count)]
        return [p // cols for p in places], [p % cols for p in places]

    def _pad_array(self, array: np.ndarray, lead: int = 0) -> np.ndarray:
        left, top, right, bottom = self.padding
        widths = [(0, 0)] * lead + [(top, bottom), (left, right)] + \
            [(0, 0)] * (array.ndim - lead - 2)
        return np.pad(array, widths, constant_values=self.fill)

    def _pad_tensor(self, input: Tensor) -> Tensor:
        left, top, right, bottom = self.padding
        if not any(self.padding):
            return input
        *batch, height, width = input.shape
        out = full((*batch, height + top + bottom, width + left + right), self.fill,
                   dtype=input.dtype, device=input.device)
        out[..., top:top + height, left:left + width] = input
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"
