"""The public functional ops the fuzz suite calls (``eigengrad.nn.functional`` and the tensor functions of
``eigengrad``): how to make a valid call and, where there is one, the NumPy reference of the result.

A builder gets a :class:`binding_table.Case` and returns ``(args, kwargs)``; tensors in them are made with
:func:`tensor` so the fuzz can swap their arrays for other layouts and dtypes. ``expect`` gets the same
arguments with every tensor replaced by a NumPy copy of its values and returns the expected result.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np

import eigengrad as eg
import eigengrad.nn.functional as F
from binding_table import Case
from eigengrad import reference as R
from eigengrad.reference import conv as RC, pool as RP


@dataclasses.dataclass(frozen=True)
class Op:
    fn: Callable
    make: Callable[[Case], tuple]
    expect: Callable | None = None
    rtol: float = 1.0


OPS: dict[str, Op] = {}


def op(name: str, fn, make, expect=None, rtol: float = 1.0) -> None:
    assert name not in OPS, name
    OPS[name] = Op(fn, make, expect, rtol)


def tensor(a: np.ndarray, requires_grad: bool = False) -> eg.Tensor:
    t = eg.from_numpy(a)
    return t.requires_grad_(True) if requires_grad and a.dtype.kind == "f" else t


def _x(c, *shape, grad=True, scale=1.0):
    return tensor(c.normal(*shape, scale=scale), grad and c.flag(0.6))


def _shape(c, n=2, low=0):
    return tuple(c.dim(i, low) for i in range(n))


def _reduce(v, reduction):
    return v.mean() if reduction == "mean" else v.sum() if reduction == "sum" else v


# --- activations ------------------------------------------------------------------------------------

for _name in ("relu", "sigmoid", "tanh", "selu"):
    op(f"F.{_name}", getattr(F, _name), lambda c: ([_x(c, *_shape(c, 3))], {}),
       lambda a, k, _n=_name: getattr(R, f"{_n}_forward")(a[0]))
op("F.leaky_relu", F.leaky_relu, lambda c: ([_x(c, *_shape(c))], {"negative_slope": c.pick([0.01, 0.3, -0.5])}),
   lambda a, k: R.leaky_relu_forward(a[0], k["negative_slope"]))
op("F.elu", F.elu, lambda c: ([_x(c, *_shape(c))], {"alpha": c.pick([1.0, 0.5])}),
   lambda a, k: R.elu_forward(a[0], k["alpha"]))
op("F.gelu", F.gelu, lambda c: ([_x(c, *_shape(c))], {"approximate": c.pick(["none", "tanh"])}),
   lambda a, k: R.gelu_forward(a[0], k["approximate"]))
op("F.softplus", F.softplus, lambda c: ([_x(c, *_shape(c))], {"beta": c.pick([1.0, 2.0]), "threshold": 10.0}),
   lambda a, k: R.softplus_forward(a[0], k["beta"], k["threshold"]))
op("F.prelu", F.prelu, lambda c: ([_x(c, *_shape(c, 3, 1)), tensor(c.uniform(c.dim(1, 1), low=0.1, high=0.5))], {}),
   lambda a, k: R.prelu_forward(a[0], a[1]))
op("F.maxout", F.maxout, lambda c: ([_x(c, c.dim(0), 2 * c.dim(1, 1))], {"pieces": 2}),
   lambda a, k: R.maxout_forward(a[0], 2)[0])


def _softmax_ref(x, dim):
    m = np.max(x, axis=dim, keepdims=True) if x.size else x
    e = np.exp(x - m)
    return e / e.sum(axis=dim, keepdims=True)


op("F.softmax", F.softmax, lambda c: ([_x(c, *_shape(c, 3))], {"dim": c.pick([0, 1, -1])}),
   lambda a, k: _softmax_ref(a[0], k["dim"]), rtol=10.0)
op("F.log_softmax", F.log_softmax, lambda c: ([_x(c, *_shape(c, 3))], {"dim": c.pick([0, -1])}),
   lambda a, k: np.log(_softmax_ref(a[0].astype(np.float64), k["dim"])), rtol=100.0)
op("F.dropout", F.dropout, lambda c: ([_x(c, *_shape(c))], {"p": c.pick([0.0, 0.3, 1.0]), "training": c.flag()}))
op("F.dropout2d", F.dropout2d, lambda c: ([_x(c, *_shape(c, 4))], {"p": c.pick([0.0, 0.5]), "training": c.flag()}))
op("F.alpha_dropout", F.alpha_dropout, lambda c: ([_x(c, *_shape(c))], {"p": c.pick([0.0, 0.5]), "training": c.flag()}))

# --- linear, convolution, pooling ----------------------------------------------------------------------


def _linear(c):
    n, i, o = c.dim(0), c.dim(1), c.dim(2)
    return [_x(c, n, i), _x(c, o, i), _x(c, o) if c.flag() else None], {}


op("F.linear", F.linear, _linear, lambda a, k: R.gemm(a[0], a[1], a[2], trans_b=True))


def _conv(c):
    groups = c.pick([1, 2])
    cin, cout = groups * c.dim(1, 1), groups * c.dim(2, 1)
    kh, kw = c.pick([1, 3]), c.pick([1, 2])
    stride, dilation, padding = c.pick([1, 2]), c.pick([1, 2]), c.pick([0, 1])
    x = _x(c, c.dim(0), cin, c.dim(3) + 5, c.dim(0) + 3)  # (at least the dilated kernel: 5 x 3)
    return [x, _x(c, cout, cin // groups, kh, kw), _x(c, cout) if c.flag() else None], dict(
        stride=stride, padding=padding, dilation=dilation, groups=groups)


def _conv_ref(a, k):
    s, d, p = (k["stride"],) * 2, (k["dilation"],) * 2, (k["padding"],) * 4
    return R.conv2d_forward(a[0], a[1], a[2], s, p, d, k["groups"])


op("F.conv2d", F.conv2d, _conv, _conv_ref, rtol=10.0)


def _pool_input(c):
    return _x(c, c.dim(0), c.dim(1), c.dim(2) + 5, c.dim(3) + 5)  # (at least a 3-kernel dilated by 2)


op("F.max_pool2d", F.max_pool2d, lambda c: ([_pool_input(c), c.pick([2, 3])], dict(
    stride=c.pick([None, 1, 2]), padding=c.pick([0, 1]), dilation=c.pick([1, 2]), ceil_mode=c.flag())),
   lambda a, k: R.max_pool2d_forward(a[0], (a[1],) * 2, (k["stride"] or a[1],) * 2, (k["padding"],) * 2,
                                     (k["dilation"],) * 2, k["ceil_mode"])[0])
op("F.avg_pool2d", F.avg_pool2d, lambda c: ([_pool_input(c), c.pick([2, 3])], dict(
    stride=c.pick([None, 1, 2]), padding=c.pick([0, 1]), ceil_mode=c.flag(), count_include_pad=c.flag())),
   lambda a, k: R.avg_pool2d_forward(a[0], (a[1],) * 2, (k["stride"] or a[1],) * 2, (k["padding"],) * 2,
                                     k["ceil_mode"], k["count_include_pad"]))
op("F.adaptive_avg_pool2d", F.adaptive_avg_pool2d, lambda c: ([_pool_input(c), (c.pick([1, 2, 5]), c.pick([1, 3]))], {}),
   lambda a, k: R.adaptive_avg_pool2d_forward(a[0], a[1]))

# --- normalisation ----------------------------------------------------------------------------------


def _bn(c):
    n, ch = c.dim(0, 1) + 1, c.dim(1, 1)
    training = c.flag()
    x = _x(c, n, ch, c.dim(2))
    stats = c.flag(0.7) or not training
    return [x, tensor(c.normal(ch)) if stats else None, tensor(c.uniform(ch, low=0.5, high=2.0)) if stats else None], \
        dict(weight=_x(c, ch) if c.flag() else None, bias=_x(c, ch) if c.flag() else None, training=training,
             momentum=0.1, eps=1e-5)


def _bn_ref(a, k):
    return R.batch_norm_forward(a[0], k["weight"], k["bias"], a[1], a[2], k["training"], k["momentum"], k["eps"])[0]


op("F.batch_norm", F.batch_norm, _bn, _bn_ref, rtol=10.0)
op("F.layer_norm", F.layer_norm, lambda c: ([_x(c, c.dim(0), c.dim(1, 1), c.dim(2, 1)), (c.dim(1, 1), c.dim(2, 1))], {}),
   lambda a, k: R.layer_norm_forward(a[0], 2, None, None, 1e-5)[0], rtol=10.0)


def _gn(c):
    g = c.pick([1, 2])
    ch = g * c.dim(1, 1)
    return [_x(c, c.dim(0), ch, c.dim(2)), g], dict(weight=_x(c, ch) if c.flag() else None, eps=1e-5)


op("F.group_norm", F.group_norm, _gn, lambda a, k: R.group_norm_forward(a[0], a[1], k["weight"], None, k["eps"])[0],
   rtol=10.0)
op("F.local_response_norm", F.local_response_norm, lambda c: ([_x(c, c.dim(0), c.dim(1), c.dim(2)), c.pick([1, 2, 5])],
                                                              {}),
   lambda a, k: R.local_response_norm_forward(a[0], a[1], 1e-4, 0.75, 1.0)[0], rtol=10.0)

# --- losses -----------------------------------------------------------------------------------------


def _ce(c):
    n, k = c.dim(0), c.dim(1, 1)
    t = c.rng.integers(0, k, n).astype(np.int64)
    t[c.rng.random(n) < 0.2] = -100
    return [_x(c, n, k, scale=3.0), tensor(t)], dict(
        weight=tensor(c.uniform(k, low=0.2, high=2.0)) if c.flag() else None, reduction=c.pick(["mean", "sum", "none"]),
        label_smoothing=c.pick([0.0, 0.1]))


def _ce_ref(a, k):
    loss, _ = R.weighted_softmax_cross_entropy_forward(a[0], a[1], k["weight"], k["label_smoothing"])
    if k["reduction"] == "none":
        return loss
    if k["reduction"] == "sum":
        return loss.sum(dtype=np.float64)
    keep = a[1] != -100
    w = np.ones(a[0].shape[1]) if k["weight"] is None else k["weight"].astype(np.float64)
    return loss.sum(dtype=np.float64) / w[a[1][keep]].sum()


op("F.cross_entropy", F.cross_entropy, _ce, _ce_ref, rtol=10.0)


def _pair(c, target=None):
    shape = _shape(c)
    return [_x(c, *shape), tensor(target(c, shape) if target else c.normal(*shape))], dict(
        reduction=c.pick(["mean", "sum", "none"]))


op("F.mse_loss", F.mse_loss, _pair, lambda a, k: _reduce(R.squared_error(a[0], a[1]), k["reduction"]), rtol=10.0)
op("F.l1_loss", F.l1_loss, _pair, lambda a, k: _reduce(np.abs(a[0] - a[1]), k["reduction"]), rtol=10.0)
op("F.binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits,
   lambda c: _pair(c, lambda c, s: c.uniform(*s)),
   lambda a, k: _reduce(R.bce_with_logits_forward(a[0], a[1])[1], k["reduction"]), rtol=10.0)
op("F.binary_cross_entropy", F.binary_cross_entropy,
   lambda c: ([tensor(c.uniform(*_shape(c), low=0.05, high=0.95)), tensor(c.uniform(c.dim(0), c.dim(1)))],
              dict(reduction=c.pick(["mean", "sum", "none"]))),
   lambda a, k: _reduce(-(a[1] * np.log(a[0]) + (1 - a[1]) * np.log1p(-a[0])), k["reduction"]), rtol=100.0)
op("F.huber_loss", F.huber_loss, _pair)
op("F.smooth_l1_loss", F.smooth_l1_loss, _pair)
op("F.kl_div", F.kl_div, _pair)


def _nll(c):
    n, k = c.dim(0), c.dim(1, 1)
    return [_x(c, n, k), tensor(c.rng.integers(0, k, n).astype(np.int64))], dict(reduction=c.pick(["mean", "sum"]))


op("F.nll_loss", F.nll_loss, _nll)
op("F.distillation_loss", F.distillation_loss,
   lambda c: ([_x(c, c.dim(0), c.dim(1, 1)), _x(c, c.dim(0), c.dim(1, 1)),
               tensor(c.rng.integers(0, c.dim(1, 1), c.dim(0)).astype(np.int64))], {}))

# --- tensor functions -------------------------------------------------------------------------------

def _floating(fn):
    """The reference of a floating function: an integer or bool input is computed in float32, as PyTorch
    (NumPy's own exp of int8 computes in float16)."""
    return lambda x: fn(x if x.dtype.kind == "f" else x.astype(np.float32))


for _name, _ref in (("abs", np.abs), ("exp", _floating(np.exp)), ("neg", np.negative), ("relu", R.relu_forward),
                    ("sigmoid", _floating(R.sigmoid_forward)), ("tanh", _floating(R.tanh_forward))):
    op(f"eg.{_name}", getattr(eg, _name), lambda c: ([_x(c, *_shape(c, 3))], {}), lambda a, k, _r=_ref: _r(a[0]))
op("eg.log", eg.log, lambda c: ([tensor(c.uniform(*_shape(c), low=0.1, high=3.0))], {}), lambda a, k: _floating(np.log)(a[0]))
op("eg.sqrt", eg.sqrt, lambda c: ([tensor(c.uniform(*_shape(c), low=0.0, high=3.0))], {}), lambda a, k: _floating(np.sqrt)(a[0]))
for _name, _ref in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("maximum", np.maximum)):
    op(f"eg.{_name}", getattr(eg, _name), lambda c: ([_x(c, *_shape(c)), _x(c, c.dim(1))], {}),
       lambda a, k, _r=_ref: _r(a[0], a[1]))
