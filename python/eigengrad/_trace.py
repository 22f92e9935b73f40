"""The slot through which eager code tells an active ``eg.compile`` trace what it cannot see in kernel calls.

Imports nothing of eigengrad, so the lowest layers (tensor, random, the engine, the optimizer) can use it. Outside a
trace ``ACTIVE[0]`` is None and every hook costs one list read and a comparison.

- ``reject(reason)``: the step did something a plan cannot replay (a value read into Python such as
  ``.item()``, an in-place NumPy change the kernels do not see, ...): the trace is abandoned, the call
  still finishes eagerly and the compiled function falls back to eager mode naming ``reason``.
- ``draw(generator, n, start)``: a random draw of ``n`` numbers advanced ``generator`` from ``start``;
  the replay draws again (so the generator advances exactly as in eager mode) and feeds the new
  (seed, offset) to the kernel that consumed this draw.
- ``python_op(fn, args)``: ``fn(*args)`` runs as one plan step (the optimizer's step, which reads its
  hyperparameters and step counts from Python at every replay); returns True when the caller must run
  it now without its kernel calls being recorded (the tracer records the step instead).
- ``inplace(name, fn, target, *args)``: ``fn(target, *args)``, an in-place change of ``target`` outside
  autograd (``p.mul_(0.99)`` under no_grad), recorded as one step that makes it again at every replay.
- ``forward(cls, ctx, arrays, options, keep)`` / ``backward(ctx, g)``: a primitive's forward (and later
  the backward of its node) run while a trace is active, so that a primitive computed in NumPy, which no
  recorded kernel computes, becomes one plan step of its own (``compile/opaque.py``).
"""
from __future__ import annotations

import os

ACTIVE: list = [None]  # the eigengrad.compile.recorder.Tracer of the call being traced, or None


# eigengrad's package directory: code in it is the library's own (its reads are replayed), code outside is the
# user's (the frame a fallback's reason names; a hyperparameter the step's own code reads)
LIBRARY = os.path.dirname(os.path.abspath(__file__))


def reject(reason: str) -> None:
    tracer = ACTIVE[0]
    if tracer is not None:
        tracer.fail(reason)


def draw(generator, n: int, start: int) -> None:
    tracer = ACTIVE[0]
    if tracer is not None:
        tracer.on_draw(generator, n, start)


def python_op(fn, *args):
    """``fn(*args)``, recorded by an active trace as one plan step (see the module's docstring)."""
    tracer = ACTIVE[0]
    if tracer is None:
        return fn(*args)
    return tracer.python_op(fn, args)


def forward(cls, ctx, arrays: list, options: dict, keep: bool):
    """``cls.forward(ctx, *arrays, **options)``, seen by an active trace; ``keep``: a node is recorded."""
    tracer = ACTIVE[0]
    if tracer is None:
        return cls.forward(ctx, *arrays, **options)
    return tracer.primitive_forward(cls, ctx, arrays, options, keep)


def backward(ctx, g):
    """``ctx.backward(ctx, g)``, seen by an active trace (a backward computed in NumPy is one step)."""
    tracer = ACTIVE[0]
    if tracer is None:
        return ctx.backward(ctx, g)
    return tracer.primitive_backward(ctx, g)


def inplace(name: str, fn, target, *args) -> None:
    """``fn(target, *args)`` (an in-place change outside autograd), seen by an active trace."""
    tracer = ACTIVE[0]
    if tracer is None:
        fn(target, *args)
    else:
        tracer.inplace_op(name, fn, target, args)
