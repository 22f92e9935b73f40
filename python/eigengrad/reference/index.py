"""NumPy references of the indexing kernels (``_kernels.gather``, ``scatter_``, ``index_select``,
``index_add_``), PyTorch's semantics: index no larger than x outside ``dim``; updates applied in the order of
the index's positions (C order), so repeated indices accumulate (add) or keep the last write (assign) as the
kernels do."""
from __future__ import annotations

import numpy as np

_OPS = {"assign": lambda a, b: b, "add": np.add, "multiply": np.multiply,
        "amax": lambda a, b: np.where((b > a) | np.isnan(b), b, a),
        "amin": lambda a, b: np.where((b < a) | np.isnan(b), b, a)}


def _coords(index: np.ndarray, dim: int) -> tuple:
    """The full coordinates of every index position, with ``dim`` taken from the index."""
    grid = list(np.indices(index.shape, sparse=False))
    grid[dim] = index
    return tuple(grid)


def gather(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    return x[_coords(index, dim)]


def scatter_(out: np.ndarray, dim: int, index: np.ndarray, src: np.ndarray, reduce: str = "assign") -> np.ndarray:
    """For every index position in C order: out[coords] = op(out[coords], src[position]), in place."""
    src = src[tuple(slice(0, s) for s in index.shape)]
    op = _OPS[reduce]
    coords = _coords(index, dim)
    for pos in np.ndindex(index.shape):
        at = tuple(c[pos] for c in coords)
        out[at] = op(out[at], src[pos])
    return out


def index_select(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    return np.take(x, np.asarray(index).reshape(-1), axis=dim)


def index_add_(out: np.ndarray, dim: int, index: np.ndarray, src: np.ndarray, alpha=1) -> np.ndarray:
    """For j in order: out[..., index[j], ...] += alpha * src[..., j, ...], in place."""
    for j, i in enumerate(np.asarray(index).reshape(-1)):
        target = [slice(None)] * out.ndim
        source = [slice(None)] * out.ndim
        target[dim], source[dim] = int(i), j
        out[tuple(target)] += alpha * src[tuple(source)]
    return out
