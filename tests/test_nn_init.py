"""eg.nn.init: sample mean and variance of every initialiser against its formula (1000 x 1000 tensors),
every gain of calculate_gain, orthogonality, seeding and generator behaviour, and errors."""
import math

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.nn import init

N = 1000
NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
GAINS = {"tanh": 5 / 3, "relu": math.sqrt(2), "leaky_relu": math.sqrt(2 / (1 + 0.01**2)), "selu": 0.75}


def check_moments(t, mean, var, what=""):
    a = t.numpy().astype(np.float64)
    std = math.sqrt(var)
    assert abs(a.mean() - mean) <= 0.03 * std + 1e-12, f"{what}: mean {a.mean()} vs {mean}"
    assert abs(a.var() / var - 1) <= 0.03, f"{what}: variance {a.var()} vs {var}"


def w(*shape, dtype=np.float32):
    return eg.zeros(*shape, dtype=dtype)


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_calculate_gain_table(nonlinearity):
    assert init.calculate_gain(nonlinearity) == pytest.approx(GAINS.get(nonlinearity, 1.0), rel=1e-15)


def test_calculate_gain_leaky_relu_param_and_errors():
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", 0) == pytest.approx(math.sqrt(2))
    with pytest.raises(ValueError, match="param"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("gelu")


def test_uniform_and_normal_moments(dtype):
    eg.manual_seed(0)
    check_moments(init.uniform_(w(N, N, dtype=dtype), -0.5, 1.5), 0.5, 4 / 12, "uniform")
    check_moments(init.normal_(w(N, N, dtype=dtype), 0.0, 0.01), 0.0, 1e-4, "normal N(0, 0.01^2)")
    check_moments(init.normal_(w(N, N, dtype=dtype), 2.0, 3.0), 2.0, 9.0, "normal")


def test_trunc_normal_moments_and_bounds():
    eg.manual_seed(1)
    mean, std, a, b = 0.5, 1.0, -1.0, 1.5
    t = init.trunc_normal_(w(N, N), mean, std, a, b)
    arr = t.numpy()
    assert arr.min() >= a and arr.max() <= b
    al, be = (a - mean) / std, (b - mean) / std
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    Z = 0.5 * (math.erf(be / math.sqrt(2)) - math.erf(al / math.sqrt(2)))
    m = mean + std * (phi(al) - phi(be)) / Z
    var = std**2 * (1 + (al * phi(al) - be * phi(be)) / Z - ((phi(al) - phi(be)) / Z) ** 2)
    check_moments(t, m, var, "trunc_normal")
    with pytest.raises(ValueError, match="a <= b"):  # (a RuntimeError too, as PyTorch's; a == b fills a)
        init.trunc_normal_(w(3, 3), a=1.0, b=0.0)


@pytest.mark.parametrize("gain", [1.0, 2.5])
@pytest.mark.parametrize("kind", ["uniform", "normal"])
def test_xavier_moments(kind, gain):
    eg.manual_seed(2)
    t = w(N, N // 2 * 2)
    getattr(init, f"xavier_{kind}_")(t, gain=gain)
    check_moments(t, 0.0, gain**2 * 2 / (N + N), f"xavier_{kind}")
    # conv-shaped: fans include the receptive field
    t = w(40, 50, 5, 5)
    getattr(init, f"xavier_{kind}_")(t, gain=gain)
    check_moments(t, 0.0, gain**2 * 2 / (50 * 25 + 40 * 25), f"xavier_{kind} conv")


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
@pytest.mark.parametrize("kind", ["uniform", "normal"])
def test_kaiming_moments_every_nonlinearity(kind, nonlinearity):
    eg.manual_seed(3)
    t = w(N, N)
    getattr(init, f"kaiming_{kind}_")(t, a=0.0 if nonlinearity != "leaky_relu" else 0.01, nonlinearity=nonlinearity)
    gain = init.calculate_gain(nonlinearity, 0.01 if nonlinearity == "leaky_relu" else None)
    check_moments(t, 0.0, gain**2 / N, f"kaiming_{kind} {nonlinearity}")


@pytest.mark.parametrize("kind", ["uniform", "normal"])
def test_kaiming_modes_and_leaky_slope(kind):
    eg.manual_seed(4)
    t = w(500, 2000)
    getattr(init, f"kaiming_{kind}_")(t, a=math.sqrt(5), mode="fan_out")
    check_moments(t, 0.0, (2 / (1 + 5)) / 500, f"kaiming_{kind} fan_out")
    getattr(init, f"kaiming_{kind}_")(t, mode="fan_in", nonlinearity="relu")
    check_moments(t, 0.0, 2 / 2000, f"kaiming_{kind} fan_in")
    with pytest.raises(ValueError, match="mode"):
        getattr(init, f"kaiming_{kind}_")(t, mode="fan_avg")


@pytest.mark.parametrize("kind", ["uniform", "normal"])
def test_lecun_moments(kind):
    eg.manual_seed(5)
    t = w(N, 1500)
    getattr(init, f"lecun_{kind}_")(t)
    check_moments(t, 0.0, 1 / 1500, f"lecun_{kind}")


def test_constant_zeros_ones_eye():
    t = w(3, 5)
    np.testing.assert_array_equal(init.constant_(t, 0.25).numpy(), 0.25)
    np.testing.assert_array_equal(init.zeros_(t).numpy(), 0)
    np.testing.assert_array_equal(init.ones_(t).numpy(), 1)
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(3, 5))
    with pytest.raises(ValueError, match="2-dimensional"):
        init.eye_(w(2, 2, 2))


@pytest.mark.parametrize("shape", [(64, 64), (30, 100), (100, 30), (16, 3, 3, 3), (1, 7), (7, 1)], ids=str)
@pytest.mark.parametrize("gain", [1.0, math.sqrt(2)])
def test_orthogonal(shape, gain, dtype):
    t = init.orthogonal_(w(*shape, dtype=dtype), gain=gain, generator=eg.Generator(6))
    m = t.numpy().reshape(shape[0], -1).astype(np.float64)
    rows, cols = m.shape
    gram = m @ m.T if rows <= cols else m.T @ m
    np.testing.assert_allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=1e-5 * gain**2)


