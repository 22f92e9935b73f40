"""LBFGS (PyTorch's algorithm, both line-search settings) and ``step(closure)`` on every optimizer.

PyTorch's LBFGS adds with fused multiply-adds (``add_(alpha=)``) and reduces with MKL's dot and its own
sum; eigengrad's uses NumPy. With those three operations routed to the same arithmetic, the two give
the same bits at every one of hundreds of closure evaluations on Rosenbrock (so every branch of the
algorithm and of the strong-Wolfe search is PyTorch's); with PyTorch's own arithmetic they agree to
1e-10 over 200 steps on well-conditioned problems."""
import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch", reason="PyTorch is not installed: the LBFGS parity checks run only where "
                                            "it is (pip install torch==2.13.0)")

LINE_SEARCHES = [None, "strong_wolfe"]


def rosenbrock(x):
    """The extended Rosenbrock function (pairs of coordinates) and its gradient."""
    f = np.sum(100.0 * (x[1::2] - x[::2] ** 2) ** 2 + (1 - x[::2]) ** 2)
    g = np.zeros_like(x)
    g[::2] = -400 * x[::2] * (x[1::2] - x[::2] ** 2) - 2 * (1 - x[::2])
    g[1::2] = 200 * (x[1::2] - x[::2] ** 2)
    return f, g


def logistic_problem(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((60, 8))
    y = (X @ rng.standard_normal(8) + 0.5 * rng.standard_normal(60) > 0).astype(float)

    def f(w):  # mean logistic loss + 0.05 |w|^2
        z = X @ w
        value = np.mean(np.logaddexp(0, z) - y * z) + 0.05 * np.sum(w * w)
        return value, X.T @ (1 / (1 + np.exp(-z)) - y) / len(y) + 0.1 * w
    return f


def quadratic_problem(n=40, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    A, b = Q @ np.diag(np.logspace(0, 2, n)) @ Q.T, rng.standard_normal(n)
    return lambda x: (0.5 * x @ A @ x - b @ x, A @ x - b)


def run(lib, objective, x0, steps, **options):
    """``steps`` LBFGS steps on ``objective`` (NumPy: value, gradient); returns the point of every closure
    call, the losses step() returned and the optimizer."""
    points, losses = [], []
    if lib == "torch":
        x = torch.tensor(x0, requires_grad=True)
        opt = torch.optim.LBFGS([x], **options)
        get = lambda: x.detach().numpy().copy()  # noqa: E731
    else:
        x = eg.tensor(x0, requires_grad=True)
        opt = eg.optim.LBFGS([x], **options)
        get = lambda: x.detach().numpy().copy()  # noqa: E731
    wrap = torch.from_numpy if lib == "torch" else eg.tensor

    def closure():
        opt.zero_grad()
        points.append(get())
        value, grad = objective(points[-1])
        x.grad = wrap(grad.copy())
        return wrap(np.array(value))

    for _ in range(steps):
        losses.append(float(opt.step(closure)))
    return np.array(points), np.array(losses), opt


@pytest.fixture
def torch_with_numpy_reductions(monkeypatch):
    """torch's dot, sum and add_(alpha=) computed as NumPy computes them (no FMA, NumPy's summation)."""
    add_ = torch.Tensor.add_

    def numpy_add_(self, other, alpha=1):
        if isinstance(other, torch.Tensor) and alpha != 1:
            self.detach().numpy()[...] += float(alpha) * other.detach().numpy()
            return self
        return add_(self, other, alpha=alpha)

    monkeypatch.setattr(torch.Tensor, "dot", lambda a, b: torch.tensor(np.dot(a.detach().numpy(), b.detach().numpy())))
    monkeypatch.setattr(torch.Tensor, "sum", lambda a: torch.tensor(np.sum(a.detach().numpy())))
    monkeypatch.setattr(torch.Tensor, "add_", numpy_add_)


@pytest.mark.parametrize("line_search_fn", LINE_SEARCHES)
@pytest.mark.parametrize("options", [dict(), dict(max_iter=3, history_size=5, lr=0.5)], ids=["defaults", "short"])
def test_same_bits_as_torch_at_every_evaluation_given_the_same_reductions(torch_with_numpy_reductions,
                                                                         line_search_fn, options):
    x0 = np.tile([-1.2, 1.0], 5)
    ours = run("eg", rosenbrock, x0, 200, line_search_fn=line_search_fn, **options)
    theirs = run("torch", rosenbrock, x0, 200, line_search_fn=line_search_fn, **options)
    assert len(ours[0]) == len(theirs[0]) > 200  # the same number of closure calls
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])
    state_ours, state_theirs = next(iter(ours[2].state.values())), next(iter(theirs[2].state.values()))
    assert state_ours["func_evals"] == state_theirs["func_evals"]
    assert state_ours["n_iter"] == state_theirs["n_iter"]
    np.testing.assert_allclose(ours[0][-1], 1.0, atol=1e-4)  # and it found the minimum


