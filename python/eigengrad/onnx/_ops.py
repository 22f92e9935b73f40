"""Each recorded kernel (``compile/roles.py``'s names) as ONNX nodes, for the eval forward.

A mapping gets an ``Args`` over the op: ``x(i)`` the value of array argument i (views resolved),
``s(i)`` a frozen scalar, ``put(i, value)`` the value written to array argument i. Kernels of training
(backward, dropout, BatchNorm with batch statistics) and glue of training steps have no mapping: the export
raises ExportError naming them.
"""
from __future__ import annotations

import math

import numpy as np

from eigengrad.onnx._trace import ExportError


class Args:
    """An op's arguments for a mapping: resolved values, scalars, shapes and dynamic flags."""

    def __init__(self, graph, op, dyn: list) -> None:
        self.g, self.op, self.dyn = graph, op, dyn

    def ref(self, i: int):
        return self.op.args[i]

    def given(self, i: int) -> bool:
        return i < len(self.op.args) and self.op.args[i] is not None

    def x(self, i: int) -> str:
        return self.g.read(self.op.args[i], self.dyn[i], f"argument {i} of kernel {self.op.name!r}")

    def s(self, i: int, default=None):
        return self.op.args[i] if i < len(self.op.args) else default

    def put(self, i: int, value: str) -> None:
        self.g.hold(self.op.args[i], value, self.dyn[i])

    def dtype(self, i: int):
        return self.op.args[i].dtype

    def scalar(self, value: float, i: int = 0) -> str:
        """A 0-d constant in the dtype of array argument i."""
        return self.g.const(np.asarray(value, dtype=self.dtype(i)), "k")


def _unary(op_type: str, **attrs):
    def emit(a: Args) -> None:
        a.put(1, a.g.node(op_type, [a.x(0)], **attrs))
    return emit


def _gemm(a: Args) -> None:
    """out = op(a) op(b) (+ bias) (+ out when accumulating): one Gemm (2-D operands)."""
    trans_a, trans_b = bool(a.s(4, False)), bool(a.s(5, False))
    inputs = [a.x(0), a.x(1)]
    c = a.x(3) if a.given(3) else None
    if a.s(6, False):
        old = a.x(2)
        c = old if c is None else a.g.node("Add", [old, c])
    if c is not None:
        inputs.append(c)
    a.put(2, a.g.node("Gemm", inputs, transA=int(trans_a), transB=int(trans_b)))


def _leaky_relu(a: Args) -> None:
    a.put(1, a.g.node("LeakyRelu", [a.x(0)], alpha=float(a.s(2))))


def _elu(a: Args) -> None:
    """scale * (x if x > 0 else alpha (exp(input_scale x) - 1)) (ELU, SELU)."""
    alpha, scale, input_scale = (float(v) for v in (a.s(2, 1.0), a.s(3, 1.0), a.s(4, 1.0)))
    x = a.x(0)
    if input_scale == 1.0:
        y = a.g.node("Elu", [x], alpha=alpha)
    else:
        neg = a.g.node("Mul", [a.g.node("Sub", [a.g.node("Exp", [a.g.node("Mul", [x, a.scalar(input_scale)])]),
                                                 a.scalar(1.0)]), a.scalar(alpha)])
        y = a.g.node("Where", [a.g.node("Greater", [x, a.scalar(0.0)]), x, neg])
    a.put(1, y if scale == 1.0 else a.g.node("Mul", [y, a.scalar(scale)]))


def _gelu(a: Args) -> None:
    """0.5 x (1 + erf(x / sqrt 2)); tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (opset 17 has
    no Gelu op)."""
    x = a.x(0)
    if a.s(2, False):
        cube = a.g.node("Mul", [a.g.node("Mul", [x, x]), x])
        inner = a.g.node("Add", [x, a.g.node("Mul", [cube, a.scalar(0.044715)])])
        t = a.g.node("Tanh", [a.g.node("Mul", [inner, a.scalar(math.sqrt(2.0 / math.pi))])])
    else:
        t = a.g.node("Erf", [a.g.node("Mul", [x, a.scalar(1.0 / math.sqrt(2.0))])])
    half_x = a.g.node("Mul", [x, a.scalar(0.5)])
    a.put(1, a.g.node("Mul", [half_x, a.g.node("Add", [t, a.scalar(1.0)])]))


