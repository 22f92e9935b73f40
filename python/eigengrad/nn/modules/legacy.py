"""PyTorch's legacy module names: ``CrossMapLRN2d`` (Lua Torch's cross-channel LRN), and the deprecated
``NLLLoss2d`` (an ``NLLLoss``) and ``Container`` (a ``Module`` that takes its children as keyword arguments),
which warn as PyTorch does (a FutureWarning on construction and on subclassing)."""
from __future__ import annotations

import warnings

import numpy as np

from eigengrad.nn.modules.loss import NLLLoss
from eigengrad.nn.modules.module import Module

__all__ = ["CrossMapLRN2d", "NLLLoss2d", "Container"]


def _deprecated_class(message: str):
    """PyTorch's ``@deprecated(message, category=FutureWarning)`` on a class: a FutureWarning when the class itself
    is instantiated (pointing at the caller) and when it is subclassed."""

    def wrap(cls):
        def __new__(klass, *args, **kwargs):
            if klass is cls:
                warnings.warn(message, FutureWarning, stacklevel=2)
            return Module.__new__(klass)

        def __init_subclass__(klass, *args, **kwargs):
            warnings.warn(message, FutureWarning, stacklevel=2)
            return super(cls, klass).__init_subclass__(*args, **kwargs)

        cls.__new__ = __new__
        cls.__init_subclass__ = classmethod(__init_subclass__)
        cls.__deprecated__ = message
        return cls

    return wrap


@_deprecated_class("`nn.Container` is deprecated. All of its functionality is now implemented in `nn.Module`. "
                   "Subclass that instead.")
class Container(Module):
    """Deprecated: a ``Module`` with the children given as keyword arguments (``Container(fc=Linear(2, 2))``)."""

    def __init__(self, **kwargs) -> None:
        super().__init__()
        for key, value in kwargs.items():
            self.add_module(key, value)


@_deprecated_class("`NLLLoss2d` has been deprecated. Please use `NLLLoss` instead as a drop-in replacement and see "
                   "https://pytorch.org/docs/main/nn.html#torch.nn.NLLLoss for more details.")
class NLLLoss2d(NLLLoss):
    """Deprecated: ``NLLLoss`` (which takes (N, C, d1, ...) inputs) under its old name."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, ignore_index, reduce, reduction)


def _cross_map_window(channels: int, size: int) -> np.ndarray:
    """The (C, C) 0/1 matrix of the channels whose squares PyTorch's ``CrossMapLRN2d`` sums for each channel.

    Its running sum starts with channels [0, pre_pad) (pre_pad = int((size - 1) / 2 + 1)), then for each next
    channel c adds channel c + pre_pad - 1 (while there is one) and, from c > pre_pad, removes channel c - pre_pad:
    the window [c - pre_pad + 1, c + pre_pad - 1], except that channel 0, never removed, stays in every sum (Lua
    Torch's recurrence, kept by PyTorch; for an even ``size`` the window has size - 1 channels)."""
    pre_pad = int((size - 1) / 2 + 1)
    c = np.arange(channels)[:, None]
    j = np.arange(channels)[None, :]
    m = (j >= c - pre_pad + 1) & (j <= c + pre_pad - 1)
    m[:, 0] = True
    return m.astype(np.float64)


class CrossMapLRN2d(Module):
    """Local response normalisation across the channels of a 4-D input, PyTorch's legacy module:
    y = x * (k + alpha / size * s)^-beta, s the sum of the squares over the channel window of
    :func:`_cross_map_window` (PyTorch's recurrence, including its quirks: channel 0 is in every channel's sum).
    Differentiable (the gradient is that of this forward; PyTorch's hand-written legacy backward assumes a plain
    window and differs from it)."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        from eigengrad import tensor as _tensor

        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
        n, c, h, w = input.shape
        window = _tensor(_cross_map_window(c, self.size), dtype=input.dtype)
        sums = (window @ (input * input).reshape(n, c, h * w)).reshape(n, c, h, w)
        return input * (sums * (self.alpha / self.size) + self.k).pow(-self.beta)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
