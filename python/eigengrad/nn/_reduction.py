"""The reductions of the losses, with PyTorch's legacy arguments (``torch.nn._reduction``).

Every loss of ``eigengrad.nn.functional`` and ``eigengrad.nn`` that takes PyTorch's deprecated
``size_average``/``reduce`` arguments maps them to ``reduction`` here, as PyTorch 2.13 does (with its
UserWarning, word for word)::

    size_average None -> True, reduce None -> True;  reduce False -> 'none';  else 'mean' if size_average else 'sum'

The losses call :func:`legacy_get_string` only when one of the two is given (``if size_average is not None
or reduce is not None``), so the ordinary call pays nothing for them. ``reduction='elementwise_mean'``
(PyTorch's old name of 'mean') is mapped to 'mean' with PyTorch's warning by :func:`check`, in the losses
whose PyTorch counterpart maps it (``get_enum``); the others refuse it, as PyTorch's do.
"""
from __future__ import annotations

import warnings

from eigengrad._errors import ArgumentError

REDUCTIONS = ("mean", "sum", "none")

_LEGACY_WARNING = "size_average and reduce args will be deprecated, please use reduction='{}' instead."


_ENUM = {"none": 0, "mean": 1, "sum": 2}
_ELEMENTWISE_MEAN = "reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead."


def get_enum(reduction: str) -> int:
    """PyTorch's enum of a reduction: 'none' 0, 'mean' 1 ('elementwise_mean' too, with its warning), 'sum' 2;
    any other value raises PyTorch's ValueError."""
    if reduction == "elementwise_mean":
        warnings.warn(_ELEMENTWISE_MEAN, stacklevel=2)
        reduction = "mean"
    if reduction not in _ENUM:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return _ENUM[reduction]


def legacy_get_string(size_average: bool | None, reduce: bool | None, emit_warning: bool = True) -> str:
    """The reduction the deprecated ``size_average``/``reduce`` pair stands for: a pair member left None counts
    as True (by truth value otherwise); reduce False gives 'none', else size_average chooses 'mean' or 'sum'."""
    keep = True if reduce is None else bool(reduce)
    average = True if size_average is None else bool(size_average)
    reduction = ("mean" if average else "sum") if keep else "none"
    if emit_warning:
        warnings.warn(_LEGACY_WARNING.format(reduction), stacklevel=2)
    return reduction


def legacy_get_enum(size_average: bool | None, reduce: bool | None, emit_warning: bool = True) -> int:
    return get_enum(legacy_get_string(size_average, reduce, emit_warning))


def resolve(size_average, reduce, reduction: str) -> str:
    """``reduction``, or what the deprecated pair stands for when either is given (with PyTorch's warning):
    the one line each loss runs first; the ordinary call (both None) costs two comparisons."""
    if size_average is None and reduce is None:
        return reduction
    return legacy_get_string(size_average, reduce)


def check(reduction: str, allowed: tuple = REDUCTIONS) -> str:
    """``reduction`` when it is one of ``allowed``; 'elementwise_mean' gives 'mean' with PyTorch's warning
    (when 'mean' is allowed); anything else raises ``ArgumentError`` (a ValueError, as PyTorch's)."""
    if reduction in allowed:
        return reduction
    if reduction == "elementwise_mean" and "mean" in allowed:
        warnings.warn(_ELEMENTWISE_MEAN, stacklevel=2)
        return "mean"
    raise ArgumentError(f"reduction: expected one of {allowed}, got {reduction!r}")


__all__ = ["get_enum", "legacy_get_string", "legacy_get_enum", "resolve", "check"]
