"""Regressions from differential fuzzing of the optimizers and the normalisation layers against PyTorch 2.13
(random configurations, float64, compared to 1e-12 / 1e-10 relative). Each test states the case, asserts
literal values (so it checks something without torch) and, where torch is installed, compares with it."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from eigengrad import nn


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed: the parity half of this check runs "
                                               "only where it is (pip install torch==2.13.0)")


def _steps(params, opt, grads, lib=None):
    for g in grads:
        for p, gi in zip(params, g):
            p.grad = (eg.tensor(gi.copy()) if lib is None else lib.tensor(gi.copy()))
        opt.step()


def _grads(n, shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s) + 0.3 for s in shapes] for _ in range(n)]


def _to_torch_sd(sd, torch):
    return {"state": {k: {n: torch.from_numpy(np.array(v.numpy())) if isinstance(v, eg.Tensor) else v
                          for n, v in s.items()} for k, s in sd["state"].items()},
            "param_groups": sd["param_groups"]}


# --- optimizers: scalar states after load_state_dict --------------------------------------------------------

def test_nadam_mu_product_takes_the_parameter_dtype_after_load_state_dict():
    """NAdam, float64 parameters, state_dict saved and loaded after 3 steps: PyTorch's load casts mu_product
    (float32 before) to the parameter's dtype and multiplies it in float64 from then on. eigengrad kept
    multiplying in float32: mu_product and the parameters drifted from PyTorch's by ~1e-8 / 1e-11."""
    shapes = [(3,), (2, 2)]
    x0 = [np.linspace(-1, 1, 3), np.array([[0.5, -0.25], [1.0, 2.0]])]
    grads = _grads(8, shapes)
    ps = [eg.tensor(x.copy(), requires_grad=True) for x in x0]
    opt = eg.optim.NAdam(ps, lr=0.01)
    _steps(ps, opt, grads[:3])
    before = opt.state_dict()
    assert before["state"][0]["mu_product"].dtype == np.float32
    opt.load_state_dict(before)
    _steps(ps, opt, grads[3:4])
    mu4 = 0.9 * (1.0 - 0.5 * 0.96 ** (4 * 4e-3))
    expected = np.float64(before["state"][0]["mu_product"].item()) * mu4  # in float64, not float32
    after = opt.state_dict()["state"][0]["mu_product"]
    assert after.dtype == np.float64
    assert after.item() == expected
    _steps(ps, opt, grads[4:])

    torch = _torch()
    ts = [torch.tensor(x.copy(), requires_grad=True) for x in x0]
    topt = torch.optim.NAdam(ts, lr=0.01)
    _steps(ts, topt, grads[:3], torch)
    topt.load_state_dict(topt.state_dict())
    _steps(ts, topt, grads[3:], torch)
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-13, atol=0)
    assert opt.state_dict()["state"][1]["mu_product"].item() == topt.state_dict()["state"][1]["mu_product"].item()


def test_asgd_eta_and_mu_take_the_parameter_dtype_after_load_state_dict():
    """ASGD(lr=0.01, lambd=0.01, alpha=0.5, t0=0), float64 parameters, state_dict loaded after 2 steps:
    PyTorch's eta and mu become float64 tensors (holding the float32-rounded value PyTorch computes each step);
    eigengrad saved them as float32 ever after (a dtype difference in state_dict, and a wrong dtype in a
    save/load round trip)."""
    x0 = np.array([1.0, -2.0, 0.5])
    grads = _grads(5, [(3,)], seed=1)
    p = eg.tensor(x0.copy(), requires_grad=True)
    opt = eg.optim.ASGD([p], lr=0.01, lambd=0.01, alpha=0.5, t0=0)
    _steps([p], opt, grads[:2])
    assert opt.state_dict()["state"][0]["eta"].dtype == np.float32
    opt.load_state_dict(opt.state_dict())
    _steps([p], opt, grads[2:3])
    saved = opt.state_dict()["state"][0]
    assert saved["eta"].dtype == np.float64 and saved["mu"].dtype == np.float64
    assert saved["eta"].item() == float(np.float32(0.01 / (1 + 0.01 * 0.01 * 3) ** 0.5))
    assert saved["mu"].item() == float(np.float32(1 / 3))  # rounded as PyTorch rounds it, held in float64
    _steps([p], opt, grads[3:])

    torch = _torch()
    t = torch.tensor(x0.copy(), requires_grad=True)
    topt = torch.optim.ASGD([t], lr=0.01, lambd=0.01, alpha=0.5, t0=0)
    _steps([t], topt, grads[:2], torch)
    topt.load_state_dict(topt.state_dict())
    _steps([t], topt, grads[2:], torch)
    np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-14, atol=0)
    theirs = topt.state_dict()["state"][0]
    for k in ("eta", "mu", "ax"):
        assert opt.state_dict()["state"][0][k].dtype == theirs[k].numpy().dtype
        np.testing.assert_array_equal(np.asarray(opt.state_dict()["state"][0][k].numpy()), theirs[k].numpy())


