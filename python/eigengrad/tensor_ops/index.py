"""Indexing along a dim and by masks: ``gather``, ``scatter`` (``reduce``), ``scatter_add``, ``scatter_reduce``,
``index_select``, ``index_add``, ``index_fill``, ``masked_fill``, ``masked_select``, ``where``, ``nonzero``,
``take``, and the in-place forms (``scatter_``, ``scatter_add_``, ``masked_fill_``, ``index_add_``, ...).
gather/scatter/index_select/index_add run in C++ (deterministic: the same bits on any thread count)."""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from eigengrad import _trace
from eigengrad import _dtype
from eigengrad._errors import (ArgumentError, ArgumentIndexError, ArgumentTypeError, DtypeNotSupportedError,
                               user_stacklevel)
from eigengrad.autograd import inplace, ops, ops_combine, ops_index
from eigengrad.tensor_ops import _dims, _out
from eigengrad.tensor_ops.arithmetic import cast, operand, result_dtype


def _wrap(arr):
    from eigengrad.tensor import Tensor

    return Tensor._wrap(np.asarray(arr))


# PyTorch names the scatter family "scatter" in its index-dtype message (scatter_gather_dtype_check)
_DTYPE_CHECK_NAME = {"gather": "gather", "scatter": "scatter", "scatter_add": "scatter", "scatter_reduce": "scatter"}


def _index_array(index, name: str, ints=("int64",)) -> np.ndarray:
    """The index's array, int64 (PyTorch 2.x takes int32 indices for gather and scatter too)."""
    arr = index._data if hasattr(index, "_data") else np.asarray(index)
    if arr.dtype.name not in ints and arr.dtype != np.int32:
        if name in _DTYPE_CHECK_NAME:
            raise ArgumentTypeError(f"{_DTYPE_CHECK_NAME[name]}(): Expected dtype int32/int64 for index")
        raise ArgumentTypeError(f"{name}(): Expected dtype {' or '.join(sorted(ints))} for index")
    return arr.astype(np.int64) if arr.dtype == np.int32 and "int32" not in ints else arr


def _check_gather_shapes(input, dim: int, index: np.ndarray, name: str, src=None) -> int:
    """PyTorch's gather_shape_check / scatter_shape_check, with their messages (the scatter family calls
    input "self"; with a src tensor either excess is reported in the one message naming src)."""
    d = _dims.wrap(dim, input.ndim)
    scatter = name.startswith("scatter")
    if index.ndim != max(input.ndim, 0) and not (input.ndim == 0 and index.ndim <= 1):
        raise ArgumentError(f"Index tensor must have the same number of dimensions as {'self' if scatter else 'input'}"
                            f" tensor")
    for k in range(index.ndim if index.size or scatter else 0):  # (PyTorch's gather checks no empty index)
        if k != d and index.shape[k] > input.shape[k] or src is not None and index.shape[k] > src.shape[k]:
            if not scatter:
                raise ArgumentError(f"Size does not match at dimension {k} expected index {list(index.shape)} to be "
                                    f"no larger than self {list(input.shape)} apart from dimension {d}")
            message = (f"Expected index {list(index.shape)} to be no larger than self {list(input.shape)} apart from "
                       f"dimension {d}")
            raise ArgumentError(message if src is None else f"{message} and to be no larger size than src "
                                                            f"{list(src.shape)}")
    return d


def gather(input, dim: int, index, *, sparse_grad: bool = False, out=None):
    """out[i][j][k] = input[index[i][j][k]][j][k] along ``dim`` (index int64, of input's ndim, no larger than
    input outside ``dim``); the gradient scatters back (adds where indices repeat)."""
    idx = _index_array(index, "gather")
    d = _check_gather_shapes(input, dim, idx, "gather")
    if input.ndim == 0:
        return _out.write(input.reshape(1).gather(0, _wrap(idx.reshape(-1)))[0] if idx.ndim == 0 else
                          input.reshape(1).gather(0, _wrap(idx)), out)
    return _out.write(ops.Gather.apply(input, idx, dim=d), out)


