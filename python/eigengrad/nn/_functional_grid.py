"""Spatial transformers (Jaderberg et al., "Spatial transformer networks", NeurIPS 2015): ``affine_grid`` and
``grid_sample`` for 4-D (images) and 5-D (volumes) inputs, with PyTorch's coordinate conventions (re-exported by
nn.functional).

Composed of differentiable operations: the sampling positions' integer parts are constants, the bilinear
weights are functions of the grid, and each corner is a gather from the input (whose backward is a
scatter-add), so both the input and the grid get gradients, to second order.
"""
from __future__ import annotations

import itertools
import warnings

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentNotSupportedError
from eigengrad.autograd.ops import ZeroGradTo, numpy_call
from eigengrad.nn._functional_loss import _input as _float_tensor
from eigengrad.tensor import Tensor
from eigengrad.tensor_ops.index import where

# The integer positions and masks below come from values (the grid's): each is one NumPy step (numpy_call),
# so that a compiled step computes them from each call's grid.


def _default_align_corners(align_corners: bool | None) -> bool:
    """``align_corners`` left at None means False, with PyTorch's warning (the default changed in 1.3.0)."""
    if align_corners is None:
        warnings.warn("Default grid_sample and affine_grid behavior has changed to align_corners=False since 1.3.0. "
                      "Please specify align_corners=True if the old behavior is desired. See the documentation of "
                      "grid_sample for details.", UserWarning, stacklevel=3)
        return False
    return bool(align_corners)


def _base_coords(n: int, align_corners: bool, dtype) -> np.ndarray:
    """The normalised coordinates of n pixel centres (corners when align_corners) in [-1, 1]."""
    if align_corners:
        return np.linspace(-1.0, 1.0, n, dtype=np.float64).astype(dtype) if n > 1 else np.zeros(n, dtype)
    return ((np.arange(n, dtype=np.float64) * 2 + 1) / n - 1).astype(dtype)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of the affine maps theta for an output of ``size``: 2-D, theta (N, 2, 3) and size
    (N, C, H, W) give (N, H, W, 2) with grid[n, i, j] = theta[n] @ (x_j, y_i, 1); 3-D, theta (N, 3, 4) and
    size (N, C, D, H, W) give (N, D, H, W, 3) with grid[n, k, i, j] = theta[n] @ (x_j, y_i, z_k, 1); (x, y, z)
    the output voxels' normalised coordinates (x along the width)."""
    _float_tensor(theta, "theta")
    align_corners = _default_align_corners(align_corners)
    size = tuple(int(s) for s in size)
    if len(size) not in (4, 5):
        raise ArgumentNotSupportedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D affine "
                                        f"transforms, respectively. Got size {size}.")
    dims = len(size) - 2
    if theta.ndim != 3 or tuple(theta.shape[1:]) != (dims, dims + 1):
        raise ArgumentError(f"Expected a batch of {dims}D affine matrices of shape Nx{dims}x{dims + 1} for size "
                            f"{size}. Got {list(theta.shape)}.")
    if theta.shape[0] != size[0]:
        raise ArgumentError(f"Expected theta to have the same batch size as size: {theta.shape[0]} vs {size[0]}")
    if min(size[2:]) <= 0:
        raise ArgumentError(f"Expected non-zero, positive output size. Got {list(size)}")
    spatial = size[2:]
    base = numpy_call(_base_grid, spatial, bool(align_corners), theta._data.dtype)
    grid = Tensor._wrap(base) @ theta.mT  # (N, positions, dims)
    return grid.reshape(size[0], *spatial, dims)


def _unnormalise(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coord + 1.0) * (0.5 * (size - 1))
    return ((coord + 1.0) * size - 1.0) * 0.5


