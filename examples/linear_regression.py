"""Fit y = 3x - 1 with a hand-written SGD step: the README's first example.

Run on the CPU:                python examples/linear_regression.py
Run on cuda (interpreter):     FRAMEWORK_TRITON_INTERPRET=1 python examples/linear_regression.py cuda
Compiled loss and gradient:    python examples/linear_regression.py cpu --compile
"""
import sys

import framework


def mse(x, y, w, b):
    """The model's mean squared error."""
    return ((x @ w + b - y) ** 2).mean()


def main(device: str = "cpu", compile: bool = False) -> float:  # noqa: A002
    """Train for 200 steps (``compile``: the loss through ``framework.compile``); return the final
    mean squared error."""
    loss_fn = framework.compile(mse) if compile else mse
    framework.manual_seed(0)
    x = framework.randn(64, 1, device=device)
    y = 3 * x - 1 + 0.1 * framework.randn(64, 1, device=device)
    w = framework.zeros(1, 1, device=device, requires_grad=True)
    b = framework.zeros(1, device=device, requires_grad=True)
    for step in range(200):
        loss = loss_fn(x, y, w, b)
        loss.backward()
        with framework.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
            w.grad.zero_()
            b.grad.zero_()
    print(f"{device}: w={w.item():.3f} b={b.item():.3f} loss={loss.item():.4f}")
    return loss.item()


if __name__ == "__main__":
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    if set(flags) - {"--compile"}:
        sys.exit(f"usage: {sys.argv[0]} [cpu|cuda] [--compile]")
    positional = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(positional[0] if positional else "cpu", compile="--compile" in flags)
