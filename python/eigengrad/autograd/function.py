"""The primitive: a ``Function`` with ``forward``/``backward`` over raw arrays and a saved context.

A primitive subclasses :class:`Function` and defines two static methods::

    forward(ctx, *arrays, **options) -> array      # may call ctx.save_for_backward(...)
    backward(ctx, grad) -> tuple of arrays/None    # one gradient per positional input

``Function.apply`` runs ``forward`` on the inputs' arrays and, when grad mode is on and an input
requires grad, records the call: the output tensor keeps the context (the Function instance) that
holds the inputs, the saved arrays and, per input, an edge (the node that produced it at that moment,
its version): an in-place op later gives the tensor a new history, the graph keeps the old one, and
backward refuses saved arrays that were modified in place since (``autograd.version``). That
record (op class, inputs, saved arrays, options) is all the engine needs, and is plain enough to be
traced later.

A view op subclasses :class:`ViewFunction`: it returns a NumPy view of its first input where it can,
and its output is marked as a view of that input (see ``autograd.views``).
"""
from __future__ import annotations

from eigengrad.autograd import anomaly as _anomaly
from eigengrad.autograd.grad_mode import _state as _grad_state
from eigengrad.autograd.version import clock, version_of

_anomaly_state = _anomaly._state
_CONSTANT = (None, 0)  # the edge of an input that is not a tensor


class Function:
    """Base of all primitives; an instance is the context of one recorded call."""

    __slots__ = ("inputs", "saved", "needs_input_grad", "released", "edges", "clock", "__dict__")

    # True when every array backward returns is newly allocated, returned once and referenced nowhere
    # else: the engine then keeps such an array as a leaf's first ``grad`` instead of copying it.
    fresh_grads = False
    # Set on an instance only when needed (class defaults cost nothing per call): (the output's counter,
    # its version then, the output) when forward saved its output, the forward stack in anomaly mode, the
    # tensor that retains this node's gradient.
    out_watch = None
    stack = None
    retained = None

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
        self.inputs = (None,) * len(self.inputs)  # drop the graph behind this node too
        self.edges = ()
        self.released = True

    @property
    def name(self) -> str:
        return type(self).__name__

    @classmethod
    def apply(cls, *args, **options):
        tensor_type = _TENSOR[0] if _TENSOR else _tensor_type()
        arrays, tensors, needs, edges = [], [], [], []
        any_needs = False
        grad_mode = _grad_state.enabled
        for a in args:
            if isinstance(a, tensor_type):
                if a._view is not None and grad_mode and a._view.version != a._counter[0]:
                    _views().refresh(a)  # its base changed in place since its history was recorded
                arrays.append(a._data)
                tensors.append(a)
                needs.append(a.requires_grad)
                any_needs = any_needs or a.requires_grad
                counter = a._counter
                edges.append((a._ctx, 0 if counter is None else counter[0]))
            else:
                arrays.append(a)
                tensors.append(None)
                needs.append(False)
                edges.append(_CONSTANT)
        record = any_needs and grad_mode
        ctx = cls(tuple(tensors) if record else (), tuple(needs))
        out = cls.forward(ctx, *arrays, **options)
        result = tensor_type._wrap(out)
        if record and result._data.dtype.kind == "f":  # an op's integer output (argmax...) is a constant
            result.requires_grad = True
            result._ctx = ctx
            ctx.edges = tuple(edges)
            ctx.clock = clock.ticks
            for s in ctx.saved:
                if s is out:  # forward saved its output: an in-place change of it would corrupt backward
                    result._counter = [0]
                    ctx.out_watch = (result._counter, 0, out)
                    break
        if _anomaly_state.enabled:
            _record_anomaly(ctx, result._data, arrays, result.requires_grad)
        return result

    @classmethod
    def node(cls, inputs: tuple, **attrs) -> "Function":
        """A recorded context over ``inputs`` (Tensors or None) without running forward: for a node whose
        output already exists in place (CopySlices, a view's refreshed history, in-place rebases)."""
        ctx = cls(inputs, tuple(t is not None and t.requires_grad for t in inputs))
        ctx.edges = tuple(_CONSTANT if t is None else (t._ctx, version_of(t)) for t in inputs)
        ctx.clock = clock.ticks
        ctx.__dict__.update(attrs)
        if _anomaly._state.enabled:
            ctx.stack = _anomaly.capture_stack()
        return ctx


class ViewFunction(Function):
    """A view op: forward returns a NumPy view of its first input's array where NumPy can (``view_of``
    replays it on another array); the output is then marked as a view of that input (``autograd.views``)."""

    @staticmethod
    def view_of(x, **options):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **options):
        result = super().apply(*args, **options)
        if isinstance(args[0], _tensor_type()):
            _views().record_view(result, args[0], cls, options)
        return result


def _record_anomaly(ctx, out, arrays: list, recorded: bool) -> None:
    if recorded:
        ctx.stack = _anomaly.capture_stack()
    if _anomaly._state.check_nan:
        _anomaly.check_forward(ctx.name, out, arrays)


_TENSOR = []
_VIEWS = []


def _tensor_type():
    """eigengrad.tensor.Tensor, looked up once (tensor.py imports this module, so not at import time)."""
    if not _TENSOR:
        from eigengrad.tensor import Tensor

        _TENSOR.append(Tensor)
    return _TENSOR[0]


def _views():
    """The module eigengrad.autograd.views (it imports this one)."""
    if not _VIEWS:
        from eigengrad.autograd import views

        _VIEWS.append(views)
    return _VIEWS[0]
