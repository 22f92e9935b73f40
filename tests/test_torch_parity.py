"""Parity with PyTorch: losses, gradients, Linear init, state_dict, SGD, and tie-breaking of max/amax."""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is needed for the parity checks (pip install torch)")

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

def to_eg_state(torch_module):
    return {k: v.detach().numpy().copy() for k, v in torch_module.state_dict().items()}


def build_pair(dtype, out_features=3):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 6), torch.nn.Tanh(),
        torch.nn.Linear(6, 6), torch.nn.Sigmoid(), torch.nn.Linear(6, out_features),
    ).to(TORCH_DTYPE[dtype])
    em = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 6), nn.Sigmoid(),
                       nn.Linear(6, out_features)).to(dtype)
    em.load_state_dict(to_eg_state(tm))
    return tm, em


# --- a whole model: loss and every parameter's gradient -------------------------------------------

@pytest.mark.parametrize("loss_name", ["cross_entropy", "mse"])
def test_mlp_loss_and_gradients_match(loss_name, dt):
    tm, em = build_pair(dt)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 5)).astype(dt)
    if loss_name == "cross_entropy":
        y = rng.integers(0, 3, 16)
        t_loss = torch.nn.CrossEntropyLoss()(tm(torch.from_numpy(x)), torch.from_numpy(y))
        e_loss = nn.CrossEntropyLoss()(em(eg.tensor(x)), eg.tensor(y))
    else:
        y = rng.standard_normal((16, 3)).astype(dt)
        t_loss = torch.nn.MSELoss()(tm(torch.from_numpy(x)), torch.from_numpy(y))
        e_loss = nn.MSELoss()(em(eg.tensor(x)), eg.tensor(y))
    t_loss.backward()
    e_loss.backward()
    assert e_loss.dtype == dt and e_loss.shape == ()
    assert_rel(e_loss, t_loss, dt, "loss")
    t_params = dict(tm.named_parameters())
    e_params = dict(em.named_parameters())
    assert list(e_params) == list(t_params)
    for name, p in e_params.items():
        assert p.grad is not None and p.grad.dtype == dt, name
        assert_rel(p.grad, t_params[name].grad, dt, name)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mlp_gradients_with_input_gradient(reduction):
    tm, em = build_pair(np.float64)
    x = np.random.default_rng(2).standard_normal((7, 5))
    y = np.array([0, 2, 1, -100, 2, 0, 1])
    tx = torch.from_numpy(x.copy()).requires_grad_()
    ex = eg.tensor(x, requires_grad=True)
    t_loss = torch.nn.functional.cross_entropy(tm(tx), torch.from_numpy(y), reduction=reduction)
    e_loss = F.cross_entropy(em(ex), y, reduction=reduction)
    assert_rel(e_loss, t_loss, np.float64, "loss")
    g = np.linspace(-1, 1, 7) if reduction == "none" else None
    t_loss.backward(None if g is None else torch.from_numpy(g))
    e_loss.backward(g)
    assert_rel(ex.grad, tx.grad, np.float64, "input")
    for (name, p), tp in zip(em.named_parameters(), tm.parameters()):
        assert_rel(p.grad, tp.grad, np.float64, name)


# --- Linear initialisation ------------------------------------------------------------------------

@pytest.mark.parametrize("fan_in,fan_out", [(50, 40), (7, 300)])
def test_linear_default_init_matches_torch_distribution(fan_in, fan_out):
    eg.manual_seed(123)
    layer = nn.Linear(fan_in, fan_out)
    torch.manual_seed(123)
    ref = torch.nn.Linear(fan_in, fan_out)
    bound = 1 / np.sqrt(fan_in)
    for p, tp in ((layer.weight, ref.weight), (layer.bias, ref.bias)):
        assert p.dtype == np.float32 and p.shape == tuple(tp.shape)
        w, tw = p.detach().numpy().ravel(), tp.detach().numpy().ravel()
        assert np.all(np.abs(w) <= bound) and np.all(np.abs(tw) <= bound)
        if w.size >= 1000:  # roughly uniform on [-bound, bound]: flat histogram, reaching both ends
            assert w.min() < -0.98 * bound and w.max() > 0.98 * bound
            hist = np.histogram(w, bins=10, range=(-bound, bound))[0] / w.size
            assert np.all(np.abs(hist - 0.1) < 0.03), hist
            assert abs(w.mean()) < 0.05 * bound
            np.testing.assert_allclose(w.std(), bound / np.sqrt(3), rtol=0.05)
            np.testing.assert_allclose(w.std(), tw.std(), rtol=0.08)
    # different draws for different layers, reproducible under the same seed
    eg.manual_seed(123)
    again = nn.Linear(fan_in, fan_out)
    np.testing.assert_array_equal(again.weight.detach().numpy(), layer.weight.detach().numpy())
    assert not np.array_equal(nn.Linear(fan_in, fan_out).weight.detach().numpy(), layer.weight.detach().numpy())


