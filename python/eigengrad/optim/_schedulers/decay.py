"""Monotone decays and warm-ups, chainable as PyTorch's: each step multiplies the groups' current rates.

``get_lr`` reproduces PyTorch's recursion operation by operation (that recursion is what PyTorch users
see, and it lets several schedulers on one optimizer compose by multiplication); ``_get_closed_form_lr``
is the pure function of :mod:`eigengrad.optim.schedules`, used by ``step(epoch)`` and ``SequentialLR``.
The two agree to rounding (a few ulps per step).
"""
from __future__ import annotations

import abc
import math
from collections import Counter
from typing import Iterable

from eigengrad.optim import _checks, schedules
from eigengrad.optim._schedulers.base import LRScheduler, group_values, warn_get_lr_called_within_step
from eigengrad.optim.optimizer import Optimizer


class _Chainable(LRScheduler, metaclass=abc.ABCMeta):
    """A scheduler whose step multiplies each group's rate by ``_factor()`` (1 to keep it)."""

    @abc.abstractmethod
    def _factor(self) -> float | None:
        """This step's factor, or None to keep the rates (including on the initial step where PyTorch does)."""

    @abc.abstractmethod
    def _closed_form(self, base_lr: float) -> float:
        """The rate at ``last_epoch`` from ``base_lr`` in closed form (the pure schedule function)."""

    def get_lr(self) -> list[float]:
        warn_get_lr_called_within_step(self)
        factor = self._factor()
        if factor is None:
            return group_values(self.optimizer, "lr")
        return [group["lr"] * factor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [self._closed_form(base_lr) for base_lr in self.base_lrs]


class StepLR(_Chainable):
    r"""Multiply the rate by ``gamma`` every ``step_size`` epochs: :math:`\eta_t = \eta_0 \gamma^{\lfloor t/s \rfloor}`."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = _checks.positive_whole("step_size", step_size)
        self.gamma = _checks.positive("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def _factor(self) -> float | None:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return None
        return self.gamma

    def _closed_form(self, base_lr: float) -> float:
        return schedules.step_lr(self.last_epoch, base_lr, self.step_size, self.gamma)


class MultiStepLR(_Chainable):
    r"""Multiply the rate by ``gamma`` at each milestone (a repeated milestone decays once per repeat)."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = Counter(milestones)
        for m in self.milestones:
            _checks.nonneg_int("milestones", m)
        self.gamma = _checks.positive("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def _factor(self) -> float | None:
        if self.last_epoch not in self.milestones:
            return None
        return self.gamma ** self.milestones[self.last_epoch]

    def _closed_form(self, base_lr: float) -> float:
        return schedules.multistep_lr(self.last_epoch, base_lr, self.milestones.elements(), self.gamma)


class ConstantLR(_Chainable):
    r"""Multiply the rate by ``factor`` for the first ``total_iters`` epochs, then restore it."""

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        self.factor = _checks.in_interval("factor", factor, 0.0, 1.0)
        self.total_iters = _checks.nonneg_int("total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def _factor(self) -> float | None:
        if self.last_epoch == 0:
            return self.factor
        if self.last_epoch != self.total_iters:
            return None
        return 1.0 / self.factor

    def _closed_form(self, base_lr: float) -> float:
        return schedules.constant_lr(self.last_epoch, base_lr, self.factor, self.total_iters)


class LinearLR(_Chainable):
    r"""Ramp the factor linearly from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs (warm-up)."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        self.start_factor = _checks.in_interval("start_factor", start_factor, 0.0, 1.0, lo_open=True)
        self.end_factor = _checks.in_interval("end_factor", end_factor, 0.0, 1.0)
        self.total_iters = _checks.nonneg_int("total_iters", total_iters)  # 0: start_factor throughout
        super().__init__(optimizer, last_epoch)

    def _factor(self) -> float | None:
        if self.last_epoch == 0:
            return self.start_factor
        if self._is_initial or self.last_epoch > self.total_iters:
            return None
        # The ratio of consecutive factors f(t)/f(t-1), written as PyTorch writes it.
        delta = self.end_factor - self.start_factor
        return 1.0 + delta / (self.total_iters * self.start_factor + (self.last_epoch - 1) * delta)

    def _closed_form(self, base_lr: float) -> float:
        return schedules.linear_lr(self.last_epoch, base_lr, self.start_factor, self.end_factor, self.total_iters)


class ExponentialLR(_Chainable):
    r"""Multiply the rate by ``gamma`` every epoch: :math:`\eta_t = \eta_0 \gamma^t`."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _checks.positive("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def _factor(self) -> float | None:
        return None if self._is_initial else self.gamma

    def _closed_form(self, base_lr: float) -> float:
        return schedules.exponential_lr(self.last_epoch, base_lr, self.gamma)


class InverseTimeLR(_Chainable):
    r"""Inverse-time decay :math:`\eta_t = \eta_0 / (1 + \gamma t)` (Bottou, 2012). Not in PyTorch.

    Chainable like :class:`ExponentialLR`: each step multiplies the rate by
    :math:`(1 + \gamma (t-1)) / (1 + \gamma t)`, so it composes with other schedulers by multiplication.
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _checks.nonneg("gamma", gamma)
        super().__init__(optimizer, last_epoch)

    def _factor(self) -> float | None:
        if self._is_initial:
            return None
        return (1 + self.gamma * (self.last_epoch - 1)) / (1 + self.gamma * self.last_epoch)

    def _closed_form(self, base_lr: float) -> float:
        return schedules.inverse_time_lr(self.last_epoch, base_lr, self.gamma)


class NaturalExpLR(_Chainable):
    r"""Natural exponential decay :math:`\eta_t = \eta_0 e^{-k t}`: :class:`ExponentialLR` with
    :math:`\gamma = e^{-k}`, parameterised by the rate ``k``. Not in PyTorch. Chainable."""

    def __init__(self, optimizer: Optimizer, k: float, last_epoch: int = -1) -> None:
        self.k = _checks.nonneg("k", k)
        super().__init__(optimizer, last_epoch)

    def _factor(self) -> float | None:
        return None if self._is_initial else math.exp(-self.k)

    def _closed_form(self, base_lr: float) -> float:
        return schedules.natural_exp_lr(self.last_epoch, base_lr, self.k)


class PolynomialLR(_Chainable):
    r"""Decay to zero over ``total_iters`` epochs: :math:`\eta_t = \eta_0 (1 - \min(t,T)/T)^p`."""

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        self.total_iters = _checks.positive_int("total_iters", total_iters)
        self.power = _checks.real("power", power)
        super().__init__(optimizer, last_epoch)

    def _factor(self) -> float | None:
        if self._is_initial or self.last_epoch > self.total_iters:
            return None
        t, total = self.last_epoch, self.total_iters
        return ((1.0 - t / total) / (1.0 - (t - 1) / total)) ** self.power

    def _closed_form(self, base_lr: float) -> float:
        return schedules.polynomial_lr(self.last_epoch, base_lr, self.total_iters, self.power)
