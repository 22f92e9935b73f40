"""The top-level ATen forms of nn.functional operations that PyTorch exposes with their own argument orders and
enums (found missing by comparing ``dir(torch)`` with eigengrad's), each a call of eigengrad's nn.functional
operation: ``torch.embedding(weight, indices)``, ``torch.batch_norm(input, weight, bias, running_mean, ...)``,
``torch.convolution``, the recurrent cells (nn.RNNCell's fused step), the in-place and per-feature dropouts, and the
losses with the reduction as PyTorch's integer enum (1 = mean, 2 = sum, other ints none; unreduced when left out,
as PyTorch's Python bindings do)."""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from eigengrad._errors import ArgumentError
from eigengrad.autograd import inplace
from eigengrad.tensor_ops.ported_names import _check_tensor, _tensor_cls


def _F():
    from eigengrad.nn import functional

    return functional


# --- dropout and activations, in place and per feature ------------------------------------------------------

def _checked_p(input, p, name: str) -> None:
    _check_tensor(name, input)
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ArgumentError(f"dropout probability has to be between 0 and 1, but got {p}")


def feature_dropout(input, p: float, train: bool):
    """Dropout of whole features: each (sample, channel) slice of input (N, C, *) kept with probability 1 - p and
    scaled by 1 / (1 - p) (``torch.feature_dropout``; for 2-D input, single elements)."""
    from eigengrad.nn import _functional_dropout

    _checked_p(input, p, "feature_dropout")
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return _functional_dropout._channel_dropout(input, input.shape[0] * input.shape[1], float(p), bool(train), None)


def feature_alpha_dropout(input, p: float, train: bool):
    """``torch.feature_alpha_dropout``: :func:`eigengrad.nn.functional.feature_alpha_dropout` with ``train``."""
    _checked_p(input, p, "feature_alpha_dropout")
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return _F().feature_alpha_dropout(input, p, train)


def dropout_(input, p: float, train: bool):
    """In-place ``torch.dropout``: F.dropout's ``inplace=True`` (autograd.inplace's rules)."""
    _checked_p(input, p, "dropout_")
    return _F().dropout(input, p, train, inplace=True)


def alpha_dropout_(input, p: float, train: bool):
    """In-place ``torch.alpha_dropout``: F.alpha_dropout's ``inplace=True``."""
    _checked_p(input, p, "alpha_dropout_")
    return _F().alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout_(input, p: float, train: bool):
    """In-place ``torch.feature_alpha_dropout``: F.feature_alpha_dropout's ``inplace=True``."""
    _checked_p(input, p, "feature_alpha_dropout_")
    if input.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    return _F().feature_alpha_dropout(input, p, train, inplace=True)


def feature_dropout_(input, p: float, train: bool):
    """In-place ``torch.feature_dropout`` (autograd.inplace's rules, as F's in-place dropouts)."""
    _check_tensor("feature_dropout_", input)
    return inplace.functional(input, "feature_dropout_", feature_dropout, p, train)


def affine_grid_generator(theta, size, align_corners: bool):
    return _F().affine_grid(theta, size, align_corners)


# --- ATen's argument orders: embedding, normalisation, padding, convolution, recurrent cells ------------------

