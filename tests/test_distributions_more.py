"""The distributions beyond Normal/Bernoulli/Categorical, side by side with torch.distributions in float64:
log_prob, entropy, cdf/icdf, mean/variance and kl_divergence values and their gradients (to 1e-10), shapes,
expand, validation errors; sample moments with a fixed seed and a tolerance of 5 standard errors."""
import numpy as np
import pytest

import eigengrad as eg
import eigengrad.distributions as ed

torch = pytest.importorskip("torch", reason="the distributions are compared with torch.distributions")
td = torch.distributions

RNG = np.random.default_rng(11)
L_TRIL = np.array([[1.5, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.4, 0.2, 1.1]])
COV = L_TRIL @ L_TRIL.T


def _dirichlet_value(shape):
    g = RNG.gamma(2.0, size=shape)
    return g / g.sum(-1, keepdims=True)


def _one_hot(shape, k):
    return np.eye(k)[RNG.integers(0, k, shape)]


def _affine_sigmoid(lib):
    D = lib.distributions
    return lambda loc, scale: D.TransformedDistribution(D.Normal(loc, scale), [D.AffineTransform(0.5, 2.0),
                                                                               D.SigmoidTransform()])


def _tanh(lib):
    D = lib.distributions
    return lambda loc, scale: D.TransformedDistribution(D.Normal(loc, scale), D.TanhTransform())


def _independent(lib):
    D = lib.distributions
    return lambda loc, scale: D.Independent(D.Normal(loc, scale), 1)


# name -> (constructor(lib) -> callable(**params), params, value, whether value is continuous (gets a gradient))
SPECS = {
    "Uniform": (lambda lib: lib.distributions.Uniform, dict(low=np.array([-1.0, 0.0, 2.5]), high=np.array([0.5, 3.0, 4.0])),
                np.array([[-0.3, 1.0, 3.9], [0.4, 2.9, 2.6]]), True),
    "Exponential": (lambda lib: lib.distributions.Exponential, dict(rate=np.array([0.5, 1.0, 3.0])),
                    np.array([[0.1, 2.0, 0.7]]), True),
    "Laplace": (lambda lib: lib.distributions.Laplace, dict(loc=np.array([-1.0, 0.3]), scale=np.array([0.5, 2.0])),
                np.array([[0.2], [-3.0], [1.1]]), True),
    "LogNormal": (lambda lib: lib.distributions.LogNormal, dict(loc=np.array([-0.5, 0.7]), scale=np.array([0.4, 1.3])),
                  np.array([0.3, 2.5]), True),
    "Gamma": (lambda lib: lib.distributions.Gamma, dict(concentration=np.array([0.5, 2.0, 7.5]),
                                                        rate=np.array([1.5, 0.3, 2.0])), np.array([0.2, 4.0, 3.1]), True),
    "Beta": (lambda lib: lib.distributions.Beta, dict(concentration1=np.array([0.7, 2.0, 5.0]),
                                                      concentration0=np.array([1.3, 0.6, 4.0])),
             np.array([0.15, 0.8, 0.5]), True),
    "Dirichlet": (lambda lib: lib.distributions.Dirichlet, dict(concentration=RNG.uniform(0.5, 3.0, (2, 4))),
                  _dirichlet_value((3, 2, 4)), True),
    "Poisson": (lambda lib: lib.distributions.Poisson, dict(rate=np.array([0.5, 3.0, 12.0])),
                np.array([[0.0, 2.0, 15.0], [1.0, 4.0, 9.0]]), False),
    "Binomial": (lambda lib: lib.distributions.Binomial, dict(total_count=np.array([5.0, 10.0, 3.0]),
                                                              probs=np.array([0.3, 0.8, 0.5])),
                 np.array([0.0, 9.0, 3.0]), False),
    "BinomialLogits": (lambda lib: (lambda total_count, logits: lib.distributions.Binomial(total_count, logits=logits)),
                       dict(total_count=np.array([5.0, 10.0]), logits=np.array([-1.2, 2.0])), np.array([2.0, 10.0]),
                       False),
    "OneHotCategorical": (lambda lib: lib.distributions.OneHotCategorical, dict(logits=RNG.standard_normal((2, 4))),
                          _one_hot((3, 2), 4), False),
    "MVNScaleTril": (lambda lib: (lambda loc, scale_tril: lib.distributions.MultivariateNormal(loc, scale_tril=scale_tril)),
                     dict(loc=RNG.standard_normal((2, 3)), scale_tril=L_TRIL), RNG.standard_normal((4, 2, 3)), True),
    "MVNCovariance": (lambda lib: (lambda loc, covariance_matrix: lib.distributions.MultivariateNormal(
        loc, covariance_matrix=covariance_matrix)), dict(loc=RNG.standard_normal(3), covariance_matrix=COV),
        RNG.standard_normal((2, 3)), True),
    "MVNPrecision": (lambda lib: (lambda loc, precision_matrix: lib.distributions.MultivariateNormal(
        loc, precision_matrix=precision_matrix)), dict(loc=RNG.standard_normal(3),
                                                        precision_matrix=np.linalg.inv(COV)), RNG.standard_normal(3), True),
    "Cauchy": (lambda lib: lib.distributions.Cauchy, dict(loc=np.array([0.3, -1.0, 2.0]), scale=np.array([0.5, 1.0, 3.0])),
               np.array([[0.1, 4.0, -2.0], [1.0, -1.0, 2.5]]), True),
    "HalfCauchy": (lambda lib: lib.distributions.HalfCauchy, dict(scale=np.array([0.5, 1.0, 3.0])),
                   np.array([[0.1, 4.0, 0.0], [1.0, 0.3, 2.5]]), True),
    "HalfNormal": (lambda lib: lib.distributions.HalfNormal, dict(scale=np.array([0.5, 1.0, 3.0])),
                   np.array([[0.1, 4.0, 0.0], [1.0, 0.3, 2.5]]), True),
    "Gumbel": (lambda lib: lib.distributions.Gumbel, dict(loc=np.array([0.3, -1.0, 2.0]), scale=np.array([0.5, 1.0, 3.0])),
               np.array([[0.1, 4.0, -2.0], [1.0, -1.0, 2.5]]), True),
    "Weibull": (lambda lib: lib.distributions.Weibull, dict(scale=np.array([0.5, 1.0, 3.0]),
                                                            concentration=np.array([0.7, 1.0, 2.5])),
                np.array([[0.1, 4.0, 0.2], [1.0, 0.3, 2.5]]), True),
    "Pareto": (lambda lib: lib.distributions.Pareto, dict(scale=np.array([0.5, 1.0, 0.2]), alpha=np.array([0.7, 1.5, 3.0])),
               np.array([[0.6, 4.0, 0.2], [1.0, 1.3, 2.5]]), True),
    "Chi2": (lambda lib: lib.distributions.Chi2, dict(df=np.array([0.7, 1.0, 5.0])),
             np.array([[0.6, 4.0, 0.2], [1.0, 1.3, 2.5]]), True),
    "Geometric": (lambda lib: lib.distributions.Geometric, dict(probs=np.array([0.2, 0.5, 0.9])),
                  np.array([[0.0, 3.0, 1.0], [5.0, 0.0, 2.0]]), False),
    "GeometricLogits": (lambda lib: (lambda logits: lib.distributions.Geometric(logits=logits)),
                        dict(logits=np.array([-1.0, 0.3, 2.0])), np.array([[0.0, 3.0, 1.0]]), False),
    "NegativeBinomial": (lambda lib: lib.distributions.NegativeBinomial,
                         dict(total_count=np.array([1.0, 2.5, 7.0]), probs=np.array([0.2, 0.5, 0.7])),
                         np.array([[0.0, 3.0, 10.0], [5.0, 0.0, 2.0]]), False),
    "NegativeBinomialLogits": (lambda lib: (lambda total_count, logits: lib.distributions.NegativeBinomial(
        total_count, logits=logits)), dict(total_count=np.array([3.0, 0.5]), logits=np.array([-0.5, 1.2])),
        np.array([[2.0, 7.0]]), False),
    "LowRankMVN": (lambda lib: lib.distributions.LowRankMultivariateNormal,
                   dict(loc=RNG.standard_normal((2, 4)), cov_factor=RNG.standard_normal((4, 2)),
                        cov_diag=RNG.uniform(0.3, 2.0, 4)), RNG.standard_normal((3, 2, 4)), True),
    "LowRankMVNBatched": (lambda lib: lib.distributions.LowRankMultivariateNormal,
                          dict(loc=RNG.standard_normal(5), cov_factor=RNG.standard_normal((3, 5, 1)),
                               cov_diag=RNG.uniform(0.3, 2.0, (3, 5))), RNG.standard_normal((3, 5)), True),
    "Independent": (_independent, dict(loc=RNG.standard_normal((2, 3)), scale=RNG.uniform(0.5, 2, (2, 3))),
                    RNG.standard_normal((2, 3)), True),
    "AffineSigmoid": (_affine_sigmoid, dict(loc=np.array([0.1, -0.4]), scale=np.array([0.8, 1.3])),
                      np.array([0.3, 0.9]), True),
    "Tanh": (_tanh, dict(loc=np.array([0.1, -0.4]), scale=np.array([0.8, 1.3])), np.array([0.3, -0.9]), True),
}
NO_ENTROPY = {"Poisson", "Binomial", "BinomialLogits", "AffineSigmoid", "Tanh", "NegativeBinomial",
              "NegativeBinomialLogits"}
