"""The upsampling primitive: nearest, nearest-exact and bilinear interpolation of (N, C, H, W) (1-D inputs
arrive with a height of 1), one C++ kernel each way (``eigengrad._kernels.upsample_*``). Options arrive
checked by ``nn.functional.interpolate``: the output size, the kernel's mode ('nearest', 'nearest-exact'
or 'linear'), the scale factors PyTorch would use (0: none), align_corners and which of PyTorch's nearest
index rules its forward takes (``legacy_nearest``)."""
from __future__ import annotations

from eigengrad import _kernels as K
from eigengrad.autograd.function import LinearMap, Primitive


class Upsample(Primitive):
    """y = the interpolation of x to ``size``; dx scatters dy back to the sources with the same weights,
    in a fixed order per plane (deterministic on any number of threads)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, x, size=(1, 1), mode="nearest", scales=(0.0, 0.0), align_corners=False, legacy_nearest=False):
        ctx.options = (mode, scales, align_corners, legacy_nearest)
        ctx.input_shape = x.shape
        return K.upsample_forward(x, size, mode, scales, align_corners, legacy_nearest)

    @staticmethod
    def backward(ctx, g):
        return (K.upsample_backward(g, ctx.input_shape, *ctx.options),)

    @staticmethod
    def backward_graph(ctx, g):
        mode, scales, align_corners, legacy_nearest = ctx.options
        return (UpsampleBackward.apply(g, input_shape=ctx.input_shape, size=tuple(g.shape[2:]), mode=mode,
                                       scales=scales, align_corners=align_corners, legacy_nearest=legacy_nearest),)


def _scatter(g, input_shape=(), size=(), mode="nearest", scales=(0.0, 0.0), align_corners=False,
             legacy_nearest=False):
    """Upsample's backward: g (N, C, *size) scattered back to x's shape with the interpolation weights."""
    return K.upsample_backward(g, input_shape, mode, scales, align_corners, legacy_nearest)


def _interpolate(h, input_shape=(), size=(), mode="nearest", scales=(0.0, 0.0), align_corners=False,
                 legacy_nearest=False):
    """The scatter's adjoint: the interpolation of h (x's shape) to ``size``, by the same index rule."""
    return K.upsample_forward(h, size, mode, scales, align_corners, legacy_nearest)


class UpsampleBackward(LinearMap):
    """Upsample's backward as a primitive (linear in g); its adjoint is the interpolation (``Interpolate``)."""

    fresh_grads = True
    map = staticmethod(_scatter)


class Interpolate(LinearMap):
    """The interpolation given its options (UpsampleBackward's adjoint)."""

    fresh_grads = True
    map = staticmethod(_interpolate)


UpsampleBackward.adjoint, Interpolate.adjoint = Interpolate, UpsampleBackward
