"""The gradient at a NaN input of the piecewise activations, as PyTorch's.

PyTorch's ReLU backward (threshold_backward) zeroes where ``y <= 0`` and passes the gradient otherwise, in
its vectorised and its scalar code alike: a NaN fails the test, so its gradient goes through. eigengrad's
every ReLU gradient follows that rule: the plain ReLU backward, its second order, eg.compile's fused
ReLU -> dropout mask, MaxPool2d after a ReLU, the ReLU RNN, and their NumPy references.

For Hardtanh (ReLU6), ELU (SELU, CELU), Hardswish, Softshrink and Hardshrink, PyTorch's two code paths
disagree at a NaN: its scalar loop (a tensor of fewer elements than a vector, or the tail after the last
whole vector) passes the gradient, its vectorised loop (the rest of any real tensor) gives 0 (Hardtanh, the
shrinks) or NaN (ELU family, Hardswish). eigengrad gives one of the two answers at every position (the
vectorised loop's, but the shrinks' scalar one, which an earlier parity sweep compared with), and its own
ReLU, the one PyTorch agrees with itself on, follows PyTorch.
"""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.nn.functional as F
from binding_table import TABLE, Case
from eigengrad import reference as R
from eigengrad._kernels import compiled_module

NAN, INF = float("nan"), float("inf")
SPECIAL = [NAN, -INF, -20.0, -3.0, -1.0, -0.0, 0.0, 0.5, 1.0, 3.0, 6.0, 20.0, INF]

ACTIVATIONS = {
    "relu": F.relu, "relu6": F.relu6, "hardtanh": F.hardtanh, "elu": F.elu, "celu": F.celu, "selu": F.selu,
    "hardswish": F.hardswish, "hardsigmoid": F.hardsigmoid, "leaky_relu": F.leaky_relu,
    "threshold": lambda t: F.threshold(t, 0.5, -3.0), "softshrink": F.softshrink, "hardshrink": F.hardshrink,
}
# the gradient at a NaN input: eigengrad's, and PyTorch 2.13's (vectorised loop, scalar loop)
AT_NAN = {"relu": (1.0, 1.0, 1.0), "leaky_relu": (0.01, 0.01, 0.01), "threshold": (1.0, 1.0, 1.0),
          "hardsigmoid": (0.0, 0.0, 0.0),
          "relu6": (0.0, 0.0, 1.0), "hardtanh": (0.0, 0.0, 1.0), "elu": (NAN, NAN, 1.0), "celu": (NAN, NAN, 1.0),
          "selu": (NAN, NAN, 1.0507009873554804934), "hardswish": (NAN, NAN, 1.0), "softshrink": (1.0, 0.0, 1.0),
          "hardshrink": (1.0, 0.0, 1.0)}


def _grad(fn, values, dtype):
    x = eg.tensor(np.array(values, dtype), requires_grad=True)
    y = fn(x)
    y.sum().backward()
    return y.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_gradient_at_nan(name, dtype):
    for n in (1, 7, 64, 67):  # (the same at every position of any size)
        values = np.ones(n)
        values[[0, -1]] = NAN
        y, g = _grad(ACTIVATIONS[name], values, dtype)
        assert np.isnan(y[[0, -1]]).all()
        np.testing.assert_allclose(g[[0, -1]], AT_NAN[name][0], rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_special_values_match_torch(name):
    """Every special value as PyTorch's; at a NaN, its vectorised loop's gradient where its two loops agree
    with eigengrad's (see AT_NAN), and the table's two PyTorch answers are checked against PyTorch too."""
    torch = pytest.importorskip("torch", reason="compares gradients at special values with PyTorch's")
    tf = {"threshold": lambda t: torch.nn.functional.threshold(t, 0.5, -3.0)}.get(
        name, getattr(torch.nn.functional, name, None))
    values = np.resize(SPECIAL, 64)  # (whole vectors of PyTorch's: its vectorised loop takes every element)
    nan = np.isnan(values)
    _, vector, scalar = AT_NAN[name]
    for dtype, tdtype in ((np.float32, torch.float32), (np.float64, torch.float64)):
        y, g = _grad(ACTIVATIONS[name], values, dtype)
        tx = torch.tensor(values, dtype=tdtype, requires_grad=True)
        ty = tf(tx)
        ty.sum().backward()
        tg = tx.grad.numpy()
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-6, atol=0, equal_nan=True)
        # (atol: Eigen's double exp(-inf) is a subnormal 5.6e-309, not 0)
        ours_is_vector = np.array_equal([AT_NAN[name][0]], [vector], equal_nan=True)
        keep = np.ones_like(nan) if ours_is_vector else ~nan
        np.testing.assert_allclose(g[keep], tg[keep], rtol=1e-6, atol=1e-300, equal_nan=True)
        np.testing.assert_allclose(tg[nan], vector, rtol=1e-6, equal_nan=True)
        one = torch.tensor([NAN], dtype=tdtype, requires_grad=True)
        tf(one).sum().backward()
        np.testing.assert_allclose(one.grad.numpy(), scalar, rtol=1e-6, equal_nan=True)


