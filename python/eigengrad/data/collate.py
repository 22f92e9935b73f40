"""``default_collate`` and ``default_convert``: PyTorch's rules for making a batch from a list of samples.

A batch mirrors the structure of one sample: tensors and NumPy arrays are stacked along a new first
dimension; Python floats become a float64 tensor, ints an int64 tensor and bools a bool tensor (PyTorch's
dtypes); NumPy scalars keep their dtype; strings and bytes stay as they came (a list, or a tuple inside
a sequence, as PyTorch); dicts are collated key by key,
namedtuples field by field (same type back), tuples and other sequences position by position (a
tuple gives a list, as PyTorch's does, a list a list of the same type), recursively.
"""
from __future__ import annotations

import collections.abc
import copy

import numpy as np

from eigengrad.tensor import Tensor

_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}")


def default_collate(batch: list):
    """A batch from ``batch``, a list of samples of one structure, as ``torch.utils.data.default_collate``."""
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        raise TypeError(f"batch: expected a list of samples, got {type(batch).__name__}")
    if len(batch) == 0:
        raise ValueError("batch: expected at least one sample, got an empty list")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([b._data if isinstance(b, Tensor) else np.asarray(b) for b in batch])
    if isinstance(elem, np.ndarray):
        _check_numeric(elem)
        return _stack([np.asarray(b) for b in batch])
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        _check_numeric(np.asarray(elem))
        return Tensor._wrap(np.array(batch))  # NumPy scalars keep their dtype (torch.as_tensor)
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor._wrap(_int64(batch))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _mapping_like(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [default_collate(samples) for samples in zip(*batch)]  # tuples, as PyTorch (strings stay one)
        if isinstance(elem, tuple):
            return transposed  # a list, as PyTorch's (kept for backwards compatibility there)
        return _sequence_like(elem, transposed)
    raise TypeError(_ERROR.format(type(elem)))


def default_convert(data):
    """NumPy arrays and scalars inside ``data`` converted to tensors, the structure kept
    (``torch.utils.data.default_convert``: what an unbatched DataLoader yields)."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "SUOV" else Tensor._wrap(data)
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return Tensor._wrap(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _mapping_like(data, {k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # as PyTorch's
    if isinstance(data, collections.abc.Sequence):
        return _sequence_like(data, [default_convert(d) for d in data])
    return data


def _stack(arrays: list) -> Tensor:
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise RuntimeError(f"stack expects each tensor to be equal size, but got {arrays[0].shape} at entry 0 and "
                           f"{next(a.shape for a in arrays if a.shape != arrays[0].shape)} at another entry")
    return Tensor._wrap(np.stack(arrays))


def _check_numeric(arr: np.ndarray) -> None:
    if arr.dtype.kind in "SUOV":  # strings, objects, voids: PyTorch refuses them too
        raise TypeError(_ERROR.format(arr.dtype))


def _int64(values: list) -> np.ndarray:
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:
        raise OverflowError(f"batch: an int does not fit in int64 (PyTorch's dtype for Python ints): "
                            f"{max(values, key=abs)}") from None


def _mapping_like(elem, collated: dict):
    """``collated`` in the mapping type of ``elem``: a mutable one is copied and updated (it may hold
    more than its items), another built from the dict, else a plain dict (PyTorch's rule)."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(collated)
            return clone
        return type(elem)(collated)
    except TypeError:
        return collated


def _sequence_like(elem, collated: list):
    """``collated`` in the sequence type of ``elem``: a mutable one is copied and filled in, another
    built from the list, else a list (PyTorch's rule)."""
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, value in enumerate(collated):
                clone[i] = value
            return clone
        return type(elem)(collated)
    except TypeError:
        return collated