def embedding(weight, indices, padding_idx: int = -1, scale_grad_by_freq: bool = False, sparse: bool = False):
    """``torch.embedding(weight, indices, ...)``: rows of weight (F.embedding with the weight first; a negative
    padding_idx is no padding row)."""
    _check_tensor("embedding", weight, "weight")
    padding = None if padding_idx is None or padding_idx < 0 else padding_idx
    return _F().embedding(indices, weight, padding_idx=padding, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


_BAG_MODES = {0: "sum", 1: "mean", 2: "max"}


def embedding_bag(weight, indices, offsets, scale_grad_by_freq: bool = False, mode: int = 0, sparse: bool = False,
                  per_sample_weights=None, include_last_offset: bool = False, padding_idx=None):
    """``torch.embedding_bag(weight, indices, offsets, ...)``: (output, offset2bag, bag_size, max_indices), output
    F.embedding_bag's (mode 0 sum, 1 mean, 2 max; indices 1-D) and the bookkeeping tensors of PyTorch's CPU kernel:
    offset2bag the bag of each index (empty for an unpadded float32 sum), bag_size the non-padding indices of each bag
    (zeros for sum), max_indices the row giving each maximum (max), bag_size again (mean) or zeros (sum)."""
    _check_tensor("embedding_bag", weight, "weight")
    if mode not in _BAG_MODES:
        raise RuntimeError(f"embedding_bag: mode has to be 0 (sum), 1 (mean) or 2 (max), got {mode}")
    if getattr(indices, "ndim", 0) != 1 or getattr(offsets, "ndim", 0) != 1:
        raise RuntimeError("embedding_bag: expected 1-D indices and 1-D offsets")
    pad = None if padding_idx is None or padding_idx < 0 else int(padding_idx)
    out = _F().embedding_bag(indices, weight, offsets, None, 2, scale_grad_by_freq, _BAG_MODES[mode], sparse,
                             per_sample_weights, include_last_offset, pad)
    idx, offs = indices._data.astype(np.int64), offsets._data.astype(np.int64)
    bags = len(offs) - 1 if include_last_offset else len(offs)
    ends = np.append(offs[1:], idx.size)[:bags] if not include_last_offset else offs[1:]
    bag_of = np.zeros(idx.size, dtype=np.int64)
    size = np.zeros(bags, dtype=np.int64)
    arg = np.zeros((bags, weight.shape[1]), dtype=np.int64)
    w = weight._data
    for b in range(bags):
        bag_of[offs[b]:ends[b]] = b
        rows = idx[offs[b]:ends[b]]
        rows = rows[rows != pad] if pad is not None else rows
        size[b] = rows.size
        if mode == 2 and rows.size:
            arg[b] = rows[np.argmax(w[rows], axis=0)]
    wrap = _tensor_cls()._wrap
    # PyTorch's CPU kernel paths: its float32 unpadded sum leaves offset2bag empty; sum's zeros have one entry per
    # offset (include_last_offset's too) unless weight's gradient is recorded (then one per bag)
    from eigengrad.autograd import is_grad_enabled

    fast = mode == 0 and pad is None and weight._data.dtype == np.float32
    offset2bag = wrap(np.zeros(0, dtype=np.int64) if fast else bag_of)
    zeros = np.zeros(bags if weight.requires_grad and is_grad_enabled() else len(offs), dtype=np.int64)
    bag_size = wrap(size if mode else zeros)
    max_indices = wrap(arg if mode == 2 else size.copy() if mode == 1 else zeros.copy())
    return out, offset2bag, bag_size, max_indices


def batch_norm(input, weight, bias, running_mean, running_var, training: bool, momentum: float, eps: float,
               cudnn_enabled: bool):
    return _F().batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool):
    return _F().instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def native_layer_norm(input, normalized_shape, weight, bias, eps: float):
    """(output, mean, rstd): F.layer_norm and the statistics over the normalized dims (kept as size-1 dims)."""
    _check_tensor("native_layer_norm", input)
    shape = (normalized_shape,) if isinstance(normalized_shape, numbers.Integral) else tuple(normalized_shape)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    out = _F().layer_norm(input, shape, weight, bias, eps)
    mean = input.mean(dim=dims, keepdim=True)
    rstd = (input.var(dim=dims, unbiased=False, keepdim=True) + eps).rsqrt()
    return out, mean, rstd


def constant_pad_nd(input, pad, value=0):
    return _F().pad(input, list(pad), "constant", value)


def _tuple(v, n: int) -> tuple:
    return tuple(v) if isinstance(v, (list, tuple)) else (v,) * n


def convolution(input, weight, bias, stride, padding, dilation, transposed: bool, output_padding, groups: int):
    """``torch.convolution``: conv1d/2d/3d or their transposes, chosen by weight's dims and ``transposed``."""
    _check_tensor("convolution", input)
    n = weight.ndim - 2
    if n not in (1, 2, 3):
        raise RuntimeError(f"convolution: expected a 3-D, 4-D or 5-D weight, got {weight.ndim}-D")
    stride, padding, dilation = (_tuple(v, n) for v in (stride, padding, dilation))
    F = _F()
    if transposed:
        fn = getattr(F, f"conv_transpose{n}d")
        return fn(input, weight, bias, stride, padding, _tuple(output_padding, n), groups, dilation)
    return getattr(F, f"conv{n}d")(input, weight, bias, stride, padding, dilation, groups)


