"""torch.special's Bessel, Airy, Hurwitz zeta and orthogonal-polynomial functions, side by side with PyTorch
(and with mpmath where PyTorch's own float64 values are off: J0/J1/Y0/Y1 for 2 < x < 25, Ai for -12.65 < x < -2.09)."""
import math

import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch", reason="torch.special is the reference")

POLYS = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
         "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
         "shifted_chebyshev_polynomial_w", "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
         "legendre_polynomial_p"]
BESSEL = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0", "modified_bessel_i1",
          "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
          "spherical_bessel_j0", "airy_ai"]
EDGES = [0.0, -0.0, 1e-300, 1e-20, 0.5, 1.0, 2.0, 25.0, 100.0, 103.9, 700.0, 720.0, 1e10, 1e300, np.inf,
         -np.inf, np.nan, -1.0, -30.0, -1e3]


def _run(fn, *args, **kw):
    return fn(*[eg.tensor(a) if isinstance(a, np.ndarray) else a for a in args], **kw).numpy()


def _ref(fn, *args):
    return fn(*[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]).numpy()


def _assert_close(out, ref, rtol, atol=0.0, env=None):
    """NaN where the reference is NaN, infinities equal, the rest within atol + rtol * env (env: |ref|)."""
    assert out.shape == ref.shape and out.dtype == ref.dtype
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    inf = np.isinf(ref)
    np.testing.assert_array_equal(out[inf], ref[inf])
    fin = np.isfinite(ref)
    env = np.abs(ref.astype(np.float64)) if env is None else env
    err = np.abs(out[fin].astype(np.float64) - ref[fin].astype(np.float64))
    bound = atol + rtol * env[fin]
    worst = np.argmax(err - bound) if err.size else 0
    assert np.all(err <= bound), f"max excess at {worst}: {out[fin][worst]!r} vs {ref[fin][worst]!r}"


# --- orthogonal polynomials ----------------------------------------------------------------------------------
def _poly_grid(dtype):
    rng = np.random.default_rng(0)
    xs = np.concatenate([rng.uniform(-1, 1, 60), rng.uniform(-3, 3, 60),
                         [0.0, -0.0, 1.0, -1.0, 0.5, 1 - 2 ** -40, -1 + 2 ** -40, 1.5, -1.5, 10.0, -10.0, 1e10,
                          np.inf, -np.inf]])
    ns = np.array([-3, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 30, 64, 100, 127, 128, 129, 300, 512, 513])
    x, n = np.meshgrid(xs.astype(dtype), ns.astype(dtype), indexing="ij")
    return x, n


