"""Fractional max pooling (Graham, "Fractional Max-Pooling", 2014), PyTorch's ``fractional_max_pool2d/3d``.

The output of size ``out`` along a dim of size ``in`` takes the max over windows of ``k`` elements that start
at pseudo-random positions: with one sample ``u`` in [0, 1) per (batch, channel) and dim, and
``alpha = (in - k) / (out - 1)``,

    start_i = int((i + u) alpha) - int(u alpha)  for i < out - 1,    start_{out-1} = in - k,

computed in the input's dtype as PyTorch's kernel does, so that the windows (and so the values and indices)
equal PyTorch's for the same samples (``_random_samples``; otherwise they are drawn from eigengrad's
generator: ``rand(N, C, dims)``). Within a window the first largest element wins, a NaN over anything (the
last NaN). The gradient goes to the chosen element (a gather), as PyTorch's backward scatters it.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentTypeError
from eigengrad.autograd.ops import numpy_call
from eigengrad.tensor import Tensor

_DIM_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}
# which of a plane's samples each dim takes, as PyTorch's kernels: 2-D (width, height), 3-D (time, height, width)
_SAMPLE_OF_DIM = {2: (1, 0), 3: (0, 1, 2)}


def _sizes(value, name: str, n: int, fn: str, minimum: int) -> tuple:
    t = (value,) * n if isinstance(value, numbers.Integral) and not isinstance(value, bool) else \
        tuple(value) if isinstance(value, (tuple, list)) else None
    if t is None or len(t) != n or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in t):
        raise ArgumentTypeError(f"{fn}: {name} must either be a single Int or tuple of Ints, got {value!r}")
    if min(t) < minimum:
        raise ArgumentError(f"{fn}: {name} must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in t)


def _ratios(value, n: int, fn: str) -> tuple:
    t = (value,) * n if isinstance(value, numbers.Real) else tuple(value) if isinstance(value, (tuple, list)) else ()
    if len(t) != n or not all(isinstance(v, numbers.Real) for v in t):
        raise ArgumentError(f"{fn} requires output_ratio to either be a single float or a tuple of {n} floats, "
                            f"got {value!r}")
    if not all(0 < v < 1 for v in t):
        raise ArgumentError(f"output_ratio must be between 0 and 1 (got {value})")
    return tuple(float(v) for v in t)


def intervals(samples: np.ndarray, size: int, out: int, k: int) -> np.ndarray:
    """The window starts (..., out) along a dim of ``size`` for ``samples`` (...,), in their dtype (see the top)."""
    dt = samples.dtype.type
    starts = np.full(samples.shape + (out,), size - k, dtype=np.int64)
    if out > 1:
        alpha = dt(size - k) / dt(out - 1)
        u = samples[..., None]
        i = np.arange(out - 1, dtype=samples.dtype)
        starts[..., :-1] = ((i + u) * alpha).astype(np.int64) - (u * alpha).astype(np.int64)
    return starts


def choose(x: np.ndarray, samples: np.ndarray, kernel: tuple, out: tuple) -> np.ndarray:
    """PyTorch's ``indices``: for x (N, C, *size) and samples (>= N, C, dims), the flat index in its plane of each
    output's chosen element, (N, C, *out) int64."""
    n, c, size = x.shape[0], x.shape[1], x.shape[2:]
    dims = len(size)
    if x.size == 0 or 0 in out:
        return np.zeros((n, c) + tuple(out), np.int64)
    plane_strides = [int(np.prod(size[d + 1:], dtype=np.int64)) for d in range(dims)]
    flat = np.zeros((n, c) + tuple(out) + tuple(kernel), np.int64)
    for d in range(dims):  # flat index of every window element: sum over dims of (start + offset) * stride
        starts = intervals(samples[:n, :, _SAMPLE_OF_DIM[dims][d]], size[d], out[d], kernel[d])  # (N, C, out_d)
        shape = [n, c] + [1] * (2 * dims)
        shape[2 + d] = out[d]
        offs = [1] * (2 + 2 * dims)
        offs[2 + dims + d] = kernel[d]
        flat = flat + (starts.reshape(shape) + np.arange(kernel[d]).reshape(offs)) * plane_strides[d]
    flat = flat.reshape((n, c) + tuple(out) + (-1,))
    vals = np.take_along_axis(x.reshape(n, c, -1), flat.reshape(n, c, -1), axis=-1).reshape(flat.shape)
    nan = np.isnan(vals)
    last_nan = nan.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
    arg = np.where(nan.any(axis=-1), last_nan, np.argmax(np.where(nan, -np.inf, vals), axis=-1))
    return np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]


