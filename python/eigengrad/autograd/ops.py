"""The primitives: each a forward/backward pair over raw arrays.

Generic array algebra (broadcast arithmetic, reshapes, indexing, small reductions) is NumPy; the hot
paths (GEMM and the Linear layer, activations, losses) call C++ kernels through ``eigengrad._kernels``.
Every backward returns one gradient per positional input (None where an input is a constant or needs
no gradient); the engine checks each gradient's shape against its input. Every primitive also has a
``backward_graph``: the same gradients as Tensor operations, for create_graph (see ``autograd.function``).
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K, _trace
from eigengrad._dims import wrap_dims
from eigengrad.autograd.function import Primitive, ViewPrimitive


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


# --- helpers of the differentiable backwards (Tensor in, Tensor out: recorded under create_graph) -----

def sum_to(g, shape: tuple):
    """``unbroadcast`` for a Tensor: ``g`` summed over the axes broadcasting added or stretched."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape) if n == 1 and g.shape[i + extra] != 1)
    if axes:
        g = Sum.apply(g, dim=axes, keepdim=True)
    return Reshape.apply(g, shape=shape)


def where(condition: np.ndarray, a, b):
    """``condition ? a : b`` with a gradient only to the chosen side (``torch.where``; a constant mask)."""
    from eigengrad.autograd.ops_combine import Where  # ops_combine imports this module

    return Where.apply(a, b, condition=condition)


def _mT(x):
    """The transpose of the last two dims of a Tensor or an array."""
    return x.transpose(-1, -2) if hasattr(x, "_data") else np.swapaxes(x, -1, -2)


def _reshape(x, shape: tuple):
    return Reshape.apply(x, shape=tuple(shape)) if hasattr(x, "_data") else np.reshape(x, shape)


# --- broadcasting arithmetic ----------------------------------------------------------------------

class Add(Primitive):
    saves_nothing = True  # (backward reads only ctx's shapes: the node runs again after a free)

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return K.ufunc("add", a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), unbroadcast(g, sb)

    @staticmethod
    def backward_graph(ctx, g):
        sa, sb = ctx.shapes
        need = ctx.needs_input_grad
        return (sum_to(g, sa) if need[0] else None), (sum_to(g, sb) if need[1] else None)


class Sub(Primitive):
    saves_nothing = True  # (backward reads only ctx's shapes: the node runs again after a free)

    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (_shape(a), _shape(b))
        return K.ufunc("subtract", a, b)

    @staticmethod
    def backward(ctx, g):
        sa, sb = ctx.shapes
        return unbroadcast(g, sa), (unbroadcast(K.ufunc("negative", g), sb) if ctx.needs_input_grad[1] else None)

    @staticmethod
    def backward_graph(ctx, g):
        sa, sb = ctx.shapes
        need = ctx.needs_input_grad
        return (sum_to(g, sa) if need[0] else None), (sum_to(-g, sb) if need[1] else None)