# --- state_dict -----------------------------------------------------------------------------------

def test_state_dict_keys_match_and_torch_weights_load(dt):
    torch.manual_seed(4)
    tm = torch.nn.Sequential(torch.nn.Linear(6, 10), torch.nn.ReLU(), torch.nn.Linear(10, 10), torch.nn.ReLU(),
                             torch.nn.Linear(10, 2)).to(TORCH_DTYPE[dt])
    em = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 2)).to(dt)
    esd, tsd = em.state_dict(), tm.state_dict()
    assert list(esd) == list(tsd)
    assert all(esd[k].shape == tuple(tsd[k].shape) for k in tsd)
    x = np.random.default_rng(5).standard_normal((12, 6)).astype(dt)
    assert not np.allclose(em(eg.tensor(x)).detach().numpy(), tm(torch.from_numpy(x)).detach().numpy())
    result = em.load_state_dict({k: v.numpy() for k, v in tsd.items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    for k, v in em.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), tsd[k].numpy())  # loaded exactly
    with torch.no_grad():
        expected = tm(torch.from_numpy(x)).numpy()
    out = em(eg.tensor(x))
    assert out.dtype == dt
    assert_rel(out, expected, dt, "output")
    # and back: eigengrad's state_dict loads into torch
    em2 = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 2)).to(dt)
    tm.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in em2.state_dict().items()})
    with torch.no_grad():
        back = tm(torch.from_numpy(x)).numpy()
    assert_rel(em2(eg.tensor(x)), back, dt, "output after loading into torch")


# --- SGD ------------------------------------------------------------------------------------------

SGD_CONFIGS = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.5),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.05),
    dict(lr=0.1, maximize=True),
    dict(lr=0.05, momentum=0.7, dampening=0.2, weight_decay=0.1),
    dict(lr=0.05, momentum=0.8, weight_decay=0.1, nesterov=True, maximize=True),
    dict(lr=0.02, momentum=0.5, dampening=0.3, weight_decay=0.01, maximize=True),
]


