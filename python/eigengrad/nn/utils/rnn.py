"""Variable-length sequences (``torch.nn.utils.rnn``): ``pad_sequence``, ``PackedSequence``,
``pack_padded_sequence``, ``pad_packed_sequence``, ``pack_sequence``, ``unpack_sequence``,
``unpad_sequence``. Composed of differentiable tensor operations (cat, stack, index_select, index_add), so
gradients flow through packing and padding. eigengrad's RNN, LSTM and GRU take a ``PackedSequence``.

A PackedSequence holds the time steps of the sequences sorted by decreasing length, step by step:
``data`` (sum of lengths, *), ``batch_sizes[t]`` = the number of sequences longer than t,
``sorted_indices`` (the batch order of the sorted sequences, None when they came sorted) and
``unsorted_indices`` (its inverse).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from eigengrad import _trace
from eigengrad._errors import ArgumentError
from eigengrad.tensor import Tensor


class PackedSequence(NamedTuple):
    """Packed variable-length sequences (see the module docstring); PyTorch's fields and order."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args, **kwargs) -> "PackedSequence":
        """``data`` moved/cast (the index tensors stay int64)."""
        return self._replace(data=self.data.to(*args, **kwargs))

    def cpu(self) -> "PackedSequence":
        return self

    def float(self) -> "PackedSequence":
        return self._replace(data=self.data.float())

    def double(self) -> "PackedSequence":
        return self._replace(data=self.data.double())

    @property
    def is_cuda(self) -> bool:
        return False

    def is_pinned(self) -> bool:
        return False


def _long(a) -> Tensor:
    return Tensor._wrap(np.ascontiguousarray(a, dtype=np.int64))


def _check_tensors(sequences, name: str = "sequences") -> list:
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    seqs = list(sequences)
    for i, s in enumerate(seqs):
        if not isinstance(s, Tensor):
            raise TypeError(f"{name}: expected a list of Tensors, got {type(s).__name__} at position {i}")
        if s.ndim == 0:
            raise ValueError(f"{name}: expected tensors of shape (L, *), got a scalar at position {i}")
    return seqs


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Stacks sequences of shapes (L_i, *) into (max L, B, *) (or (B, max L, *) when ``batch_first``),
    padded with ``padding_value`` on the ``padding_side``."""
    from eigengrad import functions

    if padding_side not in ("left", "right"):
        raise ArgumentError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    seqs = _check_tensors(sequences)
    if not seqs:
        raise ArgumentError("pad_sequence: received an empty list of sequences")
    longest = max(s.shape[0] for s in seqs)
    trailing = seqs[0].shape[1:]
    for i, s in enumerate(seqs):
        if s.shape[1:] != trailing:
            dim = next(k for k, (a, b) in enumerate(zip(trailing, s.shape[1:])) if a != b) if s.ndim == len(
                trailing) + 1 else None
            if dim is None:
                raise ArgumentError(f"pad_sequence: expected sequences of shape (L, {', '.join(map(str, trailing))}) "
                                    f"as the first, got shape {tuple(s.shape)} at position {i}")
            raise ArgumentError(f"The size of tensor a ({trailing[dim]}) must match the size of tensor b "
                                f"({s.shape[1 + dim]}) at non-singleton dimension {dim + 1} (sequence {i})")
    # 1-D sequences are padded as (L, 1) columns: cat leaves an empty 1-D tensor out (PyTorch's legacy rule),
    # which would cut a length-0 sequence off the graph (PyTorch gives it a gradient, empty)
    column = not trailing
    padded = []
    for s in seqs:
        if column:
            s = s.unsqueeze(1)
        gap = longest - s.shape[0]
        if gap:
            fill = s.new_full((gap,) + tuple(s.shape[1:]), padding_value)
            s = functions.cat([s, fill] if padding_side == "right" else [fill, s])
        padded.append(s)
    out = functions.stack(padded, dim=0 if batch_first else 1)
    return out.squeeze(-1) if column else out


def _lengths(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        _trace.reject("pack_padded_sequence (or unpad_sequence) inside the step reads the sequence lengths into "
                      "Python: the packed layout depends on their values")
    arr = lengths._data if isinstance(lengths, Tensor) else np.asarray(lengths)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iuf"):
        raise ArgumentError(f"lengths: expected a 1-D list or int64 tensor of sequence lengths, got {arr!r}")
    return arr.astype(np.int64)  # (float lengths truncated, as PyTorch's as_tensor(lengths, dtype=int64))


def _pack(time_major: Tensor, lengths_sorted: np.ndarray) -> tuple:
    """(data, batch_sizes) of a (T, B, *) tensor whose batch is sorted by decreasing length."""
    steps, batch = time_major.shape[0], time_major.shape[1]
    batch_sizes = np.array([(lengths_sorted > t).sum() for t in range(int(lengths_sorted[0]))], dtype=np.int64)
    rows = np.concatenate([t * batch + np.arange(n) for t, n in enumerate(batch_sizes)])
    flat = time_major.reshape(steps * batch, *time_major.shape[2:])
    return flat.index_select(0, _long(rows)), batch_sizes


def invert_permutation(permutation):
    """The inverse permutation (``output[permutation[i]] = i``), or None for None (PackedSequence's
    ``unsorted_indices`` from its ``sorted_indices``)."""
    if permutation is None:
        return None
    return Tensor._wrap(_invert(np.ascontiguousarray(permutation._data)))


def _invert(perm: np.ndarray) -> np.ndarray:
    inv = np.empty_like(perm)
    inv[perm] = np.arange(perm.size, dtype=perm.dtype)
    return inv


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False, enforce_sorted: bool = True
                         ) -> PackedSequence:
    """Packs a padded batch (T, B, *) (or (B, T, *) when ``batch_first``) of sequences of ``lengths``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"input: expected a Tensor, got {type(input).__name__}")
    lens = _lengths(lengths)
    _trace.reject("a PackedSequence made inside the step (pack_padded_sequence, pack_sequence): its layout is "
                  "computed in Python from the lengths, which eg.compile does not record")
    batch_dim = 0 if batch_first else 1
    if input.ndim < 2 or lens.size != input.shape[batch_dim]:
        raise ArgumentError(f"Expected `len(lengths)` to be equal to batch_size, but got {lens.size} (batch_size="
                         f"{input.shape[batch_dim] if input.ndim >= 2 else None})")
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise ArgumentError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                             "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                             "sidestep this requirement if you do not need ONNX exportability.")
        sorted_indices = None
    else:
        sorted_indices = np.argsort(-lens, kind="stable")
        lens = lens[sorted_indices]
        input = input.index_select(batch_dim, _long(sorted_indices))
    if lens.size == 0 or lens.min() <= 0:
        raise ArgumentError("Length of all samples has to be greater than 0, but found an element in 'lengths' that "
                         "is <= 0")
    time_major = input.transpose(0, 1) if batch_first else input
    if lens[0] > time_major.shape[0]:
        raise ValueError(f"lengths: the longest sequence ({lens[0]}) is longer than the padded input "
                         f"({time_major.shape[0]} steps)")
    data, batch_sizes = _pack(time_major, lens)
    if sorted_indices is None:
        return PackedSequence(data, _long(batch_sizes))
    return PackedSequence(data, _long(batch_sizes), _long(sorted_indices), _long(_invert(sorted_indices)))


