"""Fashion-MNIST with a GRU: each image is a sequence of 28 rows of 28 pixels, read by GRU(28, 128) (1 or 2
layers); a Linear(128, 10) classifies the last hidden state. AdamW with a one-cycle schedule, gradients
clipped to a global norm with nn.utils.clip_grad_norm_; prints test accuracy after every epoch.

    python examples/fashion_mnist_gru.py [--epochs 10] [--layers 1] [--hidden 128] [--max-norm 1.0]

Needs the Fashion-MNIST IDX files (Debian: apt-get install dataset-fashion-mnist; or set
EIGENGRAD_DATA, see eg.datasets.fashion_mnist).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim.lr_scheduler import OneCycleLR


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=1, help="stacked GRU layers")
    p.add_argument("--dropout", type=float, default=0.1, help="dropout between GRU layers (with --layers > 1)")
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--max-norm", type=float, default=1.0, help="clip the gradients' global L2 norm to this")
    p.add_argument("--train-subset", type=int, default=None, help="use only the first N training images")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


class RowGRU(nn.Module):
    """Reads a (N, 28, 28) batch row by row (batch_first) and classifies the last layer's final hidden state."""

    def __init__(self, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.gru = nn.GRU(28, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x: eg.Tensor) -> eg.Tensor:
        _, h_n = self.gru(x)  # h_n: (layers, N, hidden)
        return self.head(h_n[-1])


def main(argv=None) -> float:
    args = parse_args(argv)
    eg.manual_seed(args.seed)
    gen = eg.Generator(args.seed)
    (x_train, y_train), (x_test, y_test) = eg.datasets.fashion_mnist(), eg.datasets.fashion_mnist(train=False)
    if args.train_subset:
        x_train, y_train = x_train[:args.train_subset], y_train[:args.train_subset]
    # pixels standardised with the training set's mean and std: (N, 28, 28) float32, rows as time steps
    x_train, x_test = x_train.astype(np.float32).reshape(-1, 28, 28) / 255, x_test.astype(np.float32).reshape(-1, 28, 28) / 255
    mean, std = float(x_train.mean()), float(x_train.std())
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

    model = RowGRU(args.hidden, args.layers, args.dropout)
    opt = eg.optim.AdamW(eg.optim.param_groups_weight_decay(model, args.weight_decay), lr=args.lr)
    loader = eg.data.DataLoader(eg.data.TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True,
                                drop_last=True, generator=gen, num_workers=1)
    sched = OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(loader))
    loss_fn = nn.CrossEntropyLoss()
    print(f"Fashion-MNIST: {len(x_train)} train / {len(x_test)} test; GRU(28, {args.hidden}, num_layers={args.layers})"
          f" over 28 rows + Linear({args.hidden}, 10); AdamW + one-cycle (max lr {args.lr}), gradient norm clipped "
          f"to {args.max_norm}; {eg.get_num_threads()} threads")
    acc = 0.0
    for epoch in range(1, args.epochs + 1):
        start, total, clipped = time.perf_counter(), 0.0, 0
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            norm = nn.utils.clip_grad_norm_(model.parameters(), args.max_norm)  # the norm before clipping
            clipped += float(norm) > args.max_norm
            opt.step()
            sched.step()
            total += loss.item()
        seconds = time.perf_counter() - start
        acc = float((eg.train.predict(model, x_test, batch_size=2000).argmax(1) == y_test).mean())
        print(f"epoch {epoch:2d}  loss {total / len(loader):.4f}  test accuracy {acc:.4f}  "
              f"({seconds:.1f} s; {clipped}/{len(loader)} steps clipped)")
    return acc


if __name__ == "__main__":
    main()
