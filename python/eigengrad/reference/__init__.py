"""NumPy reference implementations of every kernel (forward and backward) and every update rule.

The oracle of the tests and the baseline of the benchmarks: plain, readable NumPy with the same
signatures as the kernels in ``eigengrad._kernels`` (outputs returned; update rules work in place,
as the kernels do).
"""
from eigengrad.reference import augment
from eigengrad.reference.activation import (
    relu_backward, relu_forward, sigmoid_backward, sigmoid_forward, tanh_backward, tanh_forward,
)
from eigengrad.reference.activation import (
    elu_backward, elu_forward, gelu_backward, gelu_forward, leaky_relu_backward, leaky_relu_forward, maxout_backward,
    maxout_forward, prelu_backward, prelu_forward, selu_backward, selu_forward, softplus_backward, softplus_forward,
)
from eigengrad.reference.dropout import (
    alpha_dropout_backward, alpha_dropout_forward, bernoulli_mask, dropout_backward, dropout_forward,
    feature_dropout_backward, feature_dropout_forward, relu_dropout_backward, relu_dropout_forward,
)
from eigengrad.reference.clip import clip_grad_norm, clip_grad_value, grad_norm
from eigengrad.reference.erf import erf_forward
from eigengrad.reference.copy import fill, increment, strided_copy
from eigengrad.reference.finite import all_finite
from eigengrad.reference.gemm import gemm, gemm_relu_dropout
from eigengrad.reference.loss import (
    softmax_cross_entropy_backward, softmax_cross_entropy_forward, softmax_cross_entropy_forward_backward,
    squared_error, squared_error_backward, squared_error_sum,
)
from eigengrad.reference.loss import (
    bce_with_logits_backward, bce_with_logits_forward, weighted_softmax_cross_entropy_backward,
    weighted_softmax_cross_entropy_forward, weighted_softmax_cross_entropy_forward_backward,
)
from eigengrad.reference.norm import (
    batch_norm_backward, batch_norm_forward, batch_norm_relu_dropout_forward, batch_norm_relu_forward,
    batch_norm_relu_max_pool2d_forward, group_norm_backward, group_norm_forward, layer_norm_backward,
    layer_norm_forward, local_response_norm_backward, local_response_norm_forward,
)
from eigengrad.reference.optim import (
    adadelta_step, adagrad_step, adam_step, adamax_step, nadam_step, radam_step, rmsprop_step, sgd_step,
)
from eigengrad.reference.optimizer import ReferenceOptimizer
from eigengrad.reference.random import normal_fill, philox4x32, randperm, uniform_fill

__all__ = [
    "gemm", "relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
    "softmax_cross_entropy_forward", "softmax_cross_entropy_backward", "softmax_cross_entropy_forward_backward",
    "squared_error_sum", "squared_error",
    "squared_error_backward", "sgd_step", "adam_step", "nadam_step", "adamax_step", "radam_step", "adagrad_step", "rmsprop_step",
    "adadelta_step", "ReferenceOptimizer", "philox4x32", "uniform_fill", "normal_fill", "randperm",
    "grad_norm", "clip_grad_norm", "clip_grad_value", "all_finite", "strided_copy", "fill", "increment", "augment",
    "erf_forward",
    "weighted_softmax_cross_entropy_forward", "weighted_softmax_cross_entropy_backward",
    "weighted_softmax_cross_entropy_forward_backward",
    "bce_with_logits_forward", "bce_with_logits_backward",
    "leaky_relu_forward", "leaky_relu_backward", "elu_forward", "elu_backward", "selu_forward", "selu_backward",
    "gelu_forward", "gelu_backward", "softplus_forward", "softplus_backward", "prelu_forward", "prelu_backward",
    "maxout_forward", "maxout_backward", "bernoulli_mask", "dropout_forward", "dropout_backward",
    "alpha_dropout_forward", "alpha_dropout_backward", "feature_dropout_forward", "feature_dropout_backward",
    "batch_norm_forward", "batch_norm_backward",
    "layer_norm_forward", "layer_norm_backward", "group_norm_forward", "group_norm_backward",
    "local_response_norm_forward", "local_response_norm_backward",
]
from eigengrad.reference.rnn import rnn_backward, rnn_forward
__all__ += ["rnn_forward", "rnn_backward"]
from eigengrad.reference.conv import conv2d_backward, conv2d_forward  # noqa: E402
from eigengrad.reference.pool import (  # noqa: E402
    adaptive_avg_pool2d_backward, adaptive_avg_pool2d_forward, avg_pool2d_backward, avg_pool2d_forward,
    max_pool2d_backward, max_pool2d_forward, max_pool2d_relu_backward,
)

__all__ += [
    "conv2d_forward", "conv2d_backward", "max_pool2d_forward", "max_pool2d_backward", "max_pool2d_relu_backward",
    "avg_pool2d_forward",
    "avg_pool2d_backward", "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward",
]
from eigengrad.reference.reduce import reduce_norm, reduce_sum, reduce_var, sum_rows  # noqa: E402
from eigengrad.reference.loss import loss_reduce, loss_upstream, mean_upstream  # noqa: E402
from eigengrad.reference.index import gather, index_add_, index_select, scatter_  # noqa: E402
from eigengrad.reference.sort import sort, topk  # noqa: E402
__all__ += ["sum_rows", "loss_reduce", "loss_upstream", "mean_upstream"]
__all__ += ["reduce_sum", "reduce_var", "reduce_norm", "gather", "scatter_", "index_select", "index_add_", "sort",
            "topk"]
from eigengrad.reference.conv import conv_transpose2d_backward, conv_transpose2d_forward  # noqa: E402
from eigengrad.reference.pool import adaptive_max_pool2d_forward  # noqa: E402
from eigengrad.reference.embedding import (  # noqa: E402
    embedding_backward, embedding_bag_backward, embedding_bag_forward, embedding_bag_per_sample_weights_backward,
    embedding_forward, embedding_renorm,
)
from eigengrad.reference.upsample import upsample_backward, upsample_forward  # noqa: E402

__all__ += [
    "conv_transpose2d_forward", "conv_transpose2d_backward", "adaptive_max_pool2d_forward", "embedding_forward",
    "embedding_backward", "embedding_renorm", "embedding_bag_forward", "embedding_bag_backward",
    "embedding_bag_per_sample_weights_backward", "upsample_forward", "upsample_backward",
]

from eigengrad.reference.attention import attention_backward, attention_forward  # noqa: E402

__all__ += ["attention_forward", "attention_backward"]
