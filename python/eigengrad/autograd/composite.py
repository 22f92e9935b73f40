"""A differentiable backward from a composite: for a fused primitive whose forward can also be written
with other primitives (normalisation, losses, recurrent layers), ``backward_graph`` is the recorded
gradient of that composite, computed by a nested engine pass with create_graph.

The composite runs on stand-ins for the primitive's inputs (``Identity`` nodes over the recorded
inputs): the nested pass stops at them, so it gives the partial derivatives w.r.t. this primitive's
inputs (not derivatives through the inputs' own histories), and the gradients it records still lead,
through the stand-ins, to those histories (so they can be differentiated again). The composite costs
a second forward, only under create_graph.
"""
from __future__ import annotations

from typing import Callable

from eigengrad.autograd import engine
from eigengrad.autograd.ops import Identity


def composite_backward(ctx, grad, composite: Callable, arrays: tuple) -> tuple:
    """The gradients of ``composite(*inputs)`` w.r.t. ``ctx``'s inputs, against ``grad`` (a Tensor).

    ``arrays``: the value of each positional input (the array forward saw, or the constant);
    ``composite`` gets, per input, a Tensor (for an input that needs a gradient) or the constant, and
    must return a Tensor equal to the primitive's output. Returns one Tensor or None per input.
    """
    stand_ins, wrt = [], []
    for i, a in enumerate(arrays):
        x = ctx.input_tensor(i, a)
        if hasattr(x, "_data") and x.requires_grad:
            x = Identity.apply(x)
            wrt.append(i)
        stand_ins.append(x)
    out = composite(*stand_ins)
    found = engine.run([out], [grad], retain_graph=True, create_graph=True, inputs=[stand_ins[i] for i in wrt],
                       accumulate=False, cut=True)
    grads = [None] * len(arrays)
    for i, g in zip(wrt, found):
        grads[i] = g
    return tuple(grads)
