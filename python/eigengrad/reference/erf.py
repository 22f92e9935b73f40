"""Reference of the error-function kernels: Python's math.erf/erfc per element (the C library's, in double),
and erfinv by bisection on them (on erfc past |x| = 0.5, where 1 - |x| is exact). Slow and plain."""
from __future__ import annotations

import math

import numpy as np


def _per_element(fn, x):
    x = np.asarray(x)
    flat = x.astype(np.float64).reshape(-1)
    out = np.fromiter((fn(v) for v in flat), dtype=np.float64, count=flat.size)
    return out.reshape(x.shape).astype(x.dtype, copy=False)


def _erfinv_scalar(x: float) -> float:
    a = abs(x)
    if math.isnan(x) or a > 1.0:
        return math.nan
    if a == 1.0:
        return math.copysign(math.inf, x)
    if a < 1e-8:  # erf^-1(x) = (sqrt(pi)/2) x (1 + pi x^2 / 12 + ...): the series' second term is below an ulp
        return x * (math.sqrt(math.pi) / 2)
    lo, hi = 0.0, 30.0
    for _ in range(200):  # erf is increasing; erfc decreasing
        mid = 0.5 * (lo + hi)
        below = math.erfc(mid) > 1.0 - a if a >= 0.5 else math.erf(mid) < a
        lo, hi = (mid, hi) if below else (lo, mid)
        if hi - lo <= 1e-17 * hi:
            break
    return math.copysign(0.5 * (lo + hi), x)


def erf_forward(kind: str, x: np.ndarray) -> np.ndarray:
    fn = {"erf": math.erf, "erfc": math.erfc, "erfinv": _erfinv_scalar}[kind]
    return _per_element(fn, x)
