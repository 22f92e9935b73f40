"""In-place tensor operations with PyTorch's semantics: ``x += y``, ``add_``, ``zero_``, ``x[i] = v``, ...

- Rules (with grad mode on): a leaf that requires grad cannot be changed in place ("a leaf Variable that
  requires grad is being used in an in-place operation."), nor can a view of one; a view made under
  ``no_grad`` cannot be changed by a recorded in-place op. Under ``no_grad`` anything may be changed
  (how parameters are updated by hand).
- Types: the result must cast to the tensor's dtype by PyTorch's rule (a float result into an integer
  tensor is refused, "result type Float can't be cast to the desired output type Long"); the other
  operand must broadcast to the tensor's shape.
- Not recorded (no_grad, or nothing involved requires grad): the update runs in the tensor's memory
  (NumPy ufuncs with ``out=``), no allocation.
- Recorded: the op's ordinary primitive computes the new value from the tensor's current value (a node of
  the graph), the value is written into the tensor's memory and the tensor takes that node as its history
  (through a view: ``CopySlices`` on the base, see ``autograd.views``). A node that saved the tensor's old
  array keeps a copy of it instead.
- Every change adds one to the tensor's version (shared with its views), so a backward that needs an
  array modified since it was saved raises (``autograd.version``).
"""
from __future__ import annotations

import numbers
import sys

import numpy as np

from eigengrad import _dtype, _kernels as K, _trace
from eigengrad._errors import argument_errors
from eigengrad.autograd import engine, ops, views
from eigengrad.autograd.grad_mode import _state as _grad_state
from eigengrad.autograd.ops_inplace import Clamp, CopyFrom, Fill, SetItem, set_index
from eigengrad.autograd.version import bump, counter_of, version_of

LEAF = "a leaf Variable that requires grad is being used in an in-place operation."
VIEW_OF_LEAF = "a view of a leaf Variable that requires grad is being used in an in-place operation."
NO_GRAD_VIEW = ("A view was created in no_grad mode and is being modified inplace with grad mode enabled. Given that "
                "this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both "
                "the view and the inplace either both inside the no_grad block (if you don't want the inplace to be "
                "tracked) or both outside (if you want the inplace to be tracked).")

_ARITHMETIC = {"add_": (np.add, ops.Add), "sub_": (np.subtract, ops.Sub), "mul_": (np.multiply, ops.Mul),
               "div_": (np.true_divide, ops.Div)}


def _tensor_module():
    """The module eigengrad.tensor (it imports this one; ``eigengrad.tensor`` the attribute is a function)."""
    return sys.modules["eigengrad.tensor"]


# --- the driver ---------------------------------------------------------------------------------------

def run(t, name: str, update, recorded, operands=(), leaf_message: str = LEAF, region=None):
    """Change ``t`` in place. Without autograd, ``update``: (fn, *args), ``fn(t._data, *args)`` a module-level
    function over arrays and constants (eg.compile replays it as one step), or a callable whose operations
    record themselves (an out-of-place operation and a copy back). With autograd, ``recorded(t)`` returns the
    new value as a recorded tensor computed from ``t``. Returns ``t``."""
    arr = t._data
    if not arr.flags.writeable or 0 in arr.strides:
        written = arr if region is None else region()  # (what a basic x[index] = v writes: x[index])
        if written.size and name not in ("fill_", "zero_") and any(
                st == 0 and n > 1 for st, n in zip(written.strides, written.shape)):
            # an expanded view: PyTorch refuses every in-place op but a fill (one value for all elements)
            raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                               "single memory location. Please clone() the tensor before performing the operation.")
        if not arr.flags.writeable and not _writeable_alias(t):
            raise ValueError(f"{name}: the tensor's array is read-only (e.g. from_numpy of a read-only array), so it "
                             "cannot be changed in place")
    if t._inference and not _grad_state.inference:
        raise RuntimeError("Inplace update to inference tensor outside InferenceMode is not allowed.You can make a "
                           "clone to get a normal tensor before doing inplace update.See "
                           "https://github.com/pytorch/rfcs/pull/17 for more details.")
    grad_mode = _grad_state.enabled
    info = t._view
    records = grad_mode and t._data.dtype.kind == "f" and (
        t.requires_grad or any(getattr(o, "requires_grad", False) for o in operands)
        or (info is not None and info.base.requires_grad))
    if grad_mode:
        _check_rules(t, records, leaf_message)
    if not records:
        if callable(update):
            update()
        else:
            _trace.inplace(name, update[0], t._data, *update[1:])
        bump(t)
        return t
    _write_back(t, recorded(t))
    return t


