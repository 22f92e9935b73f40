"""The learning-rate range test (Smith 2017, "Cyclical Learning Rates for Training Neural Networks", sec. 3.3).

Train for ``num_steps`` mini-batches while the learning rate grows exponentially from ``start_lr`` to
``end_lr``, recording the loss after each step: too small a rate barely moves the loss, a good one makes it
fall fastest, too large a one makes it blow up. The sweep, the smoothing and the stopping rule follow the
fastai / torch-lr-finder implementations:

.. math::
    \\eta_i = \\eta_0 (\\eta_{end} / \\eta_0)^{i / (n - 1)},\\qquad
    a_i = \\beta a_{i-1} + (1 - \\beta) \\ell_i,\\qquad
    \\bar\\ell_i = a_i / (1 - \\beta^{i+1}),\\qquad \\beta = 1 - \\text{smooth}

(an exponential moving average with Adam-style bias correction, so early points are not pulled toward 0),
stopping once :math:`\\bar\\ell_i > \\text{diverge\\_threshold} \\cdot \\min_{j \\le i} \\bar\\ell_j` or the
loss is not finite.

The suggestion, ``suggested_lr``, is a tenth of the rate at the minimum of the smoothed curve (fastai's
"lr_min / 10"): the rate at the minimum is already about where training becomes unstable. The
steepest-descent point of the smoothed curve (torch-lr-finder's rule) is reported as ``steepest_lr``;
it is not the suggestion because the moving average lags about 1 / smooth steps behind the raw loss,
which moves the steepest point toward larger rates in a short sweep. Measured on the digits MLP
(64-64-10, SGD momentum 0.9, 100 steps from 1e-5 to 10, 8 seeds), where the best fixed rate after two
epochs is 0.1: ``suggested_lr`` gave 0.05 .. 0.16, ``steepest_lr`` 0.3 .. 0.7.
"""
from __future__ import annotations

import copy
import logging
import math
import numbers
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from eigengrad import random as _random
from eigengrad.nn.modules.module import Module
from eigengrad.optim.sgd import SGD
from eigengrad.utils.progress import progress as _progress

logger = logging.getLogger(__name__)


@dataclass
class LRRangeTestResult:
    """What :func:`lr_range_test` measured.

    Attributes:
        lrs: the learning rate of each step taken (exponentially spaced).
        losses: the smoothed (bias-corrected exponential moving average) loss after each step.
        raw_losses: the mini-batch loss of each step.
        suggested_lr: ``best_lr / 10``, the rate to train with (None if no loss was finite).
        best_lr: the rate at the minimum of the smoothed curve.
        steepest_lr: the rate where the smoothed curve falls fastest in log(lr), before its minimum
            (torch-lr-finder's suggestion; None if the curve is too short).
        diverged: True if the test stopped early because the loss blew up.
    """

    lrs: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    raw_losses: list = field(default_factory=list)
    suggested_lr: float | None = None
    best_lr: float | None = None
    steepest_lr: float | None = None
    diverged: bool = False

    def plot(self, ax=None, show_suggestion: bool = True):
        """Draw the smoothed loss against the learning rate on a log-x axis; returns the axes.

        Needs matplotlib (``pip install matplotlib``), imported only here.
        """
        from eigengrad.utils.plotting import new_axes

        ax = ax if ax is not None else new_axes("the LR range test")
        ax.plot(self.lrs, self.losses, label="smoothed loss")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        if show_suggestion and self.suggested_lr is not None:
            ax.axvline(self.suggested_lr, color="tab:red", linestyle="--",
                       label=f"suggested lr {self.suggested_lr:.2g}")
        ax.legend()
        return ax


def lr_range_test(model: Module, loss_fn: Callable, loader: Iterable, start_lr: float = 1e-7, end_lr: float = 10.0,
                  num_steps: int = 100, *, optimizer: Callable | None = None, smooth: float = 0.05,
                  diverge_threshold: float = 5.0, progress: bool = False, plot: bool = False) -> LRRangeTestResult:
    """Run Smith's learning-rate range test on a deep copy of ``model`` (``model`` itself is not touched).

    Args:
        model: the model; the test trains ``copy.deepcopy(model)`` in training mode.
        loss_fn: ``loss_fn(model(x), y)`` gives the scalar loss of a batch.
        loader: an iterable of ``(x, y)`` batches (e.g. a DataLoader), started again when it runs out.
        start_lr, end_lr: the first and last learning rate (0 < start_lr < end_lr).
        num_steps: mini-batches in the sweep (>= 2); the rates are exponentially spaced.
        optimizer: ``optimizer(params, lr)`` builds the optimizer; default SGD with momentum 0.9.
        smooth: the weight of the newest loss in the moving average, in (0, 1].
        diverge_threshold: stop when the smoothed loss exceeds this times its minimum so far (> 1).
        progress: show a progress bar (``eigengrad.utils.progress``).
        plot: draw the curve with :meth:`LRRangeTestResult.plot` (needs matplotlib).

    The default random generator's state is restored afterwards, so a shuffling loader or dropout in the
    sweep does not change what a later training run draws.

    Example:
        >>> result = eg.optim.lr_range_test(model, nn.CrossEntropyLoss(), loader, 1e-5, 10, 100)
        >>> opt = eg.optim.SGD(model.parameters(), lr=result.suggested_lr, momentum=0.9)
    """
    _check_arguments(model, loss_fn, start_lr, end_lr, num_steps, optimizer, smooth, diverge_threshold)
    lrs = exponential_lrs(start_lr, end_lr, num_steps)
    rng_state = _random.get_rng_state()
    try:
        result = _sweep(_fresh_copy(model), loss_fn, loader, lrs, optimizer, 1.0 - smooth, diverge_threshold,
                        progress)
    finally:
        _random.set_rng_state(rng_state)
    finite = [(loss, lr) for loss, lr in zip(result.losses, result.lrs) if math.isfinite(loss)]
    if finite:
        result.best_lr = min(finite)[1]
        result.suggested_lr = result.best_lr / 10
        if result.best_lr == result.lrs[-1]:
            logger.info("lr_range_test: the loss was still falling at end_lr=%.3g; a larger end_lr may "
                        "suggest a larger rate", result.lrs[-1])
    result.steepest_lr = steepest_lr(result.lrs, result.losses)
    if plot:
        result.plot()
    return result


