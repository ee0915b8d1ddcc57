"""The registry's kernel lists are the kernels the ops really call.

Each registered op of the families in ``CHECKED`` runs on cpu with small inputs
(every invocation in ``CASES``: forward, then backward where the op is
differentiable) while a recording wrapper around the NumPy backend namespace
(the object ``framework._backends.for_device`` returns, which every op reaches
its kernels through) notes each contract kernel called. The union must equal
the op's registered ``kernels`` (``framework/ops/registry.py``), so
``docs/ops.md``, generated from those lists, cannot drift from the code.
Inputs and the output gradients are made before recording starts, and
kernels called inside other kernels are not counted (they bypass the namespace).
"""
from __future__ import annotations

import contextlib

import numpy as np
import pytest

import framework
import framework.nn.functional as F
from framework._backends import contract, for_device
from framework.ops import optim as optim_ops
from framework.ops import registry

# Every op family (test_every_family_is_checked): each op has its cases below.
CHECKED = ("unary", "binary", "compare", "activation", "softmax", "norm", "matmul", "scan",
           "reduce", "sort", "movement", "loss", "pool", "random", "inplace", "conversion",
           "attention", "indexing", "shape", "conv", "optim", "creation", "numeric",
           "special", "linalg")

RNG = np.random.default_rng(0)
F64 = framework.float64
# kl_div's default reduction, chain_matmul, range and the deprecated upsample spellings warn
# like PyTorch's; the cases keep the defaults
pytestmark = [pytest.mark.filterwarnings("ignore:reduction. 'mean' divides:UserWarning"),
              pytest.mark.filterwarnings("ignore:torch.chain_matmul is deprecated:UserWarning"),
              pytest.mark.filterwarnings("ignore:torch.range is deprecated:UserWarning"),
              pytest.mark.filterwarnings("ignore:`nn.functional.upsample:UserWarning")]


def _x(*shape, grad=True):
    return framework.tensor(RNG.standard_normal(shape), dtype=F64, requires_grad=grad)


def _h(*shape, grad=True):
    """A bfloat16 tensor: the half-precision paths (computed in float32, rounded once)."""
    return framework.tensor(RNG.standard_normal(shape), dtype=framework.bfloat16,
                            requires_grad=grad)


def _i(*shape):
    return framework.tensor(RNG.integers(-5, 6, shape), dtype=framework.int64)


def _unary(name):
    return [lambda: (getattr(framework, name), (_x(3, 4),), {})]


def _binary(name, **kwargs):
    return [lambda: (getattr(framework, name), (_x(3, 4), _x(4)), kwargs)]


def _int_binary(name):
    return [lambda: (getattr(framework, name), (_i(3, 4), _i(4).abs()), {})]


def _functional(name, *shape, **kwargs):
    return [lambda: (getattr(F, name), (_x(*shape),), kwargs)]


def _call(fn, *make, **kwargs):
    """A case: ``fn(*[m() for m in make], **kwargs)``."""
    return lambda: (fn, tuple(m() for m in make), kwargs)


CASES: dict = {}
for _name in registry.OPS:
    _info = registry.OPS[_name]
    if _info.family == "unary":
        CASES[_name] = _unary(_name)
    elif _info.family in ("binary", "compare") and _name not in ("where", "logical_not",
                                                                  "isnan", "isinf", "isfinite"):
        CASES[_name] = _binary(_name)
CASES["bitwise_not"] = [_call(framework.bitwise_not, lambda: _i(3, 4)),
                        _call(framework.bitwise_not, lambda: _i(3, 4) > 0)]
CASES["equal"] = [_call(framework.equal, lambda: _x(3, 4), lambda: _x(3, 4)),
                  _call(framework.equal, lambda: _x(3, 4), lambda: _x(4))]
CASES["round"] = _unary("round") + [_call(framework.round, lambda: _x(3, 4), decimals=1),
                                    _call(framework.round, lambda: _x(3, 4), decimals=-1)]
for _name in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
              "bitwise_right_shift"):
    CASES[_name] = _int_binary(_name)
for _name in ("div", "divide"):
    CASES[_name] = _binary(_name) + _binary(_name, rounding_mode="floor") + \
        _binary(_name, rounding_mode="trunc")
for _name in ("add", "sub", "subtract"):
    CASES[_name] = _binary(_name) + _binary(_name, alpha=2)
CASES["pow"] = _binary("pow") + [_call(framework.pow, lambda: _x(3, 4), lambda: 2.5)]
for _name in ("add", "sub", "subtract"):  # alpha on half tensors: in float32, rounded once
    CASES[_name] = CASES[_name] + [_call(getattr(framework, _name), lambda: _h(3, 4), lambda: _h(4),
                                         alpha=0.3)]
CASES["lerp"] = [_call(framework.lerp, lambda: _x(3, 4), lambda: _x(4), lambda: 0.3),
                 _call(framework.lerp, lambda: _x(3, 4), lambda: _x(4), lambda: 0.7),
                 _call(framework.lerp, lambda: _x(3, 4), lambda: _x(4), lambda: _x(4))]
for _name in ("addcmul", "addcdiv"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _x(3, 4), lambda: _x(4),
                          lambda: _x(3, 4), value=0.5)]
CASES["where"] = [_call(framework.where, lambda: _x(3, 4, grad=False) > 0, lambda: _x(3, 4),
                        lambda: _x(4))]
for _name in ("logical_not", "isnan", "isinf", "isfinite"):
    CASES[_name] = _unary(_name) + [_call(getattr(framework, _name), lambda: _i(3, 4))]
for _name in ("clamp", "clip"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _x(3, 4), lambda: -0.5, lambda: 0.5),
                    _call(getattr(framework, _name), lambda: _x(3, 4), lambda: _x(4),
                          lambda: _x(4))]
CASES["clamp_min"] = [_call(framework.clamp_min, lambda: _x(3, 4), lambda: -0.5),
                      _call(framework.clamp_min, lambda: _x(3, 4), lambda: _x(4))]
CASES["clamp_max"] = [_call(framework.clamp_max, lambda: _x(3, 4), lambda: 0.5),
                      _call(framework.clamp_max, lambda: _x(3, 4), lambda: _x(4))]

# activation
for _name in ("leaky_relu", "elu", "selu", "celu", "hardtanh", "relu6", "hardsigmoid",
              "hardswish", "mish", "softsign", "tanhshrink", "logsigmoid", "silu", "softplus",
              "glu", "hardshrink", "softshrink"):
    CASES[_name] = _functional(_name, 3, 4)
CASES["gelu"] = _functional("gelu", 3, 4) + _functional("gelu", 3, 4, approximate="tanh")
for _name in ("leaky_relu_", "elu_", "selu_", "celu_", "hardtanh_", "relu_"):
    CASES[_name] = [_call(getattr(F, _name), lambda: _x(3, 4).clone())]  # a non-leaf, made first
CASES["prelu"] = [_call(F.prelu, lambda: _x(2, 3, 4), lambda: _x(3))]
CASES["threshold"] = [_call(F.threshold, lambda: _x(3, 4), lambda: 0.1, lambda: 2.0)]
CASES["threshold_"] = [_call(F.threshold_, lambda: _x(3, 4).clone(), lambda: 0.1, lambda: 2.0)]
CASES["rrelu"] = [_call(F.rrelu, lambda: _x(3, 4), training=training)
                  for training in (False, True)]
CASES["rrelu_"] = [_call(F.rrelu_, lambda: _x(3, 4).clone(), training=training)
                   for training in (False, True)]
CASES["local_response_norm"] = [_call(F.local_response_norm, lambda: _x(2, 4, 3), lambda: 3)]
# softmax, norm
CASES["softmin"] = _functional("softmin", 3, 4, dim=1)
CASES["softmax"] = _functional("softmax", 3, 4, dim=1)
CASES["log_softmax"] = _functional("log_softmax", 3, 4, dim=1)
CASES["layer_norm"] = [_call(F.layer_norm, lambda: _x(3, 4), lambda: (4,), lambda: _x(4),
                             lambda: _x(4)),
                       # a non-contiguous input takes the replayed composite, not the node
                       _call(F.layer_norm, lambda: _x(4, 3).t(), lambda: (4,), lambda: _x(4),
                             lambda: _x(4))]
