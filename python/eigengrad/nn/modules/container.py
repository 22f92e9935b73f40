"""``Sequential``, ``ModuleList`` and ``Flatten``."""
from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable

from eigengrad.nn.modules._deprecated import deprecated_class
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
        idx = operator.index(idx)  # (TypeError "'str' object cannot be interpreted as an integer", as PyTorch's)
        n = len(self._modules)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} is out of range")
        return idx % n

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __setitem__(self, idx: int, module: Module) -> None:
        setattr(self, self._items()[self._index(idx)][0], module)  # in place: the order is kept

    def __delitem__(self, idx) -> None:
        values = list(self._modules.values())
        del values[idx if isinstance(idx, slice) else self._index(idx)]
        self._reset(values)

    def append(self, module: Module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        if not isinstance(modules, Iterable):
            raise TypeError(f"{type(self).__name__}.extend should be called with an iterable, but got "
                            f"{type(modules).__name__}")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        if not isinstance(module, Module):  # checked first: a failed insert leaves the container as it was
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        values = list(self._modules.values())
        values.insert(index, module)
        self._reset(values)

    def pop(self, idx: int | slice = -1):
        """The module at ``idx`` (a slice: a container of them), removed."""
        module = self[idx]
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

    def insert(self, index: int, module: Module) -> "Sequential":
        """PyTorch's Sequential.insert: ``index`` within ``[-len, len]``; returns self."""
        if not isinstance(module, Module):
            raise AssertionError(f"module should be of type: {Module}")
        n = len(self._modules)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        super().insert(index, module)
        return self

    def _check_sequential(self, other) -> None:
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but {type(other)} is given.")

    def __add__(self, other: "Sequential") -> "Sequential":
        self._check_sequential(other)
        return Sequential(*self, *other)

    def __iadd__(self, other: "Sequential") -> "Sequential":
        self._check_sequential(other)
        return self.extend(list(other))

    def _repeats(self, count) -> int:
        if not isinstance(count, int):
            raise TypeError(f"unsupported operand type(s) for *: {type(self)} and {type(count)}")
        if count <= 0:
            raise ValueError(f"Non-positive multiplication factor {count} for {type(self)}")
        return count

    def __mul__(self, count: int) -> "Sequential":
        """The same modules (not copies) ``count`` times over."""
        return Sequential(*(list(self) * self._repeats(count)))

    __rmul__ = __mul__

    def __imul__(self, count: int) -> "Sequential":
        return self.extend(list(self) * (self._repeats(count) - 1))


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

    def __repr__(self) -> str:
        """PyTorch's: a run of modules that print alike is one line, ``(0-2): 3 x Linear(...)``."""
        runs: list = []  # [first index, last index, repr]
        for i, m in enumerate(self._modules.values()):
            r = repr(m)
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        name = type(self).__name__  # a subclass prints its own name (ParametrizationList, user lists)
        if not runs:
            return name + "()"
        lines = [(f"({a}): " if a == b else f"({a}-{b}): {b - a + 1} x ") + r.replace("\n", "\n  ") for a, b, r in runs]
        return name + "(\n  " + "\n  ".join(lines) + "\n)"


class Flatten(Module):
    """Flattens dims ``start_dim..end_dim`` (default: all but the batch dim)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expands dim ``dim`` into ``unflattened_size`` (the inverse of ``Flatten``)."""

    def __init__(self, dim, unflattened_size) -> None:
        super().__init__()
        if isinstance(dim, str):
            raise TypeError("dim: named dims are not supported (eigengrad has no named tensors); pass an int")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(f"unflattened_size must be tuple of ints, but found type {type(unflattened_size).__name__}")
        for idx, elem in enumerate(unflattened_size):
            if not isinstance(elem, int):
                raise TypeError(f"unflattened_size must be tuple of ints, but found element of type "
                                f"{type(elem).__name__} at pos {idx}")
        self.dim, self.unflattened_size = dim, unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


def __getattr__(name: str):
    """``ModuleDict``, ``ParameterList`` and ``ParameterDict`` at PyTorch's path (``torch.nn.modules.container``)."""
    if name in ("ModuleDict", "ParameterList", "ParameterDict"):
        from eigengrad.nn.modules import container_dict
        return getattr(container_dict, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@deprecated_class("`nn.Container` is deprecated. All of its functionality is now implemented in `nn.Module`. "
                   "Subclass that instead.")
class Container(Module):
    """Deprecated: a ``Module`` with the children given as keyword arguments (``Container(fc=Linear(2, 2))``)."""

    def __init__(self, **kwargs) -> None:
        super().__init__()
        for key, value in kwargs.items():
            self.add_module(key, value)
