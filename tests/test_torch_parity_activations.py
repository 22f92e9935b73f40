"""Parity with PyTorch 2.13: LeakyReLU, PReLU (input and weight gradients), ELU, SELU, GELU (both forms),
Softplus, Maxout (against a torch Linear + max), and dropout semantics and statistics (Dropout,
Dropout2d, AlphaDropout): float64 to 1e-10 relative on outputs and gradients."""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install torch to run the parity checks")

import eigengrad as eg  # noqa: E402
from torch_parity import make_assert_rel  # noqa: E402
import eigengrad.nn.functional as F  # noqa: E402
from eigengrad import nn  # noqa: E402

TOL = {np.float32: 1e-5, np.float64: 1e-10}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dt(request):
    return request.param


assert_rel = make_assert_rel(TOL)

PAIRS = {
    "LeakyReLU": (lambda: nn.LeakyReLU(), lambda: torch.nn.LeakyReLU()),
    "LeakyReLU(0.3)": (lambda: nn.LeakyReLU(0.3, inplace=True), lambda: torch.nn.LeakyReLU(0.3, inplace=True)),
    "ELU": (lambda: nn.ELU(), lambda: torch.nn.ELU()),
    "ELU(0.4)": (lambda: nn.ELU(0.4), lambda: torch.nn.ELU(0.4)),
    "SELU": (lambda: nn.SELU(), lambda: torch.nn.SELU()),
    "GELU": (lambda: nn.GELU(), lambda: torch.nn.GELU()),
    "GELU(tanh)": (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
    "Softplus": (lambda: nn.Softplus(), lambda: torch.nn.Softplus()),
    "Softplus(2, 3)": (lambda: nn.Softplus(2.0, 3.0), lambda: torch.nn.Softplus(2.0, 3.0)),
}


@pytest.mark.parametrize("shape", [(1,), (7, 13), (4, 3, 5, 6), (0, 3)], ids=["1", "7x13", "4x3x5x6", "0x3"])
@pytest.mark.parametrize("name", list(PAIRS))
def test_activation_forward_and_input_grad(name, shape, dt):
    em, tm = PAIRS[name][0](), PAIRS[name][1]()
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 4).astype(dt)
    x.flat[:3] = [-25.0, 0.0, 25.0][: x.size]  # saturation and the kink
    g = rng.standard_normal(shape).astype(dt)
    ex = eg.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ey, ty = em(ex.clone()), tm(tx.clone())  # a non-leaf each: inplace=True writes into its input in both
    assert_rel(ey, ty, dt, f"{name} forward")
    ey.backward(eg.tensor(g))
    ty.backward(torch.from_numpy(g))
    assert_rel(ex.grad, tx.grad, dt, f"{name} input grad")


@pytest.mark.parametrize("shape,nw", [((6, 5), 1), ((6, 5), 5), ((3, 4, 5, 6), 4), ((3, 4, 5, 6), 1), ((9,), 1)])
def test_prelu_forward_input_and_weight_grad(shape, nw, dt):
    rng = np.random.default_rng(1)
    tm = torch.nn.PReLU(nw).to(TORCH_DTYPE[dt])
    em = nn.PReLU(nw, dtype=dt)
    np.testing.assert_array_equal(em.weight.detach().numpy(), tm.weight.detach().numpy())  # init=0.25
    w = rng.uniform(-0.5, 0.5, nw).astype(dt)
    with torch.no_grad():
        tm.weight.copy_(torch.from_numpy(w))
    em.load_state_dict({"weight": w})
    x = rng.standard_normal(shape).astype(dt)
    g = rng.standard_normal(shape).astype(dt)
    ex, tx = eg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = em(ex.clone()), tm(tx.clone())  # a non-leaf each: inplace=True writes into its input in both
    assert_rel(ey, ty, dt, "forward")
    ey.backward(eg.tensor(g))
    ty.backward(torch.from_numpy(g))
    assert_rel(ex.grad, tx.grad, dt, "input grad")
    assert_rel(em.weight.grad, tm.weight.grad, dt, "weight grad")


def test_maxout_matches_torch_linear_and_max(dt):
    eg.manual_seed(3)
    em = nn.Maxout(7, 5, 3, dtype=dt)
    tl = torch.nn.Linear(7, 15).to(TORCH_DTYPE[dt])
    with torch.no_grad():
        tl.weight.copy_(torch.from_numpy(em.weight.detach().numpy()))
        tl.bias.copy_(torch.from_numpy(em.bias.detach().numpy()))
    x = np.random.default_rng(2).standard_normal((11, 7)).astype(dt)
    g = np.random.default_rng(3).standard_normal((11, 5)).astype(dt)
    ex, tx = eg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey = em(ex)
    ty = tl(tx).reshape(11, 5, 3).max(dim=-1).values
    assert_rel(ey, ty, dt, "forward")
    ey.backward(eg.tensor(g))
    ty.backward(torch.from_numpy(g))
    assert_rel(ex.grad, tx.grad, dt, "input grad")
    assert_rel(em.weight.grad, tl.weight.grad, dt, "weight grad")
    assert_rel(em.bias.grad, tl.bias.grad, dt, "bias grad")


