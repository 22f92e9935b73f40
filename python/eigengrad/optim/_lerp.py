"""PyTorch's ``lerp`` on NumPy arrays, for the optimizers written in NumPy (Adafactor, Muon)."""
from __future__ import annotations

import numpy as np


def lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """``start + weight (end - start)`` in PyTorch's two forms, exact at both ends: from ``start`` for a weight
    below 0.5, from ``end`` otherwise (the scalar in the arrays' dtype). A new array of ``start``'s dtype."""
    t = start.dtype.type
    out = start + t(weight) * (end - start) if weight < 0.5 else end - (end - start) * t(1 - weight)
    return np.array(out, dtype=start.dtype, ndmin=0)
