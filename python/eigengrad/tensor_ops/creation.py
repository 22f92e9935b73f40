"""Factories with PyTorch's signatures: ``tensor``, ``as_tensor``, ``asarray``, ``from_numpy``, ``zeros``, ``ones``,
``empty``, ``full``, the ``*_like`` forms, ``arange``, ``linspace``, ``logspace``, ``eye``, the random ones
(``rand``, ``randn``, ``randint``, ``randperm``, ``multinomial``, ``bernoulli``, ``normal`` and their ``*_like``
and in-place forms, all drawn from eigengrad's counter-based generators), the ``new_*`` methods and the
legacy constructors (``FloatTensor``, ``LongTensor``, ...). Every factory takes ``dtype``, ``device`` (the
CPU), ``requires_grad``; ``layout``, ``pin_memory`` and ``memory_format`` are accepted."""
from __future__ import annotations

import math
from operator import index as operator_index
import numbers
import sys
import warnings

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentTypeError, DtypeNotSupportedError
from eigengrad import _dtype, _trace
from eigengrad._exact import fms
from eigengrad.autograd.grad_mode import _state as _grad_state
from eigengrad.autograd import ops
from eigengrad.autograd.ops import numpy_call
from eigengrad import random as _random
from eigengrad._device import check_device
from eigengrad.tensor_ops.conversion import LEGACY_TYPES
from eigengrad.tensor_ops import _dims, _out


def _tensor():
    """The module eigengrad.tensor (the attribute ``eigengrad.tensor`` is the factory function)."""
    return sys.modules["eigengrad.tensor"]


def _new(arr: np.ndarray, requires_grad: bool = False, device=None, out=None):
    check_device(device)
    t = _marked(_tensor().Tensor._wrap(arr, requires_grad))
    return _out.write(t, out) if out is not None else t


def _marked(t):
    """``t``, an inference tensor when made inside ``inference_mode`` (PyTorch: every tensor a factory makes
    there is one, ``torch.zeros(2).is_inference()``)."""
    if _grad_state.inference:
        t._inference = True
    return t


def _float_dtype(dtype) -> np.dtype:
    return _dtype.to_numpy(dtype) if dtype is not None else _tensor().default_float()


def _size(size: tuple, keyword=None) -> tuple:
    """The size given as ints, one sequence, or PyTorch's ``size=`` keyword (``zeros(size=(2, 3))``)."""
    if keyword is not None:
        if size:
            raise TypeError(f"size: given both as arguments {size} and as the keyword size={keyword!r}")
        size = (keyword,)
    return _dims.check_sizes(_dims.sizes(size))


def _size_keyword(kw: dict, fn: str):
    """``size=`` from a factory's extra keywords (any other keyword is an error, named as Python names it)."""
    size = kw.pop("size", None)
    if kw:
        raise TypeError(f"{fn}() got an unexpected keyword argument {next(iter(kw))!r}")
    return size


def _layout(layout=None, pin_memory=None, memory_format=None) -> None:
    """Accepted for PyTorch's signatures; only the strided layout exists."""
    if layout is not None and layout is not strided:
        raise ArgumentError(f"layout: eigengrad tensors are strided (dense), got {layout!r}")


class _Layout:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"eigengrad.{self.name}"


strided = _Layout("strided")
contiguous_format = _Layout("contiguous_format")
preserve_format = _Layout("preserve_format")
channels_last = _Layout("channels_last")
channels_last_3d = _Layout("channels_last_3d")


# --- from data ---------------------------------------------------------------------------------------

def tensor(data, *, dtype=None, device=None, requires_grad: bool = False, pin_memory: bool = False):
    """A new tensor holding a copy of ``data`` (Python floats give the default float dtype, ints int64, bools
    bool; NumPy arrays keep their dtype). A tensor as ``data`` is copied detached, with PyTorch's warning."""
    if isinstance(data, _tensor().Tensor):
        warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or "
                      "sourceTensor.detach().clone().requires_grad_(True), rather than torch.tensor(sourceTensor).",
                      UserWarning, stacklevel=2)
    return _copied(data, dtype, device, requires_grad)


