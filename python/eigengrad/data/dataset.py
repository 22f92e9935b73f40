"""Datasets: ``Dataset``, ``IterableDataset``, ``TensorDataset``, ``Subset``, ``ConcatDataset``,
``ChainDataset`` and ``random_split``."""
from __future__ import annotations

import abc
import bisect
import math
import operator
import warnings
from typing import Iterable, Iterator, Sequence
from types import GenericAlias

import numpy as np

from eigengrad import random as _random
from eigengrad._errors import ArgumentAssertionError, ArgumentIndexError, ArgumentTypeAssertionError
from eigengrad.tensor import Tensor


class Dataset(abc.ABC):
    """A map-style dataset: ``__getitem__(i)`` and ``__len__``. As PyTorch's, a dataset may define
    ``__getitems__(indices)`` (a list of ints -> a list of samples), which the DataLoader then calls once per
    batch before collating. eigengrad's TensorDataset and Subset fetch a whole batch in one copy instead
    (``fast_batch``), unless a subclass reads its samples its own way."""

    # Dataset[Tuple[Tensor, int]], Sampler[int] in annotated code (PyTorch's are typing.Generic)
    __class_getitem__ = classmethod(GenericAlias)

    @abc.abstractmethod
    def __getitem__(self, index):
        """The sample at ``index``."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of samples."""

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream of samples: subclasses define ``__iter__`` (``torch.utils.data.IterableDataset``).

    A DataLoader over it takes the samples in the stream's order (no sampler, no shuffling), batches
    ``batch_size`` of them at a time with ``collate_fn`` and drops a short last batch with ``drop_last``.
    It has a length only if the subclass defines ``__len__``.
    """

    @abc.abstractmethod
    def __iter__(self) -> Iterator:
        """The samples, in order."""

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: its samples are read by iterating, "
                        "not by index")

    def __len__(self) -> int:
        raise TypeError(f"object of type '{type(self).__name__}' has no len()")

    def __add__(self, other: "IterableDataset") -> "ChainDataset":
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """The streams of several IterableDatasets, one after the other."""

    def __init__(self, datasets: Iterable[IterableDataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for i, d in enumerate(self.datasets):
            if not isinstance(d, IterableDataset):
                raise ArgumentTypeAssertionError(  # PyTorch asserts (AssertionError); a TypeError too
                    f"datasets[{i}]: ChainDataset only supports IterableDataset, got {type(d).__name__}")
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class ConcatDataset(Dataset):
    """Map-style datasets one after the other: index ``i`` is sample ``i - cumulative_sizes[k-1]`` of
    the dataset ``k`` it falls in (``torch.utils.data.ConcatDataset``)."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ArgumentAssertionError("datasets should not be an empty iterable")  # PyTorch's assert
        for i, d in enumerate(self.datasets):
            if isinstance(d, IterableDataset):
                raise ArgumentTypeAssertionError(  # PyTorch asserts (AssertionError); a TypeError too
                    f"datasets[{i}]: ConcatDataset does not support IterableDataset (use ChainDataset)")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        index = operator.index(index)
        if index < 0:
            if -index > len(self):
                raise ValueError(f"index: absolute value of index should not exceed dataset length, got {index}")
            index += len(self)
        if index >= len(self):
            raise IndexError(f"index {index} is out of range for a ConcatDataset of length {len(self)}")
        k = bisect.bisect_right(self.cumulative_sizes, index)
        return self.datasets[k][index - (self.cumulative_sizes[k - 1] if k > 0 else 0)]


class StackDataset(Dataset):
    """Several datasets of one length side by side (``torch.utils.data.StackDataset``): sample ``i`` is the
    tuple (positional datasets) or the dict (keyword datasets) of each one's sample ``i``."""

    def __init__(self, *args, **kwargs) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like input/"
                             "output, but both types are given.")
        datasets = list(args) or list(kwargs.values())
        if not datasets:
            raise ValueError("At least one dataset should be passed")
        self._length = len(datasets[0])
        if any(len(d) != self._length for d in datasets):
            raise ValueError("Size mismatch between datasets")
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list) -> list:
        """PyTorch's: the samples at ``indices``, each dataset read through its own ``__getitems__`` if any."""
        def column(d):
            getitems = getattr(d, "__getitems__", None)
            return getitems(indices) if callable(getitems) else [d[i] for i in indices]
        if isinstance(self.datasets, dict):
            cols = {k: column(d) for k, d in self.datasets.items()}
            return [{k: c[j] for k, c in cols.items()} for j in range(len(indices))]
        cols = [column(d) for d in self.datasets]
        return [tuple(c[j] for c in cols) for j in range(len(indices))]

    def __len__(self) -> int:
        return self._length


