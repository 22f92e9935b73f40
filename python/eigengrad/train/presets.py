"""Ready-made pieces named by strings: the classification data splits, the MLP and its activations, the
optimizers and the default learning-rate schedules. Shared by the command line (``python -m eigengrad
train``), the scikit-learn estimators and the tuning objectives, so that a name means the same thing
everywhere."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from eigengrad import datasets, nn, optim
from eigengrad.optim import lr_scheduler
from eigengrad.random import Generator
from eigengrad.tensor import randperm

# name -> module class; "logistic" and "identity" are scikit-learn's names.
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "logistic": nn.Sigmoid, "identity": nn.Identity,
    "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "selu": nn.SELU, "gelu": nn.GELU,
}
OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW, "nadam": optim.NAdam,
              "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad, "adadelta": optim.Adadelta}
SCHEDULES = ("step", "cosine", "exponential", "onecycle")


def classification_data(dataset: str, generator: Generator, *, test_fraction: float = 0.2, val_fraction: float = 0.0):
    """``(train, val, test)`` as ``(X float32 N x D, y int64)`` pairs of ``"digits"`` (pixels / 16; a
    ``test_fraction`` held out) or ``"fashion-mnist"`` (pixels / 255; its own test set); ``val_fraction`` of
    the rest is held out for validation (val is None when it is 0). The splits are drawn from ``generator``."""
    for name, value in (("test_fraction", test_fraction), ("val_fraction", val_fraction)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name}: expected a value in [0, 1), got {value}")
    if dataset == "digits":
        X, y = datasets.load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        perm = randperm(len(X), generator=generator).numpy()
        n_test = int(round(len(X) * test_fraction))
        test, rest = (X[perm[:n_test]], y[perm[:n_test]]), (X[perm[n_test:]], y[perm[n_test:]])
    elif dataset == "fashion-mnist":
        (Xtr, ytr), (Xte, yte) = datasets.fashion_mnist(), datasets.fashion_mnist(train=False)
        flat = lambda a: (a.reshape(len(a), -1) / 255.0).astype(np.float32)  # noqa: E731
        rest, test = (flat(Xtr), ytr.astype(np.int64)), (flat(Xte), yte.astype(np.int64))
    else:
        raise ValueError(f"dataset: expected 'digits' or 'fashion-mnist', got {dataset!r}")
    if val_fraction == 0:
        return rest, None, test
    n_val = int(round(len(rest[0]) * val_fraction))
    perm = randperm(len(rest[0]), generator=generator).numpy()
    val, train = perm[:n_val], perm[n_val:]
    return (rest[0][train], rest[1][train]), (rest[0][val], rest[1][val]), test


def optimizer(name: str, model: nn.Module, *, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
    """The optimizer ``name`` over ``model``, weight decay kept off biases and normalisation parameters
    (``momentum`` is used by sgd and rmsprop)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {sorted(OPTIMIZERS)}, got {name!r}")
    groups = optim.param_groups_weight_decay(model, weight_decay=weight_decay)
    kwargs = {"lr": lr, **({"momentum": momentum} if name in ("sgd", "rmsprop") else {})}
    return OPTIMIZERS[name](groups, **kwargs)


def mlp(sizes: Sequence[int], activation: str = "relu", *, batch_norm: bool = False, dropout: float = 0.0,
        dtype=None) -> nn.Sequential:
    """``[Linear, (BatchNorm1d), activation, (Dropout)]`` per hidden layer, then the output Linear;
    ``sizes`` = (inputs, hidden..., outputs)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {activation!r}")
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers.append(nn.Linear(a, b, dtype=dtype))
        if batch_norm:
            layers.append(nn.BatchNorm1d(b, dtype=dtype))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1], dtype=dtype))


def schedule(name: str, optimizer, *, epochs: int, steps_per_epoch: int, max_lr: float, **overrides):
    """The default schedule ``name`` over a run of ``epochs``; ``overrides`` replace its arguments.

    step: x0.1 every ``max(1, epochs // 3)`` epochs; cosine: anneals to 0 over ``epochs``; exponential:
    x0.95 every epoch; onecycle: peaks at ``max_lr`` over ``epochs * steps_per_epoch`` batches (stepped per
    batch).
    """
    if name == "step":
        return lr_scheduler.StepLR(optimizer, **{"step_size": max(1, epochs // 3), "gamma": 0.1, **overrides})
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, **{"T_max": max(1, epochs), **overrides})
    if name == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, **{"gamma": 0.95, **overrides})
    if name == "onecycle":
        return lr_scheduler.OneCycleLR(optimizer, **{"max_lr": max_lr, "total_steps": max(1, epochs * steps_per_epoch),
                                                     **overrides})
    raise ValueError(f"schedule: expected one of {SCHEDULES}, got {name!r}")
