"""framework.utils.data: datasets, samplers, collation and DataLoader behave like torch's."""
from collections import namedtuple

import numpy as np
import pytest

import framework
from framework.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                                  IterableDataset, RandomSampler, SequentialSampler, Subset,
                                  TensorDataset, WeightedRandomSampler, default_collate,
                                  get_worker_info, random_split)


class Squares(Dataset):
    """Sample i is (i, i²) as plain Python numbers."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i, float(i * i)


class Stream(IterableDataset):
    """0..n-1, split between workers by worker id."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))


class Failing(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        raise ValueError(f"bad sample {i}")


def test_tensor_dataset_indexes_every_tensor():
    x, y = framework.arange(10).reshape(5, 2), framework.arange(5)
    ds = TensorDataset(x, y)
    assert len(ds) == 5
    a, b = ds[3]
    assert a.tolist() == [6, 7] and b.item() == 3
    with pytest.raises(ValueError, match="Size mismatch"):
        TensorDataset(x, framework.arange(4))


def test_subset_concat_and_add():
    ds = Squares(5)
    assert Subset(ds, [4, 0])[0] == (4, 16.0)
    both = ds + Squares(3)
    assert isinstance(both, ConcatDataset) and len(both) == 8
    assert both[6] == (1, 1.0) and both[-1] == (2, 4.0)


def test_random_split_by_lengths_and_fractions_is_a_partition():
    framework.manual_seed(0)
    parts = random_split(Squares(10), [3, 7])
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    assert [len(p) for p in random_split(Squares(10), [0.5, 0.3, 0.2])] == [5, 3, 2]
    assert [len(p) for p in random_split(Squares(5), [0.5, 0.5])] == [3, 2]
    with pytest.raises(ValueError, match="Sum of input lengths"):
        random_split(Squares(10), [3, 3])


def test_random_split_is_reproducible_with_a_generator():
    first = random_split(Squares(20), [10, 10], generator=framework.Generator().manual_seed(1))
    second = random_split(Squares(20), [10, 10], generator=framework.Generator().manual_seed(1))
    assert first[0].indices == second[0].indices


def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    g = framework.Generator().manual_seed(3)
    order = list(RandomSampler(range(6), generator=g))
    assert sorted(order) == list(range(6))
    draws = list(RandomSampler(range(3), replacement=True, num_samples=50))
    assert len(draws) == 50 and set(draws) <= {0, 1, 2}
    assert list(BatchSampler(range(7), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(BatchSampler(range(7), 3, drop_last=True)) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(7), 0, False)


def test_weighted_random_sampler_follows_the_weights():
    framework.manual_seed(0)
    draws = np.array(list(WeightedRandomSampler([0.0, 1.0, 3.0], 4000)))
    assert (draws != 0).all()
    assert abs((draws == 2).mean() - 0.75) < 0.03
    unique = list(WeightedRandomSampler([1.0, 1.0, 5.0, 0.0], 3, replacement=False))
    assert sorted(unique) == [0, 1, 2]
    with pytest.raises(RuntimeError, match="without replacement"):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)


def test_default_collate_structures():
    Point = namedtuple("Point", "x y")
    batch = default_collate([{"a": np.ones(2, np.float32), "b": (1, 2.0, "s"), "p": Point(1, 2)},
                             {"a": np.zeros(2, np.float32), "b": (3, 4.0, "t"), "p": Point(3, 4)}])
    assert batch["a"].shape == (2, 2) and batch["a"].dtype is framework.float32
    ints, floats, strings = batch["b"]
    assert ints.dtype is framework.int64 and ints.tolist() == [1, 3]
    assert floats.dtype is framework.float64
    assert strings == ["s", "t"]
    assert isinstance(batch["p"], Point) and batch["p"].y.tolist() == [2, 4]
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])


def test_dataloader_batches_in_order_and_drop_last():
    loader = DataLoader(Squares(7), batch_size=3)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert batches[0][0].tolist() == [0, 1, 2] and batches[2][1].tolist() == [36.0]
    assert len(list(DataLoader(Squares(7), batch_size=3, drop_last=True))) == 2


def test_dataloader_shuffle_is_seeded_by_its_generator():
    def epoch(seed):
        loader = DataLoader(Squares(10), batch_size=4, shuffle=True,
                            generator=framework.Generator().manual_seed(seed))
        return [i for ids, _ in loader for i in ids.tolist()]

    assert epoch(5) == epoch(5)
    assert sorted(epoch(5)) == list(range(10))
    assert epoch(5) != list(range(10))


def test_dataloader_shuffle_follows_manual_seed():
    def epoch():
        framework.manual_seed(11)
        return [i for ids, _ in DataLoader(Squares(10), batch_size=5, shuffle=True)
                for i in ids.tolist()]

    assert epoch() == epoch()


