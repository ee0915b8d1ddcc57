"""CUDA backend: launch wrappers for the kernels in ``triton_kernels``."""
