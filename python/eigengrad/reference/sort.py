"""NumPy references of the sorting kernels (``_kernels.sort``, ``topk``): stable order along ``dim``, NaN the
largest value (last ascending, first descending), ties of topk in index order."""
from __future__ import annotations

import numpy as np


def _key(x: np.ndarray, descending: bool) -> np.ndarray:
    """A key whose stable ascending argsort is the wanted order (NaN largest; descending by negation, with
    NaN first)."""
    if x.dtype.kind == "f":
        key = np.where(np.isnan(x), np.inf, x).astype(np.float64)
        nan = np.isnan(x)
        if descending:
            return np.stack([~nan, -key])  # NaN first, then larger first
        return np.stack([nan, key])
    key = x.astype(np.int64) if x.dtype.kind in "iub" else x
    return np.stack([np.zeros_like(key, dtype=bool), -key if descending else key])


def sort(x: np.ndarray, dim: int, descending: bool = False, values: bool = True):
    x_moved = np.moveaxis(x, dim, -1)
    key = _key(x_moved, descending)
    idx = np.lexsort((key[1], key[0]), axis=-1) if x_moved.ndim else np.zeros((), np.int64)
    idx = np.moveaxis(idx.astype(np.int64), -1, dim)
    return (np.take_along_axis(x, idx, axis=dim) if values else None), idx


def topk(x: np.ndarray, dim: int, k: int, largest: bool = True):
    vals, idx = sort(x, dim, descending=largest)
    sl = [slice(None)] * x.ndim
    sl[dim] = slice(0, k)
    return vals[tuple(sl)], idx[tuple(sl)]
