"""Hyperparameter search figures on the digits MLP (lr, weight decay and momentum searched):

1. Hyperband against random search of the same budget (issue 7: "Hyperband reaches the best
   random-search accuracy of the same budget using at most half the epochs"). Per seed: Hyperband (eta 3,
   ``--max-epochs``) uses B epochs in all; random search trains floor(B / max_epochs) configurations for
   max_epochs each (same space; its configurations are drawn from seed 1000 + seed, so they are not
   Hyperband's own first draws); Hyperband's runs are counted in the order it runs them and the table
   gives the epochs after which one of its runs first ended at random search's best validation accuracy
   or above. A seed meets the criterion when that is at most B / 2. With ``--harsh`` a column adds the
   earlier comparison: random search of as many configurations as Hyperband tried, each at max_epochs.
   The split is fixed (data_seed 0): 20% of the 1,797 images held out as a test set (never used), and of
   the rest half validation (719 images, one image = 0.14%) and half training (719).
2. Parallel local execution (issue 7: "2 workers complete a 16-trial search in at most 0.65x the
   sequential wall time, with the same results"): the same 16-trial random search sequentially (2 threads
   per trial, the default, and 1) and with n_jobs=2 (1 thread each); wall times (medians of 3), their
   ratios, whether the results are identical, and where the parallel run's time goes: when each process
   started its first trial (a spawned worker: interpreter + imports + the objective), its data loading, the
   gap between a process's trials (dispatch and result passing), and the time from the last trial's end
   to the search returning (collection and shutdown). With ``--ray`` the same search also runs on a local
   Ray instance (executor="ray", 2 workers), started and shut down by each search.

    python bench/bench_tune.py [--seeds 4] [--max-epochs 27] [--harsh] [--skip-parallel] [--skip-hyperband]
                               [--trial-epochs 20] [--ray]
"""
import argparse
import os
import statistics
import time

import eigengrad as eg
from eigengrad import tune
from eigengrad.tune.objectives import DEFAULTS, _data, mlp_classifier

SPACE = {"lr": tune.LogUniform(1e-3, 1.0), "weight_decay": tune.LogUniform(1e-6, 1e-2),
         "momentum": tune.OneMinusLogUniform(0.5, 0.99), "hidden": (128, 64)}
VAL_FRACTION = 0.5       # of the non-test images: 719 validation images
RANDOM_SEED_OFFSET = 1000


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=4)
    p.add_argument("--max-epochs", type=int, default=27)
    p.add_argument("--harsh", action="store_true", help="also random search of Hyperband's number of configurations")
    p.add_argument("--skip-parallel", action="store_true")
    p.add_argument("--skip-hyperband", action="store_true")
    p.add_argument("--trial-epochs", type=int, default=20, help="epochs per trial of the parallel comparison")
    p.add_argument("--ray", action="store_true", help="also the same search on a local Ray instance (2 workers)")
    return p.parse_args(argv)


def search(strategy, seed: int, **kwargs):
    return tune.run(mlp_classifier, strategy, metric="val_accuracy", seed=seed, progress=False, **kwargs)


def space_for(max_epochs: int) -> dict:
    return {**SPACE, "val_fraction": VAL_FRACTION, "epochs": max_epochs}


def random_best(n_configs: int, max_epochs: int, seed: int) -> float:
    rs = search(tune.RandomSearch(space_for(max_epochs), n_configs, seed=RANDOM_SEED_OFFSET + seed), RANDOM_SEED_OFFSET + seed)
    assert rs.total_epochs == n_configs * max_epochs
    return rs.best_value


def hyperband_vs_random(seeds: int, max_epochs: int, harsh: bool) -> None:
    print(f"Hyperband (eta 3, max {max_epochs} epochs) vs random search of the same budget, {max_epochs} epochs "
          f"per configuration; validation: 719 digits; 1 thread")
    head = f"{'seed':>4} {'B':>5} {'random':>9} {'best':>7} {'HB best':>7} {'HB reached at':>13} {'<= B/2':>6}"
    print(head + (f" | {'random (HB configs)':>19} {'best':>7} {'HB reached at':>13}" if harsh else ""))
    eg.set_num_threads(1)
    met = 0
    for seed in range(seeds):
        hb = search(tune.Hyperband(space_for(max_epochs), max_epochs, seed=seed), seed)
        budget = hb.total_epochs
        m = budget // max_epochs
        target = random_best(m, max_epochs, seed)
        reach = hb.epochs_to_reach(target)
        ok = reach is not None and reach <= budget / 2
        met += ok
        line = (f"{seed:>4} {budget:>5} {f'{m} x {max_epochs}':>9} {target:7.4f} {hb.best_value:7.4f} "
                f"{reach if reach is not None else 'never':>13} {'yes' if ok else 'no':>6}")
        if harsh:
            n = len(hb.trials)
            harsh_best = random_best(n, max_epochs, seed)
            harsh_reach = hb.epochs_to_reach(harsh_best)
            line += (f" | {f'{n} x {max_epochs}':>19} {harsh_best:7.4f} "
                     f"{harsh_reach if harsh_reach is not None else 'never':>13}")
        print(line, flush=True)
    print(f"  {met} of {seeds} seeds: Hyperband reached random search's best within half the budget")


