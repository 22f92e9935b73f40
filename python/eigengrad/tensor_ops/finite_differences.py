"""``gradient`` (finite differences, as NumPy's and PyTorch's) and the out-of-place view writes
``select_scatter``, ``slice_scatter`` and ``diagonal_scatter``. All are built from differentiable operations
(slices, arithmetic, ``cat``, a clone written through a view), so first- and second-order gradients come
with them."""
from __future__ import annotations

import numbers

from eigengrad._errors import ArgumentError, ArgumentTypeError
from eigengrad.tensor_ops import _dims


def _tensor_cls():
    from eigengrad.tensor import Tensor

    return Tensor


def _slice(x, dim: int, start, stop):
    """``x[..., start:stop, ...]`` along ``dim`` (Python's slice bounds, negative ones included)."""
    lo, hi, _ = slice(start, stop).indices(x.shape[dim])
    return x.narrow(dim, lo, max(hi - lo, 0))


def _uniform(x, dim: int, h, edge_order: int):
    """Central differences (f[i+1] - f[i-1]) / 2h inside; one-sided ones of first or second order at the ends."""
    from eigengrad.tensor_ops.shape import cat

    center = (_slice(x, dim, 2, None) - _slice(x, dim, 0, -2)) / h
    if edge_order == 1:
        first = (_slice(x, dim, 1, 2) - _slice(x, dim, 0, 1)) / h
        last = (_slice(x, dim, -1, None) - _slice(x, dim, -2, -1)) / h
    else:
        first = (-1.5 * _slice(x, dim, 0, 1) + 2 * _slice(x, dim, 1, 2) - 0.5 * _slice(x, dim, 2, 3)) / h
        last = (0.5 * _slice(x, dim, -3, -2) - 2 * _slice(x, dim, -2, -1) + 1.5 * _slice(x, dim, -1, None)) / h
    return cat([first, center / 2, last], dim=dim)


def _coordinates(x, dim: int, coords, edge_order: int):
    """Second-order differences on uneven coordinates: with h1 = c[i] - c[i-1] and h2 = c[i+1] - c[i],
    f'(c[i]) ~ (-h2 / (h1 (h1 + h2))) f[i-1] + ((h2 - h1) / (h1 h2)) f[i] + (h1 / (h2 (h1 + h2))) f[i+1]
    (Fornberg 1988; NumPy's np.gradient); the ends one-sided, of first or second order."""
    from eigengrad.tensor_ops.shape import cat

    dx = coords.diff()
    h1, h2 = dx[:-1], dx[1:]
    shape = [1] * x.ndim
    shape[dim] = -1
    a = (-h2 / (h1 * (h1 + h2))).reshape(shape)
    b = ((h2 - h1) / (h1 * h2)).reshape(shape)
    c = (h1 / (h2 * (h1 + h2))).reshape(shape)
    center = a * _slice(x, dim, 0, -2) + b * _slice(x, dim, 1, -1) + c * _slice(x, dim, 2, None)
    if edge_order == 1:
        first = (_slice(x, dim, 1, 2) - _slice(x, dim, 0, 1)) / dx[0]
        last = (_slice(x, dim, -1, None) - _slice(x, dim, -2, -1)) / dx[-1]
    else:
        d0, d1 = dx[0], dx[1]
        first = (-(2.0 * d0 + d1) / (d0 * (d0 + d1)) * _slice(x, dim, 0, 1)
                 + (d0 + d1) / (d0 * d1) * _slice(x, dim, 1, 2) + (-d0) / (d1 * (d0 + d1)) * _slice(x, dim, 2, 3))
        d1, d0 = dx[-1], dx[-2]
        last = (d1 / (d0 * (d1 + d0)) * _slice(x, dim, -3, -2) - (d1 + d0) / (d1 * d0) * _slice(x, dim, -2, -1)
                + (2 * d1 + d0) / (d1 * (d1 + d0)) * _slice(x, dim, -1, None))
    return cat([first, center, last], dim=dim)


def _gradient_dims(input, dim) -> list:
    if dim is None:
        return list(range(input.ndim))
    if isinstance(dim, numbers.Integral) and not isinstance(dim, bool):
        return [_dims.wrap(dim, input.ndim)]
    dims = [_dims.wrap(d, input.ndim) for d in dim]
    for d in dims:
        if dims.count(d) > 1:
            raise ArgumentError(f"dim {d} appears multiple times in the list of dims")
    return dims


