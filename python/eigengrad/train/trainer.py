"""The fit loop: :class:`Trainer` and the functions :func:`fit`, :func:`evaluate`, :func:`predict`.

A thin layer over the modules and optimizers a user could drive by hand: each batch is
``zero_grad, forward, loss, backward, [clip], step, [scheduler.step]``, exactly the hand-written loop,
with callbacks around it (see :mod:`eigengrad.train.callbacks`). Its whole state (model, optimizer,
scheduler, generators, epoch, history, callbacks) goes to a checkpoint and back, so a resumed run
ends bitwise identical to an uninterrupted one.
"""
from __future__ import annotations

import logging
import math
import os
import time
import warnings
from typing import Any, Iterable

import numpy as np

from eigengrad import random as _random
from eigengrad.autograd import no_grad
from eigengrad.tensor import Tensor
from eigengrad.train import distributed as _distributed
from eigengrad.train.callbacks.base import Callback, CallbackList
from eigengrad.train.history import History
from eigengrad.train.metrics import Metric, make_metrics
from eigengrad.train.progress_bar import EpochBar
from eigengrad.utils.state_tree import snapshot_state

logger = logging.getLogger("eigengrad.train")

CHECKPOINT_KIND = "training-state"
ON_NONFINITE = ("raise", "warn", "ignore")


