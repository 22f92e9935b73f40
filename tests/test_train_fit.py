"""eg.train.fit / Trainer / evaluate / predict: the same numbers as the hand-written loop, metrics,
scheduler stepping, gradient clipping, progress output and bad arguments."""
import math

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim import lr_scheduler
from eigengrad.train import Trainer, evaluate, fit, metrics as M, predict
from train_helpers import assert_same_weights, digits, loaders, mlp


def _hand_loop(model, opt, train, epochs, sched=None, per_batch=False, clip=None):
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    for _ in range(epochs):
        model.train()
        total, seen = 0.0, 0
        for xb, yb in train:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            if per_batch:
                sched.step()
            total += loss.item() * len(yb)
            seen += len(yb)
        if sched is not None and not per_batch:
            sched.step()
        losses.append(total / seen)
    return losses


@pytest.mark.parametrize("case", ["plain", "onecycle_per_batch", "step_per_epoch", "clip"])
def test_fit_equals_the_hand_written_loop(case):
    runs = []
    for use_fit in (False, True):
        model = mlp()
        opt = eg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        sched = {"onecycle_per_batch": lambda: lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3 * 19),
                 "step_per_epoch": lambda: lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)}.get(case, lambda: None)()
        clip = 0.5 if case == "clip" else None
        train, _ = loaders()
        eg.manual_seed(5)  # dropout draws from the default generator
        if use_fit:
            h = fit(model, nn.CrossEntropyLoss(), opt, train, epochs=3, scheduler=sched, grad_clip=clip, progress=False)
            losses = h["loss"]
        else:
            losses = _hand_loop(model, opt, train, 3, sched, case == "onecycle_per_batch", clip)
        runs.append((model, losses, opt.param_groups[0]["lr"]))
    (m0, l0, lr0), (m1, l1, lr1) = runs
    assert_same_weights(m0, m1)
    assert l0 == l1 and lr0 == lr1


def test_history_holds_train_and_validation_metrics():
    model, (train, val) = mlp(), loaders()
    opt = eg.optim.Adam(model.parameters(), lr=1e-2)
    h = fit(model, nn.CrossEntropyLoss(), opt, train, epochs=4, val_loader=val, metrics=("accuracy", "top3_accuracy"),
            progress=False)
    assert h.epochs == [1, 2, 3, 4] and len(h) == 4
    assert set(h.history) == {"loss", "accuracy", "top3_accuracy", "val_loss", "val_accuracy", "val_top3_accuracy"}
    assert h["loss"][-1] < h["loss"][0] and h["val_accuracy"][-1] > 0.85
    assert all(t >= a for t, a in zip(h["val_top3_accuracy"], h["val_accuracy"]))
    # the last validation figures are what evaluate() gives for the final model
    final = evaluate(model, val, nn.CrossEntropyLoss(), ("accuracy",))
    assert final["loss"] == pytest.approx(h["val_loss"][-1], rel=1e-6)
    assert final["accuracy"] == h["val_accuracy"][-1]
    assert h.best("val_loss", "min")[1] == min(h["val_loss"])
    assert "epoch,loss,accuracy" in h.to_csv().splitlines()[0]