def _copied(data, dtype=None, device=None, requires_grad: bool = False):
    """``tensor`` without its warning: a copy of ``data`` (which may be a tensor) as a new leaf."""
    from eigengrad.tensor import _to_array

    if _trace.ACTIVE[0] is not None and _python_literal(data):
        return _new(numpy_call(_to_array, data, dtype=dtype), requires_grad, device)
    return _new(_to_array(data, dtype=dtype, copy=True), requires_grad, device)


_LITERAL_TYPES = (bool, int, float, complex)


def _python_literal(data) -> bool:
    """Whether ``data`` is Python numbers only (nested lists and tuples of them): inside a step that eg.compile
    traces, ``torch.tensor([0, 2])`` or ``torch.tensor(0.5)`` is then a constant made by a plan step (frozen, as
    every Python value the step reads), rather than an array the tracer cannot see."""
    if type(data) in _LITERAL_TYPES:
        return True
    return isinstance(data, (list, tuple)) and all(_python_literal(x) for x in data)


def as_tensor(data, dtype=None, device=None):
    """``data`` as a tensor, sharing memory when it already is a tensor or array of the right dtype."""
    from eigengrad.tensor import Tensor, _to_array

    check_device(device)
    if isinstance(data, Tensor) and (dtype is None or _dtype.to_numpy(dtype) == data._data.dtype):
        return data
    if _trace.ACTIVE[0] is not None and _python_literal(data):
        return _marked(Tensor._wrap(numpy_call(_to_array, data, dtype=dtype)))
    return _marked(Tensor._wrap(_to_array(data, dtype=dtype, copy=False)))


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad: bool = False):
    t = _copied(obj, dtype, device) if copy else as_tensor(obj, dtype=dtype, device=device)
    return t.requires_grad_(True) if requires_grad else t


def from_numpy(array: np.ndarray):
    """A tensor sharing ``array``'s memory (no copy): writes to one show in the other."""
    from eigengrad.tensor import Tensor, _check_numeric

    if not isinstance(array, np.ndarray):
        raise TypeError(f"array: expected a numpy.ndarray, got {type(array).__name__}")
    _check_numeric(array.dtype, "array")
    return _marked(Tensor._wrap(array))


# --- filled ----------------------------------------------------------------------------------------------

def zeros(*size, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False, pin_memory=False,
          **kw):
    _layout(layout)
    return _new(numpy_call(np.zeros, _size(size, _size_keyword(kw, "zeros")), _float_dtype(dtype)), requires_grad,
                device, out)


def ones(*size, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False, pin_memory=False,
          **kw):
    _layout(layout)
    return _new(numpy_call(np.ones, _size(size, _size_keyword(kw, "ones")), _float_dtype(dtype)), requires_grad,
                device, out)


def empty(*size, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False, pin_memory=False,
          memory_format=None, **kw):
    """A tensor of ``size`` (zero-filled: eigengrad never hands out uninitialised memory)."""
    return zeros(*_size(size, _size_keyword(kw, "empty")), out=out, dtype=dtype, layout=layout, device=device,
                 requires_grad=requires_grad)


def full(size, fill_value, *, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False):
    """``size`` filled with ``fill_value``; the dtype follows the value (bool, int64, default float) unless given."""
    _layout(layout)
    if dtype is None:
        dtype = np.bool_ if isinstance(fill_value, (bool, np.bool_)) else np.int64 if isinstance(
            fill_value, (numbers.Integral,)) else _tensor().default_float()
    value = fill_value.item() if hasattr(fill_value, "item") and not isinstance(fill_value, np.ndarray) else fill_value
    dtype = _dtype.to_numpy(dtype)
    try:
        data = numpy_call(np.full, _size((size,)), value, dtype)
    except OverflowError:  # PyTorch: "value cannot be converted to type int64_t without overflow"
        raise ArgumentError(f"fill_value: {fill_value} does not fit in dtype {dtype}") from None
    return _new(data, requires_grad, device, out)


