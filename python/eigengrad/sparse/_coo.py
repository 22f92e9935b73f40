"""The sparse COO tensor (PyTorch's ``torch.sparse_coo`` layout): a ``(sparse_dim, nnz)`` int64 array of
indices and a dense tensor of ``values`` of shape ``(nnz, *dense_shape)``. The tensor it stands for is

    dense[i_1, ..., i_s, :] = sum of values[k] over the k with indices[:, k] == (i_1, ..., i_s)

(duplicate indices add up). ``coalesce()`` makes the indices unique and lexicographically sorted, summing
the values of duplicates; ``is_coalesced()`` says whether they are.

Autograd goes through the values tensor: every differentiable operation on a sparse tensor is written with
eigengrad's dense operations on its values (or, for the product, with ``_ops.SparseMM``), so a gradient
reaches the values, and from them whatever they were computed from (``sparse_coo_tensor(i, v)`` with ``v``
requiring grad, ``x.to_sparse()`` of a dense ``x``). The ``grad`` of a sparse leaf
(``sparse_coo_tensor(..., requires_grad=True)``) is a coalesced sparse tensor on its pattern, as PyTorch's
``torch.sparse.mm`` gives.

A sparse tensor is a ``Tensor`` (``isinstance(s, eigengrad.Tensor)`` holds, as in PyTorch) that has no
strided data: a method it does not define raises PyTorch's NotImplementedError ("Could not run 'aten::exp'
with arguments from the 'SparseCPU' backend"), and an operation that reads the data of its operands
(``torch.exp(s)``) raises a NotImplementedError that says to call ``to_dense()`` first.
"""
from __future__ import annotations

import math

import numpy as np

from eigengrad import _dtype
from eigengrad._device import check_device
from eigengrad._dims import wrap_dim
from eigengrad.tensor import Size, Tensor
from eigengrad.tensor_ops.sparse_methods import check_coo_layout, sparse_coo

_NO_STRIDED = ("this operation reads the strided (dense) data of its operand, and a sparse COO tensor has none: "
               "call .to_dense() first (eigengrad's sparse tensors support construction, coalesce, to_dense, "
               "sparse @ dense products, sums, softmax, and products with numbers and dense tensors)")


def unsupported(name: str) -> NotImplementedError:
    """PyTorch's error for an operator that has no sparse kernel."""
    return NotImplementedError(f"Could not run 'aten::{name}' with arguments from the 'SparseCPU' backend. "
                               f"eigengrad: {name} is not supported on sparse COO tensors; call .to_dense() first")


class _NoStridedData:
    """The ``_data`` of a sparse tensor: any use of it (an attribute, a conversion to an array) raises, so
    that an operation written for dense tensors cannot silently compute with it."""

    __slots__ = ()

    def __getattr__(self, name):
        raise NotImplementedError(_NO_STRIDED)

    def __array__(self, *args, **kwargs):
        raise NotImplementedError(_NO_STRIDED)

    def __len__(self):
        raise NotImplementedError(_NO_STRIDED)

    def __repr__(self) -> str:
        return "<the data of a sparse COO tensor: none>"


_NO_DATA = _NoStridedData()


def _is_number(x) -> bool:
    return isinstance(x, (int, float, bool, np.number, np.bool_))


