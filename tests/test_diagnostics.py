"""Gradient and activation diagnostics on deliberately badly (and well) initialised 20-layer networks."""
import math
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.diagnostics import GradientMonitor, GradientWarning, activation_stats
from eigengrad.train import fit


def _deep(act, init, depth=20, width=100, seed=0):
    eg.manual_seed(seed)
    layers = []
    for i in range(depth):
        lin = nn.Linear(64 if i == 0 else width, width)
        init(lin.weight)
        nn.init.zeros_(lin.bias)
        layers += [lin, act()]
    return nn.Sequential(*layers, nn.Linear(width, 10))


SMALL_SIGMOID = (nn.Sigmoid, lambda w: nn.init.normal_(w, 0.0, 0.01))
XAVIER_TANH = (nn.Tanh, lambda w: nn.init.xavier_uniform_(w, gain=nn.init.calculate_gain("tanh")))
HE_RELU = (nn.ReLU, lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"))


def _train(model, monitor, steps_epochs=1):
    X, y = eg.datasets.load_digits(return_X_y=True)
    loader = eg.data.DataLoader(eg.data.TensorDataset((X[:640] / 16).astype(np.float32), y[:640]), batch_size=64,
                                shuffle=True, generator=eg.Generator(0))
    fit(model, nn.CrossEntropyLoss(), eg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), loader,
        epochs=steps_epochs, callbacks=[monitor], progress=False)


def test_monitor_flags_vanishing_gradients_in_a_deep_sigmoid_net_with_tiny_weights():
    monitor = GradientMonitor(every_n_steps=2)
    with pytest.warns(GradientWarning, match="vanishing gradients"):
        _train(_deep(*SMALL_SIGMOID), monitor)
    assert monitor.flagged("vanishing") and not monitor.flagged("exploding")
    assert monitor.steps == [0, 2, 4, 6, 8]
    first = monitor.grad_rms["0.weight"][0] / monitor.grad_rms["40.weight"][0]
    assert first < 1e-20  # twenty layers of sigma' <= 1/4 times weights of 0.01
    step, kind, layers = monitor.flags[0]
    assert step == 0 and kind == "vanishing" and layers[0] == "0.weight"


@pytest.mark.parametrize("act_init", [XAVIER_TANH, HE_RELU], ids=["xavier-tanh", "he-relu"])
def test_monitor_does_not_flag_well_initialised_deep_nets(act_init):
    monitor = GradientMonitor()
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientWarning)
        _train(_deep(*act_init), monitor)
    assert monitor.flags == []
    rms = np.array(list(monitor.grad_rms.values()))
    assert (rms / rms[-1]).min() > 1e-2 and len(monitor.steps) == 10


def test_update_to_weight_ratio_is_the_relative_change_of_each_weight():
    model = _deep(*HE_RELU, depth=2)
    monitor = GradientMonitor(model, warn=False)
    x, y = eg.randn(8, 64), eg.tensor(np.arange(8) % 10)
    opt = eg.optim.SGD(model.parameters(), lr=0.1)
    before = model[0].weight.detach().numpy().copy()
    nn.CrossEntropyLoss()(model(x), y).backward()
    monitor.record_gradients()
    grad = model[0].weight.grad.numpy().copy()
    opt.step()
    monitor.record_updates()
    assert monitor.grad_norms["0.weight"] == [pytest.approx(np.linalg.norm(grad), rel=1e-6)]
    assert monitor.grad_rms["0.weight"][0] == pytest.approx(np.linalg.norm(grad) / math.sqrt(grad.size), rel=1e-6)
    expected = np.linalg.norm(0.1 * grad) / np.linalg.norm(before)
    assert monitor.update_ratios["0.weight"] == [pytest.approx(expected, rel=1e-4)]
    assert "0.weight" in monitor.summary() and "update/weight" in monitor.summary()


