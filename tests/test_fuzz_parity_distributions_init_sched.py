"""Regressions found by differential fuzzing of eigengrad.distributions, eigengrad.nn.init and
eigengrad.optim.lr_scheduler against PyTorch: each test states the case and checks literal values or exception
classes, and the torch-comparing tests also check PyTorch's numbers when torch is installed."""
import math
import warnings

import numpy as np
import pytest

import eigengrad as eg

TORCH_REASON = "torch is not installed: the comparison with PyTorch's numbers is skipped"


# --- lr_scheduler: a non-integer where PyTorch raises ValueError --------------------------------------------

def _opt(lib):
    return lib.optim.SGD([lib.nn.Parameter(lib.zeros(2))], lr=0.1)


_SCHED_TYPE_CASES = [
    ("CosineAnnealingWarmRestarts", dict(T_0=2.5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, T_mult=1.5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=2, eta_min="a")),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=1.5)),
    ("OneCycleLR", dict(max_lr=0.1, epochs=2.0, steps_per_epoch=3)),
    ("OneCycleLR", dict(max_lr=0.1, epochs=2, steps_per_epoch=1.5)),
    ("OneCycleLR", dict(max_lr=0.1, total_steps=10, pct_start="a")),
]


@pytest.mark.parametrize("name,kwargs", _SCHED_TYPE_CASES)
def test_scheduler_bad_type_is_valueerror_as_pytorch(name, kwargs):
    # PyTorch raises ValueError ("Expected positive integer T_0, but got 2.5"); eigengrad's error is also a
    # TypeError, so code written either way catches it
    with pytest.raises(ValueError) as info:
        getattr(eg.optim.lr_scheduler, name)(_opt(eg), **kwargs)
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize("name,kwargs", _SCHED_TYPE_CASES)
def test_scheduler_bad_type_matches_torch(name, kwargs):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    with pytest.raises(ValueError):
        getattr(torch.optim.lr_scheduler, name)(_opt(torch), **kwargs)


def test_scheduler_valid_integers_still_accepted():
    s = eg.optim.lr_scheduler.CosineAnnealingWarmRestarts(_opt(eg), T_0=3, T_mult=2, eta_min=0)
    s.optimizer.step()
    s.step()
    assert s.get_last_lr()[0] == pytest.approx(0.0 + 0.5 * 0.1 * (1 + math.cos(math.pi / 3)), abs=1e-15)


# --- nn.init ------------------------------------------------------------------------------------------------

def test_uniform_reversed_bounds_is_runtimeerror():
    # PyTorch: RuntimeError "uniform_ expects to return a [from, to) range, but found from=2 > to=1"
    for fill in (lambda: eg.nn.init.uniform_(eg.empty(3), 2.0, 1.0), lambda: eg.empty(3).uniform_(2.0, 1.0),
                 lambda: eg.nn.init.xavier_uniform_(eg.empty(3, 4), gain=-1.0)):
        with pytest.raises(RuntimeError) as info:
            fill()
        assert isinstance(info.value, ValueError)


def test_normal_negative_std_is_runtimeerror():
    # PyTorch: RuntimeError "normal expects std >= 0.0, but found std -1"
    for fill in (lambda: eg.nn.init.normal_(eg.empty(3), 0.0, -1.0), lambda: eg.empty(3).normal_(0.0, -1.0)):
        with pytest.raises(RuntimeError):
            fill()


def test_trunc_normal_reversed_bounds_is_runtimeerror():
    with pytest.raises(RuntimeError):
        eg.nn.init.trunc_normal_(eg.empty(5), a=3.0, b=2.0)


def test_trunc_normal_equal_bounds_fills_the_bound():
    x = eg.nn.init.trunc_normal_(eg.empty(4, 3), a=1.0, b=1.0)
    assert np.all(x.numpy() == 1.0)


