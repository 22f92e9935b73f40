"""``torch.onnx``'s names, so scripts that import it run (pytorch/examples' word language model imports it
at the top). Exporting is not built yet (issue 19 exports a traced step to ONNX): ``export`` raises
NotImplementedError saying so; ``is_in_onnx_export`` is False."""
from __future__ import annotations


def export(model, args=(), f=None, *more, **kwargs):
    raise NotImplementedError("torch.onnx.export: eigengrad cannot export ONNX files yet (the static-graph "
                              "tracer of eigengrad.compile will); save the weights with eigengrad.save instead")


def is_in_onnx_export() -> bool:
    return False


def dynamo_export(*args, **kwargs):
    export(*args, **kwargs)


class OperatorExportTypes:
    ONNX = 0
    ONNX_ATEN = 1
    ONNX_ATEN_FALLBACK = 2
    ONNX_FALLTHROUGH = 3


class TrainingMode:
    EVAL = 0
    PRESERVE = 1
    TRAINING = 2
