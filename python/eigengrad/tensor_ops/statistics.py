"""Statistics and small products composed from the differentiable operations: ``nanmean``, ``cummax``/
``cummin`` (values carry the gradient to the positions they came from), ``quantile``/``nanquantile``,
``trapezoid``/``cumulative_trapezoid``, ``dist``, ``inner``, ``addr``, ``cov``, ``corrcoef``, ``isin``."""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from eigengrad.autograd import inplace
from eigengrad._errors import ArgumentError, ArgumentTypeError
from eigengrad import _dtype, return_types
from eigengrad.autograd import ops
from eigengrad.tensor_ops import _dims
from eigengrad.tensor_ops.index import where


def _wrap(arr):
    from eigengrad.tensor import Tensor

    return Tensor._wrap(np.asarray(arr))


def nanmean(input, dim=None, keepdim: bool = False, *, dtype=None):
    """The mean of the non-NaN elements (NaN where there are none)."""
    x = input if dtype is None else input.to(dtype)
    if x._data.dtype.kind != "f":
        raise ArgumentTypeError(f"nanmean(): expected input to have floating point dtype but got {x.dtype}")
    keep = ~x.isnan()
    return x.nansum(dim, keepdim) / keep.sum(dim, keepdim)


def _cumulative_extremum(input, dim: int, take_max: bool, name: str):
    """(values, indices) of the running max (min) along ``dim``: on ties the later index, a NaN stays (as
    PyTorch's kernel). The indices come from numpy_call (a compiled step finds them at every call)."""
    x = input if input.ndim else input.reshape(1)
    d = _dims.wrap(dim, x.ndim)
    indices = ops.numpy_call(_running_extremum_index, x._data, d, take_max)
    values = ops.Gather.apply(x, indices, dim=d) if x.requires_grad else _wrap(
        ops.numpy_call(np.take_along_axis, x._data, indices, d))
    if input.ndim == 0:
        values, indices = values.reshape(()), indices.reshape(())
    return getattr(return_types, name)(values, _wrap(indices))


def _running_extremum_index(x: np.ndarray, d: int, take_max: bool) -> np.ndarray:
    """The position along ``d`` of the running max (min) of ``x``: the later one on ties, a NaN's once seen."""
    data = np.moveaxis(x, d, 0)
    idx = np.zeros(data.shape, dtype=np.int64)
    best = data[0].copy() if data.shape[0] else data[:0]
    best_i = np.zeros(data.shape[1:], dtype=np.int64)
    for i in range(data.shape[0]):
        v = data[i]
        better = (v >= best) if take_max else (v <= best)
        if data.dtype.kind == "f":
            better = better | np.isnan(v)
            better &= ~(np.isnan(best) & ~np.isnan(v))
        take = better | (i == 0)
        best = np.where(take, v, best)
        best_i = np.where(take, i, best_i)
        idx[i] = best_i
    return np.ascontiguousarray(np.moveaxis(idx, 0, d))


def cummax(input, dim: int):
    return _cumulative_extremum(input, dim, True, "cummax")


def cummin(input, dim: int):
    return _cumulative_extremum(input, dim, False, "cummin")


