"""Collectives over the default group, in place on the tensors' own memory (``torch.distributed``'s names).

Each collective works on the NumPy array a Tensor holds (NumPy arrays are accepted as they are): MPI
reads and writes that memory directly, so a tensor must be C-contiguous (and writeable where it
receives); anything else is a ValueError naming the argument, never a silent copy. A tensor changed
in place gets a new version (autograd refuses a saved array changed since).

Every collective is a short sequence of MPI calls (*stages*, a generator of ``(method, args, kwargs)``),
run with blocking calls, or, with ``async_op=True``, started with the nonblocking ones and carried on
by :class:`Work`. Every wait is bounded by the group's timeout (``watchdog``).

Sums that every rank gets bitwise equal (:func:`reduce_stages`). The MPI standard only *recommends*
that a reduction give the same result for the same arguments in the same order; it does not promise
that MPI_Allreduce hands every rank the same bits, and the order in which an implementation adds the
ranks' values changes with the algorithm it picks (message size, rank count). So:

- with 2 ranks, MPI_Allreduce: every algorithm computes a0 + a1 or a1 + a0 per element, and IEEE
  addition and multiplication are commutative, so both ranks get the same bits, on every run;
- MAX, MIN, the bitwise ops and integer sums are exact in any order: MPI_Allreduce;
- a floating-point SUM, AVG or PRODUCT over more than 2 ranks is reduced in a fixed order: the
  buffer is cut into one piece per rank, an MPI_Alltoallv hands rank r every rank's piece r, rank r
  adds them in rank order ((v0 + v1) + v2) + ... and an in-place MPI_Allgatherv gives every rank every
  piece. The same traffic as a ring or Rabenseifner allreduce (twice the data over all ranks), one
  scratch buffer of the tensor's size, and a result that depends only on the values and the rank
  count: not on the MPI implementation, its algorithm, the message size or the number of threads.
AVG is the sum divided by the rank count.
"""
from __future__ import annotations

import enum
import operator

import numpy as np

from eigengrad.autograd.version import bump
from eigengrad.distributed.process_group import World, _no_group, world
from eigengrad.tensor import Tensor


class ReduceOp(enum.Enum):
    """How :func:`all_reduce` and :func:`reduce` combine the ranks' values."""

    SUM = "SUM"
    AVG = "AVG"
    PRODUCT = "PRODUCT"
    MIN = "MIN"
    MAX = "MAX"
    BAND = "BAND"
    BOR = "BOR"
    BXOR = "BXOR"

    def __repr__(self) -> str:
        return f"ReduceOp.{self.name}"


_MPI_OP = {ReduceOp.SUM: "SUM", ReduceOp.AVG: "SUM", ReduceOp.PRODUCT: "PROD", ReduceOp.MIN: "MIN",
           ReduceOp.MAX: "MAX", ReduceOp.BAND: "BAND", ReduceOp.BOR: "BOR", ReduceOp.BXOR: "BXOR"}
_DTYPES = {np.dtype(t) for t in (np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                                 np.uint32, np.uint64, np.bool_)}


class Work:
    """A collective started with ``async_op=True``: :meth:`wait` completes it (bounded by the group's
    timeout); :meth:`is_completed` moves it on without blocking (MPI progresses nonblocking
    collectives mostly when called, so testing now and then lets them run during other work).

    MPI matches collectives by the order in which each rank calls them on a communicator. A collective
    of two stages whose second stage starts when a test finds the first done would start it at a
    moment that differs between ranks, between other collectives' calls. So each Work runs on a *lane*
    of its own (one of ``World.LANES`` duplicates of the communicator, taken in turn) and a lane carries
    one Work at a time: starting a Work first waits for the lane's previous one. Works start in program
    order, the same on every rank, so every lane sees the same calls in the same order on every rank.
    """

    def __init__(self, w: World, what: str, stages) -> None:
        self._world, self._what, self._stages = w, what, stages
        self._comm, previous = w.take_lane(self)
        if previous is not None:
            previous.wait()
        self._request = None
        self._next()

    def _next(self) -> None:
        """Start the next stage (the local work before it runs now), or note that none is left."""
        for method, args, kwargs in self._stages:
            start = getattr(self._comm, "I" + method[0].lower() + method[1:])
            self._request = start(*args, **kwargs)
            return
        self._request = None

    def is_completed(self) -> bool:
        while self._request is not None and self._request.Test():
            self._next()
        return self._request is None

    def wait(self, timeout=None) -> bool:
        """Complete the collective; True. ``timeout`` is accepted (PyTorch's): the group's timeout bounds
        every wait."""
        if self._request is not None:
            with self._world.guard(self._what):
                while self._request is not None:
                    self._request.Wait()
                    self._next()
        return True


def run(w: World, what: str, stages, async_op: bool) -> Work | None:
    """Run ``stages`` with blocking calls (None), or start them and return the :class:`Work`."""
    if async_op:
        return Work(w, what, stages)
    comm = w.comm
    with w.guard(what):
        for method, args, kwargs in stages:
            getattr(comm, method)(*args, **kwargs)
    return None


