"""Version counters: how the engine knows that an array saved for backward was modified in place.

Every in-place operation on a tensor (``x += 1``, ``x.add_()``, ``x[i] = v``, an optimizer step, ...)
adds one to the tensor's version, as ``torch.Tensor._version``. A view shares the counter of the tensor
it views (so does ``detach()``; ``.data`` gets a new one, as in PyTorch), because they share memory.
When a primitive is recorded, the versions of its inputs are noted; before its backward runs, an input
whose version moved on and whose memory the primitive saved makes backward raise PyTorch's error
(a modified input the primitive did not save, e.g. an operand of an addition, is fine).

A tensor gets its counter object lazily (``_counter`` is None until the first in-place change, view or
saved output): version 0 costs nothing on the tensors of the hot path. A process-wide clock counts all
in-place changes; a node notes the clock when it is recorded, and its inputs' versions only when one
of them has a counter already, so a backward with no in-place change since the forward (the usual
training step) checks nothing but one number per node.
"""
from __future__ import annotations

import numpy as np


class VersionCounter:
    """The version of one memory block, shared by the tensors that view it."""

    __slots__ = ("value",)

    def __init__(self, value: int = 0) -> None:
        self.value = value


class _Clock:
    """The number of in-place changes made in this process so far."""

    ticks = 0


clock = _Clock()


def counter_of(t) -> VersionCounter:
    """``t``'s counter, created now if it has none yet (to be shared with a view, or watched)."""
    c = t._counter
    if c is None:
        c = t._counter = VersionCounter()
    return c


def version_of(t) -> int:
    c = t._counter
    return 0 if c is None else c.value


def bump(t) -> None:
    """Record an in-place change of ``t``'s memory."""
    clock.ticks += 1
    c = t._counter
    if c is None:
        t._counter = VersionCounter(1)
    else:
        c.value += 1


def check_saved(ctx) -> None:
    """Raise PyTorch's error when an array that ``ctx`` saved for backward changed since it was recorded
    (the engine calls this only when the clock moved since ``ctx`` was recorded)."""
    versions = ctx.versions or (0,) * len(ctx.inputs)  # None: every input was at version 0
    for t, then in zip(ctx.inputs, versions):
        if t is None:
            continue
        now = version_of(t)
        if now != then and _saved_overlaps(ctx, t._data):  # named by its current node, as PyTorch does
            raise RuntimeError(_message(ctx, t.dtype, t.shape, now, then, None if t._ctx is None else t._ctx.name))
    out = ctx.out_counter
    if out is not None and out.value != ctx.out_version:
        dtype, shape = ctx.out_meta
        raise RuntimeError(_message(ctx, dtype, shape, out.value, ctx.out_version, ctx.name))


def _saved_overlaps(ctx, arr: np.ndarray) -> bool:
    return any(isinstance(s, np.ndarray) and np.may_share_memory(s, arr) for s in ctx.saved)


def _message(ctx, dtype, shape: tuple, now: int, then: int, producer: str | None) -> str:
    from eigengrad.autograd import anomaly

    what = f"[{dtype} tensor [{', '.join(map(str, shape))}]]"
    if producer is not None:
        what += f", which is output 0 of {producer},"
    head = ("one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"{what} is at version {now}; expected version {then} instead. ")
    if ctx.stack is not None:
        return (head + f"Hint: the forward call of {ctx.name}, whose backward needed the variable, is below; the "
                "variable was changed there or anywhere later.\n" + anomaly.format_stack(ctx.stack))
    return head + ("Hint: enable anomaly detection to find the operation that failed to compute its gradient, with "
                   "eigengrad.autograd.set_detect_anomaly(True, check_nan=False).")
