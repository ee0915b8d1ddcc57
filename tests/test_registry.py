"""The op registry: complete, consistent with the contract, and docs/ops.md up to date."""
import importlib
import os

import pytest

import framework  # noqa: F401 - registers every op
from framework._backends import contract
from framework.ops import registry
from framework.ops import PUBLIC_FAMILIES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS_MD = os.path.join(ROOT, "docs", "ops.md")
# Op families whose ``__all__`` names become ``framework.<name>`` (see framework/__init__.py).
FAMILIES = PUBLIC_FAMILIES


def test_docs_ops_md_is_up_to_date():
    with open(OPS_MD, encoding="utf-8") as f:
        written = f.read()
    assert written == registry.coverage_table(), (
        "docs/ops.md is stale: regenerate it with `python -m framework.ops.registry > docs/ops.md`")


def test_registered_kernels_exist_in_the_contract():
    known = set(contract.kernel_names())
    unknown = {info.name: [k for k in info.kernels if k not in known]
               for info in registry.OPS.values()}
    unknown = {name: kernels for name, kernels in unknown.items() if kernels}
    assert not unknown, f"ops naming kernels that are not in the contract: {unknown}"


def _unregistered(module) -> list:
    """Names in ``module.__all__`` that are neither registered nor an alias of a registered op."""
    missing = []
    for name in module.__all__:
        if name in registry.OPS:
            continue
        fn = getattr(module, name)
        aliases = [other for other in module.__all__ if other in registry.OPS and getattr(module, other) is fn]
        if not aliases:
            missing.append(name)
    return missing


@pytest.mark.parametrize("family", FAMILIES)
def test_every_public_op_is_registered(family):
    module = importlib.import_module(f"framework.ops.{family}")
    missing = _unregistered(module)
    assert not missing, (f"framework.ops.{family}.__all__ names not registered with "
                         f"framework.ops.registry.register(): {missing}")


@pytest.mark.parametrize("family", FAMILIES)
def test_registered_ops_are_public(family):
    module = importlib.import_module(f"framework.ops.{family}")
    hidden = [info.name for info in registry.OPS.values()
              if info.family == family and not hasattr(module, info.name)
              and not hasattr(framework.Tensor, info.name.removeprefix("Tensor."))]
    assert not hidden, f"registered {family} ops with no function or Tensor method: {hidden}"


