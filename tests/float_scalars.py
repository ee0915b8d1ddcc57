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

from specializations import hook_launches, sm90_binder

_ROUNDED = ("fp32", "fp16", "bf16")
# The library's kernels: triton_kernels and the compiler's generated fused kernels (a user's
# custom-op kernels, e.g. examples/custom_ops, follow their own rules).
_LIBRARY_MODULES = ("triton_kernels.", "framework_fused_")


class FloatScalarGuard:
    """Checks each interpreter launch's scalar argument types (``install`` hooks the launches)."""

    def install(self) -> None:
        hook_launches(self.check)

    def rounded_scalars(self, fn, args, kwargs) -> list[str]:
        """Names of the arguments a GPU launch would pass as 16/32-bit float scalars."""
        binder, names = sm90_binder(fn)
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
