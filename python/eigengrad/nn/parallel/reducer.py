"""The gradient reducer of :class:`DistributedDataParallel`: bucketed allreduce over the optimizer's flat
gradient buffers, started while backward is still running.

Where the gradients are. An optimizer keeps each param group's gradients (per dtype) in one flat buffer,
``arena.grad``, parameter i at ``[offsets[i], offsets[i+1])`` (``optim/arena.py``); backward writes a
parameter's gradient into its slot and calls the arena's grad-ready hooks with ``(arena, i)`` once the
gradient is final. A *bucket* is a run of consecutive slots of one arena, at most ``bucket_cap_mb``
(the first one, in launch order, 1 MiB so that the first reduction starts early): its gradients are
one contiguous slice of the buffer, so its reduction is one in-place MPI call on that slice, no copy.

The order. Backward produces gradients from the last layer to the first, so buckets are cut from each
arena's last parameter backwards, and launched in a fixed order: by the position in the module of
their first parameter, last first. MPI matches collectives by the order in which each rank calls
them, so every rank must start the same buckets in the same order: a bucket is started only when all
its gradients are final *and* every bucket before it has started (a later bucket that is ready
first waits for its turn, as in PyTorch's reducer).

One iteration:
1. ``prepare()`` (DDP's forward, when gradients will be synchronised): rebuild the buckets if the
   parameters' arenas changed (a new optimizer), reset the per-iteration state.
2. Backward: each grad-ready hook counts its bucket down; full buckets are started with a
   nonblocking average (``Iallreduce``, or the fixed-order reduction over more than 2 ranks; see
   ``distributed.collectives``), and the hooks test the oldest running reduction so that MPI moves it
   on while backward computes.
3. ``finalize()``, queued on the engine by the output's sink so that it runs when backward is done:
   starts the buckets that are left (with ``find_unused_parameters``, a parameter that got no gradient
   contributes zeros), reduces the gradients of parameters that no optimizer holds (one call each),
   with ``find_unused_parameters`` exchanges which parameters each rank used (a parameter used by no
   rank keeps ``grad = None``), and waits for everything. When ``loss.backward()`` returns, every
   rank has the same averaged gradients, so clipping sees the global norm.
"""
from __future__ import annotations

import weakref

import numpy as np

from eigengrad.distributed import collectives as C
from eigengrad.tensor import Tensor

FIRST_BUCKET_BYTES = 1024 * 1024  # torch.distributed._DEFAULT_FIRST_BUCKET_BYTES


class Bucket:
    """Parameters ``lo..hi-1`` of ``arena``: their gradients are ``view``, one slice of ``arena.grad``."""

    __slots__ = ("arena", "lo", "hi", "view", "slots", "params", "positions", "pending", "work")

    def __init__(self, arena, lo: int, hi: int, positions: list[int]) -> None:
        self.arena, self.lo, self.hi, self.positions = arena, lo, hi, positions
        o = arena.offsets
        self.view = arena.grad[o[lo]:o[hi]]
        self.params = arena.params[lo:hi]
        self.slots = [arena.grad_slot(p) for p in self.params]
        self.pending, self.work = 0, None


def cut_buckets(arena, indices: list[int], positions: dict, cap: int, first_cap: int) -> list[Bucket]:
    """Buckets over the arena slots ``indices`` (descending): runs of consecutive slots, each at most
    ``cap`` bytes (``first_cap`` for the arena's first), a parameter larger than the cap alone.
    ``positions[i]`` is slot i's parameter position in the module; a bucket lists them by slot, ascending."""
    buckets, run, size, limit = [], [], 0, first_cap
    sizes = np.diff(arena.offsets) * arena.grad.itemsize
    for i in indices:
        if run and (run[-1] != i + 1 or size + sizes[i] > limit):
            buckets.append(_bucket(arena, run, positions))
            run, size, limit = [], 0, cap
        run.append(i)
        size += int(sizes[i])
    if run:
        buckets.append(_bucket(arena, run, positions))
    return buckets


def _bucket(arena, run: list[int], positions: dict) -> Bucket:
    """The bucket of the descending slots ``run``: slots ``run[-1] .. run[0]``, positions in slot order."""
    return Bucket(arena, run[-1], run[0] + 1, [positions[j] for j in reversed(run)])


