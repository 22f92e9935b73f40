"""``Linear`` and ``Identity``."""
from __future__ import annotations

import math

import numpy as np

from eigengrad.nn import functional as F
from eigengrad.nn import init
from eigengrad.nn.modules.module import Module, check_device, factory_dtype
from eigengrad.nn.parameter import Parameter, UninitializedParameter
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError


class Linear(Module):
    """y = x W^T + b (one fused GEMM), W of shape (out_features, in_features) as in PyTorch.

    Default initialisation as PyTorch: W ~ U[-1/sqrt(in), 1/sqrt(in)] (kaiming_uniform_ with a=sqrt(5)),
    b ~ U[-1/sqrt(in), 1/sqrt(in)].
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__()
        check_device(device)
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
                raise ArgumentError(f"{name}: expected a non-negative int, got {v!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = factory_dtype(dtype)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.register_parameter("bias", Parameter(np.empty(out_features, dtype=dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class NonDynamicallyQuantizableLinear(Linear):
    """A Linear under PyTorch's name for MultiheadAttention's ``out_proj`` (the name keeps it out of PyTorch's
    dynamic quantization), so a printed model reads as PyTorch's."""


class Identity(Module):
    """The input itself. Takes and ignores any arguments, as PyTorch's (so that ``norm_layer(dim, eps=1e-6)``
    works with ``norm_layer=nn.Identity``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Bilinear(Module):
    """y_k = x1^T A_k x2 + b_k, A of shape (out_features, in1_features, in2_features) as in PyTorch.

    Default initialisation as PyTorch: A and b ~ U[-1/sqrt(in1), 1/sqrt(in1)].
    """

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        check_device(device)
        for name, v in (("in1_features", in1_features), ("in2_features", in2_features),
                        ("out_features", out_features)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
                raise ArgumentError(f"{name}: expected a non-negative int, got {v!r}")
        self.in1_features, self.in2_features, self.out_features = int(in1_features), int(in2_features), int(out_features)
        dtype = factory_dtype(dtype)
        self.weight = Parameter(np.empty((out_features, in1_features, in2_features), dtype=dtype))
        self.register_parameter("bias", Parameter(np.empty(out_features, dtype=dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] > 0 else 0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(Linear):
    """A ``Linear`` whose ``in_features`` is inferred from the first input (``input.shape[-1]``); it then
    becomes a ``Linear`` (PyTorch's ``cls_to_become``), initialised as ``Linear``. Before that its
    ``weight`` and ``bias`` are empty (0 elements): create the optimizer after the first call (PyTorch
    warns about the same)."""

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(0, out_features, bias, device, dtype)
        self.weight = UninitializedParameter(dtype=self.weight.dtype)
        if self.bias is not None:
            self.bias = UninitializedParameter(dtype=self.bias.dtype)

    def reset_parameters(self) -> None:
        if self.in_features > 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor) -> None:
        """Sets ``in_features`` from ``input`` and materialises the parameters (as PyTorch's)."""
        if input.ndim == 0:
            raise ArgumentError("LazyLinear: expected an input with at least 1 dimension, got a scalar")
        self.in_features = int(input.shape[-1])
        dtype = self.weight.dtype
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dtype))
        if self.bias is not None:
            self.bias = Parameter(np.empty(self.out_features, dtype=dtype))
        super().reset_parameters()
        self.__class__ = Linear

    def forward(self, input: Tensor) -> Tensor:
        self.initialize_parameters(input)  # self is a Linear from now on
        return F.linear(input, self.weight, self.bias)
