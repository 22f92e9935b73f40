"""Margin, embedding and likelihood losses in functional form (re-exported by ``eigengrad.nn.functional``):
margin ranking, hinge embedding, soft margin, cosine embedding, triplet margin (with a distance function),
Poisson and Gaussian negative log-likelihood, multi-class and multi-label margin, multi-label soft margin.
PyTorch's formulas, validation, messages and positional parameter order, with the deprecated
``size_average``/``reduce`` mapped to ``reduction`` as PyTorch 2.13 does (``eigengrad.nn._reduction``, with
its warning); composed of differentiable tensor operations, so first- and second-order gradients come
with them."""
from __future__ import annotations

import math

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentTypeError
from eigengrad.autograd import ops
from eigengrad.nn import _reduction as _R
from eigengrad.nn._functional_activation import _tensor
from eigengrad.nn._functional_activation_more import _where_tensor, logsigmoid, relu
from eigengrad.nn._functional_distance import pairwise_distance
from eigengrad.tensor import Tensor


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _broadcast(a: tuple, b: tuple) -> tuple:
    """np.broadcast_shapes with PyTorch's error (a RuntimeError, and a ValueError), not NumPy's message."""
    try:
        return np.broadcast_shapes(tuple(a), tuple(b))
    except ValueError:
        raise ArgumentError(f"The size of tensor a {list(a)} must match the size of tensor b {list(b)} (they do not "
                            "broadcast)") from None


def _labels(t, name: str = "target") -> np.ndarray:
    return t._data if isinstance(t, Tensor) else np.asarray(t)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin), y = 1 when x1 should rank higher, -1 when x2 should."""
    _tensor(input1, "input1"), _tensor(input2, "input2"), _tensor(target, "target")
    reduction = _R.resolve(size_average, reduce, reduction)
    reduction = _R.check(reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise ArgumentError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                            f"input1: {input1.shape}, input2: {input2.shape}, target: {target.shape} ")
    return _reduce((-target * (input1 - input2) + margin).clamp(min=0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (PyTorch: both terms where y is neither)."""
    _tensor(input), _tensor(target, "target")
    reduction = _R.resolve(size_average, reduce, reduction)
    reduction = _R.check(reduction)
    shape = _broadcast(input.shape, target.shape)
    margin_part = _where_tensor(ops.numpy_call(_target_mask, np.not_equal, target._data, 1, shape), (margin - input).clamp(min=0), 0.0)
    self_part = _where_tensor(ops.numpy_call(_target_mask, np.not_equal, target._data, -1, shape), input, 0.0)
    return _reduce(margin_part + self_part, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-y x)), computed without overflow."""
    _tensor(input), _tensor(target, "target")
    reduction = _R.resolve(size_average, reduce, reduction)
    reduction = _R.check(reduction)
    # PyTorch's neg_out(output, input).mul_(target): the input negated first (a bool input is refused there), the
    # product (in the promoted dtype) written into the input's dtype and shape (a target may broadcast to it only)
    neg_margin = -input * target
    if tuple(neg_margin.shape) != tuple(input.shape):
        raise ArgumentError(f"output with shape {list(input.shape)} doesn't match the broadcast shape "
                            f"{list(neg_margin.shape)}")
    if neg_margin.dtype != input.dtype:
        neg_margin = neg_margin.to(input.dtype)
    return _reduce(-logsigmoid(-neg_margin), reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1; cos uses squared norms
    plus 1e-12 (PyTorch's EPSILON)."""
    _tensor(input1, "input1"), _tensor(input2, "input2"), _tensor(target, "target")
    reduction = _R.resolve(size_average, reduce, reduction)
    reduction = _R.check(reduction)
    if target.ndim == 0 and input1.ndim != 1:
        raise ArgumentError(f"0D target tensor expects 1D input tensors, but found inputs with sizes "
                            f"{list(input1.shape)} and {list(input2.shape)}.")
    if target.ndim == 1 and input1.ndim != 2:
        raise ArgumentError(f"1D target tensor expects 2D input tensors, but found inputs with sizes "
                            f"{list(input1.shape)} and {list(input2.shape)}.")
    if target.ndim > 1:
        raise ArgumentError("0D or 1D target tensor expected, multi-target not supported")
    d = input1.ndim - 1
    _broadcast(_broadcast(input1.shape, input2.shape)[:d], target.shape)
    prod = (input1 * input2).sum(d)
    denom = (((input1 * input1).sum(d) + 1e-12) * ((input2 * input2).sum(d) + 1e-12)).sqrt()
    cos = prod / denom
    loss = (_where_tensor(ops.numpy_call(_target_mask, np.equal, target._data, 1, cos.shape), 1 - cos, 0.0)
            + _where_tensor(ops.numpy_call(_target_mask, np.equal, target._data, -1, cos.shape), (cos - margin).clamp(min=0), 0.0))
    return _reduce(loss, reduction)


