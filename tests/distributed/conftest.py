"""The tests of this folder run on every rank of ``mpiexec -n 2 python -m pytest tests/distributed``
(tests/test_distributed.py launches them); each rank runs the same tests in the same order, so their
collectives meet. Collected outside an MPI launch they are left out (the launcher runs them).

Each test gets the default process group (60 s timeout: a test that fails on one rank only aborts the
job instead of leaving the other waiting for a collective that never comes).
"""
import os
import tempfile

import numpy as np
import pytest

_LAUNCHED = any(k in os.environ for k in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"))
if not _LAUNCHED:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session", autouse=True)
def process_group():
    import eigengrad.distributed as dist

    dist.init_process_group("mpi", timeout=60)
    yield
    dist.barrier()
    dist.destroy_process_group()


@pytest.fixture
def shared_dir():
    """A directory every rank sees (rank 0 makes it; its name is broadcast)."""
    import shutil

    import eigengrad.distributed as dist

    name = np.zeros(1024, dtype=np.uint8)
    if dist.get_rank() == 0:
        path = tempfile.mkdtemp(prefix="eigengrad-dist-").encode()
        name[:len(path)] = np.frombuffer(path, dtype=np.uint8)
    dist.broadcast(name, src=0)
    path = bytes(name[name > 0]).decode()
    yield path
    dist.barrier()
    if dist.get_rank() == 0:
        shutil.rmtree(path, ignore_errors=True)