def _truncnorm_mean_std(mean, std, a, b):
    al, be = (a - mean) / std, (b - mean) / std
    phi = lambda t: math.exp(-t * t / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    r = math.sqrt(2)
    if al > 0:  # the upper tail, where 1 - Phi is exact only through erfc
        z = 0.5 * (math.erfc(al / r) - math.erfc(be / r))
    elif be < 0:
        z = 0.5 * (math.erfc(-be / r) - math.erfc(-al / r))
    else:
        z = 0.5 * (math.erf(be / r) - math.erf(al / r))
    m = mean + std * (phi(al) - phi(be)) / z
    var = std ** 2 * (1 + (al * phi(al) - be * phi(be)) / z - ((phi(al) - phi(be)) / z) ** 2)
    return m, math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [(0.0, 1.0, 10.0, 11.0), (0.0, 1.0, 2.0, 3.0), (0.0, 1.0, -5.0, -1.0),
                                          (1.0, 1.0, 1.0, 1.5), (0.0, 1.0, -0.1, 0.2)])
def test_trunc_normal_tails_and_narrow_intervals(mean, std, a, b):
    # [10, 11] holds ~1e-23 of N(0, 1): eigengrad refused ("rejection sampling would not finish"); PyTorch
    # samples it. The moments are the truncated normal's (closed form), within ~6 standard errors.
    n = 100_000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = eg.nn.init.trunc_normal_(eg.empty(n, dtype=eg.float64), mean=mean, std=std, a=a, b=b).numpy()
    assert x.min() >= a and x.max() <= b
    m, s = _truncnorm_mean_std(mean, std, a, b)
    assert abs(x.mean() - m) < 6 * s / math.sqrt(n)
    assert abs(x.std() - s) < 6 * s / math.sqrt(n) * 2


def test_trunc_normal_warns_when_mean_far_from_interval():
    with pytest.warns(UserWarning, match="mean is more than 2 std"):
        eg.nn.init.trunc_normal_(eg.empty(10), a=10.0, b=11.0)


def test_trunc_normal_tail_matches_torch_statistically():
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    n = 50_000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.nn.init.trunc_normal_(torch.empty(n, dtype=torch.float64), a=10.0, b=11.0).numpy()
        e = eg.nn.init.trunc_normal_(eg.empty(n, dtype=eg.float64), a=10.0, b=11.0).numpy()
    assert abs(t.mean() - e.mean()) < 8 * t.std() / math.sqrt(n)


@pytest.mark.parametrize("val", [None, "a", [1.0]])
def test_constant_rejects_non_numbers(val):
    # None used to fill NaN silently; PyTorch's fill_ raises TypeError for all three
    with pytest.raises(TypeError):
        eg.nn.init.constant_(eg.empty(2, 2), val)


def test_constant_tensor_value():
    x = eg.nn.init.constant_(eg.empty(2, 2), eg.tensor(2.5))
    assert x.numpy().tolist() == [[2.5, 2.5], [2.5, 2.5]]
    with pytest.raises(RuntimeError, match="0-dimension"):
        eg.nn.init.constant_(eg.empty(2, 2), eg.tensor([2.5]))


def test_constant_errors_match_torch():
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    for val in (None, "a", [1.0]):
        with pytest.raises(TypeError):
            torch.nn.init.constant_(torch.empty(2, 2), val)
    with pytest.raises(RuntimeError):
        torch.nn.init.constant_(torch.empty(2, 2), torch.tensor([2.5]))
    with pytest.raises(RuntimeError):
        torch.nn.init.uniform_(torch.empty(3), 2.0, 1.0)
    with pytest.raises(RuntimeError), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTorch warns (mean 0 is more than 2 std below a = 3) before raising
        torch.nn.init.trunc_normal_(torch.empty(3), a=3.0, b=2.0)
    assert np.all(torch.nn.init.trunc_normal_(torch.empty(4), a=1.0, b=1.0).numpy() == 1.0)


# --- distributions: enumerate_support, mode -----------------------------------------------------------------

