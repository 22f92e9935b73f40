"""Building sparse COO tensors: ``sparse_coo_tensor`` (PyTorch's arguments, checks and messages) and
``Tensor.to_sparse`` of a dense tensor."""
from __future__ import annotations

import numpy as np

from eigengrad import _dtype
from eigengrad._device import check_device
from eigengrad.sparse._coo import SparseTensor, groups
from eigengrad.tensor import Tensor, default_float
from eigengrad.tensor_ops.sparse_methods import check_coo_layout


def _indices_array(indices) -> np.ndarray:
    if isinstance(indices, SparseTensor):
        raise TypeError("sparse_coo_tensor(): indices must be a dense tensor")
    arr = indices._data if isinstance(indices, Tensor) else np.asarray(indices)
    if arr.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(arr.shape)}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"sparse_coo_tensor(): indices must be numbers, got dtype {arr.dtype}")
    return np.array(arr, dtype=np.int64)  # a copy: the row plans cached on the tensor rely on fixed indices


def _values_tensor(values, dtype, requires_grad: bool) -> Tensor:
    if isinstance(values, SparseTensor):
        raise TypeError("sparse_coo_tensor(): values must be a dense tensor")
    if isinstance(values, Tensor):
        v = values if dtype is None else values.to(dtype)
        if v.requires_grad:  # the graph is kept: the sparse tensor is a function of the values
            return v.view(v.shape)
        v = Tensor._wrap(v._data)  # the memory is shared, the flags are the sparse tensor's own
    else:
        from eigengrad.tensor_ops.creation import tensor

        v = tensor(values, dtype=dtype)
    if requires_grad:
        if v._data.dtype.kind != "f":
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        v.requires_grad_(True)
    return v


def _check_invariants(idx: np.ndarray, shape: tuple) -> None:
    """PyTorch's ``check_invariants`` errors: a negative index, or one beyond the size of its dim."""
    if idx.shape[1] == 0:
        return
    low, high = idx.min(axis=1), idx.max(axis=1)
    for d in range(idx.shape[0]):
        if low[d] < 0:
            raise RuntimeError(f"found negative index {int(low[d])} for dim {d}")
        if high[d] >= shape[d]:
            raise RuntimeError(f"size is inconsistent with indices: for dim {d}, size is {shape[d]} but found index "
                               f"{int(high[d])}")


def sparse_coo_tensor(indices, values=None, size=None, *, dtype=None, device=None, pin_memory=False,
                      requires_grad=False, check_invariants=None, is_coalesced=None) -> SparseTensor:
    """The sparse COO tensor with ``values[k]`` at index ``indices[:, k]`` (``torch.sparse_coo_tensor``):
    dense[i] = sum of the values[k] with indices[:, k] == i (duplicates add up).

    Args:
        indices: (sparse_dim, nnz) integers (a tensor, array or nested list).
        values: (nnz, *dense_shape) values (a tensor, array or list); a tensor that requires grad is kept in the
            graph (the sparse tensor is then a function of it).
        size: the shape; by default the largest index + 1 in each sparse dim, then the values' dense shape.
        dtype: the values' dtype (default: theirs, or inferred as ``torch.tensor`` does).
        requires_grad: make the result a leaf whose ``grad`` a backward fills (a sparse tensor).
        check_invariants: PyTorch checks the indices against ``size`` only when asked; eigengrad always does
            (a negative or too large index would otherwise be read as another position by NumPy).
        is_coalesced: declare the indices unique and sorted (checked).

    ``sparse_coo_tensor(size)`` alone is the empty sparse tensor of that size.
    """
    check_device(device)
    if values is None:  # sparse_coo_tensor(size): no entries
        shape = tuple(indices)
        vals = Tensor._wrap(np.zeros((0,), dtype=_dtype.to_numpy(dtype) if dtype is not None else default_float()))
        return sparse_coo_tensor(np.zeros((len(shape), 0), np.int64), vals, shape, requires_grad=requires_grad)
    idx = _indices_array(indices)
    vals = _values_tensor(values, dtype, requires_grad)
    if vals.ndim == 0 or idx.shape[1] != vals.shape[0]:
        nnz_values = vals.shape[0] if vals.ndim else 1
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: {idx.shape[1]}, nnz "
                           f"from values: {nnz_values}")
    sd, dense_shape = idx.shape[0], tuple(vals.shape[1:])
    if size is None:
        sparse_shape = tuple(int(m) + 1 for m in idx.max(axis=1)) if idx.shape[1] else (0,) * sd
        shape = sparse_shape + dense_shape
    else:
        shape = tuple(int(s) for s in size)
        if any(s < 0 for s in shape):
            raise RuntimeError(f"sparse_coo_tensor: size must be non-negative, got {list(shape)}")
        if len(shape) != sd + len(dense_shape):
            raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = {len(shape)}, "
                               f"sparse_dim = {sd}, dense_dim = {len(dense_shape)}")
        if shape[sd:] != dense_shape:
            raise RuntimeError(f"values has incorrect size, expected {[vals.shape[0], *shape[sd:]]}, got "
                               f"{list(vals.shape)}")
    _check_invariants(idx, shape)
    coalesced = bool(is_coalesced)
    if coalesced and idx.shape[1] > 1:
        _, starts, _ = groups(idx)
        order_ok = len(starts) == idx.shape[1] and np.all(np.lexsort(idx[::-1]) == np.arange(idx.shape[1]))
        if not order_ok:
            raise RuntimeError("cannot set is_coalesced to true if indices correspond to uncoalesced COO tensor")
    return SparseTensor._make(idx, vals, shape, coalesced)


def dense_to_sparse(input, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None) -> SparseTensor:
    """``Tensor.to_sparse``: the indices of the nonzero entries of a dense tensor (NaN counts as nonzero, -0.0 as
    zero) in row-major order, their values (differentiable), coalesced. With ``sparse_dim`` only the first
    ``sparse_dim`` dims are sparse: an index is kept when its dense slice has a nonzero."""
    if isinstance(input, SparseTensor):
        return input.to_sparse(sparse_dim, layout=layout)
    check_coo_layout(layout, blocksize, dense_dim)
    n = input.ndim
    sd = n if sparse_dim is None else int(sparse_dim)
    if not 0 <= sd <= n:
        raise RuntimeError(f"dense_to_sparse: sparse_dim argument must be in [0,{n}] range, but {sd} is given")
    if sd == 0 and n > 0:
        raise RuntimeError("dense_to_sparse: sparse_dim argument must be in >0 when self.dim()>0")
    data = input._data
    if n == 0:
        nnz = int(bool(data != 0))
        idx = np.zeros((0, nnz), np.int64)
        vals = input.reshape(1)[:nnz] if input.requires_grad else Tensor._wrap(data.reshape(1)[:nnz].copy())
        return SparseTensor._make(idx, vals, (), True)
    mask = data != 0
    if sd < n:
        mask = mask.any(axis=tuple(range(sd, n)))
    where = np.nonzero(mask)
    idx = np.stack(where).astype(np.int64, copy=False) if where else np.zeros((0, 0), np.int64)
    if input.requires_grad:
        vals = input[tuple(Tensor._wrap(w) for w in where)]
    else:
        vals = Tensor._wrap(data[where])
    return SparseTensor._make(idx, vals, tuple(input.shape), True)
