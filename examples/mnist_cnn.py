"""Image classification: a small CNN on the MNIST sample (4,000 training / 1,000 test images).

Two conv-ReLU-max-pool blocks and two linear layers with dropout, trained
with Adam and a one-cycle learning-rate schedule on images normalised with
``transforms.Normalize`` and randomly shifted by up to ``--shift`` pixels
(``transforms.RandomCrop`` of the zero-padded image). After training the
model is saved with ``framework.save``, loaded into a fresh network with
``framework.load``, and the reloaded network's test accuracy is reported.

    python examples/mnist_cnn.py                 # full settings
    python examples/mnist_cnn.py --epochs 2      # a quick run
    python examples/mnist_cnn.py --root ~/data   # the full MNIST, if you have its files
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

import framework
import framework.nn as nn
import framework.nn.functional as F
import framework.optim as optim
from framework.datasets import MNIST, transforms
from framework.utils.data import DataLoader

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


def pick_device() -> str:
    """``cuda`` on a real GPU, else ``cpu`` (the Triton interpreter is too slow for training)."""
    on_gpu = framework.cuda.is_available() and not framework.cuda.is_interpreter()
    return "cuda" if on_gpu else "cpu"


class Net(nn.Module):
    """conv(1->16) -> pool -> conv(16->32) -> pool -> linear(1568->128) -> linear(128->10)."""

    def __init__(self, channels: int = 16, hidden: int = 128, dropout: float = 0.25) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * channels * 7 * 7, hidden), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden, 10))

    def forward(self, x: framework.Tensor) -> framework.Tensor:
        return self.classifier(self.features(x))


def accuracy(model: nn.Module, loader: DataLoader, device: str) -> float:
    """Fraction of ``loader``'s images that ``model`` labels correctly."""
    model.eval()
    correct = total = 0
    with framework.no_grad():
        for images, labels in loader:
            predictions = model(images.to(device)).argmax(dim=1)
            correct += (predictions == labels.to(device)).sum().item()
            total += len(labels)
    model.train()
    return correct / total


def reload(model: nn.Module, device: str, **net_options) -> nn.Module:
    """Round-trip ``model``'s weights through ``framework.save``/``framework.load``."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "mnist_cnn.safetensors")
        framework.save(model.state_dict(), path)
        fresh = Net(**net_options).to(device)
        fresh.load_state_dict(framework.load(path, map_location=device))
    return fresh


def train(epochs: int = 12, batch_size: int = 64, lr: float = 3e-3, channels: int = 16,
          hidden: int = 128, shift: int = 2, seed: int = 0, device: str | None = None,
          root: str | None = None, checkpoint: str | None = None,
          compile: bool = False) -> dict:  # noqa: A002
    """Train the CNN (``compile``: through ``framework.compile``); return the test accuracy of
    the reloaded model and the run time."""
    device = device or pick_device()
    framework.manual_seed(seed)
    to_input = [transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]
    augment = transforms.Compose([transforms.RandomCrop(28, padding=shift)] + to_input)
    normalize = transforms.Compose(to_input)
    train_loader = DataLoader(MNIST(root, train=True, transform=augment),
                              batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(MNIST(root, train=False, transform=normalize), batch_size=500)
    model = Net(channels, hidden).to(device)
    net = framework.compile(model) if compile else model
    optimizer = optim.Adam(model.parameters(), lr=lr)
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, epochs=epochs,
                                              steps_per_epoch=len(train_loader))
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        for images, labels in train_loader:
            loss = F.cross_entropy(net(images.to(device)), labels.to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        print(f"epoch {epoch:3d}  loss {loss.item():.4f}  "
              f"test accuracy {accuracy(model, test_loader, device):.4f}")
    seconds = time.perf_counter() - start
    if checkpoint:
        framework.save(model.state_dict(), checkpoint)
    reloaded = reload(model, device, channels=channels, hidden=hidden)
    result = {"accuracy": accuracy(reloaded, test_loader, device), "seconds": seconds}
    print(f"{device}: test accuracy {100 * result['accuracy']:.2f}% on {len(test_loader.dataset)} "
          f"held-out images after {epochs} epochs ({seconds:.1f} s), measured on the "
          f"model reloaded with framework.load")
    return result


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line and train."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--shift", type=int, default=2, help="random shift in pixels (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda on a GPU)")
    parser.add_argument("--root", default=None, help="folder with the MNIST IDX files "
                        "(default: the sample shipped with framework)")
    parser.add_argument("--checkpoint", default=None, help="also save the state dict here")
    parser.add_argument("--compile", action="store_true",
                        help="framework.compile the model (compiled forward and backward)")
    args = parser.parse_args(argv)
    return train(args.epochs, args.batch_size, args.lr, args.channels, args.hidden, args.shift,
                 args.seed, args.device, args.root, args.checkpoint, compile=args.compile)


if __name__ == "__main__":
    main()