def test_enumerate_support_bernoulli_categorical_onehot():
    d = eg.distributions
    b = d.Bernoulli(probs=eg.tensor([0.2, 0.7, 0.5], dtype=eg.float64))
    assert b.has_enumerate_support
    s = b.enumerate_support()
    assert tuple(s.shape) == (2, 3) and s.dtype == eg.float64
    assert s.numpy().tolist() == [[0.0] * 3, [1.0] * 3]
    assert tuple(b.enumerate_support(expand=False).shape) == (2, 1)

    c = d.Categorical(probs=eg.tensor([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]]))
    assert c.has_enumerate_support
    s = c.enumerate_support()
    assert tuple(s.shape) == (3, 2) and s.dtype == eg.int64
    assert s.numpy().tolist() == [[0, 0], [1, 1], [2, 2]]
    assert tuple(c.enumerate_support(False).shape) == (3, 1)
    lp = c.log_prob(s)  # the usual use: every value's log-probability over the batch
    assert np.allclose(np.exp(lp.numpy()).sum(0), 1.0)

    o = d.OneHotCategorical(logits=eg.zeros(2, 3))
    s = o.enumerate_support()
    assert tuple(s.shape) == (3, 2, 3)
    assert s.numpy()[:, 0].tolist() == np.eye(3).tolist()
    assert tuple(o.enumerate_support(expand=False).shape) == (3, 1, 3)


def test_enumerate_support_matches_torch():
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    p = np.array([[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]])
    for name, kw in [("Bernoulli", dict(probs=p[:, 0])), ("Categorical", dict(probs=p)),
                     ("OneHotCategorical", dict(probs=p)), ("Binomial", dict(total_count=4.0, probs=p))]:
        t = getattr(torch.distributions, name)(**{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                                  for k, v in kw.items()})
        e = getattr(eg.distributions, name)(**{k: eg.tensor(v) if isinstance(v, np.ndarray) else v
                                               for k, v in kw.items()})
        for expand in (True, False):
            a, b = t.enumerate_support(expand), e.enumerate_support(expand)
            assert tuple(a.shape) == tuple(b.shape), name
            assert np.array_equal(a.numpy(), b.numpy()), name


def test_mode_not_implemented_is_notimplementederror():
    # PyTorch's base Distribution.mode raises NotImplementedError (was AttributeError)
    d = eg.distributions.RelaxedOneHotCategorical(eg.tensor(0.5), probs=eg.tensor([0.3, 0.7]))
    with pytest.raises(NotImplementedError):
        d.mode


# --- distributions: KL between different families ----------------------------------------------------------

def _kl(p, q):
    return eg.distributions.kl_divergence(p, q).numpy()


def test_kl_cross_family_literal_values():
    D = eg.distributions
    t = lambda *v: eg.tensor(list(v), dtype=eg.float64)  # noqa: E731
    # identical densities: KL 0
    assert np.allclose(_kl(D.Exponential(t(1.0)), D.Gamma(t(1.0), t(1.0))), 0.0, atol=1e-12)
    assert np.allclose(_kl(D.Gamma(t(1.0), t(2.0)), D.Exponential(t(2.0))), 0.0, atol=1e-12)
    assert np.allclose(_kl(D.Uniform(t(0.0), t(1.0)), D.Beta(t(1.0), t(1.0))), 0.0, atol=1e-12)
    assert np.allclose(_kl(D.Beta(t(1.0), t(1.0)), D.Uniform(t(0.0), t(1.0))), 0.0, atol=1e-12)
    # x log x at the ends of [0, 1] is 0 (PyTorch's xlogy), not NaN: Uniform(0, 1) || Beta(2, 1) = 1 - log 2
    assert np.allclose(_kl(D.Uniform(t(0.0), t(1.0)), D.Beta(t(2.0), t(1.0))), 1 - math.log(2), atol=1e-12)
    # Uniform(0, 1) || N(0, 1): log sqrt(2 pi) + (1/12 + 1/4) / 2
    assert np.allclose(_kl(D.Uniform(t(0.0), t(1.0)), D.Normal(t(0.0), t(1.0))),
                       0.5 * math.log(2 * math.pi) + 0.5 * (1 / 12 + 0.25), atol=1e-12)
    # a support not inside q's: inf
    assert np.all(np.isinf(_kl(D.Normal(t(0.0, 1.0), t(1.0, 1.0)), D.Uniform(t(0.0), t(1.0)))))
    assert _kl(D.Exponential(t(1.0)), D.Pareto(t(1.0), t(2.0))).tolist() == [math.inf]
    assert _kl(D.Uniform(t(-1.0, 0.5), t(0.5, 0.9)), D.Gamma(t(2.0), t(1.0)))[0] == math.inf
    assert np.isfinite(_kl(D.Uniform(t(-1.0, 0.5), t(0.5, 0.9)), D.Gamma(t(2.0), t(1.0)))[1])
    # HalfCauchy(s) || HalfCauchy(s): 0
    assert np.allclose(_kl(D.HalfCauchy(t(2.0)), D.HalfCauchy(t(2.0))), 0.0, atol=1e-12)