CASES["rms_norm"] = [_call(F.rms_norm, lambda: _x(3, 4), lambda: (4,), lambda: _x(4))]
CASES["group_norm"] = [_call(F.group_norm, lambda: _x(2, 4, 3), lambda: 2, lambda: _x(4),
                             lambda: _x(4))]
CASES["batch_norm"] = [
    _call(F.batch_norm, lambda: _x(3, 4), lambda: framework.zeros(4, dtype=F64),
          lambda: framework.ones(4, dtype=F64), lambda: _x(4), lambda: _x(4), training=True),
    # a non-contiguous input takes the replayed composite, not the node
    _call(F.batch_norm, lambda: _x(4, 3).t(), lambda: framework.zeros(4, dtype=F64),
          lambda: framework.ones(4, dtype=F64), lambda: _x(4), lambda: _x(4), training=True),
    _call(F.batch_norm, lambda: _x(3, 4), lambda: framework.zeros(4, dtype=F64),
          lambda: framework.ones(4, dtype=F64), lambda: _x(4), lambda: _x(4), training=False)]
CASES["instance_norm"] = [
    _call(F.instance_norm, lambda: _x(2, 4, 3), lambda: framework.zeros(4, dtype=F64),
          lambda: framework.ones(4, dtype=F64), lambda: _x(4), lambda: _x(4),
          use_input_stats=True),
    _call(F.instance_norm, lambda: _x(2, 4, 3), lambda: None, lambda: None, lambda: _x(4),
          lambda: _x(4))]
CASES["normalize"] = _functional("normalize", 3, 4)
# matmul
CASES["matmul"] = [_call(framework.matmul, lambda: _x(3, 4), lambda: _x(4, 2)),
                   _call(framework.matmul, lambda: _x(2, 3, 4), lambda: _x(4)),
                   # batch dims that do not merge: the broadcast operand is copied first
                   _call(framework.matmul, lambda: _x(2, 1, 3, 4), lambda: _x(3, 4, 2))]
CASES["mm"] = [_call(framework.mm, lambda: _x(3, 4), lambda: _x(4, 2))]
CASES["bmm"] = [_call(framework.bmm, lambda: _x(2, 3, 4), lambda: _x(2, 4, 2))]
CASES["mv"] = [_call(framework.mv, lambda: _x(3, 4), lambda: _x(4))]
CASES["dot"] = [_call(framework.dot, lambda: _x(4), lambda: _x(4))]
CASES["inner"] = [_call(framework.inner, lambda: _x(3, 4), lambda: _x(2, 4))]
CASES["outer"] = [_call(framework.outer, lambda: _x(3), lambda: _x(4))]
CASES["linear"] = [_call(F.linear, lambda: _x(3, 4), lambda: _x(2, 4), lambda: _x(2)),
                   _call(F.linear, lambda: _x(3, 4), lambda: _x(2, 4)),
                   # rows that do not fold into one matrix: copied first
                   _call(lambda x, w: F.linear(x.transpose(0, 1), w), lambda: _x(4, 3, 4),
                         lambda: _x(2, 4)),
                   # batched rows with nothing to record: one fused kernel call
                   _call(F.linear, lambda: _x(2, 3, 4, grad=False), lambda: _x(2, 4, grad=False),
                         lambda: _x(2, grad=False))]
CASES["bilinear"] = [_call(F.bilinear, lambda: _x(3, 4), lambda: _x(3, 2), lambda: _x(5, 4, 2),
                           lambda: _x(5))]
CASES["addmm"] = [_call(framework.addmm, lambda: _x(3, 2), lambda: _x(3, 4), lambda: _x(4, 2),
                        beta=0.5, alpha=2.0),
                  _call(framework.addmm, lambda: _h(3, 2), lambda: _h(3, 4), lambda: _h(4, 2),
                        beta=0.5, alpha=2.0)]
CASES["baddbmm"] = [_call(framework.baddbmm, lambda: _x(2, 3, 2), lambda: _x(2, 3, 4),
                          lambda: _x(2, 4, 2), beta=0.5, alpha=2.0),
                    _call(framework.baddbmm, lambda: _h(2, 3, 2), lambda: _h(2, 3, 4),
                          lambda: _h(2, 4, 2), beta=0.5, alpha=2.0)]
CASES["addmv"] = [_call(framework.addmv, lambda: _x(3), lambda: _x(3, 4), lambda: _x(4),
                        beta=0.5, alpha=2.0)]
CASES["tensordot"] = [_call(framework.tensordot, lambda: _x(2, 3, 4), lambda: _x(3, 4, 2),
                            dims=2)]
CASES["einsum"] = [_call(lambda a, b, eq=eq: framework.einsum(eq, a, b), lambda: _x(3, 3),
                         lambda: _x(3, 3)) for eq in ("ij,jk->ik", "ij,ij->i", "ii,jk->ik")]
CASES["cdist"] = [_call(framework.cdist, lambda: _x(3, 4), lambda: _x(2, 4), p=p)
                  for p in (2.0, 1.0, 3.0)]
# scan, reduce, sort, movement
for _name in ("cumsum", "cumprod", "logcumsumexp", "cummax", "cummin"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _x(3, 4), lambda: 1)]
for _name in ("sum", "mean", "prod", "amax", "amin", "argmax", "argmin", "var", "std", "var_mean",
              "std_mean", "logsumexp"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _x(3, 4), lambda: 1)]
for _name in ("sum", "mean", "prod", "argmax", "argmin", "var", "std", "var_mean", "std_mean"):
    CASES[_name].append(_call(getattr(framework, _name), lambda: _x(3, 4)))
for _name in ("max", "min"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _x(3, 4)),
                    _call(getattr(framework, _name), lambda: _x(3, 4), lambda: 1),
                    _call(getattr(framework, _name), lambda: _x(3, 4), lambda: _x(4))]
CASES["sum_to_size"] = [_call(lambda x: x.sum_to_size((1, 4)), lambda: _x(3, 4))]
CASES["norm"] = [_call(framework.norm, lambda: _x(3, 4)), _call(framework.norm, lambda: _h(3, 4)),
                 _call(framework.norm, lambda: _x(3, 4), p=1, dim=1),
                 _call(framework.norm, lambda: _x(3, 4), p=3, dim=1),
                 _call(framework.norm, lambda: _x(3, 4), p=float("inf"), dim=1)]
for _name in ("all", "any"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _x(3, 4, grad=False) > 0),
                    _call(getattr(framework, _name), lambda: _x(3, 4, grad=False) > 0, lambda: 1),
                    _call(getattr(framework, _name), lambda: _i(3, 4).abs().to(framework.uint8))]
CASES["sort"] = [_call(framework.sort, lambda: _x(3, 4), lambda: 1)]
CASES["argsort"] = [_call(framework.argsort, lambda: _x(3, 4), lambda: 1)]
CASES["quantile"] = [_call(framework.quantile, lambda: _x(3, 4), lambda: 0.3),
                     _call(framework.quantile, lambda: _x(3, 4),
                           lambda: framework.tensor([0.2, 0.7], dtype=F64), lambda: 1,
                           interpolation="midpoint")]
CASES["nanquantile"] = [_call(framework.nanquantile, lambda: _x(3, 4), lambda: 0.3, lambda: 0,
                              interpolation="nearest")]
CASES["kthvalue"] = [_call(framework.kthvalue, lambda: _x(3, 4), lambda: 2, lambda: 1)]
CASES["median"] = [_call(framework.median, lambda: _x(3, 4)),
                   _call(framework.median, lambda: _x(3, 4), lambda: 1)]
CASES["nanmedian"] = [_call(framework.nanmedian, lambda: _x(3, 4)),
                      _call(framework.nanmedian, lambda: _x(3, 4), lambda: 1)]
CASES["topk"] = [_call(framework.topk, lambda: _x(3, 4), lambda: 2)]
CASES["unique"] = [_call(framework.unique, lambda: _i(8)),
                   _call(framework.unique, lambda: _i(8), return_inverse=True,
                         return_counts=True),
                   _call(framework.unique, lambda: _i(5, 2), return_inverse=True,
                         return_counts=True, dim=0)]
