"""``torch.special.zeta(input, other)``: the Hurwitz zeta function zeta(x, q) = sum_{k>=0} (q + k)^-x.

The algorithm is the Euler-Maclaurin summation of Cephes' ``zeta.c`` (S. Moshier, *Methods and Programs for
Mathematical Functions*, 1989; A&S 23.2 and 3.6.28), the one PyTorch uses, vectorised here: terms (q + k)^-x
are added directly (at least 9 of them, until q + k > 9, stopping early once a term is below 2^-53 of the sum),
then the tail integral (q + N)^(1-x) / (x - 1) - (q + N)^-x / 2 and up to 12 Bernoulli corrections
B_2j / (2j)! x (x+1) ... (x+2j-2) (q + N)^(-x-2j+1) (stopping at a relative correction below 2^-53). Float64 for
every input dtype (PyTorch accumulates float32 in double too), cast back.

PyTorch's conventions: x = 1 gives inf, x < 1 NaN; for q <= 0, an integer q gives inf and a non-integer x NaN
(q^-x is not real); +-inf and NaN follow the arithmetic (zeta(x, inf) is NaN, as PyTorch). For q < 0 the direct
sum runs about |q| terms (PyTorch's loop does the same), so a very negative q is slow.

Differentiable in q only: d/dq zeta(x, q) = -x zeta(x + 1, q) (to every order); the derivative in x raises
PyTorch's NotImplementedError.
"""
from __future__ import annotations

import numpy as np

from eigengrad.autograd.function import Primitive

__all__ = ["zeta"]

_MACHEP = 1.11022302462515654042e-16
_A = [12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
      -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15, 1.8152105401943546773e17,
      -7.1661652561756670113e18]  # (2j)! / B_2j, j = 1..12 (Cephes' table)


def hurwitz_zeta(x, q) -> np.ndarray:
    """zeta(x, q) over NumPy arrays (broadcast), in float64."""
    x, q = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(q, dtype=np.float64))
    shape = x.shape
    x, q = x.ravel(), q.ravel()
    out = np.full(x.shape, np.nan)
    with np.errstate(all="ignore"):
        pole = x == 1.0
        out[pole] = np.inf
        ok = ~pole & ~(x < 1.0)
        nonpos = ok & (q <= 0)
        qint = nonpos & (q == np.floor(q))
        out[qint] = np.inf
        ok &= ~qint & ~(nonpos & (x != np.floor(x))) & ~np.isnan(x) & ~np.isnan(q)
        idx = np.flatnonzero(ok)
        if idx.size:
            out[idx] = _sum(x[idx], q[idx])
    return out.reshape(shape)


def _sum(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    s = np.power(q, -x)
    a = q.copy()
    b = np.zeros_like(q)
    res = np.empty_like(q)
    active = np.arange(q.size)
    i = 0
    while active.size:  # the direct terms
        i += 1
        a[active] += 1.0
        b[active] = np.power(a[active], -x[active])
        s[active] += b[active]
        sa, ba = s[active], b[active]
        small = (-_MACHEP * sa < ba) & (ba < _MACHEP * sa)
        res[active[small]] = sa[small]
        active = active[~small]
        if i >= 9:
            more = a[active] <= 9.0
            tail = active[~more]
            active = active[more]
            if tail.size:
                res[tail] = _tail(x[tail], s[tail], a[tail], b[tail])
    return res


def _tail(x, s, w, b):
    """The Euler-Maclaurin tail after the direct terms (w = q + N, b = w^-x)."""
    s = s + b * w / (x - 1.0)
    s = s - 0.5 * b
    a = np.ones_like(x)
    k = np.zeros_like(x)
    out = np.empty_like(x)
    active = np.arange(x.size)
    for coef in _A:
        a[active] *= x[active] + k[active]
        b[active] /= w[active]
        t = a[active] * b[active] / coef
        s[active] = s[active] + t
        stop = np.abs(t / s[active]) < _MACHEP
        out[active[stop]] = s[active[stop]]
        active = active[~stop]
        if not active.size:
            break
        k[active] += 1.0
        a[active] *= x[active] + k[active]
        b[active] /= w[active]
        k[active] += 1.0
    out[active] = s[active]
    return out


class Zeta(Primitive):
    """zeta(x, q); d/dq = -x zeta(x + 1, q); no derivative in x (PyTorch's NotImplementedError)."""

    @staticmethod
    def forward(ctx, x, q):
        ctx.save_for_backward(x, q)
        dtype = np.result_type(x, q)
        return hurwitz_zeta(x, q).astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, g):
        from eigengrad.autograd.ops import sum_to, unbroadcast

        x, q = ctx.saved
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("the derivative for 'zeta' is not implemented.")
        if not ctx.needs_input_grad[1]:
            return None, None
        if hasattr(g, "_data"):  # the differentiable backward: through Zeta itself
            q_t = ctx.input_tensor(1, q)
            return None, sum_to(g * (Zeta.apply(np.asarray(x) + 1.0, q_t) * -np.asarray(x)), np.shape(q))
        dq = (-np.asarray(x, dtype=np.float64) * hurwitz_zeta(np.asarray(x) + 1.0, q)).astype(g.dtype, copy=False)
        return None, unbroadcast(g * dq, np.shape(q))

    backward_graph = backward


def zeta(input, other, *, out=None):
    """``torch.special.zeta(input, other)``: the Hurwitz zeta function zeta(x = input, q = other), broadcast;
    one of the two may be a Python number (both: TypeError, as PyTorch); integer tensors give the default float
    dtype. Differentiable in ``other``."""
    from eigengrad.tensor_ops import _out
    from eigengrad.tensor_ops.arithmetic import binary

    if not (hasattr(input, "_data") or hasattr(other, "_data")):
        raise TypeError(f"special_zeta() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__}), but expected one of:\n"
                        " * (Tensor input, Tensor other, *, Tensor out = None)\n"
                        " * (Number self, Tensor other, *, Tensor out = None)\n"
                        " * (Tensor input, Number other, *, Tensor out = None)\n")
    return _out.write(binary(Zeta, input, other, true_div=True), out)
