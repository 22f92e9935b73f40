"""Convolution layers with PyTorch's arguments, weight layouts and initialisation: ``Conv1d``, ``Conv2d``,
``Conv3d``, ``ConvTranspose1d``, ``ConvTranspose2d``, ``ConvTranspose3d``."""
from __future__ import annotations

import math

import numpy as np

from eigengrad.nn import _functional_conv as FC
from eigengrad.nn import _functional_conv1d as FC1
from eigengrad.nn import _functional_conv3d as FC3
from eigengrad.nn import _functional_conv_transpose as FT
from eigengrad.nn import init
from eigengrad.nn.modules.module import Module, check_device, factory_dtype
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError, ArgumentTypeError


def _channels(value, name: str) -> int:
    if not FC._is_int(value) or value < 1:
        raise ArgumentError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


class _ConvNd(Module):
    """What the convolutions share: options as tuples of ``_dims`` ints, the weight (out, in / groups,
    *kernel) or, transposed, (in, out / groups, *kernel), the bias (out,), and PyTorch's initialisation:
    kaiming_uniform_(a=sqrt(5)), so W ~ U[-1/sqrt(fan_in), 1/sqrt(fan_in)] with fan_in = weight.shape[1] *
    prod(kernel) (in / groups * k, or out / groups * k when transposed), and the bias ~ the same U."""

    _dims = 2
    _transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None, dtype=None, *,
                 output_padding=0) -> None:
        super().__init__()
        check_device(device)
        n = self._dims
        self.in_channels = _channels(in_channels, "in_channels")
        self.out_channels = _channels(out_channels, "out_channels")
        self.groups = _channels(groups, "groups")
        if in_channels % groups:
            raise ArgumentError(f"groups: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ArgumentError(f"groups: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in FC.PADDING_MODES:
            raise ArgumentError(f"padding_mode: expected one of {FC.PADDING_MODES}, got {padding_mode!r}")
        if self._transposed and padding_mode != "zeros":
            raise ArgumentError(f"padding_mode: only 'zeros' padding mode is supported for {type(self).__name__}, "
                             f"got {padding_mode!r}")
        if self._transposed and isinstance(padding, str):
            raise ArgumentTypeError(f"padding: {type(self).__name__} takes an int or a tuple of ints, got {padding!r}")
        self.kernel_size = FC._ntuple(kernel_size, "kernel_size", n)
        self.stride, self.dilation = FC._ntuple(stride, "stride", n), FC._ntuple(dilation, "dilation", n)
        self._pad = FC.conv_padding(padding, self.kernel_size, self.stride, self.dilation)  # checks too
        self.padding = padding if isinstance(padding, str) else FC._ntuple(padding, "padding", n, minimum=0)
        self.output_padding = FC._ntuple(output_padding, "output_padding", n, minimum=0)
        self.padding_mode, self.transposed = padding_mode, self._transposed
        dtype = factory_dtype(dtype)
        fan_dims = (in_channels, out_channels // groups) if self._transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(np.empty(fan_dims + self.kernel_size, dtype=dtype))
        self.register_parameter("bias", Parameter(np.empty(self.out_channels, dtype=dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        if self.padding_mode == "zeros":
            return self._conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        return self._conv(self._pad_input(input), self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self) -> str:
        n = self._dims
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * n:
            s += f", padding={self.padding}"  # PyTorch's: padding=same, unquoted
        if self.dilation != (1,) * n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """y = conv1d(x, weight, bias) (see ``nn.functional.conv1d``), weight (out, in / groups, k).

    ``padding``: int, 1-tuple, 'valid' or 'same'; ``padding_mode``: 'zeros' (in the kernel) or 'reflect',
    'replicate', 'circular' (the input is padded first, as PyTorch). Input (N, C, L) or (C, L).
    """

    _dims = 1
    _conv = staticmethod(FC1.conv1d)

    def _pad_input(self, input: Tensor) -> Tensor:
        FC1._input(input)
        return FC1.height_one(lambda x: FC.pad2d(x, (0, 0) + self._pad, self.padding_mode), input)


class Conv2d(_ConvNd):
    """y = conv2d(x, weight, bias) (see ``nn.functional.conv2d``), weight (out, in / groups, kH, kW).

    ``padding``: int, pair, 'valid' or 'same'; ``padding_mode``: 'zeros' (in the kernel) or 'reflect',
    'replicate', 'circular' (the input is padded first, as PyTorch).
    """

    _conv = staticmethod(FC.conv2d)

    def _pad_input(self, input: Tensor) -> Tensor:
        FC._input(input)
        return FC.pad2d(input, self._pad, self.padding_mode)


class Conv3d(_ConvNd):
    """y = conv3d(x, weight, bias) (see ``nn.functional.conv3d``), weight (out, in / groups, kD, kH, kW).

    ``padding``: int, triple, 'valid' or 'same'; ``padding_mode``: 'zeros' or 'reflect', 'replicate',
    'circular' (the input is padded first, as PyTorch). Input (N, C, D, H, W) or (C, D, H, W).
    """

    _dims = 3
    _conv = staticmethod(FC3.conv3d)

    def _pad_input(self, input: Tensor) -> Tensor:
        FC3._input(input)
        from eigengrad.nn._functional_pad import pad

        p = self._pad  # (front, back, top, bottom, left, right): F.pad takes the last dim first
        return pad(input, (p[4], p[5], p[2], p[3], p[0], p[1]), mode=self.padding_mode)


class _ConvTransposeNd(_ConvNd):
    """A transposed convolution: weight (in, out / groups, *kernel), padding_mode 'zeros' only, and
    ``forward(input, output_size=None)``: output_size (spatial sizes, optionally after N and C) picks the
    output_padding that gives it (PyTorch's rule)."""

    _transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros", device=None,
                 dtype=None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode,
                         device, dtype, output_padding=output_padding)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        return FT.output_padding_for(input, output_size, self.stride, self.padding, self.kernel_size, self.dilation)


class ConvTranspose1d(_ConvTransposeNd):
    """y = conv_transpose1d(x, weight, bias) (see ``nn.functional.conv_transpose1d``), weight
    (in, out / groups, k); input (N, C, L) or (C, L)."""

    _dims = 1

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        FC1._input(input)
        op = self._output_padding(input, output_size)
        return FT.conv_transpose1d(input, self.weight, self.bias, self.stride, self.padding, op, self.groups,
                                   self.dilation)


class ConvTranspose2d(_ConvTransposeNd):
    """y = conv_transpose2d(x, weight, bias) (see ``nn.functional.conv_transpose2d``), weight
    (in, out / groups, kH, kW); input (N, C, H, W) or (C, H, W)."""

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        FC._input(input)
        op = self._output_padding(input, output_size)
        return FT.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding, op, self.groups,
                                   self.dilation)


class ConvTranspose3d(_ConvTransposeNd):
    """y = conv_transpose3d(x, weight, bias) (see ``nn.functional.conv_transpose3d``), weight
    (in, out / groups, kD, kH, kW); input (N, C, D, H, W) or (C, D, H, W)."""

    _dims = 3

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        FC3._input(input)
        op = self._output_padding(input, output_size)
        return FT.conv_transpose3d(input, self.weight, self.bias, self.stride, self.padding, op, self.groups,
                                   self.dilation)


def __getattr__(name: str):
    """The lazy forms at PyTorch's module path (``LazyConv1d/2d/3d``, ``LazyConvTranspose1d/2d``), defined in
    ``lazy.py`` (which imports this one)."""
    if name.startswith("Lazy"):
        from eigengrad.nn.modules import lazy

        if name in lazy.__all__:
            return getattr(lazy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
