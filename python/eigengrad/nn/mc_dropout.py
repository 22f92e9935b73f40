"""Monte Carlo dropout (Gal & Ghahramani, "Dropout as a Bayesian approximation: representing model
uncertainty in deep learning", ICML 2016)."""
from __future__ import annotations

import numbers

import numpy as np

from eigengrad.autograd.grad_mode import no_grad
from eigengrad.nn.modules.dropout import _DropoutNd
from eigengrad.nn.modules.module import Module
from eigengrad.tensor import Tensor


def mc_dropout_predict(model: Module, x: Tensor, n_samples: int) -> tuple[Tensor, Tensor]:
    """Mean and variance of ``n_samples`` stochastic forward passes with dropout left on.

    The dropout layers (``Dropout``, ``Dropout2d``, ``AlphaDropout`` and subclasses) run in training mode,
    every other module in eval mode (BatchNorm uses its running statistics), all under ``no_grad``.
    Returns (mean, variance) over the samples, elementwise, with the variance (1/T) sum_t (y_t - mean)^2
    (the predictive variance of Gal & Ghahramani without the model-precision term tau^-1), accumulated
    in float64 (Welford) and returned in the output's dtype. Every module's previous mode is restored
    afterwards, also when the model raises. The draws come from eigengrad's default generator.
    """
    if not isinstance(model, Module):
        raise TypeError(f"model: expected an eigengrad.nn.Module, got {type(model).__name__}")
    if not isinstance(n_samples, numbers.Integral) or isinstance(n_samples, bool) or n_samples < 1:
        raise ValueError(f"n_samples: expected a positive int, got {n_samples!r}")
    modes = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        for m, _ in modes:
            if isinstance(m, _DropoutNd):
                object.__setattr__(m, "training", True)
        mean = m2 = None
        dtype = None
        with no_grad():
            for k in range(1, int(n_samples) + 1):
                y = model(x)
                if not isinstance(y, Tensor):
                    raise TypeError(f"model: expected its forward to return a Tensor, got {type(y).__name__}")
                arr = y._data.astype(np.float64)
                if mean is None:
                    dtype, mean, m2 = y.dtype, arr.copy(), np.zeros_like(arr)
                    continue
                delta = arr - mean
                mean += delta / k
                m2 += delta * (arr - mean)
        return Tensor._wrap(mean.astype(dtype)), Tensor._wrap((m2 / n_samples).astype(dtype))
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)
