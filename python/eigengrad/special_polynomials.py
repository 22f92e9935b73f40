"""The orthogonal polynomials of ``torch.special``, evaluated as PyTorch documents and computes them.

``chebyshev_polynomial_t/u/v/w(input, n)``, ``shifted_chebyshev_polynomial_t/u/v/w`` (the same of 2x - 1),
``hermite_polynomial_h`` (physicists'), ``hermite_polynomial_he`` (probabilists'), ``laguerre_polynomial_l``
and ``legendre_polynomial_p``. ``input`` and ``n`` broadcast; at least one is a tensor (two Python numbers
are a TypeError, as in PyTorch); the result has their promoted dtype (integer or bool: the default float
dtype) and is not differentiable (PyTorch defines no derivative: the result does not require grad).

PyTorch's conventions, kept here:

- ``n`` is truncated toward zero to an integer; n < 0 (and a NaN or infinite n) gives 0.
- Three-term recurrences (Abramowitz & Stegun 22.7), computed in the result's dtype, in PyTorch's order of
  operations: T, U, V, W: P_{k+1} = 2x P_k - P_{k-1} (from 1 and x, 2x, 2x - 1, 2x + 1); He: P_{k+1} =
  x P_k - k P_{k-1}; H: P_{k+1} = 2x P_k - 2k P_{k-1}; L: P_{k+1} = ((2k + 1 - x) P_k - k P_{k-1}) / (k + 1);
  P (Legendre): P_{k+1} = ((2k + 1) x P_k - k P_{k-1}) / (k + 1). A recurrence stops early once its value
  is NaN.
- The Chebyshev kinds inside (-1, 1) for large n use their trigonometric forms (A&S 22.3.15-16; Mason &
  Handscomb, *Chebyshev Polynomials*, 2003, 1.2 for V and W): T_n = cos(n t), U_n = sin((n + 1) t) / sin t,
  V_n = cos((n + 1/2) t) / cos(t / 2), W_n = sin((n + 1/2) t) / sin(t / 2), t = acos x, from n > 6 (T),
  n > 8 (U, V, W) and, for the shifted kinds, n > 6 (n > 4 for W*).
- At x = +-1 (0 and 1 for the shifted kinds) the exact values: T_n(1) = 1, T_n(-1) = (-1)^n, U_n(+-1) =
  (+-1)^n (n + 1), V_n(1) = 1, V_n(-1) = (-1)^n (2n + 1), W_n(1) = 2n + 1, W_n(-1) = (-1)^n; Legendre as T;
  Laguerre L_n(0) = 1.
- Hermite H and He are NaN for n above 512 (float64) or 128 (float32), PyTorch's limits.

Where PyTorch reads uninitialised memory (U, V, W, the shifted T, U, V, W, Laguerre and Legendre at a NaN x
for n >= 2: its loop stops before the first step), eigengrad returns NaN. The recurrences' multiply-adds are
fused as PyTorch's compiled kernels fuse them (see ``_fms``), so the recurrences agree with PyTorch to the last
bit or nearly; the trigonometric forms for large n agree to n times the last-bit difference between NumPy's and
the C library's acos/cos (about n * 1e-16 in float64, n * 1e-7 in float32). The work is O(max n) NumPy steps.
"""
from __future__ import annotations

import numbers

import numpy as np

from eigengrad._exact import fms as _fms

__all__ = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he",
           "laguerre_polynomial_l", "legendre_polynomial_p"]

_INT64_LIMIT = 2.0 ** 63


