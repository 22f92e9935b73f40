"""Pooling layers (PyTorch's names and defaults): ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d``,
``AdaptiveMaxPool2d``, the 1-D ``MaxPool1d``, ``AvgPool1d``, ``AdaptiveAvgPool1d``, ``AdaptiveMaxPool1d`` and the 3-D
``MaxPool3d``, ``AvgPool3d``, ``AdaptiveAvgPool3d``."""
from __future__ import annotations

from eigengrad._errors import ArgumentError
from eigengrad.nn import _functional_conv as FC
from eigengrad.nn import _functional_conv1d as FC1
from eigengrad.nn import _functional_conv3d as FC3
from eigengrad.nn.modules.module import Module
from eigengrad.tensor import Tensor


class _MaxPoolNd(Module):
    """PyTorch's base of the max-pooling layers, for user subclasses: it keeps the options and prints them."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation, self.return_indices, self.ceil_mode = padding, dilation, return_indices, ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool2d(Module):
    """Max over windows (see ``nn.functional.max_pool2d``); stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        FC._pool_args(kernel_size, stride, padding, dilation)  # bad arguments fail here, not at the first call
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride or kernel_size, padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        return FC.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                             self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """Mean over windows (see ``nn.functional.avg_pool2d``); stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        FC._pool_args(kernel_size, stride, padding)
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return FC.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                             self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (an int or a pair; None keeps the input's size)."""

    def __init__(self, output_size) -> None:
        super().__init__()
        FC.adaptive_output_size(output_size, (1, 1))
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return FC.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size (an int or a pair; None keeps the input's size); with
    ``return_indices`` also the flat index (row * W + col) of each maximum."""

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        FC.adaptive_output_size(output_size, (1, 1))
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor):
        return FC.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


# --- 1-D: the 2-D kernels with a height of 1 (nn.functional.max_pool1d, ...) -----------------------------

class MaxPool1d(Module):
    """Max over windows along L (see ``nn.functional.max_pool1d``); stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        FC1._pool_args(kernel_size, stride, padding, dilation, max_pool=True)  # bad arguments fail here, not later
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride or kernel_size, padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        return FC1.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                              self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool1d(Module):
    """Mean over windows along L (see ``nn.functional.avg_pool1d``); stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        FC1._pool_args(kernel_size, stride, padding)
        self.kernel_size = (FC1._single(kernel_size, "kernel_size"),)
        self.stride = self.kernel_size if stride is None else (FC1._single(stride, "stride"),)
        self.padding = (FC1._single(padding, "padding", minimum=0),)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return FC1.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                              self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool1d(Module):
    """Average pooling along L to output_size positions."""

    def __init__(self, output_size) -> None:
        super().__init__()
        FC1._single(output_size, "output_size")
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return FC1.adaptive_avg_pool1d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(Module):
    """Max pooling along L to output_size positions; with ``return_indices`` also their positions."""

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        FC1._single(output_size, "output_size")
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor):
        return FC1.adaptive_max_pool1d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxPool3d(Module):
    """Max over 3-D windows (see ``nn.functional.max_pool3d``); stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices: bool = False,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        FC3._pool3d_args(kernel_size, stride, padding, dilation)
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride or kernel_size, padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor):
        return FC3.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                              self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool3d(Module):
    """Mean over 3-D windows (see ``nn.functional.avg_pool3d``); stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        FC3._pool3d_args(kernel_size, stride, padding)
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return FC3.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                              self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveMaxPool3d(Module):
    """Max pooling to a fixed output size (an int or a triple; None keeps the input's size); with
    ``return_indices`` also the flat index (depth * H * W + row * W + col) of each maximum."""

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor):
        return FC3.adaptive_max_pool3d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool3d(Module):
    """Average pooling to a fixed output size (an int or a triple; None keeps the input's size)."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return FC3.adaptive_avg_pool3d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _MaxUnpoolNd(Module):
    """The inverse of max pooling (see ``nn.functional.max_unpool2d``); stride defaults to kernel_size."""

    _dims = 2

    def __init__(self, kernel_size, stride=None, padding=0) -> None:
        super().__init__()
        n = self._dims
        self.kernel_size = FC._ntuple(kernel_size, "kernel_size", n)
        self.stride = self.kernel_size if stride is None else FC._ntuple(stride, "stride", n)
        self.padding = FC._ntuple(padding, "padding", n, minimum=0)

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        from eigengrad.nn import _functional_pool_extra as FP

        return FP._max_unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size, self._dims)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    _dims = 1


class MaxUnpool2d(_MaxUnpoolNd):
    _dims = 2


class MaxUnpool3d(_MaxUnpoolNd):
    _dims = 3


class _LPPoolNd(Module):
    """Power-average pooling (sum x^p)^(1/p) over windows (see ``nn.functional.lp_pool2d``)."""

    _dims = 2

    def __init__(self, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        from eigengrad.nn import _functional_pool_extra as FP

        return FP._lp_pool(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode, self._dims)

    def extra_repr(self) -> str:
        return f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, ceil_mode={self.ceil_mode}"


class LPPool1d(_LPPoolNd):
    _dims = 1


class LPPool2d(_LPPoolNd):
    _dims = 2


class LPPool3d(_LPPoolNd):
    _dims = 3


class ChannelShuffle(Module):
    """ShuffleNet's channel shuffle into ``groups`` (see ``nn.functional.channel_shuffle``)."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        from eigengrad.nn import _functional_pool_extra as FP

        return FP.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class _FractionalMaxPoolNd(Module):
    """Fractional max pooling (Graham 2014; see ``nn.functional.fractional_max_pool2d``): ``kernel_size``
    windows at pseudo-random starts, to ``output_size`` or ``output_ratio`` (in (0, 1)) of the input's size.
    ``_random_samples`` (a buffer, None by default: drawn at every call) fixes the windows."""

    _dims = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices: bool = False,
                 _random_samples=None) -> None:
        super().__init__()
        n = self._dims
        self.kernel_size = (kernel_size,) * n if isinstance(kernel_size, int) else kernel_size
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = None if output_size is None else \
            (output_size,) * n if isinstance(output_size, int) else output_size
        self.output_ratio = None if output_ratio is None else \
            (output_ratio,) * n if isinstance(output_ratio, (int, float)) else output_ratio
        name = type(self).__name__
        if output_size is None and output_ratio is None:
            raise ArgumentError(f"{name} requires specifying either an output size, or a pooling ratio")
        if output_size is not None and output_ratio is not None:
            raise ArgumentError("only one of output_size and output_ratio may be specified")
        if output_ratio is not None:
            from eigengrad.nn import _functional_fractional as FF

            FF._ratios(output_ratio, n, name)  # (PyTorch's check at construction: in (0, 1))

    def forward(self, input: Tensor):
        from eigengrad.nn import _functional_fractional as FF

        return FF._fractional(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                              self._random_samples, self._dims)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    _dims = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    _dims = 3
