"""Optimizers (``eigengrad.optim``): one fused C++ call per parameter group."""
from eigengrad.optim.lr_finder import LRRangeTestResult, lr_range_test
from eigengrad.optim.optimizer import Optimizer
from eigengrad.optim.param_groups import param_groups_weight_decay
from eigengrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "param_groups_weight_decay", "lr_range_test", "LRRangeTestResult"]
