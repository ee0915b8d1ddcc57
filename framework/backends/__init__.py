"""``framework.backends``: PyTorch's backend flags ``cudnn``, ``mps`` and ``cuda``
(``torch.backends.*``). The compute backends (NumPy, Triton) live in the private
``framework._backends``.

framework runs no cuDNN and no Metal: the ``cudnn`` flags are kept (and read back)
so scripts that set them run unchanged, ``cudnn.is_available()`` is False, and
``mps`` is never available. ``cuda.matmul.allow_tf32`` is framework's float32
matmul precision (``'high'`` when True, ``'highest'`` when False), which the
Triton matmul and conv kernels follow. These flags are process-wide, as in
PyTorch.
"""
import contextlib as _contextlib
import sys as _sys

from .._backends.precision import _MatmulFlags

__all__ = ["cudnn", "mps", "cuda"]


class _CudnnFlags:
    """``torch.backends.cudnn``: ``enabled``, ``benchmark``, ``deterministic``,
    ``allow_tf32`` (stored; framework has no cuDNN, so they change no kernel)."""

    def __init__(self) -> None:
        self.enabled = True
        self.benchmark = False
        self.deterministic = False
        self.allow_tf32 = True
        self.benchmark_limit = 10

    @staticmethod
    def is_available() -> bool:
        """False: framework's convolutions are its own Triton kernels, not cuDNN."""
        return False

    @staticmethod
    def version():
        """None: no cuDNN library is loaded."""
        return None

    @_contextlib.contextmanager
    def flags(self, enabled: bool = False, benchmark: bool = False,
              deterministic: bool = False, allow_tf32: bool = True):
        """Set the flags inside a ``with`` block, restoring them after."""
        names = ("enabled", "benchmark", "deterministic", "allow_tf32")
        saved = tuple(getattr(self, n) for n in names)
        for name, value in zip(names, (enabled, benchmark, deterministic, allow_tf32)):
            setattr(self, name, value)
        try:
            yield
        finally:
            for name, value in zip(names, saved):
                setattr(self, name, value)


class _MpsFlags:
    """``torch.backends.mps``: Apple's Metal backend, which framework does not have."""

    @staticmethod
    def is_available() -> bool:
        """False: no Metal backend."""
        return False

    @staticmethod
    def is_built() -> bool:
        """False: framework is not built with Metal."""
        return False


class _CudaMatmulFlags(_MatmulFlags):
    """``torch.backends.cuda.matmul``: ``allow_tf32`` is framework's float32 matmul precision;
    the reduced-precision-reduction flags are kept (framework's fp16/bf16 matmuls always
    accumulate in fp32)."""

    allow_fp16_reduced_precision_reduction = True
    allow_bf16_reduced_precision_reduction = True


class _CudaBackendFlags:
    """``torch.backends.cuda``: ``matmul.allow_tf32`` (framework's float32 matmul precision)
    and ``is_built()``."""

    matmul = _CudaMatmulFlags()

    @staticmethod
    def is_built() -> bool:
        """True: the ``cuda`` backend (Triton kernels) is part of every framework install."""
        return True


cudnn = _CudnnFlags()
mps = _MpsFlags()
cuda = _CudaBackendFlags()

# ``import framework.backends.cudnn as cudnn`` works as in PyTorch (the flags are objects)
for _name in __all__:
    _sys.modules[f"{__name__}.{_name}"] = globals()[_name]
del _name