op("eg.div", eg.div, lambda c: ([_x(c, *_shape(c)), tensor(c.uniform(c.dim(1), low=0.5, high=2.0))], {}),
   lambda a, k: a[0] / a[1])
op("eg.pow", eg.pow, lambda c: ([tensor(c.uniform(*_shape(c), low=0.1, high=2.0)), c.pick([2, 0.5, -1.0, 3])], {}),
   lambda a, k: a[0] ** a[1], rtol=10.0)
op("eg.matmul", eg.matmul, lambda c: ([_x(c, c.dim(0), c.dim(1)), _x(c, c.dim(1), c.dim(2))], {}),
   lambda a, k: a[0] @ a[1])
for _name, _ref, _low in (("sum", np.sum, 0), ("mean", np.mean, 0), ("amax", np.amax, 1), ("amin", np.amin, 1)):
    # (amax/amin of an empty tensor raise, as PyTorch's)
    op(f"eg.{_name}", getattr(eg, _name), lambda c, _l=_low: (
        [_x(c, c.dim(0, 1), c.dim(1, 1), c.dim(2, _l))], {"dim": c.pick([None, 0, 1, -1]), "keepdim": c.flag()}),
       lambda a, k, _r=_ref: _r(a[0], axis=k["dim"], keepdims=k["keepdim"]), rtol=10.0)