class SparseTensor(Tensor):
    """A sparse COO tensor (``layout == eigengrad.sparse_coo``); build one with ``sparse_coo_tensor`` or
    ``Tensor.to_sparse``."""

    __slots__ = ("_idx", "_vals", "_shape", "_coal", "_plans")
    is_sparse = True

    @classmethod
    def _make(cls, idx: np.ndarray, vals: Tensor, shape, coalesced: bool) -> "SparseTensor":
        t = object.__new__(cls)
        t._data = _NO_DATA
        t._grad = t._ctx = t._counter = t._view = t._arena = t._hooks = None
        t._retains_grad = t._inference = False
        t._requires_grad = False
        t._idx, t._vals, t._shape = idx, vals, tuple(int(s) for s in shape)
        t._coal = bool(coalesced) or idx.shape[1] <= 1
        t._plans = None
        return t

    def _with_values(self, vals: Tensor, coalesced: bool | None = None) -> "SparseTensor":
        return SparseTensor._make(self._idx, vals, self._shape, self._coal if coalesced is None else coalesced)

    # --- shape, dtype, layout -----------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._shape)
        return self._shape[wrap_dim(dim, len(self._shape))]

    @property
    def dtype(self):
        return self._vals.dtype

    @property
    def ndim(self) -> int:
        return len(self._shape)

    def dim(self) -> int:
        return len(self._shape)

    ndimension = dim

    def numel(self) -> int:
        return math.prod(self._shape)

    nelement = numel

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError("len() of a 0-d tensor")
        return self._shape[0]

    @property
    def layout(self):
        return sparse_coo

    @property
    def itemsize(self) -> int:
        return self._vals.itemsize

    def element_size(self) -> int:
        return self._vals.element_size()

    def is_floating_point(self) -> bool:
        return self._vals.is_floating_point()

    def is_complex(self) -> bool:
        return False

    def is_contiguous(self, memory_format=None) -> bool:
        return False

    def get_device(self) -> int:
        return -1

    def sparse_dim(self) -> int:
        """The number of leading dimensions the indices address."""
        return self._idx.shape[0]

    def dense_dim(self) -> int:
        """The number of trailing dimensions held densely in each value."""
        return self._vals.ndim - 1

    def _nnz(self) -> int:
        """The number of stored values (duplicates counted)."""
        return self._idx.shape[1]

    def is_coalesced(self) -> bool:
        return self._coal

    # --- indices and values -------------------------------------------------------------------------------
    def _indices(self) -> Tensor:
        """The (sparse_dim, nnz) int64 indices as stored (shared, duplicates and order kept)."""
        return Tensor._wrap(self._idx)

    def _values(self) -> Tensor:
        """The values as stored, outside the graph (PyTorch's ``_values()`` is not differentiable)."""
        return self._vals.detach()

    def indices(self) -> Tensor:
        """The indices of a coalesced tensor (an uncoalesced one raises, as PyTorch)."""
        if not self._coal:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call .coalesce() first")
        return Tensor._wrap(self._idx)

    def values(self) -> Tensor:
        """The values of a coalesced tensor, differentiable (an uncoalesced one raises, as PyTorch)."""
        if not self._coal:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call .coalesce() first")
        return self._vals.view(self._vals.shape) if self._vals.requires_grad else self._vals

    def coalesce(self) -> "SparseTensor":
        """The same tensor with unique indices in lexicographic order, the values of duplicates summed (zeros
        are kept); a coalesced tensor is returned as it is."""
        if self._coal:
            return self
        order, starts, group = groups(self._idx)
        vals = segment_sum(self._vals, order, starts, group)
        return SparseTensor._make(self._idx[:, order[starts]], vals, self._shape, True)

    def to_dense(self, dtype=None, *, masked_grad=None) -> Tensor:
        """The dense tensor: zeros, plus every stored value added at its index (differentiable in the values)."""
        if dtype is not None:
            raise RuntimeError("dtype argument is not supported by sparse_to_dense")
        return scatter_dense(self._idx, self._vals, self._shape, self._coal)

    def to_sparse(self, sparse_dim=None, *, layout=None, blocksize=None, dense_dim=None) -> "SparseTensor":
        check_coo_layout(layout)
        if sparse_dim is not None and sparse_dim != self.sparse_dim():
            raise RuntimeError("to_sparse: conversion from Sparse to Sparse with sparse_dim argument "
                               "!=self.sparse_dim() is not supported")
        return self

    def to_sparse_coo(self) -> "SparseTensor":
        return self

    # --- autograd -----------------------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._vals._requires_grad

    @requires_grad.setter
    def requires_grad(self, value) -> None:
        self._vals.requires_grad = value

    def requires_grad_(self, requires_grad: bool = True) -> "SparseTensor":
        self._vals.requires_grad_(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self._vals._ctx is None

    @property
    def grad_fn(self):
        return self._vals._ctx

    @property
    def grad(self):
        """A sparse leaf's gradient: a coalesced sparse tensor on its pattern (None before a backward)."""
        g = self._vals._grad
        if g is None:
            return None
        order, starts, _ = groups(self._idx)
        first = order[starts]  # every duplicate of an index gets the same gradient: take the first one's
        return SparseTensor._make(self._idx[:, first], Tensor._wrap(g._data[first]), self._shape, True)

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            raise RuntimeError("eigengrad: only None can be assigned to the grad of a sparse tensor")
        self._vals._grad = None

    @property
    def data(self) -> "SparseTensor":
        return self._with_values(self._vals.detach())

    def detach(self) -> "SparseTensor":
        return self._with_values(self._vals.detach())

    def clone(self, *, memory_format=None) -> "SparseTensor":
        return SparseTensor._make(self._idx.copy(), self._vals.clone(), self._shape, self._coal)

    # --- dtype and device -----------------------------------------------------------------------------------
    def to(self, *args, **kwargs) -> "SparseTensor":
        """The tensor with its values cast to a dtype (a dtype, or a tensor whose dtype to take); the device
        may only be the CPU."""
        dtype, device = kwargs.pop("dtype", None), kwargs.pop("device", None)
        for key in ("non_blocking", "copy", "memory_format"):
            kwargs.pop(key, None)
        if kwargs:
            raise TypeError(f"to() got an unexpected keyword argument {next(iter(kwargs))!r}")
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str) or type(a).__name__ == "device":
                device = a
            else:
                dtype = a
        check_device(device)
        if dtype is None or _dtype.to_numpy(dtype) == self._vals._data.dtype:
            return self
        return self._with_values(self._vals.to(dtype))

    def float(self):
        return self.to(_dtype.float32)

    def double(self):
        return self.to(_dtype.float64)

    def long(self):
        return self.to(_dtype.int64)

    def int(self):
        return self.to(_dtype.int32)

    def cpu(self, memory_format=None):
        return self

    def type(self, dtype=None, non_blocking: bool = False, **kwargs):
        """Without an argument the legacy type name (``'torch.sparse.FloatTensor'``), else the tensor cast."""
        if dtype is None:
            from eigengrad.tensor_ops.conversion import LEGACY_TYPES

            np_dtype = self._vals._data.dtype
            name = next((n for n, d in LEGACY_TYPES.items() if np.dtype(d) == np_dtype), str(np_dtype))
            return f"torch.sparse.{name}"
        return self.to(dtype)

    # --- shape ---------------------------------------------------------------------------------------------------
    def transpose(self, dim0, dim1) -> "SparseTensor":
        """Two sparse dimensions swapped (their rows of the indices); the values are shared."""
        n, sd = len(self._shape), self.sparse_dim()
        d0, d1 = wrap_dim(dim0, n), wrap_dim(dim1, n)
        if d0 == d1:
            return self
        if d0 >= sd or d1 >= sd:
            raise RuntimeError(f"sparse transpose: transposed dimensions must be sparse Got sparse_dim: {sd}, "
                               f"d0: {d0}, d1: {d1}")
        idx = self._idx.copy()
        idx[[d0, d1]] = idx[[d1, d0]]
        shape = list(self._shape)
        shape[d0], shape[d1] = shape[d1], shape[d0]
        return SparseTensor._make(idx, self._vals, shape, False)

    def t(self) -> "SparseTensor":
        """The transpose of a matrix (<= 2 sparse and no dense dimensions)."""
        if self.sparse_dim() > 2 or self.dense_dim() > 0:
            raise RuntimeError(f"t() expects a tensor with <= 2 sparse and 0 dense dimensions, but got "
                               f"{self.sparse_dim()} sparse and {self.dense_dim()} dense dimensions")
        return self if len(self._shape) < 2 else self.transpose(0, 1)

    @property
    def T(self) -> "SparseTensor":
        if len(self._shape) > 2:
            raise unsupported("permute")
        return self.t()

    @property
    def mT(self) -> "SparseTensor":
        if len(self._shape) < 2:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. Got 1-D tensor.")
        return self.transpose(-2, -1)

    # --- products and reductions (eigengrad.sparse._ops) ----------------------------------------------------------
    def mm(self, mat2):
        from eigengrad.sparse import _ops

        return _ops.mm(self, mat2)

    def matmul(self, other):
        from eigengrad.sparse import _ops

        return _ops.matmul(self, other)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        from eigengrad.sparse import _ops

        return _ops.matmul(other, self)

    def sum(self, dim=None, keepdim: bool = False, dtype=None):
        """Over everything: a dense 0-d tensor; over some dims: a sparse tensor, or a dense one when every
        sparse dim is summed (``torch.sparse.sum``)."""
        from eigengrad.sparse import _ops

        return _ops.sparse_sum(self, dim, dtype=dtype, keepdim=keepdim)

    # --- elementwise ---------------------------------------------------------------------------------------------
    def add(self, other, *, alpha=1) -> "SparseTensor":
        """self + alpha * other for a sparse ``other`` of the same shape (the entries of both, concatenated;
        coalesced when both were)."""
        if not isinstance(other, SparseTensor):
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
        if self._shape != other._shape:
            raise RuntimeError(f"add: expected sizes of 'self' and 'other' to match, but {list(self._shape)} != "
                               f"{list(other._shape)}")
        if self.sparse_dim() != other.sparse_dim():
            raise RuntimeError(f"add: expected 'self' and 'other' to have same sparse dimensions, but got "
                               f"{self.sparse_dim()} and {other.sparse_dim()}")
        from eigengrad import cat, promote_types

        dt = promote_types(self.dtype, other.dtype)
        theirs = other._vals if alpha == 1 else other._vals * alpha
        vals = cat([self._vals.to(dt), theirs.to(dt)])
        out = SparseTensor._make(np.concatenate([self._idx, other._idx], axis=1), vals, self._shape, False)
        return out.coalesce() if self._coal and other._coal else out

    def sub(self, other, *, alpha=1) -> "SparseTensor":
        if not isinstance(other, SparseTensor):
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")
        return self.add(other, alpha=-alpha)

    def mul(self, other) -> "SparseTensor":
        """The product with a number or 0-d tensor (every value scaled), with a dense tensor that broadcasts
        to this shape (each value times the dense entries at its index) or with a sparse tensor of the same
        shape (the entries at the indices both hold): always sparse, as PyTorch."""
        if isinstance(other, SparseTensor):
            return _mul_sparse(self, other)
        if isinstance(other, Tensor) and other.ndim > 0:
            return _mul_dense(self, other)
        if isinstance(other, Tensor) or _is_number(other):
            return self._with_values(self._vals * other)
        return NotImplemented

    def div(self, other, *, rounding_mode=None) -> "SparseTensor":
        """Every value divided by a number or a 0-d dense tensor."""
        if isinstance(other, Tensor) and (other.is_sparse or other.ndim > 0):
            raise RuntimeError(f"Sparse division requires a scalar or zero-dim dense tensor divisor (got shape "
                               f"{list(other.shape)} for divisor)")
        if not (isinstance(other, Tensor) or _is_number(other)):
            return NotImplemented
        if rounding_mode is not None:
            c = self.coalesce()  # (not linear: on the summed values)
            return c._with_values(c._vals.div(other, rounding_mode=rounding_mode))
        return self._with_values(self._vals / other)

    def neg(self) -> "SparseTensor":
        return self._with_values(-self._vals)

    def pow(self, exponent) -> "SparseTensor":
        """The values of the coalesced tensor raised to a number (zeros stay zero for a positive exponent)."""
        if not _is_number(exponent):
            raise unsupported("pow.Tensor_Tensor")
        c = self.coalesce()
        return c._with_values(c._vals ** exponent)

    def __add__(self, other):
        return self.add(other)

    def __radd__(self, other):
        """dense + sparse: the dense sum (the same shapes, no broadcasting, as PyTorch)."""
        if isinstance(other, Tensor) and not isinstance(other, SparseTensor):
            return dense_plus_sparse(other, self)
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")

    def __sub__(self, other):
        return self.sub(other)

    def __rsub__(self, other):
        if isinstance(other, Tensor) and not isinstance(other, SparseTensor):
            return dense_plus_sparse(other, self, alpha=-1)
        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) instead.")

    def __mul__(self, other):
        return self.mul(other)

    def __rmul__(self, other):
        return self.mul(other)

    def __truediv__(self, other):
        return self.div(other)

    def __floordiv__(self, other):
        return self.div(other, rounding_mode="floor")

    def __rtruediv__(self, other):
        raise unsupported("reciprocal")

    def __neg__(self):
        return self.neg()

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __pow__(self, exponent):
        return self.pow(exponent)

    # --- Python protocols ------------------------------------------------------------------------------------------
    def __bool__(self) -> bool:
        if self.numel() != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self.to_dense())

    def item(self):
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to Scalar")
        return self.to_dense().item()

    def numpy(self, *, force: bool = False):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert Sparse layout tensor to numpy. Use Tensor.to_dense() first.")

    def tolist(self):
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")

    def __format__(self, format_spec: str) -> str:
        return object.__format__(self, format_spec)

    __hash__ = Tensor.__hash__

    def __reduce_ex__(self, protocol):
        return _rebuild, (self._idx, self._vals._data, self._shape, self._coal, self.requires_grad and self.is_leaf)

    def __deepcopy__(self, memo) -> "SparseTensor":
        out = _rebuild(self._idx.copy(), self._vals._data.copy(), self._shape, self._coal,
                       self.requires_grad and self.is_leaf)
        memo[id(self)] = out
        return out

    def __repr__(self) -> str:
        """PyTorch's form: ``tensor(indices=tensor(...), values=tensor(...), size=(..), nnz=.., layout=...)``."""
        from eigengrad import _printing
        from eigengrad.tensor import default_float

        indent = len("tensor(")
        parts = []
        for name, arr in (("indices", self._idx), ("values", self._vals._data)):
            prefix = f"{name}=tensor("
            text = _printing.format_array(arr, indent=indent + len(prefix))
            if arr.size == 0:
                text += f", size={tuple(arr.shape)}"
            parts.append(prefix + text + ")")
        body = "tensor(" + (",\n" + " " * indent).join(parts)
        suffixes = [f"size={tuple(self._shape)}", f"nnz={self._nnz()}"]
        if self._vals._data.dtype not in (default_float(), np.dtype(np.int64), np.dtype(np.bool_)):
            suffixes.append(f"dtype={self.dtype!r}")
        suffixes.append(f"layout={sparse_coo!r}")
        if self.grad_fn is not None:
            suffixes.append(f"grad_fn=<{self.grad_fn.name()}>")
        elif self.requires_grad:
            suffixes.append("requires_grad=True")
        # the first suffix starts a new line (PyTorch's force_newline for sparse tensors)
        head, rest = suffixes[0], suffixes[1:]
        return _printing.with_suffixes(body + ",\n" + " " * indent + head, rest, indent)

    __str__ = __repr__


