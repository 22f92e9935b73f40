"""Metrics accumulated over the batches of an epoch.

A metric sees each batch's model output and target as NumPy arrays (``update``) and gives the epoch's
value at the end (``compute``), weighted by batch size so that a short last batch counts for what it
holds. ``fit(metrics=("accuracy",))`` takes names (``accuracy``, ``top{k}_accuracy``, ``mse``,
``mae``, ``rmse``), :class:`Metric` objects, or plain functions ``f(output, target) -> float``
(averaged over samples; named after the function).
"""
from __future__ import annotations

import abc
import math
import re
from typing import Callable, Iterable

import numpy as np


class Metric(abc.ABC):
    """Sum of per-sample values over the epoch; subclasses give :meth:`batch_sum`."""

    name = "metric"
    mode = "max"  # which direction is better, for EarlyStopping/ModelCheckpoint's mode="auto"

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def update(self, output: np.ndarray, target: np.ndarray) -> None:
        self.total += float(self.batch_sum(output, target))
        self.count += len(target)

    @abc.abstractmethod
    def batch_sum(self, output: np.ndarray, target: np.ndarray) -> float:
        """The sum over the batch's samples of the per-sample value."""

    def compute(self) -> float:
        return self.total / self.count if self.count else math.nan


class Accuracy(Metric):
    """Share of samples whose predicted class is the target: the argmax over the last axis of the
    scores, or for one score per sample (binary logits) ``score > threshold`` (0: logits)."""

    name, mode = "accuracy", "max"

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = threshold
        super().__init__()

    def batch_sum(self, output, target):
        return np.count_nonzero(predicted_class(output, self.threshold) == _labels(target, output))


class TopKAccuracy(Metric):
    """Share of samples whose target is among the ``k`` highest scores."""

    mode = "max"

    def __init__(self, k: int) -> None:
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k: expected a positive int, got {k!r}")
        self.k, self.name = k, f"top{k}_accuracy"
        super().__init__()

    def batch_sum(self, output, target):
        k = min(self.k, output.shape[-1])
        top = np.argpartition(-output, k - 1, axis=-1)[..., :k]
        return np.count_nonzero(top == _labels(target, output)[..., None])


class MeanSquaredError(Metric):
    name, mode = "mse", "min"

    def batch_sum(self, output, target):
        diff = output.reshape(len(target), -1) - target.reshape(len(target), -1)
        return np.square(diff, dtype=np.float64).mean(axis=1).sum()


class MeanAbsoluteError(Metric):
    name, mode = "mae", "min"

    def batch_sum(self, output, target):
        diff = output.reshape(len(target), -1) - target.reshape(len(target), -1)
        return np.abs(diff).astype(np.float64).mean(axis=1).sum()


class RootMeanSquaredError(MeanSquaredError):
    name, mode = "rmse", "min"

    def compute(self) -> float:
        return math.sqrt(super().compute())


class FunctionMetric(Metric):
    """A function ``f(output, target) -> float`` (a batch mean), averaged over samples."""

    mode = "max"

    def __init__(self, fn: Callable, name: str | None = None, mode: str = "max") -> None:
        self.fn, self.name, self.mode = fn, name or getattr(fn, "__name__", "metric"), mode
        super().__init__()

    def batch_sum(self, output, target):
        return float(self.fn(output, target)) * len(target)


_NAMED = {"accuracy": Accuracy, "acc": Accuracy, "mse": MeanSquaredError, "mae": MeanAbsoluteError,
          "rmse": RootMeanSquaredError}


def make_metrics(metrics: Iterable) -> list[Metric]:
    """Metric objects for ``fit``'s ``metrics`` argument (names, Metric objects or functions)."""
    if isinstance(metrics, (str, Metric)) or callable(metrics):
        metrics = (metrics,)
    out = []
    for m in metrics:
        if isinstance(m, Metric):
            out.append(m)
        elif isinstance(m, str):
            out.append(_named(m))
        elif callable(m):
            out.append(FunctionMetric(m))
        else:
            raise TypeError(f"metrics: expected names, Metric objects or functions, got {type(m).__name__}")
    names = [m.name for m in out]
    if len(set(names)) != len(names) or "loss" in names:
        raise ValueError(f"metrics: names must be distinct and not 'loss', got {names}")
    return out


def _named(name: str) -> Metric:
    top = re.fullmatch(r"top(\d+)_acc(uracy)?", name)
    if top:
        return TopKAccuracy(int(top.group(1)))
    if name not in _NAMED:
        raise ValueError(f"metrics: unknown metric {name!r}; expected one of {sorted(_NAMED)} or 'top<k>_accuracy'")
    return _NAMED[name]()


def predicted_class(output: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Class predictions from scores: argmax over the last axis, or ``> threshold`` for one score."""
    if output.ndim >= 2 and output.shape[-1] > 1:
        return output.argmax(axis=-1)
    return (output.reshape(output.shape[:-1] if output.ndim >= 2 else output.shape) > threshold).astype(np.int64)


def _labels(target: np.ndarray, output: np.ndarray) -> np.ndarray:
    """Integer labels; probability (one-hot or soft) targets give their argmax."""
    if target.ndim == output.ndim and output.ndim >= 2 and output.shape[-1] > 1:
        return target.argmax(axis=-1)
    if output.ndim >= 2 and output.shape[-1] == 1 and target.ndim == output.ndim:
        target = target.reshape(target.shape[:-1])
    return target.astype(np.int64, copy=False) if target.dtype.kind == "f" else target


def metric_mode(name: str, metrics: Iterable[Metric] = ()) -> str:
    """``'min'`` or ``'max'``: whether a smaller value of the monitored ``name`` is better."""
    base = name[4:] if name.startswith("val_") else name
    for m in metrics:
        if m.name == base:
            return m.mode
    if base in ("mse", "mae", "rmse") or "loss" in base or "error" in base:
        return "min"
    if "acc" in base or base in ("auc", "f1", "precision", "recall"):
        return "max"
    raise ValueError(f"mode: cannot tell whether {name!r} should go up or down; pass mode='min' or 'max'")
