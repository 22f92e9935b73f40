"""Hyperparameter checks shared by the update rules: a ValueError naming the argument and the value."""
from __future__ import annotations


def check_at_least(name: str, value: float, low: float = 0.0) -> None:
    """``value >= low`` (NaN fails)."""
    if not value >= low:
        raise ValueError(f"{name}: expected a value >= {low}, got {value}")


def check_fraction(name: str, value: float, *, inclusive_high: bool = False) -> None:
    """``0 <= value < 1`` (or ``<= 1`` when ``inclusive_high``)."""
    ok = 0.0 <= value <= 1.0 if inclusive_high else 0.0 <= value < 1.0
    if not ok:
        interval = "[0, 1]" if inclusive_high else "[0, 1)"
        raise ValueError(f"{name}: expected a value in {interval}, got {value}")


def check_betas(betas) -> tuple[float, float]:
    """Adam's ``betas``: a pair of values in [0, 1)."""
    try:
        beta1, beta2 = betas
    except (TypeError, ValueError):
        raise ValueError(f"betas: expected a pair (beta1, beta2), got {betas!r}") from None
    check_fraction("betas[0]", beta1)
    check_fraction("betas[1]", beta2)
    return float(beta1), float(beta2)


def check_torch_only_flags(*, capturable: bool = False, differentiable: bool = False) -> None:
    """PyTorch's CUDA-graph and differentiable-optimizer modes, which have no meaning here."""
    if capturable:
        raise ValueError("capturable: expected False (CUDA-graph capture has no meaning for eigengrad's CPU "
                         "kernels), got True")
    if differentiable:
        raise ValueError("differentiable: expected False (differentiating through the optimizer step is not "
                         "supported), got True")
