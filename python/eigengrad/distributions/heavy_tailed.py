"""Cauchy, HalfCauchy, HalfNormal, Gumbel, Weibull and Pareto: scalar continuous distributions with
closed-form log_prob, cdf, icdf and entropy, and reparameterised samplers (the inverse cdf of a uniform
draw), with PyTorch's parameters, supports, moments (inf or nan where they do not exist) and formulas."""
from __future__ import annotations

import math

from eigengrad.distributions import constraints
from eigengrad.distributions.continuous import _uniform
from eigengrad.distributions.distribution import LocScale, ScalarEvents, as_value
from eigengrad.tensor import Tensor

_EULER = 0.57721566490153286061  # the Euler-Mascheroni constant


def _constant(dist, value: float) -> Tensor:
    """``value`` in every element of the batch (a moment that does not exist: no gradient, as PyTorch's)."""
    from eigengrad import full

    like = next(iter(vars(dist)[name] for name in dist._param_event_dims))
    return full(tuple(dist._batch_shape), value, dtype=like.dtype)


def _where_nonnegative(value: Tensor, log_prob: Tensor) -> Tensor:
    """log_prob where value >= 0, -inf below (the half distributions' density is 0 there)."""
    from eigengrad import where

    return where(value >= 0, log_prob, log_prob.new_full((), -math.inf))


class Cauchy(LocScale):
    """density 1 / (pi scale (1 + ((x - loc) / scale)^2)); no mean or variance (nan and inf, as PyTorch)."""

    @property
    def mean(self) -> Tensor:
        return _constant(self, math.nan)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return _constant(self, math.inf)

    def rsample(self, sample_shape=()) -> Tensor:
        u = _uniform(self._extended_shape(sample_shape), self.loc)
        return self.loc + self.scale * (math.pi * (u - 0.5)).tan()

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc)
        self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() - ((value - self.loc) / self.scale).pow(2).log1p()

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.loc)
        self._validate_sample(value)
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value) -> Tensor:
        return (math.pi * (as_value(value, self.loc) - 0.5)).tan() * self.scale + self.loc

    def entropy(self) -> Tensor:
        return math.log(4 * math.pi) + self.scale.log()


class _HalfOfSymmetric(ScalarEvents):
    """|X| for X symmetric about 0 with ``scale``: the shared parameter, support x >= 0 and mode 0 (a
    constant, as PyTorch's zeros_like) of HalfCauchy and HalfNormal."""

    has_rsample = True
    arg_constraints = {"scale": constraints.positive}
    support = constraints.nonnegative
    _param_event_dims = {"scale": 0}

    def __init__(self, scale, validate_args=None) -> None:
        self._init_params((scale,), validate_args)

    @property
    def mode(self) -> Tensor:
        return _constant(self, 0.0)


class HalfCauchy(_HalfOfSymmetric):
    """|X|, X ~ Cauchy(0, scale): density 2 / (pi scale (1 + (x / scale)^2)) on x >= 0."""

    @property
    def mean(self) -> Tensor:
        return _constant(self, math.inf)

    @property
    def variance(self) -> Tensor:
        return _constant(self, math.inf)

    def rsample(self, sample_shape=()) -> Tensor:
        u = _uniform(self._extended_shape(sample_shape), self.scale)
        return (self.scale * (math.pi * (u - 0.5)).tan()).abs()

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.scale)
        self._validate_sample(value)
        lp = math.log(2 / math.pi) - self.scale.log() - (value / self.scale).pow(2).log1p()
        return _where_nonnegative(value, lp)

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.scale)
        self._validate_sample(value)
        return 2 * (value / self.scale).atan() / math.pi

    def icdf(self, value) -> Tensor:
        return (math.pi * as_value(value, self.scale) / 2).tan() * self.scale

    def entropy(self) -> Tensor:
        return math.log(2 * math.pi) + self.scale.log()


class HalfNormal(_HalfOfSymmetric):
    """|X|, X ~ Normal(0, scale): density sqrt(2 / pi) / scale exp(-x^2 / (2 scale^2)) on x >= 0."""

    @property
    def mean(self) -> Tensor:
        return self.scale * math.sqrt(2 / math.pi)

    @property
    def variance(self) -> Tensor:
        return self.scale.pow(2) * (1 - 2 / math.pi)

    def rsample(self, sample_shape=()) -> Tensor:
        from eigengrad import randn

        return (self.scale * randn(*self._extended_shape(sample_shape), dtype=self.scale.dtype)).abs()

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.scale)
        self._validate_sample(value)
        lp = 0.5 * math.log(2 / math.pi) - self.scale.log() - (value / self.scale).pow(2) / 2
        return _where_nonnegative(value, lp)

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.scale)
        self._validate_sample(value)
        return (value / (self.scale * math.sqrt(2))).erf()

    def icdf(self, value) -> Tensor:
        return as_value(value, self.scale).erfinv() * math.sqrt(2) * self.scale

    def entropy(self) -> Tensor:
        return 0.5 * math.log(math.pi / 2) + 0.5 + self.scale.log()


