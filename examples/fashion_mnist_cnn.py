"""Fashion-MNIST with a small CNN: two conv blocks (Conv 3x3, BatchNorm, ReLU, MaxPool 2), dropout and two
linear layers; AdamW with a one-cycle schedule and label smoothing, optional augmentation; prints test
accuracy after every epoch. ``--compare-torch`` trains the same model in PyTorch in the same run, its
epochs alternating with eigengrad's (so a busy machine slows both alike), and prints both epoch times.

    python examples/fashion_mnist_cnn.py [--epochs 5] [--augment] [--threads 1] [--compare-torch] [--compile]

``--compile`` runs eigengrad's training step (zero_grad, forward, loss, backward, AdamW step) as one
``eg.compile``'d function (docs/compile.md): the same numbers, without the modules' and autograd's Python.

Needs the Fashion-MNIST IDX files (Debian: apt-get install dataset-fashion-mnist; or set
EIGENGRAD_DATA, see eg.datasets.fashion_mnist).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import eigengrad as eg
from eigengrad import nn
from eigengrad.data import transforms as T
from eigengrad.optim.lr_scheduler import OneCycleLR


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.25)
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate of the one-cycle schedule")
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--augment", action="store_true", help="random flips and small shifts")
    p.add_argument("--train-subset", type=int, default=None, help="use only the first N training images")
    p.add_argument("--test-subset", type=int, default=None, help="evaluate on the first N test images only")
    p.add_argument("--threads", type=int, default=None, help="threads for eigengrad (and torch with --compare-torch)")
    p.add_argument("--compare-torch", action="store_true", help="also train the same model in PyTorch, timing both")
    p.add_argument("--compile", action="store_true", help="run eigengrad's training step compiled by eg.compile")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def build_model(lib, dropout: float):
    """The CNN in ``eigengrad.nn`` or ``torch.nn`` (same names, same arguments)."""
    nn_ = lib.nn
    return nn_.Sequential(
        nn_.Conv2d(1, 32, 3, padding=1), nn_.BatchNorm2d(32), nn_.ReLU(), nn_.MaxPool2d(2),
        nn_.Conv2d(32, 64, 3, padding=1), nn_.BatchNorm2d(64), nn_.ReLU(), nn_.MaxPool2d(2),
        nn_.Flatten(), nn_.Dropout(dropout), nn_.Linear(64 * 7 * 7, 128), nn_.ReLU(), nn_.Linear(128, 10))


def load_data(args):
    """Standardised images (N, 1, 28, 28) float32 and labels; the statistics come from the training set."""
    (x_train, y_train), (x_test, y_test) = eg.datasets.fashion_mnist(), eg.datasets.fashion_mnist(train=False)
    if args.train_subset:
        x_train, y_train = x_train[:args.train_subset], y_train[:args.train_subset]
    if args.test_subset:
        x_test, y_test = x_test[:args.test_subset], y_test[:args.test_subset]
    x_train = x_train.astype(np.float32).reshape(-1, 1, 28, 28) / 255
    x_test = x_test.astype(np.float32).reshape(-1, 1, 28, 28) / 255
    mean, std = float(x_train.mean()), float(x_train.std())
    return ((x_train - mean) / std, y_train.astype(np.int64)), ((x_test - mean) / std, y_test.astype(np.int64))


class Trainer:
    """One framework's model, optimizer, schedule and loss; ``epoch`` runs one pass over the batches."""

    def __init__(self, lib, args, steps_per_epoch: int) -> None:
        self.lib = lib
        self.model = build_model(lib, args.dropout)
        if lib is eg:
            groups = eg.optim.param_groups_weight_decay(self.model, args.weight_decay)
            self.opt = eg.optim.AdamW(groups, lr=args.lr)
            self.sched = OneCycleLR(self.opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps_per_epoch)
        else:  # the same groups in torch: no decay for biases and 1-D (norm) parameters
            decay = [p for p in self.model.parameters() if p.ndim > 1]
            other = [p for p in self.model.parameters() if p.ndim <= 1]
            self.opt = lib.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                        {"params": other, "weight_decay": 0.0}], lr=args.lr)
            self.sched = lib.optim.lr_scheduler.OneCycleLR(self.opt, max_lr=args.lr, epochs=args.epochs,
                                                           steps_per_epoch=steps_per_epoch)
        self.loss_fn = lib.nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
        self.step = eg.compile(self._step) if lib is eg and getattr(args, "compile", False) else self._step

    def _step(self, x, y):
        """One training step on a batch (tensors); returns the loss."""
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss

    def _tensor(self, a):
        return eg.from_numpy(a) if self.lib is eg else self.lib.from_numpy(a)

    def epoch(self, batches) -> tuple[float, float]:
        """(mean loss, seconds) of one pass over ``batches`` (pairs of arrays)."""
        self.model.train()
        start, total, count = time.perf_counter(), 0.0, 0
        for xb, yb in batches:
            loss = self.step(self._tensor(xb), self._tensor(yb))
            self.sched.step()
            total, count = total + loss.item(), count + 1
        return total / max(count, 1), time.perf_counter() - start

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        self.model.eval()
        grad_off = eg.no_grad() if self.lib is eg else self.lib.no_grad()
        correct = 0
        with grad_off:
            for i in range(0, len(x), 1000):
                logits = self.model(self._tensor(x[i:i + 1000]))
                pred = logits.argmax(dim=1).numpy()
                correct += int((pred == y[i:i + 1000]).sum())
        return correct / len(x)


