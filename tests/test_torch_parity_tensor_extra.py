"""The operations real training scripts use beyond the issue's list, side by side with PyTorch 2.13 (see
tensor_op_parity.py: random shapes with size-1 and zero-size dims, non-contiguous inputs, float64 to 1e-10
for values and gradients, a float32 run, gradcheck and gradgradcheck of the differentiable ones):
``F.pad``, ``F.one_hot``, ``repeat_interleave``, ``meshgrid``, ``cartesian_prod``, ``block_diag``, ``kron``,
``tensordot``, ``cross``, ``cdist``, ``diff``, ``lerp``, ``addcmul``, ``addcdiv``, ``atan2``, ``erf``,
``erfc``, ``erfinv``, ``median``/``nanmedian``, ``mode``, ``unique``, ``unique_consecutive``, ``bincount``, ``histc``,
``searchsorted``, ``bucketize``."""
from __future__ import annotations

import numpy as np
import pytest

from tensor_op_parity import Op, Raises, away, distinct, ints, make_tests, ndim, normal, positive, shape, size

import eigengrad as eg


def _pad_case(rng):
    mode = ("constant", "reflect", "replicate", "circular")[int(rng.integers(0, 4))]
    if mode == "constant":
        x = normal(rng, shape(rng, ndim(rng, 1, 4)))
        k = int(rng.integers(1, x.ndim + 1))
        amounts = tuple(int(rng.integers(-1, 3)) for _ in range(2 * k))
        return x, amounts, mode, float(rng.choice([0.0, 1.5]))
    k = int(rng.integers(1, 4))
    x = normal(rng, tuple(size(rng, zero=False) + 2 for _ in range(k + int(rng.integers(1, 3)))))
    amounts = tuple(int(rng.integers(-1 if mode != "replicate" else 0, 3)) for _ in range(2 * k))
    return x, amounts, mode, None


def _pad(L, x, amounts, mode, value):
    F = L.nn.functional
    return F.pad(x, amounts, mode=mode) if value is None else F.pad(x, amounts, mode=mode, value=value)


def _one_hot(rng):
    n = int(rng.integers(1, 6))
    return ints(rng, shape(rng, ndim(rng, 1, 3)), 0, n), int(rng.choice([-1, n, n + 2]))


def _repeat_interleave(rng):
    x = normal(rng, shape(rng, ndim(rng, 1, 3)))
    form = int(rng.integers(0, 3))
    if form == 0:
        return x, int(rng.integers(0, 4)), None
    d = int(rng.integers(-x.ndim, x.ndim))
    if form == 1:
        return x, int(rng.integers(0, 4)), d
    return x, rng.integers(0, 4, x.shape[d]).astype(np.int64), d


def _vectors(k_max=3):
    return lambda rng: tuple(normal(rng, (size(rng),)) for _ in range(int(rng.integers(1, k_max + 1))))


def _blocks(rng):
    # no zero-size blocks: PyTorch 2.13's block_diag backward sends the gradient of the blocks after an empty
    # 1-D block to the wrong rows (its values are right; eigengrad's gradient is the slice of its output)
    return tuple(normal(rng, shape(rng, ndim(rng, 0, 2), zero=False)) for _ in range(int(rng.integers(1, 4))))


def _kron(rng):
    return normal(rng, shape(rng, ndim(rng, 1, 3))), normal(rng, shape(rng, ndim(rng, 1, 3)))


def _tensordot(rng):
    k = int(rng.integers(0, 3))
    shared = shape(rng, k)
    a = normal(rng, shape(rng, int(rng.integers(0, 2))) + shared)
    b = normal(rng, shared + shape(rng, int(rng.integers(0, 2))))
    return a, b, k


def _cross(rng):
    shp = list(shape(rng, ndim(rng, 1, 3)))
    d = int(rng.integers(0, len(shp)))
    shp[d] = 3
    b = list(shp)
    if len(b) > 1 and rng.random() < 0.3:
        b[(d + 1) % len(b)] = 1
    return normal(rng, tuple(shp)), normal(rng, tuple(b)), d - len(shp) if rng.random() < 0.5 else d


def _cdist(rng):
    batch = shape(rng, int(rng.integers(0, 2)), zero=False)
    m = size(rng, zero=False)
    a, b = normal(rng, batch + (size(rng), m)), normal(rng, batch + (size(rng), m))
    return a, b, float(rng.choice([1.0, 2.0, 3.0, np.inf]))


def _diff(rng):
    x = normal(rng, shape(rng, ndim(rng, 1, 3)))
    d = int(rng.integers(-x.ndim, x.ndim))
    extra = tuple(x.shape[:d % x.ndim]) + (int(rng.integers(1, 3)),) + tuple(x.shape[d % x.ndim + 1:])
    pre = normal(rng, extra) if rng.random() < 0.3 else None
    return x, int(rng.integers(1, 3)), d, pre


