"""Pooling relatives with PyTorch's names (re-exported by ``eigengrad.nn.functional``): ``max_unpool1d/2d/3d``
(the inverse of max pooling: each value back at the position its index names, zeros elsewhere; SegNet's
decoder), ``lp_pool1d/2d/3d`` (the power-average pooling (sum x^p)^(1/p)), ``channel_shuffle`` (ShuffleNet)
and the ``max_poolNd_with_indices`` forms. All are compositions of differentiable tensor operations."""
from __future__ import annotations

import math

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentIndexError
from eigengrad.nn import _functional_conv as FC
from eigengrad.nn import _functional_conv1d as FC1
from eigengrad.nn import _functional_conv3d as FC3
from eigengrad.tensor import Tensor


def _unpool_output_size(input: Tensor, kernel: tuple, stride: tuple, padding: tuple, output_size) -> tuple:
    """PyTorch's _unpool_output_size: (in - 1) stride + kernel - 2 padding per dim, or ``output_size`` (its
    spatial dims, or all of them) when within one stride of that."""
    n = len(kernel)
    default = tuple((input.shape[-n + d] - 1) * stride[d] + kernel[d] - 2 * padding[d] for d in range(n))
    if output_size is None:
        return default
    size = tuple(int(v) for v in output_size)
    if len(size) == n + 2:
        size = size[2:]
    if len(size) != n:
        raise ArgumentError(f"output_size: output_size should be a sequence containing {n} or {n + 2} elements, but it "
                         f"has a length of '{len(size)}'")
    for d in range(n):
        low, high = default[d] - stride[d], default[d] + stride[d]
        if not low < size[d] < high:
            raise ArgumentError(f'output_size: invalid output_size "{size}" (dim {d} must be between {low} and {high})')
    return size


def _max_unpool(input: Tensor, indices, kernel_size, stride, padding, output_size, n: int) -> Tensor:
    kernel = FC._ntuple(kernel_size, "kernel_size", n)
    stride = kernel if stride is None else FC._ntuple(stride, "stride", n)
    padding = FC._ntuple(padding, "padding", n, minimum=0)
    if input.ndim not in (n + 1, n + 2):
        raise ArgumentError(f"input: max_unpool{n}d expects a {n + 1}-D or {n + 2}-D input, got shape {input.shape}")
    idx = indices if isinstance(indices, Tensor) else Tensor._wrap(np.asarray(indices))
    if tuple(idx.shape) != tuple(input.shape):
        raise ArgumentError(f"indices: expected the shape of input {input.shape}, got {idx.shape}")
    if idx._data.dtype.kind not in "iu":
        raise TypeError(f"indices: expected int64 indices (from max_pool{n}d's return_indices), got dtype "
                        f"{idx._data.dtype}")
    size = _unpool_output_size(input, kernel, stride, padding, output_size)
    plane = math.prod(size)
    if idx._data.size and (idx._data.min() < 0 or idx._data.max() >= plane):
        bad = int(idx._data.max() if idx._data.max() >= plane else idx._data.min())
        raise ArgumentIndexError(f"indices: Found an invalid max index: {bad} (output volumes are of size {plane})")
    lead = tuple(input.shape[:-n])
    flat_in = input.reshape(*lead, math.prod(input.shape[-n:]))  # (an empty batch too)
    out = flat_in.new_zeros(*lead, plane).scatter(-1, idx.reshape(flat_in.shape), flat_in)
    return out.reshape(*lead, *size)


def max_unpool1d(input: Tensor, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The inverse of ``max_pool1d(..., return_indices=True)``: input[i] at position indices[i], zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input: Tensor, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The inverse of ``max_pool2d(..., return_indices=True)`` (indices flat in each (H_out, W_out) plane)."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input: Tensor, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """The inverse of ``max_pool3d(..., return_indices=True)`` (indices flat in each output volume)."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


def _lp_pool(input: Tensor, norm_type: float, kernel_size, stride, ceil_mode: bool, n: int) -> Tensor:
    """PyTorch's lp_pool: (sign(a) relu(|a|) * prod(kernel))^(1/p), a the average of x^p over each window."""
    kernel = FC._ntuple(kernel_size, "kernel_size", n)
    if norm_type in (math.inf, -math.inf):  # the limits: the largest |x| of each window (-inf: the smallest)
        pool = {1: FC1.max_pool1d, 2: FC.max_pool2d, 3: FC3.max_pool3d}[n]
        sign = 1.0 if norm_type > 0 else -1.0
        return pool(input.abs() * sign, kernel_size, stride, 0, 1, ceil_mode) * sign
    avg = {1: FC1.avg_pool1d, 2: FC.avg_pool2d, 3: FC3.avg_pool3d}[n]
    mean = avg(input.pow(norm_type), kernel_size, stride if stride is not None else kernel_size, 0, ceil_mode)
    return (mean.sign() * mean.abs().relu()).mul(math.prod(kernel)).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over windows of L: (sum x^p)^(1/p) (p = 1: sum pooling; p = inf: max pooling)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over (H, W) windows: (sum x^p)^(1/p)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over (D, H, W) windows: (sum x^p)^(1/p)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """ShuffleNet's channel shuffle (Zhang et al., CVPR 2018): (N, g * k, *) seen as (N, g, k, *), the two
    channel axes swapped, so that channel i * k + j moves to j * g + i."""
    if not FC._is_int(groups) or groups < 1:
        raise ArgumentError("groups: Number of groups to divide channels in must be positive. Value of "
                            f"groups:{groups}")
    if input.ndim < 3:
        raise ArgumentError(f"input: channel_shuffle expects input with > 2 dims, but got input with sizes "
                            f"{list(input.shape)}")
    n, c, *rest = input.shape
    if c % groups:
        raise ArgumentError(f"groups: Number of channels must be divisible by groups. Got {c} channels and "
                            f"{groups} groups.")
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)


native_channel_shuffle = channel_shuffle


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return FC1.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return FC.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=True):
    return FC3.max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size, return_indices=True):
    return FC1.adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size, return_indices=True):
    return FC.adaptive_max_pool2d(input, output_size, True)
