"""``DataLoader``: batches of a dataset in the order of a sampler, optionally prefetched in a thread.

PyTorch's arguments: ``batch_size``, ``shuffle``, ``sampler``, ``batch_sampler``, ``collate_fn``,
``drop_last``, ``generator``, ``num_workers``/``prefetch_factor`` (here a background *thread*
prepares ``num_workers * prefetch_factor`` batches ahead: eigengrad's kernels release the GIL, so no
processes are needed). TensorDataset and its Subsets are batched with one fancy-index copy per batch, or
a view when the order is sequential: never a per-sample Python loop (``fast_batch``). Any other dataset's
``__getitems__`` (PyTorch's protocol) gets each batch's indices as a list, and its samples are collated.

With ``num_workers > 0`` the thread plays PyTorch's worker processes: each worker has its own shallow copy
of the dataset and a ``WorkerInfo`` (``get_worker_info()`` in that worker's fetches and in
``worker_init_fn``), batch ``k`` of a map-style dataset is fetched by worker ``k % num_workers``, every
worker reads a whole IterableDataset (so the samples repeat unless the dataset shards itself by its
worker info, as in PyTorch) and their batches alternate, and an exception in a worker is raised in
the caller as PyTorch re-raises it ("Caught ValueError in DataLoader worker process 0. Original
Traceback ..."). ``worker_init_fn`` runs in the calling thread with Python's, NumPy's and eigengrad's
global random states kept (PyTorch's run in other processes and leave the main process's alone).
"""
from __future__ import annotations

import contextlib
import copy
import hashlib
import itertools
import random as _pyrandom
import threading
import traceback
import warnings
from types import GenericAlias

import numpy as np

from eigengrad import random as _random
from eigengrad.data.collate import default_collate, default_convert
from eigengrad.data.dataset import IterableDataset, fast_batch
from eigengrad.data.prefetch import prefetched
from eigengrad.data.sampler import (
    BatchSampler, RandomSampler, SequentialSampler, draws_indices, epoch_indices, non_negative_int, positive_int,
)

_local = threading.local()

# batches per piece of an epoch drawn a piece at a time (see _worker_epoch)
_PIECE_BATCHES = 1 << 14


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: ``id``, ``num_workers``, ``seed`` and ``dataset``
    (the worker's own copy), read-only after construction (``torch.utils.data.WorkerInfo``)."""

    __initialized = False

    def __init__(self, **kwargs) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs)
        self.__initialized = True

    def __setattr__(self, key, val) -> None:
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {type(self).__name__} objects")
        super().__setattr__(key, val)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)}' for k in self.__keys)})"


def get_worker_info():
    """The ``WorkerInfo`` of the DataLoader worker running the caller (its dataset fetches, its
    IterableDataset stream, ``worker_init_fn``); None in the main program and with ``num_workers=0``."""
    return getattr(_local, "info", None)


@contextlib.contextmanager
def _as_worker(info: WorkerInfo):
    previous = getattr(_local, "info", None)
    _local.info = info
    try:
        yield
    finally:
        _local.info = previous


@contextlib.contextmanager
def _global_random_states_kept():
    py, npy, eg = _pyrandom.getstate(), np.random.get_state(), _random.get_rng_state()
    try:
        yield
    finally:
        _pyrandom.setstate(py)
        np.random.set_state(npy)
        _random.set_rng_state(eg)


class _KeyErrorMessage(str):
    """A KeyError's text shown as it is (KeyError repr()s its argument), as PyTorch's."""

    def __repr__(self) -> str:
        return self