# --- arguments -------------------------------------------------------------------------------------

def as_array(tensor, name: str, writeable: bool = True) -> np.ndarray:
    """The array a collective works on: the tensor's own, C-contiguous, of a type MPI knows."""
    if isinstance(tensor, Tensor):
        arr = tensor._data
    elif isinstance(tensor, np.ndarray):
        arr = tensor
    else:
        raise TypeError(f"{name}: expected an eigengrad Tensor (or a NumPy array), got {type(tensor).__name__}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous tensor (collectives work in place on its memory), got one "
                         f"of shape {arr.shape} with strides {arr.strides}; pass .contiguous() and use the result")
    if writeable and not arr.flags.writeable:
        raise ValueError(f"{name}: expected a writeable tensor (the collective writes its result into it), got a "
                         "read-only one")
    if arr.dtype not in _DTYPES:
        raise TypeError(f"{name}: expected a float, integer or bool tensor, got dtype {arr.dtype}")
    return arr


def _op(op) -> ReduceOp:
    if not isinstance(op, ReduceOp):
        raise TypeError(f"op: expected an eigengrad.distributed.ReduceOp, got {op!r}")
    return op


def _rank_arg(name: str, value, size: int) -> int:
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: expected an int rank, got {type(value).__name__}") from None
    if not 0 <= value < size:
        raise ValueError(f"{name}: expected a rank in [0, {size - 1}], got {value}")
    return value


def _versioned(tensor, stages):
    """``stages``, then a new version for ``tensor`` (its memory was written)."""
    yield from stages
    if isinstance(tensor, Tensor):
        bump(tensor)


# --- reductions --------------------------------------------------------------------------------------

def reduce_stages(w: World, buf: np.ndarray, op: ReduceOp):
    """The stages of an in-place all-reduce of the flat array ``buf`` whose result has the same bits on
    every rank (see the module's docstring)."""
    n = w.size
    if n == 1:
        return
    exact = op not in (ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT) or buf.dtype.kind not in "fc"
    if n == 2 or exact:
        yield "Allreduce", (w.MPI.IN_PLACE, buf), {"op": getattr(w.MPI, _MPI_OP[op])}
        if op is ReduceOp.AVG:
            np.divide(buf, n, out=buf)
        return
    yield from _fixed_order_stages(w, buf, op)


def _pieces(size: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts and offsets of ``n`` consecutive pieces of ``size`` elements (sizes differ by at most one)."""
    counts = np.full(n, size // n, dtype=np.int64)
    counts[:size % n] += 1
    return counts, np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)


def _fixed_order_stages(w: World, buf: np.ndarray, op: ReduceOp):
    n, r = w.size, w.rank
    counts, displs = _pieces(buf.size, n)
    c = int(counts[r])
    scratch = np.empty((n, c), dtype=buf.dtype)  # row j: rank j's values of piece r
    yield "Alltoallv", ([buf, (counts, displs)], [scratch, (np.full(n, c), np.arange(n) * c)]), {}
    mine = buf[displs[r]:displs[r] + c]
    combine = np.multiply if op is ReduceOp.PRODUCT else np.add
    combine(scratch[0], scratch[1], out=mine)
    for j in range(2, n):
        combine(mine, scratch[j], out=mine)
    if op is ReduceOp.AVG:
        np.divide(mine, n, out=mine)
    yield "Allgatherv", (w.MPI.IN_PLACE, [buf, (counts, displs)]), {}


def all_reduce(tensor, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False) -> Work | None:
    """Combine ``tensor`` over all ranks with ``op``, in place; every rank gets the same bits."""
    _no_group(group)
    w, arr, op = world(), as_array(tensor, "tensor"), _op(op)
    if op is ReduceOp.AVG and arr.dtype.kind not in "fc":
        raise TypeError(f"op: ReduceOp.AVG needs a floating-point tensor, got dtype {arr.dtype}")
    return run(w, "all_reduce", _versioned(tensor, reduce_stages(w, arr.reshape(-1), op)), async_op)


def reduce(tensor, dst: int = 0, op: ReduceOp = ReduceOp.SUM, group=None, async_op: bool = False) -> Work | None:
    """Combine ``tensor`` over all ranks into rank ``dst``'s tensor (the others' are left as they are)."""
    _no_group(group)
    w, arr, op = world(), as_array(tensor, "tensor"), _op(op)
    dst = _rank_arg("dst", dst, w.size)
    if op is ReduceOp.AVG and arr.dtype.kind not in "fc":
        raise TypeError(f"op: ReduceOp.AVG needs a floating-point tensor, got dtype {arr.dtype}")
    return run(w, "reduce", _versioned(tensor, _reduce_to(w, arr.reshape(-1), dst, op)), async_op)


def _reduce_to(w: World, buf: np.ndarray, dst: int, op: ReduceOp):
    mpi_op = getattr(w.MPI, _MPI_OP[op])
    if w.rank == dst:
        yield "Reduce", (w.MPI.IN_PLACE, buf), {"op": mpi_op, "root": dst}
        if op is ReduceOp.AVG:
            np.divide(buf, w.size, out=buf)
    else:
        yield "Reduce", (buf, None), {"op": mpi_op, "root": dst}


# --- copies between ranks ------------------------------------------------------------------------------

def broadcast(tensor, src: int | None = None, group=None, async_op: bool = False,
              group_src: int | None = None) -> Work | None:
    """Overwrite ``tensor`` on every rank with rank ``src``'s."""
    _no_group(group)
    w, arr = world(), as_array(tensor, "tensor")
    if src is None and group_src is None:
        raise ValueError("src: expected the rank to broadcast from, got None")
    src = _rank_arg("src", group_src if src is None else src, w.size)

    def stages():
        yield "Bcast", (arr,), {"root": src}
        if w.rank != src and isinstance(tensor, Tensor):
            bump(tensor)

    return run(w, "broadcast", stages(), async_op)


