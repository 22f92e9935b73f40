"""The table of differentiable primitives: one or more cases per ``Primitive`` subclass, each a float64
function of tensors, its inputs and (for the user-facing ops) the same function in PyTorch.

``tests/test_autograd_higher_order.py`` runs gradcheck and gradgradcheck over every case, checks that each
case goes through the primitive it covers, compares the user-facing ones with PyTorch to second order,
and fails for a primitive that has no case here: add a case for every new primitive (its backward
primitives too, which are reached at second order and whose own backward_graph is the third).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import _kernels as K
from eigengrad.autograd import custom_function, ops, ops_activation as A, ops_combine as C, ops_conv as V
from eigengrad.autograd import ops_dropout as D, ops_embedding as E, ops_inplace as I, ops_loss as L, ops_norm as N
from eigengrad.autograd import ops_rnn as R, ops_shape as S, ops_upsample as U, views


@dataclass
class Case:
    covers: type
    name: str
    fn: Callable
    make: Callable  # rng -> tuple of inputs: float64 arrays become tensors that require grad, the rest stay
    torch_fn: Callable | None = None  # the same function over torch tensors (tf = torch.nn.functional)

    @property
    def id(self) -> str:
        return f"{self.covers.__name__}-{self.name}"


def normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def positive(*shape, low=0.5, high=2.0):
    return lambda rng: rng.uniform(low, high, shape)


def away(*shape):
    """Values at least 0.2 from zero (kinks of relu, abs, l1...)."""
    return lambda rng: rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 1.5, shape)


def distinct(*shape):
    """A permutation of well separated values (max, pooling, maxout: no ties)."""
    return lambda rng: rng.permutation(np.arange(int(np.prod(shape))) * 0.37 - 1.0).reshape(shape)


def inputs(*makers):
    return lambda rng: tuple(m(rng) if callable(m) else m for m in makers)


def const(value):
    """An input that stays as it is (a constant, an integer target, an option)."""
    return lambda rng: _Const(value)


class _Const:
    def __init__(self, value) -> None:
        self.value = value


def build(case: Case, rng) -> tuple:
    """The case's inputs: arrays become float64 tensors that require grad; constants are unwrapped."""
    out = []
    for v in case.make(rng):
        if isinstance(v, _Const):
            out.append(v.value)
        else:
            out.append(eg.tensor(np.asarray(v, dtype=np.float64), requires_grad=True))
    return tuple(out)


# --- cases needing small helpers ------------------------------------------------------------------------

IDX_REPEAT = np.array([0, 2, 0])
TARGET = np.array([0, 2, 1, 3])
TARGET_IGNORED = np.array([0, -100, 1, 3])
CLASS_WEIGHT = np.array([0.5, 1.5, 1.0, 2.0])
POS_WEIGHT = np.array([0.7, 1.3, 2.0])
THRESHOLD = K.keep_threshold(0.4)


def _conv_options():
    return (1, 2), (1, 0, 1, 1), (1, 2), 2  # stride, padding (t, b, l, r), dilation, groups


def _pool_idx():
    x = distinct(2, 2, 5, 4)(np.random.default_rng(5))
    _, idx = K.max_pool2d_forward(x, (2, 2), (1, 1), (0, 0), (1, 1), False)
    return idx


POOL_IDX = _pool_idx()
EMB_IDX = np.array([[0, 3, 1], [3, 4, 3]])
EMB_IDX_NO_PAD = np.array([[0, 3, 2], [3, 4, 3]])
UP_OPTIONS = dict(input_shape=(2, 2, 3, 4), size=(5, 7), mode="linear", scales=(0.0, 0.0), align_corners=True,
                  legacy_nearest=False)
EMB_OPTIONS = dict(indices=EMB_IDX, num=5, padding_idx=1, scale_grad_by_freq=True)
POOL_INPUT = ((2, 2, 5, 4), np.dtype(np.float64))
AVG_OPTIONS = ((3, 2), (2, 1), (1, 0), True, False, None)
PAD = (1, 2, 2, 1)
PAD_MAPS = (V._pad_index(4, 1, 2, "reflect"), V._pad_index(5, 2, 1, "reflect"), (2, 3, 4, 5))
CHAIN = ((ops.GetItem, {"index": (slice(1, 3),)}),)
LAYOUT = ((4, 3), (0, 1))


def view_inplace(x, v):
    """An in-place change through a view: CopySlices on the base, ViewOfBase for the view."""
    base = x * 1.0
    view = base[1:3]
    view.mul_(v)
    return view * base[0:2] + base.sum()


def clone_then(op):
    def fn(x, v):
        y = x * 1.0
        op(y, v)
        return y * x
    return fn


