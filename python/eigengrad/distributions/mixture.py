"""``MixtureSameFamily``: a mixture of K components of one family, p(x) = sum_k pi_k p_k(x) (a mixture
density network's output distribution), as PyTorch's: the mixture weights a ``Categorical`` of batch shape
B, the components one distribution of batch shape B + (K,)."""
from __future__ import annotations

from eigengrad.distributions import constraints
from eigengrad.distributions.categorical import Categorical
from eigengrad.distributions.distribution import Distribution
from eigengrad.tensor import Size, Tensor


class MixtureSameFamily(Distribution):
    """``MixtureSameFamily(mixture_distribution, component_distribution)``.

    log p(x) = logsumexp_k (log pi_k + log p_k(x)); the mean is sum_k pi_k mu_k and the variance, by the law
    of total variance, sum_k pi_k sigma_k^2 + sum_k pi_k (mu_k - mu)^2. ``sample`` draws a component per
    sample, then takes that component's draw (not reparameterisable: no ``rsample``, as PyTorch)."""

    arg_constraints: dict = {}
    has_rsample = False

    def __init__(self, mixture_distribution: Categorical, component_distribution: Distribution,
                 validate_args=None) -> None:
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError(" The Mixture distribution needs to be an  instance of torch.distributions.Categorical")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("The Component distribution needs to be an instance of torch.distributions.Distribution")
        self._mixture_distribution, self._component_distribution = mixture_distribution, component_distribution
        mdbs, cdbs = tuple(mixture_distribution.batch_shape), tuple(component_distribution.batch_shape[:-1])
        for size1, size2 in zip(reversed(mdbs), reversed(cdbs)):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(f"`mixture_distribution.batch_shape` ({Size(mdbs)}) is not compatible with "
                                 f"`component_distribution.batch_shape`({Size(cdbs)})")
        km, kc = mixture_distribution.logits.shape[-1], component_distribution.batch_shape[-1]
        if km != kc:
            raise ValueError(f"`mixture_distribution component` ({km}) does not equal "
                             f"`component_distribution.batch_shape[-1]` ({kc})")
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cdbs, component_distribution.event_shape, validate_args)

    @property
    def mixture_distribution(self) -> Categorical:
        return self._mixture_distribution

    @property
    def component_distribution(self) -> Distribution:
        return self._component_distribution

    @property
    def support(self):
        return constraints.MixtureSameFamilyConstraint(self._component_distribution.support)

    def expand(self, batch_shape, _instance=None) -> "MixtureSameFamily":
        batch_shape = tuple(batch_shape)
        new = object.__new__(MixtureSameFamily) if _instance is None else _instance
        new._component_distribution = self._component_distribution.expand(batch_shape + (self._num_component,))
        new._mixture_distribution = self._mixture_distribution.expand(batch_shape)
        new._num_component, new._event_ndims = self._num_component, self._event_ndims
        Distribution.__init__(new, batch_shape, new._component_distribution.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _pad(self, x: Tensor) -> Tensor:
        """x with a component dimension before its event dimensions."""
        return x.unsqueeze(-1 - self._event_ndims)

    def _pad_mixture_dimensions(self, x: Tensor) -> Tensor:
        """The mixture's probabilities (..., K) shaped to broadcast against the components' (B, K, E)."""
        pad = 0 if len(self._mixture_distribution.batch_shape) == 1 else (
            len(self.batch_shape) - len(self._mixture_distribution.batch_shape))
        shape = tuple(x.shape)
        return x.reshape(shape[:-1] + (1,) * pad + shape[-1:] + (1,) * self._event_ndims)

    @property
    def mean(self) -> Tensor:
        probs = self._pad_mixture_dimensions(self._mixture_distribution.probs)
        return (probs * self._component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self) -> Tensor:
        probs = self._pad_mixture_dimensions(self._mixture_distribution.probs)
        mean_cond_var = (probs * self._component_distribution.variance).sum(-1 - self._event_ndims)
        spread = (self._component_distribution.mean - self._pad(self.mean)) ** 2.0
        return mean_cond_var + (probs * spread).sum(-1 - self._event_ndims)

    def cdf(self, x) -> Tensor:
        return (self._component_distribution.cdf(self._pad(x)) * self._mixture_distribution.probs).sum(-1)

    def log_prob(self, x) -> Tensor:
        self._validate_sample(x)
        log_prob_x = self._component_distribution.log_prob(self._pad(x))  # (S, B, K)
        log_mix_prob = self._mixture_distribution.logits.log_softmax(-1)  # (B, K)
        return (log_prob_x + log_mix_prob).logsumexp(-1)

    def sample(self, sample_shape=()) -> Tensor:
        from eigengrad.autograd import no_grad

        with no_grad():
            sample_shape = tuple(sample_shape)
            gather_dim = len(sample_shape) + len(self.batch_shape)
            event = tuple(self.event_shape)
            mix_sample = self._mixture_distribution.sample(sample_shape)
            comp_samples = self._component_distribution.sample(sample_shape)
            mix_shape = tuple(mix_sample.shape)
            index = mix_sample.reshape(mix_shape + (1,) * (len(event) + 1))
            index = index.repeat(*((1,) * len(mix_shape) + (1,) + event))
            return comp_samples.gather(gather_dim, index).squeeze(gather_dim)

    def __repr__(self) -> str:
        return f"MixtureSameFamily(\n  {self._mixture_distribution},\n  {self._component_distribution})"
