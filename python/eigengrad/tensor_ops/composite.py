"""Operations built from the differentiable ones (no primitive of their own, so first- and second-order
gradients come with them): ``repeat_interleave``, ``meshgrid``, ``cartesian_prod``, ``block_diag``,
``kron``, ``tensordot``, ``cross``, ``cdist``, ``diff``."""
from __future__ import annotations

import builtins
import numbers
import warnings

import numpy as np

from eigengrad import _trace
from eigengrad._errors import ArgumentError, ArgumentTypeError
from eigengrad.autograd.ops import numpy_call
from eigengrad.tensor_ops import _dims
from eigengrad.tensor_ops.arithmetic import cast


def _tensor_cls():
    from eigengrad.tensor import Tensor

    return Tensor


def _tensors(tensors: tuple, name: str) -> list:
    """``f(a, b, c)`` or ``f([a, b, c])``, as PyTorch's variadic functions take them."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        if not isinstance(t, _tensor_cls()):
            raise ArgumentTypeError(f"{name}(): expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    return list(tensors)


_BY_COUNTS = "its result's shape depends on the counts' values"


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (each slice along ``dim``; of the flattened input when ``dim`` is None) repeated
    ``repeats`` times (an int, or one count per element). ``repeat_interleave(counts)`` alone gives
    ``arange(len(counts))`` repeated by ``counts``."""
    if repeats is None:  # torch.repeat_interleave(repeats)
        _trace.reject(f"repeat_interleave(counts) inside the step: {_BY_COUNTS}")
        counts = input._data
        if counts.ndim != 1 or counts.dtype.kind not in "iu":
            raise ArgumentError("repeat_interleave only accept 1D vector as repeat")
        return _tensor_cls()._wrap(np.repeat(np.arange(counts.size, dtype=np.int64), _counts(counts)))
    x = input.reshape(-1) if dim is None else input
    d = 0 if dim is None else _dims.wrap(dim, x.ndim)
    n = x.shape[d] if x.ndim else 1
    if isinstance(repeats, numbers.Integral):
        if int(repeats) < 0:
            raise ArgumentError("repeats can not be negative")
        # the index depends on the shape only: through numpy_call, a compiled step makes it at every call
        index = numpy_call(_repeat_index, n, int(repeats))
    else:
        if hasattr(repeats, "_data"):
            _trace.reject(f"repeat_interleave() with a tensor of repeats inside the step: {_BY_COUNTS}")
        counts = np.asarray(getattr(repeats, "_data", repeats))
        if counts.ndim == 0 or counts.size == 1:
            counts = np.full(n, int(counts.reshape(-1)[0]), dtype=np.int64)
        elif counts.ndim != 1:
            raise ArgumentError("repeats must be 0-dim or 1-dim tensor")
        elif counts.size != n:
            raise ArgumentError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                                f"{counts.size} and input.size({d}) = {n}")
        index = np.repeat(np.arange(n, dtype=np.int64), _counts(counts))
    if output_size is not None and int(output_size) != index.size:
        raise ArgumentError(f"output_size: expected {index.size} (the sum of repeats), got {output_size}")
    from eigengrad.tensor_ops.index import index_select

    return index_select(x if x.ndim else x.reshape(1), d, _tensor_cls()._wrap(index))


def _repeat_index(n: int, repeats: int) -> np.ndarray:
    return np.repeat(np.arange(n, dtype=np.int64), repeats)


def _counts(counts: np.ndarray) -> np.ndarray:
    if counts.dtype.kind not in "iu":
        raise ArgumentTypeError(f"repeats: expected an integer tensor, got dtype {counts.dtype}")
    if counts.size and counts.min() < 0:
        raise ArgumentError("repeats can not be negative")
    return counts


