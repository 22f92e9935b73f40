"""The models and steps the eg.compile tests run compiled and eagerly side by side."""
from __future__ import annotations

import numpy as np

import eigengrad as eg
from eigengrad import nn


def mlp(seed: int = 0, hidden=(64, 32), n_in: int = 20, n_out: int = 10) -> nn.Module:
    """Linear, BatchNorm1d, ReLU, Dropout(0.2) blocks and a Linear head (the issue's MLP, smaller)."""
    eg.manual_seed(seed)
    layers, width = [], n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(0.2)]
        width = h
    return nn.Sequential(*layers, nn.Linear(width, n_out))


def batches(steps: int, n: int = 16, n_in: int = 20, n_out: int = 10, seed: int = 1) -> list:
    rng = np.random.default_rng(seed)
    return [(eg.from_numpy(rng.standard_normal((n, n_in)).astype(np.float32)),
             eg.from_numpy(rng.integers(0, n_out, n).astype(np.int64))) for _ in range(steps)]


def make_step(optimizer: str = "adamw", clip: float | None = None, scheduler: bool = False, seed: int = 0):
    """(step function, model, optimizer, scheduler or None): zero_grad, forward, cross-entropy with label
    smoothing, backward, optional clip_grad_norm_, optimizer step."""
    model = mlp(seed)
    if optimizer == "adamw":
        opt = eg.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    else:
        opt = eg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    sched = eg.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.5) if scheduler else None
    return step_of(model, opt, nn.CrossEntropyLoss(label_smoothing=0.1), clip), model, opt, sched


def step_of(model, opt, loss_fn, clip: float | None = None):
    """zero_grad, forward, loss, backward, optional clip_grad_norm_, optimizer step; returns the loss."""

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return loss

    return step


def train(step, sched, data: list, compiled: bool) -> list:
    """The losses of the steps over ``data``, stepping the scheduler (outside the step) after each."""
    fn = eg.compile(step) if compiled else step
    losses = []
    for x, y in data:
        losses.append(fn(x, y).detach().numpy().copy())
        if sched is not None:
            sched.step()
    return losses, fn


def state_arrays(model, opt) -> list:
    """Every number training changes: parameters, gradients, BatchNorm statistics and counters,
    optimizer state."""
    out = [p._data.copy() for p in model.parameters()]
    out += [p.grad._data.copy() for p in model.parameters() if p.grad is not None]
    out += [b._data.copy() for _, b in model.named_buffers()]
    for p in model.parameters():  # (a parameter replaced mid-run is not the optimizer's: no state)
        for k, v in sorted(opt.state.get(p, {}).items()):
            out.append(np.array(v).copy())
    return out


def same(a: list, b: list) -> None:
    """The arrays of ``a`` and ``b`` are equal bit for bit (dtype, shape and bytes)."""
    assert len(a) == len(b)
    for i, (u, v) in enumerate(zip(a, b)):
        assert u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes(), f"array {i} differs"