@pytest.mark.parametrize("name", POLYS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_polynomials_match_torch(name, dtype):
    x, n = _poly_grid(dtype)
    out = _run(getattr(eg.special, name), x, n)
    ref = _ref(getattr(torch.special, name), x, n)
    # the recurrences are PyTorch's, FMA included: equal to rounding; the trigonometric forms (|x| < 1, large n)
    # differ by the ulp of acos/cos between NumPy and the C library, times n
    eps = 1e-15 if dtype == np.float64 else 3e-7
    with np.errstate(over="ignore"):
        scale = np.maximum(np.abs(ref.astype(np.float64)), 1.0) * np.maximum(n.astype(np.float64), 1.0)
    _assert_close(out, ref, rtol=8 * eps, env=scale)


@pytest.mark.parametrize("name", POLYS)
def test_polynomial_conventions(name):
    f, ft = getattr(eg.special, name), getattr(torch.special, name)
    x = np.array([0.3, -0.7, 1.7, 0.0, 1.0, -1.0])
    # n is truncated toward zero; n < 0, NaN, +-inf and out-of-range give 0
    for n in (3.7, -0.5, -2.0, np.nan, np.inf, -np.inf, 1e30):
        nn = np.full_like(x, n)
        np.testing.assert_array_equal(_run(f, x, nn), _ref(ft, x, nn))
    np.testing.assert_array_equal(_run(f, x, np.full_like(x, 3.7)), _run(f, x, np.full_like(x, 3.0)))
    assert np.all(_run(f, x, np.full_like(x, -1.0)) == 0)
    # broadcasting of (input, n)
    xb, nb = np.linspace(-1.2, 1.2, 5).reshape(5, 1), np.array([0.0, 1.0, 2.0, 7.0, 11.0])
    out = _run(f, xb, nb)
    assert out.shape == (5, 5)
    np.testing.assert_allclose(out, _ref(ft, xb, nb), rtol=1e-13, atol=1e-13)
    for i in range(5):
        for j in range(5):
            np.testing.assert_array_equal(out[i, j], _run(f, xb[i], nb[j:j + 1])[0])
    # a NaN x gives NaN (where PyTorch's loop does not run it reads an uninitialised value)
    assert np.isnan(_run(f, np.array([np.nan]), np.array([5.0]))).all()


def test_polynomial_values_and_dtypes():
    S = eg.special
    x = eg.tensor([0.5, 2.0], dtype=eg.float64)
    np.testing.assert_allclose(S.chebyshev_polynomial_t(x, 3).numpy(), [4 * 0.125 - 1.5, 26.0])
    np.testing.assert_allclose(S.hermite_polynomial_h(x, 2).numpy(), [4 * 0.25 - 2, 14.0])
    np.testing.assert_allclose(S.hermite_polynomial_he(x, 3).numpy(), [0.125 - 1.5, 2.0])
    np.testing.assert_allclose(S.laguerre_polynomial_l(x, 2).numpy(), [(0.25 - 2 + 2) / 2, (4 - 8 + 2) / 2])
    np.testing.assert_allclose(S.legendre_polynomial_p(x, 2).numpy(), [(3 * 0.25 - 1) / 2, 5.5])
    np.testing.assert_allclose(S.shifted_chebyshev_polynomial_t(x, 2).numpy(), [-1.0, 17.0])
    # dtypes as PyTorch: integers give the default float dtype, a 0-dim n does not promote a float32 x
    for xv, nv in ((np.array([1, 2]), 3), (np.array([1.0, 2.0], dtype=np.float32), np.array(3.0)),
                   (np.array([1.0, 2.0], dtype=np.float32), np.array([3.0, 2.0])), (0.5, np.array(3)),
                   (np.array([1, 2]), 3.5), (np.array([True, False]), 2)):
        out = S.chebyshev_polynomial_u(eg.tensor(xv) if isinstance(xv, np.ndarray) else xv,
                                       eg.tensor(nv) if isinstance(nv, np.ndarray) else nv)
        ref = torch.special.chebyshev_polynomial_u(torch.tensor(xv) if isinstance(xv, np.ndarray) else xv,
                                                   torch.tensor(nv) if isinstance(nv, np.ndarray) else nv)
        assert str(out.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
        np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)
    # Hermite's limits: NaN above n = 512 (float64) and 128 (float32)
    assert np.isnan(S.hermite_polynomial_h(eg.tensor([0.5]), 513).numpy()).all()
    assert np.isfinite(S.hermite_polynomial_h(eg.tensor([0.5], dtype=eg.float64), 150).numpy()).all()
    for n in (512, 513):  # H_512(0.5) overflows into inf - inf = NaN in both
        np.testing.assert_array_equal(S.hermite_polynomial_h(eg.tensor([0.5], dtype=eg.float64), n).numpy(),
                                      torch.special.hermite_polynomial_h(torch.tensor([0.5], dtype=torch.float64), n))
    assert np.isnan(S.hermite_polynomial_he(eg.tensor([0.5], dtype=eg.float32), 129).numpy()).all()
    with pytest.raises(TypeError, match="special_legendre_polynomial_p"):
        S.legendre_polynomial_p(0.5, 2)
    with pytest.raises(TypeError):
        torch.special.legendre_polynomial_p(0.5, 2)
    out = eg.empty(2, dtype=eg.float64)
    assert S.legendre_polynomial_p(x, 2, out=out) is out
    np.testing.assert_allclose(out.numpy(), [-0.125, 5.5])


@pytest.mark.parametrize("name", POLYS + BESSEL + ["zeta_x"])
def test_not_differentiable(name):
    x = eg.tensor([0.3, 1.7], requires_grad=True)
    xt = torch.tensor([0.3, 1.7], requires_grad=True)
    if name in POLYS:
        y, yt = getattr(eg.special, name)(x, 3), getattr(torch.special, name)(xt, 3)
    elif name == "zeta_x":
        x, xt = eg.tensor([2.3, 3.7], requires_grad=True), torch.tensor([2.3, 3.7], requires_grad=True)
        y, yt = eg.special.zeta(x, 2.0), torch.special.zeta(xt, 2.0)
        with pytest.raises(NotImplementedError, match="the derivative for 'zeta' is not implemented."):
            y.sum().backward()
        with pytest.raises(NotImplementedError, match="the derivative for 'zeta' is not implemented."):
            yt.sum().backward()
        return
    else:
        y, yt = getattr(eg.special, name)(x), getattr(torch.special, name)(xt)
    assert y.requires_grad is False and yt.requires_grad is False
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_only_in_special():
    for name in POLYS + BESSEL + ["zeta"]:
        assert hasattr(torch.special, name) and not hasattr(torch, name)
        assert name in eg.special.__all__ and callable(getattr(eg.special, name))


# --- Bessel and Airy -----------------------------------------------------------------------------------------
def _envelope(name, x):
    """The scale errors are measured on: the oscillating functions' amplitude sqrt(2 / (pi x)) (Ai's
    |x|^-1/4 / sqrt(pi) for x < 0), else |value|."""
    ax = np.abs(x.astype(np.float64))
    if name.startswith("bessel_"):
        with np.errstate(divide="ignore"):
            return np.where(ax > 2, np.sqrt(2 / (np.pi * ax)), 1.0)
    if name == "airy_ai":
        with np.errstate(divide="ignore"):
            return np.where(x < 0, 1 / (np.sqrt(np.pi) * np.abs(x.astype(np.float64)) ** 0.25), 0.0)
    return 0.0


def _bessel_points(name, dtype):
    rng = np.random.default_rng(sum(map(ord, name)))
    if name.startswith("bessel_"):  # where PyTorch's float64 values are accurate (see the mpmath test)
        xs = np.concatenate([rng.uniform(0, 2, 200), rng.uniform(25, 1e3, 200), 10 ** rng.uniform(3, 12, 100),
                             10 ** rng.uniform(-300, -1, 50), -rng.uniform(0, 2, 50), -rng.uniform(25, 1e3, 50)])
    elif name == "airy_ai":
        xs = np.concatenate([rng.uniform(-2.09, 103.8, 400), -10 ** rng.uniform(1.11, 4, 200),
                             10 ** rng.uniform(-300, -1, 50)])
    else:
        xs = np.concatenate([rng.uniform(-30, 30, 200), 10 ** rng.uniform(-300, 3, 300), rng.uniform(0, 2, 100),
                             rng.uniform(2, 750, 100)])
    with np.errstate(over="ignore"):
        return np.concatenate([xs, EDGES]).astype(dtype)


@pytest.mark.parametrize("name", BESSEL)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bessel_match_torch(name, dtype):
    x = _bessel_points(name, dtype)
    out = _run(getattr(eg.special, name), x)
    ref = _ref(getattr(torch.special, name), x)
    env = np.maximum(np.abs(ref.astype(np.float64)), _envelope(name, x))
    if dtype == np.float64:
        rtol, atol = 5e-14, 1e-300
        if name == "airy_ai":
            rtol = 2e-13  # e^-zeta for zeta up to 706: PyTorch and eigengrad both carry ~1e-13 there
    else:  # float32 rounding (PyTorch computes in float32; eigengrad in float64, rounded; J/Y: PyTorch's phase)
        rtol, atol = 2e-6, 1e-37
        if name.startswith("bessel_"):
            rtol = 2e-6 if name[-2] == "j" else 3e-6
        if name == "airy_ai":
            rtol = 1.5e-5  # PyTorch's float32 Maclaurin series (|x| < 2.09) cancels away ~8e-6 near x = 2
    _assert_close(out, ref, rtol, atol, env=env)


@pytest.mark.parametrize("name", ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "airy_ai"])
def test_bessel_where_torch_is_inaccurate(name):
    """PyTorch's float64 J0, J1, Y0, Y1 between 2 and 25 (up to ~2e-6 off just above 5) and Ai between -12.65 and
    -2.09 (up to ~6e-6) are off the true values; eigengrad's are accurate (mpmath), and close to PyTorch's."""
    mpmath = pytest.importorskip("mpmath", reason="the true values")
    rng = np.random.default_rng(11)
    x = rng.uniform(-12.65, -2.09, 40) if name == "airy_ai" else rng.uniform(2, 25, 40)
    true_fn = {"bessel_j0": lambda v: mpmath.besselj(0, v), "bessel_j1": lambda v: mpmath.besselj(1, v),
               "bessel_y0": lambda v: mpmath.bessely(0, v), "bessel_y1": lambda v: mpmath.bessely(1, v),
               "airy_ai": mpmath.airyai}[name]
    with mpmath.workdps(30):
        true = np.array([float(true_fn(mpmath.mpf(float(v)))) for v in x])
    out = _run(getattr(eg.special, name), x)
    env = _envelope(name, x) if name == "airy_ai" else np.sqrt(2 / (np.pi * x))
    assert np.max(np.abs(out - true) / env) < 1e-14
    ref = _ref(getattr(torch.special, name), x)
    assert np.max(np.abs(out - ref) / env) < 1e-5


