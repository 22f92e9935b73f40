"""VonMises, Wishart, LKJCholesky, InverseGamma, Kumaraswamy, FisherSnedecor, GeneralizedPareto, LogisticNormal,
OneHotCategoricalStraightThrough, ExponentialFamily, the structured transforms and the constraint registries
(biject_to / transform_to), side by side with torch.distributions in float64: log_prob, entropy, moments,
cdf/icdf and their gradients (to 1e-10 relative unless a test says why not), shapes and expand, validation
errors, transforms (values, inverses, log-dets, shapes, signs, equality), the registries' transforms for every
constraint, KL pairs, and sample moments with a fixed seed (within 5 standard errors)."""
import math
import warnings

import numpy as np
import pytest

import eigengrad as eg
import eigengrad.distributions as ed

torch = pytest.importorskip("torch", reason="the distributions are compared with torch.distributions")
td = torch.distributions

RNG = np.random.default_rng(23)


@pytest.fixture(autouse=True)
def _torch_default_float64():
    """torch's GeneralizedPareto compares its concentration with torch.tensor(0.0) (the default dtype): in float64
    it raises "Double did not match Float" unless the default dtype is float64 too (eigengrad's has no such
    dependence)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
L_TRIL = np.array([[1.5, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.4, 0.2, 1.1]])
COV = L_TRIL @ L_TRIL.T


def _spd(shape, p, rng=RNG):
    a = rng.standard_normal(tuple(shape) + (p, p + 2))
    return a @ np.swapaxes(a, -1, -2) / (p + 2) + 0.3 * np.eye(p)


def _corr_cholesky(shape, p, rng=RNG):
    s = _spd(shape, p, rng)
    d = np.sqrt(np.diagonal(s, axis1=-2, axis2=-1))
    return np.linalg.cholesky(s / d[..., :, None] / d[..., None, :])


def _simplex(shape):
    g = RNG.gamma(2.0, size=shape)
    return g / g.sum(-1, keepdims=True)


def _wishart_scale_tril(lib):
    return lambda df, scale_tril: lib.distributions.Wishart(df, scale_tril=scale_tril)


def _wishart_cov(lib):
    return lambda df, covariance_matrix: lib.distributions.Wishart(df, covariance_matrix=covariance_matrix)


def _wishart_precision(lib):
    return lambda df, precision_matrix: lib.distributions.Wishart(df, precision_matrix=precision_matrix)


def _lkj(dim):
    return lambda lib: (lambda concentration: lib.distributions.LKJCholesky(dim, concentration))


# name -> (constructor(lib) -> callable(**params), params, value, whether the value gets a gradient)
SPECS = {
    "VonMises": (lambda lib: lib.distributions.VonMises,
                 dict(loc=np.array([0.3, -1.0, 2.0, 0.0, 5.0]), concentration=np.array([0.5, 3.0, 3.75, 7.0, 40.0])),
                 np.array([[0.1, 4.0, -2.0, 0.0, 9.0], [1.0, -1.0, 2.5, -3.0, 5.1]]), True),
    "InverseGamma": (lambda lib: lib.distributions.InverseGamma,
                     dict(concentration=np.array([0.7, 2.5, 4.0]), rate=np.array([1.5, 0.3, 2.0])),
                     np.array([[0.2, 4.0, 3.1], [1.0, 0.05, 0.7]]), True),
    "Kumaraswamy": (lambda lib: lib.distributions.Kumaraswamy,
                    dict(concentration1=np.array([0.7, 2.0, 5.0]), concentration0=np.array([1.3, 0.6, 4.0])),
                    np.array([0.15, 0.8, 0.5]), True),
    "FisherSnedecor": (lambda lib: lib.distributions.FisherSnedecor,
                       dict(df1=np.array([1.5, 3.0, 7.0, 2.0, 11.0]), df2=np.array([2.5, 5.0, 9.0, 1.0, 4.5])),
                       np.array([[0.2, 4.0, 1.1, 0.7, 2.0]]), True),
    "GeneralizedPareto": (lambda lib: lib.distributions.GeneralizedPareto,
                          dict(loc=np.array([0.1, -1.0, 0.5]), scale=np.array([0.5, 2.0, 1.0]),
                               concentration=np.array([0.3, -0.2, 0.0])),
                          np.array([[0.2, 4.0, 3.1], [1.0, -0.5, 0.7]]), True),
    "LogisticNormal": (lambda lib: lib.distributions.LogisticNormal,
                       dict(loc=RNG.standard_normal((2, 3)), scale=RNG.uniform(0.5, 2.0, (2, 3))),
                       _simplex((5, 2, 4)), True),
    "LogisticNormalScalar": (lambda lib: lib.distributions.LogisticNormal, dict(loc=np.array(0.3), scale=np.array(1.2)),
                             _simplex((3, 2)), True),
    "OneHotCategoricalStraightThrough": (lambda lib: lib.distributions.OneHotCategoricalStraightThrough,
                                         dict(logits=RNG.standard_normal((2, 5))),
                                         np.eye(5)[RNG.integers(0, 5, (3, 2))], False),
    "WishartScaleTril": (_wishart_scale_tril, dict(df=np.array([4.5, 3.0]), scale_tril=L_TRIL),
                         _spd((4, 2), 3), True),
    "WishartCovariance": (_wishart_cov, dict(df=np.array([5.0]), covariance_matrix=_spd((3,), 2)),
                          _spd((3,), 2), True),
    "WishartPrecision": (_wishart_precision, dict(df=np.array(7.5), precision_matrix=_spd((), 5)),
                         _spd((2,), 5), True),
    "LKJCholesky3": (_lkj(3), dict(concentration=np.array([0.5, 1.0, 2.5])), _corr_cholesky((4, 3), 3), True),
    "LKJCholesky5": (_lkj(5), dict(concentration=np.array(1.7)), _corr_cholesky((2,), 5), True),
    "LKJCholesky2": (_lkj(2), dict(concentration=np.array([0.3])), _corr_cholesky((1,), 2), True),
}
NO_ENTROPY = {"VonMises", "FisherSnedecor", "LogisticNormal", "LogisticNormalScalar", "LKJCholesky3", "LKJCholesky5",
              "LKJCholesky2"}
NO_MOMENTS = {"LogisticNormal", "LogisticNormalScalar", "LKJCholesky3", "LKJCholesky5", "LKJCholesky2"}
NO_MODE = NO_MOMENTS | {"GeneralizedPareto"}  # (its mode is loc: tested with the moments below)


def _build(name, lib, requires_grad=True, dtype=np.float64):
    make, params, value, continuous = SPECS[name]
    if lib is eg:
        def wrap(a):
            return eg.tensor(np.asarray(a, dtype=dtype), requires_grad=requires_grad)
    else:
        def wrap(a):
            return torch.tensor(np.asarray(a, dtype=dtype), requires_grad=requires_grad)
    tensors = {k: wrap(v) for k, v in params.items()}
    plain = eg.tensor(np.asarray(value, dtype=dtype)) if lib is eg else torch.tensor(np.asarray(value, dtype=dtype))
    return make(lib)(**tensors), tensors, wrap(value) if continuous else plain


def _np(a):
    return a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)


def _close(a, b, what, tol=1e-10):
    a, b = _np(a), _np(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    finite = np.isfinite(b)
    np.testing.assert_array_equal(np.isfinite(a), finite, err_msg=what)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=what)
    if finite.any():
        err = np.max(np.abs(a[finite] - b[finite]) / np.maximum(np.abs(b[finite]), 1e-3))
        assert err < tol, f"{what}: relative error {err:.3e}"


# torch's trigamma (the derivative of digamma) is ~1e-9 relative below x = 5: the gradients that go through it
TRIGAMMA_TOL = 1e-8


def _compare(name, fn, tol=1e-10, value_grad=True):
    """fn(dist, value) over both libraries: equal values (to 1e-10), equal gradients w.r.t. parameters and value
    (to ``tol``)."""
    d, params, value = _build(name, eg)
    t, tparams, tvalue = _build(name, torch)
    out, tout = fn(d, value), fn(t, tvalue)
    _close(out, tout, f"{name} value")
    if not tout.requires_grad:
        assert not out.requires_grad
        return
    weights = np.random.default_rng(1).uniform(0.5, 1.5, tuple(tout.shape))  # a generic upstream gradient
    finite = torch.isfinite(tout)
    (tout.where(finite, 0.0) * torch.tensor(weights)).sum().backward()
    (eg.where(eg.tensor(finite.numpy()), out, 0.0) * eg.tensor(weights)).sum().backward()
    checked = 0
    for k in params:
        if tparams[k].grad is not None:
            _close(params[k].grad, tparams[k].grad, f"{name} d/d{k}", tol)
            checked += 1
        else:
            assert params[k].grad is None or not np.any(params[k].grad.numpy()), f"{name} d/d{k}"
    if value_grad and value.requires_grad and tvalue.grad is not None:
        _close(value.grad, tvalue.grad, f"{name} d/dvalue", tol)
        checked += 1
    assert checked


def _tol(name):
    """The gradients' tolerance: d/dconcentration (d/ddf) of InverseGamma's, Kumaraswamy's and Wishart's entropies
    and moments go through digamma' (torch's trigamma: up to ~1e-9 relative here); all else to 1e-10."""
    return TRIGAMMA_TOL if name.startswith(("Wishart", "InverseGamma", "Kumaraswamy")) else 1e-10


@pytest.mark.parametrize("name", sorted(SPECS))
def test_log_prob_and_gradients_match_torch(name):
    _compare(name, lambda d, v: d.log_prob(v), _tol(name))


@pytest.mark.parametrize("name", sorted(set(SPECS) - NO_ENTROPY))
def test_entropy_and_gradients_match_torch(name):
    _compare(name, lambda d, v: d.entropy(), _tol(name))


@pytest.mark.parametrize("name", sorted(set(SPECS) - NO_MOMENTS))
@pytest.mark.parametrize("moment", ["mean", "variance", "stddev", "mode"])
def test_moments_match_torch(name, moment):
    if moment == "mode" and name in NO_MODE - {"GeneralizedPareto"}:
        return
    _compare(name, lambda d, v: getattr(d, moment), _tol(name))


@pytest.mark.parametrize("name", ["LogisticNormal", "LKJCholesky3"])
def test_no_moments_as_torch(name):
    d, _, _ = _build(name, eg)
    t, _, _ = _build(name, torch)
    for attr in ("mean", "variance"):
        with pytest.raises(NotImplementedError):
            getattr(t, attr)
        with pytest.raises(NotImplementedError):
            getattr(d, attr)


@pytest.mark.parametrize("name", ["Kumaraswamy", "GeneralizedPareto"])
def test_cdf_icdf_match_torch(name):
    _compare(name, lambda d, v: d.cdf(v))
    q = np.array([[0.05, 0.5, 0.93], [0.3, 0.99, 0.001]])
    d, params, _ = _build(name, eg)
    t, tparams, _ = _build(name, torch)
    out, tout = d.icdf(eg.tensor(q)), t.icdf(torch.tensor(q))
    _close(out, tout, f"{name} icdf")
    tout.sum().backward()
    out.sum().backward()
    for k in params:
        _close(params[k].grad, tparams[k].grad, f"{name} icdf d/d{k}")


def test_generalized_pareto_log_cdf_and_survival_match_torch():
    _compare("GeneralizedPareto", lambda d, v: d.log_cdf(v))
    _compare("GeneralizedPareto", lambda d, v: d.log_survival_function(v))


def test_inverse_gamma_cdf_matches_torch():
    """cdf(y) = 1 - P(a, rate / y) (the Gamma's, through a decreasing PowerTransform(-1)); differentiable in rate
    and y, not in the concentration (igamma's, as PyTorch); torch's igamma is ~1e-9 relative."""
    a, rate, ys = np.array([0.7, 2.5, 4.0]), np.array([1.5, 0.3, 2.0]), np.array([0.2, 4.0, 3.1])
    r, y = eg.tensor(rate, requires_grad=True), eg.tensor(ys, requires_grad=True)
    tr, ty = torch.tensor(rate, requires_grad=True), torch.tensor(ys, requires_grad=True)
    out, tout = ed.InverseGamma(eg.tensor(a), r).cdf(y), td.InverseGamma(torch.tensor(a), tr).cdf(ty)
    _close(out, tout, "InverseGamma cdf", 1e-8)
    out.sum().backward()
    tout.sum().backward()
    _close(r.grad, tr.grad, "InverseGamma cdf d/drate", 1e-8)
    _close(y.grad, ty.grad, "InverseGamma cdf d/dvalue", 1e-8)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_shapes_and_expand_match_torch(name):
    d, _, _ = _build(name, eg, requires_grad=False)
    t, _, _ = _build(name, torch, requires_grad=False)
    assert tuple(d.batch_shape) == tuple(t.batch_shape) and tuple(d.event_shape) == tuple(t.event_shape)
    assert d.has_rsample == t.has_rsample
    _same_repr(d.support, t.support)
    assert sorted(d.arg_constraints) == sorted(t.arg_constraints)
    assert tuple(d.sample((5,)).shape) == tuple(t.sample((5,)).shape)
    assert tuple(d.sample().shape) == tuple(t.sample().shape)
    new_batch = (3,) + tuple(t.batch_shape)
    de, te = d.expand(new_batch), t.expand(new_batch)
    assert type(de) is type(d)
    assert tuple(de.batch_shape) == tuple(te.batch_shape) and tuple(de.event_shape) == tuple(te.event_shape)
    tvalue = te.sample()
    _close(de.log_prob(eg.tensor(tvalue.numpy())), te.log_prob(tvalue), f"{name} expanded log_prob", _tol(name))
    assert tuple(de.sample((2,)).shape) == tuple(te.sample((2,)).shape)


@pytest.mark.parametrize("name", ["VonMises", "InverseGamma", "Kumaraswamy", "FisherSnedecor", "GeneralizedPareto",
                                  "LogisticNormal", "WishartScaleTril", "LKJCholesky3"])
def test_float32_matches_torch(name):
    """float32 parameters: float32 results equal to PyTorch's float32 ones to float32 rounding."""
    torch.set_default_dtype(torch.float32)  # (torch's GeneralizedPareto: see the fixture above)
    d, _, v = _build(name, eg, requires_grad=False, dtype=np.float32)
    t, _, tv = _build(name, torch, requires_grad=False, dtype=np.float32)
    out, tout = d.log_prob(v), t.log_prob(tv)
    assert out.dtype == eg.float32 and tout.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=2e-5, atol=2e-5)
    assert d.sample((3,)).dtype == eg.float32


@pytest.mark.parametrize("name", ["VonMises", "InverseGamma", "Kumaraswamy", "FisherSnedecor", "GeneralizedPareto",
                                  "LogisticNormal"])
def test_batch_one_and_prime_shapes(name):
    """Batch shape (1,) (the first element's parameters), expanded to (7, 1): log_prob of PyTorch's draws."""
    make, params, value, _ = SPECS[name]
    first = {k: np.asarray(v).reshape(-1)[:1] if np.asarray(v).ndim <= 1 else np.asarray(v)[:1, :]
             for k, v in params.items()}
    d = make(eg)(**{k: eg.tensor(v) for k, v in first.items()})
    t = make(torch)(**{k: torch.tensor(v) for k, v in first.items()})
    assert tuple(d.batch_shape) == tuple(t.batch_shape)
    x = t.expand((7,) + tuple(t.batch_shape)).sample((2,))
    _close(d.expand((7,) + tuple(d.batch_shape)).log_prob(eg.tensor(x.numpy())),
           t.expand((7,) + tuple(t.batch_shape)).log_prob(x), f"{name} batch 1")


def _same_repr(e, t):
    """Equal reprs, or (a constraint holding tensors, whose reprs differ by library) the same class and event_dim."""
    if "tensor(" in repr(t):
        assert type(e).__name__ == type(t).__name__ and e.event_dim == t.event_dim
    else:
        assert repr(e) == repr(t)


def _msg_head(err):
    return str(err.value).split(" of distribution")[0]


@pytest.mark.parametrize("make, constraint", [
    (lambda D, T: D.VonMises(T([0.0, 1.0]), T([1.0, -2.0])), "GreaterThan(lower_bound=0.0)"),
    (lambda D, T: D.VonMises(T([float("nan")]), T([1.0])), "Real()"),
    (lambda D, T: D.InverseGamma(T([1.0, 2.0]), T([-1.0, 1.0])), "GreaterThan(lower_bound=0.0)"),
    (lambda D, T: D.Kumaraswamy(T([1.0, 2.0]), T([1.0, 0.0])), "GreaterThan(lower_bound=0.0)"),
    (lambda D, T: D.FisherSnedecor(T([-1.0, 2.0]), T([1.0, 3.0])), "GreaterThan(lower_bound=0.0)"),
    (lambda D, T: D.GeneralizedPareto(T([0.0, 1.0]), T([1.0, -1.0]), T([0.1, 0.2])), "GreaterThan(lower_bound=0.0)"),
    (lambda D, T: D.LogisticNormal(T([0.0, 1.0]), T([1.0, -1.0])), "GreaterThan(lower_bound=0.0)"),
    (lambda D, T: D.LKJCholesky(3, T([1.0, -1.0])), "GreaterThan(lower_bound=0.0)"),
    (lambda D, T: D.Wishart(T([4.0]), covariance_matrix=T([[1.0, 2.0], [2.0, 1.0]])), "PositiveDefinite()"),
    (lambda D, T: D.Wishart(T([4.0]), scale_tril=T([[1.0, 0.0], [2.0, -1.0]])), "LowerCholesky()"),
    (lambda D, T: D.OneHotCategoricalStraightThrough(T([0.5, -0.5])), "Simplex()"),
])
def test_parameter_errors_as_torch(make, constraint):
    for D, T in ((td, lambda v: torch.tensor(v, dtype=torch.float64)), (ed, lambda v: eg.tensor(np.asarray(v)))):
        with pytest.raises(ValueError) as err:
            make(D, T)
        assert constraint in str(err.value)
        if D is td:
            head = _msg_head(err)
        else:
            assert _msg_head(err) == head


def test_constructor_errors_as_torch():
    for D, T in ((td, lambda v: torch.tensor(v, dtype=torch.float64)), (ed, lambda v: eg.tensor(np.asarray(v)))):
        with pytest.raises(ValueError, match=r"^Expected dim to be an integer greater than or equal to 2. Found "
                                             r"dim=1.$"):
            D.LKJCholesky(1, 1.0)
        with pytest.raises(ValueError, match=r"^Value of df=2.0 expected to be greater than ndim - 1 = 2.$"):
            D.Wishart(2.0, covariance_matrix=T(np.eye(3)))
        with pytest.raises(AssertionError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"):
            D.Wishart(4.0)
        with pytest.raises(ValueError, match="scale_tril must be at least two-dimensional"):
            D.Wishart(4.0, covariance_matrix=T([1.0, 2.0]))
        with pytest.warns(UserWarning, match="Low df values detected"):
            D.Wishart(2.5, covariance_matrix=T(np.eye(3)))
        with pytest.raises(ValueError, match="in_shape, out_shape have different numbers of elements"):
            D.transforms.ReshapeTransform((2, 3), (5,))


@pytest.mark.parametrize("make, value, support", [
    (lambda D, T: D.InverseGamma(2.0, 1.0), [-1.0], "GreaterThan(lower_bound=0.0)"),
    (lambda D, T: D.Kumaraswamy(2.0, 1.0), [1.5], "Interval(lower_bound=0.0, upper_bound=1.0)"),
    (lambda D, T: D.FisherSnedecor(2.0, 1.0), [0.0], "GreaterThan(lower_bound=0.0)"),
    (lambda D, T: D.LogisticNormal(T([0.0, 1.0]), T([1.0, 1.0])), [0.5, 0.6, 0.1], "Simplex()"),
    (lambda D, T: D.Wishart(4.0, covariance_matrix=T(np.eye(2))), [[1.0, 0.0], [0.0, -1.0]], "PositiveDefinite()"),
    (lambda D, T: D.LKJCholesky(2, 1.0), [[1.0, 0.0], [0.5, 0.5]], "CorrCholesky()"),
])
def test_value_errors_as_torch(make, value, support):
    for D, T in ((td, lambda v: torch.tensor(v, dtype=torch.float64)), (ed, lambda v: eg.tensor(np.asarray(v)))):
        with pytest.raises(ValueError) as err:
            make(D, T).log_prob(T(value))
        assert f"to be within the support ({support})" in str(err.value)
        with pytest.raises(ValueError, match="The value argument to log_prob must be a Tensor"):
            make(D, T).log_prob(value)


def test_generalized_pareto_support_and_vonmises_wrapping():
    d = ed.GeneralizedPareto(eg.tensor([0.0, 1.0]), eg.tensor([2.0, 1.0]), eg.tensor([-0.5, 0.5]))
    t = td.GeneralizedPareto(torch.tensor([0.0, 1.0]), torch.tensor([2.0, 1.0]), torch.tensor([-0.5, 0.5]))
    np.testing.assert_array_equal(d.support.upper_bound.numpy(), t.support.upper_bound.numpy())  # [4, inf]
    np.testing.assert_array_equal(d.support.check(eg.tensor([4.5, 3.0])), t.support.check(torch.tensor([4.5, 3.0])))
    # VonMises: angles modulo 2 pi (no support check beyond reals)
    v = ed.VonMises(eg.tensor(0.5, dtype=eg.float64), eg.tensor(2.0, dtype=eg.float64))
    f64 = dict(dtype=eg.float64)
    np.testing.assert_allclose(float(v.log_prob(eg.tensor(0.7, **f64))),
                               float(v.log_prob(eg.tensor(0.7 + 4 * math.pi, **f64))), rtol=1e-12)


def test_vonmises_bessel_is_torch_approximation_of_the_exact_one():
    """log I0/I1 are A&S 9.8.1-4 (PyTorch's): equal to PyTorch's, within 5e-7 of the exact functions (A&S give
    |error| < 2.2e-7 for the polynomial factor, relative to its value ~0.4; relative to I_n that is < 5e-7)."""
    from eigengrad.distributions.von_mises import _log_modified_bessel_fn
    from torch.distributions.von_mises import _log_modified_bessel_fn as t_fn

    x = np.array([1e-3, 0.1, 1.0, 3.7, 3.75, 3.8, 10.0, 50.0, 300.0])
    for order, exact in ((0, eg.special.i0e), (1, eg.special.i1e)):
        e = _log_modified_bessel_fn(eg.tensor(x), order).numpy()
        np.testing.assert_allclose(e, t_fn(torch.tensor(x), order).numpy(), rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(np.exp(e - x), exact(eg.tensor(x)).numpy(), rtol=5e-7)


# --- sampling ------------------------------------------------------------------------------------------------------

def _within(x, mean, var, what, k=5.0):
    n = x.shape[0]
    se = np.sqrt(var / n)
    assert np.all(np.abs(x.mean(0) - mean) <= k * se + 1e-12), f"{what}: {x.mean(0)} vs {mean} (se {se})"


@pytest.mark.parametrize("name, make", [
    ("InverseGamma", lambda: ed.InverseGamma(eg.tensor([5.0, 9.0]), eg.tensor([1.5, 0.3]))),
    ("Kumaraswamy", lambda: ed.Kumaraswamy(eg.tensor([0.7, 2.0, 5.0]), eg.tensor([1.3, 0.6, 4.0]))),
    ("FisherSnedecor", lambda: ed.FisherSnedecor(eg.tensor([3.0, 7.0]), eg.tensor([11.0, 13.0]))),
    ("GeneralizedPareto", lambda: ed.GeneralizedPareto(eg.tensor([0.1, -1.0, 0.5]), eg.tensor([0.5, 2.0, 1.0]),
                                                       eg.tensor([0.1, -0.4, 0.0]))),
    ("OneHotCategoricalStraightThrough",
     lambda: ed.OneHotCategoricalStraightThrough(logits=eg.tensor([0.1, 1.0, -2.0]))),
    ("Wishart", lambda: ed.Wishart(eg.tensor([4.5, 7.0]), scale_tril=eg.tensor(L_TRIL))),
])
def test_sample_moments(name, make):
    """The sample mean within 5 standard errors of the mean, the sample variance within 15% (fixed seed)."""
    eg.manual_seed(0)
    d = make()
    n = 40000
    x = d.sample((n,)).numpy()
    mean, var = d.mean.numpy(), d.variance.numpy()
    _within(x, mean, var, name)
    np.testing.assert_allclose(x.var(0), var, rtol=0.15)
    d.log_prob(eg.tensor(x[:50]))  # in the support (validation on)


def test_sampling_follows_manual_seed():
    for make in (lambda: ed.VonMises(eg.tensor([0.3, 1.0]), eg.tensor([0.5, 8.0])),
                 lambda: ed.LKJCholesky(4, eg.tensor(1.5)), lambda: ed.Wishart(5.0, scale_tril=eg.tensor(L_TRIL)),
                 lambda: ed.FisherSnedecor(eg.tensor(3.0), eg.tensor(4.0)),
                 lambda: ed.LogisticNormal(eg.tensor([0.1, 0.2]), eg.tensor([1.0, 2.0]))):
        eg.manual_seed(7)
        a = make().sample((4,)).numpy()
        eg.manual_seed(7)
        b = make().sample((4,)).numpy()
        eg.manual_seed(8)
        c = make().sample((4,)).numpy()
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


@pytest.mark.parametrize("dtype", [eg.float64, eg.float32])
def test_vonmises_sample_moments(dtype):
    """Circular moments: E[cos(x - loc)] = I1(k) / I0(k) = 1 - variance, E[sin(x - loc)] = 0, within 5 standard
    errors; draws in [-pi, pi); tiny concentrations (which stall a float32 sampler) terminate."""
    eg.manual_seed(3)
    loc = np.array([0.3, -2.5, 3.0, 0.0])
    kappa = np.array([0.2, 1.0, 4.0, 30.0])
    d = ed.VonMises(eg.tensor(loc, dtype=dtype), eg.tensor(kappa, dtype=dtype))
    x = d.sample((30000,))
    assert x.dtype == dtype
    x = x.numpy().astype(np.float64)
    assert x.min() >= -math.pi and x.max() <= math.pi
    c, s = np.cos(x - loc), np.sin(x - loc)
    k64 = eg.tensor(kappa)
    r = (eg.special.i1e(k64) / eg.special.i0e(k64)).numpy()  # I1 / I0, the exact functions
    _within(c, r, c.var(0), "E cos")
    _within(s, 0.0, s.var(0), "E sin")
    np.testing.assert_allclose(1 - d.variance.numpy(), r, rtol=1e-6 if dtype == eg.float64 else 1e-5)
    small = ed.VonMises(eg.tensor([0.0], dtype=dtype), eg.tensor([1e-6], dtype=dtype)).sample((2000,)).numpy()
    _within(np.cos(small), 0.0, 0.5, "tiny kappa")  # ~ uniform on the circle


@pytest.mark.parametrize("dim, eta", [(2, 0.5), (3, 1.0), (5, 2.5)])
def test_lkj_sample_moments(dim, eta):
    """Onion-method draws are correlation Cholesky factors; each correlation r_ij of L L^T is 2 Beta(b, b) - 1,
    b = eta - 1 + dim / 2: mean 0, variance 1 / (2 eta + dim - 1)."""
    eg.manual_seed(4)
    d = ed.LKJCholesky(dim, eg.tensor(eta))
    L = d.sample((20000,))
    assert bool(np.all(ed.constraints.corr_cholesky.check(L)))
    Ln = L.numpy()
    R = Ln @ np.swapaxes(Ln, -1, -2)
    i, j = np.tril_indices(dim, -1)
    r = R[:, i, j]
    var = 1.0 / (2 * eta + dim - 1)
    _within(r, 0.0, var, "LKJ mean")
    np.testing.assert_allclose(r.var(0), var, rtol=0.1)
    d.log_prob(L[:10])


def test_logistic_normal_sample_moments():
    """Through the inverse stick breaking, the draws are the base Normal's: mean and variance per coordinate."""
    eg.manual_seed(5)
    loc, scale = np.array([0.3, -1.0, 2.0]), np.array([0.5, 1.5, 1.0])
    d = ed.LogisticNormal(eg.tensor(loc), eg.tensor(scale))
    y = d.sample((30000,))
    assert bool(np.all(ed.constraints.simplex.check(y)))
    x = ed.transforms.StickBreakingTransform().inv(y).numpy()
    _within(x, loc, scale ** 2, "LogisticNormal")
    np.testing.assert_allclose(x.var(0), scale ** 2, rtol=0.05)


def test_rsample_gradients():
    """OneHotCategoricalStraightThrough: the draw's value, the gradient of the probs; FisherSnedecor and Wishart:
    reparameterised (the average gradient of the draws is the gradient of the mean, within 5 standard errors)."""
    eg.manual_seed(6)
    logits = eg.tensor([0.1, 1.0, -2.0], dtype=eg.float64, requires_grad=True)
    d = ed.OneHotCategoricalStraightThrough(logits=logits)
    x = d.rsample((4,))
    assert set(np.unique(x.detach().numpy())) <= {0.0, 1.0}
    w = np.arange(1.0, 13.0).reshape(4, 3)
    (x * eg.tensor(w)).sum().backward()
    tl = torch.tensor([0.1, 1.0, -2.0], dtype=torch.float64, requires_grad=True)
    (torch.softmax(tl, -1) * torch.tensor(w.sum(0))).sum().backward()
    _close(logits.grad, tl.grad, "straight-through gradient")

    n, df0 = 20000, 7.0
    df = eg.tensor(np.full(n, df0), requires_grad=True)
    w = ed.Wishart(df, scale_tril=eg.tensor(L_TRIL)).rsample()
    w.sum().backward()
    per_draw = df.grad.numpy()
    _within(per_draw[:, None], np.array([COV.sum()]), np.array([per_draw.var()]), "d Wishart / d df")

    df2 = eg.tensor(np.full(n, 12.0), requires_grad=True)
    f = ed.FisherSnedecor(eg.tensor(5.0), df2).rsample()
    f.sum().backward()
    g = df2.grad.numpy()
    _within(g[:, None], np.array([-2.0 / (12.0 - 2.0) ** 2]), np.array([g.var()]), "d F / d df2")


def test_wishart_singular_draws_are_redrawn():
    """For p - 1 < df < p, a draw may be singular: redrawn (with a warning) up to max_try_correction times."""
    eg.manual_seed(9)
    with pytest.warns(UserWarning, match="Low df"):
        d = ed.Wishart(eg.tensor(2.0000001, dtype=eg.float64), covariance_matrix=eg.tensor(np.eye(3)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = d.rsample((50,))
    assert tuple(x.shape) == (50, 3, 3)
    eg.manual_seed(9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a regular df: no warning (PyTorch warns on every draw)
        ed.Wishart(eg.tensor(6.0, dtype=eg.float64), covariance_matrix=eg.tensor(np.eye(3))).rsample((50,))


# --- KL --------------------------------------------------------------------------------------------------------------

KL_PAIRS = {
    "InverseGamma": (lambda D: D.InverseGamma, [dict(concentration=[0.5, 3.0], rate=[1.0, 2.0]),
                                                dict(concentration=[2.0, 1.2], rate=[0.4, 3.0])], TRIGAMMA_TOL),
    "LogisticNormal": (lambda D: D.LogisticNormal, [dict(loc=[[0.2, -1.0, 0.3]], scale=[[1.0, 0.4, 2.0]]),
                                                    dict(loc=[[1.0, 0.5, 0.0]], scale=[[2.0, 0.9, 1.0]])], 1e-10),
    "OneHotCategoricalStraightThrough": (lambda D: D.OneHotCategoricalStraightThrough,
                                         [dict(logits=[[0.1, 1.0, -2.0]]), dict(logits=[[1.0, 0.0, 0.3]])], 1e-10),
    "Wishart": (lambda D: (lambda df, scale_tril: D.Wishart(df, scale_tril=scale_tril)),
                [dict(df=5.0, scale_tril=L_TRIL), dict(df=3.5, scale_tril=np.linalg.cholesky(_spd((), 3)))],
                1e-7),  # (the Bregman form's cancellation: see BREGMAN_TOL)
}


@pytest.mark.parametrize("name", sorted(KL_PAIRS))
def test_kl_divergence_matches_torch(name):
    make, (pp, qp), tol = KL_PAIRS[name]
    ep = {k: eg.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in pp.items()}
    eq = {k: eg.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in qp.items()}
    tp = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in pp.items()}
    tq = {k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in qp.items()}
    out = ed.kl_divergence(make(ed)(**ep), make(ed)(**eq))
    tout = td.kl_divergence(make(td)(**tp), make(td)(**tq))
    _close(out, tout, f"KL {name}", tol)
    out.sum().backward()
    tout.sum().backward()
    for k in eq:  # (the exponential-family KL has no gradient to p's parameters, in both)
        _close(eq[k].grad, tq[k].grad, f"KL {name} d/dq.{k}", tol)
        if tp[k].grad is not None:
            _close(ep[k].grad, tp[k].grad, f"KL {name} d/dp.{k}", tol)


# The Bregman form of the Wishart KL and entropy is a difference of terms several times larger than the result:
# their ~1e-15 rounding (and torch's digamma's) is ~1e-8 of the result
BREGMAN_TOL = 1e-7


def test_wishart_kl_batched_is_per_element():
    """Batched, each element's KL is the unbatched one (PyTorch sums the df term over the batch: compared per
    element), and KL(p || p) = 0; different families refuse."""
    dfs, L2 = np.array([4.0, 6.5]), np.linalg.cholesky(_spd((2,), 3))
    p = ed.Wishart(eg.tensor(dfs), scale_tril=eg.tensor(L_TRIL))
    q = ed.Wishart(eg.tensor([3.5, 9.0]), scale_tril=eg.tensor(L2))
    out = ed.kl_divergence(p, q).detach().numpy()
    for i in range(2):
        want = td.kl_divergence(td.Wishart(torch.tensor(dfs[i]), scale_tril=torch.tensor(L_TRIL)),
                                td.Wishart(torch.tensor([3.5, 9.0][i]), scale_tril=torch.tensor(L2[i])))
        _close(out[i], want, "batched Wishart KL", BREGMAN_TOL)
    np.testing.assert_allclose(ed.kl_divergence(p, p).detach().numpy(), 0.0, atol=1e-10)

    class Other(ed.ExponentialFamily):
        pass
    with pytest.raises(NotImplementedError, match="different exponential families"):
        ed.kl_divergence(p, object.__new__(Other))


def test_exponential_family_entropy_matches_closed_form():
    """ExponentialFamily.entropy (the Bregman form) of Wishart equals its closed form and PyTorch's."""
    d = ed.Wishart(eg.tensor([4.5, 3.0]), scale_tril=eg.tensor(L_TRIL))
    t = td.Wishart(torch.tensor([4.5, 3.0]), scale_tril=torch.tensor(L_TRIL))
    generic = ed.ExponentialFamily.entropy(d)
    _close(generic, td.ExponentialFamily.entropy(t), "ExponentialFamily.entropy", BREGMAN_TOL)
    _close(generic, d.entropy(), "Bregman vs closed form", BREGMAN_TOL)


# --- transforms ----------------------------------------------------------------------------------------------------

def _t_pair(make):
    return (make(ed.transforms, lambda a: eg.tensor(np.asarray(a, dtype=np.float64))),
            make(td.transforms, lambda a: torch.tensor(np.asarray(a, dtype=np.float64))))


def _corr_vec(shape):
    return RNG.standard_normal(shape)


TRANSFORMS = {
    # name -> (make(T, tensor), x)
    "Softmax": (lambda T, t: T.SoftmaxTransform(), RNG.standard_normal((2, 5))),
    "StickBreaking": (lambda T, t: T.StickBreakingTransform(), RNG.standard_normal((3, 4))),
    "StickBreaking1": (lambda T, t: T.StickBreakingTransform(), RNG.standard_normal((1,))),
    "LowerCholesky": (lambda T, t: T.LowerCholeskyTransform(), RNG.standard_normal((2, 3, 3))),
    "PositiveDefinite": (lambda T, t: T.PositiveDefiniteTransform(), RNG.standard_normal((3, 3))),
    "CorrCholesky": (lambda T, t: T.CorrCholeskyTransform(), _corr_vec((2, 6))),
    "CorrCholesky10": (lambda T, t: T.CorrCholeskyTransform(), _corr_vec((10,))),
    "Reshape": (lambda T, t: T.ReshapeTransform((2, 3), (3, 2)), RNG.standard_normal((5, 2, 3))),
    "Independent": (lambda T, t: T.IndependentTransform(T.ExpTransform(), 1), RNG.standard_normal((2, 3))),
    "IndependentAffine": (lambda T, t: T.IndependentTransform(T.AffineTransform(t([1.0, 2.0]), t([0.5, -3.0])), 2),
                          RNG.standard_normal((3, 2))),
    "Cat": (lambda T, t: T.CatTransform([T.ExpTransform(), T.AffineTransform(1.0, -2.0), T.SigmoidTransform()],
                                        dim=1, lengths=[2, 1, 3]), RNG.standard_normal((2, 6))),
    "CatEvent": (lambda T, t: T.CatTransform([T.IndependentTransform(T.ExpTransform(), 1),
                                              T.IndependentTransform(T.AffineTransform(0.5, -2.0), 1)], dim=0,
                                             lengths=[2, 3]), RNG.standard_normal((5, 4))),
    "CatLastDimEvent": (lambda T, t: T.CatTransform([T.ExpTransform(), T.IndependentTransform(T.SigmoidTransform(), 1)],
                                                    dim=-1, lengths=[2, 3]), RNG.standard_normal((2, 5))),
    "Stack": (lambda T, t: T.StackTransform([T.ExpTransform(), T.TanhTransform(), T.SoftplusTransform()], dim=-1),
              RNG.standard_normal((4, 3))),
    "ComposeEvent": (lambda T, t: T.ComposeTransform([T.AffineTransform(0.5, 2.0), T.StickBreakingTransform()]),
                     RNG.standard_normal((2, 3))),
    "ComposeCorr": (lambda T, t: T.ComposeTransform([T.ReshapeTransform((2, 3), (6,)), T.CorrCholeskyTransform()]),
                    RNG.standard_normal((2, 3))),
    "CDF": (lambda T, t: T.CumulativeDistributionTransform(
        (ed if T is ed.transforms else td).Normal(t([0.5, -1.0]), t([2.0, 0.7]))), RNG.standard_normal((3, 2))),
    "Identity": (lambda T, t: T.identity_transform, RNG.standard_normal((2, 3))),
}
NO_LOGDET = {"Softmax", "LowerCholesky", "PositiveDefinite"}  # PyTorch defines none


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_matches_torch(name):
    make, x0 = TRANSFORMS[name]
    e, t = _t_pair(make)
    x, tx = eg.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    y, ty = e(x), t(tx)
    _close(y, ty, f"{name} forward", 1e-8 if name == "CDF" else 1e-10)  # (1 + erf(z): cancellation in the tail)
    assert repr(e.domain) == repr(t.domain) and repr(e.codomain) == repr(t.codomain)
    assert e.domain.event_dim == t.domain.event_dim and e.codomain.event_dim == t.codomain.event_dim
    assert e.bijective == t.bijective
    assert tuple(e.forward_shape(tuple(x.shape))) == tuple(t.forward_shape(tx.shape)) == tuple(y.shape)
    assert tuple(e.inverse_shape(tuple(y.shape))) == tuple(t.inverse_shape(ty.shape)) == tuple(x.shape)
    try:
        t_event = t.event_dim
    except ValueError:
        with pytest.raises(ValueError, match="Please use either .domain.event_dim or .codomain.event_dim"):
            e.event_dim
    else:
        assert e.event_dim == t_event
    try:
        t_sign = t.sign
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            e.sign
    else:
        np.testing.assert_array_equal(np.asarray(_np(e.sign)), np.asarray(_np(t_sign)))
    # the inverse of a fresh y (no cache): the round trip
    yy, tyy = eg.tensor(ty.detach().numpy(), requires_grad=True), torch.tensor(ty.detach().numpy(), requires_grad=True)
    xi, txi = e.inv(yy), t.inv(tyy)
    _close(xi, txi, f"{name} inverse", 1e-8 if name == "CDF" else 1e-10)
    if t.bijective:
        np.testing.assert_allclose(xi.detach().numpy(), x0, rtol=1e-8, atol=1e-8)
    w = np.random.default_rng(2).uniform(0.5, 1.5, tuple(ty.shape))
    (ty * torch.tensor(w)).sum().backward()
    (y * eg.tensor(w)).sum().backward()
    _close(x.grad, tx.grad, f"{name} d forward / dx", 1e-8 if name == "CDF" else 1e-10)
    w = np.random.default_rng(3).uniform(0.5, 1.5, tuple(txi.shape))
    (txi * torch.tensor(w)).sum().backward()
    (xi * eg.tensor(w)).sum().backward()
    _close(yy.grad, tyy.grad, f"{name} d inverse / dy")
    if name in NO_LOGDET:
        for tr in (t, e):
            with pytest.raises(NotImplementedError):
                tr.log_abs_det_jacobian(tx, ty) if tr is t else tr.log_abs_det_jacobian(x, y)
        return
    x2, tx2 = eg.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    ld, tld = e.log_abs_det_jacobian(x2, e(x2)), t.log_abs_det_jacobian(tx2, t(tx2))
    _close(ld, tld, f"{name} log_abs_det_jacobian")
    if tld.requires_grad:
        tld.sum().backward()
        ld.sum().backward()
        _close(x2.grad, tx2.grad, f"{name} d logdet / dx")
    ild, tild = e.inv.log_abs_det_jacobian(yy.detach(), xi.detach()), t.inv.log_abs_det_jacobian(tyy.detach(),
                                                                                                  txi.detach())
    _close(ild, tild, f"{name} inverse log_abs_det_jacobian")


def test_logdet_is_the_jacobian():
    """StickBreaking's and CorrCholesky's log-dets against log |det| of a finite-difference Jacobian (over the
    free coordinates of their outputs), independent of PyTorch."""
    def jac(f, x, eps=1e-6):
        cols = []
        for i in range(x.size):
            dx = np.zeros_like(x)
            dx[i] = eps
            cols.append((f(x + dx) - f(x - dx)) / (2 * eps))
        return np.stack(cols, -1)

    sb = ed.transforms.StickBreakingTransform()
    x = np.array([0.3, -1.2, 0.8])
    J = jac(lambda v: sb(eg.tensor(v)).numpy()[:-1], x)
    np.testing.assert_allclose(float(sb.log_abs_det_jacobian(eg.tensor(x), sb(eg.tensor(x)))),
                               np.log(abs(np.linalg.det(J))), rtol=1e-7)
    cc = ed.transforms.CorrCholeskyTransform()
    x = np.array([0.3, -1.2, 0.8])
    i, j = np.tril_indices(3, -1)
    J = jac(lambda v: cc(eg.tensor(v)).numpy()[i, j], x)
    np.testing.assert_allclose(float(cc.log_abs_det_jacobian(eg.tensor(x), cc(eg.tensor(x)))),
                               np.log(abs(np.linalg.det(J))), rtol=1e-7)


def test_transform_equality_and_inverse_identity_as_torch():
    for T, t in ((ed.transforms, eg.tensor), (td.transforms, torch.tensor)):
        for cls in (T.SoftmaxTransform, T.StickBreakingTransform, T.LowerCholeskyTransform,
                    T.PositiveDefiniteTransform):
            assert cls() == cls() and cls() != T.ExpTransform()
        corr = T.CorrCholeskyTransform()
        assert corr == corr and corr != T.CorrCholeskyTransform()  # (no __eq__ in PyTorch: identity)
        r = T.ReshapeTransform((2,), (2, 1))
        assert r == r and r != T.ReshapeTransform((2,), (2, 1))
        ind = T.IndependentTransform(T.ExpTransform(), 1)
        assert ind != T.IndependentTransform(T.ExpTransform(), 1)
        assert T.identity_transform == T.ComposeTransform([])
        sb = T.StickBreakingTransform()
        assert sb.inv.inv is sb and sb.inv is sb.inv and sb.inv == T.StickBreakingTransform().inv
        c = T.ComposeTransform([T.ExpTransform(), sb])
        assert c.inv.inv is c
        assert type(T.identity_transform).__name__ == "ComposeTransform" and T.identity_transform.parts == []
        x = t(np.array([0.5, -1.0]))
        assert T.identity_transform(x) is x and T.identity_transform.inv(x) is x
        assert float(T.identity_transform.log_abs_det_jacobian(x, x).abs().sum()) == 0.0


def test_transform_caching_and_shape_errors_as_torch():
    for T, t in ((ed.transforms, eg.tensor), (td.transforms, torch.tensor)):
        sb = T.StickBreakingTransform(cache_size=1)
        x = t(np.array([0.3, 40.0]))  # y rounds: its inverse would not give back 40
        y = sb(x)
        assert sb.inv(y) is x
        for tr in (T.StickBreakingTransform(), T.IndependentTransform(T.ExpTransform(), 1),
                   T.CatTransform([T.ExpTransform()]), T.StackTransform([T.ExpTransform()]),
                   T.ReshapeTransform((2,), (2,)), T.CorrCholeskyTransform()):
            cached = tr.with_cache(1)
            assert cached._cache_size == 1 and type(cached) is type(tr) and tr.with_cache(0) is tr
        with pytest.raises(ValueError, match="Input is not a flattened lower-diagonal number"):
            T.CorrCholeskyTransform().forward_shape((4,))
        with pytest.raises(ValueError, match="Input is not square"):
            T.CorrCholeskyTransform().inverse_shape((3, 4))
        with pytest.raises(ValueError, match="Too few dimensions on input"):
            T.StickBreakingTransform().forward_shape(())
        with pytest.raises(ValueError, match="Shape mismatch"):
            T.ReshapeTransform((2, 3), (6,)).forward_shape((3, 2))
        with pytest.raises(AssertionError):
            T.CatTransform([T.ExpTransform()], dim=0, lengths=[2])(t(np.ones(3)))


def test_transformed_distribution_through_corr_cholesky():
    """A transform whose domain and codomain event dims differ (real_vector -> corr_cholesky matrices): the
    TransformedDistribution's shapes and log_prob equal PyTorch's."""
    loc, x = RNG.standard_normal((2, 3)), RNG.standard_normal((4, 2, 3))
    e = ed.TransformedDistribution(ed.Normal(eg.tensor(loc), 1.0), ed.transforms.CorrCholeskyTransform())
    t = td.TransformedDistribution(td.Normal(torch.tensor(loc), 1.0), td.transforms.CorrCholeskyTransform())
    assert tuple(e.batch_shape) == tuple(t.batch_shape) == (2,)
    assert tuple(e.event_shape) == tuple(t.event_shape) == (3, 3)
    assert repr(e.support) == repr(t.support)
    y = td.transforms.CorrCholeskyTransform()(torch.tensor(x))
    _close(e.log_prob(eg.tensor(y.numpy())), t.log_prob(y), "CorrCholesky TransformedDistribution")


# --- constraint registries -----------------------------------------------------------------------------------------

def _describe(tr):
    """A transform's structure: its type and, for the composite and parameterised ones, its parts and values."""
    name = type(tr).__name__
    if name == "ComposeTransform":
        return (name, [_describe(p) for p in tr.parts])
    if name == "IndependentTransform":
        return (name, _describe(tr.base_transform), tr.reinterpreted_batch_ndims)
    if name in ("CatTransform", "StackTransform"):
        return (name, [_describe(p) for p in tr.transforms], tr.dim, getattr(tr, "lengths", None))
    if name == "AffineTransform":
        return (name, np.asarray(_np(tr.loc)).tolist(), np.asarray(_np(tr.scale)).tolist(), tr.event_dim)
    return (name,)


CONSTRAINTS = {
    # name -> (constraint(C, tensor), an unconstrained x)
    "real": (lambda C, t: C.real, RNG.standard_normal(3)),
    "real_vector": (lambda C, t: C.real_vector, RNG.standard_normal((2, 3))),
    "positive": (lambda C, t: C.positive, RNG.standard_normal(3)),
    "nonnegative": (lambda C, t: C.nonnegative, RNG.standard_normal(3)),
    "greater_than": (lambda C, t: C.greater_than(2.5), RNG.standard_normal(3)),
    "greater_than_tensor": (lambda C, t: C.greater_than(t(np.array([1.0, -2.0, 0.5]))), RNG.standard_normal(3)),
    "greater_than_eq": (lambda C, t: C.greater_than_eq(-1.0), RNG.standard_normal(3)),
    "less_than": (lambda C, t: C.less_than(3.0), RNG.standard_normal(3)),
    "unit_interval": (lambda C, t: C.unit_interval, RNG.standard_normal(3)),
    "interval": (lambda C, t: C.interval(-1.0, 3.0), RNG.standard_normal(3)),
    "half_open_interval": (lambda C, t: C.half_open_interval(0.0, 1.0), RNG.standard_normal(3)),
    "half_open_interval2": (lambda C, t: C.half_open_interval(-2.0, 5.0), RNG.standard_normal(3)),
    "simplex": (lambda C, t: C.simplex, RNG.standard_normal((2, 4))),
    "lower_cholesky": (lambda C, t: C.lower_cholesky, RNG.standard_normal((3, 3))),
    "positive_definite": (lambda C, t: C.positive_definite, RNG.standard_normal((2, 3, 3))),
    "positive_semidefinite": (lambda C, t: C.positive_semidefinite, RNG.standard_normal((3, 3))),
    "corr_cholesky": (lambda C, t: C.corr_cholesky, RNG.standard_normal((2, 6))),
    "independent": (lambda C, t: C.independent(C.positive, 2), RNG.standard_normal((2, 3))),
    "independent_interval": (lambda C, t: C.independent(C.interval(0.0, 2.0), 1), RNG.standard_normal((2, 3))),
    "cat": (lambda C, t: C.cat([C.positive, C.real, C.unit_interval], 0, [2, 1, 1]), RNG.standard_normal((4, 2))),
    "stack": (lambda C, t: C.stack([C.positive, C.interval(-1.0, 1.0)], -1), RNG.standard_normal((3, 2))),
}
DISCRETE = {"nonnegative_integer": lambda C: C.nonnegative_integer, "boolean": lambda C: C.boolean,
            "one_hot": lambda C: C.one_hot, "integer_interval": lambda C: C.integer_interval(0, 3),
            "multinomial": lambda C: C.multinomial(3),
            "mixture_same_family": lambda C: C.MixtureSameFamilyConstraint(C.positive)}


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
def test_registry_matches_torch(registry, name):
    make, x0 = CONSTRAINTS[name]
    ec, tc = make(ed.constraints, eg.tensor), make(td.constraints, lambda a: torch.tensor(a))
    _same_repr(ec, tc)
    t_reg, e_reg = getattr(td, registry), getattr(ed, registry)
    try:
        t = t_reg(tc)
    except NotImplementedError as err:
        with pytest.raises(NotImplementedError) as e_err:
            e_reg(ec)
        assert str(e_err.value) == str(err)
        return
    e = e_reg(ec)
    assert _describe(e) == _describe(t)
    x, tx = eg.tensor(x0), torch.tensor(x0)
    y, ty = e(x), t(tx)
    _close(y, ty, f"{registry}({name})")
    assert bool(np.all(ec.check(y))) and bool(torch.all(tc.check(ty)))
    np.testing.assert_array_equal(np.asarray(ec.check(y)), tc.check(ty).numpy())
    _close(e.inv(eg.tensor(ty.numpy())), t.inv(ty), f"{registry}({name}) inverse")
    try:
        tld = t.log_abs_det_jacobian(tx, ty)
    except NotImplementedError:
        return
    _close(e.log_abs_det_jacobian(x, y), tld, f"{registry}({name}) log-det")


@pytest.mark.parametrize("name", sorted(DISCRETE))
def test_registry_refuses_unregistered_constraints_as_torch(name):
    for reg in ("biject_to", "transform_to"):
        with pytest.raises(NotImplementedError) as t_err:
            getattr(td, reg)(DISCRETE[name](td.constraints))
        with pytest.raises(NotImplementedError) as e_err:
            getattr(ed, reg)(DISCRETE[name](ed.constraints))
        assert str(e_err.value) == str(t_err.value)


def test_registry_register():
    class MyConstraint(ed.constraints.Constraint):
        pass

    reg = ed.constraint_registry.ConstraintRegistry()
    reg.register(MyConstraint, lambda c: ed.transforms.ExpTransform())
    assert isinstance(reg(MyConstraint()), ed.transforms.ExpTransform)
    with pytest.raises(TypeError, match="Expected constraint to be either a Constraint subclass or instance"):
        reg.register(3, lambda c: None)
    with pytest.raises(NotImplementedError, match="Cannot transform _Real constraints"):
        reg(ed.constraints.real)
    # an optimiser's use: unconstrained parameters mapped onto a parameter's constraint
    raw = eg.zeros(2, requires_grad=True)
    scale = ed.transform_to(ed.Normal.arg_constraints["scale"])(raw)
    np.testing.assert_allclose(scale.detach().numpy(), [1.0, 1.0])
    ed.Normal(eg.tensor([0.0, 0.0]), scale).log_prob(eg.tensor([2.0, -0.5])).sum().backward()
    np.testing.assert_allclose(raw.grad.numpy(), [3.0, -0.75], rtol=1e-6)  # d/dlog s (-log s - x^2 / 2s^2) = x^2 - 1


@pytest.mark.parametrize("name", ["StickBreaking", "CorrCholesky", "Cat", "Softmax"])
def test_transform_float32_matches_torch(name):
    make, x0 = TRANSFORMS[name]
    e = make(ed.transforms, lambda a: eg.tensor(np.asarray(a, dtype=np.float32)))
    t = make(td.transforms, lambda a: torch.tensor(np.asarray(a, dtype=np.float32)))
    x, tx = eg.tensor(x0.astype(np.float32)), torch.tensor(x0.astype(np.float32))
    y, ty = e(x), t(tx)
    assert y.dtype == eg.float32
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(e.inv(y).numpy(), t.inv(ty).numpy(), rtol=1e-4, atol=1e-5)
    if name != "Softmax":
        np.testing.assert_allclose(e.log_abs_det_jacobian(x, y).numpy(), t.log_abs_det_jacobian(tx, ty).numpy(),
                                   rtol=1e-5, atol=1e-5)


EXP_FAMILIES = {
    "Normal": lambda D, T: D.Normal(T([0.3, -1.0]), T([0.5, 2.0])),
    "Exponential": lambda D, T: D.Exponential(T([0.5, 3.0])),
    "Gamma": lambda D, T: D.Gamma(T([0.7, 4.0]), T([1.5, 0.3])),
    "Chi2": lambda D, T: D.Chi2(T([0.7, 4.0])),
    "Bernoulli": lambda D, T: D.Bernoulli(probs=T([0.2, 0.9])),
    "ContinuousBernoulli": lambda D, T: D.ContinuousBernoulli(probs=T([0.2, 0.9, 0.4995, 0.5004])),
    "Poisson": lambda D, T: D.Poisson(T([0.5, 6.0])),
    "Beta": lambda D, T: D.Beta(T([0.7, 2.0]), T([1.3, 5.0])),
    "Dirichlet": lambda D, T: D.Dirichlet(T([[0.7, 2.0, 1.1], [3.0, 0.4, 1.0]])),
    "Wishart": lambda D, T: D.Wishart(T([4.5, 3.0]), scale_tril=T(L_TRIL)),
}


@pytest.mark.parametrize("name", sorted(EXP_FAMILIES))
def test_exponential_families_as_torch(name):
    """The families PyTorch makes ExponentialFamily subclasses are ones here too: the same natural parameters and
    log normalizer, the same generic (Bregman) entropy where PyTorch has one (a carrier measure), and the Bregman
    KL between two members equal to the closed-form one."""
    make = EXP_FAMILIES[name]
    e = make(ed, lambda v: eg.tensor(np.asarray(v, dtype=np.float64)))
    t = make(td, lambda v: torch.tensor(np.asarray(v, dtype=np.float64)))
    assert isinstance(e, ed.ExponentialFamily) and isinstance(t, td.ExponentialFamily)
    for a, b in zip(e._natural_params, t._natural_params):
        _close(a, b, f"{name} natural parameters")
    _close(e._log_normalizer(*e._natural_params), t._log_normalizer(*t._natural_params), f"{name} log normalizer")
    try:
        want = td.ExponentialFamily.entropy(t)
    except NotImplementedError:
        with pytest.raises(NotImplementedError):
            ed.ExponentialFamily.entropy(e)
    else:
        _close(ed.ExponentialFamily.entropy(e), want, f"{name} Bregman entropy", BREGMAN_TOL)
        _close(ed.ExponentialFamily.entropy(e), e.entropy(), f"{name} Bregman vs closed-form entropy", BREGMAN_TOL)
    from eigengrad.distributions.kl import _kl_expfamily_expfamily

    factor = 0.8 if name == "Bernoulli" else 1.3  # (probs stay in [0, 1])
    q = make(ed, lambda v: eg.tensor(np.asarray(v, dtype=np.float64) * factor))
    if name == "Wishart":  # batched, PyTorch's sums the df term over the batch: per element in its own test
        return
    tq = make(td, lambda v: torch.tensor(np.asarray(v, dtype=np.float64) * factor))
    want = td.kl_divergence(t, tq)  # (PyTorch's closed form where it has one)
    _close(_kl_expfamily_expfamily(e, q), want, f"{name} Bregman KL", BREGMAN_TOL)
    _close(ed.kl_divergence(e, q), want, f"{name} KL", BREGMAN_TOL)


def test_cross_family_kl_refused_as_torch():
    for D, T in ((td, torch.tensor), (ed, eg.tensor)):
        with pytest.raises(NotImplementedError, match="The cross KL-divergence between different exponential"):
            D.kl_divergence(D.Poisson(T([1.0])), D.Exponential(T([1.0])))
