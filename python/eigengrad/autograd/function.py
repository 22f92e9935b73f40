"""The primitive: a ``Function`` with ``forward``/``backward`` over raw arrays and a saved context.

A primitive subclasses :class:`Function` and defines two static methods::

    forward(ctx, *arrays, **options) -> array      # may call ctx.save_for_backward(...)
    backward(ctx, grad) -> tuple of arrays/None    # one gradient per positional input

``Function.apply`` runs ``forward`` on the inputs' arrays and, when grad mode is on and an input
requires grad, records the call: the output tensor keeps the context (the Function instance) that
holds the inputs and the saved arrays. That record (op class, inputs, saved arrays, options) is all
the engine needs, and is plain enough to be traced later.
"""
from __future__ import annotations

from eigengrad.autograd.grad_mode import is_grad_enabled


class Function:
    """Base of all primitives; an instance is the context of one recorded call."""

    __slots__ = ("inputs", "saved", "needs_input_grad", "released", "__dict__")

    def __init__(self, inputs: tuple, needs_input_grad: tuple) -> None:
        self.inputs = inputs  # the input Tensors, None where an input was a constant
        self.needs_input_grad = needs_input_grad
        self.saved = ()
        self.released = False

    def save_for_backward(self, *arrays) -> None:
        self.saved = arrays

    def release(self) -> None:
        """Free what backward needed (the graph is freed after backward unless retain_graph)."""
        self.saved = ()
        self.__dict__.clear()
        self.inputs = tuple(None for _ in self.inputs)  # drop the graph behind this node too
        self.released = True

    @property
    def name(self) -> str:
        return type(self).__name__

    @classmethod
    def apply(cls, *args, **options):
        from eigengrad.tensor import Tensor

        arrays = [a._data if isinstance(a, Tensor) else a for a in args]
        tensors = tuple(a if isinstance(a, Tensor) else None for a in args)
        needs = tuple(t is not None and t.requires_grad for t in tensors)
        record = is_grad_enabled() and any(needs)
        ctx = cls(tensors, needs) if record else cls((), needs)
        out = cls.forward(ctx, *arrays, **options)
        result = Tensor._wrap(out, requires_grad=record)
        if record:
            result._ctx = ctx
        return result
