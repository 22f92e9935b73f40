"""Loss primitives beyond the fused softmax cross-entropy and MSE of ``ops.py``.

Weighted / label-smoothed softmax cross-entropy and binary cross-entropy with logits call fused C++
kernels (forward and backward) through ``eigengrad._kernels``; NLL, BCE on probabilities, L1, Huber,
smooth L1 and KL divergence are short NumPy primitives (one pass each way, no graph of small ops).
Every backward returns one gradient per positional input: the input and, where PyTorch differentiates
it, the target. Class weights and ``pos_weight`` are constants (PyTorch does not differentiate them
either). Each ``backward_graph`` writes the same gradient with Tensor operations (softmax and sigmoid
as primitives, masks and weights as constants), so losses can be differentiated twice.
"""
from __future__ import annotations

import numpy as np

from eigengrad import _kernels as K
from eigengrad._errors import ArgumentIndexError
from eigengrad._glue import class_denominator
from eigengrad.autograd.function import Primitive
from eigengrad.autograd.ops import Sigmoid, Log, Maximum, where
from eigengrad.autograd.ops_inplace import Clamp


def check_class_indices(target: np.ndarray, c: int, ignore_index: int) -> None:
    """Raise ArgumentIndexError for the first target that is neither ignore_index nor in [0, c)."""
    target = np.asarray(target).reshape(-1)
    bad = (target != ignore_index) & ((target < 0) | (target >= c))
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ArgumentIndexError(f"target: class index {int(target[i])} at position {i} is out of range; expected "
                              f"0 <= target < {c} or ignore_index ({ignore_index})")


def _reduce(loss: np.ndarray, reduction: str, denom: float, dtype) -> np.ndarray:
    """'none' -> loss; 'sum' -> sum (accumulated in float64); 'mean' -> sum / denom (nan when denom is 0)."""
    if reduction == "none":
        return loss
    total = np.sum(loss, dtype=np.float64)
    if reduction == "mean":
        total = total / denom if denom else np.nan
    return np.asarray(total, dtype=dtype)


def _upstream_graph(g, reduction: str, denom: float):
    """``_upstream`` for a Tensor ``g``, left to broadcast: g ('none', 'sum') or g / denom ('mean')."""
    if reduction in ("none", "sum"):
        return g
    return g / denom if denom else g * np.nan


def _upstream(g, reduction: str, denom: float, shape: tuple, dtype) -> np.ndarray:
    """The gradient of each elementwise loss: g itself ('none'), g ('sum') or g / denom ('mean')."""
    if reduction == "none":
        return np.asarray(g, dtype=dtype)
    scale = float(g) if reduction == "sum" else (float(g) / denom if denom else np.nan)
    return np.full(shape, scale, dtype=dtype)


class WeightedSoftmaxCrossEntropy(Primitive):
    """Softmax cross-entropy over rows of logits (n, c) with integer targets (n,), class weights w and
    label smoothing eps (PyTorch's ``CrossEntropyLoss``), fused in C++:

        loss_i = (1 - eps) w[t_i] (lse_i - x_i[t_i]) + eps / c * sum_j w[j] (lse_i - x_i[j])

    'mean' divides the sum by sum_i w[t_i] over the rows not ignored (PyTorch's weighted mean; the number
    of kept rows without weights).
    """

    @staticmethod
    def forward(ctx, logits, target, weight=None, label_smoothing=0.0, reduction="mean", ignore_index=-100):
        target = np.ascontiguousarray(target, dtype=np.int64)
        rows, lse = K.weighted_softmax_cross_entropy(logits, target, weight, label_smoothing, ignore_index)
        ctx.options = (weight, float(label_smoothing), reduction, ignore_index)
        ctx.save_for_backward(logits, target, lse)
        if reduction == "none":
            return rows
        # a plan step of its own: the divisor is read from the targets (and weights) at every call
        return K.loss_reduce(rows, target, weight, ignore_index, reduction == "mean")

    @staticmethod
    def backward(ctx, g):
        logits, target, lse = ctx.saved
        weight, eps, reduction, ignore_index = ctx.options
        if reduction == "none":
            scale = np.asarray(g, dtype=logits.dtype)
        else:
            scale = K.loss_upstream(g, target, weight, ignore_index, reduction == "mean", logits.shape[0],
                                    logits.dtype)
        return K.weighted_softmax_cross_entropy_backward(logits, target, weight, eps, lse, scale, ignore_index), None

    @staticmethod
    def backward_graph(ctx, g):
        """s_i (p_ij ((1 - eps) w[t_i] + eps W / c) - (1 - eps) w[t_i] [j = t_i] - eps w_j / c), W = sum w."""
        logits, target, _ = ctx.saved
        weight, eps, reduction, ignore_index = ctx.options
        n, c = logits.shape
        w = np.ones(c) if weight is None else weight.astype(np.float64)
        keep = target != ignore_index
        wt = np.where(keep, w[np.where(keep, target, 0)], 0.0)
        a = (1 - eps) * wt + eps * w.sum() / c * keep
        b = np.outer(keep, eps * w / c)
        b[np.arange(n)[keep], target[keep]] += (1 - eps) * wt[keep]
        s = _upstream_graph(g, reduction, class_denominator(target, weight, ignore_index))
        p = ctx.input_tensor(0, logits).softmax(1)
        grad = p * a.astype(logits.dtype).reshape(n, 1) - b.astype(logits.dtype)
        return grad * (s.reshape(n, 1) if s.ndim else s), None


