"""Bessel functions of integer order and Airy's Ai for ``torch.special``, in vectorised NumPy and float64 (float32
results are float64's rounded): ``bessel_j0/j1``, ``bessel_y0/y1``, ``modified_bessel_i0/i1``,
``modified_bessel_k0/k1``, ``scaled_modified_bessel_k0/k1`` (e^x K), ``spherical_bessel_j0``, ``airy_ai``. No
SciPy; the algorithms are textbook ones (references per function below), not PyTorch's (Cephes' fits). Against
mpmath they are within ~1e-15 relative (absolutely, ~1e-16 times the envelope sqrt(2 / (pi x)), near the zeros
of J, Y and Ai; for large x both eigengrad and PyTorch carry the rounding of the phase x - pi/4, ~ulp(x)).
Against PyTorch: the same to ~5e-15, except where PyTorch's own float64 values are off (checked with mpmath):
J0, J1, Y0, Y1 for 2 < x < 25 (up to ~2e-6 times the envelope just above x = 5, 3e-8 between 2 and 5, falling to
1e-15 by x = 20) and Ai for -12.65 < x < -2.09 (up to ~6e-6); eigengrad keeps the true values there. In float32
PyTorch computes in float32; eigengrad follows its rounded phases (J, Y, Ai), its overflow of e^x (I0, I1, Ai)
and its log(0.5f x) (K), so the two agree to float32 rounding.

- J0, J1, Y0, Y1 (Abramowitz & Stegun, *Handbook of Mathematical Functions*, 1964, ch. 9):
  * x < 2: the power series 9.1.10 (J), 9.1.13 (Y0) and 9.1.11 (Y1);
  * 2 <= x < 25: Miller's backward recurrence J_{k-1} = (2k / x) J_k - J_{k+1} from k = 80, normalised by
    J_0 + 2 sum J_2k = 1 (9.12 and 9.1.46; Olver's and Gautschi's analysis of the method), then Y0 and Y1 from
    the Neumann series 9.1.88 and 9.1.89 over those J_k;
  * x >= 25: Hankel's asymptotic expansion 9.2.5-9.2.10 (30 terms; the smallest term there is below 1e-18).
  PyTorch (Cephes) evaluates the phase x - pi/4 (x - 3pi/4 for order 1) in the input's dtype for x > 5; so does
  eigengrad for x >= 25, and for float32 input between 5 and 25 it evaluates the function at the point that
  rounded phase belongs to (a shift of at most half an ulp of x), so that both agree near the zeros and for large x.
- Ai: x > 1 through K_(1/3) (A&S 10.4.14) by the trapezoidal rule below; 0 <= x <= 1 the Maclaurin series
  (10.4.2-3); -12.65 <= x < 0 Taylor steps of Airy's equation y'' = x y from Ai(0), Ai'(0) (10.4.1, 10.4.4-5);
  below, the asymptotic expansion 10.4.60 (coefficients 10.4.58).
- I0, I1: ``autograd/special_math.bessel_i`` (power series and Hankel's expansion, A&S 9.6.10, 9.7.1).
- K0, K1: x <= 1: the series A&S 9.6.13 and 9.6.11; x > 1: K_nu(x) = int_0^inf e^(-x cosh t) cosh(nu t) dt (A&S
  9.6.24) by the trapezoidal rule, whose error decays like exp(-2 pi d / h) for an integrand analytic in a strip of
  half-width d (Trefethen & Weideman, "The exponentially convergent trapezoidal rule", SIAM Review 56, 2014):
  step h = min(0.2, 0.6 / sqrt(x)), summed until the terms are below 1e-18 of the total; computed scaled
  (e^x K), so neither form under- or overflows before its value does.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["KERNELS", "unary"]  # the kernels by torch.special's names; ``unary(name)``: the tensor function

_EULER = 0.57721566490153286061
_LN2 = 0.69314718055994530942
_TWO_OVER_PI = 0.63661977236758134308
_PIO4 = 0.785398163397448309615660845819875721  # the phases of Cephes/PyTorch, rounded to the dtype
_THPIO4 = 2.356194490192344928846982537459627163
_MILLER_START = 80


# --- J0, J1, Y0, Y1 ------------------------------------------------------------------------------------------
def _series_jy(x: np.ndarray):
    """(J0, J1, Y0, Y1) for 0 < x < 2 by the power series (A&S 9.1.10, 9.1.13, 9.1.11); 26 terms (x^2/4 < 1)."""
    z = 0.25 * x * x
    t0 = np.ones_like(x)  # (-z)^k / k!^2
    t1 = np.ones_like(x)  # (-z)^k / (k! (k+1)!)
    j0, j1 = t0.copy(), t1.copy()
    harmonic = 0.0
    y0s = np.zeros_like(x)
    psi_sum = 2.0 * (-_EULER) + 1.0  # psi(1) + psi(2)
    y1s = psi_sum * t1
    for k in range(1, 27):
        t0 = t0 * (-z) / (k * k)
        t1 = t1 * (-z) / (k * (k + 1))
        harmonic += 1.0 / k
        j0 += t0
        j1 += t1
        y0s -= harmonic * t0  # (-1)^(k+1) H_k z^k / k!^2
        psi_sum += 1.0 / k + 1.0 / (k + 1)
        y1s += psi_sum * t1
    j1 = 0.5 * x * j1
    logx2 = np.log(x) - _LN2
    y0 = _TWO_OVER_PI * ((logx2 + _EULER) * j0 + y0s)
    y1 = -_TWO_OVER_PI / x + _TWO_OVER_PI * logx2 * j1 - 0.5 * x * y1s / math.pi
    return j0, j1, y0, y1


def _miller_jy(x: np.ndarray):
    """(J0, J1, Y0, Y1) for 2 <= x < 25: Miller's backward recurrence and the Neumann series (A&S 9.1.88-89)."""
    n = _MILLER_START
    j_next = np.zeros_like(x)  # J_{k+1}
    j_k = np.full_like(x, 1e-30)  # J_k, unnormalised
    norm = np.zeros_like(x)  # sum over even k >= 2 of J_k
    y0s = np.zeros_like(x)  # sum_{m>=1} (-1)^m J_2m / m
    y1s = np.zeros_like(x)  # sum_{m>=1} (-1)^m (2m + 1) J_{2m+1} / (m (m + 1))
    inv = 2.0 / x
    for k in range(n, 0, -1):
        if k % 2 == 0:
            m = k // 2
            norm += j_k
            y0s += (1.0 if m % 2 == 0 else -1.0) * j_k / m
        elif k >= 3:
            m = (k - 1) // 2
            y1s += (1.0 if m % 2 == 0 else -1.0) * (2 * m + 1) * j_k / (m * (m + 1))
        j_prev = k * inv * j_k - j_next
        j_next, j_k = j_k, j_prev
    # now j_k = J_0, j_next = J_1 (unnormalised)
    scale = 1.0 / (j_k + 2.0 * norm)
    j0, j1 = j_k * scale, j_next * scale
    y0s, y1s = y0s * scale, y1s * scale
    logx2 = np.log(x) - _LN2
    y0 = _TWO_OVER_PI * ((logx2 + _EULER) * j0 - 2.0 * y0s)
    y1 = _TWO_OVER_PI * (-j0 / x + (logx2 + _EULER - 1.0) * j1 - y1s)
    return j0, j1, y0, y1


