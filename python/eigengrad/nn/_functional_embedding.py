"""Embedding lookups in functional form (re-exported by ``eigengrad.nn.functional``): embedding and
embedding_bag with PyTorch's arguments, defaults and checks.

Indices are int64 or int32 (an eigengrad Tensor or a NumPy array); an index outside [0, num_embeddings)
raises IndexError naming it and its position. Bad arguments raise TypeError or ValueError naming the
argument (where PyTorch raises AssertionError or RuntimeError for them).
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np

from eigengrad import _kernels as K, _trace
from eigengrad._errors import ArgumentAssertionError, ArgumentError, ArgumentIndexError, ArgumentTypeError
from eigengrad.autograd import grad_mode, ops
from eigengrad.autograd import ops_embedding as E
from eigengrad.tensor import Tensor

INDEX_DTYPES = (np.dtype(np.int64), np.dtype(np.int32))


def _indices(input, name: str = "input") -> np.ndarray:
    """The index array of an int64/int32 Tensor or array."""
    arr = input._data if isinstance(input, Tensor) else input
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name}: expected an eigengrad Tensor or NumPy array of int64 or int32 indices, "
                        f"got {type(input).__name__}")
    if arr.dtype not in INDEX_DTYPES:  # PyTorch's RuntimeError (ArgumentTypeError is a TypeError too)
        raise ArgumentTypeError(f"{name}: expected int64 or int32 indices, got dtype {arr.dtype}")
    return arr


def _table(weight) -> Tensor:
    if not isinstance(weight, Tensor):
        raise TypeError(f"weight: expected an eigengrad Tensor, got {type(weight).__name__}")
    K.check_float(weight._data, "weight")
    if weight.ndim != 2:
        raise ArgumentError(f"weight: expected a 2-D tensor (num_embeddings, embedding_dim), got shape {weight.shape}")
    return weight


def padding_index(padding_idx, num: int) -> int:
    """padding_idx in [-num, num) as a row number (negative counts from the end), or -1 for None."""
    if padding_idx is None:
        return -1
    if not isinstance(padding_idx, numbers.Integral) or isinstance(padding_idx, bool):
        raise TypeError(f"padding_idx: expected an int or None, got {padding_idx!r}")
    if not -num <= padding_idx < num:
        raise ArgumentAssertionError(f"padding_idx: must be within num_embeddings: expected {-num} <= padding_idx < "
                                     f"{num}, got {padding_idx}")  # (PyTorch's module asserts it)
    return int(padding_idx) % num


def _renorm(weight: Tensor, idx: np.ndarray, max_norm, norm_type) -> None:
    """PyTorch's no-grad embedding_renorm_: the looked-up rows of weight are rescaled in place."""
    if not isinstance(max_norm, numbers.Real) or isinstance(max_norm, bool) or not max_norm >= 0:
        raise ArgumentError(f"max_norm: expected a non-negative number, got {max_norm!r}")
    if not isinstance(norm_type, numbers.Real) or isinstance(norm_type, bool):
        raise TypeError(f"norm_type: expected a number, got {norm_type!r}")
    with grad_mode.no_grad():
        K.embedding_renorm(weight._data, idx, float(max_norm), float(norm_type))


def _warn_sparse() -> None:
    warnings.warn("sparse=True: eigengrad has no sparse gradients; the embedding gets a dense gradient "
                  "(the same values)", UserWarning, stacklevel=3)


