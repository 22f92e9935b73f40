"""Pooling references: max, average and adaptive average pooling over x (N, C, H, W), forward and backward.

Same signatures and results as the kernels in ``eigengrad._kernels``; options are (rows, cols) pairs and
the output size is PyTorch's (``pool2d_output_size``). Windows are taken as patches of the padded input
(-inf padding for max, zeros for average), like the convolution reference.
"""
import numpy as np

from eigengrad.reference.conv import _patches, _window


def pool2d_output_size(size, kernel, padding, stride, dilation, ceil_mode):
    """PyTorch's pooling_output_shape: floor (or ceil) of the window count; in ceil mode the last window
    must start inside the input or its left padding."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _geometry(shape, kernel, stride, padding, dilation, ceil_mode):
    h, w = shape[2:]
    oh = pool2d_output_size(h, kernel[0], padding[0], stride[0], dilation[0], ceil_mode)
    ow = pool2d_output_size(w, kernel[1], padding[1], stride[1], dilation[1], ceil_mode)
    # enough padding below / right for the last window (ceil mode may reach past the symmetric padding)
    bottom = max(padding[0], (oh - 1) * stride[0] + dilation[0] * (kernel[0] - 1) + 1 - h - padding[0])
    right = max(padding[1], (ow - 1) * stride[1] + dilation[1] * (kernel[1] - 1) + 1 - w - padding[1])
    return oh, ow, ((0, 0), (0, 0), (padding[0], bottom), (padding[1], right))


def _max_arg(win):
    """The position of each window's maximum along axis 2, PyTorch's rule: the first maximum, but a NaN
    always takes over (so the last NaN of a window wins)."""
    nan = np.isnan(win)
    last_nan = win.shape[2] - 1 - nan[:, :, ::-1].argmax(axis=2)
    return np.where(nan.any(axis=2), last_nan, win.argmax(axis=2))


def max_pool2d_forward(x, kernel, stride, padding, dilation, ceil_mode):
    """(y, indices): y = max of each window (-inf padding), indices (N, C, oh, ow) int64 = flat index
    row * W + col of the first maximum in the plane."""
    n, c, h, w = x.shape
    oh, ow, pads = _geometry(x.shape, kernel, stride, padding, dilation, ceil_mode)
    xp = np.pad(x, pads, constant_values=-np.inf)
    flat = np.pad(np.arange(h * w, dtype=np.int64).reshape(1, 1, h, w), pads, constant_values=-1)
    taps = kernel[0] * kernel[1]
    vals = _patches(xp, kernel[0], kernel[1], oh, ow, stride, dilation).reshape(n, c, taps, oh, ow)
    where = _patches(flat, kernel[0], kernel[1], oh, ow, stride, dilation).reshape(1, 1, taps, oh, ow)
    arg = _max_arg(vals)
    # a window whose every value is -inf: PyTorch's index is its first tap inside the plane (its kernel starts
    # there and takes only a greater value or a NaN), never a padding tap
    first_inside = np.broadcast_to((where >= 0).argmax(axis=2), arg.shape)
    arg = np.where(np.take_along_axis(vals, arg[:, :, None], axis=2)[:, :, 0] == -np.inf, first_inside, arg)
    arg = arg[:, :, None]
    y = np.take_along_axis(vals, arg, axis=2)[:, :, 0]
    idx = np.take_along_axis(np.broadcast_to(where, vals.shape), arg, axis=2)[:, :, 0]
    return y, np.ascontiguousarray(idx)


def max_pool2d_backward(grad_out, indices, input_shape):
    """grad_in (input_shape): grad_out added at the saved flat indices of each plane."""
    n, c, h, w = input_shape
    gi = np.zeros((n * c, h * w), grad_out.dtype)
    rows = np.repeat(np.arange(n * c), grad_out.shape[2] * grad_out.shape[3])
    np.add.at(gi, (rows, indices.reshape(-1)), grad_out.reshape(-1))
    return gi.reshape(input_shape)


def max_pool2d_relu_backward(grad_out, indices, out, input_shape):
    """max_pool2d_backward, then the ReLU's backward on the pool's input (a ReLU's output): grad_out counts only
    where the pool's output ``out`` (the ReLU's output at the chosen index) is not <= 0 (relu_backward's rule)."""
    return max_pool2d_backward(np.where(out <= 0, 0, grad_out).astype(grad_out.dtype), indices, input_shape)


def _avg_divisors(h, w, oh, ow, kernel, stride, padding, count_include_pad, divisor_override):
    """(oh, ow) divisors, PyTorch's rule (see avg_pool2d_forward)."""
    def axis(size, out, k, s, p):
        start = np.arange(out) * s - p
        end = np.minimum(start + k, size + p)
        return end - start, np.minimum(end, size) - np.maximum(start, 0)
    full_h, in_h = axis(h, oh, kernel[0], stride[0], padding[0])
    full_w, in_w = axis(w, ow, kernel[1], stride[1], padding[1])
    if divisor_override:
        return np.full((oh, ow), float(divisor_override))
    return np.outer(full_h, full_w).astype(float) if count_include_pad else np.outer(in_h, in_w).astype(float)


def avg_pool2d_forward(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override=None):
    """y = sum of each window (zero padding) / d; d = divisor_override, else the window's size within the
    padded input (count_include_pad) or within the input."""
    n, c, h, w = x.shape
    oh, ow, pads = _geometry(x.shape, kernel, stride, padding, (1, 1), ceil_mode)
    sums = _patches(np.pad(x, pads), kernel[0], kernel[1], oh, ow, stride, (1, 1)).sum(axis=(2, 3))
    d = _avg_divisors(h, w, oh, ow, kernel, stride, padding, count_include_pad, divisor_override)
    return (sums / d.astype(x.dtype)).astype(x.dtype)


def avg_pool2d_backward(grad_out, input_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override=None):
    """grad_in: every input position of a window gets dy / d."""
    n, c, h, w = input_shape
    oh, ow, pads = _geometry(input_shape, kernel, stride, padding, (1, 1), ceil_mode)
    d = _avg_divisors(h, w, oh, ow, kernel, stride, padding, count_include_pad, divisor_override)
    share = grad_out / d.astype(grad_out.dtype)
    gp = np.zeros((n, c, h + pads[2][0] + pads[2][1], w + pads[3][0] + pads[3][1]), grad_out.dtype)
    for a in range(kernel[0]):
        for e in range(kernel[1]):
            gp[:, :, _window(a, oh, stride[0]), _window(e, ow, stride[1])] += share
    return np.ascontiguousarray(gp[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w])


def _adaptive_bounds(size, out):
    """Window [floor(u size / out), ceil((u + 1) size / out)) of each output index u."""
    return [((u * size) // out, -((-(u + 1) * size) // out)) for u in range(out)]


def adaptive_avg_pool2d_forward(x, output_size):
    oh, ow = output_size
    rows, cols = _adaptive_bounds(x.shape[2], oh), _adaptive_bounds(x.shape[3], ow)
    y = np.empty(x.shape[:2] + (oh, ow), x.dtype)
    for u, (r0, r1) in enumerate(rows):
        for v, (c0, c1) in enumerate(cols):
            y[:, :, u, v] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return y


def adaptive_avg_pool2d_backward(grad_out, input_shape):
    oh, ow = grad_out.shape[2:]
    rows, cols = _adaptive_bounds(input_shape[2], oh), _adaptive_bounds(input_shape[3], ow)
    gi = np.zeros(input_shape, grad_out.dtype)
    for u, (r0, r1) in enumerate(rows):
        for v, (c0, c1) in enumerate(cols):
            gi[:, :, r0:r1, c0:c1] += (grad_out[:, :, u, v] / ((r1 - r0) * (c1 - c0)))[:, :, None, None]
    return gi


def adaptive_max_pool2d_forward(x, output_size):
    """(y, indices): the max of each adaptive window (adaptive_avg_pool2d's windows) and the flat index
    row * W + col of its first occurrence (a NaN wins, as in max_pool2d_forward)."""
    oh, ow = output_size
    rows, cols = _adaptive_bounds(x.shape[2], oh), _adaptive_bounds(x.shape[3], ow)
    y = np.empty(x.shape[:2] + (oh, ow), x.dtype)
    idx = np.empty(x.shape[:2] + (oh, ow), np.int64)
    for u, (r0, r1) in enumerate(rows):
        for v, (c0, c1) in enumerate(cols):
            win = x[:, :, r0:r1, c0:c1].reshape(x.shape[0], x.shape[1], (r1 - r0) * (c1 - c0))
            arg = _max_arg(win)
            y[:, :, u, v] = np.take_along_axis(win, arg[..., None], axis=2)[..., 0]
            idx[:, :, u, v] = (r0 + arg // (c1 - c0)) * x.shape[3] + c0 + arg % (c1 - c0)
    return y, idx
