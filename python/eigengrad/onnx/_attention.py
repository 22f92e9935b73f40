"""MultiheadAttention and TransformerEncoderLayer as ONNX nodes (their eager forward does NumPy arithmetic
between kernels: the residual sums, the heads' reshapes, so each is exported as one module op).

Scaled dot-product attention (Vaswani et al., "Attention Is All You Need", 2017), eval mode, no masks:
    q, k, v = x W_q^T + b_q, ...;  per head  softmax(q k^T / sqrt(head_dim)) v;  out = concat(heads) W_o^T + b_o.
Masks (``attn_mask``, ``key_padding_mask``, ``is_causal``), ``bias_k``/``bias_v`` and ``add_zero_attn`` are
refused with ExportError naming them.
"""
from __future__ import annotations

import math

import numpy as np

from eigengrad.onnx._trace import ExportError


def _linear(a, x: str, weight, bias) -> str:
    """x W^T + b with W, b from the module (initializers)."""
    y = a.g.node("MatMul", [x, a.g.const(np.ascontiguousarray(weight.T), "wT")])
    return y if bias is None else a.g.node("Add", [y, a.g.const(bias, "b")])


def _data(t):
    return None if t is None else np.array(t._data, copy=True)


def _projections(m) -> list:
    """[(W_q, b_q), (W_k, b_k), (W_v, b_v)] of a MultiheadAttention."""
    e = m.embed_dim
    bias = _data(m.in_proj_bias)
    if m._qkv_same_embed_dim:
        w = _data(m.in_proj_weight)
        ws = [w[i * e:(i + 1) * e] for i in range(3)]
    else:
        ws = [_data(m.q_proj_weight), _data(m.k_proj_weight), _data(m.v_proj_weight)]
    return [(ws[i], None if bias is None else bias[i * e:(i + 1) * e]) for i in range(3)]


def attention(a, m, q: str, k: str, v: str, weights: str | None = None) -> tuple:
    """(output, attention weights or None) of ``m`` on batch-first values q (N, L, E), k, v (N, S, E).
    ``weights``: None, "mean" (averaged over heads, (N, L, S)) or "heads" ((N, H, L, S))."""
    if m.bias_k is not None or m.add_zero_attn:
        raise ExportError("MultiheadAttention with add_bias_kv or add_zero_attn has no ONNX export yet")
    h, hd, e = m.num_heads, m.head_dim, m.embed_dim
    (wq, bq), (wk, bk), (wv, bv) = _projections(m)
    heads = a.g.ints([0, 0, h, hd])
    qh = a.g.node("Transpose", [a.g.node("Reshape", [_linear(a, q, wq, bq), heads])], perm=[0, 2, 1, 3])
    kh = a.g.node("Transpose", [a.g.node("Reshape", [_linear(a, k, wk, bk), heads])], perm=[0, 2, 3, 1])
    vh = a.g.node("Transpose", [a.g.node("Reshape", [_linear(a, v, wv, bv), heads])], perm=[0, 2, 1, 3])
    scale = a.g.const(np.asarray(1.0 / math.sqrt(hd), dtype=wq.dtype), "k")
    probs = a.g.node("Softmax", [a.g.node("Mul", [a.g.node("MatMul", [qh, kh]), scale])], axis=-1)
    ctx = a.g.node("Transpose", [a.g.node("MatMul", [probs, vh])], perm=[0, 2, 1, 3])
    out = _linear(a, a.g.node("Reshape", [ctx, a.g.ints([0, 0, e])]), _data(m.out_proj.weight), _data(m.out_proj.bias))
    if weights == "mean":
        total = a.g.node("ReduceSum", [probs, a.g.ints([1])], keepdims=0)  # (ReduceMean's axes vary by opset)
        return out, a.g.node("Div", [total, a.g.const(np.asarray(h, dtype=wq.dtype), "k")])
    return out, (probs if weights == "heads" else None)


