"""NumPy references of the copy area's kernels: the strided copy (``_kernels.contiguous``'s C++ path), a fill
and a counter's increment."""
from __future__ import annotations

import numpy as np


def strided_copy(src: np.ndarray) -> np.ndarray:
    """``src``'s elements in C order, in a new C-contiguous array of its shape (0-d stays 0-d)."""
    out = np.empty(src.shape, dtype=src.dtype)
    out[...] = src
    return out


def fill(shape: tuple, dtype, value: float) -> np.ndarray:
    """An array of ``shape`` and ``dtype`` holding ``value`` (rounded to the dtype) everywhere."""
    out = np.empty(shape, dtype=dtype)
    out[...] = value
    return out


def increment(count: np.ndarray) -> np.ndarray:
    """``count + 1`` as a new 0-d int64 array (OverflowError past the largest int64, as NumPy's assignment)."""
    out = np.empty((), dtype=np.int64)
    out[()] = int(count) + 1
    return out
