"""Parameter initialisation, in place, with PyTorch's names, signatures and gains (``torch.nn.init``).

Every draw comes from eigengrad's counter-based generator: the default one (``eigengrad.manual_seed``)
or the ``generator=`` given. An initialiser changes nothing but the tensor and the generator's offset
(which advances by the number of numbers drawn), so the same seed gives the same weights on any number
of threads. Everything runs under ``no_grad``: initialising a parameter records no graph.

Fans (``_calculate_fan_in_and_fan_out``): for a weight of shape (out, in, *kernel), fan_in = in * prod(kernel)
and fan_out = out * prod(kernel); tensors with fewer than 2 dimensions have no fans (ValueError, as PyTorch).

==========================  =======================================  ===============================
initialiser                 distribution                             variance
==========================  =======================================  ===============================
uniform_(a, b)              U[a, b)                                  (b - a)^2 / 12
normal_(mean, std)          N(mean, std^2)                           std^2
trunc_normal_(m, s, a, b)   N(m, s^2) restricted to [a, b]           see the function
xavier_uniform_(gain)       U[-g sqrt(6 / (fan_in + fan_out)), ..]   2 g^2 / (fan_in + fan_out)
xavier_normal_(gain)        N(0, 2 g^2 / (fan_in + fan_out))         2 g^2 / (fan_in + fan_out)
kaiming_uniform_(a, mode)   U[-g sqrt(3 / fan), g sqrt(3 / fan)]     g^2 / fan
kaiming_normal_(a, mode)    N(0, g^2 / fan)                          g^2 / fan
lecun_uniform_              U[-sqrt(3 / fan_in), sqrt(3 / fan_in)]   1 / fan_in
lecun_normal_               N(0, 1 / fan_in)                         1 / fan_in
orthogonal_(gain)           gain * (semi-)orthogonal matrix          W W^T = gain^2 I (rows <= cols)
sparse_(sparsity, std)      N(0, std^2), ceil(sparsity rows) zeros   per column
==========================  =======================================  ===============================

``eye_`` and ``dirac_`` (a convolution that passes its input through) are deterministic. PyTorch's deprecated
names without the underscore (``nn.init.xavier_uniform``, ...) call these with its FutureWarning.

g = calculate_gain(nonlinearity, a). Papers: Glorot & Bengio 2010 (Xavier); He et al. 2015 (Kaiming);
LeCun et al. 1998, "Efficient BackProp" and Klambauer et al. 2017 (SELU) (LeCun); Saxe et al. 2014
(orthogonal).
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from eigengrad import random as _random
from eigengrad._errors import ArgumentError, DtypeNotSupportedError
from eigengrad.autograd.grad_mode import no_grad
from eigengrad.tensor import Tensor

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "zeros_", "ones_", "eye_",
           "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "lecun_uniform_",
           "lecun_normal_", "orthogonal_", "sparse_"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
           "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table).

    ==================  ===========================
    linear, conv*d,     1
    conv_transpose*d,
    sigmoid
    tanh                5 / 3
    relu                sqrt(2)
    leaky_relu          sqrt(2 / (1 + slope^2)), slope = ``param`` (default 0.01)
    selu                3 / 4
    ==================  ===========================
    """
    if nonlinearity in _LINEAR:
        return 1  # (an int, as PyTorch's)
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, numbers.Real):
            raise ValueError(f"param: expected a number (the negative slope), got {param!r}")
        else:
            slope = float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"nonlinearity: unsupported value {nonlinearity!r}; expected one of "
                     f"{_LINEAR + ('tanh', 'relu', 'leaky_relu', 'selu')}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    _check(tensor, any_dtype=True)
    if tensor.ndim < 2:
        raise ValueError(f"tensor: fan in and fan out can not be computed for a tensor with fewer than 2 "
                         f"dimensions, got shape {tensor.shape}")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode: expected 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _check(tensor, any_dtype: bool = False) -> np.ndarray:
    """The tensor's array: any dtype for the deterministic fills (constant_, eye_, dirac_: PyTorch fills
    integer and bool tensors too), a floating one for the random ones (PyTorch's NotImplementedError
    '"normal_kernel_cpu" not implemented for 'Long'', which eigengrad's error also is as a TypeError)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor: expected an eigengrad Tensor, got {type(tensor).__name__}")
    arr = tensor._data
    if not any_dtype and arr.dtype.kind != "f":
        raise DtypeNotSupportedError(f"tensor: a random initialisation needs a floating tensor, got dtype {arr.dtype}")
    return arr


def _fill(tensor: Tensor, draw, any_dtype: bool = False) -> Tensor:
    """Run ``draw(array)`` on a contiguous array and write it into ``tensor`` in place. A random ``draw`` gets a
    float32 or float64 array: a float16 tensor is drawn in float32 and rounded."""
    arr = _check(tensor, any_dtype)
    with no_grad():
        if arr.flags.c_contiguous and arr.flags.writeable and (any_dtype or arr.dtype in (np.float32, np.float64)):
            draw(arr)
        else:
            tmp = np.empty(arr.shape, dtype=arr.dtype if any_dtype or arr.dtype == np.float64 else np.float32)
            draw(tmp)
            arr[...] = tmp
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with U[a, b): mean (a + b) / 2, variance (b - a)^2 / 12."""
    return _fill(tensor, lambda arr: _random.uniform_(arr, a, b, generator))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2).

    The classic small-random initialisation is ``normal_(w, 0.0, 0.01)``: N(0, 0.01^2) (e.g. AlexNet,
    Krizhevsky et al. 2012). It ignores the layer's width, so signals shrink layer after layer in deep
    nets; prefer the fan-scaled ``kaiming_*``/``xavier_*``/``lecun_*``.
    """
    return _fill(tensor, lambda arr: _random.normal_(arr, mean, std, generator))


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0,
                  generator=None) -> Tensor:
    """Fill with N(mean, std^2) truncated to [a, b] (absolute bounds, as PyTorch), by rejection: where [a, b]
    holds more than 0.3 of the normal, draws outside [a, b] are redrawn (from the same generator) until all
    are inside; else (a tail, a narrow interval, a == b) U[a, b] proposals are accepted with the density's
    ratio to its peak on [a, b], as PyTorch does. Warns, as PyTorch, when mean is more than 2 std from [a, b].

    With alpha = (a - mean) / std, beta = (b - mean) / std, phi/Phi the standard normal density/CDF and
    Z = Phi(beta) - Phi(alpha): variance = std^2 (1 - (beta phi(beta) - alpha phi(alpha)) / Z
    - ((phi(alpha) - phi(beta)) / Z)^2). The distribution is PyTorch's, the numbers are not.
    """
    if a > b:  # PyTorch's uniform_ raises RuntimeError "expects to return a [from, to) range"; a == b fills a
        raise ArgumentError(f"a, b: expected a <= b, got a={a}, b={b}")
    if not std > 0:
        raise ValueError(f"std: expected a value > 0, got {std}")
    lo, hi = (a - mean) / std, (b - mean) / std
    mass = 0.5 * (math.erf(hi / math.sqrt(2)) - math.erf(lo / math.sqrt(2)))

    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The distribution of values "
                      "may be incorrect.", stacklevel=2)

    def draw_by_density(arr: np.ndarray) -> None:
        # [a, b] holds little of N(mean, std^2) (a tail, a narrow or empty interval), where redrawing normals
        # would take too many rounds: as PyTorch, propose U[a, b] and accept with the density's ratio to its
        # peak on [a, b] (exact for any interval; a == b fills a)
        flat = arr.reshape(-1)
        log_peak = -0.5 * ((max(a, min(mean, b)) - mean) / std) ** 2
        pending = np.arange(flat.size)
        while pending.size:
            x = np.empty(pending.size, dtype=flat.dtype)
            _random.uniform_(x, a, b, generator)
            u = np.empty(pending.size, dtype=flat.dtype)
            _random.uniform_(u, 0.0, 1.0, generator)
            z = (x.astype(np.float64) - mean) / std
            with np.errstate(divide="ignore"):
                accept = np.log(u) <= -0.5 * z * z - log_peak
            flat[pending[accept]] = x[accept]
            pending = pending[~accept]

    if mass <= 0.3:  # PyTorch's switch between the two methods
        return _fill(tensor, draw_by_density)

    def draw(arr: np.ndarray) -> None:
        flat = arr.reshape(-1)
        _random.normal_(flat, mean, std, generator)
        bad = np.nonzero((flat < a) | (flat > b))[0]
        while bad.size:
            redo = np.empty(bad.size, dtype=flat.dtype)
            _random.normal_(redo, mean, std, generator)
            flat[bad] = redo
            bad = bad[(redo < a) | (redo > b)]

    return _fill(tensor, draw)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``: a number or a 0-dimensional tensor (PyTorch's ``fill_``)."""
    if isinstance(val, Tensor):
        if val.ndim != 0:
            raise ArgumentError(f"val: fill_ only supports 0-dimension value tensor but got tensor with "
                                f"{val.ndim} dimensions.")
        val = val.item()
    elif not isinstance(val, numbers.Number):  # None would fill NaN, a str or list fail in NumPy's float()
        raise TypeError(f"val: expected a number, got {val!r} ({type(val).__name__})")
    return _fill(tensor, lambda arr: arr.fill(val), any_dtype=True)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    return constant_(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the main diagonal of a possibly non-square matrix)."""
    _check(tensor, any_dtype=True)
    if tensor.ndim != 2:
        raise ValueError(f"tensor: expected a 2-dimensional tensor, got shape {tensor.shape}")
    return _fill(tensor, lambda arr: arr.__setitem__(Ellipsis, np.eye(*arr.shape, dtype=arr.dtype)), any_dtype=True)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot & Bengio (2010): U[-bound, bound], bound = gain * sqrt(6 / (fan_in + fan_out));
    variance gain^2 * 2 / (fan_in + fan_out)."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out)) if fan_in + fan_out else 0.0
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot & Bengio (2010): N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out)) if fan_in + fan_out else 0.0
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None) -> Tensor:
    """He et al. (2015): U[-bound, bound], bound = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a),
    fan = fan_in ('fan_in': preserves the forward variance) or fan_out (preserves the backward one).
    Variance gain^2 / fan. A tensor with a zero-size dimension is left as it is, with PyTorch's warning."""
    if _zero_element(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None) -> Tensor:
    """He et al. (2015): N(0, std^2), std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a)."""
    if _zero_element(tensor):
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), generator)


