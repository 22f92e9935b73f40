"""Nested training state (dicts, lists, tuples, numbers, strings, arrays) as safetensors + JSON.

A checkpoint holds the model's, the optimizer's and the scheduler's ``state_dict()``, generator states,
the history and the callbacks' states: a tree whose leaves are arrays or plain values. :func:`pack`
splits the tree into a flat dict of arrays (stored as safetensors tensors, never pickled) and a JSON
skeleton in which each array is a ``{"__array__": key, "shape": [...]}`` placeholder; :func:`unpack`
puts them back together. Tuples and dicts with non-string keys (an optimizer's state is keyed by
parameter index) survive the round trip, floats are written with ``repr`` precision (so they come
back bit for bit, NaN and infinities included), and 0-d arrays keep their shape.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

_ARRAY, _TUPLE, _ITEMS = "__array__", "__tuple__", "__items__"
_MARKERS = (_ARRAY, _TUPLE, _ITEMS)


def snapshot_state(model) -> dict[str, np.ndarray]:
    """Copies of the arrays of ``model.state_dict()`` (parameters and buffers), for ``load_state_dict``
    later: training on does not change them."""
    return {k: np.array(v._data, copy=True) for k, v in model.state_dict().items()}


def pack(tree: Any) -> tuple[dict[str, np.ndarray], Any]:
    """``(arrays, skeleton)``: the arrays of ``tree`` by path, and a JSON-serialisable skeleton."""
    arrays: dict[str, np.ndarray] = {}
    return arrays, _encode(tree, "", arrays)


def unpack(arrays: dict[str, np.ndarray], skeleton: Any) -> Any:
    """The tree that :func:`pack` split into ``arrays`` and ``skeleton``."""
    return _decode(skeleton, arrays)


def _encode(obj: Any, path: str, arrays: dict) -> Any:
    from eigengrad.tensor import Tensor

    if isinstance(obj, Tensor):
        obj = obj._data
    if isinstance(obj, np.ndarray):
        key = path or "."
        if key in arrays:
            raise ValueError(f"state: two arrays at the same path {key!r}")
        arrays[key] = obj
        return {_ARRAY: key, "shape": list(obj.shape)}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj) and not any(k in _MARKERS for k in obj):
            return {k: _encode(v, _join(path, k), arrays) for k, v in obj.items()}
        return {_ITEMS: [[_encode(k, _join(path, f"key{i}"), arrays), _encode(v, _join(path, str(k)), arrays)]
                         for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, _join(path, str(i)), arrays) for i, v in enumerate(obj)]
        return {_TUPLE: items} if isinstance(obj, tuple) else items
    raise TypeError(f"state{'[' + repr(path) + ']' if path else ''}: cannot store a {type(obj).__name__} in a "
                    "checkpoint (expected arrays, tensors, numbers, strings, None, lists, tuples and dicts)")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _decode(obj: Any, arrays: dict) -> Any:
    if isinstance(obj, list):
        return [_decode(v, arrays) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if _ARRAY in obj:
        return np.array(arrays[obj[_ARRAY]]).reshape(obj["shape"])
    if _TUPLE in obj:
        return tuple(_decode(v, arrays) for v in obj[_TUPLE])
    if _ITEMS in obj:
        return {_hashable(_decode(k, arrays)): _decode(v, arrays) for k, v in obj[_ITEMS]}
    return {k: _decode(v, arrays) for k, v in obj.items()}


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def save_tree(tree: Any, path: str | os.PathLike, kind: str) -> None:
    """Write ``tree`` to ``path`` atomically (safetensors; the skeleton in the header under ``kind``)."""
    from eigengrad.serialization import save

    arrays, skeleton = pack(tree)
    save(arrays, path, metadata={"kind": kind, "version": 1, "tree": skeleton})


def load_tree(path: str | os.PathLike, kind: str) -> Any:
    """Read a tree written by :func:`save_tree` with the same ``kind``; a clear error for other files."""
    from eigengrad.serialization import load, load_metadata

    meta = load_metadata(path)
    if not isinstance(meta, dict) or meta.get("kind") != kind:
        found = meta.get("kind") if isinstance(meta, dict) else None
        raise ValueError(f"path: {os.fspath(path)!r} is not an eigengrad {kind} (found {found or 'no kind'})")
    arrays = {k: v._data for k, v in load(path).items()}
    return unpack(arrays, meta["tree"])
