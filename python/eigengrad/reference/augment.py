"""NumPy references of the augmentation kernels (same signatures as eigengrad._kernels)."""
import numpy as np


def flip_images(images, flip, horizontal):
    out = images.copy()
    sel = np.asarray(flip).astype(bool)
    out[sel] = images[sel][..., ::-1] if horizontal else images[sel][..., ::-1, :]
    return out


def _gather(images, n_idx, iy, ix, fill):
    """images[n, :, iy, ix] for index arrays (n, h, w), ``fill`` where (iy, ix) is outside: (n, c, h, w)."""
    _, _, h, w = images.shape
    inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    vals = images[n_idx, :, np.clip(iy, 0, h - 1), np.clip(ix, 0, w - 1)]  # (n, h, w, c)
    vals = np.where(inside[..., None], vals, images.dtype.type(fill))
    return np.moveaxis(vals, -1, 1)


def affine_warp(images, maps, interpolation, fill):
    """out[n, :, y, x] = images[n, :, sy, sx], (sx, sy) = maps[n] @ (x, y, 1), bilinear or nearest."""
    n, _, h, w = images.shape
    t = images.dtype.type
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    m = np.asarray(maps, dtype=np.float64).reshape(n, 2, 3)
    sx = m[:, 0, 0, None, None] * xs + m[:, 0, 1, None, None] * ys + m[:, 0, 2, None, None]
    sy = m[:, 1, 0, None, None] * xs + m[:, 1, 1, None, None] * ys + m[:, 1, 2, None, None]
    n_idx = np.broadcast_to(np.arange(n)[:, None, None], sx.shape)
    if interpolation == "nearest":
        return _gather(images, n_idx, np.floor(sy + 0.5).astype(np.int64), np.floor(sx + 0.5).astype(np.int64), fill)
    fx, fy = np.floor(sx), np.floor(sy)
    x0, y0 = fx.astype(np.int64), fy.astype(np.int64)
    ax, ay = (sx - fx).astype(images.dtype)[:, None], (sy - fy).astype(images.dtype)[:, None]
    top = _gather(images, n_idx, y0, x0, fill) * (t(1) - ax) + _gather(images, n_idx, y0, x0 + 1, fill) * ax
    bottom = _gather(images, n_idx, y0 + 1, x0, fill) * (t(1) - ax) + _gather(images, n_idx, y0 + 1, x0 + 1, fill) * ax
    return top * (t(1) - ay) + bottom * ay


def erase_boxes(images, boxes, value):
    _, _, h, w = images.shape
    for img, (y0, x0, y1, x1) in zip(images, np.asarray(boxes)):
        y0, x0 = np.clip(y0, 0, h), np.clip(x0, 0, w)
        img[:, y0:max(y1, y0), x0:max(x1, x0)] = value


def normalize_channels(images, mean, std, out=None):
    t = images.dtype.type
    res = (images - np.asarray(mean, dtype=images.dtype)[:, None, None]) * (
        t(1) / np.asarray(std, dtype=np.float64).astype(images.dtype)[:, None, None])
    if out is not None:
        out[...] = res
        return out
    return res
