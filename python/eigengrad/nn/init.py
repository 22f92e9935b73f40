"""Parameter initialisation, in place, with PyTorch's names and gains (``torch.nn.init``).

Every draw comes from eigengrad's seeded generator (``eigengrad.manual_seed`` or ``generator=``).
"""
from __future__ import annotations

import math

import numpy as np

from eigengrad import random as _random
from eigengrad.autograd.grad_mode import no_grad
from eigengrad.tensor import Tensor

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for a nonlinearity (PyTorch's table): relu sqrt(2), tanh 5/3,
    leaky_relu sqrt(2 / (1 + slope^2)), selu 3/4, linear and sigmoid 1."""
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"nonlinearity: unsupported value {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError(f"tensor: fan in and fan out need at least 2 dimensions, got shape {tensor.shape}")
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fill(tensor: Tensor, draw) -> Tensor:
    """Run ``draw(array)`` on a contiguous float array and write it into ``tensor`` in place."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"tensor: expected an eigengrad Tensor, got {type(tensor).__name__}")
    arr = tensor._data
    if arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"tensor: expected a float32 or float64 tensor, got dtype {arr.dtype}")
    with no_grad():
        if arr.flags.c_contiguous and arr.flags.writeable:
            draw(arr)
        else:
            tmp = np.empty(arr.shape, dtype=arr.dtype)
            draw(tmp)
            arr[...] = tmp
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with U[a, b)."""
    return _fill(tensor, lambda arr: _random.uniform_(arr, a, b, generator))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with N(mean, std^2)."""
    return _fill(tensor, lambda arr: _random.normal_(arr, mean, std, generator))


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(tensor, lambda arr: arr.fill(val))


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None) -> Tensor:
    """He et al. (2015): U[-bound, bound], bound = gain * sqrt(3 / fan), gain from ``calculate_gain``."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode: expected 'fan_in' or 'fan_out', got {mode!r}")
    fan = fan_in if mode == "fan_in" else fan_out
    if fan == 0:
        return tensor
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound, generator)
