"""PyTorch's remaining activations in functional form (re-exported by ``eigengrad.nn.functional``): SiLU,
Mish, ReLU6, Hardtanh, Hardswish, Hardsigmoid, LogSigmoid, Softsign, Tanhshrink, Threshold, GLU, CELU,
Hardshrink, Softshrink, RReLU, softmin, Gumbel-softmax, and the in-place forms (``relu_``, ``elu_``, ...).

Each is composed of differentiable tensor operations, so first- and second-order gradients come with it.
``inplace=True`` writes the result into the input (``autograd.inplace``: PyTorch's rules and version
counter), as PyTorch does; the in-place ``F.<name>_`` forms are the same call.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from eigengrad import _dtype
from eigengrad import random as _random
from eigengrad._errors import ArgumentError, ArgumentTypeError, DtypeNotSupportedError
from eigengrad.autograd.ops import numpy_call
from eigengrad.nn._functional_activation import _apply, _real, _tensor, elu, leaky_relu, selu
from eigengrad.tensor import Tensor


def _where_tensor(mask: np.ndarray, a, b):
    """``a`` where ``mask`` (a NumPy bool array, no gradient), else ``b``. Masks of values go through
    numpy_call, so that a compiled step computes them again at every call rather than freezing the trace's."""
    from eigengrad.tensor_ops.index import where

    return where(Tensor._wrap(mask if isinstance(mask, np.ndarray) and mask.dtype == np.bool_ else
                              np.array(mask, dtype=bool)), a, b)


def _strictly_inside(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (x > lo) & (x < hi)


# The kept elements are those not at or below the bound, so that a NaN is kept (PyTorch's kernels test
# x <= bound and keep x otherwise: a NaN input gives NaN, with gradient 1).

def _not_at_most(x: np.ndarray, bound: float) -> np.ndarray:
    return ~(x <= bound)


def _abs_not_at_most(x: np.ndarray, bound: float) -> np.ndarray:
    return ~(np.abs(x) <= bound)


# --- ReLU family ------------------------------------------------------------------------------------------

def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); ``inplace`` writes into ``input``; an integer input keeps its dtype, as PyTorch's."""
    from eigengrad.autograd import ops

    return _apply(input, inplace, "relu", lambda x: ops.ReLU.apply(x) if x._data.dtype.kind == "f" else x.relu())


def _hardtanh(x: Tensor, min_val: float, max_val: float) -> Tensor:
    inside = numpy_call(_strictly_inside, x._data, min_val, max_val)  # PyTorch's gradient: 1 strictly inside
    return _where_tensor(inside, x, x.detach().clamp(min_val, max_val))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """min(max(x, min_val), max_val); the gradient is 1 strictly between the bounds, else 0."""
    min_val, max_val = _real(min_val, "min_val"), _real(max_val, "max_val")
    if min_val > max_val:
        raise ArgumentError("min_val cannot be greater than max_val")
    kind = _integer_kind(input, "hardtanh")
    if kind == "u" and min(min_val, max_val) < 0:
        raise ArgumentError("cannot do hardtanh on an unsigned type with negative limits")
    if kind:  # (an integer input keeps its dtype: the bounds cast to it, as PyTorch's kernel does)
        min_val, max_val = int(min_val), int(max_val)
    return _apply(input, inplace, "hardtanh", _hardtanh, min_val, max_val)