HAS_CDF = {"Uniform", "Exponential", "Laplace", "LogNormal", "AffineSigmoid", "Tanh", "Cauchy", "HalfCauchy",
           "HalfNormal", "Gumbel", "Weibull", "Pareto"}
HAS_ICDF = {"Uniform", "Exponential", "Laplace", "Cauchy", "HalfCauchy", "HalfNormal", "Gumbel", "Weibull", "Pareto"}


def _build(name, lib, requires_grad=True):
    make, params, value, continuous = SPECS[name]
    wrap = (lambda a: eg.tensor(a, requires_grad=requires_grad)) if lib is eg else \
        (lambda a: torch.tensor(a, requires_grad=requires_grad))
    tensors = {k: wrap(v) for k, v in params.items()}
    return make(lib)(**tensors), tensors, wrap(value) if continuous else (
        eg.tensor(value) if lib is eg else torch.tensor(value))


def _close(a, b, what, tol=1e-10):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
    finite = np.isfinite(b)
    np.testing.assert_array_equal(np.isfinite(a), finite, err_msg=what)
    if finite.any():
        err = np.max(np.abs(a[finite] - b[finite]) / np.maximum(np.abs(b[finite]), 1e-3))
        assert err < tol, f"{what}: relative error {err:.3e}"


# torch's trigamma (the derivative of digamma) is ~1e-9 relative below x = 5: the gradients that go through it
GAMMA_FAMILY_TOL = 1e-8


def _compare(name, fn, tol=1e-10):
    """fn(dist, value) over both libraries: equal values, equal gradients w.r.t. parameters and value."""
    d, params, value = _build(name, eg)
    td_, tparams, tvalue = _build(name, torch)
    out, tout = fn(d, value), fn(td_, tvalue)
    _close(out, tout, f"{name} value")
    tout.sum().backward()
    out.sum().backward()
    for k in params:
        if tparams[k].grad is not None:
            _close(params[k].grad, tparams[k].grad, f"{name} d/d{k}", tol)
    if value.requires_grad and tvalue.grad is not None:
        _close(value.grad, tvalue.grad, f"{name} d/dvalue")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_log_prob_and_gradients_match_torch(name):
    _compare(name, lambda d, v: d.log_prob(v))


@pytest.mark.parametrize("name", sorted(set(SPECS) - NO_ENTROPY))
def test_entropy_and_gradients_match_torch(name):
    _compare(name, lambda d, v: d.entropy(), GAMMA_FAMILY_TOL if name in ("Gamma", "Beta", "Dirichlet", "Chi2") else 1e-10)


NO_MOMENTS = {"Cauchy", "HalfCauchy"}  # nan / inf without a gradient (tested below)


@pytest.mark.parametrize("name", sorted(set(SPECS) - {"AffineSigmoid", "Tanh"} - NO_MOMENTS))
@pytest.mark.parametrize("moment", ["mean", "variance", "stddev"])
def test_moments_match_torch(name, moment):
    _compare(name, lambda d, v: getattr(d, moment))


@pytest.mark.parametrize("name", sorted(NO_MOMENTS))
@pytest.mark.parametrize("moment", ["mean", "mode", "variance", "stddev"])
def test_moments_that_do_not_exist_match_torch(name, moment):
    d, _, _ = _build(name, eg)
    t, _, _ = _build(name, torch)
    e, w = getattr(d, moment), getattr(t, moment)
    np.testing.assert_array_equal(e.detach().numpy(), w.detach().numpy())
    assert e.requires_grad == w.requires_grad and e.dtype == eg.float64


@pytest.mark.parametrize("name", sorted(HAS_CDF))
def test_cdf_matches_torch(name):
    _compare(name, lambda d, v: d.cdf(v))