def conv_tbc(input, weight, bias, pad: int = 0):
    """Convolution over time of input (time, batch, in_channels) with weight (kernel, in_channels, out_channels)
    and bias (out_channels,), ``pad`` zeros at both ends of time: (time', batch, out_channels)."""
    _check_tensor("conv_tbc", input)
    if input.ndim != 3 or weight.ndim != 3 or bias.ndim != 1:
        raise RuntimeError(f"conv_tbc: expected a 3-D input, a 3-D weight and a 1-D bias, got {input.ndim}-D, "
                           f"{weight.ndim}-D and {bias.ndim}-D")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError(f"conv_tbc: input has {input.shape[2]} channels but the weight expects {weight.shape[1]}")
    out = _F().conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return out.permute(2, 0, 1)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1, ceil_mode: bool = False):
    stride = None if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else stride
    return _F().max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices=True)


def _cell_step(name: str, mode: str, input, h, c, w_ih, w_hh, b_ih, b_hh):
    from eigengrad.autograd.ops_rnn import RecurrentLayer

    _check_tensor(name, input)
    if input.ndim != 2 or h.ndim != 2:
        raise RuntimeError(f"{name}: expected a 2-D input (batch, input_size) and 2-D state (batch, hidden_size), "
                           f"got {input.ndim}-D and {h.ndim}-D")
    hidden, gates = h.shape[1], w_ih.shape[0]
    if input.shape[1] != w_ih.shape[1]:
        raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} expected {w_ih.shape[1]}")
    if gates != w_hh.shape[0] or w_hh.shape[1] != hidden or h.shape[0] != input.shape[0]:
        raise RuntimeError(f"{name}: hidden state {tuple(h.shape)} does not match w_hh {tuple(w_hh.shape)} and "
                           f"input {tuple(input.shape)}")
    return RecurrentLayer.apply(input.unsqueeze(0), h, c, w_ih, w_hh, b_ih, b_hh, mode=mode)


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One step h' = tanh(x w_ih^T + b_ih + h w_hh^T + b_hh) (nn.RNNCell's fused step)."""
    return _cell_step("rnn_tanh_cell", "RNN_TANH", input, hx, None, w_ih, w_hh, b_ih, b_hh)[1]


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    return _cell_step("rnn_relu_cell", "RNN_RELU", input, hx, None, w_ih, w_hh, b_ih, b_hh)[1]


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step, gate order r, z, n (nn.GRUCell's)."""
    return _cell_step("gru_cell", "GRU", input, hx, None, w_ih, w_hh, b_ih, b_hh)[1]


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step, gate order i, f, g, o: ``hx`` is (h, c); returns (h', c') (nn.LSTMCell's)."""
    if not isinstance(hx, (list, tuple)) or len(hx) != 2:
        raise RuntimeError("lstm_cell: hx must be a sequence of two tensors (h, c)")
    out = _cell_step("lstm_cell", "LSTM", input, hx[0], hx[1], w_ih, w_hh, b_ih, b_hh)
    return out[1], out[2]


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction: str = "mean",
                         ignore_index=None, label_smoothing: float = 0.0, options=None):
    """``F.linear_cross_entropy``: cross_entropy(linear(input, linear_weight, linear_bias), target, ...), input 1-D
    or 2-D; linear_weight (C, in) or (C, d_1, ..., d_K, in) for a K-dimensional loss (logits (N, C, d_1, ...)).
    ``options`` (PyTorch's chunking, a memory saving) is accepted and not needed: the logits are formed once."""
    _check_tensor("linear_cross_entropy", input)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.ndim}")
    out_shape = tuple(linear_weight.shape[:-1])
    logits = _F().linear(input, linear_weight.reshape(-1, linear_weight.shape[-1]))
    logits = logits.reshape(tuple(input.shape[:-1]) + out_shape)
    if linear_bias is not None:
        logits = logits + linear_bias
    return _F().cross_entropy(logits, target, weight, reduction=reduction,
                              ignore_index=-100 if ignore_index is None else ignore_index,
                              label_smoothing=label_smoothing)


# --- the top-level losses: the reduction as PyTorch's enum ----------------------------------------------------

_REDUCTIONS = {1: "mean", 2: "sum"}


def _reduction(name: str, reduction) -> str:
    """PyTorch's enum: 1 mean, 2 sum, any other int none. Left out, the top-level functions do not reduce (what
    PyTorch's Python bindings do, whatever their schema's default says)."""
    if isinstance(reduction, bool) or not isinstance(reduction, numbers.Integral):
        raise TypeError(f"{name}(): argument 'reduction' must be int (0 = none, 1 = mean, 2 = sum), not "
                        f"{type(reduction).__name__}")
    return _REDUCTIONS.get(int(reduction), "none")


