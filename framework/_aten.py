"""PyTorch's top-level forms of its neural-network functions (``torch.dropout``,
``torch.layer_norm``, ``torch.embedding``, ``torch.kl_div`` ...): ATen's signatures (all
arguments positional, ``reduction`` as an int: 0 none, 1 mean, 2 sum; ``embedding``'s
weight first; ``cudnn_enabled`` flags accepted and ignored), each calling the
``framework.nn.functional`` op it names. No new math here.
"""
from __future__ import annotations

from .tensor import Tensor

__all__ = [
    "dropout", "dropout_", "feature_dropout", "feature_dropout_", "alpha_dropout",
    "alpha_dropout_", "layer_norm", "group_norm", "batch_norm", "instance_norm", "rms_norm",
    "embedding", "embedding_renorm_", "bilinear", "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool1d_with_indices", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d",
    "threshold", "threshold_", "kl_div", "binary_cross_entropy_with_logits",
    "cosine_embedding_loss", "margin_ranking_loss", "hinge_embedding_loss", "poisson_nll_loss",
    "triplet_margin_loss", "ctc_loss", "constant_pad_nd", "conv_tbc", "convolution",
    "gru_cell", "lstm_cell", "rnn_tanh_cell", "rnn_relu_cell", "frobenius_norm",
    "norm_except_dim", "affine_grid_generator", "grid_sampler", "fill", "sgn", "adjoint",
    "conj", "conj_physical", "resolve_conj", "is_complex", "is_conj", "real", "imag", "angle",
    "poisson", "binomial", "frombuffer", "empty_strided", "empty_permuted", "get_device_module",
    "grid_sampler_2d", "grid_sampler_3d", "OutOfMemoryError", "AcceleratorError", "FatalError",
    "det", "logdet", "slogdet", "inverse", "cholesky", "cholesky_inverse", "cholesky_solve",
    "matrix_power", "matrix_exp", "pinverse", "qr", "svd", "lu_solve", "triangular_solve",
    "nuclear_norm", "lu_unpack", "feature_alpha_dropout", "feature_alpha_dropout_", "resize_as_",
    "orgqr", "ormqr", "geqrf",
]
# Tensor methods of these (``t.det()`` calls ``det(t)``: framework/__init__.py installs them)
TENSOR_METHODS = ("det", "logdet", "slogdet", "inverse", "cholesky", "cholesky_inverse",
                  "cholesky_solve", "matrix_power", "matrix_exp", "pinverse", "qr", "svd",
                  "lu_solve", "triangular_solve")
# torch's top-level in-place functions: ``torch.abs_(t)`` is ``t.abs_()``
INPLACE = ("abs_", "acos_", "acosh_", "addmv_", "arccos_", "arccosh_", "arcsin_", "arcsinh_",
           "arctan_", "arctanh_", "as_strided_", "asin_", "asinh_", "atan_", "atanh_", "ceil_",
           "clamp_", "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_", "deg2rad_", "detach_",
           "erf_", "erfc_", "exp2_", "exp_", "expm1_", "fill_", "fix_", "floor_", "frac_",
           "gcd_", "i0_", "lcm_", "ldexp_", "log10_", "log1p_", "log2_", "log_", "logit_",
           "nan_to_num_", "neg_", "negative_", "rad2deg_", "reciprocal_", "round_", "rsqrt_",
           "sigmoid_", "sin_", "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_",
           "xlogy_", "zero_")
# and the copying forms of views: ``torch.permute_copy(t, dims)`` is ``t.permute(dims)``'s copy
COPIES = ("alias_copy", "detach_copy", "diagonal_copy", "expand_copy", "narrow_copy",
          "permute_copy", "select_copy", "slice_copy", "split_copy", "split_with_sizes_copy",
          "squeeze_copy", "t_copy", "transpose_copy", "unbind_copy", "unfold_copy",
          "unsqueeze_copy", "view_copy")
__all__ += list(INPLACE) + list(COPIES)

_REDUCTIONS = {0: "none", 1: "mean", 2: "sum"}
_INTERPOLATION = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_PADDING = {0: "zeros", 1: "border", 2: "reflection"}


def _F():
    from .nn import functional
    return functional