_KL_PAIRS = [
    ("Bernoulli", dict(probs=[0.3, 0.6]), "Poisson", dict(rate=[1.5, 0.4])),
    ("Beta", dict(concentration1=[1.5, 0.7], concentration0=[2.0, 1.3]), "Exponential", dict(rate=[0.5, 2.0])),
    ("Beta", dict(concentration1=[1.5, 0.7], concentration0=[2.0, 1.3]), "Gamma",
     dict(concentration=[2.0, 0.8], rate=[1.0, 3.0])),
    ("Beta", dict(concentration1=[1.5, 0.7], concentration0=[2.0, 1.3]), "Normal", dict(loc=[0.2, -1.0], scale=[0.5, 2.0])),
    ("Beta", dict(concentration1=[1.5, 0.7], concentration0=[2.0, 1.3]), "Uniform", dict(low=[-0.5, 0.1], high=[1.0, 2.0])),
    ("Exponential", dict(rate=[0.5, 2.0]), "Gamma", dict(concentration=[2.0, 0.8], rate=[1.0, 3.0])),
    ("Exponential", dict(rate=[0.5, 2.0]), "Gumbel", dict(loc=[0.2, -1.0], scale=[0.5, 2.0])),
    ("Exponential", dict(rate=[0.5, 2.0]), "Normal", dict(loc=[0.2, -1.0], scale=[0.5, 2.0])),
    ("Gamma", dict(concentration=[2.0, 0.8], rate=[1.0, 3.0]), "Exponential", dict(rate=[0.5, 2.0])),
    ("Gamma", dict(concentration=[2.0, 0.8], rate=[1.0, 3.0]), "Gumbel", dict(loc=[0.2, -1.0], scale=[0.5, 2.0])),
    ("Gamma", dict(concentration=[2.0, 0.8], rate=[1.0, 3.0]), "Normal", dict(loc=[0.2, -1.0], scale=[0.5, 2.0])),
    ("Gumbel", dict(loc=[0.2, -1.0], scale=[0.5, 2.0]), "Normal", dict(loc=[0.7, 1.0], scale=[1.5, 0.3])),
    ("Laplace", dict(loc=[0.2, -1.0], scale=[0.5, 2.0]), "Normal", dict(loc=[0.7, 1.0], scale=[1.5, 0.3])),
    ("Normal", dict(loc=[0.2, -1.0], scale=[0.5, 2.0]), "Gumbel", dict(loc=[0.7, 1.0], scale=[1.5, 0.3])),
    ("Normal", dict(loc=[0.2, -1.0], scale=[0.5, 2.0]), "Laplace", dict(loc=[0.7, 1.0], scale=[1.5, 0.3])),
    ("Pareto", dict(scale=[0.5, 2.0], alpha=[3.0, 1.5]), "Exponential", dict(rate=[0.5, 2.0])),
    ("Pareto", dict(scale=[0.5, 2.0], alpha=[3.0, 1.5]), "Gamma", dict(concentration=[2.0, 0.8], rate=[1.0, 3.0])),
    ("Pareto", dict(scale=[0.5, 2.0], alpha=[3.0, 1.5]), "Normal", dict(loc=[0.2, -1.0], scale=[0.5, 2.0])),
    ("Uniform", dict(low=[0.1, 0.3], high=[0.5, 0.9]), "Beta", dict(concentration1=[1.5, 0.7], concentration0=[2.0, 1.3])),
    ("Uniform", dict(low=[0.1, -0.3], high=[0.5, 0.9]), "Exponential", dict(rate=[0.5, 2.0])),
    ("Uniform", dict(low=[0.1, -0.3], high=[0.5, 0.9]), "Gamma", dict(concentration=[2.0, 0.8], rate=[1.0, 3.0])),
    ("Uniform", dict(low=[0.1, -0.3], high=[0.5, 0.9]), "Gumbel", dict(loc=[0.2, -1.0], scale=[0.5, 2.0])),
    ("Uniform", dict(low=[0.1, -0.3], high=[0.5, 0.9]), "Normal", dict(loc=[0.2, -1.0], scale=[0.5, 2.0])),
    ("Uniform", dict(low=[1.1, 0.3], high=[1.5, 0.9]), "Pareto", dict(scale=[0.5, 0.4], alpha=[3.0, 1.5])),
    ("HalfCauchy", dict(scale=[0.5, 2.0]), "HalfCauchy", dict(scale=[1.5, 0.3])),
    ("Laplace", dict(loc=[0.2, -1.0], scale=[0.5, 2.0]), "Gamma", dict(concentration=[2.0, 0.8], rate=[1.0, 3.0])),
    ("Poisson", dict(rate=[1.5, 0.4]), "Binomial", dict(total_count=3, probs=[0.3, 0.6])),
]


