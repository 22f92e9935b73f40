"""The convolution and pooling primitives: Conv2d, ConvTranspose2d, the non-zero padding modes (Pad2d),
MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, AdaptiveMaxPool2d. 1-D layers are these with height 1.

Each is one C++ kernel forward and one backward (Pad2d is NumPy index algebra). Options (stride,
padding, ...) arrive already normalised to tuples by ``nn.functional``: stride and dilation
(rows, cols), conv padding (top, bottom, left, right), pooling padding (rows, cols). Every gradient is a
new array (``fresh_grads``).

Differentiable backwards are adjoint pairs on the same kernels: a linear op's backward is a primitive
whose backward is the op itself (pooling, padding); max pooling's scatter pairs with a gather at the
saved indices; convolution's backward is bilinear, ``Conv2dInputGrad`` (g, W) and ``Conv2dWeightGrad``
(x, g), whose gradients are again Conv2d and the other two: exact to every order.
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import LinearMap, Primitive


class Conv2d(Primitive):
    """y = conv2d(x, weight) + bias, x (N, C, H, W), weight (O, C / groups, kh, kw), bias (O,) or None.

    Saves x and weight; the backward computes only the gradients that are needed:
    dx = col2im(W^T dy), dW = dy cols^T, db = sum of dy over (N, oh, ow).
    """

    fresh_grads = True
    writes_grads_into = (1, 2)  # dW and db straight into the optimizer's slots (Primitive.writes_grads_into)

    @staticmethod
    def forward(ctx, x, weight, bias, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1):
        _save(ctx, x, weight, bias, (stride, padding, dilation, groups))
        return K.conv2d_forward(x, weight, bias, *ctx.options)

    @staticmethod
    def backward(ctx, g):
        return K.conv2d_backward(g, *ctx.saved, *ctx.options, grads=_wanted(ctx), into=ctx.grad_into)

    @staticmethod
    def backward_graph(ctx, g):
        x, weight = ctx.saved
        need = ctx.needs_input_grad
        gx = Conv2dInputGrad.apply(g, ctx.input_tensor(1, weight), x_shape=x.shape, options=ctx.options) \
            if need[0] else None
        gw = Conv2dWeightGrad.apply(ctx.input_tensor(0, x), g, w_shape=weight.shape, options=ctx.options) \
            if need[1] else None
        gb = g.sum((0, 2, 3)) if ctx.has_bias and len(need) > 2 and need[2] else None
        return gx, gw, gb


def _save(ctx, x, weight, bias, options: tuple) -> None:
    """What a convolution's backward needs: x, the weight, the options, whether there is a bias."""
    ctx.save_for_backward(x, weight)
    ctx.options = options
    ctx.has_bias = bias is not None


def _wanted(ctx) -> tuple:
    """The gradients (input, weight, bias) a convolution's backward computes."""
    need = ctx.needs_input_grad
    return (need[0], need[1], ctx.has_bias and len(need) > 2 and need[2])


class ConvTranspose2d(Primitive):
    """y = conv_transpose2d(x, weight) + bias, x (N, Ci, H, W), weight (Ci, Co / groups, kh, kw): the
    adjoint of Conv2d in its input, so dx = conv2d(dy, W) and dW is conv2d's weight gradient with x and
    dy swapped (one C++ call each way through the convolution's kernels)."""

    fresh_grads = True
    writes_grads_into = (1, 2)  # as Conv2d

    @staticmethod
    def forward(ctx, x, weight, bias, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1),
                groups=1):
        _save(ctx, x, weight, bias, (stride, padding, output_padding, dilation, groups))
        return K.conv_transpose2d_forward(x, weight, bias, *ctx.options)

    @staticmethod
    def backward(ctx, g):
        return K.conv_transpose2d_backward(g, *ctx.saved, *ctx.options, grads=_wanted(ctx), into=ctx.grad_into)

    @staticmethod
    def backward_graph(ctx, g):
        """The convolution's pair with the roles swapped: dx = Conv2d(g, W), dW = Conv2dWeightGrad(g, x)
        (x is the convolution's output gradient), both differentiable to every order."""
        x, weight = ctx.saved
        stride, padding, output_padding, dilation, groups = ctx.options
        conv = (stride, (padding[0], padding[0], padding[1], padding[1]), dilation, groups)
        try:
            sizes = K.conv2d_output_size(g.shape[2], g.shape[3], weight.shape[2], weight.shape[3], *conv[:3])
        except ValueError:  # options beyond the convolution's bounds
            sizes = None
        h, w = x.shape[2:]
        if sizes is None or sizes[0] < h or sizes[1] < w:
            return Primitive.backward_graph(ctx, g)  # first order only there
        # output_padding >= stride (< dilation): the convolution of the output overhangs x by
        # floor(output_padding / stride) at the bottom / right, where x is 0: crop dx there, pad x for dW
        need = ctx.needs_input_grad
        gx = None
        if need[0]:
            gx = _conv(g, ctx.input_tensor(1, weight), conv)
            gx = gx[:, :, :h, :w] if sizes != (h, w) else gx
        gw = Conv2dWeightGrad.apply(g, _pad_end(ctx.input_tensor(0, x), sizes), w_shape=weight.shape, options=conv) \
            if need[1] else None
        gb = g.sum((0, 2, 3)) if ctx.has_bias and len(need) > 2 and need[2] else None
        return gx, gw, gb


