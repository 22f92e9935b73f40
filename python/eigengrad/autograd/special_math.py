"""Special functions over NumPy arrays, vectorised, in float64 (the callers cast back): the log-gamma function
and its derivatives (digamma, polygamma through the Hurwitz zeta function), the modified Bessel functions
I0 and I1 (and their exponentially scaled forms), the scaled complementary error function erfcx, and the
inverse of the normal CDF (ndtri). NumPy only: no SciPy at run time.

Algorithms (each accurate to a few ulp in float64 over its whole range, poles giving +-inf or NaN as PyTorch):

- Hurwitz zeta(s, q) = sum_k (q + k)^-s: the Euler-Maclaurin summation of Cephes' ``zeta.c`` (Moshier 1984),
  direct terms until q + k > 9 (at least 9), then the tail integral and 12 Bernoulli corrections.
- digamma: PyTorch's (Cephes') recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10, then the asymptotic
  series log x - 1/(2x) - sum B_2k / (2k x^2k); the reflection psi(1 - x) - pi / tan(pi x) for x < 0.
- polygamma(n, x) = (-1)^(n+1) n! zeta(n + 1, x) for n >= 1 (Abramowitz & Stegun 6.4.10).
- lgamma: the Taylor series of log Gamma(1 + z) = -gamma z + sum_k>=2 (-1)^k zeta(k) z^k / k (A&S 6.1.33) on
  |z| <= 1/2 around 1 and 2 (no cancellation at the zeros x = 1, 2), the recurrence to reach that interval
  from (0, 13), Stirling's series with 8 Bernoulli terms from 13 up, and the reflection formula below 0.
- I0, I1: the power series sum (x/2)^(2k+nu) / (k! (k+nu)!) (all terms positive) for |x| <= 30, the
  Hankel asymptotic expansion e^x / sqrt(2 pi x) sum_k (-1)^k a_k(nu) / x^k above (A&S 9.7.1).
- erfcx(x) = e^(x^2) erfc(x): the continued fraction of erfc (A&S 7.1.14) for x >= 2, evaluated backwards
  from a fixed depth; e^(x^2) erfc(x) through the C library's erfc below.
- ndtri: Acklam's rational approximation (rel. error 1.15e-9), then two Halley steps on the lower tail
  Phi(x) = erfc(-x / sqrt 2) / 2 (the upper half by symmetry, 1 - p being exact there).
"""
from __future__ import annotations

import functools
import math

import numpy as np

from eigengrad import _kernels as _K


def erf64(x: np.ndarray) -> np.ndarray:
    """The C library's erf in float64 (NumPy has none: the kernel of cpp/src/erf.cpp)."""
    return _K.erf_forward("erf", np.asarray(x, dtype=np.float64))


def erfc64(x: np.ndarray) -> np.ndarray:
    """The C library's erfc in float64."""
    return _K.erf_forward("erfc", np.asarray(x, dtype=np.float64))


# --- Bernoulli numbers and the Euler-Maclaurin constants ------------------------------------------------
# B_2k as (numerator, denominator), k = 1..12
_B2K = [(1, 6), (-1, 30), (1, 42), (-1, 30), (5, 66), (-691, 2730), (7, 6), (-3617, 510), (43867, 798),
        (-174611, 330), (854513, 138), (-236364091, 2730)]
# (2k)! / B_2k: Cephes' table A[] in zeta.c (exact integers divided once)
_ZETA_A = [math.factorial(2 * k) * den / num for k, (num, den) in zip(range(1, 13), _B2K)]
_MACHEP = 1.11022302462515654042e-16


def zeta(s, q) -> np.ndarray:
    """The Hurwitz zeta function sum_{k>=0} (q + k)^-s for real s > 1 (s = 1: inf; s < 1: NaN); q at a
    non-positive integer is a pole (inf); q < 0 with s not an integer is NaN (q^-s is not real)."""
    s, q = np.broadcast_arrays(np.asarray(s, dtype=np.float64), np.asarray(q, dtype=np.float64))
    shape = s.shape
    s, q = s.ravel().copy(), q.ravel().copy()
    out = np.full(s.shape, np.nan)
    pole = (s == 1) | ((q <= 0) & (q == np.floor(q)))
    out[pole] = np.inf
    ok = ~pole & (s > 1) & ~np.isnan(q) & ((q > 0) | (s == np.floor(s))) & (q > -2.0 ** 20)
    ok &= np.isfinite(s)
    out[ok & (q == np.inf)] = 0.0
    ok &= q != np.inf
    if ok.any():
        out[ok] = _zeta_sum(s[ok], q[ok])
    out[~pole & (s == np.inf) & (q > 1)] = 0.0
    out[~pole & (s == np.inf) & (q == 1)] = 1.0
    return out.reshape(shape)