def kl_div(input, target, reduction: int = 0, *, log_target: bool = False):
    """Pointwise target (log target - input), reduced by the enum (1 = mean over all elements, without F's
    warning about 'batchmean': the top-level function has no 'batchmean')."""
    reduction = _reduction("kl_div", reduction)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _F().kl_div(input, target, reduction=reduction, log_target=log_target)


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction: int = 0):
    return _F().binary_cross_entropy_with_logits(input, target, weight, reduction=_reduction(
        "binary_cross_entropy_with_logits", reduction), pos_weight=pos_weight)


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, reduction: int = 0):
    return _F().cosine_embedding_loss(input1, input2, target, margin,
                                      reduction=_reduction("cosine_embedding_loss", reduction))


def hinge_embedding_loss(input, target, margin: float = 1.0, reduction: int = 0):
    return _F().hinge_embedding_loss(input, target, margin, reduction=_reduction("hinge_embedding_loss", reduction))


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, reduction: int = 0):
    return _F().margin_ranking_loss(input1, input2, target, margin,
                                    reduction=_reduction("margin_ranking_loss", reduction))


def poisson_nll_loss(input, target, log_input: bool, full: bool, eps: float, reduction: int):
    return _F().poisson_nll_loss(input, target, log_input, full, eps=eps,
                                 reduction=_reduction("poisson_nll_loss", reduction))


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                        swap: bool = False, reduction: int = 0):
    return _F().triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                    reduction=_reduction("triplet_margin_loss", reduction))


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank: int = 0, reduction: int = 0,
             zero_infinity: bool = False):
    return _F().ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                         _reduction("ctc_loss", reduction), zero_infinity)


# --- norms (the deprecated ATen names) ------------------------------------------------------------------------

def frobenius_norm(input, dim, keepdim: bool = False):
    """sqrt of the sum of squares over ``dim`` (one or two dims): ``linalg.vector_norm(input, 2, dim, keepdim)``."""
    from eigengrad import linalg

    _check_tensor("frobenius_norm", input)
    dim = (dim,) if isinstance(dim, numbers.Integral) else tuple(dim)
    if len(dim) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dim)} dimensions instead.")
    return linalg.vector_norm(input, 2, dim, keepdim)


def nuclear_norm(input, dim=None, keepdim: bool = False):
    """Sum of singular values over the two dims ``dim`` (default the last two): ``linalg.matrix_norm(input,
    'nuc', dim, keepdim)``; ``nuclear_norm(input, keepdim)`` as PyTorch's first overload."""
    from eigengrad import linalg

    _check_tensor("nuclear_norm", input)
    if isinstance(dim, bool):  # nuclear_norm(input, keepdim)
        dim, keepdim = None, dim
    dim = (-2, -1) if dim is None else tuple(dim)
    if len(dim) != 2:
        raise RuntimeError(f"nuclear_norm: expected two dims, got {len(dim)}")
    return linalg.matrix_norm(input, "nuc", dim, keepdim)


_GRID_MODES = {0: "bilinear", 1: "nearest", 2: "bicubic"}
_GRID_PADDING = {0: "zeros", 1: "border", 2: "reflection"}


def grid_sampler(input, grid, interpolation_mode: int, padding_mode: int, align_corners: bool):
    """F.grid_sample with the modes as PyTorch's enums (0 bilinear, 1 nearest, 2 bicubic; 0 zeros, 1 border,
    2 reflection)."""
    if interpolation_mode not in _GRID_MODES or padding_mode not in _GRID_PADDING:
        raise RuntimeError(f"grid_sampler: unknown interpolation_mode {interpolation_mode} or padding_mode "
                           f"{padding_mode}")
    return _F().grid_sample(input, grid, _GRID_MODES[interpolation_mode], _GRID_PADDING[padding_mode], align_corners)


METHODS = ()
FUNCTIONS = (
    "dropout_", "alpha_dropout_", "feature_dropout", "feature_dropout_", "feature_alpha_dropout",
    "feature_alpha_dropout_", "affine_grid_generator", "embedding", "embedding_bag", "batch_norm", "instance_norm",
    "native_layer_norm", "constant_pad_nd", "convolution", "conv_tbc", "max_pool1d_with_indices", "rnn_tanh_cell",
    "rnn_relu_cell", "gru_cell", "lstm_cell", "kl_div", "binary_cross_entropy_with_logits", "cosine_embedding_loss",
    "hinge_embedding_loss", "margin_ranking_loss", "poisson_nll_loss", "triplet_margin_loss", "ctc_loss",
    "frobenius_norm", "nuclear_norm", "grid_sampler",
)
