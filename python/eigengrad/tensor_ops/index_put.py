"""Writes at indices, out of place and in place: ``index_put``/``index_put_`` (with ``accumulate``), ``put``/
``put_`` (flat indices), ``index_copy``/``index_copy_``, ``fill_diagonal_``. Built from item assignment and
``index_add`` (differentiable w.r.t. the tensor and the values, as PyTorch's)."""
from __future__ import annotations

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentIndexError, ArgumentTypeError
from eigengrad.autograd import inplace
from eigengrad.tensor_ops import _dims


def _tensor_cls():
    from eigengrad.tensor import Tensor

    return Tensor


def _positions(input, indices) -> tuple:
    """The index tensors as int64 arrays over the leading dims (a bool mask stands for its nonzero positions,
    one array per dim it covers), broadcast together, negative positions counted from the end."""
    arrays, dim = [], 0
    for i in indices:
        a = np.asarray(i._data if hasattr(i, "_data") else i)
        if a.dtype.kind == "b":
            arrays.extend(np.nonzero(a))
            dim += a.ndim
            continue
        if a.dtype.kind not in "iu":
            raise ArgumentError("tensors used as indices must be long, int, byte or bool tensors")
        arrays.append(a.astype(np.int64))
        dim += 1
    if dim > input.ndim:
        raise ArgumentIndexError(f"too many indices for tensor of dimension {input.ndim} (got {dim})")
    try:
        arrays = np.broadcast_arrays(*arrays) if arrays else []
    except ValueError:
        raise ArgumentIndexError("shape mismatch: indexing tensors could not be broadcast together with shapes "
                                 + ", ".join(str(list(a.shape)) for a in arrays)) from None
    out = []
    for d, a in enumerate(arrays):
        n = input.shape[d]
        if a.size and (a.min() < -n or a.max() >= n):
            bad = a[(a < -n) | (a >= n)].reshape(-1)[0]
            raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {n}")
        out.append(np.where(a < 0, a + n, a))
    return tuple(out)


def index_put(input, indices, values, accumulate: bool = False):
    """A copy of ``input`` with ``values`` at ``indices`` (a tuple of index tensors over the leading dims);
    ``accumulate`` adds them instead, repeated positions adding up."""
    Tensor = _tensor_cls()
    if isinstance(values, Tensor) and values._data.dtype != input._data.dtype:
        from eigengrad.tensor_ops.index import _scalar_name

        raise ArgumentTypeError(f"Index put requires the source and destination dtypes match, got "
                                f"{_scalar_name(input._data.dtype)} for the destination and "
                                f"{_scalar_name(values._data.dtype)} for the source.")
    values = values if isinstance(values, Tensor) else Tensor._wrap(np.asarray(values, dtype=input._data.dtype))
    pos = _positions(input, tuple(indices))
    if not accumulate:
        out = input.clone()
        out[tuple(Tensor._wrap(p) for p in pos)] = values
        return out
    k = len(pos)
    lead, rest = input.shape[:k], tuple(input.shape[k:])
    flat = np.ravel_multi_index(pos, lead).reshape(-1) if k else np.zeros(1, np.int64)
    shape = (pos[0].shape if k else ()) + rest
    vals = values.to(input.dtype).expand(*shape).reshape(int(flat.size), *rest)  # (not -1: rest may hold a 0)
    from eigengrad.tensor_ops.index import index_add

    rows = input.reshape(int(np.prod(lead, dtype=np.int64)), *rest)
    return index_add(rows, 0, Tensor._wrap(flat), vals).reshape(*input.shape)


def put(input, index, source, accumulate: bool = False):
    """A copy of ``input`` with ``source`` at the flat positions ``index`` (of the row-major flattened tensor)."""
    flat = index_put(input.reshape(-1), (index.reshape(-1),), source.reshape(-1), accumulate)
    return flat.reshape(*input.shape)


def index_copy(input, dim: int, index, source):
    """A copy of ``input`` whose slices ``index`` along ``dim`` are ``source``'s slices."""
    d = _dims.wrap(dim, input.ndim) if input.ndim else 0
    if index.ndim > 1:
        raise ArgumentError(f"index_copy_(): Index should have dimension 1 or 0 (got {index.ndim})")
    if hasattr(source, "_data") and source._data.dtype != input._data.dtype:
        from eigengrad.tensor_ops.index import _scalar_name

        raise ArgumentTypeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                                f"{_scalar_name(input._data.dtype)} and (source) {_scalar_name(source._data.dtype)}")
    n = input.shape[d] if input.ndim else 1
    flat = np.asarray(index._data if hasattr(index, "_data") else index).reshape(-1)
    bad = (flat < 0) | (flat >= n)
    if bad.any():  # PyTorch's index_copy counts no position from the end
        raise ArgumentIndexError(f"index_copy_(): index {int(flat[np.argmax(bad)])} is out of bounds for dimension {d} "
                                 f"with size {n}")
    if input.ndim == 0:  # one slice: the element, as a 1-element tensor
        return index_copy(input.reshape(1), 0, index, source.reshape(-1) if hasattr(source, "_data") else source
                          ).reshape(())
    out = input.clone()
    out[(slice(None),) * d + (index.reshape(-1),)] = source
    return out


def fill_diagonal_(input, fill_value, wrap: bool = False):
    """Fills the main diagonal (all dims of equal length, or a 2-D matrix) in place; ``wrap``: a tall
    matrix's diagonal starts again every N + 1 rows, as NumPy's fill_diagonal."""
    if input.ndim < 2:
        raise ArgumentError("dimensions must larger than 1")
    if input.ndim > 2 and len(set(input.shape)) != 1:
        raise ArgumentError("all dimensions of input must be of equal length")
    mask = np.zeros(input.shape, dtype=bool)
    np.fill_diagonal(mask, True, wrap=bool(wrap))
    input[_tensor_cls()._wrap(mask)] = fill_value
    return input


INPLACE = {n + "_": inplace.method(n, globals()[n]) for n in ("index_put", "put", "index_copy")}
globals().update(INPLACE)
METHODS = ("index_put", "put", "index_copy", "fill_diagonal_") + tuple(INPLACE)
FUNCTIONS = ("index_put", "index_put_", "put", "index_copy")
