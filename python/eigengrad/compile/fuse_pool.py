"""Plan fusions of a CNN block's ReLU -> MaxPool that keep every result bit for bit.

Backward, ``max_pool2d_backward`` (a zeroed plane, the gradient added at the chosen indices) and then the
ReLU's ``relu_backward`` over that plane become ``max_pool2d_relu_backward``: it adds only where the pooled
value is > 0, which is the ReLU's mask at the chosen index (the pool's output at a window is its input
there), so the same bits in one pass less.

Forward, once the ReLU's output is read by the pool alone (its backward fused as above), a BatchNorm ->
ReLU (``batch_norm_relu_forward``, compile/fuse.py) followed by the pool becomes
``batch_norm_relu_max_pool2d_forward``: each (sample, channel) plane is normalised, ReLU'd and pooled while it
is in cache, through the same code as the two kernels (cpp/src/batchnorm.cpp, pool.hpp's MaxPool2dPlanes),
and the BatchNorm -> ReLU output is never written.
"""
from __future__ import annotations

from eigengrad import _kernels
from eigengrad.compile.fuse import _as, _is, _users, _whole
from eigengrad.compile.recorder import Buffer, Op, Ref
from eigengrad.compile.rewrite import _c_strides, _extent, written_bufs


def fuse_pools(ops: list[Op], buffers: list[Buffer]) -> int:
    """Both rewrites, the backward first (it frees the ReLU's output for the forward one); returns how many."""
    return fuse_pool_relu_backward(ops, buffers) + fuse_bn_relu_pool(ops, buffers)


def _writes(op: Op, buf: int) -> bool:
    """Whether ``op`` may write ``buf`` (a Python op may write anything)."""
    written = written_bufs(op)
    return written is None or buf in written


def fuse_pool_relu_backward(ops: list[Op], buffers: list[Buffer]) -> int:
    """Rewrite each ``max_pool2d_backward`` whose gradient only feeds the ``relu_backward`` of the pool's input
    into ``max_pool2d_relu_backward``; returns how many. The pool's input and output must not change in
    between."""
    uses = _users(ops)
    fused = 0
    forwards = {op.args[2].buf: (k, op) for k, op in enumerate(ops) if _is(op, "max_pool2d_forward")
                and len(op.args) == 8 and all(isinstance(op.args[i], Ref) for i in range(3))}
    for k, op in enumerate(ops):
        if not (_is(op, "max_pool2d_backward") and len(op.args) == 3 and all(isinstance(a, Ref) for a in op.args)):
            continue
        g, idx, d = op.args
        f, fwd = forwards.get(idx.buf, (None, None))
        users = uses.get(d.buf, [])
        if fwd is None or len(users) != 2 or users[0] != k:
            continue
        j = users[1]
        rb = ops[j]
        x, y = fwd.args[0], fwd.args[1]
        if not (_is(rb, "relu_backward") and len(rb.args) == 3 and all(isinstance(a, Ref) for a in rb.args)):
            continue
        gy, relu_out, out = rb.args
        if not (fwd.args[2].offset == idx.offset and gy.buf == d.buf and _whole(d, buffers) and _whole(gy, buffers)
                and relu_out.buf == x.buf and relu_out.offset == x.offset and _extent(relu_out) == _extent(x)
                and relu_out.strides == _c_strides(relu_out) and x.strides == _c_strides(x)
                and out.buf != d.buf and _whole(out, buffers) and _extent(out)[1] == _extent(d)[1]
                and out.dtype == d.dtype and y.shape == g.shape and y.dtype == g.dtype):
            continue
        if (f > k or any(_writes(ops[m], x.buf) for m in range(f + 1, j))
                or any(_writes(ops[m], y.buf) for m in range(f + 1, k))
                or uses.get(out.buf, [j])[0] != j):  # the gradient, written at k now: nothing used it before j
            continue
        ops[k] = Op("kernel", "max_pool2d_relu_backward", _kernels.compiled_module().max_pool2d_relu_backward,
                    [g, idx, y, _as(out, d)], roles=("r", "r", "r", "w"), table="C")
        rb.kind = "elided"
        buffers[d.buf].kind = "elided"
        yb, ob = buffers[y.buf], buffers[out.buf]  # the pool's output now read, the gradient written, at k
        if yb.kind == "temp":
            yb.last = max(yb.last, k)
        if ob.kind == "temp":
            ob.first = min(ob.first, k)
        fused += 1
    return fused


def fuse_bn_relu_pool(ops: list[Op], buffers: list[Buffer]) -> int:
    """Rewrite each ``batch_norm_relu_forward`` whose output only the next ``max_pool2d_forward`` reads into
    ``batch_norm_relu_max_pool2d_forward`` at the BatchNorm's place; returns how many."""
    uses = _users(ops)
    fused = 0
    for i, bn in enumerate(ops):
        if not (_is(bn, "batch_norm_relu_forward") and len(bn.args) == 10 and isinstance(bn.args[0], Ref)
                and isinstance(bn.args[5], Ref)):
            continue
        x, out = bn.args[0], bn.args[5]
        readers = uses.get(out.buf, [])
        if len(readers) != 2 or readers[0] != i or not _whole(out, buffers) or len(x.shape) != 3:
            continue
        j = readers[1]
        pool = ops[j]
        if not (_is(pool, "max_pool2d_forward") and len(pool.args) == 8
                and all(isinstance(a, Ref) for a in pool.args[:3])):
            continue
        px, y, idx = pool.args[:3]
        n, c, s = x.shape
        if not (px.buf == out.buf and _whole(px, buffers) and len(px.shape) == 3 and px.shape[0] == n * c
                and px.shape[1] * px.shape[2] == s and s > 0 and uses[y.buf][0] == j and uses[idx.buf][0] == j):
            continue
        xb, wb, bb, rm, rv, _, save_mean, save_invstd, momentum, eps = bn.args
        ops[i] = Op("kernel", "batch_norm_relu_max_pool2d_forward",
                    _kernels.compiled_module().batch_norm_relu_max_pool2d_forward,
                    [xb, wb, bb, rm, rv, y, idx, save_mean, save_invstd, momentum, eps, tuple(px.shape[1:]),
                     *pool.args[3:]],
                    roles=("r", "r", "r", "rw", "rw", "w", "w", "w", "w", "s", "s", "s", "s", "s", "s", "s", "s"),
                    table="C")
        pool.kind = "elided"
        buffers[out.buf].kind = "elided"
        for r in (y, idx):  # written at i now
            b = buffers[r.buf]
            if b.kind == "temp":
                b.first = min(b.first, i)
        fused += 1
    return fused
