"""``torch.sparse``: sparse COO tensors and their operations (PyTorch's names, arguments and errors).

    adj = eg.sparse_coo_tensor(indices, values, (n, n))   # or eg.sparse.FloatTensor(indices, values, size)
    out = eg.spmm(adj, x)                                  # eg.sparse.mm, eg.mm, adj @ x: a dense tensor

The tensor and its methods are in ``_coo`` (see its docstring for the representation and how autograd goes
through the values), construction in ``_create``, products, sums and softmax in ``_ops``. What is supported:
construction (``sparse_coo_tensor``, the legacy ``FloatTensor``/``DoubleTensor``/``LongTensor``,
``Tensor.to_sparse``), ``coalesce``, ``to_dense``, ``indices``/``values``/``_indices``/``_values``, ``t`` and
``transpose`` of sparse dims, sparse @ dense, dense @ sparse and sparse @ sparse, ``sum``, ``softmax`` and
``log_softmax``, products with numbers, dense tensors and sparse tensors, sums of sparse tensors and
dense + sparse, and the zero-preserving elementwise functions (abs, sqrt, tanh, relu, ...). Any other
operation raises PyTorch's NotImplementedError; call ``to_dense()`` first.
"""
from __future__ import annotations

import warnings

import numpy as np

from eigengrad.sparse._coo import SparseTensor
from eigengrad.sparse._create import dense_to_sparse, sparse_coo_tensor  # noqa: F401 (eigengrad.sparse_coo_tensor)
from eigengrad.sparse._ops import log_softmax, softmax, sparse_sum
from eigengrad.tensor import Tensor


def mm(mat1, mat2, reduce=None):
    """``torch.sparse.mm``: the matrix product of a sparse matrix (n, m) and a dense (m, k) one, a dense (n, k)
    tensor, out[i, :] = sum_j mat1[i, j] mat2[j, :]; differentiable in the dense operand and in the sparse one's
    values (its gradient is restricted to its pattern). A dense first operand with a sparse second one, or two
    sparse ones (a sparse result), work too; two dense ones are ``torch.mm``."""
    if reduce is not None:
        raise NotImplementedError("Could not run 'aten::_sparse_mm_reduce_impl' with arguments from the 'SparseCPU' "
                                  "backend: eigengrad's sparse.mm has no reduce argument")
    from eigengrad.sparse import _ops

    return _ops.mm(mat1, mat2)


def addmm(mat, mat1, mat2, *, beta=1.0, alpha=1.0):
    """``torch.sparse.addmm``: beta * mat + alpha * (mat1 @ mat2), mat1 sparse."""
    return mat * beta + mm(mat1, mat2) * alpha if (beta != 1 or alpha != 1) else mat + mm(mat1, mat2)


def sum(input, dim=None, dtype=None):
    """``torch.sparse.sum``: the sum of the entries over every dim (a dense 0-d tensor) or over ``dim`` (an int
    or a sequence): a coalesced sparse tensor over the remaining sparse dims, or a dense tensor when every sparse
    dim is summed."""
    return sparse_sum(input, dim, dtype=dtype)


class _LegacyType(type):
    """``isinstance(t, torch.sparse.FloatTensor)``: a sparse tensor of that dtype."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, SparseTensor) and obj._vals._data.dtype == cls._dtype


class _LegacySparse(metaclass=_LegacyType):
    _dtype = np.dtype(np.float32)

    def __new__(cls, *args, device=None):
        """The deprecated constructors: ``FloatTensor(indices, values, size)``, ``FloatTensor(indices, values)``
        and ``FloatTensor(*size)`` (empty), with PyTorch's deprecation warning. The values keep their dtype, as
        PyTorch's do."""
        if len(args) >= 2 and isinstance(args[0], Tensor) and isinstance(args[1], Tensor):
            if len(args) > 3:
                raise TypeError(f"new() received an invalid combination of arguments - got {len(args)} arguments")
            if len(args) == 3:
                warnings.warn("torch.sparse.SparseTensor(indices, values, shape, *, device=) is deprecated.  Please "
                              "use torch.sparse_coo_tensor(indices, values, shape, dtype=, device=).", UserWarning,
                              stacklevel=2)
                return sparse_coo_tensor(args[0], args[1], args[2], device=device)
            warnings.warn("torch.sparse.SparseTensor(indices, values, *, device=) is deprecated.  Please use "
                          "torch.sparse_coo_tensor(indices, values, dtype=, device=).", UserWarning, stacklevel=2)
            return sparse_coo_tensor(args[0], args[1], device=device)
        size = tuple(args[0]) if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
        if not all(isinstance(s, (int, np.integer)) for s in size):
            raise TypeError(f"new() received an invalid combination of arguments - got "
                            f"({', '.join(type(a).__name__ for a in args)}), but expected one of: (*, device), "
                            "(Tensor indices, Tensor values, *, device), (Tensor indices, Tensor values, tuple of "
                            "ints size, *, device), (tuple of ints size, *, device)")
        warnings.warn("torch.sparse.SparseTensor(shape, *, device=) is deprecated.  Please use "
                      "torch.sparse_coo_tensor(shape, dtype=, device=).", UserWarning, stacklevel=2)
        return sparse_coo_tensor(size, dtype=cls._dtype, device=device)


class FloatTensor(_LegacySparse):
    _dtype = np.dtype(np.float32)


class DoubleTensor(_LegacySparse):
    _dtype = np.dtype(np.float64)


class LongTensor(_LegacySparse):
    _dtype = np.dtype(np.int64)


__all__ = ["mm", "addmm", "sum", "softmax", "log_softmax", "FloatTensor", "DoubleTensor", "LongTensor"]
