"""Nested training state (dicts, lists, tuples, numbers, strings, arrays) as safetensors + JSON.

A checkpoint holds the model's, the optimizer's and the scheduler's ``state_dict()``, generator states,
the history and the callbacks' states: a tree whose leaves are arrays or plain values. :func:`pack`
splits the tree into a flat dict of arrays (stored as safetensors tensors, never pickled) and a JSON
skeleton in which each array is a ``{"__array__": key, "shape": [...]}`` placeholder; :func:`unpack`
puts them back together. Tuples and dicts with non-string keys (an optimizer's state is keyed by
parameter index) survive the round trip, floats are written with ``repr`` precision (so they come
back bit for bit, NaN and infinities included), and 0-d arrays keep their shape.

``eigengrad.save`` packs with ``typed=True``: tensors then come back as tensors (``requires_grad`` and
``nn.Parameter`` kept), NumPy arrays as arrays, ``OrderedDict`` as ``OrderedDict``, dtypes as dtypes,
and objects (enums, namedtuples, dataclasses and allow-listed classes) as ``{"__object__": name, ...}``
entries that :func:`unpack` rebuilds only through a ``resolve`` function (the allow-list): a class is
never imported or called because a file names it.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

import numpy as np

_ARRAY, _TUPLE, _ITEMS = "__array__", "__tuple__", "__items__"
_ODICT, _DTYPE, _OBJECT = "__odict__", "__dtype__", "__object__"  # typed trees only (eigengrad.save)
_SIZE = "__size__"  # a tensor shape (eigengrad.Size, torch.Size), safe as PyTorch's weights_only load allows it
# values PyTorch's weights_only load also rebuilds (sets, bytes, complex numbers, devices), and NumPy scalars with
# their dtype (plain JSON would give a Python number)
_SET, _BYTES, _COMPLEX, _DEVICE, _SCALAR = "__set__", "__bytes__", "__complex__", "__device__", "__scalar__"
_MARKERS = (_ARRAY, _TUPLE, _ITEMS, _ODICT, _DTYPE, _OBJECT, _SIZE, _SET, _BYTES, _COMPLEX, _DEVICE, _SCALAR)


class NotStorable(TypeError):
    """A value the safe format cannot hold (``eigengrad.save`` then writes a pickle)."""


def snapshot_state(model) -> dict[str, np.ndarray]:
    """Copies of the arrays of ``model.state_dict()`` (parameters and buffers), for ``load_state_dict``
    later: training on does not change them."""
    return {k: np.array(v._data, copy=True) for k, v in model.state_dict().items()}


def pack(tree: Any, *, typed: bool = False, object_name=None) -> tuple[dict[str, np.ndarray], Any]:
    """``(arrays, skeleton)``: the arrays of ``tree`` by path, and a JSON-serialisable skeleton.

    ``typed``: keep the kinds of values (see the module docstring); ``object_name(obj)`` gives the name
    to store another object under, or None when it cannot be stored (:class:`NotStorable` is raised)."""
    arrays: dict[str, np.ndarray] = {}
    if typed:
        return arrays, _Typed(arrays, object_name).encode(tree, "")
    return arrays, _encode(tree, "", arrays)


def unpack(arrays: dict[str, np.ndarray], skeleton: Any, *, typed: bool = False, resolve=None) -> Any:
    """The tree that :func:`pack` split into ``arrays`` and ``skeleton``. A skeleton that is not one
    :func:`pack` could write (a placeholder naming a missing array or one used twice, a shape that does not
    fit, an array left unused, a bad marker) is a ``ValueError`` saying where; so is one nested too deeply.
    ``typed`` rebuilds what ``pack(typed=True)`` kept, objects through ``resolve(name) -> class``."""
    used: set = set()
    try:
        tree = _TypedDecoder(arrays, used, resolve).decode(skeleton, "") if typed else _decode(skeleton, arrays,
                                                                                                used, "")
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


class _Typed:
    """The encoder of typed trees (``pack(typed=True)``)."""

    def __init__(self, arrays: dict, object_name) -> None:
        self.arrays, self.object_name = arrays, object_name

    def encode(self, obj: Any, path: str) -> Any:
        from eigengrad.tensor import Tensor

        if isinstance(obj, Tensor):
            return self._tensor(obj, path)
        if isinstance(obj, np.ndarray):
            if obj.dtype.kind in "OVUSMmc":
                raise NotStorable(f"state[{path!r}]: a NumPy array of dtype {obj.dtype} (safetensors holds numbers)")
            return self._array(obj, path)
        if isinstance(obj, np.dtype) or _is_eigengrad_dtype(obj):
            obj = np.dtype(obj)
            return {_DTYPE: obj.str if obj.kind in "biufc" else _not_storable(obj, path)}
        if isinstance(obj, np.generic) and obj.dtype.kind in "biufc":
            value = obj.item()
            return {_SCALAR: obj.dtype.str, "value": [value.real, value.imag] if obj.dtype.kind == "c" else value}
        if isinstance(obj, np.generic) or obj is None or type(obj) in (bool, int, float, str):
            return _encode(obj, path, self.arrays)
        if type(obj) is complex:
            return {_COMPLEX: [obj.real, obj.imag]}
        if type(obj) in (bytes, bytearray):
            return {_BYTES: obj.hex(), "mutable": type(obj) is bytearray}
        if type(obj) in (set, frozenset):
            return {_SET: [self.encode(v, _join(path, str(i))) for i, v in enumerate(obj)],
                    "frozen": type(obj) is frozenset}
        if type(obj).__name__ == "device" and type(obj).__module__ in ("eigengrad._device", "torch"):
            return {_DEVICE: str(obj)}
        if type(obj) is dict:
            if all(isinstance(k, str) for k in obj) and not any(k in _MARKERS for k in obj):
                return {k: self.encode(v, _join(path, k)) for k, v in obj.items()}
            return {_ITEMS: self._items(obj, path)}
        if type(obj) is OrderedDict:
            return {_ODICT: self._items(obj, path)}
        if _is_size(obj):
            return {_SIZE: [int(v) for v in obj]}
        if type(obj) in (list, tuple):
            items = [self.encode(v, _join(path, str(i))) for i, v in enumerate(obj)]
            return {_TUPLE: items} if isinstance(obj, tuple) else items
        return self._object(obj, path)

    def _array(self, a: np.ndarray, path: str) -> dict:
        key, n = path or ".", 1
        while key in self.arrays:  # ("a.b": x, "a": {"b": y}) name two arrays alike: number the later ones
            key, n = f"{path or '.'}#{n}", n + 1
        self.arrays[key] = a
        return {_ARRAY: key, "shape": list(a.shape)}

    def _tensor(self, t, path: str) -> dict:
        from eigengrad.nn.parameter import Parameter

        node = self._array(t._data, path)
        node["tensor"] = "Parameter" if isinstance(t, Parameter) else "Tensor"
        if t.requires_grad:
            node["requires_grad"] = True
        return node

    def _items(self, obj: dict, path: str) -> list:
        return [[self.encode(k, _join(path, f"key{i}")), self.encode(v, _join(path, str(k)))]
                for i, (k, v) in enumerate(obj.items())]

    def _object(self, obj: Any, path: str) -> dict:
        import dataclasses
        import enum

        name = self.object_name(obj) if self.object_name is not None else None
        if name is None:
            _not_storable(obj, path)
        if isinstance(obj, enum.Enum):
            return {_OBJECT: name, "enum": obj.name}
        if isinstance(obj, tuple) and hasattr(type(obj), "_fields"):
            return {_OBJECT: name, "items": [self.encode(v, _join(path, str(i))) for i, v in enumerate(obj)]}
        if dataclasses.is_dataclass(obj) or hasattr(obj, "__dict__"):
            state = dict(vars(obj)) if hasattr(obj, "__dict__") else {}
            for f in dataclasses.fields(obj) if dataclasses.is_dataclass(obj) else ():
                state.setdefault(f.name, getattr(obj, f.name))  # slots dataclasses
            return {_OBJECT: name, "state": self.encode(state, path)}
        _not_storable(obj, path)


def _is_size(obj: Any) -> bool:
    return type(obj).__name__ == "Size" and type(obj).__module__ in ("eigengrad.tensor", "torch")


def _is_eigengrad_dtype(obj: Any) -> bool:
    return type(obj).__name__ == "dtype" and type(obj).__module__ == "eigengrad._dtype"


def _not_storable(obj: Any, path: str):
    raise NotStorable(f"state{'[' + repr(path) + ']' if path else ''}: a {type(obj).__module__}."
                      f"{type(obj).__qualname__} cannot be stored in the safe format")


class _TypedDecoder:
    """Rebuilds a typed tree; object entries only through ``resolve``."""

    def __init__(self, arrays: dict, used: set, resolve) -> None:
        self.arrays, self.used, self.resolve = arrays, used, resolve

    def decode(self, obj: Any, at: str) -> Any:
        if isinstance(obj, list):
            return [self.decode(v, _join(at, str(i))) for i, v in enumerate(obj)]
        if not isinstance(obj, dict):
            return obj
        if _ARRAY in obj:
            return self._leaf(obj, at)
        if _TUPLE in obj:
            if not isinstance(obj[_TUPLE], list):
                raise ValueError(f"tree[{at!r}]: a tuple marker must hold a list, got {type(obj[_TUPLE]).__name__}")
            return tuple(self.decode(v, _join(at, str(i))) for i, v in enumerate(obj[_TUPLE]))
        if _ITEMS in obj or _ODICT in obj:
            pairs = self._pairs(obj.get(_ITEMS, obj.get(_ODICT)), at)
            return OrderedDict(pairs) if _ODICT in obj else dict(pairs)
        if _DTYPE in obj:
            return self._dtype(obj[_DTYPE], at)
        if _SIZE in obj:
            from eigengrad.tensor import Size

            dims = obj[_SIZE]
            if not isinstance(dims, list) or not all(type(v) is int and v >= 0 for v in dims):
                raise ValueError(f"tree[{at!r}]: a size marker must hold a list of non-negative ints")
            return Size(dims)
        if _OBJECT in obj:
            return self._object(obj, at)
        for marker, rebuild in ((_SET, self._set), (_BYTES, _bytes), (_COMPLEX, _complex), (_DEVICE, _device),
                                (_SCALAR, _scalar)):
            if marker in obj:
                return rebuild(obj, at)
        return {k: self.decode(v, _join(at, k)) for k, v in obj.items()}

    def _set(self, obj: dict, at: str):
        items = obj[_SET]
        if not isinstance(items, list):
            raise ValueError(f"tree[{at!r}]: a set marker must hold a list")
        values = [_hashable(self.decode(v, _join(at, str(i))), at) for i, v in enumerate(items)]
        return frozenset(values) if obj.get("frozen") is True else set(values)

    def _leaf(self, obj: dict, at: str):
        a = _placeholder(obj, self.arrays, self.used, at)
        kind = obj.get("tensor")
        if kind is None:
            return a
        from eigengrad.nn.parameter import Parameter
        from eigengrad.tensor import Tensor

        if kind not in ("Tensor", "Parameter"):
            raise ValueError(f"tree[{at!r}]: unknown tensor kind {kind!r}")
        requires_grad = obj.get("requires_grad", False) is True
        if kind == "Parameter":
            return Parameter(a, requires_grad=requires_grad)
        t = Tensor._wrap(a)
        t.requires_grad = requires_grad
        return t

    def _pairs(self, items: Any, at: str) -> list:
        if not isinstance(items, list) or not all(isinstance(p, list) and len(p) == 2 for p in items):
            raise ValueError(f"tree[{at!r}]: an items marker must hold a list of [key, value] pairs")
        out = []
        for i, (k, v) in enumerate(items):
            key = _hashable(self.decode(k, _join(at, f"key{i}")), at)
            out.append((key, self.decode(v, _join(at, str(key)))))
        return out

    @staticmethod
    def _dtype(name: Any, at: str) -> np.dtype:
        if not isinstance(name, str) or len(name) > 8:
            raise ValueError(f"tree[{at!r}]: expected a dtype name, got {name!r}")
        try:
            dtype = np.dtype(name)
        except TypeError:
            raise ValueError(f"tree[{at!r}]: expected a dtype name, got {name!r}") from None
        if dtype.kind not in "biufc":
            raise ValueError(f"tree[{at!r}]: expected a numeric dtype, got {name!r}")
        try:  # eigengrad's dtype objects, where the package has them
            from eigengrad._dtype import of
        except ImportError:
            return dtype
        return of(dtype)

    def _object(self, obj: dict, at: str) -> Any:
        name = obj[_OBJECT]
        if not isinstance(name, str) or self.resolve is None:
            raise ValueError(f"tree[{at!r}]: an object entry needs a class name and a loader that resolves it")
        cls = self.resolve(name)
        if "enum" in obj:
            try:
                return cls[obj["enum"]]
            except (KeyError, TypeError):
                raise ValueError(f"tree[{at!r}]: {name} has no member {obj['enum']!r}") from None
        if "items" in obj:
            if not (isinstance(cls, type) and issubclass(cls, tuple)) or not isinstance(obj["items"], list):
                raise ValueError(f"tree[{at!r}]: {name} is not a namedtuple with items")
            return cls(*self.decode(obj["items"], at))
        state = self.decode(obj.get("state"), at)
        if not isinstance(cls, type) or not isinstance(state, dict):
            raise ValueError(f"tree[{at!r}]: {name} needs a class and a state dict")
        instance = cls.__new__(cls)
        if "__setstate__" in vars(cls):
            instance.__setstate__(state)
        else:
            for k, v in state.items():
                object.__setattr__(instance, k, v)
        return instance


def _bytes(obj: dict, at: str):
    try:
        data = bytes.fromhex(obj[_BYTES])
    except (TypeError, ValueError):
        raise ValueError(f"tree[{at!r}]: a bytes marker must hold a hex string") from None
    return bytearray(data) if obj.get("mutable") is True else data


def _pair_of_floats(value: Any, at: str, what: str) -> tuple:
    if not (isinstance(value, list) and len(value) == 2 and all(type(v) in (int, float) for v in value)):
        raise ValueError(f"tree[{at!r}]: a {what} marker must hold [real, imag]")
    return float(value[0]), float(value[1])


def _complex(obj: dict, at: str) -> complex:
    return complex(*_pair_of_floats(obj[_COMPLEX], at, "complex"))


def _device(obj: dict, at: str):
    from eigengrad._device import device

    if not isinstance(obj[_DEVICE], str):
        raise ValueError(f"tree[{at!r}]: a device marker must hold a device name")
    return device(obj[_DEVICE])


def _scalar(obj: dict, at: str) -> np.generic:
    name, value = obj[_SCALAR], obj.get("value")
    try:
        dtype = np.dtype(name) if isinstance(name, str) and len(name) <= 8 else None
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biufc":
        raise ValueError(f"tree[{at!r}]: expected a numeric NumPy dtype name, got {name!r}")
    if dtype.kind == "c":
        return dtype.type(complex(*_pair_of_floats(value, at, "complex scalar")))
    if type(value) not in (bool, int, float):
        raise ValueError(f"tree[{at!r}]: a scalar marker must hold a number, got {type(value).__name__}")
    return dtype.type(value)


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
