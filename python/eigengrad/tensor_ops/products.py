"""Products: ``matmul`` (every broadcasting form, the ``@`` operator), ``mm``, ``bmm``, ``mv``, ``dot``,
``outer``, ``addmm``, ``addmv``, ``baddbmm`` and ``einsum``. 2-D float products run on eigengrad's GEMM;
``einsum`` is built from differentiable primitives (diagonal, sum, permute, reshape, expand, matmul), so a
contraction is one GEMM (a batched one for batch labels) and its gradients follow from theirs."""
from __future__ import annotations

import string

import numpy as np

from eigengrad.autograd import inplace
from eigengrad import _dtype
from eigengrad._errors import ArgumentError, ArgumentTypeError
from eigengrad.autograd import ops
from eigengrad.tensor_ops import _out
from eigengrad.tensor_ops.arithmetic import binary


_c_name = _dtype.c_type_name  # PyTorch's C++ dtype names in messages


def _same_dtype(a, b, what: str = "m1 and m2") -> None:
    if a._data.dtype != b._data.dtype:
        raise ArgumentTypeError(f"expected {what} to have the same dtype, but got: {_c_name(a._data.dtype)} != "
                           f"{_c_name(b._data.dtype)}")


def matmul(input, other, *, out=None):
    """The matrix product with NumPy's (and PyTorch's) rules: 1-D @ 1-D is a dot product, a 1-D operand is a
    row or column vector, more dims are batches that broadcast."""
    if input.is_sparse or getattr(other, "is_sparse", False):  # a sparse COO operand (eigengrad.sparse)
        from eigengrad.sparse import _ops

        return _ops.matmul(input, other)
    if not hasattr(other, "_data"):
        if not isinstance(other, np.ndarray):
            raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(other).__name__}")
        other = type(input)._wrap(other)
    if input.ndim == 0 or other.ndim == 0:
        raise ArgumentError(f"both arguments to matmul need to be at least 1D, but they are {input.ndim}D and "
                           f"{other.ndim}D")
    _same_dtype(input, other)
    a, b = input.shape, other.shape
    k_a = a[-1]
    k_b = b[-2] if len(b) > 1 else b[0]
    if k_a != k_b:
        if len(a) == 1 and len(b) == 1:
            raise ArgumentError(f"inconsistent tensor size, expected tensor [{a[0]}] and src [{b[0]}] to have the same "
                               f"number of elements, but got {a[0]} and {b[0]} elements respectively")
        left = f"{a[-2] if len(a) > 1 else 1}x{k_a}"
        right = f"{k_b}x{b[-1] if len(b) > 1 else 1}"
        raise ArgumentError(f"mat1 and mat2 shapes cannot be multiplied ({left} and {right})")
    return _out.write(ops.MatMul.apply(input, other), out)


def mm(input, mat2, *, out=None):
    """The product of two matrices (2-D only)."""
    if input.is_sparse or getattr(mat2, "is_sparse", False):  # a sparse COO operand (eigengrad.sparse)
        from eigengrad.sparse import _ops

        return _ops.mm(input, mat2)
    if input.ndim != 2:
        raise ArgumentError("self must be a matrix")
    if mat2.ndim != 2:
        raise ArgumentError("mat2 must be a matrix")
    return matmul(input, mat2, out=out)


def bmm(input, mat2, *, out=None):
    """Batched matrix products of (b, n, m) and (b, m, p) tensors."""
    if input.ndim != 3:
        raise ArgumentError("batch1 must be a 3D tensor")
    if mat2.ndim != 3:
        raise ArgumentError("batch2 must be a 3D tensor")
    if mat2.shape[0] != input.shape[0] or mat2.shape[1] != input.shape[2]:
        raise ArgumentError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{input.shape[0]}, {input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
    return matmul(input, mat2, out=out)


def mv(input, vec, *, out=None):
    """The product of a matrix and a vector."""
    if input.ndim != 2 or vec.ndim != 1:
        raise ArgumentError(f"vector + matrix @ vector expected, got {input.ndim}, {vec.ndim}")
    return matmul(input, vec, out=out)


def dot(input, other, *, out=None):
    """The inner product of two 1-D tensors of one dtype."""
    if input.ndim != 1 or other.ndim != 1:
        raise ArgumentTypeError(f"1D tensors expected, but got {input.ndim}D and {other.ndim}D tensors")
    if input._data.dtype != other._data.dtype:
        raise ArgumentTypeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_torch_name(input._data.dtype)} and {_torch_name(other._data.dtype)}")
    return matmul(input, other, out=out)


vdot = dot


def _torch_name(dt) -> str:
    from eigengrad.autograd.inplace import _torch_name as name

    return name(dt)


def outer(input, vec2, *, out=None):
    """input[i] * vec2[j] (dtypes promoted)."""
    if input.ndim != 1 or vec2.ndim != 1:
        raise ArgumentError(f"outer: expected 1-D tensors, got {input.ndim}-D and {vec2.ndim}-D")
    return _out.write(binary(ops.Mul, input.reshape(-1, 1), vec2.reshape(1, -1)), out)