# Every Tensor method forwarded to an op (``t.name(...)`` -> ``name(t, ...)``), as it was when
# the op modules took over declaring them (TENSOR_METHODS); a move must not drop one.
FORWARDED_TENSOR_METHODS = frozenset((
    'abs', 'abs_', 'absolute', 'absolute_', 'acos', 'acos_', 'acosh', 'acosh_', 'add', 'add_',
    'addcdiv', 'addcdiv_', 'addcmul', 'addcmul_', 'addmm', 'addmv', 'all', 'allclose', 'amax',
    'amin', 'any', 'arccos', 'arccos_', 'arccosh', 'arccosh_', 'arcsin', 'arcsin_', 'arcsinh',
    'arcsinh_', 'arctan', 'arctan_', 'arctanh', 'arctanh_', 'argmax', 'argmin', 'argsort',
    'argwhere', 'asin', 'asin_', 'asinh', 'asinh_', 'atan', 'atan2', 'atan2_', 'atan_', 'atanh',
    'atanh_', 'baddbmm', 'bernoulli', 'bernoulli_', 'bincount', 'bitwise_and', 'bitwise_and_',
    'bitwise_left_shift', 'bitwise_left_shift_', 'bitwise_not', 'bitwise_not_', 'bitwise_or',
    'bitwise_or_', 'bitwise_right_shift', 'bitwise_right_shift_', 'bitwise_xor', 'bitwise_xor_',
    'bmm', 'broadcast_to', 'ceil', 'ceil_', 'chunk', 'clamp', 'clamp_', 'clamp_max',
    'clamp_max_', 'clamp_min', 'clamp_min_', 'clip', 'clip_', 'clone', 'contiguous', 'copy_',
    'copysign', 'copysign_', 'cos', 'cos_', 'cosh', 'cosh_', 'count_nonzero', 'cummax',
    'cummin', 'cumprod', 'cumsum', 'diag', 'diag_embed', 'diagonal', 'diff', 'div', 'div_',
    'divide', 'divide_', 'dot', 'eq', 'equal', 'erf', 'erf_', 'erfc', 'erfc_', 'erfinv',
    'erfinv_', 'exp', 'exp2', 'exp2_', 'exp_', 'expand_as', 'expm1', 'expm1_', 'exponential_',
    'fill_', 'fill_diagonal_', 'flatten', 'flip', 'fliplr', 'flipud', 'floor', 'floor_',
    'floor_divide', 'floor_divide_', 'fmod', 'fmod_', 'frac', 'frac_', 'gather', 'ge',
    'greater', 'greater_equal', 'gt', 'hypot', 'hypot_', 'index_add', 'index_add_',
    'index_copy', 'index_copy_', 'index_fill', 'index_fill_', 'index_put', 'index_put_',
    'index_reduce', 'index_reduce_', 'index_select', 'inner', 'isclose', 'isfinite', 'isinf',
    'isnan', 'kthvalue', 'le', 'lerp', 'lerp_', 'less', 'less_equal', 'log', 'log10', 'log10_',
    'log1p', 'log1p_', 'log2', 'log2_', 'log_', 'log_softmax', 'logaddexp', 'logaddexp2',
    'logcumsumexp', 'logical_and', 'logical_not', 'logical_not_', 'logical_or', 'logical_xor',
    'logsumexp', 'lt', 'masked_fill', 'masked_fill_', 'masked_scatter', 'masked_scatter_',
    'masked_select', 'matmul', 'max', 'maximum', 'mean', 'median', 'min', 'minimum', 'mm',
    'moveaxis', 'movedim', 'mul', 'mul_', 'multinomial', 'multiply', 'multiply_', 'mv',
    'nanmedian', 'nanquantile', 'narrow', 'ne', 'neg', 'neg_', 'negative', 'negative_',
    'nonzero', 'norm', 'normal_', 'not_equal', 'outer', 'pow', 'pow_', 'prelu', 'prod',
    'quantile', 'random_', 'reciprocal', 'reciprocal_', 'relu', 'relu_', 'remainder',
    'remainder_', 'repeat', 'repeat_interleave', 'reshape_as', 'roll', 'rot90', 'round',
    'round_', 'rsqrt', 'rsqrt_', 'scatter', 'scatter_', 'scatter_add', 'scatter_add_',
    'scatter_reduce', 'scatter_reduce_', 'select', 'sigmoid', 'sigmoid_', 'sign', 'sign_',
    'sin', 'sin_', 'sinh', 'sinh_', 'softmax', 'sort', 'split', 'sqrt', 'sqrt_', 'square',
    'square_', 'squeeze', 'squeeze_', 'std', 'sub', 'sub_', 'subtract', 'subtract_', 'sum',
    'sum_to_size', 'swapaxes', 'swapdims', 't', 't_', 'take_along_dim', 'tan', 'tan_', 'tanh',
    'tanh_', 'tensor_split', 'tile', 'topk', 'trace', 'transpose', 'transpose_', 'tril',
    'tril_', 'triu', 'triu_', 'true_divide', 'true_divide_', 'trunc', 'trunc_', 'type_as',
    'unbind', 'unflatten', 'uniform_', 'unique', 'unique_consecutive', 'unsqueeze', 'unsqueeze_',
    'var', 'view_as',
    'where', 'zero_',
    # framework/ops/numeric.py
    'nan_to_num', 'nansum', 'nanmean', 'deg2rad', 'rad2deg', 'logit', 'sinc', 'positive',
    'signbit', 'isposinf', 'isneginf', 'isreal', 'fmax', 'fmin', 'xlogy', 'heaviside',
    'float_power', 'aminmax', 'dist', 'cov', 'corrcoef', 'ravel', 'hsplit', 'vsplit', 'dsplit',
    'diagflat', 'kron', 'take', 'msort', 'vdot', 'addr', 'ger', 'addbmm', 'cross',
    # in-place and other names (numeric, inplace)
    'fix', 'arctan2', 'is_nonzero', 'is_same_size', 'is_signed', 'is_neg', 'resolve_neg',
    'split_with_sizes', 'unsafe_chunk', 'unsafe_split', 'unsafe_split_with_sizes', 'eq_', 'ne_',
    'lt_', 'le_', 'gt_', 'ge_', 'greater_', 'greater_equal_', 'less_', 'less_equal_',
    'not_equal_', 'logical_and_', 'logical_or_', 'logical_xor_', 'cumsum_', 'cumprod_',
    'addmm_', 'addmv_', 'baddbmm_', 'addbmm_', 'addr_', 'deg2rad_', 'rad2deg_', 'logit_',
    'sinc_', 'nan_to_num_', 'xlogy_', 'heaviside_', 'float_power_', 'arctan2_', 'fix_',
    'swapaxes_', 'swapdims_', 'lgamma', 'digamma', 'mvlgamma', 'i0', 'lgamma_', 'digamma_',
    'mvlgamma_', 'i0_', 'gcd', 'lcm', 'ldexp', 'frexp', 'histc', 'histogram', 'renorm',
    'select_scatter', 'slice_scatter', 'diagonal_scatter', 'nextafter',
    'mode', 'put', 'nonzero_static', 'hardshrink', 'gcd_', 'lcm_', 'ldexp_', 'nextafter_',
    'renorm_', 'put_', 'cauchy_', 'geometric_', 'log_normal_', 'igamma', 'igammac', 'igamma_',
    'igammac_', 'as_strided', 'as_strided_scatter', 'as_strided_',
))


@pytest.mark.parametrize("family", FAMILIES)
def test_declared_tensor_methods_are_ops_of_their_module(family):
    module = importlib.import_module(f"framework.ops.{family}")
    missing = [name for name in module.TENSOR_METHODS
               if not callable(getattr(module, name, None))
               or not callable(getattr(framework.Tensor, name, None))]
    assert not missing, (f"framework.ops.{family}.TENSOR_METHODS names with no op in the module "
                         f"or no Tensor method: {missing}")


def test_declared_tensor_methods_match_the_snapshot():
    declared = [name for family in FAMILIES
                for name in importlib.import_module(f"framework.ops.{family}").TENSOR_METHODS]
    assert len(declared) == len(set(declared)), "a Tensor method declared by two op modules"
    assert set(declared) == FORWARDED_TENSOR_METHODS


@pytest.mark.parametrize("family", FAMILIES)
def test_forwarded_tensor_methods_call_their_op(family, monkeypatch):
    """``t.name(...)`` resolves ``framework.ops.<family>.name`` at call time."""
    module = importlib.import_module(f"framework.ops.{family}")
    t = framework.zeros(2)
    for name in module.TENSOR_METHODS:
        if getattr(framework.Tensor, name).__qualname__ != f"Tensor.{name}" or \
                getattr(framework.Tensor, name).__doc__ != f"See ``framework.{name}``.":
            continue  # defined by Tensor itself
        monkeypatch.setattr(module, name, lambda *args, _name=name, **kwargs: (_name, args, kwargs))
        assert getattr(t, name)(1, k=2) == (name, (t, 1), {"k": 2}), name
