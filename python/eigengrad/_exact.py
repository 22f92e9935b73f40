"""Exactly rounded arithmetic in NumPy, for results that must equal PyTorch's CPU kernels bit for bit where
those are compiled with fused multiply-adds (the orthogonal polynomials' recurrences, linspace)."""
from __future__ import annotations

import numpy as np

_SPLIT = 134217729.0  # 2^27 + 1, Veltkamp's splitting constant


def fms(a, q, c, T):
    """a * q - c as one fused multiply-add, round(a q - c) (PyTorch's CPU kernels are compiled with FMA
    contraction: its recurrences compute fma(a, q, -c)). float32: the product is exact in float64. float64: Dekker's
    exact product a q = h + l (Veltkamp's split) and Knuth's TwoSum of h - c, then one final rounding of the
    small parts (Ogita, Rump & Oishi, "Accurate sum and dot product", 2005); where a split overflows, a q - c."""
    if T is np.float32:
        return (a.astype(np.float64) * q.astype(np.float64) - c.astype(np.float64)).astype(np.float32)
    h = a * q
    ta = _SPLIT * a
    a_hi = ta - (ta - a)
    a_lo = a - a_hi
    tq = _SPLIT * q
    q_hi = tq - (tq - q)
    q_lo = q - q_hi
    lo = ((a_hi * q_hi - h) + a_hi * q_lo + a_lo * q_hi) + a_lo * q_lo  # a q = h + lo exactly
    s = h - c
    bb = s - h
    err = (h - (s - bb)) + (-c - bb)  # h - c = s + err exactly
    out = s + (err + lo)
    return np.where(np.isfinite(out), out, s)
