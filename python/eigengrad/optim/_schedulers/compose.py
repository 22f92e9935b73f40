"""Combining schedulers: ``SequentialLR`` (one after another) and ``ChainedScheduler`` (all at once).

Both follow PyTorch, and both also accept a :class:`ReduceLROnPlateau`, which PyTorch refuses: their
``step`` then takes the metric (``step(metrics)``). In a chain the plateau scheduler multiplies the rate
the others set by its own factor; in a sequence it is a phase of its own. See
:mod:`eigengrad.optim._schedulers.plateau`.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Any, Sequence, SupportsFloat

from eigengrad.optim._schedulers.base import LRScheduler, check_optimizer, group_values
from eigengrad.optim._schedulers.plateau import ReduceLROnPlateau
from eigengrad.optim.optimizer import Optimizer


def _check_members(owner: str, schedulers: Sequence[LRScheduler], optimizer: Optimizer) -> None:
    if len(schedulers) < 1:
        raise ValueError(f"schedulers: {owner} expects at least one scheduler, got none")
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"schedulers: {owner} got {type(s).__name__} at index {i}, which has no `optimizer`")
        if s.optimizer is not optimizer:
            raise ValueError(f"schedulers: {owner} expects all schedulers to belong to the same optimizer, but "
                             f"{type(s).__name__} at index {i} has a different one")
        if hasattr(s, "_schedulers") and any(_has_plateau(c) for c in s._schedulers):
            raise ValueError(f"schedulers: {type(s).__name__} at index {i} contains a ReduceLROnPlateau; put the "
                             f"ReduceLROnPlateau directly in the outer {owner}")


def _has_plateau(s: Any) -> bool:
    return isinstance(s, ReduceLROnPlateau) or any(_has_plateau(c) for c in getattr(s, "_schedulers", ()))


def steps_per_batch(s: Any) -> bool:
    """Whether ``s``, or a scheduler it chains or sequences, is one whose step is a batch."""
    return getattr(s, "steps_per_batch", False) or any(steps_per_batch(c) for c in getattr(s, "_schedulers", ()))


def _need_metrics(owner: str, metrics: SupportsFloat | None) -> SupportsFloat:
    if metrics is None:
        raise TypeError(f"metrics: {owner} contains a ReduceLROnPlateau, so step() needs the metric: step(metrics)")
    return metrics


def _undo_initial_steps(s: Any) -> None:
    if hasattr(s, "_schedulers"):
        for member in s._schedulers:
            _undo_initial_steps(member)
    elif hasattr(s, "last_epoch"):
        s.last_epoch -= 1


class _Composite(LRScheduler):
    """state_dict holding each member's state_dict, as PyTorch's composites."""

    _schedulers: list

    def state_dict(self) -> dict[str, Any]:
        members = self._schedulers
        try:
            del self._schedulers
            state = super().state_dict()
        finally:
            self._schedulers = members
        state["_schedulers"] = [s.state_dict() for s in members]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        members = state.pop("_schedulers")
        super().load_state_dict(state)
        for s, saved in zip(self._schedulers, members):
            s.load_state_dict(saved)


class SequentialLR(_Composite):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` (restarted at its epoch 0), ...

    A :class:`ReduceLROnPlateau` phase starts again from the groups' ``initial_lr``; while it is the
    active phase, ``step(metrics)`` needs the metric (it is ignored in the other phases).
    """

    def __init__(self, optimizer: Optimizer, schedulers: list[LRScheduler], milestones: list[int],
                 last_epoch: int = -1) -> None:
        check_optimizer(optimizer)
        _check_members("SequentialLR", schedulers, optimizer)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"milestones: expected {len(schedulers) - 1} milestones (one fewer than the "
                             f"{len(schedulers)} schedulers), got {len(milestones)}")
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        _undo_initial_steps(self)  # the members' construction stepped each once: undo that count
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()

    def step(self, metrics: SupportsFloat | None = None) -> None:  # type: ignore[override]
        """Advance one epoch in the active phase (``metrics`` feeds a ReduceLROnPlateau phase)."""
        if metrics is not None and not _has_plateau(self):
            # PyTorch's SequentialLR.step() takes no argument, not even the deprecated epoch: refuse it
            # as PyTorch does, rather than take an epoch for a metric and ignore it.
            raise TypeError("SequentialLR.step() takes 1 positional argument but 2 were given (only a sequence "
                            "with a ReduceLROnPlateau phase takes one, its metric: step(metrics))")
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        at_milestone = idx > 0 and self._milestones[idx - 1] == self.last_epoch
        if isinstance(scheduler, ReduceLROnPlateau):
            metrics = _need_metrics("the active phase of SequentialLR", metrics)
            if at_milestone:
                scheduler._restart()
            scheduler.step(metrics)
        elif at_milestone:
            scheduler._update_lr(0)
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()


class ChainedScheduler(_Composite):
    """Step all ``schedulers`` together each epoch, so their (chainable) effects multiply.

    A :class:`ReduceLROnPlateau` in the chain multiplies the rate the others set by its own factor
    (applied last, whatever its position), and ``step(metrics)`` then needs the metric.
    """

    def __init__(self, schedulers: Sequence[LRScheduler], optimizer: Optimizer | None = None) -> None:
        if len(schedulers) < 1:
            raise ValueError("schedulers: ChainedScheduler expects at least one scheduler, got none")
        optimizer = optimizer or schedulers[0].optimizer
        _check_members("ChainedScheduler", schedulers, optimizer)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = group_values(optimizer, "lr")

    def step(self, metrics: SupportsFloat | None = None) -> None:  # type: ignore[override]
        """Step every scheduler; ``metrics`` feeds the ReduceLROnPlateau members."""
        plateaus = [s for s in self._schedulers if isinstance(s, ReduceLROnPlateau)]
        if plateaus:
            metrics = _need_metrics("ChainedScheduler", metrics)
        elif metrics is not None:  # PyTorch's step() takes no argument: an epoch passed here is a mistake
            raise TypeError("ChainedScheduler.step() takes 1 positional argument but 2 were given (a metric is "
                            "only for a chain with a ReduceLROnPlateau)")
        for p in reversed(plateaus):  # undo the factors, last applied first
            p._remove_factor()
        for s in self._schedulers:
            if not isinstance(s, ReduceLROnPlateau):
                s.step()
        for p in plateaus:
            p._apply_factor(metrics)
        self._last_lr = group_values(self.optimizer, "lr")