def epoch_batches(x, y, batch_size: int, gen, augment):
    """The epoch's shuffled batches (drop_last), drawn from eigengrad's generator, augmented when asked."""
    order = eg.randperm(len(x), generator=gen).numpy()
    for i in range(0, len(x) - batch_size + 1, batch_size):
        idx = order[i:i + batch_size]
        xb = x[idx]
        yield (augment(xb) if augment is not None else xb), y[idx]


def main(argv=None) -> float:
    args = parse_args(argv)
    torch = None
    if args.compare_torch:
        import torch
        torch.manual_seed(args.seed)
    if args.threads:
        eg.set_num_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    eg.manual_seed(args.seed)
    gen = eg.Generator(args.seed)
    (x_train, y_train), (x_test, y_test) = load_data(args)
    augment = T.Compose([T.RandomHorizontalFlip(generator=gen),
                         T.RandomAffine(degrees=0, translate=(0.08, 0.08), generator=gen)]) if args.augment else None
    steps = len(x_train) // args.batch_size
    trainers = {"eigengrad": Trainer(eg, args, steps)}
    if torch is not None:
        trainers["torch"] = Trainer(torch, args, steps)
    print(f"Fashion-MNIST: {len(x_train)} train / {len(x_test)} test; CNN 2 x (Conv3x3-BN-ReLU-MaxPool), "
          f"dropout {args.dropout}, Linear 3136-128-10; AdamW + one-cycle (max lr {args.lr}), label smoothing "
          f"{args.label_smoothing}{', augmentation' if augment else ''}; {eg.get_num_threads()} threads"
          + (", compiled step" if args.compile else "")
          + (f", torch {torch.__version__} on {torch.get_num_threads()} threads" if torch is not None else ""))
    acc, times = 0.0, {k: [] for k in trainers}
    for epoch in range(1, args.epochs + 1):
        for name, trainer in trainers.items():
            batches = list(epoch_batches(x_train, y_train, args.batch_size, gen, augment))
            loss, seconds = trainer.epoch(batches)
            times[name].append(seconds)
            a = trainer.accuracy(x_test, y_test)
            if name == "eigengrad":
                acc = a
            print(f"epoch {epoch:2d}  {name:9s}  loss {loss:.4f}  test accuracy {a:.4f}  ({seconds:.1f} s)", flush=True)
    if torch is not None:
        te, tt = statistics.median(times["eigengrad"]), statistics.median(times["torch"])
        print(f"median epoch time: eigengrad {te:.1f} s, torch {tt:.1f} s: torch/eigengrad = {tt / te:.2f}x")
    return acc


if __name__ == "__main__":
    main()
