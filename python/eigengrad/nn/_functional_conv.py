"""Functional convolution and pooling (re-exported by ``eigengrad.nn.functional``): conv2d, max_pool2d,
avg_pool2d, adaptive_avg_pool2d, with PyTorch's arguments, defaults and output sizes.

Inputs are (N, C, H, W) or unbatched (C, H, W). Window options are an int or a pair (rows, cols).
Bad arguments raise TypeError (wrong type) or ValueError (wrong value or shape) naming the argument.
"""
from __future__ import annotations

import numbers

from eigengrad import _kernels as K
from eigengrad.autograd import ops_conv as C
from eigengrad.nn._functional_loss import _input as _float_tensor
from eigengrad.tensor import Tensor

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints, each >= minimum, as a pair."""
    pair = (value, value) if _is_int(value) else tuple(value) if isinstance(value, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(_is_int(v) for v in pair):
        raise TypeError(f"{name}: expected an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name}: expected values >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _input(input, name: str = "input") -> Tensor:
    _float_tensor(input, name)
    if input.ndim not in (3, 4):
        raise ValueError(f"{name}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) tensor, got shape {input.shape}")
    return input


def _batched(fn, input: Tensor, *args, **kwargs):
    """fn on a 4-D input; an unbatched (C, H, W) input gets a batch dimension of 1 for the call."""
    if input.ndim == 4:
        return fn(input, *args, **kwargs)
    return fn(input.unsqueeze(0), *args, **kwargs).squeeze(0)


def conv_padding(padding, kernel: tuple, stride: tuple, dilation: tuple) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of an int, a pair, 'valid' (none) or 'same' (output size = input size,
    stride 1 only; an odd total d (k - 1) puts the extra row/column below/right, as PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"padding: expected 'same', 'valid', an int or a pair of ints, got {padding!r}")
        if stride != (1, 1):
            raise ValueError(f"padding: padding='same' is not supported for strided convolutions (stride {stride})")
        th, tw = dilation[0] * (kernel[0] - 1), dilation[1] * (kernel[1] - 1)
        return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    ph, pw = _pair(padding, "padding", minimum=0)
    return (ph, ph, pw, pw)


def _conv_weight(weight, bias, input: Tensor) -> None:
    if not isinstance(weight, Tensor):
        raise TypeError(f"weight: expected an eigengrad Tensor, got {type(weight).__name__}")
    if weight.ndim != 4:
        raise ValueError(f"weight: expected a 4-D tensor (out_channels, in_channels / groups, kH, kW), "
                         f"got shape {weight.shape}")
    if weight.dtype != input.dtype:
        raise TypeError(f"weight: expected dtype {input.dtype} (the dtype of input), got {weight.dtype}")
    if bias is not None:
        if not isinstance(bias, Tensor):
            raise TypeError(f"bias: expected an eigengrad Tensor or None, got {type(bias).__name__}")
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"bias: expected shape ({weight.shape[0]},) (out_channels), got {bias.shape}")
        if bias.dtype != input.dtype:
            raise TypeError(f"bias: expected dtype {input.dtype} (the dtype of input), got {bias.dtype}")


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D cross-correlation, PyTorch's conv2d. With og = O / groups, cg = C / groups and x padded by zeros,

        y[i, q, u, v] = bias[q] + sum_{c < cg, a < kH, e < kW} weight[q, c, a, e] x[i, (q // og) cg + c, u sH + a dH, v sW + e dW]

    input (N, C, H, W) or (C, H, W); weight (O, C / groups, kH, kW); output size
    floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1 (likewise W). ``padding``: int, pair, 'valid' or 'same'.
    C++ kernels: im2col + GEMM forward, col2im of W^T dy for the input gradient, dy cols^T for the weight's.
    """
    _input(input)
    _conv_weight(weight, bias, input)
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    if not _is_int(groups) or groups < 1:
        raise ValueError(f"groups: expected a positive int, got {groups!r}")
    channels = input.shape[-3]
    if weight.shape[0] % groups:
        raise ValueError(f"groups: expected a divisor of out_channels {weight.shape[0]} (weight {weight.shape}), "
                         f"got {groups}")
    if channels != weight.shape[1] * groups:
        raise ValueError(f"input: expected {weight.shape[1] * groups} channels (weight {weight.shape} with "
                         f"groups={groups}), got input of shape {input.shape}")
    pad = conv_padding(padding, weight.shape[2:], stride, dilation)
    return _batched(lambda x: C.Conv2d.apply(x, weight, bias, stride=stride, padding=pad, dilation=dilation,
                                             groups=int(groups)), input)