def _operands(name: str, input, n):
    """(x, n, dtype, x_is_tensor): x as an array of the result's float dtype, n as int64 (PyTorch's cast)."""
    from eigengrad.tensor_ops.arithmetic import operand, result_dtype

    x_t, n_t = hasattr(input, "_data"), hasattr(n, "_data")
    if not (x_t or n_t):
        raise TypeError(f"special_{name}() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(n).__name__}), but expected one of:\n"
                        " * (Tensor x, Tensor n, *, Tensor out = None)\n"
                        " * (Number x, Tensor n, *, Tensor out = None)\n"
                        " * (Tensor x, Number n, *, Tensor out = None)\n")
    for v, what in ((input, "x"), (n, "n")):
        if not (hasattr(v, "_data") or isinstance(v, (numbers.Number, np.generic))):
            raise TypeError(f"special_{name}(): argument '{what}' must be Tensor or Number, not {type(v).__name__}")
    a, b = operand(input), operand(n)
    dt = result_dtype(a, b)
    if dt.kind not in "f":
        from eigengrad.tensor import default_float

        dt = default_float()
    work = dt if dt in (np.float32, np.float64) else np.dtype(np.float32)
    x = np.asarray(a._data if x_t else a, dtype=work)
    nf = np.asarray(b._data if n_t else b)
    nf = nf.astype(work) if nf.dtype.kind in "fc" or dt.kind == "f" else nf
    with np.errstate(invalid="ignore"):
        if nf.dtype.kind == "f":  # a float n: truncated; NaN, inf and out-of-range values are INT64_MIN (x86)
            bad = ~np.isfinite(nf) | (np.abs(nf) >= _INT64_LIMIT)
            ni = np.where(bad, np.iinfo(np.int64).min, np.trunc(np.where(bad, 0, nf))).astype(np.int64)
        else:
            ni = nf.astype(np.int64)
    x, ni = np.broadcast_arrays(x, ni)
    return np.array(x), np.array(ni), dt, work


def _wrap(name: str, kernel):
    def f(input, n, *, out=None):
        from eigengrad.tensor import Tensor
        from eigengrad.tensor_ops import _out

        x, ni, dt, work = _operands(name, input, n)
        with np.errstate(all="ignore"):
            res = kernel(x, ni, work.type)
        return _out.write(Tensor._wrap(np.asarray(res, dtype=work).astype(dt, copy=False)), out)

    f.__name__ = f.__qualname__ = name
    return f


def _recurrence(x, n, p, q, count, step, k0: int, dk: int, T):
    """Runs ``r = step(x, p, q, k, T)`` ``count`` times per element (k = k0, k0 + dk, ...), stopping an element
    early when its q is NaN (PyTorch's loops); returns the last r (q itself where the loop did not run)."""
    r = q.copy()
    active = np.flatnonzero((count > 0) & ~np.isnan(q))
    xa, pa, qa, ca = x[active], p[active], q[active], count[active]
    i = 0
    while active.size:  # the live elements stay packed: finished ones are written out and dropped
        ra = step(xa, pa, qa, k0 + i * dk, T)
        pa, qa = qa, ra
        i += 1
        keep = (ca > i) & ~np.isnan(ra)
        if not keep.all():
            r[active[~keep]] = ra[~keep]
            active, xa, pa, qa, ca = active[keep], xa[keep], pa[keep], qa[keep], ca[keep]
    return r


def _chebyshev_step(y, p, q, k, T):
    return _fms(y + y, q, p, T)