ger = outer


def _scaled_sum(input, product, beta, alpha):
    """beta * input + alpha * product, input broadcast to the product's shape (PyTorch's expand error
    otherwise); input is ignored when beta is 0 and the product when alpha is 0, so a NaN or inf in it does not
    propagate (its gradient is zeros, as PyTorch's)."""
    input.expand(*product.shape)
    if alpha == 0:
        from eigengrad.tensor_ops.index import where

        product = where(type(product)._wrap(np.zeros((), bool)), product, 0.0)
    elif alpha != 1:
        product = product * alpha
    if beta == 0:
        if input.requires_grad:  # PyTorch's gradient of input is beta * grad: zeros, not None. (x - 0 is x, -0 too)
            from eigengrad.tensor_ops.index import where

            product = product - where(type(input)._wrap(np.zeros((), bool)), input, 0.0)
        return product
    return (input if beta == 1 else input * beta) + product


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat1 @ mat2), input broadcast to the product's shape."""
    return _out.write(_scaled_sum(input, mm(mat1, mat2), beta, alpha), out)


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat @ vec)."""
    return _out.write(_scaled_sum(input, mv(mat, vec), beta, alpha), out)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * bmm(batch1, batch2)."""
    return _out.write(_scaled_sum(input, bmm(batch1, batch2), beta, alpha), out)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * sum over the batch of bmm(batch1, batch2)."""
    products = bmm(batch1, batch2)
    return _out.write(_scaled_sum(input, products.sum(0, dtype=products.dtype), beta, alpha), out)  # (int32 stays)


# --- einsum --------------------------------------------------------------------------------------------

_LETTERS = set(string.ascii_letters)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _sublist_equation(args: tuple) -> tuple[str, tuple]:
    """(equation, operands) of PyTorch's sublist form: operand, its sublist (ints 0..51 as letters, Ellipsis as
    '...'), ..., and an optional output sublist."""
    def letters(sub) -> str:
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, (int, np.integer)) and not isinstance(s, bool) and 0 <= s < len(_LETTERS):
                out.append(_LETTERS[s])
            else:
                raise ArgumentError(f"einsum(): expected subscript to be within the range [0, 52), got {s!r}")
        return "".join(out)

    operands = args[0::2][:len(args) // 2]
    subs = [letters(s) for s in args[1::2][:len(args) // 2]]
    equation = ",".join(subs) + ("->" + letters(args[-1]) if len(args) % 2 else "")
    return equation, tuple(operands)


def einsum(equation: str, *operands):
    """Einstein summation (``torch.einsum``): 'ij,jk->ik', 'bij,bjk->bik', 'i,j->ij', 'ii->i', 'ii', '...ij->...ji',
    implicit outputs ('ij,jk'), operands as arguments or one list. Repeated labels within an operand take the
    diagonal; labels absent from the output are summed; each pairwise contraction (left to right) is one
    matrix product (batched over shared output labels)."""
    if not isinstance(equation, str):  # the sublist form: einsum(a, [0, 1], b, [1, 2], [0, 2])
        equation, operands = _sublist_equation((equation,) + operands)
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise ArgumentError("einsum(): must provide at least one operand")
    inputs, output = _parse(equation.replace(" ", ""), [t.ndim for t in operands])
    sizes: dict = {}
    for t, labels in zip(operands, inputs):
        for lab, n in zip(labels, t.shape):
            prev = sizes.get(lab)
            if prev is None or prev == 1:
                sizes[lab] = n
            elif n not in (1, prev):
                raise ArgumentError(f"einsum(): operands do not broadcast with remapped shapes (original->remapped): "
                                   f"subscript {lab!r} has sizes {prev} and {n}")
    terms = [_single(t, list(labels), output, inputs[:k] + inputs[k + 1:]) for k, (t, labels) in
             enumerate(zip(operands, inputs))]
    result, labels = terms[0]
    for k in range(1, len(terms)):
        later = set(output).union(*[set(s) for s in inputs[k + 1:]])
        result, labels = _contract(result, labels, *terms[k], later, sizes)
    result, labels = _sum_out(result, labels, [lab for lab in labels if lab not in output])
    return _expand_to(result, labels, output, sizes).permute(*[labels.index(lab) for lab in output]) if output \
        else result.reshape(())


def _parse(eq: str, ndims: list) -> tuple[list, list]:
    """Label lists per operand and for the output; '...' becomes labels of its own (0, 1, ... as ints),
    right-aligned across operands as broadcasting aligns dims."""
    lhs, arrow, rhs = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) != len(ndims):
        raise ArgumentError(f"einsum(): more operands were provided than specified in the equation"
                           if len(ndims) > len(subs) else "einsum(): fewer operands were provided than specified in "
                           "the equation")
    n_ell = 0
    parsed = []
    for sub, nd in zip(subs, ndims):
        explicit = sub.replace("...", "")
        for c in explicit:
            if c not in _LETTERS:
                raise ArgumentError(f"einsum(): invalid subscript given at index {eq.index(c)} in the equation string, "
                                   "subscripts must be in [a-zA-Z]")
        k = nd - len(explicit)
        if "..." not in sub and k != 0:
            raise ArgumentError(f"einsum(): the number of subscripts in the equation ({len(explicit)}) does not match "
                               f"the number of dimensions ({nd}) for operand {len(parsed)} and no ellipsis was given")
        n_ell = max(n_ell, k if "..." in sub else 0)
        parsed.append((sub, k))
    inputs = []
    for sub, k in parsed:
        head, _, tail = sub.partition("...")
        ell = list(range(n_ell - k, n_ell)) if "..." in sub else []
        inputs.append(list(head) + ell + list(tail))
    if arrow:
        head, dots, tail = rhs.partition("...")
        output = list(head) + (list(range(n_ell)) if dots else []) + list(tail)
        known = {lab for labels in inputs for lab in labels}
        for lab in output:
            if lab not in known:
                raise ArgumentError(f"einsum(): output subscript {lab} does not appear in the equation for any input "
                                   "operand")
            if output.count(lab) > 1:
                raise ArgumentError(f"einsum(): output subscript {lab} appears more than once in the output")
    else:
        counts: dict = {}
        for labels in inputs:
            for lab in labels:
                if isinstance(lab, str):
                    counts[lab] = counts.get(lab, 0) + 1
        output = list(range(n_ell)) + sorted(lab for lab, c in counts.items() if c == 1)
    return inputs, output


def _single(t, labels: list, output: list, others: list):
    """One operand's diagonals taken (repeated labels) and its private labels summed out."""
    while True:
        repeated = next((lab for lab in labels if labels.count(lab) > 1), None)
        if repeated is None:
            break
        i = labels.index(repeated)
        j = labels.index(repeated, i + 1)
        t = t.diagonal(0, i, j)
        labels = [lab for k, lab in enumerate(labels) if k not in (i, j)] + [repeated]
    elsewhere = set(output).union(*[set(s) for s in others])
    return _sum_out(t, labels, [lab for lab in labels if lab not in elsewhere])


