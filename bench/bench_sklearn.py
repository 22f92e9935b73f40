"""eigengrad's MLPClassifier against scikit-learn's on Fashion-MNIST: time per epoch and accuracy.

Same architecture and training settings on both sides (784-256-128-10, ReLU, Adam lr 1e-3, batch 200,
alpha 1e-4). An epoch's time is a fit of ``--epochs`` epochs divided by the epochs (tol=0 so neither
stops early), the median over ``--repeats`` fits, with the ratio scikit-learn / eigengrad per repeat.
scikit-learn computes in the input's dtype: it is timed on float64 input (``X / 255.0``, the usual
call) and on float32 input; eigengrad trains in float32 either way.

    python bench/bench_sklearn.py [--threads 1] [--repeats 3] [--epochs 2] [--acc-epochs 5] [--clock cpu]
"""
from __future__ import annotations

import argparse
import logging
import statistics
import warnings

import numpy as np

import eigengrad as eg
from cases import CLOCKS

logger = logging.getLogger("bench_sklearn")
SETTINGS = dict(hidden_layer_sizes=(256, 128), solver="adam", batch_size=200, learning_rate_init=1e-3,
                alpha=1e-4, random_state=0)


def load():
    (xtr, ytr), (xte, yte) = eg.datasets.fashion_mnist(train=True), eg.datasets.fashion_mnist(train=False)
    return xtr.reshape(len(xtr), -1) / 255.0, ytr, xte.reshape(len(xte), -1) / 255.0, yte


def fit_time(make, X, y, epochs: int, clock: str) -> float:
    """Seconds per epoch of one fit of ``epochs`` epochs, by ``clock`` (``cpu``: this process's CPU time,
    which with one thread on each side is what a fit costs however loaded the machine is)."""
    est = make(max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1, **SETTINGS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = CLOCKS[clock]()
        est.fit(X, y)
        return (CLOCKS[clock]() - t0) / epochs


def accuracy(make, X, y, Xte, yte, epochs: int) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make(max_iter=epochs, tol=0.0, n_iter_no_change=epochs + 1, **SETTINGS).fit(X, y).score(Xte, yte)


def main() -> None:
    from sklearn.neural_network import MLPClassifier as SkMLP
    from threadpoolctl import threadpool_limits

    from eigengrad.sklearn import MLPClassifier as EgMLP

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--epochs", type=int, default=2, help="epochs per timed fit")
    p.add_argument("--acc-epochs", type=int, default=5, help="epochs for the accuracy comparison (0: skip)")
    p.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                   help="wall time, or CPU time (meaningful with --threads 1 on a busy machine)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("eigengrad").setLevel(logging.WARNING)  # not the per-epoch lines of the fits
    eg.set_num_threads(args.threads)
    X, y, Xte, yte = load()
    X32 = X.astype(np.float32)
    with threadpool_limits(args.threads):
        times = {"eigengrad": [], "sklearn float64": [], "sklearn float32": []}
        for _ in range(args.repeats):  # interleaved, so machine noise hits every side alike
            times["eigengrad"].append(fit_time(EgMLP, X, y, args.epochs, args.clock))
            times["sklearn float64"].append(fit_time(SkMLP, X, y, args.epochs, args.clock))
            times["sklearn float32"].append(fit_time(SkMLP, X32, y, args.epochs, args.clock))
        logger.info("Fashion-MNIST, 60,000 x 784, MLP 256-128, adam, batch 200, %d thread(s), %d repeats of %d "
                    "epochs, %s time", args.threads, args.repeats, args.epochs, args.clock)
        for name, ts in times.items():
            ratios = [s / e for s, e in zip(ts, times["eigengrad"])]
            logger.info("%-16s %.3f s/epoch (median)   ratio vs eigengrad: median %.2fx (range %.2f-%.2f)", name,
                        statistics.median(ts), statistics.median(ratios), min(ratios), max(ratios))
        if args.acc_epochs:
            for name, make, data in (("eigengrad", EgMLP, X), ("sklearn float64", SkMLP, X)):
                logger.info("%-16s test accuracy after %d epochs: %.4f", name, args.acc_epochs,
                            accuracy(make, data, y, Xte, yte, args.acc_epochs))


if __name__ == "__main__":
    main()
