"""Normalisation references: batch, layer, group and local response norm, forward and backward.

Same signatures and results as the kernels in ``eigengrad._kernels``: statistics (mean, 1/std) and
the backward's sums in float64, elementwise work in the input's dtype, running statistics updated in
place. Plain NumPy: ``mean``/``var``/``sum`` with ``dtype=float64``, the backward in the closed form
of the kernels written with whole-array operations. (The tests call it on float64 copies of the
inputs: then every step is float64.)
"""
import math

import numpy as np


def _as3d(x):
    """(N, C, *) viewed as (N, C, S)."""
    return x.reshape(x.shape[0], x.shape[1], math.prod(x.shape[2:]))  # (not -1: x may be empty)


def _need(grads):
    return tuple(bool(g) for g in grads)


# --- batch norm -------------------------------------------------------------------------------------

def batch_norm_forward(x, weight, bias, running_mean, running_var, training, momentum, eps):
    """y = (x - mean) / sqrt(var + eps) * weight + bias per channel (axis 1) of x (N, C, *).

    training: batch statistics (biased variance), and running_mean/running_var (when given) updated in
    place with the unbiased variance; else the running statistics. Returns y and the float64 mean and
    1/sqrt(var + eps) that were used.
    """
    x3 = _as3d(x)
    c = x3.shape[1]
    m = x3.shape[0] * x3.shape[2]
    if training:
        if m > 0:
            mean = x3.mean(axis=(0, 2), dtype=np.float64)
            var = x3.var(axis=(0, 2), dtype=np.float64)
        else:
            mean, var = np.zeros(c), np.zeros(c)
        if running_mean is not None and m > 0:
            running_mean[...] = momentum * mean + (1 - momentum) * running_mean.astype(np.float64)
            running_var[...] = momentum * var * m / (m - 1) + (1 - momentum) * running_var.astype(np.float64)
    else:
        mean, var = running_mean.astype(np.float64), running_var.astype(np.float64)
    invstd = 1.0 / np.sqrt(var + eps)
    w = np.ones(c) if weight is None else weight.astype(np.float64)
    b = np.zeros(c) if bias is None else bias
    dt = x.dtype
    y = (x3 - mean.astype(dt)[:, None]) * (invstd * w).astype(dt)[:, None] + b.astype(dt)[:, None]
    return y.reshape(x.shape), mean, invstd


def batch_norm_relu_forward(x, weight, bias, running_mean, running_var, momentum, eps):
    """eg.compile's fused BatchNorm (training) -> ReLU: (relu(y), mean, invstd) of batch_norm_forward."""
    from eigengrad.reference.activation import relu_forward

    y, mean, invstd = batch_norm_forward(x, weight, bias, running_mean, running_var, True, momentum, eps)
    return relu_forward(y), mean, invstd


def batch_norm_relu_max_pool2d_forward(x, weight, bias, running_mean, running_var, momentum, eps, input_size,
                                       kernel_size, stride, padding, dilation, ceil_mode):
    """eg.compile's fused BatchNorm (training) -> ReLU -> MaxPool2d over x (n, c, h * w): (out, indices, mean,
    invstd), out and indices (n * c, oh, ow), as batch_norm_relu_forward then max_pool2d_forward."""
    from eigengrad.reference.pool import max_pool2d_forward

    y, mean, invstd = batch_norm_relu_forward(x, weight, bias, running_mean, running_var, momentum, eps)
    n, c = x.shape[:2]
    out, idx = max_pool2d_forward(y.reshape(n, c, *input_size), kernel_size, stride, padding, dilation, ceil_mode)
    return out.reshape(n * c, *out.shape[2:]), idx.reshape(n * c, *idx.shape[2:]), mean, invstd


def batch_norm_relu_dropout_forward(x, weight, bias, running_mean, running_var, momentum, eps, seed, offset,
                                    threshold, scale):
    """eg.compile's fused BatchNorm (training) -> ReLU -> Dropout: (y, mean, invstd, mask) as
    batch_norm_forward then relu_dropout_forward (the running statistics updated in place)."""
    from eigengrad.reference.dropout import relu_dropout_forward

    bn, mean, invstd = batch_norm_forward(x, weight, bias, running_mean, running_var, True, momentum, eps)
    y, mask = relu_dropout_forward(bn, seed, offset, threshold, scale)
    return y, mean, invstd, mask


