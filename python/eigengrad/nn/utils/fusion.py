"""``torch.nn.utils.fusion``: fold an eval-mode BatchNorm into the convolution or linear layer before it.

With the statistics fixed, BatchNorm is the affine map :math:`y = \\gamma (x - \\mu) / \\sqrt{\\sigma^2 + \\epsilon}
+ \\beta` per channel, so the layer :math:`x \\mapsto W x + b` followed by it is the layer with
:math:`W' = s W` (row by output channel) and :math:`b' = s (b - \\mu) + \\beta`, where
:math:`s = \\gamma / \\sqrt{\\sigma^2 + \\epsilon}`.
"""
from __future__ import annotations

import copy

from eigengrad.autograd.grad_mode import no_grad
from eigengrad.nn.parameter import Parameter


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose: bool = False):
    """The fused ``(weight, bias)`` Parameters of a convolution (``transpose``: a transposed one, whose output
    channels are its weight's dim 1) followed by BatchNorm with these statistics and affine parameters."""
    from eigengrad import ones_like, zeros_like

    with no_grad():
        dtype = conv_w.dtype
        conv_b = zeros_like(bn_rm) if conv_b is None else conv_b
        bn_w = ones_like(bn_rm) if bn_w is None else bn_w
        bn_b = zeros_like(bn_rm) if bn_b is None else bn_b
        scale = bn_w * (bn_rv + bn_eps).rsqrt()
        shape = [1] * conv_w.ndim
        shape[1 if transpose else 0] = -1
        weight = (conv_w * scale.reshape(shape)).to(dtype)
        bias = ((conv_b - bn_rm) * scale + bn_b).to(dtype)
    return Parameter(weight, conv_w.requires_grad), Parameter(bias, conv_b.requires_grad)


def fuse_conv_bn_eval(conv, bn, transpose: bool = False):
    """A copy of the eval-mode ``conv`` with the eval-mode ``bn`` after it folded in."""
    if conv.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused = copy.deepcopy(conv)
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("bn: fusion needs the running statistics (track_running_stats=True)")
    fused.weight, fused.bias = fuse_conv_bn_weights(fused.weight, fused.bias, bn.running_mean, bn.running_var,
                                                    bn.eps, bn.weight, bn.bias, transpose)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """The fused ``(weight, bias)`` Parameters of a linear layer followed by BatchNorm1d."""
    return fuse_conv_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b)


def fuse_linear_bn_eval(linear, bn):
    """A copy of the eval-mode ``linear`` with the eval-mode ``bn`` after it folded in."""
    if linear.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    if linear.out_features != bn.num_features:
        raise AssertionError("To fuse, linear.out_features must equal bn.num_features")
    return fuse_conv_bn_eval(linear, bn)
