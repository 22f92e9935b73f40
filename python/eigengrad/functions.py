"""PyTorch's free functions (``torch.exp(x)``, ``torch.cat([...])``, ...) over eigengrad tensors."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from eigengrad._dims import wrap_dim
from eigengrad.autograd import ops_combine
from eigengrad.tensor import Tensor, as_tensor


def _t(x) -> Tensor:
    return x if isinstance(x, Tensor) else as_tensor(x)


def exp(x): return _t(x).exp()
def log(x): return _t(x).log()
def sqrt(x): return _t(x).sqrt()
def abs(x): return _t(x).abs()
def relu(x): return _t(x).relu()
def sigmoid(x): return _t(x).sigmoid()
def tanh(x): return _t(x).tanh()
def neg(x): return -_t(x)
def add(a, b): return _t(a) + b
def sub(a, b): return _t(a) - b
def mul(a, b): return _t(a) * b
def div(a, b): return _t(a) / b
def pow(a, b): return _t(a) ** b
def matmul(a, b): return _t(a) @ b
def maximum(a, b): return _t(a).maximum(b)
def sum(x, dim=None, keepdim=False): return _t(x).sum(dim, keepdim)
def mean(x, dim=None, keepdim=False): return _t(x).mean(dim, keepdim)
def max(x, dim=None, keepdim=False): return _t(x).max(dim, keepdim)
def min(x, dim=None, keepdim=False): return _t(x).min(dim, keepdim)
def amax(x, dim=None, keepdim=False): return _t(x).amax(dim, keepdim)
def amin(x, dim=None, keepdim=False): return _t(x).amin(dim, keepdim)
def argmax(x, dim=None, keepdim=False): return _t(x).argmax(dim, keepdim)
def argmin(x, dim=None, keepdim=False): return _t(x).argmin(dim, keepdim)
def softmax(x, dim): return _t(x).softmax(dim)
def log_softmax(x, dim): return _t(x).log_softmax(dim)
def reshape(x, shape): return _t(x).reshape(shape)
def flatten(x, start_dim=0, end_dim=-1): return _t(x).flatten(start_dim, end_dim)
def transpose(x, dim0, dim1): return _t(x).transpose(dim0, dim1)
def permute(x, dims): return _t(x).permute(dims)
def unsqueeze(x, dim): return _t(x).unsqueeze(dim)
def squeeze(x, dim=None): return _t(x).squeeze(dim)


def _tensors(tensors: Sequence, name: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(f"{name}: expected a non-empty list or tuple of tensors")
    return [_t(t) for t in tensors]


def cat(tensors: Sequence, dim: int = 0) -> Tensor:
    """Concatenate tensors along an existing dimension (``torch.cat``)."""
    ts = _tensors(tensors, "tensors")
    ndim = ts[0].ndim
    if any(t.ndim != ndim for t in ts) or ndim == 0:
        raise ValueError(f"tensors: expected tensors with the same number (>= 1) of dimensions, got "
                         f"{[t.shape for t in ts]}")
    return ops_combine.Cat.apply(*ts, dim=wrap_dim(dim, ndim))


def stack(tensors: Sequence, dim: int = 0) -> Tensor:
    """Stack tensors of one shape along a new dimension (``torch.stack``)."""
    ts = _tensors(tensors, "tensors")
    if any(t.shape != ts[0].shape for t in ts):
        raise ValueError(f"tensors: stack expects each tensor to be equal size, got {[t.shape for t in ts]}")
    return ops_combine.Stack.apply(*ts, dim=wrap_dim(dim, ts[0].ndim + 1))


def where(condition, input, other) -> Tensor:
    """``input`` where ``condition`` is true, else ``other`` (``torch.where``), with broadcasting."""
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"condition: expected a bool tensor, got dtype {cond.dtype}")
    return ops_combine.Where.apply(input, other, condition=cond)
