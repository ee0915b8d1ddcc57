"""``DataLoader``: batches from a dataset, optionally loaded by worker processes.

With ``num_workers > 0`` each epoch starts worker processes (kept across
epochs with ``persistent_workers``); the main process hands out batches of
indices (or, for an ``IterableDataset``, requests for the next batch of each
worker's stream) round-robin and yields the results in order. Samples travel
between processes pickled (tensors pickle as host arrays).

Faults never hang (PyTorch's design, ``torch/utils/data/_utils``): a worker's
exception travels as its type and formatted traceback, so the main process
re-raises it at once even when the exception itself cannot be pickled; the
waiting main process checks every 0.5 s that its workers live and raises
``DataLoader worker (pid(s) N) exited unexpectedly``; an idle worker checks as
often that its parent lives and exits when it is gone; workers ignore SIGINT so
that Ctrl-C shows the main process's traceback only.
"""
from __future__ import annotations

import importlib
import multiprocessing
import os
import pickle
import queue
import random
import signal
import threading
import time
import traceback
import weakref
from dataclasses import dataclass
from typing import Any, Callable

from ... import dtypes
from ...ops.creation import randint, tensor
from ...tensor import Tensor
from .collate import default_collate, default_convert
from .dataset import IterableDataset, TensorDataset
from .sampler import BatchSampler, RandomSampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info", "WorkerInfo"]

_STATUS_POLL_SECONDS = 0.5  # how often a waiting main process checks that its workers live
_WORKER_POLL_SECONDS = 0.5  # how often an idle worker checks that its main process lives
_SHUTDOWN_SECONDS = 5.0  # how long shutdown waits for workers before terminating them


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
        if self.num_workers == 0 and self.timeout > 0:
            raise AssertionError("DataLoader without workers requires timeout == 0 (timeout "
                                 "bounds the wait for a worker's batch)")
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
            yield _fetch_batch(self.dataset, indices, self.collate_fn)

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
        pool = self._pool if self._pool is not None and self._pool.alive else _WorkerPool(self)
        if self.persistent_workers:
            self._pool = pool  # stopped when the loader (hence the pool) is freed
        plan = None if self._iterable else iter(
            self.batch_sampler if self.batch_sampler is not None else self.sampler)
        try:
            yield from pool.epoch(plan)
        finally:
            if not self.persistent_workers:
                pool.shutdown()


def _fetch_batch(dataset, indices: list, collate_fn):
    """``collate_fn(_fetch(dataset, indices))``; with the default collation, for a
    ``TensorDataset`` each tensor's rows gathered at once (``index_select``): the tensors
    ``default_collate`` would stack from the samples ``t[i]``, without a view per sample;
    and for a dataset with a ``_collated_batch`` (``MNIST``: the images of the batch
    transformed as one stack), what that returns unless it is None."""
    if collate_fn is default_collate and indices:
        collated = getattr(dataset, "_collated_batch", None)
        if collated is not None:
            batch = collated(indices)
            if batch is not None:
                return batch
    if collate_fn is default_collate and type(dataset) is TensorDataset and indices:
        tensors = dataset.tensors
        rows = len(dataset)
        if (all(type(i) is int and 0 <= i < rows for i in indices)
                and all(type(t) is Tensor and t.ndim >= 1 and not t.requires_grad
                        for t in tensors)):
            return tuple([t.index_select(0, tensor(indices, dtype=dtypes.int64, device=t.device))
                          for t in tensors])
    return collate_fn(_fetch(dataset, indices))


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
class _EndOfStream:
    """A worker's answer when its IterableDataset stream has no more batches this epoch."""


class _KeyErrorMessage(str):
    """A KeyError's message that prints as itself: KeyError shows ``repr`` of its argument."""

    def __repr__(self) -> str:
        return self


