"""eg.optim.Adafactor and eg.optim.Muon: values by hand, PyTorch's numbers side by side (float64 to 1e-10
relative over 25 steps), state_dict layouts and round trips both ways, argument errors with PyTorch's
messages, eg.compile. The torch comparisons run where PyTorch is installed."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import nn
from eigengrad.optim.muon import _bf16, adjust_lr, zeropower_via_newtonschulz
from compile_cases import batches, mlp, state_arrays, step_of

RTOL = {np.float32: 2e-6, np.float64: 1e-10}
SHAPES = [(), (7,), (5, 3), (2, 4, 6), (3, 1, 2, 5)]
MUON_SHAPES = [(5, 3), (3, 5), (8, 8), (4, 6)]


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed: the parity checks with torch.optim run "
                                               "only where it is (pip install torch==2.13.0)")


def _pair(name, shapes, kw, dtype, seed=0):
    torch = _torch()
    rs = np.random.RandomState(seed)
    init = [np.asarray(rs.randn(*s)).astype(dtype) for s in shapes]
    ours = [eg.tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    return ours, theirs, getattr(eg.optim, name)(ours, **kw), getattr(torch.optim, name)(theirs, **kw)


def _steps(ours, theirs, opt_ours, opt_theirs, n, rs, dtype=np.float64):
    torch = _torch()
    for _ in range(n):
        for p, t in zip(ours, theirs):
            g = np.asarray(rs.randn(*p.shape)).astype(dtype)
            p.grad = eg.tensor(g.copy())
            t.grad = torch.tensor(g.copy())
        opt_ours.step()
        opt_theirs.step()


def _rel_err(ours, theirs) -> float:
    worst = 0.0
    for p, t in zip(ours, theirs):
        expected = t.detach().numpy().astype(np.float64)
        err = np.max(np.abs(p.detach().numpy().astype(np.float64) - expected)) / np.max(np.abs(expected))
        worst = max(worst, float(err))
    return worst


def _to_torch(sd):
    torch = _torch()

    def conv(v):
        return torch.from_numpy(np.array(v.numpy(), copy=True)) if isinstance(v, eg.Tensor) else v
    return {"state": {k: {n: conv(v) for n, v in s.items()} for k, s in sd["state"].items()},
            "param_groups": sd["param_groups"]}


# --- Adafactor ---------------------------------------------------------------------------------------

ADAFACTOR_OPTIONS = [
    {},
    {"weight_decay": 0.1},
    {"maximize": True},
    {"lr": 0.3, "d": 1.5, "eps": (1e-30, 1e-2), "beta2_decay": -0.5},
    {"lr": 2.0, "weight_decay": 0.01, "maximize": True, "foreach": True},  # lr > 1: rho_t = 1/sqrt(t) rules
]


@pytest.mark.parametrize("kw", ADAFACTOR_OPTIONS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_adafactor_matches_torch_over_25_steps(kw, dtype):
    ours, theirs, opt_ours, opt_theirs = _pair("Adafactor", SHAPES, kw, dtype)
    _steps(ours, theirs, opt_ours, opt_theirs, 25, np.random.RandomState(1), dtype)
    err = _rel_err(ours, theirs)
    assert err <= RTOL[dtype], f"relative error {err:.2e}"
    assert float(opt_ours.state[ours[2]]["step"]) == float(opt_theirs.state[theirs[2]]["step"]) == 25.0


def test_adafactor_param_groups_and_missing_grads_match_torch():
    torch = _torch()
    rs = np.random.RandomState(3)
    init = [np.asarray(rs.randn(*s)) for s in [(4, 3), (6,), (2, 2)]]
    ours = [eg.tensor(a.copy(), requires_grad=True) for a in init]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
    groups = lambda ps: [{"params": ps[:2], "lr": 0.05, "weight_decay": 0.2}, {"params": ps[2:], "d": 2.0}]
    opt_ours, opt_theirs = eg.optim.Adafactor(groups(ours)), torch.optim.Adafactor(groups(theirs))
    for t in range(20):
        for i, (p, q) in enumerate(zip(ours, theirs)):
            if i == 1 and t % 3 == 0:  # no gradient: skipped, its step count lags
                p.grad, q.grad = None, None
                continue
            g = np.asarray(rs.randn(*p.shape))
            p.grad, q.grad = eg.tensor(g.copy()), torch.tensor(g.copy())
        opt_ours.step()
        opt_theirs.step()
    assert _rel_err(ours, theirs) <= 1e-10
    assert float(opt_ours.state[ours[1]]["step"]) == float(opt_theirs.state[theirs[1]]["step"]) == 13.0


def test_adafactor_first_step_by_hand():
    # step 1: 1 - beta2_hat = 1, so V = G^2 and U = G / |G| = sign(G); RMS(U) = 1 so no clipping (d = 1);
    # alpha = max(eps2, RMS(theta)) * min(lr, 1)
    theta0 = np.array([3.0, -4.0, 0.0, 1.0])
    g = np.array([0.5, 2.0, -1.0, -0.25])
    p = eg.tensor(theta0.copy(), requires_grad=True)
    opt = eg.optim.Adafactor([p], lr=0.1, weight_decay=0.5)
    p.grad = eg.tensor(g)
    opt.step()
    rms = math.sqrt((9 + 16 + 0 + 1) / 4)
    expected = theta0 * (1 - 0.1 * 0.5) - rms * 0.1 * np.sign(g)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-15)
    state = opt.state[p]
    assert isinstance(state["step"], eg.Tensor) and state["step"].dtype == eg.float32 and float(state["step"]) == 1
    np.testing.assert_array_equal(state["variance"].numpy(), g * g)


def test_adafactor_factored_state_by_hand():
    # a 2-D parameter keeps row and column means of G^2; at step 1 they are the means themselves, and
    # V = R C / mean(R)
    g = np.array([[1.0, 2.0, 3.0], [4.0, 0.5, -1.0]])
    p = eg.tensor(np.ones((2, 3)), requires_grad=True)
    opt = eg.optim.Adafactor([p], lr=0.01)
    p.grad = eg.tensor(g)
    opt.step()
    row, col = opt.state[p]["row_var"].numpy(), opt.state[p]["col_var"].numpy()
    assert row.shape == (2, 1) and col.shape == (1, 3) and "variance" not in opt.state[p]
    np.testing.assert_allclose(row[:, 0], (g * g).mean(axis=1), rtol=1e-15)
    np.testing.assert_allclose(col[0], (g * g).mean(axis=0), rtol=1e-15)
    v = row * col / row.mean()
    u = g / np.sqrt(v)
    expected = 1.0 - 1.0 * 0.01 * u / max(1.0, np.sqrt(np.mean(u * u)))
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-14)
    # step 2: beta2_hat = 1 - 2**-0.8, the factors move towards the new means by 2**-0.8
    p.grad = eg.tensor(2 * g)
    opt.step()
    w = 2 ** -0.8
    np.testing.assert_allclose(opt.state[p]["row_var"].numpy()[:, 0], (1 - w) * row[:, 0] + w * (4 * g * g).mean(axis=1),
                               rtol=1e-14)


def test_adafactor_state_dict_layout_matches_torch():
    ours, theirs, opt_ours, opt_theirs = _pair("Adafactor", SHAPES, {"weight_decay": 0.1}, np.float64)
    _steps(ours, theirs, opt_ours, opt_theirs, 3, np.random.RandomState(1))
    sd_ours, sd_theirs = opt_ours.state_dict(), opt_theirs.state_dict()
    assert sd_ours["param_groups"] == sd_theirs["param_groups"]
    assert sorted(sd_ours["state"]) == sorted(sd_theirs["state"])
    for i, state in sd_theirs["state"].items():
        assert list(sd_ours["state"][i]) == list(state)
        for name, value in state.items():
            mine = sd_ours["state"][i][name]
            assert tuple(mine.shape) == tuple(value.shape), name
            assert str(mine.dtype).split(".")[-1] == str(value.dtype).split(".")[-1], name
            np.testing.assert_allclose(mine.numpy(), value.numpy(), rtol=1e-12)
    assert list(sd_theirs["state"][0]) == ["step", "variance"]
    assert list(sd_theirs["state"][3]) == ["step", "row_var", "col_var"]


@pytest.mark.parametrize("name,shapes,kw", [("Adafactor", SHAPES, {"weight_decay": 0.1, "maximize": True}),
                                            ("Muon", MUON_SHAPES, {"nesterov": False, "weight_decay": 0.05})])
def test_state_dict_loads_both_ways_and_resumes(name, shapes, kw):
    torch = _torch()
    ours, theirs, opt_ours, opt_theirs = _pair(name, shapes, kw, np.float64)
    _steps(ours, theirs, opt_ours, opt_theirs, 6, np.random.RandomState(1))
    sd_ours, sd_theirs = opt_ours.state_dict(), opt_theirs.state_dict()
    # fresh optimizers on copies of the trained parameters: eigengrad loads torch's state, torch eigengrad's
    ours2, theirs2, opt_ours2, opt_theirs2 = _pair(name, shapes, kw, np.float64)
    with torch.no_grad():
        for o2, t2, o in zip(ours2, theirs2, ours):
            o2.data = eg.tensor(o.detach().numpy().copy())
            t2.copy_(torch.from_numpy(o.detach().numpy().copy()))
    opt_ours2.load_state_dict(sd_theirs)
    opt_theirs2.load_state_dict(_to_torch(sd_ours))
    if name == "Adafactor":
        assert opt_ours2.state[ours2[2]]["step"].dtype == eg.float32  # the step keeps its dtype, as PyTorch
    _steps(ours2, theirs2, opt_ours2, opt_theirs2, 6, np.random.RandomState(2))
    _steps(ours, theirs, opt_ours, opt_theirs, 6, np.random.RandomState(2))
    # resumed (either way) equals uninterrupted, and equals the other library
    assert _rel_err(ours2, theirs) <= 1e-10
    assert _rel_err(theirs2, theirs) <= 1e-10
    for o2, o in zip(ours2, ours):
        np.testing.assert_allclose(o2.detach().numpy(), o.detach().numpy(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("name,shapes", [("Adafactor", [(3,), (2, 5), (2, 2, 3)]), ("Muon", [(2, 5), (4, 3)])])
def test_state_dict_round_trip_through_save_and_load(name, shapes, tmp_path):
    rs = np.random.RandomState(0)
    init = [np.asarray(rs.randn(*s)) for s in shapes]

    def run(resume_at=None):
        ps = [eg.tensor(a.copy(), requires_grad=True) for a in init]
        opt = getattr(eg.optim, name)(ps, lr=0.05)
        grads = np.random.RandomState(1)
        for t in range(8):
            if t == resume_at:
                eg.save(opt.state_dict(), tmp_path / "opt.pt")
                opt = getattr(eg.optim, name)(ps, lr=0.05)
                opt.load_state_dict(eg.load(tmp_path / "opt.pt"))
            for p in ps:
                p.grad = eg.tensor(np.asarray(grads.randn(*p.shape)))
            opt.step()
        return [p.detach().numpy().copy() for p in ps]

    for a, b in zip(run(), run(resume_at=4)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kw,message", [
    ({"lr": -1.0}, "Learning rate should be >= 0 but is: -1.0"),
    ({"beta2_decay": 0.5}, "beta2_decay should be <= 0 but is: 0.5"),
    ({"eps": (-1.0, 1e-3)}, "epsilon1 should be >= 0 but is: -1.0"),
    ({"eps": (None, -1.0)}, "epsilon2 should be >= 0 but is: -1.0"),
    ({"d": 0.5}, "Clipping threshold d should be >= 1 but is: 0.5"),
    ({"weight_decay": -1.0}, "weight_decay should be >= 0 but is: -1.0"),
    ({"lr": eg.tensor([1.0, 2.0])}, "Tensor lr must be 1-element"),
])
def test_adafactor_argument_errors_are_pytorchs(kw, message):
    p = eg.zeros(2, 2, requires_grad=True)
    with pytest.raises(ValueError) as ours:
        eg.optim.Adafactor([p], **kw)
    assert str(ours.value) == message
    if _has_torch():
        import torch

        kw = {k: (torch.tensor(v.numpy()) if isinstance(v, eg.Tensor) else v) for k, v in kw.items()}
        with pytest.raises(ValueError) as theirs:
            torch.optim.Adafactor([torch.zeros(2, 2, requires_grad=True)], **kw)
        assert str(theirs.value) == message


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def test_adafactor_float32_state_and_default_eps1():
    p = eg.tensor(np.full((3, 2), 0.5, dtype=np.float32), requires_grad=True)
    opt = eg.optim.Adafactor([p])
    p.grad = eg.tensor(np.zeros((3, 2), dtype=np.float32))  # zero gradient: V clamps to eps1**2
    opt.step()
    assert opt.state[p]["row_var"].dtype == eg.float32 and opt.state[p]["col_var"].dtype == eg.float32
    np.testing.assert_array_equal(p.detach().numpy(), np.full((3, 2), 0.5, dtype=np.float32))


# --- Muon --------------------------------------------------------------------------------------------

MUON_OPTIONS = [
    {},
    {"nesterov": False},
    {"lr": 0.02, "weight_decay": 0.01, "adjust_lr_fn": "match_rms_adamw"},
    {"lr": 0.05, "momentum": 0.5, "ns_steps": 3, "adjust_lr_fn": "original"},
    {"ns_coefficients": (2.0, -1.5, 0.5), "weight_decay": 0.0, "eps": 1e-5},
]


@pytest.mark.parametrize("kw", MUON_OPTIONS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_muon_matches_torch_over_25_steps(kw, dtype):
    # on these small matrices, over 25 steps, no float32 sum of PyTorch's bfloat16 GEMM rounds differently
    # from eigengrad's exact sums, so the runs agree to rounding (measured: 1.2e-16 in float64); over many
    # more steps or larger matrices an occasional bfloat16 intermediate differs (see the next test)
    ours, theirs, opt_ours, opt_theirs = _pair("Muon", MUON_SHAPES, kw, dtype)
    _steps(ours, theirs, opt_ours, opt_theirs, 25, np.random.RandomState(1), dtype)
    err = _rel_err(ours, theirs)
    assert err <= RTOL[dtype], f"relative error {err:.2e}"


def test_muon_larger_matrices_agree_to_bfloat16_rounding():
    # PyTorch's bfloat16 GEMM sums in float32 in its own order: now and then an intermediate lands on the
    # neighbouring bfloat16 value, so larger matrices agree to about the update's bfloat16 precision
    ours, theirs, opt_ours, opt_theirs = _pair("Muon", [(16, 16), (64, 32), (7, 40)], {"lr": 0.02}, np.float64)
    _steps(ours, theirs, opt_ours, opt_theirs, 20, np.random.RandomState(1))
    assert _rel_err(ours, theirs) <= 5e-4  # measured: 5e-5 after 25 steps


def test_muon_state_dict_layout_matches_torch():
    ours, theirs, opt_ours, opt_theirs = _pair("Muon", MUON_SHAPES, {}, np.float64)
    _steps(ours, theirs, opt_ours, opt_theirs, 3, np.random.RandomState(1))
    sd_ours, sd_theirs = opt_ours.state_dict(), opt_theirs.state_dict()
    assert sd_ours["param_groups"] == sd_theirs["param_groups"]
    for i, state in sd_theirs["state"].items():
        assert list(sd_ours["state"][i]) == list(state) == ["momentum_buffer"]
        np.testing.assert_allclose(sd_ours["state"][i]["momentum_buffer"].numpy(), state["momentum_buffer"].numpy(),
                                   rtol=1e-14)


def test_muon_first_step_by_hand():
    # momentum buffer after one step: (1 - mu) G; nesterov: G + mu ((1 - mu) G - G) = (1 - mu^2) G, whose
    # orthogonalisation is G's (NS is scale-invariant up to bfloat16 rounding of the normalisation)
    rs = np.random.RandomState(0)
    g = rs.randn(6, 4)
    theta0 = rs.randn(6, 4)
    p = eg.tensor(theta0.copy(), requires_grad=True)
    opt = eg.optim.Muon([p], lr=0.1, weight_decay=0.2, momentum=0.9)
    p.grad = eg.tensor(g)
    opt.step()
    np.testing.assert_allclose(opt.state[p]["momentum_buffer"].numpy(), 0.1 * g, rtol=1e-14)
    update = g + 0.9 * (0.1 * g - g)
    ortho = zeropower_via_newtonschulz(update, (3.4445, -4.775, 2.0315), 5, 1e-7).astype(np.float64)
    expected = theta0 * (1 - 0.1 * 0.2) - 0.1 * math.sqrt(6 / 4) * ortho
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-15, atol=1e-15)


def test_newton_schulz_orthogonalises():
    rs = np.random.RandomState(0)
    for shape in [(32, 16), (16, 32), (24, 24)]:
        g = rs.randn(*shape)
        x = zeropower_via_newtonschulz(g).astype(np.float64)
        assert x.shape == shape and x.dtype == np.float64
        s = np.linalg.svd(x, compute_uv=False)
        assert 0.6 < s.min() and s.max() < 1.25, s  # Jordan's quintic: singular values near 1, not exactly 1
        # g's singular vectors: U^T x V is diagonal (to bfloat16 noise), each value g's singular value mapped
        # by the iterated polynomial towards 1
        u, _, vt = np.linalg.svd(g, full_matrices=False)
        d = u.T @ x @ vt.T
        assert np.abs(d - np.diag(np.diag(d))).max() < 0.05
        assert 0.6 < np.diag(d).min() and np.diag(d).max() < 1.25
    assert np.all(_bf16(x) == x)  # every value a bfloat16


def test_bfloat16_rounding_ties_to_even():
    one = 1.0
    assert _bf16(np.array(one + 2 ** -8))[()] == 1.0            # half an ulp: ties to the even neighbour
    assert _bf16(np.array(one + 3 * 2 ** -8))[()] == 1 + 2 ** -6  # 1.5 ulp: up to the even neighbour
    assert _bf16(np.array(one + 2 ** -8 + 2 ** -20))[()] == 1 + 2 ** -7
    assert _bf16(np.array(-3.0))[()] == -3.0
    assert np.isnan(_bf16(np.array(np.nan))[()]) and _bf16(np.array(np.inf))[()] == np.inf
    assert _bf16(np.array(3.4e38))[()] == np.inf  # beyond bfloat16's largest finite value


def test_muon_adjust_lr():
    assert adjust_lr(0.1, None, (8, 2)) == pytest.approx(0.2)
    assert adjust_lr(0.1, "original", (2, 8)) == 0.1
    assert adjust_lr(0.1, "match_rms_adamw", (8, 2)) == pytest.approx(0.1 * 0.2 * math.sqrt(8))


@pytest.mark.parametrize("kw,message", [
    ({"lr": -1.0}, "Learning rate should be >= 0 but is: -1.0"),
    ({"weight_decay": -1.0}, "weight decay should be >= 0 but is: -1.0"),
    ({"momentum": -1.0}, "momentum should be >= 0 but is: -1.0"),
    ({"adjust_lr_fn": "foo"}, "Adjust learning rate function foo is not supported"),
    ({"lr": eg.tensor([1.0, 2.0])}, "Tensor lr must be 1-element"),
])
def test_muon_argument_errors_are_pytorchs(kw, message):
    with pytest.raises(ValueError) as ours:
        eg.optim.Muon([eg.zeros(2, 2, requires_grad=True)], **kw)
    assert str(ours.value) == message


@pytest.mark.parametrize("shape", [(), (3,), (2, 2, 2)])
def test_muon_refuses_parameters_that_are_not_2d(shape):
    with pytest.raises(ValueError) as ours:
        eg.optim.Muon([eg.zeros(*shape, requires_grad=True)])
    assert str(ours.value) == f"Muon only supports 2D parameters whereas we found a parameter with size: " \
                              f"torch.Size({list(shape)})"
    if _has_torch():
        import torch

        with pytest.raises(ValueError) as theirs:
            torch.optim.Muon([torch.zeros(shape, requires_grad=True)])
        assert str(theirs.value) == str(ours.value)


@pytest.mark.parametrize("kw,message", [
    ({"ns_steps": 100}, "Number of steps must be less than 100 for computational efficiency"),
    ({"ns_coefficients": (1.0, 2.0)}, "Coefficients must be a tuple of exactly 3 values"),
])
def test_muon_step_time_errors(kw, message):
    p = eg.zeros(2, 3, requires_grad=True)
    opt = eg.optim.Muon([p], **kw)  # accepted at construction, refused at the step (as PyTorch)
    p.grad = eg.ones(2, 3)
    with pytest.raises(ValueError, match=message):
        opt.step()


# --- eg.compile and the torch alias ------------------------------------------------------------------

def _train_mlp(make, compiled, steps=25):
    model = mlp(0)
    opt = make(model)
    step = step_of(model, opt, nn.CrossEntropyLoss(label_smoothing=0.1))
    fn = eg.compile(step) if compiled else step
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        losses = [fn(x, y).detach().numpy().copy() for x, y in batches(steps)]
    return losses + state_arrays(model, opt), fn, [str(w.message) for w in caught]


def _same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        u, v = np.asarray(u), np.asarray(v)
        assert u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes()


def test_muon_compiled_step_equals_eager_bit_for_bit():
    make = lambda m: eg.optim.Muon([p for p in m.parameters() if p.ndim == 2], lr=0.02)
    want, _, _ = _train_mlp(make, False)
    got, fn, caught = _train_mlp(make, True)
    assert fn.fallback_reason is None and fn.replays == 21 and not caught
    _same(got, want)


def test_adafactor_compiled_step_falls_back_to_eager_with_the_warning():
    make = lambda m: eg.optim.Adafactor(m.parameters(), lr=1e-2, weight_decay=0.01)
    want, _, _ = _train_mlp(make, False)
    got, fn, caught = _train_mlp(make, True)
    assert "Adafactor" in fn.fallback_reason
    assert any("runs eagerly" in c and "Adafactor" in c for c in caught)
    _same(got, want)
    assert want[0] != want[24]


def test_torch_alias_exposes_them():
    from eigengrad.compat import torch_alias

    with torch_alias():
        import torch as aliased
        import torch.optim as aliased_optim

        assert aliased.optim.Adafactor is eg.optim.Adafactor and aliased_optim.Muon is eg.optim.Muon
        assert aliased.nn.AdaptiveLogSoftmaxWithLoss is eg.nn.AdaptiveLogSoftmaxWithLoss
    assert "Adafactor" in eg.optim.__all__ and "Muon" in eg.optim.__all__
