"""Plan fusion that keeps every result bit for bit: the cross-entropy's forward and backward as one kernel.

A training step records the loss's forward (``[weighted_]softmax_cross_entropy_forward``: each row's loss
and log-sum-exp), its reduction, the seed of ``loss.backward()`` (a fill), the per-row upstream gradient
(``loss_upstream``/``mean_upstream``: the seed over the divisor) and then the backward, which reads the
logits again. The upstream gradient depends only on the seed, the targets and the class weights, not on
the forward's result, so the plan computes it first and runs ``..._forward_backward``: the forward and the
backward over each chunk of rows while its logits are in cache (cpp/src/loss.cpp: the same row code as the
two kernels, so the same bits). The backward's call is elided.

The rewrite applies only where nothing between the two calls writes what the fused kernel reads, the ops
moved ahead of the forward depend on nothing the forward or the ops left in place write, and nothing in
between touches the gradient buffer; no draw or Python op may sit in between (their positions matter).
"""
from __future__ import annotations

from eigengrad import _kernels
from eigengrad.compile.recorder import Buffer, Op, Ref
from eigengrad.compile.rewrite import role_refs, written_bufs

# forward name -> (backward name, fused name, the fused op's roles); the argument layouts are
#   plain:    forward (logits, target, loss, lse, ignore), backward (logits, target, lse, scale, grad, ignore)
#   weighted: forward (logits, target, weight, eps, loss, lse, ignore),
#             backward (logits, target, weight, eps, lse, scale, grad, ignore)
PAIRS = {
    "softmax_cross_entropy_forward": (
        "softmax_cross_entropy_backward", "softmax_cross_entropy_forward_backward",
        ("r", "r", "w", "w", "r", "w", "s")),
    "weighted_softmax_cross_entropy_forward": (
        "weighted_softmax_cross_entropy_backward", "weighted_softmax_cross_entropy_forward_backward",
        ("r", "r", "r", "s", "w", "w", "r", "w", "s")),
}


def _bufs(op: Op, written: bool | None = None) -> set:
    """The buffers ``op`` uses (``written``: only those it writes, or only those it reads)."""
    return {r.buf for r, w in role_refs(op) if written is None or w == written}


def _same(a, b) -> bool:
    """Whether two arguments are the same constant or the same view of the same buffer."""
    if isinstance(a, Ref) or isinstance(b, Ref):
        return (isinstance(a, Ref) and isinstance(b, Ref) and (a.buf, a.offset, a.shape, a.strides, a.dtype)
                == (b.buf, b.offset, b.shape, b.strides, b.dtype))
    return a is b or (type(a) is type(b) and a == b)


def _split(op: Op) -> dict:
    """A forward's or backward's arguments by name."""
    a = op.args
    if op.name.startswith("weighted_"):
        if op.name.endswith("_forward"):
            return dict(logits=a[0], target=a[1], weight=a[2], eps=a[3], loss=a[4], lse=a[5], ignore=a[6])
        return dict(logits=a[0], target=a[1], weight=a[2], eps=a[3], lse=a[4], scale=a[5], grad=a[6], ignore=a[7])
    if op.name.endswith("_forward"):
        return dict(logits=a[0], target=a[1], loss=a[2], lse=a[3], ignore=a[4])
    return dict(logits=a[0], target=a[1], lse=a[2], scale=a[3], grad=a[4], ignore=a[5])


def _backward_of(ops: list[Op], f: int, back_name: str, fw: dict) -> int | None:
    """The index of the backward call that reads the forward at ``f``'s lse, when it matches the forward."""
    for b in range(f + 1, len(ops)):
        op = ops[b]
        if not (op.kind == "kernel" and op.table == "C" and op.name == back_name and len(op.args) == len(_split(op))):
            continue
        bw = _split(op)
        if not _same(bw["lse"], fw["lse"]):
            continue
        keys = ("logits", "target", "weight", "eps", "ignore") if "weight" in fw else ("logits", "target", "ignore")
        ok = all(_same(fw[k], bw[k]) for k in keys) and isinstance(bw["scale"], Ref) and isinstance(bw["grad"], Ref)
        return b if ok else None
    return None


def _reorder(ops: list[Op], f: int, b: int, fw: dict, bw: dict) -> list[int] | None:
    """The ops between ``f`` and ``b`` that compute the backward's scale (to run before the forward), or None
    when moving them, or fusing at all, could change a result."""
    region = range(f + 1, b)
    if any(ops[k].kind == "draw" or written_bufs(ops[k]) is None or ops[k].draw for k in region) or ops[f].draw \
            or ops[b].draw:
        return None
    moved, needed = [], {bw["scale"].buf}
    for k in reversed(region):
        if _bufs(ops[k], True) & needed:
            moved.append(k)
            needed |= _bufs(ops[k])
    moved.reverse()
    stay = [k for k in region if k not in moved]
    moved_all = set().union(*(_bufs(ops[k]) for k in moved)) if moved else set()
    moved_writes = set().union(*(_bufs(ops[k], True) for k in moved)) if moved else set()
    forward_writes = {fw["loss"].buf, fw["lse"].buf}
    read_by_fused = {r.buf for r in (fw["logits"], fw["target"], fw.get("weight"), fw["lse"]) if isinstance(r, Ref)}
    if moved_all & forward_writes or moved_writes & _bufs(ops[f]) or bw["grad"].buf in moved_all:
        return None
    for k in stay:
        if (_bufs(ops[k], True) & (moved_all | read_by_fused) or _bufs(ops[k]) & moved_writes
                or bw["grad"].buf in _bufs(ops[k])):
            return None
    return moved + [f] + stay


def _fused(f: Op, fw: dict, bw: dict, name: str, roles: tuple) -> Op:
    if "weight" in fw:
        args = [fw["logits"], fw["target"], fw["weight"], fw["eps"], fw["loss"], fw["lse"], bw["scale"], bw["grad"],
                fw["ignore"]]
    else:
        args = [fw["logits"], fw["target"], fw["loss"], fw["lse"], bw["scale"], bw["grad"], fw["ignore"]]
    return Op("kernel", name, getattr(_kernels.compiled_module(), name), args, roles=roles, table="C")


def fuse_cross_entropy(ops: list[Op], buffers: list[Buffer]) -> int:
    """Rewrite each cross-entropy forward ... backward pair into the fused kernel; returns how many."""
    fused = 0
    for f in range(len(ops)):
        op = ops[f]
        if not (op.kind == "kernel" and op.table == "C" and op.name in PAIRS and len(op.args) == len(_split(op))):
            continue
        back_name, name, roles = PAIRS[op.name]
        fw = _split(op)
        b = _backward_of(ops, f, back_name, fw)
        order = None if b is None else _reorder(ops, f, b, fw, _split(ops[b]))
        if order is None:
            continue
        bw = _split(ops[b])
        new = [ops[k] if k != f else _fused(op, fw, bw, name, roles) for k in order]
        ops[f:b] = new
        ops[b].kind = "elided"
        for p in range(f, b + 1):  # the temporaries' live ranges cover their ops' new places
            for r, _ in role_refs(ops[p]):
                buf = buffers[r.buf]
                if buf.kind == "temp":
                    buf.first, buf.last = min(buf.first, p), max(buf.last, p)
        fused += 1
    return fused
