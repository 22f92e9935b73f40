"""From a traced eval forward to an ``onnx.ModelProto``: trace (twice for dynamic dimensions), map every
op, name the inputs and outputs, check the model."""
from __future__ import annotations

import logging
import types

import numpy as np

from eigengrad.compile.recorder import Ref
from eigengrad.onnx import _modules, _ops
from eigengrad.onnx._graph import Graph
from eigengrad.onnx._trace import ExportError, trace

logger = logging.getLogger(__name__)


def _grown(inputs: list, dyn_in: list) -> list:
    """The inputs with every dynamic dimension one larger (its first slice repeated)."""
    out = []
    for a, axes in zip(inputs, dyn_in):
        for k in sorted(axes):
            if a.shape[k] == 0:
                raise ValueError(f"a dynamic dimension of size 0 (axis {k} of an input of shape {a.shape}) cannot "
                                 "be traced; give an example with at least one element there")
            a = np.concatenate([a, np.take(a, [0], axis=k)], axis=k)
        out.append(a)
    return out


def _run(model, inputs: list):
    """Trace ``model`` in eval mode, restoring every module's training flag after."""
    flags = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        return trace(model, inputs)
    finally:
        for m, t in flags:
            m.training = t


def _flags(ref, other) -> tuple:
    if other is None or not isinstance(ref, Ref):
        return tuple(False for _ in getattr(ref, "shape", ()))
    if not isinstance(other, Ref) or len(other.shape) != len(ref.shape):
        raise ExportError("the model ran different operations for another batch size (shape-dependent code)")
    return tuple(a != b for a, b in zip(ref.shape, other.shape))


def _signature(op) -> tuple:
    """What must be equal in both traces: the op, its module, each array's buffer, dtype and rank, the
    scalars (the sizes of dynamic dimensions may differ)."""
    def arg(a):
        if isinstance(a, Ref):
            return ("ref", a.buf, a.dtype.str, len(a.shape))
        if isinstance(a, list):
            return tuple(arg(x) for x in a)
        return ("value", repr(a))
    module = None
    if op.kind == "module":  # the same module object; a function's options by value
        module = repr(sorted(vars(op.fn).items())) if isinstance(op.fn, types.SimpleNamespace) else id(op.fn)
    return (op.kind, op.name, module, tuple(arg(a) for a in op.args), repr(op.kwargs))


def _pair(ops1: list, ops2) -> list:
    """Per op of the first trace, the dynamic flags of each argument (from the second trace's shapes)."""
    if ops2 is not None and [_signature(o) for o in ops1] != [_signature(o) for o in ops2]:
        raise ExportError("the model ran different operations for another size of a dynamic dimension: "
                          "its forward depends on that size, which a static ONNX graph cannot express")
    out = []
    for i, op in enumerate(ops1):
        other = ops2[i].args if ops2 is not None else [None] * len(op.args)
        out.append([_flags(a, b) for a, b in zip(op.args, other)])
    return out


