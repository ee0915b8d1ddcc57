"""Image transforms (a small part of ``torchvision.transforms``): ToTensor, Normalize, Compose, Lambda."""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..ops.creation import from_numpy, tensor
from ..tensor import Tensor

__all__ = ["Compose", "ToTensor", "Normalize", "Lambda"]


class Compose:
    """Apply ``transforms`` one after the other."""

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for transform in self.transforms:
            img = transform(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class ToTensor:
    """An image array (H, W) or (H, W, C) -> float32 tensor (C, H, W).

    ``uint8`` images are scaled from 0-255 to [0, 1]; other dtypes keep their
    values and dtype (as torchvision does; int8/int16 become int32). Accepts NumPy arrays and anything
    ``numpy.asarray`` turns into one (a PIL image, say), not tensors.
    """

    def __call__(self, pic: Any) -> Tensor:
        if isinstance(pic, Tensor):
            raise TypeError("ToTensor: pic should be PIL Image or ndarray. Got Tensor")
        array = np.asarray(pic)
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise ValueError(f"ToTensor: pic should be 2 or 3 dimensional. Got {array.ndim} "
                             f"dimensions.")
        chw = np.ascontiguousarray(array.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            return from_numpy(chw.astype(np.float32) / np.float32(255.0))
        return from_numpy(chw)

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

    def __call__(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(f"Normalize: input should be a Tensor. Got {type(input).__name__}")
        if not input.dtype.is_floating_point:
            raise TypeError(f"Normalize: input should be a float tensor. Got {input.dtype}.")
        if input.dim() < 3:
            raise ValueError(f"Normalize: expected tensor to be a tensor image of size "
                             f"(..., C, H, W). Got tensor.size() = {tuple(input.shape)}.")
        mean = tensor(self.mean, dtype=input.dtype, device=input.device).view(-1, 1, 1)
        std = tensor(self.std, dtype=input.dtype, device=input.device).view(-1, 1, 1)
        if self.inplace:
            return input.sub_(mean).div_(std)
        return (input - mean) / std

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
