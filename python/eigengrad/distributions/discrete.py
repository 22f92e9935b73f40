"""Poisson(rate), Binomial(total_count, probs or logits) and OneHotCategorical(probs or logits): log_prob and
moments as PyTorch's (differentiable in the parameters), samples from NumPy's samplers seeded from eigengrad's
generator (Poisson, Binomial) or from Categorical's."""
from __future__ import annotations

import numpy as np

from eigengrad.distributions import constraints
from eigengrad.distributions.categorical import Categorical
from eigengrad.distributions.distribution import Distribution, ScalarEvents, broadcast_all, numpy_rng, values_checked
from eigengrad.distributions.exp_family import ExponentialFamily
from eigengrad.tensor import Tensor
from eigengrad.tensor_ops.index import where


class Poisson(ScalarEvents, ExponentialFamily):
    """P(X = k) = rate^k e^(-rate) / k!; an exponential family with natural parameter log(rate) (no entropy:
    its carrier measure's mean, E[-log X!], has no closed form; as PyTorch)."""

    @property
    def _natural_params(self) -> tuple:
        return (self.rate.log(),)

    def _log_normalizer(self, x):
        return x.exp()

    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer
    _param_event_dims = {"rate": 0}

    def __init__(self, rate, validate_args=None) -> None:
        self._init_params((rate,), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.rate

    @property
    def mode(self) -> Tensor:
        return self.rate.floor()

    @property
    def variance(self) -> Tensor:
        return self.rate

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        lam = np.broadcast_to(self.rate.detach().numpy().astype(np.float64), shape)
        return Tensor._wrap(np.asarray(numpy_rng().poisson(lam)).astype(self.rate._data.dtype))  # (0-d: a scalar)

    def log_prob(self, value) -> Tensor:
        from eigengrad import xlogy

        value = self._value(value, self.rate)
        self._validate_sample(value)
        return xlogy(value, self.rate) - self.rate - (value + 1).lgamma()


def _clamp_by_zero(x: Tensor) -> Tensor:
    """max(x, 0) with gradient 1/2 at 0, as PyTorch's (so the gradients agree there too)."""
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


class Binomial(Distribution):
    """P(X = k) = C(n, k) p^k (1 - p)^(n - k), n = total_count."""

    _param_event_dims = {"total_count": 0, "probs": 0, "logits": 0}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            eps = float(np.finfo(self.probs._data.dtype).eps)
            p = self.probs.clamp(min=eps, max=1 - eps)
            self.logits = p.log() - (-p).log1p()
            self.arg_constraints = {"total_count": constraints.nonnegative_integer, "probs": constraints.unit_interval}
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.probs = self.logits.sigmoid()
            self.arg_constraints = {"total_count": constraints.nonnegative_integer, "logits": constraints.real}
        super().__init__(self.probs.shape, (), validate_args)

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.probs

    @property
    def mode(self) -> Tensor:
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        n = np.broadcast_to(self.total_count.detach().numpy().astype(np.int64), shape)
        p = np.broadcast_to(self.probs.detach().numpy().astype(np.float64), shape)
        return Tensor._wrap(np.asarray(numpy_rng().binomial(n, p)).astype(self.probs._data.dtype))

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.logits)
        self._validate_sample(value)
        return self._log_pmf(value)

    def _log_pmf(self, value: Tensor) -> Tensor:
        n, logits = self.total_count, self.logits
        log_factorial = (n + 1).lgamma() - (value + 1).lgamma() - (n - value + 1).lgamma()
        # n log(1 + e^l) without overflow: n max(l, 0) + n log1p(e^-|l|)
        normalize = n * _clamp_by_zero(logits) + n * (-logits.abs()).exp().log1p() - log_factorial
        return value * logits - normalize

    has_enumerate_support = True

    def _counts_up_to(self) -> Tensor:
        """0, 1, ..., max(total_count) along a new first dim, broadcasting against the batch."""
        counts = self.total_count._data
        top = int(counts.max()) if counts.size else 0
        ks = np.arange(top + 1, dtype=self.probs._data.dtype)
        return Tensor._wrap(ks.reshape((-1,) + (1,) * len(self.batch_shape)))

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """0, 1, ..., n along a new first dim: one range for the whole batch, so every element's total count
        n must be the same (PyTorch's rule and error)."""
        counts = self.total_count._data
        if counts.size and counts.min() != counts.max():
            raise NotImplementedError(
                "Inhomogeneous total count not supported by `enumerate_support`. (total_count ranges from "
                f"{counts.min():g} to {counts.max():g} over the batch; the support is one range 0..n for all)")
        values = self._counts_up_to()
        return values.expand((-1,) + tuple(self.batch_shape)) if expand else values

    def entropy(self) -> Tensor:
        """H = -sum_{k=0}^{n} P(k) log P(k) per batch element, summed over k = 0..max(total_count) with the
        terms past an element's own n (P(k) = 0 there) left out: unequal counts work too (PyTorch raises),
        and with equal ones this is PyTorch's sum over the enumerated support."""
        k = self._counts_up_to()
        inside = k <= self.total_count
        log_pmf = self._log_pmf(where(inside, k, 0.0))  # (k = 0 where k > n: finite, then masked out)
        return -where(inside, log_pmf.exp() * log_pmf, 0.0).sum(0)