for _name in ("argmax", "argmin"):
    op(f"eg.{_name}", getattr(eg, _name), lambda c: ([_x(c, c.dim(0, 1), c.dim(1, 1))], {"dim": c.pick([None, 0, 1])}),
       lambda a, k, _n=_name: getattr(np, _n)(a[0], axis=k["dim"]))
for _name in ("max", "min"):
    op(f"eg.{_name}", getattr(eg, _name), lambda c: ([_x(c, c.dim(0, 1), c.dim(1, 1))], {}),
       lambda a, k, _n=_name: getattr(np, _n)(a[0]))
op("eg.softmax", eg.softmax, lambda c: ([_x(c, *_shape(c))], {"dim": -1}), lambda a, k: _softmax_ref(a[0], -1),
   rtol=10.0)
op("eg.log_softmax", eg.log_softmax, lambda c: ([_x(c, *_shape(c))], {"dim": 0}),
   lambda a, k: np.log(_softmax_ref(a[0].astype(np.float64), 0)), rtol=100.0)
op("eg.cat", eg.cat, lambda c: ([[_x(c, c.dim(0), c.dim(1)), _x(c, c.dim(2), c.dim(1))]], {"dim": 0}),
   lambda a, k: np.concatenate(a[0], 0))
op("eg.stack", eg.stack, lambda c: ([[_x(c, *_shape(c)), _x(c, *_shape(c))]], {"dim": c.pick([0, 1, 2, -1])}),
   lambda a, k: np.stack(a[0], k["dim"]))