def exponential_lrs(start_lr: float, end_lr: float, num_steps: int) -> list[float]:
    """start_lr * (end_lr / start_lr) ** (i / (num_steps - 1)) for i = 0 .. num_steps - 1 (ends exact)."""
    ratio = end_lr / start_lr
    lrs = [start_lr * ratio ** (i / (num_steps - 1)) for i in range(num_steps)]
    lrs[-1] = float(end_lr)
    return lrs


def steepest_lr(lrs: list[float], losses: list[float]) -> float | None:
    """The rate of steepest descent of the smoothed loss in log(lr), before the curve's minimum.

    The first 10% of the points are skipped (the moving average is still settling there); None when
    fewer than 3 points remain.
    """
    finite = [i for i, loss in enumerate(losses) if math.isfinite(loss)]
    if not finite:
        return None
    end = min(finite, key=lambda i: losses[i]) + 1
    start = min(len(losses) // 10, max(end - 3, 0))
    if end - start < 3:
        return None
    y = np.asarray(losses[start:end], dtype=np.float64)
    slope = np.gradient(y, np.log(np.asarray(lrs[start:end], dtype=np.float64)))
    return float(lrs[start + int(np.argmin(slope))])


# --- the sweep ---------------------------------------------------------------------------------------

def _sweep(model: Module, loss_fn, loader, lrs: list[float], optimizer, beta: float, diverge_threshold: float,
           show_progress: bool) -> LRRangeTestResult:
    params = [p for p in model.parameters() if p.requires_grad]
    opt = optimizer(params, lrs[0]) if optimizer is not None else SGD(params, lr=lrs[0], momentum=0.9)
    if not hasattr(opt, "param_groups") or not hasattr(opt, "step"):
        raise TypeError(f"optimizer: expected optimizer(params, lr) to return an Optimizer, got {type(opt).__name__}")
    result = LRRangeTestResult()
    avg, best = 0.0, math.inf
    batches = _cycle(loader)
    bar = _progress(range(len(lrs)), total=len(lrs), desc="lr range test", disable=not show_progress)
    for i in bar:
        raw = _train_step(model, loss_fn, opt, next(batches), lrs[i])
        avg = beta * avg + (1.0 - beta) * raw
        smoothed = avg / (1.0 - beta ** (i + 1))
        result.lrs.append(lrs[i])
        result.raw_losses.append(raw)
        result.losses.append(smoothed)
        bar.set_postfix_str(f"lr {lrs[i]:.2e} loss {smoothed:.4f}", refresh=False)
        best = min(best, smoothed)
        if not math.isfinite(smoothed) or smoothed > diverge_threshold * best:
            result.diverged = True
            logger.info("lr_range_test: the loss diverged at lr %.3g (step %d of %d); stopping", lrs[i], i + 1,
                        len(lrs))
            break
    bar.close()
    return result


def _train_step(model: Module, loss_fn, opt, batch, lr: float) -> float:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise TypeError(f"loader: expected batches of (input, target), got {type(batch).__name__}")
    x, y = batch
    for group in opt.param_groups:
        group["lr"] = lr
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return float(loss.item())


def _cycle(loader: Iterable):
    """The batches of ``loader`` again and again (a new epoch each time it runs out)."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise ValueError("loader: expected at least one batch, got an empty loader")


def _fresh_copy(model: Module) -> Module:
    """A deep copy of ``model`` with no gradients, in training mode (a copy belongs to no optimizer's arena)."""
    work = copy.deepcopy(model)
    for p in work.parameters():
        p.grad = None
    return work.train()


def _check_arguments(model, loss_fn, start_lr, end_lr, num_steps, optimizer, smooth, diverge_threshold) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"model: expected an eigengrad.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn: expected a callable loss_fn(output, target), got {type(loss_fn).__name__}")
    if optimizer is not None and not callable(optimizer):
        raise TypeError(f"optimizer: expected a callable optimizer(params, lr) or None, got {type(optimizer).__name__}")
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr), ("smooth", smooth),
                        ("diverge_threshold", diverge_threshold)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    if not (0 < start_lr < math.inf):
        raise ValueError(f"start_lr: expected a finite learning rate > 0, got {start_lr}")
    if not (start_lr < end_lr < math.inf):
        raise ValueError(f"end_lr: expected a finite learning rate > start_lr ({start_lr}), got {end_lr}")
    if isinstance(num_steps, bool) or not isinstance(num_steps, numbers.Integral):
        raise TypeError(f"num_steps: expected an int, got {type(num_steps).__name__}")
    if num_steps < 2:
        raise ValueError(f"num_steps: expected at least 2 steps, got {num_steps}")
    if not 0 < smooth <= 1:
        raise ValueError(f"smooth: expected a value in (0, 1], got {smooth}")
    if not diverge_threshold > 1:
        raise ValueError(f"diverge_threshold: expected a value > 1, got {diverge_threshold}")
