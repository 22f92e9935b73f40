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
    np.testing.assert_array_equal(m.parametrizations.weight.original.detach().numpy(), np.triu(np.full((3, 3), 2.0)))
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
    np.testing.assert_array_equal(m.weight.detach().numpy(), m.weight.detach().numpy().T)
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(m, "weight")
    with pytest.raises(ValueError, match="does not have a parameter, a buffer, or a parametrized element"):
        P.register_parametrization(m, "nothing", _Symmetric())
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive"):
        eg.nn.utils.parametrizations.spectral_norm(eg.nn.Linear(2, 2), n_power_iterations=0)
    legacy = eg.nn.utils.spectral_norm(eg.nn.Linear(2, 2))  # the hook-based form (test_nn_spectral_norm_legacy)
    assert sorted(legacy.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]


ORTHOGONAL = [(shape, orth_map, triv) for shape in ((5, 5), (6, 3), (3, 6), (2, 4, 4), (1, 1))
              for orth_map in (None, "matrix_exp", "cayley", "householder") for triv in (True, False)]


def _assignable(shape, orth_map, triv):
    """Whether the weight can be assigned (without trivialization only the householder map inverts; the
    registration then keeps the weight as the parameter, as PyTorch's)."""
    square = shape[-1] == shape[-2]
    return triv or orth_map == "householder" or (orth_map is None and not square)


@pytest.mark.parametrize("shape, orth_map, triv", ORTHOGONAL, ids=lambda v: str(v))
def test_orthogonal_matches_torch(shape, orth_map, triv):
    rng = np.random.default_rng(sum(shape))
    w = rng.standard_normal(shape)

    class Holder:  # a module whose weight may be a batch of matrices
        def __init__(self, L):
            self.m = L.nn.Module()
            self.m.weight = L.nn.Parameter(L.from_numpy(w.copy()))

    em, tm = Holder(eg).m, Holder(torch).m
    PE, PT = eg.nn.utils.parametrizations, torch.nn.utils.parametrizations
    PE.orthogonal(em, orthogonal_map=orth_map, use_trivialization=triv)
    PT.orthogonal(tm, orthogonal_map=orth_map, use_trivialization=triv)
    if not _assignable(shape, orth_map, triv):
        with pytest.raises(NotImplementedError) as theirs:
            tm.weight = torch.from_numpy(w.copy())
        with pytest.raises(NotImplementedError, match=str(theirs.value)):
            em.weight = eg.from_numpy(w.copy())
    assert list(em.state_dict()) == list(tm.state_dict())
    if shape[-1] == shape[-2] or not triv:  # no random completion: registration is deterministic
        for k, v in tm.state_dict().items():
            np.testing.assert_allclose(em.state_dict()[k].numpy(), v.numpy(), rtol=1e-10, atol=1e-12, err_msg=k)
        np.testing.assert_allclose(em.weight.detach().numpy(), tm.weight.detach().numpy(), rtol=1e-10, atol=1e-12)
    _same_state(em, tm)
    # move away from the identity point, then compare the weight and the gradient of a loss through it
    off_diagonal = 1.0 - np.eye(shape[-2], shape[-1])  # householder reads the diagonal's signs (kept at -1)
    with torch.no_grad():
        tm.parametrizations.weight.original.add_(torch.from_numpy(rng.standard_normal(shape) * 0.3 * off_diagonal))
    _same_state(em, tm)
    target = rng.standard_normal(shape)
    ew, tw = em.weight, tm.weight
    np.testing.assert_allclose(ew.detach().numpy(), tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    n, k = shape[-2], shape[-1]
    e = ew.detach().numpy()
    gram = e @ np.swapaxes(e, -1, -2) if n < k else np.swapaxes(e, -1, -2) @ e
    np.testing.assert_allclose(gram, np.broadcast_to(np.eye(min(n, k)), gram.shape), atol=1e-12)
    ((ew * eg.from_numpy(target)).sum() ** 2).backward()
    ((tw * torch.from_numpy(target)).sum() ** 2).backward()
    eo, to = em.parametrizations.weight.original, tm.parametrizations.weight.original
    np.testing.assert_allclose(eo.grad.numpy(), to.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_orthogonal_assignment_training_and_errors():
    lin = eg.nn.Linear(4, 4).double()
    eg.nn.utils.parametrizations.orthogonal(lin)
    q = np.linalg.qr(np.random.default_rng(1).standard_normal((4, 4)))[0]
    lin.weight = eg.from_numpy(q.copy())  # an orthogonal matrix: kept as it is (the new base)
    np.testing.assert_allclose(lin.weight.detach().numpy(), q, atol=1e-14)
    lin.weight = eg.from_numpy(np.diag([2.0, 1.0, 1.0, 1.0]))  # not orthogonal: made so by QR, diag(R) > 0
    np.testing.assert_allclose(lin.weight.detach().numpy(), np.eye(4), atol=1e-14)
    opt = eg.optim.SGD(lin.parameters(), lr=0.1)
    x, y = (eg.from_numpy(np.random.default_rng(s).standard_normal((8, 4))) for s in (2, 3))
    for _ in range(5):
        opt.zero_grad()
        ((lin(x) - y) ** 2).mean().backward()
        opt.step()
    w = lin.weight.detach().numpy()
    assert not np.allclose(w, np.eye(4), atol=1e-3)  # it trained
    np.testing.assert_allclose(w.T @ w, np.eye(4), atol=1e-12)  # and stayed orthogonal
    with pytest.raises(ValueError, match=r"Expected a matrix or batch of matrices of shape \(4, 4\)"):
        lin.weight = eg.zeros(3, 4, dtype=eg.float64)
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices. Got a tensor of 1 dimensions"):
        eg.nn.utils.parametrizations.orthogonal(lin, "bias")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                                         "Got: qr"):
        eg.nn.utils.parametrizations.orthogonal(eg.nn.Linear(2, 2), orthogonal_map="qr")
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'kernel'"):
        eg.nn.utils.parametrizations.orthogonal(eg.nn.Linear(2, 2), "kernel")