def _reduction(reduction: int) -> str:
    """ATen's reduction enum as the functional's string."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction (0: none, 1: mean, "
                         f"2: sum)")
    return _REDUCTIONS[reduction]


# -- dropout -----------------------------------------------------------------------------------
def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``F.dropout(input, p, train)``."""
    return _F().dropout(input, p, train)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``F.dropout(input, p, train, inplace=True)``."""
    return _F().dropout(input, p, train, inplace=True)


def _feature_dropout(input: Tensor, p: float, train: bool, inplace: bool) -> Tensor:
    """Whole channels (dim 1 of a batch, dim 0 of one sample) dropped together."""
    F = _F()
    if input.ndim == 3 and input.shape[0] > 0:
        return F.dropout1d(input, p, train, inplace)
    return F.dropout2d(input, p, train, inplace)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Channel dropout (``F.dropout2d``'s rule: whole channels zeroed together)."""
    return _feature_dropout(input, p, train, False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place ``feature_dropout``."""
    return _feature_dropout(input, p, train, True)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``F.alpha_dropout(input, p, train)``."""
    return _F().alpha_dropout(input, p, train)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``F.alpha_dropout(input, p, train, inplace=True)``."""
    return _F().alpha_dropout(input, p, train, inplace=True)


# -- normalization -----------------------------------------------------------------------------
def layer_norm(input: Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5,
               cudnn_enable: bool = True) -> Tensor:
    """``F.layer_norm`` (``cudnn_enable`` ignored)."""
    return _F().layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight=None, bias=None, eps: float = 1e-5,
               cudnn_enabled: bool = True) -> Tensor:
    """``F.group_norm`` (``cudnn_enabled`` ignored)."""
    return _F().group_norm(input, num_groups, weight, bias, eps)


def batch_norm(input: Tensor, weight, bias, running_mean, running_var, training: bool,
               momentum: float, eps: float, cudnn_enabled: bool) -> Tensor:
    """``F.batch_norm`` with ATen's argument order."""
    return _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum,
                           eps)


def instance_norm(input: Tensor, weight, bias, running_mean, running_var,
                  use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool) -> Tensor:
    """``F.instance_norm`` with ATen's argument order."""
    return _F().instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                              momentum, eps)


def rms_norm(input: Tensor, normalized_shape, weight=None, eps=None) -> Tensor:
    """``F.rms_norm``."""
    return _F().rms_norm(input, normalized_shape, weight, eps)


# -- embedding, bilinear -------------------------------------------------------------------------
def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """``F.embedding(indices, weight, ...)``: ATen's order, weight first; ``padding_idx``
    -1 means none."""
    padding = None if padding_idx == -1 else padding_idx
    return _F().embedding(indices, weight, padding, scale_grad_by_freq=scale_grad_by_freq,
                          sparse=sparse)


def embedding_renorm_(input: Tensor, indices: Tensor, max_norm: float,
                      norm_type: float) -> Tensor:
    """Rows of ``input`` named in ``indices`` whose ``norm_type``-norm exceeds
    ``max_norm`` scaled (in place, outside autograd) to ``max_norm / (norm + 1e-7)``."""
    from .autograd.grad_mode import no_grad
    with no_grad():
        rows = indices.reshape(-1).unique()
        picked = input.index_select(0, rows)
        norms = picked.norm(norm_type, dim=1, keepdim=True)
        scale = ((max_norm / (norms + 1e-7)).clamp(max=1.0)).where(norms > max_norm, 1.0)
        input.index_copy_(0, rows, picked * scale)
    return input


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias=None) -> Tensor:
    """``F.bilinear``."""
    return _F().bilinear(input1, input2, weight, bias)


# -- pooling -----------------------------------------------------------------------------------
def _stride(stride):
    """ATen's empty stride list means the kernel size."""
    return None if stride is None or (isinstance(stride, (list, tuple)) and not stride) \
        else stride


def max_pool1d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """``F.max_pool1d``."""
    return _F().max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool2d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """``F.max_pool2d``."""
    return _F().max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """``F.max_pool3d``."""
    return _F().max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode: bool = False) -> tuple:
    """``F.max_pool1d(..., return_indices=True)``."""
    return _F().max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode,
                           True)


def avg_pool1d(input: Tensor, kernel_size, stride=(), padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """``F.avg_pool1d``."""
    return _F().avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode,
                           count_include_pad)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """``F.adaptive_avg_pool1d``."""
    return _F().adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input: Tensor, output_size) -> tuple:
    """``F.adaptive_max_pool1d(..., return_indices=True)``: values and indices."""
    return _F().adaptive_max_pool1d(input, output_size, True)