class Mul(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        # As PyTorch, only what a gradient needs is saved: an in-place change of the other operand is fine.
        need = ctx.needs_input_grad
        ctx.save_for_backward(a if need[1] else None, b if need[0] else None)
        if not (need[0] and need[1]):
            ctx.shapes = (_shape(a), _shape(b))
        return K.ufunc("multiply", a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        sa, sb = ctx.shapes if a is None or b is None else (a.shape, _shape(b))
        ga = unbroadcast(K.ufunc("multiply", g, b), sa) if ctx.needs_input_grad[0] else None
        gb = unbroadcast(K.ufunc("multiply", g, a), sb) if ctx.needs_input_grad[1] else None
        return ga, gb

    @staticmethod
    def backward_graph(ctx, g):
        a, b = ctx.saved
        sa, sb = ctx.shapes if a is None or b is None else (a.shape, _shape(b))
        need = ctx.needs_input_grad
        ga = sum_to(g * ctx.input_tensor(1, b), sa) if need[0] else None
        gb = sum_to(g * ctx.input_tensor(0, a), sb) if need[1] else None
        return ga, gb


class Div(Primitive):
    @staticmethod
    def forward(ctx, a, b):
        need = ctx.needs_input_grad
        ctx.save_for_backward(a if need[1] else None, b)
        if not need[1]:
            ctx.shape_a = _shape(a)
        return K.ufunc("divide", a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved
        sa, sb = (ctx.shape_a if a is None else _shape(a)), _shape(b)
        ga = unbroadcast(K.ufunc("divide", g, b), sa) if ctx.needs_input_grad[0] else None
        gb = None
        if ctx.needs_input_grad[1]:  # -g * a / (b * b), in that order
            neg_g_a = K.ufunc("multiply", K.ufunc("negative", g), a)
            gb = unbroadcast(K.ufunc("divide", neg_g_a, K.ufunc("multiply", b, b)), sb)
        return ga, gb

    @staticmethod
    def backward_graph(ctx, g):
        a, b = ctx.saved
        sa, sb = (ctx.shape_a if a is None else _shape(a)), _shape(b)
        bt = ctx.input_tensor(1, b)
        ga = sum_to(g / bt, sa) if ctx.needs_input_grad[0] else None
        gb = sum_to(-g * ctx.input_tensor(0, a) / (bt * bt), sb) if ctx.needs_input_grad[1] else None
        return ga, gb


class Pow(Primitive):
    """a ** b; d/da = b a^(b-1), d/db = a^b log a."""

    @staticmethod
    def forward(ctx, a, b):
        out = np.power(a, b)
        # the output only for the exponent's gradient (as PyTorch): x.pow_(2) then another in-place change is fine
        ctx.save_for_backward(a, b, out if ctx.needs_input_grad[1] else None)
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

    @staticmethod
    def backward_graph(ctx, g):
        a, b, out = ctx.saved
        at, bt = ctx.input_tensor(0, a), ctx.input_tensor(1, b)
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):
            if ctx.needs_input_grad[0]:
                if np.ndim(b) == 0 and not hasattr(bt, "_data"):  # a constant exponent: x ** 2, x ** -0.5
                    ga = g * 0 if b == 0 else g * b * at ** (b - 1)
                else:
                    ga = where(np.asarray(b == 0), 0.0, g * bt * at ** (bt - 1))
                ga = sum_to(ga, _shape(a))
            if ctx.needs_input_grad[1]:
                gb = sum_to(where(np.asarray((a == 0) & (b >= 0)), 0.0, g * ctx.output_tensor(out) * Log.apply(at)),
                            _shape(b))
        return ga, gb


class Maximum(Primitive):
    """Elementwise maximum; a tie sends half the gradient to each side, as PyTorch does."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return np.maximum(a, b)

    @staticmethod
    def backward(ctx, g):
        return _maximum_grads(ctx, g, unbroadcast)

    @staticmethod
    def backward_graph(ctx, g):
        return _maximum_grads(ctx, g, sum_to)


def _maximum_grads(ctx, g, reduce_to):
    """maximum's gradients: g to the larger input, halves at ties (PyTorch's), each summed to its input's
    shape by ``reduce_to`` (arrays: unbroadcast; recorded Tensors: sum_to)."""
    a, b = ctx.saved
    share = np.where(a > b, 1.0, np.where(a == b, 0.5, 0.0)).astype(g.dtype)
    ga = reduce_to(g * share, _shape(a)) if ctx.needs_input_grad[0] else None
    gb = reduce_to(g * (1 - share), _shape(b)) if ctx.needs_input_grad[1] else None
    return ga, gb


# --- NumPy code that computes a constant ----------------------------------------------------------

class NumpyCall(Primitive):
    """``fn(*arrays, **options)``: NumPy code whose result is a constant (not differentiable): a factory's
    array, an index, a mask, a shift. A primitive, so that eg.compile replays it as one step at every call
    (the same NumPy call; a factory's random draws advance the generator as in eager mode) instead of
    freezing its value or falling back. Its inputs are arrays, never tensors: nothing is recorded."""

    @staticmethod
    def forward(ctx, *arrays, fn=None, **options):
        return fn(*arrays, **options)


def numpy_call(fn, *arrays, **options) -> np.ndarray:
    """``fn(*arrays, **options)``; while eg.compile traces, through ``NumpyCall`` (``fn``: a module-level
    function, so that two traces record the same step; arrays among the arguments are read at every replay,
    the other arguments frozen)."""
    if _trace.ACTIVE[0] is None:
        return fn(*arrays, **options)
    return NumpyCall.apply(*arrays, fn=fn, **options)._data


def numpy_check(fn, *arrays) -> None:
    """``fn(*arrays)``, a check of values that raises on bad ones (a module-level function); while eg.compile
    traces, a plan step, so that every replay checks its own values as eager mode does."""
    numpy_call(_checked, fn, *arrays)


def _checked(fn, *arrays) -> np.ndarray:
    fn(*arrays)
    return np.empty(0, dtype=np.bool_)


# --- unary math -----------------------------------------------------------------------------------

class Neg(Primitive):
    saves_nothing = True  # (backward reads only ctx's shapes: the node runs again after a free)

    @staticmethod
    def forward(ctx, x):
        return K.ufunc("negative", x)

    @staticmethod
    def backward(ctx, g):
        return (K.ufunc("negative", g),)

    @staticmethod
    def backward_graph(ctx, g):
        return (-g,)


class Cast(Primitive):
    saves_nothing = True  # (backward reads only ctx's shapes: the node runs again after a free)

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return K.cast(x, dtype)

    @staticmethod
    def backward(ctx, g):
        return (K.cast(g, ctx.in_dtype),)

    @staticmethod
    def backward_graph(ctx, g):
        return (g.to(ctx.in_dtype),)


class Exp(Primitive):
    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g * ctx.saved[0],)

    @staticmethod
    def backward_graph(ctx, g):
        return (g * ctx.output_tensor(ctx.saved[0]),)


class Log(Primitive):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, g):
        return (g / ctx.saved[0],)

    @staticmethod
    def backward_graph(ctx, g):
        return (g / ctx.input_tensor(0, ctx.saved[0]),)


class Sqrt(Primitive):
    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g / (2 * ctx.saved[0]),)

    @staticmethod
    def backward_graph(ctx, g):
        return (g / (2 * ctx.output_tensor(ctx.saved[0])),)


class Abs(Primitive):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return K.ufunc("absolute", x)

    @staticmethod
    def backward(ctx, g):
        return (K.ufunc("multiply", g, _sign_or_zero(ctx.saved[0])),)

    @staticmethod
    def backward_graph(ctx, g):  # sign(x) is piecewise constant: x gets a zero second-order term, as PyTorch's
        return (ZeroGradTo.apply(g * _sign_or_zero(ctx.saved[0]), ctx.input_tensor(0, ctx.saved[0])),)


def _sign_or_zero(x):
    """sign(x) with 0 at NaN, PyTorch's abs gradient: 1 where |x| > 0 (false for NaN) with x's sign bit, as
    kernel calls (eg.compile records them)."""
    return K.ufunc("copysign", K.ufunc("greater", K.ufunc("absolute", x), 0), x)


# --- activations (C++ kernels; backward from the saved output) ------------------------------------

class _Activation(Primitive):
    kind = ""

    @classmethod
    def forward(cls, ctx, x):
        y = K.activation_forward(cls.kind, x)
        ctx.save_for_backward(y)
        return y

    @classmethod
    def backward(cls, ctx, g):
        return (K.activation_backward(cls.kind, g, ctx.saved[0]),)

    @classmethod
    def backward_graph(cls, ctx, g):
        """relu: g [not y <= 0]; sigmoid: g y (1 - y); tanh: g (1 - y^2), y the saved output as a tensor."""
        y = ctx.saved[0]
        yt = ctx.output_tensor(y)
        if cls.kind == "relu":
            return (ReLUBackward.apply(g, yt),)
        return (g * yt * (1 - yt),) if cls.kind == "sigmoid" else (g * (1 - yt * yt),)


class ReLU(_Activation):
    torch_name = "Relu"  # (PyTorch's ReluBackward0)
    kind = "relu"


class ReLUBackward(Primitive):
    """ReLU's gradient g [not y <= 0] as a node of the graph: its own gradient is h [not y <= 0] for g and zero
    for y, so a second derivative through a ReLU is zero rather than missing (as PyTorch's threshold_backward:
    the input Hessian of a ReLU network is 0, not an unused-input error). A NaN output passes its gradient, as
    the kernel's relu_backward."""

    @staticmethod
    def forward(ctx, g, y):
        ctx.mask = (~(np.asarray(y) <= 0)).astype(np.asarray(g).dtype)
        return g * ctx.mask

    @staticmethod
    def backward(ctx, h):
        return h * ctx.mask, np.zeros_like(ctx.mask)

    @staticmethod
    def backward_graph(ctx, h):
        return h * ctx.mask, h * np.zeros_like(ctx.mask)  # (zero, recorded: differentiable again, as every gradient)


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


def _expand_back_graph(g, axes: tuple, keepdim: bool, shape: tuple):
    """``_expand_back`` for a Tensor (Reshape, then Expand)."""
    if not keepdim and axes:
        g = Reshape.apply(g, shape=tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return Expand.apply(g, shape=tuple(shape))


class Sum(Primitive):
    saves_nothing = True  # (backward reads only ctx's shapes: the node runs again after a free)

    @staticmethod
    def forward(ctx, x, dim=None, keepdim=False):
        ctx.axes, ctx.keepdim, ctx.shape = _axes(dim, np.ndim(x)), keepdim, np.shape(x)
        if K.is_float(x):  # C++: double accumulation, fixed chunking (the same bits on any thread count)
            out = K.reduce_sum(x, ctx.axes)
            return out.reshape([1 if d in ctx.axes else s for d, s in enumerate(ctx.shape)]) if keepdim else out
        return np.sum(x, axis=ctx.axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, g):
        return (_expand_back(g, ctx.axes, ctx.keepdim, ctx.shape),)

    @staticmethod
    def backward_graph(ctx, g):
        return (_expand_back_graph(g, ctx.axes, ctx.keepdim, ctx.shape),)


class Amax(Primitive):
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
    def _picked(x, out, axes, keepdim):
        """The elements equal to their group's max (a NaN max: the NaNs, as PyTorch's max() shares it)."""
        full = _expand_back(out, axes, keepdim, x.shape)
        mask = x == full
        if x.dtype.kind == "f" and np.isnan(out).any():
            mask |= np.isnan(x) & np.isnan(full)
        return mask

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved
        mask = Amax._picked(x, out, ctx.axes, ctx.keepdim)
        count = mask.sum(axis=ctx.axes, keepdims=True)
        g = _expand_back(g, ctx.axes, ctx.keepdim, x.shape)
        return (np.where(mask, g / np.broadcast_to(count, x.shape), 0).astype(x.dtype),)

    @staticmethod
    def backward_graph(ctx, g):  # piecewise linear: the shares of the maxima are constants
        x, out = ctx.saved
        mask = Amax._picked(x, out, ctx.axes, ctx.keepdim)
        share = (mask / mask.sum(axis=ctx.axes, keepdims=True)).astype(x.dtype)
        return (_expand_back_graph(g, ctx.axes, ctx.keepdim, x.shape) * share,)


class EvenlyDistributed(Primitive):
    """A reduction to one ``value`` already found in x (the median of all elements): its gradient is shared
    evenly by the elements equal to it (NaN: by the NaNs), PyTorch's evenly_distribute_backward."""

    @staticmethod
    def forward(ctx, x, value):
        ctx.save_for_backward(x, value)
        return np.array(value, dtype=np.asarray(x).dtype)

    @staticmethod
    def _share(x, value):
        mask = (x == value) | (np.isnan(x) & np.isnan(value)) if x.dtype.kind == "f" else x == value
        return (mask / max(int(mask.sum()), 1)).astype(x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, value = ctx.saved
        return g * EvenlyDistributed._share(x, value), None

    @staticmethod
    def backward_graph(ctx, g):  # the shares are constants
        x, value = ctx.saved
        return g * EvenlyDistributed._share(x, value), None


class Gather(Primitive):
    """out = x gathered at ``index`` along ``dim`` (``torch.gather``: index int64 of x's ndim, no larger than x
    outside ``dim``; C++ kernel); the values of max(dim)/min(dim), sort and topk at their indices."""

    @staticmethod
    def forward(ctx, x, index, dim=0):
        ctx.shape, ctx.index, ctx.dim = np.shape(x), index, dim
        return K.gather(x, dim, index)

    @staticmethod
    def backward(ctx, g):
        return scatter_add_into(ctx.shape, g, ctx.index, ctx.dim), None

    @staticmethod
    def backward_graph(ctx, g):
        return GatherBackward.apply(g, index=ctx.index, dim=ctx.dim, shape=ctx.shape), None


def scatter_add_into(shape: tuple, g: np.ndarray, index: np.ndarray, dim: int) -> np.ndarray:
    """Zeros of ``shape`` with ``g`` added at ``index`` along ``dim`` (repeated indices accumulate, in index
    order: deterministic): gather's adjoint."""
    return K.scatter_(np.zeros(shape, dtype=g.dtype), dim, index, g, "add")


class GatherBackward(Primitive):
    """Gather's backward as a primitive: ``g`` added at ``index`` along ``dim`` into zeros of ``shape``;
    its own backward gathers (the pair is closed under differentiation)."""

    @staticmethod
    def forward(ctx, g, index=None, dim=0, shape=()):
        ctx.index, ctx.dim = index, dim
        return scatter_add_into(shape, g, index, dim)

    @staticmethod
    def backward(ctx, h):
        return (K.gather(h, ctx.dim, ctx.index),)

    @staticmethod
    def backward_graph(ctx, h):
        return (Gather.apply(h, ctx.index, dim=ctx.dim),)


# --- shape ----------------------------------------------------------------------------------------

class Reshape(ViewPrimitive):
    torch_name = "View"  # (PyTorch's ViewBackward0: view, and reshape of a tensor it can view)
    saves_nothing = True  # (backward reads only ctx's shapes: the node runs again after a free)

    @staticmethod
    def view_of(x, shape):
        return np.reshape(x, shape)

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = np.shape(x)
        return K.reshape(x, shape)

    @staticmethod
    def backward(ctx, g):
        return (K.reshape(g, ctx.in_shape),)

    @staticmethod
    def backward_graph(ctx, g):
        return (Reshape.apply(g, shape=ctx.in_shape),)


class Permute(ViewPrimitive):
    saves_nothing = True  # (backward reads only ctx's shapes: the node runs again after a free)

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

    @staticmethod
    def backward_graph(ctx, g):
        return (Permute.apply(g, dims=tuple(int(d) for d in np.argsort(ctx.dims))),)


class Expand(ViewPrimitive):
    """x broadcast to ``shape`` (a read-only NumPy view where a dim is broadcast, its elements sharing memory;
    to the same shape a plain, writeable view, as PyTorch's); the gradient sums over the broadcast axes."""

    saves_nothing = True  # (backward reads only ctx's shapes: the node runs again after a free)


    @staticmethod
    def view_of(x, shape):
        return x.view() if np.shape(x) == tuple(shape) else np.broadcast_to(x, shape)

    @staticmethod
    def forward(ctx, x, shape=()):
        ctx.in_shape = np.shape(x)
        return Expand.view_of(x, shape)

    @staticmethod
    def backward(ctx, g):
        return (unbroadcast(g, ctx.in_shape),)

    @staticmethod
    def backward_graph(ctx, g):
        return (sum_to(g, ctx.in_shape),)


class Clone(Primitive):
    """y = a copy of x, every bit kept (-0.0, NaN payloads); the gradient passes unchanged (PyTorch's
    CloneBackward0)."""

    @staticmethod
    def forward(ctx, x):
        out = K.empty(np.shape(x), np.asarray(x).dtype)
        K.copy_into(out, x)
        return out

    @staticmethod
    def backward(ctx, g):
        return (g,)

    backward_graph = backward


class Identity(Primitive):
    """y = x (the same array): a node standing for an input, where a pass must stop (``composite``)."""

    @staticmethod
    def forward(ctx, x):
        return x

    @staticmethod
    def backward(ctx, g):
        return (g,)

    backward_graph = backward


class ZeroGradTo(Primitive):
    """y = x, and ``other`` gets a zero gradient: an output that is piecewise constant in ``other`` (grid_sample's
    nearest mode in its grid) stays in the graph, as PyTorch's gives the grid a zero gradient."""

    @staticmethod
    def forward(ctx, x, other):
        ctx.other = (np.shape(other), np.asarray(other).dtype)
        return x

    @staticmethod
    def backward(ctx, g):
        shape, dtype = ctx.other
        return g, np.zeros(shape, dtype=dtype)

    backward_graph = backward


class ClampMinStraight(Primitive):
    """y = max(x, lo) (NaN stays NaN), differentiated as y = x: PyTorch's cosine_similarity clamps the norms at
    eps in place under no_grad, so its gradient is that of the unclamped norm."""

    @staticmethod
    def forward(ctx, x, lo=0.0):
        return np.asarray(np.maximum(x, lo), dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        return (g,)

    backward_graph = backward


class Nextafter(Primitive):
    """The next float after a towards b (np.nextafter, broadcast); PyTorch's derivative: a's is the gradient where
    a != b (0 where the value stays), b's is zero."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.moves = a != b
        ctx.shapes = (np.shape(a), np.shape(b), np.asarray(b).dtype)
        return np.nextafter(a, b)

    @staticmethod
    def backward(ctx, g):
        a_shape, b_shape, b_dtype = ctx.shapes
        if hasattr(g, "_data"):
            to_a = sum_to(where(ctx.moves, g, 0.0), a_shape)
        else:
            to_a = unbroadcast(np.where(ctx.moves, g, np.zeros((), g.dtype)), a_shape)
        return to_a, np.zeros(b_shape, dtype=b_dtype)

    backward_graph = backward


class NotDifferentiable(Primitive):
    """y = ``value``, which requires grad when an input does, and whose backward raises PyTorch's error: an op
    PyTorch records with a derivative that is not implemented (heaviside)."""

    @staticmethod
    def forward(ctx, value, *inputs, op: str = ""):
        ctx.op = op
        return value

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(f"derivative for aten::{ctx.op} is not implemented")

    backward_graph = backward


class GetItem(ViewPrimitive):
    """x[index]: basic indexing gives a view, advanced indexing a copy (then the output is no view)."""

    @staticmethod
    def view_of(x, index):
        return x[_as_view_index(index)]

    @staticmethod
    def shape_depends_on_values(arrays, options) -> bool:  # a boolean mask selects elements
        index = arrays[1] if len(arrays) > 1 else options.get("index")
        return any(getattr(i, "dtype", None) == np.bool_ for i in (index if isinstance(index, tuple) else (index,)))

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = np.shape(x), index
        view_index = _as_view_index(index)  # (not ``index`` itself: basic, without Ellipsis)
        try:
            out = x[view_index]
        except IndexError as error:
            out = _out_of_bounds(x, index, error)
        if not out.flags.c_contiguous and view_index is index and not _is_basic_index(index):
            out = np.ascontiguousarray(out)  # advanced: a copy, C-contiguous as PyTorch's (NumPy's may put the
        return out  # indexed dims' layout first, and .view() failed)

    @staticmethod
    def backward(ctx, g):
        return (_index_add(g, ctx.index, ctx.shape),)

    @staticmethod
    def backward_graph(ctx, g):
        return (GetItemBackward.apply(g, index=ctx.index, shape=ctx.shape),)

    @property
    def torch_name(self) -> str | None:
        """PyTorch's node for this index (``SelectBackward0``, ``SliceBackward0``, ``IndexBackward0``, ...), found
        from the index when first asked for; ``_name`` set on the node (narrow's ``"Slice"``) overrides it."""
        d = self.__dict__
        name = d.get("_name")
        if name is None and "index" in d:
            name = d["_name"] = _index_op_name(d["index"], d["shape"])
        return name

    @torch_name.setter
    def torch_name(self, name: str) -> None:
        self.__dict__["_name"] = name

    def release(self) -> None:
        name = self.torch_name  # (kept: the name is still PyTorch's once backward freed the graph)
        super().release()
        if name is not None:
            self._name = name


class GetItemBackward(Primitive):
    """GetItem's backward as a primitive: zeros of ``shape`` with ``g`` added at ``index``; its backward
    indexes (the pair is closed under differentiation)."""

    @staticmethod
    def forward(ctx, g, index=None, shape=()):
        ctx.index = index
        return _index_add(g, index, shape)

    @staticmethod
    def backward(ctx, h):
        return (np.asarray(h[ctx.index]),)

    @staticmethod
    def backward_graph(ctx, h):
        return (GetItem.apply(h, index=ctx.index),)


def _index_add(g: np.ndarray, index, shape: tuple) -> np.ndarray:
    """Zeros of ``shape`` with ``g`` added at ``index`` (GetItem's backward)."""
    if _is_basic_index(index):  # basic indexing never repeats an element: g copied into a view
        gx = K.zeros(shape, g.dtype)  # (kernel calls, so that eg.compile records them)
        idx = index if isinstance(index, tuple) else (index,)
        K.copy_into(gx[idx if any(i is Ellipsis for i in idx) else idx + (Ellipsis,)], g)
        return gx
    gx = np.zeros(shape, dtype=g.dtype)
    if g.size:  # (an empty selection may hold positions out of bounds, never read: see _out_of_bounds)
        np.add.at(gx, index, g)  # fancy indices may repeat: accumulate
    return gx


def _out_of_bounds(x: np.ndarray, index, error: IndexError, value_shape=None) -> np.ndarray:
    """NumPy refused ``index``. PyTorch checks the positions of advanced indices as it reads them, so none
    when the result is empty (``x[3:, [9]]`` of a tensor of 3 rows is empty, no error: that result is returned);
    else its message ("index 9 is out of bounds for dimension 1 with size 4", "too many indices for tensor of
    dimension 2"). For a write of a value of ``value_shape``, PyTorch checks first that it broadcasts."""
    items = index if isinstance(index, tuple) else (index,)
    arrays = [np.asarray(i) if isinstance(i, (list, np.ndarray)) else None for i in items]
    if any(a is not None and a.dtype.kind in "iu" for a in arrays):
        safe = tuple(np.zeros_like(a) if a is not None and a.dtype.kind in "iu" else i for a, i in zip(arrays, items))
        try:
            out = x[safe]
        except IndexError:
            out = None
        if out is not None and value_shape is not None and (len(value_shape) > out.ndim or any(
                s not in (1, t) for s, t in zip(value_shape[::-1], out.shape[::-1]))):
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(value_shape)} cannot be broadcast to "
                               f"indexing result of shape {list(out.shape)}") from None
        if out is not None and out.size == 0:
            return out
    message = str(error)
    if message.startswith("too many indices for array"):
        message = f"too many indices for tensor of dimension {x.ndim}"
    raise IndexError(message.replace(" for axis ", " for dimension ")) from None


def _index_op_name(index, shape: tuple) -> str:
    """The op PyTorch's ``x[index]`` applies last, which names its node: an advanced index (a list, an array, a
    mask) ``Index``; else, in order, an integer ``Select``, a slice ``Slice``, None ``Unsqueeze``; in a tuple a
    slice over the whole dim (``:``, ``0:n``) is skipped, so that nothing applied (``x[...]``, ``x[:, :]``) is
    ``Alias``."""
    if type(index) is not tuple:
        if index is None:
            return "Unsqueeze"
        if index is Ellipsis:
            return "Alias"
        if type(index) is slice:
            return "Slice"
        return "Select" if isinstance(index, (int, np.integer)) else "Index"
    if not _is_basic_index(index):
        return "Index"
    name, dim = "Alias", 0
    for i in index:
        if i is None:
            name = "Unsqueeze"
        elif i is Ellipsis:
            dim = len(shape) - sum(1 for j in index if j is not None and j is not Ellipsis) + dim
        elif type(i) is slice:
            n = shape[dim] if dim < len(shape) else 0
            if not (i.start in (None, 0) and i.step in (None, 1) and (i.stop is None or i.stop >= n)):
                name = "Slice"
            dim += 1
        else:
            name, dim = "Select", dim + 1
    return name


def _as_view_index(index):
    """``index`` with an Ellipsis appended when it is basic and has none: x[0, 1] is then a 0-d view of the
    element, as PyTorch's (NumPy returns a scalar copy, and in-place changes of it were lost)."""
    items = index if isinstance(index, tuple) else (index,)
    if _is_basic_index(items) and not any(i is Ellipsis for i in items):
        return items + (Ellipsis,)
    return index


def _is_basic_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


# --- matrix products ------------------------------------------------------------------------------

def _float2d(a, b) -> bool:
    return np.ndim(a) == 2 and np.ndim(b) == 2 and K.is_float(a) and a.dtype == b.dtype


class MatMul(Primitive):
    """a @ b with NumPy's matmul semantics; 2-D float products run on the GEMM kernel."""

    matrix_operands = True  # (a broadcast error names the batch dims, as PyTorch's)

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

    @staticmethod
    def backward_graph(ctx, g):
        a, b = ctx.saved
        at, bt = ctx.input_tensor(0, a), ctx.input_tensor(1, b)
        a2 = _reshape(at, (1,) + a.shape) if a.ndim == 1 else at
        b2 = _reshape(bt, b.shape + (1,)) if b.ndim == 1 else bt
        g2 = g
        if b.ndim == 1:
            g2 = g2.unsqueeze(-1)
        if a.ndim == 1:
            g2 = g2.unsqueeze(-2)
        ga = gb = None
        if ctx.needs_input_grad[0]:
            ga = sum_to(g2 @ _mT(b2), np.shape(a2)).reshape(a.shape)
        if ctx.needs_input_grad[1]:
            gb = sum_to(_mT(a2) @ g2, np.shape(b2)).reshape(b.shape)
        return ga, gb


_NOWHERE: dict = {}


class Linear(Primitive):
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

    fresh_grads = True  # each gradient is a new array, or the slot it was asked to write (engine._slots_to_write)
    writes_grads_into = (1, 2)  # dW and db straight into the optimizer's slots (Primitive.writes_grads_into)

    @staticmethod
    def backward(ctx, g):
        x, weight = ctx.saved
        need = ctx.needs_input_grad
        into = ctx.grad_into or _NOWHERE
        gx = K.gemm(g, weight) if need[0] else None
        gw = K.gemm(g, x, trans_a=True, out=into.get(1)) if need[1] else None
        gb = K.sum_rows(g, out=into.get(2)) if len(need) > 2 and need[2] else None
        return gx, gw, gb

    @staticmethod
    def backward_graph(ctx, g):
        x, weight = ctx.saved
        need = ctx.needs_input_grad
        gx = g @ ctx.input_tensor(1, weight) if need[0] else None
        gw = g.T @ ctx.input_tensor(0, x) if need[1] else None
        gb = g.sum(0) if len(need) > 2 and need[2] else None
        return gx, gw, gb


# --- losses ---------------------------------------------------------------------------------------

_REDUCTIONS = ("mean", "sum", "none")


def check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction: expected one of {_REDUCTIONS}, got {reduction!r}")


class SoftmaxCrossEntropy(Primitive):
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

    @staticmethod
    def backward_graph(ctx, g):
        """(softmax(x) - onehot(t)) s, s the upstream gradient of each row (0 on ignored rows)."""
        logits, target, _ = ctx.saved
        n, c = logits.shape
        keep = target != ctx.ignore_index
        onehot = np.zeros((n, c), logits.dtype)
        onehot[np.arange(n)[keep], target[keep]] = 1
        scale = g * keep.astype(logits.dtype)
        if ctx.reduction == "mean":
            count = int(np.count_nonzero(keep))  # the rows kept, counted from the targets (as K.loss_reduce)
            scale = scale / count if count else scale * np.nan
        p = ctx.input_tensor(0, logits).softmax(1)
        return (p - onehot) * scale.reshape(n, 1), None


class MSE(Primitive):
    """Mean-squared error: mean((x - y)^2) ('mean'), the sum ('sum') or elementwise ('none')."""

    @staticmethod
    def forward(ctx, x, y, reduction="mean"):
        ctx.reduction = reduction
        ctx.save_for_backward(x, y)
        if reduction == "none":
            return K.squared_error(x, y)
        return K.squared_error_reduce(x, y, reduction == "mean")

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        if ctx.reduction == "none":
            gx = K.squared_error_backward(x, y, g, 2.0)
        else:
            gx = K.squared_error_backward_reduced(x, y, g, ctx.reduction == "mean")
        return (gx if ctx.needs_input_grad[0] else None), (K.ufunc("negative", gx) if ctx.needs_input_grad[1] else None)

    @staticmethod
    def backward_graph(ctx, g):
        x, y = ctx.saved
        d = ctx.input_tensor(0, x) - ctx.input_tensor(1, y)  # a tensor: x or y needs a gradient
        n = x.size if ctx.reduction == "mean" else 1
        gx = d * (g * (2.0 / n)) if x.size else d * 0
        return (gx if ctx.needs_input_grad[0] else None), (-gx if ctx.needs_input_grad[1] else None)