def take_along_dim(input, indices, dim=None):
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    d = _dims.wrap(dim, input.ndim)
    outside = tuple(s if k != d else 1 for k, s in enumerate(input.shape)), \
        tuple(s if k != d else 1 for k, s in enumerate(indices.shape))
    try:
        shape = list(np.broadcast_shapes(*outside))
    except ValueError:  # PyTorch's broadcast message, a RuntimeError
        k = next(k for k in range(1, min(map(len, outside)) + 1) if outside[0][-k] not in (1, outside[1][-k])
                 and outside[1][-k] != 1)
        raise ArgumentError(f"The size of tensor a ({outside[0][-k]}) must match the size of tensor b "
                            f"({outside[1][-k]}) at non-singleton dimension {max(map(len, outside)) - k}") from None
    xs, isz = list(shape), list(shape)
    xs[d], isz[d] = input.shape[d], indices.shape[d]
    idx = indices._data if hasattr(indices, "_data") else np.asarray(indices)
    if idx.size and idx.min() < 0:  # PyTorch wraps negative indices here (unlike gather)
        n = input.shape[d]
        if idx.min() < -n:
            raise ArgumentError(f"index {int(idx.min())} is out of bounds for dimension {d} with size {n}")
        indices = _wrap(np.where(idx < 0, idx + n, idx))
    return gather(input.expand(*xs), d, indices.expand(*isz).contiguous())


def _of_0d(fn, input, dim, index, src, *args, **kwargs):
    """A scatter into a 0-d tensor, as PyTorch's: on its one element as a 1-element tensor (dim 0 or -1), the
    index and a tensor src of at most one dim flattened the same way; the result 0-d again."""
    _dims.wrap(dim, 0)
    flat = (lambda t: t.reshape(-1) if hasattr(t, "_data") else t)
    one = input.reshape(1).clone()  # (a copy: the in-place forms write into input, which the scatter may save)
    return fn(one, 0, flat(index), flat(src), *args, **kwargs).reshape(())


def _src(input, src, name: str):
    """The src of a scatter: a tensor of input's dtype (PyTorch requires equal dtypes) or a number."""
    if hasattr(src, "_data"):
        if src._data.dtype != input._data.dtype:
            raise ArgumentTypeError(f"{name}(): Expected self.dtype to be equal to src.dtype")
        return src
    if isinstance(src, (numbers.Number, np.generic)):  # (through numpy_call: a compiled step makes it at every call)
        return ops.numpy_call(np.asarray, src, input._data.dtype)
    raise TypeError(f"src: expected a Tensor or a number, got {type(src).__name__}")


def scatter(input, dim: int, index, src=None, *, value=None, reduce=None):
    """input with src (a tensor, or a number ``value``) written at ``index`` along ``dim``; ``reduce`` 'add' or
    'multiply' accumulates instead (as scatter_reduce with include_self)."""
    src = value if src is None else src
    if input.ndim == 0:
        return _of_0d(scatter, input, dim, index, src, reduce=reduce)
    src = _src(input, src, "scatter")
    idx = _index_array(index, "scatter")
    src_arr = getattr(src, "_data", None)
    d = _check_gather_shapes(input, dim, idx, "scatter", src=src_arr if src_arr is not None and src_arr.ndim else None)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise ArgumentError("reduce argument must be either add or multiply.")
        if src_arr is not None:
            warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated and will be removed in a "
                          "future PyTorch release. Use torch.scatter_reduce instead for more reduction options.",
                          UserWarning, stacklevel=2)
        full = src if src_arr is not None else _wrap(np.broadcast_to(src, idx.shape).copy())
        return scatter_reduce(input, d, index, full, "sum" if reduce == "add" else "prod")
    return ops_index.Scatter.apply(input, src, index=idx, dim=d)


def scatter_add(input, dim: int, index, src):
    """input with src's values added at ``index`` along ``dim`` (in index order: deterministic)."""
    if input.ndim == 0:
        return _of_0d(scatter_add, input, dim, index, src)
    src = _src(input, src, "scatter_add")
    idx = _index_array(index, "scatter_add")
    d = _check_gather_shapes(input, dim, idx, "scatter_add", src=src._data)
    if input._data.dtype.kind == "b":  # bool addition is a logical or
        return scatter_add(input.to(np.int64), d, index, src.to(np.int64)) != 0
    return ops_index.ScatterAdd.apply(input, src, index=idx, dim=d)


