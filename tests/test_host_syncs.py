"""A training step on cuda reads nothing back to the host.

Every device->host read goes through ``memory.to_numpy``, which counts it
(``runtime.host_sync_count``); explicit waits count too. On a GPU each read
stalls the pipeline until the queued kernels finish, so a step of forward,
loss, backward, optimizer step and ``zero_grad`` must do none. Index and
target checks run inside the kernels (``device_errors``) and raise at the
next sync instead. Documented exception (as in PyTorch): ``GradScaler.step``
reads its found-inf flag once per step.
"""
import warnings

import numpy as np
import pytest

import framework
import framework.nn as nn
import framework.nn.functional as F
from framework._backends.triton import runtime


def _mlp():
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 4))
    x = framework.randn(3, 6)
    target = framework.tensor([0, 3, 1])
    return model, (x,), target


def _cnn():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 3))
    x = framework.randn(2, 1, 4, 4)
    target = framework.tensor([2, 0])
    return model, (x,), target


class _TinyLM(nn.Module):
    """Embedding → one transformer encoder layer → logits over the vocabulary."""

    def __init__(self, vocab: int = 7, width: int = 8) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.block = nn.TransformerEncoderLayer(width, nhead=2, dim_feedforward=16, dropout=0.0,
                                                batch_first=True)
        self.head = nn.Linear(width, vocab)

    def forward(self, tokens):
        return self.head(self.block(self.embed(tokens))).flatten(0, 1)


def _transformer():
    tokens = framework.tensor([[1, 4, 2, 6], [0, 3, 3, 5]])
    target = framework.tensor([4, 2, 6, 0, 3, 3, 5, 1])
    return _TinyLM(), (tokens,), target


MODELS = {"mlp": _mlp, "cnn": _cnn, "transformer": _transformer}


def _to_cuda(model, inputs, target):
    return model.to("cuda"), tuple(x.to("cuda") for x in inputs), target.to("cuda")


def _syncs_of(fn) -> int:
    before = runtime.host_sync_count()
    fn()
    return runtime.host_sync_count() - before


@pytest.mark.parametrize("name, optimizer", [("mlp", "sgd"), ("mlp", "adam"), ("cnn", "adam"),
                                             ("transformer", "adam")])
def test_training_step_does_no_host_sync(name, optimizer):
    framework.manual_seed(0)
    model, inputs, target = _to_cuda(*MODELS[name]())
    opt = (framework.optim.Adam(model.parameters(), lr=1e-2) if optimizer == "adam" else
           framework.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9))

    def step():
        loss = F.cross_entropy(model(*inputs), target)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad()
        return loss

    assert _syncs_of(step) == 0  # the first step also creates the optimizer state
    framework.cuda.set_sync_debug_mode("error")  # PyTorch's way to check the same
    try:
        loss = step()
    finally:
        framework.cuda.set_sync_debug_mode(0)
    assert np.isfinite(loss.item())  # the one read, after the steps


def test_grad_scaler_step_reads_found_inf_once():
    framework.manual_seed(0)
    model, inputs, target = _to_cuda(*_mlp())
    opt = framework.optim.SGD(model.parameters(), lr=1e-2)
    scaler = framework.amp.GradScaler("cuda")

    def step():
        scaler.scale(F.cross_entropy(model(*inputs), target)).backward()
        scaler.unscale_(opt)
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()

    assert _syncs_of(step) == 1
    assert scaler.get_scale() == 2.0 ** 16  # finite gradients: no back-off


def test_grad_scaler_still_skips_a_step_with_inf_gradients():
    model = nn.Linear(2, 1).to("cuda")
    opt = framework.optim.SGD(model.parameters(), lr=1.0)
    scaler = framework.amp.GradScaler("cuda", init_scale=4.0)
    before = model.weight.detach().cpu().numpy().copy()
    loss = model(framework.tensor([[float("inf"), 1.0]], device="cuda")).sum()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    np.testing.assert_array_equal(model.weight.detach().cpu().numpy(), before)
    assert scaler.get_scale() == 2.0


def test_sync_debug_mode_reports_implicit_syncs_only():
    x = framework.ones(3, device="cuda")
    framework.cuda.set_sync_debug_mode("warn")
    try:
        with pytest.warns(UserWarning, match="called a synchronizing CUDA operation"):
            x.sum().item()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            framework.cuda.synchronize()  # asked for: not reported
        assert framework.cuda.get_sync_debug_mode() == 1
        framework.cuda.set_sync_debug_mode("error")
        with pytest.raises(RuntimeError, match="called a synchronizing CUDA operation"):
            x.tolist()
    finally:
        framework.cuda.set_sync_debug_mode("default")
    with pytest.raises(RuntimeError, match="invalid value of debug_mode"):
        framework.cuda.set_sync_debug_mode("loud")


def test_reads_are_counted():
    x = framework.arange(4, device="cuda")
    assert _syncs_of(lambda: x.tolist()) == 1
    assert _syncs_of(lambda: x[2].item()) == 1
    assert _syncs_of(lambda: x.cpu()) == 1
    assert _syncs_of(lambda: x + 1) == 0
    assert _syncs_of(framework.cuda.synchronize) == 1
    assert _syncs_of(lambda: x.fill_(x[3])) == 0  # a device value stays on the device
    assert x.tolist() == [3, 3, 3, 3]
