"""The special functions of ``torch`` and ``torch.special`` over tensors: ``lgamma``, ``digamma``, ``polygamma``,
``mvlgamma``, ``i0`` (functions and methods, with in-place forms), and ``torch.special``'s own ``i0e``, ``i1``,
``i1e``, ``erfcx``, ``ndtr``, ``ndtri``, ``log_ndtr``, ``entr``, ``xlog1py`` (exported by ``eigengrad.special``).
Integer inputs give the default float dtype, as PyTorch. The primitives are ``autograd.ops_special``'s."""
from __future__ import annotations

import math
import numbers

from eigengrad._errors import ArgumentError
from eigengrad.autograd import inplace, ops_special as SP
from eigengrad.tensor_ops import _out
from eigengrad.tensor_ops.arithmetic import binary
from eigengrad.tensor_ops.pointwise import _floating, _floating_op, erfc, log1p
from eigengrad.tensor_ops.pointwise_composite import x_times

lgamma = _floating_op("lgamma", SP.Lgamma, "log |Gamma(x)| (inf at 0 and the negative integers); gradient digamma.")
digamma = _floating_op("digamma", SP.Digamma, "psi(x) = Gamma'(x) / Gamma(x) (-inf at +0, NaN at negative "
                                               "integers); gradient polygamma(1, x).")
i0 = _floating_op("i0", SP.I0, "The modified Bessel function of the first kind of order 0; gradient i1.")
i0e = _floating_op("i0e", SP.I0e, "e^-|x| I_0(x), the exponentially scaled i0.")
i1 = _floating_op("i1", SP.I1, "The modified Bessel function of the first kind of order 1.")
i1e = _floating_op("i1e", SP.I1e, "e^-|x| I_1(x), the exponentially scaled i1.")
erfcx = _floating_op("erfcx", SP.Erfcx, "e^(x^2) erfc(x), without the overflow of the product for large x.")
ndtri = _floating_op("ndtri", SP.Ndtri, "The inverse of the standard normal CDF (-inf at 0, inf at 1).")
log_ndtr = _floating_op("log_ndtr", SP.LogNdtr, "log of the standard normal CDF, accurate in the lower tail.")
entr = _floating_op("entr", SP.Entr, "-x log x for x > 0, 0 at 0, -inf for x < 0.")

_SQRT1_2 = math.sqrt(0.5)


def _order(n, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name}(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise ArgumentError("polygamma(n, x) does not support negative n.")
    return int(n)


def polygamma(n, input, *, out=None):
    """psi^(n)(x), the n-th derivative of digamma (n = 0: digamma itself); gradient polygamma(n + 1, x).
    ``torch.polygamma(n, input)``: the order comes first (the method is ``x.polygamma(n)``)."""
    n = _order(n, "polygamma")
    x = _floating(input)
    return _out.write(SP.Digamma.apply(x) if n == 0 else SP.Polygamma.apply(x, n=n), out)


def _polygamma_method(self, n):
    return polygamma(n, self)


def mvlgamma(input, p: int, *, out=None):
    """The multivariate log-gamma function of dimension p: sum_{i<p} lgamma(x - i/2) + p (p - 1)/4 log pi."""
    if isinstance(p, bool) or not isinstance(p, numbers.Integral):
        raise TypeError(f"mvlgamma(): argument 'p' must be int, not {type(p).__name__}")
    if p < 1:
        raise ArgumentError("p has to be greater than or equal to 1")
    x = _floating(input)
    total = lgamma(x)
    for i in range(1, int(p)):
        total = total + lgamma(x - 0.5 * i)
    return _out.write(total + p * (p - 1) / 4.0 * math.log(math.pi), out)


def ndtr(input, *, out=None):
    """The standard normal CDF Phi(x) = erfc(-x / sqrt 2) / 2 (accurate in both tails)."""
    return _out.write(0.5 * erfc(_floating(input) * -_SQRT1_2), out)


def xlog1py(input, other, *, out=None):
    """x * log1p(y), 0 where x is 0 (unless y is NaN), as PyTorch."""
    return _out.write(x_times(log1p, input, other, -1.0), out)


def gammainc(input, other, *, out=None):
    """The regularised lower incomplete gamma function P(a, x) = (1 / Gamma(a)) int_0^x t^(a-1) e^-t dt, a =
    ``input``, x = ``other`` (broadcast); differentiable in x only, as PyTorch."""
    return _out.write(binary(SP.Gammainc, input, other, true_div=True), out)


def gammaincc(input, other, *, out=None):
    """The regularised upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    return _out.write(binary(SP.Gammainc, input, other, true_div=True, upper=True), out)


INPLACE = {name + "_": inplace.method(name, globals()[name]) for name in ("lgamma", "digamma", "i0", "mvlgamma")}
INPLACE["polygamma_"] = inplace.method("polygamma", _polygamma_method)
globals().update(INPLACE)
METHOD_FORMS = {"polygamma": _polygamma_method}
FUNCTIONS = ("lgamma", "digamma", "polygamma", "mvlgamma", "i0", "i0_")
METHODS = ("lgamma", "digamma", "polygamma", "mvlgamma", "i0") + tuple(INPLACE)
SPECIAL = ("lgamma", "digamma", "polygamma", "mvlgamma", "i0", "i0e", "i1", "i1e", "erfcx", "ndtr", "ndtri",
           "log_ndtr", "entr", "xlog1py", "gammainc", "gammaincc")