# -- activations and losses ----------------------------------------------------------------------
def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    """``F.threshold``."""
    return _F().threshold(input, threshold, value)


from .ops.activation import threshold_  # noqa: E402 - the same signature as F.threshold_


# torch's Python bindings of these ATen losses default ``reduction`` to 0 ('none'): the
# schemas say ``int reduction=Mean``, but the binding reads that default as 0 (torch 2.13:
# ``torch.kl_div(a, b)`` and ``torch.ctc_loss(...)`` are unreduced). framework follows what
# torch does; ``reduction=1`` gives the mean.
_DEFAULT_REDUCTION = 0


def kl_div(input: Tensor, target: Tensor, reduction: int = _DEFAULT_REDUCTION, *,
           log_target: bool = False) -> Tensor:
    """``F.kl_div`` with ATen's int reduction (its 'mean' divides by every element, without
    the functional's warning about it, as PyTorch's)."""
    name = _reduction(reduction)
    if name != "mean":
        return _F().kl_div(input, target, reduction=name, log_target=log_target)
    total = _F().kl_div(input, target, reduction="sum", log_target=log_target)
    return total / max(input.numel(), 1) if input.numel() else total * float("nan")


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight=None,
                                     pos_weight=None,
                                     reduction: int = _DEFAULT_REDUCTION) -> Tensor:
    """``F.binary_cross_entropy_with_logits`` with ATen's int reduction."""
    return _F().binary_cross_entropy_with_logits(input, target, weight,
                                                 reduction=_reduction(reduction),
                                                 pos_weight=pos_weight)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = _DEFAULT_REDUCTION) -> Tensor:
    """``F.cosine_embedding_loss`` with ATen's int reduction."""
    return _F().cosine_embedding_loss(input1, input2, target, margin,
                                      reduction=_reduction(reduction))


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = _DEFAULT_REDUCTION) -> Tensor:
    """``F.margin_ranking_loss`` with ATen's int reduction."""
    return _F().margin_ranking_loss(input1, input2, target, margin,
                                    reduction=_reduction(reduction))


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         reduction: int = _DEFAULT_REDUCTION) -> Tensor:
    """``F.hinge_embedding_loss`` with ATen's int reduction."""
    return _F().hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    """``F.poisson_nll_loss`` with ATen's positional arguments and int reduction."""
    return _F().poisson_nll_loss(input, target, log_input, full, eps=eps,
                                 reduction=_reduction(reduction))


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                        swap: bool = False, reduction: int = _DEFAULT_REDUCTION) -> Tensor:
    """``F.triplet_margin_loss`` with ATen's int reduction."""
    return _F().triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                    reduction=_reduction(reduction))


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths,
             blank: int = 0, reduction: int = _DEFAULT_REDUCTION,
             zero_infinity: bool = False) -> Tensor:
    """``F.ctc_loss`` with ATen's int reduction."""
    return _F().ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                         _reduction(reduction), zero_infinity)


# -- padding, convolution ------------------------------------------------------------------------
def constant_pad_nd(input: Tensor, pad, value=0) -> Tensor:
    """``F.pad(input, pad, value=value)`` (negative pads crop)."""
    return _F().pad(input, list(pad), value=value)


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """``F.conv_tbc``: a 1-D convolution of a (time, batch, channels) input."""
    return _F().conv_tbc(input, weight, bias, pad)


def convolution(input: Tensor, weight: Tensor, bias, stride, padding, dilation,
                transposed: bool, output_padding, groups: int) -> Tensor:
    """The convolution (or transposed convolution) whose dimensionality the input gives:
    ``F.conv{1,2,3}d`` / ``F.conv_transpose{1,2,3}d``."""
    spatial = input.ndim - 2
    if spatial not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected a 3-, 4- or 5-dimensional input, got "
                           f"{input.ndim} dimensions")
    F = _F()
    if transposed:
        fn = getattr(F, f"conv_transpose{spatial}d")
        return fn(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return getattr(F, f"conv{spatial}d")(input, weight, bias, stride, padding, dilation, groups)


# -- recurrent cells -----------------------------------------------------------------------------
def _linear(x: Tensor, w: Tensor, b) -> Tensor:
    out = x.matmul(w.t())
    return out if b is None else out + b


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih=None,
                  b_hh=None) -> Tensor:
    """One Elman step: ``tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``."""
    return (_linear(input, w_ih, b_ih) + _linear(hx, w_hh, b_hh)).tanh()


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih=None,
                  b_hh=None) -> Tensor:
    """One Elman step with relu."""
    return (_linear(input, w_ih, b_ih) + _linear(hx, w_hh, b_hh)).relu()