def test_bessel_true_values():
    """A few exact identities and tabulated values (A&S tables 9.1, 9.8, 10.11)."""
    S = eg.special
    x = eg.tensor([2.404825557695773, 5.520078110286311], dtype=eg.float64)  # zeros of J0
    assert np.all(np.abs(S.bessel_j0(x).numpy()) < 1e-15)
    np.testing.assert_allclose(S.bessel_j1(eg.tensor([3.831705970207512], dtype=eg.float64)).numpy(), 0, atol=1e-15)
    np.testing.assert_allclose(S.bessel_j0(eg.tensor([1.0], dtype=eg.float64)).numpy(), 0.7651976865579666, rtol=1e-15)
    np.testing.assert_allclose(S.bessel_y0(eg.tensor([1.0], dtype=eg.float64)).numpy(), 0.08825696421567696,
                               rtol=1e-14)
    np.testing.assert_allclose(S.modified_bessel_k0(eg.tensor([1.0], dtype=eg.float64)).numpy(), 0.42102443824070834,
                               rtol=1e-15)
    np.testing.assert_allclose(S.modified_bessel_k1(eg.tensor([2.0], dtype=eg.float64)).numpy(), 0.13986588181652243,
                               rtol=1e-15)
    np.testing.assert_allclose(S.airy_ai(eg.tensor([0.0, 1.0], dtype=eg.float64)).numpy(),
                               [0.3550280538878172, 0.1352924163128814], rtol=1e-15)
    # the Wronskian J1 Y0 - J0 Y1 = 2 / (pi x) over the three algorithms' ranges
    xs = eg.tensor(np.array([0.3, 1.9, 2.1, 7.5, 24.9, 25.1, 300.0]), dtype=eg.float64)
    w = (S.bessel_j1(xs) * S.bessel_y0(xs) - S.bessel_j0(xs) * S.bessel_y1(xs)).numpy()
    np.testing.assert_allclose(w, 2 / (np.pi * xs.numpy()), rtol=2e-14)
    # K1 I0 + K0 I1 = 1 / x
    k = (S.modified_bessel_k1(xs) * S.modified_bessel_i0(xs) + S.modified_bessel_k0(xs) * S.modified_bessel_i1(xs))
    np.testing.assert_allclose(k.numpy(), 1 / xs.numpy(), rtol=1e-14)