def _integer_kind(input, name: str) -> str:
    """"i" or "u" for an integer tensor, "" for a float one; a bool tensor is refused, as PyTorch's."""
    kind = getattr(getattr(input, "_data", None), "dtype", np.dtype(np.float32)).kind
    if kind == "b":
        raise ArgumentTypeError(f"Bool inputs not supported for {name}")
    return kind if kind in "iu" else ""


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) (Krizhevsky 2010): ``hardtanh(x, 0, 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def _hardsigmoid(x: Tensor) -> Tensor:
    return _hardtanh(x + 3.0, 0.0, 6.0) / 6.0


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6 (Howard et al., "Searching for MobileNetV3", 2019)."""
    return _apply(input, inplace, "hardsigmoid", _hardsigmoid)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6 (Howard et al., "Searching for MobileNetV3", 2019)."""
    return _apply(input, inplace, "hardswish", lambda x: x * _hardsigmoid(x))


def _threshold(x: Tensor, threshold: float, value: float) -> Tensor:
    return _where_tensor(numpy_call(_not_at_most, x._data, threshold), x, value)


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold (or NaN), else ``value``."""
    threshold, value = _real(threshold, "threshold"), _real(value, "value")
    if _integer_kind(input, "threshold"):  # (an integer input keeps its dtype: both cast to it, as PyTorch's)
        threshold, value = int(threshold), int(value)
    return _apply(input, inplace, "threshold", _threshold, threshold, value)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`."""
    return globals()["threshold"](input, threshold, value, inplace=True)


def _rrelu_train(x: Tensor, lower: float, upper: float) -> Tensor:
    """x where x >= 0, else x * a with a ~ U(lower, upper) drawn for every element (the generator advances by
    x's size). The draw and the mask through numpy_call, so that a compiled step draws and masks again at
    every replay (a NumPy write into the slopes was invisible to the trace)."""
    from eigengrad.tensor_ops.creation import _uniform

    slopes = numpy_call(_uniform, tuple(x.shape), x._data.dtype, None, lower, upper)
    return _where_tensor(numpy_call(np.greater_equal, x._data, 0), x, x * Tensor._wrap(slopes))


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU (Xu et al., "Empirical Evaluation of Rectified Activations", 2015): x for
    x >= 0, a x otherwise, with a ~ U(lower, upper) per element (drawn from eigengrad's generator) when
    ``training``, else a = (lower + upper) / 2."""
    lower, upper = _real(lower, "lower"), _real(upper, "upper")
    if lower > upper:
        raise ArgumentError("Lower bound should be less than or equal to the upper bound")
    if not training:
        slope = (lower + upper) / 2
        return _apply(input, inplace, "rrelu", lambda x: leaky_relu(x, slope))
    return _apply(input, inplace, "rrelu", _rrelu_train, lower, upper)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    """In-place :func:`rrelu`."""
    return rrelu(input, lower, upper, training, inplace=True)


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    return relu(input, inplace=True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place leaky ReLU."""
    return leaky_relu(input, negative_slope, inplace=True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ELU."""
    return elu(input, alpha, inplace=True)


def selu_(input: Tensor) -> Tensor:
    """In-place SELU."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """CELU (Barron, "Continuously Differentiable Exponential Linear Units", 2017):
    max(0, x) + min(0, alpha (exp(x / alpha) - 1))."""
    alpha = _real(alpha, "alpha")
    if alpha == 0:
        raise ArgumentError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _apply(input, inplace, "celu", _celu, alpha)


def _celu(x: Tensor, alpha: float) -> Tensor:
    """x where x > 0, else alpha (exp(x / alpha) - 1): PyTorch's celu is elu(x, alpha, scale 1, input scale
    1 / alpha), so the ELU primitive with those parameters, whose gradients are PyTorch's to every order
    (the second derivative is 0 at x = 0; a where/clamp composite gave exp(0) / alpha there)."""
    from eigengrad.autograd.ops_activation import Unary

    if alpha != alpha:  # NaN: PyTorch's kernel still gives x for x > 0 and 0 at x = 0, NaN below
        from eigengrad.tensor_ops.index import where

        return where(x >= 0, x, x * alpha)
    return Unary.apply(x, kind="elu", params=(alpha, 1.0, 1.0 / alpha))


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


# --- smooth gates ----------------------------------------------------------------------------------------

def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x sigmoid(x) (SiLU / swish: Elfwing et al. 2017, Ramachandran et al. 2017)."""
    return _apply(input, inplace, "silu", lambda x: x * x.sigmoid())


def _softplus(x: Tensor) -> Tensor:
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)), max(x, 0) as (x + |x|) / 2 (the same
    value, and the derivative 1/2 at 0, as the sum's; clamp's would be 1)."""
    return (x + x.abs()) / 2 + (-x.abs()).exp().log1p()


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)) (Misra, "Mish: A Self Regularized Non-Monotonic Activation Function", 2019)."""
    return _apply(input, inplace, "mish", _mish_inplace if inplace else _mish)


def _mish(x: Tensor) -> Tensor:
    return x * _softplus(x).tanh()


def _mish_inplace(x: Tensor) -> Tensor:
    """In place, the composite's inner nodes (|x|, the sum) would save the input that the write overwrites
    (autograd's version check then failed in backward): they see a copy of it instead."""
    return _mish(x.clone())


