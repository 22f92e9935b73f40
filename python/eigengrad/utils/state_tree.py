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
    """The tree that :func:`pack` split into ``arrays`` and ``skeleton``. A skeleton that is not one
    :func:`pack` could write (a placeholder naming a missing array or one used twice, a shape that does not
    fit, an array left unused, a bad marker) is a ``ValueError`` saying where; so is one nested too deeply."""
    used: set = set()
    try:
        tree = _decode(skeleton, arrays, used, "")
    except RecursionError:
        raise ValueError("the tree is nested too deeply to rebuild") from None
    unused = sorted(set(arrays) - used)
    if unused:
        raise ValueError(f"arrays {unused[:5]} are in the file but not in the tree")
    return tree


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


def _decode(obj: Any, arrays: dict, used: set, at: str) -> Any:
    """The value of skeleton node ``obj`` (at path ``at``, for messages); records the arrays it uses."""
    if isinstance(obj, list):
        return [_decode(v, arrays, used, _join(at, str(i))) for i, v in enumerate(obj)]
    if not isinstance(obj, dict):
        return obj
    if _ARRAY in obj:
        return _placeholder(obj, arrays, used, at)
    if _TUPLE in obj:
        if not isinstance(obj[_TUPLE], list):
            raise ValueError(f"tree[{at!r}]: a tuple marker must hold a list, got {type(obj[_TUPLE]).__name__}")
        return tuple(_decode(v, arrays, used, _join(at, str(i))) for i, v in enumerate(obj[_TUPLE]))
    if _ITEMS in obj:
        items = obj[_ITEMS]
        if not isinstance(items, list) or not all(isinstance(p, list) and len(p) == 2 for p in items):
            raise ValueError(f"tree[{at!r}]: an items marker must hold a list of [key, value] pairs")
        out = {}
        for i, (k, v) in enumerate(items):
            key = _hashable(_decode(k, arrays, used, _join(at, f"key{i}")), at)
            out[key] = _decode(v, arrays, used, _join(at, str(key)))
        return out
    return {k: _decode(v, arrays, used, _join(at, k)) for k, v in obj.items()}


def _placeholder(obj: dict, arrays: dict, used: set, at: str) -> np.ndarray:
    key, shape = obj.get(_ARRAY), obj.get("shape")
    if not isinstance(key, str) or key not in arrays:
        raise ValueError(f"tree[{at!r}]: refers to array {key!r}, which is not in the file")
    if key in used:
        raise ValueError(f"tree[{at!r}]: refers to array {key!r} a second time")
    if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                              for s in shape):
        raise ValueError(f"tree[{at!r}]: expected a shape (a list of sizes), got {shape!r}")
    a = arrays[key]
    if int(np.prod(shape, dtype=object)) != a.size:
        raise ValueError(f"tree[{at!r}]: shape {shape} does not fit array {key!r} of {a.size} elements")
    used.add(key)
    return np.array(a).reshape(shape)


def _hashable(key: Any, at: str) -> Any:
    key = tuple(key) if isinstance(key, list) else key
    try:
        hash(key)
    except TypeError:
        raise ValueError(f"tree[{at!r}]: a dict key must be hashable, got {type(key).__name__}") from None
    return key


def save_tree(tree: Any, path: str | os.PathLike, kind: str) -> None:
    """Write ``tree`` to ``path`` atomically (safetensors; the skeleton in the header under ``kind``)."""
    from eigengrad.serialization import save

    arrays, skeleton = pack(tree)
    save(arrays, path, metadata={"kind": kind, "version": 1, "tree": skeleton})


def load_tree(path: str | os.PathLike, kind: str, verify: bool = True) -> Any:
    """Read a tree written by :func:`save_tree` with the same ``kind``. Another kind of file, or metadata
    that is not a tree :func:`save_tree` wrote, is a ``ValueError`` naming the file and the field;
    ``verify`` checks the file's digest (see ``eigengrad.load``)."""
    from eigengrad.serialization import META_FIELD, read

    arrays, meta = read(path, verify)
    where = f"path: {os.fspath(path)!r}"
    if not isinstance(meta, dict) or meta.get("kind") != kind:
        found = meta.get("kind") if isinstance(meta, dict) else None
        raise ValueError(f"{where} is not an eigengrad {kind} (found {found or 'no kind'})")
    if meta.get("version") != 1 or "tree" not in meta:
        raise ValueError(f"{where}: metadata field {META_FIELD!r}: expected version 1 and a tree, got version "
                         f"{meta.get('version')!r}{'' if 'tree' in meta else ' and no tree'}")
    try:
        return unpack(dict(arrays), meta["tree"])
    except ValueError as e:
        raise ValueError(f"{where}: metadata field {META_FIELD!r}: {e}") from None
