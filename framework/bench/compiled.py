"""The ``compile`` suite: ``framework.compile`` against our own eager mode.

For the inference of three example models (the PINN's tanh MLP, the MNIST CNN
in LeNet form, the character transformer; built here at the examples'
architectures so that the suite needs no example files) each row times the
compiled forward (ours) against the eager forward (the reference column, named
``framework eager``), checks that they agree, and its note gives kernel
launches per call (counted with ``framework.compiler.launches``: a
device-independent figure) and what the passes and fusion did to the graph.
The training rows time one step (forward, MSE loss, backward, Adam) of the
model through ``framework.compile`` (compiled forward and backward graphs)
against the same step eagerly.
"""
from __future__ import annotations

from typing import Callable

from .core import Case, Context, Spec

EAGER = "framework eager"


def _mlp(ctx: Context):
    import framework.nn as nn
    model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                          nn.Linear(32, 1))
    return model, (ctx.ours(ctx.randn(256, 1)),)


def _lenet(ctx: Context):
    import framework.nn as nn
    c = 16
    model = nn.Sequential(
        nn.Conv2d(1, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(2 * c * 7 * 7, 128), nn.ReLU(),
        nn.Dropout(0.25), nn.Linear(128, 10))
    return model, (ctx.ours(ctx.randn(64, 1, 28, 28)),)


def _transformer(ctx: Context):
    import framework
    import framework.nn as nn

    class CharTransformer(nn.Module):
        """examples/char_transformer.py's model: embeddings, pre-norm causal layers, read-out."""

        def __init__(self, vocab: int, block: int, d: int, heads: int, layers: int) -> None:
            super().__init__()
            self.token = nn.Embedding(vocab, d)
            self.position = nn.Embedding(block, d)
            self.blocks = nn.ModuleList([
                nn.TransformerEncoderLayer(d, heads, dim_feedforward=4 * d, dropout=0.1,
                                           activation="relu", batch_first=True, norm_first=True)
                for _ in range(layers)])
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab)

        def forward(self, ids):
            length = ids.shape[1]
            x = self.token(ids) + self.position(framework.arange(length, device=ids.device))
            mask = nn.Transformer.generate_square_subsequent_mask(length, device=ids.device)
            for block in self.blocks:
                x = block(x, src_mask=mask, is_causal=True)
            return self.head(self.norm(x))

    model = CharTransformer(28, 16, 64, 4, 2)
    ids = ctx.rng.integers(0, 28, size=(32, 16))
    return model, (framework.tensor(ids, device=ctx.device),)


MODELS = {
    "mlp": ("tanh MLP 1-32-32-1, batch 256", _mlp),
    "lenet": ("CNN 1×28×28 c16, batch 64", _lenet),
    "transformer": ("2 layers d64 h4, 32×16 tokens", _transformer),
}


def _inference(build: Callable, mode: "str | None" = None) -> Callable:
    def make(ctx: Context) -> Case:
        import framework
        from framework.compiler.launches import count_launches
        framework.manual_seed(0)
        model, inputs = build(ctx)
        model = model.to(ctx.device).eval()
        compiled = framework.compile(model, mode=mode)
        with framework.no_grad():
            compiled(*inputs)  # the first call traces, optimizes and (on cuda) generates kernels
            compiled(*inputs)  # the first replay makes the constants the plan keeps
            if mode == "reduce-overhead":
                compiled(*inputs)  # captures the CUDA graph (checked against the plan)
            with count_launches() as eager:
                model(*inputs)
            with count_launches() as replay:
                compiled(*inputs)
        entry = next(iter(compiled._compiled.cache.values()))
        graph = getattr(entry, "graph", None)
        if graph is None:
            raise RuntimeError(f"framework.compile ran eagerly: {entry.reason}")
        fused = [n for n in graph.nodes if n.op == "fused_elementwise"]
        ops_fused = sum(len(n.args["group"].instrs) for n in fused)
        stats = getattr(entry, "optimize_stats", {})
        removed = ", ".join(f"{k} -{v}" for k, v in stats.items() if k != "fused_groups" and v)
        note = (f"launches/call: eager {eager.total}, compiled {replay.total} "
                f"({replay.total / max(eager.total, 1):.0%}); {len(fused)} fused kernels for "
                f"{ops_fused} elementwise ops" + (f"; passes: {removed}" if removed else ""))
        if mode == "reduce-overhead":
            note += "; " + _graph_note(entry)

        def ours():
            with framework.no_grad():
                return compiled(*inputs)

        def ref():
            with framework.no_grad():
                return model(*inputs)
        return Case(ours, ref, kernel=False, tolerance=1e-5, note=note, reference=EAGER)
    return make


