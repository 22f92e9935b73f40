"""Reductions: ``sum``, ``mean``, ``var``/``std`` (``correction`` or ``unbiased``), ``prod``, ``cumsum``,
``norm``, ``max``/``min`` (with ``dim``: ``(values, indices)``), ``amax``/``amin``, ``argmax``/``argmin``,
``logsumexp``, ``count_nonzero``. ``dim`` is an int, a tuple/list or None (all dims); float sums, means,
variances and norms run in C++ (double accumulation, fixed chunking); integer and bool sums give int64."""
from __future__ import annotations

import builtins
import warnings

import numpy as np

from eigengrad import _trace

from eigengrad.autograd import inplace
from eigengrad._errors import ArgumentError, ArgumentTypeError, DtypeNotSupportedError
from eigengrad import _dtype, _kernels as K, return_types
from eigengrad.autograd import ops, ops_reduce
from eigengrad.tensor_ops import _dims, _out


def _wrap(arr):
    from eigengrad.tensor import Tensor

    return Tensor._wrap(np.asarray(arr))


def _with_dtype(input, dtype):
    return input if dtype is None else input.to(dtype)


def sum(input, dim=None, keepdim: bool = False, *, dtype=None, out=None, axis=None):
    """The sum over ``dim`` (all dims when None); integer and bool tensors sum to int64."""
    x = _with_dtype(input, dtype)
    dim = axis if dim is None else dim
    if x._data.dtype.kind in "iub" and dtype is None:
        x = x.to(np.int64)
    return _out.write(_as_dtype(ops.Sum.apply(x, dim=_dims.dims(dim, x.ndim), keepdim=keepdim), dtype), out)


def _as_dtype(result, dtype):
    """The result in the asked ``dtype``: an integer sum or product accumulates in int64 and wraps to a
    narrower integer as PyTorch's does in it; a bool result is whether it is nonzero."""
    from eigengrad._dtype import to_numpy

    return result if dtype is None or result._data.dtype == to_numpy(dtype) else result.to(dtype)


def nansum(input, dim=None, keepdim: bool = False, *, dtype=None):
    if input._data.dtype.kind != "f":  # no NaN in an integer or bool tensor: its sum (int64), as PyTorch
        return sum(input, dim, keepdim, dtype=dtype)
    from eigengrad import functions as fn

    return sum(fn.where(input.isnan(), 0.0, input), dim, keepdim, dtype=dtype)


def mean(input, dim=None, keepdim: bool = False, *, dtype=None, out=None, axis=None):
    """The mean over ``dim`` (all dims when None); float input (or a float ``dtype``) only, as PyTorch."""
    x = _with_dtype(input, dtype)
    if x._data.dtype.kind != "f":
        raise ArgumentTypeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           f"complex dtype. Got: {_torch_name(x._data.dtype)}")
    dim = axis if dim is None else dim
    return _out.write(ops_reduce.Mean.apply(x, axes=_dims.dims(dim, x.ndim), keepdim=keepdim), out)


def _torch_name(dt) -> str:
    from eigengrad.autograd.inplace import _torch_name as name

    return name(dt)


def _correction(dim, unbiased, correction):
    """PyTorch's var/std argument forms: (dim, unbiased, keepdim), (unbiased), correction=."""
    if isinstance(dim, bool):  # var(True): the legacy unbiased-only form
        dim, unbiased = None, dim
    if correction is not None and unbiased is not None:
        raise ArgumentError("var(): cannot pass both unbiased and correction")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, float(correction)


def _var(input, dim, unbiased, keepdim, correction, take_sqrt: bool, name: str):
    if input._data.dtype.kind != "f":
        raise ArgumentTypeError("std and var only support floating point and complex dtypes")
    dim, corr = _correction(dim, unbiased, correction)
    axes = _dims.dims(dim, input.ndim)
    n = int(np.prod([input.shape[a] for a in axes], dtype=np.int64))
    if n - corr <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
                      "factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return ops_reduce.Var.apply(input, axes=axes, correction=corr, keepdim=keepdim, take_sqrt=take_sqrt,
                                full=dim is None or input.ndim == 0)