def lstm_cell(input: Tensor, hx, w_ih: Tensor, w_hh: Tensor, b_ih=None, b_hh=None) -> tuple:
    """One LSTM step: ``(h', c')`` from ``hx = (h, c)``, gates in PyTorch's order (i, f, g,
    o)."""
    h, c = hx
    gates = _linear(input, w_ih, b_ih) + _linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, -1)
    c_next = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c_next.tanh(), c_next


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih=None,
             b_hh=None) -> Tensor:
    """One GRU step, gates in PyTorch's order (r, z, n); the new gate's hidden part is
    scaled by r after its bias, as PyTorch's."""
    ri, zi, ni = _linear(input, w_ih, b_ih).chunk(3, -1)
    rh, zh, nh = _linear(hx, w_hh, b_hh).chunk(3, -1)
    r, z = (ri + rh).sigmoid(), (zi + zh).sigmoid()
    n = (ni + r * nh).tanh()
    return (1 - z) * n + z * hx


# -- norms, grids ---------------------------------------------------------------------------------
def frobenius_norm(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """The 2-norm over ``dim`` (all dims when empty); deprecated, warning as PyTorch's."""
    import warnings
    warnings.warn("at::frobenius_norm is deprecated and it is just left for JIT compatibility. "
                  "It will be removed in a future PyTorch release. Please use "
                  "`linalg.vector_norm(A, 2., dim, keepdim)` instead", UserWarning, stacklevel=2)
    dims = None if dim is None or (isinstance(dim, (list, tuple)) and not dim) else dim
    return input.norm(2, dim=dims, keepdim=keepdim)


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:  # noqa: A002
    """The ``pow``-norm of ``v`` over every dim but ``dim`` (kept as size 1; ``dim=-1``:
    over all dims), as the old weight norm uses."""
    if dim == -1:
        return v.norm(pow)
    dim = dim % v.ndim
    others = tuple(d for d in range(v.ndim) if d != dim)
    return v.norm(pow, dim=others, keepdim=True) if others else v.abs()


def affine_grid_generator(theta: Tensor, size, align_corners: bool) -> Tensor:
    """``F.affine_grid``."""
    return _F().affine_grid(theta, size, align_corners)


def grid_sampler(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                 align_corners: bool) -> Tensor:
    """``F.grid_sample`` with ATen's int modes (interpolation 0 bilinear, 1 nearest, 2
    bicubic; padding 0 zeros, 1 border, 2 reflection)."""
    if interpolation_mode not in _INTERPOLATION or padding_mode not in _PADDING:
        raise ValueError(f"grid_sampler(): unknown interpolation_mode {interpolation_mode} or "
                         f"padding_mode {padding_mode}")
    return _F().grid_sample(input, grid, _INTERPOLATION[interpolation_mode],
                            _PADDING[padding_mode], align_corners)


# -- real-number forms of the complex helpers; fill; in-place and copying forms ----------------
def fill(input: Tensor, value) -> Tensor:
    """A new tensor of ``input``'s shape, dtype and device filled with ``value``."""
    from .ops.creation import full_like
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"fill only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions.")
        return value.to(input.dtype).expand(tuple(input.shape)).clone()
    return full_like(input, value)


