"""The concrete / Gumbel-softmax relaxation of a categorical (Maddison, Mnih & Teh 2017; Jang, Gu & Poole
2017), as PyTorch's: ``ExpRelaxedCategorical`` over log-probability vectors and ``RelaxedOneHotCategorical``
(its exp) over the simplex, and of a Bernoulli: ``LogitRelaxedBernoulli`` on the real line and
``RelaxedBernoulli`` (its sigmoid) on (0, 1); all reparameterised at temperature ``temperature``."""
from __future__ import annotations

import math

import numpy as np

from eigengrad.distributions import constraints
from eigengrad.distributions.categorical import Categorical
from eigengrad.distributions.discrete import _probs_and_logits
from eigengrad.distributions.distribution import Distribution, as_param
from eigengrad.distributions.transformed import ExpTransform, SigmoidTransform, TransformedDistribution
from eigengrad.tensor import Tensor


class ExpRelaxedCategorical(Distribution):
    r"""Log of a relaxed one-hot vector: x = log_softmax((logits + g) / T), g standard Gumbel draws. Its
    density over the K - 1 free coordinates: log p(x) = lgamma(K) + (K - 1) log T +
    sum_k (l_k - T x_k) - K logsumexp_k (l_k - T x_k), with l the normalised logits."""

    arg_constraints: dict = {}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        self._categorical = Categorical(probs, logits)
        self.temperature = as_param(temperature, "temperature")
        super().__init__(self._categorical.batch_shape, tuple(self._categorical.param_shape[-1:]), validate_args)

    def expand(self, batch_shape, _instance=None) -> "ExpRelaxedCategorical":
        new = object.__new__(type(self)) if _instance is None else _instance
        new.temperature, new._categorical = self.temperature, self._categorical.expand(batch_shape)
        Distribution.__init__(new, tuple(batch_shape), tuple(self.event_shape), validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def param_shape(self):
        return self._categorical.param_shape

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    def rsample(self, sample_shape=()) -> Tensor:
        from eigengrad import rand

        eps = float(np.finfo(self.logits._data.dtype).eps)
        uniforms = rand(*self._extended_shape(sample_shape), dtype=self.logits.dtype).clamp(min=eps, max=1 - eps)
        gumbels = -((-(uniforms.log())).log())
        scores = (self.logits + gumbels) / self.temperature
        return scores - scores.logsumexp(dim=-1, keepdim=True)

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.logits)
        self._validate_sample(value)
        k = self._categorical._num_events
        log_scale = math.lgamma(float(k)) + self.temperature.log() * (k - 1)
        score = self.logits - value * self.temperature
        return (score - score.logsumexp(dim=-1, keepdim=True)).sum(-1) + log_scale


class _ParametersOfBase:
    """The temperature, logits and probs of a relaxed distribution made as a transform of another: its base's."""

    @property
    def temperature(self) -> Tensor:
        return self.base_dist.temperature

    @property
    def logits(self) -> Tensor:
        return self.base_dist.logits

    @property
    def probs(self) -> Tensor:
        return self.base_dist.probs


class RelaxedOneHotCategorical(_ParametersOfBase, TransformedDistribution):
    """A relaxed one-hot vector on the simplex: softmax((logits + g) / T); ``rsample`` differentiable in the
    logits and the temperature (as PyTorch's, an ``ExpRelaxedCategorical`` pushed through exp)."""

    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        super().__init__(ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args),
                         ExpTransform(), validate_args=validate_args)


class LogitRelaxedBernoulli(Distribution):
    r"""The logit of a relaxed Bernoulli (Maddison, Mnih & Teh 2017): x = (logit(u) + logits) / T, u uniform.
    Its density: log p(x) = log T + (l - T x) - 2 log(1 + e^(l - T x)), with l the logits."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real
    has_rsample = True
    _param_event_dims = {"probs": 0, "logits": 0}

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        self.temperature = as_param(temperature, "temperature")
        self.probs, self.logits = _probs_and_logits(None if probs is None else as_param(probs, "probs"),
                                                    None if logits is None else as_param(logits, "logits"))
        super().__init__(self.probs.shape, (), validate_args)

    @property
    def param_shape(self):
        return self.probs.shape

    def rsample(self, sample_shape=()) -> Tensor:
        from eigengrad import rand

        shape = self._extended_shape(sample_shape)
        probs = _clamp_probs(self.probs.expand(*shape))
        uniforms = _clamp_probs(rand(*shape, dtype=self.probs.dtype))
        return (uniforms.log() - (-uniforms).log1p() + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.logits)
        self._validate_sample(value)
        diff = self.logits - value * self.temperature
        return self.temperature.log() + diff - 2 * diff.exp().log1p()


def _clamp_probs(p: Tensor) -> Tensor:
    """probs inside [eps, 1 - eps] of their dtype (PyTorch's clamp_probs)."""
    eps = float(np.finfo(p._data.dtype).eps)
    return p.clamp(min=eps, max=1 - eps)


class RelaxedBernoulli(_ParametersOfBase, TransformedDistribution):
    """A relaxed Bernoulli on (0, 1): sigmoid of a ``LogitRelaxedBernoulli`` (as PyTorch's), ``rsample``
    differentiable in the probs/logits and the temperature."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature, probs=None, logits=None, validate_args=None) -> None:
        super().__init__(LogitRelaxedBernoulli(temperature, probs, logits, validate_args=validate_args),
                         SigmoidTransform(), validate_args=validate_args)
