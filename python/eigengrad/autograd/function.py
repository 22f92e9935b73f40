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

from eigengrad.autograd.grad_mode import _state as _grad_state


class Function:
    """Base of all primitives; an instance is the context of one recorded call."""

    __slots__ = ("inputs", "saved", "needs_input_grad", "released", "__dict__")

    # True when every array backward returns is newly allocated, returned once and referenced nowhere
    # else: the engine then keeps such an array as a leaf's first ``grad`` instead of copying it.
    fresh_grads = False

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
        tensor_type = _tensor_type()
        arrays, tensors, needs = [], [], []
        any_needs = False
        for a in args:
            if isinstance(a, tensor_type):
                arrays.append(a._data)
                tensors.append(a)
                needs.append(a.requires_grad)
                any_needs = any_needs or a.requires_grad
            else:
                arrays.append(a)
                tensors.append(None)
                needs.append(False)
        record = any_needs and _grad_state.enabled
        ctx = cls(tuple(tensors) if record else (), tuple(needs))
        out = cls.forward(ctx, *arrays, **options)
        result = tensor_type._op_result(out, record)
        if result.requires_grad:
            result._ctx = ctx
        return result


_TENSOR = []


def _tensor_type():
    """eigengrad.tensor.Tensor, looked up once (tensor.py imports this module, so not at import time)."""
    if not _TENSOR:
        from eigengrad.tensor import Tensor

        _TENSOR.append(Tensor)
    return _TENSOR[0]