def test_gamma_cdf_matches_torch():
    """Gamma.cdf = gammainc(a, rate x): differentiable in rate and x (not in a, as PyTorch)."""
    a, rate, xs = np.array([0.5, 2.0, 7.5]), np.array([1.5, 0.3, 2.0]), np.array([0.2, 4.0, 3.1])
    r, x = eg.tensor(rate, requires_grad=True), eg.tensor(xs, requires_grad=True)
    tr, tx = torch.tensor(rate, requires_grad=True), torch.tensor(xs, requires_grad=True)
    out, tout = ed.Gamma(eg.tensor(a), r).cdf(x), td.Gamma(torch.tensor(a), tr).cdf(tx)
    _close(out, tout, "Gamma cdf", 1e-8)  # torch's igamma is ~1e-9 relative
    out.sum().backward()
    tout.sum().backward()
    _close(r.grad, tr.grad, "Gamma cdf d/drate")
    _close(x.grad, tx.grad, "Gamma cdf d/dvalue")
    for lib, D, T in ((eg, ed, eg.tensor), (torch, td, torch.tensor)):
        with pytest.raises(NotImplementedError, match="igamma: input"):
            D.Gamma(T(a, requires_grad=True), T(rate)).cdf(T(xs)).sum().backward()


@pytest.mark.parametrize("name", sorted(HAS_ICDF))
def test_icdf_matches_torch(name):
    q = np.array([0.05, 0.5, 0.93])
    d, params, _ = _build(name, eg)
    td_, tparams, _ = _build(name, torch)
    shape = tuple(td_.batch_shape)
    qq = np.broadcast_to(q[:shape[-1]] if shape else q[0], shape).copy()
    _close(d.icdf(eg.tensor(qq)), td_.icdf(torch.tensor(qq)), f"{name} icdf")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_shapes_and_expand_match_torch(name):
    d, _, _ = _build(name, eg, requires_grad=False)
    t, _, _ = _build(name, torch, requires_grad=False)
    assert tuple(d.batch_shape) == tuple(t.batch_shape) and tuple(d.event_shape) == tuple(t.event_shape)
    assert d.has_rsample == t.has_rsample
    assert tuple(d.sample((5,)).shape) == tuple(t.sample((5,)).shape)
    new_batch = (4,) + tuple(t.batch_shape)
    de, te = d.expand(new_batch), t.expand(new_batch)
    assert tuple(de.batch_shape) == tuple(te.batch_shape) and tuple(de.event_shape) == tuple(te.event_shape)
    tvalue = te.sample()
    _close(de.log_prob(eg.tensor(tvalue.numpy())), te.log_prob(tvalue), f"{name} expanded log_prob")
    assert tuple(de.sample((2,)).shape) == tuple(te.sample((2,)).shape)


HEAVY_TAILS = {"Cauchy", "HalfCauchy", "Pareto"}  # no finite variance (Pareto: alpha 0.7 and 1.5 in SPECS)


@pytest.mark.parametrize("name", sorted(set(SPECS) - {"AffineSigmoid", "Tanh"} - HEAVY_TAILS))
def test_sample_moments(name):
    """Sample mean within 5 standard errors of the mean; sample variance within 15% (fixed seed)."""
    eg.manual_seed(0)
    d, _, _ = _build(name, eg, requires_grad=False)
    n = 40000
    x = d.sample((n,)).numpy()
    mean, var = d.mean.numpy(), d.variance.numpy()
    assert np.all(np.abs(x.mean(0) - mean) <= 5 * np.sqrt(var / n) + 1e-12), f"{name}: {x.mean(0)} vs {mean}"
    np.testing.assert_allclose(x.var(0), var, rtol=0.15, atol=1e-12)
    d.log_prob(eg.tensor(x[:100]))  # samples are in the support (validation on)


def test_rsample_gradients_are_the_reparameterisation():
    eg.manual_seed(3)
    rate = eg.tensor([0.5, 2.0], requires_grad=True)
    x = ed.Exponential(rate).rsample((6,))
    x.sum().backward()
    np.testing.assert_allclose(rate.grad.numpy(), (-x.detach().numpy() / rate.detach().numpy()).sum(0), rtol=1e-6)
    low, high = eg.tensor([0.0], requires_grad=True), eg.tensor([2.0], requires_grad=True)
    u = ed.Uniform(low, high).rsample((5,))
    u.sum().backward()
    frac = u.detach().numpy() / 2.0
    np.testing.assert_allclose(high.grad.numpy(), frac.sum(0), rtol=1e-6)
    np.testing.assert_allclose(low.grad.numpy(), (1 - frac).sum(0), rtol=1e-6)
    loc = eg.tensor(np.zeros((2, 3)), requires_grad=True)
    ed.MultivariateNormal(loc, scale_tril=eg.tensor(L_TRIL)).rsample((4,)).sum().backward()
    np.testing.assert_array_equal(loc.grad.numpy(), np.full((2, 3), 4.0))
    with pytest.raises(NotImplementedError, match="rsample"):
        ed.Poisson(2.0).rsample()


@pytest.mark.parametrize("a", [0.05, 0.3, 1.0, 2.5, 7.0, 60.0, 1500.0])
def test_gamma_rsample_gradient_is_the_implicit_one(a):
    """dx/da of each draw equals -(dP(a, x)/da) / p(x; a) (mpmath), and PyTorch's approximation to 1e-4."""
    mpmath = pytest.importorskip("mpmath", reason="mpmath gives the incomplete gamma function's derivative")
    eg.manual_seed(5)
    alpha = eg.tensor([a], dtype=eg.float64, requires_grad=True)
    x = ed.Gamma(alpha, 1.0).rsample((4,))
    (g,) = eg.autograd.grad(x, alpha, eg.tensor(np.eye(4)[0][:, None]))
    x0 = float(x.detach().numpy()[0, 0])
    with mpmath.workdps(30):
        dP = mpmath.diff(lambda s: mpmath.gammainc(s, 0, x0, regularized=True), a)
        density = mpmath.mpf(x0) ** (a - 1) * mpmath.exp(-x0) / mpmath.gamma(a)
        want = float(-dP / density)
    assert abs(float(g.numpy()[0]) - want) <= 1e-10 * abs(want)
    t = torch._standard_gamma_grad(torch.tensor([a], dtype=torch.float64), torch.tensor([x0], dtype=torch.float64))
    assert abs(float(t[0]) - want) <= 1e-4 * abs(want)


