"""``DataLoader``: batches from a dataset, optionally loaded by worker processes.

With ``num_workers > 0`` each epoch starts worker processes (kept across
epochs with ``persistent_workers``); the main process hands out batches of
indices round-robin and yields the results in order. Samples travel between
processes pickled (tensors pickle as host arrays).
"""
from __future__ import annotations

import multiprocessing
import queue
import random
from dataclasses import dataclass
from typing import Any, Callable

from ... import dtypes
from ...ops.creation import randint
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "WorkerInfo"]

_POLL_SECONDS = 5.0


@dataclass
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker process."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None  # set once in each worker process, None in the main one


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker: its id, the worker count, its seed and dataset copy; else None."""
    return _worker_info


class DataLoader:
    """Iterate over ``dataset`` in batches (``torch.utils.data.DataLoader``)."""

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True, progress: bool | str = False) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = 2 if prefetch_factor is None else prefetch_factor
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.persistent_workers = persistent_workers
        self.progress = progress
        self._iterable = isinstance(dataset, IterableDataset)
        sampler, batch_sampler = self._samplers(dataset, batch_size, shuffle, sampler,
                                                batch_sampler, drop_last, generator)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.batch_size = batch_size if batch_sampler is None or batch_size is None else \
            getattr(batch_sampler, "batch_size", batch_size)
        self.drop_last = drop_last
        if collate_fn is None:
            collate_fn = default_convert if self.batch_sampler is None and not \
                (self._iterable and batch_size is not None) else default_collate
        self.collate_fn = collate_fn
        self._pool = None

    def _samplers(self, dataset, batch_size, shuffle, sampler, batch_sampler, drop_last,
                  generator):
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 "and batch_sampler options")
            return None, None
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            return sampler, batch_sampler
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else \
                SequentialSampler(dataset)
        if batch_size is None:
            if drop_last:
                raise ValueError("batch_size=None option disables auto-batching and is mutually "
                                 "exclusive with drop_last")
            return sampler, None
        return sampler, BatchSampler(sampler, batch_size, drop_last)

    def __len__(self) -> int:
        if self._iterable:
            length = len(self.dataset)
            if self.batch_size is None:
                return length
            full, rest = divmod(length, self.batch_size)
            return full if self.drop_last or rest == 0 else full + 1
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self):
        batches = self._single_process() if self.num_workers == 0 else self._multi_process()
        if self.progress:
            return _with_progress(batches, self, self.progress)
        return batches

    # -- one process ------------------------------------------------------------------------
    def _single_process(self):
        if self._iterable:
            yield from self._iterable_batches(iter(self.dataset))
            return
        if self.batch_sampler is None:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])
            return
        for indices in self.batch_sampler:
            yield self.collate_fn(_fetch(self.dataset, indices))

    def _iterable_batches(self, stream):
        if self.batch_size is None:
            for sample in stream:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in stream:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    # -- worker processes -----------------------------------------------------------------
    def _multi_process(self):
        pool = self._pool if self._pool is not None else _WorkerPool(self)
        if self.persistent_workers:
            self._pool = pool
        try:
            yield from pool.epoch()
        finally:
            if not self.persistent_workers:
                pool.shutdown()

    def __del__(self) -> None:
        if getattr(self, "_pool", None) is not None:
            self._pool.shutdown()


def _fetch(dataset, indices: list) -> list:
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is not None:
        return getitems(indices)
    return [dataset[i] for i in indices]


def _with_progress(batches, loader: DataLoader, description):
    """Show a rich progress bar while iterating (``DataLoader(..., progress=True)``)."""
    from rich.progress import track
    try:
        total = len(loader)
    except TypeError:
        total = None
    label = description if isinstance(description, str) else "batches"
    yield from track(batches, description=label, total=total, transient=True)


# -- the worker side ---------------------------------------------------------------------------
_DONE = "__done__"


def _worker_loop(loader: DataLoader, worker_id: int, seed: int, tasks, results) -> None:
    """Run in a worker: fetch and collate each task (an index batch, or the stream) it is given."""
    global _worker_info
    _worker_info = WorkerInfo(worker_id, loader.num_workers, seed, loader.dataset)
    random.seed(seed)
    from ... import random as framework_random
    framework_random.manual_seed(seed)
    try:
        if loader.worker_init_fn is not None:
            loader.worker_init_fn(worker_id)
    except Exception as exc:  # noqa: BLE001 - reported to the main process
        results.put((None, worker_id, exc))
        return
    while True:
        task = tasks.get()
        if task is None:
            return
        epoch, number, indices = task
        try:
            if loader._iterable:
                for batch in loader._iterable_batches(iter(loader.dataset)):
                    results.put(((epoch, number), worker_id, batch))
                    number += 1
                results.put(((epoch, _DONE), worker_id, None))
                continue
            if loader.batch_sampler is None:
                data = loader.collate_fn(loader.dataset[indices])
            else:
                data = loader.collate_fn(_fetch(loader.dataset, indices))
            results.put(((epoch, number), worker_id, data))
        except Exception as exc:  # noqa: BLE001 - re-raised in the main process
            results.put(((epoch, number), worker_id, _WorkerError(exc, worker_id)))


class _WorkerError:
    """An exception raised in a worker, carried back to be re-raised in the main process."""

    def __init__(self, exc: BaseException, worker_id: int) -> None:
        self.exc = exc
        self.worker_id = worker_id


class _WorkerPool:
    """The worker processes of one loader, fed per epoch."""

    def __init__(self, loader: DataLoader) -> None:
        self.loader = loader
        context = loader.multiprocessing_context
        if context is None or isinstance(context, str):
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context(context or ("fork" if "fork" in methods else
                                                              None))
        base_seed = int(randint(0, 2 ** 62, (), dtype=dtypes.int64,
                                generator=loader.generator).item())
        self.results = context.Queue()
        self.tasks = [context.Queue() for _ in range(loader.num_workers)]
        self.workers = []
        for worker_id, tasks in enumerate(self.tasks):
            process = context.Process(target=_worker_loop, daemon=True,
                                      args=(loader, worker_id, base_seed + worker_id, tasks,
                                            self.results))
            process.start()
            self.workers.append(process)
        self.epoch_number = 0

    def epoch(self):
        """Yield this epoch's batches in order."""
        self.epoch_number += 1
        if self.loader._iterable:
            yield from self._iterable_epoch()
            return
        plan = iter(self.loader.batch_sampler if self.loader.batch_sampler is not None
                    else self.loader.sampler)
        outstanding, pending, sent, wanted = 0, {}, 0, 0
        limit = self.loader.prefetch_factor * self.loader.num_workers
        exhausted = False
        while True:
            while not exhausted and outstanding < limit:
                indices = next(plan, None)
                if indices is None:
                    exhausted = True
                    break
                self.tasks[sent % len(self.tasks)].put((self.epoch_number, sent, indices))
                sent += 1
                outstanding += 1
            if wanted == sent and exhausted:
                return
            while wanted not in pending:
                key, worker_id, data = self._get()
                if key is None or key[0] != self.epoch_number:
                    continue
                pending[key[1]] = data
            data = pending.pop(wanted)
            wanted += 1
            outstanding -= 1
            yield _unwrap(data)

    def _iterable_epoch(self):
        for tasks in self.tasks:
            tasks.put((self.epoch_number, 0, None))
        done = 0
        while done < len(self.tasks):
            key, worker_id, data = self._get()
            if key is None or key[0] != self.epoch_number:
                continue
            if key[1] == _DONE:
                done += 1
                continue
            yield _unwrap(data)

    def _get(self):
        timeout = self.loader.timeout or None
        waited = 0.0
        while True:
            try:
                item = self.results.get(timeout=_POLL_SECONDS if timeout is None else timeout)
            except queue.Empty:
                waited += _POLL_SECONDS
                dead = [w.pid for w in self.workers if not w.is_alive()]
                if timeout is not None:
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds") from None
                if dead:
                    raise RuntimeError(f"DataLoader worker (pid(s) {dead}) exited "
                                       "unexpectedly") from None
                continue
            if item[0] is None:
                raise item[2]
            return item

    def shutdown(self) -> None:
        """Stop the workers."""
        for tasks in self.tasks:
            tasks.put(None)
        for worker in self.workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.terminate()
        self.workers = []
        self.tasks = []


def _unwrap(data):
    if isinstance(data, _WorkerError):
        raise type(data.exc)(f"Caught {type(data.exc).__name__} in DataLoader worker process "
                             f"{data.worker_id}: {data.exc}") from data.exc
    return data