def pad2d(input: Tensor, padding: tuple, mode: str) -> Tensor:
    """Pads the last two dims by (top, bottom, left, right) with 'reflect', 'replicate' or 'circular'
    values (a Conv2d's padding_mode); 'zeros' is left to the convolution kernel."""
    if mode not in PADDING_MODES[1:]:
        raise ValueError(f"mode: expected one of {PADDING_MODES[1:]}, got {mode!r}")
    h, w = input.shape[-2:]
    if mode == "reflect" and (max(padding[:2]) >= max(h, 1) or max(padding[2:]) >= max(w, 1)):
        raise ValueError(f"padding: reflect padding {padding} must be smaller than the input's size ({h}, {w})")
    if mode == "circular" and (max(padding[:2]) > h or max(padding[2:]) > w):
        raise ValueError(f"padding: circular padding {padding} must be at most the input's size ({h}, {w})")
    return C.Pad2d.apply(input, padding=tuple(padding), mode=mode)


def _pool_args(kernel_size, stride, padding, dilation=1) -> tuple:
    """(kernel_size, stride, padding, dilation) as checked pairs; stride None (or ()) is kernel_size. The
    checks are the bindings' geometry helper's (types, bounds, padding at most half the kernel)."""
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel_size
    return K.pool2d_options(kernel_size, stride, padding, dilation)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over windows of kernel_size (stride defaults to kernel_size), padding counted as -inf, PyTorch's
    output size (floor, or ceil with ``ceil_mode``, the last window starting inside the input or its
    left padding). ``return_indices``: also the int64 flat index (row * W + col) of each maximum."""
    _input(input)
    k, s, p, d = _pool_args(kernel_size, stride, padding, dilation)
    sink = [] if return_indices else None
    out = _batched(lambda x: C.MaxPool2d.apply(x, kernel_size=k, stride=s, padding=p, dilation=d,
                                               ceil_mode=bool(ceil_mode), indices_out=sink), input)
    if not return_indices:
        return out
    idx = sink[0] if input.ndim == 4 else sink[0][0]
    return out, Tensor._wrap(idx)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over windows of kernel_size, zero padding, PyTorch's divisor: ``divisor_override`` if given,
    else the window's size within the padded input (count_include_pad) or within the input."""
    _input(input)
    k, s, p, _ = _pool_args(kernel_size, stride, padding)
    if divisor_override is not None and (not _is_int(divisor_override) or divisor_override == 0):
        raise ValueError(f"divisor_override: expected a non-zero int or None, got {divisor_override!r}")
    return _batched(lambda x: C.AvgPool2d.apply(x, kernel_size=k, stride=s, padding=p, ceil_mode=bool(ceil_mode),
                                                count_include_pad=bool(count_include_pad),
                                                divisor_override=divisor_override), input)


def adaptive_output_size(output_size, input_shape: tuple) -> tuple[int, int]:
    """An int, or a pair whose None entries keep the input's size."""
    pair = (output_size, output_size) if _is_int(output_size) or output_size is None else tuple(output_size)
    if len(pair) != 2 or not all(v is None or _is_int(v) for v in pair):
        raise TypeError(f"output_size: expected an int or a pair of ints (or None), got {output_size!r}")
    pair = tuple(int(input_shape[-2 + i]) if v is None else int(v) for i, v in enumerate(pair))
    if min(pair) < 1:
        raise ValueError(f"output_size: expected positive sizes, got {output_size!r}")
    return pair


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size: output row u averages input rows
    [floor(u H / oh), ceil((u + 1) H / oh)), columns likewise (PyTorch's windows)."""
    _input(input)
    size = adaptive_output_size(output_size, input.shape)
    if min(input.shape[-2:]) < 1 and input.numel() > 0:
        raise ValueError(f"input: expected non-empty planes, got shape {input.shape}")
    return _batched(lambda x: C.AdaptiveAvgPool2d.apply(x, output_size=size), input)
