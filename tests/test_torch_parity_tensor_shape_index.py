"""Shape and indexing operations side by side with PyTorch 2.13 (see tensor_op_parity.py): views and copies,
split/chunk/unbind/cat/stack, triangles and diagonals, gather/scatter/index_select/masked/where/nonzero, with
random shapes (size-1 and zero-size dims), non-contiguous inputs, float64 values and gradients to 1e-10,
int64/bool inputs where PyTorch takes them; gradcheck and gradgradcheck of the differentiable ones."""
from __future__ import annotations

import numpy as np

from tensor_op_parity import Op, Raises, bools, distinct, ints, make_tests, ndim, normal, shape, size

import eigengrad as eg


def one(maker, nd=(1, 4), zero=True):
    return lambda rng: (maker(rng, shape(rng, ndim(rng, *nd), zero)),)


def with_dim(maker, nd=(1, 4), zero=True):
    def make(rng):
        shp = shape(rng, ndim(rng, *nd), zero)
        d = int(rng.integers(0, len(shp)))
        return maker(rng, shp), d - len(shp) if rng.random() < 0.5 else d
    return make


def _split_sizes(rng):
    shp = shape(rng, ndim(rng, 1, 3))
    d = int(rng.integers(0, len(shp)))
    n = shp[d]
    cuts = sorted(int(c) for c in rng.integers(0, n + 1, 2))
    return normal(rng, shp), [cuts[0], cuts[1] - cuts[0], n - cuts[1]], d


def _narrow(rng):
    shp = shape(rng, ndim(rng, 1, 3))
    d = int(rng.integers(0, len(shp)))
    start = int(rng.integers(0, shp[d] + 1))
    return normal(rng, shp), d, start, int(rng.integers(0, shp[d] - start + 1))


def _gather(rng, scatter=False, larger_src=False):
    """x, dim, index (no larger than x outside dim; distinct along dim for scatter), src (index's shape: PyTorch
    cannot differentiate a larger src, whose gradient it gives index's shape; ``larger_src`` for forward-only)."""
    shp = shape(rng, ndim(rng, 1, 3), zero=False)
    d = int(rng.integers(0, len(shp)))
    ishape = tuple(int(rng.integers(1, s + 1)) if k != d else int(rng.integers(1, shp[d] + 1 if scatter else 5))
                   for k, s in enumerate(shp))
    if scatter:  # distinct along d: the write order of repeated positions is not specified by PyTorch
        perm = np.argsort(rng.random(ishape[:d] + (shp[d],) + ishape[d + 1:]), axis=d)
        index = np.take(perm, np.arange(ishape[d]), axis=d)
    else:
        index = rng.integers(0, shp[d], ishape)
    src = normal(rng, tuple(s + int(rng.integers(0, 2)) if larger_src else s for s in ishape))
    return normal(rng, shp), d, index.astype(np.int64), src


def _masked(rng):
    shp = shape(rng, ndim(rng, 1, 3))
    mshape = tuple(1 if rng.random() < 0.3 else s for s in shp)[int(rng.integers(0, len(shp) + 1)):]
    return normal(rng, shp), bools(rng, mshape)


def _index_select(rng):
    shp = shape(rng, ndim(rng, 1, 3), zero=False)
    d = int(rng.integers(0, len(shp)))
    return normal(rng, shp), d, rng.integers(0, shp[d], int(rng.integers(0, 6))).astype(np.int64)


