"""Plan fusions that keep every result bit for bit: BatchNorm or Linear -> ReLU -> Dropout as one pass each
way, and BatchNorm -> ReLU as one pass forward.

A training MLP's hidden block ``BatchNorm1d -> ReLU -> Dropout`` records three elementwise kernels
forward (``batch_norm_forward``, ``relu_forward``, ``dropout_forward``) and two backward
(``masked_scale``, ``relu_backward``), each a pass over the activations through memory. The fused
kernels do the same arithmetic on each chunk while it is in cache:

- ``batch_norm_relu_dropout_forward`` computes the statistics, then normalises a chunk and applies
  ReLU and the dropout draw to it at once. It writes the block's output and one mask byte per element
  that keeps both decisions (bit 0: kept by the draw, bit 1: the ReLU's output was positive); the
  BatchNorm and ReLU outputs are never stored.
- ``relu_dropout_backward`` is ``masked_scale`` then ``relu_backward`` from that mask, in one pass.

Each element goes through the same operations in the same order as in the three kernels, so the
results are the same bits (cpp/include/eigengrad/dropout.hpp). A BatchNorm -> ReLU pair without the
dropout (a CNN's Conv -> BatchNorm2d -> ReLU) becomes ``batch_norm_relu_forward``: the ReLU applied to each
chunk as it is normalised; only the ReLU's output is stored (its backward reads it, as before).

A Linear -> ReLU -> Dropout without BatchNorm is the same pattern with the GEMM as producer:
``gemm_relu_dropout`` applies the ReLU and the draw to each block of the product as the GEMM finishes it
(its last k-block stored), while the block is in cache (cpp/include/eigengrad/gemm.hpp: the epilogue).
(A Linear -> ReLU pair stays two kernels: as an epilogue the ReLU alone measured no faster.)

A rewrite applies only where the intermediate arrays have no other reader, and the draw op that feeds
the dropout stays where it was: the fused forward takes the dropout's place after it.
"""
from __future__ import annotations

from eigengrad import _kernels
from eigengrad.compile.recorder import Buffer, Op, Ref
from eigengrad.compile.rewrite import _c_strides, _extent, array_refs


def _whole(ref: Ref, buffers: list[Buffer]) -> bool:
    """Whether ``ref`` is all of a C-contiguous temporary of the plan."""
    b = buffers[ref.buf]
    return (b.kind == "temp" and not b.escaped and ref.offset == 0 and ref.strides == _c_strides(ref)
            and _extent(ref)[1] == b.nbytes)


def _users(ops: list[Op]) -> dict[int, list[int]]:
    """The ops (in order, each once) that use each buffer."""
    uses: dict[int, list[int]] = {}
    for k, op in enumerate(ops):
        if op.kind == "elided":
            continue
        for _, r in array_refs(op):
            uses.setdefault(r.buf, [])
            if not uses[r.buf] or uses[r.buf][-1] != k:
                uses[r.buf].append(k)
    return uses


def _is(op: Op, name: str) -> bool:
    return op.kind == "kernel" and op.table == "C" and op.name == name


def _as(ref: Ref, like: Ref) -> Ref:
    """``ref``'s memory seen with ``like``'s shape (both whole C-contiguous arrays of one size)."""
    return Ref(ref.buf, ref.offset, like.shape, _c_strides(like), ref.dtype)


def _backward_pair(ops: list[Op], uses: dict, buffers: list[Buffer], mask: Ref, relu_out: Ref, scale):
    """(masked_scale op, relu_backward op) indices that read ``mask`` and ``relu_out``, or None."""
    readers = [k for k in uses.get(mask.buf, []) if _is(ops[k], "masked_scale")]
    if len(readers) != 1 or readers[0] + 1 >= len(ops):
        return None
    m = readers[0]
    ms, rb = ops[m], ops[m + 1]
    if not (_is(rb, "relu_backward") and ms.args[1].buf == mask.buf and ms.args[3] == scale
            and rb.args[0].buf == ms.args[2].buf and rb.args[1].buf == relu_out.buf):
        return None
    g, g2, g3 = ms.args[0], ms.args[2], rb.args[2]
    if not (_whole(g2, buffers) and uses[g2.buf] == [m, m + 1] and isinstance(g, Ref) and isinstance(g3, Ref)
            and g.offset == 0 and g.strides == _c_strides(g) and _extent(g)[1] == _extent(g3)[1] - g3.offset
            and g3.strides == _c_strides(g3)):
        return None
    return m, m + 1


