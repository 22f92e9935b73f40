"""The export trace: ``eg.compile``'s recorder run over a module's eval forward, plus *module ops*.

The kernel calls of the forward are recorded exactly as ``eg.compile`` records them (``compile/recorder``):
every array argument a reference into a parameter, a module buffer, an input or an earlier kernel's output.
Some layers compute in NumPy between kernels (softmax, SiLU, the recurrent layers' stacking, embeddings'
indexing), which the recorder cannot see; for those (``MODULE_OPS``) the export records the whole module
call as one op (its input and output arrays, the module itself) and does not record what runs inside it.
"""
from __future__ import annotations

import functools
import importlib
import inspect
import threading
import types

import numpy as np

from eigengrad.compile import roles as _roles
from eigengrad.compile.recorder import Op, Tracer, recording

# modules exported as one op each (their ONNX form is in ``_modules``); kernel-only modules (Linear, Conv2d,
# pooling, norms, activations with a kernel) need no entry: their kernel calls are recorded
MODULE_OPS = ("Softmax", "LogSoftmax", "Softmin", "SiLU", "Mish", "Hardswish", "Hardsigmoid", "ReLU6", "Hardtanh",
              "Softsign", "Embedding", "RNN", "LSTM", "GRU", "PReLU", "MultiheadAttention", "TransformerEncoderLayer",
              "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "ConvTranspose1d", "ConvTranspose2d", "Upsample",
              "UpsamplingNearest2d", "UpsamplingBilinear2d", "RMSNorm", "LocalResponseNorm", "LogSigmoid", "Softshrink",
              "Hardshrink", "Threshold")


class ExportError(ValueError):
    """The model cannot be exported: names the operation, module or view that has no ONNX form."""


@functools.lru_cache(maxsize=1)
def _numpy_forms() -> dict:
    """NumPy functions run through ``numpy_call`` that have an ONNX form -> the op recorded: "Constant" for a
    value made from Python arguments alone (recorded only when no array goes in; the random factories are
    not listed: their values are draws, not constants), None for a check of values (nothing to export)."""
    from eigengrad.autograd.ops import _checked
    from eigengrad.nn._functional_mha import _bool_to_additive
    from eigengrad.nn.modules.transformer import _causal_mask
    from eigengrad.tensor_ops.creation import _arange, _linspace

    constants = (np.zeros, np.ones, np.full, np.eye, _arange, _linspace, _causal_mask)
    return {**{fn: "Constant" for fn in constants}, _checked: None, _bool_to_additive: "MaskToAdditive"}


class ExportTracer(Tracer):
    """A Tracer whose unsupported kernels name ONNX export, with ``module_op`` for ``MODULE_OPS``."""

    opaque = False  # a primitive computed in NumPy has no ONNX form

    def record(self, table: str, name: str, fn, args: tuple, kwargs: dict) -> None:
        if self.active() and (_roles.roles_of(_roles.COMPILED if table == "C" else _roles.GLUE, name, args) is None
                              and not (table == "C" and name in _roles.PURE)):
            self.fail(f"the kernel {name!r} has no ONNX export yet")
            return
        super().record(table, name, fn, args, kwargs)

    def primitive_forward(self, cls, ctx, arrays: list, options: dict, keep: bool):
        """NumPy code behind ``numpy_call`` (``_numpy_forms``): a constant the forward makes from Python values
        (a causal mask, ``zeros``), a value check (nothing to export) or a function with an ONNX form (a bool
        mask made additive), each recorded as a module op; anything else is left to fail where it is read."""
        from eigengrad.autograd.ops import NumpyCall
        from eigengrad.tensor import Tensor

        if cls is not NumpyCall or not self.active():
            return super().primitive_forward(cls, ctx, arrays, options, keep)
        out = cls.forward(ctx, *arrays, **options)
        form = _numpy_forms().get(options.get("fn"))
        given = [a for a in arrays if isinstance(a, np.ndarray)]
        if form == "Constant" and not given:
            self.module_op(types.SimpleNamespace(value=np.array(out, copy=True)), (), {}, form, Tensor._wrap(out))
        elif form is not None and form != "Constant":
            self.module_op(types.SimpleNamespace(), tuple(Tensor._wrap(a) for a in given), {}, form, Tensor._wrap(out))
        return out

    def module_op(self, module, args: tuple, kwargs: dict, name: str, output) -> None:
        """Record ``output = module(*args)`` as the op ``name``: inputs read, outputs written (tensors flattened)."""
        if not self.active():
            return
        index = len(self.ops)
        what = f"an input of {name}"
        ins = [self._array(t._data, "r", index, what) for t in _tensors((args, kwargs))]
        if self.failed is not None:
            return
        outs = [self._array(t._data, "w", index, f"an output of {name}") for t in _tensors(output)]
        if self.failed is not None:
            return
        op = Op("module", name, module, ins + outs)
        op.kwargs = {"n_in": len(ins), "structure": _structure((args, kwargs))}
        self.ops.append(op)


