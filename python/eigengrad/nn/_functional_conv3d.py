"""3-D convolution and pooling (re-exported by ``eigengrad.nn.functional``): conv3d, max_pool3d, avg_pool3d,
adaptive_avg_pool3d, dropout3d, with PyTorch's arguments and output sizes. Inputs are (N, C, D, H, W) or
unbatched (C, D, H, W).

Each runs the 2-D kernels once per kernel depth: for kernel depth a, the input planes that tap a meets
(depth u s + a d, every output depth u at once) are folded into the batch, (N, C, D', H, W) -> (N D', C, H,
W), and the 2-D operation is applied; the per-tap results are summed (convolution, average) or reduced by a
max that keeps the first maximum (max pooling). So a 3-D layer costs kD calls of the 2-D kernels, and its
gradients are those of the 2-D kernels and the folds. The sums over the depth taps come last, so the
rounding differs from a direct 3-D loop by a few ulps.
"""
from __future__ import annotations

import numpy as np

from eigengrad._errors import ArgumentError
from eigengrad.autograd import ops_conv as C
from eigengrad.autograd.ops import numpy_call
from eigengrad.nn import _functional_conv as FC
from eigengrad.nn._functional_loss import _input as _float_tensor
from eigengrad.tensor import Tensor
from eigengrad.tensor_ops.index import take_along_dim
from eigengrad.tensor_ops.shape import stack


def _input(input, name: str = "input") -> Tensor:
    _float_tensor(input, name)
    if input.ndim not in (4, 5):
        raise ArgumentError(f"{name}: expected a 4-D (C, D, H, W) or 5-D (N, C, D, H, W) tensor, got shape "
                         f"{input.shape}")
    return input


def _batched(fn, input: Tensor):
    if input.ndim == 5:
        return fn(input)
    out = fn(input.unsqueeze(0))
    return tuple(t.squeeze(0) for t in out) if isinstance(out, tuple) else out.squeeze(0)


def _depth_taps(x: Tensor, taps: int, stride: int, dilation: int, out_depth: int):
    """For each tap a < taps, the planes a d, a d + s, ... (out_depth of them) folded into the batch:
    (N, C, D, H, W) -> (N out_depth, C, H, W)."""
    n, c, _, h, w = x.shape
    for a in range(taps):
        start = a * dilation
        planes = x[:, :, start:start + (out_depth - 1) * stride + 1:stride]
        yield planes.movedim(2, 1).reshape(n * out_depth, c, h, w)


def _unfold_batch(y: Tensor, n: int, out_depth: int) -> Tensor:
    """(N D', C', H', W') -> (N, C', D', H', W')."""
    return y.reshape((n, out_depth) + tuple(y.shape[1:])).movedim(1, 2)


def _pad_depth(x: Tensor, front: int, back: int, value: float) -> Tensor:
    if not front and not back:
        return x
    from eigengrad.nn._functional_pad import pad

    return pad(x, (0, 0, 0, 0, front, back), value=value)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """3-D cross-correlation, PyTorch's conv3d: with og = O / groups, cg = C / groups and x padded by zeros,

        y[i, q, t, u, v] = bias[q] + sum_{c, a, b, e} weight[q, c, a, b, e] x[i, (q // og) cg + c, t sD + a dD,
                                                                            u sH + b dH, v sW + e dW]

    input (N, C, D, H, W) or (C, D, H, W), weight (O, C / groups, kD, kH, kW); output sizes as conv2d's.
    ``padding``: int, triple, 'valid' or 'same'."""
    _input(input)
    groups = FC.check_conv(input, weight, bias, groups, 3)
    stride, dilation = FC._ntuple(stride, "stride", 3), FC._ntuple(dilation, "dilation", 3)
    pad = FC.conv_padding(padding, weight.shape[2:], stride, dilation)  # (front, back, top, bottom, left, right)

    def run(x: Tensor) -> Tensor:
        x = _pad_depth(x, pad[0], pad[1], 0.0)
        kd = weight.shape[2]
        out_depth = (x.shape[2] - dilation[0] * (kd - 1) - 1) // stride[0] + 1
        if out_depth < 1:
            raise ArgumentError(f"conv3d: Calculated padded input size per channel: ({x.shape[2]} x ...). Kernel "
                                f"size: ({dilation[0] * (kd - 1) + 1} x ...). Kernel size can't be greater than "
                                "actual input size")
        total = None
        for a, planes in enumerate(_depth_taps(x, kd, stride[0], dilation[0], out_depth)):
            y = C.Conv2d.apply(planes, weight[:, :, a], None, stride=stride[1:], padding=pad[2:],
                               dilation=dilation[1:], groups=groups)
            total = y if total is None else total + y
        out = _unfold_batch(total, x.shape[0], out_depth)
        return out if bias is None else out + bias.reshape(1, -1, 1, 1, 1)

    return _batched(run, input)


