"""KL(p || q) between two distributions of one family, in closed form."""
from __future__ import annotations

from eigengrad.distributions.categorical import Categorical
from eigengrad.distributions.distribution import Distribution
from eigengrad.distributions.normal import Bernoulli, Normal
from eigengrad.tensor import Tensor


def kl_divergence(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q) = E_p[log p - log q], batched over the distributions' batch shape."""
    if isinstance(p, Normal) and isinstance(q, Normal):
        var_ratio = (p.scale / q.scale) ** 2
        t1 = ((p.loc - q.loc) / q.scale) ** 2
        return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())
    if isinstance(p, Categorical) and isinstance(q, Categorical):
        t = p.probs * (p.logits - q.logits)
        return t.masked_fill(p.probs.detach() == 0, 0.0).sum(-1)
    if isinstance(p, Bernoulli) and isinstance(q, Bernoulli):
        from eigengrad.nn.functional import softplus

        return p.probs * (softplus(-q.logits) - softplus(-p.logits)) + \
            (1 - p.probs) * (softplus(q.logits) - softplus(p.logits))
    raise NotImplementedError(f"No KL(p || q) is implemented for p = {type(p).__name__}, q = {type(q).__name__}")
