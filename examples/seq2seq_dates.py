"""Sequence-to-sequence translation: a GRU encoder-decoder with attention rewrites dates.

The task is synthetic: a date written in one of several human formats ("march 3, 1997",
"3 mar 1997", "03/03/1997", ...) is translated character by character into ISO format
("1997-03-03"). Training uses teacher forcing; evaluation decodes greedily and counts
exact matches on held-out dates.

    python examples/seq2seq_dates.py              # full settings (see docs/examples/seq2seq_dates.md)
    python examples/seq2seq_dates.py --epochs 2   # a quick run

Apart from the device choice (framework.cuda.is_interpreter), a PyTorch version of this
script differs only in its imports.
"""
from __future__ import annotations

import argparse
import datetime
import random
import time

import framework
import framework.nn as nn
import framework.nn.functional as F
from framework.utils.data import DataLoader, TensorDataset

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
FORMATS = [
    lambda d: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",      # march 3, 1997
    lambda d: f"{d.day} {MONTHS[d.month - 1]} {d.year}",       # 3 march 1997
    lambda d: f"{MONTHS[d.month - 1][:3]} {d.day} {d.year}",   # mar 3 1997
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",           # 03.03.1997
    lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",           # 03/03/1997
    lambda d: f"{d.year} {MONTHS[d.month - 1]} {d.day}",       # 1997 march 3
]
PAD, BOS = 0, 1
CHARS = ["<pad>", "<bos>"] + sorted(set("0123456789-,./ " + "".join(MONTHS)))
STOI = {char: index for index, char in enumerate(CHARS)}
TARGET_LENGTH = len("1997-03-03")


def default_device() -> str:
    """``cuda`` on a GPU, else ``cpu`` (the Triton interpreter would be far too slow)."""
    return "cuda" if framework.cuda.is_available() and not framework.cuda.is_interpreter() else "cpu"


