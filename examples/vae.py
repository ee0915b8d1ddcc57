"""Variational autoencoder on the MNIST sample; saves a PNG grid of generated digits.

Encoder and decoder are MLPs (784 -> 400 -> 2 x latent, latent -> 400 -> 784).
The loss is the negative ELBO per image: Bernoulli reconstruction
(``F.binary_cross_entropy_with_logits``) plus the KL
divergence of q(z|x) from N(0, I). The script reports the test-set negative
ELBO before and after training, saves the model with ``framework.save``, and
writes 64 decoded samples z ~ N(0, I) as an 8 x 8 PNG grid (PNG encoded with
``zlib`` and ``struct``, no imaging library).

    python examples/vae.py                      # full settings
    python examples/vae.py --epochs 2           # a quick run
"""
from __future__ import annotations

import argparse
import struct
import time
import zlib

import numpy as np

import framework
import framework.nn as nn
import framework.nn.functional as F
import framework.optim as optim
from framework.datasets import MNIST
from framework.utils.data import DataLoader

PIXELS = 28 * 28


def pick_device() -> str:
    """``cuda`` on a real GPU, else ``cpu`` (the Triton interpreter is too slow for training)."""
    on_gpu = framework.cuda.is_available() and not framework.cuda.is_interpreter()
    return "cuda" if on_gpu else "cpu"


class VAE(nn.Module):
    """q(z|x) = N(mu(x), diag(exp(logvar(x)))), p(x|z) = Bernoulli(sigmoid(decoder(z)))."""

    def __init__(self, hidden: int = 400, latent: int = 16) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(),
                                     nn.Linear(hidden, PIXELS))
        self.latent = latent

    def encode(self, x: framework.Tensor) -> tuple[framework.Tensor, framework.Tensor]:
        """Mean and log-variance of q(z|x)."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def forward(self, x: framework.Tensor):
        """Pixel logits of the reconstruction, and mu, logvar of q(z|x)."""
        mu, logvar = self.encode(x)
        z = mu + framework.exp(0.5 * logvar) * framework.randn_like(mu)
        return self.decoder(z), mu, logvar


def negative_elbo(logits: framework.Tensor, x: framework.Tensor, mu: framework.Tensor,
                  logvar: framework.Tensor) -> framework.Tensor:
    """Per-image mean of -ELBO = BCE(sigmoid(logits), x) + KL(q(z|x) || N(0, I)), in nats."""
    reconstruction = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="sum")
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum()
    return (reconstruction + kl) / len(x)


def evaluate(model: VAE, loader: DataLoader, device: str) -> float:
    """Mean negative ELBO per image over ``loader`` (one posterior sample per image)."""
    model.eval()
    total, count = 0.0, 0
    with framework.no_grad():
        for images, _ in loader:
            images = images.to(device)
            logits, mu, logvar = model(images)
            total += negative_elbo(logits, images, mu, logvar).item() * len(images)
            count += len(images)
    model.train()
    return total / count


def png_bytes(image: np.ndarray) -> bytes:
    """Encode a uint8 grayscale image (H, W) as a PNG file."""
    height, width = image.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image], axis=1)  # filter 0 per row
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + chunk(b"IEND", b""))


def sample_grid(model: VAE, device: str, rows: int = 8) -> np.ndarray:
    """Decode rows x rows samples z ~ N(0, I) into one uint8 image with a 2-pixel border."""
    with framework.no_grad():
        z = framework.randn(rows * rows, model.latent, device=device)
        digits = framework.sigmoid(model.decoder(z)).view(rows, rows, 28, 28).cpu().numpy()
    grid = np.zeros((rows * 30 + 2, rows * 30 + 2), np.uint8)
    for r in range(rows):
        for c in range(rows):
            grid[2 + 30 * r:30 * (r + 1), 2 + 30 * c:30 * (c + 1)] = digits[r, c] * 255 + 0.5
    return grid


def train(epochs: int = 20, batch_size: int = 64, lr: float = 1e-3, hidden: int = 400,
          latent: int = 16, seed: int = 0, device: str | None = None, root: str | None = None,
          samples_png: str | None = "vae_samples.png", checkpoint: str | None = None,
          compile: bool = False) -> dict:  # noqa: A002
    """Train the VAE (``compile``: through ``framework.compile``); return the test negative
    ELBO before and after, and the run time."""
    device = device or pick_device()
    framework.manual_seed(seed)
    train_loader = DataLoader(MNIST(root, train=True), batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(MNIST(root, train=False), batch_size=500)
    model = VAE(hidden, latent).to(device)
    net = framework.compile(model) if compile else model
    optimizer = optim.Adam(model.parameters(), lr=lr)
    before = evaluate(model, test_loader, device)
    print(f"test -ELBO before training: {before:.1f} nats per image")
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        for images, _ in train_loader:
            images = images.to(device)
            logits, mu, logvar = net(images)
            loss = negative_elbo(logits, images, mu, logvar)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch:3d}  train -ELBO {loss.item():.1f}  "
              f"test -ELBO {evaluate(model, test_loader, device):.1f}")
    seconds = time.perf_counter() - start
    after = evaluate(model, test_loader, device)
    if checkpoint:
        framework.save(model.state_dict(), checkpoint)
    if samples_png:
        with open(samples_png, "wb") as out:
            out.write(png_bytes(sample_grid(model, device)))
    print(f"{device}: test -ELBO {before:.1f} -> {after:.1f} nats per image after {epochs} "
          f"epochs ({seconds:.1f} s)" + (f"; samples in {samples_png}" if samples_png else ""))
    return {"before": before, "after": after, "seconds": seconds}


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line and train."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, default=400)
    parser.add_argument("--latent", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda on a GPU)")
    parser.add_argument("--root", default=None, help="folder with the MNIST IDX files "
                        "(default: the sample shipped with framework)")
    parser.add_argument("--samples", default="vae_samples.png", help="PNG grid of samples")
    parser.add_argument("--checkpoint", default=None, help="save the state dict here")
    parser.add_argument("--compile", action="store_true",
                        help="framework.compile the model (compiled forward and backward)")
    args = parser.parse_args(argv)
    return train(args.epochs, args.batch_size, args.lr, args.hidden, args.latent, args.seed,
                 args.device, args.root, args.samples, args.checkpoint, compile=args.compile)


if __name__ == "__main__":
    main()
