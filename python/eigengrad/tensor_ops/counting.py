"""Counting and searching (integer results, no gradient): ``unique``, ``unique_consecutive``, ``bincount``,
``histc``, ``histogram``, ``searchsorted``, ``bucketize``, ``unravel_index``."""
from __future__ import annotations

import numbers

import numpy as np

from eigengrad import _trace
from eigengrad._dtype import c_type_name
from eigengrad._errors import ArgumentError, ArgumentTypeError, DtypeNotSupportedError
from eigengrad.autograd.ops import numpy_call
from eigengrad.tensor_ops import _dims


def _wrap(arr):
    from eigengrad.tensor import Tensor

    return Tensor._wrap(np.asarray(arr))


_VALUES = "its result's shape depends on the values (read into Python, which a replay would not repeat)"


def _results(values, inverse, counts, return_inverse: bool, return_counts: bool):
    out = (_wrap(values),) + ((_wrap(inverse.astype(np.int64)),) if return_inverse else ()) + (
        (_wrap(counts.astype(np.int64)),) if return_counts else ())
    return out[0] if len(out) == 1 else out


def unique(input, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """The distinct elements (or distinct slices along ``dim``), sorted; with ``return_inverse`` where each
    element went, with ``return_counts`` how many of each. (PyTorch's order for sorted=False is unspecified;
    here it is sorted too.)"""
    _trace.reject(f"unique() inside the step: {_VALUES}")
    data = input._data
    if dim is None:
        # every NaN is its own value, as PyTorch's (NumPy merges them by default)
        values, inverse, counts = np.unique(data.reshape(-1), return_inverse=True, return_counts=True,
                                            equal_nan=False)
        return _results(values, inverse.reshape(data.shape), counts, return_inverse, return_counts)
    d = _dims.wrap(dim, input.ndim)
    values, inverse, counts = np.unique(data, return_inverse=True, return_counts=True, axis=d)
    return _results(values, inverse.reshape(-1), counts, return_inverse, return_counts)


def unique_consecutive(input, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """Collapses each run of equal consecutive elements (slices along ``dim``) to one."""
    _trace.reject(f"unique_consecutive() inside the step: {_VALUES}")
    data = input._data
    if dim is None:
        flat = data.reshape(-1)
        new = np.ones(flat.size, dtype=bool)
        new[1:] = flat[1:] != flat[:-1]
        values = flat[new]
    else:
        d = _dims.wrap(dim, input.ndim)
        moved = np.moveaxis(data, d, 0).reshape(data.shape[d], -1)
        new = np.ones(moved.shape[0], dtype=bool)
        new[1:] = np.any(moved[1:] != moved[:-1], axis=1)
        values = np.compress(new, data, axis=d)
    inverse = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, new.size))
    if dim is None:
        inverse = inverse.reshape(data.shape)
    return _results(values, inverse, counts, return_inverse, return_counts)


def bincount(input, weights=None, minlength: int = 0):
    """How often each value 0..max occurs in a 1-D tensor of non-negative integers (at least ``minlength``
    bins); with ``weights`` the sum of their weights instead (float weights keep their dtype, integer ones
    give float64, as PyTorch)."""
    _trace.reject(f"bincount() inside the step: {_VALUES}")
    data = input._data
    if data.dtype.kind not in "iu":  # PyTorch has no kernel for a float or bool input (NotImplementedError)
        raise DtypeNotSupportedError(f"\"bincount_cpu\" not implemented for '{_torch_name(data.dtype)}'")
    if data.ndim != 1 or data.dtype.kind not in "iu" or (data.size and data.min() < 0):
        raise ArgumentError("bincount only supports 1-d non-negative integral inputs.")
    if not isinstance(minlength, numbers.Integral) or minlength < 0:
        raise ArgumentError(f"minlength should be >= 0")
    if weights is None or data.size == 0:  # PyTorch: an empty input counts in int64 even with weights
        return _wrap(np.bincount(data, minlength=int(minlength)).astype(np.int64))
    w = weights._data
    if w.shape != data.shape:
        raise ArgumentError("weights should be 1-d and have the same length as input")
    dtype = w.dtype if w.dtype.kind == "f" else np.dtype(np.float64)
    return _wrap(np.bincount(data, weights=w, minlength=int(minlength)).astype(dtype))