class _Raised:
    """An exception a batch's fetch raised, handed to the caller in the batch's place (the epoch goes on,
    as PyTorch's iterator does after an error)."""

    __slots__ = ("error", "worker_id")

    def __init__(self, error: BaseException, worker_id: int | None = None) -> None:
        self.error, self.worker_id = error, worker_id
        if worker_id is not None:  # the text now; the frames are not kept
            self.error = (type(error), "".join(traceback.format_exception(error)))

    def exception(self) -> BaseException:
        """The exception to raise: the original one, or for a worker PyTorch's re-raised copy (same type,
        the worker's traceback as its message; a RuntimeError when the type cannot be built from a string)."""
        if self.worker_id is None:
            return self.error
        exc_type, text = self.error
        msg = f"Caught {exc_type.__name__} in DataLoader worker process {self.worker_id}.\nOriginal {text}"
        try:
            if exc_type is KeyError:
                return KeyError(_KeyErrorMessage(msg))
            if getattr(exc_type, "message", None):
                return exc_type(message=msg)
            return exc_type(msg)
        except Exception:
            return RuntimeError(msg)


class _Worker:
    __slots__ = ("info", "dataset")

    def __init__(self, info: WorkerInfo, dataset) -> None:
        self.info, self.dataset = info, dataset