def _no_masks(name: str, structure, masks: tuple) -> None:
    (args, kwargs) = structure
    given = [k for k in masks if kwargs.get(k) is not None] + (["is_causal"] if kwargs.get("is_causal") else [])
    if given:
        raise ExportError(f"{name}: {', '.join(given)} has no ONNX export yet (export without masks)")


def _batch_first(a, x: str, batch_first: bool) -> str:
    return x if batch_first else a.g.node("Transpose", [x], perm=[1, 0, 2])


def multihead_attention(a) -> None:
    """MultiheadAttention(query, key, value, need_weights=..., average_attn_weights=...)."""
    m, structure = a.op.fn, a.op.kwargs["structure"]
    _no_masks("MultiheadAttention", structure, ("key_padding_mask", "attn_mask"))
    args, kwargs = structure
    if len(args) > 3 or a.n_in != 3 or len(a.ref(0).shape) != 3:
        raise ExportError("MultiheadAttention: export takes batched (3-D) query, key and value without masks")
    need = kwargs.get("need_weights", args[4] if len(args) > 4 else True)
    average = kwargs.get("average_attn_weights", True)
    q, k, v = (_batch_first(a, a.x(i), m.batch_first) for i in range(3))
    out, w = attention(a, m, q, k, v, ("mean" if average else "heads") if need else None)
    a.out(0, _batch_first(a, out, m.batch_first))
    if need:
        a.out(1, w)


def _activation(a, layer, x: str) -> str:
    """The feed-forward activation: relu or exact gelu (the function or the module)."""
    from eigengrad.nn import functional as F

    act, kind = layer.activation, type(layer.activation).__name__
    if act is F.relu or kind == "ReLU":
        return a.g.node("Relu", [x])
    if act is F.gelu or (kind == "GELU" and act.approximate == "none"):
        k = {v: a.g.const(np.asarray(v, np.float32), "k") for v in (0.5, 1.0, 1.0 / math.sqrt(2.0))}
        erf = a.g.node("Erf", [a.g.node("Mul", [x, k[1.0 / math.sqrt(2.0)]])])
        return a.g.node("Mul", [a.g.node("Mul", [x, k[0.5]]), a.g.node("Add", [erf, k[1.0]])])
    raise ExportError(f"TransformerEncoderLayer: the activation {act!r} has no ONNX export (relu and gelu do)")


def _layer_norm(a, norm, x: str) -> str:
    w = _data(norm.weight) if norm.weight is not None else np.ones(norm.normalized_shape, np.float32)
    inputs = [x, a.g.const(w, "ln_w")] + ([a.g.const(_data(norm.bias), "ln_b")] if norm.bias is not None else [])
    return a.g.node("LayerNormalization", inputs, axis=-1, epsilon=float(norm.eps))


def encoder_layer(a) -> None:
    """norm_first=False: x = norm1(x + sa(x)); x = norm2(x + ff(x)); norm_first: x = x + sa(norm1(x)); ..."""
    m, structure = a.op.fn, a.op.kwargs["structure"]
    _no_masks("TransformerEncoderLayer", structure, ("src_mask", "src_key_padding_mask"))
    if a.n_in != 1 or len(a.ref(0).shape) != 3:
        raise ExportError("TransformerEncoderLayer: export takes one batched (3-D) input without masks")
    if a.dtype(0) != np.float32:
        raise ExportError("TransformerEncoderLayer: only float32 exports")
    attn = m.self_attn
    x = _batch_first(a, a.x(0), attn.batch_first)

    def sa(y):
        return attention(a, attn, y, y, y)[0]

    def ff(y):
        h = _activation(a, m, _linear(a, y, _data(m.linear1.weight), _data(m.linear1.bias)))
        return _linear(a, h, _data(m.linear2.weight), _data(m.linear2.bias))

    for norm, block in ((m.norm1, sa), (m.norm2, ff)):
        if m.norm_first:
            x = a.g.node("Add", [x, block(_layer_norm(a, norm, x))])
        else:
            x = _layer_norm(a, norm, a.g.node("Add", [x, block(x)]))
    a.out(0, _batch_first(a, x, attn.batch_first))
