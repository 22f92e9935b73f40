"""Callbacks of the fit loop: the hook protocol, EarlyStopping, ModelCheckpoint, LearningRateMonitor,
CSV/JSON loggers."""
import json
import math

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim import lr_scheduler, schedules
from eigengrad.train import (
    Callback, CSVLogger, EarlyStopping, JSONLogger, LambdaCallback, LearningRateMonitor, ModelCheckpoint, Trainer, fit,
)
from train_helpers import assert_same_weights, loaders, mlp, weights


def _scripted(values):
    """A callback that logs ``score`` = values[epoch - 1] and remembers the weights after each epoch."""
    snapshots = {}

    def log(trainer, epoch):
        trainer.log("score", values[epoch - 1])

    def snap(trainer, epoch, logs):
        snapshots[epoch] = weights(trainer.model)

    return LambdaCallback(on_epoch_begin=log, on_epoch_end=snap), snapshots


def _fit(callbacks, epochs, **kw):
    model, (train, val) = mlp(), loaders()
    opt = eg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    h = fit(model, nn.CrossEntropyLoss(), opt, train, epochs=epochs, val_loader=val, callbacks=callbacks,
            progress=False, **kw)
    return model, h


def test_hooks_are_called_in_the_documented_order():
    calls = []

    class Recorder(Callback):
        def __getattribute__(self, name):
            if name.startswith("on_"):
                return lambda *a: calls.append(name)
            return object.__getattribute__(self, name)

    rec = Recorder()
    for hook in ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end",
                 "on_after_backward", "on_after_step"):
        setattr(rec, hook, getattr(rec, hook))
    model, (train, _) = mlp(), loaders(n_train=64)
    fit(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters()), train, epochs=2, callbacks=[rec],
        progress=False)
    batch = ["on_batch_begin", "on_after_backward", "on_after_step", "on_batch_end"]
    epoch = ["on_epoch_begin", *batch * 2, "on_epoch_end"]
    assert calls == ["on_train_begin", *epoch * 2, "on_train_end"]


def test_stop_training_from_a_callback_stops_after_that_epoch():
    stop = LambdaCallback(on_epoch_end=lambda t, e, logs: setattr(t, "stop_training", e == 2))
    _, h = _fit([stop], epochs=5)
    assert h.epochs == [1, 2]


@pytest.mark.parametrize("values,patience,best,stopped", [
    ([5, 4, 3, 3.5, 3.2, 3.1, 2.0], 3, 3, 6),       # stops patience epochs after the best
    ([5, 4, 3, 2, 1, 0.5, 0.4], 2, 7, 0),           # improves until the end: no stop
    ([1, 2, 3, 4, 5, 6, 7], 1, 1, 2),
])
def test_early_stopping_stops_patience_epochs_after_the_best_and_restores_it(values, patience, best, stopped):
    script, snaps = _scripted(values)
    es = EarlyStopping("score", patience=patience, mode="min")
    model, h = _fit([script, es], epochs=len(values))
    assert es.best_epoch == best and es.best == values[best - 1] and es.stopped_epoch == stopped
    assert h.epochs[-1] == (stopped or len(values))
    assert weights(model).keys() == snaps[best].keys()
    for k, v in weights(model).items():
        assert np.array_equal(v, snaps[best][k]), k


def test_early_stopping_restores_best_weights_when_epochs_run_out_and_on_an_exception():
    script, snaps = _scripted([3, 1, 2, 2.5])
    model, h = _fit([script, EarlyStopping("score", patience=10, mode="min")], epochs=4)
    assert len(h) == 4 and all(np.array_equal(v, snaps[2][k]) for k, v in weights(model).items())

    script, snaps = _scripted([3, 1, 2, 2.5])

    def boom(trainer, epoch, logs):
        if epoch == 3:
            raise KeyboardInterrupt

    model, (train, val) = mlp(), loaders()
    with pytest.raises(KeyboardInterrupt):
        fit(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters(), lr=0.05), train, epochs=4,
            callbacks=[script, EarlyStopping("score", patience=10, mode="min"), LambdaCallback(on_epoch_end=boom)], progress=False)
    assert all(np.array_equal(v, snaps[2][k]) for k, v in weights(model).items())


def test_early_stopping_min_delta_mode_max_baseline_and_start_epoch():
    script, _ = _scripted([0.5, 0.505, 0.509, 0.6, 0.6, 0.6])
    es = EarlyStopping("score", patience=2, min_delta=0.01, mode="max")
    _fit([script, es], epochs=6)
    assert es.best_epoch == 1 and es.stopped_epoch == 3   # +0.005 and +0.009 are not improvements
    script, _ = _scripted([0.5, 0.6, 0.7, 0.8])
    es = EarlyStopping("score", patience=2, mode="max", baseline=0.9, restore_best_weights=False)
    _fit([script, es], epochs=4)
    assert es.best_epoch == 0 and es.stopped_epoch == 2
    script, _ = _scripted([1, 2, 3, 4, 5])
    es = EarlyStopping("score", patience=1, mode="min", start_from_epoch=4)
    _fit([script, es], epochs=5)
    assert es.stopped_epoch == 4


