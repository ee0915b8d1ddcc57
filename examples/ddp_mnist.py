"""Data-parallel training: the MNIST CNN of ``mnist_cnn.py`` on several processes with DDP.

Each rank holds a replica of the model (``DistributedDataParallel`` broadcasts rank 0's weights),
reads its own share of every epoch through ``DistributedSampler`` and computes gradients on
``batch_size / world_size`` images; DDP averages the gradients across ranks during backward, so
every step uses the same global batch of ``batch_size`` images as the single-process example, with
the same optimizer and schedule. The test accuracy is computed in parallel too: each rank counts
its share of the test set and ``all_reduce`` adds the counts. Rank 0 alone writes the checkpoint;
after a barrier every rank loads it back and the reloaded model's accuracy is reported.

    framework run --nproc 2 examples/ddp_mnist.py              # 2 ranks, full settings
    mpiexec -n 2 python examples/ddp_mnist.py --epochs 2       # the same through mpiexec
    python examples/ddp_mnist.py                               # 1 process (a 1-rank group)
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import framework  # noqa: E402
import framework.distributed as dist  # noqa: E402
import framework.nn.functional as F  # noqa: E402
import framework.optim as optim  # noqa: E402
from framework.datasets import MNIST, transforms  # noqa: E402
from framework.nn.parallel import DistributedDataParallel as DDP  # noqa: E402
from framework.utils.data import DataLoader, DistributedSampler  # noqa: E402
from mnist_cnn import MNIST_MEAN, MNIST_STD, Net  # noqa: E402


def distributed_accuracy(model, dataset, batch_size: int = 500) -> float:
    """Test accuracy over ``dataset``: each rank counts its share, ``all_reduce`` sums the counts."""
    sampler = DistributedSampler(dataset, shuffle=False)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler)
    model.eval()
    counts = framework.zeros(2, dtype=framework.int64)  # correct, seen
    with framework.no_grad():
        for images, labels in loader:
            counts[0] += (model(images).argmax(dim=1) == labels).sum()
            counts[1] += len(labels)
    model.train()
    dist.all_reduce(counts)  # sums over ranks (the sampler pads only if len % world_size != 0)
    return counts[0].item() / counts[1].item()


def train(epochs: int = 12, batch_size: int = 64, lr: float = 3e-3, channels: int = 16,
          hidden: int = 128, shift: int = 2, seed: int = 0, root: str | None = None,
          checkpoint: str | None = None, compile: bool = False) -> dict:  # noqa: A002
    """Train on every rank of the default group (``compile``: the network through
    ``framework.compile``, inside DDP); returns (on every rank) the reloaded accuracy."""
    if not dist.is_initialized():
        dist.init_process_group("mpi")  # env:// as set by `framework run` or mpiexec
    rank, world = dist.get_rank(), dist.get_world_size()
    if batch_size % world:
        raise ValueError(f"--batch-size {batch_size} must divide among {world} ranks")
    framework.manual_seed(seed + rank)  # per-rank dropout and crops; the weights come from rank 0
    to_input = [transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))]
    train_set = MNIST(root, train=True, transform=transforms.Compose(
        [transforms.RandomCrop(28, padding=shift)] + to_input))
    test_set = MNIST(root, train=False, transform=transforms.Compose(to_input))
    sampler = DistributedSampler(train_set, shuffle=True, seed=seed)
    loader = DataLoader(train_set, batch_size=batch_size // world, sampler=sampler)
    net = Net(channels, hidden)
    model = DDP(framework.compile(net) if compile else net)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    scheduler = optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, epochs=epochs,
                                              steps_per_epoch=len(loader))
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        for images, labels in loader:
            loss = F.cross_entropy(model(images), labels)
            optimizer.zero_grad()
            loss.backward()  # DDP averages the gradients across ranks here
            optimizer.step()
            scheduler.step()
        accuracy = distributed_accuracy(model, test_set)
        if rank == 0:
            print(f"epoch {epoch:3d}  loss {loss.item():.4f}  test accuracy {accuracy:.4f}", flush=True)
    seconds = time.perf_counter() - start
    reloaded = reload_from_rank0(model, checkpoint, channels=channels, hidden=hidden)
    result = {"accuracy": distributed_accuracy(reloaded, test_set), "seconds": seconds,
              "world_size": world}
    if rank == 0:
        print(f"{world} rank(s): test accuracy {100 * result['accuracy']:.2f}% on "
              f"{len(test_set)} held-out images after {epochs} epochs ({seconds:.1f} s), measured "
              "on the model reloaded from rank 0's checkpoint", flush=True)
    return result


def reload_from_rank0(model: DDP, checkpoint: str | None, **net_options) -> Net:
    """The rank-0-only checkpoint pattern: rank 0 saves, a barrier, then every rank loads."""
    folder = None
    if checkpoint is None:  # a temporary folder of rank 0's, its name broadcast to the others
        folder = _shared_temp_folder()
        checkpoint = os.path.join(folder, "ddp_mnist.safetensors")
    if dist.get_rank() == 0:
        module = getattr(model.module, "_orig_mod", model.module)  # the compiled module's original
        framework.save(module.state_dict(), checkpoint)  # .module: without the "module." prefix
    dist.barrier()  # the file is complete before anyone reads it
    fresh = Net(**net_options)
    fresh.load_state_dict(framework.load(checkpoint))
    dist.barrier()  # everyone has read it
    if folder is not None and dist.get_rank() == 0:
        os.remove(checkpoint)
        os.rmdir(folder)
    return fresh


def _shared_temp_folder() -> str:
    """A temporary folder made by rank 0; its name reaches the other ranks by broadcast."""
    name = [tempfile.mkdtemp() if dist.get_rank() == 0 else None]
    dist.broadcast_object_list(name, src=0)
    return name[0]


def main(argv: list[str] | None = None) -> dict:
    """Parse the command line and train."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch (all ranks)")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--shift", type=int, default=2, help="random shift in pixels (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default=None, help="folder with the MNIST IDX files "
                        "(default: the sample shipped with framework)")
    parser.add_argument("--checkpoint", default=None, help="where rank 0 saves the state dict "
                        "(a path every rank can read; default: a temporary file)")
    parser.add_argument("--compile", action="store_true",
                        help="framework.compile the model (compiled forward and backward)")
    args = parser.parse_args(argv)
    return train(args.epochs, args.batch_size, args.lr, args.channels, args.hidden, args.shift,
                 args.seed, args.root, args.checkpoint, compile=args.compile)


if __name__ == "__main__":
    main()