def _pool3d_args(kernel_size, stride, padding, dilation=1):
    k = FC._ntuple(kernel_size, "kernel_size", 3)
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else FC._ntuple(
        stride, "stride", 3)
    p = FC._ntuple(padding, "padding", 3, minimum=0)
    d = FC._ntuple(dilation, "dilation", 3)
    for ki, pi in zip(k, p):
        if pi > ki // 2:
            raise ArgumentError(f"pad should be at most half of effective kernel size, but got pad={pi}, "
                                f"kernel_size={ki} and dilation=1")
    return k, s, p, d


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output size (ceil: the last window must start inside the input or its left pad)."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _check_fits(x: Tensor, k: tuple, s: tuple, p: tuple, d: tuple, ceil_mode: bool) -> None:
    """PyTorch refuses a window that does not fit the (padded) input along some axis (an empty output)."""
    out = tuple(_pool_out(n, *args, ceil_mode) for n, args in zip(x.shape[2:], zip(k, s, p, d)))
    if min(out) < 1:
        raise ArgumentError(f"kernel_size: the window {k} (dilation {d}, padding {p}) does not fit the input volume "
                            f"{tuple(x.shape[2:])}: output {out} is too small")


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over 3-D windows (stride defaults to kernel_size), padding counted as -inf; the first maximum in
    (depth, row, column) order wins, as PyTorch. ``return_indices``: the flat index (d H + h) W + w."""
    if FC.integer_pooling(input):
        return FC.integer_max_pool(max_pool3d, input, 3, return_indices, kernel_size, stride, padding, dilation,
                                   ceil_mode)
    _input(input)
    k, s, p, d = _pool3d_args(kernel_size, stride, padding, dilation)

    def run(x: Tensor):
        depth = x.shape[2]
        _check_fits(x, k, s, p, d, bool(ceil_mode))
        out_depth = _pool_out(depth, k[0], s[0], p[0], d[0], bool(ceil_mode))
        back = max(0, (out_depth - 1) * s[0] + d[0] * (k[0] - 1) + 1 - depth - p[0])
        xp = _pad_depth(x, p[0], back, float("-inf"))
        values, where = [], []
        for a, planes in enumerate(_depth_taps(xp, k[0], s[0], d[0], out_depth)):
            pooled = FC.max_pool2d(planes, k[1:], s[1:], p[1:], d[1:], ceil_mode, return_indices=return_indices)
            if not return_indices:
                values.append(pooled)
                continue
            values.append(pooled[0])
            offsets = numpy_call(_depth_offsets, x.shape[0], out_depth, s[0], a * d[0] - p[0], x.shape[3] * x.shape[4])
            where.append(pooled[1] + Tensor._wrap(offsets))
        stacked = stack(values, 0)
        best = Tensor._wrap(numpy_call(_best_tap, stacked._data))  # (a compiled step picks again at every call)
        out = _unfold_batch(take_along_dim(stacked, best, 0).squeeze(0), x.shape[0], out_depth)
        if not return_indices:
            return out
        flat = take_along_dim(stack(where, 0), best, 0).squeeze(0)
        return out, _unfold_batch(flat, x.shape[0], out_depth)

    return _batched(run, input)


def _depth_offsets(batch: int, out_depth: int, stride: int, first: int, plane: int) -> np.ndarray:
    """The flat index of the first element of each output depth's input plane (for a tap whose first input
    depth is ``first``), per (batch x output depth) plane of the 2-D pools: shaped to broadcast over them."""
    depth = np.arange(out_depth, dtype=np.int64) * stride + first
    return (np.tile(depth, batch) * plane)[:, None, None, None]


def _best_tap(values: np.ndarray) -> np.ndarray:
    """Which of the stacked taps (axis 0, the window's depths in order, each already reduced over its rows and
    columns) each output reads, kept as a dim of 1: the first maximum, or the last NaN, as PyTorch's scan in
    (depth, row, column) order with its update ``val > max || isnan(val)``."""
    best = np.argmax(values, axis=0)
    if values.dtype.kind == "f":
        nan = np.isnan(values)
        last_nan = values.shape[0] - 1 - np.argmax(nan[::-1], axis=0)
        best = np.where(nan.any(axis=0), last_nan, best)
    return best[None]


def _window_counts(size: int, k: int, s: int, p: int, out: int, include_pad: bool) -> np.ndarray:
    """The number of elements of each output's window along one axis (PyTorch's avg_pool divisor)."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    if include_pad:
        return (end - start).astype(np.float64)
    return (np.minimum(end, size) - np.maximum(start, 0)).astype(np.float64)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over 3-D windows, zero padding, PyTorch's divisor (``divisor_override``, else the window's size
    within the padded input with count_include_pad, or within the input)."""
    _input(input)
    k, s, p, _ = _pool3d_args(kernel_size, stride, padding)
    if divisor_override is not None and (not FC._is_int(divisor_override) or divisor_override == 0):
        raise ArgumentError(f"divisor_override: expected a non-zero int or None, got {divisor_override!r}")

    def run(x: Tensor) -> Tensor:
        depth = x.shape[2]
        _check_fits(x, k, s, p, (1, 1, 1), bool(ceil_mode))
        if any(n < kk for n, kk in zip(x.shape[2:], k)):  # (PyTorch's avg_pool3d: the unpadded input, max's not)
            t, h, w = x.shape[2:]
            raise ArgumentError(f"input image (T: {t} H: {h} W: {w}) smaller than kernel size (kT: {k[0]} kH: {k[1]} "
                                f"kW: {k[2]})")
        out_depth = _pool_out(depth, k[0], s[0], p[0], 1, bool(ceil_mode))
        back = max(0, (out_depth - 1) * s[0] + k[0] - depth - p[0])
        xp = _pad_depth(x, p[0], back, 0.0)
        total = None
        for planes in _depth_taps(xp, k[0], s[0], 1, out_depth):
            y = FC.avg_pool2d(planes, k[1:], s[1:], p[1:], ceil_mode, True, 1)  # window sums
            total = y if total is None else total + y
        out = _unfold_batch(total, x.shape[0], out_depth)
        if divisor_override is not None:
            return out / float(divisor_override)
        sizes = (depth, x.shape[3], x.shape[4])
        counts = [_window_counts(sizes[i], k[i], s[i], p[i], out.shape[2 + i], count_include_pad) for i in range(3)]
        divisor = counts[0][:, None, None] * counts[1][None, :, None] * counts[2][None, None, :]
        return out / Tensor._wrap(divisor.astype(x._data.dtype))

    return _batched(run, input)


def _adaptive_size3(input: Tensor, output_size) -> tuple:
    """(D', H', W') of an adaptive 3-D pooling: an int or a triple, None keeping the input's size."""
    _input(input)
    size = (output_size,) * 3 if FC._is_int(output_size) or output_size is None else tuple(output_size)
    if len(size) != 3:
        raise TypeError(f"output_size: expected an int or a triple of ints (or None), got {output_size!r}")
    size = tuple(int(input.shape[-3 + i]) if v is None else int(v) for i, v in enumerate(size))
    if min(size) < 1:
        raise ArgumentError(f"output_size: expected positive sizes, got {output_size!r}")
    return size


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed (D', H', W'): output depth t averages input depths [floor(t D / D'),
    ceil((t + 1) D / D')), rows and columns likewise (PyTorch's windows)."""
    size = _adaptive_size3(input, output_size)

    def run(x: Tensor) -> Tensor:
        depth = x.shape[2]
        planes = []
        for t in range(size[0]):
            lo, hi = (t * depth) // size[0], -((-(t + 1) * depth) // size[0])
            planes.append(FC.adaptive_avg_pool2d(x[:, :, lo:hi].mean(2), size[1:]))
        return stack(planes, 2)

    return _batched(run, input)


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive_avg_pool3d's windows: adaptive_max_pool2d over each depth of a window, then the depth
    picked as PyTorch's scan in (depth, row, column) order does (the first maximum, the last NaN);
    ``return_indices``: also the int64 flat index (depth * H * W + row * W + col) of each maximum."""
    size = _adaptive_size3(input, output_size)
    found = []

    def run(x: Tensor) -> Tensor:
        depth, h, w = x.shape[2:]
        planes, indices = [], []
        for t in range(size[0]):
            lo, hi = (t * depth) // size[0], -((-(t + 1) * depth) // size[0])
            pooled = [FC.adaptive_max_pool2d(x[:, :, z], size[1:], True) for z in range(lo, hi)]
            values = stack([v for v, _ in pooled], 0)
            best = Tensor._wrap(numpy_call(_best_tap, values._data))
            planes.append(take_along_dim(values, best, 0).squeeze(0))
            if return_indices:
                flat = stack([i + (lo + z) * (h * w) for z, (_, i) in enumerate(pooled)], 0)
                indices.append(take_along_dim(flat, best, 0).squeeze(0))
        if return_indices:
            found.append(stack(indices, 2))
        return stack(planes, 2)

    out = _batched(run, input)
    if not return_indices:
        return out
    return out, (found[0] if input.ndim == 5 else found[0][0])