def var(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, out=None):
    """The variance over ``dim``: sum (x - mean)^2 / (n - correction) (correction 1 unless ``unbiased=False`` or
    ``correction`` says otherwise); two-pass in double."""
    return _out.write(_var(input, dim, unbiased, keepdim, correction, False, "var"), out)


def std(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None, out=None):
    """The standard deviation over ``dim`` (the square root of ``var``)."""
    return _out.write(_var(input, dim, unbiased, keepdim, correction, True, "std"), out)


def var_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    return var(input, dim, unbiased, keepdim, correction=correction), mean(input, _correction(dim, unbiased, None)[0],
                                                                           keepdim)


def std_mean(input, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    return std(input, dim, unbiased, keepdim, correction=correction), mean(input, _correction(dim, unbiased, None)[0],
                                                                           keepdim)


def prod(input, dim=None, keepdim: bool = False, *, dtype=None):
    """The product over one ``dim`` (or of all elements); integer and bool tensors give int64."""
    x = _with_dtype(input, dtype)
    if x._data.dtype.kind in "iub" and dtype is None:
        x = x.to(np.int64)
    d = None if dim is None else _dims.wrap(dim, x.ndim)
    if x.ndim == 0:
        d = None
    return _as_dtype(ops_reduce.Prod.apply(x, dim=d, keepdim=keepdim), dtype)


def cumsum(input, dim: int, *, dtype=None, out=None):
    """The running sum along ``dim``; integer and bool tensors give int64."""
    x = _with_dtype(input, dtype)
    if x._data.dtype.kind in "iub" and dtype is None:
        x = x.to(np.int64)
    if x.ndim == 0:
        return _out.write(x.clone(), out)
    return _out.write(_as_dtype(ops_reduce.Cumsum.apply(x, dim=_dims.wrap(dim, x.ndim)), dtype), out)


def logcumsumexp(input, dim: int, *, out=None):
    """log(cumsum(exp(input))) along ``dim``, without overflow (floating inputs only, as PyTorch)."""
    if input._data.dtype.kind != "f":
        raise DtypeNotSupportedError(f'"logcumsumexp_out_cpu" not implemented for \'{_torch_name(input._data.dtype)}\'')
    if input.ndim == 0:
        _dims.wrap(dim, 0)  # (0 and -1 only: PyTorch's IndexError otherwise)
        return _out.write(input.clone(), out)
    return _out.write(ops_reduce.LogCumSumExp.apply(input, dim=_dims.wrap(dim, input.ndim)), out)


def cumprod(input, dim: int, *, dtype=None):
    """The running product along ``dim`` (NumPy's cumprod carried in double for float32, as PyTorch's; not a
    cumulative sum of logarithms, which is not exact). Differentiable: by PyTorch's formula when no element is 0,
    else through the products composed one by one."""
    x = _with_dtype(input, dtype)
    if x._data.dtype.kind in "iub" and dtype is None:
        x = x.to(np.int64)
    d = _dims.wrap(dim, x.ndim)
    if x.ndim == 0:  # a 0-d tensor stays 0-d
        return x.clone()
    if x.requires_grad:
        if not x.shape[d]:  # an empty dim: nothing to multiply (narrow(d, 0, 1) would fail)
            return x.clone()
        if _trace.ACTIVE[0] is None and x._data.dtype.kind == "f" and (x._data != 0).all():
            return ops_reduce.Cumprod.apply(x, dim=d)  # (PyTorch's test, and its formula)
        from eigengrad import functions as fn

        pieces = [x.narrow(d, 0, 1)]
        for k in range(1, x.shape[d]):
            pieces.append(pieces[-1] * x.narrow(d, k, 1))
        return fn.cat(pieces, d) if pieces[0].shape[d] else x.clone()
    with np.errstate(all="ignore"):  # 0 * inf is NaN without a warning, as PyTorch's
        return _as_dtype(_wrap(ops_reduce.running(np.cumprod, x._data, d)), dtype)


def norm(input, p="fro", dim=None, keepdim: bool = False, dtype=None):
    """The vector p-norm over ``dim`` (all elements when None): p a number, inf, -inf, or 'fro' (2); 'nuc' the
    nuclear norm of the matrices over ``dim`` (the last two dims when None), as linalg.matrix_norm."""
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, int) or len(dim) <= 2):
            return vector_norm(input, 2, dim, keepdim, dtype=dtype)
        from eigengrad.linalg import matrix_norm  # 'nuc' (or an error), over all dims when None, as torch.norm

        return matrix_norm(input, p, tuple(range(input.ndim)) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(input, p, dim, keepdim, dtype=dtype)


def vector_norm(x, ord=2, dim=None, keepdim: bool = False, *, dtype=None):
    """``torch.linalg.vector_norm``: (sum |x|^ord)^(1/ord) over ``dim`` (C++ kernel, double accumulation)."""
    if x._data.dtype.kind != "f":
        raise ArgumentTypeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got "
                           f"{_torch_name(x._data.dtype)}")
    if dtype is not None:
        from eigengrad._dtype import to_numpy

        if np.dtype(to_numpy(dtype)).itemsize < x._data.dtype.itemsize or np.dtype(to_numpy(dtype)).kind != "f":
            raise ArgumentTypeError(f"linalg.vector_norm: the dtype of the input ({_torch_name(x._data.dtype)}) "
                                    f"should be convertible without narrowing to the specified dtype "
                                    f"({_torch_name(to_numpy(dtype))})")
        x = x.to(dtype)
    axes = _dims.dims(dim, x.ndim)
    p = float(ord)
    no_identity = p < 0 or np.isinf(p)  # (the max, the min and the negative orders have no identity)
    if no_identity and x._data.size == 0 and dim is None:
        raise ArgumentError(f"linalg.vector_norm cannot compute the {ord} norm on an empty tensor because the "
                            "operation does not have an identity")
    if no_identity and builtins.any(x.shape[a] == 0 for a in axes):
        raise ArgumentError(f"linalg.vector_norm cannot compute the {ord} norm on the dimension because this "
                            "dimension is empty and the operation does not have an identity")
    return ops_reduce.Norm.apply(x, axes=axes, p=p, keepdim=keepdim)