class _ForeignArray:
    """Another library's tensor, as a torch.Tensor looks to numpy: __array__, shape and dtype."""

    def __init__(self, arr):
        self._arr = np.asarray(arr)
        self.shape, self.dtype = self._arr.shape, self._arr.dtype

    def __array__(self, dtype=None, copy=None):
        return self._arr if dtype is None else self._arr.astype(dtype)


def test_load_state_dict_accepts_another_librarys_tensors():
    """Adam(amsgrad) state loaded from a dict of foreign tensors (torch.optim's state_dict as it is):
    eigengrad stored the objects as they came and failed at the next step ('exp_avg: expected a float array
    like param with these options, got Tensor'). Now they are copied in as arrays."""
    p = eg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = eg.optim.Adam([p], lr=0.1, amsgrad=True)
    state = {"step": _ForeignArray(np.float32(1.0)), "exp_avg": _ForeignArray([0.1, -0.1]),
             "exp_avg_sq": _ForeignArray([0.001, 0.001]), "max_exp_avg_sq": _ForeignArray([0.001, 0.002])}
    opt.load_state_dict({"state": {0: state}, "param_groups": opt.state_dict()["param_groups"]})
    p.grad = eg.tensor(np.array([0.0, 0.0]))
    opt.step()
    m = np.array([0.09, -0.09])
    v = np.array([0.000999, 0.000999])
    vmax = np.maximum(v, [0.001, 0.002])
    expected = np.array([1.0, 2.0]) - 0.1 / (1 - 0.9 ** 2) * m / (np.sqrt(vmax) / np.sqrt(1 - 0.999 ** 2) + 1e-8)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-14)
    assert opt.state_dict()["state"][0]["step"].item() == 2


def test_torch_state_dict_loaded_as_it_is_continues_torchs_trajectory():
    """The same with real torch tensors, several groups and optimizers: load torch's state_dict()
    unconverted into eigengrad after 4 steps; the next 4 steps equal torch's to 1e-12."""
    torch = _torch()
    shapes = [(3, 2), (4,), ()]
    x0 = [np.random.default_rng(2).standard_normal(s) for s in shapes]
    grads = _grads(8, shapes, seed=3)
    for name, kw in [("Adam", dict(lr=0.01, amsgrad=True)), ("RMSprop", dict(lr=0.01, centered=True, momentum=0.9)),
                     ("ASGD", dict(lr=0.05, t0=2)), ("NAdam", dict(lr=0.01)), ("Rprop", dict(lr=0.01)),
                     ("Adagrad", dict(lr=0.1, lr_decay=0.05))]:
        ts = [torch.tensor(x.copy(), requires_grad=True) for x in x0]
        topt = getattr(torch.optim, name)([{"params": ts[:2]}, {"params": ts[2:], "lr": 0.02}], **kw)
        _steps(ts, topt, grads[:4], torch)
        ps = [eg.tensor(t.detach().numpy().copy(), requires_grad=True) for t in ts]
        opt = getattr(eg.optim, name)([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.02}], **kw)
        sd = topt.state_dict()
        opt.load_state_dict(sd)
        topt.load_state_dict(sd)  # (torch's load casts NAdam's mu_product, ASGD's eta and mu to float64: both do)
        _steps(ts, topt, grads[4:], torch)
        _steps(ps, opt, grads[4:])
        for p, t in zip(ps, ts):
            np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-300, err_msg=name)


