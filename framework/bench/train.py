"""The ``train`` suite: whole training steps of an MLP, a LeNet-style CNN, a small transformer,
and GRU and LSTM sequence classifiers."""
from __future__ import annotations

from typing import Callable

import numpy as np

from .core import Case, Context, Missing, Spec, functional

# Functional ops a model may run without: ours then falls back to a composite of framework ops.
FALLBACKS = {"linear": "x @ w.t() + b", "cross_entropy": "logsumexp log-softmax",
             "layer_norm": "mean/var composite"}


class _Ops:
    """The few ops a model needs, from framework (with composite fallbacks) or from torch."""

    def __init__(self, ctx: Context, use_torch: bool) -> None:
        self.ctx = ctx
        self.torch = use_torch
        if use_torch:
            self.F = ctx.torch.nn.functional
        else:
            import framework.nn.functional as F
            self.F = F

    def linear(self, x, w, b):
        if self.torch or hasattr(self.F, "linear"):
            return self.F.linear(x, w, b)
        return x @ w.t() + b

    def relu(self, x):
        return self.F.relu(x)

    def cross_entropy(self, logits, target, onehot):
        if self.torch or hasattr(self.F, "cross_entropy"):
            return self.F.cross_entropy(logits, target)
        logp = logits - self.ctx.fw.logsumexp(logits, dim=-1, keepdim=True)
        return -(logp * onehot).sum() / logits.shape[0]

    def layer_norm(self, x, w, b, eps: float = 1e-5):
        if self.torch or hasattr(self.F, "layer_norm"):
            return self.F.layer_norm(x, (x.shape[-1],), w, b, eps)
        mean = x.mean(dim=-1, keepdim=True)
        var = ((x - mean) * (x - mean)).mean(dim=-1, keepdim=True)
        return (x - mean) / (var + eps).sqrt() * w + b

    def fallback_notes(self, names) -> list:
        """``F.<name> missing: <composite>`` for each of ``names`` this build lacks."""
        return [f"F.{name} missing: {FALLBACKS[name]}" for name in names if not hasattr(self.F, name)]

    def need(self, *names: str) -> None:
        if not self.torch:
            for name in names:
                functional(name)


def _params(ctx: Context, shapes: list) -> list:
    """Seeded weights (fan-in scaled) for ``shapes``: the same values for ours and the reference."""
    arrays = []
    for shape in shapes:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        arrays.append(ctx.randn(*shape, scale=fan_in ** -0.5))
    return arrays


def _mlp_forward(ops: _Ops, p: list, x, y, onehot):
    h = ops.relu(ops.linear(x, p[0], p[1]))
    h = ops.relu(ops.linear(h, p[2], p[3]))
    return ops.cross_entropy(ops.linear(h, p[4], p[5]), y, onehot)


def _lenet_forward(ops: _Ops, p: list, x, y, onehot):
    F = ops.F
    h = F.max_pool2d(ops.relu(F.conv2d(x, p[0], p[1], padding=2)), 2)
    h = F.max_pool2d(ops.relu(F.conv2d(h, p[2], p[3])), 2)
    h = h.reshape(h.shape[0], -1)
    h = ops.relu(ops.linear(h, p[4], p[5]))
    h = ops.relu(ops.linear(h, p[6], p[7]))
    return ops.cross_entropy(ops.linear(h, p[8], p[9]), y, onehot)


TRANSFORMER = {"batch": 8, "length": 64, "dim": 128, "heads": 4, "ffn": 512, "layers": 2, "classes": 256}


