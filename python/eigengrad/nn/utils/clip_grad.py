"""Gradient clipping (``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_``), one C++ call per dtype.

Clipping by the global norm: Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent
neural networks". With the gradients of all parameters viewed as one vector :math:`g`,

.. math::
    g \\leftarrow g \\cdot \\min\\Big(\\frac{\\text{max\\_norm}}{\\lVert g \\rVert_p + 10^{-6}}, 1\\Big)

The norm is summed in double with a fixed chunking (the same bits on any thread count); the
coefficient is computed in the gradients' dtype, as PyTorch does. The gradients of an optimizer's
param group live in one flat buffer: then the whole clip is one pass to measure and one to scale.
"""
from __future__ import annotations

import logging
import math
from typing import Iterable

import numpy as np

from eigengrad import _kernels, _trace
from eigengrad._errors import TypeValueError
from eigengrad.nn.utils._grad_lists import by_dtype, tensor_list, writable_grads
from eigengrad.tensor import Tensor, get_default_dtype

logger = logging.getLogger(__name__)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale the gradients of ``parameters`` in place so that their total norm is at most ``max_norm``.

    Args:
        parameters: a Tensor or an iterable of Tensors; those whose ``grad`` is None are ignored (and a
            Tensor listed twice counts once).
        max_norm: the largest total norm allowed (>= 0).
        norm_type: p of the p-norm over all gradient elements: any p (``inf``: max |g|, ``-inf``:
            min |g|, 0: the number of nonzero elements). PyTorch computes p = 0 as the norm of the
            per-tensor norms, i.e. the number of *tensors* with a nonzero element; eigengrad counts
            elements, the norm of the gradients viewed as one vector, as documented.
        error_if_nonfinite: raise RuntimeError (leaving the gradients untouched) when the total norm is
            nan or inf; otherwise a warning is logged and the gradients are scaled anyway, as PyTorch.
        foreach: accepted for PyTorch compatibility; eigengrad always uses its fused kernel.

    Returns:
        The total norm before clipping, a 0-d Tensor of the gradients' dtype (float64 when the
        gradients have mixed dtypes; the default dtype when there are none: then it is 0).

    Example:
        >>> loss.backward()
        >>> eg.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        >>> opt.step()
    """
    params = tensor_list(parameters, "parameters")
    max_norm = _non_negative(max_norm, "max_norm")
    norm_type = _norm_type(norm_type)
    _check_foreach(foreach)
    groups = by_dtype(writable_grads(params, "parameters"))
    if error_if_nonfinite:
        _trace.reject("clip_grad_norm_(error_if_nonfinite=True) decides in Python from the norm's value")
    if not groups:
        return Tensor._wrap(np.zeros((), dtype=get_default_dtype()))
    if len(groups) == 1:  # the usual case: measure and scale in one kernel call
        norm = _kernels.clip_grad_norm(groups[0], max_norm, norm_type, scale_if_nonfinite=not error_if_nonfinite)
        total = np.empty((), dtype=groups[0][0].dtype)
        _kernels.copy_into(total, norm)  # rounded to the gradients' dtype (a kernel call: eg.compile records it)
        _check_finite(total[()], norm_type, error_if_nonfinite)  # (a replay logs no warning for a non-finite norm)
        return Tensor._wrap(total)
    else:
        _trace.reject("clip_grad_norm_ over gradients of several dtypes combines their norms in Python")
        total = np.float64(_combine([_kernels.grad_norm(a, norm_type) for a in groups], norm_type))
        if math.isfinite(total) or not error_if_nonfinite:
            coef = _clip_coef(max_norm, total)
            for arrays in groups:
                _kernels.scale_grads(arrays, coef)
    _check_finite(total, norm_type, error_if_nonfinite)
    return Tensor._wrap(np.asarray(total))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient element of ``parameters`` to ``[-clip_value, clip_value]`` in place.

    NaN gradients stay NaN (as ``torch.clamp``); a negative ``clip_value`` sets every element to it, as
    PyTorch's clamp(min=-c, max=c) does. ``foreach`` is accepted for PyTorch compatibility. One kernel call
    per dtype.
    """
    params = tensor_list(parameters, "parameters")
    clip_value = _number(clip_value, "clip_value")
    _check_foreach(foreach)
    for arrays in by_dtype(writable_grads(params, "parameters")):
        _kernels.clip_grad_value(arrays, clip_value)


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The norm of ``tensors`` (e.g. the gradients themselves) viewed as one vector; reads only.

    ``torch.nn.utils.get_total_norm``: the measuring half of :func:`clip_grad_norm_`, for monitoring.
    """
    tensors = tensor_list(tensors, "tensors")
    norm_type = _norm_type(norm_type)
    _check_foreach(foreach)
    arrays = [_kernels.contiguous(t._data) for t in tensors]  # read only: a copy of a strided one is fine
    groups = by_dtype(arrays)
    if not groups:
        return Tensor._wrap(np.zeros((), dtype=get_default_dtype()))
    norms = [_kernels.grad_norm(a, norm_type) for a in groups]
    total = groups[0][0].dtype.type(norms[0]) if len(groups) == 1 else np.float64(_combine(norms, norm_type))
    _check_finite(total, norm_type, error_if_nonfinite, warn=False)
    return Tensor._wrap(np.asarray(total))


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, total_norm,
                          foreach: bool | None = None) -> None:
    """Scale the gradients in place by ``min(max_norm / (total_norm + 1e-6), 1)`` (a norm computed before,
    e.g. by :func:`get_total_norm`); ``torch.nn.utils.clip_grads_with_norm_``."""
    params = tensor_list(parameters, "parameters")
    max_norm = _non_negative(max_norm, "max_norm")
    _check_foreach(foreach)
    total = np.asarray(total_norm._data if isinstance(total_norm, Tensor) else total_norm)
    if total.size != 1:
        raise ValueError(f"total_norm: expected a single number, got shape {total.shape}")
    coef = _clip_coef(max_norm, total.reshape(()))
    for arrays in by_dtype(writable_grads(params, "parameters")):
        _kernels.scale_grads(arrays, coef)


# --- helpers ---------------------------------------------------------------------------------------

def _clip_coef(max_norm: float, total) -> float:
    """min(max_norm / (total + 1e-6), 1) in total's dtype; NaN stays NaN (as torch.clamp)."""
    t = total.dtype.type if isinstance(total, (np.ndarray, np.generic)) and total.dtype.kind == "f" else np.float64
    coef = t(max_norm) / (t(total) + t(1e-6))
    return float(t(1) if coef > 1 else coef)


