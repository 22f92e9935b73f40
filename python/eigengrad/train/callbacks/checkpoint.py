"""ModelCheckpoint: the full training state written atomically at epoch ends, so that
``fit(..., resume_from=path)`` continues the run exactly."""
from __future__ import annotations

import logging
import os

from eigengrad.distributed.process_group import is_main_process
from eigengrad.train.callbacks.base import Callback
from eigengrad.train.callbacks.monitor import Monitor

logger = logging.getLogger("eigengrad.train")


class ModelCheckpoint(Callback):
    """Save a checkpoint every ``every_n_epochs`` epochs (or only when ``monitor`` improves).

    Args:
        filepath: where to write; may hold format fields for the epoch and the logged metrics
            (``"ckpt/epoch{epoch:03d}-{val_loss:.3f}.safetensors"``); without fields one file is
            overwritten. Writes are atomic (a temporary file renamed over the old one), so a write
            killed midway leaves the previous checkpoint intact.
        monitor, mode, save_best_only: with ``save_best_only`` a checkpoint is written only when
            ``monitor`` improves (``mode`` as in EarlyStopping).
        save_weights_only: write only the model's ``state_dict`` (loadable with ``eg.load``) instead of
            the full training state (model, optimizer, scheduler, generators, epoch, history, callbacks).

    ``last_path`` and ``best_path`` name the latest and the best file written.

    On a process group only rank 0 writes (every rank holds the same state, and keeps the same
    ``last_path``/``best_path``); every rank can then resume from the file.
    """

    order = 100  # after the callbacks whose state it saves

    def __init__(self, filepath: str | os.PathLike, monitor: str | None = None, mode: str = "auto",
                 save_best_only: bool = False, every_n_epochs: int = 1, save_weights_only: bool = False) -> None:
        if save_best_only and monitor is None:
            raise ValueError("monitor: save_best_only=True needs a metric to monitor, got None")
        if not isinstance(every_n_epochs, int) or every_n_epochs < 1:
            raise ValueError(f"every_n_epochs: expected a positive int, got {every_n_epochs!r}")
        self.filepath = os.fspath(filepath)
        self.monitor = Monitor(monitor, mode) if monitor is not None else None
        self.save_best_only, self.every_n_epochs, self.save_weights_only = save_best_only, every_n_epochs, save_weights_only
        self.last_path: str | None = None
        self.best_path: str | None = None

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        if epoch % self.every_n_epochs:
            return
        improved = self.monitor is not None and self.monitor.update(self.monitor.value(logs, trainer.metrics))
        if self.save_best_only and not improved:
            return
        try:
            path = self.filepath.format(epoch=epoch, **logs)
        except (KeyError, IndexError) as e:
            raise ValueError(f"filepath: {self.filepath!r} names {e} but the epoch has only 'epoch' and "
                             f"{sorted(logs)}") from None
        if improved:
            self.best_path = path
        self.last_path = path  # before writing: the saved callback state names its own file
        if not is_main_process():
            return
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if self.save_weights_only:
            from eigengrad.serialization import save

            save(trainer.model.state_dict(), path, metadata={"epoch": epoch})
        else:
            trainer.save_checkpoint(path)
        logger.info("epoch %d: checkpoint written to %s", epoch, path)

    def state_dict(self) -> dict:
        return {"monitor": self.monitor.state_dict() if self.monitor else None, "last_path": self.last_path,
                "best_path": self.best_path}

    def load_state_dict(self, state: dict) -> None:
        if self.monitor is not None and state["monitor"] is not None:
            self.monitor.load_state_dict(state["monitor"])
        self.last_path, self.best_path = state["last_path"], state["best_path"]