def make_pairs(count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` distinct (human date, ISO date) pairs between 1900 and 2099."""
    rng = random.Random(seed)
    first, days = datetime.date(1900, 1, 1), (datetime.date(2099, 12, 31) - datetime.date(1900, 1, 1)).days
    pairs = set()
    while len(pairs) < count:
        date = first + datetime.timedelta(days=rng.randrange(days + 1))
        pairs.add((rng.choice(FORMATS)(date), date.isoformat()))
    return sorted(pairs)


def encode(pairs: list[tuple[str, str]]) -> tuple[framework.Tensor, framework.Tensor]:
    """Sources as (N, S) ids padded with PAD on the right, targets as (N, 10) ids."""
    length = max(len(source) for source, _ in pairs)
    sources = [[STOI[c] for c in source] + [PAD] * (length - len(source)) for source, _ in pairs]
    targets = [[STOI[c] for c in target] for _, target in pairs]
    return framework.tensor(sources), framework.tensor(targets)


def positional_baseline(target: framework.Tensor) -> float:
    """Characters right when guessing each position's most frequent character (no input read)."""
    columns = target.t().tolist()
    return sum(max(column.count(c) for c in set(column)) for column in columns) / target.numel()


def decode(ids: list[int]) -> str:
    """The characters of target ids."""
    return "".join(CHARS[index] for index in ids)


class DateTranslator(nn.Module):
    """Bidirectional GRU encoder; GRU decoder with dot-product attention over the encoder states."""

    def __init__(self, vocab: int, embed: int, hidden: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed, padding_idx=PAD)
        self.encoder = nn.GRU(embed, hidden, batch_first=True, bidirectional=True)
        self.keys = nn.Linear(2 * hidden, hidden)
        self.bridge = nn.Linear(2 * hidden, hidden)
        self.decoder = nn.GRU(embed, hidden, batch_first=True)
        self.combine = nn.Linear(2 * hidden, hidden)
        self.out = nn.Linear(hidden, vocab)

    def encode(self, source: framework.Tensor) -> tuple:
        """(attention keys (N, S, H), padding mask (N, 1, S), initial decoder state (1, N, H))."""
        states, h_n = self.encoder(self.embedding(source))
        h0 = framework.tanh(self.bridge(framework.cat([h_n[0], h_n[1]], dim=1))).unsqueeze(0)
        return self.keys(states), (source == PAD).unsqueeze(1), h0

    def decode_step(self, memory: tuple, inputs: framework.Tensor, hidden: framework.Tensor) -> tuple:
        """Logits (N, T, vocab) for decoder inputs (N, T), and the new decoder state."""
        keys, pad_mask, _ = memory
        states, hidden = self.decoder(self.embedding(inputs), hidden)
        scores = (states @ keys.transpose(1, 2)).masked_fill(pad_mask, float("-inf"))
        context = F.softmax(scores, dim=-1) @ keys
        mixed = framework.tanh(self.combine(framework.cat([states, context], dim=-1)))
        return self.out(mixed), hidden

    def forward(self, source: framework.Tensor, target: framework.Tensor) -> framework.Tensor:
        """Teacher forcing: the decoder reads BOS + target[:-1] and predicts target."""
        memory = self.encode(source)
        bos = framework.full((target.shape[0], 1), BOS, dtype=target.dtype, device=target.device)
        logits, _ = self.decode_step(memory, framework.cat([bos, target[:, :-1]], dim=1), memory[2])
        return logits

    def translate(self, source: framework.Tensor) -> framework.Tensor:
        """Greedy decoding of TARGET_LENGTH characters: (N, 10) ids."""
        memory = self.encode(source)
        token = framework.full((source.shape[0], 1), BOS, dtype=source.dtype, device=source.device)
        hidden, outputs = memory[2], []
        for _ in range(TARGET_LENGTH):
            logits, hidden = self.decode_step(memory, token, hidden)
            token = logits.argmax(dim=-1)
            outputs.append(token)
        return framework.cat(outputs, dim=1)


def evaluate(model: DateTranslator, source: framework.Tensor, target: framework.Tensor, device: str) -> tuple:
    """(exact match: fraction of whole translations right, fraction of characters right)."""
    model.eval()
    with framework.no_grad():
        correct = model.translate(source.to(device)).cpu() == target
    model.train()
    return correct.all(dim=1).float().mean().item(), correct.float().mean().item()


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=6000)
    parser.add_argument("--test-size", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--embed", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda on a GPU)")
    parser.add_argument("--compile", action="store_true",
                        help="framework.compile the model (compiled forward and backward)")
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    """Train, report exact-match accuracy on held-out dates; return the numbers."""
    args = parse_args(argv)
    device = args.device or default_device()
    framework.manual_seed(args.seed)
    pairs = make_pairs(args.train_size + args.test_size, args.seed)
    random.Random(args.seed).shuffle(pairs)
    train_x, train_y = encode(pairs[args.test_size:])
    test_pairs = pairs[:args.test_size]
    test_x, test_y = encode(test_pairs)

    baseline = positional_baseline(test_y)
    model = DateTranslator(len(CHARS), args.embed, args.hidden).to(device)
    net = framework.compile(model) if args.compile else model
    optimizer = framework.optim.Adam(model.parameters(), lr=args.lr)
    loader = DataLoader(TensorDataset(train_x, train_y), batch_size=args.batch_size, shuffle=True)
    scheduler = framework.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs,
                                                        steps_per_epoch=len(loader))
    start = time.perf_counter()
    for epoch in range(args.epochs):
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = net(x, y)
            loss = F.cross_entropy(logits.reshape(-1, len(CHARS)), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
        accuracy, char_accuracy = evaluate(model, test_x, test_y, device)
        print(f"epoch {epoch + 1:3d}  train loss {loss.item():.3f}  test exact match {accuracy:.1%}"
              f"  characters right {char_accuracy:.1%} (positional baseline {baseline:.1%})"
              f"  {time.perf_counter() - start:.0f}s")
    model.eval()
    with framework.no_grad():
        shown = model.translate(test_x[:6].to(device)).cpu().tolist()
    for (source, target), ids in zip(test_pairs, shown):
        print(f"  {source:20s} -> {decode(ids)}  ({'ok' if decode(ids) == target else 'expected ' + target})")
    return {"exact_match": accuracy, "char_accuracy": char_accuracy,
            "positional_baseline": baseline, "seconds": time.perf_counter() - start}


if __name__ == "__main__":
    main()