class Reducer:
    """Averages the gradients of ``params`` (``names`` for messages) over the ranks of the default group."""

    def __init__(self, params: list, names: list[str], bucket_cap_mb: float, first_bucket_bytes: int | None,
                 find_unused_parameters: bool) -> None:
        from eigengrad.distributed.process_group import world

        self.world = world()
        self.params, self.names = params, names
        self.cap = max(1, int(bucket_cap_mb * 1024 * 1024))
        self.first_cap = self.cap if first_bucket_bytes is None else first_bucket_bytes
        self.find_unused = find_unused_parameters
        self.buckets: list[Bucket] = []
        self.loose: list[int] = []          # positions of parameters no optimizer arena holds
        self._where: dict = {}              # (id(arena), slot) -> (bucket, parameter position)
        self._layout = None
        self._handles: list = []
        self.armed = False                  # between prepare() and finalize()
        self._ready = np.zeros(len(params), dtype=bool)
        self._next = 0                      # the next bucket to start
        self._oldest = 0                    # the oldest bucket whose reduction may still run
        self._slot_of: dict = {}            # parameter position -> its gradient slot (bucketed parameters)
        self._loose_grads: dict = {}        # parameter position -> the array reduced for a loose parameter

    # --- layout -----------------------------------------------------------------------------------
    def _arenas(self) -> tuple:
        return tuple(p._arena() if p._arena is not None else None for p in self.params)

    def _build(self, arenas: tuple) -> None:
        self.detach()
        positions, by_arena = {}, {}
        for pos, (p, arena) in enumerate(zip(self.params, arenas)):
            if arena is not None and arena.grad_slot(p) is not None:
                i = arena.index(p)
                positions[(id(arena), i)] = pos
                by_arena.setdefault(id(arena), (arena, []))[1].append(i)
        self.buckets = []
        for arena, slots in by_arena.values():
            local = {i: positions[(id(arena), i)] for i in slots}
            self.buckets += cut_buckets(arena, sorted(slots, reverse=True), local, self.cap, self.first_cap)
        self.buckets.sort(key=lambda b: -min(b.positions))
        self._where = {(id(b.arena), i): (b, pos) for b in self.buckets for i, pos in zip(range(b.lo, b.hi), b.positions)}
        self._slot_of = {pos: slot for b in self.buckets for pos, slot in zip(b.positions, b.slots)}
        held = {pos for b in self.buckets for pos in b.positions}
        self.loose = [pos for pos in range(len(self.params)) if pos not in held]
        ref = weakref.ref(self)

        def hook(arena, i, ref=ref):
            reducer = ref()
            if reducer is not None:
                reducer._on_ready(arena, i)

        self._handles = [arena.register_grad_ready_hook(hook) for arena, _ in by_arena.values()]
        self._layout = arenas
        self._check_layout()

    def _check_layout(self) -> None:
        """Every rank must start the same reductions in the same order: compare the bucket sizes."""
        sig = [len(self.buckets), len(self.loose)] + [b.view.size for b in self.buckets] + self.loose
        mine = np.array([len(sig), hash(tuple(sig)) & 0x7FFFFFFFFFFFFFFF], dtype=np.int64)
        every = np.empty((self.world.size, 2), dtype=np.int64)
        C.run(self.world, "DistributedDataParallel's bucket check",
              iter([("Allgather", (mine, every), {})]), async_op=False)
        differ = [r for r in range(self.world.size) if not np.array_equal(every[r], every[0])]
        if differ:
            raise RuntimeError(f"DistributedDataParallel: the gradient buckets of rank(s) {differ} differ from rank 0's "
                               "(the optimizers hold the parameters in different groups or dtypes on different ranks); "
                               "build the same optimizer on every rank")

    def detach(self) -> None:
        """Remove the grad-ready hooks from the arenas."""
        for h in self._handles:
            h.remove()
        self._handles = []

    # --- one iteration --------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Called by DDP's forward before a backward that synchronises gradients."""
        if self.armed and self._ready.any():
            self.armed = False
            raise RuntimeError(
                "Expected to have finished reduction in the prior iteration before starting a new one. The previous "
                "backward of this DistributedDataParallel model marked gradients ready but did not finish (its output "
                "was not what backward ran through, or a backward raised); call backward on a loss computed from the "
                "model's output, once per forward")
        arenas = self._arenas()
        if arenas != self._layout:
            self._build(arenas)
        self._ready[:] = False
        for b in self.buckets:
            b.pending, b.work = b.hi - b.lo, None
        self._next = self._oldest = 0
        self.armed = True

    def _on_ready(self, arena, i: int) -> None:
        if not self.armed:
            return  # a backward outside a synchronised forward (no_sync, or another graph)
        found = self._where.get((id(arena), i))
        if found is None:
            return
        bucket, pos = found
        if self._ready[pos]:
            raise RuntimeError(f"Expected to mark a variable ready only once; parameter {self.names[pos]} got a second "
                               "gradient in one synchronised iteration (two backwards through one DDP forward?)")
        self._ready[pos] = True
        bucket.pending -= 1
        if bucket.pending == 0:
            self._start_ready()
        self._progress()

    def _start_ready(self) -> None:
        buckets = self.buckets
        while self._next < len(buckets) and buckets[self._next].pending == 0:
            self._start(buckets[self._next], self._next)
            self._next += 1

    def _start(self, bucket: Bucket, k: int) -> None:
        for p, slot in zip(bucket.params, bucket.slots):
            if p.grad is None:
                slot[...] = 0   # unused here: contributes zeros (find_unused_parameters)
            elif p.grad._data is not slot:  # a gradient made outside its slot: the slot becomes its gradient
                np.copyto(slot, p.grad._data)
                p.grad = Tensor._wrap(slot)
        bucket.work = C.Work(self.world, f"all_reduce of gradient bucket {k}",
                             C.reduce_stages(self.world, bucket.view, C.ReduceOp.AVG))

    def _progress(self) -> None:
        """Let MPI move the oldest running reduction on (nonblocking collectives progress when called)."""
        while self._oldest < self._next and self.buckets[self._oldest].work.is_completed():
            self._oldest += 1

    def finalize(self) -> None:
        """At the end of backward: start what is left, wait for every reduction."""
        if not self.armed:
            return
        self.armed = False
        for pos in self.loose:
            self._ready[pos] = self.params[pos].grad is not None
        unused = np.flatnonzero(~self._ready)
        if len(unused) and not self.find_unused:
            raise RuntimeError(_unused_message([self.names[i] for i in unused]))
        for k in range(self._next, len(self.buckets)):
            self._start(self.buckets[k], k)
        self._next = len(self.buckets)
        works = [b.work for b in self.buckets] + [self._loose_work(pos) for pos in self.loose]
        used = self._global_use() if self.find_unused else None
        for work in works:
            work.wait()
        if used is not None:
            self._set_grads_of_unused(used)
        self._loose_grads.clear()

    def _loose_work(self, pos: int) -> C.Work:
        p = self.params[pos]
        if p.grad is None:
            p_grad = np.zeros(p.shape, dtype=p.dtype)
        else:
            if not p.grad._data.flags.c_contiguous or not p.grad._data.flags.writeable:
                p.grad = Tensor._wrap(np.ascontiguousarray(p.grad._data).copy())
            p_grad = p.grad._data
        self._loose_grads[pos] = p_grad
        return C.Work(self.world, f"all_reduce of the gradient of {self.names[pos]}",
                      C.reduce_stages(self.world, p_grad.reshape(-1), C.ReduceOp.AVG))

    def _global_use(self) -> np.ndarray:
        """Which parameters any rank used in this iteration (MAX of the ranks' flags; started after the
        buckets, so every rank calls the collectives in the same order)."""
        used = self._ready.astype(np.uint8)
        C.run(self.world, "all_reduce of the used-parameter flags",
              C.reduce_stages(self.world, used, C.ReduceOp.MAX), async_op=False)
        return used.astype(bool)

    def _set_grads_of_unused(self, used: np.ndarray) -> None:
        """A parameter this rank did not use gets the average when another rank used it; else stays None."""
        for pos in np.flatnonzero(~self._ready & used):
            grad = self._slot_of.get(pos)
            self.params[pos].grad = Tensor._wrap(grad if grad is not None else self._loose_grads[pos])


def _unused_message(names: list[str]) -> str:
    return ("Expected to have finished reduction in the prior iteration before starting a new one. This error "
            "indicates that your module has parameters that were not used in producing loss. You can enable unused "
            "parameter detection by passing the keyword argument `find_unused_parameters=True` to "
            "`eigengrad.nn.parallel.DistributedDataParallel`, and by making sure all `forward` function outputs "
            "participate in calculating loss. Parameters which did not receive grad for this rank: "
            + ", ".join(names))
