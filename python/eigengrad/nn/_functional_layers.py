"""Bilinear, instance and RMS normalisation, and im2col/col2im (``unfold``/``fold``) in functional form
(re-exported by ``eigengrad.nn.functional``). Composed of differentiable tensor operations (einsum, means,
index_select/index_add), so first- and second-order gradients come with them."""
from __future__ import annotations

import numbers

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentTypeError
from eigengrad import _trace
from eigengrad.autograd.ops import numpy_call
from eigengrad.nn._functional_activation import _tensor
from eigengrad.tensor import Tensor


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y_k = x1^T A_k x2 + b_k for x1 (*, in1), x2 (*, in2), A (out, in1, in2), b (out,)."""
    _tensor(input1, "input1"), _tensor(input2, "input2"), _tensor(weight, "weight")
    if weight.ndim != 3:
        raise ArgumentError(f"bilinear(): weight must be three-dimensional, but got {weight.ndim}")
    if input1.shape[:-1] != input2.shape[:-1]:
        raise ArgumentError(f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} and "
                            f"{list(input2.shape[:-1])}")
    if input1.ndim == 0 or input1.shape[-1] != weight.shape[1]:
        raise ArgumentError("bilinear(): input1 size does not match weight size: got "
                            f"{input1.shape[-1] if input1.ndim else 0} but "
                            f"expected {weight.shape[1]}")
    if input2.shape[-1] != weight.shape[2]:
        raise ArgumentError(f"bilinear(): input2 size does not match weight size: got {input2.shape[-1]} but "
                            f"expected {weight.shape[2]}")
    lead = input1.shape[:-1]
    a = input1.reshape(-1, weight.shape[1])
    b = input2.reshape(-1, weight.shape[2])
    out, in1, in2 = weight.shape
    left = a @ weight.permute(1, 0, 2).reshape(in1, out * in2)  # (B, out * in2): x1^T A_k for every k
    y = (left.reshape(-1, out, in2) * b.unsqueeze(1)).sum(2)
    if bias is not None:
        y = y + _tensor(bias, "bias")
    return y.reshape(*lead, weight.shape[0])


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalisation (Ulyanov et al., 2016): each (sample, channel) of ``input`` (N, C, *)
    normalised over its spatial dims, y = (x - mean) / sqrt(var + eps) * weight + bias. With
    ``use_input_stats`` the running statistics (when given) are updated in place with the batch mean of
    the per-instance statistics (the unbiased variance), r = (1 - momentum) r + momentum * stat; without it
    the running statistics normalise."""
    x = _tensor(input)
    if x.ndim < 3 and use_input_stats:
        raise ArgumentError(f"Expected more than 1 spatial element when training, got input size {list(x.shape)}")
    if x.ndim < 2:
        raise ArgumentError(f"instance_norm: expected input of shape (N, C, *), got {list(x.shape)}")
    spatial = tuple(range(2, x.ndim))
    count = int(np.prod(x.shape[2:]))
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t._data.size != c:  # PyTorch's numbers: the statistics repeated over the batch
            raise ArgumentError(f"{name} should contain {x.shape[0] * c} elements not {x.shape[0] * t._data.size}")
    for name, t in (("weight", weight), ("bias", bias)):  # PyTorch: RuntimeError (the running stats may differ)
        if t is not None and t.dtype != x.dtype:
            raise ArgumentTypeError(f"{name}: expected dtype {x.dtype} (the dtype of input), got {t.dtype} "
                                    "(PyTorch: mixed dtype (CPU): all inputs must share same datatype)")
    if use_input_stats:
        if count <= 1:
            raise ArgumentError(f"Expected more than 1 spatial element when training, got input size {list(x.shape)}")
        mean = x.mean(spatial, keepdim=True)
        var = ((x - mean) ** 2).mean(spatial, keepdim=True)
        _update_running(running_mean, running_var, mean._data, var._data, count, momentum)
    else:
        if running_mean is None or running_var is None:
            raise ArgumentError("Expected running_mean and running_var to be defined when use_input_stats is false")
        shape = (1, c) + (1,) * len(spatial)
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    y = (x - mean) / (var + eps).sqrt()
    shape = (1, c) + (1,) * len(spatial)
    if weight is not None:
        y = y * _tensor(weight, "weight").reshape(shape)
    if bias is not None:
        y = y + _tensor(bias, "bias").reshape(shape)
    return y