def _like_shape(input) -> tuple:
    """The shape of a ``*_like`` factory's model (which must be a Tensor)."""
    if not isinstance(input, _tensor().Tensor):
        raise ArgumentTypeError(f"input: expected an eigengrad Tensor, got {type(input).__name__}")
    return input.shape


def _like_dtype(input, dtype) -> np.dtype:
    return input._data.dtype if dtype is None else _dtype.to_numpy(dtype)


def zeros_like(input, *, dtype=None, layout=None, device=None, requires_grad: bool = False, memory_format=None):
    return _new(numpy_call(np.zeros, _like_shape(input), _like_dtype(input, dtype)), requires_grad, device)


def ones_like(input, *, dtype=None, layout=None, device=None, requires_grad: bool = False, memory_format=None):
    return _new(numpy_call(np.ones, _like_shape(input), _like_dtype(input, dtype)), requires_grad, device)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad: bool = False, memory_format=None):
    return zeros_like(input, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None):
    return _new(numpy_call(np.full, _like_shape(input), fill_value, _like_dtype(input, dtype)), requires_grad, device)


# --- ranges ------------------------------------------------------------------------------------------------

def arange(start=0, end=None, step=1, *, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False):
    """start, start + step, ... below end (values computed in double, then cast); int64 when every bound is an
    integer, else the default float dtype."""
    if end is None:
        start, end = 0, start
    bounds = [b.item() if hasattr(b, "item") else b for b in (start, end, step)]
    if bounds[2] == 0:
        raise ArgumentTypeError("step must be nonzero")
    if dtype is None:
        dtype = np.int64 if all(isinstance(b, numbers.Integral) for b in bounds) else _tensor().default_float()
    dt = _dtype.to_numpy(dtype)
    if all(isinstance(b, numbers.Integral) for b in bounds):  # exact (a float quotient rounds past 2**53)
        n = max(0, -((bounds[0] - bounds[1]) // bounds[2]))
    else:
        n = max(0, math.ceil((bounds[1] - bounds[0]) / bounds[2]))
    if (bounds[1] - bounds[0]) * bounds[2] < 0:
        raise ArgumentError("upper bound and larger bound inconsistent with step sign")
    _check_length(n, dt, "invalid size, possible overflow?")
    return _new(numpy_call(_arange, bounds, n, dt), requires_grad, device, out)


def _check_length(n: int, dt: np.dtype, message: str) -> None:
    """Refuse a 1-d range whose bytes overflow a signed 64-bit size (PyTorch's RuntimeError): NumPy's own
    length arithmetic wraps there and silently returns an empty array (np.arange(2**63 - 1))."""
    if n * dt.itemsize > sys.maxsize:
        raise ArgumentError(message)


def _arange(bounds: list, n: int, dt: np.dtype) -> np.ndarray:
    if dt.kind in "iu" and all(isinstance(b, numbers.Integral) for b in bounds):
        return np.arange(bounds[0], bounds[1], bounds[2], dtype=dt)
    return (bounds[0] + np.arange(n, dtype=np.float64) * bounds[2]).astype(dt)


def range(start=0, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False):
    """Deprecated in PyTorch (with its warning): start .. end inclusive."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values in "
                  "[start, end).", UserWarning, stacklevel=2)
    if end is None:
        start, end = 0, start
    return arange(start, end + (step if step > 0 else -step) * 0.5, step, dtype=dtype or _tensor().default_float(),
                  device=device, requires_grad=requires_grad)


def linspace(start, end, steps: int, *, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False):
    """``steps`` evenly spaced values from start to end, computed as PyTorch does (from the start for the first
    half, from the end for the second)."""
    start, end = (b.item() if hasattr(b, "item") else b for b in (start, end))
    if steps < 0:
        raise ArgumentTypeError("number of steps must be non-negative")
    dt = _float_dtype(dtype)
    _check_length(steps, np.dtype(np.float64), f"Storage size calculation overflowed with sizes=[{steps}]")
    return _new(numpy_call(_linspace, start, end, steps, dt), requires_grad, device, out)


def _linspace(start, end, steps: int, dt: np.dtype) -> np.ndarray:
    """PyTorch's CPU kernel, bit for bit: start and end in the dtype (an integer dtype truncates them and steps
    in double), step = (end - start) / (steps - 1) in that arithmetic, element i = fma(step, i, start) for the
    first half and fma(-step, steps - 1 - i, end) for the second, rounded once (float32: the product is exact
    in double, so one double sum then float32 matched PyTorch in 3000 random cases of 1-3000 steps; the
    fused multiply-add exact through ``_exact.fms``)."""
    if dt.kind in "iu":
        s, e = float(math.trunc(start)), float(math.trunc(end))
    elif dt == np.float32:
        s, e = np.float32(start), np.float32(end)
    else:
        s, e = float(start), float(end)
    if steps == 1:
        return np.array([s]).astype(dt)
    step = (e - s) / (np.float32(steps - 1) if dt == np.float32 else steps - 1)  # (float32 arithmetic for float32)
    i = np.arange(steps, dtype=np.float64)
    first = fms(float(step), i, -float(s), np.float64)
    second = fms(-float(step), steps - 1 - i, -float(e), np.float64)
    arr = np.where(i < steps // 2, first, second)
    return (np.trunc(arr) if dt.kind in "iu" else arr).astype(dt)


def logspace(start, end, steps: int, base: float = 10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad: bool = False):
    dt = _float_dtype(dtype)
    exps = linspace(start, end, steps, dtype=np.float64)._data
    return _new(numpy_call(_powers, float(base), exps, np.dtype(dt)), requires_grad, device, out)


def _powers(base: float, exps: np.ndarray, dtype: np.dtype) -> np.ndarray:
    return np.power(base, exps).astype(dtype)


def eye(n: int, m: int | None = None, *, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False):
    """The n x m identity (ones on the main diagonal)."""
    if n < 0 or (m is not None and m < 0):
        raise ArgumentError(f"n must be greater or equal to 0, got {n}" if n < 0 else
                           f"m must be greater or equal to 0, got {m}")
    return _new(numpy_call(np.eye, n, n if m is None else m, 0, _float_dtype(dtype)), requires_grad, device, out)


# --- random ---------------------------------------------------------------------------------------------------

def _random_dtype(dtype, kernel: str) -> np.dtype:
    """rand's and randn's dtype: a floating or complex one (PyTorch has no integer or bool kernel for them, its
    NotImplementedError "<kernel>" not implemented for 'Long')."""
    dt = np.dtype(_float_dtype(dtype))
    if dt.kind not in "fc":
        from eigengrad.autograd.inplace import _torch_name

        raise DtypeNotSupportedError(f"\"{kernel}\" not implemented for '{_torch_name(dt)}'")
    return dt


def _uniform(shape: tuple, dtype: np.dtype, generator, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """U[low, high) draws in ``dtype`` (float16 drawn in float64 and rounded; a complex dtype, as PyTorch, has
    real and imaginary parts each uniform)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        parts = _uniform(tuple(shape) + (2,), np.finfo(dtype).dtype, generator, low, high)
        return (parts[..., 0] + 1j * parts[..., 1]).astype(dtype)
    draw_dtype = dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)
    arr = np.empty(shape, dtype=draw_dtype)
    _random.uniform_(arr, low, high, generator)
    return arr if arr.dtype == dtype or dtype.kind != "f" else arr.astype(dtype)


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
         pin_memory=False, **kw):
    """U[0, 1) draws from eigengrad's generator (``generator`` or the default one)."""
    shape = _size(size, _size_keyword(kw, "rand"))
    return _new(numpy_call(_uniform, shape, _random_dtype(dtype, "check_uniform_bounds"), generator), requires_grad,
                device, out)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
          pin_memory=False, **kw):
    """N(0, 1) draws from eigengrad's generator."""
    shape = _size(size, _size_keyword(kw, "randn"))
    return _new(numpy_call(_normal, shape, _random_dtype(dtype, "normal_kernel_cpu"), generator), requires_grad,
                device, out)