_REDUCES = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input, dim: int, index, src, reduce: str, *, include_self: bool = True):
    """input with src reduced into it at ``index`` along ``dim``: 'sum', 'prod', 'mean', 'amax' or 'amin';
    ``include_self=False`` leaves input's values at the written positions out of the reduction. 'max' and 'min'
    (torch_scatter's names, which PyTorch's forward takes too) are 'amax' and 'amin'."""
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce) if isinstance(reduce, str) else reduce
    if reduce not in _REDUCES:
        raise ArgumentError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if input.ndim == 0:
        return _of_0d(scatter_reduce, input, dim, index, src, reduce, include_self=include_self)
    src = _src(input, src, "scatter_reduce")
    idx = _index_array(index, "scatter_reduce")
    d = _check_gather_shapes(input, dim, idx, "scatter_reduce", src=src._data)
    if input._data.dtype == np.bool_:  # bool: or (sum, amax) / and (prod, amin) through int64, as PyTorch
        if reduce == "mean":
            raise DtypeNotSupportedError("\"scatter_gather_tensor_cpu_reduce_mean\" not implemented for 'Bool'")
        out = ops_index.ScatterReduce.apply(input.to(np.int64), src.to(np.int64), index=idx, dim=d,
                                            reduce=reduce, include_self=bool(include_self))
        return out != 0
    return ops_index.ScatterReduce.apply(input, src, index=idx, dim=d, reduce=reduce, include_self=bool(include_self))


_WARNED_INDEX_REDUCE: list = []  # not empty once index_reduce has given PyTorch's beta warning


def index_reduce(input, dim: int, index, source, reduce: str, *, include_self: bool = True):
    """input with source's slices reduced into it at the positions ``index`` (1-D) names along ``dim``:
    'prod', 'mean', 'amax' or 'amin' (PyTorch's index_reduce; a scatter_reduce with the index spread over
    source's other dims)."""
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise ArgumentError(f"reduce argument must be either prod, mean, amax or amin, got {reduce}")
    if not _WARNED_INDEX_REDUCE:  # (PyTorch's TORCH_WARN_ONCE: once per process)
        _WARNED_INDEX_REDUCE.append(True)
        warnings.warn("index_reduce() is in beta and the API may change at any time.", UserWarning,
                      stacklevel=user_stacklevel())
    if input.ndim == 0:
        return _of_0d(index_reduce, input, dim, index, source, reduce, include_self=include_self)
    idx = _index_array(index, "index_reduce", ("int64", "int32"))
    if idx.ndim > 1:
        raise IndexError("index_reduce_(): Index is supposed to be a vector")
    idx = idx.reshape(-1)
    d = _dims.wrap(dim, input.ndim)
    if idx.size and (idx.min() < 0 or idx.max() >= (input.shape[d] if input.ndim else 1)):
        raise ArgumentIndexError("index out of range in self")  # (PyTorch's: no position from the end)
    if source.ndim != input.ndim or source.shape[d] != idx.size:
        raise ArgumentError(f"index_reduce_(): source of shape {tuple(source.shape)} does not match index of size "
                            f"{idx.size} along dim {d} of input of shape {tuple(input.shape)}")
    shape = [1] * source.ndim
    shape[d] = idx.size
    spread = np.broadcast_to(idx.reshape(shape), source.shape).astype(np.int64)
    return scatter_reduce(input, d, _wrap(spread), source, reduce, include_self=include_self)