def sgn(input: Tensor) -> Tensor:
    """``sign`` (for real tensors, PyTorch's ``sgn`` is ``sign``)."""
    return input.sign()


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dims: their transpose, for real tensors."""
    if input.ndim < 2:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           "matrices. Got 1-D tensor.")
    return input.transpose(-2, -1)


def conj(input: Tensor) -> Tensor:
    """``input`` itself: real tensors are their own conjugate (framework has no complex
    dtypes)."""
    return input


def conj_physical(input: Tensor) -> Tensor:
    """A copy of ``input`` (the conjugate of a real tensor)."""
    return input.clone()


def resolve_conj(input: Tensor) -> Tensor:
    """``input`` itself (no lazy conjugation to resolve)."""
    return input


def is_complex(input: Tensor) -> bool:
    """False: framework has no complex dtypes."""
    return input.is_complex()


def is_conj(input: Tensor) -> bool:
    """False: framework tensors carry no lazy conjugation bit."""
    return False


def real(input: Tensor) -> Tensor:
    """``input`` itself (a real tensor's real part)."""
    return input


def imag(input: Tensor) -> Tensor:
    """Refused, as PyTorch refuses it for real tensors."""
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


def angle(input: Tensor) -> Tensor:
    """The argument of real numbers: 0 for x >= 0, pi for x < 0, NaN for NaN (integers give
    the default float dtype)."""
    import math
    x = input if input.dtype.is_floating_point else input.to(_default_float())
    return (x < 0).to(x.dtype) * math.pi + x * 0.0


def _default_float():
    from .dtypes import get_default_dtype
    return get_default_dtype()


def _inplace_function(name: str):
    """``torch.<name>(t, *args)``: the Tensor method ``t.<name>(*args)``."""
    def function(input: Tensor, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"``input.{name}(...)``: the in-place method, as a function."
    return function


def _copy_function(name: str):
    """``torch.<view>_copy(t, *args)``: the view ``t.<view>(*args)``, copied (each part of a
    split/unbind copied)."""
    view = name[:-len("_copy")]

    def function(input: Tensor, *args, **kwargs):
        if name == "alias_copy":  # (the alias is the tensor itself)
            return input.clone()
        if name == "slice_copy":  # (a slice has no method of its own)
            from .ops.numeric import _slice_along
            return _slice_along(input, *args, **kwargs).clone()
        result = getattr(input, view)(*args, **kwargs)
        if isinstance(result, (tuple, list)):
            return type(result)(part.clone() for part in result)
        return result.clone()
    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"A copy of ``input.{view}(...)``."
    return function


for _name in INPLACE:
    globals()[_name] = _inplace_function(_name)
for _name in COPIES:
    globals()[_name] = _copy_function(_name)
del _name


# -- sampling, memory, devices, errors --------------------------------------------------------
from ._errors import AcceleratorError, FatalError, OutOfMemoryError  # noqa: E402,F401


def _default_generator_only(op: str, generator) -> None:
    if generator is not None:
        raise NotImplementedError(f"{op}(): only the default generator is supported (seed it "
                                  f"with framework.manual_seed)")


def poisson(input: Tensor, generator=None) -> Tensor:
    """Poisson draws with the rates in ``input`` (Knuth's method below rate 10, PTRS above,
    as ``distributions.Poisson``); no gradient."""
    from ._distributions_more import _poisson_draw
    from .autograd.grad_mode import no_grad
    _default_generator_only("poisson", generator)
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"poisson_cpu\" not implemented for "
                           f"'{_scalar_name(input.dtype)}'")
    with no_grad():
        return _poisson_draw(input)


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """Binomial draws: successes in ``count`` trials of probability ``prob`` (as
    ``distributions.Binomial``); no gradient."""
    from .distributions import Binomial
    _default_generator_only("binomial", generator)
    if not prob.dtype.is_floating_point:
        raise RuntimeError(f"\"binomial_cpu\" not implemented for '{_scalar_name(prob.dtype)}'")
    return Binomial(total_count=count, probs=prob, validate_args=False).sample()


def _scalar_name(dtype) -> str:
    from .dtypes import scalar_type_name
    return scalar_type_name(dtype)


def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-D CPU tensor over the memory of a Python buffer (``bytes``, ``bytearray``,
    ``array.array``, ``memoryview``): ``count`` elements of ``dtype`` from byte ``offset``
    (-1: to the end). A writable buffer is shared; a read-only one is copied."""
    from ._backends import host
    from .ops.creation import from_numpy, tensor
    view = memoryview(buffer).cast("B")
    size = dtype.itemsize
    available = (len(view) - offset) // size if offset <= len(view) else -1
    if count == 0 or available <= 0 and count != 0:
        raise ValueError(f"both buffer length ({len(view)}) and count ({count}) must not be 0")
    if count < 0:
        if (len(view) - offset) % size:
            raise ValueError(f"buffer length ({len(view) - offset} after offset) must be a "
                             f"multiple of element size ({size})")
        count = available
    if count > available:
        raise ValueError(f"requested buffer length ({count} * {size} bytes) after offset "
                         f"({offset} bytes) must not be greater than actual buffer length "
                         f"({len(view)} bytes)")
    array = host.from_buffer(view, dtype, count, offset)
    out = from_numpy(array) if not view.readonly else tensor(array, dtype=dtype)
    return out.requires_grad_(requires_grad) if requires_grad else out


def empty_strided(size, stride, *, dtype=None, device=None,
                  requires_grad: bool = False) -> Tensor:
    """An uninitialized tensor of ``size`` laid out with element strides ``stride`` (over
    a storage just large enough)."""
    from ._backends.array import Array
    from .ops._util import wrap
    from .ops.creation import empty
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError("as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(stride)}")
    extent = 1 + sum((n - 1) * s for n, s in zip(size, stride)) if all(size) else 0
    flat = empty(extent, dtype=dtype, device=device)
    base: Array = flat._a
    out = wrap(base.view(size, stride, base.offset), flat.device)
    return out.requires_grad_(requires_grad) if requires_grad else out


def empty_permuted(size, physical_layout, *, dtype=None, device=None,
                   requires_grad: bool = False) -> Tensor:
    """An uninitialized tensor of ``size`` whose memory holds its dims in the order
    ``physical_layout`` (e.g. (0, 2, 3, 1): channels last)."""
    from .ops.creation import empty
    size, layout = tuple(size), tuple(physical_layout)
    if sorted(layout) != list(range(len(size))):
        raise RuntimeError(f"Dimension out of range or repeated in physical_layout "
                           f"{list(layout)} for {len(size)} dims")
    physical = empty(tuple(size[d] for d in layout), dtype=dtype, device=device)
    inverse = [layout.index(d) for d in range(len(size))]
    out = physical.permute(*inverse)
    return out.requires_grad_(requires_grad) if requires_grad else out


def get_device_module(device=None):
    """The module of a device type: ``framework.cuda`` for cuda (the default), ``framework.cpu``
    style access is not provided (``RuntimeError``)."""
    from . import cuda
    from .devices import device as as_device
    kind = "cuda" if device is None else (device if isinstance(device, str) else
                                           as_device(device).type).split(":")[0]
    if kind == "cuda":
        return cuda
    raise RuntimeError(f"Device '{kind}' does not have a corresponding module registered as "
                       f"'framework.{kind}'.")


def grid_sampler_2d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """``grid_sampler`` of a 4-D input."""
    if input.ndim != 4:
        raise RuntimeError(f"grid_sampler_2d(): expected 4D input, got {input.ndim}D")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def grid_sampler_3d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """``grid_sampler`` of a 5-D input."""
    if input.ndim != 5:
        raise RuntimeError(f"grid_sampler_3d(): expected 5D input, got {input.ndim}D")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


# -- torch's top-level linear algebra (the older names over framework.linalg) -------------------
def _linalg():
    from . import linalg
    return linalg


def det(input: Tensor) -> Tensor:
    """``linalg.det``."""
    return _linalg().det(input)


def slogdet(input: Tensor):
    """``linalg.slogdet``: ``(sign, logabsdet)``."""
    return _linalg().slogdet(input)


def logdet(input: Tensor) -> Tensor:
    """log(det(input)): NaN where the determinant is negative, -inf where it is 0."""
    sign, logabs = _linalg().slogdet(input)
    out = logabs.where(sign != 0, float("-inf"))
    return out.where(sign >= 0, float("nan"))


def inverse(input: Tensor) -> Tensor:
    """``linalg.inv``."""
    return _linalg().inv(input)


def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """``linalg.cholesky`` (PyTorch's deprecated name; it warns)."""
    import warnings
    warnings.warn("torch.cholesky is deprecated in favor of torch.linalg.cholesky and will be "
                  "removed in a future PyTorch release.", UserWarning, stacklevel=2)
    return _linalg().cholesky(input, upper=upper)


def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False) -> Tensor:
    """X with ``A X = input`` for ``A = L L^T`` (``upper``: ``U^T U``) of the Cholesky factor
    ``input2``: two triangular solves."""
    linalg = _linalg()
    factor = input2.mT if upper else input2
    half = linalg.solve_triangular(factor, input, upper=False)
    return linalg.solve_triangular(factor.mT, half, upper=True)


def cholesky_inverse(input: Tensor, upper: bool = False) -> Tensor:
    """The inverse of ``A = L L^T`` (``upper``: ``U^T U``) from its Cholesky factor."""
    from .ops.creation import eye
    n = input.shape[-1]
    identity = eye(n, dtype=input.dtype, device=input.device).expand(tuple(input.shape))
    return cholesky_solve(identity, input, upper)


def matrix_power(input: Tensor, n: int) -> Tensor:
    """``linalg.matrix_power``."""
    return _linalg().matrix_power(input, n)


def matrix_exp(input: Tensor) -> Tensor:
    """``linalg.matrix_exp``."""
    return _linalg().matrix_exp(input)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``linalg.pinv`` with singular values below ``rcond`` times the largest cut."""
    return _linalg().pinv(input, rtol=rcond)


def qr(input: Tensor, some: bool = True):
    """``(Q, R)``: ``linalg.qr`` in mode 'reduced' (``some``) or 'complete'."""
    from collections import namedtuple
    q, r = _linalg().qr(input, "reduced" if some else "complete")
    return namedtuple("qr", ("Q", "R"))(q, r)


def svd(input: Tensor, some: bool = True, compute_uv: bool = True):
    """``(U, S, V)`` (V, not its transpose): ``linalg.svd`` (reduced with ``some``); without
    ``compute_uv``, U and V are zeros, as PyTorch's."""
    from collections import namedtuple
    from .ops.creation import zeros
    result = namedtuple("svd", ("U", "S", "V"))
    u, values, vh = _linalg().svd(input, full_matrices=not some)
    if compute_uv:
        return result(u, values, vh.mT)
    return result(zeros(tuple(u.shape), dtype=u.dtype, device=u.device), values,
                  zeros(tuple(vh.shape), dtype=vh.dtype, device=vh.device))


def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor) -> Tensor:  # noqa: N803
    """``linalg.lu_solve(LU_data, LU_pivots, b)`` (PyTorch's older argument order)."""
    return _linalg().lu_solve(LU_data, LU_pivots, b)


