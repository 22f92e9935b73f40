"""Parity with PyTorch for the normalisation layers: BatchNorm1d/2d (forward, input/weight/bias
gradients in training and eval mode, running statistics after 20 training steps with momentum 0.1 and
None, state_dict), LayerNorm, GroupNorm, LocalResponseNorm and weight_norm. float64 to 1e-10."""
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch is needed for the parity checks (pip install torch)")

import eigengrad as eg  # noqa: E402
from torch_parity import make_assert_rel  # noqa: E402
import eigengrad.nn.functional as F  # noqa: E402
from eigengrad import nn  # noqa: E402

TOL = {np.float32: 2e-5, np.float64: 1e-10}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dt(request):
    return request.param


assert_rel = make_assert_rel(TOL)

def copy_params(em, tm):
    """torch's parameters and buffers into eigengrad's module (same state_dict keys)."""
    em.load_state_dict({k: v.detach().numpy().copy() for k, v in tm.state_dict().items()})


def random_affine(tm, rng):
    with torch.no_grad():
        for p in tm.parameters():
            p.copy_(torch.from_numpy(rng.uniform(0.5, 1.5, tuple(p.shape))))


def run_pair(em, tm, x, g, dtype):
    """Forward both on x, backward of the fixed gradient g; returns (eg input, torch input, outputs)."""
    ex = eg.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ey, ty = em(ex), tm(tx)
    ey.backward(eg.tensor(g))
    ty.backward(torch.from_numpy(g))
    return ex, tx, ey, ty


def assert_step(em, tm, ex, tx, ey, ty, dtype, what):
    assert_rel(ey, ty, dtype, f"{what} output")
    # dx can be a small difference of large terms: relative to |dy| |w| / std rather than to max|dx|
    scale = max(float(np.abs(tx.grad.numpy()).max()), 1e-3)
    assert_rel(ex.grad, tx.grad, dtype, f"{what} input grad", scale=scale)
    for (name, p), tp in zip(em.named_parameters(), tm.parameters()):
        assert_rel(p.grad, tp.grad, dtype, f"{what} {name} grad")


# --- BatchNorm --------------------------------------------------------------------------------------

BN_CASES = [(nn.BatchNorm1d, torch.nn.BatchNorm1d, (16, 5)), (nn.BatchNorm1d, torch.nn.BatchNorm1d, (8, 5, 7)),
            (nn.BatchNorm2d, torch.nn.BatchNorm2d, (4, 5, 6, 3)), (nn.BatchNorm1d, torch.nn.BatchNorm1d, (128, 512))]


@pytest.mark.parametrize("momentum", [0.1, None], ids=["momentum0.1", "cumulative"])
@pytest.mark.parametrize("ecls,tcls,shape", BN_CASES, ids=lambda v: "x".join(map(str, v)) if isinstance(v, tuple) else "")
def test_batch_norm_20_training_steps_then_eval(dt, ecls, tcls, shape, momentum):
    rng = np.random.default_rng(0)
    c = shape[1]
    tm = tcls(c, momentum=momentum).to(TORCH_DTYPE[dt])
    random_affine(tm, rng)
    em = ecls(c, momentum=momentum).to(dt)
    copy_params(em, tm)
    for step in range(20):
        x = (rng.standard_normal(shape) * rng.uniform(0.5, 3) + rng.uniform(-2, 2)).astype(dt)
        g = rng.standard_normal(shape).astype(dt)
        for m in (em, tm):
            m.zero_grad()
        ex, tx, ey, ty = run_pair(em, tm, x, g, dt)
        assert_step(em, tm, ex, tx, ey, ty, dt, f"training step {step}")
    assert_rel(em.running_mean, tm.running_mean, dt, "running_mean")
    assert_rel(em.running_var, tm.running_var, dt, "running_var")
    assert int(em.num_batches_tracked.item()) == int(tm.num_batches_tracked.item()) == 20
    em.eval()
    tm.eval()
    for m in (em, tm):
        m.zero_grad()
    x = (rng.standard_normal(shape) * 2).astype(dt)
    g = rng.standard_normal(shape).astype(dt)
    ex, tx, ey, ty = run_pair(em, tm, x, g, dt)
    assert_step(em, tm, ex, tx, ey, ty, dt, "eval")
    assert int(em.num_batches_tracked.item()) == 20


