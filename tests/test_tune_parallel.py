"""Execution: worker processes give the same results as the sequential run for the same seed, the MLP
objective with halving continues promoted trials from their checkpoints, and Optuna's TPE behind
BayesianSearch (skipped without Optuna)."""
import math

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import tune
from eigengrad.tune.objectives import mlp_classifier

SPACE = {"lr": tune.LogUniform(1e-3, 0.5), "momentum": tune.OneMinusLogUniform(0.5, 0.99), "epochs": 3,
         "train_subset": 400, "hidden": (32,)}


def seeded_noise(config, reporter):
    """Depends on the trial's seed through eigengrad's default generator: equal only if seeding is."""
    return {"s": float(eg.rand(1).numpy()[0]) + config["x"]}


def test_two_worker_processes_give_the_sequential_results():
    strategy = lambda: tune.RandomSearch({"x": tune.Uniform(0, 1)}, 6, seed=4)  # noqa: E731
    seq = tune.run(seeded_noise, strategy(), metric="s", seed=11)
    par = tune.run(seeded_noise, strategy(), metric="s", seed=11, n_jobs=2)
    assert [t.metrics for t in seq.trials] == [t.metrics for t in par.trials]
    assert [t.config for t in seq.trials] == [t.config for t in par.trials]
    other = tune.run(seeded_noise, strategy(), metric="s", seed=12)
    assert [t.metrics for t in other.trials] != [t.metrics for t in seq.trials]


def test_mlp_objective_in_processes_matches_sequential_and_learns():
    seq = tune.run(mlp_classifier, tune.RandomSearch(SPACE, 4, seed=0), metric="val_accuracy", seed=1)
    par = tune.run(mlp_classifier, tune.RandomSearch(SPACE, 4, seed=0), metric="val_accuracy", seed=1, n_jobs=2)
    assert [t.metrics for t in seq.trials] == [t.metrics for t in par.trials]
    assert seq.best_value > 0.8 and all(len(t.reports) == 3 for t in seq.trials)


def test_hyperband_on_the_mlp_continues_promoted_trials_bitwise():
    hb = tune.run(mlp_classifier, tune.Hyperband(SPACE, max_epochs=9, eta=3, seed=0), metric="val_accuracy", seed=2)
    assert hb.total_epochs == 69 and len(hb.trials) == 17   # 9x1+3x2+1x6, 5x3+1x6, 3x9
    best = hb.best
    assert best.budget == 9
    # the promoted run, continued from checkpoints, ends where an uninterrupted 9-epoch run ends
    straight = tune.run(mlp_classifier, _Fixed(best.config, best.trial_id, 9), metric="val_accuracy", seed=2)
    assert straight.best.metrics == pytest.approx(best.metrics, rel=0, abs=0)


class _Fixed(tune.Strategy):
    def __init__(self, config, trial_id, budget):
        self.spec = tune.TrialSpec(trial_id, config, budget)
        self.space = config

    def ask(self):
        spec, self.spec = self.spec, None
        return [spec] if spec else None


def test_bayesian_search_beats_random_on_a_smooth_bowl_and_keeps_scales():
    optuna = pytest.importorskip("optuna", reason="Optuna is needed for BayesianSearch (pip install optuna)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    def bowl(c, r):
        return {"loss": ((math.log10(c["lr"]) + 2.5) / 5) ** 2 + (c["m"] - 0.95) ** 2 + (c["act"] != (1, 2)) * 0.1}

    space = {"lr": tune.LogUniform(1e-5, 1.0), "m": tune.OneMinusLogUniform(0.5, 0.999),
             "act": tune.Choice([(1, 2), "x"])}
    wins = 0
    for seed in range(3):
        bo = tune.run(bowl, tune.BayesianSearch(space, 40, seed=seed, batch_size=2), metric="loss", mode="min")
        rs = tune.run(bowl, tune.RandomSearch(space, 40, seed=seed), metric="loss", mode="min")
        assert all(0.5 <= t.config["m"] <= 0.999 and 1e-5 <= t.config["lr"] <= 1 for t in bo.trials)
        wins += bo.best_value < rs.best_value
    assert wins >= 2 and bo.best_config["act"] == (1, 2)


def test_bayesian_study_in_a_journal_file_resumes_and_is_shared(tmp_path):
    optuna = pytest.importorskip("optuna", reason="Optuna is needed for BayesianSearch (pip install optuna)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    calls = []

    def f(c, r):
        calls.append(r.trial_id)
        return {"s": -(c["x"] - 0.2) ** 2}

    make = lambda n: tune.BayesianSearch({"x": tune.Uniform(0, 1)}, n, seed=0,  # noqa: E731
                                         storage=str(tmp_path / "study.log"), study_name="s1")
    tune.run(f, make(5), metric="s")
    assert calls == [0, 1, 2, 3, 4]
    tune.run(f, make(8), metric="s")   # the same study: 5 finished, 3 more
    assert calls == list(range(8))
    study = optuna.load_study(study_name="s1", storage=make(8).study._storage)
    assert len(study.trials) == 8


def test_bayesian_search_needs_optuna(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError, match="pip install optuna"):
        tune.BayesianSearch({"x": tune.Uniform(0, 1)}, 3)


def test_bad_executor_and_jobs():
    with pytest.raises(ValueError, match="executor"):
        tune.run(seeded_noise, tune.RandomSearch({"x": tune.Uniform(0, 1)}, 1), metric="s", executor="gpu")
    with pytest.raises(ValueError, match="n_jobs"):
        tune.run(seeded_noise, tune.RandomSearch({"x": tune.Uniform(0, 1)}, 1), metric="s", n_jobs=0)


def test_tune_command_prints_the_best_trials(capsys, tmp_path):
    from eigengrad.__main__ import main

    argv = ["tune", "--strategy", "coarse-to-fine", "--trials", "3", "--rounds", "2", "--epochs", "2",
            "--train-subset", "300", "--hidden", "32", "--quiet", "--storage", str(tmp_path), "--top", "3"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("coarse-to-fine search on digits: 6 trials, 12 epochs")
    assert out[1].split()[:6] == ["trial", "epochs", "val_accuracy", "lr", "weight_decay", "momentum"]
    assert len(out) == 2 + 3 + 1 and out[-1].startswith("best: val_accuracy")
    best = float(out[-1].split()[2])
    assert best == pytest.approx(max(float(line.split()[2]) for line in out[2:5]), abs=1e-4)
    assert main(argv) == 0   # run again on the same storage: everything comes from the journal
    again = capsys.readouterr().out.splitlines()
    assert again[1:] == out[1:]


def test_ray_executor_gives_the_sequential_results():
    pytest.importorskip("ray", reason="Ray is needed for executor='ray' (pip install 'ray[default]')")
    strategy = lambda: tune.RandomSearch({"x": tune.Uniform(0, 1)}, 4, seed=4)  # noqa: E731
    seq = tune.run(seeded_noise, strategy(), metric="s", seed=11)
    on_ray = tune.run(seeded_noise, strategy(), metric="s", seed=11, executor="ray", n_jobs=2)
    assert [t.metrics for t in seq.trials] == [t.metrics for t in on_ray.trials]