def _training(build: Callable) -> Callable:
    """One training step (forward, MSE loss, backward, Adam), eager against the model through
    ``framework.compile`` (compiled forward and backward; the loss and Adam run eagerly)."""
    def make(ctx: Context) -> Case:
        import framework
        import framework.nn.functional as F
        from framework.compiler.launches import count_launches
        framework.manual_seed(0)
        model, inputs = build(ctx)
        model = model.to(ctx.device).train()
        twin, _ = build(ctx)
        twin = twin.to(ctx.device).train()
        twin.load_state_dict(model.state_dict())
        compiled = framework.compile(twin)

        def stepper(module, run):
            optimizer = framework.optim.Adam(module.parameters(), lr=1e-3)

            def step():
                framework.manual_seed(0)  # the same dropout masks in both steps
                optimizer.zero_grad()
                out = run(*inputs)
                loss = F.mse_loss(out, framework.zeros(out.shape, device=ctx.device))
                loss.backward()
                optimizer.step()
                return loss.detach()
            return step

        ours, ref = stepper(twin, compiled), stepper(model, model)
        for _ in range(2):  # the first compiled call traces forward and backward, the
            ours(), ref()   # first replay makes the constants the plan keeps: steady state
        with count_launches() as eager:
            ref()
        with count_launches() as replay:
            ours()
        entry = next(iter(compiled._compiled.cache.values()))
        stats = getattr(entry, "optimize_stats", None)
        if not stats:
            raise RuntimeError(f"framework.compile ran eagerly: {entry.reason}")
        fused = sum(part.get("fused_groups", 0) for part in stats.values())
        note = (f"launches/step: eager {eager.total}, compiled {replay.total} "
                f"({replay.total / max(eager.total, 1):.0%}); forward and backward graphs: "
                f"{len(entry.forward_graph.nodes)} + {len(entry.backward_graph.nodes)} nodes, "
                f"{fused} fused groups; loss and Adam eager")
        return Case(ours, ref, kernel=False, tolerance=1e-5, note=note, reference=EAGER)
    return make


def _graph_note(entry) -> str:
    """What ``mode="reduce-overhead"`` did with an inference entry's plan."""
    from framework.compiler.cudagraphs import GraphedPlan
    plan = getattr(entry, "_plan", None)
    if not isinstance(plan, GraphedPlan):
        return "no CUDA graph (see the framework.compile log)"
    if plan.disabled is not None:
        return f"CUDA graph disabled: {plan.disabled}"
    return f"one CUDA graph launch per call ({plan.captures} capture), launches = copies in/out"


def compile_specs(device: str, quick: bool) -> list:
    rows = [Spec("compile", f"{name} inference", size, "float32", _inference(build))
            for name, (size, build) in MODELS.items()]
    if device == "cuda":  # CUDA graphs: the same models' inference replayed as one graph
        rows += [Spec("compile", f"{name} inference, reduce-overhead", size, "float32",
                      _inference(build, "reduce-overhead"))
                 for name, (size, build) in MODELS.items()]
    rows += [Spec("compile", f"{name} training", size, "float32", _training(build))
             for name, (size, build) in MODELS.items()]
    return rows
