"""Physics-informed neural network: solve u''(x) = -pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0.

The network u(x) is trained so that the ODE residual u'' + pi^2 sin(pi x) vanishes
at random collocation points and u matches the boundary values. u'' comes from
``framework.autograd.grad`` twice with ``create_graph=True``, and the loss is then
differentiated once more for the parameters: third-order autograd. The analytic
solution is u(x) = sin(pi x); the script reports the maximum error against it.

    python examples/pinn.py                 # full settings
    python examples/pinn.py --steps 500     # a quick run
"""
from __future__ import annotations

import argparse
import math
import time

import framework
import framework.nn as nn
import framework.optim as optim


def pick_device() -> str:
    """``cuda`` on a real GPU, else ``cpu`` (the Triton interpreter is too slow for training)."""
    on_gpu = framework.cuda.is_available() and not framework.cuda.is_interpreter()
    return "cuda" if on_gpu else "cpu"


class MLP(nn.Module):
    """u(x): a small tanh network (smooth, so u'' exists and is not zero)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, width), nn.Tanh(), nn.Linear(width, width),
                                 nn.Tanh(), nn.Linear(width, 1))

    def forward(self, x: framework.Tensor) -> framework.Tensor:
        return self.net(x)


def exact_solution(x: framework.Tensor) -> framework.Tensor:
    """The analytic solution u(x) = sin(pi x)."""
    return framework.sin(math.pi * x)


def ode_residual(model: nn.Module, x: framework.Tensor) -> framework.Tensor:
    """u''(x) + pi^2 sin(pi x) at ``x``, differentiable with respect to the parameters."""
    x = x.detach().requires_grad_(True)
    u = model(x)
    (du,) = framework.autograd.grad(u.sum(), x, create_graph=True)
    (d2u,) = framework.autograd.grad(du.sum(), x, create_graph=True)
    return d2u + math.pi ** 2 * framework.sin(math.pi * x)


def max_error(model: nn.Module, device: str, points: int = 201) -> float:
    """Maximum |u(x) - sin(pi x)| on an even grid of [0, 1]."""
    x = framework.linspace(0, 1, points, device=device).view(-1, 1)
    with framework.no_grad():
        return (model(x) - exact_solution(x)).abs().max().item()


def train(steps: int = 3000, points: int = 64, lr: float = 1e-2, width: int = 32,
          boundary_weight: float = 10.0, seed: int = 0, device: str | None = None,
          log_every: int = 500, compile: bool = False) -> dict:  # noqa: A002
    """Train the PINN; return its final loss, max error and run time (``compile``: through
    ``framework.compile``; the residual's second derivative recomputes the MLP eagerly)."""
    device = device or pick_device()
    framework.manual_seed(seed)
    model = MLP(width).to(device)
    net = framework.compile(model) if compile else model
    optimizer = optim.Adam(model.parameters(), lr=lr)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=lr / 50)
    boundary = framework.tensor([[0.0], [1.0]], device=device)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        x = framework.rand(points, 1, device=device)
        physics = ode_residual(net, x).pow(2).mean()
        edges = net(boundary).pow(2).mean()
        loss = physics + boundary_weight * edges
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
        if log_every and (step % log_every == 0 or step == 1):
            print(f"step {step:5d}  loss {loss.item():.3e}  max error "
                  f"{max_error(model, device):.2e}")
    seconds = time.perf_counter() - start
    result = {"loss": loss.item(), "max_error": max_error(model, device), "seconds": seconds}
    print(f"{device}: max |u - sin(pi x)| = {result['max_error']:.2e} after {steps} steps "
          f"({seconds:.1f} s)")
    return result


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line and train."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--points", type=int, default=64, help="collocation points per step")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda on a GPU)")
    parser.add_argument("--compile", action="store_true",
                        help="framework.compile the model (compiled forward and backward)")
    args = parser.parse_args(argv)
    return train(args.steps, args.points, args.lr, args.width, seed=args.seed,
                 device=args.device, compile=args.compile)


if __name__ == "__main__":
    main()
