"""Sorting: ``sort`` (stable, ``descending``), ``argsort``, ``topk``, ``msort``, ``kthvalue``; C++ kernels for
float, integer and bool tensors (NaN sorts as the largest value, as in PyTorch). Values are differentiable:
their gradient goes back to the positions they came from."""
from __future__ import annotations

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentTypeError, DtypeNotSupportedError
from eigengrad import _kernels as K, _trace
from eigengrad import return_types
from eigengrad.autograd import ops
from eigengrad.tensor_ops import _dims


def _wrap(arr):
    from eigengrad.tensor import Tensor

    return Tensor._wrap(np.asarray(arr))


def _sort_indices(x: np.ndarray, d: int, descending: bool) -> np.ndarray:
    return K.sort(x, d, descending, values=False)[1]


def _topk_indices(x: np.ndarray, d: int, k: int, largest: bool) -> np.ndarray:
    return K.topk(x, d, k, largest)[1]


def _traced(indices_fn, input, d: int, *args):
    """(values, indices) while eg.compile traces: the indices one plan step (``ops.numpy_call``), the values
    gathered from them (the same elements as the kernel's values, recorded)."""
    indices = ops.numpy_call(indices_fn, input._data, d, *args)
    return ops.Gather.apply(input, indices, dim=d), indices


def _values(input, d: int, values: np.ndarray, indices: np.ndarray):
    """The sorted values as a tensor: the kernel's array, or a gather that carries the gradient."""
    if input.requires_grad:
        return ops.Gather.apply(input, indices, dim=d)
    return _wrap(values)


def sort(input, dim: int = -1, descending: bool = False, stable: bool = False, *, out=None):
    """(values, indices) sorted along ``dim`` (stable: equal values keep their order, whatever ``stable``)."""
    if input.ndim == 0:
        return return_types.sort(input.clone(), _wrap(np.zeros((), dtype=np.int64)))
    d = _dims.wrap(dim, input.ndim)
    if _trace.ACTIVE[0] is not None:
        values, indices = _traced(_sort_indices, input, d, bool(descending))
        return return_types.sort(values, _wrap(indices))
    values, indices = K.sort(input._data, d, bool(descending))
    return return_types.sort(_values(input, d, values, indices), _wrap(indices))


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """The indices that sort ``dim`` (stable)."""
    if input.ndim == 0:
        return _wrap(np.zeros((), dtype=np.int64))
    d = _dims.wrap(dim, input.ndim)
    return _wrap(ops.numpy_call(_sort_indices, input._data, d, bool(descending)))


def msort(input):
    return sort(input, 0).values


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *, out=None):
    """(values, indices) of the k largest (or smallest) along ``dim``, largest (smallest) first; equal values
    in index order."""
    if input._data.dtype == np.bool_:
        raise ArgumentTypeError("topk does not support bool dtypes on CPU")  # (PyTorch: a RuntimeError)
    if input.ndim == 0:  # PyTorch: k 0 or 1 both give the value itself and index 0
        _dims.wrap(dim, 0)
        if k not in (0, 1):
            raise ArgumentError("selected index k out of range")
        return return_types.topk(input.clone(), _wrap(np.zeros((), np.int64)))
    x = input
    d = _dims.wrap(dim, x.ndim)
    n = x.shape[d]
    if not 0 <= k <= n:
        raise ArgumentError(f"selected index k out of range" if input.ndim else "selected index k out of range")
    if _trace.ACTIVE[0] is not None and input.ndim:
        values, indices = _traced(_topk_indices, x, d, int(k), bool(largest))
        return return_types.topk(values, _wrap(indices))
    values, indices = K.topk(x._data, d, int(k), bool(largest))
    if input.ndim == 0:
        return return_types.topk(input.clone() if k else input.reshape(0)[:0], _wrap(indices.reshape(()) if k
                                                                                        else indices))
    return return_types.topk(_values(x, d, values, indices), _wrap(indices))


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    """(value, index) of the k-th smallest element along ``dim`` (1-based k)."""
    x = input if input.ndim else input.reshape(1)
    d = _dims.wrap(dim, x.ndim)
    if x.shape[d] == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {d} to have non-zero size.")
    if not 1 <= k <= x.shape[d]:
        raise ArgumentError(f"kthvalue(): selected number k out of range for dimension {d}")
    if input.ndim == 0:  # the value itself (any dtype, as PyTorch)
        return return_types.kthvalue(input.clone(), _wrap(np.zeros((), np.int64)))
    if input._data.dtype == np.bool_:
        raise DtypeNotSupportedError("\"kthvalue_cpu\" not implemented for 'Bool'")
    vals, idx = topk(x, k, d, largest=False)
    v, i = vals.narrow(d, k - 1, 1), idx.narrow(d, k - 1, 1)
    if not keepdim or input.ndim == 0:  # a 0-d input gives 0-d results, keepdim or not
        v, i = v.squeeze(d), i.squeeze(d)
    return return_types.kthvalue(v, i)