def _writeable_alias(t) -> bool:
    """A read-only view of an expand whose broadcast dims are all gone again (``x.expand(3, 2)[:1]``, or empty)
    is written as PyTorch's: the view's array becomes a writeable one over the same elements of its base's memory.
    False when that memory is read-only itself (``from_numpy`` of a read-only array)."""
    arr = t._data
    root = views._root_array(arr)
    if root is arr or not root.flags.writeable or not root.flags.c_contiguous:
        return False
    offset = arr.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    try:
        t._data = np.ndarray(arr.shape, arr.dtype, buffer=root, offset=offset, strides=arr.strides)
    except (ValueError, TypeError):
        return False
    return True


def _check_rules(t, records: bool, leaf_message: str) -> None:
    info = t._view
    if info is None:
        if t._ctx is None and t.requires_grad:
            raise RuntimeError(leaf_message)
        return
    if records and not info.grad_mode:
        raise RuntimeError(NO_GRAD_VIEW)
    if records and info.multi:
        raise RuntimeError(views.MULTI_OUTPUT.format(*info.multi, "is being modified inplace"))
    if info.base._ctx is None and info.base.requires_grad:
        raise RuntimeError(VIEW_OF_LEAF)


def _write_back(t, result) -> None:
    """Write the recorded ``result`` into ``t``'s memory and make its node ``t``'s history."""
    ctx, arr, old_ctx = result._ctx, t._data, t._ctx
    kept = None
    for node in _new_nodes(ctx, old_ctx):
        if any(s is arr for s in node.saved):  # the node needs t's old value, which is about to be overwritten
            kept = K.cast(arr, arr.dtype) if kept is None else kept  # (a copy; recorded while eg.compile traces)
            node.saved = tuple(kept if s is arr else s for s in node.saved)
    K.copy_into(arr, result._data)
    bump(t)
    if t._view is not None:
        views.rebase_through_view(t, result)
    else:
        t._ctx, t._requires_grad = ctx, True
        if ctx.out_watch is not None:  # the node watches its output: now t's memory
            ctx.out_watch = (counter_of(t), version_of(t), t._data)
    if t._retains_grad:  # the gradient kept is the latest version's, as PyTorch's
        if old_ctx is not None:
            old_ctx.retained = None
        engine.retain(t)


def _new_nodes(ctx, old_ctx, limit: int = 32) -> list:
    """The nodes an in-place operation's recorded value was computed by: ``ctx`` and, for a composite (copysign_
    is abs and a product), the nodes behind it down to t's old history ``old_ctx``, at most ``limit`` of them
    (a composite's few; the operands' own histories are not walked)."""
    found, todo, seen = [], [ctx], set()
    while todo and len(found) < limit:
        node = todo.pop()
        if node is None or node is old_ctx or id(node) in seen:
            continue
        seen.add(id(node))
        found.append(node)
        todo += [e[0] for e in getattr(node, "edges", ()) if e is not None]
    return found


# --- the operations -----------------------------------------------------------------------------------

