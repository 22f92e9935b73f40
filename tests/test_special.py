"""Special functions (``eigengrad.special``, ``eg.lgamma``/``digamma``/``polygamma``/``mvlgamma``/``i0``): values
against mpmath (~1e-13, pointwise) and PyTorch (float64 to 1e-10, float32 to 1e-5, inf/NaN patterns at the
poles), gradients against PyTorch, dtypes, shapes, in-place forms, errors and ``torch.special`` under compat.
gradcheck/gradgradcheck and second-order torch parity are grad_cases_tensor_ops.py's SPECIAL_CASES."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.special as es

torch = pytest.importorskip("torch", reason="the special functions are compared with PyTorch's")
mpmath = pytest.importorskip("mpmath", reason="mpmath gives the high-precision references")

RNG = np.random.default_rng(7)
WIDE = np.concatenate([RNG.uniform(-30, 30, 200), RNG.uniform(0, 3, 200), np.exp(RNG.uniform(-20, 6, 100)),
                       [1.0, 2.0, 0.5, 1.5, 2.5, 12.999, 13.0, 1e10, 1e-300]])
NOT_POLES = WIDE[~((WIDE <= 0) & (WIDE == np.floor(WIDE)))]
SPECIAL_VALUES = np.array([0.0, -0.0, -1.0, -2.0, -7.0, np.inf, -np.inf, np.nan, 1e-310, -1e-310, 1e300, -1e300])
FINITE_SPECIALS = SPECIAL_VALUES[~np.isinf(SPECIAL_VALUES)]


def _rel_pointwise(got, ref, floor=0.0):
    """max |got - ref| / max(|ref|, floor) over the positions where they are not the same value (inf, NaN)."""
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    differ = ~((got == ref) | (np.isnan(got) & np.isnan(ref)))
    got, ref = got[differ], ref[differ]
    if got.size == 0:
        return 0.0
    return float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), floor)))


def _mp(fn, xs, dps=40):
    with mpmath.workdps(dps):
        return np.array([float(fn(mpmath.mpf(float(v)))) for v in xs])


@pytest.mark.parametrize("name, ref, xs, floor", [
    ("gammaln", lambda v: mpmath.log(abs(mpmath.gamma(v))), NOT_POLES[np.abs(NOT_POLES) < 1e8], 0.0),
    ("digamma", mpmath.digamma, NOT_POLES[np.abs(NOT_POLES) < 1e8], 1.0),  # ~0 at its root 1.4616: absolute there
    ("i0", lambda v: mpmath.besseli(0, v), np.r_[RNG.uniform(-60, 60, 300), 712.2, -709.9], 0.0),
    ("i1", lambda v: mpmath.besseli(1, v), np.r_[RNG.uniform(-60, 60, 300), -711.3], 0.0),
    ("i0e", lambda v: mpmath.besseli(0, v) * mpmath.exp(-abs(v)), RNG.uniform(-800, 800, 300), 0.0),
    ("i1e", lambda v: mpmath.besseli(1, v) * mpmath.exp(-abs(v)), RNG.uniform(-800, 800, 300), 0.0),
    ("erfcx", lambda v: mpmath.exp(v * v) * mpmath.erfc(v), np.r_[RNG.uniform(-20, 60, 300), 1.99, 2.0, 1e4], 0.0),
    ("log_ndtr", lambda v: mpmath.log(mpmath.ncdf(v)), np.r_[RNG.uniform(-40, 8, 300), -1e3], 0.0),
    ("ndtri", lambda v: mpmath.sqrt(2) * mpmath.erfinv(2 * v - 1),
     np.r_[RNG.uniform(0.01, 0.99, 200), np.exp(RNG.uniform(-80, -5, 100))], 0.0),
])
def test_value_against_mpmath(name, ref, xs, floor):
    got = getattr(es, name)(eg.tensor(xs, dtype=eg.float64)).numpy()
    assert _rel_pointwise(got, _mp(ref, xs, 70 if name == "ndtri" else 40), floor) < 1e-13  # 2p - 1 of p ~ 1e-35


@pytest.mark.parametrize("n", [1, 2, 3, 6])
def test_polygamma_against_mpmath(n):
    xs = NOT_POLES[np.abs(NOT_POLES) < 1e6]
    got = eg.polygamma(n, eg.tensor(xs, dtype=eg.float64)).numpy()
    assert _rel_pointwise(got, _mp(lambda v: mpmath.polygamma(n, v), xs)) < 1e-13


# (eigengrad name, torch function, inputs)
UNARY = [
    ("gammaln", torch.special.gammaln, np.r_[WIDE, SPECIAL_VALUES]),
    ("digamma", torch.special.digamma, np.r_[WIDE, SPECIAL_VALUES]),
    ("psi", torch.special.psi, WIDE),
    # torch's i0 and i1 are NaN at +-inf (Cephes' Chebyshev sum times e^x, which also overflows from |x| = 709.8
    # where the product does not): eigengrad gives the limits, and values up to 713 (tested against mpmath)
    ("i0", torch.special.i0, np.r_[RNG.uniform(-700, 700, 300), FINITE_SPECIALS]),
    ("i1", torch.special.i1, np.r_[RNG.uniform(-700, 700, 300), FINITE_SPECIALS]),
    ("i0e", torch.special.i0e, np.r_[RNG.uniform(-800, 800, 300), SPECIAL_VALUES]),
    ("i1e", torch.special.i1e, np.r_[RNG.uniform(-800, 800, 300), SPECIAL_VALUES]),
    ("erfcx", torch.special.erfcx, np.r_[RNG.uniform(-27, 100, 300), SPECIAL_VALUES]),
    # torch's ndtr is (1 + erf(x / sqrt 2)) / 2: 0 below -8.3 and 2% off at -8; eigengrad's erfc form is
    # accurate there (checked against mpmath below)
    ("ndtr", torch.special.ndtr, np.r_[RNG.uniform(-5, 40, 300), SPECIAL_VALUES[SPECIAL_VALUES > -5]]),
    ("log_ndtr", torch.special.log_ndtr, np.r_[RNG.uniform(-100, 40, 300), SPECIAL_VALUES]),
    ("ndtri", torch.special.ndtri, np.r_[RNG.uniform(0, 1, 300), np.exp(RNG.uniform(-700, -1, 100)), 0, 1, -1, 2, np.nan]),
    ("entr", torch.special.entr, np.r_[RNG.uniform(-1, 5, 300), SPECIAL_VALUES]),
]


def _same_specials(got, want):
    for what, f in (("nan", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
        np.testing.assert_array_equal(f(got), f(want), err_msg=f"{what} positions differ")


@pytest.mark.parametrize("name, tfn, xs", UNARY, ids=[u[0] for u in UNARY])
def test_float64_matches_torch(name, tfn, xs):
    got = getattr(es, name)(eg.tensor(xs, dtype=eg.float64)).numpy()
    want = tfn(torch.tensor(xs, dtype=torch.float64)).numpy()
    _same_specials(got, want)
    finite = np.isfinite(want)
    assert _rel_pointwise(got[finite], want[finite], 1e-300) < 1e-10


@pytest.mark.parametrize("name, tfn, xs", UNARY, ids=[u[0] for u in UNARY])
def test_float32_matches_torch(name, tfn, xs):
    x32 = (xs / 10 if name in ("i0", "i1") else xs).astype(np.float32)  # float32 I0 overflows from 89
    got = getattr(es, name)(eg.tensor(x32)).numpy()
    want = tfn(torch.tensor(x32)).numpy()
    assert got.dtype == np.float32
    finite = np.isfinite(want) & np.isfinite(got) & (np.abs(want) > 1e-30)
    assert finite.sum() >= 50
    assert _rel_pointwise(got[finite], want[finite], 1e-3) < 2e-5  # float32 lgamma near its zeros: absolute


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_polygamma_matches_torch(n):
    # torch's polygamma(n >= 1, +inf) is NaN; eigengrad's is the limit 0 (tested below)
    rng = np.random.default_rng(100 + n)  # its own draws: the points do not depend on which tests ran before
    xs = np.r_[rng.uniform(-20, 20, 200), rng.uniform(5, 50, 100), 0.0, -3.0, -np.inf, np.nan]
    got = eg.polygamma(n, eg.tensor(xs, dtype=eg.float64)).numpy()
    want = torch.polygamma(n, torch.tensor(xs, dtype=torch.float64)).numpy()
    if n == 1:
        # torch's trigamma sums a short asymptotic series (~1e-9 relative) and gives pi^2 / sin^2 rounding
        # (6.6e32) at a negative integer where the pole is: compare away from the poles, at its accuracy
        keep = ~((xs <= 0) & (xs == np.floor(xs)))
        got, want, tol = got[keep], want[keep], 2e-9
        assert np.isposinf(eg.polygamma(1, eg.tensor([0.0, -3.0], dtype=eg.float64)).numpy()).all()
    else:
        tol = 1e-10
        _same_specials(got, want)
    finite = np.isfinite(want)
    assert _rel_pointwise(got[finite], want[finite], 1e-300) < tol


@pytest.mark.parametrize("name, tfn, lo, hi", [
    ("gammaln", torch.special.gammaln, -5.0, 40.0), ("digamma", torch.special.digamma, 4.0, 40.0),
    ("i0", torch.special.i0, -40, 40), ("i1", torch.special.i1, -40, 40), ("i0e", torch.special.i0e, -40, 40),
    ("i1e", torch.special.i1e, -40, 40), ("erfcx", torch.special.erfcx, -5, 50), ("ndtr", torch.special.ndtr, -9, 9),
    ("log_ndtr", torch.special.log_ndtr, -60, 9), ("ndtri", torch.special.ndtri, 1e-6, 1 - 1e-6),
    ("entr", torch.special.entr, 0.01, 5),
])
def test_gradient_matches_torch(name, tfn, lo, hi):
    xs = np.random.default_rng(sum(map(ord, name))).uniform(lo, hi, (7, 5))  # not the shared RNG: order-free
    x = eg.tensor(xs, requires_grad=True)
    getattr(es, name)(x).sum().backward()
    tx = torch.tensor(xs, requires_grad=True)
    tfn(tx).sum().backward()
    assert _rel_pointwise(x.grad.numpy(), tx.grad.numpy(), 1e-3) < 1e-10


def test_limits_at_infinity_where_torch_gives_nan():
    inf = eg.tensor([np.inf, -np.inf], dtype=eg.float64)
    np.testing.assert_array_equal(es.i0(inf).numpy(), [np.inf, np.inf])
    np.testing.assert_array_equal(es.i1(inf).numpy(), [np.inf, -np.inf])
    np.testing.assert_array_equal(eg.polygamma(3, inf[:1]).numpy(), [0.0])


def test_ndtr_lower_tail_against_mpmath():
    xs = np.array([-5.0, -8.0, -10.0, -20.0, -37.0])
    got = es.ndtr(eg.tensor(xs, dtype=eg.float64)).numpy()
    assert _rel_pointwise(got, _mp(mpmath.ncdf, xs)) < 1e-13


def test_i1_gradient_at_zero_is_half_as_torch():
    for name in ("i1", "i1e"):
        x = eg.tensor([0.0, -0.0, 1e-20], dtype=eg.float64, requires_grad=True)
        getattr(es, name)(x).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.5, 0.5])


def test_entr_gradient_edges_as_torch():
    x = eg.tensor([0.0, -1.0, 0.5], dtype=eg.float64, requires_grad=True)
    es.entr(x).sum().backward()
    tx = torch.tensor([0.0, -1.0, 0.5], dtype=torch.float64, requires_grad=True)
    torch.special.entr(tx).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("p", [1, 2, 5])
def test_mvlgamma_matches_torch_with_gradient(p):
    xs = RNG.uniform(2.5, 9.0, (3, 4))
    x, tx = eg.tensor(xs, requires_grad=True), torch.tensor(xs, requires_grad=True)
    y, ty = es.multigammaln(x, p), torch.special.multigammaln(tx, p)
    assert _rel_pointwise(y.detach().numpy(), ty.detach().numpy()) < 1e-12
    y.sum().backward()
    ty.sum().backward()
    assert _rel_pointwise(x.grad.numpy(), tx.grad.numpy()) < 1e-10
    assert _rel_pointwise(x.mvlgamma(p).detach().numpy(), ty.detach().numpy()) < 1e-12


def test_xlog1py_broadcasts_and_matches_torch():
    xs = np.array([[0.0, 1.5, -2.0, 0.0]])
    ys = np.array([[np.nan], [0.5], [-1.0], [3.0]])
    x, y = eg.tensor(xs, requires_grad=True), eg.tensor(ys, requires_grad=True)
    tx, ty = torch.tensor(xs, requires_grad=True), torch.tensor(ys, requires_grad=True)
    out, tout = es.xlog1py(x, y), torch.special.xlog1py(tx, ty)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-14)
    keep = np.isfinite(tout.detach().numpy())
    (out.masked_fill(eg.tensor(~keep), 0.0)).sum().backward()
    tout.masked_fill(torch.tensor(~keep), 0.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(es.xlog1py(2.0, eg.tensor([1.0])).numpy(), [2 * np.log(2.0)], rtol=1e-7)


def test_integer_input_gives_default_float_and_zero_size():
    assert eg.lgamma(eg.tensor([1, 2, 3])).dtype == eg.float32
    assert torch.polygamma(2, torch.tensor([1, 2])).dtype == torch.float32
    assert eg.polygamma(2, eg.tensor([1, 2])).dtype == eg.float32
    np.testing.assert_allclose(eg.polygamma(2, eg.tensor([1, 2])).numpy(),
                               torch.polygamma(2, torch.tensor([1, 2])).numpy(), rtol=1e-6)
    for name in ("gammaln", "digamma", "i0", "i1e", "erfcx", "ndtri", "log_ndtr", "entr", "ndtr"):
        z = getattr(es, name)(eg.zeros((0, 3), dtype=eg.float64, requires_grad=True))
        assert tuple(z.shape) == (0, 3)
        z.sum().backward()


def test_non_contiguous_input():
    base = RNG.uniform(0.5, 4.0, (6, 8))
    x = eg.tensor(base)[:, ::3].t()
    assert not x.is_contiguous()
    for name in ("gammaln", "digamma", "i0", "i1", "erfcx", "log_ndtr"):
        want = getattr(torch.special, name)(torch.tensor(base)[:, ::3].t()).numpy()
        assert _rel_pointwise(getattr(es, name)(x).numpy(), want) < 1e-12
    np.testing.assert_allclose(x.polygamma(2).numpy(), torch.tensor(base)[:, ::3].t().polygamma(2).numpy(), rtol=1e-12)


def test_in_place_forms():
    xs = RNG.uniform(0.5, 4.0, 5)
    for name in ("lgamma", "digamma", "i0"):
        x = eg.tensor(xs)
        assert getattr(x, name + "_")() is x
        np.testing.assert_allclose(x.numpy(), getattr(torch, name)(torch.tensor(xs)).numpy(), rtol=1e-12)
    x = eg.tensor(xs)
    x.polygamma_(2)
    np.testing.assert_allclose(x.numpy(), torch.tensor(xs).polygamma(2).numpy(), rtol=1e-12)
    x = eg.tensor(xs + 2)
    x.mvlgamma_(3)
    np.testing.assert_allclose(x.numpy(), torch.tensor(xs + 2).mvlgamma(3).numpy(), rtol=1e-12)
    y = eg.tensor(xs)
    eg.i0_(y)
    np.testing.assert_allclose(y.numpy(), torch.i0(torch.tensor(xs)).numpy(), rtol=1e-12)


def test_errors_as_torch():
    x = eg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="does not support negative n"):
        eg.polygamma(-1, x)
    with pytest.raises(TypeError, match="argument 'n' must be int"):
        eg.polygamma(1.5, x)
    with pytest.raises(RuntimeError, match="p has to be greater than or equal to 1"):
        eg.mvlgamma(x, 0)
    with pytest.raises(TypeError, match="argument 'p' must be int"):
        eg.mvlgamma(x, 2.0)
    with pytest.raises(TypeError, match="must be Tensor"):
        eg.lgamma([1.0])


def test_higher_derivatives_are_the_next_polygamma():
    x = eg.tensor([0.7, 3.2], dtype=eg.float64, requires_grad=True)
    g1, = eg.autograd.grad(x.lgamma().sum(), x, create_graph=True)
    g2, = eg.autograd.grad(g1.sum(), x, create_graph=True)
    g3, = eg.autograd.grad(g2.sum(), x)
    xs = x.detach().numpy()
    np.testing.assert_allclose(g1.detach().numpy(), _mp(mpmath.digamma, xs), rtol=1e-13)
    np.testing.assert_allclose(g2.detach().numpy(), _mp(lambda v: mpmath.polygamma(1, v), xs), rtol=1e-13)
    np.testing.assert_allclose(g3.numpy(), _mp(lambda v: mpmath.polygamma(2, v), xs), rtol=1e-13)


def test_aliases_are_the_existing_functions():
    x = eg.tensor(RNG.standard_normal((3, 4)))
    tx = torch.tensor(x.numpy())
    for name in ("erf", "erfc", "expit", "log1p", "expm1", "exp2", "sinc", "round"):
        np.testing.assert_allclose(getattr(es, name)(x).numpy(), getattr(torch.special, name)(tx).numpy(), rtol=1e-6)
    np.testing.assert_allclose(es.logsumexp(x, 1).numpy(), torch.special.logsumexp(tx, 1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(es.softmax(x, 0).numpy(), torch.special.softmax(tx, 0).numpy(), rtol=1e-6)
    np.testing.assert_allclose(es.log_softmax(x, 1, dtype=eg.float64).numpy(),
                               torch.special.log_softmax(tx, 1, dtype=torch.float64).numpy(), rtol=1e-12)
    p = eg.tensor([0.2, 0.7])
    np.testing.assert_allclose(es.logit(p).numpy(), torch.special.logit(torch.tensor([0.2, 0.7])).numpy(), rtol=1e-6)
    assert es.psi is es.digamma
    assert set(es.__all__) <= {n for n in dir(torch.special)}


def test_torch_special_under_compat():
    from eigengrad.compat import torch_alias

    with torch_alias():
        import torch as T
        import torch.special as TS

        assert TS is eg.special and T.special is eg.special
        np.testing.assert_allclose(TS.gammaln(T.tensor([4.0])).numpy(), [np.log(6.0)], rtol=1e-6)


@pytest.mark.parametrize("upper", [False, True], ids=["gammainc", "gammaincc"])
def test_incomplete_gamma_against_mpmath_and_torch(upper):
    a = np.r_[np.exp(RNG.uniform(-5, 6, 300)), 0.0, 0.0, 1.0, 2.0, -1.0, 1.0, np.inf, np.inf, 3.0, np.nan]
    x = np.r_[np.exp(RNG.uniform(-5, 6, 300)), 1.0, 0.0, 0.0, np.inf, 1.0, -1.0, 2.0, np.inf, np.nan, 2.0]
    fn, tfn = (es.gammaincc, torch.special.gammaincc) if upper else (es.gammainc, torch.special.gammainc)
    got = fn(eg.tensor(a), eg.tensor(x)).numpy()
    want = tfn(torch.tensor(a), torch.tensor(x)).numpy()
    _same_specials(got, want)
    finite = np.isfinite(want)
    assert _rel_pointwise(got[finite], want[finite], 1e-300) < 1e-8  # torch's is ~1e-9 relative
    ref = np.array([float(mpmath.gammainc(ai, xi, mpmath.inf, regularized=True) if upper else
                          mpmath.gammainc(ai, 0, xi, regularized=True)) for ai, xi in zip(a[:300], x[:300])])
    keep = ref > 1e-300
    assert _rel_pointwise(got[:300][keep], ref[keep]) < 1e-11


def test_incomplete_gamma_gradient_in_x_only_as_torch():
    a, xs = np.array([0.5, 2.0, 7.0]), np.array([0.3, 2.5, 9.0])
    for fn, tfn in ((es.gammainc, torch.special.gammainc), (es.gammaincc, torch.special.gammaincc)):
        x, tx = eg.tensor(xs, requires_grad=True), torch.tensor(xs, requires_grad=True)
        fn(eg.tensor(a), x).sum().backward()
        tfn(torch.tensor(a), tx).sum().backward()
        assert _rel_pointwise(x.grad.numpy(), tx.grad.numpy()) < 1e-12
        with pytest.raises(RuntimeError, match="is not implemented"):
            fn(eg.tensor(a, requires_grad=True), eg.tensor(xs)).sum().backward()
