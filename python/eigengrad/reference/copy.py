"""NumPy reference of the strided copy (``_kernels.contiguous``'s C++ path): a C-contiguous copy."""
from __future__ import annotations

import numpy as np


def strided_copy(src: np.ndarray) -> np.ndarray:
    """``src``'s elements in C order, in a new C-contiguous array of its shape (0-d stays 0-d)."""
    out = np.empty(src.shape, dtype=src.dtype)
    out[...] = src
    return out
