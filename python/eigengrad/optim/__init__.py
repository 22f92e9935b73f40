"""Optimizers (``eigengrad.optim``): PyTorch's update rules, each step one fused C++ call per parameter
group; weight-decay param groups; the learning-rate range test; learning-rate schedules
(``eigengrad.optim.lr_scheduler``, ``eigengrad.optim.schedules``)."""
from __future__ import annotations

import importlib

from eigengrad.optim.adadelta import Adadelta
from eigengrad.optim.adafactor import Adafactor
from eigengrad.optim.adagrad import Adagrad
from eigengrad.optim.adam import Adam, AdamW
from eigengrad.optim.adamax import Adamax
from eigengrad.optim.lbfgs import LBFGS
from eigengrad.optim.lr_finder import LRRangeTestResult, lr_range_test
from eigengrad.optim.muon import Muon
from eigengrad.optim.nadam import NAdam
from eigengrad.optim.optimizer import Optimizer
from eigengrad.optim.param_groups import param_groups_weight_decay
from eigengrad.optim.radam import RAdam
from eigengrad.optim.rmsprop import RMSprop
from eigengrad.optim.rprop import ASGD, Rprop
from eigengrad.optim.sgd import SGD
from eigengrad.optim.sparse_adam import SparseAdam

OPTIMIZERS = ("SGD", "Adam", "AdamW", "NAdam", "Adamax", "RAdam", "Adagrad", "RMSprop", "Adadelta", "Rprop", "ASGD")
# Adafactor, Muon and SparseAdam (like LBFGS) step per parameter in Python, outside the fused kernels' table of rules
__all__ = ["Optimizer", *OPTIMIZERS, "LBFGS", "Adafactor", "Muon", "SparseAdam", "param_groups_weight_decay", "lr_range_test", "LRRangeTestResult",
           "lr_scheduler", "schedules", "swa_utils"]
_LAZY = ("lr_scheduler", "schedules", "swa_utils")  # imported on first use, to keep `import eigengrad` fast


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
