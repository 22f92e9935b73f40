"""DataLoader with samplers, batch samplers, collate_fn and background prefetch; the samplers."""
import threading

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.data import (
    BatchSampler, DataLoader, RandomSampler, SequentialSampler, SubsetRandomSampler, TensorDataset,
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
        def __getitems__(self, idx):
            seen.append(threading.current_thread().name)
            if isinstance(idx, slice) and idx.start >= 40:
                raise RuntimeError("bad sample")
            return super().__getitems__(idx)

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
    with pytest.raises(ValueError, match=r"^num_samples: expected at most 3"):
        WeightedRandomSampler(w, 4, replacement=False)
    with pytest.raises(ValueError, match=r"^weights: "):
        WeightedRandomSampler([-1.0, 2.0], 3)


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
