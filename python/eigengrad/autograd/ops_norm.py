"""The normalisation primitives: batch, layer, group and local response norm.

Each is one fused C++ kernel forward and one backward in closed form (not the autograd of its
pieces). The statistics of the forward (float64 mean and 1/std) are saved for the backward. The
inputs of ``apply`` are (input, weight, bias); the other arguments are options. Every gradient is a
new array from the kernel (``fresh_grads``: the engine need not copy it into a leaf's ``grad``).
"""
from __future__ import annotations

from eigengrad import _kernels as K
from eigengrad.autograd.function import Function


def _wanted(ctx, weight) -> tuple:
    need = ctx.needs_input_grad
    return need[0], weight is not None and need[1], len(need) > 2 and need[2]


class BatchNorm(Function):
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
        ctx.training = training
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight, mean, invstd = ctx.saved
        return K.batch_norm_backward(g, x, mean, invstd, weight, ctx.training, grads=_wanted(ctx, weight))


class LayerNorm(Function):
    """Layer norm over the last ``normalized_ndim`` dimensions; weight and bias have their shape."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, weight, bias, normalized_ndim=1, eps=1e-5):
        y, mean, rstd = K.layer_norm_forward(x, normalized_ndim, weight, bias, eps)
        ctx.save_for_backward(x, weight, mean, rstd)
        ctx.normalized_ndim = normalized_ndim
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight, mean, rstd = ctx.saved
        return K.layer_norm_backward(g, x, mean, rstd, ctx.normalized_ndim, weight, grads=_wanted(ctx, weight))


class GroupNorm(Function):
    """Group norm of x (N, C, *): statistics per (sample, group of C / num_groups channels), affine per channel."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, weight, bias, num_groups=1, eps=1e-5):
        y, mean, rstd = K.group_norm_forward(x, num_groups, weight, bias, eps)
        ctx.save_for_backward(x, weight, mean, rstd)
        ctx.num_groups = num_groups
        return y

    @staticmethod
    def backward(ctx, g):
        x, weight, mean, rstd = ctx.saved
        return K.group_norm_backward(g, x, mean, rstd, ctx.num_groups, weight, grads=_wanted(ctx, weight))


class LocalResponseNorm(Function):
    """Local response norm across channels (PyTorch's definition); saves the divisor base for the backward."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, size=5, alpha=1e-4, beta=0.75, k=1.0):
        y, div = K.local_response_norm_forward(x, size, alpha, beta, k)
        ctx.save_for_backward(x, div)
        ctx.options = (size, alpha, beta)
        return y

    @staticmethod
    def backward(ctx, g):
        x, div = ctx.saved
        return (K.local_response_norm_backward(g, x, div, *ctx.options),)
