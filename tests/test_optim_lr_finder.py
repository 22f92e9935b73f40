"""eg.optim.lr_range_test (Smith 2017): the exponential sweep, smoothing, early stop on divergence, the
suggestion against a sweep of fixed learning rates on the digits, and that the user's model is untouched."""
import math
import sys

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim.lr_finder import exponential_lrs, steepest_lr


def digits_split():
    X, y = eg.datasets.load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    perm = eg.randperm(len(X), generator=eg.Generator(0)).numpy()
    return (X[perm[:1400]], y[perm[:1400]]), (X[perm[1400:]], y[perm[1400:]])


def mlp(seed):
    eg.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))


def loader_of(X, y, seed, batch_size=32):
    return eg.data.DataLoader(eg.data.TensorDataset(X, y), batch_size=batch_size, shuffle=True,
                              generator=eg.Generator(seed))


def regression_setup(n=64, seed=0):
    """A linear model on a linear target: the loss falls smoothly and does not diverge at small rates."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5, 3.0], np.float32))[:, None]
    eg.manual_seed(seed)
    return nn.Linear(4, 1), nn.MSELoss(), loader_of(X, y, seed, batch_size=16)


def test_suggestion_within_a_decade_of_the_best_fixed_rate():
    """The acceptance test: a sweep of fixed rates (2 epochs each, fixed seeds) picks the best by validation
    loss; the range test's suggestion must lie within one order of magnitude of it."""
    (Xtr, ytr), (Xva, yva) = digits_split()
    loss_fn = nn.CrossEntropyLoss()

    def validation_loss_after_training(lr):
        model = mlp(0)
        opt = eg.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        for epoch in range(2):
            for xb, yb in loader_of(Xtr, ytr, seed=epoch):
                opt.zero_grad()
                loss_fn(model(xb), yb).backward()
                opt.step()
        with eg.no_grad():
            v = loss_fn(model(eg.from_numpy(Xva)), eg.from_numpy(yva)).item()
        return v if math.isfinite(v) else math.inf

    rates = np.logspace(-4, 0, 9)
    losses = [validation_loss_after_training(lr) for lr in rates]
    best_fixed = float(rates[int(np.argmin(losses))])
    assert min(losses) < 0.5 < max(losses)  # the sweep spans too small, good and too large rates
    result = eg.optim.lr_range_test(mlp(1), loss_fn, loader_of(Xtr, ytr, seed=100), start_lr=1e-5, end_lr=10,
                                    num_steps=100)
    assert result.diverged and len(result.lrs) < 100
    assert best_fixed / 10 <= result.suggested_lr <= best_fixed * 10, (result.suggested_lr, best_fixed, losses)
    assert result.suggested_lr == pytest.approx(result.best_lr / 10)
    assert result.steepest_lr is not None and result.steepest_lr <= result.best_lr


def test_lrs_are_exactly_exponential_and_losses_smoothed_with_bias_correction():
    model, loss_fn, loader = regression_setup()
    r = eg.optim.lr_range_test(model, loss_fn, loader, start_lr=1e-6, end_lr=1e-2, num_steps=25, smooth=0.1)
    assert len(r.lrs) == len(r.losses) == len(r.raw_losses) == 25 and not r.diverged
    assert r.lrs[0] == 1e-6 and r.lrs[-1] == 1e-2
    ratios = np.array(r.lrs[1:]) / np.array(r.lrs[:-1])
    np.testing.assert_allclose(ratios, (1e-2 / 1e-6) ** (1 / 24), rtol=1e-12)
    assert exponential_lrs(1e-6, 1e-2, 25) == r.lrs
    avg, expected = 0.0, []
    for i, raw in enumerate(r.raw_losses):
        avg = 0.9 * avg + 0.1 * raw
        expected.append(avg / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(r.losses, expected, rtol=1e-12)
    assert r.losses[0] == r.raw_losses[0]  # bias correction: the first point is the first loss
    assert r.raw_losses[-1] < r.raw_losses[0]  # it trained


def test_divergence_stops_early():
    model, loss_fn, loader = regression_setup()
    r = eg.optim.lr_range_test(model, loss_fn, loader, start_lr=1e-4, end_lr=1e6, num_steps=100)
    assert r.diverged and 2 <= len(r.lrs) < 100
    last = r.losses[-1]
    assert not math.isfinite(last) or last > 5.0 * min(r.losses[:-1])
    assert all(math.isfinite(x) and x <= 5.0 * min(r.losses[: i + 1]) for i, x in enumerate(r.losses[:-1]))


def test_user_model_optimizer_and_rng_untouched():
    model, loss_fn, loader = regression_setup()
    opt = eg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)  # parameters live in a flat buffer
    loss_fn(model(next(iter(loader))[0]), next(iter(loader))[1]).backward()
    params = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    grads = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
    flat = opt.arenas[0].data.copy()
    rng = eg.get_rng_state().clone()
    model.eval()
    r = eg.optim.lr_range_test(model, loss_fn, loader, 1e-4, 10.0, 30)
    assert len(r.lrs) > 2
    for n, p in model.named_parameters():
        np.testing.assert_array_equal(p.detach().numpy(), params[n])
        np.testing.assert_array_equal(p.grad.numpy(), grads[n])
        assert np.shares_memory(p.detach().numpy(), opt.arenas[0].data)
    np.testing.assert_array_equal(opt.arenas[0].data, flat)
    np.testing.assert_array_equal(eg.get_rng_state().numpy(), rng.numpy())
    assert model.training is False


