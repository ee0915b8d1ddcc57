"""Text classification: a GRU reads a first name character by character and guesses its gender.

The corpus is the 1990 US Census first-name lists (framework.datasets.names): 5163 names,
78% of them female, so always answering "female" (the majority baseline) scores about 78%.

    python examples/name_classifier.py              # full settings (see docs/examples/name_classifier.md)
    python examples/name_classifier.py --epochs 2   # a quick run

Apart from the device choice (framework.cuda.is_interpreter) and the corpus helper, a PyTorch
version of this script differs only in its imports.
"""
from __future__ import annotations

import argparse
import time

import framework
import framework.nn as nn
import framework.nn.functional as F
from framework.datasets.names import GENDERS, NameVocab, load_first_names, split_names
from framework.utils.data import DataLoader, TensorDataset


def default_device() -> str:
    """``cuda`` on a GPU, else ``cpu`` (the Triton interpreter would be far too slow)."""
    return "cuda" if framework.cuda.is_available() and not framework.cuda.is_interpreter() else "cpu"


def encode(pairs: list[tuple[str, str]], vocab: NameVocab, length: int) -> tuple[framework.Tensor, framework.Tensor]:
    """Names as (N, length) ids, padded on the left with 0 so every name ends at the last step."""
    ids = [[0] * (length - len(name)) + vocab.encode(name) for name, _ in pairs]
    labels = [GENDERS.index(gender) for _, gender in pairs]
    return framework.tensor(ids), framework.tensor(labels)


class NameClassifier(nn.Module):
    """Embedding -> GRU -> the last hidden state -> a linear layer over the two classes."""

    def __init__(self, vocab_size: int, embed: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed, padding_idx=0)
        self.gru = nn.GRU(embed, hidden, num_layers=layers, batch_first=True,
                          dropout=dropout if layers > 1 else 0.0)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, len(GENDERS))

    def forward(self, ids: framework.Tensor) -> framework.Tensor:
        _, h_n = self.gru(self.embedding(ids))
        return self.out(self.dropout(h_n[-1]))


def accuracy(model: nn.Module, x: framework.Tensor, y: framework.Tensor, device: str) -> tuple[float, float]:
    """(accuracy, balanced accuracy = mean of the per-class recalls)."""
    model.eval()
    with framework.no_grad():
        predicted = model(x.to(device)).argmax(dim=1).cpu()
    model.train()
    correct = predicted == y
    recalls = [correct[y == label].float().mean().item() for label in range(len(GENDERS))]
    return correct.float().mean().item(), sum(recalls) / len(recalls)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--embed", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--dropout", type=float, default=0.2)
    parser.add_argument("--lr", type=float, default=5e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda on a GPU)")
    parser.add_argument("--compile", action="store_true",
                        help="framework.compile the model (compiled forward and backward)")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Train, report validation accuracy against the majority baseline; return the numbers."""
    args = parse_args(argv)
    device = args.device or default_device()
    framework.manual_seed(args.seed)
    names, genders = load_first_names()
    vocab = NameVocab(names)
    length = max(len(name) for name in names)
    train_pairs, valid_pairs = split_names(list(zip(names, genders)), valid_fraction=0.15, seed=args.seed)
    train_x, train_y = encode(train_pairs, vocab, length)
    valid_x, valid_y = encode(valid_pairs, vocab, length)
    majority = max((valid_y == label).float().mean().item() for label in range(len(GENDERS)))

    model = NameClassifier(len(vocab), args.embed, args.hidden, args.layers, args.dropout).to(device)
    net = framework.compile(model) if args.compile else model
    optimizer = framework.optim.Adam(model.parameters(), lr=args.lr)
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=args.batch_size, shuffle=True)
    scheduler = framework.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs,
                                                        steps_per_epoch=len(loader))
    start = time.perf_counter()
    for epoch in range(args.epochs):
        total = 0.0
        for x, y in loader:
            loss = F.cross_entropy(net(x.to(device)), y.to(device))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(y)
        valid_acc, valid_balanced = accuracy(model, valid_x, valid_y, device)
        print(f"epoch {epoch + 1:3d}  train loss {total / len(train_y):.3f}  valid accuracy {valid_acc:.1%}"
              f"  (balanced {valid_balanced:.1%}, majority baseline {majority:.1%})"
              f"  {time.perf_counter() - start:.0f}s")
    model.eval()
    examples = ["emma", "oliver", "sophia", "liam", "ava", "noah", "kim", "sasha"]
    with framework.no_grad():
        x, _ = encode([(name, "female") for name in examples], vocab, length)
        guesses = model(x.to(device)).softmax(dim=1).cpu()
    for name, p in zip(examples, guesses.tolist()):
        print(f"  {name:8s} female {p[0]:.2f}  male {p[1]:.2f}")
    return {"accuracy": valid_acc, "balanced_accuracy": valid_balanced, "majority": majority,
            "seconds": time.perf_counter() - start}


if __name__ == "__main__":
    main()
