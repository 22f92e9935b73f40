"""``Tensor``: a NumPy array with reverse-mode automatic differentiation (define-by-run).

A tensor holds its array (``numpy()`` returns it without a copy), whether it ``requires_grad``, its
accumulated ``grad`` (a Tensor) and, when an operation produced it while the graph was recorded,
the context of that operation. Arrays that eigengrad creates are C-contiguous; ``from_numpy`` shares
the user's array as it is, and the kernels copy a strided input once (never an output).
"""
from __future__ import annotations

import builtins
import operator
from collections import namedtuple
from typing import Sequence

import numpy as np

from eigengrad import _kernels, _trace
from eigengrad._dims import wrap_dim
from eigengrad._kernels import FLOAT_DTYPES

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)

_DEFAULT_FLOAT = float32

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def get_default_dtype() -> np.dtype:
    return _DEFAULT_FLOAT


def _check_dtype(dtype) -> np.dtype | None:
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype: expected a NumPy dtype such as eigengrad.float32, got {dtype!r}") from None


def _to_array(data, dtype=None, copy=True) -> np.ndarray:
    """Convert ``data`` (Tensor, array, scalar or nested sequence) to an array; Python floats become
    the default float dtype (float32), as in PyTorch."""
    dtype = _check_dtype(dtype)
    if isinstance(data, Tensor):
        data = data._data
    if isinstance(data, np.generic):  # a NumPy scalar keeps its dtype, as an array does
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        _check_numeric(data.dtype, "data")
        # copy=None: copy only when needed (NumPy 2 raises for copy=False when a dtype change needs one)
        return np.array(data, dtype=dtype, copy=True if copy else None, order="K" if not copy else "C")
    arr = np.array(data, dtype=dtype)
    if dtype is None and arr.dtype == np.float64:
        arr = arr.astype(_DEFAULT_FLOAT)
    if arr.dtype == object:
        raise TypeError(f"data: could not build a numeric tensor from {type(data).__name__}")
    _check_numeric(arr.dtype, "data")
    return arr


def _check_numeric(dtype: np.dtype, name: str) -> None:
    """Tensors hold bools and numbers (as PyTorch's): strings, bytes, dates and records are refused."""
    if dtype.kind not in "biufc":
        raise TypeError(f"{name}: expected numbers or bools, got dtype {dtype}")


