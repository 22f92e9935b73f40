"""The modules exported as one op each (``_trace.MODULE_OPS``) as ONNX nodes.

Their eager forward computes partly in NumPy (softmax, SiLU, an RNN's stacking of layers), which the
kernel recorder does not see, so the export maps the module itself. Weights a mapping needs are taken
from the module (as initializers), the module's tensor inputs and outputs are the recorded op's arrays.
"""
from __future__ import annotations

import numpy as np

from eigengrad.onnx import _attention, _layers
from eigengrad.onnx._ops import Args
from eigengrad.onnx._trace import UNARY, ExportError

# PyTorch's gate order per block of ``hidden_size`` rows -> ONNX's: LSTM (i, f, g, o) -> (i, o, f, c),
# GRU (r, z, n) -> (z, r, h)
_GATES = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}


class ModuleArgs(Args):
    """A module op: arrays 0 .. n_in-1 are its tensor inputs, then its tensor outputs."""

    @property
    def n_in(self) -> int:
        return self.op.kwargs["n_in"]

    def out(self, j: int, value: str) -> None:
        self.put(self.n_in + j, value)

    def weight(self, t) -> str:
        return self.g.const(np.array(t._data, copy=True, order="C"), "w")


def _softmax_dim(m, ndim: int) -> int:
    return m.dim if m.dim is not None else (0 if ndim in (0, 1, 3) else 1)


def _softmax(a: ModuleArgs) -> None:
    """The module or the function (``F.softmax``, ``Tensor.softmax``, ...: the options object has ``dim``
    and ``dtype``)."""
    m, x = a.op.fn, a.x(0)
    if getattr(m, "dtype", None) is not None:
        raise ExportError(f"{a.op.name} with dtype= has no ONNX export yet (cast the input first)")
    axis = _softmax_dim(m, len(a.ref(0).shape))
    kind = a.op.name
    if kind == "Softmin":
        x, kind = a.g.node("Neg", [x]), "Softmax"
    a.out(0, a.g.node(kind, [x], axis=axis))


def _silu(a: ModuleArgs) -> None:
    x = a.x(0)
    a.out(0, a.g.node("Mul", [x, a.g.node("Sigmoid", [x])]))


def _mish(a: ModuleArgs) -> None:
    x = a.x(0)
    a.out(0, a.g.node("Mul", [x, a.g.node("Tanh", [a.g.node("Softplus", [x])])]))


def _clip(a: ModuleArgs) -> None:
    """ReLU6, Hardtanh (modules and functions), clamp/clip with number bounds (None: unbounded)."""
    m = a.op.fn
    if a.n_in != 1:
        raise ExportError(f"{a.op.name} with tensor bounds has no ONNX export yet (number bounds do)")
    if a.op.name == "ReLU6":
        lo, hi = 0.0, 6.0
    elif a.op.name == "Clamp":
        lo, hi = m.min, m.max
    else:
        lo, hi = m.min_val, m.max_val
    bounds = ["" if v is None else a.scalar(float(v)) for v in (lo, hi)]
    a.out(0, a.g.node("Clip", [a.x(0)] + bounds))


def _prelu(a: ModuleArgs) -> None:
    m, ndim = a.op.fn, len(a.ref(0).shape)
    w = np.array(m.weight._data, copy=True)
    if w.size > 1 and ndim >= 2:  # one slope per channel (dim 1): broadcast over the dims after it
        w = w.reshape((w.size,) + (1,) * (ndim - 2))
    a.out(0, a.g.node("PRelu", [a.x(0), a.g.const(w, "slope")]))


def _embedding(a: ModuleArgs) -> None:
    m = a.op.fn
    if m.max_norm is not None:
        raise ExportError("Embedding with max_norm renormalises its weight in place during the forward: not exportable")
    a.out(0, a.g.node("Gather", [a.weight(m.weight), a.x(0)], axis=0))