def _extremum(input, dim, keepdim, name: str):
    """max/min: the value over all elements, (values, indices) with ``dim``, or the elementwise max/min with a
    tensor ``other``."""
    from eigengrad.tensor_ops import arithmetic

    if hasattr(dim, "_data"):
        return (arithmetic.maximum if name == "max" else arithmetic.minimum)(input, dim)
    if dim is None:
        if input._data.size == 0:
            raise ArgumentError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify the "
                               "reduction dim with the 'dim' argument.")
        return amax(input) if name == "max" else amin(input)
    d = _dims.wrap(dim, input.ndim)
    if input.ndim and input.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    data = input._data if input.ndim else input._data.reshape(1)
    idx = K.arg_reduce("argmax" if name == "max" else "argmin", data, d, True)
    values = ops.Gather.apply(input if input.ndim else input.reshape(1), idx, dim=d)
    if not keepdim or input.ndim == 0:
        values = values.squeeze(d) if input.ndim else values.reshape(())
        idx = np.squeeze(idx, d) if input.ndim else idx.reshape(())
    return getattr(return_types, name)(values, _wrap(K.cast(idx, np.int64)))


def max(input, dim=None, keepdim: bool = False, *, out=None):
    """The largest element; with ``dim`` the named tuple (values, indices); with a tensor, ``maximum``."""
    return _extremum(input, dim, keepdim, "max")


def min(input, dim=None, keepdim: bool = False, *, out=None):
    """The smallest element; with ``dim`` the named tuple (values, indices); with a tensor, ``minimum``."""
    return _extremum(input, dim, keepdim, "min")


def amax(input, dim=(), keepdim: bool = False):
    """The max over ``dim`` (all dims when empty); ties share the gradient evenly."""
    axes = _dims.dims(dim if dim != () else None, input.ndim)
    _check_nonempty(input, axes, "amax", dim != ())
    return ops.Amax.apply(input, dim=axes, keepdim=keepdim)


