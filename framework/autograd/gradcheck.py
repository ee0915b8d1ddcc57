"""Finite-difference checks of analytical gradients (``torch.autograd.gradcheck``)."""
from __future__ import annotations

import numpy as np


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytical and numerical Jacobians differ."""


def _outputs_tuple(out) -> tuple:
    return out if isinstance(out, tuple) else (out,)


def _numerical_jacobian(fn, inputs, index, eps) -> list:
    """Central differences of every output with respect to ``inputs[index]``."""
    from ..autograd.grad_mode import no_grad
    target = inputs[index]
    base = target.detach().cpu().numpy().astype(np.float64)
    columns = []
    with no_grad():
        for flat in range(base.size):
            values = []
            for sign in (1.0, -1.0):
                bumped = base.copy().reshape(-1)
                bumped[flat] += sign * eps
                probe = list(inputs)
                probe[index] = _like(target, bumped.reshape(base.shape))
                values.append([o.detach().cpu().numpy().astype(np.float64).reshape(-1)
                               for o in _outputs_tuple(fn(*probe))])
            columns.append([(p - m) / (2 * eps) for p, m in zip(*values)])
    return columns


def _like(template, array):
    from ..ops.creation import tensor
    return tensor(array, dtype=template.dtype, device=template.device)


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, **_ignored) -> bool:
    """Compare ``fn``'s analytical gradients with central finite differences.

    Use float64 inputs; every tensor input with ``requires_grad`` is checked
    against every output.
    """
    from . import grad as autograd_grad
    from ..ops.creation import zeros_like
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    outputs = _outputs_tuple(fn(*inputs))
    checked = [i for i, x in enumerate(inputs) if hasattr(x, "requires_grad") and x.requires_grad]
    for index in checked:
        numerical = _numerical_jacobian(fn, inputs, index, eps)
        for out_i, out in enumerate(outputs):
            if not out.requires_grad:
                continue
            for flat in range(out.numel()):
                seed = zeros_like(out).reshape(-1)
                seed[flat] = 1.0
                (g,) = autograd_grad(out, inputs[index], seed.reshape(out.shape),
                                     retain_graph=True, allow_unused=True)
                analytical = (np.zeros(inputs[index].shape) if g is None
                              else g.detach().cpu().numpy().astype(np.float64))
                expected = np.array([col[out_i][flat] for col in numerical]).reshape(analytical.shape)
                if not np.allclose(analytical, expected, atol=atol, rtol=rtol):
                    if not raise_exception:
                        return False
                    raise GradcheckError(
                        f"Jacobian mismatch for output {out_i} with respect to input {index}, "
                        f"row {flat}:\nnumerical: {expected}\nanalytical: {analytical}")
    return True


def gradgradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True, **_ignored) -> bool:
    """Check second derivatives: gradcheck of the gradient (with ``create_graph``)."""
    from . import grad as autograd_grad
    from .grad_mode import enable_grad
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    diff = [x for x in inputs if hasattr(x, "requires_grad") and x.requires_grad]
    needs = [hasattr(x, "requires_grad") and x.requires_grad for x in inputs]

    def first_grads(*args):
        # gradcheck's finite differences call this under no_grad with probe
        # copies that don't require grad: first derivatives need both.
        with enable_grad():
            args = [a.detach().requires_grad_(True) if need and not a.requires_grad else a
                    for a, need in zip(args, needs)]
            outs = _outputs_tuple(fn(*args))
            total = outs[0].sum()
            for o in outs[1:]:
                total = total + o.sum()
            wanted = [a for a, need in zip(args, needs) if need]
            grads = autograd_grad(total, wanted, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    del diff
    return gradcheck(first_grads, inputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
