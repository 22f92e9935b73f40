"""The one place that calls the compiled kernels (``_C``: the module of the instruction-set level in use).

Each function takes NumPy arrays, makes strided inputs contiguous (an input copy costs time, never
correctness; in-place buffers are passed as they are and the binding refuses them if they are not
contiguous), allocates the outputs, calls one kernel and returns the outputs. The autograd, the
modules and the optimizers call these functions, never ``_C`` directly.

Functions reach the bindings as ``_C.name`` (and the NumPy glue as ``_G.name``) at call time, never
through a reference taken at import: ``eg.compile`` swaps both modules for recording proxies while it
traces a step (``eigengrad.compile.recorder``).
"""
from __future__ import annotations

from eigengrad import _isa, _trace

# The kernel module of the level this CPU runs (eigengrad._C_baseline, _C_avx2, _C_avx512, ...), chosen once.
# Before NumPy is imported: on a CPU below the baseline, the user reads eigengrad's ImportError, not a crash.
_C, isa_choice = _isa.load()

import contextlib  # noqa: E402
import math  # noqa: E402

import numpy as np  # noqa: E402

from eigengrad import _glue as _G  # noqa: E402  (the NumPy steps between kernels, called like kernels)


def compiled_module():
    """The kernel module itself, never a trace's recording proxy (for code that builds plans, which may run
    while another thread traces a step)."""
    c = _C
    return getattr(c, "_real", c)


def cpu_capability() -> str:
    """The instruction-set level of the kernels in use ("baseline", "avx2", "avx512"; "native"/"generic")."""
    return isa_choice.level


FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# The kernels' outputs: numpy.empty's, with large buffers recycled from array to array (eigengrad._memory: a
# training step's activations and gradients reuse the pages of the previous step's instead of faulting in
# fresh ones). Ordinary arrays: they own their memory; NumPy gives it back to the recycler when they die.
from eigengrad._errors import ArgumentError, ArgumentTypeError, DtypeNotSupportedError, argument_errors  # noqa: E402
from eigengrad._memory import empty  # noqa: E402

_C.recycle_scratch()  # the kernels' scratch buffers: recycled through the same cache


def empty_like(a: np.ndarray) -> np.ndarray:
    """``numpy.empty_like(a)``: a's shape, dtype and (for a non-C-contiguous ``a``) memory layout."""
    return empty(a.shape, a.dtype) if a.flags.c_contiguous else np.empty_like(a)


def contiguous(a: np.ndarray) -> np.ndarray:
    """``a`` itself when it is C-contiguous, else a C-contiguous copy (a kernel call, so that ``eg.compile``
    records it as a plan step): the C++ strided copy (cpp/include/eigengrad/copy.hpp: a transpose 3x, a
    PixelShuffle interleave 5x, attention heads' permutation 2x faster than NumPy's copy, which reads an element
    per cache line where the source's contiguous dim moved outward), or NumPy's for small arrays and other
    dtypes (``_G.copy``)."""
    if a.flags.c_contiguous:
        return a
    out = empty(a.shape, dtype=a.dtype)
    if (a.size >= 1024 and a.itemsize in (1, 2, 4, 8) and a.dtype.kind in "biuf"
            and all(s % a.itemsize == 0 for s in a.strides)):
        _C.strided_copy(a, out)
    else:
        _G.copy(a, out)
    return out


def is_float(a: np.ndarray) -> bool:
    return a.dtype in FLOAT_DTYPES


def check_float(a: np.ndarray, name: str) -> None:
    """A kernel's float operand (a TypeError; PyTorch's NotImplementedError "... not implemented for 'Long'" too)."""
    if a.dtype not in FLOAT_DTYPES:
        raise DtypeNotSupportedError(f"{name}: expected a float32 or float64 tensor, got dtype {a.dtype}")