def _quantile(input, q, dim, keepdim: bool, interpolation: str, ignore_nan: bool):
    if input._data.dtype.kind != "f":
        raise ArgumentTypeError(f"quantile() input tensor must be either float or double dtype")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise ArgumentError(f"quantile() interpolation must be one of linear, lower, higher, midpoint or nearest. "
                            f"Got {interpolation}")
    if input._data.size == 0:
        raise ArgumentError("quantile() input tensor must be non-empty")
    if hasattr(q, "_data") and q._data.dtype != input._data.dtype:
        raise ArgumentError("quantile() q tensor must be same dtype as the input tensor")
    scalar_q = isinstance(q, numbers.Real) or getattr(q, "ndim", None) == 0  # a 0-d q gives no q dim
    qs = np.atleast_1d(np.asarray(q._data if hasattr(q, "_data") else q, dtype=np.float64))
    if qs.ndim > 1:
        raise ArgumentError("quantile() q must be a scalar or 1D tensor")
    if np.any((qs < 0) | (qs > 1)):
        raise ArgumentError("quantile() q values must be in the range [0, 1]")
    if input.ndim == 0 and dim is not None:  # a 0-d input: dim 0 (or -1) is its one value, the result 0-d
        _dims.wrap(dim, 0)
        dim, keepdim = None, False
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else _dims.wrap(dim, x.ndim)
    from eigengrad.tensor_ops.sort import sort

    s = sort(x, d).values  # NaN last
    # q's values: a tensor's array (read at every replay of a compiled step), else the numbers (constants)
    q_values = q._data if hasattr(q, "_data") else tuple(float(v) for v in qs)
    outs = []
    for k in range(len(qs)):
        def part(name, k=k):  # (through numpy_call: a compiled step computes the positions at every call)
            return _wrap(ops.numpy_call(_quantile_part, x._data, q_values, d, k, interpolation, ignore_nan, name))

        lo_v, hi_v = s.gather(d, part("lo")), s.gather(d, part("hi"))
        weight = part("frac")
        if interpolation == "linear" and getattr(q, "requires_grad", False):  # the weight depends on q
            qi = q.reshape(-1)[k].to(x.dtype)
            weight = qi * part("span") - part("floor")
        if interpolation in ("lower", "higher", "nearest"):  # a value picked, not interpolated
            val = lo_v
        else:  # PyTorch's lerp, exact at both ends: an inf neighbour is not read at weight 0
            diff = hi_v - lo_v
            val = where(weight < 0.5, lo_v + diff * weight, hi_v - diff * (1 - weight))
        # (a row with no value reads a NaN: its last sorted value, or for nanquantile its first)
        outs.append(val if keepdim or dim is None else val.squeeze(d))
    from eigengrad.tensor_ops.shape import stack

    if not outs:  # an empty q: no quantiles, in the shape they would have
        rest = [] if dim is None else [1 if i == d else n for i, n in enumerate(x.shape) if keepdim or i != d]
        out = ops.ZeroGradTo.apply(_wrap(np.zeros((0, *rest), dtype=x._data.dtype)), x)  # (in x's graph, as PyTorch's)
    else:
        out = stack(outs, 0)
    if dim is None:
        out = out.reshape(len(qs), *([1] * input.ndim if keepdim else []))
    return out[0] if scalar_q else out


def _quantile_part(x: np.ndarray, q_values, d: int, k: int, interpolation: str, ignore_nan: bool,
                   name: str) -> np.ndarray:
    """One array of the k-th quantile's positions along ``d`` (kept as a dim of 1): "lo"/"hi" the indices of
    the two sorted values, "frac" the weight between them, "span" valid - 1, "floor" the lower position,
    "empty" the rows with no value (NaN)."""
    qv = float(np.asarray(q_values, dtype=np.float64).reshape(-1)[k])
    if not 0.0 <= qv <= 1.0:
        raise ArgumentError("quantile() q values must be in the range [0, 1]")
    n = x.shape[d]
    nans = np.isnan(x).sum(axis=d, keepdims=True)
    valid = (n - nans) if ignore_nan else np.where(nans > 0, 0, n)
    span = np.maximum(valid - 1, 0)
    pos = qv * span
    lo = np.floor(pos).astype(np.int64)
    hi = np.ceil(pos).astype(np.int64)  # = lo at a whole position (PyTorch's): an inf neighbour is not read
    frac = pos - lo
    if interpolation == "lower":
        hi, frac = lo, frac * 0
    elif interpolation == "higher":
        lo, frac = np.ceil(pos).astype(np.int64), frac * 0
    elif interpolation == "nearest":
        lo = np.round(pos).astype(np.int64)  # half to even, as PyTorch
        frac = frac * 0
    elif interpolation == "midpoint":  # halfway between floor and ceil: the value itself at a whole position
        frac = np.where(np.ceil(pos) > lo, 0.5, 0.0)
    if not ignore_nan:  # a row with a NaN: its last sorted value, a NaN (PyTorch's rank, where its gradient goes)
        lo, hi = np.where(nans > 0, n - 1, lo), np.where(nans > 0, n - 1, hi)
    parts = {"lo": lambda: np.minimum(lo, n - 1), "hi": lambda: np.minimum(hi, n - 1),
             "frac": lambda: frac.astype(x.dtype), "span": lambda: span.astype(x.dtype),
             "floor": lambda: np.floor(pos).astype(np.int64).astype(x.dtype), "empty": lambda: valid == 0}
    return parts[name]()


def quantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear"):
    """The q-th quantiles along ``dim`` (all elements when None), interpolated between the sorted values;
    NaN where the row has a NaN."""
    return _quantile(input, q, dim, keepdim, interpolation, False)


def nanquantile(input, q, dim=None, keepdim: bool = False, *, interpolation: str = "linear"):
    """quantile ignoring NaN (NaN only where a row has nothing else)."""
    return _quantile(input, q, dim, keepdim, interpolation, True)


def _areas(y, x, dx, dim: int):
    """The trapezoids' areas between neighbouring samples along ``dim`` (sample points ``x``, 1-D or shaped as
    ``y``, or the spacing ``dx``, default 1)."""
    d = _dims.wrap(dim, y.ndim)
    n = y.shape[d]
    lo, hi = y.narrow(d, 0, max(n - 1, 0)), y.narrow(d, min(1, n), max(n - 1, 0))
    if x is None:
        return (lo + hi) * ((1.0 if dx is None else dx) / 2), d
    if x.ndim == 1:
        spacing = (x[1:] - x[:-1]).reshape(*([max(n - 1, 0)] + [1] * (y.ndim - d - 1)))
    else:
        spacing = x.narrow(d, 1, n - 1) - x.narrow(d, 0, n - 1)
    return (lo + hi) * spacing / 2, d


def trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """The integral of ``y`` along ``dim`` by the trapezoid rule."""
    areas, d = _areas(y, x, dx, dim)
    if y.shape[d] == 0:  # nothing to integrate: zeros, as PyTorch (outside the graph)
        return areas.detach().sum(d)
    return areas.sum(d)


def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1):
    """The running trapezoid integral along ``dim`` (one element fewer than ``y``)."""
    areas, d = _areas(y, x, dx, dim)
    return areas.cumsum(d)


def dist(input, other, p: float = 2):
    """The p-norm of input - other."""
    from eigengrad.tensor_ops.reduce import vector_norm

    return vector_norm(input - other, float(p))


