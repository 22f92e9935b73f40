"""TensorDataset, DataLoader (batching, reproducible reshuffling), random_split, the digits."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad.data import DataLoader, Dataset, Subset, TensorDataset, random_split


def make_ds(n=10):
    X = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(X, y), X, y


def test_tensor_dataset_items_and_batches():
    ds, X, y = make_ds()
    assert len(ds) == 10
    x3, y3 = ds[3]
    np.testing.assert_array_equal(x3.numpy(), X[3])
    assert y3.item() == 3
    xb, yb = ds[[4, 1, 4]]
    np.testing.assert_array_equal(xb.numpy(), X[[4, 1, 4]])
    xb, yb = ds._batch(slice(2, 5))  # the loader's one-copy batch (a view for a run of indices)
    np.testing.assert_array_equal(xb.numpy(), X[2:5])
    with pytest.raises(ValueError, match="(?i)size mismatch"):
        TensorDataset(X, y[:5])
    with pytest.raises(TypeError, match="tensors"):
        TensorDataset([1, 2, 3])


def test_loader_sequential_batches_and_drop_last():
    ds, X, y = make_ds(10)
    batches = list(DataLoader(ds, batch_size=4))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([b[1].numpy() for b in batches]), y)
    assert len(DataLoader(ds, batch_size=4)) == 3
    loader = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(b[1]) for b in loader] == [4, 4]


def epoch_orders(loader, epochs=3):
    return [np.concatenate([yb.numpy() for _, yb in loader]) for _ in range(epochs)]


def test_shuffle_reshuffles_each_epoch_reproducibly_from_seed():
    ds, X, y = make_ds(50)
    a = epoch_orders(DataLoader(ds, batch_size=8, shuffle=True, generator=eg.Generator(7)))
    b = epoch_orders(DataLoader(ds, batch_size=8, shuffle=True, generator=eg.Generator(7)))
    c = epoch_orders(DataLoader(ds, batch_size=8, shuffle=True, generator=eg.Generator(8)))
    for order in a:
        np.testing.assert_array_equal(np.sort(order), y)  # every sample once per epoch
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert not np.array_equal(a[0], a[1])  # a new order every epoch
    assert not np.array_equal(a[0], c[0])


def test_shuffle_without_generator_follows_manual_seed():
    ds, _, _ = make_ds(40)
    eg.manual_seed(11)
    a = epoch_orders(DataLoader(ds, batch_size=5, shuffle=True), 2)
    eg.manual_seed(11)
    b = epoch_orders(DataLoader(ds, batch_size=5, shuffle=True), 2)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))


def test_batches_keep_features_and_labels_aligned():
    ds, X, y = make_ds(30)
    for xb, yb in DataLoader(ds, batch_size=7, shuffle=True, generator=eg.Generator(1)):
        np.testing.assert_array_equal(xb.numpy(), X[yb.numpy()])


def test_generic_dataset_is_collated():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.float32(i * i), i

    xb, yb = next(iter(DataLoader(Squares(), batch_size=5)))
    np.testing.assert_array_equal(xb.numpy(), [0, 1, 4, 9, 16])
    np.testing.assert_array_equal(yb.numpy(), np.arange(5))


def test_loader_bad_arguments():
    ds, _, _ = make_ds()
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="batch_size"):
        DataLoader(ds, batch_size=2.5)
    with pytest.raises(TypeError, match="generator"):
        DataLoader(ds, shuffle=True, generator=np.random.default_rng(0))


def test_empty_dataset_gives_no_batches_in_order_and_refuses_to_shuffle():
    """PyTorch's: a RandomSampler (shuffle=True) over nothing is a ValueError; in order, no batches."""
    ds = TensorDataset(np.zeros((0, 3), np.float32))
    assert list(DataLoader(ds, batch_size=4)) == []
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        DataLoader(ds, batch_size=4, shuffle=True)
    with pytest.raises(ValueError, match="num_samples=0"):
        eg.data.RandomSampler(ds, replacement=True)
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        eg.data.RandomSampler(TensorDataset(np.zeros((2, 3), np.float32)), replacement=1)


def test_random_split_partitions_reproducibly():
    ds, _, y = make_ds(20)
    parts = random_split(ds, [15, 5], generator=eg.Generator(3))
    assert [len(p) for p in parts] == [15, 5]
    idx = np.concatenate([p.indices for p in parts])
    np.testing.assert_array_equal(np.sort(idx), y)
    again = random_split(ds, [15, 5], generator=eg.Generator(3))
    np.testing.assert_array_equal(parts[0].indices, again[0].indices)
    fr = random_split(ds, [0.5, 0.3, 0.2], generator=eg.Generator(3))
    assert [len(p) for p in fr] == [10, 6, 4]
    xb, yb = next(iter(DataLoader(parts[1], batch_size=5)))
    np.testing.assert_array_equal(yb.numpy(), parts[1].indices)
    assert isinstance(parts[0], Subset)
    with pytest.raises(ValueError, match="lengths"):
        random_split(ds, [5, 5])


def test_load_digits_is_the_uci_digits():
    d = eg.datasets.load_digits()
    assert d.data.shape == (1797, 64) and d.images.shape == (1797, 8, 8) and d.target.shape == (1797,)
    assert d.data.dtype == np.float64 and d.target.dtype == np.int64
    assert d.data.min() == 0 and d.data.max() == 16
    np.testing.assert_array_equal(np.bincount(d.target), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    np.testing.assert_array_equal(d.data, d.images.reshape(1797, 64))
    np.testing.assert_array_equal(d.target_names, np.arange(10))
    assert "CC BY 4.0" in d.DESCR
    # the first image is a zero (as in scikit-learn's copy of the data)
    assert d.target[0] == 0 and d.data[0, :8].tolist() == [0, 0, 5, 13, 9, 1, 0, 0]
    X, y = eg.datasets.load_digits(return_X_y=True)
    np.testing.assert_array_equal(X, d.data)


def test_pytorch_import_path_of_the_data_tools():
    """``from eigengrad.utils.data import DataLoader`` (and its submodules) give eigengrad.data's objects,
    never a second copy of a module."""
    import importlib

    import eigengrad.data.sampler as sampler

    ud = importlib.import_module("eigengrad.utils.data")
    assert ud is eg.data and eg.utils.data is eg.data
    assert importlib.import_module("eigengrad.utils.data.sampler") is sampler
    from eigengrad.utils.data import DataLoader, TensorDataset
    from eigengrad.utils.data._utils.collate import default_collate

    assert DataLoader is eg.data.DataLoader and TensorDataset is eg.data.TensorDataset
    assert default_collate([eg.tensor([1.0]), eg.tensor([2.0])]).tolist() == [[1.0], [2.0]]
