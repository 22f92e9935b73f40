"""PyTorch's tensor operations, one module per area. A function here is at once ``eigengrad.<name>(input,
...)`` and the method ``Tensor.<name>(...)`` (PyTorch's functions take the tensor as ``input``, its methods as
self): each area module lists its ``METHODS`` (installed on Tensor), its ``FUNCTIONS`` (exported by
``eigengrad``) and its ``PROPERTIES`` (``x.T``, ``x.mT``, ``x.nbytes``)."""
from __future__ import annotations

import functools

from eigengrad.tensor_ops import (
    arithmetic, arrange, comparison, composite, conversion, counting, creation, diagonals, finite_differences, foreach,
    functional_aliases, index, index_put, matrices, pointwise, pointwise_composite, products, reduce, reshape_inplace,
    ported_functional, ported_names, shape, sort, sparse_methods, special, statistics, windows,
)

AREAS = (arithmetic, pointwise, pointwise_composite, special, comparison, shape, arrange, reshape_inplace, index, index_put,
         reduce, statistics, sort, products, matrices, conversion, creation, composite, counting, functional_aliases,
         diagonals, windows, foreach, finite_differences, ported_names, ported_functional, sparse_methods)


# NumPy's keyword names that PyTorch accepts for its own (``x.argmax(axis=1)``, ``x.sum(axis=0, keepdims=True)``
# in D2L-style code): a function taking ``dim``/``keepdim`` takes them too.
_ALIASES = {"axis": "dim", "keepdims": "keepdim"}


def _with_aliases(fn):
    code = getattr(fn, "__code__", None)
    if code is None:
        return fn
    params = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    aliases = {a: n for a, n in _ALIASES.items() if n in params and a not in params}
    if not aliases:
        return fn

    @functools.wraps(fn)
    def f(*args, **kwargs):
        for alias, name in aliases.items():
            if alias in kwargs:
                if name in kwargs:
                    raise TypeError(f"{fn.__name__}(): got both {name!r} and its alias {alias!r}")
                kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    return f


def install(cls) -> None:
    """Put every area's methods and properties on the Tensor class (``METHOD_FORMS``: a method whose arguments
    differ from the function's, as ``x.where(condition, other)``)."""
    for area in AREAS:
        forms = getattr(area, "METHOD_FORMS", {})
        for name in area.METHODS:
            setattr(cls, name, _with_aliases(forms.get(name) or getattr(area, name)))
        for name, getter in getattr(area, "PROPERTIES", {}).items():
            setattr(cls, name, property(getter, doc=getter.__doc__))


def functions() -> dict:
    """name -> function for every area's FUNCTIONS (``eigengrad.<name>``)."""
    return {name: _with_aliases(getattr(area, name)) for area in AREAS for name in area.FUNCTIONS}
