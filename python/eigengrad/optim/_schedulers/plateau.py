r"""``ReduceLROnPlateau``: cut the learning rate when a metric stops improving, alone or on top of a schedule.

Alone, it behaves exactly as PyTorch's: ``step(metric)`` multiplies each group's rate by ``factor``
(not below ``min_lr``) once the metric has not improved for ``patience`` steps.

Composed, it is a multiplicative factor it owns, applied on top of whatever the other schedulers set.
Put it in a :class:`ChainedScheduler` and pass the metric to the chain's ``step``::

    cosine = CosineAnnealingLR(opt, T_max=100)
    plateau = ReduceLROnPlateau(opt, factor=0.5, patience=5)
    sched = ChainedScheduler([cosine, plateau])
    for epoch in range(100):
        train(...)
        sched.step(val_loss)        # lr = cosine(epoch) * 0.5 ** (number of plateaus so far)

Each group's rate is then :math:`\max(\eta^{s}_t \cdot s_i, \min(\eta^{s}_t, \eta_{min,i}))`, where
:math:`\eta^{s}_t` is the rate the other schedulers set and :math:`s_i` (``scales[i]``) starts at 1 and
is multiplied by ``factor`` at each plateau, unless that lowers the rate by no more than ``eps``: the
plateau never takes the rate below ``min_lr``, and never raises a rate the schedule itself put below
``min_lr``. Before the other schedulers step, the chain gives them back the rates they set
(:meth:`_remove_factor`), so every schedule, chainable or closed form, runs exactly as it would alone.
In a :class:`SequentialLR` it is one phase: from its milestone on, it starts again from the initial
rates and reduces them as it does alone.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, SupportsFloat

from eigengrad.optim import _checks
from eigengrad.optim._schedulers.base import EPOCH_DEPRECATION_WARNING, LRScheduler, check_optimizer, group_values
from eigengrad.optim.optimizer import Optimizer


class ReduceLROnPlateau(LRScheduler):
    """Reduce the learning rate by ``factor`` when the metric has stopped improving (PyTorch's semantics).

    Args:
        mode: ``'min'`` (the metric should decrease, e.g. a loss) or ``'max'`` (e.g. an accuracy).
        factor: multiplier of the rate at each reduction, in [0, 1).
        patience: number of steps without improvement tolerated before reducing.
        threshold, threshold_mode: an improvement is ``a < best * (1 - threshold)`` (``'rel'``) or
            ``a < best - threshold`` (``'abs'``), mirrored for ``'max'``.
        cooldown: steps after a reduction during which bad steps are not counted.
        min_lr: lower bound of the rate, one value or one per param group.
        eps: a reduction smaller than ``eps`` is skipped.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | list[float] = 0, eps: float = 1e-8) -> None:
        self.factor = _checks.in_interval("factor", factor, 0.0, 1.0, hi_open=True)
        self.optimizer = check_optimizer(optimizer)
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            self.default_min_lr = None
            self.min_lrs = _checks.per_group("min_lr", min_lr, n)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * n
        for m in self.min_lrs:
            _checks.nonneg("min_lr", m)
        self.patience = _checks.nonneg_int("patience", patience)
        self.cooldown = _checks.nonneg_int("cooldown", cooldown)
        self.eps = _checks.nonneg("eps", eps)
        self.last_epoch = 0
        self._last_lr = group_values(optimizer, "lr")
        self._init_is_better(mode=mode, threshold=threshold, threshold_mode=threshold_mode)
        self._reset()
        self.scales = [1.0] * n  # the factor applied on top of other schedulers (composed use)
        self._schedule_lrs: list[float] | None = None  # the rates they set, before the factor

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    # --- alone (PyTorch) --------------------------------------------------------------------------
    def step(self, metrics: SupportsFloat, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record the metric of this epoch; reduce the groups' rates in place after a plateau."""
        current = float(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._observe(current):
            self._reduce_lr()
        self._last_lr = group_values(self.optimizer, "lr")

    def _observe(self, current: float) -> bool:
        """Update best / bad-epoch / cooldown counters; True when the rate should be reduced now."""
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during cooldown are ignored
        if self.num_bad_epochs > self.patience:
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
            return True
        return False

    def _current_min_lrs(self) -> list[float]:
        n = len(self.optimizer.param_groups)
        if n != len(self.min_lrs):
            if self.default_min_lr is None:
                raise RuntimeError(f"min_lr: the optimizer has {n} param groups, {len(self.min_lrs)} when "
                                   "ReduceLROnPlateau was built (a group was added?); set `min_lrs` to match")
            self.min_lrs = [self.default_min_lr] * n
        return self.min_lrs

    def _reduce_lr(self) -> None:
        for group, min_lr in zip(self.optimizer.param_groups, self._current_min_lrs()):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min" and self.threshold_mode == "abs":
            return a < best - self.threshold
        if self.mode == "max" and self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        self.mode = _checks.one_of("mode", mode, ("min", "max"))
        self.threshold_mode = _checks.one_of("threshold_mode", threshold_mode, ("rel", "abs"))
        self.threshold = _checks.nonneg("threshold", threshold)
        self.mode_worse = math.inf if mode == "min" else -math.inf

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._init_is_better(mode=self.mode, threshold=self.threshold, threshold_mode=self.threshold_mode)

    # --- composed (ChainedScheduler, SequentialLR) ------------------------------------------------
    def _remove_factor(self) -> None:
        """Give the groups back the rates the other schedulers set, before they step again."""
        if self._schedule_lrs is not None:
            for group, lr in zip(self.optimizer.param_groups, self._schedule_lrs):
                group["lr"] = lr

    def _apply_factor(self, metrics: SupportsFloat) -> None:
        """Record the metric; set each rate to the schedule's rate times this scheduler's factor."""
        current = float(metrics)
        self.last_epoch += 1
        self._schedule_lrs = group_values(self.optimizer, "lr")
        min_lrs = self._current_min_lrs()
        if self._observe(current):
            for i, (lr, min_lr) in enumerate(zip(self._schedule_lrs, min_lrs)):
                old, new = _floored(lr, self.scales[i], min_lr), _floored(lr, self.scales[i] * self.factor, min_lr)
                if old - new > self.eps:
                    self.scales = self.scales[:i] + [self.scales[i] * self.factor] + self.scales[i + 1:]
        for group, lr, scale, min_lr in zip(self.optimizer.param_groups, self._schedule_lrs, self.scales, min_lrs):
            group["lr"] = _floored(lr, scale, min_lr)
        self._last_lr = group_values(self.optimizer, "lr")

    def _restart(self) -> None:
        """Start as a phase of SequentialLR: the groups' initial rates, fresh counters."""
        for group in self.optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._reset()
        self._last_lr = group_values(self.optimizer, "lr")

    def _initial_step(self) -> None:  # SequentialLR starts its first phase with this
        self._restart()


def _floored(schedule_lr: float, scale: float, min_lr: float) -> float:
    """The schedule's rate times the plateau scale, not pushed below min_lr by the scale."""
    return max(schedule_lr * scale, min(schedule_lr, min_lr))
