"""``DataLoader``: batches of a dataset in the order of a sampler, optionally prefetched in a thread.

PyTorch's arguments: ``batch_size``, ``shuffle``, ``sampler``, ``batch_sampler``, ``collate_fn``,
``drop_last``, ``generator``, ``num_workers``/``prefetch_factor`` (here a background *thread*
prepares ``num_workers * prefetch_factor`` batches ahead: eigengrad's kernels release the GIL, so no
processes are needed). TensorDataset and its Subsets are batched with one fancy-index copy per batch, or
a view when the order is sequential: never a per-sample Python loop (``fast_batch``). Any other dataset's
``__getitems__`` (PyTorch's protocol) gets each batch's indices as a list, and its samples are collated.
"""
from __future__ import annotations

from types import GenericAlias

import numpy as np

from eigengrad import random as _random
from eigengrad.data.collate import default_collate, default_convert
from eigengrad.data.dataset import IterableDataset, fast_batch
from eigengrad.data.prefetch import prefetched
from eigengrad.data.sampler import (
    BatchSampler, RandomSampler, SequentialSampler, draws_indices, epoch_indices, non_negative_int, positive_int,
)


def get_worker_info():
    """None: eigengrad's loader has no worker processes (``torch.utils.data.get_worker_info`` in the
    main process), so an IterableDataset reads its whole stream."""
    return None


class DataLoader:
    """Iterate over ``dataset`` in batches.

    Args:
        dataset: a map-style dataset (``__getitem__``/``__len__``; ``__getitems__`` for whole batches),
            or an ``IterableDataset`` (its stream in order, ``batch_size`` samples at a time: no
            sampler, no shuffling).
        batch_size: samples per batch (None: single samples, unbatched).
        shuffle: a new permutation every epoch from ``generator`` (default: eigengrad's default
            generator), so a seed fixes the order of every epoch. Exclusive with ``sampler``.
        sampler: the indices of an epoch (a Sampler or any iterable of ints).
        batch_sampler: yields whole batches of indices; exclusive with batch_size, shuffle, sampler, drop_last.
        num_workers: 0 loads in the calling thread; > 0 prefetches in one background thread.
        collate_fn: makes a batch from a list of samples (default: stack into tensors; a TensorDataset
            or a Subset of one, without ``collate_fn``, gives its batch in one copy instead).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        generator: an ``eigengrad.Generator`` for the shuffling.
        prefetch_factor: batches prepared ahead per worker (default 2 when num_workers > 0).
        pin_memory, timeout, worker_init_fn, multiprocessing_context, persistent_workers, pin_memory_device,
            in_order: PyTorch's, accepted: there are no worker processes or device memory, and batches always
            come in order.
    """

    # Dataset[Tuple[Tensor, int]], Sampler[int] in annotated code (PyTorch's are typing.Generic)
    __class_getitem__ = classmethod(GenericAlias)

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn=None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if generator is not None and not isinstance(generator, _random.Generator):
            raise TypeError(f"generator: expected an eigengrad.Generator or None, got {type(generator).__name__}")
        if sampler is not None and shuffle:
            raise ValueError("sampler: expected no sampler with shuffle=True (the sampler sets the order), got both")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("batch_sampler: exclusive with batch_size, shuffle, sampler and drop_last")
        self.dataset, self.generator, self.collate_fn = dataset, generator, collate_fn
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable and (shuffle not in (None, False) or sampler is not None or batch_sampler is not None):
            got = (f"shuffle={shuffle}" if shuffle not in (None, False)
                   else "a sampler" if sampler is not None else "a batch_sampler")
            raise ValueError(f"dataset: an IterableDataset is read in its own order, so a DataLoader over it takes "
                             f"no shuffle, sampler or batch_sampler, got {got}")
        self.num_workers = non_negative_int("num_workers", num_workers)
        if prefetch_factor is not None and self.num_workers == 0:
            raise ValueError("prefetch_factor: only used with num_workers > 0, got num_workers=0")
        self.prefetch_factor = 2 if prefetch_factor is None else positive_int("prefetch_factor", prefetch_factor)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.batch_size = None if batch_size is None else positive_int("batch_size", batch_size)
        if self._iterable:
            self.sampler = self.batch_sampler = None
            return
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if self.shuffle else SequentialSampler(dataset)
        self.sampler = sampler
        if batch_sampler is None and self.batch_size is not None:
            batch_sampler = BatchSampler(sampler, self.batch_size, self.drop_last)
        self.batch_sampler = batch_sampler

    def __len__(self) -> int:
        if self._iterable:  # the stream's length, when it has one, in batches
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def _batches(self) -> list:
        """The epoch's batches of indices (arrays; when unbatched, the sampler's elements as they are),
        drawn now, in the calling thread."""
        if self.batch_sampler is None:
            if draws_indices(self.sampler):
                return epoch_indices(self.sampler).tolist()
            return list(self.sampler)  # e.g. a BatchSampler as the sampler: dataset[list] per step, as PyTorch
        if isinstance(self.batch_sampler, BatchSampler):
            return self.batch_sampler.batches()
        return [np.asarray(b, dtype=np.int64) for b in self.batch_sampler]

    def _fetch(self, idx):
        if self.batch_sampler is None:  # unbatched: one sample, its arrays as tensors
            return (self.collate_fn or default_convert)(self.dataset[idx])
        fast = fast_batch(self.dataset) if self.collate_fn is None else None
        if fast is not None:
            return fast(_as_slice(idx))
        collate, idx = self.collate_fn or default_collate, [int(i) for i in idx]
        if callable(getattr(self.dataset, "__getitems__", None)):  # PyTorch's protocol: samples, then collated
            return collate(self.dataset.__getitems__(idx))
        return collate([self.dataset[i] for i in idx])

    def _stream(self):
        """The batches of an IterableDataset: ``batch_size`` samples at a time, collated."""
        if self.batch_size is None:
            convert = self.collate_fn or default_convert
            yield from (convert(sample) for sample in self.dataset)
            return
        collate, batch = self.collate_fn or default_collate, []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)

    def __iter__(self):
        return _LoaderIter(self._epoch(), self)

    def _epoch(self):
        if self._iterable:
            if self.num_workers == 0:
                return self._stream()
            return prefetched(self._stream(), lambda batch: batch, self.num_workers * self.prefetch_factor)
        batches = self._batches()
        if self.num_workers == 0:
            return (self._fetch(b) for b in batches)
        return prefetched(batches, self._fetch, self.num_workers * self.prefetch_factor)


class _LoaderIter:
    """``iter(loader)``: the epoch's batches, and its length as PyTorch's iterator has one (``it = iter(loader);
    for _ in range(len(it)): x, y = next(it)``)."""

    __slots__ = ("_batches", "_loader")

    def __init__(self, batches, loader: DataLoader) -> None:
        self._batches, self._loader = batches, loader

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._batches)

    def __len__(self) -> int:
        return len(self._loader)

    def close(self) -> None:
        self._batches.close()


def _as_slice(idx: np.ndarray):
    """A slice for a run of consecutive indices (datasets then return views), else the array."""
    if len(idx) > 0 and idx[-1] - idx[0] == len(idx) - 1 and (len(idx) < 3 or np.all(np.diff(idx) == 1)):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx
