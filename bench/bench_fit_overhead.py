"""The fit loop's own cost per batch: the same epochs of an MLP 784-512-256-10 (BatchNorm, dropout,
AdamW, batch 128) trained by the hand-written loop and by ``eg.train.fit`` with a progress bar drawn
(into a buffer), accuracy metric, EarlyStopping, LearningRateMonitor and a OneCycle schedule stepped
per batch (the hand loop steps it too). Prints medians per batch and the overhead as a share of a
step (the issue asks for < 5%), in wall time and in this process's CPU time (with one thread the CPU
time is what the loop costs even when other work on the machine takes the core away from it).

    python bench/bench_fit_overhead.py [--epochs 9] [--threads 1] [--batches 60]
"""
import argparse
import contextlib
import io
import statistics
import time

import numpy as np

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim.lr_scheduler import OneCycleLR
from eigengrad.train import EarlyStopping, LearningRateMonitor, Trainer


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=9, help="timed epochs per side, alternating (median)")
    p.add_argument("--batches", type=int, default=60, help="batches of 128 per epoch")
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args(argv)


def setup(n: int):
    eg.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2), nn.Linear(256, 10))
    opt = eg.optim.AdamW(model.parameters(), lr=1e-3)
    sched = OneCycleLR(opt, max_lr=1e-3, total_steps=10**7)
    rng = np.random.default_rng(0)
    X, y = rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)
    loader = eg.data.DataLoader(eg.data.TensorDataset(X, y), batch_size=128, shuffle=True, generator=eg.Generator(0))
    return model, opt, sched, loader


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def hand_epoch(model, opt, sched, loader, loss_fn) -> tuple[float, float]:
    start = clocks()
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        sched.step()
        loss.item()
    return tuple(b - a for a, b in zip(start, clocks()))


def fit_epoch(trainer, loader) -> tuple[float, float]:
    start = clocks()
    with contextlib.redirect_stderr(io.StringIO()):  # the bar is drawn, into a buffer
        trainer.fit(loader, epochs=trainer.epoch + 1)
    return tuple(b - a for a, b in zip(start, clocks()))


def main(argv=None) -> None:
    args = parse_args(argv)
    eg.set_num_threads(args.threads)
    model, opt, sched, loader = setup(128 * args.batches)
    loss_fn = nn.CrossEntropyLoss()
    trainer = Trainer(model, loss_fn, opt, scheduler=sched, metrics=("accuracy",),
                      callbacks=[EarlyStopping("loss", patience=1000), LearningRateMonitor()], progress=True)
    hand_epoch(model, opt, sched, loader, loss_fn)  # warm-up
    fit_epoch(trainer, loader)
    hand, fitted = [], []
    for _ in range(args.epochs):
        hand.append(hand_epoch(model, opt, sched, loader, loss_fn))
        fitted.append(fit_epoch(trainer, loader))
    print(f"MLP 784-512-256-10, batch 128, {args.batches} batches/epoch, {args.threads} thread(s), "
          f"median of {args.epochs} epochs per side; fit with a progress bar, accuracy, EarlyStopping, LR monitor")
    for i, clock in enumerate(("wall", "CPU")):
        h = statistics.median(t[i] for t in hand) / args.batches
        f = statistics.median(t[i] for t in fitted) / args.batches
        print(f"{clock:>4} time: hand-written loop {h * 1e3:7.3f} ms/batch, eg.train.fit {f * 1e3:7.3f} ms/batch, "
              f"overhead {(f - h) * 1e6:7.1f} us/batch = {100 * (f - h) / h:.1f}% of a step (target < 5%)")


if __name__ == "__main__":
    main()