def _tensors(obj) -> list:
    """The tensors in a nested tuple/list/dict of arguments, in order (None and Python values skipped)."""
    from eigengrad.tensor import Tensor

    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for x in obj for t in _tensors(x)]
    if isinstance(obj, dict):
        return [t for x in obj.values() for t in _tensors(x)]
    return []


def _contiguous(obj):
    """``obj`` with every tensor replaced by a C-contiguous copy (no grad: the export runs under no_grad)."""
    from eigengrad.tensor import Tensor

    if isinstance(obj, Tensor):
        return Tensor._wrap(np.array(obj._data, copy=True, order="C"))
    if isinstance(obj, (tuple, list)):
        return type(obj)(_contiguous(x) for x in obj)
    return obj


def _structure(obj):
    """The arguments with each tensor replaced by "T" (so a mapping knows which optional inputs were given)."""
    from eigengrad.tensor import Tensor

    if isinstance(obj, Tensor):
        return "T"
    if isinstance(obj, (tuple, list)):
        return tuple(_structure(x) for x in obj)
    if isinstance(obj, dict):
        return {k: _structure(v) for k, v in obj.items()}
    return obj


# functional forms of module ops and the tensor arithmetic a forward uses, recorded the same way as module ops:
# (where the function lives, its name, the op, the function that runs instead or None)
_T = "eigengrad.tensor:Tensor"
# elementwise tensor methods and eigengrad functions of a custom forward -> the ONNX op of each
UNARY = {"exp": "Exp", "log": "Log", "sqrt": "Sqrt", "abs": "Abs", "__abs__": "Abs", "neg": "Neg", "__neg__": "Neg",
         "negative": "Neg", "tanh": "Tanh", "sigmoid": "Sigmoid", "reciprocal": "Reciprocal", "sin": "Sin",
         "cos": "Cos", "erf": "Erf", "floor": "Floor", "ceil": "Ceil", "relu": "Relu"}


FUNCTION_OPS = (("eigengrad.nn.functional", "softmax", "Softmax", None),
                ("eigengrad.nn.functional", "log_softmax", "LogSoftmax", None),
                ("eigengrad.nn.functional", "softmin", "Softmin", None), ("eigengrad.nn.functional", "silu", "SiLU", None),
                ("eigengrad", "softmax", "Softmax", None), ("eigengrad", "log_softmax", "LogSoftmax", None),
                (_T, "softmax", "Softmax", None), (_T, "log_softmax", "LogSoftmax", None),
                ("eigengrad", "cat", "Concat", None), ("eigengrad", "concat", "Concat", None),
                ("eigengrad.nn.functional", "hardtanh", "Hardtanh", None), ("eigengrad.nn.functional", "relu6", "ReLU6", None),
                (_T, "clamp", "Clamp", None), (_T, "clip", "Clamp", None), ("eigengrad", "clamp", "Clamp", None),
                ("eigengrad", "clip", "Clamp", None),
                (_T, "__add__", "Add", None), (_T, "__radd__", "Add", None), (_T, "__sub__", "Sub", None),
                (_T, "__rsub__", "RSub", None), (_T, "__mul__", "Mul", None), (_T, "__rmul__", "Mul", None),
                (_T, "__truediv__", "Div", None), (_T, "__rtruediv__", "RDiv", None),
                # x += y (a ResNet block's residual): out of place during the export, as ``x = x + y``
                (_T, "__iadd__", "Add", "__add__"), (_T, "__isub__", "Sub", "__sub__"),
                (_T, "__imul__", "Mul", "__mul__"), (_T, "__itruediv__", "Div", "__truediv__"),
                ("eigengrad.nn.functional", "interpolate", "Upsample", None),
                ("eigengrad.nn.functional", "upsample", "Upsample", None),
                # padding: F.pad (the padding layers), a convolution's padding_mode
                ("eigengrad.nn.functional", "pad", "Pad", None), ("eigengrad.nn._functional_conv", "pad2d", "Pad2d", None),
                # a custom forward's tensor operations (hand-written attention, x ** 2, x.exp(), ...)
                *[(where, attr, op, None) for attr, op in UNARY.items() for where in (_T, "eigengrad")],
                (_T, "rsqrt", "Rsqrt", None), ("eigengrad", "rsqrt", "Rsqrt", None),
                (_T, "__matmul__", "MatMul", None), (_T, "matmul", "MatMul", None), ("eigengrad", "matmul", "MatMul", None),
                (_T, "__pow__", "Pow", None), (_T, "pow", "Pow", None), ("eigengrad", "pow", "Pow", None),
                (_T, "__rpow__", "RPow", None), (_T, "masked_fill", "MaskedFill", None),
                ("eigengrad", "masked_fill", "MaskedFill", None), ("eigengrad", "stack", "Stack", None),
                (_T, "contiguous", "Same", None), (_T, "clone", "Same", None),
                *[(_T, f"__{op.lower()}__", op, None) for op in ("Eq", "Ne", "Lt", "Le", "Gt", "Ge")],
                # TransformerEncoder's zeros at padded positions (PyTorch's nested-tensor path)
                ("eigengrad.nn.modules.transformer", "_zero_padded", "ZeroPadded", None))