class _WorkerError:
    """An exception raised in a worker, carried to the main process as text.

    Like ``torch._utils.ExceptionWrapper``, only the exception's class and its
    formatted traceback travel (here the class as its module and qualified name,
    so this object always pickles and unpickles): exceptions that cannot be
    pickled, or cannot be rebuilt from their ``args``, still reach the main process.
    """

    def __init__(self, exc: BaseException, where: str) -> None:
        kind = type(exc)
        self.type_module, self.type_qualname = kind.__module__, kind.__qualname__
        self.exc_msg = "".join(traceback.format_exception(kind, exc, exc.__traceback__))
        self.where = where

    def exception_type(self) -> type | None:
        """The exception's class as the main process finds it by name, or None."""
        if "<locals>" in self.type_qualname:
            return None
        try:
            found = importlib.import_module(self.type_module)
            for part in self.type_qualname.split("."):
                found = getattr(found, part)
        except Exception:  # noqa: BLE001 - not importable here: re-raised as RuntimeError
            return None
        return found if isinstance(found, type) and issubclass(found, BaseException) else None

    def reraise(self):
        """Raise the worker's exception type with the worker's traceback in its message.

        A type that the main process cannot find, or cannot build from one
        message string, becomes a RuntimeError carrying the same text.
        """
        name = self.type_qualname.rsplit(".", 1)[-1]
        message = f"Caught {name} {self.where}.\nOriginal {self.exc_msg}"
        kind = self.exception_type()
        if kind is None:
            raise RuntimeError(message)
        if kind is KeyError:
            message = _KeyErrorMessage(message)
        try:
            if getattr(kind, "message", None):  # exceptions whose message is a keyword field
                exception = kind(message=message)
            else:
                exception = kind(message)
        except Exception:  # noqa: BLE001 - any failure to rebuild falls back to the text
            raise RuntimeError(message) from None
        raise exception


class _ParentWatchdog:
    """Tells a worker whether the process that started it still lives (PyTorch's ManagerWatchdog).

    A process whose parent dies is re-parented, so its parent pid changes.
    """

    def __init__(self) -> None:
        self.parent_pid = os.getppid()
        self.parent_dead = False

    def parent_alive(self) -> bool:
        if not self.parent_dead:
            self.parent_dead = os.getppid() != self.parent_pid
        return not self.parent_dead


def _worker_loop(loader: DataLoader, worker_id: int, seed: int, tasks, results,
                 done) -> None:
    """Run in a worker: answer each task (a batch of indices, or a request for the next batch
    of this worker's stream) until told to stop or the main process is gone."""
    global _worker_info
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to report
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked across the fork
    _worker_info = WorkerInfo(worker_id, loader.num_workers, seed, loader.dataset)
    random.seed(seed)
    from ... import random as framework_random
    framework_random.manual_seed(seed)
    where = f"in DataLoader worker process {worker_id}"
    init_error = None
    try:
        if loader.worker_init_fn is not None:
            loader.worker_init_fn(worker_id)
    except Exception as exc:  # noqa: BLE001 - the answer to every task
        init_error = _WorkerError(exc, where)
    watchdog = _ParentWatchdog()
    stream, stream_epoch = None, None
    try:
        while watchdog.parent_alive():
            try:
                task = tasks.get(timeout=_WORKER_POLL_SECONDS)
            except queue.Empty:
                if done.is_set():  # stopping, and the sentinel did not come: stop anyway
                    break
                continue
            if task is None or done.is_set():  # stopping: skip the tasks still queued
                break
            epoch, number, indices = task
            if init_error is not None:
                data = init_error
            else:
                try:
                    if loader._iterable:
                        if stream_epoch != epoch:
                            stream = loader._iterable_batches(iter(loader.dataset))
                            stream_epoch = epoch
                        data = next(stream, _EndOfStream())
                    elif loader.batch_sampler is None:
                        data = loader.collate_fn(loader.dataset[indices])
                    else:
                        data = _fetch_batch(loader.dataset, indices, loader.collate_fn)
                except Exception as exc:  # noqa: BLE001 - re-raised in the main process
                    data = _WorkerError(exc, where)
            _send(results, (epoch, number), worker_id, data)
            del data
    except KeyboardInterrupt:  # raised by user code only (SIGINT is ignored): the main
        pass                    # process reports Ctrl-C
    # Stopping, or the main process is gone: exit without waiting for the results queue to
    # flush (no one may read it, and a full pipe would block the exit for ever).
    results.cancel_join_thread()