def build(onnx, model, inputs, in_names, output_names, dyn_in, dynamic_axes, dynamic_batch, opset: int):
    if any(a.shape[k] == 1 for a, axes in zip(inputs, dyn_in) for k in axes):
        inputs = _grown(inputs, dyn_in)  # a dynamic dim of size 1 looks like a broadcast one: trace at 2
    tracer, outs, arrays = _run(model, inputs)
    second = None
    if any(dyn_in):
        second = _run(model, _grown(inputs, dyn_in))
        if len(second[1]) != len(outs):
            raise ExportError("the model returned a different number of tensors for another batch size")
    dyn_ops = _pair(tracer.ops, second[0].ops if second else None)
    g = Graph(onnx, tracer.buffers)
    helper = onnx.helper
    graph_inputs = []
    inputs_seen = 0
    for i, b in enumerate(tracer.buffers):
        if b.kind != "input":
            continue
        arr, name, axes = b.root, in_names[inputs_seen], dyn_in[inputs_seen]
        inputs_seen += 1
        ref = Ref(i, 0, arr.shape, arr.strides, arr.dtype, None)
        g.hold(ref, name, tuple(k in axes for k in range(arr.ndim)))
        graph_inputs.append(helper.make_tensor_value_info(name, g.elem_type(arr.dtype),
                                                          [axes.get(k, n) for k, n in enumerate(arr.shape)]))
    if inputs_seen != len(inputs):
        raise ExportError("two inputs of the model are the same array: give distinct tensors")
    for op, dyn in zip(tracer.ops, dyn_ops):
        if op.kind == "kernel":
            _ops.emit(g, op, dyn)
        elif op.kind == "module":
            _modules.emit(g, op, dyn)
        else:
            raise ExportError(f"the forward ran a {op.kind} step ({op.name}) that has no ONNX form (random draws "
                              "and optimizer steps belong to training)")
    out_names = _out_names(output_names, len(outs))
    graph_outputs = []
    for j, (ref, arr, name) in enumerate(zip(outs, arrays, out_names)):
        flags = _flags(ref, second[1][j] if second else None)
        value = g.read(ref, flags, f"output {j} of the model")
        g.nodes.append(helper.make_node("Identity", [value], [name]))
        axes = _out_axes(dynamic_axes, dynamic_batch, name, flags)
        graph_outputs.append(helper.make_tensor_value_info(name, g.elem_type(arr.dtype),
                                                           [axes.get(k, n) for k, n in enumerate(arr.shape)]))
    graph = helper.make_graph(g.nodes, type(model).__name__, graph_inputs, graph_outputs, g.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="eigengrad",
                              ir_version=helper.find_min_ir_version_for(opsets))
    onnx.checker.check_model(proto, full_check=True)
    return proto, inputs, arrays


def verify(onnx, proto, in_names: list, inputs: list, expected: list) -> None:
    """Run ``proto`` on the traced inputs (onnxruntime when installed, else onnx's reference evaluator) and
    raise ExportError when an output differs from eager mode's beyond float rounding: a graph that does not
    compute what the model computes is never written."""
    feeds = dict(zip(in_names, inputs))
    got = None
    try:
        import onnxruntime
    except ImportError:
        onnxruntime = None
    if onnxruntime is not None:
        try:
            session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
            got = session.run(None, feeds)
        except Exception as e:  # an opset or operator this onnxruntime lacks: the reference evaluator decides
            logger.debug("eigengrad.onnx.export: onnxruntime could not run the graph (%s); verifying with "
                         "onnx.reference", e)
    if got is None:
        from onnx.reference import ReferenceEvaluator

        got = ReferenceEvaluator(proto).run(None, feeds)
    for j, (g, w) in enumerate(zip(got, expected)):
        tol = (1e-3 if w.dtype.itemsize <= 4 else 1e-9) * max(1.0, float(np.max(np.abs(w), initial=0.0)))
        if g.shape != w.shape or not np.allclose(g, w, rtol=0.0, atol=tol, equal_nan=True):
            worst = float(np.max(np.abs(g - w), initial=0.0)) if g.shape == w.shape else float("nan")
            raise ExportError(f"the exported graph does not reproduce output {j} of the model (shape {g.shape} vs "
                              f"{w.shape}, largest difference {worst:.3g}): an operation of the forward escaped the "
                              "trace; nothing was written (verify=False skips this check)")


def _out_names(names, n: int) -> list:
    from eigengrad.onnx import _names

    return _names(names, n, "output", "output_names")


def _out_axes(dynamic_axes, dynamic_batch: bool, name: str, flags: tuple) -> dict:
    """The symbolic names of an output's dynamic dims: dynamic_axes' names, else 'batch' for dim 0, else
    '<name>_dim<k>' (found dynamic by the second trace)."""
    from eigengrad.onnx import _axes

    given = _axes(dynamic_axes[name], name) if dynamic_axes and name in dynamic_axes else {}
    axes = {}
    for k, d in enumerate(flags):
        if d or k in given:
            axes[k] = given.get(k, "batch" if k == 0 and dynamic_batch else f"{name}_dim{k}")
    return axes