class _OverCategorical:
    """A distribution built on a Categorical over K (``self._categorical``): its parameters are the
    Categorical's, and ``expand`` expands that Categorical (``_expanded`` then rebuilds what depends on it)."""

    def expand(self, batch_shape, _instance=None):
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        k = self._categorical.param_shape[-1]
        new._categorical = Categorical(logits=self.logits.expand(*batch_shape, k), validate_args=False)
        new._batch_shape = new._categorical.batch_shape
        new._expanded()
        return new

    def _expanded(self) -> None:
        """What depends on the Categorical, rebuilt after ``expand`` (nothing by default)."""

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def param_shape(self):
        return self._categorical.param_shape


class OneHotCategorical(_OverCategorical, Distribution):
    """A Categorical whose samples are one-hot vectors of K: event_shape (K,)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None) -> None:
        self._categorical = Categorical(probs=probs, logits=logits, validate_args=validate_args)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def mode(self) -> Tensor:
        from eigengrad.nn.functional import one_hot

        return one_hot(self.probs.argmax(-1), self.probs.shape[-1]).to(self.probs.dtype)

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        from eigengrad.nn.functional import one_hot

        indices = self._categorical.sample(sample_shape)
        return one_hot(indices, self.probs.shape[-1]).to(self.probs.dtype)

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.probs)
        self._validate_sample(value)
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self) -> Tensor:
        return self._categorical.entropy()

    def enumerate_support(self, expand: bool = True) -> Tensor:
        """The K one-hot vectors (the parameters' dtype) along a new first dim, expanded over the batch."""
        k = self._categorical._num_events
        eye = np.eye(k, dtype=self.probs._data.dtype)
        values = Tensor._wrap(eye.reshape((k,) + (1,) * len(self.batch_shape) + (k,)))
        return values.expand(k, *self.batch_shape, k) if expand else values

    def __repr__(self) -> str:
        return f"OneHotCategorical(probs: {tuple(self.probs.shape)})"


class Multinomial(_OverCategorical, Distribution):
    """Counts of ``total_count`` draws from a Categorical over K: event_shape (K,),
    P(x) = n! / prod(x_k!) prod(p_k^x_k). ``total_count`` is one int for the whole batch (PyTorch's)."""

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:], validate_args)

    def _expanded(self) -> None:
        self._binomial = Binomial(total_count=self.total_count, probs=self.probs, validate_args=False)

    @property
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape=()) -> Tensor:
        """Counts of total_count categorical draws per sample (the parameters' dtype)."""
        shape = self._extended_shape(sample_shape)
        draws = self._categorical.sample((self.total_count,) + tuple(sample_shape))._data  # (n, *sample, *batch)
        k = self._categorical._num_events
        counts = (draws[..., None] == np.arange(k)).sum(0)
        return Tensor._wrap(counts.reshape(shape).astype(self.probs._data.dtype))

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.probs)
        self._validate_sample(value)
        logits = self.logits
        shape = np.broadcast_shapes(tuple(logits.shape), tuple(value.shape))
        logits, value = logits.expand(*shape), value.expand(*shape)
        # 0 * log(0) is 0: a category with probability 0 and no draws costs nothing
        logits = where((value == 0) & (logits == float("-inf")), 0.0, logits)
        log_factorials = (value.sum(-1) + 1).lgamma() - (value + 1).lgamma().sum(-1)
        return log_factorials + (logits * value).sum(-1)

    def entropy(self) -> Tensor:
        """H = n H(Categorical) - log n! + sum_k E[log x_k!], x_k ~ Binomial(n, p_k)."""
        n = float(self.total_count)
        term1 = n * self._categorical.entropy() - float(np.log(np.arange(1, self.total_count + 1)).sum())
        support = self._binomial.enumerate_support(expand=False)[1:]  # 1..n along a new first dim
        weights = (support + 1).lgamma()
        term2 = (self._binomial.log_prob(support).exp() * weights).sum([0, -1])
        return term1 + term2


def _probs_and_logits(probs, logits, like=None) -> tuple:
    """(probs, logits) from the one given: logits = log p - log(1 - p), p clamped to [eps, 1 - eps] (PyTorch's
    probs_to_logits), or probs = sigmoid(logits)."""
    if probs is not None:
        eps = float(np.finfo(probs._data.dtype).eps)
        p = probs.clamp(min=eps, max=1 - eps)
        return probs, p.log() - (-p).log1p()
    return logits.sigmoid(), logits


