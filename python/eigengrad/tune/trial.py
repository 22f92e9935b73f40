"""Trials: what the search asks for (:class:`TrialSpec`), what comes back (:class:`TrialResult`), and
the objective's side of the protocol (:class:`Reporter`, :class:`ReportCallback`).

The user's objective is a picklable function ``train(config, reporter) -> metrics``. It calls
``reporter.report(epoch, **metrics)`` after every epoch; when the trial has used its budget
(``reporter.max_epochs``, set by successive halving and Hyperband) ``report`` raises
:class:`StopTrial`, which the search catches: the trial is paused, and continues from
``reporter.checkpoint_path`` if it is promoted. With ``eg.train`` the callback
:class:`ReportCallback` does all of that (report, checkpoint, resume).
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from eigengrad.train.callbacks.base import Callback


class StopTrial(Exception):
    """Raised by :meth:`Reporter.report` when the trial has reached its budget for now."""


@dataclass
class TrialSpec:
    trial_id: int
    config: dict
    budget: int | None = None   # epochs this run may reach (None: the objective decides)
    done_epochs: int = 0        # epochs already trained (a promoted trial continues from its checkpoint)


@dataclass
class TrialResult:
    trial_id: int
    config: dict
    budget: int | None
    metrics: dict = field(default_factory=dict)      # the last reported (or returned) metrics
    reports: list = field(default_factory=list)      # [(epoch, {metric: value}), ...] of this run
    status: str = "completed"                        # completed | paused | failed
    error: str | None = None
    seconds: float = 0.0
    epochs_run: int = 0                              # epochs trained in this run

    def value(self, metric: str) -> float:
        v = self.metrics.get(metric)
        return float(v) if v is not None else float("nan")

    def score(self, metric: str, mode: str) -> float:
        """``metric`` signed so that larger is better; a failed run or a missing value ranks last."""
        v = self.value(metric)
        if self.status == "failed" or math.isnan(v):
            return float("-inf")
        return v if mode == "max" else -v

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_json(cls, d: dict) -> "TrialResult":
        return cls(**{**d, "reports": [tuple(r) for r in d["reports"]]})


class Reporter:
    """The objective's handle on its trial: ``report``, ``max_epochs``, ``checkpoint_path``,
    ``resume_from`` (the checkpoint to continue from, or None), ``trial_id`` and ``seed``."""

    def __init__(self, spec: TrialSpec, checkpoint_dir: str, seed: int) -> None:
        self.trial_id, self.max_epochs, self.seed = spec.trial_id, spec.budget, seed
        self.checkpoint_path = os.path.join(checkpoint_dir, f"trial{spec.trial_id:04d}.safetensors")
        fresh = _claim_checkpoint(self.checkpoint_path, spec.config)
        self.resume_from = None if fresh or not os.path.exists(self.checkpoint_path) else self.checkpoint_path
        self.reports: list[tuple[int, dict]] = []

    def report(self, epoch: int, **metrics: float) -> None:
        """Record the metrics of ``epoch`` (1-based, counting earlier runs of the trial); raises
        :class:`StopTrial` once the budget is reached."""
        self.reports.append((int(epoch), {k: float(v) for k, v in metrics.items()}))
        if self.max_epochs is not None and epoch >= self.max_epochs:
            raise StopTrial(f"trial {self.trial_id} reached its budget of {self.max_epochs} epochs")


def _claim_checkpoint(path: str, config: dict) -> bool:
    """Tie the checkpoint at ``path`` to ``config`` (a JSON file beside it); a checkpoint left by another
    configuration (a storage folder reused for a different search) is removed. True when there is no
    usable checkpoint: the trial starts fresh. A promoted trial, or one interrupted midway, continues."""
    meta = path + ".config.json"
    text = config_key(config)
    if os.path.exists(meta):
        with open(meta) as f:
            if f.read() == text:
                return not os.path.exists(path)
    for stale in (path, meta):
        if os.path.exists(stale):
            os.remove(stale)
    with open(meta, "w") as f:
        f.write(text)
    return True


def jsonable(v):
    """``json.dumps``'s ``default`` for configurations: NumPy scalars as Python numbers, sets sorted."""
    if hasattr(v, "item"):
        return v.item()
    if isinstance(v, (set, frozenset)):
        return sorted(v)
    raise TypeError(f"config: cannot write {type(v).__name__} to the journal")


def config_key(config: dict) -> str:
    """The configuration as canonical JSON: equal keys mean the same configuration."""
    return json.dumps(config, sort_keys=True, default=jsonable)


class ReportCallback(Callback):
    """A fit callback for objectives built on ``eg.train``: after every epoch it writes the training
    state to ``reporter.checkpoint_path`` and reports the epoch's metrics (which stops the fit at the
    budget). Pass ``resume_from=reporter.resume_from`` to ``fit`` so a promoted trial continues."""

    order = 150  # after EarlyStopping/ModelCheckpoint: reports what they leave

    def __init__(self, reporter: Reporter, save_checkpoints: bool = True) -> None:
        self.reporter, self.save_checkpoints = reporter, save_checkpoints

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        if self.save_checkpoints:
            trainer.save_checkpoint(self.reporter.checkpoint_path)
        self.reporter.report(epoch, **logs)