def test_eigengrad_state_dict_loaded_into_torch_matches_for_asgd_and_nadam():
    """The reverse direction: eigengrad's state_dict (converted to torch tensors) loaded into torch after 3
    steps, eigengrad reloading its own: both continue alike (the scalar states in the parameter's dtype)."""
    torch = _torch()
    x0 = [np.array([0.3, -1.2, 2.0]), np.array([[1.0, 0.5]])]
    grads = _grads(7, [(3,), (1, 2)], seed=4)
    for name, kw in [("ASGD", dict(lr=0.02, lambd=0.01, t0=1)), ("NAdam", dict(lr=0.02, decoupled_weight_decay=True,
                                                                               weight_decay=0.1))]:
        ps = [eg.tensor(x.copy(), requires_grad=True) for x in x0]
        ts = [torch.tensor(x.copy(), requires_grad=True) for x in x0]
        opt, topt = getattr(eg.optim, name)(ps, **kw), getattr(torch.optim, name)(ts, **kw)
        _steps(ps, opt, grads[:3])
        _steps(ts, topt, grads[:3], torch)
        sd = opt.state_dict()
        topt.load_state_dict(_to_torch_sd(sd, torch))
        opt.load_state_dict(sd)
        _steps(ps, opt, grads[3:])
        _steps(ts, topt, grads[3:], torch)
        for p, t in zip(ps, ts):
            np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=1e-13, atol=0, err_msg=name)


def test_a_none_state_loaded_starts_afresh_as_pytorch_does():
    """SGD(momentum=0.9), two steps, then a state_dict whose momentum_buffer of parameter 0 is None (PyTorch
    saves None for a buffer not made yet, e.g. SGD(momentum=0)) loaded, two more steps: PyTorch starts that
    buffer afresh from the next gradient; eigengrad stored None and failed ('momentum_buffer: expected a float
    array like param with these options, got NoneType')."""
    p = eg.tensor(np.ones(3), requires_grad=True)
    q = eg.tensor(np.ones(2), requires_grad=True)
    opt = eg.optim.SGD([p, q], lr=0.1, momentum=0.9)
    grads = [[np.ones(3), np.full(2, 2.0)]] * 2
    _steps([p, q], opt, grads)
    sd = opt.state_dict()
    sd["state"][0]["momentum_buffer"] = None
    opt.load_state_dict(sd)
    _steps([p, q], opt, grads)
    # p: 1 - 0.1 (1 + 1.9) after two steps; then a fresh buffer: - 0.1 (1 + 1.9) again
    np.testing.assert_allclose(p.detach().numpy(), np.full(3, 1 - 2 * 0.1 * 2.9), rtol=1e-14)
    # q: buffers 2, 3.8, 5.42, 6.878 (untouched by the load)
    np.testing.assert_allclose(q.detach().numpy(), np.full(2, 1 - 0.1 * (2 + 3.8 + 5.42 + 6.878)), rtol=1e-14)
    np.testing.assert_allclose(opt.state_dict()["state"][0]["momentum_buffer"].numpy(), np.full(3, 1.9), rtol=1e-14)


def test_a_state_of_the_wrong_shape_is_refused_at_load_with_pytorchs_error_type():
    """Adam state 'exp_avg' of shape (5,) for a parameter of shape (3,): PyTorch fails at the next step with a
    RuntimeError; eigengrad refuses it at load, now with an ArgumentError (a RuntimeError and a ValueError)."""
    p = eg.tensor(np.ones(3), requires_grad=True)
    opt = eg.optim.Adam([p])
    p.grad = eg.tensor(np.ones(3))
    opt.step()
    sd = opt.state_dict()
    sd["state"][0]["exp_avg"] = eg.tensor(np.ones(5))
    with pytest.raises(RuntimeError, match=r"state 'exp_avg' has shape \(5,\), its parameter has \(3,\)"):
        eg.optim.Adam([eg.tensor(np.ones(3), requires_grad=True)]).load_state_dict(sd)
    with pytest.raises(ValueError):
        eg.optim.Adam([eg.tensor(np.ones(3), requires_grad=True)]).load_state_dict(sd)


def _lbfgs_problem(lib, x0):
    A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 1.5]])
    b = np.array([1.0, -2.0, 0.5])
    x = lib.tensor(x0.copy(), requires_grad=True)
    opt = lib.optim.LBFGS([x], lr=0.5, max_iter=3, history_size=3)
    A_, b_ = lib.tensor(A), lib.tensor(b)

    def closure():
        opt.zero_grad()
        loss = 0.5 * (x * (A_ @ x)).sum() - (b_ * x).sum() + 0.01 * (x ** 4).sum()
        loss.backward()
        return loss
    return x, opt, closure


