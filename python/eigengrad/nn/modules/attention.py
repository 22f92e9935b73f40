"""``MultiheadAttention`` with PyTorch's arguments, parameter names, shapes, initialisation and results."""
from __future__ import annotations

import numpy as np

from eigengrad.nn._functional_mha import (ArgumentAssertionError, _as_tensor, canonical_mask, dtype_or_none,
                                          mha_forward)
from eigengrad.nn import init
from eigengrad.nn.modules.linear import NonDynamicallyQuantizableLinear
from eigengrad.nn.modules.module import Module, check_device, factory_dtype
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError


def _positive(value, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):  # PyTorch: TypeError (a size)
        raise TypeError(f"{name}: expected a positive int, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ArgumentError(f"{name}: expected a positive int, got {value!r}")
    return int(value)


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al. 2017): num_heads heads of size embed_dim / num_heads,

        MultiHead(q, k, v) = Concat(head_1, ..., head_h) W_o,   head_i = Attention(q W_q^i, k W_k^i, v W_v^i).

    PyTorch's parameters: ``in_proj_weight`` (3 E, E) when kdim = vdim = E, else ``q_proj_weight`` (E, E),
    ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim); ``in_proj_bias`` (3 E) and ``out_proj``
    (Linear(E, E)) with ``bias``; ``bias_k``, ``bias_v`` (1, 1, E) with ``add_bias_kv``. Initialisation
    as PyTorch: xavier_uniform_ projections, zero biases, xavier_normal_ bias_k/bias_v (out_proj.weight
    keeps Linear's initialisation). ``dropout`` applies to the attention weights in training.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` returns (output, weights) as PyTorch: inputs (L, N, E)
    or (N, L, E) with ``batch_first``, or unbatched (L, E); weights (N, L, S) averaged over the heads,
    (N, num_heads, L, S) with ``average_attn_weights=False``, None with ``need_weights=False``. Masks:
    bool True (or float -inf) masks a position out. With ``need_weights=False`` the heads run through the
    fused ``F.scaled_dot_product_attention`` kernel; with weights they are materialised, as in PyTorch.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        check_device(device)
        embed_dim, num_heads = _positive(embed_dim, "embed_dim"), _positive(num_heads, "num_heads")
        if embed_dim % num_heads:
            raise ArgumentAssertionError(f"num_heads: embed_dim must be divisible by num_heads, got {embed_dim} and "
                                         f"{num_heads}")
        if not 0.0 <= dropout <= 1.0:
            raise ArgumentError(f"dropout: expected a probability in [0, 1], got {dropout!r}")
        self.embed_dim, self.num_heads, self.dropout, self.batch_first = embed_dim, num_heads, float(dropout), batch_first
        self.kdim = embed_dim if kdim is None else _positive(kdim, "kdim")
        self.vdim = embed_dim if vdim is None else _positive(vdim, "vdim")
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.head_dim = embed_dim // num_heads
        dtype = factory_dtype(dtype)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), dtype=dtype))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(np.empty((embed_dim, embed_dim), dtype=dtype))
            self.k_proj_weight = Parameter(np.empty((embed_dim, self.kdim), dtype=dtype))
            self.v_proj_weight = Parameter(np.empty((embed_dim, self.vdim), dtype=dtype))
        self.register_parameter("in_proj_bias", Parameter(np.empty(3 * embed_dim, dtype=dtype)) if bias else None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(np.empty((1, 1, embed_dim), dtype=dtype))
            self.bias_v = Parameter(np.empty((1, 1, embed_dim), dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None, need_weights: bool = True,
                attn_mask=None, average_attn_weights: bool = True, is_causal: bool = False):
        # batch_first sequences are used as they are (no transposes; see nn/_functional_mha.py)
        # as PyTorch's module: both masks are canonicalised first (a bool mask becomes -inf/0 in query's dtype,
        # a mask of another dtype raises, even one the is_causal hint would drop later)
        key_padding_mask, attn_mask = _as_tensor(key_padding_mask), _as_tensor(attn_mask)
        if isinstance(query, Tensor):
            key_padding_mask = canonical_mask(key_padding_mask, "key_padding_mask", dtype_or_none(attn_mask),
                                              "attn_mask", query.dtype)
            attn_mask = canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        separate = None if self._qkv_same_embed_dim else (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        return mha_forward(query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
                           self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight,
                           self.out_proj.bias, self.training, key_padding_mask, need_weights, attn_mask, separate, None,
                           None, average_attn_weights, is_causal, batch_first=self.batch_first)

