r"""Learning-rate schedules as pure functions of the step: ``lr = f(t, base_lr, ...)``.

Each function is the closed form of one schedule, usable on its own (to plot a schedule, or to drive a
learning rate by hand) and used by the stateful schedulers in :mod:`eigengrad.optim.lr_scheduler`.
``step`` is the scheduler's epoch counter ``t`` (``last_epoch``): 0 for the learning rate set when the
scheduler is built, then 1, 2, ... after each ``scheduler.step()``.

The arithmetic follows ``torch.optim.lr_scheduler``'s closed forms operation by operation, so where
PyTorch computes a schedule in closed form the results are bitwise equal. Where PyTorch computes it
recursively from the previous learning rate (its "chainable" schedulers) the closed form here differs
from PyTorch's numbers by rounding only (about ``t`` ulps after ``t`` steps); the stateful classes
reproduce the recursion itself.

    >>> from eigengrad.optim import schedules
    >>> [round(schedules.cosine_annealing_lr(t, 0.1, T_max=4), 4) for t in range(5)]
    [0.1, 0.0854, 0.05, 0.0146, 0.0]
"""
from __future__ import annotations

import math
from bisect import bisect_right
from typing import Callable, Iterable

from eigengrad._errors import TypeValueError
from eigengrad.optim import _checks

__all__ = [
    "step_lr", "multistep_lr", "constant_lr", "linear_lr", "exponential_lr", "inverse_time_lr", "natural_exp_lr",
    "polynomial_lr", "cosine_annealing_lr", "cosine_warm_restarts_lr", "cyclic_lr", "cyclic_momentum",
    "one_cycle_lr", "one_cycle_momentum",
]


def _step(step: float) -> float:
    _checks.real("step", step)
    if step < 0:
        raise ValueError(f"step: expected a step >= 0, got {step}")
    return step