op("eg.where", eg.where, lambda c: ([tensor(c.rng.random(_shape(c)) < 0.5), _x(c, *_shape(c)), _x(c, c.dim(1))], {}),
   lambda a, k: np.where(a[0], a[1], a[2]))
op("eg.transpose", eg.transpose, lambda c: ([_x(c, *_shape(c, 3)), 0, c.pick([1, 2, -1])], {}),
   lambda a, k: np.swapaxes(a[0], a[1], a[2]))
op("eg.permute", eg.permute, lambda c: ([_x(c, *_shape(c, 3)), (2, 0, 1)], {}), lambda a, k: np.transpose(a[0], a[1]))
op("eg.reshape", eg.reshape, lambda c: ([_x(c, *_shape(c, 3)), (-1,)], {}), lambda a, k: a[0].reshape(a[1]))
op("eg.flatten", eg.flatten, lambda c: ([_x(c, *_shape(c, 3)), c.pick([0, 1])], {}),
   lambda a, k: a[0].reshape(a[0].shape[:a[1]] + (math.prod(a[0].shape[a[1]:]),)))
op("eg.squeeze", eg.squeeze, lambda c: ([_x(c, c.dim(0), 1, c.dim(1))], {"dim": c.pick([None, 1])}),
   lambda a, k: np.squeeze(a[0], k["dim"]) if k["dim"] is None or a[0].shape[k["dim"]] == 1 else a[0])  # torch's rule