def _fill(y, v):
    y.fill_(v)


def _copy(y, v):
    y.copy_(v)


def _setitem(y, v):
    y[[0, 2]] = v


class Cube(custom_function.Function):
    """A user Function: x ** 3 with the backward written with Tensor operations (differentiable again)."""

    @staticmethod
    def forward(ctx, x, scale=1.0):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 3 * x * x * ctx.scale, None


class SinCos(custom_function.Function):
    """A user Function with two outputs (x y, x + y^2), setup_context style."""

    @staticmethod
    def forward(x, y):
        return x * y, x + y * y

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def backward(ctx, ga, gb):
        x, y = ctx.saved_tensors
        return ga * y + gb, ga * x + gb * 2 * y


def two_outputs(x, y):
    a, b = SinCos.apply(x, y)
    return a * 2 + b.exp()


def rnn_case(mode: str, gates: int, reverse: bool) -> Case:
    t, n, i, h = 3, 2, 2, 2

    def fn(x, h0, c0, wi, wh, bi, bh):
        return R.RecurrentLayer.apply(x, h0, c0, wi, wh, bi, bh, mode=mode, reverse=reverse)

    c0 = (lambda rng: rng.standard_normal((n, h)) * 0.5) if mode == "LSTM" else const(None)
    scaled = [lambda rng, s=s: rng.standard_normal(s) * 0.5 for s in
              ((t, n, i), (n, h), None, (gates * h, i), (gates * h, h), (gates * h,), (gates * h,))]
    scaled[2] = c0
    return Case(R.RecurrentLayer, f"{mode}-{'rev' if reverse else 'fwd'}", fn, inputs(*scaled))


def _torch_pad(x):
    import torch.nn.functional as tf
    return tf.pad(x, (PAD[2], PAD[3], PAD[0], PAD[1]), mode="reflect")


# --- the table ------------------------------------------------------------------------------------------

