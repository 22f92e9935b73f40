"""Hyperparameter search figures on the digits MLP (lr, weight decay and momentum searched):

1. Hyperband against random search of the same budget: random search trains N configurations for the
   full ``max_epochs`` each; Hyperband (eta 3) explores its brackets. Printed per seed: the best
   validation accuracy of each, all epochs each used, and the epochs after which Hyperband's best
   first reached random search's best (the issue asks for at most half of random search's), and the
   best of a random search given only Hyperband's epochs.
2. Parallel local execution: the same 16-trial random search sequentially (2 threads per trial, and 1)
   and in 2 worker processes (1 thread each); wall times, their ratios (the issue asks for <= 0.65)
   and whether the results are identical.

    python bench/bench_tune.py [--seeds 3] [--max-epochs 9] [--skip-parallel] [--skip-hyperband] [--trial-epochs 20]
"""
import argparse
import json
import statistics
import time

import eigengrad as eg
from eigengrad import tune
from eigengrad.tune.objectives import mlp_classifier

SPACE = {"lr": tune.LogUniform(1e-3, 1.0), "weight_decay": tune.LogUniform(1e-6, 1e-2),
         "momentum": tune.OneMinusLogUniform(0.5, 0.99), "hidden": (128, 64)}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--max-epochs", type=int, default=9)
    p.add_argument("--skip-parallel", action="store_true")
    p.add_argument("--skip-hyperband", action="store_true")
    p.add_argument("--trial-epochs", type=int, default=20, help="epochs per trial of the parallel comparison")
    return p.parse_args(argv)


def epochs_to_reach(results, target: float) -> int | None:
    """Cumulative epochs (in the order runs finished) when the best value first reached ``target``."""
    used = 0
    for r in results.runs:
        used += r.epochs_run
        if r.value("val_accuracy") >= target:
            return used
    return None


def hyperband_vs_random(seeds: int, max_epochs: int) -> None:
    print(f"Hyperband (eta 3, max {max_epochs} epochs) vs random search of the same configurations "
          f"at {max_epochs} epochs each")
    eg.set_num_threads(1)
    for seed in range(seeds):
        hb = tune.run(mlp_classifier, tune.Hyperband({**SPACE, "epochs": max_epochs}, max_epochs, seed=seed),
                      metric="val_accuracy", seed=seed, progress=False)
        n = len(hb.trials)
        rs = tune.run(mlp_classifier, tune.RandomSearch({**SPACE, "epochs": max_epochs}, n, seed=seed),
                      metric="val_accuracy", seed=seed, progress=False)
        reach = epochs_to_reach(hb, rs.best_value)
        share = f"{reach / rs.total_epochs:.2f}" if reach is not None else "not reached"
        m = hb.total_epochs // max_epochs  # random search given Hyperband's epochs
        same = tune.run(mlp_classifier, tune.RandomSearch({**SPACE, "epochs": max_epochs}, m, seed=seed),
                        metric="val_accuracy", seed=seed, progress=False)
        print(f"  seed {seed}: random {n} x {max_epochs} = {rs.total_epochs} epochs, best {rs.best_value:.4f}; "
              f"hyperband {hb.total_epochs} epochs ({hb.total_epochs / rs.total_epochs:.2f}), best "
              f"{hb.best_value:.4f}, reached random's best after {reach} epochs = {share} of random's; "
              f"random with Hyperband's epochs ({m} x {max_epochs}): best {same.best_value:.4f}")


def parallel_vs_sequential(epochs: int) -> None:
    strategy = lambda: tune.RandomSearch({**SPACE, "epochs": epochs}, 16, seed=0)  # noqa: E731
    tune.run(mlp_classifier, tune.RandomSearch({**SPACE, "epochs": 1}, 2, seed=0), metric="val_accuracy",
             n_jobs=2, progress=False)  # warm the file cache and imports
    times = {"sequential, 2 threads": [], "sequential, 1 thread": [], "2 workers x 1 thread": []}
    runs = {}
    for _ in range(3):
        for name, kwargs in (("sequential, 2 threads", {"threads_per_trial": 2}),
                             ("sequential, 1 thread", {"threads_per_trial": 1}), ("2 workers x 1 thread", {"n_jobs": 2})):
            t = time.perf_counter()
            runs[name] = tune.run(mlp_classifier, strategy(), metric="val_accuracy", progress=False, **kwargs)
            times[name].append(time.perf_counter() - t)
    same = len({json.dumps([r.metrics for r in res.trials]) for res in runs.values()}) == 1
    par = statistics.median(times["2 workers x 1 thread"])
    print(f"16-trial random search, {epochs} epochs each (medians of 3):")
    for name, ts in times.items():
        print(f"  {name:24} {statistics.median(ts):6.2f} s   2 workers / this = {par / statistics.median(ts):.2f}")
    print(f"  target: 2 workers <= 0.65x sequential; identical results on all three: {same}")


def main(argv=None) -> None:
    args = parse_args(argv)
    if not args.skip_hyperband:
        hyperband_vs_random(args.seeds, args.max_epochs)
    if not args.skip_parallel:
        parallel_vs_sequential(args.trial_epochs)


if __name__ == "__main__":
    main()
