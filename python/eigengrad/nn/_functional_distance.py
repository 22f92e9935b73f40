"""Distances and normalisation in functional form (re-exported by ``eigengrad.nn.functional``):
``normalize``, ``cosine_similarity``, ``pairwise_distance``, ``pdist``, with PyTorch's eps rules. Composed of
differentiable tensor operations (first- and second-order gradients come with them)."""
from __future__ import annotations

import numbers

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentTypeError
from eigengrad.nn._functional_activation import _tensor
from eigengrad.tensor import Tensor


def _p(p, name: str = "p") -> float:
    if not isinstance(p, numbers.Real) or isinstance(p, bool):  # PyTorch: RuntimeError ("Order a not supported")
        raise ArgumentTypeError(f"{name}: expected a real number, got {type(p).__name__}")
    return float(p)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """x / max(||x||_p, eps) along ``dim`` (PyTorch: the norm is clamped below at eps)."""
    x = _tensor(input)
    if out is not None:
        raise TypeError("out: eigengrad's normalize does not write into an out tensor; assign the result instead")
    denom = x.norm(_p(p), dim, keepdim=True).clamp(min=eps)
    return x / denom.expand_as(x)


def _broadcast(x1: Tensor, x2: Tensor) -> tuple:
    shape = np.broadcast_shapes(x1.shape, x2.shape)
    return (x1 if x1.shape == shape else x1.expand(*shape)), (x2 if x2.shape == shape else x2.expand(*shape))


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1 . x2 / (max(||x1||, eps) max(||x2||, eps)) along ``dim`` (x1, x2 broadcast; PyTorch's rule: each
    norm is clamped at eps separately)."""
    _tensor(x1, "x1"), _tensor(x2, "x2")
    try:
        a, b = _broadcast(x1, x2)
    except ValueError:  # PyTorch's message, naming the first mismatched dim
        from eigengrad.autograd.function import _broadcast_error
        raise _broadcast_error([x1._data, x2._data]) from None
    from eigengrad.autograd.ops import ClampMinStraight  # (PyTorch clamps under no_grad: the norm's own gradient)

    na = ClampMinStraight.apply(a.norm(2, dim, keepdim=True), float(eps))
    nb = ClampMinStraight.apply(b.norm(2, dim, keepdim=True), float(eps))
    return ((a / na) * (b / nb)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim (PyTorch adds eps to the difference, so equal rows give a
    positive distance with a gradient)."""
    _tensor(x1, "x1"), _tensor(x2, "x2")
    ndim = max(x1.ndim, x2.ndim)
    diff = x1 - x2 + eps
    if ndim == 0:
        return diff.abs() if _p(p) != 0 else (diff != 0).to(diff.dtype)
    return diff.norm(_p(p), ndim - 1, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between the rows of ``input`` (N, M), the upper triangle row by row:
    N (N - 1) / 2 values, ||x_i - x_j||_p for i < j."""
    x = _tensor(input)
    if x.ndim != 2:
        raise ArgumentError(f"pdist only supports 2D tensors, got: {x.ndim}D")
    p = _p(p)
    if p < 0:
        raise ArgumentError("pdist only supports non-negative p values")
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"pdist only supports floating-point dtypes, got {x.dtype}")
    i, j = np.triu_indices(x.shape[0], 1)
    rows = Tensor._wrap(i.astype(np.int64)), Tensor._wrap(j.astype(np.int64))
    diff = x.index_select(0, rows[0]) - x.index_select(0, rows[1])
    if x.shape[1] == 0:  # (the norm of an empty vector is 0 for every p, the inf norm too, as PyTorch's pdist)
        return diff.sum(1)
    return diff.norm(p, 1)
