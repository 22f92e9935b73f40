"""ContinuousBernoulli(probs | logits) (Loaiza-Ganem & Cunningham, 2019): the density
C(λ) λ^x (1 - λ)^(1 - x) on [0, 1], the likelihood of VAEs on [0, 1]-valued pixels, as PyTorch's.

The normaliser C(λ) = 2 artanh(1 - 2λ) / (1 - 2λ) and the mean, variance, cdf and icdf are 0/0 at λ = 1/2:
inside ``lims`` (default (0.499, 0.501)) they use a Taylor expansion around 1/2 (log C, mean and variance) or
the uniform's (cdf and icdf), as PyTorch does, so that values and gradients stay finite there.
"""
from __future__ import annotations

import math

import numpy as np

from eigengrad.distributions import constraints
from eigengrad.distributions.continuous import _uniform
from eigengrad.distributions.distribution import as_param, values_checked
from eigengrad.distributions.exp_family import ExponentialFamily
from eigengrad.tensor import Tensor


class ContinuousBernoulli(ExponentialFamily):
    """The continuous Bernoulli on [0, 1] with shape parameter ``probs`` (or ``sigmoid(logits)``)."""

    _param_event_dims = {"probs": 0, "logits": 0}
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def _natural_params(self) -> tuple:
        return (self.logits,)

    def _log_normalizer(self, x):
        """log C as a function of the natural parameter x (PyTorch's: log |expm1(x) / x|, its Taylor expansion
        0.5 x + x^2 / 24 - x^4 / 2880 where x is within the ``lims`` of 0, the lims shifted by -1/2 as PyTorch's)."""
        from eigengrad import where

        outside = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut = where(outside, x, self._lims[0] - 0.5)
        log_norm = cut.expm1().abs().log() - cut.abs().log()
        taylor = 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0
        return where(outside, log_norm, taylor)

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            probs = as_param(probs, "probs")
            # checked before the clamp (which any value would pass) and, as PyTorch, only when validate_args
            # is given (True or False)
            if validate_args is not None:
                values_checked()
                if not bool(np.all(constraints.unit_interval.check(probs))):
                    raise ValueError("The parameter probs has invalid values")
            eps = float(np.finfo(probs._data.dtype).eps)
            self.probs = probs.clamp(min=eps, max=1 - eps)
            self.logits = self.probs.log() - (-self.probs).log1p()
        else:
            self.logits = as_param(logits, "logits")
            self.probs = self.logits.sigmoid()
        self._lims = lims
        super().__init__(self.probs.shape, (), validate_args)

    # --- the unstable region around probs = 1/2 -------------------------------------------------------
    def _outside_unstable_region(self) -> Tensor:
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self) -> Tensor:
        """probs outside the unstable region, lims[0] inside it (so that the exact formulas stay finite)."""
        from eigengrad import where

        return where(self._outside_unstable_region(), self.probs, self.probs.new_full((), self._lims[0]))

    def _cont_bern_log_norm(self) -> Tensor:
        """log C(probs)."""
        from eigengrad import where

        cut = self._cut_probs()
        below = where(cut <= 0.5, cut, cut.new_zeros(()))
        above = where(cut >= 0.5, cut, cut.new_ones(()))
        exact = ((-cut).log1p() - cut.log()).abs().log() - where(cut <= 0.5, (-2.0 * below).log1p(),
                                                                 (2.0 * above - 1.0).log())
        x = (self.probs - 0.5) ** 2
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return where(self._outside_unstable_region(), exact, taylor)

    @property
    def mean(self) -> Tensor:
        from eigengrad import where

        cut = self._cut_probs()
        exact = cut / (2.0 * cut - 1.0) + 1.0 / ((-cut).log1p() - cut.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x ** 2) * x
        return where(self._outside_unstable_region(), exact, taylor)

    @property
    def variance(self) -> Tensor:
        from eigengrad import where

        cut = self._cut_probs()
        exact = cut * (cut - 1.0) / (1.0 - 2.0 * cut) ** 2 + 1.0 / ((-cut).log1p() - cut.log()) ** 2
        x = (self.probs - 0.5) ** 2
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return where(self._outside_unstable_region(), exact, taylor)

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    @property
    def param_shape(self):
        return self.probs.shape

    def rsample(self, sample_shape=()) -> Tensor:
        return self.icdf(_uniform(self._extended_shape(sample_shape), self.probs))

    def log_prob(self, value) -> Tensor:
        from eigengrad.nn.functional import binary_cross_entropy_with_logits

        value = self._value(value, self.probs)
        self._validate_sample(value)
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.logits.shape))
        bce = binary_cross_entropy_with_logits(self.logits.expand(*shape), value.expand(*shape), reduction="none")
        return -bce + self._cont_bern_log_norm()

    def cdf(self, value) -> Tensor:
        from eigengrad import where

        value = self._value(value, self.probs)
        self._validate_sample(value)
        cut = self._cut_probs()
        exact = (cut ** value * (1.0 - cut) ** (1.0 - value) + cut - 1.0) / (2.0 * cut - 1.0)
        inside = where(self._outside_unstable_region(), exact, value)
        return where(value <= 0.0, value.new_zeros(()), where(value >= 1.0, value.new_ones(()), inside))

    def icdf(self, value) -> Tensor:
        from eigengrad import where

        value = self._value(value, self.probs)
        cut = self._cut_probs()
        exact = ((-cut + value * (2.0 * cut - 1.0)).log1p() - (-cut).log1p()) / (cut.log() - (-cut).log1p())
        return where(self._outside_unstable_region(), exact, value)

    def entropy(self) -> Tensor:
        log_p0 = (-self.probs).log1p()
        log_p1 = self.probs.log()
        return self.mean * (log_p0 - log_p1) - self._cont_bern_log_norm() - log_p0
