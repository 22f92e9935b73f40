"""1-D convolution and pooling (re-exported by ``eigengrad.nn.functional``): conv1d, max_pool1d,
avg_pool1d, adaptive_avg_pool1d, adaptive_max_pool1d, with PyTorch's arguments and output sizes.

Each is the 2-D primitive on the input viewed with a height of 1: (N, C, L) -> (N, C, 1, L), the kernel
(1, k), stride (1, s), padding (0, p) and so on. With a single row the 2-D kernels compute exactly the
1-D operation (the same products and sums, in the same order) and the views are reshapes of
contiguous arrays, so nothing is copied. Inputs are (N, C, L) or unbatched (C, L).
"""
from __future__ import annotations

from eigengrad.autograd import ops_conv as C
from eigengrad.nn import _functional_conv as FC
from eigengrad.nn._functional_loss import _input as _float_tensor
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError, ArgumentTypeError


def _input(input, name: str = "input") -> Tensor:
    try:
        _float_tensor(input, name)
    except TypeError as e:  # an integer tensor: PyTorch's RuntimeError (a dtype mismatch with the weight)
        if isinstance(input, Tensor) and not isinstance(e, RuntimeError):
            raise ArgumentTypeError(str(e)) from None
        raise
    if input.ndim not in (2, 3):
        raise ArgumentError(f"{name}: expected a 2-D (C, L) or 3-D (N, C, L) tensor, got shape {input.shape}")
    return input


def _nonempty(input: Tensor, fn: str, what: str) -> None:
    """PyTorch's check of the pools: only the batch dim of (N, C, L) may be 0 (every dim of unbatched (C, L)
    must be > 0); ``what`` names the dims that are checked in its message."""
    dims = input.shape[1:] if input.ndim == 3 else input.shape
    if 0 in tuple(dims):
        raise ArgumentError(f"{fn}: Expected {what} for input, but got: {list(input.shape)}")


