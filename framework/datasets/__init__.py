"""Data sets for the examples (``torchvision.datasets``-style), read from files, never the network.

``MNIST`` reads the standard IDX files; a 5,000-image sample of MNIST ships
with the package (see ``docs/datasets.md`` for its source and licenses).
``transforms`` holds ToTensor, Normalize, Compose and Lambda.
"""
from __future__ import annotations

from . import transforms
from .mnist import MNIST, SAMPLE_ROOT, read_idx, write_idx

__all__ = ["MNIST", "SAMPLE_ROOT", "read_idx", "write_idx", "transforms"]