CASES["unique_consecutive"] = [
    _call(framework.unique_consecutive, lambda: _i(8), return_inverse=True, return_counts=True),
    _call(framework.unique_consecutive, lambda: _i(5, 2), return_inverse=True,
          return_counts=True, dim=1)]
CASES["cartesian_prod"] = [_call(framework.cartesian_prod, lambda: _x(3), lambda: _x(2))]
CASES["combinations"] = [_call(framework.combinations, lambda: _x(4)),
                         _call(framework.combinations, lambda: _x(4), lambda: 3,
                               with_replacement=True)]
CASES["triu_indices"] = [_call(framework.triu_indices, lambda: 3, lambda: 4, lambda: 1)]
CASES["tril_indices"] = [_call(framework.tril_indices, lambda: 4, lambda: 3, lambda: -1,
                               dtype=framework.int32)]
CASES["bucketize"] = [_call(framework.bucketize, lambda: _x(3, grad=False),
                            lambda: framework.arange(5.0))]
CASES["bincount"] = [_call(framework.bincount, lambda: _i(8).abs()),
                     _call(framework.bincount, lambda: _i(8).abs(), lambda: _x(8, grad=False))]
CASES["searchsorted"] = [_call(framework.searchsorted, lambda: framework.arange(5.0),
                               lambda: _x(3, grad=False))]
for _name in ("tril", "triu", "fliplr", "flipud"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _x(3, 4))]
CASES["flip"] = [_call(framework.flip, lambda: _x(3, 4), lambda: [0])]
CASES["tensor_split"] = [_call(framework.tensor_split, lambda: _x(5, 4), lambda: 2),
                         _call(framework.tensor_split, lambda: _x(5, 4), lambda: [1, 3])]
CASES["count_nonzero"] = [_call(framework.count_nonzero, lambda: _x(3, 4)),
                          _call(framework.count_nonzero, lambda: _x(3, 4), lambda: 1)]
CASES["isin"] = [_call(framework.isin, lambda: _i(3, 4), lambda: _i(5)),
                 _call(framework.isin, lambda: _x(3, 4), lambda: _x(5), invert=True)]
CASES["rot90"] = [_call(framework.rot90, lambda: _x(3, 4)),
                  _call(framework.rot90, lambda: _x(3, 4), lambda: 2),
                  _call(framework.rot90, lambda: _x(3, 4), lambda: 4)]
CASES["tril_"] = [_call(lambda x: x.tril_(), lambda: _x(3, 4).clone())]
CASES["triu_"] = [_call(lambda x: x.triu_(), lambda: _x(3, 4).clone())]
CASES["fill_diagonal_"] = [_call(lambda x: x.fill_diagonal_(2.0), lambda: _x(3, 4).clone())]
CASES["roll"] = [_call(framework.roll, lambda: _x(3, 4), lambda: 1, lambda: 0)]
CASES["repeat"] = [_call(lambda x: x.repeat(2, 1), lambda: _x(3, 4))]
CASES["tile"] = [_call(framework.tile, lambda: _x(3, 4), lambda: (2, 1))]
CASES["repeat_interleave"] = [
    _call(framework.repeat_interleave, lambda: _x(3, 4), lambda: 2, lambda: 0),
    _call(framework.repeat_interleave, lambda: _x(3, 4),
          lambda: framework.tensor([1, 0, 2]), lambda: 0)]
CASES["pad"] = [_call(F.pad, lambda: _x(2, 3, 4), lambda: (1, 1), mode=mode)
                for mode in ("constant", "reflect", "replicate", "circular")]
# loss
_LOGITS, _TARGET = (lambda: _x(4, 3)), (lambda: framework.tensor([0, 2, 1, 0]))
CASES["cross_entropy"] = [_call(F.cross_entropy, _LOGITS, _TARGET),
                          _call(F.cross_entropy, _LOGITS, lambda: _x(4, 3, grad=False).softmax(1)),
                          _call(F.cross_entropy, _LOGITS, _TARGET, weight=_x(3, grad=False).abs(),
                                label_smoothing=0.1)]
# an ignored row: the index check's min/max fall outside [0, C), so it looks for a bad index
_IGNORING = lambda: framework.tensor([0, -100, 1, 0])  # noqa: E731
CASES["cross_entropy"] += [
    _call(F.cross_entropy, _LOGITS, _IGNORING),
    # (N, C, d) logits: classes moved last (a copy), the replayed composite
    _call(F.cross_entropy, lambda: _x(2, 3, 2), lambda: framework.tensor([[0, 2], [1, 0]]))]
CASES["nll_loss"] = [_call(F.nll_loss, _LOGITS, _TARGET),
                     _call(F.nll_loss, _LOGITS, _TARGET, weight=_x(3, grad=False).abs()),
                     _call(F.nll_loss, _LOGITS, _IGNORING),
                     # (N, C, d) input: the replayed composite, not the one-node path
                     _call(F.nll_loss, lambda: _x(2, 3, 2), lambda: framework.tensor([[0, 2],
                                                                                      [1, 0]]))]
for _name in ("mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div",
              "binary_cross_entropy_with_logits"):
    CASES[_name] = [_call(getattr(F, _name), lambda: _x(4, 3), lambda: _x(4, 3))]
CASES["binary_cross_entropy_with_logits"] += [
    # one node with both weights; the composite when a weight needs a gradient
    _call(F.binary_cross_entropy_with_logits, lambda: _x(4, 3), lambda: _x(4, 3),
          weight=_x(3, grad=False), pos_weight=_x(1, 3, grad=False).abs(), reduction="sum"),
    _call(F.binary_cross_entropy_with_logits, lambda: _x(4, 3), lambda: _x(4, 3),
          pos_weight=_x(3).abs())]
CASES["binary_cross_entropy"] = [
    _call(F.binary_cross_entropy, lambda: _x(4, 3).sigmoid(),
          lambda: _x(4, 3, grad=False).sigmoid()),
    # one node with a target gradient and a weight; the composite when the weight needs one
    _call(F.binary_cross_entropy, lambda: _x(4, 3).sigmoid(), lambda: _x(4, 3).sigmoid(),
          weight=_x(3, grad=False), reduction="sum"),
    _call(F.binary_cross_entropy, lambda: _x(4, 3).sigmoid(), lambda: _x(4, 3).sigmoid(),
          weight=_x(3))]
CASES["cosine_similarity"] = [_call(F.cosine_similarity, lambda: _x(4, 3), lambda: _x(4, 3))]
CASES["pairwise_distance"] = [_call(F.pairwise_distance, lambda: _x(4, 3), lambda: _x(4, 3), p=p)
                              for p in (2.0, 1.0)]
CASES["kl_div"].append(_call(F.kl_div, lambda: _x(4, 3), lambda: _x(4, 3), log_target=True))
CASES["cosine_embedding_loss"] = [_call(F.cosine_embedding_loss, lambda: _x(4, 3),
                                        lambda: _x(4, 3),
                                        lambda: framework.tensor([1, -1, 1, -1]))]
CASES["margin_ranking_loss"] = [_call(F.margin_ranking_loss, lambda: _x(4), lambda: _x(4),
                                      lambda: framework.tensor([1.0, -1.0, 1.0, -1.0],
                                                               dtype=F64))]
CASES["gaussian_nll_loss"] = [_call(F.gaussian_nll_loss, lambda: _x(4, 3), lambda: _x(4, 3),
                                    lambda: _x(4, 3).exp(), full=True),
                              _call(F.gaussian_nll_loss, lambda: _x(4, 3), lambda: _x(4, 3),
                                    lambda: 1.0)]
CASES["poisson_nll_loss"] = [_call(F.poisson_nll_loss, lambda: _x(4, 3), lambda: _x(4, 3).exp(),
                                   log_input=log_input, full=True) for log_input in (True, False)]
CASES["soft_margin_loss"] = [_call(F.soft_margin_loss, lambda: _x(4, 3),
                                   lambda: _x(4, 3, grad=False).sign())]
CASES["multilabel_soft_margin_loss"] = [_call(F.multilabel_soft_margin_loss, lambda: _x(4, 3),
                                              lambda: (_x(4, 3, grad=False) > 0).double(),
                                              weight=_x(3, grad=False))]