def _rebuild(idx, vals, shape, coalesced, requires_grad) -> SparseTensor:
    return SparseTensor._make(np.asarray(idx), Tensor._wrap(np.asarray(vals), requires_grad), shape, coalesced)


# --- zero-preserving elementwise functions: applied to the values (of the coalesced tensor when not linear) ------
_UNARY = ("abs", "sqrt", "square", "sin", "sinh", "tan", "tanh", "asin", "asinh", "atan", "atanh", "relu", "sign",
          "sgn", "floor", "ceil", "round", "trunc", "frac", "expm1", "log1p", "erf", "erfinv", "deg2rad", "rad2deg",
          "signbit", "isnan", "isinf", "nan_to_num")


def _unary(name: str):
    def f(self, *args, **kwargs):
        c = self.coalesce()
        return c._with_values(getattr(c._vals, name)(*args, **kwargs))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``{name}`` of the values of the coalesced tensor (zero at the other entries: {name}(0) = 0)."
    return f


for _name in _UNARY:
    if hasattr(Tensor, _name):
        setattr(SparseTensor, _name, _unary(_name))


# --- every other Tensor method raises PyTorch's NotImplementedError ----------------------------------------------
_DUNDERS = ("__getitem__", "__setitem__", "__iter__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
            "__and__", "__rand__", "__or__", "__ror__", "__xor__", "__rxor__", "__invert__", "__lshift__",
            "__rlshift__", "__rshift__", "__rrshift__", "__rfloordiv__", "__mod__", "__rmod__",
            "__rpow__", "__iadd__", "__isub__", "__imul__", "__itruediv__", "__ipow__", "__imod__", "__ifloordiv__",
            "__iand__", "__ior__", "__ixor__", "__ilshift__", "__irshift__", "__float__", "__int__", "__index__")


