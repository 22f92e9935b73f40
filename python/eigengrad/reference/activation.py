"""Activation references; backward from the saved output y, as the kernels do."""
import numpy as np


def relu_forward(x):
    return np.maximum(x, x.dtype.type(0))


def relu_backward(grad_out, y):
    """0 where y <= 0, else grad_out: a select, as PyTorch's threshold_backward (a NaN gradient of a
    clipped input gives 0, not NaN; a NaN input, whose output is NaN, passes its gradient)."""
    return np.where(y <= 0, grad_out.dtype.type(0), grad_out)


def sigmoid_forward(x):
    return 1 / (1 + np.exp(-x))


def sigmoid_backward(grad_out, y):
    return grad_out * y * (1 - y)


def tanh_forward(x):
    return np.tanh(x)


def tanh_backward(grad_out, y):
    return grad_out * (1 - y * y)


# --- more activations; backward from the saved input x ----------------------------------------------

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def leaky_relu_forward(x, negative_slope=0.01):
    return np.where(x > 0, x, x * x.dtype.type(negative_slope))


def leaky_relu_backward(grad_out, x, negative_slope=0.01):
    return np.where(x > 0, grad_out, grad_out * x.dtype.type(negative_slope))


def elu_forward(x, alpha=1.0, scale=1.0, input_scale=1.0):
    return np.where(x > 0, x * scale, alpha * scale * np.expm1(np.minimum(x, 0) * input_scale)).astype(x.dtype)


def elu_backward(grad_out, x, alpha=1.0, scale=1.0, input_scale=1.0):
    neg = grad_out * (alpha * scale * input_scale) * np.exp(np.minimum(x, 0) * input_scale)
    return np.where(x > 0, grad_out * scale, neg).astype(x.dtype)


def selu_forward(x):
    return elu_forward(x, SELU_ALPHA, SELU_SCALE)


def selu_backward(grad_out, x):
    return elu_backward(grad_out, x, SELU_ALPHA, SELU_SCALE)


def _erfc(x):
    """erfc in float64 (math.erfc per element: NumPy has no erf)."""
    import math

    flat = np.asarray(x, dtype=np.float64).reshape(-1)
    return np.fromiter((math.erfc(v) for v in flat), dtype=np.float64, count=flat.size).reshape(np.shape(x))


_BETA = np.sqrt(2 / np.pi)


def _sigmoid(z):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-z))
_KAPPA = 0.044715


def gelu_forward(x, approximate="none"):
    if approximate == "tanh":  # x/2 (1 + tanh u) = x sigmoid(2u): no cancellation for u << 0
        return (x * _sigmoid(2 * _BETA * (x + _KAPPA * x**3))).astype(x.dtype)
    return (0.5 * x * _erfc(-x / np.sqrt(2))).astype(x.dtype)  # = x/2 (1 + erf(x / sqrt 2))


def gelu_backward(grad_out, x, approximate="none"):
    if approximate == "tanh":
        s = _sigmoid(2 * _BETA * (x + _KAPPA * x**3))  # (1 + tanh u) / 2
        d = s + 2 * x * s * (1 - s) * _BETA * (1 + 3 * _KAPPA * x * x)
    else:
        d = 0.5 * _erfc(-x / np.sqrt(2)) + x * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)
    return (grad_out * d).astype(x.dtype)


def _below(z, threshold):
    """z where the log1p branch is taken (z <= threshold, or a NaN threshold: PyTorch's test z > threshold
    is false), 0 elsewhere (so exp does not overflow where the result is x)."""
    return np.where(z > threshold, 0, z)


def softplus_forward(x, beta=1.0, threshold=20.0):
    z = x * beta
    with np.errstate(over="ignore"):
        return np.where(z > threshold, x, np.log1p(np.exp(_below(z, threshold))) / beta).astype(x.dtype)


def softplus_backward(grad_out, x, beta=1.0, threshold=20.0):
    z = x * beta
    with np.errstate(over="ignore"):
        e = np.exp(_below(z, threshold))
    return np.where(z > threshold, grad_out, grad_out * e / (e + 1)).astype(x.dtype)


def _channel_weight(x, weight):
    """weight broadcast over x's channel dim 1 (or a single shared weight)."""
    if weight.size == 1 or x.ndim < 2:
        return weight.reshape(())
    return weight.reshape((1, -1) + (1,) * (x.ndim - 2))


def prelu_forward(x, weight):
    return np.where(x > 0, x, _channel_weight(x, weight) * x).astype(x.dtype)


def prelu_backward(grad_out, x, weight):
    """(grad_input, grad_weight): grad_weight[c] = sum over x <= 0 of grad_out x (channel dim 1)."""
    gx = np.where(x > 0, grad_out, _channel_weight(x, weight) * grad_out).astype(x.dtype)
    contrib = np.where(x > 0, 0, grad_out.astype(np.float64) * x)
    if weight.size == 1 or x.ndim < 2:
        gw = np.asarray(contrib.sum()).reshape(weight.shape)
    else:
        gw = contrib.sum(axis=tuple(i for i in range(x.ndim) if i != 1))
    return gx, gw.astype(x.dtype)


def maxout_forward(z, pieces):
    """Max over consecutive groups of ``pieces`` along the last axis; (y, index of the first max)."""
    zg = z.reshape(z.shape[:-1] + (z.shape[-1] // pieces, pieces))
    return zg.max(axis=-1), zg.argmax(axis=-1)


def maxout_backward(grad_out, idx, pieces):
    gz = np.zeros(grad_out.shape + (pieces,), dtype=grad_out.dtype)
    np.put_along_axis(gz, idx[..., None], grad_out[..., None], axis=-1)
    return gz.reshape(grad_out.shape[:-1] + (grad_out.shape[-1] * pieces,))