def _chebyshev(kind: str, shifted: bool):
    """T, U, V, W (``shifted``: of 2x - 1). PyTorch evaluates the shifted kinds with y = x + x - 1 and the step
    (y + y) q - p."""

    def kernel(x, n, T):
        one, two, half = T(1.0), T(2.0), T(0.5)
        y = (x + x - one) if shifted else x
        out = np.empty_like(x)
        done = n < 0
        out[done] = 0
        # the end points
        if shifted:
            at_pos, at_neg = (x == one) & ~done, (x == T(0.0)) & ~done
        else:
            at_pos, at_neg = (np.abs(x) == one) & (x > 0) & ~done, (np.abs(x) == one) & (x < 0) & ~done
        even = n % 2 == 0
        sign = np.where(even, one, -one)
        np1, n2p1 = (n + 1).astype(T), (n + n + 1).astype(T)
        pos_val = {"t": np.ones_like(x), "u": np1, "v": np.ones_like(x), "w": n2p1}[kind]
        neg_val = {"t": sign, "u": sign * np1, "v": sign * n2p1, "w": sign}[kind]
        out[at_pos], out[at_neg] = pos_val[at_pos], neg_val[at_neg]
        done = done | at_pos | at_neg
        # the trigonometric forms inside (-1, 1) for large n
        limit = {"t": 6, "u": 8, "v": 8, "w": 8}[kind] if not shifted else (4 if kind == "w" else 6)
        trig = ~done & (n > limit) & (np.abs(y) < one)
        if trig.any():
            yt, nt = y[trig], n[trig]
            t = np.arccos(yt)
            if kind == "t":
                val = np.cos(nt.astype(T) * t)
            elif kind == "u":
                s = np.sin(t)
                val = np.where(s != 0, np.sin((nt + 1).astype(T) * t) / np.where(s != 0, s, one),
                               (nt + 1).astype(T) * np.cos((nt + 1).astype(T) * t) / yt)
            elif kind == "v":
                ok = np.sin(t / two) != one
                val = np.where(ok, np.cos((nt.astype(T) + half) * t) / np.cos(t / two),
                               np.where(nt % 2 == 0, one, -one) * (nt + nt + 1).astype(T))
            else:
                ok = np.cos(t / two) != one
                edge = np.where(nt % 2 == 0, one, -one)  # the shifted W*: +-1 even near y = 1, as PyTorch
                if not shifted:
                    edge = np.where(yt > 0, (nt + nt + 1).astype(T), edge)
                val = np.where(ok, np.sin((nt.astype(T) + half) * t) / np.where(ok, np.sin(t / two), one),
                               edge)
            out[trig] = val
            done = done | trig
        # n = 0, n = 1, then the recurrence
        out[~done & (n == 0)] = one
        first = {"t": y, "u": y + y, "v": y + y - one, "w": y + y + one}[kind]
        rest = ~done & (n >= 1)
        if rest.any():
            xr, nr = y[rest], n[rest]
            q = first[rest].copy()
            p = np.ones_like(q)
            out[rest] = _recurrence(xr, nr, p, q, nr - 1, _chebyshev_step, 2, 1, T)
        return out

    return kernel


def _hermite(probabilists: bool):
    def kernel(x, n, T):
        limit = 128 if T is np.float32 else 512
        out = np.empty_like(x)
        out[n < 0] = 0
        out[n == 0] = 1
        m1 = n == 1
        out[m1] = x[m1] if probabilists else (x + x)[m1]
        big = n > limit
        out[big] = np.nan
        rest = (n >= 2) & ~big
        if rest.any():
            xr, nr = x[rest], n[rest]
            q = xr.copy() if probabilists else xr + xr
            p = np.ones_like(q)
            if probabilists:
                def step(xa, pa, qa, k, T):
                    return _fms(xa, qa, T(k) * pa, T)
                res = _recurrence(xr, nr, p, q, nr - 1, step, 1, 1, T)
            else:
                def step(xa, pa, qa, k, T):
                    return _fms(xa + xa, qa, T(k) * pa, T)
                res = _recurrence(xr, nr, p, q, nr - 1, step, 2, 2, T)
            out[rest] = res
        return out

    return kernel


def _laguerre(x, n, T):
    one = T(1.0)
    out = np.empty_like(x)
    out[n < 0] = 0
    at0 = (n >= 0) & (np.abs(x) == 0)
    out[at0] = one
    out[(n == 0) & ~at0] = one
    m1 = (n == 1) & ~at0
    out[m1] = (one - x)[m1]
    rest = (n >= 2) & ~at0
    if rest.any():
        xr, nr = x[rest], n[rest]
        q = one - xr
        p = np.ones_like(q)

        def step(xa, pa, qa, k, T):
            return _fms(T(k + k) + (T(1.0) - xa), qa, T(k) * pa, T) / T(k + 1)

        res = _recurrence(xr, nr, p, q, nr - 1, step, 1, 1, T)
        out[rest] = np.where(np.isnan(xr), T(np.nan), res)
    return out


