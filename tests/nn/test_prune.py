"""``framework.nn.utils.prune`` against ``torch.nn.utils.prune`` (float64 oracle, cpu and cuda).

The deterministic methods (identity, l1_unstructured, ln_structured, global_unstructured,
custom_from_mask) give torch's masks exactly, alone and stacked (``PruningContainer``); the
random ones (framework's generator is not torch's) prune the right number of entries or whole
channels, on top of earlier masks. Also: the reparametrization (``_orig`` parameter, ``_mask``
buffer, state_dict keys as torch's), gradients and training of ``weight_orig``, a compiled
pruned module, ``remove``, and torch's errors for bad input."""
from __future__ import annotations

import copy
import re

import numpy as np
import pytest
import torch
import torch.nn.utils.prune as tprune
from nn_oracle import check_module, randn, sync

import framework
import framework.nn as fnn
import framework.nn.utils.prune as prune
from helpers import assert_close

F64 = framework.float64


def _pair(name: str, *args, device: str = "cpu"):
    """The same float64 layer in both libraries (torch's weights), framework's on
    ``device``."""
    torch.manual_seed(0)
    fw_module, torch_module = getattr(fnn, name)(*args), getattr(torch.nn, name)(*args)
    return sync(fw_module, torch_module, device, F64)


def _np(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.detach().cpu().numpy()


def _same_masks(fw_module, torch_module) -> None:
    """Every ``*_mask`` buffer equal to torch's, and the forward weights too."""
    fw_masks = {k: v for k, v in fw_module.named_buffers() if k.endswith("_mask")}
    torch_masks = {k: v for k, v in torch_module.named_buffers() if k.endswith("_mask")}
    assert list(fw_masks) == list(torch_masks)
    for k in fw_masks:
        assert fw_masks[k].dtype == F64
        np.testing.assert_array_equal(_np(fw_masks[k]), _np(torch_masks[k]), err_msg=k)
        name = k[:-len("_mask")]
        assert_close(getattr(fw_module, name), getattr(torch_module, name), 1e-12, 1e-12, name)


def _same_layout(fw_module, torch_module) -> None:
    assert list(fw_module.state_dict()) == list(torch_module.state_dict())
    assert list(dict(fw_module.named_parameters())) == list(dict(torch_module.named_parameters()))


@pytest.mark.parametrize("amount", [0.3, 5, 0, 0.0, 20])
def test_l1_unstructured_as_torch(device, amount):
    module, tmodule = _pair("Linear", 5, 4, device=device)
    assert prune.l1_unstructured(module, "weight", amount=amount) is module
    tprune.l1_unstructured(tmodule, "weight", amount=amount)
    _same_layout(module, tmodule)
    assert list(module.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    assert isinstance(module.weight_orig, fnn.Parameter)
    assert not isinstance(module.weight, fnn.Parameter) and "weight" not in module._parameters
    _same_masks(module, tmodule)
    check_module(module, tmodule, [randn(3, 5)], device=device, dtype=F64)


@pytest.mark.parametrize("n,dim,conv", [(1, 0, True), (2, 1, True), (float("inf"), -1, True),
                                        (float("-inf"), 2, True), ("fro", 0, False),
                                        (3, -2, False)])
def test_ln_structured_as_torch(device, n, dim, conv):
    if conv:
        module, tmodule = _pair("Conv2d", 3, 4, 2, device=device)
        x = randn(1, 3, 3, 3)
    else:
        module, tmodule = _pair("Linear", 5, 4, device=device)
        x = randn(2, 5)
    prune.ln_structured(module, "weight", amount=0.5, n=n, dim=dim)
    tprune.ln_structured(tmodule, "weight", amount=0.5, n=n, dim=dim)
    _same_layout(module, tmodule)
    _same_masks(module, tmodule)
    check_module(module, tmodule, [x], device=device, dtype=F64)


def test_importance_scores_as_torch(device):
    module, tmodule = _pair("Linear", 4, 3, device=device)
    scores = randn(3, 4, seed=5)
    prune.l1_unstructured(module, "weight", 4, importance_scores=framework.tensor(scores,
                                                                                  device=device))
    tprune.l1_unstructured(tmodule, "weight", 4, importance_scores=torch.tensor(scores))
    prune.ln_structured(module, "weight", 1, n=1, dim=0,
                        importance_scores=framework.tensor(scores, device=device))
    tprune.ln_structured(tmodule, "weight", 1, n=1, dim=0, importance_scores=torch.tensor(scores))
    _same_masks(module, tmodule)
    t, t_scores = randn(2, 3), randn(2, 3, seed=1)
    fw_pruned = prune.L1Unstructured(amount=2).prune(
        framework.tensor(t, device=device), importance_scores=framework.tensor(t_scores,
                                                                               device=device))
    want = tprune.L1Unstructured(amount=2).prune(torch.tensor(t),
                                                 importance_scores=torch.tensor(t_scores))
    assert_close(fw_pruned, want, 0, 0)


def test_identity_and_custom_from_mask_as_torch(device):
    module, tmodule = _pair("Linear", 5, 3, device=device)
    prune.identity(module, "weight")
    tprune.identity(tmodule, "weight")
    prune.custom_from_mask(module, "bias", mask=framework.tensor([0, 1, 0], device=device))
    tprune.custom_from_mask(tmodule, "bias", mask=torch.tensor([0, 1, 0]))
    _same_layout(module, tmodule)
    _same_masks(module, tmodule)
    assert _np(module.bias_mask).tolist() == [0.0, 1.0, 0.0]
    check_module(module, tmodule, [randn(2, 5)], device=device, dtype=F64)


def test_global_unstructured_as_torch(device):
    pairs = [_pair("Linear", 4, 3, device=device), _pair("Linear", 3, 2, device=device)]
    prune.l1_unstructured(pairs[1][0], "weight", 2)  # global pruning on top of a mask
    tprune.l1_unstructured(pairs[1][1], "weight", 2)
    for amount in (0.25, 3):
        prune.global_unstructured(((m, "weight") for m, _ in pairs),
                                  pruning_method=prune.L1Unstructured, amount=amount)
        tprune.global_unstructured([(t, "weight") for _, t in pairs],
                                   pruning_method=tprune.L1Unstructured, amount=amount)
        for module, tmodule in pairs:
            _same_layout(module, tmodule)
            _same_masks(module, tmodule)
    scores = {(pairs[0][0], "weight"): framework.tensor(randn(3, 4, seed=3), device=device)}
    prune.global_unstructured([(m, "bias") for m, _ in pairs], prune.L1Unstructured,
                              importance_scores=scores, amount=2)
    tprune.global_unstructured([(t, "bias") for _, t in pairs], tprune.L1Unstructured,
                               importance_scores={(pairs[0][1], "weight"):
                                                  torch.tensor(randn(3, 4, seed=3))}, amount=2)
    for module, tmodule in pairs:
        _same_masks(module, tmodule)


def test_iterative_pruning_composes_masks_as_torch(device):
    module, tmodule = _pair("Conv2d", 2, 4, 3, device=device)
    mask = (randn(4, 2, 3, 3, seed=7) > -0.5).astype(np.int64)
    steps = [("l1_unstructured", dict(amount=0.2)),
             ("ln_structured", dict(amount=1, n=2, dim=0)),
             ("l1_unstructured", dict(amount=10)),
             ("ln_structured", dict(amount=0.5, n=1, dim=1)),
             ("custom_from_mask", dict(mask=mask)),
             ("identity", {})]
    for name, kwargs in steps:
        fw_kwargs = {k: framework.tensor(v, device=device) if k == "mask" else v
                     for k, v in kwargs.items()}
        t_kwargs = {k: torch.tensor(v) if k == "mask" else v for k, v in kwargs.items()}
        getattr(prune, name)(module, "weight", **fw_kwargs)
        getattr(tprune, name)(tmodule, "weight", **t_kwargs)
        _same_masks(module, tmodule)
    hooks = [h for h in module._forward_pre_hooks.values()]
    assert len(hooks) == 1 and isinstance(hooks[0], prune.PruningContainer)
    assert [type(m).__name__ for m in hooks[0]] == ["L1Unstructured", "LnStructured",
                                                    "L1Unstructured", "LnStructured",
                                                    "CustomFromMask", "Identity"]
    assert len(hooks[0]) == 6 and isinstance(hooks[0][1], prune.LnStructured)
    _same_layout(module, tmodule)
    check_module(module, tmodule, [randn(1, 2, 4, 4)], device=device, dtype=F64)


def _foobar(p):
    """The custom method of torch's pruning tutorial: every other unpruned entry."""
    class FooBarPruningMethod(p.BasePruningMethod):
        PRUNING_TYPE = "unstructured"

        def compute_mask(self, t, default_mask):
            mask = default_mask.clone()
            mask.view(-1)[::2] = 0
            return mask
    return FooBarPruningMethod


def test_custom_method_of_the_tutorial_as_torch(device):
    module, tmodule = _pair("Linear", 3, 5, device=device)
    for m, p in ((module, prune), (tmodule, tprune)):
        p.l1_unstructured(m, "bias", amount=1)
        _foobar(p).apply(m, "bias")
        p.l1_unstructured(m, "weight", amount=4)
        _foobar(p).apply(m, "weight")
    _same_masks(module, tmodule)
    hook = [h for h in module._forward_pre_hooks.values() if h._tensor_name == "bias"][0]
    assert [type(h).__name__ for h in hook] == ["L1Unstructured", "FooBarPruningMethod"]
    check_module(module, tmodule, [randn(2, 3)], device=device, dtype=F64)
    with pytest.raises(TypeError):
        prune.BasePruningMethod()  # abstract: compute_mask


def test_random_unstructured_counts(device):
    module = fnn.Linear(6, 5).to(device)
    prune.random_unstructured(module, "weight", amount=0.4)
    mask = _np(module.weight_mask)
    assert set(np.unique(mask)) <= {0.0, 1.0} and (mask == 0).sum() == 12
    prune.random_unstructured(module, "weight", amount=0.5)  # half of the 18 left
    new_mask = _np(module.weight_mask)
    assert (new_mask == 0).sum() == 12 + 9 and not (new_mask > mask).any()
    prune.random_unstructured(module, "bias", amount=2)
    assert (_np(module.bias_mask) == 0).sum() == 2
    np.testing.assert_array_equal(_np(module.weight), _np(module.weight_orig) * new_mask)


def _zero_channels(mask: np.ndarray, dim: int) -> list:
    """Indices of channels along ``dim`` that are all zero; the others must be all one."""
    moved = np.moveaxis(mask, dim, 0).reshape(mask.shape[dim], -1)
    assert all(row.all() or not row.any() for row in moved)
    return [i for i, row in enumerate(moved) if not row.any()]


def test_random_structured_prunes_whole_channels(device):
    module = fnn.Conv2d(2, 6, 2).to(device)
    prune.random_structured(module, "weight", amount=0.5, dim=0)
    first = _zero_channels(_np(module.weight_mask), 0)
    assert len(first) == 3
    prune.random_structured(module, "weight", amount=1, dim=0)  # one of the 3 channels left
    second = _zero_channels(_np(module.weight_mask), 0)
    assert len(second) == 4 and set(first) < set(second)
    prune.random_structured(module, "weight", amount=0, dim=-1)
    assert len(_zero_channels(_np(module.weight_mask), 0)) == 4


def test_masked_entries_get_zero_gradient_and_training_keeps_them_zero(device):
    module, tmodule = _pair("Linear", 4, 3, device=device)
    prune.l1_unstructured(module, "weight", amount=0.5)
    tprune.l1_unstructured(tmodule, "weight", amount=0.5)
    opt = framework.optim.SGD(module.parameters(), lr=0.1, momentum=0.9)
    topt = torch.optim.SGD(tmodule.parameters(), lr=0.1, momentum=0.9)
    x = randn(5, 4)
    for _ in range(3):
        for m, o, inp in ((module, opt, framework.tensor(x, device=device)),
                          (tmodule, topt, torch.tensor(x))):
            o.zero_grad()
            (m(inp) ** 2).sum().backward()
            o.step()
        masked = _np(module.weight_mask) == 0
        assert not _np(module.weight_orig.grad)[masked].any()
        assert_close(module.weight_orig.grad, tmodule.weight_orig.grad, 1e-10, 1e-9, "grad")
        assert_close(module.weight_orig, tmodule.weight_orig, 1e-10, 1e-9, "weight_orig")
    module(framework.tensor(x, device=device))
    assert not _np(module.weight)[_np(module.weight_mask) == 0].any()


def test_state_dict_round_trips_with_torch(device):
    module, tmodule = _pair("Linear", 4, 3, device=device)
    tprune.l1_unstructured(tmodule, "weight", amount=0.5)
    prune.identity(module, "weight")
    state = {k: framework.tensor(_np(v), device=device) for k, v in tmodule.state_dict().items()}
    result = module.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys
    check_module(module, tmodule, [randn(2, 4)], device=device, dtype=F64)
    clone = copy.deepcopy(module)  # the hook and its mask come along
    assert prune.is_pruned(clone) and clone.weight_mask is not module.weight_mask
    check_module(clone, tmodule, [randn(2, 4)], device=device, dtype=F64)


def test_compiled_pruned_module_matches_eager():
    x = framework.tensor(randn(4, 6), dtype=framework.float32)
    eager, compiled_src = fnn.Linear(6, 3), fnn.Linear(6, 3)
    compiled_src.load_state_dict(eager.state_dict())
    for m in (eager, compiled_src):
        prune.l1_unstructured(m, "weight", amount=0.5)
        prune.ln_structured(m, "weight", amount=1, n=2, dim=0)
    compiled = framework.compile(compiled_src)
    for _ in range(2):  # the second call replays the trace
        for m in (eager, compiled_src):
            m.zero_grad()
        out, want = compiled(x), eager(x)
        assert_close(out, want.detach(), 1e-6, 1e-6, "output")
        (out ** 2).sum().backward()
        (want ** 2).sum().backward()
        assert_close(compiled_src.weight_orig.grad, eager.weight_orig.grad, 1e-5, 1e-5, "grad")
        assert_close(compiled_src.bias.grad, eager.bias.grad, 1e-5, 1e-5, "bias grad")
    assert not _np(compiled_src.weight_orig.grad)[_np(compiled_src.weight_mask) == 0].any()
    assert compiled._compiled.stats == {"traces": 1, "replays": 1, "eager": 0}
    prune.l1_unstructured(compiled_src, "weight", amount=3)  # a new mask: the trace reads it
    prune.l1_unstructured(eager, "weight", amount=3)
    assert_close(compiled(x), eager(x).detach(), 1e-6, 1e-6, "output after pruning again")


def test_remove_leaves_a_plain_parameter(device):
    module, tmodule = _pair("Linear", 4, 3, device=device)
    for m, p in ((module, prune), (tmodule, tprune)):
        p.l1_unstructured(m, "weight", amount=0.5)
        p.ln_structured(m, "weight", amount=1, n=1, dim=1)
        p.random_unstructured(m, "bias", amount=1)
        assert p.is_pruned(m)
        assert p.remove(m, "weight") is m
    weight = module.weight
    assert isinstance(weight, fnn.Parameter) and weight.requires_grad and weight.grad_fn is None
    assert_close(weight, tmodule.weight, 0, 0, "weight")
    assert "weight" not in module.__dict__ and prune.is_pruned(module)
    _same_layout(module, tmodule)
    prune.remove(module, "bias")
    assert not prune.is_pruned(module) and not module._forward_pre_hooks
    assert list(module.state_dict()) == ["weight", "bias"]
    assert not prune.is_pruned(fnn.Sequential(fnn.Linear(2, 2)))
    assert prune.is_pruned(fnn.Sequential(prune.identity(fnn.Linear(2, 2), "bias")))


def _same_error(fw_call, torch_call) -> None:
    """Both calls raise the same exception type with the same message (``torch.`` read as
    ``framework.``, object addresses left out)."""
    with pytest.raises(Exception) as want:
        torch_call()
    with pytest.raises(type(want.value)) as got:
        fw_call()
    expected = str(want.value).replace("torch.", "framework.")
    assert _no_address(str(got.value)) == _no_address(expected), got.value


def _no_address(text: str) -> str:
    return re.sub(r" at 0x[0-9a-f]+", "", text)


@pytest.mark.parametrize("amount", [-1, 1.5, -0.1, "0.5", None])
def test_bad_amount_as_torch(amount):
    _same_error(lambda: prune.l1_unstructured(fnn.Linear(2, 2), "weight", amount),
                lambda: tprune.l1_unstructured(torch.nn.Linear(2, 2), "weight", amount))
    _same_error(lambda: prune.RandomStructured(amount), lambda: tprune.RandomStructured(amount))


def test_bad_input_errors_as_torch_and_rolled_back():
    def both(fn):
        _same_error(lambda: fn(prune, fnn, framework), lambda: fn(tprune, torch.nn, torch))

    both(lambda p, nn, lib: p.l1_unstructured(nn.Linear(2, 2), "weight", amount=5))
    both(lambda p, nn, lib: p.random_unstructured(nn.Linear(2, 2), "nope", amount=1))
    both(lambda p, nn, lib: p.ln_structured(nn.Linear(2, 3), "bias", amount=1, n=2, dim=0))
    both(lambda p, nn, lib: p.ln_structured(nn.Linear(2, 3), "weight", amount=1, n=2, dim=2))
    both(lambda p, nn, lib: p.random_structured(nn.Linear(2, 3), "weight", amount=4, dim=1))
    both(lambda p, nn, lib: p.custom_from_mask(nn.Linear(2, 3), "bias", lib.ones(2)))
    both(lambda p, nn, lib: p.l1_unstructured(nn.Linear(2, 3), "bias", 1,
                                              importance_scores=lib.ones(2)))
    both(lambda p, nn, lib: p.remove(nn.Linear(2, 3), "weight"))
    both(lambda p, nn, lib: p.global_unstructured([(nn.Linear(2, 2), "weight")],
                                                  p.LnStructured, amount=1, n=2))
    both(lambda p, nn, lib: p.global_unstructured(3, p.L1Unstructured, amount=1))
    both(lambda p, nn, lib: p.global_unstructured([], p.L1Unstructured, importance_scores=[]))
    both(lambda p, nn, lib: p.PruningContainer(p.Identity()).add_pruning_method(3))
    module, tmodule = fnn.Linear(2, 2), torch.nn.Linear(2, 2)
    both(lambda p, nn, lib: p.l1_unstructured(module if p is prune else tmodule, "weight", 5))
    assert isinstance(module.weight, fnn.Parameter) and not prune.is_pruned(module)
    _same_layout(module, tmodule)  # rolled back: "weight" registered again, after "bias"


def test_container_refuses_another_parameter():
    def container(p, nn):
        module = p.identity(p.identity(nn.Linear(1, 1), "bias"), "weight")
        hooks = list(module._forward_pre_hooks.values())
        return p.PruningContainer(hooks[0]), hooks[1]

    c, other = container(prune, fnn)
    tc, tother = container(tprune, torch.nn)
    _same_error(lambda: c.add_pruning_method(other), lambda: tc.add_pruning_method(tother))