def arithmetic(t, name: str, other, alpha=1):
    """``t op= alpha * other`` for op in add_, sub_, mul_, div_ (alpha only for add_ and sub_)."""
    tensor = _tensor_module()
    from eigengrad.tensor_ops import arithmetic

    ufunc, op = _ARITHMETIC[name]
    other = arithmetic.operand(other)
    arr = other._data if isinstance(other, tensor.Tensor) else other
    if name == "sub_":  # PyTorch refuses a bool operand of -, in place too
        arithmetic._no_bool_subtraction(t, t._data, other, getattr(other, "_data", None))
    if alpha != 1 and t._data.dtype.kind in "iub" and isinstance(alpha, float):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    _check_cast(_result_dtype(t._data, arr, name), t._data.dtype)
    _check_broadcast(t.shape, np.shape(arr))

    def recorded(src):
        return arithmetic.binary(op, src, other if alpha == 1 else other * alpha, true_div=name == "div_")

    return run(t, name, (_arithmetic_step, arr, ufunc, alpha), recorded, (other,))


def _arithmetic_step(target: np.ndarray, arr, ufunc, alpha) -> None:
    ufunc(target, arr if alpha == 1 else np.multiply(arr, alpha), out=target, casting="unsafe")


def fill(t, value, name: str = "fill_"):
    """``t.fill_(value)``: a number or a 0-d tensor (differentiable), cast to t's dtype."""
    tensor = _tensor_module()
    if isinstance(value, tensor.Tensor):
        if value.ndim != 0:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} "
                               "dimensions.")
        arr = value._data
    elif isinstance(value, (numbers.Number, np.generic)):
        arr = value
    else:
        raise TypeError(f"value: expected a number or a 0-d Tensor, got {type(value).__name__}")

    return run(t, name, (_fill_step, arr), lambda src: Fill.apply(src, value), (value,))


def _fill_step(target: np.ndarray, value) -> None:
    target[...] = value


def copy(t, src):
    """``t.copy_(src)``: src broadcast to t's shape and cast to t's dtype."""
    tensor = _tensor_module()
    if not isinstance(src, tensor.Tensor):
        src = tensor.Tensor._wrap(tensor._to_array(src, copy=False))
    _check_broadcast(t.shape, src.shape)

    return run(t, "copy_", (_copy_step, src._data), lambda s: CopyFrom.apply(s, src), (src,))


def _copy_step(target: np.ndarray, src: np.ndarray) -> None:
    np.copyto(target, src, casting="unsafe")


def clamp(t, lo, hi):
    """``t.clamp_(min, max)``: min(max(t, lo), hi) in place."""
    lo, hi = clamp_bounds(lo, hi)
    lo_arr, hi_arr = (getattr(b, "_data", b) for b in (lo, hi))
    for b in (lo_arr, hi_arr):
        if b is not None:
            _check_cast(_result_dtype(t._data, b, "clamp_"), t._data.dtype)
            _check_broadcast(t.shape, np.shape(b))

    return run(t, "clamp_", (_clamp_step, lo_arr, hi_arr), lambda src: Clamp.apply(src, lo, hi), (lo, hi))


def _clamp_step(target: np.ndarray, lo, hi) -> None:
    if lo is not None:
        np.maximum(target, lo, out=target, casting="unsafe")
    if hi is not None:
        np.minimum(target, hi, out=target, casting="unsafe")


def clamp_bounds(lo, hi) -> tuple:
    """The bounds of a clamp: numbers or Tensors, at least one given (PyTorch's check)."""
    tensor = _tensor_module()
    if lo is None and hi is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    out = []
    for name, b in (("min", lo), ("max", hi)):
        if b is not None and not isinstance(b, (tensor.Tensor, numbers.Real, np.generic)):
            raise TypeError(f"{name}: expected a number or a Tensor, got {type(b).__name__}")
        out.append(b.item() if isinstance(b, np.generic) else b)
    return tuple(out)


