"""Search strategies on synthetic objectives with known optima, halving budgets, persistence and resume."""
import json
import math

import numpy as np
import pytest

from eigengrad import tune
from eigengrad.tune.halving import rung_budgets


def only_x_matters(config, reporter):
    return {"score": -((config["x"] - 0.37) ** 2)}


def x_near(target):
    def objective(config, reporter):
        return {"err": abs(config["x"] - target)}   # y does not matter
    return objective


def bowl(optimum):
    lr0, m0 = optimum

    def objective(config, reporter):
        return {"loss": ((math.log10(config["lr"]) - lr0) / 5) ** 2 + (config["m"] - m0) ** 2}
    return objective


def test_random_beats_grid_when_one_of_two_parameters_does_not_matter():
    """Bergstra & Bengio's argument: 16 grid points try 4 values of the parameter that matters, 16 random
    points try 16. Over optima spread across the range, random search gets closer, on average and in
    most searches."""
    space = {"x": tune.Uniform(0, 1), "y": tune.Uniform(0, 1)}
    targets = np.random.default_rng(0).uniform(0, 1, 40)
    grid_err, rand_err = [], []
    for seed, target in enumerate(targets):
        grid = tune.run(x_near(target), tune.GridSearch(space, points=4), metric="err", mode="min")
        rand = tune.run(x_near(target), tune.RandomSearch(space, 16, seed=seed), metric="err", mode="min")
        assert len(grid.trials) == len(rand.trials) == 16
        assert len({t.config["x"] for t in grid.trials}) == 4 and len({t.config["x"] for t in rand.trials}) == 16
        grid_err.append(grid.best_value)
        rand_err.append(rand.best_value)
    assert np.mean(rand_err) < 0.5 * np.mean(grid_err)
    assert np.mean(np.array(rand_err) < np.array(grid_err)) > 0.6


@pytest.mark.parametrize("seed", range(8))
def test_coarse_to_fine_finds_the_optimum_within_5_percent_in_4_rounds_of_16(seed):
    rng = np.random.default_rng(100 + seed)
    optimum = (rng.uniform(-4.5, -0.5), rng.uniform(0.1, 0.9))
    strategy = tune.CoarseToFine({"lr": tune.LogUniform(1e-5, 1.0), "m": tune.Uniform(0, 1)}, rounds=4,
                                 trials_per_round=16, seed=seed)
    res = tune.run(bowl(optimum), strategy, metric="loss", mode="min")
    best = res.best_config
    assert len(res.trials) == 64 and len(strategy.boxes) == 4
    assert abs(math.log10(best["lr"]) - optimum[0]) / 5 < 0.05   # 5% of the range on its (log) scale
    assert abs(best["m"] - optimum[1]) < 0.05
    widths = [math.log10(b["lr"].high / b["lr"].low) for b in strategy.boxes]
    assert widths == pytest.approx([5, 2.5, 1.25, 0.625])


def test_coarse_to_fine_keeps_the_choices_of_the_best_trials():
    def objective(config, reporter):
        return {"s": config["x"] + (1 if config["act"] == "gelu" else 0)}
    s = tune.CoarseToFine({"x": tune.Uniform(0, 1), "act": tune.Choice(["relu", "gelu", "tanh", "elu"])},
                          rounds=2, trials_per_round=24, top_k=2, seed=0)
    tune.run(objective, s, metric="s")
    assert s.boxes[1]["act"].options == ["gelu"]


def test_rung_budgets_and_hyperband_brackets():
    assert rung_budgets(1, 27, 3) == [1, 3, 9, 27] and rung_budgets(2, 10, 3) == [2, 6, 10]
    hb = tune.Hyperband({"x": tune.Uniform(0, 1)}, max_epochs=27, eta=3)
    assert [b.n_trials for b in hb.brackets] == [27, 12, 6, 4]
    assert [b.budgets[0] for b in hb.brackets] == [1, 3, 9, 27]


def learning_curve(config, reporter):
    """Accuracy that grows with epochs towards a ceiling set by x (better x -> higher ceiling)."""
    start = reporter.resume_from is not None and json.load(open(reporter.resume_from))["epoch"] or 0
    for epoch in range(start + 1, (reporter.max_epochs or config.get("epochs", 9)) + 1):
        acc = (1 - math.exp(-epoch / 3)) * (1 - (config["x"] - 0.6) ** 2)
        with open(reporter.checkpoint_path, "w") as f:
            json.dump({"epoch": epoch}, f)
        reporter.report(epoch, acc=acc)
    return {"acc": acc}