def _pad_end(x, sizes: tuple):
    """x (N, C, H, W), an array or a Tensor (recorded), with zero rows / columns appended up to ``sizes``."""
    bottom, right = sizes[0] - x.shape[2], sizes[1] - x.shape[3]
    if not bottom and not right:
        return x
    if hasattr(x, "_data"):
        from eigengrad.nn._functional_pad import pad

        return pad(x, (0, right, 0, bottom))
    return np.pad(x, ((0, 0), (0, 0), (0, bottom), (0, right)))


def _conv(x, weight, options):
    """conv2d(x, weight) without bias, a Tensor (recorded) or an array."""
    stride, padding, dilation, groups = options
    if hasattr(x, "_data") or hasattr(weight, "_data"):
        return Conv2d.apply(x, weight, None, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return K.conv2d_forward(x, weight, None, stride, padding, dilation, groups)


class Conv2dInputGrad(Primitive):
    """dx = conv2d's input gradient of (g, W) (a transposed convolution); bilinear: d/dg = conv2d(h, W),
    d/dW = conv2d's weight gradient of (h, g)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, g, weight, x_shape=(), options=()):
        ctx.save_for_backward(g, weight)
        ctx.x_shape, ctx.options = x_shape, options
        return K.conv2d_backward(g, np.zeros(x_shape, g.dtype), weight, *options, grads=(True, False, False))[0]

    @staticmethod
    def backward(ctx, h):
        g, weight = ctx.saved
        need = ctx.needs_input_grad
        gg = _conv(h, weight, ctx.options) if need[0] else None
        gw = K.conv2d_backward(g, h, np.zeros_like(weight), *ctx.options, grads=(False, True, False))[1] \
            if need[1] else None
        return gg, gw

    @staticmethod
    def backward_graph(ctx, h):
        g, weight = ctx.saved
        need = ctx.needs_input_grad
        gg = _conv(h, ctx.input_tensor(1, weight), ctx.options) if need[0] else None
        gw = Conv2dWeightGrad.apply(h, ctx.input_tensor(0, g), w_shape=weight.shape, options=ctx.options) \
            if need[1] else None
        return gg, gw


class Conv2dWeightGrad(Primitive):
    """dW = conv2d's weight gradient of (x, g); bilinear: d/dx = conv2d's input gradient of (g, h),
    d/dg = conv2d(x, h)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, g, w_shape=(), options=()):
        ctx.save_for_backward(x, g)
        ctx.w_shape, ctx.options = w_shape, options
        return K.conv2d_backward(g, x, np.zeros(w_shape, x.dtype), *options, grads=(False, True, False))[1]

    @staticmethod
    def backward(ctx, h):
        x, g = ctx.saved
        need = ctx.needs_input_grad
        gx = K.conv2d_backward(g, np.zeros_like(x), h, *ctx.options, grads=(True, False, False))[0] \
            if need[0] else None
        gg = _conv(x, h, ctx.options) if need[1] else None
        return gx, gg

    @staticmethod
    def backward_graph(ctx, h):
        x, g = ctx.saved
        need = ctx.needs_input_grad
        gx = Conv2dInputGrad.apply(ctx.input_tensor(1, g), h, x_shape=x.shape, options=ctx.options) \
            if need[0] else None
        gg = _conv(ctx.input_tensor(0, x), h, ctx.options) if need[1] else None
        return gx, gg