op("eg.unsqueeze", eg.unsqueeze, lambda c: ([_x(c, *_shape(c)), c.pick([0, 1, 2, -1])], {}),
   lambda a, k: np.expand_dims(a[0], a[1]))

# --- layers of issue 18: transposed and 1-D convolution, embeddings, upsampling, attention ---------------


def _convt(c):
    groups = c.pick([1, 2])
    ci, co = groups * c.dim(1, 1), groups * c.dim(2, 1)
    stride, dilation = c.pick([1, 2]), c.pick([1, 2])
    x, weight = _x(c, c.dim(0), ci, c.dim(3) + 2, c.dim(0) + 1), _x(c, ci, co // groups, c.pick([1, 3]), c.pick([1, 2]))
    padding, output_padding = c.pick([0, 1]), c.pick(range(max(stride, dilation)))
    sizes = RC.conv_transpose2d_output_size(*x.shape[2:], *weight.shape[2:], (stride,) * 2, (padding,) * 2,
                                            (output_padding,) * 2, (dilation,) * 2)
    return [x, weight, _x(c, co) if c.flag() else None], dict(
        stride=stride, padding=padding if min(sizes) > 0 else 0, output_padding=output_padding, groups=groups,
        dilation=dilation)


def _convt_ref(a, k):
    pair = lambda v: (v, v)  # noqa: E731
    return R.conv_transpose2d_forward(a[0], a[1], a[2], pair(k["stride"]), pair(k["padding"]),
                                      pair(k["output_padding"]), pair(k["dilation"]), k["groups"])


op("F.conv_transpose2d", F.conv_transpose2d, _convt, _convt_ref, rtol=10.0)
op("F.conv1d", F.conv1d, lambda c: ([_x(c, c.dim(0), c.dim(1, 1), c.dim(2) + 5), _x(c, c.dim(3, 1), c.dim(1, 1), 3)],
                                    dict(stride=c.pick([1, 2]), padding=c.pick([0, 1]), dilation=c.pick([1, 2]))),
   lambda a, k: R.conv2d_forward(a[0][:, :, None], a[1][:, :, None], None, (1, k["stride"]),
                                 (0, 0, k["padding"], k["padding"]), (1, k["dilation"]), 1)[:, :, 0], rtol=10.0)
# (no channels: PyTorch refuses the 1-D and the adaptive max pools, as eigengrad does)
op("F.max_pool1d", F.max_pool1d, lambda c: ([_x(c, c.dim(0), c.dim(1, 1), c.dim(2) + 3), c.pick([1, 2, 3])],
                                            dict(stride=c.pick([None, 1, 2]), ceil_mode=c.flag())),
   lambda a, k: R.max_pool2d_forward(a[0][:, :, None], (1, a[1]), (1, k["stride"] or a[1]), (0, 0), (1, 1),
                                     k["ceil_mode"])[0][:, :, 0])
op("F.adaptive_max_pool2d", F.adaptive_max_pool2d,
   lambda c: ([_x(c, c.dim(0), c.dim(1, 1), c.dim(2) + 1, c.dim(3) + 1), (c.pick([1, 2, 3]), c.pick([1, 4]))], {}),
   lambda a, k: R.adaptive_max_pool2d_forward(a[0], a[1])[0])


def _emb(c):
    num = c.dim(0, 1)
    idx = c.rng.integers(0, num, (c.dim(1), c.dim(2))).astype(c.pick([np.int64, np.int32]))
    return [tensor(idx), _x(c, num, c.dim(3))], dict(padding_idx=c.pick([None, 0, -1]),
                                                      max_norm=c.pick([None, None, 1.0]))


def _emb_ref(a, k):
    w = a[1].copy()
    if k["max_norm"] is not None:
        R.embedding_renorm(w, a[0], k["max_norm"], 2.0)
    return R.embedding_forward(w, a[0])


op("F.embedding", F.embedding, _emb, _emb_ref, rtol=10.0)


def _emb_bag(c):
    num, bags, length = c.dim(0, 1), c.dim(1), c.dim(2)
    idx = c.rng.integers(0, num, (bags, length)).astype(np.int64)
    mode = c.pick(["sum", "mean", "max"])
    return [tensor(idx), _x(c, num, c.dim(3))], dict(mode=mode, padding_idx=c.pick([None, 0]))


def _emb_bag_ref(a, k):
    idx = a[0].reshape(-1)
    starts = np.arange(0, idx.size + 1, max(a[0].shape[1], 1)) if a[0].shape[1] else np.zeros(a[0].shape[0] + 1,
                                                                                                np.int64)
    pad = k["padding_idx"]  # a negative one counts from the end, as PyTorch's (the reference takes -1 for none)
    pad = -1 if pad is None else pad + a[1].shape[0] if pad < 0 else pad
    return R.embedding_bag_forward(a[1], idx, starts, None, k["mode"], pad)[0]


op("F.embedding_bag", F.embedding_bag, _emb_bag, _emb_bag_ref, rtol=10.0)


def _interpolate(c):
    mode = c.pick(["nearest", "nearest-exact", "bilinear"])
    size = (c.pick([1, 3, 8]), c.pick([2, 5])) if c.flag() else None
    scale = None if size else c.pick([2, 0.5, 1.7])
    low = 2 if scale == 0.5 else 1  # a plane of 1 scaled by 0.5 is empty: PyTorch refuses it, as eigengrad does
    x = _x(c, c.dim(0), c.dim(1, 1), c.dim(2, low), c.dim(3, low))  # (no channels: refused too, but for 'area')
    return [x], dict(size=size, scale_factor=scale, mode=mode,
                     align_corners=c.flag() if mode == "bilinear" else None)


op("F.interpolate", F.interpolate, _interpolate)
def _pixel_shuffle_ref(x, r):
    n, c, h, w = x.shape
    return x.reshape(n, c // (r * r), r, r, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c // (r * r), h * r, w * r)


op("F.pixel_shuffle", F.pixel_shuffle, lambda c: ([_x(c, c.dim(0), 4 * c.dim(1), c.dim(2), c.dim(3)), 2], {}),
   lambda a, k: _pixel_shuffle_ref(a[0], a[1]))


def _sdpa(c):
    b, h, lq, lk, e = c.dim(0), c.dim(1, 1), c.dim(2), c.dim(3), c.dim(0, 1)
    mask = c.pick([None, "bool", "float"])
    m = None if mask is None else tensor(c.rng.random((lq, lk)) < 0.8) if mask == "bool" else _x(c, lq, lk)
    return [_x(c, b, h, lq, e), _x(c, b, h, lk, e), _x(c, b, h, lk, c.dim(1, 1))], dict(
        attn_mask=m, is_causal=m is None and c.flag(0.3))


def _sdpa_ref(a, k):
    q, key, v = a
    mask = k["attn_mask"]
    if mask is not None:
        mask = np.broadcast_to(mask, q.shape[:3] + key.shape[2:3])
    return R.attention_forward(q, key, v, mask, 1 / math.sqrt(q.shape[-1]), k["is_causal"])[0]


op("F.scaled_dot_product_attention", F.scaled_dot_product_attention, _sdpa, _sdpa_ref, rtol=10.0)

# --- constructors -----------------------------------------------------------------------------------

op("eg.tensor", eg.tensor, lambda c: ([c.normal(*_shape(c)).tolist()], {"dtype": c.pick([None, np.float64])}),
   lambda a, k: np.asarray(a[0], dtype=k["dtype"] or np.float32))
op("eg.as_tensor", eg.as_tensor, lambda c: ([c.normal(*_shape(c))], {}), lambda a, k: a[0])
op("eg.zeros", eg.zeros, lambda c: (list(_shape(c)), {}), lambda a, k: np.zeros(a, np.float32))
op("eg.ones", eg.ones, lambda c: (list(_shape(c)), {"dtype": c.pick([None, np.float64, np.int64])}),
   lambda a, k: np.ones(a, k["dtype"] or np.float32))
op("eg.full", eg.full, lambda c: ([_shape(c), c.pick([1.5, 2, True])], {}), lambda a, k: np.full(a[0], a[1]))
op("eg.arange", eg.arange, lambda c: ([c.dim(0), c.dim(0) + c.dim(1) + 1, c.pick([1, 2, 0.5])], {}),
   lambda a, k: np.arange(*a))
op("eg.rand", eg.rand, lambda c: (list(_shape(c)), {}))
op("eg.randn", eg.randn, lambda c: (list(_shape(c)), {"dtype": c.pick([None, np.float64])}))
op("eg.randperm", eg.randperm, lambda c: ([c.dim(0) * c.dim(1)], {}))
op("eg.manual_seed", eg.manual_seed, lambda c: ([int(c.rng.integers(0, 2**62))], {}))
op("eg.zeros_like", eg.zeros_like, lambda c: ([_x(c, *_shape(c))], {}), lambda a, k: np.zeros_like(a[0]))


# --- the activations, distances, losses and layers added for porting (NumPy references) ----------------

def _sig(x):
    return 1 / (1 + np.exp(-x))


def _softplus_ref(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


_PORTED_UNARY = {
    "silu": lambda x: x * _sig(x),
    "mish": lambda x: x * np.tanh(_softplus_ref(x)),
    "relu6": lambda x: np.clip(x, 0, 6),
    "hardswish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "hardsigmoid": lambda x: np.clip(x + 3, 0, 6) / 6,
    "logsigmoid": lambda x: -_softplus_ref(-x),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "tanhshrink": lambda x: x - np.tanh(x),
    "hardshrink": lambda x: np.where(np.abs(x) > 0.5, x, 0),
    "softshrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0)),
}
for _name, _ref in _PORTED_UNARY.items():
    op(f"F.{_name}", getattr(F, _name), lambda c: ([_x(c, *_shape(c, 3), scale=3.0)], {}),
       lambda a, k, _r=_ref: _r(a[0]), rtol=10.0)
op("F.hardtanh", F.hardtanh, lambda c: ([_x(c, *_shape(c))], {"min_val": -0.5, "max_val": c.pick([0.5, 2.0])}),
   lambda a, k: np.clip(a[0], k["min_val"], k["max_val"]))
op("F.threshold", F.threshold, lambda c: ([_x(c, *_shape(c)), c.pick([0.0, 0.5]), -1.0], {}),
   lambda a, k: np.where(a[0] > a[1], a[0], a[2]))
op("F.celu", F.celu, lambda c: ([_x(c, *_shape(c))], {"alpha": c.pick([1.0, 0.5])}),
   lambda a, k: np.where(a[0] > 0, a[0], k["alpha"] * np.expm1(a[0] / k["alpha"])), rtol=10.0)
op("F.glu", F.glu, lambda c: ([_x(c, c.dim(0), 2 * c.dim(1))], {"dim": -1}),
   lambda a, k: np.split(a[0], 2, -1)[0] * _sig(np.split(a[0], 2, -1)[1]), rtol=10.0)
op("F.softmin", F.softmin, lambda c: ([_x(c, *_shape(c, 3))], {"dim": c.pick([0, -1])}),
   lambda a, k: _softmax_ref(-a[0], k["dim"]), rtol=10.0)
op("F.normalize", F.normalize, lambda c: ([_x(c, *_shape(c, 2, 1))], {"dim": c.pick([0, 1])}),
   lambda a, k: a[0] / np.maximum(np.linalg.norm(a[0], axis=k["dim"], keepdims=True), 1e-12), rtol=10.0)
op("F.pairwise_distance", F.pairwise_distance, lambda c: ([_x(c, c.dim(0), 4), _x(c, c.dim(0), 4)], {}),
   lambda a, k: np.linalg.norm(a[0] - a[1] + 1e-6, axis=-1), rtol=10.0)
op("F.pdist", F.pdist, lambda c: ([_x(c, c.dim(0, 1), c.dim(1, 1))], {}),
   lambda a, k: np.array([np.linalg.norm(a[0][i] - a[0][j]) for i in range(len(a[0]))
                          for j in range(i + 1, len(a[0]))], dtype=a[0].dtype).reshape(-1), rtol=10.0)
op("F.rms_norm", F.rms_norm, lambda c: ([_x(c, c.dim(0), 5), (5,)], {"eps": 1e-5}),
   lambda a, k: a[0] / np.sqrt((a[0] ** 2).mean(-1, keepdims=True) + k["eps"]), rtol=10.0)
op("F.unfold", F.unfold, lambda c: ([_x(c, c.dim(0), c.dim(1, 1), 4, 5), 2], {"stride": c.pick([1, 2])}))


def _soft_margin(c):
    shp = _shape(c)
    return [_x(c, *shp), tensor(np.where(c.normal(*shp) > 0, 1.0, -1.0).astype(c.normal(1).dtype))], {
        "reduction": c.pick(["mean", "sum", "none"])}


op("F.soft_margin_loss", F.soft_margin_loss, _soft_margin,
   lambda a, k: _reduce(np.log1p(np.exp(-a[0] * a[1])), k["reduction"]), rtol=10.0)


def unwrap(value: Any) -> Any:
    """Tensors (also inside lists and tuples) as NumPy copies of their values; everything else as it is."""
    if isinstance(value, eg.Tensor):
        return np.array(value.detach().numpy(), copy=True)
    if isinstance(value, (list, tuple)) and any(isinstance(v, eg.Tensor) for v in value):
        return type(value)(unwrap(v) for v in value)
    return value


def tensor_paths(args: list, kwargs: dict) -> list[str]:
    """The tensor arguments: "0", "1" (positions), "name" (keywords), "0[1]" (a tensor in a list argument)."""
    paths = []
    for key, value in [(str(i), v) for i, v in enumerate(args)] + list(kwargs.items()):
        if isinstance(value, eg.Tensor):
            paths.append(key)
        elif isinstance(value, (list, tuple)):
            paths += [f"{key}[{j}]" for j, v in enumerate(value) if isinstance(v, eg.Tensor)]
    return paths


def scalar_paths(args: list, kwargs: dict) -> list[str]:
    return [key for key, value in [(str(i), v) for i, v in enumerate(args)] + list(kwargs.items())
            if isinstance(value, (int, float, str)) or value is None]


__all__ = ["OPS", "Op", "tensor", "unwrap", "tensor_paths", "scalar_paths", "math"]
