"""Transposed convolutions (re-exported by ``eigengrad.nn.functional``): conv_transpose1d and
conv_transpose2d with PyTorch's arguments (note its order: ..., output_padding, groups, dilation), and
the output_padding that a requested output size implies (the modules' ``output_size``).

A transposed convolution is the adjoint of the convolution in its input: every input value scatters
itself times the kernel into the output, so with og = Co / groups and cg = Ci / groups

    y[i, (q // cg) og + c, u s - p + a d] += x[i, q, u] w[q, c, a]      (per spatial axis)

and L' = (L - 1) s - 2 p + d (k - 1) + output_padding + 1 (Dumoulin & Visin, "A guide to convolution
arithmetic for deep learning", 2016, section 4). It runs through the convolution's C++ passes (its
forward is conv2d's input gradient). 1-D is 2-D with a height of 1.
"""
from __future__ import annotations

import operator

from eigengrad.autograd import ops_conv as C
from eigengrad.nn import _functional_conv as FC
from eigengrad.nn import _functional_conv1d as FC1
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError, ArgumentTypeError


def output_sizes(spatial: tuple, kernel: tuple, stride: tuple, padding: tuple, output_padding: tuple,
                 dilation: tuple) -> tuple:
    """(L - 1) s - 2 p + d (k - 1) + output_padding + 1 for every spatial axis."""
    return tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1
                 for n, k, s, p, op, d in zip(spatial, kernel, stride, padding, output_padding, dilation))


def _options(input: Tensor, weight: Tensor, stride, padding, output_padding, dilation, dims: int) -> tuple:
    """(stride, padding, output_padding, dilation) as dims-tuples, checked as PyTorch does: a tuple of the
    wrong length is PyTorch's RuntimeError, a string padding its TypeError (ArgumentTypeError is both); an
    empty weight (no input or output channels, a zero kernel size) its RuntimeError."""
    if isinstance(padding, str):
        raise ArgumentTypeError(f"padding: a transposed convolution takes an int or a tuple of ints, got {padding!r}")
    for name, value in (("stride", stride), ("padding", padding), ("output_padding", output_padding),
                        ("dilation", dilation)):
        if isinstance(value, (tuple, list)) and len(value) != dims:
            raise ArgumentTypeError(f"{name}: expected an int or a list of {dims} ints to match the convolution "
                                    f"dimensions, got {value!r}")
    if 0 in weight.shape:
        raise ArgumentError(f"weight: expected a non-empty weight (in_channels, out_channels / groups and the kernel "
                            f"sizes at least 1), got shape {weight.shape}")
    s, d = FC._ntuple(stride, "stride", dims), FC._ntuple(dilation, "dilation", dims)
    p = FC._ntuple(padding, "padding", dims, minimum=0)
    op = FC._ntuple(output_padding, "output_padding", dims, minimum=0)
    if any(o >= si and o >= di for o, si, di in zip(op, s, d)):
        raise ArgumentError(f"output_padding: must be smaller than either stride or dilation, got output_padding {op}, "
                         f"stride {s}, dilation {d}")
    sizes = output_sizes(input.shape[-dims:], weight.shape[2:], s, p, op, d)
    if min(sizes) < 0:  # (0 is an empty output, as PyTorch's: _no_output)
        raise ArgumentError(f"input: the output size {sizes} of the transposed convolution of an input of spatial size "
                         f"{input.shape[-dims:]} is too small")
    return s, p, op, d


