"""``Embedding`` and ``EmbeddingBag`` (PyTorch's ``torch.nn.modules.sparse``): names, arguments, defaults,
the ``weight`` parameter (num_embeddings, embedding_dim) and initialisation N(0, 1) with the padding row
zeroed, ``from_pretrained``. See ``nn.functional.embedding`` / ``embedding_bag`` for the math."""
from __future__ import annotations

import numbers

import numpy as np

from eigengrad.nn import _functional_embedding as FE
from eigengrad.nn import init
from eigengrad.nn.modules.module import Module, check_device, factory_dtype
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor
from eigengrad._errors import ArgumentError


def _size(value, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0:
        raise ArgumentError(f"{name}: expected a non-negative int, got {value!r}")
    return int(value)


def _table(num: int, dim: int, _weight, dtype) -> Parameter:
    """A new (num, dim) parameter of ``dtype``, or ``_weight`` itself (shared, as PyTorch) when given."""
    if _weight is None:
        return Parameter(np.empty((num, dim), dtype=factory_dtype(dtype)))
    arr = _weight._data if isinstance(_weight, Tensor) else _weight
    if not isinstance(arr, np.ndarray) or arr.shape != (num, dim):
        raise ArgumentError(f"_weight: shape of weight does not match num_embeddings and embedding_dim: expected "
                         f"({num}, {dim}), got {getattr(arr, 'shape', type(_weight).__name__)}")
    return Parameter(arr)


def _pretrained(embeddings) -> tuple[int, int]:
    arr = embeddings._data if isinstance(embeddings, Tensor) else embeddings
    if not isinstance(arr, np.ndarray) or arr.ndim != 2:
        raise ArgumentError(f"embeddings: expected a 2-dimensional tensor, got "
                         f"{getattr(arr, 'shape', type(embeddings).__name__)}")
    return arr.shape


class _EmbeddingBase(Module):
    """What Embedding and EmbeddingBag share: the table, its options and initialisation."""

    def _init_table(self, num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq,
                    sparse, _weight, device, dtype) -> None:
        check_device(device)
        self.num_embeddings = _size(num_embeddings, "num_embeddings")
        self.embedding_dim = _size(embedding_dim, "embedding_dim")
        self.padding_idx = None if padding_idx is None else FE.padding_index(padding_idx, self.num_embeddings)
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        self.weight = _table(self.num_embeddings, self.embedding_dim, _weight, dtype)
        if _weight is None:
            self.reset_parameters()

    def reset_parameters(self) -> None:
        """weight ~ N(0, 1), the padding row set to zero (PyTorch's initialisation)."""
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    def _repr_options(self) -> str:
        """max_norm, norm_type, scale_grad_by_freq where not the defaults (PyTorch's repr)."""
        s = ""
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return s


class Embedding(_EmbeddingBase):
    """A lookup table: ``Embedding(num_embeddings, embedding_dim)(input)`` = weight[input].

    ``padding_idx`` (negative counts from the end): that row starts at zero and gets no gradient.
    ``max_norm``: looked-up rows with a larger ``norm_type``-norm are rescaled in place at each call.
    ``scale_grad_by_freq``: gradients divided by the frequency of their index in the batch.
    ``sparse=True`` is accepted with a warning: the gradient is dense (eigengrad has no sparse tensors).
    ``_weight``: use this (num_embeddings, embedding_dim) tensor as the weight (shared);
    ``_freeze``: the weight does not require grad.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight=None, _freeze: bool = False, device=None, dtype=None) -> None:
        super().__init__()
        self._init_table(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                         _weight, device, dtype)
        self.weight.requires_grad_(not _freeze)

    def forward(self, input) -> Tensor:
        return FE.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                            self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> "Embedding":
        """An Embedding whose weight is ``embeddings`` (num, dim), shared and not reinitialised (the padding
        row is kept as it is); ``freeze``: no gradient."""
        rows, cols = _pretrained(embeddings)
        return cls(rows, cols, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings, _freeze=freeze)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        s += f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return s + self._repr_options() + (", sparse=True" if self.sparse else "")


class EmbeddingBag(_EmbeddingBase):
    """Sums, means or maxima of bags of embeddings (``nn.functional.embedding_bag``) without
    materialising the lookups. ``forward(input, offsets=None, per_sample_weights=None)``."""

    def __init__(self, num_embeddings: int, embedding_dim: int, max_norm: float | None = None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                 _weight=None, include_last_offset: bool = False, padding_idx: int | None = None, device=None,
                 dtype=None) -> None:
        super().__init__()
        if mode not in ("sum", "mean", "max"):
            raise ArgumentError(f"mode: has to be one of sum, mean or max, got {mode!r}")
        self.mode, self.include_last_offset = mode, include_last_offset
        self._init_table(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                         _weight, device, dtype)

    def forward(self, input, offsets=None, per_sample_weights: Tensor | None = None) -> Tensor:
        return FE.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                                self.mode, self.sparse, per_sample_weights, self.include_last_offset,
                                self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, max_norm: float | None = None, norm_type: float = 2.0,
                        scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                        include_last_offset: bool = False, padding_idx: int | None = None) -> "EmbeddingBag":
        rows, cols = _pretrained(embeddings)
        bag = cls(rows, cols, max_norm=max_norm, norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq,
                  mode=mode, sparse=sparse, _weight=embeddings, include_last_offset=include_last_offset,
                  padding_idx=padding_idx)
        bag.weight.requires_grad_(not freeze)
        return bag

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}" + self._repr_options() + f", mode={self.mode!r}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")


__all__ = ["Embedding", "EmbeddingBag"]