_MISSING = object()


class _module_ops:
    """Context manager: every submodule of a ``MODULE_OPS`` type, and every call of a ``FUNCTION_OPS``
    function, runs with the recorder paused and is recorded as one op."""

    def __init__(self, model, tracer: ExportTracer) -> None:
        self.model, self.tracer = model, tracer
        self.patched: list = []
        self.inplace: list = []
        self.functions: list = []

    def __enter__(self):
        for m in self.model.modules():
            if type(m).__name__ in MODULE_OPS and type(m).__module__.startswith("eigengrad."):
                object.__setattr__(m, "forward", self._wrap(m.forward, lambda a, k, m=m: (m, a, k, type(m).__name__)))
                self.patched.append(m)
            if getattr(m, "inplace", False) is True:  # ReLU(inplace=True): the same values out of place (an
                m.inplace = False                      # in-place write under no_grad is invisible to the trace)
                self.inplace.append(m)
        for where, attr, name, instead in FUNCTION_OPS:
            module, _, cls = where.partition(":")
            owner = importlib.import_module(module)
            owner = getattr(owner, cls) if cls else owner
            if not hasattr(owner, attr):
                continue
            fn = getattr(owner, instead or attr)
            self.functions.append((owner, attr, vars(owner).get(attr, _MISSING)))
            setattr(owner, attr, self._wrap(fn, functools.partial(_function_call, inspect.signature(fn), name)))
        return self

    def _wrap(self, forward, describe):
        """``forward`` run paused; when the trace is active, recorded as the op ``describe(args, kwargs)``
        gives: (options object, tensor arguments, keyword arguments, op name)."""
        tracer = self.tracer

        def call(*args, **kwargs):
            if threading.get_ident() != tracer._thread:  # another thread's call: not part of the export
                return forward(*args, **kwargs)
            was_active = tracer.active()
            tracer._paused += 1
            try:
                out = forward(*args, **kwargs)
            finally:
                tracer._paused -= 1
            if was_active:
                out = _contiguous(out)  # fresh arrays (same values): later layers read them as plain arrays
                tracer.module_op(*describe(args, kwargs), out)
            return out

        return call

    def __exit__(self, *exc) -> None:
        for m in self.patched:
            m.__dict__.pop("forward", None)
        for m in self.inplace:
            m.inplace = True
        for owner, attr, saved in reversed(self.functions):
            if saved is _MISSING:
                delattr(owner, attr)
            else:
                setattr(owner, attr, saved)


def _function_call(signature, name: str, args: tuple, kwargs: dict) -> tuple:
    """A functional call as a module op: its non-tensor arguments as the options object."""
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    tensors = tuple(_tensors(list(bound.arguments.values())))
    options = types.SimpleNamespace(**{k: v for k, v in bound.arguments.items() if not _tensors(v)})
    return options, tensors, {}, name


def trace(model, inputs: list[np.ndarray]):
    """Run ``model`` (already in eval mode) on copies of ``inputs`` under no_grad while recording:
    (tracer, the flat list of output arrays, the output structure)."""
    import eigengrad as eg
    from eigengrad.tensor import Tensor

    persistent = [(p._data, name) for name, p in model.named_parameters()]
    persistent += [(b._data, name) for name, b in model.named_buffers()]
    own = [np.array(a, copy=True, order="C") for a in inputs]
    tracer = ExportTracer(persistent, own)
    # (inside ``recording``, which holds the process's trace lock: two exports patching the functions below at
    # once would save each other's wrappers and restore them in the wrong order, leaving one installed)
    with eg.no_grad(), recording(tracer), _module_ops(model, tracer):
        out = model(*[Tensor._wrap(a) for a in own])
    outputs = _tensors(out)
    if not outputs:
        raise ExportError(f"the model returned no tensor (got {type(out).__name__})")
    refs = [tracer.resolve_output(t._data) for t in outputs] if tracer.failed is None else []
    if tracer.failed is not None:
        reason = tracer.failed.replace("the step returns", "the model returns").replace("inside the step", "in the forward")
        raise ExportError(f"cannot export {type(model).__name__}: {reason}")
    tracer.finish()
    return tracer, refs, [t._data for t in outputs]