def _no_output(input: Tensor, weight: Tensor, bias, groups: int, options: tuple, dims: int) -> Tensor | None:
    """The empty output when a spatial output size is 0 (PyTorch's; input, weight and bias get zero gradients),
    else None."""
    s, p, op, d = options
    sizes = output_sizes(input.shape[-dims:], weight.shape[2:], s, p, op, d)
    if min(sizes) > 0:
        return None
    from eigengrad.autograd.ops import ZeroGradTo

    lead = input.shape[:1] if input.ndim == dims + 2 else ()
    out = input.new_zeros(lead + (weight.shape[1] * groups,) + tuple(sizes))
    for t in (input, weight, bias):
        if t is not None:
            out = ZeroGradTo.apply(out, t)
    return out


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution (PyTorch's conv_transpose2d; see the module docstring): input
    (N, Ci, H, W) or (Ci, H, W), weight (Ci, Co / groups, kH, kW), bias (Co,); output
    (N, Co, (H - 1) sH - 2 pH + dH (kH - 1) + opH + 1, likewise W). output_padding adds rows / columns
    at the bottom / right (smaller than the stride or the dilation)."""
    FC._input(input)
    groups = FC.check_conv(input, weight, bias, groups, 2, transposed=True)
    s, p, op, d = _options(input, weight, stride, padding, output_padding, dilation, 2)
    empty = _no_output(input, weight, bias, groups, (s, p, op, d), 2)
    if empty is not None:
        return empty
    return FC._batched(lambda x: C.ConvTranspose2d.apply(x, weight, bias, stride=s, padding=p, output_padding=op,
                                                         dilation=d, groups=groups), input)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution (PyTorch's conv_transpose1d): input (N, Ci, L) or (Ci, L), weight
    (Ci, Co / groups, k), output length (L - 1) s - 2 p + d (k - 1) + output_padding + 1."""
    FC1._input(input)
    groups = FC.check_conv(input, weight, bias, groups, 1, transposed=True)
    (s,), (p,), (op,), (d,) = _options(input, weight, stride, padding, output_padding, dilation, 1)
    empty = _no_output(input, weight, bias, groups, ((s,), (p,), (op,), (d,)), 1)
    if empty is not None:
        return empty
    return FC1.height_one(lambda x: C.ConvTranspose2d.apply(x, weight.unsqueeze(2), bias, stride=(1, s), padding=(0, p),
                                                            output_padding=(0, op), dilation=(1, d), groups=groups),
                          input)


def output_padding_for(input: Tensor, output_size, stride: tuple, padding: tuple, kernel: tuple,
                       dilation: tuple) -> tuple:
    """PyTorch's ConvTranspose _output_padding: the output_padding giving ``output_size`` (the spatial
    sizes, or with the batch and channel dims in front), which must lie within [min, min + stride - 1]
    per axis, min being the size without output_padding."""
    dims = len(kernel)
    lead = 2 if input.ndim == dims + 2 else 1
    try:  # ints only (PyTorch: a TypeError for floats, never a truncated size)
        size = tuple(operator.index(v) for v in output_size)
    except TypeError:
        raise ArgumentTypeError(f"output_size: expected a sequence of ints, got {output_size!r}") from None
    if len(size) == lead + dims:
        size = size[lead:]
    if len(size) != dims:
        raise ArgumentError(f"output_size: for {input.ndim}D input, output_size must have {dims} or {lead + dims} "
                         f"elements (got {len(size)})")
    mins = output_sizes(input.shape[-dims:], kernel, stride, padding, (0,) * dims, dilation)
    maxs = tuple(m + s - 1 for m, s in zip(mins, stride))
    if any(not lo <= v <= hi for v, lo, hi in zip(size, mins, maxs)):
        raise ArgumentError(f"output_size: requested an output size of {size}, but valid sizes range from {mins} to "
                         f"{maxs} (for an input of {tuple(input.shape[-dims:])})")
    return tuple(v - m for v, m in zip(size, mins))


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-D transposed convolution (PyTorch's conv_transpose3d): input (N, Ci, D, H, W) or (Ci, D, H, W),
    weight (Ci, Co / groups, kD, kH, kW), output sizes (L - 1) s - 2 p + d (k - 1) + op + 1 per axis.

    As conv3d, per kernel depth a: the 2-D transposed convolution of every input plane with weight[:, :, a]
    (the planes folded into the batch) lands at output depth t sD + a dD - pD; the taps' planes are spread
    sD apart (zeros between) and summed, then the depth padding is cropped (output_padding adds zero planes
    at the back before the crop)."""
    from eigengrad.nn import _functional_conv3d as FC3

    FC3._input(input)
    groups = FC.check_conv(input, weight, bias, groups, 3, transposed=True)
    s, p, op, d = _options(input, weight, stride, padding, output_padding, dilation, 3)
    empty = _no_output(input, weight, bias, groups, (s, p, op, d), 3)
    if empty is not None:
        return empty

    def run(x: Tensor) -> Tensor:
        n, _, depth, h, w = x.shape
        kd = weight.shape[2]
        planes = x.movedim(2, 1).reshape(n * depth, x.shape[1], h, w)
        full = (depth - 1) * s[0] + d[0] * (kd - 1) + 1  # the depth before cropping the padding
        total = None
        for a in range(kd):
            y = C.ConvTranspose2d.apply(planes, weight[:, :, a], None, stride=s[1:], padding=p[1:],
                                        output_padding=op[1:], dilation=d[1:], groups=groups)
            y = y.reshape((n, depth) + tuple(y.shape[1:])).movedim(1, 2)  # (N, Co, D, H', W')
            placed = _spread_depth(y, s[0], a * d[0], full)
            total = placed if total is None else total + placed
        out_depth = full - 2 * p[0] + op[0]
        if p[0] + out_depth > full:  # output_padding beyond the last tap: zero planes at the back
            total = _pad_depth(total, 0, p[0] + out_depth - full)
        out = total[:, :, p[0]:p[0] + out_depth]
        return out if bias is None else out + bias.reshape(1, -1, 1, 1, 1)

    return FC3._batched(run, input)


def _pad_depth(x: Tensor, front: int, back: int) -> Tensor:
    from eigengrad.nn._functional_pad import pad

    return pad(x, (0, 0, 0, 0, front, back)) if front or back else x


def _spread_depth(y: Tensor, stride: int, offset: int, length: int) -> Tensor:
    """(N, C, D, H, W) planes put at depths offset, offset + stride, ... of a zero tensor of depth ``length``."""
    n, c, depth, h, w = y.shape
    if stride > 1:  # stride - 1 zero planes after each plane, the trailing ones dropped
        zeros = y.new_zeros(n, c, depth, stride - 1, h, w)
        from eigengrad.tensor_ops.shape import cat

        y = cat([y.unsqueeze(3), zeros], 3).reshape(n, c, depth * stride, h, w)[:, :, :(depth - 1) * stride + 1]
    return _pad_depth(y, offset, length - offset - y.shape[2])
