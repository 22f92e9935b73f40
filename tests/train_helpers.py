"""Small models and loaders shared by the training-loop tests."""
import numpy as np

import eigengrad as eg
from eigengrad import nn
from eigengrad.utils.state_tree import snapshot_state


def digits(n_train=600, n_val=200):
    X, y = eg.datasets.load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    return (X[:n_train], y[:n_train]), (X[n_train:n_train + n_val], y[n_train:n_train + n_val])


def mlp(seed=0, dropout=0.2):
    eg.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(dropout), nn.Linear(32, 10))


def loaders(seed=1, batch_size=32, num_workers=0, n_train=600, n_val=200):
    (Xtr, ytr), (Xva, yva) = digits(n_train, n_val)
    gen = eg.Generator(seed)
    train = eg.data.DataLoader(eg.data.TensorDataset(Xtr, ytr), batch_size=batch_size, shuffle=True, generator=gen,
                               num_workers=num_workers)
    val = eg.data.DataLoader(eg.data.TensorDataset(Xva, yva), batch_size=64)
    return train, val


def weights(model):
    return snapshot_state(model)


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert list(wa) == list(wb)
    for k in wa:
        assert np.array_equal(wa[k], wb[k]), f"{k} differs"