def test_maxout_default_init_matches_torch_linear_distribution():
    em, tl = nn.Maxout(300, 100, 4), torch.nn.Linear(300, 400)
    for e, t in ((em.weight.detach().numpy(), tl.weight.detach().numpy()),
                 (em.bias.detach().numpy(), tl.bias.detach().numpy())):
        assert e.shape == t.shape
        assert abs(np.abs(e).max() - np.abs(t).max()) < 1e-3
        assert abs(e.std() - t.std()) < 0.1 * t.std()  # 400 biases: a few % of sampling noise


# --- dropout: semantics and statistics (the masks come from different generators) --------------------

def test_dropout_semantics_match_torch(dt):
    x = np.random.default_rng(0).standard_normal((4, 3, 5, 5)).astype(dt)
    for ef, tf, kw in ((F.dropout, torch.nn.functional.dropout, {}),
                       (F.dropout2d, torch.nn.functional.dropout2d, {}),
                       (F.alpha_dropout, torch.nn.functional.alpha_dropout, {"training": True})):
        for p in (0.0, 1.0):
            assert_rel(ef(eg.tensor(x), p, **kw), tf(torch.from_numpy(x), p, **kw), dt, f"{ef.__name__} p={p}")
        assert_rel(ef(eg.tensor(x), 0.5, training=False), tf(torch.from_numpy(x), 0.5, training=False), dt)
        with pytest.raises(ValueError):
            tf(torch.from_numpy(x), 1.5)
        with pytest.raises(ValueError):
            ef(eg.tensor(x), 1.5)
    # alpha_dropout's default is training=False in both
    assert_rel(F.alpha_dropout(eg.tensor(x), 0.5), torch.nn.functional.alpha_dropout(torch.from_numpy(x), 0.5), dt)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_values_and_statistics_match_torch(p):
    n = 10**6
    x = np.random.default_rng(1).standard_normal(n)
    torch.manual_seed(0)
    ty = torch.nn.functional.dropout(torch.from_numpy(x), p).numpy()
    eg.manual_seed(0)
    ey = F.dropout(eg.tensor(x), p).numpy()
    # kept values are x / (1 - p) in both, bit for bit; dropped ones are 0
    for y in (ty, ey):
        kept = y != 0
        np.testing.assert_array_equal(y[kept], x[kept] * (1.0 / (1.0 - p)))
    se = math.sqrt(p * (1 - p) / n)
    assert abs(np.mean(ty != 0) - np.mean(ey != 0)) < 6 * se


@pytest.mark.parametrize("p", [0.05, 0.2, 0.5])
def test_alpha_dropout_values_and_statistics_match_torch(p):
    n = 10**6
    x = np.random.default_rng(2).standard_normal(n)
    torch.manual_seed(0)
    ty = torch.nn.functional.alpha_dropout(torch.from_numpy(x), p, training=True).numpy()
    eg.manual_seed(0)
    ey = F.alpha_dropout(eg.tensor(x), p, training=True).numpy()
    alpha = 1.7580993408473766
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    dropped_value = -(alpha * a) + alpha * a * p
    for y in (ty, ey):
        dropped = y == dropped_value
        assert abs(dropped.mean() - p) < 6 * math.sqrt(p * (1 - p) / n)
        np.testing.assert_allclose(y[~dropped], x[~dropped] * a + alpha * a * p, rtol=1e-14, atol=1e-15)
    assert abs(ty.mean() - ey.mean()) < 0.01 and abs(ty.var() - ey.var()) < 0.01


def test_dropout2d_statistics_match_torch():
    x = np.ones((64, 256, 3, 3))
    torch.manual_seed(0)
    ty = torch.nn.functional.dropout2d(torch.from_numpy(x), 0.3).numpy()
    ey = F.dropout2d(eg.tensor(x), 0.3).numpy()
    for y in (ty, ey):
        planes = y.reshape(64 * 256, 9)
        assert np.all((planes == 0).all(1) | (planes == 1 / 0.7).all(1))
        assert abs((planes[:, 0] == 0).mean() - 0.3) < 6 * math.sqrt(0.21 / planes.shape[0])


def test_dropout_backward_matches_torch_given_the_same_mask():
    x = np.random.default_rng(4).standard_normal((32, 20))
    g = np.random.default_rng(5).standard_normal((32, 20))
    ex = eg.tensor(x, requires_grad=True)
    ey = F.dropout(ex, 0.3)
    ey.backward(eg.tensor(g))
    mask = ey.detach().numpy() != 0
    tx = torch.tensor(x, requires_grad=True)
    ty = tx * torch.from_numpy(mask.astype(np.float64)) * (1 / 0.7)
    ty.backward(torch.from_numpy(g))
    assert_rel(ey, ty, np.float64)
    assert_rel(ex.grad, tx.grad, np.float64)
