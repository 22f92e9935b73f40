"""eigengrad.linalg's matrix functions and decompositions side by side with torch.linalg 2.13 (tensor_op_parity.py: random
batches, float64 to 1e-10 for values and gradients, a float32 run, gradcheck and gradgradcheck)."""
from __future__ import annotations

import numpy as np

from tensor_op_parity import Op, Raises, make_tests, normal, size


def _well_conditioned(rng, batch=True):
    n = int(rng.integers(1, 5))
    lead = (size(rng, zero=False),) if batch and rng.random() < 0.5 else ()
    return normal(rng, lead + (n, n)) * 0.3 + 2.0 * np.eye(n)


def _spd(rng):
    a = normal(rng, (int(rng.integers(1, 5)),) * 2)
    return (a @ a.T + a.shape[0] * np.eye(a.shape[0]),)


def _solve(rng):
    a = _well_conditioned(rng)
    form = int(rng.integers(0, 2))
    b = normal(rng, a.shape[:-1] + ((int(rng.integers(1, 4)),) if form else ()))
    return a, b


def _sym_fn(fn):
    """A function of the symmetrised input, so that gradcheck's perturbations stay in the domain."""
    return lambda L, a: fn(L, (a + a.mT) * 0.5)


def _tall(rng):
    m = int(rng.integers(1, 6))
    lead = (size(rng, zero=False),) if rng.random() < 0.5 else ()
    return (normal(rng, lead + (m + int(rng.integers(0, 3)), m)),)


def _wide(rng):
    return (np.swapaxes(_tall(rng)[0], -1, -2),)


def _any_matrix(rng):
    return _tall(rng) if rng.random() < 0.5 else _wide(rng)


def _eigh_invariant(L, a, uplo="L"):
    """What does not depend on the eigenvectors' signs: the values, Q diag(l^2) Q^T and Q o Q."""
    l, q = L.linalg.eigh((a + a.mT) * 0.5, UPLO=uplo)
    return l, q @ ((l * l).unsqueeze(-1) * q.mT), q * q


def _qr_invariant(L, a):
    """Q and R with R's diagonal made positive (unique for a full-rank A)."""
    q, r = L.linalg.qr(a)
    sign = r.diagonal(dim1=-2, dim2=-1).sign()
    return q * sign.unsqueeze(-2), r * sign.unsqueeze(-1)


def _svd_invariant(L, a):
    """S, U o U, Vh o Vh and U diag(S^2) Vh (reduced)."""
    u, s, vh = L.linalg.svd(a, full_matrices=False)
    return s, u * u, vh * vh, (u * (s * s).unsqueeze(-2)) @ vh


def _tri_system(rng):
    n = int(rng.integers(1, 5))
    a = normal(rng, (n, n)) * 0.3 + 2.0 * np.eye(n)
    return a, normal(rng, (n, int(rng.integers(1, 4))))


def _exp_input(rng):
    """A square matrix (or batch) at a random scale: 1-norms from ~0.01 (no squaring) to ~40 (several)."""
    n = int(rng.integers(1, 7))
    lead = (size(rng),) if rng.random() < 0.5 else ()
    return (normal(rng, lead + (n, n)) * float(rng.choice([0.01, 0.3, 1.0, 4.0, 12.0])),)


def _reflectors(rng):
    """(A (..., m, n), tau (..., k)), k <= n <= m: any values (householder_product takes any reflectors)."""
    n = int(rng.integers(1, 5))
    m, k = n + int(rng.integers(0, 3)), int(rng.integers(0, n + 1))
    lead = (size(rng, zero=False),) if rng.random() < 0.5 else ()
    return normal(rng, lead + (m, n)), normal(rng, lead + (k,))


def _geqrf_invariant(L, a):
    """geqrf's packed R and reflectors, and the Q householder_product builds from them (A = QR)."""
    packed, tau = L.geqrf(a)
    return packed, tau, L.linalg.householder_product(packed, tau)


