"""Padding layers (``torch.nn`` ZeroPad/ConstantPad/ReflectionPad/ReplicationPad/CircularPad 1d-3d) over
``F.pad``, with PyTorch's arguments and ``extra_repr``."""
from __future__ import annotations

import numbers

from eigengrad.nn import functional as F
from eigengrad.nn.modules.module import Module
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError


def _padding(padding, n: int) -> tuple:
    """An int (the same on every side) or PyTorch's tuple of 2n sizes (last dim first)."""
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        return (int(padding),) * (2 * n)
    pads = tuple(padding)
    if len(pads) != 2 * n:
        raise ArgumentError(f"padding: expected an int or a tuple of {2 * n} ints, got {padding!r}")
    return pads


class _Pad(Module):
    _sides = 1  # the number of padded dims
    _mode = "constant"

    def __init__(self, padding) -> None:
        super().__init__()
        self.padding = _padding(padding, self._sides)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_Pad):
    def __init__(self, padding, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pads the last dim with ``value``."""


class ConstantPad2d(_ConstantPadNd):
    """Pads the last 2 dims with ``value``."""

    _sides = 2


class ConstantPad3d(_ConstantPadNd):
    """Pads the last 3 dims with ``value``."""

    _sides = 3


class ZeroPad1d(ConstantPad1d):
    """Pads the last dim with zeros."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pads the last 2 dims with zeros."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad3d(ConstantPad3d):
    """Pads the last 3 dims with zeros."""

    def __init__(self, padding) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


def _make(mode: str, sides: int, doc: str) -> type:
    name = {"reflect": "ReflectionPad", "replicate": "ReplicationPad", "circular": "CircularPad"}[mode] + f"{sides}d"
    return type(name, (_Pad,), {"_sides": sides, "_mode": mode, "__doc__": doc, "__module__": __name__})


ReflectionPad1d = _make("reflect", 1, "Pads the last dim with its reflection (the edge not repeated).")
ReflectionPad2d = _make("reflect", 2, "Pads the last 2 dims with their reflection (the edge not repeated).")
ReflectionPad3d = _make("reflect", 3, "Pads the last 3 dims with their reflection (the edge not repeated).")
ReplicationPad1d = _make("replicate", 1, "Pads the last dim by repeating its edge value.")
ReplicationPad2d = _make("replicate", 2, "Pads the last 2 dims by repeating their edge values.")
ReplicationPad3d = _make("replicate", 3, "Pads the last 3 dims by repeating their edge values.")
CircularPad1d = _make("circular", 1, "Pads the last dim with its other end (wrap-around).")
CircularPad2d = _make("circular", 2, "Pads the last 2 dims with their other ends (wrap-around).")
CircularPad3d = _make("circular", 3, "Pads the last 3 dims with their other ends (wrap-around).")