CASES["hinge_embedding_loss"] = [_call(F.hinge_embedding_loss, lambda: _x(4, 3),
                                       lambda: _x(4, 3, grad=False).sign())]
CASES["triplet_margin_loss"] = [_call(F.triplet_margin_loss, lambda: _x(4, 3), lambda: _x(4, 3),
                                      lambda: _x(4, 3), swap=swap) for swap in (False, True)]
CASES["triplet_margin_with_distance_loss"] = [
    _call(F.triplet_margin_with_distance_loss, lambda: _x(4, 3), lambda: _x(4, 3),
          lambda: _x(4, 3), swap=True)]
CASES["ctc_loss"] = [_call(F.ctc_loss, lambda: _x(4, 2, 3).log_softmax(2),
                          lambda: framework.tensor([[1, 2], [2, 2]]), lambda: [4, 3],
                          lambda: [2, 1]),
                    _call(F.ctc_loss, lambda: _x(4, 2, 3).log_softmax(2),
                          lambda: framework.tensor([1, 2, 2]), lambda: [4, 3], lambda: [2, 1],
                          reduction="none")]
CASES["multi_head_attention_forward"] = [
    _call(F.multi_head_attention_forward, lambda: _x(3, 2, 4), lambda: _x(5, 2, 4),
          lambda: _x(5, 2, 4), lambda: 4, lambda: 2, lambda: _x(12, 4), lambda: _x(12),
          lambda: _x(1, 1, 4), lambda: _x(1, 1, 4), lambda: True, lambda: 0.0,
          lambda: _x(4, 4), lambda: _x(4),
          key_padding_mask=framework.tensor([[False] * 4 + [True], [False] * 5]),
          attn_mask=framework.zeros(3, 5, dtype=F64))]
CASES["linear_cross_entropy"] = [
    _call(F.linear_cross_entropy, lambda: _x(4, 3), lambda: _x(5, 3),
          lambda: framework.tensor([0, 4, 2, 1]), linear_bias=_x(5)),
    _call(F.linear_cross_entropy, lambda: _x(4, 3), lambda: _x(5, 2, 3),
          lambda: framework.tensor([[0, 4], [2, 1], [3, 3], [1, 0]])),
    _call(F.linear_cross_entropy, lambda: _x(4, 3), lambda: _x(5, 3),
          lambda: _x(4, 5, grad=False).softmax(1), label_smoothing=0.1,
          weight=_x(5, grad=False).exp()),
    _call(F.linear_cross_entropy, lambda: _x(3), lambda: _x(5, 3), lambda: framework.tensor(2),
          ignore_index=1)]
CASES["conv_tbc"] = [_call(F.conv_tbc, lambda: _x(5, 2, 3), lambda: _x(2, 3, 4), lambda: _x(4),
                          lambda: 1)]
CASES["pdist"] = [_call(F.pdist, lambda: _x(4, 3), p=p) for p in (2.0, 1.0, 3.0)]
CASES["multi_margin_loss"] = [_call(F.multi_margin_loss, lambda: _x(4, 3),
                                    lambda: _i(4).abs() % 3, p=p, weight=_x(3, grad=False))
                              for p in (1, 2)]
CASES["multilabel_margin_loss"] = [
    _call(F.multilabel_margin_loss, lambda: _x(2, 3),
          lambda: framework.tensor([[2, -1, 0], [0, 1, 2]], dtype=framework.int64))]
# pool
for _name, _shape in (("max_pool1d", (1, 2, 6)), ("avg_pool1d", (1, 2, 6)),
                      ("max_pool2d", (1, 2, 4, 4)), ("avg_pool2d", (1, 2, 4, 4)),
                      ("max_pool3d", (1, 1, 4, 4, 4)), ("avg_pool3d", (1, 1, 4, 4, 4))):
    CASES[_name] = [_call(getattr(F, _name), lambda _s=_shape: _x(*_s), lambda: 2)]
for _name, _shape in (("adaptive_avg_pool1d", (1, 2, 6)), ("adaptive_max_pool1d", (1, 2, 6)),
                      ("adaptive_avg_pool2d", (1, 2, 5, 5)), ("adaptive_max_pool2d", (1, 2, 5, 5))):
    CASES[_name] = [_call(getattr(F, _name), lambda _s=_shape: _x(*_s), lambda: 3)]


def _unpool_case():
    values, indices = F.max_pool2d(_x(1, 2, 4, 4, grad=False), 2, return_indices=True)
    return F.max_unpool2d, (values.requires_grad_(), indices, 2), {}


CASES["max_unpool2d"] = [_unpool_case]


def _unpool_cases(spatial: int, shape: tuple) -> list:
    def case():
        pool = getattr(F, f"max_pool{spatial}d")
        values, indices = pool(_x(*shape, grad=False), 2, return_indices=True)
        return getattr(F, f"max_unpool{spatial}d"), (values.requires_grad_(), indices, 2), {}
    return [case]


CASES["max_unpool1d"] = _unpool_cases(1, (1, 2, 4))
CASES["max_unpool3d"] = _unpool_cases(3, (1, 1, 2, 2, 4))
for _name, _shape in (("max_pool1d_with_indices", (1, 2, 6)),
                      ("max_pool2d_with_indices", (1, 2, 4, 4)),
                      ("max_pool3d_with_indices", (1, 1, 4, 4, 4)),
                      ("lp_pool1d", (1, 2, 6)), ("lp_pool2d", (1, 2, 4, 4)),
                      ("lp_pool3d", (1, 1, 2, 4, 4))):
    _args = (lambda: 2.0, lambda: 2) if _name.startswith("lp") else (lambda: 2,)
    CASES[_name] = [_call(getattr(F, _name), lambda _s=_shape: _x(*_s), *_args)]
for _name, _shape in (("adaptive_max_pool1d_with_indices", (1, 2, 6)),
                      ("adaptive_max_pool2d_with_indices", (1, 2, 5, 5)),
                      ("adaptive_max_pool3d_with_indices", (1, 1, 3, 4, 5)),
                      ("adaptive_max_pool3d", (1, 1, 3, 4, 5)),
                      ("adaptive_avg_pool3d", (1, 1, 3, 4, 5))):
    CASES[_name] = [_call(getattr(F, _name), lambda _s=_shape: _x(*_s), lambda: 2)]
for _name, _shape in (("fractional_max_pool2d", (1, 2, 5, 5)),
                      ("fractional_max_pool2d_with_indices", (1, 2, 5, 5)),
                      ("fractional_max_pool3d", (1, 1, 4, 4, 5)),
                      ("fractional_max_pool3d_with_indices", (1, 1, 4, 4, 5))):
    CASES[_name] = [_call(getattr(F, _name), lambda _s=_shape: _x(*_s), lambda: 2,
                          output_size=2)]
CASES["channel_shuffle"] = [_call(F.channel_shuffle, lambda: _x(1, 4, 2, 2), lambda: 2)]
CASES["upsample"] = [_call(F.upsample, lambda: _x(1, 2, 3, 3), scale_factor=2, mode="bilinear"),
                     _call(F.upsample, lambda: _x(1, 2, 3, 3), scale_factor=2, mode="bicubic"),
                     _call(F.upsample, lambda: _x(1, 2, 4, 4), size=2, mode="area")]
CASES["upsample_nearest"] = [_call(F.upsample_nearest, lambda: _x(1, 2, 3, 3), scale_factor=2)]
CASES["upsample_bilinear"] = [_call(F.upsample_bilinear, lambda: _x(1, 2, 3, 3), size=4)]
CASES["interpolate"] = [_call(F.interpolate, lambda: _x(1, 2, 3, 3), scale_factor=2, mode=mode)
                        for mode in ("nearest", "bilinear", "bicubic")]
CASES["interpolate"].append(_call(F.interpolate, lambda: _x(1, 2, 4, 4), size=2, mode="area"))
CASES["gumbel_softmax"] = [_call(F.gumbel_softmax, lambda: _x(3, 4)),
                           _call(F.gumbel_softmax, lambda: _x(3, 4), hard=True)]