@argument_errors  # NumPy's "could not broadcast": PyTorch raises a RuntimeError
def setitem(t, index, value) -> None:
    """``t[index] = value``: basic or advanced indexing, a tensor, array or number, broadcast and cast."""
    tensor = _tensor_module()
    if isinstance(value, (list, tuple)):
        value = tensor._to_array(value)
    basic = ops._is_basic_index(index)
    if basic and 0 in t._data.strides and index is not Ellipsis:  # an expanded tensor: write into the view index
        setitem(t[index], Ellipsis, value)  # selects (PyTorch's copy_ into it), its elements each once
        return
    if not basic and isinstance(value, tensor.Tensor) and value._data.dtype != t._data.dtype and not (
            value._data.size == 1 and _one_mask(index)):
        # PyTorch's index_put_ (with one mask and one value it is masked_fill_, which casts); the index is checked
        # first (positions broadcast, masks fit)
        try:
            set_index(np.empty_like(t._data), index, np.zeros(value._data.shape, t._data.dtype))
        except IndexError as error:
            if "out of bounds" not in str(error):  # (positions are checked later, as they are written)
                raise
        name = _dtype.scalar_type_name
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{name(t._data.dtype)} for the destination and {name(value._data.dtype)} for the source.")
    value = _without_leading_ones(value, tensor.Tensor)
    arr = value._data if isinstance(value, tensor.Tensor) else value

    run(t, "__setitem__", (_setitem_parts_step, arr, *_index_parts(index)),
        lambda src: SetItem.apply(src, value, index=index), (value,), leaf_message=VIEW_OF_LEAF if basic else LEAF,
        region=(lambda: t._data[ops._as_view_index(index)]) if basic else None)


def _one_mask(index) -> bool:
    """Whether the advanced part of an index is one bool mask (the rest slices, None, Ellipsis)."""
    items = index if isinstance(index, tuple) else (index,)
    masks = [i for i in items if isinstance(i, np.ndarray) and i.dtype.kind == "b" and i.ndim]
    return len(masks) == 1 and all(i is masks[0] or i is None or i is Ellipsis or isinstance(i, slice) for i in items)


def _without_leading_ones(value, tensor_type):
    """``value`` with its leading size-1 dims dropped, as PyTorch's setitem does before broadcasting: a (1,)
    output written into one element (``values[t] = critic(obs)``) is then a scalar; broadcasting adds them
    back where the target has them."""
    shape = np.shape(value)
    k = 0
    while k < len(shape) and shape[k] == 1:
        k += 1
    if k == 0:
        return value
    return value.reshape(shape[k:]) if isinstance(value, (tensor_type, np.ndarray)) else value


class _Slot:
    """Where an array stood in a tuple or list index (the array itself is a separate operand of the step)."""

    def __repr__(self) -> str:
        return "<array>"


_SLOT = _Slot()


def _index_parts(index) -> tuple:
    """(spec, *arrays): a tuple or list index with its arrays taken out (eg.compile reads arrays that are
    operands of a step at every replay, but would freeze arrays inside a container), else (index,)."""
    if isinstance(index, (tuple, list)) and any(isinstance(i, np.ndarray) for i in index):
        spec = tuple(_SLOT if isinstance(i, np.ndarray) else i for i in index)
        return (spec if isinstance(index, tuple) else list(spec), *(i for i in index if isinstance(i, np.ndarray)))
    return (index,)


def _setitem_parts_step(target: np.ndarray, arr, index, *arrays) -> None:
    if arrays:
        it = iter(arrays)
        parts = [next(it) if i is _SLOT else i for i in index]
        index = tuple(parts) if isinstance(index, tuple) else parts
    _setitem_step(target, arr, index)


def _setitem_step(target: np.ndarray, arr, index) -> None:
    set_index(target, index, arr)


# --- dtype and shape rules (PyTorch's messages) -------------------------------------------------------

def _torch_name(dtype) -> str:
    """PyTorch's scalar type name (the table is _dtype's; the tensor operations' messages import this name)."""
    return _dtype.scalar_type_name(dtype)


