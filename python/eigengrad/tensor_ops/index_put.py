"""Writes at indices, out of place and in place: ``index_put``/``index_put_`` (with ``accumulate``), ``put``/
``put_`` (flat indices), ``index_copy``/``index_copy_``, ``fill_diagonal_``. Built from item assignment and
``index_add`` (differentiable w.r.t. the tensor and the values, as PyTorch's)."""
from __future__ import annotations

import numpy as np

from eigengrad import _trace
from eigengrad._errors import ArgumentError, ArgumentIndexError, ArgumentTypeError
from eigengrad.autograd import inplace
from eigengrad.autograd.ops import numpy_call, numpy_check
from eigengrad.tensor_ops import _dims


def _tensor_cls():
    from eigengrad.tensor import Tensor

    return Tensor


def _positions(input, indices) -> tuple:
    """The index tensors as int64 arrays over the leading dims (a bool mask stands for its nonzero positions,
    one array per dim it covers), broadcast together, negative positions counted from the end. Computed
    through numpy_call, one array per dim, so that a compiled step checks and computes them at every call."""
    arrays = [np.asarray(i._data if hasattr(i, "_data") else i) for i in indices]
    if any(a.dtype.kind == "b" for a in arrays):
        _trace.reject("index_put/index_put_ with a boolean mask: the positions' count depends on the mask's values")
    pos = _position_arrays(input.shape, *arrays)
    if _trace.ACTIVE[0] is None:
        return pos
    return tuple(numpy_call(_position, input.shape, d, *arrays) for d in range(len(pos)))


def _position(shape: tuple, d: int, *arrays) -> np.ndarray:
    return _position_arrays(shape, *arrays)[d]


def _position_arrays(shape: tuple, *arrays) -> tuple:
    positions, dim = [], 0
    for a in arrays:
        if a.dtype.kind == "b":
            positions.extend(np.nonzero(a))
            dim += a.ndim
            continue
        if a.dtype.kind not in "iu":
            raise ArgumentError("tensors used as indices must be long, int, byte or bool tensors")
        positions.append(a.astype(np.int64))
        dim += 1
    if dim > len(shape):
        raise ArgumentIndexError(f"too many indices for tensor of dimension {len(shape)} (got {dim})")
    try:
        positions = np.broadcast_arrays(*positions) if positions else []
    except ValueError:
        raise ArgumentIndexError("shape mismatch: indexing tensors could not be broadcast together with shapes "
                                 + ", ".join(str(list(a.shape)) for a in positions)) from None
    out = []
    for d, a in enumerate(positions):
        n = shape[d]
        if a.size and (a.min() < -n or a.max() >= n):
            bad = a[(a < -n) | (a >= n)].reshape(-1)[0]
            raise IndexError(f"index {bad} is out of bounds for dimension {d} with size {n}")
        out.append(np.where(a < 0, a + n, a))
    return tuple(out)


def _flat_positions(lead: tuple, *positions) -> np.ndarray:
    """The row of each position in the leading dims ``lead`` flattened (index_put's accumulate)."""
    return np.ravel_multi_index(positions, lead).reshape(-1) if positions else np.zeros(1, np.int64)


def index_put(input, indices, values, accumulate: bool = False):
    """A copy of ``input`` with ``values`` at ``indices`` (a tuple of index tensors over the leading dims);
    ``accumulate`` adds them instead, repeated positions adding up."""
    Tensor = _tensor_cls()
    if isinstance(values, Tensor) and values._data.dtype != input._data.dtype:
        from eigengrad.tensor_ops.index import _scalar_name

        raise ArgumentTypeError(f"Index put requires the source and destination dtypes match, got "
                                f"{_scalar_name(input._data.dtype)} for the destination and "
                                f"{_scalar_name(values._data.dtype)} for the source.")
    if not isinstance(values, Tensor):
        values = Tensor._wrap(numpy_call(np.asarray, values, dtype=input._data.dtype))
    indices = tuple(indices)
    if not accumulate and any(np.asarray(getattr(i, "_data", i)).dtype.kind == "b" for i in indices):
        out = input.clone()  # a mask: item assignment, which a compiled step replays as a masked write
        out[tuple(i if isinstance(i, Tensor) else Tensor._wrap(np.asarray(i)) for i in indices)] = values
        return out
    pos = _positions(input, indices)
    if not accumulate:
        out = input.clone()
        out[tuple(Tensor._wrap(p) for p in pos)] = values
        return out
    k = len(pos)
    lead, rest = input.shape[:k], tuple(input.shape[k:])
    flat = numpy_call(_flat_positions, lead, *pos)
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
    numpy_check(_check_copy_index, np.asarray(index._data if hasattr(index, "_data") else index), n, d)
    if input.ndim == 0:  # one slice: the element, as a 1-element tensor
        return index_copy(input.reshape(1), 0, index, source.reshape(-1) if hasattr(source, "_data") else source
                          ).reshape(())
    out = input.clone()
    out[(slice(None),) * d + (index.reshape(-1),)] = source
    return out


def _check_copy_index(index: np.ndarray, n: int, d: int) -> None:
    """index_copy's positions in [0, n): PyTorch's index_copy counts none from the end."""
    flat = index.reshape(-1)
    bad = (flat < 0) | (flat >= n)
    if bad.any():
        raise ArgumentIndexError(f"index_copy_(): index {int(flat[np.argmax(bad)])} is out of bounds for dimension {d} "
                                 f"with size {n}")


def _diagonal_mask(shape: tuple, wrap: bool) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    np.fill_diagonal(mask, True, wrap=wrap)
    return mask


def fill_diagonal_(input, fill_value, wrap: bool = False):
    """Fills the main diagonal (all dims of equal length, or a 2-D matrix) in place; ``wrap``: a tall
    matrix's diagonal starts again every N + 1 rows, as NumPy's fill_diagonal."""
    if input.ndim < 2:
        raise ArgumentError("dimensions must larger than 1")
    if input.ndim > 2 and len(set(input.shape)) != 1:
        raise ArgumentError("all dimensions of input must be of equal length")
    input[_tensor_cls()._wrap(numpy_call(_diagonal_mask, tuple(input.shape), bool(wrap)))] = fill_value
    return input


INPLACE = {n + "_": inplace.method(n, globals()[n]) for n in ("index_put", "put", "index_copy")}
globals().update(INPLACE)
METHODS = ("index_put", "put", "index_copy", "fill_diagonal_") + tuple(INPLACE)
FUNCTIONS = ("index_put", "index_put_", "put", "index_copy")
