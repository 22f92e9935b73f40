"""The examples run end to end (short versions; the full runs' figures are in the closing notes)."""
import importlib.util
import os

import pytest

from real_data import needs_fashion_mnist
from source_tree import ROOT, needs_source_file

pytestmark = needs_source_file("examples")


def _load(name):
    path = os.path.join(ROOT, "examples", f"{name}.py")  # the examples live beside tests/ in the source tree
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_fashion_mnist
@pytest.mark.parametrize("augment", [False, True])
def test_fashion_mnist_mlp_example_learns(capsys, augment):
    example = _load("fashion_mnist_mlp")
    argv = ["--epochs", "2", "--train-subset", "6000", "--hidden", "128"] + (["--augment"] if augment else [])
    accuracy = example.main(argv)
    assert accuracy > 0.7  # chance is 0.1; the full 10-epoch run reaches 0.90
    out = capsys.readouterr().out
    assert "epoch  2" in out and "test accuracy" in out


@needs_fashion_mnist
def test_fashion_mnist_gru_example_learns(capsys):
    example = _load("fashion_mnist_gru")  # two layers: stacking and the dropout between layers run too
    accuracy = example.main(["--epochs", "2", "--train-subset", "6000", "--batch-size", "64", "--hidden", "48",
                             "--lr", "1e-2", "--layers", "2"])
    assert accuracy > 0.65  # chance is 0.1; the full 10-epoch run with hidden 128 reaches 0.88+
    out = capsys.readouterr().out
    assert "epoch  2" in out and "test accuracy" in out and "steps clipped" in out


@needs_fashion_mnist
def test_fashion_mnist_cnn_example_learns(capsys, restore_threads):
    example = _load("fashion_mnist_cnn")
    accuracy = example.main(["--epochs", "2", "--train-subset", "2000", "--test-subset", "2000", "--augment",
                             "--threads", "1"])
    assert accuracy > 0.6  # chance is 0.1; the full 5-epoch run reaches 0.92
    out = capsys.readouterr().out
    assert "epoch  2  eigengrad" in out and "test accuracy" in out


@needs_fashion_mnist
def test_fashion_mnist_ddp_example_runs_as_one_process(capsys, restore_threads):
    example = _load("fashion_mnist_ddp")  # without mpiexec: one process, no process group
    accuracy = example.main(["--epochs", "1", "--train-subset", "6000", "--hidden", "128", "--threads", "1"])
    assert accuracy > 0.7
    out = capsys.readouterr().out
    assert "1 rank(s) x 1 thread(s), global batch 128" in out and "throughput" in out


@needs_fashion_mnist
def test_fashion_mnist_transformer_example_learns(capsys, restore_threads):
    example = _load("fashion_mnist_transformer")
    accuracy = example.main(["--epochs", "2", "--train-subset", "3000", "--test-subset", "1000", "--patch", "7",
                             "--layers", "2", "--d-model", "32", "--feedforward", "64", "--batch-size", "64",
                             "--threads", "1"])
    assert accuracy > 0.6  # chance is 0.1; the full 5-epoch run reaches 0.88+
    out = capsys.readouterr().out
    assert "epoch  2" in out and "test accuracy" in out and "TransformerEncoder" in out


def test_char_language_model_example_learns(capsys, restore_threads):
    example = _load("char_language_model")
    result = example.main(["--steps", "200", "--eval-every", "200", "--layers", "2", "--d-model", "48",
                           "--feedforward", "96", "--context", "48", "--batch-size", "16", "--lr", "1e-2",
                           "--sample", "80", "--threads", "1"])
    # the unigram entropy is 3.19 nats/char; 200 small steps take the held-out loss to 2.47 (seeded, and the
    # same on any thread count)
    assert result["held_out_loss"] < result["unigram_entropy"] - 0.5
    assert len(result["sample"]) == len("Alice ") + 80 and result["sample"].startswith("Alice ")
    out = capsys.readouterr().out
    assert "held-out loss" in out and "--- sample" in out
