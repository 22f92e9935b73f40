"""The examples' ``--compile``: the MLP and CNN recipes train to the same numbers compiled and eagerly
(the losses and test accuracies they print, bit for bit as printed), and the compiled step replays."""
import importlib.util
import os
import re
import warnings

import pytest

from real_data import needs_fashion_mnist
from source_tree import ROOT, needs_source_file

pytestmark = [needs_source_file("examples"), needs_fashion_mnist]


def _load(name):
    path = os.path.join(ROOT, "examples", f"{name}.py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _numbers(out: str) -> list:
    """The printed epoch lines without their times."""
    return [re.sub(r"\(\d+\.\d s\)", "", line) for line in out.splitlines() if line.startswith("epoch")]


@pytest.mark.parametrize("name, argv", [
    ("fashion_mnist_mlp", ["--epochs", "2", "--train-subset", "2560", "--hidden", "64", "32"]),
    ("fashion_mnist_cnn", ["--epochs", "1", "--train-subset", "768", "--test-subset", "500", "--threads", "1"]),
])
def test_example_compiled_trains_as_eager(capsys, restore_threads, monkeypatch, name, argv):
    example = _load(name)
    compiled = []
    real = example.eg.compile
    monkeypatch.setattr(example.eg, "compile", lambda fn, **kw: compiled.append(real(fn, **kw)) or compiled[-1])
    eager_acc = example.main(argv)
    eager = _numbers(capsys.readouterr().out)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no fallback
        acc = example.main([*argv, "--compile"])
    out = capsys.readouterr().out
    assert "compiled step" in out
    assert len(compiled) == 1 and compiled[0].fallback_reason is None and compiled[0].replays > 0
    assert acc == eager_acc and _numbers(out) == eager and len(eager) >= 1
