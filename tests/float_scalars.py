"""Refuse kernel launches whose float scalars a GPU would round to float32 (pytest plugin).

Triton types a Python ``float`` argument ``fp32`` unless the kernel's parameter is
annotated (``lr: tl.float64``), so on a GPU a float64 computation that uses it silently
works with a rounded value. The interpreter passes Python floats through unchanged and
cannot show the rounding, so this plugin computes, at every launch under the
interpreter, the argument types Triton's binder would compute for an sm_90 GPU, and
raises ``TypeError`` when a scalar argument would be typed ``fp32``/``fp16``/``bf16``.
The rule it holds (docs/architecture.md, "Numerics of compiled kernels"): every float
scalar parameter of a kernel is annotated ``tl.float64`` and converted once to the
compute type inside the kernel (``triton_kernels/scalars.py``); values that must stay
bit-exact may travel as int64 bit patterns instead.

``tests/conftest.py`` installs it for every test run under the interpreter; it checks the
library's kernels (``triton_kernels`` and the compiler's generated fused kernels).
"""
from __future__ import annotations

_ROUNDED = ("fp32", "fp16", "bf16")
# The library's kernels: triton_kernels and the compiler's generated fused kernels (a user's
# custom-op kernels, e.g. examples/custom_ops, follow their own rules).
_LIBRARY_MODULES = ("triton_kernels.", "framework_fused_")


class FloatScalarGuard:
    """Wraps ``InterpretedFunction.run`` to check each launch's scalar argument types."""

    def __init__(self) -> None:
        self._binders: dict[int, tuple] = {}

    def install(self) -> None:
        from triton.runtime.interpreter import InterpretedFunction
        original = InterpretedFunction.run
        guard = self

        def run(fn, *args, grid, warmup, **kwargs):
            guard.check(fn, args, kwargs)
            return original(fn, *args, grid=grid, warmup=warmup, **kwargs)

        InterpretedFunction.run = run

    def _binder(self, fn):
        """``(fn, binder, names)``: Triton's argument binder for ``fn`` as compiled for sm_90."""
        entry = self._binders.get(id(fn))
        if entry is None:
            from triton.backends.compiler import GPUTarget
            from triton.compiler.compiler import make_backend
            from triton.runtime.jit import JITFunction, create_function_from_signature
            jit = JITFunction(fn.fn, **fn.kwargs)
            backend = make_backend(GPUTarget("cuda", 90, 32))
            binder = create_function_from_signature(jit.signature, jit.params, backend)
            entry = (fn, binder, [p.name for p in jit.params])  # fn kept alive: id stays unique
            self._binders[id(fn)] = entry
        return entry

    def rounded_scalars(self, fn, args, kwargs) -> list[str]:
        """Names of the arguments a GPU launch would pass as 16/32-bit float scalars."""
        _, binder, names = self._binder(fn)
        _, specialization, _ = binder(*args, **kwargs)
        return [f"{name}={ty}" for name, (ty, *_) in zip(names, specialization) if ty in _ROUNDED]

    def check(self, fn, args, kwargs) -> None:
        if not fn.fn.__module__.startswith(_LIBRARY_MODULES):
            return
        rounded = self.rounded_scalars(fn, args, kwargs)
        if rounded:
            raise TypeError(
                f"{fn.fn.__module__}.{fn.fn.__name__}: float scalar argument(s) {', '.join(rounded)} "
                "would reach a compiled kernel rounded to that type; annotate the parameter "
                "`: tl.float64` and convert it once to the compute type in the kernel "
                "(triton_kernels/scalars.py, docs/architecture.md, 'Numerics of compiled kernels')")
