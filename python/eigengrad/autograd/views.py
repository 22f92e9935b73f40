"""Views: tensors that share memory with another tensor, and in-place changes made through them.

A view op (a reshape that needs no copy, permute/transpose, basic indexing) returns a tensor whose
array is a NumPy view of its input's array: a write through either shows in both, and both share one
version counter. As PyTorch's ``_base``, the view remembers its root base tensor and the chain of view
ops from the base's array to its own (:class:`ViewInfo`). With it:

- an in-place op on a view records ``CopySlices`` on the base (the base's new value is its old value
  with the view's region replaced by the op's result), and the view's history becomes "that region of
  the base" (``ViewOfBase``), so gradients flow through the change into the base's earlier history;
- when the base or another view of it was changed in place after the view's history was recorded
  (the shared version moved on), the view's history is brought up to date before the view is used.

The region of a gradient is found by replaying the chain on an array laid out like the base
(``_replay``), which gives a NumPy view exactly where the original chain did.
"""
from __future__ import annotations

import numpy as np

from eigengrad.autograd.function import LinearMap, Primitive
from eigengrad.autograd.grad_mode import _state as _grad_state
from eigengrad.autograd.ops import where
from eigengrad.autograd.version import counter_of


class ViewInfo:
    """What a view tensor knows about its base: the root base tensor, the chain of (view op, options)
    from the base's array to the view's, whether it was made with grad mode on, the shared version
    at which its history was last set, and ``multi``: (output index, op name) when it is (a view of) an output
    of an op that returns several views (split, chunk, unbind), which PyTorch does not let change in place."""

    __slots__ = ("base", "chain", "grad_mode", "version", "multi")

    def __init__(self, base, chain: tuple, grad_mode: bool, version: int, multi=None) -> None:
        self.base, self.chain, self.grad_mode, self.version, self.multi = base, chain, grad_mode, version, multi


MULTI_OUTPUT = ("Output {} of {} is a view and {}. This view is the output of a function that returns multiple views. "
                "Such functions do not allow the output views to be modified inplace. You should replace the inplace "
                "operation by an out-of-place one.")
NO_GRAD_REBASE = ("A view was created in no_grad mode and its base or another view of its base has been modified "
                  "inplace with grad mode enabled. Given that this use case is ambiguous and error-prone, it is "
                  "forbidden. You can clarify your code by moving both the view and the inplace either both inside the "
                  "no_grad block (if you don't want the inplace to be tracked) or both outside (if you want the "
                  "inplace to be tracked).")


def multi_output(views: tuple, src, name: str) -> tuple:
    """Mark the outputs of an op that returns several views of ``src`` (PyTorch's MULTI_OUTPUT_NODE): made with
    grad mode on, none may be changed in place when ``src`` requires grad; when it does not, they count as
    made without grad mode (an in-place op with an operand that requires grad is refused)."""
    if _grad_state.enabled:
        for i, v in enumerate(views):
            if v._view is not None:
                if src.requires_grad:
                    v._view.multi = (i, name)
                else:
                    v._view.grad_mode = False
    return views