def _update_running(running_mean, running_var, mean: np.ndarray, var: np.ndarray, count: int, momentum) -> None:
    """The running statistics' update, each an in-place step that eg.compile replays (``_trace.inplace``)."""
    m = 0.0 if momentum is None else float(momentum)
    for t in (running_mean, running_var):  # (an expanded tensor: PyTorch's error for an in-place write into it)
        if t is not None and any(s == 0 and n > 1 for s, n in zip(t._data.strides, t._data.shape)):
            raise ArgumentError("unsupported operation: more than one element of the written-to tensor refers to a "
                                "single memory location. Please clone() the tensor before performing the operation.")
    if running_mean is not None:
        _trace.inplace("instance_norm_running_mean", _running_mean_update, running_mean._data, mean, m)
    if running_var is not None:
        _trace.inplace("instance_norm_running_var", _running_var_update, running_var._data, var, m, count)


def _running_mean_update(rm: np.ndarray, mean: np.ndarray, m: float) -> None:
    rm[...] = (1 - m) * rm + m * mean.reshape(mean.shape[:2]).mean(0)


def _running_var_update(rv: np.ndarray, var: np.ndarray, m: float, count: int) -> None:
    rv[...] = (1 - m) * rv + m * (var.reshape(var.shape[:2]) * (count / (count - 1))).mean(0)


def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """RMS normalisation (Zhang & Sennrich, 2019) over the trailing dims ``normalized_shape``:
    y = x / sqrt(mean(x^2) + eps) * weight; eps defaults to the dtype's machine epsilon (PyTorch)."""
    x = _tensor(input)
    ns = (int(normalized_shape),) if isinstance(normalized_shape, numbers.Integral) else tuple(normalized_shape)
    k = len(ns)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != ns:
        raise ArgumentError(f"Given normalized_shape={list(ns)}, expected input with shape [*"
                            f"{', '.join(map(str, ns))}], but got input of size{list(x.shape)}")
    if weight is not None and tuple(_tensor(weight, "weight").shape) != ns:
        raise ArgumentError(f"Expected weight to be of same shape as normalized_shape, but got weight of shape "
                            f"{list(weight.shape)} and normalized_shape = {list(ns)}")
    if eps is None:
        eps = float(np.finfo(x.dtype).eps)
    dims = tuple(range(x.ndim - k, x.ndim))
    y = x * ((x * x).mean(dims, keepdim=True) + eps).rsqrt()
    if weight is not None:
        y = y * _tensor(weight, "weight")
    return y


# --- im2col / col2im -------------------------------------------------------------------------------------

def _pair(v, name: str) -> tuple:
    vals = (v, v) if isinstance(v, numbers.Integral) else tuple(v)
    if len(vals) != 2 or not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in vals):
        raise TypeError(f"{name}: expected an int or a pair of ints, got {v!r}")
    return int(vals[0]), int(vals[1])


def _geometry(kernel_size, dilation, padding, stride) -> tuple:
    k, d, p, s = (_pair(kernel_size, "kernel_size"), _pair(dilation, "dilation"), _pair(padding, "padding"),
                  _pair(stride, "stride"))
    if min(k) <= 0:
        raise ArgumentError(f"kernel size should be greater than zero, but got kernel_height: {k[0]} kernel_width: "
                            f"{k[1]}")
    if min(d) <= 0:
        raise ArgumentError(f"dilation should be greater than zero, but got dilation_height: {d[0]} dilation_width: "
                            f"{d[1]}")
    if min(p) < 0:
        raise ArgumentError(f"padding should be non-negative, but got pad_height: {p[0]} pad_width: {p[1]}")
    if min(s) <= 0:
        raise ArgumentError(f"stride should be greater than zero, but got stride_height: {s[0]} stride_width: {s[1]}")
    return k, d, p, s


