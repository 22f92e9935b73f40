"""``Conv2d``: 2-D convolution with PyTorch's arguments, weight layout and initialisation."""
from __future__ import annotations

import math

import numpy as np

from eigengrad.nn import _functional_conv as FC
from eigengrad.nn import init
from eigengrad.nn.modules.module import Module, check_device, factory_dtype
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor


def _channels(value, name: str) -> int:
    if not FC._is_int(value) or value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


class Conv2d(Module):
    """y = conv2d(x, weight, bias) (see ``nn.functional.conv2d``), weight (out, in / groups, kH, kW).

    ``padding``: int, pair, 'valid' or 'same'; ``padding_mode``: 'zeros' (in the kernel) or 'reflect',
    'replicate', 'circular' (the input is padded first, as PyTorch). Initialisation as PyTorch:
    kaiming_uniform_(a=sqrt(5)) for the weight, so W ~ U[-1/sqrt(fan_in), 1/sqrt(fan_in)] with
    fan_in = in / groups * kH * kW, and the bias ~ U[-1/sqrt(fan_in), 1/sqrt(fan_in)].
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None) -> None:
        super().__init__()
        check_device(device)
        self.in_channels = _channels(in_channels, "in_channels")
        self.out_channels = _channels(out_channels, "out_channels")
        self.groups = _channels(groups, "groups")
        if in_channels % groups:
            raise ValueError(f"groups: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"groups: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in FC.PADDING_MODES:
            raise ValueError(f"padding_mode: expected one of {FC.PADDING_MODES}, got {padding_mode!r}")
        self.kernel_size = FC._pair(kernel_size, "kernel_size")
        self.stride, self.dilation = FC._pair(stride, "stride"), FC._pair(dilation, "dilation")
        self._pad = FC.conv_padding(padding, self.kernel_size, self.stride, self.dilation)  # checks too
        self.padding = padding if isinstance(padding, str) else FC._pair(padding, "padding", minimum=0)
        self.padding_mode = padding_mode
        dtype = factory_dtype(dtype)
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, dtype=dtype))
        self.register_parameter("bias", Parameter(np.empty(self.out_channels, dtype=dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels // self.groups * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode == "zeros":
            return FC.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        FC._input(input)
        padded = FC.pad2d(input, self._pad, self.padding_mode)
        return FC.conv2d(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            s += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s
