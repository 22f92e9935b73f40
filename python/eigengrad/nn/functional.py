"""Functional forms of the layers (``eigengrad.nn.functional``, imported as ``F``)."""
from __future__ import annotations

import numpy as np

from eigengrad.autograd import ops
from eigengrad.tensor import Tensor, as_tensor
from eigengrad.nn._functional_loss import (  # noqa: F401  (losses beyond cross_entropy and mse_loss)
    _check_smoothing, _class_weight, binary_cross_entropy, binary_cross_entropy_with_logits, distillation_loss,
    huber_loss, kl_div, l1_loss, nll_loss, smooth_l1_loss,
)


def _tensor(x, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected an eigengrad Tensor, got {type(x).__name__}")
    return x


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b for x of shape (*, in_features), W (out_features, in_features), b (out_features,).

    One fused GEMM: the bias is added while the product is written.
    """
    _tensor(input, "input")
    if input.ndim == 2:
        return ops.Linear.apply(input, weight, bias)
    if input.ndim == 1:
        return ops.Linear.apply(input.reshape(1, -1), weight, bias).reshape(-1)
    lead = input.shape[:-1]
    return ops.Linear.apply(input.reshape(-1, input.shape[-1]), weight, bias).reshape(*lead, weight.shape[0])


def relu(input: Tensor) -> Tensor:
    """max(x, 0)."""
    return ops.ReLU.apply(_tensor(input, "input"))


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return ops.Sigmoid.apply(_tensor(input, "input"))


def tanh(input: Tensor) -> Tensor:
    """tanh(x)."""
    return ops.Tanh.apply(_tensor(input, "input"))


def softmax(input: Tensor, dim: int) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``dim`` (max-shifted, so it never overflows)."""
    return _tensor(input, "input").softmax(dim)


def log_softmax(input: Tensor, dim: int) -> Tensor:
    """x_i - logsumexp(x) along ``dim``."""
    return _tensor(input, "input").log_softmax(dim)


def cross_entropy(input: Tensor, target, weight=None, *, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits ``input`` against class indices or class probabilities ``target``.

    Index targets, with class weights w (default 1) and label smoothing eps (default 0), C classes::

        loss_i = (1 - eps) w[t_i] (-log softmax(x_i)[t_i]) + eps / C * sum_c w[c] (-log softmax(x_i)[c])

    Rows whose target is ``ignore_index`` add nothing; 'mean' divides the sum by sum_i w[t_i] over the
    other rows (PyTorch's weighted mean; their number without weights). The plain case (no weight, no
    smoothing) runs one fused C++ kernel, the other a fused weighted kernel (forward and backward).

    Probability targets p (a float tensor of the input's shape): p is smoothed to (1 - eps) p + eps / C
    and loss_i = -sum_c w[c] p_c log softmax(x_i)_c; 'mean' divides by the number of rows (PyTorch).

    Shapes as in PyTorch: input (N, C) with target (N,), input (C,) with a scalar target, or input
    (N, C, d1, ...) with target (N, d1, ...). Label smoothing: Szegedy et al. 2016, "Rethinking the
    Inception Architecture for Computer Vision". ``size_average``/``reduce`` (deprecated in PyTorch) are
    not supported, so the options after ``weight`` are keyword-only.
    """
    _tensor(input, "input")
    ops.check_reduction(reduction)
    label_smoothing = _check_smoothing(label_smoothing)
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    c = input.shape[1] if input.ndim > 1 else (input.shape[0] if input.ndim == 1 else 0)
    w = _class_weight(weight, input, c)
    if t.dtype.kind == "f" and t.shape == input.shape:
        return _cross_entropy_probabilities(input, target, reduction, w, label_smoothing)
    if t.dtype.kind not in "iu":
        raise TypeError(f"target: expected integer class indices, or class probabilities of the input's shape "
                        f"{input.shape}, got dtype {t.dtype} and shape {t.shape}")
    options = dict(weight=weight, ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    if input.ndim == 1:
        if t.ndim != 0:
            raise ValueError(f"target: expected a scalar class index for input of shape {input.shape}, got shape {t.shape}")
        return cross_entropy(input.reshape(1, -1), t.reshape(1), **options).reshape(())
    if input.ndim == 0:
        raise ValueError("input: expected logits of shape (C,), (N, C) or (N, C, d1, ...), got a scalar")
    if input.ndim > 2:
        n = input.shape[0]
        expected = (n,) + input.shape[2:]
        if t.shape != expected:
            raise ValueError(f"target: expected shape {expected} for input of shape {input.shape}, got {t.shape}")
        moved = input.permute(0, *range(2, input.ndim), 1).reshape(-1, c)
        out = cross_entropy(moved, t.reshape(-1), **options)
        return out.reshape(*expected) if reduction == "none" else out
    if t.shape != (input.shape[0],):
        raise ValueError(f"target: expected shape ({input.shape[0]},) for input of shape {input.shape}, got {t.shape}")
    if w is None and label_smoothing == 0.0:
        return ops.SoftmaxCrossEntropy.apply(input, t, reduction=reduction, ignore_index=ignore_index)
    from eigengrad.autograd.ops_loss import WeightedSoftmaxCrossEntropy

    return WeightedSoftmaxCrossEntropy.apply(input, t, weight=w, label_smoothing=label_smoothing,
                                             reduction=reduction, ignore_index=ignore_index)


def _cross_entropy_probabilities(input: Tensor, target, reduction: str, weight=None,
                                 label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy against class probabilities: -sum_c w_c p_c log softmax(x)_c over the class dim (1, or
    0 for unbatched input), p smoothed to (1 - eps) p + eps / C; 'mean' averages over the remaining
    elements (PyTorch's rule)."""
    target = target if isinstance(target, Tensor) else as_tensor(target)
    if target.dtype != input.dtype:
        raise TypeError(f"target: expected dtype {input.dtype} (the dtype of input), got {target.dtype}")
    dim = 1 if input.ndim > 1 else 0
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / input.shape[dim]
    prod = target * input.log_softmax(dim)
    if weight is not None:
        shape = [1] * input.ndim
        shape[dim] = -1
        prod = prod * Tensor._wrap(weight.reshape(shape))
    losses = -prod.sum(dim)
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def mse_loss(input: Tensor, target, reduction: str = "mean") -> Tensor:
    """Mean-squared error mean((x - y)^2); 'sum' sums, 'none' keeps the elementwise errors."""
    _tensor(input, "input")
    ops.check_reduction(reduction)
    target = target if isinstance(target, Tensor) else as_tensor(np.asarray(target, dtype=input.dtype))
    if target.shape != input.shape:
        raise ValueError(f"target: expected the shape of input {input.shape}, got {target.shape}")
    if target.dtype != input.dtype:
        raise TypeError(f"target: expected dtype {input.dtype} (the dtype of input), got {target.dtype}")
    if input.dtype not in (np.float32, np.float64):
        raise TypeError(f"input: expected a float32 or float64 tensor, got dtype {input.dtype}")
    return ops.MSE.apply(input, target, reduction=reduction)


from eigengrad.nn._functional_activation import elu, gelu, leaky_relu, maxout, prelu, selu, softplus  # noqa: E402,F401
from eigengrad.nn._functional_dropout import alpha_dropout, dropout, dropout2d  # noqa: E402,F401