@pytest.mark.parametrize("pn,pk,qn,qk", _KL_PAIRS, ids=[f"{p[0]}-{p[2]}" for p in _KL_PAIRS])
def test_kl_cross_family_implemented(pn, pk, qn, qk):
    # these pairs raised NotImplementedError; PyTorch registers all of them
    D = eg.distributions
    conv = lambda kw: {k: eg.tensor(v, dtype=eg.float64) if isinstance(v, list) else v for k, v in kw.items()}  # noqa: E731
    kl = D.kl_divergence(getattr(D, pn)(**conv(pk)), getattr(D, qn)(**conv(qk)))
    assert tuple(kl.shape) == (2,)
    assert np.all(np.nan_to_num(kl.numpy(), posinf=0.0) >= -1e-12)  # a KL is never negative


@pytest.mark.parametrize("pn,pk,qn,qk", _KL_PAIRS, ids=[f"{p[0]}-{p[2]}" for p in _KL_PAIRS])
def test_kl_cross_family_matches_torch_values_and_grads(pn, pk, qn, qk):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)

    def make(lib, name, kw):
        ps = {k: lib.tensor(v, dtype=lib.float64, requires_grad=True) if isinstance(v, list) else v
              for k, v in kw.items()}
        return getattr(lib.distributions, name)(**ps), [v for v in ps.values() if not isinstance(v, (int, float))]

    (tp, tpv), (tq, tqv) = make(torch, pn, pk), make(torch, qn, qk)
    (ep, epv), (eq, eqv) = make(eg, pn, pk), make(eg, qn, qk)
    kt, ke = torch.distributions.kl_divergence(tp, tq), eg.distributions.kl_divergence(ep, eq)
    np.testing.assert_allclose(ke.detach().numpy(), kt.detach().numpy(), rtol=1e-10, atol=1e-12)
    if not kt.requires_grad:  # an infinite KL
        return
    finite = torch.isfinite(kt)
    grads = torch.autograd.grad(kt[finite].sum(), tpv + tqv, allow_unused=True)
    ke[eg.tensor(finite.numpy())].sum().backward()
    for g, v in zip(grads, epv + eqv):
        if g is not None:
            # rtol 1e-6: PyTorch's trigamma (in the Beta entropy's gradient) is off by ~4e-10 relative,
            # eigengrad's by ~1e-16
            np.testing.assert_allclose(v.grad.numpy(), g.numpy(), rtol=1e-6, atol=1e-12)