@pytest.mark.parametrize("name, make, mean", [
    ("Gamma", lambda a: ed.Gamma(a, 2.0), lambda a: a[0] / 2.0),
    ("Dirichlet", lambda a: ed.Dirichlet(a), lambda a: a[0] / a.sum()),
    ("Beta", lambda a: ed.Beta(a[0], a[1]), lambda a: a[0] / a.sum()),
])
def test_rsample_gradient_is_unbiased(name, make, mean):
    """The average over n draws of d x_0 / d a_0 is d E[x_0] / d a_0, within 5 standard errors (estimated from
    the per-draw gradients of 300 of them)."""
    eg.manual_seed(1)
    a0 = np.array([0.7, 2.5, 4.0])[: 2 if name == "Beta" else 3]
    a = eg.tensor(a0, requires_grad=True)

    def first(x):
        return x[:, 0] if x.ndim == 2 else x

    n = 20000
    (g,) = eg.autograd.grad(first(make(a).rsample((n,))).mean(), a)
    eps = 1e-6
    want = (mean(a0 + eps * np.eye(len(a0))[0]) - mean(a0 - eps * np.eye(len(a0))[0])) / (2 * eps)
    sub = first(make(a).rsample((300,)))
    per_draw = [eg.autograd.grad(sub[i], a, retain_graph=True)[0].numpy()[0] for i in range(300)]
    se = np.std(per_draw) / np.sqrt(n)
    assert se > 0
    assert abs(g.numpy()[0] - want) <= 5 * se, (g.numpy()[0], want, se)


KL_PAIRS = {
    "Normal": (lambda D: D.Normal, [dict(loc=[0.2, -1.0], scale=[1.0, 0.4]), dict(loc=[1.0, 0.5], scale=[2.0, 0.9])]),
    "Uniform": (lambda D: D.Uniform, [dict(low=[0.0, 1.0], high=[1.0, 2.0]), dict(low=[-1.0, 1.5], high=[2.0, 3.0])]),
    "Exponential": (lambda D: D.Exponential, [dict(rate=[0.5, 2.0]), dict(rate=[1.5, 0.3])]),
    "Laplace": (lambda D: D.Laplace, [dict(loc=[0.2, -1.0], scale=[1.0, 0.4]), dict(loc=[1.0, 0.5], scale=[2.0, 0.9])]),
    "Gamma": (lambda D: D.Gamma, [dict(concentration=[0.5, 3.0], rate=[1.0, 2.0]),
                                  dict(concentration=[2.0, 1.2], rate=[0.4, 3.0])]),
    "Beta": (lambda D: D.Beta, [dict(concentration1=[0.5, 3.0], concentration0=[1.0, 2.0]),
                                dict(concentration1=[2.0, 1.2], concentration0=[0.4, 3.0])]),
    "Dirichlet": (lambda D: D.Dirichlet, [dict(concentration=[[0.5, 3.0, 1.0]]), dict(concentration=[[2.0, 1.2, 0.7]])]),
    "Poisson": (lambda D: D.Poisson, [dict(rate=[0.5, 4.0]), dict(rate=[1.5, 2.0])]),
    "LogNormal": (lambda D: D.LogNormal, [dict(loc=[0.2, -1.0], scale=[1.0, 0.4]), dict(loc=[1.0, 0.5], scale=[2.0, 0.9])]),
    "OneHotCategorical": (lambda D: D.OneHotCategorical, [dict(logits=[[0.1, 1.0, -2.0]]), dict(logits=[[1.0, 0.0, 0.3]])]),
    "MultivariateNormal": (lambda D: D.MultivariateNormal,
                           [dict(loc=[[0.1, 0.2, 0.3]], scale_tril=L_TRIL),
                            dict(loc=[0.5, -1.0, 0.0], covariance_matrix=np.eye(3) * 2.0 + 0.3)]),
    "LowRankMultivariateNormal": (lambda D: D.LowRankMultivariateNormal,
                                  [dict(loc=[[0.1, 0.2, 0.3]], cov_factor=[[1.0], [0.5], [-0.3]], cov_diag=[0.5, 1.0, 2.0]),
                                   dict(loc=[0.5, -1.0, 0.0], cov_factor=[[0.2, 0.1], [0.0, 1.0], [0.7, -0.4]],
                                        cov_diag=[1.5, 0.4, 0.9])]),
    "Independent": (lambda D: (lambda loc, scale: D.Independent(D.Normal(loc, scale), 1)),
                    [dict(loc=[[0.2, -1.0]], scale=[[1.0, 0.4]]), dict(loc=[[1.0, 0.5]], scale=[[2.0, 0.9]])]),
}


@pytest.mark.parametrize("name", sorted(KL_PAIRS))
def test_kl_divergence_matches_torch(name):
    make, (pp, qp) = KL_PAIRS[name]
    eparams = [{k: eg.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in ps.items()} for ps in (pp, qp)]
    tparams = [{k: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for k, v in ps.items()}
               for ps in (pp, qp)]
    kl = ed.kl_divergence(make(ed)(**eparams[0]), make(ed)(**eparams[1]))
    tkl = td.kl_divergence(make(td)(**tparams[0]), make(td)(**tparams[1]))
    _close(kl, tkl, f"KL {name}")
    finite = torch.isfinite(tkl)
    kl.masked_fill(eg.tensor(~finite.numpy()), 0.0).sum().backward()
    tkl.masked_fill(~finite, 0.0).sum().backward()
    for e, t in zip(eparams, tparams):
        for k in e:
            if t[k].grad is not None:
                _close(e[k].grad, t[k].grad, f"KL {name} d/d{k}",
                       GAMMA_FAMILY_TOL if name in ("Gamma", "Beta", "Dirichlet") else 1e-10)


def test_kl_registry_and_missing_pair():
    with pytest.raises(NotImplementedError, match="No KL"):
        ed.kl_divergence(ed.Gamma(1.0, 1.0), ed.Laplace(0.0, 1.0))  # PyTorch has no Gamma-Laplace KL either

    class MyNormal(ed.Normal):
        pass

    @ed.register_kl(MyNormal, ed.Normal)
    def _kl(p, q):
        return p.loc * 0 + 42.0

    assert float(ed.kl_divergence(MyNormal(0.0, 1.0), ed.Normal(0.0, 1.0))) == 42.0
    assert float(ed.kl_divergence(ed.Normal(0.0, 1.0), MyNormal(0.0, 1.0))) == 0.0  # the Normal pair


@pytest.mark.parametrize("make, constraint", [
    (lambda D: D.Gamma(torch_or_eg_tensor(D, [-1.0, 1.0]), 1.0), "GreaterThan(lower_bound=0.0)"),
    (lambda D: D.Exponential(torch_or_eg_tensor(D, [0.0])), "GreaterThan(lower_bound=0.0)"),
    (lambda D: D.Beta(1.0, torch_or_eg_tensor(D, [-2.0])), "GreaterThan(lower_bound=0.0)"),
    (lambda D: D.Poisson(torch_or_eg_tensor(D, [-2.0])), "GreaterThanEq(lower_bound=0.0)"),
    (lambda D: D.Laplace(torch_or_eg_tensor(D, [float("nan")]), 1.0), "Real()"),
    (lambda D: D.MultivariateNormal(torch_or_eg_tensor(D, [0.0, 0.0]),
                                    scale_tril=torch_or_eg_tensor(D, [[1.0, 0.0], [0.0, -1.0]])), "LowerCholesky()"),
])
def test_parameter_errors_as_torch(make, constraint):
    with pytest.raises(ValueError) as t_err:
        make(td)
    with pytest.raises(ValueError) as e_err:
        make(ed)
    t_msg, e_msg = str(t_err.value), str(e_err.value)
    assert constraint in t_msg and constraint in e_msg
    assert e_msg.split(" of distribution")[0] == t_msg.split(" of distribution")[0]


