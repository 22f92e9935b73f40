"""eg.optim.param_groups_weight_decay: no decay for biases, 1-D and normalisation parameters, name patterns."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn


class LayerNorm(nn.Module):
    """A stand-in normalisation layer (only its class name and parameters matter here)."""

    def __init__(self, n):
        super().__init__()
        self.weight = nn.Parameter(eg.ones(n))
        self.bias = nn.Parameter(eg.zeros(n))


class Scale2d(nn.Module):
    """A 2-D 'gain' inside a normalisation layer: exempt by the layer rule, not by the 1-D rule."""

    def __init__(self):
        super().__init__()
        self.norm = GroupNorm2d()


class GroupNorm2d(nn.Module):
    def __init__(self):
        super().__init__()
        self.gain = nn.Parameter(eg.ones(2, 3))


def make_model():
    eg.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    m.add_module("ln", LayerNorm(3))
    m.add_module("extra", Scale2d())
    return m


def names(model, params):
    ids = {id(p): n for n, p in model.named_parameters()}
    return [ids[id(p)] for p in params]


def test_exact_partition():
    m = make_model()
    groups = eg.optim.param_groups_weight_decay(m, 1e-2)
    assert [g["weight_decay"] for g in groups] == [1e-2, 0.0]
    assert names(m, groups[0]["params"]) == ["0.weight", "2.weight"]
    assert names(m, groups[1]["params"]) == ["0.bias", "2.bias", "ln.weight", "ln.bias", "extra.norm.gain"]


def test_rules_can_be_turned_off_and_patterns():
    m = make_model()
    g = eg.optim.param_groups_weight_decay(m, 0.1, no_decay=(), skip_1d=False, skip_norm=False)
    assert len(g) == 1 and g[0]["weight_decay"] == 0.1 and len(g[0]["params"]) == 7
    g = eg.optim.param_groups_weight_decay(m, 0.1, no_decay=(), skip_1d=False)  # only the norm layers
    assert names(m, g[1]["params"]) == ["ln.weight", "ln.bias", "extra.norm.gain"]
    g = eg.optim.param_groups_weight_decay(m, 0.1, no_decay="2.*", skip_1d=False, skip_norm=False)  # fnmatch
    assert names(m, g[1]["params"]) == ["2.weight", "2.bias"]
    g = eg.optim.param_groups_weight_decay(m, 0.1, no_decay=["bias", "*.gain"], skip_1d=False, skip_norm=False)
    assert names(m, g[1]["params"]) == ["0.bias", "2.bias", "ln.bias", "extra.norm.gain"]
    g = eg.optim.param_groups_weight_decay(m, 0.1, no_decay="weight", skip_1d=False, skip_norm=False)
    assert names(m, g[0]["params"]) == ["0.bias", "2.bias", "ln.bias", "extra.norm.gain"]  # substring


def test_frozen_left_out_empty_groups_dropped_and_options_copied():
    m = make_model()
    m[0].requires_grad_(False)
    for p in m[2].parameters():
        p.requires_grad_(False)
    g = eg.optim.param_groups_weight_decay(m, 0.1, lr=0.5, momentum=0.9)
    assert len(g) == 1  # no decayed parameter is left
    assert g[0]["weight_decay"] == 0.0 and g[0]["lr"] == 0.5 and g[0]["momentum"] == 0.9
    assert "0.bias" not in names(m, g[0]["params"])
    lin = nn.Linear(3, 3, bias=False)
    assert [x["weight_decay"] for x in eg.optim.param_groups_weight_decay(lin, 0.1)] == [0.1]
    assert eg.optim.param_groups_weight_decay(nn.ReLU(), 0.1) == []


def test_usable_with_sgd_decay_applies_only_to_the_decayed_group():
    m = make_model()
    opt = eg.optim.SGD(eg.optim.param_groups_weight_decay(m, 0.5), lr=0.1)
    assert len(opt.param_groups) == 2
    before = {n: p.detach().numpy().copy() for n, p in m.named_parameters()}
    for p in m.parameters():  # zero gradients: only weight decay can move a parameter
        p.grad = eg.zeros_like(p)
    opt.step()
    after = {n: p.detach().numpy() for n, p in m.named_parameters()}
    w = before["0.weight"]
    np.testing.assert_allclose(after["0.weight"], w - np.float32(0.1) * np.float32(0.5) * w, rtol=1e-6)
    assert not np.array_equal(after["0.weight"], w)
    for n in ("0.bias", "2.bias", "ln.weight", "ln.bias", "extra.norm.gain"):
        np.testing.assert_array_equal(after[n], before[n])


def test_a_training_step_works():
    eg.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))
    opt = eg.optim.SGD(eg.optim.param_groups_weight_decay(m, 1e-3), lr=0.1, momentum=0.9)
    x = eg.randn(8, 4, generator=eg.Generator(1))
    y = eg.tensor(np.arange(8) % 3)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_bad_arguments():
    m = make_model()
    with pytest.raises(TypeError, match=r"^model: expected an eigengrad.nn.Module, got list"):
        eg.optim.param_groups_weight_decay(list(m.parameters()), 0.1)
    with pytest.raises(ValueError, match=r"^weight_decay: expected a value >= 0, got -0.1"):
        eg.optim.param_groups_weight_decay(m, -0.1)
    with pytest.raises(TypeError, match=r"^weight_decay: expected a number, got str"):
        eg.optim.param_groups_weight_decay(m, "0.1")
    with pytest.raises(TypeError, match=r"^no_decay: expected name patterns \(str\), got int"):
        eg.optim.param_groups_weight_decay(m, 0.1, no_decay=[1])
    with pytest.raises(ValueError, match=r"^params: set by param_groups_weight_decay"):
        eg.optim.param_groups_weight_decay(m, 0.1, params=[])
    with pytest.raises(TypeError):
        eg.optim.param_groups_weight_decay(m, 0.1, weight_decay=0.2)  # given twice: Python's own error
