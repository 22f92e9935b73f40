"""``torch.special``: special functions under PyTorch's names (``eigengrad.special.gammaln(x)``,
``torch.special.digamma`` under :mod:`eigengrad.compat`). Each name is eigengrad's function of the same
meaning: the gamma family (``gammaln``, ``digamma``/``psi``, ``polygamma``, ``multigammaln``), the modified
Bessel functions (``i0``, ``i0e``, ``i1``, ``i1e``), the error-function family (``erf``, ``erfc``, ``erfinv``,
``erfcx``, ``ndtr``, ``ndtri``, ``log_ndtr``), and aliases of the elementwise and reduction functions
(``expit`` is ``sigmoid``, ``logsumexp``, ``softmax``, ...). All are differentiable to every order.

References: Abramowitz & Stegun, *Handbook of Mathematical Functions* (1964), chapters 6, 7, 9; S. Moshier,
*Methods and Programs for Mathematical Functions* (1989) (Cephes); see ``autograd/special_math.py``.
"""
from __future__ import annotations

from eigengrad.functions import (  # noqa: F401 (the names of torch.special)
    digamma, erf, erfc, erfinv, exp2, expm1, i0, lgamma as gammaln, log1p, logit, logsumexp, mvlgamma as
    multigammaln, polygamma, round, sigmoid as expit, sinc, xlogy,
)
from eigengrad.tensor_ops.special import entr, erfcx, i0e, i1, i1e, log_ndtr, ndtr, ndtri, xlog1py  # noqa: F401

psi = digamma


def softmax(input, dim: int, *, dtype=None):
    """``torch.special.softmax``: exp(x) / sum over ``dim`` (``dtype``: cast first)."""
    from eigengrad.tensor_ops.pointwise import softmax as _softmax

    return _softmax(input, dim, dtype=dtype)


def log_softmax(input, dim: int, *, dtype=None):
    """``torch.special.log_softmax``: x - logsumexp over ``dim`` (``dtype``: cast first)."""
    from eigengrad.tensor_ops.pointwise import log_softmax as _log_softmax

    return _log_softmax(input, dim, dtype=dtype)


__all__ = ["gammaln", "digamma", "psi", "polygamma", "multigammaln", "erf", "erfc", "erfinv", "erfcx", "expit", "logit",
           "xlogy", "xlog1py", "i0", "i0e", "i1", "i1e", "ndtr", "ndtri", "log_ndtr", "log1p", "expm1", "exp2", "sinc",
           "round", "entr", "logsumexp", "softmax", "log_softmax"]
