"""The collectives on every rank of the launch (2 ranks; the launcher runs this file on 3 too, where
floating-point sums take the fixed-order path)."""
import os
import tracemalloc

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.distributed as dist
from eigengrad.distributed import ReduceOp
from eigengrad.distributed.threads import own_cores, threads_for
from distributed.dist_helpers import address, assert_same_on_every_rank, gathered, record_mpi_calls

SIZES = [0, 1, 7, 1000, 100_003]


def values(k: int, size: int, dtype) -> np.ndarray:
    """Rank k's values: random, of mixed magnitudes (so that the order of a sum changes its bits)."""
    rng = np.random.default_rng(1000 + k)
    v = rng.standard_normal(size) * 10.0 ** rng.integers(-3, 4, size)
    return v.astype(dtype) if np.dtype(dtype).kind == "f" else rng.integers(-50, 50, size).astype(dtype)


def in_rank_order(op, dtype, size):
    every = [values(k, size, dtype) for k in range(dist.get_world_size())]
    out = every[0].copy()
    for v in every[1:]:
        out = {ReduceOp.SUM: np.add, ReduceOp.AVG: np.add, ReduceOp.PRODUCT: np.multiply,
               ReduceOp.MAX: np.maximum, ReduceOp.MIN: np.minimum}[op](out, v)
    return out / dist.get_world_size() if op is ReduceOp.AVG else out


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("op", [ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT, ReduceOp.MAX, ReduceOp.MIN], ids=str)
def test_all_reduce_gives_the_rank_order_result_with_the_same_bits_everywhere(op, dtype, size):
    t = eg.from_numpy(values(dist.get_rank(), size, dtype))
    memory = t.numpy()
    dist.all_reduce(t, op=op)
    assert t.numpy() is memory  # in place
    assert_same_on_every_rank(t.numpy(), f"all_reduce {op}")
    # 2 ranks: a0 + a1 in any algorithm (commutative); more: the fixed order ((a0 + a1) + a2) + ...
    assert np.array_equal(t.numpy(), in_rank_order(op, dtype, size))


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_all_reduce_of_integers(dtype):
    t = eg.from_numpy(values(dist.get_rank(), 31, dtype))
    dist.all_reduce(t)
    assert np.array_equal(t.numpy(), in_rank_order(ReduceOp.SUM, dtype, 31))
    with pytest.raises(TypeError, match="op: ReduceOp.AVG needs a floating-point tensor, got dtype int"):
        dist.all_reduce(t, op=ReduceOp.AVG)


def test_async_all_reduce_and_its_version():
    a = eg.from_numpy(values(dist.get_rank(), 5000, np.float64))
    b = eg.from_numpy(values(dist.get_rank(), 3, np.float64))
    before = a._version
    wa = dist.all_reduce(a, op=ReduceOp.AVG, async_op=True)
    wb = dist.all_reduce(b, async_op=True)
    assert wb.wait() is True and wa.wait() is True and wa.is_completed()
    assert np.array_equal(a.numpy(), in_rank_order(ReduceOp.AVG, np.float64, 5000))
    assert np.array_equal(b.numpy(), in_rank_order(ReduceOp.SUM, np.float64, 3))
    assert a._version == before + 1  # changed in place: autograd sees it


def test_many_async_collectives_in_flight():
    """More collectives in flight than lanes: each meets its peers in order on every rank."""
    ts = [eg.from_numpy(values(dist.get_rank(), 10 + k, np.float64)) for k in range(20)]
    works = [dist.all_reduce(t, async_op=True) for t in ts]
    for w in reversed(works):
        w.wait()
    for k, t in enumerate(ts):
        assert np.array_equal(t.numpy(), in_rank_order(ReduceOp.SUM, np.float64, 10 + k))


def test_broadcast():
    for src in range(dist.get_world_size()):
        t = eg.from_numpy(values(dist.get_rank(), 9, np.float32).reshape(3, 3))
        dist.broadcast(t, src=src)
        assert np.array_equal(t.numpy(), values(src, 9, np.float32).reshape(3, 3))
    t = eg.from_numpy(values(dist.get_rank(), 9, np.float32).reshape(3, 3))
    dist.broadcast(t, src=0, async_op=True).wait()
    assert np.array_equal(t.numpy(), values(0, 9, np.float32).reshape(3, 3))


def test_all_gather_into_rows_of_one_tensor_and_into_separate_tensors():
    n, mine = dist.get_world_size(), eg.from_numpy(values(dist.get_rank(), 6, np.float64).reshape(2, 3))
    block = np.zeros((n, 2, 3))
    dist.all_gather([eg.from_numpy(block[r]) for r in range(n)], mine)  # one MPI_Allgather
    separate = [eg.zeros(2, 3, dtype=eg.float64) for _ in range(n)]
    dist.all_gather(separate, mine)  # one broadcast per rank
    for r in range(n):
        assert np.array_equal(block[r], values(r, 6, np.float64).reshape(2, 3))
        assert np.array_equal(separate[r].numpy(), block[r])
    in_place = np.zeros((n, 4))
    in_place[dist.get_rank()] = dist.get_rank() + 1
    dist.all_gather(list(in_place), in_place[dist.get_rank()])  # its own row is the input
    assert np.array_equal(in_place[:, 0], np.arange(1, n + 1))