def check_same_dtype(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.dtype != b.dtype:
        raise ArgumentTypeError(f"{name_b}: expected dtype {a.dtype} (the dtype of {name_a}), got {b.dtype}")


def _as_gemm_operand(a: np.ndarray, trans: bool) -> tuple[np.ndarray, bool]:
    """A transposed view (Fortran order) is passed as its C-contiguous transpose with the flag flipped."""
    if a.flags.c_contiguous:
        return a, trans
    if a.flags.f_contiguous:
        return a.T, not trans
    return contiguous(a), trans  # through _G.copy, so that a trace (eg.compile, ONNX export) records the copy


# --- GEMM -----------------------------------------------------------------------------------------

def gemm(a, b, bias=None, trans_a=False, trans_b=False, out=None, accumulate=False) -> np.ndarray:
    """op(a) @ op(b) [+ bias], op = transpose when the flag is set. 2-D float arrays of one dtype.

    Called for every Linear layer, forward and backward, so the common case (C-contiguous float operands)
    goes straight to the binding, which checks dtypes, layouts, shapes and overlap before anything is
    written; what it refuses comes back here (an F-ordered operand as its transpose, a strided one copied,
    a wrong dtype named as the caller's argument). The checks below cost a third of a small product's call.
    While eg.compile traces, every call goes through them: the tracer records a call before it is made."""
    if _trace.ACTIVE[0] is None:
        try:
            o = empty((a.shape[trans_a], b.shape[not trans_b]), a.dtype) if out is None else out
            _C.gemm(a, b, o, bias, trans_a, trans_b, accumulate)
            return o
        except (TypeError, ValueError, IndexError, AttributeError):
            pass
    return _gemm_checked(a, b, bias, trans_a, trans_b, out, accumulate)


def _gemm_checked(a, b, bias, trans_a, trans_b, out, accumulate) -> np.ndarray:
    if a.dtype not in FLOAT_DTYPES:  # else `out` below would get a's dtype and the binding would blame it
        raise DtypeNotSupportedError(f"a: expected a float32 or float64 tensor, got dtype {a.dtype}")
    if not a.flags.c_contiguous:
        a, trans_a = _as_gemm_operand(a, trans_a)
    if not b.flags.c_contiguous:
        b, trans_b = _as_gemm_operand(b, trans_b)
    if out is None:
        out = empty((a.shape[1] if trans_a else a.shape[0], b.shape[0] if trans_b else b.shape[1]), dtype=a.dtype)
    if bias is not None and not bias.flags.c_contiguous:
        bias = np.ascontiguousarray(bias)
    _C.gemm(a, b, out, bias, trans_a, trans_b, accumulate)
    return out


# --- the error function ---------------------------------------------------------------------------

def erf_forward(kind: str, x: np.ndarray) -> np.ndarray:
    """kind(x) elementwise, kind one of 'erf', 'erfc', 'erfinv', computed in double and rounded once to x's
    dtype (another dtype than float32/float64 goes through float64)."""
    x = np.asarray(x)
    if x.dtype not in FLOAT_DTYPES:
        return erf_forward(kind, x.astype(np.float64)).astype(x.dtype, copy=False)
    x = contiguous(x)
    out = empty_like(x)
    getattr(_C, kind)(x, out)
    return out


# --- activations ----------------------------------------------------------------------------------

_ACTIVATIONS = {kind: (kind + "_forward", kind + "_backward") for kind in ("relu", "sigmoid", "tanh")}


def activation_forward(kind: str, x: np.ndarray) -> np.ndarray:
    check_float(x, "input")
    x = contiguous(x)
    out = empty_like(x)
    getattr(_C, _ACTIVATIONS[kind][0])(x, out)
    return out


def activation_backward(kind: str, grad_out: np.ndarray, y: np.ndarray) -> np.ndarray:
    y = contiguous(y)  # before empty_like, which would copy a Fortran order into grad_in
    # np.asarray: a 0-d gradient can arrive as a NumPy scalar (second order through a 0-d tensor)
    grad_out = contiguous(np.asarray(grad_out, dtype=y.dtype))
    grad_in = empty_like(y)
    getattr(_C, _ACTIVATIONS[kind][1])(grad_out, y, grad_in)
    return grad_in


# --- more activations (fused forward/backward kernels; backward from the saved input x) -----------

_UNARY_EXT = {kind: (kind + "_forward", kind + "_backward") for kind in ("leaky_relu", "elu", "gelu", "softplus")}


def unary_forward(kind: str, x: np.ndarray, *params) -> np.ndarray:
    """y = f(x) for kind in leaky_relu (slope), elu (alpha, scale, input_scale), gelu (tanh_approximation),
    softplus (beta, threshold)."""
    check_float(x, "input")
    x = contiguous(x)
    out = empty_like(x)
    getattr(_C, _UNARY_EXT[kind][0])(x, out, *params)
    return out


def unary_backward(kind: str, grad_out: np.ndarray, x: np.ndarray, *params) -> np.ndarray:
    x = contiguous(x)
    grad_out = contiguous(grad_out.astype(x.dtype, copy=False))
    grad_in = empty_like(x)
    getattr(_C, _UNARY_EXT[kind][1])(grad_out, x, grad_in, *params)
    return grad_in


def prelu_forward(x3: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """x3 (outer, channels, inner), weight (channels,) or (1,)."""
    x3 = contiguous(x3)
    out = empty_like(x3)
    _C.prelu_forward(x3, contiguous(weight), out)
    return out


def prelu_backward(grad_out3: np.ndarray, x3: np.ndarray, weight: np.ndarray, need_weight: bool = True):
    """(grad_in, grad_weight or None) for x3 (outer, channels, inner)."""
    x3 = contiguous(x3)
    grad_out3 = contiguous(grad_out3.astype(x3.dtype, copy=False))
    grad_in = empty_like(x3)
    gw = empty(weight.shape, dtype=x3.dtype) if need_weight else None
    _C.prelu_backward(grad_out3, x3, contiguous(weight), grad_in, gw)
    return grad_in, gw


def maxout_forward(z2: np.ndarray):
    """z2 (groups, pieces) -> (max over pieces (groups,), index of the first max (groups,) int64)."""
    z2 = contiguous(z2)
    out = empty(z2.shape[0], dtype=z2.dtype)
    idx = empty(z2.shape[0], dtype=np.int64)
    _C.maxout_forward(z2, out, idx)
    return out, idx


def maxout_backward(grad_out: np.ndarray, idx: np.ndarray, pieces: int) -> np.ndarray:
    grad_out = contiguous(grad_out)
    grad_in = empty((grad_out.shape[0], pieces), dtype=grad_out.dtype)
    _C.maxout_backward(grad_out, idx, grad_in)
    return grad_in


# --- the glue between kernels (NumPy, eigengrad._glue; recorded by eg.compile like kernels) ---------

def fill_(out: np.ndarray, value: float) -> None:
    """out[...] = value: the compiled kernel for a C-contiguous float array and a Python number (a plan runs it
    natively), the NumPy glue otherwise."""
    if (type(value) is float or type(value) is int and -_EXACT <= value <= _EXACT) and out.dtype in FLOAT_DTYPES \
            and out.flags.c_contiguous and out.flags.aligned and out.flags.writeable:
        _C.fill(out, value)
    else:
        _G.fill(out, value)


_EXACT = 1 << 53  # (an int the kernel's double holds exactly)


def zeros(shape: tuple, dtype) -> np.ndarray:
    """A new array of zeros (an RNN's default initial state), filled by a kernel call that eg.compile records."""
    out = empty(shape, dtype=dtype)
    fill_(out, 0)
    return out


def concatenate(arrays, axis: int) -> np.ndarray:
    """np.concatenate(arrays, axis), each piece copied into its slice by a glue call (recorded by eg.compile)."""
    shape = list(arrays[0].shape)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    out = empty(shape, dtype=np.result_type(*arrays))
    lead, start = (slice(None),) * axis, 0
    for a in arrays:
        _G.copy(a, out[lead + (slice(start, start + a.shape[axis]),)])
        start += a.shape[axis]
    return out


def stack(arrays, axis: int) -> np.ndarray:
    """np.stack(arrays, axis) (arrays of one shape), each copied into its slice by a glue call."""
    shape = arrays[0].shape
    out = empty(shape[:axis] + (len(arrays),) + shape[axis:], dtype=np.result_type(*arrays))
    lead = (slice(None),) * axis
    for i, a in enumerate(arrays):
        _G.copy(a, out[lead + (i, Ellipsis)])  # (Ellipsis: a 0-d view, not a scalar, when the arrays are 0-d)
    return out


def ones_like(x: np.ndarray) -> np.ndarray:
    out = empty_like(x)
    fill_(out, 1)
    return out


def copy_into(out: np.ndarray, src: np.ndarray) -> None:
    _G.copy(src, out)


def add_into(out: np.ndarray, src: np.ndarray) -> None:
    _G.add_into(out, src)


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b of two arrays of one shape and dtype (gradients summed by backward)."""
    out = empty(np.broadcast_shapes(a.shape, b.shape), dtype=np.result_type(a, b))
    _G.add(a, b, out)
    return out


_NUMBERS = (int, float, bool)


def ufunc(name: str, *args):
    """np.<name>(*args): one elementwise NumPy function over arrays and Python numbers (the autograd's
    arithmetic). While eg.compile traces, through the glue, so that the plan replays the same NumPy call
    into its arena (the same bits) instead of falling back to eager mode; NumPy scalar operands (a value
    computed outside the recorded kernels) keep the direct call, which the tracer then refuses."""
    fn = getattr(np, name)
    if _trace.ACTIVE[0] is None:
        return broadcasting(fn, args)
    kinds = "".join("a" if isinstance(a, np.ndarray) else "s" if type(a) in _NUMBERS else "?" for a in args)
    glue = {"a": "unary", "aa": "binary", "as": "binary_scalar", "sa": "scalar_binary"}.get(kinds)
    if glue is None:
        return broadcasting(fn, args)
    res = broadcasting(fn, args)
    out = empty(np.shape(res), dtype=np.result_type(res))
    getattr(_G, glue)(name, *args, out)
    return out


def broadcasting(fn, args):
    """fn(*args), operands that do not broadcast raising PyTorch's error (an ArgumentError naming the dim: a
    RuntimeError as PyTorch's, and a ValueError as NumPy's)."""
    try:
        return fn(*args)
    except ValueError as error:
        if "could not be broadcast" not in str(error):
            raise
        from eigengrad.autograd.function import _broadcast_error

        raise _broadcast_error(args) from None


def reshape(x, shape):
    """np.reshape(x, shape), a view where one exists; a reshape that must copy (a permuted array's dims merged)
    copies through ``contiguous`` (the strided-copy kernel; a step of the plan while eg.compile traces)."""
    if not isinstance(x, np.ndarray) or x.flags.c_contiguous or x.size == 0:
        return np.reshape(x, shape)
    view = _reshaped_view(x, shape)
    return view if view is not None else contiguous(x).reshape(shape)


def _reshaped_view(x: np.ndarray, shape):
    """x reshaped without a copy, or None when the reshape needs one (or is impossible: the caller's reshape of
    the contiguous copy then raises NumPy's error)."""
    try:
        return np.reshape(x, shape, copy=False)  # NumPy >= 2.1
    except ValueError:
        return None
    except TypeError:  # an older NumPy: no copy argument
        view = x.view()
        try:
            view.shape = shape
        except AttributeError:
            return None
        return view


def cast(x: np.ndarray, dtype) -> np.ndarray:
    """x.astype(dtype); while eg.compile traces, a glue copy into a new array (the same conversion). NaN or an
    out-of-range float cast to an integer is quiet, as PyTorch's (NumPy warns)."""
    if _trace.ACTIVE[0] is None:
        if x.dtype.kind == "f" and np.dtype(dtype).kind in "iu":
            with np.errstate(invalid="ignore"):
                return x.astype(dtype)
        return x.astype(dtype)
    out = empty(x.shape, dtype=dtype)
    _G.copy(x, out)
    return out


def arg_reduce(name: str, x: np.ndarray, axis: int, keepdims: bool) -> np.ndarray:
    """np.argmax / np.argmin (``name``) of x along ``axis``; while eg.compile traces, a glue call."""
    if _trace.ACTIVE[0] is None:
        return getattr(np, name)(x, axis=axis, keepdims=keepdims)
    shape = list(x.shape)
    if keepdims:
        shape[axis] = 1
    else:
        del shape[axis]
    out = empty(shape, dtype=np.intp)
    _G.arg_reduce(name, x, axis, keepdims, out)
    return out


def sum_rows(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The sum over axis 0 of x (the bias gradient of Linear), in x's dtype; into ``out`` when given.

    The kernel sums row after row, NumPy's order for two or more columns; a single column (where NumPy
    sums pairwise) and other layouts or dtypes keep the NumPy glue, so the bits are NumPy's either way."""
    if out is None:
        out = empty(x.shape[1:], dtype=x.dtype)
    if x.ndim >= 2 and out.size >= 2 and _floats_alike(x, out) and out.flags.writeable:
        _C.sum_rows(x, out)
    else:
        _G.sum_rows(x, out)
    return out


def _floats_alike(a: np.ndarray, *others) -> bool:
    """a is a C-contiguous float32/float64 array, and so is every other (None skipped), of a's dtype."""
    if a.dtype not in FLOAT_DTYPES or not a.flags.c_contiguous:
        return False
    for o in others:  # (a loop, not all() over a generator: this runs several times a training step)
        if o is not None and not (isinstance(o, np.ndarray) and o.dtype == a.dtype and o.flags.c_contiguous):
            return False
    return True


def _int64_targets(target) -> bool:
    return isinstance(target, np.ndarray) and target.dtype == np.int64 and target.flags.c_contiguous


def add_l2_penalty_(weights: list, alpha: float, batch_size: int, loss: np.ndarray) -> None:
    """loss (0-d, in place) += alpha / 2 * sum ||w||^2 / batch_size, see ``_glue.add_l2_penalty``."""
    _G.add_l2_penalty(weights, alpha, batch_size, loss)


def add_l2_penalty_grad_(grads: list, weights: list, alpha: float, batch_size: int) -> None:
    """grads[i] += weights[i] * (alpha / batch_size) in place, see ``_glue.add_l2_penalty_grad``."""
    _G.add_l2_penalty_grad(grads, weights, alpha, batch_size)


def increment_(count: np.ndarray) -> None:
    """count += 1 (a 0-d int64 counter: the compiled kernel, which a plan runs natively; else the glue)."""
    if count.dtype == np.int64 and count.ndim == 0 and count.flags.aligned and count.flags.writeable:
        _C.increment(count)
    else:
        _G.increment(count)


def loss_reduce(rows: np.ndarray, target: np.ndarray, weight, ignore_index: int, mean: bool) -> np.ndarray:
    """The 0-d sum ('sum') or weighted mean ('mean') of per-row cross-entropies (the kernel ``loss_reduce``;
    the NumPy glue for other layouts and dtypes)."""
    out = empty((), dtype=rows.dtype)
    if rows.ndim == 1 and _floats_alike(rows, weight) and _int64_targets(target):
        _C.loss_reduce(rows, target, weight, int(ignore_index), bool(mean), out)
    else:
        _G.loss_reduce(rows, target, weight, ignore_index, mean, out)
    return out


def loss_upstream(g, target: np.ndarray, weight, ignore_index: int, mean: bool, n: int, dtype) -> np.ndarray:
    """Each row's upstream gradient of a 'sum' or 'mean' cross-entropy: g, or g / the 'mean' divisor."""
    out = empty(n, dtype=dtype)
    g = np.asarray(g)
    if g.ndim == 0 and g.dtype in FLOAT_DTYPES and _floats_alike(out, weight) and _int64_targets(target):
        _C.loss_upstream(g, target, weight, int(ignore_index), bool(mean), out)
    else:
        _G.loss_upstream(g, target, weight, ignore_index, mean, out)
    return out


def mean_upstream(g, target: np.ndarray, ignore_index: int, n: int, dtype) -> np.ndarray:
    """Each row's upstream gradient of the unweighted 'mean' cross-entropy: g / the rows not ignored."""
    out = empty(n, dtype=dtype)
    g = np.asarray(g)
    if g.ndim == 0 and g.dtype in FLOAT_DTYPES and _floats_alike(out) and _int64_targets(target):
        _C.mean_upstream(g, target, int(ignore_index), out)
    else:
        _G.mean_upstream(g, target, ignore_index, out)
    return out


# --- losses ---------------------------------------------------------------------------------------

def softmax_cross_entropy(logits: np.ndarray, target: np.ndarray, ignore_index: int):
    """Per-row losses and log-sum-exps of the rows of ``logits`` (n, c) for int64 class targets (n,)."""
    logits = contiguous(logits)
    target = contiguous(target.astype(np.int64, copy=False))
    n = logits.shape[0]
    loss = empty(n, dtype=logits.dtype)
    lse = empty(n, dtype=logits.dtype)
    _C.softmax_cross_entropy_forward(logits, target, loss, lse, ignore_index)
    return loss, lse


def softmax_cross_entropy_backward(logits, target, lse, scale, ignore_index: int) -> np.ndarray:
    logits = contiguous(logits)
    grad = empty_like(logits)
    scale = contiguous(np.asarray(scale, dtype=logits.dtype))
    _C.softmax_cross_entropy_backward(logits, contiguous(target), lse, scale, grad, ignore_index)
    return grad


def squared_error_sum(x: np.ndarray, y: np.ndarray) -> float:
    return _C.squared_error_sum(contiguous(x), contiguous(y))


def squared_error_reduce(x: np.ndarray, y: np.ndarray, mean: bool) -> np.ndarray:
    """A 0-d array: sum((x - y)^2) in x's dtype, over x.size when ``mean`` (a glue step: eg.compile replays it)."""
    x = contiguous(x)
    out = empty((), dtype=x.dtype)
    _G.squared_error_reduce(x, contiguous(y), bool(mean), out)
    return out


def squared_error_backward_reduced(x, y, g: np.ndarray, mean: bool) -> np.ndarray:
    """d loss / dx of a reduced MSELoss with the upstream gradient g (0-d, read when the step runs)."""
    x = contiguous(x)
    grad_in = empty_like(x)
    _G.squared_error_backward_reduced(x, contiguous(y), contiguous(np.asarray(g)), bool(mean), grad_in)
    return grad_in


def squared_error(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    x = contiguous(x)
    out = empty_like(x)
    _C.squared_error(x, contiguous(y), out)
    return out


def squared_error_backward(x, y, grad_out, coef: float) -> np.ndarray:
    x = contiguous(x)
    if grad_out is not None:
        grad_out = contiguous(grad_out.astype(x.dtype, copy=False))
    grad_in = empty_like(x)
    _C.squared_error_backward(x, contiguous(y), grad_out, coef, grad_in)
    return grad_in


def weighted_softmax_cross_entropy(logits, target, weight, label_smoothing: float, ignore_index: int):
    """Per-row CrossEntropyLoss with class ``weight`` (c,) or None and label smoothing, and the log-sum-exps."""
    logits = contiguous(logits)
    target = contiguous(target.astype(np.int64, copy=False))
    if weight is not None:
        weight = contiguous(weight)
    n = logits.shape[0]
    loss = empty(n, dtype=logits.dtype)
    lse = empty(n, dtype=logits.dtype)
    _C.weighted_softmax_cross_entropy_forward(logits, target, weight, float(label_smoothing), loss, lse, ignore_index)
    return loss, lse


def weighted_softmax_cross_entropy_backward(logits, target, weight, label_smoothing: float, lse, scale,
                                            ignore_index: int) -> np.ndarray:
    logits = contiguous(logits)
    grad = empty_like(logits)
    scale = contiguous(np.asarray(scale, dtype=logits.dtype))
    if weight is not None:
        weight = contiguous(weight)
    _C.weighted_softmax_cross_entropy_backward(logits, contiguous(target), weight, float(label_smoothing), lse,
                                               scale, grad, ignore_index)
    return grad


def bce_with_logits(x, y, weight, pos_weight, elementwise: bool):
    """(sum of the elementwise losses, the losses or None); weight / pos_weight: None or arrays of the trailing
    dimensions of x."""
    x = contiguous(x)
    loss = empty_like(x) if elementwise else None
    total = _C.bce_with_logits_forward(x, contiguous(y), _opt(weight), _opt(pos_weight), loss)
    return total, loss


def bce_with_logits_reduce(x, y, weight, pos_weight, mean: bool) -> np.ndarray:
    """A 0-d array: the sum of the elementwise losses in x's dtype, over x.size when ``mean`` (a glue step)."""
    x = contiguous(x)
    out = empty((), dtype=x.dtype)
    _G.bce_with_logits_reduce(x, contiguous(y), _opt(weight), _opt(pos_weight), bool(mean), out)
    return out


def bce_with_logits_backward_reduced(x, y, weight, pos_weight, g: np.ndarray, mean: bool) -> np.ndarray:
    x = contiguous(x)
    grad_in = empty_like(x)
    _G.bce_with_logits_backward_reduced(x, contiguous(y), _opt(weight), _opt(pos_weight), contiguous(np.asarray(g)),
                                        bool(mean), grad_in)
    return grad_in


def bce_with_logits_backward(x, y, weight, pos_weight, grad_out, coef: float) -> np.ndarray:
    x = contiguous(x)
    if grad_out is not None:
        grad_out = contiguous(grad_out.astype(x.dtype, copy=False))
    grad_in = empty_like(x)
    _C.bce_with_logits_backward(x, contiguous(y), _opt(weight), _opt(pos_weight), grad_out, float(coef), grad_in)
    return grad_in


def _opt(a):
    return None if a is None else contiguous(a)


# --- optimizer steps (in place on Python-owned buffers) -------------------------------------------

def sgd_step(param, grad, momentum_buffer, **hyper) -> None:
    _C.sgd_step(param, contiguous(grad), momentum_buffer, **hyper)


# The other update rules: param and state arrays are updated in place (never copied: the bindings
# reject a non-contiguous or read-only buffer); grad is only read.

def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, **hyper) -> None:
    _C.adam_step(param, contiguous(grad), exp_avg, exp_avg_sq, max_exp_avg_sq, **hyper)


def nadam_step(param, grad, exp_avg, exp_avg_sq, **hyper) -> None:
    _C.nadam_step(param, contiguous(grad), exp_avg, exp_avg_sq, **hyper)


def adamax_step(param, grad, exp_avg, exp_inf, **hyper) -> None:
    _C.adamax_step(param, contiguous(grad), exp_avg, exp_inf, **hyper)


def radam_step(param, grad, exp_avg, exp_avg_sq, **hyper) -> None:
    _C.radam_step(param, contiguous(grad), exp_avg, exp_avg_sq, **hyper)


def adagrad_step(param, grad, state_sum, **hyper) -> None:
    _C.adagrad_step(param, contiguous(grad), state_sum, **hyper)


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buffer, **hyper) -> None:
    _C.rmsprop_step(param, contiguous(grad), square_avg, grad_avg, momentum_buffer, **hyper)


def adadelta_step(param, grad, square_avg, acc_delta, **hyper) -> None:
    _C.adadelta_step(param, contiguous(grad), square_avg, acc_delta, **hyper)


# --- gradient clipping (in place on lists of gradient arrays of one dtype, one call per list) -------

def grad_norm(grads: list, norm_type: float) -> float:
    """The norm of the arrays viewed as one vector, accumulated in double."""
    return _C.grad_norm(grads, float(norm_type))


def clip_grad_norm(grads: list, max_norm: float, norm_type: float, scale_if_nonfinite: bool = True) -> np.ndarray:
    """Total norm n of the arrays (a 0-d float64 array), and every array scaled in place by
    min(max_norm / (n + 1e-6), 1)."""
    out = empty((), dtype=np.float64)
    _G.clip_grad_norm(grads, float(max_norm), float(norm_type), bool(scale_if_nonfinite), out)
    return out


def scale_grads(grads: list, coef: float) -> None:
    _C.scale_grads(grads, float(coef))


def clip_grad_value(grads: list, clip_value: float) -> None:
    _C.clip_grad_value(grads, clip_value=float(clip_value))


# --- normalisation --------------------------------------------------------------------------------
# x (N, C, *) is passed to batch/group/local response norm as (N, C, S) and to layer norm as rows
# (M, D); the reshapes of a contiguous array are views. Statistics come back as float64 arrays.

def _nc_s(x: np.ndarray) -> np.ndarray:
    shape = x.shape
    return x.reshape(shape[0], shape[1], math.prod(shape[2:]))


def _lead(x: np.ndarray, lead: int) -> int:
    return math.prod(x.shape[:lead])


def _tail(x: np.ndarray, start: int) -> int:
    return math.prod(x.shape[start:])


def _opt(a):
    return None if a is None else contiguous(a)


def _grad_outputs(x: np.ndarray, pshape: tuple, grads) -> tuple:
    need_in, need_w, need_b = grads
    return (empty_like(x) if need_in else None, empty(pshape, x.dtype) if need_w else None,
            empty(pshape, x.dtype) if need_b else None)


@contextlib.contextmanager
def updated_in_place(a):
    """``a`` for a kernel that updates it in place: ``a`` itself when it is C-contiguous (or None), else a
    contiguous copy that is written back into ``a`` afterwards (a strided view, ``running_mean[::2]``, is
    updated as PyTorch updates it)."""
    if a is None or a.flags.c_contiguous or not a.flags.writeable:  # (the kernel refuses a read-only one)
        yield a
        return
    work = np.ascontiguousarray(a)
    yield work
    np.copyto(a, work)


def batch_norm_forward(x, weight, bias, running_mean, running_var, training: bool, momentum: float, eps: float):
    """Batch norm of x (N, C, *) per channel: (y, save_mean, save_invstd). Training uses the batch's
    statistics and updates running_mean/running_var in place when given (writeable arrays); eval uses the
    running statistics."""
    x3 = _nc_s(contiguous(x))
    c = x3.shape[1]
    y3 = empty_like(x3)
    save_mean, save_invstd = empty(c), empty(c)
    with updated_in_place(running_mean) as rm, updated_in_place(running_var) as rv:
        _C.batch_norm_forward(x3, _opt(weight), _opt(bias), rm, rv, y3, save_mean, save_invstd, training, momentum,
                              eps)
    return y3.reshape(x.shape), save_mean, save_invstd


def batch_norm_backward(grad_out, x, save_mean, save_invstd, weight, training: bool, grads=(True, True, True)):
    """(grad_in, grad_weight, grad_bias), None where ``grads`` (input, weight, bias) is False."""
    x3 = _nc_s(contiguous(x))
    g3 = _nc_s(contiguous(grad_out.astype(x.dtype, copy=False)))
    gin, gw, gb = _grad_outputs(x3, (x3.shape[1],), grads)
    _C.batch_norm_backward(g3, x3, save_mean, save_invstd, _opt(weight), gin, gw, gb, training)
    return (None if gin is None else gin.reshape(x.shape)), gw, gb


def layer_norm_forward(x, normalized_ndim: int, weight, bias, eps: float):
    """Layer norm over the last ``normalized_ndim`` dims of x: (y, mean, rstd), the statistics (M,) per row."""
    x = contiguous(x)
    lead = x.ndim - normalized_ndim
    m, d = _lead(x, lead), _tail(x, lead)
    y = empty_like(x)
    mean, rstd = empty(m), empty(m)
    _C.layer_norm_forward(x.reshape(m, d), None if weight is None else contiguous(weight).reshape(d),
                          None if bias is None else contiguous(bias).reshape(d), y.reshape(m, d), mean, rstd,
                          float(eps))
    return y, mean, rstd


def layer_norm_backward(grad_out, x, mean, rstd, normalized_ndim: int, weight, grads=(True, True, True)):
    x = contiguous(x)
    grad_out = contiguous(grad_out.astype(x.dtype, copy=False))
    lead = x.ndim - normalized_ndim
    m, d = _lead(x, lead), _tail(x, lead)
    gin, gw, gb = _grad_outputs(x, x.shape[lead:], grads)
    _C.layer_norm_backward(grad_out.reshape(m, d), x.reshape(m, d), mean, rstd,
                           None if weight is None else contiguous(weight).reshape(d),
                           None if gin is None else gin.reshape(m, d), None if gw is None else gw.reshape(d),
                           None if gb is None else gb.reshape(d))
    return gin, gw, gb


def group_norm_forward(x, num_groups: int, weight, bias, eps: float):
    """Group norm of x (N, C, *): (y, mean, rstd), the statistics (N * num_groups,)."""
    x = contiguous(x)
    y = empty_like(x)
    rows = x.shape[0] * num_groups
    mean, rstd = empty(rows), empty(rows)
    _C.group_norm_forward(_nc_s(x), _opt(weight), _opt(bias), _nc_s(y), mean, rstd, float(eps), int(num_groups))
    return y, mean, rstd


def group_norm_backward(grad_out, x, mean, rstd, num_groups: int, weight, grads=(True, True, True)):
    x = contiguous(x)
    grad_out = contiguous(grad_out.astype(x.dtype, copy=False))
    gin, gw, gb = _grad_outputs(x, (x.shape[1],), grads)
    _C.group_norm_backward(_nc_s(grad_out), _nc_s(x), mean, rstd, _opt(weight),
                           None if gin is None else _nc_s(gin), gw, gb, int(num_groups))
    return gin, gw, gb


def local_response_norm_forward(x, size: int, alpha: float, beta: float, k: float):
    """Local response norm across the channels of x (N, C, *): (y, div)."""
    x = contiguous(x)
    y, div = empty_like(x), empty_like(x)
    _C.local_response_norm_forward(_nc_s(x), _nc_s(y), _nc_s(div), int(size), float(alpha), float(beta), float(k))
    return y, div


def local_response_norm_backward(grad_out, x, div, size: int, alpha: float, beta: float):
    x = contiguous(x)
    grad_out = contiguous(grad_out.astype(x.dtype, copy=False))
    gin = empty_like(x)
    _C.local_response_norm_backward(_nc_s(grad_out), _nc_s(x), _nc_s(contiguous(div)), _nc_s(gin), int(size),
                                    float(alpha), float(beta))
    return gin


# --- random ---------------------------------------------------------------------------------------

def uniform_fill(out: np.ndarray, seed: int, offset: int, low: float, high: float) -> None:
    _C.uniform_fill(out, seed, offset, low, high)


def normal_fill(out: np.ndarray, seed: int, offset: int, mean: float, std: float) -> None:
    _C.normal_fill(out, seed, offset, mean, std)


def randperm(n: int, seed: int, offset: int) -> np.ndarray:
    out = empty(n, dtype=np.int64)
    _C.randperm(out, seed, offset)
    return out


# --- dropout (the Bernoulli mask drawn in C++ from Philox; returned as uint8 for the backward) ---------

def keep_threshold(p: float) -> int:
    """The 32-bit threshold of a keep probability 1 - p: element i is kept iff its word < threshold."""
    return int(round((1.0 - p) * 4294967296.0))


def dropout(x: np.ndarray, seed: int, offset: int, threshold: int, scale: float):
    """(y = x * (mask ? scale : 0), mask (x.size,) uint8)."""
    check_float(x, "input")
    x = contiguous(x)
    out = empty_like(x)
    mask = empty(x.size, dtype=np.uint8)
    _C.dropout_forward(x, out, mask, seed, offset, threshold, scale)
    return out, mask


def alpha_dropout(x: np.ndarray, seed: int, offset: int, threshold: int, a: float, b_keep: float, b_drop: float):
    check_float(x, "input")
    x = contiguous(x)
    out = empty_like(x)
    mask = empty(x.size, dtype=np.uint8)
    _C.alpha_dropout_forward(x, out, mask, seed, offset, threshold, a, b_keep, b_drop)
    return out, mask


def feature_dropout(x2: np.ndarray, seed: int, offset: int, threshold: int, scale: float):
    """x2 (rows, inner): one draw per row; (y, mask (rows,) uint8)."""
    check_float(x2, "input")
    x2 = contiguous(x2)
    out = empty_like(x2)
    mask = empty(x2.shape[0], dtype=np.uint8)
    _C.feature_dropout_forward(x2, out, mask, seed, offset, threshold, scale)
    return out, mask


def masked_scale(grad_out2: np.ndarray, mask: np.ndarray, scale: float, dtype) -> np.ndarray:
    """grad_out2 (rows, inner), mask (rows,): grad_out * (mask ? scale : 0), the backward of every dropout."""
    grad_out2 = contiguous(grad_out2.astype(dtype, copy=False))
    grad_in = empty_like(grad_out2)
    _C.masked_scale(grad_out2, mask, grad_in, scale)
    return grad_in


def bernoulli_mask(n: int, seed: int, offset: int, threshold: int) -> np.ndarray:
    mask = empty(n, dtype=np.uint8)
    _C.bernoulli_mask(mask, seed, offset, threshold)
    return mask


# --- threads and build ----------------------------------------------------------------------------

get_num_threads = _C.get_num_threads
set_num_threads = _C.set_num_threads
requested_num_threads = _C.requested_num_threads
threads_backing_off = _C.backing_off  # one thread for now: parallel regions stalled on a busy machine
threads_backoffs = _C.backoff_count  # how many times that began since import
build_info = _C.build_info
__version__ = _C.__version__


# --- image augmentation (batches N x C x H x W, float32/float64, C-contiguous) ----------------------

def flip_images(images: np.ndarray, flip: np.ndarray, horizontal: bool) -> np.ndarray:
    out = empty_like(images)
    _C.flip_images(images, out, np.ascontiguousarray(flip, dtype=np.uint8), bool(horizontal))
    return out


def affine_warp(images: np.ndarray, maps: np.ndarray, interpolation: str, fill: float) -> np.ndarray:
    out = empty_like(images)
    _C.affine_warp(images, out, np.ascontiguousarray(maps, dtype=np.float64), interpolation, float(fill))
    return out


def erase_boxes(images: np.ndarray, boxes: np.ndarray, value: float) -> None:
    _C.erase_boxes(images, np.ascontiguousarray(boxes, dtype=np.int64), float(value))


def normalize_channels(images: np.ndarray, mean: np.ndarray, std: np.ndarray, out: np.ndarray | None = None):
    out = empty_like(images) if out is None else out
    _C.normalize_channels(images, out, np.ascontiguousarray(mean, dtype=np.float64),
                          np.ascontiguousarray(std, dtype=np.float64))
    return out


# --- recurrent layers (one layer-direction over a whole sequence, time-major) -----------------------

RNN_MODES = {"RNN_TANH": (1, 0), "RNN_RELU": (1, 0), "LSTM": (4, 2), "GRU": (3, 1)}  # mode -> (gates G, aux A)


def rnn_forward(mode: str, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse: bool = False, out=None):
    """One layer-direction of ``mode`` over x (T, N, I): (y (T, N, H), h_n, c_n, gates, aux).

    c_n is None unless LSTM; gates (T, N, G H) and aux (T, N, A H) are what the backward needs (None for
    RNN). ``out``: an optional (T + 1 [+ 1 for LSTM], N, H) C-contiguous array that receives y, h_n [, c_n]
    as its slabs (y, h_n, c_n are then views of it)."""
    check_float(x, "input")
    x = contiguous(x)
    steps, n = x.shape[0], x.shape[1]
    hid = w_hh.shape[1]
    g, a = RNN_MODES[mode]
    lstm = mode == "LSTM"
    if out is None:
        out = empty((steps + 1 + lstm, n, hid), x.dtype)
    y, h_n, c_n = out[:steps], out[steps], out[steps + 1] if lstm else None
    gates = empty((steps, n, g * hid), x.dtype) if a else None
    aux = empty((steps, n, a * hid), x.dtype) if a else None
    _C.rnn_forward(mode, x, contiguous(h0), _opt(c0), contiguous(w_ih), contiguous(w_hh), _opt(b_ih), _opt(b_hh),
                   y, h_n, c_n, gates, aux, bool(reverse))
    return y, h_n, c_n, gates, aux


def rnn_backward(mode: str, x, h0, c0, w_ih, w_hh, b_ih, b_hh, y, gates, aux, grad_out, grad_h_n=None,
                 grad_c_n=None, reverse: bool = False, grads=(True,) * 7):
    """(dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh) of ``rnn_forward``, None where ``grads`` (same order) is
    False or the layer has no such input (c0 for RNN/GRU, biases for a layer without bias)."""
    x = contiguous(x)
    dt = x.dtype
    steps, n = x.shape[0], x.shape[1]
    hid = w_hh.shape[1]
    shapes = (x.shape, (n, hid), (n, hid), w_ih.shape, w_hh.shape, (w_ih.shape[0],), (w_ih.shape[0],))
    present = (True, True, mode == "LSTM", True, True, b_ih is not None, b_hh is not None)
    outs = [empty(s, dt) if want and ok else None for s, want, ok in zip(shapes, grads, present)]
    # scratch: the gate gradients (twice for GRU), for RNN/LSTM also the rows [x_t, h_prev]
    work = empty(steps * n * (2 * w_ih.shape[0] if mode == "GRU" else w_ih.shape[0] + x.shape[2] + hid), dt)
    _C.rnn_backward(mode, x, contiguous(h0), _opt(c0), contiguous(w_ih), contiguous(w_hh), _opt(b_ih), _opt(b_hh),
                    contiguous(y), _opt(gates), _opt(aux), contiguous(grad_out.astype(dt, copy=False)),
                    None if grad_h_n is None else contiguous(grad_h_n.astype(dt, copy=False)),
                    None if grad_c_n is None else contiguous(grad_c_n.astype(dt, copy=False)), *outs, work,
                    bool(reverse))
    return tuple(outs)


# --- convolution (x (N, C, H, W), weight (O, C / groups, kh, kw); padding (top, bottom, left, right)) ---

@argument_errors
def conv2d_output_size(h: int, w: int, kh: int, kw: int, stride, padding, dilation) -> tuple[int, int]:
    """(oh, ow), from the bindings' geometry helper: ValueError/TypeError naming the option that is out of
    bounds, or when the dilated kernel is larger than the padded input."""
    return tuple(_C.conv2d_output_size(h, w, kh, kw, tuple(stride), tuple(padding), tuple(dilation)))


@argument_errors
def conv2d_forward(x, weight, bias, stride, padding, dilation, groups: int) -> np.ndarray:
    """y (N, O, oh, ow) = conv2d(x, weight) + bias (None: no bias); the binding checks every shape."""
    check_float(x, "input")
    x, weight = contiguous(x), contiguous(weight)
    if x.ndim == 4 and weight.ndim == 4:
        oh, ow = conv2d_output_size(x.shape[2], x.shape[3], weight.shape[2], weight.shape[3], stride, padding, dilation)
        out = empty((x.shape[0], weight.shape[0], oh, ow), dtype=x.dtype)
    else:  # let the binding name what is wrong
        out = empty((0, 0, 0, 0), dtype=x.dtype)
    _C.conv2d_forward(x, weight, _opt(bias), out, tuple(stride), tuple(padding), tuple(dilation), int(groups))
    return out


def _grad_out(need: bool, into, like: np.ndarray, shape=None) -> np.ndarray | None:
    """Where a backward writes one gradient: ``into`` (an optimizer slot, ``Primitive.grad_into``) when
    given, else a new array of ``like``'s dtype and ``shape`` (default: like's shape)."""
    if not need:
        return None
    if into is not None:
        return into
    return empty(like.shape if shape is None else shape, like.dtype)


def conv2d_backward(grad_out, x, weight, stride, padding, dilation, groups: int, grads=(True, True, True),
                    into=None):
    """(grad_in, grad_weight, grad_bias), None where ``grads`` (input, weight, bias) is False; ``into``:
    {1: array for grad_weight, 2: array for grad_bias} to write instead of new arrays."""
    x, weight = contiguous(x), contiguous(weight)
    grad_out = contiguous(grad_out.astype(x.dtype, copy=False))
    need_in, need_w, need_b = grads
    into = into or {}
    gin = empty_like(x) if need_in else None
    gw = _grad_out(need_w, into.get(1), weight)
    gb = _grad_out(need_b, into.get(2), x, (weight.shape[0],))
    _C.conv2d_backward(grad_out, x, weight, gin, gw, gb, tuple(stride), tuple(padding), tuple(dilation), int(groups))
    return gin, gw, gb


# --- pooling (x (N, C, H, W) viewed as (N * C, H, W) planes; options are (rows, cols) pairs) ---------

def _planes(x: np.ndarray) -> np.ndarray:
    return x.reshape(x.shape[0] * x.shape[1], x.shape[2], x.shape[3])


@argument_errors
def pool2d_options(kernel_size, stride, padding, dilation) -> tuple:
    """((kh, kw), (sh, sw), (ph, pw), (dh, dw)) checked by the bindings' geometry helper: ints (or pairs)
    within its bounds, padding at most half the kernel (TypeError/ValueError naming the option)."""
    return tuple(tuple(v) for v in _C.pool2d_options(kernel_size, stride, padding, dilation))


@argument_errors
def pool2d_output_size(size: int, kernel: int, padding: int, stride: int, dilation: int, ceil_mode: bool) -> int:
    return _C.pool2d_output_size(size, kernel, padding, stride, dilation, bool(ceil_mode))


def _pool_out(x, kernel, stride, padding, dilation, ceil_mode) -> np.ndarray:
    oh = pool2d_output_size(x.shape[2], kernel[0], padding[0], stride[0], dilation[0], ceil_mode)
    ow = pool2d_output_size(x.shape[3], kernel[1], padding[1], stride[1], dilation[1], ceil_mode)
    return empty((x.shape[0], x.shape[1], max(oh, 0), max(ow, 0)), dtype=x.dtype)


@argument_errors
def max_pool2d_forward(x, kernel, stride, padding, dilation, ceil_mode: bool):
    """(y, indices): max of each window (-inf padding) and the int64 flat index (row * W + col) of it."""
    check_float(x, "input")
    x = contiguous(x)
    out = _pool_out(x, kernel, stride, padding, dilation, ceil_mode)
    idx = empty(out.shape, dtype=np.int64)
    _C.max_pool2d_forward(_planes(x), _planes(out), _planes(idx), tuple(kernel), tuple(stride), tuple(padding),
                          tuple(dilation), bool(ceil_mode))
    return out, idx


def max_pool2d_backward(grad_out, indices, input_shape, dtype) -> np.ndarray:
    grad_out = contiguous(grad_out.astype(dtype, copy=False))
    gin = empty(input_shape, dtype=dtype)
    _C.max_pool2d_backward(_planes(grad_out), _planes(contiguous(indices)), _planes(gin))
    return gin


@argument_errors
def avg_pool2d_forward(x, kernel, stride, padding, ceil_mode: bool, count_include_pad: bool, divisor_override=None):
    check_float(x, "input")
    x = contiguous(x)
    out = _pool_out(x, kernel, stride, padding, (1, 1), ceil_mode)
    _C.avg_pool2d_forward(_planes(x), _planes(out), tuple(kernel), tuple(stride), tuple(padding), bool(ceil_mode),
                          bool(count_include_pad), int(divisor_override or 0))
    return out


def avg_pool2d_backward(grad_out, input_shape, kernel, stride, padding, ceil_mode: bool, count_include_pad: bool,
                        divisor_override=None) -> np.ndarray:
    grad_out = contiguous(grad_out)
    gin = empty(input_shape, dtype=grad_out.dtype)
    _C.avg_pool2d_backward(_planes(grad_out), _planes(gin), tuple(kernel), tuple(stride), tuple(padding),
                           bool(ceil_mode), bool(count_include_pad), int(divisor_override or 0))
    return gin


def adaptive_avg_pool2d_forward(x, output_size) -> np.ndarray:
    check_float(x, "input")
    x = contiguous(x)
    out = empty((x.shape[0], x.shape[1], int(output_size[0]), int(output_size[1])), dtype=x.dtype)
    _C.adaptive_avg_pool2d_forward(_planes(x), _planes(out))
    return out


def adaptive_avg_pool2d_backward(grad_out, input_shape) -> np.ndarray:
    grad_out = contiguous(grad_out)
    gin = empty(input_shape, dtype=grad_out.dtype)
    _C.adaptive_avg_pool2d_backward(_planes(grad_out), _planes(gin))
    return gin


# --- finiteness (anomaly detection) -----------------------------------------------------------------

def all_finite(x: np.ndarray) -> bool:
    """True when ``x`` holds no NaN and no infinity (one vectorised scan; integer and bool arrays are
    always finite; float16 and complex arrays, which have no kernel, are tested by NumPy)."""
    if x.dtype in FLOAT_DTYPES:
        return _C.all_finite(contiguous(x))
    if x.dtype.kind in "fc":
        return bool(np.isfinite(x).all())
    return True


# --- reductions along dims (sum, mean, var/std, norm) ------------------------------------------------

def _reduction_view(x: np.ndarray, axes: tuple) -> tuple[np.ndarray, tuple]:
    """x as a C-contiguous (outer, n, inner) array reducing ``axes`` over n, and the shape of the result (the
    kept dims in order). Reduced dims that are adjacent merge without a copy; others are moved last (a copy)."""
    shape = x.shape
    kept = tuple(s for d, s in enumerate(shape) if d not in axes)
    if not axes:
        return contiguous(x).reshape(1, 1, -1), kept
    a, b = min(axes), max(axes)
    if b - a + 1 == len(axes):
        outer, n = math.prod(shape[:a]), math.prod(shape[a:b + 1])
        return contiguous(x).reshape(outer, n, math.prod(shape[b + 1:])), kept
    moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
    return np.ascontiguousarray(moved).reshape(math.prod(kept), math.prod(shape[d] for d in axes), 1), kept


def reduce_sum(x: np.ndarray, axes: tuple, scale: float = 1.0) -> np.ndarray:
    """scale * (sum of float x over ``axes``), the kept dims in order; double accumulation, fixed chunking."""
    x3, kept = _reduction_view(x, axes)
    out = empty(kept, dtype=x.dtype)
    _C.reduce_sum(x3, out.reshape(x3.shape[0], x3.shape[2]), scale)
    return out


def reduce_var(x: np.ndarray, axes: tuple, correction: float, take_sqrt: bool, with_mean: bool = False):
    """(variance or standard deviation over ``axes`` with ``correction``, the mean or None); two-pass, double."""
    x3, kept = _reduction_view(x, axes)
    out = empty(kept, dtype=x.dtype)
    mean = empty(kept, dtype=x.dtype) if with_mean else None
    plane = (x3.shape[0], x3.shape[2])
    _C.reduce_var(x3, out.reshape(plane), None if mean is None else mean.reshape(plane), float(correction), take_sqrt)
    return out, mean


def reduce_norm(x: np.ndarray, axes: tuple, p: float) -> np.ndarray:
    """The p-norm (2, 1, inf, -inf, 0 or any p) of float x over ``axes``, in double."""
    x3, kept = _reduction_view(x, axes)
    out = empty(kept, dtype=x.dtype)
    _C.reduce_norm(x3, out.reshape(x3.shape[0], x3.shape[2]), float(p))
    return out


# --- indexing along a dim (gather, scatter, index_select, index_add) -----------------------------------

def _dim3(shape: tuple, dim: int) -> tuple[int, int, int]:
    return math.prod(shape[:dim]), (shape[dim] if shape else 1), math.prod(shape[dim + 1:])


def _region(a: np.ndarray, shape: tuple, dim: int) -> np.ndarray:
    """a[:shape[0], ..., :, ..., :shape[-1]]: the part of ``a`` an index of ``shape`` addresses (all of dim)."""
    if all(s == t for d, (s, t) in enumerate(zip(a.shape, shape)) if d != dim):
        return a
    return a[tuple(slice(None) if d == dim else slice(0, s) for d, s in enumerate(shape))]


def _check_in_place(out: np.ndarray) -> None:
    """An array updated in place must be C-contiguous: a reshape of another layout would be a copy, and the
    update would be lost."""
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out: expected a writeable C-contiguous array (updated in place), got one that is not")


def gather(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    """out[..., j, ...] = x[..., index[..., j, ...], ...] along ``dim`` (PyTorch's gather): index has x's ndim,
    index.shape[d] <= x.shape[d] for d != dim; out has index's shape and x's dtype."""
    xr = contiguous(_region(x, index.shape, dim))
    index = np.ascontiguousarray(index, dtype=np.int64)
    out = empty(index.shape, dtype=x.dtype)
    if out.size:
        outer, m, inner = _dim3(index.shape, dim)
        with _index_bounds(dim):
            _C.gather(xr.reshape(outer, xr.shape[dim] if xr.ndim else 1, inner), index.reshape(outer, m, inner),
                      out.reshape(outer, m, inner))
    return out


@contextlib.contextmanager
def _index_bounds(dim: int):
    """An index out of range as PyTorch's RuntimeError and message (ArgumentError), raised here rather than
    by the frontend so that a compiled step's replay of the kernel raises it alike."""
    try:
        yield
    except IndexError as e:
        raise ArgumentError(str(e).replace("index: ", "").replace("for size", f"for dimension {dim} with size")) \
            from None


def scatter_(out: np.ndarray, dim: int, index: np.ndarray, src: np.ndarray, reduce: str = "assign") -> np.ndarray:
    """In place, for j in order: out[..., index[..., j, ...], ...] (op)= src[..., j, ...] along ``dim``, op
    'assign', 'add', 'multiply', 'amax', 'amin'; out C-contiguous; src at least index's size in every dim."""
    _check_in_place(out)
    index = np.ascontiguousarray(index, dtype=np.int64)
    if index.size == 0:
        return out
    if src.shape != index.shape:  # src may be larger than index in every dim: the corner index addresses
        src = src[tuple(slice(0, s) for s in index.shape)]
    src = contiguous(src).astype(out.dtype, copy=False)
    region = _region(out, index.shape, dim)
    work = region if region is out else np.ascontiguousarray(region)
    outer, m, inner = _dim3(index.shape, dim)
    with _index_bounds(dim):
        _C.scatter(work.reshape(outer, out.shape[dim] if out.ndim else 1, inner), index.reshape(outer, m, inner),
                   src.reshape(outer, m, inner), reduce)
    if work is not region:
        region[...] = work
    return out


def index_select(x: np.ndarray, dim: int, index: np.ndarray) -> np.ndarray:
    """x's slices at ``index`` (1-D) along ``dim``."""
    index = np.ascontiguousarray(index, dtype=np.int64).reshape(-1)
    shape = list(x.shape) or [1]
    outer, n, inner = _dim3(tuple(shape), dim)
    shape[dim] = index.size
    out = empty(shape if x.ndim else (index.size,), dtype=x.dtype)
    if out.size or index.size:
        _C.index_select(contiguous(x).reshape(outer, n, inner), index, out.reshape(outer, index.size, inner))
    return out


def index_add_(out: np.ndarray, dim: int, index: np.ndarray, src: np.ndarray, alpha=1) -> np.ndarray:
    """In place, for j in order: out[..., index[j], ...] += alpha * src[..., j, ...] along ``dim``."""
    _check_in_place(out)
    index = np.ascontiguousarray(index, dtype=np.int64).reshape(-1)
    outer, n, inner = _dim3(out.shape or (1,), dim)
    _C.index_add(out.reshape(outer, n, inner), index,
                 contiguous(src.astype(out.dtype, copy=False)).reshape(outer, index.size, inner), alpha)
    return out


# --- sorting along a dim ---------------------------------------------------------------------------------

def sort(x: np.ndarray, dim: int, descending: bool = False, values: bool = True):
    """(values or None, int64 indices): a stable sort along ``dim`` (NaN largest)."""
    outer, n, inner = _dim3(x.shape or (1,), dim)
    indices = empty(x.shape, dtype=np.int64)
    vals = empty(x.shape, dtype=x.dtype) if values else None
    _C.sort(contiguous(x).reshape(outer, n, inner), None if vals is None else vals.reshape(outer, n, inner),
            indices.reshape(outer, n, inner), descending)
    return vals, indices


def topk(x: np.ndarray, dim: int, k: int, largest: bool = True):
    """(values, int64 indices) of the k largest (or smallest) along ``dim``, in order, ties by index."""
    outer, n, inner = _dim3(x.shape or (1,), dim)
    shape = list(x.shape) or [1]
    shape[dim] = k
    values, indices = empty(shape, dtype=x.dtype), empty(shape, dtype=np.int64)
    _C.topk(contiguous(x).reshape(outer, n, inner), k, largest, values.reshape(outer, k, inner),
            indices.reshape(outer, k, inner))
    return values, indices
def adaptive_max_pool2d_forward(x, output_size):
    """(y, indices): the max of each adaptive window and its int64 flat index; the backward is
    ``max_pool2d_backward``."""
    check_float(x, "input")
    x = contiguous(x)
    out = empty((x.shape[0], x.shape[1], int(output_size[0]), int(output_size[1])), dtype=x.dtype)
    idx = empty(out.shape, dtype=np.int64)
    _C.adaptive_max_pool2d_forward(_planes(x), _planes(out), _planes(idx))
    return out, idx


# --- transposed convolution (x (N, Ci, H, W), weight (Ci, Co / groups, kh, kw); pairs (rows, cols)) ------

def conv_transpose2d_output_size(h: int, w: int, kh: int, kw: int, stride, padding, output_padding,
                                 dilation) -> tuple[int, int]:
    """(oh, ow) = (h - 1) stride - 2 padding + dilation (k - 1) + output_padding + 1, per axis, from the
    bindings' geometry helper: ValueError/TypeError naming an option out of bounds or an empty output."""
    return tuple(_C.conv_transpose2d_output_size(h, w, kh, kw, tuple(stride), tuple(padding), tuple(output_padding),
                                                 tuple(dilation)))


def conv_transpose2d_forward(x, weight, bias, stride, padding, output_padding, dilation, groups: int) -> np.ndarray:
    """y (N, Co, oh, ow) = conv_transpose2d(x, weight) + bias (None: no bias); the binding checks every shape."""
    check_float(x, "input")
    x, weight = contiguous(x), contiguous(weight)
    shape = (0, 0, 0, 0)  # when the shapes do not fit, the binding names what is wrong
    if x.ndim == 4 and weight.ndim == 4 and x.shape[2] > 0 and x.shape[3] > 0:
        oh, ow = conv_transpose2d_output_size(x.shape[2], x.shape[3], weight.shape[2], weight.shape[3], stride,
                                              padding, output_padding, dilation)
        shape = (x.shape[0], weight.shape[1] * int(groups), oh, ow)
    out = empty(shape, dtype=x.dtype)
    _C.conv_transpose2d_forward(x, weight, _opt(bias), out, tuple(stride), tuple(padding), tuple(output_padding),
                                tuple(dilation), int(groups))
    return out


def conv_transpose2d_backward(grad_out, x, weight, stride, padding, output_padding, dilation, groups: int,
                              grads=(True, True, True), into=None):
    """(grad_in, grad_weight, grad_bias), None where ``grads`` (input, weight, bias) is False; ``into`` as
    for ``conv2d_backward``."""
    x, weight = contiguous(x), contiguous(weight)
    grad_out = contiguous(grad_out.astype(x.dtype, copy=False))
    need_in, need_w, need_b = grads
    into = into or {}
    gin = empty_like(x) if need_in else None
    gw = _grad_out(need_w, into.get(1), weight)
    gb = _grad_out(need_b, into.get(2), x, (weight.shape[1] * int(groups),))
    _C.conv_transpose2d_backward(grad_out, x, weight, gin, gw, gb, tuple(stride), tuple(padding),
                                 tuple(output_padding), tuple(dilation), int(groups))
    return gin, gw, gb


# --- embedding (weight (num, dim); indices of any shape, int64 or int32, passed flat) --------------------

BAG_MODES = {"sum": 0, "mean": 1, "max": 2}


def _flat_indices(indices: np.ndarray) -> np.ndarray:
    return contiguous(indices).reshape(-1)


def embedding_forward(weight, indices) -> np.ndarray:
    """out (*indices.shape, dim) = weight[indices]; IndexError for an index outside [0, num)."""
    check_float(weight, "weight")
    weight = contiguous(weight)
    dim = weight.shape[1] if weight.ndim == 2 else 0  # else the binding names what is wrong
    out = empty((indices.size, dim), dtype=weight.dtype)
    _C.embedding_forward(weight, _flat_indices(indices), out)
    return out.reshape(indices.shape + (dim,))


def embedding_backward(grad_out, indices, num: int, padding_idx: int, scale_grad_by_freq: bool) -> np.ndarray:
    """grad_weight (num, dim): grad_out (*indices.shape, dim) added into the rows indices (padding_idx < 0:
    none), deterministic on any number of threads."""
    grad_out = contiguous(grad_out)
    dim = grad_out.shape[-1]
    gw = empty((num, dim), dtype=grad_out.dtype)
    _C.embedding_backward(grad_out.reshape(indices.size, dim), _flat_indices(indices), gw, int(padding_idx),
                          bool(scale_grad_by_freq))
    return gw


def embedding_renorm(weight, indices, max_norm: float, norm_type: float) -> None:
    """In place (weight writeable): the rows of weight that indices holds whose norm_type-norm exceeds max_norm
    are scaled to max_norm (PyTorch's embedding_renorm_)."""
    with updated_in_place(weight) as w:
        _C.embedding_renorm(w, _flat_indices(indices), float(max_norm), float(norm_type))


def embedding_bag_forward(weight, indices, starts, per_sample_weights, mode: str, padding_idx: int):
    """(out (bags, dim), bag_size (bags,), max_indices (bags, dim) or None) of the bags
    [starts[b], starts[b + 1]) of the 1-D indices; mode 'sum', 'mean' or 'max'."""
    check_float(weight, "weight")
    weight = contiguous(weight)
    bags = max(len(starts) - 1, 0)
    dim = weight.shape[1] if weight.ndim == 2 else 0
    out = empty((bags, dim), dtype=weight.dtype)
    bag_size = empty(bags, dtype=np.int64)
    max_indices = empty((bags, dim), dtype=np.int64) if mode == "max" else None
    _C.embedding_bag_forward(weight, _flat_indices(indices), contiguous(starts), _opt(per_sample_weights), out,
                             bag_size, max_indices, BAG_MODES[mode], int(padding_idx))
    return out, bag_size, max_indices


def embedding_bag_backward(grad_out, indices, starts, per_sample_weights, bag_size, max_indices, num: int,
                           mode: str, padding_idx: int, scale_grad_by_freq: bool) -> np.ndarray:
    grad_out = contiguous(grad_out)
    gw = empty((num, grad_out.shape[1]), dtype=grad_out.dtype)
    _C.embedding_bag_backward(grad_out, _flat_indices(indices), contiguous(starts), _opt(per_sample_weights),
                              bag_size, max_indices, gw, BAG_MODES[mode], int(padding_idx), bool(scale_grad_by_freq))
    return gw


def embedding_bag_per_sample_weights_backward(grad_out, weight, indices, starts, padding_idx: int) -> np.ndarray:
    grad_out, weight = contiguous(grad_out), contiguous(weight)
    gp = empty(indices.size, dtype=weight.dtype)
    _C.embedding_bag_per_sample_weights_backward(grad_out, weight, _flat_indices(indices), contiguous(starts), gp,
                                                 int(padding_idx))
    return gp


# --- upsampling (x (N, C, H, W) viewed as (N * C, H, W) planes; 1-D input as planes of height 1) ---------

def upsample_forward(x, size, mode: str, scales, align_corners: bool, legacy_nearest: bool = False) -> np.ndarray:
    """y (N, C, *size): mode 'nearest', 'nearest-exact' or 'linear' (bilinear); scales (rows, cols) are the
    scale factors PyTorch would use, 0 for none; legacy_nearest: PyTorch's nearest_idx rule (see
    cpp/include/eigengrad/upsample.hpp)."""
    check_float(x, "input")
    x = contiguous(x)
    out = empty((x.shape[0], x.shape[1], int(size[0]), int(size[1])), dtype=x.dtype)
    _C.upsample_forward(_planes(x), _planes(out), mode, float(scales[0]), float(scales[1]), bool(align_corners),
                        bool(legacy_nearest))
    return out


def upsample_backward(grad_out, input_shape, mode: str, scales, align_corners: bool,
                      legacy_nearest: bool = False) -> np.ndarray:
    grad_out = contiguous(grad_out)
    gin = empty(input_shape, dtype=grad_out.dtype)
    _C.upsample_backward(_planes(grad_out), _planes(gin), mode, float(scales[0]), float(scales[1]),
                         bool(align_corners), bool(legacy_nearest))
    return gin

# --- scaled dot-product attention (q (B, Hq, L, E), k (B, Hk, S, E), v (B, Hk, S, Ev)) -----------------

NO_DROPOUT = (0, 0, 1 << 32, 1.0)  # (seed, offset, threshold, keep_scale): keep every element

# The most weights (B Hq L S elements) the forward keeps for the backward: 64 MiB of float32. Beyond it
# the backward recomputes them (one GEMM in seven more), as it always does for keys longer than a block.
KEPT_WEIGHTS_LIMIT = 1 << 24


def attention_weights_buffer(q, k, causal: bool):
    """An empty (B, Hq, L, S) array for the forward to keep the weights in, or None where it does not pay
    or is not possible: keys longer than one key block (``attention_keeps_weights``), or more than
    ``KEPT_WEIGHTS_LIMIT`` elements. Depends on the shapes only (so the bits do too)."""
    if q.ndim != 4 or k.ndim != 4 or not _C.attention_keeps_weights(k.shape[2], bool(causal)):
        return None
    shape = q.shape[:3] + k.shape[2:3]
    return empty(shape, q.dtype) if math.prod(shape) <= KEPT_WEIGHTS_LIMIT else None


def attention_forward(q, k, v, mask, scale: float, causal: bool, dropout=NO_DROPOUT, weights=None):
    """(out (B, Hq, L, Ev), lse (B, Hq, L)) of softmax(scale q k^T + mask) v, fused (attention.hpp).

    ``mask``: None or a (B, Hq, L, S) bool or float array, read through its strides (a broadcast view
    is not copied); ``dropout`` = (seed, offset, threshold, keep_scale) of the weights' dropout draw;
    ``weights``: None, or an ``attention_weights_buffer`` that receives the weights (before dropout)."""
    check_float(q, "query")
    q, k, v = contiguous(q), contiguous(k), contiguous(v)
    out = empty(q.shape[:3] + v.shape[3:] if q.ndim == 4 and v.ndim == 4 else (0, 0, 0, 0), q.dtype)
    lse = empty(q.shape[:3] if q.ndim == 4 else (0, 0, 0), q.dtype)
    _C.attention_forward(q, k, v, mask, out, lse, weights, float(scale), bool(causal), *dropout)
    return out, lse


def attention_backward(q, k, v, out, lse, grad_out, mask, scale: float, causal: bool, dropout=NO_DROPOUT,
                       mask_grad: bool = False, weights=None, grads_out=None):
    """(grad_q, grad_k, grad_v, grad_mask) of ``attention_forward``; grad_mask (B, Hq, L, S), the gradient
    of an additive mask, only when ``mask_grad`` (else None). ``weights``: the forward's kept weights (then
    not recomputed), or None. ``grads_out``: None, or (grad_q, grad_k, grad_v) arrays to write into."""
    q, k, v = contiguous(q), contiguous(k), contiguous(v)
    grad_out = contiguous(grad_out.astype(q.dtype, copy=False))
    dq, dk, dv = (empty_like(q), empty_like(k), empty_like(v)) if grads_out is None else grads_out
    dmask = empty(q.shape[:3] + k.shape[2:3], q.dtype) if mask_grad else None
    _C.attention_backward(q, k, v, contiguous(out), contiguous(lse), weights, grad_out, mask, dq, dk, dv, dmask,
                          float(scale), bool(causal), *dropout)
    return dq, dk, dv, dmask