CASES = [
    Case(ops.Add, "broadcast", lambda a, b: a + b, inputs(normal(3, 1), normal(1, 4)), lambda a, b: a + b),
    Case(ops.Sub, "broadcast", lambda a, b: a - b, inputs(normal(3, 4), normal(4)), lambda a, b: a - b),
    Case(ops.Mul, "broadcast", lambda a, b: a * b, inputs(normal(2, 3), normal(2, 1)), lambda a, b: a * b),
    Case(ops.Mul, "scalar", lambda a: a * 2.5, inputs(normal(5)), lambda a: a * 2.5),
    Case(ops.Div, "broadcast", lambda a, b: a / b, inputs(normal(2, 3), positive(3)), lambda a, b: a / b),
    Case(ops.Div, "reflected", lambda b: 2.0 / b, inputs(positive(4)), lambda b: 2.0 / b),
    Case(ops.Pow, "tensor-exponent", lambda a, b: a ** b, inputs(positive(2, 3), normal(3)), lambda a, b: a ** b),
    Case(ops.Pow, "scalar-exponent", lambda a: a ** 3, inputs(normal(4)), lambda a: a ** 3),
    Case(ops.Pow, "rsqrt", lambda a: a ** -0.5, inputs(positive(4)), lambda a: a ** -0.5),
    Case(ops.Pow, "base-constant", lambda b: 2.0 ** b, inputs(normal(4)), lambda b: 2.0 ** b),
    Case(ops.Maximum, "broadcast", lambda a, b: a.maximum(b), inputs(normal(3, 4), normal(4)),
         lambda a, b: a.maximum(b)),
    Case(ops.Neg, "plain", lambda a: -a, inputs(normal(3)), lambda a: -a),
    Case(ops.Cast, "float64", lambda a: ops.Cast.apply(a, dtype=np.float64) * a, inputs(normal(3)),
         lambda a: a.double() * a),
    Case(ops.Exp, "plain", lambda a: a.exp(), inputs(normal(2, 3)), lambda a: a.exp()),
    Case(ops.Log, "plain", lambda a: a.log(), inputs(positive(2, 3)), lambda a: a.log()),
    Case(ops.Sqrt, "plain", lambda a: a.sqrt(), inputs(positive(2, 3)), lambda a: a.sqrt()),
    Case(ops.Abs, "plain", lambda a: a.abs() * a, inputs(away(2, 3)), lambda a: a.abs() * a),
    Case(ops.ReLU, "plain", lambda a: a.relu() * a, inputs(away(2, 3)), lambda a: a.relu() * a),
    Case(ops.Sigmoid, "plain", lambda a: a.sigmoid(), inputs(normal(2, 3)), lambda a: a.sigmoid()),
    Case(ops.Tanh, "plain", lambda a: a.tanh(), inputs(normal(2, 3)), lambda a: a.tanh()),
    Case(ops.Sum, "dims", lambda a: a.sum((0, 2)) ** 2, inputs(normal(2, 3, 2)), lambda a: a.sum((0, 2)) ** 2),
    Case(ops.Sum, "keepdim", lambda a: (a.sum(1, keepdim=True) * a), inputs(normal(2, 3)),
         lambda a: a.sum(1, keepdim=True) * a),
    Case(ops.Sum, "sum-times", lambda a: a.sum() * a, inputs(normal(2, 3)), lambda a: a.sum() * a),
    Case(ops.Amax, "dim", lambda a: a.amax(1) * a.sum(1), inputs(distinct(3, 4)),
         lambda a: a.amax(1) * a.sum(1)),
    Case(ops.Gather, "max-dim", lambda a: a.max(1).values ** 2, inputs(distinct(3, 4)),
         lambda a: a.max(1).values ** 2),
    Case(ops.GatherBackward, "direct",
         lambda g: ops.GatherBackward.apply(g, index=np.array([[1], [3], [0]]), dim=1, shape=(3, 4)) ** 2,
         inputs(normal(3, 1))),
    Case(ops.Expand, "direct", lambda a: ops.Expand.apply(a, shape=(2, 3, 4)) ** 2, inputs(normal(3, 1)),
         lambda a: a.expand(2, 3, 4) ** 2),
    Case(ops.Identity, "direct", lambda a: ops.Identity.apply(a) ** 2, inputs(normal(3))),
    Case(ops.Clone, "plain", lambda a: a.clone() * a, inputs(normal(2, 3)), lambda a: a.clone() * a),
    Case(ops.ZeroGradTo, "grid", lambda a, b: ops.ZeroGradTo.apply(a, b) ** 2 + b.sum(), inputs(normal(3), normal(2))),
    Case(ops.Reshape, "plain", lambda a: a.reshape(3, 2) ** 2, inputs(normal(2, 3)), lambda a: a.reshape(3, 2) ** 2),
    Case(ops.Permute, "plain", lambda a: a.permute(2, 0, 1) ** 2, inputs(normal(2, 3, 2)),
         lambda a: a.permute(2, 0, 1) ** 2),
    Case(ops.GetItem, "basic", lambda a: a[1:3, ::2] ** 2, inputs(normal(4, 3)), lambda a: a[1:3, ::2] ** 2),
    Case(ops.GetItem, "repeated", lambda a: a[IDX_REPEAT] ** 2, inputs(normal(4, 3)),
         lambda a: a[IDX_REPEAT] ** 2),
    Case(ops.GetItemBackward, "repeated",
         lambda g: ops.GetItemBackward.apply(g, index=IDX_REPEAT, shape=(4, 3)) ** 2, inputs(normal(3, 3))),
    Case(ops.MatMul, "2d", lambda a, b: a @ b, inputs(normal(3, 4), normal(4, 2)), lambda a, b: a @ b),
    Case(ops.MatMul, "batched", lambda a, b: a @ b, inputs(normal(2, 3, 4), normal(4, 2)), lambda a, b: a @ b),
    Case(ops.MatMul, "vector-matrix", lambda a, b: a @ b, inputs(normal(4), normal(2, 4, 3)),
         lambda a, b: a @ b),
    Case(ops.MatMul, "matrix-vector", lambda a, b: (a @ b) ** 2, inputs(normal(3, 4), normal(4)),
         lambda a, b: (a @ b) ** 2),
    Case(ops.MatMul, "dot", lambda a, b: (a @ b) ** 2, inputs(normal(4), normal(4)), lambda a, b: (a @ b) ** 2),
    Case(ops.Linear, "bias", lambda x, w, b: F.linear(x, w, b).tanh(), inputs(normal(3, 4), normal(2, 4), normal(2)),
         lambda x, w, b: __import__("torch").nn.functional.linear(x, w, b).tanh()),
    Case(ops.Linear, "no-bias", lambda x, w: F.linear(x, w) ** 2, inputs(normal(3, 4), normal(2, 4)),
         lambda x, w: __import__("torch").nn.functional.linear(x, w) ** 2),
    Case(ops.SoftmaxCrossEntropy, "mean", lambda x: F.cross_entropy(x, eg.tensor(TARGET)), inputs(normal(4, 5)),
         lambda x: _tf().cross_entropy(x, _tt(TARGET))),
    Case(ops.SoftmaxCrossEntropy, "none-ignored",
         lambda x: F.cross_entropy(x, eg.tensor(TARGET_IGNORED), reduction="none"), inputs(normal(4, 5)),
         lambda x: _tf().cross_entropy(x, _tt(TARGET_IGNORED), reduction="none")),
    Case(ops.SoftmaxCrossEntropy, "sum", lambda x: F.cross_entropy(x, eg.tensor(TARGET), reduction="sum"),
         inputs(normal(4, 5)), lambda x: _tf().cross_entropy(x, _tt(TARGET), reduction="sum")),
    Case(ops.MSE, "mean", lambda x, y: F.mse_loss(x, y), inputs(normal(3, 2), normal(3, 2)),
         lambda x, y: _tf().mse_loss(x, y)),
    Case(ops.MSE, "none", lambda x, y: F.mse_loss(x, y, reduction="none"), inputs(normal(3, 2), normal(3, 2)),
         lambda x, y: _tf().mse_loss(x, y, reduction="none")),
    Case(ops.MSE, "sum-constant-target", lambda x: F.mse_loss(x, eg.tensor(np.ones((3, 2))), reduction="sum"),
         inputs(normal(3, 2)), lambda x: _tf().mse_loss(x, _tt(np.ones((3, 2))), reduction="sum")),
    Case(A.Unary, "leaky_relu", lambda x: F.leaky_relu(x, 0.1) * x, inputs(away(2, 3)),
         lambda x: _tf().leaky_relu(x, 0.1) * x),
    Case(A.Unary, "elu", lambda x: F.elu(x, 1.3), inputs(away(2, 3)), lambda x: _tf().elu(x, 1.3)),
    Case(A.Unary, "selu", lambda x: F.selu(x), inputs(away(2, 3)), lambda x: _tf().selu(x)),
    Case(A.Unary, "gelu", lambda x: F.gelu(x), inputs(normal(2, 3)), lambda x: _tf().gelu(x)),
    Case(A.Unary, "gelu-tanh", lambda x: F.gelu(x, approximate="tanh"), inputs(normal(2, 3)),
         lambda x: _tf().gelu(x, approximate="tanh")),
    Case(A.Unary, "softplus", lambda x: F.softplus(x, beta=1.5, threshold=2.0), inputs(away(2, 3)),
         lambda x: _tf().softplus(x, beta=1.5, threshold=2.0)),
    Case(A.UnaryBackward, "gelu", lambda g, x: A.UnaryBackward.apply(g, x, kind="gelu", params=(False,)),
         inputs(normal(2, 3), normal(2, 3))),
    Case(A.UnaryBackward, "elu", lambda g, x: A.UnaryBackward.apply(g, x, kind="elu", params=(1.2, 1.1, 0.9)),
         inputs(normal(2, 3), away(2, 3))),
    Case(A.UnaryBackward, "softplus", lambda g, x: A.UnaryBackward.apply(g, x, kind="softplus", params=(2.0, 20.0)),
         inputs(normal(2, 3), normal(2, 3))),
    Case(A.PReLU, "channels", lambda x, w: F.prelu(x, w) * x, inputs(away(2, 3, 2), normal(3)),
         lambda x, w: _tf().prelu(x, w) * x),
    Case(A.PReLU, "shared", lambda x, w: F.prelu(x, w) * x, inputs(away(2, 3), normal(1)),
         lambda x, w: _tf().prelu(x, w) * x),
    Case(A.MaxPieces, "maxout", lambda x: F.maxout(x, 2) ** 2, inputs(distinct(3, 4))),
    Case(A.MaxPiecesBackward, "direct",
         lambda g: A.MaxPiecesBackward.apply(g, idx=np.array([1, 0, 1]), pieces=2, shape=(3, 2)) ** 2,
         inputs(normal(3, 1))),
    Case(C.Cat, "dim1", lambda a, b: eg.cat([a, b], 1) ** 2, inputs(normal(2, 3), normal(2, 1)),
         lambda a, b: __import__("torch").cat([a, b], 1) ** 2),
    Case(C.Stack, "dim1", lambda a, b: eg.stack([a, b], 1) ** 2, inputs(normal(2, 3), normal(2, 3)),
         lambda a, b: __import__("torch").stack([a, b], 1) ** 2),
    Case(C.Where, "broadcast", lambda a, b: eg.where(eg.tensor(np.array([True, False, True])), a, b) ** 2,
         inputs(normal(2, 3), normal(3)),
         lambda a, b: __import__("torch").where(_tt(np.array([True, False, True])), a, b) ** 2),
    Case(V.Conv2d, "strided-groups",
         lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1, dilation=(1, 2), groups=2).tanh(),
         inputs(normal(2, 4, 5, 5), normal(4, 2, 2, 2), normal(4)),
         lambda x, w, b: _tf().conv2d(x, w, b, stride=(1, 2), padding=1, dilation=(1, 2), groups=2).tanh()),
    Case(V.Conv2dInputGrad, "direct",
         lambda g, w: V.Conv2dInputGrad.apply(g, w, x_shape=(1, 4, 4, 5), options=_conv_options()) ** 2,
         inputs(normal(1, 4, 4, 3), normal(4, 2, 2, 2))),
    Case(V.Conv2dWeightGrad, "direct",
         lambda x, g: V.Conv2dWeightGrad.apply(x, g, w_shape=(4, 2, 2, 2), options=_conv_options()) ** 2,
         inputs(normal(1, 4, 4, 5), normal(1, 4, 4, 3))),
    Case(V.Pad2d, "reflect", lambda x: V.Pad2d.apply(x, padding=PAD, mode="reflect") ** 2, inputs(normal(2, 3, 4, 5)),
         lambda x: _torch_pad(x) ** 2),
    Case(V.Pad2d, "circular", lambda x: V.Pad2d.apply(x, padding=(1, 1, 2, 0), mode="circular") ** 2,
         inputs(normal(1, 2, 3, 4))),
    Case(V.Pad2dBackward, "direct", lambda g: V.Pad2dBackward.apply(g, maps=PAD_MAPS) ** 2,
         inputs(normal(2, 3, 7, 8))),
    Case(V.Repad, "direct", lambda x: V.Repad.apply(x, maps=PAD_MAPS) ** 2, inputs(normal(2, 3, 4, 5))),
    Case(V.MaxPool2d, "overlapping", lambda x: F.max_pool2d(x, 2, stride=1) ** 2, inputs(distinct(2, 2, 5, 4)),
         lambda x: _tf().max_pool2d(x, 2, stride=1) ** 2),
    Case(V.MaxPool2d, "padded-ceil", lambda x: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True) ** 2,
         inputs(distinct(1, 2, 5, 6)), lambda x: _tf().max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True) ** 2),
    Case(V.MaxPool2dBackward, "direct",
         lambda g: V.MaxPool2dBackward.apply(g, idx=POOL_IDX, input=POOL_INPUT) ** 2, inputs(normal(2, 2, 4, 3))),
    Case(V.MaxPool2dGather, "direct",
         lambda x: V.MaxPool2dGather.apply(x, idx=POOL_IDX, input=POOL_INPUT) ** 2, inputs(normal(2, 2, 5, 4))),
    Case(V.AvgPool2d, "padded", lambda x: F.avg_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True,
                                                         count_include_pad=False) ** 2,
         inputs(normal(2, 2, 5, 4)),
         lambda x: _tf().avg_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True,
                                    count_include_pad=False) ** 2),
    Case(V.AvgPool2dBackward, "direct",
         lambda g: V.AvgPool2dBackward.apply(g, input=((1, 2, 5, 4), np.dtype(np.float64)), options=AVG_OPTIONS) ** 2,
         inputs(normal(1, 2, 3, 3))),
    Case(V.AdaptiveAvgPool2d, "uneven", lambda x: F.adaptive_avg_pool2d(x, (2, 3)) ** 2, inputs(normal(2, 2, 5, 4)),
         lambda x: _tf().adaptive_avg_pool2d(x, (2, 3)) ** 2),
    Case(V.AdaptiveAvgPool2dBackward, "direct",
         lambda g: V.AdaptiveAvgPool2dBackward.apply(g, input=((1, 2, 5, 4), np.dtype(np.float64))) ** 2,
         inputs(normal(1, 2, 2, 3))),
    Case(V.ConvTranspose2d, "strided-groups",
         lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 1), padding=(1, 0), output_padding=(1, 0),
                                            dilation=(1, 2), groups=2).tanh(),
         inputs(normal(2, 4, 3, 3), normal(4, 1, 2, 2), normal(2)),
         lambda x, w, b: _tf().conv_transpose2d(x, w, b, stride=(2, 1), padding=(1, 0), output_padding=(1, 0),
                                                dilation=(1, 2), groups=2).tanh()),
    Case(V.AdaptiveMaxPool2d, "uneven", lambda x: F.adaptive_max_pool2d(x, (2, 3)) ** 2, inputs(distinct(2, 2, 5, 4)),
         lambda x: _tf().adaptive_max_pool2d(x, (2, 3)) ** 2),
    # The padding row is looked up but gets no gradient, and scale_grad_by_freq's gradient is not the
    # derivative (both as PyTorch's): the direct cases below hold them. (PyTorch's second order ignores
    # scale_grad_by_freq; EmbeddingGather is the exact adjoint of the scaled scatter.)
    Case(E.Embedding, "padding",
         lambda w: F.embedding(eg.tensor(EMB_IDX_NO_PAD), w, padding_idx=1) ** 2, inputs(normal(5, 3)),
         lambda w: _tf().embedding(_tt(EMB_IDX_NO_PAD), w, padding_idx=1) ** 2),
    Case(E.Embedding, "plain", lambda w: F.embedding(eg.tensor(EMB_IDX), w).tanh(), inputs(normal(5, 3)),
         lambda w: _tf().embedding(_tt(EMB_IDX), w).tanh()),
    Case(E.EmbeddingBackward, "direct", lambda g: E.EmbeddingBackward.apply(g, **EMB_OPTIONS) ** 2,
         inputs(normal(2, 3, 4))),
    Case(E.EmbeddingGather, "direct", lambda h: E.EmbeddingGather.apply(h, **EMB_OPTIONS) ** 2, inputs(normal(5, 4))),
    Case(U.Upsample, "bilinear", lambda x: F.interpolate(x, size=(5, 7), mode="bilinear") ** 2,
         inputs(normal(2, 2, 3, 4)), lambda x: _tf().interpolate(x, size=(5, 7), mode="bilinear") ** 2),
    Case(U.Upsample, "nearest", lambda x: F.interpolate(x, scale_factor=2, mode="nearest") ** 2,
         inputs(normal(1, 2, 3, 2)), lambda x: _tf().interpolate(x, scale_factor=2, mode="nearest") ** 2),
    Case(U.UpsampleBackward, "direct", lambda g: U.UpsampleBackward.apply(g, **UP_OPTIONS) ** 2,
         inputs(normal(2, 2, 5, 7))),
    Case(U.Interpolate, "direct", lambda h: U.Interpolate.apply(h, **UP_OPTIONS) ** 2, inputs(normal(2, 2, 3, 4))),
    Case(D.Dropout, "fixed-mask",
         lambda x: D.Dropout.apply(x, seed=3, offset=0, threshold=THRESHOLD, scale=1 / 0.6) ** 2,
         inputs(normal(3, 4))),
    Case(D.AlphaDropout, "fixed-mask",
         lambda x: D.AlphaDropout.apply(x, seed=3, offset=0, threshold=THRESHOLD, a=0.8, b_keep=0.1, b_drop=-0.5) ** 2,
         inputs(normal(3, 4))),
    Case(D.FeatureDropout, "fixed-mask",
         lambda x: D.FeatureDropout.apply(x, rows=4, seed=3, offset=0, threshold=THRESHOLD, scale=1 / 0.6) ** 2,
         inputs(normal(2, 2, 3))),
    Case(I.Clamp, "tensor-bounds", lambda x, lo, hi: x.clamp(lo, hi) * x,
         inputs(distinct(3, 4), lambda rng: np.full(4, -1.1), lambda rng: np.full(4, 1.8)),
         lambda x, lo, hi: x.clamp(lo, hi) * x),
    Case(I.Clamp, "numbers", lambda x: x.clamp(-0.5, 0.5) * x, inputs(distinct(3, 4)),
         lambda x: x.clamp(-0.5, 0.5) * x),
    Case(I.Fill, "tensor-value", clone_then(_fill), inputs(normal(3), normal()),
         lambda x, v: _torch_clone_then(x, v, "fill")),
    Case(I.CopyFrom, "broadcast", clone_then(_copy), inputs(normal(2, 3), normal(3)),
         lambda x, v: _torch_clone_then(x, v, "copy")),
    Case(I.SetItem, "advanced", clone_then(_setitem), inputs(normal(4, 2), normal(2)),
         lambda x, v: _torch_clone_then(x, v, "setitem")),
    Case(L.WeightedSoftmaxCrossEntropy, "weight-smoothing",
         lambda x: F.cross_entropy(x, eg.tensor(TARGET_IGNORED), weight=eg.tensor(CLASS_WEIGHT), label_smoothing=0.2),
         inputs(normal(4, 4)),
         lambda x: _tf().cross_entropy(x, _tt(TARGET_IGNORED), weight=_tt(CLASS_WEIGHT), label_smoothing=0.2)),
    Case(L.WeightedSoftmaxCrossEntropy, "smoothing-none",
         lambda x: F.cross_entropy(x, eg.tensor(TARGET), label_smoothing=0.1, reduction="none"), inputs(normal(4, 4)),
         lambda x: _tf().cross_entropy(x, _tt(TARGET), label_smoothing=0.1, reduction="none")),
    Case(L.NLL, "weighted", lambda x: F.nll_loss(x.log_softmax(1), eg.tensor(TARGET_IGNORED),
                                                 weight=eg.tensor(CLASS_WEIGHT)),
         inputs(normal(4, 4)),
         lambda x: _tf().nll_loss(x.log_softmax(1), _tt(TARGET_IGNORED), weight=_tt(CLASS_WEIGHT))),
    Case(L.BCEWithLogits, "pos-weight", lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, weight=eg.tensor(POS_WEIGHT), pos_weight=eg.tensor(POS_WEIGHT[::-1].copy())),
         inputs(normal(2, 3), positive(2, 3, low=0.0, high=1.0)),
         lambda x, y: _tf().binary_cross_entropy_with_logits(x, y, weight=_tt(POS_WEIGHT),
                                                               pos_weight=_tt(POS_WEIGHT[::-1].copy()))),
    Case(L.BCEWithLogits, "none", lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none"),
         inputs(normal(2, 3), positive(2, 3, low=0.0, high=1.0)),
         lambda x, y: _tf().binary_cross_entropy_with_logits(x, y, reduction="none")),
    Case(L.BCE, "mean", lambda p, y: F.binary_cross_entropy(p, y),
         inputs(positive(2, 3, low=0.2, high=0.8), positive(2, 3, low=0.0, high=1.0)),
         lambda p, y: _tf().binary_cross_entropy(p, y)),
    Case(L.Regression, "l1", lambda x, y: F.l1_loss(x, y) * x.sum(), inputs(normal(2, 3), normal(2, 3)),
         lambda x, y: _tf().l1_loss(x, y) * x.sum()),
    Case(L.Regression, "huber", lambda x, y: F.huber_loss(x, y, delta=0.7, reduction="sum"),
         inputs(normal(2, 3), normal(2, 3)), lambda x, y: _tf().huber_loss(x, y, delta=0.7, reduction="sum")),
    Case(L.Regression, "smooth_l1", lambda x, y: F.smooth_l1_loss(x, y, beta=0.6, reduction="none"),
         inputs(normal(2, 3), normal(2, 3)), lambda x, y: _tf().smooth_l1_loss(x, y, beta=0.6, reduction="none")),
    Case(L.KLDiv, "batchmean", lambda x, t: F.kl_div(x, t, reduction="batchmean"),
         inputs(normal(2, 3), positive(2, 3, low=0.1, high=1.0)),
         lambda x, t: _tf().kl_div(x, t, reduction="batchmean")),
    Case(L.KLDiv, "log-target", lambda x, t: F.kl_div(x, t, reduction="sum", log_target=True),
         inputs(normal(2, 3), normal(2, 3)), lambda x, t: _tf().kl_div(x, t, reduction="sum", log_target=True)),
    Case(N.BatchNorm, "training", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
         inputs(normal(3, 2, 2, 2), normal(2), normal(2)),
         lambda x, w, b: _tf().batch_norm(x, None, None, w, b, training=True)),
    Case(N.BatchNorm, "eval", lambda x, w, b: F.batch_norm(x, eg.tensor(np.array([0.1, -0.2])),
                                                           eg.tensor(np.array([1.5, 0.7])), w, b, training=False),
         inputs(normal(3, 2), normal(2), normal(2)),
         lambda x, w, b: _tf().batch_norm(x, _tt(np.array([0.1, -0.2])), _tt(np.array([1.5, 0.7])), w, b,
                                          training=False)),
    Case(N.LayerNorm, "two-dims", lambda x, w, b: F.layer_norm(x, (2, 3), w, b),
         inputs(normal(2, 2, 3), normal(2, 3), normal(2, 3)), lambda x, w, b: _tf().layer_norm(x, (2, 3), w, b)),
    Case(N.GroupNorm, "groups", lambda x, w, b: F.group_norm(x, 2, w, b), inputs(normal(2, 4, 3), normal(4), normal(4)),
         lambda x, w, b: _tf().group_norm(x, 2, w, b)),
    Case(N.LocalResponseNorm, "size3", lambda x: F.local_response_norm(x, 3, alpha=0.5, beta=0.75, k=1.5),
         inputs(normal(2, 4, 3)), lambda x: _tf().local_response_norm(x, 3, alpha=0.5, beta=0.75, k=1.5)),
    rnn_case("RNN_TANH", 1, False),
    rnn_case("RNN_RELU", 1, True),
    rnn_case("LSTM", 4, False),
    rnn_case("LSTM", 4, True),
    rnn_case("GRU", 3, False),
    Case(views.CopySlices, "view-inplace", view_inplace, inputs(normal(4, 3), normal(3)),
         lambda x, v: _torch_view_inplace(x, v)),
    Case(views.ViewOfBase, "view-inplace", view_inplace, inputs(normal(4, 3), normal(3))),
    Case(views.IntoRegion, "direct", lambda g: views.IntoRegion.apply(g, chain=CHAIN, layout=LAYOUT) ** 2,
         inputs(normal(2, 3))),
    Case(views.Region, "direct", lambda x: views.Region.apply(x, chain=CHAIN, layout=LAYOUT) ** 2,
         inputs(normal(4, 3))),
    Case(custom_function.CustomFunctionNode, "cube", lambda x: Cube.apply(x, scale=0.5), inputs(normal(2, 3))),
    Case(custom_function.OutputOf, "two-outputs", two_outputs, inputs(normal(3), normal(3))),
    Case(ops.ReLUBackward, "direct", lambda g, y: ops.ReLUBackward.apply(g, y) ** 2, inputs(normal(3, 4), away(3, 4))),
    Case(A.LogSigmoid, "plain", lambda x: F.logsigmoid(x) * x, inputs(normal(2, 3)),
         lambda x: _tf().logsigmoid(x) * x),
    Case(ops.EvenlyDistributed, "median", lambda a: a.median() * a.sum(), inputs(distinct(5)),
         lambda a: a.median() * a.sum()),
    # (contiguous first: as_strided reads the storage, which a strided input lays out otherwise)
    Case(S.AsStrided, "windows", lambda a: a.contiguous().as_strided((3, 3), (1, 2), 1) ** 2, inputs(normal(3, 4)),
         lambda a: a.contiguous().as_strided((3, 3), (1, 2), 1) ** 2),
    Case(S.AsStridedAdjoint, "direct",
         lambda g: S.AsStridedAdjoint.apply(g, src=((3, 3), (1, 2), 1), dst=((3, 4), (4, 1), 0)) ** 2,
         inputs(normal(3, 3))),
]

