"""default_collate / default_convert against torch.utils.data's on the structures PyTorch programs
batch; IterableDataset through the DataLoader; ConcatDataset, ChainDataset, Dataset + Dataset;
random_split with fractions (PyTorch's rounding and remainder)."""
import collections
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.data import (
    ChainDataset, ConcatDataset, DataLoader, Dataset, IterableDataset, TensorDataset, default_collate,
    default_convert, get_worker_info, random_split,
)

Point = collections.namedtuple("Point", ["x", "label"])


def samples_of_every_kind():
    """(name, list of samples) pairs: each sample structure PyTorch's default_collate handles."""
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3)).astype(np.float32) for _ in range(4)]
    return [
        ("tensors", [eg.tensor(a) for a in arrays]),
        ("arrays", arrays),
        ("float64 arrays", [a.astype(np.float64) for a in arrays]),
        ("int arrays", [np.arange(3) + i for i in range(4)]),
        ("python floats", [0.5, 1.5, -2.0, 3.25]),
        ("python ints", [1, 2, -3, 2 ** 40]),
        ("python bools", [True, False, True, True]),
        ("numpy float32 scalars", [np.float32(i) / 3 for i in range(4)]),
        ("numpy int32 scalars", [np.int32(i) for i in range(4)]),
        ("strings", ["a", "bb", "c", "dd"]),
        ("tuples", [(arrays[i], i) for i in range(4)]),
        ("lists", [[arrays[i], float(i), "s"] for i in range(4)]),
        ("dicts", [{"image": arrays[i], "label": i, "name": f"n{i}"} for i in range(4)]),
        ("ordered dicts", [collections.OrderedDict(b=i, a=float(i)) for i in range(4)]),
        ("namedtuples", [Point(arrays[i], i) for i in range(4)]),
        ("nested", [{"pair": (arrays[i], [i, 2 * i]), "meta": {"w": float(i), "id": str(i)}} for i in range(4)]),
    ]


def to_torch(sample, torch):
    """The same sample with eigengrad tensors replaced by torch tensors."""
    if isinstance(sample, eg.Tensor):
        return torch.from_numpy(sample.numpy().copy())
    if isinstance(sample, dict):
        return type(sample)((k, to_torch(v, torch)) for k, v in sample.items())
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(to_torch(v, torch) for v in sample))
    if isinstance(sample, (list, tuple)):
        return type(sample)(to_torch(v, torch) for v in sample)
    return sample


def assert_same_batch(ours, theirs, torch):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, eg.Tensor), f"expected a tensor, got {type(ours).__name__}"
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        return
    assert type(ours) is type(theirs), (type(ours), type(theirs))
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for k in theirs:
            assert_same_batch(ours[k], theirs[k], torch)
    elif isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same_batch(a, b, torch)
    else:
        assert ours == theirs


@pytest.mark.parametrize("name,samples", samples_of_every_kind(), ids=[n for n, _ in samples_of_every_kind()])
def test_default_collate_matches_torch(name, samples):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: the collate parity checks need it")
    from torch.utils.data import default_collate as torch_collate
    assert_same_batch(default_collate(samples), torch_collate([to_torch(s, torch) for s in samples]), torch)


@pytest.mark.parametrize("name,samples", samples_of_every_kind(), ids=[n for n, _ in samples_of_every_kind()])
def test_default_convert_matches_torch(name, samples):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: the convert parity checks need it")
    from torch.utils.data import default_convert as torch_convert
    assert_same_batch(default_convert(samples[0]), torch_convert(to_torch(samples[0], torch)), torch)


def test_collated_values_by_hand():
    batch = default_collate([{"x": np.array([1.0, 2.0]), "y": 3}, {"x": np.array([4.0, 5.0]), "y": 6}])
    np.testing.assert_array_equal(batch["x"].numpy(), [[1.0, 2.0], [4.0, 5.0]])
    assert batch["y"].dtype == eg.int64 and batch["y"].tolist() == [3, 6]
    assert default_collate([0.5, 1.0]).dtype == eg.float64  # PyTorch's dtype for Python floats


def test_bad_batches_raise_as_torch():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy arrays, numbers"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([np.array(["a"]), np.array(["b"])])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="^batch: expected at least one sample"):
        default_collate([])


# --- datasets ---------------------------------------------------------------------------------------------

class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        for i in range(self.n):
            yield np.full(2, i, dtype=np.float32), i


class SizedStream(Stream):
    def __len__(self):
        return self.n


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("num_workers", [0, 1])
def test_iterable_dataset_is_batched_in_stream_order(drop_last, num_workers):
    batches = list(DataLoader(Stream(10), batch_size=4, drop_last=drop_last, num_workers=num_workers))
    labels = [b[1].tolist() for b in batches]
    assert labels == ([[0, 1, 2, 3], [4, 5, 6, 7]] + ([] if drop_last else [[8, 9]]))
    np.testing.assert_array_equal(batches[0][0].numpy(), np.repeat(np.arange(4.0), 2).reshape(4, 2))


