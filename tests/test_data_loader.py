"""DataLoader with samplers, batch samplers, collate_fn and background prefetch; the samplers."""
import threading

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.data import (
    BatchSampler, DataLoader, RandomSampler, SequentialSampler, Subset, SubsetRandomSampler, TensorDataset,
    WeightedRandomSampler,
)


def _dataset(n=103):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    return TensorDataset(x, np.arange(n))


def _labels(loader):
    return np.concatenate([yb.numpy() for _, yb in loader])


def test_sequential_batches_are_views_of_the_data():
    ds = _dataset()
    xb, yb = next(iter(DataLoader(ds, batch_size=10)))
    assert np.shares_memory(xb.numpy(), ds.arrays[0])
    np.testing.assert_array_equal(yb.numpy(), np.arange(10))


@pytest.mark.parametrize("workers", [0, 1, 2])
def test_shuffled_order_is_fixed_by_the_seed_with_or_without_prefetch(workers):
    orders = []
    for _ in range(2):
        loader = DataLoader(_dataset(), batch_size=16, shuffle=True, generator=eg.Generator(7), num_workers=workers)
        orders.append([_labels(loader), _labels(loader)])  # two epochs
    np.testing.assert_array_equal(orders[0][0], orders[1][0])
    np.testing.assert_array_equal(orders[0][1], orders[1][1])
    assert not np.array_equal(orders[0][0], orders[0][1])  # reshuffled every epoch
    np.testing.assert_array_equal(np.sort(orders[0][0]), np.arange(103))
    sync = DataLoader(_dataset(), batch_size=16, shuffle=True, generator=eg.Generator(7))
    np.testing.assert_array_equal(_labels(sync), orders[0][0])  # prefetch changes nothing


def test_prefetch_runs_in_a_background_thread_and_propagates_errors():
    seen = []

    class Slow(TensorDataset):
        def __getitems__(self, idx):  # PyTorch's protocol: a list of ints -> a list of samples
            seen.append(threading.current_thread().name)
            assert isinstance(idx, list)
            if idx[0] >= 40:
                raise RuntimeError("bad sample")
            return [self[i] for i in idx]

    ds = Slow(np.zeros((60, 2)), np.arange(60))
    loader = DataLoader(ds, batch_size=10, num_workers=1, prefetch_factor=3)
    got = []
    with pytest.raises(RuntimeError, match="bad sample"):
        for _, yb in loader:
            got.append(yb.numpy()[0])
    assert got == [0, 10, 20, 30]
    assert set(seen) == {"eigengrad-prefetch"}


def test_breaking_out_stops_the_prefetch_thread():
    loader = DataLoader(_dataset(1000), batch_size=10, num_workers=2)
    for i, _ in enumerate(loader):
        if i == 3:
            break
    import gc
    gc.collect()
    for t in threading.enumerate():  # (the loop's generator may be closed inside the worker, which then stops by
        if t.name == "eigengrad-prefetch":  # itself within a put's 0.05 s wait: give it a bounded while)
            t.join(timeout=5)
    assert not any(t.name == "eigengrad-prefetch" and t.is_alive() for t in threading.enumerate())


def test_sampler_and_collate_fn():
    ds = _dataset(20)
    loader = DataLoader(ds, batch_size=4, sampler=[3, 1, 4, 1, 5, 9, 2, 6],
                        collate_fn=lambda samples: np.array([int(y.item()) for _, y in samples]))
    batches = list(loader)
    np.testing.assert_array_equal(batches[0], [3, 1, 4, 1])
    np.testing.assert_array_equal(batches[1], [5, 9, 2, 6])


def test_batch_sampler_and_unbatched():
    ds = _dataset(10)
    loader = DataLoader(ds, batch_sampler=[[0, 1, 2], [7, 8]])
    assert [yb.numpy().tolist() for _, yb in loader] == [[0, 1, 2], [7, 8]]
    single = list(DataLoader(ds, batch_size=None))
    assert len(single) == 10 and single[3][1].item() == 3


def test_drop_last_and_len():
    loader = DataLoader(_dataset(103), batch_size=10, drop_last=True)
    assert len(loader) == 10 and len(list(loader)) == 10
    assert len(DataLoader(_dataset(103), batch_size=10)) == 11


def test_samplers():
    ds = _dataset(50)
    assert list(SequentialSampler(ds))[:3] == [0, 1, 2]
    r = RandomSampler(ds, generator=eg.Generator(1))
    assert sorted(r) == list(range(50))
    long = RandomSampler(ds, num_samples=120, generator=eg.Generator(1)).indices()
    assert len(long) == 120 and sorted(long[:50]) == list(range(50))  # whole permutations first
    rep = RandomSampler(ds, replacement=True, num_samples=5000, generator=eg.Generator(2)).indices()
    assert rep.min() >= 0 and rep.max() < 50 and len(np.unique(rep)) == 50
    sub = SubsetRandomSampler([5, 6, 7], generator=eg.Generator(3))
    assert sorted(sub) == [5, 6, 7]
    assert list(BatchSampler(SequentialSampler(range(7)), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(SequentialSampler(range(7)), 3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]


def test_weighted_sampler_follows_the_weights():
    w = np.array([1.0, 0.0, 3.0, 6.0])
    draws = WeightedRandomSampler(w, 100_000, generator=eg.Generator(4)).indices()
    freq = np.bincount(draws, minlength=4) / len(draws)
    np.testing.assert_allclose(freq, w / w.sum(), atol=0.01)
    no_rep = WeightedRandomSampler(w, 3, replacement=False, generator=eg.Generator(5)).indices()
    assert sorted(no_rep) == [0, 2, 3]  # every nonzero weight once, zero never
    # as PyTorch: zero-weight indices follow once the nonzero ones are used up; bad weights fail when drawing
    assert sorted(WeightedRandomSampler(w, 4, replacement=False, generator=eg.Generator(5))) == [0, 1, 2, 3]
    with pytest.raises(RuntimeError, match=r"^invalid multinomial distribution \(encountering probability entry < 0"):
        list(WeightedRandomSampler([-1.0, 2.0], 3))


def test_bad_arguments():
    ds = _dataset(10)
    with pytest.raises(ValueError, match=r"^sampler: "):
        DataLoader(ds, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match=r"^batch_sampler: "):
        DataLoader(ds, batch_sampler=[[0]], batch_size=4)
    with pytest.raises(ValueError, match=r"^num_workers: "):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match=r"^prefetch_factor: "):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match=r"^batch_size: "):
        DataLoader(ds, batch_size=0)