def _block(arrays: list[np.ndarray]) -> np.ndarray | None:
    """One flat array over ``arrays`` when they are consecutive pieces of one memory block, else None."""
    from eigengrad.optim.arena import _back_to_back

    return _back_to_back(arrays)


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _outputs(tensor_list, name: str, like: np.ndarray, n: int) -> list[np.ndarray]:
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != n:
        got = f"{len(tensor_list)} tensors" if isinstance(tensor_list, (list, tuple)) else type(tensor_list).__name__
        raise ValueError(f"{name}: expected a list of {n} tensors (one per rank), got {got}")
    outs = [as_array(t, f"{name}[{i}]") for i, t in enumerate(tensor_list)]
    for i, o in enumerate(outs):
        if o.shape != like.shape or o.dtype != like.dtype:
            raise ValueError(f"{name}[{i}]: expected shape {like.shape} and dtype {like.dtype} (the input's), got "
                             f"shape {o.shape} and dtype {o.dtype}")
    return outs


def all_gather(tensor_list: list, tensor, group=None, async_op: bool = False) -> Work | None:
    """``tensor_list[r]`` = rank r's ``tensor`` on every rank. Outputs that are consecutive pieces of one
    block (e.g. the rows of one tensor) get one MPI_Allgather; others one MPI_Bcast per rank, each
    into its output."""
    _no_group(group)
    w, arr = world(), as_array(tensor, "tensor", writeable=False)
    outs = _outputs(tensor_list, "tensor_list", arr, w.size)
    block = _block(outs) if arr.size else None
    mine = outs[w.rank]
    in_place = _address(arr) == _address(mine)  # same shape and dtype: the same memory
    if not in_place and np.shares_memory(arr, block if block is not None else mine):
        raise ValueError("tensor: overlaps the outputs in tensor_list without being this rank's output")

    def stages():
        if block is not None:
            yield "Allgather", (w.MPI.IN_PLACE if in_place else arr.reshape(-1), block), {}
        else:
            if not in_place:
                np.copyto(mine, arr)
            for r, out in enumerate(outs):
                yield "Bcast", (out,), {"root": r}
        for t in tensor_list:
            if isinstance(t, Tensor):
                bump(t)

    return run(w, "all_gather", stages(), async_op)


def gather(tensor, gather_list: list | None = None, dst: int | None = None, group=None, async_op: bool = False,
           group_dst: int | None = None) -> Work | None:
    """``gather_list[r]`` = rank r's ``tensor`` on rank ``dst`` (default 0); the others pass no list.
    Outputs that are consecutive pieces of one block are received in place; others through one
    scratch buffer (copied into them on ``dst``)."""
    _no_group(group)
    w, arr = world(), as_array(tensor, "tensor", writeable=False)
    dst = _rank_arg("dst", 0 if dst is None and group_dst is None else (group_dst if dst is None else dst), w.size)
    if w.rank != dst:
        if gather_list:
            raise ValueError(f"gather_list: only rank {dst} (dst) receives, expected None on rank {w.rank}")
        return run(w, "gather", iter([("Gather", (arr.reshape(-1), None), {"root": dst})]), async_op)
    outs = _outputs(gather_list, "gather_list", arr, w.size)
    block = _block(outs) if arr.size else None

    def stages():
        target = block if block is not None and not np.shares_memory(arr, block) else np.empty((w.size, arr.size), arr.dtype)
        yield "Gather", (arr.reshape(-1), target), {"root": dst}
        if target is not block:
            for out, row in zip(outs, target.reshape(w.size, -1)):
                out.reshape(-1)[...] = row
        for t in gather_list:
            if isinstance(t, Tensor):
                bump(t)

    return run(w, "gather", stages(), async_op)


def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None) -> Work | None:
    """Wait until every rank has called it."""
    _no_group(group)
    return run(world(), "barrier", iter([("Barrier", (), {})]), async_op)
