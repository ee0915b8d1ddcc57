"""In-place ops (``add_``, ``mul_``, ``zero_``, ``copy_`` ...) with autograd and version counters.

An in-place op computes its result out of place from an alias of the old
value, writes it into the tensor's memory, bumps the storage's version (so a
backward that saved the old value fails clearly) and, when recording, makes
the tensor's ``grad_fn`` the new op's node. Writes into views, and views of
written tensors, follow PyTorch's rules: ``framework.autograd.views``.
"""
from __future__ import annotations

import math

from .. import dtypes
from ..autograd import views
from ..autograd.function import Function
from ..autograd.grad_mode import _state as _grad_state
from ..autograd.grad_mode import is_grad_enabled
from ..random import generator_for
from ..tensor import Tensor
from . import binary, compare, unary
from ._util import backend, broadcast_shapes, wrap
from .registry import register

__all__: list = []
# Tensor methods this module adds (``t.name(...)`` calls ``name(t, ...)``; framework/__init__.py).
TENSOR_METHODS = (
    "add_", "sub_", "mul_", "div_", "pow_", "neg_", "abs_", "exp_", "log_", "sqrt_", "sigmoid_",
    "tanh_", "relu_", "clamp_", "clamp_min_", "clamp_max_", "zero_", "fill_", "copy_", "floor_",
    "ceil_", "round_", "trunc_", "reciprocal_", "square_", "sign_", "uniform_", "normal_",
    "lerp_", "addcmul_", "addcdiv_", "logical_not_", "remainder_", "floor_divide_", "sin_",
    "cos_", "log1p_", "expm1_", "unsqueeze_", "squeeze_", "t_", "transpose_", "clip_", "log2_",
    "log10_", "exp2_", "rsqrt_", "tan_", "frac_", "fmod_", "atan2_", "negative_", "absolute_",
    "multiply_", "subtract_", "divide_", "true_divide_", "bernoulli_", "exponential_",
    "random_", "asin_", "acos_", "atan_", "sinh_", "cosh_", "asinh_", "acosh_", "atanh_",
    "arcsin_", "arccos_", "arctan_", "arcsinh_", "arccosh_", "arctanh_", "erf_", "erfc_",
    "erfinv_", "copysign_", "hypot_", "bitwise_and_", "bitwise_or_", "bitwise_xor_",
    "bitwise_not_", "bitwise_left_shift_", "bitwise_right_shift_", "eq_", "ne_", "lt_", "le_",
    "gt_", "ge_", "greater_", "greater_equal_", "less_", "less_equal_", "not_equal_",
    "logical_and_", "logical_or_", "logical_xor_", "cumsum_", "cumprod_", "addmm_", "addmv_",
    "baddbmm_", "addbmm_", "addr_", "deg2rad_", "rad2deg_", "logit_", "sinc_", "nan_to_num_",
    "xlogy_", "heaviside_", "float_power_", "arctan2_", "fix_", "swapaxes_", "swapdims_",
    "lgamma_", "digamma_", "mvlgamma_", "i0_", "gcd_", "lcm_", "ldexp_", "nextafter_",
    "renorm_", "put_", "cauchy_", "geometric_", "log_normal_", "igamma_", "igammac_",
    "as_strided_",
)

register("add_", "inplace", ("copy_", "add", "sum"))
register("sub_", "inplace", ("copy_", "neg", "sub", "sum"))
register("mul_", "inplace", ("copy_", "empty", "mul", "sum"))
register("div_", "inplace", ("copy_", "div", "empty", "mul", "neg", "sum"))
for _name in ("zero_", "fill_", "copy_"):
    register(_name, "inplace", ("copy_", "empty", "full", "sum"))
register("clamp_", "inplace", ("copy_", "clamp", "empty", "ge", "le", "logical_and", "where"))
register("uniform_", "inplace", ("copy_", "empty", "full", "rand"))
register("normal_", "inplace", ("copy_", "empty", "full", "randn"))
register("bernoulli_", "inplace", ("copy_", "empty", "full", "lt", "rand"))
register("exponential_", "inplace", ("copy_", "empty", "full", "log1p", "mul", "neg", "rand"))
register("random_", "inplace", ("copy_", "empty", "full", "randint"))
del _name


