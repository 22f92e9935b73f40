"""Batched image augmentation (``eg.data.transforms``): each transform takes a whole batch.

Input: images of shape (N, C, H, W) or (N, H, W), float32 or float64 (convert uint8 pixels first,
e.g. ``x.astype(np.float32) / 255``), as a NumPy array or an eigengrad Tensor; the output is of the
same kind, shape and dtype. Per-image random parameters (flip or not, angle, shift, scale, erased
box, noise) are drawn in one call per batch from eigengrad's counter-based generator (the
transform's ``generator`` or the default one), and the pixel work is one C++ kernel over the batch
(OpenMP over image rows): the same seed gives the same batch on any number of threads.

Geometry: x runs right, y down, pixel centres are integers, rotations turn counter-clockwise as the
image is displayed (``RandomRotation`` at 90 degrees is ``np.rot90``) about the image centre
((W - 1) / 2, (H - 1) / 2). Pixels that come from outside the image take ``fill``.
"""
from __future__ import annotations

import abc
import math
from typing import Sequence

import numpy as np

from eigengrad import _kernels
from eigengrad import random as _random
from eigengrad.tensor import Tensor


class Transform(abc.ABC):
    """Base: subclasses implement ``_apply(images4d) -> images4d`` on a C-contiguous float array."""

    generator = None

    def __call__(self, images):
        arr, restore = _as_batch(images)
        out = self._apply(arr)
        return restore(out)

    @abc.abstractmethod
    def _apply(self, images: np.ndarray) -> np.ndarray:
        """The transformed batch (N, C, H, W) of ``images`` (N, C, H, W)."""

    def _uniform(self, n: int, low: float, high: float) -> np.ndarray:
        out = np.empty(n, dtype=np.float64)
        return _random.uniform_(out, low, high, generator=self.generator)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "generator")
        return f"{type(self).__name__}({args})"


class Compose:
    """Apply ``transforms`` (Transforms or any callables on a batch) in order."""

    def __init__(self, transforms: Sequence) -> None:
        self.transforms = list(transforms)

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"

    def __call__(self, images):
        for t in self.transforms:
            images = t(images)
        return images


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability ``p``."""

    def __init__(self, p: float = 0.5, generator=None) -> None:
        self.p, self.generator = _probability(p), generator

    def _apply(self, images):
        return _kernels.flip_images(images, self._uniform(len(images), 0, 1) < self.p, horizontal=True)


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror each image top-bottom with probability ``p``."""

    def _apply(self, images):
        return _kernels.flip_images(images, self._uniform(len(images), 0, 1) < self.p, horizontal=False)


