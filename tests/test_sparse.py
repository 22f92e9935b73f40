"""Sparse COO tensors (eigengrad.sparse) side by side with torch.sparse in float32 and float64: construction
(sparse_coo_tensor, the legacy torch.sparse.FloatTensor, to_sparse), coalesce, to_dense, indices/values, repr,
the products (spmm, sparse.mm, mm, matmul, @, both orders) and their gradients in the dense operand and in the
sparse values, sums, softmax, elementwise operations, odd shapes (1, primes), duplicate indices, zero nnz, and
PyTorch's errors (types and messages)."""
import pickle
import warnings

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.autograd import gradcheck, gradgradcheck
from torch_parity import make_assert_rel

torch = pytest.importorskip("torch", reason="the sparse tensors are compared with torch.sparse")

TOL = {np.float32: 3e-6, np.float64: 1e-12}
assert_rel = make_assert_rel(TOL)
DTYPES = [np.float32, np.float64]
RNG = np.random.default_rng(2026)
# (shape, nnz): a 1 x 1, primes, a row, a column, more entries than cells (duplicates), no entries
SHAPES = [((1, 1), 1), ((5, 7), 9), ((1, 13), 4), ((11, 1), 6), ((3, 5), 40), ((4, 6), 0), ((7, 3), 21)]


def random_coo(shape, nnz, dtype, rng=RNG):
    """Indices with duplicates (drawn with replacement) in random order, and their values."""
    idx = np.stack([rng.integers(0, s, nnz) for s in shape]).astype(np.int64)
    return idx, rng.standard_normal(nnz).astype(dtype)


