"""``torch.nn.utils.rnn``: variable-length sequences for the recurrent layers.

- ``pad_sequence`` stacks sequences of different lengths, padding the short ones;
- ``pack_padded_sequence`` / ``pack_sequence`` make a ``PackedSequence``: the time steps' rows of every
  sequence still running, step after step (``data``), with how many run at each step (``batch_sizes``),
  longest sequence first (``sorted_indices`` gives that order, ``unsorted_indices`` undoes it);
- ``pad_packed_sequence`` turns one back into a padded tensor and the lengths.

``RNN``/``LSTM``/``GRU`` take a PackedSequence: each sequence is run for its own length only, so the
final states are the ones at each sequence's last step (see ``RNNBase.forward``). Everything is built
from index_select/cat, so gradients flow through packing and unpacking.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from eigengrad._errors import ArgumentError
from eigengrad.tensor import Tensor

__all__ = ["PackedSequence", "pad_sequence", "pack_padded_sequence", "pad_packed_sequence", "pack_sequence"]


class PackedSequence(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args, **kwargs) -> "PackedSequence":
        return self._replace(data=self.data.to(*args, **kwargs))

    def cpu(self) -> "PackedSequence":
        return self

    @property
    def is_cuda(self) -> bool:
        return False


def _lengths(lengths) -> np.ndarray:
    arr = lengths._data if isinstance(lengths, Tensor) else np.asarray(lengths)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ArgumentError(f"lengths: expected a 1-D list or int64 tensor of lengths, got {arr.dtype} of shape "
                            f"{arr.shape}")
    if arr.size and arr.min() <= 0:
        raise ArgumentError("Length of all samples has to be greater than 0, but found an element in 'lengths' "
                            "that is <= 0")
    return arr.astype(np.int64)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Sequences (L_i, *) -> (T, B, *) (or (B, T, *)) with T = max L_i, padded with ``padding_value``."""
    from eigengrad.nn._functional_pad import pad
    from eigengrad.tensor_ops.shape import stack

    seqs = list(sequences)
    if not seqs:
        raise ArgumentError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ArgumentError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        extra = longest - s.shape[0]
        widths = [0, 0] * (s.ndim - 1) + ([0, extra] if padding_side == "right" else [extra, 0])
        padded.append(pad(s, tuple(widths), value=padding_value) if extra else s)
    return stack(padded, 1 if not batch_first else 0)


def _time_major(input: Tensor, batch_first: bool) -> Tensor:
    return input.transpose(0, 1) if batch_first else input


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """A padded batch (T, B, *) (or (B, T, *)) and its lengths -> a PackedSequence."""
    lens = _lengths(lengths)
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise ArgumentError("`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
                                "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
                                "sidestep this requirement if you do not need ONNX exportability.")
        sorted_indices = None
        order = np.arange(len(lens))
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = Tensor._wrap(order.astype(np.int64))
    x = _time_major(input, batch_first)
    if len(lens) != x.shape[1]:
        raise ArgumentError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} "
                            f"(batch_size={x.shape[1]})")
    if lens.size and lens.max() > x.shape[0]:
        raise ArgumentError(f"pack_padded_sequence: a length ({lens.max()}) exceeds the padded length {x.shape[0]}")
    packed = _pack(x, lens[order], order)
    return PackedSequence(packed[0], packed[1], sorted_indices,
                          None if sorted_indices is None else Tensor._wrap(np.argsort(order).astype(np.int64)))


