"""CPU backend: every contract kernel written with NumPy."""