def inner(input, other, *, out=None):
    """Sum of products over the last dims (a scalar times a tensor for 0-D)."""
    if input.ndim == 0 or other.ndim == 0:
        return input * other
    from eigengrad.tensor_ops.composite import tensordot

    return tensordot(input, other, dims=([-1], [-1]), out=out)


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * outer(vec1, vec2)."""
    from eigengrad.tensor_ops.products import _scaled_sum, outer

    result = _scaled_sum(input, outer(vec1, vec2), beta, alpha)
    if out is not None:
        from eigengrad.tensor_ops import _out

        return _out.write(result, out)
    return result


def cov(input, *, correction: int = 1, fweights=None, aweights=None):
    """The covariance of the rows (variables) of a 2-D tensor, columns as observations; PyTorch's checks of the
    weights, its dtype (the input's promoted with aweights', the default float for integers) and its NaN / inf
    where the degrees of freedom are <= 0 (with its warning)."""
    if input.ndim > 2:
        raise ArgumentError(f"cov(): expected input to have two or fewer dimensions but got an input with "
                            f"{input.ndim} dimensions")
    if input._data.dtype.kind == "b":
        raise ArgumentTypeError("cov(): bool dtype is not supported for input")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    n = x.shape[1]
    dt = x._data.dtype
    for name, wt in (("fweights", fweights), ("aweights", aweights)):
        if wt is None:
            continue
        if wt.ndim > 1:
            raise ArgumentError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                                f"{wt.ndim} dimensions")
        kind = wt._data.dtype.kind
        if (name == "fweights" and kind not in "iu") or (name == "aweights" and kind != "f"):
            raise ArgumentTypeError(f"cov(): expected {name} to have "
                                    f"{'integral' if name == 'fweights' else 'floating point'} dtype but got {name} "
                                    f"with {_torch_name(wt._data.dtype)} dtype")
        if wt._data.size != n:
            raise ArgumentError(f"cov(): expected {name} to have the same numel as there are observations in the "
                                f"input but got {wt._data.size} != {n}")
        if n and wt._data.min() < 0:
            raise ArgumentError(f"cov(): {name} cannot be negative")
    if aweights is not None:
        dt = np.promote_types(dt, aweights._data.dtype)
    if dt.kind != "f":
        from eigengrad.tensor import default_float

        dt = np.dtype(_dtype.to_numpy(default_float()))
    if x._data.dtype != dt:
        x = x.to(dt)
    w = None
    if fweights is not None:
        w = fweights.to(dt)
    if aweights is not None:
        w = aweights.to(dt) if w is None else w * aweights.to(dt)
    if w is None:
        mean = x.mean(1, keepdim=True)
        norm = float(n - correction)
    else:
        wsum = w.sum()
        if float(wsum._data) == 0:
            raise ArgumentError("cov(): weights sum to zero, can't be normalized")
        mean = (x * w).sum(1, keepdim=True) / wsum
        norm = wsum - (correction * (w * aweights.to(dt)).sum() / wsum if aweights is not None else correction)
    if float(getattr(norm, "_data", norm)) <= 0:
        from eigengrad._errors import user_stacklevel

        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the number of "
                      "observations.", UserWarning, stacklevel=user_stacklevel())
        norm = norm - norm  # c / +0: NaN or +-inf, as PyTorch (norm * 0 could be -0)
    c = x - mean
    cw = c * w if w is not None else c
    out = cw.matmul(c.t()) / norm
    return out.reshape(()) if x.shape[0] == 1 else out  # one variable: its variance, as PyTorch


def _torch_name(dt) -> str:
    from eigengrad.autograd.inplace import _torch_name as name

    return name(dt)


def corrcoef(input):
    """Pearson's correlation coefficients of the rows, clipped to [-1, 1]."""
    c = cov(input)
    if c.ndim == 0:  # one variable: c / c, whose gradient is exactly 0
        return c * 0.0 + _wrap(np.where(c._data == 0, np.nan, 1.0).astype(c._data.dtype))
    d = c.diagonal().sqrt()
    return (c / d.unsqueeze(1) / d.unsqueeze(0)).clamp(-1, 1)


def isin(elements, test_elements, *, assume_unique: bool = False, invert: bool = False):
    """Whether each element of ``elements`` occurs in ``test_elements`` (bool, no gradient)."""
    e = elements._data if hasattr(elements, "_data") else np.asarray(elements)
    t = test_elements._data if hasattr(test_elements, "_data") else np.asarray(test_elements)
    return _wrap(np.isin(e, t, invert=invert))


def renorm(input, p: float, dim: int, maxnorm: float):
    """Each slice along ``dim`` whose p-norm exceeds ``maxnorm`` scaled down to it (PyTorch's factor
    maxnorm / (norm + 1e-7)); the others unchanged."""
    from eigengrad.tensor_ops import _dims as dims_

    d = dims_.wrap(dim, input.ndim)
    others = tuple(i for i in range(input.ndim) if i != d)
    norms = input.abs().pow(p).sum(others, keepdim=True).pow(1.0 / p) if others else input.abs()
    scale = (maxnorm / (norms + 1e-7)).where(norms > maxnorm, norms.new_ones(()))
    return input * scale


METHODS = ("nanmean", "cummax", "cummin", "quantile", "nanquantile", "dist", "inner", "addr", "cov", "corrcoef",
           "renorm")
FUNCTIONS = METHODS + ("trapezoid", "trapz", "cumulative_trapezoid", "isin")
trapz = trapezoid


# In-place forms (autograd.inplace)
INPLACE = {n + "_": inplace.method(n, globals()[n]) for n in ("addr", "renorm")}
globals().update(INPLACE)
METHODS = METHODS + tuple(INPLACE)