def _normal(shape: tuple, dtype: np.dtype, generator) -> np.ndarray:
    """N(0, 1) draws in ``dtype`` (float16 drawn in float32 and rounded; a complex dtype, as PyTorch, has real and
    imaginary parts each N(0, 1/2): variance 1)."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        parts = _normal(tuple(shape) + (2,), np.finfo(dtype).dtype, generator) * np.sqrt(0.5)
        return (parts[..., 0] + 1j * parts[..., 1]).astype(dtype)
    arr = np.empty(shape, dtype=dtype if dtype in (np.float32, np.float64) else np.dtype(np.float32))
    _random.normal_(arr, 0.0, 1.0, generator)
    return arr if arr.dtype == dtype else arr.astype(dtype)


def _float_like(input, dtype, fn: str) -> None:
    """rand_like/randn_like draw floats: an integer or bool input needs a float ``dtype`` (PyTorch raises)."""
    dt = np.dtype(_like_dtype(input, dtype))
    if dt.kind not in "fc":
        from eigengrad.autograd.inplace import _torch_name

        kernel = "check_uniform_bounds" if fn == "rand_like" else "normal_kernel_cpu"
        raise DtypeNotSupportedError(f"\"{kernel}\" not implemented for '{_torch_name(dt)}' ({fn}: draws "
                                     f"floating-point numbers, got an input of dtype {input.dtype} and no float "
                                     f"dtype=)")


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None):
    _float_like(input, dtype, "rand_like")
    return rand(*_like_shape(input), generator=generator, dtype=_like_dtype(input, dtype), device=device,
                requires_grad=requires_grad)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None):
    _float_like(input, dtype, "randn_like")
    return randn(*_like_shape(input), generator=generator, dtype=_like_dtype(input, dtype), device=device,
                 requires_grad=requires_grad)


def poisson(input, generator=None):
    """Poisson draws with the rates in ``input`` (>= 0), in its dtype; NumPy's sampler seeded from eigengrad's
    generator (``generator`` or the default one), so ``manual_seed`` repeats them. No gradient."""
    from eigengrad.random import default_generator

    rates = input._data
    if rates.dtype.kind != "f":
        raise ArgumentTypeError(f"poisson: expected a float tensor of rates, got dtype {rates.dtype}")
    if np.any(rates < 0) or np.any(np.isnan(rates)):
        raise ArgumentError("poisson: invalid Poisson rate, expected rate to be non-negative")
    gen = default_generator if generator is None else generator
    rng = np.random.default_rng([gen.initial_seed(), gen._advance(1)])
    return _new(rng.poisson(rates.astype(np.float64)).astype(rates.dtype), False, None)


_C_NAMES = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short", "int32": "int",
            "int64": "long"}


def _randint_array(low: int, high: int, shape: tuple, dtype: np.dtype, generator) -> np.ndarray:
    if not (-2**63 <= low < 2**63 and -2**63 <= high < 2**63):  # PyTorch's argument parser
        raise ValueError("Overflow when unpacking long long")
    if high <= low:
        raise ArgumentTypeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    if dtype.kind in "biu":  # bounds the dtype cannot hold would wrap silently in the cast below
        lo, hi = (0, 1) if dtype.kind == "b" else (int(np.iinfo(dtype).min), int(np.iinfo(dtype).max))
        name = _C_NAMES.get(dtype.name, dtype.name)
        if not lo <= low <= hi:
            raise ArgumentError(f"from is out of bounds for {name}")
        if not lo <= high - 1 <= hi:
            raise ArgumentError(f"to - 1 is out of bounds for {name}")
    u = _uniform(shape, np.dtype(np.float64), generator)
    return np.minimum(low + np.floor(u * (high - low)), high - 1).astype(dtype)


def randint(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad: bool = False):
    """Integers uniform in [low, high): ``randint(high, size)`` or ``randint(low, high, size)`` (int64 unless
    ``dtype``)."""
    args = list(args)
    if size is None and args and isinstance(args[-1], (tuple, list)):
        size = args.pop()
    if size is None:
        raise TypeError("randint() missing required argument 'size'")
    if len(args) == 1:
        low, high = 0, args[0]
    elif len(args) == 2:
        low, high = args
    else:
        raise TypeError(f"randint() expects (high, size) or (low, high, size), got {len(args)} bounds")
    dt = np.dtype(np.int64) if dtype is None else _dtype.to_numpy(dtype)
    return _new(numpy_call(_randint_array, int(low), int(high), _size((size,)), dt, generator), requires_grad, device,
                out)


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
                 memory_format=None, generator=None):
    if high is None:
        low, high = 0, low
    return _new(numpy_call(_randint_array, int(low), int(high), input.shape, _like_dtype(input, dtype), generator),
                requires_grad, device)


def randperm(n: int, *, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad: bool = False,
             pin_memory=False):
    """A random permutation of 0 .. n-1 (int64 unless ``dtype``)."""
    if n < 0:
        raise ArgumentError(f"n must be non-negative, got{n}")
    return _new(numpy_call(_randperm, n, generator, None if dtype is None else _dtype.to_numpy(dtype)), requires_grad,
                device, out)


def _randperm(n: int, generator, dtype) -> np.ndarray:
    perm = _random.permutation(n, generator)
    return perm if dtype is None else perm.astype(dtype)


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None, out=None):
    """Indices drawn from the categories of each row of ``input`` (1-D or 2-D non-negative weights):
    with replacement by inverse CDF, without by the Gumbel-top-k trick (each draw proportional to the remaining
    weights, as sequential sampling; once the categories of nonzero weight are used up, the zero-weight ones
    follow in index order, as PyTorch 2.13 returns them). One NumPy step (its checks included), so that a
    compiled step draws anew at every replay."""
    if input._data.ndim not in (1, 2):
        raise ArgumentError("prob_dist must be 1 or 2 dim")
    return _new(numpy_call(_multinomial, input._data, operator_index(num_samples), bool(replacement), generator),
                out=out)


def _multinomial(w: np.ndarray, num_samples: int, replacement: bool, generator) -> np.ndarray:
    rows = w.reshape(1, -1) if w.ndim == 1 else w
    rows = rows.astype(np.float64)
    if not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise ArgumentError("probability tensor contains either `inf`, `nan` or element < 0")
    if np.any(rows.sum(axis=1) <= 0):
        raise ArgumentError("invalid multinomial distribution (sum of probabilities <= 0)")
    if num_samples <= 0:
        raise ArgumentError("cannot sample n_sample <= 0 samples")
    n_cat = rows.shape[1]
    if not replacement:
        if num_samples > n_cat:
            raise ArgumentError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        u = _uniform(rows.shape, np.dtype(np.float64), generator)
        with np.errstate(divide="ignore"):
            keys = np.where(rows > 0, np.log(u) / rows, -np.inf)  # = log(u^(1/w)): the top-k are the draws
        picks = np.argsort(-keys, axis=1, kind="stable")[:, :num_samples]
    else:
        cdf = np.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]
        u = _uniform((rows.shape[0], num_samples), np.dtype(np.float64), generator)
        picks = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)])
        picks = np.minimum(picks, n_cat - 1)
    picks = picks.astype(np.int64)
    return picks[0] if w.ndim == 1 else picks


def bernoulli(input, p=None, *, generator=None, out=None):
    """1 with probability ``input`` (or ``p``), else 0, elementwise, in input's dtype. One NumPy step (its
    check included), so that a compiled step draws anew at every replay."""
    dt = input._data.dtype if input._data.dtype.kind == "f" else _tensor().default_float()
    return _new(numpy_call(_bernoulli, input._data, p, dt, generator), out=out)


def _bernoulli(probs: np.ndarray, p, dtype: np.dtype, generator) -> np.ndarray:
    probs = probs if p is None else np.full(probs.shape, p, dtype=np.float64)
    if np.any((probs < 0) | (probs > 1)):
        raise ArgumentTypeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    u = _uniform(probs.shape, np.dtype(np.float64), generator)
    return (u < probs).astype(dtype)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None, device=None,
           requires_grad: bool = False):
    """N(mean, std^2) draws: mean and std tensors (broadcast) or numbers with ``size``. A mean or std tensor that
    requires grad gets a zero gradient (the draws are not reparametrised), as PyTorch's."""
    m, s = (x._data if hasattr(x, "_data") else x for x in (mean, std))
    if size is not None:
        shape = _size((size,))
    else:
        shape = np.broadcast_shapes(np.shape(m), np.shape(s))
    dt = next((x.dtype for x in (m, s) if isinstance(x, np.ndarray) and x.dtype.kind == "f"), None)
    dt = _float_dtype(dtype) if dt is None or dtype is not None else dt
    if isinstance(s, np.ndarray):
        ops.numpy_check(_check_std, s)
    elif s < 0:
        raise ArgumentTypeError(f"normal expects std >= 0.0, but found std {float(s):g}")
    z = numpy_call(_normal_draw, tuple(shape), np.dtype(dt), generator, 0.0, 1.0)
    t = _tensor().Tensor._wrap(numpy_call(_scaled_shifted, z, s, m, np.dtype(dt)))
    for x in (mean, std):
        if getattr(x, "requires_grad", False) and _grad_state.enabled:
            t = ops.ZeroGradTo.apply(t, x)
    if requires_grad and t.grad_fn is None:
        t.requires_grad_(True)
    t = _marked(t)
    return _out.write(t, out) if out is not None else t


