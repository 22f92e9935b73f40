"""Sorting: ``sort`` (stable, ``descending``), ``argsort``, ``topk``, ``msort``, ``kthvalue``; C++ kernels for
float, integer and bool tensors (NaN sorts as the largest value, as in PyTorch). Values are differentiable:
their gradient goes back to the positions they came from."""
from __future__ import annotations

import numpy as np

from eigengrad._errors import ArgumentError
from eigengrad import _kernels as K
from eigengrad import return_types
from eigengrad.autograd import ops
from eigengrad.tensor_ops import _dims


def _wrap(arr):
    from eigengrad.tensor import Tensor

    return Tensor._wrap(np.asarray(arr))


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
    values, indices = K.sort(input._data, d, bool(descending))
    return return_types.sort(_values(input, d, values, indices), _wrap(indices))


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """The indices that sort ``dim`` (stable)."""
    if input.ndim == 0:
        return _wrap(np.zeros((), dtype=np.int64))
    d = _dims.wrap(dim, input.ndim)
    return _wrap(K.sort(input._data, d, bool(descending), values=False)[1])


def msort(input):
    return sort(input, 0).values


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *, out=None):
    """(values, indices) of the k largest (or smallest) along ``dim``, largest (smallest) first; equal values
    in index order."""
    x = input if input.ndim else input.reshape(1)
    d = _dims.wrap(dim, x.ndim)
    n = x.shape[d]
    if not 0 <= k <= n:
        raise ArgumentError(f"selected index k out of range" if input.ndim else "selected index k out of range")
    values, indices = K.topk(x._data, d, int(k), bool(largest))
    if input.ndim == 0:
        return return_types.topk(input.clone() if k else input.reshape(0)[:0], _wrap(indices.reshape(()) if k
                                                                                        else indices))
    return return_types.topk(_values(x, d, values, indices), _wrap(indices))


def kthvalue(input, k: int, dim: int = -1, keepdim: bool = False):
    """(value, index) of the k-th smallest element along ``dim`` (1-based k)."""
    x = input if input.ndim else input.reshape(1)
    d = _dims.wrap(dim, x.ndim)
    if not 1 <= k <= x.shape[d]:
        raise ArgumentError(f"kthvalue(): selected number k out of range for dimension {d}")
    vals, idx = topk(x, k, d, largest=False)
    v, i = vals.narrow(d, k - 1, 1), idx.narrow(d, k - 1, 1)
    if not keepdim:
        v, i = v.squeeze(d), i.squeeze(d)
    return return_types.kthvalue(v, i)


def unique(input, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim=None):
    """The distinct values of ``input`` (flattened; or the distinct slices along ``dim``), in ascending order
    (also when ``sorted=False``, which PyTorch's CPU kernel treats alike), with the inverse indices (input
    positions -> output positions, int64, input's shape) and the counts when asked. Not differentiable."""
    arr = input._data
    if dim is None:
        values, inverse, counts = np.unique(arr.reshape(-1), return_inverse=True, return_counts=True)
        inverse = inverse.reshape(arr.shape)
    else:
        values, inverse, counts = np.unique(arr, return_inverse=True, return_counts=True,
                                            axis=_dims.wrap(dim, arr.ndim))
        inverse = inverse.reshape(-1)
    out = [_wrap(np.ascontiguousarray(values))]
    if return_inverse:
        out.append(_wrap(inverse.astype(np.int64)))
    if return_counts:
        out.append(_wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)


METHODS = ("sort", "argsort", "msort", "topk", "kthvalue", "unique")
FUNCTIONS = METHODS
