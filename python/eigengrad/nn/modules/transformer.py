"""The Transformer (Vaswani et al. 2017, "Attention is all you need") with PyTorch's classes, arguments,
submodule names (so state_dicts load both ways) and numbers: ``TransformerEncoderLayer``,
``TransformerEncoder``, ``TransformerDecoderLayer``, ``TransformerDecoder`` and ``Transformer``.

Self- and cross-attention run through the fused attention kernel (``need_weights=False``, as PyTorch).
PyTorch's inference fast paths (nested tensors, ``_transformer_encoder_layer_fwd``) are not reproduced:
``enable_nested_tensor`` is accepted and changes nothing, so the outputs at padded positions are the
ordinary layer's outputs (PyTorch's nested-tensor path writes zeros there).
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np

from eigengrad import _trace
from eigengrad.autograd.ops import numpy_call, numpy_check
from eigengrad.nn import functional as F
from eigengrad.nn import init
from eigengrad.nn._functional_mha import canonical_mask, dtype_or_none
from eigengrad.nn.modules.attention import MultiheadAttention
from eigengrad.nn.modules.container import ModuleList
from eigengrad.nn.modules.dropout import Dropout
from eigengrad.nn.modules.linear import Linear
from eigengrad.nn.modules.module import Module, check_device, factory_dtype
from eigengrad.nn.modules.normalization import LayerNorm
from eigengrad.tensor import Tensor, as_tensor
from eigengrad._errors import ArgumentError


def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
    """The causal mask of ``sz`` positions: 0 on and below the diagonal, -inf above (float)."""
    check_device(device)
    if not isinstance(sz, (int, np.integer)) or isinstance(sz, bool):  # PyTorch: TypeError (a size)
        raise TypeError(f"sz: expected a non-negative int, got {type(sz).__name__} {sz!r}")
    if sz < 0:
        raise ArgumentError(f"sz: expected a non-negative int, got {sz!r}")
    dtype = factory_dtype(dtype)
    return as_tensor(numpy_call(_causal_mask, int(sz), np.dtype(dtype)))  # (a compiled step makes it at every call)


def _causal_mask(sz: int, dtype: np.dtype) -> np.ndarray:
    return np.triu(np.full((sz, sz), -np.inf, dtype=dtype), k=1)


def _activation(activation) -> Callable:
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise ArgumentError(f"activation: should be relu/gelu, not {activation!r}")
    if not callable(activation):
        raise TypeError(f"activation: expected 'relu', 'gelu' or a callable, got {type(activation).__name__}")
    return activation


def _detect_is_causal_mask(mask, is_causal: bool | None, size: int) -> bool:
    """PyTorch's rule: the hint when given; else True iff ``mask`` is the causal mask of ``size`` positions
    (-inf above the diagonal and 0 elsewhere, or for a bool mask True above the diagonal)."""
    if is_causal is not None or mask is None:
        return is_causal is True
    data = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    found = _is_causal(data, size)
    if _trace.ACTIVE[0] is not None:  # eg.compile traces: the path chosen by the values is checked at each replay
        numpy_check(_same_causality, data, size, found)
    return found


def _is_causal(data: np.ndarray, size: int) -> bool:
    fill = True if data.dtype == np.bool_ else -np.inf
    causal = np.triu(np.full((size, size), fill, dtype=data.dtype), k=1)
    return data.shape == causal.shape and bool(np.array_equal(data, causal))


def _same_causality(mask: np.ndarray, size: int, found: bool) -> None:
    """A compiled step's guard: the trace chose the attention's causal path (or not) by the mask's values."""
    if _is_causal(mask, size) != found:
        raise RuntimeError(f"eg.compile: the attention mask was {'' if found else 'not '}the causal mask when the "
                           f"step was traced, and now it {'is not' if found else 'is'} (the trace chose the attention's "
                           "path by its values); pass is_causal, or run the function without eg.compile")


def _seq_len(src: Tensor, batch_first: bool) -> int:
    return src.shape[0] if src.ndim == 2 else src.shape[1 if batch_first else 0]


