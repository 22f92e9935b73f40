"""NumPy reference of the finiteness test (``_kernels.all_finite``, used by anomaly detection)."""
from __future__ import annotations

import numpy as np


def all_finite(x: np.ndarray) -> bool:
    """True when every element of ``x`` is finite (no NaN, no +-inf); an empty array is finite."""
    return bool(np.isfinite(x).all())
