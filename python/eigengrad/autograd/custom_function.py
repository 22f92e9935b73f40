"""``eigengrad.autograd.Function``: PyTorch's custom autograd Function, over Tensors.

A user subclasses :class:`Function` with ``@staticmethod forward(ctx, *args, **kwargs)`` (or ``forward(*args)``
plus ``setup_context(ctx, inputs, output)``) and ``@staticmethod backward(ctx, *grads)`` returning one
gradient (Tensor or None) per forward input, and calls ``MyFn.apply(...)``. Forward runs with grad mode
off on the Tensors themselves; when grad mode is on and an input requires grad, the outputs get a node
(:class:`CustomFunctionNode`, a ``Primitive``) whose backward calls the user's backward with Tensors:
under create_graph in grad mode, so a backward written with Tensor operations is differentiable again.

This is apart from eigengrad's own primitives (``autograd.function.Primitive``), which work on raw
arrays. A Function with several outputs has one node; each output's gradient reaches it through a
small ``OutputOf`` node that files it in the node's buffer, so the user's backward gets all of them at once.
"""
from __future__ import annotations

import functools
import inspect

import numpy as np

from eigengrad.autograd import views
from eigengrad.autograd.function import NodeName, OnceDifferentiable, Primitive, _tensor_type
from eigengrad.autograd.grad_mode import _state as _grad_state, no_grad
from eigengrad.autograd.ops import unbroadcast
from eigengrad.autograd.version import counter_of, version_of

_FREED = ("Trying to backward through the graph a second time (or directly access saved tensors after they have "
          "already been freed). Saved intermediate values of the graph are freed when you call .backward() or "
          "autograd.grad(). Specify retain_graph=True if you need to backward through the graph a second time or "
          "if you need to access saved tensors after calling backward.")


