"""ONNX export of a module's inference forward (``eg.onnx.export``; ``torch.onnx`` under eigengrad.compat).

``export(model, args, f)`` runs ``model`` once in eval mode under no_grad while ``eg.compile``'s recorder
records its kernel calls (the same trace a compiled forward replays), maps each recorded kernel to ONNX
nodes (``_ops``) and each layer the recorder cannot see inside (softmax, SiLU, RNN/LSTM/GRU, Embedding, ...:
``_modules``) to its ONNX operator, with the parameters as initializers, and writes the model (opset 17 or
later) atomically. A dynamic dimension (``dynamic_axes``, or ``dynamic_batch=True`` for dim 0) is found by
tracing a second time with that dimension one larger: the sizes that change are symbolic in the file.
An operation with no ONNX form raises ExportError (a ValueError) naming it; nothing is written then.
See docs/onnx.md. Needs the ``onnx`` package (``pip install "eigengrad[onnx]"``).
"""
from __future__ import annotations

import logging

from eigengrad.onnx._trace import ExportError

logger = logging.getLogger(__name__)

MIN_OPSET = 17
_EXPORTING = [False]


class OperatorExportTypes:
    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


class TrainingMode:
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2


# PyTorch's other export options: accepted, without effect here (its exporter's tuning, reports, dynamo)
_TORCH_OPTIONS = frozenset({"dynamo", "external_data", "dynamic_shapes", "custom_translation_table", "report", "optimize",
                            "profile", "dump_exported_program", "artifacts_dir", "keep_initializers_as_inputs",
                            "operator_export_type", "do_constant_folding", "custom_opsets",
                            "export_modules_as_functions", "autograd_inlining"})


def is_in_onnx_export() -> bool:
    """True while ``export`` traces a model (PyTorch's name)."""
    return _EXPORTING[0]


def _import_onnx():
    try:
        import onnx
    except ImportError as e:
        raise ImportError("eigengrad.onnx.export needs the onnx package: pip install onnx (or pip install "
                          "\"eigengrad[onnx]\")") from e
    return onnx


def export(model, args=(), f=None, *, input_names=None, output_names=None, dynamic_axes=None,
           opset_version: int | None = None, dynamic_batch: bool = False, training=TrainingMode.EVAL,
           export_params: bool = True, verify: bool = True, verbose: bool | None = None, kwargs=None, **ignored):
    """Write ``model``'s eval forward on ``args`` as an ONNX model to ``f`` (a path or a binary file
    object; None: only return it). Returns the ``onnx.ModelProto``.

    ``args``: a Tensor or a tuple of Tensors (the example inputs; their dtypes and, except for dynamic
    dimensions, their shapes are fixed in the file). ``input_names``/``output_names``: the graph's names
    (default ``input_0``..., ``output_0``...; a model returning a tuple, such as an LSTM's
    ``(output, (h_n, c_n))``, has one output per tensor, flattened in order). ``dynamic_axes``: PyTorch's
    ``{name: {axis: dim_name}}`` or ``{name: [axes]}``; ``dynamic_batch=True`` makes dim 0 of every input
    and output dynamic (named "batch"). ``opset_version``: at least 17 (the default). The model runs in
    eval mode (its training flags are restored after); ``training=TrainingMode.TRAINING`` is refused.
    ``verify`` (default True, unlike PyTorch's): the graph is run on the example inputs (onnxruntime, else
    onnx's reference evaluator) and must give the model's outputs, else ExportError and nothing is written.
    PyTorch's other options (``do_constant_folding``, ``dynamo``, ...) are accepted and have no effect;
    an unknown keyword is a TypeError.
    """
    unknown = sorted(set(ignored) - _TORCH_OPTIONS)
    if unknown:
        raise TypeError(f"export() got unexpected keyword arguments {unknown}")
    if ignored.get("dynamic_shapes") is not None:
        raise ValueError("dynamic_shapes: not supported by eigengrad's exporter; give dynamic_axes (or dynamic_batch=True)")
    onnx = _import_onnx()
    from eigengrad.nn.modules.module import Module

    if not isinstance(model, Module):
        raise TypeError(f"model: expected an eigengrad nn.Module, got {type(model).__name__}")
    if training == TrainingMode.TRAINING or training is True:
        raise ValueError("training: ONNX export is of the eval forward; got TrainingMode.TRAINING")
    if kwargs:
        raise ValueError("kwargs: keyword inputs to the model are not supported by eigengrad's ONNX export")
    if not export_params:
        raise ValueError("export_params=False is not supported: the parameters are written as initializers")
    inputs = _inputs(args)
    opset = _opset(onnx, opset_version)
    in_names = _names(input_names, len(inputs), "input", "input_names")
    dyn_in = _dynamic_inputs(dynamic_axes, dynamic_batch, in_names, inputs)
    from eigengrad.onnx import _build

    _EXPORTING[0] = True
    try:
        proto, traced, expected = _build.build(onnx, model, inputs, in_names, output_names, dyn_in, dynamic_axes,
                                               dynamic_batch, opset)
    finally:
        _EXPORTING[0] = False
    if verify:
        _build.verify(onnx, proto, in_names, traced, expected)
    if verbose:
        logger.info("eigengrad.onnx.export:\n%s", onnx.helper.printable_graph(proto.graph))
    if f is not None:
        _write(proto.SerializeToString(), f)
    return proto


