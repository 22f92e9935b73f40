"""More of the tensor operations real scripts use, side by side with PyTorch 2.13 (tensor_op_parity.py: random
shapes with size-1 and zero-size dims, non-contiguous inputs, float64 to 1e-10 for values and gradients, a
float32 run, gradcheck and gradgradcheck): arranging (tile, rot90, *stack, *split, atleast_*, broadcast_*,
unfold windows, sum_to_size, combinations, triangle indices), composed elementwise functions (logaddexp,
xlogy, hypot, copysign, sinc, frac, logit, fmax/fmin, inverse hyperbolics, ...), statistics (nanmean, cummax,
quantile, trapezoid, cov, corrcoef, ...), index writes (index_put with accumulate, put, index_copy,
fill_diagonal_) and the in-place shape methods."""
from __future__ import annotations

import numpy as np
import pytest

from tensor_op_parity import Op, Raises, away, distinct, ints, make_tests, ndim, normal, positive, shape, size

import eigengrad as eg


def one(maker, lo=1, hi=3, zero=True):
    return lambda rng: (maker(rng, shape(rng, ndim(rng, lo, hi), zero)),)


def two_same(maker_a, maker_b=None):
    def make(rng):
        shp = shape(rng, ndim(rng, 1, 3))
        return maker_a(rng, shp), (maker_b or maker_a)(rng, shp)
    return make


def _tile(rng):
    x = normal(rng, shape(rng, ndim(rng, 0, 3)))
    return x, tuple(int(r) for r in rng.integers(0, 3, int(rng.integers(0, 4))))


def _rot90(rng):
    x = normal(rng, shape(rng, ndim(rng, 2, 4)))
    d0, d1 = rng.choice(x.ndim, 2, replace=False)
    return x, int(rng.integers(-3, 5)), (int(d0), int(d1))


def _unfold(rng):
    x = normal(rng, shape(rng, ndim(rng, 1, 3)))
    d = int(rng.integers(0, x.ndim))
    n = x.shape[d]
    return x, d, int(rng.integers(0, n + 1)), int(rng.integers(1, 4))


def _sum_to(rng):
    x = normal(rng, shape(rng, ndim(rng, 1, 4)))
    target = tuple(1 if rng.random() < 0.5 else s for s in x.shape)[int(rng.integers(0, x.ndim + 1)):]
    return x, target


def _index_put(rng):
    x = normal(rng, shape(rng, ndim(rng, 1, 3), zero=False))
    k = int(rng.integers(1, x.ndim + 1))
    m = size(rng)
    idx = tuple(rng.integers(-x.shape[d], x.shape[d], m).astype(np.int64) for d in range(k))
    values = normal(rng, (m,) + x.shape[k:]) if rng.random() < 0.7 else normal(rng, x.shape[k:])
    return (x, values, bool(rng.random() < 0.5)) + idx


def _index_put_fn(L, x, values, accumulate, *idx):
    return x.index_put(tuple(L.tensor(i) for i in idx), values, accumulate=accumulate)


def _put(rng):
    x = normal(rng, shape(rng, ndim(rng, 1, 3), zero=False))
    m = size(rng)
    return x, rng.integers(-x.size, x.size, m).astype(np.int64), normal(rng, (m,)), bool(rng.random() < 0.5)


def _index_copy(rng):
    x = normal(rng, shape(rng, ndim(rng, 1, 3), zero=False))
    d = int(rng.integers(0, x.ndim))
    idx = rng.permutation(x.shape[d])[:int(rng.integers(0, x.shape[d] + 1))].astype(np.int64)
    src_shape = list(x.shape)
    src_shape[d] = idx.size
    return x, d, idx, normal(rng, tuple(src_shape))


def _cummax(rng):
    x = normal(rng, shape(rng, ndim(rng, 1, 3)))
    if x.size and rng.random() < 0.5:  # ties (the later index wins)
        x = np.round(x)
    return x, int(rng.integers(-x.ndim, x.ndim))


