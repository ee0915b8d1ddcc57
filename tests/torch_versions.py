"""PyTorch 2.13's output through an older torch oracle, where the two differ only in format.

framework follows PyTorch 2.13 (CI's torch: the Makefile's ``TORCH_PIN``). The GPU test
machines have torch 2.11, whose oracle output differs from 2.13's in these ways, each
checked against both versions:

- norm layers' reprs: 2.13 prints ``bias=`` (whether the layer has a bias) in
  ``BatchNorm*``/``InstanceNorm*`` (between ``affine`` and ``track_running_stats``),
  ``LayerNorm`` and ``GroupNorm`` (last); 2.11 prints no ``bias``;
- autograd's error for writing a view made by a multi-output op (``unbind``, ``split``,
  ...): 2.13 names the op (``Output 0 of Unbind is a view ...``), 2.11 its backward node
  (``Output 0 of UnbindBackward0 is a view ...``).

Each helper changes nothing where torch already prints 2.13's text, so on 2.13 the tests
compare with torch's own output; only torch's side is ever rewritten, never framework's.
"""
from __future__ import annotations

import re

import torch


def _batch_norm_extra_repr(self) -> str:
    """``_NormBase.extra_repr`` as in torch 2.13."""
    return ("{num_features}, eps={eps}, momentum={momentum}, affine={affine}, "
            "bias={use_bias}, track_running_stats={track_running_stats}".format(
                **self.__dict__, use_bias=self.bias is not None))


def _layer_norm_extra_repr(self) -> str:
    """``LayerNorm.extra_repr`` as in torch 2.13."""
    return ("{normalized_shape}, eps={eps}, elementwise_affine={elementwise_affine}, "
            "bias={use_bias}".format(**self.__dict__, use_bias=self.bias is not None))


def _group_norm_extra_repr(self) -> str:
    """``GroupNorm.extra_repr`` as in torch 2.13."""
    return ("{num_groups}, {num_channels}, eps={eps}, affine={affine}, "
            "bias={use_bias}".format(**self.__dict__, use_bias=self.bias is not None))


def norm_reprs_as_in_2_13(monkeypatch) -> list:
    """Make the installed torch's norm layers print their reprs as torch 2.13 does (for one
    test, through pytest's ``monkeypatch``); returns the classes patched (none on 2.13)."""
    from torch.nn.modules.batchnorm import _NormBase
    patched = []
    for cls, sample, extra_repr in ((_NormBase, torch.nn.BatchNorm1d(1), _batch_norm_extra_repr),
                                    (torch.nn.LayerNorm, torch.nn.LayerNorm(1),
                                     _layer_norm_extra_repr),
                                    (torch.nn.GroupNorm, torch.nn.GroupNorm(1, 1),
                                     _group_norm_extra_repr)):
        if "bias=" not in sample.extra_repr():
            monkeypatch.setattr(cls, "extra_repr", extra_repr)
            patched.append(cls)
        assert sample.extra_repr() == extra_repr(sample), cls  # 2.13's format, either way
    return patched


_BACKWARD_NODE = re.compile(r"\b(Output \d+ of )([A-Za-z]+)Backward\d+( is a view)")


def error_as_in_2_13(message: str) -> str:
    """A torch error message as torch 2.13 words it: the view's op, not its backward node."""
    return _BACKWARD_NODE.sub(r"\1\2\3", message)