def _worker_copy(dataset):
    """The worker's own dataset (PyTorch's worker processes each hold a copy): a shallow copy, so that
    attributes a worker sets stay its own while the arrays are shared."""
    try:
        return copy.copy(dataset)
    except Exception:
        return dataset


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
        num_workers: 0 loads in the calling thread; > 0 prefetches in one background thread that plays
            ``num_workers`` PyTorch workers (see the module's docstring).
        collate_fn: makes a batch from a list of samples (default: stack into tensors; a TensorDataset
            or a Subset of one, without ``collate_fn``, gives its batch in one copy instead).
        drop_last: drop the last batch when it is smaller than ``batch_size``.
        timeout: with workers, seconds to wait for a batch before a RuntimeError (0: forever).
        worker_init_fn: called with each worker's id before it loads (``get_worker_info()`` is its info).
        generator: an ``eigengrad.Generator`` for the shuffling.
        prefetch_factor: batches prepared ahead per worker (default 2 when num_workers > 0).
        persistent_workers: keep the workers (their dataset copies, ``worker_init_fn`` run once) across epochs.
        pin_memory, multiprocessing_context, pin_memory_device, in_order: PyTorch's, accepted: there are no
            worker processes or device memory, and batches always come in order.
    """

    # Dataset[Tuple[Tensor, int]], Sampler[int] in annotated code (PyTorch's are typing.Generic)
    __class_getitem__ = classmethod(GenericAlias)

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn=None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn=None, multiprocessing_context=None,
                 generator=None, *, prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        # PyTorch's checks, in its order
        self.num_workers = non_negative_int("num_workers", num_workers)
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if prefetch_factor is not None and self.num_workers == 0:
            raise ValueError("prefetch_factor: only used with num_workers > 0, got num_workers=0 (PyTorch: "
                             "prefetch_factor option could only be specified in multiprocessing)")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        self.prefetch_factor = None if self.num_workers == 0 else (
            2 if prefetch_factor is None else non_negative_int("prefetch_factor", prefetch_factor))
        if persistent_workers and self.num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None and self.num_workers == 0:
            raise ValueError("multiprocessing_context can only be used with multi-process loading "
                             f"(num_workers > 0), but got num_workers={self.num_workers}")
        if generator is not None and not isinstance(generator, _random.Generator):
            raise TypeError(f"generator: expected an eigengrad.Generator or None, got {type(generator).__name__}")
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable and (shuffle not in (None, False) or sampler is not None or batch_sampler is not None):
            got = (f"shuffle={shuffle}" if shuffle not in (None, False)
                   else "a sampler" if sampler is not None else "a batch_sampler")
            raise ValueError(f"dataset: an IterableDataset is read in its own order, so a DataLoader over it takes "
                             f"no shuffle, sampler or batch_sampler, got {got} (PyTorch: DataLoader with "
                             "IterableDataset: expected unspecified option)")
        if sampler is not None and shuffle:
            raise ValueError("sampler: expected no sampler with shuffle=True (the sampler sets the order), got both")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler: exclusive with batch_size, shuffle, sampler and drop_last")
            batch_size, drop_last = None, False  # PyTorch's attributes then
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        self.dataset, self.generator, self._collate_fn = dataset, generator, collate_fn
        self.timeout, self.worker_init_fn, self.persistent_workers = timeout, worker_init_fn, bool(persistent_workers)
        self.pin_memory, self.multiprocessing_context = pin_memory, multiprocessing_context
        self.pin_memory_device, self.in_order = pin_memory_device, in_order
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self.batch_size = None if batch_size is None else _batch_size(batch_size)
        self._workers = None  # persistent workers, once started
        self._epochs_started = 0
        self._IterableDataset_len_called = None  # PyTorch's: len(dataset) once len(loader) was asked
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
            n = self._IterableDataset_len_called = len(self.dataset)
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

    @property
    def collate_fn(self):
        """What makes a batch: the function given, else ``default_collate`` (``default_convert`` when
        unbatched), as PyTorch's. (Without one given, a TensorDataset's batch is made in one copy instead.)"""
        if self._collate_fn is not None:
            return self._collate_fn
        batched = self.batch_sampler is not None or (self._iterable and self.batch_size is not None)
        return default_collate if batched else default_convert

    @collate_fn.setter
    def collate_fn(self, fn) -> None:
        self._collate_fn = fn

    def _fetch(self, idx, dataset=None):
        dataset = self.dataset if dataset is None else dataset
        if self.batch_sampler is None:  # unbatched: one sample, its arrays as tensors
            return self.collate_fn(dataset[idx])
        fast = fast_batch(dataset) if self._collate_fn is None else None
        if fast is not None:  # (a list, as PyTorch's collation of tuples gives: batch[0] = ... works)
            return list(fast(_as_slice(idx)))
        collate, idx = self.collate_fn, [int(i) for i in idx]
        if callable(getattr(dataset, "__getitems__", None)):  # PyTorch's protocol: samples, then collated
            return collate(dataset.__getitems__(idx))
        return collate([dataset[i] for i in idx])

    def _stream(self, dataset=None):
        """The batches of an IterableDataset: ``batch_size`` samples at a time, collated."""
        dataset = self.dataset if dataset is None else dataset
        if self.batch_size is None:
            convert = self.collate_fn
            yield from (convert(sample) for sample in dataset)
            return
        collate, batch = self.collate_fn, []
        for sample in dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)

    def __iter__(self):
        if self.pin_memory:  # (PyTorch's warning at each iterator on a machine without an accelerator)
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, then device pinned "
                          "memory won't be used.", UserWarning, stacklevel=2)
        return _LoaderIter(self._epoch(), self)

    def _epoch(self):
        if self.num_workers > 0:  # the order drawn now, in the calling thread, as without workers
            return self._worker_epoch(None if self._iterable else self._batches())
        if self._iterable:
            return self._stream()
        return self._single_epoch(self._batches())

    def _single_epoch(self, batches):
        for b in batches:
            try:
                batch = self._fetch(b)
            except Exception as error:  # raised by the caller, which may go on to the next batch
                batch = _Raised(error)
            yield batch

    def _start_workers(self) -> list:
        """This epoch's workers (the kept ones with persistent_workers): a dataset copy and a WorkerInfo each,
        ``worker_init_fn`` run for each."""
        if self._workers is not None:
            return self._workers
        gen = self.generator if self.generator is not None else _random.default_generator
        # PyTorch draws a base seed from the generator; derived here without a draw, so workers never change the
        # shuffling: the same seeds for the same generator state and epoch
        key = f"{gen.initial_seed()}:{gen._offset}:{self._epochs_started}"
        base_seed = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") >> 1
        workers = []
        for wid in range(self.num_workers):
            dataset = _worker_copy(self.dataset)
            workers.append(_Worker(WorkerInfo(id=wid, num_workers=self.num_workers, seed=base_seed + wid,
                                              dataset=dataset), dataset))
        if self.worker_init_fn is not None:
            with _global_random_states_kept():
                for w in workers:
                    with _as_worker(w.info):
                        try:
                            self.worker_init_fn(w.info.id)
                        except Exception as error:
                            raise _Raised(error, w.info.id).exception() from None
        if self.persistent_workers:
            self._workers = workers
        return workers

    def _worker_epoch(self, batches):
        self._epochs_started += 1
        workers = self._start_workers()
        depth = self.num_workers * self.prefetch_factor
        timeout = self.timeout if self.timeout > 0 else None
        if self._iterable:
            yield from prefetched(_alternating(self, workers), lambda batch: batch, depth, timeout)
            return
        n = len(workers)

        def fetch(job):
            k, idx = job
            worker = workers[k % n]
            with _as_worker(worker.info):
                try:
                    return self._fetch(idx, worker.dataset)
                except Exception as error:
                    return _Raised(error, worker.info.id)

        if isinstance(batches, list):
            yield from prefetched(list(enumerate(batches)), fetch, depth, timeout)
            return
        # an epoch drawn a piece at a time (sampler.EAGER_LIMIT): each piece drawn here, in the calling thread (the
        # generator's draws in their order), then prefetched
        start = 0
        while True:
            piece = list(itertools.islice(batches, _PIECE_BATCHES))
            if not piece:
                return
            yield from prefetched(list(enumerate(piece, start)), fetch, depth, timeout)
            start += len(piece)


def _alternating(loader: DataLoader, workers: list):
    """The workers' IterableDataset streams (each its own copy of the whole stream) batch by batch in
    turn, a worker leaving the turn once its stream ends (PyTorch's order)."""
    streams, active = {}, list(workers)
    while active:
        for w in list(active):
            with _as_worker(w.info):
                try:
                    if w.info.id not in streams:
                        streams[w.info.id] = loader._stream(w.dataset)
                    item = next(streams[w.info.id])
                except StopIteration:
                    active.remove(w)
                    continue
                except Exception as error:
                    item = _Raised(error, w.info.id)
            yield item


def _batch_size(value) -> int:
    try:
        return positive_int("batch_size", value)
    except TypeError as error:  # PyTorch: a ValueError
        from eigengrad._errors import TypeValueError

        raise TypeValueError(str(error)) from None


class _LoaderIter:
    """``iter(loader)``: the epoch's batches, and its length as PyTorch's iterator has one (``it = iter(loader);
    for _ in range(len(it)): x, y = next(it)``). A batch whose fetch failed raises here; the next call goes on."""

    __slots__ = ("_batches", "_loader", "_yielded", "_len_called")

    def __init__(self, batches, loader: DataLoader) -> None:
        self._batches, self._loader, self._yielded = batches, loader, 0
        self._len_called = loader._IterableDataset_len_called if loader._iterable else None

    def __iter__(self):
        return self

    def __next__(self):
        batch = next(self._batches)
        if type(batch) is _Raised:
            error = batch.exception()
            if batch.worker_id is None:
                raise error
            raise error from None
        self._yielded += 1
        if self._len_called is not None and self._yielded > self._len_called:
            msg = (f"Length of IterableDataset {self._loader.dataset} was reported to be {self._len_called}"
                   f"(when accessing len(dataloader)), but {self._yielded} samples have been fetched. ")
            if self._loader.num_workers > 0:
                msg += ("For multiprocessing data-loading, this could be caused by not properly configuring the "
                        "IterableDataset replica at each worker. Please see "
                        "https://pytorch.org/docs/stable/data.html#torch.utils.data.IterableDataset for examples.")
            warnings.warn(msg, stacklevel=2)
        return batch

    def __len__(self) -> int:
        return len(self._loader)

    def close(self) -> None:
        self._batches.close()


def _as_slice(idx: np.ndarray):
    """A slice for a run of consecutive indices (datasets then return views), else the array."""
    if len(idx) > 0 and idx[-1] - idx[0] == len(idx) - 1 and (len(idx) < 3 or np.all(np.diff(idx) == 1)):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx
