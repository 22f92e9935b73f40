"""``python -m eigengrad train``: options for data, model, optimizer, schedule, regularisation,
early stopping, checkpoint/resume and the final report."""
import json

import pytest

from eigengrad.__main__ import main


def _run(capsys, *argv):
    assert main(["train", "--threads", "1", *argv]) == 0
    return capsys.readouterr().out


def test_default_run_reports_test_accuracy(capsys):
    out = _run(capsys, "--epochs", "5", "--quiet")
    first = out.splitlines()[0]
    assert first.startswith("test accuracy:") and float(first.split()[2]) > 0.9
    assert "epochs run: 5" in out and "best val_loss" in out


@pytest.mark.parametrize("argv", [
    ["--optimizer", "adamw", "--lr", "3e-3", "--schedule", "onecycle", "--batch-norm", "--dropout", "0.1",
     "--weight-decay", "0.01", "--label-smoothing", "0.1"],
    ["--optimizer", "rmsprop", "--lr", "1e-3", "--schedule", "cosine", "--activation", "elu", "--grad-clip", "1.0"],
    ["--optimizer", "sgd", "--schedule", "plateau", "--activation", "tanh", "--val-fraction", "0.2"],
    ["--optimizer", "nadam", "--lr", "2e-3", "--schedule", "step", "--activation", "selu", "--val-fraction", "0"],
])
def test_option_combinations_train(capsys, argv):
    out = _run(capsys, "--epochs", "6", *argv)
    assert "epoch   6" in out
    acc = float(out.split("test accuracy: ")[1].split()[0])
    assert acc > 0.85, out


def test_early_stopping_and_history_file(capsys, tmp_path):
    out = _run(capsys, "--epochs", "40", "--lr", "0.3", "--early-stopping", "2", "--history", str(tmp_path / "h.json"),
               "--quiet")
    history = json.loads((tmp_path / "h.json").read_text())
    n = len(history["epoch"])
    assert n < 40 and f"epochs run: {n}" in out and "stopped early at epoch" in out


def test_checkpoint_then_resume_equals_an_uninterrupted_run(capsys, tmp_path):
    common = ["--optimizer", "adam", "--lr", "3e-3", "--dropout", "0.2", "--batch-norm", "--quiet"]
    full = _run(capsys, "--epochs", "4", "--history", str(tmp_path / "full.csv"), *common)
    _run(capsys, "--epochs", "2", "--checkpoint", str(tmp_path / "ck.safetensors"), *common)
    resumed = _run(capsys, "--epochs", "4", "--resume", str(tmp_path / "ck.safetensors"),
                   "--history", str(tmp_path / "resumed.csv"), *common)
    assert (tmp_path / "full.csv").read_text() == (tmp_path / "resumed.csv").read_text()
    assert full.split("(")[0] == resumed.split("(")[0]  # same test accuracy
    assert full.splitlines()[1] == resumed.splitlines()[1]  # same test loss


def test_bad_fraction_exits_with_a_message():
    with pytest.raises(SystemExit, match="--val-fraction"):
        main(["train", "--val-fraction", "1.5", "--quiet"])