def _quantile(rng):
    x = distinct(rng, shape(rng, ndim(rng, 1, 3), zero=False))
    # (a number q on a grid half the time: whole positions, where midpoint once averaged two neighbours; a
    # tensor q off it, as the gradient with respect to q has a kink there)
    if rng.random() < 0.5:
        q = float(rng.choice([0.0, 0.25, 0.5, 1.0])) if rng.random() < 0.5 else float(rng.uniform())
    else:
        q = np.sort(rng.uniform(size=3))
    dim = None if rng.random() < 0.3 else int(rng.integers(-x.ndim, x.ndim))
    interp = ("linear", "lower", "higher", "midpoint", "nearest")[int(rng.integers(0, 5))]
    return x, q, dim, bool(rng.random() < 0.5), interp


def _quantile_fn(L, x, q, dim, keepdim, interp):
    q = L.tensor(q) if isinstance(q, np.ndarray) else q
    return L.quantile(x, q, dim, keepdim, interpolation=interp)


def _trapz(rng):
    y = normal(rng, shape(rng, ndim(rng, 1, 3)))
    d = int(rng.integers(-y.ndim, y.ndim))
    form = int(rng.integers(0, 3))
    x = np.sort(normal(rng, (y.shape[d],))) if form == 1 else None
    return y, x, (0.5 if form == 2 else None), d


def _cov(rng):
    return (normal(rng, (int(rng.integers(1, 4)), int(rng.integers(2, 6)))),)