class _Producer:
    """A kernel whose output can take the ReLU [and dropout] as its epilogue: when ``op`` is one, ``output``
    is the index of the argument it writes, and ``relu``/``relu_dropout`` build the fused ops (``relu`` None:
    that pattern is not fused for this producer)."""

    def __init__(self, matches, output: int, relu, relu_dropout) -> None:
        self.matches, self.output, self.relu, self.relu_dropout = matches, output, relu, relu_dropout


def _bn_relu(bn: Op, out: Ref) -> Op:
    x, w, b, rm, rv, _, save_mean, save_invstd, _, momentum, eps = bn.args
    return Op("kernel", "batch_norm_relu_forward", _kernels.compiled_module().batch_norm_relu_forward,
              [x, w, b, rm, rv, out, save_mean, save_invstd, momentum, eps],
              roles=("r", "r", "r", "rw", "rw", "w", "w", "w", "s", "s"), table="C")


def _bn_relu_dropout(bn: Op, out: Ref, mask: Ref, draw: tuple, seed, offset, threshold, scale) -> Op:
    x, w, b, rm, rv, _, save_mean, save_invstd, _, momentum, eps = bn.args
    return Op("kernel", "batch_norm_relu_dropout_forward", _kernels.compiled_module().batch_norm_relu_dropout_forward,
              [x, w, b, rm, rv, out, save_mean, save_invstd, mask, seed, offset, threshold, scale, momentum, eps],
              roles=("r", "r", "r", "rw", "rw", "w", "w", "w", "w", "seed", "offset", "s", "s", "s", "s"),
              table="C", draw=draw)


def _gemm_relu_dropout(g: Op, out: Ref, mask: Ref, draw: tuple, seed, offset, threshold, scale) -> Op:
    a, b, _, bias, ta, tb, _ = g.args
    return Op("kernel", "gemm_relu_dropout", _kernels.compiled_module().gemm_relu_dropout,
              [a, b, out, bias, ta, tb, mask, seed, offset, threshold, scale],
              roles=("r", "r", "w", "r", "s", "s", "w", "seed", "offset", "s", "s"), table="C", draw=draw)


PRODUCERS = (
    # BatchNorm in training (a Linear's or a convolution's output normalised)
    _Producer(lambda op: _is(op, "batch_norm_forward") and len(op.args) == 11 and op.args[8] is True, 5,
              _bn_relu, _bn_relu_dropout),
    # a Linear without BatchNorm: the GEMM overwriting its output (not accumulating). Only with the dropout:
    # a ReLU alone as the GEMM's epilogue measured 0.96-1.00x of the two kernels (Intel host, paired rounds,
    # batch 32-1024), the dropout's draw inside the GEMM's blocks 0.98x / 1.005x / 1.076x at 32 / 128 / 1024
    _Producer(lambda op: _is(op, "gemm") and len(op.args) == 7 and op.args[6] is False, 2,
              None, _gemm_relu_dropout),
)


def fuse_activations(ops: list[Op], buffers: list[Buffer]) -> int:
    """Every rewrite below, the longer pattern first; returns how many blocks were fused."""
    return fuse_relu_dropout(ops, buffers) + fuse_relu(ops, buffers)


