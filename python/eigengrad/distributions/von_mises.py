"""VonMises(loc, concentration): the circular normal distribution, density exp(kappa cos(x - loc)) /
(2 pi I_0(kappa)) for angles x (any real, read modulo 2 pi), as PyTorch's.

log I_0 and log I_1 are PyTorch's: the polynomial approximations of Abramowitz & Stegun, *Handbook of
Mathematical Functions* (1964), 9.8.1-9.8.4 (I_n(x) by a polynomial in (x / 3.75)^2 below 3.75, and
e^x x^(-1/2) times a polynomial in 3.75 / x above; |relative error| < 2e-7), so that ``log_prob`` and
``variance`` equal PyTorch's to rounding (the exact Bessel functions differ from them by up to ~2e-7).

Sampling: the rejection algorithm of Best & Fisher (1979), "Efficient simulation of the von Mises
distribution", Applied Statistics 28(2): 152-157, in float64 (PyTorch's choice: in float32 it stalls for
kappa below ~1e-4) with eigengrad's generator: with tau = 1 + sqrt(1 + 4 kappa^2), rho = (tau - sqrt(2 tau)) /
(2 kappa) and r = (1 + rho^2) / (2 rho) (1 / kappa + kappa below kappa = 1e-5), draw u1, u2, u3 uniform, z =
cos(pi u1), f = (1 + r z) / (r + z), c = kappa (r - f); accept when c (2 - c) > u2 or log(c / u2) + 1 >= c,
then x = sign(u3 - 1/2) arccos(f); the result is loc + x wrapped to [-pi, pi). No rsample (as PyTorch)."""
from __future__ import annotations

import math

import numpy as np

from eigengrad.distributions import constraints
from eigengrad.distributions.distribution import ScalarEvents
from eigengrad.tensor import Tensor

_I0_COEF_SMALL = [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.360768e-1, 0.45813e-2]
_I0_COEF_LARGE = [0.39894228, 0.1328592e-1, 0.225319e-2, -0.157565e-2, 0.916281e-2, -0.2057706e-1, 0.2635537e-1,
                  -0.1647633e-1, 0.392377e-2]
_I1_COEF_SMALL = [0.5, 0.87890594, 0.51498869, 0.15084934, 0.2658733e-1, 0.301532e-2, 0.32411e-3]
_I1_COEF_LARGE = [0.39894228, -0.3988024e-1, -0.362018e-2, 0.163801e-2, -0.1031555e-1, 0.2282967e-1,
                  -0.2895312e-1, 0.1787654e-1, -0.420059e-2]
_COEF_SMALL = [_I0_COEF_SMALL, _I1_COEF_SMALL]
_COEF_LARGE = [_I0_COEF_LARGE, _I1_COEF_LARGE]


def _eval_poly(y, coef):
    """sum_i coef[i] y^i by Horner's rule (in PyTorch's order of operations)."""
    coef = list(coef)
    result = coef.pop()
    while coef:
        result = coef.pop() + y * result
    return result


def _log_modified_bessel_fn(x: Tensor, order: int = 0) -> Tensor:
    """log I_order(x) for x > 0, order 0 or 1 (A&S 9.8.1-9.8.4; the module's docstring)."""
    from eigengrad import where

    if order not in (0, 1):
        raise AssertionError(f"order must be 0 or 1, got {order}")
    y = x / 3.75
    y = y * y
    small = _eval_poly(y, _COEF_SMALL[order])
    if order == 1:
        small = x.abs() * small
    small = small.log()
    large = x - 0.5 * x.log() + _eval_poly(3.75 / x, _COEF_LARGE[order]).log()
    return where(x < 3.75, small, large)


def _rejection_sample(loc: np.ndarray, kappa: np.ndarray, proposal_r: np.ndarray, shape) -> np.ndarray:
    """Best & Fisher's rejection sampler in float64 (the module's docstring), draws from eigengrad's generator:
    three uniforms per element per round until every element is accepted."""
    from eigengrad import rand

    x = np.zeros(shape)
    done = np.zeros(shape, dtype=bool)
    while not done.all():
        u1, u2, u3 = rand(3, *shape, dtype=_float64()).numpy()
        z = np.cos(math.pi * u1)
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = kappa * (proposal_r - f)
        with np.errstate(divide="ignore", invalid="ignore"):
            accept = ((c * (2 - c) - u2) > 0) | (np.log(c / u2) + 1 - c >= 0)
        accept &= ~done
        x = np.where(accept, np.sign(u3 - 0.5) * np.arccos(np.clip(f, -1.0, 1.0)), x)
        done |= accept
    return np.mod(x + math.pi + loc, 2 * math.pi) - math.pi


def _float64():
    from eigengrad import float64

    return float64


class VonMises(ScalarEvents):
    """``VonMises(loc, concentration)``: loc an angle in radians, concentration kappa > 0. ``mean`` and
    ``variance`` are the circular ones (loc and 1 - I_1(kappa) / I_0(kappa))."""

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False
    _param_event_dims = {"loc": 0, "concentration": 0}

    def __init__(self, loc, concentration, validate_args=None) -> None:
        self._init_params((loc, concentration), validate_args)

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc)
        self._validate_sample(value)
        log_prob = self.concentration * (value - self.loc).cos()
        return log_prob - math.log(2 * math.pi) - _log_modified_bessel_fn(self.concentration, order=0)

    def _proposal_r(self) -> np.ndarray:
        kappa = self.concentration.detach().numpy().astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = 1 + np.sqrt(1 + 4 * kappa ** 2)
            rho = (tau - np.sqrt(2 * tau)) / (2 * kappa)
            r = (1 + rho ** 2) / (2 * rho)
            return np.where(kappa < 1e-5, 1 / kappa + kappa, r)

    def sample(self, sample_shape=()) -> Tensor:
        """Best & Fisher (1979) in float64, cast to the parameters' dtype (the module's docstring)."""
        shape = self._extended_shape(sample_shape)
        loc = np.broadcast_to(self.loc.detach().numpy().astype(np.float64), shape)
        kappa = np.broadcast_to(self.concentration.detach().numpy().astype(np.float64), shape)
        r = np.broadcast_to(self._proposal_r(), shape)
        x = _rejection_sample(loc, kappa, r, shape)
        return Tensor._wrap(np.asarray(x, dtype=self.loc._data.dtype))

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        k = self.concentration
        return 1 - (_log_modified_bessel_fn(k, order=1) - _log_modified_bessel_fn(k, order=0)).exp()
