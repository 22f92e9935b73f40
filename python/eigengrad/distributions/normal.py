"""Normal(loc, scale) (density exp(-(x - loc)^2 / (2 scale^2)) / (scale sqrt(2 pi))) and Bernoulli(probs or
logits) (P(1) = p)."""
from __future__ import annotations

import math

import numpy as np

from eigengrad.distributions import constraints
from eigengrad.distributions.distribution import (
    LocatedAtLoc, LocScale, as_param, as_value,
)
from eigengrad.distributions.exp_family import ExponentialFamily
from eigengrad.tensor import Tensor


class Normal(LocatedAtLoc, LocScale, ExponentialFamily):
    """A Gaussian with mean ``loc`` and standard deviation ``scale`` (broadcast together); an exponential family
    with natural parameters (loc / scale^2, -1 / (2 scale^2)) (PyTorch's)."""

    _mean_carrier_measure = 0

    @property
    def _natural_params(self) -> tuple:
        return (self.loc / self.scale.pow(2), -0.5 * self.scale.pow(2).reciprocal())

    def _log_normalizer(self, x, y):
        return -0.25 * x.pow(2) / y + 0.5 * (-math.pi / y).log()

    @property
    def stddev(self) -> Tensor:
        return self.scale

    @property
    def variance(self) -> Tensor:
        return self.scale ** 2

    def rsample(self, sample_shape=()) -> Tensor:
        from eigengrad import randn

        eps = randn(*self._extended_shape(sample_shape), dtype=self.loc.dtype)
        return self.loc + eps * self.scale

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc)
        self._validate_sample(value)
        return -((value - self.loc) ** 2) / (2 * self.variance) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def cdf(self, value) -> Tensor:
        value = self._value(value, self.loc)
        self._validate_sample(value)
        return 0.5 * (1 + ((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)).erf())

    def icdf(self, value) -> Tensor:
        return self.loc + self.scale * (2 * as_value(value, self.loc) - 1).erfinv() * math.sqrt(2)

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()


class Bernoulli(ExponentialFamily):
    """P(X = 1) = probs (or sigmoid(logits)); samples are 0./1. in the parameter's dtype; an exponential family
    with natural parameter logit(probs)."""

    _mean_carrier_measure = 0

    @property
    def _natural_params(self) -> tuple:
        return (self.probs.logit(),)

    def _log_normalizer(self, x):
        return x.exp().log1p()

    _param_event_dims = {"probs": 0, "logits": 0}
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.probs = as_param(probs, "probs")
            eps = float(np.finfo(self.probs._data.dtype).eps)
            p = self.probs.clamp(min=eps, max=1 - eps)
            self.logits = p.log() - (1 - p).log()
        else:
            self.logits = as_param(logits, "logits")
            self.probs = self.logits.sigmoid()
        super().__init__(self.probs.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    @property
    def mode(self) -> Tensor:
        """1 where probs > 1/2, 0 where below, NaN at 1/2 (PyTorch's)."""
        from eigengrad import where

        return where(self.probs == 0.5, float("nan"), (self.probs > 0.5).to(self.probs.dtype))

    def sample(self, sample_shape=()) -> Tensor:
        from eigengrad import bernoulli

        return bernoulli(self.probs.detach().expand(*self._extended_shape(sample_shape)))

    def log_prob(self, value) -> Tensor:
        from eigengrad.nn.functional import binary_cross_entropy_with_logits

        self._require_tensor(value)  # before as_param, which would make any number a Tensor
        value = as_param(value, "value")
        self._validate_sample(value)  # 0 or 1
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.logits.shape))
        return -binary_cross_entropy_with_logits(self.logits.expand(*shape), value.expand(*shape), reduction="none")

    def entropy(self) -> Tensor:
        from eigengrad.nn.functional import binary_cross_entropy_with_logits

        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """0., 1. (the parameters' dtype) along a new first dim, expanded over the batch (PyTorch's)."""
        values = Tensor._wrap(np.arange(2, dtype=self.probs._data.dtype).reshape((-1,) + (1,) * len(self.batch_shape)))
        return values.expand(-1, *self.batch_shape) if expand else values
