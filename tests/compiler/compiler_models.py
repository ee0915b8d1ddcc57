"""Small models for the compiler tests (tiny shapes: the cuda cases run on the interpreter)."""
from __future__ import annotations

import framework
import framework.nn as nn
import framework.nn.functional as F


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 3))


class SmallCNN(nn.Module):
    """conv -> relu -> maxpool -> conv -> relu -> avgpool -> flatten -> linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 2, 3, padding=1)
        self.conv2 = nn.Conv2d(2, 3, 3, padding=1)
        self.fc = nn.Linear(3 * 2 * 2, 4)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


class CausalBlock(nn.Module):
    """Pre-norm transformer block with causal scaled-dot-product attention (GPT style)."""

    def __init__(self, d: int = 8, heads: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        q, k, v = [z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v)]
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return x + self.mlp(self.ln2(x))


class EncoderBlock(nn.Module):
    """framework.nn.TransformerEncoderLayer with a causal mask (the char transformer's layer)."""

    def __init__(self, d: int = 8, heads: int = 2) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(d, heads, dim_feedforward=2 * d, dropout=0.0,
                                                batch_first=True, norm_first=True)

    def forward(self, x):
        mask = nn.Transformer.generate_square_subsequent_mask(x.shape[1], device=x.device)
        return self.layer(x, src_mask=mask, is_causal=True)


class GRUClassifier(nn.Module):
    """Embedding -> GRU -> last hidden state -> linear (the name classifier's shape)."""

    def __init__(self, vocab: int = 7, embed: int = 4, hidden: int = 5) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed, padding_idx=0)
        self.gru = nn.GRU(embed, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 2)

    def forward(self, ids):
        out, h_n = self.gru(self.embedding(ids))
        return self.out(h_n[-1]), out


def cases(device: str) -> dict:
    """name -> (module in eval mode on device, example args)."""
    framework.manual_seed(0)
    return {
        "mlp": (mlp(), (framework.randn(3, 6),)),
        "cnn": (SmallCNN(), (framework.randn(2, 1, 8, 8),)),
        "causal_block": (CausalBlock(), (framework.randn(2, 4, 8),)),
        "encoder_block": (EncoderBlock(), (framework.randn(2, 4, 8),)),
        "gru": (GRUClassifier(), (framework.randint(0, 7, (2, 3)),)),
    }


def on(device: str, name: str):
    module, args = cases(device)[name]
    return module.eval().to(device), tuple(a.to(device) for a in args)
