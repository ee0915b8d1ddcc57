"""A plain PyTorch training script, run unchanged by tests/test_port_check.py on torch and on framework.

Only the imports below name torch; the test runs this file's text once as it is and once
with ``torch`` (and its submodules) resolving to ``framework``. It trains a small CNN on
synthetic 8x8 images with a DataLoader over a TensorDataset, SGD with momentum and a
StepLR schedule, saves a checkpoint half-way, then builds everything anew, loads the
checkpoint and resumes.
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def make_data(n=96, classes=3, seed=0):
    """Noisy copies of one random 8x8 template per class."""
    rng = np.random.default_rng(seed)
    templates = rng.normal(size=(classes, 1, 8, 8)).astype(np.float32)
    labels = rng.integers(0, classes, size=n)
    images = templates[labels] + 0.8 * rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))


class SmallNet(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, kernel_size=3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(4 * 4 * 4, 32)
        self.fc2 = nn.Linear(32, classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv(x)))
        x = torch.flatten(x, 1)
        return self.fc2(nn.ReLU()(self.fc1(x)))


def build(initial_state):
    model = SmallNet()
    if initial_state is not None:
        model.load_state_dict({name: torch.from_numpy(value) for name, value in initial_state.items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def train_epochs(model, optimizer, scheduler, loader, epochs):
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(epochs):
        model.train()
        for images, labels in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
    return losses


def accuracy(model, images, labels):
    model.eval()
    with torch.no_grad():
        return (model(images).argmax(dim=1) == labels).float().mean().item()


def main(checkpoint_path, initial_state=None, epochs=4):
    """Train ``epochs`` epochs with a save/load/resume half-way; return what the test compares."""
    torch.manual_seed(0)
    images, labels = make_data()
    loader = DataLoader(TensorDataset(images, labels), batch_size=16, shuffle=False)
    model, optimizer, scheduler = build(initial_state)
    start_state = {name: value.detach().numpy().copy() for name, value in model.state_dict().items()}
    losses = train_epochs(model, optimizer, scheduler, loader, epochs // 2)
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "epoch": epochs // 2}, checkpoint_path)

    model, optimizer, scheduler = build(None)
    checkpoint = torch.load(checkpoint_path)
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    scheduler.load_state_dict(checkpoint["scheduler"])
    losses += train_epochs(model, optimizer, scheduler, loader, epochs - checkpoint["epoch"])
    final_state = {name: value.detach().numpy().copy() for name, value in model.state_dict().items()}
    return {"initial_state": start_state, "losses": losses, "final_state": final_state,
            "lr": scheduler.get_last_lr()[0], "accuracy": accuracy(model, images, labels)}
