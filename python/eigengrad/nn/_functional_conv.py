"""Functional convolution and pooling (re-exported by ``eigengrad.nn.functional``): conv2d, max_pool2d,
avg_pool2d, adaptive_avg_pool2d, adaptive_max_pool2d, with PyTorch's arguments, defaults and output sizes.

Inputs are (N, C, H, W) or unbatched (C, H, W). Window options are an int or a pair (rows, cols).
Bad arguments raise TypeError (wrong type) or ValueError (wrong value or shape) naming the argument.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd import ops_conv as C
from eigengrad.autograd.ops import numpy_call
from eigengrad.nn._functional_loss import _input as _float_tensor
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError, ArgumentTypeError, user_stacklevel

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _ntuple(value, name: str, n: int, minimum: int = 1) -> tuple:
    """An int or a sequence of n ints, each >= minimum, as an n-tuple."""
    t = (value,) * n if _is_int(value) else tuple(value) if isinstance(value, (tuple, list)) else None
    if t is None or len(t) != n or not all(_is_int(v) for v in t):
        what = "an int or a 1-tuple of ints" if n == 1 else "an int or a pair of ints"
        raise ArgumentTypeError(f"{name}: expected {what}, got {value!r}")  # a TypeError, and PyTorch's RuntimeError
                                                                           # for a tuple of another length
    if min(t) < minimum:
        raise ArgumentError(f"{name}: expected values >= {minimum}, got {value!r}")
    return tuple(int(v) for v in t)


def _pair(value, name: str, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints, each >= minimum, as a pair."""
    return _ntuple(value, name, 2, minimum)


def _input(input, name: str = "input") -> Tensor:
    _float_tensor(input, name)
    if input.ndim not in (3, 4):
        raise ArgumentError(f"{name}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) tensor, got shape {input.shape}")
    return input


def _batched(fn, input: Tensor, *args, **kwargs):
    """fn on a 4-D input; an unbatched (C, H, W) input gets a batch dimension of 1 for the call."""
    if input.ndim == 4:
        return fn(input, *args, **kwargs)
    return fn(input.unsqueeze(0), *args, **kwargs).squeeze(0)


_WARNED_ASYMMETRIC_SAME: list = []  # not empty once an asymmetric padding='same' has warned (once per process)