def _check_std(s) -> None:
    if np.any(np.asarray(s) < 0):
        raise ArgumentTypeError("normal expects all elements of std >= 0.0")


def _scaled_shifted(z: np.ndarray, s, m, dtype: np.dtype) -> np.ndarray:
    return (z * s + m).astype(dtype, copy=False)


# --- the new_* methods ---------------------------------------------------------------------------------------

def new_tensor(self, data, *, dtype=None, device=None, requires_grad: bool = False, layout=None, pin_memory=False):
    """A new tensor with a copy of ``data``, of this tensor's dtype unless ``dtype``."""
    from eigengrad.tensor import _to_array

    return _new(_to_array(data, dtype=self._data.dtype if dtype is None else dtype, copy=True), requires_grad, device)


def _new_filled(fill):
    def method(self, *size, dtype=None, device=None, requires_grad: bool = False, layout=None, pin_memory=False, **kw):
        dt = self._data.dtype if dtype is None else _dtype.to_numpy(dtype)
        return _new(numpy_call(np.full, _size(size, _size_keyword(kw, "new")), fill, dt), requires_grad, device)

    return method


new_zeros = _new_filled(0)
new_ones = _new_filled(1)
new_empty = _new_filled(0)
new_zeros.__name__, new_ones.__name__, new_empty.__name__ = "new_zeros", "new_ones", "new_empty"


