"""Primitives computed in NumPy, replayed as one plan step each.

Most primitives compute through recorded kernels (``_kernels``), so a plan holds their kernel calls. Some
compute in NumPy: ``exp``, ``log``, ``sin``, ``one_hot``, ``nll_loss``, ``smooth_l1_loss``, the tensor
operations' ``pow``, ``where``, ``amax``, ... The recorder cannot see inside them, so the trace records
such a primitive as a whole: one step that calls its ``forward`` on the plan's arrays and copies the
result into the output buffer the trace gave it, and one step for its node's ``backward`` (the same
NumPy code as eager mode: the same bits). A replay runs them from the plan's Python loop (a few
microseconds each), in their place between the kernels.

The forward step makes a new context per replay (``Slot``) and the backward step reads it: the arrays
the forward saved are this replay's. The backward step also lists the forward's input buffers as
read, so the arena keeps them alive until then (a forward may save its input: ``log`` does). A result
whose shape or dtype differs from the trace's (a shape that depends on values) raises rather than
replays a wrong answer.
"""
from __future__ import annotations

import numpy as np


class Slot:
    """The context of one opaque primitive's latest forward replay, for its backward replay; ``refs``:
    the trace's input Refs, ``needs``: which inputs need a gradient."""

    __slots__ = ("ctx", "refs", "needs", "keep")

    def __init__(self, refs: list, needs: tuple, keep: bool) -> None:
        self.ctx, self.refs, self.needs, self.keep = None, refs, needs, keep


def store(name: str, result, out: np.ndarray) -> None:
    """Copy a replayed ``result`` into its plan buffer ``out``; a new shape or dtype is an error."""
    result = np.asarray(result)
    if result.shape != out.shape or result.dtype != out.dtype:
        raise RuntimeError(f"eg.compile: {name} gave a {result.dtype} array of shape {result.shape} where the "
                           f"trace gave {out.dtype} {out.shape} (its result depends on values the plan cannot "
                           "see); run the function without eg.compile")
    np.copyto(out, result)


class Forward:
    """The replayed forward of primitive ``cls``: args are its ``n`` positional inputs (arrays and
    constants), the arrays of its array options, then its output buffer; keyword arguments are its other
    options (constants). ``names``: (option, pattern) per array option, in order; pattern None for an
    array, else a tuple whose items are None (the next array) or (constant,)."""

    def __init__(self, cls, slot: Slot, n: int, names: list) -> None:
        self.cls, self.slot, self.n, self.names = cls, slot, n, names
        self.__qualname__ = f"{cls.__name__}.forward"

    def __call__(self, *args, **options) -> None:
        ctx = self.cls((), self.slot.needs)
        arrays = iter(args[self.n:-1])
        for key, pattern in self.names:
            options[key] = next(arrays) if pattern is None else tuple(
                next(arrays) if x is None else x[0] for x in pattern)
        store(self.__qualname__, self.cls.forward(ctx, *args[:self.n], **options), args[-1])
        if self.slot.keep:
            self.slot.ctx = ctx


class Backward:
    """The replayed backward of a primitive's node: args are the upstream gradient, then the arrays its
    context holds (the forward's inputs, for an opaque forward's context in ``slot``; else the arrays the
    context saved), then one buffer per gradient in ``written`` (input indices whose gradient is a new
    array; the others are None or views of existing buffers, which the trace resolved to them). Without
    a slot, the keyword arguments rebuild the context: ``needs``, and ``saved`` and ``attrs`` whose
    entries are (True, position in args) or (False, a constant). They are the op's keyword arguments,
    so that two traces must agree on them (an attribute computed from values would differ)."""

    def __init__(self, cls, slot: Slot | None, written: list) -> None:
        self.cls, self.slot, self.written = cls, slot, written
        self.__qualname__ = f"{cls.__name__}.backward"

    def __call__(self, g, *args, needs=(), saved=(), attrs=()) -> None:
        args = (g,) + args
        if self.slot is not None:
            ctx = self.slot.ctx
        else:
            ctx = self.cls((), needs)
            ctx.saved = tuple(args[v] if is_ref else v for is_ref, v in saved)
            for name, (is_ref, v) in attrs:
                setattr(ctx, name, args[v] if is_ref else v)
        grads = self.cls.backward(ctx, g)
        grads = grads if isinstance(grads, tuple) else (grads,)
        for i, out in zip(self.written, args[len(args) - len(self.written):]):
            store(self.__qualname__, grads[i], out)
