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
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def assert_same_on_every_rank(x, what: str) -> None:
    every = gathered(x)
    for r, e in enumerate(every):
        assert np.array_equal(e, every[0]), f"{what}: rank {r} differs from rank 0"


class _Recording:
    """A communicator whose calls are noted in ``log`` as (method, the arrays passed) before they run."""

    def __init__(self, comm, log: list) -> None:
        self._comm, self._log = comm, log

    def __getattr__(self, name):
        attr = getattr(self._comm, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            self._log.append((name, list(_arrays(args))))
            return attr(*args, **kwargs)
        return call


def _arrays(args):
    for a in args:
        if isinstance(a, np.ndarray):
            yield a
        elif isinstance(a, (list, tuple)):  # mpi4py's buffer specs: [buf, (counts, displs)]
            yield from _arrays(a)


def record_mpi_calls(monkeypatch) -> list:
    """From now on (until the test ends) every MPI call of eigengrad's collectives, blocking or not, is
    noted in the returned list as (method, [the NumPy arrays handed to mpi4py])."""
    from eigengrad.distributed.process_group import world

    w, log = world(), []
    monkeypatch.setattr(w, "comm", _Recording(w.comm, log))
    monkeypatch.setattr(w, "_lanes", [_Recording(c, log) for c in w._lanes])
    return log


def address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]