OPS = [
    Op("matrix_exp", lambda L, a: L.linalg.matrix_exp(a), _exp_input, cases=10),
    Op("matrix_exp-top-level-and-method", lambda L, a: (L.matrix_exp(a), a.matrix_exp()), _exp_input),
    Op("matrix_exp-skew-symmetric", lambda L, a: L.matrix_exp(a - a.mT), _exp_input),  # orthogonal's map
    Op("householder_product", lambda L, a, t: L.linalg.householder_product(a, t), _reflectors, cases=10),
    Op("orgqr", lambda L, a, t: (L.orgqr(a, t), a.orgqr(t)), _reflectors),
    # a reflector with tau = 0 (the identity: LAPACK's for a zero column) takes the one-by-one path
    Op("householder_product-zero-tau", lambda L, a, t: L.linalg.householder_product(a, t * (t > 0)), _reflectors),
    Op("geqrf-zero-column", _geqrf_invariant,
       lambda rng: (np.concatenate([normal(rng, (5, 1)), np.zeros((5, 1)), normal(rng, (5, 2))], axis=1),), grad=False),
    Op("geqrf", _geqrf_invariant, _tall, grad=False, cases=8),
    Op("geqrf-wide-method", lambda L, a: a.geqrf(), _wide, grad=False),
    Raises("matrix_exp-not-square", lambda L, a: L.matrix_exp(a), lambda rng: (normal(rng, (2, 3)),)),
    Raises("matrix_exp-vector", lambda L, a: L.matrix_exp(a), lambda rng: (normal(rng, (3,)),)),
    Raises("matrix_exp-integer", lambda L, a: L.matrix_exp(a), lambda rng: (np.ones((2, 2), np.int64),)),
    Raises("householder_product-wide", lambda L, a, t: L.linalg.householder_product(a, t),
           lambda rng: (normal(rng, (2, 3)), normal(rng, (2,)))),
    Raises("householder_product-long-tau", lambda L, a, t: L.linalg.householder_product(a, t),
           lambda rng: (normal(rng, (3, 2)), normal(rng, (3,)))),
    Raises("householder_product-tau-batch", lambda L, a, t: L.linalg.householder_product(a, t),
           lambda rng: (normal(rng, (2, 3, 2)), normal(rng, (3, 1)))),
    Raises("householder_product-tau-ndim", lambda L, a, t: L.linalg.householder_product(a, t),
           lambda rng: (normal(rng, (3, 2)), normal(rng, (2, 1)))),
    Raises("geqrf-vector", lambda L, a: L.geqrf(a), lambda rng: (normal(rng, (3,)),)),
    Op("inv", lambda L, a: L.linalg.inv(a), lambda rng: (_well_conditioned(rng),)),
    Op("det", lambda L, a: L.linalg.det(a), lambda rng: (_well_conditioned(rng),)),
    Op("slogdet", lambda L, a: L.linalg.slogdet(a), lambda rng: (_well_conditioned(rng) * rng.choice([-1, 1]),)),
    Op("logdet", lambda L, a: L.logdet(a), lambda rng: (_well_conditioned(rng),)),
    Op("solve", lambda L, a, b: L.linalg.solve(a, b), _solve, cases=8),
    Op("solve-right", lambda L, a, b: L.linalg.solve(a, b, left=False),
       lambda rng: (lambda a: (a, normal(rng, (2,) + a.shape[-1:])))(_well_conditioned(rng, batch=False))),
    Op("cholesky", _sym_fn(lambda L, a: L.linalg.cholesky(a)), _spd),
    Op("cholesky-upper", _sym_fn(lambda L, a: L.linalg.cholesky(a, upper=True)), _spd),
    Op("matrix_power", lambda L, a: L.linalg.matrix_power(a, 3), lambda rng: (_well_conditioned(rng),)),
    Op("matrix_power-negative", lambda L, a: L.linalg.matrix_power(a, -2), lambda rng: (_well_conditioned(rng),)),
    Op("multi_dot", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]),
       lambda rng: (normal(rng, (3,)), normal(rng, (3, 4)), normal(rng, (4, 2)))),
    Op("inverse-method", lambda L, a: a.inverse(), lambda rng: (_well_conditioned(rng),)),
    Op("eigh", _eigh_invariant, lambda rng: (_well_conditioned(rng),)),
    Op("eigh-upper", lambda L, a: _eigh_invariant(L, a, "U"), lambda rng: (_well_conditioned(rng),)),
    Op("eigvalsh", lambda L, a: L.linalg.eigvalsh((a + a.mT) * 0.5), lambda rng: (_well_conditioned(rng),)),
    Op("qr", _qr_invariant, _tall, cases=8),
    Op("qr-wide", _qr_invariant, _wide),
    Op("svd", _svd_invariant, _any_matrix, cases=8),
    Op("svdvals", lambda L, a: L.linalg.svdvals(a), _any_matrix),
    Op("svd-old-V", lambda L, a: (lambda u, s, v: (v * v, s))(*L.svd(a)), _tall),
    Op("pinv", lambda L, a: L.linalg.pinv(a), _any_matrix, cases=8),
    Op("pinverse", lambda L, a: L.pinverse(a), _any_matrix),
    Op("pinv-hermitian", lambda L, a: L.linalg.pinv((a + a.mT) * 0.5, hermitian=True),
       lambda rng: (_well_conditioned(rng),)),
    Op("lstsq", lambda L, a, b: L.linalg.lstsq(a, b).solution, lambda rng: (lambda a: (a, normal(rng, a.shape[:-1] + (2,))))(
        _tall(rng)[0])),
    Op("solve_triangular-lower", lambda L, a, b: L.linalg.solve_triangular(a, b, upper=False), _tri_system),
    Op("solve_triangular-upper-unit-right", lambda L, a, b: L.linalg.solve_triangular(
        a, b.mT, upper=True, unitriangular=True, left=False), _tri_system),
    Op("matrix_norm-nuc", lambda L, a: L.linalg.matrix_norm(a, "nuc"), _any_matrix),
    Op("matrix_norm-2", lambda L, a: L.linalg.matrix_norm(a, 2), _any_matrix),
    Op("matrix_norm-inf-keepdim", lambda L, a: L.linalg.matrix_norm(a, float("inf"), keepdim=True), _any_matrix),
    Op("norm-1-dims", lambda L, a: L.linalg.norm(a, 1, dim=(0, -1)), lambda rng: (normal(rng, (3, 2, 4)),)),
    # n >= 2: for a 1 x 1 matrix cond is s / s, whose gradient is zero up to the rounding of either library
    Op("cond", lambda L, a: L.linalg.cond(a), lambda rng: (normal(rng, (3, 3)) + 2.0 * np.eye(3),)),
    Op("vander", lambda L, a: L.linalg.vander(a), lambda rng: (normal(rng, (2, int(rng.integers(1, 5)))),)),
    Op("vecdot", lambda L, a, b: L.linalg.vecdot(a, b, dim=0), lambda rng: (normal(rng, (3, 4)), normal(rng, (3, 1)))),
    Op("matrix_rank", lambda L, a: L.linalg.matrix_rank(a @ a.mT), _tall, grad=False),
    Raises("eigh-not-square", lambda L, a: L.linalg.eigh(a), lambda rng: (normal(rng, (2, 3)),)),
    Raises("qr-bad-mode", lambda L, a: L.linalg.qr(a, mode="full"), lambda rng: (normal(rng, (3, 3)),)),
    Raises("svd-vector", lambda L, a: L.linalg.svd(a), lambda rng: (normal(rng, (3,)),)),
    Raises("inv-not-square", lambda L, a: L.linalg.inv(a), lambda rng: (normal(rng, (2, 3)),)),
    Raises("cholesky-not-positive", lambda L, a: L.linalg.cholesky(a), lambda rng: (-np.eye(3),)),
]