def _blocks(size: tuple, k, d, p, s) -> tuple:
    return tuple((size[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2))


def _column_index(padded: tuple, k, d, s, blocks: tuple) -> np.ndarray:
    """Flat indices into the padded (Hp * Wp) plane, ordered (ki, kj, block row, block col)."""
    ki, kj, bi, bj = np.meshgrid(np.arange(k[0]), np.arange(k[1]), np.arange(blocks[0]), np.arange(blocks[1]),
                                 indexing="ij")
    rows = bi * s[0] + ki * d[0]
    cols = bj * s[1] + kj * d[1]
    return (rows * padded[1] + cols).reshape(-1).astype(np.int64)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """im2col: the sliding blocks of ``input`` (N, C, H, W) (or (C, H, W)) as columns,
    (N, C * kh * kw, L) with L the number of blocks; zero padding."""
    x = _tensor(input)
    if x.ndim < 3:  # PyTorch indexes dim 2 before it checks
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(x.ndim, 1)}, "
                         f"{max(x.ndim, 1) - 1}], but got 2)")
    if x.ndim > 4:
        raise ArgumentError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                            f"dimensions for input, but got: {list(x.shape)}")
    k, d, p, s = _geometry(kernel_size, dilation, padding, stride)
    batched = x if x.ndim == 4 else x.unsqueeze(0)
    n, c, h, w = batched.shape
    blocks = _blocks((h, w), k, d, p, s)
    if min(blocks) < 1:
        raise ArgumentError(f"Given input with spatial size ({h}, {w}), kernel_size=({k[0]}, {k[1]}), dilation=("
                            f"{d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), calculated shape of the array of sliding "
                            f"blocks as ({blocks[0]}, {blocks[1]}), but its components must be at least one.")
    from eigengrad.nn._functional_pad import pad

    padded = pad(batched, (p[1], p[1], p[0], p[0])) if max(p) else batched
    hp, wp = h + 2 * p[0], w + 2 * p[1]
    index = numpy_call(_column_index, (hp, wp), k, d, s, blocks)  # (a compiled step makes it at every call)
    cols = padded.reshape(n, c, hp * wp).index_select(2, Tensor._wrap(index))
    out = cols.reshape(n, c * k[0] * k[1], blocks[0] * blocks[1])
    return out if x.ndim == 4 else out.squeeze(0)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """col2im: columns (N, C * kh * kw, L) (or unbatched (C * kh * kw, L)) summed back into an image
    (N, C, H, W) of ``output_size``; overlapping blocks add up (the adjoint of :func:`unfold`)."""
    x = _tensor(input)
    if x.ndim not in (2, 3):
        raise ArgumentError(f"Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
                            f"non-zero dimensions for input, but got: {list(x.shape)}")
    size = _pair(output_size, "output_size")
    k, d, p, s = _geometry(kernel_size, dilation, padding, stride)
    batched = x if x.ndim == 3 else x.unsqueeze(0)
    n, ckk, length = batched.shape
    if ckk % (k[0] * k[1]):
        raise ArgumentError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                            f"but got input.size(1)={ckk} and kernel_size=({k[0]}, {k[1]})")
    blocks = _blocks(size, k, d, p, s)
    if blocks[0] * blocks[1] != length:
        raise ArgumentError(f"Given output_size=({size[0]}, {size[1]}), kernel_size=({k[0]}, {k[1]}), dilation=("
                            f"{d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), stride=({s[0]}, {s[1]}), expected size of "
                            f"input's dimension 2 to match the calculated number of sliding blocks {blocks[0]} * "
                            f"{blocks[1]} = {blocks[0] * blocks[1]}, but got input.size(2)={length}.")
    c = ckk // (k[0] * k[1])
    hp, wp = size[0] + 2 * p[0], size[1] + 2 * p[1]
    index = numpy_call(_column_index, (hp, wp), k, d, s, blocks)  # (a compiled step makes it at every call)
    plane = batched.new_zeros((n, c, hp * wp)).index_add(2, Tensor._wrap(index), batched.reshape(n, c, ckk // c * length))
    out = plane.reshape(n, c, hp, wp)[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    return out if x.ndim == 3 else out.squeeze(0)
