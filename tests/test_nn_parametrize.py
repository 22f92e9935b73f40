"""``torch.nn.utils.parametrize`` and ``parametrizations`` (weight_norm, spectral_norm) side by side with
PyTorch: the same state_dict keys and class names, outputs and gradients to float64 rounding from the same
state, assignment through right_inverse, cached(), removal, PyTorch's errors."""
from __future__ import annotations

import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch", reason="torch.nn.utils.parametrize is the reference")


def _pair(make):
    em, tm = make(eg).double(), make(torch).double()
    tm.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in em.state_dict().items()})
    return em, tm


def _same_state(em, tm):
    em.load_state_dict({k: eg.from_numpy(v.detach().numpy().copy()) for k, v in tm.state_dict().items()})


@pytest.mark.parametrize("kind, make, shape", [
    ("weight_norm", lambda L: L.nn.Linear(4, 3), (2, 4)),
    ("spectral_norm", lambda L: L.nn.Linear(4, 3), (2, 4)),
    ("spectral_norm", lambda L: L.nn.Conv2d(2, 3, 3), (2, 2, 5, 5)),
    ("spectral_norm", lambda L: L.nn.ConvTranspose2d(2, 3, 3), (2, 2, 4, 4)),  # dim 1: output channels
    ("weight_norm", lambda L: L.nn.Conv2d(2, 3, 3), (2, 2, 5, 5)),
])
def test_parametrizations_match_torch(kind, make, shape):
    em, tm = _pair(make)
    getattr(eg.nn.utils.parametrizations, kind)(em)
    getattr(torch.nn.utils.parametrizations, kind)(tm)
    assert type(em).__name__ == type(tm).__name__ and list(em.state_dict()) == list(tm.state_dict())
    _same_state(em, tm)  # (spectral_norm's u, v start random)
    x = np.random.default_rng(0).standard_normal(shape)
    for _ in range(3):  # training mode: a power iteration per access
        ey, ty = em(eg.from_numpy(x)), tm(torch.from_numpy(x))
        (ey ** 2).sum().backward()
        (ty ** 2).sum().backward()
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        for p, q in zip(em.parameters(), tm.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12)
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(em.state_dict()[k].numpy(), v.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)


class _Symmetric(eg.nn.Module):
    def forward(self, x):
        return x.triu() + x.triu(1).transpose(0, 1)

    def right_inverse(self, a):
        return a.triu()


def test_register_assign_cache_and_remove():
    P = eg.nn.utils.parametrize
    m = eg.nn.Linear(3, 3)
    opt = eg.optim.SGD(m.parameters(), lr=0.1)
    P.register_parametrization(m, "weight", _Symmetric())
    assert P.is_parametrized(m) and P.is_parametrized(m, "weight") and not P.is_parametrized(m, "bias")
    assert P.type_before_parametrizations(m) is eg.nn.Linear and type(m).__name__ == "ParametrizedLinear"
    w = m.weight.detach().numpy()
    np.testing.assert_array_equal(w, w.T)
    with P.cached():
        assert m.weight is m.weight  # computed once inside the block
    assert m.weight is not m.weight
    m.weight = eg.ones(3, 3) * 2  # stored through right_inverse: the upper triangle
    np.testing.assert_array_equal(m.parametrizations.weight.original.numpy(), np.triu(np.full((3, 3), 2.0)))
    loss = m(eg.ones(2, 3)).sum()
    loss.backward()
    opt.step()  # the optimizer built before holds the same original parameter
    assert m.parametrizations.weight.original.grad is not None
    import copy

    twin = copy.deepcopy(m)  # (AveragedModel deep-copies its model) a parametrized copy with its own original
    assert type(twin) is type(m) and twin.parametrizations.weight.original is not m.parametrizations.weight.original
    np.testing.assert_array_equal(twin.weight.detach().numpy(), m.weight.detach().numpy())
    P.remove_parametrizations(m, "weight")
    assert type(m) is eg.nn.Linear and list(m.state_dict()) == ["bias", "weight"]  # (re-registered last, as PyTorch)
    np.testing.assert_array_equal(m.weight.numpy(), m.weight.numpy().T)
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(m, "weight")
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element"):
        P.register_parametrization(m, "nothing", _Symmetric())
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive"):
        eg.nn.utils.parametrizations.spectral_norm(eg.nn.Linear(2, 2), n_power_iterations=0)
    legacy = eg.nn.utils.spectral_norm(eg.nn.Linear(2, 2))  # torch.nn.utils.spectral_norm's name
    assert "parametrizations.weight.original" in legacy.state_dict()