def test_bessel_dtypes_and_errors():
    S = eg.special
    assert S.bessel_j0(eg.tensor([1, 2])).dtype == eg.float32
    np.testing.assert_allclose(S.bessel_j0(eg.tensor([1, 2])).numpy(), torch.special.bessel_j0(torch.tensor([1, 2])))
    assert S.modified_bessel_k0(eg.tensor([1.0], dtype=eg.float64)).dtype == eg.float64
    np.testing.assert_allclose(S.airy_ai(eg.tensor(True)).numpy(), torch.special.airy_ai(torch.tensor(True)).numpy(),
                               rtol=3e-7)
    with pytest.raises(TypeError, match="must be Tensor"):
        S.bessel_j0(1.0)
    with pytest.raises(TypeError, match="must be Tensor"):
        torch.special.bessel_j0(1.0)
    out = eg.empty(3)
    assert S.spherical_bessel_j0(eg.tensor([0.0, 1.0, np.pi]), out=out) is out
    np.testing.assert_allclose(out.numpy(), [1.0, math.sin(1.0), 0.0], atol=1e-7)
    # shapes: any shape, empty too
    x = eg.tensor(np.linspace(0.1, 40, 24).reshape(2, 3, 4))
    assert tuple(S.bessel_y1(x).shape) == (2, 3, 4)
    assert tuple(S.modified_bessel_k1(eg.empty(0)).shape) == (0,)