def _check_fits(size: tuple, out: tuple, kernel: tuple, dims: int) -> None:
    """PyTorch's checks: in 2-D out + k - 1 <= in (height, then width); in 3-D out + k - 1 < in, strictly (time,
    width, then height), so a 3-D output never spans a whole dim."""
    order = (0, 1) if dims == 2 else (0, 2, 1)
    for d in order:
        name, s, o, k = _DIM_NAMES[dims][d], size[d], out[d], kernel[d]
        if (o + k - 1 > s) if dims == 2 else (o + k - 1 >= s):
            where = "fractional_max_pool2d()" if dims == 2 else "fractional_max_pool3d_out()"
            raise ArgumentError(f"{where}: pool {name} {k} too large relative to input {name} {s}")


def _fractional(input: Tensor, kernel_size, output_size, output_ratio, return_indices: bool, _random_samples,
                dims: int):
    from eigengrad.tensor_ops.creation import rand

    fn = f"fractional_max_pool{dims}d"
    if not isinstance(input, Tensor):
        raise ArgumentTypeError(f"input: expected a Tensor, got {type(input).__name__}")
    if input.ndim not in (dims + 1, dims + 2):
        raise ArgumentError(f"{fn}(): Expected {dims + 1}D or {dims + 2}D tensor, but got: {tuple(input.shape)}")
    if input._data.dtype.kind != "f":
        raise ArgumentTypeError(f"{fn}: expected a floating-point input, got dtype {input._data.dtype}")
    unbatched = input.ndim == dims + 1
    x = input.unsqueeze(0) if unbatched else input
    size = tuple(x.shape[2:])
    if 0 in size or x.shape[1] == 0:
        raise ArgumentError(f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but got "
                            f"{list(input.shape)}")
    kernel = _sizes(kernel_size, "kernel_size", dims, fn, 1)
    if output_size is None and output_ratio is None:
        raise ArgumentError(f"{fn} requires specifying either an output_size or an output_ratio")
    if output_size is None:
        out = tuple(int(s * r) for s, r in zip(size, _ratios(output_ratio, dims, fn)))
    else:
        out = _sizes(output_size, "output_size", dims, fn, 0)
    _check_fits(size, out, kernel, dims)
    n, c = x.shape[0], x.shape[1]
    if _random_samples is None:
        samples = rand(1 if unbatched else n, c, dims, dtype=x.dtype)
    else:
        samples = _random_samples if isinstance(_random_samples, Tensor) else Tensor._wrap(np.asarray(_random_samples))
        if samples.ndim != 3:
            raise ArgumentError(f"_random_samples: Expect _random_samples to have 3 dimensions, got {samples.ndim}")
        if samples.shape[0] < n:
            raise ArgumentError("_random_samples: Expect _random_samples.size(0) no less then input batch size.")
        if samples.shape[1] != c:
            raise ArgumentError("_random_samples: Expect _random_samples.size(1) equals to input channel size.")
        if samples.shape[2] != dims:
            raise ArgumentError(f"_random_samples: Expect _random_samples.size(2) equals to {dims}; got "
                                f"{samples.shape[2]}.")
        if samples.dtype != x.dtype:
            raise ArgumentTypeError("_random_samples: Expect _random_samples to have the same dtype as input")
    idx = Tensor._wrap(numpy_call(choose, x._data, samples._data, kernel=kernel, out=out))
    y = x.reshape(n, c, math.prod(size)).gather(-1, idx.reshape(n, c, math.prod(out))).reshape(n, c, *out)
    if unbatched:
        y, idx = y.squeeze(0), idx.squeeze(0)
    return (y, idx) if return_indices else y


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """Max over ``kernel_size`` windows at pseudo-random starts, to ``output_size`` (or ``output_ratio`` of
    the input's size, rounded down); (N, C, H, W) or (C, H, W). ``_random_samples`` (N, C, 2): the samples
    for width (``[..., 0]``) and height (``[..., 1]``). See the module's docstring for the windows."""
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 2)


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False, _random_samples=None):
    """3-D :func:`fractional_max_pool2d`: (N, C, T, H, W) or (C, T, H, W); ``_random_samples`` (N, C, 3) for
    time, height and width."""
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 3)


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                                       return_indices: bool = True, _random_samples=None):
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                                       return_indices: bool = True, _random_samples=None):
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True, _random_samples)