def new(self, *args, device=None):
    """PyTorch's legacy constructor of this tensor's dtype: ``x.new(2, 3)`` or ``x.new(torch.Size(...))``
    (uninitialised there, zeros here), ``x.new(data)`` (a copy of a list, tuple, array or tensor), ``x.new()``
    (empty)."""
    from eigengrad.tensor import Size

    if len(args) == 1 and not isinstance(args[0], (int, np.integer, Size)):
        return new_tensor(self, args[0])  # data: a list or plain tuple too (x.new((2, 3)) is [2., 3.], as PyTorch's)
    return new_empty(self, *(args if args else (0,)))


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad: bool = False, layout=None,
             pin_memory=False):
    dt = self._data.dtype if dtype is None else _dtype.to_numpy(dtype)
    return _new(numpy_call(np.full, _size((size,)), fill_value, dt), requires_grad, device)


# --- in-place random fills (under no_grad, as nn.init uses them; recorded fills have zero gradient) ----------
# The draw goes through numpy_call (a module-level function of the shape, dtype and options), so that a
# compiled step replays it: the generator advances at every replay as in eager mode.

def _random_fill(self, name: str, fn, *args):
    from eigengrad.autograd import inplace
    from eigengrad.autograd.ops_inplace import Fill

    values = numpy_call(fn, *args)
    return inplace.run(self, name, (inplace._fill_step, values),
                       lambda src: Fill.apply(src, values.astype(self._data.dtype)))