def test_successive_halving_promotes_the_best_third_and_continues_from_checkpoints():
    sh = tune.SuccessiveHalving({"x": tune.Uniform(0, 1)}, n_trials=9, max_epochs=9, min_epochs=1, eta=3, seed=0)
    res = tune.run(learning_curve, sh, metric="acc")
    budgets = [r.budget for r in res.runs]
    assert budgets == [1] * 9 + [3] * 3 + [9]
    assert res.total_epochs == 9 * 1 + 3 * 2 + 1 * 6   # promoted trials continue, never retrain
    first = {r.trial_id: r for r in res.runs[:9]}
    promoted = sorted(first, key=lambda i: -first[i].metrics["acc"])[:3]
    assert sorted(r.trial_id for r in res.runs[9:12]) == sorted(promoted)
    assert res.best.budget == 9 and res.best.reports[0][0] == 4   # its last run started at epoch 4


TWENTY_XS = {"x": tune.Choice([round(0.05 * i, 2) for i in range(20)])}   # x = 0.6 is the best of 20


BRACKETS = ((0, 27), (27, 39), (39, 45), (45, 49))   # trial ids: 27 configs from 1 epoch, 12 from 3, 6 from 9, 4 at 27


def test_hyperband_spends_its_budget_bracket_by_bracket_and_promotes_the_best_third():
    res = tune.run(learning_curve, tune.Hyperband(TWENTY_XS, max_epochs=27, eta=3, seed=0), metric="acc")
    spent = [sum(r.epochs_run for r in res.runs if lo <= r.trial_id < hi) for lo, hi in BRACKETS]
    assert spent == [81, 78, 90, 108]   # 27 + 9x2 + 3x6 + 18, 12x3 + 4x6 + 18, 6x9 + 2x18, 4x27
    assert res.total_epochs == 357
    assert [r.budget for r in res.runs] == [1] * 27 + [3] * 9 + [9] * 3 + [27] + [3] * 12 + [9] * 4 + [27] + \
        [9] * 6 + [27] * 2 + [27] * 4
    for lo, hi in BRACKETS:
        runs = [r for r in res.runs if lo <= r.trial_id < hi]
        rungs = [[r for r in runs if r.budget == b] for b in sorted({r.budget for r in runs})]
        for before, after in zip(rungs, rungs[1:]):
            best_third = sorted(before, key=lambda r: -r.metrics["acc"])[: len(before) // 3]
            assert sorted(r.trial_id for r in after) == sorted(r.trial_id for r in best_third)
            assert all(r.epochs_run == after[0].budget - before[0].budget for r in after)   # continued, not retrained


@pytest.mark.parametrize("seed", range(4))
def test_hyperband_finds_the_best_config_in_a_quarter_of_the_budget_random_search_spends(seed):
    """Random search given Hyperband's 357 epochs trains 13 configurations for 27 epochs (it finds x = 0.6 in
    3 of these 4 seeds); Hyperband's first bracket alone (27 configurations, 81 epochs) ends with x = 0.6."""
    hb = tune.run(learning_curve, tune.Hyperband(TWENTY_XS, max_epochs=27, seed=seed), metric="acc", seed=seed)
    budget = hb.total_epochs
    rs = tune.run(learning_curve, tune.RandomSearch({**TWENTY_XS, "epochs": 27}, budget // 27, seed=1000 + seed),
                  metric="acc")
    assert (budget, rs.total_epochs) == (357, 13 * 27)
    assert hb.best_config == {"x": 0.6} and hb.best_value >= rs.best_value
    assert hb.epochs_to_reach(rs.best_value) == 81 <= budget / 2


def test_failed_trials_are_recorded_not_fatal():
    def flaky(config, reporter):
        if config["x"] > 0.5:
            raise RuntimeError("diverged")
        return {"s": config["x"]}
    res = tune.run(flaky, tune.RandomSearch({"x": tune.Uniform(0, 1)}, 10, seed=3), metric="s")
    failed = [r for r in res.trials if r.status == "failed"]
    assert failed and "diverged" in failed[0].error and res.best.status == "completed"
    assert "FAILED" in res.table()


def test_an_interrupted_search_resumes_without_repeating_finished_trials(tmp_path):
    calls = []

    def counted(config, reporter):
        calls.append(reporter.trial_id)
        if len(calls) == 6 and not (tmp_path / "interrupted").exists():
            (tmp_path / "interrupted").write_text("")
            raise KeyboardInterrupt
        return {"s": -(config["x"] - 0.3) ** 2}

    strategy = lambda: tune.CoarseToFine({"x": tune.Uniform(0, 1)}, rounds=2, trials_per_round=4, seed=0)  # noqa
    with pytest.raises(KeyboardInterrupt):
        tune.run(counted, strategy(), metric="s", storage=tmp_path)
    assert calls == [0, 1, 2, 3, 4, 5]
    calls.clear()
    resumed = tune.run(counted, strategy(), metric="s", storage=tmp_path)
    assert calls == [5, 6, 7]   # 0-4 come from the journal; the interrupted trial 5 runs again
    calls.clear()
    fresh = tune.run(counted, strategy(), metric="s", storage=tmp_path / "other")
    assert [t.config for t in fresh.trials] == [t.config for t in resumed.trials]
    assert [t.metrics for t in fresh.trials] == [t.metrics for t in resumed.trials]


def test_results_table_and_best():
    res = tune.run(only_x_matters, tune.GridSearch({"x": tune.Uniform(0, 1), "y": 1}, points=5), metric="score")
    lines = res.table(2).splitlines()
    assert len(lines) == 3 and lines[1].split()[0] == "1"   # x = 0.25 is closest to 0.37
    assert res.best_config == {"x": 0.25, "y": 1} and res.best_value == pytest.approx(-(0.12 ** 2))
    with pytest.raises(ValueError, match="mode"):
        tune.run(only_x_matters, tune.RandomSearch({"x": tune.Uniform(0, 1)}, 1), metric="score", mode="up")


def _six_trials():
    space = {"lr": tune.LogUniform(1e-4, 1e-1), "m": tune.OneMinusLogUniform(0.9, 0.999), "u": tune.Uniform(0, 1)}
    return tune.run(lambda c, r: {"s": c["u"]}, tune.RandomSearch(space, 6, seed=0), metric="s")


def test_results_dataframe_sorted_by_the_metric():
    pd = pytest.importorskip("pandas", reason="pandas is needed for Results.to_dataframe (pip install pandas)")
    df = _six_trials().to_dataframe()
    assert isinstance(df, pd.DataFrame) and list(df["s"]) == sorted(df["s"], reverse=True) and len(df) == 6


def test_results_plots_on_each_scale():
    res = _six_trials()
    pytest.importorskip("matplotlib", reason="matplotlib is needed for Results.plot (pip install matplotlib)")
    import matplotlib

    matplotlib.use("Agg")
    ax_lr, ax_m, ax_u = res.plot()
    assert ax_lr.get_xscale() == "log" and ax_m.get_xscale() == "log" and ax_u.get_xscale() == "linear"
    assert ax_m.get_xlabel() == "1 - m"
    np.testing.assert_allclose(sorted(ax_m.collections[0].get_offsets()[:, 0]),
                               sorted(1 - t.config["m"] for t in res.trials))


_KILLED_SEARCH = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from eigengrad import tune
from test_tune_search import logged_objective, LOG
LOG[0] = {log!r}
LOG[1] = 5   # SIGKILL when the sixth trial starts
tune.run(logged_objective, tune.RandomSearch({{"x": tune.Uniform(0, 1)}}, 10, seed=0), metric="s",
         storage={storage!r})
"""

LOG = [None, None]


def logged_objective(config, reporter):
    import os
    import signal

    with open(LOG[0], "a") as f:
        f.write(f"{reporter.trial_id}\n")
    if LOG[1] is not None and reporter.trial_id == LOG[1]:
        os.kill(os.getpid(), signal.SIGKILL)
    return {"s": config["x"]}


def test_a_search_killed_midway_resumes_without_repeating_finished_trials(tmp_path):
    import os
    import subprocess
    import sys

    log, storage = tmp_path / "calls.txt", tmp_path / "search"
    tests = os.path.dirname(os.path.abspath(__file__))
    code = _KILLED_SEARCH.format(tests=tests, log=str(log), storage=str(storage))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr
    assert log.read_text().split() == ["0", "1", "2", "3", "4", "5"]
    LOG[:] = [str(log), None]
    res = tune.run(logged_objective, tune.RandomSearch({"x": tune.Uniform(0, 1)}, 10, seed=0), metric="s",
                   storage=storage)
    assert log.read_text().split() == ["0", "1", "2", "3", "4", "5", "5", "6", "7", "8", "9"]
    assert len(res.trials) == 10 and res.best_value == max(t.config["x"] for t in res.trials)


def test_a_trial_interrupted_midway_continues_from_its_checkpoint(tmp_path):
    seen, crash = [], [True]

    def objective(config, reporter):
        start = json.load(open(reporter.resume_from))["epoch"] if reporter.resume_from else 0
        seen.append(start)
        for epoch in range(start + 1, 6):
            with open(reporter.checkpoint_path, "w") as f:
                json.dump({"epoch": epoch}, f)
            reporter.report(epoch, s=config["x"] * epoch)
            if epoch == 3 and crash[0]:
                crash[0] = False
                raise KeyboardInterrupt   # the machine went down in the middle of the trial
        return {"s": config["x"] * 5}

    strategy = lambda seed=0: tune.RandomSearch({"x": tune.Uniform(0, 1)}, 1, seed=seed)  # noqa: E731
    with pytest.raises(KeyboardInterrupt):
        tune.run(objective, strategy(), metric="s", storage=tmp_path)
    res = tune.run(objective, strategy(), metric="s", storage=tmp_path)
    assert seen == [0, 3] and [e for e, _ in res.best.reports] == [4, 5]
    seen.clear()
    tune.run(objective, strategy(seed=1), metric="s", storage=tmp_path)   # another config: the stale one is dropped
    assert seen == [0]