def torch_or_eg_tensor(D, value):
    return torch.tensor(value, dtype=torch.float64) if D is td else eg.tensor(np.asarray(value, dtype=np.float64))


def test_value_errors_as_torch():
    for D, T in ((ed, lambda v: eg.tensor(np.asarray(v))), (td, lambda v: torch.tensor(v))):
        with pytest.raises(ValueError, match=r"to be within the support \(GreaterThanEq\(lower_bound=0.0\)\)"):
            D.Gamma(2.0, 1.0).log_prob(T([-1.0]))
        with pytest.raises(ValueError, match="The right-most size of value must match event_shape"):
            D.Dirichlet(T([1.0, 2.0, 3.0])).log_prob(T([0.5, 0.5]))
        with pytest.raises(ValueError, match="Value is not broadcastable with batch_shape"):
            D.Exponential(T([1.0, 2.0])).log_prob(T([1.0, 2.0, 3.0]))
        with pytest.raises(ValueError, match="Exactly one of covariance_matrix or precision_matrix or scale_tril"):
            D.MultivariateNormal(T([0.0, 0.0]))
    # no check when off: the formula's value (NaN: (a - 1) log x of x < 0)
    assert np.isnan(float(ed.Gamma(2.0, 1.0, validate_args=False).log_prob(eg.tensor(-1.0))))
    assert np.isnan(float(td.Gamma(2.0, 1.0, validate_args=False).log_prob(torch.tensor(-1.0))))


def test_float32_parameters_stay_float32():
    rate = eg.tensor(np.array([0.5, 2.0], dtype=np.float32))
    for d in (ed.Gamma(rate, rate), ed.Exponential(rate), ed.Poisson(rate), ed.Laplace(rate, rate)):
        assert d.sample((3,)).dtype == eg.float32
        assert d.log_prob(d.sample((3,))).dtype == eg.float32
    trate = torch.tensor([0.5, 2.0])
    np.testing.assert_allclose(ed.Gamma(rate, rate).log_prob(eg.tensor(np.float32(1.5))).numpy(),
                               td.Gamma(trate, trate).log_prob(torch.tensor(1.5)).numpy(), rtol=1e-5)


def test_torch_distributions_under_compat():
    from eigengrad.compat import torch_alias

    with torch_alias():
        import torch as T
        from torch.distributions import Gamma, kl_divergence

        d = Gamma(T.tensor([2.0]), T.tensor([1.0]))
        assert isinstance(d, ed.Gamma)
        assert float(kl_divergence(d, d)) == 0.0


@pytest.mark.parametrize("name", ["Uniform", "Exponential", "Laplace", "Gamma", "Poisson", "LogNormal"])  # torch fails on an empty Beta or Dirichlet
def test_zero_size_batch(name):
    make, params, _, _ = SPECS[name]
    empty = {k: eg.tensor(np.zeros((0,) + np.shape(v)[1:]) + 1.0) for k, v in params.items()}
    tempty = {k: torch.tensor(e.numpy()) for k, e in empty.items()}
    d, t = make(eg)(**empty), make(torch)(**tempty)
    assert tuple(d.batch_shape) == tuple(t.batch_shape) == (0,)
    assert tuple(d.sample((3,)).shape) == tuple(t.sample((3,)).shape) == (3, 0)
    assert tuple(d.log_prob(eg.tensor(np.ones((2, 0)) * 0.5)).shape) == (2, 0)


@pytest.mark.parametrize("n,probs", [(5, [[0.2, 0.5]]), (0, [0.3]), (3, [0.0, 1.0, 0.4])])
def test_binomial_entropy_and_support_of_a_homogeneous_count_match_torch(n, probs):
    torch = pytest.importorskip("torch", reason="PyTorch is the reference")
    p = np.array(probs)
    ep, tp = eg.tensor(p, requires_grad=True), torch.tensor(p, requires_grad=True)
    e, t = eg.distributions.Binomial(n, probs=ep), torch.distributions.Binomial(n, probs=tp)
    np.testing.assert_array_equal(e.enumerate_support().numpy(), t.enumerate_support().numpy())
    np.testing.assert_array_equal(e.enumerate_support(False).numpy(), t.enumerate_support(False).numpy())
    he, ht = e.entropy(), t.entropy()
    np.testing.assert_allclose(he.detach().numpy(), ht.detach().numpy(), rtol=1e-10, atol=1e-14)
    he.sum().backward()
    ht.sum().backward()
    np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_binomial_entropy_of_unequal_counts_is_each_elements_own():
    """PyTorch raises for unequal total counts; eigengrad sums each element's terms up to its own count: the
    values and gradients equal PyTorch's entropy of each element alone. enumerate_support, one range for the
    whole batch, still refuses them with PyTorch's error."""
    torch = pytest.importorskip("torch", reason="PyTorch is the reference")
    counts, p = np.array([[3.0, 0.0], [7.0, 1.0]]), np.array([[0.2, 0.6], [0.55, 0.9]])
    ep = eg.tensor(p, requires_grad=True)
    d = eg.distributions.Binomial(eg.tensor(counts), probs=ep)
    h = d.entropy()
    h.sum().backward()
    for i in np.ndindex(p.shape):
        tp = torch.tensor(p[i], requires_grad=True)
        ht = torch.distributions.Binomial(int(counts[i]), probs=tp).entropy()
        ht.backward()
        np.testing.assert_allclose(h.detach().numpy()[i], ht.item(), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(ep.grad.numpy()[i], tp.grad.item(), rtol=1e-10, atol=1e-14)
    assert eg.autograd.gradcheck(lambda q: eg.distributions.Binomial(eg.tensor(counts), probs=q).entropy(),
                                 (eg.tensor(p, requires_grad=True),))
    with pytest.raises(NotImplementedError, match="Inhomogeneous total count not supported by `enumerate_support`"):
        d.enumerate_support()


def test_tanh_transform_cache_gives_back_the_sample_it_squashed():
    """TanhTransform(cache_size=1) (a SAC policy's squashed Gaussian): the log-probability of its own sample
    inverts through the cache, finite where tanh rounded to 1; without the cache atanh(1) is inf and the
    log-probability NaN, as PyTorch's. ``torch.distributions.transforms`` is importable."""
    from eigengrad.distributions.transforms import TanhTransform

    d = eg.distributions
    base = d.Normal(eg.tensor([0.0, 30.0]), eg.tensor([1.0, 1.0]))
    cached = d.TransformedDistribution(base, [TanhTransform(cache_size=1)])
    a = cached.rsample()
    assert a.numpy()[1] == 1.0 and np.isfinite(cached.log_prob(a).numpy()).all()
    with np.errstate(all="ignore"):
        assert np.isnan(d.TransformedDistribution(base, [TanhTransform()]).log_prob(a).numpy()[1])
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        TanhTransform(cache_size=2)
    torch = pytest.importorskip("torch", reason="PyTorch's log-probability of the same pre-tanh sample")
    x = eg.tensor([0.3, -1.2, 4.0])
    y = TanhTransform(cache_size=1)(x)
    want = torch.distributions.TransformedDistribution(
        torch.distributions.Normal(torch.zeros(3), torch.ones(3)),
        [torch.distributions.transforms.TanhTransform()]).log_prob(torch.from_numpy(y.numpy().copy()))
    got = d.TransformedDistribution(d.Normal(eg.zeros(3), eg.ones(3)), [TanhTransform()]).log_prob(y)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4)