def conv_padding(padding, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    """(before, after) for each of the len(kernel) spatial dims ((top, bottom, left, right) in 2-D) of an
    int, a tuple, 'valid' (none) or 'same' (output size = input size, stride 1 only; an odd total
    d (k - 1) puts the extra row/column below/right, as PyTorch)."""
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * 2 * n
        if padding != "same":
            raise ArgumentError(f"padding: expected 'same', 'valid', an int or a tuple of ints, got {padding!r}")
        if any(s != 1 for s in stride):
            raise ArgumentError(f"padding: padding='same' is not supported for strided convolutions (stride {stride})")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        if any(t % 2 for t in totals) and not _WARNED_ASYMMETRIC_SAME:  # (PyTorch: TORCH_WARN_ONCE)
            _WARNED_ASYMMETRIC_SAME.append(True)
            warnings.warn("Using padding='same' with even kernel lengths and odd dilation may require a zero-padded "
                          "copy of the input be created", UserWarning, stacklevel=user_stacklevel())
        return tuple(v for t in totals for v in (t // 2, t - t // 2))
    return tuple(v for p in _ntuple(padding, "padding", n, minimum=0) for v in (p, p))


_WEIGHT_LAYOUT = {False: "out_channels, in_channels / groups", True: "in_channels, out_channels / groups"}


def check_conv(input: Tensor, weight, bias, groups, dims: int, transposed: bool = False) -> int:
    """Checks a ``dims``-D convolution's weight (out, in / groups, *kernel), or (in, out / groups, *kernel)
    when ``transposed``, its bias (None or (out,)) and groups against input (N, C, *spatial) or
    (C, *spatial); returns groups as an int."""
    if not isinstance(weight, Tensor):
        raise TypeError(f"weight: expected an eigengrad Tensor, got {type(weight).__name__}")
    if weight.ndim != dims + 2:
        kernel = {1: "kL", 2: "kH, kW"}.get(dims, "kD, kH, kW")
        raise ArgumentError(f"weight: expected a {dims + 2}-D tensor ({_WEIGHT_LAYOUT[transposed]}, {kernel}), "
                         f"got shape {weight.shape}")
    if weight.dtype != input.dtype:
        raise ArgumentTypeError(f"weight: expected dtype {input.dtype} (the dtype of input), got {weight.dtype}")
    if not _is_int(groups) or groups < 1:
        raise ArgumentError(f"groups: expected a positive int, got {groups!r}")
    if weight.shape[0] % groups:
        what = "in_channels" if transposed else "out_channels"
        raise ArgumentError(f"groups: expected a divisor of {what} {weight.shape[0]} (weight {weight.shape}), got "
                            f"{groups}")
    expected = weight.shape[0] if transposed else weight.shape[1] * groups
    if input.shape[-1 - dims] != expected:  # (PyTorch's message; an unbatched input shown with its batch of 1)
        given = "transposed=1" if transposed else f"groups={groups}"
        batched = list(input.shape) if input.ndim == dims + 2 else [1, *input.shape]
        raise ArgumentError(f"Given {given}, weight of size {list(weight.shape)}, expected input{batched} to have "
                            f"{expected} channels, but got {input.shape[-1 - dims]} channels instead")
    out = weight.shape[1] * groups if transposed else weight.shape[0]
    if bias is not None:
        if not isinstance(bias, Tensor):
            raise TypeError(f"bias: expected an eigengrad Tensor or None, got {type(bias).__name__}")
        if bias.shape != (out,):
            raise ArgumentError(f"bias: expected shape ({out},) (out_channels), got {bias.shape}")
        if bias.dtype != input.dtype:
            raise ArgumentTypeError(f"bias: expected dtype {input.dtype} (the dtype of input), got {bias.dtype}")
    return int(groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """2-D cross-correlation, PyTorch's conv2d. With og = O / groups, cg = C / groups and x padded by zeros,

        y[i, q, u, v] = bias[q] + sum_{c < cg, a < kH, e < kW} weight[q, c, a, e] x[i, (q // og) cg + c, u sH + a dH, v sW + e dW]

    input (N, C, H, W) or (C, H, W); weight (O, C / groups, kH, kW); output size
    floor((H + 2 pH - dH (kH - 1) - 1) / sH) + 1 (likewise W). ``padding``: int, pair, 'valid' or 'same'.
    C++ kernels: im2col + GEMM forward, col2im of W^T dy for the input gradient, dy cols^T for the weight's.
    """
    _input(input)
    groups = check_conv(input, weight, bias, groups, 2)
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    pad = conv_padding(padding, weight.shape[2:], stride, dilation)
    return _batched(lambda x: C.Conv2d.apply(x, weight, bias, stride=stride, padding=pad, dilation=dilation,
                                             groups=groups), input)


def pad2d(input: Tensor, padding: tuple, mode: str) -> Tensor:
    """Pads the last two dims by (top, bottom, left, right) with 'reflect', 'replicate' or 'circular'
    values (a Conv2d's padding_mode); 'zeros' is left to the convolution kernel."""
    if mode not in PADDING_MODES[1:]:
        raise ArgumentError(f"mode: expected one of {PADDING_MODES[1:]}, got {mode!r}")
    h, w = input.shape[-2:]
    if mode == "reflect" and (max(padding[:2]) >= max(h, 1) or max(padding[2:]) >= max(w, 1)):
        raise ArgumentError(f"padding: reflect padding {padding} must be smaller than the input's size ({h}, {w})")
    if (h == 0 and max(padding[:2]) > 0) or (w == 0 and max(padding[2:]) > 0):  # (NumPy's pad would raise)
        raise ArgumentError(f"padding: {mode} padding {padding} of an empty dim: Expected a tensor with possibly 0 "
                            f"batch size and other non-zero dimensions for input, but got: {list(input.shape)}")
    if mode == "circular" and (max(padding[:2]) > h or max(padding[2:]) > w):
        raise ArgumentError(f"padding: circular padding {padding} must be at most the input's size ({h}, {w})")
    return C.Pad2d.apply(input, padding=tuple(padding), mode=mode)


def _pool_args(kernel_size, stride, padding, dilation=1) -> tuple:
    """(kernel_size, stride, padding, dilation) as checked pairs; stride None (or ()) is kernel_size. The
    checks are the bindings' geometry helper's (types, bounds, padding at most half the kernel)."""
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel_size
    try:
        return K.pool2d_options(kernel_size, stride, padding, dilation)
    except ArgumentError as e:
        if not str(e).startswith("padding: expected at most half"):
            raise
        # PyTorch's messages (rows first): against the dilated kernel, then (max_pool2d) the kernel itself
        k, _, _, d = K.pool2d_options(kernel_size, stride, 0, dilation)
        p = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,)
        p = p * 2 if len(p) == 1 else p
        for ki, pi, di in zip(k, p, d):
            if pi > ((ki - 1) * di + 1) // 2:
                raise ArgumentError(f"pad should be at most half of effective kernel size, but got pad={pi}, "
                                    f"kernel_size={ki} and dilation={di}") from None
        raise ArgumentError(f"pad should be smaller than or equal to half of kernel size, but got padW = {p[1]}, "
                            f"padH = {p[0]}, kW = {k[1]}, kH = {k[0]}") from None


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over windows of kernel_size (stride defaults to kernel_size), padding counted as -inf, PyTorch's
    output size (floor, or ceil with ``ceil_mode``, the last window starting inside the input or its
    left padding). ``return_indices``: also the int64 flat index (row * W + col) of each maximum."""
    if integer_pooling(input):
        return integer_max_pool(max_pool2d, input, 2, return_indices, kernel_size, stride, padding, dilation,
                                ceil_mode)
    _input(input)
    k, s, p, d = _pool_args(kernel_size, stride, padding, dilation)
    sink = [] if return_indices else None
    out = _batched(lambda x: C.MaxPool2d.apply(x, kernel_size=k, stride=s, padding=p, dilation=d,
                                               ceil_mode=bool(ceil_mode), indices_out=sink), input)
    if not return_indices:
        return out
    idx = sink[0] if input.ndim == 4 else sink[0][0]
    return out, Tensor._wrap(idx)


def integer_pooling(input) -> bool:
    """Whether max pooling takes ``input`` as integers (PyTorch's CPU max_pool2d/3d take every integer dtype)."""
    return isinstance(input, Tensor) and input.dtype.kind in "iu"


def integer_max_pool(pool, input: Tensor, dims: int, return_indices: bool, *options):
    """``pool`` (max_pool2d or max_pool3d) of an integer tensor: the float kernel pools float64 keys in the values'
    order (``_ranks``: exact; equal values have equal keys, so the same first maximum wins) and
    its indices pick the integers, whose bits no float holds (int64 beyond 2**53). A window wholly in the
    padding (index -1, value -inf for a float) gets the dtype's least value."""
    data = input._data  # (NumPy steps, so that a compiled step ranks and picks each call's values)
    _, where = pool(Tensor._wrap(numpy_call(_ranks, data)), *options, return_indices=True)
    out = Tensor._wrap(numpy_call(_pick, data, where._data, dims))
    return (out, where) if return_indices else out


def _ranks(data: np.ndarray) -> np.ndarray:
    """float64 values in data's order: integers of up to 32 bits themselves (exact), wider ones their rank among
    data's distinct values (a sort; only those need it)."""
    if data.dtype.itemsize <= 4:
        return data.astype(np.float64)
    return np.unique(data.reshape(-1), return_inverse=True)[1].reshape(data.shape).astype(np.float64)


def _pick(data: np.ndarray, where: np.ndarray, dims: int) -> np.ndarray:
    """data's values at the flat positions ``where`` of each trailing ``dims``-D plane (-1: the least value)."""
    if where.size == 0:
        return np.empty(where.shape, data.dtype)
    lead = data.shape[:-dims]
    flat = data.reshape(*lead, math.prod(data.shape[-dims:]))
    index = np.maximum(where, 0).reshape(*lead, math.prod(where.shape[-dims:]))
    picked = np.take_along_axis(flat, index, axis=-1).reshape(where.shape)
    return np.where(where < 0, np.iinfo(data.dtype).min, picked).astype(data.dtype)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over windows of kernel_size, zero padding, PyTorch's divisor: ``divisor_override`` if given,
    else the window's size within the padded input (count_include_pad) or within the input."""
    _input(input)
    k, s, p, _ = _pool_args(kernel_size, stride, padding)
    if divisor_override is not None and not _is_int(divisor_override):  # PyTorch: a TypeError
        raise ArgumentTypeError(f"avg_pool2d(): argument 'divisor_override' must be int, not "
                                f"{type(divisor_override).__name__}")
    if divisor_override is not None and divisor_override == 0:
        raise ArgumentError(f"divisor_override: expected a non-zero int or None, got {divisor_override!r} "
                            "(divisor must be not zero)")
    # PyTorch divides by a negative divisor too; the kernel takes positive ones: sum / |d|, negated
    sign = -1 if divisor_override is not None and divisor_override < 0 else 1
    out = _batched(lambda x: C.AvgPool2d.apply(x, kernel_size=k, stride=s, padding=p, ceil_mode=bool(ceil_mode),
                                               count_include_pad=bool(count_include_pad),
                                               divisor_override=None if divisor_override is None
                                               else abs(int(divisor_override))), input)
    return -out if sign < 0 else out


def adaptive_output_size(output_size, input_shape: tuple) -> tuple[int, int]:
    """An int, or a pair whose None entries keep the input's size."""
    pair = (output_size, output_size) if _is_int(output_size) or output_size is None else tuple(output_size)
    if len(pair) != 2 or not all(v is None or _is_int(v) for v in pair):
        raise ArgumentTypeError(f"output_size: expected an int or a pair of ints (or None), got {output_size!r}")
    pair = tuple(int(input_shape[-2 + i]) if v is None else int(v) for i, v in enumerate(pair))
    if min(pair) < 1:
        raise ArgumentError(f"output_size: expected positive sizes, got {output_size!r}")
    return pair


def _adaptive_size(input: Tensor, output_size, fn: str = "adaptive_avg_pool2d") -> tuple[int, int]:
    """The output size; an empty plane is PyTorch's RuntimeError even with no batch or no channels (the
    kernels would give values and indices of no window), as are no channels for adaptive_max_pool2d, which
    like PyTorch takes dim 0 as the batch (even of (C, H, W))."""
    _input(input)
    shape = tuple(input.shape)
    empty = [i for i in range(1 if fn == "adaptive_max_pool2d" else input.ndim - 2, input.ndim) if shape[i] == 0]
    if empty:
        raise ArgumentError(f"input: expected non-empty planes: {fn}(): Expected input to have non-zero size for "
                            f"non-batch dimensions, but input has sizes {list(shape)} with dimension {empty[0]} being "
                            "empty")
    return adaptive_output_size(output_size, input.shape)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size: output row u averages input rows
    [floor(u H / oh), ceil((u + 1) H / oh)), columns likewise (PyTorch's windows)."""
    size = _adaptive_size(input, output_size)
    return _batched(lambda x: C.AdaptiveAvgPool2d.apply(x, output_size=size), input)


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive_avg_pool2d's windows (PyTorch's NaN rule, as max_pool2d); ``return_indices``:
    also the int64 flat index (row * W + col) of each maximum."""
    return adaptive_max(input, _adaptive_size(input, output_size, "adaptive_max_pool2d"), return_indices)


def adaptive_max(input: Tensor, size: tuple[int, int], return_indices: bool = False):
    """adaptive_max_pool2d of a checked input and output size (adaptive_max_pool1d's own checks differ)."""
    sink = [] if return_indices else None
    out = _batched(lambda x: C.AdaptiveMaxPool2d.apply(x, output_size=size, indices_out=sink), input)
    if not return_indices:
        return out
    return out, Tensor._wrap(sink[0] if input.ndim == 4 else sink[0][0])