def test_relu_second_order_passes_at_nan():
    x = eg.tensor(np.array([NAN, -1.0, 2.0]), requires_grad=True)
    (g,) = eg.autograd.grad(F.relu(x).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), [1.0, 0.0, 1.0])
    w = eg.tensor(np.array([3.0, 5.0, 7.0]), requires_grad=True)
    (gw,) = eg.autograd.grad((g * w).sum(), w)
    np.testing.assert_array_equal(gw.numpy(), [1.0, 0.0, 1.0])


# --- the kernels against their references, with NaN in what they test ------------------------------------

def _call(name, kw):
    expected = TABLE[name].expect({k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in kw.items()})
    getattr(compiled_module(), name)(**kw)
    return expected


def _with_nans(a, rng, fraction=0.3):
    a = a.copy()
    a.reshape(-1)[rng.random(a.size) < fraction] = np.nan
    return a


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_backward_kernel(dtype):
    kw = TABLE["relu_backward"].make(Case(1, dtype, dims=(37, 11)))
    kw["y"] = _with_nans(kw["y"], np.random.default_rng(0))
    expected = _call("relu_backward", kw)
    np.testing.assert_array_equal(kw["grad_in"], expected["grad_in"])
    nan = np.isnan(kw["y"])
    np.testing.assert_array_equal(kw["grad_in"][nan], kw["grad_out"][nan])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relu_dropout_mask_keeps_nan(dtype):
    """eg.compile's Linear -> ReLU -> Dropout epilogue: a NaN product has the ReLU bit (2) of its mask set."""
    rng = np.random.default_rng(1)
    kw = TABLE["gemm_relu_dropout"].make(Case(2, dtype, dims=(9, 13, 7, 5), full=True))
    kw["a"] = _with_nans(kw["a"], rng, 0.1)
    expected = _call("gemm_relu_dropout", kw)
    np.testing.assert_array_equal(kw["mask"], expected["mask"])
    nan = np.isnan(kw["out"].reshape(-1))
    assert nan.any() and (kw["mask"][nan] & 2).all()
    g = rng.standard_normal(kw["out"].shape).astype(dtype)
    back = R.relu_dropout_backward(g, kw["mask"], kw["scale"]).reshape(-1)
    kept_nan = nan & (kw["mask"] & 1).astype(bool)
    assert kept_nan.any()
    np.testing.assert_allclose(back[kept_nan], (g.reshape(-1) * np.asarray(kw["scale"], dtype))[kept_nan])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_max_pool2d_relu_backward_kernel(dtype):
    rng = np.random.default_rng(2)
    for seed in range(4):
        kw = TABLE["max_pool2d_relu_backward"].make(Case(seed, dtype, dims=(3, 5, 6, 7)))
        kw["out"] = _with_nans(kw["out"], rng)
        expected = _call("max_pool2d_relu_backward", kw)
        np.testing.assert_allclose(kw["grad_in"], expected["grad_in"], rtol=1e-6, equal_nan=True)


def test_modules_match_torch_with_a_nan_input():
    """ReLU RNN, MaxPool2d after ReLU and Linear -> ReLU -> Dropout, eager and compiled: a NaN input element
    gives PyTorch's input gradient (finite where PyTorch's is)."""
    torch = pytest.importorskip("torch", reason="compares with PyTorch's gradients")
    torch.manual_seed(0)
    t_rnn = torch.nn.RNN(3, 4, nonlinearity="relu")
    e_rnn = eg.nn.RNN(3, 4, nonlinearity="relu")
    e_rnn.load_state_dict({k: eg.tensor(v.detach().numpy()) for k, v in t_rnn.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((5, 2, 3)).astype(np.float32)
    x[2, 0, 1] = np.nan
    tx = torch.tensor(x, requires_grad=True)
    t_rnn(tx)[0].sum().backward()
    ex = eg.tensor(x, requires_grad=True)
    e_rnn(ex)[0].sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6, equal_nan=True)
    assert np.isfinite(tx.grad.numpy()[2, 0]).all()

    img = np.random.default_rng(4).standard_normal((2, 3, 6, 6)).astype(np.float32)
    img[1, 2, 3, 3] = np.nan
    tx = torch.tensor(img, requires_grad=True)
    torch.nn.functional.max_pool2d(torch.relu(tx), 2).sum().backward()
    ex = eg.tensor(img, requires_grad=True)
    F.max_pool2d(F.relu(ex), 2).sum().backward()
    np.testing.assert_array_equal(ex.grad.numpy(), tx.grad.numpy())


def test_compiled_fusions_follow_eager_at_nan():
    """The fused kernels of a compiled step (Linear -> ReLU -> Dropout, BatchNorm -> ReLU) give the eager
    step's gradients and parameters, NaN where eager's are NaN and equal elsewhere."""
    def make(norm):
        eg.manual_seed(0)
        layers = [eg.nn.Linear(6, 8), eg.nn.ReLU(), eg.nn.Dropout(0.3), eg.nn.Linear(8, 8)]
        layers += [eg.nn.BatchNorm1d(8)] if norm else []
        model = eg.nn.Sequential(*layers, eg.nn.ReLU(), eg.nn.Linear(8, 3))
        return model, eg.optim.SGD(model.parameters(), lr=0.1)
    x = np.random.default_rng(5).standard_normal((16, 6)).astype(np.float32)
    x[3, 2] = np.nan
    for norm in (False, True):
        results = []
        for compiled in (False, True):
            model, opt = make(norm)

            def step(inp, target):
                opt.zero_grad()
                loss = ((model(inp) - target) ** 2).sum()
                loss.backward()
                opt.step()
                return loss

            fn = eg.compile(step) if compiled else step
            for _ in range(6):  # (trace; with gradients: trace, trace again, verify against eager, replay, replay)
                fn(eg.tensor(x), eg.zeros(16, 3))
            results.append([p.grad.numpy().copy() for p in model.parameters()] +
                           [p.detach().numpy().copy() for p in model.parameters()])
            if compiled:
                assert fn.replays == 2
        for e, c in zip(*results):
            np.testing.assert_array_equal(c, e)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["elu", "celu", "selu"])
