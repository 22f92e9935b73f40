"""``python -m eigengrad tune``: search the learning rate, weight decay and momentum of the digits or
Fashion-MNIST MLP (random, coarse-to-fine, grid, Hyperband or Bayesian) and print the best trials."""
from __future__ import annotations

import argparse
import time

from eigengrad import tune
from eigengrad.tune.objectives import mlp_classifier

STRATEGIES = ("random", "coarse-to-fine", "grid", "hyperband", "bayesian")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strategy", choices=STRATEGIES, default="random")
    p.add_argument("--trials", type=int, default=16, help="trials (per round for coarse-to-fine; default: 16)")
    p.add_argument("--rounds", type=int, default=4, help="coarse-to-fine rounds (default: 4)")
    p.add_argument("--dataset", choices=["digits", "fashion-mnist"], default="digits")
    p.add_argument("--epochs", type=int, default=10, help="epochs per trial (Hyperband: the most; default: 10)")
    p.add_argument("--hidden", type=int, nargs="*", default=[128, 64])
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--train-subset", type=int, default=None, help="use only the first N training samples")
    p.add_argument("--jobs", type=int, default=1, help="trials run at once in worker processes (default: 1)")
    p.add_argument("--storage", default=None, help="directory for the journal: a search run again resumes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--top", type=int, default=10, help="trials to print (default: 10)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def search_space(args: argparse.Namespace) -> dict:
    return {"lr": tune.LogUniform(1e-3, 1.0), "weight_decay": tune.LogUniform(1e-6, 1e-2),
            "momentum": tune.OneMinusLogUniform(0.5, 0.99), "dataset": args.dataset, "hidden": tuple(args.hidden),
            "epochs": args.epochs, "batch_size": args.batch_size, "train_subset": args.train_subset}


def build_strategy(args: argparse.Namespace, space: dict) -> tune.Strategy:
    if args.strategy == "random":
        return tune.RandomSearch(space, args.trials, seed=args.seed)
    if args.strategy == "coarse-to-fine":
        return tune.CoarseToFine(space, rounds=args.rounds, trials_per_round=args.trials, seed=args.seed)
    if args.strategy == "grid":
        side = max(2, round(args.trials ** (1 / 3)))
        return tune.GridSearch(space, points=side)
    if args.strategy == "hyperband":
        return tune.Hyperband(space, max_epochs=args.epochs, eta=3, seed=args.seed)
    return tune.BayesianSearch(space, args.trials, seed=args.seed, batch_size=args.jobs)


def run(args: argparse.Namespace) -> tune.Results:
    space = search_space(args)
    start = time.perf_counter()
    results = tune.run(mlp_classifier, build_strategy(args, space), metric="val_accuracy", n_jobs=args.jobs,
                       storage=args.storage, seed=args.seed, progress=False if args.quiet else None)
    seconds = time.perf_counter() - start
    print(f"{args.strategy} search on {args.dataset}: {len(results.trials)} trials, {results.total_epochs} epochs, "
          f"{seconds:.1f} s, {args.jobs} job(s)")
    print(results.table(args.top))
    best = results.best
    print("best: val_accuracy {:.4f} with {}".format(
        best.value("val_accuracy"), ", ".join(f"{k}={best.config[k]:.4g}" for k in ("lr", "weight_decay", "momentum"))))
    return results