class Geometric(Distribution):
    """The number of failures before the first success in Bernoulli(probs) trials: P(X = k) = (1 - p)^k p."""

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.nonnegative_integer
    _param_event_dims = {"probs": 0, "logits": 0}

    def __init__(self, probs=None, logits=None, validate_args=None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        (given,) = broadcast_all(probs if probs is not None else logits)
        self.probs, self.logits = _probs_and_logits(given if probs is not None else None,
                                                    given if logits is not None else None)
        self.arg_constraints = ({"probs": constraints.unit_interval} if probs is not None
                                else {"logits": constraints.real})
        super().__init__(given.shape, (), validate_args)
        if self._validate_args and probs is not None:
            values_checked()
            if not bool((self.probs._data > 0).all()):
                raise ValueError(f"Expected parameter probs ({type(self.probs).__name__} of shape "
                                 f"{tuple(self.probs.shape)}) of distribution {self!r} to be positive but found "
                                 f"invalid values:\n{self.probs.detach()[~(self.probs > 0)]}")

    @property
    def mean(self) -> Tensor:
        return 1.0 / self.probs - 1.0

    @property
    def mode(self) -> Tensor:
        return self.probs * 0.0

    @property
    def variance(self) -> Tensor:
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape=()) -> Tensor:
        from eigengrad import no_grad, rand

        shape = self._extended_shape(sample_shape)
        with no_grad():
            tiny = float(np.finfo(self.probs._data.dtype).tiny)
            u = rand(*shape, dtype=self.probs.dtype).clamp(min=tiny)
            return (u.log() / (-self.probs).log1p()).floor()

    def log_prob(self, value) -> Tensor:
        value = self._value(value, self.probs)
        self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        probs = where((probs == 1) & (value == 0), probs * 0.0, probs)  # 0 log(0) = 0 at p = 1
        return value * (-probs).log1p() + self.probs.log()

    def entropy(self) -> Tensor:
        from eigengrad.nn.functional import binary_cross_entropy_with_logits

        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs


class NegativeBinomial(Distribution):
    """The number of successes before ``total_count`` failures in Bernoulli(probs) trials:
    P(X = k) = Gamma(r + k) / (k! Gamma(r)) p^k (1 - p)^r, r = total_count (a positive real)."""

    support = constraints.nonnegative_integer
    _param_event_dims = {"total_count": 0, "probs": 0, "logits": 0}

    def __init__(self, total_count, probs=None, logits=None, validate_args=None) -> None:
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        self.total_count, given = broadcast_all(total_count, probs if probs is not None else logits)
        self.total_count = self.total_count.to(given.dtype)
        self.probs, self.logits = _probs_and_logits(given if probs is not None else None,
                                                    given if logits is not None else None)
        self.arg_constraints = {"total_count": constraints.greater_than_eq(0),
                                **({"probs": constraints.half_open_interval(0.0, 1.0)} if probs is not None
                                   else {"logits": constraints.real})}
        super().__init__(given.shape, (), validate_args)

    @property
    def mean(self) -> Tensor:
        return self.total_count * self.logits.exp()

    @property
    def mode(self) -> Tensor:
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self) -> Tensor:
        return self.mean / (-self.logits).sigmoid()

    def sample(self, sample_shape=()) -> Tensor:
        """Poisson draws at Gamma(total_count, rate e^-logits) rates (the gamma-Poisson mixture)."""
        from eigengrad.distributions.gamma import Gamma

        rate = Gamma(self.total_count.detach(), (-self.logits.detach()).exp(), validate_args=False).sample(sample_shape)
        return Poisson(rate, validate_args=False).sample()

    def log_prob(self, value) -> Tensor:
        from eigengrad.nn.functional import logsigmoid

        value = self._value(value, self.logits)
        self._validate_sample(value)
        unnormalised = self.total_count * logsigmoid(-self.logits) + value * logsigmoid(self.logits)
        normalisation = -(self.total_count + value).lgamma() + (1.0 + value).lgamma() + self.total_count.lgamma()
        # total_count = value = 0 has probability 1, but lgamma(0) is infinite
        normalisation = normalisation.masked_fill(self.total_count + value == 0.0, 0.0)
        return unnormalised - normalisation


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """A OneHotCategorical with the straight-through gradient estimator (Bengio, Leonard & Courville 2013,
    "Estimating or propagating gradients through stochastic neurons for conditional computation",
    arXiv:1308.3432): ``rsample`` is the one-hot draw plus probs - probs.detach(), the draw's value with the
    gradient of the probabilities."""

    has_rsample = True

    def rsample(self, sample_shape=()) -> Tensor:
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())
