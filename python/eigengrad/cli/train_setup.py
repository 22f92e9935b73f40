"""What ``python -m eigengrad train`` builds from its options: the data, the MLP, the optimizer and the
schedule. Each function takes the parsed arguments and returns one thing."""
from __future__ import annotations

import argparse

import numpy as np

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim import lr_scheduler

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU,
               "selu": nn.SELU, "gelu": nn.GELU}
OPTIMIZERS = {"sgd": eg.optim.SGD, "adam": eg.optim.Adam, "adamw": eg.optim.AdamW, "nadam": eg.optim.NAdam,
              "rmsprop": eg.optim.RMSprop, "adagrad": eg.optim.Adagrad, "adadelta": eg.optim.Adadelta}
SCHEDULES = ("none", "step", "cosine", "onecycle", "exponential", "plateau")


def load_data(args: argparse.Namespace, generator: eg.Generator):
    """``(train, val, test)`` as ``(X float32 N x D, y int64)`` pairs; val is None without a split."""
    if args.dataset == "digits":
        X, y = eg.datasets.load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        perm = eg.randperm(len(X), generator=generator).numpy()
        n_test = int(round(len(X) * _fraction("--test-fraction", args.test_fraction)))
        test, rest = (X[perm[:n_test]], y[perm[:n_test]]), (X[perm[n_test:]], y[perm[n_test:]])
    else:
        (Xtr, ytr), (Xte, yte) = eg.datasets.fashion_mnist(), eg.datasets.fashion_mnist(train=False)
        flat = lambda a: (a.reshape(len(a), -1) / 255.0).astype(np.float32)  # noqa: E731
        rest, test = (flat(Xtr), ytr.astype(np.int64)), (flat(Xte), yte.astype(np.int64))
    if args.val_fraction == 0:
        return rest, None, test
    n_val = int(round(len(rest[0]) * _fraction("--val-fraction", args.val_fraction)))
    perm = eg.randperm(len(rest[0]), generator=generator).numpy()
    val, train = perm[:n_val], perm[n_val:]
    return (rest[0][train], rest[1][train]), (rest[0][val], rest[1][val]), test


def _fraction(flag: str, value: float) -> float:
    if not 0.0 < value < 1.0:
        raise SystemExit(f"{flag}: expected a value in (0, 1), got {value}")
    return value


def build_model(sizes: list[int], activation: str, batch_norm: bool = False, dropout: float = 0.0) -> nn.Module:
    """An MLP: ``Linear [BatchNorm1d] activation [Dropout]`` per hidden layer, then the output Linear."""
    layers = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers.append(nn.Linear(a, b))
        if batch_norm:
            layers.append(nn.BatchNorm1d(b))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))


def build_optimizer(args: argparse.Namespace, model: nn.Module):
    """The optimizer, with weight decay kept off biases and normalisation parameters."""
    groups = eg.optim.param_groups_weight_decay(model, weight_decay=args.weight_decay)
    kwargs = {"lr": args.lr}
    if args.optimizer in ("sgd", "rmsprop"):
        kwargs["momentum"] = args.momentum
    return OPTIMIZERS[args.optimizer](groups, **kwargs)


def build_scheduler(args: argparse.Namespace, optimizer, steps_per_epoch: int):
    """The learning-rate schedule over the run (``none`` gives None)."""
    epochs = args.epochs
    if args.schedule == "none":
        return None
    if args.schedule == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    if args.schedule == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    if args.schedule == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, gamma=0.95)
    if args.schedule == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
    return lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=max(1, epochs * steps_per_epoch))
