"""InverseGamma, Kumaraswamy, FisherSnedecor, GeneralizedPareto and LogisticNormal, as PyTorch's.

- InverseGamma(concentration a, rate b): 1 / X for X ~ Gamma(a, b); density b^a x^(-a-1) e^(-b/x) / Gamma(a).
- Kumaraswamy(concentration1 a, concentration0 b) (Kumaraswamy 1980, "A generalized probability density function
  for double-bounded random processes", J. Hydrology 46): density a b x^(a-1) (1 - x^a)^(b-1) on (0, 1), the
  push-forward of a uniform u through x = (1 - u^(1/b))^(1/a); E[X^n] = b B(1 + n/a, b); entropy
  (1 - 1/b) + (1 - 1/a) H_b - log(a b), H_b = digamma(b + 1) + Euler's gamma (the harmonic number).
- FisherSnedecor(df1, df2): the F distribution, (X1 / df1) / (X2 / df2) for chi-squared X1, X2 (sampled as the
  ratio of Gamma(df / 2, df) draws: reparameterised through them).
- GeneralizedPareto(loc, scale, concentration xi) (Pickands 1975, "Statistical inference using extreme order
  statistics", Ann. Statist. 3): survival (1 + xi z)^(-1/xi), z = (x - loc) / scale (e^-z at xi = 0), on
  [loc, inf) for xi >= 0 and [loc, loc - scale / xi] for xi < 0; sampled by its inverse cdf.
- LogisticNormal(loc, scale): a Normal on R^(K-1) pushed onto the K-simplex by stick breaking
  (Aitchison & Shen 1980, "Logistic-normal distributions", Biometrika 67).
"""
from __future__ import annotations

import math

from eigengrad.distributions import constraints
from eigengrad.distributions.continuous import Uniform, _uniform
from eigengrad.distributions.distribution import Distribution, as_value, broadcast_all
from eigengrad.distributions.gamma import Gamma
from eigengrad.distributions.normal import Normal
from eigengrad.distributions.structured_transforms import StickBreakingTransform
from eigengrad.distributions.transformed import AffineTransform, PowerTransform, TransformedDistribution
from eigengrad.tensor import Tensor

_EULER = 0.57721566490153286061


def _where(cond, a, b):
    from eigengrad import where

    return where(cond, a, b)


class InverseGamma(TransformedDistribution):
    """1 / X, X ~ Gamma(concentration, rate) (a TransformedDistribution through PowerTransform(-1), as PyTorch's)."""

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration, rate, validate_args=None) -> None:
        base = Gamma(concentration, rate, validate_args=validate_args)
        super().__init__(base, PowerTransform(-base.rate.new_ones(())), validate_args=validate_args)

    @property
    def concentration(self) -> Tensor:
        return self.base_dist.concentration

    @property
    def rate(self) -> Tensor:
        return self.base_dist.rate

    @property
    def mean(self) -> Tensor:
        return _where(self.concentration > 1, self.rate / (self.concentration - 1), math.inf)

    @property
    def mode(self) -> Tensor:
        return self.rate / (self.concentration + 1)

    @property
    def variance(self) -> Tensor:
        a = self.concentration
        return _where(a > 2, self.rate.pow(2) / ((a - 1).pow(2) * (a - 2)), math.inf)

    def entropy(self) -> Tensor:
        a = self.concentration
        return a + self.rate.log() + a.lgamma() - (1 + a) * a.digamma()


def _moments(a: Tensor, b: Tensor, n: int) -> Tensor:
    """E[X^n] of Kumaraswamy(a, b): b B(1 + n / a, b)."""
    arg1 = 1 + n / a
    return b * (arg1.lgamma() + b.lgamma() - (arg1 + b).lgamma()).exp()