class FunctionCtx:
    """The ``ctx`` of a custom Function: ``save_for_backward``, ``saved_tensors``, ``needs_input_grad``,
    ``mark_dirty``, ``mark_non_differentiable``, ``set_materialize_grads``; any other attribute is the user's."""

    def __init__(self) -> None:
        self.needs_input_grad: tuple = ()
        self.materialize_grads = True
        self._to_save: tuple | None = None
        self._saved = None  # after apply: tuple of (tensor, version) or None per saved entry; False once freed
        self._dirty: tuple = ()
        self._non_differentiable: tuple = ()

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` (Tensors or None) for backward, checked against in-place changes."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, _tensor_type()):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} is of type "
                                f"{type(t).__name__}")
        self._to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        """The saved tensors; raises if one was changed in place since it was saved (PyTorch's error)."""
        if self._saved is False:
            raise RuntimeError(_FREED)
        if self._saved is None:
            return tuple(self._to_save or ())
        out = []
        for entry in self._saved:
            if entry is None:
                out.append(None)
                continue
            t, then = entry
            now = version_of(t)
            if now != then:
                producer = "" if t._ctx is None else f", which is output 0 of {t._ctx.name},"
                raise RuntimeError("one of the variables needed for gradient computation has been modified by an "
                                   f"inplace operation: [{t.dtype} tensor {list(t.shape)}]{producer} is at version "
                                   f"{now}; expected version {then} instead.")
            out.append(t)
        return tuple(out)

    saved_variables = saved_tensors

    def mark_dirty(self, *tensors) -> None:
        """The inputs ``tensors`` were modified in place by forward (and are returned as outputs)."""
        self._dirty = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """These outputs need no gradient (their gradient in backward is zeros, or None)."""
        self._non_differentiable = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """False: gradients of outputs that were not used arrive as None instead of zeros."""
        self.materialize_grads = bool(value)


class Function:
    """Base class of custom autograd operations (``torch.autograd.Function``); see the module's docstring."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def __call__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is deprecated. Please use "
                           "new-style autograd function with static forward method. (Example: "
                           "https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs: tuple, output) -> None:
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @staticmethod
    def vjp(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("eigengrad has no forward-mode AD: jvp is not supported")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` and, when an input requires grad (grad mode on), record the call."""
        setup = cls.setup_context is not Function.setup_context
        if kwargs or setup:
            args = _bind(cls.forward, args, kwargs, skip_ctx=not setup)
        tensor_type = _tensor_type()
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, tensor_type) and a.requires_grad for a in args)
        record = _grad_state.enabled and any(ctx.needs_input_grad)
        with no_grad():
            if setup:
                output = cls.forward(*args)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args)
        return _wrap_outputs(cls, ctx, args, output, record)


def _bind(forward, args: tuple, kwargs: dict, skip_ctx: bool) -> tuple:
    """Keyword arguments bound into positions by forward's signature, defaults applied (PyTorch's apply)."""
    signature = inspect.signature(forward)
    if skip_ctx:
        params = list(signature.parameters.values())[1:]
        signature = signature.replace(parameters=params)
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    return tuple(bound.args)


def _wrap_outputs(cls, ctx: FunctionCtx, args: tuple, output, record: bool):
    tensor_type = _tensor_type()
    is_tuple = isinstance(output, tuple)
    outs = list(output) if is_tuple else [output]
    dirty = {id(t) for t in ctx._dirty}  # their in-place change in forward already counted in their version
    for t in ctx._dirty:
        if not any(t is a for a in args):
            raise RuntimeError("mark_dirty: only inputs of forward can be marked dirty")
    if not record:
        _save(ctx)
        return output
    non_diff = {id(t) for t in ctx._non_differentiable}
    inputs = tuple(a if isinstance(a, tensor_type) else None for a in args)
    node = CustomFunctionNode.node(inputs, fn=cls, fctx=ctx, n_outputs=len(outs))
    metas, differentiable = [], []
    for i, o in enumerate(outs):
        if not isinstance(o, tensor_type):
            metas.append(None)
            continue
        if id(o) not in dirty and any(o is a for a in args):  # an input returned as it is: a new alias
            alias = tensor_type._wrap(o._data)
            alias._counter = counter_of(o)
            o = outs[i] = alias
        metas.append((o.shape, o.dtype))
        if o.dtype.kind == "f" and id(o) not in non_diff:
            differentiable.append(i)
    node.metas = metas
    packed = None
    if len(outs) > 1:
        packed = tensor_type._wrap(np.zeros(0))
        packed._requires_grad, packed._ctx = True, node
        node.buffer = [None] * len(outs)
    for i in differentiable:
        o = outs[i]
        out_node = node if packed is None else OutputOf.node((packed,), index=i)
        if id(o) in dirty:
            _rebase_dirty(o, out_node)
        else:
            o._requires_grad, o._ctx = True, out_node
    _save(ctx)
    return tuple(outs) if is_tuple else outs[0]


def _rebase_dirty(t, out_node) -> None:
    """An input changed in place by forward: it takes ``out_node`` as its history (through its base if a view)."""
    if t._ctx is None and t.requires_grad:  # (PyTorch's message here is in the past tense)
        raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
    if t._view is not None:
        result = _tensor_type()._wrap(t._data)
        result._requires_grad, result._ctx = True, out_node
        views.rebase_through_view(t, result)
    else:
        t._requires_grad, t._ctx = True, out_node


def _save(ctx: FunctionCtx) -> None:
    """Note the version of every saved tensor (after the outputs were set up, as PyTorch)."""
    if ctx._to_save is not None:
        ctx._saved = tuple(None if t is None else (t, version_of(t)) for t in ctx._to_save)


class FunctionName(NodeName):
    """A custom Function's node name: called, PyTorch's ``grad_fn.name()`` for it, ``"<Name>Backward"`` (no
    ``0``, unlike the built-in ops' nodes)."""

    def __call__(self) -> str:
        return f"{self}Backward"


class OutputOf(Primitive):
    """The node of output ``index`` of a custom Function with several outputs: files the gradient in the
    Function's node and passes it an empty placeholder gradient. Named after the Function, as PyTorch
    names every output's grad_fn."""

    @property
    def name(self) -> NodeName:
        packed = self.inputs[0] if self.inputs else None
        return packed._ctx.name if packed is not None and packed._ctx is not None else FunctionName("OutputOf")

    @staticmethod
    def forward(ctx, packed, index=0):
        raise RuntimeError("OutputOf is recorded by custom Functions, not applied")

    @staticmethod
    def backward(ctx, g):
        node = ctx.inputs[0]._ctx
        prev = node.buffer[ctx.index]
        node.buffer[ctx.index] = g if prev is None else prev + g
        placeholder = np.zeros(0)
        return (_tensor_type()._wrap(placeholder) if _grad_state.enabled else placeholder,)

    backward_graph = backward


class CustomFunctionNode(Primitive):
    """The recorded call of a custom Function (PyTorch's ``<Name>Backward``): its backward calls the user's
    backward with Tensors, in grad mode under create_graph."""

    @property
    def name(self) -> NodeName:
        return FunctionName(self.fn.__name__ if "fn" in self.__dict__ else "CustomFunction")

    @staticmethod
    def forward(ctx, *arrays):
        raise RuntimeError("CustomFunctionNode is recorded by Function.apply, not applied")

    @staticmethod
    def backward(node, g):
        grads = _user_backward(node, g)
        return tuple(None if x is None else x._data for x in grads)

    @staticmethod
    def backward_graph(node, g):
        return _user_backward(node, g)

    def release(self) -> None:
        fctx = self.__dict__.get("fctx")
        if fctx is not None:
            fctx._saved, fctx._to_save = False, None
        super().release()


def _user_backward(node, g) -> tuple:
    tensor_type = _tensor_type()
    fctx = node.fctx
    if node.n_outputs > 1:
        grads, node.buffer = node.buffer, [None] * node.n_outputs
    else:
        grads = [g]
    wrapped = []
    for gr, meta in zip(grads, node.metas):
        if gr is None and meta is not None and fctx.materialize_grads:
            gr = np.zeros(*meta)
        wrapped.append(gr if gr is None or isinstance(gr, tensor_type) else tensor_type._wrap(gr))
    backward = node.fn.backward if node.fn.backward is not Function.backward else node.fn.vjp
    result = backward(fctx, *wrapped)
    result = result if isinstance(result, tuple) else (result,)
    return _check_grads(node, result)


def _check_grads(node, result: tuple) -> tuple:
    """One gradient per input (extra trailing Nones allowed), a Tensor of the input's shape (a broadcast
    gradient is summed back, as PyTorch's validate_outputs)."""
    tensor_type = _tensor_type()
    count, name = len(node.inputs), node.name + "Backward"
    if len(result) < count or any(r is not None for r in result[count:]):
        raise RuntimeError(f"function {name} returned an incorrect number of gradients (expected {count}, got "
                           f"{len(result)})")
    out = []
    for i, (r, t) in enumerate(zip(result, node.inputs)):
        if r is None or not node.needs_input_grad[i]:
            if r is not None and t is None:
                raise RuntimeError(f"function {name} returned a gradient different than None at position {i + 1}, "
                                   "but the corresponding forward input was not a Variable")
            out.append(None)
            continue
        if not isinstance(r, tensor_type):
            r = tensor_type._wrap(np.asarray(r, dtype=t.dtype))
        if r.shape != t.shape:
            if not _expandable(t.shape, r.shape):
                raise RuntimeError(f"Function {name} returned an invalid gradient at index {i} - got {list(r.shape)} "
                                   f"but expected shape compatible with {list(t.shape)}")
            r = _sum_to(r, t.shape)
        out.append(r)
    return tuple(out)


def _expandable(shape: tuple, target: tuple) -> bool:
    """``shape`` broadcasts to ``target``."""
    if len(shape) > len(target):
        return False
    return all(s == d or s == 1 for s, d in zip(shape[::-1], target[::-1]))


def _sum_to(r, shape: tuple):
    if r.requires_grad:
        from eigengrad.autograd.ops import sum_to

        return sum_to(r, shape)
    return _tensor_type()._wrap(unbroadcast(r._data, shape))


def once_differentiable(fn):
    """Decorate a custom Function's backward that is not itself differentiable: it runs without recording,
    and differentiating its result again raises (PyTorch's ``once_differentiable``)."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        tensor_type = _tensor_type()
        sources = tuple(a for a in args if isinstance(a, tensor_type) and a.requires_grad)
        if not _grad_state.enabled or not sources:
            return outputs
        single = not isinstance(outputs, tuple)
        outputs = (outputs,) if single else outputs
        # PyTorch's DelayedError: one node whose inputs are detached copies of the outputs that require grad
        # (fake leaves), so the node leads to no input: autograd.grad w.r.t. the Function's inputs prunes it
        # (None with allow_unused), and only a backward() that runs it raises
        fakes = []
        for o in outputs:
            if isinstance(o, tensor_type):
                fake = tensor_type._wrap(o._data)
                fake._requires_grad = True
                fakes.append(fake)
        node = OnceDifferentiable.node(tuple(fakes), op=getattr(fn, "__qualname__", "backward"),
                                       message="trying to differentiate twice a function that was marked with "
                                               "@once_differentiable")
        wrapped = []
        for o in outputs:
            if isinstance(o, tensor_type):
                o = tensor_type._wrap(o._data)
                o._requires_grad = True
                o._ctx = node
            wrapped.append(o)
        return wrapped[0] if single else tuple(wrapped)

    return wrapper