# --- decays ----------------------------------------------------------------------------------------
def step_lr(step: int, base_lr: float, step_size: int, gamma: float = 0.1) -> float:
    r"""Step decay: :math:`\eta_t = \eta_0 \gamma^{\lfloor t / s \rfloor}` (``s = step_size``).

    The classic schedule of Krizhevsky et al. (2012) and He et al. (2016): divide the rate by a
    constant every ``step_size`` epochs.
    """
    _checks.positive_int("step_size", step_size)
    _checks.positive("gamma", gamma)
    return base_lr * gamma ** (_step(step) // step_size)


def multistep_lr(step: int, base_lr: float, milestones: Iterable[int], gamma: float = 0.1) -> float:
    r"""Piecewise-constant decay: :math:`\eta_t = \eta_0 \gamma^{|\{m \in M : m \le t\}|}`.

    ``milestones`` may repeat a step, which then counts (decays) as many times as it appears.
    """
    _checks.positive("gamma", gamma)
    return base_lr * gamma ** bisect_right(sorted(milestones), _step(step))


def constant_lr(step: int, base_lr: float, factor: float = 1.0 / 3, total_iters: int = 5) -> float:
    r"""Constant warm-up: :math:`\eta_t = \eta_0 f` for :math:`t < T`, then :math:`\eta_0`."""
    _checks.in_interval("factor", factor, 0.0, 1.0)
    _checks.nonneg_int("total_iters", total_iters)
    return base_lr * (factor + (_step(step) >= total_iters) * (1 - factor))


def linear_lr(step: int, base_lr: float, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
              total_iters: int = 5) -> float:
    r"""Linear ramp of the factor: :math:`\eta_t = \eta_0 (f_0 + (f_1 - f_0) \min(t, T) / T)`.

    With ``start_factor < end_factor`` it is the linear warm-up of Goyal et al. (2017), "Accurate,
    Large Minibatch SGD: Training ImageNet in 1 Hour".
    """
    _checks.in_interval("start_factor", start_factor, 0.0, 1.0, lo_open=True)
    _checks.in_interval("end_factor", end_factor, 0.0, 1.0)
    if _checks.nonneg_int("total_iters", total_iters) == 0:  # no ramp: the start factor, as PyTorch's recursion
        return base_lr * start_factor
    return base_lr * (start_factor + (end_factor - start_factor) * min(total_iters, _step(step)) / total_iters)


def exponential_lr(step: int, base_lr: float, gamma: float) -> float:
    r"""Exponential decay: :math:`\eta_t = \eta_0 \gamma^t`."""
    _checks.positive("gamma", gamma)
    return base_lr * gamma ** _step(step)


def inverse_time_lr(step: int, base_lr: float, gamma: float) -> float:
    r"""Inverse-time decay: :math:`\eta_t = \eta_0 / (1 + \gamma t)`.

    The :math:`O(1/t)` rate of stochastic approximation (Robbins & Monro, 1951), in the form
    :math:`\eta_0 / (1 + \lambda \eta_0 t)` recommended by Bottou (2012), "Stochastic Gradient
    Descent Tricks" (with :math:`\gamma = \lambda \eta_0`). Not in PyTorch.
    """
    _checks.nonneg("gamma", gamma)
    return base_lr / (1 + gamma * _step(step))


def natural_exp_lr(step: int, base_lr: float, k: float) -> float:
    r"""Natural exponential decay: :math:`\eta_t = \eta_0 e^{-k t}` (TensorFlow's ``natural_exp_decay``).

    The same curve as :func:`exponential_lr` with :math:`\gamma = e^{-k}`, parameterised by the
    decay rate. Not in PyTorch.
    """
    _checks.nonneg("k", k)
    return base_lr * math.exp(-k * _step(step))


def polynomial_lr(step: int, base_lr: float, total_iters: int = 5, power: float = 1.0) -> float:
    r"""Polynomial ("poly") decay to zero: :math:`\eta_t = \eta_0 (1 - \min(t, T)/T)^p`.

    The "poly" policy of Chen et al. (2017), DeepLab (``power=0.9`` there).
    """
    _checks.positive_int("total_iters", total_iters)
    _checks.real("power", power)
    return base_lr * (1.0 - min(total_iters, _step(step)) / total_iters) ** power


# --- cosine ----------------------------------------------------------------------------------------
def cosine_annealing_lr(step: float, base_lr: float, T_max: int, eta_min: float = 0.0) -> float:
    r"""Cosine annealing: :math:`\eta_t = \eta_{min} + \tfrac12 (\eta_0 - \eta_{min})(1 + \cos(\pi t / T_{max}))`.

    Loshchilov & Hutter (2017), "SGDR: Stochastic Gradient Descent with Warm Restarts", without the
    restarts. Past ``T_max`` the cosine continues (the rate rises again after ``T_max``, as in PyTorch).
    """
    _checks.positive("T_max", T_max)
    _checks.real("eta_min", eta_min)
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * _step(step) / T_max)) / 2


def _restart_position(step: float, T_0: int, T_mult: int) -> tuple[float, int]:
    """``(T_cur, T_i)``: the step within the current SGDR period and that period's length.

    The periods are T_0, T_0 T_mult, T_0 T_mult^2, ...; subtracting them one by one (exact for floats
    below 2^52) avoids the floating-point ``log`` that puts some restart steps in the wrong period.
    """
    if T_mult == 1:
        return step % T_0, T_0
    T_cur, T_i = step, T_0
    while T_cur >= T_i:
        T_cur -= T_i
        T_i *= T_mult
    return T_cur, T_i


def cosine_warm_restarts_lr(step: float, base_lr: float, T_0: int, T_mult: int = 1,
                            eta_min: float = 0.0) -> float:
    r"""SGDR: cosine annealing restarted at the start of each period.

    .. math::
        \eta_t = \eta_{min} + \tfrac12 (\eta_0 - \eta_{min})\left(1 + \cos\left(\pi \frac{T_{cur}}{T_i}\right)\right)

    where period ``i`` lasts :math:`T_i = T_0 T_{mult}^i` steps and :math:`T_{cur}` counts the steps
    (possibly fractional) since the last restart. Loshchilov & Hutter (2017), "SGDR: Stochastic
    Gradient Descent with Warm Restarts", ICLR.
    """
    _checks.positive_int("T_0", T_0)
    _checks.positive_int("T_mult", T_mult)
    _checks.real("eta_min", eta_min)
    T_cur, T_i = _restart_position(_step(step), T_0, T_mult)
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * T_cur / T_i)) / 2