def logsigmoid(input: Tensor) -> Tensor:
    """log(1 / (1 + exp(-x))) = min(x, 0) - log1p(exp(-|x|)) (no overflow either way)."""
    from eigengrad.autograd.ops_activation import LogSigmoid

    return LogSigmoid.apply(_tensor(input))


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    x = _tensor(input)
    return x / (x.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    x = _tensor(input)
    return x - x.tanh()


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, else 0."""
    x = _tensor(input)
    lambd = _real(lambd, "lambd")
    return _where_tensor(numpy_call(_abs_not_at_most, x._data, lambd), x, 0.0)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd for x > lambd, x + lambd for x < -lambd, else 0."""
    x = _tensor(input)
    lambd = _real(lambd, "lambd")
    if lambd < 0:
        top, name = (3.40282e38, "Float") if x.dtype == np.float32 else (1.79769e308, "Double")
        raise ArgumentError(f"lambda must be in range [0, {top:g}] for input dtype {name}, but found {lambd:g}")
    a = x._data  # (between the bounds: x * 0, a zero of x's sign, as PyTorch's)
    return _where_tensor(numpy_call(_not_at_most, a, lambd), x - lambd,
                         _where_tensor(numpy_call(np.less, a, -lambd), x + lambd, x * 0.0))


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """GLU (Dauphin et al., "Language Modeling with Gated Convolutional Networks", 2017): the input split
    in halves a, b along ``dim``; a sigmoid(b)."""
    x = _tensor(input)
    if x._data.dtype.kind != "f":  # PyTorch: "glu" is not implemented for integer or bool tensors
        raise DtypeNotSupportedError(f"glu: expected a float32 or float64 tensor, got dtype {x._data.dtype}")
    if x.ndim == 0:
        raise ArgumentError("glu does not support scalars because halving size must be even")
    d = _dim(dim, x.ndim)
    n = x.shape[d]
    if n % 2:
        raise ArgumentError(f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = x.narrow(d, 0, n // 2), x.narrow(d, n // 2, n // 2)
    return a * b.sigmoid()


def _dim(dim, ndim: int) -> int:
    if not isinstance(dim, numbers.Integral) or isinstance(dim, bool):
        raise TypeError(f"dim: expected an int, got {type(dim).__name__}")
    lo, hi = -max(ndim, 1), max(ndim, 1) - 1
    if not lo <= dim <= hi:
        raise IndexError(f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})")
    return int(dim) % max(ndim, 1)


# --- softmax family ----------------------------------------------------------------------------------------

def _softmax_dim(name: str, ndim: int) -> int:
    """PyTorch's implicit dim (deprecated): 0 for 0-, 1- and 3-d inputs, else 1."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _cast_input(x: Tensor, dtype) -> Tensor:
    return x if dtype is None else x.to(_dtype.to_numpy(dtype))


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``dim`` (max-shifted, so it never overflows); ``dtype``: the input
    is cast to it first."""
    x = _tensor(input)
    dim = _softmax_dim("softmax", x.ndim) if dim is None else dim
    return _cast_input(x, dtype).softmax(dim)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x_i - logsumexp(x) along ``dim``; ``dtype``: the input is cast to it first."""
    x = _tensor(input)
    dim = _softmax_dim("log_softmax", x.ndim) if dim is None else dim
    return _cast_input(x, dtype).log_softmax(dim)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along ``dim``; ``dtype``: the input is cast to it first."""
    x = _tensor(input)
    dim = _softmax_dim("softmin", x.ndim) if dim is None else dim
    return (-_cast_input(x, dtype)).softmax(dim)


def gumbel_softmax(logits: Tensor, tau: float = 1.0, hard: bool = False, eps: float = 1e-10, dim: int = -1) -> Tensor:
    """Samples of the Gumbel-softmax distribution (Jang et al. 2016; Maddison et al. 2016):
    softmax((logits + g) / tau) with g ~ Gumbel(0, 1) (drawn from eigengrad's generator, as -log(E),
    E ~ Exp(1), like PyTorch). ``hard``: the one-hot of the argmax in the forward pass, with the soft
    sample's gradient (straight-through)."""
    x = _tensor(logits, "logits")
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", UserWarning, stacklevel=2)
    # (through numpy_call: a compiled step draws at every call and finds the argmax of that call's sample)
    gumbels = numpy_call(_gumbel_draw, tuple(x.shape), x._data.dtype)
    y_soft = ((x + Tensor._wrap(gumbels)) / tau).softmax(dim)
    if not hard:
        return y_soft
    y_hard = numpy_call(_one_hot_of_argmax, y_soft._data, _dim(dim, x.ndim) if x.ndim else 0)
    return y_soft - y_soft.detach() + Tensor._wrap(y_hard)


def _gumbel_draw(shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Gumbel(0, 1) draws, -log(E) with E = -log(1 - U) ~ Exp(1), from the default generator."""
    u = np.empty(shape, dtype=dtype)
    _random.uniform_(u.reshape(-1), 0.0, 1.0)
    return (-np.log(-np.log1p(-u))).astype(dtype, copy=False)


def _one_hot_of_argmax(y: np.ndarray, d: int) -> np.ndarray:
    """1 at the first largest entry along ``d``, 0 elsewhere (a 0-d ``y``: 1)."""
    out = np.zeros(y.shape, dtype=y.dtype)
    if y.ndim:
        np.put_along_axis(out, np.expand_dims(np.argmax(y, axis=d), d), 1.0, axis=d)
    else:
        out[...] = 1.0
    return out
