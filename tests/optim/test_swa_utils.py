"""framework.optim.swa_utils against torch.optim.swa_utils: AveragedModel (SWA average, EMA
through avg_fn and multi_avg_fn, buffers averaged or copied), update_bn and SWALR."""
import numpy as np
import pytest
import torch

import framework
from framework import nn
from framework.optim import swa_utils


def _models():
    torch.manual_seed(0)
    ref = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2))
    ours = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    ours.load_state_dict({k: framework.tensor(v.numpy()) for k, v in ref.state_dict().items()})
    return ours, ref


def _train_step(model, lib, step):
    x = np.random.default_rng(step).standard_normal((6, 3)).astype(np.float32)
    with lib.no_grad():
        for p in model.parameters():
            p.mul_(0.9).add_(0.05 * step)
    model(lib.tensor(x))  # updates the BatchNorm running statistics


def _check_same(ours, ref):
    for (name, a), b in zip(ours.state_dict().items(), ref.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("kind", ["swa", "ema_avg_fn", "ema_multi", "swa_buffers"])
def test_averaged_model_matches_torch(kind):
    ours, ref = _models()
    args = {"swa": {}, "ema_avg_fn": {"avg_fn": "get_ema_avg_fn"},
            "ema_multi": {"multi_avg_fn": "get_ema_multi_avg_fn"},
            "swa_buffers": {"use_buffers": True}}[kind]

    def make(lib, utils, model):
        kwargs = {k: getattr(utils, v)(0.9) if isinstance(v, str) else v for k, v in args.items()}
        return utils.AveragedModel(model, **kwargs)
    avg_ours, avg_ref = make(framework, swa_utils, ours), make(torch, torch.optim.swa_utils, ref)
    for step in range(4):
        _train_step(ours, framework, step)
        _train_step(ref, torch, step)
        avg_ours.update_parameters(ours)
        avg_ref.update_parameters(ref)
        _check_same(avg_ours, avg_ref)
    assert int(avg_ours.n_averaged) == 4
    x = np.ones((2, 3), np.float32)
    avg_ours.eval()
    avg_ref.eval()
    np.testing.assert_allclose(avg_ours(framework.tensor(x)).detach().numpy(),
                               avg_ref(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_update_bn_matches_torch():
    ours, ref = _models()
    data = [np.random.default_rng(i).standard_normal((5, 3)).astype(np.float32) for i in range(3)]
    swa_utils.update_bn([framework.tensor(d) for d in data], ours)
    torch.optim.swa_utils.update_bn([torch.tensor(d) for d in data], ref)
    _check_same(ours, ref)
    assert ours[1].momentum == ref[1].momentum and ours.training == ref.training


@pytest.mark.parametrize("kwargs", [dict(swa_lr=0.05), dict(swa_lr=0.05, anneal_epochs=3,
                                                               anneal_strategy="linear"),
                                    dict(swa_lr=0.01, anneal_epochs=0)])
def test_swalr_matches_torch(kwargs):
    w, tw = framework.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    opt, topt = framework.optim.SGD([w], lr=0.5), torch.optim.SGD([tw], lr=0.5)
    s, ts = swa_utils.SWALR(opt, **kwargs), torch.optim.swa_utils.SWALR(topt, **kwargs)
    for _ in range(12):
        opt.step()
        topt.step()
        s.step()
        ts.step()
        assert s.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    with pytest.raises(ValueError):
        swa_utils.SWALR(opt, swa_lr=0.1, anneal_strategy="exp")