def check_writable(op: str, x: Tensor) -> None:
    """Refuse writes to a tensor whose elements share memory (e.g. an ``expand`` view)."""
    if any(size > 1 and stride == 0 for size, stride in zip(x.shape, x.stride())):
        raise RuntimeError(f"{op}(): unsupported operation: more than one element of the "
                           "written-to tensor refers to a single memory location. Please clone() "
                           "the tensor before performing the operation.")


def apply_inplace(op: str, x: Tensor, compute) -> Tensor:
    """Write ``compute(alias_of_x)`` into ``x``; re-record ``x``'s graph when recording.

    Views follow PyTorch's rules (``framework.autograd.views``): a recorded write
    into a view re-records its base (``CopySlices``); other views of the base
    regenerate their ``grad_fn`` at their next use.
    """
    check_writable(op, x)
    recording = _grad_state.enabled
    if recording and x._view_meta is not None:
        views.check_stale_view_write(x)
    old = x._alias()
    out = _compute_watching_saves(compute, old) if recording else compute(old)
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): internal error: result is not a tensor")
    if not dtypes.can_cast(out.dtype, x.dtype):
        raise RuntimeError(f"{op}(): result type {dtypes.scalar_type_name(out.dtype)} can't be cast to the "
                           f"desired output type {dtypes.scalar_type_name(x.dtype)}")
    if broadcast_shapes(op, tuple(out.shape), tuple(x.shape)) != tuple(x.shape):
        raise RuntimeError(f"{op}(): output with shape {list(x.shape)} doesn't match the "
                           f"broadcast shape {list(broadcast_shapes(op, tuple(out.shape), tuple(x.shape)))}")
    if recording:
        recording = out.grad_fn is not None  # (None for ops without a derivative: as in PyTorch)
        if recording or x._base is not None or x._requires_grad:
            views.check_inplace(op, x, out)
    backend(x).copy_(x._a, out._a)
    storage = x._a.storage
    storage.version += 1
    if recording:
        if tuple(out.shape) != tuple(x.shape) or out.dtype is not x.dtype:
            out = out.expand(tuple(x.shape)).to(x.dtype)
        if x._base is not None:
            views.rebase_view(op, x, out)
        else:
            views.set_grad_fn(x, out.grad_fn, out._output_nr)
    elif x._base is not None and x._view_meta is None and x._seen_version == storage.version - 1:
        x._seen_version = storage.version  # an unrecorded write leaves x's own graph valid
    return x


def _compute_watching_saves(compute, old: Tensor) -> Tensor:
    """``compute(old)``; nodes it records that saved (views of) the value about to be
    overwritten get a copy of it instead, taken now.

    (PyTorch keeps the original ``self`` the same way for in-place ops whose
    derivative needs it, e.g. ``mul_`` when the other operand requires grad;
    composite ops such as ``frac_`` may save it in an inner node.)
    """
    previous = _grad_state.inplace_watch
    savers: list = []
    _grad_state.inplace_watch = (old._a.storage, savers)
    try:
        out = compute(old)
    finally:
        _grad_state.inplace_watch = previous
    if savers:
        _snapshot_saved(savers, old._a.storage)
    return out


def _snapshot_saved(nodes: list, storage) -> None:
    from .conversion import clone
    copies: dict = {}
    for node in nodes:
        saved = node._saved
        node._saved = tuple(
            copies.setdefault(id(t), clone(t)) if t is not None and t._a.storage is storage
            else t for t in saved)
        node._saved_versions = tuple(t._version if t is not None else 0 for t in node._saved)


def _module_of(name: str):
    """The op module (elementwise, scan, matmul or numeric) that defines op ``name``."""
    from . import matmul, numeric, scan, special
    for module in (unary, binary, compare, scan, matmul, numeric, special):
        if name in module.__dict__:
            return module
    raise AttributeError(f"no op {name!r} to write in place")


# in-place ops whose commonest calls go straight to their kernel (``_untracked_inplace``)
_DIRECT_KERNELS = {"add": "add", "sub": "sub", "mul": "mul", "div": "div"}
_INT64_RANGE = (-(1 << 63), (1 << 63) - 1)


