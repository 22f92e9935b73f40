"""Optimizers (``eigengrad.optim``): one fused C++ call per parameter group; learning-rate schedulers."""
from eigengrad.optim.optimizer import Optimizer
from eigengrad.optim.sgd import SGD
from eigengrad.optim import lr_scheduler, schedules

__all__ = ["Optimizer", "SGD", "lr_scheduler", "schedules"]