def index_select(input, dim: int, index, *, out=None):
    """input's slices at ``index`` (1-D int64/int32) along ``dim``."""
    idx = _index_array(index, "index_select", ("int64", "int32"))
    if idx.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    d = _dims.wrap(dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    flat = ops.numpy_call(_checked_index, idx, n, "index out of range in self")
    res = ops_index.IndexSelect.apply(input, index=flat, dim=d, shape=input.shape)
    return _out.write(res.reshape(()) if input.ndim == 0 else res, out)


# The index arrays the primitives take, made and range-checked through numpy_call: a compiled step makes
# and checks them again at every replay (they are values, not constants).

def _checked_index(idx: np.ndarray, n: int, message: str) -> np.ndarray:
    """idx flattened to int64, every entry in [0, n) or IndexError(message)."""
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(message)
    return idx.reshape(-1).astype(np.int64)


def _index_in_bounds(idx: np.ndarray, n: int, d: int) -> np.ndarray:
    """index_add's index flattened to int64, every entry in [0, n) (PyTorch counts none from the end), else
    PyTorch's error (a RuntimeError there; an IndexError too)."""
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        raise ArgumentIndexError(f"index {int(idx.reshape(-1)[np.argmax(bad.reshape(-1))])} is out of bounds for "
                                 f"dimension {d} with size {n}")
    return idx.reshape(-1).astype(np.int64)


def _wrapped_index(idx: np.ndarray, n: int) -> np.ndarray:
    """take's index: negative entries count from the end; flattened to int64."""
    wrapped = np.where(idx < 0, idx + n, idx)
    if wrapped.size and (wrapped.min() < 0 or wrapped.max() >= n):
        raise IndexError(f"out of range: tried to access index {int(idx.flat[np.argmax((wrapped < 0) | (wrapped >= n))])}"
                         f" on a tensor of {n} elements.")
    return wrapped.reshape(-1).astype(np.int64)


def _fill_mask(idx: np.ndarray, d: int, n: int, shape: tuple) -> np.ndarray:
    """index_fill's mask: True at the slices ``idx`` (negative ones from the end) of dim ``d`` (n long)."""
    flat = idx.reshape(-1)
    bad = (flat < -n) | (flat >= n)
    if bad.any():
        raise IndexError(f"index {int(flat[np.argmax(bad)])} is out of bounds for dimension {d} with size {n}")
    mask = np.zeros(n, dtype=bool)
    mask[flat] = True
    return mask.reshape(shape)


def index_add(input, dim: int, index, source, *, alpha=1):
    """input with alpha * source's slices added at ``index`` (1-D) along ``dim``, in order. PyTorch's checks,
    in its order: a vector index of int64/int32, source of input's dtype, ``dim`` within source, one index
    per slice of source, and source's shape input's outside ``dim`` (no broadcasting)."""
    arr = index._data if hasattr(index, "_data") else np.asarray(index)
    if arr.ndim > 1:
        raise ArgumentIndexError(f"index_add_(): Index is supposed to be a vector, but got dim: {arr.ndim} with type: "
                                 f"{_scalar_name(arr.dtype)} and size: {list(arr.shape)}")
    if arr.dtype not in (np.int64, np.int32):
        raise ArgumentTypeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                                f"{_scalar_name(arr.dtype)}")
    raw = _index_array(index, "index_add", ("int64", "int32"))
    d = _dims.wrap(dim, input.ndim)
    if hasattr(source, "_data") and source._data.dtype != input._data.dtype:  # PyTorch refuses a silent cast
        raise ArgumentTypeError(f"index_add_(): self ({_scalar_name(input._data.dtype)}) and source "
                                f"({_scalar_name(source._data.dtype)}) must have the same scalar type")
    source = cast(source, input._data.dtype)
    n = input.shape[d] if input.ndim else 1
    if d != 0 and d >= source.ndim:
        raise ArgumentError(f"index_add_(): Indexing dim {d} is out of bounds of the source tensor with dim "
                            f"{source.ndim}")
    if raw.size != (source.shape[d] if source.ndim else 1):
        raise ArgumentError(f"index_add_(): Number of indices ({raw.size}) should be equal to source.size(dim): "
                            f"({source.shape[d] if source.ndim else 1}), for dim: {d}")
    outside = [s for k, s in enumerate(input.shape) if k != d], [s for k, s in enumerate(source.shape) if k != d]
    if source.ndim != input.ndim or outside[0] != outside[1]:
        raise ArgumentError(f"source tensor shape must match self tensor shape, excluding the specified dimension. "
                            f"Got self.shape = {list(input.shape)} source.shape = {list(source.shape)}")
    idx = ops.numpy_call(_index_in_bounds, raw, n, d)
    if input._data.dtype.kind == "b" or input._data.dtype.itemsize < 4:
        res = index_add(input.to(np.int64), d, _wrap(idx), source.to(np.int64), alpha=alpha)
        return res.to(input._data.dtype) if input._data.dtype.kind != "b" else res != 0
    return ops_index.IndexAdd.apply(input, source, index=idx, dim=d, alpha=alpha)