@pytest.mark.parametrize("config", SGD_CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
def test_sgd_steps_match_torch(config):
    dtype = np.float64
    tm, em = build_pair(dtype)
    rng = np.random.default_rng(6)
    x = rng.standard_normal((10, 5))
    y = rng.integers(0, 3, 10)
    initial = to_eg_state(tm)
    topt = torch.optim.SGD(tm.parameters(), **config)
    eopt = eg.optim.SGD(em.parameters(), **config)
    for step in range(5):
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        topt.step()
        eopt.zero_grad()
        F.cross_entropy(em(eg.tensor(x)), eg.tensor(y)).backward()
        eopt.step()
    moved = False
    for (name, p), (_, tp) in zip(em.named_parameters(), tm.named_parameters()):
        assert_rel(p, tp, dtype, f"{name} after 5 steps")
        moved |= not np.allclose(p.detach().numpy(), initial[name], rtol=0, atol=1e-6)
    assert moved


def test_sgd_float32_matches_torch():
    tm, em = build_pair(np.float32)
    config = dict(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)
    topt, eopt = torch.optim.SGD(tm.parameters(), **config), eg.optim.SGD(em.parameters(), **config)
    x = np.random.default_rng(7).standard_normal((10, 5)).astype(np.float32)
    y = np.random.default_rng(8).standard_normal((10, 3)).astype(np.float32)
    for _ in range(5):
        topt.zero_grad()
        torch.nn.functional.mse_loss(tm(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        topt.step()
        eopt.zero_grad()
        F.mse_loss(em(eg.tensor(x)), eg.tensor(y)).backward()
        eopt.step()
    for (name, p), tp in zip(em.named_parameters(), tm.parameters()):
        assert_rel(p, tp, np.float32, name)


# --- losses ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_cross_entropy_matches_torch(reduction, ignore_index, dt):
    rng = np.random.default_rng(9)
    logits = (rng.standard_normal((9, 4)) * 3).astype(dt)
    if ignore_index == -100:
        target = np.array([0, 1, 3, -100, 2, 1, 0, -100, 3])
    else:  # the rows of class 1 are ignored
        target = np.array([0, 1, 3, 2, 2, 1, 0, 1, 3])
    tl = torch.from_numpy(logits.copy()).requires_grad_()
    el = eg.tensor(logits, requires_grad=True)
    t_out = torch.nn.functional.cross_entropy(tl, torch.from_numpy(target), reduction=reduction,
                                              ignore_index=ignore_index)
    e_out = F.cross_entropy(el, target, reduction=reduction, ignore_index=ignore_index)
    assert e_out.dtype == dt
    assert_rel(e_out, t_out, dt, "loss")
    g = rng.standard_normal(9).astype(dt) if reduction == "none" else None
    t_out.backward(None if g is None else torch.from_numpy(g))
    e_out.backward(g)
    assert_rel(el.grad, tl.grad, dt, "grad")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_nd_matches_torch(reduction):
    rng = np.random.default_rng(10)
    logits = rng.standard_normal((3, 5, 2, 4))
    target = rng.integers(0, 5, (3, 2, 4))
    target[0, 1, 2] = -100
    tl = torch.from_numpy(logits.copy()).requires_grad_()
    el = eg.tensor(logits, requires_grad=True)
    t_out = torch.nn.functional.cross_entropy(tl, torch.from_numpy(target), reduction=reduction)
    e_out = F.cross_entropy(el, target, reduction=reduction)
    assert_rel(e_out, t_out, np.float64, "loss")
    (t_out.sum() if reduction == "none" else t_out).backward()
    (e_out.sum() if reduction == "none" else e_out).backward()
    assert_rel(el.grad, tl.grad, np.float64, "grad")


def test_cross_entropy_all_ignored_mean_is_nan_like_torch():
    logits = np.random.default_rng(11).standard_normal((3, 4))
    target = np.full(3, -100)
    t = torch.nn.functional.cross_entropy(torch.from_numpy(logits), torch.from_numpy(target))
    e = F.cross_entropy(eg.tensor(logits), target)
    assert np.isnan(t.item()) and np.isnan(e.item())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss_matches_torch(reduction, dt):
    rng = np.random.default_rng(12)
    a, b = rng.standard_normal((2, 3, 4)).astype(dt), rng.standard_normal((2, 3, 4)).astype(dt)
    ta, tb = torch.from_numpy(a.copy()).requires_grad_(), torch.from_numpy(b.copy()).requires_grad_()
    ea, eb = eg.tensor(a, requires_grad=True), eg.tensor(b, requires_grad=True)
    t_out = torch.nn.functional.mse_loss(ta, tb, reduction=reduction)
    e_out = F.mse_loss(ea, eb, reduction=reduction)
    assert_rel(e_out, t_out, dt, "loss")
    g = rng.standard_normal(a.shape).astype(dt) if reduction == "none" else None
    t_out.backward(None if g is None else torch.from_numpy(g))
    e_out.backward(g)
    assert_rel(ea.grad, ta.grad, dt, "grad input")
    assert_rel(eb.grad, tb.grad, dt, "grad target")


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_log_softmax_match_torch(dim):
    x = np.random.default_rng(13).standard_normal((3, 4, 5)) * 5
    w = np.random.default_rng(14).standard_normal((3, 4, 5))
    for name in ("softmax", "log_softmax"):
        tx = torch.from_numpy(x.copy()).requires_grad_()
        ex = eg.tensor(x, requires_grad=True)
        t_out = getattr(torch.nn.functional, name)(tx, dim)
        e_out = getattr(F, name)(ex, dim)
        assert_rel(e_out, t_out, np.float64, name)
        (t_out * torch.from_numpy(w)).sum().backward()
        (e_out * w).sum().backward()
        assert_rel(ex.grad, tx.grad, np.float64, name + " grad")


# --- ties in max / min / amax ---------------------------------------------------------------------

TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, -1.0], [5.0, 4.0, 5.0, 5.0]])
UPSTREAM = np.array([1.0, 2.0, -3.0])