class Trainer:
    """Trains ``model`` with ``optimizer`` on ``loss_fn(model(x), y)``; see :func:`fit` for the arguments."""

    def __init__(self, model, loss_fn, optimizer, *, scheduler=None, scheduler_interval: str = "auto",
                 scheduler_monitor: str | None = None, metrics: Iterable = ("accuracy",),
                 callbacks: Iterable[Callback] = (), grad_clip=None, progress: bool | None = None,
                 on_nonfinite: str = "raise", compile: bool = False) -> None:
        if on_nonfinite not in ON_NONFINITE:
            raise ValueError(f"on_nonfinite: expected one of {ON_NONFINITE}, got {on_nonfinite!r}")
        self.model, self.loss_fn, self.optimizer, self.scheduler = model, loss_fn, optimizer, scheduler
        self.on_nonfinite = on_nonfinite
        self.metrics: list[Metric] = make_metrics(metrics)
        self.callbacks = CallbackList(callbacks)
        self.grad_clip = _grad_clip(grad_clip)
        self.scheduler_interval = _interval(scheduler, scheduler_interval)
        self.scheduler_monitor = scheduler_monitor
        self.progress = progress
        self.history = History()
        self.epoch = 0          # completed epochs
        self.global_step = 0    # optimizer steps taken
        self.stop_training = False
        self.train_loader = self.val_loader = None
        self._epoch_logs: dict[str, float] = {}
        self._nonfinite_epoch = 0  # the last epoch that warned about a non-finite loss
        self._net = model   # what the training forward calls (a DistributedDataParallel wrapper on a process group)
        self._dist = None   # train.distributed.DistributedRun while fit runs on a process group
        self.compile = bool(compile)
        self._compiled = None  # the eg.compile'd batch step while fit runs with compile=True

    # --- the loop ---------------------------------------------------------------------------------
    def fit(self, train_loader, *, epochs: int, val_loader=None, resume_from: str | os.PathLike | None = None
            ) -> History:
        """Train until ``epochs`` epochs have been completed in all (counting a resumed run's) or a
        callback sets ``stop_training``; returns the :class:`History`."""
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
            raise ValueError(f"epochs: expected a non-negative int, got {epochs!r}")
        _require_batches(train_loader, "train_loader")
        _require_batches(val_loader, "val_loader")
        if _distributed.active():  # data parallel: see eigengrad.train.distributed
            self._dist = _distributed.DistributedRun(self.model)
            self._net = self._dist.net
            train_loader, val_loader = self._dist.train_loader(train_loader), _distributed.eval_loader(val_loader)
        self.train_loader, self.val_loader = train_loader, val_loader
        try:
            if resume_from is not None:
                self.load_checkpoint(resume_from)
            self.stop_training = False
            params = [p for p in self.model.parameters() if p.requires_grad]
            self._compiled = self._compiled_step(params) if self.compile else None
            try:
                self.callbacks.call("on_train_begin", self)
                while self.epoch < epochs and not self.stop_training:
                    self._run_epoch(self.epoch + 1, epochs, params)
            finally:
                self.callbacks.call("on_train_end", self)
        finally:
            if self._dist is not None:
                self._dist.close()
                self._dist, self._net = None, self.model
        return self.history

    def _run_epoch(self, epoch: int, epochs: int, params: list) -> None:
        self.model.train()
        self._epoch_logs = {}
        for m in self.metrics:
            m.reset()
        self.callbacks.call("on_epoch_begin", self, epoch)
        dist = self._dist
        if dist is not None:
            dist.set_epoch(epoch - 1)
        bar = EpochBar(self.train_loader, f"epoch {epoch}/{epochs}",
                       self.progress if dist is None or dist.rank == 0 else False)
        total_loss, seen = 0.0, 0
        for i, batch in enumerate(bar):
            loss, size = self._train_batch(i, batch, params)
            total_loss += loss * size
            seen += size
            bar.update(size, total_loss / seen)
        if dist is not None:  # the epoch's figures over every rank's shard
            total_loss, seen = _distributed.add([total_loss, seen])
            _distributed.add_metrics(self.metrics)
        if not seen:
            raise ValueError(f"train_loader: expected at least one batch, got none in epoch {epoch} (an empty loader "
                             f"{type(self.train_loader).__name__})")
        logs = {"loss": total_loss / seen}
        logs.update({m.name: m.compute() for m in self.metrics})
        if self.val_loader is not None:
            logs.update(self.evaluate(self.val_loader, prefix="val_"))
        logs.update(self._epoch_logs)
        self._step_scheduler_on_epoch(logs)
        self.epoch = epoch
        self.history.append(epoch, logs)
        bar.close(logs)
        logger.info("epoch %d/%d %s", epoch, epochs, _format(logs))
        self.callbacks.call("on_epoch_end", self, epoch, logs)

    def _train_batch(self, index: int, batch, params: list) -> tuple[float, int]:
        cbs = self.callbacks
        inputs, target = _split(batch)
        cbs.call("on_batch_begin", self, index)
        if self._compiled is not None:  # the whole step in one compiled call; the loss is read after it
            loss, output = self._compiled(*inputs, target)
            value = loss.item()
            if not math.isfinite(value) and self.on_nonfinite != "ignore":
                self._nonfinite_loss(value, index, stepped=True)
        else:
            self.optimizer.zero_grad()
            output = self._net(*inputs)
            loss = self.loss_fn(output, target)
            value = loss.item()
            if not math.isfinite(value) and self.on_nonfinite != "ignore":
                self._nonfinite_loss(value, index)
            loss.backward()
            cbs.call("on_after_backward", self)
            if self.grad_clip is not None:
                self.grad_clip(params)
            self.optimizer.step()
        self.global_step += 1
        cbs.call("on_after_step", self)
        if self.scheduler_interval == "batch":
            self.scheduler.step()
        size = len(target)
        if self.metrics:
            out, tgt = _array(output), _array(target)
            for m in self.metrics:
                m.update(out, tgt)
        if cbs.has("on_batch_end"):
            cbs.call("on_batch_end", self, index, {"loss": value, "size": size})
        return value, size

    def _compiled_step(self, params: list):
        """The eg.compile'd batch step, or None (with a warning naming the reason) when it cannot apply."""
        from eigengrad.train import compiled_step

        why = compiled_step.why_not(self)
        if why is not None:
            warnings.warn(f"fit(compile=True) trains eagerly: {why}", UserWarning, stacklevel=4)
            return None
        return compiled_step.make_step(self, params)

    def _nonfinite_loss(self, value: float, index: int, stepped: bool = False) -> None:
        """A NaN/Inf loss: raise before backward (the weights stay those before this batch), or warn once an
        epoch (``on_nonfinite``). ``stepped``: the loss was read after the optimizer step (compile=True)."""
        epoch = self.epoch + 1
        of = f" of {len(self.train_loader)}" if hasattr(self.train_loader, "__len__") else ""
        where = f"epoch {epoch}, batch {index} (counted from 0{of})"
        if self.on_nonfinite == "warn":
            if self._nonfinite_epoch != epoch:
                self._nonfinite_epoch = epoch
                logger.warning("the loss is %s at %s; training continues (on_nonfinite='warn')", value, where)
            return
        if stepped:
            raise RuntimeError(f"fit: the loss is {value} at {where}; training stopped after this batch's step (with "
                               "compile=True the loss is read after the compiled step, so the parameters include "
                               "this batch's update). Train without compile=True to stop before the step. Look for "
                               "NaN/Inf in this batch's data, or run the batch under "
                               "eigengrad.autograd.detect_anomaly() to find the op where the non-finite values start.")
        raise RuntimeError(f"fit: the loss is {value} at {where}; training stopped before this batch's backward and "
                           "step, so the parameters are those after the previous batch. Look for NaN/Inf in this batch's "
                           "data, or run the batch under eigengrad.autograd.detect_anomaly() to find the op where the "
                           "non-finite values start; on_nonfinite='warn' or 'ignore' trains on.")

    def _step_scheduler_on_epoch(self, logs: dict) -> None:
        if self.scheduler_interval == "metric":
            monitor = self.scheduler_monitor or ("val_loss" if "val_loss" in logs else "loss")
            if monitor not in logs:
                raise ValueError(f"scheduler_monitor: {monitor!r} is not among the epoch's metrics {sorted(logs)}")
            self.scheduler.step(logs[monitor])
        elif self.scheduler_interval == "epoch":
            self.scheduler.step()

    def log(self, name: str, value: float) -> None:
        """Add ``name: value`` to the current epoch's record (for callbacks, before ``on_epoch_end``)."""
        self._epoch_logs[name] = float(value)

    # --- evaluation -------------------------------------------------------------------------------
    def evaluate(self, loader, prefix: str = "") -> dict[str, float]:
        """Mean loss and metrics over ``loader`` in eval mode without gradients (the mode is restored); on a
        process group each rank evaluates its share and the figures are those of the whole loader."""
        if _distributed.active():
            return _evaluate(self.model, _distributed.eval_loader(loader), self.loss_fn, make_metrics(self.metrics),
                             prefix, _distributed.add)
        return evaluate(self.model, loader, self.loss_fn, self.metrics, prefix=prefix)

    def predict(self, data, batch_size: int = 256) -> np.ndarray:
        return predict(self.model, data, batch_size=batch_size)

    # --- checkpoints ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs: model, optimizer, scheduler, generators, counters, history,
        callbacks."""
        return {
            "epoch": self.epoch, "global_step": self.global_step,
            "model": snapshot_state(self.model),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "generators": [g.get_state() for g in self._generators()],
            "history": self.history.state_dict(),
            "callbacks": self.callbacks.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if (state["scheduler"] is None) != (self.scheduler is None):
            raise ValueError("state: the checkpoint was saved " + ("without" if state["scheduler"] is None else "with")
                             + " a scheduler, this trainer has " + ("one" if self.scheduler is not None else "none"))
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        generators = self._generators()
        if len(state["generators"]) != len(generators):
            raise ValueError(f"state: the checkpoint has {len(state['generators'])} generator states, the trainer's "
                             f"loaders use {len(generators)} generators")
        for g, s in zip(generators, state["generators"]):
            g.set_state(s)
        self.history.load_state_dict(state["history"])
        self.callbacks.load_state_dict(state["callbacks"])
        self.epoch, self.global_step = int(state["epoch"]), int(state["global_step"])

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        """Write :meth:`state_dict` to ``path`` atomically (safetensors + JSON; no pickle)."""
        from eigengrad.utils.state_tree import save_tree

        save_tree(self.state_dict(), path, CHECKPOINT_KIND)

    def load_checkpoint(self, path: str | os.PathLike) -> None:
        from eigengrad.utils.state_tree import load_tree

        self.load_state_dict(load_tree(path, CHECKPOINT_KIND))
        logger.info("resumed from %s after epoch %d", os.fspath(path), self.epoch)

    def _generators(self) -> list:
        """The default generator and every distinct generator the loaders draw from, in a fixed order."""
        found = [_random.default_generator]
        for obj in (*_generator_holders(self.train_loader), *_generator_holders(self.val_loader)):
            g = getattr(obj, "generator", None)
            if isinstance(g, _random.Generator) and all(g is not f for f in found):
                found.append(g)
        return found


# --- the functional interface ---------------------------------------------------------------------

def fit(model, loss_fn, optimizer, train_loader, *, epochs: int, val_loader=None, scheduler=None,
        metrics: Iterable = ("accuracy",), callbacks: Iterable[Callback] = (), grad_clip=None,
        scheduler_interval: str = "auto", scheduler_monitor: str | None = None, progress: bool | None = None,
        resume_from: str | os.PathLike | None = None, on_nonfinite: str = "raise", compile: bool = False) -> History:
    """Train ``model`` for ``epochs`` epochs and return the per-epoch :class:`History`.

    Args:
        model, loss_fn, optimizer: the module, ``loss_fn(output, target) -> scalar Tensor`` (mean over the
            batch) and an ``eigengrad.optim`` optimizer over the model's parameters.
        train_loader: an iterable of ``(x, y)`` batches (``(x1, ..., xk, y)`` calls ``model(x1, ..., xk)``),
            usually an ``eigengrad.data.DataLoader``.
        val_loader: evaluated after every epoch; its figures are logged as ``val_loss``, ``val_<metric>``.
        scheduler: stepped per batch (``OneCycleLR``, ``CyclicLR``), per epoch (the others) or with the
            monitored metric (``ReduceLROnPlateau`` and chains holding one); ``scheduler_interval``
            (``"batch"``, ``"epoch"``) overrides; ``scheduler_monitor`` names the metric (default
            ``val_loss``, else ``loss``).
        metrics: names (``accuracy``, ``top5_accuracy``, ``mse``, ``mae``, ``rmse``), Metric objects or
            functions ``f(output, target) -> float``.
        callbacks: :class:`~eigengrad.train.Callback` objects (EarlyStopping, ModelCheckpoint, ...).
        grad_clip: clip gradients before each step: a float is ``clip_grad_norm_``'s ``max_norm``;
            ``{"max_norm": m, "norm_type": p}`` or ``{"clip_value": v}`` for the others.
        progress: a progress bar per epoch with running loss and throughput (tqdm when installed; in
            notebooks its widget). None (default): only when stderr is a terminal or in a notebook.
        resume_from: a checkpoint written by ``ModelCheckpoint``/``Trainer.save_checkpoint``; training
            continues after its epoch and ends as an uninterrupted run would.
        on_nonfinite: what a NaN/Inf loss does: ``"raise"`` (default) stops with a RuntimeError naming the epoch
            and the batch, before that batch's backward and step (the parameters are those after the previous
            batch; batch-norm statistics have seen the batch); ``"warn"`` logs a warning (once an epoch) and
            trains on; ``"ignore"`` trains on silently. ``eigengrad.autograd.detect_anomaly()`` finds the op.
        compile: run each batch's step (zero_grad, forward, loss, backward, clipping, optimizer step) as one
            ``eg.compile``'d function (docs/compile.md): the same numbers bit for bit where the step can be
            replayed; otherwise one warning naming the reason and eager steps. The loss is read after the
            step, so ``on_nonfinite="raise"`` stops after the batch's update rather than before it; a callback's
            ``on_after_backward`` or data-parallel training makes fit train eagerly.

    An empty ``train_loader`` or ``val_loader`` is a ValueError.
    """
    trainer = Trainer(model, loss_fn, optimizer, scheduler=scheduler, scheduler_interval=scheduler_interval,
                      scheduler_monitor=scheduler_monitor, metrics=metrics, callbacks=callbacks, grad_clip=grad_clip,
                      progress=progress, on_nonfinite=on_nonfinite, compile=compile)
    return trainer.fit(train_loader, epochs=epochs, val_loader=val_loader, resume_from=resume_from)


def evaluate(model, loader, loss_fn=None, metrics: Iterable = ("accuracy",), prefix: str = "") -> dict[str, float]:
    """Mean loss (when ``loss_fn`` is given) and metrics over ``loader``, in eval mode without gradients;
    the model's mode is restored afterwards."""
    return _evaluate(model, loader, loss_fn, make_metrics(metrics), prefix)  # Metric objects pass through as they are


def _evaluate(model, loader, loss_fn, metrics: list[Metric], prefix: str, add=None) -> dict[str, float]:
    """:func:`evaluate`; ``add`` (on a process group) sums the loss, the counts and the metrics over the ranks."""
    for m in metrics:
        m.reset()
    was_training = model.training
    model.eval()
    total, seen = 0.0, 0
    try:
        with no_grad():
            for batch in loader:
                inputs, target = _split(batch)
                output = model(*inputs)
                if loss_fn is not None:
                    total += loss_fn(output, target).item() * len(target)
                seen += len(target)
                out, tgt = _array(output), _array(target)
                for m in metrics:
                    m.update(out, tgt)
    finally:
        model.train(was_training)
    if add is not None:
        total, seen = add([total, seen])
        _distributed.add_metrics(metrics)
    if not seen:
        raise ValueError(f"loader: expected at least one batch to evaluate, got an empty {type(loader).__name__}")
    logs = {prefix + "loss": total / seen} if loss_fn is not None else {}
    logs.update({prefix + m.name: m.compute() for m in metrics})
    return logs


def predict(model, data, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for ``data`` (an array, a Tensor, or a loader of ``(x, ...)`` batches),
    concatenated, in eval mode without gradients; the model's mode is restored afterwards."""
    if isinstance(data, (np.ndarray, Tensor)):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
        arr = data._data if isinstance(data, Tensor) else data
        batches = ((Tensor._wrap(arr[i:i + batch_size]),) for i in range(0, len(arr), batch_size))
    else:
        batches = (b if isinstance(b, (tuple, list)) else (b,) for b in data)
    was_training = model.training
    model.eval()
    outputs = []
    try:
        with no_grad():
            for batch in batches:
                inputs = batch[:-1] if len(batch) > 1 else batch
                outputs.append(_array(model(*inputs)))  # a fresh array per batch: no copy needed
    finally:
        model.train(was_training)
    return np.concatenate(outputs) if outputs else np.empty((0,))


# --- helpers --------------------------------------------------------------------------------------

def _split(batch) -> tuple[tuple, Any]:
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise ValueError(f"train_loader: expected batches (x, y) or (x1, ..., xk, y), got {type(batch).__name__}"
                         + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""))
    return tuple(_tensor(x) for x in batch[:-1]), _tensor(batch[-1])