# --- distributions: RelaxedBernoulli, LogitRelaxedBernoulli; TransformedDistribution's support ---------------

def _logit_relaxed_log_prob(t, logit, x):
    diff = logit - x * t
    return math.log(t) + diff - 2 * math.log1p(math.exp(diff))


def test_logit_relaxed_bernoulli_log_prob_and_rsample():
    D = eg.distributions
    d = D.LogitRelaxedBernoulli(eg.tensor(0.5, dtype=eg.float64), logits=eg.tensor([0.3, -1.0], dtype=eg.float64))
    lp = d.log_prob(eg.tensor([0.2, 1.7], dtype=eg.float64)).numpy()
    assert np.allclose(lp, [_logit_relaxed_log_prob(0.5, 0.3, 0.2), _logit_relaxed_log_prob(0.5, -1.0, 1.7)],
                       rtol=1e-14)
    assert tuple(d.rsample((3,)).shape) == (3, 2) and tuple(d.sample((2, 4)).shape) == (2, 4, 2)
    d2 = D.LogitRelaxedBernoulli(eg.tensor(0.5), probs=eg.tensor([0.25]))
    assert np.allclose(d2.logits.numpy(), [math.log(0.25 / 0.75)], rtol=1e-6)


def test_relaxed_bernoulli_log_prob_rsample_and_support():
    D = eg.distributions
    logits = eg.tensor([0.3, -1.0], dtype=eg.float64, requires_grad=True)
    d = D.RelaxedBernoulli(eg.tensor(0.5, dtype=eg.float64), logits=logits)
    y = 0.6
    x = math.log(y / (1 - y))
    want = _logit_relaxed_log_prob(0.5, 0.3, x) - math.log(y * (1 - y))  # minus log |d sigmoid / dx|
    assert np.allclose(d.log_prob(eg.tensor([y, y], dtype=eg.float64)).detach().numpy()[0], want, rtol=1e-12)
    s = d.rsample((1000,))
    assert tuple(s.shape) == (1000, 2) and s.requires_grad
    assert float(s.min()) > 0 and float(s.max()) < 1
    s.sum().backward()
    assert logits.grad is not None and np.all(logits.grad.numpy() > 0)  # larger logits, larger samples
    with pytest.raises(ValueError, match="support"):
        d.log_prob(eg.tensor([1.5, 0.5], dtype=eg.float64))


def test_transformed_distribution_support_is_last_codomain():
    # the support used to be None (no check): PyTorch validates the value against the last transform's codomain
    D = eg.distributions
    base = D.Normal(eg.zeros(2), eg.ones(2))
    d = D.TransformedDistribution(base, [D.AffineTransform(0.0, 2.0), D.SigmoidTransform()])
    assert d.support.check(eg.tensor([0.5, 1.0])).tolist() == [True, True]
    with pytest.raises(ValueError, match="support"):
        d.log_prob(eg.tensor([-0.5, 0.5]))
    unchecked = D.TransformedDistribution(base, [D.SigmoidTransform()], validate_args=False)
    assert tuple(unchecked.log_prob(eg.tensor([-0.5, 0.5])).shape) == (2,)
    with pytest.raises(ValueError, match="support"):
        D.TransformedDistribution(base, [D.TanhTransform()]).log_prob(eg.tensor([1.5, 0.0]))
    affine = D.TransformedDistribution(base, [D.AffineTransform(0.0, 2.0)])
    assert np.isfinite(affine.log_prob(eg.tensor([-7.0, 7.0])).numpy()).all()  # real codomain: no check


