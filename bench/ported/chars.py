"""A typical PyTorch character-model script (plain torch; bench/ported_compare.py also runs it
with only its imports swapped to framework): batches cut by ``torch.stack([data[i:i + T] for
i in ix])``, a sinusoidal-position transformer LM (nn.TransformerEncoder, causal mask,
dropout 0.1) and LSTM/GRU LMs, cross-entropy, AdamW, gradient clipping. Prints each model's
training time (100 steps)."""
import math, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
text = ("the quick brown fox jumps over the lazy dog. " * 200 +
        "pack my box with five dozen liquor jugs! " * 200)
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
V, T, B = len(chars), 32, 32

def get_batch():
    ix = torch.randint(len(data) - T - 1, (B,))
    x = torch.stack([data[i:i + T] for i in ix])
    y = torch.stack([data[i + 1:i + T + 1] for i in ix])
    return x, y

class PositionalEncoding(nn.Module):
    def __init__(self, d, max_len=512):
        super().__init__()
        pe = torch.zeros(max_len, d)
        pos = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
        div = torch.exp(torch.arange(0, d, 2).float() * (-math.log(10000.0) / d))
        pe[:, 0::2] = torch.sin(pos * div)
        pe[:, 1::2] = torch.cos(pos * div)
        self.register_buffer("pe", pe.unsqueeze(0))
    def forward(self, x):
        return x + self.pe[:, :x.size(1)]

class TransformerLM(nn.Module):
    def __init__(self, d=64, heads=4, layers=2):
        super().__init__()
        self.emb = nn.Embedding(V, d)
        self.pos = PositionalEncoding(d)
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.1, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, layers)
        self.out = nn.Linear(d, V)
    def forward(self, x):
        mask = nn.Transformer.generate_square_subsequent_mask(x.size(1))
        h = self.enc(self.pos(self.emb(x)), mask=mask, is_causal=True)
        return self.out(h)

class RNNLM(nn.Module):
    def __init__(self, cell, d=64, hidden=128):
        super().__init__()
        self.emb = nn.Embedding(V, d)
        self.rnn = cell(d, hidden, num_layers=1, batch_first=True)
        self.out = nn.Linear(hidden, V)
    def forward(self, x):
        h, _ = self.rnn(self.emb(x))
        return self.out(h)

def train(model, steps):
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for step in range(steps):
        x, y = get_batch()
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, V), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    model.eval()
    with torch.no_grad():
        x, y = get_batch()
        val = F.cross_entropy(model(x).view(-1, V), y.view(-1)).item()
    return loss.item(), val

train(RNNLM(nn.GRU), 3)  # warm-up, untimed
for name, make in (("transformer", TransformerLM), ("lstm", lambda: RNNLM(nn.LSTM)),
                   ("gru", lambda: RNNLM(nn.GRU))):
    model = make()
    start = time.perf_counter()
    loss, val = train(model, 100)
    print(f"{name}: loss {loss:.3f} val {val:.3f} time {time.perf_counter() - start:.3f} s")