def _zeta_sum(s: np.ndarray, q: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        total = np.power(q, -s)
        a = q.copy()
        active = np.arange(q.size)
        i = 0
        while active.size:  # direct terms until a > 9 (and at least 9 of them), as Cephes
            i += 1
            a[active] += 1.0
            total[active] += np.power(a[active], -s[active])
            active = active[(i < 9) | (a[active] <= 9.0)]
        w = a
        b = np.power(w, -s)
        total += b * w / (s - 1.0) - 0.5 * b
        fac = np.ones_like(s)
        k = 0.0
        for coef in _ZETA_A:  # Euler-Maclaurin corrections
            fac = fac * (s + k)
            b = b / w
            total += fac * b / coef
            k += 1.0
            fac = fac * (s + k)
            b = b / w
            k += 1.0
    return total


# --- digamma, polygamma -------------------------------------------------------------------------------
_PSI_10 = 2.25175258906672110764
_PSI_A = [8.33333333333333333333E-2, -2.10927960927960927961E-2, 7.57575757575757575758E-3,
          -4.16666666666666666667E-3, 3.96825396825396825397E-3, -8.33333333333333333333E-3,
          8.33333333333333333333E-2]


def digamma(x) -> np.ndarray:
    """psi(x) = Gamma'(x) / Gamma(x): -inf at +0, +inf at -0, NaN at negative integers (as PyTorch)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        neg = x < 0
        r = x - np.trunc(x)
        reflect = np.where(neg, -np.pi / np.tan(np.pi * r), 0.0)
        z = np.where(neg, 1.0 - x, x)
        result = np.zeros_like(z)
        low = z < 10
        while low.any():
            result = np.where(low, result - 1.0 / np.where(low, z, 1.0), result)
            z = np.where(low, z + 1.0, z)
            low = z < 10
        zz = 1.0 / (z * z)
        y = np.where(z < 1e17, zz * np.polyval(_PSI_A, zz), 0.0)
        out = np.where(z == 10, result + _PSI_10, result + np.log(z) - 0.5 / z - y) + reflect
        out = np.where(x == 0, np.copysign(np.inf, -x), out)
        out = np.where(neg & (x == np.trunc(x)), np.nan, out)
    return out


def polygamma(n: int, x) -> np.ndarray:
    """The n-th derivative of digamma: psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x) for n >= 1."""
    if n == 0:
        return digamma(x)
    x = np.asarray(x, dtype=np.float64)
    sign = 1.0 if n % 2 else -1.0
    with np.errstate(over="ignore", invalid="ignore"):
        return sign * math.exp(math.lgamma(n + 1.0)) * zeta(float(n + 1), x) if n < 171 else \
            sign * np.inf * zeta(float(n + 1), x)


# --- lgamma ----------------------------------------------------------------------------------------------
_EULER = 0.57721566490153286061
_LG_TERMS = 60  # |z| <= 1/2: 2^-60 / 60 is below an ulp


@functools.lru_cache(maxsize=None)
def _lgamma_series_coefs() -> np.ndarray:
    """(-1)^k zeta(k) / k for k = 2.._LG_TERMS, highest power first (for np.polyval), then -gamma z."""
    ks = np.arange(2, _LG_TERMS + 1, dtype=np.float64)
    c = np.where(ks % 2 == 0, 1.0, -1.0) * zeta(ks, 1.0) / ks
    return np.concatenate([c[::-1], [-_EULER, 0.0]])


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_STIRLING = [num / (den * 2 * k * (2 * k - 1)) for k, (num, den) in zip(range(1, 9), _B2K)]  # B_2k / (2k (2k-1))


def _lgamma_positive(x: np.ndarray) -> np.ndarray:
    """log Gamma(x) for x > 0 (finite or inf)."""
    out = np.empty_like(x)
    big = x >= 13
    xb = x[big]
    inv, inv2 = 1.0 / xb, 1.0 / (xb * xb)
    series = np.polyval(_STIRLING[::-1], inv2) * inv
    out[big] = np.where(np.isinf(xb), np.inf, (xb - 0.5) * np.log(xb) - xb + _HALF_LOG_2PI + series)
    small = ~big
    xs = x[small]
    # reduce to [0.5, 2.5): lgamma(x) = lgamma(x - m) + log((x-1)...(x-m)) above, lgamma(x+1) - log x below
    shift = np.where(xs >= 2.5, np.floor(xs - 1.5), 0.0)
    prod = np.ones_like(xs)
    t = xs.copy()
    for _ in range(11):
        step = shift > 0
        if not step.any():
            break
        t = np.where(step, t - 1.0, t)
        prod = np.where(step, prod * t, prod)
        shift = shift - step
    tiny = t < 0.5
    t = np.where(tiny, t + 1.0, t)  # log Gamma(x) = log Gamma(x + 1) - log x
    near2 = t >= 1.5
    z = np.where(near2, t - 2.0, t - 1.0)
    base = np.polyval(_lgamma_series_coefs(), z) + np.where(near2, np.log1p(z), 0.0)
    out[small] = base + np.log(prod) - np.where(tiny, np.log(xs), 0.0)
    return out


def _log_abs_sinpi(x: np.ndarray) -> np.ndarray:
    """log |sin(pi x)| with x reduced exactly to [-1, 1] first (pi x loses the digits of a large x)."""
    r = np.fmod(x, 2.0)
    return np.log(np.abs(np.sin(np.pi * r)))


def lgamma(x) -> np.ndarray:
    """log |Gamma(x)|: +inf at the poles (0 and the negative integers) and at +-inf, NaN at NaN."""
    x = np.asarray(x, dtype=np.float64)
    shape = x.shape
    x = x.ravel()
    out = np.full(x.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        pos = x > 0
        out[pos] = _lgamma_positive(x[pos])
        neg = x <= 0
        pole = neg & (x == np.floor(x))
        out[pole] = np.inf  # also -inf
        refl = neg & ~pole
        xr = x[refl]
        out[refl] = math.log(math.pi) - _log_abs_sinpi(xr) - _lgamma_positive(1.0 - xr)
    return out.reshape(shape)


# --- modified Bessel functions I0, I1 ---------------------------------------------------------------------
_BESSEL_SERIES_MAX = 30.0


def _bessel_series(x: np.ndarray, nu: int) -> np.ndarray:
    """sum_k (x/2)^(2k + nu) / (k! (k + nu)!) for |x| <= 30 (about 2|x| + 30 terms: all positive)."""
    h = 0.5 * x
    q = h * h
    term = h ** nu / math.factorial(nu)
    total = term.copy()
    for k in range(1, 200):
        term = term * q / (k * (k + nu))
        total += term
        if not np.any(term > _MACHEP * 0.25 * total):
            break
    return total


def _bessel_asymptotic_scaled(x: np.ndarray, nu: int) -> np.ndarray:
    """e^-x I_nu(x) for x >= 30: 1/sqrt(2 pi x) sum_k (-1)^k prod_j (4 nu^2 - (2j - 1)^2) / (k! (8x)^k)."""
    mu = 4.0 * nu * nu
    term = np.ones_like(x)
    total = term.copy()
    for k in range(1, 40):
        term = -term * (mu - (2 * k - 1) ** 2) / (k * 8.0 * x)
        total += term
    return total / np.sqrt(2.0 * np.pi * x)


def bessel_i(x, nu: int, scaled: bool) -> np.ndarray:
    """I_nu(x) (``scaled``: e^-|x| I_nu(x)) for nu in {0, 1}; I_1 is odd, I_0 even."""
    x = np.asarray(x, dtype=np.float64)
    shape = x.shape
    a = np.abs(x).ravel()
    out = np.empty_like(a)
    small = a <= _BESSEL_SERIES_MAX
    s = _bessel_series(a[small], nu)
    out[small] = s * np.exp(-a[small]) if scaled else s
    big = ~small & ~np.isnan(a)
    ab = a[big]
    with np.errstate(over="ignore", invalid="ignore"):
        e = _bessel_asymptotic_scaled(np.where(np.isinf(ab), 1e300, ab), nu)
        if scaled:
            out[big] = np.where(np.isinf(ab), 0.0, e)
        else:  # e^x overflows near 709.8 before the product does: split it
            half = np.exp(0.5 * ab)
            out[big] = (e * half) * half
    out[np.isnan(a)] = np.nan
    out = out.reshape(shape)
    return np.where(x < 0, -out, out) if nu == 1 else out


# --- erfcx ----------------------------------------------------------------------------------------------
_CF_DEPTH = 120
_ERFCX_CUT = 2.0
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)


def erfcx(x) -> np.ndarray:
    """e^(x^2) erfc(x): ~1/(x sqrt pi) for large x, overflowing to inf below about -26.6."""
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    big = x >= _ERFCX_CUT
    xb = x[big]
    # erfc(x) e^(x^2) sqrt(pi) = 1 / (x + (1/2) / (x + 1 / (x + (3/2) / (x + 2 / (x + ...)))))
    with np.errstate(over="ignore", invalid="ignore"):
        xb_safe = np.where(np.isinf(xb), 1.0, xb)
        f = xb_safe.copy()
        for k in range(_CF_DEPTH, 0, -1):
            f = xb_safe + (0.5 * k) / f
        out[big] = np.where(np.isinf(xb), 0.0, _INV_SQRT_PI / f)
        xs = x[~big]
        out[~big] = np.exp(xs * xs) * erfc64(xs)
    return out


# --- ndtri ------------------------------------------------------------------------------------------------
_ACK_A = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
          -3.066479806614716e+01, 2.506628277459239e+00]
_ACK_B = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
          -1.328068155288572e+01, 1.0]
_ACK_C = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
          4.374664141464968e+00, 2.938163982698783e+00]
_ACK_D = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00, 1.0]
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def ndtri(p) -> np.ndarray:
    """The x with Phi(x) = p (Phi the standard normal CDF): -inf at 0, inf at 1, NaN outside [0, 1]."""
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = np.minimum(p, 1.0 - p)  # exact: 1 - p is exact for p >= 1/2
        qs = np.clip(q, 5e-324, 0.5)
        tail = qs < 0.02425
        r = np.sqrt(-2.0 * np.log(qs))
        x_tail = np.polyval(_ACK_C, r) / np.polyval(_ACK_D, r)
        u = qs - 0.5
        uu = u * u
        x_mid = np.polyval(_ACK_A, uu) * u / np.polyval(_ACK_B, uu)
        x = np.where(tail, x_tail, x_mid)  # <= 0: the lower half
        for _ in range(3):  # Halley: e = Phi(x) - q, x -= e / (phi(x) (1 + x e / (2 phi(x))))
            e = np.where(qs > 0.25, 0.5 * erf64(x / math.sqrt(2.0)) - (qs - 0.5),  # exact difference near 1/2
                         0.5 * erfc64(-x / math.sqrt(2.0)) - qs)
            w = e * _SQRT_2PI * np.exp(0.5 * x * x)
            x = x - w / (1.0 + 0.5 * x * w)
        x = np.where(q == 0.5, 0.0, x)
        x = np.where(p > 0.5, -x, x)
        x = np.where(p == 0, -np.inf, np.where(p == 1, np.inf, x))
        return np.where((p < 0) | (p > 1) | np.isnan(p), np.nan, x)


# --- the implicit reparameterisation gradient of a Gamma sample -------------------------------------------
_DP_DA_MAX_TERMS = 200000


def standard_gamma_grad(x, a) -> np.ndarray:
    """dx/da of a Gamma(a, 1) sample x held at its quantile: -(dP(a, x)/da) / p(x; a) (Figurnov et al. 2018,
    "Implicit Reparameterization Gradients"), P the regularised lower incomplete gamma function, p the density.

    dP/da = sum_n t_n (log x - psi(a + n + 1)), t_n = x^(a+n) e^-x / Gamma(a + n + 1) (the series of P
    differentiated term by term), summed over the window of n where t_n matters (around n = x - a, +-12
    sqrt(x) + 40). Above a = 1e6 the normal limit dx/da = 1 + (x - a) / (2a) is used (relative error ~1/a)."""
    x, a = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(a, dtype=np.float64))
    shape = x.shape
    x, a = x.ravel(), a.ravel()
    out = np.empty_like(x)
    big = a > 1e6
    out[big] = 1.0 + (x[big] - a[big]) / (2.0 * a[big])
    xs, as_ = x[~big], a[~big]
    with np.errstate(all="ignore"):
        width = 12.0 * np.sqrt(xs) + 40.0
        n0 = np.maximum(np.floor(xs - as_ - width), 0.0)
        log_x = np.log(xs)
        t = np.exp((as_ + n0) * log_x - xs - lgamma(as_ + n0 + 1.0))
        psi = digamma(as_ + n0 + 1.0)
        total = t * (log_x - psi)
        steps = np.minimum(np.ceil(np.maximum(xs - as_, 0.0) - n0 + width), _DP_DA_MAX_TERMS).astype(np.int64)
        idx = np.arange(xs.size)
        n = n0.copy()
        k = 0
        while idx.size:
            k += 1
            n[idx] += 1.0
            ai, ni = as_[idx], n[idx]
            t[idx] = t[idx] * xs[idx] / (ai + ni)
            psi[idx] = psi[idx] + 1.0 / (ai + ni)
            total[idx] += t[idx] * (log_x[idx] - psi[idx])
            idx = idx[steps[idx] > k]
        log_density = (as_ - 1.0) * log_x - xs - lgamma(as_)
        out[~big] = -total / np.exp(log_density)
    return out.reshape(shape)


# --- the regularised incomplete gamma functions -------------------------------------------------------------
_FPMIN = 1e-300
_IGAMMA_MAX_ITER = 10000


def _igamma_prefix(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """x^a e^-x / Gamma(a), in logs."""
    return np.exp(a * np.log(x) - x - lgamma(a))


def _igamma_series(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """P(a, x) = x^a e^-x / Gamma(a) sum_n x^n / (a (a+1) ... (a+n)) (A&S 6.5.29), for x < a + 1."""
    term = 1.0 / a
    total = term.copy()
    ap = a.copy()
    active = np.arange(a.size)
    for _ in range(_IGAMMA_MAX_ITER):
        if not active.size:
            break
        ap[active] += 1.0
        term[active] *= x[active] / ap[active]
        total[active] += term[active]
        active = active[np.abs(term[active]) > np.abs(total[active]) * _MACHEP * 0.5]
    return total * _igamma_prefix(a, x)


def _igammac_fraction(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Q(a, x) by the continued fraction of A&S 6.5.31 (modified Lentz), for x >= a + 1."""
    b = x + 1.0 - a
    c = np.full_like(x, 1.0 / _FPMIN)
    d = 1.0 / b
    h = d.copy()
    active = np.arange(a.size)
    for i in range(1, _IGAMMA_MAX_ITER):
        if not active.size:
            break
        an = -i * (i - a[active])
        b[active] += 2.0
        dd = an * d[active] + b[active]
        dd = np.where(np.abs(dd) < _FPMIN, _FPMIN, dd)
        cc = b[active] + an / c[active]
        cc = np.where(np.abs(cc) < _FPMIN, _FPMIN, cc)
        dd = 1.0 / dd
        delta = dd * cc
        d[active], c[active] = dd, cc
        h[active] *= delta
        active = active[np.abs(delta - 1.0) > _MACHEP]
    return h * _igamma_prefix(a, x)