def _stub(name: str):
    aten = {"__getitem__": "index.Tensor", "__setitem__": "index_put_", "__iter__": "unbind.int",
            "__eq__": "eq.Tensor", "__ne__": "ne.Tensor", "__lt__": "lt.Tensor", "__le__": "le.Tensor",
            "__gt__": "gt.Tensor", "__ge__": "ge.Tensor", "__float__": "_local_scalar_dense",
            "__int__": "_local_scalar_dense", "__index__": "_local_scalar_dense"}.get(name, name.strip("_"))

    def f(self, *args, **kwargs):
        raise unsupported(aten)

    f.__name__ = f.__qualname__ = name
    return f


def _install_stubs() -> None:
    own = set(vars(SparseTensor))
    keep = {"is_inference"}
    for name in list(dir(Tensor)):
        if name in own or name in keep or (name.startswith("_") and name not in _DUNDERS):
            continue
        attr = getattr(Tensor, name, None)
        if callable(attr) and not isinstance(attr, type):
            setattr(SparseTensor, name, _stub(name))


_install_stubs()


# --- the numerics ----------------------------------------------------------------------------------------------------
def groups(idx: np.ndarray):
    """The runs of equal columns of ``idx``: (the stable lexicographic order of the columns, the start of each
    run in that order, the run of each column in its original place)."""
    nnz = idx.shape[1]
    if nnz == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    if idx.shape[0] == 0:  # no sparse dims: every value is at the one position
        order, new = np.arange(nnz), np.zeros(nnz, bool)
    else:
        order = np.lexsort(idx[::-1])
        s = idx[:, order]
        new = np.empty(nnz, bool)
        new[1:] = np.any(s[:, 1:] != s[:, :-1], axis=0)
    new[0] = True
    starts = np.flatnonzero(new)
    group = np.empty(nnz, np.int64)
    group[order] = np.cumsum(new) - 1
    return order, starts, group


