"""Version counters: how the engine knows that an array saved for backward was modified in place.

Every in-place operation on a tensor (``x += 1``, ``x.add_()``, ``x[i] = v``, an optimizer step, ...)
adds one to the tensor's version, as ``torch.Tensor._version``. A view shares the counter of the tensor
it views (so does ``detach()``; ``.data`` gets a new one, as in PyTorch), because they share memory.
When a primitive is recorded, the versions of its inputs are noted; before its backward runs, an input
whose version moved on and whose memory the primitive saved makes backward raise PyTorch's error
(a modified input the primitive did not save, e.g. an operand of an addition, is fine).

A tensor gets its counter object lazily (``_counter`` is None until the first in-place change, view or
saved output): version 0 costs nothing on the tensors of the hot path. A process-wide clock counts all
in-place changes; a node notes the clock when it is recorded, so a backward with no in-place change
since the forward (the usual training step) checks nothing but one number per node.
"""
from __future__ import annotations

import numpy as np


# A version counter is a one-element list [version]: a mutable box the views of one memory block share
# (a list is the cheapest Python object to make, and a counter is made for every saved output).


class _Clock:
    """The number of in-place changes made in this process so far."""

    ticks = 0


clock = _Clock()


def counter_of(t) -> list:
    """``t``'s counter, created now if it has none yet (to be shared with a view, or watched)."""
    c = t._counter
    if c is None:
        c = t._counter = [0]
    return c


def version_of(t) -> int:
    c = t._counter
    return 0 if c is None else c[0]


def bump(t) -> None:
    """Record an in-place change of ``t``'s memory."""
    bump_all((t,))


def bump_all(tensors) -> None:
    """Record an in-place change of each of ``tensors`` (an optimizer step changes all its parameters)."""
    clock.ticks += 1
    for t in tensors:
        c = t._counter
        if c is None:
            t._counter = [1]
        else:
            c[0] += 1


def check_saved(ctx) -> None:
    """Raise PyTorch's error when an array that ``ctx`` saved for backward changed since it was recorded
    (the engine calls this only when the clock moved since ``ctx`` was recorded)."""
    for t, (_, then) in zip(ctx.inputs, ctx.edges):
        if t is None:
            continue
        now = version_of(t)
        if now != then and _saved_overlaps(ctx, t._data):  # named by its current node, as PyTorch does
            raise RuntimeError(_message(ctx, t.dtype, t.shape, now, then, None if t._ctx is None else t._ctx.name))
    if ctx.out_watch is not None:
        counter, then, out = ctx.out_watch
        if counter[0] != then:
            raise RuntimeError(_message(ctx, out.dtype, out.shape, counter[0], then, ctx.name))


def _saved_overlaps(ctx, arr: np.ndarray) -> bool:
    return any(isinstance(s, np.ndarray) and np.may_share_memory(s, arr) for s in ctx.saved)


def _message(ctx, dtype, shape: tuple, now: int, then: int, producer: str | None) -> str:
    from eigengrad.autograd import anomaly

    what = f"[{np.dtype(dtype)} tensor [{', '.join(map(str, shape))}]]"
    if producer is not None:
        what += f", which is output 0 of {producer},"
    head = ("one of the variables needed for gradient computation has been modified by an inplace operation: "
            f"{what} is at version {now}; expected version {then} instead. ")
    if ctx.stack is not None:
        return (head + f"Hint: the forward call of {ctx.name}, whose backward needed the variable, is below; the "
                "variable was changed there or anywhere later.\n" + anomaly.format_stack(ctx.stack))
    return head + ("Hint: enable anomaly detection to find the operation that failed to compute its gradient, with "
                   "eigengrad.autograd.set_detect_anomaly(True, check_nan=False).")