def _send(results, key: tuple, worker_id: int, data) -> None:
    """Put ``data`` on the results queue pickled here, so a pickling failure is reported
    instead of being dropped by the queue's feeder thread (which would hang the main)."""
    try:
        payload = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # noqa: BLE001 - reported to the main process
        error = _WorkerError(exc, f"in DataLoader worker process {worker_id} while pickling "
                                  f"its batch for the main process")
        payload = pickle.dumps(error, protocol=pickle.HIGHEST_PROTOCOL)
    results.put((key, worker_id, payload))


def _receive(payload: bytes, worker_id: int):
    try:
        return pickle.loads(payload)
    except Exception as exc:
        raise RuntimeError(f"DataLoader worker process {worker_id} sent a batch the main "
                           f"process cannot unpickle: {exc!r}") from exc


def _hand_over(tasks, task) -> None:
    """``tasks.put(task)`` with Ctrl-C held until it returns.

    ``Queue.put`` takes a lock that a KeyboardInterrupt raised at the wrong bytecode can leave
    held (the ``with`` statement is not signal-safe); shutdown's own ``put`` and the queue's
    exit finalizer would then wait on it for ever. So while it runs, SIGINT only notes that it
    came (whichever thread the OS gave it to, Python runs the handler in the main thread),
    and is raised again once the lock is released.
    """
    if threading.current_thread() is not threading.main_thread():
        tasks.put(task)  # signal handlers run, and can only be set, in the main thread
        return
    came = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: came.append(signum))
    try:
        tasks.put(task)
    finally:
        signal.signal(signal.SIGINT, previous)
    if came:
        signal.raise_signal(signal.SIGINT)  # to the handler the caller had


def _start_without_sigint(process) -> None:
    """Start ``process`` with SIGINT blocked, so Ctrl-C during the fork cannot reach the child
    before it ignores SIGINT; the parent gets any pending SIGINT once it unblocks."""
    if not hasattr(signal, "pthread_sigmask"):
        process.start()
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        process.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _exit_reason(process) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"pid {process.pid} killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"pid {process.pid} killed by signal {-code}"
    return f"pid {process.pid} exit code {code}"


