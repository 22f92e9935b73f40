"""The callback protocol of :class:`eigengrad.train.Trainer`.

A callback overrides any of the hooks below; each receives the trainer (``trainer.model``,
``.optimizer``, ``.scheduler``, ``.history``, ``.epoch``, ``.global_step``, and
``trainer.stop_training = True`` to stop after the current epoch). The order of one epoch::

    on_train_begin                                  once, after a resume has been loaded
      on_epoch_begin(epoch)
        on_batch_begin(batch)
          forward, loss, backward
          on_after_backward                         gradients are ready (before clipping and step)
          clip, optimizer.step()
          on_after_step                             parameters updated
        on_batch_end(batch, logs)                   logs: {"loss": float, "size": int}
      validation
      on_epoch_end(epoch, logs)                     logs: the epoch's metrics (also in trainer.history)
    on_train_end                                    always, however training ends (also on an exception)

Callbacks with state that a resumed run needs (early stopping's best value, say) give
``state_dict()``/``load_state_dict()``; the trainer stores it in checkpoints. Only the hooks a callback
overrides are called, so an unused hook costs nothing per batch.
"""
from __future__ import annotations

from typing import Any

HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
         "on_after_backward", "on_after_step")


class Callback:
    """Base class: every hook does nothing."""

    order = 0  # callbacks run in increasing order (stable); checkpoint writers use 100 to run last

    def on_train_begin(self, trainer) -> None: ...

    def on_train_end(self, trainer) -> None: ...

    def on_epoch_begin(self, trainer, epoch: int) -> None: ...

    def on_epoch_end(self, trainer, epoch: int, logs: dict[str, float]) -> None: ...

    def on_batch_begin(self, trainer, batch: int) -> None: ...

    def on_batch_end(self, trainer, batch: int, logs: dict[str, Any]) -> None: ...

    def on_after_backward(self, trainer) -> None: ...

    def on_after_step(self, trainer) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs to continue as if never stopped (default: nothing)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


class CallbackList:
    """Calls a hook on every callback that overrides it, in the order given."""

    def __init__(self, callbacks) -> None:
        callbacks = list(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks: expected eigengrad.train.Callback objects, got {type(cb).__name__}")
        # Stable sort by ``order``: savers (ModelCheckpoint, order 100) run after the callbacks whose
        # state they save, so a checkpoint holds every callback's state after this epoch.
        self.callbacks = sorted(callbacks, key=lambda cb: cb.order)
        self._bound = {hook: [getattr(cb, hook) for cb in self.callbacks if _overrides(cb, hook)] for hook in HOOKS}

    def has(self, hook: str) -> bool:
        return bool(self._bound[hook])

    def call(self, hook: str, *args) -> None:
        for fn in self._bound[hook]:
            fn(*args)

    def keys(self) -> list[str]:
        """A stable name per callback for checkpoints: class name and position."""
        return [f"{i}:{type(cb).__name__}" for i, cb in enumerate(self.callbacks)]

    def state_dict(self) -> dict[str, Any]:
        return {key: cb.state_dict() for key, cb in zip(self.keys(), self.callbacks)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, cb in zip(self.keys(), self.callbacks):
            if key in state:
                cb.load_state_dict(state[key])


def _overrides(cb: Callback, hook: str) -> bool:
    """Whether ``cb`` does something in ``hook`` (a method of its class or a function set on it)."""
    return getattr(getattr(cb, hook), "__func__", None) is not getattr(Callback, hook)