CASES["pixel_shuffle"] = [_call(F.pixel_shuffle, lambda: _x(1, 4, 2, 2), lambda: 2)]
CASES["affine_grid"] = [_call(F.affine_grid, lambda: _x(2, 2, 3), lambda: (2, 1, 3, 4))]
CASES["grid_sample"] = [_call(F.grid_sample, lambda: _x(2, 2, 3, 4), lambda: _x(2, 2, 3, 2) * 0.6,
                              mode=mode, padding_mode=padding)
                        for mode in ("bilinear", "nearest", "bicubic")
                        for padding in ("zeros", "border", "reflection")]
CASES["pixel_unshuffle"] = [_call(F.pixel_unshuffle, lambda: _x(1, 1, 4, 4), lambda: 2)]
# random (the draws are counter-based: no state is read back)
for _name in ("dropout", "alpha_dropout", "feature_alpha_dropout"):
    CASES[_name] = [_call(getattr(F, _name), lambda: _x(2, 3, 4), p=0.5, training=True)]
for _name, _shape in (("dropout1d", (2, 3, 4)), ("dropout2d", (2, 3, 4, 4)),
                      ("dropout3d", (2, 3, 2, 2, 2))):
    CASES[_name] = [_call(getattr(F, _name), lambda _s=_shape: _x(*_s), p=0.5, training=True)]
CASES["bernoulli"] = [_call(framework.bernoulli, lambda: _x(3, 4, grad=False).sigmoid())]
CASES["normal"] = [_call(framework.normal, lambda: _x(3, 4, grad=False), lambda: 2.0),
                   _call(framework.normal, lambda: 0.0, lambda: _x(3, 4, grad=False).exp()),
                   _call(framework.normal, lambda: 0.0, lambda: 1.0, lambda: (3, 4))]
CASES["multinomial"] = [_call(framework.multinomial, lambda: _x(3, 4, grad=False).exp(),
                              lambda: 2)]
# inplace: on a non-leaf made before recording, so the write is recorded and differentiated
for _name, _args in (("add_", (lambda: _x(4),)), ("sub_", (lambda: _x(4),)),
                     ("mul_", (lambda: _x(4),)), ("div_", (lambda: _x(4),)), ("zero_", ()),
                     ("fill_", (lambda: 0.5,)), ("copy_", (lambda: _x(4),)),
                     ("clamp_", (lambda: -0.5, lambda: 0.5)), ("uniform_", ()), ("normal_", ()),
                     ("bernoulli_", ()), ("exponential_", ()), ("random_", (lambda: 5,))):
    CASES[_name] = [_call(lambda x, *a, _n=_name: getattr(x, _n)(*a), lambda: _x(3, 4).clone(),
                          *_args)]
# conv: with and without bias, strided/padded; conv3d's depth padding and the depth
# col2im of the transposed 3-d convolution
CASES["conv1d"] = [_call(F.conv1d, lambda: _x(1, 2, 6), lambda: _x(3, 2, 3), lambda: _x(3)),
                   _call(F.conv1d, lambda: _x(1, 2, 6), lambda: _x(3, 2, 3), stride=2, padding=1)]
CASES["conv2d"] = [_call(F.conv2d, lambda: _x(1, 2, 5, 5), lambda: _x(3, 2, 3, 3), lambda: _x(3)),
                   _call(F.conv2d, lambda: _x(1, 4, 5, 5), lambda: _x(4, 2, 3, 3), stride=2,
                         padding=1, groups=2)]
CASES["conv3d"] = [_call(F.conv3d, lambda: _x(1, 2, 4, 4, 4), lambda: _x(3, 2, 3, 3, 3),
                         lambda: _x(3), padding=1)]
CASES["conv_transpose1d"] = [_call(F.conv_transpose1d, lambda: _x(1, 2, 5), lambda: _x(2, 3, 3),
                                   lambda: _x(3), stride=2)]
CASES["conv_transpose2d"] = [_call(F.conv_transpose2d, lambda: _x(1, 2, 4, 4),
                                   lambda: _x(2, 3, 3, 3), lambda: _x(3), stride=2, padding=1)]
CASES["conv_transpose3d"] = [_call(F.conv_transpose3d, lambda: _x(1, 2, 3, 3, 3),
                                   lambda: _x(2, 3, 2, 2, 2), lambda: _x(3), stride=2)]
CASES["unfold"] = [_call(F.unfold, lambda: _x(1, 2, 4, 4), lambda: 2, padding=1, stride=2)]
CASES["fold"] = [_call(F.fold, lambda: _x(1, 8, 9), lambda: (4, 4), lambda: 2, padding=1,
                       stride=2)]
# optim: the fused step on a contiguous parameter, then on a transposed one (updated through a
# contiguous copy) with a float32 gradient (cast first); state buffers all given
_OPTIM_SCALARS = {  # (number of state buffers, the scalar arguments)
    "sgd": (1, (0.1, 0.9, 0.0, 0.0, False, False, False)),
    "adam": (3, (0.1, 0.9, 0.999, 1e-8, 0.01, True, True, False, 0.1, 0.05)),
    "adamax": (2, (0.1, 0.9, 0.999, 1e-8, 0.0, False, 0.1)),
    "adadelta": (2, (1.0, 0.9, 1e-6, 0.1, True)),
    "rmsprop": (3, (0.01, 0.99, 1e-8, 0.0, 0.9, True, False)),
    "adagrad": (1, (0.1, 1e-10, 0.0, False)),
    "nadam": (2, (0.1, 0.9, 0.999, 1e-8, 0.0, False, False, 0.05, 0.1, 0.9)),
    "radam": (2, (0.1, 0.9, 0.999, 1e-8, 0.0, False, False, 0.1, 0.05, 5.0)),
    "rprop": (2, (0.5, 1.2, 1e-6, 50.0, True)),
    "asgd": (1, (0.01, 1e-4, 0.5, 0.1, True)),
    "sparse_adam": (2, (0.9, 0.999, 1e-8, False, 0.01)),
}


def _optim_case(name: str, contiguous: bool):
    buffers, scalars = _OPTIM_SCALARS[name]

    def case():
        param = _x(3, 4, grad=False) if contiguous else _x(4, 3, grad=False).t()
        grad = _x(3, 4, grad=False) if contiguous else _x(3, 4, grad=False).float()
        state = tuple(framework.zeros(3, 4, dtype=F64) for _ in range(buffers))
        return getattr(optim_ops, f"{name}_step_"), (param, grad) + state + scalars, {}
    return case


for _name in _OPTIM_SCALARS:
    CASES[f"{_name}_step_"] = [_optim_case(_name, True), _optim_case(_name, False)]


def _optim_multi_case(name: str):
    """The multi-tensor step on a contiguous and a transposed parameter (updated through a
    contiguous copy) with a float32 gradient (cast first)."""
    buffers, scalars = _OPTIM_SCALARS[name]

    def case():
        params = [_x(3, 4, grad=False), _x(4, 3, grad=False).t()]
        grads = [_x(3, 4, grad=False), _x(3, 4, grad=False).float()]
        state = tuple([framework.zeros(3, 4, dtype=F64) for _ in params] for _ in range(buffers))
        if name == "sgd":
            scalars_ = scalars[:-1] + ([False, False],)
        else:
            scalars_ = scalars[:-2] + ([0.1, 0.2], [0.05, 0.5])
        return getattr(optim_ops, f"{name}_step_multi_"), (params, grads) + state + scalars_, {}
    return case


for _name in ("sgd", "adam"):
    CASES[f"{_name}_step_multi_"] = [_optim_multi_case(_name)]
# creation (host data, fills, ranges, draws)
_ONES = (lambda: framework.ones(3, 4, dtype=F64))
CASES["tensor"] = [_call(framework.tensor, lambda: [[1.0, 2.0], [3.0, 4.0]]),
                   _call(framework.tensor, _ONES)]  # a tensor as data: read back to the host
CASES["as_tensor"] = [_call(framework.as_tensor, lambda: [1, 2, 3]),
                      _call(framework.as_tensor, _ONES, dtype=framework.float32)]