def triangular_solve(b: Tensor, A: Tensor, upper: bool = True,  # noqa: N803
                     transpose: bool = False, unitriangular: bool = False):
    """``(solution, cloned_coefficient)`` of ``A X = b`` (``op(A) = A^T`` with
    ``transpose``) for a triangular ``A`` (deprecated in PyTorch)."""
    from collections import namedtuple
    result = namedtuple("triangular_solve", ("solution", "cloned_coefficient"))
    matrix = A.mT if transpose else A
    solution = _linalg().solve_triangular(matrix, b, upper=upper != transpose,
                                          unitriangular=unitriangular)
    return result(solution, A.clone())


def nuclear_norm(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """The nuclear norm (sum of singular values) over the last two dims (or ``dim``)."""
    if isinstance(dim, bool):  # torch.nuclear_norm(input, keepdim)
        dim, keepdim = None, dim
    dims = (-2, -1) if dim is None else tuple(dim)
    return _linalg().matrix_norm(input, "nuc", dim=dims, keepdim=keepdim)


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,  # noqa: N803
              unpack_pivots: bool = True):
    """``(P, L, U)`` from ``linalg.lu_factor``'s output, with ``A = P L U``: L unit lower
    (m x k), U upper (k x n), k = min(m, n); P from the 1-based row swaps in
    ``LU_pivots`` (empty tensors for the parts not unpacked, as PyTorch)."""
    from collections import namedtuple
    from .ops.creation import empty, eye, tensor
    result = namedtuple("lu_unpack", ("P", "L", "U"))
    m, n = LU_data.shape[-2:]
    k = min(m, n)
    lower = upper = empty(0, dtype=LU_data.dtype, device=LU_data.device)
    if unpack_data:
        ones = eye(m, k, dtype=LU_data.dtype, device=LU_data.device)
        lower = LU_data[..., :, :k].tril(-1) + ones
        upper = LU_data[..., :k, :].triu()
    perm = empty(0, dtype=LU_data.dtype, device=LU_data.device)
    if unpack_pivots:
        batch = tuple(LU_pivots.shape[:-1])
        swaps = LU_pivots.reshape(-1, LU_pivots.shape[-1]).tolist()
        orders = []
        for row in swaps:
            order = list(range(m))
            for i, j in enumerate(row):
                order[i], order[j - 1] = order[j - 1], order[i]
            orders.append(order)
        index = tensor(orders, device=LU_data.device).reshape(batch + (m,))
        identity = eye(m, dtype=LU_data.dtype, device=LU_data.device)
        perm = identity[index].mT
    return result(perm, lower, upper)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """``F.feature_alpha_dropout(input, p, train)``."""
    return _F().feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """``F.feature_alpha_dropout(input, p, train, inplace=True)``."""
    return _F().feature_alpha_dropout(input, p, train, inplace=True)


