"""``DistributedSampler``: each rank's shard of a dataset (``torch.utils.data.distributed``'s semantics).

Every rank draws the same permutation (from ``seed + epoch``, so ``set_epoch`` before each epoch gives
a new order that all ranks agree on), pads it by repeating its head to a multiple of the rank count
(or, with ``drop_last``, cuts it down to one), and takes every ``num_replicas``-th index starting at
its rank: the shards are disjoint and together cover the dataset (plus the padding) every epoch.
The permutation comes from eigengrad's counter-based generator, so the numbers differ from PyTorch's
``randperm``; the semantics are the same.
"""
from __future__ import annotations

import math
import operator

import numpy as np

from eigengrad import random as _random
from eigengrad.data.sampler import Sampler, positive_int


class DistributedSampler(Sampler):
    """Indices of ``dataset`` for rank ``rank`` of ``num_replicas`` (default: the process group's).

    Args:
        shuffle: a new permutation every epoch (``set_epoch``), the same on every rank.
        seed: the permutation's seed; must be the same on every rank.
        drop_last: drop the tail that does not divide evenly instead of padding with repeated indices.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from eigengrad.distributed.process_group import world

            w = world()
            num_replicas = w.size if num_replicas is None else num_replicas
            rank = w.rank if rank is None else rank
        self.num_replicas = positive_int("num_replicas", num_replicas)
        rank = _int("rank", rank)
        if rank >= self.num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {self.num_replicas - 1}]")
        self.dataset, self.rank, self.shuffle, self.drop_last = dataset, rank, bool(shuffle), bool(drop_last)
        self.seed, self.epoch = _int("seed", seed), 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of ``epoch`` (call it before each epoch, on every rank)."""
        self.epoch = _int("epoch", epoch)

    def _draw(self) -> np.ndarray:
        n = len(self.dataset)
        if self.shuffle:
            order = _random.permutation(n, _random.Generator(self.seed + self.epoch))
        else:
            order = np.arange(n, dtype=np.int64)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0 and n > 0:
                order = np.concatenate([order, np.resize(order, pad)])  # the head repeated, as PyTorch
        else:
            order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas]

    def __len__(self) -> int:
        return self.num_samples


def _int(name: str, value) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}") from None
