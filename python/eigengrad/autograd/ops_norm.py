"""The normalisation primitives: batch, layer, group and local response norm.

Each is one fused C++ kernel forward and one backward in closed form (not the autograd of its
pieces). The statistics of the forward (float64 mean and 1/std) are saved for the backward. The
inputs of ``apply`` are (input, weight, bias); the other arguments are options. Every gradient is a
new array from the kernel (``fresh_grads``: the engine need not copy it into a leaf's ``grad``).

The differentiable backwards are composites (``autograd.composite``): the normalisation written with
Tensor operations (statistics in the input's dtype), differentiated by a nested recorded pass.
"""
from __future__ import annotations

from eigengrad import _kernels as K
import numpy as np

from eigengrad.autograd.composite import composite_backward
from eigengrad.autograd.function import Primitive
from eigengrad.autograd.ops_combine import Cat


def _normalize(x, axes: tuple, eps: float):
    """(x - mean) / sqrt(biased var + eps) over ``axes``, as Tensor operations."""
    centred = x - x.mean(axes, keepdim=True)
    return centred / ((centred * centred).mean(axes, keepdim=True) + eps).sqrt()


def _affine(y, weight, bias, shape: tuple):
    """y * weight + bias with weight and bias (either may be None) viewed as ``shape``."""
    if weight is not None:
        y = y * _view(weight, shape)
    if bias is not None:
        y = y + _view(bias, shape)
    return y


def _view(p, shape: tuple):
    return p.reshape(*shape) if hasattr(p, "_data") else np.reshape(p, shape)


def _channel_shape(x) -> tuple:
    """The shape that broadcasts a per-channel vector over x (N, C, *)."""
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def _wanted(ctx, weight) -> tuple:
    need = ctx.needs_input_grad
    return need[0], weight is not None and need[1], len(need) > 2 and need[2]


class BatchNorm(Primitive):
    """Batch norm per channel (axis 1) of x (N, C, *).

    ``training``: normalise with the batch's statistics and update ``running_mean``/``running_var``
    (float arrays, in place) when given; else normalise with the running statistics (constants for
    the backward).
    """

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean=None, running_var=None, training=True, momentum=0.1, eps=1e-5):
        y, mean, invstd = K.batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps)
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.training, ctx.eps, ctx.bias = training, eps, bias
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight, mean, invstd = ctx.saved
        return K.batch_norm_backward(g, x, mean, invstd, weight, ctx.training, grads=_wanted(ctx, weight))

    @staticmethod
    def backward_graph(ctx, g):
        x, weight, mean, invstd = ctx.saved
        shape = _channel_shape(x)

        def composite(x, weight, bias):
            if ctx.training:
                y = _normalize(x, (0,) + tuple(range(2, x.ndim)), ctx.eps)
            else:  # the running statistics are constants
                y = (x - mean.astype(x.dtype).reshape(shape)) * invstd.astype(x.dtype).reshape(shape)
            return _affine(y, weight, bias, shape)

        return composite_backward(ctx, g, composite, (x, weight, ctx.bias))


class LayerNorm(Primitive):
    """Layer norm over the last ``normalized_ndim`` dimensions; weight and bias have their shape."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_ndim=1, eps=1e-5):
        y, mean, rstd = K.layer_norm_forward(x, normalized_ndim, weight, bias, eps)
        ctx.save_for_backward(x, weight, mean, rstd)
        ctx.normalized_ndim, ctx.eps, ctx.bias = normalized_ndim, eps, bias
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight, mean, rstd = ctx.saved
        return K.layer_norm_backward(g, x, mean, rstd, ctx.normalized_ndim, weight, grads=_wanted(ctx, weight))

    @staticmethod
    def backward_graph(ctx, g):
        x, weight = ctx.saved[:2]
        k = ctx.normalized_ndim
        shape = x.shape[x.ndim - k:]

        def composite(x, weight, bias):
            return _affine(_normalize(x, tuple(range(x.ndim - k, x.ndim)), ctx.eps), weight, bias, shape)

        return composite_backward(ctx, g, composite, (x, weight, ctx.bias))


class GroupNorm(Primitive):
    """Group norm of x (N, C, *): statistics per (sample, group of C / num_groups channels), affine per channel."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, weight, bias, num_groups=1, eps=1e-5):
        y, mean, rstd = K.group_norm_forward(x, num_groups, weight, bias, eps)
        ctx.save_for_backward(x, weight, mean, rstd)
        ctx.num_groups, ctx.eps, ctx.bias = num_groups, eps, bias
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight, mean, rstd = ctx.saved
        return K.group_norm_backward(g, x, mean, rstd, ctx.num_groups, weight, grads=_wanted(ctx, weight))

    @staticmethod
    def backward_graph(ctx, g):
        x, weight = ctx.saved[:2]

        def composite(x, weight, bias):
            grouped = x.reshape(x.shape[0], ctx.num_groups, -1)
            y = _normalize(grouped, (2,), ctx.eps).reshape(*x.shape)
            return _affine(y, weight, bias, _channel_shape(x))

        return composite_backward(ctx, g, composite, (x, weight, ctx.bias))


class LocalResponseNorm(Primitive):
    """Local response norm across channels (PyTorch's definition); saves the divisor base for the backward."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, size=5, alpha=1e-4, beta=0.75, k=1.0):
        y, div = K.local_response_norm_forward(x, size, alpha, beta, k)
        ctx.save_for_backward(x, div)
        ctx.options, ctx.k = (size, alpha, beta), k
        return y

    @staticmethod
    def backward(ctx, g):
        x, div = ctx.saved
        return (K.local_response_norm_backward(g, x, div, *ctx.options),)

    @staticmethod
    def backward_graph(ctx, g):
        size, alpha, beta = ctx.options

        def composite(x):
            """x / (k + alpha / size * (window sum over channels of x^2)) ** beta (PyTorch's definition)."""
            x3 = x.reshape(x.shape[0], x.shape[1], -1)
            n, c, s = x3.shape
            before, after = size // 2, (size - 1) // 2
            padded = Cat.apply(np.zeros((n, before, s), x.dtype), x3 * x3, np.zeros((n, after, s), x.dtype), dim=1)
            window = padded[:, 0:c]
            for j in range(1, size):
                window = window + padded[:, j:j + c]
            div = (window * (alpha / size) + ctx.k) ** beta
            return (x3 / div).reshape(*x.shape)

        return composite_backward(ctx, g, composite, (ctx.saved[0],))
