"""Elementwise, comparison, reduction, sorting and product operations side by side with PyTorch 2.13: random
shapes (size-1 and zero-size dims), non-contiguous inputs, float64 to 1e-10 relative for outputs and
gradients, int64/bool inputs where PyTorch takes them (outputs and dtypes exactly), gradcheck and
gradgradcheck of every differentiable one (see tensor_op_parity.py)."""
from __future__ import annotations

import numpy as np

from tensor_op_parity import (
    Op, Raises, away, bools, distinct, ints, make_tests, ndim, normal, positive, shape, size,
)

import eigengrad as eg


def one(maker, nd=(1, 4), zero=True):
    """One input of a random shape."""
    return lambda rng: (maker(rng, shape(rng, ndim(rng, *nd), zero)),)


def two_broadcast(maker_a, maker_b=None, zero=True):
    """Two inputs whose shapes broadcast (some dims 1 on one side, fewer dims on the other)."""
    def make(rng):
        full = shape(rng, ndim(rng, 1, 4), zero)
        a = tuple(1 if rng.random() < 0.3 else s for s in full)
        b = tuple(1 if rng.random() < 0.3 else s for s in full)[int(rng.integers(0, len(full) + 1)):]
        return maker_a(rng, a), (maker_b or maker_a)(rng, b)
    return make


def with_dim(maker, zero=True, keep=False):
    """An input and a dim (negative half the time)."""
    def make(rng):
        shp = shape(rng, ndim(rng, 1, 4), zero)
        d = int(rng.integers(0, len(shp)))
        return (maker(rng, shp), d - len(shp) if rng.random() < 0.5 else d) + ((bool(rng.random() < 0.5),)
                                                                                if keep else ())
    return make


def with_dims(maker, zero=True):
    """An input, a tuple of dims (or None) and keepdim."""
    def make(rng):
        shp = shape(rng, ndim(rng, 1, 4), zero)
        k = int(rng.integers(0, len(shp) + 1))
        dims = tuple(int(d) for d in rng.choice(len(shp), k, replace=False)) if k else None
        return maker(rng, shp), dims, bool(rng.random() < 0.5)
    return make


UNARY = {
    "abs": away, "sign": away, "sin": normal, "cos": normal, "tan": lambda r, s: r.uniform(-1, 1, s),
    "tanh": normal, "sigmoid": normal, "exp": normal, "log": positive, "log1p": positive, "expm1": normal,
    "sqrt": positive, "rsqrt": positive, "reciprocal": away, "neg": normal, "floor": away, "ceil": away,
    "round": away, "trunc": away, "asin": lambda r, s: r.uniform(-0.9, 0.9, s), "atan": normal,
    "sinh": normal, "cosh": normal, "log2": positive, "log10": positive, "exp2": normal, "square": normal,
    "relu": away,
}

