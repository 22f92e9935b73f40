"""Learning-rate schedulers (``torch.optim.lr_scheduler``'s names, arguments, defaults and numbers).

Build one on an optimizer and call ``scheduler.step()`` after ``optimizer.step()`` (once per epoch, or
per batch for ``CyclicLR``/``OneCycleLR``); ``ReduceLROnPlateau`` takes the metric: ``step(val_loss)``.

    opt = eg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = eg.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=100)

The schedules themselves are pure functions in :mod:`eigengrad.optim.schedules`. Beyond PyTorch:
``InverseTimeLR`` and ``NaturalExpLR``, and a ``ReduceLROnPlateau`` that composes with the others: in a
``ChainedScheduler`` it multiplies whatever the other schedulers set by its own factor (e.g. cosine
annealing cut in half at each plateau), and it can be a phase of a ``SequentialLR``.
"""
from eigengrad.optim._schedulers.base import EPOCH_DEPRECATION_WARNING, LRScheduler  # noqa: F401 (scripts import it)
from eigengrad.optim._schedulers.compose import ChainedScheduler, SequentialLR
from eigengrad.optim._schedulers.cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from eigengrad.optim._schedulers.cyclic import CyclicLR, OneCycleLR
from eigengrad.optim._schedulers.decay import (
    ConstantLR, ExponentialLR, InverseTimeLR, LinearLR, MultiStepLR, NaturalExpLR, PolynomialLR, StepLR,
)
from eigengrad.optim._schedulers.lambdas import LambdaLR, MultiplicativeLR
from eigengrad.optim._schedulers.plateau import ReduceLROnPlateau

_LRScheduler = LRScheduler  # PyTorch's older name, which custom schedulers in many repositories subclass

__all__ = [
    "LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
    "ExponentialLR", "InverseTimeLR", "NaturalExpLR", "PolynomialLR", "CosineAnnealingLR",
    "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler",
    "ReduceLROnPlateau",
]
