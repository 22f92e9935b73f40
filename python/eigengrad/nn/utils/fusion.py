"""``torch.nn.utils.fusion``: fold an eval-mode BatchNorm into the convolution or linear layer before it.

With the statistics fixed, BatchNorm is the affine map :math:`y = \\gamma (x - \\mu) / \\sqrt{\\sigma^2 + \\epsilon}
+ \\beta` per channel, so the layer :math:`x \\mapsto W x + b` followed by it is the layer with
:math:`W' = s W` (row by output channel) and :math:`b' = s (b - \\mu) + \\beta`, where
:math:`s = \\gamma / \\sqrt{\\sigma^2 + \\epsilon}`. The operations are PyTorch's, in its order, so the fused
weights are the same numbers as ``torch.nn.utils.fuse_conv_bn_weights``'s.
"""
from __future__ import annotations

import copy

from eigengrad.autograd.grad_mode import no_grad
from eigengrad.nn.parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]


def fuse_conv_bn_eval(conv, bn, transpose: bool = False):
    """A new convolution (a deep copy of ``conv``) with the BatchNorm ``bn`` after it folded in. Both must be in
    eval mode, and ``bn`` must have running statistics. ``transpose``: ``conv`` is a transposed convolution
    (its output channels are its weight's dim 1)."""
    if conv.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused_conv = copy.deepcopy(conv)
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused_conv.weight, fused_conv.bias = fuse_conv_bn_weights(
        fused_conv.weight, fused_conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias, transpose)
    return fused_conv


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose: bool = False):
    """The fused ``(weight, bias)`` Parameters of a convolution with weight ``conv_w`` and bias ``conv_b`` (None:
    zeros) followed by BatchNorm with running mean ``bn_rm``, running variance ``bn_rv``, ``bn_eps`` and the affine
    ``bn_w``, ``bn_b`` (None: ones, zeros). The weight keeps ``conv_w``'s dtype, the bias ``conv_b``'s;
    ``requires_grad`` is taken from ``conv_w`` and ``conv_b``."""
    from eigengrad import ones_like, rsqrt, zeros_like

    with no_grad():
        conv_weight_dtype = conv_w.dtype
        conv_bias_dtype = conv_b.dtype if conv_b is not None else conv_weight_dtype
        if conv_b is None:
            conv_b = zeros_like(bn_rm)
        if bn_w is None:
            bn_w = ones_like(bn_rm)
        if bn_b is None:
            bn_b = zeros_like(bn_rm)
        bn_var_rsqrt = rsqrt(bn_rv + bn_eps)
        shape = ([1, -1] if transpose else [-1, 1]) + [1] * (len(conv_w.shape) - 2)
        fused_conv_w = (conv_w * (bn_w * bn_var_rsqrt).reshape(shape)).to(dtype=conv_weight_dtype)
        fused_conv_b = ((conv_b - bn_rm) * bn_var_rsqrt * bn_w + bn_b).to(dtype=conv_bias_dtype)
    return Parameter(fused_conv_w, conv_w.requires_grad), Parameter(fused_conv_b, conv_b.requires_grad)


def fuse_linear_bn_eval(linear, bn):
    """A new linear layer (a deep copy of ``linear``) with the BatchNorm ``bn`` after it folded in; both in eval
    mode, and ``bn.num_features`` equal to ``linear.out_features`` or 1."""
    if linear.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused_linear = copy.deepcopy(linear)
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError(
            f"To fuse, linear.out_features == bn.num_features or bn.num_features == 1, "
            f"got linear.out_features={linear.out_features} and bn.num_features={bn.num_features}")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused_linear.weight, fused_linear.bias = fuse_linear_bn_weights(
        fused_linear.weight, fused_linear.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    return fused_linear


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """The fused ``(weight, bias)`` Parameters of a linear layer (``linear_b`` None: zeros) followed by BatchNorm
    with these statistics and affine parameters (here ``bn_w`` and ``bn_b`` are required, as in PyTorch)."""
    from eigengrad import rsqrt, zeros_like

    with no_grad():
        linear_weight_dtype = linear_w.dtype
        linear_bias_dtype = linear_b.dtype if linear_b is not None else linear_weight_dtype
        if linear_b is None:
            linear_b = zeros_like(bn_rm)
        bn_scale = bn_w * rsqrt(bn_rv + bn_eps)
        fused_w = linear_w * bn_scale.unsqueeze(-1).to(dtype=linear_weight_dtype)
        fused_b = ((linear_b - bn_rm) * bn_scale + bn_b).to(dtype=linear_bias_dtype)
    return Parameter(fused_w, linear_w.requires_grad), Parameter(fused_b, linear_b.requires_grad)
