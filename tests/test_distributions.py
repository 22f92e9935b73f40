"""eigengrad.distributions (Categorical, Normal, Bernoulli, kl_divergence) side by side with
torch.distributions: log_prob, entropy, probs/logits, KL values and their gradients; sample shapes and
frequencies. REINFORCE (pytorch/examples reinforcement_learning) samples actions from a Categorical."""
import numpy as np
import pytest

import eigengrad as eg
from eigengrad.distributions import Bernoulli, Categorical, Normal, kl_divergence


def _torch():
    return pytest.importorskip("torch", reason="torch.distributions is the reference")


@pytest.mark.parametrize("kw", ["probs", "logits"])
def test_categorical_matches_torch(kw):
    torch = _torch()
    lg = np.random.default_rng(0).standard_normal((3, 5))
    arr = np.exp(lg) if kw == "probs" else lg
    x, t = eg.tensor(arr, requires_grad=True), torch.tensor(arr, requires_grad=True)
    ours, theirs = Categorical(**{kw: x}), torch.distributions.Categorical(**{kw: t})
    v = np.array([[0, 4, 2], [1, 1, 3]])
    lp, lpt = ours.log_prob(eg.tensor(v)), theirs.log_prob(torch.tensor(v))
    np.testing.assert_allclose(lp.detach().numpy(), lpt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.entropy().detach().numpy(), theirs.entropy().detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.probs.detach().numpy(), theirs.probs.detach().numpy(), rtol=1e-10)
    (lp.sum() + ours.entropy().sum()).backward()
    (lpt.sum() + theirs.entropy().sum()).backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-8, atol=1e-12)
    assert ours.batch_shape == (3,) and ours.sample().shape == (3,) and ours.sample((4, 2)).shape == (4, 2, 3)
    assert ours.sample().dtype == eg.int64


def test_categorical_sampling_frequencies():
    eg.manual_seed(0)
    draws = Categorical(probs=eg.tensor([0.2, 0.8])).sample((20000,)).numpy()
    assert abs((draws == 1).mean() - 0.8) < 0.02


def test_normal_and_bernoulli_match_torch():
    torch = _torch()
    rng = np.random.default_rng(1)
    loc, scale, x = rng.standard_normal((2, 3)), rng.random((2, 3)) + 0.5, rng.standard_normal((4, 2, 3))
    ours, theirs = Normal(eg.tensor(loc), eg.tensor(scale)), torch.distributions.Normal(torch.tensor(loc), torch.tensor(scale))
    np.testing.assert_allclose(ours.log_prob(eg.tensor(x)).numpy(), theirs.log_prob(torch.tensor(x)).numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.entropy().numpy(), theirs.entropy().numpy(), rtol=1e-10)
    std = Normal(0.0, 1.0)
    np.testing.assert_allclose(kl_divergence(ours, std).numpy(),
                               torch.distributions.kl_divergence(theirs, torch.distributions.Normal(0.0, 1.0)).numpy(),
                               rtol=1e-6)
    p = rng.random(3)
    b, bt = Bernoulli(probs=eg.tensor(p)), torch.distributions.Bernoulli(probs=torch.tensor(p))
    v = np.array([1.0, 0.0, 1.0])
    np.testing.assert_allclose(b.log_prob(eg.tensor(v)).numpy(), bt.log_prob(torch.tensor(v)).numpy(), rtol=1e-8)
    np.testing.assert_allclose(b.entropy().numpy(), bt.entropy().numpy(), rtol=1e-8)
    q, qt = Bernoulli(logits=eg.tensor(-p)), torch.distributions.Bernoulli(logits=torch.tensor(-p))
    np.testing.assert_allclose(kl_divergence(b, q).numpy(), torch.distributions.kl_divergence(bt, qt).numpy(), rtol=1e-8)


def test_normal_rsample_is_reparameterised():
    eg.manual_seed(0)
    loc = eg.tensor([1.0, -2.0], dtype=eg.float64, requires_grad=True)
    scale = eg.tensor([0.5, 2.0], dtype=eg.float64, requires_grad=True)
    z = Normal(loc, scale).rsample((50000,))
    assert z.shape == (50000, 2)
    z.mean(0).sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [1.0, 1.0], rtol=1e-10)
    np.testing.assert_allclose(z.detach().numpy().std(0), [0.5, 2.0], rtol=0.03)
    assert not Normal(loc, scale).sample((3,)).requires_grad


def test_argument_errors():
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both."):
        Categorical()
    with pytest.raises(ValueError, match="scale"):
        Normal(0.0, -1.0)
    with pytest.raises(NotImplementedError, match="No KL"):
        kl_divergence(Normal(0.0, 1.0), Bernoulli(probs=0.5))
    with pytest.raises(TypeError, match="sample_shape"):
        Categorical(probs=eg.tensor([0.5, 0.5])).sample(3)


def test_categorical_support_and_its_check_as_pytorch():
    c = Categorical(logits=eg.zeros(2, 3))
    assert repr(c.support) == "IntegerInterval(lower_bound=0, upper_bound=2)"
    np.testing.assert_allclose(c.log_prob(eg.tensor([2, 0])).numpy(), np.log([1 / 3, 1 / 3]), rtol=1e-6)
    with pytest.raises(ValueError, match=r"within the support \(IntegerInterval\(lower_bound=0, upper_bound=2\)\)"):
        c.log_prob(eg.tensor([3, 0]))
    with pytest.raises(ValueError, match="within the support"):
        c.log_prob(eg.tensor([-1, 0]))


def test_transforms_is_an_attribute_of_distributions():
    import eigengrad.distributions as D

    t = D.transforms.AffineTransform(1.0, 2.0)
    np.testing.assert_allclose(t(eg.tensor([1.0])).numpy(), [3.0])


def test_python_number_parameters_take_the_default_dtype():
    """Normal(0., 1.) is float32, as PyTorch's (NumPy arrays keep theirs, and numbers follow them)."""
    D = eg.distributions
    for d in (D.Normal(0.0, 1.0), D.Gumbel(0.0, 1.0), D.Exponential(2.0), D.Cauchy(0.0, [1.0, 2.0])):
        assert d.sample().dtype == eg.float32 and d.entropy().dtype == eg.float32, type(d).__name__
    d = D.Normal(np.zeros(2), 1.0)
    assert d.sample().dtype == eg.float64 and d.entropy().dtype == eg.float64
