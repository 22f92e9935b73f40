"""Cosine annealing (chainable, as PyTorch's) and SGDR warm restarts (closed form).

Loshchilov & Hutter (2017), "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR.
"""
from __future__ import annotations

import math

from eigengrad._errors import TypeValueError
from eigengrad.optim import _checks, schedules
from eigengrad.optim._schedulers.base import (
    LRScheduler, get_lr_within_step, group_values, warn_get_lr_called_within_step,
)
from eigengrad.optim.optimizer import Optimizer


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from the base rate to ``eta_min`` over ``T_max`` epochs.

    .. math:: \eta_t = \eta_{min} + \tfrac12 (\eta_0 - \eta_{min})(1 + \cos(\pi t / T_{max}))

    As PyTorch, each step computes the rate recursively from the group's current rate,

    .. math:: \eta_t = \eta_{min} + (\eta_{t-1} - \eta_{min})
              \frac{1 + \cos(\pi t / T_{max})}{1 + \cos(\pi (t-1) / T_{max})},

    (with an additive step where the denominator vanishes, past ``T_max``), so changes made to the
    rate by other schedulers persist; the numbers equal PyTorch's exactly and the closed form
    (:func:`~eigengrad.optim.schedules.cosine_annealing_lr`) to rounding.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = _checks.positive("T_max", T_max)
        self.eta_min = _checks.real("eta_min", eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_called_within_step(self)
        groups, t, T, eta_min = self.optimizer.param_groups, self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return group_values(self.optimizer, "lr")
        if self._step_count == 1 and t > 0:  # first step after resuming: closed form, as PyTorch
            return self._get_closed_form_lr()
        if (t - 1 - T) % (2 * T) == 0:  # leaving the trough: 1 + cos(pi (t-1)/T) is 0
            return [g["lr"] + (b - eta_min) * (1 - math.cos(math.pi / T)) / 2 for b, g in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (g["lr"] - eta_min) + eta_min for g in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [schedules.cosine_annealing_lr(self.last_epoch, b, self.T_max, self.eta_min) for b in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""SGDR: cosine annealing restarted every period, periods growing by ``T_mult``.

    .. math:: \eta_t = \eta_{min} + \tfrac12 (\eta_0 - \eta_{min})(1 + \cos(\pi T_{cur} / T_i)),
              \quad T_i = T_0 T_{mult}^i

    ``step()`` advances one epoch; ``step(epoch)`` accepts a fractional epoch (e.g.
    ``epoch + i / iters_per_epoch`` to anneal within epochs, as in the paper).
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        # PyTorch raises ValueError for a float T_0/T_mult or a str eta_min: TypeValueError is both
        self.T_0 = _checks.positive_int("T_0", T_0, TypeValueError)
        self.T_i = T_0
        self.T_mult = _checks.positive_int("T_mult", T_mult, TypeValueError)
        self.eta_min = _checks.real("eta_min", eta_min, TypeValueError)
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_called_within_step(self)
        return [self.eta_min + (b - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for b in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance one epoch, or (``epoch`` given) jump to that possibly fractional epoch."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            _checks.real("epoch", epoch)
            if epoch < 0:
                raise ValueError(f"epoch: expected a non-negative epoch, got {epoch}")
            # Exact period search (PyTorch uses a floating-point log, which misplaces some restarts).
            self.T_cur, self.T_i = schedules._restart_position(epoch, self.T_0, self.T_mult)
        self.last_epoch = math.floor(epoch)
        with get_lr_within_step(self):  # (this step() does not go through _update_lr)
            values = self.get_lr()
        self._set_lrs(values)
