"""Regressions found while porting six more PyTorch programs (session 2026-12-06, helper i2: BERT-style
masked LM, nn.Transformer translation, a 1-D CNN on ECG-like signals, Mixup/CutMix, a BPR recommender and
an IWAE with torch.distributions; tests/ported/).

Found: ``torch.optim.SparseAdam`` was missing, so the recommender (sparse user/item embeddings under
SparseAdam, the dense bias under Adam, as PyTorch's docs advise) could not run. eigengrad has no sparse
tensors (an ``Embedding(sparse=True)`` gets a dense gradient with the same values), so SparseAdam updates
the gradient's nonzero rows only, lazily, as PyTorch updates its sparse gradient's indices.

Also found, probing the APIs next to the IWAE's (VAE likelihoods): ``torch.distributions.ContinuousBernoulli``
(the likelihood of VAEs on [0, 1] pixels) was missing; added with PyTorch's Taylor expansions around probs = 1/2.

The expected values below are PyTorch 2.13's for the same calls.
"""
from __future__ import annotations

import io

import numpy as np
import pytest

import eigengrad as eg

# PyTorch: Embedding(5, 2, sparse=True) at arange(10).view(5, 2) / 10, SparseAdam(lr=0.1, betas=(0.8, 0.9),
# eps=1e-3), three steps looking up rows [0, 1, 1], [3], [1, 3] with loss sum(out * arange(1, n + 1))
WEIGHT = [[-0.09968477, 0.00015786], [0.03484690, 0.13046686], [0.4, 0.5], [0.44226336, 0.53826332], [0.8, 0.9]]
WEIGHT_MAX = [[0.09968477, 0.19984214], [0.36515310, 0.46953315], [0.4, 0.5], [0.75773668, 0.86173666], [0.8, 0.9]]
EXP_AVG = [[0.2, 0.4], [1.48, 2.0], [0.0, 0.0], [0.76, 1.12], [0.0, 0.0]]
EXP_AVG_SQ = [[0.1, 0.4], [5.86, 9.4], [0.0, 0.0], [0.99, 1.96], [0.0, 0.0]]


def _sparse_adam_run(maximize=False, opt=None, emb=None, lookups=([0, 1, 1], [3], [1, 3])):
    if emb is None:
        emb = eg.nn.Embedding(5, 2)
        with eg.no_grad():
            emb.weight.copy_(eg.arange(10.0).view(5, 2) / 10)
    if opt is None:
        opt = eg.optim.SparseAdam(emb.parameters(), lr=0.1, betas=(0.8, 0.9), eps=1e-3, maximize=maximize)
    for idx in lookups:
        opt.zero_grad()
        out = emb(eg.tensor(idx))
        (out * eg.arange(1.0, 1.0 + out.numel()).view_as(out)).sum().backward()
        opt.step()
    return emb, opt


