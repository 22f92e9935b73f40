"""Reduction primitives: mean, variance and standard deviation, vector norms (C++ kernels for float input:
double accumulation, fixed chunking, thread-count independent), product and cumulative sum (NumPy).
``Sum`` and ``Amax`` live in ``ops.py``. Backward formulas are PyTorch's (``var_backward``,
``std_backward``, ``norm_backward``, ``prod_backward``, ``cumsum_backward``)."""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad.autograd.function import Primitive
from eigengrad.autograd.ops import _expand_back, _expand_back_graph, where


def _count(shape: tuple, axes: tuple) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _keep(out: np.ndarray, shape: tuple, axes: tuple, keepdim: bool) -> np.ndarray:
    """A kernel's result (the kept dims) with the reduced dims as size 1 when keepdim."""
    return out.reshape(tuple(1 if d in axes else s for d, s in enumerate(shape))) if keepdim else out


class Mean(Primitive):
    """mean over ``axes`` (one pass: the double sum times 1/n; NaN for an empty reduction)."""

    saves_nothing = True  # (backward reads only ctx's shapes: the node runs again after a free)

    @staticmethod
    def forward(ctx, x, axes=(), keepdim=False):
        ctx.axes, ctx.keepdim, ctx.shape = axes, keepdim, np.shape(x)
        n = _count(ctx.shape, axes)
        ctx.n = n
        return _keep(K.reduce_sum(x, axes, 1.0 / n if n else float("nan")), ctx.shape, axes, keepdim)

    @staticmethod
    def backward(ctx, g):
        scaled = K.ufunc("divide", g, ctx.n) if ctx.n else K.ufunc("multiply", g, float("nan"))
        return (_expand_back(scaled, ctx.axes, ctx.keepdim, ctx.shape),)

    @staticmethod
    def backward_graph(ctx, g):
        return (_expand_back_graph(g / ctx.n if ctx.n else g * np.nan, ctx.axes, ctx.keepdim, ctx.shape),)