def _untracked_inplace(kernel: str, x: Tensor, other) -> bool:
    """``x.<kernel>_(other)`` done here when nothing is recorded and the result is ``x``'s
    dtype without a cast, as ``apply_inplace`` then does it (the kernel's result copied into
    ``x``, the storage's version bumped): ``x`` a plain tensor (not a view) that neither
    requires grad nor has a node (either is fine with grad mode off: a parameter's update
    under ``no_grad``), of a floating dtype (or int64 for ``+ - *``), and
    ``other`` a Python number, or a tensor of ``x``'s dtype, device and shape that records
    nothing. False (nothing done) for every other call."""
    if type(x) is not Tensor or x._base is not None or (
            _grad_state.enabled and (x._requires_grad or x._grad_fn is not None)):
        return False
    array = x._a
    dtype = array.dtype
    if not (dtype.is_floating_point or (dtype is dtypes.int64 and kernel != "div")):
        return False
    kind = type(other)
    if kind is Tensor:
        operand = other._a
        if operand.dtype is not dtype or other._device is not x._device or \
                operand.shape != array.shape:
            return False
        if _grad_state.enabled and (other._requires_grad or other._grad_fn is not None
                                    or other._base is not None):
            return False
    elif kind is float:
        if not dtype.is_floating_point:
            return False
        operand = other
    elif kind is int:
        if not _INT64_RANGE[0] <= other <= _INT64_RANGE[1]:
            return False
        operand = other
    else:
        return False
    kernels = backend(x)
    kernels.copy_(array, getattr(kernels, kernel)(array, operand, dtype, dtype))
    array.storage.version += 1
    return True


def _binary_inplace(op: str, name: str):
    """``self.<op>(other)``: the elementwise op ``name`` written into ``self``."""
    module = _module_of(name)  # the op itself is looked up at call time
    direct = _DIRECT_KERNELS.get(name)

    def method(self: Tensor, other, *args, **kwargs) -> Tensor:
        if direct is not None and not args and not kwargs and \
                _untracked_inplace(direct, self, other):
            return self
        fn = getattr(module, name)
        return apply_inplace(op, self, lambda old: fn(old, other, *args, **kwargs))
    method.__name__ = op
    method.__doc__ = f"In-place ``{name}``: writes the result into ``self``."
    return method


def _unary_inplace(op: str, name: str):
    """``self.<op>()``: the elementwise op ``name`` written into ``self``."""
    module = _module_of(name)

    def method(self: Tensor, *args, **kwargs) -> Tensor:
        fn = getattr(module, name)
        return apply_inplace(op, self, lambda old: fn(old, *args, **kwargs))
    method.__name__ = op
    method.__doc__ = f"In-place ``{name}``: writes the result into ``self``."
    return method