@pytest.mark.parametrize("line_search_fn", LINE_SEARCHES)
@pytest.mark.parametrize("problem,x0,options", [
    (logistic_problem(), np.zeros(8), dict(max_iter=1, history_size=10, lr=0.3)),
    (logistic_problem(), np.zeros(8), dict(max_iter=2, history_size=4)),
    (quadratic_problem(), np.zeros(40), dict(max_iter=1, history_size=5)),
    (quadratic_problem(), np.zeros(40), dict()),
], ids=["logistic-1-iter", "logistic-2-iter", "quadratic-1-iter", "quadratic-defaults"])
def test_trajectory_matches_torch_over_200_steps(line_search_fn, problem, x0, options):
    ours = run("eg", problem, x0, 200, line_search_fn=line_search_fn, **options)
    theirs = run("torch", problem, x0, 200, line_search_fn=line_search_fn, **options)
    assert len(ours[0]) == len(theirs[0])
    err = np.max(np.abs(ours[0] - theirs[0])) / np.max(np.abs(theirs[0]))
    assert err <= 1e-10, f"relative error {err:.2e}"
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10)
    assert ours[1][-1] < ours[1][0]


@pytest.mark.parametrize("line_search_fn", LINE_SEARCHES)
def test_trains_a_model_with_autograd_closure_like_torch(line_search_fn):
    """A real closure (zero_grad, forward, loss, backward) through eigengrad's autograd: LBFGS drives the
    loss down as far as PyTorch's does (a nonconvex model: numbers agree only at first)."""
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((64, 3)), None
    Y = np.sin(X.sum(1, keepdims=True))
    init = [rng.standard_normal((16, 3)) * 0.5, np.zeros(16), rng.standard_normal((1, 16)) * 0.3, np.zeros(1)]
    results = {}
    for lib in (eg, torch):
        model = lib.nn.Sequential(lib.nn.Linear(3, 16, dtype=lib.float64), lib.nn.Tanh(),
                                  lib.nn.Linear(16, 1, dtype=lib.float64))
        with lib.no_grad():
            for p, v in zip(model.parameters(), init):
                p.copy_(lib.tensor(v))
        x, y = lib.tensor(X), lib.tensor(Y)
        opt = lib.optim.LBFGS(model.parameters(), line_search_fn=line_search_fn, max_iter=5)
        loss_fn = lib.nn.MSELoss()

        def closure():
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            return loss

        results[lib.__name__] = [float(opt.step(closure)) for _ in range(25)]
    ours, theirs = np.array(results["eigengrad"]), np.array(results["torch"])
    np.testing.assert_allclose(ours[:3], theirs[:3], rtol=1e-8)
    assert ours[-1] < 1e-3 * ours[0] and theirs[-1] < 1e-3 * theirs[0]


def _quadratic_run(x, steps, opt=None):
    f = quadratic_problem()
    opt = opt or eg.optim.LBFGS([x], max_iter=2, history_size=4)

    def closure():
        opt.zero_grad()
        value, grad = f(x.detach().numpy())
        x.grad = eg.tensor(grad)
        return eg.tensor(np.array(value))
    for _ in range(steps):
        opt.step(closure)
    return opt


