"""The Fashion-MNIST MLP recipe, eigengrad compiled (eg.compile) vs PyTorch eager: time to test accuracy.

The recipe of examples/fashion_mnist_mlp.py (its defaults): pixels / 255 standardised with the training
set's statistics, MLP 784-512-256-10 with BatchNorm1d, ReLU and Dropout(0.2) after each hidden layer,
AdamW (weight decay 1e-2 on the weights only, none on biases and BatchNorm) under a one-cycle schedule
(max lr 3e-3, stepped per batch), cross-entropy with label smoothing 0.1, batch 128 (shuffled, last
partial batch dropped), 10 epochs. eigengrad's step is the example's (``--compile``: one
``eg.compile``'d function); PyTorch runs the same model, groups, schedule, loss and batches (same
order: one permutation per epoch, shared). The epochs alternate between the two (a busy machine slows
both alike); each epoch's training time is measured (CPU or wall clock), the test accuracy after it is
not timed. Printed: each library's time to the first epoch reaching the target accuracy (0.90), the
total training time, the final accuracy and the ratios torch/eigengrad (> 1: eigengrad is faster;
issue 19 asks for >= 2 on the time to 0.90).

Data: Fashion-MNIST when it is installed (Debian's dataset-fashion-mnist, found by
eg.datasets.fashion_mnist), else the embedded 8x8 digits (1,797 images: the first 1,437 train, the rest
test; then the target means little), said in the output.

    python bench/bench_recipe.py [--threads 1] [--clock cpu] [--epochs 10] [--quick] [--no-torch] [--eager]
"""
from __future__ import annotations

import sys
import time
import warnings

import numpy as np

import eigengrad as eg
from bench_compile_cnn import load_example
from cases import CLOCKS, torch

TARGET = 0.90


def load(train_subset: int | None) -> tuple:
    """((x_train, y_train), (x_test, y_test), description): standardised float32 features, int64 labels."""
    try:
        (x, y), (xt, yt) = eg.datasets.fashion_mnist(), eg.datasets.fashion_mnist(train=False)
        what = "Fashion-MNIST"
    except (FileNotFoundError, OSError) as exc:
        d = eg.datasets.load_digits()
        x, y = d.data.astype(np.float32).reshape(len(d.data), -1), d.target.astype(np.int64)
        x, y, xt, yt = x[:1437], y[:1437], x[1437:], y[1437:]
        what = f"the embedded 8x8 digits (Fashion-MNIST not found: {str(exc).splitlines()[0][:100]})"
    if train_subset:
        x, y = x[:train_subset], y[:train_subset]
    x = x.reshape(len(x), -1).astype(np.float32) / 255
    xt = xt.reshape(len(xt), -1).astype(np.float32) / 255
    scaler = eg.preprocessing.StandardScaler().fit(x)  # train statistics only, as the example
    return ((np.ascontiguousarray(scaler.transform(x), dtype=np.float32), y.astype(np.int64)),
            (np.ascontiguousarray(scaler.transform(xt), dtype=np.float32), yt.astype(np.int64)),
            f"{what}: {len(x)} train / {len(xt)} test")


class EigengradRecipe:
    """The example's model, optimizer groups, schedule, loss and step (compiled unless ``eager``)."""

    def __init__(self, example, args, n_features: int, steps: int, eager: bool) -> None:
        eg.manual_seed(args.seed)
        self.model = example.build_model([n_features, *args.hidden, 10], args.dropout)
        self.opt = eg.optim.AdamW(eg.optim.param_groups_weight_decay(self.model, args.weight_decay), lr=args.lr)
        self.sched = eg.optim.lr_scheduler.OneCycleLR(self.opt, max_lr=args.lr, epochs=args.epochs,
                                                      steps_per_epoch=steps)
        self.loss_fn = eg.nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
        self.step = self._step if eager else eg.compile(self._step)

    def _step(self, x, y):
        self.opt.zero_grad()
        loss = self.loss_fn(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss

    def epoch(self, batches) -> float:
        self.model.train()
        total = 0.0
        for xb, yb in batches:
            total += self.step(eg.from_numpy(xb), eg.from_numpy(yb)).item()
            self.sched.step()
        return total / len(batches)

    def accuracy(self, x, y) -> float:
        return float((eg.train.predict(self.model, x, batch_size=2000).argmax(1) == y).mean())


class TorchRecipe:
    """The same recipe in PyTorch: same layers, AdamW groups (decay on the weights only, as
    eigengrad's param_groups_weight_decay gives), OneCycleLR, label smoothing."""

    def __init__(self, args, n_features: int, steps: int) -> None:
        nn = torch.nn
        torch.manual_seed(args.seed)
        sizes, layers = [n_features, *args.hidden, 10], []
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU(), nn.Dropout(args.dropout)]
        self.model = nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))
        decay = [p for p in self.model.parameters() if p.ndim > 1]
        other = [p for p in self.model.parameters() if p.ndim <= 1]
        self.opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                      {"params": other, "weight_decay": 0.0}], lr=args.lr)
        self.sched = torch.optim.lr_scheduler.OneCycleLR(self.opt, max_lr=args.lr, epochs=args.epochs,
                                                         steps_per_epoch=steps)
        self.loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)

    def epoch(self, batches) -> float:
        self.model.train()
        total = 0.0
        for xb, yb in batches:
            self.opt.zero_grad()
            loss = self.loss_fn(self.model(torch.from_numpy(xb)), torch.from_numpy(yb))
            loss.backward()
            self.opt.step()
            self.sched.step()
            total += loss.item()
        return total / len(batches)

    def accuracy(self, x, y) -> float:
        self.model.eval()
        with torch.no_grad():
            pred = torch.cat([self.model(torch.from_numpy(x[i:i + 2000])).argmax(1) for i in range(0, len(x), 2000)])
        return float((pred.numpy() == y).mean())