class Var(Primitive):
    """var (or std with ``take_sqrt``) over ``axes`` with ``correction`` (two-pass, in double).

    d var / dx = 2 (x - mean) / (n - correction);  d std / dx = (x - mean) / ((n - correction) std), 0 where
    std = 0 (PyTorch's std_backward). Where n - correction <= 0, PyTorch's var_backward: over all elements
    (``full``: no dim given) inf, NaN where x is the mean; over given dims 2 / (n - correction) as it is
    (inf at 0, negative below)."""

    @staticmethod
    def forward(ctx, x, axes=(), correction=1.0, keepdim=False, take_sqrt=False, full=False):
        out, mean = K.reduce_var(x, axes, correction, take_sqrt, with_mean=True)
        shape = np.shape(x)
        ctx.axes, ctx.keepdim, ctx.shape, ctx.take_sqrt = axes, keepdim, shape, take_sqrt
        ctx.denom = _count(shape, axes) - correction
        if full and ctx.denom < 0:
            ctx.denom = 0.0  # (the backward graph's inf scale)
        ctx.full = full
        out = _keep(out, shape, axes, keepdim)
        ctx.save_for_backward(x, _keep(mean, shape, axes, True), out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, mean, out = ctx.saved
        if ctx.take_sqrt:
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where(out == 0, 0, g / (2 * out)).astype(g.dtype)
        g = _expand_back(g, ctx.axes, ctx.keepdim, ctx.shape)
        if ctx.full and ctx.denom <= 0:
            return ((g * np.where(x == mean, np.nan, np.inf)).astype(x.dtype),)
        return (_scale(ctx.denom) * (x - mean) * g,)

    @staticmethod
    def backward_graph(ctx, g):
        """The same with x - mean(x) recorded (the mean depends on x: the second derivative needs it)."""
        x, _, out = ctx.saved
        if ctx.take_sqrt:
            g = where(out == 0, 0.0, g / (2 * ctx.output_tensor(out)))
        xt = ctx.input_tensor(0, x)
        centred = xt - Mean.apply(xt, axes=ctx.axes, keepdim=True)
        return (centred * _scale(ctx.denom) * _expand_back_graph(g, ctx.axes, ctx.keepdim, ctx.shape),)


def _scale(denom: float) -> float:
    """2 / (n - correction): inf when n - correction is 0, as PyTorch's (0 / 0 = NaN gradients)."""
    return 2.0 / denom if denom else float("inf")


class Norm(Primitive):
    """The p-norm over ``axes`` (``torch.linalg.vector_norm``); PyTorch's gradients: p = 0: 0; p = 1: sign(x);
    p = 2: x / norm; p = +-inf: sign(x) shared evenly among the elements where |x| = norm; other p:
    sign(x) |x|^(p-1) / norm^(p-1). Zero where the norm is 0."""

    @staticmethod
    def forward(ctx, x, axes=(), p=2.0, keepdim=False):
        out = _keep(K.reduce_norm(x, axes, p), np.shape(x), axes, keepdim)
        ctx.axes, ctx.keepdim, ctx.shape, ctx.p = axes, keepdim, np.shape(x), p
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        norm = _expand_back(out, ctx.axes, ctx.keepdim, ctx.shape)
        g = _expand_back(g, ctx.axes, ctx.keepdim, ctx.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.p == 2:
                return (np.where(norm == 0, 0, x / norm * g).astype(x.dtype),)
            if ctx.p in (0, 1) or np.isinf(ctx.p):
                return (np.asarray(_norm_weight(ctx, x, out) * g, dtype=x.dtype),)
            gx = np.where(norm == 0, 0, np.sign(x) * np.abs(x) ** (ctx.p - 1) / norm ** (ctx.p - 1) * g)
            if ctx.p < 1:  # PyTorch: |x|^(p-1) is infinite at x = 0, whose gradient it sets to 0 (not 0 * inf)
                gx = np.where(x == 0, 0, gx)
        return (np.asarray(gx, dtype=x.dtype),)

    @staticmethod
    def backward_graph(ctx, g):
        """p = 0, 1, +-inf are piecewise linear (constant weights); p = 2 and other p through the recorded x
        and norm."""
        x, out = ctx.saved
        g = _expand_back_graph(g, ctx.axes, ctx.keepdim, ctx.shape)
        if ctx.p in (0, 1) or np.isinf(ctx.p):
            return (g * _norm_weight(ctx, x, out),)
        xt = ctx.input_tensor(0, x)
        norm = _expand_back_graph(ctx.output_tensor(out), ctx.axes, ctx.keepdim, ctx.shape)
        zero = _expand_back(out, ctx.axes, ctx.keepdim, ctx.shape) == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.p == 2:
                return (where(zero, 0.0, xt / norm * g),)
            p = ctx.p
            if p < 1:  # |x|^(p-1) is infinite at x = 0: PyTorch's gradient there is 0 (see backward)
                at_zero = x == 0
                magnitude = where(at_zero, 1.0, xt.abs())
                return (where(zero | at_zero, 0.0, magnitude ** (p - 1) * np.sign(x) / norm ** (p - 1) * g),)
            return (where(zero, 0.0, xt.abs() ** (p - 1) * np.sign(x) / norm ** (p - 1) * g),)


def _norm_weight(ctx, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """d norm / dx for p = 0 (zero), 1 (sign x) and +-inf (sign x shared evenly among the extremes)."""
    if ctx.p == 0:
        return np.zeros(x.shape, dtype=x.dtype)
    if ctx.p == 1:
        return np.sign(x)
    mask = np.abs(x) == _expand_back(out, ctx.axes, ctx.keepdim, ctx.shape)
    count = mask.sum(axis=ctx.axes, keepdims=True)
    return (np.sign(x) * mask / count).astype(x.dtype)


class Prod(Primitive):
    """The product over one dim (or all elements, dim None); the gradient of each element is the product of
    the others (exclusive products from both sides, exact with zeros)."""

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False, dtype=None):
        ctx.dim, ctx.keepdim, ctx.shape = dim, keepdim, np.shape(x)
        ctx.save_for_backward(x)
        return np.asarray(np.prod(x, axis=dim, keepdims=keepdim, dtype=dtype))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved
        others = _exclusive_products(x.reshape(-1) if ctx.dim is None else x, 0 if ctx.dim is None else ctx.dim)
        return (others.reshape(ctx.shape) * _expand_back(g, *_prod_axes(ctx)),)

    @staticmethod
    def backward_graph(ctx, g):
        """g prod / x as Tensor operations where x has no zero; with zeros, the products of the others from
        exclusive running products on both sides (one node per position: rare, and only under create_graph).
        Either way the gradient is differentiable again."""
        (x,) = ctx.saved
        xt = ctx.input_tensor(0, x)
        axes, keepdim, shape = _prod_axes(ctx)
        if not np.any(x == 0):
            out = Prod.apply(xt, dim=ctx.dim, keepdim=ctx.keepdim)
            return (_expand_back_graph(g * out, axes, keepdim, shape) / xt,)
        flat = xt.reshape(-1) if ctx.dim is None else xt
        d = 0 if ctx.dim is None else ctx.dim
        others = (_exclusive_running(flat, d) * _exclusive_running(flat.flip(d), d).flip(d)).reshape(shape)
        return (others * _expand_back_graph(g, axes, keepdim, shape),)


def _prod_axes(ctx) -> tuple:
    dim = ctx.dim
    axes = tuple(range(len(ctx.shape))) if dim is None else (dim,)
    return axes, ctx.keepdim and dim is not None, ctx.shape


def _exclusive_running(x, d: int):
    """prod of the elements before each one along ``d``, as Tensor operations (a running product of slices)."""
    from eigengrad.tensor_ops.shape import cat

    running = x.narrow(d, 0, 1) * 0 + 1
    pieces = [running]
    for k in range(x.shape[d] - 1):
        running = running * x.narrow(d, k, 1)
        pieces.append(running)
    return cat(pieces, d)


def _exclusive_products(x: np.ndarray, axis: int) -> np.ndarray:
    """prod of all elements but i along ``axis``, for every i (left and right exclusive cumulative products)."""
    ones = np.ones_like(np.take(x, [0], axis=axis)) if x.shape[axis] else None
    if ones is None:
        return np.ones_like(x)
    left = np.concatenate([ones, np.cumprod(np.take(x, range(x.shape[axis] - 1), axis=axis), axis=axis)], axis=axis)
    rev = np.flip(x, axis)
    right = np.flip(np.concatenate([ones, np.cumprod(np.take(rev, range(x.shape[axis] - 1), axis=axis), axis=axis)],
                                   axis=axis), axis)
    return left * right


# PyTorch's CPU scans (cumsum, cumprod, logcumsumexp) carry the running value in the accumulation type (double
# for float32, float for float16) and round each output once: a float32 scan would drift with the length
# (8e-7 relative at 1,000 elements, 3e-5 at 10**6).
_SCAN_TYPE = {np.dtype(np.float32): np.float64, np.dtype(np.float16): np.float32}


def running(scan, x: np.ndarray, axis: int) -> np.ndarray:
    """``scan(x, axis=axis)`` (np.cumsum, np.cumprod, np.logaddexp.accumulate) carried in PyTorch's
    accumulation type and rounded once to x's dtype."""
    wide = _SCAN_TYPE.get(x.dtype)
    if wide is None:
        return scan(x, axis=axis)
    return scan(x.astype(wide), axis=axis).astype(x.dtype)


def _saved_scan(ctx, scan, x: np.ndarray, dim: int) -> np.ndarray:
    """A scan's forward (``running``) that saves its input and output for the backward."""
    ctx.dim = dim
    y = running(scan, x, dim) if x.size else x.copy()
    ctx.save_for_backward(x, y)
    return y


class LogCumSumExp(Primitive):
    """y_i = log sum_{j <= i} exp(x_j) along ``dim`` (NumPy's logaddexp.accumulate: no overflow). The gradient
    sum_{i >= j} g_i exp(x_j - y_i) is computed in the log domain, g's positive and negative parts apart
    (TensorFlow's and PyTorch's formula): exp(x + rev_lcse(log g+ - y)) - exp(x + rev_lcse(log g- - y)), with
    rev_lcse this op from the end; so it is twice differentiable through itself."""

    @staticmethod
    def forward(ctx, x, dim=0):
        return _saved_scan(ctx, np.logaddexp.accumulate, x, dim)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        d = ctx.dim

        # An element at -inf (x_j, or g_i = 0 as log g) contributes nothing: kept out of the inf - inf.
        def part(mask):
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(mask, np.log(np.where(mask, np.abs(g), 1.0)) - y, -np.inf)
                rev = np.flip(running(np.logaddexp.accumulate, np.flip(z, d), d), d) if z.size else z
                return np.where(x == -np.inf, 0.0, np.exp(x + rev))

        return ((part(g > 0) - part(g < 0)).astype(x.dtype, copy=False),)

    @staticmethod
    def backward_graph(ctx, g):
        from eigengrad.autograd.ops_shape import Flip
        from eigengrad.tensor_ops.index import where

        x, y = ctx.input_tensor(0, ctx.saved[0]), ctx.output_tensor(ctx.saved[1])
        d = ctx.dim

        finite_x = x._data > -np.inf if hasattr(x, "_data") else x > -np.inf

        def part(mask):
            one = g * 0.0 + 1.0
            z = where(mask, where(mask, g.abs(), one).log() - where(mask, y, 0.0), float("-inf"))
            rev = Flip.apply(LogCumSumExp.apply(Flip.apply(z, dims=(d,)), dim=d), dims=(d,))
            return where(finite_x, (where(finite_x, x, 0.0) + rev).exp(), 0.0)

        return (part(g > 0) - part(g < 0),)


class Cumprod(Primitive):
    """Running product along ``dim`` of an input with no zero (``cumprod`` composes products otherwise, as the
    gradient below divides by x): the gradient is PyTorch's reversed_cumsum(g * y) / x, twice differentiable
    through itself."""

    @staticmethod
    def forward(ctx, x, dim=0):
        return _saved_scan(ctx, np.cumprod, x, dim)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        d = ctx.dim
        return (np.flip(running(np.cumsum, np.flip(g * y, d), d), d) / x,)

    @staticmethod
    def backward_graph(ctx, g):
        from eigengrad.autograd.ops_shape import Flip

        x, y = ctx.saved
        d = ctx.dim
        w = Flip.apply(Cumsum.apply(Flip.apply(g * ctx.output_tensor(y), dims=(d,)), dim=d), dims=(d,))
        return (w / ctx.input_tensor(0, x),)


class Cumsum(Primitive):
    """Running sum along ``dim``; the gradient is the running sum of g from the end."""

    saves_nothing = True  # (backward reads only ctx's shapes: the node runs again after a free)

    @staticmethod
    def forward(ctx, x, dim=0, dtype=None):
        ctx.dim = dim
        return running(np.cumsum, x if dtype is None else x.astype(dtype, copy=False), dim)

    @staticmethod
    def backward(ctx, g):
        return (np.flip(running(np.cumsum, np.flip(g, ctx.dim), ctx.dim), ctx.dim),)

    @staticmethod
    def backward_graph(ctx, g):
        from eigengrad.autograd.ops_shape import Flip

        return (Flip.apply(Cumsum.apply(Flip.apply(g, dims=(ctx.dim,)), dim=ctx.dim), dims=(ctx.dim,)),)
