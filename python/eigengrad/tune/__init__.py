"""Hyperparameter search: spaces on the right scales, grid/random/coarse-to-fine/Bayesian search,
successive halving and Hyperband, run in this process, in local worker processes or on Ray, persisted
as it goes; and the same objectives as Ray Tune trainables (``ray_trainable``), so that Ray Tune's
schedulers (ASHA, PBT, HyperBand) and search algorithms drive eigengrad training.

    from eigengrad import tune

    space = {"lr": tune.LogUniform(1e-4, 1e-1), "momentum": tune.OneMinusLogUniform(0.8, 0.999)}

    def train(config, reporter):            # top level, so that worker processes can import it
        ...                                 # build, train; reporter.report(epoch, val_accuracy=...)
        return {"val_accuracy": acc}

    results = tune.run(train, tune.RandomSearch(space, n_trials=32, seed=0), metric="val_accuracy",
                       n_jobs=2, storage="runs/search1")
    print(results.table(10)); results.best_config
"""
from eigengrad.tune.halving import Hyperband, SuccessiveHalving
from eigengrad.tune.bayesian import BayesianSearch  # Optuna is imported when one is built
from eigengrad.tune.ray_tune import RayReporter, ray_trainable  # Ray is imported when a trial runs
from eigengrad.tune.results import Results
from eigengrad.tune.runner import run
from eigengrad.tune.space import Choice, Dimension, IntUniform, LogUniform, OneMinusLogUniform, Uniform, sample
from eigengrad.tune.strategies import CoarseToFine, GridSearch, RandomSearch, Strategy
from eigengrad.tune.trial import ReportCallback, Reporter, StopTrial, TrialResult, TrialSpec

__all__ = [
    "Uniform", "LogUniform", "OneMinusLogUniform", "IntUniform", "Choice", "Dimension", "sample", "Strategy",
    "GridSearch", "RandomSearch", "CoarseToFine", "BayesianSearch", "SuccessiveHalving", "Hyperband", "run", "Results", "Reporter",
    "ReportCallback", "StopTrial", "TrialSpec", "TrialResult", "ray_trainable", "RayReporter",
]
