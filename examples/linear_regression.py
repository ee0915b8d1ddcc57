"""Fit y = 3x - 1 with a hand-written SGD step: the README's first example.

Run on the CPU:                python examples/linear_regression.py
Run on cuda (interpreter):     FRAMEWORK_TRITON_INTERPRET=1 python examples/linear_regression.py cuda
"""
import sys

import framework


def main(device: str = "cpu") -> float:
    """Train for 200 steps; return the final mean squared error."""
    framework.manual_seed(0)
    x = framework.randn(64, 1, device=device)
    y = 3 * x - 1 + 0.1 * framework.randn(64, 1, device=device)
    w = framework.zeros(1, 1, device=device, requires_grad=True)
    b = framework.zeros(1, device=device, requires_grad=True)
    for step in range(200):
        loss = ((x @ w + b - y) ** 2).mean()
        loss.backward()
        with framework.no_grad():
            w -= 0.1 * w.grad
            b -= 0.1 * b.grad
            w.grad.zero_()
            b.grad.zero_()
    print(f"{device}: w={w.item():.3f} b={b.item():.3f} loss={loss.item():.4f}")
    return loss.item()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "cpu")