def _combine(norms: list[float], p: float) -> float:
    """The norm of the vector whose parts have the given norms (PyTorch's rule; counts add for p = 0)."""
    a = np.asarray(norms, dtype=np.float64)
    if p == math.inf:
        return float(np.max(a))
    if p == -math.inf:
        return float(np.min(a))
    if p == 0:
        return float(np.sum(a))
    with np.errstate(divide="ignore", over="ignore"):
        return float(np.sum(a ** p) ** (1.0 / p))


def _number(value, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}") from None


def _non_negative(value, name: str) -> float:
    x = _number(value, name)
    if not x >= 0:  # also catches nan
        raise ValueError(f"{name}: expected a value >= 0, got {value}")
    return x


def _norm_type(norm_type) -> float:
    try:
        p = float(norm_type)
    except (TypeError, ValueError):
        # (PyTorch's float() raises ValueError for a string such as 'fro'; TypeValueError is a TypeError too)
        raise TypeValueError(f"norm_type: expected a number or 'inf', got {norm_type!r}") from None
    if math.isnan(p):
        raise ValueError("norm_type: expected a number or inf, got nan")
    return p


def _check_foreach(foreach) -> None:
    if foreach is not None and not isinstance(foreach, bool):
        raise TypeError(f"foreach: expected None or a bool, got {type(foreach).__name__}")


def _check_finite(total, norm_type: float, error_if_nonfinite: bool, warn: bool = True) -> None:
    if math.isfinite(total):
        return
    if error_if_nonfinite:
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite "
                           f"({total}), so it cannot be clipped. To disable this error and scale the gradients "
                           "by the non-finite norm anyway, set `error_if_nonfinite=False`")
    if warn:  # (info, not a warning: with a GradScaler an inf norm before a skipped step is routine; PyTorch: silent)
        logger.info("clip_grad_norm_: the total norm of order %s of the gradients is non-finite (%s); the "
                       "gradients were scaled by it anyway (as PyTorch does), leaving zeros or NaN",
                       norm_type, total)


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """PyTorch's deprecated name of :func:`clip_grad_norm_` (with its FutureWarning)."""
    import warnings

    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of `torch.nn.utils.clip_grad_norm_`.",
                  FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)
