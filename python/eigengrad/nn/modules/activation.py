"""Activation layers."""
from __future__ import annotations

from eigengrad.nn import functional as F
from eigengrad.nn.modules.module import Module
from eigengrad.tensor import Tensor


class ReLU(Module):
    """max(x, 0); ``inplace=True`` writes the result into the input, as PyTorch does."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Sigmoid(Module):
    """1 / (1 + exp(-x))."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x)."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Softmax(Module):
    """softmax along ``dim`` (None: PyTorch's implicit choice, with its deprecation warning)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim, _stacklevel=5)


from eigengrad.nn.modules.activation_ext import ELU, GELU, SELU, LeakyReLU, Maxout, PReLU, Softplus  # noqa: E402,F401
from eigengrad.nn.modules.activation_more import (  # noqa: E402,F401
    CELU, GLU, RReLU, SiLU, Hardshrink, Hardsigmoid, Hardswish, Hardtanh, LogSigmoid, Mish, ReLU6, Softmax2d, Softmin,
    Softshrink, Softsign, Tanhshrink, Threshold,
)


def __getattr__(name: str):
    """``MultiheadAttention`` at PyTorch's path (``torch.nn.modules.activation``), imported on first use
    (attention.py needs the layers this module's importers are still defining)."""
    if name == "MultiheadAttention":
        from eigengrad.nn.modules.attention import MultiheadAttention
        return MultiheadAttention
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
