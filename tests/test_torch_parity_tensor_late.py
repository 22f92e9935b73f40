"""The last PyTorch names a census of torch 2.13's top level found missing, side by side with PyTorch
(tensor_op_parity.py: random shapes with size-1 and zero-size dims, non-contiguous inputs, float64 to 1e-10
for values and gradients, a float32 run, gradcheck and gradgradcheck): diag_embed, diagflat, logcumsumexp,
the nn.functional operations exposed at the top level with the top level's signatures, and the window
functions."""
from __future__ import annotations

import numpy as np

from tensor_op_parity import Op, Raises, make_tests, ndim, normal, shape


def one(lo=1, hi=3, zero=True, scale=1.0):
    return lambda rng: (normal(rng, shape(rng, ndim(rng, lo, hi), zero)) * scale,)


def _dims_pair(rng, nd):
    d1, d2 = rng.choice(np.arange(-nd, nd), 2, replace=False)
    return int(d1), int(d2) if (int(d1) - int(d2)) % nd else (int(d1), (int(d1) + 1) % nd)


def _diag_embed(rng):
    x = one(1, 3)(rng)[0]
    offset = int(rng.integers(-2, 3))
    return x, offset, *_dims_pair(rng, x.ndim + 1)


def _cumulative(rng):
    x = one(1, 3, scale=float(rng.choice([1.0, 30.0])))(rng)[0]
    return x, int(rng.integers(-x.ndim, x.ndim))


def _conv1d(rng):
    groups = int(rng.integers(1, 3))
    return (normal(rng, (int(rng.integers(1, 3)), 2 * groups, int(rng.integers(3, 9)))),
            normal(rng, (2 * groups, 2, int(rng.integers(1, 4)))), normal(rng, (2 * groups,)), groups)


OPS = [
    Op("diag_embed", lambda L, x, k, d1, d2: L.diag_embed(x, k, d1, d2), _diag_embed),
    Op("diag_embed-method", lambda L, x: x.diag_embed(), one(1, 2)),
    Op("diagflat", lambda L, x: L.diagflat(x, 1), one(0, 2)),
    Op("logcumsumexp", lambda L, x, d: L.logcumsumexp(x, d), _cumulative, cases=8),
    Op("logcumsumexp-method", lambda L, x: x.logcumsumexp(0), one(1, 2)),
    Op("conv1d", lambda L, x, w, b, g: L.conv1d(x, w, b, 1, 1, 1, g), _conv1d),
    Op("dropout-eval", lambda L, x: L.dropout(x, 0.3, False), one()),
    Op("layer_norm", lambda L, x: L.layer_norm(x, x.shape[-1:], None, None, 1e-5, True),
       lambda rng: (normal(rng, (int(rng.integers(1, 4)), int(rng.integers(2, 7)))),)),  # over >= 2 values
    Op("group_norm", lambda L, x: L.group_norm(x, 1, None, None, 1e-5, True),
       lambda rng: (normal(rng, (2, 4, 3)),)),
    Op("adaptive_max_pool1d", lambda L, x: L.adaptive_max_pool1d(x, 2), lambda rng: (normal(rng, (2, 3, 7)),)),
    Op("max_pool1d", lambda L, x: L.max_pool1d(x, 2), lambda rng: (normal(rng, (2, 3, 7)),)),
    Op("pdist", lambda L, x: L.pdist(x), lambda rng: (normal(rng, (4, 3)),)),
    Op("cosine_similarity", lambda L, a, b: L.cosine_similarity(a, b), lambda rng: (normal(rng, (3, 4)),
                                                                                     normal(rng, (3, 4)))),
    Op("hann_window", lambda L, n, p: L.hann_window(n, p, dtype=L.float64), lambda rng: (int(rng.integers(0, 9)),
                                                                                        bool(rng.random() < 0.5)),
       grad=False),
    Op("kaiser_window", lambda L, n: L.kaiser_window(n, False, 5.0, dtype=L.float64),
       lambda rng: (int(rng.integers(0, 9)),), grad=False),
    Op("bartlett_window", lambda L, n: L.bartlett_window(n, dtype=L.float64), lambda rng: (int(rng.integers(0, 9)),),
       grad=False),
    Raises("diag_embed-same-dims", lambda L, x: L.diag_embed(x, 0, 1, 1), one(1, 2)),
    Raises("hann_window-negative", lambda L: L.hann_window(-1), lambda rng: ()),
]

test_matches_torch, test_matches_torch_float32, test_gradcheck = make_tests(OPS)