def _require_batches(loader, name: str) -> None:
    """An empty loader (one that knows its length) is an error before training starts."""
    if loader is not None and hasattr(loader, "__len__") and len(loader) == 0:
        raise ValueError(f"{name}: expected at least one batch, got an empty {type(loader).__name__} (0 batches)")


def _tensor(x):
    return Tensor._wrap(x) if isinstance(x, np.ndarray) else x


def _array(x) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _grad_clip(spec):
    """A function ``clip(params)`` for ``grad_clip``, or None."""
    from eigengrad.nn.utils import clip_grad_norm_, clip_grad_value_

    if spec is None:
        return None
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        if not spec > 0:
            raise ValueError(f"grad_clip: expected a positive max norm, got {spec!r}")
        return lambda params: clip_grad_norm_(params, float(spec))
    if isinstance(spec, dict) and set(spec) == {"clip_value"}:
        return lambda params: clip_grad_value_(params, spec["clip_value"])
    if isinstance(spec, dict) and "max_norm" in spec and set(spec) <= {"max_norm", "norm_type", "error_if_nonfinite"}:
        return lambda params: clip_grad_norm_(params, **spec)
    raise ValueError(f"grad_clip: expected a max norm, {{'max_norm': m, 'norm_type': p}} or {{'clip_value': v}}, "
                     f"got {spec!r}")


