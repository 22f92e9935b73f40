"""NumPy references of the reduction kernels (``_kernels.reduce_sum``, ``reduce_var``, ``reduce_norm``): the
same (outer, n, inner) view, reduced over n, in double (the kernels' accumulation type), two-pass variance."""
from __future__ import annotations

import numpy as np


def _as3d(x: np.ndarray, axes: tuple) -> tuple[np.ndarray, tuple]:
    """x with ``axes`` moved last and merged: (kept..., n), and the kept shape."""
    kept = tuple(s for d, s in enumerate(x.shape) if d not in axes)
    n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim))) if axes else x[..., None]
    return np.asarray(moved, dtype=np.float64).reshape(kept + (n,)), kept


def reduce_sum(x: np.ndarray, axes: tuple, scale: float = 1.0) -> np.ndarray:
    """scale * sum of x over ``axes`` (all when empty is not what this takes: pass every axis)."""
    v, _ = _as3d(x, axes)
    return (v.sum(axis=-1) * scale).astype(x.dtype)


def reduce_var(x: np.ndarray, axes: tuple, correction: float, take_sqrt: bool):
    """(variance or standard deviation over ``axes`` with ``correction``, the mean), two-pass in double."""
    v, _ = _as3d(x, axes)
    n = v.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = v.sum(axis=-1) / n
        ss = ((v - mean[..., None]) ** 2).sum(axis=-1)
        var = ss / max(0.0, n - correction)
    return (np.sqrt(var) if take_sqrt else var).astype(x.dtype), mean.astype(x.dtype)


def reduce_norm(x: np.ndarray, axes: tuple, p: float) -> np.ndarray:
    """The p-norm over ``axes``: 2, 1, inf, -inf, 0 (count of nonzeros) or any p, in double."""
    a = np.abs(_as3d(x, axes)[0])
    if np.isinf(p) and a.shape[-1] == 0:  # no output elements: nothing to compute; else undefined, as the kernel
        if a.size == 0 and int(np.prod(a.shape[:-1])) == 0:
            return np.zeros(a.shape[:-1], dtype=x.dtype)
        raise ValueError("x: the max/min norm (p = +-inf) of an empty axis is undefined (the reduced size is 0)")
    if np.isinf(p):
        out = a.max(axis=-1) if p > 0 else a.min(axis=-1)
    elif p == 0:
        out = (a != 0).sum(axis=-1).astype(np.float64)
    elif p == 1:
        out = a.sum(axis=-1)
    elif p == 2:
        out = np.sqrt((a * a).sum(axis=-1))
    else:
        out = (a ** p).sum(axis=-1) ** (1.0 / p)
    return out.astype(x.dtype)


def sum_rows(x: np.ndarray) -> np.ndarray:
    """The sum over the leading axis (``_kernels.sum_rows``, the bias gradient), in double, cast to x's dtype."""
    return np.asarray(x, dtype=np.float64).sum(axis=0).astype(x.dtype)
