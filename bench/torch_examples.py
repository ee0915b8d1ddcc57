"""The examples' training scripts on PyTorch CPU, for the examples-vs-PyTorch wall-time ratios.

    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python bench/torch_examples.py char_transformer [args]
    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python bench/torch_examples.py gan [args]
    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python bench/torch_examples.py mnist_cnn [args]
    OMP_NUM_THREADS=1 PYTHONPATH=$PWD python bench/torch_examples.py --compare char_transformer --epochs 2

The first two forms run PyTorch's version of the example with the example's own
arguments (same defaults, so no argument is the example's full setting) and print
its result, including ``seconds``: the same span the example itself times.
``--compare`` runs ours (``examples/<name>.py``) and PyTorch's one after the other,
``--rounds`` times alternating (ours, torch, ours, ...), and prints each run's
seconds and the ratio of the medians. Times are wall-clock on this machine; on a
shared machine compare only ratios from one ``--compare`` run.

- ``char_transformer``, ``name_classifier``, ``seq2seq_dates``, ``pinn``, ``gan``,
  ``reinforce_cartpole``: the example's own source with its imports switched to torch
  (these examples are written so that a PyTorch version differs only in its imports);
  data helpers such as ``framework.datasets.names`` still come from framework (plain
  Python lists). ``reinforce_cartpole`` stops when solved, so its two runs can do
  different numbers of updates (its result reports them).
- ``mnist_cnn``: the example's training loop written for torch (torchvision is not a
  dependency): the same network, Adam + OneCycleLR, the same images (the MNIST
  sample read by ``framework.datasets.MNIST`` as NumPy arrays), the same random
  shift / normalisation per sample in a torch ``Dataset`` and torch's ``DataLoader``.
  The reload-through-a-checkpoint check of the example is left out (not timed there).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_SWAPS = [
    (r"^import framework\.nn\.functional as F$", "import torch.nn.functional as F"),
    (r"^import framework\.nn as nn$", "import torch.nn as nn"),
    (r"^import framework\.optim as optim$", "import torch.optim as optim"),
    (r"^from framework\.utils\.data import", "from torch.utils.data import"),
    (r"^import framework$", "import torch as framework"),
]


def _threads() -> None:
    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))


def torch_source(name: str) -> str:
    """``examples/<name>.py`` with its imports switched from framework to torch."""
    with open(os.path.join(ROOT, "examples", f"{name}.py")) as f:
        source = f.read()
    for pattern, replacement in _SWAPS:
        source = re.sub(pattern, replacement, source, flags=re.M)
    return source


def swapped_runner(name: str):
    """A runner of example ``name``'s own source with its imports switched to torch."""
    def run(argv: list) -> dict:
        _threads()
        namespace = {"__name__": f"torch_{name}"}
        exec(compile(torch_source(name), f"{name}[torch]", "exec"), namespace)
        return namespace["main"](argv)
    run.__doc__ = f"The {name} example, on torch (its imports switched)."
    return run


# Examples whose PyTorch version differs only in the imports (checked by running each):
# vae is not among them (its MNIST loader yields framework tensors to torch's DataLoader).
SWAPPED = ("char_transformer", "name_classifier", "seq2seq_dates", "pinn", "gan",
           "reinforce_cartpole")


def run_mnist_cnn(argv: list) -> dict:
    """The MNIST CNN example's training loop, on torch."""
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from framework.datasets import MNIST
    _threads()
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--shift", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default=None)
    args = parser.parse_args(argv)
    mean, std = 0.1307, 0.3081

    class Images(torch.utils.data.Dataset):
        """(image, label) with RandomCrop(28, padding=shift), ToTensor and Normalize."""

        def __init__(self, train: bool, shift: int):
            source = MNIST(args.root, train=train)
            self.images = torch.from_numpy(np.ascontiguousarray(source._images))
            self.labels = torch.from_numpy(source._labels.astype(np.int64))
            self.shift = shift

        def __len__(self):
            return len(self.labels)

        def __getitem__(self, index):
            image = self.images[index].float().div(255).unsqueeze(0)
            if self.shift:
                padded = F.pad(image, (self.shift,) * 4)
                top, left = torch.randint(0, 2 * self.shift + 1, (2,)).tolist()
                image = padded[:, top:top + 28, left:left + 28]
            return (image - mean) / std, self.labels[index]

    class Net(nn.Module):
        def __init__(self, channels: int, hidden: int, dropout: float = 0.25):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            self.classifier = nn.Sequential(
                nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * channels * 7 * 7, hidden),
                nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 10))

        def forward(self, x):
            return self.classifier(self.features(x))

    def accuracy(model, loader) -> float:
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for images, labels in loader:
                correct += (model(images).argmax(dim=1) == labels).sum().item()
                total += len(labels)
        model.train()
        return correct / total

    torch.manual_seed(args.seed)
    train_loader = torch.utils.data.DataLoader(Images(True, args.shift), batch_size=args.batch_size,
                                               shuffle=True)
    test_loader = torch.utils.data.DataLoader(Images(False, 0), batch_size=500)
    model = Net(args.channels, args.hidden)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs,
                                                    steps_per_epoch=len(train_loader))
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        for images, labels in train_loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
        print(f"epoch {epoch:3d}  loss {loss.item():.4f}  "
              f"test accuracy {accuracy(model, test_loader):.4f}")
    seconds = time.perf_counter() - start
    result = {"accuracy": accuracy(model, test_loader), "seconds": seconds}
    print(f"torch cpu: test accuracy {100 * result['accuracy']:.2f}% after {args.epochs} epochs "
          f"({seconds:.1f} s)")
    return result


RUNNERS = {"mnist_cnn": run_mnist_cnn, **{name: swapped_runner(name) for name in SWAPPED}}


def _seconds_of(command: list) -> float:
    """Run ``command`` (prints a result dict on its last line) and return its ``seconds``."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout
    return float(out.strip().splitlines()[-1])


def compare(name: str, argv: list, rounds: int) -> None:
    """Ours and torch's run of example ``name``, alternating; medians and their ratio."""
    ours_cmd = [sys.executable, "-c", "import runpy, sys; m = runpy.run_path("
                f"'examples/{name}.py', run_name='example'); print(m['main'](sys.argv[1:])['seconds'])"
                ] + argv
    torch_cmd = [sys.executable, os.path.abspath(__file__), name, "--seconds-only"] + argv
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(_seconds_of(ours_cmd))
        theirs.append(_seconds_of(torch_cmd))
        print(f"{name}: ours {ours[-1]:.1f} s  torch {theirs[-1]:.1f} s", flush=True)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"{name} {' '.join(argv) or '(full settings)'}: ours {a:.1f} s  torch {b:.1f} s  "
          f"ratio {a / b:.2f}x  (medians of {rounds}; load average {os.getloadavg()[0]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", action="store_true", help="run ours and torch's, alternating")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("name", choices=sorted(RUNNERS))
    args, rest = parser.parse_known_args()
    if args.compare:
        compare(args.name, rest, args.rounds)
        return
    result = RUNNERS[args.name](rest)
    if args.seconds_only:
        print(result["seconds"])


if __name__ == "__main__":
    main()
