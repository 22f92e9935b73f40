"""Primitives for LeakyReLU, ELU/SELU, GELU, Softplus, PReLU and Maxout: one fused C++ kernel forward,
one backward (from the saved input x).

Differentiable backwards: ``Unary``'s is ``UnaryBackward`` (g f'(x) on the kernel; its own gradient
w.r.t. x is g f''(x), written with Tensor operations, so every order is exact); PReLU's is written with
Tensor operations; Maxout's is a gather/scatter pair.
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import Primitive, _tensor_type
from eigengrad.autograd.ops import Gather, Sigmoid, Tanh, _reshape
from eigengrad.autograd.ops_inplace import Clamp


class Unary(Primitive):
    """y = f(x) for ``kind`` in leaky_relu, elu, gelu, softplus with the kernel's ``params``."""

    @staticmethod
    def forward(ctx, x, kind="", params=()):
        ctx.saved = (x,)
        ctx.kind, ctx.params = kind, params
        return K.unary_forward(kind, x, *params)

    @staticmethod
    def backward(ctx, g):
        return (K.unary_backward(ctx.kind, g, ctx.saved[0], *ctx.params),)

    @staticmethod
    def backward_graph(ctx, g):
        return (UnaryBackward.apply(g, ctx.input_tensor(0, ctx.saved[0]), kind=ctx.kind, params=ctx.params),)


_SQRT_2PI = float(np.sqrt(2 * np.pi))
_BETA = float(np.sqrt(2 / np.pi))
_KAPPA = 0.044715


def second_derivative(kind: str, params: tuple, x):
    """f''(x) of the ``Unary`` activation ``kind`` as Tensor operations on the Tensor ``x`` (None: zero).

    elu: alpha scale s^2 exp(s x) for x < 0 (s the input scale; 0 at x = 0, as PyTorch's elu_double_backward,
    although the first derivative takes the x <= 0 branch there); gelu: phi(x) (2 - x^2), phi the normal
    density; gelu tanh (f = x sigmoid(v), v = 2 beta (x + kappa x^3)): 2 s' v' + x s' ((1 - 2 s) v'^2 + v'')
    with s' = s (1 - s); softplus: beta sigmoid(beta x) (1 - sigmoid(beta x)) for beta x strictly below the
    threshold (PyTorch's softplus_double_backward; 0 at beta x = threshold).
    """
    dtype = x.dtype
    if kind == "leaky_relu":
        return None
    if kind == "elu":
        alpha, scale, s = params
        return (Clamp.apply(x, None, 0.0) * s).exp() * ((x._data < 0) * (alpha * scale * s * s)).astype(dtype)
    if kind == "softplus":
        beta, threshold = params
        sig = Sigmoid.apply(x * beta)
        return sig * (1 - sig) * ((x._data * beta < threshold) * beta).astype(dtype)
    if params[0]:  # gelu, tanh approximation
        sig = Sigmoid.apply((x + x * x * x * _KAPPA) * (2 * _BETA))
        ds = sig * (1 - sig)
        dv = (x * x * (3 * _KAPPA) + 1) * (2 * _BETA)
        return ds * dv * 2 + x * ds * ((1 - sig * 2) * dv * dv + x * (12 * _BETA * _KAPPA))
    return (x * x * -0.5).exp() * (1 / _SQRT_2PI) * (2 - x * x)


class UnaryBackward(Primitive):
    """``Unary``'s backward as a primitive: inputs (g, x), output g f'(x) (the kernel); its gradients are
    h f'(x) for g (this primitive again) and h g f''(x) for x (``second_derivative``)."""

    @staticmethod
    def forward(ctx, g, x, kind="", params=()):
        ctx.saved = (g, x)
        ctx.kind, ctx.params = kind, params
        return K.unary_backward(kind, g, x, *params)

    @staticmethod
    def backward(ctx, h):
        g, x = ctx.saved
        need = ctx.needs_input_grad
        gg = K.unary_backward(ctx.kind, h, x, *ctx.params) if need[0] else None
        gx = None
        if need[1]:  # (piecewise linear, leaky_relu: f'' = 0, a zero gradient rather than none, as PyTorch's)
            f2 = second_derivative(ctx.kind, ctx.params, _tensor_type()._wrap(x))
            gx = np.zeros_like(x) if f2 is None else h * g * f2._data
        return gg, gx

    @staticmethod
    def backward_graph(ctx, h):
        g, x = ctx.saved
        xt = ctx.input_tensor(1, x)
        gg = UnaryBackward.apply(h, xt, kind=ctx.kind, params=ctx.params) if ctx.needs_input_grad[0] else None
        gx = None
        if ctx.needs_input_grad[1]:
            f2 = second_derivative(ctx.kind, ctx.params, xt)
            gx = _tensor_type()._wrap(np.zeros_like(x)) if f2 is None else h * ctx.input_tensor(0, g) * f2
        return gg, gx