def _as_array(t, i: int) -> np.ndarray:
    if isinstance(t, Tensor):
        return t._data
    if isinstance(t, np.ndarray):
        return t
    raise TypeError(f"tensors[{i}]: expected a Tensor or numpy array, got {type(t).__name__}")


class TensorDataset(Dataset):
    """Samples are rows of tensors sharing their first dimension; a batch is one fancy-index copy."""

    def __init__(self, *tensors) -> None:
        if not tensors:
            raise ArgumentIndexError("tensors: expected at least one tensor")  # PyTorch: IndexError (tensors[0])
        self.arrays = [_as_array(t, i) for i, t in enumerate(tensors)]
        for i, a in enumerate(self.arrays):
            if a.ndim == 0:  # PyTorch's tensor.size(0) raises IndexError
                raise ArgumentIndexError(f"tensors[{i}]: dimension specified as 0 but tensor has no dimensions")
        n = len(self.arrays[0])
        for i, a in enumerate(self.arrays):
            if len(a) != n:  # PyTorch asserts (AssertionError); this is a ValueError too
                raise ArgumentAssertionError(f"Size mismatch between tensors: tensors[{i}] has shape {a.shape}, "
                                             f"expected first dimension {n}")
        self.tensors = tuple(Tensor._wrap(a) for a in self.arrays)

    def __getitem__(self, index):
        return tuple(Tensor._wrap(a[index]) for a in self.arrays)

    def _batch(self, indices) -> tuple:
        """The batch at ``indices``: a view for a slice, else one fancy-index copy per tensor."""
        idx = indices if isinstance(indices, slice) else np.asarray(indices, dtype=np.int64)
        return tuple(Tensor._wrap(a[idx]) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (kept as given, as PyTorch's: ``random_split`` gives lists)."""

    def __init__(self, dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    @property
    def indices(self):
        return self._indices

    @indices.setter
    def indices(self, indices) -> None:
        self._indices, self._index = indices, np.asarray(indices, dtype=np.int64)

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[int(self._index[i]) for i in index]]
        return self.dataset[int(self._index[index])]

    def __getitems__(self, indices: list) -> list:
        """PyTorch's: the samples at ``indices``, through the dataset's own ``__getitems__`` when it has one."""
        picked = [int(self._index[i]) for i in indices]
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(picked)
        return [self.dataset[i] for i in picked]

    def _batch(self, indices):
        """The batch at ``indices`` in one copy when the dataset has a fast batch (``fast_batch``)."""
        return fast_batch(self.dataset)(self._index[indices])

    def __len__(self) -> int:
        return len(self._index)


def fast_batch(dataset):
    """``dataset``'s one-copy batch fetch (a view for a slice of indices) when it is eigengrad's TensorDataset,
    or a Subset of one, whose ``__getitem__``/``__getitems__`` a subclass has not replaced (an augmenting
    subclass must see every sample); None otherwise."""
    for base in (TensorDataset, Subset):
        if isinstance(dataset, base):
            cls = type(dataset)
            if cls.__getitem__ is not base.__getitem__ or getattr(cls, "__getitems__", None) is not getattr(
                    base, "__getitems__", None):
                return None
            if base is Subset and fast_batch(dataset.dataset) is None:
                return None
            return dataset._batch
    return None


def random_split(dataset, lengths: Sequence, generator=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths, or of the given
    fractions of its length (``torch.utils.data.random_split``): when the lengths sum to 1 each gets
    ``floor(n * fraction)`` samples and the remainder is handed out one by one, round-robin from the
    first split. The permutation comes from ``generator`` (default: eigengrad's default generator)."""
    n = len(dataset)
    lengths = list(lengths)
    for i, x in enumerate(lengths):
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
            raise TypeError(f"lengths[{i}]: expected an int or a fraction, got {x!r} ({type(x).__name__})")
    if lengths and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"lengths[{i}]: fraction {frac} is not between 0 and 1")
            sizes.append(int(math.floor(n * frac)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              stacklevel=2)
        lengths = sizes
    try:
        lengths = [operator.index(x) for x in lengths]
    except TypeError:
        raise ValueError(f"lengths: expected ints, or fractions summing to 1, got {lengths}") from None
    if sum(lengths) != n or any(x < 0 for x in lengths):  # (PyTorch returns odd splits for negative lengths)
        raise ValueError(f"lengths: expected non-negative lengths summing to the dataset size {n}, got {lengths}")
    perm = _random.permutation(n, generator)
    offsets = np.cumsum([0] + lengths)
    return [Subset(dataset, perm[a:b].tolist()) for a, b in zip(offsets[:-1], offsets[1:])]