class Kumaraswamy(TransformedDistribution):
    """A Uniform(0, 1) through u^(1/b), 1 - (.), (.)^(1/a) (PyTorch's construction; the module's docstring)."""

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None) -> None:
        from eigengrad import full_like

        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        base = Uniform(full_like(self.concentration0, 0), full_like(self.concentration0, 1),
                       validate_args=validate_args)
        transforms = [PowerTransform(self.concentration0.reciprocal()), AffineTransform(1.0, -1.0),
                      PowerTransform(self.concentration1.reciprocal())]
        super().__init__(base, transforms, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None) -> "Kumaraswamy":
        new = super().expand(batch_shape)
        new.concentration1 = self.concentration1.expand(*batch_shape)
        new.concentration0 = self.concentration0.expand(*batch_shape)
        return new

    @property
    def mean(self) -> Tensor:
        return _moments(self.concentration1, self.concentration0, 1)

    @property
    def mode(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        log_mode = b.reciprocal() * (-b).log1p() - (-b * a).log1p()
        return _where((b < 1) | (a < 1), math.nan, log_mode).exp()

    @property
    def variance(self) -> Tensor:
        return _moments(self.concentration1, self.concentration0, 2) - self.mean.pow(2)

    def entropy(self) -> Tensor:
        a, b = self.concentration1, self.concentration0
        t1, t0 = 1 - a.reciprocal(), 1 - b.reciprocal()
        return t0 + t1 * ((b + 1).digamma() + _EULER) - a.log() - b.log()


class FisherSnedecor(Distribution):
    """density of the F(df1, df2) distribution: B(d1/2, d2/2)^-1 (d1/d2)^(d1/2) x^(d1/2 - 1)
    (1 + d1 x / d2)^(-(d1 + d2)/2) on x > 0."""

    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1, df2, validate_args=None) -> None:
        self.df1, self.df2 = broadcast_all(df1, df2)
        # validated with the default setting whatever validate_args is (PyTorch's: a bad df is reported by them)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2)
        super().__init__(self.df1.shape, (), validate_args)

    def expand(self, batch_shape, _instance=None) -> "FisherSnedecor":
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.df1, new.df2 = self.df1.expand(*batch_shape), self.df2.expand(*batch_shape)
        new._gamma1, new._gamma2 = self._gamma1.expand(batch_shape), self._gamma2.expand(batch_shape)
        Distribution.__init__(new, batch_shape, (), validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        df2 = _where(self.df2 <= 2, math.nan, self.df2)
        return df2 / (df2 - 2)

    @property
    def mode(self) -> Tensor:
        mode = (self.df1 - 2) / self.df1 * self.df2 / (self.df2 + 2)
        return _where(self.df1 <= 2, math.nan, mode)

    @property
    def variance(self) -> Tensor:
        df2 = _where(self.df2 <= 4, math.nan, self.df2)
        return 2 * df2.pow(2) * (self.df1 + df2 - 2) / (self.df1 * (df2 - 2).pow(2) * (df2 - 4))

    def rsample(self, sample_shape=()) -> Tensor:
        import numpy as np

        tiny = float(np.finfo(self.df1._data.dtype).tiny)
        x1 = self._gamma1.rsample(sample_shape)
        x2 = self._gamma2.rsample(sample_shape).clamp(min=tiny)
        return (x1 / x2).clamp(min=tiny)

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.df1)
        self._validate_sample(value)
        ct1, ct2, ct3 = self.df1 * 0.5, self.df2 * 0.5, self.df1 / self.df2
        t1 = (ct1 + ct2).lgamma() - ct1.lgamma() - ct2.lgamma()
        t2 = ct1 * ct3.log() + (ct1 - 1) * value.log()
        t3 = (ct1 + ct2) * (ct3 * value).log1p()
        return t1 + t2 - t3


class GeneralizedPareto(Distribution):
    """The generalized Pareto distribution (the module's docstring): ``log_prob``, ``cdf``, ``icdf``,
    ``log_cdf``, ``log_survival_function``, moments where they exist (NaN elsewhere), entropy
    log(scale) + xi + 1. xi within 1e-8 of 0 (PyTorch's isclose) takes the exponential limit."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True
    _param_event_dims = {"loc": 0, "scale": 0, "concentration": 0}

    def __init__(self, loc, scale, concentration, validate_args=None) -> None:
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(self.loc.shape, (), validate_args)

    @property
    def support(self):
        lower = self.loc
        return constraints.interval(lower, _where(self.concentration < 0, lower - self.scale / self.concentration,
                                                  math.inf))

    def _safe_concentration(self):
        eq_zero = self.concentration.abs() <= 1e-8  # torch.isclose(xi, 0): |xi| <= atol
        return eq_zero, _where(eq_zero, 1.0, self.concentration)

    def rsample(self, sample_shape=()) -> Tensor:
        return self.icdf(_uniform(self._extended_shape(sample_shape), self.loc))

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc)
        self._validate_sample(value)
        z = (value - self.loc) / self.scale
        eq_zero, safe = self._safe_concentration()
        y = 1 / safe + 1
        where_nonzero = _where(y == 0, y, y * (safe * z).log1p())
        return -self.scale.log() - _where(eq_zero, z, where_nonzero)

    def log_survival_function(self, value) -> Tensor:
        value = self._value(value, self.loc)
        self._validate_sample(value)
        z = (value - self.loc) / self.scale
        eq_zero, safe = self._safe_concentration()
        return _where(eq_zero, -z, -(safe * z).log1p() / safe)

    def log_cdf(self, value) -> Tensor:
        return (-self.log_survival_function(value).exp()).log1p()

    def cdf(self, value) -> Tensor:
        return self.log_cdf(value).exp()

    def icdf(self, value) -> Tensor:
        value = as_value(value, self.loc)
        eq_zero, safe = self._safe_concentration()
        logu = (-value).log1p()
        return _where(eq_zero, self.loc - self.scale * logu, self.loc + self.scale / safe * (-safe * logu).expm1())

    @property
    def mean(self) -> Tensor:
        valid = self.concentration < 1
        safe = _where(valid, self.concentration, 0.5)
        return _where(valid, self.loc + self.scale / (1 - safe), math.nan)

    @property
    def variance(self) -> Tensor:
        valid = self.concentration < 0.5
        safe = _where(valid, self.concentration, 0.25)
        return _where(valid, self.scale.pow(2) / ((1 - safe).pow(2) * (1 - 2 * safe)), math.nan)

    def entropy(self) -> Tensor:
        return (self.scale.log() + self.concentration + 1).expand(*self._batch_shape)

    @property
    def mode(self) -> Tensor:
        return self.loc


class LogisticNormal(TransformedDistribution):
    """A Normal(loc, scale) over R^(K-1) through StickBreakingTransform onto the K-simplex (batch () becomes
    (1,) first, as PyTorch's)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None) -> None:
        base = Normal(loc, scale, validate_args=validate_args)
        if not tuple(base.batch_shape):
            base = base.expand((1,))
        super().__init__(base, StickBreakingTransform(), validate_args=validate_args)

    @property
    def loc(self) -> Tensor:
        return self.base_dist.base_dist.loc

    @property
    def scale(self) -> Tensor:
        return self.base_dist.base_dist.scale