def resize_as_(input: Tensor, the_template: Tensor) -> Tensor:
    """``input.resize_as_(the_template)``."""
    return input.resize_as_(the_template)


def orgqr(input: Tensor, tau: Tensor) -> Tensor:
    """``linalg.householder_product``: Q's first n columns from Householder reflectors."""
    return _linalg().householder_product(input, tau)


def ormqr(input: Tensor, input2: Tensor, input3: Tensor, left: bool = True,
          transpose: bool = False) -> Tensor:
    """``Q @ input3`` (``left``; else ``input3 @ Q``; ``transpose``: Q^T) for the full m x m
    Q of the Householder reflectors in ``input`` and scales ``input2`` (LAPACK's ormqr)."""
    from .ops.creation import zeros
    m = input.shape[-2]
    k = input2.shape[-1]
    square = input[..., :, :min(k, input.shape[-1])]
    if square.shape[-1] < m:  # pad the reflectors to m columns (zero reflectors are identity)
        extra = zeros(tuple(square.shape[:-1]) + (m - square.shape[-1],), dtype=input.dtype,
                      device=input.device)
        square = _cat(square, extra)
        tau = _cat(input2, zeros(tuple(input2.shape[:-1]) + (m - k,), dtype=input2.dtype,
                                 device=input2.device))
    else:
        tau = input2
    q = _linalg().householder_product(square, tau)
    q = q.mT if transpose else q
    return q.matmul(input3) if left else input3.matmul(q)