def _as3d(shape: tuple, shared: bool) -> tuple:
    """(outer, channels, inner) of an input of ``shape`` with the channels on dim 1 (PyTorch's PReLU)."""
    if len(shape) < 2:
        return (1, 1, int(np.prod(shape, dtype=np.int64)))
    inner = int(np.prod(shape[2:], dtype=np.int64))
    return (1, 1, int(np.prod(shape, dtype=np.int64))) if shared else (shape[0], shape[1], inner)


class PReLU(Primitive):
    """y = x > 0 ? x : w[c] x, c the channel (dim 1); dw[c] = sum over x <= 0 of dy x."""

    @staticmethod
    def forward(ctx, x, weight):
        shape3 = _as3d(np.shape(x), weight.size == 1)
        ctx.saved = (x, weight)
        ctx.shape3 = shape3
        return K.prelu_forward(np.reshape(x, shape3), weight.reshape(-1)).reshape(np.shape(x))

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved
        need = ctx.needs_input_grad
        gx, gw = K.prelu_backward(g.reshape(ctx.shape3), np.reshape(x, ctx.shape3), weight.reshape(-1), need[1])
        return (gx.reshape(g.shape) if need[0] else None), (gw.reshape(weight.shape) if need[1] else None)

    @staticmethod
    def backward_graph(ctx, g):
        """dx = g (x > 0 ? 1 : w), dw = sum over x <= 0 of g x, per channel (bilinear: exact to every order).

        At x = 0 the value of dx takes the slope w, but its gradient w.r.t. w, and dw's w.r.t. x, are 0 there,
        as in PyTorch's _prelu_kernel_backward double backward (``where(self >= 0, 0, ...)``): the w slope at
        0 enters as a constant."""
        x, weight = ctx.saved
        shape3, need = ctx.shape3, ctx.needs_input_grad
        x3 = np.reshape(x, shape3)
        pos = (x3 > 0).astype(x.dtype)
        neg = (x3 < 0).astype(x.dtype)
        zero = (x3 == 0).astype(x.dtype)
        g3 = g.reshape(shape3)
        gx = gw = None
        if need[0]:
            w3 = _reshape(ctx.input_tensor(1, weight), (1, -1, 1))
            w3c = np.reshape(weight, (1, -1, 1))
            gx = (g3 * (w3 * neg + pos + zero * w3c)).reshape(x.shape)
        if need[1]:
            gw = (g3 * _reshape(ctx.input_tensor(0, x), shape3) * neg).sum((0, 2)).reshape(weight.shape)
        return gx, gw


class MaxPieces(Primitive):
    """y[..., j] = max_k z[..., j pieces + k] (Maxout's max over the pieces of each unit); the gradient goes
    to the first maximum."""

    @staticmethod
    def forward(ctx, z, pieces=1):
        shape = np.shape(z)
        units = shape[-1] // pieces
        y, idx = K.maxout_forward(np.reshape(z, (-1, pieces)))
        ctx.saved = (idx,)
        ctx.pieces, ctx.shape = pieces, shape
        return y.reshape(shape[:-1] + (units,))

    @staticmethod
    def backward(ctx, g):
        gz = K.maxout_backward(g.reshape(-1), ctx.saved[0], ctx.pieces)
        return (gz.reshape(ctx.shape),)

    @staticmethod
    def backward_graph(ctx, g):
        return (MaxPiecesBackward.apply(g, idx=ctx.saved[0], pieces=ctx.pieces, shape=ctx.shape),)


class MaxPiecesBackward(Primitive):
    """Maxout's backward as a primitive: g put at each unit's maximum; its backward takes h at the maxima
    (a gather, whose own backward is this primitive's forward)."""

    @staticmethod
    def forward(ctx, g, idx=None, pieces=1, shape=()):
        ctx.saved = (idx,)
        ctx.pieces, ctx.out_shape = pieces, np.shape(g)
        return K.maxout_backward(np.reshape(g, -1), idx, pieces).reshape(shape)

    @staticmethod
    def backward(ctx, h):
        (idx,) = ctx.saved
        return (np.take_along_axis(np.reshape(h, (-1, ctx.pieces)), idx[:, None], 1).reshape(ctx.out_shape),)

    @staticmethod
    def backward_graph(ctx, h):
        (idx,) = ctx.saved
        return (Gather.apply(h.reshape(-1, ctx.pieces), idx[:, None], dim=1).reshape(ctx.out_shape),)


class LogSigmoid(Primitive):
    """y = log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)) (no overflow either way); dy/dx = sigmoid(-x), taken
    as PyTorch's log_sigmoid_backward does (z = exp(-|x|): 1 - z / (1 + z) below 0, z / (1 + z) above), 1/2 at
    0 (a composite of min and |x| would give 1 there: the kink of each is not one of the sum)."""

    @staticmethod
    def forward(ctx, x):
        ctx.saved = (x,)
        return np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx, g):
        x = ctx.saved[0]
        z = np.exp(-np.abs(x))
        ratio = z / (1 + z)
        return (g * np.where(x < 0, 1 - ratio, ratio).astype(x.dtype, copy=False),)

    @staticmethod
    def backward_graph(ctx, g):
        return (g * Sigmoid.apply(-ctx.input_tensor(0, ctx.saved[0])),)