add_ = _binary_inplace("add_", "add")
sub_ = _binary_inplace("sub_", "sub")
mul_ = _binary_inplace("mul_", "mul")
div_ = _binary_inplace("div_", "div")
pow_ = _binary_inplace("pow_", "pow")
remainder_ = _binary_inplace("remainder_", "remainder")
floor_divide_ = _binary_inplace("floor_divide_", "floor_divide")
lerp_ = _binary_inplace("lerp_", "lerp")
addcmul_ = _binary_inplace("addcmul_", "addcmul")
addcdiv_ = _binary_inplace("addcdiv_", "addcdiv")
neg_ = _unary_inplace("neg_", "neg")
abs_ = _unary_inplace("abs_", "abs")
exp_ = _unary_inplace("exp_", "exp")
log_ = _unary_inplace("log_", "log")
sqrt_ = _unary_inplace("sqrt_", "sqrt")
sigmoid_ = _unary_inplace("sigmoid_", "sigmoid")
tanh_ = _unary_inplace("tanh_", "tanh")
relu_ = _unary_inplace("relu_", "relu")
floor_ = _unary_inplace("floor_", "floor")
ceil_ = _unary_inplace("ceil_", "ceil")
round_ = _unary_inplace("round_", "round")
trunc_ = _unary_inplace("trunc_", "trunc")
reciprocal_ = _unary_inplace("reciprocal_", "reciprocal")
square_ = _unary_inplace("square_", "square")
sign_ = _unary_inplace("sign_", "sign")
sin_ = _unary_inplace("sin_", "sin")
cos_ = _unary_inplace("cos_", "cos")
log1p_ = _unary_inplace("log1p_", "log1p")
expm1_ = _unary_inplace("expm1_", "expm1")
logical_not_ = _unary_inplace("logical_not_", "logical_not")
clamp_ = _unary_inplace("clamp_", "clamp")
clamp_min_ = _unary_inplace("clamp_min_", "clamp_min")
clamp_max_ = _unary_inplace("clamp_max_", "clamp_max")
clip_ = _unary_inplace("clip_", "clip")
log2_ = _unary_inplace("log2_", "log2")
log10_ = _unary_inplace("log10_", "log10")
exp2_ = _unary_inplace("exp2_", "exp2")
rsqrt_ = _unary_inplace("rsqrt_", "rsqrt")
tan_ = _unary_inplace("tan_", "tan")
frac_ = _unary_inplace("frac_", "frac")
negative_ = _unary_inplace("negative_", "negative")
absolute_ = _unary_inplace("absolute_", "absolute")
fmod_ = _binary_inplace("fmod_", "fmod")
atan2_ = _binary_inplace("atan2_", "atan2")
multiply_ = _binary_inplace("multiply_", "multiply")
subtract_ = _binary_inplace("subtract_", "subtract")
divide_ = _binary_inplace("divide_", "divide")
true_divide_ = _binary_inplace("true_divide_", "true_divide")
asin_ = _unary_inplace("asin_", "asin")
acos_ = _unary_inplace("acos_", "acos")
atan_ = _unary_inplace("atan_", "atan")
sinh_ = _unary_inplace("sinh_", "sinh")
cosh_ = _unary_inplace("cosh_", "cosh")
asinh_ = _unary_inplace("asinh_", "asinh")
acosh_ = _unary_inplace("acosh_", "acosh")
atanh_ = _unary_inplace("atanh_", "atanh")
arcsin_ = _unary_inplace("arcsin_", "arcsin")
arccos_ = _unary_inplace("arccos_", "arccos")
arctan_ = _unary_inplace("arctan_", "arctan")
arcsinh_ = _unary_inplace("arcsinh_", "arcsinh")
arccosh_ = _unary_inplace("arccosh_", "arccosh")
arctanh_ = _unary_inplace("arctanh_", "arctanh")
erf_ = _unary_inplace("erf_", "erf")
erfc_ = _unary_inplace("erfc_", "erfc")
erfinv_ = _unary_inplace("erfinv_", "erfinv")
copysign_ = _binary_inplace("copysign_", "copysign")
hypot_ = _binary_inplace("hypot_", "hypot")
bitwise_and_ = _binary_inplace("bitwise_and_", "bitwise_and")
bitwise_or_ = _binary_inplace("bitwise_or_", "bitwise_or")
bitwise_xor_ = _binary_inplace("bitwise_xor_", "bitwise_xor")
bitwise_left_shift_ = _binary_inplace("bitwise_left_shift_", "bitwise_left_shift")
bitwise_right_shift_ = _binary_inplace("bitwise_right_shift_", "bitwise_right_shift")
bitwise_not_ = _unary_inplace("bitwise_not_", "bitwise_not")
eq_ = _binary_inplace("eq_", "eq")
ne_ = _binary_inplace("ne_", "ne")
lt_ = _binary_inplace("lt_", "lt")
le_ = _binary_inplace("le_", "le")
gt_ = _binary_inplace("gt_", "gt")
ge_ = _binary_inplace("ge_", "ge")
greater_ = _binary_inplace("greater_", "greater")
greater_equal_ = _binary_inplace("greater_equal_", "greater_equal")
less_ = _binary_inplace("less_", "less")
less_equal_ = _binary_inplace("less_equal_", "less_equal")
not_equal_ = _binary_inplace("not_equal_", "not_equal")
logical_and_ = _binary_inplace("logical_and_", "logical_and")
logical_or_ = _binary_inplace("logical_or_", "logical_or")
logical_xor_ = _binary_inplace("logical_xor_", "logical_xor")
cumsum_ = _unary_inplace("cumsum_", "cumsum")
cumprod_ = _unary_inplace("cumprod_", "cumprod")
addmm_ = _binary_inplace("addmm_", "addmm")
addmv_ = _binary_inplace("addmv_", "addmv")
baddbmm_ = _binary_inplace("baddbmm_", "baddbmm")
addbmm_ = _binary_inplace("addbmm_", "addbmm")
addr_ = _binary_inplace("addr_", "addr")
deg2rad_ = _unary_inplace("deg2rad_", "deg2rad")
rad2deg_ = _unary_inplace("rad2deg_", "rad2deg")
logit_ = _unary_inplace("logit_", "logit")
sinc_ = _unary_inplace("sinc_", "sinc")
nan_to_num_ = _unary_inplace("nan_to_num_", "nan_to_num")
xlogy_ = _binary_inplace("xlogy_", "xlogy")
heaviside_ = _binary_inplace("heaviside_", "heaviside")
arctan2_ = _binary_inplace("arctan2_", "atan2")
fix_ = _unary_inplace("fix_", "trunc")
lgamma_ = _unary_inplace("lgamma_", "lgamma")
digamma_ = _unary_inplace("digamma_", "digamma")
mvlgamma_ = _unary_inplace("mvlgamma_", "mvlgamma")
i0_ = _unary_inplace("i0_", "i0")
gcd_ = _binary_inplace("gcd_", "gcd")
lcm_ = _binary_inplace("lcm_", "lcm")
ldexp_ = _binary_inplace("ldexp_", "ldexp")
nextafter_ = _binary_inplace("nextafter_", "nextafter")
renorm_ = _unary_inplace("renorm_", "renorm")
put_ = _binary_inplace("put_", "put")
igamma_ = _binary_inplace("igamma_", "igamma")
igammac_ = _binary_inplace("igammac_", "igammac")
_float_power_into = _binary_inplace("float_power_", "float_power")