def test_elu_family_gradient_where_exp_underflows(name, dtype):
    """alpha * exp(x) below the smallest normal number: the subnormal, and 0 at -inf, as PyTorch and libm give, at
    every level (Eigen's packet exp clamped its argument at AVX2 and SSE, giving 2.9e-39 for every float32 x below
    -88.4, and flushed to 0 at AVX-512). Positions across a 64-element block and a partial one, a NaN beside."""
    low = float(np.log(np.finfo(dtype).tiny))
    tail = np.array([-INF, -1e30, NAN, low - 30.0, low - 10.0, low - 1.0, low - 0.01, low + 0.5, low + 5.0], dtype)
    values = np.resize(np.concatenate([tail, [-1.0, 0.5]]).astype(dtype), 70)
    _, g = _grad(ACTIVATIONS[name], values, dtype)
    scale = {"elu": 1.0, "celu": 1.0, "selu": 1.0507009873554804934 * 1.6732632423543772848}[name]
    expected = (scale * np.exp(values.astype(np.longdouble))).astype(dtype)
    expected[values > 0] = {"selu": 1.0507009873554804934}.get(name, 1.0)
    assert g[0] == 0 and g[1] == 0  # -inf, -1e30
    np.testing.assert_allclose(g, expected, rtol=4 * np.finfo(dtype).eps, atol=2 * np.finfo(dtype).smallest_subnormal)
    torch = pytest.importorskip("torch", reason="compares with PyTorch's gradient as well")
    tx = torch.tensor(values, requires_grad=True)
    getattr(torch.nn.functional, name)(tx).sum().backward()
    ok = ~np.isnan(values)  # (at a NaN PyTorch's two loops differ: test_special_values_match_torch)
    np.testing.assert_allclose(g[ok], tx.grad.numpy()[ok], rtol=4 * np.finfo(dtype).eps,
                               atol=2 * np.finfo(dtype).smallest_subnormal)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, kw", [("softplus", {}), ("softplus", {"beta": 2.0}), ("gelu", {}),
                                      ("gelu", {"approximate": "tanh"})])
def test_softplus_and_gelu_where_exp_underflows(name, kw, dtype):
    """The same exact exp tail (activation_ext.cpp, exact_exp) in softplus and GELU: softplus(-inf) and its gradient
    0, the subnormal above (at AVX2 and SSE both had been 2.9e-39 for every float32 x below -88.4), and GELU's
    gradient at -1e30 0 (it had been -1.2e-9)."""
    low = float(np.log(np.finfo(dtype).tiny))
    values = np.resize(np.array([-INF, -1e30, low - 30.0, low - 1.0, low + 0.5, -1.0, 0.5, 3.0], dtype), 70)
    fn = getattr(F, name)
    y, g = _grad(lambda t: fn(t, **kw), values, dtype)
    tiny = 2 * np.finfo(dtype).smallest_subnormal
    if name == "softplus":  # log1p(e) / beta and e / (1 + e), e = exp(beta x), in long double
        e = np.exp(kw.get("beta", 1.0) * values.astype(np.longdouble))
        np.testing.assert_allclose(y, (np.log1p(e) / kw.get("beta", 1.0)).astype(dtype), rtol=4e-6, atol=tiny)
        np.testing.assert_allclose(g, (e / (1 + e)).astype(dtype), rtol=4e-6, atol=tiny)
    if kw.get("approximate") != "tanh":  # (its x^3 overflows at -1e30 in float32: a NaN gradient, as PyTorch's)
        assert g[1] == 0 and y[1] == 0  # -1e30 (at -inf GELU's gradient is -inf * 0, NaN, as PyTorch's)
    if name == "softplus":
        assert g[0] == 0 and y[0] == 0
    torch = pytest.importorskip("torch", reason="compares with PyTorch's values and gradients as well")
    tx = torch.tensor(values, requires_grad=True)
    ty = getattr(torch.nn.functional, name)(tx, **kw)
    ty.sum().backward()
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=4e-6, atol=tiny)
    np.testing.assert_allclose(g, tx.grad.numpy(), rtol=4e-6, atol=tiny)