def histc(input, bins: int = 100, min: float = 0, max: float = 0):
    """A histogram of ``bins`` equal bins over [min, max] (the data's own range when min == max; values
    outside are not counted), in the input's float dtype."""
    data = input._data
    if data.dtype.kind != "f":
        raise DtypeNotSupportedError(f"\"histogram_cpu\" not implemented for '{_torch_name(data.dtype)}'")
    if not isinstance(bins, numbers.Integral) or bins <= 0:
        raise ArgumentError("torch.histc(): bins must be > 0")
    lo, hi = float(min), float(max)
    if lo == hi:
        _trace.reject("histc() with min == max inside the step: its range is read from the values")
    if lo == hi and data.size:
        lo, hi = float(data.min()), float(data.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if not (np.isfinite(lo) and np.isfinite(hi)):  # a NaN (or inf) in the data's range: PyTorch's RuntimeError
        raise ArgumentError(f"torch.histc: range of [{lo}, {hi}] is not finite")
    if lo > hi:
        raise ArgumentError("torch.histc(): max must be larger than min")
    counts, _ = np.histogram(data[np.isfinite(data)], bins=int(bins), range=(lo, hi))
    return _wrap(counts.astype(data.dtype))


def histogram(input, bins=100, *, range=None, weight=None, density: bool = False, out=None):
    """(hist, bin_edges): counts (or ``weight`` sums) of ``bins`` equal bins over ``range`` (the data's range by
    default), or over the given bin edges (a 1-D tensor); the last bin includes its right edge; ``density``
    divides by the total and the bin widths. NumPy's histogram, in the input's float dtype."""
    from eigengrad import return_types

    data = input._data
    if data.dtype.kind != "f":  # (PyTorch's kernel has no integer or bool version)
        raise DtypeNotSupportedError(f"\"histogramdd\" not implemented for '{_torch_name(data.dtype)}'")
    edges = bins._data if hasattr(bins, "_data") else bins
    if isinstance(edges, np.ndarray) and edges.dtype != data.dtype:
        raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, but got "
                           f"input with dtype {c_type_name(data.dtype)} and bins for dimension 0 with dtype "
                           f"{c_type_name(edges.dtype)}")
    if isinstance(edges, numbers.Integral) and edges <= 0:
        raise ArgumentError(f"torch.histogram(): bins must be > 0, but got {edges} for dimension 0")
    w = None if weight is None else (weight._data if hasattr(weight, "_data") else np.asarray(weight))
    if w is not None and w.shape != data.shape:
        raise ArgumentError(f"weight: expected the shape of input {data.shape}, got {w.shape}")
    hist, edges = np.histogram(data.ravel(), bins=edges, range=range, weights=None if w is None else w.ravel(),
                               density=density)
    return return_types.histogram(_wrap(hist.astype(data.dtype)), _wrap(edges.astype(data.dtype)))


def _histogramdd_bins(bins, d: int) -> list:
    """Per dimension: a bin count or the edges (as a float64 array), from an int, a list of ints or of 1-D tensors."""
    if isinstance(bins, numbers.Integral) and not isinstance(bins, bool):
        bins = [bins] * d
    bins = list(bins)
    if len(bins) != d:
        raise ArgumentError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
    out = []
    for i, b in enumerate(bins):
        if hasattr(b, "_data"):
            edges = b._data
            if edges.ndim != 1 or edges.size < 1:
                raise ArgumentError(f"torch.histogramdd(): bins[{i}]: expected a 1-D tensor of edges, got shape "
                                    f"{tuple(edges.shape)}")
            if np.any(np.diff(edges) < 0):
                raise ArgumentError(f"torch.histogramdd(): bin edges for dimension {i} must be increasing")
            out.append(edges.astype(np.float64))
        elif isinstance(b, numbers.Integral) and not isinstance(b, bool):
            if b <= 0:
                raise ArgumentError(f"torch.histogram(): bins must be > 0, but got {b} for dimension {i}")
            out.append(int(b))
        else:
            raise ArgumentTypeError(f"histogramdd(): bins: expected an int, a list of ints or of 1-D tensors, got "
                                    f"{type(b).__name__} for dimension {i}")
    return out


def _histogramdd_range(data: np.ndarray, rng, d: int) -> list:
    """(min, max) per dimension: the given ``range`` (2 d numbers) or the data's own, widened when empty."""
    if rng is not None:
        rng = [float(v) for v in rng]
        if len(rng) != 2 * d:
            raise ArgumentError(f"torch.histogramdd: for a {d}-dimensional histogram range should have {2 * d} "
                                f"elements, but got {len(rng)}")
        pairs = [(rng[2 * i], rng[2 * i + 1]) for i in range(d)]
    elif data.shape[0] == 0:
        pairs = [(0.0, 1.0)] * d
    else:
        pairs = [(float(data[:, i].min()), float(data[:, i].max())) for i in range(d)]
    out = []
    for i, (lo, hi) in enumerate(pairs):
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ArgumentError(f"torch.histogramdd: range of [{lo}, {hi}] is not finite for dimension {i}")
        if lo > hi:
            raise ArgumentError(f"torch.histogramdd: min should not exceed max, but got min {lo:g} max {hi:g} for "
                                f"dimension {i}")
        out.append((lo - 0.5, hi + 0.5) if lo == hi else (lo, hi))
    return out


