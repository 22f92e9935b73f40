"""What ``fit`` does when a process group is initialised (``eigengrad.distributed.init_process_group``).

- The model is wrapped in ``DistributedDataParallel`` for the training forward (unless it is one);
  the user's model stays the trainer's ``model``, so checkpoints have its own state_dict keys and load
  in a run of any size. The wrapper's hooks are removed when fit ends.
- The training loader is rebuilt over a ``DistributedSampler`` of its dataset (its batch size is the
  batch *per rank*, as in PyTorch; shuffled when it shuffled, from the loader's generator's seed,
  made equal on every rank by a broadcast from rank 0, with ``set_epoch`` every epoch so a resumed
  run draws the same orders). Validation loaders are cut into disjoint shards without padding, so
  the validation figures are those of the whole set.
- The epoch's loss and metrics are sums and counts added over the ranks, so every rank logs the
  same figures (and EarlyStopping and schedulers decide alike); the progress bar is drawn on rank 0.
- ``ModelCheckpoint`` and the history loggers write on rank 0 only (``is_main_process``).
"""
from __future__ import annotations

import numpy as np

from eigengrad.data.dataloader import DataLoader
from eigengrad.data.distributed import DistributedSampler
from eigengrad.data.sampler import RandomSampler, Sampler, SequentialSampler
from eigengrad.distributed import collectives as C
from eigengrad.distributed.process_group import world


class ShardSampler(Sampler):
    """Rank ``rank``'s share of ``0 .. n-1`` for evaluation: every ``size``-th index from ``rank``, no padding."""

    def __init__(self, n: int, rank: int, size: int) -> None:
        self.n, self.rank, self.size = n, rank, size

    def _draw(self) -> np.ndarray:
        return np.arange(self.rank, self.n, self.size, dtype=np.int64)

    def __len__(self) -> int:
        return len(range(self.rank, self.n, self.size))


def _rebuilt(loader: DataLoader, sampler: Sampler) -> DataLoader:
    out = DataLoader(loader.dataset, batch_size=loader.batch_size, sampler=sampler, num_workers=loader.num_workers,
                     collate_fn=loader._collate_fn, drop_last=loader.drop_last, generator=loader.generator,
                     prefetch_factor=loader.prefetch_factor if loader.num_workers else None)
    return out


def _loader(loader, name: str) -> DataLoader:
    if not isinstance(loader, DataLoader) or loader.batch_sampler is None or loader.batch_size is None:
        raise ValueError(f"{name}: fit on a process group shards an eigengrad.data.DataLoader with a batch_size; got "
                         f"{type(loader).__name__} (shard it yourself with DistributedSampler and wrap the model in "
                         "DistributedDataParallel, or pass a DataLoader)")
    return loader


class DistributedRun:
    """The distributed side of one ``Trainer.fit``: the wrapped model, the sharded loaders, the sums."""

    def __init__(self, model) -> None:
        from eigengrad.nn.parallel import DistributedDataParallel

        self.world = world()
        self.rank, self.size = self.world.rank, self.world.size
        self.wrapped = not isinstance(model, DistributedDataParallel)
        self.net = DistributedDataParallel(model) if self.wrapped else model
        self.sampler: DistributedSampler | None = None

    def train_loader(self, loader):
        """``loader`` over this rank's shard (a loader already on a DistributedSampler is kept)."""
        loader = _loader(loader, "train_loader")
        if isinstance(loader.sampler, DistributedSampler):
            self.sampler = loader.sampler
            return loader
        if not isinstance(loader.sampler, (RandomSampler, SequentialSampler)):
            raise ValueError(f"train_loader: fit on a process group replaces a RandomSampler or SequentialSampler by a "
                             f"DistributedSampler; got {type(loader.sampler).__name__} (pass a DistributedSampler)")
        shuffle = isinstance(loader.sampler, RandomSampler)
        if shuffle:
            from eigengrad import random as _random

            seed = np.array([(loader.sampler.generator or _random.default_generator).initial_seed()], dtype=np.uint64)
            C.broadcast(seed, src=0)  # every rank must draw the same permutations
        else:
            seed = np.zeros(1, dtype=np.uint64)
        self.sampler = DistributedSampler(loader.dataset, self.size, self.rank, shuffle=shuffle,
                                          seed=int(seed[0]), drop_last=loader.drop_last)
        return _rebuilt(loader, self.sampler)

    def set_epoch(self, completed: int) -> None:
        if self.sampler is not None:
            self.sampler.set_epoch(completed)

    def close(self) -> None:
        if self.wrapped:
            self.net._detach()


def active() -> bool:
    from eigengrad.distributed.process_group import is_initialized

    return is_initialized()


def eval_loader(loader):
    """``loader`` over this rank's share of the evaluation data (None stays None)."""
    if loader is None or isinstance(getattr(loader, "sampler", None), (ShardSampler, DistributedSampler)):
        return loader
    loader = _loader(loader, "val_loader")
    w = world()
    return _rebuilt(loader, ShardSampler(len(loader.dataset), w.rank, w.size))


def add(values: list[float]) -> list[float]:
    """The sums over the ranks of ``values`` (float64; the same bits on every rank)."""
    arr = np.array(values, dtype=np.float64)
    C.all_reduce(arr)
    return arr.tolist()


def add_metrics(metrics) -> None:
    """Replace each metric's total and count by the sums over the ranks."""
    sums = add([x for m in metrics for x in (m.total, m.count)])
    for i, m in enumerate(metrics):
        m.total, m.count = sums[2 * i], int(sums[2 * i + 1])