def _view_shape(rng):
    shp = shape(rng, ndim(rng, 1, 4), zero=False)
    n = int(np.prod(shp))
    divisors = [k for k in range(1, n + 1) if n % k == 0]
    k = int(rng.choice(divisors))
    return normal(rng, shp), (k, -1) if rng.random() < 0.5 else (-1, n // k)


def _expand(rng):
    shp = tuple(1 if rng.random() < 0.5 else s for s in shape(rng, ndim(rng, 1, 3)))
    target = tuple(int(rng.integers(0, 4)) if s == 1 else (s if rng.random() < 0.5 else -1) for s in shp)
    return normal(rng, shp), (int(rng.integers(1, 3)),) * int(rng.integers(0, 2)) + target


def _cat(rng, same=False):
    nd = ndim(rng, 1, 3)
    base = shape(rng, nd)
    d = int(rng.integers(0, nd))
    parts = []
    for _ in range(int(rng.integers(1, 4))):
        s = list(base)
        if not same:
            s[d] = size(rng)
        parts.append(normal(rng, tuple(s)))
    return (d,) + tuple(parts)


OPS = [
    Op("view", lambda L, x, s: x.view(*s), _view_shape, strided=False),  # the strided input has no view
    Op("view-tuple", lambda L, x, s: x.view(s), _view_shape, strided=False),
    Raises("view-noncontiguous-error", lambda L, x: x.t().view(-1), lambda r: (normal(r, (3, 4)),), strided=False),
    Op("view-as", lambda L, x, y: x.view_as(y), lambda r: (normal(r, (2, 6)), normal(r, (3, 4))), strided=False),
    Op("view-dtype", lambda L, x: x.view(L.int64), lambda r: (normal(r, (2, 3)),), grad=False, strided=False),
    Op("reshape", lambda L, x, s: L.reshape(x, s), _view_shape),
    Op("reshape-transposed", lambda L, x: x.t().reshape(-1), lambda r: (normal(r, (3, 4)),)),
    Raises("reshape-bad", lambda L, x: x.reshape(5, -1), lambda r: (normal(r, (2, 3)),)),
    Op("flatten", lambda L, x, d: L.flatten(x, min(d % max(x.dim(), 1), x.dim() - 1 if x.dim() else 0)),
       with_dim(normal)),
    Op("flatten-range", lambda L, x: x.flatten(1, 2), lambda r: (normal(r, shape(r, 4)),)),
    Op("flatten-0d", lambda L, x: x.flatten(), lambda r: (np.array(1.5),)),
    Op("unflatten", lambda L, x: x.unflatten(1, (2, -1)), lambda r: (normal(r, (3, 6, 2)),)),
    Op("squeeze", lambda L, x: (x.squeeze(), L.squeeze(x)), one(normal)),
    Op("squeeze-dim", lambda L, x, d: x.squeeze(d), with_dim(normal)),
    Op("squeeze-dims", lambda L, x: x.squeeze((0, 2)), lambda r: (normal(r, (1, 3, 1, 2)),)),
    Op("unsqueeze", lambda L, x, d: (x.unsqueeze(d), L.unsqueeze(x, -1)), with_dim(normal)),
    Op("expand", lambda L, x, s: x.expand(*s), _expand),
    Op("expand-as", lambda L, x, y: x.expand_as(y), lambda r: (normal(r, (3, 1)), normal(r, (2, 3, 4)))),
    Raises("expand-bad", lambda L, x: x.expand(3, 3), lambda r: (normal(r, (2, 3)),)),
    Op("repeat", lambda L, x, reps: x.repeat(*reps), lambda r: (lambda a: (a, tuple(
        int(r.integers(0, 3)) for _ in range(a.ndim + int(r.integers(0, 2))))))(normal(r, shape(r, ndim(r, 1, 3))))),
    Op("repeat-int", lambda L, x: x.repeat(2, 1), one(ints, (1, 2)), grad=False),
    Op("permute", lambda L, x, p: x.permute(*p), lambda r: (lambda a: (a, tuple(int(i) for i in r.permutation(
        a.ndim))))(normal(r, shape(r, ndim(r, 1, 4))))),
    Op("permute-free", lambda L, x: L.permute(x, (2, 0, 1)), lambda r: (normal(r, shape(r, 3)),)),
    Op("transpose", lambda L, x, a, b: (x.transpose(a, b), L.transpose(x, b, a)), lambda r: (lambda x: (
        x, int(r.integers(-x.ndim, x.ndim)), int(r.integers(-x.ndim, x.ndim))))(normal(r, shape(r, ndim(r, 1, 4))))),
    Op("t", lambda L, x: (x.t(), L.t(x)), one(normal, (0, 2))),
    Op("T-mT", lambda L, x: (x.mT, x.T.contiguous()) if x.dim() >= 2 else x.T, one(normal, (0, 3))),
    Op("contiguous", lambda L, x: x.contiguous(), one(normal)),
    Op("narrow", lambda L, x, d, s, n: L.narrow(x, d, s, n), _narrow),
    Op("narrow-negative-start", lambda L, x: x.narrow(1, -2, 2), lambda r: (normal(r, (3, 4)),)),
    Raises("narrow-out-of-range", lambda L, x: x.narrow(1, 3, 2), lambda r: (normal(r, (3, 4)),)),
    Op("split-size", lambda L, x, d: L.split(x, 2, d), with_dim(normal)),
    Op("split-sections", lambda L, x, s, d: x.split(s, d), _split_sizes),
    Raises("split-bad-sections", lambda L, x: x.split([1, 1], 1), lambda r: (normal(r, (2, 3)),)),
    Op("chunk", lambda L, x, d, k: L.chunk(x, k, d), lambda r: (*with_dim(normal)(r), int(r.integers(1, 5)))),
    Op("tensor-split", lambda L, x: (L.tensor_split(x, 3, 1), x.tensor_split([1, 3], 1)),
       lambda r: (normal(r, (2, 7)),)),
    Op("unbind", lambda L, x, d: L.unbind(x, d), with_dim(normal)),
    Op("select", lambda L, x: (x.select(1, -1), L.select(x, 0, 1)), lambda r: (normal(r, (3, 4, 2)),)),
    Op("cat", lambda L, d, *xs: L.cat(xs, d), lambda r: _cat(r)),
    Op("cat-list-negative-dim", lambda L, d, *xs: L.cat(list(xs), dim=d - xs[0].dim()), lambda r: _cat(r)),
    Op("cat-promotes", lambda L, a, b: L.cat([a, b]), lambda r: (ints(r, (2, 3)), normal(r, (1, 3))), grad=False),
    Op("cat-legacy-empty", lambda L, a, b: L.cat([a, b], 1), lambda r: (normal(r, (2, 3)), np.zeros(0))),
    Raises("cat-bad", lambda L, a, b: L.cat([a, b]), lambda r: (normal(r, (2, 3)), normal(r, (2, 4)))),
    Op("concat-concatenate", lambda L, a, b: (L.concat([a, b], 1), L.concatenate([a, b], 1)),
       lambda r: (normal(r, (2, 3)), normal(r, (2, 1)))),
    Op("stack", lambda L, d, *xs: L.stack(xs, d), lambda r: _cat(r, same=True)),
    Op("stack-negative", lambda L, d, *xs: L.stack(xs, -1), lambda r: _cat(r, same=True)),
    Raises("stack-bad", lambda L, a, b: L.stack([a, b]), lambda r: (normal(r, (2, 3)), normal(r, (3, 2)))),
    Op("hstack-vstack", lambda L, a, b: (L.hstack([a, b]), L.vstack([a, b])), lambda r: (normal(r, (3,)),
                                                                                          normal(r, (3,)))),
    Op("flip", lambda L, x: (x.flip(0), L.flip(x, (0, -1))), one(normal, (1, 3))),
    Op("roll", lambda L, x: (L.roll(x, 2, 0), x.roll((1, -1), (0, 1)), x.roll(3)), lambda r: (normal(r, (4, 3)),)),
    Op("movedim", lambda L, x: (L.movedim(x, 0, -1), x.movedim((0, 1), (2, 0))), lambda r: (normal(r, (2, 3, 4)),)),
    Op("tril-triu", lambda L, x, k: (L.tril(x, k), x.triu(k)), lambda r: (normal(r, shape(r, ndim(r, 2, 3))),
                                                                         int(r.integers(-3, 4)))),
    Op("tril-int", lambda L, x: x.tril(), lambda r: (ints(r, (3, 4)),), grad=False),
    Raises("tril-1d-error", lambda L, x: x.tril(), lambda r: (normal(r, (3,)),)),
    Op("diag-vector", lambda L, x, k: L.diag(x, k), lambda r: (normal(r, (size(r),)), int(r.integers(-2, 3)))),
    Op("diag-matrix", lambda L, x, k: x.diag(k), lambda r: (normal(r, shape(r, 2)), int(r.integers(-2, 3)))),
    Op("diagonal", lambda L, x: (x.diagonal(), L.diagonal(x, 1, 0, 2)), lambda r: (normal(r, (3, 4, 3)),)),
    Op("trace", lambda L, x: L.trace(x), lambda r: (normal(r, (3, 4)),)),
    Op("getitem-basic", lambda L, x: (x[1], x[:, 1:3], x[..., -1], x[None, 0]), lambda r: (normal(r, (3, 4, 2)),)),
    Op("getitem-tensor-index", lambda L, x, i: x[i], lambda r: (normal(r, (4, 3)),
                                                                   r.integers(0, 4, 5).astype(np.int64))),
    Op("getitem-mask", lambda L, x, m: x[m], lambda r: (normal(r, (4, 3)), bools(r, (4, 3)))),
    # indexing along a dim
    Op("gather", lambda L, x, d, i, s: L.gather(x, d, i), lambda r: _gather(r)),
    Op("gather-method", lambda L, x, d, i, s: x.gather(d, i), lambda r: _gather(r)),
    Op("gather-int", lambda L, x, i: x.gather(1, i), lambda r: (ints(r, (3, 4)), r.integers(0, 4, (3, 2))),
       grad=False),
    Raises("gather-out-of-range", lambda L, x, i: x.gather(1, i), lambda r: (normal(r, (3, 4)), np.array([[0, 4]]))),
    Raises("gather-wrong-ndim", lambda L, x, i: x.gather(1, i), lambda r: (normal(r, (3, 4)), np.array([0, 1]))),
    Op("scatter-src", lambda L, x, d, i, s: L.scatter(x, d, i, s), lambda r: _gather(r, scatter=True)),
    Op("scatter-value", lambda L, x, d, i, s: x.scatter(d, i, 2.5), lambda r: _gather(r, scatter=True)),
    Op("scatter-larger-src", lambda L, x, d, i, s: (x.scatter(d, i, s), x.scatter_add(d, i, s)),
       lambda r: _gather(r, scatter=True, larger_src=True), grad=False),
    Op("scatter-reduce-add", lambda L, x, d, i, s: x.scatter(d, i, s, reduce="add"), lambda r: _gather(r),
       grad=False),  # PyTorch does not differentiate src here (eigengrad does: as scatter_reduce 'sum')
    Op("scatter-reduce-multiply", lambda L, x, d, i, s: x.scatter(d, i, s, reduce="multiply"),
       lambda r: _gather(r), grad=False),  # PyTorch does not differentiate src here (eigengrad: as 'prod')
    Op("scatter-add", lambda L, x, d, i, s: L.scatter_add(x, d, i, s), lambda r: _gather(r)),
    Op("scatter-add-int", lambda L, x, i, s: x.scatter_add(0, i, s), lambda r: (
        ints(r, (4, 2)), r.integers(0, 4, (6, 2)), ints(r, (6, 2))), grad=False),
    *[Op(f"scatter-reduce-{red}-{inc}", lambda L, x, d, i, s, red=red, inc=inc: x.scatter_reduce(
        d, i, s, red, include_self=inc), (lambda r: (lambda x, d, i, s: (x, d, i, distinct(r, s.shape) + 0.05))(
            *_gather(r))) if red in ("amax", "amin") else (lambda r: _gather(r)))
      for red in ("sum", "mean", "amax", "amin", "prod") for inc in (True, False)],
    Raises("scatter-dtype-mismatch", lambda L, x, i, s: x.scatter(0, i, s), lambda r: (
        normal(r, (3,)), np.array([0]), np.array([1], dtype=np.int64)), grad=False),
    Op("index-select", lambda L, x, d, i: L.index_select(x, d, i), _index_select),
    Op("index-select-int32", lambda L, x, i: x.index_select(0, i), lambda r: (normal(r, (3, 2)),
                                                                              np.array([2, 0], dtype=np.int32))),
    Raises("index-select-bad", lambda L, x, i: x.index_select(0, i), lambda r: (normal(r, (3, 2)), np.array([3]))),
    Op("index-add", lambda L, x, i, s: x.index_add(0, i, s, alpha=-1.5), lambda r: (
        normal(r, (4, 3)), r.integers(0, 4, 6).astype(np.int64), normal(r, (6, 3)))),
    Op("index-fill", lambda L, x, i: x.index_fill(1, i, -2.0), lambda r: (normal(r, (3, 4)), np.array([0, 2]))),
    Op("masked-fill", lambda L, x, m: L.masked_fill(x, m, -1.5), _masked),
    Op("masked-fill-tensor-value", lambda L, x, m, v: x.masked_fill(m, v), lambda r: (*_masked(r), normal(r, ()))),
    Op("masked-fill-int", lambda L, x, m: x.masked_fill(m, 7), lambda r: (ints(r, (3, 4)), bools(r, (4,))),
       grad=False),
    Raises("masked-fill-bad-mask", lambda L, x, m: x.masked_fill(m, 1.0), lambda r: (normal(r, (3,)), ints(r, (3,)))),
    Op("masked-select", lambda L, x, m: L.masked_select(x, m), _masked),
    Op("masked-scatter", lambda L, x, m, s: x.masked_scatter(m, s), lambda r: (
        normal(r, (3, 4)), bools(r, (3, 4)), normal(r, (13,)))),
    # in-place forms on a clone (differentiable through it)
    Op("scatter_-inplace", lambda L, x, d, i, s: x.clone().scatter_(d, i, s), lambda r: _gather(r, scatter=True)),
    Op("scatter_add_-inplace", lambda L, x, d, i, s: x.clone().scatter_add_(d, i, s), lambda r: _gather(r)),
    Op("index_add_-inplace", lambda L, x, i, s: x.clone().index_add_(0, i, s), lambda r: (
        normal(r, (4, 3)), r.integers(0, 4, 6).astype(np.int64), normal(r, (6, 3)))),
    Op("index_fill_-inplace", lambda L, x, i: x.clone().index_fill_(1, i, -2.0), lambda r: (
        normal(r, (3, 4)), np.array([0, 2]))),
    Op("masked_fill_-inplace", lambda L, x, m: x.clone().masked_fill_(m, 0.5), _masked),
    Op("masked_scatter_-inplace", lambda L, x, m, s: x.clone().masked_scatter_(m, s), lambda r: (
        normal(r, (3, 4)), bools(r, (3, 4)), normal(r, (13,)))),
    Op("where", lambda L, c, x, y: L.where(c, x, y), lambda r: _where(r)),
    Op("where-scalars", lambda L, c, x: (L.where(c, x, 0.0), L.where(c, 1.0, x), x.where(c, -1.0)),
       lambda r: (bools(r, (3, 4)), normal(r, (3, 4)))),
    Op("where-two-numbers", lambda L, c: L.where(c, 1, 2.5), lambda r: (bools(r, (3, 4)),), grad=False),
    Op("where-promotes", lambda L, c, x, y: L.where(c, x, y), lambda r: (bools(r, (3,)), ints(r, (3,)),
                                                                         normal(r, (3,))), grad=False),
    Raises("where-bad-condition", lambda L, c, x: L.where(c, x, x), lambda r: (normal(r, (3,)), normal(r, (3,)))),
    Op("where-one-arg", lambda L, c: L.where(c), lambda r: (bools(r, shape(r, ndim(r, 1, 3))),), grad=False),
    Op("nonzero", lambda L, x: (L.nonzero(x), x.nonzero(as_tuple=True)), one(lambda r, s: ints(r, s, -1, 2)),
       grad=False),
    Op("nonzero-0d", lambda L, x: (x.nonzero(), x.nonzero(as_tuple=True)), lambda r: (np.array(2.0),), grad=False),
    Op("argwhere-take", lambda L, x, i: (L.argwhere(x), L.take(x, i)), lambda r: (
        normal(r, (3, 4)), r.integers(-12, 12, (2, 3)).astype(np.int64))),
    Op("take-along-dim", lambda L, x, i: L.take_along_dim(x, i, 1), lambda r: (normal(r, (3, 4)),
                                                                                  r.integers(0, 4, (3, 2)))),
]


def _where(rng):
    shp = shape(rng, ndim(rng, 1, 3))
    return bools(rng, shp), normal(rng, shp[1:]), normal(rng, tuple(1 if rng.random() < 0.4 else s for s in shp))


IDS = [op.id for op in OPS]
test_matches_torch, test_matches_torch_float32, test_gradcheck = make_tests(OPS)


def test_table_names_every_op_of_the_issue():
    listed = {"view", "view_as", "reshape", "flatten", "unflatten", "squeeze", "unsqueeze", "expand", "expand_as",
              "repeat", "permute", "transpose", "t", "contiguous", "narrow", "split", "chunk", "unbind", "cat",
              "stack", "gather", "scatter", "scatter_add", "index_select", "masked_fill", "masked_select", "where",
              "nonzero", "tril", "triu", "diag"}
    names = " ".join(IDS).replace("-", "_")
    assert not sorted(n for n in listed if n not in names)
    for n in listed:
        assert hasattr(eg.Tensor, n) or n in ("cat", "stack"), n
        assert hasattr(eg, n) or n in ("view", "view_as", "expand", "expand_as", "contiguous"), n
