"""Optimizers (``eigengrad.optim``): PyTorch's update rules, each step one fused C++ call per group."""
from eigengrad.optim.adadelta import Adadelta
from eigengrad.optim.adagrad import Adagrad
from eigengrad.optim.adam import Adam, AdamW
from eigengrad.optim.nadam import NAdam
from eigengrad.optim.optimizer import Optimizer
from eigengrad.optim.rmsprop import RMSprop
from eigengrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "NAdam", "Adagrad", "RMSprop", "Adadelta"]
