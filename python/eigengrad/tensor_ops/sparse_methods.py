"""The sparse COO names on dense tensors and at the top level (``torch.sparse_coo_tensor``, ``torch.spmm``,
``torch.sparse_coo``, ``Tensor.to_sparse``, ``Tensor.to_dense``, ...). The sparse tensor itself lives in
``eigengrad.sparse``, imported on first use, so that ``import eigengrad`` does not load it.

On a dense (strided) tensor these methods behave as PyTorch's: ``to_dense()`` is the tensor itself,
``sparse_dim()`` is 0 and ``dense_dim()`` its number of dimensions, ``coalesce()``/``indices()``/``values()``
/``is_coalesced()`` raise PyTorch's RuntimeError and ``_indices()``/``_values()``/``_nnz()`` its
NotImplementedError."""
from __future__ import annotations

from eigengrad.tensor_ops.creation import _Layout

sparse_coo = _Layout("sparse_coo")


def _sparse():
    from eigengrad import sparse

    return sparse


def _strided(name: str, layout: str = "sparse coordinate tensor") -> RuntimeError:
    return RuntimeError(f"{name} expected {layout} layout but got Strided")


def no_kernel(name: str) -> NotImplementedError:
    """PyTorch's error for a sparse-only operator called on a strided (dense) tensor."""
    return NotImplementedError(f"Could not run 'aten::{name}' with arguments from the 'CPU' backend: it needs a "
                               "sparse tensor, this one is strided (dense)")


def check_coo_layout(layout, blocksize=None, dense_dim=None) -> None:
    """The options of ``to_sparse`` eigengrad can honour: the COO layout only (no compressed layouts)."""
    if layout is not None and layout is not sparse_coo:
        raise NotImplementedError(f"to_sparse: eigengrad has only the sparse COO layout, got {layout!r}")
    if blocksize is not None or dense_dim is not None:
        raise NotImplementedError("to_sparse: blocksize and dense_dim are for the compressed layouts, which eigengrad "
                                  "does not have")


def sparse_coo_tensor(indices, values=None, size=None, *, dtype=None, device=None, pin_memory=False,
                      requires_grad=False, check_invariants=None, is_coalesced=None):
    """A sparse COO tensor whose element at ``indices[:, k]`` is the sum of the ``values[k]`` stored there
    (``torch.sparse_coo_tensor``); see :func:`eigengrad.sparse.sparse_coo_tensor`."""
    return _sparse().sparse_coo_tensor(indices, values, size, dtype=dtype, device=device, pin_memory=pin_memory,
                                       requires_grad=requires_grad, check_invariants=check_invariants,
                                       is_coalesced=is_coalesced)


def spmm(input, mat2):
    """``torch.spmm``: the matrix product ``input @ mat2`` of a sparse (or dense) matrix and a dense one."""
    return _sparse().mm(input, mat2)


def to_sparse(input, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None):
    """The sparse COO tensor of the nonzero entries of ``input`` (``Tensor.to_sparse``): with ``sparse_dim``,
    only the first ``sparse_dim`` dims are sparse and each stored value is a dense slice of the rest."""
    return _sparse().dense_to_sparse(input, sparse_dim, layout=layout, blocksize=blocksize, dense_dim=dense_dim)


def to_sparse_coo(input):
    return to_sparse(input)


def to_dense(input, dtype=None, *, masked_grad=None):
    """A dense tensor is its own dense form (``Tensor.to_dense``; cast to ``dtype`` when given)."""
    return input if dtype is None else input.to(dtype)


def coalesce(input):
    raise _strided("coalesce")


def is_coalesced(input):
    raise _strided("is_coalesced")


def indices(input):
    raise _strided("indices")


def values(input):
    raise _strided("values", "sparse tensor")


def _indices(input):
    raise no_kernel("_indices")


def _values(input):
    raise no_kernel("_values")


def _nnz(input):
    raise no_kernel("_nnz")


def sparse_dim(input) -> int:
    """0: a dense tensor has no sparse dimensions."""
    return 0


def dense_dim(input) -> int:
    """Every dimension of a dense tensor is dense."""
    return input.ndim


METHODS = ("to_sparse", "to_sparse_coo", "to_dense", "coalesce", "is_coalesced", "indices", "values", "_indices",
           "_values", "_nnz", "sparse_dim", "dense_dim")
FUNCTIONS = ("sparse_coo_tensor", "spmm", "sparse_coo")
