"""``python -m eigengrad train``: train an MLP on the embedded 8x8 digits and report test accuracy."""
from __future__ import annotations

import argparse
import time

import numpy as np

import eigengrad as eg
from eigengrad import nn
from eigengrad.utils.progress import progress


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hidden", type=int, nargs="*", default=[128, 64], help="hidden layer sizes (default: 128 64)")
    p.add_argument("--activation", choices=["relu", "tanh", "sigmoid"], default="relu")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.05, help="learning rate (default: 0.05)")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--test-fraction", type=float, default=0.2, help="held-out share of the data (default: 0.2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None, help="kernel threads (default: OpenMP's)")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no per-epoch lines")


def build_mlp(sizes: list[int], activation: str) -> nn.Module:
    act = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[activation]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def split_digits(test_fraction: float, generator: eg.Generator):
    """Shuffle the digits with ``generator`` and split off a test set; pixels scaled to [0, 1]."""
    if not 0.0 < test_fraction < 1.0:
        raise SystemExit(f"--test-fraction: expected a value in (0, 1), got {test_fraction}")
    X, y = eg.datasets.load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    perm = eg.randperm(len(X), generator=generator).numpy()
    n_test = int(round(len(X) * test_fraction))
    test, train = perm[:n_test], perm[n_test:]
    return (X[train], y[train]), (X[test], y[test])


@eg.no_grad()
def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    model.eval()
    pred = model(eg.from_numpy(X)).argmax(dim=1).numpy()
    model.train()
    return float((pred == y).mean())


def run(args: argparse.Namespace) -> float:
    if args.threads is not None:
        eg.set_num_threads(args.threads)
    eg.manual_seed(args.seed)
    gen = eg.Generator().manual_seed(args.seed)
    (Xtr, ytr), (Xte, yte) = split_digits(args.test_fraction, gen)
    model = build_mlp([Xtr.shape[1], *args.hidden, 10], args.activation)
    loss_fn = nn.CrossEntropyLoss()
    opt = eg.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    loader = eg.data.DataLoader(eg.data.TensorDataset(Xtr, ytr), batch_size=args.batch_size, shuffle=True,
                                generator=gen)
    say = (lambda *a: None) if args.quiet else print
    say(f"digits: {len(Xtr)} train / {len(Xte)} test, model {model.__class__.__name__} "
        f"{[Xtr.shape[1], *args.hidden, 10]}, SGD lr={args.lr} momentum={args.momentum}, "
        f"{eg.get_num_threads()} threads")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        total, count = 0.0, 0
        bar = progress(loader, desc=f"epoch {epoch}/{args.epochs}", disable=args.quiet)
        for xb, yb in bar:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            count += len(yb)
            bar.set_postfix_str(f"loss {total / count:.4f}", refresh=False)
        say(f"epoch {epoch:3d}  loss {total / count:.4f}  train acc {accuracy(model, Xtr, ytr):.4f}  "
            f"test acc {accuracy(model, Xte, yte):.4f}")
    test_acc = accuracy(model, Xte, yte)
    print(f"test accuracy: {test_acc:.4f} ({len(Xte)} images, {time.perf_counter() - start:.1f} s of training)")
    return test_acc
