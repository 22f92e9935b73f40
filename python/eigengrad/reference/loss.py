"""Loss references."""
import numpy as np

from eigengrad import _glue


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
    grad = np.where(keep[:, None], grad * scale[:, None], 0)  # ignored rows are 0, even for non-finite logits
    return grad.astype(logits.dtype)


def softmax_cross_entropy_forward_backward(logits, target, scale, ignore_index=-100):
    """The forward, then the backward with ``scale``: (loss, lse, grad_logits)."""
    loss, lse = softmax_cross_entropy_forward(logits, target, ignore_index)
    return loss, lse, softmax_cross_entropy_backward(logits, target, lse, scale, ignore_index)


def squared_error_sum(x, y):
    d = x.astype(np.float64) - y.astype(np.float64)
    return float(np.sum(d * d))


def squared_error(x, y):
    return (x - y) ** 2


def squared_error_backward(x, y, grad_out, coef):
    g = x.dtype.type(coef) * (x - y)
    return g * grad_out if grad_out is not None else g


def weighted_softmax_cross_entropy_forward(logits, target, weight=None, label_smoothing=0.0, ignore_index=-100):
    """Per-row (1 - eps) w[t] (lse - x[t]) + eps / c * sum_j w[j] (lse - x[j]) (0 where ignored), and the lse."""
    n, c = logits.shape
    w = np.ones(c, logits.dtype) if weight is None else weight
    _, lse = softmax_cross_entropy_forward(logits, np.full(n, ignore_index, np.int64), ignore_index)
    logp = logits - lse[:, None]
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    nll = -w[safe] * np.take_along_axis(logp, safe[:, None], axis=1)[:, 0] if n else np.zeros(0, logits.dtype)
    loss = nll
    if label_smoothing and c:  # no smoothing: only w[t] is read (a NaN weight of another class does not matter)
        loss = (1 - label_smoothing) * nll + label_smoothing / c * -(logp * w).sum(axis=1)
    return np.where(keep, loss, 0).astype(logits.dtype), lse.astype(logits.dtype)


def weighted_softmax_cross_entropy_backward(logits, target, weight, label_smoothing, lse, scale, ignore_index=-100):
    """scale_i * ((1 - eps) w[t] (p - onehot(t)) + eps / c (W p - w)), zero rows where ignored."""
    n, c = logits.shape
    w = np.ones(c, logits.dtype) if weight is None else weight
    p = np.exp(logits - lse[:, None])
    keep = target != ignore_index
    safe = np.where(keep, target, 0)
    wt = w[safe]
    onehot = np.zeros_like(p)
    onehot[np.arange(n), safe] = 1
    eps = label_smoothing
    grad = (1 - eps) * wt[:, None] * (p - onehot)
    if eps:  # as the forward: without smoothing only w[t] is read
        grad = grad + eps / c * (w.sum() * p - w[None, :])
    grad = np.where(keep[:, None], grad * scale[:, None], 0)  # ignored rows are 0, even for non-finite logits
    return grad.astype(logits.dtype)


def weighted_softmax_cross_entropy_forward_backward(logits, target, weight, label_smoothing, scale, ignore_index=-100):
    """The weighted forward, then its backward with ``scale``: (loss, lse, grad_logits)."""
    loss, lse = weighted_softmax_cross_entropy_forward(logits, target, weight, label_smoothing, ignore_index)
    grad = weighted_softmax_cross_entropy_backward(logits, target, weight, label_smoothing, lse, scale, ignore_index)
    return loss, lse, grad


def bce_with_logits_forward(x, y, weight=None, pos_weight=None):
    """(sum, elementwise losses) of w * ((1 - y) x + (1 + (pw - 1) y) softplus(-x)), softplus(-x) =
    max(-x, 0) + log1p(exp(-|x|)); weight and pos_weight broadcast against x."""
    lw = 1 if pos_weight is None else 1 + (pos_weight - 1) * y
    loss = (1 - y) * x + lw * (np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x))))
    if weight is not None:
        loss = loss * weight
    loss = loss.astype(x.dtype)
    return float(np.sum(loss, dtype=np.float64)), loss


def bce_with_logits_backward(x, y, weight, pos_weight, grad_out, coef):
    """coef * w * ((1 + (pw - 1) y) sigmoid(x) - pw y) [* grad_out]."""
    pw = 1 if pos_weight is None else pos_weight
    sig = np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))
    g = coef * ((1 + (pw - 1) * y) * sig - pw * y)
    if weight is not None:
        g = g * weight
    if grad_out is not None:
        g = g * grad_out
    return g.astype(x.dtype)



# The cross-entropy's reductions: the NumPy expressions eager mode ran before they became kernels
# (eigengrad._glue, sums and divisions in double), returning their result instead of writing it.

def loss_reduce(rows, target, weight, ignore_index, mean):
    """The 0-d sum of the per-row losses in double; for 'mean' divided by the rows kept (or their targets'
    summed weights), NaN when that is 0 (PyTorch's CrossEntropyLoss reductions)."""
    out = np.empty((), dtype=rows.dtype)
    _glue.loss_reduce(rows, target, weight, ignore_index, mean, out)
    return out


def loss_upstream(g, target, weight, ignore_index, mean, dtype):
    """Each row's upstream gradient: g ('sum') or g / the 'mean' divisor, in double, cast to ``dtype``."""
    out = np.empty(len(target), dtype=dtype)
    _glue.loss_upstream(np.asarray(g), target, weight, ignore_index, mean, out)
    return out


def mean_upstream(g, target, ignore_index, dtype):
    """Each row's upstream gradient of the unweighted 'mean': g / (rows kept), divided in g's dtype."""
    out = np.empty(len(target), dtype=dtype)
    _glue.mean_upstream(np.asarray(g), target, ignore_index, out)
    return out