def test_short_loader_is_cycled_and_custom_optimizer_used():
    X = np.ones((6, 4), np.float32)
    y = np.zeros((6, 1), np.float32)
    seen, built = [], []

    class CountingLoader:
        def __iter__(self):
            for i in range(0, 6, 2):
                seen.append(i)
                yield eg.from_numpy(X[i:i + 2]), eg.from_numpy(y[i:i + 2])

    def make_opt(params, lr):
        built.append(lr)
        return eg.optim.SGD(params, lr)

    eg.manual_seed(0)
    r = eg.optim.lr_range_test(nn.Linear(4, 1), nn.MSELoss(), CountingLoader(), 1e-5, 1e-3, 10,
                               optimizer=make_opt, progress=True)
    assert len(r.lrs) == 10 and len(seen) == 10  # three and a third passes over the data
    assert built == [1e-5]


def test_steepest_lr_on_a_known_curve():
    lrs = exponential_lrs(1e-4, 1.0, 41)
    x = np.log10(lrs)
    losses = list(1.0 - np.tanh(2 * (x + 2)) + np.where(x > -1, 5 * (x + 1) ** 2, 0))  # steepest at 1e-2
    assert steepest_lr(lrs, losses) == pytest.approx(1e-2, rel=1e-9)
    assert steepest_lr(lrs[:2], losses[:2]) is None
    assert steepest_lr(lrs, [math.nan] * len(lrs)) is None


def test_plot_needs_matplotlib(monkeypatch):
    model, loss_fn, loader = regression_setup()
    r = eg.optim.lr_range_test(model, loss_fn, loader, 1e-4, 1e-2, 5)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        r.plot()
    with pytest.raises(ImportError, match="pip install matplotlib"):
        eg.optim.lr_range_test(model, loss_fn, loader, 1e-4, 1e-2, 5, plot=True)


def test_plot_draws_on_a_log_axis():
    pytest.importorskip("matplotlib", reason="matplotlib is needed to test the plot (pip install matplotlib)")
    import matplotlib

    matplotlib.use("Agg")
    model, loss_fn, loader = regression_setup()
    r = eg.optim.lr_range_test(model, loss_fn, loader, 1e-4, 1e-1, 20)
    ax = r.plot()
    assert ax.get_xscale() == "log"
    np.testing.assert_allclose(ax.lines[0].get_xdata(), r.lrs)


def test_importing_eigengrad_does_not_import_matplotlib():
    import subprocess

    code = "import sys, eigengrad; eigengrad.optim.lr_range_test; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_bad_arguments():
    model, loss_fn, loader = regression_setup()
    cases = [
        (dict(start_lr=1.0, end_lr=1.0), ValueError, r"^end_lr: expected a finite learning rate > start_lr"),
        (dict(start_lr=1.0, end_lr=0.1), ValueError, r"^end_lr: expected a finite learning rate > start_lr"),
        (dict(start_lr=0.0), ValueError, r"^start_lr: expected a finite learning rate > 0, got 0.0"),
        (dict(start_lr=-1e-3), ValueError, r"^start_lr: expected a finite learning rate > 0"),
        (dict(end_lr=math.inf), ValueError, r"^end_lr"),
        (dict(num_steps=1), ValueError, r"^num_steps: expected at least 2 steps, got 1"),
        (dict(num_steps=2.5), TypeError, r"^num_steps: expected an int, got float"),
        (dict(smooth=0.0), ValueError, r"^smooth: expected a value in \(0, 1\]"),
        (dict(diverge_threshold=1.0), ValueError, r"^diverge_threshold: expected a value > 1"),
        (dict(start_lr="1e-3"), TypeError, r"^start_lr: expected a number, got str"),
        (dict(optimizer="sgd"), TypeError, r"^optimizer: expected a callable"),
    ]
    for kwargs, exc, pattern in cases:
        with pytest.raises(exc, match=pattern):
            eg.optim.lr_range_test(model, loss_fn, loader, **kwargs)
    with pytest.raises(TypeError, match=r"^model: expected an eigengrad.nn.Module, got list"):
        eg.optim.lr_range_test([], loss_fn, loader)
    with pytest.raises(TypeError, match=r"^loss_fn: expected a callable"):
        eg.optim.lr_range_test(model, None, loader)
    with pytest.raises(ValueError, match=r"^loader: expected at least one batch"):
        eg.optim.lr_range_test(model, loss_fn, [])
    with pytest.raises(TypeError, match=r"^loader: expected batches of \(input, target\), got Tensor"):
        eg.optim.lr_range_test(model, loss_fn, [eg.ones(2, 4)])
    with pytest.raises(TypeError, match=r"^optimizer: expected optimizer\(params, lr\) to return an Optimizer"):
        eg.optim.lr_range_test(model, loss_fn, loader, optimizer=lambda params, lr: None)
