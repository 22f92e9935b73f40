"""Convolution reference: conv2d forward and backward in NumPy (the kernels' oracle and baseline).

Same signatures and results as ``eigengrad._kernels.conv2d_forward``/``conv2d_backward``: x (N, C, H, W),
weight (O, C / groups, kh, kw), bias (O,) or None, stride and dilation (rows, cols), padding
(top, bottom, left, right) of zeros. With xp the padded input and og = O / groups, cg = C / groups,

    y[i, q, u, v] = b[q] + sum_{c < cg, a < kh, e < kw} w[q, c, a, e] xp[i, g cg + c, u sh + a dh, v sw + e dw]

for output channel q of group g = q // og. Written as patches (N, C, kh, kw, oh, ow) of the padded
input and one tensordot per group; the backward contracts the same patches with dy, and dx scatters
the patch gradients back (the adjoint of taking the patches).
"""
import numpy as np


def conv2d_output_size(h, w, kh, kw, stride, padding, dilation):
    """(oh, ow): the number of window positions inside the padded input."""
    top, bottom, left, right = padding
    oh = (h + top + bottom - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (w + left + right - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    return oh, ow


def _window(start, count, step):
    return slice(start, start + step * (count - 1) + 1, step)


def _patches(xp, kh, kw, oh, ow, stride, dilation):
    """patches[i, c, a, e, u, v] = xp[i, c, u sh + a dh, v sw + e dw]."""
    n, c = xp.shape[:2]
    out = np.empty((n, c, kh, kw, oh, ow), xp.dtype)
    for a in range(kh):
        for e in range(kw):
            out[:, :, a, e] = xp[:, :, _window(a * dilation[0], oh, stride[0]), _window(e * dilation[1], ow, stride[1])]
    return out


def _padded(x, padding):
    top, bottom, left, right = padding
    return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))


def conv2d_forward(x, weight, bias, stride, padding, dilation, groups):
    """y (N, O, oh, ow), the formula of the module docstring."""
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    oh, ow = conv2d_output_size(h, w, kh, kw, stride, padding, dilation)
    cols = _patches(_padded(x, padding), kh, kw, oh, ow, stride, dilation)
    og = o // groups
    y = np.empty((n, o, oh, ow), x.dtype)
    for g in range(groups):
        part = np.tensordot(cols[:, g * cg:(g + 1) * cg], weight[g * og:(g + 1) * og], axes=([1, 2, 3], [1, 2, 3]))
        y[:, g * og:(g + 1) * og] = part.transpose(0, 3, 1, 2)  # (n, oh, ow, og) -> (n, og, oh, ow)
    if bias is not None:
        y += bias[None, :, None, None]
    return y


def conv2d_backward(grad_out, x, weight, stride, padding, dilation, groups, grads=(True, True, True)):
    """(grad_in, grad_weight, grad_bias), None where ``grads`` (input, weight, bias) is False.

    grad_weight[q, c, a, e] = sum_{i,u,v} dy[i, q, u, v] patches[i, g cg + c, a, e, u, v];
    grad_in = the scatter-add of dpatches[i, c, a, e, u, v] = sum_q w[q, c, a, e] dy[i, q, u, v];
    grad_bias[q] = sum_{i,u,v} dy[i, q, u, v] (in float64).
    """
    need_in, need_w, need_b = (bool(g) for g in grads)
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    oh, ow = grad_out.shape[2:]
    og = o // groups
    gb = grad_out.sum(axis=(0, 2, 3), dtype=np.float64).astype(x.dtype) if need_b else None
    gw = None
    if need_w:
        cols = _patches(_padded(x, padding), kh, kw, oh, ow, stride, dilation)
        gw = np.empty_like(weight)
        for g in range(groups):
            gw[g * og:(g + 1) * og] = np.tensordot(grad_out[:, g * og:(g + 1) * og], cols[:, g * cg:(g + 1) * cg],
                                                   axes=([0, 2, 3], [0, 4, 5]))
    gi = None
    if need_in:
        top, bottom, left, right = padding
        dxp = np.zeros((n, c, h + top + bottom, w + left + right), x.dtype)
        for g in range(groups):
            # (n, og, oh, ow) x (og, cg, kh, kw) -> (n, oh, ow, cg, kh, kw)
            dcols = np.tensordot(grad_out[:, g * og:(g + 1) * og], weight[g * og:(g + 1) * og], axes=([1], [0]))
            for a in range(kh):
                for e in range(kw):
                    dxp[:, g * cg:(g + 1) * cg, _window(a * dilation[0], oh, stride[0]),
                        _window(e * dilation[1], ow, stride[1])] += dcols[..., a, e].transpose(0, 3, 1, 2)
        gi = np.ascontiguousarray(dxp[:, :, top:top + h, left:left + w])
    return gi, gw, gb


