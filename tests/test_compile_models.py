"""eg.compile on the examples' models: the CNN of examples/fashion_mnist_cnn.py (Conv2d, BatchNorm2d,
ReLU, MaxPool2d, Flatten, Dropout, Linear; AdamW + OneCycleLR) and the GRU of
examples/fashion_mnist_gru.py (2-layer GRU, batch_first, dropout between layers; the returned gradient
norm of clip_grad_norm_): 50 compiled steps equal 50 eager ones bit for bit, on 1 and 2 threads."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim.lr_scheduler import OneCycleLR
from compile_cases import same

STEPS = 50


def cnn() -> nn.Module:
    """The example's CNN with fewer channels (the same layers and options)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(16 * 7 * 7, 32), nn.ReLU(), nn.Linear(32, 10))


class RowGRU(nn.Module):
    """The GRU example's model: rows of a (N, 28, 28) batch read by a 2-layer GRU, the last hidden state
    classified."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(28, 24, num_layers=2, batch_first=True, dropout=0.2)
        self.head = nn.Linear(24, 10)

    def forward(self, x):
        _, h_n = self.gru(x)
        return self.head(h_n[-1])


def _data(shape, n: int = 12, seed: int = 4) -> list:
    rng = np.random.default_rng(seed)
    return [(eg.from_numpy(rng.standard_normal((n, *shape)).astype(np.float32)),
             eg.from_numpy(rng.integers(0, 10, n).astype(np.int64))) for _ in range(STEPS)]


def _train(build, shape, compiled: bool, clip: float | None):
    eg.manual_seed(0)
    model = build()
    opt = eg.optim.AdamW(eg.optim.param_groups_weight_decay(model, 1e-2), lr=3e-3)
    sched = OneCycleLR(opt, max_lr=1e-2, total_steps=STEPS)
    loss_fn = nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), clip) if clip is not None else None
        opt.step()
        return loss, norm

    fn = eg.compile(step) if compiled else step
    out = []
    for x, y in _data(shape):
        loss, norm = fn(x, y)
        out.append(loss.numpy().copy())
        if norm is not None:
            out.append(norm.numpy().copy())
        sched.step()
    out += [p._data.copy() for p in model.parameters()] + [b._data.copy() for _, b in model.named_buffers()]
    out += [np.asarray(v).copy() for p in model.parameters() for _, v in sorted(opt.state[p].items())]
    return out, fn


@pytest.mark.parametrize("name", ["cnn", "gru"])
def test_example_models_compiled_equal_eager(name, restore_threads):
    build, shape, clip = (cnn, (1, 28, 28), None) if name == "cnn" else (RowGRU, (28, 28), 1.0)
    want, _ = _train(build, shape, False, clip)
    runs = []
    for threads in (1, 2):
        eg.set_num_threads(threads)
        got, fn = _train(build, shape, True, clip)
        assert fn.fallback_reason is None and fn.replays == STEPS - 4
        same(got, want)
        runs.append(got)
    same(runs[0], runs[1])