class NLL(Primitive):
    """Negative log-likelihood over rows of log-probabilities (n, c): loss_i = -w[t_i] x_i[t_i], 0 where
    t_i == ignore_index; 'mean' divides by sum_i w[t_i] over the kept rows."""

    @staticmethod
    def forward(ctx, x, target, weight=None, reduction="mean", ignore_index=-100):
        target = np.asarray(target, dtype=np.int64)
        n, c = x.shape
        keep = target != ignore_index
        check_class_indices(target, c, ignore_index)
        safe = np.where(keep, target, 0)
        w = np.where(keep, weight[safe] if weight is not None else 1, 0).astype(x.dtype)
        picked = x[np.arange(n), safe] if n else np.zeros(0, x.dtype)
        ctx.denom = float(np.sum(w, dtype=np.float64))
        ctx.reduction, ctx.shape = reduction, x.shape
        ctx.save_for_backward(safe, w)
        return _reduce((-w * picked).astype(x.dtype), reduction, ctx.denom, x.dtype)

    @staticmethod
    def backward(ctx, g):
        safe, w = ctx.saved
        n = ctx.shape[0]
        gx = np.zeros(ctx.shape, dtype=w.dtype)
        if ctx.reduction == "mean" and ctx.denom == 0:  # every row ignored: a NaN loss, zero gradient (PyTorch's)
            return gx, None
        scale = _upstream(g, ctx.reduction, ctx.denom, (n,), w.dtype)
        gx[np.arange(n), safe] = -w * scale
        return gx, None

    @staticmethod
    def backward_graph(ctx, g):
        safe, w = ctx.saved
        n = ctx.shape[0]
        pick = np.zeros(ctx.shape, dtype=w.dtype)
        pick[np.arange(n), safe] = -w
        if ctx.reduction == "mean" and ctx.denom == 0:
            return g * pick, None  # zeros (pick is), still a function of g
        s = _upstream_graph(g, ctx.reduction, ctx.denom)
        return (s.reshape(n, 1) if s.ndim else s) * pick, None


class BCEWithLogits(Primitive):
    """Binary cross-entropy on logits, numerically stable (fused C++ kernel):

        loss = w * ((1 - y) x + (1 + (pw - 1) y) log(1 + exp(-x)))

    with log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|)). ``weight``/``pos_weight``: None or arrays
    whose shape is the trailing dimensions of x (the caller broadcasts anything else).
    d/dx = w ((1 + (pw - 1) y) sigmoid(x) - pw y);  d/dy = w ((pw - 1) log(1 + exp(-x)) - x).
    """

    @staticmethod
    def forward(ctx, x, y, weight=None, pos_weight=None, reduction="mean"):
        ctx.options = (weight, pos_weight, reduction)
        ctx.save_for_backward(x, y)
        if reduction == "none":
            return K.bce_with_logits(x, y, weight, pos_weight, True)[1]
        return K.bce_with_logits_reduce(x, y, weight, pos_weight, reduction == "mean")

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        weight, pos_weight, reduction = ctx.options
        if reduction == "none":
            gy, coef = g, 1.0
        else:
            gy, coef = None, (float(g) / (x.size if reduction == "mean" else 1) if x.size else 0.0)
        gx = None
        if ctx.needs_input_grad[0]:
            gx = (K.bce_with_logits_backward(x, y, weight, pos_weight, gy, coef) if reduction == "none" else
                  K.bce_with_logits_backward_reduced(x, y, weight, pos_weight, g, reduction == "mean"))
        gt = None
        if ctx.needs_input_grad[1]:
            softplus = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
            d = -x if pos_weight is None else (pos_weight - 1) * softplus - x
            if weight is not None:
                d = d * weight
            gt = (d * (g if reduction == "none" else coef)).astype(x.dtype)
        return gx, gt

    @staticmethod
    def backward_graph(ctx, g):
        """dx = w ((1 + (pw - 1) y) sigmoid(x) - pw y) s, dy = w ((pw - 1) softplus(-x) - x) s."""
        x, y = ctx.saved
        weight, pos_weight, reduction = ctx.options
        xt, yt = ctx.input_tensor(0, x), ctx.input_tensor(1, y)
        s = g if reduction == "none" else g * ((1.0 / x.size if reduction == "mean" else 1.0) if x.size else 0.0)
        if weight is not None:
            s = s * weight
        gx = gt = None
        if ctx.needs_input_grad[0]:
            sig = Sigmoid.apply(xt)
            gx = (sig - yt if pos_weight is None else (yt * (pos_weight - 1) + 1) * sig - yt * pos_weight) * s
        if ctx.needs_input_grad[1]:
            if pos_weight is None:
                gt = -xt * s
            else:  # softplus(-x) = relu(-x) + log(1 + exp(-|x|))
                softplus = (-xt).relu() + ((-xt.abs()).exp() + 1).log()
                gt = (softplus * (pos_weight - 1) - xt) * s
        return gx, gt