def _ternary(maker3=normal):
    def make(rng):
        shp = shape(rng, ndim(rng, 1, 3))
        return normal(rng, shp), normal(rng, shp), maker3(rng, shp)
    return make


def _lerp_weight(rng):
    shp = shape(rng, ndim(rng, 1, 3))
    w = rng.uniform(-0.5, 1.5, shp) if rng.random() < 0.5 else float(rng.choice([0.25, 0.5, 0.75, 1.0]))
    return normal(rng, shp), normal(rng, shp), w


def _median_case(rng):
    x = distinct(rng, shape(rng, ndim(rng, 1, 3), zero=False))
    return x, int(rng.integers(-x.ndim, x.ndim)), bool(rng.random() < 0.5)


def _mode_case(rng):
    """Many ties (values in steps of 0.5): the mode is the smallest of the most frequent values, its index the
    last occurrence (PyTorch's for rows of up to 16; beyond, its unstable sort picks any occurrence)."""
    x = np.round(normal(rng, shape(rng, ndim(rng, 1, 3), zero=False)) * 2) / 2
    return x, int(rng.integers(-x.ndim, x.ndim)), bool(rng.random() < 0.5)


def _unique(rng):
    return (ints(rng, shape(rng, ndim(rng, 1, 3)), -2, 3),)


def _bincount(rng):
    x = ints(rng, (size(rng),), 0, 6)
    return x, (positive(rng, x.shape) if rng.random() < 0.5 else None)


def _searchsorted(rng):
    seq = np.sort(ints(rng, (int(rng.integers(0, 6)),), -5, 6))
    return seq, ints(rng, shape(rng, ndim(rng, 0, 2)), -6, 7), bool(rng.random() < 0.5)


OPS = [
    Op("pad", _pad, _pad_case, cases=16),
    Op("one_hot", lambda L, x, n: L.nn.functional.one_hot(x, n), _one_hot, grad=False),
    Op("repeat_interleave", lambda L, x, r, d: L.repeat_interleave(x, L.tensor(r) if isinstance(r, np.ndarray) else r,
                                                                    dim=d), _repeat_interleave, cases=10),
    Op("repeat_interleave-counts", lambda L, r: L.repeat_interleave(r),
       lambda rng: (rng.integers(0, 4, size(rng)).astype(np.int64),), grad=False),
    Op("meshgrid-ij", lambda L, *ts: L.meshgrid(*ts, indexing="ij"), _vectors()),
    Op("meshgrid-xy", lambda L, *ts: L.meshgrid(*ts, indexing="xy"), _vectors()),
    Op("cartesian_prod", lambda L, *ts: L.cartesian_prod(*ts), _vectors()),
    Op("block_diag", lambda L, *ts: L.block_diag(*ts), _blocks, cases=8),
    Op("kron", lambda L, a, b: L.kron(a, b), _kron),
    Op("tensordot", lambda L, a, b, k: L.tensordot(a, b, dims=k), _tensordot, cases=8),
    Op("cross", lambda L, a, b, d: L.linalg.cross(a, b, dim=d), _cross),
    Op("cdist", lambda L, a, b, p: L.cdist(a, b, p=p), _cdist, cases=10, gradgradcheck=False),
    Op("diff", lambda L, x, n, d, pre: L.diff(x, n, d, prepend=pre), _diff, cases=8),
    Op("lerp", lambda L, a, b, w: L.lerp(a, b, w), _lerp_weight, cases=8),
    Op("addcmul", lambda L, a, b, c: L.addcmul(a, b, c, value=0.5), _ternary()),
    Op("addcdiv", lambda L, a, b, c: L.addcdiv(a, b, c, value=-2), _ternary(away)),
    Op("atan2", lambda L, a, b: L.atan2(a, b), lambda rng: (away(rng, (size(rng), 3)), away(rng, (3,)))),
    Op("erf", lambda L, x: L.erf(x), lambda rng: (normal(rng, shape(rng, ndim(rng))) * 2,)),
    Op("erfc", lambda L, x: L.erfc(x), lambda rng: (normal(rng, shape(rng, ndim(rng))) * 2,)),
    Op("erfinv", lambda L, x: L.erfinv(x), lambda rng: (rng.uniform(-0.95, 0.95, shape(rng, ndim(rng))),)),
    Op("median", lambda L, x: L.median(x), lambda rng: (distinct(rng, shape(rng, ndim(rng), zero=False)),)),
    Op("median-dim", lambda L, x, d, k: L.median(x, d, k), _median_case),
    Op("nanmedian-dim", lambda L, x, d, k: L.nanmedian(x, d, k), _median_case),
    Op("mode-ties", lambda L, x, d, k: L.mode(x, d, k), _mode_case, grad=False),
    Op("mode-ints", lambda L, x: L.mode(x), lambda rng: (ints(rng, shape(rng, ndim(rng, 1, 3), zero=False), -2, 3),),
       grad=False),
    Op("mode-distinct", lambda L, x, d, k: L.mode(x, d, k), _median_case),  # its gradient: a gather
    Op("unique", lambda L, x: L.unique(x, return_inverse=True, return_counts=True), _unique, grad=False),
    Op("unique-dim", lambda L, x: L.unique(x, dim=0, return_inverse=True, return_counts=True), _unique, grad=False),
    Op("unique_consecutive", lambda L, x: L.unique_consecutive(x, return_inverse=True, return_counts=True), _unique,
       grad=False),
    Op("bincount", lambda L, x, w: L.bincount(x, w, minlength=3), _bincount, grad=False),
    Op("histc", lambda L, x: L.histc(x, bins=5), lambda rng: (normal(rng, (size(rng) * 3,)),), grad=False),
    Op("searchsorted", lambda L, s, v, right: L.searchsorted(s, v, right=right), _searchsorted, grad=False),
    Op("bucketize", lambda L, s, v, right: L.bucketize(v, s, right=right), _searchsorted, grad=False),
    Raises("pad-reflect-too-wide", lambda L, x: L.nn.functional.pad(x, (3, 0), mode="reflect"),
           lambda rng: (normal(rng, (1, 2, 3)),)),
    Raises("one_hot-out-of-range", lambda L, x: L.nn.functional.one_hot(x, 2), lambda rng: (ints(rng, (3,), 2, 4),),
           grad=False),
    Raises("bincount-negative", lambda L, x: L.bincount(x), lambda rng: (ints(rng, (3,), -3, -1),), grad=False),
]

