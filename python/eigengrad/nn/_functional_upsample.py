"""Upsampling in functional form (re-exported by ``eigengrad.nn.functional``): interpolate (and the
deprecated upsample, upsample_nearest, upsample_bilinear), pixel_shuffle and pixel_unshuffle, with
PyTorch's arguments, output sizes, source coordinates and checks.

interpolate's modes: 'nearest', 'nearest-exact' and 'area' (adaptive average pooling) on 3-D, 4-D and 5-D input,
'linear' (3-D input), 'bilinear' and 'bicubic' (4-D input), 'trilinear' (5-D input), and with antialias=True
(4-D input) 'bilinear', 'bicubic' and 'lanczos'.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from eigengrad.autograd.ops import numpy_call
from eigengrad.autograd.ops_upsample import Upsample
from eigengrad.nn import _functional_conv as FC
from eigengrad.nn import _functional_conv1d as FC1
from eigengrad.nn import _functional_conv3d as FC3
from eigengrad.nn._functional_loss import _input as _float_tensor
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError, ArgumentNotSupportedError, ArgumentTypeError


MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area", "lanczos")
_NEEDS_DIMS = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5, "lanczos": 4}
_ANTIALIAS_MODES = ("bilinear", "bicubic", "lanczos")
_CUBIC_A = -0.75  # PyTorch's (Keys' cubic convolution with a = -0.75)


def _weight_matrix(kind: str, n_in: int, n_out: int, scale: float, align_corners: bool, dtype) -> np.ndarray:
    """(n_out, n_in): row o holds PyTorch's interpolation weights of output o along one axis, at source
    coordinate x = s o (align_corners) or s (o + 0.5) - 0.5, s as ``interpolate``'s doc says:

    - linear: 1 - t at floor(x) and t at the next index (the last index alone at the border), x clamped at 0;
    - cubic: the four cubic-convolution weights at floor(x) - 1 .. floor(x) + 2, indices clamped to the input
      (the weights of a repeated border index add up), x not clamped (PyTorch's cubic)."""
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        s = 1.0 / scale if scale > 0 else n_in / n_out
    dst = np.arange(n_out)
    real = s * dst if align_corners else s * (dst + 0.5) - 0.5
    if kind == "linear":
        real = np.maximum(real, 0.0)
    base = np.floor(real).astype(np.int64)
    t = real - base
    m = np.zeros((n_out, n_in))
    if kind == "linear":
        t = np.clip(t, 0.0, 1.0)
        np.add.at(m, (dst, base), 1.0 - t)
        np.add.at(m, (dst, np.minimum(base + 1, n_in - 1)), t)
        return m.astype(dtype)
    a = _CUBIC_A

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    for k, w in enumerate((far(t + 1), near(t), near(1 - t), far(2 - t))):
        np.add.at(m, (dst, np.clip(base - 1 + k, 0, n_in - 1)), w)
    return m.astype(dtype)


def _aa_filter(kind: str, x: np.ndarray) -> np.ndarray:
    """PyTorch's (and Pillow's) anti-aliasing filters of |x|: the triangle 1 - |x| (linear), Keys' cubic with
    a = -0.5 (cubic; Pillow's constant, not the -0.75 of plain bicubic), Lanczos-3 sinc(x) sinc(x / 3) (lanczos)."""
    x = np.abs(x)
    if kind == "linear":
        return np.where(x < 1.0, 1.0 - x, 0.0)
    if kind == "lanczos":
        return np.where(x < 3.0, np.sinc(x) * np.sinc(x / 3.0), 0.0)
    a = -0.5
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


_AA_TAPS = {"linear": 2, "cubic": 4, "lanczos": 6}  # PyTorch's interp_size


def _aa_weight_matrix(kind: str, n_in: int, n_out: int, scale: float, align_corners: bool, dtype) -> np.ndarray:
    """(n_out, n_in): PyTorch's anti-aliased weights (``_compute_indices_min_size_weights_aa``, after Pillow's
    resampling). With s the source step as in ``_weight_matrix``, output o centres at c = s (o + 0.5); when
    downsampling (s >= 1) the filter is stretched by s, so each output averages every input it covers:
    w_j = f((j - c + 0.5) / max(s, 1)) for j in [trunc(c - r + 0.5), trunc(c + r + 0.5)) within the input,
    r = taps / 2 * max(s, 1), normalised to sum 1."""
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        s = 1.0 / scale if scale > 0 else n_in / n_out
    support = _AA_TAPS[kind] * 0.5 * max(s, 1.0)
    max_taps = int(math.ceil(support)) * 2 + 1
    center = s * (np.arange(n_out) + 0.5)
    xmin = np.maximum((center - support + 0.5).astype(np.int64), 0)  # astype truncates toward zero, as C++
    xsize = np.clip(np.minimum((center + support + 0.5).astype(np.int64), n_in) - xmin, 0, max_taps)
    j = np.arange(max_taps)
    w = _aa_filter(kind, (j + xmin[:, None] - center[:, None] + 0.5) / max(s, 1.0))
    w = np.where(j < xsize[:, None], w, 0.0)
    total = w.sum(axis=1, keepdims=True)
    w = np.divide(w, total, out=np.zeros_like(w), where=total != 0)
    m = np.zeros((n_out, n_in))
    rows = np.repeat(np.arange(n_out), max_taps)
    cols = np.minimum(xmin[:, None] + j, n_in - 1).ravel()  # taps past xsize weigh 0
    np.add.at(m, (rows, cols), w.ravel())
    return m.astype(dtype)


def _separable(input: Tensor, kind: str, sizes: tuple, scales: tuple, align_corners: bool,
               antialias: bool = False) -> Tensor:
    """Bicubic or anti-aliased (4-D) or trilinear (5-D) as products with one weight matrix per spatial axis
    (their gradients are autograd's; each matrix is one NumPy step: a compiled step builds them once per
    replay)."""
    dt = input._data.dtype
    build = _aa_weight_matrix if antialias else _weight_matrix
    # PyTorch's separable kernels (trilinear, anti-aliased) copy an axis whose output size is its input size,
    # whatever the scale factor; its plain bicubic kernel resamples it with the scale
    keep = antialias or kind == "linear"
    ws = [Tensor._wrap(np.eye(n, dtype=dt) if keep and n == o else numpy_call(build, kind, n, o, sc, align_corners, dt))
          for n, o, sc in zip(input.shape[2:], sizes, scales)]
    out = ws[-2] @ input @ ws[-1].mT  # the last two axes
    if input.ndim == 5:  # depth: the product over the flattened planes
        n, c, d = input.shape[:3]
        out = (ws[0] @ out.reshape(n, c, d, sizes[1] * sizes[2])).reshape(n, c, *sizes)
    return out


def _nearest_source(n_in: int, n_out: int, scale: float, exact: bool, dtype) -> np.ndarray:
    """PyTorch's general nearest rule along one axis (upsample.cpp's general_source): the coordinate
    s dst (nearest) or max(s (dst + 0.5) - 0.5, 0) + 0.5 (nearest-exact, the + 0.5 in double) in the input's
    dtype, floored in float32, clamped to the last index."""
    t = np.dtype(dtype).type
    s = t(1.0 / scale) if scale > 0 else t(n_in) / t(n_out)
    dst = np.arange(n_out).astype(t)
    x = np.maximum(s * (dst + t(0.5)) - t(0.5), t(0)).astype(np.float64) + 0.5 if exact else s * dst
    x = x.astype(np.float32).astype(np.float64)
    return np.where(x < n_in - 1, np.floor(np.minimum(x, n_in - 1)), n_in - 1).astype(np.int64)


def _nearest_3d(input: Tensor, mode: str, sizes: tuple, scales: tuple) -> Tensor:
    """Nearest / nearest-exact on (N, C, D, H, W): PyTorch's 3-D kernel takes its general rule on every axis.
    H and W by the 2-D kernel over the (N, C D) planes, then the depth sources picked by index_select."""
    n, c, d, h, w = input.shape
    planes = Upsample.apply(input.reshape(n, c * d, h, w), size=sizes[1:], mode=mode, scales=scales[1:],
                            align_corners=False, legacy_nearest=False)
    src = numpy_call(_nearest_source, d, sizes[0], scales[0], mode == "nearest-exact", input._data.dtype)
    return planes.reshape(n, c, d, *sizes[1:]).index_select(2, Tensor._wrap(src))


_LEGACY_NEAREST_MAX = 128  # PyTorch's _use_vectorized_kernel_cond_2d threshold on oh + ow


def _per_dim(value, name: str, dims: int, kind) -> tuple:
    """An int/float or a sequence of ``dims`` of them, as a tuple."""
    if isinstance(value, (tuple, list)):
        if len(value) != dims:
            raise ArgumentError(f"{name}: input and {name} must have the same number of spatial dimensions, got "
                             f"{dims} spatial dimensions and {name} {tuple(value)}")
        values = tuple(value)
    else:
        values = (value,) * dims
    # a bool is no size (PyTorch: a TypeError) but a scale factor of 1 or 0 (PyTorch takes it as a double)
    if not all(isinstance(v, kind) and not (kind is numbers.Integral and isinstance(v, bool)) for v in values):
        raise TypeError(f"{name}: expected {'ints' if kind is numbers.Integral else 'numbers'} or a tuple of them, "
                        f"got {value!r}")
    return values


def _output_size(input: Tensor, size, scale_factor, recompute_scale_factor,
                 allow_empty: bool = False) -> tuple[tuple, tuple]:
    """(output sizes, the scale factors the kernel uses (0: none)) per spatial dim, PyTorch's rules: the
    size from floor(input size * scale_factor), and the scale factor itself for the source coordinates
    unless recompute_scale_factor. ``allow_empty`` (mode 'area', PyTorch's adaptive pooling): output sizes
    of 0 (and a scale factor of 0) are allowed."""
    dims, spatial = input.ndim - 2, input.shape[2:]
    if size is not None and scale_factor is not None:
        raise ArgumentError("size: only one of size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ArgumentError("recompute_scale_factor: is not meaningful with an explicit size")
        sizes = tuple(int(v) for v in _per_dim(size, "size", dims, numbers.Integral))
        scales = (0.0,) * dims
    elif scale_factor is not None:
        scales = tuple(float(v) for v in _per_dim(scale_factor, "scale_factor", dims, numbers.Real))
        if not all(math.isfinite(s) and (s > 0 or allow_empty and s == 0) for s in scales):
            raise ArgumentError(f"scale_factor: expected positive finite scale factors, got {scale_factor!r}")
        sizes = tuple(math.floor(n * s) for n, s in zip(spatial, scales))
        if recompute_scale_factor:
            scales = (0.0,) * dims
    else:
        raise ArgumentError("size: either size or scale_factor should be defined")
    if min(sizes) < (0 if allow_empty else 1) or min(spatial) < 1:
        raise ArgumentError(f"size: input and output sizes should be greater than 0, got input {tuple(spatial)} and "
                         f"output {sizes}")
    return sizes, scales


def _check_mode(input: Tensor, mode: str, align_corners, antialias: bool) -> None:
    if mode not in MODES:
        raise ArgumentNotSupportedError(f"mode: expected one of {MODES}, got {mode!r}")
    if input.ndim not in (3, 4, 5):
        raise ArgumentNotSupportedError(f"input: interpolate takes 3-D (N, C, L), 4-D (N, C, H, W) or 5-D (N, C, D, H, W) "
                         f"input, got shape {input.shape}")
    if antialias and not (mode in _ANTIALIAS_MODES and input.ndim == 4):
        raise ArgumentError("antialias: Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and "
                         f"requires a 4-D tensor as input (got mode {mode!r}, {input.ndim}-D input)")
    if mode in _NEEDS_DIMS and input.ndim != _NEEDS_DIMS[mode]:
        raise ArgumentNotSupportedError(f"input: Got {input.ndim}D input, but {mode} mode needs {_NEEDS_DIMS[mode]}D input")
    if mode == "lanczos" and align_corners:
        raise ArgumentError("align_corners: Lanczos mode does not support align_corners=True")
    if mode == "lanczos" and not antialias:
        raise ArgumentError("mode: Lanczos mode requires antialias=True")
    if align_corners is not None and mode not in _NEEDS_DIMS:
        raise ArgumentError("align_corners: option can only be set with the interpolating modes: linear | bilinear "
                         "| bicubic | trilinear")


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """Resizes (N, C, L), (N, C, H, W) or (N, C, D, H, W) input to ``size``, or by ``scale_factor`` (output size
    floor(in * scale)), per spatial axis with PyTorch's source coordinates (s = 1 / scale_factor when a
    scale factor is given and recompute_scale_factor is not set, else in / out; align_corners:
    s = (in - 1) / (out - 1)):

    - nearest: src = min(floor(dst s), in - 1);
    - nearest-exact: src = min(floor((dst + 0.5) s), in - 1); both with PyTorch's CPU arithmetic, which
      for 2-D outputs with oh + ow <= 128 is its legacy one (in float32; out = in and out = 2 in exact)
      and else its general one (the coordinate in the input's dtype). The gradient goes to exactly the
      sources the forward read (PyTorch's backward always takes the legacy indices, so where the two
      differ in the last bit, its gradient is not that of its output);
    - linear / bilinear: x = s dst (align_corners) or max(s (dst + 0.5) - 0.5, 0), interpolated between
      floor(x) and the next index (separably in H and W);
    - bicubic: PyTorch's cubic convolution (a = -0.75) over the 4 x 4 sources around x = s dst
      (align_corners) or s (dst + 0.5) - 0.5, border indices clamped, as two products with weight matrices;
    - trilinear (5-D input): linear along each of D, H and W, as three products with weight matrices;
    - area: adaptive average pooling to the output size (an empty tensor for an output size of 0, as PyTorch);
    - nearest and nearest-exact on 5-D input: PyTorch's general rule on every axis;
    - antialias=True (4-D input; bilinear, bicubic, lanczos): Pillow's resampling filters (triangle, Keys'
      cubic with a = -0.5, Lanczos-3), stretched by the downsampling factor so that each output averages every
      input it covers, as products with weight matrices (``_aa_weight_matrix``).

    One C++ kernel forward and one backward (a scatter in a fixed order per plane).
    """
    if isinstance(input, Tensor) and input.dtype == np.uint8 and mode in ("nearest", "nearest-exact"):
        return _nearest_uint8(input, size, scale_factor, mode, recompute_scale_factor)
    _float_tensor(input, "input")
    _check_mode(input, mode, align_corners, antialias)
    if mode == "area" and size is None:
        recompute_scale_factor = True  # PyTorch: area always pools to an explicit size
    sizes, scales = _output_size(input, size, scale_factor, recompute_scale_factor, allow_empty=mode == "area")
    if mode == "area":
        if 0 in sizes:  # PyTorch's adaptive pooling to an empty output: an empty tensor (its gradient zeros)
            return input.reshape(-1)[:0].reshape(*input.shape[:2], *sizes)
        pool = {3: FC1.adaptive_avg_pool1d, 4: FC.adaptive_avg_pool2d, 5: FC3.adaptive_avg_pool3d}[input.ndim]
        return pool(input, sizes)
    if input.shape[1] == 0:  # PyTorch's upsampling kernels refuse empty planes (adaptive pooling takes them)
        raise ArgumentError(f"input: Non-empty {input.ndim}D data tensor expected (no channels for mode {mode!r}), "
                            f"got shape {input.shape}")
    if antialias or mode in ("bicubic", "trilinear"):
        kind = {"bicubic": "cubic", "lanczos": "lanczos"}.get(mode, "linear")
        return _separable(input, kind, sizes, scales, bool(align_corners), antialias)
    kernel_mode = "linear" if mode in _NEEDS_DIMS else mode
    ac = bool(align_corners)
    if input.ndim == 5:
        return _nearest_3d(input, kernel_mode, sizes, scales)
    if input.ndim == 3:
        return FC1.height_one(lambda x: Upsample.apply(x, size=(1,) + sizes, mode=kernel_mode, scales=(0.0,) + scales,
                                                       align_corners=ac), input)
    # PyTorch's CPU forward takes its legacy nearest indices for 2-D outputs with oh + ow <= 128
    legacy = sum(sizes) <= _LEGACY_NEAREST_MAX
    return Upsample.apply(input, size=sizes, mode=kernel_mode, scales=scales, align_corners=ac, legacy_nearest=legacy)


def _nearest_uint8(input: Tensor, size, scale_factor, mode: str, recompute_scale_factor) -> Tensor:
    """Nearest resizing of a uint8 image or mask (PyTorch's CPU kernels take uint8 in these modes): the float
    kernel resizes a map of each plane's flat positions (exact in float32 below 2**24 positions, else in
    float64), which then picks the uint8 values: the sources the float kernel reads, the bits unchanged."""
    _check_mode(input, mode, None, False)
    if input.shape[1] == 0:  # (the float path's check: PyTorch's upsampling kernels refuse empty planes)
        raise ArgumentError(f"input: Non-empty {input.ndim}D data tensor expected (no channels for mode {mode!r}), "
                            f"got shape {input.shape}")
    where = Tensor._wrap(numpy_call(_positions, tuple(input.shape[2:])))  # (NumPy steps: a compiled call too)
    picked = interpolate(where, size, scale_factor, mode, None, recompute_scale_factor)
    return Tensor._wrap(numpy_call(_take_positions, input._data, picked._data))


def _positions(plane: tuple) -> np.ndarray:
    """(1, 1, *plane) of each position's flat index, exact in float32 below 2**24 positions, else float64."""
    count = math.prod(plane)
    return np.arange(count, dtype=np.float32 if count < 2**24 else np.float64).reshape(1, 1, *plane)


def _take_positions(data: np.ndarray, picked: np.ndarray) -> np.ndarray:
    """(N, C, *out) of each plane of data at the flat positions ``picked`` (1, 1, *out)."""
    flat = data.reshape(*data.shape[:2], math.prod(data.shape[2:]))
    return flat[..., picked.reshape(-1).astype(np.int64)].reshape(*data.shape[:2], *picked.shape[2:])


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None):
    """Deprecated in PyTorch in favour of ``interpolate`` (which this calls, with PyTorch's warning)."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated in PyTorch: ``interpolate(..., mode='nearest')``."""
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated in PyTorch: ``interpolate(..., mode='bilinear', align_corners=True)``."""
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def _factor(value, name: str) -> int:
    """A shuffle factor; at most 2**31, so that sizes times it (and its square) stay int64."""
    if not FC._is_int(value):  # PyTorch: a TypeError (ArgumentTypeError is one and a RuntimeError)
        raise ArgumentTypeError(f"{name}: expected a positive int of at most 2**31, got {value!r}")
    if value < 1 or value > 2**31:
        raise ArgumentError(f"{name}: expected a positive int of at most 2**31, got {value!r}")
    return int(value)


def _shuffle_input(input, name: str) -> Tensor:
    if not isinstance(input, Tensor):  # (any dtype: a rearrangement, integers included, as PyTorch's)
        raise ArgumentTypeError(f"input: expected a Tensor, got {type(input).__name__}")
    if input.ndim < 3:
        raise ArgumentError(f"input: {name} expects (*, C, H, W) input with at least 3 dimensions, got shape "
                         f"{input.shape}")
    return input


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """Sub-pixel rearrangement (Shi et al., "Real-Time Single Image and Video Super-Resolution Using an
    Efficient Sub-Pixel Convolutional Neural Network", CVPR 2016): (*, C r^2, H, W) -> (*, C, H r, W r),
    y[..., c, h r + i, w r + j] = x[..., c r^2 + i r + j, h, w]. A reshape, a permutation and a reshape."""
    _shuffle_input(input, "pixel_shuffle")
    r = _factor(upscale_factor, "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise ArgumentError(f"input: pixel_shuffle expects its channel dimension to be divisible by the square of "
                         f"upscale_factor {r}, got {c} channels (input of shape {input.shape})")
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """The inverse of pixel_shuffle: (*, C, H r, W r) -> (*, C r^2, H, W)."""
    _shuffle_input(input, "pixel_unshuffle")
    r = _factor(downscale_factor, "downscale_factor")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise ArgumentError(f"input: pixel_unshuffle expects height and width divisible by downscale_factor {r}, got "
                         f"input of shape {input.shape}")
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)