def segment_sum(vals: Tensor, order: np.ndarray, starts: np.ndarray, group: np.ndarray) -> Tensor:
    """The sums of the values over each run (see :func:`groups`): differentiable when the values require grad
    (an ``index_add``), else NumPy's ``add.reduceat`` over the sorted values."""
    if vals._data.shape[0] == 0:
        return vals
    if vals.requires_grad:
        from eigengrad import zeros

        out = zeros((len(starts),) + tuple(vals.shape[1:]), dtype=vals.dtype)
        return out.index_add(0, Tensor._wrap(group), vals)
    return Tensor._wrap(np.add.reduceat(vals._data[order], starts, axis=0))


def linear_index(idx: np.ndarray, sparse_shape: tuple) -> np.ndarray:
    """The row-major position of every column of ``idx`` in an array of ``sparse_shape``."""
    if not sparse_shape:
        return np.zeros(idx.shape[1], np.int64)
    return np.ravel_multi_index(tuple(idx), sparse_shape).astype(np.int64, copy=False)


def scatter_dense(idx: np.ndarray, vals: Tensor, shape: tuple, coalesced: bool) -> Tensor:
    """The dense tensor of ``shape`` holding the sum of the values at each index."""
    sd = idx.shape[0]
    sparse_shape, dense_shape = tuple(shape[:sd]), tuple(shape[sd:])
    n = math.prod(sparse_shape)
    keys = linear_index(idx, sparse_shape)
    if vals.requires_grad:
        from eigengrad import zeros

        out = zeros((n,) + dense_shape, dtype=vals.dtype).index_add(0, Tensor._wrap(keys), vals)
        return out.reshape(shape)
    out = np.zeros((n,) + dense_shape, dtype=vals._data.dtype)
    if coalesced:
        out[keys] = vals._data
    else:
        np.add.at(out, keys, vals._data)
    return Tensor._wrap(out.reshape(shape))