def timed_mlp(config: dict, reporter) -> dict:
    """``mlp_classifier`` plus when it ran (wall clock, comparable across processes), in which process,
    and how long its data took (the first call in a process loads, later ones hit the cache)."""
    start = time.time()
    c = {**DEFAULTS, **config}
    t = time.perf_counter()
    _data(c["dataset"], c["data_seed"], c["train_subset"], c["val_fraction"])
    loading = time.perf_counter() - t
    metrics = mlp_classifier(config, reporter)
    return {**metrics, "t_start": start, "t_end": time.time(), "t_data": loading, "t_pid": os.getpid()}


def untimed(results) -> list[dict]:
    return [{k: v for k, v in r.metrics.items() if not k.startswith("t_")} for r in results.trials]


def overheads(results, began: float, ended: float) -> tuple[dict[str, float], str]:
    """Where a search's wall time went outside training, from :func:`timed_mlp`'s stamps (seconds), and
    how many trials this process / the workers ran."""
    by_process: dict[int, list] = {}
    for r in sorted(results.runs, key=lambda r: r.metrics["t_start"]):
        by_process.setdefault(r.metrics["t_pid"], []).append(r.metrics)
    here = by_process.pop(os.getpid(), [])
    workers = list(by_process.values())
    gaps = [b["t_start"] - a["t_end"] for runs in [here, *workers] for a, b in zip(runs, runs[1:])]
    ends = [runs[-1]["t_end"] for runs in [here, *workers] if runs]
    nan = float("nan")
    return {
        "first trial here": here[0]["t_start"] - began if here else nan,
        "first trial in a worker (spawn + imports)": min(w[0]["t_start"] for w in workers) - began if workers else nan,
        "data loading, first trial of a process": max(runs[0]["t_data"] for runs in [here, *workers] if runs),
        "gap between a process's trials (mean)": statistics.mean(gaps) if gaps else 0.0,
        "idle at the end (first process done -> last)": max(ends) - min(ends),
        "last trial end -> search returned": ended - max(ends),
    }, f"{len(here)}/{sum(len(w) for w in workers)}"


def parallel_vs_sequential(epochs: int, ray: bool) -> None:
    strategy = lambda: tune.RandomSearch({**SPACE, "epochs": epochs}, 16, seed=0)  # noqa: E731
    tune.run(mlp_classifier, tune.RandomSearch({**SPACE, "epochs": 1}, 2, seed=0), metric="val_accuracy",
             n_jobs=2, progress=False)  # warm the file cache and imports
    configs = (("sequential, 2 threads", {"threads_per_trial": 2}), ("sequential, 1 thread", {"threads_per_trial": 1}),
               ("2 workers x 1 thread", {"n_jobs": 2}))
    if ray:  # Ray's own start-up (its local instance) is inside its time
        configs += (("Ray, 2 workers x 1 thread", {"n_jobs": 2, "executor": "ray"}),)
    times = {name: [] for name, _ in configs}
    parts: dict[str, list] = {}
    split = []
    runs = {}
    for _ in range(3):
        for name, kwargs in configs:
            began = time.time()
            runs[name] = tune.run(timed_mlp, strategy(), metric="val_accuracy", progress=False, **kwargs)
            ended = time.time()
            times[name].append(ended - began)
            if name == "2 workers x 1 thread":
                components, counts = overheads(runs[name], began, ended)
                split.append(counts)
                for k, v in components.items():
                    parts.setdefault(k, []).append(v)
    same = len({repr(untimed(res)) for res in runs.values()}) == 1
    par = statistics.median(times["2 workers x 1 thread"])
    print(f"16-trial random search, {epochs} epochs each (medians of 3):")
    for name, ts in times.items():
        print(f"  {name:24} {statistics.median(ts):6.2f} s   2 workers / this = {par / statistics.median(ts):.2f}")
    print(f"  target: 2 workers <= 0.65x sequential (2 threads); identical results in every mode: {same}")
    print("  where the parallel run's time goes outside training (medians of 3, seconds; the search starts at 0):")
    for k, v in parts.items():
        print(f"    {k:46} {statistics.median(v):7.3f}")
    print(f"    {'trials run here / in the worker':46} {', '.join(split)}")


def main(argv=None) -> None:
    args = parse_args(argv)
    if not args.skip_hyperband:
        hyperband_vs_random(args.seeds, args.max_epochs, args.harsh)
    if not args.skip_parallel:
        parallel_vs_sequential(args.trial_epochs, args.ray)


if __name__ == "__main__":
    main()
