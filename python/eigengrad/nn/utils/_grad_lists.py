"""Gradient arrays of a list of parameters, ready for one kernel call per dtype.

The clipping kernels take a list of arrays of one dtype and treat them as one vector. When the
gradients are the views of an optimizer's gradient buffer (``ParamArena.grad``, see
``eigengrad.optim.arena``) and together cover it exactly, the buffer itself is passed instead: one long
segment, checked once.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from eigengrad.tensor import Tensor


def tensor_list(tensors: Tensor | Iterable[Tensor], name: str) -> list[Tensor]:
    """``tensors`` as a list without repeats (a Tensor listed twice is clipped once, not twice)."""
    if isinstance(tensors, Tensor):
        return [tensors]
    if isinstance(tensors, np.ndarray) or not isinstance(tensors, Iterable):
        raise TypeError(f"{name}: expected a Tensor or an iterable of Tensors, got {type(tensors).__name__}")
    out, seen = [], set()
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected a Tensor or an iterable of Tensors, got {type(t).__name__} "
                            f"at position {i}")
        if id(t) not in seen:
            seen.add(id(t))
            out.append(t)
    return out


def writable_grads(params: list[Tensor], name: str) -> list[np.ndarray]:
    """The gradient arrays of ``params`` (None skipped), checked for in-place use: a gradient that is
    strided or read-only is refused, never scaled through a copy that would then be thrown away."""
    grads, seen = [], set()
    for i, p in enumerate(params):
        if p.grad is None:
            continue
        g = p.grad._data
        if not g.flags.c_contiguous:
            raise ValueError(f"{name}[{i}].grad: expected a C-contiguous gradient (it is modified in place), "
                             f"got strides {g.strides} for shape {g.shape}")
        if not g.flags.writeable:
            raise ValueError(f"{name}[{i}].grad: expected a writeable gradient (it is modified in place), "
                             "got a read-only array")
        if id(g) not in seen:
            seen.add(id(g))
            grads.append(g)
    return grads


def by_dtype(arrays: list[np.ndarray]) -> list[list[np.ndarray]]:
    """The arrays grouped by dtype (first-seen order), each group with flat-buffer views collapsed."""
    groups: dict = {}
    for a in arrays:
        groups.setdefault(a.dtype, []).append(a)
    return [collapse_views(g) for g in groups.values()]


def collapse_views(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Replace views that together tile one 1-D buffer exactly by that buffer (the fast path)."""
    members: dict = {}
    for a in arrays:
        b = a.base
        if isinstance(b, np.ndarray) and b.ndim == 1 and b.dtype == a.dtype and b.flags.c_contiguous:
            members.setdefault(id(b), (b, []))[1].append(a)
    tiled = {k for k, (b, ms) in members.items() if _tiles(b, ms)}
    out, emitted = [], set()
    for a in arrays:
        k = id(a.base)
        if k in tiled:
            if k not in emitted:
                emitted.add(k)
                out.append(a.base)
        else:
            out.append(a)
    return out


def _tiles(base: np.ndarray, views: list[np.ndarray]) -> bool:
    """True when the contiguous ``views`` cover ``base`` exactly, each element once."""
    if sum(v.size for v in views) != base.size or not base.flags.writeable:
        return False
    start = base.__array_interface__["data"][0]
    spans = sorted(((v.__array_interface__["data"][0] - start) // base.itemsize, v.size, v.flags.c_contiguous)
                   for v in views)
    end = 0
    for offset, size, contiguous in spans:
        if offset != end or not contiguous:
            return False
        end += size
    return end == base.size