def fuse_relu(ops: list[Op], buffers: list[Buffer]) -> int:
    """Rewrite each producer -> ReLU pair (a CNN's BatchNorm -> ReLU) into the producer with the ReLU as its
    epilogue: it writes the ReLU's output (its backward and the next layer read it),
    never its own."""
    uses = _users(ops)
    fused = 0
    for i in range(len(ops) - 1):
        producer = next((p for p in PRODUCERS if p.relu is not None and p.matches(ops[i])), None)
        relu = ops[i + 1]
        if producer is None or not (_is(relu, "relu_forward") and len(relu.args) == 2):
            continue
        y, relu_in, out = ops[i].args[producer.output], relu.args[0], relu.args[1]
        if not (isinstance(y, Ref) and isinstance(relu_in, Ref) and isinstance(out, Ref) and _whole(y, buffers)
                and relu_in.buf == y.buf and _whole(relu_in, buffers) and uses[y.buf] == [i, i + 1]
                and buffers[out.buf].kind == "temp" and out.offset == 0 and out.strides == _c_strides(out)
                and _extent(out)[1] == _extent(y)[1] and out.dtype == y.dtype):
            continue
        ops[i + 1] = producer.relu(ops[i], _as(out, y))
        ops[i].kind = "elided"
        buffers[y.buf].kind = "elided"
        fused += 1
    return fused


def fuse_relu_dropout(ops: list[Op], buffers: list[Buffer]) -> int:
    """Rewrite each producer -> ReLU -> Dropout run of ``ops`` into the fused kernels (and its backward pair
    when the step has one); returns how many blocks were fused."""
    uses = _users(ops)
    fused = 0
    for i in range(len(ops) - 3):
        producer = next((p for p in PRODUCERS if p.matches(ops[i])), None)
        relu, draw, drop = ops[i + 1:i + 4]
        if producer is None or not (_is(relu, "relu_forward") and draw.kind == "draw"
                                    and _is(drop, "dropout_forward") and drop.draw == (i + 2,) and len(drop.args) == 7):
            continue
        y, relu_in, relu_out, drop_in, out, mask = ops[i].args[producer.output], relu.args[0], relu.args[1], \
            drop.args[0], drop.args[1], drop.args[2]
        if not all(isinstance(r, Ref) for r in (y, relu_in, relu_out, drop_in, out, mask)):
            continue
        if not (_whole(y, buffers) and relu_in.buf == y.buf and _whole(relu_in, buffers)
                and _whole(relu_out, buffers) and drop_in.buf == relu_out.buf and _whole(drop_in, buffers)
                and uses[y.buf] == [i, i + 1] and _whole(mask, buffers) and out.dtype == y.dtype
                and out.offset == 0 and out.strides == _c_strides(out) and _extent(out)[1] == _extent(y)[1]):
            continue
        scale = drop.args[6]
        relu_users = [k for k in uses[relu_out.buf] if k not in (i + 1, i + 3)]
        mask_users = [k for k in uses[mask.buf] if k != i + 3]
        pair = None
        if relu_users or mask_users:
            pair = _backward_pair(ops, uses, buffers, mask, relu_out, scale)
            if pair is None or relu_users != [pair[1]] or mask_users != [pair[0]]:
                continue
        ops[i + 3] = producer.relu_dropout(ops[i], _as(out, y), mask, drop.draw, *drop.args[3:6], scale)
        for k in (i, i + 1):
            ops[k].kind = "elided"
        for r in (y, relu_out):
            buffers[r.buf].kind = "elided"
        if pair is not None:
            m, r = pair
            g, g2, g3 = ops[m].args[0], ops[m].args[2], ops[r].args[2]
            ops[m] = Op("kernel", "relu_dropout_backward", _kernels.compiled_module().relu_dropout_backward,
                        [_as(g, g3), mask, g3, scale], roles=("r", "r", "w", "s"), table="C")
            ops[r].kind = "elided"
            buffers[g2.buf].kind = "elided"
            # g3 is now written at m, before r: live from there (else the arena may give its bytes to a
            # buffer used in between, such as the mask this kernel reads)
            buffers[g3.buf].first = min(buffers[g3.buf].first, m)
        fused += 1
    return fused
