"""``DataLoader``: batches of a dataset, reshuffled every epoch reproducibly from a seed."""
from __future__ import annotations

import operator

import numpy as np

from eigengrad import random as _random
from eigengrad.tensor import Tensor


def default_collate(samples: list):
    """Stack a list of samples (tuples of tensors/arrays/numbers) into batch tensors."""
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([s[i] for s in samples]) for i in range(len(first)))
    arrays = [s._data if isinstance(s, Tensor) else np.asarray(s) for s in samples]
    return Tensor._wrap(np.stack(arrays))


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a map-style dataset; one defining ``__getitems__`` (e.g. TensorDataset) is batched with
            one fancy-index copy per batch, never a per-sample Python loop.
        batch_size: samples per batch.
        shuffle: draw a new permutation every epoch from ``generator`` (default: eigengrad's default
            generator), so a seed fixes the order of every epoch.
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: an ``eigengrad.Generator`` for the shuffling.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 generator=None) -> None:
        try:
            batch_size = operator.index(batch_size)
        except TypeError:
            raise TypeError(f"batch_size: expected an int, got {type(batch_size).__name__}") from None
        if batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int, got {batch_size}")
        if generator is not None and not isinstance(generator, _random.Generator):
            raise TypeError(f"generator: expected an eigengrad.Generator or None, got {type(generator).__name__}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        return _random.permutation(n, self.generator) if self.shuffle else np.arange(n, dtype=np.int64)

    def _fetch(self, idx: np.ndarray):
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(idx)
        return default_collate([self.dataset[int(i)] for i in idx])

    def __iter__(self):
        order = self._order()
        for b in range(len(self)):
            yield self._fetch(order[b * self.batch_size:(b + 1) * self.batch_size])
