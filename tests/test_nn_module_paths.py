"""PyTorch's module paths: every layer eigengrad has is also reachable where PyTorch defines it
(``torch.nn.modules.linear.Linear`` -> ``eigengrad.nn.modules.linear.Linear``), the same class, because
scripts and checkpoint allow-lists name layers by those paths. Also the harmless calls scripts make."""
import importlib
import inspect

import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch", reason="PyTorch is not installed: its module paths are read from it")


def layer_paths():
    """(name, PyTorch's submodule of torch.nn.modules) of every class eigengrad.nn shares with torch.nn."""
    out = []
    for name in sorted(dir(eg.nn)):
        ours, theirs = getattr(eg.nn, name), getattr(torch.nn, name, None)
        if inspect.isclass(ours) and inspect.isclass(theirs) and theirs.__module__.startswith("torch.nn.modules."):
            out.append((name, theirs.__module__.rsplit(".", 1)[1]))
    return out


def test_the_layers_are_many():
    names = {n for n, _ in layer_paths()}
    assert {"Linear", "Conv2d", "LSTM", "LSTMCell", "BatchNorm1d", "CrossEntropyLoss", "Dropout", "Flatten",
            "Sequential", "Module", "LayerNorm", "MaxPool2d", "ReLU"} <= names


@pytest.mark.parametrize("name,submodule", layer_paths(), ids=[n for n, _ in layer_paths()])
def test_layer_is_at_pytorchs_module_path(name, submodule):
    module = importlib.import_module(f"eigengrad.nn.modules.{submodule}")
    assert getattr(module, name) is getattr(eg.nn, name)


def test_parameter_path():
    from eigengrad.nn.parameter import Parameter
    assert Parameter is eg.nn.Parameter and torch.nn.Parameter.__module__ == "torch.nn.parameter"


@pytest.mark.parametrize("cls", [eg.nn.RNN, eg.nn.LSTM, eg.nn.GRU])
def test_flatten_parameters_is_a_harmless_call(cls):
    rnn = cls(3, 4, num_layers=2)
    x = eg.randn(5, 2, 3)
    before = rnn(x)[0].detach().numpy().copy()
    names = [n for n, _ in rnn.named_parameters()]
    assert rnn.flatten_parameters() is None
    assert [n for n, _ in rnn.named_parameters()] == names
    np.testing.assert_array_equal(rnn(x)[0].detach().numpy(), before)
