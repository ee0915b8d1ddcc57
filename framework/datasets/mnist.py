"""MNIST (``torchvision.datasets.MNIST``) read from the standard IDX files.

The project ships a 5,000-image sample of MNIST (4,000 training / 1,000 test
images, see ``docs/datasets.md``) in ``framework/datasets/data/mnist``; the
full data set works the same when its four files are put in a folder and that
folder is passed as ``root``. No network is ever used.
"""
from __future__ import annotations

import gzip
import os
import struct
from typing import Any, Callable

import numpy as np

from ..ops.creation import from_numpy
from ..utils.data import Dataset
from . import transforms

__all__ = ["MNIST", "read_idx", "write_idx", "SAMPLE_ROOT"]

SAMPLE_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "mnist")
"""Folder of the shipped MNIST sample (the default ``root``)."""

# IDX type code -> big-endian NumPy dtype (http://yann.lecun.com/exdb/mnist/, "file formats").
_IDX_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_IDX_CODES = {dtype.newbyteorder("="): code for code, dtype in _IDX_DTYPES.items()}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed when its name ends in ``.gz``) into a NumPy array.

    Raises ``ValueError`` naming the file when the header or the size is wrong.
    """
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    with opener(path, "rb") as stream:
        payload = stream.read()
    if len(payload) < 4 or payload[0] != 0 or payload[1] != 0 or payload[2] not in _IDX_DTYPES:
        raise ValueError(f"read_idx: {os.fspath(path)} is not an IDX file (bad magic number "
                         f"{payload[:4].hex() or 'missing'})")
    dtype, ndim = _IDX_DTYPES[payload[2]], payload[3]
    header = 4 + 4 * ndim
    if len(payload) < header:
        raise ValueError(f"read_idx: {os.fspath(path)} is truncated (header of {ndim} dims)")
    shape = struct.unpack(f">{ndim}I", payload[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(payload) != expected:
        raise ValueError(f"read_idx: {os.fspath(path)} holds {len(payload)} bytes but its "
                         f"header {tuple(shape)} needs {expected}")
    values = np.frombuffer(payload, dtype, offset=header).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


def write_idx(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array`` (uint8, int8, int16, int32, float32 or float64)."""
    array = np.asarray(array)
    code = _IDX_CODES.get(array.dtype)
    if code is None:
        raise TypeError(f"write_idx: IDX files cannot hold {array.dtype}")
    header = struct.pack(f">BBBB{array.ndim}I", 0, 0, code, array.ndim, *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def _find_file(folders: list[str], name: str) -> str | None:
    """The first existing ``name`` or ``name.gz`` in ``folders``."""
    for folder in folders:
        for candidate in (name, name + ".gz"):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                return path
    return None


class MNIST(Dataset):
    """The MNIST handwritten digits: ``(image, label)`` pairs, like ``torchvision.datasets.MNIST``.

    Args:
        root: folder holding ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
            ``t10k-images-idx3-ubyte[.gz]`` and ``t10k-labels-idx1-ubyte[.gz]``, directly or
            in torchvision's layout ``root/MNIST/raw``. ``None``: the shipped 5,000-image sample.
        train: the training files (``train-*``) or the test files (``t10k-*``).
        transform: called on each image, a ``uint8`` NumPy array of shape (28, 28) (what
            torchvision's PIL image holds); without one, images are float32 tensors
            (1, 28, 28) in [0, 1], i.e. ``transforms.ToTensor()`` is applied.
        target_transform: called on each label (a Python ``int``).
        download: no network is used; when the files are missing this raises a
            ``RuntimeError`` that says where to put them (when they exist it does nothing).

    Attributes:
        data: int32 tensor (N, 28, 28) of pixel values 0-255.
        targets: int64 tensor (N,) of labels 0-9.
    """

    resources = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike | None = None, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        self.root = SAMPLE_ROOT if root is None else os.path.expanduser(os.fspath(root))
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if train else "t10k"
        images_path, labels_path = self._locate(f"{prefix}-images-idx3-ubyte",
                                                f"{prefix}-labels-idx1-ubyte", download)
        self._images, self._labels = self._read(images_path, labels_path)
        self.data = from_numpy(self._images.astype(np.int32))
        self.targets = from_numpy(self._labels.astype(np.int64))

    @property
    def class_to_idx(self) -> dict[str, int]:
        """Class name -> label."""
        return {name: i for i, name in enumerate(self.classes)}

    def _search_folders(self) -> list[str]:
        """Folders searched for the files: ``root/MNIST/raw``, ``root/raw``, ``root``."""
        name = type(self).__name__
        return [os.path.join(self.root, name, "raw"), os.path.join(self.root, "raw"), self.root]

    def _locate(self, images_name: str, labels_name: str, download: bool) -> tuple[str, str]:
        """Paths of the image and label files, or a ``RuntimeError`` saying where to put them."""
        folders = self._search_folders()
        images_path = _find_file(folders, images_name)
        labels_path = _find_file(folders, labels_name)
        if images_path is not None and labels_path is not None:
            return images_path, labels_path
        missing = [n for n, p in ((images_name, images_path), (labels_name, labels_path))
                   if p is None]
        where = (f"Put the four MNIST files ({', '.join(r + '[.gz]' for r in self.resources)}) "
                 f"in {folders[0]} or in {self.root}, or pass root=None for the 5,000-image "
                 f"sample shipped with framework.")
        if download:
            raise RuntimeError(f"{type(self).__name__}: download=True: framework never uses "
                               f"the network, and {', '.join(missing)} was not found. {where}")
        raise RuntimeError(f"{type(self).__name__}: dataset not found: no {', '.join(missing)} "
                           f"in {', '.join(folders)}. {where}")

    def _read(self, images_path: str, labels_path: str) -> tuple[np.ndarray, np.ndarray]:
        """The images (N, H, W) and labels (N,) as uint8 arrays, checked against each other."""
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"{type(self).__name__}: {images_path} must hold uint8 images "
                             f"(N, H, W); it holds {images.dtype} {images.shape}")
        if labels.ndim != 1 or len(labels) != len(images):
            raise ValueError(f"{type(self).__name__}: {labels_path} holds {labels.shape} labels "
                             f"for {len(images)} images in {images_path}")
        return images, labels

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """``(image, label)``; see the class docstring for their types."""
        image, target = self._images[index], int(self._labels[index])
        if self.transform is not None:
            image = self.transform(image)
        else:
            image = from_numpy(image[None].astype(np.float32) / np.float32(255.0))
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def _collated_batch(self, indices: list) -> tuple | None:
        """``default_collate([self[i] for i in indices])``, computed for the whole batch at
        once (the same values, the same random draws in the same order), or None where
        that cannot be done: a subclass's own ``__getitem__``, a ``target_transform``, a
        transform that is not ``transforms.batchable``, or indices that are not ints."""
        if (type(self).__getitem__ is not MNIST.__getitem__ or self.target_transform is not None
                or not transforms.batchable(self.transform) or not indices
                or not all(type(i) is int for i in indices)):
            return None
        select = np.asarray(indices, dtype=np.int64)
        images = self._images[select]  # IndexError for an index out of range, as one by one
        labels = from_numpy(self._labels[select].astype(np.int64))
        if self.transform is None:
            return from_numpy(images[:, None].astype(np.float32) / np.float32(255.0)), labels
        batch = self.transform._batched(images)
        if isinstance(batch, np.ndarray):  # what default_collate makes of arrays
            batch = from_numpy(np.ascontiguousarray(batch))
        return batch, labels

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return (f"Dataset {type(self).__name__}\n    Number of datapoints: {len(self)}\n"
                f"    Root location: {self.root}\n    Split: {split}")