def index_fill(input, dim: int, index, value):
    """input with the slices at ``index`` along ``dim`` set to ``value``."""
    idx = _index_array(index, "index_fill", ("int64", "int32"))
    d = _dims.wrap(dim, input.ndim)
    n = input.shape[d] if input.ndim else 1
    shape = [1] * input.ndim
    if input.ndim:
        shape[d] = n
    return masked_fill(input, _wrap(ops.numpy_call(_fill_mask, idx, d, n, tuple(shape))), value)


def masked_fill(input, mask, value):
    """input with ``value`` (a number or a 0-d tensor, differentiable) where the bool ``mask`` is true."""
    m = mask._data if hasattr(mask, "_data") else np.asarray(mask)
    if m.dtype != np.bool_:
        raise ArgumentTypeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {_c_name(m.dtype)}")
    if hasattr(value, "_data"):
        if value.ndim != 0:
            raise ArgumentError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        _check_fits(value._data, input._data.dtype)
        value = cast(value, input._data.dtype)
    elif not isinstance(value, (numbers.Number, np.generic)):
        raise TypeError(f"value: expected a number or a 0-d Tensor, got {type(value).__name__}")
    else:
        _check_fits(value, input._data.dtype)
    try:
        np.broadcast_shapes(m.shape, input._data.shape)
    except ValueError:  # PyTorch's message, the mask as tensor a (NumPy's is a plain ValueError)
        from eigengrad.autograd.function import _broadcast_error
        raise _broadcast_error([m, input._data]) from None
    return ops_index.MaskedFill.apply(input, value, mask=m)


def _check_fits(value, dtype) -> None:
    """PyTorch refuses to fill an integer tensor with NaN, an infinity or a number out of its range (NumPy's
    cast would write INT64_MIN silently)."""
    dtype = np.dtype(dtype)
    v = np.asarray(value)
    if dtype.kind not in "iu" or v.dtype.kind not in "fc" or isinstance(value, bool):
        return
    x = complex(v.item()).real
    info = np.iinfo(dtype)
    if not np.isfinite(x) or not info.min <= x <= info.max:
        raise ArgumentError(f"value cannot be converted to type {dtype.name}_t without overflow")


def _scalar_name(dt) -> str:
    """PyTorch's ScalarType name (Float, Double, Long...) as its dtype messages print it."""
    from eigengrad.autograd.inplace import _torch_name

    return _torch_name(dt)


_c_name = _dtype.c_type_name  # PyTorch's C++ dtype names in messages


def masked_select(input, mask, *, out=None):
    """The elements where ``mask`` is true (broadcast together), as a 1-D tensor."""
    m = mask._data if hasattr(mask, "_data") else np.asarray(mask)
    if m.dtype != np.bool_:
        raise ArgumentTypeError(f"masked_select: expected BoolTensor for mask, got {_c_name(m.dtype)}")
    return _out.write(ops_index.MaskedSelect.apply(input, mask=m, x_shape=input.shape), out)


