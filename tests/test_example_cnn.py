"""The CNN example runs end to end (a short version; the full run's figures are in the closing notes)."""
import importlib.util
import os

import pytest

import eigengrad as eg

ROOT = os.path.join(os.path.dirname(__file__), os.pardir)


def _has_fashion_mnist():
    try:
        eg.datasets.fashion_mnist(train=False)
        return True
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not _has_fashion_mnist(),
                    reason="Fashion-MNIST not found (apt-get install dataset-fashion-mnist, or set EIGENGRAD_DATA)")
def test_fashion_mnist_cnn_example_learns(capsys, restore_threads):
    path = os.path.join(ROOT, "examples", "fashion_mnist_cnn.py")
    spec = importlib.util.spec_from_file_location("fashion_mnist_cnn", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    accuracy = example.main(["--epochs", "2", "--train-subset", "2000", "--test-subset", "2000", "--augment",
                             "--threads", "1"])
    assert accuracy > 0.6  # chance is 0.1; the full 5-epoch run reaches 0.92
    out = capsys.readouterr().out
    assert "epoch  2  eigengrad" in out and "test accuracy" in out
