"""A stand-in for a backend namespace that wraps its contract kernels (other attributes pass
through): what tracing (``capture``) and launch counting (``launches``) install in
``framework._backends._loaded``."""
from __future__ import annotations


class KernelProxy:
    """Wraps each kernel of the backend ``_real`` once, with ``_wrap(name, fn)``."""

    _real = None  # the backend namespace (a subclass may load it lazily)

    @property
    def kernels(self) -> dict:
        return self._real.kernels

    def missing(self) -> list:
        return self._real.missing()

    def _wrap(self, name: str, fn):
        raise NotImplementedError

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        fn = getattr(self._real, name)
        if name not in self._real.kernels:
            return fn
        kernel = self._wrap(name, fn)
        kernel.__name__ = name
        self.__dict__[name] = kernel  # wrapped once: later reads skip __getattr__
        return kernel
