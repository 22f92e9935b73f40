"""Optimizers (``eigengrad.optim``): one fused C++ call per parameter group; learning-rate schedulers."""
from __future__ import annotations

import importlib

from eigengrad.optim.optimizer import Optimizer
from eigengrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "lr_scheduler", "schedules"]
_LAZY = ("lr_scheduler", "schedules")  # imported on first use, to keep `import eigengrad` fast


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