def _inputs(args) -> list:
    from eigengrad.tensor import Tensor

    if isinstance(args, Tensor):
        args = (args,)
    if not isinstance(args, (tuple, list)) or not args:
        raise TypeError(f"args: expected a Tensor or a non-empty tuple of Tensors, got {type(args).__name__}")
    for i, a in enumerate(args):
        if not isinstance(a, Tensor):
            raise TypeError(f"args[{i}]: expected an eigengrad Tensor, got {type(a).__name__}")
    return [a._data for a in args]


def _opset(onnx, opset_version) -> int:
    if opset_version is None:
        return MIN_OPSET
    top = onnx.defs.onnx_opset_version()
    if isinstance(opset_version, bool) or not isinstance(opset_version, int) or not MIN_OPSET <= opset_version <= top:
        raise ValueError(f"opset_version: expected an int in [{MIN_OPSET}, {top}] (the installed onnx's newest), "
                         f"got {opset_version!r}")
    return opset_version


def _names(names, n: int, prefix: str, what: str) -> list:
    names = list(names or [])
    if len(names) > n or not all(isinstance(s, str) and s for s in names) or len(set(names)) != len(names):
        raise ValueError(f"{what}: expected at most {n} distinct non-empty strings, got {names!r}")
    return names + [f"{prefix}_{i}" for i in range(len(names), n)]


def _axes(spec, name: str) -> dict:
    if isinstance(spec, dict):
        return {int(k): str(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return {int(k): f"{name}_dynamic_axes_{int(k)}" for k in spec}
    raise TypeError(f"dynamic_axes[{name!r}]: expected a dict {{axis: name}} or a list of axes, got {type(spec).__name__}")


def _dynamic_inputs(dynamic_axes, dynamic_batch: bool, names: list, inputs: list) -> list:
    """Per input, {axis: dim_name} of its dynamic dimensions."""
    dyn = [{0: "batch"} if dynamic_batch and a.ndim > 0 else {} for a in inputs]
    if dynamic_axes is None:
        return dyn
    if not isinstance(dynamic_axes, dict):
        raise TypeError(f"dynamic_axes: expected a dict, got {type(dynamic_axes).__name__}")
    for i, (name, a) in enumerate(zip(names, inputs)):
        if name in dynamic_axes:
            axes = _axes(dynamic_axes[name], name)
            for k in axes:
                if not -a.ndim <= k < a.ndim:
                    raise ValueError(f"dynamic_axes[{name!r}]: axis {k} is out of range for an input of shape {a.shape}")
            dyn[i].update({k % a.ndim: v for k, v in axes.items()})
    return dyn


def _write(data: bytes, f) -> None:
    """Write to a binary file object, or atomically to a path (serialization's temporary file + os.replace)."""
    if hasattr(f, "write"):
        f.write(data)
        return
    from eigengrad.serialization import atomic_write_bytes

    atomic_write_bytes(f, data)


def dynamo_export(model, *args, **kwargs):
    """PyTorch's older entry point: ``export(model, args)`` (returns the ModelProto)."""
    return export(model, args, None, **kwargs)


__all__ = ["export", "is_in_onnx_export", "ExportError", "OperatorExportTypes", "TrainingMode", "dynamo_export"]
