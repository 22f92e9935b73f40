"""Gamma(concentration, rate), Beta(concentration1, concentration0) and Dirichlet(concentration): densities
through ``lgamma``/``digamma`` (differentiable to every order), samples from NumPy's gamma sampler seeded from
eigengrad's generator. ``rsample`` is differentiable in the concentration by implicit reparameterisation
(Figurnov, Mohamed & Mnih 2018, "Implicit Reparameterization Gradients"): the Gamma(a, 1) draw x moves with a
as its quantile does, dx/da = -(dP(a, x)/da) / p(x; a), computed exactly (PyTorch's is an approximation,
~1e-5 relative); Dirichlet and Beta normalise such draws (the gradient flows through the normalisation);
StudentT divides a normal draw by the root of a chi-square (a gamma) one."""
from __future__ import annotations

import math

import numpy as np

from eigengrad.distributions import constraints
from eigengrad.distributions.distribution import (
    ScalarEvents, as_param, as_value, broadcast_all, numpy_rng,
)
from eigengrad.distributions.exp_family import ExponentialFamily
from eigengrad.tensor import Tensor


def _standard_gamma(alpha: Tensor, shape) -> np.ndarray:
    """Gamma(alpha, 1) draws of ``shape`` (alpha broadcast to it), at least the dtype's smallest normal."""
    a = np.broadcast_to(alpha.detach().numpy().astype(np.float64), shape)
    x = np.asarray(numpy_rng().standard_gamma(a)) if a.size else np.zeros(shape)
    return np.maximum(x, np.finfo(alpha._data.dtype).tiny).astype(alpha._data.dtype)


def _rsample_standard_gamma(alpha: Tensor, shape) -> Tensor:
    """Gamma(alpha, 1) draws of ``shape``, differentiable in alpha (``ops_special.StandardGamma``)."""
    from eigengrad.autograd.ops_special import StandardGamma

    return StandardGamma.apply(alpha, sample=_standard_gamma(alpha, shape))


class Gamma(ScalarEvents, ExponentialFamily):
    """density rate^a x^(a - 1) e^(-rate x) / Gamma(a), a the concentration; an exponential family with natural
    parameters (a - 1, -rate)."""

    _mean_carrier_measure = 0

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return (x + 1).lgamma() + (x + 1) * (-y.reciprocal()).log()

    has_rsample = True

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    _param_event_dims = {"concentration": 0, "rate": 0}

    def __init__(self, concentration, rate, validate_args=None) -> None:
        self._init_params((concentration, rate), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        return _rsample_standard_gamma(self.concentration, shape) / self.rate.expand(*shape)

    def log_prob(self, value) -> Tensor:
        from eigengrad import xlogy

        # PyTorch's Gamma.log_prob casts the value to rate's dtype first: numbers pass, float64 does not promote
        value = as_value(value, self.rate).to(self.rate.dtype)
        self._validate_sample(value)
        a, b = self.concentration, self.rate
        return xlogy(a, b) + xlogy(a - 1, value) - b * value - a.lgamma()

    def cdf(self, value) -> Tensor:
        from eigengrad.special import gammainc

        value = self._value(value, self.rate)
        self._validate_sample(value)
        return gammainc(self.concentration, self.rate * value)

    def entropy(self) -> Tensor:
        a = self.concentration
        return a - self.rate.log() + a.lgamma() + (1.0 - a) * a.digamma()


class Dirichlet(ExponentialFamily):
    """density Gamma(sum a) / prod Gamma(a_i) prod x_i^(a_i - 1) on the simplex; an exponential family with
    natural parameter a."""

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration,)

    def _log_normalizer(self, x):
        return x.lgamma().sum(-1) - x.sum(-1).lgamma()

    has_rsample = True

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    _param_event_dims = {"concentration": 1}

    def __init__(self, concentration, validate_args=None) -> None:
        concentration = as_param(concentration, "concentration")
        if concentration.ndim < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args)

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        """PyTorch's: the normalised (concentration - 1)^+, and where every concentration is below 1 (0/0) the
        one-hot of the first component (its argmax over a row of NaN)."""
        from eigengrad import where

        a = (self.concentration - 1).clamp(min=0.0)
        below = (self.concentration < 1).all(-1, keepdim=True)
        first = (np.arange(self.concentration.shape[-1]) == 0).astype(self.concentration._data.dtype)
        return where(below, Tensor._wrap(first), a / a.sum(-1, keepdim=True))

    @property
    def variance(self) -> Tensor:
        a0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (a0 - self.concentration) / (a0.pow(2) * (a0 + 1))

    def rsample(self, sample_shape=()) -> Tensor:
        g = _rsample_standard_gamma(self.concentration, self._extended_shape(sample_shape))
        finfo = np.finfo(g._data.dtype)
        return (g / g.sum(-1, keepdim=True)).clamp(min=float(finfo.tiny), max=1.0 - float(finfo.eps))

    def log_prob(self, value) -> Tensor:
        from eigengrad import xlogy

        value = self._value(value, self.concentration)
        self._validate_sample(value)
        a = self.concentration
        return xlogy(a - 1.0, value).sum(-1) + a.sum(-1).lgamma() - a.lgamma().sum(-1)

    def entropy(self) -> Tensor:
        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        return a.lgamma().sum(-1) - a0.lgamma() - (k - a0) * a0.digamma() - ((a - 1.0) * a.digamma()).sum(-1)