def _draw_dtype(t) -> np.dtype:
    """Draws in the tensor's float dtype; an integer tensor gets float64 draws, cast by the fill."""
    return t._data.dtype if t._data.dtype.kind == "f" else np.dtype(np.float64)


def _normal_draw(shape: tuple, dtype: np.dtype, generator, mean: float, std: float) -> np.ndarray:
    z = np.empty(shape, dtype=dtype)
    _random.normal_(z, mean, std, generator)
    return z


def _bernoulli_draw(probs, shape: tuple, generator) -> np.ndarray:
    return _uniform(shape, np.dtype(np.float64), generator) < probs


def _exponential_draw(shape: tuple, generator, lambd: float) -> np.ndarray:
    return -np.log1p(-_uniform(shape, np.dtype(np.float64), generator)) / lambd


def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None):
    return _random_fill(self, "uniform_", _uniform, self.shape, self._data.dtype, generator, float(a), float(b))


def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
    return _random_fill(self, "normal_", _normal_draw, self.shape, _draw_dtype(self), generator, float(mean), float(std))


def bernoulli_(self, p=0.5, *, generator=None):
    probs = p._data if hasattr(p, "_data") else p
    return _random_fill(self, "bernoulli_", _bernoulli_draw, probs, self.shape, generator)


def random_(self, from_=0, to=None, *, generator=None):
    if to is None:
        from_, to = 0, from_ if from_ else (2 ** 24 if self._data.dtype == np.float32 else 2 ** 53
                                            if self._data.dtype.kind == "f" else np.iinfo(self._data.dtype).max)
    return _random_fill(self, "random_", _randint_array, int(from_), int(to), self.shape, np.dtype(np.float64),
                        generator)