def _legendre(x, n, T):
    one = T(1.0)
    out = np.empty_like(x)
    out[n < 0] = 0
    end = (n >= 0) & (np.abs(x) == one)
    out[end] = np.where((x > 0) | (n % 2 == 0), one, -one)[end]
    out[(n == 0) & ~end] = one
    m1 = (n == 1) & ~end
    out[m1] = x[m1]
    rest = (n >= 2) & ~end
    if rest.any():
        xr, nr = x[rest], n[rest]
        q = xr.copy()
        p = np.ones_like(q)

        def step(xa, pa, qa, k, T):
            return _fms(T(k + k + 1) * xa, qa, T(k) * pa, T) / T(k + 1)

        res = _recurrence(xr, nr, p, q, nr - 1, step, 1, 1, T)
        out[rest] = np.where(np.isnan(xr), T(np.nan), res)
    return out


chebyshev_polynomial_t = _wrap("chebyshev_polynomial_t", _chebyshev("t", False))
chebyshev_polynomial_u = _wrap("chebyshev_polynomial_u", _chebyshev("u", False))
chebyshev_polynomial_v = _wrap("chebyshev_polynomial_v", _chebyshev("v", False))
chebyshev_polynomial_w = _wrap("chebyshev_polynomial_w", _chebyshev("w", False))
shifted_chebyshev_polynomial_t = _wrap("shifted_chebyshev_polynomial_t", _chebyshev("t", True))
shifted_chebyshev_polynomial_u = _wrap("shifted_chebyshev_polynomial_u", _chebyshev("u", True))
shifted_chebyshev_polynomial_v = _wrap("shifted_chebyshev_polynomial_v", _chebyshev("v", True))
shifted_chebyshev_polynomial_w = _wrap("shifted_chebyshev_polynomial_w", _chebyshev("w", True))
hermite_polynomial_h = _wrap("hermite_polynomial_h", _hermite(False))
hermite_polynomial_he = _wrap("hermite_polynomial_he", _hermite(True))
laguerre_polynomial_l = _wrap("laguerre_polynomial_l", _laguerre)
legendre_polynomial_p = _wrap("legendre_polynomial_p", _legendre)

_DOCS = {
    "chebyshev_polynomial_t": "T_n(x), the Chebyshev polynomial of the first kind: cos(n acos x) on [-1, 1].",
    "chebyshev_polynomial_u": "U_n(x), the Chebyshev polynomial of the second kind: sin((n+1) t) / sin t, t = acos x.",
    "chebyshev_polynomial_v": "V_n(x), the Chebyshev polynomial of the third kind: cos((n+1/2) t) / cos(t/2).",
    "chebyshev_polynomial_w": "W_n(x), the Chebyshev polynomial of the fourth kind: sin((n+1/2) t) / sin(t/2).",
    "hermite_polynomial_h": "H_n(x), the physicists' Hermite polynomial (H_1 = 2x).",
    "hermite_polynomial_he": "He_n(x), the probabilists' Hermite polynomial (He_1 = x).",
    "laguerre_polynomial_l": "L_n(x), the Laguerre polynomial (L_1 = 1 - x).",
    "legendre_polynomial_p": "P_n(x), the Legendre polynomial (P_1 = x).",
}
for _k in "tuvw":
    _DOCS[f"shifted_chebyshev_polynomial_{_k}"] = (f"The shifted Chebyshev polynomial {_k.upper()}*_n(x) = "
                                                   f"{_k.upper()}_n(2x - 1).")
for _name, _doc in _DOCS.items():
    globals()[_name].__doc__ = (f"``torch.special.{_name}(input, n, *, out=None)``: {_doc} See the module's notes for "
                                "PyTorch's conventions (n truncated, n < 0 gives 0; not differentiable).")
del _k, _name, _doc