def float_power_(self: Tensor, exponent) -> Tensor:
    """In-place ``float_power``: ``self`` must be float64 (the result's dtype), as PyTorch's."""
    if self.dtype is not dtypes.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype "
                           f"{dtypes.scalar_type_name(self.dtype)} but the operation's result "
                           f"requires dtype Double")
    return _float_power_into(self, exponent)


class _Overwrite(Function):
    """Replace a tensor's value by ``src`` (broadcast); the old value gets no gradient."""

    @staticmethod
    def forward(ctx, old, src):
        ctx.src_shape = tuple(src.shape)
        kernels = backend(old)
        out = kernels.empty(tuple(old.shape), old.dtype)
        kernels.copy_(out, src._a)
        return wrap(out, old.device)

    @staticmethod
    def backward(ctx, grad):
        from .creation import zeros_like
        return zeros_like(grad), grad.sum_to_size(ctx.src_shape)


def copy_(self: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast, possibly from another device) into ``self``."""
    from .creation import tensor
    check_writable("copy_", self)
    if not isinstance(src, Tensor):
        src = tensor(src, dtype=self.dtype, device=self.device)
    if broadcast_shapes("copy_", tuple(src.shape), tuple(self.shape)) != tuple(self.shape):
        raise RuntimeError(f"copy_(): the source of shape {list(src.shape)} can't be broadcast "
                           f"to the destination of shape {list(self.shape)}")
    if src.device != self.device:
        src = src.to(self.device)
    if _records(self, src):
        return apply_inplace("copy_", self, lambda old: _Overwrite.apply(old, src.to(self.dtype)))
    backend(self).copy_(self._a, src._a)
    self._a.storage.version += 1
    return self


def fill_(self: Tensor, value) -> Tensor:
    """Set every element to ``value`` (a number or a one-element tensor)."""
    from .creation import full
    check_writable("fill_", self)
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value.ndim} dimensions.")
        if (value.requires_grad and is_grad_enabled()) or value.device.type != "cpu":
            # a device value is copied on the device: no host read
            return copy_(self, value.reshape(()).to(self.device))
        value = value.item()
    if _records(self):
        return copy_(self, full((), value, dtype=self.dtype, device=self.device))
    backend(self).copy_(self._a, backend(self).full((), value, self.dtype))
    self._a.storage.version += 1
    return self


def _records(self: Tensor, src: "Tensor | None" = None) -> bool:
    """Would writing (``src``) into ``self`` be recorded? (PyTorch's test: grad mode is on and
    ``self``, ``src`` or the base ``self`` is a view of requires grad.)"""
    if not is_grad_enabled():
        return False
    base = self._base
    return (self.requires_grad or (src is not None and src.requires_grad)
            or (base is not None and base.requires_grad))


def zero_(self: Tensor) -> Tensor:
    """Set every element to zero."""
    return fill_(self, 0)


def _draw_random(op: str, self: Tensor, draw, generator=None) -> Tensor:
    """Random values shaped like ``self`` (a new tensor, outside the graph)."""
    if not self.dtype.is_floating_point:
        raise RuntimeError(f"{op}(): expected a floating-point tensor, got {self.dtype}")
    check_writable(op, self)
    gen = generator if generator is not None else generator_for(self.device)
    seed, offset = gen.take(self.numel())
    return wrap(draw(backend(self), tuple(self.shape), seed, offset), self.device)


def _fill(self: Tensor, values: Tensor) -> Tensor:
    """Overwrite ``self`` with ``values``; when recorded, the old value gets zero gradient."""
    return copy_(self, values)


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with samples uniform in [a, b)."""
    if a > b:
        raise RuntimeError(f"uniform_(): expects to return a [from, to) range, but found from={a} > to={b}")
    values = _draw_random("uniform_", self,
                          lambda k, shape, seed, off: k.rand(shape, self.dtype, seed, off),
                          generator)
    if (a, b) != (0.0, 1.0):
        values = values * (b - a) + a
    return _fill(self, values)


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with normal samples of the given mean and standard deviation."""
    if std < 0:
        raise RuntimeError(f"normal_(): expects std >= 0.0, but found std {std}")
    values = _draw_random("normal_", self,
                          lambda k, shape, seed, off: k.randn(shape, self.dtype, seed, off),
                          generator)
    if (mean, std) != (0.0, 1.0):
        values = values * std + mean
    return _fill(self, values)


def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 0/1 samples: 1 with probability ``p`` (a number or a tensor broadcast to
    ``self``)."""
    from .random import _bernoulli_draw, _check_probabilities
    if isinstance(p, Tensor):
        _check_probabilities("bernoulli_", p)
        p = p.detach().to(self.device)
    elif not 0.0 <= p <= 1.0:
        raise RuntimeError(f"bernoulli_(): bernoulli_ expects p to be in [0, 1], but got p={p}")
    gen = generator if generator is not None else generator_for(self.device)
    check_writable("bernoulli_", self)
    values = _bernoulli_draw(p, tuple(self.shape), self.dtype, self.device, gen)
    return _fill(self, values)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of the exponential distribution of rate ``lambd``:
    ``-log(1 - u) / lambd`` for uniform ``u``."""
    if lambd <= 0:
        raise RuntimeError(f"exponential_(): exponential_ expects lambda > 0.0, but found "
                           f"lambda={lambd}")
    values = _draw_random("exponential_", self,
                          lambda k, shape, seed, off: k.rand(shape, self.dtype, seed, off),
                          generator)
    return _fill(self, unary.log1p(-values) * (-1.0 / lambd))


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *,
            generator=None) -> Tensor:
    """Fill with Cauchy samples: ``median + sigma * tan(pi * (u - 0.5))`` for uniform ``u``."""
    values = _draw_random("cauchy_", self,
                          lambda k, shape, seed, off: k.rand(shape, self.dtype, seed, off),
                          generator)
    return _fill(self, unary.tan((values - 0.5) * math.pi) * sigma + median)


def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill with geometric samples on {1, 2, ...} (trials until the first success of
    probability ``p``): ``ceil(log(1 - u) / log(1 - p))``, at least 1."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    values = _draw_random("geometric_", self,
                          lambda k, shape, seed, off: k.rand(shape, dtypes.float64, seed, off),
                          generator)
    trials = compare.clamp(unary.ceil(unary.log1p(-values) * (1.0 / math.log1p(-p))), min=1)
    return _fill(self, trials.to(self.dtype))


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *,
                generator=None) -> Tensor:
    """Fill with ``exp(mean + std * z)`` for standard normal ``z``."""
    if std <= 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    values = _draw_random("log_normal_", self,
                          lambda k, shape, seed, off: k.randn(shape, self.dtype, seed, off),
                          generator)
    return _fill(self, unary.exp(values * std + mean))


_MANTISSA_RANGE = {"float16": 2 ** 11 + 1, "bfloat16": 2 ** 8 + 1, "float32": 2 ** 24 + 1,
                   "float64": 2 ** 53 + 1, "int32": 2 ** 31 - 1, "int64": 2 ** 63 - 1,
                   "bool": 2}


def random_(self: Tensor, from_=0, to=None, *, generator=None) -> Tensor:
    """Fill with integers uniform in ``[from, to)``: ``random_(to)``, ``random_(from, to)``, or
    ``random_()`` for ``[0, 2**mantissa]`` (floats) / ``[0, max]`` (integers), as in PyTorch."""
    if to is None:
        low, high = (0, from_) if from_ != 0 else (0, _MANTISSA_RANGE[self.dtype.name])
    else:
        low, high = from_, to
    if low >= high:
        raise RuntimeError(f"random_(): random_ expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    check_writable("random_", self)
    gen = generator if generator is not None else generator_for(self.device)
    seed, offset = gen.take(self.numel())
    values = backend(self).randint(tuple(self.shape), int(low), int(high), dtypes.int64, seed,
                                   offset)
    return _fill(self, wrap(values, self.device))


def _metadata_inplace(self: Tensor, result: Tensor) -> Tensor:
    self._a = result._a
    if result.grad_fn is not None:
        self.grad_fn = result.grad_fn
        self._output_nr = result._output_nr
    return self


def set_(self: Tensor, source=None, *args) -> Tensor:
    """``Tensor.set_``: ``self`` views ``source``'s memory with its geometry (no argument:
    an empty tensor). Refused for a tensor that requires grad, as PyTorch."""
    from .creation import empty
    if self.requires_grad and self.is_leaf:
        raise RuntimeError("set_(): a leaf Variable that requires grad is being used in an "
                           "in-place operation.")
    if args:
        raise NotImplementedError("set_(): storage, offset, size and stride arguments are not "
                                  "supported (framework has no public Storage type); pass a "
                                  "tensor")
    if source is None:
        source = empty(0, dtype=self.dtype, device=self.device)
    if not isinstance(source, Tensor):
        raise TypeError(f"set_(): expected a tensor, got {type(source).__name__}")
    if source.dtype is not self.dtype:
        raise RuntimeError(f"Could not set tensor of type {self.dtype} to a tensor of type "
                           f"{source.dtype}")
    self._a = source._a
    return self


def as_strided_(self: Tensor, size, stride, storage_offset=None) -> Tensor:
    """Give ``self`` the ``as_strided`` view of its storage, in place (metadata only)."""
    from .numeric import as_strided
    return _metadata_inplace(self, as_strided(self, size, stride, storage_offset))


def resize_(self: Tensor, size: tuple) -> Tensor:
    """``self`` re-shaped to ``size`` in place (``Tensor.resize_``): a view of the same
    memory when the element count fits a contiguous tensor, else new memory holding the old
    elements first (row-major) and uninitialized ones after."""
    from .creation import empty
    if self.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    size = tuple(int(s) for s in size)
    if any(s < 0 for s in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(size)}")
    numel = 1
    for s in size:
        numel *= s
    if numel == self.numel() and self.is_contiguous():
        return _metadata_inplace(self, self.reshape(size))
    fresh = empty(size, dtype=self.dtype, device=self.device)
    keep = min(numel, self.numel())
    if keep:
        fresh.reshape(-1)[:keep].copy_(self.reshape(-1)[:keep])
    self._a = fresh._a
    return self


def unsqueeze_(self: Tensor, dim: int) -> Tensor:
    """Insert a size-1 dim in place."""
    return _metadata_inplace(self, self.unsqueeze(dim))


def squeeze_(self: Tensor, dim=None) -> Tensor:
    """Remove size-1 dims in place."""
    return _metadata_inplace(self, self.squeeze(dim))


def t_(self: Tensor) -> Tensor:
    """Transpose a matrix in place (metadata only)."""
    return _metadata_inplace(self, self.t())


def transpose_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two dims in place (metadata only)."""
    return _metadata_inplace(self, self.transpose(dim0, dim1))


def swapaxes_(self: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose_`` (NumPy's name)."""
    return transpose_(self, axis0, axis1)


def swapdims_(self: Tensor, dim0: int, dim1: int) -> Tensor:
    """``transpose_`` (another name)."""
    return transpose_(self, dim0, dim1)