@pytest.mark.parametrize("name", ["RelaxedBernoulli", "LogitRelaxedBernoulli"])
@pytest.mark.parametrize("param", ["probs", "logits"])
def test_relaxed_bernoulli_matches_torch(name, param):
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    rng = np.random.default_rng(0)
    p = rng.uniform(0.1, 0.9, size=(3, 2)) if param == "probs" else rng.normal(size=(3, 2))
    dists = {}
    for lib in (torch, eg):
        temp = lib.tensor(0.7, dtype=lib.float64, requires_grad=True)
        prm = lib.tensor(p, dtype=lib.float64, requires_grad=True)
        cls = getattr(eg.distributions, name) if lib is eg else getattr(torch.distributions.relaxed_bernoulli, name)
        dists[lib] = (cls(temp, **{param: prm}), temp, prm)
    dt, tt, pt = dists[torch]
    de, te, pe = dists[eg]
    x = dt.sample((4,))
    lt, le = dt.log_prob(x), de.log_prob(eg.tensor(x.numpy()))
    np.testing.assert_allclose(le.detach().numpy(), lt.detach().numpy(), rtol=1e-10)
    gt = torch.autograd.grad(lt.sum(), [tt, pt])
    le.sum().backward()
    np.testing.assert_allclose(te.grad.numpy(), gt[0].numpy(), rtol=1e-9)
    np.testing.assert_allclose(pe.grad.numpy(), gt[1].numpy(), rtol=1e-9)
    assert tuple(de.batch_shape) == tuple(dt.batch_shape) and tuple(de.event_shape) == tuple(dt.event_shape)
    assert tuple(de.rsample((2, 5)).shape) == tuple(dt.rsample((2, 5)).shape)
    assert tuple(de.expand((4, 3, 2)).sample().shape) == tuple(dt.expand((4, 3, 2)).sample().shape)
    if name == "RelaxedBernoulli":
        bad_t, bad_e = torch.tensor([[1.5, 0.5]] * 3, dtype=torch.float64), eg.tensor([[1.5, 0.5]] * 3, dtype=eg.float64)
        with pytest.raises(ValueError):
            dt.log_prob(bad_t)
        with pytest.raises(ValueError):
            de.log_prob(bad_e)


# --- nn.init on integer, bool and float16 tensors ------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["int64", "bool", "float16"])
def test_deterministic_inits_fill_any_dtype(dtype):
    # PyTorch fills integer, bool and half tensors; eigengrad refused anything but float32/float64
    dt = getattr(eg, dtype)
    assert eg.nn.init.constant_(eg.zeros(2, 3, dtype=dt), 2).numpy().astype(float).tolist() == \
        [[1.0 if dtype == "bool" else 2.0] * 3] * 2
    assert eg.nn.init.ones_(eg.zeros(2, 2, dtype=dt)).numpy().astype(float).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert eg.nn.init.zeros_(eg.ones(2, 2, dtype=dt)).numpy().astype(float).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert eg.nn.init.eye_(eg.zeros(2, 3, dtype=dt)).numpy().astype(float).tolist() == [[1, 0, 0], [0, 1, 0]]
    w = eg.nn.init.dirac_(eg.zeros(2, 2, 3, dtype=dt))
    assert w.dtype == dt and w.numpy().astype(float)[:, :, 1].tolist() == [[1, 0], [0, 1]]
    assert eg.nn.init._calculate_fan_in_and_fan_out(eg.zeros(3, 4, 5, dtype=dt)) == (20, 15)


def test_constant_truncates_into_integer_tensor():
    assert eg.nn.init.constant_(eg.zeros(3, dtype=eg.int64), 2.7).numpy().tolist() == [2, 2, 2]


@pytest.mark.parametrize("dtype", ["int64", "bool"])
@pytest.mark.parametrize("name", ["uniform_", "normal_", "xavier_uniform_", "kaiming_normal_", "trunc_normal_",
                                  "orthogonal_"])
def test_random_inits_refuse_integer_tensors_as_pytorch(name, dtype):
    # PyTorch: NotImplementedError ("normal_kernel_cpu" not implemented for 'Long'); eigengrad's error is that
    # class, a RuntimeError and (as before) a TypeError
    with pytest.raises(NotImplementedError) as info:
        getattr(eg.nn.init, name)(eg.zeros(4, 4, dtype=getattr(eg, dtype)))
    assert isinstance(info.value, TypeError)