def _root_array(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (the end of its chain of NumPy bases)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def record_view(view, src, cls, options: dict) -> None:
    """Called by ``ViewFunction.apply`` after a view op: mark ``view`` as a view of ``src``'s base when its
    array shares ``src``'s memory (a reshape that had to copy, or advanced indexing, is not a view)."""
    if not (np.may_share_memory(view._data, src._data)
            or view._data.size == 0 and _root_array(view._data) is _root_array(src._data)):
        return  # (an empty view shares no memory, but writes through it still join the base's history)
    info = src._view
    base, chain = (src, ()) if info is None else (info.base, info.chain)
    counter = counter_of(src)
    view._counter = counter
    view._view = ViewInfo(base, chain + ((cls, options),), _grad_state.enabled and (info is None or info.grad_mode),
                          counter[0], None if info is None else info.multi)


def refresh(view) -> None:
    """Bring a view's history up to date after its base changed in place (``Function.apply`` calls this
    for a view input whose shared version moved on since its history was set)."""
    info = view._view
    if (not info.grad_mode or info.multi) and (info.base.requires_grad or view._ctx is not None):
        # PyTorch regenerates no history for these: the change is an error when the view is used
        raise RuntimeError(NO_GRAD_REBASE if not info.grad_mode else MULTI_OUTPUT.format(
            *info.multi, "its base or another view of its base has been modified inplace"))
    info.version = view._counter[0]
    if info.grad_mode and info.base.requires_grad:
        view._ctx = ViewOfBase.node((info.base,), chain=info.chain, layout=_layout(info.base._data))
        view._requires_grad = True


def catch_up(view) -> None:
    """A view read by the user (``requires_grad``, ``grad_fn``, ``is_leaf``) after its base changed in place,
    through it or another view: its history now, as PyTorch's view shows at once (a view made under no_grad,
    or one of several outputs, is left for the op that uses it to raise PyTorch's error)."""
    info = view._view
    if info.version != view._counter[0] and info.grad_mode and not info.multi:
        refresh(view)


def rebase_through_view(view, result) -> None:
    """After an in-place op wrote ``result`` (a recorded tensor) into ``view``'s memory: the base's
    history becomes CopySlices(old base, result) and the view's the region of the new base."""
    info = view._view
    base, layout = info.base, _layout(info.base._data)
    base._ctx = CopySlices.node((base, result), chain=info.chain, layout=layout)
    base._requires_grad = True
    view._ctx = ViewOfBase.node((base,), chain=info.chain, layout=layout)
    view._requires_grad = True
    info.version = view._counter[0]


def _layout(arr: np.ndarray) -> tuple:
    """(shape, axis order from the largest stride to the smallest) of the base's array."""
    return arr.shape, tuple(sorted(range(arr.ndim), key=lambda d: -abs(arr.strides[d])))


def _like(layout: tuple, dtype, fill=None) -> np.ndarray:
    """A compact array with the base's shape and axis order (so the view chain replays as views)."""
    shape, order = layout
    arr = np.empty(tuple(shape[d] for d in order), dtype=dtype).transpose(np.argsort(order))
    if fill is not None:
        arr.fill(fill)
    return arr


def _replay(arr: np.ndarray, chain: tuple) -> np.ndarray:
    """The region of ``arr`` (laid out like the base) that the chain of view ops selects, as a view."""
    region = arr
    for cls, options in chain:
        region = cls.view_of(region, **options)
    if region.size and not np.shares_memory(region, arr):
        raise RuntimeError("internal error: a view's chain of view ops did not replay as a view of its base")
    return region


class ViewOfBase(Primitive):
    """A view's history as the region of its base's current value (after an in-place change)."""

    @staticmethod
    def forward(ctx, base, chain=(), layout=None):
        ctx.chain, ctx.layout = chain, layout
        return _replay(base, chain)

    @staticmethod
    def backward(ctx, g):
        return (_into_region(g, ctx.chain, ctx.layout),)

    @staticmethod
    def backward_graph(ctx, g):
        return (IntoRegion.apply(g, chain=ctx.chain, layout=ctx.layout),)


def _into_region(g: np.ndarray, chain: tuple = (), layout: tuple = None) -> np.ndarray:
    """Zeros laid out like the base with ``g`` in the region the chain selects; where the region refers to a
    base element more than once (an expand, overlapping as_strided windows) the element gets the sum."""
    gb = _like(layout, g.dtype, fill=0)
    region = _replay(gb, chain)
    if region.flags.writeable and _no_self_overlap(region):
        region[...] = g
        return gb
    index = _like(layout, np.dtype(f"i{gb.itemsize}"))  # (the element size of g: the chain's strides fit)
    index[...] = np.arange(index.size).reshape(index.shape)
    chosen = _replay(index, chain)
    total = np.zeros(gb.size, dtype=g.dtype)
    np.add.at(total, chosen.reshape(-1), np.broadcast_to(g, chosen.shape).reshape(-1))
    gb[...] = total.reshape(gb.shape)
    return gb


def _no_self_overlap(a: np.ndarray) -> bool:
    """A sufficient test that no two elements of ``a`` share memory: its dims by increasing stride each step
    past everything the smaller ones span."""
    span = a.itemsize
    for stride, n in sorted((abs(s), n) for s, n in zip(a.strides, a.shape) if n > 1):
        if stride < span:
            return False
        span += stride * (n - 1)
    return True


def _region(x: np.ndarray, chain: tuple = (), layout: tuple = None) -> np.ndarray:
    """A copy of the region of ``x`` (shaped like the base, any layout) that the chain selects."""
    gb = _like(layout, x.dtype)
    gb[...] = x
    return _replay(gb, chain).copy()


class IntoRegion(LinearMap):
    """ViewOfBase's backward as a primitive: ``g`` placed in its region of zeros shaped like the base; its
    adjoint takes the region (``Region``)."""

    map = staticmethod(_into_region)


class Region(LinearMap):
    """The region of ``x`` (shaped like a base) that a view chain selects, as a new array; its adjoint is
    ``IntoRegion``."""

    map = staticmethod(_region)


IntoRegion.adjoint, Region.adjoint = Region, IntoRegion


class CopySlices(Primitive):
    """The base after an in-place op on one of its views: inputs (old base, new region value).

    d/d(old base) = g with the region zeroed; d/d(value) = g's region (PyTorch's CopySlices).
    """

    @staticmethod
    def forward(ctx, base, value, chain=(), layout=None):  # never run: the write already happened in place
        raise RuntimeError("CopySlices is recorded by in-place ops, not applied")

    @staticmethod
    def backward(ctx, g):
        gb = _like(ctx.layout, g.dtype)
        gb[...] = g
        region = _replay(gb, ctx.chain)
        if not region.flags.writeable:  # (a chain through an expand, read-only in NumPy): by element positions
            index = _like(ctx.layout, np.dtype(np.int64))
            index[...] = np.arange(index.size).reshape(index.shape)
            chosen = _replay(index, ctx.chain)
            flat = np.array(g, order="C").reshape(-1)
            g_value = flat[chosen].copy() if ctx.needs_input_grad[1] else None
            flat[chosen.reshape(-1)] = 0
            return flat.reshape(np.shape(g)), g_value
        g_value = region.copy() if ctx.needs_input_grad[1] else None
        region[...] = 0
        return gb, g_value

    @staticmethod
    def backward_graph(ctx, g):
        written = _like(ctx.layout, bool, fill=False)
        _replay(written, ctx.chain)[...] = True
        g_value = Region.apply(g, chain=ctx.chain, layout=ctx.layout) if ctx.needs_input_grad[1] else None
        return where(written, 0.0, g), g_value