class Chi2(Gamma):
    """The chi-squared distribution with ``df`` degrees of freedom: Gamma(df / 2, 1 / 2)."""

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df, validate_args=None) -> None:
        super().__init__(0.5 * as_param(df, "df"), 0.5, validate_args)

    @property
    def df(self) -> Tensor:
        return self.concentration * 2


class Beta(ExponentialFamily):
    """density x^(a - 1) (1 - x)^(b - 1) / B(a, b) on [0, 1] (a = concentration1, b = concentration0); an
    exponential family with natural parameters (a, b)."""

    @property
    def _natural_params(self) -> tuple:
        return (self.concentration1, self.concentration0)

    def _log_normalizer(self, x, y):
        return x.lgamma() + y.lgamma() - (x + y).lgamma()

    has_rsample = True

    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    _param_event_dims = {"concentration1": 0, "concentration0": 0}

    def __init__(self, concentration1, concentration0, validate_args=None) -> None:
        from eigengrad import stack

        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        # PyTorch's Beta is a Dirichlet over (x, 1 - x): its parameter check (and error message) is the Dirichlet's
        self._dirichlet_dist = Dirichlet(stack([self.concentration1, self.concentration0], -1), validate_args)
        super().__init__(self.concentration1.shape, (), validate_args)

    def _dirichlet(self) -> Dirichlet:
        if tuple(self._dirichlet_dist.batch_shape) != tuple(self._batch_shape):  # after expand
            self._dirichlet_dist = self._dirichlet_dist.expand(self._batch_shape)
        return self._dirichlet_dist

    @property
    def mean(self) -> Tensor:
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self) -> Tensor:
        return self._dirichlet().mode[..., 0]

    @property
    def variance(self) -> Tensor:
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape=()) -> Tensor:
        return self._dirichlet().rsample(sample_shape)[..., 0]

    def log_prob(self, value) -> Tensor:
        from eigengrad import stack

        value = self._value(value, self.concentration1)
        self._validate_sample(value)
        return self._dirichlet().log_prob(stack([value, 1.0 - value], -1))

    def entropy(self) -> Tensor:
        return self._dirichlet().entropy()


class StudentT(ScalarEvents):
    r"""Student's t with ``df`` degrees of freedom, location ``loc`` and scale ``scale``: density
    Gamma((df + 1) / 2) / (Gamma(df / 2) sqrt(pi df) scale) (1 + z^2 / df)^(-(df + 1) / 2), z = (x - loc) /
    scale. ``rsample`` as PyTorch's: loc + scale X / sqrt(Z / df), X ~ N(0, 1), Z ~ Chi2(df) = Gamma(df / 2,
    1 / 2) (reparameterised in df through the gamma draw)."""

    has_rsample = True
    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    _param_event_dims = {"df": 0, "loc": 0, "scale": 0}

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None) -> None:
        self._init_params((df, loc, scale), validate_args)

    @property
    def mean(self) -> Tensor:
        from eigengrad import where

        return where(self.df > 1, self.loc, float("nan"))  # (no NaN branch whose gradient 0 * NaN would leak)

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        from eigengrad import where

        df = self.df
        finite = self.scale.pow(2) * df / where(df > 2, df - 2, 1.0)  # (a safe denominator where it is unused)
        return where(df > 2, finite, where(df > 1, float("inf"), float("nan")))

    def rsample(self, sample_shape=()) -> Tensor:
        from eigengrad import randn

        shape = self._extended_shape(sample_shape)
        x = randn(*shape, dtype=self.df.dtype)
        z = _rsample_standard_gamma(self.df * 0.5, shape) * 2.0  # Chi2(df)
        return self.loc + self.scale * x * (z / self.df).rsqrt()

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.loc)
        self._validate_sample(value)
        y = (value - self.loc) / self.scale
        df = self.df
        z = (self.scale.log() + 0.5 * df.log() + 0.5 * math.log(math.pi) + (0.5 * df).lgamma()
             - (0.5 * (df + 1.0)).lgamma())
        return -0.5 * (df + 1.0) * (y.pow(2) / df).log1p() - z

    def entropy(self) -> Tensor:
        df = self.df
        lbeta = (0.5 * df).lgamma() + math.lgamma(0.5) - (0.5 * (df + 1)).lgamma()
        return (self.scale.log() + 0.5 * (df + 1) * ((0.5 * (df + 1)).digamma() - (0.5 * df).digamma())
                + 0.5 * df.log() + lbeta)
