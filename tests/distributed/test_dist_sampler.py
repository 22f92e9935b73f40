"""DistributedSampler on the real ranks: every epoch the shards are disjoint and cover the dataset."""
import numpy as np
import pytest

import eigengrad.distributed as dist
from eigengrad.data import DistributedSampler
from distributed.dist_helpers import gathered


@pytest.mark.parametrize("n", [64, 101])
@pytest.mark.parametrize("drop_last", [False, True])
def test_shards_are_disjoint_and_cover_the_dataset_every_epoch(n, drop_last):
    size = dist.get_world_size()
    sampler = DistributedSampler(range(n), drop_last=drop_last, seed=5)  # rank and size from the group
    orders = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        shards = gathered(sampler.indices())
        every = np.concatenate(shards)
        assert len(every) == size * len(sampler)
        if drop_last:  # the tail that does not divide is left out: disjoint, all but < size indices
            assert len(set(every.tolist())) == len(every) and len(every) > n - size
        else:  # padded with repeated indices: every index, and no more repeats than the padding
            assert set(every.tolist()) == set(range(n)) and len(every) - n == (-n) % size
            for a in range(size):
                for b in range(a + 1, size):
                    common = set(shards[a].tolist()) & set(shards[b].tolist())
                    assert len(common) <= (-n) % size, f"epoch {epoch}: shards {a} and {b} share {sorted(common)}"
        orders.append(every)
    assert not np.array_equal(orders[0], orders[1])  # set_epoch: a new order each epoch