def amin(input, dim=(), keepdim: bool = False):
    """The min over ``dim`` (all dims when empty); ties share the gradient evenly."""
    axes = _dims.dims(dim if dim != () else None, input.ndim)
    _check_nonempty(input, axes, "amin", dim != ())
    from eigengrad.tensor_ops.arithmetic import neg

    if input._data.dtype.kind in "ub":  # -x wraps for unsigned ints and bools; these never require grad
        return _wrap(np.amin(input._data, axis=axes, keepdims=keepdim))
    return neg(ops.Amax.apply(neg(input), dim=axes, keepdim=keepdim))


def _check_nonempty(input, axes, name, dim_given=True):
    """PyTorch's errors for a max/min over nothing (an IndexError naming the dim, or a RuntimeError)."""
    if input._data.size == 0 and not dim_given:
        raise ArgumentError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                            "Specify the reduction dim with the 'dim' argument.")
    for a in axes:
        if input.shape[a] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")


def aminmax(input, *, dim=None, keepdim: bool = False):
    return return_types.aminmax(amin(input, () if dim is None else dim, keepdim),
                                amax(input, () if dim is None else dim, keepdim))


def _arg(input, dim, keepdim, fn, name):
    if input._data.dtype == np.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if input._data.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        out = fn(input._data.reshape(-1))
        return _wrap(np.asarray(out, dtype=np.int64).reshape((1,) * input.ndim if keepdim else ()))
    d = _dims.wrap(dim, input.ndim)
    data = input._data if input.ndim else input._data.reshape(1)
    if data.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    out = K.arg_reduce(fn.__name__, data, d, keepdim)
    return _wrap(np.asarray(out, dtype=np.int64).reshape(() if input.ndim == 0 else out.shape))


def argmax(input, dim=None, keepdim: bool = False):
    """The index of the largest element (first one; NaN counts as largest), flat when ``dim`` is None."""
    return _arg(input, dim, keepdim, np.argmax, "argmax")


def argmin(input, dim=None, keepdim: bool = False):
    return _arg(input, dim, keepdim, np.argmin, "argmin")


def logsumexp(input, dim, keepdim: bool = False):
    """log(sum(exp(x))) over ``dim``, stable: max + log(sum(exp(x - max))) (the max a constant shift)."""
    from eigengrad.tensor_ops import pointwise

    x = input if input._data.dtype.kind == "f" else input.to(_default_float())
    axes = _dims.dims(dim, x.ndim)
    if x._data.size == 0:
        return sum(x, axes, keepdim).log()
    m = ops.Amax.apply(x, dim=axes, keepdim=True).detach()
    m = _wrap(ops.numpy_call(_finite_or_zero, m._data))
    s = pointwise.log(sum(pointwise.exp(x - m), axes, True)) + m
    return s if keepdim else s.squeeze(axes) if axes else s


def _finite_or_zero(m: np.ndarray) -> np.ndarray:
    """logsumexp's shift: the max where finite, else 0 (all -inf, or inf, rows)."""
    return np.where(np.isfinite(m), m, 0).astype(m.dtype)


def _default_float():
    from eigengrad.tensor import default_float

    return default_float()


def count_nonzero(input, dim=None):
    axes = _dims.dims(dim, input.ndim)
    return _wrap(np.asarray(np.count_nonzero(input._data, axis=axes), dtype=np.int64))


METHODS = ("sum", "nansum", "mean", "var", "std", "prod", "cumsum", "cumprod", "norm", "max", "min", "amax", "amin",
           "aminmax", "argmax", "argmin", "logsumexp", "logcumsumexp", "count_nonzero")
FUNCTIONS = METHODS + ("var_mean", "std_mean")
del _dtype


# In-place forms (autograd.inplace)
INPLACE = {n + "_": inplace.method(n, globals()[n]) for n in ("cumsum", "cumprod")}
globals().update(INPLACE)
METHODS = METHODS + tuple(INPLACE)