# Not in the table, with the reason.
EXEMPT = {
    "OnceDifferentiable": "raises by design: the node of a gradient that cannot be differentiated again",
    # issue 18's primitives merged after issue 17's autograd: first-order gradients under create_graph (a
    # further backward raises, naming the op); their backward_graph is still to write
    "EmbeddingBag": "first order only (issue 18, merged after the higher-order autograd)",
    "ScaledDotProductAttention": "first order only (issue 18, merged after the higher-order autograd)",
    "PackedSelfAttention": "first order only, as ScaledDotProductAttention (MultiheadAttention's self-attention path)",
    # issue 20's nodes need a process group: tested on 2 ranks under mpiexec (tests/distributed), first order
    "SyncBatchNormFunction": "needs a process group; full-batch BatchNorm on 2 ranks in tests/distributed",
    "_DDPSink": "needs a process group; gradient averaging on 2 ranks in tests/distributed",
    # constants: their inputs are arrays (never tensors), their outputs need no gradient
    "NumpyCall": "not differentiable: a factory's array or a constant for eg.compile (tests/test_compile_numpy_primitives.py)",
    "OneHot": "not differentiable: int64 output (one_hot in tests/test_nn_embedding.py)",
    "CTCLoss": "first order only, as PyTorch's ctc_loss (its double backward is not implemented either); its "
               "gradient is PyTorch's eq. 16 form, checked by gradcheck through log_softmax in tests/test_ctc_loss.py",
}

