"""Per-layer activation statistics: what initialisation does to the signal of a deep network.

With weights too small the activations shrink towards a constant layer after layer (and the
gradients with them); too large and tanh/sigmoid units saturate; Xavier (Glorot & Bengio 2010) for
tanh and He (He et al. 2015) for ReLU keep the variance roughly constant with depth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from eigengrad.autograd import no_grad
from eigengrad.tensor import Tensor


@dataclass
class LayerStats:
    """Statistics of one layer's output over a batch."""

    name: str
    kind: str
    shape: tuple
    mean: float
    std: float
    zero_fraction: float        # exact zeros: dead ReLU units
    saturated_fraction: float   # |tanh| > 0.99, sigmoid < 0.01 or > 0.99 (0 for other layers)

    @property
    def var(self) -> float:
        return self.std ** 2


class ActivationStats(list):
    """A list of :class:`LayerStats`, input side first, that prints as a table and can plot."""

    def __str__(self) -> str:
        lines = [f"{'layer':<16}{'type':<14}{'mean':>11}{'std':>11}{'zeros':>8}{'saturated':>11}"]
        lines += [f"{s.name:<16}{s.kind:<14}{s.mean:>11.3e}{s.std:>11.3e}{s.zero_fraction:>8.1%}"
                  f"{s.saturated_fraction:>11.1%}" for s in self]
        return "\n".join(lines)

    def plot(self, ax=None):
        """Each layer's output standard deviation against depth (log scale); returns the axes."""
        from eigengrad.utils.plotting import new_axes

        ax = ax if ax is not None else new_axes("activation statistics")
        ax.plot(range(1, len(self) + 1), [s.std for s in self], marker="o")
        ax.set_yscale("log")
        ax.set_xlabel("layer")
        ax.set_ylabel("activation std")
        return ax


def activation_stats(model, x, kinds: tuple[str, ...] | None = None) -> ActivationStats:
    """Run ``model(x)`` without gradients and report each leaf module's output mean, standard deviation,
    share of zeros and share of saturated units, in forward order.

    ``kinds`` keeps only modules of those class names (e.g. ``("Tanh", "ReLU")`` for the activations);
    default: every leaf module. The model's mode (train/eval) is used as it is.
    """
    stats = ActivationStats()
    handles = []
    for name, module in model.named_modules():
        if next(module.children(), None) is not None:
            continue  # containers: their leaves report
        kind = type(module).__name__
        if kinds is not None and kind not in kinds:
            continue
        handles.append(module.register_forward_hook(_recorder(stats, name or kind, kind)))
    try:
        with no_grad():
            model(x if isinstance(x, Tensor) else Tensor._wrap(np.asarray(x)))
    finally:
        for h in handles:
            h.remove()
    return stats


def _recorder(stats: ActivationStats, name: str, kind: str):
    def hook(module, inputs, output):
        out = output._data if isinstance(output, Tensor) else np.asarray(output)
        a = out.astype(np.float64, copy=False)
        stats.append(LayerStats(name, kind, tuple(out.shape), float(a.mean()) if a.size else float("nan"),
                                float(a.std()) if a.size else float("nan"),
                                float(np.mean(a == 0)) if a.size else 0.0, _saturated(kind, a)))
    return hook


def _saturated(kind: str, a: np.ndarray) -> float:
    if a.size == 0:
        return 0.0
    if kind == "Tanh":
        return float(np.mean(np.abs(a) > 0.99))
    if kind == "Sigmoid":
        return float(np.mean((a < 0.01) | (a > 0.99)))
    return 0.0
