"""Plan rewrites that keep every result bit for bit: here, gradients written straight into their slots.

Eager backward computes a parameter's gradient into a new array and then copies it into the
parameter's slot of the optimizer's flat gradient buffer (``accumulate_grad``: the ``copy`` glue).
In a plan the kernel that produced the array can write into the slot itself, and the copy goes: one
pass over every gradient less per step, and a temporary less in the arena. The same kernel writes the
same numbers, only to another place, so results do not change.
"""
from __future__ import annotations

from eigengrad.compile.recorder import Buffer, Op, Ref


def _extent(ref: Ref) -> tuple[int, int]:
    """The byte range [start, end) that ``ref`` touches in its buffer (strides are >= 0 in plans)."""
    if not ref.shape or all(n > 0 for n in ref.shape):
        size = sum((n - 1) * s for n, s in zip(ref.shape, ref.strides)) + ref.dtype.itemsize
    else:
        size = 0
    return ref.offset, ref.offset + size


def _c_strides(ref: Ref) -> tuple:
    strides, step = [], ref.dtype.itemsize
    for n in reversed(ref.shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def array_refs(op: Op):
    """(argument index, Ref) of every array argument of ``op`` (the members of lists with index None)."""
    for i, a in enumerate(op.args):
        if isinstance(a, Ref):
            yield i, a
        elif isinstance(a, list):
            for x in a:
                if isinstance(x, Ref):
                    yield None, x


def role_refs(op: Op):
    """(Ref, written?) for every array argument of ``op``, by its role (a list's members share the list's
    upper-case role); nothing for an elided op."""
    if op.kind == "elided":
        return
    for i, a in enumerate(op.args):
        role = (op.roles[i] if i < len(op.roles) else "r").lower()
        for r in (a if isinstance(a, list) else [a]):
            if isinstance(r, Ref):
                yield r, role in ("w", "rw")


def written_bufs(op: Op) -> set | None:
    """The buffers ``op`` may write; None for a Python op (it may write anything)."""
    if op.kind == "python" or op.table == "P":  # (a primitive's forward may update a module's buffers)
        return None
    return {r.buf for r, w in role_refs(op) if w}


def _overlaps(op: Op, target: Ref, skip: int | None = None) -> bool:
    lo, hi = _extent(target)
    for i, r in array_refs(op):
        if r.buf == target.buf and i != skip:
            a, b = _extent(r)
            if a < hi and lo < b:
                return True
    return False


def write_into_slots(ops: list[Op], buffers: list[Buffer]) -> int:
    """Redirect each kernel whose output is only copied into a persistent slot to write the slot, and
    mark the copy ``elided``; returns how many copies went."""
    uses: dict[int, list[int]] = {}
    for k, op in enumerate(ops):
        for _, r in array_refs(op):
            if buffers[r.buf].kind == "temp":
                uses.setdefault(r.buf, []).append(k)
    elided = 0
    for c, op in enumerate(ops):
        if not (op.kind == "kernel" and op.table == "G" and op.name == "copy" and len(op.args) == 2):
            continue
        src, dst = op.args
        if not (isinstance(src, Ref) and isinstance(dst, Ref)):
            continue
        tmp = buffers[src.buf]
        if (tmp.kind != "temp" or tmp.escaped or buffers[dst.buf].kind != "persistent" or src.offset != 0
                or src.dtype != dst.dtype or src.shape != dst.shape or src.strides != _c_strides(src)
                or dst.strides != _c_strides(dst) or _extent(src)[1] != tmp.nbytes):
            continue
        users = uses.get(src.buf, [])
        if len(users) != 2 or users[1] != c:
            continue
        w = users[0]
        writer = ops[w]
        slots = [i for i, r in array_refs(writer) if r.buf == src.buf]
        if writer.kind != "kernel" or len(slots) != 1 or slots[0] is None or writer.roles[slots[0]] != "w":
            continue
        i = slots[0]
        mine = writer.args[i]
        if mine.offset != 0 or mine.shape != src.shape or mine.strides != src.strides or mine.dtype != src.dtype:
            continue
        if _overlaps(writer, dst, skip=i) or any(written_bufs(ops[k]) is None or _overlaps(ops[k], dst)
                                                 for k in range(w + 1, c)):
            continue
        writer.args[i] = dst
        op.kind = "elided"
        tmp.kind = "elided"
        elided += 1
    return elided
