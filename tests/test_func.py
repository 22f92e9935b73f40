"""``torch.func`` (eigengrad.func): per-sample gradients with functional_call + grad + vmap, nested grad,
hessian, jacrev, vjp and vmap's in_dims/out_dims, side by side with PyTorch on the same weights."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch", reason="torch.func is the reference")


def _close(a, b):
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_per_sample_gradients_match_torch():
    eg.manual_seed(0)
    em = eg.nn.Sequential(eg.nn.Linear(3, 4), eg.nn.Tanh(), eg.nn.Linear(4, 1)).double()
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
    tm.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in em.state_dict().items()})
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 1))
    results = []
    for lib, m in ((eg, em), (torch, tm)):
        params = {k: v.detach() for k, v in m.named_parameters()}

        def loss(p, xb, yb, m=m, lib=lib):
            return ((lib.func.functional_call(m, p, (xb.unsqueeze(0),)) - yb) ** 2).mean()
        results.append(lib.func.vmap(lib.func.grad(loss), in_dims=(None, 0, 0))(params, lib.from_numpy(x),
                                                                               lib.from_numpy(y)))
    assert list(results[0]) == list(results[1])
    for k in results[1]:
        assert tuple(results[0][k].shape) == tuple(results[1][k].shape) == (6,) + tuple(tm.state_dict()[k].shape)
        _close(results[0][k], results[1][k])
    assert all(p.grad is None for p in em.parameters())  # functional: the module's own gradients untouched


def test_transforms_match_torch():
    x = np.array([0.3, 1.2, -0.5])
    got, want = [], []
    for lib, out in ((eg, got), (torch, want)):
        F = lib.func
        xx = lib.tensor(x)
        f = lambda v: (v.sin() * v).sum()  # noqa: E731
        out.append(F.grad(lambda v: F.grad(f)(v).sum())(xx))  # nested
        out.append(F.hessian(f)(xx))
        out.append(F.jacrev(lambda v: v.sin() * v[0])(xx))
        jac, aux = F.jacrev(lambda v: (v.exp(), v.sum()), has_aux=True)(xx)
        out += [jac, aux]
        g, value = F.grad_and_value(f)(xx)
        out += [g, value]
        _, vjp_fn = F.vjp(lambda v: v ** 2, xx)
        out.append(vjp_fn(lib.ones(3, dtype=lib.float64))[0])
        out.append(lib.vmap(lib.dot)(lib.ones(4, 3) * 2, lib.ones(4, 3)))
        out.append(lib.vmap(lambda a, b: a * b, in_dims=(1, None), out_dims=1)(lib.ones(2, 5), lib.arange(2.0)))
    for a, b in zip(got, want):
        assert tuple(a.shape) == tuple(b.shape)
        _close(a, b)
    with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar Tensor"):
        eg.func.grad(lambda v: v * 2)(eg.ones(3))
    with pytest.raises(ValueError, match="same size in the mapped dimension"):
        eg.vmap(lambda a, b: a + b)(eg.ones(2), eg.ones(3))