@pytest.mark.parametrize("options", [dict(affine=False), dict(track_running_stats=False), dict(bias=False),
                                     dict(eps=1e-3, momentum=0.3)], ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()))
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_options(options, training):
    rng = np.random.default_rng(1)
    dt = np.float64
    tm = torch.nn.BatchNorm2d(3, **options).double()
    em = nn.BatchNorm2d(3, **options).double()
    if tm.affine:
        random_affine(tm, rng)
    copy_params(em, tm)
    for m in (em, tm):
        m.train()
    for _ in range(3):  # some running statistics first
        x = rng.standard_normal((4, 3, 2, 5)) + 1
        em(eg.tensor(x))
        tm(torch.from_numpy(x))
    em.train(training)
    tm.train(training)
    x, g = rng.standard_normal((4, 3, 2, 5)), rng.standard_normal((4, 3, 2, 5))
    ex, tx, ey, ty = run_pair(em, tm, x, g, dt)
    assert_step(em, tm, ex, tx, ey, ty, dt, "options")
    if tm.track_running_stats:
        assert_rel(em.running_var, tm.running_var, dt, "running_var")


def test_batch_norm_state_dict_matches_torch():
    for ecls, tcls, kwargs in [(nn.BatchNorm1d, torch.nn.BatchNorm1d, {}), (nn.BatchNorm2d, torch.nn.BatchNorm2d, {}),
                               (nn.BatchNorm1d, torch.nn.BatchNorm1d, dict(affine=False)),
                               (nn.BatchNorm2d, torch.nn.BatchNorm2d, dict(track_running_stats=False)),
                               (nn.BatchNorm1d, torch.nn.BatchNorm1d, dict(bias=False))]:
        em, tm = ecls(4, **kwargs), tcls(4, **kwargs)
        assert list(em.state_dict()) == list(tm.state_dict())
        for k, v in tm.state_dict().items():
            assert em.state_dict()[k].shape == tuple(v.shape)
            assert em.state_dict()[k].numpy().dtype == v.numpy().dtype
        assert repr(em) == repr(tm)
    model_e = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model_t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    assert list(model_e.state_dict()) == list(model_t.state_dict())


def test_functional_batch_norm_matches_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 4, 3))
    w, b = rng.uniform(0.5, 1.5, 4), rng.standard_normal(4)
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    for training in (True, False):
        erm, erv, trm, trv = eg.tensor(rm), eg.tensor(rv), torch.tensor(rm), torch.tensor(rv)
        ey = F.batch_norm(eg.tensor(x), erm, erv, eg.tensor(w), eg.tensor(b), training, 0.25, 1e-4)
        ty = torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, torch.tensor(w), torch.tensor(b), training,
                                            0.25, 1e-4)
        assert_rel(ey, ty, np.float64, "batch_norm")
        assert_rel(erm, trm, np.float64, "running_mean")
        assert_rel(erv, trv, np.float64, "running_var")


# --- LayerNorm, GroupNorm, LocalResponseNorm ------------------------------------------------------

@pytest.mark.parametrize("shape,ns,kwargs", [((4, 7), (7,), {}), ((2, 3, 4, 5), (4, 5), {}), ((128, 512), (512,), {}),
                                             ((3, 6), (6,), dict(bias=False)),
                                             ((3, 6), (6,), dict(elementwise_affine=False)),
                                             ((2, 5, 6), (6,), dict(eps=1e-2))], ids=str)
