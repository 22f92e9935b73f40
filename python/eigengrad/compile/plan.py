"""The plan: the recorded ops over buffers, with the temporaries placed in one arena by liveness.

A plan is plain records (``recorder.Op``: kernel name, argument roles, buffer references with byte
offsets, frozen scalars; draw ops; python ops), so that it can be handed to a native executor as it
is. The compiled kernels that can be captured run on the native executor (``compile/native.py``: their
checks run once, when the plan is bound; a run of consecutive ones is one native call without the GIL);
the rest (Python ops, glue, random draws, bindings that cannot be captured) run from a Python loop over
prebound calls, in the plan's order.

Memory. Persistent buffers (parameters, gradients, optimizer state, module buffers) stay where they
live; the kernels read each call's input arrays where they are (``InputSlots``), or, for an input that
is not C-contiguous or that shares memory with the plan's own buffers, the plan's copy; temporaries that
died during the traced call get an offset in one arena (first fit over their live ranges, from the op
that writes them first to the last op that uses them), so buffers whose lives do not overlap share
memory. Temporaries still referenced after the step (returned tensors, a ``.grad`` that is not an
optimizer slot) keep the arrays of the trace.
"""
from __future__ import annotations

import functools
import sys

import numpy as np

from eigengrad import _fp_quiet, _memory
from eigengrad.compile.fuse import fuse_activations
from eigengrad.compile.fuse_pool import fuse_pools
from eigengrad.compile.fuse_loss import fuse_cross_entropy
from eigengrad.compile.fuse_optim import fuse_updates
from eigengrad.compile.native import NativeSteps
from eigengrad.compile.recorder import Buffer, Op, Ref, array_root
from eigengrad.compile.rewrite import array_refs, write_into_slots
from eigengrad.tensor import Tensor

ALIGN = 64  # bytes: a cache line (and an AVX-512 vector) for every temporary


def aligned_bytes(nbytes: int) -> np.ndarray:
    """``nbytes`` uint8 starting at a multiple of ALIGN (malloc aligns to 16 only: every temporary of an
    arena at 16 mod 64 made the kernels' vector loads straddle cache lines); a large arena from
    eigengrad._memory, at a page offset of its own (see optim/arena.py's ``_flat``)."""
    raw = _memory.empty(nbytes + ALIGN, np.uint8)
    skip = -raw.__array_interface__["data"][0] % ALIGN
    return raw[skip:skip + nbytes]


