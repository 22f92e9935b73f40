"""``torch.distributions``' commonly used members: Normal, Bernoulli, ContinuousBernoulli, Categorical,
OneHotCategorical, Uniform, Exponential, Laplace, LogNormal, Gamma, Beta, Dirichlet, StudentT, Poisson, Binomial,
Multinomial, MultivariateNormal, LowRankMultivariateNormal, Cauchy, HalfCauchy, HalfNormal, Gumbel, Weibull, Pareto,
Chi2, Geometric, NegativeBinomial, Independent, MixtureSameFamily and TransformedDistribution (Exp, Affine, Sigmoid,
Tanh, Softplus, Power, Abs, Compose transforms), with ``kl_divergence`` for the common pairs (``register_kl`` adds
more); also VonMises, Wishart, LKJCholesky, InverseGamma, Kumaraswamy, FisherSnedecor, GeneralizedPareto,
LogisticNormal, OneHotCategoricalStraightThrough, the ExponentialFamily base, the structured transforms (Cat,
Stack, Reshape, Independent, Softmax, StickBreaking, LowerCholesky, PositiveDefinite, CorrCholesky,
CumulativeDistribution, ``identity_transform``) and the constraint registries ``biject_to`` / ``transform_to``.

Parameters are tensors (numbers are accepted); ``log_prob``, ``entropy``, ``rsample``, ``cdf``/``icdf`` and
``kl_divergence`` are differentiable through eigengrad's tensor ops, ``sample`` is not (as PyTorch). Shapes
follow PyTorch: ``batch_shape`` is the parameters' broadcast shape, ``sample(sample_shape)`` prepends
``sample_shape``. ``validate_args`` (on by default) raises PyTorch's ValueErrors for bad parameters and values.
Gamma, Beta and Dirichlet ``rsample`` by implicit reparameterisation (first order, as PyTorch's).
"""
import sys

from eigengrad.distributions import constraints
from eigengrad.distributions.distribution import Distribution
from eigengrad.distributions.categorical import Categorical
from eigengrad.distributions.normal import Bernoulli, Normal
from eigengrad.distributions.continuous import Exponential, Laplace, Uniform
from eigengrad.distributions.continuous_bernoulli import ContinuousBernoulli
from eigengrad.distributions.gamma import Beta, Chi2, Dirichlet, Gamma, StudentT
from eigengrad.distributions.discrete import (
    Binomial, Geometric, Multinomial, NegativeBinomial, OneHotCategorical, Poisson,
)
from eigengrad.distributions.heavy_tailed import Cauchy, Gumbel, HalfCauchy, HalfNormal, Pareto, Weibull
from eigengrad.distributions.multivariate_normal import MultivariateNormal
from eigengrad.distributions.lowrank_multivariate_normal import LowRankMultivariateNormal
from eigengrad.distributions.transformed import (
    AbsTransform, AffineTransform, ComposeTransform, ExpTransform, Independent, LogNormal, PowerTransform,
    SigmoidTransform, SoftplusTransform, TanhTransform, Transform, TransformedDistribution,
)
from eigengrad.distributions.kl import kl_divergence, register_kl
from eigengrad.distributions.mixture import MixtureSameFamily
from eigengrad.distributions.relaxed import (
    ExpRelaxedCategorical, LogitRelaxedBernoulli, RelaxedBernoulli, RelaxedOneHotCategorical,
)
from eigengrad.distributions.exp_family import ExponentialFamily
from eigengrad.distributions.discrete import OneHotCategoricalStraightThrough
from eigengrad.distributions.more_continuous import (
    FisherSnedecor, GeneralizedPareto, InverseGamma, Kumaraswamy, LogisticNormal,
)
from eigengrad.distributions.von_mises import VonMises
from eigengrad.distributions.wishart import LKJCholesky, Wishart
from eigengrad.distributions.structured_transforms import (
    CatTransform, CorrCholeskyTransform, CumulativeDistributionTransform, IndependentTransform,
    LowerCholeskyTransform, PositiveDefiniteTransform, ReshapeTransform, SoftmaxTransform, StackTransform,
    StickBreakingTransform,
)
from eigengrad.distributions.transformed import identity_transform
from eigengrad.distributions.constraint_registry import biject_to, transform_to
from eigengrad.distributions import transforms  # torch.distributions.transforms, as an attribute too

__all__ = ["Distribution", "Categorical", "Normal", "Bernoulli", "ContinuousBernoulli", "Exponential", "Laplace",
           "Uniform", "Beta",
           "Dirichlet", "Gamma", "Binomial", "OneHotCategorical", "Poisson", "MultivariateNormal",
           "LowRankMultivariateNormal", "Independent", "LogNormal", "TransformedDistribution", "Transform",
           "ExpTransform", "AffineTransform", "SigmoidTransform", "TanhTransform", "ComposeTransform",
           "kl_divergence", "register_kl", "constraints", "transforms", "MixtureSameFamily", "StudentT",
           "ExpRelaxedCategorical", "RelaxedOneHotCategorical", "Chi2", "Geometric", "NegativeBinomial", "Cauchy",
           "Gumbel", "HalfCauchy", "HalfNormal", "Pareto", "Weibull", "RelaxedBernoulli", "LogitRelaxedBernoulli",
           "Multinomial", "SoftplusTransform", "PowerTransform", "AbsTransform", "ExponentialFamily",
           "OneHotCategoricalStraightThrough", "FisherSnedecor", "GeneralizedPareto", "InverseGamma", "Kumaraswamy",
           "LogisticNormal", "VonMises", "Wishart", "LKJCholesky", "CatTransform", "CorrCholeskyTransform",
           "CumulativeDistributionTransform", "IndependentTransform", "LowerCholeskyTransform",
           "PositiveDefiniteTransform", "ReshapeTransform", "SoftmaxTransform", "StackTransform",
           "StickBreakingTransform", "identity_transform", "biject_to", "transform_to"]

from eigengrad.distributions import _torch_modules, utils  # noqa: E402,F401  (torch.distributions.utils)

_torch_modules.install(sys.modules[__name__])  # torch.distributions.beta, .uniform, ...: see _torch_modules