def _softplus(a: Args) -> None:
    """log(1 + exp(beta x)) / beta, and x where beta x > threshold (PyTorch's softplus)."""
    beta, threshold = float(a.s(2, 1.0)), float(a.s(3, 20.0))
    x = a.x(0)
    bx = a.g.node("Mul", [x, a.scalar(beta)])
    soft = a.g.node("Div", [a.g.node("Softplus", [bx]), a.scalar(beta)])
    a.put(1, a.g.node("Where", [a.g.node("Greater", [bx, a.scalar(threshold)]), x, soft]))


def _ones(a: Args, n: int, value: float, i: int = 0) -> str:
    return a.g.const(np.full(n, value, dtype=a.dtype(i)), "k")


def _layer_norm(a: Args) -> None:
    """x (rows, d) normalised over d: LayerNormalization(axis=-1)."""
    d = a.ref(0).shape[-1]
    scale = a.x(1) if a.given(1) else _ones(a, d, 1.0)
    inputs = [a.x(0), scale] + ([a.x(2)] if a.given(2) else [])
    a.put(3, a.g.node("LayerNormalization", inputs, axis=-1, epsilon=float(a.s(6))))


def _batch_norm(a: Args) -> None:
    """x (N, C, L) with the running statistics (eval): BatchNormalization."""
    if a.s(8) or not (a.given(3) and a.given(4)):
        raise ExportError("BatchNorm that normalises with the batch's statistics (training mode, or "
                          "track_running_stats=False) cannot be exported: ONNX export is of the eval forward "
                          "with running statistics")
    c = a.ref(0).shape[1]
    scale = a.x(1) if a.given(1) else _ones(a, c, 1.0)
    bias = a.x(2) if a.given(2) else _ones(a, c, 0.0)
    a.put(5, a.g.node("BatchNormalization", [a.x(0), scale, bias, a.x(3), a.x(4)], epsilon=float(a.s(10))))


def _conv2d(a: Args) -> None:
    """Padding (top, bottom, left, right) -> ONNX's (top, left, bottom, right)."""
    (sh, sw), (top, bottom, left, right), (dh, dw), groups = a.s(4), a.s(5), a.s(6), int(a.s(7))
    kh, kw = a.ref(1).shape[2:]
    inputs = [a.x(0), a.x(1)] + ([a.x(2)] if a.given(2) else [])
    a.put(3, a.g.node("Conv", inputs, kernel_shape=[kh, kw], strides=[sh, sw], pads=[top, left, bottom, right],
                      dilations=[dh, dw], group=groups))


def _planes_op(a: Args, out: int, op_type: str, **attrs) -> None:
    """A pooling kernel over (planes, H, W): the ONNX op over (planes, 1, H, W)."""
    x4 = a.g.node("Unsqueeze", [a.x(0), a.g.ints([1])])
    y4 = a.g.node(op_type, [x4], **attrs)
    a.put(out, a.g.node("Squeeze", [y4, a.g.ints([1])]))


def _max_pool2d(a: Args) -> None:
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil = a.s(3), a.s(4), a.s(5), a.s(6), a.s(7)
    _planes_op(a, 1, "MaxPool", kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw],
               dilations=[dh, dw], ceil_mode=int(bool(ceil)))


def _avg_pool2d(a: Args) -> None:
    (kh, kw), (sh, sw), (ph, pw), ceil, include, divisor = (a.s(i) for i in range(2, 8))
    if divisor:
        raise ExportError("avg_pool2d with divisor_override has no ONNX AveragePool form")
    _planes_op(a, 1, "AveragePool", kernel_shape=[kh, kw], strides=[sh, sw], pads=[ph, pw, ph, pw],
               ceil_mode=int(bool(ceil)), count_include_pad=int(bool(include)))