# --- cyclical --------------------------------------------------------------------------------------
def _cycle_position(step: float, step_size_up: float, step_size_down: float | None) -> tuple[int, float]:
    """``(cycle, height)``: the 1-based cycle of ``step`` and the triangle's height there, in [0, 1]."""
    up = float(_checks.positive("step_size_up", step_size_up))
    down = float(_checks.positive("step_size_down", step_size_down)) if step_size_down is not None else up
    total = up + down
    return _cycle_height(step, total, up / total)


def _cycle_height(step: float, total_size: float, step_ratio: float) -> tuple[int, float]:
    """:func:`_cycle_position` from a cycle's length and the fraction of it spent rising (the form
    ``CyclicLR`` keeps, as PyTorch's ``total_size`` and ``step_ratio``)."""
    cycle = math.floor(1 + step / total_size)
    x = 1.0 + step / total_size - cycle
    return cycle, (x / step_ratio if x <= step_ratio else (x - 1) / (step_ratio - 1))


def _cyclic_scale(mode: str, gamma: float, scale_fn: Callable[[float], float] | None,
                  scale_mode: str) -> tuple[Callable[[float], float], str]:
    """The amplitude scaling ``(fn, 'cycle' | 'iterations')`` of a mode, or the user's ``scale_fn``."""
    if scale_fn is not None:
        return scale_fn, _checks.one_of("scale_mode", scale_mode, ("cycle", "iterations"))
    _checks.one_of("mode", mode, ("triangular", "triangular2", "exp_range"))
    if mode == "triangular":
        return (lambda x: 1.0), "cycle"
    if mode == "triangular2":
        return (lambda x: 1 / (2.0 ** (x - 1))), "cycle"
    return (lambda x: gamma ** x), "iterations"