# The tensor operations' primitives (tests/grad_cases_tensor_ops.py).
from grad_cases_tensor_ops import EXEMPT as _TENSOR_OP_EXEMPT, TENSOR_OP_CASES  # noqa: E402

CASES += TENSOR_OP_CASES
EXEMPT.update(_TENSOR_OP_EXEMPT)

# The sparse COO product (eigengrad.sparse._ops.SparseMM): in the values of the sparse matrix (duplicate indices
# included) and in the dense one; its backward_graph is the same primitive on the transposed plan.
from eigengrad.sparse._ops import SparseMM  # noqa: E402

_SPARSE_IDX = np.array([[0, 2, 2, 1, 0], [1, 0, 3, 3, 1]])
CASES += [
    Case(SparseMM, "values_and_dense",
         lambda v, b: eg.sparse.mm(eg.sparse_coo_tensor(_SPARSE_IDX, v, (3, 4)), b) ** 2,
         inputs(normal(5), normal(4, 2))),
    Case(SparseMM, "dense_at_sparse",
         lambda v, b: (b @ eg.sparse_coo_tensor(_SPARSE_IDX, v, (3, 4))).sin(), inputs(normal(5), normal(2, 3))),
]


def _tf():
    import torch.nn.functional as tf

    return tf


def _tt(a):
    import torch

    return torch.from_numpy(np.asarray(a))


def _torch_clone_then(x, v, what):
    y = x * 1.0
    if what == "fill":
        y.fill_(v)
    elif what == "copy":
        y.copy_(v)
    else:
        y[[0, 2]] = v
    return y * x


def _torch_view_inplace(x, v):
    base = x * 1.0
    view = base[1:3]
    view.mul_(v)
    return view * base[0:2] + base.sum()
