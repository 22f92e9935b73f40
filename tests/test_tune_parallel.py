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


def where_and_how(config, reporter):
    """Which process ran the trial, with how many kernel threads; slow enough for a worker to start."""
    import os
    import time

    time.sleep(0.4)
    return {"s": config["x"], "pid": os.getpid(), "threads": eg.get_num_threads()}


def test_two_jobs_are_this_process_and_one_worker_with_the_cores_split():
    import os

    before = eg.get_num_threads()
    res = tune.run(where_and_how, tune.RandomSearch({"x": tune.Uniform(0, 1)}, 8, seed=0), metric="s", n_jobs=2)
    pids = {t.metrics["pid"] for t in res.trials}
    assert len(pids) == 2 and os.getpid() in pids   # this process trains while the worker starts up
    assert {t.metrics["threads"] for t in res.trials} == {max(1, (os.cpu_count() or 1) // 2)}
    assert eg.get_num_threads() == before           # this process's thread count is given back
    assert not __import__("multiprocessing").active_children()


@pytest.mark.parametrize("setting", [0, 1])  # 0: following OpenMP's default, as a user who never set it
def test_kernel_threads_gives_back_the_setting_not_just_the_count(setting):
    from eigengrad import _kernels
    from eigengrad.tune.executors import kernel_threads

    before = _kernels.requested_num_threads()
    try:
        _kernels.set_num_threads(setting)
        with kernel_threads(3):
            assert _kernels.requested_num_threads() == 3  # (a build without OpenMP still runs 1 thread)
        assert _kernels.requested_num_threads() == setting
    finally:
        _kernels.set_num_threads(before)


def interrupted_here(config, reporter):
    """Ctrl-C arrives while this process runs a trial; the workers' trials take a while."""
    import multiprocessing
    import time

    if multiprocessing.parent_process() is None:
        raise KeyboardInterrupt
    time.sleep(5)
    return {"s": config["x"]}


def test_keyboard_interrupt_stops_the_workers_at_once(tmp_path):
    import multiprocessing
    import time

    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        tune.run(interrupted_here, tune.RandomSearch({"x": tune.Uniform(0, 1)}, 6, seed=0), metric="s", n_jobs=2,
                 storage=tmp_path)
    assert time.perf_counter() - start < 3          # the workers' 5-second trials were not waited for
    assert not multiprocessing.active_children()


def logged_then_interrupted(config, reporter):
    """Logs each trial that starts (file named in the config); this process is interrupted on its third
    trial of the first search (a marker file says it happened)."""
    import multiprocessing
    import os
    import time

    with open(config["log"], "a") as f:
        f.write(f"{reporter.trial_id}\n")
    time.sleep(0.1)
    if multiprocessing.parent_process() is None and reporter.trial_id >= 2 and not os.path.exists(config["log"] + ".x"):
        open(config["log"] + ".x", "w").close()
        raise KeyboardInterrupt
    return {"s": eg.rand(1).numpy()[0] + config["x"]}


def test_an_interrupted_parallel_search_resumes_from_its_journal(tmp_path):
    import json

    space = {"x": tune.Uniform(0, 1), "log": str(tmp_path / "calls.txt")}
    search = lambda storage, n_jobs: tune.run(logged_then_interrupted, tune.RandomSearch(space, 12, seed=0),  # noqa
                                              metric="s", n_jobs=n_jobs, storage=storage, seed=3)
    with pytest.raises(KeyboardInterrupt):
        search(tmp_path / "s", 2)
    journaled = {json.loads(line)["trial_id"] for line in open(tmp_path / "s" / "journal.jsonl")}
    assert journaled and len(journaled) < 12
    (tmp_path / "calls.txt").unlink()
    resumed = search(tmp_path / "s", 2)
    rerun = {int(t) for t in (tmp_path / "calls.txt").read_text().split()}
    assert rerun == set(range(12)) - journaled             # nothing journaled is trained again
    fresh = search(tmp_path / "fresh", 1)
    assert [t.metrics for t in resumed.trials] == [t.metrics for t in fresh.trials]


def test_an_objective_the_workers_cannot_import_is_an_error_saying_so(tmp_path, monkeypatch):
    import importlib
    import multiprocessing
    import shutil

    (tmp_path / "vanishing_objective.py").write_text(
        "import time\n\ndef objective(config, reporter):\n    time.sleep(0.3)\n    return {'s': config['x']}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("vanishing_objective")
    (tmp_path / "vanishing_objective.py").unlink()   # this process has it; a worker started now cannot import it
    shutil.rmtree(tmp_path / "__pycache__", ignore_errors=True)
    with pytest.raises(RuntimeError, match="could not load the objective .*ModuleNotFoundError"):
        tune.run(module.objective, tune.RandomSearch({"x": tune.Uniform(0, 1)}, 12, seed=0), metric="s", n_jobs=2)
    assert not multiprocessing.active_children()


def dies_in_a_worker(config, reporter):
    import multiprocessing
    import os
    import time

    if multiprocessing.parent_process() is not None:
        os._exit(3)                                  # a worker crashes (a segfault, the OOM killer)
    time.sleep(0.5)
    return {"s": config["x"]}


def test_a_worker_that_dies_is_an_error_naming_its_trial():
    import multiprocessing

    with pytest.raises(RuntimeError, match=r"died \(exit code 3\) in trial \d+"):
        tune.run(dies_in_a_worker, tune.RandomSearch({"x": tune.Uniform(0, 1)}, 12, seed=0), metric="s", n_jobs=2)
    assert not multiprocessing.active_children()


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
    assert straight.best.metrics == best.metrics


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
