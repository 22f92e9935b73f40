"""The upsampling primitive: nearest, nearest-exact and bilinear interpolation of (N, C, H, W) (1-D inputs
arrive with a height of 1), one C++ kernel each way (``eigengrad._kernels.upsample_*``). Options arrive
checked by ``nn.functional.interpolate``: the output size, the kernel's mode ('nearest', 'nearest-exact'
or 'linear'), the scale factors PyTorch would use (0: none), align_corners and which of PyTorch's nearest
index rules its forward takes (``legacy_nearest``)."""
from __future__ import annotations

from eigengrad import _kernels as K
from eigengrad.autograd.function import Function


class Upsample(Function):
    """y = the interpolation of x to ``size``; dx scatters dy back to the sources with the same weights,
    in a fixed order per plane (deterministic on any number of threads)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, size=(1, 1), mode="nearest", scales=(0.0, 0.0), align_corners=False, legacy_nearest=False):
        ctx.options = (mode, scales, align_corners, legacy_nearest)
        ctx.input_shape = x.shape
        return K.upsample_forward(x, size, mode, scales, align_corners)

    @staticmethod
    def backward(ctx, g):
        return (K.upsample_backward(g, ctx.input_shape, *ctx.options),)
