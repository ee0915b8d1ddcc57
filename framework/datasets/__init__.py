"""Data sets for the examples (``torchvision.datasets``-style), read from files, never the network.

``MNIST`` reads the standard IDX files; a 5,000-image sample of MNIST ships
with the package (see ``docs/datasets.md`` for its source and licenses).
``transforms`` holds ToTensor, Normalize, Compose, Lambda and RandomCrop.
``framework.datasets.names`` (imported on its own) holds the first-names corpus
of the language examples.
"""
from __future__ import annotations

from . import transforms
from .mnist import MNIST, SAMPLE_ROOT, read_idx, write_idx

__all__ = ["MNIST", "SAMPLE_ROOT", "read_idx", "write_idx", "transforms"]
