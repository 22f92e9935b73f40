"""``torch.distributions``' most used members: ``Categorical`` (policy gradients, sampling from a language
model), ``Normal`` (VAEs, Gaussian policies), ``Bernoulli``, and ``kl_divergence`` between two of one family.

Parameters are tensors (numbers are accepted); ``log_prob``, ``entropy``, ``rsample`` and ``kl_divergence``
are differentiable through eigengrad's tensor ops, ``sample`` is not (as PyTorch). Shapes follow PyTorch:
``batch_shape`` is the parameters' broadcast shape (without the category dim for Categorical),
``sample(sample_shape)`` prepends ``sample_shape``.
"""
from eigengrad.distributions.distribution import Distribution
from eigengrad.distributions.categorical import Categorical
from eigengrad.distributions.normal import Bernoulli, Normal
from eigengrad.distributions.kl import kl_divergence

__all__ = ["Distribution", "Categorical", "Normal", "Bernoulli", "kl_divergence"]