def _sum_out(t, labels: list, drop: list):
    if not drop:
        return t, labels
    dims = tuple(labels.index(lab) for lab in drop)
    return t.sum(dims), [lab for lab in labels if lab not in drop]


def _expand_to(t, labels: list, wanted: list, sizes: dict):
    """t with its size-1 dims of labels that are larger elsewhere expanded (broadcasting between operands)."""
    shape = [sizes[lab] if lab in wanted else n for lab, n in zip(labels, t.shape)]
    return t if tuple(shape) == t.shape else t.expand(*shape)


def _contract(a, la: list, b, lb: list, keep: set, sizes: dict):
    """The product of two terms, summing shared labels not kept: one (batched) matrix product."""
    a, la = _sum_out(a, la, [lab for lab in la if lab not in lb and lab not in keep])
    b, lb = _sum_out(b, lb, [lab for lab in lb if lab not in la and lab not in keep])
    batch = [lab for lab in la if lab in lb and lab in keep]
    summed = [lab for lab in la if lab in lb and lab not in keep]
    a_only = [lab for lab in la if lab not in lb]
    b_only = [lab for lab in lb if lab not in la]
    full = batch + summed
    a = _expand_to(a, la, full, sizes)
    b = _expand_to(b, lb, full, sizes)
    size = dict(zip(la, a.shape))
    size.update(zip(lb, b.shape))
    prod = _prod
    a3 = a.permute(*[la.index(lab) for lab in batch + a_only + summed]).reshape(
        prod(size[lab] for lab in batch), prod(size[lab] for lab in a_only), prod(size[lab] for lab in summed))
    b3 = b.permute(*[lb.index(lab) for lab in batch + summed + b_only]).reshape(
        prod(size[lab] for lab in batch), prod(size[lab] for lab in summed), prod(size[lab] for lab in b_only))
    if not batch:
        out = matmul(a3[0], b3[0])
    else:
        out = matmul(a3, b3)
    shape = [size[lab] for lab in batch + a_only + b_only]
    return out.reshape(*shape) if shape else out.reshape(()), batch + a_only + b_only


def _prod(values) -> int:
    n = 1
    for v in values:
        n *= v
    return n


METHODS = ("matmul", "mm", "bmm", "mv", "dot", "vdot", "outer", "ger", "addmm", "addmv", "baddbmm", "addbmm")
FUNCTIONS = METHODS + ("einsum",)


# In-place forms (autograd.inplace)
INPLACE = {n + "_": inplace.method(n, globals()[n]) for n in ("addmm", "addmv", "baddbmm", "addbmm")}
globals().update(INPLACE)
METHODS = METHODS + tuple(INPLACE)