def _cat(a: Tensor, b: Tensor) -> Tensor:
    from .ops.shape import cat
    return cat([a, b], -1)


def geqrf(input: Tensor):
    """``(a, tau)``: the QR factorization in LAPACK's compact form, R on and above the
    diagonal of ``a`` and the Householder reflectors below it (v_j = e_j + a[j+1:, j],
    H_j = I - tau_j v_j v_j^T), by LAPACK's dgeqr2 column by column (dlarfg's sign rule);
    no gradient, as PyTorch."""
    from collections import namedtuple
    from .autograd.grad_mode import no_grad
    from .ops.creation import zeros
    result = namedtuple("geqrf", ("a", "tau"))
    if input.ndim < 2:
        raise RuntimeError("torch.geqrf: The input tensor A must have at least 2 dimensions.")
    m, n = input.shape[-2:]
    k = min(m, n)
    with no_grad():
        a = input.clone()
        tau = zeros(tuple(input.shape[:-2]) + (k,), dtype=input.dtype, device=input.device)
        for j in range(k):
            alpha = a[..., j, j]
            tail = a[..., j + 1:, j]
            tail_norm = tail.norm(dim=-1) if m - j > 1 else alpha * 0
            identity = tail_norm == 0  # H_j = I: tau 0, nothing changes
            size = (alpha.square() + tail_norm.square()).sqrt()
            beta = -alpha.sign().where(alpha != 0, 1.0) * size
            beta = beta.where(~identity, alpha)
            safe = (alpha - beta).where(~identity, 1.0)
            tau[..., j] = ((beta - alpha) / beta.where(~identity, 1.0)).where(~identity, 0.0)
            v_tail = (tail / safe.unsqueeze(-1)).where(~identity.unsqueeze(-1), tail)
            a[..., j + 1:, j] = v_tail
            a[..., j, j] = beta
            if j + 1 < n:  # apply H_j to the columns on the right
                block = a[..., j:, j + 1:]
                v = _cat_rows(alpha * 0 + 1, v_tail)
                weights = (v.unsqueeze(-1) * block).sum(-2)  # v^T block
                update = v.unsqueeze(-1) * (tau[..., j].unsqueeze(-1) * weights).unsqueeze(-2)
                a[..., j:, j + 1:] = block - update
    return result(a, tau)


def _cat_rows(head: Tensor, tail: Tensor) -> Tensor:
    """``[head, tail...]`` along the last dim (head one value per batch)."""
    from .ops.shape import cat
    return cat([head.unsqueeze(-1), tail], -1)
