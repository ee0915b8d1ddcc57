"""Learning-rate schedulers against torch.optim.lr_scheduler: the same lr sequence, step by step."""
import math

import pytest
import torch

import framework
import framework.optim as optim
from framework.optim import lr_scheduler as sched

EPOCHS = 25


def _optimizers(name="SGD", **kwargs):
    ours = getattr(optim, name)([framework.ones(2, requires_grad=True)], lr=0.1, **kwargs)
    theirs = getattr(torch.optim, name)([torch.ones(2, requires_grad=True)], lr=0.1, **kwargs)
    return ours, theirs


def _lr_sequence(module, optimizer, make, metrics=None):
    scheduler = make(module, optimizer)
    lrs = [g["lr"] for g in optimizer.param_groups]
    for epoch in range(EPOCHS):
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
        lrs.extend(scheduler.get_last_lr())
    return lrs, scheduler


SCHEDULES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2,
                                                                              eta_min=0.001),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lr_lambda=lambda e: 1.0 / (1 + e)),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lr_lambda=lambda e: 0.95),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=6),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=10, power=2.0),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=EPOCHS),
    "OneCycleLR-3phase-linear": lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=EPOCHS,
                                                          three_phase=True,
                                                          anneal_strategy="linear"),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=4), m.ExponentialLR(o, gamma=0.8),
            m.StepLR(o, step_size=2)], milestones=[5, 12]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.5, total_iters=3), m.ExponentialLR(o, gamma=0.9)]),
    "CyclicLR": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "CyclicLR-triangular2-down": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                         step_size_up=2, step_size_down=5,
                                                         mode="triangular2"),
    "CyclicLR-exp_range": lambda m, o: m.CyclicLR(o, base_lr=[0.01], max_lr=0.2, step_size_up=3,
                                                  mode="exp_range", gamma=0.9,
                                                  base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-scale_fn": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                                 scale_fn=lambda x: 0.5 ** x,
                                                 scale_mode="iterations", cycle_momentum=False),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_matches_torch(name):
    ours, theirs = _optimizers(momentum=0.9)
    got, _ = _lr_sequence(sched, ours, SCHEDULES[name])
    want, _ = _lr_sequence(torch.optim.lr_scheduler, theirs, SCHEDULES[name])
    assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
    assert ours.param_groups[0]["momentum"] == pytest.approx(theirs.param_groups[0]["momentum"])


def test_one_cycle_cycles_adam_beta1():
    ours, theirs = _optimizers("Adam")
    make = SCHEDULES["OneCycleLR"]
    _lr_sequence(sched, ours, make)
    _lr_sequence(torch.optim.lr_scheduler, theirs, make)
    assert ours.param_groups[0]["betas"] == pytest.approx(theirs.param_groups[0]["betas"])


def test_cyclic_lr_cycles_adam_beta1_and_resumes():
    make = lambda m, o: m.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=3)
    ours, theirs = _optimizers("Adam")
    got, first = _lr_sequence(sched, ours, make)
    want, _ = _lr_sequence(torch.optim.lr_scheduler, theirs, make)
    assert got == pytest.approx(want, rel=1e-12)
    assert ours.param_groups[0]["betas"] == pytest.approx(theirs.param_groups[0]["betas"])
    opt2, _ = _optimizers("Adam")
    second = sched.CyclicLR(opt2, base_lr=0.001, max_lr=0.01, step_size_up=3)
    second.load_state_dict(first.state_dict())
    first.step()
    second.step()
    assert second.get_last_lr() == pytest.approx(first.get_last_lr())
    with pytest.raises(ValueError, match="momentum"):
        sched.CyclicLR(optim.Adagrad([framework.ones(1, requires_grad=True)]), 0.1, 1.0)
    with pytest.raises(ValueError, match="mode"):
        sched.CyclicLR(opt2, 0.1, 1.0, mode="square")


@pytest.mark.parametrize("mode,threshold_mode", [("min", "rel"), ("max", "abs")])
def test_reduce_lr_on_plateau_matches_torch(mode, threshold_mode):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.95, 0.96, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8] * 3
    make = lambda m, o: m.ReduceLROnPlateau(o, mode=mode, factor=0.5, patience=2, cooldown=1,
                                            threshold_mode=threshold_mode, min_lr=0.01)
    ours, theirs = _optimizers()
    got, _ = _lr_sequence(sched, ours, make, metrics)
    want, _ = _lr_sequence(torch.optim.lr_scheduler, theirs, make, metrics)
    assert got == pytest.approx(want)


def test_step_with_epoch_uses_the_closed_form():
    ours, theirs = _optimizers()
    a = sched.StepLR(ours, step_size=3, gamma=0.5)
    b = torch.optim.lr_scheduler.StepLR(theirs, step_size=3, gamma=0.5)
    a.step(7)
    with pytest.warns(UserWarning):
        b.step(7)
    assert a.get_last_lr() == pytest.approx(b.get_last_lr())


def test_scheduler_state_dict_resumes():
    opt, _ = _optimizers()
    first = sched.CosineAnnealingLR(opt, T_max=10)
    for _ in range(4):
        first.step()
    state = first.state_dict()
    assert "optimizer" not in state
    opt2, _ = _optimizers()
    second = sched.CosineAnnealingLR(opt2, T_max=10)
    second.load_state_dict(state)
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    first.step()
    second.step()
    assert second.get_last_lr() == pytest.approx(first.get_last_lr())


def test_resuming_without_initial_lr_raises_key_error():
    opt, _ = _optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(opt, step_size=2, last_epoch=3)


@pytest.mark.parametrize("make,error", [
    (lambda o: sched.ReduceLROnPlateau(o, factor=1.5), ValueError),
    (lambda o: sched.LinearLR(o, start_factor=0.0), ValueError),
    (lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=0), ValueError),
    (lambda o: sched.OneCycleLR(o, max_lr=1.0), ValueError),
    (lambda o: sched.SequentialLR(o, [sched.StepLR(o, 2)], milestones=[3]), ValueError),
    (lambda o: sched.StepLR(object(), 2), TypeError),
])
def test_bad_arguments_raise(make, error):
    opt, _ = _optimizers()
    with pytest.raises(error):
        make(opt)


def test_one_cycle_refuses_steps_past_the_total():
    opt, _ = _optimizers()
    scheduler = sched.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    scheduler.step()
    scheduler.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        scheduler.step()
    assert math.isfinite(opt.param_groups[0]["lr"])