def _gradient_spacings(input, spacing, dims: list, dim_given: bool) -> list:
    Tensor = _tensor_cls()
    if spacing is None:
        spacing = 1
    if isinstance(spacing, numbers.Number) and not isinstance(spacing, bool):
        return [spacing] * len(dims)
    if isinstance(spacing, Tensor) or not isinstance(spacing, (list, tuple)):
        raise ArgumentTypeError(f"gradient(): spacing: expected a number, or a list or tuple of numbers or of 1-D "
                                f"tensors, got {type(spacing).__name__}")
    spacing = list(spacing)
    if len(spacing) != len(dims):
        if not dim_given:
            raise ArgumentError(f"torch.gradient expected spacing to be unspecified, a scalar, or a list of length "
                                f"equal to 'self.dim() = {input.ndim}', since dim argument was not given, but got a "
                                f"list of length {len(spacing)}")
        raise ArgumentError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing and dim "
                            f"arguments to have the same length, but got a spacing argument of length {len(spacing)} "
                            f"and a dim argument of length {len(dims)}.")
    tensors = [isinstance(s, Tensor) for s in spacing]
    if any(tensors) and not all(tensors) or not any(tensors) and not all(
            isinstance(s, numbers.Number) and not isinstance(s, bool) for s in spacing):
        raise ArgumentTypeError("gradient(): spacing: expected all numbers or all 1-D tensors, got "
                                + ", ".join(type(s).__name__ for s in spacing))
    for s, d in zip(spacing, dims):
        if isinstance(s, Tensor):
            if s.ndim != 1:
                raise ArgumentError(f"torch.gradient expected each element of spacing to have one dimension, but got "
                                    f"an element with {s.ndim} dimensions!")
            if s.shape[0] != input.shape[d]:
                raise ArgumentError(f"spacing: the coordinates for dim {d} have {s.shape[0]} values, expected "
                                    f"{input.shape[d]} (the input's size along that dim)")
    return spacing


def gradient(input, *, spacing=1, dim=None, edge_order: int = 1) -> tuple:
    """The derivative of the function sampled in ``input`` along each of ``dim`` (every dim by default), one
    tensor per dim: central differences (f[i+1] - f[i-1]) / 2h inside, one-sided differences of order
    ``edge_order`` (1 or 2) at the ends. ``spacing`` is the sample distance (a number, or one per dim) or the
    sample coordinates (one 1-D tensor per dim, uneven allowed: second-order differences on the uneven
    grid). Integer inputs give floating results, as PyTorch."""
    if isinstance(edge_order, bool) or edge_order not in (1, 2):
        raise ArgumentError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dims = _gradient_dims(input, dim)
    spacings = _gradient_spacings(input, spacing, dims, dim is not None)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise ArgumentError("torch.gradient expected each dimension size to be at least edge_order+1")
    Tensor = _tensor_cls()
    return tuple(_coordinates(input, d, s, edge_order) if isinstance(s, Tensor) else _uniform(input, d, s, edge_order)
                 for d, s in zip(dims, spacings))


# --- out-of-place writes through a view ----------------------------------------------------------------

def _embed(input, src, view_of, what: str):
    """A copy of ``input`` with ``view_of(copy)`` replaced by ``src`` (whose shape must be the view's)."""
    Tensor = _tensor_cls()
    if not isinstance(src, Tensor):
        raise ArgumentTypeError(f"{what}(): argument 'src' must be Tensor, not {type(src).__name__}")
    out = input.clone()
    view = view_of(out)
    if tuple(src.shape) != tuple(view.shape):
        raise ArgumentError(f"expected src to have a size equal to the slice of self. src size = {list(src.shape)}, "
                            f"slice size = {list(view.shape)}")
    view.copy_(src)
    return out


def select_scatter(input, src, dim: int, index: int):
    """``input`` with ``input.select(dim, index)`` replaced by ``src``, as a new tensor."""
    return _embed(input, src, lambda t: t.select(dim, index), "select_scatter")


def slice_scatter(input, src, dim: int = 0, start=None, end=None, step: int = 1):
    """``input`` with the slice ``start:end:step`` along ``dim`` replaced by ``src``, as a new tensor."""
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step <= 0:
        raise ArgumentError(f"slice step must be positive, got {step}")

    def view(t):
        d = _dims.wrap(dim, t.ndim)
        index = [slice(None)] * t.ndim
        index[d] = slice(start, end, int(step))
        return t[tuple(index)]

    return _embed(input, src, view, "slice_scatter")


def diagonal_scatter(input, src, offset: int = 0, dim1: int = 0, dim2: int = 1):
    """``input`` with ``input.diagonal(offset, dim1, dim2)`` replaced by ``src``, as a new tensor."""
    return _embed(input, src, lambda t: t.diagonal(offset, dim1, dim2), "diagonal_scatter")


METHODS = ("select_scatter", "slice_scatter", "diagonal_scatter")
FUNCTIONS = METHODS + ("gradient",)
