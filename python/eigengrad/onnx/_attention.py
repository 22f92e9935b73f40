"""MultiheadAttention and TransformerEncoderLayer as ONNX nodes (their eager forward does NumPy arithmetic
between kernels: the residual sums, the heads' reshapes, so each is exported as one module op), and the
masks the Transformer layers make on the way.

Scaled dot-product attention (Vaswani et al., "Attention Is All You Need", 2017), eval mode:
    q, k, v = x W_q^T + b_q, ...;  per head  softmax(q k^T / sqrt(head_dim) + mask) v;  out = concat(heads) W_o^T + b_o,
with ``mask`` the sum of ``attn_mask`` ((L, S) or (N * heads, L, S)) and ``key_padding_mask`` ((N, S), as
(N, 1, 1, S)), a bool mask becoming -inf where True (PyTorch's ``_canonical_mask``), as ``mha_forward`` does.
Where eager mode takes the fused kernel (no weights returned), a row whose keys are all masked out gives zeros
(the kernel's rule, and PyTorch's); where it returns the weights, NaN (their softmax). ``is_causal`` is a hint
that ``attn_mask`` (required with it) is the causal mask: the graph adds the mask itself, which is what the
fused kernel's causal mode computes when the hint is right (the export checks the file against eager mode on
the example inputs). ``bias_k``/``bias_v`` and ``add_zero_attn`` are refused with ExportError naming them.
"""
from __future__ import annotations

import inspect
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


def attention(a, m, q: str, k: str, v: str, source: int, weights: str | None = None,
              masks: tuple = (None, None)) -> tuple:
    """(output, attention weights or None) of ``m`` on batch-first values q (N, L, E), k, v (N, S, E), with
    ``source`` = S. ``weights``: None, "mean" (averaged over heads, (N, L, S)) or "heads" ((N, H, L, S));
    ``masks``: the input indices of (attn_mask, key_padding_mask) or None."""
    if m.bias_k is not None or m.add_zero_attn:
        raise ExportError("MultiheadAttention with add_bias_kv or add_zero_attn has no ONNX export yet")
    h, hd, e = m.num_heads, m.head_dim, m.embed_dim
    (wq, bq), (wk, bk), (wv, bv) = _projections(m)
    heads = a.g.ints([0, 0, h, hd])
    qh = a.g.node("Transpose", [a.g.node("Reshape", [_linear(a, q, wq, bq), heads])], perm=[0, 2, 1, 3])
    kh = a.g.node("Transpose", [a.g.node("Reshape", [_linear(a, k, wk, bk), heads])], perm=[0, 2, 3, 1])
    vh = a.g.node("Transpose", [a.g.node("Reshape", [_linear(a, v, wv, bv), heads])], perm=[0, 2, 1, 3])
    scale = a.g.const(np.asarray(1.0 / math.sqrt(hd), dtype=wq.dtype), "k")
    scores = a.g.node("Mul", [a.g.node("MatMul", [qh, kh]), scale])
    mask = _additive_mask(a, m, masks, wq.dtype)
    probs = a.g.node("Softmax", [scores if mask is None else a.g.node("Add", [scores, mask])], axis=-1)
    if mask is not None and weights is None:  # the fused kernel: a row with every key masked out is zeros
        probs = _zero_masked_rows(a, mask, probs, source, wq.dtype)
    ctx = a.g.node("Transpose", [a.g.node("MatMul", [probs, vh])], perm=[0, 2, 1, 3])
    out = _linear(a, a.g.node("Reshape", [ctx, a.g.ints([0, 0, e])]), _data(m.out_proj.weight), _data(m.out_proj.bias))
    if weights == "mean":
        total = a.g.node("ReduceSum", [probs, a.g.ints([1])], keepdims=0)  # (ReduceMean's axes vary by opset)
        return out, a.g.node("Div", [total, a.g.const(np.asarray(h, dtype=wq.dtype), "k")])
    return out, (probs if weights == "heads" else None)


def additive(a, x: str, bool_mask: bool, dtype) -> str:
    """A mask as the additive float mask ``mha_forward`` makes of it: a bool one is -inf where True, 0 elsewhere."""
    if not bool_mask:
        return x
    values = [a.g.const(np.asarray(v, dtype=dtype), "k") for v in (-np.inf, 0.0)]
    return a.g.node("Where", [x] + values)


def _additive_mask(a, m, masks: tuple, dtype) -> str | None:
    """The mask added to the scores (broadcast to (N, heads, L, S)), or None."""
    i_attn, i_pad = masks
    parts = []
    if i_attn is not None:
        x = additive(a, a.x(i_attn), a.dtype(i_attn) == np.bool_, dtype)
        if len(a.ref(i_attn).shape) == 3:  # (N * heads, L, S) -> (N, heads, L, S)
            x = a.g.node("Reshape", [x, a.g.ints([-1, m.num_heads, *a.ref(i_attn).shape[1:]])])
        parts.append(x)
    if i_pad is not None:
        x = additive(a, a.x(i_pad), a.dtype(i_pad) == np.bool_, dtype)
        parts.append(a.g.node("Reshape", [x, a.g.ints([0, 1, 1, -1])]))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else a.g.node("Add", parts)