def test_reduce_and_gather_to_one_rank():
    dst = dist.get_world_size() - 1
    t = eg.from_numpy(values(dist.get_rank(), 11, np.float64))
    dist.reduce(t, dst=dst, op=ReduceOp.MAX)
    if dist.get_rank() == dst:
        assert np.array_equal(t.numpy(), in_rank_order(ReduceOp.MAX, np.float64, 11))
    outs = [eg.zeros(11, dtype=eg.float64) for _ in range(dist.get_world_size())] if dist.get_rank() == 0 else None
    dist.gather(eg.from_numpy(values(dist.get_rank(), 11, np.float64)), outs, dst=0)
    if dist.get_rank() == 0:
        for r, o in enumerate(outs):
            assert np.array_equal(o.numpy(), values(r, 11, np.float64))


def test_mpi_reads_and_writes_the_tensors_own_memory_and_nothing_is_copied(monkeypatch):
    """The arrays handed to MPI are the tensors' memory itself (same address, same size), and no array of
    the tensor's size is allocated on the way (NumPy reports its allocations to tracemalloc)."""
    t = eg.from_numpy(values(dist.get_rank(), 1_000_003, np.float64))  # 8 MB
    rows = np.zeros((dist.get_world_size(), 250_000))
    mine = eg.from_numpy(rows[dist.get_rank()])
    mine._data[...] = dist.get_rank() + 1.0
    log = record_mpi_calls(monkeypatch)
    tracemalloc.start()
    try:
        dist.all_reduce(t, op=ReduceOp.MAX)
        dist.all_reduce(t, op=ReduceOp.AVG, async_op=True).wait()
        dist.broadcast(t, src=0)
        dist.all_gather(list(rows), mine)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # a float sum over more than 2 ranks takes the fixed-order path: one scratch buffer of the tensor's size
    assert peak < (0 if dist.get_world_size() == 2 else t._data.nbytes) + 1_000_000, f"{peak:,} bytes allocated"
    # each call's data buffer: its first array (the input, or the output where MPI_IN_PLACE stands first)
    used = [(method, address(arrays[0]), arrays[0].nbytes) for method, arrays in log]
    if dist.get_world_size() == 2:
        assert [m for m, _, _ in used] == ["Allreduce", "Iallreduce", "Bcast", "Allgather"], used
    assert all((a, n) == (address(t._data), t._data.nbytes) for _, a, n in used[:-1]), used
    assert used[-1] == ("Allgather", address(rows), rows.nbytes)  # in place: this rank's row is the input
    assert np.array_equal(rows[:, 0], np.arange(1, dist.get_world_size() + 1))


def test_bad_arguments_are_refused_without_copies():
    strided = eg.from_numpy(np.zeros((4, 4))[:, ::2])
    with pytest.raises(ValueError, match=r"tensor: expected a C-contiguous tensor .* strides \(32, 16\)"):
        dist.all_reduce(strided)
    read_only = np.zeros(3)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="tensor: expected a writeable tensor"):
        dist.broadcast(read_only, src=0)
    with pytest.raises(TypeError, match="op: expected an eigengrad.distributed.ReduceOp, got 'sum'"):
        dist.all_reduce(eg.zeros(2), op="sum")
    with pytest.raises(ValueError, match=r"src: expected a rank in \[0, \d\], got 99"):
        dist.broadcast(eg.zeros(2), src=99)
    with pytest.raises(ValueError, match="tensor_list: expected a list of \\d tensors \\(one per rank\\), got 1 tensors"):
        dist.all_gather([eg.zeros(2)], eg.zeros(2))
    with pytest.raises(ValueError, match="group: only the default group exists"):
        dist.barrier(group="other")
    with pytest.raises(TypeError, match="tensor: expected an eigengrad Tensor \\(or a NumPy array\\), got list"):
        dist.all_reduce([1.0, 2.0])


def test_rank_size_and_the_second_init():
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    assert 0 <= dist.get_rank() < dist.get_world_size()
    assert_same_on_every_rank(np.array([dist.get_world_size()]), "world size")
    assert gathered(np.array([dist.get_rank()]))[-1][0] == dist.get_world_size() - 1
    with pytest.raises(ValueError, match="trying to initialize the default process group twice!"):
        dist.init_process_group("mpi")


def test_threads_follow_the_cores_each_rank_owns():
    if os.environ.get("OMP_NUM_THREADS"):
        pytest.skip("OMP_NUM_THREADS is set: the launcher's count is kept (the wrapper unsets it)")
    width = max(os.cpu_count() or 1, 1024)
    mask = np.zeros(width, dtype=np.uint8)
    mask[sorted(own_cores())] = 1
    every = [set(np.flatnonzero(m).tolist()) for m in gathered(mask)]  # one node: every rank shares it
    assert eg.get_num_threads() == threads_for(own_cores(), every)
    total = sum(gathered(np.array([eg.get_num_threads()]))[r][0] for r in range(dist.get_world_size()))
    assert total <= max(len(set().union(*every)), dist.get_world_size())  # never more threads than cores
