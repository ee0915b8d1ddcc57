"""Datasets (``torchvision.datasets``-style) and the small corpora shipped with framework."""
