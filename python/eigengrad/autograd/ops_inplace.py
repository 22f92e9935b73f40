"""The primitives behind the in-place operations that are not plain arithmetic: clamp, fill, copy and
index assignment. Each is an ordinary out-of-place primitive (the in-place driver in
``autograd/inplace.py`` writes its result back and gives the tensor its node), so each also serves
the out-of-place form (``Tensor.clamp``). The gradients are PyTorch's; they are selections of the
incoming gradient by constant masks, so the differentiable backwards are the same selections.
"""
from __future__ import annotations

import numpy as np

from eigengrad.autograd.function import Primitive
from eigengrad.autograd.ops import GetItem, _out_of_bounds, sum_to, unbroadcast, where


class Clamp(Primitive):
    """y = min(max(x, lo), hi) (``torch.clamp``; hi wins when lo > hi, NaN stays NaN); lo or hi may be
    None, a number or an array (broadcast).

    dy/dx = 1 where lo <= x <= hi, else 0 (0 at NaN); the gradient of an array bound goes to the
    elements whose value it set: dy/dlo where x < lo <= hi, dy/dhi where max(x, lo) > hi.
    """

    @staticmethod
    def forward(ctx, x, lo=None, hi=None):
        low = x if lo is None else np.maximum(x, lo)
        out = np.asarray(low if hi is None else np.minimum(low, hi), dtype=x.dtype)
        keep = np.ones(out.shape, dtype=bool)
        if lo is not None:
            keep &= x >= lo
        if hi is not None:
            keep &= x <= hi
        from_hi = low > hi if hi is not None else np.zeros(out.shape, dtype=bool)
        from_lo = (x < lo) & ~from_hi if lo is not None else None
        need = ctx.needs_input_grad
        ctx.shapes = (np.shape(x), np.shape(lo), np.shape(hi))
        ctx.save_for_backward(keep, from_lo if len(need) > 1 and need[1] else None,
                              from_hi if len(need) > 2 and need[2] else None)
        return out

    @staticmethod
    def backward(ctx, g):
        keep, from_lo, from_hi = ctx.saved
        sx, slo, shi = ctx.shapes
        gx = unbroadcast(np.where(keep, g, 0).astype(g.dtype), sx) if ctx.needs_input_grad[0] else None
        glo = unbroadcast(np.where(from_lo, g, 0).astype(g.dtype), slo) if from_lo is not None else None
        ghi = unbroadcast(np.where(from_hi, g, 0).astype(g.dtype), shi) if from_hi is not None else None
        return gx, glo, ghi

    @staticmethod
    def backward_graph(ctx, g):
        keep, from_lo, from_hi = ctx.saved
        sx, slo, shi = ctx.shapes
        gx = sum_to(where(keep, g, 0.0), sx) if ctx.needs_input_grad[0] else None
        glo = sum_to(where(from_lo, g, 0.0), slo) if from_lo is not None else None
        ghi = sum_to(where(from_hi, g, 0.0), shi) if from_hi is not None else None
        return gx, glo, ghi


class Fill(Primitive):
    """y = a tensor like x filled with ``value`` (a number or a 0-d array): dy/dx = 0, dy/dvalue = sum."""

    @staticmethod
    def forward(ctx, x, value):
        ctx.shape = np.shape(x)
        return np.full(np.shape(x), value, dtype=x.dtype)

    @staticmethod
    def backward(ctx, g):
        gv = np.sum(g) if ctx.needs_input_grad[1] else None
        return np.zeros(ctx.shape, dtype=g.dtype), gv

    @staticmethod
    def backward_graph(ctx, g):
        return np.zeros(ctx.shape, dtype=g.dtype), (g.sum() if ctx.needs_input_grad[1] else None)


class CopyFrom(Primitive):
    """y = ``src`` broadcast to x's shape and cast to x's dtype (``copy_``): dy/dx = 0, dy/dsrc = the
    gradient summed over the broadcast (cast back by the engine)."""

    @staticmethod
    def forward(ctx, x, src):
        ctx.shapes = (np.shape(x), np.shape(src))
        out = np.empty(np.shape(x), dtype=x.dtype)
        np.copyto(out, src, casting="unsafe")
        return out

    @staticmethod
    def backward(ctx, g):
        sx, ssrc = ctx.shapes
        gsrc = unbroadcast(g, ssrc) if ctx.needs_input_grad[1] else None
        return np.zeros(sx, dtype=g.dtype), gsrc

    @staticmethod
    def backward_graph(ctx, g):
        sx, ssrc = ctx.shapes
        return np.zeros(sx, dtype=g.dtype), (sum_to(g, ssrc) if ctx.needs_input_grad[1] else None)


class SetItem(Primitive):
    """y = x with y[index] = value (``x[index] = value``, PyTorch's index_put_ / copy into a view).

    dy/dx = g with the indexed elements zeroed; dy/dvalue = g[index] summed over value's broadcast (with
    repeated advanced indices every occurrence contributes, as PyTorch's formula).
    """

    @staticmethod
    def forward(ctx, x, value, index):
        out = np.array(x, order="C", copy=True)
        set_index(out, index, value)
        ctx.index, ctx.value_shape = index, np.shape(value)
        return out

    @staticmethod
    def backward(ctx, g):
        gx = gv = None
        if ctx.needs_input_grad[0]:
            gx = np.array(g, copy=True)
            set_index(gx, ctx.index, 0)
        if ctx.needs_input_grad[1]:
            try:
                region = np.asarray(g[ctx.index])
            except IndexError as error:  # an empty selection with positions out of bounds (see set_index)
                region = _out_of_bounds(g, ctx.index, error)
            gv = unbroadcast(region, ctx.value_shape)
        return gx, gv

    @staticmethod
    def backward_graph(ctx, g):
        gx = gv = None
        if ctx.needs_input_grad[0]:
            written = np.zeros(g.shape, dtype=bool)
            written[ctx.index] = True
            gx = where(written, 0.0, g)
        if ctx.needs_input_grad[1]:
            gv = sum_to(GetItem.apply(g, index=ctx.index), ctx.value_shape)
        return gx, gv


def set_index(target: np.ndarray, index, value) -> None:
    """``target[index] = value`` with PyTorch's checks: positions out of bounds are an error only where an
    element is written (an empty selection writes nothing, so ``x[3:, [9]] = v`` of 3 rows is no error), and a
    value that does not broadcast to the selection is a RuntimeError with PyTorch's message."""
    try:
        target[index] = value
    except IndexError as error:
        _out_of_bounds(target, index, error, np.shape(value))  # (raises unless the selection is empty)
    except ValueError as error:
        from eigengrad.autograd.inplace import _expand_message

        try:
            region = target[index]
        except IndexError as bounds:  # PyTorch checks the value's shape first
            _out_of_bounds(target, index, bounds, np.shape(value))
            raise error from None
        message = _expand_message(np.shape(region), np.shape(value))
        if message is None:  # not a shape problem
            raise
        raise RuntimeError(message) from error
