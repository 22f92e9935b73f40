"""Data loading against training: one Fashion-MNIST epoch (60,000 images, batch 128, shuffled) through
eg.data.DataLoader alone, and the same epoch training an MLP 784-512-256-10 with SGD momentum;
prints both times and the loader's share of the training epoch (the issue asks for < 5%).

    python bench/bench_loader.py [--epochs 3]
"""
import argparse
import statistics
import sys
import time

import numpy as np

import eigengrad as eg
from eigengrad import nn


def fashion_mnist_features():
    try:
        x, y = eg.datasets.fashion_mnist()
    except FileNotFoundError:  # same shapes, random pixels: the loader's cost does not depend on them
        rng = np.random.default_rng(0)
        x, y = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8), rng.integers(0, 10, 60000)
    return (x.reshape(len(x), -1).astype(np.float32) / 255), y


def loader_epoch(loader) -> float:
    start = time.perf_counter()
    for xb, yb in loader:
        pass
    return time.perf_counter() - start


def training_epoch(loader, model, opt, loss_fn) -> float:
    start = time.perf_counter()
    for xb, yb in loader:
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()
    return time.perf_counter() - start


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    args = p.parse_args(argv)
    x, y = fashion_mnist_features()
    eg.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = eg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    for workers in (0, 1):
        loader = eg.data.DataLoader(eg.data.TensorDataset(x, y), batch_size=128, shuffle=True,
                                    generator=eg.Generator(0), num_workers=workers)
        load = statistics.median(loader_epoch(loader) for _ in range(args.epochs))
        train = statistics.median(training_epoch(loader, model, opt, loss_fn) for _ in range(args.epochs))
        print(f"num_workers={workers}: loader epoch {load * 1e3:.0f} ms, training epoch {train * 1e3:.0f} ms, "
              f"loading = {100 * load / train:.1f}% of training ({len(x) / load:,.0f} images/s through the loader)")


def test_loader_epoch(benchmark):
    x, y = fashion_mnist_features()
    loader = eg.data.DataLoader(eg.data.TensorDataset(x, y), batch_size=128, shuffle=True, generator=eg.Generator(0))
    benchmark.pedantic(loader_epoch, args=(loader,), rounds=3)


if __name__ == "__main__":
    sys.exit(main())
