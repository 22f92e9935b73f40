"""``LambdaLR`` and ``MultiplicativeLR``: schedules given as user functions of the epoch."""
from __future__ import annotations

import types
from typing import Any, Callable

from eigengrad.optim._schedulers.base import LRScheduler, group_values, warn_get_lr_called_within_step
from eigengrad.optim.optimizer import Optimizer

Lambda = Callable[[int], float]


def _lambdas(optimizer: Optimizer, lr_lambda: Lambda | list[Lambda] | tuple) -> list[Lambda]:
    """One callable per param group: ``lr_lambda`` repeated, or a list/tuple of exactly one per group."""
    n = len(optimizer.param_groups)
    fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
    if len(fns) != n:
        raise ValueError(f"lr_lambda: expected {n} functions (one per param group), got {len(fns)}")
    for fn in fns:
        if not callable(fn):
            raise TypeError(f"lr_lambda: expected a callable (epoch -> factor), got {type(fn).__name__}")
    return fns


class _LambdaState(LRScheduler):
    """state_dict as PyTorch: plain functions (lambdas) are not saved, only the ``__dict__`` of
    callable objects (whose state, e.g. a counter, then round-trips)."""

    lr_lambdas: list[Lambda]

    def state_dict(self) -> dict[str, Any]:
        self_lambdas = self.lr_lambdas
        try:
            del self.lr_lambdas  # keep the callables out of the base class's copy
            state = super().state_dict()
        finally:
            self.lr_lambdas = self_lambdas
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state = dict(state_dict)
        saved = state.pop("lr_lambdas")
        super().load_state_dict(state)
        for fn, fn_state in zip(self.lr_lambdas, saved):
            if fn_state is not None:
                fn.__dict__.update(fn_state)


class LambdaLR(_LambdaState):
    r""":math:`\eta_t = \eta_0 \cdot \lambda(t)` per group, with ``lr_lambda`` one function or one per group."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Lambda | list[Lambda], last_epoch: int = -1) -> None:
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_called_within_step(self)
        return [base_lr * fn(self.last_epoch) for fn, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaState):
    r""":math:`\eta_t = \eta_{t-1} \cdot \lambda(t)` for :math:`t \ge 1` (chainable)."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Lambda | list[Lambda], last_epoch: int = -1) -> None:
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        warn_get_lr_called_within_step(self)
        if self._is_initial:
            return group_values(self.optimizer, "lr")
        return [group["lr"] * fn(self.last_epoch) for fn, group in zip(self.lr_lambdas, self.optimizer.param_groups)]