def test_early_stopping_auto_mode_and_missing_metric():
    es = EarlyStopping("val_accuracy")
    _fit([es], epochs=1)
    assert es.monitor.mode == "max"
    with pytest.raises(ValueError, match="'val_lost' is not among"):
        _fit([EarlyStopping("val_lost")], epochs=1)
    with pytest.raises(ValueError, match="'score' should go up or down"):
        _fit([_scripted([1.0])[0], EarlyStopping("score")], epochs=1)
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)


def test_model_checkpoint_best_only_with_formatted_names(tmp_path):
    script, snaps = _scripted([3, 2, 2.5, 1, 4])
    ck = ModelCheckpoint(tmp_path / "ep{epoch}-{score:.1f}.safetensors", monitor="score", mode="min",
                         save_best_only=True)
    _fit([script, ck], epochs=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ep1-3.0.safetensors", "ep2-2.0.safetensors",
                                                          "ep4-1.0.safetensors"]
    assert ck.best_path == str(tmp_path / "ep4-1.0.safetensors")
    model, (train, val) = mlp(seed=9), loaders()
    trainer = Trainer(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
                      callbacks=[_scripted([0] * 5)[0], ModelCheckpoint(tmp_path / "x", monitor="score")])
    trainer.train_loader = train
    trainer.load_checkpoint(ck.best_path)
    assert trainer.epoch == 4 and trainer.history["score"] == [3, 2, 2.5, 1]
    assert all(np.array_equal(v, snaps[4][k]) for k, v in weights(model).items())


def test_model_checkpoint_weights_only_every_n_epochs(tmp_path):
    script, snaps = _scripted([0] * 4)
    _fit([script, ModelCheckpoint(tmp_path / "w{epoch}.safetensors", every_n_epochs=2, save_weights_only=True)], 4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w2.safetensors", "w4.safetensors"]
    loaded = eg.load(tmp_path / "w2.safetensors")
    assert all(np.array_equal(loaded[k].numpy(), v) for k, v in snaps[2].items())
    with pytest.raises(ValueError, match="monitor"):
        ModelCheckpoint(tmp_path / "x", save_best_only=True)


def test_learning_rate_monitor_logs_the_schedule():
    model, (train, _) = mlp(), loaders()
    opt = eg.optim.SGD([{"params": list(model.parameters())[:2]}, {"params": list(model.parameters())[2:], "lr": 1.0}],
                       lr=0.1, momentum=0.9)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 1.0], total_steps=3 * 19)
    mon = LearningRateMonitor(interval="step", log_momentum=True)
    h = fit(model, nn.CrossEntropyLoss(), opt, train, epochs=3, scheduler=sched, callbacks=[mon], progress=False)
    expected = [schedules.one_cycle_lr(t, 0.1, 3 * 19) for t in range(3 * 19)]
    assert mon.steps == list(range(3 * 19))
    np.testing.assert_allclose([v[0] for v in mon.values], expected, rtol=1e-12)
    np.testing.assert_allclose([v[1] for v in mon.values], np.array(expected) * 10, rtol=1e-12)
    assert h["lr"] == [mon.values[0][0], mon.values[19][0], mon.values[38][0]]
    assert h["lr/group1"] == [mon.values[0][1], mon.values[19][1], mon.values[38][1]]
    assert "momentum" in h and h["momentum"][0] == pytest.approx(0.95)


def test_csv_and_json_loggers_write_the_history_every_epoch(tmp_path):
    seen = []
    peek = LambdaCallback(on_epoch_end=lambda t, e, logs: seen.append((tmp_path / "h.csv").read_text().count("\n")))
    peek.order = 95  # loggers run late (order 90), after the callbacks that may stop or restore
    _, h = _fit([CSVLogger(tmp_path / "h.csv"), JSONLogger(tmp_path / "h.json"), peek], epochs=3)
    assert seen == [2, 3, 4]  # header + one row per epoch, already written when later callbacks run
    rows = [line.split(",") for line in (tmp_path / "h.csv").read_text().splitlines()]
    assert rows[0] == ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]
    assert [float(r[3]) for r in rows[1:]] == h["val_loss"]
    data = json.loads((tmp_path / "h.json").read_text())
    assert data["epoch"] == [1, 2, 3] and data["accuracy"] == h["accuracy"]


def test_lambda_callback_refuses_unknown_hooks_and_callbacks_must_be_callbacks():
    with pytest.raises(ValueError, match="on_epoch_ending"):
        LambdaCallback(on_epoch_ending=print)
    with pytest.raises(TypeError, match="callbacks"):
        _fit([print], epochs=1)


def test_nan_never_counts_as_improvement():
    script, _ = _scripted([1.0, math.nan, math.nan])
    es = EarlyStopping("score", patience=2, mode="min")
    _fit([script, es], epochs=3)
    assert es.best_epoch == 1 and es.stopped_epoch == 3


def test_model_checkpoint_names_a_missing_format_field(tmp_path):
    with pytest.raises(ValueError, match="val_acc"):
        _fit([ModelCheckpoint(tmp_path / "e{epoch}-{val_acc:.2f}.safetensors")], epochs=1)
