"""``rearrange`` of ``framework.func`` (``torch.func.rearrange``, einops' notation): one
reshape to the elementary axes named on the left, one permute, one reshape to the groups on
the right."""
from __future__ import annotations

import math
import re

from ..ops.shape import stack
from ..tensor import Tensor

__all__ = ["rearrange"]

_TOKEN = re.compile(r"\.\.\.|\(|\)|[A-Za-z_][A-Za-z0-9_]*|\d+|\S")


def _parse(side: str) -> list:
    """The groups of one side: a list per dim of the axis names it merges (``1`` and ``()``:
    an empty group, a size-1 dim); ``"..."`` stands alone for the ellipsis."""
    groups: list = []
    current = None
    for token in _TOKEN.findall(side):
        if token == "(":
            if current is not None:
                raise ValueError(f"Nested parentheses are not allowed in rearrange: {side!r}")
            current = []
        elif token == ")":
            if current is None:
                raise ValueError(f"Unbalanced parentheses in rearrange pattern: {side!r}")
            groups.append(current)
            current = None
        elif token == "...":
            if current is not None:
                raise ValueError("rearrange: '...' inside parentheses is not supported")
            groups.append("...")
        elif token.isdigit():
            if token != "1":
                raise ValueError(f"rearrange: only 1 may appear as a number, got {token}")
            if current is None:
                groups.append([])
        elif token.isidentifier() and current is not None:
            current.append(token)
        elif token.isidentifier():
            groups.append([token])
        else:
            raise ValueError(f"rearrange: unexpected {token!r} in pattern {side!r}")
    if current is not None:
        raise ValueError(f"Unbalanced parentheses in rearrange pattern: {side!r}")
    return groups


def _expand_ellipsis(groups: list, count: int) -> list:
    """``"..."`` replaced by ``count`` single-axis groups with reserved names."""
    result = []
    for group in groups:
        if group == "...":
            result += [[f"...{i}"] for i in range(count)]
        else:
            result.append(group)
    return result


def _axis_sizes(left: list, shape: tuple, axes_lengths: dict) -> dict:
    """Each elementary axis's size, from the tensor's dims and ``axes_lengths``."""
    sizes = dict(axes_lengths)
    for group, dim_size in zip(left, shape):
        unknown = [a for a in group if a not in sizes]
        known = math.prod(sizes[a] for a in group if a in sizes)
        if len(unknown) > 1:
            raise ValueError(f"cannot infer the sizes of two dimensions at once "
                             f"{' and '.join(unknown)}")
        if unknown:
            if known == 0 or dim_size % known:
                raise ValueError(f"rearrange: can not divide the dim of size {dim_size} into "
                                 f"{group} with the given sizes")
            sizes[unknown[0]] = dim_size // known
        elif known != dim_size:
            raise ValueError(f"rearrange: the dim of size {dim_size} does not match {group} "
                             f"(of size {known})")
    return sizes


def rearrange(tensor, pattern: str, **axes_lengths: int) -> Tensor:
    """Reorder, merge and split the dims of ``tensor`` as ``pattern`` says (einops'
    ``"b (h w) c -> b h w c"``, with ``...``, ``1``/``()`` for size-1 dims, and the sizes of
    split axes in ``axes_lengths``). A list or tuple of tensors is stacked first (a new
    leading dim)."""
    if isinstance(tensor, (list, tuple)):
        tensor = stack(list(tensor))
    if pattern.count("->") != 1:
        raise ValueError("Pattern must contain a single '->' separator")
    left_text, right_text = pattern.split("->")
    left, right = _parse(left_text), _parse(right_text)
    named = [g for g in left if g != "..."]
    if "..." in left:
        ellipsis = tensor.ndim - len(named)
        if ellipsis < 0:
            raise ValueError(f"Number of dimensions in pattern ({len(named)}) must be at most "
                             f"the number of dimensions in the tensor ({tensor.ndim})")
    elif len(left) != tensor.ndim:
        raise ValueError(f"Number of dimensions in pattern ({len(left)}) must be equal to the "
                         f"number of dimensions in the tensor ({tensor.ndim})")
    else:
        ellipsis = 0
    left, right = _expand_ellipsis(left, ellipsis), _expand_ellipsis(right, ellipsis)
    left_axes = [a for g in left for a in g]
    right_axes = [a for g in right for a in g]
    if set(left_axes) != set(right_axes):
        raise ValueError("Identifiers only on one side of rearrange expression (should be on "
                         f"both): {set(left_axes) ^ set(right_axes)}")
    sizes = _axis_sizes(left, tuple(tensor.shape), axes_lengths)
    elementary = tensor.reshape(tuple(sizes[a] for a in left_axes))
    moved = elementary.permute(tuple(left_axes.index(a) for a in right_axes))
    return moved.reshape(tuple(math.prod(sizes[a] for a in g) for g in right))