def conv_transpose2d_output_size(h, w, kh, kw, stride, padding, output_padding, dilation):
    """(oh, ow) = (h - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1 per axis."""
    return tuple((size - 1) * stride[i] - 2 * padding[i] + dilation[i] * (k - 1) + output_padding[i] + 1
                 for i, (size, k) in enumerate(((h, kh), (w, kw))))


def _transposed_frame(x_shape, weight_shape, stride, padding, output_padding, dilation):
    """The output size and the frame (rows, cols) of every window before cropping ``padding``."""
    h, w = x_shape[2:]
    kh, kw = weight_shape[2:]
    oh, ow = conv_transpose2d_output_size(h, w, kh, kw, stride, padding, output_padding, dilation)
    frame = ((h - 1) * stride[0] + dilation[0] * (kh - 1) + 1 + output_padding[0],
             (w - 1) * stride[1] + dilation[1] * (kw - 1) + 1 + output_padding[1])
    return (oh, ow), frame


def conv_transpose2d_forward(x, weight, bias, stride, padding, output_padding, dilation, groups):
    """y (N, Co, oh, ow): every input x[i, q, u, v] scatters x * weight[q, c, a, e] to output
    (group of q's channel c, u sH - pH + a dH, v sW - pW + e dW) (the adjoint of conv2d in its input),
    written as a scatter into an uncropped frame that is cropped by the padding."""
    n, ci, h, w = x.shape
    _, og, kh, kw = weight.shape
    cg = ci // groups
    (oh, ow), frame = _transposed_frame(x.shape, weight.shape, stride, padding, output_padding, dilation)
    yp = np.zeros((n, og * groups) + frame, x.dtype)
    for g in range(groups):
        xg, wg = x[:, g * cg:(g + 1) * cg], weight[g * cg:(g + 1) * cg]
        for a in range(kh):
            for e in range(kw):
                yp[:, g * og:(g + 1) * og, _window(a * dilation[0], h, stride[0]),
                   _window(e * dilation[1], w, stride[1])] += np.einsum("nquv,qc->ncuv", xg, wg[:, :, a, e])
    y = np.ascontiguousarray(yp[:, :, padding[0]:padding[0] + oh, padding[1]:padding[1] + ow])
    if bias is not None:
        y += bias[None, :, None, None]
    return y


def conv_transpose2d_backward(grad_out, x, weight, stride, padding, output_padding, dilation, groups,
                              grads=(True, True, True)):
    """(grad_in, grad_weight, grad_bias): the forward's scatter read back as a gather from grad_out placed
    in the uncropped frame; grad_bias summed in float64."""
    need_in, need_w, need_b = (bool(g) for g in grads)
    n, ci, h, w = x.shape
    _, og, kh, kw = weight.shape
    cg = ci // groups
    (oh, ow), frame = _transposed_frame(x.shape, weight.shape, stride, padding, output_padding, dilation)
    dyp = np.zeros((n, og * groups) + frame, grad_out.dtype)
    dyp[:, :, padding[0]:padding[0] + oh, padding[1]:padding[1] + ow] = grad_out
    gi = np.zeros_like(x) if need_in else None
    gw = np.zeros_like(weight) if need_w else None
    for g in range(groups):
        for a in range(kh):
            for e in range(kw):
                win = dyp[:, g * og:(g + 1) * og, _window(a * dilation[0], h, stride[0]),
                          _window(e * dilation[1], w, stride[1])]
                if need_in:
                    gi[:, g * cg:(g + 1) * cg] += np.einsum("ncuv,qc->nquv", win, weight[g * cg:(g + 1) * cg, :, a, e])
                if need_w:
                    gw[g * cg:(g + 1) * cg, :, a, e] = np.einsum("nquv,ncuv->qc", x[:, g * cg:(g + 1) * cg], win)
    gb = grad_out.sum(axis=(0, 2, 3), dtype=np.float64).astype(x.dtype) if need_b else None
    return gi, gw, gb
