"""What each kernel a plan may contain does with its arguments: the tracer's whole knowledge of a kernel.

A role per positional argument (keyword arguments are always frozen scalars):

- ``r``: an array read (or None), ``w``: an array written whole, ``rw``: an array updated in place;
- ``R`` / ``RW``: a list of arrays read / updated in place;
- ``s``: a scalar option, frozen at trace time;
- ``seed`` / ``offset``: the generator's seed and the draw's first offset, re-drawn at every replay.

A kernel missing here is not yet supported by ``eg.compile``: a step that calls it falls back to eager
mode, naming it. ``C`` kernels are the compiled bindings (``_kernels._C``), ``G`` ones the NumPy glue
(``eigengrad._glue``): what ``_kernels`` still runs in NumPy (generic copies and fills, and the
layouts and dtypes the C++ bodies of ``sum_rows`` and the loss reductions do not take).
"""
from __future__ import annotations

COMPILED = {
    # gemm(a, b, out, bias, trans_a, trans_b, accumulate): out is read too when accumulating
    "gemm": ("r", "r", "w", "r", "s", "s", "s"),
    "relu_forward": ("r", "w"), "relu_backward": ("r", "r", "w"),
    "sigmoid_forward": ("r", "w"), "sigmoid_backward": ("r", "r", "w"),
    "tanh_forward": ("r", "w"), "tanh_backward": ("r", "r", "w"),
    # leaky_relu, elu, gelu, softplus: (x, out, *options) and (grad_out, x, grad_in, *options)
    **{f"{k}_forward": ("r", "w", "s", "s", "s") for k in ("leaky_relu", "elu", "gelu", "softplus")},
    **{f"{k}_backward": ("r", "r", "w", "s", "s", "s") for k in ("leaky_relu", "elu", "gelu", "softplus")},
    "layer_norm_forward": ("r", "r", "r", "w", "w", "w", "s"),
    "layer_norm_backward": ("r", "r", "r", "r", "r", "w", "w", "w"),
    "dropout_forward": ("r", "w", "w", "seed", "offset", "s", "s"),
    # AlphaDropout (x, out, mask, seed, offset, threshold, a, b_keep, b_drop); Dropout1d/2d/3d: one draw per
    # row of x (rows, inner). Their backward is masked_scale
    "alpha_dropout_forward": ("r", "w", "w", "seed", "offset", "s", "s", "s", "s"),
    "feature_dropout_forward": ("r", "w", "w", "seed", "offset", "s", "s"),
    "masked_scale": ("r", "r", "w", "s"),
    "softmax_cross_entropy_forward": ("r", "r", "w", "w", "s"),
    "softmax_cross_entropy_backward": ("r", "r", "r", "r", "w", "s"),
    "weighted_softmax_cross_entropy_forward": ("r", "r", "r", "s", "w", "w", "s"),
    "weighted_softmax_cross_entropy_backward": ("r", "r", "r", "s", "r", "r", "w", "s"),
    "batch_norm_forward": ("r", "r", "r", "rw", "rw", "w", "w", "w", "s", "s", "s"),
    "batch_norm_backward": ("r", "r", "r", "r", "r", "w", "w", "w", "s"),
    "clip_grad_norm": ("RW",),
    "grad_norm": ("R", "s"),
    "scale_grads": ("RW", "s"),
    "clip_grad_value": ("RW",),
    # convolution and pooling (pooling over (planes, h, w) views); geometry tuples are scalars
    "conv2d_forward": ("r", "r", "r", "w", "s", "s", "s", "s"),
    "conv2d_backward": ("r", "r", "r", "w", "w", "w", "s", "s", "s", "s"),
    # ConvTranspose2d: (x, weight, bias, out, stride, padding, output_padding, dilation, groups) and
    # (grad_out, x, weight, grad_in, grad_weight, grad_bias, the same options)
    "conv_transpose2d_forward": ("r", "r", "r", "w", "s", "s", "s", "s", "s"),
    "conv_transpose2d_backward": ("r", "r", "r", "w", "w", "w", "s", "s", "s", "s", "s"),
    "max_pool2d_forward": ("r", "w", "w", "s", "s", "s", "s", "s"),
    "max_pool2d_backward": ("r", "r", "w"),
    "avg_pool2d_forward": ("r", "w", "s", "s", "s", "s", "s", "s"),
    "avg_pool2d_backward": ("r", "w", "s", "s", "s", "s", "s", "s"),
    "adaptive_avg_pool2d_forward": ("r", "w"), "adaptive_avg_pool2d_backward": ("r", "w"),
    "adaptive_max_pool2d_forward": ("r", "w", "w"),
    # one layer-direction of an RNN/LSTM/GRU and its backward through time (None for absent arrays)
    "rnn_forward": ("s", "r", "r", "r", "r", "r", "r", "r", "w", "w", "w", "w", "w", "s"),
    "rnn_backward": ("s", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r",
                     "w", "w", "w", "w", "w", "w", "w", "w", "s"),
    # scaled dot-product attention (q, k, v, mask or None, out, lse, kept weights or None, scale, causal, seed,
    # offset, threshold, keep_scale) and its backward (q, k, v, out, lse, weights, grad_out, mask, dq, dk, dv,
    # dmask or None, scale, causal, seed, offset, threshold, keep_scale). Without dropout the seed and offset
    # are unused (roles_of); with it, the backward's come from the forward's draw, which a plan does not link
    # twice: such a step falls back to eager mode
    "attention_forward": ("r", "r", "r", "r", "w", "w", "w", "s", "s", "seed", "offset", "s", "s"),
    "attention_backward": ("r", "r", "r", "r", "r", "r", "r", "r", "w", "w", "w", "w", "s", "s", "seed", "offset",
                           "s", "s"),
    # Embedding: (weight, flat indices, out) and (grad_out, flat indices, grad_weight, padding_idx,
    # scale_grad_by_freq). Not capturable: a replay calls the binding, whose index checks then run on that
    # call's indices
    "embedding_forward": ("r", "r", "w"),
    "embedding_backward": ("r", "r", "w", "s", "s"),
    # the tensor operations' reductions (x as (outer, n, inner), out (outer, inner))
    "reduce_sum": ("r", "w", "s"),
    "reduce_var": ("r", "w", "w", "s", "s"),
    "sum_rows": ("r", "w"),
    "fill": ("w", "s"),
    "increment": ("rw",),
    "strided_copy": ("r", "w"),  # a strided array into a C-contiguous one (_kernels.contiguous)
    # a cross-entropy's reduction and upstream gradient (g, target, weight or None, ignore_index, mean, out)
    "loss_reduce": ("r", "r", "r", "s", "s", "w"),
    "loss_upstream": ("r", "r", "r", "s", "s", "w"),
    "mean_upstream": ("r", "r", "s", "w"),
}

