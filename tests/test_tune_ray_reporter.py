"""``ray_trainable``'s side of Ray Tune without Ray: RayReporter against a stand-in for ``ray.tune`` (what it
sends, when it attaches the training state, what it restores), and the MLP objective taking the
configuration's hyperparameters after a resume (PBT). Ray itself runs in tests/test_tune_ray.py."""
import contextlib
import os
import shutil
import sys
import types

import pytest

import eigengrad as eg
from eigengrad.tune import RayReporter, Reporter, TrialSpec, ray_trainable
from eigengrad.tune.objectives import mlp_classifier
from eigengrad.tune.ray_tune import STATE_FILE, config_seed

CONFIG = {"epochs": 3, "hidden": (16,), "train_subset": 300, "val_fraction": 0.5, "lr": 0.05}


class FakeCheckpoint:
    def __init__(self, path):
        self.path = path

    @classmethod
    def from_directory(cls, path):
        return cls(path)

    @contextlib.contextmanager
    def as_directory(self):
        yield self.path


def fake_tune(tmp_path, restore_from=None):
    """A stand-in for ``ray.tune``: ``report`` stores the metrics and copies an attached checkpoint."""
    sent = []

    def report(metrics, checkpoint=None):
        kept = None
        if checkpoint is not None:
            kept = str(tmp_path / f"ckpt{len(sent)}")
            shutil.copytree(checkpoint.path, kept)
        sent.append((metrics, kept))

    module = types.SimpleNamespace(
        report=report, Checkpoint=FakeCheckpoint, sent=sent,
        get_checkpoint=lambda: None if restore_from is None else FakeCheckpoint(restore_from),
        get_context=lambda: types.SimpleNamespace(get_trial_id=lambda: "trial_0"))
    return module


def test_each_epoch_sends_the_metrics_and_the_new_training_state(tmp_path):
    tune = fake_tune(tmp_path)
    reporter = RayReporter(tune, seed=5)
    assert reporter.resume_from is None and reporter.max_epochs is None and reporter.trial_id == "trial_0"
    mlp_classifier(dict(CONFIG), reporter)
    assert [m["epoch"] for m, _ in tune.sent] == [1, 2, 3]
    assert all(set(m) == {"loss", "accuracy", "val_loss", "val_accuracy", "epoch"} for m, _ in tune.sent)
    assert all(c is not None and os.listdir(c) == [STATE_FILE] for _, c in tune.sent)
    reporter.report(4, loss=1.0)  # nothing new written: no checkpoint attached
    assert tune.sent[-1] == ({"loss": 1.0, "epoch": 4}, None)
    reporter.close()
    assert not os.path.exists(reporter.checkpoint_path)


def test_a_restored_trial_continues_exactly(tmp_path):
    first = fake_tune(tmp_path)
    eg.manual_seed(config_seed(0, CONFIG))
    stopped = RayReporter(first, seed=config_seed(0, CONFIG))
    mlp_classifier({**CONFIG, "epochs": 2}, stopped)  # Ray stopped it after epoch 2
    second = fake_tune(tmp_path / "b", restore_from=first.sent[-1][1])
    (tmp_path / "b").mkdir()
    eg.manual_seed(config_seed(0, CONFIG))
    resumed = RayReporter(second, seed=config_seed(0, CONFIG))
    assert resumed.resume_from == resumed.checkpoint_path
    mlp_classifier(dict(CONFIG), resumed)
    assert [m["epoch"] for m, _ in second.sent] == [3]
    seed = config_seed(0, CONFIG)
    eg.manual_seed(seed)
    whole = Reporter(TrialSpec(0, dict(CONFIG)), str(tmp_path), seed)
    mlp_classifier(dict(CONFIG), whole)
    assert whole.reports[-1] == (3, {k: v for k, v in second.sent[-1][0].items() if k != "epoch"})


def test_the_configuration_sets_the_optimizer_after_a_resume(tmp_path):
    tune = fake_tune(tmp_path)
    mlp_classifier({**CONFIG, "epochs": 1}, RayReporter(tune, seed=1))
    captured = {}
    original = eg.train.Trainer.fit

    def fit(self, *args, **kwargs):
        history = original(self, *args, **kwargs)
        captured["lr"] = [g["lr"] for g in self.optimizer.param_groups]
        return history

    resumed = RayReporter(fake_tune(tmp_path / "c", restore_from=tune.sent[-1][1]), seed=1)
    (tmp_path / "c").mkdir()
    eg.train.Trainer.fit = fit
    try:
        mlp_classifier({**CONFIG, "lr": 0.2, "epochs": 2}, resumed)  # PBT's mutation of the donor's lr
    finally:
        eg.train.Trainer.fit = original
    assert captured["lr"] == [0.2, 0.2]


def test_ray_trainable_needs_a_function_and_names_itself():
    with pytest.raises(TypeError, match="objective: expected a function train\\(config, reporter\\), got int"):
        ray_trainable(3)
    assert ray_trainable(mlp_classifier).__name__ == "eigengrad_mlp_classifier"


def test_ray_trainable_runs_the_objective_with_its_reporter(tmp_path, monkeypatch):
    tune = fake_tune(tmp_path)
    ray_module = types.ModuleType("ray")
    ray_module.tune = tune
    monkeypatch.setitem(sys.modules, "ray", ray_module)
    monkeypatch.setitem(sys.modules, "ray.tune", tune)
    seen = []

    def objective(config, reporter):
        seen.append((config, reporter.seed))
        return {"score": 2.0}

    ray_trainable(objective, seed=9)({"x": 1})
    assert seen == [({"x": 1}, config_seed(9, {"x": 1}))]
    assert tune.sent == [({"score": 2.0}, None)]  # an objective that only returns its metrics