class _TransformerLayer(Module):
    """What the encoder and decoder layers share, registered in PyTorch's order (so state_dicts match):
    the attention modules ``attentions`` (names), linear1, dropout, linear2, norm1..normK, dropout1..dropoutK
    for K = len(attentions) + 1 blocks (the attentions, then the feed-forward block)."""

    def __init__(self, attentions: tuple, d_model: int, nhead: int, dim_feedforward: int, dropout: float,
                 activation, layer_norm_eps: float, batch_first: bool, norm_first: bool, bias: bool, device,
                 dtype) -> None:
        super().__init__()
        check_device(device)
        for name in attentions:
            setattr(self, name, MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                   batch_first=batch_first, dtype=dtype))
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        blocks = len(attentions) + 1
        for i in range(1, blocks + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        for i in range(1, blocks + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))
        self._ff_dropout = f"dropout{blocks}"
        self.activation = _activation(activation)

    def _residual(self, x, norm: Module, block) -> Tensor:
        """norm_first: x + block(norm(x)); else norm(x + block(x))."""
        return x + block(norm(x)) if self.norm_first else norm(x + block(x))

    def _attention(self, attn: Module, drop: Module, x, kv, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        kv = x if kv is None else kv
        return drop(attn(x, kv, kv, attn_mask=attn_mask, key_padding_mask=key_padding_mask, need_weights=False,
                         is_causal=is_causal)[0])

    def _ff_block(self, x) -> Tensor:
        return getattr(self, self._ff_dropout)(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention and a feed-forward block, each with a residual connection and LayerNorm:

        norm_first=False:  x = norm1(x + sa(x));  x = norm2(x + ff(x))
        norm_first=True:   x = x + sa(norm1(x));  x = x + ff(norm2(x))

    sa = dropout1(self_attn(x, x, x)), ff = dropout2(linear2(dropout(activation(linear1(x))))).
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(("self_attn",), d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                         batch_first, norm_first, bias, device, dtype)

    def forward(self, src: Tensor, src_mask=None, src_key_padding_mask=None, is_causal: bool = False) -> Tensor:
        x = self._residual(src, self.norm1, lambda y: self._attention(
            self.self_attn, self.dropout1, y, None, src_mask, src_key_padding_mask, is_causal))
        return self._residual(x, self.norm2, self._ff_block)


class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention over the target, attention to the memory (``multihead_attn``) and a feed-forward
    block, each with a residual connection and LayerNorm (norm1, norm2, norm3; before each block with
    ``norm_first``, after it otherwise)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable = "relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(("self_attn", "multihead_attn"), d_model, nhead, dim_feedforward, dropout, activation,
                         layer_norm_eps, batch_first, norm_first, bias, device, dtype)

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool = False, memory_is_causal: bool = False) -> Tensor:
        x = self._residual(tgt, self.norm1, lambda y: self._attention(
            self.self_attn, self.dropout1, y, None, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self._residual(x, self.norm2, lambda y: self._attention(
            self.multihead_attn, self.dropout2, y, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self._residual(x, self.norm3, self._ff_block)


def _clones(module: Module, n: int) -> ModuleList:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):  # PyTorch: TypeError (range(n))
        raise TypeError(f"num_layers: expected a positive int, got {type(n).__name__} {n!r}")
    if n < 1:
        raise ArgumentError(f"num_layers: expected a positive int, got {n!r}")
    return ModuleList([copy.deepcopy(module) for _ in range(n)])


def _get_clones(module: Module, N: int) -> ModuleList:  # noqa: N803  (PyTorch's helper, imported by DETR-style code)
    """``N`` deep copies of ``module`` in a ModuleList."""
    return ModuleList([copy.deepcopy(module) for _ in range(N)])


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (``layers.0``, ``layers.1``, ...), then ``norm`` if given.

    PyTorch's nested-tensor inference path is reproduced in what it shows: with ``enable_nested_tensor`` and
    a layer it accepts (``use_nested_tensor``, decided and warned about at construction as PyTorch does), an
    eval-mode call without gradients, with a left-aligned ``src_key_padding_mask`` and no ``mask``, returns
    zeros at the padded positions, before ``norm`` (so there ``norm(0)``; the other positions are the same
    either way)."""

    def __init__(self, encoder_layer: Module, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers = int(num_layers)
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check
        why = _why_not_nested(encoder_layer)
        if enable_nested_tensor and why:
            import warnings

            warnings.warn(f"enable_nested_tensor is True, but self.use_nested_tensor is False because {why}",
                          UserWarning, stacklevel=2)
        self.use_nested_tensor = bool(enable_nested_tensor) and not why

    def forward(self, src: Tensor, mask=None, src_key_padding_mask=None, is_causal: bool | None = None) -> Tensor:
        src_key_padding_mask = canonical_mask(src_key_padding_mask, "src_key_padding_mask", dtype_or_none(mask),
                                              "mask", src.dtype)
        mask = canonical_mask(mask, "mask", None, "", src.dtype, check_other=False)
        first = self.layers[0]
        batch_first = getattr(getattr(first, "self_attn", None), "batch_first", False)
        is_causal = _detect_is_causal_mask(mask, is_causal, _seq_len(src, batch_first))
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask)
        if self._nested_path(src, mask, src_key_padding_mask):  # PyTorch pads its nested output with zeros, then
            output = _zero_padded(output, src_key_padding_mask)  # applies the norm (padded positions: norm(0))
        return output if self.norm is None else self.norm(output)

    def _nested_path(self, src: Tensor, mask, padding) -> bool:
        """Whether PyTorch's encoder would take its nested-tensor path for this call (its conditions, in order)."""
        from eigengrad import backends
        from eigengrad.amp import is_autocast_enabled
        from eigengrad.autograd.grad_mode import is_grad_enabled

        first = self.layers[0]
        if not (backends.mha.get_fastpath_enabled() and getattr(self, "use_nested_tensor", False)):
            return False
        if first.training or src.ndim != 3 or padding is None or mask is not None or is_autocast_enabled("cpu"):
            return False
        pad = np.asarray(padding._data, dtype=bool) if hasattr(padding, "_data") else np.asarray(padding, dtype=bool)
        if pad.shape != tuple(src.shape[:2]):
            return False
        if self.mask_check and np.any(pad[:, :-1] & ~pad[:, 1:]):  # not left-aligned: a pad before a token
            return False
        if is_grad_enabled() and (src.requires_grad or any(p.requires_grad for p in first.parameters())):
            return False
        return True


def _zero_padded(output: Tensor, padding: Tensor) -> Tensor:
    """``output`` (N, L, E) with zeros at the positions ``padding`` (N, L) masks out (True, or a nonzero float:
    canonical_mask's -inf); a function of its own so that ONNX export maps it (onnx/_trace.FUNCTION_OPS)."""
    padded = padding if padding.dtype == np.bool_ else padding != 0
    return output.masked_fill(padded.unsqueeze(-1), 0.0)


def _relu_or_gelu(activation) -> bool:
    """PyTorch's activation_relu_or_gelu: F.relu or F.gelu, or an nn.ReLU or nn.GELU module."""
    from eigengrad.nn.modules.activation import GELU, ReLU

    return activation is F.relu or activation is F.gelu or isinstance(activation, (ReLU, GELU))


def _why_not_nested(layer) -> str:
    """PyTorch's reasons (TransformerEncoder.__init__) why a layer cannot take the nested-tensor path."""
    attn = getattr(layer, "self_attn", None)
    if not isinstance(layer, TransformerEncoderLayer):
        return "encoder_layer was not TransformerEncoderLayer"
    if layer.norm_first:
        return "encoder_layer.norm_first was True"
    if not attn.batch_first:
        return "encoder_layer.self_attn.batch_first was not True(use batch_first for better inference performance)"
    if not attn._qkv_same_embed_dim:
        return "encoder_layer.self_attn._qkv_same_embed_dim was not True"
    if attn.in_proj_bias is None:
        return "encoder_layer.self_attn was passed bias=False"
    if not _relu_or_gelu(layer.activation):
        return "encoder_layer.activation_relu_or_gelu was not True"
    if layer.norm1.eps != layer.norm2.eps:
        return "encoder_layer.norm1.eps was not equal to encoder_layer.norm2.eps"
    if attn.num_heads % 2 == 1:
        return "encoder_layer.self_attn.num_heads is odd"
    return ""


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` (``layers.0``, ...), then ``norm`` if given."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers = int(num_layers)
        self.norm = norm

    def forward(self, tgt: Tensor, memory: Tensor, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        batch_first = getattr(getattr(self.layers[0], "self_attn", None), "batch_first", False)
        tgt_is_causal = _detect_is_causal_mask(tgt_mask, tgt_is_causal, _seq_len(tgt, batch_first))
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask, memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """The encoder-decoder Transformer: ``encoder`` (num_encoder_layers layers and a final LayerNorm) and
    ``decoder`` (num_decoder_layers layers and a final LayerNorm), PyTorch's defaults (d_model 512, 8 heads,
    6 + 6 layers, feed-forward 2048, dropout 0.1, relu). Every parameter of more than one dimension is
    re-initialised with xavier_uniform_, as in PyTorch."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6, num_decoder_layers: int = 6,
                 dim_feedforward: int = 2048, dropout: float = 0.1, activation: str | Callable = "relu",
                 custom_encoder: Module | None = None, custom_decoder: Module | None = None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        check_device(device)
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first,
                      bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(TransformerEncoderLayer(*layer_args, dtype=dtype), num_encoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(TransformerDecoderLayer(*layer_args, dtype=dtype), num_decoder_layers,
                                              LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(self, src: Tensor, tgt: Tensor, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
                src_is_causal: bool | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> Tensor:
        batched = src.ndim == 3
        if batched and src.shape[0 if self.batch_first else 1] != tgt.shape[0 if self.batch_first else 1]:
            raise ArgumentError(f"tgt: the batch number of src and tgt must be equal, got shapes {src.shape} and "
                             f"{tgt.shape} (batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ArgumentError(f"src, tgt: the feature number of src and tgt must be equal to d_model "
                             f"{self.d_model}, got {src.shape[-1]} and {tgt.shape[-1]}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    generate_square_subsequent_mask = staticmethod(generate_square_subsequent_mask)