def test_orthogonal_sign_correction_makes_diag_of_r_positive():
    t = init.orthogonal_(w(50, 50, dtype=np.float64), generator=eg.Generator(7))
    g = np.empty((50, 50))
    eg.random.normal_(g, 0.0, 1.0, eg.Generator(7))
    q, r = np.linalg.qr(g)
    np.testing.assert_allclose(t.numpy(), q * np.sign(np.diag(r)), atol=1e-12)
    _, r2 = np.linalg.qr(t.numpy())
    # Q = G R^-1 with diag(R) > 0, and the same Gaussian G is reproduced from the same seed
    assert np.allclose(np.abs(np.diag(r2)), 1)


INITIALISERS = {
    "uniform_": lambda t, g: init.uniform_(t, generator=g),
    "normal_": lambda t, g: init.normal_(t, generator=g),
    "trunc_normal_": lambda t, g: init.trunc_normal_(t, generator=g),
    "xavier_uniform_": lambda t, g: init.xavier_uniform_(t, generator=g),
    "xavier_normal_": lambda t, g: init.xavier_normal_(t, generator=g),
    "kaiming_uniform_": lambda t, g: init.kaiming_uniform_(t, generator=g),
    "kaiming_normal_": lambda t, g: init.kaiming_normal_(t, generator=g),
    "lecun_uniform_": lambda t, g: init.lecun_uniform_(t, generator=g),
    "lecun_normal_": lambda t, g: init.lecun_normal_(t, generator=g),
    "orthogonal_": lambda t, g: init.orthogonal_(t, generator=g),
}


@pytest.mark.parametrize("name", sorted(INITIALISERS))
def test_same_seed_same_weights_and_only_generator_advances(name):
    fn = INITIALISERS[name]
    a = fn(w(20, 30), eg.Generator(42)).numpy()
    b = fn(w(20, 30), eg.Generator(42)).numpy()
    c = fn(w(20, 30), eg.Generator(43)).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # the default generator: seeded the same, the same weights; an explicit generator leaves it alone
    eg.manual_seed(9)
    before = eg.get_rng_state().clone()
    fn(w(20, 30), eg.Generator(1))
    np.testing.assert_array_equal(eg.get_rng_state().numpy(), before.numpy())
    x = fn(w(20, 30), None).numpy()
    assert eg.default_generator._offset > before.numpy().view('<u8')[1]  # the default generator advanced
    eg.manual_seed(9)
    np.testing.assert_array_equal(fn(w(20, 30), None).numpy(), x)


@pytest.mark.parametrize("name", ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
                                  "lecun_uniform_", "lecun_normal_", "orthogonal_"])
def test_fewer_than_two_dims_raise(name):
    with pytest.raises(ValueError, match="dimensions"):
        INITIALISERS[name](w(10), None)


def test_init_in_place_on_parameter_records_no_graph():
    p = eg.nn.Parameter(eg.zeros(4, 5))
    data = p._data
    out = init.kaiming_normal_(p, nonlinearity="relu", generator=eg.Generator(0))
    assert out is p and p._data is data and p.grad_fn is None and p.requires_grad
    assert np.any(data != 0)


def test_non_contiguous_tensor_is_filled_in_place():
    base = eg.zeros(6, 8)
    view = eg.Tensor._wrap(base._data[:, ::2])
    init.constant_(view, 3.0)
    np.testing.assert_array_equal(base.numpy()[:, ::2], 3.0)
    np.testing.assert_array_equal(base.numpy()[:, 1::2], 0.0)


def test_errors():
    with pytest.raises(TypeError, match="tensor"):
        init.normal_(np.zeros(3))
    with pytest.raises(TypeError, match="float"):
        init.normal_(eg.tensor(np.zeros(3, np.int64)))
    with pytest.raises(TypeError, match="generator"):
        init.normal_(w(3), generator=123)
