"""``fit(..., compile=True)``: the trainer's batch step (zero_grad, forward, loss, backward, clipping,
optimizer step) as one function compiled by ``eg.compile``.

The compiled step returns the loss and the output; the trainer reads the loss's value (``.item()``)
and the metrics after the step, outside the compiled function. What the plain loop does between
backward and the optimizer step that a plan cannot replay makes fit train eagerly, with one warning
naming the reason (:func:`why_not`). A callback whose class sets ``compiles_after_backward = True``
declares that its ``on_after_backward`` only calls kernels (``eigengrad._kernels``; e.g. the
scikit-learn estimators' L2 penalty): it runs inside the compiled step, where the tracer records it (and
the step still falls back, naming the reason, if it does anything else).
"""
from __future__ import annotations

import logging

from eigengrad.train.callbacks.base import _overrides

logger = logging.getLogger("eigengrad.train")


def why_not(trainer) -> str | None:
    """Why the trainer's batch step cannot be compiled, or None."""
    if trainer._dist is not None:
        return "data-parallel training (its gradient allreduces are not kernels of a plan)"
    for cb in trainer.callbacks.callbacks:
        if _overrides(cb, "on_after_backward") and not getattr(cb, "compiles_after_backward", False):
            return (f"a callback ({type(cb).__name__}) runs on_after_backward between backward and the optimizer "
                    "step")
    return None


def make_step(trainer, params: list):
    """The compiled ``step(*inputs, target) -> (loss, output)`` of ``trainer``'s batch."""
    from eigengrad.compile import compile

    net, loss_fn, opt, clip = trainer._net, trainer.loss_fn, trainer.optimizer, trainer.grad_clip
    callbacks = trainer.callbacks  # (only callbacks that compile reach on_after_backward here: why_not)

    def train_step(*args):
        *inputs, target = args
        opt.zero_grad()
        output = net(*inputs)
        loss = loss_fn(output, target)
        loss.backward()
        callbacks.call("on_after_backward", trainer)
        if clip is not None:
            clip(params)
        opt.step()
        return loss, output

    return compile(train_step, modules=(trainer.model, net), optimizers=(opt,))
