"""PyTorch's tensor operations, one module per area. A function here is at once ``eigengrad.<name>(input,
...)`` and the method ``Tensor.<name>(...)`` (PyTorch's functions take the tensor as ``input``, its methods as
self): each area module lists its ``METHODS`` (installed on Tensor), its ``FUNCTIONS`` (exported by
``eigengrad``) and its ``PROPERTIES`` (``x.T``, ``x.mT``, ``x.nbytes``)."""
from __future__ import annotations

from eigengrad.tensor_ops import (
    arithmetic, arrange, comparison, composite, conversion, counting, creation, index, index_put, matrices, pointwise,
    pointwise_composite, products, reduce, reshape_inplace, shape, sort, statistics,
)

AREAS = (arithmetic, pointwise, pointwise_composite, comparison, shape, arrange, reshape_inplace, index, index_put,
         reduce, statistics, sort, products, matrices, conversion, creation, composite, counting)


def install(cls) -> None:
    """Put every area's methods and properties on the Tensor class (``METHOD_FORMS``: a method whose arguments
    differ from the function's, as ``x.where(condition, other)``)."""
    for area in AREAS:
        forms = getattr(area, "METHOD_FORMS", {})
        for name in area.METHODS:
            setattr(cls, name, forms.get(name) or getattr(area, name))
        for name, getter in getattr(area, "PROPERTIES", {}).items():
            setattr(cls, name, property(getter, doc=getter.__doc__))


def functions() -> dict:
    """name -> function for every area's FUNCTIONS (``eigengrad.<name>``)."""
    return {name: getattr(area, name) for area in AREAS for name in area.FUNCTIONS}