def test_state_dict_resume_is_bitwise_identical():
    straight = eg.tensor(np.zeros(40), requires_grad=True)
    _quadratic_run(straight, 20)
    first = eg.tensor(np.zeros(40), requires_grad=True)
    opt = _quadratic_run(first, 10)
    saved, saved_x = opt.state_dict(), first.detach().numpy().copy()
    _quadratic_run(first, 3, opt)  # stepping on does not change what was saved
    resumed = eg.tensor(saved_x, requires_grad=True)
    opt2 = eg.optim.LBFGS([resumed], max_iter=2, history_size=4)
    opt2.load_state_dict(saved)
    _quadratic_run(resumed, 10, opt2)
    np.testing.assert_array_equal(resumed.detach().numpy(), straight.detach().numpy())
    assert not np.array_equal(saved_x, straight.detach().numpy())


def test_state_dict_keys_match_torch():
    f, x0 = quadratic_problem(), np.zeros(40)
    ours, theirs = run("eg", f, x0, 3, max_iter=1), run("torch", f, x0, 3, max_iter=1)
    sd_ours, sd_theirs = ours[2].state_dict(), theirs[2].state_dict()
    assert set(sd_ours["state"][0]) == set(sd_theirs["state"][0])
    assert set(sd_ours["param_groups"][0]) == set(sd_theirs["param_groups"][0])
    for key in ("func_evals", "n_iter"):
        assert sd_ours["state"][0][key] == sd_theirs["state"][0][key]
    np.testing.assert_allclose(sd_ours["state"][0]["d"], sd_theirs["state"][0]["d"].numpy(), rtol=1e-10)


def test_stops_at_once_when_the_gradient_is_below_tolerance():
    calls = []
    x = eg.tensor(np.zeros(3), requires_grad=True)
    opt = eg.optim.LBFGS([x])

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = (x * x).sum()
        loss.backward()
        return loss
    assert float(opt.step(closure)) == 0.0
    assert len(calls) == 1
    np.testing.assert_array_equal(x.detach().numpy(), 0.0)


def test_bad_arguments():
    x = eg.tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(TypeError, match=r"^closure: LBFGS needs a closure"):
        eg.optim.LBFGS([x]).step()
    with pytest.raises(ValueError, match=r"^params: LBFGS doesn't support per-parameter options"):
        eg.optim.LBFGS([{"params": [x]}, {"params": [eg.tensor(np.zeros(2), requires_grad=True)]}])
    with pytest.raises(ValueError, match=r"^line_search_fn: expected one of 'strong_wolfe', got 'wolfe'"):
        eg.optim.LBFGS([x], line_search_fn="wolfe")
    with pytest.raises(ValueError, match=r"^lr: "):
        eg.optim.LBFGS([x], lr=-1.0)
    with pytest.raises(TypeError, match=r"^history_size: "):
        eg.optim.LBFGS([x], history_size=2.5)


# --- step(closure) on every optimizer ---------------------------------------------------------------------

@pytest.mark.parametrize("name", list(eg.optim.OPTIMIZERS))
def test_step_with_closure_returns_its_loss_and_steps_like_torch(name):
    rng = np.random.default_rng(1)
    w0, X = rng.standard_normal((4, 3)), rng.standard_normal((8, 3))
    results = {}
    for lib in (eg, torch):
        w = lib.tensor(w0.copy(), requires_grad=True)
        x = lib.tensor(X)
        opt = getattr(lib.optim, name)([w], lr=0.01)
        returned = []
        for _ in range(5):
            def closure():
                opt.zero_grad()
                loss = ((x @ w.T) ** 2).mean()
                loss.backward()
                return loss
            returned.append(float(opt.step(closure)))
        results[lib.__name__] = (returned, w.detach().numpy().copy())
    ours, theirs = results["eigengrad"], results["torch"]
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10)
    assert ours[0][-1] < ours[0][0]


def test_closure_runs_with_gradients_enabled_inside_no_grad():
    w = eg.tensor(np.ones(2), requires_grad=True)
    opt = eg.optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss
    with eg.no_grad():
        loss = opt.step(closure)
    assert float(loss) == 2.0
    np.testing.assert_allclose(w.detach().numpy(), 0.8)