def meshgrid(*tensors, indexing: str | None = None):
    """Coordinate grids from 0-D/1-D tensors (expanded views): with indexing 'ij' output i varies along dim
    i; with 'xy' the first two dims are swapped (matrix vs Cartesian indexing). Without ``indexing``, 'ij'
    and PyTorch's warning."""
    ts = _tensors(tensors, "meshgrid")
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ArgumentError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for t in ts:
        if t.ndim > 1:
            raise ArgumentError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t.ndim}D")
    if len({t._data.dtype for t in ts}) > 1:
        raise ArgumentError("meshgrid expects all tensors to have the same dtype")
    swap = indexing == "xy" and len(ts) >= 2
    order = [1, 0] + list(range(2, len(ts))) if swap else list(range(len(ts)))
    flat = [ts[i].reshape(-1) for i in order]
    sizes = tuple(t.shape[0] for t in flat)
    grids = []
    for axis, t in enumerate(flat):
        shape = [1] * len(flat)
        shape[axis] = sizes[axis]
        grids.append(t.reshape(*shape).expand(*sizes))
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def cartesian_prod(*tensors):
    """Every combination of the 1-D tensors' elements, one per row (itertools.product order)."""
    ts = _tensors(tensors, "cartesian_prod")
    if len(ts) == 1:
        return ts[0]
    from eigengrad.tensor_ops.shape import stack

    return stack([g.reshape(-1) for g in meshgrid(*ts, indexing="ij")], dim=1)


def block_diag(*tensors):
    """The 0-D, 1-D (one row) and 2-D tensors on the diagonal of one matrix, zero elsewhere (dtypes promoted)."""
    ts = _tensors(tensors, "block_diag")
    from eigengrad.tensor_ops.shape import cat

    if not ts:
        return _tensor_cls()._wrap(np.zeros((1, 0), dtype=np.float32))
    for i, t in enumerate(ts):
        if t.ndim > 2:
            raise ArgumentError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                                f"{t.ndim} dimensions")
    from eigengrad._dtype import promote_types

    dt = ts[0]._data.dtype
    for t in ts[1:]:  # (PyTorch promotes the dtypes alone: a 0-d float64 block makes a float64 matrix)
        dt = promote_types(dt, t._data.dtype)
    blocks = [cast(t, dt).reshape(1 if t.ndim < 2 else t.shape[0], -1 if t.ndim else 1) for t in ts]
    width = builtins.sum(b.shape[1] for b in blocks)
    rows, left = [], 0
    for b in blocks:
        r, c = b.shape
        zeros = lambda n: _tensor_cls()._wrap(np.zeros((r, n), dtype=dt))  # noqa: E731
        rows.append(cat([zeros(left), b, zeros(width - left - c)], dim=1))
        left += c
    return cat(rows, dim=0)


def kron(input, other):
    """The Kronecker product: out[i * other.shape + j] = input[i] * other[j] (shapes padded with leading 1s)."""
    nd = builtins.max(input.ndim, other.ndim)
    a = input.reshape(*((1,) * (nd - input.ndim) + tuple(input.shape)))
    b = other.reshape(*((1,) * (nd - other.ndim) + tuple(other.shape)))
    a_shape = [s for d in range(nd) for s in (a.shape[d], 1)]
    b_shape = [s for d in range(nd) for s in (1, b.shape[d])]
    out = a.reshape(*a_shape) * b.reshape(*b_shape)
    return out.reshape(*(a.shape[d] * b.shape[d] for d in range(nd)))