class BCE(Primitive):
    """Binary cross-entropy on probabilities, PyTorch's form: each log is clamped to >= -100, so
    loss = -w (y max(log x, -100) + (1 - y) max(log(1 - x), -100)) is finite at x = 0 and 1.
    Backward as PyTorch: d/dx = w (x - y) / max(x (1 - x), 1e-12); d/dy = -w logit(x) = -w log(x / (1 - x)),
    not clamped (PyTorch's binary_cross_entropy_target_backward: +inf at x = 0, -inf at x = 1).
    """

    @staticmethod
    def forward(ctx, x, y, weight=None, reduction="mean"):
        if x.size and not (np.all(x >= 0) and np.all(x <= 1)):
            from eigengrad._errors import ArgumentError

            raise ArgumentError("input: all elements should be between 0 and 1 (probabilities); "
                                f"got values in [{float(np.nanmin(x))}, {float(np.nanmax(x))}]")
        if y.size and not (np.all(y >= 0) and np.all(y <= 1)):  # (PyTorch's check: labels coded 1/2 fail)
            from eigengrad._errors import ArgumentError

            raise ArgumentError("target: all elements of target should be between 0 and 1; got values in "
                                f"[{float(np.nanmin(y))}, {float(np.nanmax(y))}]")
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100)
            log_1mx = np.maximum(np.log1p(-x), -100)
        loss = -(y * log_x + (1 - y) * log_1mx)
        if weight is not None:
            loss = loss * weight
        ctx.options = (weight, reduction)
        ctx.save_for_backward(x, y)
        return _reduce(loss.astype(x.dtype), reduction, x.size, x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved
        weight, reduction = ctx.options
        up = _upstream(g, reduction, x.size, x.shape, x.dtype)
        if weight is not None:
            up = up * weight
        gx = (up * (x - y) / np.maximum(x * (1 - x), 1e-12)).astype(x.dtype) if ctx.needs_input_grad[0] else None
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                gy = (up * -np.log(x / (1 - x))).astype(x.dtype)
        else:
            gy = None
        return gx, gy

    @staticmethod
    def backward_graph(ctx, g):
        """dx = w (x - y) / max(x (1 - x), 1e-12) s; dy = -w log(x / (1 - x)) s."""
        x, y = ctx.saved[:2]
        weight, reduction = ctx.options
        xt, yt = ctx.input_tensor(0, x), ctx.input_tensor(1, y)
        s = _upstream_graph(g, reduction, x.size)
        if weight is not None:
            s = s * weight
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = (xt - yt) / Maximum.apply(xt * (1 - xt), 1e-12) * s
        if ctx.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                gy = -Log.apply(xt / (1 - xt)) * s
        return gx, gy


class Regression(Primitive):
    """Elementwise regression losses of d = x - y: 'l1' |d|; 'huber' (delta) 0.5 d^2 if |d| <= delta else
    delta (|d| - 0.5 delta); 'smooth_l1' (beta) 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta.
    Gradients as PyTorch: sign(d) for l1 (0 at d = 0), clip(d, -delta, delta), clip(d / beta, -1, 1)."""

    @staticmethod
    def forward(ctx, x, y, kind="l1", param=1.0, reduction="mean"):
        d = x - y
        a = np.abs(d)
        if kind == "l1" or (kind == "smooth_l1" and param == 0):
            loss = a
        elif kind == "huber":
            loss = np.where(a <= param, 0.5 * d * d, param * (a - 0.5 * param))
        else:
            loss = np.where(a < param, 0.5 * d * d / param, a - 0.5 * param)
        ctx.options = (kind, param, reduction)
        ctx.save_for_backward(d)
        return _reduce(loss.astype(x.dtype), reduction, x.size, x.dtype)

    @staticmethod
    def backward(ctx, g):
        (d,) = ctx.saved
        kind, param, reduction = ctx.options
        up = _upstream(g, reduction, d.size, d.shape, d.dtype)
        if kind == "l1" or (kind == "smooth_l1" and param == 0):
            dl = np.sign(d)
        elif kind == "huber":
            dl = np.clip(d, -param, param)
        else:
            dl = np.clip(d / param, -1, 1)
        gx = (up * dl).astype(d.dtype)
        return (gx if ctx.needs_input_grad[0] else None), (-gx if ctx.needs_input_grad[1] else None)

    @staticmethod
    def backward_graph(ctx, g):
        (d,) = ctx.saved
        kind, param, reduction = ctx.options
        s = _upstream_graph(g, reduction, d.size)
        if kind == "l1" or (kind == "smooth_l1" and param == 0):
            gx = s * np.sign(d)  # piecewise constant
        else:
            dt = d  # x - y with the saved value, plus zero-valued terms that carry the inputs' gradients
            for i, sign in ((0, 1), (1, -1)):
                t = ctx.input_tensor(i)
                if hasattr(t, "_data") and t.requires_grad:
                    dt = dt + (t - t._data) * sign
            gx = s * (Clamp.apply(dt, -param, param) if kind == "huber" else Clamp.apply(dt / param, -1.0, 1.0))
        return (gx if ctx.needs_input_grad[0] else None), (-gx if ctx.needs_input_grad[1] else None)


class KLDiv(Primitive):
    """Pointwise KL divergence with ``input`` = log q: t (log t - x) (0 where t = 0), or with
    ``log_target`` exp(t) (t - x). Reductions as PyTorch: 'mean' over all elements, 'batchmean' the sum
    divided by the batch size input.shape[0], 'sum', 'none'."""

    @staticmethod
    def forward(ctx, x, t, log_target=False, reduction="mean"):
        if log_target:
            et = np.exp(t)
            loss = et * (t - x)
            ctx.save_for_backward(x, t, et)
        else:
            # xlogy(t, t) - t x, PyTorch's: 0 where t = 0, NaN where t < 0 (log of a negative "probability")
            logt = np.where(t > 0, np.log(np.where(t > 0, t, 1)), np.where(t == 0, 0, np.nan))
            loss = np.where(t == 0, 0, t * logt) - t * x
            ctx.save_for_backward(x, t, logt)
        if reduction == "batchmean":
            denom = x.shape[0] if x.ndim else 1
            reduction = "mean"
        else:
            denom = x.size
        ctx.options = (log_target, reduction, denom)
        return _reduce(loss.astype(x.dtype), reduction, denom, x.dtype)

    @staticmethod
    def backward(ctx, g):
        x, t, aux = ctx.saved
        log_target, reduction, denom = ctx.options
        up = _upstream(g, reduction, denom, x.shape, x.dtype)
        if log_target:
            gx, gt = -up * aux, up * aux * (t - x + 1)
        else:
            gx, gt = -up * t, np.where(t > 0, up * (aux + 1 - x), 0)
        return ((gx.astype(x.dtype) if ctx.needs_input_grad[0] else None),
                (gt.astype(x.dtype) if ctx.needs_input_grad[1] else None))

    @staticmethod
    def backward_graph(ctx, g):
        x, t, aux = ctx.saved
        log_target, reduction, denom = ctx.options
        xt, tt = ctx.input_tensor(0, x), ctx.input_tensor(1, t)
        s = _upstream_graph(g, reduction, denom)
        gx = gt = None
        if log_target:
            et = tt.exp() if hasattr(tt, "_data") else np.exp(t)
            if ctx.needs_input_grad[0]:
                gx = -s * et
            if ctx.needs_input_grad[1]:
                gt = s * et * (tt - xt + 1)
        else:
            if ctx.needs_input_grad[0]:
                gx = -s * tt
            if ctx.needs_input_grad[1]:
                positive = np.asarray(t > 0)
                logt = Log.apply(where(positive, tt, 1.0))
                gt = where(positive, s * (logt + 1 - xt), 0.0)
        return gx, gt
