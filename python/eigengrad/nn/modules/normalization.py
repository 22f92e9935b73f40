"""``LayerNorm``, ``GroupNorm`` and ``LocalResponseNorm`` with PyTorch's arguments and parameters."""
from __future__ import annotations

import numpy as np

from eigengrad.nn import functional as F
from eigengrad.nn.modules.module import Module, check_device, factory_dtype
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError


def _positive_int(value, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ArgumentError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


class LayerNorm(Module):
    """Layer norm over the trailing dims ``normalized_shape`` (Ba, Kiros & Hinton, 2016):
    y = (x - mean) / sqrt(var + eps) * weight + bias, with ``weight`` (ones) and ``bias`` (zeros) of
    shape ``normalized_shape`` when ``elementwise_affine`` (``bias=False``: no bias)."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        check_device(device)
        shape = F._normalized_shape(normalized_shape)
        if not shape or any(s < 0 for s in shape):
            raise ArgumentError("normalized_shape: expected a non-empty shape of non-negative sizes, got "
                                f"{normalized_shape!r}")
        self.normalized_shape = shape
        self.eps, self.elementwise_affine = eps, bool(elementwise_affine)
        dtype = factory_dtype(dtype)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(shape, dtype=dtype))
            self.register_parameter("bias", Parameter(np.zeros(shape, dtype=dtype)) if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            self.weight._data[...] = 1
            if self.bias is not None:
                self.bias._data[...] = 0

    def forward(self, input: Tensor) -> Tensor:
        p = self._parameters
        return F.layer_norm(input, self.normalized_shape, p["weight"], p["bias"], self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Group norm (Wu & He, 2018): the ``num_channels`` channels in ``num_groups`` groups, statistics per
    (sample, group), ``weight`` (ones) and ``bias`` (zeros) per channel when ``affine``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:
        super().__init__()
        check_device(device)
        self.num_groups = _positive_int(num_groups, "num_groups")
        self.num_channels = _positive_int(num_channels, "num_channels")
        if self.num_channels % self.num_groups:
            raise ArgumentError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.eps, self.affine = eps, bool(affine)
        dtype = factory_dtype(dtype)
        if self.affine:
            self.weight = Parameter(np.ones(self.num_channels, dtype=dtype))
            self.register_parameter("bias", Parameter(np.zeros(self.num_channels, dtype=dtype)) if bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.affine:
            self.weight._data[...] = 1
            if self.bias is not None:
                self.bias._data[...] = 0

    def forward(self, input: Tensor) -> Tensor:
        shape = input.shape
        if len(shape) < 2 or shape[1] != self.num_channels:
            raise ArgumentError(f"GroupNorm: expected input of shape (N, {self.num_channels}, *), got {shape}")
        p = self._parameters
        return F.group_norm(input, self.num_groups, p["weight"], p["bias"], self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class LocalResponseNorm(Module):
    """Local response norm across channels (Krizhevsky et al., 2012), PyTorch's definition:
    y = x / (k + alpha / size * sum of x^2 over ``size`` neighbouring channels)^beta."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = _positive_int(size, "size")
        self.alpha, self.beta, self.k = alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class RMSNorm(Module):
    """RMS normalisation over the trailing dims ``normalized_shape`` (Zhang & Sennrich, 2019):
    y = x / sqrt(mean(x^2) + eps) * weight, ``weight`` (ones) of shape ``normalized_shape`` when
    ``elementwise_affine``; eps None: the input dtype's machine epsilon (PyTorch)."""

    def __init__(self, normalized_shape, eps: float | None = None, elementwise_affine: bool = True, device=None,
                 dtype=None) -> None:
        super().__init__()
        check_device(device)
        shape = F._normalized_shape(normalized_shape)
        if not shape or any(s < 0 for s in shape):
            raise ArgumentError("normalized_shape: expected a non-empty shape of non-negative sizes, got "
                                f"{normalized_shape!r}")
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, bool(elementwise_affine)
        if self.elementwise_affine:
            self.weight = Parameter(np.ones(shape, dtype=factory_dtype(dtype)))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            self.weight._data[...] = 1

    def forward(self, input: Tensor) -> Tensor:
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


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
