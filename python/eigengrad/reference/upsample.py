"""Upsampling references: nearest, nearest-exact and (bi)linear over x (N, C, H, W), forward and backward.

Same signatures and results as ``eigengrad._kernels.upsample_forward``/``upsample_backward``; the source
index and weight tables follow PyTorch's arithmetic (see cpp/include/eigengrad/upsample.hpp): its two
nearest rules (legacy: float32; general: the data's dtype), linear in the data's dtype with the coordinate
rounded to float32 before its floor.
"""
import numpy as np


def _clamped_floor(v, n_in):
    """floor(v) as an index, at most n_in - 1 (a coordinate past the input, inf or NaN, is the last index)."""
    return np.floor(np.where(v < n_in - 1, v, n_in - 1)).astype(np.int64)


def _nearest_axis(n_in, n_out, scale, exact, legacy, dtype):
    """Source index per output index: PyTorch's legacy rule (float32, out == in and out == 2 in exact) or its
    general one (the coordinate in the data's dtype, floored in float32)."""
    t = np.arange(n_out)
    if legacy:
        if not exact and n_out == n_in:
            return t
        if not exact and n_out == 2 * n_in:
            return t // 2
        s = np.float32(1.0 / scale) if scale > 0 else np.float32(n_in) / np.float32(n_out)
        v = ((t + 0.5) * np.float64(s)).astype(np.float32) if exact else t.astype(np.float32) * s
    else:
        T = dtype.type
        s = T(1.0 / scale) if scale > 0 else T(n_in) / T(n_out)
        x = t.astype(dtype)
        v = ((np.maximum(s * (x + T(0.5)) - T(0.5), T(0)).astype(np.float64) + 0.5) if exact else s * x).astype(np.float32)
    return _clamped_floor(v, n_in)


def _linear_axis(n_in, n_out, scale, align_corners, dtype):
    """(i0, i1, l0, l1) per output index."""
    t = np.arange(n_out)
    if n_out == n_in:
        return t, t, np.ones(n_out, dtype), np.zeros(n_out, dtype)
    T = dtype.type
    if align_corners:
        s = T(n_in - 1) / T(n_out - 1) if n_out > 1 else T(0)
        x = s * t.astype(dtype)
    else:
        s = T(1.0 / scale) if scale > 0 else T(n_in) / T(n_out)
        x = np.maximum(s * (t.astype(dtype) + T(0.5)) - T(0.5), T(0))
    i0 = _clamped_floor(x.astype(np.float32), n_in)
    l1 = np.clip(x - i0.astype(dtype), T(0), T(1))
    return i0, i0 + (i0 < n_in - 1), T(1) - l1, l1


def upsample_forward(x, size, mode, scales, align_corners, legacy_nearest=False):
    """y (N, C, *size) read from x's sources (see the module docstring)."""
    h, w = x.shape[2:]
    if mode != "linear":
        rows = _nearest_axis(h, size[0], scales[0], mode == "nearest-exact", legacy_nearest, x.dtype)
        cols = _nearest_axis(w, size[1], scales[1], mode == "nearest-exact", legacy_nearest, x.dtype)
        return np.ascontiguousarray(x[:, :, rows[:, None], cols[None, :]])
    r0, r1, a0, a1 = _linear_axis(h, size[0], scales[0], align_corners, x.dtype)
    c0, c1, b0, b1 = _linear_axis(w, size[1], scales[1], align_corners, x.dtype)
    top = x[:, :, r0][..., c0] * b0 + x[:, :, r0][..., c1] * b1
    bottom = x[:, :, r1][..., c0] * b0 + x[:, :, r1][..., c1] * b1
    return top * a0[:, None] + bottom * a1[:, None]


def upsample_backward(grad_out, input_shape, mode, scales, align_corners, legacy_nearest=False):
    """grad_in: every output's gradient added into its sources (times their weights)."""
    n, c, h, w = input_shape
    oh, ow = grad_out.shape[2:]
    gi = np.zeros((n * c, h * w), grad_out.dtype)
    g = grad_out.reshape(n * c, oh * ow)
    if mode != "linear":
        rows = _nearest_axis(h, oh, scales[0], mode == "nearest-exact", legacy_nearest, grad_out.dtype)
        cols = _nearest_axis(w, ow, scales[1], mode == "nearest-exact", legacy_nearest, grad_out.dtype)
        np.add.at(gi, (slice(None), (rows[:, None] * w + cols[None, :]).reshape(-1)), g)
        return gi.reshape(input_shape)
    r0, r1, a0, a1 = _linear_axis(h, oh, scales[0], align_corners, grad_out.dtype)
    c0, c1, b0, b1 = _linear_axis(w, ow, scales[1], align_corners, grad_out.dtype)
    for rows, a in ((r0, a0), (r1, a1)):
        for cols, b in ((c0, b0), (c1, b1)):
            flat = (rows[:, None] * w + cols[None, :]).reshape(-1)
            np.add.at(gi, (slice(None), flat), g * (a[:, None] * b[None, :]).reshape(-1))
    return gi.reshape(input_shape)