class _WorkerPool:
    """The worker processes of one loader, fed per epoch.

    The pool holds no reference to its loader, and its workers are stopped by a
    ``weakref.finalize``: stopping needs only the processes, queues and event it
    holds, which stay intact even when the pool dies in a garbage cycle.
    """

    def __init__(self, loader: DataLoader) -> None:
        self.iterable = loader._iterable
        self.timeout = loader.timeout
        self.limit = loader.prefetch_factor * loader.num_workers  # answers awaited at most
        context = loader.multiprocessing_context
        if context is None or isinstance(context, str):
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context(context or ("fork" if "fork" in methods else
                                                              None))
        base_seed = int(randint(0, 2 ** 62, (), dtype=dtypes.int64,
                                generator=loader.generator).item())
        self.results = context.Queue()
        self.done = context.Event()
        self.tasks = [context.Queue() for _ in range(loader.num_workers)]
        self.workers = []
        self._stop = weakref.finalize(self, _stop_workers, self.workers, self.tasks, self.done)
        for worker_id, tasks in enumerate(self.tasks):
            process = context.Process(target=_worker_loop, daemon=True,
                                      args=(loader, worker_id, base_seed + worker_id, tasks,
                                            self.results, self.done))
            _start_without_sigint(process)
            self.workers.append(process)
        self.epoch_number = 0

    @property
    def alive(self) -> bool:
        """Whether the workers still serve (not shut down)."""
        return self._stop.alive

    def epoch(self, plan):
        """Yield this epoch's batches in order; ``plan`` iterates over the index batches
        (None for an IterableDataset)."""
        self.epoch_number += 1
        if self.iterable:
            yield from self._iterable_epoch()
            return
        outstanding, pending, sent, wanted = 0, {}, 0, 0
        exhausted = False
        while True:
            while not exhausted and outstanding < self.limit:
                indices = next(plan, None)
                if indices is None:
                    exhausted = True
                    break
                _hand_over(self.tasks[sent % len(self.tasks)], (self.epoch_number, sent, indices))
                sent += 1
                outstanding += 1
            if wanted == sent and exhausted:
                return
            data = self._next_in_order(pending, wanted)
            wanted += 1
            outstanding -= 1
            yield _unwrap(data)

    def _iterable_epoch(self):
        """Ask the workers for their streams' batches round-robin; yield them in that order.

        One request per batch keeps every worker at most ``prefetch_factor`` batches ahead
        and listening for a stop (or its parent's death) between batches.
        """
        active = list(range(len(self.tasks)))  # workers whose stream has not ended
        owner, pending, sent, wanted, turn = {}, {}, 0, 0, 0
        while True:
            while active and sent - wanted < self.limit:
                worker_id = active[turn % len(active)]
                turn += 1
                _hand_over(self.tasks[worker_id], (self.epoch_number, sent, None))
                owner[sent] = worker_id
                sent += 1
            if wanted == sent:
                return
            data = self._next_in_order(pending, wanted)
            worker_id = owner.pop(wanted)
            wanted += 1
            if isinstance(data, _EndOfStream):
                if worker_id in active:
                    active.remove(worker_id)
                continue
            yield _unwrap(data)

    def _next_in_order(self, pending: dict, wanted: int):
        """This epoch's answer number ``wanted``, keeping answers that arrive early."""
        while wanted not in pending:
            (epoch, number), worker_id, data = self._get()
            if epoch == self.epoch_number:  # answers to an abandoned epoch are dropped
                pending[number] = data
        return pending.pop(wanted)

    def _get(self):
        """The next answer from any worker; raises if a worker died or ``timeout`` expired."""
        timeout = self.timeout
        deadline = time.monotonic() + timeout if timeout else None
        while True:
            wait = _STATUS_POLL_SECONDS
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            try:
                key, worker_id, payload = self.results.get(timeout=wait)
            except queue.Empty:
                self._raise_if_a_worker_died()
                if deadline is not None and time.monotonic() >= deadline:
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds") from None
                continue
            return key, worker_id, _receive(payload, worker_id)

    def _raise_if_a_worker_died(self) -> None:
        dead = [worker for worker in self.workers if not worker.is_alive()]
        if not dead:
            return
        pids = ", ".join(str(worker.pid) for worker in dead)
        reasons = "; ".join(_exit_reason(worker) for worker in dead)
        self.shutdown()  # the dead workers' batches are lost: this pool cannot serve again
        raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly "
                           f"({reasons})") from None

    def shutdown(self) -> None:
        """Stop the workers (once; later calls do nothing)."""
        self._stop()


def _stop_workers(workers: list, tasks: list, done) -> None:
    """Ask the workers to stop, wait up to a few seconds, then terminate the rest."""
    done.set()
    for queue_ in tasks:
        try:
            queue_.put(None)
        except (ValueError, OSError):  # already closed at interpreter exit
            pass
    deadline = time.monotonic() + _SHUTDOWN_SECONDS
    for worker in workers:
        worker.join(timeout=max(0.0, deadline - time.monotonic()))
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
            worker.join(timeout=1.0)
    for queue_ in tasks:  # never block our own exit on flushing a queue no one reads
        queue_.cancel_join_thread()
        queue_.close()


def _unwrap(data):
    if isinstance(data, _WorkerError):
        data.reraise()
    return data
