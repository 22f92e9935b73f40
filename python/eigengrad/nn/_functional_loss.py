"""Functional losses (re-exported by ``eigengrad.nn.functional``): NLL, binary cross-entropy (on
probabilities and on logits), L1, Huber, smooth L1, KL divergence and knowledge distillation.

Semantics, defaults, reductions and positional parameter order follow PyTorch 2.13
(``torch.nn.functional``), including the deprecated ``size_average``/``reduce`` arguments: given, they
set ``reduction`` with PyTorch's UserWarning (``eigengrad.nn._reduction.legacy_get_string``).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from eigengrad import _kernels
from eigengrad.autograd import ops_loss as L
from eigengrad.nn import _reduction as _R
from eigengrad.tensor import Tensor, as_tensor
from eigengrad._errors import ArgumentError, ArgumentTypeError, DtypeNotSupportedError

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _input(x, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected an eigengrad Tensor, got {type(x).__name__}")
    if x.dtype not in _FLOATS:
        raise DtypeNotSupportedError(f"{name}: expected a float32 or float64 tensor, got dtype {x.dtype}")
    return x


def _like(target, input: Tensor, name: str = "target") -> Tensor:
    """``target`` as a Tensor of input's shape and dtype (arrays are wrapped; a mismatch raises)."""
    if not isinstance(target, Tensor):
        arr = np.asarray(target)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{name}: expected a float tensor, got dtype {arr.dtype}")
        target = as_tensor(arr.astype(input.dtype, copy=False))
    if target.shape != input.shape:
        raise ArgumentError(f"{name}: expected the shape of input {input.shape}, got {target.shape}")
    if target.dtype != input.dtype:
        raise ArgumentTypeError(f"{name}: expected dtype {input.dtype} (the dtype of input), got {target.dtype}")
    return target


def _paired(input: Tensor, target, broadcast: str = "warn", name: str = "target") -> tuple[Tensor, Tensor]:
    """(input, target) of one shape and dtype for an elementwise loss, with PyTorch's rules: a float64 target
    makes the loss float64 (the input is cast, differentiably), an integer or bool target takes input's
    dtype; a target of another shape broadcasts against input, with PyTorch's warning (``broadcast='warn'``,
    the regression losses), silently (``'silent'``, kl_div) or not at all (``'error'``, the BCE losses)."""
    import warnings

    if not isinstance(target, Tensor):
        arr = np.asarray(target)
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{name}: expected a float tensor, got dtype {arr.dtype}")
        target = as_tensor(arr.astype(input.dtype, copy=False))
    if target._data.dtype.kind not in "fiub":
        raise TypeError(f"{name}: expected a float tensor, got dtype {target.dtype}")
    if target._data.dtype.kind != "f":
        target = target.to(input.dtype)
    elif target.dtype != input.dtype:  # float32 with float64: float64, as PyTorch's type promotion
        if target._data.dtype.itemsize > input._data.dtype.itemsize:
            input = input.to(target.dtype)
        else:
            target = target.to(input.dtype)
    if target.shape != input.shape:
        if broadcast == "error":
            raise ArgumentError(f"{name}: Target size ({target.shape}) must be the same as input size ({input.shape})")
        try:
            shape = np.broadcast_shapes(tuple(input.shape), tuple(target.shape))
        except ValueError:
            raise ArgumentError(f"{name}: the shape of target {target.shape} does not broadcast against the shape of "
                             f"input {input.shape}") from None
        if broadcast == "warn":
            warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                          "This will likely lead to incorrect results due to broadcasting. Please ensure they have "
                          "the same size.", stacklevel=3)
        input, target = input.expand(*shape), target.expand(*shape)
    return input, target


def _const(value, input: Tensor, name: str, cast: bool = False) -> np.ndarray | None:
    """A constant weight as an array of input's dtype (Tensor or array-like), or None. A tensor of another dtype
    is PyTorch's RuntimeError (class weights of nll_loss), or with ``cast`` converted (the BCE losses: PyTorch
    multiplies their weights into the loss in place, in the input's dtype)."""
    if value is None:
        return None
    arr = value._data if isinstance(value, Tensor) else np.asarray(value)
    if arr.dtype.kind not in "fiu":
        raise ArgumentTypeError(f"{name}: expected a float tensor, got dtype {arr.dtype}")
    if isinstance(value, Tensor) and arr.dtype != input.dtype and not cast:
        raise ArgumentTypeError(f"{name}: expected dtype {input.dtype} (the dtype of input), got {arr.dtype}")
    arr = np.asarray(arr, input.dtype)
    return _kernels.contiguous(arr) if arr.ndim else arr  # (a strided weight, w.expand(...): a recorded copy)


