"""Window functions (``torch.hann_window``, ``hamming_window``, ``blackman_window``, ``bartlett_window``,
``kaiser_window``): periodic by default, as PyTorch (a window of N + 1 points without its last, for spectral
analysis); ``periodic=False`` gives the symmetric one. Computed in float64 and cast to ``dtype``."""
from __future__ import annotations

import numpy as np

from eigengrad._errors import ArgumentError
from eigengrad.autograd.ops import numpy_call


def _window(name: str, length: int, periodic: bool, dtype, requires_grad: bool, kind: str, *params):
    if int(length) < 0:
        raise ArgumentError(f"{name} requires non-negative window_length, got window_length={length}")
    from eigengrad.tensor import Tensor
    from eigengrad.tensor_ops.creation import _float_dtype

    dt = np.dtype(_float_dtype(dtype))
    if dt.kind != "f":
        raise ArgumentError(f"{name} expects floating point dtypes, got: {dt}")
    # (through numpy_call: eg.compile makes the window at every replay instead of an array it cannot see)
    t = Tensor._wrap(numpy_call(_values, kind, int(length), bool(periodic), dt, tuple(float(p) for p in params)))
    t.requires_grad = bool(requires_grad)
    return t


def _values(kind: str, n: int, periodic: bool, dt: np.dtype, params: tuple) -> np.ndarray:
    """The window of ``n`` points in float64, cast to ``dt``."""
    if n <= 1:
        return np.ones(n, dt)
    m = n + 1 if periodic else n
    i = np.arange(n, dtype=np.float64)
    if kind == "cosine":  # sum_k (-1)^k a_k cos(2 pi k i / (M - 1))
        phase = 2.0 * np.pi * i / (m - 1)
        out = sum(((-1) ** k) * a * np.cos(k * phase) for k, a in enumerate(params))
    elif kind == "bartlett":
        out = 1.0 - np.abs(2.0 * i / (m - 1) - 1.0)
    else:  # kaiser: I0(beta sqrt(1 - (2 i / (M - 1) - 1)^2)) / I0(beta)
        beta = params[0]
        out = np.i0(beta * np.sqrt(np.clip(1.0 - (2.0 * i / (m - 1) - 1.0) ** 2, 0.0, None))) / np.i0(beta)
    return out.astype(dt)


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None, device=None,
                requires_grad: bool = False):
    return _window("hann_window", window_length, periodic, dtype, requires_grad, "cosine", 0.5, 0.5)


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype=None, layout=None, device=None, requires_grad: bool = False):
    return _window("hamming_window", window_length, periodic, dtype, requires_grad, "cosine", alpha, beta)


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None, device=None,
                    requires_grad: bool = False):
    return _window("blackman_window", window_length, periodic, dtype, requires_grad, "cosine", 0.42, 0.5, 0.08)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None, device=None,
                    requires_grad: bool = False):
    return _window("bartlett_window", window_length, periodic, dtype, requires_grad, "bartlett")


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype=None, layout=None,
                  device=None, requires_grad: bool = False):
    """I0(beta sqrt(1 - (2 i / (M - 1) - 1)^2)) / I0(beta)."""
    return _window("kaiser_window", window_length, periodic, dtype, requires_grad, "kaiser", beta)


FUNCTIONS = ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window")
METHODS = ()
