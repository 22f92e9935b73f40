"""Dropout references: the same Philox draw as the kernels, then NumPy arithmetic.

Element i of a draw keeps iff word (i % 4) of Philox4x32-10 block (offset + i // 4) under key ``seed``
is below ``threshold`` (= round((1 - p) 2^32)); see cpp/include/eigengrad/dropout.hpp.
"""
import numpy as np

from eigengrad.reference.random import philox4x32


def bernoulli_mask(n, seed, offset, threshold):
    """uint8 mask of n elements, 1 where kept."""
    blocks = (n + 3) // 4
    w = philox4x32(np.arange(blocks, dtype=np.uint64) + np.uint64(offset), 0, seed)
    words = np.stack(w, axis=1).reshape(-1)[:n].astype(np.uint64)
    return (words < np.uint64(threshold)).astype(np.uint8)


def _factor(mask, value, dtype):
    """mask * value in dtype, as the kernels and PyTorch multiply (so a NaN or infinite value propagates to
    dropped elements too, where a select would give 0)."""
    return mask.astype(dtype) * np.dtype(dtype).type(value)


def dropout_forward(x, seed, offset, threshold, scale):
    """(y, mask): y = x * (mask * scale), mask flat (x.size,)."""
    mask = bernoulli_mask(x.size, seed, offset, threshold)
    return x * _factor(mask, scale, x.dtype).reshape(x.shape), mask


def dropout_backward(grad_out, mask, scale):
    return grad_out * _factor(mask, scale, grad_out.dtype).reshape(grad_out.shape)


def alpha_dropout_forward(x, seed, offset, threshold, a, b_keep, b_drop):
    """(y, mask): y = x * (mask * a) + (mask ? b_keep : b_drop) (PyTorch's arithmetic)."""
    mask = bernoulli_mask(x.size, seed, offset, threshold).reshape(x.shape)
    t = x.dtype.type
    return x * _factor(mask, a, x.dtype) + np.where(mask, t(b_keep), t(b_drop)), mask.reshape(-1)


def alpha_dropout_backward(grad_out, mask, a):
    return dropout_backward(grad_out, mask, a)


def feature_dropout_forward(x, seed, offset, threshold, scale):
    """x (rows, inner): one draw per row. (y, mask (rows,))."""
    mask = bernoulli_mask(x.shape[0], seed, offset, threshold)
    return x * _factor(mask, scale, x.dtype)[:, None], mask


def feature_dropout_backward(grad_out, mask, scale):
    return grad_out * _factor(mask, scale, grad_out.dtype)[:, None]


def relu_dropout_forward(x, seed, offset, threshold, scale):
    """eg.compile's fused ReLU then dropout: (y, mask) with y = relu(x) * (keep * scale) and one mask byte per
    element, keep | (not relu(x) <= 0) << 1 (a NaN passes its gradient, as relu_backward)."""
    r = np.where(x < 0, x.dtype.type(0), x)  # max(x, 0) as std::max: NaN and -0 kept
    keep = bernoulli_mask(x.size, seed, offset, threshold)
    y = r * _factor(keep, scale, x.dtype).reshape(x.shape)
    return y, keep | ((~(r.reshape(-1) <= 0)).astype(np.uint8) << 1)


def relu_dropout_backward(grad_out, mask, scale):
    """dropout_backward then relu_backward, from relu_dropout_forward's mask."""
    g = dropout_backward(grad_out, (mask & 1).reshape(grad_out.shape), scale)
    return np.where((mask & 2).reshape(grad_out.shape) != 0, g, grad_out.dtype.type(0))