def test_monitor_flags_exploding_and_non_finite_gradients():
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    monitor = GradientMonitor(model, warn=False)
    model[0].weight.grad = eg.full((4, 4), 1e6)
    model[1].weight.grad = eg.full((2, 4), 1.0)
    monitor.record_gradients()
    assert monitor.flags[-1][1:] == ("exploding", ["0.weight"])
    model[0].weight.grad = eg.full((4, 4), float("nan"))
    monitor.record_gradients()
    assert monitor.flags[-1][1:] == ("exploding", ["0.weight"])


def test_monitor_arguments_are_checked():
    with pytest.raises(ValueError, match="every_n_steps"):
        GradientMonitor(every_n_steps=0)
    with pytest.raises(ValueError, match="vanishing_ratio"):
        GradientMonitor(vanishing_ratio=2.0)
    with pytest.raises(ValueError, match="model"):
        GradientMonitor().record_gradients()


def test_activation_stats_show_what_initialisation_does_with_depth():
    X = (eg.datasets.load_digits(return_X_y=True)[0][:256] / 16).astype(np.float32)
    small = activation_stats(_deep(nn.Tanh, lambda w: nn.init.normal_(w, 0.0, 0.01)), X, kinds=("Tanh",))
    xavier = activation_stats(_deep(*XAVIER_TANH), X, kinds=("Tanh",))
    he = activation_stats(_deep(*HE_RELU), X, kinds=("ReLU",))
    assert len(small) == len(xavier) == len(he) == 20
    assert small[-1].std < 1e-20 < small[0].std            # the signal dies out layer after layer
    assert 0.1 < xavier[-1].std / xavier[0].std < 10       # Xavier keeps it
    assert 0.1 < he[-1].std / he[0].std < 10               # He keeps it for ReLU
    assert all(0.2 < s.zero_fraction < 0.8 for s in he)    # about half of the ReLU units are off
    big = activation_stats(_deep(nn.Tanh, lambda w: nn.init.normal_(w, 0.0, 1.0)), X, kinds=("Tanh",))
    assert big[-1].saturated_fraction > 0.5 and big[-1].std > 0.9  # weights too large: tanh saturates
    assert "saturated" in str(big) and big[0].var == pytest.approx(big[0].std ** 2)


def test_activation_stats_match_a_direct_forward_and_leave_no_hooks():
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))
    x = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
    stats = activation_stats(model, x)
    hidden = np.maximum(x @ model[0].weight.detach().numpy().T + model[0].bias.detach().numpy(), 0)
    assert [s.name for s in stats] == ["0", "1", "2"] and stats[1].kind == "ReLU"
    assert stats[1].mean == pytest.approx(hidden.mean(), rel=1e-5) and stats[1].std == pytest.approx(hidden.std(), rel=1e-5)
    assert stats[2].shape == (7, 2)
    model(eg.from_numpy(x))
    assert len(stats) == 3  # the hooks were removed


def test_plots_draw_the_recorded_curves():
    pytest.importorskip("matplotlib", reason="matplotlib is needed to test the plots (pip install matplotlib)")
    import matplotlib

    matplotlib.use("Agg")
    model = _deep(*HE_RELU, depth=3)
    monitor = GradientMonitor(warn=False)
    _train(model, monitor)
    left, right = monitor.plot()
    assert len(left.lines) == 4 and left.get_yscale() == "log"
    np.testing.assert_allclose(left.lines[0].get_ydata(), monitor.grad_rms["0.weight"])
    assert len(right.lines) == 4
    X = (eg.datasets.load_digits(return_X_y=True)[0][:64] / 16).astype(np.float32)
    stats = activation_stats(model, X, kinds=("ReLU",))
    np.testing.assert_allclose(stats.plot().lines[0].get_ydata(), [s.std for s in stats])


def test_plots_need_matplotlib(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        GradientMonitor(nn.Linear(2, 2)).plot()
    with pytest.raises(ImportError, match="pip install matplotlib"):
        eg.train.History().plot()