test_matches_torch, test_matches_torch_float32, test_gradcheck = make_tests(OPS)


def test_decompositions_of_empty_batches_and_empty_matrices():
    """Zero-size batches and 0 x n matrices give PyTorch's shapes, and a zero-size gradient."""
    import pytest

    torch = pytest.importorskip("torch", reason="PyTorch parity needs torch")
    import eigengrad as eg

    fns = {"eigh": lambda L, a: L.linalg.eigh(a)[0], "svd": lambda L, a: L.linalg.svd(a)[1],
           "qr": lambda L, a: L.linalg.qr(a)[1], "pinv": lambda L, a: L.linalg.pinv(a),
           "svdvals": lambda L, a: L.linalg.svdvals(a), "matrix_exp": lambda L, a: L.matrix_exp(a),
           "householder_product": lambda L, a: L.linalg.householder_product(a, a.sum(-2))}
    for name, fn in fns.items():
        square = name in ("eigh", "matrix_exp")
        for shape in ((0, 3, 3), (3, 0, 0)) + (() if square else ((2, 0, 3),) if name != "householder_product" else ()):
            x = eg.tensor(np.zeros(shape), requires_grad=True)
            out = fn(eg, x)
            assert tuple(out.shape) == tuple(fn(torch, torch.zeros(shape, dtype=torch.float64)).shape), (name, shape)
            out.sum().backward()
            assert x.grad.shape == shape


def test_householder_product_and_geqrf_write_out():
    import eigengrad as eg

    a = eg.tensor(np.random.default_rng(0).standard_normal((5, 3)))
    packed, tau = eg.geqrf(a)
    outs = (eg.empty(1, dtype=eg.float64), eg.empty(1, dtype=eg.float64))
    result = eg.geqrf(a, out=outs)
    assert result.a is outs[0] and result.tau is outs[1]
    np.testing.assert_array_equal(outs[0].numpy(), packed.numpy())
    np.testing.assert_array_equal(outs[1].numpy(), tau.numpy())
    q = eg.empty(5, 3, dtype=eg.float64)
    assert eg.linalg.householder_product(packed, tau, out=q) is q
    np.testing.assert_allclose(q.numpy().T @ q.numpy(), np.eye(3), atol=1e-14)
    import pytest

    with pytest.raises(TypeError, match="out: expected a pair of tensors"):
        eg.geqrf(a, out=q)
