"""The primitive: a ``Primitive`` with ``forward``/``backward`` over raw arrays and a saved context.

eigengrad's own operations subclass :class:`Primitive` (raw arrays in, raw arrays out). The user-facing
``eigengrad.autograd.Function`` (PyTorch's custom Function, over Tensors) is a different class, in
``autograd.custom_function``; this module also gives it (and ``once_differentiable``, ``FunctionCtx``) under
PyTorch's path, ``torch.autograd.function``.

A primitive defines three static methods::

    forward(ctx, *arrays, **options) -> array      # may call ctx.save_for_backward(...)
    backward(ctx, grad) -> tuple of arrays/None    # one gradient per positional input
    backward_graph(ctx, grad) -> tuple of Tensors/None

``backward`` is the fast path: arrays, no graph. ``backward_graph`` is the differentiable backward, run
by the engine instead of ``backward`` when ``create_graph=True``: ``grad`` is a Tensor and the method
computes the same gradients with Tensor operations (other primitives), so they are recorded and can be
differentiated again (gradient penalties, Hessian-vector products). It reads its inputs as recorded
tensors with ``ctx.input_tensor(i)`` (a constant array where the input needs no gradient) and a saved
output with ``ctx.output_tensor(out)``. A fused kernel's backward can be a primitive of its own whose
backward is the first one's forward (adjoint pairs: pooling, padding, convolution), or the graph
gradient of the op written as a composite of other primitives (``composite_backward``). A primitive
without ``backward_graph`` gets first-order gradients under create_graph, and a second backward through
them raises.

``Primitive.apply`` runs ``forward`` on the inputs' arrays and, when grad mode is on and an input
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

import numpy as np

from eigengrad import _fp_quiet, _trace
from eigengrad._errors import as_argument_error
from eigengrad.autograd import anomaly as _anomaly
from eigengrad.autograd.grad_mode import _state as _grad_state
from eigengrad.autograd.version import clock, version_of

_anomaly_state = _anomaly._state
_CONSTANT = (None, 0)  # the edge of an input that is not a tensor


class Primitive:
    """Base of all primitives; an instance is the context of one recorded call.

    A subclass defines ``forward(ctx, *arrays, **options)`` and ``backward(ctx, grad)`` over arrays (the fast
    path) and ``backward_graph(ctx, grad)``, the same gradients with Tensor operations, which the engine
    runs under ``create_graph=True`` so that gradients can be differentiated again (see the module's
    docstring for the three ways to write it). ``tests/grad_cases.py`` needs a case for every primitive.
    """

    __slots__ = ("inputs", "saved", "needs_input_grad", "released", "edges", "clock", "__dict__")

    # True when every array backward returns is newly allocated, returned once and referenced nowhere
    # else: the engine then keeps such an array as a leaf's first ``grad`` instead of copying it.
    fresh_grads = False
    # Input indices whose gradient backward can write into a given array (``ctx.grad_into``, filled by the
    # engine with a leaf's optimizer slot when that gradient would be copied there unchanged) instead of a
    # new one: the copy of every weight gradient into the optimizer's flat buffer is then not made.
    writes_grads_into = ()
    grad_into = None  # {input index: array} for this call, set by the engine on the instance
    # Set on an instance only when needed (class defaults cost nothing per call): (the output's counter,
    # its version then, the output) when forward saved its output, the forward stack in anomaly mode, the
    # tensor that retains this node's gradient, the hooks registered on that tensor (Tensor.register_hook).
    out_watch = None
    stack = None
    retained = None
    hooks = None
    # True for a primitive whose backward and backward_graph read only what forward noted on ctx (shapes,
    # axes, dtypes: no saved array, no input's value). Such a node, like PyTorch's nodes that saved no
    # tensor, can run again after a backward freed the graph (``y = (x + 1).sum(); y.backward();
    # y.backward()``): ``release`` keeps its edges and metadata and puts data-free stand-ins (the shape and
    # dtype, zero strides) for its non-leaf inputs, so no activation stays alive.
    saves_nothing = False

    @staticmethod
    def shape_depends_on_values(arrays: list, options: dict) -> bool:
        """Whether the output's shape depends on the values of the inputs (a mask selecting elements):
        eg.compile cannot replay such a primitive (its buffers are sized once)."""
        return False

    def __init__(self, inputs: tuple, needs_input_grad: tuple) -> None:
        self.inputs = inputs  # the input Tensors, None where an input was a constant
        self.needs_input_grad = needs_input_grad
        self.saved = ()
        self.released = False

    def save_for_backward(self, *arrays) -> None:
        self.saved = arrays

    def release(self) -> None:
        """Free what backward needed (the graph is freed after backward unless retain_graph)."""
        if self.saves_nothing:  # (idempotent: a stand-in's stand-in is itself)
            kept = []
            for t, need, (node, _) in zip(self.inputs, self.needs_input_grad, self.edges):
                if t is None or not need:
                    kept.append(None)  # a constant: not needed to run again
                elif node is None:
                    kept.append(t)  # a leaf (PyTorch's AccumulateGrad holds it too)
                else:
                    data = t._data
                    stand_in = _STAND_INS.get((data.shape, data.dtype))
                    kept.append(_stand_in(data) if stand_in is None else stand_in)
            self.inputs = tuple(kept)
            return
        self.saved = ()
        self.__dict__.clear()
        self.inputs = (None,) * len(self.inputs)  # drop the graph behind this node too
        self.edges = ()
        self.released = True

    # PyTorch's name for the op where the class's differs (``"Relu"`` for ReLU: ``ReluBackward0``)
    torch_name: str | None = None

    @property
    def name(self) -> "NodeName":
        """The op's name (``"Mul"``); called, PyTorch's node name (``grad_fn.name()`` -> ``"MulBackward0"``)."""
        return NodeName(self.torch_name or type(self).__name__)

    @property
    def next_functions(self) -> tuple:
        """PyTorch's graph walk (torchviz, debugging): per input, (the node that made it, 0); a leaf that
        requires grad gives (its AccumulateGrad, 0), a constant or a tensor without gradient (None, 0)."""
        edges = self.edges or ((None, 0),) * len(self.inputs)
        out = []
        for t, (node, _) in zip(self.inputs, edges):
            if node is not None:
                out.append((node, 0))
            else:
                out.append((AccumulateGrad(t) if t is not None and t.requires_grad else None, 0))
        return tuple(out)

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
                need = a._requires_grad  # (the slot: the public property costs more on this hot path)
                needs.append(need)
                any_needs = any_needs or need
                counter = a._counter
                edges.append((a._ctx, 0 if counter is None else counter[0]))
            else:
                arrays.append(a)
                tensors.append(None)
                needs.append(False)
                edges.append(_CONSTANT)
        record = any_needs and grad_mode
        ctx = cls(tuple(tensors) if record else (), tuple(needs))
        quiet = _fp_quiet.enter()  # IEEE results without NumPy's warnings, as PyTorch's (_fp_quiet.py)
        try:
            if _trace.ACTIVE[0] is None:
                out = cls.forward(ctx, *arrays, **options)
            else:  # eg.compile records a forward that NumPy computes as one plan step
                out = _trace.forward(cls, ctx, arrays, options, record)
        except (ValueError, TypeError) as e:
            if type(e) is ValueError and "could not be broadcast" in str(e):  # PyTorch's RuntimeError and message
                raise _broadcast_error(arrays, getattr(cls, "matrix_operands", False)) from None
            if type(e) in (ValueError, TypeError):  # a forward's check of a shape or dtype: PyTorch raises
                raise as_argument_error(e) from e  # RuntimeError there (subclasses kept as they are)
            raise
        finally:
            _fp_quiet.leave(quiet)
        result = tensor_type._wrap(out)
        if record and result._data.dtype.kind == "f":  # an op's integer output (argmax...) is a constant
            result._requires_grad = True
            result._ctx = ctx
            ctx.edges = tuple(edges)
            ctx.clock = clock.ticks
            for s in ctx.saved:
                if s is out:  # forward saved its output: an in-place change of it would corrupt backward
                    result._counter = [0]
                    ctx.out_watch = (result._counter, 0, out)
                    break
        elif not grad_mode and _grad_state.inference:
            result._inference = True
        if _anomaly_state.enabled:
            _record_anomaly(ctx, result._data, arrays, result.requires_grad)
        return result

    @staticmethod
    def backward_graph(ctx, grad):
        """The differentiable backward (see the module's docstring). This default, for a primitive that
        has none, gives the raw backward's values as tensors that a further backward refuses."""
        grads = ctx.backward(ctx, grad._data)
        grads = grads if isinstance(grads, tuple) else (grads,)
        return tuple(None if g is None else _once_differentiable(ctx, grad, g) for g in grads)

    def input_tensor(self, i: int, data=None):
        """Input ``i`` for ``backward_graph``: when it needs a gradient, the tensor with the history it had
        when this node was recorded (a leaf: the leaf itself); else its array, a constant. ``data``: the
        array this node saved for it (the value forward used), or the value of a non-tensor input."""
        t = self.inputs[i] if i < len(self.inputs) else None
        if t is None or not self.needs_input_grad[i]:
            return data if data is not None or t is None else t._data
        node = self.edges[i][0]
        if node is None or (t._ctx is node and (data is None or data is t._data)):
            return t
        proxy = _tensor_type()._wrap(t._data if data is None else data)
        proxy._requires_grad, proxy._ctx = True, node
        return proxy

    def output_tensor(self, out):
        """This node's output array ``out`` (saved by forward) as a tensor produced by this node, so that
        ``backward_graph`` can differentiate through it (PyTorch's saved output)."""
        t = _tensor_type()._wrap(out)
        t._requires_grad, t._ctx = True, self
        return t

    @classmethod
    def node(cls, inputs: tuple, **attrs) -> "Primitive":
        """A recorded context over ``inputs`` (Tensors or None) without running forward: for a node whose
        output already exists in place (CopySlices, a view's refreshed history, in-place rebases)."""
        ctx = cls(inputs, tuple(t is not None and t.requires_grad for t in inputs))
        ctx.edges = tuple(_CONSTANT if t is None else (t._ctx, version_of(t)) for t in inputs)
        ctx.clock = clock.ticks
        ctx.__dict__.update(attrs)
        if _anomaly._state.enabled:
            ctx.stack = _anomaly.capture_stack()
        return ctx


def __getattr__(name: str):
    """PyTorch's ``torch.autograd.function`` names: the custom Function over Tensors and its helpers (from
    ``autograd.custom_function``, imported when first asked for: that module builds on this one)."""
    if name in ("Function", "FunctionCtx", "once_differentiable"):
        from eigengrad.autograd import custom_function

        return getattr(custom_function, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class NodeName(str):
    """A node's op name as a string (``"Mul"``, what eigengrad's messages print), and called, PyTorch's
    ``grad_fn.name()`` (``"MulBackward0"``)."""

    def __call__(self) -> str:
        return f"{self}Backward0"


class AccumulateGrad:
    """The node PyTorch shows for a leaf that requires grad in ``next_functions``: ``variable`` is the leaf."""

    next_functions = ()

    def __init__(self, variable) -> None:
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


class LinearMap(Primitive):
    """A primitive linear in its one input, ``map(x, **options)``, whose backward is the map of another
    LinearMap over the same options, its adjoint (``adjoint``): the pair is closed under differentiation,
    so every order stays on the same array code (a scatter and its gather, a region and its placement)."""

    adjoint: type = None

    @staticmethod
    def map(x, **options):
        raise NotImplementedError("a LinearMap subclass defines map(x, **options), the linear map itself")

    @classmethod
    def forward(cls, ctx, x, **options):
        ctx.options = options
        return cls.map(x, **options)

    @classmethod
    def backward(cls, ctx, g):
        return (cls.adjoint.map(g, **ctx.options),)

    @classmethod
    def backward_graph(cls, ctx, g):
        return (cls.adjoint.apply(g, **ctx.options),)


def _stand_in(data):
    """A tensor with ``data``'s shape and dtype and no data (a read-only zero-strided view of one element), what
    a released ``saves_nothing`` node keeps of a non-leaf input; one per (shape, dtype), shared by every node
    (nothing writes to it)."""
    if len(_STAND_INS) > 4096:
        _STAND_INS.clear()
    zero = np.zeros(1, data.dtype)
    stand_in = _tensor_type()._wrap(np.ndarray(data.shape, data.dtype, zero, 0, (0,) * data.ndim))
    stand_in._data.flags.writeable = False
    stand_in._requires_grad = True
    _STAND_INS[(data.shape, data.dtype)] = stand_in
    return stand_in


_STAND_INS: dict = {}  # (shape, dtype) -> a stand-in: a read-only zero-strided array of that shape (no data)


class OnceDifferentiable(Primitive):
    """The node of a gradient computed by a primitive without ``backward_graph`` under create_graph:
    differentiating it again raises (PyTorch's message for a derivative that is not implemented)."""

    @staticmethod
    def forward(ctx, *arrays, op=""):
        raise RuntimeError("OnceDifferentiable is recorded by backward_graph's default, not applied")

    @staticmethod
    def backward(ctx, grad):
        message = ctx.__dict__.get("message")  # (NotImplementedError, a RuntimeError: PyTorch's class here)
        raise NotImplementedError(message or f"the derivative of {ctx.op}'s backward is not implemented: {ctx.op} "
                                  "has no backward_graph, so its gradient cannot be differentiated again "
                                  "(create_graph=True)")

    backward_graph = backward


def _once_differentiable(ctx, grad, g):
    t = _tensor_type()._wrap(g)
    sources = (grad,) + tuple(ctx.inputs)
    if any(s is not None and s.requires_grad for s in sources):
        t._requires_grad, t._ctx = True, OnceDifferentiable.node(sources, op=ctx.name)
    return t


class ViewPrimitive(Primitive):
    """A view op: forward returns a NumPy view of its first input's array where NumPy can (``view_of``
    replays it on another array); the output is then marked as a view of that input (``autograd.views``)."""

    @staticmethod
    def view_of(x, **options):
        raise NotImplementedError("a ViewPrimitive subclass defines view_of(x, **options), the view it makes")

    @classmethod
    def apply(cls, *args, **options):
        result = super().apply(*args, **options)
        if isinstance(args[0], _tensor_type()):
            _views().record_view(result, args[0], cls, options)
        return result


ViewFunction = ViewPrimitive  # the former name


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


def _broadcast_error(arrays, matrices: bool = False) -> Exception:
    """PyTorch's message for operands that do not broadcast, naming the first mismatched dim (an
    ArgumentError: both the RuntimeError PyTorch raises and a ValueError); ``matrices``: the operands are stacks
    of matrices (matmul), whose batch dims (all but the last two) broadcast."""
    import numpy as np

    from eigengrad._errors import ArgumentError

    shapes = [np.shape(a) for a in arrays if isinstance(a, np.ndarray)]
    if matrices:
        shapes = [s[:-2] for s in shapes]
    for i in range(len(shapes)):
        for j in range(i + 1, len(shapes)):
            a, b = shapes[i], shapes[j]
            for k in range(1, min(len(a), len(b)) + 1):
                if a[-k] != b[-k] and a[-k] != 1 and b[-k] != 1:
                    dim = max(len(a), len(b)) - k
                    return ArgumentError(f"The size of tensor a ({a[-k]}) must match the size of tensor b ({b[-k]}) at "
                                         f"non-singleton dimension {dim}")
    return ArgumentError(f"operands could not be broadcast together with shapes {' '.join(map(str, shapes))}")