def _rnn(a: ModuleArgs) -> None:
    """One ONNX RNN/LSTM/GRU node per layer (both directions in one node), time-major inside."""
    m, structure = a.op.fn, a.op.kwargs["structure"]
    args = structure[0]
    if len(args) > 2 or structure[1]:
        raise ExportError(f"{type(m).__name__}: export takes the input and hx as positional arguments only")
    if len(a.ref(0).shape) != 3:
        raise ExportError(f"{type(m).__name__}: only batched (3-D) input exports; got shape {a.ref(0).shape}")
    lstm, d, h = m.mode == "LSTM", m.num_directions, m.hidden_size
    x = a.x(0)
    if m.batch_first:
        x = a.g.node("Transpose", [x], perm=[1, 0, 2])
    states = [a.x(i) for i in range(1, a.n_in)]  # h0 (and c0) as (layers * directions, batch, hidden)
    h_n, c_n = [], []
    for layer in range(m.num_layers):
        inputs = [x] + _layer_weights(a, m, layer) + [""]
        for s in states:
            inputs.append(a.g.node("Slice", [s, a.g.ints([layer * d]), a.g.ints([(layer + 1) * d]), a.g.ints([0])]))
        op_type, attrs = _rnn_op(m, d)
        outs = a.g.node(op_type, inputs, n_out=3 if lstm else 2, hidden_size=h,
                        direction="bidirectional" if d == 2 else "forward", **attrs)
        y = a.g.node("Transpose", [outs[0]], perm=[0, 2, 1, 3])  # (T, D, N, H) -> (T, N, D, H)
        x = a.g.node("Reshape", [y, a.g.ints([0, 0, -1])])
        h_n.append(outs[1])
        if lstm:
            c_n.append(outs[2])
    a.out(0, a.g.node("Transpose", [x], perm=[1, 0, 2]) if m.batch_first else x)
    a.out(1, h_n[0] if len(h_n) == 1 else a.g.node("Concat", h_n, axis=0))
    if lstm:
        a.out(2, c_n[0] if len(c_n) == 1 else a.g.node("Concat", c_n, axis=0))


def _rnn_op(m, d: int) -> tuple:
    if m.mode == "LSTM":
        return "LSTM", {}
    if m.mode == "GRU":
        return "GRU", {"linear_before_reset": 1}  # PyTorch applies r to (W_hn h + b_hn)
    return "RNN", {"activations": ["Relu" if m.mode == "RNN_RELU" else "Tanh"] * d}


def _layer_weights(a: ModuleArgs, m, layer: int) -> list:
    """[W, R, B] of one layer, directions stacked, gates in ONNX's order."""
    perm, h = _GATES[m.mode], m.hidden_size
    rows = np.concatenate([np.arange(g * h, (g + 1) * h) for g in perm])
    w, r, b = [], [], []
    for k in range(layer * m.num_directions, (layer + 1) * m.num_directions):
        params = [getattr(m, n)._data for n in m._flat_names[k]]
        w.append(params[0][rows])
        r.append(params[1][rows])
        if m.bias:
            b.append(np.concatenate([params[2][rows], params[3][rows]]))
        else:
            b.append(np.zeros(2 * len(rows), dtype=params[0].dtype))
    return [a.g.const(np.stack(w), "W"), a.g.const(np.stack(r), "R"), a.g.const(np.stack(b), "B")]


_ARITH = {"Add": ("Add", False), "Sub": ("Sub", False), "RSub": ("Sub", True), "Mul": ("Mul", False),
          "Div": ("Div", False), "RDiv": ("Div", True)}  # op -> (ONNX op, operands swapped)


def _arith(a: ModuleArgs) -> None:
    """tensor (op) tensor or tensor (op) number, one dtype in and out (no type promotion)."""
    op_type, swapped = _ARITH[a.op.name]
    x, dt = a.x(0), a.dtype(0)
    if a.n_in == 2:
        y, ydt = a.x(1), a.dtype(1)
    else:
        (other,) = vars(a.op.fn).values()
        if isinstance(other, (bool, np.bool_)) or not isinstance(other, (int, float, np.integer, np.floating)):
            raise ExportError(f"{a.op.name} of a tensor and a {type(other).__name__} has no ONNX export (a number or "
                              "a tensor does)")
        y, ydt = a.g.const(np.asarray(other, dtype=dt), "k"), dt
    if ydt != dt or a.dtype(a.n_in) != dt:
        raise ExportError(f"{a.op.name} of {dt} and {ydt} giving {a.dtype(a.n_in)}: type promotion has no ONNX "
                          "export yet")
    a.out(0, a.g.node(op_type, [y, x] if swapped else [x, y]))