def _pad_index(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """Source index of every position of a padded axis ('reflect', 'replicate' or 'circular')."""
    numpy_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    return np.pad(np.arange(size), (before, after), mode=numpy_mode)


class Pad2d(Primitive):
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
        return (_unpad(g, ctx.maps),)

    @staticmethod
    def backward_graph(ctx, g):
        return (Pad2dBackward.apply(g, maps=ctx.maps),)


def _unpad(g: np.ndarray, maps=None) -> np.ndarray:
    """Pad2d's backward: R^T g C with the 0/1 matrices of the index maps (rows, cols, input shape)."""
    rows, cols, shape = maps
    r = np.zeros((shape[-2], len(rows)), g.dtype)
    r[rows, np.arange(len(rows))] = 1
    c = np.zeros((len(cols), shape[-1]), g.dtype)
    c[np.arange(len(cols)), cols] = 1
    return np.ascontiguousarray(r @ g @ c)


def _repad(x: np.ndarray, maps=None) -> np.ndarray:
    """Pad2d's forward given its index maps."""
    rows, cols, _ = maps
    return np.ascontiguousarray(x[..., rows[:, None], cols[None, :]])


class Pad2dBackward(LinearMap):
    """Pad2d's backward as a primitive; its adjoint is the padding again (``Repad``)."""

    fresh_grads = True
    map = staticmethod(_unpad)


class Repad(LinearMap):
    """Pad2d given its index maps (the adjoint of Pad2dBackward)."""

    fresh_grads = True
    map = staticmethod(_repad)


Pad2dBackward.adjoint, Repad.adjoint = Repad, Pad2dBackward


class MaxPool2d(Primitive):
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

    @staticmethod
    def backward_graph(ctx, g):
        return (MaxPool2dBackward.apply(g, idx=ctx.saved[0], input=ctx.input),)


def _scatter_maxima(g: np.ndarray, idx=None, input=None) -> np.ndarray:
    """g added at the flat plane indices ``idx`` into zeros of ``input`` = (shape, dtype)."""
    return K.max_pool2d_backward(g, idx, *input)


def _gather_planes(h: np.ndarray, idx=None, input=None) -> np.ndarray:
    """h (N, C, H, W) read at the flat plane indices ``idx`` (N, C, oh, ow)."""
    n, c = idx.shape[:2]
    flat = np.reshape(h, (n, c, -1))
    return np.take_along_axis(flat, idx.reshape(n, c, -1), axis=2).reshape(idx.shape)


class MaxPool2dBackward(LinearMap):
    """MaxPool2d's backward as a primitive: g scattered (added) to the maxima; its adjoint gathers at the
    maxima (``MaxPool2dGather``)."""

    fresh_grads = True
    map = staticmethod(_scatter_maxima)


class MaxPool2dGather(LinearMap):
    """x (N, C, H, W) read at max pooling's saved indices (the values of the maxima)."""

    fresh_grads = True
    map = staticmethod(_gather_planes)


MaxPool2dBackward.adjoint, MaxPool2dGather.adjoint = MaxPool2dGather, MaxPool2dBackward


class AvgPool2d(Primitive):
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

    @staticmethod
    def backward_graph(ctx, g):
        return (AvgPool2dBackward.apply(g, input=ctx.input, options=ctx.options),)


class AvgPool2dBackward(Primitive):
    """AvgPool2d's backward as a primitive (linear); its backward is the average pooling (its adjoint)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, g, input=None, options=()):
        ctx.input, ctx.options = input, options
        shape, dtype = input
        return K.avg_pool2d_backward(g.astype(dtype, copy=False), shape, *options)

    @staticmethod
    def backward(ctx, h):
        return (K.avg_pool2d_forward(h, *ctx.options),)

    @staticmethod
    def backward_graph(ctx, h):
        kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override = ctx.options
        return (AvgPool2d.apply(h, kernel_size=kernel_size, stride=stride, padding=padding, ceil_mode=ceil_mode,
                                count_include_pad=count_include_pad, divisor_override=divisor_override),)


class AdaptiveAvgPool2d(Primitive):
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

    @staticmethod
    def backward_graph(ctx, g):
        return (AdaptiveAvgPool2dBackward.apply(g, input=ctx.input),)


class AdaptiveAvgPool2dBackward(Primitive):
    """AdaptiveAvgPool2d's backward as a primitive (linear); its backward is the pooling (its adjoint)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, g, input=None):
        ctx.input, ctx.out_size = input, tuple(np.shape(g)[2:])
        shape, dtype = input
        return K.adaptive_avg_pool2d_backward(g.astype(dtype, copy=False), shape)

    @staticmethod
    def backward(ctx, h):
        return (K.adaptive_avg_pool2d_forward(h, ctx.out_size),)

    @staticmethod
    def backward_graph(ctx, h):
        return (AdaptiveAvgPool2d.apply(h, output_size=ctx.out_size),)


class AdaptiveMaxPool2d(Primitive):
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
    backward_graph = staticmethod(MaxPool2d.backward_graph)
