"""``F.pad``: constant padding of any dims (negative amounts crop), and 'reflect', 'replicate' and 'circular'
padding of the last 1-3 dims. Built from ``cat``/``narrow`` (constant) and ``index_select`` with a
per-dim source index (the other modes: padding is separable by dim), so it is differentiable twice."""
from __future__ import annotations

import numbers

import numpy as np

from eigengrad._errors import ArgumentError
from eigengrad.autograd.ops import numpy_call
from eigengrad.tensor import Tensor

MODES = ("constant", "reflect", "replicate", "circular")
_SUPPORTED = ("Supported combinations for non-constant padding:\n"
              "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
              "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
              "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """Pads ``input``: ``pad`` = (left, right) for the last dim, then (top, bottom) for the one before, ...
    'constant' fills with ``value`` (default 0); 'reflect' mirrors without repeating the edge, 'replicate'
    repeats the edge, 'circular' wraps around."""
    if not isinstance(input, Tensor):
        raise TypeError(f"input: expected an eigengrad Tensor, got {type(input).__name__}")
    pad = _amounts(pad)
    if len(pad) % 2:
        raise ArgumentError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.ndim:
        raise ArgumentError(f"Padding length should be less than or equal to two times the input dimension but got "
                            f"padding length {len(pad)} and input of dimension {input.ndim}")
    if mode not in MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    pairs = [(input.ndim - 1 - i, pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2)]
    if mode == "constant":
        return _constant(input, pairs, 0 if value is None else value)
    if value is not None and value != 0:
        raise ArgumentError(f"Padding mode \"{mode}\" doesn't take in value argument")
    k = len(pairs)
    if k not in (1, 2, 3) or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {input.ndim}D input tensor.\n"
                                  + _SUPPORTED)
    from eigengrad.tensor_ops.index import index_select

    # PyTorch's order: circular padding wraps what the negative amounts leave; reflect and replicate read
    # the whole input, a negative amount cropping their output
    x = _crop(input, pairs) if mode == "circular" else input
    if mode != "circular" and all(input.shape[d] + left + right < 1 for d, left, right in pairs):
        # PyTorch's reflection/replication check: some padded dim's output must be non-empty
        names = "DHW"[3 - k:]
        raise ArgumentError("input (" + ", ".join(f"{c}: {input.shape[d]}" for c, (d, _, _) in
                                                  zip(names, reversed(pairs))) + ") is too small. Calculated output "
                            + " ".join(f"{c}: {input.shape[d] + lt + rt}" for c, (d, lt, rt) in
                                       zip(names, reversed(pairs))))
    for d, left, right in pairs:
        if mode == "circular":
            left, right = max(left, 0), max(right, 0)
        if left or right:
            n = x.shape[d]
            if n + left + right < 0:
                raise ArgumentError(f"input (dim {d}: {n}) is too small for padding ({left}, {right}): calculated "
                                    f"output size {n + left + right}")
            index = numpy_call(_source_index, mode, n, left, right, d, list(input.shape))
            x = index_select(x, d, Tensor._wrap(index))
    return x


def _crop(x: Tensor, pairs: list) -> Tensor:
    for d, left, right in pairs:
        if x.shape[d] + min(left, 0) + min(right, 0) < 0:
            raise ArgumentError("narrow(): length must be non-negative.")  # PyTorch's message for such a crop
        if left < 0:
            x = x.narrow(d, -left, max(x.shape[d] + left, 0))
        if right < 0:
            x = x.narrow(d, 0, max(x.shape[d] + right, 0))
    return x


def _amounts(pad) -> list:
    if isinstance(pad, Tensor):
        pad = pad.tolist()
    if not isinstance(pad, (tuple, list)) or not all(isinstance(p, numbers.Integral) for p in pad):
        bad = next((p for p in pad if not isinstance(p, numbers.Integral)), pad) if isinstance(pad, (tuple, list)) \
            else pad
        raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but found element of type "
                        f"{type(bad).__name__} (got {pad!r})")
    return [int(p) for p in pad]


def _source_index(mode: str, n: int, left: int, right: int, d: int, input_shape: list) -> np.ndarray:
    """For each output position along the dim, the input position it copies (made through numpy_call: a
    compiled step makes it at every call)."""
    j = np.arange(-left, n + right, dtype=np.int64)  # (a negative left or right starts or ends inside)
    if mode == "reflect":
        if left >= n or right >= n:
            raise ArgumentError(f"Argument #4: Padding size should be less than the corresponding input dimension, but "
                                f"got: padding ({left}, {right}) at dimension {d} of input {input_shape}")
        j = np.abs(j)
        return np.where(j >= n, 2 * (n - 1) - j, j)
    if n == 0:
        raise ArgumentError(f"padding: {mode} padding needs a non-empty dimension {d}, got input {input_shape}")
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    # PyTorch's check is against the input's size, not what a negative amount leaves of it (n): what is left
    # then repeats with period n (x of size 2 padded by (-1, 2): its last element three times)
    if left > input_shape[d] or right > input_shape[d]:
        raise ArgumentError("Padding value causes wrapping around more than once.")
    return np.mod(j, n)


def _constant(x: Tensor, pairs: list, value) -> Tensor:
    from eigengrad.tensor_ops.shape import cat

    x = _crop(x, pairs)
    for d, left, right in pairs:
        if left > 0 or right > 0:
            x = cat([_block(x, d, max(left, 0), value), x, _block(x, d, max(right, 0), value)], dim=d)
    return x


def _block(x: Tensor, d: int, width: int, value) -> Tensor:
    shape = list(x.shape)
    shape[d] = width
    return Tensor._wrap(numpy_call(np.full, tuple(shape), value, x._data.dtype))
