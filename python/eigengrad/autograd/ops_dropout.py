"""Dropout primitives: the mask is drawn in C++ (Philox, see ``eigengrad._kernels.dropout``) and kept as
uint8 for the backward, so the backward multiplies by exactly the mask the forward used. The gradient is
linear in the incoming one with a constant mask, so the differentiable backward is one multiplication."""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import Primitive


class Dropout(Primitive):
    """y = x * mask * scale (inverted dropout); dx = dy * mask * scale."""

    @staticmethod
    def forward(ctx, x, seed=0, offset=0, threshold=0, scale=1.0):
        y, mask = K.dropout(x, seed, offset, threshold, scale)
        ctx.saved = (mask,)
        ctx.scale, ctx.dtype = scale, x.dtype
        return y

    @staticmethod
    def backward(ctx, g):
        mask = ctx.saved[0]
        gx = K.masked_scale(K.reshape(g, (mask.size, 1)), mask, ctx.scale, ctx.dtype)  # (g may be broadcast)
        return (gx.reshape(g.shape),)

    @staticmethod
    def backward_graph(ctx, g):
        return (g * (ctx.saved[0] * ctx.scale).astype(ctx.dtype).reshape(g.shape),)


class AlphaDropout(Primitive):
    """y = mask ? a x + b_keep : b_drop (Klambauer et al. 2017); dx = dy * mask * a."""

    @staticmethod
    def forward(ctx, x, seed=0, offset=0, threshold=0, a=1.0, b_keep=0.0, b_drop=0.0):
        y, mask = K.alpha_dropout(x, seed, offset, threshold, a, b_keep, b_drop)
        ctx.saved = (mask,)
        ctx.scale, ctx.dtype = a, x.dtype
        return y

    backward = staticmethod(Dropout.backward)
    backward_graph = staticmethod(Dropout.backward_graph)


class FeatureDropout(Primitive):
    """Dropout of whole rows of x viewed as (rows, inner): the channels of Dropout2d."""

    @staticmethod
    def forward(ctx, x, rows=1, seed=0, offset=0, threshold=0, scale=1.0):
        shape = np.shape(x)
        y, mask = K.feature_dropout(np.reshape(x, (rows, -1)) if rows else np.reshape(x, (0, 0)), seed, offset,
                                    threshold, scale)
        ctx.saved = (mask,)
        ctx.scale, ctx.dtype = scale, x.dtype
        return y.reshape(shape)

    @staticmethod
    def backward(ctx, g):
        mask = ctx.saved[0]
        rows = mask.size
        gx = K.masked_scale(g.reshape(rows, -1) if rows else g.reshape(0, 0), mask, ctx.scale, ctx.dtype)
        return (gx.reshape(g.shape),)

    @staticmethod
    def backward_graph(ctx, g):
        mask = ctx.saved[0]
        if not g.size:
            return (g * 1,)
        scale = (mask * ctx.scale).astype(ctx.dtype).reshape(mask.size, 1)
        return ((g.reshape(mask.size, -1) * scale).reshape(g.shape),)
