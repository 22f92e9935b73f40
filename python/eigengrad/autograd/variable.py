"""``Variable``: PyTorch's pre-0.4 wrapper, kept for old scripts (``from torch.autograd import Variable``).

Since PyTorch 0.4 a Variable is a Tensor: ``Variable(t)`` returns ``t.detach()`` (a new leaf sharing ``t``'s
data and version counter) with ``requires_grad`` as asked, and every tensor is an instance of ``Variable``.
The same holds here."""
from __future__ import annotations

import warnings

from eigengrad.tensor import Tensor


class _VariableMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(data, requires_grad=False, volatile=False)``: ``data.detach()`` (no copy), requiring
    gradients if asked. ``volatile`` only warns, as in PyTorch since 0.4 (use ``no_grad``)."""

    def __new__(cls, data: Tensor, requires_grad: bool = False, volatile: bool = False) -> Tensor:
        if volatile:
            warnings.warn("volatile was removed (Variable.volatile is always False)", UserWarning, stacklevel=2)
        if not isinstance(data, Tensor):
            raise TypeError(f"data: Variable data has to be a tensor, but got {type(data).__name__}")
        return data.detach().requires_grad_(bool(requires_grad))