def gammainc(a, x, upper: bool = False) -> np.ndarray:
    """P(a, x) = gamma(a, x) / Gamma(a) (``upper``: Q = 1 - P), the regularised incomplete gamma functions
    (series below x = a + 1, continued fraction above, each complemented where it is the small one). NaN for
    a < 0, x < 0 or a = x = 0, as PyTorch; P(0, x > 0) = 1; the limits at x = 0, x = inf and a = inf."""
    a, x = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(x, dtype=np.float64))
    shape = a.shape
    a, x = a.ravel(), x.ravel()
    p = np.full(a.shape, np.nan)
    with np.errstate(all="ignore"):
        finite = (a > 0) & (x > 0) & np.isfinite(a) & np.isfinite(x)
        low = finite & (x < a + 1.0)
        high = finite & ~low
        p_low = _igamma_series(a[low], x[low])
        q_high = _igammac_fraction(a[high], x[high])
        if upper:
            p[low], p[high] = 1.0 - p_low, q_high
        else:
            p[low], p[high] = p_low, 1.0 - q_high
        one, zero = (0.0, 1.0) if upper else (1.0, 0.0)  # the values of P = 1 and P = 0
        p[(a == 0) & (x > 0)] = one
        p[(a > 0) & (x == 0)] = zero
        p[(a > 0) & np.isfinite(a) & (x == np.inf)] = one
        p[(a == np.inf) & (x >= 0) & np.isfinite(x)] = zero
    return p.reshape(shape)