@pytest.mark.parametrize("event", [False, True], ids=["normal", "independent-normal"])
def test_mixture_same_family_matches_torch(event):
    rng = np.random.default_rng(3)
    logits, loc, scale = rng.standard_normal((4, 3)), rng.standard_normal((4, 3, 2)), rng.uniform(0.5, 2, (4, 3, 2))
    if not event:
        loc, scale = loc[..., 0], scale[..., 0]
    x = rng.standard_normal((5, 4, 2) if event else (5, 4))

    def build(lib, L, args):
        comp = lib.Normal(args[1], args[2])
        return lib.MixtureSameFamily(lib.Categorical(logits=args[0]), lib.Independent(comp, 1) if event else comp)

    e_args = [eg.tensor(a, requires_grad=True) for a in (logits, loc, scale)]
    t_args = [torch.tensor(a, requires_grad=True) for a in (logits, loc, scale)]
    e, t = build(ed, eg, e_args), build(td, torch, t_args)
    assert tuple(e.batch_shape) == tuple(t.batch_shape) and tuple(e.event_shape) == tuple(t.event_shape)
    for name in ("mean", "variance"):
        np.testing.assert_allclose(getattr(e, name).detach().numpy(), getattr(t, name).detach().numpy(), rtol=1e-12)
    lp_e, lp_t = e.log_prob(eg.tensor(x)), t.log_prob(torch.tensor(x))
    np.testing.assert_allclose(lp_e.detach().numpy(), lp_t.detach().numpy(), rtol=1e-12)
    lp_e.sum().backward()
    lp_t.sum().backward()
    for a, b in zip(e_args, t_args):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
    if not event:
        np.testing.assert_allclose(e.cdf(eg.tensor(x)).detach().numpy(), t.cdf(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-12)
    draws = e.sample((4000,))
    assert tuple(draws.shape) == tuple(t.sample((4000,)).shape) and not draws.requires_grad
    sd = np.sqrt(e.variance.detach().numpy())
    assert np.all(np.abs(draws.numpy().mean(0) - e.mean.detach().numpy()) < 5 * sd / np.sqrt(4000))
    wide = e.expand((2, 4))
    assert tuple(wide.batch_shape) == (2, 4) and tuple(wide.sample((3,)).shape) == (3, 2, 4) + ((2,) if event else ())


def test_mixture_same_family_errors_and_categorical_expand():
    with pytest.raises(ValueError, match="needs to be an  instance of torch.distributions.Categorical"):
        ed.MixtureSameFamily(ed.Normal(0.0, 1.0), ed.Normal(eg.zeros(3), eg.ones(3)))
    with pytest.raises(ValueError, match=r"`mixture_distribution component` \(4\) does not equal"):
        ed.MixtureSameFamily(ed.Categorical(logits=eg.zeros(4)), ed.Normal(eg.zeros(3), eg.ones(3)))
    c = ed.Categorical(logits=eg.zeros(3)).expand((2, 4))  # the categories' dimension is kept
    assert tuple(c.batch_shape) == (2, 4) and tuple(c.sample((5,)).shape) == (5, 2, 4)
    assert tuple(c.probs.shape) == (2, 4, 3)


def test_compose_transform_matches_torch():
    x = np.random.default_rng(4).standard_normal(5)

    def build(lib):
        T = lib.transforms
        return T.ComposeTransform([T.AffineTransform(loc=1.0, scale=2.0), T.SigmoidTransform(), T.ExpTransform()])

    e, t = build(ed), build(td)
    ex, tx = eg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ey, ty = e(ex), t(tx)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(e.inv(ey).detach().numpy(), x, rtol=1e-10)
    el, tl = e.log_abs_det_jacobian(ex, ey), t.log_abs_det_jacobian(tx, ty)
    np.testing.assert_allclose(el.detach().numpy(), tl.detach().numpy(), rtol=1e-12)
    el.sum().backward()
    tl.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    base = [d.Normal(lib.zeros(5, dtype=dt), lib.ones(5, dtype=dt))
            for d, lib, dt in ((ed, eg, eg.float64), (td, torch, torch.float64))]
    v = np.exp(np.array([0.3, 0.5, 0.7, 0.9, 0.1]))
    np.testing.assert_allclose(ed.TransformedDistribution(base[0], [e]).log_prob(eg.tensor(v)).numpy(),
                               td.TransformedDistribution(base[1], [t]).log_prob(torch.tensor(v)).numpy(), rtol=1e-12)


def test_student_t_matches_torch():
    rng = np.random.default_rng(6)
    df, loc, scale = np.array([0.7, 1.5, 3.0, 10.0]), rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    x = rng.standard_normal((3, 4))
    e_args = [eg.tensor(a, requires_grad=True) for a in (df, loc, scale)]
    t_args = [torch.tensor(a, requires_grad=True) for a in (df, loc, scale)]
    e, t = ed.StudentT(*e_args), td.StudentT(*t_args)
    for name in ("mean", "variance", "mode", "entropy"):
        ours, theirs = getattr(e, name), getattr(t, name)
        ours, theirs = (ours() if callable(ours) else ours), (theirs() if callable(theirs) else theirs)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12, err_msg=name)
    el, tl = e.log_prob(eg.tensor(x)), t.log_prob(torch.tensor(x))
    np.testing.assert_allclose(el.detach().numpy(), tl.detach().numpy(), rtol=1e-12)
    (el.sum() + e.entropy().sum()).backward()
    (tl.sum() + t.entropy().sum()).backward()
    for a, b in zip(e_args, t_args):  # through digamma's derivative (torch's trigamma: ~1e-9 relative)
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-10)
    draws = ed.StudentT(eg.tensor(5.0, dtype=eg.float64)).sample((40000,)).numpy()
    assert abs(draws.var() - 5.0 / 3.0) < 0.15
    r = ed.StudentT(eg.tensor([4.0], requires_grad=True)).rsample((3,))
    assert tuple(r.shape) == (3, 1) and r.requires_grad
    with pytest.raises(ValueError, match="Expected parameter df"):
        ed.StudentT(eg.tensor(-1.0))


