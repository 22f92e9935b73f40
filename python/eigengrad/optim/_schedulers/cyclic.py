"""Cyclical schedules that also drive momentum: ``CyclicLR`` (Smith, 2017) and ``OneCycleLR`` (Smith &
Topin, 2019). Both are closed form; the numbers equal PyTorch's exactly.

With ``cycle_momentum=True`` (the default, as PyTorch) momentum moves opposite to the learning rate:
a group's ``"momentum"`` or, for Adam-like optimizers (``"betas"`` in the optimizer's defaults), the
first beta. The optimizer must have one of them, as PyTorch requires.
"""
from __future__ import annotations

import types
from typing import Any, Callable

from eigengrad.optim import _checks, schedules
from eigengrad.optim._schedulers.base import LRScheduler, check_optimizer
from eigengrad.optim.optimizer import Optimizer


def _init_momentum(optimizer: Optimizer, base_momentum, max_momentum, last_epoch: int) -> tuple[bool, list, list]:
    """Check the optimizer has momentum (or betas); record the bounds; start at ``max_momentum``.

    Returns ``(use_beta1, base_momentums, max_momentums)``.
    """
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError(f"cycle_momentum: {type(optimizer).__name__} has neither 'momentum' nor 'betas'; "
                         "pass cycle_momentum=False or use an optimizer with momentum")
    use_beta1 = "betas" in optimizer.defaults
    n = len(optimizer.param_groups)
    bases = [_checks.real("base_momentum", m) for m in _checks.per_group("base_momentum", base_momentum, n)]
    maxes = [_checks.real("max_momentum", m) for m in _checks.per_group("max_momentum", max_momentum, n)]
    if last_epoch == -1:
        for m_max, m_base, group in zip(maxes, bases, optimizer.param_groups):
            _set_momentum(group, m_max, use_beta1)
            group["max_momentum"] = m_max
            group["base_momentum"] = m_base
    return use_beta1, bases, maxes


def _set_momentum(group: dict, value: float, use_beta1: bool) -> None:
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


class CyclicLR(LRScheduler):
    r"""Cyclical learning rate between ``base_lr`` and ``max_lr`` (Smith, 2017), stepped every batch.

    See :func:`~eigengrad.optim.schedules.cyclic_lr` for the formula and the modes ``triangular``,
    ``triangular2`` and ``exp_range``; ``scale_fn`` (with ``scale_mode``) replaces the mode's scaling.
    ``base_lr`` and ``max_lr`` are one value or one per param group; the group rates are set to
    ``base_lr`` on construction (as PyTorch).
    """

    steps_per_batch = True

    def __init__(self, optimizer: Optimizer, base_lr: float | list[float], max_lr: float | list[float],
                 step_size_up: int = 2000, step_size_down: int | None = None, mode: str = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle",
                 cycle_momentum: bool = True, base_momentum: float | list[float] = 0.8,
                 max_momentum: float | list[float] = 0.9, last_epoch: int = -1) -> None:
        n = len(check_optimizer(optimizer).param_groups)
        base_lrs = _checks.per_group("base_lr", base_lr, n)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _checks.per_group("max_lr", max_lr, n)
        self.step_size_up = float(_checks.positive("step_size_up", step_size_up))
        self.step_size_down = (float(_checks.positive("step_size_down", step_size_down))
                               if step_size_down is not None else self.step_size_up)
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"scale_fn: expected a callable or None, got {type(scale_fn).__name__}")
        self.mode, self.gamma = mode, _checks.real("gamma", gamma)
        self._scale_fn_custom = scale_fn
        # Validates mode/scale_mode; a built-in mode fixes its own scale_mode (as PyTorch).
        _, self.scale_mode = schedules._cyclic_scale(mode, gamma, scale_fn, scale_mode)
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            self.use_beta1, self.base_momentums, self.max_momentums = _init_momentum(
                optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _shape(self) -> dict[str, Any]:
        return dict(step_size_up=self.step_size_up, step_size_down=self.step_size_down, mode=self.mode,
                    gamma=self.gamma, scale_fn=self._scale_fn_custom, scale_mode=self.scale_mode)

    def get_lr(self) -> list[float]:
        t, shape = self.last_epoch, self._shape()
        lrs = [schedules.cyclic_lr(t, b, m, **shape) for b, m in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, b, m in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                _set_momentum(group, schedules.cyclic_momentum(t, b, m, **shape), self.use_beta1)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """As PyTorch: a plain-function ``scale_fn`` is not saved; a callable object's ``__dict__`` is."""
        fn = self._scale_fn_custom
        try:
            self._scale_fn_custom = None
            state = super().state_dict()
        finally:
            self._scale_fn_custom = fn
        if fn is not None and not isinstance(fn, types.FunctionType):
            state["_scale_fn_custom"] = dict(fn.__dict__)
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        fn_state = state.pop("_scale_fn_custom", None)
        super().load_state_dict(state)
        if fn_state is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(fn_state)


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin, 2019), stepped every batch for ``total_steps`` steps.

    See :func:`~eigengrad.optim.schedules.one_cycle_lr`. Give ``total_steps``, or ``epochs`` and
    ``steps_per_epoch``. The groups get ``initial_lr = max_lr / div_factor``, ``max_lr`` and
    ``min_lr = initial_lr / final_div_factor`` (as PyTorch); stepping past ``total_steps`` raises.
    """

    steps_per_batch = True

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85, max_momentum: float | list[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        n = len(check_optimizer(optimizer).param_groups)
        self.total_steps = _total_steps(total_steps, epochs, steps_per_epoch)
        schedules._check_one_cycle(self.total_steps, pct_start, anneal_strategy)
        self.pct_start, self.three_phase = pct_start, bool(three_phase)
        self._anneal_func_type = anneal_strategy
        _checks.positive("div_factor", div_factor)
        _checks.positive("final_div_factor", final_div_factor)
        max_lrs = _checks.per_group("max_lr", max_lr, n)
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            self.use_beta1, _, _ = _init_momentum(optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"Tried to step {t} times. The specified number of total steps is {self.total_steps}")
        phase, pct = schedules._one_cycle_phase(t, self.total_steps, self.pct_start, self.three_phase)
        lr_from, lr_to = schedules._ONE_CYCLE_LR[self.three_phase][phase]
        m_from, m_to = schedules._ONE_CYCLE_MOMENTUM[self.three_phase][phase]
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(schedules._anneal(self._anneal_func_type, group[lr_from + "_lr"], group[lr_to + "_lr"], pct))
            if self.cycle_momentum:
                momentum = schedules._anneal(self._anneal_func_type, group[m_from + "_momentum"],
                                             group[m_to + "_momentum"], pct)
                _set_momentum(group, momentum, self.use_beta1)
        return lrs


def _total_steps(total_steps: int | None, epochs: int | None, steps_per_epoch: int | None) -> int:
    if total_steps is not None:
        return _checks.positive_int("total_steps", total_steps)
    if epochs is not None and steps_per_epoch is not None:
        return _checks.positive_int("epochs", epochs) * _checks.positive_int("steps_per_epoch", steps_per_epoch)
    raise ValueError(f"total_steps: expected total_steps, or both epochs and steps_per_epoch; got "
                     f"total_steps={total_steps}, epochs={epochs}, steps_per_epoch={steps_per_epoch}")
