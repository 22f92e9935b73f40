"""``torch.special``: special functions under PyTorch's names (``eigengrad.special.gammaln(x)``,
``torch.special.digamma`` under :mod:`eigengrad.compat`). Each name is eigengrad's function of the same
meaning: the gamma family (``gammaln``, ``digamma``/``psi``, ``polygamma``, ``multigammaln``), the modified
Bessel functions (``i0``, ``i0e``, ``i1``, ``i1e``), the error-function family (``erf``, ``erfc``, ``erfinv``,
``erfcx``, ``ndtr``, ``ndtri``, ``log_ndtr``), and aliases of the elementwise and reduction functions
(``expit`` is ``sigmoid``, ``logsumexp``, ``softmax``, ...). All are differentiable to every order.

Also PyTorch's Bessel functions of integer order (``bessel_j0/j1/y0/y1``, ``modified_bessel_i0/i1/k0/k1``,
``scaled_modified_bessel_k0/k1``, ``spherical_bessel_j0``) and ``airy_ai`` (``special_bessel.py``), the Hurwitz
``zeta(x, q)`` (``special_zeta.py``, differentiable in q only) and the orthogonal polynomials
``chebyshev_polynomial_t/u/v/w``, ``shifted_chebyshev_polynomial_t/u/v/w``, ``hermite_polynomial_h/he``,
``laguerre_polynomial_l``, ``legendre_polynomial_p`` (``special_polynomials.py``); as in PyTorch these are not
differentiable (their results do not require grad) and exist in ``torch.special`` only.

References: Abramowitz & Stegun, *Handbook of Mathematical Functions* (1964), chapters 6, 7, 9; S. Moshier,
*Methods and Programs for Mathematical Functions* (1989) (Cephes); see ``autograd/special_math.py``.
"""
from __future__ import annotations

from eigengrad.functions import (  # noqa: F401 (the names of torch.special)
    digamma, erf, erfc, erfinv, exp2, expm1, i0, lgamma as gammaln, log1p, logit, logsumexp, mvlgamma as
    multigammaln, polygamma, round, sigmoid as expit, sinc, xlogy,
)
from eigengrad.tensor_ops.special import (  # noqa: F401
    entr, erfcx, gammainc, gammaincc, i0e, i1, i1e, log_ndtr, ndtr, ndtri, xlog1py,
)

from eigengrad.special_polynomials import (  # noqa: F401,E402 (torch.special's orthogonal polynomials)
    chebyshev_polynomial_t, chebyshev_polynomial_u, chebyshev_polynomial_v, chebyshev_polynomial_w,
    hermite_polynomial_h, hermite_polynomial_he, laguerre_polynomial_l, legendre_polynomial_p,
    shifted_chebyshev_polynomial_t, shifted_chebyshev_polynomial_u, shifted_chebyshev_polynomial_v,
    shifted_chebyshev_polynomial_w,
)
from eigengrad.special_zeta import zeta  # noqa: F401,E402
from eigengrad import special_bessel as _bessel  # noqa: E402

psi = digamma
# Bessel functions of integer order, spherical j0 and Airy Ai (``special_bessel``: NumPy, not differentiable)
bessel_j0, bessel_j1 = _bessel.unary("bessel_j0"), _bessel.unary("bessel_j1")
bessel_y0, bessel_y1 = _bessel.unary("bessel_y0"), _bessel.unary("bessel_y1")
modified_bessel_i0, modified_bessel_i1 = _bessel.unary("modified_bessel_i0"), _bessel.unary("modified_bessel_i1")
modified_bessel_k0, modified_bessel_k1 = _bessel.unary("modified_bessel_k0"), _bessel.unary("modified_bessel_k1")
scaled_modified_bessel_k0 = _bessel.unary("scaled_modified_bessel_k0")
scaled_modified_bessel_k1 = _bessel.unary("scaled_modified_bessel_k1")
spherical_bessel_j0, airy_ai = _bessel.unary("spherical_bessel_j0"), _bessel.unary("airy_ai")


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
           "round", "entr", "logsumexp", "softmax", "log_softmax", "gammainc", "gammaincc"]
__all__ += ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
            "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
            "spherical_bessel_j0", "airy_ai", "zeta", "chebyshev_polynomial_t", "chebyshev_polynomial_u",
            "chebyshev_polynomial_v", "chebyshev_polynomial_w", "shifted_chebyshev_polynomial_t",
            "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v", "shifted_chebyshev_polynomial_w",
            "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"]