# functions of scalars only (geometry checks): run at trace time, nothing to replay
PURE = frozenset({"conv2d_output_size", "pool2d_options", "pool2d_output_size", "conv_transpose2d_output_size",
                  "get_num_threads", "attention_keeps_weights"})

GLUE = {
    "fill": ("w", "s"),
    "copy": ("r", "w"),
    "add_into": ("rw", "r"),
    "add": ("r", "r", "w"),
    # elementwise NumPy functions by name (the autograd's arithmetic: _kernels.ufunc)
    "unary": ("s", "r", "w"),
    "binary": ("s", "r", "r", "w"),
    "binary_scalar": ("s", "r", "s", "w"),
    "scalar_binary": ("s", "s", "r", "w"),
    "arg_reduce": ("s", "r", "s", "s", "w"),
    "sum_rows": ("r", "w"),
    "increment": ("rw",),
    "add_l2_penalty": ("R", "s", "s", "rw"),
    "add_l2_penalty_grad": ("RW", "R", "s", "s"),
    "clip_grad_norm": ("RW", "s", "s", "s", "w"),
    "loss_reduce": ("r", "r", "r", "s", "s", "w"),
    "loss_upstream": ("r", "r", "r", "s", "s", "w"),
    "mean_upstream": ("r", "r", "s", "w"),
    # reduced MSELoss / BCEWithLogitsLoss: the compiled kernel's sum into a 0-d array, and the backward with
    # the upstream gradient read when the step runs (weight / pos_weight: arrays or None)
    "squared_error_reduce": ("r", "r", "s", "w"),
    "squared_error_backward_reduced": ("r", "r", "r", "s", "w"),
    "bce_with_logits_reduce": ("r", "r", "r", "r", "s", "w"),
    "bce_with_logits_backward_reduced": ("r", "r", "r", "r", "r", "s", "w"),
}


_NO_DROPOUT = 1 << 32  # a dropout threshold that keeps every element


def roles_of(table: dict, name: str, args: tuple) -> tuple | None:
    """The roles of ``args`` in a call of kernel ``name``, or None when the kernel is not supported."""
    roles = table.get(name)
    if roles is None or len(args) > len(roles):
        return None
    if name == "gemm" and table is COMPILED and len(args) > 6 and args[6]:
        roles = ("r", "r", "rw") + roles[3:]
    if name.startswith("attention_") and table is COMPILED and "seed" in roles:
        i = roles.index("seed")
        if len(args) > i + 2 and args[i + 2] >= _NO_DROPOUT:  # keeps every weight: no draw to replay
            roles = roles[:i] + ("s", "s") + roles[i + 2:]
    return roles[:len(args)]
