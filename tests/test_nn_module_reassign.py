"""Re-assigning a submodule, parameter or buffer keeps its place in the module's order, as PyTorch's (it
used to move to the end: a Sequential then ran its layers in another order, a model's parameters paired
wrongly by position, and wrapping children while iterating over named_children() raised)."""
import numpy as np

import eigengrad as eg
from eigengrad import nn


def test_replacing_a_layer_keeps_the_sequential_order():
    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
    for name in [n for n, x in m.named_modules() if isinstance(x, nn.BatchNorm2d)]:
        parent, _, attr = name.rpartition(".")
        setattr(m.get_submodule(parent), attr, nn.GroupNorm(2, 8))
    assert [type(x).__name__ for x in m] == ["Conv2d", "GroupNorm", "ReLU", "Conv2d"]
    s = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    setattr(s, "1", nn.GELU())
    assert [type(x).__name__ for x in s] == ["Linear", "GELU", "Linear"]


def test_wrapping_children_while_iterating():
    class LoRA(nn.Module):
        def __init__(self, base):
            super().__init__()
            self.base = base

        def forward(self, x):
            return self.base(x)

    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    x = eg.randn(3, 2)
    before = net(x).detach().numpy()
    for name, child in net.named_children():
        if isinstance(child, nn.Linear):
            setattr(net, name, LoRA(child))
    assert [type(x).__name__ for x in net] == ["LoRA", "ReLU", "LoRA"]
    assert list(net.state_dict()) == ["0.base.weight", "0.base.bias", "2.base.weight", "2.base.bias"]
    np.testing.assert_array_equal(net(x).detach().numpy(), before)


def test_parameters_and_buffers_keep_their_order():
    lin = nn.Linear(2, 2)
    lin.weight = nn.Parameter(eg.ones(2, 2))
    assert list(lin.state_dict()) == ["weight", "bias"] and [n for n, _ in lin.named_parameters()] == ["weight", "bias"]
    bn = nn.BatchNorm1d(2)
    bn.register_buffer("running_mean", eg.ones(2))
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    bn.register_buffer("running_var", eg.ones(2), persistent=False)
    bn.register_buffer("running_var", eg.ones(2))  # persistent again
    assert "running_var" in bn.state_dict()
    m = nn.Module()
    m.a, m.b = nn.Linear(1, 1), nn.Linear(1, 1)
    m.a = nn.Parameter(eg.ones(1))  # a module name re-used for a parameter: now a parameter, not a module
    assert list(m._modules) == ["b"] and list(m._parameters) == ["a"]


def test_same_as_torch():
    import pytest

    torch = pytest.importorskip("torch", reason="PyTorch's order is the reference")
    for lib in (torch, eg):
        s = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.ReLU(), lib.nn.Linear(2, 2))
        s[0].weight = lib.nn.Parameter(lib.ones(2, 2))
        setattr(s, "1", lib.nn.Tanh())
        names = [n for n, _ in s.named_parameters()], [type(x).__name__ for x in s]
        if lib is torch:
            want = names
    assert names == want


def test_set_submodule_and_add_module_keep_the_place():
    m = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    m.set_submodule("1", nn.GELU())
    assert [type(c).__name__ for c in m] == ["Linear", "GELU", "Linear"]
    m.add_module("0", nn.Tanh())
    m.register_module("2", nn.Identity())
    assert [type(c).__name__ for c in m] == ["Tanh", "GELU", "Identity"]
    x = eg.tensor([[-1.0, 2.0]])
    np.testing.assert_allclose(m(x).numpy(), nn.GELU()(eg.tanh(x)).numpy())


def test_register_checks_names_as_pytorch():
    import pytest

    m = nn.Linear(2, 2)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        m.register_buffer("weight", eg.ones(1))  # it silently replaced the trainable weight
    assert [n for n, _ in m.named_parameters()] == ["weight", "bias"]
    m.register_parameter("bias", nn.Parameter(eg.ones(2)))  # re-registering its own kind is allowed
    with pytest.raises(KeyError, match="buffer name can.*t contain"):
        m.register_buffer("a.b", eg.ones(1))
    with pytest.raises(KeyError, match="empty string"):
        m.register_buffer("", eg.ones(1))
    with pytest.raises(KeyError, match="attribute 'forward' already exists"):
        m.register_parameter("forward", None)
    with pytest.raises(KeyError, match="module name can.*t contain .*got: a.b"):
        nn.ModuleDict({"a.b": nn.ReLU()})
    with pytest.raises(TypeError, match="buffer name should be a string. Got int"):
        m.register_buffer(3, None)
    m.register_buffer("stat", eg.ones(1))
    m.register_buffer("stat", eg.zeros(1))
    assert m.stat.tolist() == [0.0]