def test_dataloader_collate_fn_and_no_batching():
    loader = DataLoader(Squares(3), batch_size=2, collate_fn=lambda samples: len(samples))
    assert list(loader) == [2, 1]
    assert list(DataLoader(Squares(2), batch_size=None)) == [(0, 0.0), (1, 1.0)]


def test_dataloader_over_tensor_dataset_yields_stacked_tensors(device):
    x = framework.randn(6, 2, device=device)
    loader = DataLoader(TensorDataset(x, framework.arange(6, device=device)), batch_size=4)
    xb, yb = next(iter(loader))
    assert xb.shape == (4, 2) and xb.device == x.device
    assert yb.tolist() == [0, 1, 2, 3]


def test_dataloader_with_workers_matches_single_process():
    single = [b[0].tolist() for b in DataLoader(Squares(11), batch_size=3)]
    multi = [b[0].tolist() for b in DataLoader(Squares(11), batch_size=3, num_workers=2)]
    assert multi == single


def test_persistent_workers_serve_several_epochs():
    loader = DataLoader(Squares(5), batch_size=2, num_workers=2, persistent_workers=True)
    assert [len(list(loader)) for _ in range(2)] == [3, 3]


def test_iterable_dataset_with_workers_covers_the_stream_once():
    values = [v for batch in DataLoader(Stream(9), batch_size=2, num_workers=2)
              for v in batch.tolist()]
    assert sorted(values) == list(range(9))
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2)] == [[0, 1], [2, 3], [4]]


def test_worker_errors_are_reraised_in_the_main_process():
    with pytest.raises(ValueError, match="bad sample"):
        list(DataLoader(Failing(), batch_size=2, num_workers=1))


def test_progress_bar_iterates_everything():
    assert len(list(DataLoader(Squares(5), batch_size=2, progress="train"))) == 3


@pytest.mark.parametrize("kwargs,message", [
    (dict(num_workers=-1), "num_workers"),
    (dict(sampler=SequentialSampler(range(3)), shuffle=True), "mutually exclusive with shuffle"),
    (dict(batch_sampler=BatchSampler(range(3), 2, False), batch_size=2), "batch_sampler option"),
    (dict(batch_size=None, drop_last=True), "batch_size=None"),
])
def test_bad_dataloader_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(Squares(3), **kwargs)


def test_iterable_dataset_refuses_shuffle():
    with pytest.raises(ValueError, match="shuffle"):
        DataLoader(Stream(3), shuffle=True)


def _stack_pair(*args, **kwargs):
    """``StackDataset`` of both libraries over the same datasets (plain lists)."""
    import torch
    from framework.utils.data import StackDataset
    return StackDataset(*args, **kwargs), torch.utils.data.StackDataset(*args, **kwargs)


class _Batched(Squares):
    """``Squares`` with a batched fetch (``__getitems__``) that counts its calls."""
    calls = 0

    def __getitems__(self, indices):
        _Batched.calls += 1
        return [self[i] for i in indices]


def test_stack_dataset_as_torch():
    texts = ["a", "b", "c", "d"]
    ours, theirs = _stack_pair(Squares(4), texts)
    assert len(ours) == len(theirs) == 4
    assert ours[2] == theirs[2] == ((2, 4), "c")
    assert ours.__getitems__([3, 0]) == theirs.__getitems__([3, 0])
    ours, theirs = _stack_pair(x=_Batched(4), y=texts)
    assert ours[1] == theirs[1] == {"x": (1, 1), "y": "b"}
    _Batched.calls = 0
    assert ours.__getitems__([0, 2]) == theirs.__getitems__([0, 2])
    assert _Batched.calls == 2  # one batched fetch each
    batch = next(iter(DataLoader(ours, batch_size=3)))
    assert batch["y"] == ["a", "b", "c"] and batch["x"][1].tolist() == [0, 1, 4]


@pytest.mark.parametrize("args,kwargs", [((Squares(2), [1, 2, 3]), {}), ((), {}),
                                         ((), {"a": [1], "b": [1, 2]}),
                                         (([1],), {"b": [1]})])
def test_stack_dataset_errors_as_torch(args, kwargs):
    import torch
    from framework.utils.data import StackDataset
    with pytest.raises(ValueError) as want:
        torch.utils.data.StackDataset(*args, **kwargs)
    with pytest.raises(ValueError) as got:
        StackDataset(*args, **kwargs)
    assert str(got.value) == str(want.value)


def test_stack_dataset_checks_nested_batch_size():
    class Short(Squares):
        def __getitems__(self, indices):
            return [self[i] for i in indices[1:]]

    ours, theirs = _stack_pair(Short(3), Squares(3))
    for stack in (ours, theirs):
        with pytest.raises(ValueError, match="Nested dataset's output size mismatch. Expected 2, "
                                             "got 1"):
            stack.__getitems__([0, 1])
