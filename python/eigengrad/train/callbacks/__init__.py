"""Callbacks for :class:`eigengrad.train.Trainer` (the protocol is in :mod:`.base`)."""
from eigengrad.train.callbacks.base import HOOKS, Callback, CallbackList
from eigengrad.train.callbacks.checkpoint import ModelCheckpoint
from eigengrad.train.callbacks.early_stopping import EarlyStopping
from eigengrad.train.callbacks.loggers import CSVLogger, JSONLogger, LambdaCallback, LearningRateMonitor

__all__ = ["HOOKS", "Callback", "CallbackList", "EarlyStopping", "ModelCheckpoint", "LearningRateMonitor",
           "CSVLogger", "JSONLogger", "LambdaCallback"]