def _transformer_forward(ops: _Ops, p: list, x, y, onehot):
    """Pre-LN encoder layers with causal attention, then a per-token classifier."""
    F, cfg = ops.F, TRANSFORMER
    b, length, d, heads = cfg["batch"], cfg["length"], cfg["dim"], cfg["heads"]
    per_layer = 13
    for layer in range(cfg["layers"]):
        (ln1w, ln1b, wq, wk, wv, wo, bo, ln2w, ln2b, w1, b1, w2, b2) = p[layer * per_layer:(layer + 1) * per_layer]
        h = ops.layer_norm(x, ln1w, ln1b)
        q, k, v = ((h @ w.t()).reshape(b, length, heads, d // heads).transpose(1, 2) for w in (wq, wk, wv))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + ops.linear(a.transpose(1, 2).reshape(b, length, d), wo, bo)
        h = ops.layer_norm(x, ln2w, ln2b)
        x = x + ops.linear(F.gelu(ops.linear(h, w1, b1)), w2, b2)
    lnw, lnb, head_w, head_b = p[-4:]
    logits = ops.linear(ops.layer_norm(x, lnw, lnb), head_w, head_b)
    return ops.cross_entropy(logits.reshape(b * length, -1), y, onehot)


def _transformer_shapes() -> list:
    cfg = TRANSFORMER
    d, f = cfg["dim"], cfg["ffn"]
    layer = [(d,), (d,), (d, d), (d, d), (d, d), (d, d), (d,), (d,), (d,), (f, d), (f,), (d, f), (d,)]
    return layer * cfg["layers"] + [(d,), (d,), (cfg["classes"], d), (cfg["classes"],)]


def _transformer_flops() -> float:
    cfg = TRANSFORMER
    tokens, d = cfg["batch"] * cfg["length"], cfg["dim"]
    per_layer = 2 * tokens * (4 * d * d + 2 * d * cfg["ffn"]) + 2 * tokens * cfg["length"] * d  # causal
    return 3.0 * (cfg["layers"] * per_layer + 2 * tokens * d * cfg["classes"])


def _lenet_flops(batch: int) -> float:
    conv = 2 * batch * (6 * 28 * 28 * 25 + 16 * 10 * 10 * 25 * 6)
    dense = 2 * batch * (400 * 120 + 120 * 84 + 84 * 10)
    return 3.0 * (conv + dense)


def _train_step(forward: Callable, shapes: list, x_shape: tuple, classes: int, flops: float,
                needs: tuple, fallbacks: tuple = ("linear", "cross_entropy")) -> Callable:
    """A training step (zero_grad, forward, loss, backward, Adam step) for ours and the reference.

    ``needs``: functional ops the model cannot run without (else the row is skipped);
    ``fallbacks``: those it replaces by a composite when missing (the row says so).
    """
    def build(ctx: Context) -> Case:
        ours_ops = _Ops(ctx, use_torch=False)
        ours_ops.need(*needs)
        params = _params(ctx, shapes)
        x = ctx.randn(*x_shape)
        target = ctx.rng.integers(0, classes, _target_count(x_shape, forward)).astype(np.int64)
        data = (x, target, np.eye(classes, dtype=np.float32)[target])
        import framework.optim
        ours = _stepper(forward, ours_ops, [ctx.ours(a, requires_grad=True) for a in params],
                        [ctx.ours(a) for a in data], framework.optim.Adam)
        ref = None
        if ctx.torch is not None:
            ref = _stepper(forward, _Ops(ctx, use_torch=True), [ctx.ref(a, requires_grad=True) for a in params],
                           [ctx.ref(a) for a in data], ctx.torch.optim.Adam)
        notes = [] if ctx.torch is not None else ["no NumPy reference for a training step (torch not installed)"]
        notes += ours_ops.fallback_notes(fallbacks)
        return Case(ours, ref, flops, "GFLOP/s", tolerance=1e-3, kernel=False, note="; ".join(notes))
    return build


def _stepper(forward: Callable, ops: "_Ops", params: list, data: list, adam) -> Callable:
    """One optimizer step of ``forward``'s loss on ``params``; returns the loss (detached)."""
    optimizer = adam(params, lr=1e-3)

    def step():
        optimizer.zero_grad()
        loss = forward(ops, params, *data)
        loss.backward()
        optimizer.step()
        return loss.detach()
    return step


def _target_count(x_shape: tuple, forward: Callable) -> int:
    if forward is _transformer_forward:
        return TRANSFORMER["batch"] * TRANSFORMER["length"]
    return x_shape[0]


RECURRENT = {"batch": 32, "length": 32, "input": 64, "hidden": 128, "classes": 10}


def _recurrent_step(kind: str) -> Callable:
    """A ``kind`` (GRU or LSTM) sequence classifier's training step: the module, a linear
    head on the last step's output, cross entropy, Adam; the same weights on both sides."""
    cfg = RECURRENT

    def build(ctx: Context) -> Case:
        import framework.nn as fnn
        import framework.optim
        if not hasattr(fnn, kind):
            raise Missing(f"framework.nn.{kind} is not implemented yet")
        gates = {"GRU": 3, "LSTM": 4}[kind] * cfg["hidden"]
        shapes = [(gates, cfg["input"]), (gates, cfg["hidden"]), (gates,), (gates,),
                  (cfg["classes"], cfg["hidden"]), (cfg["classes"],)]
        params = _params(ctx, shapes)
        x = ctx.randn(cfg["batch"], cfg["length"], cfg["input"])
        target = ctx.rng.integers(0, cfg["classes"], cfg["batch"]).astype(np.int64)

        def stepper(nn, optim, cast, F):
            rnn = getattr(nn, kind)(cfg["input"], cfg["hidden"], batch_first=True)
            head = nn.Linear(cfg["hidden"], cfg["classes"])
            modules = [rnn, head]
            tensors = [cast(a, requires_grad=True) for a in params]
            for module, names in ((rnn, ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                         "bias_hh_l0")), (head, ("weight", "bias"))):
                for name in names:
                    setattr(module, name, nn.Parameter(tensors.pop(0).detach()))
            weights = [p for m in modules for p in m.parameters()]
            optimizer = optim.Adam(weights, lr=1e-3)
            inputs, labels = cast(x), cast(target)

            def step():
                optimizer.zero_grad()
                out, _ = rnn(inputs)
                loss = F.cross_entropy(head(out[:, -1]), labels)
                loss.backward()
                optimizer.step()
                return loss.detach()
            return step
        ours = stepper(fnn, framework.optim, ctx.ours, fnn.functional)
        ref = None
        if ctx.torch is not None:
            ref = stepper(ctx.torch.nn, ctx.torch.optim, ctx.ref, ctx.torch.nn.functional)
        note = "" if ctx.torch is not None else "no NumPy reference for a training step (torch not installed)"
        return Case(ours, ref, _recurrent_flops(gates), "GFLOP/s", tolerance=1e-3, kernel=False, note=note)
    return build


def _recurrent_flops(gates: int) -> float:
    cfg = RECURRENT
    tokens = cfg["batch"] * cfg["length"]
    return 3.0 * 2 * tokens * gates * (cfg["input"] + cfg["hidden"])


def train_specs(device: str, quick: bool) -> list:
    mlp_shapes = [(512, 784), (512,), (256, 512), (256,), (10, 256), (10,)]
    mlp_flops = 6.0 * 128 * (784 * 512 + 512 * 256 + 256 * 10)
    lenet_shapes = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,),
                    (10, 84), (10,)]
    cfg = TRANSFORMER
    return [
        Spec("train", "mlp step", "784-512-256-10, batch 128", "float32",
             _train_step(_mlp_forward, mlp_shapes, (128, 784), 10, mlp_flops, ("relu",))),
        Spec("train", "lenet step", "1×28×28, batch 64", "float32",
             _train_step(_lenet_forward, lenet_shapes, (64, 1, 28, 28), 10, _lenet_flops(64),
                         ("relu", "conv2d", "max_pool2d"))),
        Spec("train", "transformer step",
             f"{cfg['layers']} layers d{cfg['dim']} h{cfg['heads']}, {cfg['batch']}×{cfg['length']} tokens",
             "float32",
             _train_step(_transformer_forward, _transformer_shapes(),
                         (cfg["batch"], cfg["length"], cfg["dim"]), cfg["classes"], _transformer_flops(),
                         ("scaled_dot_product_attention", "gelu"),
                         ("linear", "cross_entropy", "layer_norm"))),
        Spec("train", "gru step", _recurrent_size(), "float32", _recurrent_step("GRU")),
        Spec("train", "lstm step", _recurrent_size(), "float32", _recurrent_step("LSTM")),
    ]


def _recurrent_size() -> str:
    cfg = RECURRENT
    return f"{cfg['input']}→{cfg['hidden']}, {cfg['batch']}×{cfg['length']} steps"
