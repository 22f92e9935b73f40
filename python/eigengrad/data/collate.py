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

from eigengrad._dtype import promote_types
from eigengrad._errors import ArgumentIndexError
from eigengrad.tensor import Tensor

_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}")


def default_collate(batch: list):
    """A batch from ``batch``, a list of samples of one structure, as ``torch.utils.data.default_collate``."""
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        raise TypeError(f"batch: expected a list of samples, got {type(batch).__name__}")
    if len(batch) == 0:
        raise ArgumentIndexError("batch: expected at least one sample, got an empty list")  # torch: IndexError
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(isinstance(b, Tensor) and b.requires_grad for b in batch):  # torch.stack keeps the graph
            from eigengrad import stack

            return stack(list(batch))
        return _stack([b._data if isinstance(b, Tensor) else np.asarray(b) for b in batch])
    if isinstance(elem, np.ndarray):
        _check_numeric(elem)
        return _stack([np.asarray(b) for b in batch])
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        _check_numeric(np.asarray(elem))
        # NumPy scalars keep their dtype (torch.as_tensor), mixed ones promoted by PyTorch's rule
        return Tensor._wrap(np.array(batch, dtype=_promoted([np.asarray(b).dtype for b in batch])))
    if isinstance(elem, int):  # bools too: the batch's values decide the dtype, as torch.tensor(batch)
        if all(type(b) is bool or isinstance(b, np.bool_) for b in batch):
            return Tensor._wrap(np.array(batch, dtype=np.bool_))
        if any(isinstance(b, (float, complex, np.inexact)) for b in batch):  # [1, 2.5]: not truncated
            from eigengrad.tensor import tensor

            return tensor(batch)
        return Tensor._wrap(_int64(batch))
    if isinstance(elem, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    return _structure(batch, default_collate)


def _structure(batch: list, recurse):
    """A batch of dicts, namedtuples or sequences: ``recurse`` on each key's, field's or position's samples."""
    elem = batch[0]
    if isinstance(elem, collections.abc.Mapping):
        return _mapping_like(elem, {key: recurse([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(recurse(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence) and not isinstance(elem, (str, bytes)):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = [recurse(samples) for samples in zip(*batch)]  # tuples, as PyTorch (strings stay one)
        if isinstance(elem, tuple):
            return transposed  # a list, as PyTorch's (kept for backwards compatibility there)
        return _sequence_like(elem, transposed)
    raise TypeError(_ERROR.format(type(elem)))


def collate(batch: list, *, collate_fn_map: dict | None = None):
    """PyTorch's extensible collate (``torch.utils.data._utils.collate.collate``): a sample whose type (or a base
    of it) is a key of ``collate_fn_map`` is batched by that function, ``fn(batch, collate_fn_map=...)``; dicts,
    namedtuples and sequences are taken apart and their parts collated the same way. Scripts extend
    ``default_collate_fn_map`` with their own types and call ``collate(batch, collate_fn_map=...)``."""
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        raise TypeError(f"batch: expected a list of samples, got {type(batch).__name__}")
    if len(batch) == 0:
        raise ArgumentIndexError("batch: expected at least one sample, got an empty list")
    elem = batch[0]
    if collate_fn_map is not None:
        fn = collate_fn_map.get(type(elem))
        if fn is None:
            fn = next((f for kind, f in collate_fn_map.items() if isinstance(elem, kind)), None)
        if fn is not None:
            return fn(batch, collate_fn_map=collate_fn_map)
    return _structure(batch, lambda samples: collate(samples, collate_fn_map=collate_fn_map))


def _collate_leaf(batch: list, *, collate_fn_map: dict | None = None):
    """default_collate's batch of tensors, arrays, numbers or strings (the entries of default_collate_fn_map)."""
    return default_collate(batch)


# PyTorch's map from a sample's type to its batching function (collate_tensor_fn, collate_numpy_array_fn, ...)
default_collate_fn_map: dict = {Tensor: _collate_leaf, np.ndarray: _collate_leaf, np.bool_: _collate_leaf,
                                np.number: _collate_leaf, float: _collate_leaf, int: _collate_leaf,
                                str: _collate_leaf, bytes: _collate_leaf}


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
    for i, a in enumerate(arrays):
        if a.shape != arrays[0].shape:  # torch.stack's message
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(arrays[0].shape)} at "
                               f"entry 0 and {list(a.shape)} at entry {i}")
    return Tensor._wrap(np.stack(arrays, dtype=_promoted([a.dtype for a in arrays])))


def _promoted(dtypes: list) -> np.dtype:
    """The dtype torch.stack gives arrays of ``dtypes`` (PyTorch's promotion: int64 with float32 is float32,
    where NumPy's is float64)."""
    out = dtypes[0]
    for d in dtypes[1:]:
        if d != out:
            out = promote_types(out, d)
    return out


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