def _class_weight(weight, input: Tensor, c: int) -> np.ndarray | None:
    """Class weights: a 1-D tensor of C entries (PyTorch's rule), or None."""
    w = _const(weight, input, "weight")
    if w is not None and w.shape != (c,):
        raise ArgumentError(f"weight: expected a 1-D tensor of {c} class weights for input of shape {input.shape}, "
                         f"got shape {w.shape}")
    return w


def _check_smoothing(label_smoothing) -> float:
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, numbers.Real):
        raise TypeError(f"label_smoothing: expected a float, got {type(label_smoothing).__name__}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"label_smoothing: expected a value in [0.0, 1.0], got {label_smoothing}")
    return float(label_smoothing)


def _check_reduction(reduction: str, allowed=("mean", "sum", "none")) -> str:
    """``reduction`` checked ('elementwise_mean' gives 'mean' with PyTorch's warning): see ``_reduction.check``."""
    if reduction in allowed:
        return reduction
    return _R.check(reduction, allowed)


def _weighted(loss: Tensor, weight, input: Tensor, reduction: str, mean_by_weight: bool) -> Tensor:
    """PyTorch 2.13's ``weight`` of mse_loss, l1_loss and huber_loss: the elementwise loss times ``weight``
    (of input's size), then summed, or its mean ('mean': divided by sum(weight) for MSE and L1, by the
    number of elements for Huber)."""
    if not isinstance(weight, Tensor):
        weight = as_tensor(np.asarray(weight, dtype=input.dtype))
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / weight.sum() if mean_by_weight else loss.mean()


def _trailing(w: np.ndarray | None, shape: tuple, name: str) -> np.ndarray | None:
    """A weight that broadcasts against ``shape``: kept as its trailing dimensions when it is one (the
    kernel reads it as w[i % w.size]), else materialised at the full shape."""
    if w is None:
        return None
    try:
        full = np.broadcast_shapes(w.shape, shape)
    except ValueError:
        raise ArgumentError(f"{name}: shape {w.shape} does not broadcast against input of shape {shape}") from None
    if full != shape:
        raise ArgumentError(f"{name}: shape {w.shape} would broadcast input of shape {shape} to {full}")
    squeezed = w.reshape(w.shape[next((i for i, n in enumerate(w.shape) if n != 1), w.ndim):])
    # (the copies through _kernels.contiguous: eg.compile records them, so that a replay reads the weight)
    if squeezed.ndim == 0:  # one value for all: repeated along the last dimension (not np.ascontiguousarray's (1,))
        return _kernels.contiguous(np.broadcast_to(squeezed, shape[-1:])) if shape else squeezed.copy()
    if squeezed.shape == shape[len(shape) - squeezed.ndim:]:
        return _kernels.contiguous(squeezed)
    return _kernels.contiguous(np.broadcast_to(w, shape))


def _class_rows(input: Tensor, t: np.ndarray, c: int):
    """(rows, targets, output shape): (N, C, d1, ...) input moved to rows of C, targets flattened."""
    if input.ndim == 1:
        if t.ndim != 0:
            raise ArgumentError(f"target: expected a scalar class index for input of shape {input.shape}, got shape "
                                f"{t.shape}")
        return input.reshape(1, -1), t.reshape(1), ()
    if input.ndim == 0:
        raise ArgumentError("input: expected a tensor of shape (C,), (N, C) or (N, C, d1, ...), got a scalar")
    expected = (input.shape[0],) + input.shape[2:]
    if t.shape != expected:
        raise ArgumentError(f"target: expected shape {expected} for input of shape {input.shape}, got {t.shape}")
    if input.ndim == 2:
        return input, t, expected
    return input.permute(0, *range(2, input.ndim), 1).reshape(-1, c), t.reshape(-1), expected


def nll_loss(input: Tensor, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (e.g. from ``log_softmax``)::

        loss_i = -w[t_i] x_i[t_i]   (0 where t_i == ignore_index)

    'mean' divides the sum by sum_i w[t_i] over the rows not ignored (PyTorch's weighted mean). Shapes
    as ``cross_entropy``: (N, C) with (N,), (C,) with a scalar, (N, C, d1, ...) with (N, d1, ...).
    """
    _input(input)
    reduction = _R.resolve(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise ArgumentTypeError(f"target: expected integer class indices, got dtype {t.dtype}")
    c = input.shape[1] if input.ndim > 1 else (input.shape[0] if input.ndim == 1 else 0)
    w = _class_weight(weight, input, c)
    rows, flat, shape = _class_rows(input, t, c)
    out = L.NLL.apply(rows, flat, weight=w, reduction=reduction, ignore_index=int(ignore_index))
    return out.reshape(*shape) if reduction == "none" else out


def binary_cross_entropy(input: Tensor, target, weight=None, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against targets y::

        loss = -w (y max(log x, -100) + (1 - y) max(log(1 - x), -100))

    The logs are clamped at -100, as PyTorch does, so the loss stays finite at x = 0 or 1. ``weight``
    broadcasts against input. Prefer :func:`binary_cross_entropy_with_logits` (stable and fused).
    """
    _input(input)
    reduction = _R.resolve(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    target = _like(target, input)
    w = _const(weight, input, "weight", cast=True)
    if w is not None:
        w = _trailing(w, input.shape, "weight")
        # the full shape through _kernels.contiguous (eg.compile records the copy; a 0-d weight of a 0-d input
        # stays 0-d, which np.ascontiguousarray would make 1-d)
        w = _kernels.contiguous(np.broadcast_to(w, input.shape))
    return L.BCE.apply(input, target, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None, size_average=None, reduce=None,
                                     reduction: str = "mean", pos_weight=None) -> Tensor:
    """Binary cross-entropy on logits x, numerically stable, fused in C++ (forward and backward)::

        loss = w * ((1 - y) x + (1 + (pw - 1) y) log(1 + exp(-x)))
             = -w * (pw y log sigmoid(x) + (1 - y) log(1 - sigmoid(x)))

    with log(1 + exp(-x)) evaluated as max(-x, 0) + log1p(exp(-|x|)). ``weight`` broadcasts against
    input; ``pos_weight`` (the weight of positive examples, typically of shape (C,) for the last, class
    dimension) broadcasts against target.
    """
    _input(input)
    reduction = _R.resolve(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    input, target = _paired(input, target, broadcast="error")
    w = _trailing(_const(weight, input, "weight", cast=True), input.shape, "weight")
    pw = _trailing(_const(pos_weight, input, "pos_weight", cast=True), input.shape, "pos_weight")
    return L.BCEWithLogits.apply(input, target, weight=w, pos_weight=pw, reduction=reduction)


def l1_loss(input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean", weight=None) -> Tensor:
    """Mean absolute error |x - y| (gradient sign(x - y), 0 where x == y, as PyTorch). ``weight`` (of input's
    size) weighs each element; 'mean' then divides by sum(weight) (PyTorch 2.13)."""
    _input(input)
    reduction = _R.resolve(size_average, reduce, reduction)
    if weight is not None:
        return _weighted(L.Regression.apply(*_paired(input, target), kind="l1", param=0.0, reduction="none"),
                         weight, input, reduction, True)
    reduction = _check_reduction(reduction)
    return L.Regression.apply(*_paired(input, target), kind="l1", param=0.0, reduction=reduction)


def huber_loss(input: Tensor, target, reduction: str = "mean", delta: float = 1.0, weight=None) -> Tensor:
    """Huber loss (Huber 1964) of d = x - y: 0.5 d^2 where |d| <= delta, else delta (|d| - 0.5 delta).
    ``weight`` (of input's size) weighs each element; 'mean' stays the mean over the elements (PyTorch 2.13)."""
    _input(input)
    if weight is not None:
        if not delta > 0:
            raise ArgumentError(f"delta: expected a value > 0, got {delta}")
        return _weighted(L.Regression.apply(*_paired(input, target), kind="huber", param=float(delta),
                                            reduction="none"), weight, input, reduction, False)
    reduction = _check_reduction(reduction)
    if not delta > 0:
        raise ArgumentError(f"delta: expected a value > 0, got {delta}")
    return L.Regression.apply(*_paired(input, target), kind="huber", param=float(delta), reduction=reduction)


def smooth_l1_loss(input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """Smooth L1 (Girshick 2015, Fast R-CNN) of d = x - y: 0.5 d^2 / beta where |d| < beta, else
    |d| - 0.5 beta; beta = 0 gives L1. Equals huber_loss(delta=beta) / beta."""
    _input(input)
    reduction = _R.resolve(size_average, reduce, reduction)
    reduction = _check_reduction(reduction)
    if not beta >= 0:
        raise ArgumentError(f"beta: expected a value >= 0, got {beta}")
    return L.Regression.apply(*_paired(input, target), kind="smooth_l1", param=float(beta), reduction=reduction)


def kl_div(input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence KL(P || Q) with ``input`` = log Q (log-probabilities) and ``target`` = P::

        pointwise: p (log p - x)   (0 where p = 0);  with log_target: exp(t) (t - x), t = log p

    Reductions as PyTorch: 'batchmean' = sum / input.shape[0] (the true KL divergence per sample),
    'mean' = the mean over ALL elements (PyTorch's default, which divides by the number of classes
    too), 'sum', 'none'. The legacy ``size_average``/``reduce`` set the reduction without that warning
    (and, as PyTorch's, a ``reduction='batchmean'`` given with them still divides the result by input.shape[0]).
    """
    _input(input)
    if size_average is not None or reduce is not None:
        legacy = _R.legacy_get_string(size_average, reduce)
        out = L.KLDiv.apply(*_paired(input, target, broadcast="silent"), log_target=bool(log_target),
                            reduction=legacy)
        return out / input.shape[0] if reduction == "batchmean" and input.ndim != 0 else out
    if reduction == "mean":  # PyTorch's warning, word for word
        import warnings

        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    reduction = _check_reduction(reduction, ("mean", "batchmean", "sum", "none"))
    return L.KLDiv.apply(*_paired(input, target, broadcast="silent"), log_target=bool(log_target), reduction=reduction)


def distillation_loss(student_logits: Tensor, teacher_logits, target, *, temperature: float = 4.0,
                      alpha: float = 0.5, reduction: str = "mean", **ce_options) -> Tensor:
    """Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural Network")::

        loss = alpha * T^2 * KL(softmax(z_t / T) || softmax(z_s / T))  +  (1 - alpha) * CE(z_s, target)

    where the KL term is summed over classes and averaged over the batch ('batchmean': sum over all
    elements / N; for (N, C, d1, ...) logits the class dimension is 1 and the sum / N also runs over the
    spatial positions), computed from log_softmax of both sides (stable for large T). T^2 keeps the soft
    term's gradients on the scale of the hard term's as T changes. The teacher's logits are a constant:
    no gradient flows into them (they are detached). CE is ``cross_entropy(z_s, target, reduction=reduction,
    **ce_options)`` (weight, ignore_index, label_smoothing); ``reduction`` applies to the CE term only
    and must be 'mean' or 'sum' (the KL term is always batch-averaged).
    """
    from eigengrad.nn.functional import cross_entropy

    _input(student_logits, "student_logits")
    if reduction not in ("mean", "sum"):
        raise ArgumentError(f"reduction: expected 'mean' or 'sum', got {reduction!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) or not temperature > 0 \
            or not math.isfinite(temperature):
        raise ArgumentError(f"temperature: expected a finite number > 0, got {temperature!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0.0 <= alpha <= 1.0:
        raise ArgumentError(f"alpha: expected a number in [0, 1], got {alpha!r}")
    teacher = _like(teacher_logits.detach() if isinstance(teacher_logits, Tensor) else teacher_logits,
                    student_logits, "teacher_logits").detach()
    if student_logits.ndim < 2:
        raise ArgumentError(f"student_logits: expected shape (N, C) or (N, C, d1, ...), got {student_logits.shape}")
    T = float(temperature)
    log_p_student = (student_logits / T).log_softmax(1)
    log_p_teacher = (teacher / T).log_softmax(1).detach()
    soft = kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True)
    loss = soft * (alpha * T * T)
    if alpha < 1.0:
        loss = loss + cross_entropy(student_logits, target, reduction=reduction, **ce_options) * (1.0 - alpha)
    return loss


__all__ = ["nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "l1_loss", "huber_loss",
           "smooth_l1_loss", "kl_div", "distillation_loss"]
