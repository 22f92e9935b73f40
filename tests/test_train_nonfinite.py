"""fit and non-finite losses or empty loaders: a NaN loss stops training with an error naming the epoch
and the batch (before that batch changes the weights), on_nonfinite='warn'/'ignore' train on, an empty
train or validation loader is a ValueError naming the loader."""
import logging

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.train import Trainer, evaluate, fit
from train_helpers import digits, mlp


def nan_loader(batch_size=32, bad_row=7 * 32 + 5):
    """The digits with one NaN pixel, in sample ``bad_row`` (batch 7 when not shuffled)."""
    (X, y), _ = digits()
    X = X.copy()
    X[bad_row, 10] = np.nan
    return eg.data.DataLoader(eg.data.TensorDataset(X, y), batch_size=batch_size)


def test_one_nan_pixel_stops_fit_naming_the_batch():
    """The acceptance check."""
    model = mlp(dropout=0.0)
    opt = eg.optim.SGD(model.parameters(), lr=0.05)
    loader = nan_loader()
    with pytest.raises(RuntimeError, match=r"fit: the loss is nan at epoch 1, batch 7 \(counted from 0 of 19\)"):
        fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=3, progress=False)
    assert all(np.isfinite(p.detach().numpy()).all() for p in model.parameters())  # stopped before the bad step


def test_the_weights_are_those_after_the_previous_batch():
    loader = nan_loader()
    stopped = mlp(dropout=0.0)
    with pytest.raises(RuntimeError):
        fit(stopped, nn.CrossEntropyLoss(), eg.optim.SGD(stopped.parameters(), lr=0.05), loader, epochs=1,
            progress=False)
    by_hand = mlp(dropout=0.0)
    opt = eg.optim.SGD(by_hand.parameters(), lr=0.05)
    for i, (x, y) in enumerate(loader):
        if i == 7:
            break
        opt.zero_grad()
        nn.functional.cross_entropy(by_hand(x), y).backward()
        opt.step()
    for p, q in zip(stopped.parameters(), by_hand.parameters()):  # (batch norm's statistics saw batch 7)
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


@pytest.mark.parametrize("mode", ["warn", "ignore"])
def test_warn_and_ignore_train_on(caplog, mode):
    model = mlp(dropout=0.0)
    with caplog.at_level(logging.WARNING, logger="eigengrad.train"):
        history = fit(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters(), lr=0.05), nan_loader(),
                      epochs=2, progress=False, on_nonfinite=mode)
    assert len(history["loss"]) == 2 and np.isnan(history["loss"][0])
    warned = [r for r in caplog.records if "the loss is nan at epoch" in r.getMessage()]
    assert len(warned) == (2 if mode == "warn" else 0)  # once an epoch


def test_bad_on_nonfinite_value_is_refused():
    model = mlp()
    with pytest.raises(ValueError, match=r"on_nonfinite: expected one of \('raise', 'warn', 'ignore'\), got 'skip'"):
        Trainer(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters(), lr=0.1), on_nonfinite="skip")


def test_empty_loaders_are_errors_naming_the_loader():
    (X, y), _ = digits()
    full = eg.data.DataLoader(eg.data.TensorDataset(X, y), batch_size=32)
    empty = eg.data.DataLoader(eg.data.TensorDataset(X[:0], y[:0]), batch_size=32)
    model = mlp()
    opt = eg.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="train_loader: expected at least one batch, got an empty DataLoader"):
        fit(model, nn.CrossEntropyLoss(), opt, empty, epochs=1, progress=False)
    with pytest.raises(ValueError, match="val_loader: expected at least one batch, got an empty DataLoader"):
        fit(model, nn.CrossEntropyLoss(), opt, full, epochs=1, val_loader=empty, progress=False)
    with pytest.raises(ValueError, match="train_loader: expected at least one batch, got none in epoch 1"):
        fit(model, nn.CrossEntropyLoss(), opt, iter(()), epochs=1, progress=False)  # no len(): found when it runs
    with pytest.raises(ValueError, match="loader: expected at least one batch to evaluate"):
        evaluate(model, iter(()), nn.CrossEntropyLoss())