def test_sparse_adam_updates_only_the_looked_up_rows_as_pytorch():
    emb, opt = _sparse_adam_run()
    np.testing.assert_allclose(emb.weight.detach().numpy(), WEIGHT, rtol=1e-5, atol=1e-6)
    state = opt.state[emb.weight]
    np.testing.assert_allclose(state["exp_avg"].numpy(), EXP_AVG, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(state["exp_avg_sq"].numpy(), EXP_AVG_SQ, rtol=1e-6, atol=1e-6)
    assert int(state["step"]) == 3
    assert emb.weight.dtype == eg.float32 and state["exp_avg"].dtype == eg.float32


def test_sparse_adam_maximize_and_defaults():
    emb, _ = _sparse_adam_run(maximize=True)
    np.testing.assert_allclose(emb.weight.detach().numpy(), WEIGHT_MAX, rtol=1e-5, atol=1e-6)
    opt = eg.optim.SparseAdam([eg.zeros(2, requires_grad=True)])
    assert opt.defaults == {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "maximize": False}
    assert "SparseAdam" in eg.optim.__all__


@pytest.mark.parametrize("kwargs", [dict(lr=-1.0), dict(eps=-1.0), dict(betas=(1.0, 0.9)), dict(betas=(0.9, 1.5))])
def test_sparse_adam_rejects_bad_hyperparameters(kwargs):
    with pytest.raises(ValueError):
        eg.optim.SparseAdam([eg.zeros(2, requires_grad=True)], **kwargs)


def test_sparse_adam_state_dict_resumes_the_same_steps():
    emb, opt = _sparse_adam_run(lookups=([0, 1, 1],))
    buf = io.BytesIO()
    eg.save({"model": emb.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    saved = eg.load(buf)
    emb2 = eg.nn.Embedding(5, 2)
    emb2.load_state_dict(saved["model"])
    opt2 = eg.optim.SparseAdam(emb2.parameters(), lr=0.1, betas=(0.8, 0.9), eps=1e-3)
    opt2.load_state_dict(saved["opt"])
    _sparse_adam_run(opt=opt2, emb=emb2, lookups=([3], [1, 3]))
    np.testing.assert_allclose(emb2.weight.detach().numpy(), WEIGHT, rtol=1e-5, atol=1e-6)


def test_sparse_adam_with_a_dense_parameter_group_and_a_1d_parameter():
    bias = eg.nn.Parameter(eg.zeros(4))
    opt = eg.optim.SparseAdam([bias], lr=0.5)
    (bias[eg.tensor([1, 3])] * eg.tensor([2.0, -1.0])).sum().backward()
    opt.step()
    # first step: m / (sqrt(v) + eps) = sign(g) with bias correction; untouched entries stay 0
    np.testing.assert_allclose(bias.detach().numpy(), [0.0, -0.5, 0.0, 0.5], atol=1e-6)


# PyTorch: ContinuousBernoulli(probs=P) in float64 at the values V (P spans both sides of the unstable region)
P = [0.05, 0.3, 0.4995, 0.5, 0.5005, 0.7, 0.98]
V = [0.1, 0.9, 0.5, 0.2, 0.7, 0.3, 0.99]
CB_EXPECTED = {
    "log_prob": [0.839542, -0.368655, 0.0, 0.0, 0.0004, -0.199196, 1.340578],
    "grad": [-3.87511, 2.23704, 0.00067, -1.2, 0.79933, -1.28465, 11.53652],
    "mean": [0.284068, 0.430223, 0.499833, 0.5, 0.500167, 0.569777, 0.763884],
    "variance": [0.056702, 0.080425, 0.083333, 0.083333, 0.083333, 0.080425, 0.044756],
    "cdf": [0.269224, 0.933683, 0.5, 0.2, 0.7, 0.217062, 0.961034],
    "icdf": [0.033803, 0.85228, 0.5, 0.2, 0.7, 0.397112, 0.997471],
    "entropy": [-0.297565, -0.029386, 0.0, 0.0, 0.0, -0.029386, -0.460576],
}


def test_continuous_bernoulli_values_and_gradient_as_pytorch():
    from eigengrad.distributions import ContinuousBernoulli

    p = eg.tensor(P, dtype=eg.float64, requires_grad=True)
    v = eg.tensor(V, dtype=eg.float64)
    d = ContinuousBernoulli(probs=p)
    lp = d.log_prob(v)
    (g,) = eg.autograd.grad(lp.sum(), p)
    got = {"log_prob": lp, "grad": g, "mean": d.mean, "variance": d.variance, "cdf": d.cdf(v), "icdf": d.icdf(v),
           "entropy": d.entropy()}
    for name, expected in CB_EXPECTED.items():
        np.testing.assert_allclose(got[name].detach().numpy(), expected, atol=2e-5, err_msg=name)
    np.testing.assert_allclose(d.stddev.detach().numpy(), np.sqrt(CB_EXPECTED["variance"]), atol=1e-5)


def test_continuous_bernoulli_logits_rsample_and_checks():
    from eigengrad.distributions import ContinuousBernoulli

    d = ContinuousBernoulli(logits=eg.tensor([-2.0, 0.0, 1.5]))
    np.testing.assert_allclose(d.log_prob(eg.tensor([0.2, 0.5, 0.8])).numpy(), [0.43856, 0.0, 0.35795], atol=1e-5)
    eg.manual_seed(0)
    s = d.rsample((4000,))
    assert tuple(s.shape) == (4000, 3) and bool(((s >= 0) & (s <= 1)).all())
    np.testing.assert_allclose(s.mean(0).numpy(), d.mean.numpy(), atol=0.02)
    assert d.has_rsample and tuple(ContinuousBernoulli(0.3).sample((2,)).shape) == (2,)
    assert tuple(ContinuousBernoulli(eg.full((2, 3), 0.3)).expand((4, 2, 3)).batch_shape) == (4, 2, 3)
    # probs are checked before their clamp, only when validate_args is given (True or False), as PyTorch
    for validate in (True, False):
        with pytest.raises(ValueError, match="The parameter probs has invalid values"):
            ContinuousBernoulli(probs=1.5, validate_args=validate)
    assert ContinuousBernoulli(probs=1.5).probs.item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified, but not both."):
        ContinuousBernoulli()
    with pytest.raises(ValueError, match="to be within the support"):
        ContinuousBernoulli(0.3).log_prob(eg.tensor(1.5))
