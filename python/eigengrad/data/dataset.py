"""Datasets: ``Dataset``, ``TensorDataset``, ``Subset`` and ``random_split``."""
from __future__ import annotations

import abc
import math
import operator
from typing import Sequence

import numpy as np

from eigengrad import random as _random
from eigengrad.tensor import Tensor


class Dataset(abc.ABC):
    """A map-style dataset: ``__getitem__(i)`` and ``__len__``. A dataset that can fetch a whole batch
    at once defines ``__getitems__(indices)`` (as PyTorch's protocol), which the DataLoader prefers."""

    @abc.abstractmethod
    def __getitem__(self, index):
        """The sample at ``index``."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of samples."""


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
            raise ValueError("tensors: expected at least one tensor")
        self.arrays = [_as_array(t, i) for i, t in enumerate(tensors)]
        n = len(self.arrays[0])
        for i, a in enumerate(self.arrays):
            if a.ndim == 0 or len(a) != n:
                raise ValueError(f"tensors[{i}]: size mismatch, expected first dimension {n}, got shape {a.shape}")
        self.tensors = tuple(Tensor._wrap(a) for a in self.arrays)

    def __getitem__(self, index):
        return tuple(Tensor._wrap(a[index]) for a in self.arrays)

    def __getitems__(self, indices) -> tuple:
        """The batch at ``indices``: a view for a slice, else one fancy-index copy per tensor."""
        idx = indices if isinstance(indices, slice) else np.asarray(indices, dtype=np.int64)
        return tuple(Tensor._wrap(a[idx]) for a in self.arrays)

    def __len__(self) -> int:
        return len(self.arrays[0])


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``."""

    def __init__(self, dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __getitem__(self, index):
        if isinstance(index, (list, np.ndarray)):
            return self.__getitems__(index)
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices):
        picked = self.indices[indices if isinstance(indices, slice) else np.asarray(indices, dtype=np.int64)]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(picked)
        return [self.dataset[int(i)] for i in picked]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset, lengths: Sequence, generator=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths (or fractions summing
    to 1, the remainder spread round-robin as PyTorch does)."""
    n = len(dataset)
    lengths = list(lengths)
    if lengths and all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0) and sum(lengths) <= 1:
        sizes = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    try:
        lengths = [operator.index(x) for x in lengths]
    except TypeError:
        raise TypeError(f"lengths: expected ints, or floats summing to 1, got {lengths}") from None
    if sum(lengths) != n or any(x < 0 for x in lengths):
        raise ValueError(f"lengths: expected non-negative lengths summing to the dataset size {n}, got {lengths}")
    perm = _random.permutation(n, generator)
    offsets = np.cumsum([0] + lengths)
    return [Subset(dataset, perm[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]