def test_iterable_dataset_unbatched_and_lengths():
    items = list(DataLoader(Stream(3), batch_size=None))
    assert [i[1] for i in items] == [0, 1, 2] and isinstance(items[0][0], eg.Tensor)
    assert len(DataLoader(SizedStream(10), batch_size=4)) == 3
    assert len(DataLoader(SizedStream(10), batch_size=4, drop_last=True)) == 2
    with pytest.raises(TypeError, match="has no len"):
        len(DataLoader(Stream(10), batch_size=4))
    assert get_worker_info() is None


def test_iterable_dataset_refuses_shuffle_and_samplers():
    with pytest.raises(ValueError, match="^dataset: an IterableDataset .* got shuffle=True"):
        DataLoader(Stream(4), shuffle=True)
    with pytest.raises(ValueError, match="got a sampler"):
        DataLoader(Stream(4), sampler=[0, 1])
    with pytest.raises(TypeError, match="__iter__"):
        type("NoIter", (IterableDataset,), {})()


def test_iterable_dataset_matches_torch_loader():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")

    class TorchStream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(Stream(7))

    ours = list(DataLoader(Stream(7), batch_size=3))
    theirs = list(torch.utils.data.DataLoader(TorchStream(), batch_size=3))
    assert_same_batch(ours, theirs, torch)


def test_concat_chain_and_add():
    a = TensorDataset(np.arange(3.0), np.arange(3))
    b = TensorDataset(np.arange(10.0, 15.0), np.arange(10, 15))
    both = a + b
    assert isinstance(both, ConcatDataset) and len(both) == 8 and both.cumulative_sizes == [3, 8]
    assert [int(both[i][1].item()) for i in range(8)] == [0, 1, 2, 10, 11, 12, 13, 14]
    assert int(both[-1][1].item()) == 14
    with pytest.raises(IndexError):
        both[8]
    labels = np.concatenate([y.numpy() for _, y in DataLoader(both, batch_size=3)])
    np.testing.assert_array_equal(labels, [0, 1, 2, 10, 11, 12, 13, 14])
    chained = Stream(2) + Stream(3)
    assert isinstance(chained, ChainDataset) and [y for _, y in chained] == [0, 1, 0, 1, 2]
    with pytest.raises(TypeError, match="ConcatDataset does not support IterableDataset"):
        ConcatDataset([a, Stream(2)])


# --- random_split -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("n,fractions", [(10, [0.5, 0.3, 0.2]), (11, [0.5, 0.5]), (7, [0.3, 0.3, 0.4]),
                                         (5, [0.1, 0.1, 0.8]), (1, [1.0]), (100, [0.33, 0.33, 0.34]),
                                         (9, [1 / 3, 1 / 3, 1 / 3])])
def test_random_split_fraction_sizes_match_torch(n, fractions):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    ds = TensorDataset(np.arange(float(n)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = [len(s) for s in random_split(ds, fractions, generator=eg.Generator(0))]
        theirs = [len(s) for s in torch.utils.data.random_split(range(n), fractions)]
    assert ours == theirs


def test_random_split_partitions_with_a_generator():
    ds = TensorDataset(np.arange(20.0))
    parts = random_split(ds, [0.5, 0.25, 0.25], generator=eg.Generator(4))
    assert [len(p) for p in parts] == [10, 5, 5]
    seen = np.concatenate([p.indices for p in parts])
    np.testing.assert_array_equal(np.sort(seen), np.arange(20))
    again = random_split(ds, [0.5, 0.25, 0.25], generator=eg.Generator(4))
    assert all(np.array_equal(p.indices, q.indices) for p, q in zip(parts, again))
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(TensorDataset(np.arange(2.0)), [0.9, 0.1])
    with pytest.raises(ValueError, match=r"^lengths\[0\]: fraction -0.5 is not between 0 and 1"):
        random_split(ds, [-0.5, 1.5])
    with pytest.raises(ValueError, match=r"^lengths: expected ints, or fractions summing to 1, got \[0.5, 0.4\]"):
        random_split(ds, [0.5, 0.4])
    with pytest.raises(ValueError, match="^lengths: expected non-negative lengths summing to the dataset size 20"):
        random_split(ds, [15, 4])
    with pytest.raises(TypeError, match=r"^lengths\[1\]: expected an int or a fraction"):
        random_split(ds, [10, "10"])


def test_random_split_of_a_custom_dataset_batches_through_the_loader():
    class Squares(Dataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return {"x": np.float32(i), "y": i * i}

    train, _ = random_split(Squares(), [0.8, 0.2], generator=eg.Generator(1))
    batch = next(iter(DataLoader(train, batch_size=8)))
    np.testing.assert_array_equal(batch["y"].numpy(), batch["x"].numpy().astype(np.int64) ** 2)
    assert batch["x"].dtype == eg.float32 and batch["y"].dtype == eg.int64