def _hankel_pq(x: np.ndarray, nu: int):
    """Hankel's P and Q of order nu (A&S 9.2.9-10) for x >= 25."""
    mu = 4.0 * nu * nu
    inv8x = 1.0 / (8.0 * x)
    p = np.ones_like(x)
    q = np.zeros_like(x)
    term = np.ones_like(x)
    for k in range(1, 31):
        term = term * (mu - (2 * k - 1) ** 2) * inv8x / k
        if k % 2:
            q += term if (k // 2) % 2 == 0 else -term
        else:
            p += term if (k // 2) % 2 == 0 else -term
    return p, q


def _phase_point(x: np.ndarray, shift: float) -> np.ndarray:
    """The point whose exact phase x - shift is PyTorch's float32 one, fl32(fl32(x) - fl32(shift))."""
    ph = (x.astype(np.float32) - np.float32(shift)).astype(np.float64)
    return ph + float(np.float32(shift))  # exact in float64 (two float32 values of similar size)


def _jy(x: np.ndarray, which: str, dtype) -> np.ndarray:
    """J0, J1, Y0 or Y1 for x > 0 finite."""
    nu = int(which[1])
    out = np.empty_like(x)
    small, mid, big = x < 2.0, (x >= 2.0) & (x < 25.0), x >= 25.0
    idx = {"j0": 0, "j1": 1, "y0": 2, "y1": 3}[which]
    shift = _THPIO4 if nu else _PIO4
    if small.any():
        out[small] = _series_jy(x[small])[idx]
    if mid.any():
        xm = x[mid]
        if dtype == np.float32:  # PyTorch's float32 phase (x > 5) is off by up to half an ulp of x: follow it
            xm = np.where(xm > 5.0, _phase_point(xm, shift), xm)
        out[mid] = _miller_jy(xm)[idx]
    if big.any():
        xb = x[big]
        p, q = _hankel_pq(xb, nu)
        if dtype == np.float32:
            ph = (xb.astype(np.float32) - np.float32(shift)).astype(np.float64)
        else:
            ph = xb - shift
        c, s = np.cos(ph), np.sin(ph)
        amp = np.sqrt(_TWO_OVER_PI / xb)
        out[big] = amp * ((p * c - q * s) if which[0] == "j" else (p * s + q * c))
    return out


def _unary(fn):
    """fn(x64, dtype) -> float64 values, run with the floating-point warnings off."""

    def run(x: np.ndarray) -> np.ndarray:
        dtype = x.dtype
        with np.errstate(all="ignore"):
            return np.asarray(fn(np.asarray(x, dtype=np.float64), dtype), dtype=np.float64)

    run.__name__ = fn.__name__
    return run


@_unary
def j0(x, dtype):
    a = np.abs(x)
    out = np.full_like(x, np.nan)
    out[a == 0] = 1.0
    ok = np.isfinite(a) & (a > 0)
    out[ok] = _jy(a[ok], "j0", dtype)
    return out


@_unary
def j1(x, dtype):
    a = np.abs(x)
    out = np.full_like(x, np.nan)
    zero = a == 0
    out[zero] = x[zero]  # +-0
    ok = np.isfinite(a) & (a > 0)
    out[ok] = np.sign(x[ok]) * _jy(a[ok], "j1", dtype)
    return out


def _y(which):
    @_unary
    def y(x, dtype):
        out = np.full_like(x, np.nan)
        out[x == 0] = -np.inf
        ok = np.isfinite(x) & (x > 0)
        out[ok] = _jy(x[ok], which, dtype)
        return out

    y.__name__ = which
    return y


y0, y1 = _y("y0"), _y("y1")


# --- I0, I1 --------------------------------------------------------------------------------------------------
def _i(nu: int):
    @_unary
    def i(x, dtype):
        from eigengrad.autograd.special_math import bessel_i

        out = np.asarray(bessel_i(x, nu, False), dtype=np.float64).copy()
        # PyTorch computes e^|x| times a series / sqrt(|x|) in the input's dtype: inf once e^|x| overflows, and
        # inf / inf = NaN at +-inf
        limit = 88.72283935546875 if dtype == np.float32 else 709.782712893384
        a = np.abs(x)
        out[a > limit] = np.inf if nu == 0 else np.copysign(np.inf, x[a > limit])
        out[np.isinf(x)] = np.nan
        return out

    return i


i0, i1 = _i(0), _i(1)


# --- K0, K1 --------------------------------------------------------------------------------------------------
def _k_series(x: np.ndarray, nu: int, dtype=np.float64) -> np.ndarray:
    """K0 or K1 for 0 < x <= 1 (A&S 9.6.13, 9.6.11): I_nu's series times -+log(x / 2) plus a series of
    positive terms; 22 terms (x^2/4 <= 1)."""
    z = 0.25 * x * x
    t0 = np.ones_like(x)  # z^k / k!^2
    t1 = np.ones_like(x)  # z^k / (k! (k+1)!)
    i0s, i1s = t0.copy(), t1.copy()
    harmonic = 0.0
    k0s = np.zeros_like(x)
    psi_sum = 1.0 - 2.0 * _EULER  # psi(1) + psi(2)
    k1s = psi_sum * t1
    for k in range(1, 23):
        t0 = t0 * z / (k * k)
        t1 = t1 * z / (k * (k + 1))
        harmonic += 1.0 / k
        i0s += t0
        i1s += t1
        k0s += harmonic * t0
        psi_sum += 1.0 / k + 1.0 / (k + 1)
        k1s += psi_sum * t1
    half = 0.5 * x
    if dtype == np.float32:  # PyTorch's float32 log(0.5f x) (all but the unscaled K0, whose 0.5 is a double)
        half = half.astype(np.float32).astype(np.float64)
    log_half = np.log(half)
    if nu == 0:
        return -(log_half + _EULER) * i0s + k0s
    i1 = 0.5 * x * i1s
    if dtype == np.float32:  # and its float32 I1 (0 for subnormal x: log(0) * 0 is NaN, as PyTorch's)
        i1 = i1.astype(np.float32).astype(np.float64)
    return 1.0 / x + log_half * i1 - 0.25 * x * k1s


def _k_scaled_integral(x: np.ndarray, nu: float) -> np.ndarray:
    """e^x K_nu(x) = int_0^inf exp(-x (cosh t - 1)) cosh(nu t) dt for x > 1, by the trapezoidal rule."""
    h = np.minimum(0.2, 0.6 / np.sqrt(x))
    total = 0.5 * np.ones_like(x)  # the node t = 0, halved (the integrand is even)
    j = 1
    active = np.arange(x.size)
    while active.size:
        t = j * h[active]
        xa = x[active]
        sinh = 0.5 * (np.expm1(t) - np.expm1(-t))
        f = np.exp(-xa * (sinh * sinh / (np.cosh(t) + 1.0)))
        # cosh t - 1 = sinh(t)^2 / (cosh t + 1): no cancellation near t = 0
        if nu:
            f = f * np.cosh(nu * t)
        total[active] += f
        active = active[f > 1e-18 * total[active]]
        j += 1
    return total * h


def _k(nu: int, scaled: bool):
    @_unary
    def k(x, dtype):
        out = np.full_like(x, np.nan)  # x < 0, -inf, NaN
        out[x == 0] = np.inf
        out[x == np.inf] = 0.0
        small = (x > 0) & (x <= 1.0)
        if small.any():
            xs = x[small]
            v = _k_series(xs, nu, np.float64 if (nu == 0 and not scaled) else dtype)
            out[small] = v * np.exp(xs) if scaled else v
        big = (x > 1.0) & np.isfinite(x)
        if big.any():
            xb = x[big]
            v = _k_scaled_integral(xb, nu)
            root = np.sqrt(xb)  # unscaled as PyTorch rounds it: e^-x (sqrt(x) e^x K) / sqrt(x)
            out[big] = v if scaled else np.exp(-xb) * (v * root) / root
        return out

    return k


k0, k1 = _k(0, False), _k(1, False)
k0e, k1e = _k(0, True), _k(1, True)


# --- spherical j0 --------------------------------------------------------------------------------------------
@_unary
def spherical_j0(x, dtype):
    """sin(x) / x; PyTorch's Taylor polynomial below |x| = 0.5 (A&S 10.1.11), 0 at +-inf."""
    out = np.empty_like(x)
    small = np.abs(x) < 0.5
    xs = x[small]
    z = xs * xs
    out[small] = 1.0 + z * (-1.0 / 6.0 + z * (1.0 / 120.0 + z * (-1.0 / 5040.0 + z * (
        1.0 / 362880.0 + z * (-1.0 / 39916800.0 + z * (1.0 / 6227020800.0))))))
    rest = ~small
    out[rest] = np.sin(x[rest]) / x[rest]
    out[np.isinf(x)] = 0.0
    return out


# --- Airy Ai ------------------------------------------------------------------------------------------------
_AI0 = 0.355028053887817239260  # Ai(0) = 3^(-2/3) / Gamma(2/3)
_AIP0 = -0.258819403792806798405  # Ai'(0) = -3^(-1/3) / Gamma(1/3)
_AIRY_ODE_LIMIT = -12.65  # zeta = (2/3) |x|^(3/2) = 30 there: the asymptotic series is exact to ~1e-25 beyond


def _airy_maclaurin(x: np.ndarray) -> np.ndarray:
    """Ai(x) = Ai(0) f(x) + Ai'(0) g(x) for 0 <= x <= 1 (A&S 10.4.2-10.4.3; 20 terms of x^3 / ((3k-1) 3k))."""
    z = x * x * x
    f = np.ones_like(x)
    g = x.copy()
    tf, tg = f.copy(), g.copy()
    for k in range(1, 21):
        tf = tf * z / ((3 * k - 1) * (3 * k))
        tg = tg * z / ((3 * k) * (3 * k + 1))
        f += tf
        g += tg
    return _AI0 * f + _AIP0 * g


def _airy_ode(x: np.ndarray) -> np.ndarray:
    """Ai(x) for _AIRY_ODE_LIMIT <= x < 0: the Taylor series of Airy's equation y'' = x y (A&S 10.4.1), stepped
    from Ai(0), Ai'(0) in steps of at most 0.5 toward x, 32 terms a step (coefficients a_(k+2) = (x0 a_k + a_(k-1))
    / ((k + 1)(k + 2))); the solutions oscillate there, so the stepping is stable."""
    steps = np.maximum(np.ceil(-x / 0.5), 1.0)
    h = x / steps
    y, dy = np.full_like(x, _AI0), np.full_like(x, _AIP0)
    x0 = np.zeros_like(x)
    for i in range(int(steps.max())):
        live = i < steps
        hh = np.where(live, h, 0.0)
        a_prev, a_cur = y, dy  # a_0, a_1
        a_next = 0.5 * x0 * y  # a_2
        val = a_prev + a_cur * hh + a_next * hh * hh
        der = a_cur + 2.0 * a_next * hh
        pw = hh * hh  # h^k for the current a_k (k = 2)
        coefs = [a_prev, a_cur, a_next]
        for k in range(1, 30):  # a_(k+2)
            a = (x0 * coefs[k] + coefs[k - 1]) / ((k + 1) * (k + 2))
            coefs.append(a)
            der = der + (k + 2) * a * pw
            pw = pw * hh
            val = val + a * pw
        y, dy = np.where(live, val, y), np.where(live, der, dy)
        x0 = x0 + hh
    return y


def _airy_asymptotic(x: np.ndarray, dtype) -> np.ndarray:
    """Ai(x) for x < _AIRY_ODE_LIMIT (A&S 10.4.60, coefficients c_k of 10.4.58, 24 terms), with PyTorch's phase
    zeta + pi/4, zeta = -2 x sqrt(-x) / 3, rounded as it rounds it in the input's dtype."""
    if dtype == np.float32:
        xf = x.astype(np.float32)
        zeta32 = np.float32(-2.0) * xf * np.sqrt(-xf) / np.float32(3.0)
        theta = (zeta32 + np.float32(0.25 * math.pi)).astype(np.float64)
    else:
        theta = -2.0 * x * np.sqrt(-x) / 3.0 + 0.25 * math.pi
    zeta = -2.0 * x * np.sqrt(-x) / 3.0
    inv = 1.0 / zeta
    c = 1.0
    even, odd = np.ones_like(x), np.zeros_like(x)
    term = np.ones_like(x)
    for k in range(1, 25):
        c = c * (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / ((2 * k - 1) * 216.0 * k)
        term = term * inv
        sign = -1.0 if (k // 2) % 2 else 1.0  # (-1)^floor(k / 2)
        if k % 2:
            odd += sign * c * term
        else:
            even += sign * c * term
    return (np.sin(theta) * even - np.cos(theta) * odd) / (math.sqrt(math.pi) * np.sqrt(np.sqrt(-x)))


@_unary
def airy_ai(x, dtype):
    """Ai(x): x > 1: (1/pi) sqrt(x/3) K_(1/3)(zeta), zeta = (2/3) x^(3/2) (A&S 10.4.14), K by the trapezoidal rule
    above; 0 <= x <= 1: the Maclaurin series; -12.65 <= x < 0: Taylor steps of Airy's equation; below: the
    asymptotic expansion. PyTorch's conventions: NaN at +-inf, 0 above x = 103.892."""
    out = np.full_like(x, np.nan)
    out[(x > 103.892) & np.isfinite(x)] = 0.0
    pos = (x > 1.0) & (x <= 103.892)
    if pos.any():
        xp = x[pos]
        zeta = 2.0 * xp * np.sqrt(xp) / 3.0
        val = np.sqrt(xp / 3.0) / math.pi * _k_scaled_integral(zeta, 1.0 / 3.0) * np.exp(-zeta)
        if dtype == np.float32:  # PyTorch's float32 e^zeta (x >= 2.09): its rounded zeta, and 0 once it overflows
            xf = xp.astype(np.float32)
            zeta32 = (np.float32(2.0) * xf * np.sqrt(xf) / np.float32(3.0)).astype(np.float64)
            far = xp >= 2.09
            val = np.where(far, val * np.exp(zeta - zeta32), val)
            val[far & (zeta32 > 88.72283935546875)] = 0.0
        out[pos] = val
    small = (x >= 0) & (x <= 1.0)
    out[small] = _airy_maclaurin(x[small])
    mid = (x < 0) & (x >= _AIRY_ODE_LIMIT)
    if mid.any():
        xm = x[mid]
        if dtype == np.float32:  # below -2.09 PyTorch's float32 phase is rounded: evaluate where it belongs
            far = xm < -2.09
            xf = xm.astype(np.float32)
            zeta32 = (np.float32(-2.0) * xf * np.sqrt(-xf) / np.float32(3.0)).astype(np.float64)
            xm = np.where(far, -np.cbrt((1.5 * zeta32) ** 2), xm)
        out[mid] = _airy_ode(xm)
    far = (x < _AIRY_ODE_LIMIT) & np.isfinite(x)
    if far.any():
        out[far] = _airy_asymptotic(x[far], dtype)
    return out


KERNELS = {
    "bessel_j0": j0, "bessel_j1": j1, "bessel_y0": y0, "bessel_y1": y1, "modified_bessel_i0": i0,
    "modified_bessel_i1": i1, "modified_bessel_k0": k0, "modified_bessel_k1": k1, "scaled_modified_bessel_k0": k0e,
    "scaled_modified_bessel_k1": k1e, "spherical_bessel_j0": spherical_j0, "airy_ai": airy_ai,
}


def unary(name: str):
    """The tensor function ``torch.special.<name>(input, *, out=None)``: float input keeps its dtype, integer and
    bool input gives the default float dtype; not differentiable (the result never requires grad), as PyTorch."""
    kernel = KERNELS[name]

    def f(input, *, out=None):
        from eigengrad.tensor import Tensor, default_float
        from eigengrad.tensor_ops import _out

        if not hasattr(input, "_data"):
            raise TypeError(f"special_{name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{type(input).__name__}")
        arr = input._data
        dt = arr.dtype if arr.dtype.kind == "f" else default_float()
        work = arr.astype(dt, copy=False)
        res = kernel(work if dt in (np.float32, np.float64) else work.astype(np.float32))
        with np.errstate(over="ignore"):  # a float64 value beyond float32's range is inf, as PyTorch's
            res = res.astype(dt)
        return _out.write(Tensor._wrap(res), out)

    f.__name__ = f.__qualname__ = name
    return f