def test_random_inits_fill_float16():
    x = eg.nn.init.kaiming_uniform_(eg.zeros(300, 300, dtype=eg.float16))
    a = x.numpy().astype(np.float64)
    assert x.dtype == eg.float16
    bound = math.sqrt(2.0) * math.sqrt(3.0 / 300)
    assert a.min() >= -bound - 1e-3 and a.max() <= bound + 1e-3
    assert abs(a.std() - bound / math.sqrt(3)) < 0.02 * bound
    y = eg.nn.init.trunc_normal_(eg.zeros(100, 100, dtype=eg.float16), std=0.5, a=-1.0, b=1.0).numpy()
    assert y.min() >= -1.0 and y.max() <= 1.0 and 0.3 < y.astype(np.float64).std() < 0.5


def test_init_dtypes_match_torch():
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    for dtype in ("int64", "bool", "float16"):
        for name, kw in [("constant_", dict(val=2.7)), ("ones_", {}), ("eye_", {})]:
            t = getattr(torch.nn.init, name)(torch.zeros(3, 4, dtype=getattr(torch, dtype)), **kw)
            e = getattr(eg.nn.init, name)(eg.zeros(3, 4, dtype=getattr(eg, dtype)), **kw)
            assert np.array_equal(t.numpy(), e.numpy()), (name, dtype)
        t = torch.nn.init.dirac_(torch.zeros(4, 2, 3, dtype=getattr(torch, dtype)), groups=2)
        e = eg.nn.init.dirac_(eg.zeros(4, 2, 3, dtype=getattr(eg, dtype)), groups=2)
        assert np.array_equal(t.numpy(), e.numpy()), ("dirac_", dtype)
    with pytest.raises(NotImplementedError):
        torch.nn.init.normal_(torch.zeros(3, dtype=torch.int64))
    assert torch.nn.init.normal_(torch.zeros(3, dtype=torch.float16)).dtype == torch.float16


# --- distributions: KL of multivariate normals whose batch shapes broadcast ----------------------------------

def _mvn_pair(lib):
    rng = np.random.default_rng(3)
    a = rng.normal(size=(3, 1, 3, 3))
    cov_q = a @ np.swapaxes(a, -1, -2) + 3 * np.eye(3)
    p = lib.distributions.MultivariateNormal(lib.tensor(rng.normal(size=(1, 2, 3))),
                                             covariance_matrix=lib.tensor(np.eye(3) * 2.0).expand(1, 2, 3, 3))
    q = lib.distributions.MultivariateNormal(lib.tensor(rng.normal(size=(3, 1, 3))), covariance_matrix=lib.tensor(cov_q))
    return p, q


def test_kl_mvn_broadcast_batch_shapes():
    # batch (1, 2) against (3, 1) raised "The expanded size of the tensor (1) must match ..."; PyTorch broadcasts
    D = eg.distributions
    z = D.MultivariateNormal(eg.zeros(1, 2, 3), covariance_matrix=eg.eye(3).expand(1, 2, 3, 3))
    z2 = D.MultivariateNormal(eg.zeros(3, 1, 3), scale_tril=eg.eye(3).expand(3, 1, 3, 3))
    kl = D.kl_divergence(z, z2)
    assert tuple(kl.shape) == (3, 2) and np.allclose(kl.numpy(), 0.0, atol=1e-6)
    p, q = _mvn_pair(eg)
    assert tuple(D.kl_divergence(p, q).shape) == (3, 2)
    lr = D.LowRankMultivariateNormal(eg.zeros(1, 2, 3), eg.zeros(1, 2, 3, 1), eg.ones(1, 2, 3))
    assert np.allclose(D.kl_divergence(lr, z2).numpy(), 0.0, atol=1e-6)


def test_kl_mvn_broadcast_matches_torch():
    torch = pytest.importorskip("torch", reason=TORCH_REASON)
    (tp, tq), (ep, eq) = _mvn_pair(torch), _mvn_pair(eg)
    np.testing.assert_allclose(eg.distributions.kl_divergence(ep, eq).numpy(),
                               torch.distributions.kl_divergence(tp, tq).numpy(), rtol=1e-10)
