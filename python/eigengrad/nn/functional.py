"""Functional forms of the layers (``eigengrad.nn.functional``, imported as ``F``)."""
from __future__ import annotations

import numpy as np

from eigengrad.autograd import ops
from eigengrad.tensor import Tensor, as_tensor


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


def cross_entropy(input: Tensor, target, reduction: str = "mean", ignore_index: int = -100) -> Tensor:
    """Softmax cross-entropy of logits ``input`` against integer class indices ``target``.

    loss_i = -log softmax(x_i)[t_i] = logsumexp(x_i) - x_i[t_i], fused in one C++ kernel (forward and
    backward). Shapes as in PyTorch: input (N, C) with target (N,), input (C,) with a scalar target,
    or input (N, C, d1, ...) with target (N, d1, ...). Rows whose target is ``ignore_index`` add
    nothing; 'mean' averages over the other rows.
    """
    _tensor(input, "input")
    ops.check_reduction(reduction)
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind == "f" and t.shape == input.shape:
        return _cross_entropy_probabilities(input, target, reduction)
    if t.dtype.kind not in "iu":
        raise TypeError(f"target: expected integer class indices, or class probabilities of the input's shape "
                        f"{input.shape}, got dtype {t.dtype} and shape {t.shape}")
    if input.ndim == 1:
        if t.ndim != 0:
            raise ValueError(f"target: expected a scalar class index for input of shape {input.shape}, got shape {t.shape}")
        return cross_entropy(input.reshape(1, -1), t.reshape(1), reduction, ignore_index).reshape(())
    if input.ndim > 2:
        n, c = input.shape[0], input.shape[1]
        expected = (n,) + input.shape[2:]
        if t.shape != expected:
            raise ValueError(f"target: expected shape {expected} for input of shape {input.shape}, got {t.shape}")
        moved = input.permute(0, *range(2, input.ndim), 1).reshape(-1, c)
        out = ops.SoftmaxCrossEntropy.apply(moved, t.reshape(-1), reduction=reduction, ignore_index=ignore_index)
        return out.reshape(*expected) if reduction == "none" else out
    if t.shape != (input.shape[0],):
        raise ValueError(f"target: expected shape ({input.shape[0]},) for input of shape {input.shape}, got {t.shape}")
    return ops.SoftmaxCrossEntropy.apply(input, t, reduction=reduction, ignore_index=ignore_index)


def _cross_entropy_probabilities(input: Tensor, target, reduction: str) -> Tensor:
    """Cross-entropy against class probabilities: -sum_c p_c log softmax(x)_c over the class dim (1, or
    0 for unbatched input); 'mean' averages over the remaining elements (PyTorch's rule)."""
    target = target if isinstance(target, Tensor) else as_tensor(target)
    if target.dtype != input.dtype:
        raise TypeError(f"target: expected dtype {input.dtype} (the dtype of input), got {target.dtype}")
    dim = 1 if input.ndim > 1 else 0
    losses = -(target * input.log_softmax(dim)).sum(dim)
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