def _concat(a: ModuleArgs) -> None:
    ndim = len(a.ref(0).shape)
    a.out(0, a.g.node("Concat", [a.x(i) for i in range(a.n_in)], axis=int(a.op.fn.dim) % ndim))


# --- tensor operations of a custom forward (hand-written attention, x ** 2, x.exp(), ...) ------------------

def _float_only(a: ModuleArgs) -> None:
    if a.n_in == 0:
        raise ExportError(f"{a.op.name} of a value made in the forward from Python numbers has no ONNX export")
    for i in range(a.n_in + 1):
        if np.dtype(a.dtype(i)).kind != "f":
            raise ExportError(f"{a.op.name} of a {a.dtype(i)} tensor has no ONNX export here (float tensors do)")


def _unary(a: ModuleArgs) -> None:
    _float_only(a)
    a.out(0, a.g.node(a.op.name, [a.x(0)]))


def _rsqrt(a: ModuleArgs) -> None:
    _float_only(a)
    a.out(0, a.g.node("Reciprocal", [a.g.node("Sqrt", [a.x(0)])]))


def _matmul(a: ModuleArgs) -> None:
    """x @ y (NumPy's broadcasting and 1-D rules, as ONNX's MatMul)."""
    _float_only(a)
    if a.n_in != 2 or a.dtype(0) != a.dtype(1):
        raise ExportError("matmul of two tensors of one dtype exports; got another form")
    a.out(0, a.g.node("MatMul", [a.x(0), a.x(1)]))


def _pow(a: ModuleArgs) -> None:
    """x ** y, x a tensor and y a number or a tensor (``RPow``: a number ** a tensor), one float dtype."""
    _float_only(a)
    if a.n_in == 2:
        a.out(0, a.g.node("Pow", [a.x(0), a.x(1)]))
        return
    (other,) = [v for k, v in vars(a.op.fn).items() if k != "out"]
    if isinstance(other, (bool, np.bool_)) or not isinstance(other, (int, float, np.integer, np.floating)):
        raise ExportError(f"a power of a tensor and a {type(other).__name__} has no ONNX export")
    k = a.scalar(float(other))
    a.out(0, a.g.node("Pow", [k, a.x(0)] if a.op.name == "RPow" else [a.x(0), k]))


def _masked_fill(a: ModuleArgs) -> None:
    """x with ``value`` where the bool mask (broadcast) is true: Where(mask, value, x)."""
    _float_only_first(a)
    if a.n_in != 2 or np.dtype(a.dtype(1)) != np.bool_:
        raise ExportError("masked_fill with a bool mask tensor and a number exports; got another form")
    value = float(vars(a.op.fn)["value"])
    a.out(0, a.g.node("Where", [a.x(1), a.scalar(value), a.x(0)]))


def _float_only_first(a: ModuleArgs) -> None:
    if np.dtype(a.dtype(0)).kind != "f":
        raise ExportError(f"{a.op.name} of a {a.dtype(0)} tensor has no ONNX export here (float tensors do)")


def _stack(a: ModuleArgs) -> None:
    ndim = len(a.ref(0).shape) + 1
    dim = int(vars(a.op.fn).get("dim", 0)) % ndim
    parts = [a.g.node("Unsqueeze", [a.x(i), a.g.ints([dim])]) for i in range(a.n_in)]
    a.out(0, parts[0] if len(parts) == 1 else a.g.node("Concat", parts, axis=dim))


def _same(a: ModuleArgs) -> None:
    """``contiguous()`` / ``clone()``: the same values (a view read as its Transpose/Slice nodes)."""
    a.out(0, a.g.node("Identity", [a.x(0)]))


_COMPARE = {"Eq": ("Equal", False), "Ne": ("Equal", True), "Lt": ("Less", False), "Le": ("LessOrEqual", False),
            "Gt": ("Greater", False), "Ge": ("GreaterOrEqual", False)}  # op -> (ONNX op, negated)