def _pool_length(length: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output length: floor (or ceil) of (L + 2p - d(k - 1) - 1) / s, plus 1; with
    ceil_mode the last window must start inside the input or its left padding."""
    span = length + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= length + p:
        out -= 1
    return out


def _single(value, name: str, minimum: int = 1) -> int:
    return FC._ntuple(value, name, 1, minimum)[0]


def height_one(fn, input: Tensor):
    """fn (a 2-D op on (N, C, H, W)) on input (N, C, L) or (C, L) as (N, C, 1, L); its result (or each
    result of a tuple) as (N, C, L') or (C, L')."""
    batched = input.ndim == 3
    out = fn((input if batched else input.unsqueeze(0)).unsqueeze(2))

    def back(t: Tensor) -> Tensor:
        t = t.squeeze(2)
        return t if batched else t.squeeze(0)
    return tuple(back(t) for t in out) if isinstance(out, tuple) else back(out)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """1-D cross-correlation, PyTorch's conv1d: with og = O / groups, cg = C / groups and x padded by zeros,

        y[i, q, t] = bias[q] + sum_{c < cg, e < k} weight[q, c, e] x[i, (q // og) cg + c, t s + e d]

    input (N, C, L) or (C, L), weight (O, C / groups, k); L' = floor((L + 2 p - d (k - 1) - 1) / s) + 1.
    ``padding``: int, 1-tuple, 'valid' or 'same' (an odd total d (k - 1) puts the extra zero on the
    right, as PyTorch). Computed by the Conv2d kernels with a height of 1.
    """
    _input(input)
    groups = FC.check_conv(input, weight, bias, groups, 1)
    s, d = _single(stride, "stride"), _single(dilation, "dilation")
    left, right = FC.conv_padding(padding, weight.shape[2:], (s,), (d,))
    padded, span = input.shape[-1] + left + right, d * (weight.shape[2] - 1) + 1
    if span > padded:  # PyTorch's RuntimeError (the kernels' geometry check raises a plain ValueError)
        raise ArgumentError(f"Calculated padded input size per channel: ({padded}). Kernel size: ({span}). Kernel "
                            "size can't be greater than actual input size")
    return height_one(lambda x: C.Conv2d.apply(x, weight.unsqueeze(2), bias, stride=(1, s), padding=(0, 0, left, right),
                                               dilation=(1, d), groups=groups), input)


def _pool_args(kernel_size, stride, padding, dilation=1, max_pool: bool = False) -> tuple:
    """The 2-D pooling options (kernel, stride, padding, dilation) of 1-D ones, checked with 1-D names
    (``max_pool``: max_pool1d's own padding message, as PyTorch)."""
    k = _single(kernel_size, "kernel_size")
    s = k if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else _single(stride, "stride")
    p = _single(padding, "padding", minimum=0)
    if p > k // 2:
        if max_pool:
            raise ArgumentError(f"max_pool1d() padding should be at most half of kernel size, but got padding={p} "
                                f"and kernel_size={k}")
        raise ArgumentError(f"pad should be at most half of effective kernel size, but got pad={p}, kernel_size={k} "
                            f"and dilation=1")
    return (1, k), (1, s), (0, p), (1, _single(dilation, "dilation"))


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False):
    """Max over windows of kernel_size (stride defaults to kernel_size), -inf padding, PyTorch's output
    size and NaN rule. ``return_indices``: also the int64 position of each maximum along L (the 2-D flat
    index row * W + col with the row 0)."""
    _input(input)
    k, s, p, d = _pool_args(kernel_size, stride, padding, dilation, max_pool=True)
    FC._pool_args(k, s, p, d)  # the bindings' bounds first, naming the option
    _nonempty(input, "max_pool1d", "2D or 3D (batch mode) tensor with optional 0 dim batch size")
    _check_length(input, "max_pool1d", k[1], s[1], p[1], d[1], ceil_mode)
    return height_one(lambda x: FC.max_pool2d(x, k, s, p, d, ceil_mode, return_indices), input)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over windows of kernel_size, zero padding; the divisor is the window's size within the padded
    input (count_include_pad) or within the input."""
    _input(input)
    k, s, p, _ = _pool_args(kernel_size, stride, padding)
    FC._pool_args(k, s, p)  # the bindings' bounds first, naming the option
    _nonempty(input, "avg_pool1d", "2D or 3D (batch mode) tensor with optional 0 dim batch size")
    _check_length(input, "avg_pool1d", k[1], s[1], p[1], 1, ceil_mode)
    return height_one(lambda x: FC.avg_pool2d(x, k, s, p, ceil_mode, count_include_pad), input)


def _check_length(input: Tensor, fn: str, k: int, s: int, p: int, d: int, ceil_mode: bool) -> None:
    """PyTorch's RuntimeError for a window that leaves no output position (the kernels' geometry check
    raises a plain ValueError)."""
    out = _pool_length(input.shape[-1], k, s, p, d, bool(ceil_mode))
    if out < 1:
        c = input.shape[-2]
        raise ArgumentError(f"{fn}: Given input size: ({c}x1x{input.shape[-1]}). Calculated output size: "
                            f"({c}x1x{out}). Output size is too small")


def _adaptive_size(input: Tensor, output_size, fn: str, channels: bool) -> tuple[int, int]:
    """(1, output length) of an int or a 1-tuple (None is PyTorch's TypeError). An empty length is
    PyTorch's RuntimeError (as are no channels with ``channels``, adaptive_max_pool1d, which like PyTorch
    takes dim 0 as the batch, even of (C, L)): the kernels would give values and indices of no window."""
    _input(input)
    shape = tuple(input.shape)
    empty = [i for i in range(1 if channels else input.ndim - 1, input.ndim) if shape[i] == 0]
    if empty:
        raise ArgumentError(f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but input has "
                            f"sizes {list(shape)} with dimension {empty[0]} being empty")
    return (1, _single(output_size, "output_size"))


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling to output_size positions: output t averages [floor(t L / n), ceil((t + 1) L / n))."""
    size = _adaptive_size(input, output_size, "adaptive_avg_pool1d", channels=False)
    return height_one(lambda x: FC.adaptive_avg_pool2d(x, size), input)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """Max over adaptive_avg_pool1d's windows; ``return_indices``: also the int64 position of each maximum."""
    size = _adaptive_size(input, output_size, "adaptive_max_pool1d", channels=True)
    return height_one(lambda x: FC.adaptive_max(x, size, return_indices), input)