class RandomAffine(Transform):
    r"""Rotate by an angle uniform in ``degrees``, shift by up to ``translate`` (fractions of the width
    and height, as torchvision) and scale by a factor uniform in ``scale``, about the image centre c:
    the pixel at output position p comes from input position :math:`c + R(\theta) (p - c - t) / s`.
    """

    def __init__(self, degrees=0.0, translate: tuple | None = None, scale: tuple | None = None,
                 interpolation: str = "bilinear", fill: float = 0.0, generator=None) -> None:
        self.degrees = _symmetric_range("degrees", degrees)
        self.translate = None if translate is None else _pair_in("translate", translate, 0.0, 1.0)
        self.scale = None if scale is None else _positive_range("scale", scale)
        self.interpolation, self.fill, self.generator = _interpolation(interpolation), float(fill), generator

    def _shifts(self, n: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
        if self.translate is None:
            return np.zeros(n), np.zeros(n)
        fx, fy = self.translate
        return self._uniform(n, -fx * w, fx * w), self._uniform(n, -fy * h, fy * h)

    def _apply(self, images):
        n, _, h, w = images.shape
        angles = self._uniform(n, *self.degrees)
        tx, ty = self._shifts(n, h, w)
        scales = np.ones(n) if self.scale is None else self._uniform(n, *self.scale)
        maps = inverse_maps(h, w, angles, tx, ty, scales)
        return _kernels.affine_warp(images, maps, self.interpolation, self.fill)


class RandomRotation(RandomAffine):
    """Rotate each image by an angle uniform in [-degrees, degrees] (or the given (min, max))."""

    def __init__(self, degrees, interpolation: str = "bilinear", fill: float = 0.0, generator=None) -> None:
        super().__init__(degrees, interpolation=interpolation, fill=fill, generator=generator)


class RandomTranslation(RandomAffine):
    """Shift each image by up to ``max_shift`` pixels (a number, or (max_dx, max_dy)) in each direction,
    the shift uniform in [-max, max]."""

    def __init__(self, max_shift, interpolation: str = "bilinear", fill: float = 0.0, generator=None) -> None:
        super().__init__(0.0, interpolation=interpolation, fill=fill, generator=generator)
        dx, dy = (max_shift, max_shift) if np.isscalar(max_shift) else tuple(max_shift)
        if not (dx >= 0 and dy >= 0):
            raise ValueError(f"max_shift: expected shifts >= 0 in pixels, got {max_shift!r}")
        self.max_shift = (float(dx), float(dy))

    def _shifts(self, n, h, w):
        dx, dy = self.max_shift
        return self._uniform(n, -dx, dx), self._uniform(n, -dy, dy)


class RandomScale(RandomAffine):
    """Zoom each image by a factor uniform in ``range`` (> 1 enlarges) about its centre."""

    def __init__(self, range: tuple = (0.9, 1.1), interpolation: str = "bilinear", fill: float = 0.0,
                 generator=None) -> None:
        super().__init__(0.0, scale=range, interpolation=interpolation, fill=fill, generator=generator)


class GaussianNoise(Transform):
    """Add independent N(0, std^2) noise to every pixel."""

    def __init__(self, std: float = 0.1, generator=None) -> None:
        if not std >= 0:
            raise ValueError(f"std: expected a value >= 0, got {std}")
        self.std, self.generator = float(std), generator

    def _apply(self, images):
        noise = np.empty_like(images)
        _random.normal_(noise, 0.0, self.std, generator=self.generator)
        return np.add(noise, images, out=noise)


class RandomErasing(Transform):
    """With probability ``p``, fill one rectangle of each image with ``value`` (Zhong et al. 2020): its
    area a fraction of the image uniform in ``scale``, its aspect ratio log-uniform in ``ratio``."""

    def __init__(self, p: float = 0.5, scale: tuple = (0.02, 0.33), ratio: tuple = (0.3, 3.3), value: float = 0.0,
                 generator=None) -> None:
        self.p = _probability(p)
        self.scale = _pair_in("scale", scale, 0.0, 1.0)
        self.ratio = _positive_range("ratio", ratio)
        self.value, self.generator = float(value), generator

    def _apply(self, images):
        n, _, h, w = images.shape
        apply = self._uniform(n, 0, 1) < self.p
        area = self._uniform(n, *self.scale) * h * w
        aspect = np.exp(self._uniform(n, math.log(self.ratio[0]), math.log(self.ratio[1])))
        bh = np.clip(np.rint(np.sqrt(area / aspect)), 1, h).astype(np.int64)
        bw = np.clip(np.rint(np.sqrt(area * aspect)), 1, w).astype(np.int64)
        y0 = np.floor(self._uniform(n, 0, 1) * (h - bh + 1)).astype(np.int64)
        x0 = np.floor(self._uniform(n, 0, 1) * (w - bw + 1)).astype(np.int64)
        boxes = np.stack([y0, x0, y0 + bh * apply, x0 + bw * apply], axis=1)
        out = images.copy()
        _kernels.erase_boxes(out, boxes, self.value)
        return out


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` per channel (scalars apply to every channel)."""

    def __init__(self, mean, std) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.std.ndim != 1 or not np.all(self.std > 0):
            raise ValueError(f"std: expected values > 0 (one per channel or one for all), got {std!r}")

    def _apply(self, images):
        c = images.shape[1]
        mean, std = np.broadcast_to(self.mean, (c,)), np.broadcast_to(self.std, (c,))
        return _kernels.normalize_channels(images, mean, std)


# --- helpers -------------------------------------------------------------------------------------------------

def inverse_maps(h: int, w: int, angles_deg, tx, ty, scales) -> np.ndarray:
    """(N, 6) output-to-input maps for rotations (degrees, counter-clockwise), shifts and scales about the
    image centre: input = c + R(theta) (output - c - t) / s."""
    theta = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    cos, sin = np.cos(theta) / scales, np.sin(theta) / scales
    cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
    px, py = cx + np.asarray(tx, dtype=np.float64), cy + np.asarray(ty, dtype=np.float64)
    return np.stack([cos, -sin, cx - cos * px + sin * py, sin, cos, cy - sin * px - cos * py], axis=1)


def _as_batch(images):
    """A C-contiguous (N, C, H, W) float array, and the function that gives results back in the input's form."""
    is_tensor = isinstance(images, Tensor)
    arr = images._data if is_tensor else images
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"images: expected a NumPy array or Tensor, got {type(images).__name__}")
    if arr.dtype not in (np.float32, np.float64):
        raise TypeError(f"images: expected float32 or float64 pixels, got {arr.dtype} (convert first, e.g. "
                        f"x.astype(np.float32) / 255)")
    if arr.ndim not in (3, 4):
        raise ValueError(f"images: expected a batch of shape (N, C, H, W) or (N, H, W), got {arr.shape}")
    squeeze = arr.ndim == 3
    batch = np.ascontiguousarray(arr[:, None] if squeeze else arr)

    def restore(out):
        out = out[:, 0] if squeeze else out
        return Tensor._wrap(out) if is_tensor else out
    return batch, restore


def _probability(p) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: expected a probability in [0, 1], got {p}")
    return float(p)


def _interpolation(name: str) -> str:
    if name not in ("bilinear", "nearest"):
        raise ValueError(f"interpolation: expected 'bilinear' or 'nearest', got {name!r}")
    return name


def _symmetric_range(name: str, value) -> tuple[float, float]:
    lo, hi = (-value, value) if np.isscalar(value) else tuple(value)
    if np.isscalar(value) and value < 0 or not lo <= hi:
        raise ValueError(f"{name}: expected a number >= 0 or a (min, max) pair, got {value!r}")
    return float(lo), float(hi)


def _positive_range(name: str, value) -> tuple[float, float]:
    lo, hi = value
    if not 0 < lo <= hi:
        raise ValueError(f"{name}: expected (min, max) with 0 < min <= max, got {value!r}")
    return float(lo), float(hi)


def _pair_in(name: str, value, low: float, high: float) -> tuple[float, float]:
    a, b = value
    if not (low <= a <= high and low <= b <= high):
        raise ValueError(f"{name}: expected two values in [{low}, {high}], got {value!r}")
    return float(a), float(b)