def _packed_lengths(batch_sizes: np.ndarray) -> np.ndarray:
    """The sorted sequences' lengths from the batch sizes."""
    batch = int(batch_sizes[0]) if batch_sizes.size else 0
    return np.array([(batch_sizes > b).sum() for b in range(batch)], dtype=np.int64)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple:
    """The inverse of :func:`pack_padded_sequence`: (padded (T, B, *) or (B, T, *), lengths as int64), in
    the original batch order."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"sequence: expected a PackedSequence, got {type(sequence).__name__}")
    _trace.reject("a PackedSequence unpacked inside the step (pad_packed_sequence, or an RNN, LSTM or GRU over packed "
                  "input) reads its batch_sizes into Python: the layout depends on their values")
    data, batch_sizes = sequence.data, sequence.batch_sizes._data
    lens = _packed_lengths(batch_sizes)
    steps, batch = batch_sizes.size, lens.size
    if total_length is not None:
        if total_length < steps:
            raise ArgumentError(f"Expected total_length to be at least the length of the longest sequence in input, "
                             f"but got total_length={total_length} and max sequence length being {steps}")
        steps = int(total_length)
    rows = np.concatenate([t * batch + np.arange(n) for t, n in enumerate(batch_sizes)]) if batch_sizes.size \
        else np.zeros(0, dtype=np.int64)
    trailing = data.shape[1:]
    flat = data.new_zeros((steps * batch,) + trailing).index_add(0, _long(rows), data)
    if padding_value != 0:
        pad = np.full((steps * batch,) + (1,) * len(trailing), padding_value, dtype=data.dtype)
        pad[rows] = 0
        flat = flat + Tensor._wrap(pad)
    padded = flat.reshape(steps, batch, *trailing)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lens = lens[sequence.unsorted_indices._data]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _long(lens)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Packs a list of sequences (L_i, *) (sorted by decreasing length unless ``enforce_sorted=False``)."""
    seqs = _check_tensors(sequences)
    lengths = [s.shape[0] for s in seqs]
    return pack_padded_sequence(pad_sequence(seqs), lengths, enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences: Tensor, lengths, batch_first: bool = False) -> list:
    """The sequences of a padded batch, each cut to its length."""
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    return [x[i, :int(n)] for i, n in enumerate(_lengths(lengths))]


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences of a PackedSequence, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
