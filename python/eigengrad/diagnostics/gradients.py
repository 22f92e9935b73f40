"""GradientMonitor: per-layer gradient norms and update-to-weight ratios, with warnings when gradients
vanish or explode (the problem of deep sigmoid networks: Hochreiter 1991; Bengio, Simard & Frasconi
1994; Glorot & Bengio 2010).

For each weight matrix W_l (layer l, counted from the input) the monitor records

    g_l = ||dL/dW_l||_2 / sqrt(numel(W_l))      the gradient's RMS, comparable across layer sizes
    u_l = ||W_l(after step) - W_l(before)||_2 / ||W_l(before)||_2      the update-to-weight ratio

Gradients originate at the output, so each layer is compared with the output layer L:
``g_l / g_L < vanishing_ratio`` flags vanishing gradients (the early layers do not learn),
``g_l / g_L > exploding_ratio`` or a non-finite norm flags exploding ones. A healthy ``u_l`` is around
1e-3 (Karpathy's rule of thumb): far below, the layer is frozen in practice; far above, the learning
rate is too large.
"""
from __future__ import annotations

import logging
import math
import warnings

import numpy as np

from eigengrad import _kernels as K
from eigengrad.train.callbacks.base import Callback

logger = logging.getLogger("eigengrad.diagnostics")


class GradientWarning(UserWarning):
    """Gradients are vanishing or exploding."""