def exponential_(self, lambd: float = 1.0, *, generator=None):
    return _random_fill(self, "exponential_", _exponential_draw, self.shape, generator, float(lambd))


# --- legacy constructors -------------------------------------------------------------------------------------

class _LegacyType(type):
    """``isinstance(t, eigengrad.LongTensor)`` is true for an int64 tensor, as in PyTorch."""

    def __instancecheck__(cls, obj) -> bool:
        return hasattr(obj, "_data") and obj._data.dtype == cls._legacy_dtype

    def __repr__(cls) -> str:
        return f"<class 'eigengrad.{cls.__name__}'>"


def legacy_data(args: tuple, dtype: np.dtype):
    """``FloatTensor(2, 3)`` is a zero tensor of that size; ``FloatTensor([1, 2])`` holds the data."""
    from eigengrad.tensor import _to_array

    if not args:
        return np.zeros(0, dtype=dtype)
    if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args) or (
            len(args) == 1 and type(args[0]).__name__ == "Size"):
        return np.zeros(_size(args), dtype=dtype)
    if len(args) != 1:
        raise TypeError(f"new(): expected a size (ints) or one sequence of data, got {args!r}")
    return _to_array(args[0], dtype=dtype, copy=True)


def _legacy(name: str, dt):
    def __new__(cls, *args, device=None):
        check_device(device)
        from eigengrad.tensor import Tensor

        return Tensor._wrap(legacy_data(args, cls._legacy_dtype))

    return _LegacyType(name, (), {"_legacy_dtype": np.dtype(dt), "__new__": __new__,
                                  "__doc__": f"A {np.dtype(dt).name} tensor: from a size or from data (PyTorch's "
                                             "legacy constructor)."})


_LEGACY = {name: _legacy(name, dt) for name, dt in LEGACY_TYPES.items() if name != "HalfTensor"}
globals().update(_LEGACY)

METHODS = ("new", "new_tensor", "new_zeros", "new_ones", "new_empty", "new_full", "uniform_", "normal_", "bernoulli_",
           "random_", "exponential_", "bernoulli", "multinomial")
FUNCTIONS = ("tensor", "as_tensor", "asarray", "from_numpy", "zeros", "ones", "empty", "full", "zeros_like",
             "ones_like", "empty_like", "full_like", "arange", "range", "linspace", "logspace", "eye", "rand", "randn",
             "rand_like", "randn_like", "randint", "randint_like", "randperm", "multinomial", "bernoulli", "normal",
             "poisson",
             "strided", "contiguous_format", "preserve_format", "channels_last", "channels_last_3d") + tuple(_LEGACY)