def masked_scatter(input, mask, source):
    """input with the elements where ``mask`` is true replaced, in order, by the first elements of ``source``."""
    m = mask._data if hasattr(mask, "_data") else np.asarray(mask)
    if hasattr(source, "_data") and source._data.dtype != input._data.dtype:
        raise ArgumentTypeError(f"masked_scatter: expected self and source to have same dtypes but got"
                                f"{_scalar_name(input._data.dtype)} and {_scalar_name(source._data.dtype)}")
    shape = np.broadcast_shapes(input.shape, m.shape)
    full = np.broadcast_to(m, shape)
    _trace.reject("masked_scatter() inside the step: how much of the source it takes depends on the mask's values")
    k = int(full.sum())
    flat_src = source.reshape(-1)
    if flat_src.shape[0] < k:
        raise ArgumentError("masked_scatter: expected source to have at least as many elements as ones in mask")
    result = (input.expand(*shape) if tuple(shape) != input.shape else input).clone().contiguous()  # (view(-1))
    result.view(-1)[_wrap(np.ascontiguousarray(full).reshape(-1))] = flat_src[:k]  # (flat: a 0-d input too)
    return result


def where(condition, input=None, other=None, *, out=None):
    """``input`` where the bool ``condition`` is true, else ``other`` (broadcast; numbers allowed, promoted as
    PyTorch); ``where(condition)`` is ``nonzero(condition, as_tuple=True)``."""
    cond = condition._data if hasattr(condition, "_data") else np.asarray(condition)
    if input is None and other is None:
        return nonzero(_wrap(cond), as_tuple=True)
    if cond.dtype == np.uint8:  # PyTorch's deprecated uint8 condition: nonzero is true
        warnings.warn("where received a uint8 condition tensor. This behavior is deprecated and will be removed in a "
                      "future version of PyTorch. Use a boolean condition instead.", UserWarning, stacklevel=user_stacklevel())
        cond = cond != 0
    if cond.dtype != np.bool_:
        raise ArgumentTypeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype "
                           f"{_torch_name(cond.dtype)}")
    a, b = operand(input), operand(other)
    dt = result_dtype(a, b)
    return _out.write(ops_combine.Where.apply(_as_arg(a, dt), _as_arg(b, dt), condition=cond), out)


def _where_method(self, condition, other):
    """``x.where(condition, other)``: ``where(condition, x, other)``."""
    return where(condition, self, other)


def _as_arg(o, dt):
    o = cast(o, dt)
    if hasattr(o, "_data"):
        return o
    if isinstance(o, (numbers.Number, np.generic)):  # (through numpy_call: a compiled step makes it at every call)
        return ops.numpy_call(np.asarray, o, dt)
    return np.asarray(o, dtype=dt)


def _torch_name(dt) -> str:
    from eigengrad.autograd.inplace import _torch_name as name

    return name(dt)


def nonzero(input, *, as_tuple: bool = False, out=None):
    """The indices of the nonzero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
    _trace.reject("nonzero() (or argwhere(), where(condition)) inside the step: its result's shape depends on "
                  "the values")
    data = input._data
    if as_tuple:
        if data.ndim == 0:
            return (_wrap(np.flatnonzero(data.reshape(1)).astype(np.int64)),)
        return tuple(_wrap(i.astype(np.int64)) for i in np.nonzero(data))
    if data.ndim == 0:
        return _out.write(_wrap(np.zeros((int(bool(data)), 0), dtype=np.int64)), out)
    return _out.write(_wrap(np.argwhere(data).astype(np.int64)), out)


def argwhere(input):
    return nonzero(input)


def take(input, index):
    """The elements of the flattened input at ``index`` (any shape)."""
    idx = _index_array(index, "take")
    n = input._data.size
    flat = input.reshape(-1)
    wrapped = ops.numpy_call(_wrapped_index, idx, n)
    return ops_index.IndexSelect.apply(flat, index=wrapped, dim=0, shape=flat.shape).reshape(*idx.shape)


INPLACE = {n + "_": inplace.method(n, globals()[n]) for n in (
    "scatter", "scatter_add", "scatter_reduce", "index_add", "index_fill", "masked_fill", "masked_scatter",
    "index_reduce")}
globals().update(INPLACE)

METHODS = ("gather", "take_along_dim", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
           "index_fill", "masked_fill", "masked_select", "masked_scatter", "where", "nonzero", "argwhere",
           "take", "index_reduce") + tuple(INPLACE)
FUNCTIONS = tuple(n for n in METHODS if not n.endswith("_"))
METHOD_FORMS = {"where": _where_method}
