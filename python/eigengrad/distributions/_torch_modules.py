"""PyTorch's submodules of ``torch.distributions`` that eigengrad's files are not named after
(``torch.distributions.beta.Beta(a, a)``, mixup's idiom; ``from torch.distributions.uniform import Uniform``):
each is made as a module holding the names PyTorch's holds, registered as ``eigengrad.distributions.<name>``
(so ``eigengrad.compat`` imports it as ``torch.distributions.<name>``). The others (normal, gamma,
categorical, kl, constraints, transforms, ...) are eigengrad's own files of the same name."""
from __future__ import annotations

import sys
import types

# submodule -> the names PyTorch 2.13's holds (its __all__)
SUBMODULES = {
    "bernoulli": ["Bernoulli"], "beta": ["Beta"], "binomial": ["Binomial"], "cauchy": ["Cauchy"], "chi2": ["Chi2"],
    "dirichlet": ["Dirichlet"], "exponential": ["Exponential"], "fishersnedecor": ["FisherSnedecor"],
    "generalized_pareto": ["GeneralizedPareto"], "geometric": ["Geometric"], "gumbel": ["Gumbel"],
    "half_cauchy": ["HalfCauchy"], "half_normal": ["HalfNormal"], "independent": ["Independent"],
    "inverse_gamma": ["InverseGamma"], "kumaraswamy": ["Kumaraswamy"], "laplace": ["Laplace"],
    "lkj_cholesky": ["LKJCholesky"], "log_normal": ["LogNormal"], "logistic_normal": ["LogisticNormal"],
    "mixture_same_family": ["MixtureSameFamily"], "multinomial": ["Multinomial"],
    "negative_binomial": ["NegativeBinomial"],
    "one_hot_categorical": ["OneHotCategorical", "OneHotCategoricalStraightThrough"], "pareto": ["Pareto"],
    "poisson": ["Poisson"], "relaxed_bernoulli": ["LogitRelaxedBernoulli", "RelaxedBernoulli"],
    "relaxed_categorical": ["ExpRelaxedCategorical", "RelaxedOneHotCategorical"], "studentT": ["StudentT"],
    "transformed_distribution": ["TransformedDistribution"], "uniform": ["Uniform"], "weibull": ["Weibull"],
}


def install(package: types.ModuleType) -> None:
    """Registers each submodule of SUBMODULES under ``package`` (eigengrad.distributions, fully imported)."""
    for name, names in SUBMODULES.items():
        full = f"{package.__name__}.{name}"
        module = types.ModuleType(full, f"PyTorch's torch.distributions.{name}: {', '.join(names)}.")
        module.__all__ = list(names)
        for n in names:
            setattr(module, n, getattr(package, n))
        sys.modules[full] = module
        setattr(package, name, module)
