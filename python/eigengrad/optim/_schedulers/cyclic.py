"""Cyclical schedules that also drive momentum: ``CyclicLR`` (Smith, 2017) and ``OneCycleLR`` (Smith &
Topin, 2019). Both are closed form; the numbers equal PyTorch's exactly.

With ``cycle_momentum=True`` (the default, as PyTorch) momentum moves opposite to the learning rate:
a group's ``"momentum"`` or, for Adam-like optimizers (``"betas"`` in the optimizer's defaults), the
first beta. The optimizer must have one of them, as PyTorch requires.
"""
from __future__ import annotations

import types
from typing import Any, Callable

from eigengrad._errors import TypeValueError
from eigengrad.optim import _checks, schedules
from eigengrad.optim._schedulers.base import LRScheduler, check_optimizer, warn_get_lr_called_within_step
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
        up = float(_checks.positive("step_size_up", step_size_up))
        down = float(_checks.positive("step_size_down", step_size_down)) if step_size_down is not None else up
        # Kept as PyTorch keeps them (state_dict keys, and the same rounding of the cycle position).
        self.total_size, self.step_ratio = _cycle_shape(up, down)
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

    def _height_and_scale(self) -> tuple[float, float]:
        """The triangle's height (0 to 1) at ``last_epoch`` and the mode's amplitude scale there."""
        t = self.last_epoch
        fn, by = schedules._cyclic_scale(self.mode, self.gamma, self._scale_fn_custom, self.scale_mode)
        cycle, height = schedules._cycle_height(t, self.total_size, self.step_ratio)
        return height, fn(cycle if by == "cycle" else t)

    def get_lr(self) -> list[float]:
        warn_get_lr_called_within_step(self)
        height, scale = self._height_and_scale()
        # Operation for operation as schedules.cyclic_lr / cyclic_momentum (and PyTorch).
        lrs = [b + (m - b) * height * scale for b, m in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, b, m in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                _set_momentum(group, m - (m - b) * height * scale, self.use_beta1)
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
        """Loads PyTorch's state_dict, and eigengrad's older ones (which kept the step sizes)."""
        state = dict(state_dict)
        fn_state = state.pop("_scale_fn_custom", None)
        if "step_size_up" in state:
            state["total_size"], state["step_ratio"] = _cycle_shape(state.pop("step_size_up"),
                                                                    state.pop("step_size_down"))
        super().load_state_dict(state)
        if fn_state is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(fn_state)


def _cycle_shape(step_size_up: float, step_size_down: float) -> tuple[float, float]:
    """PyTorch's ``(total_size, step_ratio)``: a cycle's length and the fraction of it spent rising."""
    total_size = step_size_up + step_size_down
    return total_size, step_size_up / total_size


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
        if isinstance(pct_start, int) and not isinstance(pct_start, bool):  # PyTorch wants a float, even 0 or 1
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        schedules._check_one_cycle(self.total_steps, pct_start, anneal_strategy)
        # Kept as PyTorch keeps them (state_dict key), rather than pct_start and three_phase.
        self._schedule_phases = _schedule_phases(self.total_steps, pct_start, bool(three_phase))
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
        warn_get_lr_called_within_step(self)
        t = self.last_epoch
        if t > self.total_steps:
            raise ValueError(f"Tried to step {t} times. The specified number of total steps is {self.total_steps}")
        i, pct = schedules._phase_at(t, [phase["end_step"] for phase in self._schedule_phases])
        phase = self._schedule_phases[i]
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(schedules._anneal(self._anneal_func_type, group[phase["start_lr"]], group[phase["end_lr"]], pct))
            if self.cycle_momentum:
                momentum = schedules._anneal(self._anneal_func_type, group[phase["start_momentum"]],
                                             group[phase["end_momentum"]], pct)
                _set_momentum(group, momentum, self.use_beta1)
        return lrs

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Loads PyTorch's state_dict, and eigengrad's older ones (which kept pct_start and three_phase)."""
        state = dict(state_dict)
        if "pct_start" in state:
            state["_schedule_phases"] = _schedule_phases(state["total_steps"], state.pop("pct_start"),
                                                         bool(state.pop("three_phase")))
        super().load_state_dict(state)


def _schedule_phases(total_steps: int, pct_start: float, three_phase: bool) -> list[dict[str, Any]]:
    """PyTorch's ``_schedule_phases``: each phase's last step and the group keys it anneals between."""
    ends = schedules._one_cycle_ends(total_steps, pct_start, three_phase)
    lr_keys, momentum_keys = schedules._ONE_CYCLE_LR[three_phase], schedules._ONE_CYCLE_MOMENTUM[three_phase]
    return [{"end_step": end, "start_lr": f"{lr_from}_lr", "end_lr": f"{lr_to}_lr",
             "start_momentum": f"{m_from}_momentum", "end_momentum": f"{m_to}_momentum"}
            for end, (lr_from, lr_to), (m_from, m_to) in zip(ends, lr_keys, momentum_keys)]


def _total_steps(total_steps: int | None, epochs: int | None, steps_per_epoch: int | None) -> int:
    if total_steps is not None:
        return _checks.positive_int("total_steps", total_steps, TypeValueError)  # PyTorch: ValueError
    if epochs is not None and steps_per_epoch is not None:
        return (_checks.positive_int("epochs", epochs, TypeValueError)
                * _checks.positive_int("steps_per_epoch", steps_per_epoch, TypeValueError))
    raise ValueError(f"total_steps: expected total_steps, or both epochs and steps_per_epoch; got "
                     f"total_steps={total_steps}, epochs={epochs}, steps_per_epoch={steps_per_epoch}")