OPS = [Op(f"{name}", lambda L, x, n=name: getattr(L, n)(x), one(maker)) for name, maker in UNARY.items()]
OPS += [Op(f"method-{name}", lambda L, x, n=name: getattr(x, n)(), one(maker)) for name, maker in UNARY.items()]
OPS += [
    # integer and bool inputs of the unary functions: PyTorch's result dtypes
    *[Op(f"{name}-int64", lambda L, x, n=name: getattr(L, n)(x), one(lambda r, s: ints(r, s, 1, 6)), grad=False)
      for name in ("abs", "sign", "exp", "sqrt", "sin", "neg", "floor", "relu", "sigmoid", "square")],
    Op("sign-bool", lambda L, x: L.sign(x), one(bools), grad=False),
    Op("round-decimals", lambda L, x: L.round(x, decimals=2), one(normal)),
    Op("clamp-scalars", lambda L, x: L.clamp(x, -0.5, 0.7), one(normal)),
    Op("clamp-min-only", lambda L, x: x.clamp(min=0.1), one(normal)),
    Op("clip-max-only", lambda L, x: x.clip(max=0.2), one(normal)),
    Op("clamp-tensor-bounds", lambda L, x, lo, hi: L.clamp(x, lo, hi), lambda r: (
        normal(r, (3, 4)), normal(r, (4,)) - 1, normal(r, (3, 1)) + 1)),
    Op("clamp-int64", lambda L, x: x.clamp(-2, 3), one(ints), grad=False),
    Op("clamp-int64-float-bound", lambda L, x: x.clamp(-2.5, 3), one(ints), grad=False),
    Op("pow-scalar", lambda L, x: L.pow(x, 3), one(normal)),
    Op("pow-fractional", lambda L, x: x.pow(0.7), one(positive)),
    Op("pow-tensor", lambda L, x, y: L.pow(x, y), two_broadcast(positive, normal)),
    Op("rpow", lambda L, x: 2.0 ** x, one(normal)),
    Op("pow-scalar-base", lambda L, x: L.pow(1.5, x), one(normal)),
    Op("pow-int", lambda L, x: x ** 2, one(ints), grad=False),
    Op("add-alpha", lambda L, x, y: L.add(x, y, alpha=2.5), two_broadcast(normal)),
    Op("sub-alpha", lambda L, x, y: x.sub(y, alpha=-0.5), two_broadcast(normal)),
    Op("rsub", lambda L, x: 3.0 - x, one(normal)),
    Op("mul-int-float", lambda L, x, y: x * y, two_broadcast(ints, normal), grad=False),
    Op("div-ints", lambda L, x, y: x / y, two_broadcast(ints, lambda r, s: ints(r, s, 1, 4)), grad=False),
    Op("div-floor", lambda L, x, y: L.div(x, y, rounding_mode="floor"), two_broadcast(normal, away)),
    Op("div-trunc", lambda L, x, y: x.div(y, rounding_mode="trunc"), two_broadcast(normal, away)),
    Op("div-floor-int", lambda L, x, y: L.div(x, y, rounding_mode="floor"),
       two_broadcast(ints, lambda r, s: ints(r, s, 1, 4)), grad=False),
    Op("floordiv-int", lambda L, x: x // 3, one(ints), grad=False),
    Op("remainder", lambda L, x, y: L.remainder(x, y), two_broadcast(normal, positive)),
    Op("mod-int", lambda L, x: x % 3, one(ints), grad=False),
    Op("fmod", lambda L, x, y: L.fmod(x, y), two_broadcast(normal, positive)),
    Op("maximum", lambda L, x, y: L.maximum(x, y), two_broadcast(distinct)),
    Op("minimum", lambda L, x, y: L.minimum(x, y), two_broadcast(distinct)),
    Op("max-binary", lambda L, x, y: L.max(x, y), two_broadcast(distinct)),
    Op("promotion-float32-0d-float64", lambda L, x: x.float() * L.tensor(1.5, dtype=L.float64), one(normal),
       grad=False),
    Op("promotion-int-0d-float", lambda L, x: x * L.tensor(0.5, dtype=L.float64), one(ints), grad=False),
    Op("promotion-bool-int", lambda L, x: x + 2, one(bools), grad=False),
    Op("promotion-float32-float64", lambda L, x, y: x.float() + y, two_broadcast(normal), grad=False),
    # in-place forms: on a clone (differentiable through it), through a view of it, PyTorch's errors
    *[Op(f"{name}_-inplace", lambda L, x, n=name: getattr(x.clone(), n + "_")(), one(maker))
      for name, maker in (("exp", normal), ("sin", normal), ("sqrt", positive), ("abs", away), ("sigmoid", normal),
                          ("tanh", normal), ("log1p", positive), ("reciprocal", away), ("neg", normal),
                          ("square", normal))],
    Op("clamp_min_-inplace", lambda L, x: x.clone().clamp_min_(0.1), one(normal)),
    Op("pow_-inplace", lambda L, x: x.clone().pow_(3), one(normal)),
    Op("remainder_-inplace", lambda L, x, y: x.clone().remainder_(y), two_broadcast(normal, positive)),
    Op("augmented-operators", lambda L, x: _augmented(x.clone()), one(normal)),
    Op("augmented-operators-int", lambda L, x: _augmented_int(x.clone()), one(ints), grad=False),
    Op("inplace-through-a-view", lambda L, x: _inplace_view(x.clone()), lambda r: (normal(r, (3, 4)),)),
    Raises("inplace-on-a-leaf-error", lambda L, x: x.exp_(), one(normal)),
    Raises("inplace-int-cast-error", lambda L, x: x.sqrt_(), one(ints), grad=False),
    # comparisons and logic
    *[Op(f"{n}-broadcast", lambda L, x, y, n=n: getattr(L, n)(x, y), two_broadcast(ints), grad=False)
      for n in ("eq", "ne", "lt", "le", "gt", "ge")],
    *[Op(f"{n}-scalar", lambda L, x, n=n: getattr(x, n)(0.25), one(normal), grad=False)
      for n in ("eq", "ne", "lt", "le", "gt", "ge")],
    Op("operators", lambda L, x, y: (x == y, x != y, x < y, x <= y, x > y, x >= y),
       two_broadcast(lambda r, s: np.round(normal(r, s))), grad=False),
    Op("compare-float32-0d-float64", lambda L, x: x.float() == L.tensor(0.1, dtype=L.float64),
       lambda r: (np.full((3,), 0.1),), grad=False),
    *[Op(n, lambda L, x, y, n=n: getattr(L, n)(x, y), two_broadcast(bools, ints), grad=False)
      for n in ("logical_and", "logical_or", "logical_xor")],
    Op("logical_not", lambda L, x: L.logical_not(x), one(normal), grad=False),
    Op("bitwise-operators", lambda L, x, y: (x & y, x | y, x ^ y, ~x), two_broadcast(bools), grad=False),
    Op("bitwise-int", lambda L, x, y: (x & y, x | y, ~x), two_broadcast(ints), grad=False),
    Op("all-any", lambda L, x: (L.all(x), L.any(x), x.all(), x.any()), one(bools), grad=False),
    Op("all-any-dims", lambda L, x, d, k: (x.all(d, k), x.any(d, k)) if d is not None else (x.all(), x.any()),
       with_dims(bools), grad=False),
    Op("all-float", lambda L, x, d, k: L.all(x, d) if d is not None else L.all(x), with_dims(ints), grad=False),
    Op("isnan-isinf-isfinite", lambda L, x: (L.isnan(x), L.isinf(x), L.isfinite(x)),
       lambda r: (np.array([1.0, np.nan, np.inf, -np.inf, 0.0]),), grad=False),
    Op("isclose", lambda L, x, y: L.isclose(x, y, rtol=0.1), two_broadcast(normal), grad=False),
    # reductions
    Op("sum-all", lambda L, x: x.sum(), one(normal)),
    Op("sum-dims", lambda L, x, d, k: x.sum(d, keepdim=k) if d is not None else x.sum(), with_dims(normal)),
    Op("sum-int", lambda L, x, d, k: L.sum(x, d, k) if d is not None else L.sum(x), with_dims(ints), grad=False),
    Op("sum-bool", lambda L, x: x.sum(), one(bools), grad=False),
    Op("sum-dtype", lambda L, x: x.sum(dtype=L.float64), one(ints), grad=False),
    Op("mean-all", lambda L, x: L.mean(x), one(normal)),
    Op("mean-dims", lambda L, x, d, k: x.mean(d, keepdim=k) if d is not None else x.mean(), with_dims(normal)),
    Raises("mean-int-error", lambda L, x: x.mean(), one(ints), grad=False),
    Op("var", lambda L, x, d, k: x.var(d, keepdim=k) if d is not None else x.var(), with_dims(normal)),
    Op("var-unbiased-false", lambda L, x, d, k: x.var(d, unbiased=False, keepdim=k) if d is not None else
       x.var(unbiased=False), with_dims(normal)),
    Op("var-correction", lambda L, x, d: L.var(x, d, correction=0), with_dim(normal)),
    Op("std", lambda L, x, d, k: x.std(d, keepdim=k) if d is not None else x.std(), with_dims(normal, zero=False)),
    Op("std-correction2", lambda L, x, d: x.std(d, correction=2), with_dim(normal, zero=False)),
    Op("std-legacy-bool", lambda L, x: x.std(False), one(normal, zero=False)),
    Op("var-mean", lambda L, x, d: L.var_mean(x, d), with_dim(normal, zero=False)),
    Op("prod-all", lambda L, x: x.prod(), one(away)),
    Op("prod-dim", lambda L, x, d, k: L.prod(x, d, keepdim=k), with_dim(away, keep=True)),
    Op("prod-zeros", lambda L, x: x.prod(1), lambda r: (np.array([[1.5, 0.0, 2.0], [0.0, 0.0, 1.0],
                                                                  [1.0, -2.0, 0.5]]),)),
    Op("prod-int", lambda L, x: x.prod(), one(lambda r, s: ints(r, s, -2, 3)), grad=False),
    Op("cumsum", lambda L, x, d: L.cumsum(x, d), with_dim(normal)),
    Op("cumsum-int", lambda L, x, d: x.cumsum(d), with_dim(ints), grad=False),
    Op("cumsum-dtype", lambda L, x, d: x.cumsum(d, dtype=L.float32), with_dim(normal), grad=False),
    Op("norm-all", lambda L, x: x.norm(), one(normal)),
    *[Op(f"norm-p{p}", lambda L, x, d, k, p=p: x.norm(p, d, k) if d is not None else x.norm(p),
         with_dims(away, zero=p not in ("inf", "-inf")))
      for p in (1, 2, 3, 0.5)],
    Op("norm-inf", lambda L, x, d, k: x.norm(float("inf"), d, k), with_dim(distinct, zero=False, keep=True)),
    Op("norm-minus-inf", lambda L, x, d: L.norm(x, float("-inf"), d), with_dim(distinct, zero=False)),
    Op("norm-fro-dims", lambda L, x: L.norm(x, "fro", (0, 1)), lambda r: (normal(r, shape(r, 3)),)),
    Op("norm-p0", lambda L, x: x.norm(0), lambda r: (np.array([0.0, 1.5, 0.0, -2.0]),)),
    Op("linalg-vector-norm", lambda L, x, d, k: L.linalg.vector_norm(x, 2, d, k), with_dims(normal)),
    Op("max-all", lambda L, x: (x.max(), x.min()), one(distinct, zero=False)),
    Op("max-dim", lambda L, x, d, k: L.max(x, d, keepdim=k), with_dim(distinct, keep=True)),
    Op("min-dim", lambda L, x, d, k: x.min(d, k), with_dim(distinct, keep=True)),
    Op("max-dim-fields", lambda L, x, d: (x.max(dim=d).values, x.max(dim=d).indices), with_dim(distinct)),
    Op("max-int", lambda L, x, d: x.max(d), with_dim(ints), grad=False),
    Op("amax-amin", lambda L, x, d, k: (x.amax(d, k), x.amin(d, k)) if d is not None else (x.amax(), x.amin()),
       with_dims(distinct, zero=False)),
    Op("argmax-argmin", lambda L, x, d, k: (L.argmax(x, d, k), L.argmin(x, d, k)), with_dim(distinct, keep=True),
       grad=False),
    Op("argmax-flat", lambda L, x: (x.argmax(), x.argmin()), one(distinct, zero=False), grad=False),
    Op("logsumexp", lambda L, x, d: L.logsumexp(x, d), with_dim(normal)),
    Op("softmax", lambda L, x, d: L.softmax(x, d), with_dim(normal)),
    Op("log-softmax", lambda L, x, d: x.log_softmax(d), with_dim(normal)),
    Op("count-nonzero", lambda L, x: L.count_nonzero(x), one(ints), grad=False),
    # sorting
    Op("sort", lambda L, x, d, desc: L.sort(x, d, descending=desc), with_dim(distinct, keep=True)),
    Op("sort-stable-ties", lambda L, x, d: x.sort(dim=d, stable=True), with_dim(lambda r, s: ints(r, s, 0, 3)),
       grad=False),
    Op("sort-stable-ties-descending", lambda L, x: x.sort(dim=0, descending=True, stable=True),
       lambda r: (np.array([1.0, 3.0, 1.0, 3.0, 2.0, 1.0]),), gradcheck=False),  # ties: not differentiable
    Op("sort-nan", lambda L, x, desc: x.sort(descending=desc),
       lambda r: (np.array([2.0, np.nan, -1.0, np.inf, 0.5]), bool(r.random() < 0.5)), grad=False),
    Op("sort-bool", lambda L, x, d: x.sort(d), with_dim(bools), grad=False),
    Op("argsort", lambda L, x, d, desc: L.argsort(x, d, descending=desc), with_dim(distinct, keep=True),
       grad=False),
    Op("topk", lambda L, x, d, k: L.topk(x, min(k, x.shape[d]) if x.dim() else 1, d),
       lambda r: (*with_dim(distinct, zero=False)(r), int(r.integers(0, 4)))),
    Op("topk-smallest", lambda L, x, d: x.topk(1, d, largest=False), with_dim(distinct, zero=False)),
    Op("topk-int", lambda L, x: x.topk(2), lambda r: (np.array([[3, 1, 4, 5], [9, 2, 6, 0]]),), grad=False),
    Op("msort-kthvalue", lambda L, x: (L.msort(x), x.kthvalue(2, 0)), lambda r: (distinct(r, (4, 3)),)),
    # products
    Op("mm", lambda L, a, b: L.mm(a, b), lambda r: (lambda m, k, n: (normal(r, (m, k)), normal(r, (k, n))))(
        size(r), size(r), size(r))),
    Op("mm-method", lambda L, a, b: a.mm(b), lambda r: (normal(r, (3, 4)), normal(r, (4, 2)))),
    Op("mm-int", lambda L, a, b: a.mm(b), lambda r: (ints(r, (3, 4)), ints(r, (4, 2))), grad=False),
    Raises("mm-mismatch", lambda L, a, b: L.mm(a, b), lambda r: (normal(r, (3, 4)), normal(r, (3, 2)))),
    Op("bmm", lambda L, a, b: L.bmm(a, b), lambda r: (lambda bt, m, k, n: (normal(r, (bt, m, k)),
                                                                           normal(r, (bt, k, n))))(
        size(r), size(r), size(r), size(r))),
    Op("matmul-forms", lambda L, a, b: L.matmul(a, b), lambda r: _matmul_pair(r)),
    Op("matmul-operator", lambda L, a, b: a @ b, lambda r: _matmul_pair(r)),
    Op("addmm", lambda L, c, a, b: L.addmm(c, a, b, beta=0.5, alpha=-2.0),
       lambda r: (normal(r, (4,)), normal(r, (3, 2)), normal(r, (2, 4)))),
    Op("addmm-beta0-nan", lambda L, c, a, b: L.addmm(c, a, b, beta=0),
       lambda r: (np.full((3, 4), np.nan), normal(r, (3, 2)), normal(r, (2, 4)))),
    Op("outer", lambda L, a, b: L.outer(a, b), lambda r: (normal(r, (size(r),)), normal(r, (size(r),)))),
    Op("dot-mv", lambda L, a, b, m: (L.dot(a, b), L.mv(m, b)), lambda r: (normal(r, (4,)), normal(r, (4,)),
                                                                          normal(r, (3, 4)))),
    Op("baddbmm", lambda L, c, a, b: L.baddbmm(c, a, b, beta=2.0, alpha=0.5),
       lambda r: (normal(r, (2, 3, 4)), normal(r, (2, 3, 5)), normal(r, (2, 5, 4)))),
    *[Op(f"einsum-{eq}", lambda L, *xs, eq=eq: L.einsum(eq, *xs), lambda r, shapes=shapes: tuple(
        normal(r, s) for s in shapes)) for eq, shapes in (
        ("ij,jk->ik", ((3, 4), (4, 5))), ("bij,bjk->bik", ((2, 3, 4), (2, 4, 5))), ("i,j->ij", ((3,), (4,))),
        ("ii->i", ((4, 4),)), ("ii", ((4, 4),)), ("ij->", ((3, 4),)), ("ij->j", ((3, 4),)), ("ij->ji", ((3, 4),)),
        ("ij,ij->ij", ((3, 4), (3, 4))), ("ij,ij->", ((3, 4), (3, 4))), ("ij,jk", ((3, 4), (4, 5))),
        ("...ij,...jk->...ik", ((2, 3, 4), (4, 5))), ("bhqd,bhkd->bhqk", ((2, 3, 4, 5), (2, 3, 6, 5))),
        ("bi,bi->b", ((3, 4), (1, 4))), ("ij,jk,kl->il", ((2, 3), (3, 4), (4, 2))), ("ijk->kji", ((2, 3, 4),)),
        ("i,i->", ((5,), (5,))), ("bij->bji", ((2, 3, 4),)), ("iij->j", ((3, 3, 2),)), ("ij,kj->ik", ((3, 4), (5, 4))),
    )],
    Op("einsum-list", lambda L, a, b: L.einsum("ij,jk->ik", [a, b]), lambda r: (normal(r, (2, 3)), normal(r, (3, 2)))),
]


def _augmented(x):
    x **= 2
    x %= 1.5
    x += 1
    return x


def _augmented_int(x):
    x //= 2
    x %= 3
    x **= 2
    return x


def _inplace_view(x):
    x.t()[1:].sin_()  # sin_ saves its input (exp_ its output, which the next line changes: PyTorch's error)
    x[0].mul_(2.0)
    return x


def _matmul_pair(rng):
    """Every form of matmul: 1-D x 1-D, 2-D x 1-D, 1-D x N-D, batched with broadcasting."""
    k = size(rng, zero=False)
    form = int(rng.integers(0, 6))
    if form == 0:
        return normal(rng, (k,)), normal(rng, (k,))
    if form == 1:
        return normal(rng, (size(rng), k)), normal(rng, (k,))
    if form == 2:
        return normal(rng, (k,)), normal(rng, (size(rng), k, size(rng)))
    if form == 3:
        return normal(rng, (size(rng), size(rng), k)), normal(rng, (k, size(rng)))
    if form == 4:
        return normal(rng, (2, 1, size(rng), k)), normal(rng, (3, k, size(rng)))
    return normal(rng, (size(rng), k)), normal(rng, (k, size(rng)))


IDS = [op.id for op in OPS]
test_matches_torch, test_matches_torch_float32, test_gradcheck = make_tests(OPS)


def test_table_names_every_op_of_the_issue():
    listed = {"mm", "bmm", "matmul", "addmm", "outer", "einsum", "eq", "ne", "lt", "le", "gt", "ge", "logical_and",
              "logical_or", "logical_not", "all", "any", "clamp", "clip", "abs", "sign", "sin", "cos", "tanh",
              "sigmoid", "exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "pow", "reciprocal", "sum", "mean", "std",
              "var", "prod", "cumsum", "norm", "max", "min", "argmax", "argmin", "topk", "sort", "argsort"}
    names = " ".join(IDS)
    missing = sorted(n for n in listed if n not in names)
    assert not missing, missing
    for n in listed:
        assert hasattr(eg, n), n
        assert hasattr(eg.Tensor, n) or n == "einsum", n