def _adaptive(kind: str):
    name = f"adaptive_{'avg' if kind == 'Average' else 'max'}_pool2d"

    def emit(a: Args) -> None:
        (h, w), (oh, ow) = a.ref(0).shape[1:], a.ref(1).shape[1:]
        if (oh, ow) == (1, 1):
            _planes_op(a, 1, f"Global{kind}Pool")
        elif h % oh == 0 and w % ow == 0:
            k = [h // oh, w // ow]
            _planes_op(a, 1, f"{kind}Pool", kernel_shape=k, strides=k)
        elif kind == "Average":  # overlapping or uneven windows: the means as two products with weight matrices
            dt = a.dtype(0)
            rows = a.g.node("MatMul", [a.g.const(_window_means(h, oh, dt), "rows"), a.x(0)])
            a.put(1, a.g.node("MatMul", [rows, a.g.const(_window_means(w, ow, dt).T, "cols")]))
        else:
            raise ExportError(f"{name} from {h}x{w} to {oh}x{ow}: ONNX has no adaptive max pooling; only output "
                              "sizes that divide the input (or 1x1) export")
    return emit


def _window_means(n: int, out: int, dtype) -> np.ndarray:
    """(out, n): row i averages PyTorch's adaptive window i, [floor(i n / out), ceil((i + 1) n / out))."""
    m = np.zeros((out, n), dtype=dtype)
    for i in range(out):
        lo, hi = (i * n) // out, -((-(i + 1) * n) // out)
        m[i, lo:hi] = 1.0 / (hi - lo)
    return m


def _reduce_sum(a: Args) -> None:
    """scale * (x (outer, n, inner) summed over n) into out (outer, inner) (``mean`` is scale 1/n)."""
    y = a.g.node("ReduceSum", [a.x(0), a.g.ints([1])], keepdims=0)
    scale = float(a.s(2, 1.0))
    a.put(1, y if scale == 1.0 else a.g.node("Mul", [y, a.scalar(scale)]))


def _copy(a: Args) -> None:
    a.put(1, a.g.node("Identity", [a.x(0)]))


def _add(a: Args) -> None:
    a.put(2, a.g.node("Add", [a.x(0), a.x(1)]))


def _add_into(a: Args) -> None:
    a.put(0, a.g.node("Add", [a.x(0), a.x(1)]))


def _fill(a: Args) -> None:
    ref = a.ref(0)
    if any(a.dyn[0]):
        raise ExportError("a tensor filled with a constant whose shape depends on the batch cannot be exported")
    a.put(0, a.g.const(np.full(ref.shape, a.s(1), dtype=ref.dtype), "fill"))


COMPILED = {
    "gemm": _gemm,
    "relu_forward": _unary("Relu"), "sigmoid_forward": _unary("Sigmoid"), "tanh_forward": _unary("Tanh"),
    "leaky_relu_forward": _leaky_relu, "elu_forward": _elu, "gelu_forward": _gelu, "softplus_forward": _softplus,
    "layer_norm_forward": _layer_norm, "batch_norm_forward": _batch_norm, "conv2d_forward": _conv2d,
    "max_pool2d_forward": _max_pool2d, "avg_pool2d_forward": _avg_pool2d,
    "adaptive_avg_pool2d_forward": _adaptive("Average"), "adaptive_max_pool2d_forward": _adaptive("Max"),
    "reduce_sum": _reduce_sum, "strided_copy": _copy,
}
GLUE = {"copy": _copy, "add": _add, "add_into": _add_into, "fill": _fill}


def emit(graph, op, dyn: list) -> None:
    """The nodes of one recorded kernel op (ExportError when it has no ONNX form)."""
    table = COMPILED if op.table == "C" else GLUE
    fn = table.get(op.name)
    if fn is None:
        raise ExportError(f"the kernel {op.name!r} has no ONNX export (it is not part of an eval forward this "
                          "exporter maps)")
    fn(Args(graph, op, dyn))