def _median(input, dim, keepdim: bool, ignore_nan: bool, name: str):
    """The lower median ((n - 1) // 2-th smallest) along ``dim``, or of all elements when ``dim`` is None.
    NaN: ``median`` gives NaN (the index of the first NaN) where a row has one; ``nanmedian`` the median of
    the row's numbers (NaN where it has none). Along ``dim`` the value is a gather, so its gradient goes to
    that element; of all elements, it is shared by the elements equal to it (PyTorch's rule for each)."""
    if input._data.dtype == np.bool_:
        raise DtypeNotSupportedError('"median_cpu" not implemented for \'Bool\'')
    whole = dim is None
    x = input.reshape(-1) if whole else (input if input.ndim else input.reshape(1))
    d = 0 if whole else _dims.wrap(dim, x.ndim)
    n = x.shape[d]
    if n == 0:
        if whole:  # (NaN, in x's graph with a zero gradient, as PyTorch's)
            return ops.ZeroGradTo.apply(x.new_full((), float("nan")), x)
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    idx = ops.numpy_call(_median_index, x._data, d, bool(ignore_nan))  # (a compiled step: one step per call)
    if whole:  # PyTorch shares the gradient of median() evenly among the elements equal to it
        value = ops.numpy_call(np.take_along_axis, x._data, idx, d).reshape(())
        return ops.EvenlyDistributed.apply(x, value) if x.requires_grad else _wrap(value)
    values = ops.Gather.apply(x, idx, dim=d) if x.requires_grad else \
        _wrap(ops.numpy_call(np.take_along_axis, x._data, idx, d))
    idx_t = _wrap(idx)
    if not keepdim or input.ndim == 0:
        values, idx_t = values.squeeze(d), idx_t.squeeze(d)
    return return_types.median(values, idx_t)


def _median_index(x: np.ndarray, d: int, ignore_nan: bool) -> np.ndarray:
    """The index along ``d`` (kept as a dim of 1) of each row's lower median, NaN as _median says."""
    n = x.shape[d]
    order = K.sort(x, d, False, values=False)[1]  # NaN sorts last
    nans = np.isnan(x).sum(axis=d, keepdims=True) if x.dtype.kind == "f" else np.zeros(1, np.int64)
    if ignore_nan:
        k = np.where(nans == n, (n - 1) // 2, np.maximum(n - nans - 1, 0) // 2)  # all NaN: PyTorch's index
    else:
        k = np.where(nans > 0, n - nans, (n - 1) // 2)  # the first NaN in sorted order
    return np.take_along_axis(order, np.broadcast_to(k, order.shape[:d] + (1,) + order.shape[d + 1:]), axis=d)


def median(input, dim=None, keepdim: bool = False):
    """The lower of the two middle values (PyTorch's median; NaN if the row has a NaN): a tensor without
    ``dim``, else (values, indices)."""
    return _median(input, dim, keepdim, False, "median")


def nanmedian(input, dim=None, keepdim: bool = False):
    """median ignoring NaN (NaN only where a row has nothing else)."""
    return _median(input, dim, keepdim, True, "nanmedian")


def _mode_index(x: np.ndarray, d: int) -> np.ndarray:
    """The index along ``d`` (kept as a dim of 1) of each row's mode: in a stable ascending sort, the longest
    run of equal values, the first such run (the smallest value) on a tie, and its last element (the value's
    last position in the row)."""
    n = x.shape[d]
    order = np.moveaxis(K.sort(x, d, False, values=False)[1], d, -1)
    s = np.take_along_axis(np.moveaxis(x, d, -1), order, -1)
    end = np.ones(s.shape, bool)
    end[..., :-1] = s[..., :-1] != s[..., 1:]  # (NaN != NaN: each NaN a run of its own)
    start = np.ones(s.shape, bool)
    start[..., 1:] = end[..., :-1]
    pos = np.arange(n)
    length = pos - np.maximum.accumulate(np.where(start, pos, 0), axis=-1) + 1
    best = np.argmax(np.where(end, length, 0), axis=-1)[..., None]
    return np.moveaxis(np.take_along_axis(order, best, -1), -1, d)


def mode(input, dim: int = -1, keepdim: bool = False):
    """(values, indices): the most frequent value of each row along ``dim`` (PyTorch's ``mode``): the smallest
    of the values that appear most often, and the index of its last occurrence. The value is a gather, so its
    gradient goes to that element. (NaN: PyTorch's CPU kernel sorts NaN with ``<``, so its answer on a row
    holding NaN depends on the order; here each NaN counts once, so a row's NaNs are never its mode unless the
    row is all NaN.)"""
    x = input if input.ndim else input.reshape(1)
    d = _dims.wrap(dim, x.ndim)
    if x.shape[d] == 0:
        raise IndexError(f"mode(): Expected reduction dim {d} to have non-zero size.")
    idx = ops.numpy_call(_mode_index, x._data, d)  # (a compiled step: one step per call)
    values = ops.Gather.apply(x, idx, dim=d) if x.requires_grad else \
        _wrap(ops.numpy_call(np.take_along_axis, x._data, idx, d))
    idx_t = _wrap(idx)
    if not keepdim or input.ndim == 0:
        values, idx_t = values.squeeze(d), idx_t.squeeze(d)
    return return_types.mode(values, idx_t)


METHODS = ("sort", "argsort", "msort", "topk", "kthvalue", "median", "nanmedian", "mode")
FUNCTIONS = METHODS