def _pack(x: Tensor, sorted_lens: np.ndarray, order: np.ndarray) -> tuple[Tensor, Tensor]:
    """The rows of time-major ``x`` (batch in original order) packed in ``order``, and the batch sizes."""
    steps, batch = int(sorted_lens.max()) if sorted_lens.size else 0, x.shape[1]
    batch_sizes = np.array([(sorted_lens > t).sum() for t in range(steps)], dtype=np.int64)
    rows = np.concatenate([t * batch + order[:n] for t, n in enumerate(batch_sizes)]) if steps else \
        np.zeros(0, np.int64)
    flat = x.reshape(x.shape[0] * batch, *x.shape[2:])
    return flat.index_select(0, Tensor._wrap(rows.astype(np.int64))), Tensor._wrap(batch_sizes)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """A PackedSequence -> (padded (T, B, *) or (B, T, *) in the original batch order, lengths (int64))."""
    from eigengrad.tensor_ops.shape import cat

    data, batch_sizes = sequence.data, sequence.batch_sizes._data.astype(np.int64)
    steps, batch = len(batch_sizes), int(batch_sizes[0]) if len(batch_sizes) else 0
    if total_length is not None:
        if total_length < steps:
            raise ArgumentError(f"Expected total_length to be at least the length of the longest sequence in input, "
                                f"but got total_length={total_length} and max sequence length being {steps}")
        steps_out = int(total_length)
    else:
        steps_out = steps
    fill_row = data.shape[0]
    index = np.full((steps_out, batch), fill_row, dtype=np.int64)
    offset = 0
    for t, n in enumerate(batch_sizes):
        index[t, :n] = np.arange(offset, offset + n)
        offset += n
    lens_sorted = np.array([(batch_sizes > b).sum() for b in range(batch)], dtype=np.int64)
    if sequence.unsorted_indices is not None:
        unsort = sequence.unsorted_indices._data
        index, lens = index[:, unsort], lens_sorted[unsort]
    else:
        lens = lens_sorted
    filler = data.new_full((1, *data.shape[1:]), padding_value)
    rows = cat([data, filler], 0).index_select(0, Tensor._wrap(index.reshape(-1)))
    padded = rows.reshape(steps_out, batch, *data.shape[1:])
    return (padded.transpose(0, 1) if batch_first else padded), Tensor._wrap(lens)


def pack_sequence(sequences, enforce_sorted: bool = True) -> PackedSequence:
    """Sequences (L_i, *) -> a PackedSequence (``pad_sequence`` then ``pack_padded_sequence``)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def run_packed(module, packed: PackedSequence, hx):
    """``module`` (an RNN/LSTM/GRU) over a PackedSequence: the sequences of each length run together for
    that many steps (exact final states, no computation on padding); returns what ``module.forward``
    returns for a padded input, with the output packed as the input was."""
    from eigengrad.tensor_ops.shape import cat

    padded, lengths = pad_packed_sequence(packed)  # (T, B, I), original batch order
    lens = lengths._data
    lstm = module.mode == "LSTM"
    outs, hs, cs, members = [], [], [], []
    for n in sorted(set(lens.tolist()), reverse=True):
        group = np.flatnonzero(lens == n)
        idx = Tensor._wrap(group.astype(np.int64))
        x = padded.narrow(0, 0, n).index_select(1, idx)
        h = None
        if hx is not None:
            h = (hx[0].index_select(1, idx), hx[1].index_select(1, idx)) if lstm else hx.index_select(1, idx)
        out, state = module.forward(x.transpose(0, 1) if module.batch_first else x, h)
        out = out.transpose(0, 1) if module.batch_first else out
        if n < padded.shape[0]:
            out = cat([out, out.new_zeros((padded.shape[0] - n, *out.shape[1:]))], 0)
        outs.append(out)
        hs.append(state[0] if lstm else state)
        if lstm:
            cs.append(state[1])
        members.append(group)
    back = Tensor._wrap(np.argsort(np.concatenate(members)).astype(np.int64))
    output = cat(outs, 1).index_select(1, back)
    h_n = cat(hs, 1).index_select(1, back)
    order = packed.sorted_indices._data if packed.sorted_indices is not None else np.arange(len(lens))
    data, batch_sizes = _pack(output, lens[order], order)
    out_packed = PackedSequence(data, batch_sizes, packed.sorted_indices, packed.unsorted_indices)
    if lstm:
        return out_packed, (h_n, cat(cs, 1).index_select(1, back))
    return out_packed, h_n