def dense_plus_sparse(dense: Tensor, sparse: SparseTensor, alpha=1) -> Tensor:
    """dense + alpha * sparse, a dense tensor (PyTorch's add(dense, sparse): the same shapes, no broadcasting)."""
    if tuple(dense.shape) != sparse._shape:
        raise RuntimeError(f"add: expected 'self' and 'other' to have same size, but self has size {list(dense.shape)} "
                           f"while other has size {list(sparse._shape)} (FYI: dense-sparse addition does not "
                           "currently support broadcasting)")
    other = sparse.to_dense()
    return dense + other if alpha == 1 else dense + other * alpha


def _mul_dense(s: SparseTensor, dense: Tensor) -> SparseTensor:
    try:
        full = np.broadcast_shapes(tuple(dense.shape), s._shape)
    except ValueError:
        full = None
    if full != s._shape:
        raise RuntimeError(f"mul(sparse, dense): the dense operand of shape {list(dense.shape)} must broadcast to the "
                           f"sparse operand's shape {list(s._shape)}")
    picked = dense.expand(s._shape)[tuple(Tensor._wrap(row) for row in s._idx)]
    return s._with_values(s._vals * picked)


def _mul_sparse(a: SparseTensor, b: SparseTensor) -> SparseTensor:
    if a._shape != b._shape or a.sparse_dim() != b.sparse_dim():
        raise RuntimeError("sparse_binary_op_intersection_cpu(): expects sparse inputs with equal dimensionality, "
                           "number of sparse dimensions, and shape of sparse dimensions")
    a, b = a.coalesce(), b.coalesce()
    na = a._nnz()
    both = np.concatenate([a._idx, b._idx], axis=1)
    order, starts, group = groups(both)
    # each side is coalesced: an index both hold is a run of two, a's entry first (the sort is stable)
    sizes = np.diff(np.append(starts, both.shape[1]))
    first = order[starts[sizes == 2]]
    second = order[starts[sizes == 2] + 1] - na
    vals = a._vals[Tensor._wrap(first)] * b._vals[Tensor._wrap(second)]
    return SparseTensor._make(a._idx[:, first], vals, a._shape, True)
