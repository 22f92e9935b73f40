"""Functional forms of the layers (``eigengrad.nn.functional``, imported as ``F``)."""
from __future__ import annotations

import numpy as np

from eigengrad._errors import ArgumentError, ArgumentTypeError, DtypeNotSupportedError
from eigengrad.autograd import ops, ops_norm
from eigengrad.nn import _reduction as _R
from eigengrad.tensor import Tensor, as_tensor
from eigengrad.nn._functional_loss import (  # noqa: F401  (losses beyond cross_entropy and mse_loss)
    _check_smoothing, _class_weight, binary_cross_entropy, binary_cross_entropy_with_logits, distillation_loss,
    huber_loss, kl_div, l1_loss, nll_loss, smooth_l1_loss,
)


def _tensor(x, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected an eigengrad Tensor, got {type(x).__name__}")
    return x


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x W^T + b for x of shape (*, in_features), W (out_features, in_features), b (out_features,).

    One fused GEMM: the bias is added while the product is written.
    """
    _tensor(input, "input")
    _tensor(weight, "weight")
    _array_or_none(bias, "bias")
    if input.ndim == 2:
        return ops.Linear.apply(input, weight, bias)
    if input.ndim == 1:
        return ops.Linear.apply(input.reshape(1, -1), weight, bias).reshape(-1)
    lead = input.shape[:-1]
    return ops.Linear.apply(input.reshape(-1, input.shape[-1]), weight, bias).reshape(*lead, weight.shape[0])


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x)); an integer or bool input gives the default float dtype, as ``torch.sigmoid``."""
    x = _tensor(input, "input")
    return ops.Sigmoid.apply(x) if x._data.dtype.kind == "f" else x.sigmoid()


def tanh(input: Tensor) -> Tensor:
    """tanh(x); an integer or bool input gives the default float dtype, as ``torch.tanh``."""
    x = _tensor(input, "input")
    return ops.Tanh.apply(x) if x._data.dtype.kind == "f" else x.tanh()


def cross_entropy(input: Tensor, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits ``input`` against class indices or class probabilities ``target``.

    Index targets, with class weights w (default 1) and label smoothing eps (default 0), C classes::

        loss_i = (1 - eps) w[t_i] (-log softmax(x_i)[t_i]) + eps / C * sum_c w[c] (-log softmax(x_i)[c])

    Rows whose target is ``ignore_index`` add nothing; 'mean' divides the sum by sum_i w[t_i] over the
    other rows (PyTorch's weighted mean; their number without weights). The plain case (no weight, no
    smoothing) runs one fused C++ kernel, the other a fused weighted kernel (forward and backward).

    Probability targets p (a float tensor of the input's shape): p is smoothed to (1 - eps) p + eps / C
    and loss_i = -sum_c w[c] p_c log softmax(x_i)_c; 'mean' divides by the number of rows (PyTorch).

    Shapes as in PyTorch: input (N, C) with target (N,), input (C,) with a scalar target, or input
    (N, C, d1, ...) with target (N, d1, ...). Label smoothing: Szegedy et al. 2016, "Rethinking the
    Inception Architecture for Computer Vision". PyTorch's positional order; the deprecated
    ``size_average``/``reduce`` set ``reduction`` with PyTorch's warning (``eigengrad.nn._reduction``).
    """
    _tensor(input, "input")
    reduction = _R.resolve(size_average, reduce, reduction)
    if reduction not in ops._REDUCTIONS:
        reduction = _R.check(reduction)
    label_smoothing = _check_smoothing(label_smoothing)
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    shape = input._data.shape  # (the array's tuple: Tensor.shape makes a Size at every read)
    c = shape[1] if len(shape) > 1 else (shape[0] if len(shape) == 1 else 0)
    w = _class_weight(weight, input, c)
    if t.dtype.kind == "f" and t.shape == shape:
        if ignore_index != -100:  # PyTorch refuses it: a probability target has no class to ignore
            raise ArgumentError("ignore_index is not supported for floating point target")
        if isinstance(weight, Tensor) and weight.requires_grad:  # differentiable there, as in PyTorch
            w = weight
        return _cross_entropy_probabilities(input, target, reduction, w, label_smoothing)
    if t.dtype.kind not in "iu":
        from eigengrad._errors import ArgumentTypeError

        raise ArgumentTypeError(f"target: expected integer class indices, or class probabilities of the input's "
                                f"shape {input.shape}, got dtype {t.dtype} and shape {t.shape}")
    options = dict(weight=weight, ignore_index=ignore_index, reduction=reduction, label_smoothing=label_smoothing)
    if input.ndim == 1:
        if t.ndim != 0:
            raise ArgumentError(f"target: expected a scalar class index for input of shape {input.shape}, got shape "
                                f"{t.shape}")
        return cross_entropy(input.reshape(1, -1), t.reshape(1), **options).reshape(())
    if input.ndim == 0:
        raise ArgumentError("input: expected logits of shape (C,), (N, C) or (N, C, d1, ...), got a scalar")
    if input.ndim > 2:
        n = input.shape[0]
        expected = (n,) + input.shape[2:]
        if t.shape != expected:
            raise ArgumentError(f"target: expected shape {expected} for input of shape {input.shape}, got {t.shape}")
        moved = input.permute(0, *range(2, input.ndim), 1).reshape(-1, c)
        out = cross_entropy(moved, t.reshape(-1), **options)
        return out.reshape(*expected) if reduction == "none" else out
    if t.shape != (shape[0],):
        raise ArgumentError(f"target: expected shape ({input.shape[0]},) for input of shape {input.shape}, got "
                            f"{t.shape}")
    from eigengrad.autograd.ops_loss import WeightedSoftmaxCrossEntropy, check_class_indices

    try:
        if w is None and label_smoothing == 0.0:
            return ops.SoftmaxCrossEntropy.apply(input, t, reduction=reduction, ignore_index=ignore_index)
        return WeightedSoftmaxCrossEntropy.apply(input, t, weight=w, label_smoothing=label_smoothing,
                                                 reduction=reduction, ignore_index=ignore_index)
    except ValueError:  # the kernels check the indices; a bad one is PyTorch's IndexError (checked only here, so
        check_class_indices(t, c, ignore_index)  # that a training step pays nothing for it)
        raise


def _cross_entropy_probabilities(input: Tensor, target, reduction: str, weight=None,
                                 label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy against class probabilities: -sum_c w_c p_c log softmax(x)_c over the class dim (1, or
    0 for unbatched input), p smoothed to (1 - eps) p + eps / C; 'mean' averages over the remaining
    elements (PyTorch's rule)."""
    target = target if isinstance(target, Tensor) else as_tensor(target)
    # (another float dtype of the target promotes in the product below, after log_softmax in input's dtype, as
    # PyTorch's: float32 logits and float64 probabilities give a float64 loss)
    dim = 1 if input.ndim > 1 else 0
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / input.shape[dim]
    prod = target * input.log_softmax(dim)
    if weight is not None:
        shape = [1] * input.ndim
        shape[dim] = -1
        prod = prod * (weight.reshape(*shape) if isinstance(weight, Tensor) else Tensor._wrap(weight.reshape(shape)))
    losses = -prod.sum(dim)
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.mean()


def mse_loss(input: Tensor, target, size_average=None, reduce=None, reduction: str = "mean", weight=None) -> Tensor:
    """Mean-squared error mean((x - y)^2); 'sum' sums, 'none' keeps the elementwise errors. A float64
    target gives a float64 loss, a target of another shape broadcasts (with PyTorch's warning). ``weight``
    (of input's size) weighs each element; 'mean' then divides by sum(weight) (PyTorch 2.13). The
    deprecated ``size_average``/``reduce`` set ``reduction`` with PyTorch's warning."""
    from eigengrad.nn._functional_loss import _paired, _weighted

    _tensor(input, "input")
    reduction = _R.resolve(size_average, reduce, reduction)
    if weight is not None:
        if input.dtype not in (np.float32, np.float64):
            raise DtypeNotSupportedError(f"input: expected a float32 or float64 tensor, got dtype {input.dtype}")
        return _weighted(ops.MSE.apply(*_paired(input, target), reduction="none"), weight, input, reduction, True)
    if reduction not in ops._REDUCTIONS:
        reduction = _R.check(reduction)
    if input.dtype not in (np.float32, np.float64):
        raise DtypeNotSupportedError(f"input: expected a float32 or float64 tensor, got dtype {input.dtype}")
    return ops.MSE.apply(*_paired(input, target), reduction=reduction)


from eigengrad.nn._functional_activation import elu, gelu, leaky_relu, maxout, prelu, selu, softplus  # noqa: E402,F401
from eigengrad.nn._functional_activation_more import (  # noqa: E402,F401
    celu, celu_, elu_, glu, gumbel_softmax, hardshrink, hardsigmoid, hardswish, hardtanh, hardtanh_, leaky_relu_,
    log_softmax, logsigmoid, mish, relu, relu6, relu_, rrelu, rrelu_, selu_, silu, softmax, softmin, softshrink,
    softsign, tanhshrink, threshold, threshold_,
)
from eigengrad.nn._functional_dropout import (  # noqa: E402,F401
    alpha_dropout, dropout, dropout1d, dropout2d, dropout3d, feature_alpha_dropout,
)


# --- normalisation ----------------------------------------------------------------------------------

def _array_or_none(t, name: str):
    if t is None:
        return None
    if isinstance(t, Tensor):
        return t._data
    raise TypeError(f"{name}: expected an eigengrad Tensor or None, got {type(t).__name__}")


def _check_per_channel(input: Tensor, channels: int | None, **tensors) -> None:
    """PyTorch's RuntimeErrors for the per-channel tensors of a normalisation (weight, bias, running
    statistics): each of ``input``'s dtype (``ArgumentTypeError``) and, when ``channels`` is given, with
    one element per channel (``ArgumentError``): both RuntimeErrors, as PyTorch's, before the kernel."""
    for name, t in tensors.items():
        if t is None:
            continue
        if t.dtype != input.dtype:
            raise ArgumentTypeError(f"{name}: expected dtype {input.dtype} (the dtype of input), got {t.dtype} "
                                    "(PyTorch: mixed dtype (CPU): all inputs must share same datatype)")
        if channels is not None and (t.ndim != 1 or t.shape[0] != channels):
            raise ArgumentError(f"{name} should contain {channels} elements not {t._data.size} (one per channel "
                                f"of input; got shape {tuple(t.shape)})")


def _values_per_channel(shape: tuple) -> int:
    n = shape[0]
    for s in shape[2:]:
        n *= s
    return n


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation per channel (dim 1) of ``input`` (N, C, *) (Ioffe & Szegedy, 2015):

        y = (x - mean) / sqrt(var + eps) * weight + bias

    ``training``: mean and (biased) var of the batch, over N and the trailing dims; ``running_mean`` and
    ``running_var`` (when given) are updated in place, r = (1 - momentum) r + momentum * stat, with the
    unbiased variance. Else the running statistics are used. One fused C++ kernel each way.
    """
    shape = _tensor(input, "input").shape
    if len(shape) < 2:
        raise ArgumentError(f"batch_norm: expected input of shape (N, C, *) with at least 2 dimensions, got {shape}")
    if training and _values_per_channel(shape) == 1:
        raise ArgumentError(f"Expected more than 1 value per channel when training, got input size {shape}")
    rm, rv = _array_or_none(running_mean, "running_mean"), _array_or_none(running_var, "running_var")
    _array_or_none(weight, "weight"), _array_or_none(bias, "bias")
    _check_per_channel(input, shape[1], weight=weight, bias=bias, running_mean=running_mean, running_var=running_var)
    if not training and (rm is None or rv is None):
        raise ArgumentError("batch_norm: running_mean and running_var are required when training=False")
    if momentum is None:
        momentum = 0.0
    return ops_norm.BatchNorm.apply(input, weight, bias, running_mean=rm, running_var=rv, training=bool(training),
                                    momentum=momentum, eps=eps)


def _normalized_shape(normalized_shape) -> tuple:
    if isinstance(normalized_shape, (int, np.integer)):
        return (int(normalized_shape),)
    return tuple(int(s) for s in normalized_shape)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Layer normalisation over the trailing dims ``normalized_shape`` (Ba, Kiros & Hinton, 2016):
    y = (x - mean) / sqrt(var + eps) * weight + bias, statistics per row of those dims."""
    shape = _tensor(input, "input").shape
    ns = _normalized_shape(normalized_shape)
    k = len(ns)
    if k == 0 or len(shape) < k or tuple(shape[len(shape) - k:]) != ns:
        raise ArgumentError(f"layer_norm: given normalized_shape={list(ns)}, expected input with shape "
                         f"[*, {', '.join(map(str, ns))}], got {shape}")
    for name, p in (("weight", weight), ("bias", bias)):
        if _array_or_none(p, name) is not None and tuple(p.shape) != ns:
            raise ArgumentError(f"layer_norm: {name}: expected shape {ns} (normalized_shape), got {p.shape}")
    _check_per_channel(input, None, weight=weight, bias=bias)
    return ops_norm.LayerNorm.apply(input, weight, bias, normalized_ndim=k, eps=eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Group normalisation (Wu & He, 2018): the C channels of ``input`` (N, C, *) in ``num_groups``
    groups of adjacent channels; statistics per (sample, group), then weight and bias per channel."""
    shape = _tensor(input, "input").shape
    if len(shape) < 2:
        raise ArgumentError(f"group_norm: expected input of shape (N, C, *) with at least 2 dimensions, got {shape}")
    if not isinstance(num_groups, (int, np.integer)) or num_groups < 1 or shape[1] % num_groups:
        raise ArgumentError(f"group_norm: expected the number of channels in input to be divisible by num_groups, "
                         f"got input of shape {shape} and num_groups={num_groups}")
    _array_or_none(weight, "weight"), _array_or_none(bias, "bias")
    _check_per_channel(input, shape[1], weight=weight, bias=bias)
    # PyTorch's check (F.group_norm's _verify_batch_size over the shape [N*C/G, G, *spatial]): it rejects
    # only the input whose N*C/G * prod(spatial) is 1; a group of one value elsewhere normalizes to 0
    if shape[0] * shape[1] // num_groups * int(np.prod(shape[2:])) == 1:
        raise ArgumentError(f"Expected more than 1 value per channel when training, got input size {list(shape)}")
    return ops_norm.GroupNorm.apply(input, weight, bias, num_groups=int(num_groups), eps=eps)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """Local response normalisation across channels (Krizhevsky et al., 2012), PyTorch's definition:
    y = x / (k + alpha / size * sum of x^2 over the channels [c - size//2, c + (size-1)//2])^beta,
    zero outside the channels. ``input`` is (N, C, *) with at least 3 dimensions."""
    dim = _tensor(input, "input").ndim
    if dim < 3:
        raise ArgumentError(f"local_response_norm: expected 3D or higher dimensionality input (got {dim} dimensions)")
    if not isinstance(size, (int, np.integer)) or not 1 <= size < 2**63:
        raise ArgumentError(f"local_response_norm: size: expected a positive int below 2**63, got {size!r}")
    if input.numel() == 0:
        return input
    return ops_norm.LocalResponseNorm.apply(input, size=int(size), alpha=alpha, beta=beta, k=k)


# --- convolution and pooling --------------------------------------------------------------------------

from eigengrad.nn._functional_conv import (  # noqa: E402,F401
    adaptive_avg_pool2d, adaptive_max_pool2d, avg_pool2d, conv2d, max_pool2d,
)
from eigengrad.nn._functional_conv1d import (  # noqa: E402,F401
    adaptive_avg_pool1d, adaptive_max_pool1d, avg_pool1d, conv1d, max_pool1d,
)
from eigengrad.nn._functional_conv_transpose import conv_transpose1d, conv_transpose2d, conv_transpose3d  # noqa: E402,F401
from eigengrad.tensor_ops.ported_functional import conv_tbc, linear_cross_entropy  # noqa: E402,F401
from eigengrad.nn._functional_grid import affine_grid, grid_sample  # noqa: E402,F401
from eigengrad.nn._functional_conv3d import (  # noqa: E402,F401
    adaptive_avg_pool3d, adaptive_max_pool3d, avg_pool3d, conv3d, max_pool3d,
)


# --- embeddings ---------------------------------------------------------------------------------------

from eigengrad.nn._functional_embedding import embedding, embedding_bag, one_hot  # noqa: E402,F401
from eigengrad.nn._functional_pad import pad  # noqa: E402,F401


# --- upsampling ---------------------------------------------------------------------------------------

from eigengrad.nn._functional_upsample import (  # noqa: E402,F401
    interpolate, pixel_shuffle, pixel_unshuffle, upsample, upsample_bilinear, upsample_nearest,
)

from eigengrad.nn._functional_attention import scaled_dot_product_attention  # noqa: E402,F401
from eigengrad.nn._functional_mha import multi_head_attention_forward  # noqa: E402,F401

# --- the rest of PyTorch's functional API (distances, margin losses, bilinear, instance/RMS norm, im2col) ---

from eigengrad.nn._functional_distance import cosine_similarity, normalize, pairwise_distance, pdist  # noqa: E402,F401
from eigengrad.nn._functional_loss_margin import (  # noqa: E402,F401
    cosine_embedding_loss, gaussian_nll_loss, hinge_embedding_loss, margin_ranking_loss, multi_margin_loss,
    multilabel_margin_loss, multilabel_soft_margin_loss, poisson_nll_loss, soft_margin_loss, triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from eigengrad.nn._functional_layers import bilinear, fold, instance_norm, rms_norm, unfold  # noqa: E402,F401
from eigengrad.nn._functional_ctc import ctc_loss  # noqa: E402,F401
from eigengrad.nn._functional_pool_extra import (  # noqa: E402,F401
    adaptive_max_pool1d_with_indices, adaptive_max_pool2d_with_indices, channel_shuffle, lp_pool1d, lp_pool2d,
    lp_pool3d, max_pool1d_with_indices, max_pool2d_with_indices, max_pool3d_with_indices, max_unpool1d,
    max_unpool2d, max_unpool3d, native_channel_shuffle,
)
from eigengrad.nn._functional_fractional import (  # noqa: E402,F401
    fractional_max_pool2d, fractional_max_pool2d_with_indices, fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)
