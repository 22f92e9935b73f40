"""Loss references."""
import numpy as np


def softmax_cross_entropy_forward(logits, target, ignore_index=-100):
    """Per-row loss logsumexp(x_i) - x_i[t_i] (0 where ignored) and the row log-sum-exps."""
    m = logits.max(axis=1, keepdims=True) if logits.shape[1] else np.zeros((len(logits), 1), logits.dtype)
    lse = (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]
    keep = target != ignore_index
    picked = np.take_along_axis(logits, np.where(keep, target, 0)[:, None], axis=1)[:, 0] if len(target) else lse
    return np.where(keep, lse - picked, 0).astype(logits.dtype), lse.astype(logits.dtype)


def softmax_cross_entropy_backward(logits, target, lse, scale, ignore_index=-100):
    """scale_i * (softmax(x_i) - onehot(t_i)), zero rows where ignored."""
    grad = np.exp(logits - lse[:, None])
    keep = target != ignore_index
    rows = np.nonzero(keep)[0]
    grad[rows, target[rows]] -= 1
    grad *= np.where(keep, scale, 0)[:, None]
    return grad.astype(logits.dtype)


def squared_error_sum(x, y):
    d = x.astype(np.float64) - y.astype(np.float64)
    return float(np.sum(d * d))


def squared_error(x, y):
    return (x - y) ** 2


def squared_error_backward(x, y, grad_out, coef):
    g = x.dtype.type(coef) * (x - y)
    return g * grad_out if grad_out is not None else g
