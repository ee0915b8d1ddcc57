"""``vmap`` of ``framework.func``, implemented by looping.

torch's vmap runs ``func`` once on batched tensors through per-op batching rules. framework
has no batching rules: ``vmap`` runs ``func`` once per index of the mapped dimension on the
slices (``select``) of the mapped inputs, and stacks the results along ``out_dims``. The
results are the same (up to the last bits of reductions that torch batches differently);
the cost is ``batch size`` calls of ``func``. Since each call is an ordinary call, every
function of ``framework`` works under it, including the other transforms (``vmap(grad(f))``
gives per-sample gradients) and in-place ops on the slices.
"""
from __future__ import annotations

from .. import random as _random
from ..ops.shape import stack
from ..tensor import Tensor
from ._autodiff import _RANDOMNESS
from ._pytree import broadcast_prefix, tree_flatten, tree_unflatten

__all__ = ["vmap"]


def _name(func) -> str:
    return getattr(func, "__name__", repr(func))


def vmap(func, in_dims=0, out_dims=0, randomness: str = "error", *, chunk_size=None):
    """``func`` mapped over a dimension of its inputs (see the module docstring: one call per
    slice, results stacked).

    ``in_dims``: an int (the mapped dim of every input) or a tuple with one entry per
    positional argument, each an int, None (not mapped: passed whole to every call) or, for
    a container argument, a nested structure matching it. ``out_dims``: where the mapped dim
    goes in each output (an int, or one per output leaf; None: the output is not batched,
    the same for every slice, and that value is returned). ``randomness``: ``"error"`` (a
    random op inside ``func`` raises), ``"different"`` (each slice draws its own numbers) or
    ``"same"`` (each slice starts from the same generator state). ``chunk_size`` is checked
    and changes nothing (the calls run one at a time). Keyword arguments are passed whole to
    every call.
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")

    def wrapper(*args, **kwargs):
        leaves, spec, dims = _flat_inputs(func, in_dims, args)
        size = _batch_size(func, in_dims, leaves, dims)
        states = _rng_states()
        results = []
        for index in range(max(size, 1)):
            if randomness == "same":
                _set_rng_states(states)
            sliced = [_slice(leaf, dim, index, size) for leaf, dim in zip(leaves, dims)]
            results.append(func(*tree_unflatten(sliced, spec), **kwargs))
            if randomness == "error" and _rng_states() != states:
                raise RuntimeError("vmap: called random operation while in randomness error "
                                   "mode. Please either use the 'same' or 'different' "
                                   "randomness flags on vmap or perform the randomness "
                                   "operation out of vmap")
        return _stack_outputs(func, results, out_dims, size)
    return wrapper


def _flat_inputs(func, in_dims, args: tuple) -> tuple:
    """``(leaves, spec, dims)``: the inputs' leaves, structure, and mapped dim of each."""
    where = f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>)"
    if not isinstance(in_dims, (int, tuple)) or isinstance(in_dims, bool):
        raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) "
                         "tuple matching the structure of inputs, got: "
                         f"{type(in_dims)}.")
    if not args:
        raise ValueError(f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot to "
                         "add inputs, or you are trying to vmap over a function with no "
                         "inputs. The latter is unsupported.")
    leaves, spec = tree_flatten(args)
    dims = broadcast_prefix(in_dims, args) if isinstance(in_dims, tuple) \
        else [in_dims] * len(leaves)
    if dims is None:
        raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. "
                         f"in_dims has structure {tree_flatten(in_dims)[1]} but inputs has "
                         f"structure {spec}.")
    for leaf, dim in zip(leaves, dims):
        _check_in_dim(where, leaf, dim)
    return leaves, spec, [None if d is None else d % leaf.dim()
                          for leaf, d in zip(leaves, dims)]


def _check_in_dim(where: str, leaf, dim) -> None:
    if dim is None:
        return
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise ValueError(f"{where}: in_dims must be int or None, got {type(dim)}.")
    if not isinstance(leaf, Tensor):
        raise ValueError(f"{where}: Got in_dim={dim} for an input but the input is of type "
                         f"{type(leaf)}. We cannot vmap over non-Tensor arguments, please use "
                         "None as the respective in_dim")
    if not -leaf.dim() <= dim < leaf.dim():
        raise ValueError(f"{where}: Got in_dim={dim} for some input, but that input is a Tensor "
                         f"of dimensionality {leaf.dim()} so expected in_dim to satisfy "
                         f"-{leaf.dim()} <= in_dim < {leaf.dim()}.")


def _batch_size(func, in_dims, leaves: list, dims: list) -> int:
    """The common size of the mapped dims (torch's errors when there is none or they differ)."""
    sizes = [leaf.shape[d] for leaf, d in zip(leaves, dims) if d is not None]
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if len(set(sizes)) != 1:
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped "
                         f"dimension, got sizes {sizes} for the mapped dimension")
    return sizes[0]


def _slice(leaf, dim, index: int, size: int):
    """Slice ``index`` of ``leaf`` along ``dim`` (size 0: a zero slice, to learn the output
    structure from one call)."""
    if dim is None:
        return leaf
    if size == 0:
        shape = tuple(leaf.shape[:dim]) + tuple(leaf.shape[dim + 1:])
        return leaf.new_zeros(shape)
    return leaf.select(dim, index)


def _rng_states() -> tuple:
    return tuple(g.get_state() for g in _random._generators.values())


def _set_rng_states(states: tuple) -> None:
    for g, state in zip(_random._generators.values(), states):
        g.set_state(state)


def _stack_outputs(func, results: list, out_dims, size: int):
    """The per-slice outputs stacked leaf by leaf along their ``out_dims``."""
    flat = [tree_flatten(r) for r in results]
    spec = flat[0][1]
    if isinstance(out_dims, tuple):
        dims = broadcast_prefix(out_dims, results[0])
        if dims is None:
            raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): "
                             f"out_dims is not compatible with the structure of `outputs`. "
                             f"out_dims has structure {tree_flatten(out_dims)[1]} but outputs "
                             f"has structure {spec}.")
    else:
        dims = [out_dims] * spec.num_leaves
    stacked = []
    for position, dim in enumerate(dims):
        column = [leaves[position] for leaves, _ in flat]
        stacked.append(_stack_leaf(func, column, dim, size))
    return tree_unflatten(stacked, spec)


def _stack_leaf(func, column: list, dim, size: int):
    if dim is None:
        _check_unbatched(func, column)
        return column[0]
    if not isinstance(column[0], Tensor):
        raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` must only return Tensors, "
                         f"got type {type(column[0])}. Did you mean to set out_dims= to None "
                         "for output?")
    out = stack(column, dim=dim)
    return out.narrow(dim % out.dim(), 0, 0) if size == 0 else out


def _check_unbatched(func, column: list) -> None:
    """An output with ``out_dims`` None must be the same for every slice (torch: not batched)."""
    first = column[0]
    for other in column[1:]:
        if other is first:
            continue
        if isinstance(first, Tensor):
            same = isinstance(other, Tensor) and first.shape == other.shape \
                and bool((first == other).all())
        else:
            same = other == first
        if not same:
            raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` can not return a "
                             "BatchedTensor when out_dim is None")