def test_layer_norm_matches_torch(dt, shape, ns, kwargs):
    rng = np.random.default_rng(3)
    tm = torch.nn.LayerNorm(ns, **kwargs).to(TORCH_DTYPE[dt])
    random_affine(tm, rng)
    em = nn.LayerNorm(ns, **kwargs).to(dt)
    copy_params(em, tm)
    assert list(em.state_dict()) == list(tm.state_dict()) and repr(em) == repr(tm)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dt)
    g = rng.standard_normal(shape).astype(dt)
    ex, tx, ey, ty = run_pair(em, tm, x, g, dt)
    assert_step(em, tm, ex, tx, ey, ty, dt, "LayerNorm")


@pytest.mark.parametrize("shape,groups,kwargs", [((4, 12), 3, {}), ((2, 6, 5), 2, {}), ((2, 8, 3, 3), 4, {}),
                                                 ((2, 4, 3), 1, {}), ((2, 4, 3), 4, dict(affine=False)),
                                                 ((3, 6, 4), 3, dict(bias=False, eps=1e-3))], ids=str)
def test_group_norm_matches_torch(dt, shape, groups, kwargs):
    rng = np.random.default_rng(4)
    c = shape[1]
    tm = torch.nn.GroupNorm(groups, c, **kwargs).to(TORCH_DTYPE[dt])
    random_affine(tm, rng)
    em = nn.GroupNorm(groups, c, **kwargs).to(dt)
    copy_params(em, tm)
    assert list(em.state_dict()) == list(tm.state_dict()) and repr(em) == repr(tm)
    x = (rng.standard_normal(shape) * 2 - 1).astype(dt)
    g = rng.standard_normal(shape).astype(dt)
    ex, tx, ey, ty = run_pair(em, tm, x, g, dt)
    assert_step(em, tm, ex, tx, ey, ty, dt, "GroupNorm")


@pytest.mark.parametrize("shape,size,kwargs", [((2, 7, 5), 3, {}), ((2, 5, 4, 4), 5, dict(alpha=0.5, beta=0.6, k=2.0)),
                                               ((1, 4, 3), 2, dict(alpha=1.0)), ((2, 3, 2, 2, 2), 4, dict(beta=1.5)),
                                               ((2, 6, 3), 1, dict(alpha=0.2))], ids=str)
def test_local_response_norm_matches_torch(dt, shape, size, kwargs):
    rng = np.random.default_rng(5)
    tm, em = torch.nn.LocalResponseNorm(size, **kwargs), nn.LocalResponseNorm(size, **kwargs)
    assert repr(em) == repr(tm)
    x = (rng.standard_normal(shape) * 2).astype(dt)
    g = rng.standard_normal(shape).astype(dt)
    ex, tx, ey, ty = run_pair(em, tm, x, g, dt)
    assert_step(em, tm, ex, tx, ey, ty, dt, "LocalResponseNorm")


# --- weight_norm ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dim", [0, 1, None, -1], ids=lambda d: f"dim={d}")
def test_weight_norm_matches_torch(dim):
    rng = np.random.default_rng(6)
    tlin = torch.nn.Linear(5, 3).double()
    elin = nn.Linear(5, 3).double()
    copy_params(elin, tlin)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.nn.utils.weight_norm is deprecated there
        torch.nn.utils.weight_norm(tlin, dim=dim)
    nn.utils.weight_norm(elin, dim=dim)
    assert list(elin.state_dict()) == list(tlin.state_dict())
    for name in ("weight_g", "weight_v"):
        assert_rel(getattr(elin, name), getattr(tlin, name), np.float64, name)
    x = rng.standard_normal((4, 5))
    g = rng.standard_normal((4, 3))
    ex, tx, ey, ty = run_pair(elin, tlin, x, g, np.float64)
    assert_rel(ey, ty, np.float64, "output")
    assert_rel(ex.grad, tx.grad, np.float64, "input grad")
    for name in ("bias", "weight_g", "weight_v"):
        assert_rel(getattr(elin, name).grad, getattr(tlin, name).grad, np.float64, f"{name} grad")
    torch.nn.utils.remove_weight_norm(tlin)
    nn.utils.remove_weight_norm(elin)
    assert list(elin.state_dict()) == list(tlin.state_dict())
    assert_rel(elin.weight, tlin.weight, np.float64, "weight after remove")
