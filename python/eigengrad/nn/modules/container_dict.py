"""``ModuleDict``, ``ParameterList`` and ``ParameterDict``: containers whose members are registered under
PyTorch's names (a ModuleDict's keys; "0", "1", ... for a ParameterList; a ParameterDict's keys), so
``named_parameters()`` and ``state_dict()`` match PyTorch's."""
from __future__ import annotations

import numbers
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from eigengrad.nn.modules.module import Module
from eigengrad.nn.parameter import Parameter
from eigengrad.tensor import Tensor


def _pairs(values, what: str):
    """A mapping's (or a ModuleDict's/ParameterDict's) items in insertion order, as PyTorch, or an iterable
    of (key, value) pairs (PyTorch's errors for anything else)."""
    if isinstance(values, (Mapping, ModuleDict, ParameterDict)):
        return list(values.items())
    if not isinstance(values, Iterable):
        raise TypeError(f"{what}.update should be called with an iterable of key/value pairs, but got "
                        f"{type(values).__name__}")
    pairs = []
    for j, item in enumerate(values):
        if not isinstance(item, Iterable):
            raise TypeError(f"{what} update sequence element #{j} should be Iterable; is{type(item).__name__}")
        item = tuple(item)
        if len(item) != 2:
            raise ValueError(f"{what} update sequence element #{j} has length {len(item)}; 2 is required")
        pairs.append(item)
    return pairs


class ModuleDict(Module):
    """Modules by name (insertion order), registered as submodules."""

    def __init__(self, modules=None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def clear(self) -> None:
        self._modules.clear()

    def pop(self, key: str) -> Module:
        v = self[key]
        del self[key]
        return v

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules) -> None:
        for key, module in _pairs(modules, "ModuleDict"):
            self[key] = module


def _as_parameter(value):
    """PyTorch's rule: a plain Tensor stored in a ParameterList/ParameterDict becomes a Parameter."""
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        return Parameter(value)
    return value


class ParameterList(Module):
    """A list of parameters registered as "0", "1", ...; plain Tensors are wrapped as Parameters."""

    def __init__(self, values=None) -> None:
        super().__init__()
        self._size = 0
        if values is not None:
            self += values

    def _index(self, idx: int) -> int:
        if not isinstance(idx, numbers.Integral):
            raise TypeError(f"ParameterList indices must be integers or slices, not {type(idx).__name__}")
        if not -self._size <= idx < self._size:
            raise IndexError(f"index {idx} is out of range")
        return int(idx) % self._size

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList([self[i] for i in range(self._size)[idx]])
        return getattr(self, str(self._index(idx)))

    def __setitem__(self, idx: int, param) -> None:
        self._set(str(self._index(idx)), param)

    def _set(self, name: str, value) -> None:
        value = _as_parameter(value)
        if isinstance(value, Parameter) or value is None:
            self.register_parameter(name, value)
        else:
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return self._size

    def forward(self, *args, **kwargs):
        raise RuntimeError("ParameterList should not be called.")

    def __iter__(self):
        return (self[i] for i in range(self._size))

    def __iadd__(self, parameters) -> "ParameterList":
        return self.extend(parameters)

    def append(self, value) -> "ParameterList":
        self._size += 1
        self._set(str(self._size - 1), value)
        return self

    def extend(self, values) -> "ParameterList":
        if isinstance(values, (Tensor, str)) or not hasattr(values, "__iter__"):
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got {type(values).__name__}")
        for v in values:
            self.append(v)
        return self

    def extra_repr(self) -> str:
        lines = []
        for i, p in enumerate(self):
            if isinstance(p, Tensor):
                size = "x".join(str(s) for s in p.shape)
                kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
                lines.append(f"  ({i}): {kind} containing: [{p.dtype!r} of size {size}]")  # (PyTorch's indent)
            else:
                lines.append(f"  ({i}): Object of type: {type(p).__name__}")
        return "\n".join(lines)


class ParameterDict(Module):
    """Parameters by name (insertion order); plain Tensors are wrapped as Parameters."""

    def __init__(self, parameters=None) -> None:
        super().__init__()
        object.__setattr__(self, "_keys", {})
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str):
        if key not in self._keys:
            raise KeyError(key)
        if key in self._parameters:  # before getattr: a key may be a method's name ("items", "update", ...)
            return self._parameters[key]
        return self.__dict__[key]

    def __setitem__(self, key: str, value) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ParameterDict keys must be strings, got {type(key).__name__}")
        self._keys[key] = None
        value = _as_parameter(value)
        if isinstance(value, Parameter) or value is None:
            self.register_parameter(key, value)
        else:
            self._forget(key)
            object.__setattr__(self, key, value)

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        self._forget(key)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self):
        return iter(self._keys)

    def __reversed__(self):
        return reversed(list(self._keys))

    def __contains__(self, key) -> bool:
        return key in self._keys

    def copy(self) -> "ParameterDict":
        return ParameterDict([(k, self[k]) for k in self._keys])

    def setdefault(self, key: str, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def clear(self) -> None:
        for k in list(self._keys):
            del self[k]

    def pop(self, key: str):
        v = self[key]
        del self[key]
        return v

    def popitem(self) -> tuple:
        k = list(self._keys)[-1]
        v = self[k]
        del self[k]
        return k, v

    def get(self, key: str, default=None):
        return self[key] if key in self else default

    def fromkeys(self, keys, default=None) -> "ParameterDict":
        return ParameterDict((k, default) for k in keys)

    def keys(self):
        return self._keys.keys()

    def items(self):
        return [(k, self[k]) for k in self._keys]

    def values(self):
        return [self[k] for k in self._keys]

    def update(self, parameters) -> None:
        """PyTorch's order: an OrderedDict's, a ParameterDict's or a sequence's as given, a plain mapping's
        (a dict) sorted by key."""
        if not isinstance(parameters, Mapping) and not hasattr(parameters, "__iter__"):
            raise TypeError(f"ParametersDict.update should be called with an iterable of key/value pairs, but got "
                            f"{type(parameters).__name__}")
        pairs = _pairs(parameters, "ParameterDict")
        if isinstance(parameters, Mapping) and not isinstance(parameters, OrderedDict):
            pairs = sorted(pairs, key=lambda kv: kv[0])
        for key, value in pairs:
            self[key] = value

    def forward(self, *args, **kwargs):
        raise RuntimeError("ParameterDict should not be called.")

    def __or__(self, other: "ParameterDict") -> "ParameterDict":
        out = self.copy()
        out.update(other)
        return out

    def extra_repr(self) -> str:
        lines = []
        for k, p in self.items():
            if isinstance(p, Tensor):
                size = "x".join(str(s) for s in p.shape)
                kind = "Parameter" if isinstance(p, Parameter) else "Tensor"
                lines.append(f"  ({k}): {kind} containing: [{p.type()} of size {size}]")  # (PyTorch's type name)
            else:
                lines.append(f"  ({k}): Object of type: {type(p).__name__}")
        return "\n".join(lines)
