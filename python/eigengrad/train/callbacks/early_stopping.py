"""Early stopping (Prechelt, "Early Stopping - But When?", 1998): stop when the validation metric has
not improved for ``patience`` epochs, and hand back the best epoch's weights."""
from __future__ import annotations

import logging

import numpy as np

from eigengrad.train.callbacks.base import Callback
from eigengrad.train.callbacks.monitor import Monitor
from eigengrad.utils.state_tree import snapshot_state

logger = logging.getLogger("eigengrad.train")


class EarlyStopping(Callback):
    """Stop training once ``monitor`` has gone ``patience`` epochs without improving by ``min_delta``.

    Args:
        monitor: a logged metric (``val_loss``, ``val_accuracy``, ``loss``, ...).
        patience: epochs without improvement before stopping (training stops at epoch
            ``best_epoch + patience``).
        min_delta: an improvement must exceed this (absolute) amount.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (from the metric: losses and errors down, accuracies up).
        restore_best_weights: load the best epoch's weights (parameters and buffers) into the model when
            training ends, however it ends: stopped early, out of epochs, or interrupted by an exception.
        baseline: a value the metric must beat to count as an improvement at all.
        start_from_epoch: do not stop before this epoch (a warm-up when the metric is noisy early).

    After training, ``best_epoch``, ``best`` and ``stopped_epoch`` (0 when it never stopped) tell what
    happened.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = True, baseline: float | None = None, start_from_epoch: int = 0) -> None:
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 0:
            raise ValueError(f"patience: expected a non-negative int, got {patience!r}")
        self.monitor = Monitor(monitor, mode, min_delta, baseline)
        self.patience, self.restore_best_weights, self.start_from_epoch = patience, restore_best_weights, start_from_epoch
        self.wait, self.best_epoch, self.stopped_epoch = 0, 0, 0
        self.best_weights: dict[str, np.ndarray] | None = None

    @property
    def best(self) -> float | None:
        return self.monitor.best

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        if self.monitor.update(self.monitor.value(logs, trainer.metrics)):
            self.best_epoch, self.wait = epoch, 0
            if self.restore_best_weights:
                self.best_weights = snapshot_state(trainer.model)
            return
        self.wait += 1
        if self.wait >= self.patience and epoch >= self.start_from_epoch:
            self.stopped_epoch = epoch
            trainer.stop_training = True
            logger.info("early stopping at epoch %d: %s has not improved on %.6g (epoch %d) for %d epochs",
                        epoch, self.monitor.name, self.best if self.best is not None else float("nan"),
                        self.best_epoch, self.wait)

    def on_train_end(self, trainer) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)
            logger.info("restored the weights of epoch %d (%s %.6g)", self.best_epoch, self.monitor.name, self.best)

    def state_dict(self) -> dict:
        return {"monitor": self.monitor.state_dict(), "wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        self.monitor.load_state_dict(state["monitor"])
        self.wait, self.best_epoch, self.stopped_epoch = state["wait"], state["best_epoch"], state["stopped_epoch"]
        self.best_weights = state["best_weights"]