def _zero_masked_rows(a, mask: str, probs: str, source: int, dtype) -> str:
    """``probs`` with zeros in the rows where ``mask`` is -inf at every key (their softmax is NaN): the rows'
    count of keys not masked out, as a product with a column of ones (opset-independent), is 0 there."""
    kept = a.g.node("Cast", [a.g.node("Not", [a.g.node("IsInf", [mask], detect_positive=0)])],
                    to=a.g.elem_type(dtype))
    ones = a.g.const(np.ones((source, 1), dtype=dtype), "ones")
    empty = a.g.node("Equal", [a.g.node("MatMul", [kept, ones]), a.g.const(np.asarray(0, dtype=dtype), "k")])
    return a.g.node("Where", [empty, a.g.const(np.asarray(0, dtype=dtype), "k"), probs])


def _call(a, forward) -> tuple:
    """({parameter: input index} of the module op's tensor arguments, {parameter: value} of the others, with
    ``forward``'s defaults), from the recorded call's structure."""
    args, kwargs = a.op.kwargs["structure"]
    bound = inspect.signature(forward).bind(None, *args, **kwargs)  # (None for self)
    names = list(bound.arguments)[1:len(args) + 1] + list(kwargs)
    values = list(args) + list(kwargs.values())
    tensors = [n for n, v in zip(names, values) if isinstance(v, str) and v == "T"]
    bound.apply_defaults()
    options = {n: v for n, v in list(bound.arguments.items())[1:] if n not in tensors}
    return {n: i for i, n in enumerate(tensors)}, options


def _batch_first(a, x: str, batch_first: bool) -> str:
    return x if batch_first else a.g.node("Transpose", [x], perm=[1, 0, 2])


def multihead_attention(a) -> None:
    """MultiheadAttention(query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights,
    is_causal)."""
    m = a.op.fn
    given, options = _call(a, type(m).forward)
    if any(n not in given for n in ("query", "key", "value")) or len(a.ref(0).shape) != 3:
        raise ExportError("MultiheadAttention: export takes batched (3-D) query, key and value tensors")
    need = options["need_weights"]
    q, k, v = (_batch_first(a, a.x(given[n]), m.batch_first) for n in ("query", "key", "value"))
    source = a.ref(given["key"]).shape[1 if m.batch_first else 0]
    masks = (given.get("attn_mask"), given.get("key_padding_mask"))
    weights = ("mean" if options["average_attn_weights"] else "heads") if need else None
    out, w = attention(a, m, q, k, v, source, weights, masks)
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
    """norm_first=False: x = norm1(x + sa(x)); x = norm2(x + ff(x)); norm_first: x = x + sa(norm1(x)); ...
    with the layer's src_mask, src_key_padding_mask and is_causal passed to the self-attention."""
    m = a.op.fn
    given, _ = _call(a, type(m).forward)
    if "src" not in given or len(a.ref(given["src"]).shape) != 3:
        raise ExportError("TransformerEncoderLayer: export takes one batched (3-D) input")
    if a.dtype(given["src"]) != np.float32:
        raise ExportError("TransformerEncoderLayer: only float32 exports")
    attn = m.self_attn
    x = _batch_first(a, a.x(given["src"]), attn.batch_first)
    length = a.ref(given["src"]).shape[1 if attn.batch_first else 0]
    masks = (given.get("src_mask"), given.get("src_key_padding_mask"))

    def sa(y):
        return attention(a, attn, y, y, y, length, None, masks)[0]

    def ff(y):
        h = _activation(a, m, _linear(a, y, _data(m.linear1.weight), _data(m.linear1.bias)))
        return _linear(a, h, _data(m.linear2.weight), _data(m.linear2.bias))

    for norm, block in ((m.norm1, sa), (m.norm2, ff)):
        if m.norm_first:
            x = a.g.node("Add", [x, block(_layer_norm(a, norm, x))])
        else:
            x = _layer_norm(a, norm, a.g.node("Add", [x, block(x)]))
    a.out(0, _batch_first(a, x, attn.batch_first))


def mask_to_additive(a) -> None:
    """``_bool_to_additive``: a bool mask as -inf where True, 0 elsewhere, in the output's dtype."""
    a.out(0, additive(a, a.x(0), True, a.dtype(a.n_in)))


def constant(a) -> None:
    """A value the forward made from Python arguments alone (a causal mask, ``zeros``)."""
    a.out(0, a.g.const(a.op.fn.value, "c"))


def zero_padded(a) -> None:
    """TransformerEncoder's zeros at the padded positions: Where(padding (N, L, 1), 0, output (N, L, E))."""
    pad = a.x(1)
    if a.dtype(1) != np.bool_:
        pad = a.g.node("Not", [a.g.node("Equal", [pad, a.scalar(0.0, 1)])])
    pad = a.g.node("Reshape", [pad, a.g.ints([0, 0, 1])])
    a.out(0, a.g.node("Where", [pad, a.scalar(0.0, 0), a.x(0)]))
