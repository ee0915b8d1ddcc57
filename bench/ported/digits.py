"""A typical PyTorch training script (plain torch; bench/ported_compare.py also runs it with
only its imports swapped to framework): an MLP and a small CNN with BatchNorm on 8x8
digit-shaped data (random values, no download), DataLoader, CrossEntropyLoss, Adam, StepLR,
an accuracy pass per epoch. Prints each model's training time."""
import time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import TensorDataset, DataLoader

torch.manual_seed(0)
rng = np.random.default_rng(0)
X = rng.random((1797, 64)).astype(np.float32) * 16
y = rng.integers(0, 10, 1797)
X = (X - X.mean(0)) / (X.std(0) + 1e-6)
Xt = torch.tensor(X[:1400], dtype=torch.float32)
yt = torch.tensor(y[:1400], dtype=torch.long)
Xv = torch.tensor(X[1400:], dtype=torch.float32)
yv = torch.tensor(y[1400:], dtype=torch.long)
train_loader = DataLoader(TensorDataset(Xt, yt), batch_size=32, shuffle=True)

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)
        self.drop = nn.Dropout(0.2)
    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = self.drop(x)
        x = F.relu(self.fc2(x))
        return self.fc3(x)

class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 2 * 2, 10)
    def forward(self, x):
        x = x.view(-1, 1, 8, 8)
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc(x)

def train(model, epochs):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
    crit = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in train_loader:
            opt.zero_grad()
            out = model(xb)
            loss = crit(out, yb)
            loss.backward()
            opt.step()
            total += loss.item() * xb.size(0)
        sched.step()
        model.eval()
        with torch.no_grad():
            pred = model(Xv).argmax(dim=1)
            acc = (pred == yv).float().mean().item()
    return total / len(train_loader.dataset), acc

train(MLP(), 1)  # warm-up, untimed
for name, model in (("mlp", MLP()), ("cnn", CNN())):
    start = time.perf_counter()
    loss, acc = train(model, 10)
    print(f"{name}: loss {loss:.4f} acc {acc:.3f} time {time.perf_counter() - start:.3f} s")
