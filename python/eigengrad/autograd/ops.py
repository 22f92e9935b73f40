"""The primitives: each a forward/backward pair over raw arrays.

Generic array algebra (broadcast arithmetic, reshapes, indexing, small reductions) is NumPy; the hot
paths (GEMM and the Linear layer, activations, losses) call C++ kernels through ``eigengrad._kernels``.
Every backward returns one gradient per positional input (None where an input is a constant or needs
no gradient); the engine checks each gradient's shape against its input.
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad._dims import wrap_dims
from eigengrad.autograd.function import Function, ViewFunction


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, to give an array of ``shape``."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _shape(x) -> tuple:
    return np.shape(x)


# --- broadcasting arithmetic ----------------------------------------------------------------------

class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return np.add(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), unbroadcast(g, sb)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return np.subtract(a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), (unbroadcast(-g, sb) if ctx.needs_input_grad[1] else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        # As PyTorch, only what a gradient needs is saved: an in-place change of the other operand is fine.
        need = ctx.needs_input_grad
        ctx.save_for_backward(a if need[1] else None, b if need[0] else None)
        if not (need[0] and need[1]):
            ctx.shapes = (_shape(a), _shape(b))
        return np.multiply(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        sa, sb = ctx.shapes if a is None or b is None else (a.shape, _shape(b))
        ga = unbroadcast(g * b, sa) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(g * a, sb) if ctx.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        need = ctx.needs_input_grad
        ctx.save_for_backward(a if need[1] else None, b)
        if not need[1]:
            ctx.shape_a = _shape(a)
        return np.divide(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        sa, sb = (ctx.shape_a if a is None else _shape(a)), _shape(b)
        ga = unbroadcast(g / b, sa) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(-g * a / (b * b), sb) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(Function):
    """a ** b; d/da = b a^(b-1), d/db = a^b log a."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.power(a, b)
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            # x ** 0 is constant (gradient 0, also at x = 0) and 0 ** y for y >= 0 too, as in PyTorch
            if ctx.needs_input_grad[0]:
                ga = unbroadcast(np.where(b == 0, 0, g * b * np.power(a, b - 1)).astype(g.dtype), _shape(a))
            if ctx.needs_input_grad[1]:
                gb = unbroadcast(np.where((a == 0) & (b >= 0), 0, g * out * np.log(a)).astype(g.dtype), _shape(b))
        return ga, gb