def _compare(a: ModuleArgs) -> None:
    """tensor (op) tensor or tensor (op) number, one dtype, a bool result."""
    op_type, negated = _COMPARE[a.op.name]
    x, dt = a.x(0), a.dtype(0)
    if a.n_in == 2:
        if a.dtype(1) != dt:
            raise ExportError(f"a comparison of {dt} and {a.dtype(1)} has no ONNX export yet (one dtype does)")
        y = a.x(1)
    else:
        (other,) = [v for k, v in vars(a.op.fn).items() if k != "out"]
        if isinstance(other, (bool, np.bool_)) or not isinstance(other, (int, float, np.integer, np.floating)):
            raise ExportError(f"a comparison of a tensor and a {type(other).__name__} has no ONNX export")
        y = a.scalar(other)
    out = a.g.node(op_type, [x, y])
    a.out(0, a.g.node("Not", [out]) if negated else out)


def _log_sigmoid(a: ModuleArgs) -> None:
    """log(sigmoid(x)) = -softplus(-x), without the log of an underflowed sigmoid."""
    a.out(0, a.g.node("Neg", [a.g.node("Softplus", [a.g.node("Neg", [a.x(0)])])]))


def _shrink(a: ModuleArgs) -> None:
    """Softshrink (x -+ lambd beyond +-lambd) and Hardshrink (x beyond +-lambd), else 0: ONNX's Shrink."""
    lambd = float(a.op.fn.lambd)
    a.out(0, a.g.node("Shrink", [a.x(0)], lambd=lambd, bias=lambd if a.op.name == "Softshrink" else 0.0))


def _threshold(a: ModuleArgs) -> None:
    """x where x > threshold, else value."""
    m, x = a.op.fn, a.x(0)
    keep = a.g.node("Greater", [x, a.scalar(float(m.threshold))])
    a.out(0, a.g.node("Where", [keep, x, a.scalar(float(m.value))]))


MODULES = {
    **{name: _arith for name in _ARITH}, "Concat": _concat,
    "Softmax": _softmax, "LogSoftmax": _softmax, "Softmin": _softmax, "SiLU": _silu, "Mish": _mish,
    "Hardswish": lambda a: a.out(0, a.g.node("HardSwish", [a.x(0)])),
    "Hardsigmoid": lambda a: a.out(0, a.g.node("HardSigmoid", [a.x(0)], alpha=1.0 / 6.0, beta=0.5)),
    "Softsign": lambda a: a.out(0, a.g.node("Softsign", [a.x(0)])),
    "ReLU6": _clip, "Hardtanh": _clip, "Clamp": _clip, "PReLU": _prelu, "Embedding": _embedding,
    "RNN": _rnn, "LSTM": _rnn, "GRU": _rnn,
    "MultiheadAttention": _attention.multihead_attention, "TransformerEncoderLayer": _attention.encoder_layer,
    "MaskToAdditive": _attention.mask_to_additive, "Constant": _attention.constant,
    "ZeroPadded": _attention.zero_padded,
    "GroupNorm": _layers.group_norm, "InstanceNorm1d": _layers.instance_norm, "InstanceNorm2d": _layers.instance_norm,
    "ConvTranspose1d": _layers.conv_transpose, "ConvTranspose2d": _layers.conv_transpose, "Upsample": _layers.upsample,
    "UpsamplingNearest2d": _layers.upsample, "UpsamplingBilinear2d": _layers.upsample,
    "Pad": _layers.pad, "Pad2d": _layers.pad2d, "RMSNorm": _layers.rms_norm, "LocalResponseNorm": _layers.local_response_norm,
    "LogSigmoid": _log_sigmoid, "Softshrink": _shrink, "Hardshrink": _shrink, "Threshold": _threshold,
    **{op: _unary for op in set(UNARY.values())}, "Rsqrt": _rsqrt, "MatMul": _matmul, "Pow": _pow, "RPow": _pow,
    "MaskedFill": _masked_fill, "Stack": _stack, "Same": _same, **{op: _compare for op in _COMPARE},
}


def emit(graph, op, dyn: list) -> None:
    fn = MODULES.get(op.name)
    if fn is None:
        raise ExportError(f"the module {op.name} has no ONNX export yet")
    fn(ModuleArgs(graph, op, dyn))