def summary(name: str, log: list) -> dict:
    """Time to the target, total time and final accuracy of ``log`` [(seconds, accuracy) per epoch]."""
    elapsed, first = 0.0, None
    for i, (s, a) in enumerate(log):
        elapsed += s
        if first is None and a >= TARGET:
            first = (i + 1, elapsed)
    total = sum(s for s, _ in log)
    reach = f"reached {TARGET:.2f} after epoch {first[0]} in {first[1]:.1f} s" if first else f"did not reach {TARGET:.2f}"
    print(f"{name:9s}: {reach}; {len(log)} epochs {total:.1f} s; final test accuracy {log[-1][1]:.4f}")
    return {"to_target": None if first is None else first[1], "total": total}


def main(argv=None) -> int:
    import cases

    p = cases.paired_parser("Fashion-MNIST MLP recipe: eigengrad compiled vs PyTorch, time to test accuracy")
    p.add_argument("--epochs", type=int, default=None, help="default: the example's (10); --quick: 1")
    p.add_argument("--train-subset", type=int, default=None, help="--quick: 4,096")
    p.add_argument("--no-torch", action="store_true", help="eigengrad only")
    p.add_argument("--eager", action="store_true", help="eigengrad's step eager instead of compiled")
    args = p.parse_args(argv)
    cases.use_threads(args.threads)
    example = load_example("fashion_mnist_mlp")
    epochs = args.epochs or (1 if args.quick else None)
    recipe = example.parse_args((["--epochs", str(epochs)] if epochs else []))
    (x, y), (xt, yt), what = load(args.train_subset or (4096 if args.quick else None))
    bs = recipe.batch_size
    steps = len(x) // bs
    clock = CLOCKS[args.clock]
    libs = {"eigengrad": EigengradRecipe(example, recipe, x.shape[1], steps, args.eager)}
    if torch is not None and not args.no_torch:
        libs["torch"] = TorchRecipe(recipe, x.shape[1], steps)
    elif not args.no_torch:
        print("torch: not importable; eigengrad only")
    print(f"shared machine: figures are indicative. data: {what}; recipe: MLP {[x.shape[1], *recipe.hidden, 10]}, "
          f"BatchNorm, ReLU, dropout {recipe.dropout}, AdamW (wd {recipe.weight_decay} on weights) + one-cycle "
          f"(max lr {recipe.lr}), label smoothing {recipe.label_smoothing}, batch {bs}, {recipe.epochs} epochs; "
          f"eigengrad {'eager' if args.eager else 'compiled'}; {args.clock} clock, epochs alternating")
    gen = np.random.default_rng(recipe.seed)
    logs = {k: [] for k in libs}
    with warnings.catch_warnings():
        if not args.eager:
            warnings.simplefilter("error")  # a fallback would time eager mode: fail loudly instead
        for epoch in range(1, recipe.epochs + 1):
            order = gen.permutation(len(x))
            batches = [(x[order[i:i + bs]], y[order[i:i + bs]]) for i in range(0, steps * bs, bs)]
            names = list(libs) if epoch % 2 else list(libs)[::-1]
            for k in names:
                start = clock()
                loss = libs[k].epoch(batches)
                seconds = clock() - start
                acc = libs[k].accuracy(xt, yt)
                logs[k].append((seconds, acc))
                print(f"epoch {epoch:2d}  {k:9s}  loss {loss:.4f}  test accuracy {acc:.4f}  ({seconds:.1f} s)", flush=True)
    step = libs["eigengrad"].step
    if not args.eager:
        assert step.fallback_reason is None and step.replays > 0, step.fallback_reason
    res = {k: summary(k, v) for k, v in logs.items()}
    if "torch" in res:
        e, t = res["eigengrad"], res["torch"]
        print(f"torch/eigengrad: total training time {t['total'] / e['total']:.2f}x", end="")
        if e["to_target"] and t["to_target"]:
            print(f"; time to {TARGET:.2f} test accuracy {t['to_target'] / e['to_target']:.2f}x (target >= 2.0x)")
        else:
            print(f"; time to {TARGET:.2f}: not reached by {'both' if not (e['to_target'] or t['to_target']) else 'one'}")
    return 0


if __name__ == "__main__":
    started = time.time()
    code = main()
    print(f"({time.time() - started:.0f} s wall)")
    sys.exit(code)