def test_relaxed_one_hot_categorical_matches_torch():
    rng = np.random.default_rng(8)
    logits, temperature = rng.standard_normal((2, 4)), np.array(0.7)
    v = np.exp(rng.standard_normal((3, 2, 4)))
    v /= v.sum(-1, keepdims=True)
    e_args = [eg.tensor(a, requires_grad=True) for a in (temperature, logits)]
    t_args = [torch.tensor(a, requires_grad=True) for a in (temperature, logits)]
    e = ed.RelaxedOneHotCategorical(e_args[0], logits=e_args[1])
    t = td.RelaxedOneHotCategorical(t_args[0], logits=t_args[1])
    el, tl = e.log_prob(eg.tensor(v)), t.log_prob(torch.tensor(v))
    np.testing.assert_allclose(el.detach().numpy(), tl.detach().numpy(), rtol=1e-12)
    el.sum().backward()
    tl.sum().backward()
    for a, b in zip(e_args, t_args):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)
    draws = e.rsample((5,))
    assert tuple(draws.shape) == (5, 2, 4) and draws.requires_grad
    np.testing.assert_allclose(draws.detach().numpy().sum(-1), 1.0, rtol=1e-12)
    x = ed.ExpRelaxedCategorical(e_args[0], logits=e_args[1])
    assert tuple(x.event_shape) == (4,) and tuple(x.expand((3, 2)).rsample().shape) == (3, 2, 4)


@pytest.mark.parametrize("order", ["lowrank-full", "full-lowrank"])
def test_kl_between_low_rank_and_full_gaussians_matches_torch(order):
    loc, W, D, L = RNG.standard_normal(3), RNG.standard_normal((3, 2)), RNG.uniform(0.5, 1.5, 3), L_TRIL
    out = []
    for lib, dist, T in ((eg, ed, eg.tensor), (torch, td, torch.tensor)):
        ps = [T(a, requires_grad=True) for a in (loc, W, D, L)]
        low = dist.LowRankMultivariateNormal(ps[0], ps[1], ps[2])
        full = dist.MultivariateNormal(ps[0] * 0.5, scale_tril=ps[3])
        kl = dist.kl_divergence(low, full) if order == "lowrank-full" else dist.kl_divergence(full, low)
        kl.backward()
        out.append((kl, [p.grad for p in ps]))
    _close(out[0][0], out[1][0], f"KL {order}")
    for i, (a, b) in enumerate(zip(out[0][1], out[1][1])):
        _close(a, b, f"KL {order} gradient {i}")


def test_low_rank_covariance_precision_and_errors_match_torch():
    loc, W, D = RNG.standard_normal((2, 4)), RNG.standard_normal((4, 3)), RNG.uniform(0.5, 1.5, 4)
    e = ed.LowRankMultivariateNormal(eg.tensor(loc), eg.tensor(W), eg.tensor(D))
    t = td.LowRankMultivariateNormal(torch.tensor(loc), torch.tensor(W), torch.tensor(D))
    for name in ("covariance_matrix", "precision_matrix", "scale_tril", "variance", "mean", "mode"):
        _close(getattr(e, name), getattr(t, name), name)
    np.testing.assert_allclose(e.precision_matrix.numpy() @ e.covariance_matrix.numpy(), np.broadcast_to(np.eye(4), (2, 4, 4)),
                               atol=1e-12)
    bad = [dict(loc=np.zeros(3), cov_factor=np.zeros(3), cov_diag=np.ones(3)),
           dict(loc=np.zeros(3), cov_factor=np.zeros((4, 1)), cov_diag=np.ones(3)),
           dict(loc=np.zeros(3), cov_factor=np.zeros((3, 1)), cov_diag=np.ones(4)),
           dict(loc=np.zeros(3), cov_factor=np.zeros((3, 1)), cov_diag=-np.ones(3))]
    for kw in bad:
        with pytest.raises(ValueError) as te:
            td.LowRankMultivariateNormal(**{k: torch.tensor(v) for k, v in kw.items()})
        with pytest.raises(ValueError) as ee:
            ed.LowRankMultivariateNormal(**{k: eg.tensor(v) for k, v in kw.items()})
        assert str(te.value).split("(")[0][:40] == str(ee.value).split("(")[0][:40], (te.value, ee.value)


@pytest.mark.parametrize("name", sorted(HAS_ICDF))
def test_samples_follow_the_cdf(name):
    """The empirical cdf of 40,000 draws at the 10/50/90% quantiles, within 5 standard errors (the heavy-
    tailed distributions have no moments to compare)."""
    eg.manual_seed(1)
    d, _, _ = _build(name, eg, requires_grad=False)
    n = 40000
    x = d.sample((n,)).numpy()
    for q in (0.1, 0.5, 0.9):
        point = d.icdf(eg.tensor(np.full(tuple(d.batch_shape), q))).numpy()
        frac = (x <= point).mean(0)
        assert np.all(np.abs(frac - q) < 5 * np.sqrt(q * (1 - q) / n)), (name, q, frac)


# --- found by a randomized comparison with PyTorch (its values written out) ------------------------------

def test_transformed_distribution_through_a_decreasing_transform():
    """Y = -X, X ~ N(0, 1): cdf(1) = Phi(1), icdf(0.9) = +1.2816 (the cdf was not flipped)."""
    D = eg.distributions
    y = D.TransformedDistribution(D.Normal(eg.tensor(0.0, dtype=eg.float64), eg.tensor(1.0, dtype=eg.float64)),
                                  [D.AffineTransform(0.0, -1.0)])
    assert y.cdf(eg.tensor(1.0, dtype=eg.float64)).item() == pytest.approx(0.8413447460685429, rel=1e-12)
    assert y.icdf(eg.tensor(0.9, dtype=eg.float64)).item() == pytest.approx(1.2815515655446004, rel=1e-12)
    assert D.AffineTransform(0.0, -2.0).sign == -1 and D.ExpTransform().sign == 1