def batch_norm_backward(grad_out, x, save_mean, save_invstd, weight, training, grads=(True, True, True)):
    """(grad_in, grad_weight, grad_bias) of batch norm, None where ``grads`` says it is not wanted.

    xhat = (x - mean) * invstd; grad_bias = sum dy, grad_weight = sum dy * xhat; training:
    grad_in = w * invstd / m * (m * dy - sum dy - xhat * sum dy * xhat); eval: grad_in = dy * w * invstd.
    """
    need_in, need_w, need_b = _need(grads)
    x3, g3, dt = _as3d(x), _as3d(grad_out), x.dtype
    c = x3.shape[1]
    m = x3.shape[0] * x3.shape[2]
    w = np.ones(c) if weight is None else weight.astype(np.float64)
    xhat = (x3 - save_mean.astype(dt)[:, None]) * save_invstd.astype(dt)[:, None]
    sum_dy = g3.sum(axis=(0, 2), dtype=np.float64)
    # PyTorch's order: sum dy (x - mean), then times invstd (an empty batch with an infinite invstd gives
    # NaN, as in PyTorch, where summing dy xhat would give 0)
    sum_dy_xhat = (g3 * (x3 - save_mean.astype(dt)[:, None])).sum(axis=(0, 2), dtype=np.float64) * save_invstd
    gin = None
    if need_in:
        scale = w * save_invstd
        if training and m > 0:
            gin = (scale.astype(dt)[:, None] * g3 - (scale * sum_dy / m).astype(dt)[:, None]
                   - xhat * (scale * sum_dy_xhat / m).astype(dt)[:, None])
        else:
            gin = g3 * scale.astype(dt)[:, None]
        gin = gin.reshape(x.shape)
    gw = sum_dy_xhat.astype(dt) if need_w else None
    gb = sum_dy.astype(dt) if need_b else None
    return gin, gw, gb


# --- layer norm -------------------------------------------------------------------------------------

def _rows(x, normalized_ndim):
    d = int(np.prod(x.shape[x.ndim - normalized_ndim:], dtype=np.int64))
    m = int(np.prod(x.shape[:x.ndim - normalized_ndim], dtype=np.int64))
    return x.reshape(m, d)


def layer_norm_forward(x, normalized_ndim, weight, bias, eps):
    """Normalise over the last ``normalized_ndim`` dimensions: y = (x - mean) * rstd * weight + bias.

    Returns y and the float64 mean and rstd = 1/sqrt(var + eps) of each row (flattened leading dims).
    """
    x2 = _rows(x, normalized_ndim)
    if x2.shape[1] > 0:
        mean = x2.mean(axis=1, dtype=np.float64)
        var = x2.var(axis=1, dtype=np.float64)
    else:
        mean = var = np.zeros(x2.shape[0])
    rstd = 1.0 / np.sqrt(var + eps)
    y = (x2 - mean.astype(x.dtype)[:, None]) * rstd.astype(x.dtype)[:, None]
    if weight is not None:
        y = y * weight.reshape(-1)
    if bias is not None:
        y = y + bias.reshape(-1)
    return y.reshape(x.shape), mean, rstd


def layer_norm_backward(grad_out, x, mean, rstd, normalized_ndim, weight, grads=(True, True, True)):
    """(grad_in, grad_weight, grad_bias): with g = dy * weight per row,
    grad_in = rstd / d * (d * g - sum g - xhat * sum g * xhat); grad_weight = sum over rows of dy * xhat,
    grad_bias = sum over rows of dy (shaped like weight)."""
    need_in, need_w, need_b = _need(grads)
    x2, g2, dt = _rows(x, normalized_ndim), _rows(grad_out, normalized_ndim), x.dtype
    d = x2.shape[1]
    xhat = (x2 - mean.astype(dt)[:, None]) * rstd.astype(dt)[:, None]
    gin = gw = gb = None
    if need_in:
        g = g2 * weight.reshape(-1) if weight is not None else g2
        sum_g = g.sum(axis=1, dtype=np.float64)
        sum_gx = (g * xhat).sum(axis=1, dtype=np.float64)
        dd = max(d, 1)
        gin = (rstd.astype(dt)[:, None] * g - (rstd * sum_g / dd).astype(dt)[:, None]
               - xhat * (rstd * sum_gx / dd).astype(dt)[:, None])
        gin = gin.reshape(x.shape)
    pshape = x.shape[x.ndim - normalized_ndim:]
    if need_w:
        gw = (g2 * xhat).sum(axis=0, dtype=np.float64).astype(dt).reshape(pshape)
    if need_b:
        gb = g2.sum(axis=0, dtype=np.float64).astype(dt).reshape(pshape)
    return gin, gw, gb