CASES["from_numpy"] = [_call(framework.from_numpy, lambda: np.ones((3, 4)))]
for _name, _args in (("full", (lambda: (3, 4), lambda: 1.5)), ("zeros", (lambda: 3, lambda: 4)),
                     ("ones", (lambda: 3, lambda: 4)), ("empty", (lambda: 3, lambda: 4)),
                     ("rand", (lambda: 3, lambda: 4)), ("randn", (lambda: 3, lambda: 4)),
                     ("randint", (lambda: 0, lambda: 5, lambda: (3, 4))),
                     ("arange", (lambda: 5,)), ("linspace", (lambda: 0, lambda: 1, lambda: 5)),
                     ("logspace", (lambda: 0, lambda: 1, lambda: 5)), ("eye", (lambda: 3,)),
                     ("randperm", (lambda: 6,)),
                     ("zeros_like", (_ONES,)), ("ones_like", (_ONES,)), ("empty_like", (_ONES,)),
                     ("full_like", (_ONES, lambda: 2.0)), ("rand_like", (_ONES,)),
                     ("randn_like", (_ONES,)), ("randint_like", (_ONES, lambda: 0, lambda: 5))):
    CASES[_name] = [_call(getattr(framework, _name), *_args)]
# conversion, attention
CASES["to"] = [_call(lambda x: x.to(framework.float32), lambda: _x(3, 4)),
               _call(lambda x: x.to(F64), lambda: _x(3, 4)),
               # between devices: the cpu side reads (to_numpy), the cuda side copies in
               _call(lambda x: x.to("cuda").to("cpu"), lambda: _x(3, 4))]
CASES["clone"] = [_call(framework.clone, lambda: _x(3, 4))]
CASES["scaled_dot_product_attention"] = [
    _call(F.scaled_dot_product_attention, lambda: _x(1, 2, 3, 4), lambda: _x(1, 2, 5, 4),
          lambda: _x(1, 2, 5, 4)),
    _call(F.scaled_dot_product_attention, lambda: _x(1, 2, 3, 4), lambda: _x(1, 2, 5, 4),
          lambda: _x(1, 2, 5, 4), attn_mask=_x(3, 5, grad=False), is_causal=False)]
# indexing
_IDX = (lambda: framework.tensor([[0, 2, 1], [1, 0, 0]]))
_ROWS = (lambda: framework.tensor([2, 0, 2]))
CASES["gather"] = [_call(framework.gather, lambda: _x(2, 4), lambda: 1, _IDX)]
for _name in ("scatter", "scatter_add"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _x(2, 4), lambda: 1, _IDX,
                          lambda: _x(2, 3))]
CASES["scatter"].append(_call(framework.scatter, lambda: _x(2, 4), lambda: 1, _IDX, value=0.5))
CASES["scatter"].append(_call(framework.scatter, lambda: _x(2, 4, grad=False), lambda: 1, _IDX,
                              lambda: _x(2, 3, grad=False), reduce="multiply"))
CASES["scatter_reduce"] = [_call(framework.scatter_reduce, lambda: _x(2, 4), lambda: 1, _IDX,
                                 lambda: _x(2, 3), lambda: reduce)
                           for reduce in ("sum", "prod", "mean", "amax", "amin")]
CASES["index_reduce"] = [_call(framework.index_reduce, lambda: _x(3, 4), lambda: 0, _ROWS,
                               lambda: _x(3, 4), lambda: reduce)
                         for reduce in ("prod", "mean", "amax", "amin")]
CASES["index_select"] = [_call(framework.index_select, lambda: _x(3, 4), lambda: 0, _ROWS)]
CASES["index_add"] = [_call(framework.index_add, lambda: _x(3, 4), lambda: 0, _ROWS,
                            lambda: _x(3, 4)),
                      _call(framework.index_add, lambda: _x(3, 4), lambda: 0, _ROWS,
                            lambda: _x(3, 4), alpha=2)]
CASES["index_copy"] = [_call(framework.index_copy, lambda: _x(3, 4), lambda: 0,
                             lambda: framework.tensor([2, 0]), lambda: _x(2, 4))]
CASES["index_put"] = [_call(framework.index_put, lambda: _x(3, 4), lambda: (_ROWS(),),
                            lambda: _x(3, 4)),
                      _call(framework.index_put, lambda: _x(3, 4), lambda: (_ROWS(),),
                            lambda: _x(3, 4), accumulate=True),
                      _call(framework.index_put, lambda: _x(3, 4),
                            lambda: (_x(3, grad=False) > 0,), lambda: _x(4))]
for _name in ("scatter_", "scatter_add_", "scatter_reduce_", "index_reduce_", "index_add_",
              "index_copy_", "index_put_"):
    CASES[_name] = [(lambda _c=c, _n=_name: (
        lambda fn, args, kwargs: (lambda x, *a, **k: getattr(x, _n)(*a, **k),
                                  (args[0].clone(),) + args[1:], kwargs))(*_c()))
        for c in CASES[_name[:-1]]]
CASES["masked_fill"] = [_call(framework.masked_fill, lambda: _x(3, 4),
                              lambda: _x(3, 4, grad=False) > 0, lambda: 0.5)]
CASES["masked_fill_"] = [_call(lambda x, m: x.masked_fill_(m, 0.5), lambda: _x(3, 4).clone(),
                               lambda: _x(3, 4, grad=False) > 0)]
CASES["index_fill"] = [_call(framework.index_fill, lambda: _x(3, 4), lambda: 1,
                             lambda: framework.tensor([0, 2]), lambda: -1.0)]
CASES["index_fill_"] = [_call(lambda x, i: x.index_fill_(1, i, -1.0), lambda: _x(3, 4).clone(),
                              lambda: framework.tensor([0, 2]))]
CASES["masked_scatter"] = [_call(framework.masked_scatter, lambda: _x(3, 4),
                                 lambda: _x(3, 4, grad=False) > 0, lambda: _x(12))]
CASES["masked_scatter_"] = [_call(lambda x, m, v: x.masked_scatter_(m, v), lambda: _x(3, 4).clone(),
                                  lambda: _x(3, 4, grad=False) > 0, lambda: _x(12))]
CASES["masked_select"] = [_call(framework.masked_select, lambda: _x(3, 4),
                                lambda: _x(3, 4, grad=False) > 0)]
CASES["take_along_dim"] = [_call(framework.take_along_dim, lambda: _x(2, 4), _IDX, lambda: 1)]
CASES["embedding"] = [_call(F.embedding, _IDX, lambda: _x(3, 4))]
CASES["embedding_bag"] = [_call(F.embedding_bag, _IDX, lambda: _x(3, 4), mode=mode)
                          for mode in ("mean", "sum", "max")]
CASES["nonzero"] = [_call(framework.nonzero, lambda: _x(3, 4, grad=False) > 0)]
CASES["argwhere"] = [_call(framework.argwhere, lambda: _x(3, 4, grad=False) > 0)]
CASES["one_hot"] = [_call(F.one_hot, _ROWS), _call(F.one_hot, _ROWS, lambda: 4)]
# shape (views: kernels only where a copy is needed or in the backward)
_SHAPE_CASES = {
    "view": lambda x: x.view(4, 3), "reshape": lambda x: x.reshape(4, 3),
    "permute": lambda x: x.permute(1, 0), "transpose": lambda x: x.transpose(0, 1),
    "t": lambda x: x.t(), "unsqueeze": lambda x: x.unsqueeze(0),
    "flatten": lambda x: x.flatten(), "unflatten": lambda x: x.unflatten(1, (2, 2)),
    "narrow": lambda x: x.narrow(1, 1, 2), "select": lambda x: x.select(0, 1),
    "getitem": lambda x: x[1:, ::2], "movedim": lambda x: x.movedim(0, 1),
    "split": lambda x: x.split(2, 1), "chunk": lambda x: x.chunk(2, 1),
    "unbind": lambda x: x.unbind(0), 
    "Tensor.unfold": lambda x: x.unfold(1, 2, 1), "diagonal": lambda x: x.diagonal(),
    "diag_embed": lambda x: framework.diag_embed(x), 
    "trace": lambda x: framework.trace(x), "diff": lambda x: framework.diff(x, dim=1),
    "type_as": lambda x: x.type_as(framework.zeros(1, dtype=framework.float32)),
}
for _name, _fn in _SHAPE_CASES.items():
    CASES[_name] = [_call(_fn, lambda: _x(3, 4))]
