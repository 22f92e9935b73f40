"""More layers exported as one op each: GroupNorm, InstanceNorm1d/2d, ConvTranspose1d/2d, Upsample.

Their kernels are not among those ``eg.compile`` records, so the export maps the module (``_trace.MODULE_OPS``).
GroupNorm (Wu & He, 2018) is InstanceNormalization over the input viewed as (N, groups, -1), then the
per-channel affine (opset 17 has no GroupNormalization with PyTorch's per-channel scale).
"""
from __future__ import annotations

import numpy as np

from eigengrad.onnx._trace import ExportError


def _channel(a, t, ndim: int) -> str:
    """A per-channel parameter (C,) shaped (C, 1, ...) to broadcast over an (N, C, *) input."""
    return a.g.const(np.array(t._data, copy=True).reshape((-1,) + (1,) * (ndim - 2)), "p")


def _affine(a, m, y: str, ndim: int) -> str:
    if m.weight is not None:
        y = a.g.node("Mul", [y, _channel(a, m.weight, ndim)])
    if m.bias is not None:
        y = a.g.node("Add", [y, _channel(a, m.bias, ndim)])
    return y


def group_norm(a) -> None:
    m, ndim = a.op.fn, len(a.ref(0).shape)
    x, g, dt = a.x(0), m.num_groups, a.dtype(0)
    grouped = a.g.node("Reshape", [x, a.g.ints([0, g, -1])])
    y = a.g.node("InstanceNormalization", [grouped, a.g.const(np.ones(g, dt), "one"), a.g.const(np.zeros(g, dt), "zero")],
                 epsilon=float(m.eps))
    a.out(0, _affine(a, m, a.g.node("Reshape", [y, a.g.node("Shape", [x])]), ndim))


def instance_norm(a) -> None:
    m, ndim = a.op.fn, len(a.ref(0).shape)
    if ndim != m._no_batch_dim + 1:
        raise ExportError(f"{type(m).__name__}: only batched input exports; got shape {a.ref(0).shape}")
    x, c, dt = a.x(0), a.ref(0).shape[1], a.dtype(0)
    if m.track_running_stats:  # eval: the running statistics, as BatchNorm
        ones, zeros = np.ones(c, dt), np.zeros(c, dt)
        scale = ones if m.weight is None else np.array(m.weight._data, copy=True)
        bias = zeros if m.bias is None else np.array(m.bias._data, copy=True)
        inputs = [x] + [a.g.const(v, "bn") for v in (scale, bias, m.running_mean._data, m.running_var._data)]
        a.out(0, a.g.node("BatchNormalization", inputs, epsilon=float(m.eps)))
        return
    y = a.g.node("InstanceNormalization", [x, a.g.const(np.ones(c, dt), "one"), a.g.const(np.zeros(c, dt), "zero")],
                 epsilon=float(m.eps))
    a.out(0, _affine(a, m, y, ndim))


def conv_transpose(a) -> None:
    m, structure = a.op.fn, a.op.kwargs["structure"]
    args, kwargs = structure
    if len(args) > 1 or kwargs.get("output_size") is not None or m.padding_mode != "zeros":
        raise ExportError(f"{type(m).__name__}: export takes the input alone (no output_size), zero padding")
    n = len(m.kernel_size)
    if len(a.ref(0).shape) != n + 2:
        raise ExportError(f"{type(m).__name__}: only batched input exports; got shape {a.ref(0).shape}")
    inputs = [a.x(0), a.g.const(np.array(m.weight._data, copy=True), "w")]
    if m.bias is not None:
        inputs.append(a.g.const(np.array(m.bias._data, copy=True), "b"))
    a.out(0, a.g.node("ConvTranspose", inputs, kernel_shape=list(m.kernel_size), strides=list(m.stride),
                      pads=list(m.padding) * 2, output_padding=list(m.output_padding), dilations=list(m.dilation),
                      group=int(m.groups)))


_RESIZE = {  # PyTorch's mode (and align_corners) -> Resize's attributes
    ("nearest", None): dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
    ("nearest-exact", None): dict(mode="nearest", coordinate_transformation_mode="half_pixel",
                                  nearest_mode="round_prefer_ceil"),
    ("linear", False): dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel"),
    ("linear", True): dict(mode="linear", coordinate_transformation_mode="align_corners"),
}


def upsample(a) -> None:
    """Resize: by the module's scale factors when given (PyTorch maps coordinates with 1/scale_factor), else
    to its size (N and C taken from the input, so the batch may stay dynamic)."""
    m = a.op.fn
    ndim = len(a.ref(0).shape)
    mode = {"bilinear": "linear"}.get(m.mode, m.mode)
    key = (mode, bool(m.align_corners) if mode == "linear" else None)
    if key not in _RESIZE or ndim not in (3, 4):
        raise ExportError(f"{type(m).__name__}: mode {m.mode!r} on {ndim}-D input has no ONNX export "
                          "(nearest, nearest-exact, linear/bilinear do)")
    x, dt = a.x(0), np.float32
    if m.scale_factor is not None and not m.recompute_scale_factor:
        factors = m.scale_factor if isinstance(m.scale_factor, tuple) else (m.scale_factor,) * (ndim - 2)
        scales = a.g.const(np.asarray((1.0, 1.0) + tuple(factors), dt), "scales")
        y = a.g.node("Resize", [x, "", scales], **_RESIZE[key])
    else:
        lead = a.g.node("Slice", [a.g.node("Shape", [x]), a.g.ints([0]), a.g.ints([2])])
        sizes = a.g.node("Concat", [lead, a.g.ints(a.ref(a.n_in).shape[2:])], axis=0)
        y = a.g.node("Resize", [x, "", "", sizes], **_RESIZE[key])
    a.out(0, y)