# --- group norm -------------------------------------------------------------------------------------

def group_norm_forward(x, num_groups, weight, bias, eps):
    """Statistics per (sample, group of C/num_groups channels), affine per channel. Returns y and the
    float64 mean and rstd of shape (N * num_groups,)."""
    n, c = x.shape[0], x.shape[1]
    xg = x.reshape(n * num_groups, math.prod(x.shape[1:]) // num_groups)
    if xg.shape[1] > 0:
        mean = xg.mean(axis=1, dtype=np.float64)
        var = xg.var(axis=1, dtype=np.float64)
    else:
        mean = var = np.zeros(n * num_groups)
    rstd = 1.0 / np.sqrt(var + eps)
    y = ((xg - mean[:, None]) * rstd[:, None]).reshape(_as3d(x).shape)
    if weight is not None:
        y = y * weight.astype(np.float64)[:, None]
    if bias is not None:
        y = y + bias.astype(np.float64)[:, None]
    return y.astype(x.dtype).reshape(x.shape), mean, rstd


def group_norm_backward(grad_out, x, mean, rstd, num_groups, weight, grads=(True, True, True)):
    """(grad_in, grad_weight, grad_bias): layer norm's backward per (sample, group) with g = dy * weight[c]."""
    need_in, need_w, need_b = _need(grads)
    n, c = x.shape[0], x.shape[1]
    x3, g3 = _as3d(x).astype(np.float64), _as3d(grad_out).astype(np.float64)
    cg, s = c // num_groups, x3.shape[2]
    d = cg * s
    mean_c = np.repeat(mean.reshape(n, num_groups), cg, axis=1)[:, :, None]  # (n, c, 1)
    rstd_c = np.repeat(rstd.reshape(n, num_groups), cg, axis=1)[:, :, None]
    xhat = (x3 - mean_c) * rstd_c
    gin = gw = gb = None
    if need_in:
        g = g3 * weight.astype(np.float64)[:, None] if weight is not None else g3
        gg, xg = g.reshape(n, num_groups, d), xhat.reshape(n, num_groups, d)
        rs = rstd.reshape(n, num_groups, 1)
        gin = rs / max(d, 1) * (d * gg - gg.sum(axis=2, keepdims=True) - xg * (gg * xg).sum(axis=2, keepdims=True))
        gin = gin.astype(x.dtype).reshape(x.shape)
    if need_w:
        gw = (g3 * xhat).sum(axis=(0, 2)).astype(x.dtype)
    if need_b:
        gb = g3.sum(axis=(0, 2)).astype(x.dtype)
    return gin, gw, gb


# --- local response norm ----------------------------------------------------------------------------

def _window_sum(a, lo, hi):
    """out[:, j] = sum of a[:, l] for l in [j - lo, j + hi] within [0, C) (a is (N, C, S))."""
    n, c, s = a.shape
    padded = np.concatenate([np.zeros((n, lo, s), a.dtype), a, np.zeros((n, hi, s), a.dtype)], axis=1)
    out = np.zeros_like(a)
    for t in range(lo + hi + 1):
        out += padded[:, t:t + c]
    return out


def local_response_norm_forward(x, size, alpha, beta, k):
    """PyTorch's local response norm across channels: div = k + alpha * (sum over the window of
    channels [j - size//2, j + (size-1)//2] of x^2, zero padded) / size; y = x / div**beta.
    Returns y and div."""
    x3 = _as3d(x)
    div = (_window_sum(x3 * x3, size // 2, (size - 1) // 2) / size) * alpha + k
    y = x3 / div ** beta
    return y.astype(x.dtype).reshape(x.shape), div.astype(x.dtype).reshape(x.shape)


def local_response_norm_backward(grad_out, x, div, size, alpha, beta):
    """dx_j = dy_j div_j^-beta - 2 alpha beta / size * x_j * sum over the channels l whose window holds
    j of dy_l x_l div_l^(-beta-1)."""
    x3, g3, d3 = _as3d(x), _as3d(grad_out), _as3d(div)
    p = d3 ** -beta
    u = g3 * x3 * p / d3
    acc = _window_sum(u, (size - 1) // 2, size // 2)
    dx = g3 * p - (2.0 * alpha * beta / size) * x3 * acc
    return dx.astype(x.dtype).reshape(x.shape)