def _interval(scheduler, interval: str) -> str | None:
    """When to step the scheduler: ``"batch"``, ``"epoch"``, ``"metric"`` (with the metric) or None."""
    from eigengrad.optim._schedulers.compose import _has_plateau, steps_per_batch

    if interval not in ("auto", "batch", "epoch"):
        raise ValueError(f"scheduler_interval: expected 'auto', 'batch' or 'epoch', got {interval!r}")
    if scheduler is None:
        return None
    if not hasattr(scheduler, "step") or not hasattr(scheduler, "state_dict"):
        raise TypeError(f"scheduler: expected an eigengrad.optim.lr_scheduler scheduler, got {type(scheduler).__name__}")
    if _has_plateau(scheduler):
        return "metric"
    if interval != "auto":
        return interval
    return "batch" if steps_per_batch(scheduler) else "epoch"


def _generator_holders(loader) -> tuple:
    """What may hold a Generator in a loader: the loader, its sampler, its batch sampler and that one's sampler."""
    if loader is None:
        return ()
    batches = getattr(loader, "batch_sampler", None)
    return loader, getattr(loader, "sampler", None), batches, getattr(batches, "sampler", None)


def _format(logs: dict) -> str:
    return "  ".join(f"{k} {v:.4g}" for k, v in logs.items())
