"""Uniform(low, high), Exponential(rate) and Laplace(loc, scale): reparameterised samplers (inverse CDF of a
uniform draw), closed-form log_prob, entropy, cdf and icdf, as PyTorch's."""
from __future__ import annotations

import numpy as np

from eigengrad.distributions import constraints
from eigengrad.distributions.distribution import (
    Distribution, LocatedAtLoc, LocScale, ScalarEvents, as_value, broadcast_all,
)
from eigengrad.distributions.exp_family import ExponentialFamily
from eigengrad.tensor import Tensor


def _uniform(shape, like: Tensor, low: float = 0.0) -> Tensor:
    """U[low, 1) draws of ``like``'s dtype from eigengrad's generator."""
    from eigengrad import rand

    u = rand(*shape, dtype=like.dtype)
    return u if low == 0.0 else u * (1.0 - low) + low


class Uniform(Distribution):
    """The uniform distribution on [low, high): density 1 / (high - low)."""

    has_rsample = True
    _param_event_dims = {"low": 0, "high": 0}

    def __init__(self, low, high, validate_args=None) -> None:
        self.low, self.high = broadcast_all(low, high)
        self.arg_constraints = {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}
        super().__init__(self.low.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return (self.high + self.low) / 2

    @property
    def mode(self) -> Tensor:
        return self.high * float("nan")

    @property
    def stddev(self) -> Tensor:
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=()) -> Tensor:
        u = _uniform(self._extended_shape(sample_shape), self.low)
        return self.low + u * (self.high - self.low)

    @property
    def support(self):
        return constraints.interval(self.low, self.high)

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.low)
        self._validate_sample(value)
        lb = (self.low <= value).to(self.low.dtype)
        ub = (self.high > value).to(self.low.dtype)
        return (lb * ub).log() - (self.high - self.low).log()

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.low)
        self._validate_sample(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value) -> Tensor:
        return as_value(value, self.low) * (self.high - self.low) + self.low

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()


class Exponential(ScalarEvents, ExponentialFamily):
    """density rate e^(-rate x) on x >= 0; an exponential family with natural parameter -rate."""

    _mean_carrier_measure = 0

    @property
    def _natural_params(self) -> tuple:
        return (-self.rate,)

    def _log_normalizer(self, x):
        return -(-x).log()

    has_rsample = True
    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    _param_event_dims = {"rate": 0}

    def __init__(self, rate, validate_args=None) -> None:
        self._init_params((rate,), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def mode(self) -> Tensor:
        return self.rate * 0.0

    @property
    def stddev(self) -> Tensor:
        return self.rate.reciprocal()

    @property
    def variance(self) -> Tensor:
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()) -> Tensor:
        u = _uniform(self._extended_shape(sample_shape), self.rate)
        return -(-u).log1p() / self.rate  # -log(1 - u), u in [0, 1): finite

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.rate)
        self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.rate)
        self._validate_sample(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value) -> Tensor:
        return -(-as_value(value, self.rate)).log1p() / self.rate

    def entropy(self) -> Tensor:
        return 1.0 - self.rate.log()


class Laplace(LocatedAtLoc, LocScale):
    """density exp(-|x - loc| / scale) / (2 scale)."""

    @property
    def variance(self) -> Tensor:
        return 2 * self.scale.pow(2)

    @property
    def stddev(self) -> Tensor:
        return 2 ** 0.5 * self.scale

    def rsample(self, sample_shape=()) -> Tensor:
        eps = float(np.finfo(self.loc._data.dtype).eps)
        u = _uniform(self._extended_shape(sample_shape), self.loc) * (2.0 - eps) + (eps - 1.0)  # (-1, 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc)
        self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.loc)
        self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * (-(value - self.loc).abs() / self.scale).expm1()

    def icdf(self, value) -> Tensor:
        term = as_value(value, self.loc) - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self) -> Tensor:
        return 1 + (2 * self.scale).log()
