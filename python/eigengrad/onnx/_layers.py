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
    to its size (N and C taken from the input, so the batch may stay dynamic). Also ``F.interpolate`` /
    ``F.upsample``, whose options have the module's names."""
    m = a.op.fn
    ndim = len(a.ref(0).shape)
    mode = {"bilinear": "linear"}.get(m.mode, m.mode)
    key = (mode, bool(m.align_corners) if mode == "linear" else None)
    if key not in _RESIZE or ndim not in (3, 4):
        raise ExportError(f"{type(m).__name__}: mode {m.mode!r} on {ndim}-D input has no ONNX export "
                          "(nearest, nearest-exact, linear/bilinear do)")
    if getattr(m, "antialias", False):
        raise ExportError("interpolate with antialias=True has no ONNX Resize form")
    x, dt = a.x(0), np.float32
    if m.scale_factor is not None and not getattr(m, "recompute_scale_factor", None):
        factors = tuple(m.scale_factor) if isinstance(m.scale_factor, (tuple, list)) else (m.scale_factor,) * (ndim - 2)
        scales = a.g.const(np.asarray((1.0, 1.0) + tuple(factors), dt), "scales")
        y = a.g.node("Resize", [x, "", scales], **_RESIZE[key])
    else:
        lead = a.g.node("Slice", [a.g.node("Shape", [x]), a.g.ints([0]), a.g.ints([2])])
        sizes = a.g.node("Concat", [lead, a.g.ints(a.ref(a.n_in).shape[2:])], axis=0)
        y = a.g.node("Resize", [x, "", "", sizes], **_RESIZE[key])
    a.out(0, y)


# --- padding (F.pad, a convolution's padding_mode) ----------------------------------------------------

_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge"}
_END = np.iinfo(np.int64).max  # Slice's "to the end"


def pad(a) -> None:
    """``F.pad(input, pad, mode, value)``: pad = (left, right) of the last dim, then the dim before, ..."""
    o, ndim = a.op.fn, len(a.ref(0).shape)
    amounts = [int(v) for v in o.pad]
    pairs = [(ndim - 1 - i, amounts[2 * i], amounts[2 * i + 1]) for i in range(len(amounts) // 2)]
    a.out(0, _padded(a, a.x(0), ndim, pairs, o.mode, 0.0 if o.value is None else float(o.value)))


def pad2d(a) -> None:
    """A convolution's padding_mode: (top, bottom, left, right) of the last two dims."""
    o, ndim = a.op.fn, len(a.ref(0).shape)
    top, bottom, left, right = (int(v) for v in o.padding)
    a.out(0, _padded(a, a.x(0), ndim, [(ndim - 2, top, bottom), (ndim - 1, left, right)], o.mode, 0.0))


def _padded(a, x: str, ndim: int, pairs: list, mode: str, value: float) -> str:
    """x padded as eigengrad's F.pad pads (negative amounts crop): Pad for constant, reflect and replicate
    (which pad the whole input, then crop), slices and a concat per dim for circular (which crops first;
    Pad's 'wrap' needs opset 19)."""
    if mode == "circular":
        x = _cropped(a, x, pairs)
        for d, lo, hi in pairs:
            lo, hi = max(lo, 0), max(hi, 0)
            parts = ([_slice(a, x, d, -lo, _END)] if lo else []) + [x] + ([_slice(a, x, d, 0, hi)] if hi else [])
            x = a.g.node("Concat", parts, axis=d) if len(parts) > 1 else x
        return x
    if mode not in _PAD_MODES:
        raise ExportError(f"padding mode {mode!r} has no ONNX export")
    begins, ends = [0] * ndim, [0] * ndim
    for d, lo, hi in pairs:
        begins[d], ends[d] = max(lo, 0), max(hi, 0)
    if any(begins) or any(ends):
        fill = a.g.const(np.asarray(value, dtype=a.dtype(0)), "pad_value")
        x = a.g.node("Pad", [x, a.g.ints(begins + ends), fill], mode=_PAD_MODES[mode])
    return _cropped(a, x, pairs)


def _cropped(a, x: str, pairs: list) -> str:
    """x without what the negative padding amounts remove."""
    for d, lo, hi in pairs:
        if lo < 0 or hi < 0:
            x = _slice(a, x, d, -min(lo, 0), min(hi, 0) if hi < 0 else _END)
    return x


def _slice(a, x: str, axis: int, start: int, end: int) -> str:
    return a.g.node("Slice", [x, a.g.ints([start]), a.g.ints([end]), a.g.ints([axis])])


# --- RMSNorm, LocalResponseNorm ---------------------------------------------------------------------

def rms_norm(a) -> None:
    """y = x / sqrt(mean(x^2) + eps) (* weight), the mean over ``normalized_shape``'s dims (Zhang & Sennrich,
    2019); eps None is the dtype's machine epsilon, as PyTorch's. ReduceSum (its axes an input since opset
    13) times 1/n, so any opset from 17 reads it."""
    m, ndim, dt = a.op.fn, len(a.ref(0).shape), a.dtype(0)
    shape = tuple(m.normalized_shape)
    axes = list(range(ndim - len(shape), ndim))
    eps = float(np.finfo(dt).eps) if m.eps is None else float(m.eps)
    x = a.x(0)
    total = a.g.node("ReduceSum", [a.g.node("Mul", [x, x]), a.g.ints(axes)], keepdims=1)
    mean = a.g.node("Mul", [total, a.g.const(np.asarray(1.0 / int(np.prod(shape)), dtype=dt), "inv_n")])
    y = a.g.node("Div", [x, a.g.node("Sqrt", [a.g.node("Add", [mean, a.g.const(np.asarray(eps, dtype=dt), "eps")])])])
    if m.weight is not None:
        y = a.g.node("Mul", [y, a.g.const(np.array(m.weight._data, copy=True), "w")])
    a.out(0, y)


def local_response_norm(a) -> None:
    """ONNX's LRN is PyTorch's for an odd size (the window centred on the channel); for an even size PyTorch's
    window takes the extra channel before, ONNX's after."""
    m = a.op.fn
    if m.size % 2 == 0:
        raise ExportError(f"LocalResponseNorm of even size {m.size}: ONNX's LRN centres an even window one channel "
                          "later than PyTorch's; odd sizes export")
    ndim = len(a.ref(0).shape)
    if ndim < 3:
        raise ExportError(f"LocalResponseNorm: only (N, C, *) input exports; got shape {a.ref(0).shape}")
    x = a.x(0)
    planes = x if ndim == 4 else a.g.node("Reshape", [x, a.g.ints([0, 0, -1, 1])])  # (onnxruntime's LRN: 4-D only)
    y = a.g.node("LRN", [planes], size=int(m.size), alpha=float(m.alpha), beta=float(m.beta), bias=float(m.k))
    a.out(0, y if ndim == 4 else a.g.node("Reshape", [y, a.g.node("Shape", [x])]))
