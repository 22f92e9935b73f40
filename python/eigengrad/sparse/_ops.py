"""Products and reductions of sparse COO tensors: ``mm``/``matmul`` of a sparse matrix and a dense one (the
``SparseMM`` primitive over a row-sorted plan built once per sparse tensor), ``torch.sparse.sum`` and
``torch.sparse.softmax``/``log_softmax``."""
from __future__ import annotations

import numpy as np

from eigengrad._dims import wrap_dim
from eigengrad.autograd.function import Primitive
from eigengrad.sparse._coo import SparseTensor, groups, segment_sum
from eigengrad.tensor import Tensor
from eigengrad.tensor_ops.sparse_methods import no_kernel


class RowPlan:
    """The entries of a sparse (n_rows, n_cols) matrix, (rows[k], cols[k]) for the k-th stored value, sorted by
    row once (a CSR without its own copy of the values): ``matmul`` sums each row's products with one
    ``np.add.reduceat``. ``transposed()`` is the plan of the transpose (built once, kept)."""

    def __init__(self, rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> None:
        self.rows, self.cols, self.n_rows, self.n_cols = rows, cols, n_rows, n_cols
        self.order = np.argsort(rows, kind="stable")
        sorted_rows = rows[self.order]
        self.sorted_cols = cols[self.order]
        if len(rows):
            new = np.empty(len(rows), bool)
            new[0] = True
            new[1:] = sorted_rows[1:] != sorted_rows[:-1]
            self.starts = np.flatnonzero(new)
            self.row_ids = sorted_rows[self.starts]
        else:
            self.starts = self.row_ids = np.zeros(0, np.int64)
        self._t = None

    def matmul(self, values: np.ndarray, dense: np.ndarray) -> np.ndarray:
        """out[i, :] = sum over the entries k of row i of values[k] * dense[cols[k], :]."""
        out = np.zeros((self.n_rows, dense.shape[1]), dtype=np.result_type(values, dense))
        if len(self.order):
            products = np.take(dense, self.sorted_cols, axis=0).astype(out.dtype, copy=False)
            np.multiply(products, values[self.order][:, None], out=products)  # (in place: 10x a new array here)
            out[self.row_ids] = np.add.reduceat(products, self.starts, axis=0)
        return out

    def values_grad(self, grad: np.ndarray, dense: np.ndarray) -> np.ndarray:
        """d<grad, A @ dense>/d values[k] = <grad[rows[k], :], dense[cols[k], :]>."""
        products = np.take(grad, self.rows, axis=0)
        np.multiply(products, np.take(dense, self.cols, axis=0), out=products)
        return products.sum(1)

    def transposed(self) -> "RowPlan":
        if self._t is None:
            self._t = RowPlan(self.cols, self.rows, self.n_cols, self.n_rows)
            self._t._t = self
        return self._t


class SparseMM(Primitive):
    """A @ B for A a sparse matrix given by its plan and its ``values`` (nnz,), B a dense (n_cols, k) matrix:
    out[i, :] = sum_k values[k] B[cols[k], :] over the entries of row i. Bilinear: dL/dB = A^T @ dL/dout (the
    same primitive on the transposed plan), dL/dvalues[k] = <dL/dout[rows[k], :], B[cols[k], :]>."""

    @staticmethod
    def forward(ctx, values, dense, *, plan):
        ctx.plan = plan
        need = ctx.needs_input_grad
        ctx.save_for_backward(values if need[1] else None, dense if need[0] else None)
        return plan.matmul(values, dense)

    @staticmethod
    def backward(ctx, grad):
        values, dense = ctx.saved
        plan, need = ctx.plan, ctx.needs_input_grad
        g_values = plan.values_grad(grad, dense) if need[0] else None
        g_dense = plan.transposed().matmul(values, grad) if need[1] else None
        return g_values, g_dense

    @staticmethod
    def backward_graph(ctx, grad):
        values, dense = ctx.saved
        plan, need = ctx.plan, ctx.needs_input_grad
        g_values = g_dense = None
        if need[0]:
            b = ctx.input_tensor(1, dense)
            b_cols = b[Tensor._wrap(plan.cols)] if isinstance(b, Tensor) else Tensor._wrap(b[plan.cols])
            g_values = (grad[Tensor._wrap(plan.rows)] * b_cols).sum(1)
        if need[1]:
            g_dense = SparseMM.apply(ctx.input_tensor(0, values), grad, plan=plan.transposed())
        return g_values, g_dense


def _plan(s: SparseTensor) -> RowPlan:
    """The row plan of a sparse matrix, built on first use and kept on the tensor (its indices never change)."""
    if s._plans is None:
        s._plans = RowPlan(s._idx[0], s._idx[1], s._shape[0], s._shape[1])
    return s._plans


def _check_matrix(s: SparseTensor, name: str) -> None:
    if s.sparse_dim() != 2 or s.dense_dim() != 0:
        raise RuntimeError(f"{name}: expected a sparse matrix (2 sparse and 0 dense dimensions), got "
                           f"{s.sparse_dim()} sparse and {s.dense_dim()} dense dimensions of size {list(s._shape)}")


def _as_tensor(x, name: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor._wrap(x)
    raise TypeError(f"{name}(): argument 'mat2' must be Tensor, not {type(x).__name__}")


def _scalar(t) -> str:
    """PyTorch's scalar type name of a tensor's dtype (Float, Double, Long, ...)."""
    from eigengrad import _dtype

    return _dtype.scalar_type_name((t._vals._data if isinstance(t, SparseTensor) else t._data).dtype)


def sparse_dense_mm(s: SparseTensor, dense: Tensor) -> Tensor:
    """A @ B for a sparse matrix A (n, m) and a dense B (m, k) or (m,)."""
    _check_matrix(s, "mm")
    vector = dense.ndim == 1
    if dense.ndim not in (1, 2):
        raise RuntimeError(f"mm: expected a dense matrix, got a {dense.ndim}-D tensor")
    m = dense.shape[0]
    if m != s._shape[1]:
        if vector:
            raise RuntimeError("mv: expected self.size(-1) == vec.size(-1)")
        raise RuntimeError(f"addmm: Argument #3 (dense): Expected dim 0 size {s._shape[1]}, got {m}")
    if s.dtype != dense.dtype:
        raise RuntimeError(f"expected scalar type {_scalar(s)} but found {_scalar(dense)}")
    b = dense.unsqueeze(1) if vector else dense
    out = SparseMM.apply(s._vals, b, plan=_plan(s))
    return out.squeeze(1) if vector else out


def dense_sparse_mm(dense: Tensor, s: SparseTensor) -> Tensor:
    """B @ A for a dense B (k, n) or (n,) and a sparse matrix A (n, m): (A^T @ B^T)^T."""
    _check_matrix(s, "mm")
    if dense.ndim not in (1, 2):
        raise RuntimeError(f"mm: expected a dense matrix, got a {dense.ndim}-D tensor")
    n = dense.shape[-1]
    if n != s._shape[0]:
        raise RuntimeError(f"addmm: Argument #3 (dense): Expected dim 0 size {s._shape[0]}, got {n}")
    if s.dtype != dense.dtype:
        raise RuntimeError(f"expected scalar type {_scalar(dense)} but found {_scalar(s)}")
    if dense.ndim == 1:
        return SparseMM.apply(s._vals, dense.unsqueeze(1), plan=_plan(s).transposed()).squeeze(1)
    return SparseMM.apply(s._vals, dense.t(), plan=_plan(s).transposed()).t()


def matmul(a, b) -> Tensor:
    """The product of two matrices one or both of which are sparse: sparse @ dense and dense @ sparse are
    dense, sparse @ sparse is sparse (computed as sparse @ dense, then made sparse)."""
    a_sparse, b_sparse = isinstance(a, SparseTensor), isinstance(b, SparseTensor)
    if a_sparse and b_sparse:
        _check_matrix(b, "mm")
        return sparse_dense_mm(a, b.to_dense()).to_sparse()
    if a_sparse:
        return sparse_dense_mm(a, _as_tensor(b, "mm"))
    return dense_sparse_mm(_as_tensor(a, "mm"), b)


def mm(mat1, mat2) -> Tensor:
    """``torch.mm`` with a sparse operand (``torch.spmm``, ``torch.sparse.mm``): the dense operand must be a
    matrix (PyTorch's IndexError for a vector)."""
    for x in (mat1, mat2):
        if isinstance(x, Tensor) and not isinstance(x, SparseTensor) and x.ndim < 2:
            raise IndexError(f"Dimension out of range (expected to be in range of [-1, 0], but got "
                             f"{1 if x is mat2 else -2})")
    if not isinstance(mat1, SparseTensor) and not isinstance(mat2, SparseTensor):
        from eigengrad.tensor_ops import products

        return products.mm(mat1, mat2)
    return matmul(mat1, mat2)


# --- sums ---------------------------------------------------------------------------------------------------------
def sparse_sum(input, dim=None, dtype=None, keepdim: bool = False):
    """``torch.sparse.sum``: over every dim a dense 0-d tensor; over some dims the sum of the entries that
    share the other indices, a coalesced sparse tensor over the remaining sparse dims, or a dense tensor when
    every sparse dim is summed (the values summed over the summed dense dims)."""
    if not isinstance(input, SparseTensor):
        raise RuntimeError("coalesce expected sparse coordinate tensor layout but got Strided")
    vals = input._vals if dtype is None else input._vals.to(dtype)
    if dim is None:
        total = vals.sum()
        return total.reshape([1] * input.ndim) if keepdim else total
    dims = [dim] if not isinstance(dim, (list, tuple)) else list(dim)
    n, sd = input.ndim, input.sparse_dim()
    wrapped = [wrap_dim(d, n) for d in dims]
    for d in wrapped:
        if wrapped.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    if not wrapped:
        return input.coalesce() if dtype is None else input.coalesce().to(dtype)
    sparse_dims = [d for d in wrapped if d < sd]
    dense_dims = [d - sd + 1 for d in wrapped if d >= sd]
    if dense_dims:
        vals = vals.sum(dense_dims, keepdim=keepdim)
    if len(sparse_dims) == sd:  # every sparse dim summed: a dense result
        out = vals.sum(0)
        return out.reshape([1] * sd + list(out.shape)) if keepdim else out
    kept = [d for d in range(sd) if d not in sparse_dims]
    idx = input._idx[kept]
    order, starts, group = groups(idx)
    summed = segment_sum(vals, order, starts, group)
    idx = idx[:, order[starts]] if len(order) else idx
    if keepdim:
        shape = [1 if d in wrapped else s for d, s in enumerate(input._shape)]
        full = np.zeros((sd, idx.shape[1]), np.int64)
        full[kept] = idx
        idx = full
    else:
        shape = [s for d, s in enumerate(input._shape) if d not in wrapped]
    return SparseTensor._make(idx, summed, shape, True)


# --- softmax --------------------------------------------------------------------------------------------------------
def _softmax(input, dim, dtype, log: bool):
    if not isinstance(input, SparseTensor):
        raise no_kernel("_sparse_log_softmax" if log else "_sparse_softmax")
    c = input.coalesce()
    vals = c._vals if dtype is None else c._vals.to(dtype)
    if vals._data.dtype.kind != "f":
        raise NotImplementedError(f"\"softmax\" not implemented for '{_scalar(c)}'")
    d = wrap_dim(dim, input.ndim)
    sd = c.sparse_dim()
    if d >= sd:  # along a dense dim: each value's own softmax
        f = vals.log_softmax if log else vals.softmax
        return c._with_values(f(d - sd + 1))
    if c._nnz() == 0:
        return c._with_values(vals)
    # along a sparse dim: over the stored entries that share the other sparse indices (absent ones are -inf)
    others = np.delete(c._idx, d, axis=0)
    order, starts, group = groups(others)
    data = vals._data
    peak = np.maximum.reduceat(data[order], starts, axis=0)[group]
    g = Tensor._wrap(group)
    shifted = vals - Tensor._wrap(peak)
    e = shifted.exp()
    from eigengrad import zeros

    total = zeros((len(starts),) + tuple(vals.shape[1:]), dtype=vals.dtype).index_add(0, g, e)
    out = shifted - total.log()[g] if log else e / total[g]
    return c._with_values(out)


def softmax(input, dim: int, *, dtype=None):
    """``torch.sparse.softmax``: the softmax along ``dim`` over the stored entries only (an absent entry counts as
    -inf, so it stays absent), exp(v - max) / sum exp(v - max) per group of entries sharing the other indices."""
    return _softmax(input, dim, dtype, log=False)


def log_softmax(input, dim: int, *, dtype=None):
    """``torch.sparse.log_softmax``: v - max - log(sum exp(v - max)) over the stored entries along ``dim``."""
    return _softmax(input, dim, dtype, log=True)
