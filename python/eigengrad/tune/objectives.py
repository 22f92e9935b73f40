"""Ready-made objectives: the MLP of ``python -m eigengrad train`` on the digits or Fashion-MNIST,
trained with ``eg.train`` and reporting ``val_accuracy`` every epoch (so halving strategies can stop
it, and continue it from its checkpoint when promoted).

A config holds ``lr`` and optionally ``momentum``, ``weight_decay``, ``optimizer`` (default sgd),
``hidden`` (a tuple of sizes), ``activation``, ``dropout``, ``batch_norm``, ``batch_size``, ``epochs``
(used when no budget is set), ``dataset`` (``digits`` or ``fashion-mnist``), ``train_subset`` and
``val_fraction`` (the share of the non-test images held out for validation, default 0.2; on the digits
0.5 gives 719 validation images, 40% of the 1,797, one image = 0.14%).
"""
from __future__ import annotations

import functools

import eigengrad as eg
from eigengrad import nn
from eigengrad.train import Callback, Trainer, presets
from eigengrad.tune.trial import ReportCallback, Reporter

DEFAULTS = {"dataset": "digits", "hidden": (128, 64), "activation": "relu", "dropout": 0.0, "batch_norm": False,
            "optimizer": "sgd", "momentum": 0.9, "weight_decay": 0.0, "batch_size": 32, "epochs": 10,
            "train_subset": None, "data_seed": 0, "val_fraction": 0.2}


@functools.lru_cache(maxsize=4)
def _data(dataset: str, data_seed: int, train_subset: int | None, val_fraction: float):
    """Train/validation split (the test set is never seen by a search), cached per worker process."""
    train, val, _ = presets.classification_data(dataset, eg.Generator(data_seed), val_fraction=val_fraction)
    if train_subset:
        train = (train[0][:train_subset], train[1][:train_subset])
    return train, val


def mlp_classifier(config: dict, reporter: Reporter) -> dict:
    """Train the configured MLP; report ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy`` each epoch."""
    c = {**DEFAULTS, **config}
    (Xtr, ytr), (Xva, yva) = _data(c["dataset"], c["data_seed"], c["train_subset"], c["val_fraction"])
    model = presets.mlp([Xtr.shape[1], *c["hidden"], 10], c["activation"], batch_norm=c["batch_norm"],
                        dropout=c["dropout"])
    optimizer = presets.optimizer(c["optimizer"], model, lr=c["lr"], momentum=c["momentum"],
                                  weight_decay=c["weight_decay"])
    loader = eg.data.DataLoader(eg.data.TensorDataset(Xtr, ytr), batch_size=c["batch_size"], shuffle=True,
                                generator=eg.Generator(reporter.seed))
    val_loader = eg.data.DataLoader(eg.data.TensorDataset(Xva, yva), batch_size=1024)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, callbacks=[_ConfigOptions(optimizer), ReportCallback(reporter)],
                      progress=False)
    trainer.fit(loader, epochs=reporter.max_epochs or c["epochs"], val_loader=val_loader,
                resume_from=reporter.resume_from)
    return {k: v[-1] for k, v in trainer.history.history.items()}


class _ConfigOptions(Callback):
    """Puts the configuration's learning rate, momentum and weight decay back into the optimizer after a
    resume has loaded the checkpoint's: Ray Tune's PBT continues a trial from another trial's state with
    mutated hyperparameters (for any other resume the two are equal)."""

    NAMES = ("lr", "momentum", "weight_decay")

    def __init__(self, optimizer) -> None:
        self.optimizer = optimizer
        self.options = [{k: g[k] for k in self.NAMES if k in g} for g in optimizer.param_groups]

    def on_train_begin(self, trainer) -> None:
        for group, options in zip(self.optimizer.param_groups, self.options):
            group.update(options)