test_matches_torch, test_matches_torch_float32, test_gradcheck = make_tests(OPS)


def test_in_place_forms_match_their_functions():
    a, b, c = (eg.tensor(np.random.default_rng(i).uniform(0.5, 2.0, (3, 4))) for i in range(3))
    for name, args in (("lerp", (b, 0.3)), ("addcmul", (b, c)), ("addcdiv", (b, c)), ("atan2", (b,)), ("erf", ()),
                       ("erfinv", ())):
        x = a.clone() if name != "erfinv" else a.clone() / 3
        expected = getattr(eg, name)(x, *args)
        assert getattr(x, name + "_")(*args) is x
        np.testing.assert_array_equal(x.numpy(), expected.numpy())


def test_pad_and_one_hot_errors_name_the_problem():
    F = eg.nn.functional
    x = eg.zeros(1, 2, 3)
    with pytest.raises(ValueError, match="Padding length must be divisible by 2"):
        F.pad(x, (1,))
    with pytest.raises(NotImplementedError, match="Padding size 2 is not supported for 1D input tensor"):
        F.pad(eg.zeros(3), (1, 1), mode="reflect")
    with pytest.raises(ValueError, match="doesn't take in value argument"):
        F.pad(x, (1, 1), mode="replicate", value=1.0)
    with pytest.raises(TypeError, match="LongTensor"):
        F.one_hot(eg.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="Can not infer total number of classes from empty tensor"):
        F.one_hot(eg.tensor(np.zeros(0, np.int64)))


def test_mode_of_long_rows_is_a_last_occurrence_of_the_smallest_most_frequent_value():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, (4, 1000)).astype(np.float32)
    values, indices = eg.mode(eg.tensor(x), 1)
    for row, v, i in zip(x, values.numpy(), indices.numpy()):
        counts = {float(u): int((row == u).sum()) for u in np.unique(row)}
        top = max(counts.values())
        assert v == min(u for u, c in counts.items() if c == top)
        assert i == np.flatnonzero(row == v)[-1]
    torch = pytest.importorskip("torch", reason="PyTorch's values for the same rows")
    np.testing.assert_array_equal(torch.mode(torch.from_numpy(x), 1).values.numpy(), values.numpy())
    with pytest.raises(IndexError, match=r"mode\(\): Expected reduction dim 1 to have non-zero size"):
        eg.mode(eg.zeros(3, 0), 1)
    assert eg.mode(eg.tensor(5.0)) == (5.0, 0) and eg.zeros(0, 3).mode(1).indices.dtype == eg.int64


def test_erfinv_is_exact_to_double_in_the_tails():
    torch = pytest.importorskip("torch", reason="PyTorch's erfinv is the reference")
    x = np.concatenate([1 - np.logspace(-15.5, -1, 200), np.logspace(-300, -1, 100), [0.0, 1.0, -1.0, 1.5]])
    e, t = eg.erfinv(eg.tensor(x)).numpy(), torch.erfinv(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(np.isnan(e), np.isnan(t))
    ok = np.isfinite(t)
    np.testing.assert_array_equal(e[~ok & ~np.isnan(t)], t[~ok & ~np.isnan(t)])
    np.testing.assert_allclose(e[ok], t[ok], rtol=1e-15, atol=0)
