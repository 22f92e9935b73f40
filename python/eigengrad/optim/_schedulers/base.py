"""``LRScheduler``: the base of every learning-rate scheduler (``torch.optim.lr_scheduler.LRScheduler``).

A scheduler owns an optimizer's ``param_groups[i]["lr"]``. Building one records each group's starting
rate as ``group["initial_lr"]`` (``base_lrs``) and performs the initial step (epoch 0); each
``step()`` then advances ``last_epoch`` by one and writes ``get_lr()`` into the groups.

Subclasses define ``get_lr()``: either in closed form from ``base_lrs`` and ``last_epoch``, or, for
PyTorch's "chainable" schedulers, recursively from the groups' current rates (so that several
schedulers stepping one optimizer multiply their effects). Those that have a closed form also define
``_get_closed_form_lr()``, used by the deprecated ``step(epoch)`` and by ``SequentialLR``'s restarts.
"""
from __future__ import annotations

import contextlib
import copy
import functools
import warnings
from typing import Any

from eigengrad import _trace
from eigengrad._errors import user_stacklevel
from eigengrad.optim.optimizer import Optimizer
from eigengrad.tensor import Tensor

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where possible "
    "(as in PyTorch). Please use `scheduler.step()` to step the scheduler. If epoch is given, the closed "
    "form is used instead of the chainable form, where available."
)


STEP_ORDER_WARNING = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. In PyTorch 1.1.0 and later, you should "
    "call them in the opposite order: `optimizer.step()` before `lr_scheduler.step()`. Failure to do this will "
    "skip the first value of the learning rate schedule (as in PyTorch)."
)

GET_LR_WARNING = "To get the last learning rate computed by the scheduler, please use `get_last_lr()`."


def warn_get_lr_called_within_step(scheduler: LRScheduler) -> None:
    """PyTorch's warning when ``get_lr()`` is called from outside ``step()``: it computes the *next* rates
    (and can move the momentum), so it is not the way to read the rate in use."""
    if not scheduler._get_lr_called_within_step:
        warnings.warn(GET_LR_WARNING, UserWarning, stacklevel=user_stacklevel())


@contextlib.contextmanager
def get_lr_within_step(scheduler: LRScheduler):
    """Mark ``scheduler``'s ``get_lr()`` calls as made by its own step (no warning). Set on the instance as
    PyTorch does, so ``state_dict()`` has PyTorch's ``_get_lr_called_within_step`` key."""
    scheduler._get_lr_called_within_step = True
    try:
        yield
    finally:
        scheduler._get_lr_called_within_step = False


def group_values(optimizer: Optimizer, key: str) -> list:
    """``[group[key] for each param group]`` (a new list: callers may keep it)."""
    return [group[key] for group in optimizer.param_groups]


def check_optimizer(optimizer: Any) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer: expected an eigengrad.optim.Optimizer, got {type(optimizer).__name__}")
    return optimizer


def _replayed(step):
    """``step`` as one plan step of an ``eg.compile`` trace, as the optimizer's step is: a scheduler stepped
    inside a compiled step then advances at every replay, as in eager mode (without this its Python ran
    only while tracing, and every replay kept the rate of the last traced call). A tensor argument (a
    metric for ReduceLROnPlateau) is a value read into Python: the step falls back to eager mode."""
    @functools.wraps(step)
    def replayed(self, *args, **kwargs):
        if _trace.ACTIVE[0] is None:
            return step(self, *args, **kwargs)
        if any(isinstance(a, Tensor) for a in (*args, *kwargs.values())):
            _trace.reject(f"{type(self).__name__}.step() got a tensor (its value is read into Python)")
            return step(self, *args, **kwargs)
        if kwargs:
            return _trace.python_op(functools.partial(step, self, *args, **kwargs))
        return _trace.python_op(step.__get__(self), *args)

    return replayed


class LRScheduler:
    """Base class of learning-rate schedulers.

    Args:
        optimizer: the optimizer whose param groups' ``"lr"`` this scheduler sets.
        last_epoch: index of the last epoch seen; ``-1`` (default) starts a schedule. Any other value
            resumes one and needs ``"initial_lr"`` in every group (as PyTorch).
    """

    steps_per_batch = False  # True for schedules whose step is a batch (OneCycle, Cyclic): fit steps them so

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:  # every step() an eg.compile trace meets is one plan step
            cls.step = _replayed(cls.__dict__["step"])

    _is_initial: bool = False
    _get_lr_called_within_step: bool = False  # True while step() computes the rates (see get_lr_within_step)

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        self.optimizer = check_optimizer(optimizer)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when resuming a "
                                   f"scheduler with last_epoch={last_epoch} (>= 0): load the optimizer's "
                                   "state first, or start with last_epoch=-1")
        self.base_lrs: list[float] = group_values(optimizer, "initial_lr")
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        """Reset the step count and perform the step to epoch ``last_epoch + 1`` (0 for a new schedule)."""
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The learning rates for epoch ``last_epoch`` (called by :meth:`step`; to read the rates in use, call
        :meth:`get_last_lr`: the built-in schedulers warn, as PyTorch's, when this is called directly)."""
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def get_last_lr(self) -> list[float]:
        """The learning rates set by the last :meth:`step`, one per param group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch and set the groups' learning rates. Call it after ``optimizer.step()``.

        ``epoch`` (deprecated, as in PyTorch) jumps to that epoch using the closed form where there is one.
        """
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(STEP_ORDER_WARNING, UserWarning, stacklevel=user_stacklevel())
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        with get_lr_within_step(self):
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                closed_form = getattr(self, "_get_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
        self._set_lrs(values)

    def _set_lrs(self, values: list[float]) -> None:
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise RuntimeError(f"{type(self).__name__}: computed {len(values)} learning rates for "
                               f"{len(groups)} param groups (were groups added after the scheduler was built?)")
        for group, lr in zip(groups, values):
            group["lr"] = lr
        self._last_lr = group_values(self.optimizer, "lr")

    # --- checkpointing ----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Every attribute except the optimizer (which has its own ``state_dict``), as PyTorch."""
        # Copied so that stepping on after saving cannot change what was saved.
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the attributes saved by :meth:`state_dict`."""
        self.__dict__.update(copy.deepcopy(state_dict))

    def __repr__(self) -> str:
        # (ChainedScheduler has no epoch of its own)
        return (f"{type(self).__name__}(last_epoch={getattr(self, 'last_epoch', None)}, "
                f"last_lr={getattr(self, '_last_lr', None)})")


LRScheduler.step = _replayed(LRScheduler.step)  # (__init_subclass__ wraps the subclasses' own)
