"""The convolution and pooling primitives: Conv2d, ConvTranspose2d, the non-zero padding modes (Pad2d),
MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d. 1-D layers are these with height 1.

Each is one C++ kernel forward and one backward (Pad2d is NumPy index algebra). Options (stride,
padding, ...) arrive already normalised to tuples by ``nn.functional``: stride and dilation
(rows, cols), conv padding (top, bottom, left, right), pooling padding (rows, cols). Every gradient is a
new array (``fresh_grads``).
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import Function


class Conv2d(Function):
    """y = conv2d(x, weight) + bias, x (N, C, H, W), weight (O, C / groups, kh, kw), bias (O,) or None.

    Saves x and weight; the backward computes only the gradients that are needed:
    dx = col2im(W^T dy), dW = dy cols^T, db = sum of dy over (N, oh, ow).
    """

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, weight, bias, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
        _save(ctx, x, weight, bias, (stride, padding, dilation, groups))
        return K.conv2d_forward(x, weight, bias, *ctx.options)

    @staticmethod
    def backward(ctx, g):
        return K.conv2d_backward(g, *ctx.saved, *ctx.options, grads=_wanted(ctx))


def _save(ctx, x, weight, bias, options: tuple) -> None:
    """What a convolution's backward needs: x, the weight, the options, whether there is a bias."""
    ctx.save_for_backward(x, weight)
    ctx.options = options
    ctx.has_bias = bias is not None


def _wanted(ctx) -> tuple:
    """The gradients (input, weight, bias) a convolution's backward computes."""
    need = ctx.needs_input_grad
    return (need[0], need[1], ctx.has_bias and len(need) > 2 and need[2])


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, weight) + bias, x (N, Ci, H, W), weight (Ci, Co / groups, kh, kw): the
    adjoint of Conv2d in its input, so dx = conv2d(dy, W) and dW is conv2d's weight gradient with x and
    dy swapped (one C++ call each way through the convolution's kernels)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, weight, bias, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1),
                groups=1):
        _save(ctx, x, weight, bias, (stride, padding, output_padding, dilation, groups))
        return K.conv_transpose2d_forward(x, weight, bias, *ctx.options)

    @staticmethod
    def backward(ctx, g):
        return K.conv_transpose2d_backward(g, *ctx.saved, *ctx.options, grads=_wanted(ctx))


def _pad_index(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source index of every position of a padded axis ('reflect', 'replicate' or 'circular')."""
    numpy_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    return np.pad(np.arange(size), (before, after), mode=numpy_mode)


class Pad2d(Function):
    """Pads the last two dims of x with 'reflect', 'replicate' or 'circular' values (PyTorch's modes):
    y = x[..., rows, cols] for the padded index maps rows, cols; dx sums dy over the positions that
    read each element (R^T dy C with 0/1 matrices R, C)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, padding=(0, 0, 0, 0), mode="reflect"):
        top, bottom, left, right = padding
        rows = _pad_index(x.shape[-2], top, bottom, mode)
        cols = _pad_index(x.shape[-1], left, right, mode)
        ctx.maps = (rows, cols, x.shape)
        return np.ascontiguousarray(x[..., rows[:, None], cols[None, :]])

    @staticmethod
    def backward(ctx, g):
        rows, cols, shape = ctx.maps
        r = np.zeros((shape[-2], len(rows)), g.dtype)
        r[rows, np.arange(len(rows))] = 1
        c = np.zeros((len(cols), shape[-1]), g.dtype)
        c[np.arange(len(cols)), cols] = 1
        return (np.ascontiguousarray(r @ g @ c),)


class MaxPool2d(Function):
    """Max pooling of x (N, C, H, W) with -inf padding; saves the int64 flat indices of the maxima.
    ``indices_out`` (a list, optional) receives the indices array (for return_indices)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, kernel_size=(1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1), ceil_mode=False,
                indices_out=None):
        y, idx = K.max_pool2d_forward(x, kernel_size, stride, padding, dilation, ceil_mode)
        ctx.save_for_backward(idx)
        ctx.input = (x.shape, x.dtype)
        if indices_out is not None:
            indices_out.append(idx)
        return y

    @staticmethod
    def backward(ctx, g):
        (idx,) = ctx.saved
        return (K.max_pool2d_backward(g, idx, *ctx.input),)


class AvgPool2d(Function):
    """Average pooling of x (N, C, H, W), PyTorch's divisor rule (see ``nn.functional.avg_pool2d``)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, kernel_size=(1, 1), stride=(1, 1), padding=(0, 0), ceil_mode=False, count_include_pad=True,
                divisor_override=None):
        ctx.options = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)
        ctx.input = (x.shape, x.dtype)
        return K.avg_pool2d_forward(x, *ctx.options)

    @staticmethod
    def backward(ctx, g):
        shape, dtype = ctx.input
        return (K.avg_pool2d_backward(g.astype(dtype, copy=False), shape, *ctx.options),)


class AdaptiveAvgPool2d(Function):
    """Adaptive average pooling of x (N, C, H, W) to output_size (oh, ow)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, output_size=(1, 1)):
        ctx.input = (x.shape, x.dtype)
        return K.adaptive_avg_pool2d_forward(x, output_size)

    @staticmethod
    def backward(ctx, g):
        shape, dtype = ctx.input
        return (K.adaptive_avg_pool2d_backward(g.astype(dtype, copy=False), shape),)


class AdaptiveMaxPool2d(Function):
    """Adaptive max pooling of x (N, C, H, W) to output_size (oh, ow); saves the int64 flat indices of the
    maxima (its backward is MaxPool2d's). ``indices_out`` (a list, optional) receives the indices."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, output_size=(1, 1), indices_out=None):
        y, idx = K.adaptive_max_pool2d_forward(x, output_size)
        ctx.save_for_backward(idx)
        ctx.input = (x.shape, x.dtype)
        if indices_out is not None:
            indices_out.append(idx)
        return y

    backward = staticmethod(MaxPool2d.backward)
