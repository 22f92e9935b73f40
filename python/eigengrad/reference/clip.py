"""Gradient-clipping references, in place on lists of gradient arrays (the kernels' contract).

The arrays are viewed as one vector v; the norm is computed in float64 and the clip coefficient in the
gradients' dtype, as ``torch.nn.utils.clip_grad_norm_`` does with a norm tensor of that dtype.
"""
import numpy as np


def grad_norm(grads, norm_type=2.0) -> float:
    """||v||_p in float64: p-norm for finite p != 0, max |v| for inf, min |v| for -inf, count of nonzeros for 0."""
    p = float(norm_type)
    mags = [np.abs(np.asarray(g, dtype=np.float64)).ravel() for g in grads]
    if p in (np.inf, -np.inf):  # np.max/np.min over everything: a NaN anywhere gives NaN (as torch)
        every = np.concatenate(mags) if mags else np.zeros(0)
        if p == np.inf:
            return float(np.max(every)) if every.size else 0.0
        return float(np.min(every))  # no elements: ValueError, as the kernel
    if p == 0:
        return float(sum(np.count_nonzero(a) for a in mags))
    if p == 2:
        return float(np.sqrt(sum(np.dot(a, a) for a in mags)))
    if p == 1:
        return float(sum(np.sum(a) for a in mags))
    with np.errstate(divide="ignore"):  # 0 ** negative p is inf, as the kernel's pow
        return float(sum(np.sum(a ** p) for a in mags) ** (1.0 / p))


def clip_grad_norm(grads, max_norm, norm_type=2.0) -> float:
    """Pascanu et al. (2013): g <- g * min(max_norm / (||v||_p + 1e-6), 1) for every g; returns ||v||_p."""
    norm = grad_norm(grads, norm_type)
    if not grads:
        return norm
    t = grads[0].dtype.type
    coef = t(max_norm) / (t(norm) + t(1e-6))
    coef = coef if not coef > 1 else t(1)
    for g in grads:
        g *= coef
    return norm


def clip_grad_value(grads, clip_value) -> None:
    """g <- clamp(g, -clip_value, clip_value) for every g; NaN stays NaN."""
    for g in grads:
        np.clip(g, -clip_value, clip_value, out=g)
