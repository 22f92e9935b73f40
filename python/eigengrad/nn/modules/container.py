"""``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict``, ``Flatten`` and ``Unflatten``."""
from __future__ import annotations

from collections import OrderedDict

from eigengrad.nn.modules.module import Module
from eigengrad.tensor import Tensor


class _Indexed(Module):
    """List operations over the registered modules (``Sequential`` and ``ModuleList``): keys are positions
    ("0", "1", ...) renumbered after an insert or a delete, as PyTorch's."""

    def _items(self) -> list:
        return list(self._modules.items())

    def _reset(self, modules) -> None:
        for name in list(self._modules):
            self._forget(name)
        self._modules.clear()
        for i, m in enumerate(modules):
            self.add_module(str(i), m)

    def _index(self, idx: int) -> int:
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range")
        return idx % n

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __setitem__(self, idx: int, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"module: expected a Module, got {type(module).__name__}")
        self._modules[self._items()[self._index(idx)][0]] = module  # in place: the order is kept

    def __delitem__(self, idx) -> None:
        values = list(self._modules.values())
        del values[idx if isinstance(idx, slice) else self._index(idx)]
        self._reset(values)

    def append(self, module: Module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        values = list(self._modules.values())
        values.insert(index, module)
        self._reset(values)

    def pop(self, idx: int = -1) -> Module:
        module = list(self._modules.values())[self._index(idx)]
        del self[idx]
        return module


class Sequential(_Indexed):
    """Modules applied in order; built from arguments or from an OrderedDict of named modules."""

    def __init__(self, *args) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def forward(self, input):
        for m in self._modules.values():
            input = m(input)
        return input

    def __getitem__(self, idx):
        mods = self._items()
        if isinstance(idx, slice):
            return Sequential(OrderedDict(mods[idx]))
        return mods[self._index(idx)][1]

    def __add__(self, other: "Sequential") -> "Sequential":
        return Sequential(*self, *other)


class ModuleList(_Indexed):
    """A list of modules whose parameters are registered."""

    def __init__(self, modules=None) -> None:
        super().__init__()
        for m in modules or ():
            self.append(m)

    def __getitem__(self, idx):
        values = list(self._modules.values())
        return ModuleList(values[idx]) if isinstance(idx, slice) else values[self._index(idx)]

    def __add__(self, other) -> "ModuleList":
        return ModuleList([*self, *other])

    def __iadd__(self, other) -> "ModuleList":
        return self.extend(other)


class Flatten(Module):
    """Flattens dims ``start_dim..end_dim`` (default: all but the batch dim)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class _NamedEntries:
    """The dict interface of ModuleDict / ParameterDict over one of the module's own dicts (``_store``)."""

    _store = "_modules"

    def _entries(self) -> dict:
        return self.__dict__[self._store]

    def __getitem__(self, key: str):
        return self._entries()[key]

    def __delitem__(self, key: str) -> None:
        del self._entries()[key]

    def __len__(self) -> int:
        return len(self._entries())

    def __iter__(self):
        return iter(self._entries())

    def __contains__(self, key: str) -> bool:
        return key in self._entries()

    def keys(self):
        return self._entries().keys()

    def items(self):
        return self._entries().items()

    def values(self):
        return self._entries().values()

    def pop(self, key: str):
        return self._entries().pop(key)

    def clear(self) -> None:
        self._entries().clear()

    def update(self, entries) -> None:
        for key, value in (entries.items() if hasattr(entries, "items") else entries):
            self[key] = value


class ModuleDict(_NamedEntries, Module):
    """A dict of named modules whose parameters are registered (insertion order kept)."""

    def __init__(self, modules=None) -> None:
        Module.__init__(self)
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)


class ParameterList(Module):
    """A list of parameters registered under "0", "1", ... (tensors given are made Parameters)."""

    def __init__(self, values=None) -> None:
        super().__init__()
        for v in values or ():
            self.append(v)

    def append(self, value) -> "ParameterList":
        self.register_parameter(str(len(self._parameters)), _as_parameter(value))
        return self

    def extend(self, values) -> "ParameterList":
        for v in values:
            self.append(v)
        return self

    def __getitem__(self, idx):
        return list(self._parameters.values())[idx]

    def __setitem__(self, idx: int, value) -> None:
        self.register_parameter(list(self._parameters)[idx], _as_parameter(value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())


class ParameterDict(_NamedEntries, Module):
    """A dict of named parameters (tensors given are made Parameters)."""

    _store = "_parameters"

    def __init__(self, parameters=None) -> None:
        Module.__init__(self)
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key: str, value) -> None:
        self.register_parameter(key, _as_parameter(value))


def _as_parameter(value):
    from eigengrad.nn.parameter import Parameter

    if isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"expected a Parameter or a Tensor, got {type(value).__name__}")


class Unflatten(Module):
    """Unflattens dim ``dim`` into ``unflattened_size`` (the inverse of Flatten)."""

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
