"""Helpers of the distributed tests (run on every rank)."""
import numpy as np

import eigengrad.distributed as dist


def gathered(x) -> list:
    """Every rank's copy of the array ``x`` (same shape and dtype on every rank)."""
    x = np.ascontiguousarray(x)
    outs = [np.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(outs, x)
    return outs


def flat_parameters(model) -> np.ndarray:
    return np.concatenate([p.numpy().ravel() for p in model.parameters()])


def assert_same_on_every_rank(x, what: str) -> None:
    every = gathered(x)
    for r, e in enumerate(every):
        assert np.array_equal(e, every[0]), f"{what}: rank {r} differs from rank 0"