def test_transformed_distribution_shapes_follow_the_transforms():
    """An event_dim=1 transform takes the base's batch dim as an event dim (batch (), event (3,), one
    log-det); a transform's parameters broadcast the batch shape."""
    D = eg.distributions
    f64 = dict(dtype=eg.float64)
    base = D.Normal(eg.zeros(3, **f64), eg.ones(3, **f64))
    d = D.TransformedDistribution(base, [D.AffineTransform(eg.tensor([1.0, 2.0, 3.0], **f64),
                                                           eg.tensor([2.0, 3.0, 4.0], **f64), event_dim=1)])
    assert tuple(d.batch_shape) == () and tuple(d.event_shape) == (3,)
    assert d.log_prob(eg.tensor([0.5, 1.0, 1.5], **f64)).item() == pytest.approx(-6.091987485517519, rel=1e-12)  # PyTorch's
    wide = D.TransformedDistribution(D.Normal(eg.zeros(3, **f64), eg.ones(3, **f64)),
                                     [D.AffineTransform(eg.zeros(2, 1, **f64), 2.0)])
    assert tuple(wide.batch_shape) == (2, 3) and tuple(wide.sample().shape) == (2, 3)


def test_student_t_mean_and_variance_gradients_are_finite():
    """A where() with a NaN branch leaked 0 * NaN into every gradient (PyTorch's: finite)."""
    f64 = dict(dtype=eg.float64, requires_grad=True)
    df, loc, scale = eg.tensor([2.5, 3.0], **f64), eg.tensor([1.0, 2.0], **f64), eg.tensor([1.0, 2.0], **f64)
    d = eg.distributions.StudentT(df, loc, scale)
    (d.mean.sum() + d.variance.sum()).backward()
    assert df.grad.tolist() == [-8.0, -8.0] and loc.grad.tolist() == [1.0, 1.0] and scale.grad.tolist() == [10.0, 12.0]
    small = eg.distributions.StudentT(eg.tensor([0.5, 1.5, 3.0], dtype=eg.float64))
    assert np.isnan(small.mean.numpy()[0]) and small.mean.numpy()[1:].tolist() == [0.0, 0.0]
    v = small.variance.numpy()
    assert np.isnan(v[0]) and v[1] == np.inf and v[2] == 3.0


def test_modes_where_every_concentration_is_below_one():
    """PyTorch's: the one-hot of the first component (it was NaN)."""
    D = eg.distributions
    assert D.Beta(eg.tensor([0.5]), eg.tensor([0.5])).mode.tolist() == [1.0]
    mode = D.Dirichlet(eg.tensor([[0.5, 0.5, 0.7], [2.0, 3.0, 1.0]], dtype=eg.float64)).mode
    np.testing.assert_allclose(mode.numpy(), [[1.0, 0.0, 0.0], [1 / 3, 2 / 3, 0.0]], rtol=1e-15)


def test_zero_d_parameters_sample():
    """NumPy returns a Python number for 0-d parameters: sample() raised (Poisson, Binomial, NegativeBinomial;
    Laplace through Tensor.sign)."""
    D = eg.distributions
    f64 = dict(dtype=eg.float64)
    for d in (D.Poisson(eg.tensor(2.0, **f64)), D.Binomial(eg.tensor(5.0, **f64), probs=eg.tensor(0.3, **f64)),
              D.NegativeBinomial(eg.tensor(5.0, **f64), probs=eg.tensor(0.3, **f64)),
              D.Laplace(eg.tensor(0.0, **f64), eg.tensor(1.0, **f64))):
        s = d.sample()
        assert s.shape == () and s.dtype == eg.float64 and tuple(d.sample((4,)).shape) == (4,)


def test_bernoulli_and_categorical_validate_as_pytorch():
    D = eg.distributions
    with pytest.raises(ValueError, match="probs"):
        D.Bernoulli(probs=eg.tensor(1.5))
    with pytest.raises(ValueError, match="support"):
        D.Bernoulli(probs=eg.tensor(0.3)).log_prob(eg.tensor(0.5))
    assert D.Bernoulli(probs=eg.tensor(0.3)).log_prob(eg.tensor(1.0)).item() == pytest.approx(np.log(0.3), rel=1e-6)
    assert D.Bernoulli(probs=eg.tensor([0.3, 0.7])).mode.tolist() == [0.0, 1.0]
    assert np.isnan(D.Bernoulli(probs=eg.tensor(0.5)).mode.item())
    with pytest.raises(ValueError, match="probs"):
        D.Categorical(probs=eg.tensor([-0.5, 1.5]))
    with pytest.raises(ValueError):
        D.Categorical(logits=eg.tensor([0.0, float("inf")]))
    assert D.Categorical(probs=eg.tensor([1.0, 3.0])).probs.tolist() == [0.25, 0.75]  # normalised first


@pytest.mark.parametrize("name,p,q,want", [
    ("Cauchy", dict(loc=[0.5, -1.0], scale=[1.0, 2.0]), dict(loc=[0.0, 1.0], scale=[2.0, 0.5]),
     [0.14518200984449825, 0.9409833444645266]),
    ("Gumbel", dict(loc=[0.5, -1.0], scale=[1.0, 2.0]), dict(loc=[0.0, 1.0], scale=[2.0, 0.5]),
     [0.34473357163075047, 1305.700953429046]),
    ("HalfNormal", dict(scale=[1.0, 2.0]), dict(scale=[2.0, 0.5]), [0.3181471805599453, 6.113705638880109]),
    ("Pareto", dict(scale=[1.0, 2.0], alpha=[1.5, 3.0]), dict(scale=[0.5, 2.5], alpha=[2.0, 1.0]),
     [1.431945622001443, float("inf")]),
    ("Geometric", dict(probs=[0.3, 0.6]), dict(probs=[0.5, 0.2]), [0.27427626168350594, 0.6365141682948129]),
    ("Binomial", dict(total_count=[5.0, 7.0], probs=[0.3, 0.6]), dict(total_count=[5.0, 5.0], probs=[0.5, 0.2]),
     [0.41141439252525946, float("inf")]),
])
def test_kl_divergence_within_more_families(name, p, q, want):
    """PyTorch's closed forms (its values); a Binomial q with more trials than p (which PyTorch refuses) is the
    sum over p's support, checked against the definition."""
    D = eg.distributions
    make = getattr(D, name)
    kl = D.kl_divergence(make(**{k: eg.tensor(v, dtype=eg.float64) for k, v in p.items()}),
                         make(**{k: eg.tensor(v, dtype=eg.float64) for k, v in q.items()}))
    np.testing.assert_allclose(kl.numpy(), want, rtol=1e-12)
    if name == "Binomial":
        from math import comb, log

        def pmf(n, pr, k):
            return comb(n, k) * pr ** k * (1 - pr) ** (n - k)

        kl = D.kl_divergence(D.Binomial(eg.tensor([5.0], dtype=eg.float64), probs=eg.tensor([0.5], dtype=eg.float64)),
                             D.Binomial(eg.tensor([7.0], dtype=eg.float64), probs=eg.tensor([0.6], dtype=eg.float64)))
        want = sum(pmf(5, 0.5, k) * (log(pmf(5, 0.5, k)) - log(pmf(7, 0.6, k))) for k in range(6))
        assert kl.item() == pytest.approx(want, rel=1e-12)
