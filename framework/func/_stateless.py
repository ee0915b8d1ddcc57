"""Modules as functions of their state: ``functional_call``, ``stack_module_state`` and
``replace_all_batch_norm_modules_`` (``torch.func``; ``functional_call`` is also
``framework.nn.utils.stateless.functional_call``)."""
from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager

from ..ops.shape import stack
from ..tensor import Tensor

__all__ = ["functional_call", "stack_module_state", "replace_all_batch_norm_modules_"]


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights: bool = True, strict: bool = False):
    """``module(*args, **kwargs)`` with its parameters and buffers replaced, for this call
    only, by the tensors of ``parameter_and_buffer_dicts`` (one dict, or a sequence of dicts
    with distinct keys), keyed by dotted name as in ``named_parameters``.

    Names not given keep the module's own tensors (with ``strict``, every name must be given
    and no other). With ``tie_weights``, a value given for one of several names of the same
    tensor (tied weights) replaces it under all of them. ``args`` that is not a tuple is the
    one positional argument. The given tensors are used as they are, so gradients flow to
    them (``grad(lambda p: loss(functional_call(model, p, x)))(params)``).
    """
    values = _merge(parameter_and_buffer_dicts)
    if kwargs is None:
        kwargs = {}
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrized(module, values, tie_weights, strict):
        return module(*args, **kwargs)


def _merge(dicts) -> dict:
    """One dict from ``functional_call``'s dict or sequence of dicts (torch's errors)."""
    if isinstance(dicts, dict):
        return dicts
    if not isinstance(dicts, Sequence) or isinstance(dicts, str):
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of "
                         f"dicts, but got {type(dicts)}")
    if not all(isinstance(d, dict) for d in dicts):
        raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
    merged: dict = {}
    repeated = []
    for d in dicts:
        for key, value in d.items():
            if key in merged and key not in repeated:
                repeated.append(key)
            merged[key] = value
    if repeated:
        raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional "
                         "call is ambiguous")
    return merged


def _named_tensors(module) -> dict:
    """Every parameter and buffer by every dotted name it has (tied ones more than once)."""
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    return named


def _untie(module, values: dict) -> dict:
    """``values`` extended to every name of each tied tensor one of its names is given for."""
    names_of: dict = {}
    for name, tensor in _named_tensors(module).items():
        names_of.setdefault(id(tensor), set()).add(name)
    tied = {name: names for names in names_of.values() if len(names) > 1 for name in names}
    untied = dict(values)
    for given in set(values) & set(tied):
        group = tied[given]
        if len({id(values[name]) for name in group if name in values}) != 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(group)}, "
                             "which are tied. Consider using tie_weights=False")
        for name in group:
            untied[name] = values[given]
    return untied


def _check_keys(module, values: dict) -> None:
    """``strict``: exactly the module's names (torch's message)."""
    names = _named_tensors(module)
    unexpected = [k for k in values if k not in names]
    missing = [k for k in names if k not in values]
    messages = []
    if unexpected:
        messages.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
    if missing:
        messages.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
    if messages:
        raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(
            module._get_name(), "\n\t".join(messages)))


_ABSENT = object()


@contextmanager
def _reparametrized(module, values: dict, tie_weights: bool, strict: bool):
    """The module's tensors replaced by ``values`` (restored on exit, even on error); what
    the call left in a replaced slot (a buffer it reassigned) is written back to ``values``,
    as torch does."""
    given = values
    if tie_weights:
        values = _untie(module, values)
    if strict:
        _check_keys(module, values)
    saved = []
    try:
        for name, value in values.items():
            saved.append((name, _swap(module, name, value)))
        yield
    finally:
        for name, old in reversed(saved):
            current = _swap(module, name, old)
            if name in given:
                given[name] = current


def _swap(module, name: str, value):
    """Put ``value`` at the dotted ``name`` (a parameter's or buffer's slot, else the
    attribute, through ``setattr``); returns what was there (``_ABSENT``: nothing)."""
    path, _, leaf = name.rpartition(".")
    owner = module.get_submodule(path)
    for store in (owner._parameters, owner._buffers):
        if leaf in store:
            old = store[leaf]
            store[leaf] = value
            return old
    old = getattr(owner, leaf, _ABSENT)
    if value is not _ABSENT:
        setattr(owner, leaf, value)
    elif hasattr(owner, leaf):
        delattr(owner, leaf)
    return old


def stack_module_state(models) -> tuple:
    """``(params, buffers)``: each parameter and buffer of the same-class ``models`` stacked
    along a new first dim, by name (for ``vmap(functional_call)`` over an ensemble).
    Stacked parameters are new leaves requiring grad when the models' do."""
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    first_type = type(models[0])
    if not all(type(m) is first_type for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    all_buffers = [dict(m.named_buffers()) for m in models]
    params = {k: _stacked_leaf([p[k] for p in all_params], k) for k in all_params[0]}
    buffers = {k: _stacked_leaf([b[k] for b in all_buffers], k) for k in all_buffers[0]}
    return params, buffers


def _stacked_leaf(tensors: list, name: str) -> Tensor:
    requires = [t.requires_grad for t in tensors]
    if any(requires) and not all(requires):
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    result = stack(tensors)
    if all(requires):
        result = result.detach().requires_grad_()
    return result


def replace_all_batch_norm_modules_(root):
    """Make every batch-norm module of ``root`` use batch statistics only (no running
    statistics: ``track_running_stats=False``, the buffers None), in place, so that it is a
    pure function under ``vmap``; returns ``root``."""
    from ..nn.modules.normalization import _BatchNorm
    for module in root.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root
