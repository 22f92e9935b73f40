"""Each parameter's optimizer update as soon as its gradient is final, while the gradient is in cache.

Eager mode updates the parameters after backward: one kernel call per parameter group over the flat
parameter, gradient and state buffers (``optim/arena.py``), which by then have left the caches (the issue's
MLP streams 1.07 M parameters, their gradients and both Adam moments: about 30 MB a step). In a plan, a
parameter's update can run right after the last op before the step that touches the parameter, its
gradient or its state: for a Linear layer, after the GEMMs of its backward that write the weight gradient
and read the weight.

Exact: the rules that take this path (``Optimizer._kernel_call``: SGD, Adam, AdamW, NAdam, RAdam, Adamax,
Adagrad, RMSprop, Adadelta) are elementwise, so a
call over one parameter's slice of the buffers computes the same bits as the group's call over all of
them; only the time each element is updated moves, and nothing reads it in between (the insertion point
is after every op that touches it). A Python op (or a primitive computed in NumPy) before the step may
touch anything, so no update moves above one.

What changes between steps is read at every replay, as the optimizer's step does: a Python op placed
before the first update reads the param groups (``lr``, betas, weight decay, ...), advances the step
counts, and sets the scalar registers of the update calls (``PlanExecutor.set_scalars``). An option that
decides which buffers a call uses (AMSGrad, a momentum buffer, RMSprop's centering) is part of the plan's signature
(``StepState.observe``: the optimizers' state names), so changing it traces again.
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels
from eigengrad.compile.recorder import Buffer, Op, Ref, address, array_root
from eigengrad.compile.rewrite import _extent, array_refs
from eigengrad.optim.optimizer import Optimizer


class FusedUpdates:
    """The per-parameter updates of one optimizer step (a large parameter's call also takes the small ones
    that follow it in the flat buffers: SPLIT_ELEMENTS); calling it sets their scalars for this replay.

    ``groups``: (param group, arena, plan indices of its parameters' update ops); ``ops``: the plan's ops.
    Once the plan is bound (``bind``), the updates its native executor captured read their scalars from the
    executor's registers, the others (Python calls) from their ops' kwargs: a call sets each where it is read."""

    def __init__(self, optimizer: Optimizer, groups: list) -> None:
        self.optimizer, self.groups = optimizer, groups
        self.ops: list[Op] = []
        self.executor = None
        self.split: list | None = None  # (group, arena, captured update ops, Python ones): set by bind

    def bind(self, executor, captured: set) -> None:
        """Where each update reads its scalars: ``captured`` (plan indices the executor runs) from ``executor``."""
        self.executor = executor
        self.split = [(group, arena, [k for k in slots if k in captured], [k for k in slots if k not in captured])
                      for group, arena, slots in self.groups]

    def __call__(self) -> None:
        for group, arena, native, python in self.split:
            _, kw = self.optimizer._arena_kernel_call(group, arena)
            if native:
                self.executor.set_scalars(native, **kw)
            for k in python:
                self.ops[k].kwargs.update(kw)


def _step_optimizer(op: Op) -> Optimizer | None:
    """The optimizer whose step ``op`` replays, when its rule can be fused per parameter."""
    if op.kind != "python" or getattr(op.fn, "__name__", "") != "_step_groups":
        return None
    opt = getattr(op.fn, "__self__", None)
    if (not isinstance(opt, Optimizer) or opt._kernel_call is None
            or type(opt)._step_groups is not Optimizer._step_groups):
        return None
    return opt


def _buffer_of(arr: np.ndarray, index: dict) -> tuple[int, int] | None:
    """(plan buffer, byte offset of ``arr`` in it) for an array of a persistent buffer, else None."""
    root = array_root(arr)
    k = index.get(id(root))
    return None if k is None else (k, address(arr) - address(root))


class _Slices:
    """One arena's flat buffers as plan buffers: the Ref of parameter i's slice of each."""

    def __init__(self, opt: Optimizer, group: dict, arena, index: dict) -> None:
        self.arena = arena
        names = opt._state_names(group)
        self.flats = {"param": arena.data, "grad": arena.grad, **{n: arena._state[n][0] for n in names}}
        self.where = {k: _buffer_of(a, index) for k, a in self.flats.items()}
        self.names = names

    def ok(self, grads: dict) -> bool:
        """Whether every buffer is in the plan and each parameter's gradient was in its slot at the step."""
        a = self.arena
        if None in self.where.values() or any(p._data is not v for p, v in zip(a.params, a._data_views)):
            return False
        buf, base = self.where["grad"]
        size = a.grad.dtype.itemsize
        for i, p in enumerate(a.params):
            g = grads.get(id(p))
            if g is None or g.buf != buf or g.offset != base + int(a.offsets[i]) * size or g.shape != tuple(p.shape):
                return False
        return True

    def ref(self, name: str, i: int, j: int) -> Ref:
        """The Ref of parameters [i, j)'s slice of buffer ``name``."""
        flat = self.flats[name]
        lo, hi = int(self.arena.offsets[i]), int(self.arena.offsets[j])
        buf, base = self.where[name]
        return Ref(buf, base + lo * flat.itemsize, (hi - lo,), (flat.itemsize,), flat.dtype, array=flat[lo:hi])


# A parameter of at least this many elements starts its own update call; the smaller ones after it in the
# flat buffers (its bias, a norm layer's weight and bias) join its call. One call per parameter measured
# 0.96x the update at the end on the MLP at batch 32 (ten calls, each a kernel launch), and a small
# parameter's update reads too little to gain from the cache.
SPLIT_ELEMENTS = 1 << 15


def _groups(arena) -> list[tuple[int, int]]:
    """The arena's parameters as runs [i, j) of one update call each."""
    starts = [i for i in range(len(arena.params))
              if i == 0 or int(arena.offsets[i + 1] - arena.offsets[i]) >= SPLIT_ELEMENTS]
    return list(zip(starts, starts[1:] + [len(arena.params)]))


def _extents(op: Op) -> list | None:
    """(buffer, first byte, end byte) of every array ``op`` touches; None for an op that may touch anything."""
    if op.kind == "python" or op.table == "P":
        return None
    return [(r.buf, *_extent(r)) for _, r in array_refs(op)]


def _last_touch(extents: list, s: int, refs: list[Ref]) -> int:
    """The last op before ``s`` that touches any of ``refs`` (-1: none); scanned backwards from the step."""
    want = [(t.buf, *_extent(t)) for t in refs]
    for k in range(s - 1, -1, -1):
        ext = extents[k]
        if ext is None:
            return k
        for buf, a, b in ext:
            for tb, lo, hi in want:
                if buf == tb and a < hi and lo < b:
                    return k
    return -1


def _plan_updates(ops: list[Op], extents: list, s: int, opt: Optimizer, index: dict) -> list | None:
    """For the step at op ``s``: [(insert after op k, update Op, arena)], or None when it cannot fuse."""
    grads = {id(p): r for p, r in ops[s].grads}
    module = _kernels.compiled_module()
    capturable = set(module.capturable_kernels())
    out = []
    for group, arenas in zip(opt.param_groups, opt._arenas):
        for arena in arenas:
            names = opt._state_names(group)
            if (arena.data is None or arena.hooks or any(n not in arena._state for n in names)
                    or opt._state_unfused_reason(group, arena, names) is not None):  # (eager updates one by one)
                return None
            sl = _Slices(opt, group, arena, index)
            if not sl.ok(grads):
                return None
            held = opt.state.get(arena.params[0], {})
            state = {k: held.get(k, v) for k, v in opt._scalar_state(group).items()}  # a copy: the count stays
            fn, names, kw = opt._kernel_call(group, state, False)
            if fn.__name__ not in capturable:
                return None
            binding = getattr(module, fn.__name__)
            for i, j in _groups(arena):
                args = [sl.ref("param", i, j), sl.ref("grad", i, j)]
                args += [sl.ref(n, i, j) if n in sl.names else None for n in names]
                last = _last_touch(extents, s, [a for a in args if a is not None])
                roles = ("rw", "r") + ("rw",) * len(names)
                update = Op("kernel", fn.__name__, binding, args, kw, roles, "C")
                update.live = True  # (FusedUpdates sets its scalars at every replay)
                out.append((last, update, (group, arena)))
    return out


def fuse_updates(ops: list[Op], buffers: list[Buffer]) -> tuple[list[Op], list[FusedUpdates]]:
    """The plan's ops with each fusable optimizer step split into per-parameter updates (and the Python op
    that sets their scalars before the first one); the temporaries' live ranges and the kernels' draw
    indices follow the new positions. Returns (ops, one FusedUpdates per fused step)."""
    index = {id(b.root): k for k, b in enumerate(buffers) if b.kind == "persistent" and b.root is not None}
    extents = None
    after: dict[int, list] = {}
    fused, seen = [], set()
    for s, op in enumerate(ops):
        opt = _step_optimizer(op)
        params = {id(p) for g in opt.param_groups for p in g["params"]} if opt is not None else set()
        if opt is None or params & seen:  # (a parameter two optimizers update: their order stays as traced)
            continue
        extents = extents or [[] if o.kind == "elided" else _extents(o) for o in ops]
        planned = _plan_updates(ops, extents, s, opt, index)
        if not planned:
            continue
        f = FusedUpdates(opt, [])
        first = min(k for k, _, _ in planned)
        after.setdefault(first, []).append(Op("python", f"{type(opt).__name__}: the per-parameter updates' scalars", f))
        for k, update, where in planned:
            after.setdefault(k, []).append((update, where, f))
        op.kind = "elided"  # its updates run from the plan now
        extents[s] = []
        seen |= params
        fused.append(f)
    if not fused:
        return ops, []
    new, position, slots = list(after.get(-1, [])), {}, {}
    for k, op in enumerate(ops):
        position[k] = len(new)
        new.append(op)
        new += after.get(k, [])
    for j, item in enumerate(new):
        if isinstance(item, tuple):
            update, (group, arena), f = item
            new[j] = update
            slots.setdefault(id(arena), (f, group, arena, []))[3].append(j)
    for f, group, arena, js in slots.values():
        f.groups.append((group, arena, js))
    for f in fused:
        f.ops = new
    for op in new:
        if op.kind == "kernel" and op.draw:
            op.draw = (position[op.draw[0]],)
    for b in buffers:
        b.first = position.get(b.first, b.first)  # (-1: not used by an op)
        b.last = position.get(b.last, b.last)
    return new, fused