# (inputs already of the needed shape: a view made inside the case would add its backward)
CASES["diff"].append(_call(lambda x: framework.diff(x, dim=1), lambda: _x(3, 4, grad=False) > 0))
CASES["expand"] = [_call(lambda x: x.expand(3, 4), lambda: _x(1, 4))]
CASES["squeeze"] = [_call(lambda x: x.squeeze(0), lambda: _x(1, 4))]
CASES["broadcast_to"] = [_call(lambda x: x.broadcast_to((3, 4)), lambda: _x(1, 4))]
CASES["broadcast_tensors"] = [_call(framework.broadcast_tensors, lambda: _x(3, 4),
                                    lambda: _x(1, 4))]
CASES["contiguous"] = [_call(lambda x: x.contiguous(), lambda: _x(4, 3).t())]
CASES["diag"] = [_call(framework.diag, lambda: _x(4)), _call(framework.diag, lambda: _x(3, 4))]
CASES["meshgrid"] = [_call(framework.meshgrid, lambda: _x(3), lambda: _x(4))]
for _name in ("cat", "stack", "hstack", "vstack"):
    CASES[_name] = [_call(lambda a, b, _n=_name: getattr(framework, _n)([a, b]), lambda: _x(3, 4),
                          lambda: _x(3, 4))]


def _setitem(x, value):
    x[1:, ::2] = value
    return x


CASES["setitem"] = [_call(_setitem, lambda: _x(3, 4).clone(), lambda: _x(2, 2)),
                    _call(_setitem, lambda: _x(3, 4).clone(), lambda: 0.5)]
CASES["broadcast_shapes"] = [_call(framework.broadcast_shapes, lambda: (3, 1), lambda: (4,))]
# linalg: well-conditioned and symmetric positive-definite (2, 3, 3) matrices


def _square():
    return framework.tensor(RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3), dtype=F64,
                            requires_grad=True)


def _spd():
    m = RNG.standard_normal((2, 3, 3))
    return framework.tensor(m @ m.transpose(0, 2, 1) + 3 * np.eye(3), dtype=F64,
                            requires_grad=True)


CASES["linalg.inv"] = [_call(framework.linalg.inv, _square)]
CASES["linalg.inv_ex"] = [_call(framework.linalg.inv_ex, _square)]
CASES["linalg.cholesky"] = [_call(framework.linalg.cholesky, _spd)]
CASES["linalg.cholesky_ex"] = [_call(framework.linalg.cholesky_ex, _spd)]
CASES["linalg.det"] = [_call(framework.linalg.det, _square)]
CASES["linalg.svd"] = [_call(framework.linalg.svd, lambda: _x(4, 3), full_matrices=False),
                       _call(framework.linalg.svd, lambda: _x(4, 3))]  # U completed by eigh
CASES["linalg.svdvals"] = [_call(framework.linalg.svdvals, lambda: _x(4, 3))]
CASES["linalg.qr"] = [_call(framework.linalg.qr, lambda: _x(4, 3)),
                      _call(framework.linalg.qr, lambda: _x(3, 4))]
CASES["linalg.lu_factor"] = [_call(framework.linalg.lu_factor, _square)]
CASES["linalg.lu_factor_ex"] = [_call(framework.linalg.lu_factor_ex, _square),
                                _call(framework.linalg.lu_factor_ex, lambda: _x(4, 3)),
                                _call(framework.linalg.lu_factor_ex, lambda: _x(3, 4))]
CASES["linalg.ldl_factor"] = [_call(framework.linalg.ldl_factor, _spd)]
CASES["linalg.ldl_factor_ex"] = [_call(framework.linalg.ldl_factor_ex, _spd)]
CASES["linalg.eigh"] = [_call(framework.linalg.eigh, _spd)]
CASES["linalg.eigvalsh"] = [_call(framework.linalg.eigvalsh, _spd)]
CASES["linalg.slogdet"] = [_call(framework.linalg.slogdet, _square)]
CASES["linalg.solve"] = [_call(framework.linalg.solve, _square, lambda: _x(2, 3, 2))]
CASES["linalg.solve_ex"] = [_call(framework.linalg.solve_ex, _square, lambda: _x(2, 3, 2))]
del _name, _info, _shape, _args, _fn


@contextlib.contextmanager
def recording():
    """Record the names of the contract kernels called through the backend namespaces (cpu,
    and cuda -- the Triton interpreter in the suite -- for the copies between devices)."""
    devices = ["cpu"] + (["cuda"] if framework.cuda.is_available() else [])
    backends = [for_device(framework.device(d)) for d in devices]
    calls: set = set()
    originals = [(b, {name: getattr(b, name) for name in contract.kernel_names()})
                 for b in backends]

    def recorder(name, fn):
        def kernel(*args, **kwargs):
            calls.add(name)
            return fn(*args, **kwargs)
        return kernel

    for backend, kernels in originals:
        for name, fn in kernels.items():
            setattr(backend, name, recorder(name, fn))
    try:
        yield calls
    finally:
        for backend, kernels in originals:
            for name, fn in kernels.items():
                setattr(backend, name, fn)


# numeric (framework/ops/numeric.py)
for _name in ("nan_to_num", "deg2rad", "rad2deg", "sinc", "signbit", "isposinf", "isneginf",
              "isreal", "positive", "nansum", "nanmean", "aminmax", "ravel", "atleast_1d",
              "atleast_2d", "atleast_3d", "msort", "diagflat"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _x(3, 4))]
CASES["logit"] = [_call(framework.logit, lambda: _x(3, 4).sigmoid()),
                  _call(framework.logit, lambda: _x(3, 4).sigmoid(), eps=0.1),
                  _call(framework.logit, lambda: _x(3, 4).sigmoid(), eps=0.6)]
for _name in ("fmax", "fmin", "xlogy", "dist", "kron"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _x(3, 4), lambda: _x(4))]
CASES["heaviside"] = [_call(framework.heaviside, lambda: _x(3, 4), lambda: _x(4))]
CASES["float_power"] = [_call(framework.float_power, lambda: _x(3, 4), lambda: 2.5)]
CASES["rsub"] = [_call(framework.rsub, lambda: _x(3, 4), lambda: _x(4), alpha=2)]
for _name in ("trapezoid", "trapz", "cumulative_trapezoid"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _x(3, 4), lambda: _x(4))]
CASES["cov"] = [_call(framework.cov, lambda: _x(3, 4)),
                _call(framework.cov, lambda: _x(3, 4), fweights=framework.tensor([1, 2, 1, 1]),
                      aweights=framework.tensor([0.5, 1.0, 0.2, 0.3], dtype=F64))]
CASES["corrcoef"] = [_call(framework.corrcoef, lambda: _x(3, 4))]
for _name in ("dstack", "column_stack", "row_stack"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: [_x(3), _x(3)])]
for _name, _shape in (("hsplit", (2, 4)), ("vsplit", (4, 2)), ("dsplit", (2, 2, 4))):
    CASES[_name] = [_call(getattr(framework, _name), lambda s=_shape: _x(*s), lambda: 2)]
CASES["block_diag"] = [_call(framework.block_diag, lambda: _x(2, 3), lambda: _x(2))]
CASES["take"] = [_call(framework.take, lambda: _x(3, 4), lambda: framework.tensor([0, -1, 5]))]
CASES["unravel_index"] = [_call(framework.unravel_index, lambda: framework.tensor([0, 5, -1]),
                                lambda: (3, 4))]
CASES["vdot"] = [_call(framework.vdot, lambda: _x(3), lambda: _x(3))]
CASES["addr"] = [_call(framework.addr, lambda: _x(3, 4), lambda: _x(3), lambda: _x(4)),
                 _call(framework.addr, lambda: _x(3, 4), lambda: _x(3), lambda: _x(4), beta=0)]
CASES["ger"] = [_call(framework.ger, lambda: _x(3), lambda: _x(4))]
CASES["addbmm"] = [_call(framework.addbmm, lambda: _x(3, 4), lambda: _x(2, 3, 5),
                         lambda: _x(2, 5, 4), beta=0.5)]