def embedding(input, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) at ``input``: y[..., :] = weight[input[...], :].

    ``padding_idx``: that row gets no gradient (negative counts from the end). ``max_norm``: before the
    lookup, every looked-up row whose ``norm_type``-norm exceeds max_norm is scaled in place to
    max_norm / (norm + 1e-7) times itself (PyTorch's embedding_renorm_, outside the graph).
    ``scale_grad_by_freq``: a row's gradient is divided by how often it occurs in ``input``.
    The gradient of weight is a dense (num, dim) array, summed per row in a fixed order (a counting sort
    of the indices), so it has the same bits on any number of threads. ``sparse=True`` gives that same
    dense gradient with a warning.
    """
    weight = _table(weight)
    idx = _indices(input)
    pad = padding_index(padding_idx, weight.shape[0])
    if sparse:
        _warn_sparse()
    if max_norm is not None:
        _renorm(weight, idx, max_norm, norm_type)
    return E.Embedding.apply(weight, indices=idx, padding_idx=pad, scale_grad_by_freq=bool(scale_grad_by_freq))


def _bag_starts(idx: np.ndarray, offsets, include_last_offset: bool) -> tuple[np.ndarray, np.ndarray]:
    """(1-D indices, starts (bags + 1) int64) of 2-D input (a bag per row) or 1-D input with offsets. The
    starts are one NumPy step (the offsets' checks inside): a compiled step reads each call's offsets."""
    if idx.ndim == 2:
        if offsets is not None:
            raise ArgumentError("offsets: if input is 2D, then offsets has to be None, as input is treated as a "
                             f"mini-batch of fixed length sequences; got {type(offsets).__name__}")
        return idx.reshape(-1), ops.numpy_call(_row_starts, idx)
    if idx.ndim != 1:
        raise ArgumentError(f"input: expected a 1-D or 2-D tensor of indices, got shape {idx.shape}")
    if offsets is None:
        raise ArgumentError("offsets: has to be a 1-D tensor with 1-D input, got None")
    off = _indices(offsets, "offsets")
    if off.ndim != 1:
        raise ArgumentError(f"offsets: expected a 1-D tensor, got shape {off.shape}")
    return idx, ops.numpy_call(_offset_starts, idx, off, include_last_offset)


def _row_starts(idx: np.ndarray) -> np.ndarray:
    n, length = idx.shape
    return np.arange(n + 1, dtype=np.int64) * length


def _offset_starts(idx: np.ndarray, off: np.ndarray, include_last_offset: bool) -> np.ndarray:
    off = off.astype(np.int64)
    if off.size and off[0] != 0:
        raise ArgumentError(f"offsets: offsets[0] has to be 0, i.e. the first bag starts at position 0, got {off[0]}")
    if off.size and off[-1] > idx.size:
        raise ArgumentError(f"offsets: offsets[-1] can not be greater than input's length {idx.size}, got {off[-1]}")
    if np.any(np.diff(off) < 0):
        raise ArgumentError(f"offsets: expected a non-decreasing sequence, got {off.tolist()}")
    if include_last_offset:
        if not off.size:  # PyTorch's RuntimeError: the last offset ends the last bag, so there must be one
            raise ArgumentError("include_last_offset: number of offset should be at least 1")
        return off
    return np.append(off, np.int64(idx.size))


def embedding_bag(input, weight: Tensor, offsets=None, max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxima of bags of embedding rows without materialising the lookups.

    ``input`` 2-D (B, L): each row is a bag (``offsets`` must be None). ``input`` 1-D with ``offsets``
    (B,): bag b holds input[offsets[b]:offsets[b + 1]], the last one running to the end; with
    ``include_last_offset`` offsets has B + 1 entries and the last one ends the last bag (positions after
    it are in no bag; PyTorch 2.13 on CPU leaves them out of 'sum' but counts them in 'mean' and 'max',
    pytorch/pytorch#191965). Rows equal to
    ``padding_idx`` are left out of every bag (and of the mean's count); an empty bag gives zeros.
    ``mode``: 'sum' (optionally weighted by ``per_sample_weights`` of input's shape), 'mean', or 'max'
    (element by element; the gradient goes to the row that gave each maximum). ``max_norm``,
    ``norm_type``, ``scale_grad_by_freq`` as in ``embedding`` (the frequency of a row counts every position
    of input; PyTorch 2.13's CPU kernel divides some rows by another row's count, pytorch/pytorch#190063).
    Output (B, embedding_dim). Gradients for weight (deterministic, as ``embedding``) and per_sample_weights.
    """
    weight = _table(weight)
    idx = _indices(input)
    if mode not in K.BAG_MODES:
        raise ArgumentError(f"mode: has to be one of sum, mean or max, got {mode!r}")
    if mode == "max" and scale_grad_by_freq:
        raise ArgumentError("scale_grad_by_freq: max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ArgumentError("sparse: max mode does not support sparse weights")
    psw = per_sample_weights
    if psw is not None:
        if not isinstance(psw, Tensor):
            raise TypeError(f"per_sample_weights: expected an eigengrad Tensor or None, got {type(psw).__name__}")
        if psw.shape != idx.shape:
            raise ArgumentError(f"per_sample_weights: expected the shape of input {idx.shape}, got {psw.shape}")
        if psw.dtype != weight.dtype:
            raise ArgumentTypeError(f"per_sample_weights: expected dtype {weight.dtype} (the dtype of weight), got "
                                    f"{psw.dtype}")
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights is only supported for mode='sum' "
                                      f"(got mode={mode!r}), as in PyTorch")
        psw = psw.reshape(-1) if psw.ndim == 2 else psw
    flat, starts = _bag_starts(idx, offsets, bool(include_last_offset))
    pad = padding_index(padding_idx, weight.shape[0])
    if sparse:
        _warn_sparse()
    try:
        if max_norm is not None:
            _renorm(weight, flat, max_norm, norm_type)
        return E.EmbeddingBag.apply(weight, psw, indices=flat, starts=starts, mode=mode, padding_idx=pad,
                                    scale_grad_by_freq=bool(scale_grad_by_freq))
    except IndexError as e:
        if isinstance(e, RuntimeError):
            raise
        raise ArgumentIndexError(f"embedding_bag: {e}") from None


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot rows: out[..., c] = 1 where tensor[...] == c, shape tensor.shape + (num_classes,) (-1:
    the largest value + 1). An embedding lookup in the identity matrix, without the matrix."""
    if not isinstance(tensor, Tensor) or tensor._data.dtype != np.int64:
        raise ArgumentTypeError("one_hot is only applicable to index tensor of type LongTensor.")
    idx = tensor._data
    if not isinstance(num_classes, numbers.Integral) or num_classes < -1:
        raise ArgumentError(f"num_classes: expected an int >= -1, got {num_classes!r}")
    if num_classes == -1:
        if idx.size == 0:
            raise ArgumentError("Can not infer total number of classes from empty tensor.")  # PyTorch's RuntimeError
        _trace.reject("one_hot without num_classes inside the step (its shape depends on the values)")
        num_classes = int(idx.max()) + 1
    return E.OneHot.apply(tensor, num_classes=int(num_classes))