def place_temporaries(buffers: list[Buffer]) -> int:
    """Give every non-escaped temporary an arena offset (first fit by live range); returns the arena size."""
    temps = sorted((b for b in buffers if b.kind == "temp" and not b.escaped), key=lambda b: (b.first, -b.nbytes))
    live: list[Buffer] = []
    size = 0
    for b in temps:
        live = [x for x in live if x.last >= b.first]  # those still needed when b is first written
        need = max(ALIGN, -(-b.nbytes // ALIGN) * ALIGN)
        offset = 0
        for x in sorted(live, key=lambda x: x.offset):
            if offset + need <= x.offset:
                break
            offset = max(offset, x.offset + max(ALIGN, -(-x.nbytes // ALIGN) * ALIGN))
        b.offset = offset
        live.append(b)
        size = max(size, offset + need)
    return size


def cover_uses(ops: list[Op], buffers: list[Buffer]) -> None:
    """Widen each temporary's live range to every op that uses it after the rewrites and fusions (a fused
    kernel may read a buffer later than the kernels it replaced: BatchNorm -> ReLU -> Dropout's forward
    reads the GEMM's output at the dropout's place, which under no_grad nothing read after the BatchNorm).
    Only widens, so nothing the trace knew is lost."""
    for i, op in enumerate(ops):
        if op.kind == "elided":
            continue
        refs = [r for _, r in array_refs(op)] + [r for _, r in op.grads if r is not None]
        for r in refs:
            b = buffers[r.buf]
            if b.kind == "temp":
                b.first, b.last = min(b.first, i), max(b.last, i)


def _draw(generator, n: int, consumers: list) -> tuple[int, int]:
    """A replayed random draw: the generator advances as in eager mode; its consumers get the new numbers
    (in their argument lists: (args, index of the seed, index of the offset) each; returned too: (seed,
    first counter)). Several consumers read one draw when a backward regenerates its forward's mask."""
    seed = generator._seed
    start = generator._advance(n)
    for args, i_seed, i_offset in consumers:
        args[i_seed], args[i_offset] = seed, start
    return seed, start


def _set_grads(grads: list) -> None:
    """``p.grad`` of each (parameter, array or None), where it is not that array already."""
    for p, arr in grads:
        if arr is None:
            p.grad = None
        elif p.grad is None or p.grad._data is not arr:
            p.grad = Tensor._wrap(arr)


def _live_call(op: Op, *args) -> None:
    """A kernel op whose kwargs a replay sets (an optimizer update's scalars), called from Python."""
    op.fn(*args, **op.kwargs)


def _python_step(fn, args: list, grads: list) -> None:
    """A replayed Python op (an optimizer's step): it finds the ``.grad`` attributes as eager mode left them
    at that point of the step, then runs."""
    _set_grads(grads)
    fn(*args)


class Plan:
    """The bound, runnable form of a trace. ``outputs``: Refs of the returned arrays; ``grads``:
    (parameter, its ``.grad`` array or None after the step)."""

    def __init__(self, ops: list[Op], buffers: list[Buffer], outputs: list[Ref], grads: list) -> None:
        self.ops, self.buffers, self.grads = ops, buffers, grads
        self.new_grads: list = []  # the parameters whose .grad the step replaces (set_new_grads)
        self.own_grads: list = []  # those of them whose gradient is the plan's own array
        self.step_generators: list = []  # the generators that primitives replayed as one step draw from
        self.elided = write_into_slots(ops, buffers)  # gradients written straight into their slots
        self.fused = fuse_activations(ops, buffers)  # BatchNorm or Linear -> ReLU [-> Dropout] (compile/fuse.py)
        self.fused_pools = fuse_pools(ops, buffers)  # a CNN's [BatchNorm ->] ReLU -> MaxPool each way (fuse_pool.py)
        self.fused_losses = fuse_cross_entropy(ops, buffers)  # the loss's forward with its backward (fuse_loss.py)
        # each parameter's optimizer update as soon as its gradient is final (fuse_optim.py)
        ops, self.fused_updates = fuse_updates(ops, buffers)
        self.ops = ops
        cover_uses(ops, buffers)
        self.arena_bytes = place_temporaries(buffers)
        self.arena = aligned_bytes(max(self.arena_bytes, 1))
        self.inputs = [b.root for b in buffers if b.kind == "input"]
        self.outputs = [self.array(r) for r in outputs]
        self.output_refs = outputs
        bound = self._bind()
        self.input_slots = InputSlots(self, bound)
        self.native = NativeSteps(self.ops, bound, self._input_ops())
        self.steps = self.native.steps
        for f in self.fused_updates:  # (the uncaptured ones' Python calls read the kwargs f sets: _live_call)
            f.bind(self.native.executor, self.native.captured_ops)

    def array(self, ref: Ref) -> np.ndarray:
        """The array a reference stands for in this plan's memory."""
        if ref.array is not None:
            return ref.array
        b = self.buffers[ref.buf]
        if b.escaped:  # a fresh allocation, contiguous in C or Fortran order: its bytes as one flat view
            flat = b.root.reshape(-1, order="A").view(np.uint8)
            return np.ndarray(ref.shape, ref.dtype, buffer=flat, offset=ref.offset, strides=ref.strides)
        return np.ndarray(ref.shape, ref.dtype, buffer=self.arena, offset=b.offset + ref.offset, strides=ref.strides)

    def _arg(self, a):
        if isinstance(a, Ref):
            return self.array(a)
        if isinstance(a, list):
            return [self._arg(x) for x in a]
        return a

    def _bind(self) -> list:
        """(function, argument list) per op, None for an op that runs nothing (an elided copy)."""
        steps = [None] * len(self.ops)
        for i, op in enumerate(self.ops):
            if op.kind == "kernel":
                fn = functools.partial(_live_call, op) if op.live else \
                    functools.partial(op.fn, **op.kwargs) if op.kwargs else op.fn
                steps[i] = (fn, [self._arg(a) for a in op.args])
        for i, op in enumerate(self.ops):
            if op.kind == "python":
                steps[i] = (_python_step, [op.fn, list(op.args), [(p, None if r is None else self.array(r))
                                                                   for p, r in op.grads]])
            elif op.kind == "draw":
                generator, n = op.draw[0], op.draw[1]
                consumers = [(steps[k][1], o.roles.index("seed"), o.roles.index("offset")) for k, o in
                             enumerate(self.ops) if o.kind == "kernel" and o.draw == (i,)]
                steps[i] = (_draw, [generator, n, consumers])
        return steps

    def _input_ops(self) -> set:
        """The kernel ops that read a step argument."""
        return {i for i, op in enumerate(self.ops) if op.kind == "kernel"
                and any(self.buffers[r.buf].kind == "input" for _, r in array_refs(op))}

    def run(self, arrays: list) -> list:
        """One replay: hand ``arrays`` to the kernels that read them (or copy them into the plan's inputs),
        run every step, restore the ``.grad`` attributes the step leaves (as eager mode would); returns
        copies of the outputs (this step's values)."""
        for p in self.new_grads:  # eager mode's step makes a new .grad: one the caller holds keeps its values
            g = p._grad
            if g is not None and sys.getrefcount(g) > 3:  # (p._grad, g, the argument: held elsewhere too)
                g._data = g._data.copy()  # (the plan writes the same array again: a slot or its own)
                p._grad = None  # (restore_grads wraps the array anew)
        placed = self.input_slots.place(arrays)
        quiet = _fp_quiet.enter()  # the glue's NumPy calls silent on IEEE exceptions, as in eager mode
        try:
            self.native.bind_inputs(arrays, placed)
            for fn, args in self.steps:
                fn(*args)
        finally:
            _fp_quiet.leave(quiet)
            self.input_slots.reset(placed)
        self.restore_grads()
        return [o.copy() for o in self.outputs]

    def restore_grads(self) -> None:
        _set_grads(self.grads)
        for p in self.own_grads:  # (each replay writes that array again: the caller's .grad is a copy)
            p._grad._data = p._grad._data.copy()

    def set_new_grads(self, params: list) -> None:
        """The parameters whose ``.grad`` the step replaces by a new tensor (``zero_grad()``, then backward):
        eager mode's old tensor, if the caller holds it, keeps its values. Those whose gradient is the
        plan's own array, not an optimizer's slot (no optimizer: a manual update), get a copy after each
        replay, and now (the trace's tensor holds that array)."""
        self.new_grads = list(params)
        arrays = {id(p): a for p, a in self.grads}
        self.own_grads = [p for p in self.new_grads if p._grad is not None and arrays.get(id(p)) is p._grad._data
                          and not p._in_grad_slot(p._grad._data)]
        for p in self.own_grads:
            p._grad._data = p._grad._data.copy()

    # --- inspection ---------------------------------------------------------------------------------
    def records(self) -> tuple[list, list]:
        """The plan as plain data, the form a native executor takes: (buffers, ops).

        A buffer is (kind, bytes, arena offset or -1). An op is ("kernel", "C:name" or "G:name", args,
        keyword scalars), ("draw", generator slot, count) or ("python", name); an argument is
        ("buffer", buffer, byte offset, shape, strides, dtype), ("list", [arguments]), ("scalar", value)
        or ("slot", draw op, "seed" or "offset"): a value the draw op writes before the kernel runs."""
        gens: dict = {}
        ops = []
        for op in self.ops:
            if op.kind == "draw":
                ops.append(("draw", gens.setdefault(id(op.draw[0]), len(gens)), op.draw[1]))
            elif op.kind == "elided":
                ops.append(("elided", op.name))
            elif op.kind == "python":
                ops.append(("python", op.name))
            else:
                args = [("slot", op.draw[0], r) if r in ("seed", "offset") else _record(a)
                        for a, r in zip(op.args, op.roles)]
                ops.append(("kernel", f"{op.table}:{op.name}", args, sorted(op.kwargs.items())))
        buffers = [(b.kind, b.nbytes, b.offset if b.kind == "temp" and not b.escaped else -1) for b in self.buffers]
        return buffers, ops

    def fingerprint(self) -> tuple:
        """What two traces of the same step must share (their structure), to the buffers' roles."""
        ordinal = _ordinals(self.buffers)
        return tuple(_op_key(op, self.buffers, ordinal) for op in self.ops)

    def memory(self) -> dict:
        temps = [b for b in self.buffers if b.kind == "temp"]
        return {
            "arena_bytes": self.arena_bytes,
            "temporaries": len(temps),
            "temporary_bytes_unshared": sum(b.nbytes for b in temps if not b.escaped),
            "escaped_bytes": sum(b.nbytes for b in temps if b.escaped),
            "persistent_bytes": sum(b.nbytes for b in self.buffers if b.kind == "persistent"),
            "input_bytes": sum(b.nbytes for b in self.buffers if b.kind == "input"),
        }

    def explain(self) -> str:
        lines = [f"plan: {len(self.ops)} ops ({sum(o.kind == 'kernel' and o.table != 'P' for o in self.ops)} kernel "
                 f"calls, {sum(o.table == 'P' for o in self.ops)} primitives computed in NumPy, "
                 f"{sum(o.kind == 'draw' for o in self.ops)} random draws, "
                 f"{sum(o.kind == 'python' for o in self.ops)} python steps, "
                 f"{self.elided} gradient copies elided: written straight into their slots; "
                 f"{self.fused} ReLU [-> Dropout] blocks fused into their BatchNorm or Linear; "
                 f"{self.fused_pools} ReLU -> MaxPool blocks fused (backward; forward with their BatchNorm); "
                 f"{self.fused_losses} cross-entropy forward and backward fused; "
                 f"{self.native.captured} kernel calls run natively in {self.native.runs} executor runs)"]
        for i, op in enumerate(self.ops):
            lines.append(f"  {i:3d} {_describe(op, self.buffers)}")
        m = self.memory()
        lines.append(f"memory: arena {m['arena_bytes']} bytes for {m['temporaries']} temporaries "
                     f"({m['temporary_bytes_unshared']} bytes without reuse; {m['escaped_bytes']} bytes kept "
                     f"outside it); persistent {m['persistent_bytes']} bytes; inputs {m['input_bytes']} bytes")
        return "\n".join(lines)


class InputSlots:
    """Where the bound steps read each input, so that a replay passes the caller's arrays to the kernels
    instead of copying them into the plan's own (a batch of 128 MNIST rows is 400 KB: ~50 us a step).

    An input is passed as it is when it is C-contiguous and aligned (the traced copy's layout: the
    signature fixed its shape and dtype), no step writes it, it sits in no list argument, and it does
    not share memory with the plan's persistent buffers or the arrays it keeps (a parameter passed as
    an argument is read as the snapshot eager mode's copy took), and the step does not return it (the
    outputs are read from the plan's arrays). Otherwise it is copied, as before."""

    def __init__(self, plan: Plan, bound: list) -> None:
        """``bound``: the plan's (function, argument list) per op, None for an op that runs nothing."""
        index = {b: k for k, b in enumerate(i for i, x in enumerate(plan.buffers) if x.kind == "input")}
        self.slots: list = [[] for _ in plan.inputs]  # per input: (args list, position, shape, strides, offset, own)
        self.passable = [True] * len(plan.inputs)
        for op, step in zip(plan.ops, bound):
            if op.kind != "kernel":
                continue
            args = step[1]
            for pos, ref in array_refs(op):  # (pos None: a member of a list argument)
                k = index.get(ref.buf)
                if k is None:
                    continue
                if pos is None or op.roles[pos] != "r":
                    self.passable[k] = False
                else:
                    self.slots[k].append((args, pos, ref.shape, ref.strides, ref.offset, args[pos]))
        for ref in plan.output_refs:  # (an argument the step returns is read from the plan's copy of it)
            k = index.get(ref.buf)
            if k is not None:
                self.passable[k] = False
        self.kept = {id(b.root) for b in plan.buffers if b.kind == "persistent" or (b.kind == "temp" and b.escaped)}
        self.kept.add(id(array_root(plan.arena)))
        self.own = plan.inputs

    def place(self, arrays: list) -> list:
        """Point the steps at ``arrays`` (or copy them into the plan's inputs); returns the inputs placed."""
        placed = []
        for k, (dst, src) in enumerate(zip(self.own, arrays)):
            if (self.passable[k] and src.flags.c_contiguous and src.flags.aligned and src.shape == dst.shape
                    and src.dtype == dst.dtype and id(array_root(src)) not in self.kept):
                for args, pos, shape, strides, offset, own in self.slots[k]:
                    args[pos] = src if offset == 0 and shape == src.shape and strides == src.strides else \
                        np.ndarray(shape, src.dtype, buffer=src, offset=offset, strides=strides)
                placed.append(k)
            else:
                np.copyto(dst, src)
        return placed

    def reset(self, placed: list) -> None:
        """The steps read the plan's own inputs again (no reference to the caller's arrays is kept)."""
        for k in placed:
            for args, pos, _, _, _, own in self.slots[k]:
                args[pos] = own


def _record(a):
    if isinstance(a, Ref):
        return ("buffer", a.buf, a.offset, tuple(a.shape), tuple(a.strides), a.dtype.str)
    if isinstance(a, list):
        return ("list", [_record(x) for x in a])
    return ("scalar", a)


def _buf_name(ref: Ref, buffers: list[Buffer]) -> str:
    b = buffers[ref.buf]
    where = f"t{ref.buf}" if b.kind == "temp" else f"{b.kind[0]}{ref.buf}"
    return f"{where}{'+' + str(ref.offset) if ref.offset else ''}{list(ref.shape)}"


def _describe(op: Op, buffers: list[Buffer]) -> str:
    if op.kind == "python":
        return f"python {op.name}()"
    if op.kind == "draw":
        return f"draw {op.draw[1]} counters from generator {id(op.draw[0]):#x} (its seed and next offset)"
    if op.kind == "elided":
        why = "its source kernel writes the slot itself" if op.name == "copy" else "done by a fused kernel"
        return f"(elided {op.name}: {why})"
    parts = []
    for a, role in zip(op.args, op.roles):
        if isinstance(a, Ref):
            parts.append(f"{role}:{_buf_name(a, buffers)}")
        elif isinstance(a, list):
            parts.append(f"{role}:[{len(a)} arrays]")
        elif a is not None:
            parts.append(f"{role}:{a!r}" if role != "s" else repr(a))
    table = {"G": "glue", "P": "primitive"}.get(op.table, "kernel")
    return f"{table} {op.name}({', '.join(parts)}{', ' if op.kwargs and parts else ''}" \
           f"{', '.join(f'{k}={v!r}' for k, v in op.kwargs.items())})"


def _op_key(op: Op, buffers: list[Buffer], ordinal: dict) -> tuple:
    def key(a):
        if isinstance(a, Ref):
            b = buffers[a.buf]
            who = id(b.root) if b.kind == "persistent" else ordinal[a.buf]
            return (b.kind, who, a.offset, a.shape, a.strides, a.dtype.str)
        if isinstance(a, list):
            return tuple(key(x) for x in a)
        return ("const", _const_key(a))
    if op.kind == "draw":
        return ("draw", id(op.draw[0]), op.draw[1])
    if op.kind == "python":
        return ("python", op.name, id(getattr(op.fn, "__self__", None)))
    if op.kind == "elided":
        return ("elided", op.name)
    args = tuple("seed/offset" if r in ("seed", "offset") else key(a) for a, r in zip(op.args, op.roles))
    kwargs = sorted(op.kwargs) if op.live else sorted((k, _const_key(v)) for k, v in op.kwargs.items())
    return (op.kind, op.table, op.name, args, tuple(kwargs))


def _const_key(v):
    """What two traces' constants must share: their repr, except a generator (the object, not its state,
    which a step advances: a factory's random draws)."""
    if isinstance(v, (tuple, list)):
        return (type(v).__name__, tuple(_const_key(x) for x in v))
    if hasattr(v, "_advance") and hasattr(v, "_seed"):  # an eigengrad.random.Generator
        return ("generator", id(v))
    return repr(v)


def _ordinals(buffers: list[Buffer]) -> dict:
    """Each input and temporary's number among the buffers of its kind (stable between two traces)."""
    count: dict = {}
    out = {}
    for i, b in enumerate(buffers):
        out[i] = count.get(b.kind, 0)
        count[b.kind] = out[i] + 1
    return out