def test_a_subclass_that_reads_samples_its_own_way_sees_every_sample():
    # an augmenting TensorDataset subclass: the one-copy batch would skip its __getitem__ (PyTorch calls it)
    class Shifted(TensorDataset):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x + 100, y

    ds = Shifted(np.arange(6.0).reshape(6, 1), np.arange(6))
    xb, yb = next(iter(DataLoader(ds, batch_size=3)))
    assert xb.numpy().ravel().tolist() == [100.0, 101.0, 102.0] and yb.tolist() == [0, 1, 2]
    xb, _ = next(iter(DataLoader(Subset(ds, [5, 4, 3]), batch_size=3)))
    assert xb.numpy().ravel().tolist() == [105.0, 104.0, 103.0]
    plain = TensorDataset(np.arange(6.0).reshape(6, 1), np.arange(6))
    xb, _ = next(iter(DataLoader(Subset(plain, [5, 4, 3]), batch_size=3)))
    assert xb.numpy().ravel().tolist() == [5.0, 4.0, 3.0]


def test_getitems_protocol_gets_a_list_and_its_samples_are_collated():
    calls = []

    class Tens(eg.data.Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            raise AssertionError("__getitems__ is preferred")

        def __getitems__(self, idx):
            calls.append(idx)
            return [(i * 10, eg.tensor([float(i)])) for i in idx]

    batches = list(DataLoader(Tens(), batch_size=4))
    assert calls == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] and all(type(i) is int for c in calls for i in c)
    assert batches[1][0].tolist() == [40, 50, 60, 70] and batches[2][1].shape == (2, 1)
    sub = Subset(Tens(), [9, 2])  # Subset passes the mapped indices to the dataset's own __getitems__
    assert [s[0] for s in sub.__getitems__([0, 1])] == [90, 20]


def test_a_batch_sampler_as_the_sampler_without_automatic_batching():
    ds = TensorDataset(np.arange(10.0).reshape(10, 1), np.arange(10))
    loader = DataLoader(ds, sampler=eg.data.BatchSampler(eg.data.SequentialSampler(ds), 4, False), batch_size=None)
    assert [y.tolist() for _, y in loader] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_random_split_subsets_keep_list_indices():
    a, b = eg.data.random_split(range(10), [7, 3], generator=eg.Generator().manual_seed(0))
    assert type(a.indices) is list and sorted(a.indices + b.indices) == list(range(10))
    a.indices = [0, 1]  # reassigned as PyTorch scripts do
    assert len(a) == 2 and a[1] == 1


def test_samplers_a_script_writes_are_iterated():
    # PyTorch's Sampler protocol is __iter__ (+ __len__); a subclass of a built-in sampler that replaces
    # __iter__ is followed too (not bypassed by the built-in's one-draw epoch)
    ds = TensorDataset(np.arange(8.0), np.arange(8))

    class Reverse(eg.data.Sampler):
        def __init__(self, data_source):
            self.n = len(data_source)

        def __iter__(self):
            return iter(range(self.n - 1, -1, -1))

        def __len__(self):
            return self.n

    class Evens(RandomSampler):
        def __iter__(self):
            return iter(range(0, len(self.data_source), 2))

        def __len__(self):
            return 4

    class Pairs(BatchSampler):
        def __iter__(self):
            return iter([[0, 7], [1, 6]])

    class NoLength(eg.data.Sampler):
        def __iter__(self):
            return iter([3, 2])

    loader = DataLoader(ds, sampler=Reverse(ds), batch_size=3)
    assert [y.tolist() for _, y in loader] == [[7, 6, 5], [4, 3, 2], [1, 0]] and len(loader) == 3
    assert [y.tolist() for _, y in DataLoader(ds, sampler=Evens(ds), batch_size=3)] == [[0, 2, 4], [6]]
    pairs = DataLoader(ds, batch_sampler=Pairs(SequentialSampler(ds), 2, False))
    assert [y.tolist() for _, y in pairs] == [[0, 7], [1, 6]]
    assert [y.tolist() for _, y in DataLoader(ds, sampler=NoLength(), batch_size=3)] == [[3, 2]]
    with pytest.raises(TypeError, match="has no len"):
        len(DataLoader(ds, sampler=NoLength(), batch_size=3))
    with pytest.raises(TypeError, match="a Sampler subclass must define __iter__"):
        iter(eg.data.Sampler())