def _result_dtype(arr: np.ndarray, other, name: str) -> np.dtype:
    """The dtype PyTorch computes ``arr op other`` in: Python numbers are weak (a float with an integer
    tensor gives the default float dtype), true division of integers gives the default float dtype."""
    default = _tensor_module().get_default_dtype()
    if isinstance(other, bool):
        result = arr.dtype
    elif isinstance(other, numbers.Integral):
        result = arr.dtype if arr.dtype.kind != "b" else np.dtype(np.int64)
    elif isinstance(other, numbers.Real):
        result = arr.dtype if arr.dtype.kind in "fc" else default
    else:
        result = np.result_type(arr, other)
    if name == "div_" and result.kind in "iub":
        result = default
    return np.dtype(result)


def _check_cast(result: np.dtype, dtype: np.dtype) -> None:
    if not np.can_cast(result, dtype, casting="same_kind"):
        raise RuntimeError(f"result type {_dtype.scalar_type_name(result)} can't be cast to the desired output type "
                           f"{_dtype.scalar_type_name(dtype)}")


def _check_broadcast(shape: tuple, other: tuple) -> None:
    """``other`` must broadcast to ``shape`` (the in-place result keeps the tensor's shape)."""
    ndim = max(len(shape), len(other))
    a, b = (1,) * (ndim - len(shape)) + tuple(shape), (1,) * (ndim - len(other)) + tuple(other)
    out = []
    for d, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
                               f"dimension {d}")
        out.append(y if x == 1 else x)
    if tuple(out) != tuple(shape):
        raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast shape {out}")


def _expand_message(target: tuple, source: tuple) -> str | None:
    """PyTorch's error for a value that does not broadcast to the indexed region (None if it does)."""
    extra = len(source) - len(target)
    if extra > 0:
        return (f"expand: the number of sizes provided ({len(target)}) must be greater or equal to the number of "
                f"dimensions in the tensor ({len(source)})")
    for d in range(len(source)):
        t, s = target[d - len(source)], source[d]
        if s != t and s != 1:
            return (f"The expanded size of the tensor ({t}) must match the existing size ({s}) at non-singleton "
                    f"dimension {d - len(source) + len(target)}.  Target sizes: {list(target)}.  Tensor sizes: "
                    f"{list(source)}")
    return None


def functional(t, name: str, fn, *args, **kwargs):
    """``t.<name>_(*args)`` for an out-of-place operation ``fn(t, *args)`` (exp_, sin_, masked_fill_, ...): the
    result, which must cast to t's dtype by PyTorch's rule, is written into t's memory."""
    tensor = _tensor_module()
    operands = [a for a in args if isinstance(a, tensor.Tensor)] + [
        a for a in kwargs.values() if isinstance(a, tensor.Tensor)]

    def checked(result):  # PyTorch's dtype rule, and the result must fit t (x.masked_fill_(bigger_mask) raises)
        _check_cast(result._data.dtype, t._data.dtype)
        if result._data.shape != t._data.shape:
            _check_broadcast(tuple(t._data.shape), tuple(result._data.shape))
        return result

    def direct():  # (the operation's primitives and the copy are recorded while eg.compile traces)
        result = checked(fn(tensor.Tensor._wrap(t._data), *args, **kwargs))
        K.copy_into(t._data, result._data)

    def recorded(src):
        result = checked(fn(src, *args, **kwargs))
        if result._ctx is None:  # no history (a comparison, a sign read from `other`'s values): the new value is
            # constant in the inputs, which get a zero gradient through it, as PyTorch's (GtBackward0, ...)
            result = result.to(t._data.dtype)
            for o in (src, *operands):
                if o.requires_grad:
                    result = ops.ZeroGradTo.apply(result, o)
        return result

    return run(t, name, direct, recorded, operands)


def method(name: str, fn):
    """The in-place method ``<name>_`` of an out-of-place operation ``fn`` (see :func:`functional`)."""
    def in_place(self, *args, **kwargs):
        return functional(self, name + "_", fn, *args, **kwargs)

    in_place.__name__ = in_place.__qualname__ = name + "_"
    in_place.__doc__ = f"In-place ``{name}``."
    return in_place