def histogramdd(input, bins=10, *, range=None, weight=None, density: bool = False):
    """(hist, bin_edges) of the points in the rows of ``input`` (*, D): a D-dimensional histogram whose bins per
    dimension are a count of equal bins over ``range`` (min and max per dimension; the data's by default) or
    the given edges (1-D tensors). ``weight`` (input's shape without its last dim) sums weights instead of
    counting; ``density`` divides by the total and the bin volumes. NumPy's histogramdd, in the input's
    float dtype; the last bin of each dimension includes its right edge."""
    from eigengrad import return_types

    data = input._data
    if data.dtype.kind != "f":
        raise DtypeNotSupportedError(f"\"histogramdd\" not implemented for '{_torch_name(data.dtype)}' (input: "
                                     "expected a float tensor)")
    if data.ndim == 0:
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    d = data.shape[-1]
    points = data.reshape(-1, d)
    edges = _histogramdd_bins(bins, d)
    w = None
    if weight is not None:
        w = weight._data if hasattr(weight, "_data") else np.asarray(weight)
        if w.shape != data.shape[:-1]:
            raise ArgumentError(f"torch.histogramdd: if weight tensor is provided it should have the same shape as "
                                f"the input tensor excluding its innermost dimension, but got input with shape "
                                f"{list(data.shape)} and weight with shape {list(w.shape)}")
        w = w.reshape(-1)
    lims = _histogramdd_range(points, range, d)
    edges = [e if isinstance(e, np.ndarray) else np.linspace(lo, hi, e + 1) for e, (lo, hi) in zip(edges, lims)]
    hist, _ = np.histogramdd(points.astype(np.float64), bins=edges, weights=w, density=bool(density))
    return return_types.histogramdd(_wrap(hist.astype(data.dtype)),
                                    tuple(_wrap(e.astype(data.dtype)) for e in edges))


def unravel_index(indices, shape):
    """The coordinates of flat ``indices`` in a tensor of ``shape``: a tuple of int64 tensors, one per dim."""
    idx = indices._data if hasattr(indices, "_data") else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise ArgumentTypeError(f"indices: expected integer indices, got dtype {idx.dtype}")
    shape = (shape,) if isinstance(shape, numbers.Integral) else tuple(int(s) for s in shape)
    total = int(np.prod(shape))
    if idx.size and (idx.min() < -total or idx.max() >= total):
        raise ArgumentError(f"indices: index out of bounds for shape {shape}")
    return tuple(_wrap(c.astype(np.int64)) for c in np.unravel_index(np.where(idx < 0, idx + total, idx), shape))


def _torch_name(dt) -> str:
    from eigengrad.autograd.inplace import _torch_name as name

    return name(dt)


def searchsorted(sorted_sequence, input, *, out_int32: bool = False, right: bool = False, side=None, sorter=None):
    """For each value, the index where it would be inserted into ``sorted_sequence`` (its innermost dim) to
    keep it sorted: the first such index, or the last with ``right=True`` / ``side='right'``."""
    if side is not None:
        if side not in ("left", "right"):
            raise ArgumentError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise ArgumentError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                                "while right was True")
        right = side == "right"
    seq = sorted_sequence._data
    values = input._data if hasattr(input, "_data") else input
    if seq.ndim > 1 and np.shape(values)[:-1] != seq.shape[:-1]:
        raise ArgumentError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                            f"dimensions of boundaries tensor and input value tensor must match, but we got "
                            f"boundaries tensor {list(seq.shape)} and input value tensor {list(np.shape(values))}")
    how, dtype = "right" if right else "left", np.dtype(np.int32 if out_int32 else np.int64)
    # (through numpy_call: a compiled step searches again at every call)
    if sorter is not None:
        return _wrap(numpy_call(_search_sorted, seq, values, how, dtype, sorter._data))
    return _wrap(numpy_call(_search_sorted, seq, values, how, dtype))


def _search_sorted(seq: np.ndarray, values, how: str, dtype: np.dtype, sorter=None) -> np.ndarray:
    if sorter is not None:
        seq = np.take_along_axis(seq, sorter, axis=-1)
    values = np.asarray(values)
    if seq.ndim <= 1:
        out = np.searchsorted(seq, values, side=how)
    else:
        # (explicit row counts: reshape(-1, 0) is ambiguous for an empty sequence or empty values)
        batch = int(np.prod(seq.shape[:-1]))
        rows, vals = seq.reshape(batch, seq.shape[-1]), values.reshape(batch, values.shape[-1])
        out = np.zeros(vals.shape, dtype=np.intp)
        for i in range(batch if seq.shape[-1] and values.shape[-1] else 0):  # (an empty sequence: index 0)
            out[i] = np.searchsorted(rows[i], vals[i], side=how)
        out = out.reshape(values.shape)
    return np.asarray(out, dtype=dtype)


def bucketize(input, boundaries, *, out_int32: bool = False, right: bool = False):
    """The bucket of each value between the 1-D sorted ``boundaries`` (searchsorted with the roles swapped)."""
    if boundaries.ndim != 1:
        raise ArgumentError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


METHODS = ("unique", "unique_consecutive", "bincount", "histc", "histogram")
FUNCTIONS = METHODS + ("searchsorted", "bucketize", "unravel_index", "histogramdd")
