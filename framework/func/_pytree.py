"""Nested containers of tensors (``pytrees``) for ``framework.func``: flatten to a list of
leaves plus a spec, and rebuild from the two.

Containers are tuples, lists, dicts (in key order of insertion) and namedtuples, as in
``torch.utils._pytree``; anything else (a Tensor, a number, None) is a leaf.
"""
from __future__ import annotations


class TreeSpec:
    """The structure of a pytree: a container type, its keys (dict) or fields (namedtuple)
    and one child spec per entry; ``LEAF`` is a leaf."""

    def __init__(self, kind, context, children: list) -> None:
        self.kind, self.context, self.children = kind, context, children

    @property
    def num_leaves(self) -> int:
        """How many leaves the structure holds."""
        if self.kind is None:
            return 1
        return sum(child.num_leaves for child in self.children)

    def __eq__(self, other) -> bool:
        return (isinstance(other, TreeSpec) and self.kind is other.kind
                and self.context == other.context and self.children == other.children)

    def __repr__(self) -> str:
        if self.kind is None:
            return "*"
        inner = ", ".join(repr(c) for c in self.children)
        return f"TreeSpec({self.kind.__name__}, {self.context}, [{inner}])"


LEAF = TreeSpec(None, None, [])


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def tree_flatten(tree) -> tuple:
    """``(leaves, spec)``: the leaves of ``tree`` in order, and its structure."""
    leaves: list = []
    return leaves, _flatten_into(tree, leaves)


def _flatten_into(tree, leaves: list) -> TreeSpec:
    if isinstance(tree, dict):
        keys = list(tree)
        return TreeSpec(dict, keys, [_flatten_into(tree[k], leaves) for k in keys])
    if _is_namedtuple(tree):
        return TreeSpec(type(tree), tuple(type(tree)._fields),
                        [_flatten_into(v, leaves) for v in tree])
    if isinstance(tree, (tuple, list)):
        return TreeSpec(type(tree), None, [_flatten_into(v, leaves) for v in tree])
    leaves.append(tree)
    return LEAF


def tree_unflatten(leaves, spec: TreeSpec):
    """The pytree of structure ``spec`` holding ``leaves`` in order."""
    iterator = iter(leaves)
    return _build(iterator, spec)


def _build(iterator, spec: TreeSpec):
    if spec.kind is None:
        return next(iterator)
    values = [_build(iterator, child) for child in spec.children]
    if spec.kind is dict:
        return dict(zip(spec.context, values))
    if spec.kind in (tuple, list):
        return spec.kind(values)
    return spec.kind(*values)  # a namedtuple


def tree_map(fn, tree):
    """``tree`` with ``fn`` applied to every leaf."""
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(leaf) for leaf in leaves], spec)


def broadcast_prefix(prefix, tree) -> list | None:
    """One value of ``prefix`` per leaf of ``tree``, where ``prefix`` is ``tree``'s structure
    cut short (a leaf of ``prefix`` covers a whole subtree of ``tree``); None when the
    structures disagree."""
    out: list = []
    if not _broadcast_into(prefix, tree, out):
        return None
    return out


def _broadcast_into(prefix, tree, out: list) -> bool:
    if not _is_container(prefix):
        out.extend([prefix] * tree_flatten(tree)[1].num_leaves)
        return True
    if not _is_container(tree) or type(prefix) is not type(tree) or len(prefix) != len(tree):
        return False
    if isinstance(prefix, dict):
        if list(prefix) != list(tree):
            return False
        return all(_broadcast_into(prefix[k], tree[k], out) for k in prefix)
    return all(_broadcast_into(p, t, out) for p, t in zip(prefix, tree))


def _is_container(x) -> bool:
    return isinstance(x, (dict, tuple, list))
