"""ExponentialFamily: the base of distributions of density p(x; theta) = exp(<t(x), theta> - F(theta) + k(x)),
theta the natural parameters, F the log normalizer and k the carrier measure, as PyTorch's. A subclass gives
``_natural_params`` (a tuple of tensors), ``_log_normalizer(*natural_params)`` and ``_mean_carrier_measure``
(E[k(X)]); the entropy then follows from the gradient of F (E[t(X)] = grad F(theta)):
H = F(theta) - <theta, grad F(theta)> - E[k(X)], and KL(p || q) between two members of one family is the
Bregman divergence of F: F(theta_q) - F(theta_p) - <theta_q - theta_p, grad F(theta_p)> (Nielsen & Garcia 2009,
"Statistical exponential families: A digest with flash cards", arXiv:0911.4863; kl.py registers it). As
PyTorch's, both evaluate F at detached copies of p's natural parameters (the gradient of F taken there with
``create_graph``): the entropy carries no gradient to the parameters, the KL carries one to q's.

Subclasses, as PyTorch's: Normal, Bernoulli, ContinuousBernoulli, Exponential, Gamma (and Chi2), Poisson, Beta,
Dirichlet and Wishart (their closed-form entropies and KL pairs stay, and take precedence)."""
from __future__ import annotations

from eigengrad.distributions.distribution import Distribution
from eigengrad.tensor import Tensor


class ExponentialFamily(Distribution):
    """See the module's docstring."""

    # What a subclass must give (an abstract base: PyTorch's raises NotImplementedError too).
    @property
    def _natural_params(self) -> tuple:
        raise NotImplementedError(f"{type(self).__name__} must define _natural_params (an ExponentialFamily)")

    def _log_normalizer(self, *natural_params) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define _log_normalizer (an ExponentialFamily)")

    @property
    def _mean_carrier_measure(self) -> float:
        raise NotImplementedError(f"{type(self).__name__} must define _mean_carrier_measure (an ExponentialFamily)")

    def _normalizer_and_gradients(self) -> tuple:
        """(the natural parameters as fresh leaves, F at them, grad F there with its graph)."""
        from eigengrad import autograd

        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        lg_normal = self._log_normalizer(*nparams)
        gradients = autograd.grad(lg_normal.sum(), nparams, create_graph=True)
        return nparams, lg_normal, gradients

    def entropy(self) -> Tensor:
        nparams, lg_normal, gradients = self._normalizer_and_gradients()
        result = -self._mean_carrier_measure + lg_normal
        for p, g in zip(nparams, gradients):
            result = result - (p * g).reshape(*self._batch_shape, -1).sum(-1)
        return result