CASES["chain_matmul"] = [_call(framework.chain_matmul, lambda: _x(3, 4), lambda: _x(4, 2))]
CASES["cross"] = [_call(framework.cross, lambda: _x(2, 3), lambda: _x(2, 3), dim=1)]
for _name in ("hann_window", "hamming_window", "blackman_window", "bartlett_window"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: 5)]
CASES["scalar_tensor"] = [_call(framework.scalar_tensor, lambda: 2.5)]
CASES["fix"] = [_call(framework.fix, lambda: _x(3, 4))]
CASES["arctan2"] = [_call(framework.arctan2, lambda: _x(3, 4), lambda: _x(4))]
for _name in ("is_nonzero", "is_signed", "is_neg", "resolve_neg"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _x(1))]
CASES["is_same_size"] = [_call(framework.is_same_size, lambda: _x(3), lambda: _x(3))]
for _name in ("split_with_sizes", "unsafe_split_with_sizes"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _x(5, 2), lambda: [2, 3])]
CASES["unsafe_chunk"] = [_call(framework.unsafe_chunk, lambda: _x(4, 2), lambda: 2)]
CASES["unsafe_split"] = [_call(framework.unsafe_split, lambda: _x(4, 2), lambda: 3)]
CASES["kaiser_window"] = [_call(framework.kaiser_window, lambda: 5)]
for _name in ("gcd", "lcm"):
    CASES[_name] = [_call(getattr(framework, _name), lambda: _i(3, 4), lambda: _i(4))]
CASES["ldexp"] = [_call(framework.ldexp, lambda: _x(3, 4), lambda: _i(4))]
CASES["frexp"] = [_call(framework.frexp, lambda: _x(3, 4))]
CASES["histc"] = [_call(framework.histc, lambda: _x(3, 4), bins=5)]
CASES["histogram"] = [_call(framework.histogram, lambda: _x(3, 4), lambda: 4),
                      _call(framework.histogram, lambda: _x(3, 4),
                            lambda: framework.tensor([-1.0, 0.0, 2.0], dtype=F64))]
CASES["vander"] = [_call(framework.vander, lambda: _x(3), lambda: 4)]
CASES["renorm"] = [_call(framework.renorm, lambda: _x(3, 4), lambda: 2, lambda: 0, lambda: 1.0)]
CASES["select_scatter"] = [_call(framework.select_scatter, lambda: _x(3, 4), lambda: _x(4),
                                 lambda: 0, lambda: 1)]
CASES["slice_scatter"] = [_call(framework.slice_scatter, lambda: _x(3, 4), lambda: _x(3, 2),
                                dim=1, start=1, end=3)]
CASES["diagonal_scatter"] = [_call(framework.diagonal_scatter, lambda: _x(3, 4), lambda: _x(3))]
CASES["asarray"] = [_call(framework.asarray, lambda: [1.0, 2.0])]
CASES["nextafter"] = [_call(framework.nextafter, lambda: _x(3, 4), lambda: _x(4))]
CASES["gradient"] = [_call(framework.gradient, lambda: _x(3, 4)),
                     _call(framework.gradient, lambda: _x(4),
                           spacing=(framework.tensor([0.0, 1.0, 1.5, 3.0], dtype=F64),))]
CASES["range"] = [_call(framework.range, lambda: 0, lambda: 3)]
CASES["mode"] = [_call(framework.mode, lambda: _x(3, 4)),
                _call(framework.mode, lambda: _i(3, 4), dim=0, keepdim=True)]
CASES["put"] = [_call(framework.put, lambda: _x(3, 4), lambda: framework.tensor([0, -1]),
                      lambda: _x(2), accumulate=True),
                _call(framework.put, lambda: _x(3, 4), lambda: framework.tensor([2]),
                      lambda: _x(1))]
CASES["nonzero_static"] = [_call(framework.nonzero_static, lambda: _i(3, 4), size=20)]
CASES["histogramdd"] = [_call(framework.histogramdd, lambda: _x(6, 2), lambda: [3, 2]),
                        _call(framework.histogramdd, lambda: _x(6, 2),
                              lambda: [framework.tensor([-1.0, 0.0, 1.0], dtype=F64),
                                       framework.tensor([-2.0, 2.0], dtype=F64)],
                              density=True)]
CASES["as_strided"] = [_call(framework.as_strided, lambda: _x(12), lambda: (3, 4),
                             lambda: (2, 1), lambda: 1)]
CASES["as_strided_scatter"] = [_call(framework.as_strided_scatter, lambda: _x(6),
                                     lambda: _x(2, 2), lambda: (2, 2), lambda: (1, 2))]
# special (framework/ops/special.py)
for _name in ("lgamma", "digamma", "gammaln", "psi", "i0", "i0e", "i1", "i1e", "entr", "ndtr",
              "log_ndtr"):
    CASES[_name] = [_call(getattr(framework.ops.special, _name), lambda: _x(3, 4))]
CASES["ndtri"] = [_call(framework.ops.special.ndtri, lambda: _x(3, 4).sigmoid())]
CASES["polygamma"] = [_call(framework.polygamma, lambda: 2, lambda: _x(3, 4).abs() + 0.5)]
for _name in ("mvlgamma", "multigammaln"):
    CASES[_name] = [_call(getattr(framework.ops.special, _name), lambda: _x(3, 4).abs() + 1.5,
                          lambda: 2)]
CASES["zeta"] = [_call(framework.ops.special.zeta, lambda: _x(4).abs() + 2, lambda: _x(3, 4).abs())]
CASES["xlog1py"] = [_call(framework.ops.special.xlog1py, lambda: _x(3, 4), lambda: _x(4).abs())]
for _name in ("igamma", "igammac", "gammainc", "gammaincc"):
    CASES[_name] = [_call(getattr(framework.ops.special, _name), lambda: _x(3, 4).abs() + 0.5,
                          lambda: _x(4).abs() * 2)]


def _tensors(value) -> list:
    if isinstance(value, framework.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _tensors(v)]
    return []


def _grad_targets(inputs: list, outputs: list) -> list:
    """What to differentiate with respect to: the inputs, or for an in-place op (whose input
    is its output, so ``autograd.grad`` runs no node, as in PyTorch) the graph's leaves."""
    if not any(i is o for i in inputs for o in outputs):
        return inputs
    leaves, seen = [], set()
    stack = [o.grad_fn for o in outputs]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None:
            leaves.append(variable)
        else:
            stack.extend(fn for fn, _ in node.next_functions)
    return leaves


def recorded_kernels(name: str) -> set:
    """The kernels op ``name``'s cases call: forward, then backward where differentiable."""
    differentiable = registry.OPS[name].differentiable
    called: set = set()
    for case in CASES[name]:
        fn, args, kwargs = case()
        with recording() as calls:
            out = fn(*args, **kwargs)
        called |= calls
        outputs = [t for t in _tensors(out) if t.requires_grad]
        inputs = _grad_targets([t for t in _tensors(args) if t.requires_grad], outputs)
        if differentiable and inputs and outputs:
            grads = [framework.ones_like(t) for t in outputs]
            with recording() as calls:
                framework.autograd.grad(outputs, inputs, grads, allow_unused=True)
            called |= calls
    return called


CHECKED_OPS = sorted(name for name, info in registry.OPS.items() if info.family in CHECKED)


def test_every_checked_op_has_a_case():
    assert [name for name in CHECKED_OPS if name not in CASES] == []


def test_every_family_is_checked():
    """A new op family is recorded too: its ops need cases here."""
    assert sorted({info.family for info in registry.OPS.values()} - set(CHECKED)) == []


@pytest.mark.parametrize("name", CHECKED_OPS)
def test_registered_kernels_are_the_kernels_called(name):
    called = recorded_kernels(name)
    registered = set(registry.OPS[name].kernels)
    assert called == registered, (
        f"{name}: registered {sorted(registered)}, called {sorted(called)} "
        f"(missing {sorted(called - registered)}, never called {sorted(registered - called)})")


def test_the_recorder_sees_every_call_path():
    """A kernel reached as ``backend(t).name`` and through ``getattr(for_device(d), name)``."""
    x = _x(3, grad=False)
    with recording() as calls:
        framework.exp(x)  # untracked fast path: getattr(for_device(device), "exp")
        F.softmax(x, 0)  # Function.forward: backend(x).softmax
    assert calls == {"exp", "softmax"}