class Gumbel(LocScale):
    """The type-I extreme value distribution: cdf exp(-exp(-(x - loc) / scale))."""

    @property
    def mean(self) -> Tensor:
        return self.loc + self.scale * _EULER

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return math.pi / math.sqrt(6) * self.scale

    @property
    def variance(self) -> Tensor:
        return self.stddev.pow(2)

    def rsample(self, sample_shape=()) -> Tensor:
        import numpy as np

        tiny = float(np.finfo(self.loc._data.dtype).tiny)
        u = _uniform(self._extended_shape(sample_shape), self.loc, low=tiny)  # log(u) finite
        return self.loc - self.scale * (-u.log()).log()

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc)
        self._validate_sample(value)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.loc)
        self._validate_sample(value)
        return (-((self.loc - value) / self.scale).exp()).exp()

    def icdf(self, value) -> Tensor:
        return self.loc - self.scale * (-as_value(value, self.loc).log()).log()

    def entropy(self) -> Tensor:
        return self.scale.log() + (1 + _EULER)


class Weibull(ScalarEvents):
    """density (k / scale) (x / scale)^(k - 1) exp(-(x / scale)^k) on x > 0, k the concentration."""

    has_rsample = True
    arg_constraints = {"scale": constraints.positive, "concentration": constraints.positive}
    support = constraints.positive
    _param_event_dims = {"scale": 0, "concentration": 0}

    def __init__(self, scale, concentration, validate_args=None) -> None:
        self._init_params((scale, concentration), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.scale * (1 + self.concentration.reciprocal()).lgamma().exp()

    @property
    def mode(self) -> Tensor:
        k = self.concentration
        return self.scale * ((k - 1) / k) ** k.reciprocal()

    @property
    def variance(self) -> Tensor:
        k = self.concentration
        return self.scale.pow(2) * ((1 + 2 / k).lgamma().exp() - (1 + 1 / k).lgamma().exp().pow(2))

    def rsample(self, sample_shape=()) -> Tensor:
        u = _uniform(self._extended_shape(sample_shape), self.scale)
        return self.scale * (-(-u).log1p()).pow(self.concentration.reciprocal())

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.scale)
        self._validate_sample(value)
        k = self.concentration
        z = value / self.scale
        return (k / self.scale).log() + (k - 1) * z.log() - z.pow(k)

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.scale)
        self._validate_sample(value)
        return 1 - (-(value / self.scale).pow(self.concentration)).exp()

    def icdf(self, value) -> Tensor:
        return self.scale * (-(-as_value(value, self.scale)).log1p()).pow(self.concentration.reciprocal())

    def entropy(self) -> Tensor:
        k = self.concentration
        return _EULER * (1 - k.reciprocal()) + (self.scale / k).log() + 1


class Pareto(ScalarEvents):
    """density alpha scale^alpha / x^(alpha + 1) on x >= scale."""

    has_rsample = True
    arg_constraints = {"scale": constraints.positive, "alpha": constraints.positive}
    _param_event_dims = {"scale": 0, "alpha": 0}

    def __init__(self, scale, alpha, validate_args=None) -> None:
        self._init_params((scale, alpha), validate_args)

    @property
    def support(self):
        return constraints.greater_than_eq(self.scale)

    @property
    def mean(self) -> Tensor:
        a = self.alpha.clamp(min=1)  # inf for alpha <= 1
        return a * self.scale / (a - 1)

    @property
    def mode(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        a = self.alpha.clamp(min=2)  # inf for alpha <= 2
        return self.scale.pow(2) * a / ((a - 1).pow(2) * (a - 2))

    def rsample(self, sample_shape=()) -> Tensor:
        u = _uniform(self._extended_shape(sample_shape), self.scale)
        return self.scale * (-(-u).log1p() / self.alpha).exp()

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.scale)
        self._validate_sample(value)
        return self.alpha.log() + self.alpha * self.scale.log() - (self.alpha + 1) * value.log()

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.scale)
        self._validate_sample(value)
        return 1 - (self.scale / value).pow(self.alpha)

    def icdf(self, value) -> Tensor:
        return self.scale * (-(-as_value(value, self.scale)).log1p() / self.alpha).exp()

    def entropy(self) -> Tensor:
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())
