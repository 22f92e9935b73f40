"""Argument checks shared by the optimizers, the schedule functions and the schedulers.

Each raises ``ValueError`` (bad value) or ``TypeError`` (bad type) naming the argument, the value it got
and what was expected, as the design brief asks of every public entry point.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence


def positive_int(name: str, value: Any, type_error: type = TypeError) -> int:
    """``type_error`` is raised for a non-integer: TypeError, or ``_errors.TypeValueError`` where PyTorch
    raises ValueError for one (its OneCycleLR's ``total_steps``, CosineAnnealingWarmRestarts' ``T_0``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise type_error(f"{name}: expected a positive integer, got {value!r} ({type(value).__name__})")
    if value <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {value}")
    return int(value)


def positive_whole(name: str, value: Any) -> int:
    """A positive integer, also given as a whole float (PyTorch's tutorials write ``StepLR(opt, 1.0)``)."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)) \
            and float(value).is_integer():
        value = int(value)
    return positive_int(name, value)


def nonneg_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer >= 0, got {value!r} ({type(value).__name__})")
    if value < 0:
        raise ValueError(f"{name}: expected an integer >= 0, got {value}")
    return int(value)


def real(name: str, value: Any, type_error: type = TypeError) -> float:
    if getattr(value, "_data", None) is not None and value._data.size == 1 and value._data.dtype.kind == "f":
        return value  # a 1-element float tensor (PyTorch accepts a Tensor lr); the update reads float(lr)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise type_error(f"{name}: expected a float (a real number), got {value!r} ({type(value).__name__})")
    return value


def positive(name: str, value: Any) -> float:
    if not real(name, value) > 0:
        raise ValueError(f"{name}: expected a number > 0, got {value}")
    return value


def nonneg(name: str, value: Any) -> float:
    if not real(name, value) >= 0:
        raise ValueError(f"{name}: expected a number >= 0, got {value}")
    return value


def in_interval(name: str, value: Any, lo: float, hi: float, *, lo_open: bool = False,
                hi_open: bool = False, type_error: type = TypeError) -> float:
    """``value`` in the interval from lo to hi, each end open or closed as asked."""
    real(name, value, type_error)
    ok_lo = value > lo if lo_open else value >= lo
    ok_hi = value < hi if hi_open else value <= hi
    if not (ok_lo and ok_hi):
        interval = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
        raise ValueError(f"{name}: expected a number in {interval}, got {value}")
    return value


def one_of(name: str, value: Any, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def per_group(name: str, value: Any, n_groups: int) -> list:
    """A scalar repeated for every param group, or a list/tuple with exactly one value per group."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_groups:
            raise ValueError(f"{name}: expected {n_groups} values (one per param group), got {len(value)}")
        return list(value)
    return [value] * n_groups


# --- optimizer hyperparameters ---

def check_betas(betas) -> tuple[float, float]:
    """Adam's ``betas``: a pair of values in [0, 1)."""
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"betas: expected a pair (beta1, beta2), got {betas!r}") from None
    in_interval("betas[0]", beta1, 0.0, 1.0, hi_open=True)
    in_interval("betas[1]", beta2, 0.0, 1.0, hi_open=True)
    return float(beta1), float(beta2)


def check_torch_only_flags(*, capturable: bool = False, differentiable: bool = False, foreach=None,
                           fused=None) -> None:
    """PyTorch's CUDA-graph and differentiable-optimizer modes, which have no meaning here; and its rule that
    ``foreach`` and ``fused`` (both accepted: the step is one fused kernel either way) are not both True."""
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
    if capturable:
        raise ValueError("capturable: expected False (CUDA-graph capture has no meaning for eigengrad's CPU "
                         "kernels), got True")
    if differentiable:
        raise ValueError("differentiable: expected False (differentiating through the optimizer step is not "
                         "supported), got True")
