"""Fashion-MNIST with an MLP: standardised pixels, BatchNorm and dropout, AdamW with a one-cycle
schedule and label smoothing, optional augmentation; prints test accuracy after every epoch.

    python examples/fashion_mnist_mlp.py [--epochs 10] [--augment] [--hidden 512 256] [--compile]

``--compile`` runs each batch's zero_grad, forward, loss, backward and AdamW step as one ``eg.compile``'d
function (docs/compile.md): the same numbers, without the Python of the modules and the autograd graph.

Needs the Fashion-MNIST IDX files (Debian: apt-get install dataset-fashion-mnist; or set
EIGENGRAD_DATA, see eg.datasets.fashion_mnist).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import eigengrad as eg
from eigengrad import nn
from eigengrad.data import transforms as T
from eigengrad.optim.lr_scheduler import OneCycleLR


def arguments(description: str) -> argparse.ArgumentParser:
    """The recipe's options (shared with fashion_mnist_ddp.py)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--hidden", type=int, nargs="+", default=[512, 256])
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--train-subset", type=int, default=None, help="use only the first N training images")
    p.add_argument("--seed", type=int, default=0)
    return p


def parse_args(argv=None):
    p = arguments(__doc__.splitlines()[0])
    p.add_argument("--augment", action="store_true", help="random flips, small shifts and rotations")
    p.add_argument("--compile", action="store_true", help="run the training step compiled by eg.compile")
    return p.parse_args(argv)


def build_model(sizes: list[int], dropout: float) -> nn.Module:
    layers = []
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))


def main(argv=None) -> float:
    args = parse_args(argv)
    eg.manual_seed(args.seed)
    gen = eg.Generator(args.seed)
    (x_train, y_train), (x_test, y_test) = eg.datasets.fashion_mnist(), eg.datasets.fashion_mnist(train=False)
    if args.train_subset:
        x_train, y_train = x_train[:args.train_subset], y_train[:args.train_subset]
    x_train, x_test = x_train.astype(np.float32) / 255, x_test.astype(np.float32) / 255
    augment = T.Compose([T.RandomHorizontalFlip(generator=gen),
                         T.RandomAffine(degrees=8, translate=(0.06, 0.06), generator=gen)]) if args.augment else None
    scaler = eg.preprocessing.StandardScaler().fit(x_train.reshape(len(x_train), -1))  # train statistics only
    test_features = scaler.transform(x_test.reshape(len(x_test), -1))

    model = build_model([784, *args.hidden, 10], args.dropout)
    opt = eg.optim.AdamW(eg.optim.param_groups_weight_decay(model, args.weight_decay), lr=args.lr)
    loader = eg.data.DataLoader(eg.data.TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True,
                                drop_last=True, generator=gen, num_workers=1)
    sched = OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(loader))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)

    def train_step(xb, yb):
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return loss

    step = eg.compile(train_step) if args.compile else train_step
    print(f"Fashion-MNIST: {len(x_train)} train / {len(x_test)} test; MLP {[784, *args.hidden, 10]} with "
          f"BatchNorm and dropout {args.dropout}; AdamW + one-cycle (max lr {args.lr}); {eg.get_num_threads()} threads"
          + ("; compiled step" if args.compile else ""))
    acc = 0.0
    for epoch in range(1, args.epochs + 1):
        start, total = time.perf_counter(), 0.0
        for xb, yb in loader:
            if augment is not None:
                xb = augment(xb)
            xb = eg.from_numpy(scaler.transform(xb.numpy().reshape(len(xb), -1)))
            loss = step(xb, yb)
            sched.step()
            total += loss.item()
        acc = float((eg.train.predict(model, test_features, batch_size=2000).argmax(1) == y_test).mean())
        print(f"epoch {epoch:2d}  loss {total / len(loader):.4f}  test accuracy {acc:.4f}  "
              f"({time.perf_counter() - start:.1f} s)")
    return acc


if __name__ == "__main__":
    main()
