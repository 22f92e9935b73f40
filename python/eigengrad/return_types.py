"""The named tuples PyTorch's reductions return (``torch.return_types``): ``values, indices = x.max(1)`` and
``x.max(1).values`` both work."""
from __future__ import annotations

from collections import namedtuple


def _pair(name: str, first: str = "values", second: str = "indices"):
    cls = namedtuple(name, [first, second])
    cls.__module__ = __name__
    cls.__repr__ = lambda self: (f"eigengrad.return_types.{name}(\n{first}={getattr(self, first)!r},\n"
                                 f"{second}={getattr(self, second)!r})")
    return cls


max = _pair("max")
min = _pair("min")
sort = _pair("sort")
topk = _pair("topk")
kthvalue = _pair("kthvalue")
median = _pair("median")
mode = _pair("mode")
aminmax = _pair("aminmax", "min", "max")
cummax = _pair("cummax")
cummin = _pair("cummin")

histogram = _pair("histogram", "hist", "bin_edges")
histogramdd = _pair("histogramdd", "hist", "bin_edges")
frexp = _pair("frexp", "mantissa", "exponent")

__all__ = ["max", "min", "sort", "topk", "kthvalue", "median", "mode", "aminmax", "cummax", "cummin", "histogram",
           "histogramdd", "frexp"]