def _base_grid(spatial: tuple, align_corners: bool, dtype) -> np.ndarray:
    """(1, positions, dims + 1): each output position's (x, y[, z], 1), x along the last (width) axis."""
    axes = [_base_coords(n, align_corners, dtype) for n in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")  # per axis, in (D,) H, W order
    base = np.stack([*mesh[::-1], np.ones(spatial, dtype)], -1)
    return base.reshape(1, -1, len(spatial) + 1)


def _corner_index(c: int, sizes: tuple, offsets: tuple, *coords: np.ndarray) -> np.ndarray:
    """The flat index (N, C, P) of the corner coords + offsets (one (N, P) int array per axis, outer axis
    first) of each position, 0 outside the image or volume."""
    index = np.zeros(coords[0].shape, np.int64)
    for q, size, off in zip(coords, sizes, offsets):
        index = index * size + (q + off)
    index = np.where(_inside(sizes, offsets, coords), index, 0)
    return np.broadcast_to(index[:, None, :], (index.shape[0], c, index.shape[1])).copy()


def _corner_inside(dtype, sizes: tuple, offsets: tuple, *coords: np.ndarray) -> np.ndarray:
    return _inside(sizes, offsets, coords)[:, None, :].astype(dtype)


def _inside(sizes: tuple, offsets: tuple, coords: tuple) -> np.ndarray:
    ok = np.ones(coords[0].shape, bool)
    for q, size, off in zip(coords, sizes, offsets):
        ok &= (q + off >= 0) & (q + off < size)
    return ok


def _padded(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    """PyTorch's source index after padding: 'border' clamps into the image, 'reflection' reflects about its
    edges (pixel edges, or centres with align_corners) and then clamps; 'zeros' leaves it (outside reads 0)."""
    if padding_mode == "zeros":
        return coord
    if padding_mode == "reflection":
        coord = _reflect(coord, *_reflect_bounds(size, align_corners))
    return coord.clamp(0, size - 1)


def _reflect_bounds(size: int, align_corners: bool) -> tuple:
    """The doubled edges positions reflect about: pixel centres 0 and size - 1, or pixel edges -1/2, size - 1/2."""
    return (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """``coord`` reflected into [low, high] as often as needed (bounds given doubled, so they stay integers)."""
    if twice_low == twice_high:
        return coord * 0.0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    distance = (coord - low).abs()
    extra = distance.fmod(span)
    even = Tensor._wrap(numpy_call(_even_flips, distance._data, span))
    return where(even, extra + low, span - extra + low)


def _even_flips(distance: np.ndarray, span: float) -> np.ndarray:
    return np.floor(distance / span) % 2 == 0


def _tap(coord: np.ndarray, size: int, padding_mode: str, align_corners: bool) -> np.ndarray:
    """An integer tap position of the bicubic kernel, padded as PyTorch's get_value_bounded pads it (int64)."""
    c = coord.astype(np.float64)
    if padding_mode == "border":
        c = np.clip(c, 0, size - 1)
    elif padding_mode == "reflection":
        low2, high2 = _reflect_bounds(size, align_corners)
        if low2 == high2:
            c = np.zeros_like(c)
        else:
            low, span = low2 / 2, (high2 - low2) / 2
            d = np.abs(c - low)
            c = np.where(_even_flips(d, span), np.fmod(d, span) + low, span - np.fmod(d, span) + low)
        c = np.clip(c, 0, size - 1)
    return np.trunc(c).astype(np.int64)


def _cubic_weights(t: Tensor) -> list:
    """The four weights of Keys' cubic convolution kernel (a = -0.75, PyTorch's) at the taps -1, 0, 1, 2 from
    the floor, for the fractional position t."""
    a = -0.75

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return [far(t + 1.0), near(t), near(1.0 - t), far(2.0 - t)]


def _bicubic(flat: Tensor, ix: Tensor, iy: Tensor, h: int, w: int, padding_mode: str, corners: bool) -> Tensor:
    x0, y0 = numpy_call(_rounded, ix._data, "floor"), numpy_call(_rounded, iy._data, "floor")
    wx = _cubic_weights(ix - Tensor._wrap(numpy_call(_as_dtype, x0, ix._data.dtype)))
    wy = _cubic_weights(iy - Tensor._wrap(numpy_call(_as_dtype, y0, iy._data.dtype)))
    out = None
    for j in range(4):
        ty = numpy_call(_tap, y0 + (j - 1), h, padding_mode, corners)
        row = None
        for i in range(4):
            tx = numpy_call(_tap, x0 + (i - 1), w, padding_mode, corners)
            term = _gather(flat, (ty, tx), (h, w)) * wx[i].unsqueeze(1)
            row = term if row is None else row + term
        term = row * wy[j].unsqueeze(1)
        out = term if out is None else out + term
    return out


def _rounded(a: np.ndarray, how: str) -> np.ndarray:
    """np.floor or np.rint (round half to even, as PyTorch's nearbyint) of a, as int64."""
    return getattr(np, how)(a).astype(np.int64)


def _as_dtype(a: np.ndarray, dtype) -> np.ndarray:
    return a.astype(dtype)


def _gather(flat: Tensor, coords: tuple, sizes: tuple, offsets: tuple | None = None) -> Tensor:
    """input[n, c, coords + offsets] for (N, P) positions (an int array per axis, outer axis first), zero
    outside the image or volume: (N, C, P)."""
    offsets = offsets or (0,) * len(coords)
    picked = flat.gather(2, Tensor._wrap(numpy_call(_corner_index, flat.shape[1], sizes, offsets, *coords)))
    return picked * Tensor._wrap(numpy_call(_corner_inside, flat._data.dtype, sizes, offsets, *coords))


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """out[n, c, i, j] = input[n, c] sampled at grid[n, i, j] = (x, y) in [-1, 1] (x along the width):
    bilinear, nearest or bicubic (Keys' kernel, a = -0.75), 'zeros' (outside reads 0), 'border' (positions
    clamped to the image) or 'reflection' (positions reflected about the image's edges) padding.
    input (N, C, H, W), grid (N, Ho, Wo, 2) -> (N, C, Ho, Wo); a volume: input (N, C, D, H, W), grid
    (N, Do, Ho, Wo, 3) of (x, y, z) -> (N, C, Do, Ho, Wo), 'bilinear' then being trilinear (no bicubic)."""
    _float_tensor(input, "input")
    _float_tensor(grid, "grid")
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ArgumentError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
                            f"but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ArgumentError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                            f"'reflection', but got: '{padding_mode}'")
    _check_sample_shapes(input, grid, mode)
    if grid._data.dtype != input._data.dtype:
        raise ArgumentError(f"grid_sample(): expected input and grid to have the same dtype, but input has "
                            f"{input._data.dtype} and grid has {grid._data.dtype}")
    n, c, *sizes = input.shape
    out_sizes = tuple(grid.shape[1:-1])
    positions = int(np.prod(out_sizes))
    corners = _default_align_corners(align_corners)
    # per axis, outer first: (z,) y, x, read from the grid's last dim (x first)
    coords = [_unnormalise(grid[..., len(sizes) - 1 - a].reshape(n, positions), size, corners)
              for a, size in enumerate(sizes)]
    flat = input.reshape(n, c, int(np.prod(sizes)))
    if mode == "bicubic":  # the taps are padded one by one; the position itself is not
        iy, ix = coords
        return _bicubic(flat, ix, iy, *sizes, padding_mode, corners).reshape(n, c, *out_sizes)
    coords = [_padded(q, size, padding_mode, corners) for q, size in zip(coords, sizes)]
    if mode == "nearest":  # round half to even, as PyTorch's nearbyint; the grid's gradient is zero
        out = _gather(flat, tuple(numpy_call(_rounded, q._data, "rint") for q in coords), tuple(sizes))
        out = ZeroGradTo.apply(out, grid) if grid.requires_grad else out
        return out.reshape(n, c, *out_sizes)
    low = tuple(numpy_call(_rounded, q._data, "floor") for q in coords)
    # the weight of the upper neighbour along each axis
    frac = [q - Tensor._wrap(numpy_call(_as_dtype, q0, q._data.dtype)) for q, q0 in zip(coords, low)]
    out = None
    for offsets in itertools.product((0, 1), repeat=len(sizes)):  # PyTorch's corner order: z, then y, then x
        weights = [f if o else 1.0 - f for f, o in zip(frac, offsets)]
        weight = weights[-1]  # x first, then y (then z), as PyTorch multiplies them
        for w_axis in reversed(weights[:-1]):
            weight = weight * w_axis
        term = _gather(flat, low, tuple(sizes), offsets) * weight.unsqueeze(1)
        out = term if out is None else out + term
    return out.reshape(n, c, *out_sizes)


def _check_sample_shapes(input: Tensor, grid: Tensor, mode: str) -> None:
    """PyTorch's grid_sampler checks: a 4-D or 5-D input, a grid of the same rank and batch whose last dim is
    the number of spatial dims; bicubic on images only."""
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise ArgumentError(f"grid_sampler(): expected 4D or 5D input and grid with same number of dimensions, but "
                            f"got input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    dims = input.ndim - 2
    if grid.shape[0] != input.shape[0]:
        raise ArgumentError(f"grid_sampler(): expected grid and input to have same batch size, but got input with "
                            f"sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if grid.shape[-1] != dims:
        raise ArgumentError(f"grid_sampler(): expected grid to have size {dims} in last dimension, but got grid with "
                            f"sizes {list(grid.shape)}")
    if mode == "bicubic" and dims != 2:
        raise ArgumentError("grid_sampler(): bicubic interpolation only supports 4D input")
