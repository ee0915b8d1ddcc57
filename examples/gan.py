"""GAN on a 2-D Gaussian mixture: 8 modes on a circle of radius 2, standard deviation 0.05.

A generator MLP maps 2-D Gaussian noise to points; a discriminator MLP tells
them from mixture samples, with the non-saturating GAN losses
(``F.binary_cross_entropy_with_logits``: real = 1, fake = 0; the generator
trains its fakes towards 1). The generated distribution is measured against the mixture on
``--eval-samples`` points:

* quality: the fraction of samples within 4 standard deviations (0.2) of a mode,
* coverage: the modes that get at least a quarter of their fair share
  (1/8) of those good samples,
* mean distance from a sample to its nearest mode.

    python examples/gan.py                # full settings
    python examples/gan.py --steps 800    # a quick run
"""
from __future__ import annotations

import argparse
import math
import time

import framework
import framework.nn as nn
import framework.nn.functional as F
import framework.optim as optim

MODES = 8
RADIUS = 2.0
STD = 0.05
GOOD_DISTANCE = 4 * STD


def pick_device() -> str:
    """``cuda`` on a real GPU, else ``cpu`` (the Triton interpreter is too slow for training)."""
    on_gpu = framework.cuda.is_available() and not framework.cuda.is_interpreter()
    return "cuda" if on_gpu else "cpu"


def mode_centers(device: str) -> framework.Tensor:
    """The (8, 2) mode centres, evenly spaced on the circle."""
    angles = framework.arange(MODES, device=device, dtype=framework.float32) * (2 * math.pi / MODES)
    return RADIUS * framework.stack([framework.cos(angles), framework.sin(angles)], 1)


def sample_mixture(n: int, device: str) -> framework.Tensor:
    """``n`` points of the mixture: a random mode plus Gaussian noise."""
    modes = framework.randint(0, MODES, (n,), device=device)
    return mode_centers(device)[modes] + STD * framework.randn(n, 2, device=device)


def mlp(inputs: int, hidden: int, outputs: int) -> nn.Sequential:
    """Three hidden ReLU layers."""
    return nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, outputs))


def distribution_match(samples: framework.Tensor) -> dict:
    """Quality, per-mode coverage and mean nearest-mode distance of generated ``samples``."""
    centers = mode_centers(samples.device)
    distances = (samples[:, None, :] - centers[None, :, :]).pow(2).sum(-1).sqrt()
    nearest, mode = distances.min(dim=1)
    good = nearest < GOOD_DISTANCE
    per_mode = ((mode[:, None] == framework.arange(MODES, device=samples.device)[None, :])
                & good[:, None]).sum(0)
    enough = max(good.sum().item() / MODES / 4, 1)  # a quarter of a fair share, at least 1
    return {"quality": good.float().mean().item(),
            "modes_covered": int((per_mode >= enough).sum().item()),
            "mean_distance": nearest.mean().item(),
            "per_mode": per_mode.tolist()}


def train(steps: int = 3000, batch_size: int = 256, hidden: int = 128, lr: float = 1e-3,
          eval_samples: int = 2000, seed: int = 0, device: str | None = None,
          log_every: int = 500, compile: bool = False) -> dict:  # noqa: A002
    """Train the GAN (``compile``: both networks through ``framework.compile``); return the
    distribution measures of its samples and the run time."""
    device = device or pick_device()
    framework.manual_seed(seed)
    generator = mlp(2, hidden, 2).to(device)
    discriminator = mlp(2, hidden, 1).to(device)
    gen, disc = ((framework.compile(generator), framework.compile(discriminator)) if compile
                 else (generator, discriminator))
    g_optimizer = optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999))
    d_optimizer = optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999))
    ones = framework.ones(batch_size, 1, device=device)
    zeros = framework.zeros(batch_size, 1, device=device)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        real = sample_mixture(batch_size, device)
        fake = gen(framework.randn(batch_size, 2, device=device))
        d_loss = (F.binary_cross_entropy_with_logits(disc(real), ones)
                  + F.binary_cross_entropy_with_logits(disc(fake.detach()), zeros))
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        g_loss = F.binary_cross_entropy_with_logits(disc(fake), ones)
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
        if log_every and (step % log_every == 0 or step == 1):
            print(f"step {step:5d}  d_loss {d_loss.item():.3f}  g_loss {g_loss.item():.3f}")
    seconds = time.perf_counter() - start
    with framework.no_grad():
        result = distribution_match(generator(framework.randn(eval_samples, 2, device=device)))
    result["seconds"] = seconds
    print(f"{device}: {result['modes_covered']}/{MODES} modes covered, "
          f"{100 * result['quality']:.1f}% of samples within {GOOD_DISTANCE} of a mode, "
          f"mean distance to the nearest mode {result['mean_distance']:.3f} "
          f"(samples per mode {result['per_mode']}; {seconds:.1f} s)")
    return result


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line and train."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--eval-samples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda on a GPU)")
    parser.add_argument("--compile", action="store_true",
                        help="framework.compile the model (compiled forward and backward)")
    args = parser.parse_args(argv)
    return train(args.steps, args.batch_size, args.hidden, args.lr, args.eval_samples,
                 seed=args.seed, device=args.device, compile=args.compile)


if __name__ == "__main__":
    main()