def pair(idx, vals, shape, **kw):
    """The same sparse tensor in eigengrad and in torch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = torch.sparse_coo_tensor(torch.from_numpy(idx.copy()), torch.from_numpy(vals.copy()), shape, **kw)
    return eg.sparse_coo_tensor(eg.tensor(idx), eg.tensor(vals), shape, **kw), t


def same_sparse(e, t, dtype, what="", exact_pattern=True):
    """Same dense value, shape, dtype, layout flags; the same indices and values when both are coalesced."""
    assert e.is_sparse and e.layout is eg.sparse_coo, what
    assert tuple(e.shape) == tuple(t.shape), what
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], what
    assert (e.sparse_dim(), e.dense_dim()) == (t.sparse_dim(), t.dense_dim()), what
    assert_rel(e.to_dense(), t.to_dense(), dtype, what)
    if exact_pattern and e.is_coalesced() and t.is_coalesced():
        np.testing.assert_array_equal(e.indices().numpy(), t.indices().numpy(), err_msg=what)
        assert_rel(e.values(), t.values(), dtype, what)


# --- construction --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,nnz", SHAPES)
def test_construct_coalesce_to_dense(shape, nnz, dtype):
    idx, vals = random_coo(shape, nnz, dtype)
    e, t = pair(idx, vals, shape)
    assert e._nnz() == t._nnz() == nnz
    assert e.is_coalesced() == t.is_coalesced()
    np.testing.assert_array_equal(e._indices().numpy(), t._indices().numpy())
    np.testing.assert_array_equal(e._values().numpy(), t._values().numpy())
    assert_rel(e.to_dense(), t.to_dense(), dtype, "to_dense")
    ec, tc = e.coalesce(), t.coalesce()
    assert ec.is_coalesced() and ec._nnz() == tc._nnz()
    np.testing.assert_array_equal(ec.indices().numpy(), tc.indices().numpy())
    assert_rel(ec.values(), tc.values(), dtype, "coalesced values")
    assert ec.coalesce() is ec
    assert (e.shape, e.size(), e.size(-1), e.ndim, e.dim(), e.numel()) == \
        (tuple(t.shape), tuple(t.size()), t.size(-1), t.ndim, t.dim(), t.numel())
    assert isinstance(e, eg.Tensor) and e.is_sparse and not eg.zeros(1).is_sparse


def test_size_inferred_hybrid_and_lists():
    idx = np.array([[0, 2, 1], [3, 0, 3]])
    vals = RNG.standard_normal((3, 4))
    e = eg.sparse_coo_tensor(idx.tolist(), vals)
    t = torch.sparse_coo_tensor(idx.tolist(), vals)
    same_sparse(e, t, np.float64)
    assert tuple(e.shape) == (3, 4, 4) and e.dense_dim() == 1
    e, t = eg.sparse_coo_tensor([[0], [1]], [2.0], (2, 3)), torch.sparse_coo_tensor([[0], [1]], [2.0], (2, 3))
    same_sparse(e, t, np.float32)
    assert e.dtype == eg.float32
    e = eg.sparse_coo_tensor(idx, [1, 2, 3])
    assert e.dtype == eg.int64 and e.to_dense().dtype == eg.int64
    e = eg.sparse_coo_tensor(idx, [1.0, 2.0, 3.0], dtype=eg.float64)
    assert e.dtype == eg.float64
    assert tuple(eg.sparse_coo_tensor(np.zeros((2, 0), np.int64), np.zeros(0)).shape) == (0, 0)
    assert tuple(eg.sparse_coo_tensor((2, 3)).shape) == (2, 3) and eg.sparse_coo_tensor([2, 3])._nnz() == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_zero_nnz_and_empty_shapes(dtype):
    for shape in [(4, 6), (0, 5), (3, 0), (0, 0)]:
        e, t = pair(np.zeros((2, 0), np.int64), np.zeros(0, dtype), shape)
        same_sparse(e, t, dtype, str(shape))
        assert e.is_coalesced() and e.coalesce()._nnz() == 0
        d = RNG.standard_normal((shape[1], 3)).astype(dtype)
        assert_rel(eg.spmm(e, eg.tensor(d)), torch.spmm(t, torch.from_numpy(d)), dtype, f"spmm {shape}")
        assert_rel(eg.sparse.sum(e), torch.sparse.sum(t), dtype)


def test_legacy_constructors_warn_and_keep_dtype():
    i = eg.tensor([[0, 1, 1], [2, 0, 2]])
    v = eg.tensor([3.0, 4.0, 5.0])
    with pytest.warns(UserWarning, match=r"torch.sparse.SparseTensor\(indices, values, shape, \*, device=\) is "
                                         "deprecated"):
        s = eg.sparse.FloatTensor(i, v, eg.Size([2, 3]))
    same_sparse(s, torch.sparse_coo_tensor(torch.tensor([[0, 1, 1], [2, 0, 2]]), torch.tensor([3.0, 4, 5]), (2, 3)),
                np.float32)
    assert isinstance(s, eg.sparse.FloatTensor) and not isinstance(s, eg.sparse.DoubleTensor)
    assert not isinstance(eg.zeros(2), eg.sparse.FloatTensor)
    with pytest.warns(UserWarning):
        d = eg.sparse.DoubleTensor(i, v.double(), (2, 3))
    assert isinstance(d, eg.sparse.DoubleTensor) and d.type() == "torch.sparse.DoubleTensor"
    assert s.type() == "torch.sparse.FloatTensor"
    with pytest.warns(UserWarning, match="deprecated"):
        inferred = eg.sparse.FloatTensor(i, v)
    assert tuple(inferred.shape) == (2, 3)
    with pytest.warns(UserWarning, match=r"SparseTensor\(shape"):
        empty = eg.sparse.FloatTensor(2, 3)
    assert tuple(empty.shape) == (2, 3) and empty._nnz() == 0 and empty.dtype == eg.float32


def test_invariant_and_shape_errors_match_torch():
    i = np.array([[0, 1, 1, 0], [2, 0, 2, 2]])
    v = np.array([3.0, 4, 5, 1], dtype=np.float32)
    cases = [
        (lambda lib, I, V: lib.sparse_coo_tensor(I, V, (2, 2), check_invariants=True), RuntimeError,
         "size is inconsistent with indices: for dim 1, size is 2 but found index 2"),
        (lambda lib, I, V: lib.sparse_coo_tensor(-I, V, (2, 3), check_invariants=True), RuntimeError,
         "found negative index -1 for dim 0"),
        (lambda lib, I, V: lib.sparse_coo_tensor(I, V[:3], (2, 3)), RuntimeError,
         "indices and values must have same nnz, but got nnz from indices: 4, nnz from values: 3"),
        (lambda lib, I, V: lib.sparse_coo_tensor(I, V, (2,)), RuntimeError,
         r"'len\(size\) == sparse_dim \+ dense_dim' is not satisfied: len\(size\) = 1, sparse_dim = 2, dense_dim = 0"),
        (lambda lib, I, V: lib.sparse_coo_tensor(I, lib.ones(4, 5), (2, 3, 6)), RuntimeError,
         r"values has incorrect size, expected \[4, 6\], got \[4, 5\]"),
        (lambda lib, I, V: lib.sparse_coo_tensor(I, V, (2, 3), is_coalesced=True, check_invariants=True),
         RuntimeError, "cannot set is_coalesced to true if indices correspond to uncoalesced COO tensor"),
        (lambda lib, I, V: lib.sparse_coo_tensor(I, V.long(), (2, 3), requires_grad=True), RuntimeError,
         "Only Tensors of floating point and complex dtype can require gradients"),
    ]
    for fn, error, message in cases:
        with pytest.raises(error, match=message):
            fn(torch, torch.from_numpy(i), torch.from_numpy(v))
        with pytest.raises(error, match=message):
            fn(eg, eg.tensor(i), eg.tensor(v))
    # eigengrad checks the bounds even when not asked (NumPy would read a negative index from the end)
    with pytest.raises(RuntimeError, match="size is inconsistent with indices"):
        eg.sparse_coo_tensor(eg.tensor(i), eg.tensor(v), (2, 2))
    with pytest.raises(RuntimeError, match=r"indices must be sparse_dim x nnz, but got: \[4\]"):
        eg.sparse_coo_tensor(eg.tensor(i[0]), eg.tensor(v), (2, 3))
    ok = eg.sparse_coo_tensor(eg.tensor([[0, 1, 1], [2, 0, 2]]), eg.tensor([1.0, 2, 3]), (2, 3), is_coalesced=True)
    assert ok.is_coalesced()


def test_uncoalesced_accessors_and_dense_methods_raise_as_torch():
    i = np.array([[0, 1, 1, 0], [2, 0, 2, 2]])
    e, t = pair(i, np.array([3.0, 4, 5, 1]), (2, 3))
    for name, message in [("indices", "Cannot get indices on an uncoalesced tensor, please call .coalesce() first"),
                          ("values", "Cannot get values on an uncoalesced tensor, please call .coalesce() first")]:
        for x in (e, t):
            with pytest.raises(RuntimeError, match=message.replace("(", r"\(").replace(")", r"\)")):
                getattr(x, name)()
    d_e, d_t = eg.ones(2, 3), torch.ones(2, 3)
    for name, error, message in [
            ("coalesce", RuntimeError, "coalesce expected sparse coordinate tensor layout but got Strided"),
            ("indices", RuntimeError, "indices expected sparse coordinate tensor layout but got Strided"),
            ("values", RuntimeError, "values expected sparse tensor layout but got Strided"),
            ("is_coalesced", RuntimeError, "is_coalesced expected sparse coordinate tensor layout but got Strided"),
            ("_nnz", NotImplementedError, "Could not run 'aten::_nnz' with arguments from the 'CPU' backend"),
            ("_values", NotImplementedError, "Could not run 'aten::_values' with arguments from the 'CPU' backend")]:
        for x in (d_e, d_t):
            with pytest.raises(error, match=message):
                getattr(x, name)()
    assert (d_e.sparse_dim(), d_e.dense_dim()) == (d_t.sparse_dim(), d_t.dense_dim()) == (0, 2)
    assert d_e.to_dense() is d_e and d_e.layout is eg.strided


def test_unsupported_operations_raise_torch_errors():
    e, t = pair(np.array([[0, 1], [2, 0]]), np.array([3.0, 4.0]), (2, 3))
    for op in [lambda x: x.exp(), lambda x: x.view(6), lambda x: x.mean(), lambda x: x.sigmoid(),
               lambda x: x == x, lambda x: x.softmax(1)]:
        with pytest.raises(NotImplementedError, match="with arguments from the 'SparseCPU' backend"):
            op(t)
        with pytest.raises(NotImplementedError, match="with arguments from the 'SparseCPU' backend"):
            op(e)
    with pytest.raises(NotImplementedError, match="Could not run 'aten::exp' with arguments from the 'SparseCPU'"):
        e.exp()
    for x in (e, t):
        with pytest.raises(TypeError, match="can't convert Sparse layout tensor to numpy. Use Tensor.to_dense()"):
            x.numpy()
        with pytest.raises(NotImplementedError, match="reciprocal"):
            2 / x
    # a free function written for dense tensors does not read a sparse tensor's (absent) data silently
    with pytest.raises(NotImplementedError, match=r"call .to_dense\(\) first"):
        eg.exp(e)


def test_repr_matches_torch():
    cases = [(np.array([[0, 1, 1], [2, 0, 2]]), np.array([3.0, 4, 5], np.float32), (2, 3), {}),
             (np.array([[0, 1, 1], [2, 0, 2]]), np.array([3.0, 4, 5]), (2, 3), {}),
             (np.zeros((2, 0), np.int64), np.zeros(0, np.float32), (2, 3), {}),
             (np.array([[0, 1, 1], [2, 0, 2]]), np.array([3.0, 4, 5], np.float32), (2, 3), {"requires_grad": True}),
             (np.array([[0, 1]]), np.ones((2, 2), np.float32), (3, 2), {}),
             (np.array([[0, 1]]), np.array([5, 6]), (3,), {})]
    for idx, vals, shape, kw in cases:
        e, t = pair(idx, vals, shape, **kw)
        expected = repr(t).replace("torch.", "eigengrad.")
        ours = repr(e)
        # the suffixes wrap at the line width, and "eigengrad." is longer than "torch.": compare the words
        assert ours.split() == expected.split() or " ".join(ours.split()) == " ".join(expected.split()), \
            (ours, expected)
    head = repr(eg.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4, 5], (2, 3)))
    assert head == ("tensor(indices=tensor([[0, 1, 1],\n                       [2, 0, 2]]),\n"
                    "       values=tensor([3., 4., 5.]),\n       size=(2, 3), nnz=3, layout=eigengrad.sparse_coo)")


# --- to_sparse ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_to_sparse_matches_torch(dtype):
    x = RNG.standard_normal((5, 7)).astype(dtype)
    x[RNG.random((5, 7)) < 0.6] = 0
    x[0, 0] = -0.0
    x[1, 1] = np.nan
    for arr in [x, x[:1], np.zeros((3, 4), dtype), np.array([0.0, 2.0, 0.0, 3.0], dtype), np.zeros((0, 3), dtype)]:
        e, t = eg.tensor(arr).to_sparse(), torch.from_numpy(arr.copy()).to_sparse()
        assert e.is_coalesced() and t.is_coalesced()
        np.testing.assert_array_equal(e.indices().numpy(), t.indices().numpy())
        np.testing.assert_array_equal(e.values().numpy(), t.values().numpy())
        np.testing.assert_array_equal(e.to_dense().numpy(), arr)
    h = RNG.standard_normal((4, 3, 2)).astype(dtype)
    h[1] = 0
    h[2, 0] = 0
    for sd in (1, 2, 3):
        same_sparse(eg.tensor(h).to_sparse(sd), torch.from_numpy(h).to_sparse(sd), dtype, f"sparse_dim {sd}")
    for value in (3.0, 0.0):
        same_sparse(eg.tensor(value).to_sparse(), torch.tensor(value).to_sparse(), np.float32, "0-d")
    with pytest.raises(RuntimeError, match=r"dense_to_sparse: sparse_dim argument must be in \[0,2\] range, but 3"):
        eg.ones(2, 3).to_sparse(3)
    with pytest.raises(RuntimeError, match="sparse_dim argument must be in >0 when self.dim\\(\\)>0"):
        eg.ones(2, 3).to_sparse(0)
    s = eg.ones(2, 3).to_sparse()
    assert s.to_sparse() is s and s.to_sparse_coo() is s
    with pytest.raises(RuntimeError, match="conversion from Sparse to Sparse with sparse_dim argument"):
        s.to_sparse(1)


# --- products -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape,nnz", SHAPES)
def test_sparse_dense_products(shape, nnz, dtype):
    idx, vals = random_coo(shape, nnz, dtype)
    e, t = pair(idx, vals, shape)
    for k in (1, 3):
        d = RNG.standard_normal((shape[1], k)).astype(dtype)
        want = torch.sparse.mm(t, torch.from_numpy(d))
        de = eg.tensor(d)
        for got in (eg.sparse.mm(e, de), eg.spmm(e, de), eg.mm(e, de), eg.matmul(e, de), e @ de, e.mm(de),
                    e.coalesce() @ de):
            assert got.dtype == e.dtype and not got.is_sparse
            assert_rel(got, want, dtype, f"{shape} k={k}")
    left = RNG.standard_normal((2, shape[0])).astype(dtype)
    assert_rel(eg.tensor(left) @ e, torch.from_numpy(left) @ t, dtype, "dense @ sparse")
    assert_rel(eg.mm(eg.tensor(left), e), torch.mm(torch.from_numpy(left), t), dtype, "mm(dense, sparse)")
    vec = RNG.standard_normal(shape[1]).astype(dtype)
    assert_rel(e @ eg.tensor(vec), t @ torch.from_numpy(vec), dtype, "sparse @ vector")
    other = random_coo((shape[1], 4), 5, dtype)
    e2, t2 = pair(*other, (shape[1], 4))
    same_sparse(e @ e2, (t @ t2).coalesce(), dtype, "sparse @ sparse", exact_pattern=False)


def test_product_errors_match_torch():
    e, t = pair(np.array([[0, 1, 1], [2, 0, 2]]), np.array([3.0, 4, 5], np.float32), (2, 3))
    cases = [(lambda lib, s: lib.sparse.mm(s, lib.ones(4, 2)), RuntimeError,
              r"addmm: Argument #3 \(dense\): Expected dim 0 size 3, got 4"),
             (lambda lib, s: lib.spmm(s, lib.ones(4, 2)), RuntimeError, "Expected dim 0 size 3, got 4"),
             (lambda lib, s: lib.mm(s, lib.ones(3, 2, dtype=lib.float64)), RuntimeError,
              "expected scalar type Float but found Double"),
             (lambda lib, s: lib.mm(s, lib.ones(3)), IndexError, "Dimension out of range"),
             (lambda lib, s: s @ lib.ones(4), RuntimeError, r"mv: expected self.size\(-1\) == vec.size\(-1\)"),
             (lambda lib, s: lib.sparse.mm(s, lib.ones(3, 2), reduce="sum"), NotImplementedError,
              "_sparse_mm_reduce_impl")]
    for fn, error, message in cases:
        for lib, s in ((torch, t), (eg, e)):
            with pytest.raises(error, match=message):
                fn(lib, s)
    assert_rel(eg.sparse.mm(eg.ones(2, 2), eg.ones(2, 2)), torch.sparse.mm(torch.ones(2, 2), torch.ones(2, 2)),
               np.float32)
    with pytest.raises(RuntimeError, match="expected a sparse matrix"):
        eg.mm(eg.sparse_coo_tensor([[0], [1], [2]], [1.0], (2, 3, 4)), eg.ones(3, 4))


@pytest.mark.parametrize("shape,nnz", SHAPES)
def test_spmm_gradients_match_torch_float64(shape, nnz):
    idx, vals = random_coo(shape, nnz, np.float64)
    d = RNG.standard_normal((shape[1], 3))
    w = RNG.standard_normal((shape[0], 3))
    # w.r.t. the dense operand, the sparse tensor a constant
    e, t = pair(idx, vals, shape)
    de, dt = eg.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
    (eg.spmm(e, de) * eg.tensor(w)).sum().backward()
    (torch.spmm(t, dt) * torch.from_numpy(w)).sum().backward()
    assert_rel(de.grad, dt.grad, np.float64, "d dense")
    # w.r.t. the values (a tensor the sparse tensor is built from) and the dense operand together
    ve, vt = eg.tensor(vals, requires_grad=True), torch.tensor(vals, requires_grad=True)
    de, dt = eg.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
    se, st = eg.sparse_coo_tensor(eg.tensor(idx), ve, shape), torch.sparse_coo_tensor(torch.from_numpy(idx), vt, shape)
    assert se.requires_grad and not se.is_leaf and st.requires_grad and not st.is_leaf
    (eg.sparse.mm(se, de) ** 2).sum().backward()
    (torch.sparse.mm(st, dt) ** 2).sum().backward()
    assert_rel(ve.grad, vt.grad, np.float64, "d values")
    assert_rel(de.grad, dt.grad, np.float64, "d dense (both)")
    # a sparse leaf: its grad is a coalesced sparse tensor on its pattern, as torch.sparse.mm gives
    se, st = pair(idx, vals, shape, requires_grad=True)
    assert se.is_leaf and se.requires_grad
    (eg.sparse.mm(se, eg.tensor(d)) * eg.tensor(w)).sum().backward()
    (torch.sparse.mm(st, torch.from_numpy(d)) * torch.from_numpy(w)).sum().backward()
    same_sparse(se.grad, st.grad, np.float64, "sparse leaf grad")


def test_spmm_gradcheck_and_second_order():
    idx = np.array([[0, 4, 2, 2, 0, 1], [1, 0, 6, 6, 1, 3]])
    s = eg.sparse_coo_tensor(idx, RNG.standard_normal(6), (5, 7))
    d = eg.tensor(RNG.standard_normal((7, 3)), requires_grad=True)
    assert gradcheck(lambda x: eg.sparse.mm(s, x), (d,))
    assert gradcheck(lambda x: x.t() @ s, (eg.tensor(RNG.standard_normal((5, 2)), requires_grad=True),))
    v = eg.tensor(RNG.standard_normal(6), requires_grad=True)
    assert gradcheck(lambda v, x: eg.spmm(eg.sparse_coo_tensor(idx, v, (5, 7)), x).tanh(), (v, d))
    assert gradgradcheck(lambda v, x: eg.spmm(eg.sparse_coo_tensor(idx, v, (5, 7)), x) ** 2, (v, d))


def test_to_sparse_of_a_dense_tensor_passes_the_gradient_on_its_pattern():
    x = np.array([[0.0, 2, 0], [1, 0, 3]])
    d = RNG.standard_normal((3, 4))
    xe, xt = eg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (eg.sparse.mm(xe.to_sparse(), eg.tensor(d)) ** 2).sum().backward()
    (torch.sparse.mm(xt.to_sparse(), torch.from_numpy(d)) ** 2).sum().backward()
    assert_rel(xe.grad, xt.grad, np.float64)
    ve, vt = eg.tensor([3.0, 4, -5, 1], requires_grad=True), torch.tensor([3.0, 4, -5, 1], requires_grad=True)
    i = [[0, 1, 1, 0], [2, 0, 2, 2]]
    for fe, ft in [(lambda s: (s.to_dense() ** 2).sum(), lambda s: (s.to_dense() ** 2).sum()),
                   (lambda s: (s.coalesce().values() ** 3).sum(), lambda s: (s.coalesce().values() ** 3).sum()),
                   (lambda s: (s * 3).to_dense().sum(), lambda s: (s * 3).to_dense().sum()),
                   (lambda s: eg.sparse.sum(s), lambda s: torch.sparse.sum(s)),
                   (lambda s: (eg.ones(2, 3) + s).sum(), lambda s: (torch.ones(2, 3) + s).sum())]:
        ve.grad = vt.grad = None
        fe(eg.sparse_coo_tensor(i, ve, (2, 3))).backward()
        ft(torch.sparse_coo_tensor(i, vt, (2, 3))).backward()
        assert_rel(ve.grad, vt.grad, np.float32)


# --- sums and softmax -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_sum_matches_torch(dtype):
    idx, vals = random_coo((5, 7), 12, dtype)
    e, t = pair(idx, vals, (5, 7))
    assert_rel(eg.sparse.sum(e), torch.sparse.sum(t), dtype, "all")
    assert_rel(e.sum(), t.sum(), dtype, "Tensor.sum")
    for dim in (0, 1, -1, [0], (1,)):
        same_sparse(eg.sparse.sum(e, dim), torch.sparse.sum(t, dim), dtype, f"dim {dim}")
    assert_rel(eg.sparse.sum(e, (0, 1)), torch.sparse.sum(t, (0, 1)), dtype)
    same_sparse(e.sum(1, keepdim=True), t.sum(1, keepdim=True), dtype, "keepdim")
    assert_rel(e.sum((0, 1), keepdim=True), t.sum((0, 1), keepdim=True), dtype, "keepdim all")
    same_sparse(eg.sparse.sum(e, 1, dtype=eg.float64), torch.sparse.sum(t, 1, dtype=torch.float64), np.float64)
    same_sparse(eg.sparse.sum(e, ()), torch.sparse.sum(t, ()), dtype, "no dims")
    hyb = RNG.standard_normal((4, 3)).astype(dtype)
    e, t = pair(np.array([[0, 1, 1, 0], [2, 0, 2, 2]]), hyb, (2, 3, 3))
    assert_rel(eg.sparse.sum(e, (0, 1)), torch.sparse.sum(t, (0, 1)), dtype, "hybrid, every sparse dim")
    same_sparse(eg.sparse.sum(e, 2), torch.sparse.sum(t, 2), dtype, "hybrid, dense dim")
    same_sparse(eg.sparse.sum(e, (0, 2)), torch.sparse.sum(t, (0, 2)), dtype, "hybrid, mixed")
    for lib, s in ((torch, t), (eg, e)):
        with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
            lib.sparse.sum(s, (0, 0))
        with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-3, 2\]"):
            lib.sparse.sum(s, 3)
        with pytest.raises(RuntimeError, match="coalesce expected sparse coordinate tensor layout but got Strided"):
            lib.sparse.sum(lib.ones(2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_softmax_matches_torch(dtype):
    idx, vals = random_coo((6, 5), 14, dtype)
    for dim in (0, 1, -1):
        ve, vt = eg.tensor(vals.astype(np.float64), requires_grad=True), torch.tensor(vals.astype(np.float64),
                                                                                      requires_grad=True)
        e = eg.sparse_coo_tensor(idx, ve, (6, 5))
        t = torch.sparse_coo_tensor(torch.from_numpy(idx), vt, (6, 5))
        for fe, ft in ((eg.sparse.softmax, torch.sparse.softmax), (eg.sparse.log_softmax, torch.sparse.log_softmax)):
            same_sparse(fe(e.detach().to(dtype), dim), ft(t.detach().to(getattr(torch, np.dtype(dtype).name)), dim),
                        dtype, f"{fe.__name__} {dim}")
        w = RNG.standard_normal((6, 5))
        (eg.sparse.softmax(e, dim).to_dense() * eg.tensor(w)).sum().backward()
        # (torch's backward does not wrap a negative dim: its gradient for -1 is not its gradient for 1, whose
        # forward it shares; the reference for -1 is torch's for 1)
        (torch.sparse.softmax(t, dim % 2).to_dense() * torch.from_numpy(w)).sum().backward()
        assert_rel(ve.grad, vt.grad, np.float64, f"softmax grad {dim}")
    hyb = RNG.standard_normal((4, 2)).astype(dtype)
    e, t = pair(np.array([[0, 1, 1, 0], [2, 0, 2, 2]]), hyb, (2, 3, 2))
    same_sparse(eg.sparse.softmax(e, 2), torch.sparse.softmax(t, 2), dtype, "hybrid")
    for lib, s in ((torch, t), (eg, e)):
        with pytest.raises(NotImplementedError, match="_sparse_softmax"):
            lib.sparse.softmax(lib.ones(2, 2), 1)


# --- elementwise ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_elementwise_matches_torch(dtype):
    idx, vals = random_coo((5, 3), 9, dtype)
    idx2, vals2 = random_coo((5, 3), 4, dtype)
    e, t = pair(idx, vals, (5, 3))
    e2, t2 = pair(idx2, vals2, (5, 3))
    dense = RNG.standard_normal((5, 3)).astype(dtype)
    de, dt = eg.tensor(dense), torch.from_numpy(dense)
    for name, fe, ft in [
            ("2*s", lambda: 2 * e, lambda: 2 * t), ("s*2.5", lambda: e * 2.5, lambda: t * 2.5),
            ("s/3", lambda: e / 3, lambda: t / 3), ("-s", lambda: -e, lambda: -t),
            ("s*0-d", lambda: e * eg.tensor(2.0), lambda: t * torch.tensor(2.0)),
            ("s+s", lambda: e + e2, lambda: t + t2), ("s-s", lambda: e - e2, lambda: t - t2),
            ("c+c", lambda: e.coalesce() + e2.coalesce(), lambda: t.coalesce() + t2.coalesce()),
            ("add alpha", lambda: e.add(e2, alpha=2), lambda: t.add(t2, alpha=2)),
            ("s*dense", lambda: e * de, lambda: t * dt), ("dense*s", lambda: de * e, lambda: dt * t),
            ("s*row", lambda: e * de[0], lambda: t * dt[0]),
            ("s*s", lambda: e * e2, lambda: t * t2),
            ("abs", lambda: e.abs(), lambda: t.abs()), ("relu", lambda: e.relu(), lambda: t.relu()),
            ("tanh", lambda: e.tanh(), lambda: t.tanh()), ("s**2", lambda: e ** 2, lambda: t ** 2),
            ("sqrt", lambda: e.abs().sqrt(), lambda: t.abs().sqrt()), ("t()", lambda: e.t(), lambda: t.t()),
            ("transpose", lambda: e.transpose(0, 1), lambda: t.transpose(0, 1)), ("mT", lambda: e.mT, lambda: t.mT),
            ("double", lambda: e.double(), lambda: t.double()), ("to", lambda: e.to(eg.float64),
                                                                   lambda: t.to(torch.float64))]:
        got, want = fe(), ft()
        same_sparse(got, want, dtype, name, exact_pattern=name not in ("s*s",))
        if name in ("2*s", "s*2.5", "-s", "s*dense", "s+s", "c+c", "abs", "t()", "double"):
            assert got.is_coalesced() == want.is_coalesced(), name
    for name, fe, ft in [("dense+s", lambda: de + e, lambda: dt + t), ("dense-s", lambda: de - e, lambda: dt - t)]:
        got = fe()
        assert not got.is_sparse
        assert_rel(got, ft(), dtype, name)
    assert (-e.coalesce()).is_coalesced() and (e.coalesce() * 2).is_coalesced()


def test_elementwise_errors_match_torch():
    e, t = pair(np.array([[0, 1, 1], [2, 0, 2]]), np.array([3.0, 4, 5], np.float32), (2, 3))
    cases = [(lambda lib, s: s + 1, RuntimeError, r"add\(sparse, dense\) is not supported. Use add\(dense, sparse\)"),
             (lambda lib, s: 1 + s, RuntimeError, r"add\(sparse, dense\) is not supported"),
             (lambda lib, s: s - lib.ones(2, 3), RuntimeError, r"add\(sparse, dense\) is not supported"),
             (lambda lib, s: s + lib.sparse_coo_tensor([[0], [0]], [1.0], (3, 3)), RuntimeError,
              r"add: expected sizes of 'self' and 'other' to match, but \[2, 3\] != \[3, 3\]"),
             (lambda lib, s: lib.ones(3) + s, RuntimeError,
              r"add: expected 'self' and 'other' to have same size, but self has size \[3\] while other has size "
              r"\[2, 3\] \(FYI: dense-sparse addition does not currently support broadcasting\)"),
             (lambda lib, s: s / lib.ones(2, 3), RuntimeError,
              r"Sparse division requires a scalar or zero-dim dense tensor divisor \(got shape \[2, 3\] for divisor\)"),
             (lambda lib, s: s.t().t().transpose(0, 1).unsqueeze(0).t() if lib is torch else
              lib.sparse_coo_tensor([[0], [1], [2]], [1.0], (2, 3, 4)).t(), RuntimeError,
              "t\\(\\) expects a tensor with <= 2 sparse and 0 dense dimensions, but got 3 sparse and 0 dense")]
    for fn, error, message in cases:
        for lib, s in ((torch, t), (eg, e)):
            with pytest.raises(error, match=message):
                fn(lib, s)


def test_copy_pickle_detach_clone_and_flags():
    e = eg.sparse_coo_tensor([[0, 1, 1], [2, 0, 2]], [3.0, 4, 5], (2, 3), requires_grad=True)
    for copy_of in (pickle.loads(pickle.dumps(e)), e.clone(), e.detach(), e.data):
        np.testing.assert_array_equal(copy_of.to_dense().detach().numpy(), e.to_dense().detach().numpy())
        assert copy_of.is_sparse and copy_of.shape == e.shape
    assert not e.detach().requires_grad and e.clone().requires_grad
    assert e.device == eg.device("cpu") and e.is_floating_point() and e.element_size() == 4
    assert len(e) == 2 and e._values().requires_grad is False
    s = eg.sparse_coo_tensor([[0, 0], [1, 1]], [1.0, 2.0], (1, 2)).to_sparse()
    assert s.to_dense().tolist() == [[0.0, 3.0]]
    one = eg.sparse_coo_tensor([[0, 0]], [1.0, 2.0], (1,))
    assert one.item() == 3.0 and bool(one)
    assert e.grad is None


def test_other_entry_points_and_idioms():
    idx, vals = random_coo((5, 7), 11, np.float64)
    e, t = pair(idx, vals, (5, 7))
    d = RNG.standard_normal((7, 3))
    bias = RNG.standard_normal((5, 3))
    assert_rel(eg.addmm(eg.tensor(bias), e, eg.tensor(d)), torch.addmm(torch.from_numpy(bias), t, torch.from_numpy(d)),
               np.float64, "addmm")
    assert_rel(eg.sparse.addmm(eg.tensor(bias), e, eg.tensor(d), beta=0.5, alpha=2.0),
               torch.sparse.addmm(torch.from_numpy(bias), t, torch.from_numpy(d), beta=0.5, alpha=2.0), np.float64)
    v = RNG.standard_normal(7)
    assert_rel(eg.mv(e, eg.tensor(v)), torch.mv(t, torch.from_numpy(v)), np.float64, "mv")
    p = eg.nn.Parameter(eg.tensor(RNG.standard_normal((2, 5))))
    out = p @ e  # a Parameter on the left: the product is dense and differentiable in p
    out.sum().backward()
    assert_rel(out, torch.from_numpy(p.detach().numpy()) @ t, np.float64, "parameter @ sparse")
    assert_rel(p.grad, (torch.ones(2, 7, dtype=torch.float64) @ t.to_dense().T), np.float64, "its grad")
    same_sparse(e // 0.5, t // 0.5, np.float64, "floor division")
    # the indices are copied (the row plans are cached on the tensor), the values shared, as torch's
    i_e, v_e = eg.tensor(idx), eg.tensor(vals.copy())
    s = eg.sparse_coo_tensor(i_e, v_e, (5, 7))
    before = eg.spmm(s, eg.tensor(d)).numpy().copy()
    i_e[0] = 0
    np.testing.assert_array_equal(eg.spmm(s, eg.tensor(d)).numpy(), before)
    v_e[0] = 100.0
    assert s._values()[0].item() == 100.0
    with pytest.warns(UserWarning):
        lt = eg.sparse.LongTensor(eg.tensor(idx), eg.tensor(np.arange(11)), (5, 7))
    assert isinstance(lt, eg.sparse.LongTensor) and lt.dtype == eg.int64