def cyclic_lr(step: int, base_lr: float, max_lr: float, step_size_up: int = 2000,
              step_size_down: int | None = None, mode: str = "triangular", gamma: float = 1.0,
              scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle") -> float:
    r"""Cyclical learning rate: a triangle between ``base_lr`` and ``max_lr``, amplitude scaled.

    .. math::
        \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, h(t)\, s(c \text{ or } t)

    with :math:`h` rising linearly from 0 to 1 over ``step_size_up`` steps and back over
    ``step_size_down`` (default: the same), :math:`c` the 1-based cycle and :math:`s` the mode's scaling:
    ``triangular`` 1, ``triangular2`` :math:`2^{-(c-1)}` (halved every cycle), ``exp_range``
    :math:`\gamma^t` (per iteration); or ``scale_fn`` of the cycle or of the step (``scale_mode``).
    Smith (2017), "Cyclical Learning Rates for Training Neural Networks", WACV.
    """
    fn, by = _cyclic_scale(mode, gamma, scale_fn, scale_mode)
    cycle, height = _cycle_position(_step(step), step_size_up, step_size_down)
    base_height = (max_lr - base_lr) * height
    return base_lr + base_height * fn(cycle if by == "cycle" else step)


def cyclic_momentum(step: int, base_momentum: float, max_momentum: float, step_size_up: int = 2000,
                    step_size_down: int | None = None, mode: str = "triangular", gamma: float = 1.0,
                    scale_fn: Callable[[float], float] | None = None, scale_mode: str = "cycle") -> float:
    r"""The momentum that goes with :func:`cyclic_lr`: the same triangle, inverted.

    :math:`\mu_t = \mu_{max} - (\mu_{max} - \mu_{base})\, h(t)\, s(\cdot)`: momentum is lowest when
    the learning rate is highest (Smith, 2018, "A disciplined approach to neural network
    hyper-parameters: Part 1").
    """
    fn, by = _cyclic_scale(mode, gamma, scale_fn, scale_mode)
    cycle, height = _cycle_position(_step(step), step_size_up, step_size_down)
    base_height = (max_momentum - base_momentum) * height
    return max_momentum - base_height * fn(cycle if by == "cycle" else step)


# --- one cycle -------------------------------------------------------------------------------------
# Which end values each phase anneals between: learning rate ("initial", "max", "min") and momentum.
_ONE_CYCLE_LR = {False: (("initial", "max"), ("max", "min")),
                 True: (("initial", "max"), ("max", "initial"), ("initial", "min"))}
_ONE_CYCLE_MOMENTUM = {False: (("max", "base"), ("base", "max")),
                       True: (("max", "base"), ("base", "max"), ("max", "max"))}


def _one_cycle_ends(total_steps: int, pct_start: float, three_phase: bool) -> list[float]:
    """The last step of each phase (PyTorch's phase boundaries, with its types: the last is an int)."""
    ends = [float(pct_start * total_steps) - 1]
    if three_phase:
        ends.append(float(2 * pct_start * total_steps) - 2)
    ends.append(total_steps - 1)
    return ends


def _one_cycle_phase(step: float, total_steps: int, pct_start: float, three_phase: bool) -> tuple[int, float]:
    """``(phase, pct)``: the phase of ``step`` and how far through it (PyTorch's phase boundaries)."""
    return _phase_at(step, _one_cycle_ends(total_steps, pct_start, three_phase))


def _phase_at(step: float, ends: list[float]) -> tuple[int, float]:
    """``(phase, pct)`` of ``step`` given each phase's last step; the last phase takes any later step."""
    start = 0.0
    for i, end in enumerate(ends):
        if step <= end or i == len(ends) - 1:
            return i, (step - start) / (end - start)
        start = end
    raise AssertionError("unreachable")


def _anneal(strategy: str, start: float, end: float, pct: float) -> float:
    """Cosine (``'cos'``) or linear interpolation from ``start`` (pct 0) to ``end`` (pct 1)."""
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def _check_one_cycle(total_steps: int, pct_start: float, anneal_strategy: str) -> None:
    _checks.positive_int("total_steps", total_steps)
    _checks.in_interval("pct_start", pct_start, 0.0, 1.0, type_error=TypeValueError)  # PyTorch: ValueError
    _checks.one_of("anneal_strategy", anneal_strategy, ("cos", "linear"))


def one_cycle_lr(step: int, max_lr: float, total_steps: int, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False) -> float:
    r"""1cycle policy: warm up from :math:`\eta_{max}/d` to :math:`\eta_{max}`, then anneal to
    :math:`\eta_{max}/(d\, d_f)`.

    The first phase lasts ``pct_start * total_steps`` steps; annealing is cosine
    (:math:`\eta = b + \tfrac12 (a - b)(1 + \cos \pi p)` from a to b) or linear. With ``three_phase``
    the rate goes back down to :math:`\eta_{max}/d` symmetrically before the final annealing, as in
    the paper. Smith & Topin (2019), "Super-Convergence: Very Fast Training of Neural Networks Using
    Large Learning Rates". PyTorch's phase boundaries (``pct_start * total_steps - 1``, ...).
    """
    _check_one_cycle(total_steps, pct_start, anneal_strategy)
    _checks.positive("div_factor", div_factor)
    _checks.positive("final_div_factor", final_div_factor)
    initial = max_lr / div_factor
    ends = {"initial": initial, "max": max_lr, "min": initial / final_div_factor}
    phase, pct = _one_cycle_phase(_step(step), total_steps, pct_start, three_phase)
    start, end = _ONE_CYCLE_LR[bool(three_phase)][phase]
    return _anneal(anneal_strategy, ends[start], ends[end], pct)


def one_cycle_momentum(step: int, total_steps: int, base_momentum: float = 0.85, max_momentum: float = 0.95,
                       pct_start: float = 0.3, anneal_strategy: str = "cos", three_phase: bool = False) -> float:
    r"""The momentum that goes with :func:`one_cycle_lr`: from ``max_momentum`` down to
    ``base_momentum`` while the rate warms up, and back while it anneals (Smith & Topin, 2019)."""
    _check_one_cycle(total_steps, pct_start, anneal_strategy)
    ends = {"base": base_momentum, "max": max_momentum}
    phase, pct = _one_cycle_phase(_step(step), total_steps, pct_start, three_phase)
    start, end = _ONE_CYCLE_MOMENTUM[bool(three_phase)][phase]
    return _anneal(anneal_strategy, ends[start], ends[end], pct)