def _same_ndim(anchor: Tensor, positive: Tensor, negative: Tensor) -> None:
    a, p, n = anchor.ndim, positive.ndim, negative.ndim
    if not (a == p and p == n):
        raise ArgumentError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                            f"dimensions, but got: anchor {a}D, positive {p}D, and negative {n}D inputs")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) with d the pairwise p-norm distance (Balntas et al. 2016); ``swap``
    uses min(d(a, n), d(p, n))."""
    _tensor(anchor, "anchor"), _tensor(positive, "positive"), _tensor(negative, "negative")
    reduction = _R.resolve(size_average, reduce, reduction)
    reduction = _R.check(reduction)
    if margin <= 0:
        raise ArgumentError(f"margin must be greater than 0, got {margin}")
    _same_ndim(anchor, positive, negative)
    dist_pos = pairwise_distance(anchor, positive, p, eps)
    dist_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        dist_neg = dist_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + dist_pos - dist_neg).clamp(min=0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *, distance_function=None,
                                      margin: float = 1.0, swap: bool = False, reduction: str = "mean") -> Tensor:
    """:func:`triplet_margin_loss` with any ``distance_function`` (default :func:`pairwise_distance`)."""
    if margin <= 0:
        raise ArgumentError(f"TripletMarginWithDistanceLoss: expected margin to be greater than 0, got {margin} "
                            "instead")
    ops.check_reduction(reduction)
    _tensor(anchor, "anchor"), _tensor(positive, "positive"), _tensor(negative, "negative")
    _same_ndim(anchor, positive, negative)
    dist = distance_function if distance_function is not None else pairwise_distance
    dist_pos, dist_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        dist_neg = dist_neg.minimum(dist(positive, negative))
    return _reduce((margin + dist_pos - dist_neg).clamp(min=0), reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    """Poisson negative log-likelihood: exp(x) - y x (``log_input``) or x - y log(x + eps); ``full`` adds
    Stirling's approximation y log y - y + log(2 pi y) / 2 where y > 1."""
    _tensor(input), _tensor(target, "target")
    reduction = _R.resolve(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ArgumentError(f"{reduction} is not a valid value for reduction")
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:  # differentiable in the target too, as PyTorch's
        y = target
        big = ops.numpy_call(np.greater, y._data, 1)
        safe = _where_tensor(big, y, 2.0)
        stirling = safe * safe.log() - safe + (safe * (2 * math.pi)).log() * 0.5
        loss = loss + _where_tensor(big, stirling, 0.0)
    return _reduce(loss, reduction)


def _target_mask(compare, y: np.ndarray, value: int, shape: tuple) -> np.ndarray:
    """compare(y, value) (np.equal or np.not_equal) broadcast to ``shape``: a mask of the targets."""
    return np.broadcast_to(compare(y, value), shape).copy()


def _check_var(var: np.ndarray) -> None:
    if bool((var < 0).any()):
        raise ArgumentError("var has negative entry/entries")


def _gaussian_var(var, input: Tensor) -> Tensor:
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ArgumentError("var has negative entry/entries")
        return input.new_full(input.shape, float(var))
    _tensor(var, "var")
    ops.numpy_check(_check_var, var._data)  # (a compiled step checks each replay's var too)
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            return var.unsqueeze(-1)
        if not (input.ndim == var.ndim and sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1):
            raise ArgumentError("var is of incorrect size")
    return var


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """Gaussian negative log-likelihood (Nix & Weigend 1994): (log(max(var, eps)) + (x - y)^2 /
    max(var, eps)) / 2, plus log(2 pi) / 2 when ``full``. The clamp passes the gradient through unchanged
    (PyTorch clamps under no_grad)."""
    _tensor(input), _tensor(target, "target")
    var = _gaussian_var(var, input)
    if reduction not in ("none", "mean", "sum"):
        raise ArgumentError(reduction + " is not valid")
    d = var.detach()
    var = var + (d.clamp(min=eps) - d)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def _class_targets(input: Tensor, target, name: str) -> tuple:
    """(input as (N, C), target indices as (N,), unbatched) after PyTorch's shape checks."""
    t = _labels(target)
    if input.ndim not in (1, 2) or (input.ndim == 2 and input.shape[1] == 0 and input.shape[0] != 0):
        raise ArgumentError(f"{name}: expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                            f"{list(input.shape)}")
    if t.dtype.kind not in "iu":
        raise ArgumentTypeError(f"target: expected integer class indices, got dtype {t.dtype}")
    n = input.shape[0] if input.ndim == 2 else 1
    if t.ndim > 1 or t.size != n:
        raise ArgumentError(f"inconsistent target size, expected {n} but got {list(t.shape)}")
    return (input if input.ndim == 2 else input.reshape(1, -1)), t.reshape(-1).astype(np.int64), input.ndim == 1


def _target_positions(t: np.ndarray, c: int) -> np.ndarray:
    """The class indices as an int64 column (N, 1), checked to be in [0, c)."""
    if t.size and (t.min() < 0 or t.max() >= c):
        raise ArgumentError("target out of range")
    return t.reshape(-1, 1).astype(np.int64)


def _other_classes(t: np.ndarray, shape: tuple) -> np.ndarray:
    """True where the class is not the row's target."""
    others = np.ones(shape, dtype=bool)
    others[np.arange(t.size), t.reshape(-1)] = False
    return others


def multi_margin_loss(input: Tensor, target, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss (Weston & Watkins 1999; Crammer & Singer 2001 without the max): per sample,
    sum over i != y of w[y] max(0, margin - x[y] + x[i])^p / C."""
    _tensor(input)
    reduction = _R.resolve(size_average, reduce, reduction)
    reduction = _R.check(reduction)
    if p != 1 and p != 2:
        raise ArgumentError("only p == 1 and p == 2 supported")
    if weight is not None and _tensor(weight, "weight").ndim != 1:
        raise ArgumentError("weight must be one-dimensional")
    x, _, unbatched = _class_targets(input, target, "multi_margin_loss")  # (its checks; the targets: below)
    c = x.shape[1]
    if weight is not None and weight.shape[0] != c:  # PyTorch refuses it (the gather would read past the end)
        raise ArgumentError(f"inconsistent weight size, expected {c} but got {list(weight.shape)}")
    # (the targets' arrays are NumPy steps over the caller's: a compiled step reads each call's, checked each time)
    raw = _labels(target)
    index = Tensor._wrap(ops.numpy_call(_target_positions, raw, c))
    z = relu(margin - x.gather(1, index) + x)
    z = z * z if p == 2 else z
    # the target's own term left out by a mask, not a product with 0 (an inf target logit makes it NaN)
    z = _where_tensor(ops.numpy_call(_other_classes, raw, x.shape), z, 0.0)
    if weight is not None:
        z = z * weight.index_select(0, index.reshape(-1)).reshape(-1, 1)
    loss = z.sum(1) / c
    return _reduce(loss.reshape(raw.shape) if unbatched else loss, reduction)  # (a 1-D input: the target's (), (1,))


def multilabel_margin_loss(input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Multi-label hinge loss: per sample, the target classes are target's entries before the first -1;
    sum over target classes j and non-target classes i of max(0, 1 - (x[j] - x[i])) / C."""
    _tensor(input)
    reduction = _R.resolve(size_average, reduce, reduction)
    reduction = _R.check(reduction)
    t = _labels(target)
    if input.ndim not in (1, 2) or (input.ndim == 2 and input.shape[1] == 0 and input.shape[0] != 0):
        raise ArgumentError(f"multilabel_margin_loss: expected non-empty vector or matrix with optional 0-dim batch "
                            f"size, but got: {list(input.shape)}")
    if t.shape != input.shape:
        raise ArgumentError(f"inconsistent target size: {list(t.shape)} for input of size: {list(input.shape)}")
    if t.dtype.kind not in "iu":
        raise ArgumentTypeError(f"target: expected integer class indices, got dtype {t.dtype}")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    t2 = t.reshape(x.shape).astype(np.int64)
    n, c = x.shape
    pairs = np.zeros((n, c, c), dtype=x.dtype)  # pairs[s, j, i]: times class j is a target, i not a target
    for s in range(n):
        row = t2[s]
        stop = np.flatnonzero(row < 0)
        labels = row[: stop[0] if stop.size else c]
        if labels.size and labels.max() >= c:
            raise ArgumentError(f"target: class index {labels.max()} is out of range for {c} classes")
        counts = np.bincount(labels, minlength=c).astype(x.dtype)
        pairs[s] = counts[:, None] * (counts == 0)[None, :]
    margins = relu(1 - x.unsqueeze(2) + x.unsqueeze(1))
    loss = (margins * Tensor._wrap(pairs)).sum((1, 2)) / c
    return _reduce(loss.reshape(()) if input.ndim == 1 else loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                                reduce=None, reduction: str = "mean") -> Tensor:
    """Per sample, the mean over classes of -(y log sigmoid(x) + (1 - y) log sigmoid(-x)), weighted by
    ``weight`` per class. 'elementwise_mean' is refused, as by PyTorch."""
    _tensor(input), _tensor(target, "target")
    reduction = _R.resolve(size_average, reduce, reduction)
    ops.check_reduction(reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * _tensor(weight, "weight")
    class_dim = input.ndim - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    return _reduce(loss, reduction)