@pytest.mark.parametrize("which", ["max", "min"])
@pytest.mark.parametrize("dim", [0, 1])
def test_max_min_dim_gradient_goes_to_returned_index_on_ties(which, dim):
    data = TIES if which == "max" else -TIES
    tx = torch.tensor(data, requires_grad=True)
    ex = eg.tensor(data, requires_grad=True)
    t_res = getattr(tx, which)(dim)
    e_res = getattr(ex, which)(dim)
    np.testing.assert_array_equal(e_res.values.detach().numpy(), t_res.values.detach().numpy())
    np.testing.assert_array_equal(e_res.indices.numpy(), t_res.indices.numpy())
    up = np.arange(1.0, data.shape[1 - dim] + 1)
    (t_res.values * torch.from_numpy(up)).sum().backward()
    (e_res.values * up).sum().backward()
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())
    # one entry per reduced slice gets all of its gradient
    assert np.count_nonzero(ex.grad.numpy()) == data.shape[1 - dim]


@pytest.mark.parametrize("which", ["max", "min"])
def test_full_max_min_split_ties_evenly(which):
    data = TIES if which == "max" else -TIES
    tx = torch.tensor(data, requires_grad=True)
    ex = eg.tensor(data, requires_grad=True)
    (getattr(tx, which)() * 3).backward()
    (getattr(ex, which)() * 3).backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-15, atol=0)
    assert ex.grad.numpy()[2].tolist() == [1.0, 0.0, 1.0, 1.0]  # 3 over three tied maxima


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_amin_split_ties_evenly(dim, keepdim):
    for which in ("amax", "amin"):
        data = TIES if which == "amax" else -TIES
        tx = torch.tensor(data, requires_grad=True)
        ex = eg.tensor(data, requires_grad=True)
        t_out = getattr(tx, which)(dim=() if dim is None else dim, keepdim=keepdim)
        e_out = getattr(ex, which)(dim, keepdim)
        np.testing.assert_array_equal(e_out.detach().numpy(), t_out.detach().numpy())
        g = np.arange(1.0, t_out.numel() + 1).reshape(tuple(t_out.shape))
        t_out.backward(torch.from_numpy(g))
        e_out.backward(g)
        np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-15, atol=0)


def test_maximum_ties_match_torch():
    a = np.array([1.0, 2.0, 3.0, -1.0])
    b = np.array([1.0, 3.0, 2.0, -1.0])
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ea, eb = eg.tensor(a, requires_grad=True), eg.tensor(b, requires_grad=True)
    (torch.maximum(ta, tb) * torch.tensor(UPSTREAM.tolist() + [4.0])).sum().backward()
    (ea.maximum(eb) * np.append(UPSTREAM, 4.0)).sum().backward()
    np.testing.assert_array_equal(ea.grad.numpy(), ta.grad.numpy())
    np.testing.assert_array_equal(eb.grad.numpy(), tb.grad.numpy())


# --- elementwise edge cases -----------------------------------------------------------------------

def test_pow_and_relu_edge_gradients_match_torch():
    base = np.array([0.0, 0.0, 2.0, 1.5, 0.0])
    expo = np.array([2.0, 0.0, 3.0, 0.0, 1.0])
    tb, te = torch.tensor(base, requires_grad=True), torch.tensor(expo, requires_grad=True)
    eb, ee = eg.tensor(base, requires_grad=True), eg.tensor(expo, requires_grad=True)
    (tb ** te).sum().backward()
    (eb ** ee).sum().backward()
    np.testing.assert_allclose(eb.grad.numpy(), tb.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(ee.grad.numpy(), te.grad.numpy(), rtol=1e-15)
    x = np.array([-1.0, 0.0, 1.0])
    tx, ex = torch.tensor(x, requires_grad=True), eg.tensor(x, requires_grad=True)
    (tx.relu() + tx.abs() + tx.sigmoid() + tx.tanh()).sum().backward()
    (ex.relu() + ex.abs() + ex.sigmoid() + ex.tanh()).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-15)


def test_cross_entropy_with_class_probabilities_matches_torch():
    rng = np.random.default_rng(7)
    for shape in [(6, 4), (4,), (3, 5, 2)]:
        x = rng.standard_normal(shape)
        p = rng.random(shape)
        p /= p.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
        for reduction in ("mean", "sum", "none"):
            xe = eg.tensor(x, requires_grad=True)
            out = eg.nn.functional.cross_entropy(xe, eg.tensor(p), reduction=reduction)
            xt = torch.tensor(x, requires_grad=True)
            ref = torch.nn.functional.cross_entropy(xt, torch.tensor(p), reduction=reduction)
            np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
            out.sum().backward()
            ref.sum().backward()
            np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-14)