# --- Hurwitz zeta --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_zeta_matches_torch(dtype):
    rng = np.random.default_rng(3)
    xs = np.concatenate([rng.uniform(1, 10, 80), rng.uniform(-3, 1, 10),
                         [1, 1 + 1e-10, 2, 3, 4, 10, 50, 100, np.inf, np.nan, -np.inf, 0, -1, -2, 1e300]])
    qs = np.concatenate([rng.uniform(-10, 10, 80), rng.uniform(0, 1e3, 10),
                         [1, 2, 0.5, 1e-10, 0, -0.0, -1, -2, -1.5, -2.5, 1e10, np.inf, -np.inf, np.nan, 1e300]])
    with np.errstate(over="ignore"):
        x, q = (a.astype(dtype) for a in np.meshgrid(xs, qs, indexing="ij"))
    out, ref = _run(eg.special.zeta, x, q), _ref(torch.special.zeta, x, q)
    if dtype == np.float64:
        _assert_close(out, ref, rtol=4e-15)
    else:
        _assert_close(out, ref, rtol=2e-7, atol=1e-43)
    # Python numbers on either side, integer tensors
    for a, b in ((2.0, np.array([1.0, 3.0])), (np.array([2.0, 3.0]), 1), (np.array([2, 3]), 1), (2, np.array([1, 3]))):
        o, r = _run(eg.special.zeta, a, b), _ref(torch.special.zeta, a, b)
        assert o.dtype == r.dtype
        np.testing.assert_allclose(o, r, rtol=1e-6)
    np.testing.assert_allclose(eg.special.zeta(eg.tensor([2.0], dtype=eg.float64), 1.0).numpy(), np.pi ** 2 / 6,
                               rtol=1e-15)
    with pytest.raises(TypeError, match="special_zeta"):
        eg.special.zeta(2.0, 1.0)


def test_zeta_gradient_in_q():
    q = np.array([0.5, 1.5, 3.0, 10.0])
    x = np.array([2.0, 3.5, 4.0, 1.5])
    qe, qt = eg.tensor(q, requires_grad=True), torch.tensor(q, requires_grad=True)
    ye, yt = eg.special.zeta(eg.tensor(x), qe), torch.special.zeta(torch.tensor(x), qt)
    ge, = eg.autograd.grad(ye.sum(), qe, create_graph=True)
    gt, = torch.autograd.grad(yt.sum(), qt, create_graph=True)
    np.testing.assert_allclose(ge.detach().numpy(), gt.detach().numpy(), rtol=1e-13)
    np.testing.assert_allclose(ge.detach().numpy(), -x * eg.special.zeta(eg.tensor(x + 1), eg.tensor(q)).numpy(),
                               rtol=1e-15)
    ge.sum().backward()
    gt.sum().backward()
    np.testing.assert_allclose(qe.grad.numpy(), qt.grad.numpy(), rtol=1e-13)
    # a Python number x, broadcasting q
    qe = eg.tensor([[1.0], [2.0]], dtype=eg.float64, requires_grad=True)
    eg.special.zeta(eg.tensor([2.0, 3.0], dtype=eg.float64), qe).sum().backward()
    qt = torch.tensor([[1.0], [2.0]], dtype=torch.float64, requires_grad=True)
    torch.special.zeta(torch.tensor([2.0, 3.0], dtype=torch.float64), qt).sum().backward()
    np.testing.assert_allclose(qe.grad.numpy(), qt.grad.numpy(), rtol=1e-13)
