"""eigengrad.linalg's square-matrix functions side by side with torch.linalg 2.13 (tensor_op_parity.py: random
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


OPS = [
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
    Raises("inv-not-square", lambda L, a: L.linalg.inv(a), lambda rng: (normal(rng, (2, 3)),)),
    Raises("cholesky-not-positive", lambda L, a: L.linalg.cholesky(a), lambda rng: (-np.eye(3),)),
]

test_matches_torch, test_matches_torch_float32, test_gradcheck = make_tests(OPS)
