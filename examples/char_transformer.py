"""Character-level language model: a small causal transformer trained on US first names.

Each name is read as ".name." (the boundary token "." starts and ends it); the model
predicts every next character. Validation loss is compared with a unigram model
(character frequencies of the training set), and new names are sampled from the model.

    python examples/char_transformer.py              # full settings (see docs/examples/char_transformer.md)
    python examples/char_transformer.py --epochs 2   # a quick run

Apart from the device choice (framework.cuda.is_interpreter) and the corpus helper, a PyTorch
version of this script differs only in its imports.
"""
from __future__ import annotations

import argparse
import math
import time

import framework
import framework.nn as nn
import framework.nn.functional as F
from framework.datasets.names import NameVocab, load_first_names, split_names
from framework.utils.data import DataLoader, TensorDataset

IGNORE = -100  # target id of padding positions (F.cross_entropy's default ignore_index)


def default_device() -> str:
    """``cuda`` on a GPU, else ``cpu`` (the Triton interpreter would be far too slow)."""
    return "cuda" if framework.cuda.is_available() and not framework.cuda.is_interpreter() else "cpu"


def encode_names(names: list[str], vocab: NameVocab, block: int) -> tuple[framework.Tensor, framework.Tensor]:
    """Inputs ".name" and targets "name." as (N, block) id tensors; targets padded with IGNORE."""
    inputs, targets = [], []
    for name in names:
        ids = vocab.encode(name)
        x = [0] + ids
        y = ids + [0]
        inputs.append(x + [0] * (block - len(x)))
        targets.append(y + [IGNORE] * (block - len(y)))
    return framework.tensor(inputs), framework.tensor(targets)


class CharTransformer(nn.Module):
    """Token + position embeddings, pre-norm causal encoder layers, a linear read-out."""

    def __init__(self, vocab_size: int, block: int, d_model: int, nhead: int, layers: int, dropout: float):
        super().__init__()
        self.token = nn.Embedding(vocab_size, d_model)
        self.position = nn.Embedding(block, d_model)
        self.blocks = nn.ModuleList([
            nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=4 * d_model, dropout=dropout,
                                       activation="relu", batch_first=True, norm_first=True)
            for _ in range(layers)])
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, ids: framework.Tensor) -> framework.Tensor:
        length = ids.shape[1]
        positions = framework.arange(length, device=ids.device)
        x = self.token(ids) + self.position(positions)
        mask = nn.Transformer.generate_square_subsequent_mask(length, device=ids.device)
        for block in self.blocks:
            x = block(x, src_mask=mask, is_causal=True)
        return self.head(self.norm(x))


def unigram_loss(train_y: framework.Tensor, valid_y: framework.Tensor, vocab_size: int) -> float:
    """Cross-entropy (nats/char) on validation of the training set's character frequencies."""
    counts = [0] * vocab_size
    for index in train_y[train_y != IGNORE].tolist():
        counts[index] += 1
    total = sum(counts)
    log_p = [math.log(max(c, 1) / total) for c in counts]
    valid = valid_y[valid_y != IGNORE].tolist()
    return -sum(log_p[i] for i in valid) / len(valid)


def evaluate(model: nn.Module, x: framework.Tensor, y: framework.Tensor, device: str) -> float:
    """Mean validation cross-entropy per character."""
    model.eval()
    with framework.no_grad():
        logits = model(x.to(device))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.to(device).reshape(-1))
    model.train()
    return loss.item()


def sample(model: nn.Module, vocab: NameVocab, block: int, count: int, device: str,
           temperature: float = 1.0) -> list[str]:
    """Draw ``count`` names, one character at a time, until the boundary token."""
    model.eval()
    ids = framework.zeros(count, 1, dtype=framework.int64, device=device)
    with framework.no_grad():
        for _ in range(block - 1):
            logits = model(ids)[:, -1, :] / temperature
            next_id = framework.multinomial(F.softmax(logits, dim=-1), 1)
            ids = framework.cat([ids, next_id], dim=1)
    model.train()
    return [vocab.decode(row[1:]) for row in ids.tolist()]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda on a GPU)")
    parser.add_argument("--compile", action="store_true",
                        help="framework.compile the model (compiled forward and backward)")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Train, report validation loss vs the unigram baseline, sample names; return the numbers."""
    args = parse_args(argv)
    device = args.device or default_device()
    framework.manual_seed(args.seed)
    names, _ = load_first_names()
    vocab = NameVocab(names)
    block = max(len(name) for name in names) + 1
    train_names, valid_names = split_names(names, valid_fraction=0.1, seed=args.seed)
    train_x, train_y = encode_names(train_names, vocab, block)
    valid_x, valid_y = encode_names(valid_names, vocab, block)
    baseline = unigram_loss(train_y, valid_y, len(vocab))

    model = CharTransformer(len(vocab), block, args.d_model, args.heads, args.layers, args.dropout).to(device)
    net = framework.compile(model) if args.compile else model
    optimizer = framework.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=args.batch_size, shuffle=True)
    scheduler = framework.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * len(loader))
    start = time.perf_counter()
    for epoch in range(args.epochs):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = net(x)
            loss = F.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        valid_loss = evaluate(model, valid_x, valid_y, device)
        print(f"epoch {epoch + 1:3d}  train loss {loss.item():.3f}  valid loss {valid_loss:.3f}"
              f"  (unigram {baseline:.3f})  {time.perf_counter() - start:.0f}s")
    samples = sample(model, vocab, block, args.samples, device)
    print("samples:", ", ".join(samples))
    known = set(names)
    print(f"{sum(s in known for s in samples)} of {len(samples)} samples are names of the corpus")
    return {"valid_loss": valid_loss, "unigram_loss": baseline, "samples": samples,
            "seconds": time.perf_counter() - start}


if __name__ == "__main__":
    main()