def test_lbfgs_continues_from_a_state_dict_of_tensors():
    """LBFGS state loaded from a dict whose vectors are tensors and whose H_diag / ro / al are 0-d tensors
    (the form torch.optim.LBFGS saves): eigengrad kept them as tensors and failed in the two-loop recursion
    ('numpy.ndarray' object has no attribute '_data'). Now the loaded run equals the uninterrupted one
    (and, with torch, continues torch's run)."""
    x0 = np.array([0.5, -1.0, 2.0])
    x, opt, closure = _lbfgs_problem(eg, x0)
    for _ in range(2):
        opt.step(closure)

    def as_tensors(v):
        if isinstance(v, (np.ndarray, np.floating)):
            return eg.tensor(np.array(v))
        return [as_tensors(e) for e in v] if isinstance(v, list) else v
    sd = opt.state_dict()
    sd = {"state": {k: {n: as_tensors(v) for n, v in st.items()} for k, st in sd["state"].items()},
          "param_groups": sd["param_groups"]}
    y, resumed, resumed_closure = _lbfgs_problem(eg, x.detach().numpy())
    resumed.load_state_dict(sd)
    for _ in range(2):
        opt.step(closure)
        resumed.step(resumed_closure)
    np.testing.assert_array_equal(y.detach().numpy(), x.detach().numpy())
    assert resumed.state_dict()["state"][0]["n_iter"] == opt.state_dict()["state"][0]["n_iter"] > 6

    torch = _torch()
    t, topt, tclosure = _lbfgs_problem(torch, x0)
    for _ in range(2):
        topt.step(tclosure)
    z, ours, our_closure = _lbfgs_problem(eg, t.detach().numpy())
    ours.load_state_dict(topt.state_dict())
    for _ in range(2):
        topt.step(tclosure)
        ours.step(our_closure)
    np.testing.assert_allclose(z.detach().numpy(), t.detach().numpy(), rtol=1e-12, atol=1e-15)
    assert ours.state_dict()["state"][0]["func_evals"] == topt.state_dict()["state"][0]["func_evals"]


# --- normalisation -------------------------------------------------------------------------------------------

def test_group_norm_one_value_per_group_is_refused_only_where_pytorch_refuses():
    """GroupNorm(1, 1) on (5, 1), GroupNorm(3, 3) on (4, 3, 1): each group holds one value; PyTorch checks
    only N*C/G * prod(spatial) == 1 and returns the bias. eigengrad raised 'Expected more than 1 value per
    channel when training'. (1, 2) with 2 groups is still refused, as PyTorch does."""
    m = nn.GroupNorm(1, 1).double()
    with eg.no_grad():
        m.bias.fill_(0.5)
        m.weight.fill_(2.0)
    x = eg.tensor(np.array([[1.0], [2.0], [-3.0], [0.0], [4.0]]), requires_grad=True)
    y = m(x)
    np.testing.assert_allclose(y.detach().numpy(), np.full((5, 1), 0.5), atol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.zeros((5, 1)), atol=1e-12)
    np.testing.assert_allclose(m.bias.grad.numpy(), [5.0])
    np.testing.assert_allclose(F.group_norm(eg.tensor(np.arange(12.0).reshape(4, 3, 1)), 3).numpy(), 0, atol=1e-12)
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        F.group_norm(eg.tensor(np.ones((1, 2))), 2)
    torch = _torch()
    with pytest.raises(ValueError):
        torch.nn.functional.group_norm(torch.ones(1, 2), 2)
    tm = torch.nn.GroupNorm(1, 1).double()
    with torch.no_grad():
        tm.bias.fill_(0.5)
        tm.weight.fill_(2.0)
    np.testing.assert_allclose(tm(torch.tensor(x.detach().numpy())).detach().numpy(), y.detach().numpy(), atol=1e-12)


def test_normalize_with_p_below_one_has_pytorchs_gradient_at_zero_elements():
    """F.normalize(x, p=0.5) and x.norm(0.5) where x has zeros: PyTorch's gradient there is 0 (it masks
    |x|^(p-1) = inf); eigengrad gave NaN (0 * inf) for the whole gradient of normalize's zero entries."""
    x = eg.tensor(np.array([0.0, 1.0]), requires_grad=True)
    F.normalize(x, p=0.5, dim=0).backward(eg.ones(2, dtype=eg.float64))
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0], atol=1e-15)
    x = eg.tensor(np.array([[0.0, 1.0, -2.0], [0.0, 0.0, 0.0]]), requires_grad=True)
    x.norm(0.5, 1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 1 + np.sqrt(2), -(1 + np.sqrt(2)) / np.sqrt(2)], [0, 0, 0]],
                               rtol=1e-14)
    # under create_graph the first-order gradient is the same (and finite)
    x = eg.tensor(np.array([[0.0, 1.0, -2.0]]), requires_grad=True)
    (g,) = eg.autograd.grad(F.normalize(x, p=0.3, dim=1).sum(), x, create_graph=True)
    assert np.all(np.isfinite(g.detach().numpy()))
    torch = _torch()
    t = torch.tensor([[0.0, 1.0, -2.0]], dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.nn.functional.normalize(t, p=0.3, dim=1).sum(), t)
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-12, atol=1e-15)


