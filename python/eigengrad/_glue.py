"""The NumPy work between kernels, written as kernels: outputs are passed in, nothing is returned.

The autograd, the losses and the optimizer call these through ``eigengrad._kernels`` exactly as they
call the compiled bindings, so that ``eg.compile`` records them as plan steps like any kernel (their
names and argument roles are in ``eigengrad.compile.roles``). Each is the NumPy expression eager mode
used before. ``sum_rows`` and the loss reductions have C++ bodies under the same names (``_C``), which
``_kernels`` calls for C-contiguous float arrays; these NumPy versions remain for the other layouts and
dtypes (and the copies and fills stay here: NumPy's own are as fast).
"""
from __future__ import annotations

import numpy as np


def fill(out: np.ndarray, value: float) -> None:
    """out[...] = value."""
    out[...] = value


def copy(src: np.ndarray, out: np.ndarray) -> None:
    """out[...] = src, cast to out's dtype (a gradient written into its slot of an optimizer's buffer)."""
    np.copyto(out, src, casting="unsafe")


def add_into(out: np.ndarray, src: np.ndarray) -> None:
    """out += src (gradient accumulation into ``.grad``)."""
    out += src


def add(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out = a + b (two gradients of one node summed by backward)."""
    np.add(a, b, out=out)


def unary(name: str, x: np.ndarray, out: np.ndarray) -> None:
    """out = np.<name>(x) (an elementwise NumPy function: negative, ...)."""
    getattr(np, name)(x, out=out)


def binary(name: str, a, b, out: np.ndarray) -> None:
    """out = np.<name>(a, b): broadcasting arithmetic of two arrays, or of an array and a Python number."""
    getattr(np, name)(a, b, out=out)


# The same call under the names whose roles (compile/roles.py) say which operand is a frozen number:
binary_scalar = binary  # array op number (loss / 2)
scalar_binary = binary  # number op array (1 - p, 0 + loss in Python's sum())


def arg_reduce(name: str, x: np.ndarray, axis: int, keepdims: bool, out: np.ndarray) -> None:
    """out = np.argmax / np.argmin (``name``) of x along ``axis`` (the predicted class of each row)."""
    getattr(np, name)(x, axis=axis, keepdims=keepdims, out=out)


def sum_rows(x: np.ndarray, out: np.ndarray) -> None:
    """out = sum of the rows of x (the bias gradient of Linear)."""
    np.sum(x, axis=0, out=out)


def clip_grad_norm(grads: list, max_norm: float, norm_type: float, scale_if_nonfinite: bool, out: np.ndarray) -> None:
    """out (0-d) = the total norm of ``grads``, each scaled in place by min(max_norm / (norm + 1e-6), 1)
    (the compiled kernel; the norm lands in an array so that a compiled step can return it)."""
    from eigengrad import _kernels  # (at call time: the module imports this one)

    out[()] = _kernels._C.clip_grad_norm(grads, max_norm=max_norm, norm_type=norm_type,
                                         scale_if_nonfinite=scale_if_nonfinite)


def _reduced(total: float, size: int, mean: bool) -> float:
    """A loss's sum, or its mean over ``size`` elements (NaN for an empty mean), as the eager losses did."""
    if not mean:
        return total
    return total / size if size else np.nan


def _upstream_coef(g: np.ndarray, size: int, mean: bool) -> float:
    """The upstream gradient g (0-d, read now) over ``size`` for a mean (0 for no elements)."""
    return float(g) / (size if mean else 1) if size else 0.0


def squared_error_reduce(x: np.ndarray, y: np.ndarray, mean: bool, out: np.ndarray) -> None:
    """out (0-d) = sum((x - y)^2), over x.size when ``mean`` (NaN for an empty mean): MSELoss's forward (the
    compiled kernel's double sum, in an array so that a compiled step replays it)."""
    from eigengrad import _kernels  # (at call time: the module imports this one)

    out[()] = _reduced(_kernels._C.squared_error_sum(x, y), x.size, mean)


def squared_error_backward_reduced(x: np.ndarray, y: np.ndarray, g: np.ndarray, mean: bool,
                                   out: np.ndarray) -> None:
    """out = d loss / dx of a reduced MSELoss: 2 (x - y) g (/ x.size when ``mean``), g read now (0-d)."""
    from eigengrad import _kernels

    _kernels._C.squared_error_backward(x, y, None, 2.0 * _upstream_coef(g, x.size, mean), out)


def bce_with_logits_reduce(x: np.ndarray, y: np.ndarray, weight, pos_weight, mean: bool, out: np.ndarray) -> None:
    """out (0-d) = the sum of BCEWithLogits' elementwise losses, over x.size when ``mean`` (the kernel)."""
    from eigengrad import _kernels

    out[()] = _reduced(_kernels._C.bce_with_logits_forward(x, y, weight, pos_weight, None), x.size, mean)


def bce_with_logits_backward_reduced(x: np.ndarray, y: np.ndarray, weight, pos_weight, g: np.ndarray, mean: bool,
                                     out: np.ndarray) -> None:
    """out = d loss / dx of a reduced BCEWithLogitsLoss, the upstream g (0-d) read now."""
    from eigengrad import _kernels

    _kernels._C.bce_with_logits_backward(x, y, weight, pos_weight, None, _upstream_coef(g, x.size, mean), out)


def add_l2_penalty(weights: list, alpha: float, batch_size: int, loss: np.ndarray) -> None:
    """loss (0-d) += alpha / 2 * sum_l ||W_l||^2 / batch_size (scikit-learn's L2 term, added to a loss's
    value: its gradient is added by ``add_l2_penalty_grad``)."""
    squares = sum(float(np.dot(w.ravel(), w.ravel())) for w in weights)
    np.add(loss, 0.5 * alpha * squares / batch_size, out=loss)


def add_l2_penalty_grad(grads: list, weights: list, alpha: float, batch_size: int) -> None:
    """grads[l] += weights[l] * (alpha / batch_size): the gradient of ``add_l2_penalty``."""
    c = alpha / batch_size
    for g, w in zip(grads, weights):
        g += np.multiply(w, c)


def increment(count: np.ndarray) -> None:
    """count += 1 in place (BatchNorm's ``num_batches_tracked``)."""
    count[()] = int(count) + 1


def class_denominator(target: np.ndarray, weight, ignore_index: int) -> float:
    """The divisor of a cross-entropy 'mean': the summed weights of the rows whose target is not
    ``ignore_index`` (their number without weights). Read from the targets at every call."""
    keep = target != ignore_index
    if weight is None:
        return float(np.count_nonzero(keep))
    return float(np.sum(weight[target[keep]], dtype=np.float64))


def loss_reduce(rows: np.ndarray, target: np.ndarray, weight, ignore_index: int, mean: bool, out: np.ndarray) -> None:
    """out (0-d) = sum of the per-row losses, accumulated in float64, divided for 'mean' by
    ``class_denominator`` (nan when it is 0, as PyTorch)."""
    total = np.sum(rows, dtype=np.float64)
    if mean:
        denom = class_denominator(target, weight, ignore_index)
        total = total / denom if denom else np.nan
    out[()] = total


def loss_upstream(g: np.ndarray, target: np.ndarray, weight, ignore_index: int, mean: bool, out: np.ndarray) -> None:
    """out[:] = the gradient of each row's loss: g ('sum') or g / ``class_denominator`` ('mean')."""
    if mean:
        denom = class_denominator(target, weight, ignore_index)
        out[...] = float(g) / denom if denom else np.nan
    else:
        out[...] = float(g)


def mean_upstream(g: np.ndarray, target: np.ndarray, ignore_index: int, out: np.ndarray) -> None:
    """out[:] = g / (number of rows not ignored), in g's dtype (the unweighted cross-entropy's 'mean')."""
    count = int(np.count_nonzero(target != ignore_index))
    out[...] = g / count if count else np.nan
