"""Recording a run: the learning rate, and the history as CSV or JSON files."""
from __future__ import annotations

import os

from eigengrad.distributed.process_group import is_main_process
from eigengrad.train.callbacks.base import Callback


class LearningRateMonitor(Callback):
    """Log the learning rate of each param group: into the epoch's history (``lr``, and ``lr/group{i}``
    for further groups) and, with ``interval="step"``, every step into ``steps``/``values``.

    With ``log_momentum`` also ``momentum`` (SGD's ``momentum``, or beta1 of the Adam family)."""

    def __init__(self, interval: str = "epoch", log_momentum: bool = False) -> None:
        if interval not in ("epoch", "step"):
            raise ValueError(f"interval: expected 'epoch' or 'step', got {interval!r}")
        self.interval, self.log_momentum = interval, log_momentum
        self.steps: list[int] = []
        self.values: list[list[float]] = []

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        for i, group in enumerate(trainer.optimizer.param_groups):
            suffix = "" if i == 0 else f"/group{i}"
            trainer.log("lr" + suffix, group["lr"])
            if self.log_momentum:
                momentum = group.get("momentum", group.get("betas", (None,))[0])
                if momentum is not None:
                    trainer.log("momentum" + suffix, momentum)

    def on_batch_begin(self, trainer, batch: int) -> None:
        if self.interval == "step":
            self.steps.append(trainer.global_step)
            self.values.append([g["lr"] for g in trainer.optimizer.param_groups])

    def state_dict(self) -> dict:
        return {"steps": list(self.steps), "values": [list(v) for v in self.values]}

    def load_state_dict(self, state: dict) -> None:
        self.steps, self.values = list(state["steps"]), [list(v) for v in state["values"]]


class CSVLogger(Callback):
    """Write the history to ``path`` as CSV after every epoch (one row per epoch; the whole file is
    rewritten atomically, so it is always complete and a resumed run continues it). On a process
    group only rank 0 writes."""

    order = 90

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        if is_main_process():
            trainer.history.to_csv(self.path)


class JSONLogger(CSVLogger):
    """Write the history to ``path`` as JSON (``{"epoch": [...], "loss": [...], ...}``) after every epoch."""

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        if is_main_process():
            trainer.history.to_json(self.path)


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda trainer, epoch, logs: ...)``."""

    def __init__(self, **hooks) -> None:
        from eigengrad.train.callbacks.base import HOOKS

        unknown = set(hooks) - set(HOOKS)
        if unknown:
            raise ValueError(f"hooks: unknown hook names {sorted(unknown)}; expected some of {list(HOOKS)}")
        for name, fn in hooks.items():
            setattr(self, name, fn)