class GradientMonitor(Callback):
    """Record per-layer gradient norms and update-to-weight ratios; warn when gradients vanish or explode.

    As a callback of ``eg.train.fit`` it records every ``every_n_steps`` steps. By hand::

        monitor = GradientMonitor(model)
        loss.backward(); monitor.record_gradients(); opt.step(); monitor.record_updates()

    Args:
        model: the module (taken from the trainer when used as a callback).
        every_n_steps: record one step in this many (a record copies the weights, for the update ratio).
        vanishing_ratio, exploding_ratio: thresholds of a layer's gradient RMS relative to the output
            layer's (see the module docstring).
        params: ``"weights"`` (parameters with 2 or more dimensions, default) or ``"all"``.
        warn: the first flag of each kind is a :class:`GradientWarning` (False: a logging warning);
            every flagged step is recorded in ``flags`` (and logged at debug level).

    After training: ``steps``, ``grad_norms[name]``, ``grad_rms[name]``, ``update_ratios[name]``
    (lists, one value per recorded step), ``flags`` (``(step, "vanishing"|"exploding", [layers])``),
    :meth:`summary` and :meth:`plot`.
    """

    def __init__(self, model=None, every_n_steps: int = 1, vanishing_ratio: float = 1e-3,
                 exploding_ratio: float = 1e3, params: str = "weights", warn: bool = True) -> None:
        if not isinstance(every_n_steps, int) or every_n_steps < 1:
            raise ValueError(f"every_n_steps: expected a positive int, got {every_n_steps!r}")
        if not 0 < vanishing_ratio < 1 < exploding_ratio:
            raise ValueError(f"vanishing_ratio, exploding_ratio: expected 0 < vanishing_ratio < 1 < exploding_ratio, "
                             f"got {vanishing_ratio!r}, {exploding_ratio!r}")
        if params not in ("weights", "all"):
            raise ValueError(f"params: expected 'weights' or 'all', got {params!r}")
        self.model, self.every_n_steps, self.params, self.warn = model, every_n_steps, params, warn
        self.vanishing_ratio, self.exploding_ratio = vanishing_ratio, exploding_ratio
        self.steps: list[int] = []
        self.grad_norms: dict[str, list[float]] = {}
        self.grad_rms: dict[str, list[float]] = {}
        self.update_ratios: dict[str, list[float]] = {}
        self.flags: list[tuple[int, str, list[str]]] = []
        self._warned: set[str] = set()
        self._before: list[tuple[str, object, np.ndarray]] | None = None  # (name, parameter, its values)
        self._step = 0

    # --- recording --------------------------------------------------------------------------------
    def tracked(self) -> list[tuple[str, object]]:
        """The monitored ``(name, parameter)`` pairs, input side first."""
        if self.model is None:
            raise ValueError("model: GradientMonitor needs a model (pass it, or use it as a fit callback)")
        return [(n, p) for n, p in self.model.named_parameters()
                if p.requires_grad and (self.params == "all" or p.ndim >= 2)]

    def record_gradients(self) -> None:
        """Record the current gradients (call after ``backward()``) and check them."""
        tracked = self.tracked()
        self.steps.append(self._step)
        for name, p in tracked:
            norm = _norm(p.grad._data) if p.grad is not None else 0.0
            self.grad_norms.setdefault(name, []).append(norm)
            self.grad_rms.setdefault(name, []).append(norm / math.sqrt(max(p.numel(), 1)))
        self._before = [(name, p, np.array(p._data, copy=True)) for name, p in tracked]
        self._check([name for name, _ in tracked])

    def record_updates(self) -> None:
        """Record ``||W_new - W_old|| / ||W_old||`` for the step just taken (after ``optimizer.step()``)."""
        if self._before is None:
            return
        for name, p, old in self._before:
            denom, diff = _norm(old), _norm(p._data - old)
            self.update_ratios.setdefault(name, []).append(diff / denom if denom > 0 else math.inf)
        self._before = None

    def _check(self, names: list[str]) -> None:
        if not names:
            return
        rms = np.array([self.grad_rms[n][-1] for n in names])
        out = rms[-1]
        if not np.all(np.isfinite(rms)):
            self._flag("exploding", [n for n, r in zip(names, rms) if not math.isfinite(r)], "non-finite gradients")
            return
        if out == 0:
            return
        ratio = rms / out
        vanishing = [n for n, r in zip(names, ratio) if r < self.vanishing_ratio]
        exploding = [n for n, r in zip(names, ratio) if r > self.exploding_ratio]
        if vanishing:
            self._flag("vanishing", vanishing, f"gradient RMS down to {ratio.min():.1e} of the output layer's")
        if exploding:
            self._flag("exploding", exploding, f"gradient RMS up to {ratio.max():.1e} times the output layer's")

    def _flag(self, kind: str, layers: list[str], detail: str) -> None:
        self.flags.append((self._step, kind, layers))
        message = (f"{kind} gradients at step {self._step}: {detail} in {len(layers)} layer(s) "
                   f"({', '.join(layers[:4])}{', ...' if len(layers) > 4 else ''})")
        logger.debug(message)
        if kind in self._warned:
            return  # once per kind: every flagged step is in ``flags``
        self._warned.add(kind)
        if self.warn:
            warnings.warn(message, GradientWarning, stacklevel=3)
        else:
            logger.warning(message)

    def flagged(self, kind: str) -> bool:
        """Whether any recorded step was flagged ``"vanishing"`` or ``"exploding"``."""
        return any(k == kind for _, k, _ in self.flags)

    # --- as a fit callback ------------------------------------------------------------------------
    def on_train_begin(self, trainer) -> None:
        if self.model is None:
            self.model = trainer.model

    def on_after_backward(self, trainer) -> None:
        self._step = trainer.global_step
        if self._step % self.every_n_steps == 0:
            self.record_gradients()

    def on_after_step(self, trainer) -> None:
        self.record_updates()

    # --- reporting --------------------------------------------------------------------------------
    def summary(self) -> str:
        """A table: per layer, the last gradient norm and RMS, its ratio to the output layer's, and the
        median update-to-weight ratio."""
        names = list(self.grad_rms)
        if not names:
            return "GradientMonitor: nothing recorded yet"
        out = self.grad_rms[names[-1]][-1]
        lines = [f"{'layer':<24}{'grad norm':>12}{'grad RMS':>12}{'/ output':>12}{'update/weight':>15}"]
        for n in names:
            ratio = self.grad_rms[n][-1] / out if out else math.nan
            upd = float(np.median(self.update_ratios[n])) if self.update_ratios.get(n) else math.nan
            lines.append(f"{n:<24}{self.grad_norms[n][-1]:>12.3e}{self.grad_rms[n][-1]:>12.3e}{ratio:>12.3e}"
                         f"{upd:>15.3e}")
        return "\n".join(lines)

    def plot(self, axes=None):
        """Gradient RMS per layer (left) and update-to-weight ratios (right) over the recorded steps, on
        log scales; returns the two matplotlib axes."""
        from eigengrad.utils.plotting import new_axes

        axes = axes if axes is not None else new_axes("gradient statistics", ncols=2, figsize=(11, 4))
        for n, values in self.grad_rms.items():
            axes[0].plot(self.steps[: len(values)], values, label=n)
        for n, values in self.update_ratios.items():
            axes[1].plot(self.steps[: len(values)], values, label=n)
        for ax, title in zip(axes, ("gradient RMS", "update / weight")):
            ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.set_title(title)
        axes[1].legend(fontsize="small")
        return axes


def _norm(a: np.ndarray) -> float:
    """The 2-norm of ``a``, summed in double by the clipping kernel (no float64 copy)."""
    return float(K.grad_norm([K.contiguous(a)], 2.0))