class Tensor:
    """An n-dimensional array that records the operations applied to it for backpropagation."""

    # _counter: the version counter (None until needed, see autograd.version); _view: what a view knows
    # about its base (autograd.views); _arena: a weak reference to the optimizer arena that holds this
    # tensor's gradient slot (optim.arena).
    __slots__ = ("_data", "grad", "requires_grad", "_ctx", "_counter", "_view", "_arena", "_retains_grad",
                 "__weakref__")
    __array_ufunc__ = None  # ndarray <op> Tensor defers to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False, dtype=None) -> None:
        arr = data._data if isinstance(data, Tensor) else data
        if not isinstance(arr, np.ndarray) or dtype is not None:
            arr = _to_array(arr, dtype=dtype, copy=False)
        self._init(arr, requires_grad)

    def _init(self, arr: np.ndarray, requires_grad: bool) -> None:
        self._data = arr
        self.grad = None
        self._ctx = self._counter = self._view = self._arena = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, arr, requires_grad: bool = False) -> "Tensor":
        """Fast internal constructor around an array the caller owns (the hot path of every op)."""
        t = object.__new__(cls)
        t._data = arr if type(arr) is np.ndarray else np.asarray(arr)
        t.grad = t._ctx = t._counter = t._view = t._arena = None
        t._retains_grad = False
        t.requires_grad = False
        if requires_grad:
            t.requires_grad_(True)  # checks the dtype: only float tensors can require grad
        return t

    # --- array access -----------------------------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's array, detached from the graph and with its own version counter (as
        ``torch.Tensor.data``: changes through it are not seen by autograd; ``p.data -= lr * g`` updates p)."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value) -> None:
        """``p.data = other``: p now uses other's array (shared, as in PyTorch); p's graph role is unchanged."""
        arr = value._data if isinstance(value, Tensor) else value
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"data: expected a Tensor or numpy array, got {type(value).__name__}")
        self._data = arr

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has had (shared by its views; ``torch``'s ``_version``)."""
        return version_of(self)

    @property
    def _base(self):
        """The tensor this one is a view of, or None (``torch.Tensor._base``)."""
        return None if self._view is None else self._view.base

    def numpy(self) -> np.ndarray:
        """The underlying array (no copy: writes to it change the tensor)."""
        if _trace.ACTIVE[0] is not None:
            _trace.reject(".numpy() inside the step (its values leave the recorded kernels)")
        return self._data

    def __array__(self, dtype=None, copy=None):
        if _trace.ACTIVE[0] is not None:
            _trace.reject("a tensor converted to a NumPy array (np.asarray(tensor)) inside the step")
        if dtype is not None and np.dtype(dtype) != self._data.dtype:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item: only a one-element tensor converts to a Python scalar, got shape {self.shape}")
        if _trace.ACTIVE[0] is not None:
            _trace.reject(".item() (or float()/int()) inside the step: a Python value read from a tensor")
        return self._data.item()

    def tolist(self):
        if _trace.ACTIVE[0] is not None:
            _trace.reject(".tolist() inside the step: Python values read from a tensor")
        return self._data.tolist()

    @property
    def shape(self) -> tuple:
        return self._data.shape

    def size(self, dim: int | None = None):
        return self._data.shape if dim is None else self._data.shape[dim]

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    # --- autograd ---------------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self._data.dtype not in FLOAT_DTYPES:
            raise TypeError(f"requires_grad: only float32/float64 tensors can require gradients, got {self.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad: cannot turn it off on a non-leaf tensor; use detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``grad`` on this non-leaf tensor after backward."""
        self._retains_grad = True
        engine.retain(self)

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad and self._ctx is not None

    def detach(self) -> "Tensor":
        """A tensor sharing this one's array and version counter, outside the graph (as PyTorch: an in-place
        change through it is seen by the version checks of backward)."""
        t = Tensor._wrap(self._data)
        t._counter = counter_of(self)
        return t

    def clone(self) -> "Tensor":
        return ops.Add.apply(self, 0) if self.requires_grad else Tensor._wrap(self._data.copy())

    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``grad``.

        Args:
            gradient: d(something)/d(self); may be omitted only for a one-element tensor (then 1).
            retain_graph: keep the saved arrays so backward can run through the graph again.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: the tensor does not require grad and has no grad_fn")
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(f"backward: grad can be implicitly created only for scalar outputs, got shape {self.shape}")
            grad = _kernels.ones_like(self._data)
        else:
            grad = np.asarray(gradient._data if isinstance(gradient, Tensor) else gradient, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"gradient: expected shape {self.shape}, got {grad.shape}")
        engine.backward(self, grad, retain_graph=retain_graph)

    # --- in-place operations (autograd/inplace.py: PyTorch's rules, autograd, version counter) -----
    def __iadd__(self, o): return inplace.arithmetic(self, "add_", o)
    def __isub__(self, o): return inplace.arithmetic(self, "sub_", o)
    def __imul__(self, o): return inplace.arithmetic(self, "mul_", o)
    def __itruediv__(self, o): return inplace.arithmetic(self, "div_", o)

    def add_(self, other, *, alpha=1) -> "Tensor":
        """self += alpha * other, in place."""
        return inplace.arithmetic(self, "add_", other, alpha)

    def sub_(self, other, *, alpha=1) -> "Tensor":
        """self -= alpha * other, in place."""
        return inplace.arithmetic(self, "sub_", other, alpha)

    def mul_(self, other) -> "Tensor":
        return inplace.arithmetic(self, "mul_", other)

    def div_(self, other) -> "Tensor":
        return inplace.arithmetic(self, "div_", other)

    def zero_(self) -> "Tensor":
        return inplace.fill(self, 0, "zero_")

    def fill_(self, value) -> "Tensor":
        return inplace.fill(self, value)

    def copy_(self, src, non_blocking: bool = False) -> "Tensor":
        """Copy ``src`` (broadcast, cast to this dtype) into this tensor; differentiable w.r.t. ``src``."""
        return inplace.copy(self, src)

    def clamp_(self, min=None, max=None) -> "Tensor":
        return inplace.clamp(self, min, max)

    def clamp(self, min=None, max=None) -> "Tensor":
        """min(max(self, min), max) (``max`` wins when min > max; NaN stays NaN), as ``torch.clamp``."""
        lo, hi = inplace.clamp_bounds(min, max)
        x = self
        if self.dtype.kind in "iub" and any(isinstance(b, builtins_float) for b in (lo, hi)):
            x = self.to(_DEFAULT_FLOAT)
        return ops_inplace.Clamp.apply(x, lo, hi)

    clip, clip_ = clamp, clamp_

    def __setitem__(self, index, value) -> None:
        """``self[index] = value`` (basic or advanced indexing; value a Tensor, array or number, broadcast
        and cast); differentiable w.r.t. this tensor's earlier value and ``value``."""
        inplace.setitem(self, _index(index), value)

    def __getstate__(self):
        """Pickled: everything but the link to an optimizer's arena (a process-local weak reference)."""
        slots = {k: getattr(self, k) for k in ("_data", "grad", "requires_grad", "_ctx", "_counter", "_view",
                                               "_retains_grad")}
        return getattr(self, "__dict__", None), slots

    def __setstate__(self, state) -> None:
        extra, slots = state
        for k, v in slots.items():
            setattr(self, k, v)
        self._arena = None
        if extra:
            self.__dict__.update(extra)

    def __deepcopy__(self, memo) -> "Tensor":
        """A copy with its own memory and version, outside any optimizer's arena (the graph is copied)."""
        import copy

        t = object.__new__(type(self))
        memo[id(self)] = t
        t._data = copy.deepcopy(self._data, memo)
        t.grad = copy.deepcopy(self.grad, memo)
        t.requires_grad = self.requires_grad
        t._ctx = copy.deepcopy(self._ctx, memo)
        t._retains_grad = self._retains_grad
        t._counter = t._view = t._arena = None
        if hasattr(self, "__dict__"):  # subclasses without __slots__ (Parameter) may carry attributes
            t.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return t

    # --- dtype ------------------------------------------------------------------------------------
    def to(self, dtype) -> "Tensor":
        dtype = _check_dtype(dtype)
        if dtype == self.dtype:
            return self
        if self.requires_grad and dtype in FLOAT_DTYPES:
            return ops.Cast.apply(self, dtype=dtype)
        return Tensor._wrap(self._data.astype(dtype))

    def float(self) -> "Tensor":
        return self.to(float32)

    def double(self) -> "Tensor":
        return self.to(float64)

    def long(self) -> "Tensor":
        return self.to(int64)

    # --- arithmetic -------------------------------------------------------------------------------
    def __add__(self, o): return _binary(ops.Add, self, o)
    def __radd__(self, o): return _binary(ops.Add, o, self)
    def __sub__(self, o): return _binary(ops.Sub, self, o)
    def __rsub__(self, o): return _binary(ops.Sub, o, self)
    def __mul__(self, o): return _binary(ops.Mul, self, o)
    def __rmul__(self, o): return _binary(ops.Mul, o, self)
    def __truediv__(self, o): return _binary(ops.Div, self, o)
    def __rtruediv__(self, o): return _binary(ops.Div, o, self)
    def __pow__(self, o): return _binary(ops.Pow, self, o)
    def __rpow__(self, o): return _binary(ops.Pow, o, self)
    def __matmul__(self, o): return _binary(ops.MatMul, self, o)
    def __rmatmul__(self, o): return _binary(ops.MatMul, o, self)
    def __neg__(self): return ops.Neg.apply(self)
    def __pos__(self): return self

    def add(self, o): return self + o
    def sub(self, o): return self - o
    def mul(self, o): return self * o
    def div(self, o): return self / o
    def pow(self, o): return self ** o
    def matmul(self, o): return self @ o
    def neg(self): return -self

    def exp(self): return ops.Exp.apply(self)
    def log(self): return ops.Log.apply(self)
    def sqrt(self): return ops.Sqrt.apply(self)
    def abs(self): return ops.Abs.apply(self)
    def relu(self): return ops.ReLU.apply(self)
    def sigmoid(self): return ops.Sigmoid.apply(self)
    def tanh(self): return ops.Tanh.apply(self)
    def maximum(self, o): return _binary(ops.Maximum, self, o)

    def _check_float(self, op: str) -> None:
        if self.dtype not in FLOAT_DTYPES:  # integer arithmetic would wrap (x - max of a uint8 tensor)
            raise TypeError(f"{op}: expected a float32 or float64 tensor, got dtype {self.dtype}")

    def softmax(self, dim: int) -> "Tensor":
        self._check_float("softmax")
        wrap_dim(dim, self.ndim)
        if self.numel() == 0:  # nothing to normalise (amax of an empty dim has no value), as PyTorch
            return self[...]
        shifted = self - self.amax(dim, keepdim=True).detach()
        e = shifted.exp()
        return e / e.sum(dim, keepdim=True)

    def log_softmax(self, dim: int) -> "Tensor":
        self._check_float("log_softmax")
        wrap_dim(dim, self.ndim)
        if self.numel() == 0:
            return self[...]
        shifted = self - self.amax(dim, keepdim=True).detach()
        return shifted - shifted.exp().sum(dim, keepdim=True).log()

    # --- comparisons (no gradient) ----------------------------------------------------------------
    def _compare(self, o, fn) -> "Tensor":
        return Tensor._wrap(fn(self._data, o._data if isinstance(o, Tensor) else o))

    def __eq__(self, o): return self._compare(o, np.equal)
    def __ne__(self, o): return self._compare(o, np.not_equal)
    def __lt__(self, o): return self._compare(o, np.less)
    def __le__(self, o): return self._compare(o, np.less_equal)
    def __gt__(self, o): return self._compare(o, np.greater)
    def __ge__(self, o): return self._compare(o, np.greater_equal)
    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self._data.size} elements is ambiguous")
        if _trace.ACTIVE[0] is not None:
            _trace.reject("Python control flow on a tensor's value (bool(tensor), if tensor: ...) inside the step")
        return bool(self._data)

    def __float__(self): return builtins_float(self.item())
    def __int__(self): return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only one-element integer tensors can be used as an index")
        return int(self.item())

    # --- reductions -------------------------------------------------------------------------------
    def sum(self, dim=None, keepdim: bool = False, *, axis=None):
        return ops.Sum.apply(self, dim=_dim(dim, axis), keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False, *, axis=None):
        dim = _dim(dim, axis)
        axes = ops._axes(dim, self.ndim)
        count = int(np.prod([self.shape[a] for a in axes])) if axes else 1
        total = self.sum(dim, keepdim)
        return total / count if count else total * np.nan

    def amax(self, dim=None, keepdim: bool = False):
        return ops.Amax.apply(self, dim=dim, keepdim=keepdim)

    def amin(self, dim=None, keepdim: bool = False):
        if self.dtype.kind in "ub":  # -x wraps for unsigned ints and bools; these never require grad
            axes = ops._axes(dim, self.ndim)
            return Tensor._wrap(np.asarray(np.amin(self._data, axis=axes, keepdims=keepdim)))
        return -ops.Amax.apply(-self, dim=dim, keepdim=keepdim)

    def max(self, dim=None, keepdim: bool = False, *, axis=None):
        """The largest element, or with ``dim`` a ``(values, indices)`` pair as in PyTorch."""
        return self._extremum(_dim(dim, axis), keepdim, np.argmax, self.amax)

    def min(self, dim=None, keepdim: bool = False, *, axis=None):
        return self._extremum(_dim(dim, axis), keepdim, np.argmin, self.amin)

    def _extremum(self, dim, keepdim, arg, full):
        if dim is None:
            return full()
        dim = wrap_dim(dim, self.ndim)
        idx = np.expand_dims(arg(self._data, axis=dim), dim)
        values = ops.Gather.apply(self, idx, dim=dim)
        if not keepdim:
            values = values.squeeze(dim)
            idx = np.squeeze(idx, dim)
        return MaxResult(values, Tensor._wrap(idx.astype(np.int64)))

    def argmax(self, dim=None, keepdim: bool = False):
        return self._arg(np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim: bool = False):
        return self._arg(np.argmin, dim, keepdim)

    def _arg(self, fn, dim, keepdim):
        axis = None if dim is None or self.ndim == 0 else wrap_dim(dim, self.ndim)
        if dim is not None and self.ndim == 0:
            wrap_dim(dim, 0)
        return Tensor._wrap(np.asarray(fn(self._data, axis=axis, keepdims=keepdim), dtype=np.int64))

    # --- shape ------------------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = _shape_args(shape)
        return ops.Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return self.reshape(1)
        s, e = wrap_dim(start_dim, self.ndim, "start_dim"), wrap_dim(end_dim, self.ndim, "end_dim")
        if s > e:
            raise ValueError(f"flatten: start_dim {start_dim} cannot come after end_dim {end_dim}")
        merged = int(np.prod(self.shape[s:e + 1], dtype=np.int64))  # (not -1: the tensor may be empty)
        return self.reshape(*self.shape[:s], merged, *self.shape[e + 1:])

    def unsqueeze(self, dim: int):
        dim = wrap_dim(dim, self.ndim + 1)
        return self.reshape(*self.shape[:dim], 1, *self.shape[dim:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(*[n for n in self.shape if n != 1])
        dim = wrap_dim(dim, self.ndim)
        if self.ndim == 0 or self.shape[dim] != 1:
            return self
        return self.reshape(*self.shape[:dim], *self.shape[dim + 1:])

    def permute(self, *dims):
        return ops.Permute.apply(self, dims=_shape_args(dims))

    def transpose(self, dim0: int = 0, dim1: int = 1):
        dims = list(range(self.ndim))
        dim0, dim1 = wrap_dim(dim0, self.ndim, "dim0"), wrap_dim(dim1, self.ndim, "dim1")
        if self.ndim == 0:
            return self.permute()
        dims[dim0], dims[dim1] = dims[dim1], dims[dim0]
        return self.permute(*dims)

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    def t(self):
        if self.ndim > 2:
            raise ValueError(f"t(): expected a tensor of at most 2 dimensions, got {self.ndim}")
        return self.T

    def __getitem__(self, index):
        return ops.GetItem.apply(self, index=_index(index))

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="tensor(", threshold=1000)
        extras = []
        if self.dtype not in (float32, int64, bool_):
            extras.append(f"dtype=eigengrad.{self.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{self._ctx.name}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"


builtins_float = builtins.float


def _dim(dim, axis):
    if dim is not None and axis is not None:
        raise TypeError("pass either dim or axis, not both")
    return axis if dim is None else dim


def _shape_args(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(operator.index(s) for s in shape)


def _index(index):
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index


def _operand(o):
    """Tensors pass through; Python and NumPy scalars become Python scalars, which keep the tensor's
    dtype (float32 * 2.0 stays float32, as in PyTorch); anything else becomes an array constant."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (Tensor, int, builtins_float, bool, np.ndarray)):
        return o
    if isinstance(o, Sequence):
        return _to_array(o)
    raise TypeError(f"unsupported operand type: {type(o).__name__}")


def _binary(op, a, b) -> Tensor:
    """Apply a broadcasting binary primitive with PyTorch's promotion of integer tensors: an integer or
    bool tensor combined with a Python float gives the default float dtype (not NumPy's float64)."""
    a, b = _operand(a), _operand(b)
    if isinstance(a, Tensor) and isinstance(b, builtins_float) and a.dtype.kind in "iub":
        a = Tensor._wrap(a._data.astype(_DEFAULT_FLOAT))
    elif isinstance(b, Tensor) and isinstance(a, builtins_float) and b.dtype.kind in "iub":
        b = Tensor._wrap(b._data.astype(_DEFAULT_FLOAT))
    return op.apply(a, b)


# --- creation -------------------------------------------------------------------------------------

def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (like ``torch.tensor``). Python floats give float32;
    NumPy arrays keep their dtype; ints give int64."""
    return Tensor._wrap(_to_array(data, dtype=dtype, copy=True), requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor that shares ``array``'s memory (no copy): writes to one show in the other."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"array: expected a numpy.ndarray, got {type(array).__name__}")
    _check_numeric(array.dtype, "array")
    return Tensor._wrap(array)


def as_tensor(data, dtype=None) -> Tensor:
    """``data`` as a tensor, sharing memory when it already is an array of the right dtype."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    return Tensor._wrap(_to_array(data, dtype=dtype, copy=False))


def _sizes(size) -> tuple:
    return _shape_args(size)


def zeros(*size, dtype=None, requires_grad=False) -> Tensor:
    return Tensor._wrap(np.zeros(_sizes(size), dtype=_check_dtype(dtype) or _DEFAULT_FLOAT), requires_grad)


def ones(*size, dtype=None, requires_grad=False) -> Tensor:
    return Tensor._wrap(np.ones(_sizes(size), dtype=_check_dtype(dtype) or _DEFAULT_FLOAT), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; the dtype follows the value as in PyTorch
    (bool -> bool, int -> int64, float -> float32) unless given."""
    if dtype is None:
        dtype = bool_ if isinstance(fill_value, bool) else int64 if isinstance(fill_value, int) else _DEFAULT_FLOAT
    dtype = _check_dtype(dtype)
    try:
        data = np.full(_sizes((size,)), fill_value, dtype=dtype)
    except OverflowError:
        raise ValueError(f"fill_value: {fill_value} does not fit in dtype {dtype}") from None
    return Tensor._wrap(data, requires_grad)


def _tensor_arg(t, name: str = "input") -> "Tensor":
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: expected an eigengrad Tensor, got {type(t).__name__}")
    return t


def zeros_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    _tensor_arg(t)
    return Tensor._wrap(np.zeros(t.shape, dtype=_check_dtype(dtype) or t.dtype), requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad=False) -> Tensor:
    _tensor_arg(t)
    return Tensor._wrap(np.ones(t.shape, dtype=_check_dtype(dtype) or t.dtype), requires_grad)


def arange(start, end=None, step=1, dtype=None) -> Tensor:
    if end is None:
        start, end = 0, start
    arr = np.arange(start, end, step, dtype=_check_dtype(dtype))
    if dtype is None and arr.dtype == np.float64:
        arr = arr.astype(_DEFAULT_FLOAT)
    return Tensor._wrap(arr)


def rand(*size, generator=None, dtype=None, requires_grad=False) -> Tensor:
    """U[0, 1) samples from eigengrad's seeded generator."""
    out = np.empty(_sizes(size), dtype=_check_dtype(dtype) or _DEFAULT_FLOAT)
    _random.uniform_(out, 0.0, 1.0, generator)
    return Tensor._wrap(out, requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad=False) -> Tensor:
    """N(0, 1) samples from eigengrad's seeded generator."""
    out = np.empty(_sizes(size), dtype=_check_dtype(dtype) or _DEFAULT_FLOAT)
    _random.normal_(out, 0.0, 1.0, generator)
    return Tensor._wrap(out, requires_grad)


def randperm(n: int, generator=None) -> Tensor:
    """A random permutation of 0..n-1 (int64)."""
    return Tensor._wrap(_random.permutation(n, generator))


# Imported last: the primitives and the engine refer back to Tensor.
from eigengrad import random as _random  # noqa: E402
from eigengrad.autograd import engine, inplace, ops, ops_inplace  # noqa: E402
from eigengrad.autograd.version import counter_of, version_of  # noqa: E402