def test_evaluate_and_predict_match_direct_computation_and_restore_mode():
    model, (_, val) = mlp(), loaders()
    (_, _), (Xva, yva) = digits()
    model.train()
    out = predict(model, Xva, batch_size=37)
    assert model.training
    model.eval()
    with eg.no_grad():
        direct = model(eg.from_numpy(Xva)).numpy()
    np.testing.assert_allclose(out, direct, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(predict(model, val), direct, rtol=1e-6, atol=1e-6)
    logs = evaluate(model, val, nn.CrossEntropyLoss(), ("accuracy", "top2_accuracy"), prefix="test_")
    assert logs["test_accuracy"] == pytest.approx((direct.argmax(1) == yva).mean())
    top2 = np.argsort(-direct, axis=1)[:, :2]
    assert logs["test_top2_accuracy"] == pytest.approx((top2 == yva[:, None]).any(1).mean())
    ref = nn.functional.cross_entropy(eg.from_numpy(direct), eg.from_numpy(yva)).item()
    assert logs["test_loss"] == pytest.approx(ref, rel=1e-5)
    assert not model.training


@pytest.mark.parametrize("name,expected", [
    ("mse", lambda o, t: np.mean((o - t) ** 2)), ("mae", lambda o, t: np.mean(np.abs(o - t))),
    ("rmse", lambda o, t: math.sqrt(np.mean((o - t) ** 2))),
])
def test_regression_metrics_weight_batches_by_size(name, expected, rng):
    out, tgt = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    m = M.make_metrics([name])[0]
    for lo, hi in [(0, 32), (32, 50)]:
        m.update(out[lo:hi], tgt[lo:hi])
    assert m.compute() == pytest.approx(expected(out, tgt), rel=1e-12)


def test_accuracy_binary_logits_onehot_targets_and_functions():
    acc = M.Accuracy()
    acc.update(np.array([[-1.0], [2.0], [0.5]]), np.array([[0.0], [1.0], [0.0]]))
    assert acc.compute() == pytest.approx(2 / 3)
    acc = M.Accuracy()
    acc.update(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([[0.0, 1.0], [0.0, 1.0]]))
    assert acc.compute() == 0.5
    f = M.make_metrics([lambda o, t: 1.0])[0]
    f.update(np.zeros((4, 2)), np.zeros(4))
    assert f.compute() == 1.0 and f.name == "<lambda>"


def test_reduce_on_plateau_is_stepped_with_the_monitored_metric():
    model, (train, val) = mlp(), loaders()
    opt = eg.optim.SGD(model.parameters(), lr=0.1)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    seen = []
    original = sched.step
    sched.step = lambda metrics, epoch=None: (seen.append(metrics), original(metrics))
    h = fit(model, nn.CrossEntropyLoss(), opt, train, epochs=3, val_loader=val, scheduler=sched, progress=False)
    assert seen == h["val_loss"]


def test_a_one_cycle_inside_a_sequence_is_stepped_every_batch():
    model, (train, val) = mlp(), loaders()
    opt = eg.optim.SGD(model.parameters(), lr=0.1)
    steps = 2 * len(train)
    sched = lr_scheduler.SequentialLR(opt, [lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps)], milestones=[])
    fit(model, nn.CrossEntropyLoss(), opt, train, epochs=2, scheduler=sched, progress=False)
    assert sched.last_epoch == steps


def test_progress_bar_reports_loss_and_throughput_or_stays_silent(capsys):
    model, (train, _) = mlp(), loaders()
    opt = eg.optim.SGD(model.parameters(), lr=0.05)
    fit(model, nn.CrossEntropyLoss(), opt, train, epochs=1, progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "samples/s" in err and "loss" in err
    fit(model, nn.CrossEntropyLoss(), opt, train, epochs=2, progress=False)
    assert capsys.readouterr() == ("", "")


def test_fit_counts_epochs_across_calls_on_one_trainer():
    model, (train, _) = mlp(), loaders()
    trainer = Trainer(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters(), lr=0.05), progress=False)
    trainer.fit(train, epochs=2)
    trainer.fit(train, epochs=3)
    assert trainer.history.epochs == [1, 2, 3] and trainer.epoch == 3 and trainer.global_step == 3 * 19


@pytest.mark.parametrize("kwargs,match", [
    ({"epochs": -1}, "epochs"), ({"epochs": 1.5}, "epochs"), ({"epochs": 1, "grad_clip": -1.0}, "grad_clip"),
    ({"epochs": 1, "grad_clip": {"foo": 1}}, "grad_clip"), ({"epochs": 1, "metrics": ("f1score",)}, "f1score"),
    ({"epochs": 1, "metrics": ("accuracy", "acc")}, "distinct"), ({"epochs": 1, "scheduler_interval": "week"}, "week"),
])
def test_bad_arguments_name_themselves(kwargs, match):
    model, (train, _) = mlp(), loaders()
    with pytest.raises((ValueError, TypeError), match=match):
        fit(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters()), train, progress=False, **kwargs)


def test_batches_must_be_pairs():
    model = mlp()
    with pytest.raises(ValueError, match="train_loader"):
        fit(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters()), [eg.zeros(4, 64)], epochs=1,
            progress=False)


def test_history_dataframe_and_plot():
    model, (train, val) = mlp(), loaders()
    h = fit(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters(), lr=0.05), train, epochs=2, val_loader=val,
            progress=False)
    pd = pytest.importorskip("pandas", reason="pandas is needed for History.to_dataframe (pip install pandas)")
    df = h.to_dataframe()
    assert isinstance(df, pd.DataFrame) and list(df.index) == [1, 2] and list(df["val_loss"]) == h["val_loss"]
    pytest.importorskip("matplotlib", reason="matplotlib is needed for History.plot (pip install matplotlib)")
    import matplotlib

    matplotlib.use("Agg")
    ax = h.plot(["loss", "val_loss"])
    assert [line.get_label() for line in ax.lines] == ["loss", "val_loss"]
    assert list(ax.lines[1].get_ydata()) == h["val_loss"]


def test_the_text_bar_without_tqdm_draws_when_asked(capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    model, (train, _) = mlp(), loaders()
    fit(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters(), lr=0.05), train, epochs=1, progress=True)
    err = capsys.readouterr().err
    assert "epoch 1/1" in err and "samples/s" in err and "19/19" in err
