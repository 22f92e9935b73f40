"""``F.pad`` (re-exported by ``eigengrad.nn.functional``): PyTorch's four padding modes over the last
``len(pad) // 2`` dims, with PyTorch's argument order (``pad`` lists the last dim's (left, right) first),
defaults, checks and messages.

Every mode is a gather along each padded dim: output position ``j`` of a dim of size ``n`` padded by
``(l, r)`` reads input position ``i = j - l`` mapped back into ``[0, n)``:

- constant: ``i`` itself, or the fill ``value`` when ``i`` is outside (negative pads crop);
- reflect: ``|i|`` folded at ``n - 1`` (the edge is not repeated: ``[2, 1, 0, 1, 2]``);
- replicate: ``i`` clamped to ``[0, n - 1]``;
- circular: ``i mod n``.

The gathers are ``index_select`` and the fill is ``where``, so the result is differentiable to every order
through those ops' own backwards (a gather's adjoint adds the gradient of each repeated read back).
"""
from __future__ import annotations

import numbers

import numpy as np

from eigengrad._errors import ArgumentError
from eigengrad.tensor import Tensor

MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """``input`` padded by ``pad = (left_last, right_last, left_2nd_last, right_2nd_last, ...)``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pad(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    widths = _widths(pad)
    if mode not in MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if len(widths) * 2 > 2 * input.ndim:
        raise ArgumentError(f"Padding length should be less than or equal to two times the input dimension but got "
                            f"padding length {2 * len(widths)} and input of dimension {input.ndim}")
    if mode != "constant":
        _check_non_constant(input, widths, mode, value)
    out = input
    for k, (left, right) in enumerate(widths):
        dim = input.ndim - 1 - k
        index = _source_index(input.shape[dim], left, right, mode, dim, input.shape)
        if mode == "constant":
            out = _constant(out, dim, index, 0.0 if value is None else value)
        elif not np.array_equal(index, np.arange(input.shape[dim])):
            out = out.index_select(dim, Tensor._wrap(index))
    return out


def _widths(pad) -> list[tuple[int, int]]:
    if isinstance(pad, Tensor) or not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, not {type(pad).__name__}")
    for p in pad:
        if isinstance(p, bool) or not isinstance(p, numbers.Integral):
            raise TypeError(f"pad(): argument 'pad' must be tuple of ints, but found element of type "
                            f"{type(p).__name__}")
    if len(pad) % 2:
        raise ArgumentError("Padding length must be divisible by 2")
    return [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]


def _check_non_constant(input: Tensor, widths: list, mode: str, value) -> None:
    if value is not None and value != 0:
        raise ArgumentError(f'Padding mode "{mode}" doesn\'t take in value argument')
    n = len(widths)
    if input.ndim not in (n + 1, n + 2) or n > 3:
        raise NotImplementedError(
            f"Padding size {2 * n} is not supported for {input.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    for k, (left, right) in enumerate(widths):
        dim = input.ndim - 1 - k
        size = input.shape[dim]
        if mode == "reflect" and (left >= size or right >= size):
            raise ArgumentError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                                f"but got: padding ({left}, {right}) at dimension {dim} of input {list(input.shape)}")
        if mode == "circular" and (left > size or right > size):
            raise ArgumentError("Padding value causes wrapping around more than once.")
        if mode == "replicate" and size == 0 and (left > 0 or right > 0):
            raise ArgumentError(f"padding: cannot replicate the edge of dimension {dim} of size 0 "
                                f"(input {list(input.shape)})")


def _source_index(n: int, left: int, right: int, mode: str, dim: int, shape) -> np.ndarray:
    """For each output position along the dim, the input position it reads (-1: the constant fill)."""
    size = n + left + right
    if size < 0:
        raise ArgumentError(f"The input size {n}, plus negative padding {left} and {right} resulted in a negative "
                            f"output size, which is invalid. Check dimension {dim} of your input.")
    i = np.arange(size, dtype=np.int64) - left
    if mode == "constant":
        return np.where((i >= 0) & (i < n), i, -1)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return np.mod(i, n)
    i = np.abs(i)  # reflect: fold at 0, then at n - 1
    return np.where(i > n - 1, 2 * (n - 1) - i, i)


def _constant(x: Tensor, dim: int, index: np.ndarray, value) -> Tensor:
    inside = index >= 0
    if inside.all() and len(index) == x.shape[dim]:
        return x
    fill = np.asarray(value).astype(x._data.dtype)[()] if x._data.dtype.kind in "iub" else value
    if not inside.any():  # all fill (an empty dim padded): cat keeps the graph to x
        from eigengrad.tensor_ops.shape import cat

        filled = x.new_full(x.shape[:dim] + (len(index),) + x.shape[dim + 1:], fill)
        return cat([filled, x.narrow(dim, 0, 0)], dim)
    taken = x.index_select(dim, Tensor._wrap(np.where(inside, index, 0)))
    if inside.all():
        return taken
    shape = [1] * x.ndim
    shape[dim] = len(index)
    return taken.masked_fill(Tensor._wrap(np.ascontiguousarray(~inside).reshape(shape)), fill)