def _raises_like_torch(fn, torch_fn, expected):
    with pytest.raises(expected) as info:
        fn()
    torch = _torch()
    with pytest.raises(Exception) as tinfo:
        torch_fn(torch)
    assert isinstance(info.value, type(tinfo.value)), (type(info.value), type(tinfo.value))


@pytest.mark.parametrize("case", ["bn_weight_dtype", "bn_running_dtype", "bn_bias_size", "bn_running_var_size",
                                  "ln_weight_dtype", "gn_weight_dtype", "gn_bias_size", "in_weight_dtype",
                                  "normalize_p_str"])
def test_normalization_argument_errors_are_pytorchs_runtime_errors(case):
    """Bad per-channel tensors of the normalisations: PyTorch raises RuntimeError ('mixed dtype (CPU)', 'bias
    should contain 3 elements not 4', ...); eigengrad raised a plain TypeError / ValueError from the kernel
    binding (instance_norm with a float32 weight on float64 input even computed a result). Now an
    ArgumentTypeError / ArgumentError: a RuntimeError as PyTorch's, and a TypeError / ValueError as before."""
    x = np.random.default_rng(0).standard_normal((4, 3, 5))

    def run(lib):
        fn = lib.nn.functional
        X = lib.tensor(x)
        d64 = lambda *s: lib.ones(*s, dtype=lib.float64)  # noqa: E731
        d32 = lambda *s: lib.ones(*s, dtype=lib.float32)  # noqa: E731
        return {
            "bn_weight_dtype": lambda: fn.batch_norm(X, None, None, d32(3), training=True),
            "bn_running_dtype": lambda: fn.batch_norm(X, d32(3), d32(3), training=False),
            "bn_bias_size": lambda: fn.batch_norm(X, None, None, None, d64(4), training=True),
            "bn_running_var_size": lambda: fn.batch_norm(X, d64(3), d64(4), training=True),
            "ln_weight_dtype": lambda: fn.layer_norm(X, (5,), d32(5)),
            "gn_weight_dtype": lambda: fn.group_norm(X, 3, d32(3)),
            "gn_bias_size": lambda: fn.group_norm(X, 3, d64(3), d64(4)),
            "in_weight_dtype": lambda: fn.instance_norm(X, weight=d32(3)),
            "normalize_p_str": lambda: fn.normalize(X, p="a"),
        }[case]

    expected = TypeError if "dtype" in case or case == "normalize_p_str" else ValueError
    with pytest.raises(expected) as info:
        run(eg)()
    assert isinstance(info.value, RuntimeError)
    if "size" in case:
        assert "should contain 3 elements not 4" in str(info.value)
    torch = _torch()
    with pytest.raises(RuntimeError):
        run(torch)()


def test_rms_norm_weight_of_the_wrong_shape_is_named():
    """F.rms_norm with a weight not of normalized_shape: PyTorch's message names the weight; eigengrad's
    came from broadcasting ('The size of tensor a (5) must match ...')."""
    with pytest.raises(RuntimeError, match="Expected weight to be of same shape as normalized_shape"):
        F.rms_norm(eg.ones(4, 3, 5, dtype=eg.float64), (5,), eg.ones(4, dtype=eg.float64))
    with pytest.raises(RuntimeError, match="Expected weight to be of same shape as normalized_shape"):
        F.rms_norm(eg.ones(4, 3, 5, dtype=eg.float64), (5,), eg.ones(1, 5, dtype=eg.float64))
    y = F.rms_norm(eg.tensor(np.array([[3.0, 4.0]])), (2,), eg.tensor(np.array([1.0, 2.0])), eps=0.0)
    np.testing.assert_allclose(y.numpy(), [[3 / np.sqrt(12.5), 8 / np.sqrt(12.5)]], rtol=1e-15)