def _nan_rows(rng):
    # every row keeps a number: on a row of NaN only, PyTorch's gradient is inf * 0 = NaN, eigengrad's 0
    x = normal(rng, shape(rng, ndim(rng, 1, 3)))
    dim = None if rng.random() < 0.3 else int(rng.integers(-x.ndim, x.ndim))
    if x.size:
        x.flat[rng.integers(0, x.size, max(1, x.size // 4))] = np.nan
        first = (0,) * x.ndim if dim is None else (slice(None),) * (dim % x.ndim) + (0,)
        x[first] = rng.standard_normal(np.shape(x[first]))
    return x, dim


def _inplace_shape(name, *args):
    return lambda L, x: getattr(x.clone() * 1.0, name)(*args)


OPS = [
    Op("tile", lambda L, x, r: L.tile(x, r), _tile),
    Op("ravel", lambda L, x: L.ravel(x), one(normal)),
    Op("rot90", lambda L, x, k, d: L.rot90(x, k, d), _rot90, cases=8),
    Op("column_stack", lambda L, a, b: L.column_stack([a, b]),
       lambda rng: (lambda n: (normal(rng, (n,)), normal(rng, (n, 2))))(size(rng))),
    Op("dstack", lambda L, a, b: L.dstack([a, b]), two_same(normal)),
    Op("row_stack", lambda L, a, b: L.row_stack([a, b]), two_same(normal)),
    Op("hsplit", lambda L, x: L.hsplit(x, [1, 2]), one(normal, 1, 3)),
    Op("vsplit", lambda L, x: L.vsplit(x, [1]), one(normal, 2, 3)),
    Op("atleast_3d", lambda L, a, b: L.atleast_3d(a, b), lambda rng: (normal(rng, ()), normal(rng, (size(rng), 2)))),
    Op("broadcast_tensors", lambda L, a, b: L.broadcast_tensors(a, b),
       lambda rng: (normal(rng, (size(rng), 1)), normal(rng, (size(rng),)))),
    Op("unfold", lambda L, x, d, s, st: x.unfold(d, s, st), _unfold, cases=8),
    Op("sum_to_size", lambda L, x, t: x.sum_to_size(*t) if t else x.sum_to_size(()), _sum_to),
    Op("combinations", lambda L, x: L.combinations(x, 2), lambda rng: (normal(rng, (size(rng),)),)),
    Op("combinations-r3-replacement", lambda L, x: L.combinations(x, 3, with_replacement=True),
       lambda rng: (normal(rng, (size(rng),)),)),
    Op("triu_indices", lambda L, r, c, o: L.triu_indices(r, c, o),
       lambda rng: (int(rng.integers(0, 5)), int(rng.integers(0, 5)), int(rng.integers(-2, 3))), grad=False),
    Op("tril_indices", lambda L, r, c, o: L.tril_indices(r, c, o),
       lambda rng: (int(rng.integers(0, 5)), int(rng.integers(0, 5)), int(rng.integers(-2, 3))), grad=False),
    Op("logaddexp", lambda L, a, b: L.logaddexp(a, b), two_same(normal)),
    Op("logaddexp2", lambda L, a, b: L.logaddexp2(a, b), two_same(normal)),
    Op("xlogy", lambda L, a, b: L.xlogy(a, b), two_same(normal, positive)),
    Op("hypot", lambda L, a, b: L.hypot(a, b), two_same(away)),
    Op("copysign", lambda L, a, b: L.copysign(a, b), two_same(away)),
    Op("sinc", lambda L, x: L.sinc(x), one(away)),
    Op("frac", lambda L, x: L.frac(x), one(away)),
    Op("deg2rad", lambda L, x: L.deg2rad(x), one(normal)),
    Op("logit", lambda L, x: L.logit(x, eps=1e-3), one(lambda r, s: r.uniform(0.05, 0.95, s))),
    Op("fmax", lambda L, a, b: L.fmax(a, b), two_same(distinct)),
    Op("fmin", lambda L, a, b: L.fmin(a, b), two_same(distinct)),
    Op("asinh", lambda L, x: L.asinh(x), one(normal)),
    Op("acosh", lambda L, x: L.acosh(x), one(lambda r, s: r.uniform(1.2, 3.0, s))),
    Op("atanh", lambda L, x: L.atanh(x), one(lambda r, s: r.uniform(-0.8, 0.8, s))),
    Op("signbit", lambda L, x: L.signbit(x), one(normal), grad=False),
    Op("heaviside", lambda L, x, v: L.heaviside(x, v), lambda rng: (np.round(normal(rng, (5,))), normal(rng, (5,))),
       grad=False),
    Op("nanmean", lambda L, x, d: L.nanmean(x, d), _nan_rows),
    Op("cummax", lambda L, x, d: L.cummax(x, d), _cummax),
    Op("cummin", lambda L, x, d: L.cummin(x, d), _cummax),
    Op("quantile", _quantile_fn, _quantile, cases=24),
    Op("trapezoid", lambda L, y, x, dx, d: L.trapezoid(y, L.tensor(x), dim=d) if x is not None else
       (L.trapezoid(y, dx=dx, dim=d) if dx else L.trapezoid(y, dim=d)), _trapz, cases=8),
    Op("cumulative_trapezoid", lambda L, y, x, dx, d: L.cumulative_trapezoid(y, L.tensor(x), dim=d) if x is not None
       else (L.cumulative_trapezoid(y, dx=dx, dim=d) if dx else L.cumulative_trapezoid(y, dim=d)), _trapz, cases=8),
    Op("dist", lambda L, a, b: L.dist(a, b, 3), two_same(normal)),
    Op("inner", lambda L, a, b: L.inner(a, b), lambda rng: (lambda k: (normal(rng, (2, k)), normal(rng, (3, k))))(
        size(rng))),
    Op("addr", lambda L, m, a, b: L.addr(m, a, b, beta=0.5, alpha=2),
       lambda rng: (lambda p, q: (normal(rng, (p, q)), normal(rng, (p,)), normal(rng, (q,))))(size(rng), size(rng))),
    Op("cov", lambda L, x: L.cov(x), _cov),
    # two or more variables: of one, corrcoef is c / c, whose gradient is 0 here and rounding noise in PyTorch
    Op("corrcoef", lambda L, x: L.corrcoef(x), lambda rng: (normal(rng, (int(rng.integers(2, 4)), 4)),),
       gradgradcheck=False),
    Op("isin", lambda L, a, b: L.isin(a, b), lambda rng: (ints(rng, (size(rng), 3)), ints(rng, (4,))), grad=False),
    Op("index_put", _index_put_fn, _index_put, cases=12),
    Op("put", lambda L, x, i, s, acc: x.put(L.tensor(i), s, accumulate=acc), _put, cases=8),
    Op("index_copy", lambda L, x, d, i, s: x.index_copy(d, L.tensor(i), s), _index_copy),
    Op("fill_diagonal_", lambda L, x, w: (x.clone() * 1.0).fill_diagonal_(2.5, wrap=w),
       lambda rng: (normal(rng, (int(rng.integers(1, 7)), int(rng.integers(1, 4)))), bool(rng.random() < 0.5))),
    Op("t_", _inplace_shape("t_"), lambda rng: (normal(rng, shape(rng, int(rng.integers(1, 3)))),)),
    Op("transpose_", _inplace_shape("transpose_", 0, -1), one(normal, 1, 3)),
    Op("unsqueeze_", _inplace_shape("unsqueeze_", -1), one(normal)),
    Op("squeeze_", _inplace_shape("squeeze_"), one(normal)),
    Raises("rot90-same-dims", lambda L, x: L.rot90(x, 1, (0, 0)), lambda rng: (normal(rng, (2, 3)),)),
    Raises("unfold-too-big", lambda L, x: x.unfold(0, 4, 1), lambda rng: (normal(rng, (3,)),)),
    Raises("index_put-out-of-range", lambda L, x: x.index_put((L.tensor([5]),), L.tensor(1.0)),
           lambda rng: (normal(rng, (3,)),)),
]

test_matches_torch, test_matches_torch_float32, test_gradcheck = make_tests(OPS)


def test_in_place_shape_methods_refuse_a_leaf_that_requires_grad_and_keep_the_memory():
    x = eg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x.t_()
    y = eg.zeros(2, 3)
    arr = y.numpy()
    assert y.unsqueeze_(0) is y and y.shape == (1, 2, 3)
    y[0, 1, 2] = 5.0
    assert arr[1, 2] == 5.0  # the same memory, seen through the new shape


def test_resize_keeps_the_leading_elements():
    x = eg.arange(6.0)
    assert x.resize_(2, 2) is x and x.tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert x.resize_(7).tolist()[:4] == [0.0, 1.0, 2.0, 3.0] and x.shape == (7,)
    with pytest.raises(RuntimeError, match="cannot resize variables that require grad"):
        eg.ones(2, requires_grad=True).resize_(3)


def test_div_in_place_with_a_rounding_mode():
    x = eg.tensor([7.0, -7.0])
    assert x.div_(2, rounding_mode="floor") is x and x.tolist() == [3.0, -4.0]
    y = eg.tensor([7, -7])
    assert y.div_(2, rounding_mode="trunc").tolist() == [3, -3]


def test_small_conversions():
    assert eg.zeros(2).layout is eg.strided
    assert eg.scalar_tensor(3).dtype == eg.float32 and eg.scalar_tensor(3, dtype=eg.int64).item() == 3
    assert eg.can_cast(eg.int64, eg.float32) and not eg.can_cast(eg.float64, eg.int64)
    assert eg.tensor([2]).is_nonzero() and not eg.tensor([0.0]).is_nonzero()
    with pytest.raises(RuntimeError, match="more than one value is ambiguous"):
        eg.tensor([1, 2]).is_nonzero()
    assert eg.clone(eg.ones(2)).tolist() == [1.0, 1.0]


def test_quantile_midpoint_at_whole_positions():
    """midpoint is halfway between the values at floor(pos) and ceil(pos): at a whole position, the value itself
    (it once averaged the value and its right neighbour: q = 0 gave more than the minimum)."""
    x = eg.tensor([[3.0, 1.0, 2.0, 5.0, 4.0], [9.0, 7.0, 8.0, 6.0, 10.0]], dtype=eg.float64)
    got = eg.quantile(x, eg.tensor([0.0, 0.25, 0.5, 0.6, 1.0], dtype=eg.float64), dim=1, interpolation="midpoint")
    np.testing.assert_array_equal(got.numpy(), [[1.0, 6.0], [2.0, 7.0], [3.0, 8.0], [3.5, 8.5], [5.0, 10.0]])
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: its quantile is the yardstick")
    want = torch.quantile(torch.from_numpy(x.numpy()), torch.tensor([0.0, 0.25, 0.5, 0.6, 1.0], dtype=torch.float64),
                          dim=1, interpolation="midpoint")
    np.testing.assert_array_equal(got.numpy(), want.numpy())