def _zero_element(tensor: Tensor) -> bool:
    """PyTorch's kaiming initialisers do nothing to a tensor without elements (whatever its rank), and warn."""
    if 0 not in tuple(tensor.shape):
        return False
    import warnings

    warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=3)
    return True


def lecun_uniform_(tensor: Tensor, generator=None) -> Tensor:
    """LeCun (1998): U[-sqrt(3 / fan_in), sqrt(3 / fan_in)], variance 1 / fan_in (gain 1). Not in PyTorch
    (JAX's ``lecun_uniform``); equals ``kaiming_uniform_(tensor, nonlinearity='linear')``."""
    return kaiming_uniform_(tensor, mode="fan_in", nonlinearity="linear", generator=generator)


def lecun_normal_(tensor: Tensor, generator=None) -> Tensor:
    """LeCun (1998): N(0, 1 / fan_in), the initialisation SELU networks assume (Klambauer et al. 2017).
    Not in PyTorch; an untruncated normal (JAX's ``lecun_normal`` truncates at 2 std and rescales)."""
    return kaiming_normal_(tensor, mode="fan_in", nonlinearity="linear", generator=generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Saxe et al. (2014): a (semi-)orthogonal matrix times ``gain``, as PyTorch builds it.

    The tensor is viewed as a matrix (rows = shape[0], cols = the product of the other dims). A Gaussian
    matrix (transposed when rows < cols) is QR-factorised; Q's columns are multiplied by sign(diag(R)) so
    the result is uniformly (Haar) distributed. Then W W^T = gain^2 I when rows <= cols and
    W^T W = gain^2 I when rows >= cols. Float64 QR for both dtypes.
    """
    arr = _check(tensor)
    if tensor.ndim < 2:
        raise ValueError(f"tensor: only tensors with 2 or more dimensions are supported, got shape {tensor.shape}")
    if arr.size == 0:
        return tensor
    rows = tensor.shape[0]
    cols = arr.size // rows
    flat = np.empty((rows, cols), dtype=np.float64)
    _random.normal_(flat, 0.0, 1.0, generator)
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    d = np.sign(np.diag(r))
    d[d == 0] = 1
    q = q * d
    if rows < cols:
        q = q.T
    with no_grad():
        arr[...] = (gain * q).reshape(arr.shape).astype(arr.dtype)
    return tensor


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """A 3-, 4- or 5-D convolution weight (out, in, *kernel) that passes its input through: 1 at the kernel's
    centre for output channel d of each group and its input channel d, 0 elsewhere (PyTorch's, with
    ``groups``; the channels beyond min(out / groups, in) stay 0)."""
    _check(tensor, any_dtype=True)
    if tensor.ndim not in (3, 4, 5):
        raise ValueError(f"tensor: Only tensors with 3, 4, or 5 dimensions are supported, got shape {tensor.shape}")
    out = tensor.shape[0]
    if groups < 1 or out % groups:
        raise ValueError(f"groups: dim 0 must be divisible by groups, got {out} output channels and groups={groups}")
    per_group = out // groups
    centre = tuple(k // 2 for k in tensor.shape[2:])

    def draw(a):
        a.fill(0)
        for g in range(groups):
            for d in range(min(per_group, tensor.shape[1])):
                a[(g * per_group + d, d) + centre] = 1

    return _fill(tensor, draw, any_dtype=True)


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator=None) -> Tensor:
    """Martens (2010), "Deep learning via Hessian-free optimization": a 2-D tensor drawn from N(0, std^2),
    then ceil(sparsity * rows) entries of each column, at random rows, set to 0."""
    arr = _check(tensor)
    if tensor.ndim != 2:
        raise ValueError(f"tensor: Only tensors with 2 dimensions are supported, got shape {tensor.shape}")
    rows, cols = tensor.shape
    zeros = int(math.ceil(sparsity * rows))
    normal_(tensor, 0.0, std, generator)
    from eigengrad import randperm

    with no_grad():
        for col in range(cols):
            arr[randperm(rows, generator=generator)._data[:zeros], col] = 0
    return tensor


def _deprecated(new):
    """PyTorch's deprecated name without the trailing underscore, with its FutureWarning."""
    import functools
    import warnings

    old = new.__name__[:-1]

    @functools.wraps(new)
    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new.__name__}`.", FutureWarning,
                      stacklevel=2)
        return new(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old
    return deprecated_init


uniform, normal, constant = _deprecated(uniform_), _deprecated(normal_), _deprecated(constant_)
xavier_uniform, xavier_normal = _deprecated(xavier_uniform_), _deprecated(xavier_normal_)
kaiming_uniform, kaiming_normal = _deprecated(kaiming_uniform_), _deprecated(kaiming_normal_)
orthogonal, sparse = _deprecated(orthogonal_), _deprecated(sparse_)
eye, dirac = _deprecated(eye_), _deprecated(dirac_)