class Maximum(Function):
    """Elementwise maximum; a tie sends half the gradient to each side, as PyTorch does."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        share = np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0)).astype(g.dtype)
        ga = unbroadcast(g * share, _shape(a)) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(g * (1 - share), _shape(b)) if ctx.needs_input_grad[1] else None
        return ga, gb


# --- unary math -----------------------------------------------------------------------------------

class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return np.negative(x)

    @staticmethod
    def backward(ctx, g):
        return (-g,)


class Cast(Function):
    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, g):
        return (g.astype(ctx.in_dtype),)


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.saved[0],)


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        return (g / ctx.saved[0],)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g / (2 * ctx.saved[0]),)


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, g):
        return (g * np.sign(ctx.saved[0]),)


# --- activations (C++ kernels; backward from the saved output) ------------------------------------

class _Activation(Function):
    kind = ""

    @classmethod
    def forward(cls, ctx, x):
        y = K.activation_forward(cls.kind, x)
        ctx.save_for_backward(y)
        return y

    @classmethod
    def backward(cls, ctx, g):
        return (K.activation_backward(cls.kind, g, ctx.saved[0]),)


class ReLU(_Activation):
    kind = "relu"


class Sigmoid(_Activation):
    kind = "sigmoid"


class Tanh(_Activation):
    kind = "tanh"


# --- reductions -----------------------------------------------------------------------------------

def _axes(dim, ndim: int):
    if dim is None:
        return tuple(range(ndim))
    return tuple(sorted(d for d in wrap_dims(dim, ndim) if d < ndim))  # (a 0-d tensor's dim 0 names nothing)


def _expand_back(g: np.ndarray, axes: tuple, keepdim: bool, shape: tuple) -> np.ndarray:
    """Broadcast a reduced gradient back over the reduced axes (a read-only view, no copy)."""
    if not keepdim and axes:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.axes, ctx.keepdim, ctx.shape = _axes(dim, np.ndim(x)), keepdim, np.shape(x)
        return np.sum(x, axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return (_expand_back(g, ctx.axes, ctx.keepdim, ctx.shape),)


class Amax(Function):
    """Max over axes; ties share the gradient evenly (PyTorch's amax and full max())."""

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.axes, ctx.keepdim = _axes(dim, np.ndim(x)), keepdim
        empty = [a for a in ctx.axes if np.shape(x)[a] == 0]
        if empty:  # numpy's message would name no dimension
            raise ValueError(f"amax: expected reduction dim {empty[0]} to have a non-zero size, got shape {np.shape(x)}")
        out = np.amax(x, axis=ctx.axes, keepdims=keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        mask = x == _expand_back(out, ctx.axes, ctx.keepdim, x.shape)
        count = mask.sum(axis=ctx.axes, keepdims=True)
        g = _expand_back(g, ctx.axes, ctx.keepdim, x.shape)
        return (np.where(mask, g / np.broadcast_to(count, x.shape), 0).astype(x.dtype),)


class Gather(Function):
    """out = take_along_axis(x, index, dim): the values of max(dim)/min(dim) at their indices."""

    @staticmethod
    def forward(ctx, x, index, dim=0):
        ctx.shape, ctx.index, ctx.dim = np.shape(x), index, dim
        return np.take_along_axis(x, index, axis=dim)

    @staticmethod
    def backward(ctx, g):
        gx = np.zeros(ctx.shape, dtype=g.dtype)
        np.put_along_axis(gx, ctx.index, g, axis=ctx.dim)
        return gx, None


# --- shape ----------------------------------------------------------------------------------------

class Reshape(ViewFunction):
    @staticmethod
    def view_of(x, shape):
        return np.reshape(x, shape)

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = np.shape(x)
        return np.reshape(x, shape)

    @staticmethod
    def backward(ctx, g):
        return (np.reshape(g, ctx.in_shape),)


class Permute(ViewFunction):
    @staticmethod
    def view_of(x, dims):
        return np.transpose(x, tuple(d % np.ndim(x) for d in dims))

    @staticmethod
    def forward(ctx, x, dims):
        if len(dims) != np.ndim(x):
            raise ValueError(f"permute: expected {np.ndim(x)} dims (the tensor's), got {list(dims)}")
        ctx.dims = wrap_dims(tuple(dims), np.ndim(x))
        return np.transpose(x, ctx.dims)

    @staticmethod
    def backward(ctx, g):
        return (np.transpose(g, np.argsort(ctx.dims)),)


class GetItem(ViewFunction):
    """x[index]: basic indexing gives a view, advanced indexing a copy (then the output is no view)."""

    @staticmethod
    def view_of(x, index):
        return x[index]

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = np.shape(x), index
        return x[index]

    @staticmethod
    def backward(ctx, g):
        gx = np.zeros(ctx.shape, dtype=g.dtype)
        if _is_basic_index(ctx.index):
            gx[ctx.index] = g  # basic indexing never repeats an element
        else:
            np.add.at(gx, ctx.index, g)  # fancy indices may repeat: accumulate
        return (gx,)


def _is_basic_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


# --- matrix products ------------------------------------------------------------------------------

def _float2d(a, b) -> bool:
    return np.ndim(a) == 2 and np.ndim(b) == 2 and K.is_float(a) and a.dtype == b.dtype


class MatMul(Function):
    """a @ b with NumPy's matmul semantics; 2-D float products run on the GEMM kernel."""

    @staticmethod
    def forward(ctx, a, b):
        if np.ndim(a) == 0 or np.ndim(b) == 0:
            raise ValueError(f"matmul: both operands need at least one dimension, got shapes {np.shape(a)} and {np.shape(b)}")
        if K.is_float(a) and K.is_float(b) and a.dtype != b.dtype:
            raise TypeError(f"matmul: expected both operands to have the same dtype, got {a.dtype} and {b.dtype}")
        ctx.save_for_backward(a, b)
        if _float2d(a, b):
            if a.shape[1] != b.shape[0]:
                raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied ({a.shape[1]} != {b.shape[0]})")
            return K.gemm(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        if _float2d(a, b):
            ga = K.gemm(g, b, trans_b=True) if ctx.needs_input_grad[0] else None
            gb = K.gemm(a, g, trans_a=True) if ctx.needs_input_grad[1] else None
            return ga, gb
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = g
        if b.ndim == 1:  # first, so that a 0-d gradient (1-D @ 1-D) becomes (1,) and then (1, 1)
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape).reshape(b.shape)
        return ga, gb


class Linear(Function):
    """y = x W^T + b, fused: one GEMM with the bias added in the same pass.

    Backward: dx = dy W, dW = dy^T x, db = sum over rows of dy (x is (n, in), W is (out, in)).
    """

    @staticmethod
    def forward(ctx, x, weight, bias=None):
        K.check_float(x, "input")
        K.check_same_dtype(x, weight, "input", "weight")
        if x.ndim != 2 or weight.ndim != 2 or x.shape[1] != weight.shape[1]:
            raise ValueError(
                f"linear: input of shape {x.shape} does not match weight of shape {weight.shape}: "
                f"expected input (N, {weight.shape[1] if weight.ndim == 2 else '?'})"
            )
        if bias is not None and bias.shape != (weight.shape[0],):
            raise ValueError(f"linear: bias: expected shape ({weight.shape[0]},), got {bias.shape}")
        ctx.save_for_backward(x, weight)
        return K.gemm(x, weight, bias=bias, trans_b=True)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved
        need = ctx.needs_input_grad
        gx = K.gemm(g, weight) if need[0] else None
        gw = K.gemm(g, x, trans_a=True) if need[1] else None
        gb = K.sum_rows(g) if len(need) > 2 and need[2] else None
        return gx, gw, gb


# --- losses ---------------------------------------------------------------------------------------

_REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")


class SoftmaxCrossEntropy(Function):
    """Fused log-softmax + negative log-likelihood over rows of logits (n, c), integer targets (n,).

    loss_i = logsumexp(x_i) - x_i[t_i];  d loss_i / d x_i = softmax(x_i) - onehot(t_i).
    'mean' divides by the number of rows whose target is not ``ignore_index`` (PyTorch's rule).
    """

    @staticmethod
    def forward(ctx, logits, target, reduction="mean", ignore_index=-100):
        rows, lse = K.softmax_cross_entropy(logits, target, ignore_index)
        ctx.reduction, ctx.ignore_index = reduction, ignore_index
        ctx.save_for_backward(logits, np.ascontiguousarray(target, dtype=np.int64), lse)
        if reduction == "none":
            return rows
        # the reduction is a plan step of its own: 'mean' counts the rows kept from the targets every call
        return K.loss_reduce(rows, ctx.saved[1], None, ignore_index, reduction == "mean")

    @staticmethod
    def backward(ctx, g):
        logits, target, lse = ctx.saved
        n = logits.shape[0]
        if ctx.reduction == "none":
            scale = g
        elif ctx.reduction == "sum":
            scale = K.loss_upstream(g, target, None, ctx.ignore_index, False, n, logits.dtype)
        else:
            scale = K.mean_upstream(g, target, ctx.ignore_index, n, logits.dtype)
        return K.softmax_cross_entropy_backward(logits, target, lse, scale, ctx.ignore_index), None


class MSE(Function):
    """Mean-squared error: mean((x - y)^2) ('mean'), the sum ('sum') or elementwise ('none')."""

    @staticmethod
    def forward(ctx, x, y, reduction="mean"):
        ctx.reduction = reduction
        ctx.save_for_backward(x, y)
        if reduction == "none":
            return K.squared_error(x, y)
        total = K.squared_error_sum(x, y)
        if reduction == "mean":
            total = total / x.size if x.size else np.nan
        return np.asarray(total, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        if ctx.reduction == "none":
            gx = K.squared_error_backward(x, y, g, 2.0)
        else:
            coef = 2.0 * float(g) / (x.size if ctx.reduction == "mean" else 1) if x.size else 0.0
            gx = K.squared_error_backward(x, y, None, coef)
        return (gx if ctx.needs_input_grad[0] else None), (-gx if ctx.needs_input_grad[1] else None)
