"""The per-epoch record of a training run, as Keras's ``History``: ``history["val_loss"]`` is a list."""
from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import Any, Iterator


class History:
    """Per-epoch metrics: ``epochs`` (1-based numbers) and ``history`` (name -> list of values).

    Every epoch has every name that any epoch had (missing values are NaN), so the columns line up.
    It holds only what a run computes deterministically (no wall-clock times), so a resumed run's
    history equals an uninterrupted one's.
    """

    def __init__(self) -> None:
        self.epochs: list[int] = []
        self.history: dict[str, list[float]] = {}

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record the values of ``epoch``."""
        n = len(self.epochs)
        for key in logs:
            if key not in self.history:
                self.history[key] = [math.nan] * n
        self.epochs.append(int(epoch))
        for key, values in self.history.items():
            values.append(float(logs.get(key, math.nan)))

    def __getitem__(self, name: str) -> list[float]:
        if name not in self.history:
            raise KeyError(f"{name!r}: not in the history (it has {sorted(self.history)})")
        return self.history[name]

    def __contains__(self, name: str) -> bool:
        return name in self.history

    def __len__(self) -> int:
        return len(self.epochs)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """One dict per epoch: ``{"epoch": 3, "loss": ..., ...}``."""
        for i, epoch in enumerate(self.epochs):
            yield {"epoch": epoch, **{k: v[i] for k, v in self.history.items()}}

    def best(self, monitor: str, mode: str = "min") -> tuple[int, float]:
        """``(epoch, value)`` of the best finite value of ``monitor``."""
        values = [(v, e) for e, v in zip(self.epochs, self[monitor]) if not math.isnan(v)]
        if not values:
            raise ValueError(f"monitor: {monitor!r} has no values yet")
        v, e = (min if mode == "min" else max)(values, key=lambda t: t[0])
        return e, v

    # --- persistence ------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {"epochs": list(self.epochs), "history": {k: list(v) for k, v in self.history.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs = [int(e) for e in state["epochs"]]
        self.history = {k: [float(x) for x in v] for k, v in state["history"].items()}

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The history as JSON (written atomically to ``path`` when given)."""
        text = json.dumps({"epoch": self.epochs, **self.history}, indent=1)
        if path is not None:
            from eigengrad.serialization import atomic_write_bytes

            atomic_write_bytes(path, text.encode())
        return text

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """One row per epoch (written atomically to ``path`` when given)."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["epoch", *self.history])
        for row in self:
            writer.writerow([row["epoch"], *(repr(row[k]) for k in self.history)])
        if path is not None:
            from eigengrad.serialization import atomic_write_bytes

            atomic_write_bytes(path, buf.getvalue().encode())
        return buf.getvalue()

    def to_dataframe(self):
        """A pandas DataFrame indexed by epoch (pandas is needed only for this)."""
        import pandas as pd

        return pd.DataFrame(self.history, index=pd.Index(self.epochs, name="epoch"))

    def plot(self, names: list[str] | None = None, ax=None):
        """Draw the named curves (default: all) against the epoch; returns the matplotlib axes."""
        from eigengrad.utils.plotting import new_axes

        ax = ax if ax is not None else new_axes("the history")
        for name in names or list(self.history):
            ax.plot(self.epochs, self[name], label=name)
        ax.set_xlabel("epoch")
        ax.legend()
        return ax

    def __repr__(self) -> str:
        return f"History(epochs={len(self)}, metrics={list(self.history)})"
