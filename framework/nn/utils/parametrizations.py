"""``torch.nn.utils.parametrizations``: weight and spectral normalization as
parametrizations (``parametrize.register_parametrization``), with torch's attributes and
``state_dict`` keys: ``parametrizations.weight.original0`` (g) and ``.original1`` (v) for
``weight_norm``; ``parametrizations.weight.original`` and the power-iteration vectors
``parametrizations.weight.0._u``, ``._v`` for ``spectral_norm``."""
from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...ops.norm import normalize
from ...tensor import Tensor
from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..modules.module import Module
from . import parametrize
from .weight_norm import norm_except_dim

__all__ = ["weight_norm", "spectral_norm"]


class _WeightNorm(Module):
    """``g · v / ||v||`` from the originals ``(g, v)``, the norm over every dim but ``dim``
    (-1: the whole tensor)."""

    def __init__(self, dim: int | None = 0) -> None:
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return weight_v * (weight_g / norm_except_dim(weight_v, 2, self.dim))

    def right_inverse(self, weight: Tensor) -> tuple:
        """``(g, v)`` with ``g = ||weight||`` (per ``dim`` slice) and ``v = weight``."""
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name: str = "weight", dim: int = 0):
    """Parametrize ``module.<name>`` as ``g · v / ||v||`` (magnitude and direction learnt
    apart), the norm over every dim but ``dim`` (None: the whole tensor). ``g`` and ``v`` are
    ``module.parametrizations.<name>.original0`` and ``original1``; a state dict of the old
    form (``<name>_g``, ``<name>_v``) still loads. Returns ``module``."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)

    def compat_hook(state_dict, prefix) -> None:
        g_key, v_key = f"{prefix}{name}_g", f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            state_dict[f"{prefix}parametrizations.{name}.original0"] = state_dict.pop(g_key)
            state_dict[f"{prefix}parametrizations.{name}.original1"] = state_dict.pop(v_key)

    parametrize._add_load_hook(module, compat_hook)
    return module


class _SpectralNorm(Module):
    """``weight / σ``, σ the largest singular value of the weight as a matrix (``dim`` first,
    the rest flattened), estimated by power iteration on the buffers ``_u`` and ``_v``
    (``n_power_iterations`` steps per forward in training mode). A 1-d weight is just
    normalized."""

    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, "
                             f"{ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError("Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            matrix = self._reshape_weight_to_matrix(weight)
            h, w = matrix.shape
            self.register_buffer("_u", normalize(matrix.new_empty(h).normal_(0, 1), dim=0,
                                                 eps=eps))
            self.register_buffer("_v", normalize(matrix.new_empty(w).normal_(0, 1), dim=0,
                                                 eps=eps))
            self._power_method(matrix, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if self.dim != 0:
            weight = weight.permute(self.dim, *(d for d in range(weight.ndim) if d != self.dim))
        return weight.flatten(1)

    def _power_method(self, matrix: Tensor, n_power_iterations: int) -> None:
        """Refine ``_u`` and ``_v`` in place."""
        with no_grad():
            matrix = matrix.detach()
            for _ in range(n_power_iterations):
                self._u.copy_(normalize(matrix.mv(self._v), dim=0, eps=self.eps))
                self._v.copy_(normalize(matrix.t().mv(self._u), dim=0, eps=self.eps))

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        matrix = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(matrix, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        sigma = u.dot(matrix.mv(v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        """Assigning a weight stores it as it is (σ is not inverted)."""
        return value


def spectral_norm(module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: int | None = None):
    """Parametrize ``module.<name>`` as ``weight / σ`` (see ``_SpectralNorm``), σ estimated
    by ``n_power_iterations`` power-iteration steps per training forward (15 at
    registration), ``eps`` guarding the normalizations. ``dim`` (default: 1 for transposed
    convolutions, else 0) is the output dim. Returns ``module``."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        transposed = (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)
        dim = 1 if isinstance(module, transposed) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
