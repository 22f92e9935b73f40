"""Watching one logged metric for improvement: shared by EarlyStopping and ModelCheckpoint."""
from __future__ import annotations

import math


class Monitor:
    """Whether each new value of ``name`` improves on the best so far by more than ``min_delta``.

    ``mode`` is ``"min"``, ``"max"`` or ``"auto"`` (resolved from the metric's name and the trainer's
    metrics when training begins). NaN never improves.
    """

    def __init__(self, name: str, mode: str = "auto", min_delta: float = 0.0, baseline: float | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"monitor: expected a metric name such as 'val_loss', got {name!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode: expected 'auto', 'min' or 'max', got {mode!r}")
        if not isinstance(min_delta, (int, float)) or not min_delta >= 0:
            raise ValueError(f"min_delta: expected a non-negative number, got {min_delta!r}")
        self.name, self.mode, self.min_delta, self.baseline = name, mode, float(min_delta), baseline
        self.best: float | None = None if baseline is None else float(baseline)

    def value(self, logs: dict, metrics=()) -> float:
        """The monitored value in ``logs``; the first call also settles ``mode="auto"``."""
        if self.name not in logs:
            raise ValueError(f"monitor: {self.name!r} is not among the epoch's metrics {sorted(logs)}"
                             + (" (val_ metrics need a val_loader)" if self.name.startswith("val_") else ""))
        if self.mode == "auto":
            from eigengrad.train.metrics import metric_mode

            self.mode = metric_mode(self.name, metrics)
        return float(logs[self.name])

    def update(self, value: float) -> bool:
        """Whether ``value`` improves on the best; if it does, it becomes the best."""
        if self._improves(value):
            self.best = value
            return True
        return False

    def _improves(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def state_dict(self) -> dict:
        return {"best": self.best, "mode": self.mode}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.mode = state["best"], state["mode"]
