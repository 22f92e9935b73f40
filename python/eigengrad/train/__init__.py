"""Training utilities: a fit loop with callbacks, metrics and exact resume.

    import eigengrad as eg
    from eigengrad.train import fit, EarlyStopping, ModelCheckpoint

    history = fit(model, nn.CrossEntropyLoss(), opt, train_loader, epochs=20, val_loader=val_loader,
                  scheduler=sched, callbacks=[EarlyStopping("val_loss", patience=3),
                                              ModelCheckpoint("run/last.safetensors")])
    fit(model, loss_fn, opt, train_loader, epochs=30, resume_from="run/last.safetensors")  # later

The loop is the one a user would write by hand (``zero_grad, forward, loss, backward, step``);
callbacks (:mod:`eigengrad.train.callbacks`) hook into it; :mod:`eigengrad.diagnostics` adds
gradient and activation monitoring.
"""
from eigengrad.train.callbacks import (
    Callback, CallbackList, CSVLogger, EarlyStopping, JSONLogger, LambdaCallback, LearningRateMonitor, ModelCheckpoint,
)
from eigengrad.train.history import History
from eigengrad.train.metrics import Accuracy, MeanAbsoluteError, MeanSquaredError, Metric, RootMeanSquaredError, TopKAccuracy
from eigengrad.train.trainer import Trainer, evaluate, fit, predict

__all__ = [
    "fit", "evaluate", "predict", "Trainer", "History", "Callback", "CallbackList", "EarlyStopping", "ModelCheckpoint",
    "LearningRateMonitor", "CSVLogger", "JSONLogger", "LambdaCallback", "Metric", "Accuracy", "TopKAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "RootMeanSquaredError",
]