def tensordot(a, b, dims=2, out=None):
    """Sums the products over ``dims``: an int n (a's last n dims with b's first n) or two lists of dims."""
    if isinstance(dims, numbers.Integral):
        if dims < 0:
            raise ArgumentError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > builtins.min(a.ndim, b.ndim):
            raise ArgumentError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, numbers.Integral) else list(d) for d in dims)
        if len(da) != len(db):
            raise ArgumentError("both dimension lists should have same length")
        da, db = [_dims.wrap(d, a.ndim) for d in da], [_dims.wrap(d, b.ndim) for d in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise ArgumentError(f"contracted dimensions need to match, but first has size {a.shape[i]} in dim {i} "
                                f"and second has size {b.shape[j]} in dim {j}")
    free_a = [d for d in range(a.ndim) if d not in da]
    free_b = [d for d in range(b.ndim) if d not in db]
    k = int(np.prod([a.shape[d] for d in da], dtype=np.int64))
    # the free sizes explicitly, not -1: with k = 0 (an empty contracted dim) -1 is ambiguous
    am = a.permute(*free_a, *da).reshape(int(np.prod([a.shape[d] for d in free_a], dtype=np.int64)), k)
    bm = b.permute(*db, *free_b).reshape(k, int(np.prod([b.shape[d] for d in free_b], dtype=np.int64)))
    from eigengrad.tensor_ops.products import mm

    result = mm(am, bm).reshape(*[a.shape[d] for d in free_a], *[b.shape[d] for d in free_b])
    if out is not None:
        from eigengrad.tensor_ops import _out

        return _out.write(result, out)
    return result


def cross(input, other, dim=None):
    """The cross product of 3-vectors along ``dim`` (None: the first dim of size 3, with PyTorch's warning;
    ``linalg.cross`` takes dim=-1). Broadcasts."""
    from eigengrad.tensor_ops.shape import stack

    a, b = input, other
    if a.ndim != b.ndim:
        raise ArgumentError(f"linalg.cross: inputs must have the same number of dimensions.")
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=2)
        sizes3 = [i for i, s in enumerate(shape) if s == 3]
        if not sizes3:
            raise ArgumentError("no dimension of size 3 in input")
        dim = sizes3[0]
    d = _dims.wrap(dim, len(shape))
    if shape[d] != 3 or a.shape[d] != 3 or b.shape[d] != 3:
        raise ArgumentError(f"linalg.cross: inputs dimension {d} must have length 3. Got {a.shape[d]} and "
                            f"{b.shape[d]}")
    a, b = a.expand(*shape), b.expand(*shape)
    x = [a.select(d, i) for i in range(3)]
    y = [b.select(d, i) for i in range(3)]
    return stack([x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]], dim=d)


def cdist(x1, x2, p: float = 2.0, compute_mode=None):
    """The p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M): (..., P, R).
    Computed directly (no ||a||^2 + ||b||^2 - 2ab shortcut, which loses the small distances); the gradient at a
    zero distance is zero, as PyTorch's."""
    for name, t in (("x1", x1), ("x2", x2)):
        if t.ndim < 2:
            raise ArgumentError(f"cdist only supports at least 2D tensors, {t.ndim == 1 and 'X1' or 'X2'} got: {t.ndim}D")
        if t._data.dtype.kind != "f":
            raise ArgumentTypeError(f"cdist only supports floating-point dtypes, {name} got: {t._data.dtype}")
    if x1.shape[-1] != x2.shape[-1]:
        raise ArgumentError(f"X1 and X2 must have the same number of columns. X1: {x1.shape[-1]} X2: {x2.shape[-1]}")
    if p < 0:
        raise ArgumentError(f"cdist only supports non-negative p values")
    from eigengrad.tensor_ops.reduce import vector_norm

    return vector_norm(x1.unsqueeze(-2) - x2.unsqueeze(-3), float(p), dim=-1)


def diff(input, n: int = 1, dim: int = -1, prepend=None, append=None):
    """The n-th forward difference along ``dim`` (after ``prepend``/``append`` are joined on); bools give
    ``!=`` of neighbours, as PyTorch."""
    from eigengrad.tensor_ops.shape import cat

    if input.ndim == 0:
        raise ArgumentError("diff expects input to be at least one-dimensional")
    if int(n) < 0:
        raise ArgumentError(f"order must be non-negative but got {int(n)}")
    if int(n) == 0:  # PyTorch returns the input itself, prepend and append ignored
        return input
    d = _dims.wrap(dim, input.ndim)
    x = cat([t for t in (prepend, input, append) if t is not None], dim=d) if (prepend is not None or
                                                                               append is not None) else input
    for _ in range(int(n)):
        if x.shape[d] == 0:
            break
        hi, lo = x.narrow(d, 1, x.shape[d] - 1), x.narrow(d, 0, x.shape[d] - 1)
        x = hi != lo if x._data.dtype.kind == "b" else hi - lo
    return x


METHODS = ("repeat_interleave", "kron", "cross", "diff")
FUNCTIONS = METHODS + ("meshgrid", "cartesian_prod", "block_diag", "tensordot", "cdist")
